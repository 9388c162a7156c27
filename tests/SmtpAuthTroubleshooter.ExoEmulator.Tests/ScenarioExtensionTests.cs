using System;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using MailKit.Security;
using SmtpAuthTroubleshooter.ExoEmulator.Graph;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>The schema additions (groups, roles, domains, graph, sign-ins, CA conditions), their SMTP effect and the OData filter.</summary>
public sealed class ScenarioExtensionTests
{
    private static TenantScenario Directory => GraphSession.Directory;

    [Fact]
    public void The_directory_tenant_reads_every_new_part()
    {
        var t = Directory.Tenant;

        Assert.Equal(2, t.EffectiveGroups().Count);
        Assert.Equal("Global Administrator", t.EffectiveDirectoryRoles()[0].DisplayName);
        Assert.Equal(DomainAuthenticationType.Federated, t.EffectiveDomains().Single(d => d.Id.StartsWith("legacy.", StringComparison.Ordinal)).AuthenticationType);
        Assert.True(t.EffectiveGraph().Premium);
        Assert.Equal(["9a000000-0000-4000-8000-000000000001"], t.ConditionalAccessPolicies[0].ExcludeGroups);
        Assert.Equal(["windows"], t.ConditionalAccessPolicies[2].Platforms!.IncludePlatforms);
        var guest = Directory.Accounts.Single(a => a.UserType == "Guest");
        Assert.Equal("partner@fabrikam.com", guest.EffectivePrimarySmtpAddress);
        Assert.True(Directory.FindByUserPrincipalName("printer@northwindtraders.com")!.OnPremisesSyncEnabled);
        var signIn = Directory.FindByUserPrincipalName("scanner@northwindtraders.com")!.SignIns![0];
        Assert.Equal("Authenticated SMTP", signIn.ClientAppUsed);
        Assert.Equal(5, signIn.MinutesAgo);
    }

    [Fact]
    public void Defaults_keep_old_scenarios_valid_and_round_trips_keep_the_new_parts()
    {
        var demo = Harness.Demo.Tenant;
        Assert.Null(demo.Groups);
        Assert.Equal([new ScenarioDomain { Id = "contoso.com", AuthenticationType = DomainAuthenticationType.Managed }], demo.EffectiveDomains());
        Assert.Equal(new GraphSettings().Premium, demo.EffectiveGraph().Premium);
        Assert.Empty(demo.EffectiveGraph().PermissionsMissing);
        Assert.DoesNotContain("\"groups\"", Harness.Demo.ToJson(), StringComparison.Ordinal);

        var again = TenantScenario.Parse(Directory.ToJson());
        Assert.Equal(Directory.Tenant.EffectiveGroups().Select(g => (g.Id, string.Join(',', g.Members))), again.Tenant.EffectiveGroups().Select(g => (g.Id, string.Join(',', g.Members))));
        Assert.Equal(Directory.Accounts.Sum(a => a.SignIns?.Count ?? 0), again.Accounts.Sum(a => a.SignIns?.Count ?? 0));
        Assert.Equal("legacy.northwindtraders.com", again.Tenant.EffectiveDomains()[1].Id);
    }

