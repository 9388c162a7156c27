#requires -Version 7.4
<#
.SYNOPSIS
    Benchmark (not a test): Get-SmtpAuthPolicyState -All over an emulated tenant of -Count mailboxes with -DelayMs on
    every Exchange call and every Graph HTTP request, side by side with the naive loop an admin would write
    (Get-CASMailbox + Get-User + a Graph user GET per mailbox). Each runs in a fresh pwsh; prints calls, wall time
    and peak memory. Defaults: 10,000 mailboxes, 50 ms. The naive loop takes about half an hour at these defaults.
    Run alone: dotnet pwsh ./tests/Benchmarks/PolicyStateScale.ps1 -ModulePath ./out/SmtpAuthTroubleshooter/<v>/SmtpAuthTroubleshooter.psd1
#>
param([Parameter(Mandatory)][string] $ModulePath, [int] $Count = 10000, [int] $DelayMs = 50, [switch] $SkipNaive)
$ErrorActionPreference = 'Stop'
. "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
$ModulePath = (Resolve-Path $ModulePath).Path
$work = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-scale-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
$null = New-Item -ItemType Directory $work
$scenario = New-ScaleScenario -Count $Count -Path (Join-Path $work "scale-$Count.json")
$graph = Start-GraphEmulator -Scenario $scenario -ExtraArgs @('--delay-ms', "$DelayMs")
$pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
$tenantRoot = (Resolve-Path "$PSScriptRoot/../EmulatedTenant").Path

$common = @"
`$ErrorActionPreference = 'Stop'
`$env:PSModulePath = '$tenantRoot' + [IO.Path]::PathSeparator + `$env:PSModulePath
Import-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication
Connect-ExchangeOnline -ScenarioPath '$scenario' -DelayMilliseconds $DelayMs -ShowBanner:`$false
`$null = Connect-MgGraph -GraphBaseUri '$($graph.BaseUri)' -NoWelcome
Reset-ExoStandIn
Invoke-RestMethod -Method Post -Uri '$($graph.BaseUri)_emulator/reset' -ContentType 'application/json' -Body '{}' | Out-Null
Set-ExoStandInDelay $DelayMs
"@
$report = @"
`$sw.Stop()
`$stats = Invoke-RestMethod -Uri '$($graph.BaseUri)_emulator/stats'
`$exo = (Get-ExoStandInCallCount).Values | Measure-Object -Sum
[pscustomobject]@{ Objects = `$n; WallSeconds = [math]::Round(`$sw.Elapsed.TotalSeconds, 1); ExchangeCalls = `$exo.Sum; GraphRequests = `$stats.totalRequests; GraphInnerBatchRequests = `$stats.batchInnerRequests; PeakWorkingSetMB = [math]::Round([Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB) } | ConvertTo-Json -Compress
"@
$start = "`n`$sw = [Diagnostics.Stopwatch]::StartNew()`n"
$ours = $common + "`nImport-Module '$ModulePath'" + $start + @"
`$n = 0
Get-SmtpAuthPolicyState -All -WarningAction SilentlyContinue | ForEach-Object { `$n++ }
"@ + "`n" + $report
$naive = $common + $start + @"
`$n = 0
foreach (`$m in Get-EXOMailbox -ResultSize Unlimited -RecipientTypeDetails UserMailbox) {
    `$cas = Get-CASMailbox -Identity `$m.UserPrincipalName
    `$user = Get-User -Identity `$m.UserPrincipalName
    `$g = Invoke-MgGraphRequest -Uri "v1.0/users/`$(`$m.UserPrincipalName)?```$select=accountEnabled"
    `$null = [pscustomobject]@{ UserPrincipalName = `$m.UserPrincipalName; Smtp = `$cas.SmtpClientAuthenticationDisabled; Policy = `$user.AuthenticationPolicy; Enabled = `$g['accountEnabled'] }
    `$n++
}
"@ + "`n" + $report

function Invoke-Run([string] $Name, [string] $Script) {
    $file = Join-Path $work "$Name.ps1"
    Set-Content $file $Script
    $out = & $pwsh -NoProfile -NonInteractive -File $file 2>&1
    $json = $out | Where-Object { "$_" -like '{*' } | Select-Object -Last 1
    if (-not $json) { throw "$Name failed:`n$($out | Out-String)" }
    $r = $json | ConvertFrom-Json
    $r | Add-Member -NotePropertyName Approach -NotePropertyValue $Name -PassThru
}
try {
    $results = @(Invoke-Run 'Get-SmtpAuthPolicyState -All' $ours)
    if (-not $SkipNaive) { $results += Invoke-Run 'naive loop (CAS + User + Graph GET each)' $naive }
    $results | Select-Object Approach, Objects, WallSeconds, ExchangeCalls, GraphRequests, GraphInnerBatchRequests, PeakWorkingSetMB | Format-Table -AutoSize | Out-String -Width 200 | Write-Output
    if ($results.Count -eq 2) {
        'Wall time ratio naive/ours = {0:F1}; calls ours {1} vs naive {2}' -f ($results[1].WallSeconds / $results[0].WallSeconds), ($results[0].ExchangeCalls + $results[0].GraphRequests), ($results[1].ExchangeCalls + $results[1].GraphRequests)
    }
}
finally {
    Stop-GraphEmulator $graph
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
