using System;

namespace SmtpAuthTroubleshooter
{
    /// <summary>
    /// One candidate cause of an SMTP AUTH failure. Output of Resolve-SmtpAuthError.
    /// Every property is a scalar, so Export-Csv writes plain values.
    /// </summary>
    public sealed class SmtpAuthFinding
    {
        /// <summary>The account the finding is about, where known.</summary>
        public string? UserPrincipalName { get; set; }

        /// <summary>1 for the most likely cause of this input, then 2, 3, ...</summary>
        public int Rank { get; set; }

        /// <summary>How strongly the evidence supports this cause.</summary>
        public Verdict Verdict { get; set; }

        /// <summary>Stable cause identifier (a public contract: ids are added, never renamed or removed; see <see cref="CauseIds"/>).</summary>
        public string CauseId { get; set; } = string.Empty;

        /// <summary>One-line description of the cause.</summary>
        public string Title { get; set; } = string.Empty;

        /// <summary>Where the cause lives: Transport, Tls, ExchangePolicy, EntraPolicy, Account, Credentials, OAuth, Sender, Throttling, Tenant, Unknown.</summary>
        public string Category { get; set; } = string.Empty;

        /// <summary>The basic SMTP reply code (535, 530, ...), where one was found.</summary>
        public int? ReplyCode { get; set; }

        /// <summary>The enhanced status code (5.7.139, ...), where one was found.</summary>
        public string? EnhancedStatusCode { get; set; }

        /// <summary>Why this cause is named: the text matched and any facts that confirm or exclude it.</summary>
        public string Evidence { get; set; } = string.Empty;

        /// <summary>What to check, in order.</summary>
        public string? Checks { get; set; }

        /// <summary>The fix, in words.</summary>
        public string Remediation { get; set; } = string.Empty;

        /// <summary>The exact command that fixes it, where one exists.</summary>
        public string? RemediationCommand { get; set; }

        /// <summary>Microsoft documentation for the cause.</summary>
        public string? DocumentationUrl { get; set; }

        /// <summary>True when waiting and retrying can succeed (throttling, lockout).</summary>
        public bool Transient { get; set; }

        /// <summary>The server reply the finding was drawn from, without Exchange's diagnostic tail.</summary>
        public string? ReplyText { get; set; }

        /// <summary>The front-end server from Exchange's diagnostic tail, for support tickets.</summary>
        public string? DiagnosticServer { get; set; }

        /// <summary>The UTC time from Exchange's diagnostic tail.</summary>
        public DateTimeOffset? DiagnosticTimestamp { get; set; }

        /// <summary>The id from Exchange's diagnostic tail.</summary>
        public string? DiagnosticId { get; set; }

        /// <summary>The client library the error text came from, when recognisable (MailKit, System.Net.Mail, ...).</summary>
        public string? Source { get; set; }

        /// <summary>The catalog entry that matched (e.g. TENANT_OFF), empty for Unrecognized.</summary>
        public string? CatalogEntry { get; set; }

        /// <summary>The version of the error catalog that produced this finding.</summary>
        public string CatalogVersion { get; set; } = string.Empty;
    }
}
