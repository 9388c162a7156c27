namespace SmtpAuthTroubleshooter.Engine.Diagnosis
{
    /// <summary>
    /// What a Test-SmtpAuth result saw of the session, as facts the catalog's "probeFacts" rules read: whether the
    /// session was encrypted when it stopped, whether the server offered STARTTLS and AUTH, whether a certificate ever
    /// came. A probe's result is more than its reply text: these facts rule out causes the text alone leaves open (a
    /// missing STARTTLS for a refusal that came inside TLS) and decide some the text does not name.
    /// </summary>
    public sealed class ProbeFacts
    {
        /// <summary>The TLS mode the probe used (StartTls, Implicit or None).</summary>
        public SmtpTlsMode TlsMode { get; set; }

        /// <summary>The phase that failed.</summary>
        public SmtpPhase FailedPhase { get; set; }

        /// <summary>The port probed, where known.</summary>
        public int? Port { get; set; }

        /// <summary>True when the server was Exchange Online.</summary>
        public bool ExchangeOnline { get; set; }

        /// <summary>The TLS protocol negotiated (Tls12, Tls13, ...), or null when the session was never encrypted.</summary>
        public string? TlsProtocol { get; set; }

        /// <summary>True when the session was encrypted when the probe stopped (a TLS protocol was negotiated).</summary>
        public bool TlsInForce => !string.IsNullOrEmpty(TlsProtocol);

        /// <summary>True when the server presented a certificate during the TLS handshake.</summary>
        public bool CertificatePresented { get; set; }

        /// <summary>Whether the server's EHLO reply offered STARTTLS (null when the probe never saw a plain EHLO reply).</summary>
        public bool? StartTlsOffered { get; set; }

        /// <summary>The AUTH mechanisms the server advertised before TLS, space-separated.</summary>
        public string? AuthMechanismsBeforeTls { get; set; }

        /// <summary>The AUTH mechanisms the server advertised after TLS, space-separated.</summary>
        public string? AuthMechanismsAfterTls { get; set; }

        /// <summary>The AUTH mechanisms advertised where the probe was when it stopped: after TLS if the session was encrypted, else before.</summary>
        public string? AuthMechanisms => TlsInForce ? AuthMechanismsAfterTls : AuthMechanismsBeforeTls;

        /// <summary>The server's 220 greeting (its first line, without the code), where the probe got one.</summary>
        public string? Greeting { get; set; }

        /// <summary>The certificate's subject, when the server's certificate was not for the host name probed
        /// (RemoteCertificateNameMismatch); null otherwise.</summary>
        public string? MismatchedCertificate { get; set; }

        /// <summary>The server answered the probe's TLS hello with a TLS alert: it speaks TLS, but not on terms the probe offers.</summary>
        public bool TlsAlert { get; set; }

        /// <summary>The server refused every TLS version the probe offers (TLS 1.2 and 1.3) with a "protocol version" alert: it speaks only older TLS.</summary>
        public bool TlsVersionRefused { get; set; }

        /// <summary>The server ended the TLS handshake with an "internal error" alert: its own TLS setup failed, not the terms the probe offered.</summary>
        public bool TlsServerFault { get; set; }

        /// <summary>The host name or address the probe connected to.</summary>
        public string? Server { get; set; }

        /// <summary>The names the server's certificate is for (its subject alternative names, else its CN), where it presented one.</summary>
        public string? CertificateNames { get; set; }

        /// <summary>The issuer of the server's certificate, where it presented one.</summary>
        public string? CertificateIssuer { get; set; }

        /// <summary>When the certificate expired ("yyyy-MM-dd HH:mm UTC"), when it had expired at the time of the probe; null otherwise.</summary>
        public string? CertificateExpiredOn { get; set; }

        /// <summary>When the certificate becomes valid ("yyyy-MM-dd HH:mm UTC"), when that was still ahead at the time of the probe; null otherwise.</summary>
        public string? CertificateNotValidBefore { get; set; }

        /// <summary>True when the certificate did not chain to a root the probing computer trusts (UntrustedRoot or PartialChain).</summary>
        public bool CertificateUntrusted { get; set; }

        /// <summary>The SASL mechanism the probe used, where it got that far.</summary>
        public string? Mechanism { get; set; }
    }
}
