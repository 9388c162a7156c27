using System;
using System.Collections.Generic;
using System.Linq;

namespace SmtpAuthTroubleshooter.Engine.Policy
{
    /// <summary>Tenant-wide settings, read once per invocation.</summary>
    public sealed class TenantPolicyData
    {
        /// <summary>Get-TransportConfig SmtpClientAuthenticationDisabled.</summary>
        public bool? SmtpAuthDisabled { get; set; }
        /// <summary>Get-TransportConfig AllowLegacyTLSClients.</summary>
        public bool? AllowLegacyTls { get; set; }
        /// <summary>True when Get-TransportConfig was read.</summary>
        public bool TransportRead { get; set; }
        /// <summary>Get-OrganizationConfig DefaultAuthenticationPolicy (name or DN), empty for none.</summary>
        public string? DefaultAuthenticationPolicy { get; set; }
        /// <summary>True when Get-OrganizationConfig was read.</summary>
        public bool OrganizationRead { get; set; }
        /// <summary>Authentication policies by name, DN and GUID (case-insensitive) → AllowBasicAuthSmtp; null when not read.</summary>
        public Dictionary<string, (string Name, bool? AllowBasicAuthSmtp)>? AuthenticationPolicies { get; set; }
        /// <summary>Entra security defaults; null when not read.</summary>
        public bool? SecurityDefaultsEnabled { get; set; }
        /// <summary>Conditional Access policies; null when not read.</summary>
        public List<ConditionalAccessPolicy>? ConditionalAccessPolicies { get; set; }
        /// <summary>Domain → Managed/Federated.</summary>
        public Dictionary<string, string> DomainAuthenticationTypes { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        /// <summary>Why tenant-wide reads failed (each one names the setting and, for Graph, the permission).</summary>
        public List<string> UnknownReasons { get; } = new List<string>();
        /// <summary>Reasons that concern security defaults only.</summary>
        public string? SecurityDefaultsUnknownReason { get; set; }
        /// <summary>Reasons that concern Conditional Access only.</summary>
        public string? ConditionalAccessUnknownReason { get; set; }
    }

