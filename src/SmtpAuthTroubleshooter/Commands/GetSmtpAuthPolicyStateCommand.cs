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
    public sealed partial class GetSmtpAuthPolicyStateCommand : SmtpAuthCmdletBase
    {
        private const string IdentitySet = "Identity";
        private const string AllSet = "All";
        private const int BatchSize = 50;
        private const int ProgressId = ProgressActivityId + 1;

        private readonly List<string> _batch = new List<string>();
        // The engine's reader through its port (STYLE rule 38: no engine type in a field); the Graph half below is
        // wired in GetSmtpAuthPolicyStateCommand.Graph.cs.
        private IPolicyStateSource _reader = null!;
        private object _tenant = null!;
        private object? _graphReader;
        private IDisposable? _transportToDispose;
        private string? _graphUnavailable;
        private string? _spObjectId;
        private Guid? _exchangeTenant;
        private int _processed;

        #region Parameters

        /// <summary>The mailbox: UPN, primary SMTP address or any Exchange identity.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ParameterSetName = IdentitySet)]
        [ValidateNotNullOrEmpty]
        public string[]? Identity { get; set; }

        /// <summary>Binds Get-EXOMailbox, Get-MgUser and Test-SmtpAuth objects by property name.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = IdentitySet, DontShow = true)]
        [Alias("PrimarySmtpAddress", "UserName", "Mail")]
        public string? UserPrincipalName { get; set; }

        /// <summary>Read every mailbox in the organization that can send through SMTP AUTH: user and shared mailboxes by default.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AllSet)]
        public SwitchParameter All { get; set; }

        /// <summary>With -All: the kinds of mailbox to read, as Get-EXOMailbox -RecipientTypeDetails takes them (default UserMailbox, SharedMailbox).</summary>
        [Parameter(ParameterSetName = AllSet)]
        [ValidateSet("UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "SchedulingMailbox", "LinkedMailbox", "LinkedRoomMailbox", "TeamMailbox", "DiscoveryMailbox", "GroupMailbox", "LegacyMailbox", IgnoreCase = true)]
        public string[]? RecipientTypeDetails { get; set; }

        /// <summary>With -All: at most this many mailboxes, or Unlimited (the default), as Get-EXOMailbox -ResultSize takes it.</summary>
        [Parameter(ParameterSetName = AllSet)]
        [ValidateNotNullOrEmpty]
        public string ResultSize { get; set; } = "Unlimited";

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

            int? resultSize = null;
            if (!string.Equals(ResultSize, "Unlimited", StringComparison.OrdinalIgnoreCase))
            {
                if (!int.TryParse(ResultSize, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
                {
                    ThrowTerminatingError(CreateErrorRecord("ResultSizeInvalid", ErrorCategory.InvalidArgument,
                        Strings.Format("ResultSizeInvalid", ResultSize), ResultSize, Strings.Get("ResultSizeInvalidAction")));
                }

                resultSize = n;
            }

            var session = new CallerExchangeSession(new ExchangeReader(this, WriteVerbose, CancellationToken), f => InvokeOnPipelineThreadAsync(f));
            if (session.CheckConnectionAsync(CancellationToken).GetAwaiter().GetResult() is string why)
            {
                ThrowTerminatingError(CreateErrorRecord("ExchangeOnlineNotConnected", ErrorCategory.ConnectionError,
                    Strings.Format("ExchangeOnlineNotConnected", why), null, Strings.Get("ExchangeOnlineNotConnectedAction")));
            }

            _exchangeTenant = session.TenantId;
            var options = new Engine.Policy.PolicyReadOptions { ClientId = ClientId, From = From, ResultSize = resultSize, BatchSize = BatchSize };
            if (RecipientTypeDetails is { Length: > 0 })
            {
                options.RecipientTypeDetails = RecipientTypeDetails;
            }

            var reader = new Engine.Policy.PolicyStateReader(session, options, Sink);
            _reader = reader;
            _tenant = reader.Tenant;
            WriteProgress(new ProgressRecord(ProgressId, "Get-SmtpAuthPolicyState", "Reading organization settings"));
            RunOnPipelineThread(async (sink, token) =>
            {
                await reader.ReadTenantAsync(token).ConfigureAwait(false);
                return true;
            });
            _spObjectId = reader.ServicePrincipalObjectId;
            StartGraph();
            reader.Graph = _graphReader as Engine.Policy.GraphPolicyReader;
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

        private void Flush()
        {
            if (_batch.Count == 0)
            {
                return;
            }

            List<string> ids = _batch.ToList();
            _batch.Clear();
            IReadOnlyList<PolicyStateResult> results = RunOnPipelineThread((sink, token) => _reader.ReadAsync(ids, token));
            foreach (PolicyStateResult r in results)
            {
                if (r.State is null)
                {
                    WriteError(CreateErrorRecord("MailboxNotFound", ErrorCategory.ObjectNotFound, Strings.Format("MailboxNotFound", r.Identity), r.Identity, Strings.Format("MailboxNotFoundAction", r.Identity)));
                }
                else
                {
                    Emit(r.State);
                }
            }
        }

        private void ScanAll()
        {
            WriteProgress(new ProgressRecord(ProgressId, "Get-SmtpAuthPolicyState", "Listing mailboxes"));
            try
            {
                RunOnPipelineThread(async (sink, token) =>
                {
                    await _reader.ReadAllAsync(batch => InvokeOnPipelineThreadAsync(() =>
                    {
                        foreach (SmtpAuthPolicyState state in batch)
                        {
                            Emit(state);
                        }

                        return true;
                    }), token).ConfigureAwait(false);
                    return true;
                });
            }
            catch (ExchangeCallException ex)
            {
                ThrowTerminatingError(CreateErrorRecord("MailboxListFailed", ErrorCategory.ReadError, Strings.Format("ExchangeReadFailed", "Mailbox list (Get-EXOMailbox)", ex.Message), null, Strings.Get("ExchangeOnlineNotConnectedAction")));
            }
        }

        private void Emit(SmtpAuthPolicyState state)
        {
            WriteObject(state);
            _processed++;
            if (_processed % BatchSize != 0 && _processed != _reader.Total)
            {
                return;
            }

            var progress = new ProgressRecord(ProgressId, "Get-SmtpAuthPolicyState",
                _reader.Total is int total ? string.Format(CultureInfo.CurrentCulture, "{0} of {1} mailboxes", _processed, total) : string.Format(CultureInfo.CurrentCulture, "{0} mailboxes", _processed));
            if (_reader.Total is int t && t > 0)
            {
                progress.PercentComplete = Math.Min(100, _processed * 100 / t);
            }

            WriteProgress(progress);
        }

        #endregion
    }
}
