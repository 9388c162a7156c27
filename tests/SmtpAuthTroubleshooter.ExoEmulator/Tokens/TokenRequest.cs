using System;
using System.Collections.Generic;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>The claims of a token that <see cref="TestTokenIssuer"/> mints. Null claims are left out.</summary>
public sealed record TokenRequest
{
    /// <summary><c>aud</c>. Exchange Online accepts https://outlook.office.com, https://outlook.office365.com and 00000002-0000-0ff1-ce00-000000000000.</summary>
    public string? Audience { get; init; } = TestTokenIssuer.AppOnlyAudience;

    /// <summary><c>scp</c>: space-separated delegated scopes (SMTP.Send). Present only in delegated tokens.</summary>
    public string? Scope { get; init; }

    /// <summary><c>roles</c>: application permissions (SMTP.SendAsApp). Present only in app-only tokens.</summary>
    public IReadOnlyList<string>? Roles { get; init; }

    /// <summary><c>tid</c>.</summary>
    public string? TenantId { get; init; }

    /// <summary><c>upn</c> (delegated).</summary>
    public string? UserPrincipalName { get; init; }

    /// <summary><c>unique_name</c> (delegated).</summary>
    public string? UniqueName { get; init; }

    /// <summary><c>oid</c>: the user's object id (delegated) or the service principal's (app-only).</summary>
    public string? ObjectId { get; init; }

    /// <summary><c>appid</c>: the client application id.</summary>
    public string? AppId { get; init; }

    /// <summary><c>iat</c>; defaults to the issuer's clock.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary><c>nbf</c>; defaults to <see cref="IssuedAt"/>.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary><c>exp</c>; defaults to <see cref="IssuedAt"/> + <see cref="Lifetime"/>.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Extra or replacement claims (a null value removes the claim). Values are serialized as JSON.</summary>
    public IReadOnlyDictionary<string, object?>? AdditionalClaims { get; init; }

    public TokenSignature Signature { get; init; } = TokenSignature.Valid;
}

/// <summary>How <see cref="TestTokenIssuer"/> signs a token.</summary>
public enum TokenSignature
{
    /// <summary>RS256 with the issuer's key.</summary>
    Valid,

    /// <summary>A valid signature with one byte flipped.</summary>
    Tampered,

    /// <summary>RS256 with a key the emulator does not trust.</summary>
    WrongKey,

    /// <summary><c>alg: none</c> and an empty signature.</summary>
    Unsigned,
}
