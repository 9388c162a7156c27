#Requires -Version 7.0
<#
.SYNOPSIS
    Stops the smtp4dev processes started by Start-Smtp4devPeer.ps1 in -WorkDirectory and removes it.

.DESCRIPTION
    Finds the processes through the pid files in WorkDirectory/run and, to catch a process whose pid
    file was never written, by scanning /proc for a command line with
    '--baseappdatapath=<WorkDirectory>/...'. A process is only touched when its command line has that
    argument (guards against pid reuse and never matches another run or a smtp4dev started by hand).
    Its descendants (smtp4dev normally has none) are included.

    SIGTERM first (smtp4dev shuts down gracefully in about 2 s), wait up to -TimeoutSeconds, then
    SIGKILL whatever is left and wait up to 3 s more. Never throws: problems are reported with
    Write-Warning.

    Then deletes WorkDirectory (logs, peer.json with the passwords, certificate, settings) unless
    $env:SMTP4DEV_PEER_KEEP is '1'. A directory without Start-Smtp4devPeer.ps1's marker file
    '.smtp4dev-peer' is never deleted.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $WorkDirectory,
    [ValidateRange(1, 120)]
    [int] $TimeoutSeconds = 15
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Continue'

. "$PSScriptRoot/../PeerTools.ps1"

function Get-CmdLine([int] $ProcId) {
    try { return @([System.IO.File]::ReadAllText("/proc/$ProcId/cmdline").Split([char]0)) } catch { return @() }
}

function Test-Ours([int] $ProcId) {
    if ($ProcId -le 1 -or -not (Get-ProcStat $ProcId)) { return $false }
    foreach ($arg in Get-CmdLine $ProcId) {
        if ($arg.StartsWith($script:ArgPrefix, [StringComparison]::Ordinal)) { return $true }
    }
    return $false
}

function Get-Targets {
    # Our smtp4dev processes plus their descendants.
    $all = @(Get-ProcIds)
    $roots = [System.Collections.Generic.HashSet[int]]::new()
    foreach ($f in @(Get-ChildItem -LiteralPath (Join-Path $WorkDirectory 'run') -Filter '*.pid' -ErrorAction SilentlyContinue)) {
        $procId = Read-PidFile $f.FullName
        if (Test-Ours $procId) { [void]$roots.Add($procId) }
    }
    foreach ($procId in $all) { if (Test-Ours $procId) { [void]$roots.Add($procId) } }

    $result = [System.Collections.Generic.HashSet[int]]::new($roots)
    $parents = @{}
    foreach ($procId in $all) { $s = Get-ProcStat $procId; if ($s) { $parents[$procId] = $s.PPid } }
    $grew = $true
    while ($grew) {
        $grew = $false
        foreach ($kv in $parents.GetEnumerator()) {
            if ($result.Contains($kv.Value) -and $result.Add($kv.Key)) { $grew = $true }
        }
    }
    return @($result)
}

try {
    $WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory).TrimEnd('/')
    $script:ArgPrefix = "--baseappdatapath=$WorkDirectory/"
}
catch {
    Write-Warning "Stop-Smtp4devPeer: bad WorkDirectory '$WorkDirectory': $_"
    return
}

try {
    $targets = @(Get-Targets)
    if ($targets.Count -gt 0) {
        Write-Verbose "Stop-Smtp4devPeer: SIGTERM to $($targets -join ', ')"
        foreach ($p in $targets) { & kill -TERM $p 2>&1 | Out-Null }
        $left = @(Wait-ProcessesGone -Pids $targets -Seconds $TimeoutSeconds)
        if ($left.Count -gt 0) {
            Write-Warning "Stop-Smtp4devPeer: $($left -join ', ') still running $TimeoutSeconds s after SIGTERM; sending SIGKILL."
            foreach ($p in $left) { & kill -KILL $p 2>&1 | Out-Null }
            $left = @(Wait-ProcessesGone -Pids $left -Seconds 3)
            if ($left.Count -gt 0) { Write-Warning "Stop-Smtp4devPeer: $($left -join ', ') survived SIGKILL." }
        }
    }
}
catch {
    Write-Warning "Stop-Smtp4devPeer: stopping smtp4dev failed: $_"
}

try {
    if ($env:SMTP4DEV_PEER_KEEP -eq '1') {
        Write-Verbose "Stop-Smtp4devPeer: keeping $WorkDirectory (SMTP4DEV_PEER_KEEP=1)"
    }
    elseif (Test-Path -LiteralPath $WorkDirectory) {
        if (Test-Path -LiteralPath (Join-Path $WorkDirectory '.smtp4dev-peer')) {
            Remove-Item -LiteralPath $WorkDirectory -Recurse -Force -ErrorAction Stop
        }
        else {
            Write-Warning "Stop-Smtp4devPeer: not deleting '$WorkDirectory': it has no .smtp4dev-peer marker."
        }
    }
}
catch {
    Write-Warning "Stop-Smtp4devPeer: could not delete '$WorkDirectory': $_"
}
$global:LASTEXITCODE = 0
