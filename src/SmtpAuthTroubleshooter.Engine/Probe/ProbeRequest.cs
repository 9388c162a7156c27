using System;
using System.Security;

namespace SmtpAuthTroubleshooter.Engine.Probe
{
    /// <summary>Everything one probe needs. Secrets stay SecureString until the moment they are sent.</summary>
    public sealed class ProbeRequest
    {
        /// <summary>The SMTP server; default: the cloud's submission host.</summary>
        public string? Server { get; set; }
        /// <summary>The port (587).</summary>
        public int Port { get; set; } = 587;
        /// <summary>How the connection is secured.</summary>
        public SmtpTlsMode TlsMode { get; set; } = SmtpTlsMode.StartTls;
        /// <summary>The whole probe's time limit (token acquisition by device code excepted).</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>The cloud.</summary>
        public SmtpCloudEnvironment Environment { get; set; }
        /// <summary>Accept any server certificate (recorded on the result).</summary>
        public bool SkipCertificateCheck { get; set; }
        /// <summary>Send credentials even without TLS (never the default).</summary>
        public bool AllowUnencryptedAuthentication { get; set; }
        /// <summary>The SASL mechanism.</summary>
        public SmtpAuthMechanism Mechanism { get; set; }
        /// <summary>The SASL user: the UPN for basic auth, the mailbox for XOAUTH2.</summary>
        public string? UserName { get; set; }
        /// <summary>The password for basic auth.</summary>
        public SecureString? Password { get; set; }
        /// <summary>Where the OAuth token comes from (XOAUTH2).</summary>
        public ITokenSource? TokenSource { get; set; }
        /// <summary>Go on to MAIL FROM, RCPT TO and DATA with a small test message.</summary>
        public bool SendTestMessage { get; set; }
        /// <summary>Envelope and header sender of the test message (default: the user).</summary>
        public string? From { get; set; }
        /// <summary>Recipient of the test message (default: the user).</summary>
        public string? To { get; set; }
        /// <summary>The EHLO name.</summary>
        public string? LocalDomain { get; set; }

        /// <summary>Basic, OAuth, or Unknown when no AUTH is asked for.</summary>
        public SmtpAuthMethod AuthMethod =>
            Mechanism == SmtpAuthMechanism.None ? SmtpAuthMethod.Unknown
            : TokenSource is not null || Mechanism == SmtpAuthMechanism.XOAuth2 ? SmtpAuthMethod.OAuth
            : SmtpAuthMethod.Basic;
    }
}
