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
    /// reading it, the one that usually wrote it, unless the text shows it was not (no date separator of that culture,
    /// or the invariant AM/PM where the culture has its own); then the invariant culture ("12/2/2026 6:24:24 PM" of an
    /// en-US or invariant session, which de-DE would read as 12 February and th-TH as a year 1483). Without a zone a
    /// date is UTC (the *Utc properties). Only BCL types.
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
            bool local = WrittenIn(s, CultureInfo.CurrentCulture);
            if (DateTime.TryParseExact(s, s_iso, CultureInfo.InvariantCulture, Styles, out utc) ||
                (local && DateTime.TryParse(s, CultureInfo.CurrentCulture, Styles, out utc)) ||
                DateTime.TryParse(s, CultureInfo.InvariantCulture, Styles, out utc) ||
                (!local && DateTime.TryParse(s, CultureInfo.CurrentCulture, Styles, out utc)))
            {
                utc = DateTime.SpecifyKind(utc, DateTimeKind.Utc);
                return true;
            }

            return false;
        }

        // False when the text cannot be the culture's DateTime.ToString(): it lacks the culture's date separator, or it
        // has the invariant culture's AM or PM and the culture writes other designators.
        private static bool WrittenIn(string text, CultureInfo culture)
        {
            DateTimeFormatInfo format = culture.DateTimeFormat;
            DateTimeFormatInfo invariant = CultureInfo.InvariantCulture.DateTimeFormat;
            if (format.DateSeparator.Length > 0 && text.IndexOf(format.DateSeparator, StringComparison.Ordinal) < 0)
            {
                return false;
            }

            bool ownDesignators = !string.Equals(format.AMDesignator, invariant.AMDesignator, StringComparison.Ordinal) ||
                !string.Equals(format.PMDesignator, invariant.PMDesignator, StringComparison.Ordinal);
            bool invariantDesignator = text.IndexOf(invariant.AMDesignator, StringComparison.Ordinal) >= 0 ||
                text.IndexOf(invariant.PMDesignator, StringComparison.Ordinal) >= 0;
            return !(ownDesignators && invariantDesignator);
        }
    }
}
