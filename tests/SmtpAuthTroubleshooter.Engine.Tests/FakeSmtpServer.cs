using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// A scripted SMTP server on loopback for the probe's own tests (STYLE rule 52): one connection, the replies set by
    /// the test, STARTTLS with a throw-away self-signed certificate when one is given. Not an emulator of any real
    /// server; it answers just enough of RFC 5321/4954 for MailKit to walk every step.
    /// </summary>
    internal sealed class FakeSmtpServer : IDisposable
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private Task? _serving;

        public FakeSmtpServer()
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        }

        public int Port { get; }

        public string Banner { get; set; } = "220 mail.example.test ESMTP fake";

        public IReadOnlyList<string> Ehlo { get; set; } = new[] { "250-mail.example.test", "250-AUTH LOGIN PLAIN", "250 8BITMIME" };

        /// <summary>The EHLO reply after STARTTLS (default: the one before).</summary>
        public IReadOnlyList<string>? EhloAfterTls { get; set; }

        /// <summary>When set, STARTTLS is answered and the connection upgraded with this certificate.</summary>
        public X509Certificate2? Certificate { get; set; }

        public string AuthReply { get; set; } = "235 2.7.0 Authentication successful";

        public string MailReply { get; set; } = "250 2.1.0 Sender OK";

        public string RcptReply { get; set; } = "250 2.1.5 Recipient OK";

        public string DataReply { get; set; } = "250 2.6.0 Queued mail for delivery";

        /// <summary>Every line the client sent, as received.</summary>
        public ConcurrentQueue<string> Received { get; } = new ConcurrentQueue<string>();

        public void Start() => _serving = Task.Run(() => ServeAsync(_stop.Token));

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

        /// <summary>A self-signed server certificate with its private key (valid from yesterday to tomorrow).</summary>
        public static X509Certificate2 SelfSigned(string subject)
        {
            using var rsa = RSA.Create(2048);
            var request = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, false));
            using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
        }

        private async Task ServeAsync(CancellationToken token)
        {
            using TcpClient client = await _listener.AcceptTcpClientAsync(token).ConfigureAwait(false);
            Stream stream = client.GetStream();
            try
            {
                await WriteAsync(stream, Banner, token).ConfigureAwait(false);
                bool tls = false;
                while (!token.IsCancellationRequested)
                {
                    string? line = await ReadLineAsync(stream, token).ConfigureAwait(false);
                    if (line is null)
                    {
                        return;
                    }

                    Received.Enqueue(line);
                    string verb = line.Split(' ')[0].ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO":
                            foreach (string reply in tls ? EhloAfterTls ?? Ehlo : Ehlo)
                            {
                                await WriteAsync(stream, reply, token).ConfigureAwait(false);
                            }

                            break;
                        case "STARTTLS" when Certificate is not null && !tls:
                            await WriteAsync(stream, "220 2.0.0 SMTP server ready", token).ConfigureAwait(false);
                            var ssl = new SslStream(stream, false);
                            await ssl.AuthenticateAsServerAsync(Certificate, false, false).ConfigureAwait(false);
                            stream = ssl;
                            tls = true;
                            break;
                        case "AUTH":
                            await AuthAsync(stream, line, token).ConfigureAwait(false);
                            break;
                        case "MAIL":
                            await WriteAsync(stream, MailReply, token).ConfigureAwait(false);
                            break;
                        case "RCPT":
                            await WriteAsync(stream, RcptReply, token).ConfigureAwait(false);
                            break;
                        case "DATA":
                            await WriteAsync(stream, "354 Start mail input; end with <CRLF>.<CRLF>", token).ConfigureAwait(false);
                            while (await ReadLineAsync(stream, token).ConfigureAwait(false) is string content && content != ".")
                            {
                            }

                            await WriteAsync(stream, DataReply, token).ConfigureAwait(false);
                            break;
                        case "RSET":
                        case "NOOP":
                            await WriteAsync(stream, "250 2.0.0 OK", token).ConfigureAwait(false);
                            break;
                        case "QUIT":
                            await WriteAsync(stream, "221 2.0.0 Service closing transmission channel", token).ConfigureAwait(false);
                            return;
                        default:
                            await WriteAsync(stream, "502 5.5.2 Command not recognized", token).ConfigureAwait(false);
                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException || ex is OperationCanceledException || ex is ObjectDisposedException || ex is SocketException || ex is System.Security.Authentication.AuthenticationException)
            {
                // The client went away (or refused our certificate): the test reads what the probe made of it.
            }
            finally
            {
                stream.Dispose();
            }
        }

        // LOGIN asks twice (user, password), PLAIN once, XOAUTH2 never; an initial response on the AUTH line saves one.
        private async Task AuthAsync(Stream stream, string line, CancellationToken token)
        {
            foreach (string prompt in SaslPrompts(line))
            {
                await WriteAsync(stream, prompt, token).ConfigureAwait(false);
                if (await ReadLineAsync(stream, token).ConfigureAwait(false) is string answer)
                {
                    Received.Enqueue(answer);
                }
            }

            await WriteAsync(stream, AuthReply, token).ConfigureAwait(false);
        }

        // The 334 prompts a server sends for an AUTH line: LOGIN asks for the user and the password, PLAIN once, other
        // mechanisms (XOAUTH2) never; an initial response on the AUTH line saves the first. Both fake servers use it.
        internal static IReadOnlyList<string> SaslPrompts(string line)
        {
            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string mechanism = words.Length > 1 ? words[1].ToUpperInvariant() : string.Empty;
            int asks = mechanism switch
            {
                "LOGIN" => 2,
                "PLAIN" => 1,
                _ => 0,
            };
            if (words.Length > 2)
            {
                asks = Math.Max(0, asks - 1);
            }

            var prompts = new List<string>();
            for (int i = 0; i < asks; i++)
            {
                prompts.Add(i == 0 && mechanism == "LOGIN" && words.Length <= 2 ? "334 VXNlcm5hbWU6" : "334 UGFzc3dvcmQ6");
            }

            return prompts;
        }

        private static async Task WriteAsync(Stream stream, string line, CancellationToken token)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(line + "\r\n");
            await stream.WriteAsync(bytes, token).ConfigureAwait(false);
            await stream.FlushAsync(token).ConfigureAwait(false);
        }

        // Byte by byte, so that nothing past the line is read (the TLS handshake follows STARTTLS on the same stream).
        // ScriptedSmtpServer reads its lines through this too.
        internal static async Task<string?> ReadLineAsync(Stream stream, CancellationToken token)
        {
            var bytes = new List<byte>();
            var one = new byte[1];
            while (true)
            {
                int n = await stream.ReadAsync(one, token).ConfigureAwait(false);
                if (n == 0)
                {
                    return bytes.Count == 0 ? null : Encoding.ASCII.GetString(bytes.ToArray());
                }

                if (one[0] == (byte)'\n')
                {
                    return Encoding.ASCII.GetString(bytes.ToArray()).TrimEnd('\r');
                }

                bytes.Add(one[0]);
            }
        }
    }
}
