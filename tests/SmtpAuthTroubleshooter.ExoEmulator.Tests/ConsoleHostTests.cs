using System;
using System.IO;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>The console host as PowerShell tests will use it: smtp and token verbs sharing --key.</summary>
public sealed class ConsoleHostTests
{
    [Fact]
    public async Task Smtp_and_token_verbs_agree_on_the_key_and_the_host_stops_when_stdin_closes()
    {
        string key = ExternalProcess.TempFile("key.pem");
        string cert = ExternalProcess.TempFile("cert.pem");
        string publicKey = ExternalProcess.TempFile("public.pem");
        string scenario = Harness.ScenarioPath("demo-tenant.json");
        using var host = ExternalProcess.StartEmulator(["smtp", "--scenario", scenario, "--port", "0", "--tls", "starttls", "--cert-out", cert, "--key", key]);
        try
        {
            int port = await ExternalProcess.ReadListeningPortAsync(host);
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(cert);
            var (exit, token, _) = await ExternalProcess.RunEmulatorAsync("token", "--scenario", scenario, "--app", Harness.MailerApp, "--key", key, "--key-out", publicKey);
            Assert.Equal(0, exit);
            Assert.StartsWith("-----BEGIN PUBLIC KEY-----", await File.ReadAllTextAsync(publicKey), StringComparison.Ordinal);

            using var client = new ProbeClient(certificate.Thumbprint);
            await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.StartTls, Harness.Token());
            await client.OAuthAsync("notifications@contoso.com", token.Trim());
            Assert.Equal("235 2.7.0 Authentication successful", client.LastReply);

            var (_, expired, _) = await ExternalProcess.RunEmulatorAsync("token", "--scenario", scenario, "--app", Harness.DesktopClientApp, "--user", "healthy.basic@contoso.com", "--exp-minutes", "-5", "--key", key);
            using var second = new ProbeClient(certificate.Thumbprint);
            await second.ConnectAsync("127.0.0.1", port, SecureSocketOptions.StartTls, Harness.Token());
            await Assert.ThrowsAsync<AuthenticationException>(() => second.OAuthAsync("healthy.basic@contoso.com", expired.Trim()));
            Harness.AssertErrorReply(second.LastReply, 535, "5.7.3 Authentication unsuccessful");
        }
        finally
        {
            await ExternalProcess.StopAsync(host);
            Assert.Equal(string.Empty, await host.StandardOutput.ReadToEndAsync());
            foreach (string file in new[] { key, cert, publicKey })
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task Token_verb_can_print_the_xoauth2_response()
    {
        string key = ExternalProcess.TempFile("key.pem");
        try
        {
            var (exit, output, _) = await ExternalProcess.RunEmulatorAsync("token", "--scenario", Harness.ScenarioPath("demo-tenant.json"), "--app", Harness.MailerApp, "--key", key, "--sasl", "notifications@contoso.com", "--roles", "", "--signature", "tampered");

            Assert.Equal(0, exit);
            Assert.True(OAuthEvaluator.TryParseXOAuth2(Convert.FromBase64String(output.Trim()), out string user, out string token));
            Assert.Equal("notifications@contoso.com", user);
            using var rsa = SigningKeys.LoadOrCreate(key);
            Assert.Equal(AuthOutcome.TokenSignatureInvalid, OAuthEvaluator.Evaluate(Harness.Demo, user, token, rsa, DateTimeOffset.UtcNow).Outcome);
        }
        finally
        {
            File.Delete(key);
        }
    }

    [Theory]
    [InlineData(2, "bogus")]
    [InlineData(2, "smtp")]
    [InlineData(2, "smtp", "--scenario", "x.json", "--tls", "sometimes")]
    [InlineData(1, "smtp", "--scenario", "/nonexistent.json")]
    public async Task Bad_command_lines_fail_with_a_message(int expectedExit, params string[] args)
    {
        var (exit, output, errors) = await ExternalProcess.RunEmulatorAsync(args);

        Assert.Equal(expectedExit, exit);
        Assert.Equal(string.Empty, output);
        Assert.StartsWith("error: ", errors, StringComparison.Ordinal);
    }
}
