using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SmtpAuthTroubleshooter.Engine.Knowledge
{
    /// <summary>One SMTP reply found in a piece of error text.</summary>
    public sealed class ParsedReply
    {
        internal ParsedReply(int? replyCode, string? enhancedStatusCode, string text, int start)
        {
            ReplyCode = replyCode;
            EnhancedStatusCode = enhancedStatusCode;
            Text = text;
            Start = start;
        }

        /// <summary>
        /// The lines that follow the reply's first line up to the next reply (at most 400 characters): where a logger
        /// wrapped or split the reply, the rest of its text is here (issue 10).
        /// </summary>
        public string Continuation { get; internal set; } = string.Empty;

        /// <summary>The reply read on with its continuation, line breaks folded (set once by the resolver).</summary>
        internal string[]? ContinuedForms { get; set; }

        /// <summary>A client's text that carries a server's words but none of their codes, read as one reply.</summary>
        internal static ParsedReply WithoutCodes(string text) => new ParsedReply(null, null, text, 0);

        /// <summary>The three-digit reply code, if the text carried one.</summary>
        public int? ReplyCode { get; }

        /// <summary>The enhanced status code (RFC 3463), if the text carried one.</summary>
        public string? EnhancedStatusCode { get; }

        /// <summary>The reply text after the codes, without Exchange's diagnostic tail.</summary>
        public string Text { get; internal set; }

        /// <summary>The text after "Authentication unsuccessful,", which names the cause of a 5.7.139 (https://github.com/jstedfast/MailKit).</summary>
        public string? Reason { get; internal set; }

        /// <summary>Front-end host of the diagnostic tail.</summary>
        public string? DiagnosticServer { get; internal set; }

        /// <summary>UTC time of the diagnostic tail.</summary>
        public DateTimeOffset? DiagnosticTimestamp { get; internal set; }

        /// <summary>Id of the diagnostic tail.</summary>
        public string? DiagnosticId { get; internal set; }

        /// <summary>The reply embedded after "Error:" (System.Net.Mail's 5.7.57, https://github.com/jstedfast/MailKit), if any.</summary>
        public ParsedReply? Embedded { get; internal set; }

        /// <summary>True when this reply was found embedded in another.</summary>
        public bool IsEmbedded { get; internal set; }

        internal int Start { get; }

        /// <summary>The reply as one line: code, enhanced code and text.</summary>
        public override string ToString()
        {
            var sb = new StringBuilder();
            if (ReplyCode.HasValue)
            {
                sb.Append(ReplyCode.Value.ToString(CultureInfo.InvariantCulture)).Append(' ');
            }

            if (EnhancedStatusCode is not null)
            {
                sb.Append(EnhancedStatusCode).Append(' ');
            }

            sb.Append(Text);
            return sb.ToString().Trim();
        }
    }

    /// <summary>The result of parsing a piece of error text.</summary>
    public sealed class ParsedError
    {
        internal ParsedError(string text, string? source, SmtpAuthMethod authMethodHint, IReadOnlyList<ParsedReply> replies, bool truncated, string? mechanism)
        {
            Text = text;
            Source = source;
            AuthMethodHint = authMethodHint;
            Mechanism = mechanism;
            Replies = replies;
            Truncated = truncated;
        }

        /// <summary>The normalised input (control characters folded, diagnostic tails removed, possibly truncated).</summary>
        public string Text { get; }

        /// <summary>The client library the text looks like it came from.</summary>
        public string? Source { get; }

        /// <summary>The auth method the text reveals (an "AUTH XOAUTH2" command, say), or Unknown.</summary>
        public SmtpAuthMethod AuthMethodHint { get; }

        /// <summary>Every distinct reply, most specific first: embedded replies before the replies that carry them.</summary>
        public IReadOnlyList<ParsedReply> Replies { get; }

        /// <summary>The SASL mechanism of the first AUTH command the text shows the client sending ("LOGIN" for nodemailer's
        /// command: 'AUTH LOGIN' or a protocol log's "C: AUTH LOGIN"), upper case; null when the text shows none. A server's
        /// EHLO line that lists mechanisms (250-AUTH LOGIN XOAUTH2) is not a command and does not count.</summary>
        public string? Mechanism { get; }

        /// <summary>True when the input was longer than the parser reads.</summary>
        public bool Truncated { get; }
    }

    /// <summary>
    /// Finds SMTP replies in any error text: a raw reply, a log line, or a client library's exception message
    /// (MailKit, System.Net.Mail/Send-MailMessage, Python smtplib, Java Mail, nodemailer, PHPMailer).
    /// Pure and deterministic; every regex has a timeout, and the input is bounded.
    /// </summary>
    public static class ReplyParser
    {
        /// <summary>The parser reads at most this many characters of one input.</summary>
        public const int MaxInputLength = 16 * 1024;

        private const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;

        // A basic code followed by an enhanced code: "535 5.7.139", "432-4.3.2" (multi-line), "535: 5.7.139" (MailKit),
        // "(535, b'5.7.139" (smtplib), "504.5.7.4" (dotted, as some loggers print it). Lookbehind keeps "1535" or "2.535" from matching.
        private static readonly Regex s_codeAndEnhanced = new Regex(
            @"(?<![\w.])(?<code>[2-5][0-5][0-9])(?:[ -]|:[ ]?|,[ ]?b?['""]|\.)(?<enh>[2-5]\.[0-9]{1,3}\.[0-9]{1,3})(?![\w.])",
            Options, ErrorCatalog.MatchTimeout);

        // An enhanced code alone: "The server response was: 5.7.57 ...", MailKit SmtpCommandException.Message.
        private static readonly Regex s_enhancedOnly = new Regex(
            @"(?<![\w.])(?<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3})(?![\w.])(?=[ ;])",
            Options, ErrorCatalog.MatchTimeout);

        // A basic code alone, where the reply has no enhanced code: "421 Service not available", "(535, b'Authentication".
        // Not the code a client says it expected ("Expected response code 250 but got code "553"", SwiftMailer and
        // Symfony Mailer): that is no reply the server sent.
        private static readonly Regex s_codeOnly = new Regex(
            @"(?:^|(?<=[\s:(\[""]))(?<![Ee]xpected(?: response| smtp| status)?(?: code)?[ ]+)(?<code>[2-5][0-5][0-9])(?:[ -]|,[ ]?b?['""])(?=[A-Za-z<\[])",
            Options | RegexOptions.Multiline, ErrorCatalog.MatchTimeout);

        // A client that prints only the code it got: "Error: Expected smtp code 250, got 552" (mailsend), "permanent error
        // (535)" (lettre, as himalaya prints it).
        private static readonly Regex s_gotCode = new Regex(
            @"\bExpected\b[^\n]{0,60}?\bgot[ ]+(?<code>[2-5][0-5][0-9])(?![\w.])|\b(?:permanent|transient) error \((?<code>[2-5][0-5][0-9])\)",
            Options | RegexOptions.IgnoreCase, ErrorCatalog.MatchTimeout);

        // Exchange's diagnostic tail (https://github.com/jstedfast/MailKit): [HOST] or [HOST 2023-11-29T14:52:57.126Z 08DBE7319275F6BA],
        // and the "[Hostname=HOST]" form of some 4xx replies.
        private static readonly Regex s_tail = new Regex(
            // Atomic groups: a host-like run with no closing bracket fails at once instead of backtracking (issue 6).
            @"\[(?:Hostname=)?(?<host>(?>[A-Za-z0-9-]{1,63})(?>\.[A-Za-z0-9-]{1,63}){1,10})(?:[ ]+(?<ts>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,16}Z)(?:[ ]+(?<id>[0-9A-Fa-f]{4,40}))?)?\]",
            Options, ErrorCatalog.MatchTimeout);

        private static readonly Regex s_embeddedMarker = new Regex(@"Error:\s*$", Options | RegexOptions.IgnoreCase, ErrorCatalog.MatchTimeout);

        private static readonly Regex s_reason = new Regex(@"Authentication unsuccessful,\s*(?<reason>.+)$", Options | RegexOptions.IgnoreCase, ErrorCatalog.MatchTimeout);

        private static readonly (Regex Pattern, string Source)[] s_sources =
        {
            (new Regex(@"MailKit|MimeKit|SmtpCommandException|SmtpProtocolException", Options, ErrorCatalog.MatchTimeout), "MailKit"),
            (new Regex(@"System\.Net\.Mail|Send-MailMessage|The server response was:", Options, ErrorCatalog.MatchTimeout), "System.Net.Mail"),
            (new Regex(@"smtplib|SMTPAuthenticationError|SMTPSenderRefused|SMTPDataError", Options, ErrorCatalog.MatchTimeout), "Python smtplib"),
            (new Regex(@"javax\.mail|jakarta\.mail|com\.sun\.mail", Options, ErrorCatalog.MatchTimeout), "Java Mail"),
            (new Regex(@"EAUTH|ESOCKET|EENVELOPE|Invalid login:|nodemailer", Options, ErrorCatalog.MatchTimeout), "nodemailer"),
            (new Regex(@"PHPMailer|SMTP ERROR:|SMTP Error:", Options, ErrorCatalog.MatchTimeout), "PHPMailer"),
        };

        // SwiftMailer/Symfony Mailer name each authenticator they tried ("Authenticator XOAUTH2 returned ..."); only a
        // text where XOAUTH2 was the one tried tells the method.
        private static readonly Regex s_oauthHint = new Regex(@"(?<!250[ -])AUTH (?:XOAUTH2|OAUTHBEARER)\b|SaslMechanismOAuth2|using 1 possible authenticators?\. Authenticator XOAUTH2 returned", Options | RegexOptions.IgnoreCase, ErrorCatalog.MatchTimeout);
        // A client that names the mechanism it used in its own words, not as the AUTH command: msmtp's "authentication
        // failed (method LOGIN)" (https://github.com/marlam/msmtp/blob/master/src/msmtp.c), PHPMailer's debug output
        // "Auth method selected: LOGIN" (https://github.com/PHPMailer/PHPMailer/blob/master/src/SMTP.php) and JavaMail's debug log
        // "DEBUG SMTP: Using mechanism LOGIN" (https://github.com/eclipse-ee4j/angus-mail, org.eclipse.angus.mail.smtp.SMTPTransport,
        // as Angus Mail / com.sun.mail log it).
        private static readonly Regex s_mechanism = new Regex(@"(?<!250[ -])\bAUTH[ ]+(?<mech>LOGIN|PLAIN|XOAUTH2|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|GSSAPI)\b(?![ ]+(?:LOGIN|PLAIN|XOAUTH2|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|GSSAPI)\b)"
            + @"|\bauthentication failed \(method (?<mech>LOGIN|PLAIN|XOAUTH2|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|GSSAPI|SCRAM-SHA-1|SCRAM-SHA-256|EXTERNAL)\)"
            + @"|\bAuth method selected: (?<mech>LOGIN|PLAIN|XOAUTH2|OAUTHBEARER|CRAM-MD5|NTLM)\b|\bUsing mechanism (?<mech>LOGIN|PLAIN|XOAUTH2|OAUTHBEARER|DIGEST-MD5|NTLM)\b", Options | RegexOptions.IgnoreCase, ErrorCatalog.MatchTimeout);
        private static readonly Regex s_basicHint = new Regex(@"(?<!250[ -])AUTH (?:LOGIN|PLAIN)\b|Password command failed|Username and Password not accepted", Options | RegexOptions.IgnoreCase, ErrorCatalog.MatchTimeout);

        /// <summary>Parses <paramref name="input"/>. Never throws for any string.</summary>
        public static ParsedError Parse(string? input)
        {
            string raw = input ?? string.Empty;
            bool truncated = raw.Length > MaxInputLength;
            string text = Normalize(truncated ? raw.Substring(0, MaxInputLength) : raw);

            var starts = FindReplyStarts(text);
            var replies = new List<ParsedReply>(starts.Count);
            for (int i = 0; i < starts.Count; i++)
            {
                (int start, int bodyStart, int? code, string? enh) = starts[i];
                int end = i + 1 < starts.Count ? starts[i + 1].Start : text.Length;
                int lineEnd = text.IndexOf('\n', bodyStart);
                bool nextIsEmbedded = i + 1 < starts.Count && SafeIsMatch(s_embeddedMarker, text.Substring(bodyStart, end - bodyStart));
                if (!nextIsEmbedded && lineEnd >= 0 && lineEnd < end)
                {
                    end = lineEnd;
                }

                string body = text.Substring(bodyStart, Math.Max(0, end - bodyStart));
                var reply = new ParsedReply(code, enh, body, start);
                int nextStart = i + 1 < starts.Count ? starts[i + 1].Start : text.Length;
                if (end < nextStart)
                {
                    reply.Continuation = text.Substring(end, Math.Min(400, nextStart - end));
                }

                ApplyTail(reply);
                replies.Add(reply);
            }

            LinkEmbedded(replies, text);
            List<ParsedReply> ordered = Order(Dedupe(replies));

            string? source = null;
            foreach ((Regex pattern, string name) in s_sources)
            {
                if (SafeIsMatch(pattern, text))
                {
                    source = name;
                    break;
                }
            }

            SmtpAuthMethod hint = SafeIsMatch(s_oauthHint, text) ? SmtpAuthMethod.OAuth
                : SafeIsMatch(s_basicHint, text) ? SmtpAuthMethod.Basic
                : SmtpAuthMethod.Unknown;

            Match? m = SafeMatch(s_mechanism, text);
            string? mechanism = m is { Success: true } ? m.Groups["mech"].Value.ToUpperInvariant() : null;

            // A mechanism the client names tells the method as well as an AUTH command does.
            if (hint == SmtpAuthMethod.Unknown)
            {
                hint = mechanism switch
                {
                    "XOAUTH2" or "OAUTHBEARER" => SmtpAuthMethod.OAuth,
                    "LOGIN" or "PLAIN" => SmtpAuthMethod.Basic,
                    _ => SmtpAuthMethod.Unknown,
                };
            }

            return new ParsedError(StripTails(text), source, hint, ordered, truncated, mechanism);
        }

        /// <summary>Removes Exchange diagnostic tails from a text.</summary>
        public static string StripTails(string text)
        {
            try
            {
                return s_tail.Replace(text, string.Empty);
            }
            catch (RegexMatchTimeoutException)
            {
                return text;
            }
        }

        /// <summary>The first match, or null when there is none or the pattern timed out.</summary>
        internal static Match? SafeMatch(Regex regex, string text)
        {
            try
            {
                Match m = regex.Match(text);
                return m.Success ? m : null;
            }
            catch (RegexMatchTimeoutException)
            {
                return null;
            }
        }

        internal static bool SafeIsMatch(Regex regex, string text)
        {
            try
            {
                return regex.IsMatch(text);
            }
            catch (RegexMatchTimeoutException)
            {
                return false;
            }
        }

        // Character references from a log kept as HTML or XML (an ASP.NET error page, an event's XML, a web UI that
        // escaped the message): "connection.&#xD;&#xA;&#xD;&#xA;One possibility", "server&#x27;s", "&quot;550&quot;".
        private static readonly Regex s_characterReference = new Regex(@"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos);", Options, ErrorCatalog.MatchTimeout);

        // A reply as the IIS SMTP service logs it (W3C extended format, one field, '+' for each space): "550+5.7.60+SMTP;+Client+
        // does+not+have+permissions+...". IIS's SMTP server is the relay Microsoft describes for devices that send through
        // Office 365 (https://learn.microsoft.com/archive/blogs/exovoice/how-to-set-up-iis-to-send-emails-using-office-365),
        // and its OutboundConnectionResponse lines are what admins paste (pastebin.com/wtU9XT6T). A field that starts with a
        // reply code and a '+' and holds another '+' is read with spaces.
        private static readonly Regex s_plusEncodedReply = new Regex(@"(?<!\S)[2-5][0-5][0-9]\+[^\s+]*\+\S*", Options, ErrorCatalog.MatchTimeout);

        // Fold control characters (but keep line breaks) and undo the escapes client libraries print:
        // Python's b'...' repr shows \r\n as literal backslash sequences; HTML and XML logs show character references; IIS
        // logs show '+' for spaces.
        private static string Normalize(string text)
        {
            if (text.IndexOf('&') >= 0 && SafeIsMatch(s_characterReference, text))
            {
                text = System.Net.WebUtility.HtmlDecode(text);
            }

            if (text.IndexOf('+') >= 0 && SafeIsMatch(s_plusEncodedReply, text))
            {
                try
                {
                    text = s_plusEncodedReply.Replace(text, m => m.Value.Replace('+', ' '));
                }
                catch (RegexMatchTimeoutException)
                {
                    // Left as it is: the reply is read without the spaces.
                }
            }

            var sb = new StringBuilder(text.Length);
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (c == '\\' && i + 1 < text.Length && (text[i + 1] == 'n' || text[i + 1] == 'r'))
                {
                    sb.Append('\n');
                    i++;
                }
                else if (c == '\r')
                {
                    sb.Append('\n');
                }
                else if (c == '\n' || c == '\t')
                {
                    sb.Append(c == '\t' ? ' ' : '\n');
                }
                else if (char.IsControl(c) || char.IsSurrogate(c) && !IsValidSurrogatePair(text, i))
                {
                    sb.Append(' ');
                }
                else
                {
                    sb.Append(c);
                }
            }

            return sb.ToString();
        }

        private static bool IsValidSurrogatePair(string text, int i) =>
            char.IsHighSurrogate(text[i]) ? i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])
            : i > 0 && char.IsHighSurrogate(text[i - 1]);

        private static List<(int Start, int BodyStart, int? Code, string? Enh)> FindReplyStarts(string text)
        {
            var found = new List<(int Start, int BodyStart, int? Code, string? Enh)>();
            var covered = new List<(int From, int To)>();
            try
            {
                foreach (Match m in s_codeAndEnhanced.Matches(text))
                {
                    found.Add((m.Index, m.Index + m.Length, int.Parse(m.Groups["code"].Value, CultureInfo.InvariantCulture), m.Groups["enh"].Value));
                    covered.Add((m.Index, m.Index + m.Length));
                }

                foreach (Match m in s_enhancedOnly.Matches(text))
                {
                    if (!Overlaps(covered, m.Index, m.Index + m.Length) && !InsideTail(text, m.Index))
                    {
                        found.Add((m.Index, m.Index + m.Length, null, m.Groups["enh"].Value));
                        covered.Add((m.Index, m.Index + m.Length));
                    }
                }

                // A basic code alone counts where nothing else was found, and also right after System.Net.Mail's
                // "Error:" marker, which introduces the server's own reply under the wrapper's 5.7.57 ("... Error: 535
                // Incorrect authentication data" from a server that sends no enhanced codes).
                bool noneFound = found.Count == 0;
                foreach (Match m in s_codeOnly.Matches(text))
                {
                    int from = Math.Max(0, m.Index - 24);
                    if (noneFound || (!Overlaps(covered, m.Index, m.Index + m.Length) && SafeIsMatch(s_embeddedMarker, text.Substring(from, m.Index - from))))
                    {
                        found.Add((m.Index, m.Index + m.Length, int.Parse(m.Groups["code"].Value, CultureInfo.InvariantCulture), null));
                    }
                }

                if (found.Count == 0)
                {
                    Match got = s_gotCode.Match(text);
                    if (got.Success)
                    {
                        Group g = got.Groups["code"];
                        found.Add((g.Index, g.Index + g.Length, int.Parse(g.Value, CultureInfo.InvariantCulture), null));
                    }
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // Keep what was found before the limit; a pathological input gets fewer replies, never a hang.
            }

            found.Sort((a, b) => a.Start.CompareTo(b.Start));
            return found;
        }

        private static bool Overlaps(List<(int From, int To)> ranges, int from, int to)
        {
            foreach ((int f, int t) in ranges)
            {
                if (from < t && to > f)
                {
                    return true;
                }
            }

            return false;
        }

        private static bool InsideTail(string text, int index)
        {
            int open = text.LastIndexOf('[', index);
            int close = text.LastIndexOf(']', index);
            return open > close;
        }

        private static void ApplyTail(ParsedReply reply)
        {
            string body = reply.Text;
            try
            {
                Match tail = s_tail.Match(body);
                if (tail.Success && LooksLikeExchangeHost(tail.Groups["host"].Value))
                {
                    reply.DiagnosticServer = tail.Groups["host"].Value;
                    if (tail.Groups["ts"].Success &&
                        DateTimeOffset.TryParse(tail.Groups["ts"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset ts))
                    {
                        reply.DiagnosticTimestamp = ts;
                    }

                    if (tail.Groups["id"].Success)
                    {
                        reply.DiagnosticId = tail.Groups["id"].Value;
                    }

                    body = body.Substring(0, tail.Index) + body.Substring(tail.Index + tail.Length);
                }
            }
            catch (RegexMatchTimeoutException)
            {
            }

            reply.Text = CleanBody(body);
            try
            {
                Match reason = s_reason.Match(reply.Text);
                if (reason.Success)
                {
                    reply.Reason = reason.Groups["reason"].Value.Trim();
                }
            }
            catch (RegexMatchTimeoutException)
            {
            }
        }

        private static bool LooksLikeExchangeHost(string host) =>
            host.IndexOf("OUTLOOK.", StringComparison.OrdinalIgnoreCase) >= 0 ||
            host.IndexOf("OFFICE365.", StringComparison.OrdinalIgnoreCase) >= 0 ||
            host.IndexOf(".PROD.", StringComparison.OrdinalIgnoreCase) >= 0 ||
            host.IndexOf(".mail.protection.", StringComparison.OrdinalIgnoreCase) >= 0;

        // Trim the wrapping that libraries add after the reply: smtplib's closing quote and parenthesis,
        // JSON/JS quotes, trailing commas.
        private static string CleanBody(string body)
        {
            string s = body.Trim();
            while (s.Length > 0)
            {
                char last = s[s.Length - 1];
                if (last == '\'' || last == '"' || last == ')' || last == ',' || last == '}' || char.IsWhiteSpace(last))
                {
                    s = s.Substring(0, s.Length - 1);
                }
                else
                {
                    break;
                }
            }

            return s;
        }

        private static void LinkEmbedded(List<ParsedReply> replies, string text)
        {
            for (int i = 0; i + 1 < replies.Count; i++)
            {
                ParsedReply outer = replies[i];
                ParsedReply inner = replies[i + 1];
                string between = text.Substring(outer.Start, inner.Start - outer.Start);
                if (SafeIsMatch(s_embeddedMarker, between))
                {
                    outer.Embedded = inner;
                    inner.IsEmbedded = true;
                    outer.Text = CleanBody(Regex.Replace(outer.Text, @"\s*Error:\s*$", string.Empty, RegexOptions.IgnoreCase, ErrorCatalog.MatchTimeout));
                }
            }
        }

        private static List<ParsedReply> Dedupe(List<ParsedReply> replies)
        {
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var result = new List<ParsedReply>(replies.Count);
            foreach (ParsedReply r in replies)
            {
                // "535 5.7.139 X" and a later "5.7.139 X" (the same reply printed twice by a wrapper) are one reply.
                string key = (r.EnhancedStatusCode ?? r.ReplyCode?.ToString(CultureInfo.InvariantCulture) ?? string.Empty) + "|" + r.Text;
                if (seen.Add(key))
                {
                    result.Add(r);
                }
                else if (r.IsEmbedded)
                {
                    // keep the embedded flag on the surviving copy
                    foreach (ParsedReply kept in result)
                    {
                        if (string.Equals((kept.EnhancedStatusCode ?? kept.ReplyCode?.ToString(CultureInfo.InvariantCulture) ?? string.Empty) + "|" + kept.Text, key, StringComparison.OrdinalIgnoreCase))
                        {
                            kept.IsEmbedded = true;
                        }
                    }
                }
            }

            return result;
        }

        // Embedded replies (the real cause under a 5.7.57) first; otherwise the order of appearance.
        private static List<ParsedReply> Order(List<ParsedReply> replies)
        {
            var ordered = new List<ParsedReply>(replies.Count);
            foreach (ParsedReply r in replies)
            {
                if (r.IsEmbedded)
                {
                    ordered.Add(r);
                }
            }

            foreach (ParsedReply r in replies)
            {
                if (!r.IsEmbedded)
                {
                    ordered.Add(r);
                }
            }

            return ordered;
        }
    }
}
