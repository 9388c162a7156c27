using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using SmtpAuthTroubleshooter.Commands;
using Xunit;

namespace SmtpAuthTroubleshooter.Cmdlet.Tests
{
    public class TestSmtpAuthCommandTests
    {
        [Fact]
        public void A_plain_http_authority_host_is_a_stable_parameter_error_before_anything_connects()
        {
            // Azure.Identity refused it with a bare ArgumentException (NotSpecified, no recommended action).
            InitialSessionState iss = InitialSessionState.CreateDefault2();
            iss.Commands.Add(new SessionStateCmdletEntry("Test-SmtpAuth", typeof(TestSmtpAuthCommand), null));
            using PowerShell ps = PowerShell.Create(iss);
            ps.AddScript("try { Test-SmtpAuth -Server 127.0.0.1 -Port 1 -UserPrincipalName app@contoso.com -TenantId contoso.onmicrosoft.com -ClientId 11111111-2222-3333-4444-555555555555 " +
                "-ClientSecret (ConvertTo-SecureString 'x' -AsPlainText -Force) -AuthorityHost 'http://127.0.0.1:1/' } catch { $_.FullyQualifiedErrorId; [string]$_.TargetObject; $_.ErrorDetails.RecommendedAction }");
            string[] output = ps.Invoke().Select(o => o?.ToString() ?? string.Empty).ToArray();
            Assert.Equal("AuthorityHostInvalid,SmtpAuthTroubleshooter.Commands.TestSmtpAuthCommand", output[0]);
            Assert.Equal("http://127.0.0.1:1/", output[1]);
            Assert.False(string.IsNullOrEmpty(output[2]));
        }
    }
}
