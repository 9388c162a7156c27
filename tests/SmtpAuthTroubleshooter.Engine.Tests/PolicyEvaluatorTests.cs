using System;
using System.Collections.Generic;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    public class PolicyEvaluatorTests
    {
        private static readonly DateTime Now = new DateTime(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);
        private const string UserId = "11111111-1111-1111-1111-111111111111";

        private static TenantPolicyData Tenant(bool? smtpDisabled = true, string? defaultPolicy = null, bool securityDefaults = false, params ConditionalAccessPolicy[] ca) => new TenantPolicyData
        {
            TransportRead = true,
            SmtpAuthDisabled = smtpDisabled,
            OrganizationRead = true,
            DefaultAuthenticationPolicy = defaultPolicy,
            AuthenticationPolicies = new Dictionary<string, (string, bool?)>(StringComparer.OrdinalIgnoreCase)
            {
                ["Allow SMTP"] = ("Allow SMTP", true),
                ["Block Basic"] = ("Block Basic", false),
            },
            SecurityDefaultsEnabled = securityDefaults,
            ConditionalAccessPolicies = new List<ConditionalAccessPolicy>(ca),
        };

        private static MailboxPolicyData Mailbox(bool? mailboxDisabled = null, string? userPolicy = null) => new MailboxPolicyData
        {
            UserPrincipalName = "app@contoso.com",
            PrimarySmtpAddress = "app@contoso.com",
            RecipientTypeDetails = "UserMailbox",
            ExternalDirectoryObjectId = UserId,
            CasRead = true,
            MailboxSmtpAuthDisabled = mailboxDisabled,
            UserRead = true,
            UserAuthenticationPolicy = userPolicy,
            AccountEnabled = true,
            PerUserMfaState = "disabled",
            GroupIds = new HashSet<string>(),
            RoleTemplateIds = new HashSet<string>(),
        };

        private static ConditionalAccessPolicy LegacyBlock(string state = "enabled", string[]? excludeUsers = null, string[]? excludeGroups = null, string grant = "block") => new ConditionalAccessPolicy
        {
            Id = "p1",
            DisplayName = "Block legacy authentication",
            State = state,
            ClientAppTypes = new[] { "exchangeActiveSync", "other" },
            IncludeApplications = new[] { "All" },
            IncludeUsers = new[] { "All" },
            ExcludeUsers = excludeUsers ?? Array.Empty<string>(),
            ExcludeGroups = excludeGroups ?? Array.Empty<string>(),
            GrantControls = new[] { grant },
        };

        [Fact]
        public void Mailbox_false_overrides_tenant_true()
        {
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(Tenant(smtpDisabled: true), Mailbox(mailboxDisabled: false), Now);
            Assert.True(s.SmtpAuthEnabled);
            Assert.Equal("Mailbox", s.SmtpAuthDecidedBy);
            Assert.Equal(PolicyVerdict.Allowed, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public void Mailbox_true_overrides_tenant_false()
        {
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(Tenant(smtpDisabled: false), Mailbox(mailboxDisabled: true), Now);
            Assert.False(s.SmtpAuthEnabled);
            Assert.Equal(PolicyVerdict.Blocked, s.BasicAuthVerdict);
            Assert.Equal("MailboxSmtpAuthDisabled", s.BasicAuthBlockedBy);
            Assert.Equal("MailboxSmtpAuthDisabled", s.OAuthBlockedBy);
        }

        [Fact]
        public void Null_mailbox_inherits_the_tenant()
        {
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(Tenant(smtpDisabled: true), Mailbox(mailboxDisabled: null), Now);
            Assert.Equal("Tenant", s.SmtpAuthDecidedBy);
            Assert.Equal("TenantSmtpAuthDisabled", s.BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Blocked, s.OAuthVerdict);
        }

        [Fact]
        public void The_user_policy_wins_over_the_organization_default()
        {
            SmtpAuthPolicyState allowed = PolicyEvaluator.Evaluate(Tenant(false, defaultPolicy: "Block Basic"), Mailbox(userPolicy: "Allow SMTP"), Now);
            Assert.Equal("Allow SMTP", allowed.AuthenticationPolicy);
            Assert.Equal("User", allowed.AuthenticationPolicySource);
            Assert.Equal(PolicyVerdict.Allowed, allowed.BasicAuthVerdict);

            SmtpAuthPolicyState blocked = PolicyEvaluator.Evaluate(Tenant(false, defaultPolicy: "Block Basic"), Mailbox(), Now);
            Assert.Equal("OrganizationDefault", blocked.AuthenticationPolicySource);
            Assert.Equal("AuthenticationPolicyBlocksBasicSmtp", blocked.BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Allowed, blocked.OAuthVerdict);
        }

        [Fact]
        public void Security_defaults_block_basic_but_not_oauth()
        {
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(Tenant(false, securityDefaults: true), Mailbox(), Now);
            Assert.Equal("SecurityDefaultsBlockBasicAuth", s.BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public void Report_only_CA_is_shown_but_not_enforced()
        {
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(Tenant(false, ca: LegacyBlock(state: "enabledForReportingButNotEnforced")), Mailbox(), Now);
            Assert.Null(s.BlockingConditionalAccessPolicies);
            Assert.Equal("Block legacy authentication", s.ReportOnlyConditionalAccessPolicies);
            Assert.Equal(PolicyVerdict.Allowed, s.BasicAuthVerdict);
        }

        [Fact]
        public void An_enabled_CA_block_blocks_and_an_excluded_user_or_group_is_not_blocked()
        {
            Assert.Equal("ConditionalAccessBlocksLegacyAuth", PolicyEvaluator.Evaluate(Tenant(false, ca: LegacyBlock()), Mailbox(), Now).BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Allowed, PolicyEvaluator.Evaluate(Tenant(false, ca: LegacyBlock(excludeUsers: new[] { UserId })), Mailbox(), Now).BasicAuthVerdict);
            MailboxPolicyData member = Mailbox();
            member.GroupIds!.Add("g-exclude");
            Assert.Equal(PolicyVerdict.Allowed, PolicyEvaluator.Evaluate(Tenant(false, ca: LegacyBlock(excludeGroups: new[] { "g-exclude" })), member, Now).BasicAuthVerdict);
        }

        [Fact]
        public void A_CA_MFA_grant_is_MfaRequired_and_unknown_membership_is_unknown()
        {
            Assert.Equal("MfaRequired", PolicyEvaluator.Evaluate(Tenant(false, ca: LegacyBlock(grant: "mfa")), Mailbox(), Now).BasicAuthBlockedBy);
            MailboxPolicyData noGroups = Mailbox();
            noGroups.GroupIds = null;
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(Tenant(false, ca: LegacyBlock(excludeGroups: new[] { "g" })), noGroups, Now);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Contains("membership", s.UnknownReasons, StringComparison.Ordinal);
        }

        [Fact]
        public void A_failed_read_makes_only_its_fields_unknown()
        {
            TenantPolicyData t = Tenant(false);
            t.SecurityDefaultsEnabled = null;
            t.UnknownReasons.Add("Security defaults: 403 Authorization_RequestDenied; grant Policy.Read.All.");
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(t, Mailbox(), Now);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
            Assert.True(s.SmtpAuthEnabled);
            Assert.Contains("Policy.Read.All", s.UnknownReasons, StringComparison.Ordinal);

            // ...but a known block still decides.
            TenantPolicyData blocked = Tenant(true);
            blocked.SecurityDefaultsEnabled = null;
            Assert.Equal(PolicyVerdict.Blocked, PolicyEvaluator.Evaluate(blocked, Mailbox(), Now).BasicAuthVerdict);
        }

        [Fact]
        public void App_only_checks_service_principal_permission_and_role()
        {
            MailboxPolicyData m = Mailbox(false);
            m.ClientId = "app";
            m.ServicePrincipalRegistered = true;
            m.ServicePrincipalObjectIdMatches = false;
            m.ServicePrincipalHasMailboxAccess = false;
            m.AppHasSmtpSendAsApp = true;
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(Tenant(true), m, Now);
            Assert.Equal("ServicePrincipalNotRegistered; MailboxPermissionMissing", s.OAuthBlockedBy);
        }

        [Fact]
        public void Shared_mailbox_and_disabled_account_block_basic()
        {
            MailboxPolicyData m = Mailbox(false);
            m.RecipientTypeDetails = "SharedMailbox";
            m.AccountEnabled = false;
            SmtpAuthPolicyState s = PolicyEvaluator.Evaluate(Tenant(true), m, Now);
            Assert.Contains("SharedMailboxSignIn", s.BasicAuthBlockedBy, StringComparison.Ordinal);

            // A shared mailbox's sign-in is blocked by design: not a block to lift (enabling it is not the fix), and no
            // block for OAuth, where an app-only token or a user's delegated token names the shared mailbox.
            Assert.DoesNotContain("AccountDisabled", s.BasicAuthBlockedBy, StringComparison.Ordinal);
            Assert.DoesNotContain("AccountDisabled", s.OAuthBlockedBy ?? string.Empty, StringComparison.Ordinal);
            Assert.NotEqual(PolicyVerdict.Blocked, s.OAuthVerdict);

            m.RecipientTypeDetails = "UserMailbox";
            s = PolicyEvaluator.Evaluate(Tenant(true), m, Now);
            Assert.Contains("AccountDisabled", s.BasicAuthBlockedBy, StringComparison.Ordinal);
            Assert.Contains("AccountDisabled", s.OAuthBlockedBy, StringComparison.Ordinal);
        }
    }
}
