using System;
using System.Collections.Generic;
using System.Linq;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the resolver's rules that no catalog case reaches. The MX endpoint, the settings
    /// that contradict a live result, the sign-in log's lag, the RFC 3463 reading of an unknown code, the fix command
    /// filled from the reply, and the evidence sentences each rule adds.
    /// </summary>
    public class DiagnosisEdgeTests
    {
        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        private readonly SmtpAuthErrorResolver _resolver = new SmtpAuthErrorResolver(clock: () => Now);

        private static SmtpAuthPolicyState State(PolicyVerdict basic = PolicyVerdict.Allowed, PolicyVerdict oauth = PolicyVerdict.Allowed) => new SmtpAuthPolicyState
        {
            UserPrincipalName = "app@contoso.com",
            PrimarySmtpAddress = "app@contoso.com",
            RecipientTypeDetails = "UserMailbox",
            TenantSmtpAuthDisabled = false,
            SmtpAuthEnabled = true,
            SmtpAuthDecidedBy = "Tenant",
            AuthenticationPolicySource = "None",
            SecurityDefaultsEnabled = false,
            ConditionalAccessEvaluatedBy = "Local",
            PerUserMfaState = "disabled",
            AccountEnabled = true,
            BasicAuthVerdict = basic,
            OAuthVerdict = oauth,
            ReadUtc = Now.UtcDateTime.AddMinutes(-2),
        };

        // --- The MX endpoint ---

        [Theory]
        [InlineData("535 5.7.3 Authentication unsuccessful [contoso-com.mail.protection.outlook.com]", "contoso-com.mail.protection.outlook.com")]
        [InlineData("504 5.7.4 Unrecognized authentication type [BN8NAM12FT015.eop-nam12.prod.protection.outlook.com]", "BN8NAM12FT015.eop-nam12.prod.protection.outlook.com")]
        [InlineData("530 5.7.57 Client not authenticated to send mail. [BN8NAM12FT015.eop-nam12.prod.protection.outlook.com]", "BN8NAM12FT015.eop-nam12.prod.protection.outlook.com")]
        [InlineData("503 5.5.1 Bad sequence of commands [contoso-com.mail.protection.outlook.com]", "contoso-com.mail.protection.outlook.com")]
        public void An_auth_refusal_from_the_MX_host_says_the_client_is_pointed_at_the_wrong_endpoint(string reply, string host)
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic });
            Assert.Equal("AuthNotAdvertised", f[0].CauseId);
            Assert.Equal(Verdict.Likely, f[0].Verdict);
            Assert.Equal(1, f[0].Rank);
            Assert.Contains("The reply came from " + host + ", an Exchange Online Protection (MX) server", f[0].Evidence, StringComparison.Ordinal);
            Assert.Single(f, x => x.CauseId == "AuthNotAdvertised");
            Assert.Equal(Enumerable.Range(1, f.Count), f.Select(x => x.Rank));
        }

        [Theory]
        [InlineData("550 5.7.1 Service unavailable, Client host [203.0.113.7] blocked using Spamhaus [contoso-com.mail.protection.outlook.com]")]
        [InlineData("535 5.7.3 Authentication unsuccessful [SN4PR0201CA0040.namprd02.prod.outlook.com]")]
        [InlineData("535 5.7.3 Authentication unsuccessful [mail.protection.outlook.com.example.net]")]
        public void Other_codes_from_the_MX_host_and_auth_replies_from_the_submission_host_are_not_the_MX_finding(string reply)
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic });
            Assert.DoesNotContain(f, x => x.Evidence.Contains("Exchange Online Protection (MX) server", StringComparison.Ordinal));
        }

        [Fact]
        public void A_504_5_7_4_to_AUTH_LOGIN_without_a_host_reads_as_AUTH_before_STARTTLS_and_names_the_MX_endpoint_too()
        {
            // Exchange Online's MX endpoint offers no AUTH even after STARTTLS and answers AUTH LOGIN the same way
            // (deanproxy/eMail#44, splitbrain/dokuwiki-plugin-smtp#67): without the host in the text, both readings stand.
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("code: 'EAUTH',\n  response: '504 5.7.4 Unrecognized authentication type',\n  command: 'AUTH LOGIN'"));
            Assert.Equal("StartTlsRequired", f[0].CauseId);
            SmtpAuthFinding mx = f.Single(x => x.CauseId == "AuthNotAdvertised");
            Assert.Equal(Verdict.Possible, mx.Verdict);
            Assert.Contains("mail.protection.outlook.com", mx.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void A_failed_TLS_upgrade_that_does_not_say_why_claims_no_cause_as_Likely()
        {
            // PEAR Net_SMTP's "STARTTLS failed" reads the same for a certificate, a TLS version and a Net_SMTP bug
            // (pear/Net_SMTP#68): the text cannot make any of them more than possible.
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("SMTP Error: STARTTLS failed (code: 220, response: 2.0.0 SMTP server ready)"));
            Assert.Equal("CertificateValidationFailed", f[0].CauseId);
            Assert.All(f, x => Assert.Equal(Verdict.Possible, x.Verdict));
        }

        // --- Settings against the live result ---

        [Fact]
        public void A_probe_that_authenticated_although_the_settings_say_blocked_is_a_SettingsConflict()
        {
            SmtpAuthPolicyState s = State(basic: PolicyVerdict.Blocked);
            s.BasicAuthBlockedBy = "SecurityDefaultsBlockBasicAuth";
            s.SecurityDefaultsEnabled = true;
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, ExchangeOnlineEndpoint = true, AuthMethod = SmtpAuthMethod.Basic, PolicyState = s });
            SmtpAuthFinding conflict = f.Single(x => x.CauseId == "SettingsConflict");
            Assert.Equal(Verdict.Likely, conflict.Verdict);
            Assert.Equal(1, conflict.Rank);
            Assert.StartsWith("The live probe authenticated with Basic, but the settings say it is blocked by SecurityDefaultsBlockBasicAuth.", conflict.Evidence, StringComparison.Ordinal);
            Assert.Contains("SMTP AUTH True (decided by Tenant), authentication policy none, security defaults True.", conflict.Evidence, StringComparison.Ordinal);
            Assert.Equal(Verdict.Advisory, f.Single(x => x.CauseId == "BasicAuthRetired").Verdict);
        }

        [Fact]
        public void A_successful_OAuth_probe_has_no_retirement_note_and_reads_the_OAuth_verdict()
        {
            SmtpAuthPolicyState s = State(basic: PolicyVerdict.Blocked, oauth: PolicyVerdict.Allowed);
            s.BasicAuthBlockedBy = "SecurityDefaultsBlockBasicAuth";
            Assert.Empty(_resolver.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, AuthMethod = SmtpAuthMethod.OAuth, PolicyState = s }));

            SmtpAuthPolicyState blocked = State(oauth: PolicyVerdict.Blocked);
            blocked.OAuthBlockedBy = "TenantSmtpAuthDisabled";
            SmtpAuthFinding conflict = Assert.Single(_resolver.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, AuthMethod = SmtpAuthMethod.OAuth, PolicyState = blocked }));
            Assert.StartsWith("The live probe authenticated with OAuth, but the settings say it is blocked by TenantSmtpAuthDisabled.", conflict.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void A_successful_probe_with_the_settings_agreeing_or_no_method_is_not_a_conflict()
        {
            Assert.DoesNotContain(
                _resolver.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, ExchangeOnlineEndpoint = true, AuthMethod = SmtpAuthMethod.Basic, PolicyState = State() }),
                x => x.CauseId == "SettingsConflict");
            SmtpAuthPolicyState blocked = State(basic: PolicyVerdict.Blocked, oauth: PolicyVerdict.Blocked);
            Assert.Empty(_resolver.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, AuthMethod = SmtpAuthMethod.Unknown, PolicyState = blocked }));
        }

        [Fact]
        public void A_refusal_that_every_setting_read_allows_is_a_SettingsConflict_unless_something_is_confirmed()
        {
            const string reply = "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [SN4PR0201CA0040.namprd02.prod.outlook.com]";
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = State() });
            SmtpAuthFinding conflict = f.Single(x => x.CauseId == "SettingsConflict");
            Assert.StartsWith("The server refused Basic, but every setting read allows it.", conflict.Evidence, StringComparison.Ordinal);
            Assert.Equal(Verdict.Likely, conflict.Verdict);

            // Unknown settings, or a cause the sign-in log confirms, are no conflict.
            Assert.DoesNotContain(_resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = State(basic: PolicyVerdict.Unknown) }), x => x.CauseId == "SettingsConflict");
            SmtpAuthPolicyState signIn = State();
            signIn.LastSmtpSignInErrorCode = 50126;
            signIn.LastSmtpSignInUtc = Now.UtcDateTime.AddMinutes(-1);
            IReadOnlyList<SmtpAuthFinding> confirmed = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = signIn });
            Assert.Equal(Verdict.Confirmed, confirmed[0].Verdict);
            Assert.DoesNotContain(confirmed, x => x.CauseId == "SettingsConflict");
            Assert.DoesNotContain(_resolver.Resolve(new ErrorEvidence(reply) { PolicyState = State() }), x => x.CauseId == "SettingsConflict");
        }

        // --- The sign-in log ---

        [Fact]
        public void A_probe_newer_than_the_latest_sign_in_says_the_log_lags()
        {
            const string reply = "535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.";
            SmtpAuthPolicyState s = State();
            s.LastSmtpSignInUtc = new DateTime(2026, 11, 30, 11, 0, 0, DateTimeKind.Utc);
            s.SmtpSignInCount = 3;
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = s, ObservedUtc = Now });
            Assert.Contains("The probe's own sign-in is not yet in the sign-in log (the latest Authenticated SMTP sign-in is from 2026-11-30 11:00:00Z)", f[0].Evidence, StringComparison.Ordinal);
            Assert.Single(f, x => x.Evidence.Contains("sign-in logs lag", StringComparison.Ordinal));

            // A sign-in after the probe, or an OAuth probe, says nothing about lag.
            IReadOnlyList<SmtpAuthFinding> newer = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = s, ObservedUtc = new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero) });
            Assert.DoesNotContain(newer, x => x.Evidence.Contains("sign-in logs lag", StringComparison.Ordinal));
            IReadOnlyList<SmtpAuthFinding> oauth = _resolver.Resolve(new ErrorEvidence("535 5.7.3 Authentication unsuccessful") { AuthMethod = SmtpAuthMethod.OAuth, PolicyState = s, ObservedUtc = Now });
            Assert.DoesNotContain(oauth, x => x.Evidence.Contains("sign-in logs lag", StringComparison.Ordinal));
        }

        [Fact]
        public void A_sign_in_code_confirms_its_cause_with_the_code_and_the_policy_that_failed_it()
        {
            SmtpAuthPolicyState s = State();
            s.LastSmtpSignInErrorCode = 53003;
            s.LastSmtpSignInUtc = new DateTime(2026, 11, 30, 11, 58, 0, DateTimeKind.Utc);
            s.LastSmtpSignInConditionalAccess = "Block legacy authentication";
            s.ConditionalAccessEvaluatedBy = null; // not read: the sign-in log is the one source (a RuledOut from the settings would win)
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = s,
            });
            SmtpAuthFinding ca = f.Single(x => x.CauseId == "ConditionalAccessBlocksLegacyAuth");
            Assert.Equal(Verdict.Confirmed, ca.Verdict);
            Assert.Equal(1, ca.Rank);
            Assert.Contains("Sign-in log: the latest Authenticated SMTP sign-in (2026-11-30 11:58:00Z) failed with 53003 (Block legacy authentication).", ca.Evidence, StringComparison.Ordinal);
            Assert.NotEqual(Verdict.Confirmed, f.Single(x => x.CauseId == "MfaRequired").Verdict);
        }

        [Fact]
        public void A_new_decisive_sign_in_code_confirms_its_cause()
        {
            // 50144: "User's Active Directory password has expired" (one reason): the expired password is confirmed.
            SmtpAuthPolicyState s = State();
            s.LastSmtpSignInErrorCode = 50144;
            s.LastSmtpSignInUtc = new DateTime(2026, 11, 30, 11, 58, 0, DateTimeKind.Utc);
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the user account has an issue.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = s,
            });
            SmtpAuthFinding expired = f.Single(x => x.CauseId == "PasswordExpired");
            Assert.Equal(Verdict.Confirmed, expired.Verdict);
            Assert.Contains("Sign-in log: the latest Authenticated SMTP sign-in (2026-11-30 11:58:00Z) failed with 50144.", expired.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void A_suggest_only_sign_in_code_is_shown_as_evidence_and_never_confirms()
        {
            // 50053: Microsoft gives two reasons (a locked account, or an IP address with malicious activity).
            SmtpAuthPolicyState s = State();
            s.LastSmtpSignInErrorCode = 50053;
            s.LastSmtpSignInUtc = new DateTime(2026, 11, 30, 11, 58, 0, DateTimeKind.Utc);
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, account locked.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = s,
            });
            SmtpAuthFinding locked = f.Single(x => x.CauseId == "AccountLocked");
            Assert.NotEqual(Verdict.Confirmed, locked.Verdict);
            Assert.DoesNotContain(f, x => x.Verdict == Verdict.Confirmed);
            Assert.Contains("failed with 50053, which fits this cause but does not prove it: Microsoft's meaning is \"IdsLocked - The account is locked", locked.Evidence, StringComparison.Ordinal);
            Assert.Contains("IP address with malicious activity", locked.Evidence, StringComparison.Ordinal);
        }

        // --- Unknown codes ---

        [Theory]
        [InlineData("450 4.1.9 Something nobody has seen", "4.1.9 is a temporary failure (retrying can succeed) about addressing (RFC 3463).", true)]
        [InlineData("550 5.2.9 Something nobody has seen", "5.2.9 is a permanent failure about the mailbox (RFC 3463).", false)]
        [InlineData("550 5.3.9 Something nobody has seen", "5.3.9 is a permanent failure about the mail system (RFC 3463).", false)]
        [InlineData("550 5.4.9 Something nobody has seen", "5.4.9 is a permanent failure about the network or routing (RFC 3463).", false)]
        [InlineData("550 5.5.9 Something nobody has seen", "5.5.9 is a permanent failure about the mail delivery protocol (RFC 3463).", false)]
        [InlineData("550 5.6.9 Something nobody has seen", "5.6.9 is a permanent failure about the message content (RFC 3463).", false)]
        [InlineData("550 5.7.999 Something nobody has seen", "5.7.999 is a permanent failure about security or policy (RFC 3463).", false)]
        [InlineData("250 2.9.9 Something nobody has seen", "2.9.9 is success about an unknown subject (RFC 3463).", false)]
        public void An_unknown_enhanced_code_is_read_by_its_RFC_3463_class_and_subject(string reply, string reading, bool transient)
        {
            SmtpAuthFinding f = Assert.Single(_resolver.Resolve(new ErrorEvidence(reply)));
            Assert.Equal("Unrecognized", f.CauseId);
            Assert.Equal(Verdict.Possible, f.Verdict);
            Assert.Equal(1, f.Rank);
            Assert.StartsWith("No catalog entry matches this text. Parsed reply: ", f.Evidence, StringComparison.Ordinal);
            Assert.EndsWith(reading, f.Evidence, StringComparison.Ordinal);
            Assert.Equal(transient, f.Transient);
        }

        [Fact]
        public void Text_without_a_code_says_so_and_is_not_transient()
        {
            SmtpAuthFinding f = Assert.Single(_resolver.Resolve(new ErrorEvidence("the printer says no") { UserPrincipalName = "printer@contoso.com" }));
            Assert.Equal("No catalog entry matches this text. No SMTP reply code was found in it.", f.Evidence);
            Assert.False(f.Transient);
            Assert.Null(f.EnhancedStatusCode);
            Assert.Null(f.ReplyText);
            Assert.Equal("printer@contoso.com", f.UserPrincipalName);
        }

        // --- Fix commands and evidence sentences ---

        [Fact]
        public void A_SendAs_refusal_fills_both_mailboxes_of_the_fix_command_from_the_reply()
        {
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence("550 5.7.60 SMTP; Client does not have permissions to send as this sender. 5.2.252 SendAsDenied; app@contoso.com not allowed to send as sales@contoso.com; STOREDRV.Submission.Exception"))
                .First(x => x.CauseId == "SendAsDenied");
            Assert.NotNull(f.RemediationCommand);
            Assert.Contains("'sales@contoso.com'", f.RemediationCommand, StringComparison.Ordinal);
            Assert.Contains("'app@contoso.com'", f.RemediationCommand, StringComparison.Ordinal);
            Assert.DoesNotContain("<", f.RemediationCommand, StringComparison.Ordinal);
            Assert.DoesNotContain("replace <", f.Remediation, StringComparison.Ordinal);
        }

        [Fact]
        public void A_fix_command_with_a_value_not_known_says_which_placeholder_to_replace()
        {
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."))[0];
            Assert.Equal("Set-CASMailbox -Identity '<user>' -SmtpClientAuthenticationDisabled $false", f.RemediationCommand);
            Assert.EndsWith("In the command, replace <user> with the real value: it was not known from the error or the settings.", f.Remediation, StringComparison.Ordinal);
        }

        [Fact]
        public void System_Net_Mail_text_is_read_as_basic_auth_and_says_why()
        {
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence("System.Net.Mail.SmtpException: The SMTP server requires a secure connection or the client was not authenticated. The server response was: 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful, account locked. [TY1PR01CA0183.jpnprd01.prod.outlook.com]"))[0];
            Assert.Equal("AccountLocked", f.CauseId);
            Assert.Contains("Auth method: Basic.", f.Evidence, StringComparison.Ordinal);
            Assert.Contains("System.Net.Mail and Send-MailMessage support basic auth only (no XOAUTH2), so the client used basic auth.", f.Evidence, StringComparison.Ordinal);
            Assert.Contains("The client reported 5.7.57 (not authenticated) and embedded the real AUTH error, which is the cause to fix.", f.Evidence, StringComparison.Ordinal);
            Assert.Equal("System.Net.Mail", f.Source);
            Assert.Equal("TY1PR01CA0183.jpnprd01.prod.outlook.com", f.DiagnosticServer);

            // A method given by the caller is kept, and no inference is claimed.
            SmtpAuthFinding given = _resolver.Resolve(new ErrorEvidence("Send-MailMessage : The server response was: 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful, account locked.") { AuthMethod = SmtpAuthMethod.Basic })[0];
            Assert.DoesNotContain("so the client used basic auth", given.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void Text_without_a_method_names_none_and_a_truncated_input_says_how_much_was_read()
        {
            string text = "535 5.7.139 Authentication unsuccessful, account locked. " + new string('x', ReplyParser.MaxInputLength);
            SmtpAuthFinding f = _resolver.Resolve(new ErrorEvidence(text))[0];
            Assert.Equal("AccountLocked", f.CauseId);
            Assert.DoesNotContain("Auth method:", f.Evidence, StringComparison.Ordinal);
            Assert.Contains("Only the first " + ReplyParser.MaxInputLength.ToString(System.Globalization.CultureInfo.InvariantCulture) + " characters of the input were read.", f.Evidence, StringComparison.Ordinal);

            SmtpAuthFinding shortText = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, account locked."))[0];
            Assert.DoesNotContain("Only the first", shortText.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void A_token_claim_the_reply_points_at_is_confirmed_only_after_XOAUTH2()
        {
            const string reply = "535 5.7.3 Authentication unsuccessful [SN4PR0201CA0040.namprd02.prod.outlook.com]";
            IReadOnlyList<SmtpAuthFinding> oauth = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth, TokenClaimsRead = true, TokenIssues = new[] { "TokenExpired" } });
            SmtpAuthFinding expired = oauth[0];
            Assert.Equal("TokenExpired", expired.CauseId);
            Assert.Equal(Verdict.Confirmed, expired.Verdict);
            Assert.Contains("The token's own claims show this problem (read before AUTH), and the server refused the token.", expired.Evidence, StringComparison.Ordinal);

            // Claims not read: nothing is ruled out by them, and nothing confirmed.
            IReadOnlyList<SmtpAuthFinding> unread = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth, TokenIssues = new[] { "TokenExpired" } });
            Assert.Contains(unread, x => x.CauseId == "TokenWrongAudience");
            Assert.Equal(Verdict.Confirmed, unread.Single(x => x.CauseId == "TokenExpired").Verdict);
            IReadOnlyList<SmtpAuthFinding> noIssues = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth });
            Assert.DoesNotContain(noIssues, x => x.Verdict == Verdict.Confirmed);
        }

        [Fact]
        public void Ranks_follow_the_verdicts_after_corroboration()
        {
            SmtpAuthPolicyState s = State(basic: PolicyVerdict.Blocked);
            s.SecurityDefaultsEnabled = true;
            s.BasicAuthBlockedBy = "SecurityDefaultsBlockBasicAuth";
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the organization configuration doesn't allow this authentication request. Contact your administrator.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = s,
            });
            Assert.Equal("SecurityDefaultsBlockBasicAuth", f[0].CauseId);
            Assert.Equal(Verdict.Confirmed, f[0].Verdict);
            Assert.Equal(Enumerable.Range(1, f.Count), f.Select(x => x.Rank));
            Assert.Equal(f.Select(x => EvidenceCorroborator.Order(x.Verdict)).OrderBy(o => o), f.Select(x => EvidenceCorroborator.Order(x.Verdict)));
        }
        // --- The reply under System.Net.Mail's 5.7.57 that no specific entry knows ---

        [Theory]
        [InlineData("Error: 535 Incorrect authentication data", 535, null)]          // Exim, no enhanced code
        [InlineData("Error: 535 5.7.0 Sorry, go away", 535, "5.7.0")]                 // words no entry knows
        public void The_embedded_reply_is_the_cause_even_when_only_its_generic_reading_fits(string tail, int code, string? enhanced)
        {
            string text = "System.Net.Mail.SmtpException: The SMTP server requires a secure connection or the client was not authenticated. The server response was: 5.7.57 Client not authenticated to send mail. " + tail;

            ParsedError parsed = ReplyParser.Parse(text);
            ParsedReply inner = Assert.Single(parsed.Replies, r => r.IsEmbedded);
            Assert.Equal(code, inner.ReplyCode);
            Assert.Equal(enhanced, inner.EnhancedStatusCode);

            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(text));
            Assert.Equal("InvalidCredentials", f[0].CauseId);
            Assert.Equal(Verdict.Likely, f[0].Verdict);
            Assert.Equal(code, f[0].ReplyCode);
            SmtpAuthFinding wrapper = Assert.Single(f, x => x.CauseId == "NotAuthenticated");
            Assert.Equal(Verdict.Possible, wrapper.Verdict);
        }

        [Fact]
        public void A_bare_code_elsewhere_in_a_text_with_codes_is_not_read_as_a_reply()
        {
            // Only the "Error:" marker makes a code without an enhanced code a reply when other replies were found.
            ParsedError parsed = ReplyParser.Parse("535 5.7.3 Authentication unsuccessful; retried 535 times");
            Assert.Single(parsed.Replies);
        }
    }
}
