using System.Collections.Generic;
using System;

namespace SmtpAuthTroubleshooter
{
    /// <summary>
    /// One SMTP AUTH probe: where the conversation stopped, with the server's reply, the TLS facts, the token's
    /// claims (never the token) and a redacted transcript. Output of Test-SmtpAuth. Flat and scalar, so it exports
    /// to CSV as is; it pipes into Resolve-SmtpAuthError.
    /// </summary>
    public sealed class SmtpAuthTestResult
    {
        /// <summary>The SMTP server probed.</summary>
        public string Server { get; set; } = string.Empty;
        /// <summary>The TCP port.</summary>
        public int Port { get; set; }
        /// <summary>The account that authenticated (the SASL user), or empty for a connectivity check.</summary>
        public string? UserName { get; set; }
        /// <summary>Basic or OAuth; Unknown for a connectivity check.</summary>
        public SmtpAuthMethod AuthMethod { get; set; }
        /// <summary>The SASL mechanism sent (LOGIN, PLAIN, XOAUTH2), if AUTH was reached.</summary>
        public string? Mechanism { get; set; }
        /// <summary>True when every phase asked for succeeded.</summary>
        public bool Succeeded { get; set; }
        /// <summary>The phase that failed, or None.</summary>
        public SmtpPhase FailedPhase { get; set; }
        /// <summary>The basic code of the decisive server reply.</summary>
        public int? ReplyCode { get; set; }
        /// <summary>The enhanced status code of the decisive server reply.</summary>
        public string? EnhancedStatusCode { get; set; }
        /// <summary>The decisive server reply, verbatim (with Exchange's diagnostic tail).</summary>
        public string? ReplyText { get; set; }
        /// <summary>What happened, in words, including client-side failures that have no server reply (DNS, TLS, timeouts).</summary>
        public string? Message { get; set; }
        /// <summary>The negotiated TLS protocol (Tls12, Tls13), if TLS was established.</summary>
        public string? TlsProtocol { get; set; }
        /// <summary>The negotiated cipher suite.</summary>
        public string? CipherSuite { get; set; }
        /// <summary>The server certificate's subject.</summary>
        public string? CertificateSubject { get; set; }
        /// <summary>The server certificate's issuer.</summary>
        public string? CertificateIssuer { get; set; }
        /// <summary>When the server certificate expires (UTC).</summary>
        public DateTime? CertificateNotAfter { get; set; }
        /// <summary>When the server certificate becomes valid (UTC).</summary>
        public DateTime? CertificateNotBefore { get; set; }
        /// <summary>The host names (and IP addresses) the server certificate is for: its subject alternative names, else its subject's CN; comma-separated.</summary>
        public string? CertificateNames { get; set; }
        /// <summary>Whether the certificate validated (chain and name).</summary>
        public bool? CertificateValid { get; set; }
        /// <summary>Why it did not validate.</summary>
        public string? CertificateErrors { get; set; }
        /// <summary>What was wrong with the certificate's chain when it did not validate (X509ChainStatusFlags names: UntrustedRoot, PartialChain, NotTimeValid, ...), comma-separated.</summary>
        public string? CertificateChainErrors { get; set; }
        /// <summary>True when -SkipCertificateCheck was used.</summary>
        public bool CertificateCheckSkipped { get; set; }
        /// <summary>True when the server offered STARTTLS in its first EHLO reply.</summary>
        public bool? StartTlsOffered { get; set; }
        /// <summary>AUTH mechanisms advertised before TLS (Exchange Online: none).</summary>
        public string? AuthMechanismsBeforeTls { get; set; }
        /// <summary>AUTH mechanisms advertised after TLS, in the server's order (Exchange Online: LOGIN XOAUTH2).</summary>
        public string? AuthMechanismsAfterTls { get; set; }
        /// <summary>True when the server is Exchange Online's submission endpoint (by its host name or its greeting):
        /// then only a UPN signs in.</summary>
        public bool ExchangeOnline { get; set; }
        /// <summary>The OAuth token's audience (aud claim).</summary>
        public string? TokenAudience { get; set; }
        /// <summary>The token's delegated scopes (scp) and app roles (roles), space separated.</summary>
        public string? TokenScopes { get; set; }
        /// <summary>When the token expires (exp claim, UTC).</summary>
        public DateTime? TokenExpiresUtc { get; set; }
        /// <summary>The token's tenant (tid claim).</summary>
        public string? TokenTenantId { get; set; }
        /// <summary>Who the token is for: the user (upn) or the app (appid).</summary>
        public string? TokenIdentity { get; set; }
        /// <summary>Problems the claims show before the server says anything, as CauseIds separated by "; "
        /// (TokenWrongAudience, TokenMissingPermission, TokenExpired, TokenUserMismatch).</summary>
        public string? TokenIssues { get => CauseIdList.Format(TokenIssueIds); set => TokenIssueIds = CauseIdList.Parse(value); }

        /// <summary>The same, as a list (what the module itself reads).</summary>
        internal IReadOnlyList<string> TokenIssueIds { get; set; } = Array.Empty<string>();
        /// <summary>True when a test message was accepted (only with -SendTestMessage).</summary>
        public bool TestMessageSent { get; set; }
        /// <summary>The envelope and header sender of the test message.</summary>
        public string? From { get; set; }
        /// <summary>The test message's recipient.</summary>
        public string? To { get; set; }
        /// <summary>How the connection was secured.</summary>
        public SmtpTlsMode TlsMode { get; set; }
        /// <summary>The cloud whose host and token audience were used.</summary>
        public SmtpCloudEnvironment Environment { get; set; }
        /// <summary>When the probe started (UTC).</summary>
        public DateTime StartedUtc { get; set; }

        /// <summary>
        /// The policy state this probe was piped with (Get-SmtpAuthPolicyState | Test-SmtpAuth), by id: Resolve-SmtpAuthError
        /// finds the state by it in the same PowerShell session, also after Select-Object * or Export-Clixml/Import-Clixml,
        /// and warns when the state is not there (another session, a remoting hop). A scalar, so Export-Csv stays flat.
        /// </summary>
        public string? PolicyStateId { get; set; }
        /// <summary>The whole probe's duration.</summary>
        public long DurationMs { get; set; }
        /// <summary>Obtaining the OAuth token.</summary>
        public long? TokenMs { get; set; }
        /// <summary>Resolving the host name.</summary>
        public long? DnsMs { get; set; }
        /// <summary>The TCP connection.</summary>
        public long? ConnectMs { get; set; }
        /// <summary>Until the 220 greeting.</summary>
        public long? BannerMs { get; set; }
        /// <summary>The first EHLO.</summary>
        public long? EhloMs { get; set; }
        /// <summary>The STARTTLS command.</summary>
        public long? StartTlsMs { get; set; }
        /// <summary>The TLS handshake (and the EHLO after it).</summary>
        public long? TlsMs { get; set; }
        /// <summary>The AUTH exchange.</summary>
        public long? AuthMs { get; set; }
        /// <summary>MAIL FROM.</summary>
        public long? MailFromMs { get; set; }
        /// <summary>RCPT TO.</summary>
        public long? RcptToMs { get; set; }
        /// <summary>DATA and the message.</summary>
        public long? DataMs { get; set; }
        /// <summary>The conversation, one "C:"/"S:" line each; every AUTH payload, password, token and SASL blob is
        /// masked, and message content is not logged.</summary>
        public string? Transcript { get; set; }
    }
}
