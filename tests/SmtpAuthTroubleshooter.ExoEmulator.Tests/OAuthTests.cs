using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>AUTH XOAUTH2: token validation, app-only and delegated rules, and what does not apply to OAuth.</summary>
public sealed class OAuthTests
{
    private const string Unsuccessful = "5.7.3 Authentication unsuccessful";

    [Fact]
    public async Task App_only_token_with_everything_in_place_authenticates_and_sends()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await client.OAuthAsync("notifications@contoso.com", emulator.TokenIssuer.IssueAppOnly(emulator.Scenario, Harness.MailerApp));
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("notifications@contoso.com"));
        message.To.Add(MailboxAddress.Parse("customer@example.com"));
        message.Subject = "Your invoice";
        message.Body = new TextPart("plain") { Text = "Attached." };
        string response = await client.SendAsync(message, Harness.Token());

        Assert.Contains("235 2.7.0 Authentication successful", client.Replies);
        Assert.Matches(@"^2\.0\.0 OK <[0-9a-f]{32}@YT3PR01CA0020\.CANPRD01\.PROD\.OUTLOOK\.COM> \[Hostname=YT3PR01CA0020\.CANPRD01\.PROD\.OUTLOOK\.COM\]$", response);
        var stored = Assert.Single(emulator.ReceivedMessages);
        Assert.Equal(("notifications@contoso.com", "notifications@contoso.com"), (stored.AuthenticatedMailbox, stored.MailFrom));
        Assert.Equal(["customer@example.com"], stored.Recipients);
    }

    [Fact]
    public async Task Delegated_token_authenticates()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await client.OAuthAsync("healthy.basic@contoso.com", emulator.TokenIssuer.IssueDelegated(emulator.Scenario, "healthy.basic@contoso.com", Harness.DesktopClientApp));

        Assert.Equal("235 2.7.0 Authentication successful", client.LastReply);
        var authEvent = Assert.Single(emulator.AuthEvents);
        Assert.Equal(("XOAUTH2", "healthy.basic@contoso.com", AuthOutcome.Success), (authEvent.Mechanism, authEvent.UserName, authEvent.Outcome));
    }

    [Theory]
    [InlineData("https://outlook.office.com")]
    [InlineData("https://outlook.office365.com")]
    [InlineData("https://outlook.office365.com/")]
    [InlineData("00000002-0000-0ff1-ce00-000000000000")]
    public async Task Every_exchange_audience_is_accepted(string audience)
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await client.OAuthAsync("notifications@contoso.com", emulator.TokenIssuer.Issue(AppOnly() with { Audience = audience }));
    }

    [Fact]
    public async Task A_delegated_token_may_name_a_shared_mailbox_its_user_has_FullAccess_to()
    {
        // Microsoft's OAuth page for IMAP, POP and SMTP, "SASL XOAUTH2 authentication for shared mailboxes": the token is
        // the user's, user= is the shared mailbox. A mailbox without that permission stays refused (user-mismatch below).
        await using var emulator = await Harness.StartAsync();
        var token = emulator.TokenIssuer.IssueDelegated(emulator.Scenario, "healthy.basic@contoso.com");
        using var client = await Harness.ConnectAsync(emulator);
        await client.OAuthAsync("info@contoso.com", token);
        var authEvent = Assert.Single(emulator.AuthEvents);
        Assert.Equal(AuthOutcome.Success, authEvent.Outcome);
        Assert.Contains("FullAccess on the shared mailbox info@contoso.com", authEvent.Reason, StringComparison.Ordinal);
    }

    public static TheoryData<string, AuthOutcome> Refusals() => new()
    {
        { "graph-audience", AuthOutcome.TokenAudienceInvalid },
        { "graph-guid-audience", AuthOutcome.TokenAudienceInvalid },
        { "delegated-without-smtp-send", AuthOutcome.TokenScopeMissing },
        { "app-without-sendasapp-role", AuthOutcome.TokenRoleMissing },
        { "app-with-roles-emptied", AuthOutcome.TokenRoleMissing },
        { "other-tenant", AuthOutcome.TokenTenantMismatch },
        { "sp-not-registered", AuthOutcome.ServicePrincipalNotRegistered },
        { "sp-registered-with-app-registration-id", AuthOutcome.ServicePrincipalNotRegistered },
        { "no-fullaccess", AuthOutcome.NoFullAccess },
        { "unknown-mailbox", AuthOutcome.MailboxNotFound },
        { "unknown-app", AuthOutcome.ApplicationUnknown },
        { "user-mismatch", AuthOutcome.TokenUserMismatch },
        { "unknown-user", AuthOutcome.TokenUserUnknown },
        { "shared-mailbox-delegated", AuthOutcome.SharedMailboxLogin },
        { "tampered", AuthOutcome.TokenSignatureInvalid },
        { "wrong-key", AuthOutcome.TokenSignatureInvalid },
        { "unsigned", AuthOutcome.TokenSignatureInvalid },
        { "not-a-jwt", AuthOutcome.TokenMalformed },
        { "expired", AuthOutcome.TokenExpired },
        { "not-yet-valid", AuthOutcome.TokenNotYetValid },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Token_problems_are_535_5_7_3_and_the_reason_is_recorded(string problem, AuthOutcome expected)
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var emulator = await Harness.StartAsync(configure: o => o with { Clock = clock });
        var issuer = emulator.TokenIssuer;
        var scenario = emulator.Scenario;
        var delegated = TestTokenIssuer.DelegatedRequest(scenario, "healthy.basic@contoso.com", Harness.DesktopClientApp);
        var (user, token) = problem switch
        {
            "graph-audience" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { Audience = "https://graph.microsoft.com" })),
            "graph-guid-audience" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { Audience = "00000003-0000-0000-c000-000000000000" })),
            "delegated-without-smtp-send" => ("healthy.basic@contoso.com", issuer.Issue(delegated with { Scope = "Mail.Read IMAP.AccessAsUser.All" })),
            "app-without-sendasapp-role" => ("notifications@contoso.com", issuer.IssueAppOnly(scenario, Harness.NoSmtpRoleApp)),
            "app-with-roles-emptied" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { Roles = [] })),
            "other-tenant" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { TenantId = Guid.NewGuid().ToString() })),
            "sp-not-registered" => ("notifications@contoso.com", issuer.IssueAppOnly(scenario, Harness.UnregisteredApp)),
            "sp-registered-with-app-registration-id" => ("notifications@contoso.com", issuer.IssueAppOnly(scenario, Harness.WrongObjectIdApp)),
            "no-fullaccess" => ("healthy.basic@contoso.com", issuer.IssueAppOnly(scenario, Harness.MailerApp)),
            "unknown-mailbox" => ("ghost@contoso.com", issuer.IssueAppOnly(scenario, Harness.MailerApp)),
            "unknown-app" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { AppId = Guid.NewGuid().ToString() })),
            "user-mismatch" => ("smtp.override@contoso.com", issuer.Issue(delegated)),
            "unknown-user" => ("ghost@contoso.com", issuer.Issue(delegated with { UserPrincipalName = "ghost@contoso.com", UniqueName = "ghost@contoso.com", ObjectId = Guid.NewGuid().ToString() })),
            "shared-mailbox-delegated" => ("info@contoso.com", issuer.IssueDelegated(scenario, "info@contoso.com")),
            "tampered" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { Signature = TokenSignature.Tampered })),
            "wrong-key" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { Signature = TokenSignature.WrongKey })),
            "unsigned" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { Signature = TokenSignature.Unsigned })),
            "not-a-jwt" => ("notifications@contoso.com", "EwBwA8l6BAAU...opaque"),
            "expired" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { Lifetime = TimeSpan.FromMinutes(60) })),
            "not-yet-valid" => ("notifications@contoso.com", issuer.Issue(AppOnly() with { NotBefore = clock.GetUtcNow().AddMinutes(10) })),
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };
        if (problem == "expired")
        {
            clock.Advance(TimeSpan.FromMinutes(61));
        }

        using var client = await Harness.ConnectAsync(emulator);
        var ex = await Assert.ThrowsAsync<AuthenticationException>(() => client.OAuthAsync(user, token));

        Harness.AssertErrorReply(client.LastReply, 535, Unsuccessful);
        var authEvent = Assert.Single(emulator.AuthEvents);
        Assert.Equal(expected, authEvent.Outcome);
        Assert.False(string.IsNullOrWhiteSpace(authEvent.Reason));
        Assert.DoesNotContain(token, authEvent.Reason, StringComparison.Ordinal);

        // Reference 1.1: the SASL path throws "535: 5.7.3 ..." with no inner exception.
        Assert.StartsWith("535: 5.7.3 Authentication unsuccessful [", ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.InnerException);
    }

    [Fact]
    public async Task The_wrong_object_id_is_explained()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.OAuthAsync("notifications@contoso.com", emulator.TokenIssuer.IssueAppOnly(emulator.Scenario, Harness.WrongObjectIdApp)));

        Assert.Contains("app registration's object id", Assert.Single(emulator.AuthEvents).Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no.smtp.app@contoso.com", true, 535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.")]
    [InlineData("mailbox.disabled@contoso.com", false, 535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information.")]
    [InlineData("tenant.inherit@contoso.com", false, 535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.")]
    public async Task The_smtp_auth_switch_applies_to_oauth_too(string user, bool appOnly, int code, string text)
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);
        string token = appOnly
            ? emulator.TokenIssuer.IssueAppOnly(emulator.Scenario, Harness.MailerApp)
            : emulator.TokenIssuer.IssueDelegated(emulator.Scenario, user, Harness.DesktopClientApp);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.OAuthAsync(user, token));

        Harness.AssertErrorReply(client.LastReply, code, text);
    }

    [Theory]
    [InlineData("retired@contoso.com")]
    [InlineData("policy.blocked@contoso.com")]
    [InlineData("ca.blocked@contoso.com")]
    [InlineData("ca.mfa@contoso.com")]
    [InlineData("mfa.user@contoso.com")]
    [InlineData("locked@contoso.com")]
    public async Task Basic_only_blocks_do_not_apply_to_oauth(string upn)
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await client.OAuthAsync(upn, emulator.TokenIssuer.IssueDelegated(emulator.Scenario, upn, Harness.DesktopClientApp));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Security_defaults_do_not_block_oauth(bool appOnly)
    {
        var scenario = Harness.SecurityDefaults;
        await using var emulator = await Harness.StartAsync(scenario);
        using var client = await Harness.ConnectAsync(emulator);
        string token = appOnly
            ? emulator.TokenIssuer.IssueAppOnly(scenario, "b2000000-0000-4000-8000-000000000001")
            : emulator.TokenIssuer.IssueDelegated(scenario, "scanner@fabrikam.com");

        await client.OAuthAsync("scanner@fabrikam.com", token);
    }

    [Fact]
    public async Task Xoauth2_continuation_form_and_malformed_sasl()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);
        string token = emulator.TokenIssuer.IssueAppOnly(emulator.Scenario, Harness.MailerApp);

        await client.RawAsync("AUTH XOAUTH2 " + Harness.B64("user=notifications@contoso.com\u0001auth=Basic abc\u0001\u0001"));
        Harness.AssertErrorReply(client.LastReply, 535, Unsuccessful);
        await client.RawAsync("AUTH XOAUTH2");
        Assert.Equal("334 ", client.LastReply);
        await client.RawAsync(TestTokenIssuer.FormatXOAuth2("notifications@contoso.com", token));
        Assert.Equal("235 2.7.0 Authentication successful", client.LastReply);
        Assert.Equal([AuthOutcome.SaslMalformed, AuthOutcome.Success], emulator.AuthEvents.Select(e => e.Outcome));
    }

    [Fact]
    public async Task Tokens_never_reach_the_logs()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);
        string token = emulator.TokenIssuer.IssueAppOnly(emulator.Scenario, Harness.MailerApp);
        string sasl = TestTokenIssuer.FormatXOAuth2("notifications@contoso.com", token);
        await client.OAuthAsync("notifications@contoso.com", token);
        await Assert.ThrowsAsync<AuthenticationException>(async () =>
        {
            using var second = await Harness.ConnectAsync(emulator);
            await second.OAuthAsync("healthy.basic@contoso.com", token);
        });

        var everything = emulator.ProtocolLog.Select(e => e.Line)
            .Concat(emulator.AuthEvents.SelectMany(e => new[] { e.Reason, e.Reply, e.UserName ?? string.Empty }))
            .ToList();
        string signature = token[(token.LastIndexOf('.') + 1)..];
        Assert.DoesNotContain(everything, l => l.Contains(signature, StringComparison.Ordinal) || l.Contains(sasl[..40], StringComparison.Ordinal));
        Assert.Contains(emulator.ProtocolLog, e => e.Line == "AUTH XOAUTH2 ********");
    }

    [Fact]
    public async Task Rejections_are_raised_as_events()
    {
        await using var emulator = await Harness.StartAsync();
        var seen = new List<AuthEvent>();
        emulator.AuthAttempted += (_, e) => { lock (seen) { seen.Add(e); } };
        using var client = await Harness.ConnectAsync(emulator);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.OAuthAsync("notifications@contoso.com", emulator.TokenIssuer.IssueAppOnly(emulator.Scenario, Harness.UnregisteredApp)));

        var authEvent = Assert.Single(seen);
        Assert.Equal(AuthOutcome.ServicePrincipalNotRegistered, authEvent.Outcome);
        Assert.StartsWith("535 5.7.3 Authentication unsuccessful [", authEvent.Reply, StringComparison.Ordinal);
    }

    private static TokenRequest AppOnly() => TestTokenIssuer.AppOnlyRequest(Harness.Demo, Harness.MailerApp);
}
