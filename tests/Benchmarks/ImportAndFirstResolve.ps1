#requires -Version 7.4
<#
.SYNOPSIS
    Benchmark (not a test): Import-Module + the first Resolve-SmtpAuthError call, each in a fresh pwsh process.
    Prints every run and the median. Run with: dotnet pwsh ./build.ps1 Benchmark
#>
param([Parameter(Mandatory)][string] $ModulePath, [int] $Runs = 5)
$ErrorActionPreference = 'Stop'
$pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
$script = @"
`$sw = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module '$ModulePath'
`$import = `$sw.Elapsed.TotalMilliseconds
`$null = '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM]' | Resolve-SmtpAuthError
`$total = `$sw.Elapsed.TotalMilliseconds
`$sw.Restart()
`$null = '535 5.7.3 Authentication unsuccessful' | Resolve-SmtpAuthError
'{0:F1} {1:F1} {2:F2}' -f `$import, `$total, `$sw.Elapsed.TotalMilliseconds
"@
$results = foreach ($i in 1..$Runs) {
    $line = & $pwsh -NoProfile -NonInteractive -Command $script
    $import, $total, $second = $line -split ' ' | ForEach-Object { [double]$_ }
    [pscustomobject]@{ Run = $i; ImportMs = $import; ImportAndFirstResolveMs = $total; SecondResolveMs = $second }
}
$results | Format-Table -AutoSize | Out-String | Write-Output
$median = { param($values) $s = @($values | Sort-Object); $s[[int][math]::Floor($s.Count / 2)] }
'Import-Module + first Resolve-SmtpAuthError, median of {0} fresh processes: {1:F0} ms (import alone {2:F0} ms; a second call {3:F2} ms)' -f $Runs,
    (& $median $results.ImportAndFirstResolveMs), (& $median $results.ImportMs), (& $median $results.SecondResolveMs)
