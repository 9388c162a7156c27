using System;
using System.Runtime.InteropServices;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Azure.Core;
using Azure.Identity;

namespace SmtpAuthTroubleshooter.Engine.Probe
{
    /// <summary>Gives the probe an OAuth access token for SMTP (XOAUTH2).</summary>
    public interface ITokenSource
    {
        /// <summary>How the token is obtained, for the verbose stream (no secrets).</summary>
        string Description { get; }

        /// <summary>True for app-only (client credentials, managed identity) tokens.</summary>
        bool IsAppOnly { get; }

        /// <summary>Gets the token. The string is used at once and never stored on any result.</summary>
        Task<string> GetTokenAsync(IDiagnosticSink sink, CancellationToken cancellationToken);

        /// <summary>How long this source may take, when longer than the probe's own limit (a person typing a device code).</summary>
        TimeSpan? TimeoutOverride { get; }
    }

    /// <summary>Token sources: a token the caller already has, or one acquired with Azure.Identity (https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth).</summary>
    public static class TokenSources
    {
        /// <summary>A token given as a SecureString (-AccessToken).</summary>
        public static ITokenSource FromSecureString(SecureString token) => new StaticSource(token);

        /// <summary>App-only with a client secret (scope .../.default).</summary>
        public static ITokenSource ClientSecret(string tenantId, string clientId, SecureString secret, SmtpCloudEnvironment environment, Uri? authorityHost = null) =>
            new AzureSource(
                new ClientSecretCredential(tenantId, clientId, Unprotect(secret), Options(new ClientSecretCredentialOptions(), environment, authorityHost)),
                CloudEndpoints.For(environment).AppOnlyScope,
                appOnly: true,
                $"client secret for app {clientId} in tenant {tenantId}");

        /// <summary>App-only with a certificate.</summary>
        public static ITokenSource Certificate(string tenantId, string clientId, X509Certificate2 certificate, SmtpCloudEnvironment environment, Uri? authorityHost = null) =>
            new AzureSource(
                new ClientCertificateCredential(tenantId, clientId, certificate, Options(new ClientCertificateCredentialOptions(), environment, authorityHost)),
                CloudEndpoints.For(environment).AppOnlyScope,
                appOnly: true,
                $"certificate {certificate.Thumbprint} for app {clientId} in tenant {tenantId}");

        /// <summary>Delegated, by device code: the prompt goes to the warning stream, never the console.</summary>
        public static ITokenSource DeviceCode(string? tenantId, string clientId, SmtpCloudEnvironment environment, Uri? authorityHost = null) =>
            new DeviceCodeSource(tenantId, clientId, environment, authorityHost);

        /// <summary>A managed identity (Azure Automation, Functions, VMs); clientId selects a user-assigned one.</summary>
        public static ITokenSource ManagedIdentity(string? clientId, SmtpCloudEnvironment environment) =>
            new AzureSource(
                string.IsNullOrEmpty(clientId) ? new ManagedIdentityCredential() : new ManagedIdentityCredential(clientId),
                CloudEndpoints.For(environment).AppOnlyScope,
                appOnly: true,
                string.IsNullOrEmpty(clientId) ? "the system-assigned managed identity" : $"the managed identity {clientId}");

        private static T Options<T>(T options, SmtpCloudEnvironment environment, Uri? authorityHost)
            where T : TokenCredentialOptions
        {
            options.AuthorityHost = authorityHost ?? CloudEndpoints.For(environment).AuthorityHost;
            options.Retry.MaxRetries = 1;
            options.Retry.NetworkTimeout = TimeSpan.FromSeconds(20);
            return options;
        }

        internal static string Unprotect(SecureString secure)
        {
            IntPtr ptr = IntPtr.Zero;
            try
            {
                ptr = Marshal.SecureStringToGlobalAllocUnicode(secure);
                return Marshal.PtrToStringUni(ptr) ?? string.Empty;
            }
            finally
            {
                if (ptr != IntPtr.Zero)
                {
                    Marshal.ZeroFreeGlobalAllocUnicode(ptr);
                }
            }
        }

        private sealed class StaticSource : ITokenSource
        {
            private readonly SecureString _token;

            public StaticSource(SecureString token) => _token = token;

            public string Description => "the access token given";
            public bool IsAppOnly => false;
            public TimeSpan? TimeoutOverride => null;

            public Task<string> GetTokenAsync(IDiagnosticSink sink, CancellationToken cancellationToken) => Task.FromResult(Unprotect(_token));
        }

        private sealed class AzureSource : ITokenSource
        {
            private readonly TokenCredential _credential;
            private readonly string _scope;

            public AzureSource(TokenCredential credential, string scope, bool appOnly, string description)
            {
                _credential = credential;
                _scope = scope;
                IsAppOnly = appOnly;
                Description = description + " (scope " + scope + ")";
            }

            public string Description { get; }
            public bool IsAppOnly { get; }
            public TimeSpan? TimeoutOverride => null;

            public async Task<string> GetTokenAsync(IDiagnosticSink sink, CancellationToken cancellationToken)
            {
                AccessToken token = await _credential.GetTokenAsync(new TokenRequestContext(new[] { _scope }), cancellationToken).ConfigureAwait(false);
                return token.Token;
            }
        }

        private sealed class DeviceCodeSource : ITokenSource
        {
            private readonly string? _tenantId;
            private readonly string _clientId;
            private readonly SmtpCloudEnvironment _environment;
            private readonly Uri? _authorityHost;

            public DeviceCodeSource(string? tenantId, string clientId, SmtpCloudEnvironment environment, Uri? authorityHost)
            {
                _tenantId = tenantId;
                _clientId = clientId;
                _environment = environment;
                _authorityHost = authorityHost;
            }

            public string Description => $"device code sign-in for app {_clientId} (scope {CloudEndpoints.For(_environment).DelegatedScope})";
            public bool IsAppOnly => false;
            public TimeSpan? TimeoutOverride => TimeSpan.FromMinutes(15);

            public async Task<string> GetTokenAsync(IDiagnosticSink sink, CancellationToken cancellationToken)
            {
                var options = Options(new DeviceCodeCredentialOptions(), _environment, _authorityHost);
                options.ClientId = _clientId;
                options.TenantId = string.IsNullOrEmpty(_tenantId) ? "organizations" : _tenantId;
                options.DeviceCodeCallback = (info, ct) =>
                {
                    // The prompt is the one thing a person must see: the warning stream, never the console (STYLE rule 15).
                    sink.Warning(info.Message);
                    return Task.CompletedTask;
                };
                var credential = new DeviceCodeCredential(options);
                AccessToken token = await credential.GetTokenAsync(new TokenRequestContext(new[] { CloudEndpoints.For(_environment).DelegatedScope }), cancellationToken).ConfigureAwait(false);
                return token.Token;
            }
        }
    }
}
