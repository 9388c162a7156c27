using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;

namespace SmtpAuthTroubleshooter.ExoEmulator.Graph;

/// <summary>
/// The scenario indexed for Graph: users by id and UPN, memberships, service principals, domains and sign-ins,
/// rendered in Graph's JSON shapes (shared/reference/SHAPES.md section B). Immutable once built.
/// </summary>
public sealed class GraphDirectory
{
    public const string GraphHost = "https://graph.microsoft.com";
    public const string ExchangeAppId = ConditionalAccessPolicySettings.ExchangeOnlineAppId;
    public const string ExchangeDisplayName = "Office 365 Exchange Online";

    /// <summary>Well-known Office 365 Exchange Online application roles (SHAPES B.9; SMTP.SendAsApp per G5).</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownExchangeAppRoles = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["SMTP.SendAsApp"] = "7146a1f0-8703-45b3-9eae-527a64c00995",
        ["IMAP.AccessAsApp"] = "5e5addcd-3e8d-4e90-baf5-964efab2b20a",
        ["POP.AccessAsApp"] = "cb842b43-da6e-4506-86fe-bb12199c656d",
        ["full_access_as_app"] = "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
    };

    /// <summary>Properties a user has in this emulator (first: the v1.0 default set, returned without $select).</summary>
    public static readonly IReadOnlyList<string> UserDefaultProperties =
        ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"];

    public static readonly IReadOnlyList<string> UserProperties =
    [
        .. UserDefaultProperties,
        "accountEnabled", "userType", "onPremisesSyncEnabled", "proxyAddresses", "mailNickname", "otherMails", "usageLocation",
        "createdDateTime", "department", "companyName", "employeeId", "creationType", "externalUserState", "onPremisesImmutableId",
        "onPremisesSamAccountName", "onPremisesUserPrincipalName", "onPremisesDomainName", "onPremisesLastSyncDateTime",
        "passwordPolicies", "lastPasswordChangeDateTime", "assignedLicenses", "identities", "securityIdentifier",
    ];

    private readonly Dictionary<string, ScenarioAccount> _byId = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, ScenarioAccount> _byUpn = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<JsonObject>> _memberOf = new(StringComparer.OrdinalIgnoreCase);

    public GraphDirectory(TenantScenario scenario, DateTimeOffset anchor)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        Scenario = scenario;
        Tenant = scenario.Tenant;
        Anchor = anchor;
        foreach (var account in scenario.Accounts)
        {
            _byId[account.ObjectId] = account;
            _byUpn[account.UserPrincipalName] = account;
        }

        foreach (var group in Tenant.EffectiveGroups())
        {
            foreach (string member in group.Members)
            {
                MemberList(member).Add(new JsonObject
                {
                    ["@odata.type"] = "#microsoft.graph.group",
                    ["id"] = group.Id,
                    ["deletedDateTime"] = null,
                    ["description"] = null,
                    ["displayName"] = group.DisplayName,
                    ["groupTypes"] = new JsonArray(),
                    ["mail"] = null,
                    ["mailEnabled"] = false,
                    ["mailNickname"] = group.DisplayName is null ? null : new string(group.DisplayName.Where(char.IsLetterOrDigit).ToArray()),
                    ["securityEnabled"] = true,
                });
            }
        }

        foreach (var role in Tenant.EffectiveDirectoryRoles())
        {
            foreach (string member in role.Members)
            {
                MemberList(member).Add(new JsonObject
                {
                    ["@odata.type"] = "#microsoft.graph.directoryRole",
                    ["id"] = role.EffectiveId(Tenant),
                    ["deletedDateTime"] = null,
                    ["description"] = null,
                    ["displayName"] = role.DisplayName,
                    ["roleTemplateId"] = role.RoleTemplateId,
                });
            }
        }

        ExchangeServicePrincipalId = DerivedIds.Guid("exoServicePrincipal", Tenant.TenantId);
        ServicePrincipals = BuildServicePrincipals();
        SignIns = BuildSignIns();
        Domains = BuildDomains();
    }

    public TenantScenario Scenario { get; }

    public TenantSettings Tenant { get; }

    /// <summary>"Now" for sign-ins: createdDateTime = Anchor - minutesAgo.</summary>
    public DateTimeOffset Anchor { get; }

    /// <summary>The object id of the Office 365 Exchange Online service principal in this tenant.</summary>
    public string ExchangeServicePrincipalId { get; }

    /// <summary>Every service principal (apps of the scenario, then Office 365 Exchange Online), full JSON.</summary>
    public IReadOnlyList<JsonObject> ServicePrincipals { get; }

    /// <summary>The sign-in log: explicit sign-ins and the sessions of basic-auth smtpClients, newest first.</summary>
    public SignInLog SignIns { get; }

    public IReadOnlyList<JsonObject> Domains { get; }

    public IEnumerable<ScenarioAccount> Users => Scenario.Accounts;

    /// <summary>By object id or UPN.</summary>
    public ScenarioAccount? FindUser(string idOrUpn) =>
        _byId.TryGetValue(idOrUpn, out var a) ? a : _byUpn.TryGetValue(idOrUpn, out a) ? a : null;

    public IReadOnlyList<JsonObject> MemberOf(ScenarioAccount account) =>
        _memberOf.TryGetValue(account.UserPrincipalName, out var list) ? list : [];

    /// <summary>The user's full JSON (every property in <see cref="UserProperties"/>).</summary>
    public static JsonObject UserJson(ScenarioAccount account)
    {
        ArgumentNullException.ThrowIfNull(account);
        string primary = account.EffectivePrimarySmtpAddress;
        var proxies = new JsonArray { "SMTP:" + primary };
        foreach (string alias in account.Aliases.Where(a => !a.Equals(primary, StringComparison.OrdinalIgnoreCase)))
        {
            proxies.Add("smtp:" + alias);
        }

        bool synced = account.OnPremisesSyncEnabled == true;
        return new JsonObject
        {
            ["businessPhones"] = new JsonArray(),
            ["displayName"] = account.DisplayName,
            ["givenName"] = null,
            ["jobTitle"] = null,
            ["mail"] = primary,
            ["mobilePhone"] = null,
            ["officeLocation"] = null,
            ["preferredLanguage"] = null,
            ["surname"] = null,
            ["userPrincipalName"] = account.UserPrincipalName,
            ["id"] = account.ObjectId,
            ["accountEnabled"] = account.AccountEnabled,
            ["userType"] = account.UserType,
            ["onPremisesSyncEnabled"] = account.OnPremisesSyncEnabled,
            ["proxyAddresses"] = proxies,
            ["mailNickname"] = primary.Split('@')[0],
            ["otherMails"] = new JsonArray(),
            ["usageLocation"] = "US",
            ["createdDateTime"] = "2024-01-10T09:00:00Z",
            ["department"] = null,
            ["companyName"] = null,
            ["employeeId"] = null,
            ["creationType"] = null,
            ["externalUserState"] = account.UserType == "Guest" ? "Accepted" : null,
            ["onPremisesImmutableId"] = synced ? Convert.ToBase64String(Guid.Parse(account.ObjectId).ToByteArray()) : null,
            ["onPremisesSamAccountName"] = synced ? primary.Split('@')[0] : null,
            ["onPremisesUserPrincipalName"] = synced ? account.UserPrincipalName : null,
            ["onPremisesDomainName"] = synced ? account.UserPrincipalName.Split('@')[1] : null,
            ["onPremisesLastSyncDateTime"] = synced ? "2025-01-01T00:00:00Z" : null,
            ["passwordPolicies"] = null,
            ["lastPasswordChangeDateTime"] = "2024-01-10T09:00:00Z",
            ["assignedLicenses"] = new JsonArray(),
            ["identities"] = new JsonArray(new JsonObject { ["signInType"] = "userPrincipalName", ["issuer"] = account.UserPrincipalName.Split('@')[1], ["issuerAssignedId"] = account.UserPrincipalName }),
            ["securityIdentifier"] = "S-1-12-1-" + string.Join('-', Enumerable.Range(0, 4).Select(i => BitConverter.ToUInt32(Guid.Parse(account.ObjectId).ToByteArray(), i * 4).ToString(CultureInfo.InvariantCulture))),
        };
    }

    /// <summary>The policy in the shape of GET /identity/conditionalAccess/policies (B.2).</summary>
    public JsonObject PolicyJson(ConditionalAccessPolicySettings policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        JsonArray Ids(IEnumerable<string> users) => new(users.Select(u => (JsonNode?)(u.Contains('@', StringComparison.Ordinal) && _byUpn.TryGetValue(u, out var a) ? a.ObjectId : u)).ToArray());
        JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)v).ToArray());
        return new JsonObject
        {
            ["id"] = policy.Id,
            ["templateId"] = null,
            ["displayName"] = policy.DisplayName,
            ["createdDateTime"] = "2024-01-10T09:00:00Z",
            ["modifiedDateTime"] = "2025-03-27T21:42:26.951558Z",
            ["state"] = policy.State switch
            {
                ConditionalAccessPolicyState.Enabled => "enabled",
                ConditionalAccessPolicyState.Disabled => "disabled",
                _ => "enabledForReportingButNotEnforced",
            },
            ["conditions"] = new JsonObject
            {
                ["userRiskLevels"] = new JsonArray(),
                ["signInRiskLevels"] = new JsonArray(),
                ["servicePrincipalRiskLevels"] = new JsonArray(),
                ["clientAppTypes"] = Strings(policy.ClientAppTypes),
                ["platforms"] = policy.Platforms is { } p ? new JsonObject { ["includePlatforms"] = Strings(p.IncludePlatforms), ["excludePlatforms"] = Strings(p.ExcludePlatforms) } : null,
                ["locations"] = policy.Locations is { } l ? new JsonObject { ["includeLocations"] = Strings(l.IncludeLocations), ["excludeLocations"] = Strings(l.ExcludeLocations) } : null,
                ["devices"] = null,
                ["clientApplications"] = null,
                ["applications"] = new JsonObject
                {
                    ["includeApplications"] = Strings(policy.IncludeApplications),
                    ["excludeApplications"] = Strings(policy.ExcludeApplications),
                    ["includeUserActions"] = new JsonArray(),
                    ["includeAuthenticationContextClassReferences"] = new JsonArray(),
                },
                ["users"] = new JsonObject
                {
                    ["includeUsers"] = Ids(policy.IncludeUsers),
                    ["excludeUsers"] = Ids(policy.ExcludeUsers),
                    ["includeGroups"] = Strings(policy.IncludeGroups),
                    ["excludeGroups"] = Strings(policy.ExcludeGroups),
                    ["includeRoles"] = Strings(policy.IncludeRoles),
                    ["excludeRoles"] = Strings(policy.ExcludeRoles),
                    ["includeGuestsOrExternalUsers"] = null,
                    ["excludeGuestsOrExternalUsers"] = null,
                },
            },
            ["grantControls"] = new JsonObject
            {
                ["operator"] = "OR",
                ["builtInControls"] = new JsonArray(policy.Grant == ConditionalAccessGrant.Block ? "block" : "mfa"),
                ["customAuthenticationFactors"] = new JsonArray(),
                ["termsOfUse"] = new JsonArray(),
                ["authenticationStrength"] = null,
            },
            ["sessionControls"] = null,
        };
    }

    /// <summary>The appRoleId Graph uses for an Exchange application permission name.</summary>
    public static string AppRoleId(string roleName) =>
        KnownExchangeAppRoles.TryGetValue(roleName, out string? id) ? id : DerivedIds.Guid("exoAppRole", roleName);

    /// <summary>appRoleAssignments granted to the service principal with object id <paramref name="servicePrincipalId"/>, or null when it does not exist.</summary>
    public JsonArray? AppRoleAssignments(string servicePrincipalId)
    {
        if (servicePrincipalId.Equals(ExchangeServicePrincipalId, StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        var app = Tenant.Applications.FirstOrDefault(a => a.ServicePrincipalObjectId.Equals(servicePrincipalId, StringComparison.OrdinalIgnoreCase));
        if (app is null)
        {
            return null;
        }

        return new JsonArray(app.Roles.Select(role => (JsonNode?)new JsonObject
        {
            ["id"] = DerivedIds.Base64Url("appRoleAssignment", app.ServicePrincipalObjectId, role),
            ["deletedDateTime"] = null,
            ["appRoleId"] = AppRoleId(role),
            ["createdDateTime"] = "2024-02-02T04:22:45.4980259Z",
            ["principalDisplayName"] = app.DisplayName,
            ["principalId"] = app.ServicePrincipalObjectId,
            ["principalType"] = "ServicePrincipal",
            ["resourceDisplayName"] = ExchangeDisplayName,
            ["resourceId"] = ExchangeServicePrincipalId,
        }).ToArray());
    }

    private List<JsonObject> MemberList(string upn)
    {
        if (!_memberOf.TryGetValue(upn, out var list))
        {
            _memberOf[upn] = list = [];
        }

        return list;
    }

    private List<JsonObject> BuildServicePrincipals()
    {
        var list = new List<JsonObject>();
        foreach (var app in Tenant.Applications)
        {
            list.Add(ServicePrincipalJson(app.ServicePrincipalObjectId, app.AppId, app.DisplayName, new JsonArray()));
        }

        var roleNames = KnownExchangeAppRoles.Keys.Concat(Tenant.Applications.SelectMany(a => a.Roles)).Distinct(StringComparer.OrdinalIgnoreCase);
        var appRoles = new JsonArray(roleNames.Select(name => (JsonNode?)new JsonObject
        {
            ["allowedMemberTypes"] = new JsonArray("Application"),
            ["description"] = $"Allows the app to use {name}.",
            ["displayName"] = name,
            ["id"] = AppRoleId(name),
            ["isEnabled"] = true,
            ["origin"] = "Application",
            ["value"] = name,
        }).ToArray());
        list.Add(ServicePrincipalJson(ExchangeServicePrincipalId, ExchangeAppId, ExchangeDisplayName, appRoles));
        return list;
    }

    private static JsonObject ServicePrincipalJson(string id, string appId, string? displayName, JsonArray appRoles) => new()
    {
        ["id"] = id,
        ["deletedDateTime"] = null,
        ["accountEnabled"] = true,
        ["appDisplayName"] = displayName,
        ["appId"] = appId,
        ["appOwnerOrganizationId"] = null,
        ["displayName"] = displayName,
        ["servicePrincipalNames"] = new JsonArray(appId),
        ["servicePrincipalType"] = "Application",
        ["signInAudience"] = "AzureADMyOrg",
        ["tags"] = new JsonArray(),
        ["appRoles"] = appRoles,
    };

    private SignInLog BuildSignIns()
    {
        var list = new List<(ScenarioAccount Account, DateTimeOffset When, JsonObject Json)>();
        foreach (var account in Scenario.Accounts)
        {
            int n = 0;
            foreach (var signIn in account.SignIns ?? [])
            {
                n++;
                var when = Anchor - TimeSpan.FromMinutes(signIn.MinutesAgo);
                string result = signIn.ConditionalAccessStatus
                    ?? (signIn.AppliedConditionalAccessPolicies.Any(p => p.Result == "failure") ? "failure"
                        : signIn.AppliedConditionalAccessPolicies.Any(p => p.Result == "success") ? "success" : "notApplied");
                bool exchange = signIn.ClientAppUsed is "Authenticated SMTP" or "IMAP4" or "POP3" or "Exchange ActiveSync" or "Autodiscover" or "Exchange Web Services" or "MAPI Over HTTP" or "Outlook Anywhere (RPC over HTTP)" or "Other clients";
                string key = account.ObjectId + "|" + n.ToString(CultureInfo.InvariantCulture);
                byte[] hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key));
                list.Add((account, when, new JsonObject
                {
                    ["id"] = DerivedIds.Guid("signIn", key),
                    ["createdDateTime"] = when.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
                    ["userDisplayName"] = account.DisplayName,
                    ["userPrincipalName"] = account.UserPrincipalName,
                    ["userId"] = account.ObjectId,
                    ["appDisplayName"] = exchange ? ExchangeDisplayName : "Microsoft Office",
                    ["appId"] = exchange ? ExchangeAppId : "d3590ed6-52b3-4102-aeff-aad2292ab01c",
                    ["resourceDisplayName"] = ExchangeDisplayName,
                    ["resourceId"] = ExchangeAppId,
                    ["clientAppUsed"] = signIn.ClientAppUsed,
                    ["ipAddress"] = signIn.IpAddress ?? $"203.0.113.{1 + (hash[0] % 254)}",
                    ["correlationId"] = DerivedIds.Guid("correlation", key),
                    ["isInteractive"] = true,
                    ["conditionalAccessStatus"] = result,
                    ["riskDetail"] = "none",
                    ["riskLevelAggregated"] = "none",
                    ["riskLevelDuringSignIn"] = "none",
                    ["riskState"] = "none",
                    ["riskEventTypes_v2"] = new JsonArray(),
                    ["status"] = new JsonObject
                    {
                        ["errorCode"] = signIn.ErrorCode,
                        ["failureReason"] = signIn.FailureReason ?? DefaultFailureReason(signIn.ErrorCode),
                        ["additionalDetails"] = null,
                    },
                    ["deviceDetail"] = new JsonObject
                    {
                        ["deviceId"] = string.Empty,
                        ["displayName"] = string.Empty,
                        ["operatingSystem"] = string.Empty,
                        ["browser"] = string.Empty,
                        ["isCompliant"] = false,
                        ["isManaged"] = false,
                        ["trustType"] = string.Empty,
                    },
                    ["location"] = new JsonObject
                    {
                        ["city"] = "Redmond",
                        ["state"] = "Washington",
                        ["countryOrRegion"] = "US",
                        ["geoCoordinates"] = new JsonObject { ["altitude"] = null, ["latitude"] = 47.6740, ["longitude"] = -122.1215 },
                    },
                    ["appliedConditionalAccessPolicies"] = new JsonArray(signIn.AppliedConditionalAccessPolicies.Select(p => (JsonNode?)new JsonObject
                    {
                        ["id"] = p.Id,
                        ["displayName"] = p.DisplayName ?? Tenant.ConditionalAccessPolicies.FirstOrDefault(c => c.Id.Equals(p.Id, StringComparison.OrdinalIgnoreCase))?.DisplayName,
                        ["enforcedGrantControls"] = new JsonArray(p.EnforcedGrantControls.Select(g => (JsonNode?)g).ToArray()),
                        ["enforcedSessionControls"] = new JsonArray(),
                        ["result"] = p.Result,
                    }).ToArray()),
                }));
            }
        }

        var ordered = list.OrderByDescending(x => x.When).ThenBy(x => x.Json["id"]!.GetValue<string>(), StringComparer.Ordinal).ToList();
        return new SignInLog(Scenario, Anchor, ordered);
    }

    /// <summary>status.failureReason texts (EXO-SMTP-AUTH.md 1.7; wording [inferred] except 53003 per SHAPES B.7).</summary>
    public static string? DefaultFailureReason(int errorCode) => errorCode switch
    {
        0 => null,
        50034 => "The user account does not exist in the directory.",
        50053 => "Account is locked because the user tried to sign in too many times with an incorrect user ID or password.",
        50055 => "The password is expired.",
        50057 => "The user account is disabled.",
        50076 => "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
        50079 => "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access the resource.",
        50126 => "Error validating credentials due to invalid username or password.",
        53003 => "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        530032 => "User blocked due to conditional access on security policy.",
        530035 => "Access has been blocked by security defaults. This is due to the request using legacy auth or being deemed unsafe by security defaults policy.",
        _ => "Other.",
    };

    private List<JsonObject> BuildDomains()
    {
        var list = Tenant.EffectiveDomains().Select(d => DomainJson(d.Id, d.AuthenticationType.ToString(), d.Id.Equals(Tenant.Domain, StringComparison.OrdinalIgnoreCase), false)).ToList();
        string initial = Tenant.InitialDomain();
        if (!list.Any(d => d["id"]!.GetValue<string>().Equals(initial, StringComparison.OrdinalIgnoreCase)))
        {
            list.Add(DomainJson(initial, "Managed", false, true));
        }

        return list;
    }

    private static JsonObject DomainJson(string id, string authenticationType, bool isDefault, bool isInitial) => new()
    {
        ["id"] = id,
        ["authenticationType"] = authenticationType,
        ["availabilityStatus"] = null,
        ["isAdminManaged"] = true,
        ["isDefault"] = isDefault,
        ["isInitial"] = isInitial,
        ["isRoot"] = true,
        ["isVerified"] = true,
        ["passwordNotificationWindowInDays"] = 14,
        ["passwordValidityPeriodInDays"] = 2147483647,
        ["supportedServices"] = new JsonArray("Email", "OfficeCommunicationsOnline"),
        ["state"] = null,
    };
}
