using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Azure.Core;
using SmtpAuthTroubleshooter.Engine.Probe;

namespace SmtpAuthTroubleshooter.Engine.Policy
{
    /// <summary>One Graph call's outcome: status, body (cloned, so it outlives the document), and the error's code.</summary>
    public sealed class GraphResult
    {
        internal GraphResult(int status, JsonElement? body, string? errorCode, string? errorMessage)
        {
            Status = status;
            Body = body;
            ErrorCode = errorCode;
            ErrorMessage = errorMessage;
        }

        /// <summary>HTTP status (0: no response).</summary>
        public int Status { get; }
        /// <summary>The JSON body.</summary>
        public JsonElement? Body { get; }
        /// <summary>error.code of a failure.</summary>
        public string? ErrorCode { get; }
        /// <summary>error.message of a failure.</summary>
        public string? ErrorMessage { get; }
        /// <summary>2xx.</summary>
        public bool Ok => Status >= 200 && Status < 300;
    }

    /// <summary>
    /// Reads Microsoft Graph over an <see cref="IGraphTransport"/>: follows @odata.nextLink verbatim, batches up to 20
    /// requests in one $batch, and retries 429/503/504 (outer or inner) a bounded number of times, honouring
    /// Retry-After (https://learn.microsoft.com/graph/throttling). Every retry is narrated on the verbose stream.
    /// </summary>
    public sealed class GraphReader
    {
        private const int BatchLimit = 20;
        private readonly IGraphTransport _transport;
        private readonly IDiagnosticSink _sink;
        private readonly int _maxRetries;
        private readonly TimeSpan _maxWait;
        private readonly TimeSpan _requestTimeout;
        private long _requests;
        private int _consecutiveNoResponse;
        private string? _unreachable;

        /// <summary>Creates a reader.</summary>
        public GraphReader(IGraphTransport transport, IDiagnosticSink sink, int maxRetries = 4, TimeSpan? maxWait = null, TimeSpan? requestTimeout = null)
        {
            _transport = transport;
            _sink = sink;
            _maxRetries = maxRetries;
            _maxWait = maxWait ?? TimeSpan.FromSeconds(60);
            _requestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30);
        }

        /// <summary>After this many requests in a row with no response at all, Graph is taken as unreachable for the rest
        /// of the run (a circuit breaker): a bulk run then finishes quickly with the Entra fields unknown, instead of
        /// retrying every request of every mailbox.</summary>
        public const int UnreachableAfter = 3;

        /// <summary>HTTP requests sent (a $batch counts once).</summary>
        public long Requests => Interlocked.Read(ref _requests);

        /// <summary>GET with retries.</summary>
        public Task<GraphResult> GetAsync(string url, CancellationToken token) => SendAsync("GET", url, null, token);

        /// <summary>Sends with retries on 429/503/504 and on transport failures.</summary>
        public async Task<GraphResult> SendAsync(string method, string url, string? body, CancellationToken token)
        {
            for (int attempt = 0; ; attempt++)
            {
                if (_unreachable is not null)
                {
                    return new GraphResult(0, null, "Unreachable", _unreachable);
                }

                GraphHttpResponse response;
                using var perRequest = CancellationTokenSource.CreateLinkedTokenSource(token);
                perRequest.CancelAfter(_requestTimeout);
                try
                {
                    Interlocked.Increment(ref _requests);
                    response = await _transport.SendAsync(method, url, body, null, perRequest.Token).ConfigureAwait(false);
                    Interlocked.Exchange(ref _consecutiveNoResponse, 0);
                }
                catch (Exception ex) when (!token.IsCancellationRequested && (ex is HttpRequestException || ex is System.IO.IOException || ex is OperationCanceledException || ex is TimeoutException))
                {
                    string why = perRequest.IsCancellationRequested ? string.Format(CultureInfo.InvariantCulture, "no response within {0:0} s", _requestTimeout.TotalSeconds) : ex.Message;
                    // No response at all: one more try, not the full retry budget (a dead or hung endpoint will not
                    // recover in seconds). Requests that end this way count towards the circuit breaker.
                    if (attempt < Math.Min(1, _maxRetries))
                    {
                        await WaitAsync(null, attempt, url, "no response (" + why + ")", token).ConfigureAwait(false);
                        continue;
                    }

                    if (Interlocked.Increment(ref _consecutiveNoResponse) >= UnreachableAfter)
                    {
                        _unreachable = string.Format(CultureInfo.InvariantCulture, "Microsoft Graph did not respond to {0} requests in a row (last: {1}); the remaining Graph reads of this run were skipped.", UnreachableAfter, why);
                        _sink.Warning(_unreachable);
                        return new GraphResult(0, null, "Unreachable", _unreachable);
                    }

                    return new GraphResult(0, null, "NoResponse", why);
                }

                GraphResult result = Parse(response.StatusCode, response.Body);
                if (IsRetryable(response.StatusCode) && attempt < _maxRetries)
                {
                    await WaitAsync(response.RetryAfter, attempt, url, response.StatusCode.ToString(CultureInfo.InvariantCulture), token).ConfigureAwait(false);
                    continue;
                }

                return result;
            }
        }

