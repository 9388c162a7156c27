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

# --- Find and stop the node process -------------------------------------------------------------
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
        Write-Verbose "Stop-NodemailerPeer: SIGTERM to $($pids -join ', ')"
        foreach ($p in $pids) { & kill -TERM $p 2>&1 | Out-Null }
        if (@(Wait-ProcessesGone -Pids $pids -IsAlive $isOurs -Seconds $TimeoutSeconds).Count -gt 0) {
            foreach ($p in $pids) {
                if (& $isOurs $p) {
                    Write-Warning "Stop-NodemailerPeer: node $p ignored SIGTERM for $TimeoutSeconds s; killing it."
                    & kill -KILL $p 2>&1 | Out-Null
                }
            }
            if (@(Wait-ProcessesGone -Pids $pids -IsAlive $isOurs -Seconds 3).Count -gt 0) { Write-Warning "Stop-NodemailerPeer: node $($pids -join ', ') still running after SIGKILL." }
        }
    }
}
catch {
    Write-Warning "Stop-NodemailerPeer: stopping node failed: $_"
}

# --- Remove the work directory ----------------------------------------------------------------
try {
    if ($env:NODEMAILER_PEER_KEEP -eq '1') {
        Write-Verbose "Stop-NodemailerPeer: NODEMAILER_PEER_KEEP=1, keeping $WorkDirectory"
    }
    elseif (Test-Path -LiteralPath (Join-Path $WorkDirectory '.nodemailer-peer')) {
        Remove-Item -LiteralPath $WorkDirectory -Recurse -Force -ErrorAction Stop
    }
    elseif (Test-Path -LiteralPath $WorkDirectory) {
        Write-Warning "Stop-NodemailerPeer: '$WorkDirectory' has no .nodemailer-peer marker; not deleting it."
    }
}
catch {
    Write-Warning "Stop-NodemailerPeer: could not remove '$WorkDirectory': $_"
}
$global:LASTEXITCODE = 0
