#requires -Modules Pester
# Issue 5: the three cmdlets as one diagnosis, end to end over the emulated tenant — every demo scenario through
# Get-SmtpAuthPolicyState | Test-SmtpAuth | Resolve-SmtpAuthError.
BeforeDiscovery {
    . "$PSScriptRoot/common.ps1"
    $script:Cases = @(& { . "$PSScriptRoot/../EmulatedTenant/demo.ps1"; $script:DemoScenarios })
}

BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-Module $script:ModuleManifest -Force
    . "$PSScriptRoot/../EmulatedTenant/demo.ps1"
    Start-DemoTenant
    $script:Runs = [System.Collections.Generic.List[object]]::new()
}

AfterAll { Stop-DemoTenant }

Describe 'The diagnosis pipeline, per demo scenario' -Tag Diagnosis {
    It '<Name>: top finding <ExpectCause> (<ExpectVerdict>)' -ForEach $script:Cases {
        $run = Invoke-DemoScenario $_
        $script:Runs.Add($run)
        if ($_.ContainsKey('ExpectSucceeded')) { $run.Probe.Succeeded | Should -Be $_.ExpectSucceeded } else { $run.Probe.Succeeded | Should -BeFalse }
        if (-not $ExpectCause) {
            $run.Findings | Should -BeNullOrEmpty
            return
        }
        $top = $run.Findings[0]
        $top.CauseId | Should -BeExactly $ExpectCause
        "$($top.Verdict)" | Should -BeExactly $ExpectVerdict
        $top.UserPrincipalName | Should -BeExactly $_.Upn
        if ($_.ExpectCommand) { $top.RemediationCommand | Should -BeExactly ($_.ExpectCommand -replace '<appId>', "'$($_.App)'" -replace '<objectId>', "'c1000000-0000-4000-8000-000000000002'") }
        else { ($top.RemediationCommand + $top.Remediation) | Should -Not -BeNullOrEmpty }
        if ($top.Verdict -eq 'Confirmed') { $top.Evidence | Should -Match '(Settings|Sign-in log|token)' }
    }

    It 'exports every finding of every scenario to CSV and reads it back unchanged' {
        $all = @($script:Runs | ForEach-Object { $_.Findings })
        $all.Count | Should -BeGreaterThan 8
        $csv = Join-Path $TestDrive 'diagnosis.csv'
        $all | Export-Csv $csv -NoTypeInformation
        $back = @(Import-Csv $csv)
        $back.Count | Should -Be $all.Count
        for ($i = 0; $i -lt $all.Count; $i++) {
            $back[$i].CauseId | Should -BeExactly $all[$i].CauseId
            $back[$i].Verdict | Should -BeExactly "$($all[$i].Verdict)"
            $back[$i].RemediationCommand | Should -BeExactly "$($all[$i].RemediationCommand)"
            $back[$i].Evidence | Should -BeExactly $all[$i].Evidence
        }
        $probes = Join-Path $TestDrive 'probes.csv'
        $script:Runs.Probe | Export-Csv $probes -NoTypeInformation
        (Import-Csv $probes).Count | Should -Be $script:Runs.Count
        (Get-Content -Raw $probes) | Should -Not -Match 'System\.(Object|Collections|Management)|SmtpAuthTroubleshooter\.SmtpAuthPolicyState'
    }

    It 'resolves probe results read back from CSV as it resolves the live ones' {
        # Import-Csv gives "True"/"False" strings where the live result has bools (Succeeded, ExchangeOnline,
        # StartTlsOffered): a working probe read back must stay a working probe, and its session facts must count.
        $probes = Join-Path $TestDrive 'probes-roundtrip.csv'
        $script:Runs.Probe | Export-Csv $probes -NoTypeInformation
        $back = @(Import-Csv $probes)
        $back.Count | Should -Be $script:Runs.Count
        for ($i = 0; $i -lt $back.Count; $i++) {
            $live = @($script:Runs[$i].Probe | Resolve-SmtpAuthError -WarningAction SilentlyContinue -InformationAction SilentlyContinue)
            $read = @($back[$i] | Resolve-SmtpAuthError -WarningAction SilentlyContinue -InformationAction SilentlyContinue)
            $because = "scenario $i ($($script:Runs[$i].Probe.UserName), Succeeded $($back[$i].Succeeded))"
            ($read | ForEach-Object { "$($_.CauseId)/$($_.Verdict)" }) -join ', ' | Should -BeExactly (($live | ForEach-Object { "$($_.CauseId)/$($_.Verdict)" }) -join ', ') -Because $because
        }
    }
}

