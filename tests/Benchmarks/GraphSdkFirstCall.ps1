#requires -Version 7.4
<#
.SYNOPSIS
    Benchmark (not a test): the cost of loading the Microsoft Graph SDK on the first Graph call (issue 11). Side by side,
    each run in fresh processes against the Graph emulator: the first tenant read (security defaults + Conditional
    Access) with a plain HttpClient, with the SDK's handler pipeline and raw JSON (the reader before the move), and with
    GraphServiceClient and typed models (the reader now). Prints every run and the medians.
    Run with: dotnet pwsh ./build.ps1 Benchmark, or on its own: dotnet pwsh tests/Benchmarks/GraphSdkFirstCall.ps1
#>
param([string] $ModulePath, [int] $Runs = 7, [string] $Configuration = 'Release')
$ErrorActionPreference = 'Stop'
. "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
$project = Join-Path $PSScriptRoot 'GraphSdkFirstCall/GraphSdkFirstCall.csproj'
& dotnet build $project -c $Configuration --nologo -v:q -clp:ErrorsOnly | Out-Host
if ($LASTEXITCODE -ne 0) { throw "GraphSdkFirstCall did not build (exit $LASTEXITCODE)." }
$dll = Join-Path $PSScriptRoot "GraphSdkFirstCall/bin/$Configuration/net10.0/GraphSdkFirstCall.dll"
$graph = Start-GraphEmulator -Scenario 'demo-tenant.json'
try {
    $results = foreach ($i in 1..$Runs) {
        foreach ($mode in 'http', 'raw', 'sdk') {
            $line = & dotnet $dll $mode $graph.BaseUri
            if ($LASTEXITCODE -ne 0) { throw "GraphSdkFirstCall $mode failed (exit $LASTEXITCODE): $line" }
            $m, $first, $second, $assemblies, $graphLoaded = $line -split ' '
            [pscustomobject]@{ Run = $i; Mode = $m; FirstMs = [double]$first; SecondMs = [double]$second; Assemblies = [int]$assemblies; MicrosoftGraphLoaded = [bool]::Parse($graphLoaded) }
        }
    }
}
finally { Stop-GraphEmulator $graph }
$results | Format-Table -AutoSize | Out-String | Write-Output
$median = { param($values) $s = @($values | Sort-Object); $s[[int][math]::Floor($s.Count / 2)] }
$m = @{}
foreach ($mode in 'http', 'raw', 'sdk') {
    $r = @($results | Where-Object Mode -eq $mode)
    $m[$mode] = [pscustomobject]@{ First = (& $median $r.FirstMs); Second = (& $median $r.SecondMs); Assemblies = (& $median $r.Assemblies) }
    '{0,-4} first read {1,7:F0} ms, second {2,6:F1} ms, {3} assemblies loaded (median of {4} fresh processes)' -f $mode, $m[$mode].First, $m[$mode].Second, $m[$mode].Assemblies, $Runs
}
'Graph SDK first-call cost: GraphServiceClient + typed models {0:F0} ms over the SDK pipeline with raw JSON, {1:F0} ms over a plain HttpClient (first tenant read, median).' -f ($m.sdk.First - $m.raw.First), ($m.sdk.First - $m.http.First)
