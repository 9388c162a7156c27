#requires -Modules Pester
# Issue 6, failing Exchange and Graph: bulk runs complete, every input mailbox appears exactly once (as a state,
# possibly with Unknown fields and reasons, or as an ErrorRecord), retries are bounded and visible in -Verbose.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
    $script:OriginalModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    Import-Module $script:ModuleManifest -Force
    $script:Token = ConvertTo-SecureString 'emulator-accepts-any-bearer' -AsPlainText -Force

    function Connect-Faulty([string] $Scenario, [string[]] $GraphArgs = @()) {
        $graph = Start-GraphEmulator -Scenario $Scenario -ExtraArgs $GraphArgs
        Connect-ExchangeOnline -ScenarioPath (Resolve-ScenarioPath $Scenario) -ShowBanner:$false
        $null = Connect-MgGraph -GraphBaseUri $graph.BaseUri -NoWelcome
        Reset-ExoStandIn
        $graph
    }
    function Disconnect-Faulty($Graph) {
        Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
        Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null
        Stop-GraphEmulator $Graph
    }
    $script:Scale = New-ScaleScenario -Count 2000 -Path (Join-Path ([IO.Path]::GetTempPath()) "smtpauth-faults-2000-$PID.json")
}

AfterAll {
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
    $env:PSModulePath = $script:OriginalModulePath
    Remove-Item $script:Scale -ErrorAction SilentlyContinue
}

