using System;
using System.Collections.Generic;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the local Conditional Access evaluation for SMTP basic auth, condition by condition
    /// (state, client app, application, users/groups/roles with their exclusions, guests, grant, source), and the Graph
    /// JSON reading of a policy.
    /// </summary>
    public class ConditionalAccessTests
    {
        private const string UserId = "11111111-1111-1111-1111-111111111111";
        private const string GlobalAdmin = "62e90394-69f5-4237-9190-012177145e10";
        private const string ExchangeAdmin = "29232cdf-9323-42fd-ade2-1d097af3e4de";

        private static ConditionalAccessPolicy Block(string name = "Block legacy") => new ConditionalAccessPolicy
        {
            Id = "id-" + name,
            DisplayName = name,
            State = "enabled",
            ClientAppTypes = new[] { "other" },
            IncludeApplications = new[] { "All" },
            IncludeUsers = new[] { "All" },
            GrantControls = new[] { "block" },
        };

        private static HashSet<string> Set(params string[] items) => new HashSet<string>(items, StringComparer.OrdinalIgnoreCase);

        private static ConditionalAccessOutcome Evaluate(ConditionalAccessPolicy p, ISet<string>? groups = null, ISet<string>? roles = null, bool guest = false, string user = UserId) =>
            ConditionalAccessEvaluator.Evaluate(new[] { p }, user, groups ?? Set(), roles ?? Set(), guest);

        private static bool Blocks(ConditionalAccessPolicy p, ISet<string>? groups = null, ISet<string>? roles = null, bool guest = false, string user = UserId)
        {
            ConditionalAccessOutcome o = Evaluate(p, groups, roles, guest, user);
            Assert.False(o.MembershipUnknown);
            return o.Blocking.Contains(p.DisplayName);
        }

        [Fact]
        public void An_enabled_legacy_block_for_everyone_blocks()
        {
            ConditionalAccessOutcome o = Evaluate(Block());
            Assert.Equal(new[] { "Block legacy" }, o.Blocking);
            Assert.Empty(o.RequireMfa);
            Assert.Empty(o.ReportOnly);
            Assert.Empty(o.DependsOnSource);
            Assert.False(o.MembershipUnknown);
        }

        [Theory]
        [InlineData("disabled")]
        [InlineData("")]
        public void A_policy_that_is_off_does_nothing(string state)
        {
            ConditionalAccessPolicy p = Block();
            p.State = state;
            ConditionalAccessOutcome o = Evaluate(p);
            Assert.Empty(o.Blocking);
            Assert.Empty(o.ReportOnly);
        }

        [Fact]
        public void The_state_is_read_case_insensitively()
        {
            ConditionalAccessPolicy p = Block();
            p.State = "ENABLED";
            Assert.True(Blocks(p));
            p.State = "EnabledForReportingButNotEnforced";
            Assert.Equal(new[] { "Block legacy" }, Evaluate(p).ReportOnly);
        }

        [Theory]
        [InlineData("other", true)]
        [InlineData("OTHER", true)]
        [InlineData("all", true)]
        [InlineData("All", true)]
        [InlineData("browser", false)]
        [InlineData("exchangeActiveSync", false)]
        [InlineData("mobileAppsAndDesktopClients", false)]
        public void Only_policies_for_other_clients_or_all_clients_reach_SMTP(string clientAppType, bool applies)
        {
            ConditionalAccessPolicy p = Block();
            p.ClientAppTypes = new[] { clientAppType };
            Assert.Equal(applies, Blocks(p));
        }

        [Fact]
        public void A_policy_with_no_client_app_types_does_not_reach_SMTP()
        {
            ConditionalAccessPolicy p = Block();
            p.ClientAppTypes = Array.Empty<string>();
            Assert.False(Blocks(p));
        }

        [Theory]
        [InlineData("All", true)]
        [InlineData("all", true)]
        [InlineData("Office365", true)]
        [InlineData("office365", true)]
        [InlineData(ConditionalAccessEvaluator.ExchangeOnlineAppId, true)]
        [InlineData("00000002-0000-0FF1-CE00-000000000000", true)]
        [InlineData("00000003-0000-0000-c000-000000000000", false)] // Microsoft Graph
        [InlineData("None", false)]
        public void The_policy_must_include_Exchange_Online(string app, bool applies)
        {
            ConditionalAccessPolicy p = Block();
            p.IncludeApplications = new[] { "00000003-0000-0ff1-ce00-000000000000", app };
            Assert.Equal(applies, Blocks(p));
        }

        [Theory]
        [InlineData("Office365", false)]
        [InlineData("OFFICE365", false)]
        [InlineData(ConditionalAccessEvaluator.ExchangeOnlineAppId, false)]
        [InlineData("00000002-0000-0FF1-CE00-000000000000", false)]
        [InlineData("00000003-0000-0000-c000-000000000000", true)] // excluding Graph leaves Exchange in
        public void Excluding_Exchange_Online_takes_the_policy_off_SMTP(string excluded, bool applies)
        {
            ConditionalAccessPolicy p = Block();
            p.ExcludeApplications = new[] { "something-else", excluded };
            Assert.Equal(applies, Blocks(p));
        }

        [Fact]
        public void A_user_named_by_id_is_included_and_an_excluded_user_is_not()
        {
            ConditionalAccessPolicy p = Block();
            p.IncludeUsers = new[] { "someone-else", UserId.ToUpperInvariant() };
            Assert.True(Blocks(p));
            Assert.False(Blocks(p, user: "22222222-2222-2222-2222-222222222222"));

            ConditionalAccessPolicy excluded = Block();
            excluded.ExcludeUsers = new[] { "someone-else", UserId.ToUpperInvariant() };
            Assert.False(Blocks(excluded));
            Assert.True(Blocks(excluded, user: "22222222-2222-2222-2222-222222222222"));
        }

        [Fact]
        public void A_policy_that_includes_nobody_we_know_does_not_apply()
        {
            ConditionalAccessPolicy p = Block();
            p.IncludeUsers = new[] { "None" };
            Assert.False(Blocks(p));
        }

        [Fact]
        public void Group_inclusion_and_exclusion_follow_membership()
        {
            ConditionalAccessPolicy included = Block();
            included.IncludeUsers = Array.Empty<string>();
            included.IncludeGroups = new[] { "g-smtp" };
            Assert.True(Blocks(included, groups: Set("g-other", "g-smtp")));
            Assert.False(Blocks(included, groups: Set("g-other")));

            ConditionalAccessPolicy excluded = Block();
            excluded.ExcludeGroups = new[] { "g-break-glass" };
            Assert.False(Blocks(excluded, groups: Set("g-break-glass")));
            Assert.True(Blocks(excluded, groups: Set("g-other")));
        }

        [Fact]
        public void Role_inclusion_follows_the_users_role_templates()
        {
            ConditionalAccessPolicy p = Block();
            p.IncludeUsers = Array.Empty<string>();
            p.IncludeRoles = new[] { GlobalAdmin };
            Assert.True(Blocks(p, roles: Set(ExchangeAdmin, GlobalAdmin)));
            Assert.False(Blocks(p, roles: Set(ExchangeAdmin)));
        }

        [Fact]
        public void A_user_in_an_excluded_role_is_not_blocked()
        {
            ConditionalAccessPolicy p = Block();
            p.ExcludeRoles = new[] { GlobalAdmin };
            Assert.False(Blocks(p, roles: Set(GlobalAdmin)));
            Assert.True(Blocks(p, roles: Set(ExchangeAdmin)));
            Assert.True(Blocks(p, roles: Set()));
        }

        [Fact]
        public void Unknown_role_membership_is_unknown_not_a_block_and_not_a_pass()
        {
            ConditionalAccessPolicy p = Block();
            p.ExcludeRoles = new[] { GlobalAdmin };
            ConditionalAccessOutcome o = ConditionalAccessEvaluator.Evaluate(new[] { p }, UserId, Set(), null);
            Assert.True(o.MembershipUnknown);
            Assert.Empty(o.Blocking);

            ConditionalAccessPolicy include = Block();
            include.IncludeRoles = new[] { GlobalAdmin };
            Assert.True(ConditionalAccessEvaluator.Evaluate(new[] { include }, UserId, Set(), null).MembershipUnknown);
        }

        [Fact]
        public void Unknown_group_membership_is_unknown_only_when_a_policy_names_groups()
        {
            ConditionalAccessPolicy groups = Block();
            groups.IncludeGroups = new[] { "g" };
            ConditionalAccessOutcome o = ConditionalAccessEvaluator.Evaluate(new[] { groups }, UserId, null, Set());
            Assert.True(o.MembershipUnknown);
            Assert.Empty(o.Blocking);

            ConditionalAccessPolicy excludeGroups = Block();
            excludeGroups.ExcludeGroups = new[] { "g" };
            Assert.True(ConditionalAccessEvaluator.Evaluate(new[] { excludeGroups }, UserId, null, Set()).MembershipUnknown);

            // A policy for everyone needs no membership: nothing unknown, and it blocks.
            ConditionalAccessOutcome all = ConditionalAccessEvaluator.Evaluate(new[] { Block() }, UserId, null, null);
            Assert.False(all.MembershipUnknown);
            Assert.Equal(new[] { "Block legacy" }, all.Blocking);
        }

        [Fact]
        public void Guests_are_included_and_excluded_by_GuestsOrExternalUsers()
        {
            ConditionalAccessPolicy include = Block();
            include.IncludeUsers = new[] { "GuestsOrExternalUsers" };
            Assert.True(Blocks(include, guest: true));
            Assert.False(Blocks(include, guest: false));

            ConditionalAccessPolicy exclude = Block();
            exclude.ExcludeUsers = new[] { "GuestsOrExternalUsers" };
            Assert.False(Blocks(exclude, guest: true));
            Assert.True(Blocks(exclude, guest: false));
        }

        [Fact]
        public void Grants_that_basic_auth_cannot_satisfy_need_MFA_and_a_policy_without_a_grant_does_nothing()
        {
            ConditionalAccessPolicy mfa = Block("MFA");
            mfa.GrantControls = new[] { "mfa" };
            ConditionalAccessOutcome o = Evaluate(mfa);
            Assert.Equal(new[] { "MFA" }, o.RequireMfa);
            Assert.Empty(o.Blocking);

            ConditionalAccessPolicy device = Block("Compliant device");
            device.GrantControls = new[] { "compliantDevice", "domainJoinedDevice" };
            Assert.Equal(new[] { "Compliant device" }, Evaluate(device).RequireMfa);

            ConditionalAccessPolicy strength = Block("Strength");
            strength.GrantControls = Array.Empty<string>();
            strength.RequiresAuthenticationStrength = true;
            Assert.Equal(new[] { "Strength" }, Evaluate(strength).RequireMfa);

            ConditionalAccessPolicy session = Block("Session only");
            session.GrantControls = Array.Empty<string>();
            ConditionalAccessOutcome none = Evaluate(session);
            Assert.Empty(none.Blocking);
            Assert.Empty(none.RequireMfa);
            Assert.Empty(none.ReportOnly);
        }

        [Fact]
        public void Block_wins_over_other_grant_controls_and_is_read_case_insensitively()
        {
            ConditionalAccessPolicy p = Block();
            p.GrantControls = new[] { "mfa", "BLOCK" };
            ConditionalAccessOutcome o = Evaluate(p);
            Assert.Equal(new[] { "Block legacy" }, o.Blocking);
            Assert.Empty(o.RequireMfa);
        }

        [Fact]
        public void A_report_only_policy_is_reported_and_not_enforced_whatever_its_grant()
        {
            ConditionalAccessPolicy block = Block("Report block");
            block.State = "enabledForReportingButNotEnforced";
            ConditionalAccessPolicy mfa = Block("Report MFA");
            mfa.State = "enabledForReportingButNotEnforced";
            mfa.GrantControls = new[] { "mfa" };
            mfa.DependsOnSource = true;
            ConditionalAccessOutcome o = ConditionalAccessEvaluator.Evaluate(new[] { block, mfa }, UserId, Set(), Set());
            Assert.Equal(new[] { "Report block", "Report MFA" }, o.ReportOnly);
            Assert.Empty(o.Blocking);
            Assert.Empty(o.RequireMfa);
            Assert.Empty(o.DependsOnSource);
        }

        [Fact]
        public void A_policy_narrowed_by_location_or_platform_is_listed_apart_from_the_blocks()
        {
            ConditionalAccessPolicy p = Block("Outside the office");
            p.DependsOnSource = true;
            ConditionalAccessOutcome o = Evaluate(p);
            Assert.Equal(new[] { "Outside the office" }, o.DependsOnSource);
            Assert.Empty(o.Blocking);

            ConditionalAccessPolicy mfa = Block("MFA outside");
            mfa.DependsOnSource = true;
            mfa.GrantControls = new[] { "mfa" };
            ConditionalAccessOutcome m = Evaluate(mfa);
            Assert.Equal(new[] { "MFA outside" }, m.DependsOnSource);
            Assert.Empty(m.RequireMfa);
        }

        [Fact]
        public void A_policy_without_a_display_name_is_named_by_its_id()
        {
            ConditionalAccessPolicy p = Block();
            p.DisplayName = string.Empty;
            Assert.Equal(new[] { "id-Block legacy" }, Evaluate(p).Blocking);
        }

        [Fact]
        public void Every_policy_is_evaluated_in_order_and_a_membership_gap_in_one_does_not_stop_the_others()
        {
            ConditionalAccessPolicy needsGroups = Block("Groups");
            needsGroups.IncludeGroups = new[] { "g" };
            ConditionalAccessPolicy off = Block("Off");
            off.State = "disabled";
            ConditionalAccessOutcome o = ConditionalAccessEvaluator.Evaluate(new[] { Block("First"), needsGroups, off, Block("Last") }, UserId, null, Set());
            Assert.True(o.MembershipUnknown);
            Assert.Equal(new[] { "First", "Last" }, o.Blocking);
        }

        [Fact]
        public void NeedsMembership_is_true_when_any_group_or_role_list_is_set()
        {
            Assert.False(Block().NeedsMembership);
            ConditionalAccessPolicy a = Block();
            a.IncludeGroups = new[] { "g" };
            Assert.True(a.NeedsMembership);
            ConditionalAccessPolicy b = Block();
            b.ExcludeGroups = new[] { "g" };
            Assert.True(b.NeedsMembership);
            ConditionalAccessPolicy c = Block();
            c.IncludeRoles = new[] { GlobalAdmin };
            Assert.True(c.NeedsMembership);
            ConditionalAccessPolicy d = Block();
            d.ExcludeRoles = new[] { GlobalAdmin };
            Assert.True(d.NeedsMembership);
        }
    }
}
