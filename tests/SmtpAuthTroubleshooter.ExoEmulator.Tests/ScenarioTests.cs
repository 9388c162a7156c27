using System;
using System.Linq;
using System.Threading.Tasks;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

public sealed class ScenarioTests
{
    [Fact]
    public void The_demo_tenant_has_an_account_for_every_case()
    {
        var s = Harness.Demo;
        var t = s.Tenant;
        ScenarioAccount A(string upn) => s.FindByUserPrincipalName(upn) ?? throw new InvalidOperationException(upn);

        Assert.True(t.SmtpClientAuthenticationDisabled);
        Assert.False(A("healthy.basic@contoso.com").SmtpClientAuthenticationDisabled);
        Assert.False(A("smtp.override@contoso.com").SmtpClientAuthenticationDisabled);
        Assert.Null(A("tenant.inherit@contoso.com").SmtpClientAuthenticationDisabled);
        Assert.True(A("mailbox.disabled@contoso.com").SmtpClientAuthenticationDisabled);
        Assert.False(t.FindAuthenticationPolicy(A("policy.blocked@contoso.com").AuthenticationPolicy)!.AllowBasicAuthSmtp);
        Assert.NotNull(A("wrong.password@contoso.com").Password);
        Assert.Contains(t.ConditionalAccessPolicies, p => p.Grant == ConditionalAccessGrant.Block && p.IncludeUsers.Contains(A("ca.blocked@contoso.com").ObjectId));
        Assert.Equal(PerUserMfaState.Enforced, A("mfa.user@contoso.com").PerUserMfaState);
        Assert.Contains(t.ConditionalAccessPolicies, p => p.Grant == ConditionalAccessGrant.Mfa && p.IncludeUsers.Contains(A("ca.mfa@contoso.com").ObjectId));
        Assert.True(A("locked@contoso.com").Locked);
        Assert.False(A("disabled.account@contoso.com").AccountEnabled);
        Assert.True(A("expired@contoso.com").PasswordExpired);
        Assert.True(A("retired@contoso.com").BasicAuthRetired);
        Assert.Equal(RecipientTypeDetails.SharedMailbox, A("info@contoso.com").RecipientTypeDetails);
        Assert.Empty(A("sendas.denied@contoso.com").SendAs);
        Assert.Contains(Harness.MailerApp, A("notifications@contoso.com").FullAccessApps);
        Assert.Equal(t.FindApplication(Harness.MailerApp)!.ServicePrincipalObjectId, t.FindApplication(Harness.MailerApp)!.ExoServicePrincipalObjectId);
        Assert.Null(t.FindApplication(Harness.UnregisteredApp)!.ExoServicePrincipalObjectId);
        Assert.Equal(t.FindApplication(Harness.WrongObjectIdApp)!.AppRegistrationObjectId, t.FindApplication(Harness.WrongObjectIdApp)!.ExoServicePrincipalObjectId);
        Assert.True(Harness.SecurityDefaults.Tenant.SecurityDefaultsEnabled);
    }

    [Fact]
    public void Round_trips_through_json()
    {
        var again = TenantScenario.Parse(Harness.Demo.ToJson());

        Assert.Equal(Harness.Demo.Accounts.Count, again.Accounts.Count);
        Assert.Equal(Harness.Demo.Tenant with { AuthenticationPolicies = [], ConditionalAccessPolicies = [], Applications = [], AcceptedDomains = null }, again.Tenant with { AuthenticationPolicies = [], ConditionalAccessPolicies = [], Applications = [], AcceptedDomains = null });
        Assert.Equal(Harness.Demo.Tenant.EffectiveAcceptedDomains(), again.Tenant.EffectiveAcceptedDomains());
        Assert.Equal(
            Harness.Demo.Accounts.SelectMany(a => a.SmtpClients ?? []).Select(c => (c.IpAddress, c.PerDay, c.Days, c.ErrorCode, c.Interactive, c.Authentication, c.FailFrom, c.Location)),
            again.Accounts.SelectMany(a => a.SmtpClients ?? []).Select(c => (c.IpAddress, c.PerDay, c.Days, c.ErrorCode, c.Interactive, c.Authentication, c.FailFrom, c.Location)));
        Assert.Equal(Harness.Demo.Accounts.Select(a => (a.UserPrincipalName, a.SmtpClientAuthenticationDisabled, a.PerUserMfaState, a.RecipientTypeDetails)), again.Accounts.Select(a => (a.UserPrincipalName, a.SmtpClientAuthenticationDisabled, a.PerUserMfaState, a.RecipientTypeDetails)));
        Assert.Contains("\"state\": \"enabledForReportingButNotEnforced\"", Harness.Demo.ToJson(), StringComparison.Ordinal);
        Assert.Contains("\"recipientTypeDetails\": \"SharedMailbox\"", Harness.Demo.ToJson(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"authenticationPolicy\": \"Nope\"", "authenticationPolicy 'Nope' is not in tenant.authenticationPolicies")]
    [InlineData("\"aliases\": [\"info@contoso.com\"]", "address 'info@contoso.com' already belongs to 'info@contoso.com'")]
    [InlineData("\"fullAccessApps\": [\"b9999999-0000-4000-8000-000000000000\"]", "which is not in tenant.applications")]
    [InlineData("\"smtpClientAuthenticationDisabeld\": true", "smtpClientAuthenticationDisabeld")]
    [InlineData("\"perUserMfaState\": \"sometimes\"", "not valid")]
    public void Invalid_scenarios_are_refused_with_the_reason(string accountProperty, string expected)
    {
        string json = $$"""
            {
              "tenant": { "name": "T", "domain": "t.example", "tenantId": "11111111-1111-4111-8111-111111111111",
                          "authenticationPolicies": [ { "name": "Block", "allowBasicAuthSmtp": false } ] },
              "accounts": [
                { "userPrincipalName": "info@contoso.com", "objectId": "22222222-2222-4222-8222-222222222222" },
                { "userPrincipalName": "x@contoso.com", "objectId": "33333333-3333-4333-8333-333333333333", {{accountProperty}} }
              ]
            }
            """;

        var ex = Assert.Throws<ScenarioException>(() => TenantScenario.Parse(json));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Security_defaults_and_enabled_conditional_access_cannot_coexist()
    {
        var broken = Harness.Demo with { Tenant = Harness.Demo.Tenant with { SecurityDefaultsEnabled = true } };

        var ex = Assert.Throws<ScenarioException>(() => broken.Validate());

        Assert.Contains("security defaults and enabled conditional access policies cannot coexist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_emulator_loads_a_scenario_file_and_rejects_a_missing_one()
    {
        await using (var emulator = await ExoSmtpEmulator.StartAsync(new EmulatorOptions { ScenarioPath = Harness.ScenarioPath("securitydefaults-tenant.json") }))
        {
            Assert.Equal("Fabrikam Inc", emulator.Scenario.Tenant.Name);
            Assert.NotEqual(0, emulator.Port);
        }

        await Assert.ThrowsAsync<ScenarioException>(() => ExoSmtpEmulator.StartAsync(new EmulatorOptions { ScenarioPath = "/nonexistent/scenario.json" }));
        await Assert.ThrowsAsync<ScenarioException>(() => ExoSmtpEmulator.StartAsync(new EmulatorOptions()));
    }
}