Describe 'Get-SmtpAuthPolicyState when Graph fails' -Tag Faults {
    It 'completes a 2,000-mailbox scan when the Graph endpoint dies halfway, every mailbox exactly once' {
        $graph = Connect-Faulty $script:Scale @('--kill-at', '150')
        try {
            $expected = @(Get-EXOMailbox -ResultSize Unlimited -RecipientTypeDetails UserMailbox).UserPrincipalName | Sort-Object
            $states = @(Get-SmtpAuthPolicyState -All -GraphAccessToken $script:Token -GraphBaseUri $graph.BaseUri -WarningVariable w -WarningAction SilentlyContinue)
            @($states.UserPrincipalName | Sort-Object) | Should -Be $expected
            $withGraph = @($states | Where-Object { $null -ne $_.AccountEnabled })
            $withoutGraph = @($states | Where-Object { $null -eq $_.AccountEnabled })
            $withGraph.Count | Should -BeGreaterThan 100 -Because 'the first half was read before the endpoint died'
            $withoutGraph.Count | Should -BeGreaterThan 100 -Because 'the rest is reported, not lost'
            @($withoutGraph | Where-Object { $_.UnknownReasons -notmatch 'did not respond|no response' }).Count | Should -Be 0 -Because 'each unread mailbox says why'
            "$(@($withoutGraph)[0].BasicAuthVerdict)" | Should -BeIn @('Unknown', 'Blocked')
            @($w | Where-Object { "$_" -match 'did not respond' }).Count | Should -Be 1 -Because 'the circuit opens once'
            ($states | Where-Object { $null -eq $_.SmtpAuthEnabled }) | Should -BeNullOrEmpty -Because 'the Exchange half still stands'
        }
        finally { Disconnect-Faulty $graph }
    }

    It 'reports a malformed JSON body as unknown for the affected read only' {
        $graph = Connect-Faulty 'demo-tenant.json' @('--malformed-path', 'conditionalAccess/policies')
        try {
            $s = Get-SmtpAuthPolicyState ca.blocked@contoso.com, healthy.basic@contoso.com
            $s.Count | Should -Be 2
            $s | ForEach-Object { $_.UnknownReasons | Should -Match 'Conditional Access: .*not valid JSON' }
            $s[0].PerUserMfaState | Should -Not -BeNullOrEmpty
            $s[0].AccountEnabled | Should -Be $true
            $s[0].LastSmtpSignInErrorCode | Should -Be 53003
        }
        finally { Disconnect-Faulty $graph }
    }

    It 'reports a broken @odata.nextLink as an unknown Conditional Access read' {
        $graph = Connect-Faulty 'demo-tenant.json' @('--page-size', '1', '--next-link-fault', 'unreachable')
        try {
            $s = Get-SmtpAuthPolicyState healthy.basic@contoso.com -GraphAccessToken $script:Token -GraphBaseUri $graph.BaseUri -GraphRequestTimeoutSec 3 -WarningAction SilentlyContinue
            $s.UserPrincipalName | Should -BeExactly 'healthy.basic@contoso.com'
            $s.UnknownReasons | Should -Match 'Conditional Access'
            "$($s.BasicAuthVerdict)" | Should -BeExactly 'Unknown'
        }
        finally { Disconnect-Faulty $graph }
    }

    It 'retries 503 without Retry-After with bounded back-off, visibly, and completes' {
        $graph = Connect-Faulty 'demo-tenant.json' @('--throttle-every', '4', '--throttle-status', '503', '--no-retry-after')
        try {
            $out = Get-SmtpAuthPolicyState ca.blocked@contoso.com, healthy.basic@contoso.com, tenant.inherit@contoso.com -Verbose 4>&1
            $states = @($out | Where-Object { $_ -is [SmtpAuthTroubleshooter.SmtpAuthPolicyState] })
            $states.Count | Should -Be 3
            ($states | Where-Object UnknownReasons) | Should -BeNullOrEmpty
            (@($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n") | Should -Match 'Graph 503 for .*retry 1 of 4'
        }
        finally { Disconnect-Faulty $graph }
    }

    It 'gives up on a request that hangs after the request timeout, and goes on' {
        $graph = Connect-Faulty 'demo-tenant.json' @('--hang-path', 'auditLogs/signIns')
        try {
            $s = Get-SmtpAuthPolicyState ca.blocked@contoso.com -GraphAccessToken $script:Token -GraphBaseUri $graph.BaseUri -GraphRequestTimeoutSec 1 -WarningAction SilentlyContinue
            $s.UnknownReasons | Should -Match 'Sign-in log: no response within 1 s'
            $s.AccountEnabled | Should -Be $true
        }
        finally { Disconnect-Faulty $graph }
    }
}

Describe 'Get-SmtpAuthPolicyState when Exchange fails' -Tag Faults {
    BeforeAll { $script:Graph = Connect-Faulty 'demo-tenant.json' }
    AfterAll { Disconnect-Faulty $script:Graph }

    It 'keeps every other mailbox when Exchange throws for one' {
        # 'hb@contoso.com' is an alias, so it is looked up on its own (Get-EXOMailbox -Identity), where the fault hits.
        Set-ExoStandInFault -Identity 'hb@contoso.com' -CommandName Get-EXOMailbox -Confirm:$false
        try {
            $ids = 'ca.blocked@contoso.com', 'hb@contoso.com', 'tenant.inherit@contoso.com'
            $s = @($ids | Get-SmtpAuthPolicyState -ErrorVariable err -ErrorAction SilentlyContinue)
            $err.Count | Should -Be 0
            $s.Count | Should -Be 3
            ($s | Where-Object UserPrincipalName -eq 'ca.blocked@contoso.com').SmtpAuthEnabled | Should -Be $true
            ($s | Where-Object UserPrincipalName -eq 'tenant.inherit@contoso.com').SmtpAuthEnabled | Should -Be $false
            $broken = $s | Where-Object UserPrincipalName -eq 'hb@contoso.com'
            $broken.UnknownReasons | Should -Match 'Get-EXOMailbox'
            "$($broken.BasicAuthVerdict)" | Should -BeExactly 'Unknown'
        }
        finally { Reset-ExoStandIn }
    }

    It 'reports every mailbox once when the session expires in the middle of a run' {
        $ids = @((Get-EXOMailbox -ResultSize Unlimited).UserPrincipalName)
        Set-ExoStandInFault -ExpireSessionAfter 8 -Confirm:$false
        try {
            $many = @(1..10 | ForEach-Object { $ids }) | Select-Object -First 120
            $s = @($many | Get-SmtpAuthPolicyState -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
            ($s.Count + $err.Count) | Should -Be 120
            @($s | Where-Object { $_.UnknownReasons -match 'Connect-ExchangeOnline' }).Count | Should -BeGreaterThan 0
        }
        finally { Reset-ExoStandIn; Connect-ExchangeOnline -ScenarioPath (Resolve-ScenarioPath 'demo-tenant.json') -ShowBanner:$false }
    }
}
