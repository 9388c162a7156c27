using System;
using System.Collections.Generic;
using System.Linq;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): EvidenceCorroborator's own rules, called directly. How a settings fact and the
    /// sign-in log combine into one evidence text, which contradiction becomes a SettingsConflict, when the sign-in log's
    /// lag is mentioned, and the exact pre-flight sentences built from the sign-in record and the blocking settings.
    /// </summary>
    public class CorroboratorMutationTests
    {
        private static readonly DateTime SignInUtc = new DateTime(2026, 11, 30, 11, 58, 0, DateTimeKind.Utc);

        private static SmtpAuthFinding Finding(string causeId, Verdict verdict = Verdict.Possible, string evidence = "535 5.7.139 Authentication unsuccessful.", string? entry = "Some535Entry") =>
            new SmtpAuthFinding { CauseId = causeId, Verdict = verdict, Evidence = evidence, CatalogEntry = entry };

        private static string SettingsWhy(string causeId, SmtpAuthPolicyState s) => EvidenceCorroborator.Judge(causeId, s, SmtpAuthMethod.Basic).Why!;

        // --- The sign-in log next to the settings ---

        [Fact]
        public void A_blocking_policy_and_the_sign_in_log_both_go_into_the_evidence_settings_first()
        {
            var s = new SmtpAuthPolicyState
            {
                BlockingConditionalAccessPolicies = "Block legacy authentication",
                ConditionalAccessEvaluatedBy = "Local",
                LastSmtpSignInErrorCode = 53003,
                LastSmtpSignInUtc = SignInUtc,
                LastSmtpSignInConditionalAccess = "Block legacy authentication",
            };
            string settings = SettingsWhy("ConditionalAccessBlocksLegacyAuth", s);
            Assert.StartsWith("Settings: Conditional Access blocks other clients for this user: Block legacy authentication.", settings, StringComparison.Ordinal);

            SmtpAuthFinding f = Assert.Single(EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("ConditionalAccessBlocksLegacyAuth") }, s, SmtpAuthMethod.Basic, null));
            Assert.Equal(Verdict.Confirmed, f.Verdict);
            Assert.Equal(
                "535 5.7.139 Authentication unsuccessful. " + settings + " Sign-in log: the latest Authenticated SMTP sign-in (2026-11-30 11:58:00Z) failed with 53003 (Block legacy authentication).",
                f.Evidence);
        }

        [Fact]
        public void The_sign_in_log_alone_confirms_with_one_sentence_and_no_policy_brackets_when_no_policy_is_named()
        {
            var s = new SmtpAuthPolicyState { LastSmtpSignInErrorCode = 50126, LastSmtpSignInUtc = SignInUtc, LastSmtpSignInConditionalAccess = string.Empty };
            SmtpAuthFinding f = Assert.Single(EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("InvalidCredentials", Verdict.Likely) }, s, SmtpAuthMethod.Basic, null));
            Assert.Equal(Verdict.Confirmed, f.Verdict);
            Assert.Equal("535 5.7.139 Authentication unsuccessful. Sign-in log: the latest Authenticated SMTP sign-in (2026-11-30 11:58:00Z) failed with 50126.", f.Evidence);

            s.LastSmtpSignInConditionalAccess = null;
            SmtpAuthFinding g = Assert.Single(EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("InvalidCredentials", Verdict.Likely, evidence: string.Empty) }, s, SmtpAuthMethod.Basic, null));
            Assert.Equal("Sign-in log: the latest Authenticated SMTP sign-in (2026-11-30 11:58:00Z) failed with 50126.", g.Evidence);
        }

        [Fact]
        public void A_sign_in_code_of_another_cause_leaves_a_finding_as_it_was()
        {
            var s = new SmtpAuthPolicyState { LastSmtpSignInErrorCode = 50053, LastSmtpSignInUtc = SignInUtc };
            SmtpAuthFinding f = Assert.Single(EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("InvalidCredentials", Verdict.Likely) }, s, SmtpAuthMethod.Basic, null));
            Assert.Equal(Verdict.Likely, f.Verdict);
            Assert.Equal("535 5.7.139 Authentication unsuccessful.", f.Evidence);
        }

        [Fact]
        public void Settings_that_rule_a_cause_out_win_over_the_sign_in_log()
        {
            var s = new SmtpAuthPolicyState { ConditionalAccessEvaluatedBy = "Local", LastSmtpSignInErrorCode = 53003, LastSmtpSignInUtc = SignInUtc };
            string settings = SettingsWhy("ConditionalAccessBlocksLegacyAuth", s);
            SmtpAuthFinding f = Assert.Single(EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("ConditionalAccessBlocksLegacyAuth") }, s, SmtpAuthMethod.Basic, null));
            Assert.Equal(Verdict.RuledOut, f.Verdict);
            Assert.Equal("535 5.7.139 Authentication unsuccessful. " + settings, f.Evidence);
        }

        // --- Which contradiction is a SettingsConflict ---

        private static (List<SmtpAuthFinding> Ranked, List<(string CauseId, string Why)> Calls) ApplyWithConflict(SmtpAuthPolicyState s, params SmtpAuthFinding[] findings)
        {
            var calls = new List<(string, string)>();
            List<SmtpAuthFinding> ranked = EvidenceCorroborator.Apply(findings.ToList(), s, SmtpAuthMethod.Basic, null, (said, why) =>
            {
                calls.Add((said.CauseId, why));
                return new SmtpAuthFinding { CauseId = CauseIds.SettingsConflict, Verdict = Verdict.Likely, Evidence = "conflict: " + why };
            });
            return (ranked, calls);
        }

        [Fact]
        public void A_Likely_catalog_reply_the_settings_rule_out_becomes_a_SettingsConflict_ranked_above_it()
        {
            var s = new SmtpAuthPolicyState { AccountEnabled = true };
            (List<SmtpAuthFinding> ranked, List<(string CauseId, string Why)> calls) = ApplyWithConflict(s, Finding("AccountDisabled", Verdict.Likely));
            Assert.Equal(new[] { ("AccountDisabled", "Settings: the account is enabled.") }, calls);
            Assert.Equal(new[] { "SettingsConflict", "AccountDisabled" }, ranked.Select(x => x.CauseId));
            Assert.Equal(new[] { Verdict.Likely, Verdict.RuledOut }, ranked.Select(x => x.Verdict));
            Assert.Equal(new[] { 1, 2 }, ranked.Select(x => x.Rank));
        }

        [Fact]
        public void Only_the_first_contradicted_reply_is_shown_as_the_conflict()
        {
            var s = new SmtpAuthPolicyState { AccountEnabled = true, SecurityDefaultsEnabled = false };
            (List<SmtpAuthFinding> ranked, List<(string CauseId, string Why)> calls) = ApplyWithConflict(s, Finding("SecurityDefaultsBlockBasicAuth", Verdict.Likely), Finding("AccountDisabled", Verdict.Likely));
            Assert.Equal(new[] { ("SecurityDefaultsBlockBasicAuth", "Settings: Entra security defaults are off.") }, calls);
            Assert.Single(ranked, x => x.CauseId == "SettingsConflict");
        }

        [Fact]
        public void A_ruled_out_cause_that_was_only_Possible_or_not_from_a_catalog_reply_or_confirmed_is_no_conflict()
        {
            var enabled = new SmtpAuthPolicyState { AccountEnabled = true };
            (List<SmtpAuthFinding> possible, List<(string, string)> c1) = ApplyWithConflict(enabled, Finding("AccountDisabled", Verdict.Possible));
            Assert.Empty(c1);
            Assert.Equal(Verdict.RuledOut, Assert.Single(possible).Verdict);

            (List<SmtpAuthFinding> noEntry, List<(string, string)> c2) = ApplyWithConflict(enabled, Finding("AccountDisabled", Verdict.Likely, entry: null));
            Assert.Empty(c2);
            Assert.Equal(Verdict.RuledOut, Assert.Single(noEntry).Verdict);

            (List<SmtpAuthFinding> emptyEntry, List<(string, string)> c3) = ApplyWithConflict(enabled, Finding("AccountDisabled", Verdict.Likely, entry: string.Empty));
            Assert.Empty(c3);
            Assert.Single(emptyEntry);

            var disabled = new SmtpAuthPolicyState { AccountEnabled = false };
            (List<SmtpAuthFinding> confirmed, List<(string, string)> c4) = ApplyWithConflict(disabled, Finding("AccountDisabled", Verdict.Likely));
            Assert.Empty(c4);
            Assert.Equal(Verdict.Confirmed, Assert.Single(confirmed).Verdict);
        }

        [Fact]
        public void A_SettingsConflict_already_listed_is_not_added_twice_and_no_conflict_maker_adds_none()
        {
            var s = new SmtpAuthPolicyState { AccountEnabled = true };
            (List<SmtpAuthFinding> ranked, List<(string, string)> calls) = ApplyWithConflict(s,
                Finding("AccountDisabled", Verdict.Likely),
                new SmtpAuthFinding { CauseId = CauseIds.SettingsConflict, Verdict = Verdict.Likely, Evidence = "earlier" });
            Assert.Empty(calls);
            Assert.Single(ranked, x => x.CauseId == CauseIds.SettingsConflict);

            List<SmtpAuthFinding> plain = EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("AccountDisabled", Verdict.Likely) }, s, SmtpAuthMethod.Basic, null);
            Assert.Equal(new[] { "AccountDisabled" }, plain.Select(x => x.CauseId));
        }

        // --- The sign-in log's lag ---

        [Fact]
        public void A_sign_in_at_the_very_moment_the_probe_started_is_not_called_lagging()
        {
            var s = new SmtpAuthPolicyState { LastSmtpSignInUtc = SignInUtc, SmtpSignInCount = 2 };
            SmtpAuthFinding f = Assert.Single(EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("InvalidCredentials") }, s, SmtpAuthMethod.Basic, new DateTimeOffset(SignInUtc)));
            Assert.Equal("535 5.7.139 Authentication unsuccessful.", f.Evidence);

            SmtpAuthFinding later = Assert.Single(EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("InvalidCredentials") }, s, SmtpAuthMethod.Basic, new DateTimeOffset(SignInUtc.AddSeconds(1))));
            Assert.Equal(
                "535 5.7.139 Authentication unsuccessful. The probe's own sign-in is not yet in the sign-in log (the latest Authenticated SMTP sign-in is from 2026-11-30 11:58:00Z); sign-in logs lag by minutes.",
                later.Evidence);
        }

        [Fact]
        public void Without_a_probe_time_an_empty_sign_in_window_is_said_once_on_the_first_finding()
        {
            var s = new SmtpAuthPolicyState { LastSmtpSignInUtc = SignInUtc, SmtpSignInCount = 0 };
            List<SmtpAuthFinding> f = EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("InvalidCredentials", Verdict.Likely), Finding("AccountLocked") }, s, SmtpAuthMethod.Basic, null);
            Assert.Equal("535 5.7.139 Authentication unsuccessful. No Authenticated SMTP sign-in is in the log for the look-back window (yet).", f[0].Evidence);
            Assert.Equal("535 5.7.139 Authentication unsuccessful.", f[1].Evidence);

            // Sign-ins in the window and no probe time: nothing to say.
            s.SmtpSignInCount = 4;
            Assert.Equal("535 5.7.139 Authentication unsuccessful.", Assert.Single(EvidenceCorroborator.Apply(new List<SmtpAuthFinding> { Finding("InvalidCredentials") }, s, SmtpAuthMethod.Basic, null)).Evidence);
        }

        [Fact]
        public void No_findings_stay_no_findings_whatever_the_sign_in_log_says()
        {
            var lagging = new SmtpAuthPolicyState { LastSmtpSignInUtc = SignInUtc, SmtpSignInCount = 3 };
            Assert.Empty(EvidenceCorroborator.Apply(new List<SmtpAuthFinding>(), lagging, SmtpAuthMethod.Basic, new DateTimeOffset(SignInUtc.AddHours(1))));
            var none = new SmtpAuthPolicyState { SmtpSignInCount = 0 };
            Assert.Empty(EvidenceCorroborator.Apply(new List<SmtpAuthFinding>(), none, SmtpAuthMethod.Basic, null));
        }

        // --- Ranking ---

        [Fact]
        public void Rank_numbers_from_one_in_verdict_order_keeping_the_given_order_within_a_verdict()
        {
            var findings = new List<SmtpAuthFinding>
            {
                new SmtpAuthFinding { CauseId = "A", Verdict = Verdict.RuledOut },
                new SmtpAuthFinding { CauseId = "B", Verdict = Verdict.Possible },
                new SmtpAuthFinding { CauseId = "C", Verdict = Verdict.Advisory },
                new SmtpAuthFinding { CauseId = "D", Verdict = Verdict.Likely },
                new SmtpAuthFinding { CauseId = "E", Verdict = Verdict.Possible },
                new SmtpAuthFinding { CauseId = "F", Verdict = Verdict.Confirmed },
            };
            List<SmtpAuthFinding> ranked = EvidenceCorroborator.Rank(findings);
            Assert.Equal(new[] { "F", "D", "B", "E", "C", "A" }, ranked.Select(x => x.CauseId));
            Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, ranked.Select(x => x.Rank));
        }

        // --- The pre-flight's sentences ---

        private static SmtpAuthFinding Create(string id) => new SmtpAuthFinding { CauseId = id };

        [Fact]
        public void A_pre_flight_sign_in_failure_without_a_reason_has_no_empty_brackets()
        {
            var s = new SmtpAuthPolicyState { LastSmtpSignInErrorCode = 50055, LastSmtpSignInUtc = SignInUtc, LastSmtpSignInFailureReason = string.Empty };
            SmtpAuthFinding f = Assert.Single(EvidenceCorroborator.Predict(s, ErrorCatalog.Embedded, Create));
            Assert.Equal("PasswordExpired", f.CauseId);
            Assert.Equal(Verdict.Likely, f.Verdict);
            Assert.Equal("Sign-in log: the latest Authenticated SMTP sign-in (2026-11-30 11:58:00Z) failed with 50055; the next basic-auth attempt is likely to fail the same way.", f.Evidence);
        }

        [Fact]
        public void A_pre_flight_blocker_is_judged_for_the_method_it_blocks()
        {
            // Security defaults block basic sign-ins only: under "basic auth" the settings' reason is given, under
            // "OAuth" the rule says nothing.
            var basic = new SmtpAuthPolicyState { SecurityDefaultsEnabled = true, BasicAuthBlockedBy = "SecurityDefaultsBlockBasicAuth" };
            SmtpAuthFinding b = Assert.Single(EvidenceCorroborator.Predict(basic, ErrorCatalog.Embedded, Create));
            Assert.Equal("Pre-flight: the settings say basic auth will fail. " + SettingsWhy("SecurityDefaultsBlockBasicAuth", basic), b.Evidence);

            var oauth = new SmtpAuthPolicyState { SecurityDefaultsEnabled = true, OAuthBlockedBy = "SecurityDefaultsBlockBasicAuth" };
            SmtpAuthFinding o = Assert.Single(EvidenceCorroborator.Predict(oauth, ErrorCatalog.Embedded, Create));
            Assert.Equal("Pre-flight: the settings say OAuth will fail. ", o.Evidence);
            Assert.Equal(Verdict.Likely, o.Verdict);
        }

        [Fact]
        public void A_pre_flight_blocker_found_for_both_methods_adds_one_sentence_per_repeat()
        {
            var s = new SmtpAuthPolicyState { AccountEnabled = false, BasicAuthBlockedBy = "AccountDisabled", OAuthBlockedBy = "AccountDisabled" };
            SmtpAuthFinding f = Assert.Single(EvidenceCorroborator.Predict(s, ErrorCatalog.Embedded, Create));
            Assert.Equal("Pre-flight: the settings say basic auth will fail. Settings: Entra accountEnabled is False (sign-in blocked). It blocks OAuth too.", f.Evidence);
        }

        [Fact]
        public void The_pre_flight_advisory_names_a_policy_source_of_None_as_no_policy()
        {
            var s = new SmtpAuthPolicyState { AuthenticationPolicySource = "None", AuthenticationPolicy = "ignored", BasicAuthVerdict = PolicyVerdict.Allowed, OAuthVerdict = PolicyVerdict.Allowed };
            SmtpAuthFinding f = Assert.Single(EvidenceCorroborator.Predict(s, ErrorCatalog.Embedded, Create));
            Assert.Equal("Pre-flight: basic auth Allowed, OAuth Allowed. Read and found fine: no authentication policy applies. Everything needed was read.", f.Evidence);

            // AllowBasicAuthSmtp not read (null) and a policy named: it is not said to block.
            var unread = new SmtpAuthPolicyState { AuthenticationPolicySource = "OrganizationDefault", AuthenticationPolicy = "Org Default", ConditionalAccessEvaluatedBy = "WhatIf", BlockingConditionalAccessPolicies = string.Empty };
            SmtpAuthFinding g = Assert.Single(EvidenceCorroborator.Predict(unread, ErrorCatalog.Embedded, Create));
            Assert.Equal("Pre-flight: basic auth Allowed, OAuth Allowed. Read and found fine: authentication policy 'Org Default' allows basic SMTP; no Conditional Access policy blocks it. Everything needed was read.", g.Evidence);
        }
    }
}
