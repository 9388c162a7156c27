using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Conditional Access policies people published (Data/ConditionalAccess, each file as its repository holds it, its source in
    /// expected.json), read by ConditionalAccessPolicy.FromJson and judged by ConditionalAccessEvaluator.Judge for an SMTP AUTH
    /// basic-auth sign-in (client app "other clients", resource Exchange Online) from an unknown location and platform.
    /// The expected answers follow Microsoft's documented semantics:
    /// - client apps: SMTP AUTH is an "other client" (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-conditions#client-apps);
    /// - target resources: cloud apps, or user actions, or authentication contexts; Office365 includes Exchange Online
    ///   (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-cloud-apps);
    /// - users, groups, roles, guest or external user types, exclusions winning (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-users-groups);
    /// - authentication flows cover only the device code flow and authentication transfer (https://learn.microsoft.com/entra/identity/conditional-access/concept-authentication-flows);
    /// - workload identity policies apply to service principals (https://learn.microsoft.com/entra/identity/conditional-access/workload-identity);
    /// - report-only policies are evaluated and logged, never enforced (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-report-only);
    /// - legacy authentication cannot do MFA or pass device state, so a grant it must satisfy fails
    ///   (https://learn.microsoft.com/entra/identity/conditional-access/policy-block-legacy-authentication,
    ///   https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-grant);
    /// - locations, platforms, risk levels, insider risk and device filters decide per sign-in (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-conditions,
    ///   https://learn.microsoft.com/entra/identity/conditional-access/concept-condition-filters-for-devices): unless they cover everything, the answer depends on facts not known here.
    /// </summary>
    public class ConditionalAccessRealPoliciesTests
    {
        private const string UserId = "11111111-1111-1111-1111-111111111111";

        private static readonly string DataDir = Path.Combine(AppContext.BaseDirectory, "Data", "ConditionalAccess");

        // What FromJson reads from conditions; anything else non-empty must show up in DependsOn (never dropped silently).
        private static readonly HashSet<string> ReadConditions = new HashSet<string>(StringComparer.Ordinal)
        {
            "applications", "users", "clientAppTypes", "locations", "platforms", "signInRiskLevels", "userRiskLevels", "servicePrincipalRiskLevels",
            "insiderRiskLevels", "agentIdRiskLevels", "devices", "deviceStates", "clientApplications", "authenticationFlows",
        };

        private static readonly HashSet<string> ReadGrant = new HashSet<string>(StringComparer.Ordinal)
        {
            "operator", "builtInControls", "authenticationStrength", "termsOfUse", "customAuthenticationFactors",
        };

        public sealed class PolicyCase
        {
            public string File { get; set; } = string.Empty;
            public string Source { get; set; } = string.Empty;
            public string Expected { get; set; } = string.Empty;
            public string Reason { get; set; } = string.Empty;
            public string? ExpectedInTargetGroups { get; set; }
            public string? ReasonInTargetGroups { get; set; }

            public override string ToString() => File;
        }

        private static readonly JsonSerializerOptions JsonOptions = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };

        private static List<PolicyCase> Cases()
        {
            string json = File.ReadAllText(Path.Combine(DataDir, "expected.json"));
            return JsonSerializer.Deserialize<List<PolicyCase>>(json, JsonOptions)!;
        }

        public static IEnumerable<object[]> Files() => Cases().Select(c => new object[] { c.File });

        private static JsonDocument Load(string file) =>
            // File.ReadAllText follows the byte order mark: some exports are UTF-16, as PowerShell's Out-File writes them.
            JsonDocument.Parse(File.ReadAllText(Path.Combine(DataDir, file)));

        [Fact]
        public void Every_policy_file_has_an_expected_answer_and_a_source()
        {
            List<PolicyCase> cases = Cases();
            string[] onDisk = Directory.GetFiles(DataDir, "*.json", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(DataDir, f).Replace('\\', '/'))
                .Where(f => f != "expected.json").OrderBy(f => f, StringComparer.Ordinal).ToArray();
            Assert.Equal(onDisk, cases.Select(c => c.File).OrderBy(f => f, StringComparer.Ordinal).ToArray());
            Assert.True(cases.Count >= 30);
            Assert.All(cases, c =>
            {
                Assert.StartsWith("https://github.com/", c.Source, StringComparison.Ordinal);
                Assert.False(string.IsNullOrWhiteSpace(c.Reason));
            });
        }

        [Theory]
        [MemberData(nameof(Files))]
        public void A_real_policy_parses_and_nothing_it_sets_is_dropped(string file)
        {
            using JsonDocument doc = Load(file);
            ConditionalAccessPolicy p = ConditionalAccessPolicy.FromJson(doc.RootElement);
            JsonElement root = doc.RootElement;
            Assert.Equal(root.TryGetProperty("displayName", out JsonElement name) ? name.GetString() : string.Empty, p.DisplayName);
            Assert.Equal(root.GetProperty("state").GetString(), p.State);
            JsonElement conditions = root.GetProperty("conditions");
            foreach (JsonProperty c in conditions.EnumerateObject().Where(c => !c.Name.Contains('@') && !Empty(c.Value)))
            {
                Assert.True(ReadConditions.Contains(c.Name) || p.DependsOn.Contains(c.Name), file + ": condition " + c.Name + " is neither read nor marked as a dependency");
            }

            if (root.TryGetProperty("grantControls", out JsonElement grant) && grant.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty g in grant.EnumerateObject().Where(g => !g.Name.Contains('@') && !Empty(g.Value)))
                {
                    Assert.Contains(g.Name, ReadGrant);
                }

                int controls = grant.TryGetProperty("builtInControls", out JsonElement b) && b.ValueKind == JsonValueKind.Array ? b.GetArrayLength() : 0;
                Assert.Equal(controls, p.GrantControls.Count);
            }
        }

        [Theory]
        [MemberData(nameof(Files))]
        public void A_real_policy_gets_the_documented_answer_for_a_plain_member(string file)
        {
            PolicyCase c = Cases().Single(x => x.File == file);
            using JsonDocument doc = Load(file);
            ConditionalAccessPolicy p = ConditionalAccessPolicy.FromJson(doc.RootElement);
            ConditionalAccessJudgement got = ConditionalAccessEvaluator.Judge(p, UserId, new HashSet<string>(), new HashSet<string>());
            Assert.True(c.Expected == got.ToString(), file + ": expected " + c.Expected + " (" + c.Reason + "), got " + got);
        }

        [Theory]
        [MemberData(nameof(Files))]
        public void A_real_policy_gets_the_documented_answer_for_a_member_of_its_target_groups_and_roles(string file)
        {
            PolicyCase c = Cases().Single(x => x.File == file);
            using JsonDocument doc = Load(file);
            ConditionalAccessPolicy p = ConditionalAccessPolicy.FromJson(doc.RootElement);
            var groups = new HashSet<string>(p.IncludeGroups, StringComparer.OrdinalIgnoreCase);
            var roles = new HashSet<string>(p.IncludeRoles, StringComparer.OrdinalIgnoreCase);
            ConditionalAccessJudgement got = ConditionalAccessEvaluator.Judge(p, UserId, groups, roles);
            string expected = c.ExpectedInTargetGroups ?? c.Expected;
            Assert.True(expected == got.ToString(), file + ": expected " + expected + " (" + (c.ReasonInTargetGroups ?? c.Reason) + "), got " + got);
        }

        [Fact]
        public void No_real_policy_is_a_confirmed_block_unless_it_blocks_every_source()
        {
            // Zero false Confirmed: Blocking (what makes ConditionalAccessBlocksLegacyAuth Confirmed) holds only the policies whose expected answer is Blocks.
            List<PolicyCase> cases = Cases();
            var policies = cases.Select(c =>
            {
                using JsonDocument doc = Load(c.File);
                return ConditionalAccessPolicy.FromJson(doc.RootElement);
            }).ToList();
            ConditionalAccessOutcome o = ConditionalAccessEvaluator.Evaluate(policies, UserId, new HashSet<string>(), new HashSet<string>());
            string[] expectedBlocks = cases.Zip(policies, (c, p) => (c, p)).Where(x => x.c.Expected == "Blocks").Select(x => x.p.DisplayName).OrderBy(n => n, StringComparer.Ordinal).ToArray();
            Assert.Equal(expectedBlocks, o.Blocking.OrderBy(n => n, StringComparer.Ordinal).ToArray());
        }

        private static bool Empty(JsonElement v) => v.ValueKind switch
        {
            JsonValueKind.Null or JsonValueKind.Undefined => true,
            JsonValueKind.Array => v.GetArrayLength() == 0,
            JsonValueKind.String => string.IsNullOrEmpty(v.GetString()),
            JsonValueKind.Object => !v.EnumerateObject().Any(p => !p.Name.Contains('@') && !Empty(p.Value)),
            _ => false,
        };
    }
}
