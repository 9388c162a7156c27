using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
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
    /// A certificate that does not validate, as real servers present them (tests/Pester/Test-SmtpAuth.Tls.Tests.ps1 runs
    /// the same cases against Postfix): the probe's message says what was wrong in words an admin can act on (the names
    /// the certificate is for and the name asked for, the date it expired or starts, the issuer nobody here trusts), not
    /// only MailKit's "certificate has expired"; the result carries the names, dates and chain errors; and the resolver
    /// reads an untrusted issuer on Exchange Online's host as TLS inspection.
    /// </summary>
    public class ProbeCertificateTests
    {
        private static X509Certificate2 Certificate(string subject, string[] dnsNames, DateTimeOffset notBefore, DateTimeOffset notAfter)
        {
            using var rsa = RSA.Create(2048);
            var request = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, false));
            if (dnsNames.Length > 0)
            {
                var san = new SubjectAlternativeNameBuilder();
                foreach (string name in dnsNames)
                {
                    san.AddDnsName(name);
                }

                san.AddIpAddress(IPAddress.Loopback);
                request.CertificateExtensions.Add(san.Build());
            }

            using X509Certificate2 created = request.CreateSelfSigned(notBefore, notAfter);
            return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
        }

        private static async Task<(SmtpAuthTestResult Result, FakeSmtpServer Server)> Probe(X509Certificate2 certificate, string server)
        {
            var fake = new FakeSmtpServer
            {
                Certificate = certificate,
                Ehlo = new[] { "250-relay.example.test", "250-STARTTLS", "250 8BITMIME" },
                EhloAfterTls = new[] { "250-relay.example.test", "250-AUTH LOGIN PLAIN", "250 8BITMIME" },
            };
            fake.Start();
            var probe = new SmtpProbe(() => Now) { HostAddress = _ => IPAddress.Loopback };
            SmtpAuthTestResult result = await probe.RunAsync(new ProbeRequest
            {
                Server = server,
                Port = fake.Port,
                TlsMode = SmtpTlsMode.StartTls,
                UserName = "dave@contoso.com",
                Password = Secret("Pa55word!"),
                Timeout = TimeSpan.FromSeconds(20),
            }, new RecordingSink(), CancellationToken.None);
            return (result, fake);
        }

        private static void NothingSent(SmtpAuthTestResult r, FakeSmtpServer server)
        {
            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Tls, r.FailedPhase);
            Assert.False(server.Received.Any(l => l.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase)), string.Join(" | ", server.Received));
            Assert.DoesNotContain("Pa55word!", r.Message + r.Transcript, StringComparison.Ordinal);
            Assert.EndsWith("The credentials were not sent.", r.Message, StringComparison.Ordinal);
            Assert.False(r.CertificateValid);
        }

        [Fact]
        public async Task A_certificate_for_another_name_says_which_name_it_is_for_and_which_was_asked_for()
        {
            using X509Certificate2 certificate = Certificate("CN=mail.example.test", new[] { "mail.example.test" }, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            (SmtpAuthTestResult r, FakeSmtpServer server) = await Probe(certificate, "relay.contoso.test");
            using (server)
            {
                NothingSent(r, server);
                Assert.Contains("Name mismatch: the certificate is for mail.example.test, 127.0.0.1, and the probe connected to relay.contoso.test.", r.Message, StringComparison.Ordinal);
                Assert.Equal("mail.example.test, 127.0.0.1", r.CertificateNames);
                Assert.Contains("RemoteCertificateNameMismatch", r.CertificateErrors, StringComparison.Ordinal);
            }
        }

        [Fact]
        public async Task An_expired_certificate_says_the_date_it_expired()
        {
            DateTimeOffset end = DateTimeOffset.UtcNow.AddDays(-3);
            using X509Certificate2 certificate = Certificate("CN=relay.contoso.test", new[] { "relay.contoso.test" }, end.AddDays(-90), end);
            (SmtpAuthTestResult r, FakeSmtpServer server) = await Probe(certificate, "relay.contoso.test");
            using (server)
            {
                NothingSent(r, server);
                Assert.Contains("The certificate expired on " + end.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) + " UTC.", r.Message, StringComparison.Ordinal);
                Assert.Contains("NotTimeValid", r.CertificateChainErrors, StringComparison.Ordinal);
                Assert.Equal(end.UtcDateTime.AddDays(-90).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), r.CertificateNotBefore!.Value.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        [Fact]
        public async Task A_certificate_not_valid_yet_says_from_when_and_points_at_the_clock()
        {
            DateTimeOffset start = DateTimeOffset.UtcNow.AddDays(5);
            using X509Certificate2 certificate = Certificate("CN=relay.contoso.test", new[] { "relay.contoso.test" }, start, start.AddDays(90));
            (SmtpAuthTestResult r, FakeSmtpServer server) = await Probe(certificate, "relay.contoso.test");
            using (server)
            {
                NothingSent(r, server);
                Assert.Contains("The certificate is not valid until " + start.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) + " UTC: this computer's clock is behind", r.Message, StringComparison.Ordinal);
            }
        }

        [Fact]
        public async Task An_untrusted_issuer_on_Exchange_Onlines_host_is_named()
        {
            // What a TLS-inspection proxy presents for smtp.office365.com: the right name, its own CA (here self-signed:
            // the chain ends at a root this computer does not trust, as with an inspection CA that was never deployed).
            using X509Certificate2 certificate = Certificate("CN=smtp.office365.com, O=Zscaler Inc.", new[] { "smtp.office365.com" }, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            (SmtpAuthTestResult r, FakeSmtpServer server) = await Probe(certificate, "smtp.office365.com");
            using (server)
            {
                NothingSent(r, server);
                Assert.Contains("The certificate is self-signed ('CN=smtp.office365.com, O=Zscaler Inc.'), and this computer does not trust it.", r.Message, StringComparison.Ordinal);
                Assert.Contains("UntrustedRoot", r.CertificateChainErrors, StringComparison.Ordinal);
                Assert.DoesNotContain("Name mismatch", r.Message, StringComparison.Ordinal);
            }
        }

        [Fact]
        public void The_resolver_reads_an_untrusted_issuer_on_Exchange_Onlines_host_as_TLS_inspection()
        {
            const string Issuer = "CN=Zscaler Intermediate Root CA (zscaler.net), OU=Zscaler Inc., O=Zscaler Inc.";
            var facts = new ProbeFacts
            {
                TlsMode = SmtpTlsMode.StartTls,
                FailedPhase = SmtpPhase.Tls,
                Port = 587,
                ExchangeOnline = true,
                CertificatePresented = true,
                Server = "smtp.office365.com",
                CertificateNames = "smtp.office365.com",
                CertificateIssuer = Issuer,
                CertificateUntrusted = true,
            };
            var evidence = new ErrorEvidence("The server's certificate did not validate: It was issued by '" + Issuer + "', which does not chain to a root certificate this computer trusts (a private CA, or a TLS-inspection proxy's). The credentials were not sent.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                FailedPhase = SmtpPhase.Tls,
                FromProbe = true,
                Server = "smtp.office365.com",
                Port = 587,
                ExchangeOnlineEndpoint = true,
                Probe = facts,
            };
            IReadOnlyList<SmtpAuthFinding> findings = new SmtpAuthErrorResolver(clock: () => Now).Resolve(evidence);
            SmtpAuthFinding top = findings[0];
            Assert.Equal("CertificateValidationFailed", top.CauseId);
            Assert.Equal(Verdict.Likely, top.Verdict);
            Assert.Contains(Issuer, top.Evidence, StringComparison.Ordinal);
            Assert.Contains("TLS inspection", top.Evidence, StringComparison.Ordinal);
            Assert.Contains("Exempt smtp.office365.com (TCP 587) from TLS inspection, or install the inspection CA as a trusted root on this computer", top.Evidence, StringComparison.Ordinal);
            Assert.Equal("https://learn.microsoft.com/microsoft-365/enterprise/network-intermediation", top.DocumentationUrl);
        }

        [Theory]
        // MailKit 4's own text for a name mismatch, as applications print it: the host names in brackets.
        [InlineData("MailKit.Security.SslHandshakeException: An error occurred while attempting to establish an SSL or TLS connection. The host name (smtp.office365.com) did not match the name given in the server's SSL certificate (*.zscaler.net).")]
        [InlineData("The server's certificate did not validate: Name mismatch: the certificate is for mail.example.test, and the probe connected to localhost. The credentials were not sent.")]
        public void A_name_mismatch_text_reads_as_a_certificate_failure(string text)
        {
            IReadOnlyList<SmtpAuthFinding> findings = new SmtpAuthErrorResolver(clock: () => Now).Resolve(new ErrorEvidence(text));
            Assert.Equal("CertificateValidationFailed", findings[0].CauseId);
            Assert.Equal("CERT_INVALID", findings[0].CatalogEntry);
            Assert.Equal(Verdict.Likely, findings[0].Verdict);
        }

        [Fact]
        public void Subject_alternative_names_are_read_from_the_extension()
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("mail.contoso.com");
            san.AddEmailAddress("postmaster@contoso.com");
            san.AddDnsName("smtp.contoso.com");
            san.AddIpAddress(IPAddress.Parse("192.0.2.7"));
            san.AddIpAddress(IPAddress.Parse("2001:db8::25"));
            Assert.Equal(new[] { "mail.contoso.com", "smtp.contoso.com", "192.0.2.7", "2001:db8::25" }, CertificateNames.Parse(san.Build().RawData).ToArray());
            Assert.Empty(CertificateNames.Parse(new byte[] { 0x30, 0x05, 0x82 }));
            Assert.Empty(CertificateNames.Parse(Array.Empty<byte>()));
        }
    }
}
