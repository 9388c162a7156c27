using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using MailKit.Security;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 9: the probe against any submission server, not only Exchange Online: the mechanism chosen from what the
    /// server advertises, secrets only for a server that asks for them, any user name, a silent port, one time-out.
    /// </summary>
    public class ProbeServerTests
    {
        private static ProbeRequest Password(SmtpAuthMechanism mechanism = SmtpAuthMechanism.Auto) => new ProbeRequest
        {
            UserName = "dave",
            Password = new System.Security.SecureString(),
            Mechanism = mechanism,
        };

        [Theory]
        [InlineData("LOGIN PLAIN", "LOGIN")]
        [InlineData("PLAIN LOGIN", "LOGIN")]
        [InlineData("PLAIN", "PLAIN")]                  // Dovecot's default: today's AUTH LOGIN got a 504
        [InlineData("XOAUTH2 PLAIN", "PLAIN")]
        [InlineData("CRAM-MD5 plain", "PLAIN")]         // names are case-insensitive
        public void A_password_uses_LOGIN_if_offered_else_PLAIN(string offered, string expected)
        {
            SmtpProbe.MechanismChoice choice = SmtpProbe.ChooseMechanism(Password(), null, offered.Split(' '));
            Assert.Null(choice.Refusal);
            Assert.Equal(expected, choice.Mechanism!.MechanismName);
            Assert.Null(choice.Note);
        }

        [Theory]
        [InlineData("XOAUTH2")]
        [InlineData("CRAM-MD5 XOAUTH2")]
        [InlineData("")]
        public void A_password_is_not_sent_without_a_password_mechanism(string offered)
        {
            SmtpProbe.MechanismChoice choice = SmtpProbe.ChooseMechanism(Password(), null, offered.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            Assert.Null(choice.Mechanism);
            Assert.Contains("the password was not sent", choice.Refusal, StringComparison.Ordinal);
        }

        [Fact]
        public void A_token_goes_only_to_a_server_that_advertises_XOAUTH2()
        {
            var request = new ProbeRequest { UserName = "user@example.test", Mechanism = SmtpAuthMechanism.XOAuth2 };
            SmtpProbe.MechanismChoice refused = SmtpProbe.ChooseMechanism(request, "eyJ.token.sig", new[] { "PLAIN", "LOGIN" });
            Assert.Null(refused.Mechanism);
            Assert.Contains("does not advertise AUTH XOAUTH2 (it offers: PLAIN LOGIN), so the OAuth token was not sent", refused.Refusal, StringComparison.Ordinal);

            SmtpProbe.MechanismChoice used = SmtpProbe.ChooseMechanism(request, "eyJ.token.sig", new[] { "LOGIN", "XOAUTH2" });
            Assert.Equal("XOAUTH2", used.Mechanism!.MechanismName);
        }

        [Fact]
        public void A_forced_mechanism_the_server_does_not_advertise_is_tried_without_an_initial_response()
        {
            // -Mechanism still forces one; the credentials go only if the server answers 334 (asks for them).
            SmtpProbe.MechanismChoice plain = SmtpProbe.ChooseMechanism(Password(SmtpAuthMechanism.Plain), null, new[] { "LOGIN" });
            Assert.Equal("PLAIN", plain.Mechanism!.MechanismName);
            Assert.False(plain.Mechanism.SupportsInitialResponse);
            Assert.Contains("does not advertise AUTH PLAIN", plain.Note, StringComparison.Ordinal);

            SmtpProbe.MechanismChoice login = SmtpProbe.ChooseMechanism(Password(SmtpAuthMechanism.Login), null, new[] { "PLAIN" });
            Assert.Equal("LOGIN", login.Mechanism!.MechanismName);
            Assert.False(login.Mechanism.SupportsInitialResponse);

            SmtpProbe.MechanismChoice advertised = SmtpProbe.ChooseMechanism(Password(SmtpAuthMechanism.Plain), null, new[] { "LOGIN", "PLAIN" });
            Assert.Equal("PLAIN", advertised.Mechanism!.MechanismName);
            Assert.Null(advertised.Note);
        }

        [Fact]
        public void Auth_mechanisms_keep_the_servers_order_across_both_AUTH_forms()
        {
            string[] ehlo = { "250-mail.example.test", "250-PIPELINING", "250-AUTH XOAUTH2 PLAIN LOGIN", "250-AUTH=LOGIN PLAIN", "250 8BITMIME" };
            Assert.Equal(new[] { "XOAUTH2", "PLAIN", "LOGIN" }, SmtpProbe.AuthMechanisms(ehlo));
        }

        [Theory]
        [InlineData("user@contoso.com", true)]
        [InlineData("dave", false)]
        [InlineData("contoso-acs.11111111-2222-3333-4444-555555555555.66666666-7777-8888-9999-000000000000", false)]
        [InlineData("CONTOSO\\dave", false)]
        [InlineData("@contoso.com", false)]
        [InlineData("dave@", false)]
        [InlineData("a@b@c", false)]
        [InlineData("", false)]
        public void A_upn_is_user_at_domain(string name, bool expected)
        {
            Assert.Equal(expected, SmtpProbe.LooksLikeUpn(name));
        }

        [Fact]
        public void Whichever_timer_fires_the_failure_is_the_same()
        {
            // Issue 9: under load MailKit's own TimeoutException used to win the race against the probe's token.
            var log = new TranscriptLogger(System.Diagnostics.Stopwatch.StartNew());
            log.Enter(SmtpPhase.Banner);
            var request = new ProbeRequest { Port = 2525, Timeout = TimeSpan.FromSeconds(3) };
            SmtpProbe.Failure ours = SmtpProbe.Failure.From(new OperationCanceledException(), log, timedOut: true, certificateSeen: false, request, "127.0.0.1")!;
            SmtpProbe.Failure closed = SmtpProbe.Failure.From(new IOException("aborted"), log, timedOut: true, certificateSeen: false, request, "127.0.0.1")!;
            SmtpProbe.Failure mailKits = SmtpProbe.Failure.From(new TimeoutException("Operation timed out after 3000 milliseconds"), log, timedOut: false, certificateSeen: false, request, "127.0.0.1")!;
            Assert.Equal(SmtpPhase.Banner, ours.Phase);
            Assert.Equal((ours.Phase, ours.Message), (closed.Phase, closed.Message));
            Assert.Equal((ours.Phase, ours.Message), (mailKits.Phase, mailKits.Message));
            Assert.DoesNotContain("TimeoutException", mailKits.Message, StringComparison.Ordinal);

            log.Enter(SmtpPhase.Auth);
            SmtpProbe.Failure auth = SmtpProbe.Failure.From(new TimeoutException("Operation timed out after 3000 milliseconds"), log, timedOut: false, certificateSeen: false, request, "127.0.0.1")!;
            Assert.Equal("The operation timed out after 3 s during Auth.", auth.Message);
        }

        [Fact]
        public async Task A_silent_port_is_not_a_blocked_port_even_when_MailKits_timer_fires_first()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var accepted = new List<TcpClient>();
            Task accept = Task.Run(async () => accepted.Add(await listener.AcceptTcpClientAsync().ConfigureAwait(false)));
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var request = new ProbeRequest { Server = "127.0.0.1", Port = port, Timeout = TimeSpan.FromSeconds(5), Mechanism = SmtpAuthMechanism.None };

            // MailKit's own limit 300 ms, the probe's 5 s: MailKit's TimeoutException comes first.
            SmtpAuthTestResult result = await new SmtpProbe(null, _ => 300).RunAsync(request, new NullSink(), CancellationToken.None);
            await accept;
            accepted.ForEach(c => c.Dispose());

            Assert.False(result.Succeeded);
            Assert.Equal(SmtpPhase.Banner, result.FailedPhase);
            Assert.Contains("(the port answered), but the service there sent no SMTP greeting", result.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("TimeoutException", result.Message, StringComparison.Ordinal);

            IReadOnlyList<SmtpAuthFinding> findings = new SmtpAuthErrorResolver().Resolve(new ErrorEvidence(result.Message!) { FailedPhase = result.FailedPhase });
            Assert.Equal("NoSmtpGreeting", findings[0].CauseId);
            Assert.DoesNotContain(findings, f => f.CauseId == "ConnectionFailed");
        }

        [Fact]
        public void The_refusal_to_send_a_secret_resolves_to_AuthMechanismUnsupported()
        {
            SmtpProbe.MechanismChoice refused = SmtpProbe.ChooseMechanism(new ProbeRequest { UserName = "u@example.test" }, "tok", new[] { "PLAIN", "LOGIN" });
            IReadOnlyList<SmtpAuthFinding> oauth = new SmtpAuthErrorResolver().Resolve(new ErrorEvidence(refused.Refusal!) { AuthMethod = SmtpAuthMethod.OAuth, FailedPhase = SmtpPhase.Auth });
            Assert.Equal("AuthMechanismUnsupported", oauth[0].CauseId);
            Assert.Equal(Verdict.Likely, oauth[0].Verdict);
            Assert.DoesNotContain(oauth, f => f.CauseId == "BasicAuthRetired");

            SmtpProbe.MechanismChoice noPassword = SmtpProbe.ChooseMechanism(Password(), null, new[] { "XOAUTH2" });
            IReadOnlyList<SmtpAuthFinding> basic = new SmtpAuthErrorResolver().Resolve(new ErrorEvidence(noPassword.Refusal!) { AuthMethod = SmtpAuthMethod.Basic, FailedPhase = SmtpPhase.Auth });
            Assert.Equal("AuthMechanismUnsupported", basic[0].CauseId);
        }

        [Fact]
        public void A_non_upn_name_refused_by_Exchange_Online_is_diagnosed_UserNameNotUpn()
        {
            const string reply = "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [SN4PR0201CA0040.namprd02.prod.outlook.com]";
            var resolver = new SmtpAuthErrorResolver();
            IReadOnlyList<SmtpAuthFinding> exo = resolver.Resolve(new ErrorEvidence(reply)
            {
                AuthMethod = SmtpAuthMethod.Basic, FailedPhase = SmtpPhase.Auth, SignInName = "dave", ExchangeOnlineEndpoint = true,
            });
            Assert.Equal("UserNameNotUpn", exo[0].CauseId);
            Assert.Equal(Verdict.Likely, exo[0].Verdict);
            Assert.Contains("'dave'", exo[0].Evidence, StringComparison.Ordinal);
            Assert.Equal(1, exo.Count(f => f.CauseId == "UserNameNotUpn"));

            // The same reply for a UPN, or from a server that is not Exchange Online, keeps the catalog's ranking.
            Assert.Equal("InvalidCredentials", resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic, FailedPhase = SmtpPhase.Auth, SignInName = "dave@contoso.com", ExchangeOnlineEndpoint = true })[0].CauseId);
            Assert.Equal("InvalidCredentials", resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic, FailedPhase = SmtpPhase.Auth, SignInName = "dave", ExchangeOnlineEndpoint = false })[0].CauseId);
        }

        private sealed class NullSink : IDiagnosticSink
        {
            public void Verbose(string message)
            {
            }

            public void Warning(string message)
            {
            }

            public void Debug(string message)
            {
            }

            public void Progress(string activity, string status, int percentComplete)
            {
            }

            public void Progress(string activity, string status, int percentComplete, int secondsRemaining)
            {
            }
        }
    }
}
