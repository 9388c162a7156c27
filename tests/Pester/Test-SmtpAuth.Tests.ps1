#requires -Modules Pester
# Test-SmtpAuth against the Exchange Online SMTP emulator (issue 3). The emulator answers with the exact Exchange
# Online replies for each account of tests/SmtpAuthTroubleshooter.ExoEmulator/Scenarios/demo-tenant.json.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/emulator.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:Emu = Start-ExoEmulator
    $script:Common = @{ Server = '127.0.0.1'; Port = $script:Emu.Port; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }
    $script:HealthyApp = 'b1000000-0000-4000-8000-000000000001'
    $script:UnregisteredApp = 'b1000000-0000-4000-8000-000000000002'
}

AfterAll {
    Stop-ExoEmulator $script:Emu
}

Describe 'Test-SmtpAuth basic auth' -Tag Probe {
    It 'authenticates a healthy account and records every phase and TLS fact' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!') @script:Common
        $r.PSObject.TypeNames[0] | Should -BeExactly 'SmtpAuthTroubleshooter.SmtpAuthTestResult'
        $r.PSObject.Properties.Name[0..2] | Should -Be @('Server', 'Port', 'UserName')
        $r.Succeeded | Should -BeTrue
        $r.FailedPhase | Should -Be 'None'
        $r.UserName | Should -BeExactly 'healthy.basic@contoso.com'
        $r.AuthMethod | Should -Be 'Basic'
        $r.Mechanism | Should -BeExactly 'LOGIN'
        $r.ReplyCode | Should -Be 235
        $r.EnhancedStatusCode | Should -BeExactly '2.7.0'
        $r.TlsProtocol | Should -BeIn @('Tls12', 'Tls13')
        $r.CipherSuite | Should -Match '^TLS_'
        $r.StartTlsOffered | Should -BeTrue
        $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty
        $r.AuthMechanismsAfterTls | Should -BeExactly 'LOGIN XOAUTH2'
        $r.CertificateSubject | Should -Match 'CN=localhost'
        $r.CertificateValid | Should -BeFalse
        $r.CertificateCheckSkipped | Should -BeTrue
        foreach ($p in 'DnsMs', 'ConnectMs', 'BannerMs', 'EhloMs', 'StartTlsMs', 'TlsMs', 'AuthMs') { $r.$p | Should -Not -BeNullOrEmpty -Because $p }
        $r.MailFromMs | Should -BeNullOrEmpty
        $r.Transcript | Should -Match '(?m)^C: STARTTLS$'
        $r.Transcript | Should -Match '(?m)^C: AUTH LOGIN$'
        $r.Transcript | Should -Match '(?m)^S: 235 2\.7\.0'
        ($r.Transcript -split "`n" | Where-Object { $_ -ceq 'C: ********' }).Count | Should -Be 2
    }

    It 'stops at <Phase> with <Code> for <User>, and Resolve-SmtpAuthError names <Cause>' -ForEach @(
        @{ User = 'tenant.inherit@contoso.com'; Password = 'Demo-Inherit-3!'; Phase = 'Auth'; Code = '5.7.139'; Text = 'disabled for the Tenant'; Cause = 'TenantSmtpAuthDisabled' }
        @{ User = 'mailbox.disabled@contoso.com'; Password = 'Demo-MbxOff-4!'; Phase = 'Auth'; Code = '5.7.139'; Text = 'disabled for the Mailbox'; Cause = 'MailboxSmtpAuthDisabled' }
        @{ User = 'policy.blocked@contoso.com'; Password = 'Demo-Policy-5!'; Phase = 'Auth'; Code = '5.7.139'; Text = 'basic authentication is disabled'; Cause = 'BasicAuthDisabledForAccount' }
        @{ User = 'wrong.password@contoso.com'; Password = 'not-the-password'; Phase = 'Auth'; Code = '5.7.139'; Text = 'credentials were incorrect'; Cause = 'InvalidCredentials' }
        # The text alone cannot tell a Conditional Access block from MFA (Entra gives this reply for 53003 and 50076 alike;
        # Microsoft's Dynamics 365 troubleshooting names MFA): both are Likely, MFA first; the state or sign-in log decides.
        @{ User = 'ca.blocked@contoso.com'; Password = 'Demo-CaBlock-7!'; Phase = 'Auth'; Code = '5.7.139'; Text = 'did not meet the criteria'; Cause = 'ConditionalAccessBlocksLegacyAuth'; Top = 'MfaRequired' }
        @{ User = 'locked@contoso.com'; Password = 'Demo-Locked-10!'; Phase = 'Auth'; Code = '5.7.139'; Text = 'account locked'; Cause = 'AccountLocked' }
        @{ User = 'disabled.account@contoso.com'; Password = 'Demo-Disabled-11!'; Phase = 'Auth'; Code = '5.7.139'; Text = 'account has an issue'; Cause = 'AccountIssue' }
        @{ User = 'retired@contoso.com'; Password = 'Demo-Retired-13!'; Phase = 'Auth'; Code = '5.7.30'; Text = 'Basic authentication is not supported'; Cause = 'BasicAuthRetired' }
    ) {
        $r = Test-SmtpAuth -Credential (New-TestCredential $User $Password) @script:Common
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be $Phase
        $r.EnhancedStatusCode | Should -BeExactly $Code
        $r.ReplyText | Should -Match ([regex]::Escape($Text))
        $r.ReplyText | Should -Match '\[YT3PR01CA0020\.\w+\.PROD\.OUTLOOK\.COM [\d\-T:.]+Z [0-9A-F]+\]$'
        $findings = @($r | Resolve-SmtpAuthError)
        $first = $findings[0]
        $first.CauseId | Should -BeExactly ($Top ? $Top : $Cause)
        "$(@($findings | Where-Object CauseId -EQ $Cause)[0].Verdict)" | Should -BeExactly 'Likely'
        $first.UserPrincipalName | Should -BeExactly $User
    }

    It 'reports security defaults from a tenant that has them on' {
        $sd = Start-ExoEmulator -Scenario 'securitydefaults-tenant.json'
        try {
            $r = Test-SmtpAuth -Credential (New-TestCredential 'scanner@fabrikam.com' 'Demo-Scanner-1!') -Server 127.0.0.1 -Port $sd.Port -SkipCertificateCheck -WarningAction SilentlyContinue
            $r.ReplyText | Should -Match 'security defaults policy'
            @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'SecurityDefaultsBlockBasicAuth'
        }
        finally { Stop-ExoEmulator $sd }
    }

    It 'sends AUTH PLAIN when forced, and Exchange refuses it with 504 5.7.4' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!') -Mechanism Plain @script:Common
        $r.Mechanism | Should -BeExactly 'PLAIN'
        $r.FailedPhase | Should -Be 'Auth'
        $r.ReplyCode | Should -Be 504
        $r.EnhancedStatusCode | Should -BeExactly '5.7.4'
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'AuthMechanismUnsupported'
    }

    It 'answers 421 4.7.66 when the session is TLS 1.1' {
        $old = Start-ExoEmulator -ExtraArgs @('--simulate-tls', 'tls11')
        try {
            $r = Test-SmtpAuth -Credential (New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!') -Server 127.0.0.1 -Port $old.Port -SkipCertificateCheck -WarningAction SilentlyContinue
            $r.Succeeded | Should -BeFalse
            $r.ReplyCode | Should -Be 421
            $r.EnhancedStatusCode | Should -BeExactly '4.7.66'
            @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'TlsVersionTooOld'
        }
        finally { Stop-ExoEmulator $old }
    }
}

