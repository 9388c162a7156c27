using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// What real SMTP client software prints when the ExoEmulator answers as Exchange Online does. Data/RealClientErrors.tsv
    /// holds, per row, the client, its version, the emulator scenario, the CauseId(s) the text supports and the text exactly
    /// as the client printed it (its usual error handling: print(e), err.message, $_.Exception.Message, ex.Message, the
    /// curl/swaks/msmtp stderr); each row was printed by that client and version against the ExoEmulator's reply for that
    /// scenario, captured by tests/Peers/clients/Invoke-ClientMatrix.ps1 (secrets masked). These texts are not from users:
    /// they are kept apart from RealWorldErrors.tsv. Where a client drops what the server said (PHPMailer's "Could not
    /// authenticate.", System.Net.Mail's 5.7.57 after an ignored 535, a bare 535 5.7.3 whose mechanism the text does not
    /// show) the expected reading is the one the text supports, not the scenario's cause: Data/RealClientErrors.md says why
    /// for each such row. Several CauseIds separated by '|' mean the text cannot tell them apart; the top-1 must be one.
    /// </summary>
    public class RealClientErrorsTests
    {
        internal sealed record Row(string Client, string ClientVersion, string Scenario, string[] Expected, string Text);

        internal static List<Row> Load()
        {
            string path = Path.Combine(AppContext.BaseDirectory, "Data", "RealClientErrors.tsv");
            var rows = new List<Row>();
            foreach (string line in File.ReadLines(path).Skip(1))
            {
                if (line.Length == 0)
                {
                    continue;
                }

                string[] f = line.Split('\t');
                Assert.True(f.Length == 5, "a row needs client, clientVersion, scenario, expectedCauseId, text: " + line);
                rows.Add(new Row(f[0], f[1], f[2], f[3].Split('|'), RealWorldCorpusTests.Unescape(f[4])));
            }

            return rows;
        }

        [Fact]
        public void The_data_is_well_formed()
        {
            List<Row> rows = Load();
            Assert.True(rows.Count >= 150, $"only {rows.Count} rows");
            var known = new HashSet<string>(ErrorCatalog.Embedded.Causes.Keys, StringComparer.Ordinal);
            foreach (Row row in rows)
            {
                Assert.False(string.IsNullOrWhiteSpace(row.Client));
                Assert.Matches(@"\d", row.ClientVersion);
                Assert.All(row.Expected, id => Assert.True(known.Contains(id), $"{row.Client}/{row.Scenario}: {id} is not a CauseId"));
                Assert.False(string.IsNullOrWhiteSpace(row.Text));
                Assert.DoesNotContain("Demo-", row.Text, StringComparison.Ordinal);   // no test password ever
                Assert.DoesNotContain("eyJ", row.Text, StringComparison.Ordinal);     // no JWT ever
            }

            Assert.Equal(rows.Count, rows.Select(r => r.Client + "/" + r.Scenario).Distinct().Count());
        }

        [Fact]
        public void Every_client_text_reads_as_the_cause_it_carries()
        {
            var resolver = new SmtpAuthErrorResolver(clock: () => new DateTimeOffset(2026, 12, 2, 16, 0, 0, TimeSpan.Zero));
            var misses = new List<string>();
            foreach (Row row in Load())
            {
                string[] ids = resolver.Resolve(new ErrorEvidence(row.Text)).Where(f => f.Verdict != Verdict.RuledOut).Select(f => f.CauseId).ToArray();
                string top = ids.FirstOrDefault() ?? "(none)";
                if (!row.Expected.Contains(top))
                {
                    misses.Add($"{row.Client} {row.ClientVersion} / {row.Scenario}: expected {string.Join("|", row.Expected)}, got {string.Join(", ", ids.Take(3))} | {row.Text.Replace('\n', ' ')}");
                }
            }

            Assert.True(misses.Count == 0, misses.Count + " misread:\n" + string.Join("\n", misses));
        }
    }
}
