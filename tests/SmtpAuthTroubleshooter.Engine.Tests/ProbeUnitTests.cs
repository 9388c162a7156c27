using System;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Text.Json;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    public class TokenInspectorTests
    {
        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

        private static string Jwt(object claims)
        {
            static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            return B64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "." + B64(JsonSerializer.Serialize(claims)) + ".c2lnbmF0dXJl";
        }

        private static TokenFacts Inspect(object claims, string user = "app@contoso.com") =>
            TokenInspector.Inspect(Jwt(claims), user, CloudEndpoints.For(SmtpCloudEnvironment.Global).Audiences, Now);

        [Fact]
        public void A_good_app_only_token_has_no_issues()
        {
            TokenFacts f = Inspect(new { aud = "https://outlook.office365.com", roles = new[] { "SMTP.SendAsApp" }, exp = Now.AddHours(1).ToUnixTimeSeconds(), tid = "t1", appid = "a1" });
            Assert.True(f.Readable);
            Assert.True(f.IsAppOnly);
            Assert.Empty(f.Issues);
            Assert.Equal("a1", f.AppId);
            Assert.Equal(Now.AddHours(1).UtcDateTime, f.ExpiresUtc);
        }

        [Fact]
        public void A_good_delegated_token_has_no_issues()
        {
            TokenFacts f = Inspect(new { aud = "00000002-0000-0ff1-ce00-000000000000", scp = "SMTP.Send offline_access", exp = Now.AddHours(1).ToUnixTimeSeconds(), upn = "app@contoso.com" });
            Assert.Empty(f.Issues);
            Assert.Equal(new[] { "SMTP.Send", "offline_access" }, f.Scopes);
        }

        [Fact]
        public void A_graph_token_is_the_wrong_audience()
        {
            Assert.Contains("TokenWrongAudience", Inspect(new { aud = "https://graph.microsoft.com", scp = "SMTP.Send", exp = Now.AddHours(1).ToUnixTimeSeconds() }).Issues);
        }

        [Fact]
        public void Missing_permission_expired_and_user_mismatch_are_each_named()
        {
            TokenFacts f = Inspect(new { aud = "https://outlook.office.com", scp = "Mail.Read", exp = Now.AddMinutes(-1).ToUnixTimeSeconds(), upn = "other@contoso.com" });
            Assert.Contains("TokenMissingPermission", f.Issues);
            Assert.Contains("TokenExpired", f.Issues);
            Assert.DoesNotContain("TokenUserMismatch", f.Issues); // no SMTP.Send scope: the mismatch check is for delegated SMTP tokens

            TokenFacts g = Inspect(new { aud = "https://outlook.office.com", scp = "SMTP.Send", exp = Now.AddHours(1).ToUnixTimeSeconds(), upn = "other@contoso.com" });
            Assert.Equal(new[] { "TokenUserMismatch" }, g.Issues);
        }

        [Fact]
        public void Sovereign_audiences_follow_the_environment()
        {
            string token = Jwt(new { aud = "https://outlook.office365.com", roles = new[] { "SMTP.SendAsApp" }, exp = Now.AddHours(1).ToUnixTimeSeconds() });
            Assert.Contains("TokenWrongAudience", TokenInspector.Inspect(token, "a@b.c", CloudEndpoints.For(SmtpCloudEnvironment.USGovGCCHigh).Audiences, Now).Issues);
            Assert.Equal("smtp.office365.us", CloudEndpoints.For(SmtpCloudEnvironment.USGovGCCHigh).SmtpHost);
            Assert.Equal("smtp.partner.outlook.cn", CloudEndpoints.For(SmtpCloudEnvironment.China).SmtpHost);
            Assert.Equal("https://outlook.office365.com/.default", CloudEndpoints.For(SmtpCloudEnvironment.Global).AppOnlyScope);
            Assert.Equal("https://outlook.office.com/SMTP.Send", CloudEndpoints.For(SmtpCloudEnvironment.Global).DelegatedScope);
        }

        [Theory]
        [InlineData("")]
        [InlineData("opaque-token-without-dots")]
        [InlineData("a.!!!notbase64!!!.c")]
        [InlineData("a.W10.c")] // payload "[]": not an object
        public void Unreadable_tokens_are_not_errors(string token)
        {
            Assert.False(TokenInspector.Inspect(token, "a@b.c", CloudEndpoints.For(SmtpCloudEnvironment.Global).Audiences, Now).Readable);
        }
    }

    public class TranscriptLoggerTests
    {
        private static void Client(TranscriptLogger log, string text) { byte[] b = Encoding.ASCII.GetBytes(text); log.LogClient(b, 0, b.Length); }
        private static void Server(TranscriptLogger log, string text) { byte[] b = Encoding.ASCII.GetBytes(text); log.LogServer(b, 0, b.Length); }

        [Fact]
        public void Masks_every_SASL_line_and_the_initial_response()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n");
            Server(log, "535 5.7.3 Authentication unsuccessful\r\n");
            Client(log, "AUTH LOGIN\r\n");
            Server(log, "334 VXNlcm5hbWU6\r\n");
            Client(log, "dXNlcg==\r\n");
            Server(log, "334 UGFzc3dvcmQ6\r\n");
            Client(log, "cGFzc3dvcmQ=\r\n");
            Server(log, "235 2.7.0 Authentication successful\r\n");
            Client(log, "MAIL FROM:<a@b.c>\r\n");
            string t = log.Transcript;
            Assert.DoesNotContain("AHVzZXIAcGFzc3dvcmQ=", t, StringComparison.Ordinal);
            Assert.DoesNotContain("dXNlcg==", t, StringComparison.Ordinal);
            Assert.DoesNotContain("cGFzc3dvcmQ=", t, StringComparison.Ordinal);
            Assert.Contains("C: AUTH PLAIN ********", t, StringComparison.Ordinal);
            Assert.Equal(2, t.Split('\n').Count(l => l == "C: ********"));
            Assert.Contains("C: MAIL FROM:<a@b.c>", t, StringComparison.Ordinal);
        }

        [Fact]
        public void Drops_message_content_after_DATA_and_in_BDAT_chunks()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "DATA\r\n");
            Server(log, "354 go ahead\r\n");
            Client(log, "Subject: secret plans\r\n\r\nbody text\r\n.\r\n");
            Server(log, "250 2.0.0 OK\r\n");
            Client(log, "BDAT 20 LAST\r\nSubject: chunked one\r\n");
            Server(log, "250 2.0.0 OK\r\n");
            string t = log.Transcript;
            Assert.DoesNotContain("secret plans", t, StringComparison.Ordinal);
            Assert.DoesNotContain("chunked one", t, StringComparison.Ordinal);
            Assert.Contains("message content not logged", t, StringComparison.Ordinal);
        }

        [Fact]
        public void Attributes_pipelined_replies_to_their_commands()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "MAIL FROM:<x@y.z>\r\nRCPT TO:<a@b.c>\r\n");
            Server(log, "550 5.7.60 SMTP; Client does not have permissions to send as this sender\r\n");
            Server(log, "503 5.5.1 Bad sequence\r\n");
            Assert.Equal(SmtpPhase.MailFrom, log.Replies[1].Phase);
            Assert.Equal(SmtpPhase.RcptTo, log.Replies[2].Phase);
        }

        [Fact]
        public void Bounds_the_transcript()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            string line = "250-" + new string('x', 5000) + "\r\n";
            for (int i = 0; i < 200; i++)
            {
                Server(log, line);
            }

            Assert.True(log.Transcript.Length <= TranscriptLogger.MaxTranscriptChars);
            Assert.Contains("transcript truncated", log.Transcript, StringComparison.Ordinal);
        }

        // Issue 6 (a misbehaving SMTP server): the limits that keep the probe's memory and time bounded.

        [Fact]
        public void Keeps_the_transcript_within_its_bound_with_short_lines_too()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            for (int i = 0; i < 2000; i++)
            {
                Server(log, "250-" + new string('x', 58) + "\r\n");
            }

            Assert.True(log.Transcript.Length <= TranscriptLogger.MaxTranscriptChars, log.Transcript.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.EndsWith("# transcript truncated\n", log.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public void Stops_reading_a_reply_over_the_size_limit()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "EHLO me\r\n");
            string line = "250-" + new string('x', 1018) + "\r\n"; // 1 KiB
            var ex = Assert.Throws<MailKit.Net.Smtp.SmtpProtocolException>(() =>
            {
                for (int i = 0; i < 2000; i++)
                {
                    Server(log, line);
                }
            });
            Assert.Contains("exceeded 1048576 bytes", ex.Message, StringComparison.Ordinal);
            Assert.Contains("Ehlo", ex.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void Counts_the_bytes_of_a_line_that_never_ends()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            string chunk = new string('x', 4096);
            Assert.Throws<MailKit.Net.Smtp.SmtpProtocolException>(() =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    Server(log, chunk);
                }
            });
        }

        [Fact]
        public void A_long_conversation_of_small_replies_is_not_limited()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            for (int i = 0; i < 30000; i++)
            {
                Client(log, "NOOP\r\n");
                Server(log, "250 2.0.0 OK " + new string('x', 40) + "\r\n");
            }

            Assert.Equal(30000, log.Replies.Count);
        }

        [Fact]
        public void Stops_an_AUTH_exchange_that_never_ends()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Client(log, "AUTH LOGIN\r\n");
            for (int i = 0; i < TranscriptLogger.MaxAuthChallenges; i++)
            {
                Server(log, "334 \r\n");
                Client(log, "eA==\r\n");
            }

            var ex = Assert.Throws<MailKit.Net.Smtp.SmtpProtocolException>(() => Server(log, "334 \r\n"));
            Assert.Contains("334 challenges", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("eA==", log.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public void Describes_a_reply_cut_short_and_notes_it_in_the_transcript()
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, "220 hi\r\n");
            Assert.Equal(string.Empty, log.DescribeIncompleteReply());
            Client(log, "EHLO me\r\n");
            Server(log, "250-host Hello\r\n250-SIZE");

            string described = log.DescribeIncompleteReply();
            Assert.Contains("1 continuation line(s) (the last '250-host Hello')", described, StringComparison.Ordinal);
            Assert.Contains("part of a line: '250-SIZE'", described, StringComparison.Ordinal);
            log.Finish();
            Assert.Contains("#: " + described, log.Transcript, StringComparison.Ordinal);
            Assert.Equal("250-host Hello", log.LastServerLine);
        }

        [Theory]
        [InlineData("2500 five digits", 0)]
        [InlineData("25 short", 0)]
        [InlineData("abc not a code", 0)]
        [InlineData("999 weird", 999)]
        [InlineData("250", 250)]
        [InlineData("250 2.0.0 OK", 250)]
        public void Reads_only_three_digit_reply_codes(string line, int code)
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            Server(log, line + "\r\n");
            Assert.Equal(code, log.Replies[0].Code);
        }
    }
}
