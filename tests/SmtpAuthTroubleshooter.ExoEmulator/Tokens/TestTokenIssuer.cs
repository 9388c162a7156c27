using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>
/// Mints RS256 JWTs shaped like Entra v1 access tokens for Exchange Online, signed with a key the emulator
/// trusts (or, on request, with a bad signature). For tests and the console <c>token</c> verb only.
/// </summary>
public sealed class TestTokenIssuer
{
    /// <summary>The app-only resource (client credentials use https://outlook.office365.com/.default).</summary>
    public const string AppOnlyAudience = "https://outlook.office365.com";

    /// <summary>The delegated resource (https://outlook.office.com/SMTP.Send).</summary>
    public const string DelegatedAudience = "https://outlook.office.com";

    public const string DefaultKeyId = "exo-emulator";

    private readonly RSA _key;
    private readonly TimeProvider _clock;
    private readonly string _keyId;

    public TestTokenIssuer(RSA signingKey, TimeProvider? clock = null, string keyId = DefaultKeyId)
    {
        ArgumentNullException.ThrowIfNull(signingKey);
        _key = signingKey;
        _clock = clock ?? TimeProvider.System;
        _keyId = keyId;
    }

    /// <summary>Mints a token with exactly the claims of <paramref name="request"/>.</summary>
    public string Issue(TokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var issuedAt = request.IssuedAt ?? _clock.GetUtcNow();
        var claims = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["aud"] = request.Audience,
            ["iss"] = request.TenantId is null ? null : $"https://sts.windows.net/{request.TenantId}/",
            ["iat"] = issuedAt.ToUnixTimeSeconds(),
            ["nbf"] = (request.NotBefore ?? issuedAt).ToUnixTimeSeconds(),
            ["exp"] = (request.ExpiresAt ?? issuedAt + request.Lifetime).ToUnixTimeSeconds(),
            ["appid"] = request.AppId,
            ["idtyp"] = request.Scope is null && request.Roles is not null ? "app" : "user",
            ["oid"] = request.ObjectId,
            ["roles"] = request.Roles,
            ["scp"] = request.Scope,
            ["tid"] = request.TenantId,
            ["unique_name"] = request.UniqueName,
            ["upn"] = request.UserPrincipalName,
            ["ver"] = "1.0",
        };
        foreach (var (name, value) in request.AdditionalClaims ?? new Dictionary<string, object?>())
        {
            claims[name] = value;
        }

        var payload = claims.Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value);
        string alg = request.Signature == TokenSignature.Unsigned ? "none" : "RS256";
        var header = new Dictionary<string, object?> { ["typ"] = "JWT", ["alg"] = alg, ["kid"] = _keyId };
        string signingInput = Jwt.Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Jwt.Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload));
        byte[] signature = request.Signature switch
        {
            TokenSignature.Unsigned => [],
            TokenSignature.WrongKey => Jwt.Sign(SigningKeys.Untrusted, signingInput),
            _ => Jwt.Sign(_key, signingInput),
        };
        if (request.Signature == TokenSignature.Tampered)
        {
            signature[signature.Length / 2] ^= 0x5A;
        }

        return signingInput + "." + Jwt.Base64Url(signature);
    }

    /// <summary>
    /// An app-only (client credentials) token for <paramref name="appId"/>, as Entra issues it for
    /// https://outlook.office365.com/.default: roles = the app's consented roles, oid = its enterprise app object id.
    /// </summary>
    public string IssueAppOnly(TenantScenario scenario, string appId, TimeSpan? lifetime = null) =>
        Issue(AppOnlyRequest(scenario, appId) with { Lifetime = lifetime ?? TimeSpan.FromHours(1) });

    /// <summary>The request <see cref="IssueAppOnly"/> uses, to adjust with <c>with { ... }</c>.</summary>
    public static TokenRequest AppOnlyRequest(TenantScenario scenario, string appId)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var app = scenario.Tenant.FindApplication(appId) ?? throw new ArgumentException($"The scenario has no application '{appId}'.", nameof(appId));
        return new TokenRequest
        {
            Audience = AppOnlyAudience,
            TenantId = scenario.Tenant.TenantId,
            AppId = app.AppId,
            ObjectId = app.ServicePrincipalObjectId,
            Roles = app.Roles,
        };
    }

    /// <summary>A delegated token for <paramref name="userPrincipalName"/> with scp SMTP.Send (or the client app's delegated scopes).</summary>
    public string IssueDelegated(TenantScenario scenario, string userPrincipalName, string? clientAppId = null, TimeSpan? lifetime = null) =>
        Issue(DelegatedRequest(scenario, userPrincipalName, clientAppId) with { Lifetime = lifetime ?? TimeSpan.FromHours(1) });

    /// <summary>The request <see cref="IssueDelegated"/> uses, to adjust with <c>with { ... }</c>.</summary>
    public static TokenRequest DelegatedRequest(TenantScenario scenario, string userPrincipalName, string? clientAppId = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var account = scenario.FindByUserPrincipalName(userPrincipalName) ?? throw new ArgumentException($"The scenario has no account '{userPrincipalName}'.", nameof(userPrincipalName));
        var app = clientAppId is null ? null : scenario.Tenant.FindApplication(clientAppId);
        var scopes = app is { DelegatedScopes.Count: > 0 } ? app.DelegatedScopes : ["SMTP.Send"];
        return new TokenRequest
        {
            Audience = DelegatedAudience,
            TenantId = scenario.Tenant.TenantId,
            AppId = clientAppId,
            ObjectId = account.ObjectId,
            UserPrincipalName = account.UserPrincipalName,
            UniqueName = account.UserPrincipalName,
            Scope = string.Join(' ', scopes),
        };
    }

    /// <summary>The base64 XOAUTH2 initial response: base64("user=" + user + "^Aauth=Bearer " + token + "^A^A").</summary>
    public static string FormatXOAuth2(string user, string accessToken) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"user={user}\u0001auth=Bearer {accessToken}\u0001\u0001"));
}
