using System;
using System.Globalization;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// A date of one of the module's objects read back from text (Import-Csv of what Export-Csv wrote, a copy, a
    /// hashtable). Export-Csv writes a DateTime in the culture of the session that exports it: "02.12.2026 18:24:24"
    /// in de-DE, "2/12/2569 18:24:24" in th-TH (Buddhist calendar), "1405/9/11 18:24:24" in fa-IR (Persian calendar).
    /// The invariant culture reads the first as 12 February and the others in the wrong era, so it is not asked first:
    /// an ISO 8601 text (round-trip, sortable, universal) is read exactly; anything else in the culture of the session
    /// reading it, the one that usually wrote it; the invariant culture last ("12/2/2026 6:24:24 PM" of an en-US or
    /// invariant session). Without a zone a date is UTC (the *Utc properties). Only BCL types.
    /// </summary>
    internal static class ReadBackDate
    {
        private const DateTimeStyles Styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces;

        private static readonly string[] s_iso =
        {
            "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
            "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
            "yyyy-MM-dd'T'HH:mmK",
            "yyyy-MM-dd HH:mmK",
            "yyyy-MM-dd",
        };

        /// <summary>Reads <paramref name="text"/> as a UTC date; false when it is no date.</summary>
        internal static bool TryParseUtc(string? text, out DateTime utc)
        {
            utc = default;
            if (string.IsNullOrWhiteSpace(text))
            {
                return false;
            }

            string s = text!.Trim();
            if (DateTime.TryParseExact(s, s_iso, CultureInfo.InvariantCulture, Styles, out utc) ||
                DateTime.TryParse(s, CultureInfo.CurrentCulture, Styles, out utc) ||
                DateTime.TryParse(s, CultureInfo.InvariantCulture, Styles, out utc))
            {
                utc = DateTime.SpecifyKind(utc, DateTimeKind.Utc);
                return true;
            }

            return false;
        }
    }
}
