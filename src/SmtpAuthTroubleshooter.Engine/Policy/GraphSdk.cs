using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Reflection;
using System.Runtime.Serialization;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Graph;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Abstractions.Serialization;

namespace SmtpAuthTroubleshooter.Engine.Policy
{
    /// <summary>The @odata.nextLink chain did not end, or could not be followed.</summary>
    internal sealed class GraphPagingException : Exception
    {
        public GraphPagingException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }
    }

    /// <summary>
    /// The Microsoft Graph SDK over a <see cref="GraphConnection"/>: GraphServiceClient request builders and typed
    /// models (v1.0, and a second client on the beta base for beta-only reads), <see cref="PageIterator{TEntity, TCollectionPage}"/>
    /// for paging and <see cref="BatchRequestContentCollection"/> for $batch. Authentication is the connection's (its
    /// bearer handler, or the caller's session), so the clients use an anonymous provider. Every call returns its value
    /// or its failure as a <see cref="GraphResult"/> with the status, Graph's error code and message, and how throttling
    /// ended; nothing throws but the caller's cancellation.
    /// </summary>
    internal sealed class GraphSdk
    {
        private const int BatchLimit = 20;
        private static readonly Dictionary<string, ParsableFactory<IParsable>> s_errors = new Dictionary<string, ParsableFactory<IParsable>>
        {
            ["XXX"] = ODataError.CreateFromDiscriminatorValue,
        };

        private static readonly char[] s_newlines = { '\r', '\n' };
        private readonly GraphConnection _connection;

        public GraphSdk(GraphConnection connection)
        {
            _connection = connection;
            var anonymous = new AnonymousAuthenticationProvider();
            V1 = new GraphServiceClient(connection.Client, anonymous, new Uri(connection.BaseUri, "v1.0").AbsoluteUri);
            Beta = new GraphServiceClient(connection.Client, anonymous, new Uri(connection.BaseUri, "beta").AbsoluteUri);
        }

        /// <summary>The v1.0 client.</summary>
        public GraphServiceClient V1 { get; }

        /// <summary>A client on the beta base, for reads v1.0 does not have (per-user MFA), made as <see cref="RequestInformation"/>.</summary>
        public GraphServiceClient Beta { get; }

        /// <summary>One call: its value, or its failure.</summary>
        public static async Task<(T? Value, GraphResult? Failure)> CallAsync<T>(Func<CancellationToken, Task<T?>> call, CancellationToken token)
            where T : class
        {
            try
            {
                return (await call(token).ConfigureAwait(false), null);
            }
            catch (Exception ex) when (Failure(ex, token) is GraphResult failure)
            {
                return (null, failure);
            }
        }

        /// <summary>Every item of a collection: the first page from <paramref name="first"/>, the rest through PageIterator (at most <paramref name="maxPages"/> pages).</summary>
        public async Task<(List<TEntity> Items, GraphResult? Failure)> AllAsync<TEntity, TPage>(Func<CancellationToken, Task<TPage?>> first, CancellationToken token, int maxPages = 1000)
            where TPage : class, IParsable, IAdditionalDataHolder, new()
        {
            var items = new List<TEntity>();
            GraphResult? failure = await EachAsync<TEntity, TPage>(first, items.Add, token, maxPages).ConfigureAwait(false);
            return (items, failure);
        }

        /// <summary>
        /// Every item of a collection handed to <paramref name="each"/> as its page is read, none kept here: for a large
        /// collection read once (the tenant's sign-in log, hundreds of thousands of rows), whose caller keeps only what it
        /// aggregates. Returns the failure, if any (the items before it were handed over).
        /// </summary>
        public async Task<GraphResult?> EachAsync<TEntity, TPage>(Func<CancellationToken, Task<TPage?>> first, Action<TEntity> each, CancellationToken token, int maxPages = 1000)
            where TPage : class, IParsable, IAdditionalDataHolder, new()
        {
            (TPage? page, GraphResult? failure) = await CallAsync(first, token).ConfigureAwait(false);
            if (failure is not null || page is null)
            {
                return failure ?? new GraphResult(0, null, "MalformedResponse", "The response had no JSON body.");
            }

            return await IterateAsync(V1, page, each, maxPages, token).ConfigureAwait(false);
        }

        /// <summary>Follows the @odata.nextLink of a page already read (PageIterator), adding every item to <paramref name="items"/>.</summary>
        public static async Task<(List<TEntity> Items, GraphResult? Failure)> RestAsync<TEntity, TPage>(GraphServiceClient client, TPage page, List<TEntity> items, CancellationToken token, int maxPages = 1000)
            where TPage : class, IParsable, IAdditionalDataHolder, new()
        {
            GraphResult? failure = await IterateAsync<TEntity, TPage>(client, page, items.Add, maxPages, token).ConfigureAwait(false);
            return (items, failure);
        }

        private static async Task<GraphResult?> IterateAsync<TEntity, TPage>(GraphServiceClient client, TPage page, Action<TEntity> each, int maxPages, CancellationToken token)
            where TPage : class, IParsable, IAdditionalDataHolder, new()
        {
            int pages = 1;
            PageIterator<TEntity, TPage> iterator = PageIterator<TEntity, TPage>.CreatePageIterator(client, page, item =>
            {
                each(item);
                return true;
            }, request =>
            {
                if (++pages > maxPages)
                {
                    throw new GraphPagingException(string.Format(CultureInfo.InvariantCulture, "The @odata.nextLink chain did not end after {0} pages.", maxPages));
                }

                return request;
            }, s_errors);
            try
            {
                await iterator.IterateAsync(token).ConfigureAwait(false);
                return null;
            }
            catch (Exception ex) when (Failure(ex, token) is GraphResult failure)
            {
                return failure;
            }
        }

        /// <summary>
        /// GETs through $batch, 20 to a request (BatchRequestContentCollection), each answer parsed by
        /// <paramref name="parse"/> or kept as its failure. Inner 429/503/504 answers are retried under the connection's
        /// retry policy (the longest inner Retry-After, the same budget as whole answers); a failed $batch gives its
        /// requests the batch's failure.
        /// </summary>
        public async Task<Dictionary<string, (T? Value, GraphResult? Failure)>> BatchAsync<T>(
            GraphServiceClient client,
            IReadOnlyList<(string Key, RequestInformation Request)> requests,
            Func<Stream, CancellationToken, Task<T?>> parse,
            CancellationToken token)
            where T : class
        {
            var results = new Dictionary<string, (T? Value, GraphResult? Failure)>(StringComparer.Ordinal);
            GraphRetryPolicy policy = _connection.Retry;
            for (int offset = 0; offset < requests.Count; offset += BatchLimit)
            {
                List<(string Key, RequestInformation Request)> pending = requests.Skip(offset).Take(BatchLimit).ToList();
                TimeSpan waited = TimeSpan.Zero;
                for (int retries = 0; pending.Count > 0; retries++)
                {
                    var batch = new BatchRequestContentCollection(client, BatchLimit);
                    foreach ((string key, RequestInformation request) in pending)
                    {
                        await batch.AddBatchRequestStepAsync(request, key).ConfigureAwait(false);
                    }

                    BatchResponseContentCollection answers;
                    Dictionary<string, HttpStatusCode> statuses;
                    try
                    {
                        answers = await client.Batch.PostAsync(batch, token, s_errors).ConfigureAwait(false);
                        statuses = await answers.GetResponsesStatusCodesAsync().ConfigureAwait(false);
                    }
                    catch (Exception ex) when (Failure(ex, token) is GraphResult failure)
                    {
                        foreach ((string key, _) in pending)
                        {
                            results[key] = (null, failure.Status is >= 200 and < 300 || failure.ErrorCode == "MalformedJson"
                                ? new GraphResult(0, null, "MalformedResponse", "The $batch response had no responses array: " + failure.ErrorMessage)
                                : failure);
                        }

                        break;
                    }

                    var throttled = new List<((string Key, RequestInformation Request) Step, GraphResult Answer)>();
                    TimeSpan? wait = null;
                    foreach ((string key, RequestInformation request) in pending)
                    {
                        if (!statuses.TryGetValue(key, out HttpStatusCode status))
                        {
                            results[key] = (null, new GraphResult(0, null, "MissingBatchResponse", "The $batch response left this request out: " + key));
                            continue;
                        }

                        using HttpResponseMessage answer = await answers.GetResponseByIdAsync(key).ConfigureAwait(false);
                        int code = (int)status;
                        if (code >= 200 && code < 300)
                        {
                            results[key] = await ParseAsync(answer, parse, token).ConfigureAwait(false);
                            continue;
                        }

                        GraphResult error = await ErrorAsync(answer, code, null).ConfigureAwait(false);
                        if (GraphRetryPolicy.IsRetryable(code))
                        {
                            throttled.Add(((key, request), error));
                            TimeSpan? retryAfter = GraphRetryPolicy.RetryAfter(answer);
                            wait = retryAfter is null ? wait : wait is null || retryAfter > wait ? retryAfter : wait;
                            continue;
                        }

                        results[key] = (null, error);
                    }

                    if (throttled.Count == 0)
                    {
                        break;
                    }

                    (bool retry, TimeSpan delay, string? outcome) = policy.Decide(wait, retries, waited);
                    if (!retry)
                    {
                        foreach (((string key, _), GraphResult answer) in throttled)
                        {
                            results[key] = (null, new GraphResult(answer.Status, null, answer.ErrorCode, answer.ErrorMessage, outcome));
                        }

                        break;
                    }

                    string what = new Uri(client.RequestAdapter.BaseUrl ?? "https://graph/", UriKind.Absolute).AbsolutePath.Trim('/') + "/$batch (" + throttled.Count.ToString(CultureInfo.InvariantCulture) + " inner requests)";
                    await policy.WaitAsync(delay, retries + 1, what, throttled[0].Answer.Status.ToString(CultureInfo.InvariantCulture), token).ConfigureAwait(false);
                    waited += delay;
                    pending = throttled.Select(t => t.Step).ToList();
                }
            }

            return results;
        }

        /// <summary>A typed model from a JSON body (Kiota's JSON parse node).</summary>
        public static Func<Stream, CancellationToken, Task<T?>> Model<T>(ParsableFactory<T> factory)
            where T : class, IParsable =>
            async (stream, token) => await KiotaJsonSerializer.DeserializeAsync(stream, factory, token).ConfigureAwait(false);

        /// <summary>The raw JSON of a body (beta-only reads, which have no v1.0 model).</summary>
        public static async Task<JsonDocument?> JsonAsync(Stream stream, CancellationToken token) =>
            await JsonDocument.ParseAsync(stream, default, token).ConfigureAwait(false);

        /// <summary>A model's enum value as Graph spells it on the wire ("exchangeActiveSync", "enabledForReportingButNotEnforced").</summary>
        public static string Wire<TEnum>(TEnum value)
            where TEnum : struct, Enum
        {
            string name = value.ToString();
            FieldInfo? field = typeof(TEnum).GetField(name, BindingFlags.Public | BindingFlags.Static);
            return field?.GetCustomAttribute<EnumMemberAttribute>()?.Value ?? (name.Length > 0 ? char.ToLowerInvariant(name[0]) + name.Substring(1) : name);
        }

        /// <summary>The failure a call ended with, or null for the caller's cancellation and for what is not a Graph failure.</summary>
        public static GraphResult? Failure(Exception ex, CancellationToken token)
        {
            if (token.IsCancellationRequested && ex is OperationCanceledException)
            {
                return null;
            }

            switch (ex)
            {
                case GraphUnreachableException:
                    return new GraphResult(0, null, "Unreachable", ex.Message);
                case GraphNoResponseException:
                    return new GraphResult(0, null, "NoResponse", ex.Message);
                case GraphAuthenticationException:
                    return new GraphResult(0, null, "AuthenticationFailed", ex.Message);
                case GraphPagingException:
                    return new GraphResult(0, null, "BrokenNextLink", ex.Message);
                case ODataError odata:
                    return new GraphResult(odata.ResponseStatusCode, null, odata.Error?.Code, odata.Error?.Message ?? FirstLine(odata.Message), Outcome(odata.ResponseHeaders));
                case ServiceException service:
                    return new GraphResult(service.ResponseStatusCode, null, ErrorCodeFrom(service.RawResponseBody), ErrorMessageFrom(service.RawResponseBody) ?? FirstLine(service.Message), Outcome(service.ResponseHeaders));
                case ApiException api when api.ResponseStatusCode > 0:
                    return new GraphResult(api.ResponseStatusCode, null, null, FirstLine(api.Message), Outcome(api.ResponseHeaders));
                case JsonException json:
                    return new GraphResult(0, null, "MalformedJson", "The response body is not valid JSON: " + json.Message);
                case UriFormatException:
                case InvalidOperationException when ex.Message.IndexOf("uri", StringComparison.OrdinalIgnoreCase) >= 0 || ex.Message.IndexOf("url", StringComparison.OrdinalIgnoreCase) >= 0:
                    return new GraphResult(0, null, "BrokenNextLink", "The @odata.nextLink could not be followed: " + GraphReader.Truncate(ex.Message));
                default:
                    return GraphRetryHandler.IsNoResponse(ex) ? new GraphResult(0, null, "NoResponse", GraphRetryHandler.Describe(ex)) : null;
            }
        }

        private static async Task<(T? Value, GraphResult? Failure)> ParseAsync<T>(HttpResponseMessage answer, Func<Stream, CancellationToken, Task<T?>> parse, CancellationToken token)
            where T : class
        {
            try
            {
                using Stream stream = await answer.Content.ReadAsStreamAsync().ConfigureAwait(false);
                T? value = await parse(stream, token).ConfigureAwait(false);
                return value is null ? (null, new GraphResult(0, null, "MalformedResponse", "The response had no JSON body.")) : (value, null);
            }
            catch (JsonException ex)
            {
                return (null, new GraphResult(0, null, "MalformedJson", "The response body is not valid JSON: " + ex.Message));
            }
        }

        private static async Task<GraphResult> ErrorAsync(HttpResponseMessage answer, int status, string? outcome)
        {
            string body = answer.Content is null ? string.Empty : await answer.Content.ReadAsStringAsync().ConfigureAwait(false);
            return new GraphResult(status, null, ErrorCodeFrom(body), ErrorMessageFrom(body), outcome);
        }

        private static string? Outcome(IDictionary<string, IEnumerable<string>>? headers) =>
            headers is not null && headers.TryGetValue(GraphRetryPolicy.OutcomeHeader, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

        private static string? Outcome(System.Net.Http.Headers.HttpResponseHeaders? headers) =>
            headers is not null && headers.TryGetValues(GraphRetryPolicy.OutcomeHeader, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

        private static string? ErrorCodeFrom(string? body) => ErrorField(body, "code");

        private static string? ErrorMessageFrom(string? body) => ErrorField(body, "message");

        private static string? ErrorField(string? body, string name)
        {
            if (string.IsNullOrWhiteSpace(body))
            {
                return null;
            }

            try
            {
                using JsonDocument doc = JsonDocument.Parse(body!);
                return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out JsonElement error) &&
                    error.ValueKind == JsonValueKind.Object && error.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String
                    ? value.GetString()
                    : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static string FirstLine(string text)
        {
            int end = text.IndexOfAny(s_newlines);
            return GraphReader.Truncate(end > 0 ? text.Substring(0, end) : text);
        }
    }
}
