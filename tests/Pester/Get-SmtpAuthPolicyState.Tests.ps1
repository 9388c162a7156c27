#requires -Modules Pester
# Get-SmtpAuthPolicyState against the emulated tenant (issue 4): the stand-in ExchangeOnlineManagement and
# Microsoft.Graph.Authentication modules and the Graph loopback server, driven by scenario files.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
    $script:OriginalModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    Import-Module $script:ModuleManifest -Force
    $script:Precedence = Join-Path $PSScriptRoot 'Scenarios/precedence-tenant.json'
    $script:TenantOn = Join-Path $PSScriptRoot 'Scenarios/tenant-on.json'
    $script:Demo = 'demo-tenant.json'

    # Connects the stand-ins to a scenario (EXO session + Graph session); returns the Graph emulator.
    function Connect-Tenant([string] $Scenario, [string[]] $GraphArgs = @()) {
        $path = if (Test-Path $Scenario) { (Resolve-Path $Scenario).Path } else { Join-Path $PSScriptRoot "../SmtpAuthTroubleshooter.ExoEmulator/Scenarios/$Scenario" }
        $graph = Start-GraphEmulator -Scenario $path -ExtraArgs $GraphArgs
        Connect-ExchangeOnline -ScenarioPath $path -ShowBanner:$false
        $null = Connect-MgGraph -GraphBaseUri $graph.BaseUri
        Reset-ExoStandIn
        $graph
    }
    function Disconnect-Tenant($Graph) {
        Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
        Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null
        Stop-GraphEmulator $Graph
    }
}

AfterAll {
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
    $env:PSModulePath = $script:OriginalModulePath
}

