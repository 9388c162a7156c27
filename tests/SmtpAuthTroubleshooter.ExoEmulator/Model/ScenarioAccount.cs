using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Serialization;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>An Entra user and its Exchange Online recipient.</summary>
public sealed record ScenarioAccount
{
    public required string UserPrincipalName { get; init; }

    /// <summary>Entra object id (GUID).</summary>
    public required string ObjectId { get; init; }

    public string? DisplayName { get; init; }

    /// <summary>Primary SMTP address; defaults to the UPN.</summary>
    public string? PrimarySmtpAddress { get; init; }

    /// <summary>Other proxy addresses (smtp:), without the prefix.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>The account's password, or null when it has none basic auth could use.</summary>
    public string? Password { get; init; }

    /// <summary>App passwords (per-user MFA); they satisfy per-user MFA for basic auth, nothing else.</summary>
    public IReadOnlyList<string> AppPasswords { get; init; } = [];

    public RecipientTypeDetails RecipientTypeDetails { get; init; } = RecipientTypeDetails.UserMailbox;

    /// <summary><c>Get-CASMailbox</c> SmtpClientAuthenticationDisabled: true, false, or null (inherit the tenant value).</summary>
    public bool? SmtpClientAuthenticationDisabled { get; init; }

    /// <summary><c>Get-User</c> AuthenticationPolicy (a policy name), or null for the tenant default.</summary>
    public string? AuthenticationPolicy { get; init; }

    /// <summary>Graph accountEnabled.</summary>
    public bool AccountEnabled { get; init; } = true;

    /// <summary>Locked out by Entra smart lockout (50053).</summary>
    public bool Locked { get; init; }

    /// <summary>Password expired (50055).</summary>
    public bool PasswordExpired { get; init; }

    /// <summary>Graph beta authentication/requirements perUserMfaState.</summary>
    public PerUserMfaState PerUserMfaState { get; init; } = PerUserMfaState.Disabled;

    /// <summary>Per-mailbox override of tenant.basicAuthRetired; null inherits.</summary>
    public bool? BasicAuthRetired { get; init; }

    /// <summary>Addresses this account has SendAs on (Get-RecipientPermission &lt;address&gt; -AccessRights SendAs).</summary>
    public IReadOnlyList<string> SendAs { get; init; } = [];

    /// <summary>AppIds whose Exchange service principal has FullAccess on this mailbox (Get-MailboxPermission).</summary>
    public IReadOnlyList<string> FullAccessApps { get; init; } = [];

    /// <summary>User principal names with FullAccess on this mailbox (Get-MailboxPermission): with a delegated token of
    /// such a user, XOAUTH2 may name this mailbox in user= (a shared mailbox, per Microsoft's OAuth page for IMAP, POP
    /// and SMTP, "SASL XOAUTH2 authentication for shared mailboxes").</summary>
    public IReadOnlyList<string> FullAccessUsers { get; init; } = [];

    /// <summary>Graph userType: Member or Guest.</summary>
    public string UserType { get; init; } = "Member";

    /// <summary>Graph onPremisesSyncEnabled: true for a synced (hybrid) user, null for cloud-only.</summary>
    public bool? OnPremisesSyncEnabled { get; init; }

    /// <summary>Entra sign-ins of this account (Graph /auditLogs/signIns). Null = none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ScenarioSignIn>? SignIns { get; init; }

    /// <summary>SMTP AUTH clients of this mailbox (devices, apps at an IP): generated sign-ins and message trace rows. Null = none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ScenarioSmtpClient>? SmtpClients { get; init; }

    /// <summary>Free text for people (e.g. what the account's clients get wrong); ignored by the emulator.</summary>
    public string? Description { get; init; }

    /// <summary>The primary SMTP address, defaulted to the UPN.</summary>
    [JsonIgnore]
    public string EffectivePrimarySmtpAddress => PrimarySmtpAddress ?? UserPrincipalName;

    /// <summary>UPN, primary SMTP address and aliases.</summary>
    public IEnumerable<string> AllAddresses()
    {
        yield return UserPrincipalName;
        if (PrimarySmtpAddress is not null)
        {
            yield return PrimarySmtpAddress;
        }

        foreach (string alias in Aliases)
        {
            yield return alias;
        }
    }

    /// <summary>Whether <paramref name="address"/> is this account's UPN, primary address or an alias.</summary>
    public bool OwnsAddress(string address) => AllAddresses().Any(a => string.Equals(a, address, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether this account may put <paramref name="address"/> in MAIL FROM or the From header.</summary>
    public bool MaySendAs(string address) =>
        OwnsAddress(address) || SendAs.Any(a => string.Equals(a, address, StringComparison.OrdinalIgnoreCase));
}

[JsonConverter(typeof(JsonStringEnumConverter<RecipientTypeDetails>))]
public enum RecipientTypeDetails
{
    UserMailbox,
    SharedMailbox,
}

[JsonConverter(typeof(JsonStringEnumConverter<PerUserMfaState>))]
public enum PerUserMfaState
{
    [JsonStringEnumMemberName("disabled")]
    Disabled,

    [JsonStringEnumMemberName("enabled")]
    Enabled,

    [JsonStringEnumMemberName("enforced")]
    Enforced,
}