    /// <summary>One mailbox's data from Exchange Online and Graph.</summary>
    public sealed class MailboxPolicyData
    {
        /// <summary>UPN.</summary>
        public string? UserPrincipalName { get; set; }
        /// <summary>Primary SMTP address.</summary>
        public string? PrimarySmtpAddress { get; set; }
        /// <summary>RecipientTypeDetails.</summary>
        public string? RecipientTypeDetails { get; set; }
        /// <summary>Entra object id.</summary>
        public string? ExternalDirectoryObjectId { get; set; }
        /// <summary>The mailbox's SmtpClientAuthenticationDisabled.</summary>
        public bool? MailboxSmtpAuthDisabled { get; set; }
        /// <summary>True when the CAS mailbox was read.</summary>
        public bool CasRead { get; set; }
        /// <summary>Get-User AuthenticationPolicy.</summary>
        public string? UserAuthenticationPolicy { get; set; }
        /// <summary>True when Get-User was read (or the bulk policy listing covered this user).</summary>
        public bool UserRead { get; set; }
        /// <summary>Graph accountEnabled.</summary>
        public bool? AccountEnabled { get; set; }
        /// <summary>Graph userType.</summary>
        public string? UserType { get; set; }
        /// <summary>Per-user MFA state.</summary>
        public string? PerUserMfaState { get; set; }
        /// <summary>Transitive group ids; null when not read.</summary>
        public HashSet<string>? GroupIds { get; set; }
        /// <summary>Directory role template ids; null when not read.</summary>
        public HashSet<string>? RoleTemplateIds { get; set; }
        /// <summary>Latest SMTP sign-in.</summary>
        public DateTime? LastSignInUtc { get; set; }
        /// <summary>Its error code.</summary>
        public int? LastSignInErrorCode { get; set; }
        /// <summary>Its failure reason.</summary>
        public string? LastSignInFailureReason { get; set; }
        /// <summary>CA policies that failed it.</summary>
        public string? LastSignInConditionalAccess { get; set; }
        /// <summary>SMTP sign-ins in the window; null when not read.</summary>
        public int? SignInCount { get; set; }
        /// <summary>App-only: client id.</summary>
        public string? ClientId { get; set; }
        /// <summary>App-only: the enterprise application's object id (Graph).</summary>
        public string? EnterpriseAppObjectId { get; set; }
        /// <summary>App-only: an Exchange SP exists.</summary>
        public bool? ServicePrincipalRegistered { get; set; }
        /// <summary>App-only: its ObjectId is the enterprise app's.</summary>
        public bool? ServicePrincipalObjectIdMatches { get; set; }
        /// <summary>App-only: FullAccess on the mailbox.</summary>
        public bool? ServicePrincipalHasMailboxAccess { get; set; }
        /// <summary>App-only: SMTP.SendAsApp granted.</summary>
        public bool? AppHasSmtpSendAsApp { get; set; }
        /// <summary>-From checked for SendAs.</summary>
        public string? From { get; set; }
        /// <summary>SendAs on -From.</summary>
        public bool? SendAsAllowed { get; set; }
        /// <summary>Why reads for this mailbox failed.</summary>
        public List<string> UnknownReasons { get; } = new List<string>();
        /// <summary>Graph's What If answer for this user, when asked for and given.</summary>
        public ConditionalAccessOutcome? WhatIf { get; set; }
        /// <summary>Reasons that leave the Entra user fields unknown.</summary>
        public string? UserUnknownReason { get; set; }
        /// <summary>Reasons that leave per-user MFA unknown.</summary>
        public string? MfaUnknownReason { get; set; }
    }

