using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using SmtpAuthTroubleshooter.Engine.Probe;

namespace SmtpAuthTroubleshooter.Engine.Policy
{
    /// <summary>The limits of the Graph retry policy and circuit (issue 11). The defaults suit an interactive run and a runbook.</summary>
    public sealed class GraphConnectionOptions
    {
        /// <summary>Retries of one throttled (429/503/504) request.</summary>
        public int MaxRetries { get; set; } = 4;

        /// <summary>The most this command waits, in all, for one request's Retry-After and back-off.</summary>
        public TimeSpan MaxWaitPerRequest { get; set; } = TimeSpan.FromMinutes(2);

        /// <summary>The most this command waits for Graph throttling across all its requests; past it, throttled reads end at once.</summary>
        public TimeSpan MaxWaitPerCommand { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>How long one attempt may take before it counts as no response. Waits for Retry-After do not count.</summary>
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>Requests in a row with no response at all after which Graph is skipped for the rest of the command.</summary>
        public int UnreachableAfter { get; set; } = 3;

        /// <summary>
        /// The tenant the command reads in Exchange Online (the caller's EXO session), when known: a Graph token issued for
        /// another tenant is not used, so that no other tenant's Entra data mixes into this tenant's answer.
        /// </summary>
        public Guid? ExpectedTenantId { get; set; }

        /// <summary>How waits are done (tests may shorten them).</summary>
        internal Func<TimeSpan, CancellationToken, Task> Delay { get; set; } = (wait, token) => Task.Delay(wait, token);
    }

    /// <summary>Graph sign-in failed; raised below the circuit, turned into Unknown fields by the reader.</summary>
    internal sealed class GraphAuthenticationException : Exception
    {
        public GraphAuthenticationException(string message, string? recommendedAction, Exception? inner, string errorId = "GraphAuthenticationFailed")
            : base(message, inner)
        {
            RecommendedAction = recommendedAction;
            ErrorId = errorId;
        }

        public string? RecommendedAction { get; }

        /// <summary>GraphAuthenticationFailed, or GraphTenantMismatch for a token of another tenant than the Exchange session's.</summary>
        public string ErrorId { get; }
    }

    /// <summary>
    /// How the command signs in to Graph with Azure.Identity: a managed identity or an app's certificate, built once per
    /// command with the cloud's authority host (-Environment: AzureAuthorityHosts.AzurePublicCloud, AzureGovernment for
    /// GCC High and DoD, AzureChina for 21Vianet) and the cloud's Graph scope.
    /// </summary>
    public sealed class GraphSignIn
    {
        private static readonly Dictionary<SmtpCloudEnvironment, Uri> s_graph = new Dictionary<SmtpCloudEnvironment, Uri>
        {
            [SmtpCloudEnvironment.Global] = new Uri("https://graph.microsoft.com/"),
            [SmtpCloudEnvironment.USGovGCCHigh] = new Uri("https://graph.microsoft.us/"),
            [SmtpCloudEnvironment.USGovDoD] = new Uri("https://dod-graph.microsoft.us/"),
            [SmtpCloudEnvironment.China] = new Uri("https://microsoftgraph.chinacloudapi.cn/"),
        };

        private static readonly char[] s_newlines = { '\r', '\n' };

        private GraphSignIn(TokenCredential credential, string scope, string description, string recommendedAction, Uri? authorityHost)
        {
            Credential = credential;
            Scope = scope;
            Description = description;
            RecommendedAction = recommendedAction;
            AuthorityHost = authorityHost;
        }

        /// <summary>The Azure.Identity credential (one per command).</summary>
        internal TokenCredential Credential { get; }

        /// <summary>The scope asked for: the cloud's Graph resource + "/.default".</summary>
        public string Scope { get; }

        /// <summary>For the verbose stream: which identity, which authority (no secrets).</summary>
        public string Description { get; }

        /// <summary>What to check when the sign-in fails.</summary>
        public string RecommendedAction { get; }

        /// <summary>The Entra authority the credential signs in at; null for a managed identity (it asks its identity endpoint).</summary>
        public Uri? AuthorityHost { get; }

