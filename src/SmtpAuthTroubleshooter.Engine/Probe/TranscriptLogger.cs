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
        public ServerReply(SmtpPhase phase, int code, string text)
        {
            Phase = phase;
            Code = code;
            Text = text;
        }

        public SmtpPhase Phase { get; }
        public int Code { get; }
        public string Text { get; }
    }

    /// <summary>
    /// MailKit protocol logger that turns the conversation into phases with timings, server replies and a redacted,
    /// bounded transcript. Redaction does not rely on MailKit's detector alone: every client line after the AUTH verb
    /// and before the server's final AUTH reply is masked, the AUTH verb's initial response is masked, and message
    /// content after DATA is not logged (reference §5: MailKit logs DATA in full).
    /// </summary>
    internal sealed class TranscriptLogger : IProtocolLogger
    {
        internal const string Mask = "********";
        internal const int MaxTranscriptChars = 64 * 1024;
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
        private bool _inAuth;
        private bool _inData;
        private bool _tlsUp;
        private bool _truncated;

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
            }
            else if (!_phaseStart.ContainsKey(phase))
            {
                _phaseStart[phase] = _clock.ElapsedMilliseconds;
            }
        }

        public void Finish() => _phaseEnd[Phase] = _clock.ElapsedMilliseconds;

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

        public void LogServer(byte[] buffer, int offset, int count) => Drain(_serverBuffer, buffer, offset, count, ServerLine);

        public void Dispose()
        {
        }

        private long _dataBytes;

        private static void Drain(List<byte> pending, byte[] buffer, int offset, int count, Action<string> onLine)
        {
            for (int i = offset; i < offset + count; i++)
            {
                byte b = buffer[i];
                if (b == (byte)'\n')
                {
                    string line = Encoding.UTF8.GetString(pending.ToArray()).TrimEnd('\r');
                    pending.Clear();
                    onLine(line);
                }
                else if (pending.Count < 64 * 1024)
                {
                    pending.Add(b);
                }
            }
        }

        private void ClientLine(string line)
        {
            if (_inAuth)
            {
                // Every continuation line of a SASL exchange is a secret (user names, passwords, tokens, blobs).
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
                string[] words = line.Split(s_space, 3, StringSplitOptions.RemoveEmptyEntries);
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

            Append("S", line);
            _replyLines.Add(line);
            if (line.Length >= 4 && line[3] == '-')
            {
                return;
            }

            int code = line.Length >= 3 && int.TryParse(line.Substring(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out int c) ? c : 0;
            (string verb, SmtpPhase phase) = code == 334 && _pending.Count > 0 ? _pending.Peek()
                : _pending.Count > 0 ? _pending.Dequeue()
                : (string.Empty, Replies.Count == 0 ? SmtpPhase.Banner : Phase);
            Replies.Add(new ServerReply(phase, code, string.Join("\n", _replyLines)));

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

            if (verb == "DATA" && code == 354)
            {
                _inData = true;
                _dataBytes = 0;
            }
        }

        /// <summary>Marks TLS as up without STARTTLS (implicit TLS), so the first EHLO counts as after TLS.</summary>
        public void TlsOnConnect() => _tlsUp = true;

        private void Append(string who, string line)
        {
            if (_truncated)
            {
                return;
            }

            string clean = Sanitize(line);
            if (_transcript.Length + clean.Length + 4 > MaxTranscriptChars)
            {
                _transcript.Append("# transcript truncated\n");
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
