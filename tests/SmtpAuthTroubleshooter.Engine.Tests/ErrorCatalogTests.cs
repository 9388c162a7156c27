using System;
using System.Collections.Generic;
using System.Linq;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    public class ErrorCatalogTests
    {
        private static ErrorCatalog Catalog => ErrorCatalog.Embedded;

        [Fact]
        public void Embedded_catalog_loads_with_a_version()
        {
            Assert.Equal(1, Catalog.SchemaVersion);
            Assert.Matches(@"^\d{4}\.\d{2}\.\d{2}", Catalog.Version);
            Assert.True(Catalog.Entries.Count >= 30, $"only {Catalog.Entries.Count} entries");
        }

        [Fact]
        public void Every_contract_cause_id_is_defined_and_reachable()
        {
            string[] missing = CauseIdContract.All.Where(id => !Catalog.Causes.ContainsKey(id)).ToArray();
            Assert.True(missing.Length == 0, "undefined: " + string.Join(", ", missing));

            var reachable = new HashSet<string>(Catalog.Entries.SelectMany(e => e.Causes).Select(c => c.CauseId));
            // Unrecognized and SettingsConflict come from the resolver itself (no text pattern), not from an entry;
            // SubmissionIntercepted from the server signatures (Exchange Online's host named, another server's reply).
            string[] unreachable = CauseIdContract.All.Where(id => id != "Unrecognized" && id != "SettingsConflict" && id != "NoBlockingSetting" && id != "SubmissionIntercepted" && !reachable.Contains(id)).ToArray();
            Assert.True(unreachable.Length == 0, "no entry reaches: " + string.Join(", ", unreachable));
        }

        [Fact]
        public void Catalog_uses_only_contract_cause_ids()
        {
            string[] extra = Catalog.Causes.Keys.Where(id => !CauseIdContract.All.Contains(id)).ToArray();
            Assert.True(extra.Length == 0, "not in CAUSE-IDS.md: " + string.Join(", ", extra));
        }

        [Fact]
        public void The_legacy_TLS_fix_names_the_opt_in_endpoint_of_each_cloud_that_has_one()
        {
            // https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/opt-in-exchange-online-endpoint-for-legacy-tls-using-smtp-auth:
            // smtp-legacy.office365.com worldwide, smtp-legacy.partner.outlook.cn for 21Vianet, none in GCC, GCC High or DoD.
            CauseDefinition tls = ErrorCatalog.Embedded.Causes["TlsVersionTooOld"];
            Assert.Contains("smtp-legacy.office365.com", tls.Remediation, StringComparison.Ordinal);
            Assert.Contains("smtp-legacy.partner.outlook.cn", tls.Remediation, StringComparison.Ordinal);
            Assert.Contains("GCC High or DoD", tls.Remediation, StringComparison.Ordinal);
        }

        [Fact]
        public void The_CauseIds_constants_are_exactly_the_catalogs_causes()
        {
            // Issue 11: code names causes by constants; the catalog defines them; neither may drift from the other.
            string[] constants = typeof(CauseIds).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
                .Where(f => f.IsLiteral).Select(f => { Assert.Equal(f.Name, (string)f.GetRawConstantValue()!); return f.Name; }).OrderBy(x => x, StringComparer.Ordinal).ToArray();
            Assert.Equal(ErrorCatalog.Embedded.Causes.Keys.OrderBy(x => x, StringComparer.Ordinal), constants);
            Assert.Subset(new HashSet<string>(constants), new HashSet<string>(CauseIdContract.All));
        }

        [Fact]
        public void Every_cause_has_a_title_remediation_and_category()
        {
            foreach (CauseDefinition cause in Catalog.Causes.Values)
            {
                Assert.False(string.IsNullOrWhiteSpace(cause.Title), cause.Id);
                Assert.False(string.IsNullOrWhiteSpace(cause.Remediation), cause.Id);
                Assert.Contains(cause.Category, new[] { "Transport", "Tls", "ExchangePolicy", "EntraPolicy", "Account", "Credentials", "OAuth", "Sender", "Throttling", "Tenant", "Unknown" });
            }
        }

        [Fact]
        public void Fix_commands_name_real_cmdlets_and_carry_no_secrets()
        {
            string[] known = { "Set-CASMailbox", "Set-TransportConfig", "Set-AuthenticationPolicy", "Set-User", "Add-RecipientPermission", "New-ServicePrincipal", "Add-MailboxPermission", "Get-", "Update-MgUser", "Set-MsolUser", "Test-SmtpAuth", "Remove-BlockedSenderAddress", "Unblock", "Connect-" };
            foreach (CauseDefinition cause in Catalog.Causes.Values.Where(c => c.RemediationCommand is not null))
            {
                Assert.True(known.Any(k => cause.RemediationCommand!.Contains(k, StringComparison.Ordinal)), $"{cause.Id}: {cause.RemediationCommand}");
                Assert.DoesNotMatch("(?i)password\\s*=|secret\\s*=", cause.RemediationCommand!);
            }
        }

        [Fact]
        public void Nothing_an_admin_reads_cites_internal_notes()
        {
            // Issue 10: cite Microsoft's pages, never "reference §3", "Q4" or "not documented in the sources" (a notes
            // file outside this repository that neither admins nor maintainers can follow), nor this project's own
            // issues, which are not public: a source is a public page (Microsoft's, an RFC, a public thread).
            var internalNote = new System.Text.RegularExpressions.Regex(@"§|\breference\s+§|\bQ\d{1,2}\b|not documented in the sources|SHAPES");
            var texts = new List<(string Where, string Text)>();
            foreach (CauseDefinition c in Catalog.Causes.Values)
            {
                texts.Add((c.Id + ".title", c.Title));
                texts.Add((c.Id + ".checks", c.Checks ?? string.Empty));
                texts.Add((c.Id + ".remediation", c.Remediation));
                texts.AddRange(c.Variants.SelectMany(v => new[] { (c.Id + ".variant", v.Title ?? string.Empty), (c.Id + ".variant", v.Evidence ?? string.Empty), (c.Id + ".variant", v.Remediation ?? string.Empty) }));
                Assert.Matches("^https://", c.Reference ?? "https://");
                Assert.DoesNotMatch(@"(?i)this project|\bissue \d", c.Reference ?? string.Empty);
            }

            foreach (CatalogEntry e in Catalog.Entries)
            {
                texts.AddRange(e.Causes.Select(r => (e.Id + "." + r.CauseId, r.Evidence)));
                Assert.Matches("^https://", e.Reference ?? "https://");
                Assert.DoesNotMatch(@"(?i)this project|\bissue \d", e.Reference ?? string.Empty);
            }

            string[] offenders = texts.Where(t => internalNote.IsMatch(t.Text)).Select(t => t.Where + ": " + t.Text).ToArray();
            Assert.True(offenders.Length == 0, string.Join("\n", offenders));
        }

        [Fact]
        public void Tenant_switch_fix_prefers_the_mailbox_override()
        {
            Assert.Equal("Set-CASMailbox -Identity <user> -SmtpClientAuthenticationDisabled $false", Catalog.Causes["TenantSmtpAuthDisabled"].RemediationCommand);
        }

        [Fact]
        public void Basic_auth_retirement_has_dated_variants()
        {
            CauseDefinition cause = Catalog.Causes["BasicAuthRetired"];
            CauseVariant? before = cause.VariantAt(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));
            CauseVariant? after = cause.VariantAt(new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero));
            Assert.NotNull(before);
            Assert.NotNull(after);
            Assert.NotEqual(before!.Remediation ?? before.Title, after!.Remediation ?? after.Title);
        }

        [Fact]
        public void Parse_rejects_an_entry_that_names_an_unknown_cause()
        {
            const string json = "{\"schemaVersion\":1,\"catalogVersion\":\"x\",\"causes\":{},\"entries\":[{\"id\":\"A\",\"pattern\":\"x\",\"causes\":[{\"causeId\":\"Nope\",\"verdict\":\"Likely\"}]}]}";
            var ex = Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(json));
            Assert.Equal("ErrorCatalogInvalid", ex.ErrorId);
        }

        [Fact]
        public void The_sign_in_code_table_is_data_and_names_defined_causes()
        {
            // Issue 10: the Entra sign-in codes live in the catalog; 50034 (user not found) points to the user name.
            Assert.Equal("UserNameNotUpn", Catalog.SignInCodes[50034]);
            Assert.Equal("InvalidCredentials", Catalog.SignInCodes[50126]);
            Assert.Equal("AccountLocked", Catalog.SignInCodes[50053]);
            Assert.All(Catalog.SignInCodes.Values, id => Assert.True(Catalog.Causes.ContainsKey(id), id));

            const string bad = "{\"schemaVersion\":1,\"catalogVersion\":\"x\",\"causes\":{},\"signInCodes\":{\"codes\":{\"50126\":{\"causeId\":\"Nope\",\"decisive\":true,\"meaning\":\"x\"}}},\"entries\":[]}";
            Assert.Equal("ErrorCatalogInvalid", Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(bad)).ErrorId);
            const string notANumber = "{\"schemaVersion\":1,\"catalogVersion\":\"x\",\"causes\":{},\"signInCodes\":{\"codes\":{\"5x\":{\"causeId\":\"Nope\"}}},\"entries\":[]}";
            Assert.Equal("ErrorCatalogInvalid", Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(notANumber)).ErrorId);
        }

        [Fact]
        public void Every_sign_in_code_has_Microsofts_meaning_and_a_known_cause_or_none()
        {
            Assert.All(Catalog.SignInCodeTable.Values, c =>
            {
                Assert.False(string.IsNullOrWhiteSpace(c.Meaning), c.Code.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.StartsWith("https://learn.microsoft.com/", c.Source, StringComparison.Ordinal);
                Assert.True(c.CauseId is null || Catalog.Causes.ContainsKey(c.CauseId), c.Code + " names " + c.CauseId);
                Assert.True(!c.Decisive || c.CauseId is not null, c.Code + " is decisive without a cause");
            });
        }

        [Theory]
        // Decisive: Microsoft's page gives the code one reason, and that reason is the cause.
        [InlineData(50126, "InvalidCredentials", true)]
        [InlineData(50055, "PasswordExpired", true)]
        [InlineData(50144, "PasswordExpired", true)]
        [InlineData(50057, "AccountDisabled", true)]
        [InlineData(50074, "MfaRequired", true)]
        [InlineData(50076, "MfaRequired", true)]
        [InlineData(50079, "MfaRequired", true)]
        [InlineData(53003, "ConditionalAccessBlocksLegacyAuth", true)]
        [InlineData(53000, "ConditionalAccessBlocksLegacyAuth", true)]
        [InlineData(530035, "SecurityDefaultsBlockBasicAuth", true)]
        // Suggest-only: Microsoft's page gives it more than one reason (50053: a lockout or a malicious IP; 50034: a
        // mistyped name or an account not in the tenant; 50158: any external challenge, not only MFA).
        [InlineData(50053, "AccountLocked", false)]
        [InlineData(50034, "UserNameNotUpn", false)]
        [InlineData(50158, "MfaRequired", false)]
        [InlineData(50064, "InvalidCredentials", false)]
        [InlineData(50131, "ConditionalAccessBlocksLegacyAuth", false)]
        // No single cause: a tenant-level "security policy" (Conditional Access or security defaults), an agent outage.
        [InlineData(530032, null, false)]
        [InlineData(80012, null, false)]
        public void A_sign_in_code_is_decisive_only_when_Microsoft_gives_it_one_reason(int code, string? causeId, bool decisive)
        {
            SignInCode c = Catalog.SignInCodeTable[code];
            Assert.Equal(causeId, c.CauseId);
            Assert.Equal(decisive, c.Decisive);
        }

        [Fact]
        public void Parse_rejects_invalid_json_and_unknown_schema()
        {
            Assert.Equal("ErrorCatalogInvalid", Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse("{")).ErrorId);
            Assert.Equal("ErrorCatalogInvalid", Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse("{\"schemaVersion\":2,\"catalogVersion\":\"x\",\"causes\":{},\"entries\":[]}")).ErrorId);
        }

        [Fact]
        public void Every_pattern_has_a_timeout()
        {
            Assert.All(Catalog.Entries, e => Assert.Equal(ErrorCatalog.MatchTimeout, e.Pattern.MatchTimeout));
        }
    }
}
