#requires -Version 7.4
<#
.SYNOPSIS
    Benchmark (not a test): 50 probes each of Test-SmtpAuth and swaks against the same Postfix STARTTLS port,
    connect + STARTTLS + AUTH LOGIN, then QUIT. Prints the median per probe and the ratio, measured side by side.
    Test-SmtpAuth runs in one session (how an admin or a runbook runs it); swaks is a process per probe (how it is
    used). Run with: dotnet pwsh ./build.ps1 Benchmark
#>
param([Parameter(Mandatory)][string] $ModulePath, [int] $Count = 50)
$ErrorActionPreference = 'Stop'
$peerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-bench-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
try {
    $peer = & "$PSScriptRoot/../Peers/postfix/Start-PostfixPeer.ps1" -WorkDirectory $peerDir -BasePort 25890
}
catch {
    Write-Output "Skipped: $($_.Exception.Message)"
    return
}
try {
    Import-Module $ModulePath -Force
    $cred = [pscredential]::new($peer.user, (ConvertTo-SecureString $peer.password -AsPlainText -Force))
    $probe = { Test-SmtpAuth -Credential $cred -Server 127.0.0.1 -Port $peer.startTlsPort -SkipCertificateCheck -WarningAction SilentlyContinue }
    $warm = & $probe
    if (-not $warm.Succeeded) { throw "Test-SmtpAuth warm-up failed: $($warm.Message)" }
    $ours = foreach ($i in 1..$Count) {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $r = & $probe
        $sw.Stop()
        if (-not $r.Succeeded) { throw "Test-SmtpAuth probe $i failed: $($r.Message)" }
        $sw.Elapsed.TotalMilliseconds
    }
    $peerJson = Join-Path $peerDir 'peer.json'
    $swaks = & "$PSScriptRoot/../Peers/postfix/Measure-Swaks.ps1" -PeerJson $peerJson -Count $Count
    $median = { param($v) $s = @($v | Sort-Object); if ($s.Count % 2) { $s[($s.Count - 1) / 2] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }
    $oursMedian = & $median $ours
    [pscustomobject]@{ Tool = 'Test-SmtpAuth (in session)'; Probes = $Count; MedianMs = [math]::Round($oursMedian, 1); MinMs = [math]::Round(($ours | Measure-Object -Minimum).Minimum, 1); MaxMs = [math]::Round(($ours | Measure-Object -Maximum).Maximum, 1) },
    [pscustomobject]@{ Tool = 'swaks (process per probe)'; Probes = $swaks.Count; MedianMs = [math]::Round($swaks.MedianMilliseconds, 1); MinMs = [math]::Round($swaks.MinMilliseconds, 1); MaxMs = [math]::Round($swaks.MaxMilliseconds, 1) } |
        Format-Table -AutoSize | Out-String | Write-Output
    'Median per probe: Test-SmtpAuth {0:F1} ms, swaks {1:F1} ms; ratio Test-SmtpAuth/swaks = {2:F2}' -f $oursMedian, $swaks.MedianMilliseconds, ($oursMedian / $swaks.MedianMilliseconds)
}
finally {
    & "$PSScriptRoot/../Peers/postfix/Stop-PostfixPeer.ps1" -WorkDirectory $peerDir
    Remove-Item -LiteralPath $peerDir -Recurse -Force -ErrorAction SilentlyContinue
}
