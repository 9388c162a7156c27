using System;
using System.Diagnostics;
using System.Linq;
using System.Security;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Probe;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the probe's edges. Token claims at their boundaries (a token expiring exactly now,
    /// audiences with a trailing slash, the user claim's fallbacks), the cloud table, the request's auth method, and the
    /// Exchange Online detection by name and by greeting.
    /// </summary>
    public class ProbeEdgeTests
    {
        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

        private static string Jwt(object claims)
        {
            static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            return B64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "." + B64(JsonSerializer.Serialize(claims)) + ".c2lnbmF0dXJl";
        }

        private static TokenFacts Inspect(object claims, string user = "app@contoso.com") =>
            TokenInspector.Inspect(Jwt(claims), user, CloudEndpoints.For(SmtpCloudEnvironment.Global).Audiences, Now);

        // --- Token claims ---

        [Fact]
        public void A_token_that_expires_exactly_now_is_expired_and_one_a_second_later_is_not()
        {
            TokenFacts now = Inspect(new { aud = "https://outlook.office365.com", roles = new[] { "SMTP.SendAsApp" }, exp = Now.ToUnixTimeSeconds() });
            Assert.Equal(new[] { "TokenExpired" }, now.Issues);
            Assert.Equal(new[] { "the token expired at 2026-11-26 12:00:00Z" }, now.IssueDetails);

            TokenFacts later = Inspect(new { aud = "https://outlook.office365.com", roles = new[] { "SMTP.SendAsApp" }, exp = Now.AddSeconds(1).ToUnixTimeSeconds() });
            Assert.Empty(later.Issues);
            Assert.Empty(later.IssueDetails);
        }

        [Fact]
        public void A_token_without_exp_is_not_called_expired()
        {
            TokenFacts f = Inspect(new { aud = "https://outlook.office365.com", roles = new[] { "SMTP.SendAsApp" } });
            Assert.Null(f.ExpiresUtc);
            Assert.Empty(f.Issues);
        }

        [Fact]
        public void Audiences_compare_without_the_trailing_slash_and_case()
        {
            Assert.Empty(Inspect(new { aud = "https://OUTLOOK.office.com/", scp = "SMTP.Send", upn = "app@contoso.com", exp = Now.AddHours(1).ToUnixTimeSeconds() }).Issues);
            Assert.Empty(TokenInspector.Inspect(
                Jwt(new { aud = "https://outlook.office.com", scp = "SMTP.Send", exp = Now.AddHours(1).ToUnixTimeSeconds() }),
                "app@contoso.com", new[] { "https://outlook.office.com/" }, Now).Issues);
        }

        [Fact]
        public void A_token_without_an_audience_is_the_wrong_audience_and_says_none()
        {
            TokenFacts f = Inspect(new { roles = new[] { "SMTP.SendAsApp" }, exp = Now.AddHours(1).ToUnixTimeSeconds() });
            Assert.Null(f.Audience);
            Assert.Equal(new[] { "TokenWrongAudience" }, f.Issues);
            string detail = Assert.Single(f.IssueDetails);
            Assert.Contains("'(none)'", detail, StringComparison.Ordinal);
            Assert.Contains("https://outlook.office.com, https://outlook.office365.com", detail, StringComparison.Ordinal);
        }

        [Fact]
        public void The_missing_permission_is_explained_for_the_kind_of_token()
        {
            TokenFacts delegated = Inspect(new { aud = "https://outlook.office.com", scp = "Mail.Read Mail.Send", exp = Now.AddHours(1).ToUnixTimeSeconds() });
            Assert.Equal(new[] { "TokenMissingPermission" }, delegated.Issues);
            Assert.Equal(new[] { "the delegated token has no SMTP.Send scope" }, delegated.IssueDetails);
            Assert.False(delegated.IsAppOnly);

            TokenFacts appOnly = Inspect(new { aud = "https://outlook.office.com", roles = new[] { "Mail.Send" }, exp = Now.AddHours(1).ToUnixTimeSeconds() });
            Assert.Equal(new[] { "the app-only token has no SMTP.SendAsApp role" }, appOnly.IssueDetails);
            Assert.True(appOnly.IsAppOnly);

            TokenFacts neither = Inspect(new { aud = "https://outlook.office.com", exp = Now.AddHours(1).ToUnixTimeSeconds() });
            Assert.Equal(new[] { "the app-only token has no SMTP.SendAsApp role" }, neither.IssueDetails);
            Assert.False(neither.IsAppOnly);
        }

        [Fact]
        public void Scopes_and_roles_are_matched_case_insensitively_and_a_token_with_both_is_not_app_only()
        {
            TokenFacts f = Inspect(new { aud = "https://outlook.office.com", scp = "smtp.send", roles = new[] { "smtp.sendasapp" }, upn = "APP@contoso.com", exp = Now.AddHours(1).ToUnixTimeSeconds() });
            Assert.Empty(f.Issues);
            Assert.False(f.IsAppOnly);
        }

        [Fact]
        public void Roles_given_as_one_string_are_split()
        {
            TokenFacts f = Inspect(new { aud = "https://outlook.office.com", roles = "Mail.Send SMTP.SendAsApp", exp = Now.AddHours(1).ToUnixTimeSeconds() });
            Assert.Equal(new[] { "Mail.Send", "SMTP.SendAsApp" }, f.Roles);
            Assert.Empty(f.Issues);
        }

        [Fact]
        public void The_user_claim_falls_back_from_upn_to_unique_name_to_preferred_username()
        {
            Assert.Equal("u@contoso.com", Inspect(new { upn = "u@contoso.com", unique_name = "n@contoso.com", preferred_username = "p@contoso.com" }).User);
            Assert.Equal("n@contoso.com", Inspect(new { unique_name = "n@contoso.com", preferred_username = "p@contoso.com" }).User);
            Assert.Equal("p@contoso.com", Inspect(new { preferred_username = "p@contoso.com" }).User);
            Assert.Null(Inspect(new { aud = "x" }).User);
            Assert.Equal("client", Inspect(new { appid = "client", azp = "other" }).AppId);
            Assert.Equal("other", Inspect(new { azp = "other" }).AppId);
            Assert.Equal("tenant", Inspect(new { tid = "tenant" }).TenantId);
        }

        [Fact]
        public void The_user_mismatch_is_named_with_both_names_and_not_without_a_SASL_user()
        {
            object claims = new { aud = "https://outlook.office.com", scp = "SMTP.Send", upn = "other@contoso.com", exp = Now.AddHours(1).ToUnixTimeSeconds() };
            TokenFacts f = Inspect(claims, "app@contoso.com");
            Assert.Equal(new[] { "TokenUserMismatch" }, f.Issues);
            Assert.Equal(new[] { "the token is for 'other@contoso.com' but AUTH names 'app@contoso.com'" }, f.IssueDetails);
            Assert.Empty(Inspect(claims, string.Empty).Issues);
            Assert.Empty(Inspect(claims, "OTHER@contoso.com").Issues);

            // No user claim: nothing to compare.
            Assert.Empty(Inspect(new { aud = "https://outlook.office.com", scp = "SMTP.Send", exp = Now.AddHours(1).ToUnixTimeSeconds() }, "app@contoso.com").Issues);
        }

        [Fact]
        public void Every_problem_of_one_token_is_listed_in_a_fixed_order()
        {
            TokenFacts f = Inspect(new { aud = "https://graph.microsoft.com", scp = "Mail.Read", upn = "other@contoso.com", exp = Now.AddDays(-1).ToUnixTimeSeconds() });
            Assert.Equal(new[] { "TokenWrongAudience", "TokenMissingPermission", "TokenExpired" }, f.Issues);
            Assert.Equal(3, f.IssueDetails.Count);
            Assert.True(f.Readable);
        }

        // --- Cloud table and request ---

        [Theory]
        [InlineData(SmtpCloudEnvironment.Global, "smtp.office365.com", "https://login.microsoftonline.com/", "https://outlook.office365.com/.default", "https://outlook.office.com/SMTP.Send")]
        [InlineData(SmtpCloudEnvironment.USGovGCCHigh, "smtp.office365.us", "https://login.microsoftonline.us/", "https://outlook.office365.us/.default", "https://outlook.office365.us/SMTP.Send")]
        [InlineData(SmtpCloudEnvironment.USGovDoD, "smtp.office365.us", "https://login.microsoftonline.us/", "https://outlook-dod.office365.us/.default", "https://outlook-dod.office365.us/SMTP.Send")]
        [InlineData(SmtpCloudEnvironment.China, "smtp.partner.outlook.cn", "https://login.chinacloudapi.cn/", "https://partner.outlook.cn/.default", "https://partner.outlook.cn/SMTP.Send")]
        public void Each_cloud_has_its_host_authority_and_scopes(SmtpCloudEnvironment cloud, string host, string authority, string appOnlyScope, string delegatedScope)
        {
            CloudEndpoints e = CloudEndpoints.For(cloud);
            Assert.Equal(host, e.SmtpHost);
            Assert.Equal(new Uri(authority), e.AuthorityHost);
            Assert.Equal(appOnlyScope, e.AppOnlyScope);
            Assert.Equal(delegatedScope, e.DelegatedScope);
            Assert.Contains("00000002-0000-0ff1-ce00-000000000000", e.Audiences);
            Assert.Contains(appOnlyScope.Substring(0, appOnlyScope.Length - "/.default".Length), e.Audiences);
        }

        [Fact]
        public void The_sovereign_audiences_are_their_own()
        {
            Assert.Equal(new[] { "https://outlook.office.com", "https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000" }, CloudEndpoints.For(SmtpCloudEnvironment.Global).Audiences);
            Assert.Equal(new[] { "https://outlook.office365.us", "00000002-0000-0ff1-ce00-000000000000" }, CloudEndpoints.For(SmtpCloudEnvironment.USGovGCCHigh).Audiences);
            Assert.Equal(new[] { "https://outlook-dod.office365.us", "https://outlook.office365.us", "00000002-0000-0ff1-ce00-000000000000" }, CloudEndpoints.For(SmtpCloudEnvironment.USGovDoD).Audiences);
            Assert.Equal(new[] { "https://partner.outlook.cn", "00000002-0000-0ff1-ce00-000000000000" }, CloudEndpoints.For(SmtpCloudEnvironment.China).Audiences);
        }

        [Fact]
        public void A_request_has_safe_defaults_and_names_its_auth_method()
        {
            var r = new ProbeRequest();
            Assert.Equal(587, r.Port);
            Assert.Equal(SmtpTlsMode.StartTls, r.TlsMode);
            Assert.Equal(TimeSpan.FromSeconds(30), r.Timeout);
            Assert.False(r.AllowUnencryptedAuthentication);
            Assert.False(r.SkipCertificateCheck);
            Assert.Equal(SmtpAuthMethod.Basic, r.AuthMethod);
            Assert.Equal(SmtpAuthMethod.Unknown, new ProbeRequest { Mechanism = SmtpAuthMechanism.None }.AuthMethod);
            Assert.Equal(SmtpAuthMethod.OAuth, new ProbeRequest { Mechanism = SmtpAuthMechanism.XOAuth2 }.AuthMethod);
            Assert.Equal(SmtpAuthMethod.Basic, new ProbeRequest { Mechanism = SmtpAuthMechanism.Login }.AuthMethod);
            Assert.Equal(SmtpAuthMethod.Basic, new ProbeRequest { Mechanism = SmtpAuthMechanism.Plain }.AuthMethod);
            using var token = new SecureString();
            Assert.Equal(SmtpAuthMethod.OAuth, new ProbeRequest { Mechanism = SmtpAuthMechanism.Login, TokenSource = TokenSources.FromSecureString(token) }.AuthMethod);
            Assert.Equal(SmtpAuthMethod.Unknown, new ProbeRequest { Mechanism = SmtpAuthMechanism.None, TokenSource = TokenSources.FromSecureString(token) }.AuthMethod);
        }

        [Fact]
        public async Task A_given_token_is_handed_back_as_given_and_described_without_the_secret()
        {
            using var secure = new SecureString();
            foreach (char c in "eyJ.secret.token")
            {
                secure.AppendChar(c);
            }

            ITokenSource source = TokenSources.FromSecureString(secure);
            Assert.Equal("eyJ.secret.token", await source.GetTokenAsync(new NullSink(), default));
            Assert.False(source.IsAppOnly);
            Assert.Null(source.TimeoutOverride);
            Assert.DoesNotContain("secret", source.Description, StringComparison.Ordinal);
        }

        [Fact]
        public void Acquired_token_sources_describe_themselves_with_their_scope()
        {
            using var secret = new SecureString();
            secret.AppendChar('s');
            ITokenSource client = TokenSources.ClientSecret("tenant-1", "client-1", secret, SmtpCloudEnvironment.USGovGCCHigh);
            Assert.True(client.IsAppOnly);
            Assert.Null(client.TimeoutOverride);
            Assert.Equal("client secret for app client-1 in tenant tenant-1 (scope https://outlook.office365.us/.default)", client.Description);

            ITokenSource system = TokenSources.ManagedIdentity(null, SmtpCloudEnvironment.Global);
            Assert.True(system.IsAppOnly);
            Assert.Equal("the system-assigned managed identity (scope https://outlook.office365.com/.default)", system.Description);
            Assert.Equal("the managed identity mi-1 (scope https://outlook.office365.com/.default)", TokenSources.ManagedIdentity("mi-1", SmtpCloudEnvironment.Global).Description);

            ITokenSource device = TokenSources.DeviceCode(null, "client-2", SmtpCloudEnvironment.China);
            Assert.False(device.IsAppOnly);
            Assert.Equal(TimeSpan.FromMinutes(15), device.TimeoutOverride);
            Assert.Equal("device code sign-in for app client-2 (scope https://partner.outlook.cn/SMTP.Send)", device.Description);
        }

        // --- Exchange Online detection ---

        private static TranscriptLogger Greeted(string banner)
        {
            var log = new TranscriptLogger(Stopwatch.StartNew());
            byte[] b = Encoding.ASCII.GetBytes(banner + "\r\n");
            log.LogServer(b, 0, b.Length);
            return log;
        }

        [Theory]
        [InlineData("smtp.office365.com")]
        [InlineData("SMTP.OFFICE365.COM.")]
        [InlineData("smtp-legacy.office365.com")]
        [InlineData("outlook.office365.com")]
        [InlineData("contoso-com.mail.protection.outlook.com")]
        [InlineData("smtp.office365.us")]
        [InlineData("smtp.partner.outlook.cn")]
        public void Exchange_Online_is_recognised_by_the_host_name_alone(string server)
        {
            Assert.True(SmtpProbe.IsExchangeOnline(server, new TranscriptLogger(Stopwatch.StartNew())));
        }

        [Theory]
        [InlineData("smtp.contoso.com", "220 mail.contoso.com ESMTP Postfix", false)]
        [InlineData("mail.contoso.com", "220 EXCH01.contoso.local Microsoft ESMTP MAIL Service ready at Mon, 30 Nov 2026 12:00:00 +0000", false)]
        [InlineData("mail.contoso.com", "220 BN1PR04CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready at Mon, 30 Nov 2026 12:00:00 +0000", true)]
        [InlineData("10.0.0.5", "220-BN1PR04CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready\r\n220 at your service", true)]
        [InlineData("mail.contoso.com", "220 BN1PR04CA0001.outlook.office365.com ESMTP ready", false)]
        [InlineData("smtp.office365.com.contoso.com", "220 mx.contoso.com ESMTP", false)]
        public void Behind_another_name_Exchange_Online_is_recognised_by_its_greeting(string server, string banner, bool expected)
        {
            Assert.Equal(expected, SmtpProbe.IsExchangeOnline(server, Greeted(banner)));
        }

        [Fact]
        public void A_Microsoft_greeting_that_is_not_a_220_is_not_taken_for_Exchange_Online()
        {
            Assert.False(SmtpProbe.IsExchangeOnline("mail.contoso.com", Greeted("421 BN1PR04CA0001.outlook.office365.com Microsoft ESMTP MAIL Service not available")));
        }

        private sealed class NullSink : IDiagnosticSink
        {
            public void Verbose(string message)
            {
            }

            public void Warning(string message)
            {
            }

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
}