        /// <summary>The cloud's Entra authority host.</summary>
        public static Uri AuthorityHostFor(SmtpCloudEnvironment environment) => environment switch
        {
            SmtpCloudEnvironment.USGovGCCHigh => AzureAuthorityHosts.AzureGovernment,
            SmtpCloudEnvironment.USGovDoD => AzureAuthorityHosts.AzureGovernment,
            SmtpCloudEnvironment.China => AzureAuthorityHosts.AzureChina,
            _ => AzureAuthorityHosts.AzurePublicCloud,
        };

        /// <summary>The cloud's Graph endpoint (https://learn.microsoft.com/graph/deployments).</summary>
        public static Uri GraphEndpointFor(SmtpCloudEnvironment environment) => s_graph[environment];

        /// <summary>The app-only scope for the cloud's Graph.</summary>
        public static string ScopeFor(SmtpCloudEnvironment environment) => GraphEndpointFor(environment).AbsoluteUri + ".default";

        /// <summary>A managed identity: system-assigned, or user-assigned by client id.</summary>
        public static GraphSignIn ManagedIdentity(string? clientId, SmtpCloudEnvironment environment) => ManagedIdentity(clientId, environment, null);

        /// <summary>An app registration's certificate (app-only), at the cloud's authority.</summary>
        public static GraphSignIn Certificate(string tenantId, string clientId, X509Certificate2 certificate, SmtpCloudEnvironment environment) =>
            Certificate(tenantId, clientId, certificate, environment, null, null);

        /// <summary>A sign-in with any credential (tests).</summary>
        internal static GraphSignIn FromCredential(TokenCredential credential, SmtpCloudEnvironment environment, string description, string recommendedAction) =>
            new GraphSignIn(credential, ScopeFor(environment), description, recommendedAction, AuthorityHostFor(environment));

        internal static GraphSignIn ManagedIdentity(string? clientId, SmtpCloudEnvironment environment, HttpPipelineTransport? transport)
        {
            ManagedIdentityCredentialOptions options = ManagedIdentityOptions(clientId, environment, transport);
            string who = string.IsNullOrEmpty(clientId) ? "the system-assigned managed identity" : "the user-assigned managed identity " + clientId;
            return new GraphSignIn(
                new ManagedIdentityCredential(options),
                ScopeFor(environment),
                who + " (scope " + ScopeFor(environment) + ")",
                "Run where a managed identity is enabled (an Azure Automation account, a Function, a VM) and give it the Graph application permissions Policy.Read.All, User.Read.All, AuditLog.Read.All and Directory.Read.All; or use -GraphCertificate or -GraphAccessToken.",
                null);
        }

        internal static ManagedIdentityCredentialOptions ManagedIdentityOptions(string? clientId, SmtpCloudEnvironment environment, HttpPipelineTransport? transport)
        {
            var options = new ManagedIdentityCredentialOptions(string.IsNullOrEmpty(clientId) ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId!))
            {
                // Not used to reach the identity endpoint; set so every credential of the command names the same cloud.
                AuthorityHost = AuthorityHostFor(environment),
            };
            Limit(options, transport);
            return options;
        }

        internal static GraphSignIn Certificate(string tenantId, string clientId, X509Certificate2 certificate, SmtpCloudEnvironment environment, Uri? authorityHost, HttpPipelineTransport? transport)
        {
            ClientCertificateCredentialOptions options = CertificateOptions(environment, authorityHost, transport);
            return new GraphSignIn(
                new ClientCertificateCredential(tenantId, clientId, certificate, options),
                ScopeFor(environment),
                string.Format(CultureInfo.InvariantCulture, "the certificate {0} of app {1} in tenant {2}, signing in at {3} (scope {4})", certificate.Thumbprint, clientId, tenantId, options.AuthorityHost, ScopeFor(environment)),
                "Check -TenantId and -GraphClientId, that this certificate (with its private key) is uploaded to that app registration, that the app has the Graph application permissions Policy.Read.All, User.Read.All, AuditLog.Read.All and Directory.Read.All with admin consent, and that -Environment names the tenant's cloud.",
                options.AuthorityHost);
        }

