#Requires -Version 7.0
<#
.SYNOPSIS
    Stops the private Postfix + Dovecot started by Start-PostfixPeer.ps1 in -WorkDirectory.

.DESCRIPTION
    Postfix first (its smtpd processes hold connections to Dovecot's auth process, which would
    otherwise keep serving them after its master is gone):
      'postfix -c <WorkDirectory>/postfix/etc stop', wait for the master to exit, escalate to
      'postfix abort' and then SIGKILL of the master pid.
    Dovecot: SIGTERM to the master pid (from <WorkDirectory>/dovecot/run/master.pid, or the copy
    Start-PostfixPeer.ps1 saved in <WorkDirectory>/dovecot/master.pid.saved), then SIGKILL.
    Finally any leftover process of either daemon's process group (both masters call setsid,
    so the group id is the master's pid) is sent SIGTERM, then SIGKILL.

    Only processes whose pid or process group comes from a pid file inside WorkDirectory, whose
    executable is Postfix's/Dovecot's and whose working directory is inside WorkDirectory are
    touched. Every wait is bounded; never throws:
    problems are reported with Write-Warning. The work directory (logs, peer.json) is left in
    place for post-mortems.
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

$PostfixExe = @('/usr/lib/postfix/sbin/', '/usr/libexec/postfix/')
$DovecotExe = @('/usr/sbin/dovecot', '/usr/lib/dovecot/', '/usr/libexec/dovecot/')

. "$PSScriptRoot/../PeerTools.ps1"

function Get-ProcInfo([int] $ProcId) {
    # State, process group, executable and working directory of a live process, or $null (gone or zombie).
    $stat = Get-ProcStat $ProcId
    if (-not $stat) { return $null }
    $exe = ''; $cwd = ''
    try { $exe = [string](Get-Item -LiteralPath "/proc/$ProcId/exe" -Force -ErrorAction Stop).LinkTarget } catch { }
    try { $cwd = [string](Get-Item -LiteralPath "/proc/$ProcId/cwd" -Force -ErrorAction Stop).LinkTarget } catch { }
    return [pscustomobject]@{ Pid = $ProcId; State = $stat.State; PGrp = $stat.PGrp; Exe = $exe; Cwd = $cwd }
}

function Test-Ours($Info, [string[]] $ExePrefixes) {
    # Ours = a Postfix/Dovecot executable whose working directory is inside WorkDirectory
    # (Postfix daemons chdir to queue_directory, Dovecot's to base_dir). Guards against pid reuse
    # and never matches a system Postfix/Dovecot or another test run's instance.
    if ($null -eq $Info -or -not $Info.Cwd.StartsWith($script:WorkPrefix, [StringComparison]::Ordinal)) { return $false }
    foreach ($p in $ExePrefixes) { if ($Info.Exe.StartsWith($p, [StringComparison]::Ordinal)) { return $true } }
    return $false
}

function Test-Alive([int] $ProcId, [string[]] $ExePrefixes) {
    if ($ProcId -le 1) { return $false }
    return (Test-Ours (Get-ProcInfo $ProcId) $ExePrefixes)
}

function Wait-Dead([int] $ProcId, [string[]] $ExePrefixes, [int] $Seconds) {
    return (@(Wait-ProcessesGone -Pids $ProcId -IsAlive { param($p) Test-Alive $p $ExePrefixes } -Seconds $Seconds).Count -eq 0)
}

function Get-GroupMembers([int] $PGrp, [string[]] $ExePrefixes) {
    if ($PGrp -le 1) { return }
    $found = [System.Collections.Generic.List[object]]::new()
    foreach ($procId in Get-ProcIds) {
        $stat = Get-ProcStat $procId
        if (-not $stat -or $stat.PGrp -ne $PGrp) { continue }
        $info = Get-ProcInfo $procId
        if (Test-Ours $info $ExePrefixes) { $found.Add($info) }
    }
    return $found.ToArray()
}

function Stop-Group([string] $What, [int] $PGrp, [string[]] $ExePrefixes) {
    $members = @(Get-GroupMembers $PGrp $ExePrefixes)
    if ($members.Count -eq 0) { return }
    Write-Verbose "Stop-PostfixPeer: terminating $($members.Count) leftover $What process(es) of group $PGrp"
    foreach ($m in $members) { & kill -TERM $m.Pid 2>&1 | Out-Null }
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (@(Get-GroupMembers $PGrp $ExePrefixes).Count -gt 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
    foreach ($m in @(Get-GroupMembers $PGrp $ExePrefixes)) {
        Write-Warning "Stop-PostfixPeer: $What process $($m.Pid) ignored SIGTERM; killing it."
        & kill -KILL $m.Pid 2>&1 | Out-Null
    }
}

try {
    $WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory).TrimEnd('/')
    $script:WorkPrefix = $WorkDirectory + '/'
}
catch {
    Write-Warning "Stop-PostfixPeer: bad WorkDirectory '$WorkDirectory': $_"
    return
}

# --- Postfix ----------------------------------------------------------------------------------
$pfEtc = Join-Path $WorkDirectory 'postfix/etc'
$pfMasterPid = Read-PidFile (Join-Path $WorkDirectory 'postfix/spool/pid/master.pid')
try {
    if (Test-Alive $pfMasterPid $PostfixExe) {
        if ((Test-Path -LiteralPath (Join-Path $pfEtc 'main.cf')) -and (Get-Command postfix -ErrorAction SilentlyContinue)) {
            & postfix -c $pfEtc stop 2>&1 | Out-Null
        }
        else {
            & kill -TERM $pfMasterPid 2>&1 | Out-Null
        }
        if (-not (Wait-Dead $pfMasterPid $PostfixExe $TimeoutSeconds)) {
            Write-Warning "Stop-PostfixPeer: Postfix master $pfMasterPid did not stop within $TimeoutSeconds s; aborting it."
            & postfix -c $pfEtc abort 2>&1 | Out-Null
            if (-not (Wait-Dead $pfMasterPid $PostfixExe 3)) {
                & kill -KILL $pfMasterPid 2>&1 | Out-Null
                [void](Wait-Dead $pfMasterPid $PostfixExe 2)
            }
        }
    }
    Stop-Group 'Postfix' $pfMasterPid $PostfixExe
}
catch {
    Write-Warning "Stop-PostfixPeer: stopping Postfix failed: $_"
}

# --- Dovecot ----------------------------------------------------------------------------------
try {
    $dcPid = Read-PidFile (Join-Path $WorkDirectory 'dovecot/run/master.pid')
    if ($dcPid -le 1) { $dcPid = Read-PidFile (Join-Path $WorkDirectory 'dovecot/master.pid.saved') }
    if (Test-Alive $dcPid $DovecotExe) {
        & kill -TERM $dcPid 2>&1 | Out-Null
        if (-not (Wait-Dead $dcPid $DovecotExe $TimeoutSeconds)) {
            Write-Warning "Stop-PostfixPeer: Dovecot master $dcPid did not stop within $TimeoutSeconds s; killing it."
            & kill -KILL $dcPid 2>&1 | Out-Null
            [void](Wait-Dead $dcPid $DovecotExe 2)
        }
    }
    Stop-Group 'Dovecot' $dcPid $DovecotExe
}
catch {
    Write-Warning "Stop-PostfixPeer: stopping Dovecot failed: $_"
}
$global:LASTEXITCODE = 0
