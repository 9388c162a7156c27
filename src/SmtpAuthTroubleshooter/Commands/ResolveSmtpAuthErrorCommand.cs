using System;
using System.Collections.Generic;
using System.Management.Automation;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// <para type="synopsis">Turns an SMTP AUTH error into ranked causes, verdicts and the exact fix.</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Resolve, "SmtpAuthError")]
    [OutputType(typeof(SmtpAuthFinding))]
    public sealed class ResolveSmtpAuthErrorCommand : SmtpAuthCmdletBase
    {
        #region Parameters

        /// <summary>The error: a reply, log line, exception message, ErrorRecord, exception, or an object with ReplyText/Message/Exception.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [ValidateNotNullOrEmpty]
        [Alias("ErrorRecord", "Exception", "Reply")]
        public object InputObject { get; set; } = null!;

        /// <summary>How the client authenticated, when the text does not say (Basic or OAuth).</summary>
        [Parameter]
        public SmtpAuthMethod AuthMethod { get; set; }

        /// <summary>The mailbox's settings from Get-SmtpAuthPolicyState: causes become Confirmed or RuledOut.</summary>
        [Parameter]
        [ValidateNotNull]
        public SmtpAuthPolicyState? PolicyState { get; set; }

        /// <summary>The account, used to fill the fix commands.</summary>
        /// <remarks>Bound by property name from a Test-SmtpAuth result, whose UserName is empty for -SkipAuthentication:
        /// null or empty counts as not given.</remarks>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("UserName", "PrimarySmtpAddress")]
        [AllowNull]
        [AllowEmptyString]
        public string? UserPrincipalName { get; set; }

        #endregion

        private bool _stateLostWarned;
        private bool _otherMailboxWarned;

        // The state is of this mailbox when it names the user the error is for (its UPN or primary address). A state
        // that names no mailbox cannot be checked and is used.
        private static bool Names(SmtpAuthPolicyState state, string user)
        {
            string u = user.Trim();
            return (string.IsNullOrWhiteSpace(state.UserPrincipalName) && string.IsNullOrWhiteSpace(state.PrimarySmtpAddress)) ||
                string.Equals(state.UserPrincipalName?.Trim(), u, StringComparison.OrdinalIgnoreCase) ||
                string.Equals(state.PrimarySmtpAddress?.Trim(), u, StringComparison.OrdinalIgnoreCase);
        }

        #region Overrides

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            object piped = InputObject is PSObject wrapped ? wrapped.BaseObject : InputObject;
            ErrorInput? input = piped is SmtpAuthPolicyState preflight
                ? new ErrorInput(string.Empty) { PolicyState = preflight, UserPrincipalName = preflight.UserPrincipalName }
                : ErrorInput.From(InputObject);
            if (input is not null && PolicyState is not null)
            {
                input.PolicyState = PolicyState;
            }
            else if (input?.PolicyStateId is string stateId)
            {
                // Piped with a policy state (Get-SmtpAuthPolicyState | Test-SmtpAuth): found by its id, also after
                // Select-Object * or Export-Clixml/Import-Clixml in this session; said plainly when it is not here.
                input.PolicyState = PipelineContext.StateFor(stateId);
                if (input.PolicyState is null && !_stateLostWarned)
                {
                    _stateLostWarned = true;
                    WriteWarning(Strings.Format("PolicyStateLost", input.UserPrincipalName ?? stateId));
                }
            }

            if (input is null)
            {
                object baseObject = InputObject is PSObject p ? p.BaseObject : InputObject;
                WriteInputError(
                    "InputObjectUnsupported",
                    ErrorCategory.InvalidType,
                    Strings.Format("InputObjectUnsupported", baseObject.GetType().FullName),
                    InputObject,
                    Strings.Get("InputObjectUnsupportedAction"));
                return;
            }

            if (input.Succeeded)
            {
                WriteVerbose(Strings.Get("VerboseProbeSucceeded"));
            }
            else if (string.IsNullOrWhiteSpace(input.Text) && input.PolicyState is null)
            {
                WriteInputError("InputObjectEmpty", ErrorCategory.InvalidArgument, Strings.Get("InputObjectEmpty"), InputObject, Strings.Get("InputObjectEmptyAction"));
                return;
            }

            if (MyInvocation.BoundParameters.ContainsKey(nameof(AuthMethod)))
            {
                input.AuthMethod = AuthMethod;
            }

            if (!string.IsNullOrWhiteSpace(UserPrincipalName))
            {
                input.UserPrincipalName = UserPrincipalName!.Trim();
            }

            // A state of another mailbox (a variable left from the previous mailbox or tenant of a loop) would confirm or rule
            // out causes from settings that are not this mailbox's: it is not used, and the admin is told once.
            if (input.PolicyState is SmtpAuthPolicyState state && !string.IsNullOrWhiteSpace(input.UserPrincipalName) && !Names(state, input.UserPrincipalName!))
            {
                if (!_otherMailboxWarned)
                {
                    _otherMailboxWarned = true;
                    WriteWarning(Strings.Format("PolicyStateOtherMailbox", state.UserPrincipalName ?? state.PrimarySmtpAddress ?? string.Empty, input.UserPrincipalName!.Trim()));
                }

                input.PolicyState = null;
            }

            WriteVerbose(Strings.Format("VerboseResolving", input.Text.Length, input.AuthMethod));
            IReadOnlyList<SmtpAuthFinding> findings;
            try
            {
                findings = Resolve(input);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteExceptionError(ex, InputObject, "ResolveFailed");
                return;
            }

            if (findings.Count > 0)
            {
                WriteVerbose(Strings.Format("VerboseFindings", findings.Count, findings[0].CauseId, findings[0].Verdict));
            }

            foreach (SmtpAuthFinding finding in findings)
            {
                WriteObject(finding);
            }

            if (findings.Count == 0 && input.Succeeded)
            {
                // Never end silently: say why there is nothing to show (shown on the host like Write-Host; stream 6).
                string what = input.AuthMethod == SmtpAuthMethod.Unknown ? "connected, no AUTH was attempted" : "authenticated with " + input.AuthMethod;
                WriteInformation(Strings.Format("ProbeSucceededNothingToResolve", input.UserPrincipalName ?? "The server", what), s_hostTags);
            }
        }

        #endregion

        #region Private

        // Engine types appear only inside method bodies (STYLE rule 38): the cached resolver is held as object so
        // that no field's type names an engine type, which would pull the engine in before OnImport hooks it.
        private static object? s_resolver;

        private static readonly string[] s_hostTags = { "PSHOST", "SmtpAuthTroubleshooter" };

        private static IReadOnlyList<SmtpAuthFinding> Resolve(ErrorInput input)
        {
            var evidence = new Engine.Diagnosis.ErrorEvidence(input.Text)
            {
                AuthMethod = input.AuthMethod,
                FailedPhase = input.FailedPhase,
                UserPrincipalName = input.UserPrincipalName,
                ObservedUtc = input.ObservedUtc,
                TokenIssues = input.TokenIssues,
                PolicyState = input.PolicyState,
                ProbeSucceeded = input.Succeeded,
                SignInName = input.SignInName,
                ExchangeOnlineEndpoint = input.ExchangeOnline,
                TokenClaimsRead = input.TokenClaimsRead,
                Server = input.Server,
                Port = input.Port,
                From = input.ProbeFrom,
                TokenIdentity = input.TokenIdentity,
                FromProbe = input.FromProbe,
                Probe = input.FromProbe
                    ? new Engine.Diagnosis.ProbeFacts
                    {
                        TlsMode = input.TlsMode,
                        FailedPhase = input.FailedPhase,
                        Port = input.Port,
                        ExchangeOnline = input.ExchangeOnline,
                        TlsProtocol = input.TlsProtocol,
                        CertificatePresented = input.CertificatePresented,
                        StartTlsOffered = input.StartTlsOffered,
                        AuthMechanismsBeforeTls = input.AuthMechanismsBeforeTls,
                        AuthMechanismsAfterTls = input.AuthMechanismsAfterTls,
                        Mechanism = input.Mechanism,
                        Greeting = input.Greeting,
                        MismatchedCertificate = input.MismatchedCertificate,
                        TlsAlert = input.TlsAlert,
                        TlsVersionRefused = input.TlsVersionRefused,
                        TlsServerFault = input.TlsServerFault,
                        Server = input.Server,
                        CertificateNames = input.CertificateNames,
                        CertificateIssuer = input.CertificateIssuer,
                        CertificateUntrusted = input.CertificateUntrusted,
                        CertificateExpiredOn = input.CertificateExpiredOn,
                        CertificateNotValidBefore = input.CertificateNotValidBefore,
                    }
                    : null,
            };
            var resolver = (Engine.Diagnosis.SmtpAuthErrorResolver?)s_resolver;
            if (resolver is null)
            {
                resolver = new Engine.Diagnosis.SmtpAuthErrorResolver();
                s_resolver = resolver;
            }

            return resolver.Resolve(evidence);
        }

        #endregion
    }
}
