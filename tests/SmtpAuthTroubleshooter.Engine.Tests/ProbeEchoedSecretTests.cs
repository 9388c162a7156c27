using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;
using static SmtpAuthTroubleshooter.Engine.Tests.ProbeTestKit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// A server whose refusal quotes the client's SASL line ("535 5.7.8 Authentication failed for input &lt;base64&gt;"):
    /// the probe knows every payload it sent and the secret itself, and none of them may reach the result (reply text,
    /// message, transcript, any other string) or the streams, whether quoted as sent or decoded.
    /// </summary>
    public class ProbeEchoedSecretTests
    {
        private const string Password = "Secr3tPassw0rdXyz";
        private const string Token = "opaque.access-token.Zm9vYmFyYmF6";

        // The server quotes the client's last SASL line as sent, then decoded (control characters as spaces).
        private static string Echo(string last)
        {
            string decoded;
            try
            {
                decoded = new string(Encoding.UTF8.GetString(Convert.FromBase64String(last)).Select(c => char.IsControl(c) ? ' ' : c).ToArray());
            }
            catch (FormatException)
            {
                decoded = last;
            }

            return "535 5.7.8 Authentication failed for input " + last + " (" + decoded.Trim() + ")\r\n";
        }

        [Theory]
        [InlineData(SmtpAuthMechanism.Login)]
        [InlineData(SmtpAuthMechanism.Plain)]
        [InlineData(SmtpAuthMechanism.XOAuth2)]
        public async Task A_server_that_echoes_the_SASL_line_gets_it_masked_everywhere_in_the_result(SmtpAuthMechanism mechanism)
        {
            using var server = new ScriptedSmtpServer { AuthEcho = Echo };
            server.Replies["EHLO"] = "250-mail.example.test\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n250 8BITMIME\r\n";
            server.Start();
            var request = new ProbeRequest
            {
                Server = "127.0.0.1",
                Port = server.Port,
                TlsMode = SmtpTlsMode.None,
                AllowUnencryptedAuthentication = true,
                UserName = "dave@example.test",
                Mechanism = mechanism,
                Timeout = TimeSpan.FromSeconds(20),
            };
            if (mechanism == SmtpAuthMechanism.XOAuth2)
            {
                request.TokenSource = new ScriptedTokenSource(_ => Task.FromResult(Token));
            }
            else
            {
                request.Password = Secret(Password);
            }

            var sink = new KeepingSink();
            SmtpAuthTestResult r = await new SmtpProbe(() => Now).RunAsync(request, sink, CancellationToken.None);

            Assert.False(r.Succeeded);
            Assert.Equal(SmtpPhase.Auth, r.FailedPhase);
            Assert.Equal(535, r.ReplyCode);

            // Every SASL payload the client sent (the AUTH line's initial response and each answer to a 334).
            string[] received = server.Received.ToArray();
            int auth = Array.FindIndex(received, l => l.StartsWith("AUTH ", StringComparison.OrdinalIgnoreCase));
            var secrets = new List<string> { mechanism == SmtpAuthMechanism.XOAuth2 ? Token : Password };
            string[] words = received[auth].Split(' ');
            if (words.Length > 2)
            {
                secrets.Add(words[2]);
            }

            secrets.AddRange(received.Skip(auth + 1).TakeWhile(l => !l.StartsWith("QUIT", StringComparison.OrdinalIgnoreCase)).Where(l => l.Length > 0));
            Assert.True(secrets.Count >= 2, string.Join(" | ", received));

            var texts = new List<(string Where, string Text)>();
            foreach (PropertyInfo property in typeof(SmtpAuthTestResult).GetProperties().Where(p => p.PropertyType == typeof(string)))
            {
                if (property.GetValue(r) is string value)
                {
                    texts.Add((property.Name, value));
                }
            }

            texts.AddRange(sink.Verbose.Concat(sink.Warnings).Concat(sink.Debug).Select(m => ("stream", m)));
            foreach (string secret in secrets)
            {
                foreach ((string where, string text) in texts)
                {
                    Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{where} holds '{secret}': {text}");
                }
            }

            Assert.Equal("535 5.7.8 Authentication failed for input ******** (" + (mechanism switch
            {
                SmtpAuthMechanism.XOAuth2 => "user=dave@example.test auth=Bearer ********",
                SmtpAuthMechanism.Plain => "dave@example.test ********",
                _ => "********",
            }) + ")", r.ReplyText);
            Assert.Contains("S: 535 5.7.8 Authentication failed for input ******** (", r.Transcript, StringComparison.Ordinal);
        }
    }
}
