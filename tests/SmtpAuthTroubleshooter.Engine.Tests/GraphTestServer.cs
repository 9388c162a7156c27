using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
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
    /// <summary>One answer of <see cref="GraphTestServer"/>; null from the script means "never answer" (a hung request).</summary>
    internal sealed record GraphTestAnswer(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null)
    {
        /// <summary>When set, the headers and this many bytes of the body are sent, then nothing more (a stalled body).</summary>
        public int? StallAfterBytes { get; init; }

        public static GraphTestAnswer Json(string body) => new GraphTestAnswer(200, body);

        public static GraphTestAnswer Throttled(string? retryAfter, int status = 429) => new GraphTestAnswer(
            status,
            "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"Too many requests.\"}}",
            retryAfter is null ? null : new Dictionary<string, string> { ["Retry-After"] = retryAfter });
    }

    /// <summary>A request the server saw: when (on a monotonic clock), method, path and query, headers, body.</summary>
    internal sealed record GraphTestRequest(TimeSpan At, string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body);

    /// <summary>
    /// A scripted HTTP server on loopback for the Graph retry, circuit and credential tests: each request is answered by
    /// the script (or left hanging when the script answers null), and every request is recorded with its arrival time.
    /// Plain TCP, so a hung answer is a real open connection with nothing coming back.
    /// </summary>
    internal sealed class GraphTestServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly Func<GraphTestRequest, int, GraphTestAnswer?> _script;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly ConcurrentQueue<GraphTestRequest> _requests = new ConcurrentQueue<GraphTestRequest>();
        private readonly ConcurrentBag<TcpClient> _clients = new ConcurrentBag<TcpClient>();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Task _accept;
        private int _count;

        private readonly X509Certificate2? _tls;

        /// <summary>Starts serving; <paramref name="script"/> gets each request and its 1-based number. With <paramref name="tls"/>, over TLS.</summary>
        public GraphTestServer(Func<GraphTestRequest, int, GraphTestAnswer?> script, X509Certificate2? tls = null)
        {
            _script = script;
            _tls = tls;
            _listener.Start();
            _accept = Task.Run(AcceptAsync);
        }

        public Uri BaseUri => new Uri((_tls is null ? "http" : "https") + "://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture) + "/");

        public IReadOnlyList<GraphTestRequest> Requests => _requests.ToArray();

        public int Count => Volatile.Read(ref _count);

        public TimeSpan Now => _clock.Elapsed;

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException || ex is ObjectDisposedException || ex is SocketException)
                {
                    return;
                }

                _clients.Add(client);
                _ = Task.Run(() => ServeAsync(client));
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            try
            {
                Stream stream = client.GetStream();
                if (_tls is not null)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _tls }, _stop.Token).ConfigureAwait(false);
                    stream = ssl;
                }

                var reader = new StreamReader(stream, new UTF8Encoding(false), false, 1, leaveOpen: true);
                while (!_stop.IsCancellationRequested)
                {
                    string? line = await reader.ReadLineAsync(_stop.Token).ConfigureAwait(false);
                    if (string.IsNullOrEmpty(line))
                    {
                        return;
                    }

                    string[] start = line.Split(' ');
                    var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    string? header;
                    while (!string.IsNullOrEmpty(header = await reader.ReadLineAsync(_stop.Token).ConfigureAwait(false)))
                    {
                        int colon = header.IndexOf(':', StringComparison.Ordinal);
                        if (colon > 0)
                        {
                            headers[header.Substring(0, colon).Trim()] = header.Substring(colon + 1).Trim();
                        }
                    }

                    string body = string.Empty;
                    if (headers.TryGetValue("Content-Length", out string? length) && int.TryParse(length, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0)
                    {
                        var buffer = new char[n];
                        int read = 0;
                        while (read < n)
                        {
                            int got = await reader.ReadAsync(buffer.AsMemory(read, n - read), _stop.Token).ConfigureAwait(false);
                            if (got == 0)
                            {
                                return;
                            }

                            read += got;
                        }

                        body = new string(buffer);
                    }

                    var request = new GraphTestRequest(_clock.Elapsed, start[0], start.Length > 1 ? start[1] : "/", headers, body);
                    _requests.Enqueue(request);
                    GraphTestAnswer? answer = _script(request, Interlocked.Increment(ref _count));
                    if (answer is null)
                    {
                        await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false);
                        return;
                    }

                    byte[] payload = Encoding.UTF8.GetBytes(answer.Body);
                    var response = new StringBuilder();
                    response.Append("HTTP/1.1 ").Append(answer.Status.ToString(CultureInfo.InvariantCulture)).Append(" X\r\n");
                    response.Append("Content-Type: application/json\r\n");
                    response.Append("Content-Length: ").Append(payload.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
                    foreach (KeyValuePair<string, string> h in answer.Headers ?? new Dictionary<string, string>())
                    {
                        response.Append(h.Key).Append(": ").Append(h.Value).Append("\r\n");
                    }

                    response.Append("\r\n");
                    byte[] head = Encoding.ASCII.GetBytes(response.ToString());
                    await stream.WriteAsync(head, _stop.Token).ConfigureAwait(false);
                    if (answer.StallAfterBytes is int sent)
                    {
                        await stream.WriteAsync(payload.AsMemory(0, Math.Min(sent, payload.Length)), _stop.Token).ConfigureAwait(false);
                        await stream.FlushAsync(_stop.Token).ConfigureAwait(false);
                        await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false);
                        return;
                    }

                    await stream.WriteAsync(payload, _stop.Token).ConfigureAwait(false);
                    await stream.FlushAsync(_stop.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is IOException || ex is SocketException || ex is ObjectDisposedException || ex is OperationCanceledException || ex is System.Security.Authentication.AuthenticationException)
            {
            }
            finally
            {
                client.Dispose();
            }
        }

        /// <summary>A self-signed server certificate for 127.0.0.1 (with its key, loadable by SslStream on every platform).</summary>
        public static X509Certificate2 NewTlsCertificate()
        {
            using RSA rsa = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, false));
            using X509Certificate2 ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            _listener.Stop();
            foreach (TcpClient c in _clients)
            {
                c.Dispose();
            }

            try
            {
                await _accept.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException || ex is ObjectDisposedException)
            {
            }

            _stop.Dispose();
        }
    }

    /// <summary>Keeps what the engine writes to the verbose and warning streams.</summary>
    internal sealed class RecordingSink : IDiagnosticSink
    {
        private readonly ConcurrentQueue<string> _verbose = new ConcurrentQueue<string>();
        private readonly ConcurrentQueue<string> _warnings = new ConcurrentQueue<string>();

        public IReadOnlyList<string> VerboseMessages => _verbose.ToArray();

        public IReadOnlyList<string> Warnings => _warnings.ToArray();

        public void Verbose(string message) => _verbose.Enqueue(message);

        public void Warning(string message) => _warnings.Enqueue(message);

        public void Debug(string message)
        {
        }

        public void Progress(string activity, string status, int percentComplete)
        {
        }

        public void Progress(string activity, string status, int percentComplete, int secondsRemaining)
        {
        }
    }
}
