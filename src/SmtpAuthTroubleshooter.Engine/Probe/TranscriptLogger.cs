using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MailKit;

namespace SmtpAuthTroubleshooter.Engine.Probe
{
    /// <summary>One complete server reply (all lines of a multi-line reply).</summary>
    internal sealed class ServerReply
    {
        public ServerReply(SmtpPhase phase, int code, string text, bool unsolicited = false)
        {
            Phase = phase;
            Code = code;
            Text = text;
            Unsolicited = unsolicited;
        }

        public SmtpPhase Phase { get; }
        public int Code { get; }
        public string Text { get; }

        /// <summary>
        /// True for a reply that answered no command (after the greeting, with none waiting): a server may send one
        /// only to close the session (421, RFC 5321 3.8). Its phase is just the step the probe was in when it was read.
        /// </summary>
        public bool Unsolicited { get; }
    }

    /// <summary>
    /// MailKit protocol logger that turns the conversation into phases with timings, server replies and a redacted,
    /// bounded transcript. Redaction does not rely on MailKit's detector alone: every client line after the AUTH verb
    /// and before the server's final AUTH reply is masked, the AUTH verb's initial response is masked, and message
    /// content after DATA is not logged (https://github.com/jstedfast/MailKit: MailKit logs DATA in full). The server's
    /// lines are masked too wherever they quote a secret: every SASL payload the client sent and the password or token
    /// itself (<see cref="AddSecret"/>), as a server that echoes the client's line in its refusal would show them.
    /// </summary>
    internal sealed class TranscriptLogger : IProtocolLogger
    {
        internal const string Mask = "********";
        internal const int MaxTranscriptChars = 64 * 1024;

        /// <summary>
        /// Largest server reply the probe reads (all lines of one multi-line reply). MailKit buffers a whole reply in
        /// memory before it returns it, so a server that never ends a reply, or sends 100 MB, would otherwise cost
        /// that much memory (and CPU, past the time limit). A real EHLO reply is well under 1 KB. Issue 6.
        /// </summary>
        internal const int MaxReplyBytes = 1024 * 1024;

        /// <summary>
        /// Most "334" challenges in one AUTH exchange (LOGIN needs 2, PLAIN and XOAUTH2 at most 1 plus an error
        /// challenge). A server that keeps challenging would otherwise keep the probe sending until its time limit. Issue 6.
        /// </summary>
        internal const int MaxAuthChallenges = 10;

        private const string TruncatedMarker = "# transcript truncated\n";
        private const int MaxLineChars = 1024;

        private static readonly char[] s_space = { ' ' };
        private readonly Stopwatch _clock;
        private readonly StringBuilder _transcript = new StringBuilder();
        private readonly List<byte> _clientBuffer = new List<byte>();
        private readonly List<byte> _serverBuffer = new List<byte>();
        private readonly List<string> _replyLines = new List<string>();
        private readonly Dictionary<SmtpPhase, long> _phaseStart = new Dictionary<SmtpPhase, long>();
        private readonly Dictionary<SmtpPhase, long> _phaseEnd = new Dictionary<SmtpPhase, long>();
        private readonly Queue<(string Verb, SmtpPhase Phase)> _pending = new Queue<(string Verb, SmtpPhase Phase)>();
        private readonly List<string> _secrets = new List<string>();
        private bool _inAuth;
        private bool _inData;
        private bool _tlsUp;
        private bool _truncated;
        private long _replyBytes;      // bytes of the server reply in progress (including bytes not kept in _serverBuffer)
        private int _authChallenges;   // 334 replies since the last AUTH command

        public TranscriptLogger(Stopwatch clock)
        {
            _clock = clock;
        }

        public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

        public SmtpPhase Phase { get; private set; } = SmtpPhase.Banner;

        public List<ServerReply> Replies { get; } = new List<ServerReply>();

        public List<string> EhloBeforeTls { get; } = new List<string>();

        public List<string> EhloAfterTls { get; } = new List<string>();

