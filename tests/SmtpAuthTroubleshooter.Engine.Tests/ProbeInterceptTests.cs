using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;
using static SmtpAuthTroubleshooter.Engine.Tests.ProbeTestKit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// A probe of Exchange Online's host name that another server answers (a hosting provider's outbound SMTP
    /// redirection, PHPMailer/PHPMailer#313 and #783; a firewall's SMTP inspection): with -SkipCertificateCheck nothing
    /// proves who answered, so the probe must not hand that server the password when what it shows says it is not
    /// Exchange Online. A server that shows Microsoft's greeting and a certificate for the right name (a corporate
    /// TLS-inspection proxy) still gets the AUTH: the admin chose to skip the chain check for it.
    /// </summary>
    public class ProbeInterceptTests
    {
        // PHPMailer/PHPMailer#313: the hosting provider's Exim greeting where smtp.office365.com was asked for (its first line).
        private const string EximGreeting = "220 ns17.admintekcr.net ESMTP Exim 4.84 #2 Mon, 10 Nov 2014 11:08:29 -0600";
        private const string MicrosoftGreeting = "220 HK0PR01CA0063.outlook.office365.com Microsoft ESMTP MAIL Service ready at Sun, 15 Nov 2020 13:08:20 +0000";

        private static ProbeRequest ExchangeOnlineRequest(FakeSmtpServer server, bool skipCertificateCheck = true) => new ProbeRequest
        {
            Server = "smtp.office365.com",
            Port = server.Port,
            TlsMode = SmtpTlsMode.StartTls,
            UserName = "dave@contoso.com",
            Password = Secret("Pa55word!"),
            SkipCertificateCheck = skipCertificateCheck,
            Timeout = TimeSpan.FromSeconds(20),
        };

        private static FakeSmtpServer TlsServer(string banner, X509Certificate2 certificate) => new FakeSmtpServer
        {
            Banner = banner,
            Certificate = certificate,
            Ehlo = new[] { "250-answering.example.test", "250-STARTTLS", "250 8BITMIME" },
            EhloAfterTls = new[] { "250-answering.example.test", "250-AUTH LOGIN PLAIN", "250 8BITMIME" },
        };

        private static async Task<SmtpAuthTestResult> Run(FakeSmtpServer server, ProbeRequest request)
        {
            server.Start();
            // The name asked for resolves to the server on loopback, as a hosting provider's redirection makes it connect.
            var probe = new SmtpProbe(() => Now) { HostAddress = _ => IPAddress.Loopback };
            return await probe.RunAsync(request, new RecordingSink(), CancellationToken.None);
        }

        private static bool AuthSent(FakeSmtpServer server) => server.Received.Any(l => l.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));

        [Fact]
        public async Task A_hosting_providers_server_answering_for_Exchange_Online_gets_no_credentials_with_the_certificate_check_skipped()
        {
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=*.a2hosting.com");
            using FakeSmtpServer server = TlsServer(EximGreeting, certificate);
            SmtpAuthTestResult r = await Run(server, ExchangeOnlineRequest(server));

            Assert.False(AuthSent(server), string.Join(" | ", server.Received));
            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Null(r.Mechanism);
            Assert.True(r.ExchangeOnline);
            Assert.Contains("Another server answered for smtp.office365.com", r.Message, StringComparison.Ordinal);
            Assert.Contains("ESMTP Exim 4.84", r.Message, StringComparison.Ordinal);
            Assert.Contains("its certificate is for '*.a2hosting.com'", r.Message, StringComparison.Ordinal);
            Assert.Contains("the credentials were not sent", r.Message, StringComparison.Ordinal);
            Assert.Contains("-Server", r.Message, StringComparison.Ordinal);
            Assert.Contains("C: QUIT", r.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Microsofts_greeting_with_a_certificate_for_another_name_gets_no_credentials()
        {
            // A greeting can be copied; a certificate for another name on Exchange Online's host is not Exchange Online's.
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=relay.hoster.example");
            using FakeSmtpServer server = TlsServer(MicrosoftGreeting, certificate);
            SmtpAuthTestResult r = await Run(server, ExchangeOnlineRequest(server));

            Assert.False(AuthSent(server));
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Contains("its certificate is for 'relay.hoster.example', not for smtp.office365.com", r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("greeting", r.Message, StringComparison.Ordinal);
        }

        [Fact]
        public async Task A_TLS_inspection_proxy_that_signs_for_the_right_name_and_passes_Microsofts_greeting_still_gets_the_AUTH()
        {
            // Untrusted chain, right name, Microsoft's greeting: nothing says another server answered; the admin skipped
            // the chain check on purpose. No false block.
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=smtp.office365.com");
            using FakeSmtpServer server = TlsServer(MicrosoftGreeting, certificate);
            SmtpAuthTestResult r = await Run(server, ExchangeOnlineRequest(server));

            Assert.True(AuthSent(server));
            Assert.True(r.Succeeded, r.Message);
            Assert.Contains("RemoteCertificateChainErrors", r.CertificateErrors, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Another_servers_own_name_gets_the_AUTH_as_before()
        {
            // The way to test the interceptor itself: its own name (here its address). Not Exchange Online's host.
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=*.a2hosting.com");
            using FakeSmtpServer server = TlsServer(EximGreeting, certificate);
            ProbeRequest request = ExchangeOnlineRequest(server);
            request.Server = "127.0.0.1";
            SmtpAuthTestResult r = await Run(server, request);

            Assert.True(AuthSent(server));
            Assert.True(r.Succeeded, r.Message);
            Assert.False(r.ExchangeOnline);
        }

        [Fact]
        public async Task Unencrypted_authentication_allowed_on_purpose_still_withholds_the_password_from_a_server_that_is_not_Exchange_Online()
        {
            using var server = new FakeSmtpServer { Banner = EximGreeting };
            ProbeRequest request = ExchangeOnlineRequest(server, skipCertificateCheck: false);
            request.TlsMode = SmtpTlsMode.None;
            request.AllowUnencryptedAuthentication = true;
            SmtpAuthTestResult r = await Run(server, request);

            Assert.False(AuthSent(server));
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Contains("the session was not encrypted", r.Message, StringComparison.Ordinal);
        }

        [Fact]
        public async Task With_the_certificate_checked_the_probe_stops_at_TLS_and_the_resolver_names_the_interception()
        {
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=relay.hoster.example");
            using FakeSmtpServer server = TlsServer(MicrosoftGreeting, certificate);
            SmtpAuthTestResult r = await Run(server, ExchangeOnlineRequest(server, skipCertificateCheck: false));

            Assert.False(AuthSent(server));
            Assert.Equal(SmtpPhase.Tls, r.FailedPhase);
            Assert.Contains("RemoteCertificateNameMismatch", r.CertificateErrors, StringComparison.Ordinal);

            IReadOnlyList<SmtpAuthFinding> findings = Resolve(r, mismatched: r.CertificateSubject);
            Assert.Equal("SubmissionIntercepted", findings[0].CauseId);
            Assert.Contains("the certificate presented is for 'CN=relay.hoster.example'", findings[0].Evidence, StringComparison.Ordinal);

            // Microsoft's greeting and no name mismatch: not read as intercepted.
            Assert.DoesNotContain(Resolve(r, mismatched: null), f => f.CauseId == "SubmissionIntercepted");
        }

        [Fact]
        public async Task The_withheld_probe_reads_as_an_intercepted_submission()
        {
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=*.a2hosting.com");
            using FakeSmtpServer server = TlsServer(EximGreeting, certificate);
            SmtpAuthTestResult r = await Run(server, ExchangeOnlineRequest(server));

            IReadOnlyList<SmtpAuthFinding> findings = Resolve(r, mismatched: r.CertificateSubject, greeting: EximGreeting.Substring(4));
            Assert.Equal("SubmissionIntercepted", findings[0].CauseId);
            Assert.NotEqual(Verdict.Confirmed, findings[0].Verdict);
            // Nothing reads the withheld AUTH as a refused password or a tenant setting.
            Assert.DoesNotContain(findings, f => f.Verdict == Verdict.Likely && f.CauseId != "SubmissionIntercepted");
        }

        // What Resolve-SmtpAuthError builds from a probe result (ErrorInput in the cmdlet layer).
        private static IReadOnlyList<SmtpAuthFinding> Resolve(SmtpAuthTestResult r, string? mismatched, string? greeting = MicrosoftGreetingText)
        {
            var facts = new ProbeFacts
            {
                TlsMode = r.TlsMode, FailedPhase = r.FailedPhase, Port = r.Port, ExchangeOnline = r.ExchangeOnline, TlsProtocol = r.TlsProtocol,
                CertificatePresented = r.CertificateSubject is not null, StartTlsOffered = r.StartTlsOffered, AuthMechanismsBeforeTls = r.AuthMechanismsBeforeTls,
                AuthMechanismsAfterTls = r.AuthMechanismsAfterTls, Mechanism = r.Mechanism, Greeting = greeting, MismatchedCertificate = mismatched,
            };
            var evidence = new ErrorEvidence(r.Message ?? string.Empty)
            {
                AuthMethod = r.AuthMethod, FailedPhase = r.FailedPhase, FromProbe = true, Server = r.Server, Port = r.Port,
                ExchangeOnlineEndpoint = r.ExchangeOnline, Probe = facts,
            };
            return new SmtpAuthErrorResolver(clock: () => Now).Resolve(evidence);
        }

        private const string MicrosoftGreetingText = "HK0PR01CA0063.outlook.office365.com Microsoft ESMTP MAIL Service ready at Sun, 15 Nov 2020 13:08:20 +0000";
    }
}
