using System;
using System.Management.Automation;
using System.Threading;

#pragma warning disable CA1859

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// Get-SmtpAuthPolicyState's Graph half: which way in (token, managed identity, certificate, the caller's
    /// Connect-MgGraph session), one Graph connection and one credential for the whole command (issue 11), and the reader.
    /// </summary>
    public sealed partial class GetSmtpAuthPolicyStateCommand
    {
        private void StartGraph()
        {
            var tenant = (Engine.Policy.TenantPolicyData)_tenant;
            if (SkipGraph)
            {
                _graphUnavailable = Strings.Get("GraphSkipped");
            }
            else
            {
                // One connection and one credential for the command (SmtpAuthCmdletBase.OpenGraphConnection).
                IDisposable? connection = OpenGraphConnection(GraphAccessToken, UseManagedIdentity, TenantId, GraphClientId, GraphCertificate, Environment, GraphBaseUri, GraphRequestTimeoutSec, _exchangeTenant);
                if (connection is null)
                {
                    _graphUnavailable = GraphRefusedReason ?? Strings.Get("GraphNotConnected");
                }

                if (connection is not null)
                {
                    _transportToDispose = connection;
                    StartGraphReader(connection);
                }
            }

            if (_graphUnavailable is not null)
            {
                WriteWarning(_graphUnavailable);
                tenant.UnknownReasons.Add(_graphUnavailable);
            }
        }

        private void StartGraphReader(IDisposable graphConnection)
        {
            var connection = (Engine.Policy.GraphConnection)graphConnection;
            var tenant = (Engine.Policy.TenantPolicyData)_tenant;
            var options = new Engine.Policy.GraphReadOptions
            {
                SignInLookbackHours = SignInLookbackHours,
                ClientId = ClientId,
                ExchangeServicePrincipalObjectId = _spObjectId,
                TenantWideSignIns = All,
                UseWhatIf = ConditionalAccessWhatIf,
            };
            IDiagnosticSink longLived = Sink;
            var reader = new Engine.Policy.GraphPolicyReader(new Engine.Policy.GraphReader(connection, longLived), options, longLived);
            try
            {
                RunOnPipelineThread(async (sink, token) =>
                {
                    await reader.ReadTenantAsync(tenant, token).ConfigureAwait(false);
                    return true;
                });
            }
            catch (Exception ex) when (ex is not PipelineStoppedException && ex is not OperationCanceledException)
            {
                // Graph never ends the command (issue 11): an unexpected failure leaves the Entra fields unknown, with why.
                tenant.UnknownReasons.Add(Strings.Format("GraphReadFailed", ex.Message));
            }

            _graphReader = reader;
        }
    }
}
