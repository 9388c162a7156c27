using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>One client connection: the SMTP state machine of Exchange Online client submission.</summary>
internal sealed partial class SmtpSession
{
    private const string Mask = "********";
    private static readonly string[] KnownVerbs = ["EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT"];

    private readonly ExoSmtpEmulator _server;
    private readonly EmulatorOptions _options;
    private readonly Socket _socket;
    private readonly string _id;
    private readonly string _remoteAddress;
    private readonly List<string> _recipients = [];
    private Stream _stream = Stream.Null;
    private SmtpLineReader _reader = new(Stream.Null);
    private CancellationToken _token;
    private bool _hello;
    private bool _tls;
    private bool _legacyTlsPending;
    private bool _closing;
    private Authenticated? _auth;
    private string? _mailFrom;
    private MemoryStream? _bdat;
    private bool _bdatTooBig;

    public SmtpSession(ExoSmtpEmulator server, Socket socket, string id)
    {
        _server = server;
        _options = server.Options;
        _socket = socket;
        _id = id;
        _remoteAddress = (socket.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown";
    }

    public Task Completion { get; set; } = Task.CompletedTask;

    public void Abort()
    {
        try
        {
            _socket.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Over the connection limit: one 421 line, then close.</summary>
    public async Task RefuseAsync(CancellationToken token)
    {
        try
        {
            _token = token;
            _stream = new NetworkStream(_socket, ownsSocket: true);
            _server.Log(_id, ProtocolDirection.Info, $"refused {_remoteAddress}: too many connections");
            await ReplyAsync(421, ExoReplies.TooManyConnections).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
        }
        finally
        {
            // A graceful close: an abortive one (RST) could destroy the 421 before the client reads it.
            await _stream.DisposeAsync().ConfigureAwait(false);
            _socket.Dispose();
        }
    }

    public async Task RunAsync(CancellationToken shutdown)
    {
        _token = shutdown;
        _stream = new NetworkStream(_socket, ownsSocket: true);
        _reader = new SmtpLineReader(_stream);
        _server.Log(_id, ProtocolDirection.Info, $"connect from {_remoteAddress}");
        string end = "closed";
        try
        {
            if (Mode != Misbehaviour.None)
            {
                // Downgrade: the first connection from an address is served normally, later ones lose STARTTLS.
                _downgraded = Mode == Misbehaviour.Downgrade && !_server.IsFirstConnectionFrom(_remoteAddress);
                _server.Log(_id, ProtocolDirection.Info, $"misbehaving: {ModeName(Mode)}{(_downgraded ? " (STARTTLS stripped on this connection)" : string.Empty)}");
            }

            if (Mode == Misbehaviour.NoBanner)
            {
                end = await DrainSilentlyAsync().ConfigureAwait(false);
                return;
            }

            if (_options.TlsMode == TlsMode.Implicit && !await StartTlsAsync().ConfigureAwait(false))
            {
                return;
            }

            string date = _options.Clock.GetUtcNow().ToString("ddd, d MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
            await ReplyAsync(220, $"{_server.ServerName} Microsoft ESMTP MAIL Service ready at {date}").ConfigureAwait(false);
            while (!_closing)
            {
                var line = await ReadLineAsync(_options.MaxCommandLineLength).ConfigureAwait(false);
                if (line.EndOfStream)
                {
                    end = "client closed the connection";
                    break;
                }

                await HandleLineAsync(line).ConfigureAwait(false);
            }
        }
        catch (ReadTimeoutException)
        {
            end = "read timeout";
            await TryReplyAsync(421, ExoReplies.Timeout).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            end = "emulator shutting down";
            await TryReplyAsync(421, ExoReplies.ShuttingDown).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            end = $"connection error: {ex.GetType().Name}";
        }
        catch (Exception ex)
        {
            // Never let one connection take the listener down; count it so tests notice.
            end = $"emulator error: {ex.GetType().Name}: {ex.Message}";
            _server.Statistics.SessionError();
        }
        finally
        {
            ReleaseAuth();
            _server.Log(_id, ProtocolDirection.Info, end);
            await _stream.DisposeAsync().ConfigureAwait(false);
            Abort();
        }
    }

    private static bool IsConnectionError(Exception ex) =>
        ex is IOException or SocketException or ObjectDisposedException or AuthenticationException or OperationCanceledException;

    private async Task HandleLineAsync(SmtpLine line)
    {
        if (line.TooLong)
        {
            _server.Statistics.Command("UNRECOGNIZED");
            _server.Log(_id, ProtocolDirection.Client, "<line over the length limit>");
            await ReplyAsync(500, ExoReplies.LineTooLong).ConfigureAwait(false);
            return;
        }

        string text = Encoding.UTF8.GetString(line.Bytes);
        int space = text.IndexOf(' ', StringComparison.Ordinal);
        string verb = (space < 0 ? text : text[..space]).ToUpperInvariant();
        string args = space < 0 ? string.Empty : text[(space + 1)..].Trim();
        bool known = KnownVerbs.Contains(verb, StringComparer.Ordinal);
        _server.Statistics.Command(known ? verb : "UNRECOGNIZED");
        _server.Log(_id, ProtocolDirection.Client, verb == "AUTH" ? MaskAuthLine(text) : Printable(text));

        if (_legacyTlsPending)
        {
            await ReplyAsync(421, ExoReplies.LegacyTls).ConfigureAwait(false);
            _closing = true;
            return;
        }

        switch (verb)
        {
            case "EHLO":
                await EhloAsync(args, extended: true).ConfigureAwait(false);
                break;
            case "HELO":
                await EhloAsync(args, extended: false).ConfigureAwait(false);
                break;
            case "STARTTLS":
                await StartTlsCommandAsync().ConfigureAwait(false);
                break;
            case "AUTH":
                await AuthAsync(args).ConfigureAwait(false);
                break;
            case "MAIL":
                await MailAsync(args).ConfigureAwait(false);
                break;
            case "RCPT":
                await RcptAsync(args).ConfigureAwait(false);
                break;
            case "DATA":
                await DataAsync().ConfigureAwait(false);
                break;
            case "BDAT":
                await BdatAsync(args).ConfigureAwait(false);
                break;
            case "RSET":
                ResetTransaction();
                await ReplyAsync(250, ExoReplies.Resetting).ConfigureAwait(false);
                break;
            case "NOOP":
                await ReplyAsync(250, ExoReplies.Ok).ConfigureAwait(false);
                break;
            case "QUIT":
                ReleaseAuth();
                await ReplyAsync(221, ExoReplies.Closing).ConfigureAwait(false);
                _closing = true;
                break;
            default:
                await ReplyAsync(500, ExoReplies.Unrecognized).ConfigureAwait(false);
                break;
        }
    }

    #region Hello and TLS

    private async Task EhloAsync(string args, bool extended)
    {
        if (args.Length == 0)
        {
            await ReplyAsync(501, ExoReplies.InvalidDomain).ConfigureAwait(false);
            return;
        }

        _hello = true;
        ResetTransaction();
        string greeting = $"{_server.ServerName} Hello [{_remoteAddress}]";
        if (Mode != Misbehaviour.None && await MisbehaveAtHelloAsync(greeting).ConfigureAwait(false))
        {
            return;
        }

        if (!extended)
        {
            await ReplyAsync(250, greeting).ConfigureAwait(false);
            return;
        }

        var lines = new List<string>
        {
            greeting,
            $"SIZE {_options.MaxMessageSize.ToString(CultureInfo.InvariantCulture)}",
            "PIPELINING",
            "DSN",
            "ENHANCEDSTATUSCODES",
        };
        if (_tls)
        {
            lines.Add("AUTH LOGIN XOAUTH2");
        }
        else if (_downgraded)
        {
            // What a STARTTLS-stripping attacker shows: no STARTTLS, plain-text AUTH offered instead.
            lines.Add("AUTH LOGIN PLAIN");
        }
        else if (_options.TlsMode == TlsMode.StartTls)
        {
            lines.Add("STARTTLS");
        }

        lines.AddRange(["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]);
        await WriteAsync(lines.Select((l, i) => $"250{(i == lines.Count - 1 ? ' ' : '-')}{l}").ToArray()).ConfigureAwait(false);
    }

    private async Task StartTlsCommandAsync()
    {
        if (_tls || _options.TlsMode != TlsMode.StartTls || _downgraded)
        {
            await ReplyAsync(500, ExoReplies.Unrecognized).ConfigureAwait(false);
            return;
        }

        if (!_hello)
        {
            await ReplyAsync(503, ExoReplies.SendHelloFirst).ConfigureAwait(false);
            return;
        }

        await ReplyAsync(220, ExoReplies.StartTlsReady).ConfigureAwait(false);
        if (_reader.BufferedCount > 0)
        {
            _server.Log(_id, ProtocolDirection.Info, $"discarded {_reader.BufferedCount} byte(s) pipelined after STARTTLS");
            _reader.DiscardBuffered();
        }

        if (Mode != Misbehaviour.None && await MisbehaveAfterStartTlsAsync().ConfigureAwait(false))
        {
            return;
        }

        if (!await StartTlsAsync().ConfigureAwait(false))
        {
            _closing = true;
        }
    }

    private async Task<bool> StartTlsAsync()
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificate = _server.Certificate,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
#pragma warning disable SYSLIB0039, CA5397 // Offered on purpose: EXO completes legacy handshakes and then answers 421 4.7.66.
            EnabledSslProtocols = SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13,
#pragma warning restore SYSLIB0039, CA5397
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_token);
        timeout.CancelAfter(_options.ReadTimeout);
        try
        {
            await ssl.AuthenticateAsServerAsync(options, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException && !_token.IsCancellationRequested)
        {
            _server.Statistics.TlsHandshake(ok: false);
            _server.Log(_id, ProtocolDirection.Info, $"TLS handshake failed: {ex.GetBaseException().Message}");
            await ssl.DisposeAsync().ConfigureAwait(false);
            return false;
        }

        _server.Statistics.TlsHandshake(ok: true);
        _stream = ssl;
        _reader = new SmtpLineReader(ssl);
        _tls = true;
        _hello = false;
        ResetTransaction();
        var protocol = _options.SimulatedTlsProtocol ?? ssl.SslProtocol;
        _server.Log(_id, ProtocolDirection.Info, $"TLS {protocol} {ssl.NegotiatedCipherSuite}{(_options.SimulatedTlsProtocol is null ? string.Empty : " (simulated)")}");
        bool legacy = protocol != SslProtocols.None && protocol < SslProtocols.Tls12;
        _legacyTlsPending = legacy && !(_options.LegacyTlsEndpoint && _server.Scenario.Tenant.AllowLegacyTlsClients);
        return true;
    }

    #endregion

    #region AUTH

    private async Task AuthAsync(string args)
    {
        string[] parts = args.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!_hello)
        {
            await ReplyAsync(503, ExoReplies.SendHelloFirst).ConfigureAwait(false);
            return;
        }

        if (parts.Length == 0)
        {
            await ReplyAsync(501, ExoReplies.InvalidArguments).ConfigureAwait(false);
            return;
        }

        string mechanism = parts[0].ToUpperInvariant();
        string? initial = parts.Length > 1 ? parts[1] : null;
        if (Mode == Misbehaviour.AuthLoop && _tls)
        {
            await AuthLoopAsync().ConfigureAwait(false);
            return;
        }

        if (_downgraded && !_tls && mechanism is ("LOGIN" or "PLAIN"))
        {
            await HarvestClearAuthAsync(mechanism, initial).ConfigureAwait(false);
            return;
        }

        if (!_tls || mechanism is not ("LOGIN" or "XOAUTH2"))
        {
            await ReplyAsync(504, ExoReplies.UnrecognizedAuthType).ConfigureAwait(false);
            return;
        }

        if (_auth is not null)
        {
            await ReplyAsync(503, ExoReplies.AlreadyAuthenticated).ConfigureAwait(false);
            return;
        }

        if (_mailFrom is not null)
        {
            await ReplyAsync(503, ExoReplies.BadSequence).ConfigureAwait(false);
            return;
        }

        var (user, decision) = mechanism == "LOGIN"
            ? await AuthLoginAsync(initial).ConfigureAwait(false)
            : await AuthXOAuth2Async(initial).ConfigureAwait(false);
        if (decision is null)
        {
            return;
        }

        if (decision.Succeeded)
        {
            string key = decision.Account!.ObjectId;
            if (_server.TryAcquireMailbox(key))
            {
                _auth = new Authenticated(decision.Account, key);
            }
            else
            {
                decision = decision with
                {
                    Outcome = AuthOutcome.ConcurrencyLimit,
                    Reason = $"{_options.MaxConcurrentPerMailbox} authenticated connections are already open for {decision.Account.EffectivePrimarySmtpAddress}.",
                };
            }
        }

        // Recorded before the reply goes out, so a client that has read the reply always finds the event.
        var (code, text) = ExoReplies.ForAuth(decision.Outcome);
        string reply = FormatReply(code, text);
        _server.RecordAuth(new AuthEvent(_options.Clock.GetUtcNow(), _id, mechanism, user, decision.Outcome, decision.Reason, reply));
        await WriteAsync([reply]).ConfigureAwait(false);
    }

    private async Task<(string? User, AuthDecision? Decision)> AuthLoginAsync(string? initial)
    {
        string? userB64 = initial ?? await PromptAsync(ExoReplies.UsernamePrompt).ConfigureAwait(false);
        if (userB64 is null)
        {
            return (null, null);
        }

        if (userB64 == "*")
        {
            return (null, new AuthDecision(AuthOutcome.Cancelled, null, "The client cancelled the exchange."));
        }

        string? user = DecodeBase64(userB64);
        if (user is null)
        {
            return (null, new AuthDecision(AuthOutcome.MalformedResponse, null, "The user name is not base64."));
        }

        string? passwordB64 = await PromptAsync(ExoReplies.PasswordPrompt).ConfigureAwait(false);
        if (passwordB64 is null)
        {
            return (user, null);
        }

        if (passwordB64 == "*")
        {
            return (user, new AuthDecision(AuthOutcome.Cancelled, null, "The client cancelled the exchange."));
        }

        string? password = DecodeBase64(passwordB64);
        if (password is null)
        {
            return (user, new AuthDecision(AuthOutcome.MalformedResponse, null, "The password is not base64."));
        }

        return (user, BasicAuthEvaluator.Evaluate(_server.Scenario, user, password, _options.BasicAuthCheckOrder));
    }

    private async Task<(string? User, AuthDecision? Decision)> AuthXOAuth2Async(string? initial)
    {
        string? response = initial ?? await PromptAsync(string.Empty).ConfigureAwait(false);
        if (response is null)
        {
            return (null, null);
        }

        if (response == "*")
        {
            return (null, new AuthDecision(AuthOutcome.Cancelled, null, "The client cancelled the exchange."));
        }

        byte[] decoded;
        try
        {
            decoded = Convert.FromBase64String(response);
        }
        catch (FormatException)
        {
            return (null, new AuthDecision(AuthOutcome.SaslMalformed, null, "The XOAUTH2 response is not base64."));
        }

        if (!OAuthEvaluator.TryParseXOAuth2(decoded, out string user, out string token))
        {
            return (null, new AuthDecision(AuthOutcome.SaslMalformed, null, "The XOAUTH2 response is not user=...^Aauth=Bearer ...^A^A."));
        }

        return (user, OAuthEvaluator.Evaluate(_server.Scenario, user, token, _server.TokenValidationKey, _options.Clock.GetUtcNow()));
    }

    /// <summary>Sends a 334 challenge and reads the (masked) answer; null when the client went away.</summary>
    private async Task<string?> PromptAsync(string challenge)
    {
        await ReplyAsync(334, challenge).ConfigureAwait(false);
        var line = await ReadLineAsync(_options.MaxCommandLineLength).ConfigureAwait(false);
        if (line.EndOfStream)
        {
            _closing = true;
            return null;
        }

        _server.Log(_id, ProtocolDirection.Client, line.TooLong ? "<line over the length limit>" : Mask);
        return line.TooLong ? string.Empty : Encoding.UTF8.GetString(line.Bytes).Trim();
    }

    private static string? DecodeBase64(string text)
    {
        if (text == "=")
        {
            return string.Empty;
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(text));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private void ReleaseAuth()
    {
        if (_auth is { } auth)
        {
            _server.ReleaseMailbox(auth.MailboxKey);
            _auth = null;
        }
    }

    #endregion

    #region Mail transaction

    /// <summary>The gates every transaction command passes, in Exchange's order: hello, TLS, AUTH.</summary>
    private async Task<bool> TransactionAllowedAsync()
    {
        if (!_hello)
        {
            await ReplyAsync(503, ExoReplies.SendHelloFirst).ConfigureAwait(false);
            return false;
        }

        if (!_tls)
        {
            await ReplyAsync(451, ExoReplies.StartTlsRequired).ConfigureAwait(false);
            return false;
        }

        if (_auth is null)
        {
            await ReplyAsync(530, ExoReplies.NotAuthenticated).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    private async Task MailAsync(string args)
    {
        if (!await TransactionAllowedAsync().ConfigureAwait(false))
        {
            return;
        }

        if (_mailFrom is not null)
        {
            await ReplyAsync(503, ExoReplies.SenderAlreadySpecified).ConfigureAwait(false);
            return;
        }

        var match = MailFromPattern().Match(args);
        string address = match.Success ? match.Groups["addr"].Value.Trim() : string.Empty;
        if (!match.Success || (address.Length > 0 && !address.Contains('@', StringComparison.Ordinal)))
        {
            await ReplyAsync(501, ExoReplies.InvalidSender).ConfigureAwait(false);
            return;
        }

        var size = SizeParameterPattern().Match(match.Groups["params"].Value);
        if (size.Success && (!long.TryParse(size.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long declared) || declared > _options.MaxMessageSize))
        {
            await ReplyAsync(552, ExoReplies.MessageTooBig).ConfigureAwait(false);
            return;
        }

        if (!_auth!.Account.MaySendAs(address))
        {
            await ReplyAsync(550, ExoReplies.SendAsDeniedAtMailFrom).ConfigureAwait(false);
            return;
        }

        _mailFrom = address;
        await ReplyAsync(250, ExoReplies.SenderOk).ConfigureAwait(false);
    }

    private async Task RcptAsync(string args)
    {
        if (!await TransactionAllowedAsync().ConfigureAwait(false))
        {
            return;
        }

        if (_mailFrom is null)
        {
            await ReplyAsync(503, ExoReplies.NeedMail).ConfigureAwait(false);
            return;
        }

        var match = RcptToPattern().Match(args);
        if (!match.Success || !match.Groups["addr"].Value.Contains('@', StringComparison.Ordinal))
        {
            await ReplyAsync(501, ExoReplies.InvalidRecipient).ConfigureAwait(false);
            return;
        }

        _recipients.Add(match.Groups["addr"].Value.Trim());
        await ReplyAsync(250, ExoReplies.RecipientOk).ConfigureAwait(false);
    }

    private async Task DataAsync()
    {
        if (!await TransactionAllowedAsync().ConfigureAwait(false) || !await InTransactionAsync().ConfigureAwait(false))
        {
            return;
        }

        if (_bdat is not null)
        {
            await ReplyAsync(503, ExoReplies.BadSequence).ConfigureAwait(false);
            return;
        }

        await ReplyAsync(354, ExoReplies.StartMailInput).ConfigureAwait(false);
        using var content = new MemoryStream();
        long total = 0;
        bool tooBig = false, lineTooLong = false;
        while (true)
        {
            var line = await ReadLineAsync(_options.MaxDataLineLength).ConfigureAwait(false);
            if (line.EndOfStream)
            {
                _closing = true;
                return;
            }

            if (!line.TooLong && line.Bytes is [(byte)'.'])
            {
                break;
            }

            lineTooLong |= line.TooLong;
            var bytes = line.Bytes.AsSpan();
            if (bytes.Length > 0 && bytes[0] == (byte)'.')
            {
                bytes = bytes[1..];
            }

            total += bytes.Length + 2;
            if (total > _options.MaxMessageSize)
            {
                tooBig = true;
            }
            else
            {
                content.Write(bytes);
                content.Write("\r\n"u8);
            }
        }

        _server.Log(_id, ProtocolDirection.Client, $"<message content, {total} bytes>");
        if (lineTooLong)
        {
            ResetTransaction();
            await ReplyAsync(500, ExoReplies.LineTooLong).ConfigureAwait(false);
            return;
        }

        await FinishMessageAsync(content.ToArray(), tooBig).ConfigureAwait(false);
    }

    private async Task BdatAsync(string args)
    {
        var match = BdatPattern().Match(args);
        if (!match.Success || !long.TryParse(match.Groups["size"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long size))
        {
            // The chunk length is unknown, so the stream cannot be resynchronised.
            await ReplyAsync(501, ExoReplies.InvalidArguments).ConfigureAwait(false);
            _closing = true;
            return;
        }

        bool last = match.Groups["last"].Success;
        bool allowed = _hello && _tls && _auth is not null && _mailFrom is not null && _recipients.Count > 0;
        if (allowed)
        {
            _bdat ??= new MemoryStream();
        }

        bool keep = allowed && !_bdatTooBig && _bdat!.Length + size <= _options.MaxMessageSize;
        if (allowed && !keep)
        {
            _bdatTooBig = true;
        }

        if (!await ReadChunkAsync(size, keep ? _bdat : null).ConfigureAwait(false))
        {
            _closing = true;
            return;
        }

        _server.Log(_id, ProtocolDirection.Client, $"<BDAT chunk, {size} bytes>");
        if (!allowed)
        {
            if (await TransactionAllowedAsync().ConfigureAwait(false))
            {
                await InTransactionAsync().ConfigureAwait(false);
            }

            return;
        }

        if (!last)
        {
            await ReplyAsync(250, $"2.0.0 {size.ToString(CultureInfo.InvariantCulture)} octets received").ConfigureAwait(false);
            return;
        }

        byte[] content = _bdat!.ToArray();
        bool tooBig = _bdatTooBig;
        await FinishMessageAsync(content, tooBig).ConfigureAwait(false);
    }

    private async Task<bool> InTransactionAsync()
    {
        if (_mailFrom is null)
        {
            await ReplyAsync(503, ExoReplies.NeedMail).ConfigureAwait(false);
            return false;
        }

        if (_recipients.Count == 0)
        {
            await ReplyAsync(503, ExoReplies.NeedRcpt).ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>End of DATA/BDAT LAST: size, then the header From against SendAs, then store.</summary>
    private async Task FinishMessageAsync(byte[] content, bool tooBig)
    {
        var account = _auth!.Account;
        string mailFrom = _mailFrom!;
        var recipients = _recipients.ToArray();
        ResetTransaction();
        if (tooBig)
        {
            await ReplyAsync(552, ExoReplies.MessageTooBig).ConfigureAwait(false);
            return;
        }

        var headerFrom = MessageHeaders.FromAddresses(content);
        if (headerFrom.FirstOrDefault(a => !account.MaySendAs(a)) is { } denied)
        {
            await ReplyAsync(554, ExoReplies.SendAsDenied(account.EffectivePrimarySmtpAddress, denied)).ConfigureAwait(false);
            return;
        }

        string host = _server.DiagnosticHostName;
        string id = $"<{Guid.NewGuid():N}@{host}>";
        _server.StoreMessage(new ReceivedMessage(id, _id, _options.Clock.GetUtcNow(), account.EffectivePrimarySmtpAddress, mailFrom, recipients, headerFrom, content));
        await ReplyAsync(250, $"2.0.0 OK {id} [Hostname={host}]").ConfigureAwait(false);
    }

    private void ResetTransaction()
    {
        _mailFrom = null;
        _recipients.Clear();
        _bdat?.Dispose();
        _bdat = null;
        _bdatTooBig = false;
    }

    #endregion

    #region I/O

    private Task<SmtpLine> ReadLineAsync(int maxLength) => WithReadTimeoutAsync(t => _reader.ReadLineAsync(maxLength, t));

    private Task<bool> ReadChunkAsync(long size, Stream? sink) => WithReadTimeoutAsync(t => _reader.ReadExactAsync(size, sink, t));

    private async Task<T> WithReadTimeoutAsync<T>(Func<CancellationToken, ValueTask<T>> read)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_token);
        timeout.CancelAfter(_options.ReadTimeout);
        try
        {
            return await read(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!_token.IsCancellationRequested)
        {
            throw new ReadTimeoutException();
        }
    }

    /// <summary>Sends one reply line; 4xx and 5xx get the diagnostic tail. Returns the line sent.</summary>
    private async Task ReplyAsync(int code, string text) => await WriteAsync([FormatReply(code, text)]).ConfigureAwait(false);

    private string FormatReply(int code, string text) => code >= 400 ? $"{code} {text}{_server.DiagnosticTail(_id)}" : $"{code} {text}";

    private async Task TryReplyAsync(int code, string text)
    {
        try
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            string line = FormatReply(code, text);
            _server.Log(_id, ProtocolDirection.Server, line);
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"), quick.Token).ConfigureAwait(false);
            await _stream.FlushAsync(quick.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionError(ex) || ex is NotSupportedException)
        {
        }
    }

    private async Task WriteAsync(string[] lines)
    {
        if (_options.ReplyDelay > TimeSpan.Zero)
        {
            await Task.Delay(_options.ReplyDelay, _token).ConfigureAwait(false);
        }

        foreach (string line in lines)
        {
            _server.Log(_id, ProtocolDirection.Server, line);
        }

        if (Mode == Misbehaviour.Drip)
        {
            await DripAsync(Encoding.UTF8.GetBytes(string.Join("\r\n", lines) + "\r\n")).ConfigureAwait(false);
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_token);
        timeout.CancelAfter(_options.ReadTimeout);
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(string.Join("\r\n", lines) + "\r\n"), timeout.Token).ConfigureAwait(false);
        await _stream.FlushAsync(timeout.Token).ConfigureAwait(false);
    }

    private static string MaskAuthLine(string text)
    {
        string[] parts = text.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length < 3 ? Printable(text) : $"{parts[0]} {Printable(parts[1])} {Mask}";
    }

    private static string Printable(string text)
    {
        var sb = new StringBuilder(Math.Min(text.Length, 512));
        foreach (char c in text.Length > 512 ? text[..512] : text)
        {
            sb.Append(char.IsControl(c) ? '?' : c);
        }

        return text.Length > 512 ? sb.Append("...").ToString() : sb.ToString();
    }

    #endregion

    [GeneratedRegex(@"^FROM:\s*(?:<(?<addr>[^<>]*)>|(?<addr>[^\s<>]+))(?<params>.*)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MailFromPattern();

    [GeneratedRegex(@"^TO:\s*(?:<(?<addr>[^<>]*)>|(?<addr>[^\s<>]+))(?<params>.*)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RcptToPattern();

    [GeneratedRegex(@"(?:^|\s)SIZE=(\S+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SizeParameterPattern();

    [GeneratedRegex(@"^(?<size>\d{1,18})(?:\s+(?<last>LAST))?\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BdatPattern();

    private sealed record Authenticated(ScenarioAccount Account, string MailboxKey);

    private sealed class ReadTimeoutException : Exception
    {
    }
}
