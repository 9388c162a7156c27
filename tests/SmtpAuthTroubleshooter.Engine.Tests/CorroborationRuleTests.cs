using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// The corroboration rules (ErrorCatalog.json "corroboration"), one named case per rule: which policy-state fact
    /// confirms or rules out which cause. A rule added to the catalog needs a case here
    /// (Every_catalog_rule_has_a_named_case fails otherwise).
    /// </summary>
    public class CorroborationRuleTests
    {
        private sealed record RuleCase(string CauseId, Action<SmtpAuthPolicyState> Set, SmtpAuthMethod Method, Verdict? Verdict, string? Why);

        private static RuleCase Case(string causeId, Action<SmtpAuthPolicyState> set, Verdict? verdict, string? why, SmtpAuthMethod method = SmtpAuthMethod.Basic)
            => new RuleCase(causeId, set, method, verdict, why);

        // Expected null verdict with a text: a note (the fact is shown, decides nothing). Null and null: no rule applies.
        private static readonly Dictionary<string, RuleCase> Cases = new Dictionary<string, RuleCase>(StringComparer.Ordinal)
        {
            ["Tenant switch off and inherited confirms TenantSmtpAuthDisabled"] = Case("TenantSmtpAuthDisabled", s => { s.TenantSmtpAuthDisabled = true; s.SmtpAuthDecidedBy = "Tenant"; },
                Verdict.Confirmed, "Settings: Get-TransportConfig SmtpClientAuthenticationDisabled is True and the mailbox's value is empty"),
            ["A mailbox that decides for itself rules out TenantSmtpAuthDisabled"] = Case("TenantSmtpAuthDisabled", s => { s.TenantSmtpAuthDisabled = true; s.SmtpAuthDecidedBy = "Mailbox"; },
                Verdict.RuledOut, "Settings: the mailbox's own SmtpClientAuthenticationDisabled decides, not the organization's."),
            ["SMTP AUTH on for the organization rules out TenantSmtpAuthDisabled"] = Case("TenantSmtpAuthDisabled", s => s.TenantSmtpAuthDisabled = false,
                Verdict.RuledOut, "Settings: SMTP AUTH is on for the organization."),
            ["Tenant switch off without knowing who decides says nothing"] = Case("TenantSmtpAuthDisabled", s => s.TenantSmtpAuthDisabled = true, null, null),

            ["Mailbox switch off confirms MailboxSmtpAuthDisabled"] = Case("MailboxSmtpAuthDisabled", s => s.MailboxSmtpAuthDisabled = true,
                Verdict.Confirmed, "Settings: the mailbox's SmtpClientAuthenticationDisabled is True."),
            ["Mailbox switch on rules out MailboxSmtpAuthDisabled"] = Case("MailboxSmtpAuthDisabled", s => { s.MailboxSmtpAuthDisabled = false; s.TenantSmtpAuthDisabled = true; },
                Verdict.RuledOut, "Settings: SMTP AUTH is not disabled on the mailbox."),
            ["An empty mailbox switch under an organization that is on rules out MailboxSmtpAuthDisabled"] = Case("MailboxSmtpAuthDisabled", s => s.TenantSmtpAuthDisabled = false,
                Verdict.RuledOut, "Settings: SMTP AUTH is not disabled on the mailbox."),
            ["An empty mailbox switch under an organization that is off says nothing about the mailbox"] = Case("MailboxSmtpAuthDisabled", s => s.TenantSmtpAuthDisabled = true, null, null),

            ["A policy with AllowBasicAuthSmtp False confirms AuthenticationPolicyBlocksBasicSmtp"] = Case("AuthenticationPolicyBlocksBasicSmtp", s => { s.AllowBasicAuthSmtp = false; s.AuthenticationPolicy = "Block Basic Auth"; s.AuthenticationPolicySource = "User"; },
                Verdict.Confirmed, "Settings: authentication policy 'Block Basic Auth' (User) has AllowBasicAuthSmtp False. Policy changes take up to 24 hours to apply."),
            ["No authentication policy rules out AuthenticationPolicyBlocksBasicSmtp"] = Case("AuthenticationPolicyBlocksBasicSmtp", s => s.AuthenticationPolicySource = "None",
                Verdict.RuledOut, "Settings: no authentication policy applies to this user."),
            ["A policy that allows basic SMTP rules out AuthenticationPolicyBlocksBasicSmtp"] = Case("AuthenticationPolicyBlocksBasicSmtp", s => { s.AllowBasicAuthSmtp = true; s.AuthenticationPolicySource = "OrganizationDefault"; },
                Verdict.RuledOut, "Settings: the applying authentication policy allows basic SMTP."),
            // Microsoft does not document the link between this text and an authentication policy: a note, not a Confirmed
            // (AuthenticationPolicyBlocksBasicSmtp is the cause the settings confirm, with the fix).
            ["A policy with AllowBasicAuthSmtp False is a note on BasicAuthDisabledForAccount"] = Case("BasicAuthDisabledForAccount", s => { s.AllowBasicAuthSmtp = false; s.AuthenticationPolicy = "Block Basic Auth"; s.AuthenticationPolicySource = "OrganizationDefault"; },
                null, "Settings: authentication policy 'Block Basic Auth' (OrganizationDefault) has AllowBasicAuthSmtp False, the likely reason for this reply"),
            ["A policy that allows basic SMTP does not rule out BasicAuthDisabledForAccount"] = Case("BasicAuthDisabledForAccount", s => { s.AllowBasicAuthSmtp = true; s.AuthenticationPolicySource = "User"; }, null, null),

            ["Security defaults on confirm SecurityDefaultsBlockBasicAuth for basic auth"] = Case("SecurityDefaultsBlockBasicAuth", s => s.SecurityDefaultsEnabled = true,
                Verdict.Confirmed, "Settings: Entra security defaults are on; they block every legacy (basic) sign-in"),
            ["Security defaults on confirm SecurityDefaultsBlockBasicAuth when the method is unknown"] = Case("SecurityDefaultsBlockBasicAuth", s => s.SecurityDefaultsEnabled = true,
                Verdict.Confirmed, "OAuth is not affected.", SmtpAuthMethod.Unknown),
            ["Security defaults on do not confirm SecurityDefaultsBlockBasicAuth for OAuth"] = Case("SecurityDefaultsBlockBasicAuth", s => s.SecurityDefaultsEnabled = true, null, null, SmtpAuthMethod.OAuth),
            ["Security defaults off rule out SecurityDefaultsBlockBasicAuth"] = Case("SecurityDefaultsBlockBasicAuth", s => s.SecurityDefaultsEnabled = false,
                Verdict.RuledOut, "Settings: Entra security defaults are off."),

            ["A blocking Conditional Access policy confirms ConditionalAccessBlocksLegacyAuth"] = Case("ConditionalAccessBlocksLegacyAuth", s => { s.BlockingConditionalAccessPolicies = "Block legacy authentication"; s.ConditionalAccessEvaluatedBy = "Local"; },
                Verdict.Confirmed, "Settings: Conditional Access blocks other clients for this user: Block legacy authentication."),
            ["No blocking, MFA or source-dependent policy rules out ConditionalAccessBlocksLegacyAuth"] = Case("ConditionalAccessBlocksLegacyAuth", s => s.ConditionalAccessEvaluatedBy = "Local",
                Verdict.RuledOut, "Settings: no enabled Conditional Access policy blocks other clients for this user."),
            ["A report-only policy is named when ConditionalAccessBlocksLegacyAuth is ruled out"] = Case("ConditionalAccessBlocksLegacyAuth", s => { s.ConditionalAccessEvaluatedBy = "WhatIf"; s.ReportOnlyConditionalAccessPolicies = "Block legacy (report-only)"; },
                Verdict.RuledOut, "Settings: no enabled Conditional Access policy blocks other clients for this user (report-only: Block legacy (report-only), not enforced)."),
            ["A policy that depends on the source keeps ConditionalAccessBlocksLegacyAuth open"] = Case("ConditionalAccessBlocksLegacyAuth", s => { s.ConditionalAccessEvaluatedBy = "Local"; s.ConditionalAccessDependsOnSource = "Block outside trusted IPs"; }, null, null),
            ["Conditional Access not evaluated keeps ConditionalAccessBlocksLegacyAuth open"] = Case("ConditionalAccessBlocksLegacyAuth", s => s.BlockingConditionalAccessPolicies = string.Empty, null, null),

            ["A Conditional Access MFA grant confirms MfaRequired"] = Case("MfaRequired", s => { s.MfaConditionalAccessPolicies = "Require MFA for all users"; s.PerUserMfaState = "disabled"; },
                Verdict.Confirmed, "Settings: Conditional Access requires MFA: Require MFA for all users."),
            ["Per-user MFA enforced confirms MfaRequired"] = Case("MfaRequired", s => s.PerUserMfaState = "enforced",
                Verdict.Confirmed, "Settings: per-user MFA is enforced; basic SMTP then needs an app password"),
            ["Per-user MFA enabled is a note on MfaRequired, not a verdict"] = Case("MfaRequired", s => { s.PerUserMfaState = "enabled"; s.ConditionalAccessEvaluatedBy = "Local"; },
                null, "Settings: per-user MFA is enabled but not enforced, which does not block a password for legacy authentication"),
            ["No MFA grant and per-user MFA disabled rule out MfaRequired"] = Case("MfaRequired", s => { s.PerUserMfaState = "disabled"; s.ConditionalAccessEvaluatedBy = "Local"; },
                Verdict.RuledOut, "Settings: no Conditional Access MFA grant applies and per-user MFA is disabled."),
            ["Per-user MFA not read keeps MfaRequired open"] = Case("MfaRequired", s => s.ConditionalAccessEvaluatedBy = "Local", null, null),

            ["A shared mailbox's sign-in blocked by design rules out AccountDisabled"] = Case("AccountDisabled", s => { s.AccountEnabled = false; s.RecipientTypeDetails = "SharedMailbox"; },
                Verdict.RuledOut, "as it is by design for a shared mailbox"),
            ["accountEnabled False confirms AccountDisabled"] = Case("AccountDisabled", s => s.AccountEnabled = false,
                Verdict.Confirmed, "Settings: Entra accountEnabled is False (sign-in blocked)."),
            ["accountEnabled True rules out AccountDisabled"] = Case("AccountDisabled", s => s.AccountEnabled = true,
                Verdict.RuledOut, "Settings: the account is enabled."),
            ["accountEnabled False confirms AccountIssue"] = Case("AccountIssue", s => s.AccountEnabled = false,
                Verdict.Confirmed, "Settings: Entra accountEnabled is False (sign-in blocked)."),
            ["accountEnabled True does not rule out AccountIssue"] = Case("AccountIssue", s => s.AccountEnabled = true, null, null),

            ["A shared mailbox as the sign-in identity confirms SharedMailboxSignIn"] = Case("SharedMailboxSignIn", s => s.RecipientTypeDetails = "SharedMailbox",
                Verdict.Confirmed, "Settings: the mailbox is a shared mailbox, which cannot be the sign-in identity."),
            ["A shared mailbox named with a user's delegated OAuth token is a note, not a confirmation"] = Case("SharedMailboxSignIn", s => s.RecipientTypeDetails = "SharedMailbox",
                null, "Settings: the mailbox is a shared mailbox. It cannot sign in itself, but with OAuth a delegated token of a user who can open it (in practice with FullAccess) may name it in XOAUTH2 user= (Get-MailboxPermission shows who has).", SmtpAuthMethod.OAuth),
            ["A shared mailbox used by an app does not confirm SharedMailboxSignIn"] = Case("SharedMailboxSignIn", s => { s.RecipientTypeDetails = "SharedMailbox"; s.ClientId = "6f1a7c2e-0000-4000-8000-000000000001"; }, null, null, SmtpAuthMethod.OAuth),
            ["A user mailbox rules out SharedMailboxSignIn"] = Case("SharedMailboxSignIn", s => s.RecipientTypeDetails = "UserMailbox",
                Verdict.RuledOut, "Settings: the mailbox is a UserMailbox, not a shared mailbox."),

            ["No Exchange service principal confirms ServicePrincipalNotRegistered"] = Case("ServicePrincipalNotRegistered", s => s.ServicePrincipalRegistered = false,
                Verdict.Confirmed, "Settings: the app has no Exchange service principal (Get-ServicePrincipal finds none)", SmtpAuthMethod.OAuth),
            ["A service principal with the wrong object id confirms ServicePrincipalNotRegistered"] = Case("ServicePrincipalNotRegistered", s => { s.ServicePrincipalRegistered = true; s.ServicePrincipalObjectIdMatches = false; },
                Verdict.Confirmed, "Settings: the Exchange service principal was created with an object id that is not the enterprise application's", SmtpAuthMethod.OAuth),
            ["The right service principal rules out ServicePrincipalNotRegistered"] = Case("ServicePrincipalNotRegistered", s => { s.ServicePrincipalRegistered = true; s.ServicePrincipalObjectIdMatches = true; },
                Verdict.RuledOut, "Settings: the Exchange service principal exists with the enterprise application's object id.", SmtpAuthMethod.OAuth),

            ["No FullAccess confirms MailboxPermissionMissing"] = Case("MailboxPermissionMissing", s => s.ServicePrincipalHasMailboxAccess = false,
                Verdict.Confirmed, "Settings: the app's service principal has no FullAccess on the mailbox.", SmtpAuthMethod.OAuth),
            ["FullAccess rules out MailboxPermissionMissing"] = Case("MailboxPermissionMissing", s => s.ServicePrincipalHasMailboxAccess = true,
                Verdict.RuledOut, "Settings: the app's service principal has FullAccess on the mailbox.", SmtpAuthMethod.OAuth),

            ["No SMTP.SendAsApp confirms TokenMissingPermission"] = Case("TokenMissingPermission", s => s.AppHasSmtpSendAsApp = false,
                Verdict.Confirmed, "Settings: the app has no admin-consented SMTP.SendAsApp application permission.", SmtpAuthMethod.OAuth),

            ["No SendAs right confirms SendAsDenied"] = Case("SendAsDenied", s => { s.SendAsAllowed = false; s.From = "sales@contoso.com"; },
                Verdict.Confirmed, "Settings: the mailbox has no SendAs right on sales@contoso.com."),
            ["A SendAs right rules out SendAsDenied"] = Case("SendAsDenied", s => { s.SendAsAllowed = true; s.From = "sales@contoso.com"; },
                Verdict.RuledOut, "Settings: the mailbox may send as sales@contoso.com."),

            ["A managed domain rules out FederatedStsFailure"] = Case("FederatedStsFailure", s => s.DomainAuthenticationType = "Managed",
                Verdict.RuledOut, "Settings: the domain is managed, not federated."),
            ["A federated domain keeps FederatedStsFailure open"] = Case("FederatedStsFailure", s => s.DomainAuthenticationType = "Federated", null, null),

            ["A cause without rules gets nothing"] = Case("InvalidCredentials", s => { s.AccountEnabled = false; s.SecurityDefaultsEnabled = true; }, null, null),
        };

        public static IEnumerable<object[]> CaseNames => Cases.Keys.Select(k => new object[] { k });

        private static SmtpAuthPolicyState State(RuleCase c)
        {
            var s = new SmtpAuthPolicyState();
            c.Set(s);
            return s;
        }

        [Theory]
        [MemberData(nameof(CaseNames))]
        public void Rule(string name)
        {
            RuleCase c = Cases[name];
            (Verdict? verdict, string? why) = EvidenceCorroborator.Judge(c.CauseId, State(c), c.Method);
            Assert.Equal(c.Verdict, verdict);
            if (c.Why is null)
            {
                Assert.Null(why);
            }
            else
            {
                Assert.NotNull(why);
                Assert.Contains(c.Why, why!, StringComparison.Ordinal);
            }
        }

        [Fact]
        public void An_inverted_rule_fails_its_cases()
        {
            // The account-disabled rules with true and false swapped: the named cases catch it.
            JsonNode catalog = JsonNode.Parse(EmbeddedText())!;
            foreach (JsonNode? rule in catalog["corroboration"]!["rules"]!.AsArray().Where(r => (string?)r!["causeId"] == "AccountDisabled" && r!["when"]!["equals"] is not null))
            {
                JsonNode when = rule!["when"]!;
                when["equals"] = !(bool)when["equals"]!;
            }

            ErrorCatalog inverted = ErrorCatalog.Parse(catalog.ToJsonString());
            Assert.Empty(Failures(ErrorCatalog.Embedded));
            Assert.Equal(
                new[] { "accountEnabled False confirms AccountDisabled", "accountEnabled True rules out AccountDisabled" },
                Failures(inverted).OrderBy(x => x, StringComparer.Ordinal));
        }

        private static List<string> Failures(ErrorCatalog catalog) => Cases
            .Where(c =>
            {
                (Verdict? verdict, string? why) = EvidenceCorroborator.Judge(catalog, c.Value.CauseId, State(c.Value), c.Value.Method);
                return verdict != c.Value.Verdict || (c.Value.Why is null ? why is not null : why is null || !why.Contains(c.Value.Why, StringComparison.Ordinal));
            })
            .Select(c => c.Key)
            .ToList();

        [Fact]
        public void Every_catalog_rule_has_a_named_case()
        {
            // Which rule decides each case: the first of its cause that holds (the order Judge uses).
            var used = new HashSet<FactRules<SmtpAuthPolicyState>.Rule>();
            foreach (RuleCase c in Cases.Values)
            {
                SmtpAuthPolicyState s = State(c);
                FactRules<SmtpAuthPolicyState>.Rule? first = ErrorCatalog.Embedded.Corroboration.Rules.FirstOrDefault(r => r.CauseId == c.CauseId && r.Holds(s, c.Method));
                if (first is not null)
                {
                    used.Add(first);
                }
            }

            string[] untested = ErrorCatalog.Embedded.Corroboration.Rules
                .Select((r, i) => (r, i))
                .Where(x => !used.Contains(x.r))
                .Select(x => "rule " + x.i + " (" + x.r.CauseId + " " + (x.r.Verdict?.ToString() ?? "Note") + ")")
                .ToArray();
            Assert.True(untested.Length == 0, "no case in CorroborationRuleTests for: " + string.Join(", ", untested));
        }

        [Fact]
        public void Rules_compare_strings_case_insensitively()
        {
            // The switch compared SmtpAuthDecidedBy, AuthenticationPolicySource and per-user MFA "disabled" case-sensitively;
            // the rules do not (the engine writes these values in one casing; a state built by hand may not).
            Assert.Equal(Verdict.RuledOut, EvidenceCorroborator.Judge("MfaRequired", new SmtpAuthPolicyState { PerUserMfaState = "Disabled", ConditionalAccessEvaluatedBy = "Local" }, SmtpAuthMethod.Basic).Verdict);
            Assert.Equal(Verdict.Confirmed, EvidenceCorroborator.Judge("TenantSmtpAuthDisabled", new SmtpAuthPolicyState { TenantSmtpAuthDisabled = true, SmtpAuthDecidedBy = "tenant" }, SmtpAuthMethod.Basic).Verdict);
            Assert.Equal(Verdict.RuledOut, EvidenceCorroborator.Judge("AuthenticationPolicyBlocksBasicSmtp", new SmtpAuthPolicyState { AuthenticationPolicySource = "NONE" }, SmtpAuthMethod.Basic).Verdict);
        }

        [Fact]
        public void The_rules_cite_a_Microsoft_page_and_name_defined_causes()
        {
            FactRules<SmtpAuthPolicyState> rules = ErrorCatalog.Embedded.Corroboration;
            Assert.StartsWith("https://learn.microsoft.com/", rules.Reference, StringComparison.Ordinal);
            Assert.NotEmpty(rules.Rules);
            Assert.All(rules.Rules, r => Assert.True(ErrorCatalog.Embedded.Causes.ContainsKey(r.CauseId), r.CauseId));
        }

        [Fact]
        public void Adding_a_rule_is_a_data_change()
        {
            // One extra rule in the catalog text: a federated domain with a basic-auth sign-in confirms FederatedStsFailure.
            JsonNode catalog = JsonNode.Parse(EmbeddedText())!;
            catalog["corroboration"]!["rules"]!.AsArray().Add(JsonNode.Parse("""
                {
                  "causeId": "FederatedStsFailure",
                  "verdict": "Confirmed",
                  "when": { "all": [ { "field": "DomainAuthenticationType", "equals": "Federated" }, { "not": { "method": "OAuth" } } ] },
                  "why": "Settings: the domain of {UserPrincipalName} is federated, so the federation service checks the password."
                }
                """));
            ErrorCatalog modified = ErrorCatalog.Parse(catalog.ToJsonString());

            var state = new SmtpAuthPolicyState { UserPrincipalName = "app@contoso.com", DomainAuthenticationType = "Federated" };
            Assert.Equal((null, null), EvidenceCorroborator.Judge(ErrorCatalog.Embedded, "FederatedStsFailure", state, SmtpAuthMethod.Basic));
            Assert.Equal(
                (Verdict.Confirmed, "Settings: the domain of app@contoso.com is federated, so the federation service checks the password."),
                EvidenceCorroborator.Judge(modified, "FederatedStsFailure", state, SmtpAuthMethod.Basic));
            Assert.Equal((null, null), EvidenceCorroborator.Judge(modified, "FederatedStsFailure", state, SmtpAuthMethod.OAuth));

            // The corroborator applies it to a finding, and ranks the confirmed cause first.
            var findings = new List<SmtpAuthFinding>
            {
                new SmtpAuthFinding { CauseId = "InvalidCredentials", Verdict = Verdict.Likely, Evidence = "535 5.7.139." },
                new SmtpAuthFinding { CauseId = "FederatedStsFailure", Verdict = Verdict.Possible, Evidence = "535 5.7.139." },
            };
            List<SmtpAuthFinding> ranked = EvidenceCorroborator.Apply(findings, state, SmtpAuthMethod.Basic, null, null, modified);
            Assert.Equal("FederatedStsFailure", ranked[0].CauseId);
            Assert.Equal(Verdict.Confirmed, ranked[0].Verdict);
            Assert.Contains("the domain of app@contoso.com is federated", ranked[0].Evidence, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("unknown field", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "AccountIsEnabled", "equals": false }, "why": "x" }""")]
        [InlineData("field name in the wrong case", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "accountEnabled", "equals": false }, "why": "x" }""")]
        [InlineData("unknown placeholder", """{ "causeId": "SendAsDenied", "verdict": "Confirmed", "when": { "field": "SendAsAllowed", "equals": false }, "why": "no SendAs on {FromAddress}." }""")]
        [InlineData("stray brace", """{ "causeId": "SendAsDenied", "verdict": "Confirmed", "when": { "field": "SendAsAllowed", "equals": false }, "why": "no SendAs on {From." }""")]
        [InlineData("unknown cause", """{ "causeId": "AccountGone", "verdict": "Confirmed", "when": { "field": "AccountEnabled", "equals": false }, "why": "x" }""")]
        [InlineData("unknown verdict", """{ "causeId": "AccountDisabled", "verdict": "Likely", "when": { "field": "AccountEnabled", "equals": false }, "why": "x" }""")]
        [InlineData("unknown method", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "method": "Ntlm" }, "why": "x" }""")]
        [InlineData("bool compared with a string field", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "PerUserMfaState", "equals": true }, "why": "x" }""")]
        [InlineData("string compared with a bool field", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "AccountEnabled", "equals": "false" }, "why": "x" }""")]
        [InlineData("null compared with a field that is never null", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "ReadUtc", "equals": null }, "why": "x" }""")]
        [InlineData("isEmpty on a bool field", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "AccountEnabled", "isEmpty": true }, "why": "x" }""")]
        [InlineData("isEmpty false", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "From", "isEmpty": false }, "why": "x" }""")]
        [InlineData("two tests in one condition", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "AccountEnabled", "equals": false, "notEquals": true }, "why": "x" }""")]
        [InlineData("two forms in one condition", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "method": "Basic", "all": [ { "field": "AccountEnabled", "equals": false } ] }, "why": "x" }""")]
        [InlineData("a field without a test", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "AccountEnabled" }, "why": "x" }""")]
        [InlineData("empty all", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "all": [] }, "why": "x" }""")]
        [InlineData("an enum value that does not exist", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "BasicAuthVerdict", "equals": "Maybe" }, "why": "x" }""")]
        [InlineData("unknown property in a rule", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "AccountEnabled", "equals": false }, "why": "x", "priority": 1 }""")]
        [InlineData("unknown property in a condition", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "AccountEnabled", "equals": false, "ignoreCase": true }, "why": "x" }""")]
        [InlineData("no condition", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "why": "x" }""")]
        [InlineData("empty text", """{ "causeId": "AccountDisabled", "verdict": "Confirmed", "when": { "field": "AccountEnabled", "equals": false }, "why": "" }""")]
        public void The_loader_rejects_a_bad_rule(string what, string rule)
        {
            string json = MinimalCatalog(rule);
            var ex = Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(json));
            Assert.True(ex.ErrorId == "ErrorCatalogInvalid", what + ": " + ex.ErrorId);
        }

        [Fact]
        public void The_loader_accepts_every_form_of_the_condition_language()
        {
            string json = MinimalCatalog("""
                {
                  "causeId": "AccountDisabled", "verdict": "Note",
                  "when": { "any": [
                    { "all": [ { "field": "From", "isNotEmpty": true }, { "field": "ClientId", "isEmpty": true }, { "method": "Unknown" } ] },
                    { "not": { "field": "AccountEnabled", "notEquals": null } },
                    { "field": "BasicAuthVerdict", "equals": "blocked" },
                    { "field": "LastSmtpSignInErrorCode", "equals": 50057 }
                  ] },
                  "why": "from {From}, code {LastSmtpSignInErrorCode}, verdict {BasicAuthVerdict}, read {ReadUtc}, enabled {AccountEnabled}"
                }
                """);
            ErrorCatalog catalog = ErrorCatalog.Parse(json);
            var when = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

            Assert.Equal((null, "from a@contoso.com, code , verdict Allowed, read 2026-11-30 12:00:00Z, enabled True"),
                EvidenceCorroborator.Judge(catalog, "AccountDisabled", new SmtpAuthPolicyState { From = "a@contoso.com", AccountEnabled = true, ReadUtc = when }, SmtpAuthMethod.Unknown));
            Assert.Equal((null, null),
                EvidenceCorroborator.Judge(catalog, "AccountDisabled", new SmtpAuthPolicyState { From = "a@contoso.com", AccountEnabled = true, ReadUtc = when }, SmtpAuthMethod.Basic));
            Assert.Equal((null, "from , code , verdict Allowed, read 2026-11-30 12:00:00Z, enabled "),
                EvidenceCorroborator.Judge(catalog, "AccountDisabled", new SmtpAuthPolicyState { ReadUtc = when }, SmtpAuthMethod.Basic));
            Assert.Equal((null, "from , code 50057, verdict Blocked, read 2026-11-30 12:00:00Z, enabled False"),
                EvidenceCorroborator.Judge(catalog, "AccountDisabled", new SmtpAuthPolicyState { AccountEnabled = false, BasicAuthVerdict = PolicyVerdict.Blocked, ReadUtc = when, LastSmtpSignInErrorCode = 50057 }, SmtpAuthMethod.Basic));
            Assert.Equal((null, "from , code 50057, verdict Allowed, read 2026-11-30 12:00:00Z, enabled True"),
                EvidenceCorroborator.Judge(catalog, "AccountDisabled", new SmtpAuthPolicyState { AccountEnabled = true, ReadUtc = when, LastSmtpSignInErrorCode = 50057 }, SmtpAuthMethod.Basic));
        }

        internal static string EmbeddedText()
        {
            using Stream stream = typeof(ErrorCatalog).Assembly.GetManifestResourceStream("SmtpAuthTroubleshooter.Engine.Knowledge.ErrorCatalog.json")!;
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }

        private static string MinimalCatalog(string rule) =>
            "{\"schemaVersion\":1,\"catalogVersion\":\"x\",\"causes\":{\"AccountDisabled\":{},\"SendAsDenied\":{}},\"corroboration\":{\"rules\":[" + rule + "]},\"entries\":[]}";
    }
}