        public bool SawEhloBeforeTls { get; private set; }

        public string Transcript => _transcript.ToString();

        /// <summary>Called with the new phase each time the probe moves on to another step (the progress countdown).</summary>
        public Action<SmtpPhase>? PhaseChanged { get; set; }

        /// <summary>The probe moves the phase itself for the steps MailKit does not log (DNS, TCP, the TLS handshake).</summary>
        public void Enter(SmtpPhase phase)
        {
            if (Phase != phase)
            {
                long now = _clock.ElapsedMilliseconds;
                _phaseEnd[Phase] = now;
                Phase = phase;
                if (!_phaseStart.ContainsKey(phase))
                {
                    _phaseStart[phase] = now;
                }

                PhaseChanged?.Invoke(phase);
            }
            else if (!_phaseStart.ContainsKey(phase))
            {
                _phaseStart[phase] = _clock.ElapsedMilliseconds;
            }
        }

        public void Finish()
        {
            _phaseEnd[Phase] = _clock.ElapsedMilliseconds;

            // A reply cut short (server closed, time limit) is otherwise invisible: only complete lines are logged.
            if (_serverBuffer.Count > 0 || _replyLines.Count > 0)
            {
                Note(DescribeIncompleteReply());
            }
        }

        public long? Duration(SmtpPhase phase)
        {
            if (!_phaseStart.TryGetValue(phase, out long start))
            {
                return null;
            }

            long end = _phaseEnd.TryGetValue(phase, out long e) && e >= start ? e : _clock.ElapsedMilliseconds;
            return end - start;
        }

        public void Note(string text) => Append("#", text);

        /// <summary>
        /// A secret the probe holds (the password, the OAuth token), masked wherever a server line quotes it. The SASL
        /// payloads built from it are added as the client sends them.
        /// </summary>
        public void AddSecret(string? secret)
        {
            // Empty, and "*" (a SASL cancel), are no secrets; masking them would only mangle the server's lines.
            if (string.IsNullOrEmpty(secret) || secret == "*" || _secrets.Contains(secret!))
            {
                return;
            }

            _secrets.Add(secret!);
            _secrets.Sort((a, b) => b.Length.CompareTo(a.Length)); // the longest first, so no part of one survives
        }

        /// <summary>The text with every secret the probe holds or sent replaced by the mask.</summary>
        public string Redact(string text)
        {
            foreach (string secret in _secrets)
            {
                if (text.IndexOf(secret, StringComparison.Ordinal) >= 0)
                {
                    text = text.Replace(secret, Mask);
                }
            }

            return text;
        }

        public void LogConnect(Uri uri) => Note("connected to " + uri.Host + ":" + uri.Port.ToString(CultureInfo.InvariantCulture) + (uri.Scheme.EndsWith("s", StringComparison.Ordinal) ? " (TLS on connect)" : string.Empty));

        public void LogClient(byte[] buffer, int offset, int count)
        {
            for (int i = offset; i < offset + count; i++)
            {
                if (_inData)
                {
                    // Message content (after DATA's 354, or a BDAT chunk) is never logged; only its size.
                    _dataBytes++;
                    continue;
                }

                byte b = buffer[i];
                if (b == (byte)'\n')
                {
                    string line = Encoding.UTF8.GetString(_clientBuffer.ToArray()).TrimEnd('\r');
                    _clientBuffer.Clear();
                    ClientLine(line);
                }
                else if (_clientBuffer.Count < 64 * 1024)
                {
                    _clientBuffer.Add(b);
                }
            }
        }