Describe 'Get-SmtpAuthPolicyState without an Exchange Online session' -Tag PolicyState {
    It 'stops with one error that names Connect-ExchangeOnline' {
        $r = Invoke-FreshPwsh @"
Import-Module '$($script:ModuleManifest)'
try { Get-SmtpAuthPolicyState a@contoso.com -ErrorAction Stop; 'no error' }
catch { `$_.FullyQualifiedErrorId; `$_.Exception.Message; `$_.ErrorDetails.RecommendedAction }
"@
        $lines = $r.Output.Trim() -split "\r?\n"
        $lines[0] | Should -BeExactly 'ExchangeOnlineNotConnected,SmtpAuthTroubleshooter.Commands.GetSmtpAuthPolicyStateCommand'
        $lines[1] | Should -Match 'Connect-ExchangeOnline'
        $lines[2] | Should -Match 'Connect-ExchangeOnline'
    }
}

Describe 'Get-SmtpAuthPolicyState precedence and verdicts' -Tag PolicyState {
    BeforeAll {
        $script:Graph = Connect-Tenant $script:Precedence
        $script:States = @{}
        foreach ($s in @('p.inherit', 'p.override', 'p.orgdefault', 'p.mbxoff', 'p.cablocked', 'p.excluded', 'p.groupexcluded') | ForEach-Object { "$_@fabrikam.com" } | Get-SmtpAuthPolicyState) {
            $script:States[$s.UserPrincipalName] = $s
        }
    }
    AfterAll { Disconnect-Tenant $script:Graph }

    It '<Upn>: SMTP AUTH <Enabled> decided by <DecidedBy>; basic <Basic> (<BasicBy>); OAuth <OAuth>' -ForEach @(
        @{ Upn = 'p.inherit@fabrikam.com'; Enabled = $false; DecidedBy = 'Tenant'; Basic = 'Blocked'; BasicBy = 'TenantSmtpAuthDisabled'; OAuth = 'Blocked' }
        @{ Upn = 'p.override@fabrikam.com'; Enabled = $true; DecidedBy = 'Mailbox'; Basic = 'Allowed'; BasicBy = $null; OAuth = 'Allowed' }
        @{ Upn = 'p.orgdefault@fabrikam.com'; Enabled = $true; DecidedBy = 'Mailbox'; Basic = 'Blocked'; BasicBy = 'AuthenticationPolicyBlocksBasicSmtp'; OAuth = 'Allowed' }
        @{ Upn = 'p.mbxoff@fabrikam.com'; Enabled = $false; DecidedBy = 'Mailbox'; Basic = 'Blocked'; BasicBy = 'MailboxSmtpAuthDisabled'; OAuth = 'Blocked' }
        @{ Upn = 'p.cablocked@fabrikam.com'; Enabled = $true; DecidedBy = 'Mailbox'; Basic = 'Blocked'; BasicBy = 'ConditionalAccessBlocksLegacyAuth'; OAuth = 'Allowed' }
        @{ Upn = 'p.excluded@fabrikam.com'; Enabled = $true; DecidedBy = 'Mailbox'; Basic = 'Allowed'; BasicBy = $null; OAuth = 'Allowed' }
        @{ Upn = 'p.groupexcluded@fabrikam.com'; Enabled = $true; DecidedBy = 'Mailbox'; Basic = 'Allowed'; BasicBy = $null; OAuth = 'Allowed' }
    ) {
        $s = $script:States[$Upn]
        $s | Should -Not -BeNullOrEmpty
        $s.PSObject.TypeNames[0] | Should -BeExactly 'SmtpAuthTroubleshooter.SmtpAuthPolicyState'
        $s.SmtpAuthEnabled | Should -Be $Enabled
        $s.SmtpAuthDecidedBy | Should -BeExactly $DecidedBy
        "$($s.BasicAuthVerdict)" | Should -BeExactly $Basic
        $s.BasicAuthBlockedBy | Should -Be $BasicBy
        "$($s.OAuthVerdict)" | Should -BeExactly $OAuth
        $s.UnknownReasons | Should -BeNullOrEmpty
    }

    It 'prefers the user policy over the organization default' {
        $script:States['p.override@fabrikam.com'].AuthenticationPolicy | Should -BeExactly 'Allow SMTP'
        $script:States['p.override@fabrikam.com'].AuthenticationPolicySource | Should -BeExactly 'User'
        $script:States['p.orgdefault@fabrikam.com'].AuthenticationPolicy | Should -BeExactly 'Block Basic SMTP'
        $script:States['p.orgdefault@fabrikam.com'].AuthenticationPolicySource | Should -BeExactly 'OrganizationDefault'
        $script:States['p.orgdefault@fabrikam.com'].AllowBasicAuthSmtp | Should -Be $false
    }

    It 'shows a report-only policy without enforcing it, and names the enforcing one' {
        $script:States['p.override@fabrikam.com'].ReportOnlyConditionalAccessPolicies | Should -BeExactly 'Block legacy authentication (report-only)'
        $script:States['p.cablocked@fabrikam.com'].BlockingConditionalAccessPolicies | Should -BeExactly 'Block legacy authentication'
        $script:States['p.excluded@fabrikam.com'].BlockingConditionalAccessPolicies | Should -BeNullOrEmpty
        $script:States['p.groupexcluded@fabrikam.com'].BlockingConditionalAccessPolicies | Should -BeNullOrEmpty
    }

    It 'reads the tenant-wide settings once for the whole pipeline' {
        Reset-ExoStandIn
        $null = 'p.inherit@fabrikam.com', 'p.override@fabrikam.com', 'p.mbxoff@fabrikam.com' | Get-SmtpAuthPolicyState
        Get-ExoStandInCallCount Get-TransportConfig | Should -Be 1
        Get-ExoStandInCallCount Get-OrganizationConfig | Should -Be 1
        Get-ExoStandInCallCount Get-AuthenticationPolicy | Should -Be 1
        Get-ExoStandInCallCount Get-EXOMailbox | Should -Be 1
        Get-ExoStandInCallCount Get-EXOCasMailbox | Should -Be 1
        Get-ExoStandInCallCount Get-User | Should -Be 1
    }

    It 'writes plain values that export to CSV' {
        $csv = Join-Path $TestDrive 'state.csv'
        $script:States.Values | Export-Csv $csv -NoTypeInformation
        (Get-Content -Raw $csv) | Should -Not -Match 'System\.(Object|Collections|Management)'
        (Import-Csv $csv | Where-Object UserPrincipalName -eq 'p.mbxoff@fabrikam.com').BasicAuthBlockedBy | Should -BeExactly 'MailboxSmtpAuthDisabled'
        (Import-Csv $csv)[0].PSObject.Properties.Name[0] | Should -BeExactly 'UserPrincipalName'
    }
}

Describe 'Get-SmtpAuthPolicyState reverse precedence and degraded reads' -Tag PolicyState {
    BeforeAll { $script:Graph = Connect-Tenant $script:TenantOn }
    AfterAll { Disconnect-Tenant $script:Graph }

    It 'lets a mailbox True override an organization False' {
        $s = Get-SmtpAuthPolicyState n.off@northwind.com
        $s.TenantSmtpAuthDisabled | Should -Be $false
        $s.MailboxSmtpAuthDisabled | Should -Be $true
        $s.SmtpAuthEnabled | Should -Be $false
        $s.BasicAuthBlockedBy | Should -BeExactly 'MailboxSmtpAuthDisabled'
        $s.OAuthBlockedBy | Should -BeExactly 'MailboxSmtpAuthDisabled'
    }

    It 'makes only the fields of a failed read Unknown, naming the permission to grant' {
        $s = Get-SmtpAuthPolicyState n.on@northwind.com
        $s.SmtpAuthEnabled | Should -Be $true
        $s.SmtpAuthDecidedBy | Should -BeExactly 'Tenant'
        $s.SecurityDefaultsEnabled | Should -BeNullOrEmpty
        $s.BlockingConditionalAccessPolicies | Should -BeNullOrEmpty
        "$($s.BasicAuthVerdict)" | Should -BeExactly 'Unknown'
        "$($s.OAuthVerdict)" | Should -BeExactly 'Allowed'
        $s.UnknownReasons | Should -Match 'Security defaults: 403.*Policy\.Read\.All'
        $s.UnknownReasons | Should -Match 'Conditional Access: 403.*Policy\.Read\.All'
        $s.UnknownReasons | Should -Match 'Sign-in log: 403.*P1 or P2'
        $s.AccountEnabled | Should -Be $true
        # Per-user MFA is read with Policy.Read.All too (Microsoft's "Get authentication method states" page).
        $s.PerUserMfaState | Should -BeNullOrEmpty
        $s.UnknownReasons | Should -Match 'Per-user MFA: 403.*Policy\.Read\.All'
        $w = Get-SmtpAuthPolicyState n.on@northwind.com -ConditionalAccessWhatIf
        $w.UnknownReasons | Should -Match 'Conditional Access What If: 403'
    }

    It 'without a Graph session, warns once and leaves the Entra fields unknown' {
        Disconnect-MgGraph | Out-Null
        try {
            $s = Get-SmtpAuthPolicyState n.on@northwind.com -WarningVariable w -WarningAction SilentlyContinue
            $w.Count | Should -Be 1
            $w[0] | Should -Match 'Connect-MgGraph'
            $s.SmtpAuthEnabled | Should -Be $true
            $s.AccountEnabled | Should -BeNullOrEmpty
            $s.UnknownReasons | Should -Match 'Connect-MgGraph'
            "$($s.BasicAuthVerdict)" | Should -BeExactly 'Unknown'
        }
        finally { $null = Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri }
    }
}

Describe 'Get-SmtpAuthPolicyState input, app-only OAuth, SendAs, tokens and faults' -Tag PolicyState {
    BeforeAll { $script:Graph = Connect-Tenant $script:Demo }
    AfterAll { Disconnect-Tenant $script:Graph }

    It 'binds Get-EXOMailbox objects and probe-like objects by property name' {
        $states = @(
            (Get-EXOMailbox -Identity 'healthy.basic@contoso.com')
            [pscustomobject]@{ UserName = 'tenant.inherit@contoso.com'; Succeeded = $false }
        ) | Get-SmtpAuthPolicyState
        $states.UserPrincipalName | Should -Be @('healthy.basic@contoso.com', 'tenant.inherit@contoso.com')
    }

    It 'writes one error per bad or unknown identity and keeps every good one' {
        $states = @('healthy.basic@contoso.com', '   ', 'nobody@contoso.com', 'hb@contoso.com') | Get-SmtpAuthPolicyState -ErrorVariable err -ErrorAction SilentlyContinue
        $states.UserPrincipalName | Should -Be @('healthy.basic@contoso.com', 'healthy.basic@contoso.com')
        $err.Count | Should -Be 2
        $err.FullyQualifiedErrorId | Should -Contain 'IdentityEmpty,SmtpAuthTroubleshooter.Commands.GetSmtpAuthPolicyStateCommand'
        $notFound = $err | Where-Object FullyQualifiedErrorId -like 'MailboxNotFound*'
        $notFound.TargetObject | Should -BeExactly 'nobody@contoso.com'
        $notFound.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'adds only its own MailboxNotFound to $Error, not the Exchange records of its internal lookups' {
        # The Get-EXOMailbox calls are made on the admin's behalf; their not-found errors are read and reported as
        # MailboxNotFound. Left in $Error, they made $Error[0] a raw Exchange record and inflated $Error.Count.
        $Error.Clear()
        $null = 'nobody@contoso.com' | Get-SmtpAuthPolicyState -ErrorAction SilentlyContinue
        @($Error).Count | Should -Be 1
        $Error[0].FullyQualifiedErrorId | Should -BeExactly 'MailboxNotFound,SmtpAuthTroubleshooter.Commands.GetSmtpAuthPolicyStateCommand'
    }

    It 'checks app-only OAuth for app <App>: <Expected>' -ForEach @(
        @{ App = 'b1000000-0000-4000-8000-000000000001'; Expected = 'Allowed'; By = $null }
        @{ App = 'b1000000-0000-4000-8000-000000000002'; Expected = 'Blocked'; By = 'ServicePrincipalNotRegistered' }
        @{ App = 'b1000000-0000-4000-8000-000000000003'; Expected = 'Blocked'; By = 'ServicePrincipalNotRegistered' }
        @{ App = 'b1000000-0000-4000-8000-000000000004'; Expected = 'Blocked'; By = 'TokenMissingPermission' }
    ) {
        $s = Get-SmtpAuthPolicyState notifications@contoso.com -ClientId $App
        "$($s.OAuthVerdict)" | Should -BeExactly $Expected
        $s.OAuthBlockedBy | Should -Be $By
        $s.ClientId | Should -BeExactly $App
    }

    It 'records the wrong object id of a service principal' {
        $s = Get-SmtpAuthPolicyState notifications@contoso.com -ClientId 'b1000000-0000-4000-8000-000000000003'
        $s.ServicePrincipalRegistered | Should -Be $true
        $s.ServicePrincipalObjectIdMatches | Should -Be $false
    }

    It 'checks SendAs on -From' {
        (Get-SmtpAuthPolicyState healthy.basic@contoso.com -From info@contoso.com).SendAsAllowed | Should -Be $true
        $denied = Get-SmtpAuthPolicyState sendas.denied@contoso.com -From info@contoso.com
        $denied.SendAsAllowed | Should -Be $false
        $denied.BasicAuthBlockedBy | Should -Match 'SendAsDenied'
    }

    It 'reads the latest Authenticated SMTP sign-in with its error code' {
        $s = Get-SmtpAuthPolicyState ca.blocked@contoso.com
        $s.LastSmtpSignInErrorCode | Should -Be 53003
        $s.LastSmtpSignInConditionalAccess | Should -Match 'Block legacy authentication'
        $s.LastSmtpSignInUtc | Should -BeGreaterThan ([datetime]::UtcNow.AddHours(-24))
    }

    It 'gives the same answer through -GraphAccessToken (the SDK HTTP pipeline) as through the Connect-MgGraph session' {
        $token = ConvertTo-SecureString 'emulator-accepts-any-bearer' -AsPlainText -Force
        $viaSession = Get-SmtpAuthPolicyState ca.blocked@contoso.com, mfa.user@contoso.com
        $viaToken = Get-SmtpAuthPolicyState ca.blocked@contoso.com, mfa.user@contoso.com -GraphAccessToken $token -GraphBaseUri $script:Graph.BaseUri
        foreach ($i in 0, 1) {
            $viaToken[$i].BasicAuthBlockedBy | Should -Be $viaSession[$i].BasicAuthBlockedBy
            $viaToken[$i].PerUserMfaState | Should -Be $viaSession[$i].PerUserMfaState
            $viaToken[$i].LastSmtpSignInErrorCode | Should -Be $viaSession[$i].LastSmtpSignInErrorCode
        }
        $viaSession[1].BasicAuthBlockedBy | Should -Match 'MfaRequired'
    }

    It 'asks Graph What If with -ConditionalAccessWhatIf and prefers its answer' {
        $s = Get-SmtpAuthPolicyState ca.blocked@contoso.com -ConditionalAccessWhatIf
        $s.ConditionalAccessEvaluatedBy | Should -BeExactly 'WhatIf'
        $s.BlockingConditionalAccessPolicies | Should -BeExactly 'Block legacy authentication (pilot)'
        $s.BasicAuthBlockedBy | Should -BeExactly 'ConditionalAccessBlocksLegacyAuth'
        (Get-SmtpAuthPolicyState ca.blocked@contoso.com).ConditionalAccessEvaluatedBy | Should -BeExactly 'Local'
    }

    It 'retries Exchange throttling and says so in -Verbose' {
        Set-ExoStandInFault -ThrottleFirst 1 -CommandName Get-EXOCasMailbox -Confirm:$false
        $verbose = Get-SmtpAuthPolicyState healthy.basic@contoso.com -Verbose 4>&1
        $state = $verbose | Where-Object { $_ -is [SmtpAuthTroubleshooter.SmtpAuthPolicyState] }
        $state.MailboxSmtpAuthDisabled | Should -Be $false
        ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" | Should -Match 'Get-EXOCasMailbox was throttled; retry 1'
        Reset-ExoStandIn
    }
}

Describe 'Get-SmtpAuthPolicyState -All: every mailbox that can send' -Tag PolicyState {
    BeforeAll { $script:Graph = Connect-Tenant $script:Demo }
    AfterAll { Disconnect-Tenant $script:Graph }

    It 'reads shared mailboxes too (app-only senders and scanners use them), as Get-EXOMailbox lists them' {
        # Issue 11: -All used to read user mailboxes only and skipped the demo's shared mailboxes.
        $expected = @(Get-EXOMailbox -ResultSize Unlimited -RecipientTypeDetails UserMailbox, SharedMailbox).UserPrincipalName | Sort-Object
        $shared = @(Get-EXOMailbox -ResultSize Unlimited -RecipientTypeDetails SharedMailbox).UserPrincipalName
        $shared.Count | Should -BeGreaterThan 0
        $states = @(Get-SmtpAuthPolicyState -All)
        @($states.UserPrincipalName | Sort-Object) | Should -Be $expected
        @($states | Where-Object RecipientTypeDetails -EQ 'SharedMailbox').Count | Should -Be $shared.Count
    }

    It 'takes -RecipientTypeDetails and -ResultSize as Get-EXOMailbox does' {
        $users = @(Get-EXOMailbox -ResultSize Unlimited -RecipientTypeDetails UserMailbox).UserPrincipalName | Sort-Object
        @((Get-SmtpAuthPolicyState -All -RecipientTypeDetails UserMailbox).UserPrincipalName | Sort-Object) | Should -Be $users
        @(Get-SmtpAuthPolicyState -All -ResultSize 3).Count | Should -Be 3
    }

    It 'refuses a -ResultSize that is neither a number nor Unlimited, with a stable error id' {
        { Get-SmtpAuthPolicyState -All -ResultSize lots -ErrorAction Stop } | Should -Throw -ErrorId 'ResultSizeInvalid,SmtpAuthTroubleshooter.Commands.GetSmtpAuthPolicyStateCommand'
    }
}

Describe 'Get-SmtpAuthPolicyState at tenant scale' -Tag PolicyState, Scale {
    It 'scans 500 mailboxes with -All, reading tenant-wide data once and mailboxes in bulk' {
        $scenario = New-ScaleScenario -Count 500 -Path (Join-Path $TestDrive 'scale-500.json')
        $graph = Connect-Tenant $scenario -GraphArgs @('--throttle-every', '40', '--retry-after', '0.05')
        try {
            $expected = @(Get-EXOMailbox -ResultSize Unlimited -RecipientTypeDetails UserMailbox).UserPrincipalName | Sort-Object
            $expected.Count | Should -BeGreaterThan 400
            Reset-ExoStandIn
            $null = Invoke-GraphEmulatorControl -Emulator $graph -Endpoint reset
            $states = @(Get-SmtpAuthPolicyState -All -Verbose 4>$null)
            @($states.UserPrincipalName | Sort-Object) | Should -Be $expected -Because 'every user mailbox appears exactly once'
            foreach ($name in 'Get-TransportConfig', 'Get-OrganizationConfig', 'Get-AuthenticationPolicy', 'Get-EXOMailbox', 'Get-EXOCasMailbox', 'Get-User') {
                Get-ExoStandInCallCount $name | Should -Be 1 -Because "$name is read once for the whole scan"
            }
            $stats = Invoke-GraphEmulatorControl -Emulator $graph -Endpoint stats
            $json = $stats | ConvertTo-Json -Depth 5 -Compress
            Write-Host "Graph stats for the 500-mailbox scan: $json"
            $stats.totalRequests | Should -BeLessThan 200 -Because "users, MFA and membership go in `$batch requests of 20 and sign-ins in few pages, not a request per user per read ($json)" 
            ($states | Where-Object { $_.UnknownReasons }) | Should -BeNullOrEmpty -Because 'throttled requests are retried, not lost'
        }
        finally { Disconnect-Tenant $graph }
    }
}
