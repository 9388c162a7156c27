using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>
/// The misbehaving server modes (issue 6): each does what it says on the wire, and each session ends when the
/// client goes away (Statistics.ConnectionsActive back to 0), so the emulator never holds a dead connection.
/// </summary>
public sealed class MisbehaviourTests
{
    private const string Greeting = "YT3PR01CA0020.outlook.office365.com Hello [127.0.0.1]";
    private const long HugeReplyBytes = 100L * 1024 * 1024;

    private static Task<ExoSmtpEmulator> StartAsync(Misbehaviour mode) =>
        Harness.StartAsync(configure: o => o with { Misbehaviour = mode });

    private static async Task<TcpClient> ConnectAsync(ExoSmtpEmulator emulator)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", emulator.Port, Harness.Token());
        return tcp;
    }

    /// <summary>Whatever arrives within <paramref name="window"/> (or until the server closes, or <paramref name="max"/> bytes).</summary>
    private static async Task<(string Text, bool Closed)> ReadForAsync(NetworkStream stream, TimeSpan window, int max = 1 << 20)
    {
        using var timer = new CancellationTokenSource(window);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            while (received.Length < max)
            {
                int n = await stream.ReadAsync(buffer, timer.Token);
                if (n == 0)
                {
                    return (Encoding.ASCII.GetString(received.ToArray()), true);
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException)
        {
        }

        return (Encoding.ASCII.GetString(received.ToArray()), false);
    }

    private static async Task<string> ReadLineAsync(NetworkStream stream)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (await stream.ReadAsync(one, Harness.Token()) == 1 && one[0] != '\n')
        {
            line.Append((char)one[0]);
        }

        return line.ToString().TrimEnd('\r');
    }

    private static async Task SendAsync(NetworkStream stream, string line) =>
        await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"), Harness.Token());

    /// <summary>Every session has ended, and none of them by an unexpected exception in the emulator.</summary>
    private static async Task SessionsEndedAsync(ExoSmtpEmulator emulator)
    {
        await Harness.EventuallyAsync(() => emulator.Statistics.ConnectionsActive == 0, "every session ended");
        Assert.Equal(0, emulator.Statistics.SessionErrors);
    }

    [Fact]
    public async Task No_banner_sends_nothing_and_ends_when_the_client_goes()
    {
        await using var emulator = await StartAsync(Misbehaviour.NoBanner);
        using (var tcp = await ConnectAsync(emulator))
        {
            var stream = tcp.GetStream();
            await SendAsync(stream, "EHLO client.test");
            var (text, closed) = await ReadForAsync(stream, TimeSpan.FromMilliseconds(400));
            Assert.Equal(string.Empty, text);
            Assert.False(closed);
        }

        await SessionsEndedAsync(emulator);
        Assert.Contains(emulator.ProtocolLog, e => e.Line.StartsWith("misbehave no-banner: client closed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Close_mid_ehlo_sends_half_a_reply_and_closes()
    {
        await using var emulator = await StartAsync(Misbehaviour.CloseMidEhlo);
        using var tcp = await ConnectAsync(emulator);
        var stream = tcp.GetStream();
        Assert.StartsWith("220 ", await ReadLineAsync(stream));
        await SendAsync(stream, "EHLO client.test");

        var (text, closed) = await ReadForAsync(stream, Harness.TestTimeout);

        Assert.True(closed);
        Assert.Equal($"250-{Greeting}\r\n250-SIZE", text);
        await SessionsEndedAsync(emulator);
    }

    [Fact]
    public async Task Endless_multiline_never_sends_the_final_line_and_stops_when_the_client_goes()
    {
        await using var emulator = await StartAsync(Misbehaviour.EndlessMultiline);
        using (var tcp = await ConnectAsync(emulator))
        {
            var stream = tcp.GetStream();
            Assert.StartsWith("220 ", await ReadLineAsync(stream));
            await SendAsync(stream, "EHLO client.test");

            var (text, closed) = await ReadForAsync(stream, TimeSpan.FromMilliseconds(400));

            Assert.False(closed);
            string[] lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length >= 10, $"only {lines.Length} lines in 400 ms");
            Assert.All(lines[..^1], l => Assert.StartsWith("250-", l, StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.StartsWith("250 ", StringComparison.Ordinal));
        }

        await SessionsEndedAsync(emulator);
    }

    [Fact]
    public async Task Huge_reply_is_a_complete_100_MiB_reply_and_stops_when_the_client_goes()
    {
        await using var emulator = await StartAsync(Misbehaviour.HugeReply);
        using (var tcp = await ConnectAsync(emulator))
        {
            var stream = tcp.GetStream();
            Assert.StartsWith("220 ", await ReadLineAsync(stream));
            await SendAsync(stream, "EHLO client.test");
            var buffer = new byte[256 * 1024];
            long total = 0;
            var tail = new MemoryStream(); // the last bytes received, for the final line
            using var limit = new CancellationTokenSource(Harness.TestTimeout);
            while (total < HugeReplyBytes)
            {
                int n = await stream.ReadAsync(buffer, limit.Token);
                Assert.NotEqual(0, n);
                total += n;
                byte[] keep = [.. tail.ToArray().TakeLast(Math.Max(0, 64 - n)), .. buffer.AsSpan(Math.Max(0, n - 64), Math.Min(n, 64)).ToArray()];
                tail = new MemoryStream(keep);
            }

            Assert.Equal(HugeReplyBytes, total);
            string last = Encoding.ASCII.GetString(tail.ToArray());
            Assert.Matches("^250 x+\r\n$", last);
            await SendAsync(stream, "NOOP");
            Assert.Equal("250 2.0.0 OK", await ReadLineAsync(stream));
        }

        // A client that reads 1 MiB and hangs up: the server's next writes fail and the session ends.
        using (var tcp = await ConnectAsync(emulator))
        {
            var stream = tcp.GetStream();
            Assert.StartsWith("220 ", await ReadLineAsync(stream));
            await SendAsync(stream, "EHLO client.test");
            var (text, _) = await ReadForAsync(stream, Harness.TestTimeout, max: 1 << 20);
            Assert.StartsWith("250-xxx", text, StringComparison.Ordinal);
        }

        await SessionsEndedAsync(emulator);
    }

    [Fact]
    public async Task Bad_codes_answers_hello_with_codes_outside_rfc_5321_in_turn()
    {
        await using var emulator = await StartAsync(Misbehaviour.BadCodes);
        await using var raw = await RawConnection.OpenAsync(emulator);

        Assert.Equal("999 weird", await raw.CommandAsync("EHLO client.test"));
        Assert.Equal("abc not a code", await raw.CommandAsync("HELO client.test"));
        Assert.Equal("2500 five digits", await raw.CommandAsync("EHLO client.test"));
        Assert.Equal("999 weird", await raw.CommandAsync("EHLO client.test"));
        Assert.Equal("250 2.0.0 OK", await raw.CommandAsync("NOOP"));
        Assert.Equal(0, emulator.Statistics.SessionErrors);
    }

    [Fact]
    public async Task Starttls_plaintext_says_220_and_then_answers_the_client_hello_in_plain_text()
    {
        await using var emulator = await StartAsync(Misbehaviour.StartTlsPlaintext);
        await using (var raw = await RawConnection.OpenAsync(emulator))
        {
            await raw.CommandAsync("EHLO client.test");
            Assert.Equal("220 2.0.0 SMTP server ready", await raw.CommandAsync("STARTTLS"));
            await raw.SendBytesAsync([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00]); // the start of a ClientHello
            Assert.Equal("250 2.0.0 OK", await raw.ReadReplyAsync());
        }

        // A real TLS client fails its handshake on the plain-text answer.
        await using (var raw = await RawConnection.OpenAsync(emulator))
        {
            await raw.CommandAsync("EHLO client.test");
            Assert.StartsWith("220 ", await raw.CommandAsync("STARTTLS"));
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => raw.StartTlsAsync(emulator));
            Assert.True(ex is System.Security.Authentication.AuthenticationException or IOException, ex.ToString());
        }

        await SessionsEndedAsync(emulator);
    }

    [Fact]
    public async Task Tls_stall_says_220_and_never_answers_the_handshake()
    {
        await using var emulator = await StartAsync(Misbehaviour.TlsStall);
        await using (var raw = await RawConnection.OpenAsync(emulator))
        {
            await raw.CommandAsync("EHLO client.test");
            Assert.Equal("220 2.0.0 SMTP server ready", await raw.CommandAsync("STARTTLS"));
            using var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => raw.StartTlsAsync(emulator, shortWait.Token));
        }

        await SessionsEndedAsync(emulator);
        Assert.Contains(emulator.ProtocolLog, e => e.Line.StartsWith("misbehave tls-stall: client closed", StringComparison.Ordinal));
        Assert.Equal(0, emulator.Statistics.TlsHandshakes);
    }

    [Fact]
    public async Task Downgrade_strips_starttls_after_the_first_connection_and_harvests_clear_credentials()
    {
        await using var emulator = await StartAsync(Misbehaviour.Downgrade);
        await using (var first = await RawConnection.OpenAsync(emulator))
        {
            string ehlo = await first.CommandAsync("EHLO client.test") ?? string.Empty;
            Assert.Contains("250-STARTTLS", ehlo, StringComparison.Ordinal);
            Assert.DoesNotContain("AUTH", ehlo, StringComparison.Ordinal);
        }

        await using (var later = await RawConnection.OpenAsync(emulator))
        {
            string ehlo = await later.CommandAsync("EHLO client.test") ?? string.Empty;
            Assert.DoesNotContain("STARTTLS", ehlo, StringComparison.Ordinal);
            Assert.Contains("250-AUTH LOGIN PLAIN", ehlo, StringComparison.Ordinal);
            Assert.StartsWith("500 ", await later.CommandAsync("STARTTLS"));
            string password = Harness.PasswordOf("healthy.basic@contoso.com");
            Assert.Equal("235 2.7.0 Authentication successful", await later.CommandAsync("AUTH PLAIN " + Harness.B64("\0healthy.basic@contoso.com\0" + password)));
        }

        var harvested = Assert.Single(emulator.AuthEvents);
        Assert.Equal("healthy.basic@contoso.com", harvested.UserName);
        Assert.StartsWith("Credentials received in clear", harvested.Reason, StringComparison.Ordinal);

        // A client that insists on STARTTLS refuses the downgraded server before sending anything.
        using var client = new ProbeClient(emulator.CertificateThumbprint);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.ConnectAsync("127.0.0.1", emulator.Port, SecureSocketOptions.StartTls, Harness.Token()));
        Assert.DoesNotContain("AUTH", client.ClientText, StringComparison.Ordinal);
        Assert.Single(emulator.AuthEvents);
    }

    [Fact]
    public async Task Auth_loop_answers_every_line_after_auth_with_334()
    {
        await using var emulator = await StartAsync(Misbehaviour.AuthLoop);
        using var client = await Harness.ConnectAsync(emulator);

        Assert.Equal(SmtpStatusCode.AuthenticationChallenge, (await client.RawAsync("AUTH LOGIN")).StatusCode);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(SmtpStatusCode.AuthenticationChallenge, (await client.RawAsync(Harness.B64($"line {i}"))).StatusCode);
        }

        Assert.Empty(emulator.AuthEvents);
    }
}

/// <summary>Drip mode, in its own class so its seconds run in parallel with the other tests.</summary>
public sealed class DripTests
{
    [Fact]
    public async Task Drip_sends_the_banner_one_byte_per_second_and_stops_when_the_client_goes()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { Misbehaviour = Misbehaviour.Drip });
        var watch = Stopwatch.StartNew();
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", emulator.Port, Harness.Token());
            var stream = tcp.GetStream();
            var received = new StringBuilder();
            var buffer = new byte[64];
            using var window = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500));
            try
            {
                while (true)
                {
                    int n = await stream.ReadAsync(buffer, window.Token);
                    Assert.NotEqual(0, n);
                    received.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
            }
            catch (OperationCanceledException)
            {
            }

            // 1.5 s: the first byte at once, the second after a second; never the whole line.
            Assert.InRange(received.Length, 1, 3);
            Assert.StartsWith(received.ToString(), "220 ", StringComparison.Ordinal);
        }

        await Harness.EventuallyAsync(() => emulator.Statistics.ConnectionsActive == 0, "the drip session ended");
        Assert.Equal(0, emulator.Statistics.SessionErrors);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }
}
