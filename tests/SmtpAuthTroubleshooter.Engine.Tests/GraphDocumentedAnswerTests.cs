using System;
using System.Collections.Generic;
using System.Linq;
using System.Security;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// The Graph reads against the answers Microsoft's Graph reference documents for each API (permissions tables,
    /// example responses, the limited-information rule for directoryObject collections), served verbatim by a scripted
    /// loopback server over the HTTP way in. Not the project's emulator: what these answers are is Microsoft's word.
    /// </summary>
    public class GraphDocumentedAnswerTests
    {
        private const string UserId = "26be570a-ae82-4189-b4e2-a37c6808512d";

        private static readonly string s_denied =
            "{\"error\":{\"code\":\"Authorization_RequestDenied\",\"message\":\"Insufficient privileges to complete the operation.\",\"innerError\":{\"date\":\"2026-11-26T10:17:06\",\"request-id\":\"93b6f17e-c05d-4f45-ad2a-6665c708d8a0\",\"client-request-id\":\"e70c5c1b-8b47-68c0-3171-3d22f5e0bd54\"}}}";

        // One enabled policy that blocks legacy authentication for a directory role (Global Administrator's template id).
        private static readonly string s_rolePolicy = "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies\",\"value\":[{"
            + "\"id\":\"5a2b7e1c-0000-4000-8000-000000000001\",\"displayName\":\"Block legacy authentication for admins\",\"state\":\"enabled\","
            + "\"createdDateTime\":null,\"modifiedDateTime\":null,\"sessionControls\":null,"
            + "\"conditions\":{\"signInRiskLevels\":[],\"clientAppTypes\":[\"exchangeActiveSync\",\"other\"],\"platforms\":null,\"locations\":null,"
            + "\"applications\":{\"includeApplications\":[\"All\"],\"excludeApplications\":[],\"includeUserActions\":[]},"
            + "\"users\":{\"includeUsers\":[],\"excludeUsers\":[],\"includeGroups\":[],\"excludeGroups\":[],\"includeRoles\":[\"62e90394-69f5-4237-9190-012177145e10\"],\"excludeRoles\":[]}},"
            + "\"grantControls\":{\"operator\":\"OR\",\"builtInControls\":[\"block\"],\"customAuthenticationFactors\":[],\"termsOfUse\":[]}}]}";

        private static SecureString Token() => ProbeTestKit.Secret("test-bearer");

        private static GraphPolicyReader Reader(GraphTestServer server, RecordingSink sink, bool tenantWideSignIns = false) =>
            new GraphPolicyReader(
                new GraphReader(GraphConnection.WithToken(server.BaseUri, Token(), new GraphConnectionOptions { MaxRetries = 1, RequestTimeout = TimeSpan.FromSeconds(30) }, sink), sink),
                new GraphReadOptions { Clock = () => new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero), TenantWideSignIns = tenantWideSignIns },
                sink);

        // Reads the tenant and the mailboxes over the HTTP way in, as Get-SmtpAuthPolicyState does.
        private static async Task<(TenantPolicyData Tenant, List<MailboxPolicyData> Boxes)> ReadAsync(GraphTestServer server, List<MailboxPolicyData>? boxes = null, bool tenantWideSignIns = false)
        {
            var tenant = new TenantPolicyData();
            boxes ??= Mailbox();
            GraphPolicyReader reader = Reader(server, new RecordingSink(), tenantWideSignIns);
            await reader.ReadTenantAsync(tenant, CancellationToken.None);
            await reader.ReadUsersAsync(tenant, boxes, CancellationToken.None);
            return (tenant, boxes);
        }

        private static List<MailboxPolicyData> Mailbox() => new List<MailboxPolicyData>
        {
            new MailboxPolicyData { UserPrincipalName = "testaccount1@contoso.com", ExternalDirectoryObjectId = UserId },
        };

        // A tenant with no policy of its own; each test overrides what it is about. Inner $batch answers come from
        // <paramref name="inner"/> (by the inner URL), else a plain user and per-user MFA "disabled".
        private static GraphTestAnswer Answer(GraphTestRequest request, Func<string, (int Status, string Body)?>? inner = null, string? policies = null, string? signIns = null)
        {
            string p = request.PathAndQuery;
            if (p.StartsWith("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", StringComparison.Ordinal))
            {
                return GraphTestAnswer.Json("{\"id\":\"00000000-0000-0000-0000-000000000005\",\"displayName\":\"Security Defaults\",\"isEnabled\":false}");
            }

            if (p.StartsWith("/v1.0/identity/conditionalAccess/policies", StringComparison.Ordinal))
            {
                return GraphTestAnswer.Json(policies ?? "{\"value\":[]}");
            }

            if (p.StartsWith("/v1.0/domains/", StringComparison.Ordinal))
            {
                return GraphTestAnswer.Json("{\"id\":\"contoso.com\",\"authenticationType\":\"Managed\"}");
            }

            if (p.StartsWith("/v1.0/auditLogs/signIns", StringComparison.Ordinal))
            {
                return signIns is null ? GraphTestAnswer.Json("{\"value\":[]}") : new GraphTestAnswer(403, signIns);
            }

            if (p.Contains("/$batch", StringComparison.Ordinal))
            {
                var responses = new JsonArray();
                foreach (JsonNode? r in JsonNode.Parse(request.Body)!["requests"]!.AsArray())
                {
                    string url = (string)r!["url"]!;
                    (int status, string body) = inner?.Invoke(url) ?? (url.Contains("/authentication/requirements", StringComparison.Ordinal)
                        ? (200, "{\"perUserMfaState\":\"disabled\"}")
                        : (200, "{\"id\":\"" + UserId + "\",\"userPrincipalName\":\"testaccount1@contoso.com\",\"accountEnabled\":true,\"userType\":\"Member\",\"onPremisesSyncEnabled\":null}"));
                    responses.Add(new JsonObject
                    {
                        ["id"] = (string)r["id"]!,
                        ["status"] = status,
                        ["headers"] = new JsonObject { ["Content-Type"] = "application/json" },
                        ["body"] = JsonNode.Parse(body),
                    });
                }

                return GraphTestAnswer.Json(new JsonObject { ["responses"] = responses }.ToJsonString());
            }

            return new GraphTestAnswer(404, "{\"error\":{\"code\":\"NotFound\",\"message\":\"not scripted\"}}");
        }

        [Fact]
        public async Task Per_user_MFA_refused_names_the_permission_Microsoft_documents_for_it()
        {
            // https://learn.microsoft.com/graph/api/authentication-get?view=graph-rest-beta, "Permissions to read per-user MFA
            // state", acting on others: least privileged Policy.Read.All (delegated and application); the signed-in admin
            // needs Global Reader or Authentication Policy Administrator.
            await using var server = new GraphTestServer((r, n) => Answer(r, url => url.Contains("/authentication/requirements", StringComparison.Ordinal) ? (403, s_denied) : null));
            (TenantPolicyData tenant, List<MailboxPolicyData> boxes) = await ReadAsync(server);

            Assert.Null(boxes[0].PerUserMfaState);
            string reason = Assert.Single(boxes[0].UnknownReasons, u => u.StartsWith("Per-user MFA:", StringComparison.Ordinal));
            Assert.Contains("403 Authorization_RequestDenied", reason, StringComparison.Ordinal);
            Assert.Contains("Grant Policy.Read.All", reason, StringComparison.Ordinal);
            Assert.Contains("Global Reader or Authentication Policy Administrator", reason, StringComparison.Ordinal);
            Assert.DoesNotContain("UserAuthenticationMethod", reason, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Sign_in_log_refused_names_both_permissions_Microsoft_documents_for_it()
        {
            // https://learn.microsoft.com/graph/api/signin-list, Permissions: "AuditLog.Read.All and Directory.Read.All"
            // (delegated and application), with the known issue that the API "currently requires consent to both".
            foreach (bool tenantWide in new[] { false, true })
            {
                await using var server = new GraphTestServer((r, n) => Answer(r, signIns: s_denied));
                (TenantPolicyData tenant, List<MailboxPolicyData> boxes) = await ReadAsync(server, tenantWideSignIns: tenantWide);

                Assert.Null(boxes[0].SignInCount);
                string reason = Assert.Single(boxes[0].UnknownReasons, u => u.StartsWith("Sign-in log:", StringComparison.Ordinal));
                Assert.Contains("403 Authorization_RequestDenied", reason, StringComparison.Ordinal);
                Assert.Contains("Grant AuditLog.Read.All and Directory.Read.All", reason, StringComparison.Ordinal);
                Assert.Contains("Global Reader, Reports Reader, Security Reader, Security Operator or Security Administrator", reason, StringComparison.Ordinal);
            }
        }

        [Fact]
        public async Task Directory_roles_listed_with_limited_information_leave_role_policies_unknown_not_unmatched()
        {
            // https://learn.microsoft.com/graph/api/user-list-transitivememberof (least privileged: User.Read.All) and
            // https://learn.microsoft.com/graph/permissions-overview#limited-information-returned-for-inaccessible-member-objects:
            // a member the caller may not read comes back with "only the @odata.type property for the object type and the
            // id", other properties null. A Conditional Access policy names role *template* ids; a directory role's id is
            // another id, so without roleTemplateId the user's roles are not known.
            string policies = s_rolePolicy;
            string limited = "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#directoryObjects\",\"value\":["
                + "{\"@odata.type\":\"#microsoft.graph.group\",\"id\":\"0e226165-c685-41ce-8bfc-df8360ab325d\",\"displayName\":null},"
                + "{\"@odata.type\":\"#microsoft.graph.directoryRole\",\"id\":\"21004afc-7bb2-4fe6-a1e1-074ebd3e52c1\",\"deletedDateTime\":null,\"description\":null,\"displayName\":null,\"roleTemplateId\":null}]}";
            await using var server = new GraphTestServer((r, n) => Answer(r, url => url.Contains("/transitiveMemberOf", StringComparison.Ordinal) ? (200, limited) : null, policies));
            (TenantPolicyData tenant, List<MailboxPolicyData> boxes) = await ReadAsync(server);

            Assert.Contains("0e226165-c685-41ce-8bfc-df8360ab325d", boxes[0].GroupIds!);
            Assert.Null(boxes[0].RoleTemplateIds);
            Assert.Contains(boxes[0].UnknownReasons, u => u.Contains("RoleManagement.Read.Directory", StringComparison.Ordinal));
            ConditionalAccessOutcome outcome = ConditionalAccessEvaluator.Evaluate(tenant.ConditionalAccessPolicies!, UserId, boxes[0].GroupIds, boxes[0].RoleTemplateIds, false);
            Assert.True(outcome.MembershipUnknown);
            Assert.Empty(outcome.Blocking);
        }

        [Fact]
        public async Task Membership_refused_names_the_least_privileged_permission_Microsoft_lists()
        {
            // https://learn.microsoft.com/graph/api/user-list-transitivememberof: least privileged User.Read.All (higher:
            // GroupMember.Read.All, Group.Read.All, Directory.Read.All); groups the caller may not read still come back
            // with their ids, which is all Conditional Access needs.
            await using var server = new GraphTestServer((r, n) => Answer(r, url => url.Contains("/transitiveMemberOf", StringComparison.Ordinal) ? (403, s_denied) : null, s_rolePolicy));
            (TenantPolicyData _, List<MailboxPolicyData> boxes) = await ReadAsync(server);

            string reason = Assert.Single(boxes[0].UnknownReasons, u => u.StartsWith("Group membership:", StringComparison.Ordinal));
            Assert.Contains("Grant User.Read.All", reason, StringComparison.Ordinal);
        }

        [Fact]
        public async Task The_sign_in_filter_names_the_user_in_lowercase_as_the_log_stores_it()
        {
            // https://learn.microsoft.com/graph/api/resources/signin?view=graph-rest-beta, userPrincipalName: "This value is
            // always in lowercase." Exchange reports the UPN as it was typed ('TestAccount1@Contoso.com'); whether the log's
            // eq is case-insensitive is not documented, so this server matches it exactly, the strictest reading.
            string? filter = null;
            await using var server = new GraphTestServer((r, n) =>
            {
                if (r.PathAndQuery.StartsWith("/v1.0/auditLogs/signIns", StringComparison.Ordinal))
                {
                    filter = Uri.UnescapeDataString(r.PathAndQuery);
                    return GraphTestAnswer.Json(filter.Contains("userPrincipalName eq 'testaccount1@contoso.com'", StringComparison.Ordinal)
                        ? "{\"value\":[{\"id\":\"1\",\"createdDateTime\":\"2026-11-26T08:00:00Z\",\"userPrincipalName\":\"testaccount1@contoso.com\",\"clientAppUsed\":\"Authenticated SMTP\",\"status\":{\"errorCode\":0}}]}"
                        : "{\"value\":[]}");
                }

                return Answer(r);
            });
            (TenantPolicyData tenant, List<MailboxPolicyData> boxes) = await ReadAsync(server, new List<MailboxPolicyData> { new MailboxPolicyData { UserPrincipalName = "TestAccount1@Contoso.com", ExternalDirectoryObjectId = UserId } });

            Assert.Contains("userPrincipalName eq 'testaccount1@contoso.com'", filter, StringComparison.Ordinal);
            Assert.Equal(1, boxes[0].SignInCount);
            Assert.Equal(0, boxes[0].LastSignInErrorCode);
        }

        [Fact]
        public async Task A_sign_in_whose_status_holds_no_error_code_is_a_success_as_in_Microsofts_example()
        {
            // https://learn.microsoft.com/graph/api/signin-list?view=graph-rest-beta, example 2: a successful sign-in whose
            // status is {} (no errorCode). Get-SmtpAuthClient counts it as a success; the policy state said "no code".
            await using var server = new GraphTestServer((r, n) => r.PathAndQuery.StartsWith("/v1.0/auditLogs/signIns", StringComparison.Ordinal)
                ? GraphTestAnswer.Json("{\"value\":[{\"id\":\"1\",\"createdDateTime\":\"2026-11-26T08:00:00Z\",\"userPrincipalName\":\"testaccount1@contoso.com\",\"clientAppUsed\":\"Authenticated SMTP\",\"status\":{}}]}")
                : Answer(r));
            (TenantPolicyData tenant, List<MailboxPolicyData> boxes) = await ReadAsync(server);

            Assert.Equal(1, boxes[0].SignInCount);
            Assert.Equal(0, boxes[0].LastSignInErrorCode);
        }

        [Fact]
        public async Task The_documented_example_responses_are_read_as_Microsoft_describes_them()
        {
            // Response blocks of identitysecuritydefaultsenforcementpolicy-get, conditionalaccessroot-list-policies,
            // signin-list (v1.0, example 1; its trailing comma, which is not JSON, left out), authentication-get (beta,
            // example 2) on https://learn.microsoft.com/graph/api/.
            const string securityDefaults = "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy\",\"description\":\"Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks.\",\"displayName\":\"Security Defaults\",\"id\":\"00000000-0000-0000-0000-000000000005\",\"isEnabled\":true}";
            const string policies = "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#conditionalAccess/policies\",\"value\":["
                + "{\"id\":\"ad8d2b4a-8d30-413f-88b8-144c6c8d98d9\",\"displayName\":\"SimplePolicy1\",\"createdDateTime\":null,\"modifiedDateTime\":null,\"state\":\"disabled\",\"sessionControls\":null,"
                + "\"conditions\":{\"signInRiskLevels\":[],\"clientAppTypes\":[\"all\"],\"platforms\":null,\"locations\":null,\"applications\":{\"includeApplications\":[\"None\"],\"excludeApplications\":[],\"includeUserActions\":[]},"
                + "\"users\":{\"includeUsers\":[\"None\"],\"excludeUsers\":[],\"includeGroups\":[],\"excludeGroups\":[],\"includeRoles\":[],\"excludeRoles\":[]}},"
                + "\"grantControls\":{\"operator\":\"OR\",\"builtInControls\":[\"block\"],\"customAuthenticationFactors\":[],\"termsOfUse\":[]}},"
                + "{\"id\":\"c558e346-969d-40a7-a64e-2df6c2c88490\",\"displayName\":\"SimplePolicy2\",\"createdDateTime\":null,\"modifiedDateTime\":null,\"state\":\"disabled\",\"sessionControls\":null,"
                + "\"conditions\":{\"signInRiskLevels\":[],\"clientAppTypes\":[\"all\"],\"platforms\":null,\"locations\":null,\"applications\":{\"includeApplications\":[\"None\"],\"excludeApplications\":[],\"includeUserActions\":[]},"
                + "\"users\":{\"includeUsers\":[\"None\"],\"excludeUsers\":[],\"includeGroups\":[],\"excludeGroups\":[],\"includeRoles\":[],\"excludeRoles\":[]}},"
                + "\"grantControls\":{\"operator\":\"OR\",\"builtInControls\":[\"mfa\"],\"customAuthenticationFactors\":[],\"termsOfUse\":[]}}]}";
            const string row = "{\"id\":\"66ea54eb-6301-4ee5-be62-ff5a759b0100\",\"createdDateTime\":\"2020-03-13T19:15:41.6195833Z\",\"userDisplayName\":\"Test Contoso\",\"userPrincipalName\":\"testaccount1@contoso.com\","
                + "\"userId\":\"26be570a-ae82-4189-b4e2-a37c6808512d\",\"appId\":\"de8bc8b5-d9f9-48b1-a8ad-b748da725064\",\"appDisplayName\":\"Graph explorer\",\"ipAddress\":\"131.107.159.37\",\"clientAppUsed\":\"Browser\","
                + "\"correlationId\":\"d79f5bee-5860-4832-928f-3133e22ae912\",\"conditionalAccessStatus\":\"notApplied\",\"isInteractive\":true,\"riskDetail\":\"none\",\"riskLevelAggregated\":\"none\",\"riskLevelDuringSignIn\":\"none\",\"riskState\":\"none\",\"riskEventTypes\":[],"
                + "\"resourceDisplayName\":\"Microsoft Graph\",\"resourceId\":\"00000003-0000-0000-c000-000000000000\",\"status\":{\"errorCode\":0,\"failureReason\":null,\"additionalDetails\":null},"
                + "\"deviceDetail\":{\"deviceId\":\"\",\"displayName\":null,\"operatingSystem\":\"Windows 10\",\"browser\":\"Edge 80.0.361\",\"isCompliant\":null,\"isManaged\":null,\"trustType\":null},"
                + "\"location\":{\"city\":\"Redmond\",\"state\":\"Washington\",\"countryOrRegion\":\"US\",\"geoCoordinates\":{\"altitude\":null,\"latitude\":47.68050003051758,\"longitude\":-122.12094116210938}},"
                + "\"appliedConditionalAccessPolicies\":[{\"id\":\"de7e60eb-ed89-4d73-8205-2227def6b7c9\",\"displayName\":\"SharePoint limited access for guest workers\",\"enforcedGrantControls\":[],\"enforcedSessionControls\":[],\"result\":\"notEnabled\"},"
                + "{\"id\":\"6701123a-b4c6-48af-8565-565c8bf7cabc\",\"displayName\":\"Medium signin risk block\",\"enforcedGrantControls\":[],\"enforcedSessionControls\":[],\"result\":\"notEnabled\"}]}";
            Uri? self = null;
            await using var server = new GraphTestServer((r, n) =>
            {
                string p = r.PathAndQuery;
                if (p.StartsWith("/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", StringComparison.Ordinal))
                {
                    return GraphTestAnswer.Json(securityDefaults);
                }

                if (p.StartsWith("/v1.0/auditLogs/signIns", StringComparison.Ordinal))
                {
                    // The documented first page and its @odata.nextLink ($top=1&$skiptoken=...), then a last page.
                    return p.Contains("$skiptoken", StringComparison.Ordinal)
                        ? GraphTestAnswer.Json("{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns\",\"value\":[" + row.Replace("2020-03-13T19:15:41.6195833Z", "2020-03-12T08:00:00Z", StringComparison.Ordinal) + "]}")
                        : GraphTestAnswer.Json("{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns\",\"@odata.nextLink\":\"" + self + "v1.0/auditLogs/signIns?$top=1&$skiptoken=9177f2e3532fcd4c4d225f68f7b9bdf7_1\",\"value\":[" + row + "]}");
                }

                return Answer(r, url => url.Contains("/authentication/requirements", StringComparison.Ordinal) ? (200, "{\"perUserMfaState\":\"enforced\"}") : null, policies);
            });
            self = server.BaseUri;
            var sink = new RecordingSink();
            var tenant = new TenantPolicyData();
            var reader = new GraphPolicyReader(
                new GraphReader(GraphConnection.WithToken(server.BaseUri, Token(), new GraphConnectionOptions { MaxRetries = 1 }, sink), sink),
                new GraphReadOptions { Clock = () => new DateTimeOffset(2020, 3, 14, 0, 0, 0, TimeSpan.Zero), SignInLookbackHours = 72 },
                sink);
            List<MailboxPolicyData> boxes = Mailbox();

            await reader.ReadTenantAsync(tenant, CancellationToken.None);
            await reader.ReadUsersAsync(tenant, boxes, CancellationToken.None);

            Assert.True(tenant.SecurityDefaultsEnabled);
            Assert.Empty(tenant.UnknownReasons);
            Assert.Equal(new[] { "SimplePolicy1", "SimplePolicy2" }, tenant.ConditionalAccessPolicies!.Select(p => p.DisplayName));
            Assert.All(tenant.ConditionalAccessPolicies!, p => Assert.Equal("disabled", p.State));
            Assert.Equal(new[] { "block" }, tenant.ConditionalAccessPolicies![0].GrantControls);
            Assert.Equal(new[] { "all" }, tenant.ConditionalAccessPolicies![0].ClientAppTypes);
            Assert.Equal("enforced", boxes[0].PerUserMfaState);
            Assert.True(boxes[0].AccountEnabled);
            Assert.Equal(2, boxes[0].SignInCount);                     // both pages, the nextLink followed as given
            Assert.Equal(new DateTime(2020, 3, 13, 19, 15, 41, DateTimeKind.Utc).AddTicks(6195833), boxes[0].LastSignInUtc);
            Assert.Equal(DateTimeKind.Utc, boxes[0].LastSignInUtc!.Value.Kind);
            Assert.Equal(0, boxes[0].LastSignInErrorCode);
            Assert.Null(boxes[0].LastSignInConditionalAccess);         // "notEnabled" policies did not fail it
            Assert.Empty(boxes[0].UnknownReasons);
        }

        [Fact]
        public async Task Directory_roles_listed_in_full_give_their_template_ids()
        {
            string policies = "{\"value\":[{\"id\":\"p1\",\"displayName\":\"Admins\",\"state\":\"enabled\",\"conditions\":{\"clientAppTypes\":[\"other\"],"
                + "\"applications\":{\"includeApplications\":[\"All\"]},\"users\":{\"includeRoles\":[\"62e90394-69f5-4237-9190-012177145e10\"]}},\"grantControls\":{\"operator\":\"OR\",\"builtInControls\":[\"block\"]}}]}";
            string full = "{\"value\":[{\"@odata.type\":\"#microsoft.graph.directoryRole\",\"id\":\"21004afc-7bb2-4fe6-a1e1-074ebd3e52c1\",\"displayName\":\"Global Administrator\",\"roleTemplateId\":\"62e90394-69f5-4237-9190-012177145e10\"}]}";
            await using var server = new GraphTestServer((r, n) => Answer(r, url => url.Contains("/transitiveMemberOf", StringComparison.Ordinal) ? (200, full) : null, policies));
            (TenantPolicyData tenant, List<MailboxPolicyData> boxes) = await ReadAsync(server);

            Assert.Equal(new[] { "62e90394-69f5-4237-9190-012177145e10" }, boxes[0].RoleTemplateIds!);
            Assert.DoesNotContain(boxes[0].UnknownReasons, u => u.Contains("Directory roles", StringComparison.Ordinal));
        }
    }
}
