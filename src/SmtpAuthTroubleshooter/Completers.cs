using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace SmtpAuthTroubleshooter
{
    /// <summary>
    /// Tab completion for -Server: the Microsoft 365 submission hosts (https://learn.microsoft.com/exchange/mail-flow-best-practices/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365, https://learn.microsoft.com/graph/deployments, https://learn.microsoft.com/exchange/mail-flow-best-practices/troubleshoot-high-volume-email-m365), so an admin does not
    /// have to remember the sovereign or legacy-TLS host names (STYLE rule 13: IArgumentCompleter, not psm1 script blocks).
    /// </summary>
    public sealed class SmtpServerCompleter : IArgumentCompleter
    {
        private static readonly (string Host, string Tip)[] s_hosts =
        {
            ("smtp.office365.com", "Exchange Online SMTP AUTH (worldwide, GCC), port 587 STARTTLS"),
            ("smtp-legacy.office365.com", "Opt-in endpoint for TLS 1.0/1.1 clients (Set-TransportConfig -AllowLegacyTLSClients)"),
            ("smtp.hve.mx.microsoft", "High Volume Email (internal recipients), port 587 STARTTLS"),
            ("smtp-hve.office365.com", "High Volume Email's older name, which smtp.hve.mx.microsoft replaces"),
            ("smtp.office365.us", "US Government GCC High / DoD"),
            ("smtp.partner.outlook.cn", "Microsoft 365 operated by 21Vianet"),
            ("smtp-legacy.partner.outlook.cn", "21Vianet opt-in endpoint for TLS 1.0/1.1 clients (Set-TransportConfig -AllowLegacyTLSClients)"),
        };

        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string word = (wordToComplete ?? string.Empty).Trim('\'', '"');
            return s_hosts
                .Where(h => h.Host.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                .Select(h => new CompletionResult(h.Host, h.Host, CompletionResultType.ParameterValue, h.Tip));
        }
    }
}
