#Requires -Version 7.0
<#
.SYNOPSIS
    Times swaks doing connect + STARTTLS + AUTH LOGIN + QUIT against the Postfix peer's STARTTLS port.

.DESCRIPTION
    Baseline for benchmarks: runs swaks -Count times, sequentially, with
    '--tls --auth LOGIN --quit-after AUTH' (no mail is sent; swaks does not verify the
    certificate), and measures each run with a Stopwatch around the whole swaks process
    (so perl start-up is included).

    The password never appears in argv or output: it is handed to swaks through the
    SWAKS_OPT_auth_password environment variable of the child process only, swaks runs with
    --auth-hide-password, and its transcript is discarded (on failure only a redacted tail is
    put in the error).

    Returns ONE object:
      Tool               'swaks'
      Port               the STARTTLS port used
      Count              number of runs
      MedianMilliseconds median of Runs.Milliseconds
      MinMilliseconds / MaxMilliseconds / MeanMilliseconds
      Runs               array of [pscustomobject]@{ Run = 1..Count; Milliseconds = <double> }
    Throws if any run fails (swaks exit code other than 0).

.EXAMPLE
    $peer = ./tests/Peers/postfix/Start-PostfixPeer.ps1
    ./tests/Peers/postfix/Measure-Swaks.ps1 -PeerJson (Join-Path $peer.workDirectory 'peer.json') -Count 50
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $PeerJson,
    [ValidateRange(1, 10000)]
    [int] $Count = 50,
    [ValidateRange(1, 300)]
    [int] $TimeoutSeconds = 30
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$peer = Get-Content -LiteralPath $PeerJson -Raw | ConvertFrom-Json
if (-not (Get-Command swaks -ErrorAction SilentlyContinue)) { throw 'swaks is not installed (Start-PostfixPeer.ps1 installs it).' }

function Get-Median([double[]] $Values) {
    $sorted = [double[]]($Values | Sort-Object)
    $n = $sorted.Length
    if ($n % 2 -eq 1) { return $sorted[($n - 1) / 2] }
    return ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2
}

$arguments = @(
    '--config',                       # ignore any ~/.swaksrc
    '--server', $peer.host,
    '--port', "$($peer.startTlsPort)",
    '--timeout', "$TimeoutSeconds",
    '--tls',
    '--auth', 'LOGIN',
    '--auth-user', $peer.user,
    '--auth-hide-password',
    '--quit-after', 'AUTH'
)

$runs = [System.Collections.Generic.List[object]]::new()
for ($i = 1; $i -le $Count; $i++) {
    $psi = [System.Diagnostics.ProcessStartInfo]::new('swaks')
    foreach ($a in $arguments) { $psi.ArgumentList.Add($a) }
    $psi.Environment['SWAKS_OPT_auth_password'] = $peer.password
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true

    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $proc = [System.Diagnostics.Process]::Start($psi)
    $proc.StandardInput.Close()
    $stdout = $proc.StandardOutput.ReadToEndAsync()
    $stderr = $proc.StandardError.ReadToEndAsync()
    if (-not $proc.WaitForExit(($TimeoutSeconds + 10) * 1000)) {
        $proc.Kill($true)
        throw "swaks run $i did not finish within $($TimeoutSeconds + 10) s"
    }
    $proc.WaitForExit()   # flush the async readers
    $sw.Stop()

    if ($proc.ExitCode -ne 0) {
        $text = ($stdout.Result + $stderr.Result).Replace([string]$peer.password, '***')
        $tail = ($text -split "`n" | Select-Object -Last 8) -join "`n"
        throw "swaks run $i exited with $($proc.ExitCode):`n$tail"
    }
    $runs.Add([pscustomobject]@{ Run = $i; Milliseconds = [Math]::Round($sw.Elapsed.TotalMilliseconds, 3) })
    $proc.Dispose()
}

$ms = [double[]]($runs | ForEach-Object Milliseconds)
$stats = $ms | Measure-Object -Minimum -Maximum -Average
[pscustomobject]@{
    Tool               = 'swaks'
    Port               = [int]$peer.startTlsPort
    Count              = $Count
    MedianMilliseconds = [Math]::Round((Get-Median $ms), 3)
    MinMilliseconds    = $stats.Minimum
    MaxMilliseconds    = $stats.Maximum
    MeanMilliseconds   = [Math]::Round($stats.Average, 3)
    Runs               = $runs.ToArray()
}
