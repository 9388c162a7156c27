using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using SmtpAuthTroubleshooter.Engine.Knowledge;

namespace SmtpAuthTroubleshooter.Engine.Diagnosis
{
    /// <summary>
    /// Turns error evidence into ranked findings: parse the text, match the catalog
    /// on the most specific reply first, and order causes by verdict. Text alone never yields Confirmed:
    /// that needs a second, independent source (a setting, a sign-in record, a token claim).
    /// </summary>
    public sealed class SmtpAuthErrorResolver
    {
        private readonly ErrorCatalog _catalog;
        private readonly Func<DateTimeOffset> _clock;

        /// <summary>Creates a resolver over a catalog (default: the embedded one) and a clock (default: now).</summary>
        public SmtpAuthErrorResolver(ErrorCatalog? catalog = null, Func<DateTimeOffset>? clock = null)
        {
            _catalog = catalog ?? ErrorCatalog.Embedded;
            _clock = clock ?? (() => DateTimeOffset.UtcNow);
        }

        /// <summary>The catalog in use.</summary>
        public ErrorCatalog Catalog => _catalog;

        /// <summary>Resolves evidence into findings, most likely first. Never throws for any text.</summary>
        public IReadOnlyList<SmtpAuthFinding> Resolve(ErrorEvidence evidence)
        {
            if (evidence is null)
            {
                throw new ArgumentNullException(nameof(evidence));
            }

            if (evidence.ProbeSucceeded)
            {
                return Succeeded(evidence);
            }

            if (string.IsNullOrWhiteSpace(evidence.Text) && evidence.PolicyState is SmtpAuthPolicyState preflight)
            {
                List<SmtpAuthFinding> predicted = EvidenceCorroborator.Predict(preflight, _catalog, id => FromCause(id, evidence, _clock()));
                // Basic auth still in use (Authenticated SMTP sign-ins in the window) and not blocked: the dated note.
                if (preflight.BasicAuthVerdict != PolicyVerdict.Blocked && preflight.SmtpSignInCount > 0 &&
                    RetirementAdvisory(new ErrorEvidence(string.Empty) { UserPrincipalName = evidence.UserPrincipalName, PolicyState = preflight }, _clock()) is SmtpAuthFinding note)
                {
                    note.Evidence = string.Format(CultureInfo.InvariantCulture, "{0} Authenticated SMTP (basic) sign-ins for this mailbox in the look-back window. ", preflight.SmtpSignInCount) + note.Evidence;
                    predicted.Add(note);
                }

                return EvidenceCorroborator.Rank(predicted);
            }

            ParsedError parsed = ReplyParser.Parse(evidence.Text);
            // A reply from another server (a probe of another host, or the server's own words in the text) gets that
            // server's fix and never a generic guess at an Exchange Online setting.
            if (OtherServerOf(evidence, parsed) is ReplyServer other)
            {
                evidence = evidence.WithOtherServer(other);
            }

            // Entries that name a SASL mechanism (mechanisms / exceptMechanisms) apply only to a text that shows it.
            List<CatalogEntry> entries = _catalog.Entries.Where(e => e.AppliesToMechanism(parsed.Mechanism)).ToList();
            SmtpAuthMethod method = evidence.AuthMethod != SmtpAuthMethod.Unknown ? evidence.AuthMethod : parsed.AuthMethodHint;
            bool inferredBasic = false;
            if (method == SmtpAuthMethod.Unknown && string.Equals(parsed.Source, "System.Net.Mail", StringComparison.Ordinal))
            {
                // System.Net.Mail and Send-MailMessage have no XOAUTH2 (https://learn.microsoft.com/exchange/mail-flow-best-practices/fix-issues-with-printers-scanners-and-lob-applications-that-send-email-using-off https://github.com/dotnet/platform-compat/blob/master/docs/DE0005.md, DE0005): they only do basic auth.
                method = SmtpAuthMethod.Basic;
                inferredBasic = true;
            }

            ParsedReply? primary = parsed.Replies.Count > 0 ? parsed.Replies[0] : null;
            DateTimeOffset? stamped = parsed.Replies.Select(r => r.DiagnosticTimestamp).FirstOrDefault(t => t.HasValue);
            DateTimeOffset when = evidence.ObservedUtc ?? stamped ?? _clock();
            string basis = evidence.ObservedUtc is not null ? "when it was observed" : stamped is not null ? "the time in the reply's diagnostic tail" : "today; no date came with the text";

            var candidates = new List<Candidate>();
            int order = 0;
            var matchedEmbedded = new HashSet<ParsedReply>();
            // A client that printed the server's words without their codes ("SmtpCommandException: Must issue a STARTTLS
            // command first"): the reply entries still read the text, as a reply whose codes are unknown.
            bool codeless = parsed.Replies.Count == 0;
            IEnumerable<ParsedReply> replies = codeless ? new[] { ParsedReply.WithoutCodes(parsed.Text) } : parsed.Replies;
            foreach (ParsedReply reply in replies)
            {
                // A wrapper (System.Net.Mail's 5.7.57) whose embedded reply matched is a symptom: demote its causes.
                bool symptom = reply.Embedded is not null && matchedEmbedded.Contains(reply.Embedded);
                Tier tier = codeless ? Tier.Text : reply.IsEmbedded ? Tier.Embedded : symptom ? Tier.Symptom : Tier.Reply;
                bool matched = false;
                foreach (CatalogEntry entry in entries)
                {
                    // An entry that the codes alone decide needs the codes.
                    if (codeless && entry.CodesOnly)
                    {
                        continue;
                    }

                    if (entry.Scope == EntryScope.Reply && Matches(entry, reply))
                    {
                        Add(candidates, entry, reply, method, tier, ref order);
                        matched = true;
                    }
                }

                // The reply under a wrapper (System.Net.Mail's "... Error: 535 Incorrect authentication data") is the real
                // cause even when no specific entry knows its words: its generic reading (a 535 from any server) counts,
                // and the wrapper becomes its symptom. The fallback pass below only runs when nothing matched at all, and
                // the wrapper's own 5.7.57 always matches.
                if (!matched && reply.IsEmbedded && reply.ReplyCode.HasValue)
                {
                    foreach (CatalogEntry entry in entries.Where(e => e.Scope == EntryScope.Fallback && (e.ReplyCodes.Count > 0 || e.EnhancedCodes.Count > 0)))
                    {
                        if (Matches(entry, reply))
                        {
                            Add(candidates, entry, reply, method, tier, ref order);
                            matched = true;
                        }
                    }
                }

                if (matched && reply.IsEmbedded)
                {
                    matchedEmbedded.Add(reply);
                }
            }

            // "530 5.7.57 Client not authenticated" is what a client gets for MAIL FROM after its AUTH failed: when
            // another reply in the same text says why the AUTH failed (451 4.7.0 in response to AUTH, a 535 ...), that
            // reply is the cause and the 5.7.57 its symptom.
            DemoteNotAuthenticatedSymptom(candidates);

            // Client-library text (no SMTP reply) counts less than a reply the server actually sent.
            bool replyMatched = candidates.Count > 0;
            string[] textForms = TextForms(parsed.Text);
            foreach (CatalogEntry entry in entries)
            {
                if (entry.Scope == EntryScope.Text && textForms.Any(t => ReplyParser.SafeIsMatch(entry.Pattern, t)))
                {
                    Add(candidates, entry, primary, method, replyMatched ? Tier.Symptom : Tier.Text, ref order);
                }
            }

            // Generic readings (a 535 from any server, "authentication failed" from any client), only when nothing
            // specific matched.
            if (candidates.Count == 0)
            {
                foreach (CatalogEntry entry in entries.Where(e => e.Scope == EntryScope.Fallback))
                {
                    ParsedReply? reply = entry.ReplyCodes.Count > 0 || entry.EnhancedCodes.Count > 0
                        ? parsed.Replies.FirstOrDefault(r => !r.IsEmbedded && r.ReplyCode.HasValue && Matches(entry, r))
                        : null;
                    if (reply is not null || (entry.ReplyCodes.Count == 0 && entry.EnhancedCodes.Count == 0 && textForms.Any(t => ReplyParser.SafeIsMatch(entry.Pattern, t))))
                    {
                        Add(candidates, entry, reply ?? primary, method, Tier.Text, ref order);
                    }
                }
            }

            ConfirmFromTokenClaims(candidates, evidence, method);
            candidates.RemoveAll(c => RuledOutByToken(c.Cause.Id, evidence, method));

            List<SmtpAuthFinding> findings = new List<SmtpAuthFinding>();
            if (candidates.Count == 0)
            {
                findings.Add(Unrecognized(parsed, primary, evidence));
            }
            else
            {
                IEnumerable<Candidate> best = candidates
                    .GroupBy(c => c.Cause.Id, StringComparer.Ordinal)
                    .Select(g => g.OrderBy(c => c.Verdict).ThenBy(c => c.Tier).ThenBy(c => c.Order).First())
                    .OrderBy(c => c.Verdict)
                    .ThenBy(c => c.Tier)
                    .ThenBy(c => c.Order);
                foreach (Candidate c in best)
                {
                    SmtpAuthFinding finding = ToFinding(c, parsed, method, when, basis, evidence);
                    if (inferredBasic)
                    {
                        finding.Evidence += " System.Net.Mail and Send-MailMessage support basic auth only (no XOAUTH2), so the client used basic auth.";
                    }

                    findings.Add(finding);
                }
            }

            for (int i = 0; i < findings.Count; i++)
            {
                findings[i].Rank = i + 1;
            }

            if (evidence.Probe is ProbeFacts probe)
            {
                findings = WithProbeFacts(findings, probe, method, evidence, when);
            }

            if (evidence.OtherServer is ReplyServer server)
            {
                findings = WithOtherServer(findings, server, parsed, primary, evidence, when);
            }

            if (MxEndpoint(parsed) is string mx)
            {
                findings = EvidenceCorroborator.Rank(WithMxEndpoint(findings, mx, evidence, when));
            }

            if (NotUpnAtExchangeOnline(evidence) is string name)
            {
                findings = EvidenceCorroborator.Rank(WithUserNameNotUpn(findings, name, evidence, when));
            }

            if (evidence.PolicyState is SmtpAuthPolicyState state)
            {
                findings = EvidenceCorroborator.Apply(findings, state, method, evidence.ObservedUtc, (said, settings) => Contradiction(said, settings, state, evidence), _catalog, causeId => FromCause(causeId, evidence, when));
                RuleOutUpnWhenSignedInWithIt(findings, evidence, state);
                AddConflict(findings, state, method, failed: true, evidence);
                findings = EvidenceCorroborator.Rank(findings);
            }

            return findings;
        }

