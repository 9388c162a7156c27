using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using SmtpAuthTroubleshooter.Engine.Knowledge;

namespace SmtpAuthTroubleshooter.Engine.Diagnosis
{
    /// <summary>
    /// Turns candidate causes into Confirmed or RuledOut with the tenant's settings (a policy state) and the Entra
    /// sign-in log (https://learn.microsoft.com/entra/identity-platform/reference-error-codes https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/authenticated-client-smtp-submission). Pure. The rule of evidence: the server's reply plus an independent fact
    /// that explains it is Confirmed; a fact that excludes it is RuledOut; anything else keeps the catalog's verdict.
    /// </summary>
    internal static class EvidenceCorroborator
    {

        /// <summary>Applies the state to findings (in place) and returns them re-ranked.</summary>
        public static List<SmtpAuthFinding> Apply(List<SmtpAuthFinding> findings, SmtpAuthPolicyState state, SmtpAuthMethod method, DateTimeOffset? probeStartedUtc)
            => Apply(findings, state, method, probeStartedUtc, null);

        /// <summary>As above; <paramref name="conflict"/> makes the SettingsConflict finding for a reply the settings contradict.</summary>
        public static List<SmtpAuthFinding> Apply(List<SmtpAuthFinding> findings, SmtpAuthPolicyState state, SmtpAuthMethod method, DateTimeOffset? probeStartedUtc, Func<SmtpAuthFinding, string, SmtpAuthFinding>? conflict)
            => Apply(findings, state, method, probeStartedUtc, conflict, ErrorCatalog.Embedded);

        /// <summary>As above, with the corroboration rules and sign-in codes of <paramref name="catalog"/>.</summary>
        public static List<SmtpAuthFinding> Apply(List<SmtpAuthFinding> findings, SmtpAuthPolicyState state, SmtpAuthMethod method, DateTimeOffset? probeStartedUtc, Func<SmtpAuthFinding, string, SmtpAuthFinding>? conflict, ErrorCatalog catalog)
            => Apply(findings, state, method, probeStartedUtc, conflict, catalog, null);

        /// <summary>
        /// As above; <paramref name="create"/> makes the finding of a cause a rule names as the reply's explanation
        /// ("explainedBy"), when the reply did not name it.
        /// </summary>
        public static List<SmtpAuthFinding> Apply(List<SmtpAuthFinding> findings, SmtpAuthPolicyState state, SmtpAuthMethod method, DateTimeOffset? probeStartedUtc, Func<SmtpAuthFinding, string, SmtpAuthFinding>? conflict, ErrorCatalog catalog, Func<string, SmtpAuthFinding>? create)
        {
            var contradicted = new List<(SmtpAuthFinding Finding, string? Why)>();
            var explanations = new List<string>();
            foreach (SmtpAuthFinding f in findings)
            {
                if (catalog.Corroboration.ExplainedBy(f.CauseId, state, method) is string instead && f.Verdict != Verdict.RuledOut)
                {
                    explanations.Add(instead);
                }
            }

            if (create is not null)
            {
                foreach (string causeId in explanations.Distinct(StringComparer.Ordinal).Where(id => !findings.Any(x => x.CauseId == id)).ToList())
                {
                    SmtpAuthFinding added = create(causeId);
                    added.Verdict = Verdict.Likely;
                    findings.Add(added);
                }
            }

            foreach (SmtpAuthFinding f in findings)
            {
                (Verdict? verdict, string? why) = Judge(catalog, f.CauseId, state, method);
                (Verdict? signInVerdict, string? signInWhy) = JudgeSignIn(catalog, f.CauseId, state);
                if (signInVerdict == Verdict.Confirmed && verdict != Verdict.RuledOut)
                {
                    verdict = Verdict.Confirmed;
                    why = why is null ? signInWhy : why + " " + signInWhy;
                }
                else if (signInVerdict is null && signInWhy is not null)
                {
                    // A suggest-only code: shown as evidence, never a verdict.
                    why = why is null ? signInWhy : why + " " + signInWhy;
                }

                if (verdict is Verdict v)
                {
                    if (v == Verdict.RuledOut && f.Verdict == Verdict.Likely && !string.IsNullOrEmpty(f.CatalogEntry)
                        && catalog.Corroboration.ExplainedBy(f.CauseId, state, method) is null)
                    {
                        // The server's own words name this cause and the settings say otherwise: both are shown
                        // (a SettingsConflict finding), not the reply silently dropped (issue 10).
                        contradicted.Add((f, why));
                    }

                    f.Verdict = v;
                }

                // A fact that decides nothing (per-user MFA "enabled") is still shown, not hidden.
                f.Evidence = Join(f.Evidence, why);
            }

            // A reply that names more than one reading (the "did not meet the criteria" text is Conditional Access or MFA)
            // is not contradicted while another of its readings still stands: the settings then choose, they do not disagree.
            contradicted.RemoveAll(c => findings.Any(o => !ReferenceEquals(o, c.Finding) && o.CatalogEntry == c.Finding.CatalogEntry
                && (o.Verdict == Verdict.Confirmed || o.Verdict == Verdict.Likely)));
            if (conflict is not null && contradicted.Count > 0 && !findings.Any(x => x.CauseId == CauseIds.SettingsConflict))
            {
                (SmtpAuthFinding first, string? why) = contradicted[0];
                findings.Add(conflict(first, why ?? string.Empty));
            }

            if (method == SmtpAuthMethod.OAuth)
            {
                // Authenticated SMTP sign-ins are basic-auth sign-ins; an app's XOAUTH2 token is not one, so their
                // absence or lag says nothing here.
            }
            else if (state.LastSmtpSignInUtc is DateTime last && probeStartedUtc is DateTimeOffset started && last < started.UtcDateTime && findings.Count > 0)
            {
                findings[0].Evidence = Join(findings[0].Evidence, string.Format(CultureInfo.InvariantCulture,
                    "The probe's own sign-in is not yet in the sign-in log (the latest Authenticated SMTP sign-in is from {0:u}); sign-in logs lag by minutes.", last));
            }
            else if (state.SmtpSignInCount == 0 && findings.Count > 0)
            {
                findings[0].Evidence = Join(findings[0].Evidence, "No Authenticated SMTP sign-in is in the log for the look-back window (yet).");
            }

            return Rank(findings);
        }

