using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Authentication;
using System.Threading.Tasks;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

public sealed class TlsTests
{
    private const string LegacyTls = "4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls.";

#pragma warning disable SYSLIB0039, CA5397 // TLS 1.1 is the subject under test.
    private const SslProtocols Tls11 = SslProtocols.Tls11;
#pragma warning restore SYSLIB0039, CA5397

    [Fact]
    public async Task A_tls_1_1_session_gets_421_4_7_66_on_the_next_command_and_is_closed()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { SimulatedTlsProtocol = Tls11 });
        await using var raw = await RawConnection.OpenAsync(emulator);
        await raw.CommandAsync("EHLO client.test");
        await raw.CommandAsync("STARTTLS");
        await raw.StartTlsAsync(emulator);

        Harness.AssertErrorReply(await raw.CommandAsync("EHLO client.test"), 421, LegacyTls);
        Assert.Null(await raw.ReadReplyAsync());
    }

    [Fact]
    public async Task MailKit_sees_the_421_when_it_says_ehlo_after_starttls()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { SimulatedTlsProtocol = Tls11 });
        using var client = new ProbeClient(emulator.CertificateThumbprint);

        // A 421 ends the session, so MailKit reports it as an unexpected disconnect that quotes the reply.
        var ex = await Assert.ThrowsAsync<SmtpProtocolException>(() => client.ConnectAsync("127.0.0.1", emulator.Port, SecureSocketOptions.StartTls, Harness.Token()));

        Assert.Contains(LegacyTls, ex.Message, StringComparison.Ordinal);
        Harness.AssertErrorReply(client.LastReply, 421, LegacyTls);
    }

    [Fact]
    public async Task The_legacy_endpoint_accepts_tls_1_1_when_the_tenant_opted_in()
    {
        var optedIn = Harness.Demo with { Tenant = Harness.Demo.Tenant with { AllowLegacyTlsClients = true } };
        await using var legacy = await Harness.StartAsync(optedIn, o => o with { SimulatedTlsProtocol = Tls11, LegacyTlsEndpoint = true });
        await using var regular = await Harness.StartAsync(optedIn, o => o with { SimulatedTlsProtocol = Tls11 });
        await using var notOptedIn = await Harness.StartAsync(configure: o => o with { SimulatedTlsProtocol = Tls11, LegacyTlsEndpoint = true });

        using var ok = await Harness.ConnectAsync(legacy);
        await ok.LoginAsync("healthy.basic@contoso.com", Harness.PasswordOf("healthy.basic@contoso.com"));
        await Assert.ThrowsAsync<SmtpProtocolException>(async () => (await Harness.ConnectAsync(regular)).Dispose());
        await Assert.ThrowsAsync<SmtpProtocolException>(async () => (await Harness.ConnectAsync(notOptedIn)).Dispose());
    }

    /// <summary>
    /// A real TLS 1.1 handshake. OpenSSL 3's default security level refuses TLS 1.0/1.1 in-process, so the
    /// emulator runs as a child process with a permissive OPENSSL_CONF and openssl s_client is the client.
    /// </summary>
    [Fact]
    public async Task A_real_tls_1_1_handshake_gets_421_4_7_66()
    {
        string? openssl = FindOnPath("openssl");
        Assert.True(openssl is not null, "This test needs the openssl command-line tool (Debian package 'openssl').");
        string config = ExternalProcess.TempFile("openssl.cnf");
        await File.WriteAllTextAsync(config, """
            openssl_conf = default_conf
            [default_conf]
            ssl_conf = ssl_sect
            [ssl_sect]
            system_default = system_default_sect
            [system_default_sect]
            MinProtocol = TLSv1
            CipherString = DEFAULT@SECLEVEL=0
            """);
        string key = ExternalProcess.TempFile("key.pem");
        var environment = new Dictionary<string, string> { ["OPENSSL_CONF"] = config };
        using var host = ExternalProcess.StartEmulator(["smtp", "--scenario", Harness.ScenarioPath("demo-tenant.json"), "--key", key], environment);
        try
        {
            int port = await ExternalProcess.ReadListeningPortAsync(host);

            var (_, output, errors) = await ExternalProcess.RunAsync(
                openssl!,
                ["s_client", "-connect", $"127.0.0.1:{port}", "-starttls", "smtp", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-quiet", "-ign_eof"],
                "EHLO client.test\r\n",
                environment);

            string reply = output.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith("421 ", StringComparison.Ordinal));
            Harness.AssertErrorReply(reply, 421, LegacyTls);
            Assert.DoesNotContain("250-AUTH", output, StringComparison.Ordinal);
            Assert.NotNull(errors);
        }
        finally
        {
            await ExternalProcess.StopAsync(host);
            File.Delete(config);
            File.Delete(key);
        }
    }

    [Fact]
    public async Task Pipelined_bytes_after_starttls_are_not_carried_into_tls()
    {
        await using var emulator = await Harness.StartAsync();
        await using var raw = await RawConnection.OpenAsync(emulator);
        await raw.CommandAsync("EHLO client.test");

        await raw.SendAsync("STARTTLS\r\nAUTH LOGIN");
        Assert.Equal("220 2.0.0 SMTP server ready", await raw.ReadReplyAsync());
        await raw.StartTlsAsync(emulator);

        // RFC 3207 4.2: what was pipelined after STARTTLS is dropped, so the AUTH was never answered.
        Assert.Equal("250 2.0.0 OK", await raw.CommandAsync("NOOP"));
        Assert.Contains(emulator.ProtocolLog, e => e.Line.StartsWith("discarded 12 byte(s)", StringComparison.Ordinal));
    }

    private static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);
}