Describe 'Verdicts from settings, without and beside a probe' -Tag Diagnosis {
    It 'predicts what will fail from the settings alone (pre-flight)' {
        $findings = @(Get-SmtpAuthPolicyState tenant.inherit@contoso.com | Resolve-SmtpAuthError)
        $findings[0].CauseId | Should -BeExactly 'TenantSmtpAuthDisabled'
        "$($findings[0].Verdict)" | Should -BeExactly 'Likely'
        $findings[0].Evidence | Should -Match 'Pre-flight'
        $findings[0].Evidence | Should -Match 'OAuth too'
        $findings[0].RemediationCommand | Should -BeExactly "Set-CASMailbox -Identity 'tenant.inherit@contoso.com' -SmtpClientAuthenticationDisabled `$false"
    }

    It 'rules causes out with -PolicyState and confirms the one the settings show' {
        $state = Get-SmtpAuthPolicyState mailbox.disabled@contoso.com
        $findings = @('535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information.' | Resolve-SmtpAuthError -PolicyState $state)
        $findings[0].CauseId | Should -BeExactly 'MailboxSmtpAuthDisabled'
        "$($findings[0].Verdict)" | Should -BeExactly 'Confirmed'
        ($findings | Where-Object CauseId -eq 'TenantSmtpAuthDisabled').Verdict | Should -Be 'RuledOut'
        $findings[-1].Verdict | Should -Be 'RuledOut'
    }

    It 'reports a probe that succeeded while the settings say blocked as a conflict, with both sides' {
        # The settings of a blocked mailbox, given as healthy.basic's (a state of another mailbox is not used to judge a result).
        $blockedState = Get-SmtpAuthPolicyState tenant.inherit@contoso.com
        $blockedState.UserPrincipalName = $blockedState.PrimarySmtpAddress = 'healthy.basic@contoso.com'
        $tenant = $script:DemoTenants['demo']
        $ok = Test-SmtpAuth -Credential ([pscredential]::new('healthy.basic@contoso.com', (ConvertTo-SecureString 'Demo-Healthy-1!' -AsPlainText -Force))) -Server 127.0.0.1 -Port $tenant.Smtp.Port -SkipCertificateCheck -WarningAction SilentlyContinue
        $findings = @($ok | Resolve-SmtpAuthError -PolicyState $blockedState)
        $conflict = $findings | Where-Object CauseId -eq 'SettingsConflict'
        $conflict | Should -Not -BeNullOrEmpty
        $conflict.Evidence | Should -Match 'authenticated with Basic, but the settings say it is blocked by TenantSmtpAuthDisabled'
        $findings.CauseId | Should -Contain 'BasicAuthRetired'
    }
}

Describe 'The policy state travels with the probe result' -Tag Diagnosis {
    BeforeAll {
        # Issue 11: the link used to be a weak table keyed by the object; any copy (Select-Object, Import-Clixml) lost it silently.
        $scenario = $script:DemoScenarios | Where-Object { $_.Upn -eq 'tenant.inherit@contoso.com' } | Select-Object -First 1
        $script:Probe = (Invoke-DemoScenario $scenario).Probe
    }

    It 'carries a scalar PolicyStateId, not the state object' {
        $script:Probe.PolicyStateId | Should -Match '^[0-9a-f]{32}$'
        ($script:Probe | ConvertTo-Csv -NoTypeInformation) -join "`n" | Should -Not -Match 'SmtpAuthPolicyState'
    }

    It 'is found again after <How>' -ForEach @(
        @{ How = 'Select-Object *'; Copy = { param($p) $p | Select-Object * } }
        @{ How = 'Export-Clixml and Import-Clixml'; Copy = { param($p) $f = Join-Path $TestDrive 'probe.xml'; $p | Export-Clixml $f; Import-Clixml $f } }
    ) {
        $copy = & $Copy $script:Probe
        $top = @($copy | Resolve-SmtpAuthError -WarningVariable w -WarningAction SilentlyContinue)[0]
        $top.CauseId | Should -BeExactly 'TenantSmtpAuthDisabled'
        "$($top.Verdict)" | Should -BeExactly 'Confirmed' -Because 'the settings still corroborate the reply'
        $w | Should -BeNullOrEmpty
    }

    It 'warns once, by name, when the state is not in this session (another PowerShell read the file)' {
        $f = Join-Path $TestDrive 'probe-elsewhere.xml'
        @($script:Probe, $script:Probe) | Export-Clixml $f
        $r = Invoke-FreshPwsh @"
Import-Module '$($script:ModuleManifest)'
`$found = @(Import-Clixml '$f' | Resolve-SmtpAuthError -WarningVariable w -WarningAction SilentlyContinue)
"warnings=`$(`$w.Count)"
"top=`$(`$found[0].CauseId)/`$(`$found[0].Verdict)"
`$w | ForEach-Object { "warning=`$_" }
"@
        $r.Output | Should -Match 'warnings=1'
        $r.Output | Should -Match 'top=TenantSmtpAuthDisabled/Likely'
        $r.Output | Should -Match 'warning=The probe result for tenant.inherit@contoso.com was piped with a policy state that is not in this PowerShell session'
    }
}

Describe 'A server that breaks the protocol' -Tag Diagnosis, Faults {
    It 'is diagnosed as ServerProtocolViolation for <Mode>' -ForEach @(@{ Mode = 'close-mid-ehlo' }, @{ Mode = 'starttls-plaintext' }, @{ Mode = 'auth-loop' }) {
        $emu = Start-ExoEmulator -ExtraArgs @('--misbehave', $Mode)
        try {
            $r = Test-SmtpAuth -Credential ([pscredential]::new('healthy.basic@contoso.com', (ConvertTo-SecureString 'Demo-Healthy-1!' -AsPlainText -Force))) -Server 127.0.0.1 -Port $emu.Port -SkipCertificateCheck -TimeoutSec 5 -WarningAction SilentlyContinue
            $r.Succeeded | Should -BeFalse
            $top = @($r | Resolve-SmtpAuthError)[0]
            $top.CauseId | Should -BeExactly 'ServerProtocolViolation'
            # The evidence already is a Test-SmtpAuth result: no fix tells the admin to run Test-SmtpAuth again (issue 10).
            $top.RemediationCommand | Should -BeNullOrEmpty
            $top.Remediation | Should -Not -BeNullOrEmpty
            # Pasted text gets the probe to run, for the documented endpoint.
            (@(Resolve-SmtpAuthError $r.Message)[0]).RemediationCommand | Should -BeExactly "Test-SmtpAuth -SkipAuthentication -Server 'smtp.office365.com' -Port '587' -Debug"
        }
        finally { Stop-ExoEmulator $emu }
    }
}
