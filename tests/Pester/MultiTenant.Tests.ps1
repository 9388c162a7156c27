#requires -Modules Pester
# Issue 12 ("Many tenants"): MSPs loop over tenants with one tenant per runspace (ForEach-Object -Parallel, thread jobs).
# Two emulated tenants at once, each runspace with its own Exchange and Graph sessions: each gets its own tenant's answer.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
    $scenarioDir = (Resolve-Path "$PSScriptRoot/../SmtpAuthTroubleshooter.ExoEmulator/Scenarios").Path
    $script:GraphEmulators = [System.Collections.Generic.List[object]]::new()
    $script:Tenants = foreach ($t in @(@{ Name = 'contoso'; File = 'demo-tenant.json'; Upn = 'tenant.inherit@contoso.com' }, @{ Name = 'fabrikam'; File = 'securitydefaults-tenant.json'; Upn = 'scanner@fabrikam.com' })) {
        [pscustomobject]@{ Name = $t.Name; Scenario = Join-Path $scenarioDir $t.File; Upn = $t.Upn; Graph = & { $g = Start-GraphEmulator -Scenario $t.File; $script:GraphEmulators.Add($g); $g.BaseUri } }
    }
    $script:StandIns = (Resolve-Path "$PSScriptRoot/../EmulatedTenant").Path
}

AfterAll {
    foreach ($g in $script:GraphEmulators) { Stop-GraphEmulator $g }
}

Describe 'One tenant per runspace' -Tag MultiTenant {
    It 'gives each of two tenants read in parallel its own answer, <Round> times' -ForEach @(@{ Round = 3 }) {
        $module = $script:ModuleManifest
        $standIns = $script:StandIns
        $results = foreach ($i in 1..$Round) {
            $script:Tenants | ForEach-Object -ThrottleLimit 2 -Parallel {
                $t = $_
                Import-Module (Join-Path $using:standIns 'ExchangeOnlineManagement/ExchangeOnlineManagement.psd1') -Force
                Import-Module (Join-Path $using:standIns 'Microsoft.Graph.Authentication/Microsoft.Graph.Authentication.psd1') -Force
                Import-Module $using:module
                Connect-ExchangeOnline -ScenarioPath $t.Scenario -ShowBanner:$false
                $null = Connect-MgGraph -GraphBaseUri $t.Graph -NoWelcome
                $state = Get-SmtpAuthPolicyState $t.Upn -WarningAction SilentlyContinue
                $pre = @($state | Resolve-SmtpAuthError)[0]
                $clients = @(Get-SmtpAuthClient -SkipMessageTrace -WarningAction SilentlyContinue)
                [pscustomobject]@{ Tenant = $t.Name; Upn = $state.UserPrincipalName; Blocked = $state.BasicAuthBlockedBy; Cause = $pre.CauseId
                    Senders = @($clients.UserPrincipalName | Sort-Object -Unique); Breaks = @($clients | Where-Object ImpactAtDefaultOff -EQ 'Breaks').UserPrincipalName }
            }
        }
        $results.Count | Should -Be (2 * $Round)
        foreach ($r in $results) {
            if ($r.Tenant -eq 'contoso') {
                $r.Upn | Should -BeExactly 'tenant.inherit@contoso.com'
                $r.Cause | Should -BeExactly 'TenantSmtpAuthDisabled'
                $r.Breaks | Should -Contain 'scanner.floor2@contoso.com'
                $r.Senders | Should -Not -Match '@fabrikam\.com$'
            }
            else {
                $r.Upn | Should -BeExactly 'scanner@fabrikam.com'
                $r.Cause | Should -BeExactly 'SecurityDefaultsBlockBasicAuth'
                $r.Senders | Should -Not -Match '@contoso\.com$'
            }
        }
    }
}
