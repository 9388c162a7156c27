using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11: the policy read's orchestration in the engine, over fake Exchange sessions: which cmdlets, which filters,
    /// batching, fallbacks, faults, precedence, the app-only and SendAs checks. No PowerShell, no emulator.
    /// </summary>
    public class PolicyStateReaderTests
    {
        private static readonly DateTime s_now = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

        /// <summary>A tenant in memory that answers the EXO cmdlets the way SHAPES.md describes them (a subset).</summary>
        private sealed class FakeExchange : IExchangeSession
        {
            public readonly List<ExchangeCommand> Log = new List<ExchangeCommand>();
            public readonly Dictionary<string, (string Upn, string Address, string Type, bool? SmtpDisabled, string? Policy)> Mailboxes =
                new Dictionary<string, (string, string, string, bool?, string?)>(StringComparer.OrdinalIgnoreCase);
            public readonly HashSet<string> Failing = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            public bool? TenantSmtpDisabled = false;
            public string? SpObjectId;
            public readonly List<(string Trustee, string Type)> SendAs = new List<(string, string)>();
            public bool SpHasFullAccess;

            public int Calls => Log.Count;

            public Task<string?> CheckConnectionAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

            public Task InvokeAsync(ExchangeCommand command, Action<ExchangeRecord> onRecord, CancellationToken cancellationToken)
            {
                Log.Add(command);
                if (Failing.Contains(command.Name))
                {
                    throw new ExchangeCallException(command.Name, "The server is busy (simulated).", notFound: false);
                }

                foreach (Dictionary<string, object?> r in Answer(command))
                {
                    onRecord(new ExchangeRecord(r));
                }

                return Task.CompletedTask;
            }

            private IEnumerable<Dictionary<string, object?>> Answer(ExchangeCommand c)
            {
                IReadOnlyDictionary<string, object?> p = c.Parameters;
                switch (c.Name)
                {
                    case "Get-TransportConfig":
                        yield return new Dictionary<string, object?> { ["SmtpClientAuthenticationDisabled"] = TenantSmtpDisabled, ["AllowLegacyTLSClients"] = false };
                        break;
                    case "Get-OrganizationConfig":
                        yield return new Dictionary<string, object?> { ["DefaultAuthenticationPolicy"] = null };
                        break;
                    case "Get-AuthenticationPolicy":
                        yield return new Dictionary<string, object?> { ["Name"] = "Block Basic Auth", ["Identity"] = "Block Basic Auth", ["AllowBasicAuthSmtp"] = false };
                        break;
                    case "Get-ServicePrincipal":
                        if (SpObjectId is null)
                        {
                            throw new ExchangeCallException(c.Name, "The operation couldn't be performed because object couldn't be found.", notFound: true);
                        }

                        yield return new Dictionary<string, object?> { ["ObjectId"] = SpObjectId, ["Identity"] = SpObjectId };
                        break;
                    case "Get-RecipientPermission":
                        // -ResultSize: 1000 by default, "Unlimited" for all (Microsoft's Get-RecipientPermission reference).
                        int limit = !p.TryGetValue("ResultSize", out object? size) ? 1000 : size is int n ? n : string.Equals(size as string, "Unlimited", StringComparison.OrdinalIgnoreCase) ? int.MaxValue : throw new ArgumentException("ResultSize " + size);
                        foreach ((string trustee, string type) in SendAs.Take(limit))
                        {
                            yield return new Dictionary<string, object?> { ["Trustee"] = trustee, ["AccessControlType"] = type };
                        }

                        break;
                    case "Get-MailboxPermission":
                        yield return new Dictionary<string, object?> { ["AccessRights"] = SpHasFullAccess ? "FullAccess" : "ReadPermission", ["Deny"] = false };
                        break;
                    case "Get-EXOMailbox":
                        foreach (var m in Select(p, m => m.Upn).Where(m => !p.TryGetValue("RecipientTypeDetails", out object? t) || ((string[])t!).Contains(m.Type, StringComparer.OrdinalIgnoreCase)))
                        {
                            yield return new Dictionary<string, object?> { ["UserPrincipalName"] = m.Upn, ["PrimarySmtpAddress"] = m.Address, ["RecipientTypeDetails"] = m.Type, ["ExternalDirectoryObjectId"] = Guid.Empty.ToString() };
                        }

                        break;
                    case "Get-EXOCasMailbox":
                        foreach (var m in Select(p, m => m.Address))
                        {
                            yield return new Dictionary<string, object?> { ["PrimarySmtpAddress"] = m.Address, ["SmtpClientAuthenticationDisabled"] = m.SmtpDisabled };
                        }

                        break;
                    case "Get-User":
                        foreach (var m in Select(p, m => m.Upn).Where(m => !(p.TryGetValue("Filter", out object? f) && Equals(f, "AuthenticationPolicy -ne $null")) || m.Policy is not null))
                        {
                            yield return new Dictionary<string, object?> { ["UserPrincipalName"] = m.Upn, ["AuthenticationPolicy"] = m.Policy };
                        }

                        break;
                    default:
                        throw new InvalidOperationException("The fake has no " + c.Name);
                }
            }

            // -Identity, an OPATH filter of "X -eq 'v'" clauses (parsed back, '' unquoted), or everything.
            private IEnumerable<(string Upn, string Address, string Type, bool? SmtpDisabled, string? Policy)> Select(IReadOnlyDictionary<string, object?> p, Func<(string Upn, string Address, string Type, bool? SmtpDisabled, string? Policy), string> _)
            {
                IEnumerable<(string Upn, string Address, string Type, bool? SmtpDisabled, string? Policy)> all = Mailboxes.Values;
                if (p.TryGetValue("Identity", out object? id))
                {
                    return all.Where(m => string.Equals(m.Upn, (string)id!, StringComparison.OrdinalIgnoreCase) || m.Upn.StartsWith((string)id! + "@", StringComparison.OrdinalIgnoreCase))
                        .DefaultIfEmpty().Where(m => m.Upn is not null || Throw((string)id!));
                }

                if (p.TryGetValue("Filter", out object? f) && f is string filter && filter != "AuthenticationPolicy -ne $null")
                {
                    var wanted = Regex.Matches(filter, @"(\w+) -eq '((?:[^']|'')*)'").Cast<Match>()
                        .Select(x => (Property: x.Groups[1].Value, Value: x.Groups[2].Value.Replace("''", "'"))).ToList();
                    return all.Where(m => wanted.Any(w => string.Equals(w.Property == "PrimarySmtpAddress" ? m.Address : m.Upn, w.Value, StringComparison.OrdinalIgnoreCase)));
                }

                return all;
            }

            private static bool Throw(string id) => throw new ExchangeCallException("Get-EXOMailbox", "The operation couldn't be performed because object '" + id + "' couldn't be found.", notFound: true);

            public void Add(string upn, string type = "UserMailbox", bool? smtpDisabled = null, string? policy = null) =>
                Mailboxes[upn] = (upn, upn, type, smtpDisabled, policy);
        }

        private sealed class NullSink : IDiagnosticSink
        {
            public readonly List<string> Warnings = new List<string>();
            public void Verbose(string message) { }
            public void Warning(string message) => Warnings.Add(message);
            public void Debug(string message) { }
            public void Progress(string activity, string status, int percentComplete) { }
            public void Progress(string activity, string status, int percentComplete, int secondsRemaining) { }
        }

        private static async Task<(PolicyStateReader Reader, NullSink Sink)> Start(FakeExchange exo, PolicyReadOptions? options = null)
        {
            var sink = new NullSink();
            var reader = new PolicyStateReader(exo, options ?? new PolicyReadOptions(), sink, () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None);
            return (reader, sink);
        }

        [Fact]
        public void Opath_quotes_every_value_the_same_way()
        {
            Assert.Equal("UserPrincipalName -eq 'o''brien@contoso.com'", Opath.Equal("UserPrincipalName", "o'brien@contoso.com"));
            Assert.Equal("'a''''b'", Opath.Quote("a''b"));
            Assert.Equal("A -eq 'x' -or B -eq 'y'", Opath.AnyOf(new[] { Opath.Equal("A", "x"), Opath.Equal("B", "y") }));
        }

        [Fact]
        public async Task The_mailbox_switch_wins_over_the_organization_switch_both_ways_and_null_inherits()
        {
            var exo = new FakeExchange { TenantSmtpDisabled = true };
            exo.Add("inherit@contoso.com", smtpDisabled: null);
            exo.Add("on@contoso.com", smtpDisabled: false);
            (PolicyStateReader reader, _) = await Start(exo);
            IReadOnlyList<PolicyStateResult> r = await reader.ReadAsync(new[] { "inherit@contoso.com", "on@contoso.com" }, CancellationToken.None);
            Assert.False(r[0].State!.SmtpAuthEnabled);
            Assert.Equal("Tenant", r[0].State!.SmtpAuthDecidedBy);
            Assert.True(r[1].State!.SmtpAuthEnabled);
            Assert.Equal("Mailbox", r[1].State!.SmtpAuthDecidedBy);

            exo.TenantSmtpDisabled = false;
            exo.Add("off@contoso.com", smtpDisabled: true);
            (reader, _) = await Start(exo);
            SmtpAuthPolicyState off = (await reader.ReadAsync(new[] { "off@contoso.com" }, CancellationToken.None))[0].State!;
            Assert.False(off.SmtpAuthEnabled);
            Assert.Equal("Mailbox", off.SmtpAuthDecidedBy);
        }

        [Fact]
        public async Task A_batch_is_one_filtered_call_per_kind_with_quoted_values_in_input_order()
        {
            var exo = new FakeExchange();
            var ids = Enumerable.Range(0, 120).Select(i => i == 7 ? "o'brien@contoso.com" : "user" + i + "@contoso.com").ToList();
            ids.ForEach(id => exo.Add(id));
            (PolicyStateReader reader, _) = await Start(exo, new PolicyReadOptions { BatchSize = 50 });
            int before = exo.Calls;
            IReadOnlyList<PolicyStateResult> r = await reader.ReadAsync(ids, CancellationToken.None);

            Assert.Equal(ids, r.Select(x => x.Identity));
            Assert.All(r, x => Assert.NotNull(x.State));
            List<ExchangeCommand> calls = exo.Log.Skip(before).ToList();
            Assert.Equal(3, calls.Count(c => c.Name == "Get-EXOMailbox"));
            Assert.Equal(3, calls.Count(c => c.Name == "Get-EXOCasMailbox"));
            Assert.Equal(3, calls.Count(c => c.Name == "Get-User"));
            Assert.Contains(calls, c => c.Parameters.TryGetValue("Filter", out object? f) && ((string)f!).Contains("UserPrincipalName -eq 'o''brien@contoso.com'", StringComparison.Ordinal));
        }

        [Fact]
        public async Task Names_the_filter_cannot_match_are_looked_up_one_by_one_and_a_missing_one_is_reported_not_dropped()
        {
            var exo = new FakeExchange();
            exo.Add("scanner@contoso.com");
            (PolicyStateReader reader, _) = await Start(exo);
            IReadOnlyList<PolicyStateResult> r = await reader.ReadAsync(new[] { "scanner", "nobody@contoso.com" }, CancellationToken.None);
            Assert.Equal("scanner@contoso.com", r[0].State!.UserPrincipalName);
            Assert.Equal("nobody@contoso.com", r[1].Identity);
            Assert.Null(r[1].State);
            Assert.Contains(exo.Log, c => c.Name == "Get-EXOMailbox" && c.Parameters.TryGetValue("Identity", out object? id) && (string)id! == "scanner");
        }

        [Fact]
        public async Task A_failed_read_leaves_its_fields_unknown_with_the_reason_and_the_rest_stands()
        {
            var exo = new FakeExchange { TenantSmtpDisabled = true };
            exo.Add("a@contoso.com", smtpDisabled: false, policy: "Block Basic Auth");
            exo.Failing.Add("Get-EXOCasMailbox");
            (PolicyStateReader reader, _) = await Start(exo);
            SmtpAuthPolicyState s = (await reader.ReadAsync(new[] { "a@contoso.com" }, CancellationToken.None))[0].State!;
            Assert.Null(s.MailboxSmtpAuthDisabled);
            Assert.Null(s.SmtpAuthEnabled);
            Assert.Contains("Mailbox SMTP AUTH (Get-EXOCasMailbox): the read failed", s.UnknownReasons, StringComparison.Ordinal);
            Assert.Equal("Block Basic Auth", s.AuthenticationPolicy);
            Assert.False(s.AllowBasicAuthSmtp);

            var broken = new FakeExchange();
            broken.Add("b@contoso.com");
            broken.Failing.Add("Get-TransportConfig");
            (reader, _) = await Start(broken);
            SmtpAuthPolicyState t = (await reader.ReadAsync(new[] { "b@contoso.com" }, CancellationToken.None))[0].State!;
            Assert.Null(t.TenantSmtpAuthDisabled);
            Assert.Contains("Organization SMTP AUTH (Get-TransportConfig): the read failed", t.UnknownReasons, StringComparison.Ordinal);
        }

        [Fact]
        public async Task A_failed_mailbox_lookup_still_gives_the_mailbox_a_state_with_the_reason()
        {
            var exo = new FakeExchange();
            exo.Add("a@contoso.com");
            exo.Failing.Add("Get-EXOMailbox");
            (PolicyStateReader reader, _) = await Start(exo);
            PolicyStateResult r = Assert.Single(await reader.ReadAsync(new[] { "a@contoso.com" }, CancellationToken.None));
            Assert.NotNull(r.State);
            Assert.Contains("Mailbox (Get-EXOMailbox): the read failed", r.State!.UnknownReasons, StringComparison.Ordinal);
        }

        [Fact]
        public async Task All_reads_user_and_shared_mailboxes_by_default_and_lists_each_setting_once()
        {
            var exo = new FakeExchange();
            exo.Add("user@contoso.com");
            exo.Add("scanner-shared@contoso.com", type: "SharedMailbox");
            exo.Add("room@contoso.com", type: "RoomMailbox");
            (PolicyStateReader reader, _) = await Start(exo);
            var states = new List<SmtpAuthPolicyState>();
            await reader.ReadAllAsync(b => { states.AddRange(b); return Task.CompletedTask; }, CancellationToken.None);

            Assert.Equal(new[] { "scanner-shared@contoso.com", "user@contoso.com" }, states.Select(s => s.UserPrincipalName).OrderBy(x => x));
            Assert.Equal(2, reader.Total);
            Assert.Equal(1, exo.Log.Count(c => c.Name == "Get-EXOCasMailbox"));
            Assert.DoesNotContain(exo.Log, c => c.Name == "Get-EXOCasMailbox" && c.Parameters.ContainsKey("Filter"));
        }

        [Fact]
        public async Task All_honours_RecipientTypeDetails_and_ResultSize_and_a_bounded_read_does_not_list_the_tenant()
        {
            var exo = new FakeExchange();
            exo.Add("user@contoso.com");
            exo.Add("room@contoso.com", type: "RoomMailbox");
            (PolicyStateReader reader, _) = await Start(exo, new PolicyReadOptions { RecipientTypeDetails = new[] { "RoomMailbox" }, ResultSize = 10 });
            var states = new List<SmtpAuthPolicyState>();
            await reader.ReadAllAsync(b => { states.AddRange(b); return Task.CompletedTask; }, CancellationToken.None);

            Assert.Equal("room@contoso.com", Assert.Single(states).UserPrincipalName);
            ExchangeCommand list = exo.Log.First(c => c.Name == "Get-EXOMailbox");
            Assert.Equal(10, list.Parameters["ResultSize"]);
            Assert.All(exo.Log.Where(c => c.Name == "Get-EXOCasMailbox"), c => Assert.True(c.Parameters.ContainsKey("Filter")));
        }

        [Fact]
        public async Task A_failed_bulk_listing_falls_back_to_per_batch_reads()
        {
            var exo = new FakeExchange();
            exo.Add("user@contoso.com", smtpDisabled: true);
            var reader = new PolicyStateReader(new FailFirstCas(exo), new PolicyReadOptions(), new NullSink(), () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None);
            var states = new List<SmtpAuthPolicyState>();
            await reader.ReadAllAsync(b => { states.AddRange(b); return Task.CompletedTask; }, CancellationToken.None);
            Assert.True(Assert.Single(states).MailboxSmtpAuthDisabled);
        }

        private sealed class FailFirstCas : IExchangeSession
        {
            private readonly FakeExchange _inner;
            private bool _failed;

            public FailFirstCas(FakeExchange inner) => _inner = inner;

            public int Calls => _inner.Calls;

            public Task<string?> CheckConnectionAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

            public Task InvokeAsync(ExchangeCommand command, Action<ExchangeRecord> onRecord, CancellationToken cancellationToken)
            {
                if (command.Name == "Get-EXOCasMailbox" && !_failed)
                {
                    _failed = true;
                    throw new ExchangeCallException(command.Name, "The server is busy.", notFound: false);
                }

                return _inner.InvokeAsync(command, onRecord, cancellationToken);
            }
        }

        [Fact]
        public async Task App_only_no_service_principal_means_not_registered_and_no_permission_read()
        {
            var exo = new FakeExchange { SpObjectId = null };
            exo.Add("app@contoso.com");
            (PolicyStateReader reader, _) = await Start(exo, new PolicyReadOptions { ClientId = "b1000000-0000-4000-8000-000000000002" });
            SmtpAuthPolicyState s = (await reader.ReadAsync(new[] { "app@contoso.com" }, CancellationToken.None))[0].State!;
            Assert.False(s.ServicePrincipalRegistered);
            Assert.DoesNotContain(exo.Log, c => c.Name == "Get-MailboxPermission");
            Assert.Null(reader.ServicePrincipalObjectId);
        }

        [Fact]
        public async Task App_only_with_a_service_principal_reads_its_FullAccess_on_each_mailbox()
        {
            var exo = new FakeExchange { SpObjectId = "c1000000-0000-4000-8000-000000000002", SpHasFullAccess = true };
            exo.Add("app@contoso.com");
            (PolicyStateReader reader, _) = await Start(exo, new PolicyReadOptions { ClientId = "b1000000-0000-4000-8000-000000000002" });
            SmtpAuthPolicyState s = (await reader.ReadAsync(new[] { "app@contoso.com" }, CancellationToken.None))[0].State!;
            Assert.True(s.ServicePrincipalRegistered);
            Assert.True(s.ServicePrincipalHasMailboxAccess);
            Assert.Equal("c1000000-0000-4000-8000-000000000002", reader.ServicePrincipalObjectId);
            ExchangeCommand perm = Assert.Single(exo.Log, c => c.Name == "Get-MailboxPermission");
            Assert.Equal("c1000000-0000-4000-8000-000000000002", perm.Parameters["User"]);
        }

        [Fact]
        public async Task SendAs_is_read_once_and_a_deny_entry_grants_nothing()
        {
            var exo = new FakeExchange();
            exo.Add("app@contoso.com");
            exo.Add("other@contoso.com");
            exo.SendAs.Add(("app@contoso.com", "Allow"));
            exo.SendAs.Add(("other@contoso.com", "Deny"));
            (PolicyStateReader reader, _) = await Start(exo, new PolicyReadOptions { From = "billing@contoso.com" });
            IReadOnlyList<PolicyStateResult> r = await reader.ReadAsync(new[] { "app@contoso.com", "other@contoso.com" }, CancellationToken.None);
            Assert.True(r[0].State!.SendAsAllowed);
            Assert.False(r[1].State!.SendAsAllowed);
            Assert.Single(exo.Log, c => c.Name == "Get-RecipientPermission");
        }

        [Fact]
        public async Task SendAs_is_read_past_the_first_1000_trustees()
        {
            // Get-RecipientPermission returns 1000 entries unless -ResultSize says otherwise; EXO's "only the first
            // 1000 items" notice is a warning, which the module silences: the 1001st trustee must not read as missing.
            var exo = new FakeExchange();
            exo.Add("app@contoso.com");
            for (int i = 0; i < 1000; i++)
            {
                exo.SendAs.Add(("user" + i.ToString(CultureInfo.InvariantCulture) + "@contoso.com", "Allow"));
            }

            exo.SendAs.Add(("app@contoso.com", "Allow"));
            (PolicyStateReader reader, _) = await Start(exo, new PolicyReadOptions { From = "noreply@contoso.com" });
            SmtpAuthPolicyState s = (await reader.ReadAsync(new[] { "app@contoso.com" }, CancellationToken.None))[0].State!;
            Assert.True(s.SendAsAllowed);
        }

        [Fact]
        public async Task A_failed_SendAs_read_warns_and_leaves_SendAs_unknown()
        {
            var exo = new FakeExchange();
            exo.Add("app@contoso.com");
            exo.Failing.Add("Get-RecipientPermission");
            (PolicyStateReader reader, NullSink sink) = await Start(exo, new PolicyReadOptions { From = "billing@contoso.com" });
            SmtpAuthPolicyState s = (await reader.ReadAsync(new[] { "app@contoso.com" }, CancellationToken.None))[0].State!;
            Assert.Null(s.SendAsAllowed);
            Assert.Contains(sink.Warnings, w => w.Contains("SendAs rights (Get-RecipientPermission)", StringComparison.Ordinal));
        }
    }
}
