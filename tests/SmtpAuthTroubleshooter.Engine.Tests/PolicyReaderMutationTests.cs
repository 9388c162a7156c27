using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the policy read against a stricter stand-in than PolicyStateReaderTests and
    /// PolicyStateReaderEdgeTests use. Like Exchange Online (and the cmdlet binder, ExchangeCommand.Properties), it hands
    /// back only the properties each call asks for, and a CAS mailbox's SmtpClientAuthenticationDisabled only when
    /// -Properties names it; so every property the read forgets to ask for shows as a setting it got wrong. Also: the
    /// parameters of each call (filters, sizes), exact batching, the per-identity fallback, SendAs by UPN or address, and
    /// that the read never resumes on the caller's synchronization context.
    /// </summary>
    public class PolicyReaderMutationTests
    {
        private static readonly DateTime s_now = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);
        private const string ObjectId = "11111111-1111-1111-1111-111111111111";

        private sealed class Box
        {
            public Box(string upn, string? address = null, string type = "UserMailbox")
            {
                Upn = upn;
                Address = address ?? upn;
                Type = type;
            }

            public string Upn { get; }
            public string Address { get; }
            public string Type { get; }
            public bool? SmtpDisabled { get; set; }
            public string? Policy { get; set; }
        }

        /// <summary>A tenant in memory that answers as strictly as Exchange Online; any other cmdlet fails the test.</summary>
        private sealed class StrictExchange : IExchangeSession
        {
            public readonly List<ExchangeCommand> Log = new List<ExchangeCommand>();
            public readonly List<Box> Mailboxes = new List<Box>();
            public readonly Dictionary<string, Func<ExchangeCommand, IEnumerable<Dictionary<string, object?>>>> Answers =
                new Dictionary<string, Func<ExchangeCommand, IEnumerable<Dictionary<string, object?>>>>(StringComparer.OrdinalIgnoreCase);

            /// <summary>How each call's task completes; null: at once.</summary>
            public Func<Task>? Completion { get; set; }

            public StrictExchange()
            {
                Answers["Get-TransportConfig"] = _ => new[] { new Dictionary<string, object?> { ["SmtpClientAuthenticationDisabled"] = false, ["AllowLegacyTLSClients"] = false } };
                Answers["Get-OrganizationConfig"] = _ => new[] { new Dictionary<string, object?> { ["DefaultAuthenticationPolicy"] = null } };
                Answers["Get-AuthenticationPolicy"] = _ => Array.Empty<Dictionary<string, object?>>();
                Answers["Get-EXOMailbox"] = c => Select(c).Where(b => !c.Parameters.TryGetValue("RecipientTypeDetails", out object? t) || ((string[])t!).Contains(b.Type, StringComparer.OrdinalIgnoreCase))
                    .Select(b => new Dictionary<string, object?>
                    {
                        ["UserPrincipalName"] = b.Upn,
                        ["PrimarySmtpAddress"] = b.Address,
                        ["RecipientTypeDetails"] = b.Type,
                        ["ExternalDirectoryObjectId"] = ObjectId,
                        ["Alias"] = b.Upn.Split('@')[0],
                    });
                Answers["Get-EXOCasMailbox"] = c => Select(c).Select(b => new Dictionary<string, object?> { ["PrimarySmtpAddress"] = b.Address, ["SmtpClientAuthenticationDisabled"] = b.SmtpDisabled, ["ImapEnabled"] = true });
                Answers["Get-User"] = c => Select(c).Where(b => !Equals(c.Parameters.GetValueOrDefault("Filter"), "AuthenticationPolicy -ne $null") || b.Policy is not null)
                    .Select(b => new Dictionary<string, object?> { ["UserPrincipalName"] = b.Upn, ["AuthenticationPolicy"] = b.Policy, ["DisplayName"] = b.Upn });
            }

            public int Calls => Log.Count;

            public IEnumerable<ExchangeCommand> Called(string name) => Log.Where(c => c.Name == name);

            public Task<string?> CheckConnectionAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

            public Task InvokeAsync(ExchangeCommand command, Action<ExchangeRecord> onRecord, CancellationToken cancellationToken)
            {
                Log.Add(command);
                if (!Answers.TryGetValue(command.Name, out Func<ExchangeCommand, IEnumerable<Dictionary<string, object?>>>? answer))
                {
                    throw new InvalidOperationException("The stand-in has no " + command.Name);
                }

                foreach (Dictionary<string, object?> r in answer(command))
                {
                    onRecord(new ExchangeRecord(Reduce(command, r)));
                }

                return Completion?.Invoke() ?? Task.CompletedTask;
            }

            // Only the properties asked for; Get-EXOCasMailbox's SmtpClientAuthenticationDisabled is outside its default
            // property set, so it comes only when -Properties names it.
            private static Dictionary<string, object?> Reduce(ExchangeCommand c, Dictionary<string, object?> r)
            {
                var kept = r.Where(kv => c.Properties.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
                if (c.Name == "Get-EXOCasMailbox" && !(c.Parameters.TryGetValue("Properties", out object? p) && p is IEnumerable<string> names && names.Contains("SmtpClientAuthenticationDisabled")))
                {
                    kept.Remove("SmtpClientAuthenticationDisabled");
                }

                return kept;
            }

            // -Identity (UPN, address or alias; not found throws as EXO does), an OPATH filter of "X -eq 'v'" clauses, or all.
            private IEnumerable<Box> Select(ExchangeCommand c)
            {
                if (c.Parameters.TryGetValue("Identity", out object? id))
                {
                    string name = (string)id!;
                    Box? box = Mailboxes.FirstOrDefault(b => Is(b.Upn, name) || Is(b.Address, name) || Is(b.Upn.Split('@')[0], name));
                    return box is null
                        ? throw new ExchangeCallException(c.Name, "The operation couldn't be performed because object '" + name + "' couldn't be found.", notFound: true)
                        : new[] { box };
                }

                if (c.Parameters.TryGetValue("Filter", out object? f) && f is string filter && filter != "AuthenticationPolicy -ne $null")
                {
                    var wanted = Regex.Matches(filter, @"(\w+) -eq '((?:[^']|'')*)'").Select(x => (Property: x.Groups[1].Value, Value: x.Groups[2].Value.Replace("''", "'"))).ToList();
                    return Mailboxes.Where(b => wanted.Any(w => (w.Property == "UserPrincipalName" && Is(b.Upn, w.Value)) || (w.Property == "PrimarySmtpAddress" && Is(b.Address, w.Value))));
                }

                return Mailboxes;
            }

            private static bool Is(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

            public static Func<ExchangeCommand, IEnumerable<Dictionary<string, object?>>> Fail(string message, bool notFound = false) =>
                c => throw new ExchangeCallException(c.Name, message, notFound);
        }

        private sealed class Sink : IDiagnosticSink
        {
            public readonly List<string> Verbose = new List<string>();
            public readonly List<string> Warnings = new List<string>();

            void IDiagnosticSink.Verbose(string message) => Verbose.Add(message);
            void IDiagnosticSink.Warning(string message) => Warnings.Add(message);
            void IDiagnosticSink.Debug(string message) { }
            void IDiagnosticSink.Progress(string activity, string status, int percentComplete) { }
            void IDiagnosticSink.Progress(string activity, string status, int percentComplete, int secondsRemaining) { }
        }

        private static async Task<PolicyStateReader> Start(StrictExchange exo, PolicyReadOptions? options = null, Sink? sink = null)
        {
            var reader = new PolicyStateReader(exo, options ?? new PolicyReadOptions(), sink ?? new Sink(), () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None);
            return reader;
        }

        private static async Task<List<SmtpAuthPolicyState>> ReadAll(PolicyStateReader reader)
        {
            var states = new List<SmtpAuthPolicyState>();
            await reader.ReadAllAsync(b => { states.AddRange(b); return Task.CompletedTask; }, CancellationToken.None);
            return states;
        }

        // --- Only the properties asked for ---

        [Fact]
        public async Task The_mailbox_and_tenant_settings_arrive_when_Exchange_returns_only_what_was_asked_for()
        {
            var exo = new StrictExchange();
            exo.Answers["Get-TransportConfig"] = _ => new[] { new Dictionary<string, object?> { ["SmtpClientAuthenticationDisabled"] = true, ["AllowLegacyTLSClients"] = true } };
            exo.Mailboxes.Add(new Box("scanner@contoso.onmicrosoft.com", "scanner@contoso.com", "SharedMailbox") { SmtpDisabled = false });
            PolicyStateReader reader = await Start(exo);
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "scanner@contoso.com" }, CancellationToken.None)).State!;

            Assert.Equal("scanner@contoso.onmicrosoft.com", s.UserPrincipalName);
            Assert.Equal("scanner@contoso.com", s.PrimarySmtpAddress);
            Assert.Equal("SharedMailbox", s.RecipientTypeDetails);
            Assert.Equal(ObjectId, s.ExternalDirectoryObjectId);
            Assert.True(s.TenantSmtpAuthDisabled);
            Assert.True(s.AllowLegacyTlsClients);
            Assert.False(s.MailboxSmtpAuthDisabled);
            Assert.True(s.SmtpAuthEnabled);
            Assert.Equal("Mailbox", s.SmtpAuthDecidedBy);
            Assert.Equal("SharedMailboxSignIn", s.BasicAuthBlockedBy);
        }

        [Fact]
        public async Task A_tenant_wide_read_gets_each_mailbox_switch_and_user_policy_from_its_one_listing()
        {
            var exo = new StrictExchange();
            exo.Answers["Get-AuthenticationPolicy"] = _ => new[] { new Dictionary<string, object?> { ["Name"] = "Allow SMTP", ["AllowBasicAuthSmtp"] = true } };
            exo.Mailboxes.Add(new Box("off@contoso.com") { SmtpDisabled = true });
            exo.Mailboxes.Add(new Box("own-policy@contoso.com") { SmtpDisabled = false, Policy = "Allow SMTP" });
            PolicyStateReader reader = await Start(exo);
            List<SmtpAuthPolicyState> states = await ReadAll(reader);

            SmtpAuthPolicyState off = states.Single(x => x.UserPrincipalName == "off@contoso.com");
            Assert.True(off.MailboxSmtpAuthDisabled);
            Assert.Equal("Mailbox", off.SmtpAuthDecidedBy);
            Assert.Equal("MailboxSmtpAuthDisabled", off.BasicAuthBlockedBy);
            Assert.Equal("None", off.AuthenticationPolicySource);

            SmtpAuthPolicyState own = states.Single(x => x.UserPrincipalName == "own-policy@contoso.com");
            Assert.True(own.SmtpAuthEnabled);
            Assert.Equal("User", own.AuthenticationPolicySource);
            Assert.Equal("Allow SMTP", own.AuthenticationPolicy);
            Assert.True(own.AllowBasicAuthSmtp);

            // One listing each, no per-batch reads.
            Assert.DoesNotContain(exo.Called("Get-EXOCasMailbox"), c => c.Parameters.ContainsKey("Filter"));
            Assert.Single(exo.Called("Get-User"));
        }

        [Fact]
        public async Task The_per_batch_reads_get_the_user_policy_when_only_the_asked_properties_come_back()
        {
            var exo = new StrictExchange();
            exo.Answers["Get-AuthenticationPolicy"] = _ => new[] { new Dictionary<string, object?> { ["Name"] = "Block Basic", ["AllowBasicAuthSmtp"] = false } };
            exo.Mailboxes.Add(new Box("a@contoso.com") { Policy = "Block Basic" });
            PolicyStateReader reader = await Start(exo);
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "a@contoso.com" }, CancellationToken.None)).State!;
            Assert.Equal("User", s.AuthenticationPolicySource);
            Assert.Equal("Block Basic", s.AuthenticationPolicy);
            Assert.Equal("AuthenticationPolicyBlocksBasicSmtp", s.BasicAuthBlockedBy);
        }

        [Fact]
        public async Task The_organization_default_policy_decides_when_only_the_asked_properties_come_back()
        {
            var exo = new StrictExchange();
            exo.Answers["Get-OrganizationConfig"] = _ => new[] { new Dictionary<string, object?> { ["DefaultAuthenticationPolicy"] = "Block Basic", ["Name"] = "contoso" } };
            exo.Answers["Get-AuthenticationPolicy"] = _ => new[] { new Dictionary<string, object?> { ["Name"] = "Block Basic", ["AllowBasicAuthSmtp"] = false } };
            exo.Mailboxes.Add(new Box("a@contoso.com"));
            PolicyStateReader reader = await Start(exo);
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "a@contoso.com" }, CancellationToken.None)).State!;
            Assert.Equal("OrganizationDefault", s.AuthenticationPolicySource);
            Assert.Equal("Block Basic", s.AuthenticationPolicy);
            Assert.False(s.AllowBasicAuthSmtp);
            Assert.Equal(PolicyVerdict.Blocked, s.BasicAuthVerdict);
        }

        [Theory]
        [InlineData("Allow SMTP")]
        [InlineData("contoso.onmicrosoft.com\\Allow SMTP")]
        [InlineData("CN=Allow SMTP,CN=Auth Policies,DC=contoso")]
        [InlineData("4b4c3e2a-0000-4000-8000-000000000001")]
        public async Task A_policy_assigned_by_its_name_identity_DN_or_GUID_is_found_and_shown_by_its_name(string assigned)
        {
            var exo = new StrictExchange();
            exo.Answers["Get-AuthenticationPolicy"] = _ => new[]
            {
                new Dictionary<string, object?>
                {
                    ["Name"] = "Allow SMTP",
                    ["Identity"] = "contoso.onmicrosoft.com\\Allow SMTP",
                    ["DistinguishedName"] = "CN=Allow SMTP,CN=Auth Policies,DC=contoso",
                    ["Guid"] = "4b4c3e2a-0000-4000-8000-000000000001",
                    ["AllowBasicAuthSmtp"] = true,
                    ["WhenChanged"] = "2026-01-01",
                },
            };
            exo.Answers["Get-OrganizationConfig"] = _ => new[] { new Dictionary<string, object?> { ["DefaultAuthenticationPolicy"] = "Block Basic" } };
            exo.Mailboxes.Add(new Box("a@contoso.com") { Policy = assigned });
            PolicyStateReader reader = await Start(exo);
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "a@contoso.com" }, CancellationToken.None)).State!;
            Assert.Equal("Allow SMTP", s.AuthenticationPolicy);
            Assert.Equal("User", s.AuthenticationPolicySource);
            Assert.True(s.AllowBasicAuthSmtp);
            Assert.Equal(PolicyVerdict.Allowed, s.OAuthVerdict);
        }

        [Fact]
        public async Task A_policy_with_neither_name_nor_identity_is_still_found_by_its_DN_and_shown_as_a_question_mark()
        {
            var exo = new StrictExchange();
            exo.Answers["Get-AuthenticationPolicy"] = _ => new[] { new Dictionary<string, object?> { ["DistinguishedName"] = "CN=Legacy,DC=contoso", ["AllowBasicAuthSmtp"] = false } };
            exo.Mailboxes.Add(new Box("a@contoso.com") { Policy = "CN=Legacy,DC=contoso" });
            PolicyStateReader reader = await Start(exo);
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "a@contoso.com" }, CancellationToken.None)).State!;
            Assert.Equal("?", s.AuthenticationPolicy);
            Assert.False(s.AllowBasicAuthSmtp);
            Assert.Equal("AuthenticationPolicyBlocksBasicSmtp", s.BasicAuthBlockedBy);
        }

        // --- The calls' parameters ---

        [Fact]
        public async Task Every_filtered_read_asks_for_all_matches_and_for_the_properties_it_reads()
        {
            var exo = new StrictExchange();
            exo.Mailboxes.Add(new Box("a@contoso.com", "alias@contoso.com"));
            exo.Mailboxes.Add(new Box("scanner@contoso.com"));
            PolicyStateReader reader = await Start(exo);
            int before = exo.Calls;
            IReadOnlyList<PolicyStateResult> r = await reader.ReadAsync(new[] { "alias@contoso.com", "scanner" }, CancellationToken.None);
            Assert.Equal("a@contoso.com", r[0].State!.UserPrincipalName);
            Assert.Equal("scanner@contoso.com", r[1].State!.UserPrincipalName);
            List<ExchangeCommand> calls = exo.Log.Skip(before).ToList();

            string[] mailboxProperties = { "UserPrincipalName", "PrimarySmtpAddress", "RecipientTypeDetails", "ExternalDirectoryObjectId" };
            ExchangeCommand list = calls.First(c => c.Name == "Get-EXOMailbox");
            Assert.Equal("UserPrincipalName -eq 'alias@contoso.com' -or PrimarySmtpAddress -eq 'alias@contoso.com' -or UserPrincipalName -eq 'scanner' -or PrimarySmtpAddress -eq 'scanner'", list.Parameters["Filter"]);
            Assert.Equal("Unlimited", list.Parameters["ResultSize"]);
            Assert.Equal(mailboxProperties, (IEnumerable<string>)list.Parameters["Properties"]!);

            ExchangeCommand single = calls.Single(c => c.Name == "Get-EXOMailbox" && c.Parameters.ContainsKey("Identity"));
            Assert.Equal("scanner", single.Parameters["Identity"]);
            Assert.Equal(mailboxProperties, (IEnumerable<string>)single.Parameters["Properties"]!);

            ExchangeCommand cas = calls.Single(c => c.Name == "Get-EXOCasMailbox");
            Assert.Equal("PrimarySmtpAddress -eq 'alias@contoso.com' -or PrimarySmtpAddress -eq 'scanner@contoso.com'", cas.Parameters["Filter"]);
            Assert.Equal("Unlimited", cas.Parameters["ResultSize"]);
            Assert.Equal(new[] { "SmtpClientAuthenticationDisabled" }, (IEnumerable<string>)cas.Parameters["Properties"]!);

            ExchangeCommand user = calls.Single(c => c.Name == "Get-User");
            Assert.Equal("UserPrincipalName -eq 'a@contoso.com' -or UserPrincipalName -eq 'scanner@contoso.com'", user.Parameters["Filter"]);
            Assert.Equal("Unlimited", user.Parameters["ResultSize"]);
        }

        [Fact]
        public async Task The_tenant_wide_listings_ask_for_every_mailbox_and_the_properties_they_read()
        {
            var exo = new StrictExchange();
            exo.Mailboxes.Add(new Box("a@contoso.com"));
            PolicyStateReader reader = await Start(exo);
            await ReadAll(reader);
            ExchangeCommand list = Assert.Single(exo.Called("Get-EXOMailbox"));
            Assert.Equal(new[] { "UserPrincipalName", "PrimarySmtpAddress", "RecipientTypeDetails", "ExternalDirectoryObjectId" }, (IEnumerable<string>)list.Parameters["Properties"]!);
            ExchangeCommand cas = Assert.Single(exo.Called("Get-EXOCasMailbox"));
            Assert.Equal("Unlimited", cas.Parameters["ResultSize"]);
            Assert.Equal(new[] { "SmtpClientAuthenticationDisabled" }, (IEnumerable<string>)cas.Parameters["Properties"]!);
            Assert.False(cas.Parameters.ContainsKey("Filter"));
        }

        // --- Batching ---

        [Fact]
        public async Task A_list_that_fills_its_batches_exactly_takes_one_call_per_batch_and_no_more()
        {
            var exo = new StrictExchange();
            var ids = Enumerable.Range(0, 100).Select(i => "user" + i + "@contoso.com").ToList();
            ids.ForEach(id => exo.Mailboxes.Add(new Box(id)));
            PolicyStateReader reader = await Start(exo, new PolicyReadOptions { BatchSize = 50 });
            int before = exo.Calls;
            IReadOnlyList<PolicyStateResult> r = await reader.ReadAsync(ids, CancellationToken.None);
            Assert.Equal(ids, r.Select(x => x.Identity));
            List<ExchangeCommand> calls = exo.Log.Skip(before).ToList();
            Assert.Equal(2, calls.Count(c => c.Name == "Get-EXOMailbox"));
            Assert.Equal(2, calls.Count(c => c.Name == "Get-EXOCasMailbox"));
            Assert.Equal(2, calls.Count(c => c.Name == "Get-User"));

            before = exo.Calls;
            Assert.Empty(await reader.ReadAsync(Array.Empty<string>(), CancellationToken.None));
            Assert.Equal(before, exo.Calls);
        }

        // --- The per-identity fallback ---

        [Fact]
        public async Task A_name_found_one_by_one_gets_its_settings_read_like_the_others()
        {
            var exo = new StrictExchange();
            exo.Mailboxes.Add(new Box("scanner@contoso.com") { SmtpDisabled = true });
            PolicyStateReader reader = await Start(exo);
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "scanner" }, CancellationToken.None)).State!;
            Assert.Equal("scanner@contoso.com", s.UserPrincipalName);
            Assert.True(s.MailboxSmtpAuthDisabled);
            Assert.Equal("MailboxSmtpAuthDisabled", s.BasicAuthBlockedBy);
            Assert.Equal("None", s.AuthenticationPolicySource);
            Assert.Null(s.UnknownReasons);
        }

        [Fact]
        public async Task A_lookup_that_answers_nothing_reports_the_mailbox_as_not_found()
        {
            var exo = new StrictExchange();
            exo.Mailboxes.Add(new Box("a@contoso.com"));
            PolicyStateReader reader = await Start(exo);
            exo.Answers["Get-EXOMailbox"] = _ => Array.Empty<Dictionary<string, object?>>();
            PolicyStateResult r = Assert.Single(await reader.ReadAsync(new[] { "ghost" }, CancellationToken.None));
            Assert.Equal("ghost", r.Identity);
            Assert.Null(r.State);
            Assert.Empty(exo.Called("Get-EXOCasMailbox"));
        }

        [Fact]
        public async Task When_the_batch_listing_fails_the_mailbox_keeps_its_name_and_the_listings_failure_and_is_not_read_further()
        {
            var exo = new StrictExchange();
            exo.Mailboxes.Add(new Box("a@contoso.com"));
            exo.Answers["Get-EXOMailbox"] = c => throw new ExchangeCallException(c.Name, c.Parameters.ContainsKey("Filter") ? "Listing busy" : "Lookup busy", notFound: false);
            PolicyStateReader reader = await Start(exo);
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "a@contoso.com" }, CancellationToken.None)).State!;
            Assert.Equal("a@contoso.com", s.UserPrincipalName);
            Assert.Equal("Mailbox (Get-EXOMailbox): the read failed (Get-EXOMailbox: Listing busy).", s.UnknownReasons);
            Assert.Null(s.AuthenticationPolicySource);
            Assert.Null(s.SmtpAuthEnabled);
            Assert.Equal(PolicyVerdict.Unknown, s.BasicAuthVerdict);
            Assert.Empty(exo.Called("Get-EXOCasMailbox"));
            Assert.Empty(exo.Called("Get-User"));
        }

        // --- The tenant-wide CAS listing's fallback ---

        [Fact]
        public async Task A_failed_CAS_listing_says_so_and_each_batch_reads_its_own()
        {
            var exo = new StrictExchange();
            exo.Mailboxes.Add(new Box("a@contoso.com") { SmtpDisabled = true });
            Func<ExchangeCommand, IEnumerable<Dictionary<string, object?>>> cas = exo.Answers["Get-EXOCasMailbox"];
            exo.Answers["Get-EXOCasMailbox"] = c => c.Parameters.ContainsKey("Filter") ? cas(c) : throw new ExchangeCallException(c.Name, "List busy", notFound: false);
            var sink = new Sink();
            PolicyStateReader reader = await Start(exo, sink: sink);
            SmtpAuthPolicyState s = Assert.Single(await ReadAll(reader));
            Assert.True(s.MailboxSmtpAuthDisabled);
            Assert.Contains("Listing every CAS mailbox failed; reading them per batch: Get-EXOCasMailbox: List busy", sink.Verbose);
            Assert.Equal(2, exo.Called("Get-EXOCasMailbox").Count());
        }

        // --- SendAs ---

        [Theory]
        [InlineData("scanner@contoso.com")]
        [InlineData("SCANNER@contoso.onmicrosoft.com")]
        public async Task Sending_as_the_mailboxs_own_address_or_UPN_needs_no_SendAs_right(string from)
        {
            var exo = new StrictExchange();
            exo.Answers["Get-RecipientPermission"] = _ => Array.Empty<Dictionary<string, object?>>();
            exo.Mailboxes.Add(new Box("scanner@contoso.onmicrosoft.com", "scanner@contoso.com"));
            PolicyStateReader reader = await Start(exo, new PolicyReadOptions { From = from });
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "scanner@contoso.com" }, CancellationToken.None)).State!;
            Assert.True(s.SendAsAllowed);
            Assert.Null(s.OAuthBlockedBy);
        }

        [Theory]
        [InlineData("scanner@contoso.onmicrosoft.com", true)]
        [InlineData("scanner@contoso.com", true)]
        [InlineData("someone.else@contoso.com", false)]
        public async Task A_SendAs_right_granted_to_the_mailboxs_UPN_or_address_counts(string trustee, bool allowed)
        {
            var exo = new StrictExchange();
            exo.Answers["Get-RecipientPermission"] = _ => new[] { new Dictionary<string, object?> { ["Trustee"] = trustee, ["AccessControlType"] = "Allow", ["AccessRights"] = "SendAs" } };
            exo.Mailboxes.Add(new Box("scanner@contoso.onmicrosoft.com", "scanner@contoso.com"));
            PolicyStateReader reader = await Start(exo, new PolicyReadOptions { From = "billing@contoso.com" });
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "scanner@contoso.com" }, CancellationToken.None)).State!;
            Assert.Equal(allowed, s.SendAsAllowed);
            Assert.Equal(allowed ? PolicyVerdict.Allowed : PolicyVerdict.Blocked, s.OAuthVerdict);
        }

        [Fact]
        public async Task A_SendAs_deny_entry_grants_nothing_when_only_the_asked_properties_come_back()
        {
            var exo = new StrictExchange();
            exo.Answers["Get-RecipientPermission"] = _ => new[] { new Dictionary<string, object?> { ["Trustee"] = "scanner@contoso.com", ["AccessControlType"] = "Deny" } };
            exo.Mailboxes.Add(new Box("scanner@contoso.com"));
            PolicyStateReader reader = await Start(exo, new PolicyReadOptions { From = "billing@contoso.com" });
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "scanner@contoso.com" }, CancellationToken.None)).State!;
            Assert.False(s.SendAsAllowed);
            Assert.Equal("SendAsDenied", s.BasicAuthBlockedBy);
        }

        // --- App-only ---

        private static StrictExchange WithServicePrincipal()
        {
            var exo = new StrictExchange();
            exo.Mailboxes.Add(new Box("app@contoso.com"));
            exo.Answers["Get-ServicePrincipal"] = _ => new[] { new Dictionary<string, object?> { ["ObjectId"] = "obj-1", ["Identity"] = "sp-identity", ["DisplayName"] = "Scanner app" } };
            exo.Answers["Get-MailboxPermission"] = _ => new[] { new Dictionary<string, object?> { ["AccessRights"] = "FullAccess", ["Deny"] = false, ["User"] = "sp-identity" } };
            return exo;
        }

        [Fact]
        public async Task The_service_principal_and_its_FullAccess_arrive_when_only_the_asked_properties_come_back()
        {
            StrictExchange exo = WithServicePrincipal();
            PolicyStateReader reader = await Start(exo, new PolicyReadOptions { ClientId = "app-1" });
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "app@contoso.com" }, CancellationToken.None)).State!;
            Assert.Equal("obj-1", reader.ServicePrincipalObjectId);
            Assert.True(s.ServicePrincipalRegistered);
            Assert.True(s.ServicePrincipalHasMailboxAccess);
            Assert.Equal("sp-identity", exo.Called("Get-MailboxPermission").Single().Parameters["User"]);
        }

        [Fact]
        public async Task A_denied_FullAccess_is_no_access_when_only_the_asked_properties_come_back()
        {
            StrictExchange exo = WithServicePrincipal();
            exo.Answers["Get-MailboxPermission"] = _ => new[] { new Dictionary<string, object?> { ["AccessRights"] = "FullAccess", ["Deny"] = true } };
            PolicyStateReader reader = await Start(exo, new PolicyReadOptions { ClientId = "app-1" });
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "app@contoso.com" }, CancellationToken.None)).State!;
            Assert.False(s.ServicePrincipalHasMailboxAccess);
            Assert.Equal("MailboxPermissionMissing", s.OAuthBlockedBy);
        }

        [Fact]
        public async Task A_permission_read_that_lists_no_entry_means_the_app_has_no_access()
        {
            StrictExchange exo = WithServicePrincipal();
            exo.Answers["Get-MailboxPermission"] = _ => Array.Empty<Dictionary<string, object?>>();
            PolicyStateReader reader = await Start(exo, new PolicyReadOptions { ClientId = "app-1" });
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "app@contoso.com" }, CancellationToken.None)).State!;
            Assert.False(s.ServicePrincipalHasMailboxAccess);
            Assert.Equal("MailboxPermissionMissing", s.OAuthBlockedBy);
        }

        [Fact]
        public async Task A_service_principal_that_was_read_adds_no_reason_to_the_other_reasons()
        {
            StrictExchange exo = WithServicePrincipal();
            exo.Answers["Get-User"] = StrictExchange.Fail("Users busy");
            PolicyStateReader reader = await Start(exo, new PolicyReadOptions { ClientId = "app-1" });
            SmtpAuthPolicyState s = Assert.Single(await reader.ReadAsync(new[] { "app@contoso.com" }, CancellationToken.None)).State!;
            Assert.Equal("User authentication policy (Get-User): the read failed (Get-User: Users busy).", s.UnknownReasons);
            Assert.True(s.ServicePrincipalHasMailboxAccess);
        }

        // --- The Graph half ---

        /// <summary>A Graph transport that breaks in a way Graph's own failure handling does not know, or cancels.</summary>
        private sealed class BrokenGraph : IGraphTransport
        {
            private readonly Func<Exception> _error;

            public BrokenGraph(Func<Exception> error) => _error = error;

            public int Requests { get; private set; }

            public string Description => "a broken Graph";

            public Task<GraphHttpResponse> SendAsync(string method, string url, string? jsonBody, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
            {
                Requests++;
                throw _error();
            }
        }

        [Fact]
        public async Task When_the_Graph_half_breaks_the_Exchange_half_stands_and_each_mailbox_says_why_Entra_is_unknown()
        {
            var exo = new StrictExchange();
            exo.Mailboxes.Add(new Box("a@contoso.com") { SmtpDisabled = true });
            exo.Mailboxes.Add(new Box("b@contoso.com"));
            var sink = new Sink();
            PolicyStateReader reader = await Start(exo, sink: sink);
            var graph = new BrokenGraph(() => new NotSupportedException("The transport broke."));
            reader.Graph = new GraphPolicyReader(new GraphReader(graph, sink, maxRetries: 0), new GraphReadOptions(), sink);
            IReadOnlyList<PolicyStateResult> r = await reader.ReadAsync(new[] { "a@contoso.com", "b@contoso.com" }, CancellationToken.None);

            Assert.True(graph.Requests > 0);
            Assert.All(r, x => Assert.Equal("Microsoft Graph: the read failed (The transport broke.).", x.State!.UnknownReasons));
            Assert.True(r[0].State!.MailboxSmtpAuthDisabled);
            Assert.Equal("MailboxSmtpAuthDisabled", r[0].State!.BasicAuthBlockedBy);
            Assert.True(r[1].State!.SmtpAuthEnabled);
            Assert.Null(r[1].State!.AccountEnabled);
        }

        [Fact]
        public async Task A_cancelled_Graph_read_cancels_the_read_instead_of_turning_into_a_reason()
        {
            var exo = new StrictExchange();
            exo.Mailboxes.Add(new Box("a@contoso.com"));
            var sink = new Sink();
            PolicyStateReader reader = await Start(exo, sink: sink);
            using var cts = new CancellationTokenSource();

            // The admin presses Ctrl+C while Graph is being read.
            var graph = new BrokenGraph(() =>
            {
                cts.Cancel();
                return new OperationCanceledException(cts.Token);
            });
            reader.Graph = new GraphPolicyReader(new GraphReader(graph, sink, maxRetries: 0), new GraphReadOptions(), sink);
            Task<IReadOnlyList<PolicyStateResult>> read = reader.ReadAsync(new[] { "a@contoso.com" }, cts.Token);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
            Assert.Equal(1, graph.Requests);
        }

        // --- The caller's synchronization context ---

        /// <summary>
        /// A single-threaded context, like a UI or a host that blocks its thread on the work. The calls of the stand-ins
        /// complete at once, except one, chosen by the test, which completes later, from outside the context (as I/O
        /// completes), run by this context's loop on the test's thread. Until that call, the read runs on the context; a
        /// continuation that asks to resume on it is posted to it: counted, then run by the same loop.
        /// </summary>
        private sealed class SingleThreadContext : SynchronizationContext
        {
            private readonly Queue<(Action Work, bool OnContext)> _work = new Queue<(Action, bool)>();
            private int _thread;
            private int _asyncCall;

            public int Posts { get; private set; }

            public int Calls { get; private set; }

            public override void Post(SendOrPostCallback d, object? state)
            {
                lock (_work)
                {
                    Posts++;
                    _work.Enqueue((() => d(state), true));
                }
            }

            public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException();

            public override SynchronizationContext CreateCopy() => this;

            public Task Call()
            {
                Assert.Equal(_thread, Environment.CurrentManagedThreadId);
                if (++Calls != _asyncCall)
                {
                    return Task.CompletedTask;
                }

                var done = new TaskCompletionSource();
                lock (_work)
                {
                    _work.Enqueue((() => done.SetResult(), false));
                }

                return done.Task;
            }

            /// <summary>Runs the read with call number <paramref name="asyncCall"/> completing later (0: none).</summary>
            public T Run<T>(int asyncCall, Func<Task<T>> start)
            {
                SynchronizationContext? saved = Current;
                _thread = Environment.CurrentManagedThreadId;
                _asyncCall = asyncCall;
                Calls = 0;
                Posts = 0;
                SetSynchronizationContext(this);
                try
                {
                    Task<T> task = start();
                    while (!task.IsCompleted)
                    {
                        (Action Work, bool OnContext) next;
                        lock (_work)
                        {
                            Assert.True(_work.Count > 0, "The read waits on work that nobody will run.");
                            next = _work.Dequeue();
                        }

                        SetSynchronizationContext(next.OnContext ? this : null);
                        next.Work();
                    }

                    return task.GetAwaiter().GetResult();
                }
                finally
                {
                    SetSynchronizationContext(saved);
                }
            }
        }

        // The test's own awaits do not resume on the context either, so that every post counted is the reader's.
        private static async Task<string> ReadSomeOffContext(StrictExchange exo, PolicyReadOptions options)
        {
            var reader = new PolicyStateReader(exo, options, new Sink(), () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None).ConfigureAwait(false);
            IReadOnlyList<PolicyStateResult> r = await reader.ReadAsync(new[] { "app@contoso.com", "scanner" }, CancellationToken.None).ConfigureAwait(false);
            return Describe(r.Select(x => x.State));
        }

        private static async Task<string> ReadAllOffContext(StrictExchange exo, PolicyReadOptions options, Func<Task> onBatch)
        {
            var reader = new PolicyStateReader(exo, options, new Sink(), () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None).ConfigureAwait(false);
            var states = new List<SmtpAuthPolicyState>();
            await reader.ReadAllAsync(b => { states.AddRange(b); return onBatch(); }, CancellationToken.None).ConfigureAwait(false);
            return Describe(states);
        }

        private static string Describe(IEnumerable<SmtpAuthPolicyState?> states) => string.Join(
            " | ",
            states.Select(s => s is null ? "not found" : string.Join(", ", s.UserPrincipalName, s.MailboxSmtpAuthDisabled, s.ServicePrincipalHasMailboxAccess, s.SendAsAllowed, s.BasicAuthVerdict, s.OAuthVerdict, s.UnknownReasons)));

        // Reads once with every call completing at once, then once per call with that call completing later.
        private static void AssertNeverResumesOnTheContext(SingleThreadContext context, Func<Task<string>> read, string expected)
        {
            Assert.Equal(expected, context.Run(0, read));
            int calls = context.Calls;
            Assert.True(calls > 5);
            for (int k = 1; k <= calls; k++)
            {
                Assert.Equal(expected, context.Run(k, read));
                Assert.True(context.Posts == 0, "Resumed on the caller's context after call " + k + " of " + calls + " completed later.");
            }
        }

        [Fact]
        public void The_read_never_resumes_on_the_callers_synchronization_context()
        {
            var context = new SingleThreadContext();
            StrictExchange exo = WithServicePrincipal();
            exo.Mailboxes.Add(new Box("scanner@contoso.com") { SmtpDisabled = true });
            exo.Answers["Get-RecipientPermission"] = _ => Array.Empty<Dictionary<string, object?>>();
            exo.Completion = context.Call;
            var options = new PolicyReadOptions { ClientId = "app-1", From = "app@contoso.com" };

            AssertNeverResumesOnTheContext(
                context,
                () => ReadSomeOffContext(exo, options),
                "app@contoso.com, , True, True, Unknown, Unknown,  | scanner@contoso.com, True, True, False, Blocked, Blocked, ");
            AssertNeverResumesOnTheContext(
                context,
                () => ReadAllOffContext(exo, options, context.Call),
                "app@contoso.com, , True, True, Unknown, Unknown,  | scanner@contoso.com, True, True, False, Blocked, Blocked, ");
        }
    }
}
