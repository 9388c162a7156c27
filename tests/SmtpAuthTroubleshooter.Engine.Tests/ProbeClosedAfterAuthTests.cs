using System;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;
using static SmtpAuthTroubleshooter.Engine.Tests.ProbeTestKit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// A server that accepts the login (235) and then closes the session with an unsolicited 421, as Dovecot's
    /// submission service does when its relay is down. The credentials were right; the session was lost after AUTH.
    /// Whether the 421 arrives in the same read as the 235 or in a later one must not change the result.
    /// </summary>
    public class ProbeClosedAfterAuthTests
    {
        private const string Accepted = "235 2.7.0 Logged in.\r\n";
        private const string Closing = "421 4.4.0 dovecot-sub.example.test Failed to connect to relay server (connect)\r\n";

        private static ScriptedSmtpServer Server(bool sameWrite)
        {
            var server = new ScriptedSmtpServer();
            if (sameWrite)
            {
                server.Replies["AUTH"] = Accepted + Closing;
                server.CloseAfter = "AUTH";
            }
            else
            {
                server.Replies["AUTH"] = Accepted;
                server.Then["AUTH"] = (TimeSpan.FromMilliseconds(300), Closing);
            }

            return server.Start();
        }

        private static async Task<SmtpAuthTestResult> Run(ScriptedSmtpServer server, bool sendTestMessage)
        {
            var request = new ProbeRequest
            {
                Server = "127.0.0.1",
                Port = server.Port,
                TlsMode = SmtpTlsMode.None,
                AllowUnencryptedAuthentication = true,
                UserName = "dave@example.test",
                Password = Secret("Pa55word!"),
                Timeout = TimeSpan.FromSeconds(20),
                SendTestMessage = sendTestMessage,
                From = "dave@example.test",
                To = "x@example.org",
            };
            return await new SmtpProbe(() => Now).RunAsync(request, new KeepingSink(), CancellationToken.None);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task A_421_after_a_235_says_the_login_succeeded_and_the_server_then_closed_the_session(bool sameWrite)
        {
            using ScriptedSmtpServer server = Server(sameWrite);
            SmtpAuthTestResult r = await Run(server, sendTestMessage: false);

            Assert.False(r.Succeeded, r.Transcript);
            Assert.Equal(SmtpPhase.MailFrom, r.FailedPhase);
            Assert.Equal(421, r.ReplyCode);
            Assert.Equal("4.4.0", r.EnhancedStatusCode);
            Assert.Equal("421 4.4.0 dovecot-sub.example.test Failed to connect to relay server (connect)", r.ReplyText);
            Assert.Equal("LOGIN", r.Mechanism);
            Assert.Equal(
                "Authentication succeeded: the server accepted the credentials ('235 2.7.0 Logged in.'). The server then closed the session " +
                "with '421 4.4.0 dovecot-sub.example.test Failed to connect to relay server (connect)', so it would take no mail: a 421 is the " +
                "server's own fault or limit (its relay, queue or load), not a login problem.",
                r.Message);
            Assert.DoesNotContain("refused Auth", r.Message, StringComparison.Ordinal);
            Assert.Contains("S: 235 2.7.0 Logged in.", r.Transcript, StringComparison.Ordinal);
            Assert.Contains("S: 421 4.4.0", r.Transcript, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task A_421_after_a_235_fails_the_test_message_at_MAIL_FROM_whatever_the_timing(bool sameWrite)
        {
            using ScriptedSmtpServer server = Server(sameWrite);
            SmtpAuthTestResult r = await Run(server, sendTestMessage: true);

            Assert.False(r.Succeeded, r.Transcript);
            Assert.False(r.TestMessageSent);
            Assert.Equal(SmtpPhase.MailFrom, r.FailedPhase);
            Assert.Equal(421, r.ReplyCode);
            Assert.Equal(
                "Authentication succeeded: the server accepted the credentials ('235 2.7.0 Logged in.'). The server then closed the session " +
                "with '421 4.4.0 dovecot-sub.example.test Failed to connect to relay server (connect)' before the test message was accepted, so it " +
                "would take no mail: a 421 is the server's own fault or limit (its relay, queue or load), not a login problem.",
                r.Message);
            Assert.DoesNotContain("C: RCPT", r.Transcript, StringComparison.Ordinal);
        }

        [Fact]
        public async Task The_same_write_and_separate_writes_give_the_same_result()
        {
            foreach (bool send in new[] { false, true })
            {
                using ScriptedSmtpServer together = Server(sameWrite: true);
                using ScriptedSmtpServer apart = Server(sameWrite: false);
                SmtpAuthTestResult a = await Run(together, send);
                SmtpAuthTestResult b = await Run(apart, send);
                Assert.Equal((a.Succeeded, a.FailedPhase, a.ReplyCode, a.ReplyText, a.Message), (b.Succeeded, b.FailedPhase, b.ReplyCode, b.ReplyText, b.Message));
            }
        }

        [Fact]
        public async Task A_421_to_AUTH_itself_is_still_an_Auth_failure()
        {
            // No 235: the server refused (or could not run) the login itself.
            using var server = new ScriptedSmtpServer();
            server.Replies["AUTH"] = "421 4.7.0 Too many errors, closing\r\n";
            server.CloseAfter = "AUTH";
            server.Start();
            SmtpAuthTestResult r = await Run(server, sendTestMessage: false);

            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Equal(421, r.ReplyCode);
            Assert.DoesNotContain("Authentication succeeded", r.Message, StringComparison.Ordinal);
        }
    }
}
