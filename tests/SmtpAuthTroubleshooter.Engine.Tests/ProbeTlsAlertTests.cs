using System;
using System.IO;
using System.Linq;
using TlsAuthenticationException = System.Security.Authentication.AuthenticationException;
using System.Threading;
using System.Threading.Tasks;
using MailKit.Security;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;
using static SmtpAuthTroubleshooter.Engine.Tests.ProbeTestKit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// A server that ends the TLS handshake with a TLS alert (no TLS version or cipher in common, or a server whose
    /// certificate or key is broken): the result quotes the TLS library's own reason, says the server answered with an
    /// alert (it did speak TLS), and never uses .NET's wrapper words "Authentication failed, see inner exception", which
    /// read as a refused login although no credentials were sent.
    /// </summary>
    public class ProbeTlsAlertTests
    {
        private static async Task<SmtpAuthTestResult> Run(ScriptedSmtpServer server, SmtpTlsMode mode)
        {
            var request = new ProbeRequest
            {
                Server = "127.0.0.1",
                Port = server.Port,
                TlsMode = mode,
                UserName = "dave@example.test",
                Password = Secret("Pa55word!"),
                SkipCertificateCheck = true,
                Timeout = TimeSpan.FromSeconds(20),
            };
            return await new SmtpProbe(() => Now).RunAsync(request, new KeepingSink(), CancellationToken.None);
        }

        [Theory]
        [InlineData(SmtpTlsMode.Implicit)]
        [InlineData(SmtpTlsMode.StartTls)]
        public async Task A_protocol_version_alert_says_the_server_speaks_only_older_TLS(SmtpTlsMode mode)
        {
            // Alert 70, protocol_version: what Postfix with smtpd_tls_protocols = <=TLSv1.1 answers a TLS 1.2/1.3 hello
            // (tests/Pester/Test-SmtpAuth.Tls.Tests.ps1). No certificate came, so it is never a certificate failure.
            using var server = new ScriptedSmtpServer { TlsAlert = 70, TlsAlertOnConnect = mode == SmtpTlsMode.Implicit };
            server.Replies["EHLO"] = "250-mail.example.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
            server.Start();
            SmtpAuthTestResult r = await Run(server, mode);

            Assert.Equal(SmtpPhase.Tls, r.FailedPhase);
            Assert.Null(r.CertificateSubject);
            Assert.Contains(
                " The server refused the TLS versions the probe offers (TLS 1.2 and 1.3) with a TLS alert: it speaks only older TLS (1.0 or 1.1), which Exchange Online and current clients no longer accept; the server needs updating or configuring for TLS 1.2 or later. The credentials were not sent.",
                r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));
        }

        [Theory]
        [InlineData(SmtpTlsMode.Implicit, 40)] // handshake_failure: no cipher or version in common
        [InlineData(SmtpTlsMode.StartTls, 40)]
        public async Task A_handshake_the_server_ends_with_an_alert_says_so_and_quotes_the_TLS_reason(SmtpTlsMode mode, byte alert)
        {
            using var server = new ScriptedSmtpServer { TlsAlert = alert, TlsAlertOnConnect = mode == SmtpTlsMode.Implicit };
            server.Replies["EHLO"] = "250-mail.example.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
            server.Start();
            SmtpAuthTestResult r = await Run(server, mode);

            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Tls, r.FailedPhase);
            Assert.StartsWith("The TLS handshake failed before the server presented a certificate: ", r.Message, StringComparison.Ordinal);
            Assert.Contains("alert", r.Message!.Substring(0, r.Message.IndexOf(" The server answered", StringComparison.Ordinal)), StringComparison.OrdinalIgnoreCase);
            Assert.Contains(
                " The server answered the probe's TLS hello with a TLS alert: no TLS version or cipher in common (the probe offers TLS 1.2 and later only), or a fault in the server's TLS setup (its certificate or key). The credentials were not sent.",
                r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Authentication failed", r.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("see inner exception", r.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("did not answer with TLS", r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));
        }

        [Theory]
        [InlineData(SmtpTlsMode.StartTls)]
        [InlineData(SmtpTlsMode.Implicit)]
        public async Task A_handshake_the_server_ends_with_internal_error_is_the_servers_TLS_fault(SmtpTlsMode mode)
        {
            // Alert 80, internal_error (RFC 8446, section 6.2): what OpenSMTPD 6.8 on Debian 12 sends to every TLS hello
            // (tests/Peers/opensmtpd; its signing process has no private key under OpenSSL 3). Not a version or cipher the
            // probe lacks: the message says the server's TLS setup failed, which Resolve-SmtpAuthError reads as
            // ServerTlsUnavailable instead of TlsVersionTooOld.
            using var server = new ScriptedSmtpServer { TlsAlert = 80, TlsAlertOnConnect = mode == SmtpTlsMode.Implicit };
            server.Replies["EHLO"] = "250-mail.example.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
            server.Start();
            SmtpAuthTestResult r = await Run(server, mode);

            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Tls, r.FailedPhase);
            Assert.Contains(
                " The server ended the TLS handshake with the TLS alert 'internal error' (RFC 8446, section 6.2): a fault in the server's own TLS setup (its certificate, its key or its TLS library), not a TLS version or cipher the probe lacks; the server's log names it. The credentials were not sent.",
                r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("no TLS version or cipher in common", r.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Received, l => l.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));
        }

        [Fact]
        public void The_innermost_reason_of_the_exception_chain_is_quoted_without_the_wrapper_texts()
        {
            // The chain .NET gives on Linux for a server that allows only TLS 1.0 (Postfix smtpd_tls_protocols=TLSv1).
            var ex = new SslHandshakeException("An error occurred while attempting to establish an SSL or TLS connection.",
                new TlsAuthenticationException("Authentication failed, see inner exception.",
                    new IOException("SSL Handshake failed with OpenSSL error - SSL_ERROR_SSL.",
                        new InvalidOperationException("error:0A000410:SSL routines::sslv3 alert handshake failure"))));
            var log = new TranscriptLogger(System.Diagnostics.Stopwatch.StartNew());
            log.Enter(SmtpPhase.Tls);
            SmtpProbe.Failure f = SmtpProbe.Failure.From(ex, log, timedOut: false, certificateSeen: false, new ProbeRequest { TlsMode = SmtpTlsMode.Implicit }, "mail.example.test")!;
            Assert.Equal(SmtpPhase.Tls, f.Phase);
            Assert.Equal(
                "The TLS handshake failed before the server presented a certificate: error:0A000410:SSL routines::sslv3 alert handshake failure. " +
                "The server answered the probe's TLS hello with a TLS alert: no TLS version or cipher in common (the probe offers TLS 1.2 and later only), or a fault in the server's TLS setup (its certificate or key). The credentials were not sent.",
                f.Message);

            // .NET's own alert text, and SChannel's "no common algorithm".
            var dotnet = new SslHandshakeException("x", new TlsAuthenticationException("Authentication failed because the remote party sent a TLS alert: 'ProtocolVersion'."));
            SmtpProbe.Failure g = SmtpProbe.Failure.From(dotnet, log, false, false, new ProbeRequest(), "mail.example.test")!;
            Assert.StartsWith("The TLS handshake failed before the server presented a certificate: The TLS handshake failed because the remote party sent a TLS alert: 'ProtocolVersion'. The server refused the TLS versions the probe offers (TLS 1.2 and 1.3) with a TLS alert", g.Message, StringComparison.Ordinal);

            var schannel = new SslHandshakeException("x", new TlsAuthenticationException("A call to SSPI failed, see inner exception.",
                new System.ComponentModel.Win32Exception(-2146893007, "The client and server cannot communicate, because they do not possess a common algorithm.")));
            SmtpProbe.Failure h = SmtpProbe.Failure.From(schannel, log, false, false, new ProbeRequest(), "mail.example.test")!;
            Assert.Equal(
                "The TLS handshake failed before the server presented a certificate: The client and server cannot communicate, because they do not possess a common algorithm. " +
                "The server and the probe have no TLS version or cipher in common (the probe offers TLS 1.2 and later only), or the server's TLS setup is faulty (its certificate or key). The credentials were not sent.",
                h.Message);
        }
    }
}
