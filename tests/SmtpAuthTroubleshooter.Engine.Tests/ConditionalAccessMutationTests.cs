using System;
using System.Collections.Generic;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;
using Graph = Microsoft.Graph.Models;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): what ConditionalAccessTests and ConditionalAccessJsonTests leave open: a policy that
    /// names several groups or roles (any one of them includes or excludes the user), a blank policy, and a policy read
    /// from the Graph SDK's model (ConditionalAccessPolicy.FromModel, the way the Graph reader reads them), condition by
    /// condition, as Graph spells its values on the wire.
    /// </summary>
    public class ConditionalAccessMutationTests
    {
        private const string UserId = "11111111-1111-1111-1111-111111111111";
        private const string GlobalAdmin = "62e90394-69f5-4237-9190-012177145e10";
        private const string ExchangeAdmin = "29232cdf-9323-42fd-ade2-1d097af3e4de";
        private const string HelpdeskAdmin = "729827e3-9c14-49f7-bb1b-9608f156bbb8";

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

        private static bool Blocks(ConditionalAccessPolicy p, ISet<string> groups, ISet<string> roles)
        {
            ConditionalAccessOutcome o = ConditionalAccessEvaluator.Evaluate(new[] { p }, UserId, groups, roles);
            Assert.False(o.MembershipUnknown);
            return o.Blocking.Contains(p.DisplayName);
        }

        // --- Several groups or roles: membership of any one of them counts ---

        [Fact]
        public void A_member_of_any_one_included_group_is_included()
        {
            ConditionalAccessPolicy p = Block();
            p.IncludeUsers = Array.Empty<string>();
            p.IncludeGroups = new[] { "g-printers", "g-scanners" };
            Assert.True(Blocks(p, Set("g-scanners"), Set()));
            Assert.True(Blocks(p, Set("g-printers"), Set()));
            Assert.False(Blocks(p, Set("g-other"), Set()));
        }

        [Fact]
        public void A_holder_of_any_one_included_role_is_included()
        {
            ConditionalAccessPolicy p = Block();
            p.IncludeUsers = Array.Empty<string>();
            p.IncludeRoles = new[] { GlobalAdmin, ExchangeAdmin };
            Assert.True(Blocks(p, Set(), Set(ExchangeAdmin)));
            Assert.False(Blocks(p, Set(), Set(HelpdeskAdmin)));
        }

        [Fact]
        public void A_member_of_any_one_excluded_group_is_not_blocked()
        {
            ConditionalAccessPolicy p = Block();
            p.ExcludeGroups = new[] { "g-break-glass", "g-service-accounts" };
            Assert.False(Blocks(p, Set("g-service-accounts"), Set()));
            Assert.True(Blocks(p, Set("g-staff"), Set()));
        }

        [Fact]
        public void A_holder_of_any_one_excluded_role_is_not_blocked()
        {
            ConditionalAccessPolicy p = Block();
            p.ExcludeRoles = new[] { GlobalAdmin, ExchangeAdmin };
            Assert.False(Blocks(p, Set(), Set(ExchangeAdmin)));
            Assert.True(Blocks(p, Set(), Set(HelpdeskAdmin)));
        }

        [Fact]
        public void An_excluded_group_wins_over_an_included_group()
        {
            ConditionalAccessPolicy p = Block();
            p.IncludeUsers = Array.Empty<string>();
            p.IncludeGroups = new[] { "g-staff" };
            p.ExcludeGroups = new[] { "g-break-glass" };
            Assert.False(Blocks(p, Set("g-staff", "g-break-glass"), Set()));
            Assert.True(Blocks(p, Set("g-staff"), Set()));
        }

        [Fact]
        public void A_blank_policy_has_no_id_no_name_and_no_state_and_does_nothing()
        {
            var p = new ConditionalAccessPolicy();
            Assert.Equal(string.Empty, p.Id);
            Assert.Equal(string.Empty, p.DisplayName);
            Assert.Equal(string.Empty, p.State);
            Assert.False(p.NeedsMembership);
            ConditionalAccessOutcome o = ConditionalAccessEvaluator.Evaluate(new[] { p }, UserId, null, null);
            Assert.Empty(o.Blocking);
            Assert.Empty(o.RequireMfa);
            Assert.Empty(o.ReportOnly);
            Assert.False(o.MembershipUnknown);
        }

        // --- FromModel: the Graph SDK's model ---

        private static Graph.ConditionalAccessPolicy Model() => new Graph.ConditionalAccessPolicy
        {
            Id = "p-1",
            DisplayName = "Block legacy",
            State = Graph.ConditionalAccessPolicyState.Enabled,
            Conditions = new Graph.ConditionalAccessConditionSet
            {
                ClientAppTypes = new List<Graph.ConditionalAccessClientApp?> { Graph.ConditionalAccessClientApp.ExchangeActiveSync, null, Graph.ConditionalAccessClientApp.Other },
                Applications = new Graph.ConditionalAccessApplications
                {
                    IncludeApplications = new List<string> { "All" },
                    ExcludeApplications = new List<string> { "app-x", null! },
                },
                Users = new Graph.ConditionalAccessUsers
                {
                    IncludeUsers = new List<string> { "All" },
                    ExcludeUsers = new List<string> { "u-1" },
                    IncludeGroups = new List<string> { "g-in" },
                    ExcludeGroups = new List<string> { "g-out" },
                    IncludeRoles = new List<string> { "r-in" },
                    ExcludeRoles = new List<string> { "r-out", "r-out-2" },
                },
                SignInRiskLevels = new List<Graph.RiskLevel?>(),
                UserRiskLevels = new List<Graph.RiskLevel?>(),
            },
            GrantControls = new Graph.ConditionalAccessGrantControls
            {
                BuiltInControls = new List<Graph.ConditionalAccessGrantControl?> { Graph.ConditionalAccessGrantControl.Block, null },
            },
        };

        [Fact]
        public void FromModel_reads_every_condition_that_decides_SMTP_as_Graph_spells_it()
        {
            ConditionalAccessPolicy p = ConditionalAccessPolicy.FromModel(Model());
            Assert.Equal("p-1", p.Id);
            Assert.Equal("Block legacy", p.DisplayName);
            Assert.Equal("enabled", p.State);
            Assert.Equal(new[] { "exchangeActiveSync", "other" }, p.ClientAppTypes);
            Assert.Equal(new[] { "All" }, p.IncludeApplications);
            Assert.Equal(new[] { "app-x" }, p.ExcludeApplications);
            Assert.Equal(new[] { "All" }, p.IncludeUsers);
            Assert.Equal(new[] { "u-1" }, p.ExcludeUsers);
            Assert.Equal(new[] { "g-in" }, p.IncludeGroups);
            Assert.Equal(new[] { "g-out" }, p.ExcludeGroups);
            Assert.Equal(new[] { "r-in" }, p.IncludeRoles);
            Assert.Equal(new[] { "r-out", "r-out-2" }, p.ExcludeRoles);
            Assert.False(p.DependsOnSource);
            Assert.Equal(new[] { "block" }, p.GrantControls);
            Assert.False(p.RequiresAuthenticationStrength);
            Assert.True(p.NeedsMembership);
        }

        [Fact]
        public void A_policy_read_from_the_model_blocks_like_the_same_policy_read_from_JSON()
        {
            Graph.ConditionalAccessPolicy model = Model();
            model.Conditions!.Users = new Graph.ConditionalAccessUsers { IncludeUsers = new List<string> { "All" }, ExcludeUsers = new List<string> { "break-glass" } };
            ConditionalAccessPolicy p = ConditionalAccessPolicy.FromModel(model);
            ConditionalAccessOutcome o = ConditionalAccessEvaluator.Evaluate(new[] { p }, UserId, null, null);
            Assert.Equal(new[] { "Block legacy" }, o.Blocking);
            Assert.Empty(ConditionalAccessEvaluator.Evaluate(new[] { p }, "break-glass", null, null).Blocking);

            model.State = Graph.ConditionalAccessPolicyState.EnabledForReportingButNotEnforced;
            ConditionalAccessPolicy reportOnly = ConditionalAccessPolicy.FromModel(model);
            Assert.Equal("enabledForReportingButNotEnforced", reportOnly.State);
            Assert.Equal(new[] { "Block legacy" }, ConditionalAccessEvaluator.Evaluate(new[] { reportOnly }, UserId, null, null).ReportOnly);
        }

        [Theory]
        [InlineData("locations")]
        [InlineData("platforms")]
        [InlineData("signInRisk")]
        [InlineData("userRisk")]
        public void FromModel_marks_a_policy_narrowed_by_source(string condition)
        {
            Graph.ConditionalAccessPolicy model = Model();
            Graph.ConditionalAccessConditionSet c = model.Conditions!;
            switch (condition)
            {
                case "locations": c.Locations = new Graph.ConditionalAccessLocations { IncludeLocations = new List<string> { "All" }, ExcludeLocations = new List<string> { "AllTrusted" } }; break;
                case "platforms": c.Platforms = new Graph.ConditionalAccessPlatforms { IncludePlatforms = new List<Graph.ConditionalAccessDevicePlatform?> { Graph.ConditionalAccessDevicePlatform.Android } }; break;
                case "signInRisk": c.SignInRiskLevels = new List<Graph.RiskLevel?> { Graph.RiskLevel.High }; break;
                default: c.UserRiskLevels = new List<Graph.RiskLevel?> { Graph.RiskLevel.Medium }; break;
            }

            ConditionalAccessPolicy p = ConditionalAccessPolicy.FromModel(model);
            Assert.True(p.DependsOnSource);
            ConditionalAccessOutcome o = ConditionalAccessEvaluator.Evaluate(new[] { p }, UserId, Set(), Set());
            Assert.Equal(new[] { "Block legacy" }, o.DependsOnSource);
            Assert.Empty(o.Blocking);
        }

        [Fact]
        public void FromModel_reads_an_authentication_strength_grant_as_one_basic_auth_cannot_satisfy()
        {
            Graph.ConditionalAccessPolicy model = Model();
            model.GrantControls = new Graph.ConditionalAccessGrantControls
            {
                BuiltInControls = new List<Graph.ConditionalAccessGrantControl?>(),
                AuthenticationStrength = new Graph.AuthenticationStrengthPolicy { Id = "00000000-0000-0000-0000-000000000002" },
            };
            ConditionalAccessPolicy p = ConditionalAccessPolicy.FromModel(model);
            Assert.True(p.RequiresAuthenticationStrength);
            Assert.Empty(p.GrantControls);
            Assert.Equal(new[] { "Block legacy" }, ConditionalAccessEvaluator.Evaluate(new[] { p }, UserId, Set(), Set()).RequireMfa);
        }

        [Fact]
        public void FromModel_leaves_what_Graph_did_not_send_empty()
        {
            ConditionalAccessPolicy p = ConditionalAccessPolicy.FromModel(new Graph.ConditionalAccessPolicy());
            Assert.Equal(string.Empty, p.Id);
            Assert.Equal(string.Empty, p.DisplayName);
            Assert.Equal(string.Empty, p.State);
            Assert.Empty(p.ClientAppTypes);
            Assert.Empty(p.IncludeApplications);
            Assert.Empty(p.ExcludeApplications);
            Assert.Empty(p.IncludeUsers);
            Assert.Empty(p.ExcludeUsers);
            Assert.Empty(p.IncludeGroups);
            Assert.Empty(p.ExcludeGroups);
            Assert.Empty(p.IncludeRoles);
            Assert.Empty(p.ExcludeRoles);
            Assert.Empty(p.GrantControls);
            Assert.False(p.DependsOnSource);
            Assert.False(p.RequiresAuthenticationStrength);
            Assert.False(p.NeedsMembership);

            // Conditions present but their lists absent: still empty, and a policy with nothing in it does nothing.
            ConditionalAccessPolicy bare = ConditionalAccessPolicy.FromModel(new Graph.ConditionalAccessPolicy
            {
                State = Graph.ConditionalAccessPolicyState.Enabled,
                Conditions = new Graph.ConditionalAccessConditionSet { Applications = new Graph.ConditionalAccessApplications(), Users = new Graph.ConditionalAccessUsers() },
                GrantControls = new Graph.ConditionalAccessGrantControls(),
            });
            Assert.Empty(bare.ClientAppTypes);
            Assert.Empty(bare.IncludeApplications);
            Assert.Empty(bare.IncludeUsers);
            Assert.Empty(bare.ExcludeRoles);
            Assert.Empty(bare.GrantControls);
            Assert.False(bare.DependsOnSource);
            Assert.Empty(ConditionalAccessEvaluator.Evaluate(new[] { bare }, UserId, null, null).Blocking);
        }
    }
}
