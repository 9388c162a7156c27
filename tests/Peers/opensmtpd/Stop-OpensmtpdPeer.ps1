#Requires -Version 7.0
<#
.SYNOPSIS
    Stops the private OpenSMTPD started by Start-OpensmtpdPeer.ps1 in -WorkDirectory and removes
    the work directory.

.DESCRIPTION
    Ours = a live process whose executable is the extracted smtpd named in
    WorkDirectory/smtpd.binary and that is either the parent (its command line has
    '-f <WorkDirectory>/etc/smtpd.conf'; pid in smtpd.pid) or one of the parent's children (the
    privilege-separated processes, 'smtpd: queue' and so on). That rules out another run's peer
    and pid reuse. SIGTERM to the parent (it ends its children), a bounded wait, then SIGKILL to
    whatever is left. The private mount namespace ends with its last process.

    Then removes WorkDirectory, unless $env:OPENSMTPD_PEER_KEEP is '1' or the directory lacks
    the '.opensmtpd-peer' marker. The download cache is left alone. Never throws. Idempotent.
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

try { $WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory).TrimEnd('/') }
catch { Write-Warning "Stop-OpensmtpdPeer: bad WorkDirectory '$WorkDirectory': $_"; return }
$configPath = Join-Path $WorkDirectory 'etc/smtpd.conf'

function Get-Exe([int] $ProcId) {
    try { return [string](Get-Item -LiteralPath "/proc/$ProcId/exe" -Force -ErrorAction Stop).LinkTarget } catch { return '' }
}
function Test-Parent([int] $ProcId, [string] $Binary) {
    if ($ProcId -le 1 -or -not (Get-ProcStat $ProcId) -or (Get-Exe $ProcId) -ne $Binary) { return $false }
    try { $argv = [System.IO.File]::ReadAllText("/proc/$ProcId/cmdline").TrimEnd([char]0).Split([char]0) } catch { return $false }
    for ($i = 0; $i -lt $argv.Count - 1; $i++) { if ($argv[$i] -eq '-f' -and $argv[$i + 1] -eq $configPath) { return $true } }
    return $false
}

try {
    $binaryFile = Join-Path $WorkDirectory 'smtpd.binary'
    $binary = if (Test-Path -LiteralPath $binaryFile) { "$(& cat $binaryFile 2>$null | Select-Object -First 1)".Trim() } else { '' }
    if ($binary -and $IsLinux) {
        $parents = [System.Collections.Generic.List[int]]::new()
        $n = Read-PidFile (Join-Path $WorkDirectory 'smtpd.pid')
        if (Test-Parent $n $binary) { $parents.Add($n) }
        foreach ($n in Get-ProcIds) { if (-not $parents.Contains($n) -and (Test-Parent $n $binary)) { $parents.Add($n) } }
        $children = @(Get-ProcIds | Where-Object { $s = Get-ProcStat $_; $s -and $parents.Contains($s.PPid) -and (Get-Exe $_) -eq $binary })
        $isOurs = { param($p) (Get-ProcStat $p) -and (Get-Exe $p) -eq $binary }
        Stop-PeerProcess -Caller 'Stop-OpensmtpdPeer' -What 'OpenSMTPD process(es)' -Pids @($parents) -IsAlive $isOurs -TimeoutSeconds $TimeoutSeconds -Rescan { @($children | Where-Object { & $isOurs $_ }) }
    }
}
catch {
    Write-Warning "Stop-OpensmtpdPeer: stopping OpenSMTPD failed: $_"
}

Remove-PeerWorkDirectory -Caller 'Stop-OpensmtpdPeer' -WorkDirectory $WorkDirectory -Marker '.opensmtpd-peer' -KeepVariable 'OPENSMTPD_PEER_KEEP'
$global:LASTEXITCODE = 0
