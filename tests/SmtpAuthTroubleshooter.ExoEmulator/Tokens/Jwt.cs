using System;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>Minimal compact-JWS handling for RS256: enough to mint and check test tokens.</summary>
internal static class Jwt
{
    public static string Base64Url(ReadOnlySpan<byte> data) =>
        Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[]? FromBase64Url(string text)
    {
        string s = text.Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static byte[] Sign(RSA key, string signingInput)
    {
        lock (key)
        {
            return key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
    }

    /// <summary>Splits and decodes a compact JWS. Returns null (and why) when it is not a JWT.</summary>
    public static ParsedJwt? Parse(string token, out string failure)
    {
        failure = string.Empty;
        string[] parts = token.Split('.');
        if (parts.Length != 3)
        {
            failure = $"the token has {parts.Length} dot-separated parts, not 3 (not a JWT)";
            return null;
        }

        byte[]? header = FromBase64Url(parts[0]);
        byte[]? payload = FromBase64Url(parts[1]);
        byte[]? signature = FromBase64Url(parts[2]);
        if (header is null || payload is null || signature is null)
        {
            failure = "a token part is not base64url";
            return null;
        }

        try
        {
            using var h = JsonDocument.Parse(header);
            using var p = JsonDocument.Parse(payload);
            if (h.RootElement.ValueKind != JsonValueKind.Object || p.RootElement.ValueKind != JsonValueKind.Object)
            {
                failure = "the token header or payload is not a JSON object";
                return null;
            }

            return new ParsedJwt(h.RootElement.Clone(), p.RootElement.Clone(), parts[0] + "." + parts[1], signature);
        }
        catch (JsonException)
        {
            failure = "the token header or payload is not JSON";
            return null;
        }
    }

    public static bool VerifyRs256(ParsedJwt jwt, RSA key)
    {
        if (jwt.GetHeader("alg") != "RS256" || jwt.Signature.Length == 0)
        {
            return false;
        }

        lock (key)
        {
            return key.VerifyData(Encoding.ASCII.GetBytes(jwt.SigningInput), jwt.Signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
    }
}

internal sealed record ParsedJwt(JsonElement Header, JsonElement Payload, string SigningInput, byte[] Signature)
{
    public string? GetHeader(string name) =>
        Header.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public string? GetString(string name) =>
        Payload.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>A claim that may be a string or an array of strings (aud, roles).</summary>
    public string[] GetStrings(string name)
    {
        if (!Payload.TryGetProperty(name, out var v))
        {
            return [];
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => [v.GetString()!],
            JsonValueKind.Array => v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToArray(),
            _ => [],
        };
    }

    public DateTimeOffset? GetTime(string name) =>
        Payload.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
}
