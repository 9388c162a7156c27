using System;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): what the probe reports for each way a conversation can stop: the phase it is
    /// charged to and the message an admin reads. Exceptions as MailKit, the socket layer and Azure.Identity raise them.
    /// </summary>
    public class ProbeFailureTests
    {
        private static readonly ProbeRequest Request = new ProbeRequest { Server = "mail.example.test", Port = 587, Timeout = TimeSpan.FromSeconds(7.5) };

        private static TranscriptLogger In(SmtpPhase phase)
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            log.Enter(phase);
            return log;
        }

        private static SmtpProbe.Failure From(Exception ex, SmtpPhase phase, bool timedOut = false, bool certificateSeen = false, ProbeRequest? request = null) =>
            SmtpProbe.Failure.From(ex, In(phase), timedOut, certificateSeen, request ?? Request, "mail.example.test")!;

        [Theory]
        [InlineData(SmtpErrorCode.SenderNotAccepted, SmtpPhase.MailFrom)]
        [InlineData(SmtpErrorCode.RecipientNotAccepted, SmtpPhase.RcptTo)]
        [InlineData(SmtpErrorCode.MessageNotAccepted, SmtpPhase.Data)]
        [InlineData(SmtpErrorCode.UnexpectedStatusCode, SmtpPhase.Auth)]
        public void A_refused_command_is_charged_to_its_step(SmtpErrorCode code, SmtpPhase expected)
        {
            var ex = new SmtpCommandException(code, SmtpStatusCode.MailboxUnavailable, "5.7.60 SMTP; Client does not have\r\npermissions to send as this sender");
            SmtpProbe.Failure f = From(ex, SmtpPhase.Auth);
            Assert.Equal(expected, f.Phase);
            Assert.Equal("5.7.60 SMTP; Client does not have  permissions to send as this sender", f.Message);
        }

        [Fact]
        public void A_refusal_that_arrives_after_the_time_limit_is_still_the_refusal()
        {
            SmtpProbe.Failure f = From(new AuthenticationException("535: 5.7.139 Authentication unsuccessful"), SmtpPhase.Auth, timedOut: true);
            Assert.Equal(SmtpPhase.Auth, f.Phase);
            Assert.Equal("535: 5.7.139 Authentication unsuccessful", f.Message);

            SmtpProbe.Failure command = From(new SmtpCommandException(SmtpErrorCode.SenderNotAccepted, SmtpStatusCode.MailboxUnavailable, "550 no"), SmtpPhase.MailFrom, timedOut: true);
            Assert.Equal("550 no", command.Message);

            // Anything else after the limit is the time-out.
            SmtpProbe.Failure io = From(new IOException("The socket was closed"), SmtpPhase.Auth, timedOut: true);
            Assert.Equal("The operation timed out after 7.5 s during Auth.", io.Message);
        }

        [Fact]
        public void A_silent_service_on_port_465_is_told_to_try_implicit_TLS()
        {
            var on465 = new ProbeRequest { Port = 465, Timeout = TimeSpan.FromSeconds(3) };
            SmtpProbe.Failure f = From(new OperationCanceledException(), SmtpPhase.Banner, timedOut: true, request: on465);
            Assert.Equal(SmtpPhase.Banner, f.Phase);
            Assert.StartsWith("Connected to mail.example.test:465 (the port answered), but the service there sent no SMTP greeting in 3 s", f.Message, StringComparison.Ordinal);
            Assert.Contains(" Port 465 normally expects TLS from the first byte: try -TlsMode Implicit.", f.Message, StringComparison.Ordinal);

            var implicitTls = new ProbeRequest { Port = 465, TlsMode = SmtpTlsMode.Implicit, Timeout = TimeSpan.FromSeconds(3) };
            SmtpProbe.Failure g = From(new OperationCanceledException(), SmtpPhase.Banner, timedOut: true, request: implicitTls);
            Assert.DoesNotContain("Port 465 normally", g.Message, StringComparison.Ordinal);
            Assert.Contains("A port that expects TLS from the first byte (465, say)", g.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_time_out_after_a_partial_reply_quotes_what_came()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            byte[] partial = Encoding.ASCII.GetBytes("220-mail.example.test ESMTP\r\n220-more to come\r\n220 and th");
            log.LogServer(partial, 0, partial.Length);
            SmtpProbe.Failure f = SmtpProbe.Failure.From(new OperationCanceledException(), log, timedOut: true, certificateSeen: false, Request, "mail.example.test")!;
            Assert.Equal(SmtpPhase.Banner, f.Phase);
            Assert.Equal("The operation timed out after 7.5 s during Banner. The server's reply was incomplete: 2 continuation line(s) (the last '220-more to come') and no final line, then part of a line: '220 and th'.", f.Message);
        }

        [Fact]
        public void A_handshake_that_times_out_before_TLS_is_up_is_a_TLS_time_out()
        {
            Assert.Equal(SmtpPhase.Tls, From(new SslHandshakeException("handshake"), SmtpPhase.StartTls, timedOut: true).Phase);
            Assert.Equal(SmtpPhase.Tls, From(new SslHandshakeException("handshake"), SmtpPhase.Banner, timedOut: true).Phase);
            Assert.Equal(SmtpPhase.Tls, From(new SslHandshakeException("handshake"), SmtpPhase.Connect, timedOut: true).Phase);
            Assert.Equal(SmtpPhase.Auth, From(new SslHandshakeException("handshake"), SmtpPhase.Auth, timedOut: true).Phase);
            Assert.Equal(SmtpPhase.Ehlo, From(new OperationCanceledException(), SmtpPhase.Ehlo, timedOut: true).Phase);
        }

        [Fact]
        public void The_users_own_cancel_is_not_a_failure()
        {
            Assert.Null(SmtpProbe.Failure.From(new OperationCanceledException(), In(SmtpPhase.Auth), timedOut: false, certificateSeen: false, Request, "x"));
        }

        [Fact]
        public void A_handshake_that_fails_before_any_certificate_says_the_server_did_not_speak_TLS()
        {
            var ex = new SslHandshakeException("An error occurred while attempting to establish an SSL or TLS connection. The server's certificate could not be validated.", new IOException("Received an unexpected EOF or 0 bytes from the transport stream."));
            SmtpProbe.Failure startTls = From(ex, SmtpPhase.StartTls);
            Assert.Equal(SmtpPhase.Tls, startTls.Phase);
            Assert.Equal("The TLS handshake failed before the server presented a certificate: Received an unexpected EOF or 0 bytes from the transport stream. The server accepted STARTTLS but did not answer with TLS, or has no TLS version in common. The credentials were not sent.", startTls.Message);

            SmtpProbe.Failure implicitTls = From(new SslHandshakeException("no TLS"), SmtpPhase.Banner, request: new ProbeRequest { TlsMode = SmtpTlsMode.Implicit });
            Assert.Equal("The TLS handshake failed before the server presented a certificate: no TLS. The server did not answer with TLS on connect (the port may expect STARTTLS or plain text), or has no TLS version in common. The credentials were not sent.", implicitTls.Message);
        }

        [Theory]
        [InlineData(SmtpPhase.StartTls, SmtpPhase.Tls)]
        [InlineData(SmtpPhase.Banner, SmtpPhase.Tls)]
        [InlineData(SmtpPhase.Connect, SmtpPhase.Tls)]
        [InlineData(SmtpPhase.Ehlo, SmtpPhase.Tls)]
        [InlineData(SmtpPhase.Tls, SmtpPhase.Tls)]
        [InlineData(SmtpPhase.Auth, SmtpPhase.Auth)]
        public void A_certificate_the_probe_refused_is_charged_to_TLS(SmtpPhase during, SmtpPhase expected)
        {
            SmtpProbe.Failure f = From(new SslHandshakeException("The server's certificate could not be validated.\nUntrustedRoot"), during, certificateSeen: true);
            Assert.Equal(expected, f.Phase);
            Assert.Equal("The server's certificate could not be validated. UntrustedRoot", f.Message);
        }

        [Fact]
        public void MailKit_exceptions_are_charged_to_their_step()
        {
            SmtpProbe.Failure notAuthed = From(new ServiceNotAuthenticatedException("5.7.57 Client not authenticated"), SmtpPhase.Auth);
            Assert.Equal(SmtpPhase.MailFrom, notAuthed.Phase);
            Assert.Equal("5.7.57 Client not authenticated", notAuthed.Message);

            SmtpProbe.Failure auth = From(new AuthenticationException("535 bad"), SmtpPhase.Ehlo);
            Assert.Equal(SmtpPhase.Auth, auth.Phase);

            SmtpProbe.Failure startTls = From(new NotSupportedException("The SMTP server does not support the STARTTLS extension."), SmtpPhase.Ehlo);
            Assert.Equal(SmtpPhase.StartTls, startTls.Phase);
            Assert.Equal("The SMTP server does not support the STARTTLS extension. The credentials were not sent.", startTls.Message);

            SmtpProbe.Failure other = From(new NotSupportedException("No compatible authentication mechanisms found."), SmtpPhase.Ehlo);
            Assert.Equal(SmtpPhase.Auth, other.Phase);
            Assert.Equal("No compatible authentication mechanisms found.", other.Message);
        }

        [Fact]
        public void A_server_that_hangs_up_is_described_by_the_reply_it_cut_short()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            log.Enter(SmtpPhase.Ehlo);
            byte[] partial = Encoding.ASCII.GetBytes("250-mail.example.test\r\n");
            log.LogServer(partial, 0, partial.Length);
            var ex = new SmtpProtocolException("The SMTP server has unexpectedly disconnected: 220 mail.example.test ESMTP");
            SmtpProbe.Failure f = SmtpProbe.Failure.From(ex, log, false, false, Request, "mail.example.test")!;
            Assert.Equal(SmtpPhase.Ehlo, f.Phase);
            Assert.Equal("The SMTP server closed the connection during Ehlo. The server's reply was incomplete: 1 continuation line(s) (the last '250-mail.example.test') and no final line.", f.Message);

            SmtpProbe.Failure clean = From(ex, SmtpPhase.Auth);
            Assert.Equal("The SMTP server closed the connection during Auth.", clean.Message);
        }

        [Fact]
        public void A_line_that_is_not_an_SMTP_reply_is_quoted()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            byte[] line = Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\n");
            log.LogServer(line, 0, line.Length);
            SmtpProbe.Failure f = SmtpProbe.Failure.From(new SmtpProtocolException("Unable to parse status code returned by the server."), log, false, false, Request, "x")!;
            Assert.Equal("Unable to parse status code returned by the server. The server's line: 'HTTP/1.1 400 Bad Request'.", f.Message);

            // Without a line to quote, MailKit's text alone.
            Assert.Equal("Unable to parse status code returned by the server.", From(new SmtpProtocolException("Unable to parse status code returned by the server."), SmtpPhase.Banner).Message);
            Assert.Equal("Something else.", From(new SmtpProtocolException("Something else."), SmtpPhase.Banner).Message);
        }

        [Fact]
        public void Socket_and_stream_errors_name_the_socket_error()
        {
            SmtpProbe.Failure refused = From(new SocketException((int)SocketError.ConnectionRefused), SmtpPhase.Connect);
            Assert.Equal(SmtpPhase.Connect, refused.Phase);
            Assert.EndsWith("(ConnectionRefused)", refused.Message, StringComparison.Ordinal);

            SmtpProbe.Failure dns = From(new SocketException((int)SocketError.HostNotFound), SmtpPhase.Dns);
            Assert.Equal(SmtpPhase.Dns, dns.Phase);
            Assert.EndsWith("(HostNotFound)", dns.Message, StringComparison.Ordinal);

            SmtpProbe.Failure reset = From(new IOException("Unable to read data from the transport connection.", new SocketException((int)SocketError.ConnectionReset)), SmtpPhase.Auth);
            Assert.Equal(SmtpPhase.Auth, reset.Phase);
            Assert.Equal("Unable to read data from the transport connection. (ConnectionReset)", reset.Message);
            Assert.Equal("Broken pipe", From(new IOException("Broken pipe"), SmtpPhase.Data).Message);
        }

        [Fact]
        public void Other_errors_keep_their_phase_and_an_unknown_kind_names_its_type()
        {
            SmtpProbe.Failure badName = From(new ArgumentException("The host name is not valid."), SmtpPhase.Dns);
            Assert.Equal(SmtpPhase.Dns, badName.Phase);
            Assert.Equal("The host name is not valid.", badName.Message);

            Assert.Equal("ArgumentException: bad", From(new ArgumentException("bad"), SmtpPhase.Auth).Message);
            Assert.Equal("disposed", From(new InvalidOperationException("disposed"), SmtpPhase.Data).Message);
            Assert.Equal(SmtpPhase.Data, From(new FormatException("odd"), SmtpPhase.Data).Phase);
            Assert.Equal("Cannot access a disposed object. Object name: 'x'.", From(new ObjectDisposedException("x"), SmtpPhase.Data).Message);
            Assert.Equal("DivideByZeroException: boom", From(new DivideByZeroException("boom"), SmtpPhase.Ehlo).Message);
        }

        [Fact]
        public void Token_failures_are_charged_to_the_token_step_with_the_first_line_of_the_reason()
        {
            SmtpProbe.Failure unavailable = From(new Azure.Identity.CredentialUnavailableException("ManagedIdentityCredential authentication unavailable.\nNo response received."), SmtpPhase.Token);
            Assert.Equal(SmtpPhase.Token, unavailable.Phase);
            Assert.Equal("No credential was available to get the OAuth token: ManagedIdentityCredential authentication unavailable.", unavailable.Message);

            SmtpProbe.Failure failed = From(new Azure.Identity.AuthenticationFailedException("ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1"), SmtpPhase.Token);
            Assert.Equal(SmtpPhase.Token, failed.Phase);
            Assert.Equal("Getting the OAuth token failed: ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided.", failed.Message);

            SmtpProbe.Failure longLine = From(new Azure.Identity.AuthenticationFailedException(new string('x', 800)), SmtpPhase.Token);
            Assert.Equal("Getting the OAuth token failed: ".Length + 500, longLine.Message.Length);
        }

        [Fact]
        public void A_very_long_message_is_cut_to_2000_characters_on_one_line()
        {
            SmtpProbe.Failure f = From(new IOException(new string('a', 1500) + "\r\n" + new string('b', 1500)), SmtpPhase.Data);
            Assert.Equal(2000, f.Message.Length);
            Assert.DoesNotContain("\n", f.Message, StringComparison.Ordinal);
            Assert.Contains("a  b", f.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void MailKits_own_time_limit_stays_past_the_probes()
        {
            Assert.Equal(60_000, SmtpProbe.MailKitTimeout(TimeSpan.FromSeconds(30)));
            Assert.Equal(int.MaxValue, SmtpProbe.MailKitTimeout(TimeSpan.FromDays(30)));
        }
    }
}