        /// <summary>
        /// Splits the server's bytes into lines. Throws <see cref="MailKit.Net.Smtp.SmtpProtocolException"/> (from inside
        /// MailKit's read, which ends the command) when one reply exceeds <see cref="MaxReplyBytes"/> or an AUTH exchange
        /// exceeds <see cref="MaxAuthChallenges"/>: the probe stops reading a misbehaving server instead of buffering it.
        /// </summary>
        public void LogServer(byte[] buffer, int offset, int count)
        {
            for (int i = offset; i < offset + count; i++)
            {
                byte b = buffer[i];
                _replyBytes++;
                if (b == (byte)'\n')
                {
                    string line = Encoding.UTF8.GetString(_serverBuffer.ToArray()).TrimEnd('\r');
                    _serverBuffer.Clear();
                    ServerLine(line);
                }
                else if (_serverBuffer.Count < 64 * 1024)
                {
                    _serverBuffer.Add(b);
                }
            }

            if (_replyBytes > MaxReplyBytes)
            {
                throw new MailKit.Net.Smtp.SmtpProtocolException(string.Format(CultureInfo.InvariantCulture,
                    "The server's reply during {0} exceeded {1} bytes ({2} lines and no final line), so the probe stopped reading it.",
                    Phase, MaxReplyBytes, _replyLines.Count));
            }
        }

        public void Dispose()
        {
        }

        private long _dataBytes;

        /// <summary>The last complete line the server sent (sanitized), or null.</summary>
        public string? LastServerLine { get; private set; }

        /// <summary>
        /// What is known about a server reply that was still incomplete when the conversation stopped: the continuation
        /// lines received and a partial line (no CRLF yet); empty when no reply was in progress.
        /// </summary>
        public string DescribeIncompleteReply()
        {
            if (_replyLines.Count == 0 && _serverBuffer.Count == 0)
            {
                return string.Empty;
            }

            string partial = _serverBuffer.Count == 0 ? string.Empty : Sanitize(Redact(Encoding.UTF8.GetString(_serverBuffer.ToArray())));
            string last = _replyLines.Count == 0 ? string.Empty : Sanitize(Redact(_replyLines[_replyLines.Count - 1]));
            return _replyLines.Count == 0
                ? string.Format(CultureInfo.InvariantCulture, "The server had sent part of a line and no line end: '{0}'.", partial)
                : string.Format(CultureInfo.InvariantCulture, "The server's reply was incomplete: {0} continuation line(s) (the last '{1}') and no final line{2}.",
                    _replyLines.Count, last, partial.Length == 0 ? string.Empty : ", then part of a line: '" + partial + "'");
        }

        private void ClientLine(string line)
        {
            if (_inAuth)
            {
                // Every continuation line of a SASL exchange is a secret (user names, passwords, tokens, blobs).
                AddSecret(line);
                Append("C", Mask);
                return;
            }

            string verb = FirstWord(line);
            SmtpPhase phase = verb switch
            {
                "EHLO" or "HELO" => _tlsUp ? SmtpPhase.Tls : SmtpPhase.Ehlo,
                "STARTTLS" => SmtpPhase.StartTls,
                "AUTH" => SmtpPhase.Auth,
                "MAIL" => SmtpPhase.MailFrom,
                "RCPT" => SmtpPhase.RcptTo,
                "DATA" or "BDAT" => SmtpPhase.Data,
                "QUIT" or "RSET" or "NOOP" => SmtpPhase.None, // housekeeping: its reply decides nothing
                _ => Phase,
            };

            // Replies come back in command order, also when the client pipelines (Exchange offers PIPELINING).
            _pending.Enqueue((verb, phase));
            if (phase != Phase && phase != SmtpPhase.None)
            {
                Enter(phase);
            }

            if (verb == "BDAT")
            {
                // CHUNKING: the chunk follows the command line directly, with no 354.
                Append("C", line);
                _inData = true;
                _dataBytes = 0;
                return;
            }

            if (verb == "AUTH")
            {
                _inAuth = true;
                _authChallenges = 0;
                string[] words = line.Split(s_space, 3, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length >= 3)
                {
                    AddSecret(words[2]);
                }

                Append("C", words.Length >= 3 ? words[0] + " " + words[1] + " " + Mask : line);
                return;
            }

            Append("C", line);
        }

