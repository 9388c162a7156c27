using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// A loopback SMTP server for the probe's mutation tests (issue 11), where FakeSmtpServer is not enough: TLS from the
    /// first byte, a server that goes silent after a chosen command, replies given as raw bytes (cut short, multi-line,
    /// odd codes), the message content captured, and a QUIT that is refused, cut off or never answered. One connection.
    /// </summary>
    internal sealed class ScriptedSmtpServer : IDisposable
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly TaskCompletionSource<bool> _done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task? _serving;

        public ScriptedSmtpServer()
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        }

        public int Port { get; }

        /// <summary>The greeting, raw (CRLF included); null: the server never says anything.</summary>
        public string? Banner { get; set; } = "220 mail.example.test ESMTP scripted\r\n";

        /// <summary>When set, TLS starts on connect (before the greeting) with this certificate.</summary>
        public X509Certificate2? ImplicitTls { get; set; }

        /// <summary>When set, a 220 to STARTTLS is followed by a TLS handshake with this certificate.</summary>
        public X509Certificate2? StartTlsCertificate { get; set; }

        /// <summary>
        /// The STARTTLS handshake asks for a client certificate and fails without one (an OpenSSL server with
        /// SSL_VERIFY_FAIL_IF_NO_PEER_CERT: Python's ssl.CERT_REQUIRED, Exim's tls_verify_hosts); the server then hangs up.
        /// </summary>
        public bool RequireClientCertificate { get; set; }

        /// <summary>When set, the reply to EHLO inside TLS, after which the server ends the session (Postfix's
        /// "421 4.7.1 ... Error: No client certificate presented" with smtpd_tls_req_ccert).</summary>
        public string? EhloInTlsThenClose { get; set; }

        /// <summary>
        /// The raw reply to each command verb (CRLFs included). A verb mapped to null gets no answer: the server goes
        /// silent and only reads until the client hangs up. A verb that is not listed gets 502.
        /// </summary>
        public Dictionary<string, string?> Replies { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["EHLO"] = "250-mail.example.test\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n",
            ["HELO"] = "250 mail.example.test\r\n",
            ["STARTTLS"] = "220 2.0.0 Ready to start TLS\r\n",
            ["AUTH"] = "235 2.7.0 Authentication successful\r\n",
            ["MAIL"] = "250 2.1.0 Sender OK\r\n",
            ["RCPT"] = "250 2.1.5 Recipient OK\r\n",
            ["DATA"] = "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
            ["."] = "250 2.6.0 Queued mail for delivery\r\n",
            ["RSET"] = "250 2.0.0 OK\r\n",
            ["NOOP"] = "250 2.0.0 OK\r\n",
            ["QUIT"] = "221 2.0.0 Service closing transmission channel\r\n",
        };

        /// <summary>After its reply to this verb the server goes silent (e.g. a 220 to STARTTLS and no handshake).</summary>
        public string? SilenceAfter { get; set; }

        /// <summary>Close the connection at once when this verb arrives (no reply).</summary>
        public string? HangUpOn { get; set; }

        /// <summary>
        /// Unsolicited lines the server writes after its reply to a verb, in a write of their own after a pause (e.g. a
        /// 421 after the 235 to AUTH); the server then ends its side of the connection and reads until the client hangs
        /// up. To send them in the same write as the reply, put them in <see cref="Replies"/> and set <see cref="CloseAfter"/>.
        /// </summary>
        public Dictionary<string, (TimeSpan Pause, string Text)> Then { get; } = new Dictionary<string, (TimeSpan, string)>(StringComparer.OrdinalIgnoreCase);

        /// <summary>After its reply to this verb (and any <see cref="Then"/> lines) the server ends its side of the connection.</summary>
        public string? CloseAfter { get; set; }

        /// <summary>When set, the final reply to AUTH is made from the client's last SASL line (a server that echoes it).</summary>
        public Func<string, string>? AuthEcho { get; set; }

        /// <summary>
        /// When set, the server answers the client's TLS ClientHello (on connect when <see cref="TlsAlertOnConnect"/>,
        /// otherwise after its 220 to STARTTLS) with a fatal TLS alert of this description (40 handshake_failure,
        /// 70 protocol_version, 80 internal_error) and hangs up.
        /// </summary>
        public byte? TlsAlert { get; set; }

        /// <summary>The <see cref="TlsAlert"/> answers TLS on connect instead of STARTTLS.</summary>
        public bool TlsAlertOnConnect { get; set; }

        /// <summary>Every line the client sent outside the message content, as received.</summary>
        public ConcurrentQueue<string> Received { get; } = new ConcurrentQueue<string>();

        /// <summary>The lines of the message content (between DATA's 354 and the final dot).</summary>
        public List<string> Content { get; } = new List<string>();

        /// <summary>Completes when the conversation has ended (the client hung up, or the server did).</summary>
        public Task Done => _done.Task;

        public ScriptedSmtpServer Start()
        {
            _serving = Task.Run(() => ServeAsync(_stop.Token));
            return this;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            try
            {
                _serving?.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }

            _stop.Dispose();
        }

        private async Task ServeAsync(CancellationToken token)
        {
            try
            {
                using TcpClient client = await _listener.AcceptTcpClientAsync(token).ConfigureAwait(false);
                Stream stream = client.GetStream();
                try
                {
                    await ConverseAsync(client, stream, token).ConfigureAwait(false);
                }
                finally
                {
                    stream.Dispose();
                }
            }
            catch (Exception ex) when (ex is IOException || ex is OperationCanceledException || ex is ObjectDisposedException || ex is SocketException || ex is System.Security.Authentication.AuthenticationException)
            {
                // The client went away (or refused our certificate): the test reads what the probe made of it.
            }
            finally
            {
                _done.TrySetResult(true);
            }
        }

        private async Task ConverseAsync(TcpClient client, Stream stream, CancellationToken token)
        {
            if (TlsAlert is byte onConnect && TlsAlertOnConnect)
            {
                await AlertAsync(client, stream, onConnect, token).ConfigureAwait(false);
                return;
            }

            if (ImplicitTls is not null)
            {
                var ssl = new SslStream(stream, false);
                await ssl.AuthenticateAsServerAsync(ImplicitTls, false, false).ConfigureAwait(false);
                stream = ssl;
            }

            if (Banner is null)
            {
                await DrainAsync(stream, token).ConfigureAwait(false);
                return;
            }

            await WriteAsync(stream, Banner, token).ConfigureAwait(false);
            bool data = false;
            while (!token.IsCancellationRequested)
            {
                string? line = await FakeSmtpServer.ReadLineAsync(stream, token).ConfigureAwait(false);
                if (line is null)
                {
                    return;
                }

                if (data)
                {
                    if (line != ".")
                    {
                        Content.Add(line);
                        continue;
                    }

                    data = false;
                }
                else
                {
                    Received.Enqueue(line);
                }

                string verb = line == "." ? "." : line.Split(' ')[0].ToUpperInvariant();
                if (string.Equals(verb, HangUpOn, StringComparison.OrdinalIgnoreCase))
                {
                    client.Client.LingerState = new LingerOption(true, 0);
                    return;
                }

                if (!Replies.TryGetValue(verb, out string? reply))
                {
                    reply = "502 5.5.2 Command not recognized\r\n";
                }

                if (verb == "EHLO" && stream is SslStream && EhloInTlsThenClose is string refusal)
                {
                    await WriteAsync(stream, refusal, token).ConfigureAwait(false);
                    client.Client.Shutdown(SocketShutdown.Send);
                    await DrainAsync(stream, token).ConfigureAwait(false);
                    return;
                }

                if (reply is null)
                {
                    await DrainAsync(stream, token).ConfigureAwait(false);
                    return;
                }

                if (verb == "AUTH")
                {
                    string last = await ChallengeAsync(stream, line, token).ConfigureAwait(false);
                    reply = AuthEcho is null ? reply : AuthEcho(last);
                }

                await WriteAsync(stream, reply, token).ConfigureAwait(false);
                if (verb == "STARTTLS" && TlsAlert is byte alert && reply.StartsWith("220", StringComparison.Ordinal))
                {
                    await AlertAsync(client, stream, alert, token).ConfigureAwait(false);
                    return;
                }

                if (Then.TryGetValue(verb, out (TimeSpan Pause, string Text) then))
                {
                    await Task.Delay(then.Pause, token).ConfigureAwait(false);
                    await WriteAsync(stream, then.Text, token).ConfigureAwait(false);
                }

                if (string.Equals(verb, CloseAfter, StringComparison.OrdinalIgnoreCase) || Then.ContainsKey(verb))
                {
                    // A server that closes the session: it says no more, and reads until the client hangs up (so the
                    // client's QUIT does not turn the close into a reset that could lose the lines just written).
                    client.Client.Shutdown(SocketShutdown.Send);
                    await DrainAsync(stream, token).ConfigureAwait(false);
                    return;
                }
                if (verb == "STARTTLS" && StartTlsCertificate is not null && reply.StartsWith("220", StringComparison.Ordinal))
                {
                    var ssl = new SslStream(stream, false, (sender, certificate, chain, errors) => certificate is not null || !RequireClientCertificate);
                    try
                    {
                        await ssl.AuthenticateAsServerAsync(StartTlsCertificate, RequireClientCertificate, false).ConfigureAwait(false);
                    }
                    catch (Exception) when (RequireClientCertificate)
                    {
                        // No client certificate: the handshake fails on the server's side, and it hangs up.
                        client.Client.LingerState = new LingerOption(true, 0);
                        return;
                    }

                    stream = ssl;
                }

                if (string.Equals(verb, SilenceAfter, StringComparison.OrdinalIgnoreCase))
                {
                    await DrainAsync(stream, token).ConfigureAwait(false);
                    return;
                }

                data = verb == "DATA" && reply.StartsWith("354", StringComparison.Ordinal);
                if (verb == "QUIT")
                {
                    return;
                }
            }
        }

        // LOGIN asks twice (user, password), PLAIN once; an initial response on the AUTH line saves one. Returns the
        // client's last SASL line (the initial response, or the last answer).
        private async Task<string> ChallengeAsync(Stream stream, string line, CancellationToken token)
        {
            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string last = words.Length > 2 ? words[2] : string.Empty;
            foreach (string prompt in FakeSmtpServer.SaslPrompts(line))
            {
                await WriteAsync(stream, prompt + "\r\n", token).ConfigureAwait(false);
                if (await FakeSmtpServer.ReadLineAsync(stream, token).ConfigureAwait(false) is string answer)
                {
                    Received.Enqueue(answer);
                    last = answer;
                }
            }

            return last;
        }

        // Reads the client's first TLS record (its ClientHello), answers it with a fatal alert record, and hangs up after
        // the client does (or at once).
        private static async Task AlertAsync(TcpClient client, Stream stream, byte description, CancellationToken token)
        {
            var header = new byte[5];
            int read = 0;
            while (read < header.Length)
            {
                int n = await stream.ReadAsync(header.AsMemory(read), token).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                read += n;
            }

            var body = new byte[(header[3] << 8) | header[4]];
            read = 0;
            while (read < body.Length)
            {
                int n = await stream.ReadAsync(body.AsMemory(read), token).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                read += n;
            }

            // ContentType alert (21), TLS 1.2 record version, length 2, level fatal (2), the description.
            await stream.WriteAsync(new byte[] { 21, 3, 3, 0, 2, 2, description }, token).ConfigureAwait(false);
            await stream.FlushAsync(token).ConfigureAwait(false);
            client.Client.Shutdown(SocketShutdown.Send);
            await DrainAsync(stream, token).ConfigureAwait(false);
        }

        // Silence: read (and drop) whatever comes until the client hangs up.
        private static async Task DrainAsync(Stream stream, CancellationToken token)
        {
            var buffer = new byte[4096];
            while (await stream.ReadAsync(buffer, token).ConfigureAwait(false) > 0)
            {
            }
        }

        private static async Task WriteAsync(Stream stream, string text, CancellationToken token)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(text);
            await stream.WriteAsync(bytes, token).ConfigureAwait(false);
            await stream.FlushAsync(token).ConfigureAwait(false);
        }
    }
}
