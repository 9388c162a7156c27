#Requires -Version 7.0
<#
.SYNOPSIS
    Stops the smtp-server peer started by Start-NodemailerPeer.ps1 in -WorkDirectory and removes
    the work directory.

.DESCRIPTION
    Finds the node process through WorkDirectory/server.pid and, as a fallback, by scanning /proc
    for 'node <this directory>/server.js <WorkDirectory>/config.json'. A pid is only signalled
    when its command line is exactly that (guards against pid reuse and other runs).
    SIGTERM (server.js closes its listeners and exits within ~2 s), bounded wait, then SIGKILL.

    Then removes WorkDirectory, unless $env:NODEMAILER_PEER_KEEP is '1' (keep logs for a
    post-mortem) or the directory lacks the '.nodemailer-peer' marker Start-NodemailerPeer.ps1
    writes (a directory the start script did not create is never deleted).

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
    Write-Warning "Stop-NodemailerPeer: bad WorkDirectory '$WorkDirectory': $_"
    return
}
# Ours = '<node> <this directory>/server.js <WorkDirectory>/config.json' (Get-ProcessState).
$argvTail = @((Join-Path $PSScriptRoot 'server.js'), (Join-Path $WorkDirectory 'config.json'))

# --- Find and stop the node process -----------------------------------------------------------
$pids = @()
try { $pids = Find-PeerProcess -PidFile (Join-Path $WorkDirectory 'server.pid') -ArgvTail $argvTail }
catch { Write-Warning "Stop-NodemailerPeer: finding node failed: $_" }
Stop-PeerProcess -Caller 'Stop-NodemailerPeer' -What 'node' -Pids $pids -IsAlive { param($p) (Get-ProcessState $p $argvTail) -eq 'ours' } -TimeoutSeconds $TimeoutSeconds

# --- Remove the work directory ----------------------------------------------------------------
Remove-PeerWorkDirectory -Caller 'Stop-NodemailerPeer' -WorkDirectory $WorkDirectory -Marker '.nodemailer-peer' -KeepVariable 'NODEMAILER_PEER_KEEP'
$global:LASTEXITCODE = 0
