using System;
using System.Collections.Generic;
using System.Linq;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>Issue 10: verdicts that hold. Confirmed only on decisive evidence; facts that decide nothing are shown.</summary>
    public class VerdictRuleTests
    {
        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        private readonly SmtpAuthErrorResolver _resolver = new SmtpAuthErrorResolver(clock: () => Now);

        // A state built by hand, as Get-SmtpAuthPolicyState returns it: SMTP AUTH on, nothing else blocking.
        private static SmtpAuthPolicyState State(string perUserMfa = "disabled") => new SmtpAuthPolicyState
        {
            UserPrincipalName = "app@contoso.com",
            PrimarySmtpAddress = "app@contoso.com",
            RecipientTypeDetails = "UserMailbox",
            TenantSmtpAuthDisabled = false,
            MailboxSmtpAuthDisabled = null,
            SmtpAuthEnabled = true,
            SmtpAuthDecidedBy = "Tenant",
            AuthenticationPolicySource = "None",
            SecurityDefaultsEnabled = false,
            ConditionalAccessEvaluatedBy = "Local",
            PerUserMfaState = perUserMfa,
            AccountEnabled = true,
            SmtpSignInCount = 0,
            ReadUtc = Now.UtcDateTime,
        };

        [Fact]
        public void Per_user_MFA_enabled_is_not_a_confirmed_cause_and_not_a_block()
        {
            // Microsoft: an "enabled" user "can still use their password for legacy authentication".
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = State("enabled"),
            });
            Assert.DoesNotContain(f, x => x.CauseId == "MfaRequired" && x.Verdict == Verdict.Confirmed);

            IReadOnlyList<SmtpAuthFinding> mfa = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = State("enabled"),
            });
            SmtpAuthFinding? m = mfa.FirstOrDefault(x => x.CauseId == "MfaRequired");
            Assert.NotNull(m);
            Assert.NotEqual(Verdict.Confirmed, m!.Verdict);
            Assert.Contains("enabled but not enforced", m.Evidence, StringComparison.Ordinal);

            SmtpAuthPolicyState evaluated = Policy.PolicyEvaluator.Evaluate(
                new Policy.TenantPolicyData { TransportRead = true, SmtpAuthDisabled = false, OrganizationRead = true, SecurityDefaultsEnabled = false, ConditionalAccessPolicies = new List<Policy.ConditionalAccessPolicy>() },
                new Policy.MailboxPolicyData { UserPrincipalName = "app@contoso.com", RecipientTypeDetails = "UserMailbox", ExternalDirectoryObjectId = "1", CasRead = true, UserRead = true, AccountEnabled = true, PerUserMfaState = "enabled", GroupIds = new HashSet<string>(), RoleTemplateIds = new HashSet<string>() },
                Now.UtcDateTime);
            Assert.NotEqual(PolicyVerdict.Blocked, evaluated.BasicAuthVerdict);
            Assert.DoesNotContain("MfaRequired", evaluated.BasicAuthBlockedBy ?? string.Empty, StringComparison.Ordinal);
        }

        [Fact]
        public void Per_user_MFA_enforced_confirms_MfaRequired_and_blocks_basic_auth()
        {
            IReadOnlyList<SmtpAuthFinding> mfa = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = State("enforced"),
            });
            Assert.Equal(Verdict.Confirmed, mfa.First(x => x.CauseId == "MfaRequired").Verdict);

            SmtpAuthPolicyState evaluated = Policy.PolicyEvaluator.Evaluate(
                new Policy.TenantPolicyData { TransportRead = true, SmtpAuthDisabled = false, OrganizationRead = true, SecurityDefaultsEnabled = false, ConditionalAccessPolicies = new List<Policy.ConditionalAccessPolicy>() },
                new Policy.MailboxPolicyData { UserPrincipalName = "app@contoso.com", RecipientTypeDetails = "UserMailbox", ExternalDirectoryObjectId = "1", CasRead = true, UserRead = true, AccountEnabled = true, PerUserMfaState = "enforced", GroupIds = new HashSet<string>(), RoleTemplateIds = new HashSet<string>() },
                Now.UtcDateTime);
            Assert.Equal(PolicyVerdict.Blocked, evaluated.BasicAuthVerdict);
            Assert.Contains("MfaRequired", evaluated.BasicAuthBlockedBy, StringComparison.Ordinal);
        }

        [Fact]
        public void Sign_in_code_50034_points_to_the_user_name_not_the_password()
        {
            SmtpAuthPolicyState s = State();
            s.LastSmtpSignInErrorCode = 50034;
            s.LastSmtpSignInUtc = Now.UtcDateTime.AddMinutes(-5);
            s.SmtpSignInCount = 1;
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = s,
            });
            Assert.Equal("UserNameNotUpn", f[0].CauseId);
            Assert.Equal(Verdict.Confirmed, f[0].Verdict);
            Assert.NotEqual(Verdict.Confirmed, f.First(x => x.CauseId == "InvalidCredentials").Verdict);
        }

        [Fact]
        public void The_no_Authenticated_SMTP_sign_in_remark_is_for_basic_auth_only()
        {
            const string reply = "535 5.7.3 Authentication unsuccessful [SN4PR0201CA0040.namprd02.prod.outlook.com]";
            IReadOnlyList<SmtpAuthFinding> oauth = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth, PolicyState = State() });
            Assert.DoesNotContain(oauth, x => x.Evidence.Contains("Authenticated SMTP sign-in", StringComparison.Ordinal));

            IReadOnlyList<SmtpAuthFinding> basic = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = State() });
            Assert.Contains("No Authenticated SMTP sign-in", basic[0].Evidence, StringComparison.Ordinal);
        }
    }
}