        // A probe that worked: no failure to explain, but two things an admin needs to know (https://techcommunity.microsoft.com/blog/exchange/updated-exchange-online-smtp-auth-basic-authentication-deprecation-timeline/4489835, issue 5):
        // basic auth still working is on borrowed time, and settings that say "blocked" contradict the live result.
        private List<SmtpAuthFinding> Succeeded(ErrorEvidence evidence)
        {
            var findings = new List<SmtpAuthFinding>();
            DateTimeOffset when = evidence.ObservedUtc ?? _clock();
            // The retirement is Exchange Online's: a probe of another server (Postfix, Exim, a relay) retires nothing.
            if (evidence.AuthMethod == SmtpAuthMethod.Basic && evidence.ExchangeOnlineEndpoint && RetirementAdvisory(evidence, when) is SmtpAuthFinding retired)
            {
                findings.Add(retired);
            }

            if (evidence.PolicyState is SmtpAuthPolicyState state)
            {
                AddConflict(findings, state, evidence.AuthMethod, failed: false, evidence);
            }

            return EvidenceCorroborator.Rank(findings);
        }

        // What the probe saw of the session decides causes the text leaves open: the catalog's probeFacts rules (data).
        // A cause the facts exclude stays visible as RuledOut with the reason (a 530 that came inside TLS is not a
        // missing STARTTLS); a rule that makes a cause Likely raises it, or adds it when the text did not name it (TLS on
        // connect that failed before any certificate on a port that is not 465). Never Confirmed: one source.
        private List<SmtpAuthFinding> WithProbeFacts(List<SmtpAuthFinding> findings, ProbeFacts probe, SmtpAuthMethod method, ErrorEvidence evidence, DateTimeOffset when)
        {
            FactRules<ProbeFacts> rules = _catalog.ProbeRules;
            if (rules.Rules.Count == 0)
            {
                return findings;
            }

            foreach (SmtpAuthFinding f in findings)
            {
                (Verdict? verdict, string? why) = rules.Judge(f.CauseId, probe, method);
                if (why is null || f.Verdict == Verdict.Confirmed)
                {
                    continue;
                }

                if (verdict == Verdict.RuledOut || (verdict == Verdict.Likely && f.Verdict == Verdict.Possible) || (verdict == Verdict.Possible && f.Verdict == Verdict.Likely))
                {
                    f.Verdict = verdict.Value;
                }

                f.Evidence = f.Evidence.Length == 0 ? why : f.Evidence + " " + why;
            }

            foreach (string causeId in rules.Rules.Where(r => r.Verdict == Verdict.Likely).Select(r => r.CauseId).Distinct(StringComparer.Ordinal))
            {
                if (findings.Any(f => f.CauseId == causeId) || rules.Judge(causeId, probe, method) is not (Verdict.Likely, string why))
                {
                    continue;
                }

                SmtpAuthFinding added = FromCause(causeId, evidence, when);
                added.Verdict = Verdict.Likely;
                added.Evidence = added.Evidence.Length == 0 ? why : why + " " + added.Evidence;
                findings.Add(added);
            }

            // Text the catalog did not know at all says so; once the facts name a cause, that reading is no longer needed.
            if (findings.Any(f => f.Verdict == Verdict.Likely))
            {
                findings.RemoveAll(f => f.CauseId == CauseIds.Unrecognized);
            }

            return EvidenceCorroborator.Rank(findings);
        }

