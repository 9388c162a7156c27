using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    public class ResolverTests
    {
        private static readonly DateTimeOffset Today = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
        private readonly SmtpAuthErrorResolver _resolver = new SmtpAuthErrorResolver(clock: () => Today);

        public static IEnumerable<object[]> Cases()
        {
            string path = Path.Combine(AppContext.BaseDirectory, "Data", "CatalogCases.json");
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
            foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
            {
                yield return new object[] { new CatalogCase(c) };
            }
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void Catalog_case_resolves_to_its_expected_top_cause(CatalogCase c)
        {
            var evidence = new ErrorEvidence(c.Input) { AuthMethod = c.AuthMethod };
            IReadOnlyList<SmtpAuthFinding> findings = _resolver.Resolve(evidence);
            SmtpAuthFinding top = findings[0];
            Assert.True(c.ExpectedTopCauseId == top.CauseId, $"{c}: expected {c.ExpectedTopCauseId}, got {string.Join(", ", findings.Select(f => f.CauseId + "/" + f.Verdict))}");
            Assert.Equal(c.ExpectedReplyCode, top.ReplyCode);
            Assert.Equal(c.ExpectedEnhancedStatusCode, top.EnhancedStatusCode);
            if (c.ExpectedDiagnosticServer is not null)
            {
                Assert.Equal(c.ExpectedDiagnosticServer, top.DiagnosticServer);
            }

            Assert.Equal(c.Entry, top.CatalogEntry);
            Assert.Equal(1, top.Rank);

            // Text alone never confirms: the top finding has the verdict its catalog entry gives it for this auth method
            // (issue 11: "not Confirmed" alone held for every input, so it could not fail).
            CauseReference reference = ErrorCatalog.Embedded.Entries.Single(e => e.Id == c.Entry).Causes.First(r => r.CauseId == top.CauseId);
            Verdict expected = reference.VerdictFor(evidence.AuthMethod) == CatalogVerdict.Likely ? Verdict.Likely : Verdict.Possible;
            Assert.True(expected == top.Verdict, $"{c}: {top.CauseId} is {top.Verdict}, the catalog says {reference.VerdictFor(evidence.AuthMethod)}");
        }

        [Fact]
        public void Every_catalog_entry_has_at_least_two_realistic_cases()
        {
            // Cases written for an entry, and real texts of the corpus (RealWorldErrors.tsv) that the entry gets right.
            var counts = Cases().Select(o => ((CatalogCase)o[0]).Entry).GroupBy(e => e).ToDictionary(g => g.Key, g => g.Count());
            foreach (RealWorldCorpusTests.Row row in RealWorldCorpusTests.Load())
            {
                SmtpAuthFinding top = _resolver.Resolve(new ErrorEvidence(row.Text))[0];
                if (top.CauseId == row.Expected && top.CatalogEntry is string entry)
                {
                    counts[entry] = counts.TryGetValue(entry, out int n) ? n + 1 : 1;
                }
            }

            string[] thin = ErrorCatalog.Embedded.Entries.Select(e => e.Id).Where(id => !counts.TryGetValue(id, out int n) || n < 2).ToArray();
            Assert.True(thin.Length == 0, "entries with fewer than two cases: " + string.Join(", ", thin));
        }

        [Fact]
        public void Cases_are_not_only_bare_canonical_replies()
        {
            foreach (IGrouping<string, CatalogCase> g in Cases().Select(o => (CatalogCase)o[0]).GroupBy(c => c.Entry))
            {
                Assert.True(g.Any(c => !System.Text.RegularExpressions.Regex.IsMatch(c.Input, @"^\d{3}[ -]\d\.\d{1,3}\.\d{1,3} ")), $"{g.Key} has no wrapped input");
            }
        }

        [Fact]
        public void Findings_are_ranked_and_carry_catalog_version()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.3 Authentication unsuccessful"));
            Assert.True(f.Count > 1);
            Assert.Equal(Enumerable.Range(1, f.Count), f.Select(x => x.Rank));
            Assert.All(f, x => Assert.Equal(ErrorCatalog.Embedded.Version, x.CatalogVersion));
            Assert.True(f.Select(x => x.Verdict).SequenceEqual(f.Select(x => x.Verdict).OrderBy(v => v)));
            Assert.Equal(f.Count, f.Select(x => x.CauseId).Distinct().Count());
        }

        [Fact]
        public void Oauth_context_excludes_credential_causes_and_basic_excludes_token_causes()
        {
            var oauth = _resolver.Resolve(new ErrorEvidence("535 5.7.3 Authentication unsuccessful") { AuthMethod = SmtpAuthMethod.OAuth }).Select(f => f.CauseId).ToList();
            var basic = _resolver.Resolve(new ErrorEvidence("535 5.7.3 Authentication unsuccessful") { AuthMethod = SmtpAuthMethod.Basic }).Select(f => f.CauseId).ToList();
            Assert.Equal("OAuthTokenRejected", oauth[0]);
            Assert.DoesNotContain("InvalidCredentials", oauth);
            Assert.Contains("TokenWrongAudience", oauth);
            Assert.Equal("InvalidCredentials", basic[0]);
            Assert.DoesNotContain("TokenWrongAudience", basic);
        }

        [Fact]
        public void The_retirement_reply_reads_differently_before_and_after_the_default_change()
        {
            const string reply = "550 5.7.30 Basic authentication is not supported for Client Submission. [AB1PR01CA0001.eurprd01.prod.outlook.com {0} 08DE0000AAAA0001]";
            SmtpAuthFinding before = _resolver.Resolve(new ErrorEvidence(string.Format(System.Globalization.CultureInfo.InvariantCulture, reply, "2026-06-01T10:00:00.000Z")))[0];
            SmtpAuthFinding after = _resolver.Resolve(new ErrorEvidence(string.Format(System.Globalization.CultureInfo.InvariantCulture, reply, "2027-03-01T10:00:00.000Z")))[0];
            Assert.Equal("BasicAuthRetired", before.CauseId);
            Assert.Equal("BasicAuthRetired", after.CauseId);
            Assert.NotEqual(before.Remediation + before.Title, after.Remediation + after.Title);
        }

        [Fact]
        public void After_the_default_off_the_basic_auth_disabled_reply_names_the_default_change()
        {
            // Issue 12: the rejection a sender gets after the end-of-December 2026 default-off names it as the cause.
            const string reply = "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [AB1PR01CA0001.eurprd01.prod.outlook.com {0} 08DE0000AAAA0001]";
            SmtpAuthFinding before = _resolver.Resolve(new ErrorEvidence(string.Format(System.Globalization.CultureInfo.InvariantCulture, reply, "2026-11-02T10:00:00.000Z")))[0];
            SmtpAuthFinding after = _resolver.Resolve(new ErrorEvidence(string.Format(System.Globalization.CultureInfo.InvariantCulture, reply, "2027-01-05T10:00:00.000Z")))[0];
            Assert.Equal("BasicAuthDisabledForAccount", before.CauseId);
            Assert.Equal("BasicAuthDisabledForAccount", after.CauseId);
            Assert.DoesNotContain("December 2026", before.Title, StringComparison.Ordinal);
            Assert.Contains("default since the end of December 2026", after.Title, StringComparison.Ordinal);
            Assert.Contains("Get-SmtpAuthClient", after.Remediation, StringComparison.Ordinal);
            Assert.Contains("(As of 2027-01-05, the time in the reply's diagnostic tail.)", after.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void A_dated_reading_says_which_date_it_is_for()
        {
            // Issue 10: dates in evidence come from the reply's timestamp when there is one, else "as of" today.
            const string stamped = "550 5.7.30 Basic authentication is not supported for Client Submission. [AB1PR01CA0001.eurprd01.prod.outlook.com 2027-03-01T10:00:00.000Z 08DE0000AAAA0001]";
            var today = new SmtpAuthErrorResolver(clock: () => new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));
            SmtpAuthFinding fromReply = today.Resolve(new ErrorEvidence(stamped))[0];
            Assert.Contains("(As of 2027-03-01, the time in the reply's diagnostic tail.)", fromReply.Evidence, StringComparison.Ordinal);

            SmtpAuthFinding undated = today.Resolve(new ErrorEvidence("550 5.7.30 Basic authentication is not supported for Client Submission."))[0];
            Assert.Equal("BasicAuthRetired", undated.CauseId);
            Assert.Contains("(As of 2026-11-30, today; no date came with the text.)", undated.Evidence, StringComparison.Ordinal);
            Assert.Contains("before 2026-12-31", undated.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void A_5_7_57_after_a_failed_AUTH_is_the_symptom_not_the_cause()
        {
            // The client's AUTH got 451 4.7.0 and its MAIL FROM then got 530 5.7.57: the 451 is what to fix.
            const string log = "530 5.7.57 Client not authenticated to send mail. [DM6PR02CA0001.namprd02.prod.outlook.com]\n451 4.7.0 Temporary server error. Please try again later. PRX4 [DM6PR02CA0001.namprd02.prod.outlook.com]";
            IReadOnlyList<SmtpAuthFinding> findings = _resolver.Resolve(new ErrorEvidence(log));
            Assert.Equal("TemporaryServerError", findings[0].CauseId);
            SmtpAuthFinding symptom = Assert.Single(findings, f => f.CauseId == "NotAuthenticated");
            Assert.Equal(Verdict.Possible, symptom.Verdict);
            Assert.Contains("failed AUTH", symptom.Evidence, StringComparison.Ordinal);

            // Alone, 5.7.57 is still the answer.
            Assert.Equal("NotAuthenticated", _resolver.Resolve(new ErrorEvidence("530 5.7.57 Client not authenticated to send mail. [DM6PR02CA0001.namprd02.prod.outlook.com]"))[0].CauseId);
        }

        [Fact]
        public void Unrecognized_next_steps_fit_what_was_given_text_or_a_probe()
        {
            // Issue 10: pasted text has no phase to follow; a probe result must not be told to run the probe again.
            SmtpAuthFinding text = Assert.Single(_resolver.Resolve(new ErrorEvidence("550 5.9.77 Something nobody has seen")));
            Assert.DoesNotContain("phase that failed", text.Remediation, StringComparison.Ordinal);
            Assert.Contains("Test-SmtpAuth", text.Remediation, StringComparison.Ordinal);

            var probe = new ErrorEvidence("550 5.9.77 Something nobody has seen") { FromProbe = true, FailedPhase = SmtpPhase.Auth, Server = "mail.example.net", Port = 2525 };
            SmtpAuthFinding fromProbe = Assert.Single(_resolver.Resolve(probe));
            Assert.Equal("Unrecognized", fromProbe.CauseId);
            Assert.Contains("stopped in the Auth phase against mail.example.net:2525", fromProbe.Remediation, StringComparison.Ordinal);
            Assert.DoesNotContain("Test-SmtpAuth", fromProbe.Remediation + fromProbe.Checks, StringComparison.Ordinal);
        }

        [Fact]
        public void Unknown_text_gives_one_unrecognized_finding_with_parsed_codes()
        {
            SmtpAuthFinding f = Assert.Single(_resolver.Resolve(new ErrorEvidence("550 5.9.77 Something nobody has seen")));
            Assert.Equal("Unrecognized", f.CauseId);
            Assert.Equal(550, f.ReplyCode);
            Assert.Equal("5.9.77", f.EnhancedStatusCode);
            Assert.Contains("permanent failure", f.Evidence, StringComparison.Ordinal);
            Assert.Null(f.CatalogEntry);
        }

        [Fact]
        public void Text_without_any_code_is_unrecognized_not_an_exception()
        {
            SmtpAuthFinding f = Assert.Single(_resolver.Resolve(new ErrorEvidence("the printer says no")));
            Assert.Equal("Unrecognized", f.CauseId);
            Assert.Null(f.ReplyCode);
        }

        [Fact]
        public void User_fills_the_fix_command()
        {
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.") { UserPrincipalName = "scanner@contoso.com" })[0];
            Assert.Equal("Set-CASMailbox -Identity 'scanner@contoso.com' -SmtpClientAuthenticationDisabled $false", f.RemediationCommand);
            Assert.Equal("scanner@contoso.com", f.UserPrincipalName);
        }

        public sealed class CatalogCase
        {
            public CatalogCase(JsonElement e)
            {
                Entry = e.GetProperty("entry").GetString()!;
                Name = e.TryGetProperty("name", out JsonElement n) ? n.GetString() ?? string.Empty : string.Empty;
                Input = e.GetProperty("input").GetString()!;
                AuthMethod = e.TryGetProperty("authMethod", out JsonElement a) && Enum.TryParse(a.GetString(), out SmtpAuthMethod m) ? m : SmtpAuthMethod.Unknown;
                ExpectedTopCauseId = e.GetProperty("expectedTopCauseId").GetString()!;
                ExpectedReplyCode = e.TryGetProperty("expectedReplyCode", out JsonElement rc) && rc.ValueKind == JsonValueKind.Number ? rc.GetInt32() : null;
                ExpectedEnhancedStatusCode = e.TryGetProperty("expectedEnhancedStatusCode", out JsonElement ec) && ec.ValueKind == JsonValueKind.String ? ec.GetString() : null;
                ExpectedDiagnosticServer = e.TryGetProperty("expectedDiagnosticServer", out JsonElement ds) && ds.ValueKind == JsonValueKind.String ? ds.GetString() : null;
            }

            public string Entry { get; }
            public string Name { get; }
            public string Input { get; }
            public SmtpAuthMethod AuthMethod { get; }
            public string ExpectedTopCauseId { get; }
            public int? ExpectedReplyCode { get; }
            public string? ExpectedEnhancedStatusCode { get; }
            public string? ExpectedDiagnosticServer { get; }

            public override string ToString() => Entry + ": " + Name;
        }
    }
}
