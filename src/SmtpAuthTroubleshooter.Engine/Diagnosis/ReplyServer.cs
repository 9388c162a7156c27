using System;
using System.Globalization;
using SmtpAuthTroubleshooter.Engine.Knowledge;

namespace SmtpAuthTroubleshooter.Engine.Diagnosis
{
    /// <summary>
    /// The server a reply came from, where the evidence shows it: a Test-SmtpAuth result knows the host it probed; pasted
    /// text shows it through the server's own words or markers (the catalog's server signatures: Exim's "Incorrect
    /// authentication data", Postfix's "Error: authentication failed:", Gmail's "gsmtp"...). A reply from a server that is
    /// not Exchange Online gets that server's fix, not Exchange Online's settings.
    /// </summary>
    public sealed class ReplyServer
    {
        internal ReplyServer(string name, bool exchangeOnline, int? port, string basis, bool fromText)
        {
            Name = name;
            ExchangeOnline = exchangeOnline;
            Port = port;
            Basis = basis;
            FromText = fromText;
        }

        /// <summary>The server's name as findings show it (a host name for a probe, e.g. "Exim" or "Gmail" for text).</summary>
        public string Name { get; }

        /// <summary>True when the server is Exchange Online.</summary>
        public bool ExchangeOnline { get; }

        /// <summary>The port, where known (a probe).</summary>
        public int? Port { get; }

        /// <summary>How the server is known, as a sentence for the evidence.</summary>
        public string Basis { get; }

        /// <summary>True when the server was read from the text (a signature), not from a probe.</summary>
        public bool FromText { get; }

        /// <summary>
        /// The server the text names through a signature, or null when it names none. Exchange Online's reply markers win
        /// (its diagnostic tail, its own wording): a relay's log that quotes Exchange Online's reply is Exchange Online's
        /// reply, whatever else the log shows. When the text names Exchange Online's host but the reply carries another
        /// server's own words, that other server answered in Exchange Online's place (<see cref="Intercepted"/>): a hosting
        /// provider or a firewall that redirects outbound SMTP.
        /// </summary>
        public static ReplyServer? FromTextOf(ErrorCatalog catalog, string text)
        {
            if (catalog is null)
            {
                throw new ArgumentNullException(nameof(catalog));
            }

            if (string.IsNullOrEmpty(text))
            {
                return null;
            }

            (string Name, string Words)? exchangeHost = null, otherReply = null, otherHost = null, foreignCertificate = null;
            foreach (ServerSignature s in catalog.Servers)
            {
                if (MatchOf(s, text) is not { } match)
                {
                    continue;
                }

                if (s.ExchangeOnline && s.Marks == SignatureMarks.Reply)
                {
                    return new ReplyServer(s.Name, true, null, string.Format(CultureInfo.InvariantCulture, "The reply carries Exchange Online's marker ('{0}').", match.Words), fromText: true);
                }

                if (s.ExchangeOnline)
                {
                    exchangeHost ??= match;
                }
                else if (s.Marks == SignatureMarks.Host)
                {
                    otherHost ??= match;
                }
                else if (s.Marks == SignatureMarks.Certificate)
                {
                    foreignCertificate ??= match;
                }
                else
                {
                    otherReply ??= match;
                }
            }

            if (exchangeHost is { } target && (otherReply ?? foreignCertificate) is { } answered)
            {
                return new ReplyServer(answered.Name, false, null,
                    string.Format(CultureInfo.InvariantCulture, "The client was set to Exchange Online ('{0}'), but {1} answered in its place ('{2}'), not Exchange Online.", target.Words, answered.Name, answered.Words),
                    fromText: true) { Intercepted = true };
            }

            if (exchangeHost is { } exchange)
            {
                return new ReplyServer(exchange.Name, true, null, string.Format(CultureInfo.InvariantCulture, "The text names Exchange Online's host ('{0}').", exchange.Words), fromText: true);
            }

            if (otherReply is { } reply)
            {
                return new ReplyServer(reply.Name, false, null,
                    string.Format(CultureInfo.InvariantCulture, "The reply is {0}'s, not Exchange Online's: the text carries {0}'s own words or marker ('{1}').", reply.Name, reply.Words), fromText: true);
            }

            // A host name the client was set to: the name itself is the server's name in the findings (smtp.mailbox.org).
            // A certificate of another host, with no host named, says nothing about which server was meant.
            return otherHost is { } host
                ? new ReplyServer(host.Words, false, null,
                    string.Format(CultureInfo.InvariantCulture, "The client was set to {0}, not to Exchange Online.", host.Words), fromText: true)
                : null;
        }

