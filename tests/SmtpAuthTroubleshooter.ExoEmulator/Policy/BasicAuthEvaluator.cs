using System;
using System.Collections.Generic;
using System.Linq;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>The checks of an AUTH LOGIN, in the order <see cref="BasicAuthEvaluator"/> runs them.</summary>
public enum BasicAuthCheck
{
    /// <summary>Effective SmtpClientAuthenticationDisabled (mailbox ?? tenant).</summary>
    SmtpClientAuthentication,

    /// <summary>AllowBasicAuthSmtp of the user's authentication policy, else the tenant default.</summary>
    AuthenticationPolicy,

    /// <summary>tenant.basicAuthRetired, unless the account overrides it.</summary>
    BasicAuthRetired,

    /// <summary>Entra smart lockout.</summary>
    AccountLocked,

    /// <summary>Password (or app password).</summary>
    Credentials,

    /// <summary>Account disabled or password expired.</summary>
    AccountState,

    /// <summary>Entra security defaults (block legacy authentication).</summary>
    SecurityDefaults,

    /// <summary>Conditional access (block or MFA on "other clients") and per-user MFA.</summary>
    ConditionalAccess,

    /// <summary>A shared mailbox used as the login identity.</summary>
    MailboxType,
}

/// <summary>Ready-made precedences for <see cref="EmulatorOptions.BasicAuthCheckOrder"/>.</summary>
public static class BasicAuthCheckOrders
{
    /// <summary>
    /// The default. Exchange Online's own gates first, because EXO refuses basic auth "at the first
    /// pre-authentication step before the request reaches Azure Active Directory" (S19, authentication
    /// policies; the SMTP AUTH switch and the retirement are EXO protocol gates too, and new tenants with
    /// both security defaults and the switch off report the Tenant text first). Then Entra's primary
    /// authentication (lockout, which refuses even the right password; password; account state), then
    /// Entra's policies (security defaults, conditional access, MFA), which run only after the password
    /// was verified. Last the mailbox type, which only Exchange knows once the user is signed in.
    /// </summary>
    public static IReadOnlyList<BasicAuthCheck> ExchangeFirst { get; } =
    [
        BasicAuthCheck.SmtpClientAuthentication,
        BasicAuthCheck.AuthenticationPolicy,
        BasicAuthCheck.BasicAuthRetired,
        BasicAuthCheck.AccountLocked,
        BasicAuthCheck.Credentials,
        BasicAuthCheck.AccountState,
        BasicAuthCheck.SecurityDefaults,
        BasicAuthCheck.ConditionalAccess,
        BasicAuthCheck.MailboxType,
    ];

    /// <summary>The password before everything else (the order listed in the emulator's brief).</summary>
    public static IReadOnlyList<BasicAuthCheck> CredentialsFirst { get; } =
    [
        BasicAuthCheck.Credentials,
        BasicAuthCheck.SmtpClientAuthentication,
        BasicAuthCheck.AuthenticationPolicy,
        BasicAuthCheck.SecurityDefaults,
        BasicAuthCheck.ConditionalAccess,
        BasicAuthCheck.AccountLocked,
        BasicAuthCheck.AccountState,
        BasicAuthCheck.BasicAuthRetired,
        BasicAuthCheck.MailboxType,
    ];
}

