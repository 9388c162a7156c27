using System;
using System.Collections.Generic;
using System.Text;

namespace SmtpAuthTroubleshooter
{
    /// <summary>
    /// Text for the default table views (SmtpAuthTroubleshooter.Format.ps1xml): a long cell wrapped at spaces to the width its
    /// column has in a 120-column console, so that a word is never split by the table's own character wrap (issue 10).
    /// </summary>
    public static class ViewText
    {
        private static readonly char[] s_space = { ' ' };

        /// <summary>
        /// Wraps <paramref name="text"/> at spaces to <paramref name="width"/> characters. With <paramref name="command"/>,
        /// every line but the last ends in PowerShell's line continuation (" `"), so that the wrapped command still runs as one
        /// when copied from the table.
        /// </summary>
        public static string Wrap(string? text, int width, bool command)
        {
            if (string.IsNullOrEmpty(text) || width < 8)
            {
                return text ?? string.Empty;
            }

            var lines = new List<string>();
            var line = new StringBuilder();
            foreach (string word in text!.Split(s_space, StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.Length > 0 && line.Length + 1 + word.Length > width)
                {
                    lines.Add(line.ToString());
                    line.Clear();
                }

                if (line.Length > 0)
                {
                    line.Append(' ');
                }

                line.Append(word);
            }

            if (line.Length > 0)
            {
                lines.Add(line.ToString());
            }

            return string.Join(command ? " `\n" : "\n", lines);
        }
    }
}