    /// <summary>
    /// Turns the settings into a state with verdicts. Pure: no I/O. Precedence: the mailbox
    /// switch over the organization's (both ways); the user's authentication policy over the organization default;
    /// only enabled CA policies act (report-only is shown, not enforced); an excluded user is not blocked.
    /// </summary>
    public static class PolicyEvaluator
    {
        /// <summary>Builds the state of one mailbox.</summary>
        public static SmtpAuthPolicyState Evaluate(TenantPolicyData tenant, MailboxPolicyData mailbox, DateTime readUtc)
        {
            var unknown = new List<string>(tenant.UnknownReasons);
            unknown.AddRange(mailbox.UnknownReasons);
            var state = new SmtpAuthPolicyState
            {
                UserPrincipalName = mailbox.UserPrincipalName,
                PrimarySmtpAddress = mailbox.PrimarySmtpAddress,
                RecipientTypeDetails = mailbox.RecipientTypeDetails,
                ExternalDirectoryObjectId = mailbox.ExternalDirectoryObjectId,
                TenantSmtpAuthDisabled = tenant.SmtpAuthDisabled,
                AllowLegacyTlsClients = tenant.AllowLegacyTls,
                MailboxSmtpAuthDisabled = mailbox.MailboxSmtpAuthDisabled,
                SecurityDefaultsEnabled = tenant.SecurityDefaultsEnabled,
                PerUserMfaState = mailbox.PerUserMfaState,
                AccountEnabled = mailbox.AccountEnabled,
                LastSmtpSignInUtc = mailbox.LastSignInUtc,
                LastSmtpSignInErrorCode = mailbox.LastSignInErrorCode,
                LastSmtpSignInFailureReason = mailbox.LastSignInFailureReason,
                LastSmtpSignInConditionalAccess = mailbox.LastSignInConditionalAccess,
                SmtpSignInCount = mailbox.SignInCount,
                ClientId = mailbox.ClientId,
                EnterpriseAppObjectId = mailbox.EnterpriseAppObjectId,
                ServicePrincipalRegistered = mailbox.ServicePrincipalRegistered,
                ServicePrincipalObjectIdMatches = mailbox.ServicePrincipalObjectIdMatches,
                ServicePrincipalHasMailboxAccess = mailbox.ServicePrincipalHasMailboxAccess,
                AppHasSmtpSendAsApp = mailbox.AppHasSmtpSendAsApp,
                From = mailbox.From,
                SendAsAllowed = mailbox.SendAsAllowed,
                ReadUtc = readUtc,
            };

            // 1. Effective SMTP AUTH: the mailbox value if set, else the organization's (https://learn.microsoft.com/powershell/module/exchangepowershell/set-casmailbox https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/disable-basic-authentication-in-exchange-online).
            bool smtpKnown;
            if (mailbox.CasRead && mailbox.MailboxSmtpAuthDisabled.HasValue)
            {
                state.SmtpAuthEnabled = !mailbox.MailboxSmtpAuthDisabled.Value;
                state.SmtpAuthDecidedBy = "Mailbox";
                smtpKnown = true;
            }
            else if (mailbox.CasRead && tenant.TransportRead && tenant.SmtpAuthDisabled.HasValue)
            {
                state.SmtpAuthEnabled = !tenant.SmtpAuthDisabled.Value;
                state.SmtpAuthDecidedBy = "Tenant";
                smtpKnown = true;
            }
            else
            {
                smtpKnown = false;
            }

            // 2. Authentication policy: the user's assignment, else the organization default (https://learn.microsoft.com/powershell/module/exchangepowershell/set-casmailbox https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/disable-basic-authentication-in-exchange-online).
            bool policyKnown = ResolveAuthenticationPolicy(tenant, mailbox, state);

            // 3. Entra: domain, Conditional Access.
            string? domain = mailbox.UserPrincipalName?.Split('@').LastOrDefault();
            if (domain is not null && tenant.DomainAuthenticationTypes.TryGetValue(domain, out string? authType))
            {
                state.DomainAuthenticationType = authType;
            }

            ConditionalAccessOutcome? ca = null;
            if (mailbox.WhatIf is not null)
            {
                // Graph's own evaluation wins over ours: it knows locations, risk and every condition.
                ca = mailbox.WhatIf;
                state.ConditionalAccessEvaluatedBy = "WhatIf";
                state.BlockingConditionalAccessPolicies = Join(ca.Blocking);
                state.MfaConditionalAccessPolicies = Join(ca.RequireMfa);
                state.ReportOnlyConditionalAccessPolicies = Join(ca.ReportOnly);
            }
            else if (tenant.ConditionalAccessPolicies is not null && mailbox.ExternalDirectoryObjectId is not null)
            {
                state.ConditionalAccessEvaluatedBy = "Local";
                ca = ConditionalAccessEvaluator.Evaluate(tenant.ConditionalAccessPolicies, mailbox.ExternalDirectoryObjectId, mailbox.GroupIds, mailbox.RoleTemplateIds,
                    string.Equals(mailbox.UserType, "Guest", StringComparison.OrdinalIgnoreCase));
                state.BlockingConditionalAccessPolicies = Join(ca.Blocking);
                state.MfaConditionalAccessPolicies = Join(ca.RequireMfa);
                state.ReportOnlyConditionalAccessPolicies = Join(ca.ReportOnly);
                state.ConditionalAccessDependsOnSource = Join(ca.DependsOnSource);
                if (ca.MembershipUnknown)
                {
                    unknown.Add("Conditional Access: a policy names groups or roles, and the user's membership could not be read (User.Read.All lists the groups; RoleManagement.Read.Directory the directory roles).");
                }
            }
            else if (tenant.ConditionalAccessPolicies is not null)
            {
                unknown.Add("Conditional Access: the mailbox has no Entra object id to evaluate the policies for.");
            }

            // Basic auth: the blocks in the order an admin checks them.
            var basicBlocks = new List<string>();
            bool basicUnknown = false;
            if (smtpKnown && state.SmtpAuthEnabled == false)
            {
                basicBlocks.Add(state.SmtpAuthDecidedBy == "Mailbox" ? CauseIds.MailboxSmtpAuthDisabled : CauseIds.TenantSmtpAuthDisabled);
            }

            basicUnknown |= !smtpKnown;
            if (policyKnown && state.AllowBasicAuthSmtp == false)
            {
                basicBlocks.Add(CauseIds.AuthenticationPolicyBlocksBasicSmtp);
            }

            basicUnknown |= !policyKnown;
            if (tenant.SecurityDefaultsEnabled == true)
            {
                basicBlocks.Add(CauseIds.SecurityDefaultsBlockBasicAuth);
            }

            basicUnknown |= tenant.SecurityDefaultsEnabled is null;
            if (ca is not null)
            {
                if (ca.Blocking.Count > 0)
                {
                    basicBlocks.Add(CauseIds.ConditionalAccessBlocksLegacyAuth);
                }

                if (ca.RequireMfa.Count > 0)
                {
                    basicBlocks.Add(CauseIds.MfaRequired);
                }

                basicUnknown |= ca.MembershipUnknown || ca.DependsOnSource.Count > 0;
            }
            else
            {
                basicUnknown = true;
            }

            if (string.Equals(mailbox.PerUserMfaState, "enforced", StringComparison.OrdinalIgnoreCase) && !basicBlocks.Contains(CauseIds.MfaRequired))
            {
                // Per-user MFA "enforced": a password alone no longer signs in to legacy protocols; basic SMTP needs an
                // app password, which works only if app passwords are allowed and no CA legacy block or security
                // defaults apply. "enabled" is not a block: Microsoft: "The user is enrolled in per-user Microsoft Entra
                // multifactor authentication, but can still use their password for legacy authentication"
                // (https://learn.microsoft.com/entra/identity/authentication/howto-mfa-userstates). The user moves to
                // "enforced" on registering MFA methods, so the state is read fresh each time (issue 10).
                basicBlocks.Add(CauseIds.MfaRequired);
            }

            basicUnknown |= mailbox.PerUserMfaState is null;
            bool shared = string.Equals(mailbox.RecipientTypeDetails, "SharedMailbox", StringComparison.OrdinalIgnoreCase);
            if (shared)
            {
                // A shared mailbox has sign-in blocked by design (accountEnabled False): that is not a fault to fix by
                // enabling it, and it is the shared mailbox itself that cannot be a basic-auth sign-in identity.
                basicBlocks.Add(CauseIds.SharedMailboxSignIn);
            }
            else if (mailbox.AccountEnabled == false)
            {
                basicBlocks.Add(CauseIds.AccountDisabled);
            }

            basicUnknown |= mailbox.AccountEnabled is null && !shared;

            if (string.Equals(state.DomainAuthenticationType, "Federated", StringComparison.OrdinalIgnoreCase))
            {
                unknown.Add("The UPN's domain is federated: basic auth depends on the federation service (STS), which this cmdlet cannot read.");
            }

            state.BasicAuthVerdict = basicBlocks.Count > 0 ? PolicyVerdict.Blocked : basicUnknown ? PolicyVerdict.Unknown : PolicyVerdict.Allowed;
            state.BasicAuthBlockers = basicBlocks.ToArray();

            // OAuth: the SMTP AUTH switch applies; security defaults, CA legacy blocks and auth
            // policies do not; app-only adds the service principal, its mailbox permission and SMTP.SendAsApp.
            var oauthBlocks = new List<string>();
            bool oauthUnknown = !smtpKnown;
            if (smtpKnown && state.SmtpAuthEnabled == false)
            {
                oauthBlocks.Add(state.SmtpAuthDecidedBy == "Mailbox" ? CauseIds.MailboxSmtpAuthDisabled : CauseIds.TenantSmtpAuthDisabled);
            }

            if (mailbox.ClientId is not null)
            {
                AddAppOnly(mailbox, oauthBlocks, ref oauthUnknown);
            }
            else if (mailbox.AccountEnabled == false && !shared)
            {
                // Delegated OAuth signs the user in. Not for a shared mailbox: an app-only token (SMTP.SendAsApp) or a
                // delegated token of a user who can open it names the shared mailbox in XOAUTH2 user=, and its own
                // blocked sign-in stops neither (Microsoft's OAuth page for IMAP, POP and SMTP).
                oauthBlocks.Add(CauseIds.AccountDisabled);
            }

            if (mailbox.From is not null && mailbox.SendAsAllowed == false)
            {
                basicBlocks.Add(CauseIds.SendAsDenied);
                oauthBlocks.Add(CauseIds.SendAsDenied);
                state.BasicAuthVerdict = PolicyVerdict.Blocked;
                state.BasicAuthBlockers = basicBlocks.ToArray();
            }

            state.OAuthVerdict = oauthBlocks.Count > 0 ? PolicyVerdict.Blocked : oauthUnknown ? PolicyVerdict.Unknown : PolicyVerdict.Allowed;
            state.OAuthBlockers = oauthBlocks.ToArray();
            state.UnknownReasons = Join(unknown.Distinct(StringComparer.Ordinal));
            return state;
        }

