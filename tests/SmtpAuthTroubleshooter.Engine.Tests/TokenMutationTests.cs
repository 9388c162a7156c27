using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;
using static SmtpAuthTroubleshooter.Engine.Tests.ProbeTestKit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): token claims and token sources where Stryker showed no test noticing a change:
    /// a claim given as a list, the certificate source's description, and a managed identity token fetched from the
    /// App Service identity endpoint (a loopback stand-in) for the cloud's SMTP resource.
    /// </summary>
    [Collection(nameof(ProcessEnvironment))]
    public class TokenMutationTests
    {
        [Fact]
        public void A_claim_given_as_a_list_is_read_as_its_values_joined_by_spaces()
        {
            string token = Jwt(new { aud = new[] { "https://outlook.office.com", "api://contoso-relay" }, scp = "SMTP.Send", exp = Now.AddHours(1).ToUnixTimeSeconds() });
            TokenFacts f = TokenInspector.Inspect(token, "app@contoso.com", CloudEndpoints.For(SmtpCloudEnvironment.Global).Audiences, Now);
            Assert.Equal("https://outlook.office.com api://contoso-relay", f.Audience);
        }

        [Fact]
        public void The_certificate_source_names_the_thumbprint_app_tenant_and_scope()
        {
            using RSA rsa = RSA.Create(2048);
            var request = new CertificateRequest("CN=SmtpAuthTroubleshooter token test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            ITokenSource source = TokenSources.Certificate("tenant-1", "client-1", certificate, SmtpCloudEnvironment.USGovDoD);
            Assert.True(source.IsAppOnly);
            Assert.Null(source.TimeoutOverride);
            Assert.Equal($"certificate {certificate.Thumbprint} for app client-1 in tenant tenant-1 (scope https://outlook-dod.office365.us/.default)", source.Description);
        }

        [Theory]
        [InlineData(null, SmtpCloudEnvironment.Global, "https://outlook.office365.com")]
        [InlineData("", SmtpCloudEnvironment.China, "https://partner.outlook.cn")]
        [InlineData("00000000-0000-4000-8000-0000000000e5", SmtpCloudEnvironment.USGovGCCHigh, "https://outlook.office365.us")]
        public async Task A_managed_identity_token_is_asked_for_the_clouds_SMTP_resource_and_the_chosen_identity(string? clientId, SmtpCloudEnvironment cloud, string resource)
        {
            string issued = "mi-token-" + Guid.NewGuid().ToString("N");
            await using var server = new GraphTestServer((r, n) => GraphTestAnswer.Json(
                "{\"access_token\":\"" + issued + "\",\"expires_on\":\"" + DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds() + "\",\"resource\":\"" + resource + "\",\"token_type\":\"Bearer\"}"));
            using var environment = new EnvironmentScope(new Dictionary<string, string?>
            {
                ["IDENTITY_ENDPOINT"] = new Uri(server.BaseUri, "msi/token").AbsoluteUri,
                ["IDENTITY_HEADER"] = "loopback-identity-header",
                ["MSI_ENDPOINT"] = null,
                ["MSI_SECRET"] = null,
                ["IMDS_ENDPOINT"] = null,
                ["IDENTITY_SERVER_THUMBPRINT"] = null,
            });

            ITokenSource source = TokenSources.ManagedIdentity(clientId, cloud);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string token = await source.GetTokenAsync(new KeepingSink(), timeout.Token);

            Assert.Equal(issued, token);
            GraphTestRequest asked = Assert.Single(server.Requests);
            Dictionary<string, string> query = asked.PathAndQuery.Split('?', 2)[1].Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
            Assert.Equal(resource, query["resource"]);
            Assert.Equal(string.IsNullOrEmpty(clientId) ? null : clientId, query.TryGetValue("client_id", out string? id) ? id : null);
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
