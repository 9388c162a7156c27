using System;
using System.Linq;
using System.Net.Http;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.ExoEmulator.Graph;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>The Graph emulator's faults and identity endpoint for issue 11's Graph tests: throttle the first N units or one path, and /msi/token.</summary>
public sealed class GraphThrottleIdentityTests
{
    private const string SecurityDefaults = "v1.0/policies/identitySecurityDefaultsEnforcementPolicy";
    private static readonly int[] s_firstTwoThrottled = { 429, 429, 200, 200 };

    [Fact]
    public async Task ThrottleFirst_throttles_the_first_units_then_none()
    {
        await using var g = await GraphSession.StartAsync(configure: o => o with { Faults = new GraphFaultSettings { ThrottleFirst = 2, RetryAfter = "3" } });
        int[] statuses = new int[4];
        for (int i = 0; i < statuses.Length; i++)
        {
            (statuses[i], _, HttpResponseMessage response) = await g.GetAsync(SecurityDefaults);
            if (i < 2)
            {
                Assert.Equal("3", response.Headers.GetValues("Retry-After").Single());
            }
        }

        Assert.Equal(s_firstTwoThrottled, statuses);
        Assert.Equal(2, g.Emulator.GetStatistics().Throttled);
    }

    [Fact]
    public async Task ThrottlePathContains_throttles_that_read_for_as_long_as_it_is_set()
    {
        await using var g = await GraphSession.StartAsync(configure: o => o with { Faults = new GraphFaultSettings { ThrottlePathContains = "auditLogs/signIns" } });
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(429, (await g.GetAsync("v1.0/auditLogs/signIns")).Status);
            Assert.Equal(200, (await g.GetAsync(SecurityDefaults)).Status);
        }

        g.Emulator.Faults = new GraphFaultSettings();
        Assert.Equal(200, (await g.GetAsync("v1.0/auditLogs/signIns")).Status);
    }

    [Fact]
    public async Task The_identity_endpoint_issues_tokens_the_Graph_routes_recognise()
    {
        await using var g = await GraphSession.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fgraph.microsoft.us");
        request.Headers.Add("X-IDENTITY-HEADER", "secret");
        using HttpResponseMessage answer = await g.Client.SendAsync(request);
        Assert.Equal(200, (int)answer.StatusCode);
        JsonObject token = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("https://graph.microsoft.us", (string?)token["resource"]);
        Assert.Equal(GraphSession.Now.AddHours(1).ToUnixTimeSeconds(), long.Parse((string)token["expires_on"]!, System.Globalization.CultureInfo.InvariantCulture));

        using var graph = new HttpRequestMessage(HttpMethod.Get, SecurityDefaults);
        graph.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (string)token["access_token"]!);
        using HttpResponseMessage read = await g.Client.SendAsync(graph);
        Assert.Equal(200, (int)read.StatusCode);

        GraphStatistics stats = g.Emulator.GetStatistics();
        ManagedIdentityTokenRequest issued = Assert.Single(stats.TokenRequests);
        Assert.Equal("https://graph.microsoft.us", issued.Resource);
        Assert.True(issued.HeaderPresent);
        Assert.Equal(1, stats.ManagedIdentityBearerRequests);
        Assert.Equal(1, stats.TotalRequests);                   // the token request is not a Graph request
    }

    [Fact]
    public async Task The_identity_endpoint_refuses_without_its_header_and_for_an_unassigned_identity()
    {
        await using var g = await GraphSession.StartAsync();
        using (HttpResponseMessage noHeader = await g.Client.GetAsync("msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fgraph.microsoft.com"))
        {
            Assert.Equal(400, (int)noHeader.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fgraph.microsoft.com&client_id=00000000-0000-4000-8000-00000000bad0");
        request.Headers.Add("X-IDENTITY-HEADER", "secret");
        using HttpResponseMessage unassigned = await g.Client.SendAsync(request);
        Assert.Equal(400, (int)unassigned.StatusCode);
        Assert.Contains("not assigned", await unassigned.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
