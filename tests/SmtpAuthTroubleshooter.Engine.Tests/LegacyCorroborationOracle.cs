using System;
using System.Globalization;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// The oracle for the corroboration rules: a verbatim copy of the C# switch that EvidenceCorroborator.Judge was before
    /// the rules became catalog data (ErrorCatalog.json "corroboration"). It lives only here, so that the data-driven rules
    /// are checked against the behaviour they replaced. Do not change it to match a new rule: a new rule gets its own test.
    /// </summary>
    internal static class LegacyCorroborationOracle
    {
        internal static (Verdict? Verdict, string? Why) Judge(string causeId, SmtpAuthPolicyState s, SmtpAuthMethod method)
        {
            switch (causeId)
            {
                case "TenantSmtpAuthDisabled":
                    if (s.TenantSmtpAuthDisabled == true && s.SmtpAuthDecidedBy == "Tenant")
                    {
                        return (Verdict.Confirmed, "Settings: Get-TransportConfig SmtpClientAuthenticationDisabled is True and the mailbox's value is empty, so it inherits the organization's. Enabling it for this mailbox alone (Set-CASMailbox) is the preferred fix; it wins over the organization setting.");
                    }

                    if (s.SmtpAuthDecidedBy == "Mailbox" || s.TenantSmtpAuthDisabled == false)
                    {
                        return (Verdict.RuledOut, "Settings: " + (s.SmtpAuthDecidedBy == "Mailbox" ? "the mailbox's own SmtpClientAuthenticationDisabled decides, not the organization's." : "SMTP AUTH is on for the organization."));
                    }

                    break;
                case "MailboxSmtpAuthDisabled":
                    if (s.MailboxSmtpAuthDisabled == true)
                    {
                        return (Verdict.Confirmed, "Settings: the mailbox's SmtpClientAuthenticationDisabled is True.");
                    }

                    if (s.MailboxSmtpAuthDisabled == false || (s.MailboxSmtpAuthDisabled is null && s.TenantSmtpAuthDisabled == false))
                    {
                        return (Verdict.RuledOut, "Settings: SMTP AUTH is not disabled on the mailbox.");
                    }

                    break;
                case "AuthenticationPolicyBlocksBasicSmtp":
                case "BasicAuthDisabledForAccount":
                    if (s.AllowBasicAuthSmtp == false)
                    {
                        return (Verdict.Confirmed, string.Format(CultureInfo.InvariantCulture, "Settings: authentication policy '{0}' ({1}) has AllowBasicAuthSmtp False. Policy changes take up to 24 hours to apply.", s.AuthenticationPolicy, s.AuthenticationPolicySource));
                    }

                    if (causeId == "AuthenticationPolicyBlocksBasicSmtp" && (s.AllowBasicAuthSmtp == true || s.AuthenticationPolicySource == "None"))
                    {
                        return (Verdict.RuledOut, s.AuthenticationPolicySource == "None" ? "Settings: no authentication policy applies to this user." : "Settings: the applying authentication policy allows basic SMTP.");
                    }

                    break;
                case "SecurityDefaultsBlockBasicAuth":
                    if (s.SecurityDefaultsEnabled == true && method != SmtpAuthMethod.OAuth)
                    {
                        return (Verdict.Confirmed, "Settings: Entra security defaults are on; they block every legacy (basic) sign-in, SMTP AUTH included. OAuth is not affected.");
                    }

                    if (s.SecurityDefaultsEnabled == false)
                    {
                        return (Verdict.RuledOut, "Settings: Entra security defaults are off.");
                    }

                    break;
                case "ConditionalAccessBlocksLegacyAuth":
                    if (!string.IsNullOrEmpty(s.BlockingConditionalAccessPolicies))
                    {
                        return (Verdict.Confirmed, "Settings: Conditional Access blocks other clients for this user: " + s.BlockingConditionalAccessPolicies + ".");
                    }

                    if (s.ConditionalAccessEvaluatedBy is not null && string.IsNullOrEmpty(s.ConditionalAccessDependsOnSource) && string.IsNullOrEmpty(s.MfaConditionalAccessPolicies))
                    {
                        return (Verdict.RuledOut, "Settings: no enabled Conditional Access policy blocks other clients for this user" + (string.IsNullOrEmpty(s.ReportOnlyConditionalAccessPolicies) ? "." : " (report-only: " + s.ReportOnlyConditionalAccessPolicies + ", not enforced)."));
                    }

                    break;
                case "MfaRequired":
                    if (!string.IsNullOrEmpty(s.MfaConditionalAccessPolicies) || string.Equals(s.PerUserMfaState, "enforced", StringComparison.OrdinalIgnoreCase))
                    {
                        return (Verdict.Confirmed, "Settings: " + (!string.IsNullOrEmpty(s.MfaConditionalAccessPolicies) ? "Conditional Access requires MFA: " + s.MfaConditionalAccessPolicies + "." : "per-user MFA is enforced; basic SMTP then needs an app password, if app passwords are allowed."));
                    }

                    if (string.Equals(s.PerUserMfaState, "enabled", StringComparison.OrdinalIgnoreCase))
                    {
                        // Not decisive either way: "enabled" users can still use their password for legacy
                        // authentication, and become "enforced" as soon as they register MFA methods.
                        return (null, "Settings: per-user MFA is enabled but not enforced, which does not block a password for legacy authentication; it becomes enforced (and blocks it) once the user registers MFA methods, so check the state again after a failure.");
                    }

                    if (s.ConditionalAccessEvaluatedBy is not null && s.PerUserMfaState == "disabled")
                    {
                        return (Verdict.RuledOut, "Settings: no Conditional Access MFA grant applies and per-user MFA is disabled.");
                    }

                    break;
                case "AccountDisabled":
                case "AccountIssue":
                    if (s.AccountEnabled == false)
                    {
                        return (Verdict.Confirmed, "Settings: Entra accountEnabled is False (sign-in blocked).");
                    }

                    if (causeId == "AccountDisabled" && s.AccountEnabled == true)
                    {
                        return (Verdict.RuledOut, "Settings: the account is enabled.");
                    }

                    break;
                case "SharedMailboxSignIn":
                    if (string.Equals(s.RecipientTypeDetails, "SharedMailbox", StringComparison.OrdinalIgnoreCase) && s.ClientId is null)
                    {
                        // With OAuth a user's delegated token may name a shared mailbox it has FullAccess to (Microsoft's OAuth
                        // page for IMAP, POP and SMTP): a note, not a confirmation (changed on purpose, with the catalog rule).
                        return method == SmtpAuthMethod.OAuth
                            ? (null, "Settings: the mailbox is a shared mailbox. It cannot sign in itself, but with OAuth a delegated token of a user who can open it (in practice with FullAccess) may name it in XOAUTH2 user= (Get-MailboxPermission shows who has).")
                            : (Verdict.Confirmed, "Settings: the mailbox is a shared mailbox, which cannot be the sign-in identity.");
                    }

                    if (s.RecipientTypeDetails is not null && !string.Equals(s.RecipientTypeDetails, "SharedMailbox", StringComparison.OrdinalIgnoreCase))
                    {
                        return (Verdict.RuledOut, "Settings: the mailbox is a " + s.RecipientTypeDetails + ", not a shared mailbox.");
                    }

                    break;
                case "ServicePrincipalNotRegistered":
                    if (s.ServicePrincipalRegistered == false || s.ServicePrincipalObjectIdMatches == false)
                    {
                        return (Verdict.Confirmed, s.ServicePrincipalRegistered == false
                            ? "Settings: the app has no Exchange service principal (Get-ServicePrincipal finds none): run New-ServicePrincipal with the enterprise application's object id."
                            : "Settings: the Exchange service principal was created with an object id that is not the enterprise application's (the app registration's object id, probably).");
                    }

                    if (s.ServicePrincipalRegistered == true && s.ServicePrincipalObjectIdMatches == true)
                    {
                        return (Verdict.RuledOut, "Settings: the Exchange service principal exists with the enterprise application's object id.");
                    }

                    break;
                case "MailboxPermissionMissing":
                    if (s.ServicePrincipalHasMailboxAccess == false)
                    {
                        return (Verdict.Confirmed, "Settings: the app's service principal has no FullAccess on the mailbox.");
                    }

                    if (s.ServicePrincipalHasMailboxAccess == true)
                    {
                        return (Verdict.RuledOut, "Settings: the app's service principal has FullAccess on the mailbox.");
                    }

                    break;
                case "TokenMissingPermission":
                    if (s.AppHasSmtpSendAsApp == false)
                    {
                        return (Verdict.Confirmed, "Settings: the app has no admin-consented SMTP.SendAsApp application permission.");
                    }

                    break;
                case "SendAsDenied":
                    if (s.SendAsAllowed == false)
                    {
                        return (Verdict.Confirmed, "Settings: the mailbox has no SendAs right on " + s.From + ".");
                    }

                    if (s.SendAsAllowed == true)
                    {
                        return (Verdict.RuledOut, "Settings: the mailbox may send as " + s.From + ".");
                    }

                    break;
                case "FederatedStsFailure":
                    if (string.Equals(s.DomainAuthenticationType, "Managed", StringComparison.OrdinalIgnoreCase))
                    {
                        return (Verdict.RuledOut, "Settings: the domain is managed, not federated.");
                    }

                    break;
            }

            return (null, null);
        }
    }
}