        // The server the reply came from, when it is not Exchange Online: a probe says so; pasted text says so through a
        // server signature (catalog data), unless the probe or the caller said the endpoint was Exchange Online's.
        private ReplyServer? OtherServerOf(ErrorEvidence evidence, ParsedError parsed)
        {
            if (evidence.Probe is ProbeFacts probe)
            {
                return probe.ExchangeOnline
                    ? ReplyServer.ForInterceptedProbe(_catalog, evidence.Server, evidence.Port, probe.Greeting, probe.MismatchedCertificate)
                    : ReplyServer.ForProbe(evidence.Server, evidence.Port);
            }

            if (evidence.ExchangeOnlineEndpoint)
            {
                return null;
            }

            ReplyServer? named = ReplyServer.FromTextOf(_catalog, parsed.Text);
            return named is { ExchangeOnline: false } ? named : null;
        }

        // A reply from another server: a generic reading (a fallback entry's "a 535 from any server") never offers a cause
        // that only Exchange Online or Entra produce (an account problem Exchange reports, a tenant setting): it stays in
        // sight as RuledOut with the reason. Causes a specific entry named for that server's words stay as they are.
        // Text read this way says which server it names.
        private List<SmtpAuthFinding> WithOtherServer(List<SmtpAuthFinding> findings, ReplyServer server, ParsedError parsed, ParsedReply? primary, ErrorEvidence evidence, DateTimeOffset when)
        {
            foreach (SmtpAuthFinding f in findings)
            {
                bool generic = f.CatalogEntry is string id && _catalog.Entries.Any(e => e.Id == id && e.Scope == EntryScope.Fallback);
                if (generic && f.Verdict != Verdict.Confirmed && _catalog.Causes.TryGetValue(f.CauseId, out CauseDefinition? cause) && cause.ExchangeOnly)
                {
                    f.Verdict = Verdict.RuledOut;
                    f.Evidence = string.Format(CultureInfo.InvariantCulture, "Not this cause: it is an Exchange Online or Microsoft Entra setting. {0} ", server.Basis) + f.Evidence;
                }
                else if (server.FromText)
                {
                    f.Evidence = f.Evidence.Length == 0 ? server.Basis : f.Evidence + " " + server.Basis;
                }
            }

            if (server.Intercepted)
            {
                // The client meant Exchange Online and another server answered: that is the finding; what the other server
                // said (a refused password, say) is about a server the client never meant to use, so it stays Possible.
                foreach (SmtpAuthFinding f in findings.Where(f => f.Verdict != Verdict.RuledOut))
                {
                    if (f.Verdict == Verdict.Likely)
                    {
                        f.Verdict = Verdict.Possible;
                    }

                    f.Evidence += string.Format(CultureInfo.InvariantCulture, " This is {0}'s answer, not Exchange Online's: the checks and the fix are Exchange Online's, for when the connection reaches it.", server.Name);
                }

                SmtpAuthFinding intercepted = FromCause(CauseIds.SubmissionIntercepted, evidence, when);
                intercepted.Verdict = Verdict.Likely;
                intercepted.Evidence = server.Basis;
                // The refusal, not the greeting that came before it.
                ParsedReply? refusal = parsed.Replies.FirstOrDefault(r => r.ReplyCode >= 400) ?? primary;
                intercepted.ReplyCode = refusal?.ReplyCode;
                intercepted.EnhancedStatusCode = refusal?.EnhancedStatusCode;
                intercepted.ReplyText = refusal?.ToString();
                intercepted.Source = parsed.Source;
                findings.Insert(0, intercepted);
            }
            else if (findings.Count > 0 && findings.All(f => f.Verdict == Verdict.RuledOut))
            {
                SmtpAuthFinding unknown = Unrecognized(parsed, primary, evidence);
                unknown.Evidence += " " + server.Basis;
                findings.Add(unknown);
            }

            return EvidenceCorroborator.Rank(findings);
        }

