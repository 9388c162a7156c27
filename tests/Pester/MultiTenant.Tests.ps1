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
    $script:Contoso, $script:Fabrikam = $script:Tenants
    $script:ContosoId = '0c0a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b'
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

# MSPs also loop over tenants one after the other in one session (Connect-ExchangeOnline and Connect-MgGraph or
# -GraphAccessToken per tenant). A connect that failed or was forgotten leaves the other tenant's Graph in place: the
# answer for the Exchange tenant must then hold nothing of the Graph tenant (security defaults, CA, sign-ins).
Describe 'Tenant after tenant in one session' -Tag MultiTenant {
    BeforeAll {
        $script:OriginalModulePath = $env:PSModulePath
        Import-EmulatedTenantModules
        Import-Module $script:ModuleManifest -Force
        function Get-Requests($Uri) { (Invoke-RestMethod "$($Uri)_emulator/stats").totalRequests }
        $script:Fqid = 'GraphTenantMismatch,SmtpAuthTroubleshooter.Commands.'
    }
    AfterEach {
        Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
        Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null
    }
    AfterAll {
        Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
        $env:PSModulePath = $script:OriginalModulePath
    }

    It 'Graph of tenant A (<Way>) with Exchange Online of tenant B: Graph is not read, one GraphTenantMismatch error, nothing of A in the answer' -ForEach @(
        @{ Way = 'Connect-MgGraph session' }, @{ Way = '-GraphAccessToken' }
    ) {
        Connect-ExchangeOnline -ScenarioPath $script:Fabrikam.Scenario -ShowBanner:$false
        $graph = @{}
        if ($Way -eq '-GraphAccessToken') {
            # A token of contoso (tid claim), as a variable left from the previous turn of a loop would be.
            $jwt = & dotnet (Get-EmulatorDll) token --scenario $script:Contoso.Scenario --app b1000000-0000-4000-8000-000000000001 --aud https://graph.microsoft.com
            $graph = @{ GraphAccessToken = (ConvertTo-SecureString $jwt -AsPlainText -Force); GraphBaseUri = $script:Contoso.Graph }
        }
        else { $null = Connect-MgGraph -GraphBaseUri $script:Contoso.Graph -NoWelcome }
        $before = Get-Requests $script:Contoso.Graph

        $s = Get-SmtpAuthPolicyState $script:Fabrikam.Upn @graph -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeExactly ($script:Fqid + 'GetSmtpAuthPolicyStateCommand')
        $err[0].ErrorDetails.RecommendedAction | Should -Match '5e5e0000-1111-4222-8333-444455556666'
        $s.UserPrincipalName | Should -BeExactly $script:Fabrikam.Upn
        $s.SecurityDefaultsEnabled | Should -BeNullOrEmpty -Because 'contoso''s security defaults (off) are not fabrikam''s'
        $s.AccountEnabled | Should -BeNullOrEmpty
        $s.UnknownReasons -join ' ' | Should -Match ([regex]::Escape($script:ContosoId))
        $s.SmtpAuthEnabled | Should -Not -BeNullOrEmpty -Because 'the Exchange half is fabrikam''s own and still read'

        $clients = @(Get-SmtpAuthClient -SkipMessageTrace @graph -ErrorVariable err2 -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $clients.UserPrincipalName | Where-Object { $_ -match '@contoso\.com$' } | Should -BeNullOrEmpty -Because 'contoso''s sign-ins are not fabrikam''s senders'
        @($err2).FullyQualifiedErrorId | Should -Be @($script:Fqid + 'GetSmtpAuthClientCommand')
        Get-Requests $script:Contoso.Graph | Should -Be $before -Because 'nothing was read from the other tenant'
    }

    It 'Exchange Online still connected to tenant A when the loop connects tenant B: B''s tenant (the connection EXO''s cmdlets use) is the one checked' {
        Connect-ExchangeOnline -ScenarioPath $script:Contoso.Scenario -ShowBanner:$false
        Connect-ExchangeOnline -ScenarioPath $script:Fabrikam.Scenario -ShowBanner:$false
        @(Get-ConnectionInformation).Count | Should -Be 2
        $null = Connect-MgGraph -GraphBaseUri $script:Contoso.Graph -NoWelcome
        $s = Get-SmtpAuthPolicyState $script:Fabrikam.Upn -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        @($err).FullyQualifiedErrorId | Should -Be @($script:Fqid + 'GetSmtpAuthPolicyStateCommand')
        $s.SecurityDefaultsEnabled | Should -BeNullOrEmpty -Because 'contoso''s security defaults (off) are not fabrikam''s'
        $null = Connect-MgGraph -GraphBaseUri $script:Fabrikam.Graph -NoWelcome
        $s = Get-SmtpAuthPolicyState $script:Fabrikam.Upn -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $err | Should -BeNullOrEmpty
        $s.SecurityDefaultsEnabled | Should -Be $true
    }

    It 'a partner''s connection to a customer (-DelegatedOrganization), whose TenantID may be the partner''s: Graph of the customer is read, no false GraphTenantMismatch' {
        # Exchange as a partner sees it: the customer's (fabrikam's) data under the partner's tenant id.
        $partner = New-TenantVariant $script:Fabrikam.Scenario -Path (Join-Path $TestDrive 'partner.json') -TenantId '99999999-8888-4777-8666-555555555555'
        Connect-ExchangeOnline -ScenarioPath $partner -DelegatedOrganization 'fabrikam.onmicrosoft.com' -ShowBanner:$false
        $null = Connect-MgGraph -GraphBaseUri $script:Fabrikam.Graph -NoWelcome
        $s = Get-SmtpAuthPolicyState $script:Fabrikam.Upn -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $err | Should -BeNullOrEmpty
        $s.UnknownReasons | Should -BeNullOrEmpty
        $s.SecurityDefaultsEnabled | Should -Be $true
    }

    It 'tenant A throttled to the end, then tenant B (<Way>): B gets a fresh circuit and retry budget and no reason of A' -ForEach @(
        @{ Way = 'Connect-MgGraph session' }, @{ Way = '-GraphAccessToken' }
    ) {
        $token = ConvertTo-SecureString 'emulator-accepts-any-bearer' -AsPlainText -Force
        $null = Invoke-RestMethod -Method Post "$($script:Contoso.Graph)_emulator/faults" -ContentType 'application/json' -Body '{"throttleEvery":1,"retryAfter":"0.1"}'
        try {
            foreach ($t in $script:Contoso, $script:Fabrikam) {
                Connect-ExchangeOnline -ScenarioPath $t.Scenario -ShowBanner:$false
                $graph = if ($Way -eq '-GraphAccessToken') { @{ GraphAccessToken = $token; GraphBaseUri = $t.Graph } } else { $null = Connect-MgGraph -GraphBaseUri $t.Graph -NoWelcome; @{} }
                $s = Get-SmtpAuthPolicyState $t.Upn @graph -WarningAction SilentlyContinue -ErrorVariable err -ErrorAction SilentlyContinue
                $err | Should -BeNullOrEmpty
                if ($t -eq $script:Contoso) { $s.UnknownReasons -join ' ' | Should -Match 'throttled' }
                else {
                    $s.UnknownReasons | Should -BeNullOrEmpty
                    $s.SecurityDefaultsEnabled | Should -Be $true
                    $s.BasicAuthBlockedBy | Should -BeExactly 'SecurityDefaultsBlockBasicAuth'
                }
                Disconnect-ExchangeOnline -Confirm:$false
                if ($Way -ne '-GraphAccessToken') { $null = Disconnect-MgGraph }
            }
        }
        finally { $null = Invoke-RestMethod -Method Post "$($script:Contoso.Graph)_emulator/reset" -ContentType 'application/json' -Body '{}' }
    }

    It 'Get-SmtpAuthPolicyState | Test-SmtpAuth | Resolve-SmtpAuthError of two tenants, interleaved: each result is judged on its own tenant''s state' {
        $reply = '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.'
        $results = foreach ($t in $script:Contoso, $script:Fabrikam) {
            Connect-ExchangeOnline -ScenarioPath $t.Scenario -ShowBanner:$false
            $cred = [pscredential]::new($t.Upn, (ConvertTo-SecureString 'not-used' -AsPlainText -Force))
            $r = Get-SmtpAuthPolicyState $t.Upn -SkipGraph -WarningAction SilentlyContinue | Test-SmtpAuth -Credential $cred -Server 127.0.0.1 -Port 1 -TimeoutSec 5 -WarningAction SilentlyContinue
            Disconnect-ExchangeOnline -Confirm:$false
            # The same refusal for both (as if both had reached Exchange Online): only the state decides the verdict.
            $r.ReplyText = $reply; $r.FailedPhase = 'Auth'; $r.AuthMethod = 'Basic'
            $r
        }
        $contoso, $fabrikam = $results
        $verdicts = foreach ($r in @($contoso, $fabrikam, $contoso, $fabrikam)) {
            [string](@($r | Resolve-SmtpAuthError -WarningVariable w) | Where-Object CauseId -EQ 'TenantSmtpAuthDisabled').Verdict
            $w | Should -BeNullOrEmpty
        }
        $verdicts | Should -Be @('Confirmed', 'RuledOut', 'Confirmed', 'RuledOut') -Because 'contoso has SMTP AUTH off for the organization, fabrikam on'
    }
}

