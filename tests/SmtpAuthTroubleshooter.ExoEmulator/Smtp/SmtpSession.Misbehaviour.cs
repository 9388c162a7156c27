using System;
using System.Globalization;
using System.Text;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>
/// The <see cref="Misbehaviour"/> modes (issue 6). Each is bounded server-side: it stops when the client disconnects
/// (a read returns 0 or a write fails), when a read or write waits longer than <see cref="EmulatorOptions.ReadTimeout"/>,
/// or at shutdown; the buffers are small and fixed (at most 4 KiB read, 64 KiB written at a time).
/// </summary>
internal sealed partial class SmtpSession
{
    /// <summary>Total size of the <see cref="Misbehaviour.HugeReply"/> EHLO reply: 100 MiB.</summary>
    internal const long HugeReplyBytes = 100L * 1024 * 1024;

    /// <summary>Interval between the <see cref="Misbehaviour.EndlessMultiline"/> continuation lines.</summary>
    internal static readonly TimeSpan EndlessLineInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Interval between the bytes of a <see cref="Misbehaviour.Drip"/> reply.</summary>
    internal static readonly TimeSpan DripInterval = TimeSpan.FromSeconds(1);

    /// <summary>The <see cref="Misbehaviour.BadCodes"/> replies, in turn for each EHLO/HELO.</summary>
    internal static readonly string[] BadCodeReplies = ["999 weird", "abc not a code", "2500 five digits"];

    private const int HugeReplyLineBytes = 64;
    private const int HugeReplyChunkBytes = 64 * 1024;

    private bool _downgraded;
    private int _badCodeIndex;

    private Misbehaviour Mode => _options.Misbehaviour;

    /// <summary>The console name of a mode (the <c>--misbehave</c> value).</summary>
    internal static string ModeName(Misbehaviour mode) => mode switch
    {
        Misbehaviour.NoBanner => "no-banner",
        Misbehaviour.CloseMidEhlo => "close-mid-ehlo",
        Misbehaviour.EndlessMultiline => "endless-multiline",
        Misbehaviour.HugeReply => "huge-reply",
        Misbehaviour.BadCodes => "bad-codes",
        Misbehaviour.StartTlsPlaintext => "starttls-plaintext",
        Misbehaviour.TlsStall => "tls-stall",
        Misbehaviour.Downgrade => "downgrade",
        Misbehaviour.AuthLoop => "auth-loop",
        Misbehaviour.Drip => "drip",
        _ => "none",
    };

    /// <summary>Reads and discards whatever the client sends until it closes (or the read timeout); never answers.</summary>
    private async Task<string> DrainSilentlyAsync()
    {
        var buffer = new byte[4096];
        long total = 0;
        try
        {
            while (true)
            {
                int n = await WithReadTimeoutAsync(t => _stream.ReadAsync(buffer.AsMemory(), t)).ConfigureAwait(false);
                if (n == 0)
                {
                    return $"misbehave {ModeName(Mode)}: client closed the connection after {total} byte(s)";
                }

                total += n;
            }
        }
        catch (ReadTimeoutException)
        {
            return $"misbehave {ModeName(Mode)}: read timeout after {total} byte(s), closing silently";
        }
    }

    /// <summary>EHLO/HELO in the modes that break the hello reply; true when the mode answered (or closed).</summary>
    private async Task<bool> MisbehaveAtHelloAsync(string greeting)
    {
        switch (Mode)
        {
            case Misbehaviour.CloseMidEhlo:
                // Half a multi-line reply, no CRLF after the second line, then a graceful close (FIN).
                _server.Log(_id, ProtocolDirection.Server, $"250-{greeting} / 250-SIZE <then close>");
                await WriteRawAsync(Encoding.ASCII.GetBytes($"250-{greeting}\r\n250-SIZE")).ConfigureAwait(false);
                _closing = true;
                return true;

            case Misbehaviour.EndlessMultiline:
                await EndlessMultilineAsync(greeting).ConfigureAwait(false);
                return true;

            case Misbehaviour.HugeReply:
                await HugeReplyAsync().ConfigureAwait(false);
                return true;

            case Misbehaviour.BadCodes:
                string line = BadCodeReplies[_badCodeIndex++ % BadCodeReplies.Length];
                await WriteAsync([line]).ConfigureAwait(false);
                return true;

            default:
                return false;
        }
    }