Describe 'Test-SmtpAuth transport and TLS safety' -Tag Probe {
    It 'never sends credentials without TLS (-TlsMode None): FailedPhase StartTls' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!') -TlsMode None @script:Common
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'StartTls'
        $r.Transcript | Should -Not -Match 'C: AUTH'
        $r.Message | Should -Match 'not sent'
    }

    It 'stops at StartTls when the server offers no STARTTLS, and sends AUTH only with -AllowUnencryptedAuthentication' {
        $plain = Start-ExoEmulator -Tls none
        try {
            $cred = New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!'
            $r = Test-SmtpAuth -Credential $cred -Server 127.0.0.1 -Port $plain.Port -WarningAction SilentlyContinue
            $r.FailedPhase | Should -Be 'StartTls'
            $r.StartTlsOffered | Should -Be $false
            $r.Transcript | Should -Not -Match 'C: AUTH'
            @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'StartTlsNotOffered'

            $r2 = Test-SmtpAuth -Credential $cred -Server 127.0.0.1 -Port $plain.Port -AllowUnencryptedAuthentication -WarningVariable w -WarningAction SilentlyContinue
            @($w | Where-Object { "$_" -match '^-AllowUnencryptedAuthentication: credentials may be sent' }).Count | Should -Be 1
            $r2.FailedPhase | Should -Be 'Auth'
        }
        finally { Stop-ExoEmulator $plain }
    }

    It 'fails TLS on an untrusted certificate unless -SkipCertificateCheck, and sends nothing' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!') -Server 127.0.0.1 -Port $script:Emu.Port -TimeoutSec 20
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Tls'
        $r.CertificateValid | Should -BeFalse
        $r.CertificateCheckSkipped | Should -BeFalse
        $r.CertificateErrors | Should -Match 'RemoteCertificateChainErrors'
        $r.Transcript | Should -Not -Match 'C: AUTH'
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'CertificateValidationFailed'
    }

    It 'records implicit TLS against a STARTTLS port as a TLS failure' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!') -TlsMode Implicit @script:Common
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Tls'
    }

    It 'reports a refused connection as FailedPhase Connect' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $r = Test-SmtpAuth -Credential (New-TestCredential 'a@contoso.com' 'x') -Server 127.0.0.1 -Port $port -TimeoutSec 5
        $r.FailedPhase | Should -Be 'Connect'
        $r.Message | Should -Match 'refused'
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'ConnectionFailed'
    }

    It 'reports a name that cannot resolve as FailedPhase Dns (no lookup leaves the machine for this name)' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'a@contoso.com' 'x') -Server 'no such host' -TimeoutSec 5
        $r.FailedPhase | Should -Be 'Dns'
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'DnsResolutionFailed'
    }

    It 'ends a silent server at the time limit as FailedPhase Banner' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try {
            $r = Test-SmtpAuth -Credential (New-TestCredential 'a@contoso.com' 'x') -Server 127.0.0.1 -Port $listener.LocalEndpoint.Port -TimeoutSec 2
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Banner'
            # The port answered: not "timed out" (which reads as a blocked port) but a service that never greets (issue 9).
            $r.Message | Should -Match 'the port answered.*no SMTP greeting in 2 s'
        }
        finally { $listener.Stop() }
    }

    It 'stops promptly on Ctrl+C (StopProcessing), long before its time limit' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$($script:ModuleManifest)'; Test-SmtpAuth -Credential ([pscredential]::new('a@contoso.com', (ConvertTo-SecureString 'x' -AsPlainText -Force))) -Server 127.0.0.1 -Port $($listener.LocalEndpoint.Port) -TimeoutSec 300")
            $async = $ps.BeginInvoke()
            Start-Sleep -Seconds 2
            $stop = $ps.BeginStop($null, $null)
            # Functional, not a timing assertion: the probe would otherwise run for 300 s.
            $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(60)) | Should -BeTrue
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally { $ps.Dispose(); $listener.Stop() }
    }
}

