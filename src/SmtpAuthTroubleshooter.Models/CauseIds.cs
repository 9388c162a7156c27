namespace SmtpAuthTroubleshooter
{
    /// <summary>
    /// The stable cause identifiers (a public contract: ids are added, never renamed or removed), as constants, so that
    /// code names a cause by a symbol the compiler checks. The error catalog defines each one; a test holds the two equal.
    /// </summary>
    public static class CauseIds
    {
        /// <summary>Sign-in is blocked for the account.</summary>
        public const string AccountDisabled = "AccountDisabled";

        /// <summary>Exchange reports an unspecified account problem.</summary>
        public const string AccountIssue = "AccountIssue";

        /// <summary>The account is locked after repeated failed sign-ins.</summary>
        public const string AccountLocked = "AccountLocked";

        /// <summary>The app's client secret or certificate was refused when getting the OAuth token (AADSTS7000215, 7000218).</summary>
        public const string AppCredentialInvalid = "AppCredentialInvalid";

        /// <summary>The app is not known in the tenant the token was asked from (AADSTS700016).</summary>
        public const string AppNotFoundInTenant = "AppNotFoundInTenant";

        /// <summary>The SASL mechanism the client uses is not offered (504 5.7.4, or no common mechanism).</summary>
        public const string AuthMechanismUnsupported = "AuthMechanismUnsupported";

        /// <summary>The server advertised no AUTH capability.</summary>
        public const string AuthNotAdvertised = "AuthNotAdvertised";

        /// <summary>An Exchange authentication policy with AllowBasicAuthSmtp off applies to the user.</summary>
        public const string AuthenticationPolicyBlocksBasicSmtp = "AuthenticationPolicyBlocksBasicSmtp";

        /// <summary>Basic authentication is disabled for this identity (a consumer account, or a policy).</summary>
        public const string BasicAuthDisabledForAccount = "BasicAuthDisabledForAccount";

        /// <summary>Basic authentication for SMTP AUTH client submission is no longer accepted (5.7.30).</summary>
        public const string BasicAuthRetired = "BasicAuthRetired";

        /// <summary>The server certificate did not validate (TLS interception, wrong host name or missing root).</summary>
        public const string CertificateValidationFailed = "CertificateValidationFailed";

        /// <summary>More than 3 concurrent SMTP connections for the mailbox (432 4.3.2).</summary>
        public const string ConcurrentConnectionLimit = "ConcurrentConnectionLimit";

        /// <summary>A Conditional Access policy blocks legacy authentication ('Other clients') for this user.</summary>
        public const string ConditionalAccessBlocksLegacyAuth = "ConditionalAccessBlocksLegacyAuth";

        /// <summary>The TCP connection to the SMTP endpoint was refused, reset or timed out.</summary>
        public const string ConnectionFailed = "ConnectionFailed";

        /// <summary>The mailbox is throttled for SMTP AUTH after continuous errors (5.2.251 to 5.2.255).</summary>
        public const string ContinuousErrorThrottling = "ContinuousErrorThrottling";

        /// <summary>Direct Send to your own domain was rejected (550 5.7.68 TenantInboundAttribution).</summary>
        public const string DirectSendRejected = "DirectSendRejected";

        /// <summary>The SMTP host name does not resolve.</summary>
        public const string DnsResolutionFailed = "DnsResolutionFailed";

        /// <summary>The federated identity provider (AD FS or another STS) is unreachable or not on HTTPS.</summary>
        public const string FederatedStsFailure = "FederatedStsFailure";

        /// <summary>TLS-on-connect (implicit TLS) was used against a STARTTLS port (587/25).</summary>
        public const string ImplicitTlsOnStartTlsPort = "ImplicitTlsOnStartTlsPort";

        /// <summary>Wrong password, or a user name that is not the account's sign-in name.</summary>
        public const string InvalidCredentials = "InvalidCredentials";

        /// <summary>The XOAUTH2 string the client sent is malformed (501 5.5.124/5.5.127, Cannot Decode response).</summary>
        public const string InvalidXoauth2Data = "InvalidXoauth2Data";

        /// <summary>The sending mailbox is over its quota.</summary>
        public const string MailboxFull = "MailboxFull";

        /// <summary>The app's service principal has no permission on the mailbox.</summary>
        public const string MailboxPermissionMissing = "MailboxPermissionMissing";

        /// <summary>SMTP AUTH is disabled on the mailbox itself.</summary>
        public const string MailboxSmtpAuthDisabled = "MailboxSmtpAuthDisabled";

        /// <summary>The message is larger than the server accepts.</summary>
        public const string MessageTooLarge = "MessageTooLarge";

        /// <summary>MFA is required (per-user MFA or a Conditional Access grant) and basic auth cannot satisfy it.</summary>
        public const string MfaRequired = "MfaRequired";

        /// <summary>No setting that was read blocks SMTP AUTH for this mailbox.</summary>
        public const string NoBlockingSetting = "NoBlockingSetting";

        /// <summary>The port answered, but no SMTP greeting came: the wrong port, TLS mode or service, or a server that delays its greeting.</summary>
        public const string NoSmtpGreeting = "NoSmtpGreeting";

        /// <summary>The server offered STARTTLS but could not start TLS (its certificate or key is missing or unreadable).</summary>
        public const string ServerTlsUnavailable = "ServerTlsUnavailable";

        /// <summary>The server requires a client certificate (mutual TLS) and the client presented none it accepts.</summary>
        public const string ClientCertificateRequired = "ClientCertificateRequired";

        /// <summary>The server stopped answering in the middle of the session (a time-out after it had greeted).</summary>
        public const string ServerStoppedResponding = "ServerStoppedResponding";

        /// <summary>The client sent mail without a successful AUTH (5.7.57).</summary>
        public const string NotAuthenticated = "NotAuthenticated";

        /// <summary>The server rejected the OAuth token without a reason (535 5.7.3 at Exchange Online); the cause is not yet narrowed.</summary>
        public const string OAuthTokenRejected = "OAuthTokenRejected";

        /// <summary>The account's password has expired.</summary>
        public const string PasswordExpired = "PasswordExpired";

        /// <summary>The 10,000 recipients per 24 hours submission quota is exceeded.</summary>
        public const string RecipientRateLimit = "RecipientRateLimit";

        /// <summary>The message came in on port 25 without a matching inbound connector (550 5.7.64 TenantAttribution; Relay Access Denied).</summary>
        public const string RelayConnectorMismatch = "RelayConnectorMismatch";

        /// <summary>The mailbox is on the restricted-senders list (5.1.8).</summary>
        public const string RestrictedSender = "RestrictedSender";

        /// <summary>Microsoft Entra security defaults block basic (legacy) authentication.</summary>
        public const string SecurityDefaultsBlockBasicAuth = "SecurityDefaultsBlockBasicAuth";

        /// <summary>The sender address is not the authenticated mailbox and no SendAs right exists.</summary>
        public const string SendAsDenied = "SendAsDenied";

        /// <summary>The server (or something in between) did not speak SMTP or TLS as expected.</summary>
        public const string ServerProtocolViolation = "ServerProtocolViolation";

        /// <summary>
        /// The client was set to Exchange Online's host, but another server answered in its place (a hosting provider or a
        /// firewall that redirects outbound SMTP), so the credentials went to that server.
        /// </summary>
        public const string SubmissionIntercepted = "SubmissionIntercepted";

        /// <summary>The app's service principal is not registered in Exchange Online, or is registered with the wrong object id.</summary>
        public const string ServicePrincipalNotRegistered = "ServicePrincipalNotRegistered";

        /// <summary>The live result and the tenant's settings disagree.</summary>
        public const string SettingsConflict = "SettingsConflict";

        /// <summary>A shared mailbox is used as the sign-in identity.</summary>
        public const string SharedMailboxSignIn = "SharedMailboxSignIn";

        /// <summary>The server did not offer STARTTLS, so credentials would travel in clear text.</summary>
        public const string StartTlsNotOffered = "StartTlsNotOffered";

        /// <summary>The client sent AUTH or MAIL FROM without STARTTLS, and the server requires TLS first (Exchange Online does).</summary>
        public const string StartTlsRequired = "StartTlsRequired";

        /// <summary>The server had a temporary problem (4xx: try again later).</summary>
        public const string TemporaryServerError = "TemporaryServerError";

        /// <summary>The tenant or its IP is banned from sending (5.7.705, 5.7.708, 5.7.750).</summary>
        public const string TenantBlocked = "TenantBlocked";

        /// <summary>The tenant exceeded its external recipient rate limit (TERRL, 5.7.232/5.7.233).</summary>
        public const string TenantExternalRecipientLimit = "TenantExternalRecipientLimit";

        /// <summary>SMTP AUTH is disabled for the organization and the mailbox inherits it.</summary>
        public const string TenantSmtpAuthDisabled = "TenantSmtpAuthDisabled";

        /// <summary>The client offers only TLS 1.0 or 1.1; Exchange Online requires TLS 1.2 or later.</summary>
        public const string TlsVersionTooOld = "TlsVersionTooOld";

        /// <summary>The OAuth access token has expired.</summary>
        public const string TokenExpired = "TokenExpired";

        /// <summary>The token lacks SMTP.Send (delegated) or SMTP.SendAsApp (app-only).</summary>
        public const string TokenMissingPermission = "TokenMissingPermission";

        /// <summary>The XOAUTH2 user differs from the token's identity or the permitted mailbox.</summary>
        public const string TokenUserMismatch = "TokenUserMismatch";

        /// <summary>The OAuth token was issued for another resource (a Microsoft Graph token, say).</summary>
        public const string TokenWrongAudience = "TokenWrongAudience";

        /// <summary>No catalog entry matches this error.</summary>
        public const string Unrecognized = "Unrecognized";

        /// <summary>The user name given is an alias or email address, not the UPN.</summary>
        public const string UserNameNotUpn = "UserNameNotUpn";
    }
}
