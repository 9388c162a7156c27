using System;

namespace SmtpAuthTroubleshooter.Engine.Diagnosis
{
    /// <summary>What the resolver is given: error text and whatever context came with it.</summary>
    public sealed class ErrorEvidence
    {
        /// <summary>Creates evidence from error text.</summary>
        public ErrorEvidence(string text) => Text = text ?? string.Empty;

        /// <summary>The error text: a reply, log line or exception message (inner messages appended).</summary>
        public string Text { get; }

        /// <summary>How the client authenticated, where known (a probe result knows; plain text usually does not).</summary>
        public SmtpAuthMethod AuthMethod { get; set; }

        /// <summary>The phase that failed, where known (from a probe result).</summary>
        public SmtpPhase FailedPhase { get; set; }

        /// <summary>The account, where known.</summary>
        public string? UserPrincipalName { get; set; }

        /// <summary>Problems a probe read from the OAuth token's claims before AUTH, as CauseIds.</summary>
        public System.Collections.Generic.IReadOnlyList<string> TokenIssues { get; set; } = Array.Empty<string>();

        /// <summary>True when a probe read the OAuth token's claims before AUTH (then only <see cref="TokenIssues"/> remain open).</summary>
        public bool TokenClaimsRead { get; set; }

        /// <summary>The mailbox's settings (Get-SmtpAuthPolicyState), to confirm or rule out causes.</summary>
        public SmtpAuthPolicyState? PolicyState { get; set; }

        /// <summary>True when the evidence is a probe that succeeded.</summary>
        public bool ProbeSucceeded { get; set; }

        /// <summary>The user name the client signed in with (a probe result's UserName), where known.</summary>
        public string? SignInName { get; set; }

        /// <summary>The server and port a probe talked to, where known.</summary>
        public string? Server { get; set; }

        /// <summary>The sender address a probe used (MAIL FROM), where known: fills &lt;from&gt; in a fix command.</summary>
        public string? From { get; set; }

        /// <summary>Who a probe's token was for (upn of a user, or appid of an app): an app's id fills &lt;appId&gt;.</summary>
        public string? TokenIdentity { get; set; }

        /// <summary>The port a probe talked to, where known.</summary>
        public int? Port { get; set; }

        /// <summary>True when the evidence is a Test-SmtpAuth result (then no fix tells the admin to run Test-SmtpAuth again).</summary>
        public bool FromProbe { get; set; }

        /// <summary>True when the server was Exchange Online's submission endpoint (a probe result knows).</summary>
        public bool ExchangeOnlineEndpoint { get; set; }

        /// <summary>What a probe saw of the session (a Test-SmtpAuth result), or null for text from elsewhere.</summary>
        public ProbeFacts? Probe { get; set; }

        /// <summary>When the error happened, where known; otherwise the diagnostic tail's time or now.</summary>
        public DateTimeOffset? ObservedUtc { get; set; }

        /// <summary>
        /// The server the reply came from when the resolver found it is not Exchange Online (a probe of another host, or
        /// a signature in the text). Set by the resolver on its own copy of the evidence, never on the caller's.
        /// </summary>
        internal ReplyServer? OtherServer { get; private set; }

        /// <summary>A copy of this evidence with <see cref="OtherServer"/> set.</summary>
        internal ErrorEvidence WithOtherServer(ReplyServer server)
        {
            var copy = (ErrorEvidence)MemberwiseClone();
            copy.OtherServer = server;
            return copy;
        }
    }
}
