using System;
using System.Collections.Generic;
using System.Threading;
using Azure.Core;
using Azure.Identity;
using MailKit.Net.Smtp;
using Microsoft.Graph;

namespace SmtpAuthTroubleshooter.Engine
{
    /// <summary>
    /// Test and support hook (STYLE rule 43): constructs the third-party objects the engine relies on — a
    /// MailKit SmtpClient, an Azure.Identity credential and a GraphServiceClient — without any network
    /// call, and reports which assembly each came from. Proves the dependency isolation end to end.
    /// </summary>
    public static class DependencySelfTest
    {
        private static readonly string[] s_graphScopes = { "https://graph.microsoft.com/.default" };

        /// <summary>Builds the objects and returns "type => assembly full name" pairs.</summary>
        public static IReadOnlyDictionary<string, string> Run()
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            using (var smtp = new SmtpClient())
            {
                result["MailKit.Net.Smtp.SmtpClient"] = smtp.GetType().Assembly.FullName ?? string.Empty;
            }

            // A certificate-less client-secret credential: constructing it touches Azure.Identity and MSAL's
            // builders but sends nothing. The secret is a fixed placeholder, not a credential.
            TokenCredential credential = new ClientSecretCredential(
                "00000000-0000-0000-0000-000000000001",
                "00000000-0000-0000-0000-000000000002",
                "placeholder-not-a-secret",
                new ClientSecretCredentialOptions { Retry = { MaxRetries = 0 } });
            result["Azure.Identity.ClientSecretCredential"] = credential.GetType().Assembly.FullName ?? string.Empty;

            using (var graph = new GraphServiceClient(credential, s_graphScopes))
            {
                result["Microsoft.Graph.GraphServiceClient"] = graph.GetType().Assembly.FullName ?? string.Empty;
                result["Microsoft.Graph.Core"] = typeof(Microsoft.Graph.GraphClientFactory).Assembly.FullName ?? string.Empty;
                result["Microsoft.Kiota.Abstractions"] = typeof(Microsoft.Kiota.Abstractions.RequestInformation).Assembly.FullName ?? string.Empty;
            }

            result["Microsoft.Identity.Client"] = typeof(Microsoft.Identity.Client.ConfidentialClientApplicationBuilder).Assembly.FullName ?? string.Empty;
            var app = Microsoft.Identity.Client.ConfidentialClientApplicationBuilder
                .Create("00000000-0000-0000-0000-000000000002")
                .WithClientSecret("placeholder-not-a-secret")
                .WithTenantId("00000000-0000-0000-0000-000000000001")
                .Build();
            result["Microsoft.Identity.Client.Application"] = app.GetType().Assembly.FullName ?? string.Empty;
            _ = CancellationToken.None;
            return result;
        }
    }
}
