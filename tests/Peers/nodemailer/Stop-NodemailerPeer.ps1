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

$ServerJs = Join-Path $PSScriptRoot 'server.js'

function Get-NodeState([int] $ProcId, [string] $ConfigPath) {
    # 'ours' = live process running '<node> <ServerJs> <ConfigPath>'; 'gone' = absent or zombie.
    if ($ProcId -le 1) { return 'gone' }
    try {
        $stat = [System.IO.File]::ReadAllText("/proc/$ProcId/stat")
        $cmd = [System.IO.File]::ReadAllText("/proc/$ProcId/cmdline")
    }
    catch { return 'gone' }
    $state = $stat.Substring($stat.LastIndexOf(')') + 2, 1)
    if ($state -eq 'Z' -or $state -eq 'X') { return 'gone' }
    $argv = $cmd.TrimEnd([char]0).Split([char]0)
    if ($argv.Count -ge 3 -and $argv[-2] -eq $ServerJs -and $argv[-1] -eq $ConfigPath) { return 'ours' }
    return 'other'
}

function Wait-Gone([int[]] $Pids, [string] $ConfigPath, [int] $Seconds) {
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    while (@($Pids | Where-Object { (Get-NodeState $_ $ConfigPath) -eq 'ours' }).Count -gt 0) {
        if ([DateTime]::UtcNow -gt $deadline) { return $false }
        Start-Sleep -Milliseconds 100
    }
    return $true
}

try {
    $WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory).TrimEnd('/')
}
catch {
    Write-Warning "Stop-NodemailerPeer: bad WorkDirectory '$WorkDirectory': $_"
    return
}
$configPath = Join-Path $WorkDirectory 'config.json'

# --- Find and stop the node process -------------------------------------------------------------
try {
    $pids = [System.Collections.Generic.List[int]]::new()
    $pidFile = Join-Path $WorkDirectory 'server.pid'
    if (Test-Path -LiteralPath $pidFile) {
        $n = 0
        if ([int]::TryParse((Get-Content -LiteralPath $pidFile -Raw -ErrorAction SilentlyContinue).Trim(), [ref]$n) -and (Get-NodeState $n $configPath) -eq 'ours') { $pids.Add($n) }
    }
    if ($IsLinux) {
        foreach ($dir in [System.IO.Directory]::EnumerateDirectories('/proc')) {
            $name = [System.IO.Path]::GetFileName($dir)
            $n = 0
            if (-not [int]::TryParse($name, [ref]$n) -or $pids.Contains($n)) { continue }
            if ((Get-NodeState $n $configPath) -eq 'ours') { $pids.Add($n) }
        }
    }
    if ($pids.Count -gt 0) {
        Write-Verbose "Stop-NodemailerPeer: SIGTERM to $($pids -join ', ')"
        foreach ($p in $pids) { & kill -TERM $p 2>&1 | Out-Null }
        if (-not (Wait-Gone $pids $configPath $TimeoutSeconds)) {
            foreach ($p in $pids) {
                if ((Get-NodeState $p $configPath) -eq 'ours') {
                    Write-Warning "Stop-NodemailerPeer: node $p ignored SIGTERM for $TimeoutSeconds s; killing it."
                    & kill -KILL $p 2>&1 | Out-Null
                }
            }
            if (-not (Wait-Gone $pids $configPath 3)) { Write-Warning "Stop-NodemailerPeer: node $($pids -join ', ') still running after SIGKILL." }
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
