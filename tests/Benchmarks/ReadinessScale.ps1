#requires -Version 7.4
<#
.SYNOPSIS
    Benchmark (not a test): Get-SmtpAuthClient -Days 30 over an emulated tenant of -Count mailboxes with 30 days of
    Authenticated SMTP sign-ins (10,000 x 30 = about 300,000 rows) and -DelayMs on every Graph request and Exchange call,
    side by side with the per-mailbox loop an admin writes today (one filtered sign-in query per mailbox, paged). Each
    runs in a fresh pwsh; prints requests, wall time and peak working set, and the ratio. Issue 12's goal: at most 0.05 of
    the loop's wall time, peak working set at most 300 MB.
    Exchange Online is out of process, as it is in the real world (ExchangeOnlineManagement v3 is a REST client that
    fetches pages; the tenant's data stays on Microsoft's servers): one host process (Start-ExoRestHost,
    tests/EmulatedTenant/ExoRestHost.ps1) loads the scenario and serves the stand-in's cmdlets over HTTP on 127.0.0.1,
    in pages of 1,000; each run imports the stand-in and connects to it with Connect-ExchangeOnline -ConnectionUri, so
    the measured process holds no scenario. -DelayMs is applied by the host once per Exchange call (a call's further
    pages cost no delay), as the in-process stand-in applies it. Graph is the emulator, out of process as before.
    A third fresh pwsh, the baseline, does the same setup (the stand-in modules, Connect-ExchangeOnline to the host,
    Connect-MgGraph, Import-Module of this module) and runs nothing: "ours - baseline" is the peak the command adds.
    The host's own peak working set (the whole scenario, and the pages it builds) is printed apart, for information.
    A fourth run is the runbook path: the same command with -GraphAccessToken (as -UseManagedIdentity or a certificate
    gives a token), where Graph pages come over the module's own HTTP client and not as Invoke-MgGraphRequest strings.
    A fifth run reads the same sign-in pages through the caller's Invoke-MgGraphRequest -OutputType Json and keeps
    nothing: what the caller's Graph module costs by itself on the session path. Every run also reports the bytes it
    allocated (GC.GetTotalAllocatedBytes), which, unlike the peak working set, does not depend on when the GC runs.
    Run alone: dotnet pwsh ./tests/Benchmarks/ReadinessScale.ps1 -ModulePath ./out/SmtpAuthTroubleshooter/<v>/SmtpAuthTroubleshooter.psd1
#>
param([Parameter(Mandatory)][string] $ModulePath, [int] $Count = 10000, [int] $DelayMs = 50, [int] $LoopSample = 0)
$ErrorActionPreference = 'Stop'
. "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
$ModulePath = (Resolve-Path $ModulePath).Path
$work = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-readiness-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
$null = New-Item -ItemType Directory $work
$scenario = New-ScaleScenario -Count $Count -Path (Join-Path $work "readiness-$Count.json") -SignInDays 30
$graph = Start-GraphEmulator -Scenario $scenario -ExtraArgs @('--delay-ms', "$DelayMs")
try { $exoHost = Start-ExoRestHost -Scenario $scenario } catch { Stop-GraphEmulator $graph; throw }
$pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
$tenantRoot = (Resolve-Path "$PSScriptRoot/../EmulatedTenant").Path

