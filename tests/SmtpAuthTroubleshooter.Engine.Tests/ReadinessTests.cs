using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Policy;
using SmtpAuthTroubleshooter.Engine.Readiness;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 12: who still sends with basic SMTP AUTH, what the default-off does to each sender, where each should move.
    /// The engine over a fake Graph transport and a fake Exchange session (the emulated tenant is the cmdlet's test).
    /// </summary>
    public class ReadinessTests
    {
        private static readonly DateTime s_now = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

        private static JsonElement SignIn(string upn, string ip, DateTime when, int errorCode = 0, string client = "Authenticated SMTP", string? city = "Oslo") =>
            JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["userPrincipalName"] = upn,
                ["ipAddress"] = ip,
                ["createdDateTime"] = when.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                ["clientAppUsed"] = client,
                ["status"] = new Dictionary<string, object?> { ["errorCode"] = errorCode, ["failureReason"] = errorCode == 0 ? null : "Invalid username or password." },
                ["location"] = new Dictionary<string, object?> { ["city"] = city, ["countryOrRegion"] = "NO" },
                ["userAgent"] = "BAV2ROPC",
            })).RootElement.Clone();

        [Fact]
        public void Sign_ins_aggregate_per_mailbox_and_IP_with_counts_days_and_the_last_error()
        {
            var a = new SignInAggregator(30, s_now);
            a.Add(SignIn("Scanner@contoso.com", "203.0.113.7", s_now.AddDays(-1)));
            a.Add(SignIn("scanner@contoso.com", "203.0.113.7", s_now.AddDays(-2), 50126));
            a.Add(SignIn("scanner@contoso.com", "203.0.113.7", s_now.AddDays(-2)));
            a.Add(SignIn("scanner@contoso.com", "198.51.100.9", s_now.AddDays(-3)));
            a.Add(SignIn("someone@contoso.com", "198.51.100.9", s_now.AddDays(-3), client: "Browser"));
            a.Add(SignIn("old@contoso.com", "198.51.100.9", s_now.AddDays(-45)));

            IReadOnlyList<SenderUsage> senders = a.Senders;
            SenderUsage main = senders.Single(s => s.Ip == "203.0.113.7");
            Assert.Equal(3, main.Count);
            Assert.Equal(2, main.Successes);
            Assert.Equal(1, main.Failures);
            Assert.Equal(50126, main.LastErrorCode);
            Assert.Equal(s_now.AddDays(-1), main.LastSuccessUtc);
            Assert.Equal("Oslo, NO", main.Location);
            Assert.Equal("BAV2ROPC", main.UserAgent);
            Assert.False(main.TurnedToFailure);
            Assert.Equal(2, senders.Count(s => s.UserPrincipalName.Equals("scanner@contoso.com", StringComparison.OrdinalIgnoreCase)));
            Assert.Equal(1, a.Skipped);
            Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, "{0:yyyy-MM-dd}=2;{1:yyyy-MM-dd}=1", s_now.AddDays(-2), s_now.AddDays(-1)), a.PerDayText(main.PerDay));
            Assert.Equal(4, a.Total().Sum());
        }

        [Fact]
        public void Successes_that_turn_into_failures_are_marked()
        {
            var a = new SignInAggregator(30, s_now);
            for (int d = 20; d >= 5; d--)
            {
                a.Add(SignIn("app@contoso.com", "203.0.113.8", s_now.AddDays(-d)));
            }

            for (int d = 4; d >= 1; d--)
            {
                a.Add(SignIn("app@contoso.com", "203.0.113.8", s_now.AddDays(-d), 50126));
            }

            SenderUsage s = Assert.Single(a.Senders);
            Assert.True(s.TurnedToFailure);
            Assert.Equal(4, s.FailuresSinceLastSuccess);
        }

        public static IEnumerable<object[]> Paths() => new[]
        {
            new object[] { SmtpAuthMigrationPath.None, new SenderFacts { OAuthOnly = true, OAuthSeen = true, BasicSignIns = 0 } },
            new object[] { SmtpAuthMigrationPath.DisableSmtpAuth, new SenderFacts { UserPrincipalName = "o'brien@contoso.com", BasicSignIns = 0, SmtpAuthEnabled = true } },
            new object[] { SmtpAuthMigrationPath.None, new SenderFacts { BasicSignIns = 0, SmtpAuthEnabled = false } },
            new object[] { SmtpAuthMigrationPath.GraphSendMail, new SenderFacts { BasicSignIns = 5, OwnCode = true } },
            new object[] { SmtpAuthMigrationPath.DirectSend, new SenderFacts { BasicSignIns = 5, InternalRecipientsOnly = true, StaticPublicIp = true, RejectDirectSend = false } },
            new object[] { SmtpAuthMigrationPath.HighVolumeEmail, new SenderFacts { BasicSignIns = 5, InternalRecipientsOnly = true, StaticPublicIp = true, RejectDirectSend = true } },
            new object[] { SmtpAuthMigrationPath.AzureCommunicationServices, new SenderFacts { BasicSignIns = 5, InternalRecipientsOnly = false, MessagesSent = 250000 } },
            new object[] { SmtpAuthMigrationPath.ConnectorRelay, new SenderFacts { ClientIp = "203.0.113.7", BasicSignIns = 5, InternalRecipientsOnly = false, StaticPublicIp = true, StaticPublicIPv4 = true } },
            new object[] { SmtpAuthMigrationPath.OAuth, new SenderFacts { BasicSignIns = 5, InternalRecipientsOnly = false } },
            // New-InboundConnector -SenderIPAddresses: "IPv6 addresses are not supported": one public IPv6 address is no connector.
            new object[] { SmtpAuthMigrationPath.OAuth, new SenderFacts { ClientIp = "2001:db8::25", BasicSignIns = 5, InternalRecipientsOnly = false, StaticPublicIp = true, StaticPublicIPv4 = false } },
            new object[] { SmtpAuthMigrationPath.Review, new SenderFacts { BasicSignIns = 5 } },
        };

        [Theory]
        [MemberData(nameof(Paths))]
        public void Every_migration_path_has_a_rule_that_decides_it_and_says_why(SmtpAuthMigrationPath expected, SenderFacts facts)
        {
            var values = new Dictionary<string, string?> { ["UserPrincipalName"] = facts.UserPrincipalName ?? "app@contoso.com", ["ClientIp"] = facts.ClientIp, ["ConnectorName"] = facts.ClientIp is null ? null : "SMTP relay " + facts.ClientIp };
            (SmtpAuthMigrationPath path, string reason, string? command) = MigrationAdvisor.Embedded.Advise(facts, values);
            Assert.Equal(expected, path);
            Assert.False(string.IsNullOrWhiteSpace(reason));
            Assert.Matches("https://", reason);
            if (expected != SmtpAuthMigrationPath.Review)
            {
                Assert.Contains("Decided by:", reason, StringComparison.Ordinal);
            }

            // Commands are parsed with PowerShell's parser in the Cmdlet tests (FixCommandTests); here: nothing left unfilled.
            Assert.DoesNotContain("'<", command ?? string.Empty, StringComparison.Ordinal);
        }

        [Fact]
        public void The_disable_and_relay_commands_are_filled_and_quoted()
        {
            var values = new Dictionary<string, string?> { ["UserPrincipalName"] = "o'brien@contoso.com", ["ClientIp"] = "203.0.113.7", ["ConnectorName"] = "SMTP relay 203.0.113.7" };
            Assert.Equal("Set-CASMailbox -Identity 'o''brien@contoso.com' -SmtpClientAuthenticationDisabled $true",
                MigrationAdvisor.Embedded.Advise(new SenderFacts { BasicSignIns = 0, SmtpAuthEnabled = true }, values).Command);
            // -SenderDomains is mandatory on New-InboundConnector; -RequireTls applies to Partner connectors only.
            Assert.Equal("New-InboundConnector -Name 'SMTP relay 203.0.113.7' -ConnectorType OnPremises -SenderDomains '*' -SenderIPAddresses '203.0.113.7'",
                MigrationAdvisor.Embedded.Advise(new SenderFacts { BasicSignIns = 3, InternalRecipientsOnly = false, StaticPublicIp = true, StaticPublicIPv4 = true }, values).Command);
        }

        [Theory]
        [InlineData("{\"schemaVersion\":1,\"rules\":[{\"path\":\"Teleport\",\"when\":{\"always\":true},\"reason\":\"x\"}]}", "unknown path")]
        [InlineData("{\"schemaVersion\":1,\"rules\":[{\"path\":\"OAuth\",\"when\":{\"fact\":\"Weather\",\"equals\":true},\"reason\":\"x\"},{\"path\":\"Review\",\"when\":{\"always\":true},\"reason\":\"y\"}]}", "unknown fact")]
        [InlineData("{\"schemaVersion\":1,\"rules\":[{\"path\":\"OAuth\",\"when\":{\"fact\":\"OwnCode\",\"equals\":true},\"reason\":\"x\"}]}", "last rule must hold always")]
        public void Bad_migration_rules_are_refused_at_load(string json, string because)
        {
            SmtpAuthTroubleshooterException ex = Assert.Throws<SmtpAuthTroubleshooterException>(() => MigrationAdvisor.Parse(json));
            Assert.Equal("MigrationRulesInvalid", ex.ErrorId);
            Assert.Contains(because, ex.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void Adding_a_path_rule_is_a_data_change()
        {
            MigrationAdvisor custom = MigrationAdvisor.Parse("{\"schemaVersion\":1,\"rules\":[{\"path\":\"AzureCommunicationServices\",\"when\":{\"fact\":\"MessagesSent\",\"atLeast\":5},\"reason\":\"volume\"},{\"path\":\"Review\",\"when\":{\"always\":true},\"reason\":\"y\"}]}");
            Assert.Equal(SmtpAuthMigrationPath.AzureCommunicationServices, custom.Advise(new SenderFacts { MessagesSent = 7 }, new Dictionary<string, string?>()).Path);
            Assert.Equal(SmtpAuthMigrationPath.Review, custom.Advise(new SenderFacts { MessagesSent = 4 }, new Dictionary<string, string?>()).Path);
        }

        // ---- the reader over fakes ----

        private sealed class FakeGraph : IGraphTransport
        {
            public readonly List<string> Urls = new List<string>();
            public int Status = 200;
            public string? ErrorCode;
            public List<JsonElement> Rows = new List<JsonElement>();
            public int PageSize = 2;
            /// <summary>Replaces the body of the page after the first: a broken answer in the middle of the log.</summary>
            public string? SecondPageBody;

            public string Description => "a fake Graph";

            public Task<GraphHttpResponse> SendAsync(string method, string url, string? jsonBody, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
            {
                Urls.Add(url);
                if (Status != 200)
                {
                    return Task.FromResult(new GraphHttpResponse(Status, "{\"error\":{\"code\":\"" + ErrorCode + "\",\"message\":\"Neither tenant is B2C or tenant doesn't have premium license\"}}", null));
                }

                Match skip = Regex.Match(url, @"skiptoken=(\d+)");
                int from = skip.Success ? int.Parse(skip.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
                if (from > 0 && SecondPageBody is not null)
                {
                    return Task.FromResult(new GraphHttpResponse(200, SecondPageBody, null));
                }

                List<JsonElement> page = Rows.Skip(from).Take(PageSize).ToList();
                var body = new Dictionary<string, object?> { ["value"] = page };
                if (from + PageSize < Rows.Count)
                {
                    body["@odata.nextLink"] = "https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=" + (from + PageSize).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return Task.FromResult(new GraphHttpResponse(200, JsonSerializer.Serialize(body), null));
            }
        }

        private sealed class FakeExchange : IExchangeSession
        {
            public readonly List<ExchangeCommand> Log = new List<ExchangeCommand>();
            public readonly Dictionary<string, bool?> Mailboxes = new Dictionary<string, bool?>(StringComparer.OrdinalIgnoreCase);
            public readonly Dictionary<string, string[]> Recipients = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
            public bool TenantSmtpDisabled { get; set; }
            public bool RejectDirectSend = true;
            /// <summary>Get-MessageTraceV2 answers this many queries, then is throttled (null: never).</summary>
            public int? TraceQueriesAllowed;
            public readonly List<string> OtherDomains = new List<string>();
            private int _traceQueries;

            public int Calls => Log.Count;

            public Task<string?> CheckConnectionAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

            public Task InvokeAsync(ExchangeCommand command, Action<ExchangeRecord> onRecord, CancellationToken cancellationToken)
            {
                Log.Add(command);
                foreach (Dictionary<string, object?> r in Answer(command))
                {
                    onRecord(new ExchangeRecord(r));
                }

                return Task.CompletedTask;
            }

            private IEnumerable<Dictionary<string, object?>> Answer(ExchangeCommand c)
            {
                switch (c.Name)
                {
                    case "Get-TransportConfig":
                        yield return new Dictionary<string, object?> { ["SmtpClientAuthenticationDisabled"] = TenantSmtpDisabled };
                        break;
                    case "Get-OrganizationConfig":
                        yield return new Dictionary<string, object?> { ["DefaultAuthenticationPolicy"] = null, ["RejectDirectSend"] = RejectDirectSend };
                        break;
                    case "Get-AuthenticationPolicy":
                        break;
                    case "Get-EXOMailbox":
                    case "Get-EXOCasMailbox":
                    case "Get-User":
                        IEnumerable<string> names = Mailboxes.Keys;
                        if (c.Parameters.TryGetValue("Filter", out object? f) && f is string filter && filter.Contains("-eq", StringComparison.Ordinal))
                        {
                            var wanted = Regex.Matches(filter, @"-eq '((?:[^']|'')*)'").Select(m => m.Groups[1].Value.Replace("''", "'", StringComparison.Ordinal)).ToList();
                            names = names.Where(n => wanted.Contains(n, StringComparer.OrdinalIgnoreCase));
                        }
                        else if (c.Parameters.TryGetValue("Identity", out object? id))
                        {
                            names = names.Where(n => string.Equals(n, (string)id!, StringComparison.OrdinalIgnoreCase));
                        }

                        foreach (string n in names.ToList())
                        {
                            yield return new Dictionary<string, object?> { ["UserPrincipalName"] = n, ["PrimarySmtpAddress"] = n, ["RecipientTypeDetails"] = "UserMailbox", ["SmtpClientAuthenticationDisabled"] = Mailboxes[n], ["AuthenticationPolicy"] = null };
                        }

                        break;
                    case "Get-AcceptedDomain":
                        // -ResultSize: 1000 by default, "Unlimited" for all (Microsoft's Get-AcceptedDomain reference).
                        int domains = !c.Parameters.TryGetValue("ResultSize", out object? limit) ? 1000 : limit is int most ? most : string.Equals(limit as string, "Unlimited", StringComparison.OrdinalIgnoreCase) ? int.MaxValue : throw new ArgumentException("ResultSize " + limit);
                        foreach (string domain in OtherDomains.Append("contoso.com").Take(domains))
                        {
                            yield return new Dictionary<string, object?> { ["DomainName"] = domain, ["DomainType"] = "Authoritative" };
                        }

                        break;
                    case "Get-MessageTraceV2":
                        if (TraceQueriesAllowed is int allowed && ++_traceQueries > allowed)
                        {
                            throw new ExchangeCallException(c.Name, "The request was throttled: at most 100 Get-MessageTraceV2 queries in 5 minutes (TooManyRequests).", notFound: false);
                        }

                        // As documented: rows newest first (then by recipient), at most ResultSize (default 1,000, at most
                        // 5,000) per answer, no paging; -StartingRecipientAddress with -EndDate continues after a row.
                        // Message i of a sender was received i + 1 minutes before "now".
                        string sender = (string)c.Parameters["SenderAddress"]!;
                        string[] all = Recipients.TryGetValue(sender, out string[]? list) ? list : Array.Empty<string>();
                        DateTime from = (DateTime)c.Parameters["StartDate"]!;
                        DateTime until = (DateTime)c.Parameters["EndDate"]!;
                        int size = c.Parameters.TryGetValue("ResultSize", out object? rs) && rs is int asked ? Math.Min(asked, 5000) : 1000;
                        string? after = c.Parameters.TryGetValue("StartingRecipientAddress", out object? sr) ? (string?)sr : null;
                        var rows = all.Select((to, i) => (To: to, Received: s_now.AddMinutes(-(i + 1))))
                            .Where(r => r.Received <= until && r.Received >= from)
                            .Where(r => after is null || r.Received < until || string.Compare(r.To, after, StringComparison.OrdinalIgnoreCase) > 0)
                            .OrderByDescending(r => r.Received).ThenBy(r => r.To, StringComparer.OrdinalIgnoreCase)
                            .Take(size).ToList();
                        foreach ((string to, DateTime received) in rows)
                        {
                            yield return new Dictionary<string, object?> { ["RecipientAddress"] = to, ["Received"] = received };
                        }

                        break;
                    default:
                        throw new ExchangeCallException(c.Name, "not in the fake", notFound: false);
                }
            }
        }

        private sealed class Sink : IDiagnosticSink
        {
            public readonly List<string> Warnings = new List<string>();
            public void Verbose(string message) { }
            public void Warning(string message) => Warnings.Add(message);
            public void Debug(string message) { }
            public void Progress(string activity, string status, int percentComplete) { }
            public void Progress(string activity, string status, int percentComplete, int secondsRemaining) { }
        }

        private static (FakeGraph Graph, FakeExchange Exo) Tenant()
        {
            var graph = new FakeGraph();
            var exo = new FakeExchange();
            // breaks: basic succeeding, internal recipients only
            for (int d = 1; d <= 5; d++)
            {
                graph.Rows.Add(SignIn("printer@contoso.com", "203.0.113.7", s_now.AddDays(-d)));
            }

            // already failing: every attempt 50126
            graph.Rows.Add(SignIn("oldapp@contoso.com", "10.0.0.5", s_now.AddDays(-2), 50126));
            graph.Rows.Add(SignIn("oldapp@contoso.com", "10.0.0.5", s_now.AddDays(-1), 50126));
            // turned to failure
            for (int d = 20; d >= 3; d--)
            {
                graph.Rows.Add(SignIn("crm@contoso.com", "198.51.100.20", s_now.AddDays(-d)));
            }

            graph.Rows.Add(SignIn("crm@contoso.com", "198.51.100.20", s_now.AddDays(-2), 50126));
            graph.Rows.Add(SignIn("crm@contoso.com", "198.51.100.20", s_now.AddDays(-1), 50126));

            exo.Mailboxes["printer@contoso.com"] = null;   // inherits the organization's setting
            exo.Mailboxes["oldapp@contoso.com"] = false;
            exo.Mailboxes["crm@contoso.com"] = false;
            exo.Mailboxes["unused@contoso.com"] = false;   // SMTP AUTH on, never used
            exo.Mailboxes["off@contoso.com"] = true;       // SMTP AUTH off
            exo.Recipients["printer@contoso.com"] = new[] { "a@contoso.com", "b@contoso.com" };
            exo.Recipients["crm@contoso.com"] = new[] { "a@contoso.com", "customer@fabrikam.com" };
            return (graph, exo);
        }

        [Fact]
        public async Task An_already_failing_sender_names_the_last_codes_meaning_or_says_plainly_the_table_does_not_know_it()
        {
            var graph = new FakeGraph();
            var exo = new FakeExchange();
            graph.Rows.Add(SignIn("expired@contoso.com", "10.0.0.5", s_now.AddDays(-2), 50144));
            graph.Rows.Add(SignIn("locked@contoso.com", "10.0.0.6", s_now.AddDays(-2), 50053));
            graph.Rows.Add(SignIn("agent@contoso.com", "10.0.0.7", s_now.AddDays(-2), 80012));
            graph.Rows.Add(SignIn("strange@contoso.com", "10.0.0.8", s_now.AddDays(-2), 500172));
            foreach (string upn in new[] { "expired@contoso.com", "locked@contoso.com", "agent@contoso.com", "strange@contoso.com" })
            {
                exo.Mailboxes[upn] = false;
            }

            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { Days = 30, NowUtc = s_now }, new Sink());
            IReadOnlyList<SmtpAuthClient> clients = await reader.ReadAsync(CancellationToken.None);
            string Reason(string upn)
            {
                SmtpAuthClient c = clients.Single(x => x.UserPrincipalName == upn);
                Assert.Equal(SmtpAuthImpact.AlreadyFailing, c.ImpactAtDefaultOff);
                return c.ImpactReason ?? string.Empty;
            }

            // A decisive code: Microsoft's meaning and the cause.
            Assert.Equal("All 1 basic SMTP AUTH sign-ins failed: it does not work today either. Last error: 50144, \"InvalidPasswordExpiredOnPremPassword - User's Active Directory password has expired\" (PasswordExpired)",
                Reason("expired@contoso.com"));
            // A suggest-only code says it only suggests; a code of no single cause says so.
            Assert.EndsWith("(suggests AccountLocked, but Microsoft gives it more than one reason)", Reason("locked@contoso.com"), StringComparison.Ordinal);
            Assert.Contains("IP address with malicious activity", Reason("locked@contoso.com"), StringComparison.Ordinal);
            Assert.EndsWith("outside of the allowed hours (this is specified in AD)\" (it points at no single cause)", Reason("agent@contoso.com"), StringComparison.Ordinal);
            // A code the table does not know: plainly that, and where Microsoft explains it.
            Assert.Equal("All 1 basic SMTP AUTH sign-ins failed: it does not work today either. Last error: code 500172, not in the module's table; see https://learn.microsoft.com/entra/identity-platform/reference-error-codes or https://login.microsoftonline.com/error?code=500172",
                Reason("strange@contoso.com"));
        }

        [Fact]
        public async Task The_reader_joins_usage_exposure_trace_and_the_report_into_impact_and_path()
        {
            (FakeGraph graph, FakeExchange exo) = Tenant();
            string csv = "Sender address,Domain,TLS1.0 %,TLS1.1 %,TLS1.2 %,Messages sent,Authentication protocol\r\n\"notify@contoso.com\",contoso.com,0,0,100,\"1,200\",OAuth\r\nprinter@contoso.com,contoso.com,0,0,100,40,Basic\r\n";
            var options = new ReadinessOptions { Days = 30, IncludeUnused = true, SmtpAuthReportCsv = csv, NowUtc = s_now };
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, options, new Sink());
            IReadOnlyList<SmtpAuthClient> clients = await reader.ReadAsync(CancellationToken.None);

            SmtpAuthClient printer = clients.Single(c => c.UserPrincipalName == "printer@contoso.com");
            Assert.Equal(SmtpAuthImpact.Breaks, printer.ImpactAtDefaultOff);
            Assert.True(printer.SmtpAuthEnabled);
            Assert.Equal("Tenant", printer.SmtpAuthDecidedBy);   // the $null = inherit case
            Assert.True(printer.InternalRecipientsOnly);
            Assert.Equal(SmtpAuthMigrationPath.HighVolumeEmail, printer.MigrationPath);
            Assert.Equal(40, printer.MessagesSent);
            Assert.Equal("Basic", printer.AuthenticationProtocol);
            Assert.Equal(5, printer.SignInCount);

            SmtpAuthClient old = clients.Single(c => c.UserPrincipalName == "oldapp@contoso.com");
            Assert.Equal(SmtpAuthImpact.AlreadyFailing, old.ImpactAtDefaultOff);
            Assert.Equal(50126, old.LastErrorCode);
            Assert.Contains("InvalidCredentials", old.ImpactReason, StringComparison.Ordinal);

            SmtpAuthClient crm = clients.Single(c => c.UserPrincipalName == "crm@contoso.com");
            Assert.True(crm.TurnedToFailure);
            Assert.Equal(SmtpAuthImpact.AlreadyFailing, crm.ImpactAtDefaultOff);
            Assert.False(crm.InternalRecipientsOnly);
            Assert.Equal(SmtpAuthMigrationPath.ConnectorRelay, crm.MigrationPath);

            SmtpAuthClient unused = clients.Single(c => c.UserPrincipalName == "unused@contoso.com");
            Assert.Equal(SmtpAuthImpact.Unaffected, unused.ImpactAtDefaultOff);
            Assert.Equal(SmtpAuthMigrationPath.DisableSmtpAuth, unused.MigrationPath);
            Assert.Equal("Set-CASMailbox -Identity 'unused@contoso.com' -SmtpClientAuthenticationDisabled $true", unused.MigrationCommand);
            Assert.DoesNotContain(clients, c => c.UserPrincipalName == "off@contoso.com");

            SmtpAuthClient notify = clients.Single(c => c.UserPrincipalName == "notify@contoso.com");
            Assert.Equal(SmtpAuthImpact.Unaffected, notify.ImpactAtDefaultOff);
            Assert.Equal(SmtpAuthMigrationPath.None, notify.MigrationPath);
            Assert.Equal(1200, notify.MessagesSent);

            // Most affected first; the pages were followed; per-day text is there for the chart.
            Assert.Equal(SmtpAuthImpact.Breaks, clients[0].ImpactAtDefaultOff);
            Assert.True(graph.Urls.Count > 5);
            Assert.Contains("clientAppUsed eq 'Authenticated SMTP'", Uri.UnescapeDataString(graph.Urls[0]), StringComparison.Ordinal);
            Assert.NotNull(reader.TotalPerDay);
        }

        [Fact]
        public async Task A_full_message_trace_answer_is_continued_so_an_external_recipient_behind_it_is_found()
        {
            // Get-MessageTraceV2 returns at most 5,000 rows and has no paging (Microsoft's reference). 6,000 internal
            // messages, then one to a customer: the first answer alone says "internal only" and would send this sender to
            // High Volume Email, which cannot reach the customer.
            (FakeGraph graph, FakeExchange exo) = Tenant();
            exo.Recipients["printer@contoso.com"] = Enumerable.Range(0, 6000).Select(i => "user" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture) + "@contoso.com")
                .Append("customer@fabrikam.com").ToArray();
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { Days = 30, NowUtc = s_now }, new Sink());
            SmtpAuthClient printer = (await reader.ReadAsync(CancellationToken.None)).Single(c => c.UserPrincipalName == "printer@contoso.com");

            Assert.False(printer.InternalRecipientsOnly);
            Assert.Equal(6001, printer.TracedMessages);
            Assert.Equal(SmtpAuthMigrationPath.ConnectorRelay, printer.MigrationPath);
            ExchangeCommand[] traces = exo.Log.Where(c => c.Name == "Get-MessageTraceV2" && (string)c.Parameters["SenderAddress"]! == "printer@contoso.com").ToArray();
            Assert.Equal(2, traces.Length);
            Assert.Equal("user4999@contoso.com", traces[1].Parameters["StartingRecipientAddress"]);
            Assert.Equal(s_now.AddMinutes(-5000), traces[1].Parameters["EndDate"]);
        }

        [Fact]
        public async Task Accepted_domains_are_read_past_the_first_1000()
        {
            // Get-AcceptedDomain returns 1000 domains unless -ResultSize says otherwise, and EXO's notice that more exist
            // is a warning, which the module silences: a recipient in the 1001st domain is internal all the same.
            (FakeGraph graph, FakeExchange exo) = Tenant();
            exo.OtherDomains.AddRange(Enumerable.Range(0, 1000).Select(i => "brand" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".example"));
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { Days = 30, NowUtc = s_now }, new Sink());
            SmtpAuthClient printer = (await reader.ReadAsync(CancellationToken.None)).Single(c => c.UserPrincipalName == "printer@contoso.com");

            Assert.True(printer.InternalRecipientsOnly);
        }

        [Fact]
        public async Task A_trace_cut_off_by_the_query_budget_never_says_internal_only()
        {
            (FakeGraph graph, FakeExchange exo) = Tenant();
            exo.Recipients["printer@contoso.com"] = Enumerable.Range(0, 30).Select(i => "user" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "@contoso.com").ToArray();
            var options = new ReadinessOptions { Days = 30, NowUtc = s_now, MessageTraceResultSize = 10, MessageTraceQueryBudget = 2 };
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, options, new Sink());
            SmtpAuthClient printer = (await reader.ReadAsync(CancellationToken.None)).Single(c => c.UserPrincipalName == "printer@contoso.com");

            Assert.Null(printer.InternalRecipientsOnly);
            Assert.Equal(SmtpAuthMigrationPath.Review, printer.MigrationPath);
        }

        [Fact]
        public async Task A_throttled_message_trace_is_named_in_each_senders_UnknownReasons_and_warned_about_once()
        {
            // Get-MessageTraceV2 allows about 100 queries per 5 minutes. A sender whose trace could not be read must say so
            // (its path may fall back to Review), not be silently left without InternalRecipientsOnly.
            (FakeGraph graph, FakeExchange exo) = Tenant();
            exo.TraceQueriesAllowed = 0;
            var sink = new Sink();
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { Days = 30, NowUtc = s_now }, sink);
            IReadOnlyList<SmtpAuthClient> clients = await reader.ReadAsync(CancellationToken.None);

            foreach (string upn in new[] { "printer@contoso.com", "crm@contoso.com", "oldapp@contoso.com" })
            {
                SmtpAuthClient c = clients.Single(x => x.UserPrincipalName == upn);
                Assert.Null(c.InternalRecipientsOnly);
                Assert.Contains("Message trace", c.UnknownReasons, StringComparison.Ordinal);
                Assert.Contains("InternalRecipientsOnly is empty", c.UnknownReasons, StringComparison.Ordinal);
                Assert.Contains("again after 5 minutes", c.UnknownReasons, StringComparison.Ordinal);
            }

            Assert.Contains("throttled", clients.Single(x => x.UserPrincipalName == "printer@contoso.com").UnknownReasons, StringComparison.Ordinal);
            Assert.Equal(SmtpAuthMigrationPath.Review, clients.Single(x => x.UserPrincipalName == "printer@contoso.com").MigrationPath);
            string warning = Assert.Single(sink.Warnings, w => w.StartsWith("Message trace:", StringComparison.Ordinal));
            Assert.Contains("3 of 3 basic-auth senders could not be traced", warning, StringComparison.Ordinal);
            // Two failures in a row: the rest is not queried into the throttle.
            Assert.Equal(2, exo.Log.Count(c => c.Name == "Get-MessageTraceV2"));
        }

        [Fact]
        public async Task Senders_over_the_query_budget_say_so_in_UnknownReasons()
        {
            (FakeGraph graph, FakeExchange exo) = Tenant();
            var sink = new Sink();
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { Days = 30, NowUtc = s_now, MessageTraceQueryBudget = 1 }, sink);
            IReadOnlyList<SmtpAuthClient> clients = await reader.ReadAsync(CancellationToken.None);

            SmtpAuthClient[] untraced = clients.Where(c => c.SignInCount > 0 && c.InternalRecipientsOnly is null).ToArray();
            Assert.Equal(2, untraced.Length);
            Assert.All(untraced, c => Assert.Matches("Message trace (was not read for this mailbox|for this mailbox was read only in part).*again after 5 minutes", c.UnknownReasons));
            Assert.Single(sink.Warnings, w => w.StartsWith("Message trace:", StringComparison.Ordinal));
        }

        /// <summary>The Entra half as Get-SmtpAuthPolicyState's Graph reader fills it: no security defaults, no CA policy, MFA off.</summary>
        private sealed class FakeEntra : IMailboxGraphReader
        {
            public readonly List<string> Read = new List<string>();
            public readonly HashSet<string> Disabled = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

            public Task ReadTenantAsync(TenantPolicyData tenant, CancellationToken token)
            {
                tenant.SecurityDefaultsEnabled = false;
                tenant.ConditionalAccessPolicies = new List<ConditionalAccessPolicy>();
                return Task.CompletedTask;
            }

            public Task ReadUsersAsync(TenantPolicyData tenant, IReadOnlyList<MailboxPolicyData> mailboxes, CancellationToken token)
            {
                foreach (MailboxPolicyData m in mailboxes)
                {
                    Read.Add(m.UserPrincipalName!);
                    m.ExternalDirectoryObjectId ??= "id-" + m.UserPrincipalName;
                    m.AccountEnabled = !Disabled.Contains(m.UserPrincipalName!);
                    m.PerUserMfaState = "disabled";
                    m.GroupIds = new HashSet<string>();
                    m.RoleTemplateIds = new HashSet<string>();
                }

                return Task.CompletedTask;
            }
        }

        [Fact]
        public async Task The_basic_auth_verdict_of_a_sender_includes_the_Entra_half_as_the_policy_state_reads_it()
        {
            // The verdict needs the Entra settings as well as Exchange's; read from Exchange alone it was Unknown for every
            // sender, with no reason given.
            (FakeGraph graph, FakeExchange exo) = Tenant();
            var entra = new FakeEntra();
            entra.Disabled.Add("crm@contoso.com");
            var options = new ReadinessOptions { Days = 30, IncludeUnused = true, NowUtc = s_now, ReadMessageTrace = false };
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, options, new Sink(), entra: () => entra);
            IReadOnlyList<SmtpAuthClient> clients = await reader.ReadAsync(CancellationToken.None);

            SmtpAuthClient printer = clients.Single(c => c.UserPrincipalName == "printer@contoso.com");
            Assert.Equal(PolicyVerdict.Allowed, printer.BasicAuthVerdict);
            SmtpAuthClient crm = clients.Single(c => c.UserPrincipalName == "crm@contoso.com");
            Assert.Equal(PolicyVerdict.Blocked, crm.BasicAuthVerdict);
            Assert.Contains("AccountDisabled", crm.BasicAuthBlockedBy, StringComparison.Ordinal);

            // The Entra half is read for the senders only; a mailbox without sign-ins says why its verdict is Unknown.
            Assert.Equal(new[] { "crm@contoso.com", "oldapp@contoso.com", "printer@contoso.com" }, entra.Read.OrderBy(u => u, StringComparer.Ordinal));
            SmtpAuthClient unused = clients.Single(c => c.UserPrincipalName == "unused@contoso.com");
            Assert.Equal(PolicyVerdict.Unknown, unused.BasicAuthVerdict);
            Assert.Contains("read only for mailboxes that signed in with basic auth", unused.UnknownReasons, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Above_the_Entra_limit_no_sender_is_read_per_mailbox_and_the_verdict_says_why()
        {
            // Several Graph requests per mailbox: at 10,000 senders the Entra read took a run from 286 to 2,089 requests
            // (tests/Benchmarks/ReadinessScale.ps1). Above the limit the verdict is Unknown, with the reason and the way out.
            (FakeGraph graph, FakeExchange exo) = Tenant();
            var entra = new FakeEntra();
            var options = new ReadinessOptions { Days = 30, NowUtc = s_now, ReadMessageTrace = false, EntraVerdictLimit = 2 };
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, options, new Sink(), entra: () => entra);
            SmtpAuthClient printer = (await reader.ReadAsync(CancellationToken.None)).Single(c => c.UserPrincipalName == "printer@contoso.com");

            Assert.Empty(entra.Read);
            Assert.Equal(PolicyVerdict.Unknown, printer.BasicAuthVerdict);
            Assert.Contains("read for up to 2 mailboxes that sign in with basic auth", printer.UnknownReasons, StringComparison.Ordinal);
            Assert.Contains("Get-SmtpAuthPolicyState", printer.UnknownReasons, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Without_the_Entra_half_an_Unknown_basic_auth_verdict_says_why()
        {
            (FakeGraph graph, FakeExchange exo) = Tenant();
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { Days = 30, NowUtc = s_now, ReadMessageTrace = false }, new Sink());
            SmtpAuthClient printer = (await reader.ReadAsync(CancellationToken.None)).Single(c => c.UserPrincipalName == "printer@contoso.com");

            Assert.Equal(PolicyVerdict.Unknown, printer.BasicAuthVerdict);
            Assert.Contains("BasicAuthVerdict: the Entra settings it also depends on", printer.UnknownReasons, StringComparison.Ordinal);
        }

        [Fact]
        public async Task A_sender_on_one_public_IPv6_address_gets_no_connector_command()
        {
            // New-InboundConnector -SenderIPAddresses: "IPv6 addresses are not supported".
            (FakeGraph graph, FakeExchange exo) = Tenant();
            for (int d = 1; d <= 4; d++)
            {
                graph.Rows.Add(SignIn("erp@contoso.com", "2001:db8:40::25", s_now.AddDays(-d)));
            }

            exo.Mailboxes["erp@contoso.com"] = false;
            exo.Recipients["erp@contoso.com"] = new[] { "customer@fabrikam.com" };
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { Days = 30, NowUtc = s_now }, new Sink());
            SmtpAuthClient erp = (await reader.ReadAsync(CancellationToken.None)).Single(c => c.UserPrincipalName == "erp@contoso.com");

            Assert.Equal(SmtpAuthMigrationPath.OAuth, erp.MigrationPath);
            Assert.Null(erp.MigrationCommand);
            Assert.Contains("IPv6", erp.MigrationReason, StringComparison.Ordinal);
        }

        [Fact]
        public async Task A_tenant_without_P1_gets_usage_unknown_with_the_licence_named_not_a_crash()
        {
            (FakeGraph graph, FakeExchange exo) = Tenant();
            graph.Status = 403;
            graph.ErrorCode = "Authentication_RequestFromNonPremiumTenantOrB2CTenant";
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { IncludeUnused = true, NowUtc = s_now }, new Sink());
            IReadOnlyList<SmtpAuthClient> clients = await reader.ReadAsync(CancellationToken.None);

            SmtpAuthClient unused = clients.Single(c => c.UserPrincipalName == "unused@contoso.com");
            Assert.Equal(SmtpAuthImpact.Unknown, unused.ImpactAtDefaultOff);
            Assert.Null(unused.SignInCount);
            Assert.Equal(SmtpAuthMigrationPath.Review, unused.MigrationPath);
            Assert.Contains("Entra ID P1 or P2", unused.UnknownReasons, StringComparison.Ordinal);
            Assert.Contains("Entra ID P1 or P2", unused.ImpactReason, StringComparison.Ordinal);
        }

        [Fact]
        public async Task A_refused_sign_in_read_names_both_permissions_and_the_roles_a_signed_in_admin_needs()
        {
            // https://learn.microsoft.com/graph/api/signin-list: AuditLog.Read.All and Directory.Read.All, and a signed-in
            // user in one of the roles that may read sign-in reports.
            (FakeGraph graph, FakeExchange exo) = Tenant();
            graph.Status = 403;
            graph.ErrorCode = "Authorization_RequestDenied";
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { IncludeUnused = true, NowUtc = s_now }, new Sink());
            SmtpAuthClient unused = (await reader.ReadAsync(CancellationToken.None)).Single(c => c.UserPrincipalName == "unused@contoso.com");

            Assert.Equal(SmtpAuthImpact.Unknown, unused.ImpactAtDefaultOff);
            Assert.Contains("AuditLog.Read.All and Directory.Read.All", unused.UnknownReasons, StringComparison.Ordinal);
            Assert.Contains("Reports Reader", unused.UnknownReasons, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("{\"value\":[{\"userPrincipalName\":", "not valid JSON")]
        [InlineData("[1,2]", "not a JSON object")]
        [InlineData("", "no JSON body")]
        public async Task A_broken_page_in_the_middle_of_the_sign_in_log_leaves_usage_unknown_with_the_reason(string body, string reason)
        {
            (FakeGraph graph, FakeExchange exo) = Tenant();
            graph.SecondPageBody = body;
            var reader = new ReadinessReader(new GraphReader(graph, new Sink()), null, exo, new ReadinessOptions { IncludeUnused = true, NowUtc = s_now }, new Sink());
            IReadOnlyList<SmtpAuthClient> clients = await reader.ReadAsync(CancellationToken.None);

            SmtpAuthClient printer = clients.Single(c => c.UserPrincipalName == "printer@contoso.com");
            Assert.Null(printer.SignInCount);
            Assert.Equal(SmtpAuthImpact.Unknown, printer.ImpactAtDefaultOff);
            Assert.Contains(reason, printer.UnknownReasons, StringComparison.Ordinal);
            Assert.Contains("after 2 rows", printer.UnknownReasons, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Without_Graph_or_Exchange_every_source_says_why_it_is_empty()
        {
            var reader = new ReadinessReader(null, "there is no Microsoft Graph session", null, new ReadinessOptions { NowUtc = s_now, SmtpAuthReportCsv = "Sender address,Messages sent,Authentication protocol\nscan@contoso.com,10,Basic\n" }, new Sink());
            SmtpAuthClient c = Assert.Single(await reader.ReadAsync(CancellationToken.None));
            Assert.Equal(SmtpAuthImpact.Unknown, c.ImpactAtDefaultOff);
            Assert.Contains("no Microsoft Graph session", c.UnknownReasons, StringComparison.Ordinal);
            Assert.Contains("Exchange Online was not read", c.UnknownReasons, StringComparison.Ordinal);
        }
    }
}