    [Theory]
    [InlineData("\"groups\": [ { \"id\": \"9a000000-0000-4000-8000-000000000001\", \"members\": [ \"ghost@t.example\" ] } ]", "member 'ghost@t.example' is not an account's userPrincipalName")]
    [InlineData("\"conditionalAccessPolicies\": [ { \"id\": \"p\", \"grant\": \"block\", \"excludeGroups\": [ \"9b000000-0000-4000-8000-000000000001\" ] } ]", "group '9b000000-0000-4000-8000-000000000001' is not in tenant.groups")]
    [InlineData("\"domains\": [ { \"id\": \"t.example\", \"authenticationType\": \"Cloudy\" } ]", "not valid")]
    [InlineData("\"graph\": { \"permissionsMissing\": [], \"premiumm\": false }", "premiumm")]
    [InlineData("\"directoryRoles\": [ { \"roleTemplateId\": \"not-a-guid\" } ]", "needs GUIDs")]
    public void Invalid_directory_parts_are_refused_with_the_reason(string tenantProperty, string expected)
    {
        string json = $$"""
            {
              "tenant": { "name": "T", "domain": "t.example", "tenantId": "11111111-1111-4111-8111-111111111111", {{tenantProperty}} },
              "accounts": [ { "userPrincipalName": "x@t.example", "objectId": "33333333-3333-4333-8333-333333333333" } ]
            }
            """;

        var ex = Assert.Throws<ScenarioException>(() => TenantScenario.Parse(json));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conditional_access_for_smtp_honours_groups_roles_platforms_and_locations()
    {
        var t = Directory.Tenant;
        string[] Applied(string upn) => ConditionalAccessEvaluator.PoliciesForSmtpBasicAuth(t, Directory.FindByUserPrincipalName(upn)!).Select(p => p.DisplayName!).ToArray();

        Assert.Empty(Applied("scanner@northwindtraders.com"));          // excluded by group; finance MFA is Windows-only
        Assert.Equal(["Block legacy authentication"], Applied("finance.user@northwindtraders.com"));
        Assert.Equal(["Require MFA for administrators"], Applied("admin@northwindtraders.com"));   // excluded from the block by role
        Assert.Equal(["Block legacy authentication"], Applied("partner_fabrikam.com#EXT#@northwindtraders.onmicrosoft.com"));

        var locationsOnly = t.ConditionalAccessPolicies[2] with { Platforms = null, Locations = new ConditionalAccessLocations { IncludeLocations = ["AllTrusted"] } };
        Assert.False(ConditionalAccessEvaluator.LocationApplies(locationsOnly));
        Assert.True(ConditionalAccessEvaluator.PlatformApplies(t.ConditionalAccessPolicies[2], "windows"));
        Assert.False(ConditionalAccessEvaluator.PlatformApplies(t.ConditionalAccessPolicies[2], null));
    }

    [Fact]
    public async Task The_smtp_emulator_applies_the_group_exclusion_and_the_role_based_mfa()
    {
        await using var emulator = await Harness.StartAsync(Directory);

        using (var client = await Harness.ConnectAsync(emulator))
        {
            await client.AuthenticateAsync("scanner@northwindtraders.com", "Demo-Scanner-2!", Harness.Token());
        }

        using (var client = await Harness.ConnectAsync(emulator))
        {
            await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("finance.user@northwindtraders.com", "Demo-Finance-4!", Harness.Token()));
        }

        using (var client = await Harness.ConnectAsync(emulator))
        {
            await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("admin@northwindtraders.com", "Demo-Admin-1!", Harness.Token()));
        }

        Assert.Equal([AuthOutcome.Success, AuthOutcome.ConditionalAccessBlocked, AuthOutcome.MfaRequired], emulator.AuthEvents.Select(e => e.Outcome));
    }

    [Theory]
    [InlineData("userPrincipalName eq 'A@X.COM'", true)]
    [InlineData("userPrincipalName eq 'b@x.com' or userPrincipalName eq 'a@x.com'", true)]
    [InlineData("(userPrincipalName eq 'b@x.com' or userPrincipalName eq 'a@x.com') and clientAppUsed eq 'IMAP4'", false)]
    [InlineData("clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge 2026-03-13T19:00:00Z", true)]
    [InlineData("createdDateTime lt 2026-03-13T19:00:00Z", false)]
    [InlineData("status/errorCode eq 53003", true)]
    [InlineData("not (status/errorCode eq 0)", true)]
    [InlineData("userId in ('1', '2')", true)]
    [InlineData("startswith(userPrincipalName,'a@')", true)]
    [InlineData("ipAddress eq null", true)]
    public void The_odata_filter_subset_evaluates_like_graph(string filter, bool expected)
    {
        var entity = new JsonObject
        {
            ["userPrincipalName"] = "a@x.com",
            ["userId"] = "2",
            ["clientAppUsed"] = "Authenticated SMTP",
            ["createdDateTime"] = "2026-03-13T19:15:41.6195833Z",
            ["ipAddress"] = null,
            ["status"] = new JsonObject { ["errorCode"] = 53003 },
        };

        var parsed = ODataFilter.Parse(filter, ["userPrincipalName", "userId", "clientAppUsed", "createdDateTime", "ipAddress", "status"], "microsoft.graph.signIn");

        Assert.Equal(expected, parsed.Matches(entity));
    }

    [Theory]
    [InlineData("userPrincipalName eq")]
    [InlineData("userPrincipalName like 'a'")]
    [InlineData("(userPrincipalName eq 'a'")]
    [InlineData("shoeSize eq 'a'")]
    [InlineData("userPrincipalName eq 'unterminated")]
    public void Bad_filters_throw(string filter) =>
        Assert.Throws<ODataFilterException>(() => ODataFilter.Parse(filter, ["userPrincipalName"], "microsoft.graph.user"));

    [Fact]
    public void The_generator_is_valid_at_small_sizes_too()
    {
        var one = ScaleScenarioGenerator.Generate(1);
        Assert.Single(one.Accounts);
        var many = ScaleScenarioGenerator.Generate(500, seed: 3);
        Assert.Equal(500, many.Accounts.Select(a => a.ObjectId).Distinct().Count());
        Assert.Throws<ArgumentOutOfRangeException>(() => ScaleScenarioGenerator.Generate(0));
    }
}
