using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>An Entra security group (Graph <c>#microsoft.graph.group</c>); members by UPN, no nesting.</summary>
public sealed record ScenarioGroup
{
    /// <summary>Group object id (GUID): what CA includeGroups/excludeGroups name.</summary>
    public required string Id { get; init; }

    public string? DisplayName { get; init; }

    /// <summary>Member accounts, by userPrincipalName.</summary>
    public IReadOnlyList<string> Members { get; init; } = [];
}

/// <summary>An activated Entra directory role (Graph <c>#microsoft.graph.directoryRole</c>); members by UPN.</summary>
public sealed record ScenarioDirectoryRole
{
    /// <summary>The role template id (GUID): what CA includeRoles/excludeRoles name.</summary>
    public required string RoleTemplateId { get; init; }

    /// <summary>The tenant's directoryRole object id; null = derived from the tenant id and the template id.</summary>
    public string? Id { get; init; }

    public string? DisplayName { get; init; }

    /// <summary>Member accounts, by userPrincipalName.</summary>
    public IReadOnlyList<string> Members { get; init; } = [];

    /// <summary>The object id Graph reports for this role in <paramref name="tenant"/>.</summary>
    public string EffectiveId(TenantSettings tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return Id ?? DerivedIds.Guid("directoryRole", tenant.TenantId, RoleTemplateId);
    }
}

/// <summary>A verified domain of the tenant (Graph <c>/domains/{fqdn}</c>).</summary>
public sealed record ScenarioDomain
{
    /// <summary>The domain name, e.g. contoso.com.</summary>
    public required string Id { get; init; }

    public DomainAuthenticationType AuthenticationType { get; init; } = DomainAuthenticationType.Managed;
}

[JsonConverter(typeof(JsonStringEnumConverter<DomainAuthenticationType>))]
public enum DomainAuthenticationType
{
    Managed,
    Federated,
}

/// <summary>What the Graph caller may read, and the tenant's licence.</summary>
public sealed record GraphSettings
{
    /// <summary>
    /// Permissions the caller lacks, e.g. Policy.Read.All or AuditLog.Read.All: every endpoint that needs one of
    /// them answers 403 Authorization_RequestDenied (the table is in README.md, "Graph emulator").
    /// </summary>
    public IReadOnlyList<string> PermissionsMissing { get; init; } = [];

    /// <summary>Entra ID P1/P2. False: sign-in logs and What If answer 403 (non-premium tenant).</summary>
    public bool Premium { get; init; } = true;
}

/// <summary>Device platforms condition of a CA policy (Graph conditionalAccessPlatforms).</summary>
public sealed record ConditionalAccessPlatforms
{
    public IReadOnlyList<string> IncludePlatforms { get; init; } = [];

    public IReadOnlyList<string> ExcludePlatforms { get; init; } = [];
}

/// <summary>Locations condition of a CA policy (Graph conditionalAccessLocations).</summary>
public sealed record ConditionalAccessLocations
{
    public IReadOnlyList<string> IncludeLocations { get; init; } = [];

    public IReadOnlyList<string> ExcludeLocations { get; init; } = [];
}

/// <summary>One Entra sign-in of an account (Graph <c>/auditLogs/signIns</c>).</summary>
public sealed record ScenarioSignIn
{
    /// <summary>createdDateTime = the emulator's start time minus this many minutes.</summary>
    public double MinutesAgo { get; init; }

    /// <summary>status.errorCode; 0 = success.</summary>
    public int ErrorCode { get; init; }

    /// <summary>status.failureReason; null = a standard text for <see cref="ErrorCode"/>.</summary>
    public string? FailureReason { get; init; }

    /// <summary>clientAppUsed, free text as in Entra.</summary>
    public string ClientAppUsed { get; init; } = "Authenticated SMTP";

    /// <summary>ipAddress; null = a documentation address derived from the sign-in.</summary>
    public string? IpAddress { get; init; }

    /// <summary>conditionalAccessStatus; null = derived from the applied policies' results.</summary>
    public string? ConditionalAccessStatus { get; init; }

    public IReadOnlyList<ScenarioAppliedPolicy> AppliedConditionalAccessPolicies { get; init; } = [];
}

/// <summary>appliedConditionalAccessPolicy of a sign-in.</summary>
public sealed record ScenarioAppliedPolicy
{
    public required string Id { get; init; }

    public string? DisplayName { get; init; }

    /// <summary>success, failure, notApplied, notEnabled, unknown (...).</summary>
    public string Result { get; init; } = "notApplied";

    /// <summary>Display strings, e.g. "Block" or "Mfa".</summary>
    public IReadOnlyList<string> EnforcedGrantControls { get; init; } = [];
}

/// <summary>Deterministic ids for objects the scenario does not name (the same on every run).</summary>
public static class DerivedIds
{
    /// <summary>A version-4-shaped GUID from the SHA-256 of the parts.</summary>
    public static string Guid(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('|', parts).ToUpperInvariant()), hash);
        hash[7] = (byte)((hash[7] & 0x0F) | 0x40);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new System.Guid(hash[..16]).ToString();
    }

    /// <summary>43 base64url characters (the shape of an appRoleAssignment id).</summary>
    public static string Base64Url(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('|', parts).ToUpperInvariant()));
        return Convert.ToBase64String(hash).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