        // The server named a cause that the settings rule out: show both sides and the usual reasons (issue 10).
        private SmtpAuthFinding Contradiction(SmtpAuthFinding said, string settings, SmtpAuthPolicyState state, ErrorEvidence evidence)
        {
            SmtpAuthFinding conflict = FromCause(CauseIds.SettingsConflict, evidence, _clock());
            conflict.Verdict = Verdict.Likely;
            conflict.ReplyCode = said.ReplyCode;
            conflict.EnhancedStatusCode = said.EnhancedStatusCode;
            conflict.ReplyText = said.ReplyText;
            conflict.Evidence = string.Format(CultureInfo.InvariantCulture,
                "The server's reply names {0} ({1}), but the settings read at {2:u} say otherwise: {3} Usual reasons: a setting changed less than an hour ago and has not reached every server yet; the client signs in with a different account than {4}; a client that keeps its connection or token from before the change. ",
                said.CauseId, said.Title, state.ReadUtc, settings.Trim(), state.UserPrincipalName ?? "this mailbox") + conflict.Evidence;
            return conflict;
        }

        // The retirement dates and their wording are catalog data (issue 10): basic SMTP AUTH disabled by default for
        // existing tenants from the end of December 2026, final removal announced in 2027.
        private SmtpAuthFinding? RetirementAdvisory(ErrorEvidence evidence, DateTimeOffset when)
        {
            if (!_catalog.Advisories.TryGetValue("BasicAuthStillWorks", out Advisory? advisory))
            {
                return null;
            }

            SmtpAuthFinding retired = FromCause(advisory.CauseId, evidence, when);
            retired.Verdict = Verdict.Advisory;
            retired.Title = advisory.Title;
            retired.Evidence = advisory.VariantAt(when)?.Evidence is { Length: > 0 } dated
                ? dated + " " + AsOf(when, evidence.ObservedUtc is not null ? "when the probe ran" : "today")
                : string.Empty;
            retired.Remediation = advisory.Remediation;
            retired.RemediationCommand = null;
            return retired;
        }

        private void AddConflict(List<SmtpAuthFinding> findings, SmtpAuthPolicyState state, SmtpAuthMethod method, bool failed, ErrorEvidence evidence)
        {
            if (method == SmtpAuthMethod.Unknown || !_catalog.Causes.ContainsKey(CauseIds.SettingsConflict))
            {
                return;
            }

            PolicyVerdict said = method == SmtpAuthMethod.OAuth ? state.OAuthVerdict : state.BasicAuthVerdict;
            string? blockedBy = method == SmtpAuthMethod.OAuth ? state.OAuthBlockedBy : state.BasicAuthBlockedBy;
            string? side = null;
            if (!failed && said == PolicyVerdict.Blocked)
            {
                side = string.Format(CultureInfo.InvariantCulture, "The live probe authenticated with {0}, but the settings say it is blocked by {1}.", method, blockedBy);
            }
            else if (failed && said == PolicyVerdict.Allowed && findings.All(f => f.Verdict != Verdict.Confirmed))
            {
                side = string.Format(CultureInfo.InvariantCulture, "The server refused {0}, but every setting read allows it.", method);
            }

            if (side is null)
            {
                return;
            }

            SmtpAuthFinding conflict = FromCause(CauseIds.SettingsConflict, evidence, _clock());
            conflict.Verdict = Verdict.Likely;
            conflict.Evidence = side + string.Format(CultureInfo.InvariantCulture, " Settings read at {0:u}: SMTP AUTH {1} (decided by {2}), authentication policy {3}, security defaults {4}. ",
                state.ReadUtc, state.SmtpAuthEnabled?.ToString() ?? "unknown", state.SmtpAuthDecidedBy ?? "unknown", state.AuthenticationPolicy ?? "none", state.SecurityDefaultsEnabled?.ToString() ?? "unknown") + conflict.Evidence;
            findings.Add(conflict);
        }

        // Exchange Online Protection, the MX endpoint (<domain>.mail.protection.outlook.com, servers named *FT*.eop-*),
        // takes mail on port 25 and offers no SMTP AUTH: a reply from it to a client that authenticates means the client
        // is pointed at the MX host instead of smtp.office365.com (issue 10).
        private static readonly System.Text.RegularExpressions.Regex s_mxHost = new System.Text.RegularExpressions.Regex(
            @"\b[A-Za-z0-9-]+\.(?:eop-[a-z0-9]+\.prod\.protection\.outlook\.com|mail\.protection\.outlook\.com)\b",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant | System.Text.RegularExpressions.RegexOptions.IgnoreCase, TimeSpan.FromMilliseconds(50));

        private static string? MxEndpoint(ParsedError parsed)
        {
            foreach (ParsedReply r in parsed.Replies)
            {
                if (r.DiagnosticServer is string host && s_mxHost.IsMatch(host) && r.ReplyCode is 504 or 530 or 535 or 503 or null)
                {
                    return host;
                }
            }

            return null;
        }

        private List<SmtpAuthFinding> WithMxEndpoint(List<SmtpAuthFinding> findings, string host, ErrorEvidence evidence, DateTimeOffset when)
        {
            SmtpAuthFinding? existing = findings.FirstOrDefault(f => f.CauseId == CauseIds.AuthNotAdvertised);
            if (existing is null)
            {
                existing = FromCause(CauseIds.AuthNotAdvertised, evidence, when);
                findings.Add(existing);
            }

            existing.Verdict = Verdict.Likely;
            existing.Evidence = string.Format(CultureInfo.InvariantCulture,
                "The reply came from {0}, an Exchange Online Protection (MX) server: the client is pointed at <domain>.mail.protection.outlook.com, which takes mail on port 25 and offers no SMTP AUTH. Authenticated submission goes to smtp.office365.com:587.", host);
            findings.Remove(existing);
            findings.Insert(0, existing);
            return findings;
        }

