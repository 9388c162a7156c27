using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Graph.Identity.ConditionalAccess.Evaluate;
using Microsoft.Graph.Models;
using Microsoft.Kiota.Abstractions;

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

        /// <summary>Read each mailbox's "Authenticated SMTP" sign-ins (false: a caller that has read the sign-in log itself).</summary>
        public bool ReadSignIns { get; set; } = true;

        /// <summary>The clock.</summary>
        public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;
    }

    /// <summary>
    /// Reads the Entra side of SMTP AUTH (https://learn.microsoft.com/entra/fundamentals/security-defaults https://learn.microsoft.com/entra/identity/authentication/howto-mfa-userstates https://learn.microsoft.com/entra/identity/conditional-access/policy-block-legacy-authentication https://learn.microsoft.com/graph/api/signin-list https://learn.microsoft.com/graph/permissions-reference): security defaults and CA policies once per run;
    /// per batch of users their account state, group and role membership (only when a CA policy needs it), per-user
    /// MFA and their "Authenticated SMTP" sign-ins; for app-only OAuth the app's service principal and SMTP.SendAsApp.
    /// On the Microsoft Graph SDK (issue 11): GraphServiceClient request builders and typed models, PageIterator for
    /// paging, BatchRequestContentCollection for $batch, and RequestInformation for the beta-only per-user MFA read, over
    /// the command's one <see cref="GraphConnection"/> (both ways in). A read that fails leaves its fields unknown with
    /// a reason naming the permission to grant, or how throttling or sign-in ended; nothing throws.
    /// </summary>
    public sealed class GraphPolicyReader : IMailboxGraphReader
    {
        private const string SendAsAppRoleValue = "SMTP.SendAsApp";
        // https://learn.microsoft.com/graph/api/signin-list: "AuditLog.Read.All and Directory.Read.All" (a known issue
        // makes the API require consent to both).
        // The same page: "the signed-in user needs to belong to one of the following directory roles that allow them to
        // read sign-in reports": Global Administrator, Global Reader, Reports Reader, Security Administrator, Security
        // Operator, Security Reader.
        internal const string SignInRoles = "signed in as an admin, also one of the roles Global Reader, Reports Reader, Security Reader, Security Operator or Security Administrator";
        private const string SignInPermission = "AuditLog.Read.All and Directory.Read.All (" + SignInRoles + ")";
        // A directoryObject collection read without the permission for one of its types lists those members "with limited
        // information": only @odata.type and id, the other properties null
        // (https://learn.microsoft.com/graph/permissions-overview#limited-information-returned-for-inaccessible-member-objects).
        // A directory role's id is not its template id, which Conditional Access names, so the roles are unknown; reading
        // directory roles takes RoleManagement.Read.Directory (https://learn.microsoft.com/graph/api/directoryrole-list).
        private const string RolesHidden = "Directory roles: Graph listed the user's directory roles without their roleTemplateId, as it does for a caller that may not read directory roles, so the Conditional Access policies that name roles cannot be evaluated. Grant RoleManagement.Read.Directory (or Directory.Read.All).";
        // https://learn.microsoft.com/graph/api/user-list-transitivememberof: least privileged User.Read.All; the groups it
        // cannot read in full still come with their ids, which is what Conditional Access names.
        private const string MembershipPermission = "User.Read.All (or GroupMember.Read.All or Directory.Read.All)";
        private const string PerUserMfaPermission = "Policy.Read.All (signed in as an admin, also the Global Reader or Authentication Policy Administrator role)";
        private static readonly string[] s_userFields = { "id", "userPrincipalName", "accountEnabled", "userType", "onPremisesSyncEnabled" };
        private static readonly string[] s_spFields = { "id", "appId", "displayName" };
        private static readonly string[] s_exoSpFields = { "id", "appRoles" };
        private static readonly string[] s_domainFields = { "id", "authenticationType" };
        private readonly GraphSdk _sdk;
        private readonly GraphReadOptions _options;
        private readonly IDiagnosticSink _sink;
        private Dictionary<string, SignInSummary>? _tenantSignIns;
        private string? _tenantSignInFailure;
        private (bool? HasRole, string? SpObjectId, string? Reason)? _app;

        /// <summary>Creates the reader over the command's Graph connection (<see cref="GraphReader.Connection"/>).</summary>
        public GraphPolicyReader(GraphReader graph, GraphReadOptions options, IDiagnosticSink sink)
        {
            _sdk = new GraphSdk(graph.Connection);
            _options = options;
            _sink = sink;
        }

        /// <summary>Security defaults and Conditional Access, once per invocation.</summary>
        public async Task ReadTenantAsync(TenantPolicyData tenant, CancellationToken token)
        {
            _sink.Verbose("Graph: reading security defaults.");
            (IdentitySecurityDefaultsEnforcementPolicy? sd, GraphResult? sdFailure) = await GraphSdk.CallAsync(
                ct => _sdk.V1.Policies.IdentitySecurityDefaultsEnforcementPolicy.GetAsync(cancellationToken: ct), token).ConfigureAwait(false);
            if (sd?.IsEnabled is bool enabled)
            {
                tenant.SecurityDefaultsEnabled = enabled;
            }
            else
            {
                tenant.UnknownReasons.Add(Reason("Security defaults", sdFailure ?? Malformed("isEnabled"), "Policy.Read.All"));
            }

            _sink.Verbose("Graph: reading Conditional Access policies.");
            (List<Microsoft.Graph.Models.ConditionalAccessPolicy> items, GraphResult? failure) = await _sdk.AllAsync<Microsoft.Graph.Models.ConditionalAccessPolicy, ConditionalAccessPolicyCollectionResponse>(
                ct => _sdk.V1.Identity.ConditionalAccess.Policies.GetAsync(cancellationToken: ct), token).ConfigureAwait(false);
            if (failure is null)
            {
                tenant.ConditionalAccessPolicies = items.Select(ConditionalAccessPolicy.FromModel).ToList();
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
            string Key(MailboxPolicyData m) => m.ExternalDirectoryObjectId ?? m.UserPrincipalName!;
            string Id(string prefix, int i) => prefix + i.ToString(CultureInfo.InvariantCulture);

            // Users: account state (and the object id when Exchange did not give it).
            var userRequests = withKey.Select((m, i) => (Id("u", i), _sdk.V1.Users[Key(m)].ToGetRequestInformation(q => q.QueryParameters.Select = s_userFields))).ToList();
            Dictionary<string, (User? Value, GraphResult? Failure)> users = await _sdk.BatchAsync(_sdk.V1, userRequests, GraphSdk.Model(User.CreateFromDiscriminatorValue), token).ConfigureAwait(false);
            for (int i = 0; i < withKey.Count; i++)
            {
                MailboxPolicyData m = withKey[i];
                (User? u, GraphResult? failure) = users[Id("u", i)];
                if (u is not null)
                {
                    m.ExternalDirectoryObjectId ??= u.Id;
                    m.AccountEnabled = u.AccountEnabled;
                    m.UserType = u.UserType;
                }
                else
                {
                    m.UnknownReasons.Add(Reason("Entra user", failure!, "User.Read.All"));
                }
            }

            // Membership, only when a Conditional Access policy names groups or roles.
            bool needMembership = tenant.ConditionalAccessPolicies?.Any(p => p.NeedsMembership && p.State != "disabled") == true;
            bool needRoles = tenant.ConditionalAccessPolicies?.Any(p => p.IncludeRoles.Count + p.ExcludeRoles.Count > 0 && p.State != "disabled") == true;
            if (needMembership)
            {
                var ids = withKey.Where(m => m.ExternalDirectoryObjectId is not null).ToList();
                var requests = ids.Select((m, i) => (Id("g", i), _sdk.V1.Users[m.ExternalDirectoryObjectId].TransitiveMemberOf.ToGetRequestInformation(q => q.QueryParameters.Top = 999))).ToList();
                Dictionary<string, (DirectoryObjectCollectionResponse? Value, GraphResult? Failure)> groups =
                    await _sdk.BatchAsync(_sdk.V1, requests, GraphSdk.Model(DirectoryObjectCollectionResponse.CreateFromDiscriminatorValue), token).ConfigureAwait(false);
                for (int i = 0; i < ids.Count; i++)
                {
                    (DirectoryObjectCollectionResponse? page, GraphResult? failure) = groups[Id("g", i)];
                    if (page is null)
                    {
                        ids[i].UnknownReasons.Add(Reason("Group membership", failure!, MembershipPermission));
                        continue;
                    }

                    var all = new List<DirectoryObject>();
                    (all, failure) = await GraphSdk.RestAsync(_sdk.V1, page, all, token).ConfigureAwait(false);
                    if (failure is not null)
                    {
                        ids[i].UnknownReasons.Add(Reason("Group membership", failure, MembershipPermission));
                        continue;
                    }

                    var groupIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                    var roles = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                    bool rolesHidden = false;
                    foreach (DirectoryObject item in all)
                    {
                        if (item is DirectoryRole role)
                        {
                            if (role.RoleTemplateId is string template)
                            {
                                roles.Add(template);
                            }
                            else
                            {
                                rolesHidden = true;
                            }
                        }
                        else if (item.Id is string id)
                        {
                            groupIds.Add(id);
                        }
                    }

                    ids[i].GroupIds = groupIds;
                    ids[i].RoleTemplateIds = rolesHidden ? null : roles;
                    if (rolesHidden && needRoles)
                    {
                        ids[i].UnknownReasons.Add(RolesHidden);
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

            // Per-user MFA: beta only (https://learn.microsoft.com/entra/identity/authentication/howto-mfa-userstates), so a
            // RequestInformation on the beta client; its answer has no v1.0 model and is read as JSON. Reading another user's
            // state takes Policy.Read.All, and a signed-in admin also needs Global Reader or Authentication Policy
            // Administrator (https://learn.microsoft.com/graph/api/authentication-get?view=graph-rest-beta).
            var mfaRequests = withKey.Select((m, i) => (Id("m", i), PerUserMfaRequest(Key(m)))).ToList();
            Dictionary<string, (JsonDocument? Value, GraphResult? Failure)> mfa = await _sdk.BatchAsync(_sdk.Beta, mfaRequests, GraphSdk.JsonAsync, token).ConfigureAwait(false);
            for (int i = 0; i < withKey.Count; i++)
            {
                (JsonDocument? doc, GraphResult? failure) = mfa[Id("m", i)];
                using (doc)
                {
                    if (doc is not null && Str(doc.RootElement, "perUserMfaState") is string state)
                    {
                        withKey[i].PerUserMfaState = state;
                    }
                    else
                    {
                        withKey[i].UnknownReasons.Add(Reason("Per-user MFA", failure ?? Malformed("perUserMfaState"), PerUserMfaPermission));
                    }
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
            if (_options.ReadSignIns)
            {
                await ReadSignInsAsync(withKey, token).ConfigureAwait(false);
            }

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

        // GET beta/users/{id}/authentication/requirements, built as the SDK builds its own requests.
        private RequestInformation PerUserMfaRequest(string user)
        {
            var request = new RequestInformation(Method.GET, "{+baseurl}/users/{user%2Did}/authentication/requirements", new Dictionary<string, object>
            {
                ["baseurl"] = _sdk.Beta.RequestAdapter.BaseUrl!,
                ["user%2Did"] = user,
            });
            request.Headers.TryAdd("Accept", "application/json");
            return request;
        }

        // What If for "other clients" (SMTP AUTH basic) to Exchange Online; appliedPoliciesOnly keeps the answer short.
        private async Task ReadWhatIfAsync(MailboxPolicyData m, CancellationToken token)
        {
            var body = new EvaluatePostRequestBody
            {
                SignInIdentity = new UserSignIn { UserId = m.ExternalDirectoryObjectId },
                SignInContext = new ApplicationContext { IncludeApplications = new List<string> { ConditionalAccessEvaluator.ExchangeOnlineAppId } },
                SignInConditions = new SignInConditions { ClientAppType = ConditionalAccessClientApp.Other },
                AppliedPoliciesOnly = true,
            };
            (EvaluatePostResponse? result, GraphResult? failure) = await GraphSdk.CallAsync(
                ct => _sdk.V1.Identity.ConditionalAccess.Evaluate.PostAsEvaluatePostResponseAsync(body, cancellationToken: ct), token).ConfigureAwait(false);
            if (result is null)
            {
                m.UnknownReasons.Add(Reason("Conditional Access What If", failure ?? Malformed("value"), "Policy.Read.ConditionalAccess") + " The local evaluation of the policies is used instead.");
                return;
            }

            var outcome = new ConditionalAccessOutcome();
            foreach (WhatIfAnalysisResult p in result.Value ?? new List<WhatIfAnalysisResult>())
            {
                if (p.PolicyApplies == false)
                {
                    continue;
                }

                ConditionalAccessPolicy policy = ConditionalAccessPolicy.FromModel(p);
                string name = string.IsNullOrEmpty(policy.DisplayName) ? policy.Id : policy.DisplayName;
                bool block = policy.GrantControls.Any(c => c.Equals("block", StringComparison.OrdinalIgnoreCase));
                bool unsatisfiable = !block && (policy.GrantControls.Count > 0 || policy.RequiresAuthenticationStrength || policy.TermsOfUse.Count > 0 || policy.CustomAuthenticationFactors.Count > 0);
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

                (Domain? d, _) = await GraphSdk.CallAsync(ct => _sdk.V1.Domains[domain].GetAsync(q => q.QueryParameters.Select = s_domainFields, ct), token).ConfigureAwait(false);
                tenant.DomainAuthenticationTypes[domain!] = d?.AuthenticationType ?? "Unknown";
            }
        }

        private Task<(List<SignIn> Items, GraphResult? Failure)> SignInsAsync(string filter, CancellationToken token) =>
            _sdk.AllAsync<SignIn, SignInCollectionResponse>(SignInsQuery(filter), token);

        private Func<CancellationToken, Task<SignInCollectionResponse?>> SignInsQuery(string filter) =>
            ct => _sdk.V1.AuditLogs.SignIns.GetAsync(q =>
            {
                q.QueryParameters.Filter = filter;
                q.QueryParameters.Top = 1000;
            }, ct);

        private async Task ReadTenantSignInsAsync(CancellationToken token)
        {
            string since = _options.Clock().AddHours(-_options.SignInLookbackHours).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            _sink.Verbose("Graph: reading Authenticated SMTP sign-ins since " + since + ".");
            // Aggregated as the pages arrive: a tenant's log is hundreds of thousands of rows, and a mailbox needs only
            // its count and its latest sign-in (the SDK's SignIn objects of a 10,000-mailbox tenant were 150 MB).
            var summaries = new Dictionary<string, SignInSummary>(StringComparer.OrdinalIgnoreCase);
            GraphResult? failure = await _sdk.EachAsync<SignIn, SignInCollectionResponse>(SignInsQuery("clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge " + since), s =>
            {
                string upn = s.UserPrincipalName ?? string.Empty;
                if (!summaries.TryGetValue(upn, out SignInSummary? summary))
                {
                    summaries[upn] = summary = new SignInSummary();
                }

                summary.Add(s);
            }, token).ConfigureAwait(false);
            if (failure is not null)
            {
                _tenantSignInFailure = Reason("Sign-in log", failure, SignInPermission);
                return;
            }

            _tenantSignIns = summaries;
        }

        /// <summary>
        /// A mailbox's sign-ins as far as the policy state needs them: how many, and the facts of the latest (the first of
        /// equal times, in the log's order). Only those facts are kept, not the SDK's SignIn: each is a tree of models
        /// with a backing store of its own, and one per mailbox of a 10,000-mailbox tenant was tens of megabytes.
        /// </summary>
        private sealed class SignInSummary
        {
            private DateTimeOffset _latest = DateTimeOffset.MinValue;

            public int Count { get; private set; }

            public DateTimeOffset? LatestUtc { get; private set; }

            public int? ErrorCode { get; private set; }

            public string? FailureReason { get; private set; }

            public bool HasStatus { get; private set; }

            public bool HasConditionalAccess { get; private set; }

            public string? FailedConditionalAccess { get; private set; }

            public void Add(SignIn s)
            {
                Count++;
                DateTimeOffset when = s.CreatedDateTime ?? DateTimeOffset.MinValue;
                if (Count > 1 && when <= _latest)
                {
                    return;
                }

                _latest = when;
                LatestUtc = s.CreatedDateTime;
                HasStatus = s.Status is not null;
                // A status without errorCode is a success: Microsoft's example of a successful sign-in has "status": {}
                // (https://learn.microsoft.com/graph/api/signin-list?view=graph-rest-beta), and Get-SmtpAuthClient counts it so.
                ErrorCode = s.Status is null ? null : s.Status.ErrorCode ?? 0;
                FailureReason = s.Status?.FailureReason;
                HasConditionalAccess = s.AppliedConditionalAccessPolicies is not null;
                FailedConditionalAccess = s.AppliedConditionalAccessPolicies is { } applied
                    ? string.Join("; ", applied.Where(p => p.Result == AppliedConditionalAccessPolicyResult.Failure).Select(p => p.DisplayName))
                    : null;
            }

            public static SignInSummary Of(IEnumerable<SignIn> signIns)
            {
                var summary = new SignInSummary();
                foreach (SignIn s in signIns)
                {
                    summary.Add(s);
                }

                return summary;
            }
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
                        ApplySignIns(m, _tenantSignIns!.TryGetValue(m.UserPrincipalName ?? string.Empty, out SignInSummary? summary) ? summary : new SignInSummary());
                    }
                }

                return;
            }

            string since = _options.Clock().AddHours(-_options.SignInLookbackHours).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            foreach (List<MailboxPolicyData> chunk in Chunk(mailboxes.Where(m => m.UserPrincipalName is not null).ToList(), 10))
            {
                // The sign-in log stores the UPN in lowercase ("This value is always in lowercase",
                // https://learn.microsoft.com/graph/api/resources/signin?view=graph-rest-beta); Exchange reports it as typed.
                string users = string.Join(" or ", chunk.Select(m => "userPrincipalName eq '" + m.UserPrincipalName!.ToLowerInvariant().Replace("'", "''") + "'"));
                (List<SignIn> items, GraphResult? failure) = await SignInsAsync("clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge " + since + " and (" + users + ")", token).ConfigureAwait(false);
                foreach (MailboxPolicyData m in chunk)
                {
                    if (failure is not null)
                    {
                        m.UnknownReasons.Add(Reason("Sign-in log", failure, SignInPermission));
                    }
                    else
                    {
                        ApplySignIns(m, SignInSummary.Of(items.Where(i => string.Equals(i.UserPrincipalName, m.UserPrincipalName, StringComparison.OrdinalIgnoreCase))));
                    }
                }
            }
        }

        private static void ApplySignIns(MailboxPolicyData m, SignInSummary signIns)
        {
            m.SignInCount = signIns.Count;
            if (signIns.Count == 0)
            {
                return;
            }

            if (signIns.LatestUtc is DateTimeOffset when)
            {
                m.LastSignInUtc = when.UtcDateTime;
            }

            if (signIns.HasStatus)
            {
                m.LastSignInErrorCode = signIns.ErrorCode;
                m.LastSignInFailureReason = signIns.FailureReason;
            }

            if (signIns.HasConditionalAccess)
            {
                m.LastSignInConditionalAccess = string.IsNullOrEmpty(signIns.FailedConditionalAccess) ? null : signIns.FailedConditionalAccess;
            }
        }

        private async Task<(bool? HasRole, string? SpObjectId, string? Reason)> ReadAppAsync(string clientId, CancellationToken token)
        {
            _sink.Verbose("Graph: reading the service principal of app " + clientId + ".");
            (ServicePrincipalCollectionResponse? sp, GraphResult? spFailure) = await GraphSdk.CallAsync(ct => _sdk.V1.ServicePrincipals.GetAsync(q =>
            {
                q.QueryParameters.Filter = "appId eq '" + clientId.Replace("'", "''") + "'";
                q.QueryParameters.Select = s_spFields;
            }, ct), token).ConfigureAwait(false);
            if (sp is null)
            {
                return (null, null, Reason("App service principal", spFailure ?? Malformed("value"), "Application.Read.All"));
            }

            string? spId = sp.Value?.Select(v => v.Id).FirstOrDefault(id => id is not null);
            if (spId is null)
            {
                return (false, null, "App-only OAuth: no enterprise application (service principal) for app " + clientId + " in this tenant.");
            }

            (ServicePrincipalCollectionResponse? exo, _) = await GraphSdk.CallAsync(ct => _sdk.V1.ServicePrincipals.GetAsync(q =>
            {
                q.QueryParameters.Filter = "appId eq '" + ConditionalAccessEvaluator.ExchangeOnlineAppId + "'";
                q.QueryParameters.Select = s_exoSpFields;
            }, ct), token).ConfigureAwait(false);
            string? roleId = exo?.Value?.SelectMany(v => v.AppRoles ?? new List<AppRole>())
                .Where(r => r.Value == SendAsAppRoleValue && r.Id is not null).Select(r => r.Id!.Value.ToString()).FirstOrDefault();
            roleId ??= "7146a1f0-8703-45b3-9eae-527a64c00995"; // community-sourced id (reported by admins, not in one Microsoft page), when the EXO SP cannot be read

            (List<AppRoleAssignment> assignments, GraphResult? failure) = await _sdk.AllAsync<AppRoleAssignment, AppRoleAssignmentCollectionResponse>(
                ct => _sdk.V1.ServicePrincipals[spId].AppRoleAssignments.GetAsync(cancellationToken: ct), token).ConfigureAwait(false);
            if (failure is not null)
            {
                return (null, spId, Reason("App role assignments", failure, "Application.Read.All"));
            }

            bool has = assignments.Any(a => string.Equals(a.AppRoleId?.ToString(), roleId, StringComparison.OrdinalIgnoreCase));
            return (has, spId, null);
        }

        private static GraphResult Malformed(string property) =>
            new GraphResult(0, null, "MalformedResponse", "The response had no " + property + ".");

        // "Security defaults: 403 Authorization_RequestDenied (Insufficient privileges...). Grant Policy.Read.All."
        private static string Reason(string what, GraphResult r, string permission)
        {
            if (GraphRetryPolicy.IsRetryable(r.Status) && r.Throttled is not null)
            {
                // "Sign-in log: Microsoft Graph throttled the read (429) and 4 retries over 1.2 min did not get through; the fields it reads are unknown."
                return string.Format(CultureInfo.InvariantCulture, "{0}: Microsoft Graph throttled the read ({1}) and {2}; the fields it reads are unknown.", what, r.Status, r.Throttled);
            }

            string detail = r.Status == 0
                ? (r.ErrorMessage ?? "no response")
                : string.Format(CultureInfo.InvariantCulture, "{0} {1}", r.Status, r.ErrorCode ?? string.Empty).Trim() + (r.ErrorMessage is null ? string.Empty : " (" + GraphReader.Truncate(r.ErrorMessage) + ")");
            string advice = r.Status == 403 && string.Equals(r.ErrorCode, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", StringComparison.OrdinalIgnoreCase)
                ? " The tenant needs an Entra ID P1 or P2 licence for this report."
                : r.Status == 403 || r.Status == 401 ? " Grant " + permission + "." : string.Empty;
            // A message of its own ("... the remaining Graph reads of this run were skipped.") keeps one full stop.
            return what + ": " + detail.TrimEnd('.') + "." + advice;
        }

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
