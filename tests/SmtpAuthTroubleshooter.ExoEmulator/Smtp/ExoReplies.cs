namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>
/// The reply texts, verbatim from the domain reference (EXO-SMTP-AUTH.md sections 1.2 to 1.6) where it has them.
/// The diagnostic tail is added by the session to every 4xx/5xx reply. Texts marked (emulator) are not in the
/// reference and were chosen to look like Exchange's.
/// </summary>
internal static class ExoReplies
{
    public const string StartTlsReady = "2.0.0 SMTP server ready";
    public const string SendHelloFirst = "5.5.2 Send hello first";
    public const string UnrecognizedAuthType = "5.7.4 Unrecognized authentication type";
    public const string StartTlsRequired = "5.7.3 STARTTLS is required to send mail";
    public const string NotAuthenticated = "5.7.57 Client not authenticated to send mail.";
    public const string LegacyTls = "4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls.";
    public const string UsernamePrompt = "VXNlcm5hbWU6";
    public const string PasswordPrompt = "UGFzc3dvcmQ6";
    public const string AuthSuccessful = "2.7.0 Authentication successful";
    public const string Unsuccessful = "5.7.3 Authentication unsuccessful";
    public const string Unsuccessful139 = "5.7.139 Authentication unsuccessful, ";
    public const string BasicRetired = "5.7.30 Basic authentication is not supported for Client Submission.";
    public const string ConcurrencyLimit = "4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.";
    public const string SendAsDeniedAtMailFrom = "5.7.60 SMTP; Client does not have permissions to send as this sender";
    public const string SenderOk = "2.1.0 Sender OK";
    public const string RecipientOk = "2.1.5 Recipient OK";
    public const string StartMailInput = "Start mail input; end with <CRLF>.<CRLF>";
    public const string Closing = "2.0.0 Service closing transmission channel";
    public const string Resetting = "2.0.0 Resetting";
    public const string Ok = "2.0.0 OK";

    // (emulator) texts below are not in the reference.
    public const string InvalidDomain = "5.5.4 Invalid domain name";
    public const string InvalidArguments = "5.5.4 Invalid arguments";
    public const string Unrecognized = "5.3.3 Unrecognized command";
    public const string LineTooLong = "5.5.2 Syntax error, line too long";
    public const string AlreadyAuthenticated = "5.5.1 Already authenticated";
    public const string BadSequence = "5.5.1 Bad sequence of commands";
    public const string SenderAlreadySpecified = "5.5.1 Sender already specified";
    public const string NeedMail = "5.5.1 Need mail command";
    public const string NeedRcpt = "5.5.1 Need rcpt command";
    public const string InvalidSender = "5.1.7 Invalid address";
    public const string InvalidRecipient = "5.1.3 Invalid address";
    public const string MessageTooBig = "5.3.4 Message size exceeds fixed maximum message size";
    public const string Base64Invalid = "5.5.2 Cannot Base64-decode Client responses";
    public const string AuthCancelled = "5.0.0 Authentication cancelled";
    public const string Timeout = "4.4.2 Connection dropped due to timeout";
    public const string ShuttingDown = "4.3.2 Service not available, closing transmission channel";
    public const string TooManyConnections = "4.3.2 The maximum number of concurrent server connections has exceeded a limit, closing transmission channel";

    public static string SendAsDenied(string user, string from) =>
        $"5.2.252 SendAsDenied; {user} not allowed to send as {from}; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message Cannot submit message.";

    /// <summary>The reply to an AUTH decision.</summary>
    public static (int Code, string Text) ForAuth(AuthOutcome outcome) => outcome switch
    {
        AuthOutcome.Success => (235, AuthSuccessful),
        AuthOutcome.UnknownUser or AuthOutcome.WrongPassword => (535, Unsuccessful139 + "the user credentials were incorrect."),
        AuthOutcome.SmtpAuthDisabledForTenant => (535, Unsuccessful139 + "SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."),
        AuthOutcome.SmtpAuthDisabledForMailbox => (535, Unsuccessful139 + "SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information."),
        AuthOutcome.BasicAuthBlockedByPolicy => (535, Unsuccessful139 + "basic authentication is disabled."),
        AuthOutcome.SecurityDefaults => (535, Unsuccessful139 + "user is locked by your organization's security defaults policy. Contact your administrator."),
        AuthOutcome.ConditionalAccessBlocked or AuthOutcome.MfaRequired => (535, Unsuccessful139 + "the request did not meet the criteria to be authenticated successfully. Contact your administrator."),
        AuthOutcome.AccountLocked => (535, Unsuccessful139 + "account locked."),
        AuthOutcome.AccountDisabled or AuthOutcome.PasswordExpired => (535, Unsuccessful139 + "account has an issue. Contact your administrator."),
        AuthOutcome.BasicAuthRetired => (550, BasicRetired),
        AuthOutcome.ConcurrencyLimit => (432, ConcurrencyLimit),
        AuthOutcome.MalformedResponse => (501, Base64Invalid),
        AuthOutcome.Cancelled => (501, AuthCancelled),
        _ => (535, Unsuccessful),
    };
}
