#requires -Version 7.4
<#
.SYNOPSIS
    The offline demo: starts the emulated tenant (Exchange Online SMTP emulator, stand-in ExchangeOnlineManagement
    module, Graph loopback endpoint), runs Get-SmtpAuthPolicyState | Test-SmtpAuth | Resolve-SmtpAuthError for each
    demo account, prints the diagnosis table, then stops everything. No tenant, no network.
#>
param([Parameter(Mandatory)][string] $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force
. "$PSScriptRoot/../tests/EmulatedTenant/demo.ps1"
$sw = [System.Diagnostics.Stopwatch]::StartNew()
Start-DemoTenant
try {
    $rows = foreach ($scenario in $script:DemoScenarios) {
        $run = Invoke-DemoScenario $scenario
        $top = $run.Findings | Select-Object -First 1
        [pscustomobject]@{
            Scenario = $scenario.Name
            Account  = $scenario.Upn
            Probe    = if ($run.Probe.Succeeded) { 'OK' } else { "$($run.Probe.FailedPhase) $($run.Probe.EnhancedStatusCode)".Trim() }
            Verdict  = if ($top) { $top.Verdict } else { '' }
            CauseId  = if ($top) { $top.CauseId } else { '(no failure)' }
            Fix      = if (-not $top) { '' } elseif ($top.RemediationCommand) { $top.RemediationCommand } else { $top.Remediation }
        }
    }
    $rows | Format-Table -Wrap -AutoSize | Out-String -Width 250 | Write-Output
    'Demo finished in {0:F1} s.' -f $sw.Elapsed.TotalSeconds
}
finally {
    Stop-DemoTenant
}
