namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>The stable CauseIds (reference CAUSE-IDS.md): a public contract. Never rename or remove one.</summary>
    internal static class CauseIdContract
    {
        internal static readonly string[] All =
        {
            "DnsResolutionFailed", "ConnectionFailed", "ImplicitTlsOnStartTlsPort", "StartTlsRequired", "StartTlsNotOffered",
            "TlsVersionTooOld", "CertificateValidationFailed", "AuthMechanismUnsupported", "AuthNotAdvertised",
            "TenantSmtpAuthDisabled", "MailboxSmtpAuthDisabled", "AuthenticationPolicyBlocksBasicSmtp",
            "SecurityDefaultsBlockBasicAuth", "ConditionalAccessBlocksLegacyAuth", "MfaRequired", "BasicAuthRetired",
            "BasicAuthDisabledForAccount", "InvalidCredentials", "UserNameNotUpn", "AccountLocked", "AccountDisabled",
            "PasswordExpired", "AccountIssue", "SharedMailboxSignIn", "FederatedStsFailure", "TokenWrongAudience",
            "TokenMissingPermission", "TokenExpired", "TokenUserMismatch", "ServicePrincipalNotRegistered",
            "MailboxPermissionMissing", "OAuthTokenRejected", "NotAuthenticated", "SendAsDenied", "RestrictedSender",
            "MailboxFull", "ConcurrentConnectionLimit", "RecipientRateLimit", "ContinuousErrorThrottling",
            "TenantExternalRecipientLimit", "TenantBlocked", "Unrecognized",
            // Added by this project (CAUSE-IDS.md allows new causes; none is renamed or removed):
            "SettingsConflict", "ServerProtocolViolation", "NoSmtpGreeting",
            "TemporaryServerError", "AppCredentialInvalid", "AppNotFoundInTenant", "RelayConnectorMismatch", "DirectSendRejected",
            "MessageTooLarge", "InvalidXoauth2Data", "NoBlockingSetting", "SubmissionIntercepted", "ServerStoppedResponding", "ServerTlsUnavailable",
            "ClientCertificateRequired",
        };
    }
}