/// <summary>Decides an AUTH LOGIN against a scenario. Pure: no I/O, no clock.</summary>
public static class BasicAuthEvaluator
{
    /// <summary>
    /// Evaluates <paramref name="userName"/>/<paramref name="password"/>. An unknown user always fails first
    /// (nothing else can be looked up); the other checks run in <paramref name="order"/>
    /// (default <see cref="BasicAuthCheckOrders.ExchangeFirst"/>). Concurrency is not decided here.
    /// </summary>
    public static AuthDecision Evaluate(TenantScenario scenario, string userName, string password, IReadOnlyList<BasicAuthCheck>? order = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(userName);
        ArgumentNullException.ThrowIfNull(password);

        // Basic auth signs in with the UPN; an alias or the primary SMTP address is an unknown user name to Entra (50034).
        var account = scenario.FindByUserPrincipalName(userName);
        if (account is null)
        {
            return new AuthDecision(AuthOutcome.UnknownUser, null, $"No account has the UPN '{userName}' (Entra 50034).");
        }

        bool usedAppPassword = account.Password != password && account.AppPasswords.Contains(password, StringComparer.Ordinal);
        bool passwordOk = account.Password == password || usedAppPassword;
        foreach (var check in order ?? BasicAuthCheckOrders.ExchangeFirst)
        {
            var refusal = Run(check, scenario.Tenant, account, passwordOk, usedAppPassword);
            if (refusal is not null)
            {
                return refusal;
            }
        }

        return new AuthDecision(AuthOutcome.Success, account, usedAppPassword ? "Signed in with an app password." : "Signed in.");
    }

    private static AuthDecision? Run(BasicAuthCheck check, TenantSettings tenant, ScenarioAccount account, bool passwordOk, bool usedAppPassword) => check switch
    {
        BasicAuthCheck.SmtpClientAuthentication => SmtpAuthSwitch.Check(tenant, account),
        BasicAuthCheck.AuthenticationPolicy => CheckAuthenticationPolicy(tenant, account),
        BasicAuthCheck.BasicAuthRetired when account.BasicAuthRetired ?? tenant.BasicAuthRetired =>
            new AuthDecision(AuthOutcome.BasicAuthRetired, account, account.BasicAuthRetired is null ? "Basic auth for SMTP AUTH is retired for the tenant." : "Basic auth for SMTP AUTH is retired for this mailbox."),
        BasicAuthCheck.AccountLocked when account.Locked =>
            new AuthDecision(AuthOutcome.AccountLocked, account, "The account is locked by smart lockout (Entra 50053)."),
        BasicAuthCheck.Credentials when !passwordOk =>
            new AuthDecision(AuthOutcome.WrongPassword, account, "The password is wrong (Entra 50126)."),
        BasicAuthCheck.AccountState when !account.AccountEnabled =>
            new AuthDecision(AuthOutcome.AccountDisabled, account, "The account is disabled (Entra 50057)."),
        BasicAuthCheck.AccountState when account.PasswordExpired =>
            new AuthDecision(AuthOutcome.PasswordExpired, account, "The password has expired (Entra 50055)."),
        BasicAuthCheck.SecurityDefaults when tenant.SecurityDefaultsEnabled =>
            new AuthDecision(AuthOutcome.SecurityDefaults, account, "Security defaults block legacy authentication (Entra 530035)."),
        BasicAuthCheck.ConditionalAccess => CheckConditionalAccess(tenant, account, usedAppPassword),
        BasicAuthCheck.MailboxType when account.RecipientTypeDetails == RecipientTypeDetails.SharedMailbox =>
            new AuthDecision(AuthOutcome.SharedMailboxLogin, account, "A shared mailbox cannot be the SMTP AUTH login identity."),
        _ => null,
    };

    private static AuthDecision? CheckAuthenticationPolicy(TenantSettings tenant, ScenarioAccount account)
    {
        string? name = account.AuthenticationPolicy ?? tenant.DefaultAuthenticationPolicy;
        var policy = tenant.FindAuthenticationPolicy(name);
        if (policy is null || policy.AllowBasicAuthSmtp)
        {
            return null;
        }

        string source = account.AuthenticationPolicy is null ? "the tenant default authentication policy" : "the user's authentication policy";
        return new AuthDecision(AuthOutcome.BasicAuthBlockedByPolicy, account, $"AllowBasicAuthSmtp is false in '{policy.Name}' ({source}).");
    }

