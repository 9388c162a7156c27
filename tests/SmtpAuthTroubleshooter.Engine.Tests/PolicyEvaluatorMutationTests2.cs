using System;
using System.Collections.Generic;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the evaluator's unknowns add up. PolicyEvaluatorMutationTests leaves one fact
    /// unknown at a time; here two are, so that a rule that lets a second unknown cancel the first (an exclusive or
    /// instead of an or) turns an Unknown into an Allowed the admin would trust.
    /// </summary>
    public class PolicyEvaluatorMutationTests2
    {
        private static readonly DateTime Now = new DateTime(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);
        private const string UserId = "11111111-1111-1111-1111-111111111111";

        // Every read succeeded and nothing blocks: the baseline of PolicyEvaluatorMutationTests.
        private static TenantPolicyData Tenant() => PolicyEvaluatorMutationTests.Tenant();

        private static MailboxPolicyData Mailbox() => PolicyEvaluatorMutationTests.Mailbox();

        // Leaves one fact of basic auth unknown, each the way a failed read leaves it.
        private static void Unknown(string fact, TenantPolicyData t, MailboxPolicyData m)
        {
            switch (fact)
            {
                case "smtp": m.CasRead = false; break;
                case "policy": m.UserRead = false; break;
                case "securityDefaults": t.SecurityDefaultsEnabled = null; break;
                case "conditionalAccess": t.ConditionalAccessPolicies = null; break;
                case "membership":
                    t.ConditionalAccessPolicies!.Add(new ConditionalAccessPolicy
                    {
                        DisplayName = "Block legacy except break-glass",
                        State = "enabled",
                        ClientAppTypes = new[] { "other" },
                        IncludeApplications = new[] { "All" },
                        IncludeUsers = new[] { "All" },
                        ExcludeGroups = new[] { "g-break-glass" },
                        GrantControls = new[] { "block" },
                    });
                    m.GroupIds = null;
                    break;
                case "perUserMfa": m.PerUserMfaState = null; break;
                default: m.AccountEnabled = null; break;
            }
        }

        [Theory]
        [InlineData("smtp", "policy")]
        [InlineData("policy", "securityDefaults")]
        [InlineData("securityDefaults", "conditionalAccess")]
        [InlineData("securityDefaults", "membership")]
        [InlineData("membership", "perUserMfa")]
        [InlineData("securityDefaults", "perUserMfa")]
        [InlineData("perUserMfa", "account")]
        [InlineData("securityDefaults", "account")]
        public void Two_unknown_facts_leave_basic_auth_unknown_they_never_cancel_out(string first, string second)
        {
            TenantPolicyData t = Tenant();
            MailboxPolicyData m = Mailbox();
            Unknown(first, t, m);
            Unknown(second, t, m);
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(t, m, Now);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Null(s.BasicAuthBlockedBy);
        }

        [Theory]
        [InlineData("registered")]
        [InlineData("role")]
        [InlineData("objectId")]
        [InlineData("access")]
        public void An_app_only_fact_not_read_keeps_OAuth_unknown_when_the_SMTP_AUTH_switch_is_unknown_too(string missing)
        {
            MailboxPolicyData m = Mailbox();
            m.CasRead = false;
            m.ClientId = "app";
            m.ServicePrincipalRegistered = true;
            m.ServicePrincipalObjectIdMatches = true;
            m.ServicePrincipalHasMailboxAccess = true;
            m.AppHasSmtpSendAsApp = true;
            switch (missing)
            {
                case "registered": m.ServicePrincipalRegistered = null; break;
                case "role": m.AppHasSmtpSendAsApp = null; break;
                case "objectId": m.ServicePrincipalObjectIdMatches = null; break;
                default: m.ServicePrincipalHasMailboxAccess = null; break;
            }

            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(Tenant(), m, Now);
            Assert.Null(s.SmtpAuthEnabled);
            Assert.Equal(PolicyVerdict.Unknown, s.OAuthVerdict);
            Assert.Null(s.OAuthBlockedBy);
        }

        [Fact]
        public void With_the_SMTP_AUTH_switch_unknown_and_the_app_fully_in_place_OAuth_is_still_unknown()
        {
            MailboxPolicyData m = Mailbox();
            m.CasRead = false;
            m.ClientId = "app";
            m.ServicePrincipalRegistered = true;
            m.ServicePrincipalObjectIdMatches = true;
            m.ServicePrincipalHasMailboxAccess = true;
            m.AppHasSmtpSendAsApp = true;
            Assert.Equal(PolicyVerdict.Unknown, PolicyEvaluator.Evaluate(Tenant(), m, Now).OAuthVerdict);
        }
    }
}
