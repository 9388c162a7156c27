using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;
using Xunit.Abstractions;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 6: a mutation fuzzer over the reply parser and the catalog matcher. Fixed seed and iteration count in CI
    /// (SMTPAUTH_FUZZ_ITERATIONS, default 3,000); `build.ps1 Fuzz` runs it long. No exception may escape, every
    /// result is deterministic, and the worst time per input is reported and bounded (the regex timeouts bound it; the
    /// bound is generous for these shared machines, so it fails a hang or a backtracking blow-up, not a slow run).
    /// </summary>
    public class ParserFuzzTests
    {
        private static readonly string[] s_hostile =
        {
            "Error: ", "Error: Error: Error: ", "535 5.7.139 ", "5.7.57 ", "[", "]", "[[[[[[[[[[", "((((((((", "\\", "\\n", "\r\n", "\u0000", "\u0001", "\u001b[31m",
            "\ud800", "\udfff", "\uffff", "\u202e", "AUTH XOAUTH2 ", "250-AUTH LOGIN XOAUTH2", "Authentication unsuccessful, ", "(535, b'", "')",
            "5.5.5.5.5.5.5.5.5.5.5", "999 9.9.9 ", "4.7.66", "Visit https://aka.ms/smtp_auth_disabled for more information.",
            " [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM 2023-11-29T14:52:57.126Z 08DBE7319275F6BA]", "[Hostname=A.B.C]",
            new string('a', 5000), new string('5', 3000), new string(' ', 4000), new string('.', 3000), string.Concat(Enumerable.Repeat("535 ", 2000)),
        };

        private readonly ITestOutputHelper _output;

        public ParserFuzzTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public void Fuzzed_input_never_throws_is_deterministic_and_bounded()
        {
            int iterations = int.TryParse(Environment.GetEnvironmentVariable("SMTPAUTH_FUZZ_ITERATIONS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 3000;
            var random = new Random(20261126);
            var resolver = new SmtpAuthErrorResolver(clock: () => new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));
            List<string> seeds = Seeds();
            var failures = new List<string>();
            double worstMs = 0;
            string worstInput = string.Empty;
            var stopwatch = new Stopwatch();
            for (int i = 0; i < iterations; i++)
            {
                string input = Mutate(random, seeds);
                try
                {
                    stopwatch.Restart();
                    IReadOnlyList<SmtpAuthFinding> first = resolver.Resolve(new ErrorEvidence(input) { AuthMethod = (SmtpAuthMethod)(i % 3) });
                    stopwatch.Stop();
                    if (stopwatch.Elapsed.TotalMilliseconds > worstMs)
                    {
                        worstMs = stopwatch.Elapsed.TotalMilliseconds;
                        worstInput = input.Length > 120 ? string.Concat(input.AsSpan(0, 120), "... (" + input.Length.ToString(CultureInfo.InvariantCulture) + " chars)") : input;
                    }

                    Assert.NotEmpty(first);
                    if (i % 7 == 0)
                    {
                        IReadOnlyList<SmtpAuthFinding> again = resolver.Resolve(new ErrorEvidence(input) { AuthMethod = (SmtpAuthMethod)(i % 3) });
                        Assert.Equal(Signature(first), Signature(again));
                    }
                }
                catch (Exception ex) when (failures.Count < 5)
                {
                    failures.Add(ex.GetType().Name + ": " + ex.Message + " on input " + JsonSerializer.Serialize(input.Length > 300 ? input.Substring(0, 300) : input));
                }
            }

            _output.WriteLine(string.Format(CultureInfo.InvariantCulture, "fuzz: {0} iterations, worst {1:F2} ms on {2}", iterations, worstMs, JsonSerializer.Serialize(worstInput)));
            string report = Path.Combine(AppContext.BaseDirectory, "fuzz-report.txt");
            File.WriteAllText(report, string.Format(CultureInfo.InvariantCulture, "iterations={0}\nworstMs={1:F3}\nworstInput={2}\n", iterations, worstMs, JsonSerializer.Serialize(worstInput)));
            Assert.True(failures.Count == 0, string.Join("\n", failures));

            // Issue 11: the bound used to be printed only. A few milliseconds is typical and about a second the worst
            // seen on a loaded two-core machine; an input that takes longer than this has escaped the regex timeouts.
            Assert.True(worstMs < WorstInputBoundMs, string.Format(CultureInfo.InvariantCulture, "the worst input took {0:F0} ms (bound {1} ms): {2}", worstMs, WorstInputBoundMs, worstInput));
        }

        /// <summary>The longest one input may take through the parser and the catalog.</summary>
        private const double WorstInputBoundMs = 10_000;

        [Fact]
        public void A_megabyte_line_and_nested_error_chains_are_handled()
        {
            var resolver = new SmtpAuthErrorResolver();
            string mega = "535 5.7.139 Authentication unsuccessful, account locked. " + new string('x', 1024 * 1024);
            Assert.Equal("AccountLocked", resolver.Resolve(new ErrorEvidence(mega))[0].CauseId);

            string nested = string.Concat(Enumerable.Repeat("The server response was: 5.7.57 Client not authenticated to send mail. Error: ", 200)) + "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.";
            IReadOnlyList<SmtpAuthFinding> f = resolver.Resolve(new ErrorEvidence(nested));
            Assert.Equal("InvalidCredentials", f[0].CauseId);

            byte[] invalidUtf8 = { 0x35, 0x33, 0x35, 0x20, 0xC3, 0x28, 0xA0, 0xA1, 0xE2, 0x28, 0xA1, 0xF0, 0x90, 0x28, 0xBC, 0x20, 0x35, 0x2E, 0x37, 0x2E, 0x33 };
            Assert.NotEmpty(resolver.Resolve(new ErrorEvidence(Encoding.UTF8.GetString(invalidUtf8))));
            Assert.NotEmpty(resolver.Resolve(new ErrorEvidence(Encoding.Latin1.GetString(invalidUtf8))));
        }

        private static string Signature(IReadOnlyList<SmtpAuthFinding> findings) =>
            string.Join("|", findings.Select(f => f.Rank.ToString(CultureInfo.InvariantCulture) + f.CauseId + f.Verdict + f.ReplyCode + f.EnhancedStatusCode + f.DiagnosticServer + f.Evidence));

        private static List<string> Seeds()
        {
            var seeds = new List<string>();
            string path = Path.Combine(AppContext.BaseDirectory, "Data", "CatalogCases.json");
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
            foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
            {
                seeds.Add(c.GetProperty("input").GetString()!);
            }

            return seeds;
        }

        private static string Mutate(Random r, List<string> seeds)
        {
            var sb = new StringBuilder(seeds[r.Next(seeds.Count)]);
            int operations = 1 + r.Next(6);
            for (int op = 0; op < operations; op++)
            {
                int at = sb.Length == 0 ? 0 : r.Next(sb.Length + 1);
                switch (r.Next(9))
                {
                    case 0: // insert a hostile fragment
                        sb.Insert(at, s_hostile[r.Next(s_hostile.Length)]);
                        break;
                    case 1: // delete a range
                        if (sb.Length > 0)
                        {
                            int len = Math.Min(sb.Length - Math.Min(at, sb.Length - 1), 1 + r.Next(40));
                            sb.Remove(Math.Min(at, sb.Length - 1), Math.Max(0, len));
                        }

                        break;
                    case 2: // splice another seed in
                        sb.Insert(at, seeds[r.Next(seeds.Count)]);
                        break;
                    case 3: // random characters, control characters and lone surrogates included
                        for (int k = r.Next(20); k > 0; k--)
                        {
                            sb.Insert(Math.Min(at, sb.Length), (char)r.Next(0, 0xFFFF));
                        }

                        break;
                    case 4: // flip digits (codes outside RFC 5321, odd enhanced codes)
                        for (int k = 0; k < sb.Length; k++)
                        {
                            if (char.IsDigit(sb[k]) && r.Next(4) == 0)
                            {
                                sb[k] = (char)('0' + r.Next(10));
                            }
                        }

                        break;
                    case 5: // duplicate a segment many times
                        if (sb.Length > 0)
                        {
                            int start = r.Next(sb.Length);
                            string piece = sb.ToString(start, Math.Min(sb.Length - start, 1 + r.Next(60)));
                            sb.Insert(at, string.Concat(Enumerable.Repeat(piece, 1 + r.Next(200))));
                        }

                        break;
                    case 6: // invalid UTF-8 bytes decoded the way a log reader would
                        var bytes = new byte[1 + r.Next(30)];
                        r.NextBytes(bytes);
                        sb.Insert(at, Encoding.UTF8.GetString(bytes));
                        break;
                    case 7: // very long line
                        if (r.Next(40) == 0)
                        {
                            sb.Append(new string((char)('a' + r.Next(26)), 1024 * 1024));
                        }

                        break;
                    default: // nested "Error:" chains
                        sb.Insert(at, string.Concat(Enumerable.Repeat(" Error: 535 5.7.139 Authentication unsuccessful, ", 1 + r.Next(50))));
                        break;
                }
            }

            return sb.ToString();
        }
    }
}
