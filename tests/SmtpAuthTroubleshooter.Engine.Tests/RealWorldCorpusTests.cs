using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;
using Xunit.Abstractions;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 10: accuracy on what people really paste. Data/RealWorldErrors.tsv holds error texts users posted in public
    /// issue threads, Q&amp;A pages and logs, exactly as their client printed them, each with its source and the cause
    /// the thread's resolution (or, marked "unresolved:", the text itself) shows, and the SMTP authentication method the
    /// thread says the client used (statedAuth: OAuth, Basic, or empty where the thread does not say or was not read; it is
    /// filled for the rows whose text alone does not name the cause — bare 5.7.3/5.7.139 replies and generic client
    /// messages). Accuracy is measured twice: on the text alone, as an admin pastes it, and with -AuthMethod set to the
    /// stated method, as an admin who knows how the app signs in would run it. The floors below only ever go up for a given
    /// corpus; rows added later (the 342 after line 359 were collected blind, in six rounds on 2026-12-01 and four more, of
    /// devices and appliances, business applications, automation and other languages, on 2026-12-02: see
    /// Data/RealWorldErrors.collection-2026-12.md) reset them to the new measure,
    /// and the first 358 rows keep floors of their own.
    /// One exception, made on purpose: the SNM_TIMEOUT entry (System.Net.Mail's "The operation has timed out" read first as
    /// port 465 with TLS on connect, as Microsoft documents that System.Net.Mail cannot do) turns two later rows right and
    /// one of the first 358 wrong (NLog/NLog#2134, an intermittent time-out, labelled ConnectionFailed, which stays the
    /// second reading): those floors went down by that one row (337 to 336 of 358; with the stated method 341 to 340).
    /// A second, on 2026-12-02: Microsoft's Dynamics 365 email troubleshooting names MFA for "the request did not meet the
    /// criteria to be authenticated successfully", so the CRITERIA entry gives MfaRequired and the Conditional Access block
    /// both as Likely, MFA first (it gave the block Likely, MFA Possible, on no public source). Three of the first 358 rows,
    /// all "unresolved:" and labelled with the block by their collector's reading (gophish/gophish#3220, ShareX/ShareX#6699,
    /// grokability/snipe-it#16969), now have it second: 336 to 333, with the stated method 340 to 337.
    /// </summary>
    public class RealWorldCorpusTests
    {
        /// <summary>The measured top-1 accuracy may not fall below this (a fraction of the rows).</summary>
        internal const double Top1Floor = 0.895;

        /// <summary>The floor with -AuthMethod set to the method the thread states.</summary>
        internal const double Top1FloorWithStatedAuth = 0.905;

        /// <summary>The rows collected before 2026-12-01 (the first 358): their floors from before the blind batch was added.</summary>
        internal const int OriginalRows = 358;

        internal const double OriginalTop1Floor = 0.930;

        internal const double OriginalTop1FloorWithStatedAuth = 0.941;

        private readonly ITestOutputHelper _output;

        public RealWorldCorpusTests(ITestOutputHelper output) => _output = output;

        internal sealed class Row
        {
            public Row(string cls, string expected, string source, SmtpAuthMethod statedAuth, string text)
            {
                Class = cls;
                Expected = expected;
                Source = source;
                StatedAuth = statedAuth;
                Text = text;
            }

            public string Class { get; }
            public string Expected { get; }
            public string Source { get; }
            public SmtpAuthMethod StatedAuth { get; }
            public string Text { get; }
        }

        internal static List<Row> Load()
        {
            string path = Path.Combine(AppContext.BaseDirectory, "Data", "RealWorldErrors.tsv");
            var rows = new List<Row>();
            foreach (string line in File.ReadLines(path).Skip(1))
            {
                if (line.Length == 0)
                {
                    continue;
                }

                string[] f = line.Split('\t');
                Assert.True(f.Length == 5, "a row needs class, expectedCauseId, source, statedAuth, text: " + line);
                SmtpAuthMethod stated = f[3] switch
                {
                    "" => SmtpAuthMethod.Unknown,
                    "Basic" => SmtpAuthMethod.Basic,
                    "OAuth" => SmtpAuthMethod.OAuth,
                    _ => throw new InvalidDataException("statedAuth is OAuth, Basic or empty: " + line),
                };
                rows.Add(new Row(f[0], f[1], f[2], stated, Unescape(f[4])));
            }

            return rows;
        }

        // The file escapes a backslash as \\, a tab as \t and a line break as \n, so that each text is one line.
        internal static string Unescape(string s)
        {
            var sb = new StringBuilder(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                if (s[i] == '\\' && i + 1 < s.Length)
                {
                    char n = s[++i];
                    sb.Append(n switch { 'n' => '\n', 't' => '\t', '\\' => '\\', _ => n });
                    if (n != 'n' && n != 't' && n != '\\')
                    {
                        sb.Insert(sb.Length - 1, '\\');
                    }
                }
                else
                {
                    sb.Append(s[i]);
                }
            }

            return sb.ToString();
        }

        internal sealed class Score
        {
            public int Rows { get; set; }
            public int Top1 { get; set; }
            public int Top3 { get; set; }
            public List<string> Misses { get; } = new List<string>();
        }

        /// <summary>Resolves every row as pasted text (no state; the auth method only when <paramref name="withStatedAuth"/>)
        /// and scores the top cause and the top three.</summary>
        internal static (Score All, SortedDictionary<string, Score> ByClass) Measure(IEnumerable<Row> rows, bool withStatedAuth = false)
        {
            var resolver = new SmtpAuthErrorResolver(clock: () => new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
            var all = new Score();
            var byClass = new SortedDictionary<string, Score>(StringComparer.Ordinal);
            foreach (Row row in rows)
            {
                var evidence = new ErrorEvidence(row.Text) { AuthMethod = withStatedAuth ? row.StatedAuth : SmtpAuthMethod.Unknown };
                IReadOnlyList<SmtpAuthFinding> findings = resolver.Resolve(evidence);
                string[] ids = findings.Where(f => f.Verdict != Verdict.RuledOut).Select(f => f.CauseId).ToArray();
                bool top1 = ids.Length > 0 && ids[0] == row.Expected;
                bool top3 = ids.Take(3).Contains(row.Expected);
                if (!byClass.TryGetValue(row.Class, out Score? cls))
                {
                    byClass[row.Class] = cls = new Score();
                }

                foreach (Score s in new[] { all, cls })
                {
                    s.Rows++;
                    s.Top1 += top1 ? 1 : 0;
                    s.Top3 += top3 ? 1 : 0;
                }

                if (!top1)
                {
                    all.Misses.Add(string.Format(CultureInfo.InvariantCulture, "{0,-26} expected {1,-30} got {2,-30} {3} | {4}",
                        row.Class, row.Expected, ids.FirstOrDefault() ?? "(none)", row.Source, Shorten(row.Text)));
                }
            }

            return (all, byClass);
        }

        private static string Shorten(string text)
        {
            string one = text.Replace('\n', ' ').Replace('\r', ' ');
            return one.Length > 160 ? string.Concat(one.AsSpan(0, 160), "...") : one;
        }

        internal static string Report(Score all, SortedDictionary<string, Score> byClass, string mode = "the text alone")
        {
            var sb = new StringBuilder();
            sb.AppendFormat(CultureInfo.InvariantCulture, "Real-world corpus, {5}: {0} rows, top-1 {1:P2} ({2}), top-3 {3:P2} ({4})\n", all.Rows, (double)all.Top1 / all.Rows, all.Top1, (double)all.Top3 / all.Rows, all.Top3, mode);
            foreach (KeyValuePair<string, Score> c in byClass)
            {
                sb.AppendFormat(CultureInfo.InvariantCulture, "  {0,-32} {1,4} rows  top-1 {2,6:P0}  top-3 {3,6:P0}\n", c.Key, c.Value.Rows, (double)c.Value.Top1 / c.Value.Rows, (double)c.Value.Top3 / c.Value.Rows);
            }

            return sb.ToString();
        }

        [Fact]
        public void The_corpus_is_real_and_well_formed()
        {
            List<Row> rows = Load();
            Assert.True(rows.Count >= 300, $"only {rows.Count} rows");
            var known = new HashSet<string>(ErrorCatalog.Embedded.Causes.Keys, StringComparer.Ordinal);
            foreach (Row row in rows)
            {
                Assert.True(known.Contains(row.Expected), $"{row.Source}: {row.Expected} is not a CauseId of the catalog");
                Assert.Matches(@"^(unresolved:)?([\w.-]+/[\w.-]+(#\d+|:\S+)|https?://\S+)$", row.Source);
                Assert.False(string.IsNullOrWhiteSpace(row.Text), row.Source);
            }

            // Every stated method is backed by what the thread (or the client's own code) says: Data/RealWorldErrors.statedAuth.tsv
            // holds the source, the method and a short quote for each.
            var evidence = new HashSet<string>(File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Data", "RealWorldErrors.statedAuth.tsv"))
                .Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t'))
                .Where(f => f.Length == 3 && f[2].Trim().Length > 0).Select(f => f[0] + "\t" + f[1]), StringComparer.Ordinal);
            foreach (Row row in rows.Where(r => r.StatedAuth != SmtpAuthMethod.Unknown))
            {
                Assert.True(evidence.Contains(row.Source + "\t" + row.StatedAuth), $"{row.Source}: statedAuth {row.StatedAuth} has no evidence line in RealWorldErrors.statedAuth.tsv");
            }

            // No failure class may dominate: the figure is about many kinds of failure, not one.
            foreach (IGrouping<string, Row> g in rows.GroupBy(r => r.Class))
            {
                Assert.True(g.Count() <= rows.Count * 0.15, $"{g.Key} has {g.Count()} of {rows.Count} rows");
            }
        }

        [Fact]
        public void No_finding_speaks_of_a_command_it_does_not_show()
        {
            // A reply from another server gets that server's fix and no Exchange Online command; its text must not then
            // tell the admin to fill in the placeholders of that command (Zoho's "Relaying disallowed as", blind round 8).
            var resolver = new SmtpAuthErrorResolver(clock: () => new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
            var wrong = new List<string>();
            foreach (Row row in Load())
            {
                foreach (SmtpAuthFinding f in resolver.Resolve(new ErrorEvidence(row.Text) { AuthMethod = row.StatedAuth }))
                {
                    if (string.IsNullOrEmpty(f.RemediationCommand) && f.Remediation.Contains("In the command, replace", StringComparison.Ordinal))
                    {
                        wrong.Add(row.Source + ": " + f.CauseId);
                    }
                }
            }

            Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        }

        [Fact]
        public void Accuracy_does_not_fall_below_the_floor()
        {
            (Score all, SortedDictionary<string, Score> byClass) = Measure(Load());
            (Score stated, SortedDictionary<string, Score> statedByClass) = Measure(Load(), withStatedAuth: true);
            string report = Report(all, byClass);
            string statedReport = Report(stated, statedByClass, "with -AuthMethod as the thread states it");
            _output.WriteLine(report);
            _output.WriteLine("Misses:\n" + string.Join("\n", all.Misses));
            File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "corpus-report.txt"), report + "\nMisses:\n" + string.Join("\n", all.Misses) + "\n\n"
                + statedReport + "\nMisses:\n" + string.Join("\n", stated.Misses) + "\n");
            double top1 = (double)all.Top1 / all.Rows;
            Assert.True(top1 >= Top1Floor, string.Format(CultureInfo.InvariantCulture, "top-1 accuracy {0:P1} fell below the floor {1:P1}\n{2}", top1, Top1Floor, report));
            double statedTop1 = (double)stated.Top1 / stated.Rows;
            Assert.True(statedTop1 >= Top1FloorWithStatedAuth, string.Format(CultureInfo.InvariantCulture, "top-1 accuracy with the stated method {0:P1} fell below the floor {1:P1}\n{2}", statedTop1, Top1FloorWithStatedAuth, statedReport));

            // The rows the catalog was first written against may not lose what they had when the blind batch came in.
            List<Row> original = Load().Take(OriginalRows).ToList();
            (Score o, _) = Measure(original);
            (Score os, _) = Measure(original, withStatedAuth: true);
            Assert.True((double)o.Top1 / o.Rows >= OriginalTop1Floor, string.Format(CultureInfo.InvariantCulture, "the first {0} rows: top-1 {1:P1} fell below {2:P1}\n{3}", OriginalRows, (double)o.Top1 / o.Rows, OriginalTop1Floor, string.Join("\n", o.Misses)));
            Assert.True((double)os.Top1 / os.Rows >= OriginalTop1FloorWithStatedAuth, string.Format(CultureInfo.InvariantCulture, "the first {0} rows with the stated method: top-1 {1:P1} fell below {2:P1}\n{3}", OriginalRows, (double)os.Top1 / os.Rows, OriginalTop1FloorWithStatedAuth, string.Join("\n", os.Misses)));
        }

        [Fact]
        public void The_stated_method_is_read_and_used()
        {
            List<Row> rows = Load();
            Assert.Contains(rows, r => r.StatedAuth == SmtpAuthMethod.OAuth);
            Assert.Contains(rows, r => r.StatedAuth == SmtpAuthMethod.Basic);

            // A bare 535 5.7.3 is a wrong password for basic auth and a refused token for OAuth: the stated method decides.
            Row bare = rows.First(r => r.StatedAuth == SmtpAuthMethod.OAuth && r.Expected == "OAuthTokenRejected" && r.Text.Trim() == "535 5.7.3 Authentication unsuccessful");
            (Score textOnly, _) = Measure(new[] { bare });
            (Score withMethod, _) = Measure(new[] { bare }, withStatedAuth: true);
            Assert.Equal(0, textOnly.Top1);
            Assert.Equal(1, withMethod.Top1);
        }
    }
}
