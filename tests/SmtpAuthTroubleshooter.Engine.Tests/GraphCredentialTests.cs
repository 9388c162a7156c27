using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>Tests that change process-wide environment variables (the managed identity endpoint) run one at a time.</summary>
    [CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
    public sealed class ProcessEnvironment
    {
    }

    /// <summary>
    /// Issue 11: Graph credentials are built once, with the cloud's authority host; -UseManagedIdentity and
    /// -GraphCertificate are exercised against loopback endpoints; a failed sign-in leaves the Entra fields unknown with
    /// the reason and is reported once, never as a raw exception.
    /// </summary>
    [Collection(nameof(ProcessEnvironment))]
    public class GraphCredentialTests
    {
        private const string SecurityDefaults = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy";
        private const string Tenant = "00000000-0000-4000-8000-0000000000a1";
        private const string App = "00000000-0000-4000-8000-0000000000b2";

        public static TheoryData<SmtpCloudEnvironment, string, string> Clouds => new TheoryData<SmtpCloudEnvironment, string, string>
        {
            { SmtpCloudEnvironment.Global, "https://login.microsoftonline.com/", "https://graph.microsoft.com/.default" },
            { SmtpCloudEnvironment.USGovGCCHigh, "https://login.microsoftonline.us/", "https://graph.microsoft.us/.default" },
            { SmtpCloudEnvironment.USGovDoD, "https://login.microsoftonline.us/", "https://dod-graph.microsoft.us/.default" },
            { SmtpCloudEnvironment.China, "https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/.default" },
        };

        private static X509Certificate2 NewCertificate()
        {
            using RSA rsa = RSA.Create(2048);
            var request = new CertificateRequest("CN=SmtpAuthTroubleshooter test app", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using X509Certificate2 ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
        }

        private static GraphConnectionOptions Quick() => new GraphConnectionOptions { RequestTimeout = TimeSpan.FromSeconds(10) };

        [Theory]
        [MemberData(nameof(Clouds))]
        public void The_certificate_credential_is_built_with_the_clouds_authority_host(SmtpCloudEnvironment cloud, string authority, string scope)
        {
            ClientCertificateCredentialOptions options = GraphSignIn.CertificateOptions(cloud, null, null);
            Assert.Equal(new Uri(authority), options.AuthorityHost);
            Assert.False(options.DisableInstanceDiscovery);
            using X509Certificate2 certificate = NewCertificate();
            GraphSignIn signIn = GraphSignIn.Certificate(Tenant, App, certificate, cloud);
            Assert.Equal(new Uri(authority), signIn.AuthorityHost);
            Assert.Equal(scope, signIn.Scope);
            Assert.Contains("signing in at " + authority, signIn.Description, StringComparison.Ordinal);
        }

        [Fact]
        public void Gcc_High_and_DoD_sign_in_at_Azure_Government_China_at_Azure_China()
        {
            Assert.Equal(AzureAuthorityHosts.AzureGovernment, GraphSignIn.AuthorityHostFor(SmtpCloudEnvironment.USGovGCCHigh));
            Assert.Equal(AzureAuthorityHosts.AzureGovernment, GraphSignIn.AuthorityHostFor(SmtpCloudEnvironment.USGovDoD));
            Assert.Equal(AzureAuthorityHosts.AzureChina, GraphSignIn.AuthorityHostFor(SmtpCloudEnvironment.China));
            Assert.Equal(AzureAuthorityHosts.AzurePublicCloud, GraphSignIn.AuthorityHostFor(SmtpCloudEnvironment.Global));
            Assert.Equal(AzureAuthorityHosts.AzureGovernment, GraphSignIn.ManagedIdentityOptions(null, SmtpCloudEnvironment.USGovGCCHigh, null).AuthorityHost);
        }

        [Theory]
        [MemberData(nameof(Clouds))]
        public async Task The_certificate_token_request_goes_to_the_clouds_authority_and_the_token_to_Graph(SmtpCloudEnvironment cloud, string authority, string scope)
        {
            // Azure.Identity's own HTTP pipeline (which MSAL uses) ends in a recording handler: the token request is
            // seen where it goes, with no network. Graph itself is the loopback test server.
            var tokenRequests = new ConcurrentQueue<(Uri Uri, string Body)>();
            using var identity = new RecordingHandler(async request =>
            {
                string body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync().ConfigureAwait(false);
                tokenRequests.Enqueue((request.RequestUri!, body));
                return new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent("{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"cert-token-" + cloud + "\"}", Encoding.UTF8, "application/json"),
                };
            });
            using var transportClient = new HttpClient(identity);
            await using var graph = new GraphTestServer((r, n) => GraphTestAnswer.Json("{\"isEnabled\":true}"));
            using X509Certificate2 certificate = NewCertificate();
            GraphSignIn signIn = GraphSignIn.Certificate(Tenant, App, certificate, cloud, null, new HttpClientTransport(transportClient));
            var sink = new RecordingSink();
            using GraphConnection connection = GraphConnection.WithSignIn(graph.BaseUri, signIn, Quick(), sink);

            GraphResult result = await new GraphReader(connection, sink).GetAsync("v1.0/policies/identitySecurityDefaultsEnforcementPolicy", CancellationToken.None);

            Assert.True(result.Ok, result.ErrorMessage);
            // Every request Azure.Identity made (MSAL's instance discovery, the token request) went to the cloud's authority.
            Assert.All(tokenRequests, t => Assert.Equal(new Uri(authority).Host, t.Uri.Host));
            (Uri uri, string form) = Assert.Single(tokenRequests, t => t.Uri.AbsolutePath.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal));
            Assert.Equal("/" + Tenant + "/oauth2/v2.0/token", uri.AbsolutePath);
            Dictionary<string, string> fields = form.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1].Replace('+', ' ')));
            Assert.Equal(scope, fields["scope"]);
            Assert.Equal(App, fields["client_id"]);
            Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", fields["client_assertion_type"]);
            Assert.Equal("Bearer cert-token-" + cloud, Assert.Single(graph.Requests).Headers["Authorization"]);
            // The assertion is signed by this certificate (its thumbprint in the JWT header), and never shown.
            string header = Encoding.UTF8.GetString(Base64Url(fields["client_assertion"].Split('.')[0]));
            Assert.Contains("x5t", header, StringComparison.Ordinal);
            Assert.DoesNotContain(sink.VerboseMessages.Concat(sink.Warnings), m => m.Contains(fields["client_assertion"], StringComparison.Ordinal));
        }

        [Fact]
        public async Task The_certificate_sign_in_reaches_a_loopback_authority_over_tls()
        {
            // Azure.Identity refuses an http:// authority ("must be a TLS protected (https) endpoint"), so the loopback
            // authority speaks TLS with a self-signed certificate that only this credential's transport trusts.
            using X509Certificate2 tls = GraphTestServer.NewTlsCertificate();
            await using var authority = new GraphTestServer((r, n) => GraphTestAnswer.Json("{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"loopback-authority-token\"}"), tls);
            await using var graph = new GraphTestServer((r, n) => GraphTestAnswer.Json("{\"isEnabled\":false}"));
            using var trusting = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == tls.GetCertHashString() };
            using var transportClient = new HttpClient(trusting);
            using X509Certificate2 certificate = NewCertificate();
            GraphSignIn signIn = GraphSignIn.Certificate(Tenant, App, certificate, SmtpCloudEnvironment.USGovGCCHigh, authority.BaseUri, new HttpClientTransport(transportClient));
            var sink = new RecordingSink();
            using GraphConnection connection = GraphConnection.WithSignIn(graph.BaseUri, signIn, Quick(), sink);

            GraphResult result = await new GraphReader(connection, sink).GetAsync("v1.0/policies/identitySecurityDefaultsEnforcementPolicy", CancellationToken.None);

            Assert.True(result.Ok, result.ErrorMessage);
            GraphTestRequest token = Assert.Single(authority.Requests, r => r.Method == "POST");
            Assert.Equal("/" + Tenant + "/oauth2/v2.0/token", token.PathAndQuery);
            Assert.Contains("scope=https%3A%2F%2Fgraph.microsoft.us%2F.default", token.Body, StringComparison.Ordinal);
            Assert.Equal("Bearer loopback-authority-token", Assert.Single(graph.Requests).Headers["Authorization"]);
        }

        [Theory]
        [InlineData(SmtpCloudEnvironment.Global, null, "https://graph.microsoft.com")]
        [InlineData(SmtpCloudEnvironment.USGovGCCHigh, null, "https://graph.microsoft.us")]
        [InlineData(SmtpCloudEnvironment.China, "00000000-0000-4000-8000-0000000000c3", "https://microsoftgraph.chinacloudapi.cn")]
        public async Task The_managed_identity_token_comes_from_the_identity_endpoint_of_the_environment_for_the_clouds_Graph(SmtpCloudEnvironment cloud, string? clientId, string resource)
        {
            // App Service / Azure Automation protocol: IDENTITY_ENDPOINT + IDENTITY_HEADER. The loopback server is both
            // the identity endpoint and Graph.
            string issued = "mi-token-" + Guid.NewGuid().ToString("N");
            await using var server = new GraphTestServer((r, n) => r.PathAndQuery.StartsWith("/msi/token", StringComparison.Ordinal)
                ? GraphTestAnswer.Json("{\"access_token\":\"" + issued + "\",\"expires_on\":\"" + DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds() + "\",\"resource\":\"" + resource + "\",\"token_type\":\"Bearer\"}")
                : GraphTestAnswer.Json("{\"isEnabled\":true}"));
            using var environment = new EnvironmentScope(new Dictionary<string, string?>
            {
                ["IDENTITY_ENDPOINT"] = new Uri(server.BaseUri, "msi/token").AbsoluteUri,
                ["IDENTITY_HEADER"] = "loopback-identity-header",
                ["MSI_ENDPOINT"] = null,
                ["MSI_SECRET"] = null,
                ["IMDS_ENDPOINT"] = null,
                ["IDENTITY_SERVER_THUMBPRINT"] = null,
            });
            var sink = new RecordingSink();
            using GraphConnection connection = GraphConnection.WithSignIn(server.BaseUri, GraphSignIn.ManagedIdentity(clientId, cloud), Quick(), sink);

            GraphResult result = await new GraphReader(connection, sink).GetAsync("v1.0/policies/identitySecurityDefaultsEnforcementPolicy", CancellationToken.None);

            Assert.True(result.Ok, result.ErrorMessage);
            GraphTestRequest token = Assert.Single(server.Requests, r => r.PathAndQuery.StartsWith("/msi/token", StringComparison.Ordinal));
            Dictionary<string, string> query = token.PathAndQuery.Split('?', 2)[1].Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
            Assert.Equal(resource, query["resource"]);
            Assert.Equal("loopback-identity-header", token.Headers["X-IDENTITY-HEADER"]);
            if (clientId is not null)
            {
                Assert.Equal(clientId, query["client_id"]);
            }

            Assert.Equal("Bearer " + issued, Assert.Single(server.Requests, r => r.PathAndQuery.StartsWith(SecurityDefaults, StringComparison.Ordinal)).Headers["Authorization"]);
            Assert.DoesNotContain(sink.VerboseMessages.Concat(sink.Warnings), m => m.Contains(issued, StringComparison.Ordinal) || m.Contains("loopback-identity-header", StringComparison.Ordinal));
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task A_failed_sign_in_leaves_the_Entra_fields_unknown_with_the_reason_and_is_reported_once(bool unavailable)
        {
            await using var graph = new GraphTestServer((r, n) => GraphTestAnswer.Json("{\"isEnabled\":true}"));
            const string Why = "ClientCertificateCredential authentication failed: AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.";
            var credential = new FailingCredential(unavailable ? new CredentialUnavailableException(Why) : new AuthenticationFailedException(Why));
            GraphSignIn signIn = GraphSignIn.FromCredential(credential, SmtpCloudEnvironment.USGovGCCHigh, "the certificate ABC of app X", "Upload the certificate.");
            var sink = new RecordingSink();
            using GraphConnection connection = GraphConnection.WithSignIn(graph.BaseUri, signIn, Quick(), sink);
            var reported = new List<(string Message, string? Action)>();
            connection.WhenSignInFails((m, a) => reported.Add((m, a)));
            var reader = new GraphPolicyReader(new GraphReader(connection, sink), new GraphReadOptions(), sink);
            var tenant = new TenantPolicyData();
            var first = new List<MailboxPolicyData> { new MailboxPolicyData { UserPrincipalName = "a@contoso.com", ExternalDirectoryObjectId = "11111111-1111-1111-1111-111111111111" } };
            var second = new List<MailboxPolicyData> { new MailboxPolicyData { UserPrincipalName = "b@contoso.com", ExternalDirectoryObjectId = "22222222-2222-2222-2222-222222222222" } };

            await reader.ReadTenantAsync(tenant, CancellationToken.None);
            await reader.ReadUsersAsync(tenant, first, CancellationToken.None);
            await reader.ReadUsersAsync(tenant, second, CancellationToken.None);

            Assert.Null(tenant.SecurityDefaultsEnabled);
            Assert.Null(tenant.ConditionalAccessPolicies);
            Assert.Contains(tenant.UnknownReasons, r => r.StartsWith("Security defaults: Microsoft Graph sign-in with the certificate ABC of app X failed: ClientCertificateCredential authentication failed: AADSTS700027", StringComparison.Ordinal));
            Assert.All(first.Concat(second), m =>
            {
                Assert.Null(m.AccountEnabled);
                Assert.Null(m.PerUserMfaState);
                Assert.Contains(m.UnknownReasons, r => r.Contains("sign-in with the certificate ABC of app X failed", StringComparison.Ordinal));
            });
            (string message, string? action) = Assert.Single(reported);
            Assert.Contains("AADSTS700027", message, StringComparison.Ordinal);
            Assert.Equal("Upload the certificate.", action);
            Assert.Equal(1, credential.Calls);                       // not once per read or per mailbox
            Assert.Empty(graph.Requests);                             // nothing went to Graph without a token
            Assert.Equal(connection.SignInFailure, message);
        }

        [Theory]
        [InlineData("0c0a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", true)]   // the Exchange session's tenant: read
        [InlineData("5e5e0000-1111-4222-8333-444455556666", false)]  // another tenant (a certificate signed in at another -TenantId): not read
        public async Task A_token_of_another_tenant_than_the_Exchange_sessions_is_not_used_and_is_reported_once(string tid, bool sameTenant)
        {
            // An MSP's loop over tenants: the sign-in of one tenant must not read Graph for another tenant's answer.
            await using var graph = new GraphTestServer((r, n) => GraphTestAnswer.Json("{\"isEnabled\":true}"));
            string jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0." + Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"aud\":\"https://graph.microsoft.com\",\"tid\":\"" + tid + "\"}")).TrimEnd('=').Replace('+', '-').Replace('/', '_') + ".";
            GraphSignIn signIn = GraphSignIn.FromCredential(new FixedCredential(jwt), SmtpCloudEnvironment.Global, "the certificate ABC of app X", "Upload the certificate.");
            var sink = new RecordingSink();
            GraphConnectionOptions options = Quick();
            options.ExpectedTenantId = Guid.Parse("0c0a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b");
            using GraphConnection connection = GraphConnection.WithSignIn(graph.BaseUri, signIn, options, sink);
            var reported = new List<(string Message, string? Action, string ErrorId)>();
            connection.WhenSignInFails((m, a, id) => reported.Add((m, a, id)));
            var reader = new GraphReader(connection, sink);

            GraphResult first = await reader.GetAsync("v1.0/policies/identitySecurityDefaultsEnforcementPolicy", CancellationToken.None);
            GraphResult second = await reader.GetAsync("v1.0/policies/identitySecurityDefaultsEnforcementPolicy", CancellationToken.None);

            if (sameTenant)
            {
                Assert.True(first.Ok, first.ErrorMessage);
                Assert.Empty(reported);
                Assert.Equal(2, graph.Requests.Count);
                return;
            }

            Assert.False(first.Ok);
            Assert.False(second.Ok);
            Assert.Contains("is for tenant " + tid + ", but the Exchange Online session is for tenant 0c0a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", first.ErrorMessage, StringComparison.Ordinal);
            (string message, string? action, string errorId) = Assert.Single(reported);  // once, not once per read
            Assert.Equal("GraphTenantMismatch", errorId);
            Assert.Contains("the certificate ABC of app X", message, StringComparison.Ordinal);
            Assert.Contains("0c0a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", action, StringComparison.Ordinal);
            Assert.Empty(graph.Requests);                             // nothing was read from the other tenant
            Assert.DoesNotContain(sink.VerboseMessages.Concat(sink.Warnings).Append(message), m => m.Contains(jwt, StringComparison.Ordinal));
        }

        [Fact]
        public async Task A_managed_identity_the_endpoint_refuses_is_a_sign_in_failure_not_an_exception()
        {
            // App Service's answer for a user-assigned identity that is not assigned to the resource.
            await using var server = new GraphTestServer((r, n) => r.PathAndQuery.StartsWith("/msi/token", StringComparison.Ordinal)
                ? new GraphTestAnswer(400, "{\"statusCode\":400,\"message\":\"Unable to load the proper Managed Identity.\"}")
                : GraphTestAnswer.Json("{\"isEnabled\":true}"));
            using var environment = new EnvironmentScope(new Dictionary<string, string?>
            {
                ["IDENTITY_ENDPOINT"] = new Uri(server.BaseUri, "msi/token").AbsoluteUri,
                ["IDENTITY_HEADER"] = "loopback-identity-header",
                ["MSI_ENDPOINT"] = null,
                ["MSI_SECRET"] = null,
                ["IMDS_ENDPOINT"] = null,
                ["IDENTITY_SERVER_THUMBPRINT"] = null,
            });
            var sink = new RecordingSink();
            using GraphConnection connection = GraphConnection.WithSignIn(server.BaseUri, GraphSignIn.ManagedIdentity("00000000-0000-4000-8000-0000000000d4", SmtpCloudEnvironment.Global), Quick(), sink);
            int reported = 0;
            connection.WhenSignInFails((m, a) => Interlocked.Increment(ref reported));
            var tenant = new TenantPolicyData();

            await new GraphPolicyReader(new GraphReader(connection, sink), new GraphReadOptions(), sink).ReadTenantAsync(tenant, CancellationToken.None);

            Assert.Equal(1, reported);
            Assert.Null(tenant.SecurityDefaultsEnabled);
            Assert.Equal(2, tenant.UnknownReasons.Count);
            Assert.All(tenant.UnknownReasons, r => Assert.Contains("Microsoft Graph sign-in with the user-assigned managed identity 00000000-0000-4000-8000-0000000000d4", r, StringComparison.Ordinal));
            Assert.Single(server.Requests);                           // the identity endpoint once; Graph never
        }

        private static byte[] Base64Url(string text)
        {
            string s = text.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
        }

        private sealed class RecordingHandler : HttpMessageHandler
        {
            private readonly Func<HttpRequestMessage, Task<HttpResponseMessage>> _answer;

            public RecordingHandler(Func<HttpRequestMessage, Task<HttpResponseMessage>> answer) => _answer = answer;

            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => _answer(request);
        }

        private sealed class FixedCredential : TokenCredential
        {
            private readonly string _token;

            public FixedCredential(string token) => _token = token;

            public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
                new AccessToken(_token, DateTimeOffset.UtcNow.AddHours(1));

            public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
                ValueTask.FromResult(GetToken(requestContext, cancellationToken));
        }

        private sealed class FailingCredential : TokenCredential
        {
            private readonly Exception _failure;
            private int _calls;

            public FailingCredential(Exception failure) => _failure = failure;

            public int Calls => Volatile.Read(ref _calls);

            public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref _calls);
                throw _failure;
            }

            public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref _calls);
                return ValueTask.FromException<AccessToken>(_failure);
            }
        }

        /// <summary>Sets environment variables for one test and puts the old values back.</summary>
        private sealed class EnvironmentScope : IDisposable
        {
            private readonly Dictionary<string, string?> _saved = new Dictionary<string, string?>();

            public EnvironmentScope(Dictionary<string, string?> values)
            {
                foreach (KeyValuePair<string, string?> v in values)
                {
                    _saved[v.Key] = Environment.GetEnvironmentVariable(v.Key);
                    Environment.SetEnvironmentVariable(v.Key, v.Value);
                }
            }

            public void Dispose()
            {
                foreach (KeyValuePair<string, string?> v in _saved)
                {
                    Environment.SetEnvironmentVariable(v.Key, v.Value);
                }
            }
        }
    }
}
