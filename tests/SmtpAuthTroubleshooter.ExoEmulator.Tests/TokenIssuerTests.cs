using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

public sealed class TokenIssuerTests
{
    [Fact]
    public void App_only_tokens_look_like_entra_client_credential_tokens()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var issuer = new TestTokenIssuer(SigningKeys.SharedDefault, clock);

        string token = issuer.IssueAppOnly(Harness.Demo, Harness.MailerApp, TimeSpan.FromMinutes(30));

        var (header, payload) = Decode(token);
        Assert.Equal(("JWT", "RS256", "exo-emulator"), (header.GetProperty("typ").GetString(), header.GetProperty("alg").GetString(), header.GetProperty("kid").GetString()));
        Assert.Equal("https://outlook.office365.com", payload.GetProperty("aud").GetString());
        Assert.Equal(Harness.Demo.Tenant.TenantId, payload.GetProperty("tid").GetString());
        Assert.Equal($"https://sts.windows.net/{Harness.Demo.Tenant.TenantId}/", payload.GetProperty("iss").GetString());
        Assert.Equal(Harness.MailerApp, payload.GetProperty("appid").GetString());
        Assert.Equal("c1000000-0000-4000-8000-000000000001", payload.GetProperty("oid").GetString());
        Assert.Equal("SMTP.SendAsApp", payload.GetProperty("roles")[0].GetString());
        Assert.Equal("app", payload.GetProperty("idtyp").GetString());
        Assert.False(payload.TryGetProperty("scp", out _));
        Assert.Equal(clock.GetUtcNow().AddMinutes(30).ToUnixTimeSeconds(), payload.GetProperty("exp").GetInt64());
    }

    [Fact]
    public void Delegated_tokens_carry_scp_and_the_user()
    {
        string token = new TestTokenIssuer(SigningKeys.SharedDefault).IssueDelegated(Harness.Demo, "healthy.basic@contoso.com", Harness.DesktopClientApp);

        var (_, payload) = Decode(token);
        Assert.Equal("https://outlook.office.com", payload.GetProperty("aud").GetString());
        Assert.Equal("SMTP.Send", payload.GetProperty("scp").GetString());
        Assert.Equal("healthy.basic@contoso.com", payload.GetProperty("upn").GetString());
        Assert.Equal("a0000000-0000-4000-8000-000000000001", payload.GetProperty("oid").GetString());
        Assert.False(payload.TryGetProperty("roles", out _));
    }

    [Fact]
    public void Additional_claims_add_and_remove()
    {
        var request = TestTokenIssuer.AppOnlyRequest(Harness.Demo, Harness.MailerApp) with
        {
            Audience = null,
            AdditionalClaims = new System.Collections.Generic.Dictionary<string, object?> { ["aud"] = new[] { "https://graph.microsoft.com", "https://outlook.office365.com" }, ["tid"] = null, ["custom"] = 7 },
        };

        var (_, payload) = Decode(new TestTokenIssuer(SigningKeys.SharedDefault).Issue(request));

        Assert.Equal(JsonValueKind.Array, payload.GetProperty("aud").ValueKind);
        Assert.False(payload.TryGetProperty("tid", out _));
        Assert.Equal(7, payload.GetProperty("custom").GetInt32());
    }

    [Fact]
    public void Xoauth2_initial_response_has_the_documented_shape()
    {
        string sasl = TestTokenIssuer.FormatXOAuth2("a@contoso.com", "T0K");

        Assert.Equal("user=a@contoso.com\u0001auth=Bearer T0K\u0001\u0001", Encoding.UTF8.GetString(Convert.FromBase64String(sasl)));
        Assert.True(OAuthEvaluator.TryParseXOAuth2(Convert.FromBase64String(sasl), out string user, out string token));
        Assert.Equal(("a@contoso.com", "T0K"), (user, token));
    }

    [Fact]
    public void Signing_key_file_is_created_once_then_reused_and_owner_only()
    {
        string path = ExternalProcess.TempFile("key.pem");
        try
        {
            using var first = SigningKeys.LoadOrCreate(path);
            using var second = SigningKeys.LoadOrCreate(path);

            Assert.Equal(first.ExportSubjectPublicKeyInfo(), second.ExportSubjectPublicKeyInfo());
            Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(path), StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            string token = new TestTokenIssuer(first).IssueAppOnly(Harness.Demo, Harness.MailerApp);
            Assert.True(OAuthEvaluator.Evaluate(Harness.Demo, "notifications@contoso.com", token, second, DateTimeOffset.UtcNow).Succeeded);
            Assert.Equal(AuthOutcome.TokenSignatureInvalid, OAuthEvaluator.Evaluate(Harness.Demo, "notifications@contoso.com", token, SigningKeys.SharedDefault, DateTimeOffset.UtcNow).Outcome);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static (JsonElement Header, JsonElement Payload) Decode(string token)
    {
        string[] parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        return (Json(parts[0]), Json(parts[1]));

        static JsonElement Json(string part)
        {
            string b64 = part.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
            using var doc = JsonDocument.Parse(Convert.FromBase64String(b64));
            return doc.RootElement.Clone();
        }
    }
}
