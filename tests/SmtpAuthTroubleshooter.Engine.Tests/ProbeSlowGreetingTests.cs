using System;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;
using static SmtpAuthTroubleshooter.Engine.Tests.ProbeTestKit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// A port that answers and sends no greeting within the time limit: a TLS-on-connect port, another service, or an
    /// SMTP server that delays its greeting on purpose (Postfix postscreen's greet pause, a slow reverse-DNS lookup).
    /// The probe cannot tell these apart, so the result names all three and does not claim it is no SMTP server.
    /// </summary>
    public class ProbeSlowGreetingTests
    {
        [Fact]
        public async Task No_greeting_in_time_names_a_delayed_greeting_and_does_not_say_it_is_no_SMTP_server()
        {
            using var server = new ScriptedSmtpServer { Banner = null }.Start();
            var request = new ProbeRequest
            {
                Server = "127.0.0.1",
                Port = server.Port,
                TlsMode = SmtpTlsMode.StartTls,
                UserName = "dave@example.test",
                Password = Secret("Pa55word!"),
                Timeout = TimeSpan.FromSeconds(1),
            };
            SmtpAuthTestResult r = await new SmtpProbe(() => Now).RunAsync(request, new KeepingSink(), CancellationToken.None);

            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Banner, r.FailedPhase);
            Assert.Equal(
                $"Connected to 127.0.0.1:{server.Port} (the port answered), but the service there sent no SMTP greeting in 1 s. It may be a port that " +
                "expects TLS from the first byte, another service, or an SMTP server that delays its greeting (retry with a larger -TimeoutSec). " +
                "A port that expects TLS from the first byte (465, say) waits like this for a client that starts in plain text (try -TlsMode Implicit). " +
                "Check the port and whether a proxy or another service listens on it.",
                r.Message);
            Assert.DoesNotContain("not an SMTP server", r.Message, StringComparison.Ordinal);
        }
    }
}