        private void ServerLine(string line)
        {
            if (_inData)
            {
                _inData = false;
                Note(string.Format(CultureInfo.InvariantCulture, "message content not logged ({0} bytes)", _dataBytes));
            }

            // The line as received is kept for parsing (codes, EHLO capabilities); what is shown is masked.
            string shown = Redact(line);
            Append("S", shown);
            LastServerLine = Sanitize(shown);
            _replyLines.Add(line);
            if (line.Length >= 4 && line[3] == '-')
            {
                return;
            }

            _replyBytes = 0; // a final line ends the reply; the next reply is counted from here

            // A reply code is exactly three digits, then a space, a hyphen or the line end: "2500 five digits" is not a 250 (issue 6).
            bool threeDigits = line.Length == 3 || (line.Length > 3 && (line[3] == ' ' || line[3] == '-'));
            int code = threeDigits && int.TryParse(line.Substring(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out int c) ? c : 0;
            bool unsolicited = _pending.Count == 0 && Replies.Count > 0;
            (string verb, SmtpPhase phase) = code == 334 && _pending.Count > 0 ? _pending.Peek()
                : _pending.Count > 0 ? _pending.Dequeue()
                : (string.Empty, Replies.Count == 0 ? SmtpPhase.Banner : Phase);
            Replies.Add(new ServerReply(phase, code, Redact(string.Join("\n", _replyLines)), unsolicited));
            if (_tlsUp)
            {
                TlsReplyCount++;
            }

            if ((verb == "EHLO" || verb == "HELO") && code == 250)
            {
                List<string> target = _tlsUp ? EhloAfterTls : EhloBeforeTls;
                target.Clear();
                target.AddRange(_replyLines);
                SawEhloBeforeTls |= !_tlsUp;
            }

            _replyLines.Clear();

            if (verb == "STARTTLS" && code == 220)
            {
                // The handshake starts now; the phase is Tls until the EHLO after it is answered.
                _tlsUp = true;
                Enter(SmtpPhase.Tls);
            }

            if (_inAuth && code != 334)
            {
                _inAuth = false;
            }
            else if (_inAuth && ++_authChallenges > MaxAuthChallenges)
            {
                throw new MailKit.Net.Smtp.SmtpProtocolException(string.Format(CultureInfo.InvariantCulture,
                    "The server kept answering AUTH with 334 challenges ({0} so far; LOGIN needs 2), so the probe stopped the exchange.",
                    _authChallenges));
            }

            if (verb == "DATA" && code == 354)
            {
                _inData = true;
                _dataBytes = 0;
            }
        }

        /// <summary>How many replies the server sent inside TLS (the greeting on implicit TLS, the EHLO reply after STARTTLS, ...).</summary>
        public int TlsReplyCount { get; private set; }

        /// <summary>Marks TLS as up without STARTTLS (implicit TLS), so the first EHLO counts as after TLS.</summary>
        public void TlsOnConnect() => _tlsUp = true;

        private void Append(string who, string line)
        {
            if (_truncated)
            {
                return;
            }

            string clean = Sanitize(line);
            // Room is kept for the marker, so the transcript never exceeds MaxTranscriptChars.
            if (_transcript.Length + clean.Length + 4 + TruncatedMarker.Length > MaxTranscriptChars)
            {
                _transcript.Append(TruncatedMarker);
                _truncated = true;
                return;
            }

            _transcript.Append(who).Append(": ").Append(clean).Append('\n');
        }

        private static string Sanitize(string line)
        {
            var sb = new StringBuilder(Math.Min(line.Length, MaxLineChars));
            foreach (char ch in line)
            {
                if (sb.Length >= MaxLineChars)
                {
                    sb.Append("...");
                    break;
                }

                sb.Append(char.IsControl(ch) ? ' ' : ch);
            }

            return sb.ToString();
        }

        private static string FirstWord(string line)
        {
            int space = line.IndexOf(' ');
            return (space < 0 ? line : line.Substring(0, space)).ToUpperInvariant();
        }
    }
}
