using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace SmtpAuthTroubleshooter.Engine.Policy
{
    /// <summary>The parts of a Conditional Access policy that decide SMTP AUTH (https://learn.microsoft.com/graph/api/resources/conditionalaccesspolicy; https://learn.microsoft.com/entra/identity/conditional-access/policy-block-legacy-authentication).</summary>
    public sealed class ConditionalAccessPolicy
    {
        /// <summary>Policy id.</summary>
        public string Id { get; set; } = string.Empty;
        /// <summary>Display name.</summary>
        public string DisplayName { get; set; } = string.Empty;
        /// <summary>enabled, disabled, enabledForReportingButNotEnforced.</summary>
        public string State { get; set; } = string.Empty;
        /// <summary>conditions.clientAppTypes.</summary>
        public IReadOnlyList<string> ClientAppTypes { get; set; } = Array.Empty<string>();
        /// <summary>conditions.applications.includeApplications.</summary>
        public IReadOnlyList<string> IncludeApplications { get; set; } = Array.Empty<string>();
        /// <summary>conditions.applications.excludeApplications.</summary>
        public IReadOnlyList<string> ExcludeApplications { get; set; } = Array.Empty<string>();
        /// <summary>conditions.users.includeUsers.</summary>
        public IReadOnlyList<string> IncludeUsers { get; set; } = Array.Empty<string>();
        /// <summary>conditions.users.excludeUsers.</summary>
        public IReadOnlyList<string> ExcludeUsers { get; set; } = Array.Empty<string>();
        /// <summary>conditions.users.includeGroups.</summary>
        public IReadOnlyList<string> IncludeGroups { get; set; } = Array.Empty<string>();
        /// <summary>conditions.users.excludeGroups.</summary>
        public IReadOnlyList<string> ExcludeGroups { get; set; } = Array.Empty<string>();
        /// <summary>conditions.users.includeRoles (role template ids).</summary>
        public IReadOnlyList<string> IncludeRoles { get; set; } = Array.Empty<string>();
        /// <summary>conditions.users.excludeRoles.</summary>
        public IReadOnlyList<string> ExcludeRoles { get; set; } = Array.Empty<string>();
        /// <summary>True when locations, platforms or risk levels narrow the policy.</summary>
        public bool DependsOnSource { get; set; }
        /// <summary>grantControls.builtInControls.</summary>
        public IReadOnlyList<string> GrantControls { get; set; } = Array.Empty<string>();
        /// <summary>grantControls.authenticationStrength is set.</summary>
        public bool RequiresAuthenticationStrength { get; set; }

        /// <summary>True when the policy names groups or roles, so membership must be read.</summary>
        public bool NeedsMembership => IncludeGroups.Count + ExcludeGroups.Count + IncludeRoles.Count + ExcludeRoles.Count > 0;

        /// <summary>Reads a policy from Graph JSON.</summary>
        public static ConditionalAccessPolicy FromJson(JsonElement e)
        {
            JsonElement conditions = Get(e, "conditions");
            JsonElement users = Get(conditions, "users");
            JsonElement apps = Get(conditions, "applications");
            JsonElement grant = Get(e, "grantControls");
            return new ConditionalAccessPolicy
            {
                Id = Str(e, "id"),
                DisplayName = Str(e, "displayName"),
                State = Str(e, "state"),
                ClientAppTypes = List(conditions, "clientAppTypes"),
                IncludeApplications = List(apps, "includeApplications"),
                ExcludeApplications = List(apps, "excludeApplications"),
                IncludeUsers = List(users, "includeUsers"),
                ExcludeUsers = List(users, "excludeUsers"),
                IncludeGroups = List(users, "includeGroups"),
                ExcludeGroups = List(users, "excludeGroups"),
                IncludeRoles = List(users, "includeRoles"),
                ExcludeRoles = List(users, "excludeRoles"),
                DependsOnSource = NotEmpty(conditions, "locations") || NotEmpty(conditions, "platforms") ||
                    List(conditions, "signInRiskLevels").Length > 0 || List(conditions, "userRiskLevels").Length > 0,
                GrantControls = List(grant, "builtInControls"),
                RequiresAuthenticationStrength = NotEmpty(grant, "authenticationStrength"),
            };
        }

        /// <summary>Reads a policy from the Graph SDK's model (also a What If result, which is a policy with its analysis).</summary>
        public static ConditionalAccessPolicy FromModel(Microsoft.Graph.Models.ConditionalAccessPolicy p)
        {
            Microsoft.Graph.Models.ConditionalAccessConditionSet? conditions = p.Conditions;
            Microsoft.Graph.Models.ConditionalAccessUsers? users = conditions?.Users;
            Microsoft.Graph.Models.ConditionalAccessApplications? apps = conditions?.Applications;
            Microsoft.Graph.Models.ConditionalAccessGrantControls? grant = p.GrantControls;
            return new ConditionalAccessPolicy
            {
                Id = p.Id ?? string.Empty,
                DisplayName = p.DisplayName ?? string.Empty,
                State = p.State is Microsoft.Graph.Models.ConditionalAccessPolicyState state ? GraphSdk.Wire(state) : string.Empty,
                ClientAppTypes = Wire(conditions?.ClientAppTypes),
                IncludeApplications = Strings(apps?.IncludeApplications),
                ExcludeApplications = Strings(apps?.ExcludeApplications),
                IncludeUsers = Strings(users?.IncludeUsers),
                ExcludeUsers = Strings(users?.ExcludeUsers),
                IncludeGroups = Strings(users?.IncludeGroups),
                ExcludeGroups = Strings(users?.ExcludeGroups),
                IncludeRoles = Strings(users?.IncludeRoles),
                ExcludeRoles = Strings(users?.ExcludeRoles),
                DependsOnSource = conditions?.Locations is not null || conditions?.Platforms is not null ||
                    conditions?.SignInRiskLevels is { Count: > 0 } || conditions?.UserRiskLevels is { Count: > 0 },
                GrantControls = Wire(grant?.BuiltInControls),
                RequiresAuthenticationStrength = grant?.AuthenticationStrength is not null,
            };
        }

        private static string[] Strings(List<string>? values) => values?.Where(v => v is not null).ToArray() ?? Array.Empty<string>();

        private static string[] Wire<TEnum>(List<TEnum?>? values)
            where TEnum : struct, Enum =>
            values?.Where(v => v.HasValue).Select(v => GraphSdk.Wire(v!.Value)).ToArray() ?? Array.Empty<string>();

        private static JsonElement Get(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) ? v : default;

        private static string Str(JsonElement e, string name) =>
            Get(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() ?? string.Empty : string.Empty;

        private static bool NotEmpty(JsonElement e, string name) => Get(e, name).ValueKind == JsonValueKind.Object;

        private static string[] List(JsonElement e, string name) =>
            Get(e, name) is { ValueKind: JsonValueKind.Array } v
                ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray()
                : Array.Empty<string>();
    }

    /// <summary>What Conditional Access does to SMTP basic auth ("other clients") for one user.</summary>
    public sealed class ConditionalAccessOutcome
    {
        /// <summary>Enabled policies that block.</summary>
        public List<string> Blocking { get; } = new List<string>();
        /// <summary>Enabled policies that need MFA or another control basic auth cannot give.</summary>
        public List<string> RequireMfa { get; } = new List<string>();
        /// <summary>Report-only policies that would block or need MFA.</summary>
        public List<string> ReportOnly { get; } = new List<string>();
        /// <summary>Policies that apply only from some locations or platforms.</summary>
        public List<string> DependsOnSource { get; } = new List<string>();
        /// <summary>True when a policy names groups or roles and the user's membership was not known.</summary>
        public bool MembershipUnknown { get; set; }
    }

    /// <summary>
    /// Evaluates Conditional Access policies for SMTP basic auth (https://learn.microsoft.com/entra/identity/conditional-access/policy-block-legacy-authentication): client app type "other", the
    /// Exchange Online app, the user's inclusion and exclusion (users, groups, roles), and the grant.
    /// </summary>
    public static class ConditionalAccessEvaluator
    {
        /// <summary>The Office 365 Exchange Online application id.</summary>
        public const string ExchangeOnlineAppId = "00000002-0000-0ff1-ce00-000000000000";

        /// <summary>Evaluates every policy for one user. Groups and roles may be null when they were not read.</summary>
        public static ConditionalAccessOutcome Evaluate(
            IEnumerable<ConditionalAccessPolicy> policies,
            string userId,
            ISet<string>? groupIds,
            ISet<string>? roleTemplateIds,
            bool isGuest = false)
        {
            var outcome = new ConditionalAccessOutcome();
            foreach (ConditionalAccessPolicy p in policies)
            {
                bool enabled = string.Equals(p.State, "enabled", StringComparison.OrdinalIgnoreCase);
                bool reportOnly = string.Equals(p.State, "enabledForReportingButNotEnforced", StringComparison.OrdinalIgnoreCase);
                if (!enabled && !reportOnly)
                {
                    continue;
                }

                if (!p.ClientAppTypes.Any(t => t.Equals("other", StringComparison.OrdinalIgnoreCase) || t.Equals("all", StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                if (!AppliesToExchange(p))
                {
                    continue;
                }

                bool? included = Includes(p, userId, groupIds, roleTemplateIds, isGuest);
                if (included is null)
                {
                    outcome.MembershipUnknown = true;
                    continue;
                }

                if (included == false)
                {
                    continue;
                }

                bool block = p.GrantControls.Any(c => c.Equals("block", StringComparison.OrdinalIgnoreCase));
                // Basic auth can satisfy none of the grant controls (MFA, compliant device, ...): each one fails it.
                bool unsatisfiable = !block && (p.GrantControls.Count > 0 || p.RequiresAuthenticationStrength);
                if (!block && !unsatisfiable)
                {
                    continue;
                }

                string name = string.IsNullOrEmpty(p.DisplayName) ? p.Id : p.DisplayName;
                if (reportOnly)
                {
                    outcome.ReportOnly.Add(name);
                }
                else if (p.DependsOnSource)
                {
                    outcome.DependsOnSource.Add(name);
                }
                else if (block)
                {
                    outcome.Blocking.Add(name);
                }
                else
                {
                    outcome.RequireMfa.Add(name);
                }
            }

            return outcome;
        }

        private static bool AppliesToExchange(ConditionalAccessPolicy p)
        {
            static bool Names(IReadOnlyList<string> list) =>
                list.Any(a => a.Equals("All", StringComparison.OrdinalIgnoreCase) || a.Equals("Office365", StringComparison.OrdinalIgnoreCase) || a.Equals(ExchangeOnlineAppId, StringComparison.OrdinalIgnoreCase));

            bool excluded = p.ExcludeApplications.Any(a => a.Equals("Office365", StringComparison.OrdinalIgnoreCase) || a.Equals(ExchangeOnlineAppId, StringComparison.OrdinalIgnoreCase));
            return Names(p.IncludeApplications) && !excluded;
        }

        // True/false, or null when the answer needs group or role membership that is not known.
        private static bool? Includes(ConditionalAccessPolicy p, string userId, ISet<string>? groups, ISet<string>? roles, bool isGuest)
        {
            bool needGroups = p.IncludeGroups.Count + p.ExcludeGroups.Count > 0;
            bool needRoles = p.IncludeRoles.Count + p.ExcludeRoles.Count > 0;
            if ((needGroups && groups is null) || (needRoles && roles is null))
            {
                return null;
            }

            bool excluded = p.ExcludeUsers.Any(u => string.Equals(u, userId, StringComparison.OrdinalIgnoreCase) || (isGuest && u == "GuestsOrExternalUsers"))
                || p.ExcludeGroups.Any(g => groups!.Contains(g))
                || p.ExcludeRoles.Any(r => roles!.Contains(r));
            if (excluded)
            {
                return false;
            }

            return p.IncludeUsers.Any(u => u.Equals("All", StringComparison.OrdinalIgnoreCase) || string.Equals(u, userId, StringComparison.OrdinalIgnoreCase) || (isGuest && u == "GuestsOrExternalUsers"))
                || p.IncludeGroups.Any(g => groups!.Contains(g))
                || p.IncludeRoles.Any(r => roles!.Contains(r));
        }
    }
}
