using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.Engine.Policy
{
    /// <summary>
    /// The Graph half of a mailbox's policy state, read per batch. <see cref="PolicyStateReader"/> knows it only through
    /// this interface: a read that has no Graph half (Get-SmtpAuthClient reads Exchange only) then never loads the Microsoft
    /// Graph SDK's service library (44 MB), which <see cref="GraphPolicyReader"/>'s fields and methods refer to.
    /// </summary>
    public interface IMailboxGraphReader
    {
        /// <summary>Reads the tenant's Entra settings (security defaults, Conditional Access) into <paramref name="tenant"/>, once per run.</summary>
        Task ReadTenantAsync(TenantPolicyData tenant, CancellationToken token);

        /// <summary>Reads the Entra settings of <paramref name="mailboxes"/> into them (and the tenant's into <paramref name="tenant"/>).</summary>
        Task ReadUsersAsync(TenantPolicyData tenant, IReadOnlyList<MailboxPolicyData> mailboxes, CancellationToken token);
    }

    /// <summary>What a policy read covers.</summary>
    public sealed class PolicyReadOptions
    {
        /// <summary>The kinds of mailbox a tenant-wide read lists (Get-EXOMailbox -RecipientTypeDetails).</summary>
        public static readonly IReadOnlyList<string> SendingMailboxTypes = new[] { "UserMailbox", "SharedMailbox" };

        /// <summary>An app (client id) to check for app-only OAuth.</summary>
        public string? ClientId { get; set; }

        /// <summary>A sender address to check SendAs rights for.</summary>
        public string? From { get; set; }

        /// <summary>Mailbox kinds for a tenant-wide read; default: every kind that can send through SMTP AUTH (user and shared).</summary>
        public IReadOnlyList<string> RecipientTypeDetails { get; set; } = SendingMailboxTypes;

        /// <summary>At most this many mailboxes in a tenant-wide read; null for all (Get-EXOMailbox -ResultSize Unlimited).</summary>
        public int? ResultSize { get; set; }

        /// <summary>Mailboxes per filtered call and per Graph batch.</summary>
        public int BatchSize { get; set; } = 50;
    }

    /// <summary>
    /// OPATH filters for the EXO cmdlets (https://learn.microsoft.com/powershell/exchange/filter-properties): one builder,
    /// so every value is quoted the same way: in single quotes, a single quote doubled.
    /// </summary>
    public static class Opath
    {
        /// <summary>A quoted OPATH string literal.</summary>
        public static string Quote(string value) => "'" + (value ?? throw new ArgumentNullException(nameof(value))).Replace("'", "''") + "'";

        /// <summary>"Property -eq 'value'".</summary>
        public static string Equal(string property, string value) => property + " -eq " + Quote(value);

        /// <summary>Any of the clauses.</summary>
        public static string AnyOf(IEnumerable<string> clauses) => string.Join(" -or ", clauses);
    }

    /// <summary>
    /// The policy read (DESIGN layer 2): which Exchange Online cmdlets, with which filters, in which batches, with which
    /// fallbacks, and the Graph half per batch; immutable states out (PolicyEvaluator). Talks to Exchange only through
    /// <see cref="IExchangeSession"/>, so that it is unit-tested with fake sessions; the cmdlet is a thin binder.
    /// </summary>
    public sealed class PolicyStateReader : IPolicyStateSource
    {
        private static readonly string[] s_mailboxProperties = { "UserPrincipalName", "PrimarySmtpAddress", "RecipientTypeDetails", "ExternalDirectoryObjectId" };
        private static readonly string[] s_casProperties = { "PrimarySmtpAddress", "SmtpClientAuthenticationDisabled" };
        private static readonly string[] s_smtpProperty = { "SmtpClientAuthenticationDisabled" };
        private static readonly string[] s_userProperties = { "UserPrincipalName", "AuthenticationPolicy" };
        private static readonly string[] s_policyKeys = { "Name", "Identity", "DistinguishedName", "Guid" };
        private static readonly string[] s_policyProperties = { "Name", "Identity", "DistinguishedName", "Guid", "AllowBasicAuthSmtp" };
        private static readonly string[] s_transportProperties = { "SmtpClientAuthenticationDisabled", "AllowLegacyTLSClients" };
        private static readonly string[] s_orgProperties = { "DefaultAuthenticationPolicy" };
        private static readonly string[] s_spProperties = { "AppId", "ObjectId", "Identity" };
        private static readonly string[] s_sendAsProperties = { "AccessControlType", "Trustee" };
        private static readonly string[] s_permissionProperties = { "AccessRights", "Deny" };
        private static readonly Dictionary<string, object?> s_noParameters = new Dictionary<string, object?>();

        private readonly IExchangeSession _exchange;
        private readonly PolicyReadOptions _options;
        private readonly IDiagnosticSink _sink;
        private readonly Func<DateTime> _clock;
        private HashSet<string>? _sendAsTrustees;
        private string? _spIdentity;
        private bool? _spRegistered;
        private string? _spUnknown;

        /// <summary>Creates a reader over an Exchange session.</summary>
        public PolicyStateReader(IExchangeSession exchange, PolicyReadOptions options, IDiagnosticSink sink, Func<DateTime>? clock = null)
        {
            _exchange = exchange ?? throw new ArgumentNullException(nameof(exchange));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _sink = sink ?? throw new ArgumentNullException(nameof(sink));
            _clock = clock ?? (() => DateTime.UtcNow);
        }

        /// <summary>The organization's settings, filled by <see cref="ReadTenantAsync"/> (and by the Graph reader).</summary>
        public TenantPolicyData Tenant { get; } = new TenantPolicyData();

        /// <summary>The Graph half, when Graph is read: Entra settings per batch of mailboxes (a <see cref="GraphPolicyReader"/>).</summary>
        public IMailboxGraphReader? Graph { get; set; }

        /// <inheritdoc />
        public int? Total { get; private set; }

        /// <inheritdoc />
        public string? ServicePrincipalObjectId { get; private set; }

        /// <inheritdoc />
        public async Task ReadTenantAsync(CancellationToken cancellationToken)
        {
            try
            {
                ExchangeRecord? transport = await FirstAsync("Get-TransportConfig", s_noParameters, s_transportProperties, cancellationToken).ConfigureAwait(false);
                Tenant.TransportRead = transport is not null;
                Tenant.SmtpAuthDisabled = transport?.Bool("SmtpClientAuthenticationDisabled");
                Tenant.AllowLegacyTls = transport?.Bool("AllowLegacyTLSClients");
            }
            catch (ExchangeCallException ex)
            {
                Tenant.UnknownReasons.Add(ReadFailed("Organization SMTP AUTH (Get-TransportConfig)", ex));
            }

            try
            {
                ExchangeRecord? org = await FirstAsync("Get-OrganizationConfig", s_noParameters, s_orgProperties, cancellationToken).ConfigureAwait(false);
                Tenant.OrganizationRead = org is not null;
                Tenant.DefaultAuthenticationPolicy = org?.Text("DefaultAuthenticationPolicy");
            }
            catch (ExchangeCallException ex)
            {
                Tenant.UnknownReasons.Add(ReadFailed("Default authentication policy (Get-OrganizationConfig)", ex));
            }

            try
            {
                var policies = new Dictionary<string, (string, bool?)>(StringComparer.OrdinalIgnoreCase);
                await _exchange.InvokeAsync(new ExchangeCommand("Get-AuthenticationPolicy", s_noParameters, s_policyProperties), p =>
                {
                    string name = p.Text("Name") ?? p.Text("Identity") ?? "?";
                    bool? allow = p.Bool("AllowBasicAuthSmtp");
                    foreach (string key in s_policyKeys.Select(p.Text).OfType<string>())
                    {
                        policies[key] = (name, allow);
                    }
                }, cancellationToken).ConfigureAwait(false);
                Tenant.AuthenticationPolicies = policies;
            }
            catch (ExchangeCallException ex)
            {
                Tenant.UnknownReasons.Add(ReadFailed("Authentication policies (Get-AuthenticationPolicy)", ex));
            }

            await ReadAppAndSendAsAsync(cancellationToken).ConfigureAwait(false);
        }

        /// <inheritdoc />
        public async Task<IReadOnlyList<PolicyStateResult>> ReadAsync(IReadOnlyList<string> identities, CancellationToken cancellationToken)
        {
            var results = new List<PolicyStateResult>();
            for (int i = 0; i < identities.Count; i += _options.BatchSize)
            {
                List<string> batch = identities.Skip(i).Take(_options.BatchSize).ToList();
                results.AddRange(await ReadBatchAsync(batch, cancellationToken).ConfigureAwait(false));
            }

            return results;
        }

        /// <inheritdoc />
        public async Task ReadAllAsync(Func<IReadOnlyList<SmtpAuthPolicyState>, Task> onBatch, CancellationToken cancellationToken)
        {
            // Each listing is streamed and kept only as the few strings the state needs (a few hundred bytes a mailbox).
            var mailboxes = new List<MailboxPolicyData>();
            var parameters = new Dictionary<string, object?>
            {
                ["ResultSize"] = _options.ResultSize is int n ? n : (object)"Unlimited",
                ["RecipientTypeDetails"] = _options.RecipientTypeDetails.ToArray(),
                ["Properties"] = s_mailboxProperties,
            };
            await _exchange.InvokeAsync(new ExchangeCommand("Get-EXOMailbox", parameters, s_mailboxProperties), m => mailboxes.Add(NewMailbox(m)), cancellationToken).ConfigureAwait(false);
            Total = mailboxes.Count;
            _sink.Verbose(string.Format(CultureInfo.InvariantCulture, "{0} mailboxes ({1}).", mailboxes.Count, string.Join(", ", _options.RecipientTypeDetails)));

            // A bounded read (-ResultSize) reads the CAS and user settings per batch; a whole-tenant read lists each once.
            Dictionary<string, bool?>? cas = null;
            Dictionary<string, string?>? policies = null;
            if (_options.ResultSize is null)
            {
                cas = await ListCasAsync(cancellationToken).ConfigureAwait(false);
                policies = await ListUserPoliciesAsync(cancellationToken).ConfigureAwait(false);
            }

            for (int i = 0; i < mailboxes.Count; i += _options.BatchSize)
            {
                List<MailboxPolicyData> chunk = mailboxes.GetRange(i, Math.Min(_options.BatchSize, mailboxes.Count - i));
                await onBatch(await DetailsAsync(chunk, cas, policies, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            }
        }

        private async Task ReadAppAndSendAsAsync(CancellationToken cancellationToken)
        {
            if (_options.ClientId is string clientId)
            {
                try
                {
                    // "A non-existent value for the Identity parameter returns *all* objects"
                    // (https://learn.microsoft.com/powershell/module/exchangepowershell/get-serviceprincipal): the answer is
                    // this app's only when a record names it (AppId or ObjectId); a lone record without an AppId is taken.
                    var answered = new List<ExchangeRecord>();
                    await _exchange.InvokeAsync(new ExchangeCommand("Get-ServicePrincipal", new Dictionary<string, object?> { ["Identity"] = clientId }, s_spProperties), answered.Add, cancellationToken).ConfigureAwait(false);
                    ExchangeRecord? sp = answered.FirstOrDefault(r => string.Equals(r.Text("AppId")?.Trim(), clientId.Trim(), StringComparison.OrdinalIgnoreCase) ||
                            string.Equals(r.Text("ObjectId")?.Trim(), clientId.Trim(), StringComparison.OrdinalIgnoreCase))
                        ?? (answered.Count == 1 && answered[0].Text("AppId") is null ? answered[0] : null);
                    _spRegistered = sp is not null;
                    ServicePrincipalObjectId = sp?.Text("ObjectId");
                    _spIdentity = sp?.Text("Identity") ?? ServicePrincipalObjectId;
                }
                catch (ExchangeCallException ex) when (ex.NotFound)
                {
                    _spRegistered = false;
                }
                catch (ExchangeCallException ex)
                {
                    _spUnknown = ReadFailed("Exchange service principal (Get-ServicePrincipal)", ex);
                }
            }

            if (_options.From is string from)
            {
                try
                {
                    var trustees = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                    await _exchange.InvokeAsync(
                        // -ResultSize Unlimited: the default is 1000 entries, and EXO's notice that more exist is a warning, which is silenced.
                        new ExchangeCommand("Get-RecipientPermission", new Dictionary<string, object?> { ["Identity"] = from, ["AccessRights"] = "SendAs", ["ResultSize"] = "Unlimited" }, s_sendAsProperties),
                        p =>
                        {
                            if (!string.Equals(p.Text("AccessControlType"), "Deny", StringComparison.OrdinalIgnoreCase))
                            {
                                trustees.Add(p.Text("Trustee") ?? string.Empty);
                            }
                        },
                        cancellationToken).ConfigureAwait(false);
                    _sendAsTrustees = trustees;
                }
                catch (ExchangeCallException ex)
                {
                    _sink.Warning(ReadFailed("SendAs rights (Get-RecipientPermission)", ex));
                }
            }
        }

        // One filtered call for the batch; identities the filter cannot match (aliases, names, GUIDs) one by one.
        private async Task<List<PolicyStateResult>> ReadBatchAsync(List<string> ids, CancellationToken cancellationToken)
        {
            string filter = Opath.AnyOf(ids.SelectMany(i => new[] { Opath.Equal("UserPrincipalName", i), Opath.Equal("PrimarySmtpAddress", i) }));
            var byId = new Dictionary<string, MailboxPolicyData>(StringComparer.OrdinalIgnoreCase);
            string? listFailure = null;
            try
            {
                await _exchange.InvokeAsync(
                    new ExchangeCommand("Get-EXOMailbox", new Dictionary<string, object?> { ["Filter"] = filter, ["ResultSize"] = "Unlimited", ["Properties"] = s_mailboxProperties }, s_mailboxProperties),
                    m =>
                    {
                        MailboxPolicyData d = NewMailbox(m);
                        foreach (string? key in new[] { d.UserPrincipalName, d.PrimarySmtpAddress })
                        {
                            if (key is not null)
                            {
                                byId[key] = d;
                            }
                        }
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (ExchangeCallException ex)
            {
                listFailure = ex.Message;
            }

            // The result slot of each identity, in input order; null data means "not found".
            var slots = new List<(string Id, MailboxPolicyData? Data, bool Partial)>();
            foreach (string id in ids)
            {
                if (byId.TryGetValue(id, out MailboxPolicyData? found))
                {
                    slots.Add((id, found, false));
                    continue;
                }

                try
                {
                    // One identity names one mailbox. More than one answer (Microsoft's pages warn that "a non-existent value for
                    // the Identity parameter returns *all* objects") names none of them for sure: the first is not taken.
                    ExchangeRecord? single = null;
                    int answers = 0;
                    await _exchange.InvokeAsync(new ExchangeCommand("Get-EXOMailbox", new Dictionary<string, object?> { ["Identity"] = id, ["Properties"] = s_mailboxProperties }, s_mailboxProperties),
                        r => { answers++; single ??= r; }, cancellationToken).ConfigureAwait(false);
                    if (answers > 1)
                    {
                        var partial = new MailboxPolicyData { UserPrincipalName = id };
                        partial.UnknownReasons.Add(string.Format(CultureInfo.InvariantCulture,
                            "Mailbox (Get-EXOMailbox): {0} mailboxes answered to '{1}', so none of them is taken for it; name the mailbox by its UPN or primary SMTP address.", answers, id));
                        slots.Add((id, partial, true));
                        continue;
                    }

                    slots.Add((id, single is null ? null : NewMailbox(single), false));
                }
                catch (ExchangeCallException ex) when (ex.NotFound)
                {
                    slots.Add((id, null, false));
                }
                catch (ExchangeCallException ex)
                {
                    // The read failed, not the mailbox: the state with what is known (never lose a mailbox).
                    var partial = new MailboxPolicyData { UserPrincipalName = id };
                    partial.UnknownReasons.Add(string.Format(CultureInfo.InvariantCulture, "{0}: the read failed ({1}).", "Mailbox (Get-EXOMailbox)", listFailure ?? ex.Message));
                    slots.Add((id, partial, true));
                }
            }

            // The same mailbox named twice (UPN and address) is read once and reported for each name.
            List<MailboxPolicyData> toRead = slots.Where(s => s.Data is not null && !s.Partial).Select(s => s.Data!).Distinct().ToList();
            IReadOnlyList<SmtpAuthPolicyState> states = await DetailsAsync(toRead, null, null, cancellationToken).ConfigureAwait(false);
            var stateOf = new Dictionary<MailboxPolicyData, SmtpAuthPolicyState>();
            for (int i = 0; i < toRead.Count; i++)
            {
                stateOf[toRead[i]] = states[i];
            }

            List<MailboxPolicyData> partials = slots.Where(s => s.Partial).Select(s => s.Data!).ToList();
            IReadOnlyList<SmtpAuthPolicyState> partialStates = partials.Count == 0 ? Array.Empty<SmtpAuthPolicyState>() : await EvaluateAsync(partials, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < partials.Count; i++)
            {
                stateOf[partials[i]] = partialStates[i];
            }

            return slots.Select(s => new PolicyStateResult(s.Id, s.Data is null ? null : stateOf[s.Data])).ToList();
        }

        private async Task<Dictionary<string, bool?>?> ListCasAsync(CancellationToken cancellationToken)
        {
            var cas = new Dictionary<string, bool?>(StringComparer.OrdinalIgnoreCase);
            try
            {
                await _exchange.InvokeAsync(
                    new ExchangeCommand("Get-EXOCasMailbox", new Dictionary<string, object?> { ["ResultSize"] = "Unlimited", ["Properties"] = s_smtpProperty }, s_casProperties),
                    c =>
                    {
                        if (c.Text("PrimarySmtpAddress") is string address)
                        {
                            cas[address] = c.Bool("SmtpClientAuthenticationDisabled");
                        }
                    },
                    cancellationToken).ConfigureAwait(false);
                return cas;
            }
            catch (ExchangeCallException ex)
            {
                // A failed bulk read falls back to per-batch reads.
                _sink.Verbose("Listing every CAS mailbox failed; reading them per batch: " + ex.Message);
                return null;
            }
        }

        private async Task<Dictionary<string, string?>?> ListUserPoliciesAsync(CancellationToken cancellationToken)
        {
            var policies = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            try
            {
                // Only users with a policy of their own; everyone else gets the organization default.
                await _exchange.InvokeAsync(
                    new ExchangeCommand("Get-User", new Dictionary<string, object?> { ["ResultSize"] = "Unlimited", ["Filter"] = "AuthenticationPolicy -ne $null" }, s_userProperties),
                    u =>
                    {
                        if (u.Text("UserPrincipalName") is string upn)
                        {
                            policies[upn] = u.Text("AuthenticationPolicy");
                        }
                    },
                    cancellationToken).ConfigureAwait(false);
                return policies;
            }
            catch (ExchangeCallException ex)
            {
                _sink.Verbose("Listing users with an authentication policy failed; reading them per batch: " + ex.Message);
                return null;
            }
        }

        // The CAS switch, the user's authentication policy, the app-only and SendAs checks, then Graph and the verdicts.
        private async Task<IReadOnlyList<SmtpAuthPolicyState>> DetailsAsync(List<MailboxPolicyData> data, Dictionary<string, bool?>? casByAddress, Dictionary<string, string?>? policyByUpn, CancellationToken cancellationToken)
        {
            if (data.Count == 0)
            {
                return Array.Empty<SmtpAuthPolicyState>();
            }

            string? casFailure = null;
            if (casByAddress is null)
            {
                casByAddress = new Dictionary<string, bool?>(StringComparer.OrdinalIgnoreCase);
                Dictionary<string, bool?> read = casByAddress;
                try
                {
                    string filter = Opath.AnyOf(data.Where(d => d.PrimarySmtpAddress is not null).Select(d => Opath.Equal("PrimarySmtpAddress", d.PrimarySmtpAddress!)));
                    await _exchange.InvokeAsync(
                        new ExchangeCommand("Get-EXOCasMailbox", new Dictionary<string, object?> { ["Filter"] = filter, ["ResultSize"] = "Unlimited", ["Properties"] = s_smtpProperty }, s_casProperties),
                        c =>
                        {
                            if (c.Text("PrimarySmtpAddress") is string address)
                            {
                                read[address] = c.Bool("SmtpClientAuthenticationDisabled");
                            }
                        },
                        cancellationToken).ConfigureAwait(false);
                }
                catch (ExchangeCallException ex)
                {
                    casFailure = ReadFailed("Mailbox SMTP AUTH (Get-EXOCasMailbox)", ex);
                }
            }

            string? userFailure = null;
            if (policyByUpn is null)
            {
                policyByUpn = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                Dictionary<string, string?> read = policyByUpn;
                try
                {
                    string filter = Opath.AnyOf(data.Where(d => d.UserPrincipalName is not null).Select(d => Opath.Equal("UserPrincipalName", d.UserPrincipalName!)));
                    await _exchange.InvokeAsync(
                        new ExchangeCommand("Get-User", new Dictionary<string, object?> { ["Filter"] = filter, ["ResultSize"] = "Unlimited" }, s_userProperties),
                        u =>
                        {
                            if (u.Text("UserPrincipalName") is string upn)
                            {
                                read[upn] = u.Text("AuthenticationPolicy");
                            }
                        },
                        cancellationToken).ConfigureAwait(false);
                }
                catch (ExchangeCallException ex)
                {
                    userFailure = ReadFailed("User authentication policy (Get-User)", ex);
                }
            }

            foreach (MailboxPolicyData d in data)
            {
                if (casFailure is not null)
                {
                    d.UnknownReasons.Add(casFailure);
                }
                else if (d.PrimarySmtpAddress is not null && casByAddress.TryGetValue(d.PrimarySmtpAddress, out bool? disabled))
                {
                    d.CasRead = true;
                    d.MailboxSmtpAuthDisabled = disabled;
                }

                if (userFailure is not null)
                {
                    d.UnknownReasons.Add(userFailure);
                }
                else
                {
                    d.UserRead = true;
                    d.UserAuthenticationPolicy = d.UserPrincipalName is not null && policyByUpn.TryGetValue(d.UserPrincipalName, out string? policy) ? policy : null;
                }

                await ReadAppOnlyAsync(d, cancellationToken).ConfigureAwait(false);
                if (_options.From is string from)
                {
                    d.From = from;
                    d.SendAsAllowed = string.Equals(from, d.PrimarySmtpAddress, StringComparison.OrdinalIgnoreCase) || string.Equals(from, d.UserPrincipalName, StringComparison.OrdinalIgnoreCase)
                        ? true
                        : _sendAsTrustees is null ? null : _sendAsTrustees.Contains(d.UserPrincipalName ?? string.Empty) || _sendAsTrustees.Contains(d.PrimarySmtpAddress ?? string.Empty);
                }
            }

            return await EvaluateAsync(data, cancellationToken).ConfigureAwait(false);
        }

        private async Task ReadAppOnlyAsync(MailboxPolicyData d, CancellationToken cancellationToken)
        {
            if (_options.ClientId is null)
            {
                return;
            }

            d.ClientId = _options.ClientId;
            d.ServicePrincipalRegistered = _spRegistered;
            if (_spUnknown is not null)
            {
                d.UnknownReasons.Add(_spUnknown);
            }

            if (_spRegistered != true || d.UserPrincipalName is null)
            {
                // No Exchange service principal: its mailbox permission cannot exist, and is not the deciding fact.
                return;
            }

            try
            {
                bool access = false;
                await _exchange.InvokeAsync(
                    new ExchangeCommand("Get-MailboxPermission", new Dictionary<string, object?> { ["Identity"] = d.UserPrincipalName, ["User"] = _spIdentity }, s_permissionProperties),
                    p => access |= (p.Text("AccessRights") ?? string.Empty).IndexOf("FullAccess", StringComparison.OrdinalIgnoreCase) >= 0 && p.Bool("Deny") != true,
                    cancellationToken).ConfigureAwait(false);
                d.ServicePrincipalHasMailboxAccess = access;
            }
            catch (ExchangeCallException ex) when (ex.NotFound)
            {
                d.ServicePrincipalHasMailboxAccess = false;
            }
            catch (ExchangeCallException ex)
            {
                d.UnknownReasons.Add(ReadFailed("Service principal mailbox permission (Get-MailboxPermission)", ex));
            }
        }

        // The Graph half for the batch (a failure of Graph as a whole leaves the Exchange half standing), then the verdicts.
        private async Task<IReadOnlyList<SmtpAuthPolicyState>> EvaluateAsync(List<MailboxPolicyData> data, CancellationToken cancellationToken)
        {
            if (Graph is IMailboxGraphReader graph)
            {
                try
                {
                    await graph.ReadUsersAsync(Tenant, data, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    foreach (MailboxPolicyData d in data)
                    {
                        d.UnknownReasons.Add(string.Format(CultureInfo.InvariantCulture, "Microsoft Graph: the read failed ({0}).", ex.Message));
                    }
                }
            }

            DateTime now = _clock();
            return data.Select(d => PolicyEvaluator.Evaluate(Tenant, d, now)).ToList();
        }

        private async Task<ExchangeRecord?> FirstAsync(string command, Dictionary<string, object?> parameters, IReadOnlyList<string> properties, CancellationToken cancellationToken)
        {
            ExchangeRecord? first = null;
            await _exchange.InvokeAsync(new ExchangeCommand(command, parameters, properties), r => first ??= r, cancellationToken).ConfigureAwait(false);
            return first;
        }

        private static MailboxPolicyData NewMailbox(ExchangeRecord m) => new MailboxPolicyData
        {
            UserPrincipalName = m.Text("UserPrincipalName"),
            PrimarySmtpAddress = m.Text("PrimarySmtpAddress"),
            RecipientTypeDetails = m.Text("RecipientTypeDetails"),
            ExternalDirectoryObjectId = m.Text("ExternalDirectoryObjectId"),
        };

        private static string ReadFailed(string what, ExchangeCallException ex) =>
            string.Format(CultureInfo.InvariantCulture, "{0}: the read failed ({1}).", what, ex.Message);
    }
}
