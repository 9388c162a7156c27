using System;
using System.Collections.Generic;
using System.Linq;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>Issue 10: verdicts that hold. Confirmed only on decisive evidence; facts that decide nothing are shown.</summary>
    public class VerdictRuleTests
    {
        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        private readonly SmtpAuthErrorResolver _resolver = new SmtpAuthErrorResolver(clock: () => Now);

        // A state built by hand, as Get-SmtpAuthPolicyState returns it: SMTP AUTH on, nothing else blocking.
        private static SmtpAuthPolicyState State(string perUserMfa = "disabled") => new SmtpAuthPolicyState
        {
            UserPrincipalName = "app@contoso.com",
            PrimarySmtpAddress = "app@contoso.com",
            RecipientTypeDetails = "UserMailbox",
            TenantSmtpAuthDisabled = false,
            MailboxSmtpAuthDisabled = null,
            SmtpAuthEnabled = true,
            SmtpAuthDecidedBy = "Tenant",
            AuthenticationPolicySource = "None",
            SecurityDefaultsEnabled = false,
            ConditionalAccessEvaluatedBy = "Local",
            PerUserMfaState = perUserMfa,
            AccountEnabled = true,
            SmtpSignInCount = 0,
            ReadUtc = Now.UtcDateTime,
        };

        [Fact]
        public void Per_user_MFA_enabled_is_not_a_confirmed_cause_and_not_a_block()
        {
            // Microsoft: an "enabled" user "can still use their password for legacy authentication".
            // (Issue 11: this used to assert "not Confirmed" on a security-defaults reply, which has no MfaRequired
            // candidate at all, so it could not fail. The reply below does name MfaRequired, and "enforced" confirms it.)
            IReadOnlyList<SmtpAuthFinding> enforced = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = State("enforced"),
            });
            Assert.Equal(Verdict.Confirmed, enforced.First(x => x.CauseId == "MfaRequired").Verdict);

            IReadOnlyList<SmtpAuthFinding> mfa = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = State("enabled"),
            });
            SmtpAuthFinding? m = mfa.FirstOrDefault(x => x.CauseId == "MfaRequired");
            Assert.NotNull(m);
            // The catalog's own verdict for this reply (Likely since catalog 2026.12.02.2), neither raised nor ruled out.
            Assert.Equal(Verdict.Likely, m!.Verdict);
            Assert.Contains("enabled but not enforced", m.Evidence, StringComparison.Ordinal);

            SmtpAuthPolicyState evaluated = Policy.PolicyEvaluator.Evaluate(
                new Policy.TenantPolicyData { TransportRead = true, SmtpAuthDisabled = false, OrganizationRead = true, SecurityDefaultsEnabled = false, ConditionalAccessPolicies = new List<Policy.ConditionalAccessPolicy>() },
                new Policy.MailboxPolicyData { UserPrincipalName = "app@contoso.com", RecipientTypeDetails = "UserMailbox", ExternalDirectoryObjectId = "1", CasRead = true, UserRead = true, AccountEnabled = true, PerUserMfaState = "enabled", GroupIds = new HashSet<string>(), RoleTemplateIds = new HashSet<string>() },
                Now.UtcDateTime);
            Assert.Equal(PolicyVerdict.Allowed, evaluated.BasicAuthVerdict); // everything else read and allowing: "enabled" decides nothing
            Assert.Null(evaluated.BasicAuthBlockedBy);
        }

        [Fact]
        public void The_criteria_reply_alone_names_both_Entra_refusals_as_likely_MFA_first()
        {
            // Entra gives "did not meet the criteria" for MFA required (50076/50079) and for a Conditional Access block of
            // legacy authentication (53003); Microsoft's Dynamics 365 email troubleshooting names MFA. The text cannot tell
            // them apart, so both are Likely and neither is Confirmed; the sign-in log's code decides.
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
            });
            Assert.Equal(new[] { "MfaRequired", "ConditionalAccessBlocksLegacyAuth" }, f.Take(2).Select(x => x.CauseId));
            Assert.All(f.Take(2), x => Assert.Equal(Verdict.Likely, x.Verdict));
            Assert.DoesNotContain(f, x => x.Verdict == Verdict.Confirmed);
        }

        [Fact]
        public void Per_user_MFA_enforced_confirms_MfaRequired_and_blocks_basic_auth()
        {
            IReadOnlyList<SmtpAuthFinding> mfa = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = State("enforced"),
            });
            Assert.Equal(Verdict.Confirmed, mfa.First(x => x.CauseId == "MfaRequired").Verdict);

            SmtpAuthPolicyState evaluated = Policy.PolicyEvaluator.Evaluate(
                new Policy.TenantPolicyData { TransportRead = true, SmtpAuthDisabled = false, OrganizationRead = true, SecurityDefaultsEnabled = false, ConditionalAccessPolicies = new List<Policy.ConditionalAccessPolicy>() },
                new Policy.MailboxPolicyData { UserPrincipalName = "app@contoso.com", RecipientTypeDetails = "UserMailbox", ExternalDirectoryObjectId = "1", CasRead = true, UserRead = true, AccountEnabled = true, PerUserMfaState = "enforced", GroupIds = new HashSet<string>(), RoleTemplateIds = new HashSet<string>() },
                Now.UtcDateTime);
            Assert.Equal(PolicyVerdict.Blocked, evaluated.BasicAuthVerdict);
            Assert.Contains("MfaRequired", evaluated.BasicAuthBlockedBy, StringComparison.Ordinal);
        }

        [Fact]
        public void Sign_in_code_50034_suggests_the_user_name_and_confirms_nothing()
        {
            SmtpAuthPolicyState s = State();
            s.LastSmtpSignInErrorCode = 50034;
            s.LastSmtpSignInUtc = Now.UtcDateTime.AddMinutes(-5);
            s.SmtpSignInCount = 1;
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, the user credentials were incorrect.")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = s,
            });
            // Microsoft: "This error can occur because the user mis-typed their username, or isn't in the tenant" (two
            // reasons, so a lead, not a proof of an alias in place of the UPN).
            SmtpAuthFinding upn = f.Single(x => x.CauseId == "UserNameNotUpn");
            Assert.Contains("failed with 50034, which fits this cause but does not prove it", upn.Evidence, StringComparison.Ordinal);
            Assert.DoesNotContain(f, x => x.Verdict == Verdict.Confirmed);
        }

        [Fact]
        public void The_no_Authenticated_SMTP_sign_in_remark_is_for_basic_auth_only()
        {
            const string reply = "535 5.7.3 Authentication unsuccessful [SN4PR0201CA0040.namprd02.prod.outlook.com]";
            IReadOnlyList<SmtpAuthFinding> oauth = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth, PolicyState = State() });
            Assert.DoesNotContain(oauth, x => x.Evidence.Contains("Authenticated SMTP sign-in", StringComparison.Ordinal));

            IReadOnlyList<SmtpAuthFinding> basic = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.Basic, PolicyState = State() });
            Assert.Contains("No Authenticated SMTP sign-in", basic[0].Evidence, StringComparison.Ordinal);
        }
            [Fact]
        public void A_successful_basic_auth_probe_gets_an_advisory_not_a_failure_verdict()
        {
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, ExchangeOnlineEndpoint = true, AuthMethod = SmtpAuthMethod.Basic });
            SmtpAuthFinding retired = Assert.Single(f);
            Assert.Equal("BasicAuthRetired", retired.CauseId);
            Assert.Equal(Verdict.Advisory, retired.Verdict);
            Assert.Contains("From the end of December 2026", retired.Evidence, StringComparison.Ordinal);

            // The dates and their wording are catalog data: after the cut-off the other wording applies.
            var later = new SmtpAuthErrorResolver(clock: () => new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero));
            SmtpAuthFinding after = Assert.Single(later.Resolve(new ErrorEvidence(string.Empty) { ProbeSucceeded = true, ExchangeOnlineEndpoint = true, AuthMethod = SmtpAuthMethod.Basic }));
            Assert.Contains("disables by default for existing tenants from the end of December 2026", after.Evidence, StringComparison.Ordinal);
            Assert.Contains("or because the change has not reached this tenant yet", after.Evidence, StringComparison.Ordinal);
            Assert.Equal(2, Knowledge.ErrorCatalog.Embedded.Advisories["BasicAuthStillWorks"].Variants.Count);
        }

        [Fact]
        public void A_reply_the_settings_contradict_is_a_SettingsConflict_with_both_sides()
        {
            SmtpAuthPolicyState s = State();
            s.TenantSmtpAuthDisabled = true;
            s.MailboxSmtpAuthDisabled = false;
            s.SmtpAuthEnabled = true;
            s.SmtpAuthDecidedBy = "Mailbox";
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM]")
            {
                AuthMethod = SmtpAuthMethod.Basic,
                PolicyState = s,
            });
            SmtpAuthFinding conflict = f.First(x => x.CauseId == "SettingsConflict");
            Assert.Equal(Verdict.Likely, conflict.Verdict);
            Assert.Contains("TenantSmtpAuthDisabled", conflict.Evidence, StringComparison.Ordinal);
            Assert.Contains("mailbox's own SmtpClientAuthenticationDisabled", conflict.Evidence, StringComparison.Ordinal);
            Assert.Contains("less than an hour ago", conflict.Evidence, StringComparison.Ordinal);
            Assert.Equal(Verdict.RuledOut, f.First(x => x.CauseId == "TenantSmtpAuthDisabled").Verdict);
            Assert.True(f.ToList().IndexOf(conflict) < f.ToList().FindIndex(x => x.CauseId == "TenantSmtpAuthDisabled"));
        }

        [Fact]
        public void After_XOAUTH2_the_causes_the_token_rules_out_are_not_listed()
        {
            const string reply = "535 5.7.3 Authentication unsuccessful [SN4PR0201CA0040.namprd02.prod.outlook.com]";
            IReadOnlyList<SmtpAuthFinding> unread = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth });
            Assert.Contains(unread, x => x.CauseId == "TokenExpired");

            IReadOnlyList<SmtpAuthFinding> read = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth, TokenClaimsRead = true, TokenIssues = new[] { "TokenMissingPermission" } });
            Assert.DoesNotContain(read, x => x.CauseId is "TokenExpired" or "TokenWrongAudience" or "TokenUserMismatch");
            Assert.Equal(Verdict.Confirmed, read.First(x => x.CauseId == "TokenMissingPermission").Verdict);
            Assert.Contains(read, x => x.CauseId == "ServicePrincipalNotRegistered");
        }

        [Fact]
        public void A_token_for_another_user_than_AUTH_names_is_never_Confirmed()
        {
            // Exchange Online takes a user's delegated token with user= naming a shared mailbox that user has FullAccess to
            // (Microsoft's OAuth page for IMAP, POP and SMTP): the claims alone cannot decide, so the reading stays Likely.
            const string reply = "535 5.7.3 Authentication unsuccessful [SN4PR0201CA0040.namprd02.prod.outlook.com]";
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(reply) { AuthMethod = SmtpAuthMethod.OAuth, TokenClaimsRead = true, TokenIssues = new[] { "TokenUserMismatch" } });
            SmtpAuthFinding mismatch = f.First(x => x.CauseId == "TokenUserMismatch");
            Assert.Equal(Verdict.Likely, mismatch.Verdict);
            Assert.Contains("shared mailbox this user has FullAccess to", mismatch.Evidence, StringComparison.Ordinal);
            Assert.DoesNotContain(f, x => x.Verdict == Verdict.Confirmed);
        }
            [Fact]
        public void A_pre_flight_always_answers_what_is_fine_what_was_not_read_and_the_dated_note()
        {
            SmtpAuthPolicyState fine = State();
            fine.BasicAuthVerdict = PolicyVerdict.Allowed;
            fine.OAuthVerdict = PolicyVerdict.Allowed;
            fine.UnknownReasons = "Per-user MFA: UserAuthenticationMethod.Read.All not granted.";
            fine.SmtpSignInCount = 12;
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(string.Empty) { PolicyState = fine });
            SmtpAuthFinding none = f.First(x => x.CauseId == "NoBlockingSetting");
            Assert.Equal(Verdict.Advisory, none.Verdict);
            Assert.Contains("SMTP AUTH is on", none.Evidence, StringComparison.Ordinal);
            Assert.Contains("security defaults are off", none.Evidence, StringComparison.Ordinal);
            Assert.Contains("Not read: Per-user MFA", none.Evidence, StringComparison.Ordinal);
            SmtpAuthFinding note = f.First(x => x.CauseId == "BasicAuthRetired");
            Assert.Equal(Verdict.Advisory, note.Verdict);
            Assert.StartsWith("12 Authenticated SMTP (basic) sign-ins", note.Evidence, StringComparison.Ordinal);
        }

        [Fact]
        public void A_pre_flight_uses_the_sign_in_evidence_the_state_carries()
        {
            SmtpAuthPolicyState locked = State();
            locked.BasicAuthVerdict = PolicyVerdict.Allowed;
            locked.OAuthVerdict = PolicyVerdict.Allowed;
            locked.LastSmtpSignInErrorCode = 50053;
            locked.LastSmtpSignInUtc = Now.UtcDateTime.AddMinutes(-3);
            locked.SmtpSignInCount = 4;
            IReadOnlyList<SmtpAuthFinding> f = _resolver.Resolve(new ErrorEvidence(string.Empty) { PolicyState = locked });
            // 50053 is a lockout or an IP address with malicious activity (Microsoft gives both): Possible, not Likely.
            Assert.Equal("AccountLocked", f[0].CauseId);
            Assert.Equal(Verdict.Possible, f[0].Verdict);
            Assert.Contains("failed with 50053, which fits this cause but does not prove it", f[0].Evidence, StringComparison.Ordinal);

            SmtpAuthPolicyState expired = State();
            expired.LastSmtpSignInErrorCode = 50144;
            expired.LastSmtpSignInUtc = locked.LastSmtpSignInUtc;
            SmtpAuthFinding e = _resolver.Resolve(new ErrorEvidence(string.Empty) { PolicyState = expired })[0];
            Assert.Equal("PasswordExpired", e.CauseId);
            Assert.Equal(Verdict.Likely, e.Verdict);
            Assert.DoesNotContain(f, x => x.CauseId == "NoBlockingSetting");
        }
    }
}
