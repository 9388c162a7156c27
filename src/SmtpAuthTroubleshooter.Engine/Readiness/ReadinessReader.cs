using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using SmtpAuthTroubleshooter.Engine.Policy;

namespace SmtpAuthTroubleshooter.Engine.Readiness
{
    /// <summary>What a readiness read covers.</summary>
    public sealed class ReadinessOptions
    {
        /// <summary>Days of sign-ins (1-30).</summary>
        public int Days { get; set; } = 30;
        /// <summary>Also list mailboxes that could use SMTP AUTH but had no sign-in in the window.</summary>
        public bool IncludeUnused { get; set; }
        /// <summary>The text of the Exchange admin center's SMTP AUTH clients report (CSV), if given.</summary>
        public string? SmtpAuthReportCsv { get; set; }
        /// <summary>Read message trace to tell internal-only senders (Get-MessageTraceV2).</summary>
        public bool ReadMessageTrace { get; set; } = true;
        /// <summary>At most this many Get-MessageTraceV2 queries (the service allows about 100 per 5 minutes; each sender
        /// takes one per 10 days of the window, fewer when an external recipient shows up early, more when a window holds
        /// more messages than one answer returns).</summary>
        public int MessageTraceQueryBudget { get; set; } = 100;
        /// <summary>Get-MessageTraceV2 -ResultSize: rows per query (1 to 5,000; Microsoft's maximum by default). A full answer is continued.</summary>
        public int MessageTraceResultSize { get; set; } = 5000;
        /// <summary>
        /// The Entra half of the basic-auth verdict (security defaults, Conditional Access, per-user MFA, account state) is
        /// read per mailbox, several Graph requests each: only up to this many mailboxes that sign in with basic auth. Above
        /// it the verdict says why it is Unknown and points at Get-SmtpAuthPolicyState, so that a tenant-scale run stays a
        /// few hundred requests (at 10,000 senders the Entra read took the run from 286 to 2,089 Graph requests).
        /// </summary>
        public int EntraVerdictLimit { get; set; } = 200;
        /// <summary>Mailboxes the admin names as code the organization owns.</summary>
        public IReadOnlyCollection<string> OwnCode { get; set; } = Array.Empty<string>();
        /// <summary>Now (tests set it).</summary>
        public DateTime NowUtc { get; set; } = DateTime.UtcNow;
    }

    /// <summary>
    /// Retirement readiness (issue 12): who still sends with basic SMTP AUTH (Entra "Authenticated SMTP" sign-ins, read
    /// tenant-wide in pages and aggregated as they stream), who could (the policy-state engine, Exchange half), what the
    /// end-of-December 2026 default-off does to each sender, and where each should move (MigrationRules.json). Each source
    /// that cannot be read leaves its fields empty and says why; nothing throws but cancellation.
    /// </summary>
    public sealed class ReadinessReader
    {
        /// <summary>When basic SMTP AUTH is disabled by default for existing tenants (the end of December 2026).</summary>
        public static readonly DateTime DefaultOffUtc = new DateTime(2026, 12, 31, 0, 0, 0, DateTimeKind.Utc);

        private static readonly string[] s_rejectDirectSend = { "RejectDirectSend" };
        private static readonly string[] s_domainName = { "DomainName", "DomainType" };
        private static readonly string[] s_traceRow = { "RecipientAddress", "Received" };

        /// <summary>Above this many senders the mailboxes are read with one listing per kind instead of filtered batches.</summary>
        internal const int ListingThreshold = 200;

        private readonly GraphReader? _graph;
        private readonly string? _graphUnavailable;
        private readonly IExchangeSession? _exchange;
        private readonly ReadinessOptions _options;
        private readonly IDiagnosticSink _sink;
        private readonly MigrationAdvisor _advisor;
        private readonly Func<IMailboxGraphReader>? _entra;
        private string? _entraSkipped;

        /// <summary>
        /// Creates a reader. <paramref name="graph"/> null: the sign-in log is not read (<paramref name="graphUnavailable"/>
        /// says why). <paramref name="entra"/>: the Entra half of the policy state (security defaults, Conditional Access,
        /// per-user MFA, account state), which the basic-auth verdict needs; it is created and read only when there are
        /// senders with basic sign-ins, and only for them. Null: the verdict is read from the Exchange half alone, and
        /// UnknownReasons says so where that leaves it Unknown.
        /// </summary>
        public ReadinessReader(GraphReader? graph, string? graphUnavailable, IExchangeSession? exchange, ReadinessOptions options, IDiagnosticSink sink, MigrationAdvisor? advisor = null, Func<IMailboxGraphReader>? entra = null)
        {
            _graph = graph;
            _graphUnavailable = graphUnavailable;
            _exchange = exchange;
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _sink = sink ?? throw new ArgumentNullException(nameof(sink));
            _advisor = advisor ?? MigrationAdvisor.Embedded;
            _entra = entra;
        }

        /// <summary>
        /// The Entra half of the policy state over the readiness read's Graph connection, as Get-SmtpAuthPolicyState reads it,
        /// without its per-mailbox sign-in read (the readiness read has the whole sign-in log already). Naming
        /// <see cref="GraphPolicyReader"/> loads the Microsoft Graph SDK's service library, so this is called only when needed.
        /// </summary>
        public static IMailboxGraphReader EntraReader(GraphReader graph, IDiagnosticSink sink) =>
            new GraphPolicyReader(graph ?? throw new ArgumentNullException(nameof(graph)), new GraphReadOptions { ReadSignIns = false }, sink);

        /// <summary>Sign-in rows read.</summary>
        public long SignInRows { get; private set; }

        /// <summary>Basic SMTP AUTH sign-ins per day over every sender (the report's chart), once read.</summary>
        public string? TotalPerDay { get; private set; }

