using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>Decides an AUTH XOAUTH2 against a scenario: token checks, then identity, then the SMTP AUTH switch.</summary>
public static class OAuthEvaluator
{
    /// <summary>The Exchange Online resources a token may be issued for.</summary>
    public static IReadOnlyList<string> AcceptedAudiences { get; } =
    [
        "https://outlook.office.com",
        "https://outlook.office365.com",
        ConditionalAccessPolicySettings.ExchangeOnlineAppId,
    ];

    public const string DelegatedScope = "SMTP.Send";
    public const string AppOnlyRole = "SMTP.SendAsApp";

    /// <summary>Splits a decoded XOAUTH2 response ("user=U^Aauth=Bearer T^A^A"). False when it is not that shape.</summary>
    public static bool TryParseXOAuth2(ReadOnlySpan<byte> decoded, out string user, out string accessToken)
    {
        user = accessToken = string.Empty;
        string text = Encoding.UTF8.GetString(decoded);
        string? u = null, t = null;
        foreach (string field in text.Split('\u0001'))
        {
            if (field.StartsWith("user=", StringComparison.Ordinal))
            {
                u = field[5..];
            }
            else if (field.StartsWith("auth=", StringComparison.Ordinal))
            {
                string value = field[5..];
                if (value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                {
                    t = value[7..].Trim();
                }
            }
        }

        if (string.IsNullOrEmpty(u) || string.IsNullOrEmpty(t))
        {
            return false;
        }

        user = u;
        accessToken = t;
        return true;
    }

    /// <summary>
    /// Evaluates a bearer token presented for <paramref name="saslUser"/>. Order: signature, lifetime, audience,
    /// tenant; then the delegated (scp) or app-only (roles) identity rules; then the effective SMTP AUTH switch.
    /// Security defaults, conditional access and the basic-auth retirement do not apply to OAuth.
    /// </summary>
    public static AuthDecision Evaluate(TenantScenario scenario, string saslUser, string accessToken, RSA validationKey, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(validationKey);
        var jwt = Jwt.Parse(accessToken, out string failure);
        if (jwt is null)
        {
            return Refuse(AuthOutcome.TokenMalformed, null, $"The bearer value is not a JWT: {failure}.");
        }

        if (!Jwt.VerifyRs256(jwt, validationKey))
        {
            return Refuse(AuthOutcome.TokenSignatureInvalid, null, $"The token signature does not verify (alg '{jwt.GetHeader("alg")}').");
        }

        if (jwt.GetTime("nbf") is { } nbf && nbf > now)
        {
            return Refuse(AuthOutcome.TokenNotYetValid, null, $"The token is not valid before {nbf:O}.");
        }

        if (jwt.GetTime("exp") is not { } exp || exp <= now)
        {
            return Refuse(AuthOutcome.TokenExpired, null, jwt.GetTime("exp") is { } e ? $"The token expired at {e:O}." : "The token has no exp claim.");
        }

        string[] audiences = jwt.GetStrings("aud");
        if (!audiences.Any(a => AcceptedAudiences.Contains(a.TrimEnd('/'), StringComparer.OrdinalIgnoreCase)))
        {
            return Refuse(AuthOutcome.TokenAudienceInvalid, null, $"The token audience '{string.Join(",", audiences)}' is not Exchange Online.");
        }

        string? tid = jwt.GetString("tid");
        if (!string.Equals(tid, scenario.Tenant.TenantId, StringComparison.OrdinalIgnoreCase))
        {
            return Refuse(AuthOutcome.TokenTenantMismatch, null, $"The token tid '{tid}' is not this tenant ({scenario.Tenant.TenantId}).");
        }

        string? scp = jwt.GetString("scp");
        var identity = string.IsNullOrWhiteSpace(scp)
            ? CheckAppOnly(scenario, jwt, saslUser)
            : CheckDelegated(scenario, jwt, scp, saslUser);
        if (!identity.Succeeded)
        {
            return identity;
        }

        return SmtpAuthSwitch.Check(scenario.Tenant, identity.Account!) ?? identity;
    }

    private static AuthDecision CheckDelegated(TenantScenario scenario, ParsedJwt jwt, string scp, string saslUser)
    {
        if (!scp.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(DelegatedScope, StringComparer.OrdinalIgnoreCase))
        {
            return Refuse(AuthOutcome.TokenScopeMissing, null, $"The delegated token's scp '{scp}' lacks {DelegatedScope}.");
        }

        string? upn = jwt.GetString("upn") ?? jwt.GetString("unique_name") ?? jwt.GetString("preferred_username");
        var account = scenario.FindByUserPrincipalName(upn) ?? scenario.FindByObjectId(jwt.GetString("oid"));
        if (account is null)
        {
            return Refuse(AuthOutcome.TokenUserUnknown, null, $"The token user '{upn}' is not an account of the tenant.");
        }

        if (account.RecipientTypeDetails == RecipientTypeDetails.SharedMailbox)
        {
            return Refuse(AuthOutcome.SharedMailboxLogin, account, "A shared mailbox cannot be the SMTP AUTH login identity.");
        }

        if (!account.OwnsAddress(saslUser))
        {
            // A shared mailbox the token's user has FullAccess to may be named in user= (Microsoft's OAuth page for IMAP,
            // POP and SMTP, "SASL XOAUTH2 authentication for shared mailboxes"); any other mailbox is refused.
            var shared = scenario.FindByAddress(saslUser);
            if (shared is not null && shared.RecipientTypeDetails == RecipientTypeDetails.SharedMailbox &&
                shared.FullAccessUsers.Contains(account.UserPrincipalName, StringComparer.OrdinalIgnoreCase))
            {
                return new AuthDecision(AuthOutcome.Success, shared, $"Delegated token for {account.UserPrincipalName}, who has FullAccess on the shared mailbox {shared.EffectivePrimarySmtpAddress}.");
            }

            return Refuse(AuthOutcome.TokenUserMismatch, account, $"The SASL user '{saslUser}' is not the token's user '{account.UserPrincipalName}', nor a shared mailbox that user has FullAccess to.");
        }

        return new AuthDecision(AuthOutcome.Success, account, $"Delegated token for {account.UserPrincipalName}.");
    }

    private static AuthDecision CheckAppOnly(TenantScenario scenario, ParsedJwt jwt, string saslUser)
    {
        if (!jwt.GetStrings("roles").Contains(AppOnlyRole, StringComparer.OrdinalIgnoreCase))
        {
            return Refuse(AuthOutcome.TokenRoleMissing, null, $"The app-only token has no scp and its roles lack {AppOnlyRole}.");
        }

        string? appId = jwt.GetString("appid") ?? jwt.GetString("azp");
        var app = scenario.Tenant.FindApplication(appId);
        if (app is null)
        {
            return Refuse(AuthOutcome.ApplicationUnknown, null, $"The token's appid '{appId}' is not an application of the tenant.");
        }

        // Exchange finds the service principal by the token's oid, the enterprise application's object id:
        // an SP registered with the app registration's object id (or not at all) is not found.
        string? oid = jwt.GetString("oid");
        if (app.ExoServicePrincipalObjectId is null)
        {
            return Refuse(AuthOutcome.ServicePrincipalNotRegistered, null, $"Application '{app.DisplayName ?? app.AppId}' has no Exchange service principal (New-ServicePrincipal was not run).");
        }

        if (!string.Equals(app.ExoServicePrincipalObjectId, oid, StringComparison.OrdinalIgnoreCase))
        {
            string hint = string.Equals(app.ExoServicePrincipalObjectId, app.AppRegistrationObjectId, StringComparison.OrdinalIgnoreCase)
                ? " (it was registered with the app registration's object id, not the enterprise application's)"
                : string.Empty;
            return Refuse(AuthOutcome.ServicePrincipalNotRegistered, null, $"No Exchange service principal has the token's oid '{oid}'{hint}.");
        }

        var mailbox = scenario.FindByAddress(saslUser);
        if (mailbox is null)
        {
            return Refuse(AuthOutcome.MailboxNotFound, null, $"The SASL user '{saslUser}' is not a mailbox of the tenant.");
        }

        if (!mailbox.FullAccessApps.Contains(app.AppId, StringComparer.OrdinalIgnoreCase))
        {
            return Refuse(AuthOutcome.NoFullAccess, mailbox, $"The service principal of '{app.DisplayName ?? app.AppId}' has no FullAccess on '{mailbox.EffectivePrimarySmtpAddress}'.");
        }

        return new AuthDecision(AuthOutcome.Success, mailbox, $"App-only token of '{app.DisplayName ?? app.AppId}' for {mailbox.EffectivePrimarySmtpAddress}.");
    }

    private static AuthDecision Refuse(AuthOutcome outcome, ScenarioAccount? account, string reason) => new(outcome, account, reason);
}
