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
        /// <summary>
        /// The conditions and controls whose answer for one sign-in needs facts this module does not have (a location or platform
        /// that is not "All", a risk level, a device filter, an application filter, a condition or grant control it does not know).
        /// Any of them makes the policy "depends", never a confirmed block.
        /// </summary>
        public IReadOnlyList<string> DependsOn { get; set; } = Array.Empty<string>();
        /// <summary>conditions.applications.includeUserActions (registering security information or devices; no cloud app).</summary>
        public IReadOnlyList<string> IncludeUserActions { get; set; } = Array.Empty<string>();
        /// <summary>conditions.applications.includeAuthenticationContextClassReferences (an app asks for the context; no cloud app).</summary>
        public IReadOnlyList<string> IncludeAuthenticationContexts { get; set; } = Array.Empty<string>();
        /// <summary>conditions.authenticationFlows.transferMethods (deviceCodeFlow, authenticationTransfer).</summary>
        public IReadOnlyList<string> TransferMethods { get; set; } = Array.Empty<string>();
        /// <summary>conditions.clientApplications.includeServicePrincipals and includeAgentIdServicePrincipals (workload identities).</summary>
        public IReadOnlyList<string> IncludeServicePrincipals { get; set; } = Array.Empty<string>();
        /// <summary>conditions.users.includeGuestsOrExternalUsers, or null.</summary>
        public GuestsOrExternalUsers? IncludeGuestsOrExternalUsers { get; set; }
        /// <summary>conditions.users.excludeGuestsOrExternalUsers, or null.</summary>
        public GuestsOrExternalUsers? ExcludeGuestsOrExternalUsers { get; set; }
        /// <summary>grantControls.termsOfUse (agreement ids).</summary>
        public IReadOnlyList<string> TermsOfUse { get; set; } = Array.Empty<string>();
        /// <summary>grantControls.customAuthenticationFactors (custom controls).</summary>
        public IReadOnlyList<string> CustomAuthenticationFactors { get; set; } = Array.Empty<string>();
        /// <summary>grantControls.builtInControls.</summary>
        public IReadOnlyList<string> GrantControls { get; set; } = Array.Empty<string>();
        /// <summary>grantControls.authenticationStrength is set.</summary>
        public bool RequiresAuthenticationStrength { get; set; }

        /// <summary>True when the policy names groups or roles, so membership must be read.</summary>
        public bool NeedsMembership => IncludeGroups.Count + ExcludeGroups.Count + IncludeRoles.Count + ExcludeRoles.Count > 0;

        /// <summary>Reads a policy from Graph JSON (v1.0 or beta: GET /identity/conditionalAccess/policies).</summary>
        public static ConditionalAccessPolicy FromJson(JsonElement e)
        {
            JsonElement conditions = Get(e, "conditions");
            JsonElement users = Get(conditions, "users");
            JsonElement apps = Get(conditions, "applications");
            JsonElement grant = Get(e, "grantControls");
            JsonElement clientApps = Get(conditions, "clientApplications");
            var dependsOn = new List<string>();
            JsonElement locations = Get(conditions, "locations");
            if (locations.ValueKind == JsonValueKind.Object)
            {
                AddNarrowing(dependsOn, "locations", List(locations, "includeLocations"), List(locations, "excludeLocations"));
            }

            JsonElement platforms = Get(conditions, "platforms");
            if (platforms.ValueKind == JsonValueKind.Object)
            {
                AddNarrowing(dependsOn, "platforms", List(platforms, "includePlatforms"), List(platforms, "excludePlatforms"));
            }

            foreach (string risk in RiskConditions)
            {
                if (Multi(conditions, risk).Length > 0)
                {
                    dependsOn.Add(risk);
                }
            }

            JsonElement devices = Get(conditions, "devices");
            if (Get(devices, "deviceFilter").ValueKind == JsonValueKind.Object ||
                DeviceLists.Any(n => List(devices, n).Length > 0))
            {
                dependsOn.Add("devices");
            }

            JsonElement deviceStates = Get(conditions, "deviceStates");
            if (List(deviceStates, "includeStates").Length + List(deviceStates, "excludeStates").Length > 0)
            {
                dependsOn.Add("deviceStates");
            }

            if (Get(apps, "applicationFilter").ValueKind == JsonValueKind.Object)
            {
                dependsOn.Add("applicationFilter");
            }

            if (Get(clientApps, "servicePrincipalFilter").ValueKind == JsonValueKind.Object)
            {
                dependsOn.Add("servicePrincipalFilter");
            }

            if (conditions.ValueKind == JsonValueKind.Object)
            {
                // A condition this module does not know is not dropped: it may narrow the policy, so the answer depends on it.
                foreach (JsonProperty c in conditions.EnumerateObject())
                {
                    if (!KnownConditions.Contains(c.Name) && !c.Name.Contains('@') && !IsEmpty(c.Value))
                    {
                        dependsOn.Add(c.Name);
                    }
                }
            }

            string[] builtIn = List(grant, "builtInControls");
            dependsOn.AddRange(builtIn.Where(b => !KnownGrantControls.Contains(b)).Select(b => "grant control " + b));
            return new ConditionalAccessPolicy
            {
                Id = Str(e, "id"),
                DisplayName = Str(e, "displayName"),
                State = Str(e, "state"),
                ClientAppTypes = List(conditions, "clientAppTypes"),
                IncludeApplications = List(apps, "includeApplications"),
                ExcludeApplications = List(apps, "excludeApplications"),
                IncludeUserActions = List(apps, "includeUserActions"),
                IncludeAuthenticationContexts = List(apps, "includeAuthenticationContextClassReferences"),
                TransferMethods = Multi(Get(conditions, "authenticationFlows"), "transferMethods"),
                IncludeServicePrincipals = List(clientApps, "includeServicePrincipals").Concat(List(clientApps, "includeAgentIdServicePrincipals")).ToArray(),
                IncludeUsers = List(users, "includeUsers"),
                ExcludeUsers = List(users, "excludeUsers"),
                IncludeGroups = List(users, "includeGroups"),
                ExcludeGroups = List(users, "excludeGroups"),
                IncludeRoles = List(users, "includeRoles"),
                ExcludeRoles = List(users, "excludeRoles"),
                IncludeGuestsOrExternalUsers = Guests(Get(users, "includeGuestsOrExternalUsers")),
                ExcludeGuestsOrExternalUsers = Guests(Get(users, "excludeGuestsOrExternalUsers")),
                DependsOn = dependsOn,
                DependsOnSource = dependsOn.Count > 0,
                GrantControls = builtIn,
                RequiresAuthenticationStrength = NotEmpty(grant, "authenticationStrength"),
                TermsOfUse = List(grant, "termsOfUse"),
                CustomAuthenticationFactors = List(grant, "customAuthenticationFactors"),
            };
        }

        // The conditions FromJson reads; another non-empty one lands in DependsOn (https://learn.microsoft.com/graph/api/resources/conditionalaccessconditionset).
        private static readonly HashSet<string> KnownConditions = new HashSet<string>(StringComparer.Ordinal)
        {
            "applications", "users", "clientAppTypes", "locations", "platforms", "signInRiskLevels", "userRiskLevels", "servicePrincipalRiskLevels",
            "insiderRiskLevels", "agentIdRiskLevels", "devices", "deviceStates", "clientApplications", "authenticationFlows",
        };

        private static readonly string[] DeviceLists = { "includeDevices", "excludeDevices", "includeDeviceStates", "excludeDeviceStates" };

        private static readonly string[] RiskConditions = { "signInRiskLevels", "userRiskLevels", "servicePrincipalRiskLevels", "insiderRiskLevels", "agentIdRiskLevels" };

        // Grant controls whose meaning is documented (https://learn.microsoft.com/graph/api/resources/conditionalaccessgrantcontrols):
        // basic auth satisfies none of them. Another one may be satisfiable, so it lands in DependsOn.
        private static readonly HashSet<string> KnownGrantControls = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "block", "mfa", "compliantDevice", "domainJoinedDevice", "approvedApplication", "compliantApplication", "passwordChange", "riskRemediation",
        };

        // A location or platform condition narrows the policy unless it includes all and excludes nothing.
        private static void AddNarrowing(List<string> dependsOn, string name, string[] include, string[] exclude)
        {
            if (!(include.Any(i => i.Equals("All", StringComparison.OrdinalIgnoreCase)) && exclude.Length == 0))
            {
                dependsOn.Add(name);
            }
        }

        private static GuestsOrExternalUsers? Guests(JsonElement g)
        {
            if (g.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            JsonElement tenants = Get(g, "externalTenants");
            string kind = Str(tenants, "membershipKind");
            return new GuestsOrExternalUsers
            {
                Types = Multi(g, "guestOrExternalUserTypes"),
                AllExternalTenants = tenants.ValueKind != JsonValueKind.Object || kind.Length == 0 || kind.Equals("all", StringComparison.OrdinalIgnoreCase),
            };
        }

        // A multi-valued enum: Graph writes flags as one comma-separated string ("deviceCodeFlow,authenticationTransfer"), other lists as arrays.
        private static string[] Multi(JsonElement e, string name) =>
            Get(e, name) is { ValueKind: JsonValueKind.String } v
                ? (v.GetString() ?? string.Empty).Split(',').Select(x => x.Trim()).Where(x => x.Length > 0 && !x.Equals("none", StringComparison.OrdinalIgnoreCase)).ToArray()
                : List(e, name);

        private static bool IsEmpty(JsonElement v) => v.ValueKind switch
        {
            JsonValueKind.Null or JsonValueKind.Undefined => true,
            JsonValueKind.Array => v.GetArrayLength() == 0,
            JsonValueKind.String => string.IsNullOrEmpty(v.GetString()),
            JsonValueKind.Object => !v.EnumerateObject().Any(p => !p.Name.Contains('@') && !IsEmpty(p.Value)),
            _ => false,
        };

        /// <summary>Reads a policy from the Graph SDK's model (also a What If result, which is a policy with its analysis).</summary>
        public static ConditionalAccessPolicy FromModel(Microsoft.Graph.Models.ConditionalAccessPolicy p)
        {
            Microsoft.Graph.Models.ConditionalAccessConditionSet? conditions = p.Conditions;
            Microsoft.Graph.Models.ConditionalAccessUsers? users = conditions?.Users;
            Microsoft.Graph.Models.ConditionalAccessApplications? apps = conditions?.Applications;
            Microsoft.Graph.Models.ConditionalAccessGrantControls? grant = p.GrantControls;
            var dependsOn = new List<string>();
            if (conditions?.Locations is { } locations)
            {
                AddNarrowing(dependsOn, "locations", Strings(locations.IncludeLocations), Strings(locations.ExcludeLocations));
            }

            if (conditions?.Platforms is { } platforms)
            {
                AddNarrowing(dependsOn, "platforms", Wire(platforms.IncludePlatforms), Wire(platforms.ExcludePlatforms));
            }

            if (conditions?.SignInRiskLevels is { Count: > 0 })
            {
                dependsOn.Add("signInRiskLevels");
            }

            if (conditions?.UserRiskLevels is { Count: > 0 })
            {
                dependsOn.Add("userRiskLevels");
            }

            if (conditions?.ServicePrincipalRiskLevels is { Count: > 0 })
            {
                dependsOn.Add("servicePrincipalRiskLevels");
            }

            if (conditions?.InsiderRiskLevels is { } insider && Flags(insider).Length > 0)
            {
                dependsOn.Add("insiderRiskLevels");
            }

            if (conditions?.Devices?.DeviceFilter is not null)
            {
                dependsOn.Add("devices");
            }

            if (apps?.ApplicationFilter is not null)
            {
                dependsOn.Add("applicationFilter");
            }

            if (conditions?.ClientApplications?.ServicePrincipalFilter is not null)
            {
                dependsOn.Add("servicePrincipalFilter");
            }

            // What the v1.0 model does not know (beta-only conditions) the SDK keeps in AdditionalData: not dropped. Kiota keeps
            // such a value as an untyped node, so an empty one ([] or {}) is empty here as it is in FromJson.
            dependsOn.AddRange((conditions?.AdditionalData ?? new Dictionary<string, object>())
                .Where(kv => !kv.Key.Contains('@') && !IsEmptyValue(kv.Value)).Select(kv => kv.Key));
            string[] builtIn = Wire(grant?.BuiltInControls);
            dependsOn.AddRange(builtIn.Where(b => !KnownGrantControls.Contains(b)).Select(b => "grant control " + b));
            return new ConditionalAccessPolicy
            {
                Id = p.Id ?? string.Empty,
                DisplayName = p.DisplayName ?? string.Empty,
                State = p.State is Microsoft.Graph.Models.ConditionalAccessPolicyState state ? GraphSdk.Wire(state) : string.Empty,
                ClientAppTypes = Wire(conditions?.ClientAppTypes),
                IncludeApplications = Strings(apps?.IncludeApplications),
                ExcludeApplications = Strings(apps?.ExcludeApplications),
                IncludeUserActions = Strings(apps?.IncludeUserActions),
                IncludeAuthenticationContexts = Strings(apps?.IncludeAuthenticationContextClassReferences),
                TransferMethods = conditions?.AuthenticationFlows?.TransferMethods is { } transfer ? Flags(transfer) : Array.Empty<string>(),
                IncludeServicePrincipals = Strings(conditions?.ClientApplications?.IncludeServicePrincipals),
                IncludeUsers = Strings(users?.IncludeUsers),
                ExcludeUsers = Strings(users?.ExcludeUsers),
                IncludeGroups = Strings(users?.IncludeGroups),
                ExcludeGroups = Strings(users?.ExcludeGroups),
                IncludeRoles = Strings(users?.IncludeRoles),
                ExcludeRoles = Strings(users?.ExcludeRoles),
                IncludeGuestsOrExternalUsers = Guests(users?.IncludeGuestsOrExternalUsers),
                ExcludeGuestsOrExternalUsers = Guests(users?.ExcludeGuestsOrExternalUsers),
                DependsOn = dependsOn,
                DependsOnSource = dependsOn.Count > 0,
                GrantControls = builtIn,
                RequiresAuthenticationStrength = grant?.AuthenticationStrength is not null,
                TermsOfUse = Strings(grant?.TermsOfUse),
                CustomAuthenticationFactors = Strings(grant?.CustomAuthenticationFactors),
            };
        }

        // An AdditionalData value: null, an empty text, or a Kiota untyped null, empty array or object whose values are all empty.
        private static bool IsEmptyValue(object? v) => v switch
        {
            null => true,
            string text => text.Length == 0,
            Microsoft.Kiota.Abstractions.Serialization.UntypedNull => true,
            Microsoft.Kiota.Abstractions.Serialization.UntypedString u => string.IsNullOrEmpty(u.GetValue()),
            Microsoft.Kiota.Abstractions.Serialization.UntypedArray a => a.GetValue().All(IsEmptyValue),
            Microsoft.Kiota.Abstractions.Serialization.UntypedObject o => o.GetValue().All(p => p.Key.Contains('@') || IsEmptyValue(p.Value)),
            _ => false,
        };

        private static GuestsOrExternalUsers? Guests(Microsoft.Graph.Models.ConditionalAccessGuestsOrExternalUsers? g) =>
            g is null ? null : new GuestsOrExternalUsers
            {
                Types = g.GuestOrExternalUserTypes is { } types ? Flags(types) : Array.Empty<string>(),
                AllExternalTenants = g.ExternalTenants?.MembershipKind is null || g.ExternalTenants.MembershipKind == Microsoft.Graph.Models.ConditionalAccessExternalTenantsMembershipKind.All,
            };

        // A flags enum as its wire names, one per set flag ("none" and the zero value dropped).
        private static string[] Flags<TEnum>(TEnum value)
            where TEnum : struct, Enum =>
            Enum.GetValues(typeof(TEnum)).Cast<TEnum>()
                .Where(f => Convert.ToUInt64(f, System.Globalization.CultureInfo.InvariantCulture) != 0 && value.HasFlag(f))
                .Select(f => GraphSdk.Wire(f))
                .Where(w => !w.Equals("none", StringComparison.OrdinalIgnoreCase) && !w.Equals("unknownFutureValue", StringComparison.OrdinalIgnoreCase))
                .ToArray();

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

    /// <summary>conditions.users.include/excludeGuestsOrExternalUsers (https://learn.microsoft.com/graph/api/resources/conditionalaccessguestsorexternalusers).</summary>
    public sealed class GuestsOrExternalUsers
    {
        /// <summary>guestOrExternalUserTypes: internalGuest, b2bCollaborationGuest, b2bCollaborationMember, b2bDirectConnectUser, otherExternalUser, serviceProvider.</summary>
        public IReadOnlyList<string> Types { get; set; } = Array.Empty<string>();
        /// <summary>True when externalTenants is all tenants (or not given); false when enumerated.</summary>
        public bool AllExternalTenants { get; set; } = true;
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

    /// <summary>One policy's answer for SMTP basic auth ("other clients" to Exchange Online) and one user.</summary>
    public enum ConditionalAccessJudgement
    {
        /// <summary>The policy does not apply: off, another client app, app, user, user action, authentication context, authentication flow or a workload identity.</summary>
        NotApplicable,
        /// <summary>It applies and grants without a control basic auth fails (a session control only, or no grant).</summary>
        AppliesWithoutBlocking,
        /// <summary>Enabled, applies whatever the sign-in's source, and blocks.</summary>
        Blocks,
        /// <summary>Enabled, applies whatever the source, and requires a control basic auth cannot satisfy (MFA, a device, an app, terms of use, an authentication strength).</summary>
        RequiresUnsatisfiableControl,
        /// <summary>Enabled, would block or require such a control, but only when facts this module does not know hold (location, platform, risk, device, guest type).</summary>
        Depends,
        /// <summary>Report-only: it would block or require such a control, and is never enforced.</summary>
        ReportOnly,
        /// <summary>It names groups or roles and the user's membership was not read.</summary>
        MembershipUnknown,
    }

    /// <summary>
    /// Evaluates Conditional Access policies for SMTP basic auth (https://learn.microsoft.com/entra/identity/conditional-access/policy-block-legacy-authentication): client app type "other", the
    /// Exchange Online app, the user's inclusion and exclusion (users, groups, roles, guests), the conditions it cannot know, and the grant.
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
                string name = string.IsNullOrEmpty(p.DisplayName) ? p.Id : p.DisplayName;
                switch (Judge(p, userId, groupIds, roleTemplateIds, isGuest))
                {
                    case ConditionalAccessJudgement.Blocks:
                        outcome.Blocking.Add(name);
                        break;
                    case ConditionalAccessJudgement.RequiresUnsatisfiableControl:
                        outcome.RequireMfa.Add(name);
                        break;
                    case ConditionalAccessJudgement.Depends:
                        outcome.DependsOnSource.Add(name);
                        break;
                    case ConditionalAccessJudgement.ReportOnly:
                        outcome.ReportOnly.Add(name);
                        break;
                    case ConditionalAccessJudgement.MembershipUnknown:
                        outcome.MembershipUnknown = true;
                        break;
                }
            }

            return outcome;
        }

        /// <summary>One policy's answer for one user's SMTP basic-auth sign-in.</summary>
        public static ConditionalAccessJudgement Judge(ConditionalAccessPolicy p, string userId, ISet<string>? groupIds, ISet<string>? roleTemplateIds, bool isGuest = false)
        {
            bool enabled = string.Equals(p.State, "enabled", StringComparison.OrdinalIgnoreCase);
            bool reportOnly = string.Equals(p.State, "enabledForReportingButNotEnforced", StringComparison.OrdinalIgnoreCase);
            if (!enabled && !reportOnly)
            {
                return ConditionalAccessJudgement.NotApplicable;
            }

            // SMTP AUTH is an "other client" (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-conditions#client-apps).
            // Graph always returns clientAppTypes (required; "all" when not configured), so a policy without them is not read as either.
            bool clientAppsUnknown = p.ClientAppTypes.Count == 0;
            if (!clientAppsUnknown && !p.ClientAppTypes.Any(t => t.Equals("other", StringComparison.OrdinalIgnoreCase) || t.Equals("all", StringComparison.OrdinalIgnoreCase)))
            {
                return ConditionalAccessJudgement.NotApplicable;
            }

            // A policy targets cloud apps, or user actions, or authentication contexts: one of them
            // (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-cloud-apps). A sign-in to Exchange Online is not
            // "register security information" or "register or join devices", and basic auth asks for no authentication context.
            if (p.IncludeUserActions.Count > 0 || p.IncludeAuthenticationContexts.Count > 0 || !AppliesToExchange(p))
            {
                return ConditionalAccessJudgement.NotApplicable;
            }

            // Authentication flows apply only to the device code flow and authentication transfer
            // (https://learn.microsoft.com/entra/identity/conditional-access/concept-authentication-flows); a password sent over SMTP is neither.
            if (p.TransferMethods.Count > 0)
            {
                return ConditionalAccessJudgement.NotApplicable;
            }

            // A policy for workload identities applies to service principals, never to a user's sign-in
            // (https://learn.microsoft.com/entra/identity/conditional-access/workload-identity).
            if (p.IncludeServicePrincipals.Count > 0)
            {
                return ConditionalAccessJudgement.NotApplicable;
            }

            Inclusion included = Includes(p, userId, groupIds, roleTemplateIds, isGuest);
            if (included == Inclusion.MembershipUnknown)
            {
                return ConditionalAccessJudgement.MembershipUnknown;
            }

            if (included == Inclusion.No)
            {
                return ConditionalAccessJudgement.NotApplicable;
            }

            bool block = p.GrantControls.Any(c => c.Equals("block", StringComparison.OrdinalIgnoreCase));
            // Basic auth can satisfy none of the grant controls (MFA, compliant or joined device, approved app, app protection, password
            // change, terms of use, custom controls, authentication strength): each one fails it, with AND or OR
            // (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-grant).
            bool unsatisfiable = !block && (p.GrantControls.Count > 0 || p.RequiresAuthenticationStrength || p.TermsOfUse.Count > 0 || p.CustomAuthenticationFactors.Count > 0);
            if (!block && !unsatisfiable)
            {
                return ConditionalAccessJudgement.AppliesWithoutBlocking;
            }

            if (reportOnly)
            {
                return ConditionalAccessJudgement.ReportOnly;
            }

            if (p.DependsOnSource || p.DependsOn.Count > 0 || clientAppsUnknown || included == Inclusion.Unknown)
            {
                return ConditionalAccessJudgement.Depends;
            }

            return block ? ConditionalAccessJudgement.Blocks : ConditionalAccessJudgement.RequiresUnsatisfiableControl;
        }

        private static bool AppliesToExchange(ConditionalAccessPolicy p)
        {
            static bool Names(IReadOnlyList<string> list) =>
                list.Any(a => a.Equals("All", StringComparison.OrdinalIgnoreCase) || a.Equals("Office365", StringComparison.OrdinalIgnoreCase) || a.Equals(ExchangeOnlineAppId, StringComparison.OrdinalIgnoreCase));

            bool excluded = p.ExcludeApplications.Any(a => a.Equals("Office365", StringComparison.OrdinalIgnoreCase) || a.Equals(ExchangeOnlineAppId, StringComparison.OrdinalIgnoreCase));
            return Names(p.IncludeApplications) && !excluded;
        }

        private enum Inclusion
        {
            No,
            Yes,
            // Included unless a fact this module does not know (the guest's kind) says otherwise.
            Unknown,
            MembershipUnknown,
        }

        private static Inclusion Includes(ConditionalAccessPolicy p, string userId, ISet<string>? groups, ISet<string>? roles, bool isGuest)
        {
            bool needGroups = p.IncludeGroups.Count + p.ExcludeGroups.Count > 0;
            bool needRoles = p.IncludeRoles.Count + p.ExcludeRoles.Count > 0;
            if ((needGroups && groups is null) || (needRoles && roles is null))
            {
                return Inclusion.MembershipUnknown;
            }

            bool? excludedAsGuest = GuestMatch(p.ExcludeGuestsOrExternalUsers, isGuest);
            bool excluded = p.ExcludeUsers.Any(u => string.Equals(u, userId, StringComparison.OrdinalIgnoreCase) || (isGuest && u == "GuestsOrExternalUsers"))
                || p.ExcludeGroups.Any(g => groups!.Contains(g))
                || p.ExcludeRoles.Any(r => roles!.Contains(r))
                || excludedAsGuest == true;
            if (excluded)
            {
                return Inclusion.No;
            }

            bool? includedAsGuest = GuestMatch(p.IncludeGuestsOrExternalUsers, isGuest);
            bool included = p.IncludeUsers.Any(u => u.Equals("All", StringComparison.OrdinalIgnoreCase) || string.Equals(u, userId, StringComparison.OrdinalIgnoreCase) || (isGuest && u == "GuestsOrExternalUsers"))
                || p.IncludeGroups.Any(g => groups!.Contains(g))
                || p.IncludeRoles.Any(r => roles!.Contains(r))
                || includedAsGuest == true;
            if (!included && includedAsGuest is null)
            {
                return Inclusion.Unknown;
            }

            return !included ? Inclusion.No : excludedAsGuest is null ? Inclusion.Unknown : Inclusion.Yes;
        }

        // Whether the user is one of the guest or external user kinds named (https://learn.microsoft.com/entra/identity/conditional-access/concept-conditional-access-users-groups#guest-or-external-users):
        // null when that needs what this module does not know. A member (userType Member) is read as an internal member, none of the kinds;
        // a guest (userType Guest) is an internal guest or a B2B collaboration guest, and which one, or which tenant it comes from, is not read.
        private static bool? GuestMatch(GuestsOrExternalUsers? g, bool isGuest)
        {
            if (g is null || !isGuest)
            {
                return false;
            }

            bool internalGuest = g.Types.Contains("internalGuest", StringComparer.OrdinalIgnoreCase);
            bool b2bGuest = g.Types.Contains("b2bCollaborationGuest", StringComparer.OrdinalIgnoreCase);
            if (!internalGuest && !b2bGuest)
            {
                return false;
            }

            return internalGuest && b2bGuest && g.AllExternalTenants ? true : null;
        }
    }
}
