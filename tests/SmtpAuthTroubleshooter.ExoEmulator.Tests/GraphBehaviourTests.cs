using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.ExoEmulator.Graph;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>Paging, $batch, throttling, permissions, statistics and faults: each test starts its own emulator.</summary>
public sealed class GraphBehaviourTests
{
    private static JsonObject BatchRequest(string id, string url, params string[] dependsOn)
    {
        var request = new JsonObject { ["id"] = id, ["method"] = "GET", ["url"] = url };
        if (dependsOn.Length > 0)
        {
            request["dependsOn"] = new JsonArray(dependsOn.Select(d => (JsonNode?)d).ToArray());
        }

        return request;
    }

    private static JsonObject Batch(params JsonObject[] requests) => new() { ["requests"] = new JsonArray(requests.Select(r => (JsonNode?)r).ToArray()) };

    [Fact]
    public async Task Collections_page_with_absolute_next_links_at_the_configured_size()
    {
        await using var g = await GraphSession.StartAsync(configure: o => o with { PageSize = 1 });

        var (first, firstBody, _) = await g.GetAsync("v1.0/identity/conditionalAccess/policies");
        Assert.Equal(200, first);
        string next = firstBody["@odata.nextLink"]!.GetValue<string>();
        Assert.Equal($"{g.Emulator.BaseUri}v1.0/identity/conditionalAccess/policies?$skiptoken=", next[..next.IndexOf("$skiptoken=", StringComparison.Ordinal)] + "$skiptoken=");
        Assert.Equal(["@odata.context", "@odata.nextLink", "value"], GraphSession.Keys(firstBody));

        var (policies, pages) = await g.GetAllAsync("v1.0/identity/conditionalAccess/policies");
        Assert.Equal(Harness.Demo.Tenant.ConditionalAccessPolicies.Select(p => p.Id), policies.Select(p => p["id"]!.GetValue<string>()));
        Assert.Equal(3, pages);

        var (users, _) = await g.GetAllAsync("v1.0/users?$select=id&$filter=startswith(userPrincipalName,'ca.')");
        Assert.Equal(2, users.Count);
    }

    // The sign-in log writes its pages straight to bytes (GraphResponse.RawBody, not a JSON DOM): inside a $batch such a
    // page is still an inner body, the same JSON the direct request returns.
    [Fact]
    public async Task A_sign_in_page_inside_a_batch_is_the_same_json_as_the_direct_page()
    {
        await using var g = await GraphSession.StartAsync();
        const string url = "/auditLogs/signIns?$filter=clientAppUsed%20eq%20'Authenticated%20SMTP'&$top=3";

        var (direct, directBody, _) = await g.GetAsync("v1.0" + url);
        var (status, body, _) = await g.PostAsync("v1.0/$batch", Batch(BatchRequest("1", url)));

        Assert.Equal(200, direct);
        Assert.Equal(200, status);
        JsonObject inner = body["responses"]![0]!.AsObject();
        Assert.Equal(200, inner["status"]!.GetValue<int>());
        Assert.Equal("4.0", inner["headers"]!["OData-Version"]!.GetValue<string>());
        Assert.Equal(3, directBody["value"]!.AsArray().Count);
        Assert.True(JsonNode.DeepEquals(directBody["value"], inner["body"]!["value"]), inner["body"]!.ToJsonString());
    }

