using System;
using System.Diagnostics;
using System.Linq;
using System.Text;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the transcript logger's phases (which step each reply answers, EHLO before and
    /// after TLS, housekeeping commands that decide nothing), its timings, and how it writes lines.
    /// </summary>
    public class TranscriptPhaseTests
    {
        private static void Client(TranscriptLogger log, string text) { byte[] b = Encoding.ASCII.GetBytes(text); log.LogClient(b, 0, b.Length); }

        private static void Server(TranscriptLogger log, string text) { byte[] b = Encoding.ASCII.GetBytes(text); log.LogServer(b, 0, b.Length); }

        [Fact]
        public void Each_reply_is_charged_to_the_command_it_answers_through_STARTTLS_and_AUTH()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Assert.Equal(SmtpPhase.Banner, log.Phase);
            Server(log, "220 mail.example.test ESMTP\r\n");
            Client(log, "EHLO me\r\n");
            Assert.Equal(SmtpPhase.Ehlo, log.Phase);
            Server(log, "250-mail.example.test\r\n250-STARTTLS\r\n250 AUTH LOGIN\r\n");
            Client(log, "STARTTLS\r\n");
            Assert.Equal(SmtpPhase.StartTls, log.Phase);
            Server(log, "220 2.0.0 Ready\r\n");
            Assert.Equal(SmtpPhase.Tls, log.Phase);
            Client(log, "EHLO me\r\n");
            Assert.Equal(SmtpPhase.Tls, log.Phase);
            Server(log, "250-mail.example.test\r\n250 AUTH PLAIN XOAUTH2\r\n");
            Client(log, "AUTH PLAIN AHUAcA==\r\n");
            Assert.Equal(SmtpPhase.Auth, log.Phase);
            Server(log, "235 2.7.0 OK\r\n");
            Client(log, "QUIT\r\n");
            Assert.Equal(SmtpPhase.Auth, log.Phase);
            Server(log, "221 2.0.0 Bye\r\n");

            Assert.Equal(
                new[] { (SmtpPhase.Banner, 220), (SmtpPhase.Ehlo, 250), (SmtpPhase.StartTls, 220), (SmtpPhase.Tls, 250), (SmtpPhase.Auth, 235), (SmtpPhase.None, 221) },
                log.Replies.Select(r => (r.Phase, r.Code)));
            Assert.Equal("250-mail.example.test\n250-STARTTLS\n250 AUTH LOGIN", log.Replies[1].Text);
            Assert.True(log.SawEhloBeforeTls);
            Assert.Equal(new[] { "250-mail.example.test", "250-STARTTLS", "250 AUTH LOGIN" }, log.EhloBeforeTls);
            Assert.Equal(new[] { "250-mail.example.test", "250 AUTH PLAIN XOAUTH2" }, log.EhloAfterTls);
            Assert.Equal("221 2.0.0 Bye", log.LastServerLine);
        }

        [Fact]
        public void With_TLS_on_connect_the_first_EHLO_is_the_one_after_TLS()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            log.TlsOnConnect();
            Server(log, "220 hi\r\n");
            Client(log, "EHLO me\r\n");
            Server(log, "250 AUTH LOGIN\r\n");
            Assert.False(log.SawEhloBeforeTls);
            Assert.Empty(log.EhloBeforeTls);
            Assert.Equal(new[] { "250 AUTH LOGIN" }, log.EhloAfterTls);
            Assert.Equal(SmtpPhase.Tls, log.Replies[1].Phase);
        }

        [Fact]
        public void A_refused_EHLO_is_not_taken_for_the_capabilities_and_HELO_counts_as_EHLO()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "EHLO me\r\n");
            Server(log, "502 5.5.2 Command not recognized\r\n");
            Assert.False(log.SawEhloBeforeTls);
            Client(log, "HELO me\r\n");
            Server(log, "250 hello\r\n");
            Assert.True(log.SawEhloBeforeTls);
            Assert.Equal(new[] { "250 hello" }, log.EhloBeforeTls);
            Assert.Equal(SmtpPhase.Ehlo, log.Replies[2].Phase);
        }

        [Fact]
        public void Housekeeping_commands_do_not_move_the_phase_and_their_replies_decide_nothing()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "MAIL FROM:<a@b.c>\r\n");
            Server(log, "250 OK\r\n");
            foreach (string verb in new[] { "RSET", "NOOP", "QUIT" })
            {
                Client(log, verb + "\r\n");
                Assert.Equal(SmtpPhase.MailFrom, log.Phase);
                Server(log, "250 OK\r\n");
                Assert.Equal(SmtpPhase.None, log.Replies[log.Replies.Count - 1].Phase);
            }

            Client(log, "VRFY x\r\n");
            Server(log, "252 maybe\r\n");
            Assert.Equal(SmtpPhase.MailFrom, log.Replies[log.Replies.Count - 1].Phase);
        }

        [Fact]
        public void A_334_challenge_keeps_the_AUTH_command_pending()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "AUTH LOGIN\r\n");
            Server(log, "334 VXNlcm5hbWU6\r\n");
            Client(log, "dXNlcg==\r\n");
            Server(log, "334 UGFzc3dvcmQ6\r\n");
            Client(log, "cGFzcw==\r\n");
            Server(log, "535 5.7.3 no\r\n");
            Client(log, "MAIL FROM:<a@b.c>\r\n");
            Server(log, "530 5.7.57 not authenticated\r\n");
            Assert.Equal(new[] { SmtpPhase.Banner, SmtpPhase.Auth, SmtpPhase.Auth, SmtpPhase.Auth, SmtpPhase.MailFrom }, log.Replies.Select(r => r.Phase));
            Assert.Contains("C: MAIL FROM:<a@b.c>", log.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public void A_reply_no_command_asked_for_is_charged_to_the_current_phase()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            log.Enter(SmtpPhase.Auth);
            Server(log, "421 4.3.2 Service not available\r\n");
            Assert.Equal(SmtpPhase.Auth, log.Replies[1].Phase);
        }

        [Fact]
        public void Phases_are_timed_from_their_first_entry_to_their_end()
        {
            var clock = Stopwatch.StartNew();
            var log = new TranscriptLogger(clock);
            Assert.Null(log.Duration(SmtpPhase.Dns));
            log.Enter(SmtpPhase.Dns);
            log.Enter(SmtpPhase.Dns);
            System.Threading.Thread.Sleep(30);
            log.Enter(SmtpPhase.Connect);
            long dns = log.Duration(SmtpPhase.Dns)!.Value;
            Assert.InRange(dns, 20, 10_000);
            System.Threading.Thread.Sleep(30);
            Assert.Equal(dns, log.Duration(SmtpPhase.Dns));
            long running = log.Duration(SmtpPhase.Connect)!.Value;
            Assert.InRange(running, 20, 10_000);
            log.Finish();
            long connect = log.Duration(SmtpPhase.Connect)!.Value;
            System.Threading.Thread.Sleep(30);
            Assert.Equal(connect, log.Duration(SmtpPhase.Connect));
            Assert.Null(log.Duration(SmtpPhase.Auth));
        }

        [Fact]
        public void The_banner_phase_started_by_the_logger_itself_is_timed_once_entered()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            log.Enter(SmtpPhase.Banner);
            Assert.NotNull(log.Duration(SmtpPhase.Banner));
        }

        [Fact]
        public void The_connection_note_says_whether_TLS_was_on_connect()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            log.LogConnect(new Uri("smtp://mail.example.test:587"));
            log.LogConnect(new Uri("smtps://mail.example.test:465"));
            Assert.Equal("#: connected to mail.example.test:587\n#: connected to mail.example.test:465 (TLS on connect)\n", log.Transcript);
        }

        [Fact]
        public void Lines_are_written_without_control_characters_and_cut_at_1024_characters()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\tthere\u0007\r\n");
            Server(log, "250 " + new string('x', 2000) + "\r\n");
            string[] lines = log.Transcript.Split('\n');
            Assert.Equal("S: 220 hi there ", lines[0]);
            Assert.Equal("S: 250 " + new string('x', 1020) + "...", lines[1]);
            Assert.Equal("220 hi\tthere\u0007", log.Replies[0].Text); // the reply itself is kept as sent
        }

        [Fact]
        public void Finishing_without_a_reply_in_progress_adds_no_note()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            log.Finish();
            Assert.Equal("S: 220 hi\n", log.Transcript);
            Assert.Equal(string.Empty, log.DescribeIncompleteReply());
        }

        [Fact]
        public void A_partial_line_alone_is_described_as_such()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hal");
            Assert.Equal("The server had sent part of a line and no line end: '220 hal'.", log.DescribeIncompleteReply());
            Assert.Null(log.LastServerLine);
        }
    }
}