        private static void AddAppOnly(MailboxPolicyData mailbox, List<string> blocks, ref bool unknown)
        {
            if (mailbox.ServicePrincipalRegistered == false)
            {
                blocks.Add(CauseIds.ServicePrincipalNotRegistered);
            }
            else if (mailbox.ServicePrincipalObjectIdMatches == false)
            {
                blocks.Add(CauseIds.ServicePrincipalNotRegistered);
            }

            if (mailbox.ServicePrincipalHasMailboxAccess == false)
            {
                blocks.Add(CauseIds.MailboxPermissionMissing);
            }

            if (mailbox.AppHasSmtpSendAsApp == false)
            {
                blocks.Add(CauseIds.TokenMissingPermission);
            }

            unknown |= mailbox.ServicePrincipalRegistered is null || mailbox.AppHasSmtpSendAsApp is null
                || (mailbox.ServicePrincipalRegistered == true && (mailbox.ServicePrincipalObjectIdMatches is null || mailbox.ServicePrincipalHasMailboxAccess is null));
        }

        private static bool ResolveAuthenticationPolicy(TenantPolicyData tenant, MailboxPolicyData mailbox, SmtpAuthPolicyState state)
        {
            if (!mailbox.UserRead || !tenant.OrganizationRead)
            {
                return false;
            }

            string? name = null;
            if (!string.IsNullOrWhiteSpace(mailbox.UserAuthenticationPolicy))
            {
                name = mailbox.UserAuthenticationPolicy;
                state.AuthenticationPolicySource = "User";
            }
            else if (!string.IsNullOrWhiteSpace(tenant.DefaultAuthenticationPolicy))
            {
                name = tenant.DefaultAuthenticationPolicy;
                state.AuthenticationPolicySource = "OrganizationDefault";
            }
            else
            {
                state.AuthenticationPolicySource = "None";
                return true;
            }

            if (tenant.AuthenticationPolicies is null)
            {
                state.AuthenticationPolicy = name;
                return false;
            }

            if (tenant.AuthenticationPolicies.TryGetValue(name!, out (string Name, bool? Allow) policy))
            {
                state.AuthenticationPolicy = policy.Name;
                state.AllowBasicAuthSmtp = policy.Allow;
                return policy.Allow.HasValue;
            }

            state.AuthenticationPolicy = name;
            return false;
        }

        private static string? Join(IEnumerable<string> items)
        {
            string joined = string.Join("; ", items);
            return joined.Length == 0 ? null : joined;
        }
    }
}