$common = @"
`$ErrorActionPreference = 'Stop'
`$env:PSModulePath = '$tenantRoot' + [IO.Path]::PathSeparator + `$env:PSModulePath
Import-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication
Connect-ExchangeOnline -ConnectionUri '$($exoHost.BaseUri)' -DelayMilliseconds $DelayMs -ShowBanner:`$false
`$null = Connect-MgGraph -GraphBaseUri '$($graph.BaseUri)' -NoWelcome
Reset-ExoStandIn
Invoke-RestMethod -Method Post -Uri '$($graph.BaseUri)_emulator/reset' -ContentType 'application/json' -Body '{}' | Out-Null
Set-ExoStandInDelay $DelayMs
"@
$report = @"
`$sw.Stop()
`$stats = Invoke-RestMethod -Uri '$($graph.BaseUri)_emulator/stats'
`$exo = (Get-ExoStandInCallCount).Values | Measure-Object -Sum
[pscustomobject]@{ Objects = `$n; Mailboxes = `$mailboxes; WallSeconds = [math]::Round(`$sw.Elapsed.TotalSeconds, 1); ExchangeCalls = `$exo.Sum; GraphRequests = `$stats.totalRequests; PeakWorkingSetMB = [math]::Round([Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB); AllocatedMB = [math]::Round(([GC]::GetTotalAllocatedBytes(`$false) - `$allocated0) / 1MB); SignInUrl = @(Get-MgStandInRequestLog | Where-Object Uri -like '*auditLogs/signIns*')[0].Uri } | ConvertTo-Json -Compress
"@
$start = "`n`$allocated0 = [GC]::GetTotalAllocatedBytes(`$false); `$sw = [Diagnostics.Stopwatch]::StartNew()`n"
# The setup alone, nothing run: what the process costs before the command does anything.
$baseline = $common + "`nImport-Module '$ModulePath'" + $start + "`$n = 0; `$mailboxes = 0`n" + $report
$ours = $common + "`nImport-Module '$ModulePath'" + $start + @"
`$n = 0; `$mailboxes = $Count
Get-SmtpAuthClient -Days 30 -SkipMessageTrace -WarningAction SilentlyContinue | ForEach-Object { `$n++ }
"@ + "`n" + $report
# The runbook path: the same command with its own Graph token (as -UseManagedIdentity or a certificate gives one), so
# Graph pages come over the module's own HTTP client instead of through Invoke-MgGraphRequest's strings.
$oursToken = $ours.Replace('Get-SmtpAuthClient -Days 30', "Get-SmtpAuthClient -GraphAccessToken (ConvertTo-SecureString 'emulated-graph-token' -AsPlainText -Force) -GraphBaseUri '$($graph.BaseUri)' -Days 30")
# The caller's Graph module alone: the same sign-in pages (the URL the session path reads, from the emulator's request
# log) through Invoke-MgGraphRequest -OutputType Json, each page dropped as it comes, nothing aggregated. "session path -
# this" is what the module adds on top of what reading the pages through Invoke-MgGraphRequest costs by itself.
$graphOnly = $common + "`nImport-Module '$ModulePath'" + $start + @"
`$n = 0; `$mailboxes = 0
`$uri = `$env:SMTPAUTH_BENCH_SIGNIN_URL
while (`$uri) {
    `$page = Invoke-MgGraphRequest -Uri `$uri -OutputType Json
    `$n++
    `$next = [regex]::Match(`$page, '"@odata\.nextLink"\s*:\s*"([^"]+)"')
    `$uri = if (`$next.Success) { `$next.Groups[1].Value } else { `$null }
    `$page = `$null
}
"@ + "`n" + $report
# The loop admins write today: every mailbox, then its own filtered sign-in query (paged), client-side counts.
$limit = if ($LoopSample -gt 0) { "| Select-Object -First $LoopSample" } else { '' }
$loop = $common + $start + @"
`$n = 0; `$mailboxes = 0
`$since = [datetime]::UtcNow.Date.AddDays(-29).ToString('yyyy-MM-ddTHH:mm:ssZ')
foreach (`$m in (Get-EXOMailbox -ResultSize Unlimited $limit)) {
    `$mailboxes++
    `$uri = "v1.0/auditLogs/signIns?```$filter=userPrincipalName eq '`$(`$m.UserPrincipalName)' and clientAppUsed eq 'Authenticated SMTP' and createdDateTime ge `$since"
    `$rows = 0
    while (`$uri) { `$page = Invoke-MgGraphRequest -Uri `$uri; `$rows += @(`$page.value).Count; `$uri = `$page.'@odata.nextLink' }
    if (`$rows -gt 0) { `$n++ }
}
"@ + "`n" + $report

function Invoke-Run([string] $Name, [string] $Script) {
    $file = Join-Path $work "$($Name -replace '\W', '-').ps1"
    Set-Content $file $Script
    $out = & $pwsh -NoProfile -NonInteractive -File $file 2>&1
    $json = $out | Where-Object { "$_" -like '{*' } | Select-Object -Last 1
    if (-not $json) { throw "$Name failed:`n$($out | Out-String)" }
    $r = $json | ConvertFrom-Json
    $r | Add-Member -NotePropertyName Approach -NotePropertyValue $Name -PassThru
}
try {
    $results = @(Invoke-Run 'Get-SmtpAuthClient -Days 30' $ours)
    # The first sign-in URL the session path asked for (the stand-in's request log), for the Graph-module-alone run.
    $env:SMTPAUTH_BENCH_SIGNIN_URL = $results[0].SignInUrl
    $results += Invoke-Run ('per-mailbox sign-in loop' + $(if ($LoopSample) { " (first $LoopSample mailboxes)" })) $loop
    $results += Invoke-Run 'baseline (setup only, nothing run)' $baseline
    $results += Invoke-Run 'Get-SmtpAuthClient -Days 30 -GraphAccessToken (runbook path)' $oursToken
    $results += Invoke-Run "the caller's Invoke-MgGraphRequest alone (the same sign-in pages, nothing kept)" $graphOnly
    $results | Select-Object Approach, Mailboxes, Objects, WallSeconds, ExchangeCalls, GraphRequests, PeakWorkingSetMB, AllocatedMB | Format-Table -AutoSize | Out-String -Width 220 | Write-Output
    $loopSeconds = $results[1].WallSeconds * $(if ($LoopSample) { $Count / [math]::Max(1, $results[1].Mailboxes) } else { 1 })
    'Wall time ratio ours/loop = {0:F3}{1}; peak working set {2} MB' -f ($results[0].WallSeconds / $loopSeconds), $(if ($LoopSample) { " (loop extrapolated linearly from $($results[1].Mailboxes) mailboxes to $Count)" }), $results[0].PeakWorkingSetMB
    'Module-attributable peak = ours - baseline = {0} - {1} = {2} MB' -f $results[0].PeakWorkingSetMB, $results[2].PeakWorkingSetMB, ($results[0].PeakWorkingSetMB - $results[2].PeakWorkingSetMB)
    'Runbook path (-GraphAccessToken): wall time ratio {0:F3}; peak working set {1} MB' -f ($results[3].WallSeconds / $loopSeconds), $results[3].PeakWorkingSetMB
    'Session path: of its {0:N0} MB allocated, {1:N0} MB are the caller''s Invoke-MgGraphRequest reading the same {2} pages by itself (peak {3} MB); the runbook path allocates {4:N0} MB in all' -f $results[0].AllocatedMB, $results[4].AllocatedMB, $results[4].Objects, $results[4].PeakWorkingSetMB, $results[3].AllocatedMB
    $h = Get-ExoRestHostStats $exoHost
    'Exchange Online host (its own process, informational, not in the figures above): peak working set {0} MB over the three runs; {1:N0} calls, {2:N0} pages, {3:N0} objects' -f $h.PeakWorkingSetMB, $h.Invocations, $h.Pages, $h.Objects
}
finally {
    Stop-ExoRestHost $exoHost
    Stop-GraphEmulator $graph
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
