using System;
using System.Linq;
using System.Management.Automation;
using System.Security;
using System.Security.Cryptography.X509Certificates;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// <para type="synopsis">Probes SMTP AUTH live and shows where the handshake and AUTH stop.</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "SmtpAuth", DefaultParameterSetName = CredentialSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(SmtpAuthTestResult))]
    public sealed class TestSmtpAuthCommand : SmtpAuthCmdletBase
    {
        private const string CredentialSet = "Credential";
        private const string AccessTokenSet = "AccessToken";
        private const string ClientSecretSet = "ClientSecret";
        private const string ThumbprintSet = "CertificateThumbprint";
        private const string CertificateSet = "Certificate";
        private const string DeviceCodeSet = "DeviceCode";
        private const string ManagedIdentitySet = "ManagedIdentity";
        private const string NoAuthSet = "SkipAuthentication";

        // Held as object so that no field's type names an engine type (STYLE rule 38).
        private object? _tokenSource;
        private X509Certificate2? _certificate;

        #region Parameters

        /// <summary>The mailbox: the SASL user for OAuth, and the default sender and recipient of the test message.</summary>
        /// <remarks>Any user name the server accepts: a UPN, a plain name (dave) or ACS SMTP's resource.appid.tenant form.
        /// Null or empty from a piped object counts as not given.</remarks>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("PrimarySmtpAddress", "Mail", "Mailbox")]
        [AllowNull]
        [AllowEmptyString]
        public string? UserPrincipalName { get; set; }

        /// <summary>From the pipeline: a mailbox address, or a Get-SmtpAuthPolicyState result, which then travels on with the
        /// probe's result to Resolve-SmtpAuthError.</summary>
        [Parameter(ValueFromPipeline = true)]
        public object? InputObject { get; set; }

        /// <summary>User name (the UPN) and password for basic auth (AUTH LOGIN or PLAIN).</summary>
        [Parameter(Mandatory = true, ParameterSetName = CredentialSet)]
        [Credential]
        [ValidateNotNull]
        public PSCredential Credential { get; set; } = null!;

        /// <summary>An OAuth access token for XOAUTH2.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AccessTokenSet)]
        [ValidateNotNull]
        public SecureString AccessToken { get; set; } = null!;

        /// <summary>The Entra tenant (id or domain) of the app registration.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
        [Parameter(Mandatory = true, ParameterSetName = ThumbprintSet)]
        [Parameter(Mandatory = true, ParameterSetName = CertificateSet)]
        [Parameter(ParameterSetName = DeviceCodeSet)]
        [ValidateNotNullOrEmpty]
        public string? TenantId { get; set; }

        /// <summary>The app registration's application (client) id; for a managed identity, a user-assigned identity's client id.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
        [Parameter(Mandatory = true, ParameterSetName = ThumbprintSet)]
        [Parameter(Mandatory = true, ParameterSetName = CertificateSet)]
        [Parameter(Mandatory = true, ParameterSetName = DeviceCodeSet)]
        [Parameter(ParameterSetName = ManagedIdentitySet)]
        [Alias("AppId", "ApplicationId")]
        [ValidateNotNullOrEmpty]
        public string? ClientId { get; set; }

        /// <summary>The app's client secret.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ClientSecretSet)]
        [ValidateNotNull]
        public SecureString ClientSecret { get; set; } = null!;

        /// <summary>Thumbprint of the app's certificate in the CurrentUser or LocalMachine My store.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ThumbprintSet)]
        [ValidateNotNullOrEmpty]
        public string CertificateThumbprint { get; set; } = null!;

        /// <summary>The app's certificate, with its private key.</summary>
        [Parameter(Mandatory = true, ParameterSetName = CertificateSet)]
        [ValidateNotNull]
        public X509Certificate2 Certificate { get; set; } = null!;

        /// <summary>Sign in as the user with a device code (delegated SMTP.Send); the code is shown as a warning.</summary>
        [Parameter(Mandatory = true, ParameterSetName = DeviceCodeSet)]
        public SwitchParameter UseDeviceCode { get; set; }

        /// <summary>Use the managed identity of the Azure Automation account, Function or VM.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ManagedIdentitySet)]
        public SwitchParameter UseManagedIdentity { get; set; }

        /// <summary>Check DNS, TCP, the greeting, EHLO and TLS only; send no credentials.</summary>
        [Parameter(Mandatory = true, ParameterSetName = NoAuthSet)]
        public SwitchParameter SkipAuthentication { get; set; }

        /// <summary>The SMTP server (default: the cloud's submission host, smtp.office365.com).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [Alias("SmtpServer", "ComputerName")]
        [ArgumentCompleter(typeof(SmtpServerCompleter))]
        public string? Server { get; set; }

        /// <summary>The TCP port (default 587).</summary>
        [Parameter]
        [ValidateRange(1, 65535)]
        public int Port { get; set; } = 587;

        /// <summary>StartTls (default), Implicit or None.</summary>
        [Parameter]
        public SmtpTlsMode TlsMode { get; set; } = SmtpTlsMode.StartTls;

        /// <summary>The probe's time limit in seconds (default 30).</summary>
        [Parameter]
        [ValidateRange(1, 600)]
        public int TimeoutSec { get; set; } = 30;

        /// <summary>The cloud: Global, USGovGCCHigh, USGovDoD or China.</summary>
        [Parameter]
        public SmtpCloudEnvironment Environment { get; set; }

        /// <summary>Force a SASL mechanism: Login or Plain for basic auth (default: the best offered).</summary>
        [Parameter(ParameterSetName = CredentialSet)]
        [ValidateSet("Auto", "Login", "Plain")]
        public SmtpAuthMechanism Mechanism { get; set; }

        /// <summary>Accept a certificate that does not validate (recorded on the result).</summary>
        [Parameter]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <summary>Send credentials even if the connection is not encrypted. Never do this outside a lab.</summary>
        [Parameter]
        public SwitchParameter AllowUnencryptedAuthentication { get; set; }

        /// <summary>After AUTH, send a small test message (MAIL FROM, RCPT TO, DATA).</summary>
        [Parameter]
        public SwitchParameter SendTestMessage { get; set; }

        /// <summary>Sender of the test message (default: the mailbox).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? From { get; set; }

        /// <summary>Recipient of the test message (default: the mailbox).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? To { get; set; }

        /// <summary>Entra authority host override, for tests and private clouds.</summary>
        [Parameter(DontShow = true)]
        public Uri? AuthorityHost { get; set; }

        #endregion

        #region Overrides

        /// <inheritdoc />
        protected override void Begin()
        {
            if (!SendTestMessage && (MyInvocation.BoundParameters.ContainsKey(nameof(From)) || MyInvocation.BoundParameters.ContainsKey(nameof(To))))
            {
                ThrowTerminatingError(CreateErrorRecord("TestMessageParameterWithoutSend", ErrorCategory.InvalidArgument,
                    Strings.Get("TestMessageParameterWithoutSend"), From ?? To, Strings.Get("TestMessageParameterWithoutSendAction")));
            }

            if (ParameterSetName == ThumbprintSet)
            {
                _certificate = FindCertificate(CertificateThumbprint);
                if (_certificate is null)
                {
                    ThrowTerminatingError(CreateErrorRecord("CertificateNotFound", ErrorCategory.ObjectNotFound,
                        Strings.Format("CertificateNotFound", CertificateThumbprint), CertificateThumbprint, Strings.Get("CertificateNotFoundAction")));
                }
            }

            if (ParameterSetName == DeviceCodeSet && IsNonInteractive())
            {
                // Runbooks and schedulers: never wait for a person who is not there.
                ThrowTerminatingError(CreateErrorRecord("DeviceCodeNonInteractive", ErrorCategory.InvalidOperation,
                    Strings.Get("DeviceCodeNonInteractive"), null, Strings.Get("DeviceCodeNonInteractiveAction")));
            }

            if (AuthorityHost is not null && (!AuthorityHost.IsAbsoluteUri || !string.Equals(AuthorityHost.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase)))
            {
                // Azure.Identity refuses it with an ArgumentException deep in the token request; say so up front.
                ThrowTerminatingError(CreateErrorRecord("AuthorityHostInvalid", ErrorCategory.InvalidArgument,
                    Strings.Format("AuthorityHostInvalid", AuthorityHost), AuthorityHost, Strings.Get("AuthorityHostInvalidAction")));
            }

            if (SkipCertificateCheck)
            {
                WriteWarning(Strings.Get("SkipCertificateCheckWarning"));
            }

            if (AllowUnencryptedAuthentication)
            {
                WriteWarning(Strings.Get("AllowUnencryptedWarning"));
            }

            _tokenSource = CreateTokenSource();
        }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            // The mailbox of this record: -UserPrincipalName (given or bound by property name), else a piped address or state.
            object? piped = InputObject is PSObject pso ? pso.BaseObject : InputObject;
            var state = piped as SmtpAuthPolicyState;
            string? mailbox = NullIfBlank(UserPrincipalName)
                ?? NullIfBlank(piped as string)
                ?? NullIfBlank(state?.UserPrincipalName) ?? NullIfBlank(state?.PrimarySmtpAddress);
            if (ParameterSetName is not (CredentialSet or NoAuthSet) && mailbox is null)
            {
                WriteInputError("UserPrincipalNameMissing", ErrorCategory.InvalidArgument, Strings.Get("UserPrincipalNameMissing"), InputObject, Strings.Get("UserPrincipalNameInvalidAction"));
                return;
            }

            // Any user name the server accepts is probed (dave on Dovecot, resource.appid.tenant on ACS SMTP). Whether
            // Exchange Online would take it is a finding about the result (UserNameNotUpn), not a parameter error.
            string? user = ParameterSetName == CredentialSet ? Credential.UserName : mailbox;
            if (ParameterSetName == CredentialSet && string.IsNullOrEmpty(user))
            {
                WriteInputError("UserNameEmpty", ErrorCategory.InvalidArgument, Strings.Get("UserNameEmpty"), InputObject, Strings.Get("UserNameEmptyAction"));
                return;
            }

            bool send = SendTestMessage;
            if (send)
            {
                // The test message's addresses are known before anything connects: a sender or recipient that is not an
                // address is this record's input error, not a failed probe.
                string? from = From ?? mailbox ?? user;
                string? to = To ?? mailbox ?? user;
                bool fromOk = Engine.Probe.SmtpProbe.IsTestMessageAddress(from);
                if (!fromOk || !Engine.Probe.SmtpProbe.IsTestMessageAddress(to))
                {
                    string which = fromOk ? nameof(To) : nameof(From);
                    WriteInputError("TestMessageAddressMissing", ErrorCategory.InvalidArgument,
                        Strings.Format("TestMessageAddressMissing", which, (fromOk ? to : from) ?? string.Empty), InputObject ?? (fromOk ? to : from), Strings.Get("TestMessageAddressMissingAction"));
                    return;
                }
            }

            string server = Server ?? Engine.Probe.CloudEndpoints.For(Environment).SmtpHost;
            if (send && !ShouldProcess(To ?? mailbox ?? user, Strings.Format("SendTestMessageAction", server, Port)))
            {
                // -WhatIf or a "No": probe AUTH, send nothing.
                send = false;
            }

            SmtpAuthTestResult result = RunOnPipelineThread((sink, token) => Probe(user, mailbox, send, sink, token));
            if (state is not null)
            {
                PipelineContext.Attach(result, state);
            }

            WriteObject(result);
        }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing && ParameterSetName == ThumbprintSet)
            {
                _certificate?.Dispose();
            }

            base.Dispose(disposing);
        }

        #endregion

        #region Private

        // Engine types appear only inside method bodies (STYLE rule 38).
        private System.Threading.Tasks.Task<SmtpAuthTestResult> Probe(string? user, string? mailbox, bool send, IDiagnosticSink sink, System.Threading.CancellationToken token)
        {
            var request = new Engine.Probe.ProbeRequest
            {
                Server = Server,
                Port = Port,
                TlsMode = TlsMode,
                Timeout = TimeSpan.FromSeconds(TimeoutSec),
                Environment = Environment,
                SkipCertificateCheck = SkipCertificateCheck,
                AllowUnencryptedAuthentication = AllowUnencryptedAuthentication,
                Mechanism = ParameterSetName switch
                {
                    NoAuthSet => SmtpAuthMechanism.None,
                    CredentialSet => Mechanism,
                    _ => SmtpAuthMechanism.XOAuth2,
                },
                UserName = user,
                Password = ParameterSetName == CredentialSet ? Credential.Password : null,
                TokenSource = (Engine.Probe.ITokenSource?)_tokenSource,
                SendTestMessage = send,
                From = From ?? (ParameterSetName == CredentialSet ? mailbox : null),
                To = To ?? mailbox,
            };
            return new Engine.Probe.SmtpProbe().RunAsync(request, sink, token);
        }

        private object? CreateTokenSource()
        {
            switch (ParameterSetName)
            {
                case AccessTokenSet:
                    return Engine.Probe.TokenSources.FromSecureString(AccessToken);
                case ClientSecretSet:
                    return Engine.Probe.TokenSources.ClientSecret(TenantId!, ClientId!, ClientSecret, Environment, AuthorityHost);
                case ThumbprintSet:
                    return Engine.Probe.TokenSources.Certificate(TenantId!, ClientId!, _certificate!, Environment, AuthorityHost);
                case CertificateSet:
                    return Engine.Probe.TokenSources.Certificate(TenantId!, ClientId!, Certificate, Environment, AuthorityHost);
                case DeviceCodeSet:
                    return Engine.Probe.TokenSources.DeviceCode(TenantId, ClientId!, Environment, AuthorityHost);
                case ManagedIdentitySet:
                    return Engine.Probe.TokenSources.ManagedIdentity(ClientId, Environment);
                default:
                    return null;
            }
        }

        private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value!.Trim();

        // pwsh -NonInteractive (schedulers, Azure Automation) or a host without a console user.
        private bool IsNonInteractive() =>
            !System.Environment.UserInteractive ||
            System.Environment.GetCommandLineArgs().Any(a => a.StartsWith("-noni", StringComparison.OrdinalIgnoreCase)) ||
            string.Equals(Host?.Name, "Default Host", StringComparison.Ordinal);

        private static X509Certificate2? FindCertificate(string thumbprint)
        {
            string clean = thumbprint.Replace(" ", string.Empty).ToUpperInvariant();
            foreach (StoreLocation location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
            {
                try
                {
                    using var store = new X509Store(StoreName.My, location);
                    store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
                    X509Certificate2Collection found = store.Certificates.Find(X509FindType.FindByThumbprint, clean, validOnly: false);
                    if (found.Count > 0)
                    {
                        return found[0];
                    }
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                    // The store does not exist here (LocalMachine on Linux, say).
                }
            }

            return null;
        }

        #endregion
    }
}
