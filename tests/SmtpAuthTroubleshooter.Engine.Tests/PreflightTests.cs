using System;
using System.Collections.Generic;
using System.Linq;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the pre-flight (a policy state and no error text). Each blocking setting is one
    /// Likely finding that names the methods it blocks; the sign-in log's code adds its cause once; when nothing blocks,
    /// the one advisory lists exactly what was read and found fine, and what was not read.
    /// </summary>
    public class PreflightTests
    {
        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        private readonly SmtpAuthErrorResolver _resolver = new SmtpAuthErrorResolver(clock: () => Now);

        private static SmtpAuthPolicyState Fine() => new SmtpAuthPolicyState
        {
            UserPrincipalName = "app@contoso.com",
            SmtpAuthEnabled = true,
            SmtpAuthDecidedBy = "Mailbox",
            AuthenticationPolicySource = "None",
            SecurityDefaultsEnabled = false,
            ConditionalAccessEvaluatedBy = "Local",
            PerUserMfaState = "disabled",
            AccountEnabled = true,
            BasicAuthVerdict = PolicyVerdict.Allowed,
            OAuthVerdict = PolicyVerdict.Allowed,
            ReadUtc = Now.UtcDateTime,
        };

        private IReadOnlyList<SmtpAuthFinding> Preflight(SmtpAuthPolicyState s) => _resolver.Resolve(new ErrorEvidence("  ") { PolicyState = s });

        [Fact]
        public void Nothing_blocking_gives_one_advisory_that_lists_every_fact_found_fine()
        {
            SmtpAuthFinding f = Assert.Single(Preflight(Fine()));
            Assert.Equal("NoBlockingSetting", f.CauseId);
            Assert.Equal(Verdict.Advisory, f.Verdict);
            Assert.Equal(1, f.Rank);
            Assert.Equal(
                "Pre-flight: basic auth Allowed, OAuth Allowed. Read and found fine: SMTP AUTH is on (decided by the mailbox setting); no authentication policy applies; security defaults are off; no Conditional Access policy blocks it; the account is enabled. Everything needed was read.",
                f.Evidence);
        }

        [Fact]
        public void The_advisory_names_the_allowing_policy_and_leaves_out_what_was_not_read()
        {
            SmtpAuthPolicyState s = Fine();
            s.AuthenticationPolicySource = "User";
            s.AuthenticationPolicy = "Allow SMTP";
            s.AllowBasicAuthSmtp = true;
            s.SmtpAuthDecidedBy = null;
            s.SecurityDefaultsEnabled = null;
            s.ConditionalAccessEvaluatedBy = null;
            s.AccountEnabled = null;
            s.BasicAuthVerdict = PolicyVerdict.Unknown;
            s.UnknownReasons = "Security defaults: 403.";
            SmtpAuthFinding f = Assert.Single(Preflight(s));
            Assert.Equal(
                "Pre-flight: basic auth Unknown, OAuth Allowed. Read and found fine: SMTP AUTH is on (decided by the organization setting); authentication policy 'Allow SMTP' allows basic SMTP. Not read: Security defaults: 403.",
                f.Evidence);
        }

        [Fact]
        public void With_nothing_decisive_read_the_advisory_says_so()
        {
            var s = new SmtpAuthPolicyState { BasicAuthVerdict = PolicyVerdict.Unknown, OAuthVerdict = PolicyVerdict.Unknown, UnknownReasons = "Everything: 401.", ReadUtc = Now.UtcDateTime };
            SmtpAuthFinding f = Assert.Single(Preflight(s));
            Assert.Equal("Pre-flight: basic auth Unknown, OAuth Unknown. Read and found fine: nothing decisive. Not read: Everything: 401.", f.Evidence);

            // A CA evaluation that found a block is not "fine"; a policy that blocks is not "allows".
            SmtpAuthPolicyState blockedCa = Fine();
            blockedCa.BlockingConditionalAccessPolicies = "Block legacy";
            blockedCa.AuthenticationPolicySource = "User";
            blockedCa.AuthenticationPolicy = "Block Basic";
            blockedCa.AllowBasicAuthSmtp = false;
            SmtpAuthFinding g = Assert.Single(Preflight(blockedCa));
            Assert.DoesNotContain("Conditional Access", g.Evidence, StringComparison.Ordinal);
            Assert.DoesNotContain("authentication policy", g.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void A_setting_that_blocks_both_methods_is_one_finding_that_says_so()
        {
            SmtpAuthPolicyState s = Fine();
            s.SmtpAuthEnabled = false;
            s.BasicAuthVerdict = PolicyVerdict.Blocked;
            s.OAuthVerdict = PolicyVerdict.Blocked;
            s.BasicAuthBlockedBy = "MailboxSmtpAuthDisabled";
            s.OAuthBlockedBy = "MailboxSmtpAuthDisabled";
            s.MailboxSmtpAuthDisabled = true;
            SmtpAuthFinding f = Assert.Single(Preflight(s));
            Assert.Equal("MailboxSmtpAuthDisabled", f.CauseId);
            Assert.Equal(Verdict.Likely, f.Verdict);
            Assert.StartsWith("Pre-flight: the settings say basic auth will fail. ", f.Evidence, StringComparison.Ordinal);
            Assert.EndsWith(" It blocks OAuth too.", f.Evidence, StringComparison.Ordinal);
            Assert.Equal("Set-CASMailbox -Identity 'app@contoso.com' -SmtpClientAuthenticationDisabled $false", f.RemediationCommand);
        }

        [Fact]
        public void Each_blocker_is_a_finding_in_the_order_given_basic_first_then_OAuth()
        {
            SmtpAuthPolicyState s = Fine();
            s.SecurityDefaultsEnabled = true;
            s.AccountEnabled = false;
            s.BasicAuthVerdict = PolicyVerdict.Blocked;
            s.OAuthVerdict = PolicyVerdict.Blocked;
            s.BasicAuthBlockedBy = "SecurityDefaultsBlockBasicAuth; AccountDisabled";
            s.OAuthBlockedBy = "AccountDisabled; ServicePrincipalNotRegistered";
            IReadOnlyList<SmtpAuthFinding> f = Preflight(s);
            Assert.Equal(new[] { "SecurityDefaultsBlockBasicAuth", "AccountDisabled", "ServicePrincipalNotRegistered" }, f.Select(x => x.CauseId));
            Assert.All(f, x => Assert.Equal(Verdict.Likely, x.Verdict));
            Assert.Equal(new[] { 1, 2, 3 }, f.Select(x => x.Rank));
            Assert.EndsWith(" It blocks OAuth too.", f[1].Evidence, StringComparison.Ordinal);
            Assert.DoesNotContain("too.", f[0].Evidence, StringComparison.Ordinal);
            Assert.StartsWith("Pre-flight: the settings say OAuth will fail. ", f[2].Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void A_blocker_the_catalog_does_not_know_is_left_out()
        {
            SmtpAuthPolicyState s = Fine();
            s.BasicAuthVerdict = PolicyVerdict.Blocked;
            s.BasicAuthBlockedBy = "SomethingNew";
            SmtpAuthFinding f = Assert.Single(Preflight(s));
            Assert.Equal("NoBlockingSetting", f.CauseId);
        }

        [Fact]
        public void The_sign_in_code_adds_its_cause_once_with_the_failure_reason()
        {
            SmtpAuthPolicyState s = Fine();
            s.LastSmtpSignInErrorCode = 50126;
            s.LastSmtpSignInUtc = new DateTime(2026, 11, 30, 11, 0, 0, DateTimeKind.Utc);
            s.LastSmtpSignInFailureReason = "Invalid username or password.";
            SmtpAuthFinding f = Assert.Single(Preflight(s));
            Assert.Equal("InvalidCredentials", f.CauseId);
            Assert.Equal(Verdict.Likely, f.Verdict);
            Assert.Equal("Sign-in log: the latest Authenticated SMTP sign-in (2026-11-30 11:00:00Z) failed with 50126 (Invalid username or password.); the next basic-auth attempt is likely to fail the same way.", f.Evidence);

            // A cause the settings already name is not added twice; a code the catalog does not map adds nothing.
            SmtpAuthPolicyState disabled = Fine();
            disabled.AccountEnabled = false;
            disabled.BasicAuthVerdict = PolicyVerdict.Blocked;
            disabled.BasicAuthBlockedBy = "AccountDisabled";
            disabled.LastSmtpSignInErrorCode = 50057;
            disabled.LastSmtpSignInUtc = s.LastSmtpSignInUtc;
            Assert.Equal(new[] { "AccountDisabled" }, Preflight(disabled).Select(x => x.CauseId));

            SmtpAuthPolicyState unmapped = Fine();
            unmapped.LastSmtpSignInErrorCode = 1;
            Assert.Equal("NoBlockingSetting", Assert.Single(Preflight(unmapped)).CauseId);
        }

        [Fact]
        public void The_retirement_note_comes_with_basic_sign_ins_in_the_window_unless_basic_is_blocked()
        {
            SmtpAuthPolicyState s = Fine();
            s.SmtpSignInCount = 5;
            Assert.Contains(Preflight(s), x => x.CauseId == "BasicAuthRetired");

            s.SmtpSignInCount = 0;
            Assert.DoesNotContain(Preflight(s), x => x.CauseId == "BasicAuthRetired");

            SmtpAuthPolicyState blocked = Fine();
            blocked.SmtpSignInCount = 5;
            blocked.SecurityDefaultsEnabled = true;
            blocked.BasicAuthVerdict = PolicyVerdict.Blocked;
            blocked.BasicAuthBlockedBy = "SecurityDefaultsBlockBasicAuth";
            Assert.DoesNotContain(Preflight(blocked), x => x.CauseId == "BasicAuthRetired");
        }
    }
}