        /// <summary>All pages of a collection (follows @odata.nextLink verbatim, at most <paramref name="maxPages"/>).</summary>
        public async Task<(List<JsonElement> Items, GraphResult? Failure)> GetAllAsync(string url, CancellationToken token, int maxPages = 1000)
        {
            var items = new List<JsonElement>();
            string? next = url;
            for (int page = 0; next is not null && page < maxPages; page++)
            {
                GraphResult result = await GetAsync(next, token).ConfigureAwait(false);
                if (!result.Ok || result.Body is not JsonElement body)
                {
                    return (items, result.Ok ? new GraphResult(result.Status, null, "MalformedResponse", "The response had no JSON body.") : result);
                }

                if (body.TryGetProperty("value", out JsonElement value) && value.ValueKind == JsonValueKind.Array)
                {
                    items.AddRange(value.EnumerateArray());
                }

                next = body.TryGetProperty("@odata.nextLink", out JsonElement link) && link.ValueKind == JsonValueKind.String ? link.GetString() : null;
                if (next is not null && !Uri.TryCreate(next, UriKind.Absolute, out _))
                {
                    return (items, new GraphResult(0, null, "BrokenNextLink", "The @odata.nextLink was not an absolute URL: " + Truncate(next)));
                }
            }

            return (items, null);
        }

        /// <summary>
        /// Runs GETs through $batch (20 at a time) and returns each result by its key. Inner 429/503 are retried
        /// after the longest Retry-After; a failed batch falls back to its requests' failure.
        /// </summary>
        public async Task<Dictionary<string, GraphResult>> BatchGetAsync(string version, IReadOnlyList<(string Key, string RelativeUrl)> requests, CancellationToken token)
        {
            var results = new Dictionary<string, GraphResult>(StringComparer.Ordinal);
            for (int offset = 0; offset < requests.Count; offset += BatchLimit)
            {
                var pending = requests.Skip(offset).Take(BatchLimit).ToList();
                for (int attempt = 0; pending.Count > 0; attempt++)
                {
                    string body = BuildBatch(pending);
                    GraphResult outer = await SendAsync("POST", version + "/$batch", body, token).ConfigureAwait(false);
                    if (!outer.Ok || outer.Body is not JsonElement json || !json.TryGetProperty("responses", out JsonElement responses) || responses.ValueKind != JsonValueKind.Array)
                    {
                        foreach ((string key, _) in pending)
                        {
                            results[key] = outer.Ok ? new GraphResult(0, null, "MalformedResponse", "The $batch response had no responses array.") : outer;
                        }

                        break;
                    }

                    var retry = new List<(string Key, string RelativeUrl)>();
                    TimeSpan? wait = null;
                    int retryStatus = 429;
                    var byIndex = pending.Select((p, i) => (p, i)).ToDictionary(x => x.i.ToString(CultureInfo.InvariantCulture), x => x.p);
                    foreach (JsonElement inner in responses.EnumerateArray())
                    {
                        string id = inner.TryGetProperty("id", out JsonElement idEl) ? idEl.ToString() : string.Empty;
                        if (!byIndex.TryGetValue(id, out (string Key, string RelativeUrl) request))
                        {
                            continue;
                        }

                        int status = inner.TryGetProperty("status", out JsonElement s) && s.TryGetInt32(out int st) ? st : 0;
                        string? innerBody = inner.TryGetProperty("body", out JsonElement b) ? b.GetRawText() : null;
                        if (IsRetryable(status) && attempt < _maxRetries)
                        {
                            retry.Add(request);
                            retryStatus = status;
                            TimeSpan? ra = RetryAfterFrom(inner);
                            wait = ra is null ? wait : wait is null || ra > wait ? ra : wait;
                            continue;
                        }

                        results[request.Key] = Parse(status, innerBody);
                    }

                    foreach ((string key, string url) in pending)
                    {
                        if (!results.ContainsKey(key) && !retry.Any(r => r.Key == key))
                        {
                            results[key] = new GraphResult(0, null, "MissingBatchResponse", "The $batch response left this request out: " + url);
                        }
                    }

                    if (retry.Count > 0)
                    {
                        await WaitAsync(wait, attempt, version + "/$batch (" + retry.Count.ToString(CultureInfo.InvariantCulture) + " inner requests)", retryStatus.ToString(CultureInfo.InvariantCulture), token).ConfigureAwait(false);
                    }

                    pending = retry;
                }
            }

            return results;
        }