    /// <summary>"250-" lines every ~10 ms, never the final one; ends when a write fails (client gone) or stalls past the read timeout.</summary>
    private async Task EndlessMultilineAsync(string greeting)
    {
        _server.Log(_id, ProtocolDirection.Server, $"250-{greeting} <then 250- continuation lines every {EndlessLineInterval.TotalMilliseconds} ms, never a final line>");
        await WriteRawAsync(Encoding.ASCII.GetBytes($"250-{greeting}\r\n")).ConfigureAwait(false);
        var started = System.Diagnostics.Stopwatch.StartNew();
        long n = 0;
        while (started.Elapsed < _options.ReadTimeout)
        {
            await Task.Delay(EndlessLineInterval, _token).ConfigureAwait(false);
            await WriteRawAsync(Encoding.ASCII.GetBytes($"250-X-ENDLESS {(++n).ToString(CultureInfo.InvariantCulture)}\r\n")).ConfigureAwait(false);
        }

        // The client has sent nothing for the read timeout: close without ever finishing the reply.
        _server.Log(_id, ProtocolDirection.Info, $"misbehave endless-multiline: {n} continuation lines, read timeout, closing");
        _closing = true;
    }

    /// <summary>A complete 100 MiB reply ("250-" filler lines, the last "250 "), written from two 64 KiB buffers.</summary>
    private async Task HugeReplyAsync()
    {
        _server.Log(_id, ProtocolDirection.Server, $"<{HugeReplyBytes} byte EHLO reply: 250- filler lines, then a final 250 line>");
        byte[] chunk = HugeChunk(last: false);
        byte[] lastChunk = HugeChunk(last: true);
        long chunks = HugeReplyBytes / HugeReplyChunkBytes;
        for (long i = 0; i < chunks; i++)
        {
            await WriteRawAsync(i == chunks - 1 ? lastChunk : chunk).ConfigureAwait(false);
        }

        _server.Log(_id, ProtocolDirection.Info, $"misbehave huge-reply: {HugeReplyBytes} bytes sent");
    }

    private static byte[] HugeChunk(bool last)
    {
        // 1024 lines of 64 bytes: "250-" + 58 filler characters + CRLF; in the last chunk the last line is "250 ".
        var chunk = new byte[HugeReplyChunkBytes];
        for (int offset = 0; offset < chunk.Length; offset += HugeReplyLineBytes)
        {
            Encoding.ASCII.GetBytes("250-").CopyTo(chunk, offset);
            chunk.AsSpan(offset + 4, HugeReplyLineBytes - 6).Fill((byte)'x');
            chunk[offset + HugeReplyLineBytes - 2] = (byte)'\r';
            chunk[offset + HugeReplyLineBytes - 1] = (byte)'\n';
        }

        if (last)
        {
            chunk[chunk.Length - HugeReplyLineBytes + 3] = (byte)' ';
        }

        return chunk;
    }

    /// <summary>After the 220 to STARTTLS, in the modes that break the handshake; true when the mode took over.</summary>
    private async Task<bool> MisbehaveAfterStartTlsAsync()
    {
        switch (Mode)
        {
            case Misbehaviour.StartTlsPlaintext:
                // Never start TLS: answer every chunk the client sends (its ClientHello first) in plain text.
                var buffer = new byte[4096];
                while (true)
                {
                    int n;
                    try
                    {
                        n = await WithReadTimeoutAsync(t => _stream.ReadAsync(buffer.AsMemory(), t)).ConfigureAwait(false);
                    }
                    catch (ReadTimeoutException)
                    {
                        n = 0;
                    }

                    if (n == 0)
                    {
                        _closing = true;
                        return true;
                    }

                    _server.Log(_id, ProtocolDirection.Client, $"<{n} byte(s), first 0x{buffer[0]:X2}: TLS not started, answering in plain text>");
                    await WriteAsync([FormatReply(250, ExoReplies.Ok)]).ConfigureAwait(false);
                }

            case Misbehaviour.TlsStall:
                _server.Log(_id, ProtocolDirection.Info, "misbehave tls-stall: reading the ClientHello, answering nothing");
                _server.Log(_id, ProtocolDirection.Info, await DrainSilentlyAsync().ConfigureAwait(false));
                _closing = true;
                return true;

            default:
                return false;
        }
    }

