#Requires -Version 7.0
<#
.SYNOPSIS
    Stops the private Postfix + Dovecot started by Start-PostfixPeer.ps1 in -WorkDirectory.

.DESCRIPTION
    Postfix: 'postfix -c <WorkDirectory>/postfix/etc stop', then waits for its master to exit;
    escalates to 'postfix abort' and finally SIGKILL of the master pid if needed.
    Dovecot: SIGTERM to the pid in <WorkDirectory>/dovecot/run/master.pid, then SIGKILL.
    Every wait is bounded (-TimeoutSeconds per daemon and step). Never throws: problems are
    reported with Write-Warning. Only processes whose pid files live in WorkDirectory are touched.
    Leaves the work directory (logs, peer.json) in place for post-mortems.
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

function Get-LivePid([string] $PidFile, [string[]] $ExpectedNames) {
    # Returns the pid recorded in $PidFile when that process is alive and is what we expect
    # (guards against pid reuse), else $null.
    if (-not (Test-Path -LiteralPath $PidFile)) { return $null }
    $text = (Get-Content -LiteralPath $PidFile -Raw -ErrorAction SilentlyContinue)
    $procId = 0
    if (-not [int]::TryParse("$text".Trim(), [ref]$procId) -or $procId -le 1) { return $null }
    $comm = Get-Content -LiteralPath "/proc/$procId/comm" -ErrorAction SilentlyContinue
    if (-not $comm) { return $null }
    if ($ExpectedNames -notcontains "$comm".Trim()) { return $null }
    $state = (Get-Content -LiteralPath "/proc/$procId/stat" -Raw -ErrorAction SilentlyContinue) -replace '^.*\)\s+(\S).*$', '$1'
    if ("$state".Trim() -eq 'Z') { return $null }
    return $procId
}

function Wait-Gone([string] $PidFile, [string[]] $Names, [int] $Seconds) {
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    while ($null -ne (Get-LivePid $PidFile $Names)) {
        if ([DateTime]::UtcNow -gt $deadline) { return $false }
        Start-Sleep -Milliseconds 100
    }
    return $true
}

try {
    $WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory)
}
catch {
    Write-Warning "Stop-PostfixPeer: bad WorkDirectory '$WorkDirectory': $_"
    return
}

# --- Postfix --------------------------------------------------------------------------------
$pfEtc = Join-Path $WorkDirectory 'postfix/etc'
$masterPidFile = Join-Path $WorkDirectory 'postfix/spool/pid/master.pid'
$masterNames = @('master')
try {
    if ($null -ne (Get-LivePid $masterPidFile $masterNames)) {
        if (Get-Command postfix -ErrorAction SilentlyContinue) {
            & postfix -c $pfEtc stop 2>&1 | Out-Null
        }
        if (-not (Wait-Gone $masterPidFile $masterNames $TimeoutSeconds)) {
            Write-Warning "Stop-PostfixPeer: Postfix master did not stop within $TimeoutSeconds s; aborting it."
            & postfix -c $pfEtc abort 2>&1 | Out-Null
            if (-not (Wait-Gone $masterPidFile $masterNames $TimeoutSeconds)) {
                $p = Get-LivePid $masterPidFile $masterNames
                if ($null -ne $p) { & kill -KILL $p 2>&1 | Out-Null }
                [void](Wait-Gone $masterPidFile $masterNames 2)
            }
        }
    }
}
catch {
    Write-Warning "Stop-PostfixPeer: stopping Postfix failed: $_"
}

# --- Dovecot --------------------------------------------------------------------------------
$dovecotPidFile = Join-Path $WorkDirectory 'dovecot/run/master.pid'
$dovecotNames = @('dovecot')
try {
    $p = Get-LivePid $dovecotPidFile $dovecotNames
    if ($null -ne $p) {
        & kill -TERM $p 2>&1 | Out-Null
        if (-not (Wait-Gone $dovecotPidFile $dovecotNames $TimeoutSeconds)) {
            Write-Warning "Stop-PostfixPeer: Dovecot ($p) did not stop within $TimeoutSeconds s; killing it."
            & kill -KILL $p 2>&1 | Out-Null
            [void](Wait-Gone $dovecotPidFile $dovecotNames 2)
        }
    }
}
catch {
    Write-Warning "Stop-PostfixPeer: stopping Dovecot failed: $_"
}
$global:LASTEXITCODE = 0
