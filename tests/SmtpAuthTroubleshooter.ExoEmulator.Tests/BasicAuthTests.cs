using System.Linq;
using System.Threading.Tasks;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>AUTH LOGIN against the demo tenant: one case per cause, exact reply texts.</summary>
public sealed class BasicAuthTests
{
    private const string Credentials = "5.7.139 Authentication unsuccessful, the user credentials were incorrect.";
    private const string TenantOff = "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.";
    private const string MailboxOff = "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information.";
    private const string BasicOff = "5.7.139 Authentication unsuccessful, basic authentication is disabled.";
    private const string SecurityDefaults = "5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.";
    private const string Criteria = "5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.";
    private const string Locked = "5.7.139 Authentication unsuccessful, account locked.";
    private const string AccountIssue = "5.7.139 Authentication unsuccessful, account has an issue. Contact your administrator.";

    [Theory]
    [InlineData("healthy.basic@contoso.com")]
    [InlineData("smtp.override@contoso.com")]
    public async Task Enabled_accounts_authenticate(string upn)
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await client.LoginAsync(upn, Harness.PasswordOf(upn));

        Assert.Equal("235 2.7.0 Authentication successful", client.LastReply);
        Assert.True(client.IsAuthenticated);
        var authEvent = Assert.Single(emulator.AuthEvents);
        Assert.Equal((AuthOutcome.Success, "LOGIN", upn), (authEvent.Outcome, authEvent.Mechanism, authEvent.UserName));
    }

    [Theory]
    [InlineData("tenant.inherit@contoso.com", null, 535, TenantOff, AuthOutcome.SmtpAuthDisabledForTenant)]
    [InlineData("mailbox.disabled@contoso.com", null, 535, MailboxOff, AuthOutcome.SmtpAuthDisabledForMailbox)]
    [InlineData("policy.blocked@contoso.com", null, 535, BasicOff, AuthOutcome.BasicAuthBlockedByPolicy)]
    [InlineData("wrong.password@contoso.com", "Demo-Old-Password-6!", 535, Credentials, AuthOutcome.WrongPassword)]
    [InlineData("nobody@contoso.com", "whatever", 535, Credentials, AuthOutcome.UnknownUser)]
    [InlineData("hb@contoso.com", "Demo-Healthy-1!", 535, Credentials, AuthOutcome.UnknownUser)]
    [InlineData("ca.blocked@contoso.com", null, 535, Criteria, AuthOutcome.ConditionalAccessBlocked)]
    [InlineData("mfa.user@contoso.com", null, 535, Criteria, AuthOutcome.MfaRequired)]
    [InlineData("ca.mfa@contoso.com", null, 535, Criteria, AuthOutcome.MfaRequired)]
    [InlineData("locked@contoso.com", null, 535, Locked, AuthOutcome.AccountLocked)]
    [InlineData("disabled.account@contoso.com", null, 535, AccountIssue, AuthOutcome.AccountDisabled)]
    [InlineData("expired@contoso.com", null, 535, AccountIssue, AuthOutcome.PasswordExpired)]
    [InlineData("retired@contoso.com", null, 550, "5.7.30 Basic authentication is not supported for Client Submission.", AuthOutcome.BasicAuthRetired)]
    [InlineData("info@contoso.com", null, 535, "5.7.3 Authentication unsuccessful", AuthOutcome.SharedMailboxLogin)]
    public async Task Each_cause_gets_its_exact_reply(string upn, string? password, int code, string text, AuthOutcome outcome)
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        var ex = await Assert.ThrowsAsync<AuthenticationException>(() => client.LoginAsync(upn, password ?? Harness.PasswordOf(upn)));

        Harness.AssertErrorReply(client.LastReply, code, text);
        Assert.Equal(outcome, Assert.Single(emulator.AuthEvents).Outcome);
        Assert.False(client.IsAuthenticated);

        // Reference 1.1: Authenticate(user, pass) wraps an SmtpCommandException carrying the status code.
        var inner = Assert.IsType<SmtpCommandException>(ex.InnerException);
        Assert.Equal(code, (int)inner.StatusCode);
        Assert.StartsWith(text, inner.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public async Task Security_defaults_refuse_basic_auth()
    {
        await using var emulator = await Harness.StartAsync(Harness.SecurityDefaults);
        using var client = await Harness.ConnectAsync(emulator);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.LoginAsync("scanner@fabrikam.com", "Demo-Scanner-1!"));

        Harness.AssertErrorReply(client.LastReply, 535, SecurityDefaults);
    }

    [Fact]
    public async Task An_app_password_satisfies_per_user_mfa()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await client.LoginAsync("mfa.user@contoso.com", "qwertyuiopasdfgh");

        Assert.Equal("235 2.7.0 Authentication successful", client.LastReply);
    }

    [Fact]
    public async Task Report_only_conditional_access_does_not_block()
    {
        // The demo's "all users, report-only" legacy-auth block targets healthy.basic too.
        Assert.Contains(Harness.Demo.Tenant.ConditionalAccessPolicies, p => p.State == ConditionalAccessPolicyState.EnabledForReportingButNotEnforced && p.IncludeUsers.Contains("All"));
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await client.LoginAsync("healthy.basic@contoso.com", Harness.PasswordOf("healthy.basic@contoso.com"));
    }

    [Fact]
    public async Task Auth_login_accepts_the_prompts_and_the_initial_response_forms()
    {
        await using var emulator = await Harness.StartAsync();
        await using var raw = await RawConnection.OpenAsync(emulator);
        await raw.CommandAsync("EHLO client.test");
        await raw.CommandAsync("STARTTLS");
        await raw.StartTlsAsync(emulator);
        await raw.CommandAsync("EHLO client.test");

        Assert.Equal("334 UGFzc3dvcmQ6", await raw.CommandAsync("AUTH LOGIN " + Harness.B64("wrong.password@contoso.com")));
        Harness.AssertErrorReply(await raw.CommandAsync(Harness.B64("nope")), 535, Credentials);
        Assert.Equal("334 VXNlcm5hbWU6", await raw.CommandAsync("auth login"));
        Assert.Equal("334 UGFzc3dvcmQ6", await raw.CommandAsync(Harness.B64("healthy.basic@contoso.com")));
        Assert.Equal("235 2.7.0 Authentication successful", await raw.CommandAsync(Harness.B64("Demo-Healthy-1!")));
        Harness.AssertErrorReply(await raw.CommandAsync("AUTH LOGIN"), 503, "5.5.1 Already authenticated");
    }

    [Fact]
    public async Task Auth_login_cancel_and_bad_base64_are_501()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await client.RawAsync("AUTH LOGIN");
        await client.RawAsync("*");
        Harness.AssertErrorReply(client.LastReply, 501, "5.0.0 Authentication cancelled");
        await client.RawAsync("AUTH LOGIN !!notbase64!!");
        Harness.AssertErrorReply(client.LastReply, 501, "5.5.2 Cannot Base64-decode Client responses");
        Assert.Equal([AuthOutcome.Cancelled, AuthOutcome.MalformedResponse], emulator.AuthEvents.Select(e => e.Outcome));
    }

    [Theory]
    // Exchange's gates come before the password: a wrong password still meets them (S19: blocked "before the request reaches" Entra).
    [InlineData("tenant.inherit@contoso.com", AuthOutcome.SmtpAuthDisabledForTenant, AuthOutcome.WrongPassword)]
    [InlineData("policy.blocked@contoso.com", AuthOutcome.BasicAuthBlockedByPolicy, AuthOutcome.WrongPassword)]
    [InlineData("retired@contoso.com", AuthOutcome.BasicAuthRetired, AuthOutcome.WrongPassword)]
    // Smart lockout refuses any password.
    [InlineData("locked@contoso.com", AuthOutcome.AccountLocked, AuthOutcome.WrongPassword)]
    // Entra policies only run after the password was verified.
    [InlineData("ca.blocked@contoso.com", AuthOutcome.WrongPassword, AuthOutcome.WrongPassword)]
    [InlineData("disabled.account@contoso.com", AuthOutcome.WrongPassword, AuthOutcome.WrongPassword)]
    public void Precedence_with_a_wrong_password(string upn, AuthOutcome exchangeFirst, AuthOutcome credentialsFirst)
    {
        Assert.Equal(exchangeFirst, BasicAuthEvaluator.Evaluate(Harness.Demo, upn, "not-the-password").Outcome);
        Assert.Equal(credentialsFirst, BasicAuthEvaluator.Evaluate(Harness.Demo, upn, "not-the-password", BasicAuthCheckOrders.CredentialsFirst).Outcome);
    }

    [Fact]
    public async Task The_check_order_is_an_option()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { BasicAuthCheckOrder = BasicAuthCheckOrders.CredentialsFirst });
        using var client = await Harness.ConnectAsync(emulator);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.LoginAsync("tenant.inherit@contoso.com", "not-the-password"));

        Harness.AssertErrorReply(client.LastReply, 535, Credentials);
    }

    [Fact]
    public async Task Changing_the_scenario_takes_effect_on_the_next_auth()
    {
        await using var emulator = await Harness.StartAsync();
        emulator.Scenario = Harness.Demo with { Tenant = Harness.Demo.Tenant with { SmtpClientAuthenticationDisabled = false } };
        using var client = await Harness.ConnectAsync(emulator);

        await client.LoginAsync("tenant.inherit@contoso.com", Harness.PasswordOf("tenant.inherit@contoso.com"));
    }

    [Fact]
    public async Task Passwords_never_reach_the_protocol_log()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);
        await client.LoginAsync("healthy.basic@contoso.com", "Demo-Healthy-1!");

        string log = string.Join("\n", emulator.ProtocolLog.Select(e => e.ToString()));
        Assert.DoesNotContain("Demo-Healthy-1!", log, System.StringComparison.Ordinal);
        Assert.DoesNotContain(Harness.B64("Demo-Healthy-1!"), log, System.StringComparison.Ordinal);
        Assert.DoesNotContain(Harness.B64("healthy.basic@contoso.com"), log, System.StringComparison.Ordinal);
        Assert.Contains(emulator.ProtocolLog, e => e.Direction == ProtocolDirection.Client && e.Line.EndsWith("********", System.StringComparison.Ordinal));
    }
}
