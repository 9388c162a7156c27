using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Serialization;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>Tenant-wide settings, each named after where an admin reads it.</summary>
public sealed record TenantSettings
{
    /// <summary>Organization display name.</summary>
    public required string Name { get; init; }

    /// <summary>The default accepted domain, e.g. contoso.com.</summary>
    public required string Domain { get; init; }

    /// <summary>Entra tenant id (GUID): the <c>tid</c> claim of every token for this tenant.</summary>
    public required string TenantId { get; init; }

    /// <summary><c>Get-TransportConfig</c> SmtpClientAuthenticationDisabled. True = SMTP AUTH off for the organization.</summary>
    public bool SmtpClientAuthenticationDisabled { get; init; }

    /// <summary><c>Get-TransportConfig</c> AllowLegacyTLSClients (only honoured on the legacy endpoint).</summary>
    public bool AllowLegacyTlsClients { get; init; }

    /// <summary>Graph <c>identitySecurityDefaultsEnforcementPolicy.isEnabled</c>.</summary>
    public bool SecurityDefaultsEnabled { get; init; }

    /// <summary>Basic auth for SMTP AUTH retired for this tenant (550 5.7.30). Accounts may override it.</summary>
    public bool BasicAuthRetired { get; init; }

    /// <summary><c>Get-OrganizationConfig</c> DefaultAuthenticationPolicy (a policy name, or null for none).</summary>
    public string? DefaultAuthenticationPolicy { get; init; }

    /// <summary><c>Get-AuthenticationPolicy</c>.</summary>
    public IReadOnlyList<AuthenticationPolicySettings> AuthenticationPolicies { get; init; } = [];

    /// <summary>Graph <c>/identity/conditionalAccess/policies</c>, reduced to what decides SMTP AUTH.</summary>
    public IReadOnlyList<ConditionalAccessPolicySettings> ConditionalAccessPolicies { get; init; } = [];

    /// <summary>Entra app registrations / enterprise apps, and their Exchange service principal.</summary>
    public IReadOnlyList<ScenarioApplication> Applications { get; init; } = [];

    public AuthenticationPolicySettings? FindAuthenticationPolicy(string? name) =>
        name is null ? null : AuthenticationPolicies.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    public ScenarioApplication? FindApplication(string? appId) =>
        appId is null ? null : Applications.FirstOrDefault(a => string.Equals(a.AppId, appId, StringComparison.OrdinalIgnoreCase));

    internal void Validate(List<string> problems)
    {
        if (!Guid.TryParse(TenantId, out _))
        {
            problems.Add($"tenant.tenantId '{TenantId}' is not a GUID.");
        }

        if (string.IsNullOrWhiteSpace(Domain))
        {
            problems.Add("tenant.domain is empty.");
        }

        if (DefaultAuthenticationPolicy is { } name && FindAuthenticationPolicy(name) is null)
        {
            problems.Add($"tenant.defaultAuthenticationPolicy '{name}' is not in tenant.authenticationPolicies.");
        }

        foreach (var group in AuthenticationPolicies.GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            problems.Add($"tenant.authenticationPolicies: '{group.Key}' is defined {group.Count()} times.");
        }

        foreach (var group in Applications.GroupBy(a => a.AppId, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            problems.Add($"tenant.applications: appId '{group.Key}' is defined {group.Count()} times.");
        }

        foreach (var app in Applications)
        {
            foreach (var (field, value) in new[] { ("appId", app.AppId), ("servicePrincipalObjectId", app.ServicePrincipalObjectId), ("appRegistrationObjectId", app.AppRegistrationObjectId), ("exoServicePrincipalObjectId", app.ExoServicePrincipalObjectId) })
            {
                if (value is not null && !Guid.TryParse(value, out _))
                {
                    problems.Add($"application '{app.DisplayName ?? app.AppId}': {field} '{value}' is not a GUID.");
                }
            }
        }

        if (SecurityDefaultsEnabled && ConditionalAccessPolicies.Any(p => p.State == ConditionalAccessPolicyState.Enabled))
        {
            problems.Add("tenant: security defaults and enabled conditional access policies cannot coexist (Entra refuses it).");
        }
    }
}

/// <summary>One <c>Get-AuthenticationPolicy</c> entry. Only the SMTP switch matters here.</summary>
public sealed record AuthenticationPolicySettings
{
    public required string Name { get; init; }

