using System;
using System.Collections.Generic;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the policy evaluator's rules one by one, each from a state where everything else is
    /// known and allows, so that a rule that is dropped, inverted or counts the unknown as known changes the verdict.
    /// </summary>
    public class PolicyEvaluatorMutationTests
    {
        private static readonly DateTime Now = new DateTime(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);
        private const string UserId = "11111111-1111-1111-1111-111111111111";

        // Every read succeeded and nothing blocks: basic auth and OAuth are Allowed, and no reason is unknown.
        internal static TenantPolicyData Tenant() => new TenantPolicyData
        {
            TransportRead = true,
            SmtpAuthDisabled = false,
            AllowLegacyTls = false,
            OrganizationRead = true,
            DefaultAuthenticationPolicy = null,
            AuthenticationPolicies = new Dictionary<string, (string, bool?)>(StringComparer.OrdinalIgnoreCase)
            {
                ["Allow SMTP"] = ("Allow SMTP", true),
                ["CN=Allow SMTP,CN=Auth Policies,DC=contoso"] = ("Allow SMTP", true),
                ["Block Basic"] = ("Block Basic", false),
                ["Half Read"] = ("Half Read", null),
            },
            SecurityDefaultsEnabled = false,
            ConditionalAccessPolicies = new List<ConditionalAccessPolicy>(),
        };

        internal static MailboxPolicyData Mailbox() => new MailboxPolicyData
        {
            UserPrincipalName = "app@contoso.com",
            PrimarySmtpAddress = "app@contoso.com",
            RecipientTypeDetails = "UserMailbox",
            ExternalDirectoryObjectId = UserId,
            CasRead = true,
            MailboxSmtpAuthDisabled = null,
            UserRead = true,
            AccountEnabled = true,
            UserType = "Member",
            PerUserMfaState = "disabled",
            GroupIds = new HashSet<string>(),
            RoleTemplateIds = new HashSet<string>(),
        };

        private static ConditionalAccessPolicy Policy(string name, string grant = "block", bool dependsOnSource = false, string state = "enabled") => new ConditionalAccessPolicy
        {
            Id = name.ToUpperInvariant(),
            DisplayName = name,
            State = state,
            ClientAppTypes = new[] { "other" },
            IncludeApplications = new[] { "All" },
            IncludeUsers = new[] { "All" },
            GrantControls = new[] { grant },
            DependsOnSource = dependsOnSource,
        };

        private static SmtpAuthPolicyState Evaluate(TenantPolicyData t, MailboxPolicyData m) => PolicyEvaluator.Evaluate(t, m, Now);

        [Fact]
        public void The_baseline_is_allowed_both_ways_with_nothing_unknown()
        {
            SmtpAuthPolicyState s = Evaluate(Tenant(), Mailbox());
            Assert.Equal(PolicyVerdict.Allowed, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
            Assert.Null(s.BasicAuthBlockedBy);
            Assert.Null(s.OAuthBlockedBy);
            Assert.Null(s.UnknownReasons);
            Assert.True(s.SmtpAuthEnabled);
            Assert.Equal("Tenant", s.SmtpAuthDecidedBy);
            Assert.Equal("None", s.AuthenticationPolicySource);
            Assert.Null(s.AuthenticationPolicy);
            Assert.Equal("Local", s.ConditionalAccessEvaluatedBy);
        }

        [Fact]
        public void Every_fact_read_is_carried_into_the_state()
        {
            TenantPolicyData t = Tenant();
            t.AllowLegacyTls = true;
            MailboxPolicyData m = Mailbox();
            m.MailboxSmtpAuthDisabled = false;
            m.LastSignInUtc = Now.AddHours(-1);
            m.LastSignInErrorCode = 50126;
            m.LastSignInFailureReason = "Invalid username or password.";
            m.LastSignInConditionalAccess = "Block legacy";
            m.SignInCount = 7;
            m.ClientId = "app-client";
            m.EnterpriseAppObjectId = "ent-app";
            m.ServicePrincipalRegistered = true;
            m.ServicePrincipalObjectIdMatches = true;
            m.ServicePrincipalHasMailboxAccess = true;
            m.AppHasSmtpSendAsApp = true;
            m.From = "shared@contoso.com";
            m.SendAsAllowed = true;
            m.PerUserMfaState = "Disabled";

            SmtpAuthPolicyState s = Evaluate(t, m);
            Assert.Equal("app@contoso.com", s.UserPrincipalName);
            Assert.Equal("app@contoso.com", s.PrimarySmtpAddress);
            Assert.Equal("UserMailbox", s.RecipientTypeDetails);
            Assert.Equal(UserId, s.ExternalDirectoryObjectId);
            Assert.False(s.TenantSmtpAuthDisabled);
            Assert.True(s.AllowLegacyTlsClients);
            Assert.False(s.MailboxSmtpAuthDisabled);
            Assert.False(s.SecurityDefaultsEnabled);
            Assert.Equal("Disabled", s.PerUserMfaState);
            Assert.True(s.AccountEnabled);
            Assert.Equal(Now.AddHours(-1), s.LastSmtpSignInUtc);
            Assert.Equal(50126, s.LastSmtpSignInErrorCode);
            Assert.Equal("Invalid username or password.", s.LastSmtpSignInFailureReason);
            Assert.Equal("Block legacy", s.LastSmtpSignInConditionalAccess);
            Assert.Equal(7, s.SmtpSignInCount);
            Assert.Equal("app-client", s.ClientId);
            Assert.Equal("ent-app", s.EnterpriseAppObjectId);
            Assert.True(s.ServicePrincipalRegistered);
            Assert.True(s.ServicePrincipalObjectIdMatches);
            Assert.True(s.ServicePrincipalHasMailboxAccess);
            Assert.True(s.AppHasSmtpSendAsApp);
            Assert.Equal("shared@contoso.com", s.From);
            Assert.True(s.SendAsAllowed);
            Assert.Equal(Now, s.ReadUtc);
            Assert.Equal(PolicyVerdict.Allowed, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        // --- SMTP AUTH switch ---

        [Fact]
        public void An_unread_CAS_mailbox_leaves_SMTP_AUTH_unknown_for_both_methods_even_with_the_tenant_known()
        {
            MailboxPolicyData m = Mailbox();
            m.CasRead = false;
            m.MailboxSmtpAuthDisabled = false;
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Null(s.SmtpAuthEnabled);
            Assert.Null(s.SmtpAuthDecidedBy);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Unknown, s.OAuthVerdict);
        }

        [Fact]
        public void An_unread_or_empty_transport_config_leaves_an_inheriting_mailbox_unknown()
        {
            TenantPolicyData notRead = Tenant();
            notRead.TransportRead = false;
            SmtpAuthPolicyState a = Evaluate(notRead, Mailbox());
            Assert.Null(a.SmtpAuthEnabled);
            Assert.Equal(PolicyVerdict.Unknown, a.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Unknown, a.OAuthVerdict);

            TenantPolicyData noValue = Tenant();
            noValue.SmtpAuthDisabled = null;
            SmtpAuthPolicyState b = Evaluate(noValue, Mailbox());
            Assert.Null(b.SmtpAuthEnabled);
            Assert.Equal(PolicyVerdict.Unknown, b.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Unknown, b.OAuthVerdict);

            // The mailbox's own value needs no tenant value.
            MailboxPolicyData own = Mailbox();
            own.MailboxSmtpAuthDisabled = true;
            SmtpAuthPolicyState c = Evaluate(notRead, own);
            Assert.Equal("Mailbox", c.SmtpAuthDecidedBy);
            Assert.Equal("MailboxSmtpAuthDisabled", c.BasicAuthBlockedBy);
            Assert.Equal("MailboxSmtpAuthDisabled", c.OAuthBlockedBy);
        }

        [Fact]
        public void The_tenant_switch_off_blocks_both_methods_by_its_own_name()
        {
            TenantPolicyData t = Tenant();
            t.SmtpAuthDisabled = true;
            SmtpAuthPolicyState s = Evaluate(t, Mailbox());
            Assert.False(s.SmtpAuthEnabled);
            Assert.Equal("TenantSmtpAuthDisabled", s.BasicAuthBlockedBy);
            Assert.Equal("TenantSmtpAuthDisabled", s.OAuthBlockedBy);
        }

        // --- Authentication policy ---

        [Fact]
        public void An_authentication_policy_that_cannot_be_resolved_is_unknown_not_allowed()
        {
            MailboxPolicyData m = Mailbox();
            m.UserAuthenticationPolicy = "Deleted Policy";
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Equal("Deleted Policy", s.AuthenticationPolicy);
            Assert.Equal("User", s.AuthenticationPolicySource);
            Assert.Null(s.AllowBasicAuthSmtp);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public void A_policy_list_that_was_not_read_is_unknown_and_the_assigned_name_is_still_shown()
        {
            TenantPolicyData t = Tenant();
            t.AuthenticationPolicies = null;
            t.DefaultAuthenticationPolicy = "Block Basic";
            SmtpAuthPolicyState s = Evaluate(t, Mailbox());
            Assert.Equal("Block Basic", s.AuthenticationPolicy);
            Assert.Equal("OrganizationDefault", s.AuthenticationPolicySource);
            Assert.Null(s.AllowBasicAuthSmtp);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
        }

        [Fact]
        public void A_policy_whose_AllowBasicAuthSmtp_was_not_read_is_unknown()
        {
            MailboxPolicyData m = Mailbox();
            m.UserAuthenticationPolicy = "Half Read";
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Equal("Half Read", s.AuthenticationPolicy);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
        }

        [Fact]
        public void A_policy_named_by_its_DN_is_shown_by_its_name_and_decides()
        {
            MailboxPolicyData m = Mailbox();
            m.UserAuthenticationPolicy = "cn=allow smtp,cn=auth policies,dc=contoso";
            TenantPolicyData t = Tenant();
            t.DefaultAuthenticationPolicy = "Block Basic";
            SmtpAuthPolicyState s = Evaluate(t, m);
            Assert.Equal("Allow SMTP", s.AuthenticationPolicy);
            Assert.True(s.AllowBasicAuthSmtp);
            Assert.Equal(PolicyVerdict.Allowed, s.BasicAuthVerdict);
        }

        [Fact]
        public void Without_the_user_or_the_organization_read_the_policy_is_unknown()
        {
            MailboxPolicyData userNotRead = Mailbox();
            userNotRead.UserRead = false;
            SmtpAuthPolicyState a = Evaluate(Tenant(), userNotRead);
            Assert.Null(a.AuthenticationPolicySource);
            Assert.Equal(PolicyVerdict.Unknown, a.BasicAuthVerdict);

            TenantPolicyData orgNotRead = Tenant();
            orgNotRead.OrganizationRead = false;
            SmtpAuthPolicyState b = Evaluate(orgNotRead, Mailbox());
            Assert.Null(b.AuthenticationPolicySource);
            Assert.Equal(PolicyVerdict.Unknown, b.BasicAuthVerdict);

            // Neither read failure touches OAuth.
            Assert.Equal(PolicyVerdict.Allowed, a.OAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, b.OAuthVerdict);
        }

        [Fact]
        public void A_blank_user_policy_falls_back_to_the_organization_default()
        {
            MailboxPolicyData m = Mailbox();
            m.UserAuthenticationPolicy = "   ";
            TenantPolicyData t = Tenant();
            t.DefaultAuthenticationPolicy = "Block Basic";
            SmtpAuthPolicyState s = Evaluate(t, m);
            Assert.Equal("OrganizationDefault", s.AuthenticationPolicySource);
            Assert.Equal("Block Basic", s.AuthenticationPolicy);
            Assert.False(s.AllowBasicAuthSmtp);
            Assert.Equal("AuthenticationPolicyBlocksBasicSmtp", s.BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);

            TenantPolicyData blankDefault = Tenant();
            blankDefault.DefaultAuthenticationPolicy = " ";
            SmtpAuthPolicyState none = Evaluate(blankDefault, m);
            Assert.Equal("None", none.AuthenticationPolicySource);
            Assert.Equal(PolicyVerdict.Allowed, none.BasicAuthVerdict);
        }

        // --- Entra: security defaults, Conditional Access, per-user MFA, account, domain ---

        [Fact]
        public void Security_defaults_not_read_leave_basic_unknown_and_OAuth_allowed()
        {
            TenantPolicyData t = Tenant();
            t.SecurityDefaultsEnabled = null;
            SmtpAuthPolicyState s = Evaluate(t, Mailbox());
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public void Conditional_Access_not_read_leaves_basic_unknown_without_an_evaluation()
        {
            TenantPolicyData t = Tenant();
            t.ConditionalAccessPolicies = null;
            SmtpAuthPolicyState s = Evaluate(t, Mailbox());
            Assert.Null(s.ConditionalAccessEvaluatedBy);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
            Assert.Null(s.UnknownReasons);
        }

        [Fact]
        public void A_mailbox_without_an_Entra_object_id_cannot_be_evaluated_for_Conditional_Access()
        {
            MailboxPolicyData m = Mailbox();
            m.ExternalDirectoryObjectId = null;
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Null(s.ConditionalAccessEvaluatedBy);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Contains("no Entra object id", s.UnknownReasons, StringComparison.Ordinal);
        }

        [Fact]
        public void Graphs_What_If_answer_wins_over_the_local_evaluation()
        {
            TenantPolicyData t = Tenant();
            t.ConditionalAccessPolicies!.Add(Policy("Local block"));
            MailboxPolicyData m = Mailbox();
            m.WhatIf = new ConditionalAccessOutcome();
            SmtpAuthPolicyState allowed = Evaluate(t, m);
            Assert.Equal("WhatIf", allowed.ConditionalAccessEvaluatedBy);
            Assert.Null(allowed.BlockingConditionalAccessPolicies);
            Assert.Equal(PolicyVerdict.Allowed, allowed.BasicAuthVerdict);

            var answer = new ConditionalAccessOutcome();
            answer.Blocking.Add("Graph block A");
            answer.Blocking.Add("Graph block B");
            answer.RequireMfa.Add("Graph MFA");
            answer.ReportOnly.Add("Graph report-only");
            m.WhatIf = answer;
            SmtpAuthPolicyState blocked = Evaluate(Tenant(), m);
            Assert.Equal("WhatIf", blocked.ConditionalAccessEvaluatedBy);
            Assert.Equal("Graph block A; Graph block B", blocked.BlockingConditionalAccessPolicies);
            Assert.Equal("Graph MFA", blocked.MfaConditionalAccessPolicies);
            Assert.Equal("Graph report-only", blocked.ReportOnlyConditionalAccessPolicies);
            Assert.Equal("ConditionalAccessBlocksLegacyAuth; MfaRequired", blocked.BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Allowed, blocked.OAuthVerdict);
        }

        [Fact]
        public void The_local_evaluation_names_each_kind_of_policy()
        {
            TenantPolicyData t = Tenant();
            t.ConditionalAccessPolicies!.Add(Policy("Block A"));
            t.ConditionalAccessPolicies.Add(Policy("MFA B", grant: "mfa"));
            t.ConditionalAccessPolicies.Add(Policy("Report C", state: "enabledForReportingButNotEnforced"));
            SmtpAuthPolicyState s = Evaluate(t, Mailbox());
            Assert.Equal("Local", s.ConditionalAccessEvaluatedBy);
            Assert.Equal("Block A", s.BlockingConditionalAccessPolicies);
            Assert.Equal("MFA B", s.MfaConditionalAccessPolicies);
            Assert.Equal("Report C", s.ReportOnlyConditionalAccessPolicies);
            Assert.Null(s.ConditionalAccessDependsOnSource);
            Assert.Equal("ConditionalAccessBlocksLegacyAuth; MfaRequired", s.BasicAuthBlockedBy);
        }

        [Fact]
        public void A_policy_that_depends_on_the_source_makes_basic_unknown_not_blocked()
        {
            TenantPolicyData t = Tenant();
            t.ConditionalAccessPolicies!.Add(Policy("Block outside the office", dependsOnSource: true));
            SmtpAuthPolicyState s = Evaluate(t, Mailbox());
            Assert.Equal("Block outside the office", s.ConditionalAccessDependsOnSource);
            Assert.Null(s.BlockingConditionalAccessPolicies);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public void A_guest_is_evaluated_as_a_guest()
        {
            TenantPolicyData t = Tenant();
            ConditionalAccessPolicy guests = Policy("Block guests");
            guests.IncludeUsers = new[] { "GuestsOrExternalUsers" };
            t.ConditionalAccessPolicies!.Add(guests);

            MailboxPolicyData guest = Mailbox();
            guest.UserType = "guest";
            Assert.Equal("ConditionalAccessBlocksLegacyAuth", Evaluate(t, guest).BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Allowed, Evaluate(t, Mailbox()).BasicAuthVerdict);
        }

        [Fact]
        public void Per_user_MFA_enforced_blocks_basic_once_and_not_OAuth()
        {
            MailboxPolicyData m = Mailbox();
            m.PerUserMfaState = "Enforced";
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Equal("MfaRequired", s.BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);

            // A CA MFA grant and enforced per-user MFA name MfaRequired once.
            TenantPolicyData t = Tenant();
            t.ConditionalAccessPolicies!.Add(Policy("MFA", grant: "mfa"));
            Assert.Equal("MfaRequired", Evaluate(t, m).BasicAuthBlockedBy);
        }

        [Fact]
        public void Per_user_MFA_not_read_leaves_basic_unknown()
        {
            MailboxPolicyData m = Mailbox();
            m.PerUserMfaState = null;
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public void A_disabled_account_blocks_basic_and_delegated_OAuth()
        {
            MailboxPolicyData m = Mailbox();
            m.AccountEnabled = false;
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Equal("AccountDisabled", s.BasicAuthBlockedBy);
            Assert.Equal("AccountDisabled", s.OAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Blocked, s.OAuthVerdict);
        }

        [Fact]
        public void A_disabled_account_does_not_block_an_app_only_sender()
        {
            MailboxPolicyData m = AppOnly();
            m.AccountEnabled = false;
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Equal("AccountDisabled", s.BasicAuthBlockedBy);
            Assert.Null(s.OAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public void An_account_state_not_read_leaves_basic_unknown()
        {
            MailboxPolicyData m = Mailbox();
            m.AccountEnabled = null;
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public void A_shared_mailbox_cannot_sign_in_with_basic_auth_but_OAuth_is_not_blocked_by_it()
        {
            MailboxPolicyData m = Mailbox();
            m.RecipientTypeDetails = "sharedmailbox";
            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Equal("SharedMailboxSignIn", s.BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public void The_UPN_domain_type_is_shown_and_a_federated_domain_is_named_as_unknown()
        {
            TenantPolicyData t = Tenant();
            t.DomainAuthenticationTypes["contoso.com"] = "Federated";
            t.DomainAuthenticationTypes["fabrikam.com"] = "Managed";
            SmtpAuthPolicyState federated = Evaluate(t, Mailbox());
            Assert.Equal("Federated", federated.DomainAuthenticationType);
            Assert.Contains("federated", federated.UnknownReasons, StringComparison.Ordinal);

            MailboxPolicyData managed = Mailbox();
            managed.UserPrincipalName = "app@FABRIKAM.com";
            SmtpAuthPolicyState m = Evaluate(t, managed);
            Assert.Equal("Managed", m.DomainAuthenticationType);
            Assert.Null(m.UnknownReasons);

            MailboxPolicyData noUpn = Mailbox();
            noUpn.UserPrincipalName = null;
            Assert.Null(Evaluate(t, noUpn).DomainAuthenticationType);
        }

        [Fact]
        public void The_blocks_are_listed_in_the_order_an_admin_checks_them()
        {
            TenantPolicyData t = Tenant();
            t.SmtpAuthDisabled = true;
            t.DefaultAuthenticationPolicy = "Block Basic";
            t.SecurityDefaultsEnabled = true;
            t.ConditionalAccessPolicies!.Add(Policy("Block"));
            MailboxPolicyData m = Mailbox();
            m.AccountEnabled = false;
            m.RecipientTypeDetails = "SharedMailbox";
            m.From = "ceo@contoso.com";
            m.SendAsAllowed = false;
            SmtpAuthPolicyState s = Evaluate(t, m);
            // A shared mailbox's blocked sign-in is by design: SharedMailboxSignIn, not AccountDisabled, and no OAuth block.
            Assert.Equal(
                "TenantSmtpAuthDisabled; AuthenticationPolicyBlocksBasicSmtp; SecurityDefaultsBlockBasicAuth; ConditionalAccessBlocksLegacyAuth; SharedMailboxSignIn; SendAsDenied",
                s.BasicAuthBlockedBy);
            Assert.Equal("TenantSmtpAuthDisabled; SendAsDenied", s.OAuthBlockedBy);
            m.RecipientTypeDetails = "UserMailbox";
            s = Evaluate(t, m);
            Assert.Equal(
                "TenantSmtpAuthDisabled; AuthenticationPolicyBlocksBasicSmtp; SecurityDefaultsBlockBasicAuth; ConditionalAccessBlocksLegacyAuth; AccountDisabled; SendAsDenied",
                s.BasicAuthBlockedBy);
            Assert.Equal("TenantSmtpAuthDisabled; AccountDisabled; SendAsDenied", s.OAuthBlockedBy);
        }

        // --- SendAs ---

        [Fact]
        public void SendAs_denied_on_From_blocks_both_methods_even_when_basic_was_otherwise_unknown()
        {
            TenantPolicyData t = Tenant();
            t.SecurityDefaultsEnabled = null;
            MailboxPolicyData m = Mailbox();
            m.From = "ceo@contoso.com";
            m.SendAsAllowed = false;
            SmtpAuthPolicyState s = Evaluate(t, m);
            Assert.Equal(PolicyVerdict.Blocked, s.BasicAuthVerdict);
            Assert.Equal("SendAsDenied", s.BasicAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Blocked, s.OAuthVerdict);
            Assert.Equal("SendAsDenied", s.OAuthBlockedBy);
        }

        [Fact]
        public void SendAs_is_not_a_block_without_a_From_or_with_the_right_unknown()
        {
            MailboxPolicyData noFrom = Mailbox();
            noFrom.SendAsAllowed = false;
            Assert.Equal(PolicyVerdict.Allowed, Evaluate(Tenant(), noFrom).BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, Evaluate(Tenant(), noFrom).OAuthVerdict);

            MailboxPolicyData unknown = Mailbox();
            unknown.From = "ceo@contoso.com";
            unknown.SendAsAllowed = null;
            Assert.Equal(PolicyVerdict.Allowed, Evaluate(Tenant(), unknown).BasicAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, Evaluate(Tenant(), unknown).OAuthVerdict);
        }

        // --- App-only OAuth ---

        private static MailboxPolicyData AppOnly()
        {
            MailboxPolicyData m = Mailbox();
            m.ClientId = "app";
            m.ServicePrincipalRegistered = true;
            m.ServicePrincipalObjectIdMatches = true;
            m.ServicePrincipalHasMailboxAccess = true;
            m.AppHasSmtpSendAsApp = true;
            return m;
        }

        [Fact]
        public void App_only_with_everything_in_place_is_allowed()
        {
            SmtpAuthPolicyState s = Evaluate(Tenant(), AppOnly());
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
            Assert.Null(s.OAuthBlockedBy);
        }

        [Fact]
        public void App_only_blocks_are_named_each_by_its_cause()
        {
            MailboxPolicyData notRegistered = AppOnly();
            notRegistered.ServicePrincipalRegistered = false;
            notRegistered.ServicePrincipalObjectIdMatches = null;
            notRegistered.ServicePrincipalHasMailboxAccess = null;
            Assert.Equal("ServicePrincipalNotRegistered", Evaluate(Tenant(), notRegistered).OAuthBlockedBy);

            MailboxPolicyData wrongObject = AppOnly();
            wrongObject.ServicePrincipalObjectIdMatches = false;
            Assert.Equal("ServicePrincipalNotRegistered", Evaluate(Tenant(), wrongObject).OAuthBlockedBy);

            MailboxPolicyData noAccess = AppOnly();
            noAccess.ServicePrincipalHasMailboxAccess = false;
            Assert.Equal("MailboxPermissionMissing", Evaluate(Tenant(), noAccess).OAuthBlockedBy);

            MailboxPolicyData noRole = AppOnly();
            noRole.AppHasSmtpSendAsApp = false;
            SmtpAuthPolicyState s = Evaluate(Tenant(), noRole);
            Assert.Equal("TokenMissingPermission", s.OAuthBlockedBy);
            Assert.Equal(PolicyVerdict.Blocked, s.OAuthVerdict);
            Assert.Equal(PolicyVerdict.Allowed, s.BasicAuthVerdict);
        }

        [Theory]
        [InlineData("registered")]
        [InlineData("role")]
        [InlineData("objectId")]
        [InlineData("access")]
        public void An_app_only_fact_not_read_makes_OAuth_unknown(string missing)
        {
            MailboxPolicyData m = AppOnly();
            switch (missing)
            {
                case "registered": m.ServicePrincipalRegistered = null; break;
                case "role": m.AppHasSmtpSendAsApp = null; break;
                case "objectId": m.ServicePrincipalObjectIdMatches = null; break;
                default: m.ServicePrincipalHasMailboxAccess = null; break;
            }

            SmtpAuthPolicyState s = Evaluate(Tenant(), m);
            Assert.Equal(PolicyVerdict.Unknown, s.OAuthVerdict);
            Assert.Null(s.OAuthBlockedBy);
        }

        // --- Unknown reasons ---

        [Fact]
        public void Unknown_reasons_from_the_tenant_and_the_mailbox_are_joined_once_each()
        {
            TenantPolicyData t = Tenant();
            t.UnknownReasons.Add("Security defaults: 403.");
            t.UnknownReasons.Add("Shared reason.");
            MailboxPolicyData m = Mailbox();
            m.UnknownReasons.Add("Shared reason.");
            m.UnknownReasons.Add("Sign-ins: 403.");
            SmtpAuthPolicyState s = Evaluate(t, m);
            Assert.Equal("Security defaults: 403.; Shared reason.; Sign-ins: 403.", s.UnknownReasons);
        }
    }
}