        // Exchange Online signs SMTP AUTH in with the UPN only, and a UPN is always user@domain: a probe of Exchange
        // Online with any other name cannot authenticate (issue 9: the probe runs; the diagnosis says so).
        // The name the client signed in with (a probe's user name) against the UPN the settings read: the same name
        // excludes "an alias or address that is not the UPN". Two sources compared, which the rule data cannot express.
        private static void RuleOutUpnWhenSignedInWithIt(List<SmtpAuthFinding> findings, ErrorEvidence evidence, SmtpAuthPolicyState state)
        {
            if (string.IsNullOrWhiteSpace(evidence.SignInName) || string.IsNullOrWhiteSpace(state.UserPrincipalName)
                || !string.Equals(evidence.SignInName!.Trim(), state.UserPrincipalName!.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return;
            }

            foreach (SmtpAuthFinding f in findings.Where(f => f.CauseId == CauseIds.UserNameNotUpn && f.Verdict != Verdict.Confirmed))
            {
                f.Verdict = Verdict.RuledOut;
                f.Evidence = string.Format(CultureInfo.InvariantCulture, "Settings: the client signed in as '{0}', which is the account's UPN.", evidence.SignInName) + (f.Evidence.Length == 0 ? string.Empty : " " + f.Evidence);
            }
        }

        private static string? NotUpnAtExchangeOnline(ErrorEvidence evidence) =>
            evidence.ExchangeOnlineEndpoint && evidence.AuthMethod != SmtpAuthMethod.Unknown &&
            !string.IsNullOrWhiteSpace(evidence.SignInName) && !Probe.SmtpProbe.LooksLikeUpn(evidence.SignInName)
                ? evidence.SignInName
                : null;

        private List<SmtpAuthFinding> WithUserNameNotUpn(List<SmtpAuthFinding> findings, string name, ErrorEvidence evidence, DateTimeOffset when)
        {
            string why = string.Format(CultureInfo.InvariantCulture,
                "The probe signed in to Exchange Online as '{0}', which is not in UPN form (user@domain); Exchange Online accepts only the account's user principal name.", name);
            bool atAuth = evidence.FailedPhase == SmtpPhase.Auth;
            SmtpAuthFinding? existing = findings.FirstOrDefault(f => f.CauseId == CauseIds.UserNameNotUpn);
            if (existing is null)
            {
                existing = FromCause(CauseIds.UserNameNotUpn, evidence, when);
                existing.Evidence = why;
                findings.Add(existing);
            }
            else
            {
                existing.Evidence = why + " " + existing.Evidence;
            }

            // Likely where AUTH was refused; where the probe stopped earlier the name has not been tried yet.
            existing.Verdict = atAuth ? Verdict.Likely : Verdict.Possible;
            if (atAuth)
            {
                findings.Remove(existing);
                findings.Insert(0, existing);
            }

            return findings;
        }

        private SmtpAuthFinding FromCause(string causeId, ErrorEvidence evidence, DateTimeOffset when)
        {
            CauseDefinition cause = _catalog.Causes[causeId];
            CauseVariant? variant = cause.VariantAt(when);
            string? command = FillCommand(cause.RemediationCommand, evidence.UserPrincipalName ?? evidence.PolicyState?.UserPrincipalName, evidence.PolicyState, evidence.Text, out IReadOnlyList<string> unfilled, evidence);
            return ForAnsweringServer(new SmtpAuthFinding
            {
                UserPrincipalName = evidence.UserPrincipalName ?? evidence.PolicyState?.UserPrincipalName,
                Verdict = Verdict.Possible,
                CauseId = cause.Id,
                Title = variant?.Title ?? cause.Title,
                Category = cause.Category,
                Evidence = variant?.Evidence ?? string.Empty,
                Checks = cause.Checks,
                Remediation = WithPlaceholderNote(variant?.Remediation ?? cause.Remediation, unfilled),
                RemediationCommand = command,
                DocumentationUrl = cause.DocumentationUrl,
                Transient = cause.Transient,
                CatalogVersion = _catalog.Version,
            }, evidence, cause, unfilled);
        }

        // A 535 5.7.3 after XOAUTH2 plus a token claim that explains it are two independent sources: Confirmed
        // (https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth). A claim problem the reply does not point at stays as the catalog put it.
        private static void ConfirmFromTokenClaims(List<Candidate> candidates, ErrorEvidence evidence, SmtpAuthMethod method)
        {
            if (method != SmtpAuthMethod.OAuth || evidence.TokenIssues.Count == 0)
            {
                return;
            }

            for (int i = 0; i < candidates.Count; i++)
            {
                Candidate c = candidates[i];
                if (c.Reply is not null && evidence.TokenIssues.Contains(c.Cause.Id, StringComparer.Ordinal))
                {
                    // A token for another user than the one AUTH names is allowed for a shared mailbox that user has FullAccess
                    // to, which the claims cannot show: that reading stays Likely, never Confirmed.
                    candidates[i] = c.Cause.Id == CauseIds.TokenUserMismatch
                        ? c.With(Verdict.Likely, "The token is for another user than the one AUTH names (read before AUTH), and the server refused the token. Exchange Online takes that only when the named mailbox is a shared mailbox this user has FullAccess to (Get-MailboxPermission), which the token cannot show.")
                        : c.With(Verdict.Confirmed, "The token's own claims show this problem (read before AUTH), and the server refused the token.");
                }
            }
        }

        // The text as given, and as it reads with the line breaks a logger put in (wrapped between words, or split in
        // the middle of a word) taken out. Linear, no regex: the input can be 16 K of white space.
        private static string[] TextForms(string text)
        {
            if (text.IndexOf('\n') < 0)
            {
                return new[] { text };
            }

            return new[] { text, Fold(text, " "), Fold(text, string.Empty) };
        }

        private static string Fold(string text, string joiner)
        {
            var sb = new StringBuilder(text.Length);
            int i = 0;
            while (i < text.Length)
            {
                char ch = text[i];
                if (ch != '\n')
                {
                    sb.Append(ch);
                    i++;
                    continue;
                }

                // Drop the white space around one or more line breaks, then join.
                while (sb.Length > 0 && (sb[sb.Length - 1] == ' ' || sb[sb.Length - 1] == '\t' || sb[sb.Length - 1] == '\r'))
                {
                    sb.Length--;
                }

                while (i < text.Length && (text[i] == '\n' || text[i] == '\r' || text[i] == ' ' || text[i] == '\t'))
                {
                    i++;
                }

                sb.Append(joiner);
            }

            return sb.ToString();
        }

        // After XOAUTH2, a token whose claims were read and found fine on a point rules out the causes about that point
        // (a valid exp: not TokenExpired; the right audience, role or scope; the right user): they are not listed.
        private static bool RuledOutByToken(string causeId, ErrorEvidence evidence, SmtpAuthMethod method) =>
            method == SmtpAuthMethod.OAuth && evidence.TokenClaimsRead &&
            causeId is CauseIds.TokenExpired or CauseIds.TokenWrongAudience or CauseIds.TokenMissingPermission or CauseIds.TokenUserMismatch &&
            !evidence.TokenIssues.Contains(causeId, StringComparer.Ordinal);

        private static bool Matches(CatalogEntry entry, ParsedReply reply)
        {
            if (entry.DiagnosticTail != TailCondition.Any && (entry.DiagnosticTail == TailCondition.Dated) != reply.DiagnosticTimestamp.HasValue)
            {
                return false;
            }

            if (entry.ReplyCodes.Count > 0 && reply.ReplyCode.HasValue && !entry.ReplyCodes.Contains(reply.ReplyCode.Value))
            {
                return false;
            }

            if (entry.EnhancedCodes.Count > 0 && reply.EnhancedStatusCode is not null &&
                !entry.EnhancedCodes.Contains(reply.EnhancedStatusCode, StringComparer.Ordinal))
            {
                return false;
            }

            // An entry that the codes alone decide needs one of its codes in the reply, not just no code against it: a bare
            // "5.7.3 Authentication unsuccessful" (no basic code) is not a 552.
            if (entry.CodesOnly &&
                !(reply.ReplyCode is int code && entry.ReplyCodes.Contains(code)) &&
                !(reply.EnhancedStatusCode is string enhanced && entry.EnhancedCodes.Contains(enhanced, StringComparer.Ordinal)))
            {
                return false;
            }

            if (ReplyParser.SafeIsMatch(entry.Pattern, reply.Text))
            {
                return true;
            }

            // A reply a logger wrapped or split: read it on with the lines that follow it (folded once per reply).
            if (reply.Continuation.Length == 0)
            {
                return false;
            }

            reply.ContinuedForms ??= TextForms(reply.Text + "\n" + reply.Continuation).Skip(1).ToArray();
            return reply.ContinuedForms.Any(t => ReplyParser.SafeIsMatch(entry.Pattern, t));
        }

        // A dated reading says which date it is for (issue 10): the reply's own timestamp when there is one.
        private static string AsOf(DateTimeOffset when, string basis) =>
            string.Format(CultureInfo.InvariantCulture, "(As of {0:yyyy-MM-dd}, {1}.)", when.UtcDateTime, basis);

        private static void DemoteNotAuthenticatedSymptom(List<Candidate> candidates)
        {
            static bool IsNotAuthenticated(Candidate c) => c.Cause.Id == CauseIds.NotAuthenticated && c.Reply?.EnhancedStatusCode == "5.7.57";
            bool explained = candidates.Any(c => !IsNotAuthenticated(c) && c.Reply is not null && c.Reply.EnhancedStatusCode != "5.7.57" && c.Verdict == Verdict.Likely);
            if (!explained)
            {
                return;
            }

            for (int i = 0; i < candidates.Count; i++)
            {
                if (IsNotAuthenticated(candidates[i]))
                {
                    candidates[i] = candidates[i].With(Verdict.Possible,
                        "Another reply in the same text says why the client was not authenticated; 5.7.57 is what follows a failed AUTH.");
                }
            }
        }

        private void Add(List<Candidate> candidates, CatalogEntry entry, ParsedReply? reply, SmtpAuthMethod method, Tier tier, ref int order)
        {
            foreach (CauseReference cause in entry.Causes)
            {
                CatalogVerdict v = cause.VerdictFor(method);
                if (v == CatalogVerdict.Excluded)
                {
                    continue;
                }

                // Symptoms and text-only matches never outrank what the server said: at most Possible.
                Verdict verdict = v == CatalogVerdict.Likely && tier != Tier.Symptom ? Verdict.Likely : Verdict.Possible;
                candidates.Add(new Candidate(entry, _catalog.Causes[cause.CauseId], cause, reply, verdict, tier, order++));
            }
        }

        private SmtpAuthFinding ToFinding(Candidate c, ParsedError parsed, SmtpAuthMethod method, DateTimeOffset when, string basis, ErrorEvidence evidence)
        {
            CauseVariant? variant = c.Cause.VariantAt(when);
            string? command = FillCommand(c.Cause.RemediationCommand, evidence.UserPrincipalName ?? evidence.PolicyState?.UserPrincipalName, evidence.PolicyState, evidence.Text, out IReadOnlyList<string> unfilled, evidence);
            var ev = new StringBuilder(evidence.OtherServer is { Intercepted: false } other && c.Reference.OtherServerEvidence is string otherEvidence
                ? other.Fill(otherEvidence, evidence.FailedPhase)
                : c.Reference.Evidence);
            if (c.ExtraEvidence is not null)
            {
                Append(ev, c.ExtraEvidence);
            }

            if (variant?.Evidence is { Length: > 0 } extra)
            {
                Append(ev, extra + " " + AsOf(when, basis));
            }

            if (c.Reply is { IsEmbedded: true })
            {
                Append(ev, "The client reported 5.7.57 (not authenticated) and embedded the real AUTH error, which is the cause to fix.");
            }

            if (method != SmtpAuthMethod.Unknown)
            {
                Append(ev, string.Format(CultureInfo.InvariantCulture, "Auth method: {0}.", method));
            }

            if (parsed.Truncated)
            {
                Append(ev, string.Format(CultureInfo.InvariantCulture, "Only the first {0} characters of the input were read.", ReplyParser.MaxInputLength));
            }

            ParsedReply? reply = c.Reply;
            return ForAnsweringServer(new SmtpAuthFinding
            {
                UserPrincipalName = evidence.UserPrincipalName ?? evidence.PolicyState?.UserPrincipalName,
                Verdict = c.Verdict,
                CauseId = c.Cause.Id,
                Title = variant?.Title ?? c.Cause.Title,
                Category = c.Cause.Category,
                ReplyCode = reply?.ReplyCode,
                EnhancedStatusCode = reply?.EnhancedStatusCode,
                Evidence = ev.ToString(),
                Checks = c.Cause.Checks,
                Remediation = WithPlaceholderNote(variant?.Remediation ?? c.Cause.Remediation, unfilled),
                RemediationCommand = command,
                DocumentationUrl = c.Cause.DocumentationUrl,
                Transient = c.Cause.Transient,
                ReplyText = reply?.ToString(),
                DiagnosticServer = reply?.DiagnosticServer,
                DiagnosticTimestamp = reply?.DiagnosticTimestamp,
                DiagnosticId = reply?.DiagnosticId,
                Source = parsed.Source,
                CatalogEntry = c.Entry.Id,
                CatalogVersion = _catalog.Version,
            }, evidence, c.Cause, unfilled);
        }

        private SmtpAuthFinding Unrecognized(ParsedError parsed, ParsedReply? reply, ErrorEvidence evidence)
        {
            CauseDefinition cause = _catalog.Causes[CauseIds.Unrecognized];
            string? command = FillCommand(cause.RemediationCommand, evidence.UserPrincipalName, null, null, out IReadOnlyList<string> unfilled, evidence);
            var ev = new StringBuilder("No catalog entry matches this text.");
            if (reply is not null)
            {
                Append(ev, string.Format(CultureInfo.InvariantCulture, "Parsed reply: {0}.", reply));
                if (reply.EnhancedStatusCode is { } enh)
                {
                    Append(ev, DescribeEnhancedClass(enh));
                }
            }
            else
            {
                Append(ev, "No SMTP reply code was found in it.");
            }

            return ForAnsweringServer(new SmtpAuthFinding
            {
                UserPrincipalName = evidence.UserPrincipalName,
                Verdict = Verdict.Possible,
                CauseId = cause.Id,
                Title = cause.Title,
                Category = cause.Category,
                ReplyCode = reply?.ReplyCode,
                EnhancedStatusCode = reply?.EnhancedStatusCode,
                Evidence = ev.ToString(),
                Checks = ForProbe(evidence, cause.ProbeChecks) ?? cause.Checks,
                Remediation = WithPlaceholderNote(ForProbe(evidence, cause.ProbeRemediation) ?? cause.Remediation, unfilled),
                RemediationCommand = command,
                DocumentationUrl = cause.DocumentationUrl,
                Transient = reply?.ReplyCode is >= 400 and < 500,
                ReplyText = reply?.ToString(),
                DiagnosticServer = reply?.DiagnosticServer,
                DiagnosticTimestamp = reply?.DiagnosticTimestamp,
                DiagnosticId = reply?.DiagnosticId,
                Source = parsed.Source,
                CatalogEntry = null,
                CatalogVersion = _catalog.Version,
            }, evidence, cause, unfilled);
        }

        // A probe result has a phase and a server; pasted text has neither, so its next steps differ (issue 10).
        private static string? ForProbe(ErrorEvidence evidence, string? text) =>
            !evidence.FromProbe || text is null ? null : text
                .Replace("{phase}", evidence.FailedPhase.ToString())
                .Replace("{server}", evidence.Server ?? "the server")
                .Replace("{port}", evidence.Port?.ToString(CultureInfo.InvariantCulture) ?? "?");

        // A reply from a server that is not Exchange Online (a probe of another host, or another server's words in the
        // text): that server's fix and checks, where Exchange Online's ("connect to smtp.office365.com:587", "the
        // sign-in logs") would send the admin elsewhere.
        // An intercepted submission is the exception: the client meant Exchange Online, so once the connection reaches it,
        // Exchange Online's checks and fixes are the ones that apply ("connect to the interceptor by a name its certificate
        // holds" would send the admin the wrong way).
        private static SmtpAuthFinding ForAnsweringServer(SmtpAuthFinding finding, ErrorEvidence evidence, CauseDefinition cause, IReadOnlyList<string> unfilled)
        {
            if (evidence.OtherServer is not { Intercepted: false } server)
            {
                return finding;
            }

            if (cause.OtherServerTitle is string title)
            {
                finding.Title = server.Fill(title, evidence.FailedPhase);
            }

            if (cause.OtherServerChecks is string checks)
            {
                finding.Checks = server.Fill(checks, evidence.FailedPhase);
            }

            // Every command the catalog has is an Exchange Online or Graph command, so there is none for another server, and
            // no note about the placeholders of a command that is not shown.
            if (cause.OtherServerRemediation is string remediation)
            {
                finding.Remediation = server.Fill(remediation, evidence.FailedPhase);
            }
            else
            {
                finding.Remediation = WithoutPlaceholderNote(finding.Remediation, unfilled);
            }

            if (cause.OtherServerDocumentationUrl is string url)
            {
                finding.DocumentationUrl = url;
            }

            finding.RemediationCommand = null;
            return finding;
        }

        // RFC 3463 classes and subjects, for a reply the catalog does not know.
        private static string DescribeEnhancedClass(string enhanced)
        {
            string[] parts = enhanced.Split('.');
            string cls = parts[0] switch
            {
                "2" => "success",
                "4" => "a temporary failure (retrying can succeed)",
                _ => "a permanent failure",
            };
            string subject = parts.Length > 1 ? parts[1] switch
            {
                "1" => "addressing",
                "2" => "the mailbox",
                "3" => "the mail system",
                "4" => "the network or routing",
                "5" => "the mail delivery protocol",
                "6" => "the message content",
                "7" => "security or policy",
                _ => "an unknown subject",
            } : "an unknown subject";
            return string.Format(CultureInfo.InvariantCulture, "{0} is {1} about {2} (RFC 3463).", enhanced, cls, subject);
        }

        // The values a fix command can be filled with: the mailbox, the SendAs address, the app and its enterprise-app
        // object id, the authentication policy; from the state, else from the reply text (a 5.2.252 names both sides).
        private static string? FillCommand(string? command, string? user, SmtpAuthPolicyState? state, string? text, out IReadOnlyList<string> unfilled, ErrorEvidence? evidence = null)
        {
            string? from = state?.From ?? evidence?.From;
            if (text is not null && ReplyParser.SafeMatch(s_sendAsPattern, text) is System.Text.RegularExpressions.Match m)
            {
                user ??= m.Groups["user"].Value;
                from ??= m.Groups["from"].Value;
            }

            if (evidence?.FromProbe == true && command is not null && command.StartsWith("Test-SmtpAuth", StringComparison.Ordinal))
            {
                // The evidence is already a Test-SmtpAuth result: the remediation text says what to change instead.
                unfilled = Array.Empty<string>();
                return null;
            }

            var values = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["server"] = evidence?.Server ?? "smtp.office365.com",
                ["port"] = (evidence?.Port ?? 587).ToString(CultureInfo.InvariantCulture),
                ["user"] = user,
                ["mailbox"] = user,
                // An SMTP address (Remove-BlockedSenderAddress -SenderAddress): the mailbox's own, else the sign-in name
                // when it is one; never a display name.
                ["address"] = state?.PrimarySmtpAddress ?? (user is not null && IsAddress(user) ? user : null),
                ["from"] = from,
                ["appId"] = state?.ClientId ?? (Guid.TryParse(evidence?.TokenIdentity, out Guid app) ? app.ToString("D") : null),
                ["objectId"] = state?.EnterpriseAppObjectId,
                ["policy"] = state?.AuthenticationPolicy,
            };
            return FixCommand.Fill(command, values, out unfilled);
        }

