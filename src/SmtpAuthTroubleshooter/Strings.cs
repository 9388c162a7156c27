using System.Globalization;
using System.Resources;

namespace SmtpAuthTroubleshooter
{
    /// <summary>User-facing messages from Strings.resx (STYLE rule 26), formatted with the current culture.</summary>
    internal static class Strings
    {
        private static readonly ResourceManager s_resources = new ResourceManager("SmtpAuthTroubleshooter.Strings", typeof(Strings).Assembly);

        internal static string Get(string name) => s_resources.GetString(name, CultureInfo.CurrentUICulture) ?? name;

        internal static string Format(string name, params object?[] args) => string.Format(CultureInfo.CurrentCulture, Get(name), args);
    }
}