Describe 'Test-SmtpAuth OAuth (XOAUTH2)' -Tag Probe {
    It 'authenticates an app-only token for a mailbox the app has FullAccess on' {
        $r = Test-SmtpAuth notifications@contoso.com -AccessToken (New-TestToken -App $script:HealthyApp) @script:Common
        $r.Succeeded | Should -BeTrue
        $r.AuthMethod | Should -Be 'OAuth'
        $r.Mechanism | Should -BeExactly 'XOAUTH2'
        $r.TokenAudience | Should -BeExactly 'https://outlook.office365.com'
        $r.TokenScopes | Should -Match 'SMTP\.SendAsApp'
        $r.TokenIssues | Should -BeNullOrEmpty
        $r.TokenExpiresUtc | Should -BeGreaterThan ([datetime]::UtcNow)
        $r.Transcript | Should -Match '(?m)^C: AUTH XOAUTH2 \*{8}$'
    }

    It 'flags <Issue> from the claims before AUTH, and Resolve-SmtpAuthError confirms it' -ForEach @(
        @{ Issue = 'TokenWrongAudience'; Token = @{ Audience = 'https://graph.microsoft.com' }; Warning = "^Token check: the token's audience is 'https://graph\.microsoft\.com'" }
        @{ Issue = 'TokenMissingPermission'; Token = @{ Roles = 'Mail.Send' }; Warning = '^Token check: the app-only token has no SMTP\.SendAsApp role' }
        @{ Issue = 'TokenExpired'; Token = @{ ExpMinutes = -10 }; Warning = '^Token check: the token expired at ' }
    ) {
        $t = New-TestToken -App $script:HealthyApp @Token
        $r = Test-SmtpAuth notifications@contoso.com -AccessToken $t @script:Common -WarningVariable w
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Auth'
        $r.ReplyText | Should -Match '^535 5\.7\.3 Authentication unsuccessful'
        $r.TokenIssues | Should -Match $Issue
        # The token warning itself: -SkipCertificateCheck (in Common) warns too, so "any warning" proves nothing.
        @($w | Where-Object { "$_" -match $Warning }).Count | Should -Be 1 -Because "the claims check warns about $Issue"
        $top = @($r | Resolve-SmtpAuthError)[0]
        $top.CauseId | Should -BeExactly $Issue
        $top.Verdict | Should -Be 'Confirmed'
    }

    It 'narrows a 5.7.3 with clean claims to OAuth causes (service principal not registered)' {
        $r = Test-SmtpAuth notifications@contoso.com -AccessToken (New-TestToken -App $script:UnregisteredApp) @script:Common
        $r.FailedPhase | Should -Be 'Auth'
        $r.TokenIssues | Should -BeNullOrEmpty
        $causes = @($r | Resolve-SmtpAuthError).CauseId
        $causes[0] | Should -BeExactly 'OAuthTokenRejected'
        $causes | Should -Contain 'ServicePrincipalNotRegistered'
        $causes | Should -Not -Contain 'InvalidCredentials'
    }

    It 'applies the mailbox SMTP AUTH switch to OAuth too' {
        $r = Test-SmtpAuth no.smtp.app@contoso.com -AccessToken (New-TestToken -App $script:HealthyApp) @script:Common
        $r.ReplyText | Should -Match 'disabled for the Tenant'
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'TenantSmtpAuthDisabled'
    }

    It 'checks the token audience of the chosen -Environment' {
        $r = Test-SmtpAuth notifications@contoso.com -AccessToken (New-TestToken -App $script:HealthyApp) -Environment China @script:Common
        $r.Environment | Should -Be 'China'
        $r.TokenIssues | Should -Match 'TokenWrongAudience'
    }

    It 'reports a token that cannot be obtained as FailedPhase Token, not an error' {
        $secret = ConvertTo-SecureString 'test-client-secret-value' -AsPlainText -Force
        $r = Test-SmtpAuth notifications@contoso.com -TenantId '00000000-0000-0000-0000-000000000001' -ClientId $script:HealthyApp -ClientSecret $secret -AuthorityHost 'https://127.0.0.1:1/' @script:Common -ErrorVariable e
        $e | Should -BeNullOrEmpty
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Token'
        $r.Message | Should -Match 'token'
        $r.Transcript | Should -BeNullOrEmpty
    }
}

