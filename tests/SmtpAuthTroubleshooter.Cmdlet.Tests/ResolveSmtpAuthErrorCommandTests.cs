using System.Linq;
using System.Management.Automation;
using Xunit;

namespace SmtpAuthTroubleshooter.Cmdlet.Tests
{
    public class ResolveSmtpAuthErrorCommandTests
    {
        private const string Tenant = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM 2023-11-29T14:52:57.126Z 08DBE7319275F6BA]";

        [Fact]
        public void Writes_typed_findings_most_likely_first()
        {
            var (output, errors, _) = PowerShellHost.Run($"'{Tenant}' | Resolve-SmtpAuthError");
            Assert.Empty(errors);
            var findings = output.Select(o => Assert.IsType<SmtpAuthFinding>(o.BaseObject)).ToList();
            Assert.Equal("TenantSmtpAuthDisabled", findings[0].CauseId);
            Assert.Equal(Verdict.Likely, findings[0].Verdict);
        }

        [Fact]
        public void Bad_items_get_stable_error_ids_and_the_pipeline_goes_on()
        {
            var (output, errors, _) = PowerShellHost.Run($"@('{Tenant}', ' ', 7, [pscustomobject]@{{ Name = 'x' }}, '535 5.7.139 Authentication unsuccessful, account locked.') | Resolve-SmtpAuthError");
            Assert.Equal(new[] { "TenantSmtpAuthDisabled", "AccountLocked" }, output.Select(o => (SmtpAuthFinding)o.BaseObject).Where(f => f.Rank == 1).Select(f => f.CauseId));
            Assert.Equal(3, errors.Count);
            Assert.Equal("InputObjectEmpty,SmtpAuthTroubleshooter.Commands.ResolveSmtpAuthErrorCommand", errors[0].FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, errors[0].CategoryInfo.Category);
            Assert.Equal("InputObjectUnsupported,SmtpAuthTroubleshooter.Commands.ResolveSmtpAuthErrorCommand", errors[1].FullyQualifiedErrorId);
            Assert.Equal(7, errors[1].TargetObject);
            Assert.Equal(ErrorCategory.InvalidType, errors[1].CategoryInfo.Category);
            Assert.False(string.IsNullOrEmpty(errors[1].ErrorDetails.RecommendedAction));
        }

        [Fact]
        public void Null_is_a_parameter_binding_error()
        {
            var (output, errors, _) = PowerShellHost.Run("$null, 'x' | Resolve-SmtpAuthError");
            Assert.Single(output);
            Assert.Single(errors);
            Assert.Equal("ParameterArgumentValidationError,SmtpAuthTroubleshooter.Commands.ResolveSmtpAuthErrorCommand", errors[0].FullyQualifiedErrorId);
        }

        [Fact]
        public void Auth_method_and_user_come_from_a_probe_like_object()
        {
            var (output, errors, _) = PowerShellHost.Run("[pscustomobject]@{ UserName = 'app@contoso.com'; AuthMethod = 'OAuth'; ReplyText = '535 5.7.3 Authentication unsuccessful' } | Resolve-SmtpAuthError");
            Assert.Empty(errors);
            var top = (SmtpAuthFinding)output[0].BaseObject;
            Assert.Equal("OAuthTokenRejected", top.CauseId);
            Assert.Equal("app@contoso.com", top.UserPrincipalName);
        }

        [Fact]
        public void Verbose_narrates()
        {
            var (_, _, verbose) = PowerShellHost.Run($"'{Tenant}' | Resolve-SmtpAuthError -Verbose");
            Assert.Contains(verbose, v => v.Message.Contains("TenantSmtpAuthDisabled", System.StringComparison.Ordinal));
        }
    }
}