        /// <summary>
        /// Puts findings in verdict order (Confirmed first, RuledOut last), keeping the catalog order within a verdict. A
        /// ruled-out cause carries no fix command: a runbook that collects RemediationCommand must not run the fix of a
        /// cause the evidence excludes (its remediation text stays, for reading).
        /// </summary>
        public static List<SmtpAuthFinding> Rank(List<SmtpAuthFinding> findings)
        {
            List<SmtpAuthFinding> ordered = findings.Select((f, i) => (f, i)).OrderBy(x => Order(x.f.Verdict)).ThenBy(x => x.i).Select(x => x.f).ToList();
            for (int i = 0; i < ordered.Count; i++)
            {
                ordered[i].Rank = i + 1;
                if (ordered[i].Verdict == Verdict.RuledOut && ordered[i].RemediationCommand is not null)
                {
                    ordered[i].RemediationCommand = null;
                    ordered[i].Remediation = SmtpAuthErrorResolver.WithoutAnyPlaceholderNote(ordered[i].Remediation);
                }
            }

            return ordered;
        }

        /// <summary>The rank order of verdicts: Confirmed, Likely, Possible, Advisory, RuledOut.</summary>
        internal static int Order(Verdict verdict) => verdict switch
        {
            Verdict.Advisory => 3,
            Verdict.RuledOut => 4,
            _ => (int)verdict,
        };

        /// <summary>What the settings say about one cause: Confirmed, RuledOut, or nothing (the embedded catalog's rules).</summary>
        internal static (Verdict? Verdict, string? Why) Judge(string causeId, SmtpAuthPolicyState s, SmtpAuthMethod method)
            => Judge(ErrorCatalog.Embedded, causeId, s, method);

        /// <summary>
        /// What the settings say about one cause, from <paramref name="catalog"/>'s corroboration rules: the first rule of
        /// that cause whose condition holds gives Confirmed or RuledOut with its text, or a note (no verdict, a text);
        /// no rule gives nothing.
        /// </summary>
        internal static (Verdict? Verdict, string? Why) Judge(ErrorCatalog catalog, string causeId, SmtpAuthPolicyState s, SmtpAuthMethod method)
            => catalog.Corroboration.Judge(causeId, s, method);

        private static (Verdict? Verdict, string? Why) JudgeSignIn(ErrorCatalog catalog, string causeId, SmtpAuthPolicyState s)
        {
            // Entra sign-in error codes and the causes they point at: the catalog's signInCodes table (data). Only a decisive
            // code confirms; a suggest-only one (Microsoft gives it more than one reason) is a note, never a verdict.
            if (s.LastSmtpSignInErrorCode is int code && catalog.SignInCodeTable.TryGetValue(code, out SignInCode? known) && known.CauseId == causeId)
            {
                string ca = string.IsNullOrEmpty(s.LastSmtpSignInConditionalAccess) ? string.Empty : " (" + s.LastSmtpSignInConditionalAccess + ")";
                if (known.Decisive)
                {
                    return (Verdict.Confirmed, string.Format(CultureInfo.InvariantCulture, "Sign-in log: the latest Authenticated SMTP sign-in ({0:u}) failed with {1}{2}.",
                        s.LastSmtpSignInUtc, code, ca));
                }

                return (null, string.Format(CultureInfo.InvariantCulture,
                    "Sign-in log: the latest Authenticated SMTP sign-in ({0:u}) failed with {1}{2}, which fits this cause but does not prove it: Microsoft's meaning is \"{3}\" ({4}).",
                    s.LastSmtpSignInUtc, code, ca, known.Meaning.TrimEnd('.'), known.Source));
            }

            return (null, null);
        }

