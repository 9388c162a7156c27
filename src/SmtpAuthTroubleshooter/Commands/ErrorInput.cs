using System;
using System.Linq;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Text;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>Error text and context read from whatever an admin pipes in. Only BCL and Models types.</summary>
    internal sealed class ErrorInput
    {
        private const int MaxExceptionDepth = 16;

        public ErrorInput(string text) => Text = text;

        public string Text { get; }

        public SmtpAuthMethod AuthMethod { get; set; }

        public SmtpPhase FailedPhase { get; set; }

        public string? UserPrincipalName { get; set; }

        /// <summary>The user name a probe signed in with.</summary>
        public string? SignInName { get; set; }

        /// <summary>True when a probe read the token's claims (it has an audience or an expiry).</summary>
        public bool TokenClaimsRead { get; set; }

        /// <summary>The server and port of a probe result.</summary>
        public string? Server { get; set; }

        /// <summary>The port of a probe result.</summary>
        public int? Port { get; set; }

        /// <summary>True for a Test-SmtpAuth result.</summary>
        public bool FromProbe { get; set; }

        /// <summary>True when a probe's server was Exchange Online.</summary>
        public bool ExchangeOnline { get; set; }

        public DateTimeOffset? ObservedUtc { get; set; }

        /// <summary>True when the input is a probe result that succeeded: nothing to resolve.</summary>
        public bool Succeeded { get; set; }

        /// <summary>The mailbox's settings, when known.</summary>
        public SmtpAuthPolicyState? PolicyState { get; set; }

        /// <summary>The id of the policy state a probe result was piped with (its PolicyStateId), if any.</summary>
        public string? PolicyStateId { get; set; }

        /// <summary>The TLS mode a probe used.</summary>
        public SmtpTlsMode TlsMode { get; set; }

        /// <summary>The TLS protocol a probe negotiated, or null when the session was never encrypted.</summary>
        public string? TlsProtocol { get; set; }

        /// <summary>True when the server presented a certificate to the probe.</summary>
        public bool CertificatePresented { get; set; }

        /// <summary>Whether the server offered STARTTLS to the probe.</summary>
        public bool? StartTlsOffered { get; set; }

        /// <summary>The AUTH mechanisms advertised before TLS.</summary>
        public string? AuthMechanismsBeforeTls { get; set; }

        /// <summary>The AUTH mechanisms advertised after TLS.</summary>
        public string? AuthMechanismsAfterTls { get; set; }

        /// <summary>The server's 220 greeting, read from a probe result's transcript.</summary>
        public string? Greeting { get; set; }

        /// <summary>The probe's -From address (MAIL FROM), when it sent one.</summary>
        public string? ProbeFrom { get; set; }

        /// <summary>Who the probe's token is for: a user (upn) or an app (appid).</summary>
        public string? TokenIdentity { get; set; }

        /// <summary>The certificate's subject when it was not for the host probed (RemoteCertificateNameMismatch).</summary>
        public string? MismatchedCertificate { get; set; }

        /// <summary>The probe's message says the server answered its TLS hello with an alert.</summary>
        public bool TlsAlert { get; set; }

        /// <summary>The probe's message says the server refused the TLS versions it offers (a "protocol version" alert).</summary>
        public bool TlsVersionRefused { get; set; }

        /// <summary>The probe's message says the server ended the TLS handshake with an "internal error" alert.</summary>
        public bool TlsServerFault { get; set; }

        /// <summary>The names the server's certificate is for (CertificateNames, else CertificateSubject).</summary>
        public string? CertificateNames { get; set; }

        /// <summary>The server certificate's issuer.</summary>
        public string? CertificateIssuer { get; set; }

        /// <summary>The certificate's chain did not reach a trusted root (CertificateChainErrors has UntrustedRoot or PartialChain).</summary>
        public bool CertificateUntrusted { get; set; }

        /// <summary>The certificate's chain was out of its validity dates (CertificateChainErrors has NotTimeValid).</summary>
        public bool CertificateTimeInvalid { get; set; }

        /// <summary>The certificate's expiry (UTC).</summary>
        public DateTime? CertificateNotAfter { get; set; }

        /// <summary>The certificate's start of validity (UTC).</summary>
        public DateTime? CertificateNotBefore { get; set; }

        /// <summary>When the certificate expired ("yyyy-MM-dd HH:mm UTC"), when it was out of date at the time of the probe because it had expired.</summary>
        public string? CertificateExpiredOn => CertificateTimeInvalid && CertificateNotAfter is DateTime end && end < (ObservedUtc ?? DateTimeOffset.UtcNow).UtcDateTime
            ? end.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)
            : null;

        /// <summary>When the certificate becomes valid ("yyyy-MM-dd HH:mm UTC"), when it was out of date at the time of the probe because that was still ahead.</summary>
        public string? CertificateNotValidBefore => CertificateTimeInvalid && CertificateExpiredOn is null && CertificateNotBefore is DateTime start && start > (ObservedUtc ?? DateTimeOffset.UtcNow).UtcDateTime
            ? start.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)
            : null;

        /// <summary>The SASL mechanism the probe used.</summary>
        public string? Mechanism { get; set; }

        /// <summary>Token problems a probe found in the claims, as CauseIds.</summary>
        public string[] TokenIssues { get; set; } = Array.Empty<string>();

        /// <summary>
        /// Reads a string; an ErrorRecord or exception (inner exceptions walked, type names kept because they name
        /// the client library); a dictionary or any object with a ReplyText, Message or Exception property (a
        /// Test-SmtpAuth result, a nodemailer error object converted from JSON, ...). Returns null when the object
        /// carries no error text at all.
        /// </summary>
        public static ErrorInput? From(object? input)
        {
            object? value = input is PSObject pso ? pso.BaseObject : input;
            switch (value)
            {
                case null:
                    return null;
                case string s:
                    return new ErrorInput(s);
                case ErrorRecord record:
                    return new ErrorInput(FromErrorRecord(record));
                case Exception exception:
                    return new ErrorInput(FromException(exception));
            }

            if (value.GetType().IsPrimitive || value is decimal || value is DateTime || value is Guid)
            {
                return null;
            }

            var properties = input is PSObject wrapped ? wrapped : PSObject.AsPSObject(value);
            string? text = null;
            object? replyText = Property(properties, value, "ReplyText");
            object? message = Property(properties, value, "Message");
            object? exceptionValue = Property(properties, value, "Exception");
            if (replyText is not null && !string.IsNullOrWhiteSpace(replyText.ToString()))
            {
                // A probe result carries the server's reply and, in Message, what the client saw (TLS, DNS, ...).
                text = replyText.ToString();
                string? extra = message?.ToString();
                if (!string.IsNullOrWhiteSpace(extra) && text!.IndexOf(extra!, StringComparison.Ordinal) < 0)
                {
                    text += "\n" + extra;
                }
            }
            else if (message is not null && !string.IsNullOrWhiteSpace(message.ToString()))
            {
                text = message.ToString();
            }
            else if (exceptionValue is not null)
            {
                object? inner = exceptionValue is PSObject ep ? ep.BaseObject : exceptionValue;
                text = inner is Exception ex ? FromException(ex) : inner.ToString();
            }
            else if (replyText is not null || message is not null)
            {
                text = string.Empty;
            }

            if (text is null)
            {
                return null;
            }

            var result = new ErrorInput(text)
            {
                AuthMethod = ParseEnum<SmtpAuthMethod>(Property(properties, value, "AuthMethod")),
                FailedPhase = ParseEnum<SmtpPhase>(Property(properties, value, "FailedPhase")),
                UserPrincipalName = (Property(properties, value, "UserPrincipalName") ?? Property(properties, value, "UserName"))?.ToString(),
            };
            // A result read back from a file (Import-Csv) has "True"/"False" strings where the live one has bools.
            result.Succeeded = AsBool(Property(properties, value, "Succeeded")) == true;
            result.SignInName = Property(properties, value, "UserName")?.ToString();
            result.FromProbe = value is SmtpAuthTestResult || (Property(properties, value, "Transcript") is not null && Property(properties, value, "FailedPhase") is not null);
            result.Server = result.FromProbe ? Property(properties, value, "Server")?.ToString() : null;
            // Import-Csv writes an empty cell for a result that was never piped with a state: that is no id.
            result.PolicyStateId = NonEmpty(Property(properties, value, "PolicyStateId"));
            result.Port = result.FromProbe && int.TryParse(Property(properties, value, "Port")?.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int port) ? port : null;
            result.TokenClaimsRead = !string.IsNullOrEmpty(Property(properties, value, "TokenAudience")?.ToString()) && Property(properties, value, "TokenExpiresUtc") is not null;
            result.ExchangeOnline = AsBool(Property(properties, value, "ExchangeOnline")) == true;
            if (result.FromProbe)
            {
                // What the probe saw of the session: the resolver's probe-fact rules read it (issue 10).
                result.TlsMode = ParseEnum<SmtpTlsMode>(Property(properties, value, "TlsMode"));
                result.TlsProtocol = NonEmpty(Property(properties, value, "TlsProtocol"));
                result.CertificatePresented = NonEmpty(Property(properties, value, "CertificateSubject")) is not null;
                result.StartTlsOffered = AsBool(Property(properties, value, "StartTlsOffered"));
                result.AuthMechanismsBeforeTls = NonEmpty(Property(properties, value, "AuthMechanismsBeforeTls"));
                result.AuthMechanismsAfterTls = NonEmpty(Property(properties, value, "AuthMechanismsAfterTls"));
                result.Mechanism = NonEmpty(Property(properties, value, "Mechanism"));
                result.Greeting = GreetingOf(Property(properties, value, "Transcript")?.ToString());
                result.ProbeFrom = NonEmpty(Property(properties, value, "From"));
                string probeMessage = NonEmpty(Property(properties, value, "Message")) ?? string.Empty;
                result.TlsAlert = probeMessage.IndexOf("with a TLS alert", StringComparison.Ordinal) >= 0
                    || probeMessage.IndexOf("have no TLS version or cipher in common", StringComparison.Ordinal) >= 0;
                result.TlsVersionRefused = probeMessage.IndexOf("refused the TLS versions the probe offers", StringComparison.Ordinal) >= 0;
                result.TlsServerFault = probeMessage.IndexOf("with the TLS alert 'internal error'", StringComparison.Ordinal) >= 0;
                result.TlsAlert |= result.TlsServerFault;
                result.TokenIdentity = NonEmpty(Property(properties, value, "TokenIdentity"));
                result.MismatchedCertificate = (NonEmpty(Property(properties, value, "CertificateErrors")) ?? string.Empty).IndexOf("RemoteCertificateNameMismatch", StringComparison.Ordinal) >= 0
                    ? NonEmpty(Property(properties, value, "CertificateSubject"))
                    : null;
                result.CertificateNames = NonEmpty(Property(properties, value, "CertificateNames")) ?? NonEmpty(Property(properties, value, "CertificateSubject"));
                result.CertificateIssuer = NonEmpty(Property(properties, value, "CertificateIssuer"));
                string chainErrors = NonEmpty(Property(properties, value, "CertificateChainErrors")) ?? string.Empty;
                result.CertificateUntrusted = chainErrors.IndexOf("UntrustedRoot", StringComparison.Ordinal) >= 0 || chainErrors.IndexOf("PartialChain", StringComparison.Ordinal) >= 0;
                result.CertificateTimeInvalid = chainErrors.IndexOf("NotTimeValid", StringComparison.Ordinal) >= 0;
                result.CertificateNotAfter = AsUtc(Property(properties, value, "CertificateNotAfter"));
                result.CertificateNotBefore = AsUtc(Property(properties, value, "CertificateNotBefore"));
            }

            // A live probe result hands over its list; anything else (a copy, a file read back) its joined text.
            result.TokenIssues = value is SmtpAuthTestResult live
                ? live.TokenIssueIds.ToArray()
                : CauseIdList.Parse(Property(properties, value, "TokenIssues")?.ToString()).ToArray();
            object? started = Property(properties, value, "StartedUtc");
            if (started is PSObject sp)
            {
                started = sp.BaseObject;
            }

            result.ObservedUtc = started switch
            {
                DateTimeOffset dto => dto,
                DateTime dt => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)),
                string st when ReadBackDate.TryParseUtc(st, out DateTime p) => new DateTimeOffset(p),
                _ => null,
            };
            return result;
        }

        // The server's first 220 line in a probe's transcript ("S: 220 <host> ..."), without the code.
        private static string? GreetingOf(string? transcript)
        {
            if (string.IsNullOrEmpty(transcript))
            {
                return null;
            }

            foreach (string line in transcript!.Split('\n'))
            {
                string l = line.TrimEnd('\r');
                if (l.StartsWith("S: 220", StringComparison.Ordinal) && l.Length > 7 && (l[6] == ' ' || l[6] == '-'))
                {
                    return l.Substring(7).Trim();
                }
            }

            return null;
        }

        private static object? Property(PSObject pso, object baseObject, string name)
        {
            if (baseObject is IDictionary dictionary)
            {
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (string.Equals(entry.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase))
                    {
                        return entry.Value;
                    }
                }

                return null;
            }

            object? v = pso.Properties[name]?.Value;
            return v is PSObject p && p.BaseObject is not PSCustomObject ? p.BaseObject : v;
        }

        // A certificate date from a live result (DateTime, UTC) or one read back from a file (text, in the culture that wrote it).
        private static DateTime? AsUtc(object? value)
        {
            if (value is PSObject p)
            {
                value = p.BaseObject;
            }

            return value switch
            {
                DateTime dt => dt.Kind == DateTimeKind.Local ? dt.ToUniversalTime() : DateTime.SpecifyKind(dt, DateTimeKind.Utc),
                DateTimeOffset dto => dto.UtcDateTime,
                string s when ReadBackDate.TryParseUtc(s, out DateTime parsed) => parsed,
                _ => null,
            };
        }

        /// <summary>A bool, or the text of one ("True", "false"); null for anything else.</summary>
        private static bool? AsBool(object? value)
        {
            if (value is PSObject p)
            {
                value = p.BaseObject;
            }

            return value switch
            {
                bool b => b,
                string s when bool.TryParse(s.Trim(), out bool parsed) => parsed,
                _ => null,
            };
        }

        private static string? NonEmpty(object? value)
        {
            string? text = (value is PSObject p ? p.BaseObject : value)?.ToString();
            return string.IsNullOrWhiteSpace(text) ? null : text!.Trim();
        }

        private static T ParseEnum<T>(object? value)
            where T : struct
        {
            if (value is PSObject p)
            {
                value = p.BaseObject;
            }

            if (value is T typed)
            {
                return typed;
            }

            return value is not null && Enum.TryParse(value.ToString(), ignoreCase: true, out T parsed) ? parsed : default;
        }

        private static string FromErrorRecord(ErrorRecord record)
        {
            var sb = new StringBuilder();
            if (record.Exception is not null)
            {
                sb.Append(FromException(record.Exception));
            }

            string? details = record.ErrorDetails?.Message;
            if (!string.IsNullOrEmpty(details) && sb.ToString().IndexOf(details, StringComparison.Ordinal) < 0)
            {
                sb.Append('\n').Append(details);
            }

            if (sb.Length == 0)
            {
                sb.Append(record.ToString());
            }

            return sb.ToString();
        }

        // "Type: message" for the exception and each inner one, so that library names stay visible.
        private static string FromException(Exception exception)
        {
            var sb = new StringBuilder();
            var queue = new Queue<(Exception Ex, int Depth)>();
            queue.Enqueue((exception, 0));
            var seen = new HashSet<Exception>();
            while (queue.Count > 0)
            {
                (Exception ex, int depth) = queue.Dequeue();
                if (depth > MaxExceptionDepth || !seen.Add(ex))
                {
                    continue;
                }

                if (sb.Length > 0)
                {
                    sb.Append('\n');
                }

                sb.Append(ex.GetType().FullName).Append(": ").Append(ex.Message);
                if (ex is AggregateException aggregate)
                {
                    foreach (Exception inner in aggregate.InnerExceptions)
                    {
                        queue.Enqueue((inner, depth + 1));
                    }
                }
                else if (ex.InnerException is not null)
                {
                    queue.Enqueue((ex.InnerException, depth + 1));
                }
            }

            return sb.ToString();
        }
    }
}
