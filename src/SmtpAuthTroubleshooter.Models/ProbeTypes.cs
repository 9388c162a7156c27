namespace SmtpAuthTroubleshooter
{
    /// <summary>How the probe secures the connection.</summary>
    public enum SmtpTlsMode
    {
        /// <summary>Plain connection, then STARTTLS (port 587, Exchange Online's only mode).</summary>
        StartTls = 0,
        /// <summary>TLS from the first byte (port 465 servers).</summary>
        Implicit = 1,
        /// <summary>No TLS at all. Credentials are then not sent unless -AllowUnencryptedAuthentication.</summary>
        None = 2,
    }

    /// <summary>The SASL mechanism the probe uses.</summary>
    public enum SmtpAuthMechanism
    {
        /// <summary>Basic: the best the server offers (LOGIN or PLAIN); OAuth: XOAUTH2.</summary>
        Auto = 0,
        /// <summary>AUTH LOGIN (what Exchange Online offers for basic auth).</summary>
        Login = 1,
        /// <summary>AUTH PLAIN (Exchange Online refuses it with 504 5.7.4).</summary>
        Plain = 2,
        /// <summary>AUTH XOAUTH2 with an OAuth access token.</summary>
        XOAuth2 = 3,
        /// <summary>No AUTH: a connectivity and TLS check only.</summary>
        None = 4,
    }

    /// <summary>The Microsoft 365 cloud: SMTP host, token audience and authority change together.</summary>
    public enum SmtpCloudEnvironment
    {
        /// <summary>Worldwide, including GCC (smtp.office365.com).</summary>
        Global = 0,
        /// <summary>US Government GCC High (smtp.office365.us).</summary>
        USGovGCCHigh = 1,
        /// <summary>US Government DoD.</summary>
        USGovDoD = 2,
        /// <summary>Microsoft 365 operated by 21Vianet (smtp.partner.outlook.cn).</summary>
        China = 3,
    }

    /// <summary>
    /// How the engine talks back while it works (STYLE rule 3): the cmdlets implement it and forward to the
    /// verbose, warning, debug and progress streams on the pipeline thread. The engine never sees a cmdlet.
    /// </summary>
    public interface IDiagnosticSink
    {
        /// <summary>A step being taken.</summary>
        void Verbose(string message);

        /// <summary>A risky condition the admin should know about (also the device-code prompt).</summary>
        void Warning(string message);

        /// <summary>Detail for -Debug, such as the redacted SMTP transcript. Never a secret.</summary>
        void Debug(string message);

        /// <summary>Progress of a long operation.</summary>
        void Progress(string activity, string status, int percentComplete);

        /// <summary>Progress of a step that runs against a time limit: the seconds left before it gives up.</summary>
        void Progress(string activity, string status, int percentComplete, int secondsRemaining);
    }
}
