using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using SmtpAuthTroubleshooter.Engine.Reports;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>The readiness report's renderer (Export-SmtpAuthReport's page), as a string: escaping, tense, counts, chart, order.</summary>
    public class ReadinessReportTests
    {
        private static readonly DateTime Before = new DateTime(2026, 11, 30, 9, 0, 0, DateTimeKind.Utc);
        private static readonly DateTime After = new DateTime(2027, 1, 5, 9, 0, 0, DateTimeKind.Utc);

        private static SmtpAuthClient Client(string upn, SmtpAuthImpact impact, SmtpAuthMigrationPath path, string? perDay = null, string? command = null, string? reason = null) => new SmtpAuthClient
        {
            UserPrincipalName = upn,
            ClientIp = "203.0.113.5",
            Days = 30,
            SignInCount = perDay is null ? 0 : ReadinessReport.ParseSignInsPerDay(perDay).Sum(d => (int)d.Count),
            ImpactAtDefaultOff = impact,
            MigrationPath = path,
            MigrationReason = reason ?? "because " + path,
            MigrationCommand = command,
            SignInsPerDay = perDay,
        };

        private static string Render(IEnumerable<SmtpAuthClient> clients, DateTime? date = null, string? title = null) =>
            ReadinessReport.Render(clients, new ReadinessReportOptions { ReportDate = date ?? Before, Title = title ?? ReadinessReport.DefaultTitle, Generator = "SmtpAuthTroubleshooter test" });

        private static string HeadlineOf(string html) => System.Net.WebUtility.HtmlDecode(Regex.Match(html, "<h1 id=\"headline\"[^>]*>(.*?)</h1>").Groups[1].Value);

        private static int CountOf(string html, string impact) =>
            int.Parse(Regex.Match(html, "data-impact=\"" + impact + "\" data-count=\"(\\d+)\"").Groups[1].Value, CultureInfo.InvariantCulture);

        [Fact]
        public void A_script_in_a_sender_name_reason_command_or_title_is_text_not_markup()
        {
            var evil = Client("<script>alert('x')</script>@evil.example", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.Review, "2026-11-02=3",
                command: "Write-Output \"<img src=x onerror=alert(1)>\" & 'done'", reason: "<b>bold</b> \" onmouseover=\"alert(2)");
            evil.Location = "</td></tr></table><iframe src=//evil.example>";
            evil.UnknownReasons = "<style>body{display:none}</style>";
            string html = Render(new[] { evil }, title: "Q4 <script>alert(3)</script>");

            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<iframe", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
            Assert.Single(Regex.Matches(html, "<style>"));
            Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;@evil.example", html, StringComparison.Ordinal);
            Assert.Contains("<code class=\"cmd\">Write-Output &quot;&lt;img src=x onerror=alert(1)&gt;&quot; &amp; &#39;done&#39;</code>", html, StringComparison.Ordinal);
            Assert.Contains("&lt;b&gt;bold&lt;/b&gt; &quot; onmouseover=&quot;alert(2)", html, StringComparison.Ordinal);
            Assert.Contains("<title>Q4 &lt;script&gt;alert(3)&lt;/script&gt;</title>", html, StringComparison.Ordinal);
        }

        [Fact]
        public void Control_characters_and_bidi_overrides_become_replacement_characters()
        {
            Assert.Equal("a\uFFFDb\uFFFDc\uFFFDd", ReadinessReport.Encode("a\u0000b\u202Ec\u0085d"));
            Assert.Equal("line\nnext\ttab", ReadinessReport.Encode("line\r\nnext\ttab"));
            Assert.Equal("\U0001F4E7 mail", ReadinessReport.Encode("\U0001F4E7 mail"));
            Assert.Equal("\uFFFD", ReadinessReport.Encode("\uD800"));
        }

        [Theory]
        [InlineData(7, 12, "2026-11-30", "7 senders stop working at the end of December 2026")]
        [InlineData(1, 12, "2026-12-30", "1 sender stops working at the end of December 2026")]
        [InlineData(0, 3, "2026-06-01", "No sender stops working at the end of December 2026")]
        [InlineData(1234, 2000, "2026-01-01", "1,234 senders stop working at the end of December 2026")]
        [InlineData(0, 0, "2026-11-30", "No SMTP AUTH senders in this report")]
        [InlineData(0, 0, "2027-01-05", "No SMTP AUTH senders in this report")]
        public void The_headline_before_the_default_off_counts_the_senders_that_break(int breaking, int senders, string date, string expected)
        {
            IEnumerable<SmtpAuthClient> clients = Enumerable.Range(0, senders).Select(i => Client("s" + i.ToString(CultureInfo.InvariantCulture) + "@contoso.com",
                i < breaking ? SmtpAuthImpact.Breaks : SmtpAuthImpact.Unaffected, SmtpAuthMigrationPath.OAuth));
            Assert.Equal(expected, ReadinessReport.Headline(clients, DateTime.Parse(date, CultureInfo.InvariantCulture)));
        }

        private static SmtpAuthClient Seen(string upn, SmtpAuthImpact impact, string lastSuccess, string lastSeen, bool turned = false)
        {
            SmtpAuthClient c = Client(upn, impact, SmtpAuthMigrationPath.OAuth, "2026-12-20=3");
            c.LastSuccessUtc = DateTime.SpecifyKind(DateTime.Parse(lastSuccess, CultureInfo.InvariantCulture), DateTimeKind.Utc);
            c.LastSeenUtc = DateTime.SpecifyKind(DateTime.Parse(lastSeen, CultureInfo.InvariantCulture), DateTimeKind.Utc);
            c.TurnedToFailure = turned;
            return c;
        }

        [Fact]
        public void After_the_default_off_a_sender_whose_basic_sign_ins_still_succeed_is_not_called_stopped()
        {
            // Basic sign-ins that succeed in January 2027: basic auth is on again for the tenant, or the change has not
            // reached it. The page must not say these senders stopped working.
            SmtpAuthClient[] clients =
            {
                Seen("a@contoso.com", SmtpAuthImpact.Breaks, "2027-01-20T09:00:00", "2027-01-20T09:00:00"),
                Seen("b@contoso.com", SmtpAuthImpact.Breaks, "2027-01-19T09:00:00", "2027-01-20T09:00:00"),
            };
            string html = Render(clients, new DateTime(2027, 1, 21, 0, 0, 0, DateTimeKind.Utc));

            Assert.Equal("2 senders still sign in with basic SMTP AUTH after the end-of-December 2026 default-off: basic auth was turned back on, "
                + "or the change has not reached this tenant yet; they stop working when basic auth is turned off or at the final removal", HeadlineOf(html));
            Assert.DoesNotContain("stopped working", html, StringComparison.Ordinal);
            Assert.DoesNotContain("Each of them signed in successfully with basic authentication in the window", html, StringComparison.Ordinal);
        }

        [Fact]
        public void After_the_default_off_only_senders_that_turned_to_failure_at_it_are_called_stopped()
        {
            SmtpAuthClient[] clients =
            {
                Seen("turned@contoso.com", SmtpAuthImpact.AlreadyFailing, "2026-12-30T09:00:00", "2027-01-04T09:00:00", turned: true),
                Seen("still@contoso.com", SmtpAuthImpact.Breaks, "2027-01-03T09:00:00", "2027-01-03T09:00:00"),
                Seen("quiet@contoso.com", SmtpAuthImpact.Breaks, "2026-12-20T09:00:00", "2026-12-20T09:00:00"),
            };
            Assert.Equal((1, 1, 1), ReadinessReport.AfterDefaultOff(clients));
            Assert.Equal("1 sender stopped working when basic SMTP AUTH was disabled by default at the end of December 2026",
                ReadinessReport.Headline(clients.Take(1), After));
            string html = Render(clients, After);
            Assert.StartsWith("1 sender still signs in with basic SMTP AUTH after the end-of-December 2026 default-off", HeadlineOf(html), StringComparison.Ordinal);
            Assert.Contains("1 sender signed in successfully until before 31 December 2026 and has failed since: it stopped working at the default-off.", html, StringComparison.Ordinal);
            Assert.Contains("1 sender signed in successfully before 31 December 2026 and has no sign-in after it in this data", html, StringComparison.Ordinal);
        }

        [Fact]
        public void The_page_changes_tense_on_31_December_2026()
        {
            // Data collected before the date (help example 5): nothing in it shows a sender stopped, so none is called stopped.
            SmtpAuthClient[] clients = { Client("a@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-02=3") };
            string before = Render(clients, new DateTime(2026, 12, 30, 23, 59, 0, DateTimeKind.Utc));
            string after = Render(clients, new DateTime(2026, 12, 31, 0, 0, 0, DateTimeKind.Utc));

            Assert.Equal("1 sender stops working at the end of December 2026", HeadlineOf(before));
            Assert.Contains("Microsoft disables SMTP AUTH basic authentication by default", before, StringComparison.Ordinal);
            Assert.Contains("(1 day after this report's date)", before, StringComparison.Ordinal);
            Assert.Equal("1 sender signed in with basic SMTP AUTH before the end-of-December 2026 default-off, and this data has no sign-in from it after that date: "
                + "whether it stopped working is not known", HeadlineOf(after));
            Assert.Contains("Microsoft disabled SMTP AUTH basic authentication by default", after, StringComparison.Ordinal);
            Assert.Contains("these stop working once basic auth is off for the tenant", after, StringComparison.Ordinal);
            Assert.DoesNotContain("stopped working at the default-off", after, StringComparison.Ordinal);
        }

        [Fact]
        public void A_mailbox_message_count_on_each_of_its_IP_rows_is_labelled_as_the_mailbox_total_and_never_added_up()
        {
            // The admin center report counts messages by sender address: one figure for the mailbox, repeated on each IP row.
            SmtpAuthClient main = Client("erp@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-02=300");
            SmtpAuthClient dr = Client("erp@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-02=15");
            dr.ClientIp = "198.51.100.21";
            main.MessagesSent = dr.MessagesSent = 3615;
            main.AuthenticationProtocol = dr.AuthenticationProtocol = "Basic";
            string html = Render(new[] { main, dr });

            Assert.Equal(2, Regex.Count(html, Regex.Escape("mailbox total, all IPs: 3,615 messages (Basic)")));
            Assert.DoesNotContain(">3,615 messages", html, StringComparison.Ordinal);
            Assert.DoesNotContain("7,230", html, StringComparison.Ordinal);
        }

        [Fact]
        public void Counts_by_impact_and_by_path()
        {
            var clients = new[]
            {
                Client("a@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-02=3"),
                Client("b@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.ConnectorRelay, "2026-11-02=1"),
                Client("c@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-03=2"),
                Client("d@contoso.com", SmtpAuthImpact.AlreadyFailing, SmtpAuthMigrationPath.Review, "2026-11-03=9"),
                Client("e@contoso.com", SmtpAuthImpact.Unaffected, SmtpAuthMigrationPath.DisableSmtpAuth),
                Client("f@contoso.com", SmtpAuthImpact.Unaffected, SmtpAuthMigrationPath.None),
                Client("g@contoso.com", SmtpAuthImpact.Unknown, SmtpAuthMigrationPath.Review),
            };
            string html = Render(clients);

            Assert.Equal("3 senders stop working at the end of December 2026", HeadlineOf(html));
            Assert.Equal(3, CountOf(html, "Breaks"));
            Assert.Equal(1, CountOf(html, "AlreadyFailing"));
            Assert.Equal(1, CountOf(html, "Unknown"));
            Assert.Equal(2, CountOf(html, "Unaffected"));
            var paths = Regex.Matches(html, "<tr data-path=\"(\\w+)\" data-count=\"(\\d+)\">").Cast<Match>().ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            Assert.Equal(new Dictionary<string, int> { ["OAuth"] = 2, ["Review"] = 2, ["ConnectorRelay"] = 1, ["DisableSmtpAuth"] = 1, ["None"] = 1 }, paths);
            Assert.Equal(new[] { "OAuth", "Review" }, paths.Keys.Take(2));
            Assert.Contains("from 7 senders", html, StringComparison.Ordinal);
            Assert.Contains("<span id=\"window\">the last 30 days</span>", html, StringComparison.Ordinal);
        }

        [Fact]
        public void Senders_are_sorted_by_impact_then_by_use()
        {
            var clients = new[]
            {
                Client("unaffected@contoso.com", SmtpAuthImpact.Unaffected, SmtpAuthMigrationPath.None),
                Client("unknown@contoso.com", SmtpAuthImpact.Unknown, SmtpAuthMigrationPath.Review),
                Client("failing@contoso.com", SmtpAuthImpact.AlreadyFailing, SmtpAuthMigrationPath.Review, "2026-11-01=50"),
                Client("small@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-01=1"),
                Client("big@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-01=100"),
            };
            string html = Render(clients);
            string[] rows = Regex.Matches(html, "<tr class=\"\\w+\" data-impact=\"(\\w+)\"[^>]*>.*?<span class=\"upn\">([^<]+)</span>").Cast<Match>().Select(m => m.Groups[2].Value).ToArray();

            Assert.Equal(new[] { "big@contoso.com", "small@contoso.com", "failing@contoso.com", "unknown@contoso.com", "unaffected@contoso.com" }, rows);
        }

        [Fact]
        public void A_long_command_is_rendered_whole()
        {
            string command = "New-InboundConnector -Name 'Relay " + new string('x', 400) + "' -ConnectorType OnPremises -SenderIPAddresses 203.0.113.25 -RequireTls $true";
            string html = Render(new[] { Client("a@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.ConnectorRelay, "2026-11-02=3", command) });

            Assert.Contains("<code class=\"cmd\">" + ReadinessReport.Encode(command) + "</code>", html, StringComparison.Ordinal);
            Assert.DoesNotContain("text-overflow", html, StringComparison.Ordinal);
        }

        [Fact]
        public void Sign_ins_per_day_are_summed_and_bad_pairs_skipped()
        {
            var clients = new[]
            {
                Client("a@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-01=10;2026-11-02=20"),
                Client("b@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-02=5;2026-13-01=7;garbage;2026-11-04=-3;2026-11-05=x;=4;2026-11-06=0"),
            };
            clients[1].SignInsPerDay += ";2026-11-04=40";

            IReadOnlyList<DailySignIns> days = ReadinessReport.SumSignInsPerDay(clients);

            Assert.Equal(new[] { ("2026-11-01", 10L), ("2026-11-02", 25L), ("2026-11-04", 40L) },
                days.Select(d => (d.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), d.Count)));
        }

        [Fact]
        public void The_chart_has_one_bar_per_day_with_sign_ins_heights_proportional_and_axis_labels()
        {
            var clients = new[]
            {
                Client("a@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-01=10;2026-11-02=20;2026-11-29=7"),
                Client("b@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-02=17;2026-11-10=3"),
            };
            string html = Render(clients);

            Assert.Contains("<title id=\"chart-title\">Basic SMTP AUTH sign-ins per day</title>", html, StringComparison.Ordinal);
            Assert.Matches("<desc id=\"chart-desc\">Bar chart of basic SMTP AUTH sign-ins per day \\(UTC\\) from 2026-11-01 to 2026-11-30, summed over 2 senders: 57 sign-ins on 4 days; the busiest day was 2026-11-02 with 37.</desc>", html);
            Assert.Contains("aria-labelledby=\"chart-title chart-desc\"", html, StringComparison.Ordinal);
            var bars = Regex.Matches(html, "<rect class=\"bar\" data-date=\"([\\d-]+)\" data-count=\"(\\d+)\" x=\"[\\d.]+\" y=\"[\\d.]+\" width=\"[\\d.]+\" height=\"([\\d.]+)\"")
                .Cast<Match>().Select(m => (Date: m.Groups[1].Value, Count: double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), Height: double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture))).ToList();
            Assert.Equal(new[] { "2026-11-01", "2026-11-02", "2026-11-10", "2026-11-29" }, bars.Select(b => b.Date));
            Assert.Equal(new[] { 10.0, 37, 3, 7 }, bars.Select(b => b.Count));
            double ratio = bars[0].Height / bars[0].Count;
            Assert.All(bars, b => Assert.InRange(b.Height / b.Count, ratio * 0.99, ratio * 1.01));
            Assert.Contains("data-days=\"30\"", html, StringComparison.Ordinal);
            Assert.Contains(">1 Nov</text>", html, StringComparison.Ordinal);
            Assert.Contains(">30 Nov</text>", html, StringComparison.Ordinal);
            Assert.Contains("text-anchor=\"end\">0</text>", html, StringComparison.Ordinal);
            Assert.Contains("text-anchor=\"end\">40</text>", html, StringComparison.Ordinal);
            Assert.Contains(">Sign-ins per day</text>", html, StringComparison.Ordinal);
            Assert.Contains(">Day (UTC)</text>", html, StringComparison.Ordinal);
        }

        [Fact]
        public void No_senders_is_still_a_whole_page_that_says_so()
        {
            string html = Render(Array.Empty<SmtpAuthClient>());

            Assert.StartsWith("<!DOCTYPE html>\n<html lang=\"en\">", html, StringComparison.Ordinal);
            Assert.EndsWith("</html>\n", html, StringComparison.Ordinal);
            Assert.Equal("No SMTP AUTH senders in this report", HeadlineOf(html));
            Assert.Contains("id=\"empty-note\"", html, StringComparison.Ordinal);
            Assert.Contains("id=\"chart-empty\"", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<table id=\"senders\"", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<svg", html, StringComparison.Ordinal);
            Assert.Equal(0, CountOf(html, "Breaks"));
            Assert.Contains(ReadinessReport.TimelineUri, html, StringComparison.Ordinal);
            Assert.Contains("<span id=\"window\">not stated by the input</span>", html, StringComparison.Ordinal);
        }

        [Fact]
        public void Senders_without_sign_ins_get_no_chart_but_a_note()
        {
            string html = Render(new[] { Client("e@contoso.com", SmtpAuthImpact.Unaffected, SmtpAuthMigrationPath.DisableSmtpAuth, command: "Set-CASMailbox -Identity 'e@contoso.com' -SmtpClientAuthenticationDisabled $true") });

            Assert.Equal("No sender stops working at the end of December 2026", HeadlineOf(html));
            Assert.Contains("id=\"chart-empty\"", html, StringComparison.Ordinal);
            Assert.Contains("<table id=\"senders\"", html, StringComparison.Ordinal);
        }

        [Fact]
        public void The_page_loads_nothing_from_outside_and_has_no_script()
        {
            var clients = new[]
            {
                Client("a@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-01=10;2026-11-02=20"),
                Client("https://evil.example/x.png", SmtpAuthImpact.Unknown, SmtpAuthMigrationPath.Review),
            };
            string html = Render(clients);

            foreach (string tag in new[] { "<script", "<link", "<img", "<iframe", "<object", "<embed", "<base", "@import", "url(", "@font-face" })
            {
                Assert.DoesNotContain(tag, html, StringComparison.OrdinalIgnoreCase);
            }

            Assert.DoesNotMatch("\\ssrc\\s*=", html);
            Assert.Equal(new[] { ReadinessReport.TimelineUri }, Regex.Matches(html, "\\shref=\"([^\"]*)\"").Cast<Match>().Select(m => m.Groups[1].Value));
        }

        [Fact]
        public void The_footer_cites_Microsoft_and_gives_the_generation_time_and_the_window()
        {
            var clients = new[]
            {
                Client("a@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-01=10"),
                Client("b@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-01=10"),
            };
            clients[1].Days = 7;
            string html = Render(clients, After);

            Assert.Contains("<a href=\"" + ReadinessReport.TimelineUri + "\">", html, StringComparison.Ordinal);
            Assert.Contains("<time id=\"generated\" datetime=\"2027-01-05T09:00:00Z\">2027-01-05 09:00 UTC</time> by SmtpAuthTroubleshooter test from 2 senders", html, StringComparison.Ordinal);
            Assert.Contains("<span id=\"window\">7 to 30 days</span>", html, StringComparison.Ordinal);
        }

        [Fact]
        public void An_impact_or_path_the_report_does_not_know_is_still_shown()
        {
            var odd = Client("odd@contoso.com", (SmtpAuthImpact)42, (SmtpAuthMigrationPath)77);
            string html = Render(new[] { odd, Client("a@contoso.com", SmtpAuthImpact.Breaks, SmtpAuthMigrationPath.OAuth, "2026-11-01=1") });

            Assert.Equal(1, CountOf(html, "Other"));
            Assert.Contains("data-impact=\"42\" data-path=\"77\"", html, StringComparison.Ordinal);
            string[] rows = Regex.Matches(html, "<span class=\"upn\">([^<]+)</span>").Cast<Match>().Select(m => m.Groups[1].Value).ToArray();
            Assert.Equal(new[] { "a@contoso.com", "odd@contoso.com" }, rows);
        }
    }
}
