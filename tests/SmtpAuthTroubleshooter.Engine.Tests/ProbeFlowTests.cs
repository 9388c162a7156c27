using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the probe end to end against a scripted loopback server (FakeSmtpServer): what a
    /// result says for success, each refusal, a server without TLS or AUTH, a test message, a token, and STARTTLS with
    /// a certificate the probe does or does not trust. The Exchange Online emulator covers the same in Pester; these
    /// run in the engine's own test project, so that mutation testing sees them.
    /// </summary>
    public class ProbeFlowTests
    {
        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

        private static SecureString Secret(string value)
        {
            var s = new SecureString();
            foreach (char c in value)
            {
                s.AppendChar(c);
            }

            return s;
        }

        private static ProbeRequest Plain(FakeSmtpServer server, string user = "dave@example.test") => new ProbeRequest
        {
            Server = "127.0.0.1",
            Port = server.Port,
            TlsMode = SmtpTlsMode.None,
            AllowUnencryptedAuthentication = true,
            UserName = user,
            Password = Secret("Pa55word!"),
            Timeout = TimeSpan.FromSeconds(20),
        };

        private static async Task<(SmtpAuthTestResult Result, RecordingSink Sink)> Run(FakeSmtpServer server, ProbeRequest request)
        {
            server.Start();
            var sink = new RecordingSink();
            SmtpAuthTestResult result = await new SmtpProbe(() => Now).RunAsync(request, sink, CancellationToken.None);
            return (result, sink);
        }

        [Fact]
        public async Task A_password_the_server_accepts_is_a_success_with_every_step_timed_and_the_secrets_masked()
        {
            using var server = new FakeSmtpServer();
            (SmtpAuthTestResult r, RecordingSink sink) = await Run(server, Plain(server));
            Assert.True(r.Succeeded);
            Assert.Equal(SmtpPhase.None, r.FailedPhase);
            Assert.Equal("Authenticated.", r.Message);
            Assert.Equal("127.0.0.1", r.Server);
            Assert.Equal(server.Port, r.Port);
            Assert.Equal("dave@example.test", r.UserName);
            Assert.Equal(SmtpAuthMethod.Basic, r.AuthMethod);
            Assert.Equal("LOGIN", r.Mechanism);
            Assert.Equal(235, r.ReplyCode);
            Assert.Equal("2.7.0", r.EnhancedStatusCode);
            Assert.Equal("235 2.7.0 Authentication successful", r.ReplyText);
            Assert.False(r.StartTlsOffered);
            Assert.Equal("LOGIN PLAIN", r.AuthMechanismsBeforeTls);
            Assert.Null(r.AuthMechanismsAfterTls);
            Assert.Null(r.TlsProtocol);
            Assert.Null(r.CertificateSubject);
            Assert.False(r.ExchangeOnline);
            Assert.False(r.TestMessageSent);
            Assert.Null(r.From);
            Assert.Equal(Now.UtcDateTime, r.StartedUtc);
            Assert.Equal(SmtpTlsMode.None, r.TlsMode);
            foreach (long? step in new[] { r.DnsMs, r.ConnectMs, r.BannerMs, r.EhloMs, r.AuthMs })
            {
                Assert.NotNull(step);
            }

            Assert.Null(r.TokenMs);
            Assert.Null(r.StartTlsMs);
            Assert.Null(r.MailFromMs);
            Assert.True(r.DurationMs >= r.AuthMs);

            Assert.Contains("C: AUTH LOGIN", r.Transcript, StringComparison.Ordinal);
            Assert.Contains("S: 235 2.7.0 Authentication successful", r.Transcript, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(Encoding.ASCII.GetBytes("Pa55word!")), r.Transcript, StringComparison.Ordinal);
            Assert.Contains(server.Received, l => l == Convert.ToBase64String(Encoding.ASCII.GetBytes("Pa55word!")));

            Assert.Contains("Authenticating as dave@example.test with AUTH LOGIN (the server offers [LOGIN PLAIN]).", sink.Verbose);
            Assert.Contains(sink.Debug, d => d.StartsWith("SMTP transcript (redacted):\n", StringComparison.Ordinal) && d.Contains("C: AUTH LOGIN", StringComparison.Ordinal));
            Assert.Equal(("Test-SmtpAuth", "Done", 100), sink.Progress.Last());
            Assert.Empty(sink.Warnings);
        }

        [Fact]
        public async Task A_refused_password_is_an_Auth_failure_with_the_servers_reply()
        {
            using var server = new FakeSmtpServer { AuthReply = "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [SN4PR0201CA0040.namprd02.prod.outlook.com]" };
            (SmtpAuthTestResult r, _) = await Run(server, Plain(server));
            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Equal(535, r.ReplyCode);
            Assert.Equal("5.7.139", r.EnhancedStatusCode);
            Assert.Equal("535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [SN4PR0201CA0040.namprd02.prod.outlook.com]", r.ReplyText);
            Assert.Contains("5.7.139 Authentication unsuccessful", r.Message, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Without_TLS_the_password_is_not_sent_unless_allowed()
        {
            using (var offersTls = new FakeSmtpServer { Ehlo = new[] { "250-mail.example.test", "250-STARTTLS", "250 AUTH LOGIN" } })
            {
                ProbeRequest request = Plain(offersTls);
                request.AllowUnencryptedAuthentication = false;
                (SmtpAuthTestResult r, _) = await Run(offersTls, request);
                Assert.False(r.Succeeded);
                Assert.Equal(SmtpPhase.StartTls, r.FailedPhase);
                Assert.True(r.StartTlsOffered);
                Assert.Equal("The connection is not encrypted (-TlsMode None), so the credentials were not sent over an unencrypted connection (use -AllowUnencryptedAuthentication to override).", r.Message);
                Assert.DoesNotContain(offersTls.Received, l => l.StartsWith("AUTH", StringComparison.Ordinal));
                Assert.Null(r.Mechanism);
            }

            using var noTls = new FakeSmtpServer();
            ProbeRequest plain = Plain(noTls);
            plain.AllowUnencryptedAuthentication = false;
            (SmtpAuthTestResult n, _) = await Run(noTls, plain);
            Assert.Equal(SmtpPhase.StartTls, n.FailedPhase);
            Assert.Equal("The SMTP server does not support the STARTTLS extension, so the credentials were not sent over an unencrypted connection (use -AllowUnencryptedAuthentication to override).", n.Message);
            Assert.DoesNotContain(noTls.Received, l => l.StartsWith("AUTH", StringComparison.Ordinal));
        }

        [Fact]
        public async Task A_server_without_STARTTLS_gets_no_password_when_TLS_is_required()
        {
            using var server = new FakeSmtpServer();
            ProbeRequest request = Plain(server);
            request.TlsMode = SmtpTlsMode.StartTls;
            request.AllowUnencryptedAuthentication = false;
            (SmtpAuthTestResult r, _) = await Run(server, request);
            Assert.Equal(SmtpPhase.StartTls, r.FailedPhase);
            Assert.False(r.StartTlsOffered);
            Assert.EndsWith("The credentials were not sent.", r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.Ordinal));
        }

        [Fact]
        public async Task With_AllowUnencryptedAuthentication_a_server_without_STARTTLS_gets_the_password_in_clear()
        {
            using var server = new FakeSmtpServer();
            ProbeRequest request = Plain(server);
            request.TlsMode = SmtpTlsMode.StartTls;
            (SmtpAuthTestResult r, _) = await Run(server, request);
            Assert.True(r.Succeeded);
            Assert.False(r.StartTlsOffered);
            Assert.Contains(server.Received, l => l.StartsWith("AUTH LOGIN", StringComparison.Ordinal));
        }

        [Fact]
        public async Task A_server_that_advertises_no_AUTH_gets_no_credentials()
        {
            using var server = new FakeSmtpServer { Ehlo = new[] { "250-mail.example.test", "250 8BITMIME" } };
            (SmtpAuthTestResult r, _) = await Run(server, Plain(server));
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Equal("The SMTP server does not support authentication: its EHLO reply advertises no AUTH mechanism, so no credentials were sent.", r.Message);
            Assert.Equal(string.Empty, r.AuthMechanismsBeforeTls);
            Assert.NotNull(r.AuthMs);
        }

        [Theory]
        [InlineData("250-AUTH ")] // Dovecot submission with disable_plaintext_auth: the keyword, no mechanism (tests/Peers/dovecot)
        [InlineData(null)]        // OpenSMTPD, Exim: no AUTH line at all before TLS (tests/Peers/opensmtpd, tests/Peers/exim)
        public async Task A_server_that_offers_STARTTLS_and_no_AUTH_in_clear_is_not_said_to_lack_authentication(string? authLine)
        {
            // -TlsMode None -AllowUnencryptedAuthentication against a server that takes passwords only over TLS: it offers
            // STARTTLS and advertises AUTH after it. "Does not support authentication" would be wrong.
            var ehlo = new List<string> { "250-mail.example.test", "250-8BITMIME" };
            if (authLine is not null)
            {
                ehlo.Add(authLine);
            }

            ehlo.Add("250-STARTTLS");
            ehlo.Add("250 PIPELINING");
            using var server = new FakeSmtpServer { Ehlo = ehlo.ToArray() };
            (SmtpAuthTestResult r, _) = await Run(server, Plain(server));
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.True(r.StartTlsOffered);
            Assert.Equal("The SMTP server advertises no AUTH mechanism on this unencrypted connection, and it offers STARTTLS: a server that takes passwords only over TLS advertises AUTH after STARTTLS (test with -TlsMode StartTls). No credentials were sent.", r.Message);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));
        }

        [Fact]
        public async Task A_password_is_not_sent_to_a_server_that_offers_only_XOAUTH2()
        {
            using var server = new FakeSmtpServer { Ehlo = new[] { "250-mail.example.test", "250 AUTH XOAUTH2" } };
            (SmtpAuthTestResult r, _) = await Run(server, Plain(server));
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Contains("(LOGIN or PLAIN; it offers: XOAUTH2), so the password was not sent.", r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.Ordinal));
        }

        [Fact]
        public async Task A_forced_mechanism_notes_that_it_is_not_advertised()
        {
            using var server = new FakeSmtpServer();
            ProbeRequest request = Plain(server);
            request.Mechanism = SmtpAuthMechanism.Plain;
            server.Ehlo = new[] { "250-mail.example.test", "250 AUTH LOGIN" };
            (SmtpAuthTestResult r, RecordingSink sink) = await Run(server, request);
            Assert.True(r.Succeeded);
            Assert.Equal("PLAIN", r.Mechanism);
            Assert.Contains(server.Received, l => l == "AUTH PLAIN");
            Assert.Contains(sink.Verbose, v => v.StartsWith("-Mechanism Plain: the server does not advertise AUTH PLAIN (it offers: LOGIN)", StringComparison.Ordinal));
        }

        [Fact]
        public async Task Without_authentication_the_probe_stops_after_EHLO()
        {
            using var server = new FakeSmtpServer();
            ProbeRequest request = Plain(server);
            request.Mechanism = SmtpAuthMechanism.None;
            (SmtpAuthTestResult r, _) = await Run(server, request);
            Assert.True(r.Succeeded);
            Assert.Equal(SmtpAuthMethod.Unknown, r.AuthMethod);
            Assert.Equal("Connected; no AUTH was attempted.", r.Message);
            Assert.Equal(250, r.ReplyCode);
            Assert.Null(r.Mechanism);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.Ordinal));
        }

        [Fact]
        public async Task A_test_message_goes_to_the_user_by_default_and_each_step_is_timed()
        {
            using var server = new FakeSmtpServer();
            ProbeRequest request = Plain(server);
            request.SendTestMessage = true;
            (SmtpAuthTestResult r, _) = await Run(server, request);
            Assert.True(r.Succeeded);
            Assert.True(r.TestMessageSent);
            Assert.Equal("Authenticated, and the test message was accepted.", r.Message);
            Assert.Equal("dave@example.test", r.From);
            Assert.Equal("dave@example.test", r.To);
            Assert.Contains(server.Received, l => l == "MAIL FROM:<dave@example.test>" || l.StartsWith("MAIL FROM:<dave@example.test> ", StringComparison.Ordinal));
            Assert.Contains(server.Received, l => l.StartsWith("RCPT TO:<dave@example.test>", StringComparison.Ordinal));
            Assert.NotNull(r.MailFromMs);
            Assert.NotNull(r.RcptToMs);
            Assert.NotNull(r.DataMs);
            Assert.Equal(250, r.ReplyCode);
            Assert.Equal("2.6.0", r.EnhancedStatusCode);
            Assert.Contains("#: message content not logged (", r.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public async Task A_sender_without_SendAs_stops_at_MailFrom()
        {
            using var server = new FakeSmtpServer { MailReply = "550 5.7.60 SMTP; Client does not have permissions to send as this sender" };
            ProbeRequest request = Plain(server);
            request.SendTestMessage = true;
            request.From = "ceo@example.test";
            request.To = "someone@example.test";
            (SmtpAuthTestResult r, _) = await Run(server, request);
            Assert.False(r.Succeeded);
            Assert.False(r.TestMessageSent);
            Assert.Equal(SmtpPhase.MailFrom, r.FailedPhase);
            Assert.Equal(550, r.ReplyCode);
            Assert.Equal("5.7.60", r.EnhancedStatusCode);
            Assert.Equal("ceo@example.test", r.From);
            Assert.Equal("someone@example.test", r.To);
        }

        [Fact]
        public async Task A_refused_recipient_stops_at_RcptTo()
        {
            using var server = new FakeSmtpServer { RcptReply = "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup" };
            ProbeRequest request = Plain(server);
            request.SendTestMessage = true;
            (SmtpAuthTestResult r, _) = await Run(server, request);
            Assert.Equal(SmtpPhase.RcptTo, r.FailedPhase);
            Assert.Equal("5.1.10", r.EnhancedStatusCode);
        }

        [Fact]
        public async Task Exchange_Onlines_greeting_and_a_name_that_is_not_a_UPN_give_a_warning_and_the_flag()
        {
            using var server = new FakeSmtpServer { Banner = "220 BN1PR04CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready at Mon, 30 Nov 2026 12:00:00 +0000" };
            (SmtpAuthTestResult r, RecordingSink sink) = await Run(server, Plain(server, user: "dave"));
            Assert.True(r.ExchangeOnline);
            string warning = Assert.Single(sink.Warnings);
            Assert.StartsWith("'dave' is not in user principal name form (user@domain)", warning, StringComparison.Ordinal);
        }

        [Fact]
        public async Task A_UPN_at_Exchange_Online_or_any_name_elsewhere_gives_no_warning()
        {
            using (var exchange = new FakeSmtpServer { Banner = "220 BN1PR04CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready" })
            {
                (SmtpAuthTestResult r, RecordingSink sink) = await Run(exchange, Plain(exchange, user: "dave@contoso.com"));
                Assert.True(r.ExchangeOnline);
                Assert.Empty(sink.Warnings);
            }

            using var other = new FakeSmtpServer();
            (SmtpAuthTestResult o, RecordingSink otherSink) = await Run(other, Plain(other, user: "dave"));
            Assert.False(o.ExchangeOnline);
            Assert.Empty(otherSink.Warnings);
        }

        [Fact]
        public async Task A_host_name_is_resolved_and_trimmed()
        {
            using var server = new FakeSmtpServer();
            ProbeRequest request = Plain(server);
            request.Server = "  localhost ";
            (SmtpAuthTestResult r, RecordingSink sink) = await Run(server, request);
            Assert.True(r.Succeeded, r.Message);
            Assert.Equal("localhost", r.Server);
            Assert.Contains("Resolving localhost.", sink.Verbose);
            Assert.Contains(sink.Verbose, v => v.StartsWith("localhost resolves to ", StringComparison.Ordinal) && v.Contains("127.0.0.1", StringComparison.Ordinal));
        }

        [Fact]
        public async Task A_closed_port_is_a_Connect_failure()
        {
            int port;
            using (var probeListener = new TcpListener(IPAddress.Loopback, 0))
            {
                probeListener.Start();
                port = ((IPEndPoint)probeListener.LocalEndpoint).Port;
            }

            var request = new ProbeRequest { Server = "127.0.0.1", Port = port, Mechanism = SmtpAuthMechanism.None, Timeout = TimeSpan.FromSeconds(10) };
            SmtpAuthTestResult r = await new SmtpProbe(() => Now).RunAsync(request, new RecordingSink(), CancellationToken.None);
            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Connect, r.FailedPhase);
            Assert.EndsWith("(ConnectionRefused)", r.Message, StringComparison.Ordinal);
            Assert.Null(r.ReplyCode);
        }

        [Fact]
        public async Task The_callers_cancel_is_thrown_not_reported()
        {
            using var server = new FakeSmtpServer();
            using var cancel = new CancellationTokenSource();
            cancel.Cancel();
            server.Start();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new SmtpProbe(() => Now).RunAsync(Plain(server), new RecordingSink(), cancel.Token));
        }

        // --- OAuth ---

        private static string Jwt(object claims)
        {
            static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            return B64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "." + B64(JsonSerializer.Serialize(claims)) + ".c2lnbmF0dXJl";
        }

        private static ProbeRequest OAuth(FakeSmtpServer server, string token) => new ProbeRequest
        {
            Server = "127.0.0.1",
            Port = server.Port,
            TlsMode = SmtpTlsMode.None,
            AllowUnencryptedAuthentication = true,
            UserName = "app@contoso.com",
            Mechanism = SmtpAuthMechanism.XOAuth2,
            TokenSource = TokenSources.FromSecureString(Secret(token)),
            Timeout = TimeSpan.FromSeconds(20),
        };

        [Fact]
        public async Task The_tokens_claims_are_read_before_AUTH_and_a_problem_is_warned_about()
        {
            using var server = new FakeSmtpServer { Ehlo = new[] { "250-mail.example.test", "250 AUTH LOGIN XOAUTH2" }, AuthReply = "535 5.7.3 Authentication unsuccessful" };
            string token = Jwt(new { aud = "https://graph.microsoft.com", scp = "SMTP.Send Mail.Read", upn = "app@contoso.com", tid = "tenant-1", exp = Now.AddHours(1).ToUnixTimeSeconds() });
            (SmtpAuthTestResult r, RecordingSink sink) = await Run(server, OAuth(server, token));
            Assert.Equal(SmtpAuthMethod.OAuth, r.AuthMethod);
            Assert.Equal("XOAUTH2", r.Mechanism);
            Assert.Equal("https://graph.microsoft.com", r.TokenAudience);
            Assert.Equal("SMTP.Send Mail.Read", r.TokenScopes);
            Assert.Equal("tenant-1", r.TokenTenantId);
            Assert.Equal("app@contoso.com", r.TokenIdentity);
            Assert.Equal(Now.AddHours(1).UtcDateTime, r.TokenExpiresUtc);
            Assert.Equal("TokenWrongAudience", r.TokenIssues);
            Assert.NotNull(r.TokenMs);
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Contains("Getting an OAuth token: the access token given.", sink.Verbose);
            Assert.Contains(sink.Verbose, v => v.StartsWith("Token claims: aud https://graph.microsoft.com; scopes/roles [SMTP.Send Mail.Read]; expires 2026-11-30 13:00:00Z; tenant tenant-1; identity app@contoso.com.", StringComparison.Ordinal));
            string warning = Assert.Single(sink.Warnings);
            Assert.StartsWith("Token check: the token's audience is 'https://graph.microsoft.com'", warning, StringComparison.Ordinal);
            Assert.EndsWith(". Exchange Online will refuse it with 535 5.7.3.", warning, StringComparison.Ordinal);
            Assert.DoesNotContain(token, r.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public async Task An_app_only_token_names_the_app_and_an_opaque_token_is_sent_unchecked()
        {
            using (var server = new FakeSmtpServer { Ehlo = new[] { "250-mail.example.test", "250 AUTH XOAUTH2" } })
            {
                string token = Jwt(new { aud = "https://outlook.office365.com", roles = new[] { "SMTP.SendAsApp" }, appid = "app-1", exp = Now.AddHours(1).ToUnixTimeSeconds() });
                (SmtpAuthTestResult r, RecordingSink sink) = await Run(server, OAuth(server, token));
                Assert.True(r.Succeeded, r.Message);
                Assert.Equal("app-1", r.TokenIdentity);
                Assert.Equal("SMTP.SendAsApp", r.TokenScopes);
                Assert.Null(r.TokenIssues);
                Assert.Empty(sink.Warnings);
            }

            using var opaque = new FakeSmtpServer { Ehlo = new[] { "250-mail.example.test", "250 AUTH XOAUTH2" } };
            (SmtpAuthTestResult o, RecordingSink opaqueSink) = await Run(opaque, OAuth(opaque, "opaque-token"));
            Assert.True(o.Succeeded, o.Message);
            Assert.Null(o.TokenAudience);
            Assert.Contains("The access token is not a readable JWT; its claims cannot be checked before AUTH.", opaqueSink.Verbose);
        }

        [Fact]
        public async Task A_token_is_not_sent_to_a_server_without_XOAUTH2()
        {
            using var server = new FakeSmtpServer();
            string token = Jwt(new { aud = "https://outlook.office365.com", roles = new[] { "SMTP.SendAsApp" } });
            (SmtpAuthTestResult r, _) = await Run(server, OAuth(server, token));
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Contains("does not advertise AUTH XOAUTH2 (it offers: LOGIN PLAIN), so the OAuth token was not sent.", r.Message, StringComparison.Ordinal);
        }

        // --- STARTTLS ---

        [Fact]
        public async Task STARTTLS_with_a_certificate_the_probe_is_told_to_skip_records_the_TLS_facts()
        {
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=fake.example.test");
            using var server = new FakeSmtpServer
            {
                Certificate = certificate,
                Ehlo = new[] { "250-mail.example.test", "250-STARTTLS", "250 8BITMIME" },
                EhloAfterTls = new[] { "250-mail.example.test", "250-AUTH PLAIN LOGIN", "250 8BITMIME" },
            };
            ProbeRequest request = Plain(server);
            request.TlsMode = SmtpTlsMode.StartTls;
            request.AllowUnencryptedAuthentication = false;
            request.SkipCertificateCheck = true;
            (SmtpAuthTestResult r, _) = await Run(server, request);
            Assert.True(r.Succeeded, r.Message);
            Assert.True(r.StartTlsOffered);
            Assert.Equal(string.Empty, r.AuthMechanismsBeforeTls);
            Assert.Equal("PLAIN LOGIN", r.AuthMechanismsAfterTls);
            Assert.Equal("LOGIN", r.Mechanism);
            Assert.Contains(r.TlsProtocol, new[] { "Tls12", "Tls13" });
            Assert.StartsWith("TLS_", r.CipherSuite, StringComparison.Ordinal);
            Assert.Equal("CN=fake.example.test", r.CertificateSubject);
            Assert.Equal("CN=fake.example.test", r.CertificateIssuer);
            Assert.Equal(certificate.NotAfter.ToUniversalTime(), r.CertificateNotAfter);
            Assert.False(r.CertificateValid);
            Assert.Contains("RemoteCertificate", r.CertificateErrors, StringComparison.Ordinal);
            Assert.True(r.CertificateCheckSkipped);
            Assert.NotNull(r.StartTlsMs);
            Assert.NotNull(r.TlsMs);
            Assert.Contains("C: STARTTLS", r.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public async Task An_untrusted_certificate_stops_the_probe_at_TLS_before_any_credential()
        {
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=fake.example.test");
            using var server = new FakeSmtpServer
            {
                Certificate = certificate,
                Ehlo = new[] { "250-mail.example.test", "250-STARTTLS", "250 AUTH LOGIN" },
            };
            ProbeRequest request = Plain(server);
            request.TlsMode = SmtpTlsMode.StartTls;
            request.AllowUnencryptedAuthentication = false;
            (SmtpAuthTestResult r, _) = await Run(server, request);
            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Tls, r.FailedPhase);
            Assert.False(r.CertificateValid);
            Assert.False(r.CertificateCheckSkipped);
            Assert.Equal("CN=fake.example.test", r.CertificateSubject);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.Ordinal));
        }

        private sealed class RecordingSink : IDiagnosticSink
        {
            private readonly ConcurrentQueue<string> _verbose = new ConcurrentQueue<string>();
            private readonly ConcurrentQueue<string> _warnings = new ConcurrentQueue<string>();
            private readonly ConcurrentQueue<string> _debug = new ConcurrentQueue<string>();
            private readonly ConcurrentQueue<(string, string, int)> _progress = new ConcurrentQueue<(string, string, int)>();

            public string[] Verbose => _verbose.ToArray();

            public string[] Warnings => _warnings.ToArray();

            public string[] Debug => _debug.ToArray();

            public (string Activity, string Status, int Percent)[] Progress => _progress.ToArray();

            void IDiagnosticSink.Verbose(string message) => _verbose.Enqueue(message);

            void IDiagnosticSink.Warning(string message) => _warnings.Enqueue(message);

            void IDiagnosticSink.Debug(string message) => _debug.Enqueue(message);

            void IDiagnosticSink.Progress(string activity, string status, int percentComplete) => _progress.Enqueue((activity, status, percentComplete));

            void IDiagnosticSink.Progress(string activity, string status, int percentComplete, int secondsRemaining) => _progress.Enqueue((activity, status, percentComplete));
        }
    }
}
