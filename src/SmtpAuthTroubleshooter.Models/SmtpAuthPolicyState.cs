using System.Collections.Generic;
using System;

namespace SmtpAuthTroubleshooter
{
    /// <summary>Whether a setting lets SMTP AUTH through for an auth method.</summary>
    public enum PolicyVerdict
    {
        /// <summary>Every deciding setting was read and none blocks.</summary>
        Allowed = 0,
        /// <summary>A setting blocks it (named in ...BlockedBy).</summary>
        Blocked = 1,
        /// <summary>A deciding setting could not be read (see UnknownReasons) and none that was read blocks.</summary>
        Unknown = 2,
    }

    /// <summary>
    /// Every setting that decides SMTP AUTH for one mailbox, from Exchange Online and Entra ID, with the verdict for
    /// basic auth and for OAuth and the setting that decides each. Output of Get-SmtpAuthPolicyState. Flat and scalar:
    /// a read that failed leaves its fields empty and says why in UnknownReasons.
    /// </summary>
    public sealed class SmtpAuthPolicyState
    {
        /// <summary>The mailbox's UPN (its sign-in name).</summary>
        public string? UserPrincipalName { get; set; }
        /// <summary>The primary SMTP address.</summary>
        public string? PrimarySmtpAddress { get; set; }
        /// <summary>UserMailbox, SharedMailbox, ...</summary>
        public string? RecipientTypeDetails { get; set; }
        /// <summary>The Entra object id (Graph user id).</summary>
        public string? ExternalDirectoryObjectId { get; set; }
        /// <summary>Get-TransportConfig SmtpClientAuthenticationDisabled: True = off for the organization.</summary>
        public bool? TenantSmtpAuthDisabled { get; set; }
        /// <summary>The mailbox's SmtpClientAuthenticationDisabled: True off, False on, empty = follows the organization.</summary>
        public bool? MailboxSmtpAuthDisabled { get; set; }
        /// <summary>Effective SMTP AUTH (mailbox value if set, else the organization's); applies to basic and OAuth.</summary>
        public bool? SmtpAuthEnabled { get; set; }
        /// <summary>Mailbox or Tenant: which switch decides SmtpAuthEnabled.</summary>
        public string? SmtpAuthDecidedBy { get; set; }
        /// <summary>The authentication policy that applies (the user's, else the organization default), or empty for none.</summary>
        public string? AuthenticationPolicy { get; set; }
        /// <summary>User, OrganizationDefault or None: where AuthenticationPolicy comes from.</summary>
        public string? AuthenticationPolicySource { get; set; }
        /// <summary>The policy's AllowBasicAuthSmtp; empty when no policy applies.</summary>
        public bool? AllowBasicAuthSmtp { get; set; }
        /// <summary>Entra security defaults (which block basic auth).</summary>
        public bool? SecurityDefaultsEnabled { get; set; }
        /// <summary>Enabled Conditional Access policies that block "other clients" (legacy auth) for this user, joined by "; ".</summary>
        public string? BlockingConditionalAccessPolicies { get; set; }
        /// <summary>Enabled policies that require MFA (or another control basic auth cannot satisfy) for other clients.</summary>
        public string? MfaConditionalAccessPolicies { get; set; }
        /// <summary>Report-only policies that would block or require MFA (not enforced).</summary>
        public string? ReportOnlyConditionalAccessPolicies { get; set; }
        /// <summary>Policies whose effect depends on the source IP or platform (locations, platforms).</summary>
        public string? ConditionalAccessDependsOnSource { get; set; }
        /// <summary>Local (this module evaluated the policies) or WhatIf (Graph's What If API, -ConditionalAccessWhatIf).</summary>
        public string? ConditionalAccessEvaluatedBy { get; set; }
        /// <summary>Per-user MFA: disabled, enabled or enforced.</summary>
        public string? PerUserMfaState { get; set; }
        /// <summary>Entra accountEnabled (sign-in allowed).</summary>
        public bool? AccountEnabled { get; set; }
        /// <summary>Managed or Federated: the UPN domain's authentication type.</summary>
        public string? DomainAuthenticationType { get; set; }
        /// <summary>The latest "Authenticated SMTP" sign-in in the lookback window (UTC).</summary>
        public DateTime? LastSmtpSignInUtc { get; set; }
        /// <summary>Its error code (0 = success; 50126, 53003, 530035, ...).</summary>
        public int? LastSmtpSignInErrorCode { get; set; }
        /// <summary>Its failure reason.</summary>
        public string? LastSmtpSignInFailureReason { get; set; }
        /// <summary>Conditional Access policies that failed it.</summary>
        public string? LastSmtpSignInConditionalAccess { get; set; }
        /// <summary>"Authenticated SMTP" sign-ins in the lookback window.</summary>
        public int? SmtpSignInCount { get; set; }
        /// <summary>The app (client id) checked for app-only OAuth, if any.</summary>
        public string? ClientId { get; set; }
        /// <summary>The enterprise application's (service principal's) object id in Entra: what New-ServicePrincipal -ObjectId needs.</summary>
        public string? EnterpriseAppObjectId { get; set; }
        /// <summary>The app has an Exchange service principal (New-ServicePrincipal).</summary>
        public bool? ServicePrincipalRegistered { get; set; }
        /// <summary>The Exchange service principal's ObjectId is the enterprise application's object id.</summary>
        public bool? ServicePrincipalObjectIdMatches { get; set; }
        /// <summary>The app's service principal has FullAccess on the mailbox.</summary>
        public bool? ServicePrincipalHasMailboxAccess { get; set; }
        /// <summary>The app has the SMTP.SendAsApp application permission (admin-consented).</summary>
        public bool? AppHasSmtpSendAsApp { get; set; }
        /// <summary>The address checked for SendAs (-From), if any.</summary>
        public string? From { get; set; }
        /// <summary>The mailbox (or the app) may send as -From.</summary>
        public bool? SendAsAllowed { get; set; }
        /// <summary>Allowed, Blocked or Unknown for basic auth (AUTH LOGIN).</summary>
        public PolicyVerdict BasicAuthVerdict { get; set; }
        /// <summary>The CauseIds of the settings that block basic auth, most decisive first, joined by "; ".</summary>
        public string? BasicAuthBlockedBy { get => CauseIdList.Format(BasicAuthBlockers); set => BasicAuthBlockers = CauseIdList.Parse(value); }

        /// <summary>The same, as a list (what the module itself reads).</summary>
        internal IReadOnlyList<string> BasicAuthBlockers { get; set; } = Array.Empty<string>();
        /// <summary>Allowed, Blocked or Unknown for OAuth (XOAUTH2).</summary>
        public PolicyVerdict OAuthVerdict { get; set; }
        /// <summary>The CauseIds of the settings that block OAuth.</summary>
        public string? OAuthBlockedBy { get => CauseIdList.Format(OAuthBlockers); set => OAuthBlockers = CauseIdList.Parse(value); }

        /// <summary>The same, as a list.</summary>
        internal IReadOnlyList<string> OAuthBlockers { get; set; } = Array.Empty<string>();
        /// <summary>Which reads failed and why; a missing Graph permission is named (e.g. Policy.Read.All).</summary>
        public string? UnknownReasons { get; set; }
        /// <summary>Get-TransportConfig AllowLegacyTLSClients.</summary>
        public bool? AllowLegacyTlsClients { get; set; }
        /// <summary>When the settings were read (UTC).</summary>
        public DateTime ReadUtc { get; set; }
    }
}
