using System;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>One emulator per class for the read-only route tests (directory tenant, manual clock).</summary>
public sealed class GraphDirectoryFixture : IAsyncLifetime
{
    internal GraphSession Session { get; private set; } = null!;

    public async Task InitializeAsync() => Session = await GraphSession.StartAsync(GraphSession.Directory);

    public async Task DisposeAsync() => await Session.DisposeAsync();
}

public sealed class GraphRouteTests(GraphDirectoryFixture fixture) : IClassFixture<GraphDirectoryFixture>
{
    private const string Admin = "e0000000-0000-4000-8000-000000000001";
    private const string Scanner = "e0000000-0000-4000-8000-000000000002";
    private const string Finance = "e0000000-0000-4000-8000-000000000004";
    private const string ExchangeApp = "00000002-0000-0ff1-ce00-000000000000";

    private GraphSession G => fixture.Session;

    [Fact]
    public async Task Security_defaults_policy_has_the_documented_shape()
    {
        var (status, body, response) = await G.GetAsync("v1.0/policies/identitySecurityDefaultsEnforcementPolicy");

        Assert.Equal(200, status);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.Equal(["@odata.context", "id", "displayName", "description", "isEnabled"], GraphSession.Keys(body));
        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#policies/identitySecurityDefaultsEnforcementPolicy", body["@odata.context"]!.GetValue<string>());
        Assert.Equal("00000000-0000-0000-0000-000000000005", body["id"]!.GetValue<string>());
        Assert.False(body["isEnabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Conditional_access_policies_keep_the_graph_shape_and_the_scenario_values()
    {
        var (status, body, _) = await G.GetAsync("v1.0/identity/conditionalAccess/policies");

        Assert.Equal(200, status);
        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies", body["@odata.context"]!.GetValue<string>());
        Assert.Null(body["@odata.nextLink"]);
        var policies = body["value"]!.AsArray().Select(p => p!.AsObject()).ToList();
        Assert.Equal(3, policies.Count);
        var block = policies[0];
        Assert.Equal(["id", "templateId", "displayName", "createdDateTime", "modifiedDateTime", "state", "conditions", "grantControls", "sessionControls"], GraphSession.Keys(block));
        Assert.Equal("enabled", block["state"]!.GetValue<string>());
        var conditions = block["conditions"]!.AsObject();
        Assert.Null(conditions["platforms"]);
        Assert.Null(conditions["locations"]);
        Assert.Equal(["exchangeActiveSync", "other"], conditions["clientAppTypes"]!.AsArray().Select(v => v!.GetValue<string>()));
        var users = conditions["users"]!.AsObject();
        Assert.Equal(["includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles", "excludeRoles", "includeGuestsOrExternalUsers", "excludeGuestsOrExternalUsers"], GraphSession.Keys(users));
        Assert.Equal("9a000000-0000-4000-8000-000000000001", users["excludeGroups"]![0]!.GetValue<string>());
        Assert.Equal("62e90394-69f5-4237-9190-012177145e10", users["excludeRoles"]![0]!.GetValue<string>());
        var grant = block["grantControls"]!.AsObject();
        Assert.Equal("OR", grant["operator"]!.GetValue<string>());
        Assert.Equal("block", grant["builtInControls"]![0]!.GetValue<string>());
        Assert.Null(grant["authenticationStrength"]);
        var platforms = policies[2]["conditions"]!["platforms"]!.AsObject();
        Assert.Equal("windows", platforms["includePlatforms"]![0]!.GetValue<string>());
        Assert.Equal("AllTrusted", policies[2]["conditions"]!["locations"]!["excludeLocations"]![0]!.GetValue<string>());
        Assert.Equal("mfa", policies[1]["grantControls"]!["builtInControls"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task A_user_by_upn_returns_only_the_selected_properties_and_id()
    {
        var (status, body, _) = await G.GetAsync("v1.0/users/printer@northwindtraders.com?$select=userPrincipalName,accountEnabled,displayName,mail,userType,onPremisesSyncEnabled");

        Assert.Equal(200, status);
        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#users(userPrincipalName,accountEnabled,displayName,mail,userType,onPremisesSyncEnabled)/$entity", body["@odata.context"]!.GetValue<string>());
        Assert.Equal(["@odata.context", "id", "userPrincipalName", "accountEnabled", "displayName", "mail", "userType", "onPremisesSyncEnabled"], GraphSession.Keys(body));
        Assert.True(body["accountEnabled"]!.GetValue<bool>());
        Assert.True(body["onPremisesSyncEnabled"]!.GetValue<bool>());
        Assert.Equal("Member", body["userType"]!.GetValue<string>());

        var (_, byId, _) = await G.GetAsync($"v1.0/users/{Scanner}?$select=onPremisesSyncEnabled");
        Assert.Null(byId["onPremisesSyncEnabled"]);   // cloud-only: null, present
        Assert.True(byId.ContainsKey("onPremisesSyncEnabled"));

        var (_, guest, _) = await G.GetAsync("v1.0/users/partner_fabrikam.com%23EXT%23@northwindtraders.onmicrosoft.com?$select=userType,mail");
        Assert.Equal("Guest", guest["userType"]!.GetValue<string>());
        Assert.Equal("partner@fabrikam.com", guest["mail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_user_without_select_has_the_default_property_set()
    {
        var (_, body, _) = await G.GetAsync($"v1.0/users/{Admin}");

        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#users/$entity", body["@odata.context"]!.GetValue<string>());
        Assert.Equal(["@odata.context", "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"], GraphSession.Keys(body));
        Assert.False(body.ContainsKey("accountEnabled"));
    }

    [Fact]
    public async Task Unknown_users_and_properties_get_graph_errors()
    {
        var (status, body, _) = await G.GetAsync("v1.0/users/nobody@northwindtraders.com");
        Assert.Equal(404, status);
        GraphSession.AssertGraphError(body, "Request_ResourceNotFound");
        Assert.Equal("Resource 'nobody@northwindtraders.com' does not exist or one of its queried reference-property objects are not present.", body["error"]!["message"]!.GetValue<string>());

        (status, body, _) = await G.GetAsync($"v1.0/users/{Admin}?$select=id,shoeSize");
        Assert.Equal(400, status);
        Assert.Equal("Could not find a property named 'shoeSize' on type 'microsoft.graph.user'.", body["error"]!["message"]!.GetValue<string>());

        (status, body, _) = await G.GetAsync("v1.0/nothingHere");
        Assert.Equal(400, status);
        Assert.Equal("Resource not found for the segment 'nothingHere'.", body["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Users_can_be_filtered_by_upn_and_listed_in_pages()
    {
        var (status, body, _) = await G.GetAsync("v1.0/users?$filter=userPrincipalName eq 'FINANCE.USER@northwindtraders.com'&$select=id");
        Assert.Equal(200, status);
        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#users(id)", body["@odata.context"]!.GetValue<string>());
        Assert.Equal(Finance, Assert.Single(body["value"]!.AsArray())!["id"]!.GetValue<string>());

        var (items, pages) = await G.GetAllAsync("v1.0/users?$top=4&$select=id,userPrincipalName");
        Assert.Equal(GraphSession.Directory.Accounts.Count, items.Count);
        Assert.Equal(2, pages);

        (status, _, _) = await G.GetAsync("v1.0/users?$top=1000");
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Transitive_member_of_lists_groups_and_directory_roles()
    {
        var (status, body, _) = await G.GetAsync("v1.0/users/admin@northwindtraders.com/transitiveMemberOf");

        Assert.Equal(200, status);
        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#directoryObjects", body["@odata.context"]!.GetValue<string>());
        var roles = body["value"]!.AsArray().Select(v => v!.AsObject()).ToList();
        Assert.All(roles, r => Assert.Equal("#microsoft.graph.directoryRole", r["@odata.type"]!.GetValue<string>()));
        Assert.Contains(roles, r => r["roleTemplateId"]!.GetValue<string>() == "62e90394-69f5-4237-9190-012177145e10" && r["displayName"]!.GetValue<string>() == "Global Administrator");

        var (_, scanner, _) = await G.GetAsync($"v1.0/users/{Scanner}/transitiveMemberOf");
        var groups = scanner["value"]!.AsArray().Select(v => v!.AsObject()).ToList();
        Assert.Equal(2, groups.Count);
        Assert.All(groups, g =>
        {
            Assert.Equal("#microsoft.graph.group", g["@odata.type"]!.GetValue<string>());
            Assert.True(g["securityEnabled"]!.GetValue<bool>());
        });

        var (_, none, _) = await G.GetAsync("v1.0/users/printer@northwindtraders.com/transitiveMemberOf/microsoft.graph.directoryRole");
        Assert.Empty(none["value"]!.AsArray());
    }

    [Fact]
    public async Task Per_user_mfa_state_is_a_beta_route()
    {
        var (status, body, _) = await G.GetAsync($"beta/users/{Admin}/authentication/requirements");
        Assert.Equal(200, status);
        Assert.Equal(["perUserMfaState"], GraphSession.Keys(body));
        Assert.Equal("disabled", body["perUserMfaState"]!.GetValue<string>());

        (status, _, _) = await G.GetAsync($"v1.0/users/{Admin}/authentication/requirements");
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Sign_ins_filter_by_user_client_app_and_time_newest_first()
    {
        var (status, body, _) = await G.GetAsync("v1.0/auditLogs/signIns?$filter=userPrincipalName eq 'scanner@northwindtraders.com' and clientAppUsed eq 'Authenticated SMTP'&$top=50");

        Assert.Equal(200, status);
        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns", body["@odata.context"]!.GetValue<string>());
        var signIns = body["value"]!.AsArray().Select(v => v!.AsObject()).ToList();
        Assert.Equal(3, signIns.Count);
        var first = signIns[0];
        foreach (string key in new[] { "id", "createdDateTime", "userPrincipalName", "userId", "appDisplayName", "appId", "resourceDisplayName", "resourceId", "clientAppUsed", "ipAddress", "correlationId", "isInteractive", "conditionalAccessStatus", "status", "appliedConditionalAccessPolicies" })
        {
            Assert.True(first.ContainsKey(key), key);
        }

        Assert.Equal("2026-03-13T19:25:00.0000000Z", first["createdDateTime"]!.GetValue<string>());   // now - 5 minutes
        Assert.Equal(ExchangeApp, first["appId"]!.GetValue<string>());
        Assert.Equal("notApplied", first["conditionalAccessStatus"]!.GetValue<string>());
        Assert.Equal(0, first["status"]!["errorCode"]!.GetValue<int>());
        Assert.Equal("Block legacy authentication", first["appliedConditionalAccessPolicies"]![0]!["displayName"]!.GetValue<string>());
        var times = signIns.Select(s => DateTimeOffset.Parse(s["createdDateTime"]!.GetValue<string>(), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(times.OrderByDescending(t => t), times);
        Assert.Equal("198.51.100.23", signIns[2]["ipAddress"]!.GetValue<string>());
        Assert.Equal("Error validating credentials due to invalid username or password.", signIns[2]["status"]!["failureReason"]!.GetValue<string>());

        (_, body, _) = await G.GetAsync("v1.0/auditLogs/signIns?$filter=(userPrincipalName eq 'scanner@northwindtraders.com' or userPrincipalName eq 'finance.user@northwindtraders.com') and clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge 2026-03-13T18:30:00Z");
        var recent = body["value"]!.AsArray().Select(v => v!.AsObject()).ToList();
        Assert.Equal(2, recent.Count);   // scanner 5 min, finance 12 min (scanner 65 min is older than the bound)
        var blocked = recent.Single(s => s["userId"]!.GetValue<string>() == Finance);
        Assert.Equal("failure", blocked["conditionalAccessStatus"]!.GetValue<string>());
        Assert.Equal(53003, blocked["status"]!["errorCode"]!.GetValue<int>());
        Assert.Equal("Block", blocked["appliedConditionalAccessPolicies"]![0]!["enforcedGrantControls"]![0]!.GetValue<string>());

        var (all, pages) = await G.GetAllAsync("v1.0/auditLogs/signIns?$top=2");
        Assert.Equal(GraphSession.Directory.Accounts.Sum(a => a.SignIns?.Count ?? 0), all.Count);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task Bad_filters_are_refused()
    {
        var (status, body, _) = await G.GetAsync("v1.0/auditLogs/signIns?$filter=shoeSize eq 'x'");
        Assert.Equal(400, status);
        Assert.Contains("Could not find a property named 'shoeSize' on type 'microsoft.graph.signIn'", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, _, _) = await G.GetAsync("v1.0/auditLogs/signIns?$filter=userPrincipalName eq");
        Assert.Equal(400, status);
    }

    [Theory]
    [InlineData("v1.0")]
    [InlineData("beta")]
    public async Task Sign_ins_refuse_select_as_Graph_does(string version)
    {
        // Graph supports only $top, $skiptoken and $filter on this list (microsoftgraph/microsoft-graph-devx-api#1250).
        var (status, body, _) = await G.GetAsync(version + "/auditLogs/signIns?$select=userPrincipalName,createdDateTime&$top=5");
        Assert.Equal(400, status);
        Assert.Equal("BadRequest", body["error"]!["code"]!.GetValue<string>());
        Assert.StartsWith("Query option 'Select' is not allowed.", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Domains_report_managed_and_federated()
    {
        var (status, body, _) = await G.GetAsync("v1.0/domains/northwindtraders.com");
        Assert.Equal(200, status);
        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#domains/$entity", body["@odata.context"]!.GetValue<string>());
        Assert.Equal("Managed", body["authenticationType"]!.GetValue<string>());
        Assert.True(body["isDefault"]!.GetValue<bool>());
        Assert.Equal(["Email", "OfficeCommunicationsOnline"], body["supportedServices"]!.AsArray().Select(v => v!.GetValue<string>()));

        (_, body, _) = await G.GetAsync("v1.0/domains/LEGACY.northwindtraders.com");
        Assert.Equal("Federated", body["authenticationType"]!.GetValue<string>());

        (_, body, _) = await G.GetAsync("v1.0/domains/northwindtraders.onmicrosoft.com");
        Assert.True(body["isInitial"]!.GetValue<bool>());

        (status, body, _) = await G.GetAsync("v1.0/domains/example.org");
        Assert.Equal(404, status);
        GraphSession.AssertGraphError(body, "Request_ResourceNotFound");
    }

    [Fact]
    public async Task Service_principals_by_app_id_and_their_app_role_assignments()
    {
        var (status, body, _) = await G.GetAsync("v1.0/servicePrincipals?$filter=appId eq 'b3000000-0000-4000-8000-000000000001'&$select=id,appId,displayName,servicePrincipalType,accountEnabled");
        Assert.Equal(200, status);
        var sp = Assert.Single(body["value"]!.AsArray())!.AsObject();
        Assert.Equal(["id", "appId", "displayName", "servicePrincipalType", "accountEnabled"], GraphSession.Keys(sp));
        Assert.Equal("c3000000-0000-4000-8000-000000000001", sp["id"]!.GetValue<string>());

        (_, body, _) = await G.GetAsync($"v1.0/servicePrincipals?$filter=appId eq '{ExchangeApp}'");
        var exo = Assert.Single(body["value"]!.AsArray())!.AsObject();
        Assert.Equal("Office 365 Exchange Online", exo["displayName"]!.GetValue<string>());
        var sendAsApp = exo["appRoles"]!.AsArray().Single(r => r!["value"]!.GetValue<string>() == "SMTP.SendAsApp")!;
        Assert.Equal("7146a1f0-8703-45b3-9eae-527a64c00995", sendAsApp["id"]!.GetValue<string>());

        (_, body, _) = await G.GetAsync("v1.0/servicePrincipals?$filter=appId eq '99999999-0000-4000-8000-000000000000'");
        Assert.Empty(body["value"]!.AsArray());

        (status, body, _) = await G.GetAsync("v1.0/servicePrincipals/c3000000-0000-4000-8000-000000000001/appRoleAssignments");
        Assert.Equal(200, status);
        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#appRoleAssignments", body["@odata.context"]!.GetValue<string>());
        var assignment = Assert.Single(body["value"]!.AsArray())!.AsObject();
        Assert.Equal("7146a1f0-8703-45b3-9eae-527a64c00995", assignment["appRoleId"]!.GetValue<string>());
        Assert.Equal("ServicePrincipal", assignment["principalType"]!.GetValue<string>());
        Assert.Equal(exo["id"]!.GetValue<string>(), assignment["resourceId"]!.GetValue<string>());
        Assert.Matches("^[A-Za-z0-9_-]{43}$", assignment["id"]!.GetValue<string>());

        (status, _, _) = await G.GetAsync("v1.0/servicePrincipals/99999999-0000-4000-8000-000000000000/appRoleAssignments");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task What_if_evaluates_users_groups_roles_client_apps_and_platforms()
    {
        static JsonObject Request(string userId, string clientAppType, bool appliedOnly, string? platform = null) => new()
        {
            ["signInIdentity"] = new JsonObject { ["@odata.type"] = "#microsoft.graph.userSignIn", ["userId"] = userId },
            ["signInContext"] = new JsonObject { ["@odata.type"] = "#microsoft.graph.applicationContext", ["includeApplications"] = new JsonArray(ExchangeApp) },
            ["signInConditions"] = platform is null ? new JsonObject { ["clientAppType"] = clientAppType } : new JsonObject { ["clientAppType"] = clientAppType, ["devicePlatform"] = platform },
            ["appliedPoliciesOnly"] = appliedOnly,
        };

        var (status, body, _) = await G.PostAsync("v1.0/identity/conditionalAccess/evaluate", Request(Finance, "other", appliedOnly: false));
        Assert.Equal(200, status);
        Assert.Equal("https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.whatIfAnalysisResult)", body["@odata.context"]!.GetValue<string>());
        var results = body["value"]!.AsArray().Select(v => v!.AsObject()).ToList();
        Assert.Equal(3, results.Count);
        Assert.Equal(["id", "templateId", "displayName", "createdDateTime", "modifiedDateTime", "state", "policyApplies", "analysisReasons", "conditions", "grantControls", "sessionControls"], GraphSession.Keys(results[0]));
        Assert.True(results[0]["policyApplies"]!.GetValue<bool>());
        Assert.Equal("notSet", results[0]["analysisReasons"]!.GetValue<string>());
        Assert.Equal("users", results[1]["analysisReasons"]!.GetValue<string>());
        Assert.Equal("devicePlatform", results[2]["analysisReasons"]!.GetValue<string>());

        (_, body, _) = await G.PostAsync("v1.0/identity/conditionalAccess/evaluate", Request(Finance, "browser", appliedOnly: false, platform: "windows"));
        results = body["value"]!.AsArray().Select(v => v!.AsObject()).ToList();
        Assert.Equal("clientApps", results[0]["analysisReasons"]!.GetValue<string>());
        Assert.True(results[2]["policyApplies"]!.GetValue<bool>());   // Windows, from an IP in no trusted location

        (_, body, _) = await G.PostAsync("v1.0/identity/conditionalAccess/evaluate", Request(Scanner, "other", appliedOnly: true));
        Assert.Empty(body["value"]!.AsArray());   // excluded by group; finance MFA is Windows-only

        (_, body, _) = await G.PostAsync("v1.0/identity/conditionalAccess/evaluate", Request("admin@northwindtraders.com", "other", appliedOnly: true));
        var applied = Assert.Single(body["value"]!.AsArray())!.AsObject();
        Assert.Equal("Require MFA for administrators", applied["displayName"]!.GetValue<string>());

        (status, body, _) = await G.PostAsync("v1.0/identity/conditionalAccess/evaluate", new JsonObject { ["signInIdentity"] = new JsonObject { ["userId"] = Admin } });
        Assert.Equal(400, status);
        GraphSession.AssertGraphError(body, "BadRequest");
    }
}
