using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Security;
using System.Security.Cryptography.X509Certificates;

// Engine objects are held as object or IDisposable on purpose: no field, parameter or return type of a cmdlet class
// may name an engine type (STYLE rule 38), which CA1859 would otherwise ask for.
#pragma warning disable CA1859

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// <para type="synopsis">Reads every setting that decides SMTP AUTH for a mailbox, from Exchange Online and Microsoft Graph.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "SmtpAuthPolicyState", DefaultParameterSetName = IdentitySet)]
    [OutputType(typeof(SmtpAuthPolicyState))]
    public sealed class GetSmtpAuthPolicyStateCommand : SmtpAuthCmdletBase
    {
        private const string IdentitySet = "Identity";
        private const string AllSet = "All";
        private const int BatchSize = 50;
        private const int ProgressId = ProgressActivityId + 1;

        private static readonly Dictionary<SmtpCloudEnvironment, string> s_graphEndpoints = new Dictionary<SmtpCloudEnvironment, string>
        {
            [SmtpCloudEnvironment.Global] = "https://graph.microsoft.com/",
            [SmtpCloudEnvironment.USGovGCCHigh] = "https://graph.microsoft.us/",
            [SmtpCloudEnvironment.USGovDoD] = "https://dod-graph.microsoft.us/",
            [SmtpCloudEnvironment.China] = "https://microsoftgraph.chinacloudapi.cn/",
        };

        private static readonly string[] s_mailboxProperties = { "UserPrincipalName", "PrimarySmtpAddress", "RecipientTypeDetails", "ExternalDirectoryObjectId" };
        private static readonly string[] s_smtpProperty = { "SmtpClientAuthenticationDisabled" };
        private static readonly string[] s_policyKeys = { "Name", "Identity", "DistinguishedName", "Guid" };
        private static readonly string[] s_userMailbox = { "UserMailbox" };

        private readonly List<string> _batch = new List<string>();
        private ExchangeReader _exchange = null!;
        // Engine objects are held as object (STYLE rule 38).
        private object _tenant = null!;
        private object? _graphReader;
        private IDisposable? _transportToDispose;
        private string? _graphUnavailable;
        private HashSet<string>? _sendAsTrustees;
        private string? _spIdentity;
        private string? _spObjectId;
        private bool? _spRegistered;
        private string? _spUnknown;
        private int _processed;
        private int? _total;

        #region Parameters

        /// <summary>The mailbox: UPN, primary SMTP address or any Exchange identity.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ParameterSetName = IdentitySet)]
        [ValidateNotNullOrEmpty]
        public string[]? Identity { get; set; }

        /// <summary>Binds Get-EXOMailbox, Get-MgUser and Test-SmtpAuth objects by property name.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = IdentitySet, DontShow = true)]
        [Alias("PrimarySmtpAddress", "UserName", "Mail")]
        public string? UserPrincipalName { get; set; }

        /// <summary>Read every user mailbox in the organization.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AllSet)]
        public SwitchParameter All { get; set; }

        /// <summary>An app (client id) to check for app-only OAuth: its service principal, mailbox permission and SMTP.SendAsApp.</summary>
        [Parameter]
        [Alias("AppId")]
        [ValidateNotNullOrEmpty]
        public string? ClientId { get; set; }

        /// <summary>A sender address to check SendAs rights for.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? From { get; set; }

        /// <summary>How far back to read "Authenticated SMTP" sign-ins (hours, default 24).</summary>
        [Parameter]
        [ValidateRange(1, 720)]
        public int SignInLookbackHours { get; set; } = 24;

        /// <summary>Ask Graph's Conditional Access What If API for each user (Entra ID P1, Policy.Read.ConditionalAccess).</summary>
        [Parameter]
        public SwitchParameter ConditionalAccessWhatIf { get; set; }

        /// <summary>A Microsoft Graph access token, instead of an existing Connect-MgGraph session.</summary>
        [Parameter]
        [ValidateNotNull]
        public SecureString? GraphAccessToken { get; set; }

        /// <summary>Read Graph with the managed identity of the runbook's Automation account.</summary>
        [Parameter]
        public SwitchParameter UseManagedIdentity { get; set; }

        /// <summary>The Entra tenant, for app-only Graph access with a certificate.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? TenantId { get; set; }

        /// <summary>The app registration used for app-only Graph access with -GraphCertificate.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? GraphClientId { get; set; }

        /// <summary>The certificate (with private key) for app-only Graph access.</summary>
        [Parameter]
        [ValidateNotNull]
        public X509Certificate2? GraphCertificate { get; set; }

        /// <summary>Read Exchange Online only; leave the Entra fields unknown.</summary>
        [Parameter]
        public SwitchParameter SkipGraph { get; set; }

        /// <summary>The cloud, which selects the Graph endpoint for token-based access.</summary>
        [Parameter]
        public SmtpCloudEnvironment Environment { get; set; }

        /// <summary>How long one Graph request may take before it counts as no response (seconds, default 30).</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 600)]
        public int GraphRequestTimeoutSec { get; set; } = 30;

        /// <summary>Graph endpoint override (tests, private clouds).</summary>
        [Parameter(DontShow = true)]
        public Uri? GraphBaseUri { get; set; }

        #endregion

        #region Overrides

        /// <inheritdoc />
        protected override void Begin()
        {
            // A bare Get-SmtpAuthPolicyState would read the tenant and return nothing. Piped input that turns out empty
            // (@() | Get-SmtpAuthPolicyState) is not this case: no input, no output, as for any cmdlet.
            if (ParameterSetName == IdentitySet && !MyInvocation.ExpectingInput && Identity is null && UserPrincipalName is null)
            {
                ThrowTerminatingError(CreateErrorRecord("IdentityRequired", ErrorCategory.InvalidArgument,
                    Strings.Get("IdentityRequired"), null, Strings.Get("IdentityRequiredAction")));
            }

            if (GraphCertificate is not null && (TenantId is null || GraphClientId is null))
            {
                ThrowTerminatingError(CreateErrorRecord("GraphCertificateIncomplete", ErrorCategory.InvalidArgument,
                    Strings.Get("GraphCertificateIncomplete"), GraphCertificate, Strings.Get("GraphCertificateIncompleteAction")));
            }

            _exchange = new ExchangeReader(this, WriteVerbose, CancellationToken);
            if (_exchange.CheckSession() is string why)
            {
                ThrowTerminatingError(CreateErrorRecord("ExchangeOnlineNotConnected", ErrorCategory.ConnectionError,
                    Strings.Format("ExchangeOnlineNotConnected", why), null, Strings.Get("ExchangeOnlineNotConnectedAction")));
            }

            WriteProgress(new ProgressRecord(ProgressId, "Get-SmtpAuthPolicyState", "Reading organization settings"));
            _tenant = ReadTenantFromExchange();
            ReadAppAndSendAs();
            StartGraph();
        }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            if (ParameterSetName != IdentitySet)
            {
                return;
            }

            foreach (string? id in UserPrincipalName is not null ? new[] { UserPrincipalName } : Identity ?? Array.Empty<string>())
            {
                if (string.IsNullOrWhiteSpace(id))
                {
                    WriteInputError("IdentityEmpty", ErrorCategory.InvalidArgument, Strings.Get("IdentityEmpty"), id, Strings.Get("IdentityEmptyAction"));
                    continue;
                }

                _batch.Add(id!.Trim());
                if (_batch.Count >= BatchSize)
                {
                    Flush();
                }
            }
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            if (All)
            {
                ScanAll();
            }
            else
            {
                Flush();
            }

            WriteProgress(new ProgressRecord(ProgressId, "Get-SmtpAuthPolicyState", "Done") { RecordType = ProgressRecordType.Completed });
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _transportToDispose?.Dispose();
            }

            base.Dispose(disposing);
        }

        #endregion

        #region Private

        private object ReadTenantFromExchange()
        {
            var tenant = new Engine.Policy.TenantPolicyData();
            try
            {
                PSObject? transport = _exchange.Invoke("Get-TransportConfig", new Dictionary<string, object?>()).FirstOrDefault();
                tenant.TransportRead = transport is not null;
                if (transport is not null)
                {
                    tenant.SmtpAuthDisabled = ExchangeReader.Bool(transport, "SmtpClientAuthenticationDisabled");
                    tenant.AllowLegacyTls = ExchangeReader.Bool(transport, "AllowLegacyTLSClients");
                }
            }
            catch (ExchangeCallException ex)
            {
                tenant.UnknownReasons.Add(Strings.Format("ExchangeReadFailed", "Organization SMTP AUTH (Get-TransportConfig)", ex.Message));
            }

            try
            {
                PSObject? org = _exchange.Invoke("Get-OrganizationConfig", new Dictionary<string, object?>()).FirstOrDefault();
                tenant.OrganizationRead = org is not null;
                tenant.DefaultAuthenticationPolicy = org is null ? null : ExchangeReader.Text(org, "DefaultAuthenticationPolicy");
            }
            catch (ExchangeCallException ex)
            {
                tenant.UnknownReasons.Add(Strings.Format("ExchangeReadFailed", "Default authentication policy (Get-OrganizationConfig)", ex.Message));
            }

            try
            {
                var policies = new Dictionary<string, (string, bool?)>(StringComparer.OrdinalIgnoreCase);
                foreach (PSObject p in _exchange.Invoke("Get-AuthenticationPolicy", new Dictionary<string, object?>()))
                {
                    string name = ExchangeReader.Text(p, "Name") ?? ExchangeReader.Text(p, "Identity") ?? "?";
                    bool? allow = ExchangeReader.Bool(p, "AllowBasicAuthSmtp");
                    foreach (string key in s_policyKeys.Select(k => ExchangeReader.Text(p, k)).Where(k => k is not null)!)
                    {
                        policies[key!] = (name, allow);
                    }
                }

                tenant.AuthenticationPolicies = policies;
            }
            catch (ExchangeCallException ex)
            {
                tenant.UnknownReasons.Add(Strings.Format("ExchangeReadFailed", "Authentication policies (Get-AuthenticationPolicy)", ex.Message));
            }

            return tenant;
        }

        private void ReadAppAndSendAs()
        {
            if (ClientId is not null)
            {
                try
                {
                    PSObject? sp = _exchange.Invoke("Get-ServicePrincipal", new Dictionary<string, object?> { ["Identity"] = ClientId }).FirstOrDefault();
                    _spRegistered = sp is not null;
                    _spObjectId = sp is null ? null : ExchangeReader.Text(sp, "ObjectId");
                    _spIdentity = sp is null ? null : ExchangeReader.Text(sp, "Identity") ?? _spObjectId;
                }
                catch (ExchangeCallException ex) when (ex.NotFound)
                {
                    _spRegistered = false;
                }
                catch (ExchangeCallException ex)
                {
                    _spUnknown = Strings.Format("ExchangeReadFailed", "Exchange service principal (Get-ServicePrincipal)", ex.Message);
                }
            }

            if (From is not null)
            {
                try
                {
                    _sendAsTrustees = new HashSet<string>(
                        _exchange.Invoke("Get-RecipientPermission", new Dictionary<string, object?> { ["Identity"] = From, ["AccessRights"] = "SendAs" })
                            .Where(p => !string.Equals(ExchangeReader.Text(p, "AccessControlType"), "Deny", StringComparison.OrdinalIgnoreCase))
                            .Select(p => ExchangeReader.Text(p, "Trustee") ?? string.Empty),
                        StringComparer.OrdinalIgnoreCase);
                }
                catch (ExchangeCallException ex)
                {
                    WriteWarning(Strings.Format("ExchangeReadFailed", "SendAs rights (Get-RecipientPermission)", ex.Message));
                }
            }
        }

        private void StartGraph()
        {
            var tenant = (Engine.Policy.TenantPolicyData)_tenant;
            if (SkipGraph)
            {
                _graphUnavailable = Strings.Get("GraphSkipped");
            }
            else
            {
                Uri baseUri = GraphBaseUri ?? new Uri(s_graphEndpoints[Environment]);
                IGraphTransport? transport = null;
                if (GraphAccessToken is not null)
                {
                    var http = Engine.Policy.HttpGraphTransport.WithToken(baseUri, GraphAccessToken);
                    _transportToDispose = http;
                    transport = http;
                }
                else if (UseManagedIdentity || GraphCertificate is not null)
                {
                    var http = GraphCertificate is not null
                        ? Engine.Policy.HttpGraphTransport.WithCertificate(baseUri, TenantId!, GraphClientId!, GraphCertificate)
                        : Engine.Policy.HttpGraphTransport.WithManagedIdentity(baseUri, GraphClientId);
                    _transportToDispose = http;
                    transport = http;
                }
                else if (MgGraphSessionTransport.SessionExists(this))
                {
                    transport = new MgGraphSessionTransport(f => InvokeOnPipelineThreadAsync(f));
                }
                else
                {
                    _graphUnavailable = Strings.Get("GraphNotConnected");
                }

                if (transport is not null)
                {
                    WriteVerbose(Strings.Format("VerboseGraphTransport", transport.Description));
                    StartGraphReader(transport);
                }
            }

            if (_graphUnavailable is not null)
            {
                WriteWarning(_graphUnavailable);
                tenant.UnknownReasons.Add(_graphUnavailable);
            }
        }

        private void StartGraphReader(IGraphTransport transport)
        {
            var tenant = (Engine.Policy.TenantPolicyData)_tenant;
            var options = new Engine.Policy.GraphReadOptions
            {
                SignInLookbackHours = SignInLookbackHours,
                ClientId = ClientId,
                ExchangeServicePrincipalObjectId = _spObjectId,
                TenantWideSignIns = All,
                UseWhatIf = ConditionalAccessWhatIf,
            };
            // The reader lives for the whole command, across many pumps: it reports through the long-lived Sink.
            IDiagnosticSink longLived = Sink;
            RunOnPipelineThread(async (sink, token) =>
            {
                var reader = new Engine.Policy.GraphPolicyReader(new Engine.Policy.GraphReader(transport, longLived, requestTimeout: TimeSpan.FromSeconds(GraphRequestTimeoutSec)), options, longLived);
                await reader.ReadTenantAsync(tenant, token).ConfigureAwait(false);
                _graphReader = reader;
                return true;
            });
        }

        private void Flush()
        {
            if (_batch.Count == 0)
            {
                return;
            }

            List<string> ids = _batch.ToList();
            _batch.Clear();
            var found = new List<object>();
            foreach ((string id, object? data, ErrorRecord? error) in ReadMailboxes(ids))
            {
                if (error is not null)
                {
                    WriteError(error);
                }
                else
                {
                    found.Add(data!);
                }
            }

            Emit(found);
        }

        // One filtered call per kind for the whole batch; identities the filter cannot match are looked up one by one.
        private List<(string Id, object? Data, ErrorRecord? Error)> ReadMailboxes(List<string> ids)
        {
            var results = new List<(string Id, object? Data, ErrorRecord? Error)>();
            string filter = string.Join(" -or ", ids.SelectMany(i => new[] { "UserPrincipalName -eq '" + Quote(i) + "'", "PrimarySmtpAddress -eq '" + Quote(i) + "'" }));
            var mailboxes = new List<PSObject>();
            string? listFailure = null;
            try
            {
                mailboxes.AddRange(_exchange.Invoke("Get-EXOMailbox", new Dictionary<string, object?>
                {
                    ["Filter"] = filter,
                    ["ResultSize"] = "Unlimited",
                    ["Properties"] = s_mailboxProperties,
                }));
            }
            catch (ExchangeCallException ex)
            {
                listFailure = ex.Message;
            }

            var byId = new Dictionary<string, PSObject>(StringComparer.OrdinalIgnoreCase);
            foreach (PSObject m in mailboxes)
            {
                foreach (string? key in new[] { ExchangeReader.Text(m, "UserPrincipalName"), ExchangeReader.Text(m, "PrimarySmtpAddress") })
                {
                    if (key is not null)
                    {
                        byId[key] = m;
                    }
                }
            }

            var matched = new List<(string Id, PSObject Mailbox)>();
            foreach (string id in ids)
            {
                if (byId.TryGetValue(id, out PSObject? m))
                {
                    matched.Add((id, m));
                    continue;
                }

                // Aliases, names, GUIDs: look up one by one.
                PSObject? single = null;
                ErrorRecord? error = null;
                try
                {
                    single = _exchange.Invoke("Get-EXOMailbox", new Dictionary<string, object?>
                    {
                        ["Identity"] = id,
                        ["Properties"] = s_mailboxProperties,
                    }).FirstOrDefault();
                }
                catch (ExchangeCallException ex) when (ex.NotFound)
                {
                    error = CreateErrorRecord("MailboxNotFound", ErrorCategory.ObjectNotFound, Strings.Format("MailboxNotFound", id), id, Strings.Format("MailboxNotFoundAction", id));
                }
                catch (ExchangeCallException ex)
                {
                    // The read failed, not the mailbox: emit the state with what is known (never lose a mailbox).
                    var partial = new Engine.Policy.MailboxPolicyData { UserPrincipalName = id };
                    partial.UnknownReasons.Add(Strings.Format("ExchangeReadFailed", "Mailbox (Get-EXOMailbox)", listFailure ?? ex.Message));
                    results.Add((id, partial, null));
                    continue;
                }

                if (error is not null)
                {
                    results.Add((id, null, error));
                }
                else if (single is null)
                {
                    results.Add((id, null, CreateErrorRecord("MailboxNotFound", ErrorCategory.ObjectNotFound, Strings.Format("MailboxNotFound", id), id, Strings.Format("MailboxNotFoundAction", id))));
                }
                else
                {
                    matched.Add((id, single));
                }
            }

            foreach (object data in ReadMailboxDetails(matched.Select(x => x.Mailbox).ToList()))
            {
                results.Add((string.Empty, data, null));
            }

            return results;
        }

        private List<object> ReadMailboxDetails(List<PSObject> mailboxes, Dictionary<string, bool?>? casByAddress = null, Dictionary<string, string?>? policyByUpn = null)
        {
            var result = new List<object>();
            if (mailboxes.Count == 0)
            {
                return result;
            }

            var data = mailboxes.Select(m => new Engine.Policy.MailboxPolicyData
            {
                UserPrincipalName = ExchangeReader.Text(m, "UserPrincipalName"),
                PrimarySmtpAddress = ExchangeReader.Text(m, "PrimarySmtpAddress"),
                RecipientTypeDetails = ExchangeReader.Text(m, "RecipientTypeDetails"),
                ExternalDirectoryObjectId = ExchangeReader.Text(m, "ExternalDirectoryObjectId"),
            }).ToList();

            string? casFailure = null;
            if (casByAddress is null)
            {
                casByAddress = new Dictionary<string, bool?>(StringComparer.OrdinalIgnoreCase);
                try
                {
                    string filter = string.Join(" -or ", data.Where(d => d.PrimarySmtpAddress is not null).Select(d => "PrimarySmtpAddress -eq '" + Quote(d.PrimarySmtpAddress!) + "'"));
                    foreach (PSObject cas in _exchange.Invoke("Get-EXOCasMailbox", new Dictionary<string, object?>
                    {
                        ["Filter"] = filter,
                        ["ResultSize"] = "Unlimited",
                        ["Properties"] = s_smtpProperty,
                    }))
                    {
                        if (ExchangeReader.Text(cas, "PrimarySmtpAddress") is string address)
                        {
                            casByAddress[address] = ExchangeReader.Bool(cas, "SmtpClientAuthenticationDisabled");
                        }
                    }
                }
                catch (ExchangeCallException ex)
                {
                    casFailure = Strings.Format("ExchangeReadFailed", "Mailbox SMTP AUTH (Get-EXOCasMailbox)", ex.Message);
                }
            }

            string? userFailure = null;
            if (policyByUpn is null)
            {
                policyByUpn = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                try
                {
                    string filter = string.Join(" -or ", data.Where(d => d.UserPrincipalName is not null).Select(d => "UserPrincipalName -eq '" + Quote(d.UserPrincipalName!) + "'"));
                    foreach (PSObject user in _exchange.Invoke("Get-User", new Dictionary<string, object?> { ["Filter"] = filter, ["ResultSize"] = "Unlimited" }))
                    {
                        if (ExchangeReader.Text(user, "UserPrincipalName") is string upn)
                        {
                            policyByUpn[upn] = ExchangeReader.Text(user, "AuthenticationPolicy");
                        }
                    }
                }
                catch (ExchangeCallException ex)
                {
                    userFailure = Strings.Format("ExchangeReadFailed", "User authentication policy (Get-User)", ex.Message);
                }
            }

            foreach (Engine.Policy.MailboxPolicyData d in data)
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

                ReadAppOnlyForMailbox(d, _spRegistered, _spIdentity, _spUnknown);
                if (From is not null)
                {
                    d.From = From;
                    d.SendAsAllowed = string.Equals(From, d.PrimarySmtpAddress, StringComparison.OrdinalIgnoreCase) || string.Equals(From, d.UserPrincipalName, StringComparison.OrdinalIgnoreCase)
                        ? true
                        : _sendAsTrustees is null ? null : _sendAsTrustees.Contains(d.UserPrincipalName ?? string.Empty) || _sendAsTrustees.Contains(d.PrimarySmtpAddress ?? string.Empty);
                }

                result.Add(d);
            }

            return result;
        }

        private void ReadAppOnlyForMailbox(object mailbox, bool? spRegistered, string? spIdentity, string? spUnknown)
        {
            if (ClientId is null)
            {
                return;
            }

            var d = (Engine.Policy.MailboxPolicyData)mailbox;
            _ = (spRegistered, spIdentity, spUnknown);
            d.ClientId = ClientId;
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
                Collection<PSObject> permissions = _exchange.Invoke("Get-MailboxPermission", new Dictionary<string, object?> { ["Identity"] = d.UserPrincipalName, ["User"] = _spIdentity });
                d.ServicePrincipalHasMailboxAccess = permissions.Any(p =>
                    (ExchangeReader.Text(p, "AccessRights") ?? string.Empty).IndexOf("FullAccess", StringComparison.OrdinalIgnoreCase) >= 0 &&
                    ExchangeReader.Bool(p, "Deny") != true);
            }
            catch (ExchangeCallException ex) when (ex.NotFound)
            {
                d.ServicePrincipalHasMailboxAccess = false;
            }
            catch (ExchangeCallException ex)
            {
                d.UnknownReasons.Add(Strings.Format("ExchangeReadFailed", "Service principal mailbox permission (Get-MailboxPermission)", ex.Message));
            }
        }

        private void ScanAll()
        {
            WriteProgress(new ProgressRecord(ProgressId, "Get-SmtpAuthPolicyState", "Listing user mailboxes"));
            // Each listing is streamed and kept only as the few strings the state needs (memory stays flat-ish: a
            // few hundred bytes a mailbox, not the EXO objects).
            var mailboxes = new List<PSObject>();
            var cas = new Dictionary<string, bool?>(StringComparer.OrdinalIgnoreCase);
            var policies = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            try
            {
                _exchange.InvokeStreaming("Get-EXOMailbox", new Dictionary<string, object?>
                {
                    ["ResultSize"] = "Unlimited",
                    ["RecipientTypeDetails"] = s_userMailbox,
                    ["Properties"] = s_mailboxProperties,
                }, m => mailboxes.Add(Compact(m)));
            }
            catch (ExchangeCallException ex)
            {
                ThrowTerminatingError(CreateErrorRecord("MailboxListFailed", ErrorCategory.ReadError, Strings.Format("ExchangeReadFailed", "Mailbox list (Get-EXOMailbox)", ex.Message), null, Strings.Get("ExchangeOnlineNotConnectedAction")));
                return;
            }

            bool casOk = true;
            bool usersOk = true;
            try
            {
                _exchange.InvokeStreaming("Get-EXOCasMailbox", new Dictionary<string, object?> { ["ResultSize"] = "Unlimited", ["Properties"] = s_smtpProperty }, c =>
                {
                    if (ExchangeReader.Text(c, "PrimarySmtpAddress") is string address)
                    {
                        cas[address] = ExchangeReader.Bool(c, "SmtpClientAuthenticationDisabled");
                    }
                });
            }
            catch (ExchangeCallException)
            {
                casOk = false;
            }

            try
            {
                // Only users with a policy of their own; everyone else gets the organization default.
                _exchange.InvokeStreaming("Get-User", new Dictionary<string, object?> { ["ResultSize"] = "Unlimited", ["Filter"] = "AuthenticationPolicy -ne $null" }, u =>
                {
                    if (ExchangeReader.Text(u, "UserPrincipalName") is string upn)
                    {
                        policies[upn] = ExchangeReader.Text(u, "AuthenticationPolicy");
                    }
                });
            }
            catch (ExchangeCallException)
            {
                usersOk = false;
            }

            _total = mailboxes.Count;
            for (int i = 0; i < mailboxes.Count; i += BatchSize)
            {
                List<PSObject> chunk = mailboxes.GetRange(i, Math.Min(BatchSize, mailboxes.Count - i));
                // A failed bulk read falls back to per-batch reads for that kind (null dictionaries).
                Emit(ReadMailboxDetails(chunk, casOk ? cas : null, usersOk ? policies : null));
            }
        }

        // A small stand-alone copy of the four properties the state needs, so the EXO object can go.
        private static PSObject Compact(PSObject mailbox)
        {
            var compact = new PSObject();
            foreach (string name in s_mailboxProperties)
            {
                compact.Properties.Add(new PSNoteProperty(name, ExchangeReader.Text(mailbox, name)));
            }

            return compact;
        }

        private void Emit(List<object> batch)
        {
            if (batch.Count == 0)
            {
                return;
            }

            var tenant = (Engine.Policy.TenantPolicyData)_tenant;
            var data = batch.Cast<Engine.Policy.MailboxPolicyData>().ToList();
            if (_graphReader is Engine.Policy.GraphPolicyReader graph)
            {
                try
                {
                    RunOnPipelineThread(async (sink, token) =>
                    {
                        await graph.ReadUsersAsync(tenant, data, token).ConfigureAwait(false);
                        return true;
                    });
                }
                catch (Exception ex) when (ex is not PipelineStoppedException)
                {
                    // Graph failed as a whole for this batch: the Exchange half still stands.
                    foreach (Engine.Policy.MailboxPolicyData d in data)
                    {
                        d.UnknownReasons.Add(Strings.Format("GraphReadFailed", ex.Message));
                    }
                }
            }

            DateTime now = DateTime.UtcNow;
            foreach (Engine.Policy.MailboxPolicyData d in data)
            {
                WriteObject(Engine.Policy.PolicyEvaluator.Evaluate(tenant, d, now));
                _processed++;
            }

            var progress = new ProgressRecord(ProgressId, "Get-SmtpAuthPolicyState",
                _total is int total ? string.Format(CultureInfo.CurrentCulture, "{0} of {1} mailboxes", _processed, total) : string.Format(CultureInfo.CurrentCulture, "{0} mailboxes", _processed));
            if (_total is int t && t > 0)
            {
                progress.PercentComplete = Math.Min(100, _processed * 100 / t);
            }

            WriteProgress(progress);
        }

        private static string Quote(string value) => value.Replace("'", "''");

        #endregion
    }
}