    private static AuthDecision? CheckConditionalAccess(TenantSettings tenant, ScenarioAccount account, bool usedAppPassword)
    {
        var policies = ConditionalAccessEvaluator.PoliciesForSmtpBasicAuth(tenant, account).ToList();
        if (policies.FirstOrDefault(p => p.Grant == ConditionalAccessGrant.Block) is { } block)
        {
            return new AuthDecision(AuthOutcome.ConditionalAccessBlocked, account, $"Conditional access policy '{block.DisplayName ?? block.Id}' blocks other clients (Entra 53003).");
        }

        if (policies.FirstOrDefault(p => p.Grant == ConditionalAccessGrant.Mfa) is { } mfa)
        {
            return new AuthDecision(AuthOutcome.MfaRequired, account, $"Conditional access policy '{mfa.DisplayName ?? mfa.Id}' requires MFA, which basic auth cannot satisfy (Entra 50076).");
        }

        // Only "enforced" stops a password: "enabled" users "can still use their password for legacy authentication"
        // until they register MFA methods (https://learn.microsoft.com/entra/identity/authentication/howto-mfa-userstates).
        if (account.PerUserMfaState == PerUserMfaState.Enforced && !usedAppPassword)
        {
            return new AuthDecision(AuthOutcome.MfaRequired, account, $"Per-user MFA is {account.PerUserMfaState.ToString().ToLowerInvariant()} and no app password was used (Entra 50076).");
        }

        return null;
    }
}

/// <summary>The effective SMTP AUTH switch: the mailbox value, else the tenant value. Applies to basic and OAuth alike.</summary>
public static class SmtpAuthSwitch
{
    public static bool IsDisabled(TenantSettings tenant, ScenarioAccount account) =>
        account.SmtpClientAuthenticationDisabled ?? tenant.SmtpClientAuthenticationDisabled;

    internal static AuthDecision? Check(TenantSettings tenant, ScenarioAccount account) => account.SmtpClientAuthenticationDisabled switch
    {
        true => new AuthDecision(AuthOutcome.SmtpAuthDisabledForMailbox, account, "Get-CASMailbox SmtpClientAuthenticationDisabled is True."),
        null when tenant.SmtpClientAuthenticationDisabled => new AuthDecision(AuthOutcome.SmtpAuthDisabledForTenant, account, "Get-TransportConfig SmtpClientAuthenticationDisabled is True and the mailbox inherits it (null)."),
        _ => null,
    };
}

/// <summary>
/// Which conditional access policies apply to an SMTP basic-auth sign-in (client app type "other", resource
/// Exchange Online, device platform unknown, from an IP address in no named or trusted location). The same
/// matching rules serve the Graph What If emulation.
/// </summary>
public static class ConditionalAccessEvaluator
{
    private static readonly string[] ExchangeApplicationNames = ["All", "Office365", ConditionalAccessPolicySettings.ExchangeOnlineAppId];

