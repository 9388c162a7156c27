using System;
using System.Collections.Generic;
using System.Text.Json;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;
using Graph = Microsoft.Graph.Models;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// The conditions and controls real policies use (Data/ConditionalAccess) that decide, or do not decide, SMTP basic auth, read
    /// from Graph JSON and from the Graph SDK's model (what Get-SmtpAuthPolicyState reads), judged as Microsoft documents them.
    /// Each policy below is an enabled "all users, all apps, all client apps, block" policy with one condition or control added.
    /// </summary>
    public class ConditionalAccessConditionTests
    {
        private const string UserId = "11111111-1111-1111-1111-111111111111";

        private static ConditionalAccessJudgement JudgeJson(string conditionsExtra, string grant = "{ \"operator\": \"OR\", \"builtInControls\": [\"block\"] }", string users = "\"includeUsers\": [\"All\"]", bool guest = false)
        {
            string json = "{ \"id\": \"p\", \"displayName\": \"p\", \"state\": \"enabled\", \"conditions\": { \"clientAppTypes\": [\"all\"], " +
                "\"applications\": { \"includeApplications\": [\"All\"] }, \"users\": { " + users + " }" + (conditionsExtra.Length > 0 ? ", " + conditionsExtra : string.Empty) +
                " }, \"grantControls\": " + grant + " }";
            using JsonDocument doc = JsonDocument.Parse(json);
            return ConditionalAccessEvaluator.Judge(ConditionalAccessPolicy.FromJson(doc.RootElement), UserId, new HashSet<string>(), new HashSet<string>(), guest);
        }

        // Authentication flows apply only to the device code flow and authentication transfer
        // (https://learn.microsoft.com/entra/identity/conditional-access/concept-authentication-flows): a password over SMTP is neither.
        // j0eyv/ConditionalAccessBaseline CA004 and Jhope188/ConditionalAccessPolicies' device code and authentication transfer blocks were Confirmed blocks before.
        [Theory]
        [InlineData("deviceCodeFlow")]
        [InlineData("authenticationTransfer")]
        [InlineData("deviceCodeFlow,authenticationTransfer")]
        public void An_authentication_flows_policy_does_not_apply_to_basic_auth(string methods)
        {
            Assert.Equal(ConditionalAccessJudgement.NotApplicable, JudgeJson("\"authenticationFlows\": { \"transferMethods\": \"" + methods + "\" }"));
        }

        // A location or platform condition that includes all and excludes nothing narrows nothing: the block holds from anywhere
        // (https://learn.microsoft.com/entra/identity/conditional-access/concept-assignment-network, https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-conditions#device-platforms).
        [Theory]
        [InlineData("\"locations\": { \"includeLocations\": [\"All\"], \"excludeLocations\": [] }", ConditionalAccessJudgement.Blocks)]
        [InlineData("\"platforms\": { \"includePlatforms\": [\"all\"], \"excludePlatforms\": [] }", ConditionalAccessJudgement.Blocks)]
        [InlineData("\"locations\": { \"includeLocations\": [\"All\"], \"excludeLocations\": [\"AllTrusted\"] }", ConditionalAccessJudgement.Depends)]
        [InlineData("\"locations\": { \"includeLocations\": [\"AllTrusted\"] }", ConditionalAccessJudgement.Depends)]
        [InlineData("\"locations\": { \"includeLocations\": [], \"excludeLocations\": [] }", ConditionalAccessJudgement.Depends)]
        [InlineData("\"platforms\": { \"includePlatforms\": [\"all\"], \"excludePlatforms\": [\"android\", \"iOS\", \"windows\", \"macOS\"] }", ConditionalAccessJudgement.Depends)]
        [InlineData("\"platforms\": { \"includePlatforms\": [\"windows\"] }", ConditionalAccessJudgement.Depends)]
        public void Locations_and_platforms_narrow_only_when_they_do_not_cover_everything(string condition, ConditionalAccessJudgement expected)
        {
            Assert.Equal(expected, JudgeJson(condition));
        }

        // Insider risk, device filters and the deprecated device states decide per sign-in or device; basic auth brings no device
        // (https://learn.microsoft.com/entra/identity/conditional-access/how-to-policy-insider-risk, https://learn.microsoft.com/entra/identity/conditional-access/concept-condition-filters-for-devices).
        [Theory]
        [InlineData("\"insiderRiskLevels\": \"elevated\"")]
        [InlineData("\"servicePrincipalRiskLevels\": [\"high\"]")]
        [InlineData("\"devices\": { \"deviceFilter\": { \"mode\": \"exclude\", \"rule\": \"device.isCompliant -eq True\" } }")]
        [InlineData("\"deviceStates\": { \"includeStates\": [\"All\"], \"excludeStates\": [\"Compliant\"] }")]
        [InlineData("\"applications\": { \"includeApplications\": [\"All\"], \"applicationFilter\": { \"mode\": \"exclude\", \"rule\": \"x\" } }")]
        public void A_condition_basic_auth_cannot_answer_makes_the_block_depend(string condition)
        {
            ConditionalAccessJudgement got = condition.StartsWith("\"applications\"", StringComparison.Ordinal)
                ? JudgeWithApplications(condition)
                : JudgeJson(condition);
            Assert.Equal(ConditionalAccessJudgement.Depends, got);
        }

        private static ConditionalAccessJudgement JudgeWithApplications(string applications)
        {
            string json = "{ \"id\": \"p\", \"state\": \"enabled\", \"conditions\": { \"clientAppTypes\": [\"other\"], " + applications +
                ", \"users\": { \"includeUsers\": [\"All\"] } }, \"grantControls\": { \"builtInControls\": [\"block\"] } }";
            using JsonDocument doc = JsonDocument.Parse(json);
            return ConditionalAccessEvaluator.Judge(ConditionalAccessPolicy.FromJson(doc.RootElement), UserId, new HashSet<string>(), new HashSet<string>());
        }

        // A condition this module does not know (a future or beta-only one) is not dropped: it may narrow the policy.
        [Fact]
        public void An_unknown_condition_makes_the_block_depend_and_is_named()
        {
            Assert.Equal(ConditionalAccessJudgement.Depends, JudgeJson("\"times\": { \"included\": [\"Mon\"] }"));
            using JsonDocument doc = JsonDocument.Parse("{ \"conditions\": { \"someFutureCondition\": { \"x\": 1 }, \"insiderRiskLevels\": null, \"x@odata.type\": \"y\" } }");
            Assert.Equal(new[] { "someFutureCondition" }, ConditionalAccessPolicy.FromJson(doc.RootElement).DependsOn);
        }

        [Fact]
        public void An_unknown_grant_control_makes_the_answer_depend()
        {
            Assert.Equal(ConditionalAccessJudgement.Depends, JudgeJson(string.Empty, "{ \"operator\": \"OR\", \"builtInControls\": [\"someFutureControl\"] }"));
        }

        // Terms of use and custom controls are grant controls basic auth cannot satisfy
        // (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-grant); AlexFilipin/ConditionalAccess 210 grants with terms of use only.
        [Theory]
        [InlineData("{ \"operator\": \"OR\", \"builtInControls\": [], \"termsOfUse\": [\"ce580154-086a-40fd-91df-8a60abac81a0\"] }")]
        [InlineData("{ \"operator\": \"OR\", \"builtInControls\": [], \"customAuthenticationFactors\": [\"duo\"] }")]
        [InlineData("{ \"operator\": \"AND\", \"builtInControls\": [\"mfa\", \"passwordChange\"] }")]
        [InlineData("{ \"operator\": \"OR\", \"builtInControls\": [\"compliantDevice\", \"domainJoinedDevice\"] }")]
        [InlineData("{ \"operator\": \"OR\", \"builtInControls\": [], \"authenticationStrength\": { \"id\": \"00000000-0000-0000-0000-000000000002\" } }")]
        public void A_grant_basic_auth_cannot_satisfy_fails_it(string grant)
        {
            Assert.Equal(ConditionalAccessJudgement.RequiresUnsatisfiableControl, JudgeJson(string.Empty, grant));
        }

        [Theory]
        [InlineData("null")]
        [InlineData("{ \"operator\": \"OR\", \"builtInControls\": [] }")]
        public void A_session_only_policy_does_not_block(string grant)
        {
            Assert.Equal(ConditionalAccessJudgement.AppliesWithoutBlocking, JudgeJson(string.Empty, grant));
        }

        // Cloud apps, user actions and authentication contexts are alternatives (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-cloud-apps).
        [Theory]
        [InlineData("{ \"includeApplications\": [], \"includeUserActions\": [\"urn:user:registersecurityinfo\"] }")]
        [InlineData("{ \"includeApplications\": [], \"includeUserActions\": [\"urn:user:registerdevice\"] }")]
        [InlineData("{ \"includeApplications\": [], \"includeAuthenticationContextClassReferences\": [\"c1\"] }")]
        [InlineData("{ \"includeApplications\": [\"MicrosoftAdminPortals\"] }")]
        [InlineData("{ \"includeApplications\": [\"All\"], \"excludeApplications\": [\"Office365\"] }")]
        public void A_policy_for_another_target_does_not_apply(string applications)
        {
            Assert.Equal(ConditionalAccessJudgement.NotApplicable, JudgeWithApplications("\"applications\": " + applications));
        }

        // Workload identities (https://learn.microsoft.com/entra/identity/conditional-access/workload-identity): service principals, not users.
        [Fact]
        public void A_workload_identity_policy_does_not_apply_to_a_user()
        {
            Assert.Equal(ConditionalAccessJudgement.NotApplicable,
                JudgeJson("\"clientApplications\": { \"includeServicePrincipals\": [\"ServicePrincipalsInMyTenant\"] }"));
        }

        // Graph always returns clientAppTypes ("all" when not configured): a policy without them is not read as "does not apply".
        [Fact]
        public void A_policy_without_client_app_types_depends()
        {
            using JsonDocument doc = JsonDocument.Parse("{ \"state\": \"enabled\", \"conditions\": { \"applications\": { \"includeApplications\": [\"All\"] }, \"users\": { \"includeUsers\": [\"All\"] } }, \"grantControls\": { \"builtInControls\": [\"block\"] } }");
            Assert.Equal(ConditionalAccessJudgement.Depends, ConditionalAccessEvaluator.Judge(ConditionalAccessPolicy.FromJson(doc.RootElement), UserId, new HashSet<string>(), new HashSet<string>()));
        }

        // Guest or external user types (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-users-groups#guest-or-external-users):
        // a userType Guest is an internal guest or a B2B collaboration guest; which one, and its home tenant, are not read.
        private const string AllGuestKinds = "\"guestOrExternalUserTypes\": \"internalGuest,b2bCollaborationGuest,b2bCollaborationMember,b2bDirectConnectUser,otherExternalUser,serviceProvider\", \"externalTenants\": { \"membershipKind\": \"all\" }";

        [Fact]
        public void A_guest_excluded_by_every_guest_kind_is_not_blocked()
        {
            Assert.Equal(ConditionalAccessJudgement.NotApplicable, JudgeJson(string.Empty, users: "\"includeUsers\": [\"All\"], \"excludeGuestsOrExternalUsers\": { " + AllGuestKinds + " }", guest: true));
            Assert.Equal(ConditionalAccessJudgement.Blocks, JudgeJson(string.Empty, users: "\"includeUsers\": [\"All\"], \"excludeGuestsOrExternalUsers\": { " + AllGuestKinds + " }"));
        }

        [Fact]
        public void A_guest_included_by_every_guest_kind_is_blocked_and_a_member_is_not()
        {
            Assert.Equal(ConditionalAccessJudgement.Blocks, JudgeJson(string.Empty, users: "\"includeGuestsOrExternalUsers\": { " + AllGuestKinds + " }", guest: true));
            Assert.Equal(ConditionalAccessJudgement.NotApplicable, JudgeJson(string.Empty, users: "\"includeGuestsOrExternalUsers\": { " + AllGuestKinds + " }"));
        }

        [Theory]
        [InlineData("\"includeGuestsOrExternalUsers\": { \"guestOrExternalUserTypes\": \"b2bCollaborationGuest\" }", ConditionalAccessJudgement.Depends)]
        [InlineData("\"includeGuestsOrExternalUsers\": { \"guestOrExternalUserTypes\": \"internalGuest,b2bCollaborationGuest\", \"externalTenants\": { \"membershipKind\": \"enumerated\", \"members\": [\"t\"] } }", ConditionalAccessJudgement.Depends)]
        [InlineData("\"includeUsers\": [\"All\"], \"excludeGuestsOrExternalUsers\": { \"guestOrExternalUserTypes\": \"internalGuest\" }", ConditionalAccessJudgement.Depends)]
        [InlineData("\"includeUsers\": [\"All\"], \"excludeGuestsOrExternalUsers\": { \"guestOrExternalUserTypes\": \"serviceProvider\" }", ConditionalAccessJudgement.Blocks)]
        [InlineData("\"includeGuestsOrExternalUsers\": { \"guestOrExternalUserTypes\": \"b2bDirectConnectUser,otherExternalUser\" }", ConditionalAccessJudgement.NotApplicable)]
        public void A_guest_whose_kind_decides_depends(string users, ConditionalAccessJudgement expected)
        {
            Assert.Equal(expected, JudgeJson(string.Empty, users: users, guest: true));
        }

        // --- The same through the Graph SDK's model, which is what Get-SmtpAuthPolicyState reads ---

        private static Graph.ConditionalAccessPolicy Model(Action<Graph.ConditionalAccessConditionSet> conditions, Graph.ConditionalAccessGrantControls? grant = null)
        {
            var set = new Graph.ConditionalAccessConditionSet
            {
                ClientAppTypes = new List<Graph.ConditionalAccessClientApp?> { Graph.ConditionalAccessClientApp.All },
                Applications = new Graph.ConditionalAccessApplications { IncludeApplications = new List<string> { "All" } },
                Users = new Graph.ConditionalAccessUsers { IncludeUsers = new List<string> { "All" } },
            };
            conditions(set);
            return new Graph.ConditionalAccessPolicy
            {
                Id = "m",
                DisplayName = "m",
                State = Graph.ConditionalAccessPolicyState.Enabled,
                Conditions = set,
                GrantControls = grant ?? new Graph.ConditionalAccessGrantControls { BuiltInControls = new List<Graph.ConditionalAccessGrantControl?> { Graph.ConditionalAccessGrantControl.Block } },
            };
        }

        private static ConditionalAccessJudgement JudgeModel(Graph.ConditionalAccessPolicy m, bool guest = false) =>
            ConditionalAccessEvaluator.Judge(ConditionalAccessPolicy.FromModel(m), UserId, new HashSet<string>(), new HashSet<string>(), guest);

        [Fact]
        public void FromModel_reads_authentication_flows_insider_risk_device_filters_and_locations()
        {
            Assert.Equal(ConditionalAccessJudgement.NotApplicable, JudgeModel(Model(c => c.AuthenticationFlows = new Graph.ConditionalAccessAuthenticationFlows { TransferMethods = Graph.ConditionalAccessTransferMethods.DeviceCodeFlow })));
            Assert.Equal(ConditionalAccessJudgement.Depends, JudgeModel(Model(c => c.InsiderRiskLevels = Graph.ConditionalAccessInsiderRiskLevels.Elevated)));
            Assert.Equal(ConditionalAccessJudgement.Depends, JudgeModel(Model(c => c.Devices = new Graph.ConditionalAccessDevices { DeviceFilter = new Graph.ConditionalAccessFilter { Mode = Graph.FilterMode.Exclude, Rule = "device.isCompliant -eq True" } })));
            Assert.Equal(ConditionalAccessJudgement.Blocks, JudgeModel(Model(c => c.Locations = new Graph.ConditionalAccessLocations { IncludeLocations = new List<string> { "All" }, ExcludeLocations = new List<string>() })));
            Assert.Equal(ConditionalAccessJudgement.Depends, JudgeModel(Model(c => c.Locations = new Graph.ConditionalAccessLocations { IncludeLocations = new List<string> { "All" }, ExcludeLocations = new List<string> { "AllTrusted" } })));
            Assert.Equal(ConditionalAccessJudgement.Depends, JudgeModel(Model(c => c.AdditionalData = new Dictionary<string, object> { ["agentIdRiskLevels"] = "high" })));
            Assert.Equal(ConditionalAccessJudgement.NotApplicable, JudgeModel(Model(c => c.Applications!.IncludeUserActions = new List<string> { "urn:user:registersecurityinfo" })));
            Assert.Equal(ConditionalAccessJudgement.NotApplicable, JudgeModel(Model(c => c.ClientApplications = new Graph.ConditionalAccessClientApplications { IncludeServicePrincipals = new List<string> { "ServicePrincipalsInMyTenant" } })));
        }

        [Fact]
        public async System.Threading.Tasks.Task FromModel_reads_an_empty_condition_the_model_does_not_know_as_empty_as_FromJson_does()
        {
            // The Graph SDK keeps a condition its v1.0 model does not know as a Kiota untyped node in AdditionalData; an
            // empty one ([] or {}, or null) narrows nothing, as in FromJson. A non-empty one still makes the policy depend on it.
            static async System.Threading.Tasks.Task<Graph.ConditionalAccessPolicy> Parse(string extra)
            {
                string json = "{\"id\":\"p\",\"displayName\":\"p\",\"state\":\"enabled\",\"conditions\":{" + extra +
                    "\"clientAppTypes\":[\"other\"],\"applications\":{\"includeApplications\":[\"All\"]},\"users\":{\"includeUsers\":[\"All\"]}}," +
                    "\"grantControls\":{\"operator\":\"OR\",\"builtInControls\":[\"block\"]}}";
                var node = await new Microsoft.Kiota.Serialization.Json.JsonParseNodeFactory().GetRootParseNodeAsync("application/json", new System.IO.MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));
                return node.GetObjectValue(Graph.ConditionalAccessPolicy.CreateFromDiscriminatorValue)!;
            }

            Assert.Equal(ConditionalAccessJudgement.Blocks, JudgeModel(await Parse("\"futureLevels\":[],\"futureCondition\":{\"include\":[]},\"futureNull\":null,")));
            Assert.Equal(ConditionalAccessJudgement.Depends, JudgeModel(await Parse("\"futureLevels\":[\"high\"],")));
            Assert.Equal(ConditionalAccessJudgement.Depends, JudgeModel(await Parse("\"futureCondition\":{\"include\":[\"x\"]},")));
        }

        [Fact]
        public void FromModel_reads_terms_of_use_and_guest_kinds()
        {
            Assert.Equal(ConditionalAccessJudgement.RequiresUnsatisfiableControl, JudgeModel(Model(_ => { }, new Graph.ConditionalAccessGrantControls { BuiltInControls = new List<Graph.ConditionalAccessGrantControl?>(), TermsOfUse = new List<string> { "tou" } })));
            Graph.ConditionalAccessPolicy excluded = Model(c => c.Users!.ExcludeGuestsOrExternalUsers = new Graph.ConditionalAccessGuestsOrExternalUsers
            {
                GuestOrExternalUserTypes = Graph.ConditionalAccessGuestOrExternalUserTypes.InternalGuest | Graph.ConditionalAccessGuestOrExternalUserTypes.B2bCollaborationGuest,
                ExternalTenants = new Graph.ConditionalAccessAllExternalTenants { MembershipKind = Graph.ConditionalAccessExternalTenantsMembershipKind.All },
            });
            Assert.Equal(ConditionalAccessJudgement.NotApplicable, JudgeModel(excluded, guest: true));
            Assert.Equal(ConditionalAccessJudgement.Blocks, JudgeModel(excluded));
        }
    }
}