        private static bool IsAddress(string value)
        {
            int at = value.IndexOf('@');
            return at > 0 && at == value.LastIndexOf('@') && at < value.Length - 1 && !value.Any(char.IsWhiteSpace);
        }

        // "5.2.252 SendAsDenied; app@contoso.com not allowed to send as sales@contoso.com".
        private static readonly System.Text.RegularExpressions.Regex s_sendAsPattern = new System.Text.RegularExpressions.Regex(
            @"(?<user>[^\s;<>]+@[^\s;<>]+?)\s+not allowed to send as\s+(?<from>[^\s;<>]+@[^\s;<>]+?)[\s;.,]*(?:$|\s|\[)",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant | System.Text.RegularExpressions.RegexOptions.IgnoreCase, TimeSpan.FromMilliseconds(50));

        // Says which placeholders of the fix command are still to be filled in, if any.
        private static string WithPlaceholderNote(string remediation, IReadOnlyList<string> unfilled) =>
            remediation + PlaceholderNote(unfilled);

        private static string WithoutPlaceholderNote(string remediation, IReadOnlyList<string> unfilled)
        {
            string note = PlaceholderNote(unfilled);
            return note.Length > 0 && remediation.EndsWith(note, StringComparison.Ordinal) ? remediation.Substring(0, remediation.Length - note.Length) : remediation;
        }