Describe 'Test-SmtpAuth test message' -Tag Probe {
    It 'sends a test message only with -SendTestMessage' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!') -SendTestMessage -To 'someone@contoso.com' @script:Common -Confirm:$false
        $r.Succeeded | Should -BeTrue
        $r.TestMessageSent | Should -BeTrue
        $r.From | Should -BeExactly 'healthy.basic@contoso.com'
        $r.To | Should -BeExactly 'someone@contoso.com'
        $r.ReplyText | Should -Match '^250 2\.0\.0 OK'
        $r.DataMs | Should -Not -BeNullOrEmpty
        $r.Transcript | Should -Match 'message content not logged'
        $r.Transcript | Should -Not -Match 'Subject:'
    }

    It 'sends nothing under -WhatIf' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!') -SendTestMessage @script:Common -WhatIf
        $r.TestMessageSent | Should -BeFalse
        $r.Transcript | Should -Not -Match 'MAIL FROM'
    }

    It 'stops at MailFrom with 5.7.60 when the sender is not the mailbox and has no SendAs' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'sendas.denied@contoso.com' 'Demo-SendAs-15!') -SendTestMessage -From 'ceo@contoso.com' -To 'someone@contoso.com' @script:Common -Confirm:$false
        $r.FailedPhase | Should -Be 'MailFrom'
        $r.EnhancedStatusCode | Should -BeExactly '5.7.60'
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'SendAsDenied'
    }

    It 'rejects -From without -SendTestMessage as a terminating parameter error' {
        { Test-SmtpAuth -Credential (New-TestCredential 'a@contoso.com' 'x') -From 'b@contoso.com' @script:Common } |
            Should -Throw -ErrorId 'TestMessageParameterWithoutSend,SmtpAuthTroubleshooter.Commands.TestSmtpAuthCommand'
    }

    It 'reports a test message without a sender or recipient address as this record''s input error, before it connects, and goes on' {
        # -SkipAuthentication has no mailbox to fall back on; a credential user name such as "dave" is not an address.
        $noAuth = @(Test-SmtpAuth -SkipAuthentication -SendTestMessage @script:Common -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue)
        $noAuth.Count | Should -Be 0
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'TestMessageAddressMissing,SmtpAuthTroubleshooter.Commands.TestSmtpAuthCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Match '-SendTestMessage needs a From address'
        $err[0].ErrorDetails.RecommendedAction | Should -Match '-From and -To'
        $plain = @(Test-SmtpAuth -Credential (New-TestCredential 'dave' 'x') -SendTestMessage -To 'someone@contoso.com' @script:Common -Confirm:$false -ErrorVariable err2 -ErrorAction SilentlyContinue)
        $plain.Count | Should -Be 0
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'TestMessageAddressMissing,*'
        $err2[0].TargetObject | Should -BeExactly 'dave'
        # With both addresses given, -SkipAuthentication sends (the server decides whether it relays without AUTH).
        $sent = Test-SmtpAuth -SkipAuthentication -SendTestMessage -From 'healthy.basic@contoso.com' -To 'someone@contoso.com' @script:Common -Confirm:$false
        $sent.FailedPhase | Should -Not -Be 'Ehlo'
        $sent.From | Should -BeExactly 'healthy.basic@contoso.com'
    }
}

