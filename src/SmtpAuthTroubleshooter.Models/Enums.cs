namespace SmtpAuthTroubleshooter
{
    /// <summary>How strongly the evidence supports a candidate cause.</summary>
    public enum Verdict
    {
        /// <summary>Two independent sources agree (the reply and a setting, a sign-in record or a token claim).</summary>
        Confirmed = 0,
        /// <summary>The reply points at this cause; nothing else confirms or rules it out yet.</summary>
        Likely = 1,
        /// <summary>One of several causes that produce the same reply.</summary>
        Possible = 2,
        /// <summary>The evidence excludes this cause.</summary>
        RuledOut = 3,
        /// <summary>Not a failure: something to act on although the probe worked (basic auth on borrowed time). Ranked
        /// after Possible and before RuledOut.</summary>
        Advisory = 4,
    }

    /// <summary>How the client authenticated, where known.</summary>
    public enum SmtpAuthMethod
    {
        /// <summary>Not known (plain error text, say).</summary>
        Unknown = 0,
        /// <summary>User name and password (AUTH LOGIN or PLAIN).</summary>
        Basic = 1,
        /// <summary>An OAuth access token (AUTH XOAUTH2).</summary>
        OAuth = 2,
    }

    /// <summary>The phase of an SMTP submission conversation.</summary>
    public enum SmtpPhase
    {
        /// <summary>No phase failed.</summary>
        None = 0,
        /// <summary>Resolving the server name.</summary>
        Dns,
        /// <summary>The TCP connection.</summary>
        Connect,
        /// <summary>The 220 greeting.</summary>
        Banner,
        /// <summary>EHLO before or after TLS.</summary>
        Ehlo,
        /// <summary>The STARTTLS command, or its absence.</summary>
        StartTls,
        /// <summary>The TLS handshake and certificate validation.</summary>
        Tls,
        /// <summary>The AUTH exchange.</summary>
        Auth,
        /// <summary>MAIL FROM.</summary>
        MailFrom,
        /// <summary>RCPT TO.</summary>
        RcptTo,
        /// <summary>DATA and the end of the message.</summary>
        Data,
        /// <summary>Obtaining the OAuth access token, before any SMTP.</summary>
        Token,
    }

    /// <summary>The kind of failure an <see cref="SmtpAuthTroubleshooterException"/> stands for;
    /// the cmdlets map it to an ErrorCategory.</summary>
    public enum SmtpAuthErrorKind
    {
        /// <summary>Anything not listed.</summary>
        Unspecified = 0,
        /// <summary>Bad or unusable input.</summary>
        InvalidArgument,
        /// <summary>Input that cannot be read as what it should be.</summary>
        InvalidData,
        /// <summary>A session or connection is missing.</summary>
        ConnectionError,
        /// <summary>Authentication to a service failed.</summary>
        AuthenticationError,
        /// <summary>A permission is missing.</summary>
        PermissionDenied,
        /// <summary>A time limit ran out.</summary>
        OperationTimeout,
        /// <summary>An object was not found.</summary>
        ObjectNotFound,
        /// <summary>A service limit or throttling.</summary>
        LimitsExceeded,
    }
}