        internal static ClientCertificateCredentialOptions CertificateOptions(SmtpCloudEnvironment environment, Uri? authorityHost, HttpPipelineTransport? transport)
        {
            var options = new ClientCertificateCredentialOptions
            {
                AuthorityHost = authorityHost ?? AuthorityHostFor(environment),
                // An authority other than the cloud's own (tests) is not in Entra's instance list.
                DisableInstanceDiscovery = authorityHost is not null,
            };
            Limit(options, transport);
            return options;
        }

        private static void Limit(TokenCredentialOptions options, HttpPipelineTransport? transport)
        {
            options.Retry.MaxRetries = 1;
            options.Retry.NetworkTimeout = TimeSpan.FromSeconds(20);
            if (transport is not null)
            {
                options.Transport = transport;
            }
        }

        internal async Task<string> GetTokenAsync(CancellationToken cancellationToken)
        {
            AccessToken token = await Credential.GetTokenAsync(new TokenRequestContext(new[] { Scope }), cancellationToken).ConfigureAwait(false);
            return token.Token;
        }

        internal static bool IsSignInFailure(Exception ex) => ex is AuthenticationFailedException || ex is CredentialUnavailableException || ex is Microsoft.Identity.Client.MsalException;

        internal static string FailureMessage(GraphSignIn? signIn, Exception ex)
        {
            string reason = ex.Message;
            int newline = reason.IndexOfAny(s_newlines);
            if (newline > 0)
            {
                reason = reason.Substring(0, newline);
            }

            reason = reason.Trim();
            reason = reason.Length > 400 ? reason.Substring(0, 400) + "..." : reason.TrimEnd('.');
            return "Microsoft Graph sign-in with " + (signIn?.Description ?? "the credential given") + " failed: " + reason;
        }
    }

    /// <summary>
    /// One Graph connection per command: the Microsoft Graph SDK's pipeline (GraphClientFactory's handlers) with
    /// Kiota's RetryHandler replaced by ours, over HTTP (a token, managed identity or certificate) or over the caller's
    /// Connect-MgGraph session (an <see cref="IGraphTransport"/> at the bottom of the pipeline). Both ways in share
    /// the same handlers, from the top:
    /// circuit (no-response failures only) → bearer token (HTTP way in) → retry (429/503/504, Retry-After) →
    /// per-attempt time-out → Kiota's redirect, user agent, telemetry and inspection handlers → HTTP or the session.
    /// Why our retry and not Kiota's: Kiota's RetryHandler caps every wait at 180 s (a longer Retry-After is cut short),
    /// reads an HTTP-date Retry-After by its seconds field only, throws "Too many retries performed" when it runs out,
    /// and cannot see the inner answers of a $batch, which need the same rules anyway; its wait also ran inside the
    /// request's time-out, so a long Retry-After counted as "no response". Ours runs once, above the per-attempt
    /// time-out, and serves outer and inner answers alike.
    /// </summary>
    public sealed class GraphConnection : IDisposable
    {
        /// <summary>The placeholder base of the session way in: URLs under it go to Invoke-MgGraphRequest as relative URLs.</summary>
        internal static readonly Uri SessionBase = new Uri("https://mggraph.session.invalid/");

        private readonly GraphAttemptTimeoutHandler _attempts;
        private string? _signInFailure;
        private Action<string, string?, string>? _signInFailed;

        private GraphConnection(Uri baseUri, string description, GraphConnectionOptions options, IDiagnosticSink sink, Func<CancellationToken, Task<string>>? token, GraphSignIn? signIn, HttpMessageHandler? bottom)
        {
            BaseUri = baseUri.AbsoluteUri.EndsWith("/", StringComparison.Ordinal) ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
            Description = description;
            SignIn = signIn;
            Retry = new GraphRetryPolicy(options, sink);
            _attempts = new GraphAttemptTimeoutHandler(options.RequestTimeout);
            var handlers = new List<DelegatingHandler> { new GraphCircuitBreaker(Math.Max(1, options.UnreachableAfter), sink) };
            if (token is not null)
            {
                handlers.Add(new GraphBearerTokenHandler(token, signIn, OnSignInFailed, options.ExpectedTenantId));
            }

            handlers.Add(new GraphRetryHandler(Retry));
            handlers.Add(_attempts);
            handlers.AddRange(Microsoft.Graph.GraphClientFactory.CreateDefaultHandlers(null)
                .Where(h => h is not Microsoft.Kiota.Http.HttpClientLibrary.Middleware.RetryHandler));
            Client = Microsoft.Graph.GraphClientFactory.Create(handlers, "v1.0", Microsoft.Graph.GraphClientFactory.Global_Cloud, null, bottom, true);
            // Time is limited per attempt (below the retries), never across a Retry-After wait.
            Client.Timeout = Timeout.InfiniteTimeSpan;
            Client.BaseAddress = new Uri(BaseUri, "v1.0/");
        }

