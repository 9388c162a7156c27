#requires -Version 7.4
<#
.SYNOPSIS
    The offline demo: imports the built module and resolves real Exchange Online reply texts.
    (Later issues add the emulated tenant: SMTP emulator, stand-in EXO module and Graph endpoint.)
#>
param([Parameter(Mandatory)][string] $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force

$samples = [ordered]@{
    'Device log (tenant switch)'       = '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM 2023-11-29T14:52:57.126Z 08DBE7319275F6BA]'
    'Send-MailMessage (masked 5.7.57)' = 'Send-MailMessage : The SMTP server requires a secure connection or the client was not authenticated. The server response was: 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [SN4PR0201CA0068.namprd02.prod.outlook.com]'
    'Python smtplib (security defaults)' = "smtplib.SMTPAuthenticationError: (535, b'5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator. [AM0PR01CA0123.eurprd01.prod.outlook.com]')"
    'MailKit (OAuth token)'            = 'MailKit.Security.AuthenticationException: 535: 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com] (command: AUTH XOAUTH2)'
    'nodemailer (CA block)'            = "Error: Invalid login: 535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator. code: 'EAUTH', command: 'AUTH LOGIN'"
    'Java Mail (TLS 1.1 client)'       = 'javax.mail.MessagingException: 421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. Visit https://aka.ms/smtp_auth_tls. [DM6PR02CA0101.namprd02.prod.outlook.com]'
    'MailKit (SendAs at MAIL FROM)'    = 'MailKit.Net.Smtp.SmtpCommandException: 5.7.60 SMTP; Client does not have permissions to send as this sender'
    'Retirement (after Dec 2026)'      = '550 5.7.30 Basic authentication is not supported for Client Submission. [PA7P264CA0001.FRAP264.PROD.OUTLOOK.COM 2027-01-15T08:00:00.000Z 08DE11AA22BB33CC]'
}

$rows = foreach ($entry in $samples.GetEnumerator()) {
    $top = @($entry.Value | Resolve-SmtpAuthError)[0]
    [pscustomobject]@{
        Input    = $entry.Key
        Verdict  = $top.Verdict
        CauseId  = $top.CauseId
        Code     = (@($top.ReplyCode, $top.EnhancedStatusCode) | Where-Object { $_ }) -join ' '
        Fix      = if ($top.RemediationCommand) { $top.RemediationCommand } else { $top.Remediation }
    }
}
$rows | Format-Table -Wrap -AutoSize | Out-String -Width 220 | Write-Output
