using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.Engine.Policy
{
    /// <summary>What to read from Graph beyond the basics.</summary>
    public sealed class GraphReadOptions
    {
        /// <summary>How far back to look for "Authenticated SMTP" sign-ins.</summary>
        public int SignInLookbackHours { get; set; } = 24;
        /// <summary>The app checked for app-only OAuth.</summary>
        public string? ClientId { get; set; }
        /// <summary>The Exchange service principal's ObjectId as Get-ServicePrincipal reports it (to compare).</summary>
        public string? ExchangeServicePrincipalObjectId { get; set; }
        /// <summary>Read every SMTP sign-in of the window once (tenant scans) instead of per batch of users.</summary>
        public bool TenantWideSignIns { get; set; }
        /// <summary>Ask Graph's Conditional Access What If API (POST identity/conditionalAccess/evaluate) for each user,
        /// and prefer its answer to the local evaluation (https://learn.microsoft.com/entra/identity/conditional-access/policy-block-legacy-authentication; needs Entra ID P1 and Policy.Read.ConditionalAccess).</summary>
        public bool UseWhatIf { get; set; }

        /// <summary>The clock.</summary>
        public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;
    }

    /// <summary>
    /// Reads the Entra side of SMTP AUTH (https://learn.microsoft.com/entra/fundamentals/security-defaults https://learn.microsoft.com/entra/identity/authentication/howto-mfa-userstates https://learn.microsoft.com/entra/identity/conditional-access/policy-block-legacy-authentication https://learn.microsoft.com/graph/api/signin-list https://learn.microsoft.com/graph/permissions-reference): security defaults and CA policies once per run;
    /// per batch of users their account state, group and role membership (only when a CA policy needs it), per-user
    /// MFA and their "Authenticated SMTP" sign-ins; for app-only OAuth the app's service principal and SMTP.SendAsApp.
    /// A read that fails leaves its fields unknown with a reason naming the permission to grant; nothing throws.
    /// </summary>
    public sealed class GraphPolicyReader
    {
        private const string SendAsAppRoleValue = "SMTP.SendAsApp";
        private readonly GraphReader _graph;
        private readonly GraphReadOptions _options;
        private readonly IDiagnosticSink _sink;
        private Dictionary<string, List<JsonElement>>? _tenantSignIns;
        private string? _tenantSignInFailure;
        private (bool? HasRole, string? SpObjectId, string? Reason)? _app;

        /// <summary>Creates the reader.</summary>
        public GraphPolicyReader(GraphReader graph, GraphReadOptions options, IDiagnosticSink sink)
        {
            _graph = graph;
            _options = options;
            _sink = sink;
        }

        /// <summary>Security defaults and Conditional Access, once per invocation.</summary>
        public async Task ReadTenantAsync(TenantPolicyData tenant, CancellationToken token)
        {
            _sink.Verbose("Graph: reading security defaults.");
            GraphResult sd = await _graph.GetAsync("v1.0/policies/identitySecurityDefaultsEnforcementPolicy", token).ConfigureAwait(false);
            if (sd.Ok && sd.Body is JsonElement sdBody && sdBody.TryGetProperty("isEnabled", out JsonElement enabled) && (enabled.ValueKind == JsonValueKind.True || enabled.ValueKind == JsonValueKind.False))
            {
                tenant.SecurityDefaultsEnabled = enabled.GetBoolean();
            }
            else
            {
                tenant.UnknownReasons.Add(Reason("Security defaults", sd, "Policy.Read.All"));
            }

            _sink.Verbose("Graph: reading Conditional Access policies.");
            (List<JsonElement> items, GraphResult? failure) = await _graph.GetAllAsync("v1.0/identity/conditionalAccess/policies", token).ConfigureAwait(false);
            if (failure is null)
            {
                tenant.ConditionalAccessPolicies = items.Select(ConditionalAccessPolicy.FromJson).ToList();
                _sink.Verbose(string.Format(CultureInfo.InvariantCulture, "Graph: {0} Conditional Access policies, {1} of them enabled.",
                    tenant.ConditionalAccessPolicies.Count, tenant.ConditionalAccessPolicies.Count(p => p.State == "enabled")));
            }
            else
            {
                tenant.UnknownReasons.Add(Reason("Conditional Access", failure, "Policy.Read.All"));
            }

            if (_options.TenantWideSignIns)
            {
                await ReadTenantSignInsAsync(token).ConfigureAwait(false);
            }

            if (_options.ClientId is not null)
            {
                _app = await ReadAppAsync(_options.ClientId, token).ConfigureAwait(false);
            }
        }

        /// <summary>Fills the Graph fields of a batch of mailboxes.</summary>
        public async Task ReadUsersAsync(TenantPolicyData tenant, IReadOnlyList<MailboxPolicyData> mailboxes, CancellationToken token)
        {
            var withKey = mailboxes.Where(m => !string.IsNullOrEmpty(m.ExternalDirectoryObjectId) || !string.IsNullOrEmpty(m.UserPrincipalName)).ToList();
            string Key(MailboxPolicyData m) => Uri.EscapeDataString(m.ExternalDirectoryObjectId ?? m.UserPrincipalName!);

            // Users: account state (and the object id when Exchange did not give it).
            var userRequests = withKey.Select((m, i) => ("u" + i.ToString(CultureInfo.InvariantCulture), "/users/" + Key(m) + "?$select=id,userPrincipalName,accountEnabled,userType,onPremisesSyncEnabled")).ToList();
            Dictionary<string, GraphResult> users = await _graph.BatchGetAsync("v1.0", userRequests, token).ConfigureAwait(false);
            for (int i = 0; i < withKey.Count; i++)
            {
                MailboxPolicyData m = withKey[i];
                GraphResult r = users["u" + i.ToString(CultureInfo.InvariantCulture)];
                if (r.Ok && r.Body is JsonElement u)
                {
                    m.ExternalDirectoryObjectId ??= Str(u, "id");
                    m.AccountEnabled = u.TryGetProperty("accountEnabled", out JsonElement ae) && (ae.ValueKind == JsonValueKind.True || ae.ValueKind == JsonValueKind.False) ? ae.GetBoolean() : null;
                    m.UserType = Str(u, "userType");
                }
                else
                {
                    m.UnknownReasons.Add(Reason("Entra user", r, "User.Read.All"));
                }
            }

            // Membership, only when a Conditional Access policy names groups or roles.
            bool needMembership = tenant.ConditionalAccessPolicies?.Any(p => p.NeedsMembership && p.State != "disabled") == true;
            if (needMembership)
            {
                var ids = withKey.Where(m => m.ExternalDirectoryObjectId is not null).ToList();
                var requests = ids.Select((m, i) => ("g" + i.ToString(CultureInfo.InvariantCulture), "/users/" + m.ExternalDirectoryObjectId + "/transitiveMemberOf?$top=999")).ToList();
                Dictionary<string, GraphResult> groups = await _graph.BatchGetAsync("v1.0", requests, token).ConfigureAwait(false);
                for (int i = 0; i < ids.Count; i++)
                {
                    GraphResult r = groups["g" + i.ToString(CultureInfo.InvariantCulture)];
                    if (r.Ok && r.Body is JsonElement body)
                    {
                        var groupIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                        var roles = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                        List<JsonElement> all = Values(body);
                        string? next = body.TryGetProperty("@odata.nextLink", out JsonElement n) ? n.GetString() : null;
                        if (next is not null)
                        {
                            (List<JsonElement> more, GraphResult? failure) = await _graph.GetAllAsync(next, token).ConfigureAwait(false);
                            all.AddRange(more);
                            if (failure is not null)
                            {
                                ids[i].UnknownReasons.Add(Reason("Group membership", failure, "GroupMember.Read.All"));
                                continue;
                            }
                        }

                        foreach (JsonElement item in all)
                        {
                            string type = Str(item, "@odata.type") ?? string.Empty;
                            if (type.EndsWith("directoryRole", StringComparison.OrdinalIgnoreCase) && Str(item, "roleTemplateId") is string role)
                            {
                                roles.Add(role);
                            }
                            else if (Str(item, "id") is string id)
                            {
                                groupIds.Add(id);
                            }
                        }

                        ids[i].GroupIds = groupIds;
                        ids[i].RoleTemplateIds = roles;
                    }
                    else
                    {
                        ids[i].UnknownReasons.Add(Reason("Group membership", r, "GroupMember.Read.All"));
                    }
                }
            }
            else
            {
                foreach (MailboxPolicyData m in withKey)
                {
                    m.GroupIds = new HashSet<string>();
                    m.RoleTemplateIds = new HashSet<string>();
                }
            }

            // Per-user MFA (beta, https://learn.microsoft.com/entra/identity/authentication/howto-mfa-userstates).
            var mfaRequests = withKey.Select((m, i) => ("m" + i.ToString(CultureInfo.InvariantCulture), "/users/" + Key(m) + "/authentication/requirements")).ToList();
            Dictionary<string, GraphResult> mfa = await _graph.BatchGetAsync("beta", mfaRequests, token).ConfigureAwait(false);
            for (int i = 0; i < withKey.Count; i++)
            {
                GraphResult r = mfa["m" + i.ToString(CultureInfo.InvariantCulture)];
                if (r.Ok && r.Body is JsonElement body && Str(body, "perUserMfaState") is string state)
                {
                    withKey[i].PerUserMfaState = state;
                }
                else
                {
                    withKey[i].UnknownReasons.Add(Reason("Per-user MFA", r, "UserAuthenticationMethod.Read.All"));
                }
            }

            if (_options.UseWhatIf)
            {
                foreach (MailboxPolicyData m in withKey.Where(m => m.ExternalDirectoryObjectId is not null))
                {
                    await ReadWhatIfAsync(m, token).ConfigureAwait(false);
                }
            }

            await ReadDomainsAsync(tenant, withKey, token).ConfigureAwait(false);
            await ReadSignInsAsync(withKey, token).ConfigureAwait(false);
            if (_app is { } app)
            {
                foreach (MailboxPolicyData m in withKey)
                {
                    m.AppHasSmtpSendAsApp = app.HasRole;
                    m.EnterpriseAppObjectId = app.SpObjectId;
                    if (app.Reason is not null)
                    {
                        m.UnknownReasons.Add(app.Reason);
                    }

                    if (m.ServicePrincipalRegistered == true && app.SpObjectId is not null && _options.ExchangeServicePrincipalObjectId is not null)
                    {
                        m.ServicePrincipalObjectIdMatches = string.Equals(app.SpObjectId, _options.ExchangeServicePrincipalObjectId, StringComparison.OrdinalIgnoreCase);
                    }
                }
            }
        }

        // What If for "other clients" (SMTP AUTH basic) to Exchange Online; appliedPoliciesOnly keeps the answer short.
        private async Task ReadWhatIfAsync(MailboxPolicyData m, CancellationToken token)
        {
            string body = "{\"signInIdentity\":{\"@odata.type\":\"#microsoft.graph.userSignIn\",\"userId\":" + JsonSerializer.Serialize(m.ExternalDirectoryObjectId) +
                "},\"signInContext\":{\"@odata.type\":\"#microsoft.graph.applicationContext\",\"includeApplications\":[\"" + ConditionalAccessEvaluator.ExchangeOnlineAppId +
                "\"]},\"signInConditions\":{\"clientAppType\":\"other\"},\"appliedPoliciesOnly\":true}";
            GraphResult r = await _graph.SendAsync("POST", "v1.0/identity/conditionalAccess/evaluate", body, token).ConfigureAwait(false);
            if (!r.Ok || r.Body is not JsonElement result)
            {
                m.UnknownReasons.Add(Reason("Conditional Access What If", r, "Policy.Read.ConditionalAccess") + " The local evaluation of the policies is used instead.");
                return;
            }

            var outcome = new ConditionalAccessOutcome();
            foreach (JsonElement p in Values(result))
            {
                if (p.TryGetProperty("policyApplies", out JsonElement applies) && applies.ValueKind == JsonValueKind.False)
                {
                    continue;
                }

                ConditionalAccessPolicy policy = ConditionalAccessPolicy.FromJson(p);
                string name = string.IsNullOrEmpty(policy.DisplayName) ? policy.Id : policy.DisplayName;
                bool block = policy.GrantControls.Any(c => c.Equals("block", StringComparison.OrdinalIgnoreCase));
                bool unsatisfiable = !block && (policy.GrantControls.Count > 0 || policy.RequiresAuthenticationStrength);
                if (!block && !unsatisfiable)
                {
                    continue;
                }

                if (policy.State == "enabledForReportingButNotEnforced")
                {
                    outcome.ReportOnly.Add(name);
                }
                else if (policy.State == "enabled")
                {
                    (block ? outcome.Blocking : outcome.RequireMfa).Add(name);
                }
            }

            m.WhatIf = outcome;
        }

        private async Task ReadDomainsAsync(TenantPolicyData tenant, List<MailboxPolicyData> mailboxes, CancellationToken token)
        {
            foreach (string domain in mailboxes.Select(m => m.UserPrincipalName?.Split('@').LastOrDefault()).Where(d => !string.IsNullOrEmpty(d)).Distinct(StringComparer.OrdinalIgnoreCase)!)
            {
                if (tenant.DomainAuthenticationTypes.ContainsKey(domain!))
                {
                    continue;
                }

                GraphResult r = await _graph.GetAsync("v1.0/domains/" + Uri.EscapeDataString(domain!), token).ConfigureAwait(false);
                tenant.DomainAuthenticationTypes[domain!] = r.Ok && r.Body is JsonElement b && Str(b, "authenticationType") is string t ? t : "Unknown";
            }
        }

        private async Task ReadTenantSignInsAsync(CancellationToken token)
        {
            string since = _options.Clock().AddHours(-_options.SignInLookbackHours).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            string filter = "clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge " + since;
            _sink.Verbose("Graph: reading Authenticated SMTP sign-ins since " + since + ".");
            (List<JsonElement> items, GraphResult? failure) = await _graph.GetAllAsync("v1.0/auditLogs/signIns?$filter=" + Uri.EscapeDataString(filter) + "&$top=1000", token).ConfigureAwait(false);
            if (failure is not null)
            {
                _tenantSignInFailure = Reason("Sign-in log", failure, "AuditLog.Read.All");
                return;
            }

            _tenantSignIns = items.GroupBy(i => Str(i, "userPrincipalName") ?? string.Empty, StringComparer.OrdinalIgnoreCase)
                .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.OrdinalIgnoreCase);
        }

        private async Task ReadSignInsAsync(List<MailboxPolicyData> mailboxes, CancellationToken token)
        {
            if (_options.TenantWideSignIns)
            {
                foreach (MailboxPolicyData m in mailboxes)
                {
                    if (_tenantSignInFailure is not null)
                    {
                        m.UnknownReasons.Add(_tenantSignInFailure);
                    }
                    else
                    {
                        ApplySignIns(m, _tenantSignIns!.TryGetValue(m.UserPrincipalName ?? string.Empty, out List<JsonElement>? list) ? list : new List<JsonElement>());
                    }
                }

                return;
            }

            string since = _options.Clock().AddHours(-_options.SignInLookbackHours).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            foreach (List<MailboxPolicyData> chunk in Chunk(mailboxes.Where(m => m.UserPrincipalName is not null).ToList(), 10))
            {
                string users = string.Join(" or ", chunk.Select(m => "userPrincipalName eq '" + m.UserPrincipalName!.Replace("'", "''") + "'"));
                string filter = "clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge " + since + " and (" + users + ")";
                (List<JsonElement> items, GraphResult? failure) = await _graph.GetAllAsync("v1.0/auditLogs/signIns?$filter=" + Uri.EscapeDataString(filter) + "&$top=1000", token).ConfigureAwait(false);
                foreach (MailboxPolicyData m in chunk)
                {
                    if (failure is not null)
                    {
                        m.UnknownReasons.Add(Reason("Sign-in log", failure, "AuditLog.Read.All"));
                    }
                    else
                    {
                        ApplySignIns(m, items.Where(i => string.Equals(Str(i, "userPrincipalName"), m.UserPrincipalName, StringComparison.OrdinalIgnoreCase)).ToList());
                    }
                }
            }
        }

        private static void ApplySignIns(MailboxPolicyData m, List<JsonElement> signIns)
        {
            m.SignInCount = signIns.Count;
            JsonElement? latest = signIns
                .OrderByDescending(s => DateTimeOffset.TryParse(Str(s, "createdDateTime"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset t) ? t : DateTimeOffset.MinValue)
                .Cast<JsonElement?>()
                .FirstOrDefault();
            if (latest is not JsonElement s)
            {
                return;
            }

            if (DateTimeOffset.TryParse(Str(s, "createdDateTime"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset when))
            {
                m.LastSignInUtc = when.UtcDateTime;
            }

            if (s.TryGetProperty("status", out JsonElement status) && status.ValueKind == JsonValueKind.Object)
            {
                m.LastSignInErrorCode = status.TryGetProperty("errorCode", out JsonElement code) && code.TryGetInt32(out int c) ? c : null;
                m.LastSignInFailureReason = Str(status, "failureReason");
            }

            if (s.TryGetProperty("appliedConditionalAccessPolicies", out JsonElement applied) && applied.ValueKind == JsonValueKind.Array)
            {
                string failed = string.Join("; ", applied.EnumerateArray().Where(p => Str(p, "result") == "failure").Select(p => Str(p, "displayName")));
                m.LastSignInConditionalAccess = failed.Length == 0 ? null : failed;
            }
        }

        private async Task<(bool? HasRole, string? SpObjectId, string? Reason)> ReadAppAsync(string clientId, CancellationToken token)
        {
            _sink.Verbose("Graph: reading the service principal of app " + clientId + ".");
            GraphResult sp = await _graph.GetAsync("v1.0/servicePrincipals?$filter=" + Uri.EscapeDataString("appId eq '" + clientId + "'") + "&$select=id,appId,displayName", token).ConfigureAwait(false);
            if (!sp.Ok || sp.Body is not JsonElement spBody)
            {
                return (null, null, Reason("App service principal", sp, "Application.Read.All"));
            }

            string? spId = Values(spBody).Select(v => Str(v, "id")).FirstOrDefault();
            if (spId is null)
            {
                return (false, null, "App-only OAuth: no enterprise application (service principal) for app " + clientId + " in this tenant.");
            }

            GraphResult exo = await _graph.GetAsync("v1.0/servicePrincipals?$filter=" + Uri.EscapeDataString("appId eq '" + ConditionalAccessEvaluator.ExchangeOnlineAppId + "'") + "&$select=id,appRoles", token).ConfigureAwait(false);
            string? roleId = exo.Ok && exo.Body is JsonElement exoBody
                ? Values(exoBody).SelectMany(v => v.TryGetProperty("appRoles", out JsonElement roles) && roles.ValueKind == JsonValueKind.Array ? roles.EnumerateArray() : Enumerable.Empty<JsonElement>())
                    .Where(r => Str(r, "value") == SendAsAppRoleValue).Select(r => Str(r, "id")).FirstOrDefault()
                : null;
            roleId ??= "7146a1f0-8703-45b3-9eae-527a64c00995"; // community-sourced id (reported by admins, not in one Microsoft page), when the EXO SP cannot be read

            (List<JsonElement> assignments, GraphResult? failure) = await _graph.GetAllAsync("v1.0/servicePrincipals/" + spId + "/appRoleAssignments", token).ConfigureAwait(false);
            if (failure is not null)
            {
                return (null, spId, Reason("App role assignments", failure, "Application.Read.All"));
            }

            bool has = assignments.Any(a => string.Equals(Str(a, "appRoleId"), roleId, StringComparison.OrdinalIgnoreCase));
            return (has, spId, null);
        }

        // "Security defaults: 403 Authorization_RequestDenied (Insufficient privileges...). Grant Policy.Read.All."
        private static string Reason(string what, GraphResult r, string permission)
        {
            string detail = r.Status == 0
                ? (r.ErrorMessage ?? "no response")
                : string.Format(CultureInfo.InvariantCulture, "{0} {1}", r.Status, r.ErrorCode ?? string.Empty).Trim() + (r.ErrorMessage is null ? string.Empty : " (" + GraphReader.Truncate(r.ErrorMessage) + ")");
            string advice = r.Status == 403 && string.Equals(r.ErrorCode, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", StringComparison.OrdinalIgnoreCase)
                ? " The tenant needs an Entra ID P1 or P2 licence for this report."
                : r.Status == 403 || r.Status == 401 ? " Grant " + permission + "." : string.Empty;
            return what + ": " + detail + "." + advice;
        }

        private static List<JsonElement> Values(JsonElement body) =>
            body.TryGetProperty("value", out JsonElement v) && v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().ToList() : new List<JsonElement>();

        private static string? Str(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        private static IEnumerable<List<T>> Chunk<T>(List<T> items, int size)
        {
            for (int i = 0; i < items.Count; i += size)
            {
                yield return items.GetRange(i, Math.Min(size, items.Count - i));
            }
        }
    }
}