        /// <summary>Graph's base URL (https://graph.microsoft.com/, a national cloud, a test server, or the session's placeholder).</summary>
        public Uri BaseUri { get; }

        /// <summary>Which way in, for the verbose stream (no secrets).</summary>
        public string Description { get; }

        /// <summary>The Azure.Identity sign-in, when this connection has one.</summary>
        public GraphSignIn? SignIn { get; }

        /// <summary>The SDK pipeline.</summary>
        internal HttpClient Client { get; }

        /// <summary>The retry policy, shared with the $batch reader for inner answers.</summary>
        internal GraphRetryPolicy Retry { get; }

        /// <summary>HTTP attempts sent (a $batch counts once; a retry counts again).</summary>
        public long Requests => _attempts.Attempts;

        /// <summary>One attempt's time limit (a streamed body is read within it too).</summary>
        public TimeSpan RequestTimeout => _attempts.Timeout;

        /// <summary>Why sign-in failed, once it has.</summary>
        public string? SignInFailure => Volatile.Read(ref _signInFailure);

        /// <summary>
        /// Calls <paramref name="callback"/> (message, recommended action) once, the first time sign-in fails; later reads
        /// fail at once with the same reason. (A callback of plain types, so that the cmdlets' handler names no engine type.)
        /// </summary>
        public void WhenSignInFails(Action<string, string?> callback) => _signInFailed = (message, action, _) => callback(message, action);

        /// <summary>
        /// As <see cref="WhenSignInFails(Action{string, string?})"/>, with the error id: GraphAuthenticationFailed, or
        /// GraphTenantMismatch when the token is for another tenant than <see cref="GraphConnectionOptions.ExpectedTenantId"/>.
        /// </summary>
        public void WhenSignInFails(Action<string, string?, string> callback) => _signInFailed = callback;

        /// <summary>A connection with a fixed access token (-GraphAccessToken).</summary>
        public static GraphConnection WithToken(Uri baseUri, SecureString token, GraphConnectionOptions options, IDiagnosticSink sink) =>
            new GraphConnection(baseUri, "the Graph access token given", options, sink, _ => Task.FromResult(TokenSources.Unprotect(token)), null, null);

        /// <summary>A connection that signs in with Azure.Identity (managed identity, certificate).</summary>
        public static GraphConnection WithSignIn(Uri baseUri, GraphSignIn signIn, GraphConnectionOptions options, IDiagnosticSink sink) =>
            new GraphConnection(baseUri, signIn.Description, options, sink, signIn.GetTokenAsync, signIn, null);

        /// <summary>A connection over a transport (the caller's Connect-MgGraph session): no token of ours, the session signs in.</summary>
        public static GraphConnection WithTransport(IGraphTransport transport, GraphConnectionOptions options, IDiagnosticSink sink) =>
            new GraphConnection(SessionBase, transport.Description, options, sink, null, null, new GraphTransportHandler(transport, SessionBase));

        /// <summary>A URL relative to Graph's base ("v1.0/users/x"), or an absolute one (a nextLink) as it is.</summary>
        internal Uri Resolve(string url) =>
            Uri.TryCreate(url, UriKind.Absolute, out Uri? absolute) && (absolute.Scheme == Uri.UriSchemeHttp || absolute.Scheme == Uri.UriSchemeHttps)
                ? absolute
                : new Uri(BaseUri, url.TrimStart('/'));

        private void OnSignInFailed(GraphAuthenticationException failure)
        {
            Volatile.Write(ref _signInFailure, failure.Message);
            _signInFailed?.Invoke(failure.Message, failure.RecommendedAction, failure.ErrorId);
        }

        /// <inheritdoc />
        public void Dispose() => Client.Dispose();
    }
}
