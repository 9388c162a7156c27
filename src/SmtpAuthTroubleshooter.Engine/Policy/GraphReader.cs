using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.Engine.Policy
{
    /// <summary>One Graph call's outcome: status, body (cloned, so it outlives the document), and the error's code.</summary>
    public sealed class GraphResult
    {
        internal GraphResult(int status, JsonElement? body, string? errorCode, string? errorMessage, string? throttled = null)
        {
            Status = status;
            Body = body;
            ErrorCode = errorCode;
            ErrorMessage = errorMessage;
            Throttled = throttled;
        }

        /// <summary>HTTP status (0: no response).</summary>
        public int Status { get; }
        /// <summary>The JSON body.</summary>
        public JsonElement? Body { get; }
        /// <summary>error.code of a failure.</summary>
        public string? ErrorCode { get; }
        /// <summary>error.message of a failure.</summary>
        public string? ErrorMessage { get; }
        /// <summary>For a throttled read whose retries ran out: how it ended ("2 retries over 2 s did not get through").</summary>
        public string? Throttled { get; }
        /// <summary>2xx.</summary>
        public bool Ok => Status >= 200 && Status < 300;
    }

    /// <summary>
    /// Raw requests over a <see cref="GraphConnection"/> (the SDK's pipeline with the one retry policy and the circuit),
    /// and the connection itself for <see cref="GraphPolicyReader"/>, which reads through the SDK's client. A request
    /// that fails returns its failure (no answer, circuit open, sign-in failed, throttled to the end): nothing throws
    /// but the caller's cancellation.
    /// </summary>
    public sealed class GraphReader
    {
        private readonly GraphConnection _connection;
        private readonly IDiagnosticSink _sink;

        /// <summary>Creates a reader over a connection (one per command).</summary>
        public GraphReader(GraphConnection connection, IDiagnosticSink sink)
        {
            _connection = connection;
            _sink = sink;
        }

        /// <summary>Creates a reader over a transport (the session way in), with its own connection.</summary>
        public GraphReader(IGraphTransport transport, IDiagnosticSink sink, int maxRetries = 4, TimeSpan? maxWait = null, TimeSpan? requestTimeout = null)
            : this(GraphConnection.WithTransport(transport, new GraphConnectionOptions
            {
                MaxRetries = maxRetries,
                MaxWaitPerRequest = maxWait ?? TimeSpan.FromMinutes(2),
                RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30),
            }, sink), sink)
        {
        }

        /// <summary>After this many requests in a row with no response at all, Graph is taken as unreachable for the rest
        /// of the run (a circuit breaker): a bulk run then finishes quickly with the Entra fields unknown, instead of
        /// retrying every request of every mailbox. Throttling never counts.</summary>
        public const int UnreachableAfter = 3;

        /// <summary>The connection read through.</summary>
        public GraphConnection Connection => _connection;

        /// <summary>HTTP requests sent (a $batch counts once, a retry again).</summary>
        public long Requests => _connection.Requests;

        /// <summary>GET.</summary>
        public Task<GraphResult> GetAsync(string url, CancellationToken token) => SendAsync("GET", url, null, token);

        /// <summary>Sends one request through the pipeline (which retries it); returns its answer or its failure.</summary>
        public async Task<GraphResult> SendAsync(string method, string url, string? body, CancellationToken token)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), _connection.Resolve(url));
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            try
            {
                using HttpResponseMessage response = await _connection.Client.SendAsync(request, HttpCompletionOption.ResponseContentRead, token).ConfigureAwait(false);
                string text = response.Content is null ? string.Empty : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                string? throttled = response.Headers.TryGetValues(GraphRetryPolicy.OutcomeHeader, out IEnumerable<string>? outcome) ? outcome.FirstOrDefault() : null;
                return Parse((int)response.StatusCode, text, throttled);
            }
            catch (Exception ex) when (NoAnswer(ex, token) is GraphResult failure)
            {
                return failure;
            }
        }

        /// <summary>A request that got no answer (unreachable, no response, sign-in failed) as its failure; null for anything
        /// else, which propagates (the caller's cancellation).</summary>
        private static GraphResult? NoAnswer(Exception ex, CancellationToken token) => ex switch
        {
            GraphUnreachableException => new GraphResult(0, null, "Unreachable", ex.Message),
            GraphNoResponseException => new GraphResult(0, null, "NoResponse", ex.Message),
            GraphAuthenticationException => new GraphResult(0, null, "AuthenticationFailed", ex.Message),
            _ when !token.IsCancellationRequested && GraphRetryHandler.IsNoResponse(ex) => new GraphResult(0, null, "NoResponse", GraphRetryHandler.Describe(ex)),
            _ => null,
        };

        /// <summary>
        /// GET for a large page read once (the sign-in log): on success the caller gets the document parsed straight
        /// from the response's stream and disposes it when done with the page; nothing is copied to a string or cloned (a
        /// page of 1,000 sign-ins is megabytes, and each copy went to the large object heap). A failure comes back as
        /// <see cref="SendAsync"/> returns it, with no document.
        /// </summary>
        public async Task<(GraphResult Result, JsonDocument? Page)> GetPageAsync(string url, CancellationToken token)
        {
            // A body that stops half-way is read again, as the pipeline retries an attempt that got no full answer.
            const int attempts = 3;
            for (int attempt = 1; ; attempt++)
            {
                (GraphResult result, JsonDocument? page, bool bodyFailed) = await GetPageOnceAsync(url, token).ConfigureAwait(false);
                if (!bodyFailed || attempt == attempts)
                {
                    return (result, page);
                }

                _sink.Verbose(string.Format(CultureInfo.InvariantCulture, "Microsoft Graph: the page's body did not arrive whole ({0}); reading it again ({1} of {2}).", result.ErrorMessage, attempt + 1, attempts));
            }
        }

        private async Task<(GraphResult Result, JsonDocument? Page, bool BodyFailed)> GetPageOnceAsync(string url, CancellationToken token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _connection.Resolve(url));
            // Headers first, then the body straight into the parser: neither HttpClient nor the attempt time-out copies a
            // page into a buffer of its own first (issue 12: hundreds of pages of 1.5 MB each). The body is read here,
            // within the attempt's time limit.
            request.Properties[GraphAttemptTimeoutHandler.StreamedBodyProperty] = true;
            try
            {
                using HttpResponseMessage response = await _connection.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
                string? throttled = response.Headers.TryGetValues(GraphRetryPolicy.OutcomeHeader, out IEnumerable<string>? outcome) ? outcome.FirstOrDefault() : null;
                int status = (int)response.StatusCode;
                if (status < 200 || status >= 300 || response.Content is null || response.Content.Headers.ContentLength == 0)
                {
                    string text = response.Content is null ? string.Empty : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                    return (Parse(status, text, throttled), null, false);
                }

                using var read = CancellationTokenSource.CreateLinkedTokenSource(token);
                read.CancelAfter(_connection.RequestTimeout);
                try
                {
                    using Stream stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                    JsonDocument page = await JsonDocument.ParseAsync(stream, default, read.Token).ConfigureAwait(false);
                    return (new GraphResult(status, null, null, null, throttled), page, false);
                }
                catch (JsonException ex)
                {
                    return (new GraphResult(0, null, "MalformedJson", "The response body is not valid JSON: " + ex.Message), null, false);
                }
                catch (Exception ex) when (!token.IsCancellationRequested && (ex is OperationCanceledException || ex is IOException || ex is HttpRequestException))
                {
                    string why = ex is OperationCanceledException
                        ? string.Format(CultureInfo.InvariantCulture, "no response within {0:0.##} s", _connection.RequestTimeout.TotalSeconds)
                        : ex.Message;
                    return (new GraphResult(0, null, "NoResponse", why), null, true);
                }
            }
            catch (Exception ex) when (NoAnswer(ex, token) is GraphResult failure)
            {
                return (failure, null, false);
            }
        }

        /// <summary>
        /// Every page of a large collection (the sign-in log), each handed to <paramref name="onPage"/> (the page's root object)
        /// and let go. The next page is asked for as soon as this page's @odata.nextLink is known, before
        /// <paramref name="onPage"/> runs: the server works on page n+1 while this side aggregates page n, and at most two
        /// pages are held. <paramref name="onPage"/> runs one page at a time, in order. Returns null when the last page was
        /// handed over, else the failure that stopped the read (pages before it were handed over).
        /// </summary>
        public async Task<GraphResult?> ForEachPageAsync(string url, Action<JsonElement> onPage, CancellationToken token)
        {
            if (onPage is null)
            {
                throw new ArgumentNullException(nameof(onPage));
            }

            Task<(GraphResult Result, JsonDocument? Page)>? pending = GetPageAsync(url, token);
            try
            {
                while (pending is not null)
                {
                    (GraphResult result, JsonDocument? document) = await pending.ConfigureAwait(false);
                    pending = null;
                    if (document is null)
                    {
                        return result.Ok ? new GraphResult(result.Status, null, "MalformedResponse", "The response had no JSON body.") : result;
                    }

                    using (document)
                    {
                        JsonElement body = document.RootElement;
                        if (body.ValueKind != JsonValueKind.Object)
                        {
                            return new GraphResult(result.Status, null, "MalformedResponse", "The response was not a JSON object.");
                        }

                        if (body.TryGetProperty("@odata.nextLink", out JsonElement link) && link.ValueKind == JsonValueKind.String && link.GetString() is { Length: > 0 } next)
                        {
                            pending = GetPageAsync(next, token);
                        }

                        onPage(body);
                    }
                }

                return null;
            }
            finally
            {
                // Stopped early (a malformed page, the caller's exception or cancellation): the page already asked for is
                // not used; its document goes back to the pool when it arrives, and its failure is observed.
                if (pending is not null)
                {
                    _ = pending.ContinueWith(t => { if (t.Status == TaskStatus.RanToCompletion) { t.Result.Page?.Dispose(); } else { _ = t.Exception; } }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
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

        private static GraphResult Parse(int status, string? body, string? throttled = null)
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

            return new GraphResult(status, json, code, message, throttled);
        }

        internal static string Truncate(string text) => text.Length > 200 ? text.Substring(0, 200) + "..." : text;
    }
}
