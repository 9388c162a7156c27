using System;
using System.Linq;
using System.Security.Authentication;
using System.Threading.Tasks;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

public sealed class BannerAndEhloTests
{
    private static readonly string[] EhloBeforeTls =
    [
        "250-YT3PR01CA0020.outlook.office365.com Hello [127.0.0.1]",
        "250-SIZE 157286400",
        "250-PIPELINING",
        "250-DSN",
        "250-ENHANCEDSTATUSCODES",
        "250-STARTTLS",
        "250-8BITMIME",
        "250-BINARYMIME",
        "250-CHUNKING",
        "250 SMTPUTF8",
    ];

    private static readonly string[] EhloAfterTls =
    [
        "250-YT3PR01CA0020.outlook.office365.com Hello [127.0.0.1]",
        "250-SIZE 157286400",
        "250-PIPELINING",
        "250-DSN",
        "250-ENHANCEDSTATUSCODES",
        "250-AUTH LOGIN XOAUTH2",
        "250-8BITMIME",
        "250-BINARYMIME",
        "250-CHUNKING",
        "250 SMTPUTF8",
    ];

    [Fact]
    public async Task Banner_has_the_reference_shape()
    {
        var clock = new ManualClock(new DateTimeOffset(2022, 3, 9, 3, 43, 45, TimeSpan.Zero));
        await using var emulator = await Harness.StartAsync(configure: o => o with { Clock = clock });
        using var client = await Harness.ConnectAsync(emulator);

        Assert.Equal("220 YT3PR01CA0020.outlook.office365.com Microsoft ESMTP MAIL Service ready at Wed, 9 Mar 2022 03:43:45 +0000", client.Replies[0]);
    }

    [Fact]
    public async Task Ehlo_before_tls_offers_starttls_and_no_auth()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        // Replies: banner, EHLO, STARTTLS, EHLO again.
        Assert.Equal(string.Join("\n", EhloBeforeTls), client.Replies[1]);
        Assert.Equal("220 2.0.0 SMTP server ready", client.Replies[2]);
    }

    [Fact]
    public async Task Ehlo_after_starttls_offers_auth_login_xoauth2_and_no_starttls()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        Assert.Equal(string.Join("\n", EhloAfterTls), client.Replies[3]);
        Assert.True(client.IsSecure);
        Assert.Equal(["LOGIN", "XOAUTH2"], client.AuthenticationMechanisms.OrderBy(m => m, StringComparer.Ordinal));
        Assert.DoesNotContain("PLAIN", client.AuthenticationMechanisms);
        Assert.Equal(157286400u, client.MaxSize);
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Chunking | SmtpCapabilities.BinaryMime | SmtpCapabilities.UTF8 | SmtpCapabilities.Pipelining | SmtpCapabilities.Dsn | SmtpCapabilities.EnhancedStatusCodes | SmtpCapabilities.EightBitMime));
    }

    [Fact]
    public async Task Tls_is_1_2_or_later()
    {
        await using var emulator = await Harness.StartAsync();
        using var tls12 = await Harness.ConnectAsync(emulator, protocols: SslProtocols.Tls12);
        using var best = await Harness.ConnectAsync(emulator);

        Assert.Equal(SslProtocols.Tls12, tls12.SslProtocol);
        Assert.True(best.SslProtocol >= SslProtocols.Tls12);
        Assert.Equal(2, emulator.Statistics.TlsHandshakes);
    }

    [Fact]
    public async Task Implicit_mode_speaks_tls_first_and_offers_auth()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { TlsMode = TlsMode.Implicit });
        using var client = await Harness.ConnectAsync(emulator, SecureSocketOptions.SslOnConnect);

        Assert.True(client.IsSecure);
        Assert.Equal(string.Join("\n", EhloAfterTls), client.Replies[1]);
    }

    [Fact]
    public async Task Implicit_tls_client_against_starttls_port_fails_the_handshake()
    {
        // Reference 1.2: SslOnConnect on 587 fails at once, because the server speaks plain SMTP first.
        await using var emulator = await Harness.StartAsync();
        var client = new ProbeClient(emulator.CertificateThumbprint) { Timeout = 5000 };
        using (client)
        {
            await Assert.ThrowsAsync<SslHandshakeException>(() => client.ConnectAsync("127.0.0.1", emulator.Port, SecureSocketOptions.SslOnConnect, Harness.Token()));
        }
    }

    [Fact]
    public async Task None_mode_never_offers_starttls_so_auth_and_mail_are_refused()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { TlsMode = TlsMode.None });
        using var client = await Harness.ConnectAsync(emulator, SecureSocketOptions.None);

        Assert.DoesNotContain("STARTTLS", client.Replies[1], StringComparison.Ordinal);
        Assert.DoesNotContain("AUTH", client.Replies[1], StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.LoginAsync("healthy.basic@contoso.com", "x"));

        Harness.AssertErrorReply(await Reply(client, "STARTTLS"), 500, "5.3.3 Unrecognized command");
        Harness.AssertErrorReply(await Reply(client, "AUTH LOGIN"), 504, "5.7.4 Unrecognized authentication type");
        Harness.AssertErrorReply(await Reply(client, "MAIL FROM:<healthy.basic@contoso.com>"), 451, "5.7.3 STARTTLS is required to send mail");
    }

    [Fact]
    public async Task Helo_answers_without_extensions()
    {
        await using var emulator = await Harness.StartAsync();
        await using var raw = await RawConnection.OpenAsync(emulator);

        Assert.Equal("250 YT3PR01CA0020.outlook.office365.com Hello [127.0.0.1]", await raw.CommandAsync("HELO client.test"));
        Harness.AssertErrorReply(await raw.CommandAsync("EHLO"), 501, "5.5.4 Invalid domain name");
    }

    private static async Task<string> Reply(ProbeClient client, string command)
    {
        var response = await client.RawAsync(command);
        return $"{(int)response.StatusCode} {response.Response}";
    }
}