        /// <summary>
        /// True when the client was set to Exchange Online's host but another server's reply came back: something between
        /// them (a hosting provider's outbound SMTP redirection, a firewall) answered in Exchange Online's place.
        /// </summary>
        public bool Intercepted { get; private set; }

        /// <summary>
        /// A probe of Exchange Online's host name that another server answered: the greeting is not Exchange Online's
        /// ("&lt;host&gt;.outlook.office365.com Microsoft ESMTP MAIL Service ready"), so something in between (a hosting
        /// provider's outbound SMTP redirection, a firewall's SMTP inspection that masks the greeting) took the connection.
        /// The same when the certificate presented was for another name (the probe ran with -SkipCertificateCheck, or
        /// stopped at TLS on it). Null when the greeting is Exchange Online's or unknown and the certificate fits.
        /// </summary>
        internal static ReplyServer? ForInterceptedProbe(ErrorCatalog catalog, string? server, int? port, string? greeting, string? mismatchedCertificate = null)
        {
            bool foreignGreeting = !string.IsNullOrWhiteSpace(greeting) && !Probe.CloudEndpoints.IsExchangeGreeting(greeting);
            if (!foreignGreeting && string.IsNullOrWhiteSpace(mismatchedCertificate))
            {
                return null;
            }

            ServerSignature? named = null;
            if (foreignGreeting)
            {
                foreach (ServerSignature s in catalog.Servers)
                {
                    if (!s.ExchangeOnline && s.Marks == SignatureMarks.Reply && MatchOf(s, greeting!) is not null)
                    {
                        named = s;
                        break;
                    }
                }
            }

            string basis;
            if (foreignGreeting)
            {
                string shown = greeting!.Length > 120 ? greeting.Substring(0, 120) + "..." : greeting;
                basis = string.Format(CultureInfo.InvariantCulture, "The probe asked for {0}, Exchange Online's host, but the greeting is not Exchange Online's ('{1}'): {2} answered in its place.", server ?? "Exchange Online", shown, named?.Name ?? "another server");
            }
            else
            {
                // Microsoft's greeting can be copied; a certificate for another name on Exchange Online's host cannot be
                // Exchange Online's (its certificates name its hosts).
                basis = string.Format(CultureInfo.InvariantCulture, "The probe asked for {0}, Exchange Online's host, but the certificate presented is for '{1}', not for that host: another server answered in its place.", server ?? "Exchange Online", mismatchedCertificate);
            }

            string name = named?.Name ?? "the server that answered";
            return new ReplyServer(name, false, port, basis, fromText: false) { Intercepted = true };
        }

        /// <summary>A probe of a server that is not Exchange Online.</summary>
        internal static ReplyServer ForProbe(string? server, int? port) =>
            new ReplyServer(server ?? "the server", false, port,
                string.Format(CultureInfo.InvariantCulture, "The probe talked to {0}, which is not Exchange Online.", server ?? "a server"), fromText: false);

        /// <summary>Fills {server}, {port} and {phase} in a catalog text for this server.</summary>
        internal string Fill(string text, SmtpPhase phase)
        {
            string filled = Port is int port
                ? text.Replace("{port}", port.ToString(CultureInfo.InvariantCulture))
                : text.Replace("{server}:{port}", "{server}").Replace("{port}", "its submission port");
            return filled.Replace("{server}", Name).Replace("{phase}", phase.ToString());
        }

        // The signature's match: the server's name (the pattern's "server" group where it has one, such as the name on
        // another host's certificate; else the signature's name) and the words that matched, cut for the evidence.
        private static (string Name, string Words)? MatchOf(ServerSignature s, string text)
        {
            try
            {
                System.Text.RegularExpressions.Match m = s.Pattern.Match(text);
                if (!m.Success)
                {
                    return null;
                }

                string words = m.Value.Trim();
                System.Text.RegularExpressions.Group named = m.Groups["server"];
                return (named.Success && named.Value.Length > 0 ? named.Value : s.Name, words.Length > 80 ? words.Substring(0, 80) + "..." : words);
            }
            catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
            {
                return null;
            }
        }
    }
}