        /// <summary>Reads every source and returns one client per sender, most affected first.</summary>
        public async Task<IReadOnlyList<SmtpAuthClient>> ReadAsync(CancellationToken cancellationToken)
        {
            var reasons = new List<string>();
            var aggregator = new SignInAggregator(_options.Days, _options.NowUtc);
            bool usageRead = await ReadSignInsAsync(aggregator, reasons, cancellationToken).ConfigureAwait(false);
            SignInRows = aggregator.Rows;
            TotalPerDay = usageRead ? aggregator.PerDayText(aggregator.Total()) : null;
            IReadOnlyList<SenderUsage> senders = usageRead ? aggregator.Senders : Array.Empty<SenderUsage>();
            _sink.Verbose(string.Format(CultureInfo.InvariantCulture, "Sign-in log: {0} rows, {1} senders (mailbox and IP).", aggregator.Rows, senders.Count));

            Dictionary<string, (string? Protocol, long? Messages)> report = ParseReport(_options.SmtpAuthReportCsv, reasons);

            // Exposure: the Exchange half of the policy state, for every mailbox seen (and every mailbox with -IncludeUnused).
            var states = new Dictionary<string, SmtpAuthPolicyState>(StringComparer.OrdinalIgnoreCase);
            bool? rejectDirectSend = null;
            string? exposureUnknown = null;
            HashSet<string>? entraSenders = null;
            if (_exchange is null)
            {
                exposureUnknown = "Exchange Online was not read (no Connect-ExchangeOnline session): SmtpAuthEnabled and the basic-auth verdict are empty.";
            }
            else
            {
                var policy = new PolicyStateReader(_exchange, new PolicyReadOptions(), _sink, () => _options.NowUtc);
                await policy.ReadTenantAsync(cancellationToken).ConfigureAwait(false);
                rejectDirectSend = await ReadRejectDirectSendAsync(cancellationToken).ConfigureAwait(false);
                // Many senders: one tenant-wide listing per kind (three EXO calls) costs less than a filtered call per
                // kind for every 50 of them; a few senders: filtered calls.
                List<string> seenNames = senders.Select(s => s.UserPrincipalName).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

                // The basic-auth verdict needs the Entra half too (security defaults, Conditional Access, per-user MFA,
                // account state): read, as Get-SmtpAuthPolicyState reads it, for the mailboxes that sign in with basic auth.
                if (_entra is not null && seenNames.Count > _options.EntraVerdictLimit)
                {
                    _entraSkipped = string.Format(CultureInfo.InvariantCulture,
                        "BasicAuthVerdict: the Entra settings it also depends on (security defaults, Conditional Access, per-user MFA, whether sign-in is allowed) are read for up to {0} mailboxes that sign in with basic auth, several Graph requests each; this run has {1}, so only the Exchange settings were read, and none of them blocks basic auth. Pipe the mailboxes you act on to Get-SmtpAuthPolicyState for the full verdict.",
                        _options.EntraVerdictLimit, seenNames.Count);
                    _sink.Verbose(_entraSkipped);
                }
                else if (_entra is not null && seenNames.Count > 0)
                {
                    IMailboxGraphReader entra = _entra();
                    try
                    {
                        await entra.ReadTenantAsync(policy.Tenant, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        policy.Tenant.UnknownReasons.Add(string.Format(CultureInfo.InvariantCulture, "Microsoft Graph: the read of the Entra settings failed ({0}).", ex.Message));
                    }

                    policy.Graph = new SendersOnlyGraphReader(entra, seenNames);
                    entraSenders = new HashSet<string>(seenNames, StringComparer.OrdinalIgnoreCase);
                }
                if (_options.IncludeUnused || seenNames.Count > ListingThreshold)
                {
                    await policy.ReadAllAsync(batch =>
                    {
                        foreach (SmtpAuthPolicyState s in batch)
                        {
                            if (s.UserPrincipalName is string upn)
                            {
                                states[upn] = s;
                            }
                        }

                        return Task.CompletedTask;
                    }, cancellationToken).ConfigureAwait(false);
                }

                List<string> seen = seenNames.Where(u => !states.ContainsKey(u)).ToList();
                if (seen.Count > 0)
                {
                    foreach (PolicyStateResult r in await policy.ReadAsync(seen, cancellationToken).ConfigureAwait(false))
                    {
                        if (r.State is not null)
                        {
                            states[r.Identity] = r.State;
                        }
                    }
                }
            }

            // Message trace for the senders that need a path (basic use), busiest first, within the trace's limits.
            var traceUnread = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            Dictionary<string, (bool InternalOnly, int Messages)> trace = await ReadTraceAsync(
                senders.Where(s => s.Count > 0).Select(s => s.UserPrincipalName).Distinct(StringComparer.OrdinalIgnoreCase).ToList(), reasons, traceUnread, cancellationToken).ConfigureAwait(false);

            var ipsPerMailbox = senders.GroupBy(s => s.UserPrincipalName, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Select(s => s.Ip).Distinct().ToList(), StringComparer.OrdinalIgnoreCase);
            var ownCode = new HashSet<string>(_options.OwnCode, StringComparer.OrdinalIgnoreCase);
            string? usageUnknown = usageRead ? null : reasons.FirstOrDefault();
            var clients = new List<SmtpAuthClient>();
            foreach (SenderUsage s in senders)
            {
                states.TryGetValue(s.UserPrincipalName, out SmtpAuthPolicyState? state);
                clients.Add(Build(s.UserPrincipalName, s, state, report, trace, traceUnread, ipsPerMailbox, ownCode, rejectDirectSend, reasons, exposureUnknown, usageUnknown, entraSenders));
            }

            // Mailboxes without sign-ins: with -IncludeUnused every one that could use SMTP AUTH; and every sender the
            // admin center report names (OAuth senders have no Authenticated SMTP sign-ins).
            var listed = new HashSet<string>(senders.Select(s => s.UserPrincipalName), StringComparer.OrdinalIgnoreCase);
            IEnumerable<string> extra = report.Keys.Where(k => !listed.Contains(k));
            if (_options.IncludeUnused)
            {
                extra = extra.Concat(states.Values.Where(st => st.SmtpAuthEnabled == true && st.UserPrincipalName is not null && !listed.Contains(st.UserPrincipalName)).Select(st => st.UserPrincipalName!));
            }

            foreach (string upn in extra.Distinct(StringComparer.OrdinalIgnoreCase).OrderBy(u => u, StringComparer.OrdinalIgnoreCase))
            {
                states.TryGetValue(upn, out SmtpAuthPolicyState? state);
                clients.Add(Build(upn, null, state, report, trace, traceUnread, ipsPerMailbox, ownCode, rejectDirectSend, reasons, exposureUnknown, usageUnknown, entraSenders));
            }

            // Nothing to list because the sign-in log could not be read (no Entra ID P1, a missing permission, throttling):
            // said, so that an empty answer is not read as "nothing sends with basic auth". (Without a Graph connection
            // the command has already said so.)
            if (clients.Count == 0 && !usageRead && _graph is not null)
            {
                _sink.Warning(string.Format(CultureInfo.InvariantCulture,
                    "No sender is listed because the sign-in log was not read ({0}); this is not a tenant without basic SMTP AUTH senders. -IncludeUnused lists every mailbox that can use SMTP AUTH.",
                    (usageUnknown ?? "no reason given").TrimEnd('.')));
            }

            return clients
                .OrderBy(c => ImpactOrder(c.ImpactAtDefaultOff))
                .ThenByDescending(c => c.SignInCount ?? 0)
                .ThenBy(c => c.UserPrincipalName, StringComparer.OrdinalIgnoreCase)
                .ToList();
        }

        private SmtpAuthClient Build(string upn, SenderUsage? s, SmtpAuthPolicyState? state, Dictionary<string, (string? Protocol, long? Messages)> report,
            Dictionary<string, (bool InternalOnly, int Messages)> trace, Dictionary<string, string> traceUnread, Dictionary<string, List<string>> ipsPerMailbox, HashSet<string> ownCode,
            bool? rejectDirectSend, List<string> reasons, string? exposureUnknown, string? usageUnknown, HashSet<string>? entraSenders)
        {
            bool usageRead = usageUnknown is null;
            var c = new SmtpAuthClient
            {
                UserPrincipalName = state?.UserPrincipalName ?? upn,
                ClientIp = s?.Ip,
                Days = _options.Days,
                SignInCount = usageRead ? s?.Count ?? 0 : null,
                SuccessCount = usageRead ? s?.Successes ?? 0 : null,
                FailureCount = usageRead ? s?.Failures ?? 0 : null,
                FirstSeenUtc = s?.FirstUtc,
                LastSeenUtc = s?.LastUtc,
                LastSuccessUtc = s?.LastSuccessUtc,
                LastErrorCode = s?.LastErrorCode,
                LastFailureReason = s?.LastFailureReason,
                Location = s?.Location,
                UserAgent = s?.UserAgent,
                SignInsPerDay = s is null ? null : new SignInAggregator(_options.Days, _options.NowUtc).PerDayText(s.PerDay),
                TurnedToFailure = usageRead ? s?.TurnedToFailure ?? false : null,
                SmtpAuthEnabled = state?.SmtpAuthEnabled,
                SmtpAuthDecidedBy = state?.SmtpAuthDecidedBy,
                BasicAuthVerdict = state?.BasicAuthVerdict ?? PolicyVerdict.Unknown,
                BasicAuthBlockedBy = state?.BasicAuthBlockedBy,
                RecipientTypeDetails = state?.RecipientTypeDetails,
            };
            if (report.TryGetValue(upn, out (string? Protocol, long? Messages) r))
            {
                c.AuthenticationProtocol = r.Protocol;
                c.MessagesSent = r.Messages;
            }

            if (trace.TryGetValue(upn, out (bool InternalOnly, int Messages) t))
            {
                c.InternalRecipientsOnly = t.Messages > 0 ? t.InternalOnly : null;
                c.TracedMessages = t.Messages;
            }

            bool oauthSeen = c.AuthenticationProtocol?.IndexOf("OAuth", StringComparison.OrdinalIgnoreCase) >= 0;
            bool oauthOnly = oauthSeen && c.AuthenticationProtocol!.IndexOf("Basic", StringComparison.OrdinalIgnoreCase) < 0;
            (c.ImpactAtDefaultOff, c.ImpactReason) = Impact(s, usageRead, oauthOnly, usageUnknown);

            List<string> ips = ipsPerMailbox.TryGetValue(upn, out List<string>? list) ? list : new List<string>();
            var facts = new SenderFacts
            {
                UserPrincipalName = c.UserPrincipalName,
                ClientIp = c.ClientIp,
                BasicSignIns = s?.Count ?? 0,
                BasicSuccesses = s?.Successes ?? 0,
                SmtpAuthEnabled = c.SmtpAuthEnabled,
                OAuthOnly = oauthOnly,
                OAuthSeen = oauthSeen,
                InternalRecipientsOnly = c.InternalRecipientsOnly,
                StaticPublicIp = ips.Count == 1 && IsPublic(ips[0]),
                StaticPublicIPv4 = ips.Count == 1 && IsPublic(ips[0]) && IPAddress.TryParse(ips[0], out IPAddress? only) && only.AddressFamily == AddressFamily.InterNetwork,
                RejectDirectSend = rejectDirectSend,
                MessagesSent = c.MessagesSent,
                OwnCode = ownCode.Contains(upn),
            };
            if (!usageRead && !oauthOnly)
            {
                c.MigrationPath = SmtpAuthMigrationPath.Review;
                c.MigrationReason = "The sign-in log was not read, so whether and how this mailbox sends is not known.";
            }
            else
            {
                var values = new Dictionary<string, string?>(StringComparer.Ordinal)
                {
                    ["UserPrincipalName"] = c.UserPrincipalName,
                    ["ClientIp"] = c.ClientIp,
                    ["ConnectorName"] = c.ClientIp is null ? null : "SMTP relay " + c.ClientIp,
                };
                (c.MigrationPath, c.MigrationReason, c.MigrationCommand) = _advisor.Advise(facts, values);
            }

            var unknown = new List<string>(reasons);
            if (traceUnread.TryGetValue(upn, out string? traceWhy))
            {
                unknown.Add(traceWhy);
            }

            if (exposureUnknown is not null)
            {
                unknown.Add(exposureUnknown);
            }
            else if (state is null)
            {
                unknown.Add("No Exchange Online mailbox by this name was found: SmtpAuthEnabled is empty.");
            }
            else
            {
                if (!string.IsNullOrEmpty(state.UnknownReasons))
                {
                    unknown.Add(state.UnknownReasons!);
                }

                if (state.BasicAuthVerdict == PolicyVerdict.Unknown && (entraSenders is null || !entraSenders.Contains(upn)))
                {
                    unknown.Add(_entraSkipped is not null ? _entraSkipped : entraSenders is null
                        ? "BasicAuthVerdict: the Entra settings it also depends on (security defaults, Conditional Access, per-user MFA, whether sign-in is allowed) were not read, because Microsoft Graph was not read or no mailbox signed in with basic auth; only the Exchange settings were, and none of them blocks basic auth. Get-SmtpAuthPolicyState gives the full verdict."
                        : "BasicAuthVerdict: the Entra settings it also depends on (security defaults, Conditional Access, per-user MFA, whether sign-in is allowed) are read only for mailboxes that signed in with basic auth; for this one only the Exchange settings were, and none of them blocks basic auth. Get-SmtpAuthPolicyState gives the full verdict.");
                }
            }

            c.UnknownReasons = unknown.Count == 0 ? null : string.Join(" ", unknown.Distinct(StringComparer.Ordinal));
            return c;
        }

        private static (SmtpAuthImpact, string) Impact(SenderUsage? s, bool usageRead, bool oauthOnly, string? usageUnknown)
        {
            if (oauthOnly && (s is null || s.Count == 0))
            {
                return (SmtpAuthImpact.Unaffected, "OAuth only (admin center report): the default-off does not touch it.");
            }

            if (!usageRead)
            {
                return (SmtpAuthImpact.Unknown, usageUnknown ?? "The sign-in log was not read.");
            }

            if (s is null || s.Count == 0)
            {
                return (SmtpAuthImpact.Unaffected, "No basic SMTP AUTH sign-in in the window.");
            }

            // The last error in words: the table's meaning (Microsoft's) and the cause it points at, or, for a code the
            // table does not know, that plainly and where Microsoft explains it (never the bare number).
            string code = s.LastErrorCode is int e
                ? ErrorCatalog.Embedded.DescribeSignInCode(e)
                : "?";
            if (s.TurnedToFailure)
            {
                return (SmtpAuthImpact.AlreadyFailing, string.Format(CultureInfo.InvariantCulture,
                    "Basic sign-ins succeeded until {0:u} and have failed since ({1} failures){3} Last error: {2}", s.LastSuccessUtc, s.FailuresSinceLastSuccess, code,
                    s.LastSuccessUtc >= DefaultOffUtc.AddDays(-1) ? ": the pattern of the basic-auth default-off." : "."));
            }

            if (s.Successes > 0)
            {
                return (SmtpAuthImpact.Breaks, string.Format(CultureInfo.InvariantCulture,
                    "{0} of {1} basic SMTP AUTH sign-ins succeeded, the last at {2:u}: this sender stops working when basic auth is disabled by default.", s.Successes, s.Count, s.LastSuccessUtc));
            }

            return (SmtpAuthImpact.AlreadyFailing, string.Format(CultureInfo.InvariantCulture,
                "All {0} basic SMTP AUTH sign-ins failed: it does not work today either. Last error: {1}", s.Count, code));
        }

        private static int ImpactOrder(SmtpAuthImpact impact) => impact switch
        {
            SmtpAuthImpact.Breaks => 0,
            SmtpAuthImpact.AlreadyFailing => 1,
            SmtpAuthImpact.Unknown => 2,
            _ => 3,
        };

        private async Task<bool> ReadSignInsAsync(SignInAggregator aggregator, List<string> reasons, CancellationToken cancellationToken)
        {
            if (_graph is null)
            {
                reasons.Add("Sign-ins: " + (_graphUnavailable ?? "Microsoft Graph is not connected") + "; usage fields are empty.");
                return false;
            }

            string since = _options.NowUtc.Date.AddDays(1 - _options.Days).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            // beta separates interactive and non-interactive sign-ins (signInEventTypes) and adds userAgent; v1.0 lists the
            // interactive ones. Beta first; v1.0 when beta refuses the filter.
            string filter = "createdDateTime ge " + since + " and clientAppUsed eq 'Authenticated SMTP'";
            string beta = "beta/auditLogs/signIns?$filter=" + Uri.EscapeDataString(filter + " and (signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser'))") + "&$top=1000";
            string v1 = "v1.0/auditLogs/signIns?$filter=" + Uri.EscapeDataString(filter) + "&$top=1000";
            GraphResult? failure = await PageAsync(beta, aggregator, cancellationToken).ConfigureAwait(false);
            if (failure is { Status: 400 } && aggregator.Rows == 0)
            {
                _sink.Verbose("Sign-ins: beta refused the event-type filter; reading v1.0 (interactive sign-ins only).");
                failure = await PageAsync(v1, aggregator, cancellationToken).ConfigureAwait(false);
            }

            if (failure is null)
            {
                return true;
            }

            reasons.Add("Sign-ins: " + Explain(failure) + (aggregator.Rows > 0 ? string.Format(CultureInfo.InvariantCulture, " (after {0} rows; the counts would be incomplete)", aggregator.Rows) : string.Empty) + "; usage fields are empty.");
            return false;
        }

        // The page after this one is already on its way while this one is aggregated (GraphReader.ForEachPageAsync); each
        // page is aggregated and let go: memory grows with senders, not sign-in rows.
        private Task<GraphResult?> PageAsync(string url, SignInAggregator aggregator, CancellationToken cancellationToken)
        {
            int page = 0;
            return _graph!.ForEachPageAsync(url, body =>
            {
                if (body.TryGetProperty("value", out JsonElement value) && value.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement row in value.EnumerateArray())
                    {
                        aggregator.Add(row);
                    }
                }

                page++;
                _sink.Progress("Get-SmtpAuthClient", string.Format(CultureInfo.CurrentCulture, "Sign-in log: {0:N0} sign-ins read ({1} pages)", aggregator.Rows, page), -1);
            }, cancellationToken);
        }

