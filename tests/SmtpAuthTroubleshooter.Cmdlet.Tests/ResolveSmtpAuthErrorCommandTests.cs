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
        public void A_probe_result_read_back_from_a_file_with_another_names_certificate_on_Exchange_Onlines_host_is_an_interception()
        {
            // An Import-Csv copy of a Test-SmtpAuth result: strings only. Microsoft's greeting, but the certificate was for
            // another name (RemoteCertificateNameMismatch) on smtp.office365.com: another server answered.
            const string Probe = "[pscustomobject]@{ Server = 'smtp.office365.com'; Port = '587'; ExchangeOnline = 'True'; AuthMethod = 'Basic'; TlsMode = 'StartTls'; FailedPhase = 'Tls'; " +
                "Succeeded = 'False'; StartTlsOffered = 'True'; CertificateSubject = 'CN=*.a2hosting.com'; CertificateErrors = '{0}'; " +
                "Message = 'The server certificate did not validate ({0}); the credentials were not sent.'; " +
                "Transcript = \"S: 220 HK0PR01CA0063.outlook.office365.com Microsoft ESMTP MAIL Service ready at Sun, 15 Nov 2020 13:08:20 +0000`nC: EHLO x\" } | Resolve-SmtpAuthError";
            var (output, errors, _) = PowerShellHost.Run(Probe.Replace("{0}", "RemoteCertificateNameMismatch, RemoteCertificateChainErrors"));
            Assert.Empty(errors);
            var top = (SmtpAuthFinding)output[0].BaseObject;
            Assert.Equal("SubmissionIntercepted", top.CauseId);
            Assert.Contains("'CN=*.a2hosting.com'", top.Evidence, System.StringComparison.Ordinal);

            // The same certificate with only a chain error (a TLS-inspection proxy signing for the right name): not read so.
            var (chainOnly, _, _) = PowerShellHost.Run(Probe.Replace("{0}", "RemoteCertificateChainErrors"));
            Assert.DoesNotContain(chainOnly, o => ((SmtpAuthFinding)o.BaseObject).CauseId == "SubmissionIntercepted");
        }

        [Theory]
        [InlineData("'scanner@fabrikam.com'", "-UserPrincipalName scanner@fabrikam.com", false)]    // a state left from another tenant's turn of a loop
        [InlineData("'scanner@fabrikam.com'", "-UserPrincipalName Inherit@Contoso.com", true)]      // the state's own mailbox (case aside)
        [InlineData("'app@contoso.com'", "", false)]                                                // a probe result of another mailbox
        [InlineData("'inherit@contoso.com'", "", true)]                                             // its primary address
        public void A_policy_state_of_another_mailbox_is_not_used_to_judge_the_error(string user, string parameter, bool used)
        {
            // The state says SMTP AUTH is off for the organization (contoso): it confirms TenantSmtpAuthDisabled only for its own mailbox.
            string script = "$state = [SmtpAuthTroubleshooter.SmtpAuthPolicyState]@{ UserPrincipalName = 'inherit@contoso.com'; PrimarySmtpAddress = 'inherit@contoso.com'; " +
                "TenantSmtpAuthDisabled = $true; SmtpAuthEnabled = $false; SmtpAuthDecidedBy = 'Tenant' }; " +
                "$probe = [pscustomobject]@{ Server = 'smtp.office365.com'; Port = '587'; ExchangeOnline = 'True'; AuthMethod = 'Basic'; FailedPhase = 'Auth'; Succeeded = 'False'; UserName = " + user + "; " +
                $"ReplyText = '{Tenant}'; Transcript = 'S: 220 x' }}; " +
                "$f = @($probe, $probe | Resolve-SmtpAuthError -PolicyState $state " + parameter + " -WarningVariable w -WarningAction SilentlyContinue); " +
                "[pscustomobject]@{ Verdict = [string]($f | Where-Object CauseId -eq 'TenantSmtpAuthDisabled' | Select-Object -First 1).Verdict; Warnings = @($w).Count; Warning = [string]($w | Select-Object -First 1) }";
            var (output, errors, _) = PowerShellHost.Run(script);
            Assert.Empty(errors);
            PSObject result = output.Last();
            string verdict = (string)result.Properties["Verdict"].Value;
            int warnings = (int)result.Properties["Warnings"].Value;
            if (used)
            {
                Assert.Equal("Confirmed", verdict);
                Assert.Equal(0, warnings);
                return;
            }

            Assert.NotEqual("Confirmed", verdict);
            Assert.Equal(1, warnings);                                   // once per command, not once per record
            Assert.Contains("The policy state is for inherit@contoso.com, but the error is for " + user.Trim('\''), (string)result.Properties["Warning"].Value, System.StringComparison.Ordinal);
        }

        [Fact]
        public void An_empty_PolicyStateId_cell_of_a_file_copy_is_no_lost_policy_state()
        {
            // Import-Csv writes "" for a result never piped with a state; that is not an id, and no warning is due.
            const string Copy = "[pscustomobject]@{ Server = 'smtp.office365.com'; Port = '587'; AuthMethod = 'Basic'; FailedPhase = 'Auth'; Succeeded = 'False'; PolicyStateId = ''; " +
                "ReplyText = '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.'; Transcript = 'S: 220 x' } | Resolve-SmtpAuthError -WarningVariable w -WarningAction SilentlyContinue | Out-Null; $w.Count";
            var (output, errors, _) = PowerShellHost.Run(Copy);
            Assert.Empty(errors);
            Assert.Equal(0, (int)output.Last().BaseObject);
        }

        [Fact]
        public void The_probes_own_sender_and_app_fill_the_fix_command()
        {
            // The probe ran with -From and an app-only token: the SendAs fix names that address, the service principal
            // fix names that app, instead of '<from>' and '<appId>' placeholders.
            const string SendAs = "[pscustomobject]@{ Server = 'smtp.office365.com'; Port = '587'; ExchangeOnline = 'True'; AuthMethod = 'Basic'; FailedPhase = 'MailFrom'; Succeeded = 'False'; UserName = 'app@contoso.com'; From = 'info@contoso.com'; " +
                "ReplyText = '554 5.2.252 SendAsDenied; app@contoso.com not allowed to send as info@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied'; Transcript = 'S: 220 x' } | Resolve-SmtpAuthError";
            var (output, errors, _) = PowerShellHost.Run(SendAs.Replace("app@contoso.com not allowed to send as info@contoso.com; ", string.Empty, System.StringComparison.Ordinal));
            Assert.Empty(errors);
            SmtpAuthFinding sendAs = output.Select(o => (SmtpAuthFinding)o.BaseObject).First(f => f.CauseId == "SendAsDenied");
            Assert.Equal("Add-RecipientPermission -Identity 'info@contoso.com' -Trustee 'app@contoso.com' -AccessRights SendAs", sendAs.RemediationCommand);

            const string App = "[pscustomobject]@{ Server = 'smtp.office365.com'; Port = '587'; ExchangeOnline = 'True'; AuthMethod = 'OAuth'; FailedPhase = 'Auth'; Succeeded = 'False'; UserName = 'app@contoso.com'; " +
                "TokenIdentity = 'b1000000-0000-4000-8000-000000000002'; ReplyText = '535 5.7.3 Authentication unsuccessful'; Transcript = 'S: 220 x' } | Resolve-SmtpAuthError";
            var (appOutput, appErrors, _) = PowerShellHost.Run(App);
            Assert.Empty(appErrors);
            SmtpAuthFinding sp = appOutput.Select(o => (SmtpAuthFinding)o.BaseObject).First(f => f.CauseId == "ServicePrincipalNotRegistered");
            Assert.StartsWith("New-ServicePrincipal -AppId 'b1000000-0000-4000-8000-000000000002' -ObjectId '<objectId>'", sp.RemediationCommand, System.StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("Implicit", "465")]
        [InlineData("Implicit", "587")]
        [InlineData("StartTls", "587")]
        public void A_TLS_alert_from_the_server_is_the_TLS_setup_not_the_password_nor_the_TLS_mode(string mode, string port)
        {
            // Postfix allowing TLS 1.0 only, or a server whose key is unusable: the probe's message says the server answered
            // its TLS hello with an alert. Not a refused login (nothing was sent), not TLS on connect to a STARTTLS port.
            string probe = "[pscustomobject]@{ Server = 'mail.example.net'; Port = '" + port + "'; AuthMethod = 'Basic'; TlsMode = '" + mode + "'; FailedPhase = 'Tls'; Succeeded = 'False'; " +
                "Message = 'The TLS handshake failed before the server presented a certificate: error:0A000410:SSL routines::sslv3 alert handshake failure. The server answered the probe''s TLS hello with a TLS alert: no TLS version or cipher in common (the probe offers TLS 1.2 and later only), or a fault in the server''s TLS setup (its certificate or key). The credentials were not sent.'; " +
                "Transcript = 'S: 220 mail.example.net ESMTP Postfix' } | Resolve-SmtpAuthError";
            var (output, errors, _) = PowerShellHost.Run(probe);
            Assert.Empty(errors);
            var findings = output.Select(o => (SmtpAuthFinding)o.BaseObject).ToList();
            Assert.Equal("TlsVersionTooOld", findings[0].CauseId);
            Assert.DoesNotContain(findings, f => f.CauseId == "InvalidCredentials" && f.Verdict != Verdict.RuledOut);
            Assert.DoesNotContain(findings, f => f.CauseId == "ImplicitTlsOnStartTlsPort" && f.Verdict != Verdict.RuledOut);
        }

        [Theory]
        [InlineData("504 5.5.4 Unsupported authentication mechanism.", "Auth")]
        [InlineData("MailKit.Security.SslHandshakeException: An error occurred while attempting to establish an SSL or TLS connection. The server's SSL certificate could not be validated for the following reasons: The root certificate authority's certificate is not trusted for this host.", "Tls")]
        [InlineData("smtplib.SMTPNotSupportedError: STARTTLS extension not supported by server.", "StartTls")]
        [InlineData("The server closed the connection during Ehlo.", "Ehlo")]
        public void Another_servers_findings_do_not_argue_from_Exchange_Online(string reply, string phase)
        {
            // Dovecot, Postfix, Haraka: a finding that stands must speak of that server, not of what Exchange Online
            // offers ("it offers only AUTH LOGIN and XOAUTH2" is false for a PLAIN-only Dovecot).
            string probe = "[pscustomobject]@{ Server = 'mail.example.net'; Port = '587'; ExchangeOnline = 'False'; AuthMethod = 'Basic'; TlsMode = 'StartTls'; FailedPhase = '" + phase + "'; Succeeded = 'False'; CertificateSubject = 'CN=mail.example.net'; " +
                "ReplyText = '" + reply.Replace("'", "''", System.StringComparison.Ordinal) + "'; Transcript = 'S: 220 mail.example.net ESMTP Postfix' } | Resolve-SmtpAuthError";
            var (output, errors, _) = PowerShellHost.Run(probe);
            Assert.Empty(errors);
            var standing = output.Select(o => (SmtpAuthFinding)o.BaseObject).Where(f => f.Verdict != Verdict.RuledOut).ToList();
            Assert.NotEmpty(standing);
            Assert.All(standing, f => Assert.DoesNotMatch("(?<!not )Exchange Online", f.Title + " " + f.Evidence));
            Assert.All(standing, f => Assert.DoesNotContain("smtp.office365.com", f.Title + " " + f.Evidence, System.StringComparison.Ordinal));
        }

        [Fact]
        public void Verbose_narrates()
        {
            var (_, _, verbose) = PowerShellHost.Run($"'{Tenant}' | Resolve-SmtpAuthError -Verbose");
            Assert.Contains(verbose, v => v.Message.Contains("TenantSmtpAuthDisabled", System.StringComparison.Ordinal));
        }
    }
}
