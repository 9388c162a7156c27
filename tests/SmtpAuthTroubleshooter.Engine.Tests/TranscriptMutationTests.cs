using System;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the transcript logger at the edges Stryker showed unguarded: step timings read off
    /// a paused clock, the size limits at their exact bounds, the note for a reply cut short, message content after
    /// DATA and BDAT, and which step a reply is charged to.
    /// </summary>
    public class TranscriptMutationTests
    {
        private static void Client(TranscriptLogger log, string text)
        {
            byte[] b = Encoding.ASCII.GetBytes(text);
            log.LogClient(b, 0, b.Length);
        }

        private static void Server(TranscriptLogger log, string text)
        {
            byte[] b = Encoding.ASCII.GetBytes(text);
            log.LogServer(b, 0, b.Length);
        }

        // A stopwatch that only moves when the test moves it.
        private static void Advance(Stopwatch clock, int milliseconds)
        {
            long until = clock.ElapsedMilliseconds + milliseconds;
            clock.Start();
            while (clock.ElapsedMilliseconds < until)
            {
                Thread.Sleep(5);
            }

            clock.Stop();
        }

        // --- Timings ---

        [Fact]
        public void A_step_lasts_from_its_entry_to_the_next_steps_entry()
        {
            var clock = new Stopwatch();
            var log = new TranscriptLogger(clock);
            Advance(clock, 30);
            log.Enter(SmtpPhase.Dns);
            long dnsStart = clock.ElapsedMilliseconds;
            Advance(clock, 20);
            log.Enter(SmtpPhase.Connect);
            long connectStart = clock.ElapsedMilliseconds;
            Advance(clock, 20);
            Assert.Equal(connectStart - dnsStart, log.Duration(SmtpPhase.Dns));
            Assert.Equal(clock.ElapsedMilliseconds - connectStart, log.Duration(SmtpPhase.Connect));
        }

        [Fact]
        public void A_step_left_the_moment_it_was_entered_lasted_no_time()
        {
            var clock = new Stopwatch();
            var log = new TranscriptLogger(clock);
            Advance(clock, 10);
            long entered = clock.ElapsedMilliseconds;
            log.Enter(SmtpPhase.Dns);
            log.Enter(SmtpPhase.Connect);
            Advance(clock, 30);
            Assert.Equal(0, log.Duration(SmtpPhase.Dns));
            long finished = clock.ElapsedMilliseconds;
            log.Finish();
            Advance(clock, 30);
            Assert.Equal(finished - entered, log.Duration(SmtpPhase.Connect));
        }

        [Fact]
        public void A_step_entered_at_the_first_millisecond_and_still_running_is_timed_up_to_now()
        {
            var clock = new Stopwatch();
            var log = new TranscriptLogger(clock);
            log.Enter(SmtpPhase.Dns);
            Advance(clock, 20);
            Assert.Equal(clock.ElapsedMilliseconds, log.Duration(SmtpPhase.Dns));
        }

        // --- A reply cut short ---

        [Fact]
        public void Finishing_in_the_middle_of_a_multi_line_reply_notes_the_lines_that_came()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "EHLO me\r\n");
            Server(log, "250-mail.example.test\r\n250-PIPELINING\r\n");
            log.Finish();
            Assert.EndsWith("S: 250-PIPELINING\n#: The server's reply was incomplete: 2 continuation line(s) (the last '250-PIPELINING') and no final line.\n", log.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public void Finishing_in_the_middle_of_a_line_notes_the_part_that_came()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 mail.exa");
            log.Finish();
            Assert.Equal("#: The server had sent part of a line and no line end: '220 mail.exa'.\n", log.Transcript);
        }

        // --- Size limits at their bounds ---

        [Fact]
        public void A_reply_of_exactly_the_size_limit_is_still_read_and_one_byte_more_is_not()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "EHLO me\r\n");
            string line = "250-" + new string('x', 1018) + "\r\n"; // 1024 bytes
            for (int i = 0; i < TranscriptLogger.MaxReplyBytes / 1024; i++)
            {
                Server(log, line);
            }

            var ex = Assert.Throws<MailKit.Net.Smtp.SmtpProtocolException>(() => Server(log, "2"));
            Assert.Equal("The server's reply during Ehlo exceeded 1048576 bytes (1024 lines and no final line), so the probe stopped reading it.", ex.Message);
        }

        [Fact]
        public void A_line_is_kept_to_its_first_64_KiB()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 " + new string('x', 70_000) + "\r\n");
            Assert.Equal(64 * 1024, log.Replies[0].Text.Length);
            Assert.Equal(220, log.Replies[0].Code);
        }

        [Fact]
        public void The_truncation_marker_always_fits_within_the_bound()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            string full = "250-" + new string('x', 996) + "\r\n"; // 1000 characters, 1004 in the transcript
            for (int i = 0; i < 65; i++)
            {
                Server(log, full);
            }

            // 65 * 1004 = 65260 characters written; 253 left of which the marker needs 23. A line that would need 254 is cut.
            Server(log, "250-" + new string('y', 246) + "\r\n");
            Server(log, "250 last\r\n");
            Assert.Equal((65 * 1004) + "# transcript truncated\n".Length, log.Transcript.Length);
            Assert.EndsWith("x\n# transcript truncated\n", log.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public void A_line_that_just_fits_before_the_marker_is_still_written()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            string full = "250-" + new string('x', 996) + "\r\n";
            for (int i = 0; i < 65; i++)
            {
                Server(log, full);
            }

            Server(log, "250-" + new string('y', 245) + "\r\n"); // 249 characters + 4: exactly what is left before the marker
            Server(log, "250 last\r\n");
            Assert.Equal(TranscriptLogger.MaxTranscriptChars, log.Transcript.Length);
            Assert.EndsWith("yyy\n# transcript truncated\n", log.Transcript, StringComparison.Ordinal);
        }

        // --- Message content ---

        [Fact]
        public void Message_content_is_counted_not_logged_and_the_next_command_is_logged_again()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "DATA\r\n");
            Server(log, "354 go ahead\r\n");
            Client(log, "Subject: x\r\n\r\nbody\r\n.\r\n"); // 23 bytes
            Server(log, "250 2.0.0 OK\r\n");
            Client(log, "MAIL FROM:<a@b.c>\r\n");
            Server(log, "250 2.1.0 OK\r\n");
            Client(log, "BDAT 5 LAST\r\n");
            Client(log, "hello");
            Server(log, "250 2.0.0 OK chunk\r\n");
            Client(log, "QUIT\r\n");
            Assert.Equal(
                "S: 220 hi\nC: DATA\nS: 354 go ahead\n#: message content not logged (23 bytes)\nS: 250 2.0.0 OK\nC: MAIL FROM:<a@b.c>\nS: 250 2.1.0 OK\nC: BDAT 5 LAST\n#: message content not logged (5 bytes)\nS: 250 2.0.0 OK chunk\nC: QUIT\n",
                log.Transcript);
            Assert.Equal(new[] { SmtpPhase.Banner, SmtpPhase.Data, SmtpPhase.Data, SmtpPhase.MailFrom, SmtpPhase.Data }, log.Replies.Select(r => r.Phase));
        }

        [Fact]
        public void A_refused_DATA_is_not_followed_by_message_content()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "DATA\r\n");
            Server(log, "554 5.5.1 No valid recipients\r\n");
            Client(log, "RSET\r\n");
            Assert.EndsWith("S: 554 5.5.1 No valid recipients\nC: RSET\n", log.Transcript, StringComparison.Ordinal);
        }

        // --- Which step a reply answers ---

        [Fact]
        public void A_continuation_line_with_nothing_after_the_hyphen_is_still_a_continuation()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220-\r\n220 mail.example.test ESMTP\r\n");
            ServerReply banner = Assert.Single(log.Replies);
            Assert.Equal("220-\n220 mail.example.test ESMTP", banner.Text);
        }

        [Fact]
        public void HELO_as_the_first_command_is_the_EHLO_step()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "HELO me\r\n");
            Assert.Equal(SmtpPhase.Ehlo, log.Phase);
            Server(log, "250 mail.example.test\r\n");
            Assert.Equal(SmtpPhase.Ehlo, log.Replies[1].Phase);
            Assert.True(log.SawEhloBeforeTls);
        }

        [Fact]
        public void A_later_EHLO_reply_replaces_the_capabilities_of_the_earlier_one()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "EHLO me\r\n");
            Server(log, "250-mail.example.test\r\n250 AUTH LOGIN\r\n");
            Client(log, "EHLO me\r\n");
            Server(log, "250-mail.example.test\r\n250 AUTH PLAIN\r\n");
            Assert.Equal(new[] { "250-mail.example.test", "250 AUTH PLAIN" }, log.EhloBeforeTls);
            Assert.True(log.SawEhloBeforeTls);
        }

        [Fact]
        public void An_AUTH_command_without_an_initial_response_is_logged_as_sent()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "AUTH LOGIN\r\n");
            Assert.Equal("S: 220 hi\nC: AUTH LOGIN\n", log.Transcript);
            Server(log, "504 5.7.4 Unrecognized authentication type\r\n");
            Client(log, "AUTH XOAUTH2 dXNlcj1hQGIuYwFhdXRoPUJlYXJlciB0b2tlbgEB\r\n");
            Assert.EndsWith("C: AUTH XOAUTH2 ********\n", log.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public void A_challenge_no_AUTH_asked_for_is_an_ordinary_reply()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "334 VXNlcm5hbWU6\r\n");
            ServerReply reply = Assert.Single(log.Replies);
            Assert.Equal((SmtpPhase.Banner, 334), (reply.Phase, reply.Code));
        }

        [Fact]
        public void The_greeting_is_charged_to_the_banner_also_when_TLS_came_first()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            log.TlsOnConnect();
            log.Enter(SmtpPhase.Tls);
            Server(log, "220 mail.example.test ESMTP\r\n");
            Assert.Equal(SmtpPhase.Banner, log.Replies[0].Phase);
            Server(log, "421 4.4.2 Timeout\r\n");
            Assert.Equal(SmtpPhase.Tls, log.Replies[1].Phase);
        }
    }
}
