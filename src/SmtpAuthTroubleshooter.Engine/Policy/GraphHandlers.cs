using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Probe;

namespace SmtpAuthTroubleshooter.Engine.Policy
{
    /// <summary>No HTTP answer came for a Graph request: a time-out, a refused or reset connection. Counted by the circuit.</summary>
    internal sealed class GraphNoResponseException : Exception
    {
        public GraphNoResponseException(string why, Exception? inner)
            : base(why, inner)
        {
        }
    }

    /// <summary>The circuit is open: Graph did not answer several requests in a row, so the rest of the run skips it.</summary>
    internal sealed class GraphUnreachableException : Exception
    {
        public GraphUnreachableException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }
    }

    /// <summary>
    /// The one retry policy for Graph (issue 11): 429, 503 and 504 are retried after the Retry-After Graph sent
    /// (seconds, fractions or an HTTP date; never cut short, https://learn.microsoft.com/graph/throttling), or after an
    /// exponential back-off when none came; at most <see cref="GraphConnectionOptions.MaxRetries"/> retries, at most
    /// <see cref="GraphConnectionOptions.MaxWaitPerRequest"/> waited for one request and
    /// <see cref="GraphConnectionOptions.MaxWaitPerCommand"/> for the whole command. A Retry-After longer than what is
    /// left of the budget ends the request at once instead of retrying early. The same rules serve whole responses
    /// (<see cref="GraphRetryHandler"/>) and the inner responses of a $batch (<see cref="GraphSdk.BatchAsync{T}"/>).
    /// </summary>
    internal sealed class GraphRetryPolicy
    {
        /// <summary>Set on a retryable response that must not be retried here (the caller's Graph module already did).</summary>
        internal const string NoRetryHeader = "X-SmtpAuthTroubleshooter-NoRetry";

        /// <summary>Set on a throttled response whose retries ran out: why, as a clause ("2 retries over 2 s did not get through").</summary>
        internal const string OutcomeHeader = "X-SmtpAuthTroubleshooter-Throttled";

        private readonly GraphConnectionOptions _options;
        private readonly IDiagnosticSink _sink;
        private long _commandWaitTicks;

        public GraphRetryPolicy(GraphConnectionOptions options, IDiagnosticSink sink)
        {
            _options = options;
            _sink = sink;
        }

        public int MaxRetries => _options.MaxRetries;

        public static bool IsRetryable(int status) => status == 429 || status == 503 || status == 504;

        /// <summary>Decides what follows a throttled answer: a wait and a retry, or the end with the reason.</summary>
        public (bool Retry, TimeSpan Wait, string? Outcome) Decide(TimeSpan? retryAfter, int retries, TimeSpan waited)
        {
            if (retries >= _options.MaxRetries)
            {
                return (false, TimeSpan.Zero, retries == 0
                    ? "retries are off"
                    : string.Format(CultureInfo.InvariantCulture, "{0} {1} over {2} did not get through", retries, retries == 1 ? "retry" : "retries", Duration(waited)));
            }

            TimeSpan wait = retryAfter is TimeSpan asked && asked >= TimeSpan.Zero ? asked : Backoff(retries);
            if (waited + wait > _options.MaxWaitPerRequest)
            {
                return (false, TimeSpan.Zero, retryAfter is TimeSpan longWait && retries == 0
                    ? string.Format(CultureInfo.InvariantCulture, "asked to wait {0}, longer than the {1} this command waits for one read", Duration(longWait), Duration(_options.MaxWaitPerRequest))
                    : retryAfter is TimeSpan tooLong
                        ? string.Format(CultureInfo.InvariantCulture, "after {0} {1} over {2} asked to wait {3} more, past the {4} this command waits for one read", retries, retries == 1 ? "retry" : "retries", Duration(waited), Duration(tooLong), Duration(_options.MaxWaitPerRequest))
                        : string.Format(CultureInfo.InvariantCulture, "{0} {1} over {2} did not get through within the {3} this command waits for one read", retries, retries == 1 ? "retry" : "retries", Duration(waited), Duration(_options.MaxWaitPerRequest)));
            }

            if (TimeSpan.FromTicks(Interlocked.Read(ref _commandWaitTicks)) + wait > _options.MaxWaitPerCommand)
            {
                return (false, TimeSpan.Zero, string.Format(CultureInfo.InvariantCulture, "this command already waited {0} for Graph throttling in all, its limit", Duration(_options.MaxWaitPerCommand)));
            }

            return (true, wait, null);
        }

        /// <summary>Waits before retry number <paramref name="retry"/> (1-based), narrated on the verbose stream.</summary>
        public async Task WaitAsync(TimeSpan wait, int retry, string what, string why, CancellationToken token)
        {
            _sink.Verbose(string.Format(CultureInfo.InvariantCulture, "Graph {0} for {1}: retry {2} of {3} in {4:0.###} s.", why, GraphReader.Truncate(what), retry, _options.MaxRetries, wait.TotalSeconds));
            Interlocked.Add(ref _commandWaitTicks, wait.Ticks);
            if (wait > TimeSpan.Zero)
            {
                await _options.Delay(wait, token).ConfigureAwait(false);
            }
        }

        /// <summary>The back-off when Graph sent no Retry-After (the identity and Conditional Access limits send none): 0.5, 1, 2, 4 ... s.</summary>
        public static TimeSpan Backoff(int retries) => TimeSpan.FromMilliseconds(500 * Math.Pow(2, Math.Min(retries, 10)));

        /// <summary>Retry-After as a delay: delta seconds (fractions allowed) or an HTTP date.</summary>
        public static TimeSpan? ParseRetryAfter(string? value, DateTimeOffset now)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return null;
            }

            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds >= 0 && seconds < TimeSpan.MaxValue.TotalSeconds)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParseExact(value!.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset at))
            {
                TimeSpan delta = at - now;
                return delta > TimeSpan.Zero ? delta : TimeSpan.Zero;
            }

            return null;
        }

        public static TimeSpan? RetryAfter(HttpResponseMessage response)
        {
            if (response.Headers.TryGetValues("Retry-After", out IEnumerable<string>? values))
            {
                return ParseRetryAfter(values.FirstOrDefault(), DateTimeOffset.UtcNow);
            }

            return null;
        }

        internal static string Duration(TimeSpan span) => span.TotalSeconds < 90
            ? span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s"
            : span.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture) + " min";
    }

    /// <summary>
    /// The circuit above the retries: after <see cref="GraphConnectionOptions.UnreachableAfter"/> requests in a row ended
    /// with no answer at all (time-outs, refused or reset connections, after their one retry), Graph is taken as
    /// unreachable for the rest of the command, so a bulk run finishes quickly with the Entra fields unknown. Any HTTP
    /// answer closes the count again, 429 and 503 included: throttling never opens the circuit.
    /// </summary>
    internal sealed class GraphCircuitBreaker : DelegatingHandler
    {
        private readonly int _threshold;
        private readonly IDiagnosticSink _sink;
        private int _consecutive;
        private string? _open;

        public GraphCircuitBreaker(int threshold, IDiagnosticSink sink)
        {
            _threshold = threshold;
            _sink = sink;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _open) is string open)
            {
                throw new GraphUnreachableException(open);
            }

            try
            {
                HttpResponseMessage response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                Interlocked.Exchange(ref _consecutive, 0);
                return response;
            }
            catch (GraphNoResponseException ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (Interlocked.Increment(ref _consecutive) >= _threshold)
                {
                    string message = string.Format(CultureInfo.InvariantCulture, "Microsoft Graph did not respond to {0} requests in a row (last: {1}); the remaining Graph reads of this run were skipped.", _threshold, ex.Message);
                    if (Interlocked.CompareExchange(ref _open, message, null) is null)
                    {
                        _sink.Warning(message);
                    }

                    throw new GraphUnreachableException(Volatile.Read(ref _open)!, ex);
                }

                throw;
            }
        }
    }

    /// <summary>Puts the bearer token on each request (HTTP way in). A sign-in failure is kept: it is not retried per read.</summary>
    internal sealed class GraphBearerTokenHandler : DelegatingHandler
    {
        private readonly Func<CancellationToken, Task<string>> _token;
        private readonly Action<GraphAuthenticationException> _failed;
        private readonly GraphSignIn? _signIn;
        private readonly Guid? _expectedTenant;
        private GraphAuthenticationException? _failure;

        public GraphBearerTokenHandler(Func<CancellationToken, Task<string>> token, GraphSignIn? signIn, Action<GraphAuthenticationException> failed, Guid? expectedTenant = null)
        {
            _token = token;
            _signIn = signIn;
            _failed = failed;
            _expectedTenant = expectedTenant;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _failure) is GraphAuthenticationException failed)
            {
                throw new GraphAuthenticationException(failed.Message, failed.RecommendedAction, failed, failed.ErrorId);
            }

            string token;
            try
            {
                token = await _token(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (GraphSignIn.IsSignInFailure(ex) && !cancellationToken.IsCancellationRequested)
            {
                throw Fail(new GraphAuthenticationException(GraphSignIn.FailureMessage(_signIn, ex), _signIn?.RecommendedAction, ex), ex);
            }

            // A token of another tenant than the Exchange session's (a -GraphAccessToken left from the previous tenant of a
            // loop, an app certificate signed in at another -TenantId): Graph is not read, so nothing of that tenant mixes
            // into this tenant's answer. A token that is not a readable JWT (or has no tid) cannot be checked.
            if (_expectedTenant is Guid expected && TokenInspector.TenantOf(token) is Guid tid && tid != expected)
            {
                string message = string.Format(CultureInfo.InvariantCulture,
                    "The Microsoft Graph token ({0}) is for tenant {1}, but the Exchange Online session is for tenant {2}: Microsoft Graph was not read, so that no other tenant's data mixes into this one",
                    _signIn?.Description ?? "the Graph access token given", tid, expected);
                throw Fail(new GraphAuthenticationException(message, string.Format(CultureInfo.InvariantCulture,
                    "Give a Graph token, certificate sign-in (-TenantId) or identity for tenant {0}, or connect Exchange Online to tenant {1}; check both before each tenant of a loop.", expected, tid),
                    null, "GraphTenantMismatch"), null);
            }

            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        // The first failure is kept (later requests fail at once with it) and reported once.
        private GraphAuthenticationException Fail(GraphAuthenticationException failure, Exception? inner)
        {
            if (Interlocked.CompareExchange(ref _failure, failure, null) is null)
            {
                _failed(failure);
            }

            return new GraphAuthenticationException(failure.Message, failure.RecommendedAction, inner ?? failure, failure.ErrorId);
        }
    }

    /// <summary>
    /// Our one retry layer, in the place of Kiota's RetryHandler in the SDK's pipeline (see <see cref="GraphRetryPolicy"/>
    /// for the rules and GraphConnection for why it is ours). A request that got no answer gets one more try and then
    /// ends as <see cref="GraphNoResponseException"/>; a throttled request whose retries run out returns its last
    /// answer, marked with <see cref="GraphRetryPolicy.OutcomeHeader"/>. Nothing here throws because of throttling.
    /// </summary>
    internal sealed class GraphRetryHandler : DelegatingHandler
    {
        private readonly GraphRetryPolicy _policy;

        public GraphRetryHandler(GraphRetryPolicy policy)
        {
            _policy = policy;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            byte[]? body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            string what = request.RequestUri?.PathAndQuery.TrimStart('/') ?? string.Empty;
            TimeSpan waited = TimeSpan.Zero;
            int retries = 0;
            bool retriedNoResponse = false;
            HttpRequestMessage attempt = request;
            while (true)
            {
                HttpResponseMessage response;
                try
                {
                    response = await base.SendAsync(attempt, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsNoResponse(ex))
                {
                    string why = ex is GraphNoResponseException ? ex.Message : Describe(ex);
                    // No answer at all: one more try, not the full budget (a dead or hung endpoint will not recover
                    // in seconds); the circuit above counts what still fails.
                    if (!retriedNoResponse && _policy.MaxRetries > 0)
                    {
                        retriedNoResponse = true;
                        retries++;
                        TimeSpan backoff = GraphRetryPolicy.Backoff(0);
                        await _policy.WaitAsync(backoff, retries, what, "no response (" + why + ")", cancellationToken).ConfigureAwait(false);
                        waited += backoff;
                        attempt = Clone(request, body, attempt);
                        continue;
                    }

                    throw ex as GraphNoResponseException ?? new GraphNoResponseException(why, ex);
                }

                int status = (int)response.StatusCode;
                if (!GraphRetryPolicy.IsRetryable(status))
                {
                    return response;
                }

                if (response.Headers.Contains(GraphRetryPolicy.NoRetryHeader))
                {
                    return response;
                }

                (bool retry, TimeSpan wait, string? outcome) = _policy.Decide(GraphRetryPolicy.RetryAfter(response), retries, waited);
                if (!retry)
                {
                    response.Headers.TryAddWithoutValidation(GraphRetryPolicy.OutcomeHeader, outcome ?? string.Empty);
                    return response;
                }

                response.Dispose();
                retries++;
                await _policy.WaitAsync(wait, retries, what, status.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
                waited += wait;
                attempt = Clone(request, body, attempt);
            }
        }

        internal static bool IsNoResponse(Exception ex) =>
            ex is GraphNoResponseException || ex is HttpRequestException || ex is IOException || ex is SocketException || ex is TimeoutException || ex is OperationCanceledException;

        internal static string Describe(Exception ex)
        {
            Exception inner = ex;
            while (inner.InnerException is not null && (inner is HttpRequestException || inner is IOException))
            {
                inner = inner.InnerException;
            }

            return inner.Message;
        }

        // A fresh message for each attempt (a sent message must not be reused), with the same headers, options and body.
        private static HttpRequestMessage Clone(HttpRequestMessage original, byte[]? body, HttpRequestMessage previous)
        {
            var clone = new HttpRequestMessage(original.Method, original.RequestUri) { Version = original.Version };
            foreach (KeyValuePair<string, IEnumerable<string>> header in original.Headers)
            {
                clone.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            if (body is not null)
            {
                clone.Content = new ByteArrayContent(body);
                foreach (KeyValuePair<string, IEnumerable<string>> header in original.Content!.Headers)
                {
                    clone.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

#pragma warning disable CS0618 // Properties: netstandard2.0 has no Options; Kiota keeps its request options there.
            foreach (KeyValuePair<string, object?> property in original.Properties)
            {
                clone.Properties[property.Key] = property.Value;
            }
#pragma warning restore CS0618

            if (!ReferenceEquals(previous, original))
            {
                previous.Dispose();
            }

            return clone;
        }
    }

    /// <summary>
    /// One attempt's time limit, below the retries: a request that gets no full answer within the time-out ends as
    /// <see cref="GraphNoResponseException"/> ("no response within 30 s"). Waits for Retry-After happen above, outside
    /// this limit, so a long Retry-After is waited for and never counted as no response.
    /// </summary>
    internal sealed class GraphAttemptTimeoutHandler : DelegatingHandler
    {
        /// <summary>A request property: the caller reads a successful answer's body as a stream, under its own time
        /// limit (<see cref="GraphReader.GetPageAsync"/>), so it is not buffered here first.</summary>
        internal const string StreamedBodyProperty = "SmtpAuthTroubleshooter.StreamedBody";

        private readonly TimeSpan _timeout;
        private long _attempts;

        public GraphAttemptTimeoutHandler(TimeSpan timeout)
        {
            _timeout = timeout;
        }

        /// <summary>HTTP attempts sent (a $batch counts once).</summary>
        public long Attempts => Interlocked.Read(ref _attempts);

        /// <summary>One attempt's time limit.</summary>
        public TimeSpan Timeout => _timeout;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(_timeout);
            HttpResponseMessage? response = null;
            try
            {
                response = await base.SendAsync(request, attempt.Token).ConfigureAwait(false);
                bool streamed = response.IsSuccessStatusCode && request.Properties.TryGetValue(StreamedBodyProperty, out object? flag) && flag is true;
                if (response.Content is not null and not Utf8StringContent && !streamed)
                {
                    // The body is part of the answer: a server that stalls half-way is no response either. (A body the
                    // caller's Graph module already read, as a string, cannot stall: it is not copied again.)
                    Task buffer = response.Content.LoadIntoBufferAsync();
                    var stalled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    using (attempt.Token.Register(() => stalled.TrySetResult(true)))
                    {
                        if (await Task.WhenAny(buffer, stalled.Task).ConfigureAwait(false) != buffer)
                        {
                            response.Dispose();
                            _ = buffer.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                            attempt.Token.ThrowIfCancellationRequested();
                        }
                    }

                    await buffer.ConfigureAwait(false);
                }

                return response;
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                response?.Dispose();
                throw new GraphNoResponseException(string.Format(CultureInfo.InvariantCulture, "no response within {0:0.##} s", _timeout.TotalSeconds), ex);
            }
        }
    }

    /// <summary>
    /// The bottom of the SDK's pipeline for the caller's Connect-MgGraph session: each request goes to an
    /// <see cref="IGraphTransport"/> (in the cmdlet layer, Invoke-MgGraphRequest in the caller's runspace), so both ways
    /// in share one pipeline, one retry policy and one circuit. URLs on the session's placeholder base go as relative
    /// URLs ("v1.0/users/x"), which Invoke-MgGraphRequest resolves against the session's own cloud.
    /// </summary>
    internal sealed class GraphTransportHandler : HttpMessageHandler
    {
        /// <summary>The error code a transport puts in its answer when the caller's Graph module already retried and gave up.</summary>
        internal const string RetriesExhaustedCode = "SmtpAuthTroubleshooter.CallerRetriesExhausted";

        private static readonly string[] s_forwardedHeaders = { "ConsistencyLevel", "Prefer" };
        private readonly IGraphTransport _transport;
        private readonly Uri _base;

        public GraphTransportHandler(IGraphTransport transport, Uri placeholderBase)
        {
            _transport = transport;
            _base = placeholderBase;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string url = request.RequestUri!.AbsoluteUri;
            if (url.StartsWith(_base.AbsoluteUri, StringComparison.OrdinalIgnoreCase))
            {
                url = url.Substring(_base.AbsoluteUri.Length);
            }

            string? body = request.Content is null ? null : await request.Content.ReadAsStringAsync().ConfigureAwait(false);
            Dictionary<string, string>? headers = null;
            foreach (string name in s_forwardedHeaders)
            {
                if (request.Headers.TryGetValues(name, out IEnumerable<string>? values))
                {
                    headers ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    headers[name] = string.Join(",", values);
                }
            }

            GraphHttpResponse answer = await _transport.SendAsync(request.Method.Method, url, body, headers, cancellationToken).ConfigureAwait(false);
            if (answer.StatusCode <= 0)
            {
                throw new HttpRequestException("no HTTP status from " + _transport.Description);
            }

            var response = new HttpResponseMessage((HttpStatusCode)answer.StatusCode)
            {
                RequestMessage = request,
                Content = new Utf8StringContent(answer.Body ?? string.Empty),
            };
            if (answer.RetryAfter is TimeSpan retryAfter)
            {
                response.Headers.TryAddWithoutValidation("Retry-After", retryAfter.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture));
            }

            if (answer.Body is not null && answer.Body.IndexOf(RetriesExhaustedCode, StringComparison.Ordinal) >= 0)
            {
                response.Headers.TryAddWithoutValidation(GraphRetryPolicy.NoRetryHeader, "caller");
                response.Headers.TryAddWithoutValidation(GraphRetryPolicy.OutcomeHeader, "the Microsoft Graph PowerShell module's own retries ran out");
            }

            return response;
        }
    }

    /// <summary>
    /// A JSON body the caller's Graph module handed over as a string (Invoke-MgGraphRequest -OutputType Json): encoded to
    /// UTF-8 as it is read, a chunk at a time, not into one array per response. A page of 1,000 sign-ins is about 1.5 MB,
    /// and a tenant's 30 days are hundreds of pages: StringContent made a large-object-heap array of each (issue 12).
    /// </summary>
    internal sealed class Utf8StringContent : HttpContent
    {
        private readonly string _text;

        public Utf8StringContent(string text)
        {
            _text = text;
            Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            using var source = new Utf8StringReadStream(_text);
            return source.CopyToAsync(stream);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = Encoding.UTF8.GetByteCount(_text);
            return true;
        }

        protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult<Stream>(new Utf8StringReadStream(_text));
    }

    /// <summary>A read-only stream of a string's UTF-8 bytes, encoded on demand (no byte array of the whole text).</summary>
    internal sealed class Utf8StringReadStream : Stream
    {
        private readonly string _text;
        private readonly byte[] _scratch = new byte[4];
        private int _next;
        private int _scratchStart;
        private int _scratchEnd;

        public Utf8StringReadStream(string text) => _text = text;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (buffer is null)
            {
                throw new ArgumentNullException(nameof(buffer));
            }

            if (offset < 0 || count < 0 || count > buffer.Length - offset)
            {
                throw new ArgumentOutOfRangeException(nameof(count));
            }

            int written = 0;
            while (written < count)
            {
                if (_scratchStart < _scratchEnd)
                {
                    // Bytes of a character that did not fit last time.
                    int n = Math.Min(_scratchEnd - _scratchStart, count - written);
                    Buffer.BlockCopy(_scratch, _scratchStart, buffer, offset + written, n);
                    _scratchStart += n;
                    written += n;
                    continue;
                }

                if (_next >= _text.Length)
                {
                    break;
                }

                // At most 3 bytes a UTF-16 unit (a surrogate pair is 4 bytes for 2 units), and a pair is never split.
                int room = count - written;
                int chars = Math.Min(_text.Length - _next, room / 3);
                if (chars > 0 && char.IsHighSurrogate(_text[_next + chars - 1]) && _next + chars < _text.Length)
                {
                    chars--;
                }

                if (chars == 0)
                {
                    // Less room than one character may need: encode one (or a pair) aside and copy what fits.
                    int units = char.IsHighSurrogate(_text[_next]) && _next + 1 < _text.Length ? 2 : 1;
                    _scratchEnd = Encoding.UTF8.GetBytes(_text, _next, units, _scratch, 0);
                    _scratchStart = 0;
                    _next += units;
                    continue;
                }

                written += Encoding.UTF8.GetBytes(_text, _next, chars, buffer, offset + written);
                _next += chars;
            }

            return written;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return Task.FromResult(Read(buffer, offset, count));
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
