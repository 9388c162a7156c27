#Requires -Version 7.0
<#
.SYNOPSIS
    Stops the private Exim started by Start-EximPeer.ps1 in -WorkDirectory and removes the work
    directory.

.DESCRIPTION
    Ours = a live process whose executable is the extracted exim4 binary named in
    WorkDirectory/exim.binary and whose command line has '-C <WorkDirectory>/etc/exim.conf'
    (the daemon, the reception processes it forks for each connection, and the delivery
    processes). That rules out a system Exim, another run's peer (another configuration file)
    and pid reuse.

    The daemon (pid from WorkDirectory/exim.pid) gets SIGTERM first, then every other process of
    ours found in /proc; after a bounded wait whatever is left gets SIGKILL.

    Then removes WorkDirectory, unless $env:EXIM_PEER_KEEP is '1' (keep logs for a post-mortem)
    or the directory lacks the '.exim-peer' marker Start-EximPeer.ps1 writes (a directory the
    start script did not create is never deleted). The download cache is left alone.

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
    Write-Warning "Stop-EximPeer: bad WorkDirectory '$WorkDirectory': $_"
    return
}
$configPath = Join-Path $WorkDirectory 'etc/exim.conf'

function Test-Ours([int] $ProcId, [string] $Binary) {
    # A live (non-zombie) process running $Binary with '-C <this peer's exim.conf>' in its argv.
    if ($ProcId -le 1 -or -not (Get-ProcStat $ProcId)) { return $false }
    try {
        $exe = [string](Get-Item -LiteralPath "/proc/$ProcId/exe" -Force -ErrorAction Stop).LinkTarget
        $argv = [System.IO.File]::ReadAllText("/proc/$ProcId/cmdline").TrimEnd([char]0).Split([char]0)
    }
    catch { return $false }
    if ($exe -ne $Binary) { return $false }
    for ($i = 0; $i -lt $argv.Count - 1; $i++) {
        if ($argv[$i] -eq '-C' -and $argv[$i + 1] -eq $configPath) { return $true }
    }
    return $false
}

# --- Find and stop the Exim processes ---------------------------------------------------------
try {
    $binaryFile = Join-Path $WorkDirectory 'exim.binary'
    $binary = if (Test-Path -LiteralPath $binaryFile) { (& cat $binaryFile 2>$null | Select-Object -First 1) } else { '' }
    $binary = "$binary".Trim()
    if ($binary -and $IsLinux) {
        $isOurs = { param($p) Test-Ours $p $binary }
        $daemon = Read-PidFile (Join-Path $WorkDirectory 'exim.pid')
        $pids = [System.Collections.Generic.List[int]]::new()
        if (& $isOurs $daemon) { $pids.Add($daemon) }
        foreach ($n in Get-ProcIds) { if (-not $pids.Contains($n) -and (& $isOurs $n)) { $pids.Add($n) } }
        # A reception process forked while we were looking gets the same treatment (one more sweep).
        Stop-PeerProcess -Caller 'Stop-EximPeer' -What 'Exim process(es)' -Pids $pids -IsAlive $isOurs -TimeoutSeconds $TimeoutSeconds -Rescan { @(Get-ProcIds | Where-Object { & $isOurs $_ }) }
    }
}
catch {
    Write-Warning "Stop-EximPeer: stopping Exim failed: $_"
}

# --- Remove the work directory ----------------------------------------------------------------
Remove-PeerWorkDirectory -Caller 'Stop-EximPeer' -WorkDirectory $WorkDirectory -Marker '.exim-peer' -KeepVariable 'EXIM_PEER_KEEP'
$global:LASTEXITCODE = 0