    /// <summary>AllowBasicAuthSmtp. Defaults to false, as New-AuthenticationPolicy blocks every protocol by default.</summary>
    public bool AllowBasicAuthSmtp { get; init; }
}

/// <summary>A conditional access policy, in Graph's vocabulary, minimal.</summary>
public sealed record ConditionalAccessPolicySettings
{
    /// <summary>The well-known Office 365 Exchange Online application id.</summary>
    public const string ExchangeOnlineAppId = "00000002-0000-0ff1-ce00-000000000000";

    public required string Id { get; init; }

    public string? DisplayName { get; init; }

    public ConditionalAccessPolicyState State { get; init; } = ConditionalAccessPolicyState.Enabled;

    /// <summary>Graph clientAppTypes: all, browser, mobileAppsAndDesktopClients, exchangeActiveSync, easSupported, other.</summary>
    public IReadOnlyList<string> ClientAppTypes { get; init; } = ["all"];

    /// <summary>Graph conditions.applications.includeApplications: All, Office365 or app ids.</summary>
    public IReadOnlyList<string> IncludeApplications { get; init; } = ["All"];

    public IReadOnlyList<string> ExcludeApplications { get; init; } = [];

    /// <summary>Graph conditions.users.includeUsers: "All", or user object ids (UPNs are accepted too).</summary>
    public IReadOnlyList<string> IncludeUsers { get; init; } = [];

    public IReadOnlyList<string> ExcludeUsers { get; init; } = [];

    /// <summary>The one built-in grant control that matters to SMTP AUTH: block, or require MFA.</summary>
    public required ConditionalAccessGrant Grant { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<ConditionalAccessPolicyState>))]
public enum ConditionalAccessPolicyState
{
    [JsonStringEnumMemberName("enabled")]
    Enabled,

    [JsonStringEnumMemberName("disabled")]
    Disabled,

    [JsonStringEnumMemberName("enabledForReportingButNotEnforced")]
    EnabledForReportingButNotEnforced,
}

[JsonConverter(typeof(JsonStringEnumConverter<ConditionalAccessGrant>))]
public enum ConditionalAccessGrant
{
    [JsonStringEnumMemberName("block")]
    Block,

    [JsonStringEnumMemberName("mfa")]
    Mfa,
}

/// <summary>An Entra application and how Exchange Online knows it.</summary>
public sealed record ScenarioApplication
{
    /// <summary>Application (client) id: the <c>appid</c> claim.</summary>
    public required string AppId { get; init; }

    public string? DisplayName { get; init; }

    /// <summary>Object id of the enterprise application (service principal): the <c>oid</c> claim of app-only tokens.</summary>
    public required string ServicePrincipalObjectId { get; init; }

    /// <summary>Object id of the app registration (the wrong one to give New-ServicePrincipal).</summary>
    public string? AppRegistrationObjectId { get; init; }

    /// <summary>The ObjectId given to <c>New-ServicePrincipal</c>, or null when the app is not registered in Exchange Online.</summary>
    public string? ExoServicePrincipalObjectId { get; init; }

    /// <summary>Application permissions consented on Office 365 Exchange Online, e.g. SMTP.SendAsApp (the <c>roles</c> claim).</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>Delegated permissions consented on Office 365 Exchange Online, e.g. SMTP.Send (the <c>scp</c> claim).</summary>
    public IReadOnlyList<string> DelegatedScopes { get; init; } = [];
}