        private static string BuildBatch(List<(string Key, string RelativeUrl)> requests)
        {
            var sb = new StringBuilder("{\"requests\":[");
            for (int i = 0; i < requests.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(',');
                }

                sb.Append("{\"id\":\"").Append(i.ToString(CultureInfo.InvariantCulture)).Append("\",\"method\":\"GET\",\"url\":")
                  .Append(JsonSerializer.Serialize(requests[i].RelativeUrl)).Append('}');
            }

            return sb.Append("]}").ToString();
        }

        private static TimeSpan? RetryAfterFrom(JsonElement inner)
        {
            if (inner.TryGetProperty("headers", out JsonElement headers) && headers.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty h in headers.EnumerateObject())
                {
                    if (h.Name.Equals("Retry-After", StringComparison.OrdinalIgnoreCase) &&
                        double.TryParse(h.Value.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
                    {
                        return TimeSpan.FromSeconds(seconds);
                    }
                }
            }

            return null;
        }

        private async Task WaitAsync(TimeSpan? retryAfter, int attempt, string url, string why, CancellationToken token)
        {
            // Retry-After when given; otherwise exponential back-off (the identity/CA limits send none, https://learn.microsoft.com/graph/throttling).
            TimeSpan wait = retryAfter ?? TimeSpan.FromMilliseconds(500 * Math.Pow(2, attempt));
            if (wait > _maxWait)
            {
                wait = _maxWait;
            }

            _sink.Verbose(string.Format(CultureInfo.InvariantCulture, "Graph {0} for {1}: retry {2} of {3} in {4:0.###} s.", why, Truncate(url), attempt + 1, _maxRetries, wait.TotalSeconds));
            await Task.Delay(wait, token).ConfigureAwait(false);
        }

        private static bool IsRetryable(int status) => status == 429 || status == 503 || status == 504;

        private static GraphResult Parse(int status, string? body)
        {
            JsonElement? json = null;
            string? code = null;
            string? message = null;
            if (!string.IsNullOrWhiteSpace(body))
            {
                try
                {
                    using JsonDocument doc = JsonDocument.Parse(body!);
                    json = doc.RootElement.Clone();
                    if (json.Value.ValueKind == JsonValueKind.Object && json.Value.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.Object)
                    {
                        code = error.TryGetProperty("code", out JsonElement c) ? c.GetString() : null;
                        message = error.TryGetProperty("message", out JsonElement m) ? m.GetString() : null;
                    }
                }
                catch (JsonException ex)
                {
                    return new GraphResult(status >= 200 && status < 300 ? 0 : status, null, "MalformedJson", "The response body is not valid JSON: " + ex.Message);
                }
            }

            return new GraphResult(status, json, code, message);
        }

        internal static string Truncate(string text) => text.Length > 200 ? text.Substring(0, 200) + "..." : text;
    }

    /// <summary>
    /// Graph over HTTP on the Microsoft Graph SDK's client pipeline (GraphClientFactory: retry, redirect and
    /// compression handlers), with a bearer token from -GraphAccessToken, a managed identity or a certificate.
    /// </summary>
    public sealed class HttpGraphTransport : IGraphTransport, IDisposable
    {
        private readonly HttpClient _http;
        private readonly Func<CancellationToken, Task<string>> _token;
        private readonly Uri _baseUri;

        /// <summary>Creates the transport for a Graph endpoint (https://graph.microsoft.com/ or a national cloud, or a test server).</summary>
        public HttpGraphTransport(Uri baseUri, Func<CancellationToken, Task<string>> token, string description)
        {
            _baseUri = baseUri.AbsoluteUri.EndsWith("/", StringComparison.Ordinal) ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
            _token = token;
            Description = description;
            _http = Microsoft.Graph.GraphClientFactory.Create(Microsoft.Graph.GraphClientFactory.CreateDefaultHandlers(null), "v1.0", Microsoft.Graph.GraphClientFactory.Global_Cloud, null, null, true);
            _http.Timeout = TimeSpan.FromSeconds(100);
        }

        /// <summary>A transport with a fixed token (-GraphAccessToken).</summary>
        public static HttpGraphTransport WithToken(Uri baseUri, System.Security.SecureString token) =>
            new HttpGraphTransport(baseUri, _ => Task.FromResult(TokenSources.Unprotect(token)), "the Graph access token given");

        /// <summary>A transport for a managed identity (system-assigned, or user-assigned by client id).</summary>
        public static HttpGraphTransport WithManagedIdentity(Uri baseUri, string? clientId) =>
            WithCredential(baseUri, string.IsNullOrEmpty(clientId) ? new Azure.Identity.ManagedIdentityCredential() : new Azure.Identity.ManagedIdentityCredential(clientId), "the managed identity");

        /// <summary>A transport for an app registration's certificate (app-only).</summary>
        public static HttpGraphTransport WithCertificate(Uri baseUri, string tenantId, string clientId, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
            WithCredential(baseUri, new Azure.Identity.ClientCertificateCredential(tenantId, clientId, certificate), "the certificate of app " + clientId);

        /// <summary>A transport with an Azure.Identity credential (managed identity, certificate).</summary>
        public static HttpGraphTransport WithCredential(Uri baseUri, TokenCredential credential, string description)
        {
            string scope = new Uri(baseUri, "/.default").AbsoluteUri;
            return new HttpGraphTransport(baseUri, async ct => (await credential.GetTokenAsync(new TokenRequestContext(new[] { scope }), ct).ConfigureAwait(false)).Token, description);
        }

        /// <inheritdoc />
        public string Description { get; }

        /// <inheritdoc />
        public async Task<GraphHttpResponse> SendAsync(string method, string url, string? jsonBody, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
        {
            Uri target = Uri.TryCreate(url, UriKind.Absolute, out Uri? absolute) && (absolute.Scheme == Uri.UriSchemeHttp || absolute.Scheme == Uri.UriSchemeHttps)
                ? absolute
                : new Uri(_baseUri, url.TrimStart('/'));
            using var request = new HttpRequestMessage(new HttpMethod(method), target);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _token(cancellationToken).ConfigureAwait(false));
            if (headers is not null)
            {
                foreach (KeyValuePair<string, string> h in headers)
                {
                    request.Headers.TryAddWithoutValidation(h.Key, h.Value);
                }
            }

            if (jsonBody is not null)
            {
                request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
            }

            using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            string body = response.Content is null ? string.Empty : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            TimeSpan? retryAfter = response.Headers.RetryAfter?.Delta;
            if (retryAfter is null && response.Headers.TryGetValues("Retry-After", out IEnumerable<string>? values) &&
                double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
            {
                retryAfter = TimeSpan.FromSeconds(seconds);
            }

            return new GraphHttpResponse((int)response.StatusCode, body, retryAfter);
        }

        /// <inheritdoc />
        public void Dispose() => _http.Dispose();
    }
}
