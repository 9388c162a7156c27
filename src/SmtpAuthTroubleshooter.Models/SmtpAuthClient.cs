using System;

namespace SmtpAuthTroubleshooter
{
    /// <summary>What happens to a sender when basic SMTP AUTH is disabled by default (end of December 2026).</summary>
    public enum SmtpAuthImpact
    {
        /// <summary>A source that decides it could not be read.</summary>
        Unknown = 0,
        /// <summary>Basic-auth sign-ins succeeded in the window: this sender stops working.</summary>
        Breaks = 1,
        /// <summary>Basic-auth sign-ins were attempted and all failed: it is broken today (see LastErrorCode).</summary>
        AlreadyFailing = 2,
        /// <summary>No basic-auth use: OAuth, or no SMTP AUTH use at all.</summary>
        Unaffected = 3,
    }

    /// <summary>Where a sender should move.</summary>
    public enum SmtpAuthMigrationPath
    {
        /// <summary>The facts do not decide; a person has to look.</summary>
        Review = 0,
        /// <summary>SMTP AUTH with OAuth (XOAUTH2): delegated, or app-only with SMTP.SendAsApp.</summary>
        OAuth = 1,
        /// <summary>High Volume Email (internal recipients only).</summary>
        HighVolumeEmail = 2,
        /// <summary>An inbound connector for a static IP or a certificate, relaying to any recipient.</summary>
        ConnectorRelay = 3,
        /// <summary>Direct Send to the MX endpoint (internal recipients only; not with RejectDirectSend).</summary>
        DirectSend = 4,
        /// <summary>Microsoft Graph sendMail (code you own).</summary>
        GraphSendMail = 5,
        /// <summary>Azure Communication Services Email (external volume).</summary>
        AzureCommunicationServices = 6,
        /// <summary>Exposed but unused: switch SMTP AUTH off for the mailbox.</summary>
        DisableSmtpAuth = 7,
        /// <summary>Nothing to do: the sender already uses OAuth.</summary>
        None = 8,
    }

    /// <summary>
    /// One sender of SMTP AUTH mail: a mailbox and the client IP it authenticates from, over the last days; what it uses,
    /// what it may use, what the end-of-December 2026 default-off does to it, and where it should move. Every property is a
    /// scalar, so the objects go straight to Export-Csv.
    /// </summary>
    public sealed class SmtpAuthClient
    {
        /// <summary>The mailbox (sign-in name).</summary>
        public string? UserPrincipalName { get; set; }
        /// <summary>The client's IP address as the sign-in log has it; empty for a mailbox without sign-ins.</summary>
        public string? ClientIp { get; set; }
        /// <summary>Days looked back.</summary>
        public int Days { get; set; }

        /// <summary>Authenticated SMTP (basic auth) sign-ins from this IP in the window; null when the sign-in log was not read.</summary>
        public int? SignInCount { get; set; }
        /// <summary>Of which succeeded.</summary>
        public int? SuccessCount { get; set; }
        /// <summary>Of which failed.</summary>
        public int? FailureCount { get; set; }
        /// <summary>First sign-in in the window.</summary>
        public DateTime? FirstSeenUtc { get; set; }
        /// <summary>Last sign-in in the window.</summary>
        public DateTime? LastSeenUtc { get; set; }
        /// <summary>The last successful sign-in.</summary>
        public DateTime? LastSuccessUtc { get; set; }
        /// <summary>The error code of the last failed sign-in (50126 wrong password, 50053 locked, 53003 Conditional Access ...).</summary>
        public int? LastErrorCode { get; set; }
        /// <summary>Its failure reason.</summary>
        public string? LastFailureReason { get; set; }
        /// <summary>City and country of the last sign-in, as the log has them.</summary>
        public string? Location { get; set; }
        /// <summary>The user agent of the last sign-in (beta sign-ins only).</summary>
        public string? UserAgent { get; set; }
        /// <summary>Sign-ins per day (UTC), oldest first, as "yyyy-MM-dd=count" pairs joined by ";" (a scalar, for Export-Csv and the report's chart).</summary>
        public string? SignInsPerDay { get; set; }
        /// <summary>True when basic sign-ins succeeded before and only fail since a date (the default-off, or a policy change).</summary>
        public bool? TurnedToFailure { get; set; }

        /// <summary>SMTP AUTH effective for the mailbox.</summary>
        public bool? SmtpAuthEnabled { get; set; }
        /// <summary>Mailbox (its own switch) or Tenant (it follows the organization: the mailbox value is empty).</summary>
        public string? SmtpAuthDecidedBy { get; set; }
        /// <summary>Basic auth today, from the settings: Allowed, Blocked or Unknown.</summary>
        public PolicyVerdict BasicAuthVerdict { get; set; }
        /// <summary>The settings that block basic auth, as CauseIds.</summary>
        public string? BasicAuthBlockedBy { get; set; }
        /// <summary>RecipientTypeDetails.</summary>
        public string? RecipientTypeDetails { get; set; }

        /// <summary>From the admin center's SMTP AUTH clients report (-SmtpAuthReportPath): Basic, OAuth, or both.</summary>
        public string? AuthenticationProtocol { get; set; }
        /// <summary>Messages sent, from that report: the mailbox's total over all its client IPs, repeated on each of its rows (do not add it up per row).</summary>
        public long? MessagesSent { get; set; }
        /// <summary>From message trace: every recipient in the window is in an accepted domain (null: not read).</summary>
        public bool? InternalRecipientsOnly { get; set; }
        /// <summary>Messages the trace saw from this mailbox (message trace is by sender address): the mailbox's total over all its client IPs, repeated on each of its rows.</summary>
        public int? TracedMessages { get; set; }

        /// <summary>What the end-of-December 2026 default-off does to this sender.</summary>
        public SmtpAuthImpact ImpactAtDefaultOff { get; set; }
        /// <summary>Why: the facts that decided the impact.</summary>
        public string? ImpactReason { get; set; }
        /// <summary>Where to move.</summary>
        public SmtpAuthMigrationPath MigrationPath { get; set; }
        /// <summary>Why that path: every fact that decided it.</summary>
        public string? MigrationReason { get; set; }
        /// <summary>The exact command for the path, where one exists (one valid PowerShell command).</summary>
        public string? MigrationCommand { get; set; }
        /// <summary>Sources that could not be read, and why (their fields are empty).</summary>
        public string? UnknownReasons { get; set; }
    }
}
