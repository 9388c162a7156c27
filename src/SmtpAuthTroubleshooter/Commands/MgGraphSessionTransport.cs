using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// Graph through the caller's existing Connect-MgGraph session: each request is the caller's own
    /// Invoke-MgGraphRequest (-OutputType Json -SkipHttpErrorCheck), run in the caller's runspace on the pipeline
    /// thread. We never touch the Graph module's token cache or MSAL (STYLE rule 41).
    /// </summary>
    internal sealed class MgGraphSessionTransport : IGraphTransport
    {
        private const string Script = @"
param($Method, $Uri, $Body, $Headers)
$sc = $null; $rh = $null
$p = @{ Method = $Method; Uri = $Uri; OutputType = 'Json'; SkipHttpErrorCheck = $true; StatusCodeVariable = 'sc'; ResponseHeadersVariable = 'rh'; ErrorAction = 'Stop' }
if ($null -ne $Body) { $p.Body = $Body; $p.ContentType = 'application/json' }
if ($null -ne $Headers) { $p.Headers = $Headers }
$r = Invoke-MgGraphRequest @p
$ra = $null
if ($rh) { foreach ($k in @($rh.Keys)) { if ($k -eq 'Retry-After') { $ra = (@($rh[$k]) -join '') } } }
[pscustomobject]@{ Status = $sc; Body = $r; RetryAfter = $ra }
";

        private readonly Func<Func<GraphHttpResponse>, Task<GraphHttpResponse>> _onPipelineThread;

        public MgGraphSessionTransport(Func<Func<GraphHttpResponse>, Task<GraphHttpResponse>> onPipelineThread)
        {
            _onPipelineThread = onPipelineThread;
        }

        public string Description => "the Connect-MgGraph session (Invoke-MgGraphRequest)";

        /// <summary>True when Get-MgContext returns a context in this session.</summary>
        public static bool SessionExists(PSCmdlet cmdlet)
        {
            if (cmdlet.InvokeCommand.GetCommand("Get-MgContext", CommandTypes.Function | CommandTypes.Cmdlet | CommandTypes.Alias) is null ||
                cmdlet.InvokeCommand.GetCommand("Invoke-MgGraphRequest", CommandTypes.Function | CommandTypes.Cmdlet | CommandTypes.Alias) is null)
            {
                return false;
            }

            using PowerShell ps = CallerRunspace.Command("Get-MgContext");
            try
            {
                Collection<PSObject> context = ps.Invoke();
                return context.Count > 0 && context[0] is not null;
            }
            catch (RuntimeException)
            {
                return false;
            }
        }

        public Task<GraphHttpResponse> SendAsync(string method, string url, string? jsonBody, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return _onPipelineThread(() => Send(method, url, jsonBody, headers));
        }

        private static GraphHttpResponse Send(string method, string url, string? jsonBody, IReadOnlyDictionary<string, string>? headers)
        {
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
            ps.AddArgument(method).AddArgument(url).AddArgument(jsonBody).AddArgument(headerTable);
            Collection<PSObject> output;
            try
            {
                output = ps.Invoke();
            }
            catch (RuntimeException ex)
            {
                // No response at all (a connection failure inside Invoke-MgGraphRequest): the reader retries or reports it.
                throw new System.Net.Http.HttpRequestException(ex.Message, ex);
            }

            if (output.Count == 0 || output[0] is null)
            {
                string error = ps.Streams.Error.Count > 0 ? ps.Streams.Error[0].ToString() : "Invoke-MgGraphRequest returned nothing";
                throw new System.Net.Http.HttpRequestException(error);
            }

            PSObject result = output[0];
            int status = ExchangeReader.Value(result, "Status") is object s && int.TryParse(Convert.ToString(s, CultureInfo.InvariantCulture), NumberStyles.Integer, CultureInfo.InvariantCulture, out int code) ? code : 0;
            string? body = ExchangeReader.Text(result, "Body");
            TimeSpan? retryAfter = ExchangeReader.Text(result, "RetryAfter") is string ra && double.TryParse(ra, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
                ? TimeSpan.FromSeconds(seconds)
                : null;
            return new GraphHttpResponse(status, body, retryAfter);
        }
    }
}
