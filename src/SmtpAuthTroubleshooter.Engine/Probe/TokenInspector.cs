using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace SmtpAuthTroubleshooter.Engine.Probe
{
    /// <summary>The claims of an access token that matter for SMTP (https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth). Never holds the token.</summary>
    public sealed class TokenFacts
    {
        /// <summary>aud.</summary>
        public string? Audience { get; internal set; }
        /// <summary>scp (delegated scopes), split.</summary>
        public IReadOnlyList<string> Scopes { get; internal set; } = Array.Empty<string>();
        /// <summary>roles (app roles), split.</summary>
        public IReadOnlyList<string> Roles { get; internal set; } = Array.Empty<string>();
        /// <summary>exp.</summary>
        public DateTime? ExpiresUtc { get; internal set; }
        /// <summary>tid.</summary>
        public string? TenantId { get; internal set; }
        /// <summary>upn, unique_name or preferred_username (delegated).</summary>
        public string? User { get; internal set; }
        /// <summary>appid or azp.</summary>
        public string? AppId { get; internal set; }
        /// <summary>True when the token has roles but no scp: a client-credential (app-only) token.</summary>
        public bool IsAppOnly => Roles.Count > 0 && Scopes.Count == 0;
        /// <summary>False when the text is not a readable JWT (an opaque token).</summary>
        public bool Readable { get; internal set; }
        /// <summary>Problems found, as CauseIds.</summary>
        public IReadOnlyList<string> Issues { get; internal set; } = Array.Empty<string>();
        /// <summary>The same, explained.</summary>
        public IReadOnlyList<string> IssueDetails { get; internal set; } = Array.Empty<string>();
    }

    /// <summary>
    /// Reads a JWT's payload without validating it (the server validates; we explain). The token itself is never
    /// copied into any result, message or log.
    /// </summary>
    public static class TokenInspector
    {
        /// <summary>Decodes the claims and checks them against what the SMTP service needs.</summary>
        public static TokenFacts Inspect(string token, string saslUser, IReadOnlyList<string> acceptedAudiences, DateTimeOffset now)
        {
            var facts = new TokenFacts();
            string[] parts = (token ?? string.Empty).Split('.');
            if (parts.Length < 2)
            {
                return facts;
            }

            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(Base64UrlDecode(parts[1]));
            }
            catch (Exception ex) when (ex is FormatException || ex is JsonException || ex is ArgumentException)
            {
                return facts;
            }

            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return facts;
                }

                JsonElement root = doc.RootElement;
                facts.Readable = true;
                facts.Audience = Claim(root, "aud");
                facts.Scopes = Split(Claim(root, "scp"));
                facts.Roles = Array(root, "roles");
                facts.TenantId = Claim(root, "tid");
                facts.User = Claim(root, "upn") ?? Claim(root, "unique_name") ?? Claim(root, "preferred_username");
                facts.AppId = Claim(root, "appid") ?? Claim(root, "azp");
                if (root.TryGetProperty("exp", out JsonElement exp) && exp.TryGetInt64(out long seconds))
                {
                    facts.ExpiresUtc = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
                }
            }

            var issues = new List<string>();
            var details = new List<string>();
            if (facts.Audience is null || !acceptedAudiences.Any(a => string.Equals(a.TrimEnd('/'), facts.Audience.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)))
            {
                issues.Add("TokenWrongAudience");
                details.Add(string.Format(CultureInfo.InvariantCulture, "the token's audience is '{0}', not Exchange Online ({1})", facts.Audience ?? "(none)", string.Join(", ", acceptedAudiences)));
            }

            bool delegated = facts.Scopes.Any(s => string.Equals(s, "SMTP.Send", StringComparison.OrdinalIgnoreCase));
            bool appOnly = facts.Roles.Any(r => string.Equals(r, "SMTP.SendAsApp", StringComparison.OrdinalIgnoreCase));
            if (!delegated && !appOnly)
            {
                issues.Add("TokenMissingPermission");
                details.Add(facts.Roles.Count > 0 || facts.Scopes.Count == 0
                    ? "the app-only token has no SMTP.SendAsApp role"
                    : "the delegated token has no SMTP.Send scope");
            }

            if (facts.ExpiresUtc is DateTime expires && expires <= now.UtcDateTime)
            {
                issues.Add("TokenExpired");
                details.Add(string.Format(CultureInfo.InvariantCulture, "the token expired at {0:u}", expires));
            }

            if (delegated && facts.User is not null && !string.IsNullOrEmpty(saslUser) && !string.Equals(facts.User, saslUser, StringComparison.OrdinalIgnoreCase))
            {
                issues.Add("TokenUserMismatch");
                details.Add(string.Format(CultureInfo.InvariantCulture, "the token is for '{0}' but AUTH names '{1}'", facts.User, saslUser));
            }

            facts.Issues = issues;
            facts.IssueDetails = details;
            return facts;
        }

        private static string? Claim(JsonElement root, string name) =>
            root.TryGetProperty(name, out JsonElement v) ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Array => string.Join(" ", v.EnumerateArray().Select(e => e.ToString())),
                JsonValueKind.Number => v.GetRawText(),
                _ => null,
            } : null;

        private static string[] Array(JsonElement root, string name)
        {
            if (!root.TryGetProperty(name, out JsonElement v))
            {
                return System.Array.Empty<string>();
            }

            return v.ValueKind == JsonValueKind.Array
                ? v.EnumerateArray().Select(e => e.GetString() ?? string.Empty).Where(s => s.Length > 0).ToArray()
                : Split(v.GetString());
        }

        private static readonly char[] s_space = { ' ' };

        private static string[] Split(string? value) =>
            string.IsNullOrWhiteSpace(value) ? System.Array.Empty<string>() : value!.Split(s_space, StringSplitOptions.RemoveEmptyEntries);

        private static byte[] Base64UrlDecode(string text)
        {
            string s = text.Replace('-', '+').Replace('_', '/');
            switch (s.Length % 4)
            {
                case 2: s += "=="; break;
                case 3: s += "="; break;
            }

            return Convert.FromBase64String(s);
        }
    }
}
