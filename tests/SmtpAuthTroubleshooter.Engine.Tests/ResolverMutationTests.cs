using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the resolver's rules that the catalog cases and the edge tests left unguarded -
    /// the catalog it is given, the date a reading is for, who the fix command names, the conflict's own facts, a name
    /// not in UPN form before AUTH, token claims after basic auth, replies a logger wrapped, and the fix command values.
    /// </summary>
    public class ResolverMutationTests
    {
        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        private readonly SmtpAuthErrorResolver _resolver = new SmtpAuthErrorResolver(clock: () => Now);

        private const string BadCredentials = "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [SN4PR0201CA0040.namprd02.prod.outlook.com]";
        private const string Retired = "550 5.7.30 Basic authentication is not supported for Client Submission.";

        private static SmtpAuthPolicyState State() => new SmtpAuthPolicyState
        {
            UserPrincipalName = "app@contoso.com",
            RecipientTypeDetails = "UserMailbox",
            TenantSmtpAuthDisabled = false,
            SmtpAuthEnabled = true,
            SmtpAuthDecidedBy = "Tenant",
            AuthenticationPolicySource = "None",
            SecurityDefaultsEnabled = false,
            ConditionalAccessEvaluatedBy = "Local",
            PerUserMfaState = "disabled",
            AccountEnabled = true,
            ReadUtc = new DateTime(2026, 11, 30, 11, 55, 0, DateTimeKind.Utc),
        };

        private static string VariantEvidence(string causeId, DateTimeOffset when) => ErrorCatalog.Embedded.Causes[causeId].VariantAt(when)!.Evidence!;

        // --- The catalog in use ---

        [Fact]
        public void A_resolver_given_a_catalog_uses_it_and_stamps_its_version()
        {
            JsonNode json = JsonNode.Parse(CorroborationRuleTests.EmbeddedText())!;
            json["catalogVersion"] = "9.9.9-test";
            ErrorCatalog custom = ErrorCatalog.Parse(json.ToJsonString());
            var resolver = new SmtpAuthErrorResolver(custom, () => Now);
            Assert.Same(custom, resolver.Catalog);
            IReadOnlyList<SmtpAuthFinding> f = resolver.Resolve(new ErrorEvidence(BadCredentials));
            Assert.Equal("InvalidCredentials", f[0].CauseId);
            Assert.All(f, x => Assert.Equal("9.9.9-test", x.CatalogVersion));
            Assert.Same(ErrorCatalog.Embedded, new SmtpAuthErrorResolver().Catalog);
        }

        // --- The date a reading is for ---

        [Fact]
        public void A_reply_observed_at_a_known_time_is_read_for_that_date_before_the_tail_and_today()
        {
            var observed = new DateTimeOffset(2027, 3, 1, 9, 0, 0, TimeSpan.Zero);
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence(Retired) { ObservedUtc = observed })[0];
            Assert.Equal("BasicAuthRetired", f.CauseId);
            Assert.Contains(VariantEvidence("BasicAuthRetired", observed) + " (As of 2027-03-01, when it was observed.)", f.Evidence, StringComparison.Ordinal);

            // The observation time wins over a timestamp in the reply's tail.
            SmtpAuthFinding g = _resolver.Resolve(new ErrorEvidence(Retired + " [AB1PR01CA0001.eurprd01.prod.outlook.com 2026-06-01T10:00:00.000Z 08DE0000AAAA0001]") { ObservedUtc = observed })[0];
            Assert.Contains("(As of 2027-03-01, when it was observed.)", g.Evidence, StringComparison.Ordinal);
            Assert.DoesNotContain("2026-06-01", g.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void The_retirement_note_of_a_working_probe_is_dated_when_the_probe_ran_or_today()
        {
            var ran = new DateTimeOffset(2027, 2, 10, 8, 0, 0, TimeSpan.Zero);
            SmtpAuthFinding probe = Assert.Single(_resolver.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, ExchangeOnlineEndpoint = true, AuthMethod = SmtpAuthMethod.Basic, ObservedUtc = ran }));
            Assert.Equal(ErrorCatalog.Embedded.Advisories["BasicAuthStillWorks"].VariantAt(ran)!.Evidence + " (As of 2027-02-10, when the probe ran.)", probe.Evidence);
            Assert.Null(probe.RemediationCommand);

            SmtpAuthFinding today = Assert.Single(_resolver.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, ExchangeOnlineEndpoint = true, AuthMethod = SmtpAuthMethod.Basic }));
            Assert.Equal(ErrorCatalog.Embedded.Advisories["BasicAuthStillWorks"].VariantAt(Now)!.Evidence + " (As of 2026-11-30, today.)", today.Evidence);
        }

        [Fact]
        public void The_pre_flight_retirement_note_names_the_mailbox_asked_about()
        {
            SmtpAuthPolicyState s = State();
            s.SmtpSignInCount = 7;
            SmtpAuthFinding note = _resolver.Resolve(new ErrorEvidence(string.Empty) { UserPrincipalName = "scanner@contoso.com", PolicyState = s }).Single(x => x.CauseId == "BasicAuthRetired");
            Assert.Equal("scanner@contoso.com", note.UserPrincipalName);
            Assert.StartsWith("7 Authenticated SMTP (basic) sign-ins for this mailbox in the look-back window. ", note.Evidence, StringComparison.Ordinal);

            SmtpAuthFinding fromState = _resolver.Resolve(new ErrorEvidence(string.Empty) { PolicyState = s }).Single(x => x.CauseId == "BasicAuthRetired");
            Assert.Equal("app@contoso.com", fromState.UserPrincipalName);
        }

        // --- Who the finding and its fix command name ---

        [Fact]
        public void The_mailbox_of_the_settings_fills_the_fix_command_when_the_evidence_names_none()
        {
            const string reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.";
            SmtpAuthPolicyState state = State();
            state.MailboxSmtpAuthDisabled = true;
            state.SmtpAuthEnabled = false;
            state.SmtpAuthDecidedBy = "Mailbox";
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence(reply) { PolicyState = state }).First(x => x.CauseId == "MailboxSmtpAuthDisabled");
            Assert.Equal("app@contoso.com", f.UserPrincipalName);
            Assert.Equal("Set-CASMailbox -Identity 'app@contoso.com' -SmtpClientAuthenticationDisabled $false", f.RemediationCommand);

            // The account the evidence names comes first.
            SmtpAuthFinding g = _resolver.Resolve(new ErrorEvidence(reply) { UserPrincipalName = "scanner@contoso.com", PolicyState = state }).First(x => x.CauseId == "MailboxSmtpAuthDisabled");
            Assert.Equal("scanner@contoso.com", g.UserPrincipalName);
            Assert.Equal("Set-CASMailbox -Identity 'scanner@contoso.com' -SmtpClientAuthenticationDisabled $false", g.RemediationCommand);
        }

        [Fact]
        public void A_reply_with_two_readings_is_no_SettingsConflict_when_the_settings_choose_one()
        {
            // "did not meet the criteria" is Conditional Access or MFA: settings that confirm the CA block and rule out MFA
            // agree with the reply. Only a reply whose every reading the settings exclude is a conflict.
            const string criteria = "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator. [BN9PR03CA0123.namprd03.prod.outlook.com 2026-11-30T11:58:02.123Z 08DD0F0F0F0F0F0F]";
            SmtpAuthPolicyState state = State();
            state.BlockingConditionalAccessPolicies = "Block legacy authentication (pilot)";
            state.LastSmtpSignInErrorCode = 53003;
            IReadOnlyList<SmtpAuthFinding> findings = _resolver.Resolve(new ErrorEvidence(criteria) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = state });
            Assert.Equal("ConditionalAccessBlocksLegacyAuth", findings[0].CauseId);
            Assert.Equal(Verdict.Confirmed, findings[0].Verdict);
            Assert.Equal(Verdict.RuledOut, findings.Single(x => x.CauseId == "MfaRequired").Verdict);
            Assert.DoesNotContain(findings, x => x.CauseId == "SettingsConflict");

            // Both readings excluded: now the reply and the settings disagree, and that is shown.
            state.BlockingConditionalAccessPolicies = string.Empty;
            state.LastSmtpSignInErrorCode = null;
            IReadOnlyList<SmtpAuthFinding> both = _resolver.Resolve(new ErrorEvidence(criteria) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = state });
            Assert.Contains(both, x => x.CauseId == "SettingsConflict");
        }

        [Fact]
        public void A_shared_mailbox_with_sign_in_blocked_is_never_told_to_enable_sign_in()
        {
            // Sign-in is blocked by design on a shared mailbox; Update-MgUser -AccountEnabled:$true is not its fix.
            SmtpAuthPolicyState state = State();
            state.UserPrincipalName = "notifications@contoso.com";
            state.RecipientTypeDetails = "SharedMailbox";
            state.AccountEnabled = false;
            IReadOnlyList<SmtpAuthFinding> findings = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, user account is disabled.") { AuthMethod = SmtpAuthMethod.Basic, PolicyState = state });
            SmtpAuthFinding disabled = findings.Single(x => x.CauseId == "AccountDisabled");
            Assert.Equal(Verdict.RuledOut, disabled.Verdict);
            Assert.DoesNotContain(findings, x => (x.RemediationCommand ?? string.Empty).Contains("AccountEnabled", StringComparison.Ordinal));
            Assert.Equal("SharedMailboxSignIn", findings[0].CauseId);
        }

        [Fact]
        public void A_server_that_offers_STARTTLS_but_cannot_start_it_is_not_a_server_without_STARTTLS()
        {
            // Postfix with its certificate file missing: 454 4.7.0 after STARTTLS, which it did offer.
            IReadOnlyList<SmtpAuthFinding> findings = _resolver.Resolve(new ErrorEvidence("454 4.7.0 TLS not available due to local problem"));
            Assert.Equal("ServerTlsUnavailable", findings[0].CauseId);
            Assert.DoesNotContain(findings, f => f.CauseId == "StartTlsNotOffered");
        }

        [Fact]
        public void Signing_in_with_the_UPN_rules_out_UserNameNotUpn()
        {
            const string bad = "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [BN9PR03CA0123.namprd03.prod.outlook.com]";
            SmtpAuthPolicyState state = State();
            IReadOnlyList<SmtpAuthFinding> same = _resolver.Resolve(new ErrorEvidence(bad) { AuthMethod = SmtpAuthMethod.Basic, SignInName = "APP@contoso.com", PolicyState = state });
            SmtpAuthFinding upn = same.Single(x => x.CauseId == "UserNameNotUpn");
            Assert.Equal(Verdict.RuledOut, upn.Verdict);
            Assert.Contains("which is the account's UPN", upn.Evidence, StringComparison.Ordinal);

            IReadOnlyList<SmtpAuthFinding> other = _resolver.Resolve(new ErrorEvidence(bad) { AuthMethod = SmtpAuthMethod.Basic, SignInName = "app.alias@contoso.com", PolicyState = state });
            Assert.NotEqual(Verdict.RuledOut, other.Single(x => x.CauseId == "UserNameNotUpn").Verdict);
        }

        [Fact]
        public void A_ruled_out_cause_carries_no_fix_command_and_no_note_about_one()
        {
            // A runbook that collects RemediationCommand must not run the fix of a cause the settings exclude.
            const string reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.";
            IReadOnlyList<SmtpAuthFinding> findings = _resolver.Resolve(new ErrorEvidence(reply) { PolicyState = State() });
            SmtpAuthFinding ruledOut = findings.First(x => x.CauseId == "MailboxSmtpAuthDisabled");
            Assert.Equal(Verdict.RuledOut, ruledOut.Verdict);
            Assert.Null(ruledOut.RemediationCommand);
            Assert.DoesNotContain("In the command", ruledOut.Remediation, StringComparison.Ordinal);
            Assert.All(findings.Where(x => x.Verdict == Verdict.RuledOut), x => Assert.Null(x.RemediationCommand));
        }

        [Fact]
        public void A_SettingsConflict_names_the_account_of_the_evidence_else_of_the_settings()
        {
            SmtpAuthFinding fromState = _resolver.Resolve(new ErrorEvidence(BadCredentials) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = State() }).Single(x => x.CauseId == "SettingsConflict");
            Assert.Equal("app@contoso.com", fromState.UserPrincipalName);
            Assert.Equal("Set-User -Identity 'app@contoso.com' -STSRefreshTokensValidFrom ([DateTime]::UtcNow)", fromState.RemediationCommand);

            SmtpAuthFinding fromEvidence = _resolver.Resolve(new ErrorEvidence(BadCredentials) { AuthMethod = SmtpAuthMethod.Basic, UserPrincipalName = "scanner@contoso.com", PolicyState = State() }).Single(x => x.CauseId == "SettingsConflict");
            Assert.Equal("scanner@contoso.com", fromEvidence.UserPrincipalName);
            Assert.Equal("Set-User -Identity 'scanner@contoso.com' -STSRefreshTokensValidFrom ([DateTime]::UtcNow)", fromEvidence.RemediationCommand);
        }

        // --- The settings conflict's own facts ---

        [Fact]
        public void A_conflict_lists_the_settings_read_and_says_unknown_for_what_was_not_read()
        {
            SmtpAuthPolicyState s = State();
            s.SmtpAuthEnabled = null;
            s.SmtpAuthDecidedBy = null;
            s.SecurityDefaultsEnabled = null;
            s.AuthenticationPolicySource = "User";
            s.AuthenticationPolicy = "Allow SMTP";
            s.AllowBasicAuthSmtp = true;
            SmtpAuthFinding conflict = _resolver.Resolve(new ErrorEvidence(BadCredentials) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = s }).Single(x => x.CauseId == "SettingsConflict");
            Assert.StartsWith(
                "The server refused Basic, but every setting read allows it. Settings read at 2026-11-30 11:55:00Z: SMTP AUTH unknown (decided by unknown), authentication policy Allow SMTP, security defaults unknown. ",
                conflict.Evidence,
                StringComparison.Ordinal);
        }

        [Fact]
        public void A_contradicted_reply_names_the_mailbox_of_the_settings_or_says_this_mailbox()
        {
            SmtpAuthPolicyState s = State();
            s.UserPrincipalName = null;
            s.TenantSmtpAuthDisabled = true;
            s.MailboxSmtpAuthDisabled = false;
            s.SmtpAuthDecidedBy = "Mailbox";
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.") { AuthMethod = SmtpAuthMethod.Basic, PolicyState = s });
            SmtpAuthFinding conflict = f.First(x => x.CauseId == "SettingsConflict");
            Assert.StartsWith("The server's reply names TenantSmtpAuthDisabled (", conflict.Evidence, StringComparison.Ordinal);
            Assert.Contains("but the settings read at 2026-11-30 11:55:00Z say otherwise: Settings: the mailbox's own SmtpClientAuthenticationDisabled decides", conflict.Evidence, StringComparison.Ordinal);
            Assert.Contains("the client signs in with a different account than this mailbox;", conflict.Evidence, StringComparison.Ordinal);

            // With the mailbox known, the conflict names it.
            s.UserPrincipalName = "app@contoso.com";
            SmtpAuthFinding named = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.") { AuthMethod = SmtpAuthMethod.Basic, PolicyState = s })
                .First(x => x.CauseId == "SettingsConflict");
            Assert.Contains("the client signs in with a different account than app@contoso.com;", named.Evidence, StringComparison.Ordinal);
        }

        // --- A name not in UPN form ---

        [Fact]
        public void A_non_UPN_name_at_Exchange_Online_before_AUTH_is_a_Possible_cause_added_with_the_reason()
        {
            // The probe stopped at STARTTLS: the name was not tried yet, so it is only Possible and not moved up.
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("530 5.7.0 Must issue a STARTTLS command first")
            {
                AuthMethod = SmtpAuthMethod.Basic, FailedPhase = SmtpPhase.StartTls, SignInName = "dave", ExchangeOnlineEndpoint = true, FromProbe = true,
            });
            SmtpAuthFinding upn = f.Single(x => x.CauseId == "UserNameNotUpn");
            Assert.Equal(Verdict.Possible, upn.Verdict);
            Assert.Equal("The probe signed in to Exchange Online as 'dave', which is not in UPN form (user@domain); Exchange Online accepts only the account's user principal name.", upn.Evidence);
            Assert.NotEqual("UserNameNotUpn", f[0].CauseId);
            Assert.Equal(Enumerable.Range(1, f.Count), f.Select(x => x.Rank));
        }

        [Fact]
        public void A_non_UPN_name_refused_at_AUTH_puts_the_reason_before_the_catalog_evidence()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(BadCredentials)
            {
                AuthMethod = SmtpAuthMethod.Basic, FailedPhase = SmtpPhase.Auth, SignInName = "CONTOSO\\dave", ExchangeOnlineEndpoint = true,
            });
            SmtpAuthFinding upn = f[0];
            Assert.Equal("UserNameNotUpn", upn.CauseId);
            Assert.Equal(Verdict.Likely, upn.Verdict);
            Assert.StartsWith("The probe signed in to Exchange Online as 'CONTOSO\\dave', which is not in UPN form (user@domain); Exchange Online accepts only the account's user principal name. ", upn.Evidence, StringComparison.Ordinal);
            Assert.EndsWith("Auth method: Basic.", upn.Evidence, StringComparison.Ordinal);
        }

        // --- Token claims ---

        [Fact]
        public void Token_issues_confirm_nothing_after_basic_auth()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(BadCredentials) { AuthMethod = SmtpAuthMethod.Basic, TokenIssues = new[] { "InvalidCredentials" } });
            Assert.Equal("InvalidCredentials", f[0].CauseId);
            Assert.Equal(Verdict.Likely, f[0].Verdict);
            Assert.DoesNotContain(f, x => x.Verdict == Verdict.Confirmed);
        }

        [Fact]
        public void A_token_issue_with_no_server_reply_stays_as_the_catalog_put_it()
        {
            // A client's own text (no SMTP reply) about an expired token: the claim and the text are not two sources.
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("MailKit.Security.AuthenticationException: AADSTS700082: The refresh token has expired due to inactivity.")
            {
                AuthMethod = SmtpAuthMethod.OAuth, TokenClaimsRead = true, TokenIssues = new[] { "TokenExpired" },
            });
            SmtpAuthFinding expired = f.Single(x => x.CauseId == "TokenExpired");
            Assert.Equal(Verdict.Likely, expired.Verdict);
            Assert.DoesNotContain("The token's own claims", expired.Evidence, StringComparison.Ordinal);
        }

        // --- Replies a logger wrapped ---

        [Theory]
        [InlineData("smtplib.SMTPNotSupportedError: SMTP AUTH extension not sup \nported by server.")]
        [InlineData("smtplib.SMTPNotSupportedError: SMTP AUTH extension not sup\r\nported by server.")]
        [InlineData("smtplib.SMTPNotSupportedError: SMTP AUTH extension not sup\t\nported by server.")]
        [InlineData("\nsmtplib.SMTPNotSupportedError: SMTP AUTH extension not sup\nported by server.")]
        [InlineData("\n\n  SMTP AUTH extension not\n   supported by server.")]
        public void Client_text_split_by_a_logger_is_read_whole(string text)
        {
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence(text))[0];
            Assert.Equal("StartTlsRequired", f.CauseId);
            Assert.Equal(Verdict.Likely, f.Verdict);
        }

        [Fact]
        public void A_server_reply_a_logger_split_in_a_word_is_matched_with_its_continuation()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the user credentials were incor \nrect. [SN4PR0201CA0040.namprd02.prod.outlook.com]"));
            Assert.Equal("InvalidCredentials", f[0].CauseId);
            Assert.Equal("BAD_CREDS", f[0].CatalogEntry);
            Assert.Equal(535, f[0].ReplyCode);
        }

        // --- 5.7.57 alone ---

        [Fact]
        public void A_5_7_57_with_nothing_else_stays_Likely()
        {
            IReadOnlyList<SmtpAuthFinding> all = _resolver.Resolve(new ErrorEvidence("530 5.7.57 Client not authenticated to send mail. [DM6PR02CA0001.namprd02.prod.outlook.com]"));
            SmtpAuthFinding f = all[0];
            Assert.Equal("NotAuthenticated", f.CauseId);
            Assert.Equal(Verdict.Likely, f.Verdict);
            Assert.DoesNotContain("failed AUTH", f.Evidence, StringComparison.Ordinal);

            // The one other reading: no STARTTLS, so AUTH was never offered (glowroot/glowroot#226, rstudio/blastula#169).
            Assert.Equal(new[] { "NotAuthenticated", "StartTlsRequired" }, all.Select(x => x.CauseId).ToArray());
            Assert.Equal(Verdict.Possible, all[1].Verdict);
        }

        // --- Word readings (WORDS_* fallback entries) ---

        [Fact]
        public void A_text_no_known_message_matches_gets_word_readings_that_say_so_and_stay_Possible()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("Mail test failed: the TLS handshake with the mail host did not complete"));
            Assert.Equal("ImplicitTlsOnStartTlsPort", f[0].CauseId);
            Assert.All(f, x => Assert.Equal(Verdict.Possible, x.Verdict));
            Assert.All(f, x => Assert.StartsWith("No message the catalog knows matched", x.Evidence, StringComparison.Ordinal));
        }

        [Fact]
        public void Word_readings_stay_out_when_a_known_message_matched()
        {
            // CONNECT knows "Connection refused"; the words "TLS" and "refused" must not add readings of their own.
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("TLS session aborted: Connection refused by smtp.office365.com:587"));
            Assert.Equal("ConnectionFailed", f[0].CauseId);
            Assert.Equal(Verdict.Likely, f[0].Verdict);
            Assert.DoesNotContain(f, x => x.Evidence.StartsWith("No message the catalog knows matched", StringComparison.Ordinal));
        }

        [Fact]
        public void A_text_without_known_words_is_still_Unrecognized()
        {
            SmtpAuthFinding f = Assert.Single(_resolver.Resolve(new ErrorEvidence("Failure sending mail.")));
            Assert.Equal(CauseIds.Unrecognized, f.CauseId);
        }

        [Fact]
        public void A_plain_reply_does_not_say_the_client_embedded_one()
        {
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence(BadCredentials))[0];
            Assert.DoesNotContain("embedded the real AUTH error", f.Evidence, StringComparison.Ordinal);
            Assert.DoesNotContain("System.Net.Mail", f.Evidence, StringComparison.Ordinal);
        }

        // --- The MX endpoint ---

        [Fact]
        public void An_MX_host_in_capitals_is_still_the_MX_endpoint()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.3 Authentication unsuccessful [CONTOSO-COM.MAIL.PROTECTION.OUTLOOK.COM]") { AuthMethod = SmtpAuthMethod.Basic });
            Assert.Equal("AuthNotAdvertised", f[0].CauseId);
            Assert.StartsWith("The reply came from CONTOSO-COM.MAIL.PROTECTION.OUTLOOK.COM, an Exchange Online Protection (MX) server", f[0].Evidence, StringComparison.Ordinal);
        }

        // --- Unrecognized text ---

        [Fact]
        public void Unrecognized_text_keeps_the_catalog_checks_and_a_probe_without_server_or_port_says_so()
        {
            CauseDefinition cause = ErrorCatalog.Embedded.Causes["Unrecognized"];
            SmtpAuthFinding text = Assert.Single(_resolver.Resolve(new ErrorEvidence("550 5.9.77 Something nobody has seen")));
            Assert.Equal(cause.Checks, text.Checks);
            Assert.Equal(cause.Remediation, text.Remediation);

            SmtpAuthFinding probe = Assert.Single(_resolver.Resolve(new ErrorEvidence("550 5.9.77 Something nobody has seen") { FromProbe = true, FailedPhase = SmtpPhase.Data }));
            Assert.StartsWith("The probe stopped in the Data phase against the server:? with a reply", probe.Remediation, StringComparison.Ordinal);
            Assert.StartsWith("1. The probe's Transcript: the last command sent in the Data phase", probe.Checks, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("400 4.9.9 Something nobody has seen", true)]
        [InlineData("421 4.9.9 Something nobody has seen", true)]
        [InlineData("500 5.9.9 Something nobody has seen", false)]
        [InlineData("399 3.9.9 Something nobody has seen", false)]
        public void An_unrecognized_reply_is_transient_only_for_a_4xx_code(string reply, bool transient)
        {
            SmtpAuthFinding f = Assert.Single(_resolver.Resolve(new ErrorEvidence(reply)));
            Assert.Equal("Unrecognized", f.CauseId);
            Assert.Equal(transient, f.Transient);
        }

        // --- Fix command values ---

        [Fact]
        public void A_fix_command_for_a_pasted_text_names_Exchange_Online_and_port_587_unless_told_otherwise()
        {
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence("Greeting never received")).Single(x => x.CauseId == "NoSmtpGreeting");
            Assert.Equal("Test-SmtpAuth -SkipAuthentication -Server 'smtp.office365.com' -Port '587' -Debug", f.RemediationCommand);

            SmtpAuthFinding other = _resolver.Resolve(new ErrorEvidence("Greeting never received") { Server = "mail.example.net", Port = 2525 }).Single(x => x.CauseId == "NoSmtpGreeting");
            Assert.Equal("Test-SmtpAuth -SkipAuthentication -Server 'mail.example.net' -Port '2525' -Debug", other.RemediationCommand);

            // A probe result is not told to run the probe again.
            SmtpAuthFinding probe = _resolver.Resolve(new ErrorEvidence("Greeting never received") { FromProbe = true, Server = "mail.example.net", Port = 2525 }).Single(x => x.CauseId == "NoSmtpGreeting");
            Assert.Null(probe.RemediationCommand);
            Assert.DoesNotContain("replace <", probe.Remediation, StringComparison.Ordinal);
        }

        [Fact]
        public void The_app_and_its_object_id_fill_the_service_principal_command_and_two_unknowns_are_named_together()
        {
            const string reply = "535 5.7.3 Authentication unsuccessful [SN4PR0201CA0040.namprd02.prod.outlook.com]";
            SmtpAuthPolicyState s = State();
            s.ClientId = "6f1a7c2e-0000-4000-8000-000000000001";
            s.EnterpriseAppObjectId = "0c6d2a10-0000-4000-8000-00000000000b";
            IReadOnlyList<SmtpAuthFinding> known = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth, PolicyState = s });
            Assert.Equal("New-ServicePrincipal -AppId '6f1a7c2e-0000-4000-8000-000000000001' -ObjectId '0c6d2a10-0000-4000-8000-00000000000b'", known.Single(x => x.CauseId == "ServicePrincipalNotRegistered").RemediationCommand);
            Assert.Equal("Add-MailboxPermission -Identity 'app@contoso.com' -User '0c6d2a10-0000-4000-8000-00000000000b' -AccessRights FullAccess", known.Single(x => x.CauseId == "MailboxPermissionMissing").RemediationCommand);

            SmtpAuthFinding unknown = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth }).Single(x => x.CauseId == "ServicePrincipalNotRegistered");
            Assert.Equal("New-ServicePrincipal -AppId '<appId>' -ObjectId '<objectId>'", unknown.RemediationCommand);
            Assert.EndsWith(" In the command, replace <appId> and <objectId> with the real values: it was not known from the error or the settings.", unknown.Remediation, StringComparison.Ordinal);
        }

        [Fact]
        public void The_authentication_policy_of_the_settings_fills_its_fix_command_quoted()
        {
            SmtpAuthPolicyState s = State();
            s.AuthenticationPolicySource = "User";
            s.AuthenticationPolicy = "O'Brien Block Basic";
            s.AllowBasicAuthSmtp = false;
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, basic authentication is disabled.") { AuthMethod = SmtpAuthMethod.Basic, PolicyState = s })
                .Single(x => x.CauseId == "AuthenticationPolicyBlocksBasicSmtp");
            Assert.Equal("Set-AuthenticationPolicy -Identity 'O''Brien Block Basic' -AllowBasicAuthSmtp", f.RemediationCommand);
        }

        [Fact]
        public void A_SendAs_refusal_in_capitals_fills_the_command_but_known_accounts_come_first()
        {
            const string reply = "550 5.7.60 SMTP; Client does not have permissions to send as this sender. 5.2.252 SendAsDenied; APP@CONTOSO.COM NOT ALLOWED TO SEND AS SALES@CONTOSO.COM; STOREDRV.Submission.Exception";
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence(reply)).First(x => x.CauseId == "SendAsDenied");
            Assert.Equal("Add-RecipientPermission -Identity 'SALES@CONTOSO.COM' -Trustee 'APP@CONTOSO.COM' -AccessRights SendAs", f.RemediationCommand);

            SmtpAuthPolicyState s = State();
            s.From = "billing@contoso.com";
            SmtpAuthFinding known = _resolver.Resolve(new ErrorEvidence(reply) { UserPrincipalName = "svc@contoso.com", PolicyState = s }).First(x => x.CauseId == "SendAsDenied");
            Assert.Equal("Add-RecipientPermission -Identity 'billing@contoso.com' -Trustee 'svc@contoso.com' -AccessRights SendAs", known.RemediationCommand);
        }
    
        // --- A wrapper whose embedded reply matched is a symptom ---

        [Fact]
        public void A_5_7_57_wrapper_around_a_reply_that_matched_is_only_a_Possible_symptom()
        {
            // System.Net.Mail's 5.7.57 wrapper with the server's real reply embedded after "Error:"; the embedded reply
            // names only a Possible cause, so nothing demotes the wrapper but its being a symptom.
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("530 5.7.57 Client not authenticated to send mail. Error: 503 5.5.2 Send hello first [DM6PR02CA0001.namprd02.prod.outlook.com]"));
            Assert.Equal("StartTlsRequired", f[0].CauseId);
            Assert.Equal(503, f[0].ReplyCode);
            Assert.Contains("The client reported 5.7.57 (not authenticated) and embedded the real AUTH error, which is the cause to fix.", f[0].Evidence, StringComparison.Ordinal);
            SmtpAuthFinding wrapper = f.Single(x => x.CauseId == "NotAuthenticated");
            Assert.Equal(Verdict.Possible, wrapper.Verdict);
            Assert.Equal("5.7.57", wrapper.EnhancedStatusCode);
            Assert.DoesNotContain(f, x => x.Verdict == Verdict.Likely);
        }

        [Fact]
        public void A_cause_named_by_a_reply_and_by_client_text_cites_the_reply()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("smtplib.SMTPNotSupportedError: SMTP AUTH extension not supported by server. Last reply: 503 5.5.2 Send hello first"));
            SmtpAuthFinding starttls = f.Single(x => x.CauseId == "StartTlsRequired");
            Assert.Equal("EHLO_FIRST", starttls.CatalogEntry);
            Assert.Equal(503, starttls.ReplyCode);
            Assert.Equal(Verdict.Possible, starttls.Verdict);
        }

        // --- 5.7.57 and what explains it ---

        [Fact]
        public void Only_a_Likely_reply_with_another_status_code_explains_a_5_7_57()
        {
            // A Possible cause from another reply does not explain it.
            IReadOnlyList<SmtpAuthFinding> possible = _resolver.Resolve(new ErrorEvidence("530 5.7.57 Client not authenticated to send mail.\n503 5.5.2 Send hello first"));
            Assert.Equal("NotAuthenticated", possible[0].CauseId);
            Assert.Equal(Verdict.Likely, possible[0].Verdict);

            // Another 5.7.57 reply does not either, even with a Likely cause.
            IReadOnlyList<SmtpAuthFinding> same = _resolver.Resolve(new ErrorEvidence("530 5.7.57 Client not authenticated to send mail.\n550 5.7.57 Too many login attempts"));
            Assert.Equal(Verdict.Likely, same.Single(x => x.CauseId == "NotAuthenticated").Verdict);
            Assert.Equal(Verdict.Likely, same.Single(x => x.CauseId == "ContinuousErrorThrottling").Verdict);
        }

        [Fact]
        public void A_not_authenticated_reply_with_another_code_than_5_7_57_is_not_demoted()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("550 5.7.1 Client not authenticated\n451 4.7.0 Temporary server error. Please try again later."));
            Assert.Equal(Verdict.Likely, f.Single(x => x.CauseId == "NotAuthenticated").Verdict);
            Assert.Equal(Verdict.Likely, f.Single(x => x.CauseId == "TemporaryServerError").Verdict);
        }

        // --- Generic readings ---

        [Fact]
        public void The_generic_535_reading_cites_the_535_reply_not_the_first_one()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("250 2.1.0 Sender OK\n535 5.9.99 nope") { AuthMethod = SmtpAuthMethod.Basic });
            Assert.Equal("InvalidCredentials", f[0].CauseId);
            Assert.Equal("GENERIC_AUTH_REFUSED", f[0].CatalogEntry);
            Assert.Equal(535, f[0].ReplyCode);
            Assert.Equal("5.9.99", f[0].EnhancedStatusCode);
        }

        [Fact]
        public void The_generic_text_reading_keeps_the_reply_code_the_text_carries()
        {
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence("550 5.9.77 Authentication failed for this sender"))[0];
            Assert.Equal("InvalidCredentials", f.CauseId);
            Assert.Equal("GENERIC_AUTH_FAILED_TEXT", f.CatalogEntry);
            Assert.Equal(550, f.ReplyCode);
            Assert.Equal("5.9.77", f.EnhancedStatusCode);

            // The words split by a logger are read too.
            SmtpAuthFinding split = _resolver.Resolve(new ErrorEvidence("Mailer error: Authentication fa\niled"))[0];
            Assert.Equal("GENERIC_AUTH_FAILED_TEXT", split.CatalogEntry);
        }

        [Fact]
        public void An_entry_without_reply_codes_in_a_given_catalog_matches_any_reply_code()
        {
            JsonNode json = JsonNode.Parse(CorroborationRuleTests.EmbeddedText())!;
            JsonObject locked = json["entries"]!.AsArray().Single(e => (string?)e!["id"] == "LOCKED")!.AsObject();
            locked.Remove("replyCodes");
            var resolver = new SmtpAuthErrorResolver(ErrorCatalog.Parse(json.ToJsonString()), () => Now);
            SmtpAuthFinding f = resolver.Resolve(new ErrorEvidence("550 5.7.139 Authentication unsuccessful, account locked."))[0];
            Assert.Equal("AccountLocked", f.CauseId);
            Assert.Equal("LOCKED", f.CatalogEntry);
        }

        // --- Dated causes in a pre-flight ---

        [Fact]
        public void A_pre_flight_after_the_default_off_uses_the_dated_title_and_fix()
        {
            CauseVariant variant = ErrorCatalog.Embedded.Causes["BasicAuthDisabledForAccount"].VariantAt(new DateTimeOffset(2027, 1, 5, 0, 0, 0, TimeSpan.Zero))!;
            var later = new SmtpAuthErrorResolver(clock: () => new DateTimeOffset(2027, 1, 5, 9, 0, 0, TimeSpan.Zero));
            SmtpAuthPolicyState s = State();
            s.AllowBasicAuthSmtp = false;
            s.BasicAuthVerdict = PolicyVerdict.Blocked;
            s.BasicAuthBlockedBy = "BasicAuthDisabledForAccount";
            SmtpAuthFinding f = Assert.Single(later.Resolve(new ErrorEvidence(string.Empty) { PolicyState = s }));
            Assert.Equal(variant.Title, f.Title);
            Assert.Equal(variant.Remediation, f.Remediation);
            Assert.Contains("Get-SmtpAuthClient", f.Remediation, StringComparison.Ordinal);
        }

        [Fact]
        public void A_conflict_ends_with_the_settings_sentence()
        {
            SmtpAuthFinding conflict = _resolver.Resolve(new ErrorEvidence(BadCredentials) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = State() }).Single(x => x.CauseId == "SettingsConflict");
            Assert.Equal(
                "The server refused Basic, but every setting read allows it. Settings read at 2026-11-30 11:55:00Z: SMTP AUTH True (decided by Tenant), authentication policy none, security defaults False. ",
                conflict.Evidence);
        }

        [Fact]
        public void Evidence_without_text_is_empty_text()
        {
            Assert.Equal(string.Empty, new ErrorEvidence(null!).Text);
            SmtpAuthFinding f = Assert.Single(_resolver.Resolve(new ErrorEvidence(null!) { PolicyState = State() }));
            Assert.Equal("NoBlockingSetting", f.CauseId);
        }

        [Fact]
        public void A_probe_result_still_gets_fix_commands_that_are_not_the_probe()
        {
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.")
            {
                FromProbe = true, AuthMethod = SmtpAuthMethod.Basic, FailedPhase = SmtpPhase.Auth, UserPrincipalName = "scanner@contoso.com",
            })[0];
            Assert.Equal("MailboxSmtpAuthDisabled", f.CauseId);
            Assert.Equal("Set-CASMailbox -Identity 'scanner@contoso.com' -SmtpClientAuthenticationDisabled $false", f.RemediationCommand);
        }

        // --- Catalog text that is left empty ---

        [Fact]
        public void A_catalog_reference_without_evidence_starts_the_evidence_with_the_next_sentence()
        {
            JsonNode json = JsonNode.Parse(CorroborationRuleTests.EmbeddedText())!;
            JsonNode reference = json["entries"]!.AsArray().Single(e => (string?)e!["id"] == "LOCKED")!["causes"]!.AsArray()[0]!;
            reference["evidence"] = string.Empty;
            var resolver = new SmtpAuthErrorResolver(ErrorCatalog.Parse(json.ToJsonString()), () => Now);
            SmtpAuthFinding f = resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, account locked.") { AuthMethod = SmtpAuthMethod.Basic })[0];
            Assert.Equal("AccountLocked", f.CauseId);
            Assert.Equal("Auth method: Basic.", f.Evidence);
        }

        [Fact]
        public void A_retirement_advisory_without_dated_wording_has_no_evidence_and_no_date()
        {
            JsonNode json = JsonNode.Parse(CorroborationRuleTests.EmbeddedText())!;
            foreach (JsonNode? variant in json["advisories"]!["BasicAuthStillWorks"]!["variants"]!.AsArray())
            {
                variant!.AsObject().Remove("evidence");
            }

            var resolver = new SmtpAuthErrorResolver(ErrorCatalog.Parse(json.ToJsonString()), () => Now);
            SmtpAuthFinding f = Assert.Single(resolver.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, ExchangeOnlineEndpoint = true, AuthMethod = SmtpAuthMethod.Basic }));
            Assert.Equal("BasicAuthRetired", f.CauseId);
            Assert.Equal(Verdict.Advisory, f.Verdict);
            Assert.Equal(string.Empty, f.Evidence);
        }
}
}
