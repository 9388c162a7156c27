using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// Graph through the caller's existing Connect-MgGraph session: each request is the caller's own
    /// Invoke-MgGraphRequest (-OutputType Json -SkipHttpErrorCheck), run in the caller's runspace on the pipeline
    /// thread. We never touch the Graph module's token cache or MSAL (STYLE rule 41). This is the bottom of the engine's
    /// Graph pipeline for this way in (the engine wraps it in an HttpMessageHandler), so the session shares the retry
    /// policy and the circuit of the other ways in. Cancellation (Ctrl+C, the per-attempt time-out) is honoured: a
    /// request still queued is skipped, a running Invoke-MgGraphRequest is stopped.
    /// </summary>
    internal sealed class MgGraphSessionTransport : IGraphTransport
    {
        private const string Script = @"
param($Method, $Uri, $Body, $Headers)
$sc = $null; $rh = $null
$p = @{ Method = $Method; Uri = $Uri; OutputType = 'Json'; SkipHttpErrorCheck = $true; StatusCodeVariable = 'sc'; ResponseHeadersVariable = 'rh'; ErrorAction = 'Stop' }
if ($null -ne $Body) { $p.Body = $Body; $p.ContentType = 'application/json' }
if ($null -ne $Headers) { $p.Headers = $Headers }
try { $r = Invoke-MgGraphRequest @p }
catch { return [pscustomobject]@{ Status = $null; Body = $null; RetryAfter = $null; Error = $_ } }
$ra = $null
if ($rh) { foreach ($k in @($rh.Keys)) { if ($k -eq 'Retry-After') { $ra = (@($rh[$k]) -join '') } } }
[pscustomobject]@{ Status = $sc; Body = $r; RetryAfter = $ra; Error = $null }
";

        // The Microsoft Graph PowerShell SDK's own RetryHandler (Kiota) retries 429/503/504 inside Invoke-MgGraphRequest
        // and, when it runs out, throws "Too many retries performed. More than 3 retries encountered while sending the
        // request. (HTTP request failed with status code: TooManyRequests. ...)". That is an answer, not a lost
        // connection: it becomes a throttled answer that our retry layer must not retry again (one layer per answer).
        private static readonly Regex s_retriesExhausted = new Regex(@"Too many retries performed", RegexOptions.CultureInvariant);
        private static readonly Regex s_statusName = new Regex(@"status code: (?<name>TooManyRequests|ServiceUnavailable|GatewayTimeout)", RegexOptions.CultureInvariant);

        /// <summary>The error code the engine's session handler recognises (GraphTransportHandler.RetriesExhaustedCode).</summary>
        private const string RetriesExhaustedCode = "SmtpAuthTroubleshooter.CallerRetriesExhausted";

        private readonly Func<Func<GraphHttpResponse>, Task<GraphHttpResponse>> _onPipelineThread;
        private readonly ArrayList? _callerErrors;

        /// <param name="onPipelineThread">Runs a request on the pipeline thread (the caller's runspace is used there only).</param>
        /// <param name="callerErrors">The caller's $Error: what the module's own requests add to it is taken out again.</param>
        public MgGraphSessionTransport(Func<Func<GraphHttpResponse>, Task<GraphHttpResponse>> onPipelineThread, ArrayList? callerErrors)
        {
            _onPipelineThread = onPipelineThread;
            _callerErrors = callerErrors;
        }

        public string Description => "the Connect-MgGraph session (Invoke-MgGraphRequest)";

        /// <summary>True when Get-MgContext returns a context in this session; <paramref name="tenantId"/> is its TenantId when that is a GUID.</summary>
        public static bool SessionExists(PSCmdlet cmdlet, out Guid? tenantId)
        {
            tenantId = null;
            if (cmdlet.InvokeCommand.GetCommand("Get-MgContext", CommandTypes.Function | CommandTypes.Cmdlet | CommandTypes.Alias) is null ||
                cmdlet.InvokeCommand.GetCommand("Invoke-MgGraphRequest", CommandTypes.Function | CommandTypes.Cmdlet | CommandTypes.Alias) is null)
            {
                return false;
            }

            using PowerShell ps = CallerRunspace.Command("Get-MgContext");
            using CallerRunspace.ErrorScope keep = CallerRunspace.KeepErrors(CallerRunspace.Errors(cmdlet));
            try
            {
                Collection<PSObject> context = ps.Invoke();
                if (context.Count == 0 || context[0] is null)
                {
                    return false;
                }

                tenantId = Guid.TryParse(context[0].Properties["TenantId"]?.Value?.ToString(), out Guid tenant) ? tenant : null;
                return true;
            }
            catch (RuntimeException)
            {
                return false;
            }
        }

        public async Task<GraphHttpResponse> SendAsync(string method, string url, string? jsonBody, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task<GraphHttpResponse> work = _onPipelineThread(() => Send(method, url, jsonBody, headers, cancellationToken));
            if (!cancellationToken.CanBeCanceled || work.IsCompleted)
            {
                return await work.ConfigureAwait(false);
            }

            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
            {
                if (await Task.WhenAny(work, cancelled.Task).ConfigureAwait(false) != work)
                {
                    // The pipeline thread stops the running request (or skips it if it has not started); its outcome is not awaited.
                    _ = work.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                    throw new OperationCanceledException(cancellationToken);
                }
            }

            return await work.ConfigureAwait(false);
        }

        private GraphHttpResponse Send(string method, string url, string? jsonBody, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
        {
            // Queued on the pipeline thread but cancelled (time-out, Ctrl+C) before it ran: do not send it.
            cancellationToken.ThrowIfCancellationRequested();
            Hashtable? headerTable = null;
            if (headers is not null)
            {
                headerTable = new Hashtable(StringComparer.OrdinalIgnoreCase);
                foreach (KeyValuePair<string, string> h in headers)
                {
                    headerTable[h.Key] = h.Value;
                }
            }

            using PowerShell ps = CallerRunspace.Script(Script);
            // The script's try/catch does not keep a failed Invoke-MgGraphRequest out of $Error; this does.
            using CallerRunspace.ErrorScope keep = CallerRunspace.KeepErrors(_callerErrors);
            ps.AddArgument(method).AddArgument(url).AddArgument(jsonBody).AddArgument(headerTable);
            Collection<PSObject> output;
            try
            {
                using (cancellationToken.Register(() => ps.BeginStop(null, null)))
                {
                    output = ps.Invoke();
                }
            }
            catch (RuntimeException ex) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(ex.Message, ex, cancellationToken);
            }
            catch (RuntimeException ex)
            {
                if (ThrottledToTheEnd(ex) is GraphHttpResponse throttled)
                {
                    return throttled;
                }

                // No response at all (a connection failure inside Invoke-MgGraphRequest): the engine retries once or reports it.
                throw new System.Net.Http.HttpRequestException(ex.Message, ex);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (output.Count == 0 || output[0] is null)
            {
                string error = ps.Streams.Error.Count > 0 ? ps.Streams.Error[0].ToString() : "Invoke-MgGraphRequest returned nothing";
                if (ps.Streams.Error.Count > 0 && ThrottledToTheEnd(ps.Streams.Error[0].Exception) is GraphHttpResponse throttled)
                {
                    return throttled;
                }

                throw new System.Net.Http.HttpRequestException(error);
            }

            PSObject result = output[0];
            if (Value(result, "Error") is object failure)
            {
                // Invoke-MgGraphRequest failed (a statement-terminating error, which -ErrorAction Stop does not promote).
                Exception? error = (failure as ErrorRecord)?.Exception;
                if (ThrottledToTheEnd(error) is GraphHttpResponse throttledToTheEnd)
                {
                    return throttledToTheEnd;
                }

                // No response at all (a connection failure inside Invoke-MgGraphRequest): the engine retries once or reports it.
                throw new System.Net.Http.HttpRequestException(error?.Message ?? failure.ToString(), error);
            }

            int status = Value(result, "Status") is object s && int.TryParse(Convert.ToString(s, CultureInfo.InvariantCulture), NumberStyles.Integer, CultureInfo.InvariantCulture, out int code) ? code : 0;
            string? body = Text(result, "Body");
            TimeSpan? retryAfter = Text(result, "RetryAfter") is string ra && double.TryParse(ra, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
                ? TimeSpan.FromSeconds(seconds)
                : null;
            return new GraphHttpResponse(status, body, retryAfter);
        }

        private static object? Value(PSObject o, string name)
        {
            object? v = o.Properties[name]?.Value;
            return v is PSObject p ? p.BaseObject : v;
        }

        private static string? Text(PSObject o, string name)
        {
            string? s = Value(o, name)?.ToString();
            return string.IsNullOrWhiteSpace(s) ? null : s;
        }

        // "Too many retries performed" from the caller's Graph module: the throttled status it gave up on, marked so that
        // the engine does not retry it again. Null for anything else.
        internal static GraphHttpResponse? ThrottledToTheEnd(Exception? exception)
        {
            for (Exception? e = exception; e is not null; e = e.InnerException)
            {
                if (!s_retriesExhausted.IsMatch(e.Message))
                {
                    continue;
                }

                int status = s_statusName.Match(e.Message) is { Success: true } m
                    ? m.Groups["name"].Value switch { "ServiceUnavailable" => 503, "GatewayTimeout" => 504, _ => 429 }
                    : 429;
                string message = "The Microsoft Graph PowerShell module retried and gave up: " + FirstLine(e.Message);
                string body = "{\"error\":{\"code\":\"" + RetriesExhaustedCode + "\",\"message\":\"" + JsonEscape(message) + "\"}}";
                return new GraphHttpResponse(status, body, null);
            }

            return null;
        }

        private static string JsonEscape(string text)
        {
            var sb = new System.Text.StringBuilder(text.Length);
            foreach (char c in text)
            {
                switch (c)
                {
                    case '"':
                        sb.Append("\\\"");
                        break;
                    case '\\':
                        sb.Append("\\\\");
                        break;
                    default:
                        if (c < ' ')
                        {
                            sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            sb.Append(c);
                        }

                        break;
                }
            }

            return sb.ToString();
        }

        private static string FirstLine(string text)
        {
            int end = text.IndexOf(" (HTTP request failed", StringComparison.Ordinal);
            return end > 0 ? text.Substring(0, end) : (text.Length > 200 ? text.Substring(0, 200) + "..." : text);
        }
    }
}