Describe 'Test-SmtpAuth pipeline input' -Tag Probe {
    It 'binds mailboxes by property name, probes them one after another, and reports an item without a mailbox as an error' {
        $token = New-TestToken -App $script:HealthyApp
        $inputs = @(
            [pscustomobject]@{ UserPrincipalName = 'notifications@contoso.com'; RecipientTypeDetails = 'UserMailbox' }
            [pscustomobject]@{ Department = 'no mailbox property' }
            [pscustomobject]@{ PrimarySmtpAddress = 'not an address' }
            [pscustomobject]@{ PrimarySmtpAddress = 'no.smtp.app@contoso.com' }
        )
        $results = @($inputs | Test-SmtpAuth -AccessToken $token @script:Common -ErrorVariable err -ErrorAction SilentlyContinue)
        $results.Count | Should -Be 3
        $results[0].UserName | Should -BeExactly 'notifications@contoso.com'
        $results[0].Succeeded | Should -BeTrue
        # Any name is probed (issue 9): Exchange Online refuses it, and the diagnosis says why.
        $results[1].UserName | Should -BeExactly 'not an address'
        $results[1].Succeeded | Should -BeFalse
        $results[2].UserName | Should -BeExactly 'no.smtp.app@contoso.com'
        $results[2].Succeeded | Should -BeFalse
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'UserPrincipalNameMissing,SmtpAuthTroubleshooter.Commands.TestSmtpAuthCommand'
        $err[0].TargetObject.Department | Should -BeExactly 'no mailbox property'
    }

    It 'checks connectivity only with -SkipAuthentication' {
        $r = Test-SmtpAuth -SkipAuthentication @script:Common
        $r.Succeeded | Should -BeTrue
        $r.AuthMethod | Should -Be 'Unknown'
        $r.Transcript | Should -Not -Match 'C: AUTH'
        $r.AuthMechanismsAfterTls | Should -BeExactly 'LOGIN XOAUTH2'
    }

    It 'writes results that export to CSV and JSON as plain values' {
        $r = Test-SmtpAuth -Credential (New-TestCredential 'tenant.inherit@contoso.com' 'Demo-Inherit-3!') @script:Common
        $csv = Join-Path $TestDrive 'probe.csv'
        $r | Export-Csv $csv -NoTypeInformation
        (Get-Content -Raw $csv) | Should -Not -Match 'System\.(Object|Collections|Management)'
        (Import-Csv $csv).FailedPhase | Should -BeExactly 'Auth'
        ($r | ConvertTo-Json -Depth 3 | ConvertFrom-Json).ReplyCode | Should -Be 535
    }
}
