using System;
using System.Collections.Generic;
using System.Linq;
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
    /// A server that requires a client certificate (mutual TLS), as real ones do it (tests/Pester/Test-SmtpAuth.Tls.Tests.ps1
    /// runs both against Postfix and Python's ssl): Postfix with smtpd_tls_req_ccert completes the handshake and answers
    /// the EHLO inside TLS with "421 4.7.1 ... Error: No client certificate presented", then hangs up; an OpenSSL server
    /// with CERT_REQUIRED fails the handshake and hangs up. The probe used to call the first "The SMTP server closed the
    /// connection during Tls." (read as a broken server: ServerProtocolViolation) and the second "Connection reset by
    /// peer (ConnectionReset)".
    /// </summary>
    public class ProbeClientCertificateTests
    {
        private static async Task<SmtpAuthTestResult> Run(ScriptedSmtpServer server)
        {
            server.Replies["EHLO"] = "250-mail.example.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
            server.Start();
            var request = new ProbeRequest
            {
                Server = "127.0.0.1",
                Port = server.Port,
                TlsMode = SmtpTlsMode.StartTls,
                UserName = "dave@example.test",
                Password = Secret("Pa55word!"),
                SkipCertificateCheck = true,
                Timeout = TimeSpan.FromSeconds(20),
            };
            return await new SmtpProbe(() => Now).RunAsync(request, new KeepingSink(), CancellationToken.None);
        }

        private static IReadOnlyList<SmtpAuthFinding> Resolve(SmtpAuthTestResult r) =>
            new SmtpAuthErrorResolver(clock: () => Now).Resolve(new ErrorEvidence(string.IsNullOrEmpty(r.ReplyText) ? r.Message! : r.ReplyText + "\n" + r.Message)
            {
                AuthMethod = SmtpAuthMethod.Basic,
                FailedPhase = r.FailedPhase,
                FromProbe = true,
                Server = "127.0.0.1",
                Port = r.Port,
                Probe = new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, FailedPhase = r.FailedPhase, CertificatePresented = true, StartTlsOffered = true, Server = "127.0.0.1" },
            });

        [Fact]
        public async Task Postfixs_421_inside_TLS_is_quoted_and_read_as_a_client_certificate_requirement()
        {
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=mail.example.test");
            using var server = new ScriptedSmtpServer { StartTlsCertificate = certificate, EhloInTlsThenClose = "421 4.7.1 peer.example.test Error: No client certificate presented\r\n" };
            SmtpAuthTestResult r = await Run(server);

            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Tls, r.FailedPhase);
            Assert.Equal(421, r.ReplyCode);
            Assert.Equal("The server answered '421 4.7.1 peer.example.test Error: No client certificate presented' and then closed the connection.", r.Message);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));

            IReadOnlyList<SmtpAuthFinding> findings = Resolve(r);
            Assert.Equal("ClientCertificateRequired", findings[0].CauseId);
            Assert.Equal(Verdict.Likely, findings[0].Verdict);
            Assert.DoesNotContain(findings, f => f.CauseId == "ServerProtocolViolation" && f.Verdict != Verdict.RuledOut);
        }

        [Fact]
        public async Task A_handshake_the_server_fails_for_want_of_a_client_certificate_says_what_that_likely_means()
        {
            using X509Certificate2 certificate = FakeSmtpServer.SelfSigned("CN=mail.example.test");
            using var server = new ScriptedSmtpServer { StartTlsCertificate = certificate, RequireClientCertificate = true };
            SmtpAuthTestResult r = await Run(server);

            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Tls, r.FailedPhase);
            Assert.Matches("^The server (requires a client certificate: it ended the TLS handshake with the alert 'certificate required'|closed the connection \\([A-Za-z ]+\\) after the probe accepted its certificate in the TLS handshake, and before the server said anything inside TLS\\. A server that requires a client certificate)", r.Message);
            Assert.EndsWith("The credentials were not sent.", r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));
            Assert.Contains(Resolve(r).Where(f => f.Verdict != Verdict.RuledOut), f => f.CauseId == "ClientCertificateRequired");
        }

        [Theory]
        [InlineData("421 4.7.1 mx.contoso.com Error: No client certificate presented")]
        [InlineData("ssl.SSLError: [SSL: PEER_DID_NOT_RETURN_A_CERTIFICATE] peer did not return a certificate (_ssl.c:1006)")]
        [InlineData("error:0A00045C:SSL routines::tlsv13 alert certificate required:../ssl/record/rec_layer_s3.c:1605:SSL alert number 116")]
        public void A_server_that_wants_a_client_certificate_reads_as_that(string text)
        {
            IReadOnlyList<SmtpAuthFinding> findings = new SmtpAuthErrorResolver(clock: () => Now).Resolve(new ErrorEvidence(text));
            Assert.Equal("ClientCertificateRequired", findings[0].CauseId);
            Assert.Equal(Verdict.Likely, findings[0].Verdict);
        }
    }
}
