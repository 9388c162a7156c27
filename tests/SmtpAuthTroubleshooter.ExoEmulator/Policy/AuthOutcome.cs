namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>Why the emulator accepted or refused an AUTH. Several outcomes share one wire reply; this keeps the cause.</summary>
public enum AuthOutcome
{
    Success,

    // AUTH LOGIN (basic)
    UnknownUser,
    WrongPassword,
    AccountLocked,
    AccountDisabled,
    PasswordExpired,
    BasicAuthBlockedByPolicy,
    SecurityDefaults,
    ConditionalAccessBlocked,
    MfaRequired,
    BasicAuthRetired,
    SharedMailboxLogin,

    // Both mechanisms
    SmtpAuthDisabledForTenant,
    SmtpAuthDisabledForMailbox,
    ConcurrencyLimit,
    MalformedResponse,
    Cancelled,

    // AUTH XOAUTH2
    SaslMalformed,
    TokenMalformed,
    TokenSignatureInvalid,
    TokenExpired,
    TokenNotYetValid,
    TokenAudienceInvalid,
    TokenTenantMismatch,
    TokenScopeMissing,
    TokenRoleMissing,
    TokenUserMismatch,
    TokenUserUnknown,
    ApplicationUnknown,
    ServicePrincipalNotRegistered,
    MailboxNotFound,
    NoFullAccess,
}

/// <summary>The decision of an evaluator: the outcome, the account it concerns, and a reason for people (never a secret).</summary>
public sealed record AuthDecision(AuthOutcome Outcome, ScenarioAccount? Account, string Reason)
{
    public bool Succeeded => Outcome == AuthOutcome.Success;
}