        private static string Explain(GraphResult r)
        {
            if (r.Status == 403 && string.Equals(r.ErrorCode, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", StringComparison.OrdinalIgnoreCase))
            {
                return "the sign-in log API needs an Entra ID P1 or P2 licence in the tenant (Graph answered 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant); without one, the Entra admin center shows 7 days of sign-ins, but not through the API";
            }

            if (r.Status == 403)
            {
                return "Graph refused the read (403 " + r.ErrorCode + "): it needs AuditLog.Read.All and Directory.Read.All (" + Policy.GraphPolicyReader.SignInRoles + ")";
            }

            if (r.Throttled is not null)
            {
                return "Graph kept throttling the read (" + r.Throttled + ")";
            }

            return string.Format(CultureInfo.InvariantCulture, "the read failed ({0} {1}: {2})", r.Status, r.ErrorCode, r.ErrorMessage);
        }

        private async Task<bool?> ReadRejectDirectSendAsync(CancellationToken cancellationToken)
        {
            bool? value = null;
            try
            {
                await _exchange!.InvokeAsync(new ExchangeCommand("Get-OrganizationConfig", new Dictionary<string, object?>(), s_rejectDirectSend), r => value = r.Bool("RejectDirectSend"), cancellationToken).ConfigureAwait(false);
            }
            catch (ExchangeCallException ex)
            {
                _sink.Verbose("Get-OrganizationConfig RejectDirectSend: " + ex.Message);
            }

            return value;
        }

        // Per sender: are all recipients in accepted domains? Get-MessageTraceV2 takes at most 10 days per query.
        // A sender whose trace could not be read, or was read only in part without an external recipient, gets the reason
        // in <paramref name="unread"/> (its UnknownReasons), and one warning sums them up.
        private async Task<Dictionary<string, (bool InternalOnly, int Messages)>> ReadTraceAsync(List<string> senders, List<string> reasons, Dictionary<string, string> unread, CancellationToken cancellationToken)
        {
            var result = new Dictionary<string, (bool, int)>(StringComparer.OrdinalIgnoreCase);
            if (_exchange is null || !_options.ReadMessageTrace || senders.Count == 0)
            {
                return result;
            }

            var domains = new List<string>();
            try
            {
                // -ResultSize Unlimited: the default is 1000 domains, and EXO's notice that more exist is a warning, which is silenced.
                await _exchange.InvokeAsync(new ExchangeCommand("Get-AcceptedDomain", new Dictionary<string, object?> { ["ResultSize"] = "Unlimited" }, s_domainName),
                    r =>
                    {
                        // Only authoritative domains have their mailboxes in this tenant; an InternalRelay domain's
                        // recipients may live elsewhere, which High Volume Email and Direct Send cannot reach.
                        string? type = r.Text("DomainType");
                        if (r.Text("DomainName") is string d && (type is null || string.Equals(type, "Authoritative", StringComparison.OrdinalIgnoreCase)))
                        {
                            domains.Add(d);
                        }
                    }, cancellationToken).ConfigureAwait(false);
            }
            catch (ExchangeCallException ex)
            {
                reasons.Add("Message trace: the accepted domains could not be read (" + ex.Message + "); InternalRecipientsOnly is empty.");
                return result;
            }

            DateTime end = _options.NowUtc;
            DateTime start = end.AddDays(-_options.Days);
            int budget = _options.MessageTraceQueryBudget;
            int done = 0;
            int overBudget = 0;
            int consecutiveFailures = 0;
            string? lastFailure = null;
            foreach (string sender in senders)
            {
                if (budget <= 0)
                {
                    overBudget++;
                    unread[sender] = string.Format(CultureInfo.InvariantCulture,
                        "Message trace was not read for this mailbox: this run used its {0} Get-MessageTraceV2 queries (the service allows about 100 per 5 minutes) on busier senders, so InternalRecipientsOnly is empty and the migration path is Review unless another fact decides. {1}",
                        _options.MessageTraceQueryBudget, TraceAdvice);
                    continue;
                }

                if (consecutiveFailures >= 2)
                {
                    // The trace failed for the last senders too (throttled, most often): more queries now only wait and fail.
                    unread[sender] = "Message trace was not tried for this mailbox, because it had just failed for other senders (" + lastFailure + "): InternalRecipientsOnly is empty and the migration path is Review unless another fact decides. " + TraceAdvice;
                    continue;
                }

                bool internalOnly = true;
                bool complete = true;
                int messages = 0;
                try
                {
                    for (DateTime windowEnd = end; windowEnd > start && internalOnly && complete; windowEnd = windowEnd.AddDays(-10))
                    {
                        DateTime windowStart = windowEnd.AddDays(-10) < start ? start : windowEnd.AddDays(-10);

                        // Get-MessageTraceV2 returns at most ResultSize rows (5,000 at most) and has no paging: a full
                        // answer is continued with -StartingRecipientAddress and -EndDate from its last row, as Microsoft's
                        // reference says. A full answer taken for the whole window could hide the one external recipient.
                        DateTime queryEnd = windowEnd;
                        string? startingRecipient = null;
                        while (true)
                        {
                            if (budget-- <= 0)
                            {
                                complete = false;
                                break;
                            }

                            var parameters = new Dictionary<string, object?> { ["SenderAddress"] = sender, ["StartDate"] = windowStart, ["EndDate"] = queryEnd, ["ResultSize"] = _options.MessageTraceResultSize };
                            if (startingRecipient is not null)
                            {
                                parameters["StartingRecipientAddress"] = startingRecipient;
                            }

                            int rows = 0;
                            string? lastRecipient = null;
                            DateTime? lastReceived = null;
                            await _exchange.InvokeAsync(new ExchangeCommand("Get-MessageTraceV2", parameters, s_traceRow), r =>
                            {
                                rows++;
                                messages++;
                                string? to = r.Text("RecipientAddress");
                                lastRecipient = to;
                                lastReceived = r.Date("Received");
                                int at = to?.LastIndexOf('@') ?? -1;
                                if (at < 0 || !domains.Any(d => string.Equals(d, to!.Substring(at + 1), StringComparison.OrdinalIgnoreCase)))
                                {
                                    internalOnly = false;
                                }
                            }, cancellationToken).ConfigureAwait(false);

                            if (rows < _options.MessageTraceResultSize || !internalOnly)
                            {
                                break;
                            }

                            if (lastRecipient is null || lastReceived is not DateTime next || (next.Ticks == queryEnd.Ticks && string.Equals(lastRecipient, startingRecipient, StringComparison.OrdinalIgnoreCase)))
                            {
                                // Nothing to continue from, or no progress: the rest of the window is unread.
                                complete = false;
                                break;
                            }

                            // The output's time stamps are UTC (Microsoft's reference), whatever Kind the session gives them.
                            queryEnd = next.Kind == DateTimeKind.Local ? next.ToUniversalTime() : DateTime.SpecifyKind(next, DateTimeKind.Utc);
                            startingRecipient = lastRecipient;
                        }
                    }

                    // An unfinished trace can still say "external" (one external recipient decides), never "internal only".
                    if (complete || !internalOnly)
                    {
                        result[sender] = (internalOnly, messages);
                    }
                    else
                    {
                        overBudget++;
                        unread[sender] = string.Format(CultureInfo.InvariantCulture,
                            "Message trace for this mailbox was read only in part ({0} messages, all internal, before this run's {1} Get-MessageTraceV2 queries ran out or an answer could not be continued): InternalRecipientsOnly is empty and the migration path is Review unless another fact decides. {2}",
                            messages, _options.MessageTraceQueryBudget, TraceAdvice);
                    }

                    consecutiveFailures = 0;
                }
                catch (ExchangeCallException ex)
                {
                    _sink.Verbose("Message trace for " + sender + ": " + ex.Message);
                    consecutiveFailures++;
                    lastFailure = ex.Message;
                    if (!internalOnly)
                    {
                        // An external recipient was already seen: that decides, whatever the rest of the window holds.
                        result[sender] = (false, messages);
                    }
                    else
                    {
                        unread[sender] = "Message trace could not be read for this mailbox (" + ex.Message + "): InternalRecipientsOnly is empty and the migration path is Review unless another fact decides. " + TraceAdvice;
                    }
                }

                done++;
                _sink.Progress("Get-SmtpAuthClient", string.Format(CultureInfo.CurrentCulture, "Message trace: {0} of {1} senders", done, senders.Count), done * 100 / senders.Count);
            }

            if (unread.Count > 0)
            {
                _sink.Warning(string.Format(CultureInfo.CurrentCulture,
                    "Message trace: {0} of {1} basic-auth senders could not be traced ({2} failed or throttled, {3} over this run's limit of {4} queries); their InternalRecipientsOnly is empty and their migration path is Review unless another fact decides (UnknownReasons says why for each). {5}",
                    unread.Count, senders.Count, unread.Count - overBudget, overBudget, _options.MessageTraceQueryBudget, TraceAdvice));
            }

            return result;
        }

        private const string TraceAdvice = "Get-MessageTraceV2 allows about 100 queries per 5 minutes: run Get-SmtpAuthClient again after 5 minutes, or with a smaller -Days (each sender takes one query per 10 days).";

        /// <summary>
        /// The text of a file given to -SmtpAuthReportPath. A byte order mark decides the encoding; without one, a file whose
        /// first characters come as a byte and a zero is UTF-16 (the report requested from the admin center, or
        /// Start-HistoricalSearch -ReportType SmtpCSReport, is read with Import-Csv -Encoding Unicode), otherwise UTF-8.
        /// </summary>
        public static string DecodeReport(byte[] bytes)
        {
            if (bytes is null)
            {
                throw new ArgumentNullException(nameof(bytes));
            }

            bool bom = (bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) || (bytes.Length >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)));
            if (!bom && bytes.Length >= 4)
            {
                if (bytes[0] != 0 && bytes[1] == 0 && bytes[2] != 0 && bytes[3] == 0)
                {
                    return Encoding.Unicode.GetString(bytes);
                }

                if (bytes[0] == 0 && bytes[1] != 0 && bytes[2] == 0 && bytes[3] != 0)
                {
                    return Encoding.BigEndianUnicode.GetString(bytes);
                }
            }

            using var reader = new StreamReader(new MemoryStream(bytes), new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
            return reader.ReadToEnd();
        }

        // The admin center's "SMTP AUTH clients" report as a CSV: the Export of its table (Microsoft's page names the
        // columns Sender address, Domain, TLS 1.0/1.1/1.2 and Messages sent; the "Authentication protocol" column came in
        // October 2024) or the detailed report it mails on request (Start-HistoricalSearch -ReportType SmtpCSReport, whose
        // columns are named senderName, senderDomain, authMethod, message_count, ...). Microsoft does not document either
        // header, so the columns are found by what their names say, and a file that is neither (a message trace, another
        // report) is said, not joined.
        private Dictionary<string, (string? Protocol, long? Messages)> ParseReport(string? csv, List<string> reasons)
        {
            var result = new Dictionary<string, (string?, long?)>(StringComparer.OrdinalIgnoreCase);
            if (string.IsNullOrWhiteSpace(csv))
            {
                return result;
            }

            if (csv!.StartsWith("PK\u0003\u0004", StringComparison.Ordinal))
            {
                // Start-HistoricalSearch (the requested report) can compress its file (-CompressFile), and Excel saves .xlsx.
                NotUsed(reasons, "The file given to -SmtpAuthReportPath is a ZIP archive or an Excel workbook, not a CSV; it was not used. Extract the CSV from the archive, or save the sheet as CSV, and give that.");
                return result;
            }

            List<string[]> rows = Csv(csv!);
            if (rows.Count == 0)
            {
                return result;
            }

            string[] header = rows[0].Select(h => h.Trim()).ToArray();
            int sender = Column(header, h => Has(h, "sender") && !Has(h, "domain") && !Has(h, "ip"));
            if (sender < 0)
            {
                sender = Column(header, h => Has(h, "address") && !Has(h, "ip") && !Has(h, "recipient") && !Has(h, "client"));
            }

            int domain = Column(header, h => Has(h, "domain") && !Has(h, "recipient"));
            int protocol = Column(header, h => Has(h, "auth") && (Has(h, "protocol") || Has(h, "method") || Has(h, "type") || Has(h, "mechanism")));
            if (protocol < 0)
            {
                protocol = Column(header, h => Has(h, "protocol") && !Has(h, "tls"));
            }

            int messages = Column(header, h => Has(h, "message") && (Has(h, "count") || Has(h, "sent") || Has(h, "number") || Has(h, "total")));
            if (messages < 0)
            {
                messages = Column(header, h => Has(h, "message") && !Has(h, "id") && !Has(h, "subject") && !Has(h, "trace") && !Has(h, "size"));
            }

            if (messages < 0)
            {
                // "Messaggi inviati" (the Italian admin center's name of the column, on Microsoft's Italian page).
                messages = Column(header, h => Has(h, "messag") && !Has(h, "id") && !Has(h, "subject") && !Has(h, "trace") && !Has(h, "size"));
            }

            if (sender < 0 || protocol < 0)
            {
                // An admin center in another language may name the columns in it (Microsoft's localized pages show the
                // report's columns translated). The values tell what the names do not: a column of nothing but Basic and
                // OAuth is the protocol, and beside one, a column of nothing but addresses is the sender. Without such a
                // protocol column, an unrecognized header stays unrecognized.
                List<string[]> data = rows.Skip(1).ToList();
                int byValue = protocol >= 0 && AllValues(data, protocol, v => Protocol(v) is "Basic" or "OAuth") ? protocol
                    : FirstColumn(header.Length, i => AllValues(data, i, v => Protocol(v) is "Basic" or "OAuth"));
                if (byValue >= 0)
                {
                    protocol = byValue;
                    if (sender < 0)
                    {
                        sender = FirstColumn(header.Length, i => i != byValue && AllValues(data, i, v => v.IndexOf('@') > 0 && !v.Any(char.IsWhiteSpace)));
                    }
                }
            }

            bool tls = header.Any(h => Has(h, "tls"));
            if (sender < 0)
            {
                NotUsed(reasons, "The SMTP AUTH clients report has no sender column (" + string.Join(", ", header) + "); it was not used.");
                return result;
            }

            if (protocol < 0 && messages < 0 && !tls)
            {
                // A sender column alone is what a message trace, or most any mail report, has too: joining it would list
                // every sender in it as an SMTP AUTH client.
                NotUsed(reasons, "The file given to -SmtpAuthReportPath is not the SMTP AUTH clients report: it has a sender column but no authentication protocol, message count or TLS column (" + string.Join(", ", header) + "); it was not used. Export it from the Exchange admin center, Reports > Mail flow > SMTP AUTH clients report.");
                return result;
            }

            foreach (string[] row in rows.Skip(1))
            {
                if (row.Length <= sender || string.IsNullOrWhiteSpace(row[sender]))
                {
                    continue;
                }

                string key = row[sender].Trim();
                if (key.IndexOf('@') < 0 && !key.Any(char.IsWhiteSpace) && domain >= 0 && row.Length > domain && !string.IsNullOrWhiteSpace(row[domain]))
                {
                    // A sender name beside its domain (the requested report's senderName and senderDomain).
                    key = key + "@" + row[domain].Trim();
                }

                string? proto = protocol >= 0 && row.Length > protocol ? Protocol(row[protocol]) : null;
                long? count = messages >= 0 && row.Length > messages ? Count(row[messages]) : null;
                if (result.TryGetValue(key, out (string? Protocol, long? Messages) seen))
                {
                    // One row per sender and protocol, or per day: both protocols, summed messages.
                    proto = string.Join(", ", new[] { seen.Protocol, proto }.Where(p => !string.IsNullOrEmpty(p)).Distinct(StringComparer.OrdinalIgnoreCase));
                    count = seen.Messages is null && count is null ? null : (seen.Messages ?? 0) + (count ?? 0);
                }

                result[key] = (string.IsNullOrEmpty(proto) ? null : proto, count);
            }

            _sink.Verbose(string.Format(CultureInfo.InvariantCulture, "SMTP AUTH clients report: {0} senders; sender column '{1}', protocol column '{2}', message column '{3}'.",
                result.Count, header[sender], protocol >= 0 ? header[protocol] : "none", messages >= 0 ? header[messages] : "none"));
            return result;
        }

        private void NotUsed(List<string> reasons, string reason)
        {
            reasons.Add(reason);
            _sink.Warning(reason);
        }

        private static int FirstColumn(int count, Func<int, bool> test)
        {
            for (int i = 0; i < count; i++)
            {
                if (test(i))
                {
                    return i;
                }
            }

            return -1;
        }

        // Every row has a value in the column, and every value passes.
        private static bool AllValues(List<string[]> rows, int column, Func<string, bool> test) =>
            rows.Count > 0 && rows.All(r => r.Length > column && r[column].Trim().Length > 0 && test(r[column].Trim()));

        private static bool Has(string header, string word) => header.IndexOf(word, StringComparison.OrdinalIgnoreCase) >= 0;

        private static int Column(string[] header, Func<string, bool> match) => Array.FindIndex(header, h => match(h));

        // "Basic Authentication" (the admin center's wording), "Basic", "OAuth", "OAuth2", "XOAUTH2": Basic or OAuth; any
        // other word is kept as it is and counts as neither.
        private static string? Protocol(string value)
        {
            string v = value.Trim();
            if (v.Length == 0)
            {
                return null;
            }

            bool oauth = Has(v, "oauth");
            bool basic = Has(v, "basic");
            return oauth && !basic ? "OAuth" : basic && !oauth ? "Basic" : v;
        }

        // A whole number, its thousands grouped or not ("3615", "3,615", "3.615", "3 615", "3'615"); anything else is no count.
        private static long? Count(string value)
        {
            string v = value.Trim();
            if (v.Length == 0 || !System.Text.RegularExpressions.Regex.IsMatch(v, @"^(\d+|\d{1,3}([,.'\u00A0\u202F ]\d{3})+)$"))
            {
                return null;
            }

            string digits = new string(v.Where(char.IsDigit).ToArray());
            return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : null;
        }

        // The separator is the one of comma, semicolon and tab that the header line has most of (Excel saves with the
        // locale's list separator, often a semicolon), or the one an Excel "sep=" first line names.
        private static List<string[]> Csv(string text)
        {
            text = text.TrimStart('\uFEFF');
            char separator = ',';
            if (text.StartsWith("sep=", StringComparison.OrdinalIgnoreCase) && text.Length > 4)
            {
                separator = text[4];
                int end = text.IndexOf('\n');
                text = end < 0 ? string.Empty : text.Substring(end + 1);
            }
            else
            {
                int commas = 0, semicolons = 0, tabs = 0;
                bool inQuotes = false;
                foreach (char ch in text)
                {
                    if (ch == '"')
                    {
                        inQuotes = !inQuotes;
                    }
                    else if (!inQuotes && (ch == '\n' || ch == '\r'))
                    {
                        break;
                    }
                    else if (!inQuotes)
                    {
                        commas += ch == ',' ? 1 : 0;
                        semicolons += ch == ';' ? 1 : 0;
                        tabs += ch == '\t' ? 1 : 0;
                    }
                }

                separator = semicolons > commas && semicolons >= tabs ? ';' : tabs > commas && tabs > semicolons ? '\t' : ',';
            }

            var rows = new List<string[]>();
            var field = new StringBuilder();
            var row = new List<string>();
            bool quoted = false;
            for (int i = 0; i < text.Length; i++)
            {
                char ch = text[i];
                if (quoted)
                {
                    if (ch == '"' && i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else if (ch == '"')
                    {
                        quoted = false;
                    }
                    else
                    {
                        field.Append(ch);
                    }
                }
                else if (ch == '"')
                {
                    quoted = true;
                }
                else if (ch == separator)
                {
                    row.Add(field.ToString());
                    field.Clear();
                }
                else if (ch == '\n' || ch == '\r')
                {
                    if (ch == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                    {
                        i++;
                    }

                    row.Add(field.ToString());
                    field.Clear();
                    if (row.Any(f => f.Length > 0))
                    {
                        rows.Add(row.ToArray());
                    }

                    row.Clear();
                }
                else if (ch != '\uFEFF')
                {
                    field.Append(ch);
                }
            }

            row.Add(field.ToString());
            if (row.Any(f => f.Length > 0))
            {
                rows.Add(row.ToArray());
            }

            return rows;
        }

        private static bool IsPublic(string ip)
        {
            if (!IPAddress.TryParse(ip, out IPAddress? a))
            {
                return false;
            }

            if (IPAddress.IsLoopback(a))
            {
                return false;
            }

            byte[] b = a.GetAddressBytes();
            if (a.AddressFamily == AddressFamily.InterNetwork)
            {
                return !(b[0] == 10 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] == 0);
            }

            return !(a.IsIPv6LinkLocal || a.IsIPv6SiteLocal || (b[0] & 0xFE) == 0xFC);
        }
    }

    /// <summary>The Entra half of the policy state for the mailboxes that signed in with basic auth only (the others keep the Exchange half).</summary>
    internal sealed class SendersOnlyGraphReader : IMailboxGraphReader
    {
        private readonly IMailboxGraphReader _inner;
        private readonly HashSet<string> _senders;

        public SendersOnlyGraphReader(IMailboxGraphReader inner, IEnumerable<string> senders)
        {
            _inner = inner;
            _senders = new HashSet<string>(senders, StringComparer.OrdinalIgnoreCase);
        }

        public Task ReadTenantAsync(TenantPolicyData tenant, CancellationToken token) => _inner.ReadTenantAsync(tenant, token);

        public Task ReadUsersAsync(TenantPolicyData tenant, IReadOnlyList<MailboxPolicyData> mailboxes, CancellationToken token)
        {
            List<MailboxPolicyData> senders = mailboxes.Where(m => (m.UserPrincipalName is string upn && _senders.Contains(upn)) || (m.PrimarySmtpAddress is string smtp && _senders.Contains(smtp))).ToList();
            return senders.Count == 0 ? Task.CompletedTask : _inner.ReadUsersAsync(tenant, senders, token);
        }
    }
}
