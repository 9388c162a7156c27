using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>Just enough RFC 5322 to find the From header's addresses.</summary>
internal static partial class MessageHeaders
{
    public static IReadOnlyList<string> FromAddresses(byte[] content)
    {
        string text = Encoding.UTF8.GetString(content);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        string headers = end < 0 ? text : text[..end];

        // Unfold (RFC 5322 2.2.3), then take the first From field.
        string unfolded = FoldPattern().Replace(headers, " ");
        string? from = unfolded.Split("\r\n").FirstOrDefault(l => l.StartsWith("From:", StringComparison.OrdinalIgnoreCase));
        if (from is null)
        {
            return [];
        }

        string value = from[5..];
        var bracketed = AngleAddressPattern().Matches(value).Select(m => m.Groups[1].Value.Trim()).ToList();
        if (bracketed.Count > 0)
        {
            return bracketed;
        }

        return CommentPattern().Replace(value, string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(a => a.Contains('@', StringComparison.Ordinal))
            .ToList();
    }

    [GeneratedRegex(@"\r\n[ \t]+")]
    private static partial Regex FoldPattern();

    [GeneratedRegex(@"<([^<>]+@[^<>]+)>")]
    private static partial Regex AngleAddressPattern();

    [GeneratedRegex(@"\([^()]*\)")]
    private static partial Regex CommentPattern();
}
