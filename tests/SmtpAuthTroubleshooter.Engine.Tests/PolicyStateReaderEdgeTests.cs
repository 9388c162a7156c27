using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the policy read's edges that PolicyStateReaderTests does not reach: each tenant read
    /// that fails, an authentication policy named by its DN or GUID, the app-only permission read failing or denied,
    /// SendAs for the mailbox itself, and the parameters of the tenant-wide listing. A scripted session answers per
    /// cmdlet; unknown cmdlets fail the test.
    /// </summary>
    public class PolicyStateReaderEdgeTests
    {
        private static readonly DateTime s_now = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

        private sealed class Scripted : IExchangeSession
        {
            public readonly List<ExchangeCommand> Log = new List<ExchangeCommand>();
            public readonly Dictionary<string, Func<ExchangeCommand, IEnumerable<Dictionary<string, object?>>>> Answers =
                new Dictionary<string, Func<ExchangeCommand, IEnumerable<Dictionary<string, object?>>>>(StringComparer.OrdinalIgnoreCase);

            public Scripted()
            {
                Answers["Get-TransportConfig"] = _ => new[] { new Dictionary<string, object?> { ["SmtpClientAuthenticationDisabled"] = false, ["AllowLegacyTLSClients"] = true } };
                Answers["Get-OrganizationConfig"] = _ => new[] { new Dictionary<string, object?> { ["DefaultAuthenticationPolicy"] = null } };
                Answers["Get-AuthenticationPolicy"] = _ => Array.Empty<Dictionary<string, object?>>();
                Answers["Get-EXOMailbox"] = _ => new[] { Mailbox("app@contoso.com") };
                Answers["Get-EXOCasMailbox"] = _ => new[] { new Dictionary<string, object?> { ["PrimarySmtpAddress"] = "app@contoso.com", ["SmtpClientAuthenticationDisabled"] = null } };
                Answers["Get-User"] = _ => new[] { new Dictionary<string, object?> { ["UserPrincipalName"] = "app@contoso.com", ["AuthenticationPolicy"] = null } };
            }

            public static Dictionary<string, object?> Mailbox(string upn, string type = "UserMailbox") => new Dictionary<string, object?>
            {
                ["UserPrincipalName"] = upn,
                ["PrimarySmtpAddress"] = upn,
                ["RecipientTypeDetails"] = type,
                ["ExternalDirectoryObjectId"] = "11111111-1111-1111-1111-111111111111",
            };

            public static Func<ExchangeCommand, IEnumerable<Dictionary<string, object?>>> Fail(string message, bool notFound = false) =>
                c => throw new ExchangeCallException(c.Name, message, notFound);

            public int Calls => Log.Count;

            public Task<string?> CheckConnectionAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

            public Task InvokeAsync(ExchangeCommand command, Action<ExchangeRecord> onRecord, CancellationToken cancellationToken)
            {
                Log.Add(command);
                foreach (Dictionary<string, object?> r in Answers[command.Name](command))
                {
                    onRecord(new ExchangeRecord(r));
                }

                return Task.CompletedTask;
            }
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

        private static async Task<(SmtpAuthPolicyState State, PolicyStateReader Reader, Sink Sink)> ReadOne(Scripted exo, PolicyReadOptions? options = null)
        {
            var sink = new Sink();
            var reader = new PolicyStateReader(exo, options ?? new PolicyReadOptions(), sink, () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None);
            PolicyStateResult r = Assert.Single(await reader.ReadAsync(new[] { "app@contoso.com" }, CancellationToken.None));
            return (r.State!, reader, sink);
        }

        [Fact]
        public async Task The_tenant_settings_and_the_read_time_reach_the_state()
        {
            (SmtpAuthPolicyState s, PolicyStateReader reader, _) = await ReadOne(new Scripted());
            Assert.False(s.TenantSmtpAuthDisabled);
            Assert.True(s.AllowLegacyTlsClients);
            Assert.True(s.SmtpAuthEnabled);
            Assert.Equal("Tenant", s.SmtpAuthDecidedBy);
            Assert.Equal("None", s.AuthenticationPolicySource);
            Assert.Equal(s_now, s.ReadUtc);
            Assert.True(reader.Tenant.TransportRead);
            Assert.True(reader.Tenant.OrganizationRead);
            Assert.NotNull(reader.Tenant.AuthenticationPolicies);
            Assert.Null(s.UnknownReasons);
        }

        [Fact]
        public async Task A_transport_config_that_answers_nothing_is_not_read()
        {
            var exo = new Scripted();
            exo.Answers["Get-TransportConfig"] = _ => Array.Empty<Dictionary<string, object?>>();
            exo.Answers["Get-OrganizationConfig"] = _ => Array.Empty<Dictionary<string, object?>>();
            (SmtpAuthPolicyState s, PolicyStateReader reader, _) = await ReadOne(exo);
            Assert.False(reader.Tenant.TransportRead);
            Assert.False(reader.Tenant.OrganizationRead);
            Assert.Null(s.SmtpAuthEnabled);
            Assert.Null(s.AuthenticationPolicySource);
            Assert.Equal(PolicyVerdict.Unknown, s.OAuthVerdict);
        }

        [Fact]
        public async Task Each_failed_tenant_read_names_itself_and_leaves_the_others_standing()
        {
            var exo = new Scripted();
            exo.Answers["Get-OrganizationConfig"] = Scripted.Fail("Org busy");
            exo.Answers["Get-AuthenticationPolicy"] = Scripted.Fail("Policies busy");
            (SmtpAuthPolicyState s, PolicyStateReader reader, _) = await ReadOne(exo);
            Assert.Equal("Default authentication policy (Get-OrganizationConfig): the read failed (Get-OrganizationConfig: Org busy).; Authentication policies (Get-AuthenticationPolicy): the read failed (Get-AuthenticationPolicy: Policies busy).", s.UnknownReasons);
            Assert.False(reader.Tenant.OrganizationRead);
            Assert.Null(reader.Tenant.AuthenticationPolicies);
            Assert.True(s.SmtpAuthEnabled);
        }

        [Theory]
        [InlineData("CN=Allow SMTP,CN=Auth Policies,DC=contoso")]
        [InlineData("4b4c3e2a-0000-4000-8000-000000000001")]
        [InlineData("allow smtp")]
        public async Task An_authentication_policy_is_found_by_name_DN_or_GUID_and_shown_by_its_name(string assigned)
        {
            var exo = new Scripted();
            exo.Answers["Get-AuthenticationPolicy"] = _ => new[]
            {
                new Dictionary<string, object?> { ["Name"] = "Allow SMTP", ["Identity"] = "Allow SMTP", ["DistinguishedName"] = "CN=Allow SMTP,CN=Auth Policies,DC=contoso", ["Guid"] = "4b4c3e2a-0000-4000-8000-000000000001", ["AllowBasicAuthSmtp"] = true },
                new Dictionary<string, object?> { ["Identity"] = "No Name Block", ["AllowBasicAuthSmtp"] = false },
            };
            exo.Answers["Get-OrganizationConfig"] = _ => new[] { new Dictionary<string, object?> { ["DefaultAuthenticationPolicy"] = "No Name Block" } };
            exo.Answers["Get-User"] = _ => new[] { new Dictionary<string, object?> { ["UserPrincipalName"] = "app@contoso.com", ["AuthenticationPolicy"] = assigned } };
            (SmtpAuthPolicyState s, _, _) = await ReadOne(exo);
            Assert.Equal("Allow SMTP", s.AuthenticationPolicy);
            Assert.Equal("User", s.AuthenticationPolicySource);
            Assert.True(s.AllowBasicAuthSmtp);
        }

        [Fact]
        public async Task A_policy_without_a_name_is_known_by_its_identity()
        {
            var exo = new Scripted();
            exo.Answers["Get-AuthenticationPolicy"] = _ => new[] { new Dictionary<string, object?> { ["Identity"] = "No Name Block", ["AllowBasicAuthSmtp"] = false } };
            exo.Answers["Get-OrganizationConfig"] = _ => new[] { new Dictionary<string, object?> { ["DefaultAuthenticationPolicy"] = "No Name Block" } };
            (SmtpAuthPolicyState s, _, _) = await ReadOne(exo);
            Assert.Equal("No Name Block", s.AuthenticationPolicy);
            Assert.Equal("OrganizationDefault", s.AuthenticationPolicySource);
            Assert.Equal("AuthenticationPolicyBlocksBasicSmtp", s.BasicAuthBlockedBy);
        }

        [Fact]
        public async Task A_failed_user_read_leaves_the_policy_unknown_with_the_reason()
        {
            var exo = new Scripted();
            exo.Answers["Get-User"] = Scripted.Fail("Users busy");
            (SmtpAuthPolicyState s, _, _) = await ReadOne(exo);
            Assert.Null(s.AuthenticationPolicySource);
            Assert.Equal("User authentication policy (Get-User): the read failed (Get-User: Users busy).", s.UnknownReasons);
            Assert.True(s.SmtpAuthEnabled);
        }

        [Fact]
        public async Task A_mailbox_missing_from_the_CAS_listing_is_not_counted_as_read()
        {
            var exo = new Scripted();
            exo.Answers["Get-EXOCasMailbox"] = _ => new[] { new Dictionary<string, object?> { ["PrimarySmtpAddress"] = "someone.else@contoso.com", ["SmtpClientAuthenticationDisabled"] = true } };
            (SmtpAuthPolicyState s, _, _) = await ReadOne(exo);
            Assert.Null(s.SmtpAuthEnabled);
            Assert.Null(s.MailboxSmtpAuthDisabled);
        }

        [Fact]
        public async Task A_service_principal_that_cannot_be_read_is_unknown_with_the_reason()
        {
            var exo = new Scripted();
            exo.Answers["Get-ServicePrincipal"] = Scripted.Fail("SP busy");
            (SmtpAuthPolicyState s, PolicyStateReader reader, _) = await ReadOne(exo, new PolicyReadOptions { ClientId = "app-1" });
            Assert.Null(s.ServicePrincipalRegistered);
            Assert.Equal("app-1", s.ClientId);
            Assert.Equal("Exchange service principal (Get-ServicePrincipal): the read failed (Get-ServicePrincipal: SP busy).", s.UnknownReasons);
            Assert.Equal(PolicyVerdict.Unknown, s.OAuthVerdict);
            Assert.DoesNotContain(exo.Log, c => c.Name == "Get-MailboxPermission");
            Assert.Equal("app-1", exo.Log.Single(c => c.Name == "Get-ServicePrincipal").Parameters["Identity"]);
            Assert.Null(reader.ServicePrincipalObjectId);
        }

        [Fact]
        public async Task Service_principals_of_other_apps_do_not_make_this_app_registered()
        {
            // https://learn.microsoft.com/powershell/module/exchangepowershell/get-serviceprincipal, -Identity: "a
            // non-existent value for the Identity parameter returns *all* objects". Taking the first one named another
            // app's service principal as this app's, and filled the fix commands with its id.
            var exo = new Scripted();
            exo.Answers["Get-ServicePrincipal"] = _ => new[]
            {
                new Dictionary<string, object?> { ["AppId"] = "0f0f0f0f-0000-4000-8000-000000000001", ["ObjectId"] = "obj-other-1", ["Identity"] = "obj-other-1" },
                new Dictionary<string, object?> { ["AppId"] = "0f0f0f0f-0000-4000-8000-000000000002", ["ObjectId"] = "obj-other-2", ["Identity"] = "obj-other-2" },
            };
            (SmtpAuthPolicyState none, PolicyStateReader reader, _) = await ReadOne(exo, new PolicyReadOptions { ClientId = "B1000000-0000-4000-8000-000000000003" });
            Assert.False(none.ServicePrincipalRegistered);
            Assert.Null(reader.ServicePrincipalObjectId);
            Assert.DoesNotContain(exo.Log, c => c.Name == "Get-MailboxPermission");

            // Among them, this app's own (its AppId, in any case) is the one taken.
            exo.Answers["Get-ServicePrincipal"] = _ => new[]
            {
                new Dictionary<string, object?> { ["AppId"] = "0f0f0f0f-0000-4000-8000-000000000001", ["ObjectId"] = "obj-other-1", ["Identity"] = "obj-other-1" },
                new Dictionary<string, object?> { ["AppId"] = "b1000000-0000-4000-8000-000000000003", ["ObjectId"] = "obj-mine", ["Identity"] = "obj-mine" },
            };
            exo.Answers["Get-MailboxPermission"] = _ => Array.Empty<Dictionary<string, object?>>();
            (SmtpAuthPolicyState mine, PolicyStateReader reader2, _) = await ReadOne(exo, new PolicyReadOptions { ClientId = "B1000000-0000-4000-8000-000000000003" });
            Assert.True(mine.ServicePrincipalRegistered);
            Assert.Equal("obj-mine", reader2.ServicePrincipalObjectId);
        }

        [Fact]
        public async Task The_permission_read_uses_the_service_principals_identity_and_reads_FullAccess_only_when_not_denied()
        {
            var exo = new Scripted();
            exo.Answers["Get-ServicePrincipal"] = _ => new[] { new Dictionary<string, object?> { ["ObjectId"] = "obj-1", ["Identity"] = "sp-identity" } };
            exo.Answers["Get-MailboxPermission"] = _ => new[]
            {
                new Dictionary<string, object?> { ["AccessRights"] = "FullAccess", ["Deny"] = true },
                new Dictionary<string, object?> { ["AccessRights"] = "ReadPermission", ["Deny"] = false },
            };
            (SmtpAuthPolicyState denied, PolicyStateReader reader, _) = await ReadOne(exo, new PolicyReadOptions { ClientId = "app-1" });
            Assert.True(denied.ServicePrincipalRegistered);
            Assert.False(denied.ServicePrincipalHasMailboxAccess);
            Assert.Equal("obj-1", reader.ServicePrincipalObjectId);
            ExchangeCommand perm = exo.Log.Single(c => c.Name == "Get-MailboxPermission");
            Assert.Equal("sp-identity", perm.Parameters["User"]);
            Assert.Equal("app@contoso.com", perm.Parameters["Identity"]);

            exo.Answers["Get-MailboxPermission"] = _ => new[] { new Dictionary<string, object?> { ["AccessRights"] = "ReadPermission, FullAccess", ["Deny"] = null } };
            (SmtpAuthPolicyState granted, _, _) = await ReadOne(exo, new PolicyReadOptions { ClientId = "app-1" });
            Assert.True(granted.ServicePrincipalHasMailboxAccess);
        }

        [Fact]
        public async Task A_service_principal_without_an_identity_is_named_by_its_object_id()
        {
            var exo = new Scripted();
            exo.Answers["Get-ServicePrincipal"] = _ => new[] { new Dictionary<string, object?> { ["ObjectId"] = "obj-1" } };
            exo.Answers["Get-MailboxPermission"] = _ => Array.Empty<Dictionary<string, object?>>();
            await ReadOne(exo, new PolicyReadOptions { ClientId = "app-1" });
            Assert.Equal("obj-1", exo.Log.Single(c => c.Name == "Get-MailboxPermission").Parameters["User"]);
        }

        [Fact]
        public async Task A_permission_read_that_fails_is_unknown_and_one_that_finds_nothing_is_no_access()
        {
            var exo = new Scripted();
            exo.Answers["Get-ServicePrincipal"] = _ => new[] { new Dictionary<string, object?> { ["ObjectId"] = "obj-1", ["Identity"] = "obj-1" } };
            exo.Answers["Get-MailboxPermission"] = Scripted.Fail("Perm busy");
            (SmtpAuthPolicyState failed, _, _) = await ReadOne(exo, new PolicyReadOptions { ClientId = "app-1" });
            Assert.Null(failed.ServicePrincipalHasMailboxAccess);
            Assert.Equal("Service principal mailbox permission (Get-MailboxPermission): the read failed (Get-MailboxPermission: Perm busy).", failed.UnknownReasons);

            exo.Answers["Get-MailboxPermission"] = Scripted.Fail("couldn't be found", notFound: true);
            (SmtpAuthPolicyState missing, _, _) = await ReadOne(exo, new PolicyReadOptions { ClientId = "app-1" });
            Assert.False(missing.ServicePrincipalHasMailboxAccess);
            Assert.Null(missing.UnknownReasons);
        }

        [Fact]
        public async Task Sending_as_oneself_needs_no_SendAs_right()
        {
            var exo = new Scripted();
            exo.Answers["Get-RecipientPermission"] = _ => Array.Empty<Dictionary<string, object?>>();
            (SmtpAuthPolicyState self, _, _) = await ReadOne(exo, new PolicyReadOptions { From = "APP@contoso.com" });
            Assert.True(self.SendAsAllowed);
            Assert.Equal("APP@contoso.com", self.From);
            ExchangeCommand read = exo.Log.Single(c => c.Name == "Get-RecipientPermission");
            Assert.Equal("APP@contoso.com", read.Parameters["Identity"]);
            Assert.Equal("SendAs", read.Parameters["AccessRights"]);

            (SmtpAuthPolicyState other, _, _) = await ReadOne(exo, new PolicyReadOptions { From = "ceo@contoso.com" });
            Assert.False(other.SendAsAllowed);
            Assert.Equal("SendAsDenied", other.OAuthBlockedBy);
        }

        [Fact]
        public async Task An_identity_that_many_mailboxes_answer_to_takes_none_of_them()
        {
            // Get-EXOMailbox, -Identity: "a non-existent value for the Identity parameter returns *all* objects"
            // (https://learn.microsoft.com/powershell/module/exchangepowershell/get-exomailbox). The first answer is not the
            // admin's mailbox: its settings would have been reported under the name the admin gave.
            var exo = new Scripted();
            exo.Answers["Get-EXOMailbox"] = _ => new[] { Scripted.Mailbox("ceo@contoso.com"), Scripted.Mailbox("shared@contoso.com", "SharedMailbox") };
            var reader = new PolicyStateReader(exo, new PolicyReadOptions(), new Sink(), () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None);
            PolicyStateResult r = Assert.Single(await reader.ReadAsync(new[] { "scanner-alias" }, CancellationToken.None));

            Assert.Equal("scanner-alias", r.State!.UserPrincipalName);
            Assert.Null(r.State.PrimarySmtpAddress);
            Assert.Contains("2 mailboxes answered to 'scanner-alias'", r.State.UnknownReasons, StringComparison.Ordinal);
        }

        [Fact]
        public async Task The_tenant_wide_listing_asks_for_every_kind_and_size_and_says_how_many()
        {
            var exo = new Scripted();
            exo.Answers["Get-EXOMailbox"] = _ => new[] { Scripted.Mailbox("app@contoso.com"), Scripted.Mailbox("shared@contoso.com", "SharedMailbox") };
            var sink = new Sink();
            var reader = new PolicyStateReader(exo, new PolicyReadOptions { BatchSize = 1 }, sink, () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None);
            var batches = new List<int>();
            await reader.ReadAllAsync(b => { batches.Add(b.Count); return Task.CompletedTask; }, CancellationToken.None);
            Assert.Equal(new[] { 1, 1 }, batches);
            Assert.Equal(2, reader.Total);
            ExchangeCommand list = exo.Log.First(c => c.Name == "Get-EXOMailbox");
            Assert.Equal("Unlimited", list.Parameters["ResultSize"]);
            Assert.Equal(new[] { "UserMailbox", "SharedMailbox" }, (string[])list.Parameters["RecipientTypeDetails"]!);
            Assert.Contains("2 mailboxes (UserMailbox, SharedMailbox).", sink.Verbose);
            ExchangeCommand users = exo.Log.First(c => c.Name == "Get-User");
            Assert.Equal("AuthenticationPolicy -ne $null", users.Parameters["Filter"]);
            Assert.Equal("Unlimited", users.Parameters["ResultSize"]);
        }

        [Fact]
        public async Task A_failed_user_listing_falls_back_to_per_batch_reads_and_says_so()
        {
            var exo = new Scripted();
            bool failedOnce = false;
            exo.Answers["Get-User"] = c =>
            {
                if (!failedOnce && Equals(c.Parameters["Filter"], "AuthenticationPolicy -ne $null"))
                {
                    failedOnce = true;
                    throw new ExchangeCallException(c.Name, "List busy", notFound: false);
                }

                return new[] { new Dictionary<string, object?> { ["UserPrincipalName"] = "app@contoso.com", ["AuthenticationPolicy"] = null } };
            };
            var sink = new Sink();
            var reader = new PolicyStateReader(exo, new PolicyReadOptions(), sink, () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None);
            var states = new List<SmtpAuthPolicyState>();
            await reader.ReadAllAsync(b => { states.AddRange(b); return Task.CompletedTask; }, CancellationToken.None);
            Assert.Equal("None", Assert.Single(states).AuthenticationPolicySource);
            Assert.Contains("Listing users with an authentication policy failed; reading them per batch: Get-User: List busy", sink.Verbose);
            Assert.Equal("UserPrincipalName -eq 'app@contoso.com'", exo.Log.Last(c => c.Name == "Get-User").Parameters["Filter"]);
        }

        [Fact]
        public async Task One_mailbox_named_by_two_identities_is_read_once_and_reported_for_each()
        {
            var exo = new Scripted();
            exo.Answers["Get-EXOMailbox"] = _ => new[] { new Dictionary<string, object?> { ["UserPrincipalName"] = "app@contoso.com", ["PrimarySmtpAddress"] = "app@fabrikam.com", ["RecipientTypeDetails"] = "UserMailbox" } };
            exo.Answers["Get-EXOCasMailbox"] = _ => new[] { new Dictionary<string, object?> { ["PrimarySmtpAddress"] = "app@fabrikam.com", ["SmtpClientAuthenticationDisabled"] = true } };
            var reader = new PolicyStateReader(exo, new PolicyReadOptions(), new Sink(), () => s_now);
            await reader.ReadTenantAsync(CancellationToken.None);
            IReadOnlyList<PolicyStateResult> r = await reader.ReadAsync(new[] { "app@contoso.com", "APP@fabrikam.com" }, CancellationToken.None);
            Assert.Equal(new[] { "app@contoso.com", "APP@fabrikam.com" }, r.Select(x => x.Identity));
            Assert.Same(r[0].State, r[1].State);
            Assert.True(r[0].State!.MailboxSmtpAuthDisabled);
            Assert.Single(exo.Log, c => c.Name == "Get-EXOCasMailbox");
            Assert.Equal("PrimarySmtpAddress -eq 'app@fabrikam.com'", exo.Log.Single(c => c.Name == "Get-EXOCasMailbox").Parameters["Filter"]);
        }

        [Fact]
        public void Opath_refuses_a_null_value()
        {
            Assert.Throws<ArgumentNullException>(() => Opath.Quote(null!));
            Assert.Equal("''", Opath.Quote(string.Empty));
            Assert.Equal(string.Empty, Opath.AnyOf(Array.Empty<string>()));
        }

        [Fact]
        public void The_reader_needs_a_session_options_and_a_sink()
        {
            Assert.Throws<ArgumentNullException>(() => new PolicyStateReader(null!, new PolicyReadOptions(), new Sink()));
            Assert.Throws<ArgumentNullException>(() => new PolicyStateReader(new Scripted(), null!, new Sink()));
            Assert.Throws<ArgumentNullException>(() => new PolicyStateReader(new Scripted(), new PolicyReadOptions(), null!));
            var options = new PolicyReadOptions();
            Assert.Equal(50, options.BatchSize);
            Assert.Null(options.ResultSize);
            Assert.Equal(new[] { "UserMailbox", "SharedMailbox" }, options.RecipientTypeDetails);
        }
    }
}
