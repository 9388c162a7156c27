using System;
using System.IO;
using System.Management.Automation;
using System.Security;
using System.Security.Cryptography.X509Certificates;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists who still sends with basic SMTP AUTH, what the end-of-December 2026 default-off does to each sender, and where each should move.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "SmtpAuthClient")]
    [OutputType(typeof(SmtpAuthClient))]
    public sealed class GetSmtpAuthClientCommand : SmtpAuthCmdletBase
    {
        #region Parameters

        /// <summary>How many days of sign-ins to read (1-30, default 30: what the sign-in log keeps).</summary>
        [Parameter(Position = 0)]
        [ValidateRange(1, 30)]
        public int Days { get; set; } = 30;

        /// <summary>Also list every mailbox that could use SMTP AUTH (effective on) but had no sign-in in the window: the ones to switch off.</summary>
        [Parameter]
        public SwitchParameter IncludeUnused { get; set; }

        /// <summary>The CSV exported from the Exchange admin center's SMTP AUTH clients report (Reports, Mail flow): OAuth senders and message counts.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SmtpAuthReportPath { get; set; }

        /// <summary>Do not read message trace (which tells senders that write only to your own domains).</summary>
        [Parameter]
        public SwitchParameter SkipMessageTrace { get; set; }

        /// <summary>Mailboxes whose sender is code your organization owns (their path is Graph sendMail).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? OwnCode { get; set; }

        /// <summary>A Microsoft Graph access token (AuditLog.Read.All and Directory.Read.All), instead of an existing Connect-MgGraph session.</summary>
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

        /// <summary>The app registration used for app-only Graph access with -GraphCertificate (or a user-assigned managed identity's client id).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? GraphClientId { get; set; }

        /// <summary>The certificate (with private key) for app-only Graph access.</summary>
        [Parameter]
        [ValidateNotNull]
        public X509Certificate2? GraphCertificate { get; set; }

        /// <summary>The cloud, which selects the Graph endpoint and the sign-in authority.</summary>
        [Parameter]
        public SmtpCloudEnvironment Environment { get; set; }

        /// <summary>How long one Graph request may take before it counts as no response (seconds, default 30).</summary>
        [Parameter(DontShow = true)]
        [ValidateRange(1, 600)]
        public int GraphRequestTimeoutSec { get; set; } = 30;

        /// <summary>Graph endpoint override (tests, private clouds).</summary>
        [Parameter(DontShow = true)]
        public Uri? GraphBaseUri { get; set; }

        /// <summary>The time the window ends (tests).</summary>
        [Parameter(DontShow = true)]
        public DateTime? AsOf { get; set; }

        #endregion

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            if (GraphCertificate is not null && (TenantId is null || GraphClientId is null))
            {
                ThrowTerminatingError(CreateErrorRecord("GraphCertificateIncomplete", ErrorCategory.InvalidArgument,
                    Strings.Get("GraphCertificateIncomplete"), GraphCertificate, Strings.Get("GraphCertificateIncompleteAction")));
            }

            string? csv = null;
            if (SmtpAuthReportPath is not null)
            {
                string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(SmtpAuthReportPath);
                if (!File.Exists(path))
                {
                    ThrowTerminatingError(CreateErrorRecord("SmtpAuthReportNotFound", ErrorCategory.ObjectNotFound,
                        Strings.Format("SmtpAuthReportNotFound", path), SmtpAuthReportPath, Strings.Get("SmtpAuthReportNotFoundAction")));
                }

                csv = Engine.Readiness.ReadinessReader.DecodeReport(File.ReadAllBytes(path));
            }

            // Exchange Online: the caller's session, if there is one (usage alone is still worth a report).
            var exchange = new CallerExchangeSession(new ExchangeReader(this, WriteVerbose, CancellationToken), f => InvokeOnPipelineThreadAsync(f));
            IExchangeSession? session = exchange;
            if (exchange.CheckConnectionAsync(CancellationToken).GetAwaiter().GetResult() is string why)
            {
                WriteWarning(Strings.Format("ClientExchangeNotConnected", why));
                session = null;
            }

            (IDisposable? connection, string? graphUnavailable) = OpenGraph(session is null ? null : exchange.TenantId);
            try
            {
                if (graphUnavailable is not null)
                {
                    WriteWarning(graphUnavailable);
                }

                var options = new Engine.Readiness.ReadinessOptions
                {
                    Days = Days,
                    IncludeUnused = IncludeUnused,
                    SmtpAuthReportCsv = csv,
                    ReadMessageTrace = !SkipMessageTrace && session is not null,
                    OwnCode = OwnCode ?? Array.Empty<string>(),
                    NowUtc = AsOf?.ToUniversalTime() ?? DateTime.UtcNow,
                };
                IDiagnosticSink longLived = Sink;
                Engine.Policy.GraphReader? graph = connection is Engine.Policy.GraphConnection c ? new Engine.Policy.GraphReader(c, longLived) : null;
                // The Entra half of the basic-auth verdict (as Get-SmtpAuthPolicyState reads it), for the senders only; the
                // factory runs only when there are senders, so a run without them does not load the Graph SDK's models.
                Func<Engine.Policy.IMailboxGraphReader>? entra = graph is null ? null : () => Engine.Readiness.ReadinessReader.EntraReader(graph, longLived);
                var reader = new Engine.Readiness.ReadinessReader(graph, graphUnavailable, session, options, longLived, entra: entra);
                var clients = RunOnPipelineThread((sink, token) => reader.ReadAsync(token));
                WriteVerbose(Strings.Format("VerboseClientsRead", reader.SignInRows, clients.Count));
                foreach (SmtpAuthClient client in clients)
                {
                    WriteObject(client);
                }
            }
            finally
            {
                connection?.Dispose();
                WriteProgress(new ProgressRecord(ProgressActivityId, "Get-SmtpAuthClient", "Done") { RecordType = ProgressRecordType.Completed });
            }
        }

        private (IDisposable? Connection, string? Unavailable) OpenGraph(Guid? exchangeTenant)
        {
            IDisposable? connection = OpenGraphConnection(GraphAccessToken, UseManagedIdentity, TenantId, GraphClientId, GraphCertificate, Environment, GraphBaseUri, GraphRequestTimeoutSec, exchangeTenant);
            return connection is null ? (null, GraphRefusedReason ?? Strings.Get("ClientGraphNotConnected")) : (connection, null);
        }
    }
}
