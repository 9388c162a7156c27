using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace SmtpAuthTroubleshooter.Engine.Diagnosis
{
    /// <summary>
    /// Turns a catalog fix command with placeholders (&lt;user&gt;, &lt;mailbox&gt;, &lt;from&gt;, &lt;appId&gt;, &lt;objectId&gt;,
    /// &lt;policy&gt;) into one PowerShell command that parses (issue 10): every known value becomes a single-quoted
    /// literal with its quote characters doubled ('o''brien@contoso.com', 'Block Basic Auth'); an unknown one stays as
    /// a quoted placeholder ('&lt;from&gt;'), which parses too, and is named so that the finding can say what to fill in.
    /// </summary>
    public static class FixCommand
    {
        private static readonly Regex s_placeholder = new Regex("<(?<name>[A-Za-z]+)>", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));

        /// <summary>Fills <paramref name="template"/>; <paramref name="unfilled"/> lists the placeholders left.</summary>
        public static string? Fill(string? template, IReadOnlyDictionary<string, string?> values, out IReadOnlyList<string> unfilled)
        {
            var missing = new List<string>();
            unfilled = missing;
            if (template is null)
            {
                return null;
            }

            string result = s_placeholder.Replace(template, m =>
            {
                string name = m.Groups["name"].Value;
                if (values.TryGetValue(name, out string? value) && !string.IsNullOrWhiteSpace(value))
                {
                    return Quote(value!.Trim());
                }

                if (!missing.Contains(m.Value))
                {
                    missing.Add(m.Value);
                }

                return Quote(m.Value);
            });
            return result;
        }

        /// <summary>
        /// A PowerShell single-quoted string literal. PowerShell treats the typographic single quotes (U+2018 to U+201B)
        /// as quote characters too, so each of them is doubled like the apostrophe.
        /// </summary>
        public static string Quote(string value)
        {
            var sb = new StringBuilder(value.Length + 2).Append('\'');
            foreach (char ch in value)
            {
                if (ch == '\'' || (ch >= '\u2018' && ch <= '\u201B'))
                {
                    sb.Append(ch);
                }

                sb.Append(ch);
            }

            return sb.Append('\'').ToString();
        }
    }
}
