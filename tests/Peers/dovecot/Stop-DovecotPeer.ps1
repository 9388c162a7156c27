#Requires -Version 7.0
<#
.SYNOPSIS
    Stops the private Dovecot submission server (and its relay sink) started by
    Start-DovecotPeer.ps1 in -WorkDirectory and removes the work directory.

.DESCRIPTION
    Ours = a live process whose working directory is inside WorkDirectory and whose executable
    is Dovecot's (/usr/sbin/dovecot, /usr/lib/dovecot/*: the master chdirs to base_dir, its
    children run there too) or /usr/bin/python3* with the command line
    '-u -m aiosmtpd -n -l 127.0.0.1:<port>' (the relay sink, started in WorkDirectory). That rules
    out a system Dovecot, another run's peer and pid reuse.

    The Dovecot master (WorkDirectory/run/master.pid, or the copy master.pid.saved) and the sink
    (relay.pid) get SIGTERM, then every other process of ours found in /proc; after a bounded wait
    whatever is left gets SIGKILL.

    Then removes WorkDirectory, unless $env:DOVECOT_PEER_KEEP is '1' (keep logs for a
    post-mortem) or the directory lacks the '.dovecot-peer' marker Start-DovecotPeer.ps1 writes.

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
    Write-Warning "Stop-DovecotPeer: bad WorkDirectory '$WorkDirectory': $_"
    return
}
$workPrefix = $WorkDirectory + '/'

function Test-Ours([int] $ProcId) {
    if ($ProcId -le 1 -or -not (Get-ProcStat $ProcId)) { return $false }
    try {
        $exe = [string](Get-Item -LiteralPath "/proc/$ProcId/exe" -Force -ErrorAction Stop).LinkTarget
        $cwd = [string](Get-Item -LiteralPath "/proc/$ProcId/cwd" -Force -ErrorAction Stop).LinkTarget
        $argv = [System.IO.File]::ReadAllText("/proc/$ProcId/cmdline").TrimEnd([char]0).Split([char]0)
    }
    catch { return $false }
    if ($cwd -ne $WorkDirectory -and -not $cwd.StartsWith($workPrefix, [StringComparison]::Ordinal)) { return $false }
    if ($exe -eq '/usr/sbin/dovecot' -or $exe.StartsWith('/usr/lib/dovecot/', [StringComparison]::Ordinal)) { return $true }
    return ($exe -like '/usr/bin/python3*' -and $argv.Count -ge 7 -and (($argv[1..5] -join ' ') -eq '-u -m aiosmtpd -n -l') -and $argv[6] -like '127.0.0.1:*')
}

try {
    if ($IsLinux) {
        $isOurs = { param($p) Test-Ours $p }
        $pids = [System.Collections.Generic.List[int]]::new()
        $master = Read-PidFile (Join-Path $WorkDirectory 'run/master.pid')
        if ($master -le 1) { $master = Read-PidFile (Join-Path $WorkDirectory 'master.pid.saved') }
        foreach ($n in @($master, (Read-PidFile (Join-Path $WorkDirectory 'relay.pid')))) { if ((Test-Ours $n) -and -not $pids.Contains($n)) { $pids.Add($n) } }
        foreach ($n in Get-ProcIds) { if (-not $pids.Contains($n) -and (Test-Ours $n)) { $pids.Add($n) } }
        Stop-PeerProcess -Caller 'Stop-DovecotPeer' -What 'Dovecot process(es)' -Pids $pids -IsAlive $isOurs -TimeoutSeconds $TimeoutSeconds -Rescan { @(Get-ProcIds | Where-Object { Test-Ours $_ }) }
    }
}
catch {
    Write-Warning "Stop-DovecotPeer: stopping Dovecot failed: $_"
}

Remove-PeerWorkDirectory -Caller 'Stop-DovecotPeer' -WorkDirectory $WorkDirectory -Marker '.dovecot-peer' -KeepVariable 'DOVECOT_PEER_KEEP'
$global:LASTEXITCODE = 0
