using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

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
        /// <summary>The tenant (tid claim) a JWT access token was issued for; null for a token that is not a readable JWT or has no GUID tid.</summary>
        public static Guid? TenantOf(string? token)
        {
            try
            {
                var jwt = new JsonWebToken(token ?? string.Empty);
                return Guid.TryParse(Claim(jwt, "tid"), out Guid tid) ? tid : null;
            }
            catch (Exception ex) when (ex is ArgumentException || ex is SecurityTokenException || ex is FormatException || ex is JsonException)
            {
                return null;
            }
        }

        /// <summary>Decodes the claims and checks them against what the SMTP service needs.</summary>
        public static TokenFacts Inspect(string token, string saslUser, IReadOnlyList<string> acceptedAudiences, DateTimeOffset now)
        {
            var facts = new TokenFacts();
            JsonWebToken jwt;
            try
            {
                // Microsoft.IdentityModel.JsonWebTokens reads the header and payload; nothing is validated here.
                jwt = new JsonWebToken(token ?? string.Empty);
            }
            catch (Exception ex) when (ex is ArgumentException || ex is SecurityTokenException || ex is FormatException || ex is JsonException)
            {
                return facts;
            }

            facts.Readable = true;
            facts.Audience = Claim(jwt, "aud");
            facts.Scopes = Split(Claim(jwt, "scp"));
            facts.Roles = Values(jwt, "roles");
            facts.TenantId = Claim(jwt, "tid");
            facts.User = Claim(jwt, "upn") ?? Claim(jwt, "unique_name") ?? Claim(jwt, "preferred_username");
            facts.AppId = Claim(jwt, "appid") ?? Claim(jwt, "azp");
            if (jwt.TryGetPayloadValue("exp", out long seconds))
            {
                facts.ExpiresUtc = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
            }

            var issues = new List<string>();
            var details = new List<string>();
            if (facts.Audience is null || !acceptedAudiences.Any(a => string.Equals(a.TrimEnd('/'), facts.Audience.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)))
            {
                issues.Add(CauseIds.TokenWrongAudience);
                details.Add(string.Format(CultureInfo.InvariantCulture, "the token's audience is '{0}', not Exchange Online ({1})", facts.Audience ?? "(none)", string.Join(", ", acceptedAudiences)));
            }

            bool delegated = facts.Scopes.Any(s => string.Equals(s, "SMTP.Send", StringComparison.OrdinalIgnoreCase));
            bool appOnly = facts.Roles.Any(r => string.Equals(r, "SMTP.SendAsApp", StringComparison.OrdinalIgnoreCase));
            if (!delegated && !appOnly)
            {
                issues.Add(CauseIds.TokenMissingPermission);
                details.Add(facts.Roles.Count > 0 || facts.Scopes.Count == 0
                    ? "the app-only token has no SMTP.SendAsApp role"
                    : "the delegated token has no SMTP.Send scope");
            }

            if (facts.ExpiresUtc is DateTime expires && expires <= now.UtcDateTime)
            {
                issues.Add(CauseIds.TokenExpired);
                details.Add(string.Format(CultureInfo.InvariantCulture, "the token expired at {0:u}", expires));
            }

            if (delegated && facts.User is not null && !string.IsNullOrEmpty(saslUser) && !string.Equals(facts.User, saslUser, StringComparison.OrdinalIgnoreCase))
            {
                issues.Add(CauseIds.TokenUserMismatch);
                // Not a fault by itself: Exchange Online takes a delegated token for a user with user= naming a shared mailbox
                // that user has FullAccess to (https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth,
                // "SASL XOAUTH2 authentication for shared mailboxes"). The claims cannot show that permission.
                details.Add(string.Format(CultureInfo.InvariantCulture, "the token is for '{0}' but AUTH names '{1}'", facts.User, saslUser));
            }

            facts.Issues = issues;
            facts.IssueDetails = details;
            return facts;
        }

        // A claim as text: a string as is, a list joined with spaces, a number as written.
        private static string? Claim(JsonWebToken jwt, string name)
        {
            string[] values = Values(jwt, name);
            return values.Length == 0 ? null : string.Join(" ", values);
        }

        // Every value of a claim (a JSON array becomes one claim per element), in order.
        private static string[] Values(JsonWebToken jwt, string name)
        {
            string[] values = jwt.Claims.Where(c => string.Equals(c.Type, name, StringComparison.Ordinal)).Select(c => c.Value).Where(v => !string.IsNullOrEmpty(v)).ToArray();
            return values.Length == 1 && name == "roles" ? Split(values[0]) : values;
        }

        private static readonly char[] s_space = { ' ' };

        private static string[] Split(string? value) =>
            string.IsNullOrWhiteSpace(value) ? System.Array.Empty<string>() : value!.Split(s_space, StringSplitOptions.RemoveEmptyEntries);
    }
}
