using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace SmtpAuthTroubleshooter.Engine.Reports
{
    /// <summary>What the readiness report is rendered with besides the senders.</summary>
    public sealed class ReadinessReportOptions
    {
        /// <summary>The page's title and first heading.</summary>
        public string Title { get; set; } = ReadinessReport.DefaultTitle;

        /// <summary>The report's date: it decides the headline's tense (before or after the default-off) and is shown in the footer.</summary>
        public DateTime ReportDate { get; set; } = DateTime.UtcNow;

        /// <summary>What made the report (module name and version), shown in the footer; optional.</summary>
        public string? Generator { get; set; }
    }

    /// <summary>Basic SMTP AUTH sign-ins on one UTC day, summed over the senders.</summary>
    public readonly struct DailySignIns
    {
        /// <summary>Creates a day's total.</summary>
        public DailySignIns(DateTime day, long count)
        {
            Day = day;
            Count = count;
        }

        /// <summary>The UTC day.</summary>
        public DateTime Day { get; }

        /// <summary>Sign-ins on that day.</summary>
        public long Count { get; }
    }

    /// <summary>
    /// Renders the SMTP AUTH retirement readiness report: one self-contained HTML5 page (inline CSS and SVG, no script,
    /// no external resource, no web font) from <see cref="SmtpAuthClient"/> objects. Pure: no I/O, no clock (the date
    /// comes from the options), so it is unit-tested as a string. Every value from the input is untrusted text and is
    /// HTML-escaped; only the known properties of <see cref="SmtpAuthClient"/> are rendered.
    /// </summary>
    public static class ReadinessReport
    {
        /// <summary>The default title.</summary>
        public const string DefaultTitle = "SMTP AUTH basic authentication readiness";

        /// <summary>Microsoft's page for the timeline (Exchange Team blog, January 2026), cited in the footer.</summary>
        public const string TimelineUri = "https://techcommunity.microsoft.com/blog/exchange/updated-exchange-online-smtp-auth-basic-authentication-deprecation-timeline/4489835";

        /// <summary>From this date on the headline speaks in the past tense: the default-off at the end of December 2026 has happened.</summary>
        public static readonly DateTime DefaultOffDate = new DateTime(2026, 12, 31);

        private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

        private static readonly char[] PairSeparator = { ';' };

        private static readonly SmtpAuthImpact[] ImpactOrder =
        {
            SmtpAuthImpact.Breaks, SmtpAuthImpact.AlreadyFailing, SmtpAuthImpact.Unknown, SmtpAuthImpact.Unaffected,
        };

        private static readonly SmtpAuthMigrationPath[] PathOrder =
        {
            SmtpAuthMigrationPath.OAuth, SmtpAuthMigrationPath.HighVolumeEmail, SmtpAuthMigrationPath.ConnectorRelay,
            SmtpAuthMigrationPath.DirectSend, SmtpAuthMigrationPath.GraphSendMail, SmtpAuthMigrationPath.AzureCommunicationServices,
            SmtpAuthMigrationPath.DisableSmtpAuth, SmtpAuthMigrationPath.Review, SmtpAuthMigrationPath.None,
        };

        /// <summary>True when <paramref name="reportDate"/> is on or after the default-off (31 December 2026).</summary>
        public static bool IsAfterDefaultOff(DateTime reportDate) => reportDate.Date >= DefaultOffDate;

        /// <summary>
        /// The senders as a report dated on or after the default-off sees them. StillOn: a basic sign-in succeeded on or
        /// after 31 December 2026, so basic auth was turned back on or the change has not reached the tenant: they have not
        /// stopped. Stopped: the last success is before the date and the sign-ins fail since, after the date
        /// (TurnedToFailure). NotSeenSince: Breaks, with no sign-in after the date in the data (collected before it, or
        /// the sender went quiet): whether they stopped is not known.
        /// </summary>
        public static (int StillOn, int Stopped, int NotSeenSince) AfterDefaultOff(IEnumerable<SmtpAuthClient> senders)
        {
            if (senders is null)
            {
                throw new ArgumentNullException(nameof(senders));
            }

            int stillOn = 0, stopped = 0, notSeen = 0;
            foreach (SmtpAuthClient c in senders.Where(c => c is not null))
            {
                if (c.LastSuccessUtc is DateTime success && success.Date >= DefaultOffDate)
                {
                    stillOn++;
                }
                else if (c.TurnedToFailure == true && c.LastSuccessUtc is DateTime before && before.Date < DefaultOffDate && c.LastSeenUtc is DateTime seen && seen.Date >= DefaultOffDate)
                {
                    stopped++;
                }
                else if (c.ImpactAtDefaultOff == SmtpAuthImpact.Breaks)
                {
                    notSeen++;
                }
            }

            return (stillOn, stopped, notSeen);
        }

        /// <summary>
        /// The headline, worded by the report's date. Before the default-off: how many senders stop working at it (Breaks).
        /// On or after it: what the data shows (<see cref="AfterDefaultOff"/>): senders whose basic sign-ins still succeed
        /// first, then senders that stopped, then senders not seen since; a sender is called stopped only when its data
        /// shows it.
        /// </summary>
        public static string Headline(IEnumerable<SmtpAuthClient> senders, DateTime reportDate)
        {
            if (senders is null)
            {
                throw new ArgumentNullException(nameof(senders));
            }

            List<SmtpAuthClient> list = senders.Where(c => c is not null).ToList();
            if (list.Count == 0)
            {
                return "No SMTP AUTH senders in this report";
            }

            if (!IsAfterDefaultOff(reportDate))
            {
                int breaking = list.Count(c => c.ImpactAtDefaultOff == SmtpAuthImpact.Breaks);
                return Who(breaking) + (breaking == 1 || breaking == 0 ? " stops" : " stop") + " working at the end of December 2026";
            }

            (int stillOn, int stopped, int notSeen) = AfterDefaultOff(list);
            if (stillOn > 0)
            {
                return Who(stillOn) + (stillOn == 1 ? " still signs" : " still sign") + " in with basic SMTP AUTH after the end-of-December 2026 default-off: "
                    + "basic auth was turned back on, or the change has not reached this tenant yet; "
                    + (stillOn == 1 ? "it stops" : "they stop") + " working when basic auth is turned off or at the final removal";
            }

            if (stopped > 0)
            {
                return Who(stopped) + " stopped working when basic SMTP AUTH was disabled by default at the end of December 2026";
            }

            if (notSeen > 0)
            {
                return Who(notSeen) + " signed in with basic SMTP AUTH before the end-of-December 2026 default-off, and this data has no sign-in from "
                    + (notSeen == 1 ? "it" : "them") + " after that date: whether " + (notSeen == 1 ? "it" : "they") + " stopped working is not known";
            }

            return "No sender signs in with basic SMTP AUTH after the end-of-December 2026 default-off";
        }

        private static string Who(int count) => count switch
        {
            0 => "No sender",
            1 => "1 sender",
            _ => count.ToString("N0", Invariant) + " senders",
        };

        /// <summary>
        /// Reads a SignInsPerDay value ("yyyy-MM-dd=count;..."). Pairs that are not a date and a non-negative count are
        /// skipped (the value may come from a CSV file someone edited); the same day twice is added up.
        /// </summary>
        public static IReadOnlyList<DailySignIns> ParseSignInsPerDay(string? value)
        {
            var days = new SortedDictionary<DateTime, long>();
            AddSignInsPerDay(days, value);
            return days.Select(d => new DailySignIns(d.Key, d.Value)).ToList();
        }

        /// <summary>The per-day sum of SignInsPerDay over the senders, oldest first, days without sign-ins left out.</summary>
        public static IReadOnlyList<DailySignIns> SumSignInsPerDay(IEnumerable<SmtpAuthClient> clients)
        {
            if (clients is null)
            {
                throw new ArgumentNullException(nameof(clients));
            }

            var days = new SortedDictionary<DateTime, long>();
            foreach (SmtpAuthClient client in clients)
            {
                AddSignInsPerDay(days, client?.SignInsPerDay);
            }

            return days.Where(d => d.Value > 0).Select(d => new DailySignIns(d.Key, d.Value)).ToList();
        }

        /// <summary>The senders in report order: Breaks, AlreadyFailing, Unknown, Unaffected; then most sign-ins first, then by name.</summary>
        public static IReadOnlyList<SmtpAuthClient> SortByImpact(IEnumerable<SmtpAuthClient> clients)
        {
            if (clients is null)
            {
                throw new ArgumentNullException(nameof(clients));
            }

            return clients.Where(c => c is not null)
                .OrderBy(c => ImpactRank(c.ImpactAtDefaultOff))
                .ThenByDescending(c => c.SignInCount ?? -1)
                .ThenBy(c => c.UserPrincipalName ?? string.Empty, StringComparer.OrdinalIgnoreCase)
                .ThenBy(c => c.ClientIp ?? string.Empty, StringComparer.Ordinal)
                .ToList();
        }

        /// <summary>Renders the page.</summary>
        public static string Render(IEnumerable<SmtpAuthClient> clients, ReadinessReportOptions options)
        {
            if (clients is null)
            {
                throw new ArgumentNullException(nameof(clients));
            }

            if (options is null)
            {
                throw new ArgumentNullException(nameof(options));
            }

            IReadOnlyList<SmtpAuthClient> senders = SortByImpact(clients);
            string title = string.IsNullOrWhiteSpace(options.Title) ? DefaultTitle : options.Title.Trim();
            bool past = IsAfterDefaultOff(options.ReportDate);
            var html = new StringBuilder(16384 + (senders.Count * 1536));

            html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .Append("<meta name=\"color-scheme\" content=\"light\">\n")
                .Append("<meta name=\"generator\" content=\"").Append(Encode(options.Generator ?? "SmtpAuthTroubleshooter")).Append("\">\n")
                .Append("<title>").Append(Encode(title)).Append("</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n<main>\n");

            AppendHeader(html, title, senders, options.ReportDate, past);
            AppendImpactCounts(html, senders, past);
            AppendPathCounts(html, senders);
            AppendChart(html, senders, options.ReportDate);
            AppendSenderTable(html, senders);
            html.Append("</main>\n");
            AppendFooter(html, senders, options);
            html.Append("</body>\n</html>\n");
            return html.ToString();
        }

        #region Sections

        private static void AppendHeader(StringBuilder html, string title, IReadOnlyList<SmtpAuthClient> senders, DateTime reportDate, bool past)
        {
            int breaking = senders.Count(c => c.ImpactAtDefaultOff == SmtpAuthImpact.Breaks);
            (int stillOn, int stopped, int notSeen) = past ? AfterDefaultOff(senders) : (0, 0, 0);
            bool bad = past ? stillOn + stopped + notSeen > 0 : breaking > 0;
            html.Append("<header>\n<p class=\"kicker\">").Append(Encode(title)).Append("</p>\n")
                .Append("<h1 id=\"headline\" class=\"").Append(bad ? "bad" : "ok").Append("\" data-breaks=\"").Append(R(breaking)).Append("\">")
                .Append(Encode(Headline(senders, reportDate))).Append("</h1>\n<p class=\"lede\">");
            if (past)
            {
                html.Append("Microsoft disabled SMTP AUTH basic authentication by default for existing tenants at the end of December 2026; ")
                    .Append("an administrator can still turn it back on until the final removal, which Microsoft announces in the second half of 2027. ");
            }
            else
            {
                int daysLeft = (DefaultOffDate - reportDate.Date).Days;
                html.Append("Microsoft disables SMTP AUTH basic authentication by default for existing tenants at the end of December 2026 (")
                    .Append(N(daysLeft)).Append(daysLeft == 1 ? " day" : " days").Append(" after this report's date); ")
                    .Append("an administrator can turn it back on until the final removal, which Microsoft announces in the second half of 2027. ");
            }

            if (senders.Count == 0)
            {
                html.Append("</p>\n<p id=\"empty-note\" class=\"note\">This report was given no senders: Get-SmtpAuthClient found no mailbox that signed in with ")
                    .Append("basic SMTP AUTH or could use it in the window, or nothing was piped in. There is nothing to move.</p>\n</header>\n");
                return;
            }

            if (past)
            {
                AppendAfterDefaultOff(html, stillOn, stopped, notSeen);
            }
            else
            {
                html.Append(breaking == 0
                    ? "No sender in this report signed in successfully with basic authentication in the window."
                    : "Each of them signed in successfully with basic authentication in the window and has to move to one of the paths below.");
            }

            html.Append(" Report date: <time datetime=\"").Append(reportDate.ToString("yyyy-MM-dd", Invariant)).Append("\">")
                .Append(reportDate.ToString("d MMMM yyyy", Invariant)).Append("</time>.</p>\n</header>\n");
        }

        // After the default-off, one sentence per group the data shows; nobody is called stopped without failures after the date.
        private static void AppendAfterDefaultOff(StringBuilder html, int stillOn, int stopped, int notSeen)
        {
            var sentences = new List<string>();
            if (stillOn > 0)
            {
                sentences.Add(Who(stillOn) + (stillOn == 1 ? " has" : " have") + " basic SMTP AUTH sign-ins that succeeded on or after 31 December 2026: "
                    + "basic auth is still on for this tenant (turned back on, or the change has not reached it yet).");
            }

            if (stopped > 0)
            {
                sentences.Add(Who(stopped) + " signed in successfully until before 31 December 2026 and " + (stopped == 1 ? "has" : "have") + " failed since: "
                    + (stopped == 1 ? "it" : "they") + " stopped working at the default-off.");
            }

            if (notSeen > 0)
            {
                sentences.Add(Who(notSeen) + " signed in successfully before 31 December 2026 and " + (notSeen == 1 ? "has" : "have")
                    + " no sign-in after it in this data: run Get-SmtpAuthClient again to see whether " + (notSeen == 1 ? "it still works" : "they still work") + ".");
            }

            html.Append(sentences.Count == 0
                ? "No sender in this report signed in successfully with basic authentication in the window."
                : Encode(string.Join(" ", sentences)) + " Each of them has to move to one of the paths below.");
        }

        private static void AppendImpactCounts(StringBuilder html, IReadOnlyList<SmtpAuthClient> senders, bool past)
        {
            html.Append("<section aria-labelledby=\"impact-heading\">\n<h2 id=\"impact-heading\">Impact at the default-off</h2>\n<ul id=\"impact-counts\" class=\"cards\">\n");
            foreach (SmtpAuthImpact impact in ImpactOrder)
            {
                int count = senders.Count(c => c.ImpactAtDefaultOff == impact);
                html.Append("<li class=\"card ").Append(ImpactClass(impact)).Append("\" data-impact=\"").Append(impact.ToString()).Append("\" data-count=\"").Append(R(count)).Append("\">")
                    .Append("<span class=\"count\">").Append(N(count)).Append("</span> <span class=\"label\">").Append(Encode(ImpactLabelOf(impact))).Append("</span>")
                    .Append("<span class=\"explain\">").Append(ImpactExplanation(impact, past)).Append("</span></li>\n");
            }

            int other = senders.Count(c => ImpactRank(c.ImpactAtDefaultOff) >= ImpactOrder.Length);
            if (other > 0)
            {
                html.Append("<li class=\"card unknown\" data-impact=\"Other\" data-count=\"").Append(R(other)).Append("\"><span class=\"count\">").Append(N(other))
                    .Append("</span> <span class=\"label\">Other</span><span class=\"explain\">an impact value this report does not know</span></li>\n");
            }

            html.Append("</ul>\n</section>\n");
        }

        private static void AppendPathCounts(StringBuilder html, IReadOnlyList<SmtpAuthClient> senders)
        {
            html.Append("<section aria-labelledby=\"path-heading\">\n<h2 id=\"path-heading\">The way out, by migration path</h2>\n");
            var counts = senders.GroupBy(c => c.MigrationPath)
                .Select(g => new { Path = g.Key, Count = g.Count(), Breaks = g.Count(c => c.ImpactAtDefaultOff == SmtpAuthImpact.Breaks) })
                .OrderByDescending(g => g.Count).ThenBy(g => PathRank(g.Path)).ToList();
            if (counts.Count == 0)
            {
                html.Append("<p class=\"note\">No senders, so no migration paths.</p>\n</section>\n");
                return;
            }

            int max = counts.Max(c => c.Count);
            html.Append("<table id=\"path-counts\" class=\"paths\">\n<thead><tr><th scope=\"col\">Path</th><th scope=\"col\">What it means</th>")
                .Append("<th scope=\"col\" class=\"num\">Senders</th><th scope=\"col\" class=\"num\">Of which break</th><th scope=\"col\" class=\"barcell\"><span class=\"sr\">Share</span></th></tr></thead>\n<tbody>\n");
            foreach (var row in counts)
            {
                double percent = max == 0 ? 0 : 100.0 * row.Count / max;
                html.Append("<tr data-path=\"").Append(Encode(row.Path.ToString())).Append("\" data-count=\"").Append(R(row.Count)).Append("\"><th scope=\"row\">")
                    .Append(Encode(PathLabel(row.Path))).Append("</th><td>").Append(Encode(PathDescription(row.Path))).Append("</td><td class=\"num\">")
                    .Append(N(row.Count)).Append("</td><td class=\"num\">").Append(N(row.Breaks)).Append("</td><td class=\"barcell\"><span class=\"hbar\" style=\"width:")
                    .Append(F(percent)).Append("%\"></span></td></tr>\n");
            }

            html.Append("</tbody>\n</table>\n</section>\n");
        }

        private static void AppendChart(StringBuilder html, IReadOnlyList<SmtpAuthClient> senders, DateTime reportDate)
        {
            html.Append("<section aria-labelledby=\"chart-heading\">\n<h2 id=\"chart-heading\">Basic SMTP AUTH sign-ins per day</h2>\n");
            IReadOnlyList<DailySignIns> days = SumSignInsPerDay(senders);
            if (days.Count == 0)
            {
                html.Append("<p id=\"chart-empty\" class=\"note\">No basic SMTP AUTH sign-ins per day to chart: the senders have none in the window, ")
                    .Append("or the sign-in log was not read.</p>\n</section>\n");
                return;
            }

            int window = senders.Select(c => c.Days).Where(d => d > 0).DefaultIfEmpty(0).Max();
            DateTime first = days[0].Day;
            DateTime last = days[days.Count - 1].Day;
            DateTime end = last;
            if (window > 0 && reportDate.Date > last && (reportDate.Date - last).TotalDays < window)
            {
                end = reportDate.Date;
            }

            DateTime start = window > 0 && end.AddDays(1 - window) < first ? end.AddDays(1 - window) : first;
            int slots = (int)(end - start).TotalDays + 1;
            long peak = days.Max(d => d.Count);
            long total = days.Sum(d => d.Count);
            DailySignIns busiest = days.First(d => d.Count == peak);
            long step = NiceStep(peak);
            long yMax = step * (long)Math.Ceiling((double)peak / step);

            const double Width = 1160, Height = 320, Left = 64, Right = 16, Top = 16, Bottom = 52;
            const double PlotWidth = Width - Left - Right, PlotHeight = Height - Top - Bottom;
            double slot = PlotWidth / slots;
            double barWidth = Math.Max(1, slot * 0.72);

            string description = string.Format(Invariant,
                "Bar chart of basic SMTP AUTH sign-ins per day (UTC) from {0:yyyy-MM-dd} to {1:yyyy-MM-dd}, summed over {2} sender{3}: {4:N0} sign-ins on {5} day{6}; the busiest day was {7:yyyy-MM-dd} with {8:N0}.",
                start, end, senders.Count, senders.Count == 1 ? string.Empty : "s", total, days.Count, days.Count == 1 ? string.Empty : "s", busiest.Day, peak);
            html.Append("<figure>\n<svg id=\"signins-chart\" class=\"chart\" role=\"img\" aria-labelledby=\"chart-title chart-desc\" viewBox=\"0 0 ")
                .Append(F(Width)).Append(' ').Append(F(Height)).Append("\" data-days=\"").Append(R(slots))
                .Append("\" data-y-max=\"").Append(R(yMax)).Append("\" data-plot-height=\"").Append(F(PlotHeight)).Append("\">\n")
                .Append("<title id=\"chart-title\">Basic SMTP AUTH sign-ins per day</title>\n<desc id=\"chart-desc\">").Append(Encode(description)).Append("</desc>\n");

            // Y axis: grid lines and their values.
            html.Append("<g class=\"y-axis\">\n");
            for (long value = 0; value <= yMax; value += step)
            {
                double y = Top + PlotHeight - (PlotHeight * value / yMax);
                html.Append("<line class=\"grid\" x1=\"").Append(F(Left)).Append("\" x2=\"").Append(F(Width - Right)).Append("\" y1=\"").Append(F(y)).Append("\" y2=\"").Append(F(y)).Append("\"/>")
                    .Append("<text class=\"axis-label y-label\" x=\"").Append(F(Left - 8)).Append("\" y=\"").Append(F(y + 4)).Append("\" text-anchor=\"end\">").Append(value.ToString("N0", Invariant)).Append("</text>\n");
            }

            html.Append("<text class=\"axis-title\" transform=\"translate(14 ").Append(F(Top + (PlotHeight / 2))).Append(") rotate(-90)\" text-anchor=\"middle\">Sign-ins per day</text>\n</g>\n");

            // Bars: one per day with sign-ins, height proportional to the count.
            html.Append("<g class=\"bars\">\n");
            foreach (DailySignIns day in days)
            {
                int index = (int)(day.Day - start).TotalDays;
                double height = PlotHeight * day.Count / yMax;
                double x = Left + (index * slot) + ((slot - barWidth) / 2);
                html.Append("<rect class=\"bar\" data-date=\"").Append(day.Day.ToString("yyyy-MM-dd", Invariant)).Append("\" data-count=\"").Append(day.Count.ToString(Invariant))
                    .Append("\" x=\"").Append(F(x)).Append("\" y=\"").Append(F(Top + PlotHeight - height)).Append("\" width=\"").Append(F(barWidth)).Append("\" height=\"").Append(F(height))
                    .Append("\"><title>").Append(day.Day.ToString("yyyy-MM-dd", Invariant)).Append(": ").Append(day.Count.ToString("N0", Invariant)).Append(" sign-ins</title></rect>\n");
            }

            html.Append("</g>\n");

            // X axis: the base line and about ten date labels, the first and the last always.
            html.Append("<g class=\"x-axis\">\n<line class=\"axis\" x1=\"").Append(F(Left)).Append("\" x2=\"").Append(F(Width - Right)).Append("\" y1=\"").Append(F(Top + PlotHeight))
                .Append("\" y2=\"").Append(F(Top + PlotHeight)).Append("\"/>\n");
            int every = Math.Max(1, (int)Math.Ceiling(slots / 10.0));
            for (int i = 0; i < slots; i++)
            {
                bool labeled = i % every == 0 || (i == slots - 1 && (slots - 1) % every >= Math.Max(1, every / 2.0));
                if (!labeled)
                {
                    continue;
                }

                DateTime day = start.AddDays(i);
                double x = Left + (i * slot) + (slot / 2);
                html.Append("<text class=\"axis-label x-label\" data-date=\"").Append(day.ToString("yyyy-MM-dd", Invariant)).Append("\" x=\"").Append(F(x)).Append("\" y=\"")
                    .Append(F(Top + PlotHeight + 18)).Append("\" text-anchor=\"middle\">").Append(day.ToString("d MMM", Invariant)).Append("</text>\n");
            }

            html.Append("<text class=\"axis-title\" x=\"").Append(F(Left + (PlotWidth / 2))).Append("\" y=\"").Append(F(Height - 6)).Append("\" text-anchor=\"middle\">Day (UTC)</text>\n</g>\n</svg>\n")
                .Append("<figcaption>").Append(Encode(string.Format(Invariant,
                    "{0:N0} basic SMTP AUTH sign-ins from {1:d MMMM yyyy} to {2:d MMMM yyyy} (UTC), summed over all senders; the busiest day was {3:d MMMM} with {4:N0}. Source: Entra ID sign-in logs (client app \"Authenticated SMTP\").",
                    total, start, end, busiest.Day, peak)))
                .Append("</figcaption>\n</figure>\n</section>\n");
        }

        private static void AppendSenderTable(StringBuilder html, IReadOnlyList<SmtpAuthClient> senders)
        {
            html.Append("<section aria-labelledby=\"senders-heading\">\n<h2 id=\"senders-heading\">Senders, most urgent first</h2>\n");
            if (senders.Count == 0)
            {
                html.Append("<p id=\"senders-empty\" class=\"note\">No senders.</p>\n</section>\n");
                return;
            }

            html.Append("<table id=\"senders\">\n<colgroup><col class=\"c-n\"><col class=\"c-impact\"><col class=\"c-sender\"><col class=\"c-use\"><col class=\"c-path\"><col class=\"c-cmd\"></colgroup>\n")
                .Append("<thead><tr><th scope=\"col\">#</th><th scope=\"col\">Impact</th><th scope=\"col\">Sender</th><th scope=\"col\">Basic sign-ins</th>")
                .Append("<th scope=\"col\">Way out and why</th><th scope=\"col\">Command</th></tr></thead>\n<tbody>\n");
            int n = 0;
            foreach (SmtpAuthClient c in senders)
            {
                n++;
                html.Append("<tr class=\"").Append(ImpactClass(c.ImpactAtDefaultOff)).Append("\" data-impact=\"").Append(Encode(c.ImpactAtDefaultOff.ToString()))
                    .Append("\" data-path=\"").Append(Encode(c.MigrationPath.ToString())).Append("\">")
                    .Append("<td class=\"num\">").Append(N(n)).Append("</td>");

                // Impact and why.
                html.Append("<td><span class=\"badge ").Append(ImpactClass(c.ImpactAtDefaultOff)).Append("\">").Append(Encode(ImpactLabelOf(c.ImpactAtDefaultOff))).Append("</span>");
                if (c.TurnedToFailure == true)
                {
                    html.Append("<span class=\"detail\"><strong>Turned to failure</strong> in the window</span>");
                }

                AppendDetail(html, c.ImpactReason);
                if (c.LastErrorCode is int code && code != 0)
                {
                    AppendDetail(html, "Last error " + code.ToString(Invariant) + (string.IsNullOrWhiteSpace(c.LastFailureReason) ? string.Empty : ": " + c.LastFailureReason));
                }

                if (!string.IsNullOrWhiteSpace(c.UnknownReasons))
                {
                    AppendDetail(html, "Not read: " + c.UnknownReasons);
                }

                html.Append("</td>");

                // Sender.
                html.Append("<td><span class=\"upn\">").Append(Encode(string.IsNullOrWhiteSpace(c.UserPrincipalName) ? "(no name)" : c.UserPrincipalName)).Append("</span>");
                AppendDetail(html, string.IsNullOrWhiteSpace(c.ClientIp) ? null : "from " + c.ClientIp);
                AppendDetail(html, c.Location);
                AppendDetail(html, c.RecipientTypeDetails);
                if (c.SmtpAuthEnabled is bool enabled)
                {
                    AppendDetail(html, "SMTP AUTH " + (enabled ? "on" : "off") + (string.IsNullOrWhiteSpace(c.SmtpAuthDecidedBy) ? string.Empty : " (" + c.SmtpAuthDecidedBy + ")"));
                }

                html.Append("</td>");

                // Use in the window.
                html.Append("<td>");
                if (c.SignInCount is int signIns)
                {
                    html.Append("<span class=\"big\">").Append(N(signIns)).Append("</span>");
                    if (c.SuccessCount is not null || c.FailureCount is not null)
                    {
                        AppendDetail(html, N(c.SuccessCount ?? 0) + " ok, " + N(c.FailureCount ?? 0) + " failed");
                    }
                }
                else
                {
                    html.Append("<span class=\"muted\">not read</span>");
                }

                if (c.LastSeenUtc is DateTime lastSeen)
                {
                    AppendDetail(html, "last " + lastSeen.ToString("yyyy-MM-dd HH:mm", Invariant) + " UTC");
                }

                if (c.MessagesSent is long messages)
                {
                    // A mailbox figure (the admin center report counts by sender address), repeated on each of its IP rows.
                    AppendDetail(html, "mailbox total, all IPs: " + messages.ToString("N0", Invariant) + " messages" + (string.IsNullOrWhiteSpace(c.AuthenticationProtocol) ? string.Empty : " (" + c.AuthenticationProtocol + ")"));
                }
                else if (!string.IsNullOrWhiteSpace(c.AuthenticationProtocol))
                {
                    AppendDetail(html, c.AuthenticationProtocol);
                }

                if (c.InternalRecipientsOnly is bool internalOnly)
                {
                    AppendDetail(html, internalOnly ? "internal recipients only" : "external recipients too");
                }

                html.Append("</td>");

                // The way out.
                html.Append("<td><span class=\"path\">").Append(Encode(PathLabel(c.MigrationPath))).Append("</span>");
                AppendDetail(html, c.MigrationReason);
                html.Append("</td>");

                // The command, whole.
                html.Append("<td>");
                if (string.IsNullOrWhiteSpace(c.MigrationCommand))
                {
                    html.Append("<span class=\"muted\">no command for this path</span>");
                }
                else
                {
                    html.Append("<code class=\"cmd\">").Append(Encode(c.MigrationCommand)).Append("</code>");
                }

                html.Append("</td></tr>\n");
            }

            html.Append("</tbody>\n</table>\n</section>\n");
        }

        private static void AppendFooter(StringBuilder html, IReadOnlyList<SmtpAuthClient> senders, ReadinessReportOptions options)
        {
            int[] windows = senders.Select(c => c.Days).Where(d => d > 0).Distinct().OrderBy(d => d).ToArray();
            string window = windows.Length switch
            {
                0 => "not stated by the input",
                1 => "the last " + N(windows[0]) + (windows[0] == 1 ? " day" : " days"),
                _ => N(windows[0]) + " to " + N(windows[windows.Length - 1]) + " days",
            };
            DateTime generated = options.ReportDate.Kind == DateTimeKind.Local ? options.ReportDate.ToUniversalTime() : options.ReportDate;
            html.Append("<footer>\n<p>Generated <time id=\"generated\" datetime=\"").Append(generated.ToString("yyyy-MM-ddTHH:mm:ss", Invariant)).Append("Z\">")
                .Append(generated.ToString("yyyy-MM-dd HH:mm", Invariant)).Append(" UTC</time>");
            if (!string.IsNullOrWhiteSpace(options.Generator))
            {
                html.Append(" by ").Append(Encode(options.Generator));
            }

            html.Append(" from ").Append(N(senders.Count)).Append(senders.Count == 1 ? " sender" : " senders")
                .Append("; sign-in window (Days): <span id=\"window\">").Append(Encode(window)).Append("</span>. ")
                .Append("Sign-ins are Entra ID sign-ins with client app \"Authenticated SMTP\" (basic authentication); the log keeps 30 days and lags up to a few hours.</p>\n")
                .Append("<p>Timeline: Microsoft Exchange Team, <a href=\"").Append(TimelineUri).Append("\">Updated Exchange Online SMTP AUTH Basic Authentication Deprecation Timeline</a> ")
                .Append("(disabled by default for existing tenants at the end of December 2026; final removal date announced in the second half of 2027).</p>\n</footer>\n");
        }

        #endregion

        #region Vocabulary

        private static int ImpactRank(SmtpAuthImpact impact)
        {
            int i = Array.IndexOf(ImpactOrder, impact);
            return i < 0 ? ImpactOrder.Length : i;
        }

        private static int PathRank(SmtpAuthMigrationPath path)
        {
            int i = Array.IndexOf(PathOrder, path);
            return i < 0 ? PathOrder.Length : i;
        }

        private static string ImpactClass(SmtpAuthImpact impact) => impact switch
        {
            SmtpAuthImpact.Breaks => "breaks",
            SmtpAuthImpact.AlreadyFailing => "failing",
            SmtpAuthImpact.Unaffected => "unaffected",
            _ => "unknown",
        };

        private static string ImpactLabelOf(SmtpAuthImpact impact) => impact switch
        {
            SmtpAuthImpact.Breaks => "Breaks",
            SmtpAuthImpact.AlreadyFailing => "Already failing",
            SmtpAuthImpact.Unaffected => "Unaffected",
            SmtpAuthImpact.Unknown => "Unknown",
            _ => impact.ToString(),
        };

        private static string ImpactExplanation(SmtpAuthImpact impact, bool past) => impact switch
        {
            SmtpAuthImpact.Breaks => past
                ? "basic-auth sign-ins succeeded in the window: these stop working once basic auth is off for the tenant"
                : "basic-auth sign-ins succeeded in the window: these stop working at the default-off",
            SmtpAuthImpact.AlreadyFailing => "basic-auth sign-ins were attempted and all failed: broken today, see the last error",
            SmtpAuthImpact.Unaffected => "OAuth, or no basic-auth use in the window",
            _ => "a source that decides it could not be read: a person has to look",
        };

        /// <summary>The display name of a path.</summary>
        public static string PathLabel(SmtpAuthMigrationPath path) => path switch
        {
            SmtpAuthMigrationPath.OAuth => "OAuth (XOAUTH2)",
            SmtpAuthMigrationPath.HighVolumeEmail => "High Volume Email",
            SmtpAuthMigrationPath.ConnectorRelay => "Connector relay",
            SmtpAuthMigrationPath.DirectSend => "Direct Send",
            SmtpAuthMigrationPath.GraphSendMail => "Graph sendMail",
            SmtpAuthMigrationPath.AzureCommunicationServices => "Azure Communication Services",
            SmtpAuthMigrationPath.DisableSmtpAuth => "Disable SMTP AUTH",
            SmtpAuthMigrationPath.Review => "Review",
            SmtpAuthMigrationPath.None => "None needed",
            _ => path.ToString(),
        };

        private static string PathDescription(SmtpAuthMigrationPath path) => path switch
        {
            SmtpAuthMigrationPath.OAuth => "Keep SMTP AUTH and sign in with OAuth 2.0 (XOAUTH2): delegated, or app-only with SMTP.SendAsApp.",
            SmtpAuthMigrationPath.HighVolumeEmail => "High Volume Email, Microsoft 365's SMTP endpoint for mail to internal recipients only.",
            SmtpAuthMigrationPath.ConnectorRelay => "An inbound connector that accepts the device's static public IP or certificate and relays to any recipient.",
            SmtpAuthMigrationPath.DirectSend => "Send to the tenant's MX endpoint without signing in: internal recipients only, and not while RejectDirectSend is on.",
            SmtpAuthMigrationPath.GraphSendMail => "Code you own sends with Microsoft Graph sendMail (Mail.Send) instead of SMTP.",
            SmtpAuthMigrationPath.AzureCommunicationServices => "Azure Communication Services Email, for external volume from senders without OAuth.",
            SmtpAuthMigrationPath.DisableSmtpAuth => "Could use SMTP AUTH but did not: switch it off for the mailbox.",
            SmtpAuthMigrationPath.Review => "The facts do not decide: a person has to look.",
            SmtpAuthMigrationPath.None => "Nothing to do: the sender already uses OAuth, or nothing at all.",
            _ => "A path this report does not know.",
        };

        #endregion

        #region Helpers

        private static void AddSignInsPerDay(SortedDictionary<DateTime, long> days, string? value)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return;
            }

            foreach (string pair in value!.Split(PairSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = pair.IndexOf('=');
                if (eq <= 0 ||
                    !DateTime.TryParseExact(pair.Substring(0, eq).Trim(), "yyyy-MM-dd", Invariant, DateTimeStyles.None, out DateTime day) ||
                    !long.TryParse(pair.Substring(eq + 1).Trim(), NumberStyles.None, Invariant, out long count))
                {
                    continue;
                }

                days.TryGetValue(day, out long sum);
                days[day] = sum + count;
            }
        }

        /// <summary>A step of 1, 2 or 5 times a power of ten that divides 0..max into at most five parts.</summary>
        private static long NiceStep(long max)
        {
            if (max <= 5)
            {
                return 1;
            }

            double raw = max / 5.0;
            double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double fraction = raw / power;
            double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
            return Math.Max(1, (long)(nice * power));
        }

        private static void AppendDetail(StringBuilder html, string? text)
        {
            if (!string.IsNullOrWhiteSpace(text))
            {
                html.Append("<span class=\"detail\">").Append(Encode(text)).Append("</span>");
            }
        }

        private static string N(long value) => value.ToString("N0", Invariant);

        private static string R(long value) => value.ToString(Invariant);

        private static string F(double value) => value.ToString("0.##", Invariant);

        /// <summary>
        /// Escapes text for HTML content and quoted attribute values (&amp; &lt; &gt; &quot; &#39;). Characters that are
        /// not allowed in an HTML document (C0 and C1 controls other than tab and line breaks, lone surrogates,
        /// noncharacters) and the bidirectional overrides that can make a name read backwards become U+FFFD.
        /// </summary>
        public static string Encode(string? text)
        {
            if (string.IsNullOrEmpty(text))
            {
                return string.Empty;
            }

            var sb = new StringBuilder(text!.Length + 16);
            for (int i = 0; i < text.Length; i++)
            {
                char ch = text[i];
                switch (ch)
                {
                    case '&': sb.Append("&amp;"); continue;
                    case '<': sb.Append("&lt;"); continue;
                    case '>': sb.Append("&gt;"); continue;
                    case '"': sb.Append("&quot;"); continue;
                    case '\'': sb.Append("&#39;"); continue;
                    case '\t':
                    case '\n':
                        sb.Append(ch);
                        continue;
                    case '\r':
                        sb.Append('\n');
                        if (i + 1 < text.Length && text[i + 1] == '\n')
                        {
                            i++;
                        }

                        continue;
                }

                if (char.IsHighSurrogate(ch) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    int codePoint = char.ConvertToUtf32(ch, text[i + 1]);
                    if ((codePoint & 0xFFFE) == 0xFFFE)
                    {
                        sb.Append('\uFFFD');
                    }
                    else
                    {
                        sb.Append(ch).Append(text[i + 1]);
                    }

                    i++;
                    continue;
                }

                bool forbidden = ch < ' ' || (ch >= '\u007F' && ch <= '\u009F') || char.IsSurrogate(ch) ||
                    (ch >= '\uFDD0' && ch <= '\uFDEF') || ch == '\uFFFE' || ch == '\uFFFF' ||
                    (ch >= '\u202A' && ch <= '\u202E') || (ch >= '\u2066' && ch <= '\u2069');
                sb.Append(forbidden ? '\uFFFD' : ch);
            }

            return sb.ToString();
        }

        #endregion

        private const string Css = @"*{box-sizing:border-box}
html{background:#f4f5f7}
body{margin:0;padding:24px;font-family:system-ui,-apple-system,""Segoe UI"",Roboto,""Helvetica Neue"",Arial,""DejaVu Sans"",sans-serif;font-size:14px;line-height:1.45;color:#1f2328}
main,footer{max-width:1200px;margin:0 auto}
header{background:#fff;border:1px solid #d8dce1;border-radius:8px;padding:20px 24px;margin-bottom:16px}
.kicker{margin:0 0 4px;color:#57606a;font-size:13px;text-transform:uppercase;letter-spacing:.04em}
h1{margin:0 0 8px;font-size:28px;line-height:1.2}
h1.bad{color:#a40e26}
h1.ok{color:#1a7f37}
.lede{margin:0;font-size:15px;max-width:70em}
.note{background:#fff8c5;border:1px solid #e6d38a;border-radius:6px;padding:8px 12px}
section{background:#fff;border:1px solid #d8dce1;border-radius:8px;padding:16px 24px;margin-bottom:16px}
h2{margin:0 0 12px;font-size:18px}
.cards{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 200px;border-radius:6px;padding:12px 14px;border-left:6px solid #8c959f;background:#f6f8fa}
.card .count{font-size:30px;font-weight:700;line-height:1}
.card .label{font-size:16px;font-weight:600}
.card .explain{display:block;color:#57606a;font-size:12.5px;margin-top:4px}
.card.breaks{border-left-color:#cf222e;background:#ffebe9}
.card.breaks .count{color:#a40e26}
.card.failing{border-left-color:#bf8700;background:#fff8c5}
.card.failing .count{color:#7d4e00}
.card.unaffected{border-left-color:#2da44e;background:#dafbe1}
.card.unaffected .count{color:#1a7f37}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid #e1e4e8}
thead th{background:#f6f8fa;font-size:12.5px;color:#57606a;border-bottom:2px solid #d0d7de}
.num{text-align:right;white-space:nowrap}
.paths th[scope=row]{white-space:nowrap}
.barcell{width:22%}
.hbar{display:block;height:12px;background:#7f9cc7;border-radius:2px;min-width:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
figure{margin:0}
.chart{width:100%;height:auto;display:block}
.chart .bar{fill:#2f5d9e}
.chart .grid{stroke:#e1e4e8;stroke-width:1}
.chart .axis{stroke:#57606a;stroke-width:1.5}
.chart text{font-size:12px;fill:#57606a}
.chart .axis-title{font-size:12.5px;fill:#1f2328;font-weight:600}
figcaption{color:#57606a;font-size:12.5px;margin-top:6px}
#senders{table-layout:fixed}
#senders .c-n{width:3.5%}
#senders .c-impact{width:13%}
#senders .c-sender{width:19.5%}
#senders .c-use{width:11.5%}
#senders .c-path{width:20.5%}
#senders .c-cmd{width:32%}
#senders td{overflow-wrap:anywhere;word-break:break-word}
#senders tr.breaks td:first-child{box-shadow:inset 4px 0 #cf222e}
#senders tr.failing td:first-child{box-shadow:inset 4px 0 #bf8700}
#senders tr.unknown td:first-child{box-shadow:inset 4px 0 #8c959f}
#senders tr.unaffected td:first-child{box-shadow:inset 4px 0 #2da44e}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;background:#eaeef2;color:#424a53}
.badge.breaks{background:#cf222e;color:#fff}
.badge.failing{background:#bf8700;color:#fff}
.badge.unaffected{background:#2da44e;color:#fff}
.path{font-weight:600}
.upn{font-weight:600}
.big{font-size:16px;font-weight:600}
.detail{display:block;color:#57606a;font-size:12.5px}
.muted{color:#8c959f}
code.cmd{display:block;white-space:pre-wrap;overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Consolas,""DejaVu Sans Mono"",""Liberation Mono"",monospace;font-size:12px;background:#f6f8fa;border:1px solid #e1e4e8;border-radius:4px;padding:6px 8px}
footer{color:#57606a;font-size:12.5px;padding:4px 4px 24px}
footer a{color:#0b5cad}
@media print{html,body{background:#fff}body{padding:0}section,header{border:0;padding:8px 0;break-inside:avoid-page}#senders tr{break-inside:avoid}}
";
    }
}
