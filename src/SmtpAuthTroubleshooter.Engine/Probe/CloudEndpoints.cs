using System;
using System.Collections.Generic;

namespace SmtpAuthTroubleshooter.Engine.Probe
{
    /// <summary>
    /// Per-cloud SMTP host, token scopes, accepted audiences and Entra authority (https://learn.microsoft.com/graph/deployments; https://learn.microsoft.com/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth).
    /// The sovereign rows are community-sourced (reported by admins, not in one Microsoft page): they are data here, easy to correct.
    /// </summary>
    public sealed class CloudEndpoints
    {
        private static readonly Dictionary<SmtpCloudEnvironment, CloudEndpoints> s_all = new Dictionary<SmtpCloudEnvironment, CloudEndpoints>
        {
            [SmtpCloudEnvironment.Global] = new CloudEndpoints(
                "smtp.office365.com",
                "https://outlook.office365.com/.default",
                "https://outlook.office.com/SMTP.Send",
                new Uri("https://login.microsoftonline.com/"),
                new[] { "https://outlook.office.com", "https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000" }),
            [SmtpCloudEnvironment.USGovGCCHigh] = new CloudEndpoints(
                "smtp.office365.us",
                "https://outlook.office365.us/.default",
                "https://outlook.office365.us/SMTP.Send",
                new Uri("https://login.microsoftonline.us/"),
                new[] { "https://outlook.office365.us", "00000002-0000-0ff1-ce00-000000000000" }),
            [SmtpCloudEnvironment.USGovDoD] = new CloudEndpoints(
                "smtp.office365.us",
                "https://outlook-dod.office365.us/.default",
                "https://outlook-dod.office365.us/SMTP.Send",
                new Uri("https://login.microsoftonline.us/"),
                new[] { "https://outlook-dod.office365.us", "https://outlook.office365.us", "00000002-0000-0ff1-ce00-000000000000" }),
            [SmtpCloudEnvironment.China] = new CloudEndpoints(
                "smtp.partner.outlook.cn",
                "https://partner.outlook.cn/.default",
                "https://partner.outlook.cn/SMTP.Send",
                new Uri("https://login.chinacloudapi.cn/"),
                new[] { "https://partner.outlook.cn", "00000002-0000-0ff1-ce00-000000000000" }),
        };

        /// <summary>
        /// True when a 220 greeting is Exchange's: "&lt;server&gt;.outlook.office365.com Microsoft ESMTP MAIL Service ready at
        /// ..." in every cloud (https://learn.microsoft.com/exchange/mail-flow/test-smtp-with-telnet). On-premises Exchange
        /// Server greets the same way with its own name; the name tells them apart where that matters.
        /// </summary>
        internal static bool IsExchangeGreeting(string? greeting) =>
            greeting is not null && greeting.IndexOf("Microsoft ESMTP MAIL Service", StringComparison.OrdinalIgnoreCase) >= 0;

        private CloudEndpoints(string smtpHost, string appOnlyScope, string delegatedScope, Uri authorityHost, IReadOnlyList<string> audiences)
        {
            SmtpHost = smtpHost;
            AppOnlyScope = appOnlyScope;
            DelegatedScope = delegatedScope;
            AuthorityHost = authorityHost;
            Audiences = audiences;
        }

        /// <summary>The SMTP AUTH submission host.</summary>
        public string SmtpHost { get; }

        /// <summary>The one scope for client-credential (app-only) tokens.</summary>
        public string AppOnlyScope { get; }

        /// <summary>The delegated scope for SMTP.Send.</summary>
        public string DelegatedScope { get; }

        /// <summary>The Entra authority host.</summary>
        public Uri AuthorityHost { get; }

        /// <summary>Token audiences the SMTP service accepts.</summary>
        public IReadOnlyList<string> Audiences { get; }

        /// <summary>The endpoints of one cloud.</summary>
        public static CloudEndpoints For(SmtpCloudEnvironment environment) => s_all[environment];
    }
}