    /// <summary><see cref="Misbehaviour.AuthLoop"/>: "334 " for AUTH and for every line after it, until the client goes.</summary>
    private async Task AuthLoopAsync()
    {
        while (true)
        {
            await ReplyAsync(334, string.Empty).ConfigureAwait(false);
            var line = await ReadLineAsync(_options.MaxCommandLineLength).ConfigureAwait(false);
            if (line.EndOfStream)
            {
                _closing = true;
                return;
            }

            _server.Log(_id, ProtocolDirection.Client, line.TooLong ? "<line over the length limit>" : Mask);
        }
    }

    /// <summary>
    /// <see cref="Misbehaviour.Downgrade"/>, a later connection: AUTH LOGIN or PLAIN in clear is "accepted" (235) and
    /// the credentials are evaluated and recorded as an <see cref="AuthEvent"/>, so a test can see they were harvested.
    /// </summary>
    private async Task HarvestClearAuthAsync(string mechanism, string? initial)
    {
        string? user;
        AuthDecision? decision;
        if (mechanism == "LOGIN")
        {
            (user, decision) = await AuthLoginAsync(initial).ConfigureAwait(false);
        }
        else
        {
            string? response = initial ?? await PromptAsync(string.Empty).ConfigureAwait(false);
            (user, decision) = response is null ? (null, null) : EvaluatePlain(response);
        }

        if (decision is null)
        {
            return;
        }

        string reply = FormatReply(235, ExoReplies.AuthSuccessful);
        _server.RecordAuth(new AuthEvent(_options.Clock.GetUtcNow(), _id, mechanism, user, decision.Outcome,
            "Credentials received in clear on a downgraded connection (STARTTLS stripped). " + decision.Reason, reply));
        await WriteAsync([reply]).ConfigureAwait(false);
    }

    private (string? User, AuthDecision Decision) EvaluatePlain(string response)
    {
        string? decoded = DecodeBase64(response);
        string[] parts = decoded?.Split('\0') ?? [];
        if (parts.Length != 3)
        {
            return (null, new AuthDecision(AuthOutcome.MalformedResponse, null, "The PLAIN response is not authzid NUL user NUL password."));
        }

        return (parts[1], BasicAuthEvaluator.Evaluate(_server.Scenario, parts[1], parts[2], _options.BasicAuthCheckOrder));
    }

    /// <summary><see cref="Misbehaviour.Drip"/>: one byte, a flush, a pause; a write to a client that has gone fails and ends the session.</summary>
    private async Task DripAsync(byte[] payload)
    {
        for (int i = 0; i < payload.Length; i++)
        {
            if (i > 0)
            {
                await Task.Delay(DripInterval, _token).ConfigureAwait(false);
            }

            await WriteRawAsync(payload.AsMemory(i, 1)).ConfigureAwait(false);
        }
    }

    /// <summary>Writes bytes as they are (no logging, no CRLF), bounded by the read timeout.</summary>
    private async Task WriteRawAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = System.Threading.CancellationTokenSource.CreateLinkedTokenSource(_token);
        timeout.CancelAfter(_options.ReadTimeout);
        await _stream.WriteAsync(bytes, timeout.Token).ConfigureAwait(false);
        await _stream.FlushAsync(timeout.Token).ConfigureAwait(false);
    }
}
