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

    /// <summary>Entra groups (Graph transitiveMemberOf; CA includeGroups/excludeGroups). Null = none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ScenarioGroup>? Groups { get; init; }

    /// <summary>Activated directory roles (Graph transitiveMemberOf; CA includeRoles/excludeRoles). Null = none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ScenarioDirectoryRole>? DirectoryRoles { get; init; }

    /// <summary>Graph <c>/domains</c>. Null = just <see cref="Domain"/>, Managed (see <see cref="EffectiveDomains"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ScenarioDomain>? Domains { get; init; }

    /// <summary><c>Get-OrganizationConfig</c> RejectDirectSend: true refuses unauthenticated mail from the tenant's own domains on the MX (Direct Send).</summary>
    public bool RejectDirectSend { get; init; }

    /// <summary><c>Get-AcceptedDomain</c>. Null = every <see cref="EffectiveDomains"/> entry as Authoritative (<see cref="Domain"/> the default) plus the initial domain.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ScenarioAcceptedDomain>? AcceptedDomains { get; init; }

    /// <summary>Graph caller permissions and licence. Null = every permission, premium.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public GraphSettings? Graph { get; init; }

    /// <summary>The groups, never null.</summary>
    public IReadOnlyList<ScenarioGroup> EffectiveGroups() => Groups ?? [];

    /// <summary>The directory roles, never null.</summary>
    public IReadOnlyList<ScenarioDirectoryRole> EffectiveDirectoryRoles() => DirectoryRoles ?? [];

    /// <summary><see cref="Domains"/>, or the default domain as Managed when none are listed.</summary>
    public IReadOnlyList<ScenarioDomain> EffectiveDomains() => Domains ?? [new ScenarioDomain { Id = Domain }];

    /// <summary><see cref="Graph"/>, or the defaults (all permissions, premium).</summary>
    public GraphSettings EffectiveGraph() => Graph ?? new GraphSettings();

    /// <summary><see cref="AcceptedDomains"/>, or the derived list (every domain Authoritative, <see cref="Domain"/> the default, then the initial domain).</summary>
    public IReadOnlyList<ScenarioAcceptedDomain> EffectiveAcceptedDomains()
    {
        if (AcceptedDomains is { } listed)
        {
            return listed;
        }

        var list = EffectiveDomains().Select(d => new ScenarioAcceptedDomain { DomainName = d.Id, Default = d.Id.Equals(Domain, StringComparison.OrdinalIgnoreCase) }).ToList();
        if (!list.Any(d => d.DomainName.Equals(InitialDomain(), StringComparison.OrdinalIgnoreCase)))
        {
            list.Add(new ScenarioAcceptedDomain { DomainName = InitialDomain() });
        }

        return list;
    }

    /// <summary>The initial domain, e.g. contoso.onmicrosoft.com (first label of <see cref="Domain"/>).</summary>
    public string InitialDomain() => (Domain.Split('.')[0] + ".onmicrosoft.com").ToLowerInvariant();

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

        ValidateDirectory(problems);

        if (AcceptedDomains is { } accepted)
        {
            if (accepted.Count(d => d.Default) != 1)
            {
                problems.Add("tenant.acceptedDomains: exactly one domain must be the default.");
            }

            foreach (var group in accepted.GroupBy(d => d.DomainName, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            {
                problems.Add($"tenant.acceptedDomains: '{group.Key}' is listed {group.Count()} times.");
            }

            foreach (var d in accepted.Where(d => string.IsNullOrWhiteSpace(d.DomainName) || !d.DomainName.Contains('.', StringComparison.Ordinal)))
            {
                problems.Add($"tenant.acceptedDomains: '{d.DomainName}' is not a domain name.");
            }
        }

        if (SecurityDefaultsEnabled && ConditionalAccessPolicies.Any(p => p.State == ConditionalAccessPolicyState.Enabled))
        {
            problems.Add("tenant: security defaults and enabled conditional access policies cannot coexist (Entra refuses it).");
        }
    }

    private void ValidateDirectory(List<string> problems)
    {
        var groupIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var group in EffectiveGroups())
        {
            if (!System.Guid.TryParse(group.Id, out _))
            {
                problems.Add($"tenant.groups: id '{group.Id}' is not a GUID.");
            }
            else if (!groupIds.Add(group.Id))
            {
                problems.Add($"tenant.groups: id '{group.Id}' is defined twice.");
            }
        }

        var roleIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var role in EffectiveDirectoryRoles())
        {
            if (!System.Guid.TryParse(role.RoleTemplateId, out _) || (role.Id is not null && !System.Guid.TryParse(role.Id, out _)))
            {
                problems.Add($"tenant.directoryRoles: '{role.DisplayName ?? role.RoleTemplateId}' needs GUIDs for roleTemplateId (and id).");
            }
            else if (!roleIds.Add(role.RoleTemplateId))
            {
                problems.Add($"tenant.directoryRoles: roleTemplateId '{role.RoleTemplateId}' is defined twice.");
            }
        }

        var domains = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var domain in EffectiveDomains())
        {
            if (string.IsNullOrWhiteSpace(domain.Id) || !domain.Id.Contains('.', StringComparison.Ordinal))
            {
                problems.Add($"tenant.domains: '{domain.Id}' is not a domain name.");
            }
            else if (!domains.Add(domain.Id))
            {
                problems.Add($"tenant.domains: '{domain.Id}' is listed twice.");
            }
        }

        foreach (var policy in ConditionalAccessPolicies)
        {
            foreach (string id in policy.IncludeGroups.Concat(policy.ExcludeGroups).Where(id => !groupIds.Contains(id)))
            {
                problems.Add($"conditional access policy '{policy.DisplayName ?? policy.Id}': group '{id}' is not in tenant.groups.");
            }

            foreach (string id in policy.IncludeRoles.Concat(policy.ExcludeRoles).Where(id => !System.Guid.TryParse(id, out _)))
            {
                problems.Add($"conditional access policy '{policy.DisplayName ?? policy.Id}': role '{id}' is not a role template id (GUID).");
            }
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

    /// <summary>Graph conditions.users.includeGroups: group ids (tenant.groups), matched on membership.</summary>
    public IReadOnlyList<string> IncludeGroups { get; init; } = [];

    public IReadOnlyList<string> ExcludeGroups { get; init; } = [];

    /// <summary>Graph conditions.users.includeRoles: directory role template ids (tenant.directoryRoles).</summary>
    public IReadOnlyList<string> IncludeRoles { get; init; } = [];

    public IReadOnlyList<string> ExcludeRoles { get; init; } = [];

    /// <summary>Graph conditions.platforms: null = any platform.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ConditionalAccessPlatforms? Platforms { get; init; }

    /// <summary>Graph conditions.locations: null = any location.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ConditionalAccessLocations? Locations { get; init; }

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
