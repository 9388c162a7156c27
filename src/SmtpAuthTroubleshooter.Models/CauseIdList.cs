using System;
using System.Collections.Generic;
using System.Linq;

namespace SmtpAuthTroubleshooter
{
    /// <summary>
    /// CauseIds as a typed list inside the module, and as one "; "-joined string at the output edge (a scalar, so that
    /// Export-Csv stays flat). The string is only a view of the list; a string set by hand (a state built in a test, or
    /// read back from a file) is parsed into the list once.
    /// </summary>
    internal static class CauseIdList
    {
        private static readonly string[] s_separators = { ";" };

        public static IReadOnlyList<string> Parse(string? text) =>
            string.IsNullOrWhiteSpace(text)
                ? Array.Empty<string>()
                : text!.Split(s_separators, StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()).Where(s => s.Length > 0).ToArray();

        public static string? Format(IReadOnlyList<string> ids) => ids.Count == 0 ? null : string.Join("; ", ids);
    }
}