        /// <summary>
        /// The pre-flight: what will fail for basic auth and for OAuth, from the settings alone (no error text).
        /// Every blocking setting becomes a Likely finding for its auth method.
        /// </summary>
        public static List<SmtpAuthFinding> Predict(SmtpAuthPolicyState s, ErrorCatalog catalog, Func<string, SmtpAuthFinding> create)
        {
            var findings = new List<SmtpAuthFinding>();
            void Add(IReadOnlyList<string> blockedBy, string method)
            {
                foreach (string id in blockedBy)
                {
                    if (!catalog.Causes.ContainsKey(id))
                    {
                        continue;
                    }

                    SmtpAuthFinding? existing = findings.FirstOrDefault(f => f.CauseId == id);
                    if (existing is not null)
                    {
                        existing.Evidence += " It blocks " + method + " too.";
                        continue;
                    }

                    SmtpAuthFinding f = create(id);
                    f.Verdict = Verdict.Likely;
                    f.Evidence = "Pre-flight: the settings say " + method + " will fail. " + (Judge(catalog, id, s, method == "OAuth" ? SmtpAuthMethod.OAuth : SmtpAuthMethod.Basic).Why ?? string.Empty);
                    findings.Add(f);
                }
            }

            Add(s.BasicAuthBlockers, "basic auth");
            Add(s.OAuthBlockers, "OAuth");

            // The sign-in log's own answer (50055 expired password, 50126 wrong password ...): a decisive code makes its
            // cause Likely; a suggest-only one (50053 is a lockout or a malicious IP) only Possible, and says why.
            if (s.LastSmtpSignInErrorCode is int code && catalog.SignInCodeTable.TryGetValue(code, out SignInCode? known) &&
                known.CauseId is string signInCause && catalog.Causes.ContainsKey(signInCause) && findings.All(f => f.CauseId != signInCause))
            {
                SmtpAuthFinding f = create(signInCause);
                string reason = string.IsNullOrEmpty(s.LastSmtpSignInFailureReason) ? string.Empty : " (" + s.LastSmtpSignInFailureReason + ")";
                if (known.Decisive)
                {
                    f.Verdict = Verdict.Likely;
                    f.Evidence = string.Format(CultureInfo.InvariantCulture,
                        "Sign-in log: the latest Authenticated SMTP sign-in ({0:u}) failed with {1}{2}; the next basic-auth attempt is likely to fail the same way.",
                        s.LastSmtpSignInUtc, code, reason);
                }
                else
                {
                    f.Verdict = Verdict.Possible;
                    f.Evidence = string.Format(CultureInfo.InvariantCulture,
                        "Sign-in log: the latest Authenticated SMTP sign-in ({0:u}) failed with {1}{2}, which fits this cause but does not prove it: Microsoft's meaning is \"{3}\" ({4}).",
                        s.LastSmtpSignInUtc, code, reason, known.Meaning.TrimEnd('.'), known.Source);
                }

                findings.Add(f);
            }

            // Always an answer (issue 10): when nothing blocks, say what was read and found fine, and what was not read.
            if (findings.Count == 0 && catalog.Causes.ContainsKey(CauseIds.NoBlockingSetting))
            {
                SmtpAuthFinding fine = create(CauseIds.NoBlockingSetting);
                fine.Verdict = Verdict.Advisory;
                var read = new List<string>();
                if (s.SmtpAuthEnabled == true)
                {
                    read.Add("SMTP AUTH is on (decided by the " + (s.SmtpAuthDecidedBy ?? "organization").ToLowerInvariant() + " setting)");
                }

                if (s.AllowBasicAuthSmtp != false && s.AuthenticationPolicySource is not null)
                {
                    read.Add(s.AuthenticationPolicySource == "None" ? "no authentication policy applies" : "authentication policy '" + s.AuthenticationPolicy + "' allows basic SMTP");
                }

                if (s.SecurityDefaultsEnabled == false)
                {
                    read.Add("security defaults are off");
                }

                if (s.ConditionalAccessEvaluatedBy is not null && string.IsNullOrEmpty(s.BlockingConditionalAccessPolicies))
                {
                    read.Add("no Conditional Access policy blocks it");
                }

                if (s.AccountEnabled == true)
                {
                    read.Add("the account is enabled");
                }

                fine.Evidence = "Pre-flight: basic auth " + s.BasicAuthVerdict + ", OAuth " + s.OAuthVerdict + ". Read and found fine: " +
                    (read.Count == 0 ? "nothing decisive" : string.Join("; ", read)) + "." +
                    (string.IsNullOrEmpty(s.UnknownReasons) ? " Everything needed was read." : " Not read: " + s.UnknownReasons);
                findings.Add(fine);
            }

            return findings;
        }

        private static string Join(string a, string? b) => string.IsNullOrEmpty(b) ? a : (a.Length == 0 ? b! : a + " " + b);
    }
}
