using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Characterization of EvidenceCorroborator.Judge: over a broad grid of policy states, every cause id and every auth
    /// method, the catalog's corroboration rules give exactly what the C# switch they replaced gave (same verdict, same
    /// text). The switch is kept only as the test oracle (<see cref="LegacyCorroborationOracle"/>).
    /// </summary>
    public class CorroborationCharacterizationTests
    {
        private static readonly SmtpAuthMethod[] Methods = { SmtpAuthMethod.Unknown, SmtpAuthMethod.Basic, SmtpAuthMethod.OAuth };
        private static readonly object?[] Bools = { null, true, false };
        private static readonly object?[] Lists = { null, string.Empty, "Block legacy auth; Require MFA" };

        // The values each field of the state takes in the grid. Fields the switch compared case-sensitively
        // (SmtpAuthDecidedBy, AuthenticationPolicySource, PerUserMfaState "disabled") appear in the casing the engine
        // writes; the rules compare every string case-insensitively (see Case_insensitive_comparisons_*).
        private static readonly Dictionary<string, object?[]> Domains = new Dictionary<string, object?[]>(StringComparer.Ordinal)
        {
            ["TenantSmtpAuthDisabled"] = Bools,
            ["MailboxSmtpAuthDisabled"] = Bools,
            ["SmtpAuthEnabled"] = Bools,
            ["SmtpAuthDecidedBy"] = new object?[] { null, "Tenant", "Mailbox" },
            ["AuthenticationPolicy"] = new object?[] { null, string.Empty, "Block Basic Auth", "o'brien {policy}" },
            ["AuthenticationPolicySource"] = new object?[] { null, "User", "OrganizationDefault", "None" },
            ["AllowBasicAuthSmtp"] = Bools,
            ["SecurityDefaultsEnabled"] = Bools,
            ["BlockingConditionalAccessPolicies"] = Lists,
            ["MfaConditionalAccessPolicies"] = Lists,
            ["ReportOnlyConditionalAccessPolicies"] = Lists,
            ["ConditionalAccessDependsOnSource"] = Lists,
            ["ConditionalAccessEvaluatedBy"] = new object?[] { null, string.Empty, "Local", "WhatIf" },
            ["PerUserMfaState"] = new object?[] { null, string.Empty, "disabled", "enabled", "enforced", "Enabled", "ENFORCED", "unknown" },
            ["AccountEnabled"] = Bools,
            ["DomainAuthenticationType"] = new object?[] { null, string.Empty, "Managed", "managed", "Federated" },
            ["RecipientTypeDetails"] = new object?[] { null, string.Empty, "UserMailbox", "SharedMailbox", "sharedmailbox", "RoomMailbox" },
            ["ClientId"] = new object?[] { null, string.Empty, "6f1a7c2e-0000-4000-8000-000000000001" },
            ["ServicePrincipalRegistered"] = Bools,
            ["ServicePrincipalObjectIdMatches"] = Bools,
            ["ServicePrincipalHasMailboxAccess"] = Bools,
            ["AppHasSmtpSendAsApp"] = Bools,
            ["From"] = new object?[] { null, string.Empty, "sales@contoso.com" },
            ["SendAsAllowed"] = Bools,
            ["LastSmtpSignInErrorCode"] = new object?[] { null, 0, 50126, 53003 },
            ["BasicAuthBlockedBy"] = new object?[] { null, "TenantSmtpAuthDisabled; MfaRequired" },
        };

        // For each cause the switch handled, the fields it read: the grid tries every combination of these.
        private static readonly Dictionary<string, string[]> FieldsByCause = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["TenantSmtpAuthDisabled"] = new[] { "TenantSmtpAuthDisabled", "SmtpAuthDecidedBy", "MailboxSmtpAuthDisabled" },
            ["MailboxSmtpAuthDisabled"] = new[] { "MailboxSmtpAuthDisabled", "TenantSmtpAuthDisabled", "SmtpAuthDecidedBy" },
            ["AuthenticationPolicyBlocksBasicSmtp"] = new[] { "AllowBasicAuthSmtp", "AuthenticationPolicySource", "AuthenticationPolicy" },
            ["BasicAuthDisabledForAccount"] = new[] { "AllowBasicAuthSmtp", "AuthenticationPolicySource", "AuthenticationPolicy" },
            ["SecurityDefaultsBlockBasicAuth"] = new[] { "SecurityDefaultsEnabled" },
            ["ConditionalAccessBlocksLegacyAuth"] = new[] { "BlockingConditionalAccessPolicies", "ConditionalAccessEvaluatedBy", "ConditionalAccessDependsOnSource", "MfaConditionalAccessPolicies", "ReportOnlyConditionalAccessPolicies" },
            ["MfaRequired"] = new[] { "MfaConditionalAccessPolicies", "PerUserMfaState", "ConditionalAccessEvaluatedBy" },
            ["AccountDisabled"] = new[] { "AccountEnabled" },
            ["AccountIssue"] = new[] { "AccountEnabled" },
            ["SharedMailboxSignIn"] = new[] { "RecipientTypeDetails", "ClientId" },
            ["ServicePrincipalNotRegistered"] = new[] { "ServicePrincipalRegistered", "ServicePrincipalObjectIdMatches" },
            ["MailboxPermissionMissing"] = new[] { "ServicePrincipalHasMailboxAccess" },
            ["TokenMissingPermission"] = new[] { "AppHasSmtpSendAsApp" },
            ["SendAsDenied"] = new[] { "SendAsAllowed", "From" },
            ["FederatedStsFailure"] = new[] { "DomainAuthenticationType" },
        };

        private static readonly Dictionary<string, PropertyInfo> Properties = typeof(SmtpAuthPolicyState).GetProperties().ToDictionary(p => p.Name, StringComparer.Ordinal);

        private static IEnumerable<string> CauseIds =>
            ErrorCatalog.Embedded.Causes.Keys.Concat(FieldsByCause.Keys).Concat(new[] { "NoSuchCause", string.Empty }).Distinct(StringComparer.Ordinal);

        [Fact]
        public void Every_field_of_the_grid_is_a_state_property()
        {
            Assert.All(Domains.Keys.Concat(FieldsByCause.Values.SelectMany(f => f)), name => Assert.True(Properties.ContainsKey(name), name));
        }

        [Fact]
        public void Rules_match_the_legacy_switch_for_every_combination_of_the_fields_each_cause_reads()
        {
            var random = new Random(20261130);
            var mismatches = new List<string>();
            int compared = 0;
            foreach (KeyValuePair<string, string[]> cause in FieldsByCause)
            {
                // Every combination of the cause's own fields, over an empty background and over random ones.
                for (int background = 0; background < 12; background++)
                {
                    foreach (Dictionary<string, object?> combination in Combinations(cause.Value))
                    {
                        SmtpAuthPolicyState s = background == 0 ? new SmtpAuthPolicyState() : RandomState(random);
                        foreach (KeyValuePair<string, object?> field in combination)
                        {
                            Properties[field.Key].SetValue(s, field.Value);
                        }

                        foreach (SmtpAuthMethod method in Methods)
                        {
                            compared++;
                            Compare(cause.Key, s, method, mismatches);
                        }
                    }
                }
            }

            Assert.True(compared > 10_000, compared.ToString(CultureInfo.InvariantCulture));
            Assert.True(mismatches.Count == 0, mismatches.Count + " of " + compared + " differ:\n" + string.Join("\n", mismatches.Take(20)));
        }

        [Fact]
        public void Rules_match_the_legacy_switch_for_random_states_and_every_cause_id()
        {
            var random = new Random(424242);
            var mismatches = new List<string>();
            string[] causes = CauseIds.ToArray();
            int compared = 0;
            for (int i = 0; i < 3000; i++)
            {
                SmtpAuthPolicyState s = RandomState(random);
                foreach (string causeId in causes)
                {
                    foreach (SmtpAuthMethod method in Methods)
                    {
                        compared++;
                        Compare(causeId, s, method, mismatches);
                    }
                }
            }

            Assert.True(mismatches.Count == 0, mismatches.Count + " of " + compared + " differ:\n" + string.Join("\n", mismatches.Take(20)));
        }

        [Fact]
        public void The_grid_reaches_every_verdict_of_every_cause_the_switch_handled()
        {
            // Guards the grid itself: each cause's Confirmed / RuledOut / note branches are all exercised.
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, string[]> cause in FieldsByCause)
            {
                foreach (Dictionary<string, object?> combination in Combinations(cause.Value))
                {
                    var s = new SmtpAuthPolicyState();
                    foreach (KeyValuePair<string, object?> field in combination)
                    {
                        Properties[field.Key].SetValue(s, field.Value);
                    }

                    foreach (SmtpAuthMethod method in Methods)
                    {
                        (Verdict? verdict, string? why) = LegacyCorroborationOracle.Judge(cause.Key, s, method);
                        if (why is not null)
                        {
                            seen.Add(cause.Key + "|" + (verdict?.ToString() ?? "Note") + "|" + why);
                        }
                    }
                }
            }

            // Every (cause, verdict) pair the switch can produce.
            string[] outcomes = seen.Select(x => string.Join("|", x.Split('|').Take(2))).Distinct().OrderBy(x => x, StringComparer.Ordinal).ToArray();
            Assert.Equal(
                new[]
                {
                    "AccountDisabled|Confirmed", "AccountDisabled|RuledOut", "AccountIssue|Confirmed",
                    "AuthenticationPolicyBlocksBasicSmtp|Confirmed", "AuthenticationPolicyBlocksBasicSmtp|RuledOut",
                    "BasicAuthDisabledForAccount|Confirmed",
                    "ConditionalAccessBlocksLegacyAuth|Confirmed", "ConditionalAccessBlocksLegacyAuth|RuledOut",
                    "FederatedStsFailure|RuledOut",
                    "MailboxPermissionMissing|Confirmed", "MailboxPermissionMissing|RuledOut",
                    "MailboxSmtpAuthDisabled|Confirmed", "MailboxSmtpAuthDisabled|RuledOut",
                    "MfaRequired|Confirmed", "MfaRequired|Note", "MfaRequired|RuledOut",
                    "SecurityDefaultsBlockBasicAuth|Confirmed", "SecurityDefaultsBlockBasicAuth|RuledOut",
                    "SendAsDenied|Confirmed", "SendAsDenied|RuledOut",
                    "ServicePrincipalNotRegistered|Confirmed", "ServicePrincipalNotRegistered|RuledOut",
                    "SharedMailboxSignIn|Confirmed", "SharedMailboxSignIn|Note", "SharedMailboxSignIn|RuledOut",
                    "TenantSmtpAuthDisabled|Confirmed", "TenantSmtpAuthDisabled|RuledOut",
                    "TokenMissingPermission|Confirmed",
                },
                outcomes);
        }

        // Where the rules now deliberately differ from the switch they replaced, each with its own named case in
        // CorroborationRuleTests: a shared mailbox's sign-in is blocked by design (AccountDisabled RuledOut, not Confirmed),
        // and an authentication policy is only a note on BasicAuthDisabledForAccount (Microsoft does not document the link).
        private static bool IntendedDeparture(string causeId, SmtpAuthPolicyState s) =>
            (causeId == "AccountDisabled" && s.AccountEnabled == false && string.Equals(s.RecipientTypeDetails, "SharedMailbox", StringComparison.OrdinalIgnoreCase))
            || (causeId == "BasicAuthDisabledForAccount" && s.AllowBasicAuthSmtp == false);

        private static void Compare(string causeId, SmtpAuthPolicyState s, SmtpAuthMethod method, List<string> mismatches)
        {
            if (IntendedDeparture(causeId, s))
            {
                return;
            }

            (Verdict? Verdict, string? Why) expected = LegacyCorroborationOracle.Judge(causeId, s, method);
            (Verdict? Verdict, string? Why) actual = EvidenceCorroborator.Judge(causeId, s, method);
            if (expected.Verdict != actual.Verdict || !string.Equals(expected.Why, actual.Why, StringComparison.Ordinal))
            {
                mismatches.Add(causeId + " " + method + " " + Describe(s) + "\n  expected " + expected.Verdict + ": " + expected.Why + "\n  actual   " + actual.Verdict + ": " + actual.Why);
            }
        }

        private static IEnumerable<Dictionary<string, object?>> Combinations(string[] fields)
        {
            IEnumerable<Dictionary<string, object?>> result = new[] { new Dictionary<string, object?>(StringComparer.Ordinal) };
            foreach (string field in fields)
            {
                string name = field;
                result = result.SelectMany(partial => Domains[name].Select(value => new Dictionary<string, object?>(partial, StringComparer.Ordinal) { [name] = value })).ToList();
            }

            return result;
        }

        private static SmtpAuthPolicyState RandomState(Random random)
        {
            var s = new SmtpAuthPolicyState();
            foreach (KeyValuePair<string, object?[]> domain in Domains)
            {
                Properties[domain.Key].SetValue(s, domain.Value[random.Next(domain.Value.Length)]);
            }

            return s;
        }

        private static string Describe(SmtpAuthPolicyState s) =>
            string.Join(", ", Domains.Keys.Select(k => k + "=" + (Properties[k].GetValue(s)?.ToString() ?? "null")));
    }
}
