#Requires -Version 7.0
<#
.SYNOPSIS
    Stops the aiosmtpd peer started by Start-AiosmtpdPeer.ps1 in -WorkDirectory and removes the
    work directory.

.DESCRIPTION
    Finds the python3 process through WorkDirectory/server.pid and, as a fallback, by scanning
    /proc for '<python3> -I <this directory>/server.py <WorkDirectory>/config.json'. A pid is only
    signalled when its command line ends exactly so (guards against pid reuse and other runs,
    other peers' work directories included). SIGTERM (server.py stops its loop and exits at once),
    bounded wait, then SIGKILL.

    Then removes WorkDirectory, unless $env:AIOSMTPD_PEER_KEEP is '1' (keep logs for a post-mortem)
    or the directory lacks the '.aiosmtpd-peer' marker Start-AiosmtpdPeer.ps1 writes (a directory
    the start script did not create is never deleted).

    Never throws: problems are reported with Write-Warning. Idempotent.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $WorkDirectory,
    [ValidateRange(1, 120)]
    [int] $TimeoutSeconds = 10
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Continue'

. "$PSScriptRoot/../PeerTools.ps1"

try {
    $WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory).TrimEnd('/')
}
catch {
    Write-Warning "Stop-AiosmtpdPeer: bad WorkDirectory '$WorkDirectory': $_"
    return
}
# Ours = '<python3> -I <this directory>/server.py <WorkDirectory>/config.json' (Get-ProcessState).
$argvTail = @((Join-Path $PSScriptRoot 'server.py'), (Join-Path $WorkDirectory 'config.json'))

# --- Find and stop the python3 process -----------------------------------------------------------
try {
    $pids = [System.Collections.Generic.List[int]]::new()
    $n = Read-PidFile (Join-Path $WorkDirectory 'server.pid')
    if ((Get-ProcessState $n $argvTail) -eq 'ours') { $pids.Add($n) }
    if ($IsLinux) {
        foreach ($n in Get-ProcIds) {
            if (-not $pids.Contains($n) -and (Get-ProcessState $n $argvTail) -eq 'ours') { $pids.Add($n) }
        }
    }
    if ($pids.Count -gt 0) {
        $isOurs = { param($p) (Get-ProcessState $p $argvTail) -eq 'ours' }
        Write-Verbose "Stop-AiosmtpdPeer: SIGTERM to $($pids -join ', ')"
        foreach ($p in $pids) { & kill -TERM $p 2>&1 | Out-Null }
        if (@(Wait-ProcessesGone -Pids $pids -IsAlive $isOurs -Seconds $TimeoutSeconds).Count -gt 0) {
            foreach ($p in $pids) {
                if (& $isOurs $p) {
                    Write-Warning "Stop-AiosmtpdPeer: python3 $p ignored SIGTERM for $TimeoutSeconds s; killing it."
                    & kill -KILL $p 2>&1 | Out-Null
                }
            }
            if (@(Wait-ProcessesGone -Pids $pids -IsAlive $isOurs -Seconds 3).Count -gt 0) { Write-Warning "Stop-AiosmtpdPeer: python3 $($pids -join ', ') still running after SIGKILL." }
        }
    }
}
catch {
    Write-Warning "Stop-AiosmtpdPeer: stopping python3 failed: $_"
}

# --- Remove the work directory ----------------------------------------------------------------
try {
    if ($env:AIOSMTPD_PEER_KEEP -eq '1') {
        Write-Verbose "Stop-AiosmtpdPeer: AIOSMTPD_PEER_KEEP=1, keeping $WorkDirectory"
    }
    elseif (Test-Path -LiteralPath (Join-Path $WorkDirectory '.aiosmtpd-peer')) {
        Remove-Item -LiteralPath $WorkDirectory -Recurse -Force -ErrorAction Stop
    }
    elseif (Test-Path -LiteralPath $WorkDirectory) {
        Write-Warning "Stop-AiosmtpdPeer: '$WorkDirectory' has no .aiosmtpd-peer marker; not deleting it."
    }
}
catch {
    Write-Warning "Stop-AiosmtpdPeer: could not remove '$WorkDirectory': $_"
}
$global:LASTEXITCODE = 0
