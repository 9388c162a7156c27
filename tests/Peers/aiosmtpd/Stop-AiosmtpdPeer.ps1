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
$pids = @()
try { $pids = Find-PeerProcess -PidFile (Join-Path $WorkDirectory 'server.pid') -ArgvTail $argvTail }
catch { Write-Warning "Stop-AiosmtpdPeer: finding python3 failed: $_" }
Stop-PeerProcess -Caller 'Stop-AiosmtpdPeer' -What 'python3' -Pids $pids -IsAlive { param($p) (Get-ProcessState $p $argvTail) -eq 'ours' } -TimeoutSeconds $TimeoutSeconds

# --- Remove the work directory ----------------------------------------------------------------
Remove-PeerWorkDirectory -Caller 'Stop-AiosmtpdPeer' -WorkDirectory $WorkDirectory -Marker '.aiosmtpd-peer' -KeepVariable 'AIOSMTPD_PEER_KEEP'
$global:LASTEXITCODE = 0