    /// <summary>The enabled policies that target <paramref name="account"/> for legacy ("other") clients on Exchange Online.</summary>
    public static IEnumerable<ConditionalAccessPolicySettings> PoliciesForSmtpBasicAuth(TenantSettings tenant, ScenarioAccount account)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(account);
        return tenant.ConditionalAccessPolicies.Where(p =>
            p.State == ConditionalAccessPolicyState.Enabled
            && ClientAppApplies(p, "other")
            && ApplicationApplies(p, [ConditionalAccessPolicySettings.ExchangeOnlineAppId])
            && UserApplies(tenant, p, account)
            && PlatformApplies(p, null)
            && LocationApplies(p));
    }

    /// <summary>clientAppTypes contains "all" or <paramref name="clientAppType"/> (null or "all" in the sign-in matches any policy).</summary>
    public static bool ClientAppApplies(ConditionalAccessPolicySettings policy, string? clientAppType)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return clientAppType is null || clientAppType.Equals("all", StringComparison.OrdinalIgnoreCase)
            || policy.ClientAppTypes.Any(t => t.Equals("all", StringComparison.OrdinalIgnoreCase) || t.Equals(clientAppType, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>One of <paramref name="appIds"/> is included (All, Office365 for Exchange Online, or by id) and not excluded.</summary>
    public static bool ApplicationApplies(ConditionalAccessPolicySettings policy, IReadOnlyCollection<string> appIds)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(appIds);
        return appIds.Any(app =>
            (policy.IncludeApplications.Count == 0 || policy.IncludeApplications.Any(i => NamesApplication(i, app)))
            && !policy.ExcludeApplications.Any(e => NamesApplication(e, app)));
    }

    /// <summary>The account is included (users, groups, roles) and not excluded.</summary>
    public static bool UserApplies(TenantSettings tenant, ConditionalAccessPolicySettings policy, ScenarioAccount account)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(account);
        bool included = policy.IncludeUsers.Any(u => Targets(u, account))
            || policy.IncludeGroups.Any(g => IsGroupMember(tenant, g, account))
            || policy.IncludeRoles.Any(r => HasRole(tenant, r, account));
        bool excluded = policy.ExcludeUsers.Any(u => Targets(u, account))
            || policy.ExcludeGroups.Any(g => IsGroupMember(tenant, g, account))
            || policy.ExcludeRoles.Any(r => HasRole(tenant, r, account));
        return included && !excluded;
    }

    /// <summary>No platforms condition, or <paramref name="platform"/> (null = unknown, which only "all" covers) included and not excluded.</summary>
    public static bool PlatformApplies(ConditionalAccessPolicySettings policy, string? platform)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Platforms is not { } platforms)
        {
            return true;
        }

        bool included = platforms.IncludePlatforms.Any(p => p.Equals("all", StringComparison.OrdinalIgnoreCase) || p.Equals(platform, StringComparison.OrdinalIgnoreCase));
        bool excluded = platform is not null && platforms.ExcludePlatforms.Any(p => p.Equals("all", StringComparison.OrdinalIgnoreCase) || p.Equals(platform, StringComparison.OrdinalIgnoreCase));
        return included && !excluded;
    }

    /// <summary>No locations condition, or "All" included and not excluded (the sign-in IP is in no named or trusted location).</summary>
    public static bool LocationApplies(ConditionalAccessPolicySettings policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Locations is not { } locations
            || (locations.IncludeLocations.Contains("All", StringComparer.OrdinalIgnoreCase) && !locations.ExcludeLocations.Contains("All", StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Whether the account is a member of group <paramref name="groupId"/> (tenant.groups, by UPN).</summary>
    public static bool IsGroupMember(TenantSettings tenant, string groupId, ScenarioAccount account)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(account);
        return tenant.EffectiveGroups().Any(g => g.Id.Equals(groupId, StringComparison.OrdinalIgnoreCase)
            && g.Members.Contains(account.UserPrincipalName, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Whether the account holds the directory role with template id <paramref name="roleTemplateId"/>.</summary>
    public static bool HasRole(TenantSettings tenant, string roleTemplateId, ScenarioAccount account)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(account);
        return tenant.EffectiveDirectoryRoles().Any(r => r.RoleTemplateId.Equals(roleTemplateId, StringComparison.OrdinalIgnoreCase)
            && r.Members.Contains(account.UserPrincipalName, StringComparer.OrdinalIgnoreCase));
    }

    private static bool NamesApplication(string condition, string appId) =>
        condition.Equals("All", StringComparison.OrdinalIgnoreCase)
        || condition.Equals(appId, StringComparison.OrdinalIgnoreCase)
        || (condition.Equals("Office365", StringComparison.OrdinalIgnoreCase) && ExchangeApplicationNames.Contains(appId, StringComparer.OrdinalIgnoreCase));

    private static bool Targets(string user, ScenarioAccount account) =>
        user.Equals("All", StringComparison.OrdinalIgnoreCase)
        || user.Equals(account.ObjectId, StringComparison.OrdinalIgnoreCase)
        || user.Equals(account.UserPrincipalName, StringComparison.OrdinalIgnoreCase)
        || (user.Equals("GuestsOrExternalUsers", StringComparison.OrdinalIgnoreCase) && account.UserType == "Guest");
}