        // The placeholder note of a command that is no longer shown (a ruled-out cause's), whatever it named.
        private static readonly System.Text.RegularExpressions.Regex s_placeholderNote = new System.Text.RegularExpressions.Regex(
            @" In the command, replace .*? with the real values?: it was not known from the error or the settings\.",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));

        internal static string WithoutAnyPlaceholderNote(string remediation) =>
            string.IsNullOrEmpty(remediation) ? remediation : s_placeholderNote.Replace(remediation, string.Empty);

        private static string PlaceholderNote(IReadOnlyList<string> unfilled) =>
            unfilled.Count == 0 ? string.Empty : string.Format(CultureInfo.InvariantCulture,
                " In the command, replace {0} with the real value{1}: it was not known from the error or the settings.",
                string.Join(" and ", unfilled), unfilled.Count == 1 ? string.Empty : "s");

        private static void Append(StringBuilder sb, string sentence)
        {
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append(sentence);
        }

        private sealed class Candidate
        {
            public Candidate(CatalogEntry entry, CauseDefinition cause, CauseReference reference, ParsedReply? reply, Verdict verdict, Tier tier, int order, string? extraEvidence = null)
            {
                Tier = tier;
                ExtraEvidence = extraEvidence;
                Entry = entry;
                Cause = cause;
                Reference = reference;
                Reply = reply;
                Verdict = verdict;
                Order = order;
            }

            public CatalogEntry Entry { get; }
            public CauseDefinition Cause { get; }
            public CauseReference Reference { get; }
            public ParsedReply? Reply { get; }
            public Verdict Verdict { get; }
            public Tier Tier { get; }
            public int Order { get; }
            public string? ExtraEvidence { get; }

            public Candidate With(Verdict verdict, string extraEvidence) =>
                new Candidate(Entry, Cause, Reference, Reply, verdict, Tier, Order, extraEvidence);
        }

        // Where a candidate came from, most specific first.
        private enum Tier
        {
            Embedded = 0,
            Reply = 1,
            Text = 2,
            Symptom = 3,
        }
    }
}