    [Fact]
    public async Task Batch_answers_each_request_with_status_headers_and_body()
    {
        await using var g = await GraphSession.StartAsync();

        var (status, body, _) = await g.PostAsync("v1.0/$batch", Batch(
            BatchRequest("1", "/domains/contoso.com"),
            BatchRequest("2", "/users/nobody@contoso.com"),
            BatchRequest("3", "users/ca.blocked@contoso.com?$select=id,accountEnabled"),
            BatchRequest("4", "/users/nobody@contoso.com", "2"),
            BatchRequest("5", "/beta/users/mfa.user@contoso.com/authentication/requirements")));

        Assert.Equal(200, status);
        var responses = body["responses"]!.AsArray().Select(r => r!.AsObject()).ToDictionary(r => r["id"]!.GetValue<string>());
        Assert.Equal(["id", "status", "headers", "body"], GraphSession.Keys(responses["1"]));
        Assert.Equal(200, responses["1"]["status"]!.GetValue<int>());
        Assert.StartsWith("application/json", responses["1"]["headers"]!["Content-Type"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Managed", responses["1"]["body"]!["authenticationType"]!.GetValue<string>());
        Assert.Equal(404, responses["2"]["status"]!.GetValue<int>());
        GraphSession.AssertGraphError(responses["2"]["body"]!.AsObject(), "Request_ResourceNotFound");
        Assert.True(responses["3"]["body"]!["accountEnabled"]!.GetValue<bool>());
        Assert.Equal(424, responses["4"]["status"]!.GetValue<int>());
        Assert.Equal(400, responses["5"]["status"]!.GetValue<int>());   // /v1.0/$batch urls are v1.0 urls: no /beta inside

        (status, body, _) = await g.PostAsync("beta/$batch", Batch(BatchRequest("a", "/users/mfa.user@contoso.com/authentication/requirements")));
        Assert.Equal(200, status);
        Assert.Equal("enforced", body["responses"]![0]!["body"]!["perUserMfaState"]!.GetValue<string>());

        var stats = g.Emulator.GetStatistics();
        Assert.Equal(2, stats.TotalRequests);
        Assert.Equal(5, stats.BatchInnerRequests);   // the one whose dependency failed is never run
        Assert.Equal(1, stats.RouteCount("POST /v1.0/$batch"));
        Assert.Equal(2, stats.BatchRouteCount("GET /v1.0/users/{id}"));
        Assert.Equal(1, stats.BatchRouteCount("GET /beta/users/{id}/authentication/requirements"));
    }

    [Fact]
    public async Task Batch_limits_and_id_rules_are_enforced()
    {
        await using var g = await GraphSession.StartAsync(configure: o => o with { BatchReverse = true });

        var (status, body, _) = await g.PostAsync("v1.0/$batch", Batch(Enumerable.Range(1, 21).Select(i => BatchRequest(i.ToString(System.Globalization.CultureInfo.InvariantCulture), "/domains/contoso.com")).ToArray()));
        Assert.Equal(400, status);
        GraphSession.AssertGraphError(body, "BadRequest");

        (status, _, _) = await g.PostAsync("v1.0/$batch", Batch(BatchRequest("1", "/domains/contoso.com"), BatchRequest("1", "/domains/contoso.com")));
        Assert.Equal(400, status);

        (status, body, _) = await g.PostAsync("v1.0/$batch", Batch(BatchRequest("1", "/domains/contoso.com"), BatchRequest("2", "/domains/contoso.com")));
        Assert.Equal(200, status);
        Assert.Equal(["2", "1"], body["responses"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));   // any order: correlate by id
    }

    [Fact]
    public async Task Every_nth_unit_is_throttled_with_a_fractional_retry_after_including_inner_batch_requests()
    {
        await using var g = await GraphSession.StartAsync(configure: o => o with { Faults = new GraphFaultSettings { ThrottleEvery = 3, RetryAfter = "0.2" } });

        Assert.Equal(200, (await g.GetAsync("v1.0/domains/contoso.com")).Status);
        Assert.Equal(200, (await g.GetAsync("v1.0/domains/contoso.com")).Status);
        var (status, body, response) = await g.GetAsync("v1.0/domains/contoso.com");
        Assert.Equal(429, status);
        Assert.Equal("0.2", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal("TooManyRequests", body["error"]!["code"]!.GetValue<string>());
        Assert.Equal("Please retry again later.", body["error"]!["message"]!.GetValue<string>());
        Assert.Equal("429", body["error"]!["innerError"]!["status"]!.GetValue<string>());

        // Units 4, 5, 6 are the inner requests: the third is throttled inside the batch.
        (status, body, _) = await g.PostAsync("v1.0/$batch", Batch(BatchRequest("a", "/domains/contoso.com"), BatchRequest("b", "/domains/contoso.com"), BatchRequest("c", "/domains/contoso.com")));
        Assert.Equal(200, status);
        var c = body["responses"]!.AsArray().Single(r => r!["id"]!.GetValue<string>() == "c")!;
        Assert.Equal(429, c["status"]!.GetValue<int>());
        Assert.Equal("0.2", c["headers"]!["Retry-After"]!.GetValue<string>());
        Assert.Equal(2, g.Emulator.GetStatistics().Throttled);

        g.Emulator.Faults = new GraphFaultSettings { ThrottleEvery = 1, RetryAfter = null, ThrottleStatus = 503 };
        (status, body, response) = await g.GetAsync("v1.0/domains/contoso.com");
        Assert.Equal(503, status);
        Assert.False(response.Headers.Contains("Retry-After"));
        Assert.Equal("ServiceUnavailable", body["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Requests_without_a_bearer_token_get_401_but_control_endpoints_do_not()
    {
        await using var g = await GraphSession.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = g.Emulator.BaseUri };

        var response = await anonymous.GetAsync("v1.0/domains/contoso.com", Harness.Token());
        Assert.Equal(401, (int)response.StatusCode);
        GraphSession.AssertGraphError(await GraphSession.ReadAsync(response), "InvalidAuthenticationToken");

        response = await anonymous.GetAsync("_emulator/stats", Harness.Token());
        Assert.Equal(200, (int)response.StatusCode);
        var stats = await GraphSession.ReadAsync(response);
        Assert.Equal(1, stats["totalRequests"]!.GetValue<long>());
        Assert.Equal(1, stats["routes"]!["GET /v1.0/domains/{id}"]!.GetValue<long>());
    }

    [Fact]
    public async Task Missing_permissions_and_a_non_premium_tenant_answer_403()
    {
        var tenant = Harness.Demo.Tenant with { Graph = new GraphSettings { PermissionsMissing = ["Policy.Read.All", "AuditLog.Read.All"], Premium = false } };
        await using var g = await GraphSession.StartAsync(Harness.Demo with { Tenant = tenant });

        foreach (string url in new[] { "v1.0/identity/conditionalAccess/policies", "v1.0/policies/identitySecurityDefaultsEnforcementPolicy", "v1.0/auditLogs/signIns" })
        {
            var (status, body, _) = await g.GetAsync(url);
            Assert.Equal(403, status);
            GraphSession.AssertGraphError(body, "Authorization_RequestDenied");
            Assert.Equal("Insufficient privileges to complete the operation.", body["error"]!["message"]!.GetValue<string>());
        }

        Assert.Equal(200, (await g.GetAsync("v1.0/users/ca.blocked@contoso.com")).Status);

        g.Emulator.Scenario = Harness.Demo with { Tenant = Harness.Demo.Tenant with { Graph = new GraphSettings { Premium = false } } };
        var (signInStatus, signInBody, _) = await g.GetAsync("v1.0/auditLogs/signIns?$filter=userPrincipalName eq 'ca.blocked@contoso.com'");
        Assert.Equal(403, signInStatus);
        GraphSession.AssertGraphError(signInBody, "Authentication_RequestFromNonPremiumTenantOrB2CTenant");
        var evaluate = new JsonObject
        {
            ["signInIdentity"] = new JsonObject { ["userId"] = "a0000000-0000-4000-8000-000000000007" },
            ["signInContext"] = new JsonObject { ["includeApplications"] = new JsonArray("00000002-0000-0ff1-ce00-000000000000") },
            ["signInConditions"] = new JsonObject { ["clientAppType"] = "other" },
        };
        Assert.Equal(403, (await g.PostAsync("v1.0/identity/conditionalAccess/evaluate", evaluate)).Status);
    }

    [Fact]
    public async Task Permissions_follow_Microsofts_pages_either_of_two_suffices_and_unreadable_members_come_back_limited()
    {
        // https://learn.microsoft.com/graph/api/user-list-transitivememberof (User.Read.All, or a higher one) and the
        // limited-information rule of https://learn.microsoft.com/graph/permissions-overview: a directory role the caller
        // may not read is listed with its @odata.type and id, everything else null; no 403.
        var dir = GraphSession.Directory;
        var tenant = dir.Tenant with { Graph = new GraphSettings { PermissionsMissing = ["GroupMember.Read.All", "RoleManagement.Read.Directory", "Directory.Read.All", "Policy.Read.All"] } };
        await using var g = await GraphSession.StartAsync(dir with { Tenant = tenant });

        var (status, body, _) = await g.GetAsync("v1.0/users/admin@northwindtraders.com/transitiveMemberOf");
        Assert.Equal(200, status);
        var roles = body["value"]!.AsArray().Select(v => v!.AsObject()).ToList();
        Assert.NotEmpty(roles);
        Assert.All(roles, r =>
        {
            Assert.Equal("#microsoft.graph.directoryRole", r["@odata.type"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(r["id"]!.GetValue<string>()));
            Assert.True(r.ContainsKey("roleTemplateId"));
            Assert.Null(r["roleTemplateId"]);
            Assert.Null(r["displayName"]);
        });

        // Per-user MFA is read with Policy.Read.All (authentication-get, beta): refused here.
        Assert.Equal(403, (await g.GetAsync("beta/users/admin@northwindtraders.com/authentication/requirements")).Status);

        // What If takes Policy.Read.ConditionalAccess or Policy.Read.All (conditionalaccessroot-evaluate): one is enough.
        var evaluate = new JsonObject
        {
            ["signInIdentity"] = new JsonObject { ["@odata.type"] = "#microsoft.graph.userSignIn", ["userId"] = "e0000000-0000-4000-8000-000000000001" },
            ["signInContext"] = new JsonObject { ["@odata.type"] = "#microsoft.graph.applicationContext", ["includeApplications"] = new JsonArray("00000002-0000-0ff1-ce00-000000000000") },
            ["signInConditions"] = new JsonObject { ["clientAppType"] = "other" },
        };
        Assert.Equal(200, (await g.PostAsync("v1.0/identity/conditionalAccess/evaluate", evaluate)).Status);

        g.Emulator.Scenario = dir with { Tenant = dir.Tenant with { Graph = new GraphSettings { PermissionsMissing = ["User.Read.All", "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"] } } };
        Assert.Equal(403, (await g.GetAsync("v1.0/users/admin@northwindtraders.com/transitiveMemberOf")).Status);
    }

    [Theory]
    [InlineData("v1.0", "clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge 2026-11-01T00:00:00Z and (userPrincipalName eq 'a@contoso.com' or userPrincipalName eq 'b@contoso.com')", 200)]
    [InlineData("beta", "createdDateTime ge 2026-11-01T00:00:00Z and clientAppUsed eq 'Authenticated SMTP' and (signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser'))", 200)]
    [InlineData("v1.0", "startswith(userPrincipalName,'ca.') and status/errorCode eq 53003", 200)]
    [InlineData("v1.0", "createdDateTime gt 2026-11-01T00:00:00Z", 400)]
    [InlineData("v1.0", "createdDateTime lt 2026-11-01T00:00:00Z", 400)]
    [InlineData("v1.0", "clientAppUsed ne 'Browser'", 400)]
    [InlineData("v1.0", "startswith(clientAppUsed,'Auth')", 400)]
    [InlineData("v1.0", "contains(userPrincipalName,'ca')", 400)]
    [InlineData("v1.0", "userPrincipalName in ('a@contoso.com')", 400)]
    [InlineData("v1.0", "isInteractive eq true", 400)]
    public async Task Sign_in_filters_take_only_the_operators_Microsoft_lists_per_property(string version, string filter, int expected)
    {
        // https://learn.microsoft.com/graph/api/resources/signin: clientAppUsed "Supports $filter (eq)", createdDateTime
        // "(eq, le, and ge)", userPrincipalName "(eq, startsWith)", signInEventTypes "(eq, ne)", status "(eq) on errorCode".
        await using var g = await GraphSession.StartAsync();
        var (status, body, _) = await g.GetAsync($"{version}/auditLogs/signIns?$filter={Uri.EscapeDataString(filter)}&$top=5");
        Assert.Equal(expected, status);
        if (expected == 400)
        {
            GraphSession.AssertGraphError(body, "BadRequest");
        }
    }

    [Fact]
    public async Task Statistics_count_routes_and_reset_zeroes_them()
    {
        await using var g = await GraphSession.StartAsync();
        await g.GetAsync("v1.0/users/ca.blocked@contoso.com");
        await g.GetAsync("v1.0/users/healthy.basic@contoso.com/transitiveMemberOf");
        await g.GetAsync("v1.0/nothing");

        var (_, stats, _) = await g.GetAsync("_emulator/stats");
        Assert.Equal(3, stats["totalRequests"]!.GetValue<long>());
        Assert.Equal(0, stats["batchInnerRequests"]!.GetValue<long>());
        Assert.Equal(1, stats["routes"]!["GET /v1.0/users/{id}"]!.GetValue<long>());
        Assert.Equal(1, stats["routes"]!["GET /v1.0/users/{id}/transitiveMemberOf"]!.GetValue<long>());
        Assert.Equal(1, stats["routes"]!["unmatched"]!.GetValue<long>());

        var (resetStatus, _, _) = await g.PostAsync("_emulator/reset", new JsonObject());
        Assert.Equal(200, resetStatus);
        Assert.Equal(0, g.Emulator.GetStatistics().TotalRequests);
        Assert.Empty(g.Emulator.GetStatistics().Routes);
    }

    [Fact]
    public async Task Next_link_faults_break_paging_in_three_ways()
    {
        await using var g = await GraphSession.StartAsync(configure: o => o with { PageSize = 1, Faults = new GraphFaultSettings { NextLink = NextLinkFault.BadToken } });

        string next = (await g.GetAsync("v1.0/identity/conditionalAccess/policies")).Body["@odata.nextLink"]!.GetValue<string>();
        var (status, body, _) = await g.GetAsync(next);
        Assert.Equal(400, status);
        GraphSession.AssertGraphError(body, "BadRequest");

        var (_, faults, _) = await g.PostAsync("_emulator/faults", new JsonObject { ["nextLink"] = "loop" });
        Assert.Equal("loop", faults["nextLink"]!.GetValue<string>());
        var page1 = (await g.GetAsync("v1.0/identity/conditionalAccess/policies")).Body;
        var page2 = (await g.GetAsync(page1["@odata.nextLink"]!.GetValue<string>())).Body;
        Assert.Equal(page1["value"]!.ToJsonString(), page2["value"]!.ToJsonString());
        Assert.Equal(page1["@odata.nextLink"]!.GetValue<string>(), page2["@odata.nextLink"]!.GetValue<string>());

        g.Emulator.Faults = new GraphFaultSettings { NextLink = NextLinkFault.Unreachable };
        next = (await g.GetAsync("v1.0/identity/conditionalAccess/policies")).Body["@odata.nextLink"]!.GetValue<string>();
        Assert.StartsWith("http://127.0.0.1:1/v1.0/", next, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HttpRequestException>(() => g.Client.GetAsync(next, Harness.Token()));
    }

    [Fact]
    public async Task Malformed_hang_and_kill_faults()
    {
        await using var g = await GraphSession.StartAsync(configure: o => o with { Faults = new GraphFaultSettings { MalformedAt = 1, HangPathContains = "/domains/hang.example", KillAt = 4 } });

        var response = await g.Client.GetAsync("v1.0/domains/contoso.com", Harness.Token());
        Assert.Equal(200, (int)response.StatusCode);
        string text = await response.Content.ReadAsStringAsync();
        Assert.ThrowsAny<JsonException>(() => JsonNode.Parse(text));

        using (var impatient = new HttpClient { BaseAddress = g.Emulator.BaseUri, Timeout = TimeSpan.FromMilliseconds(300) })
        {
            impatient.DefaultRequestHeaders.Authorization = new("Bearer", "x");
            await Assert.ThrowsAsync<TaskCanceledException>(() => impatient.GetAsync("v1.0/domains/hang.example"));
        }

        Assert.Equal(200, (await g.GetAsync("v1.0/domains/contoso.com")).Status);
        await Assert.ThrowsAsync<HttpRequestException>(() => g.Client.GetAsync("v1.0/domains/contoso.com", Harness.Token()));   // the 4th: killed
        Assert.False(g.Emulator.IsServing);
        using var probe = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync("127.0.0.1", g.Emulator.Port));
    }

    [Fact]
    public async Task Delay_slows_every_outer_request()
    {
        await using var g = await GraphSession.StartAsync(configure: o => o with { Faults = new GraphFaultSettings { Delay = TimeSpan.FromMilliseconds(150) } });
        var watch = Stopwatch.StartNew();

        Assert.Equal(200, (await g.GetAsync("v1.0/domains/contoso.com")).Status);

        Assert.True(watch.ElapsedMilliseconds >= 140, $"{watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Console_graph_verb_prints_its_url_serves_and_stops_when_stdin_closes()
    {
        using var process = ExternalProcess.StartEmulator(["graph", "--scenario", Harness.ScenarioPath("demo-tenant.json"), "--port", "0", "--page-size", "2", "--throttle-every", "2", "--retry-after", "0.5"]);
        string? line = await process.StandardOutput.ReadLineAsync(Harness.Token());
        Assert.NotNull(line);
        Assert.Matches(@"^LISTENING http://127\.0\.0\.1:\d{1,5}/$", line);
        using var client = new HttpClient { BaseAddress = new Uri(line["LISTENING ".Length..]) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", "x");

        var first = await client.GetAsync("v1.0/identity/conditionalAccess/policies", Harness.Token());
        var second = await client.GetAsync("v1.0/identity/conditionalAccess/policies", Harness.Token());

        Assert.Equal(200, (int)first.StatusCode);
        Assert.NotNull((await GraphSession.ReadAsync(first))["@odata.nextLink"]);
        Assert.Equal(429, (int)second.StatusCode);
        Assert.Equal("0.5", second.Headers.GetValues("Retry-After").Single());
        await ExternalProcess.StopAsync(process);
    }

    [Fact]
    public async Task Console_scenario_verb_writes_a_valid_10000_mailbox_tenant_quickly_and_deterministically()
    {
        string path = ExternalProcess.TempFile("scale.json");
        string again = ExternalProcess.TempFile("scale-again.json");
        try
        {
            var watch = Stopwatch.StartNew();
            var (exit, _, err) = await ExternalProcess.RunEmulatorAsync("scenario", "--count", "10000", "--out", path, "--seed", "7");
            long elapsed = watch.ElapsedMilliseconds;
            Assert.True(exit == 0, err);
            Assert.True(elapsed < 5000, $"{elapsed} ms");

            var scenario = TenantScenario.Load(path);
            Assert.Equal(10000, scenario.Accounts.Count);
            Assert.All(scenario.Accounts, a => Assert.Equal(RecipientTypeDetails.UserMailbox, a.RecipientTypeDetails));   // N user mailboxes
            int explicitSetting = scenario.Accounts.Count(a => a.SmtpClientAuthenticationDisabled is not null);
            Assert.InRange(explicitSetting, 700, 1300);   // ~10% true/false, the rest null
            Assert.Contains(scenario.Accounts, a => a.SmtpClientAuthenticationDisabled == true);
            Assert.Contains(scenario.Accounts, a => a.SmtpClientAuthenticationDisabled == false);
            Assert.True(scenario.Tenant.AuthenticationPolicies.Count >= 2);
            var block = scenario.Tenant.ConditionalAccessPolicies.Single(p => p.Grant == ConditionalAccessGrant.Block);
            var excluded = scenario.Tenant.EffectiveGroups().Single(g => g.Id == Assert.Single(block.ExcludeGroups));
            Assert.NotEmpty(excluded.Members);
            Assert.Contains(scenario.Accounts, a => a.SignIns is { Count: > 0 });

            (exit, _, err) = await ExternalProcess.RunEmulatorAsync("scenario", "--count", "10000", "--out", again, "--seed", "7");
            Assert.True(exit == 0, err);
            Assert.Equal(File.ReadAllText(path), File.ReadAllText(again));
        }
        finally
        {
            File.Delete(path);
            File.Delete(again);
        }
    }
}
