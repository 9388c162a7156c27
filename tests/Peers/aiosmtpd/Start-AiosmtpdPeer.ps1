#Requires -Version 7.0
<#
.SYNOPSIS
    Starts aiosmtpd (Debian's python3-aiosmtpd) on 127.0.0.1 as an SMTP AUTH test peer.

.DESCRIPTION
    One python3 process (server.py: one asyncio loop, one aiosmtpd UnthreadedController per
    listener) serves six listeners, by offset from -BasePort:
      +0 startTlsPort            STARTTLS; AUTH only after TLS (auth_require_tls=True): LOGIN PLAIN
      +1 implicitTlsPort         TLS on connect; LOGIN PLAIN (auth_require_tls=False, see README)
      +2 clearTextPort           no TLS at all; LOGIN PLAIN advertised and accepted in clear
      +3 authBeforeTlsPort       STARTTLS; LOGIN PLAIN advertised and accepted before TLS too
      +4 plainOnlyPort           STARTTLS; AUTH only after TLS: PLAIN (auth_exclude_mechanism LOGIN)
      +5 implicitTlsDefaultPort  TLS on connect with aiosmtpd's default auth_require_tls=True: no
                                 AUTH in EHLO and 538 to AUTH, although the session is encrypted
    Every listener has auth_required=True: MAIL/RCPT/DATA/VRFY/HELP before AUTH get 530 5.7.0.

    Users 'dave' and 'user@example.test', each with a random password new on every start.
    Everything lives under -WorkDirectory (config, certificate, pid file, events log, server log,
    peer.json).

    Uses the distribution's /usr/bin/python3 (python3-aiosmtpd installs into its dist-packages, which
    a pyenv or venv python3 on PATH does not see). Installs python3-aiosmtpd with apt-get when it is
    missing and this runs as root. Writes WorkDirectory/peer.json (mode 0600, contains the passwords)
    and returns the same data as an object whose default display omits the passwords.

    Throws an error whose message starts with 'PEER-UNAVAILABLE:' only when the peer cannot be
    provided on this machine: not Linux; no /usr/bin/python3 with aiosmtpd and no way to install it
    (not root, no apt-get, or apt-get could not install it); no openssl. Any other error is a real
    failure.

.EXAMPLE
    $peer = ./tests/Peers/aiosmtpd/Start-AiosmtpdPeer.ps1 -WorkDirectory /tmp/aiopeer
    ./tests/Peers/aiosmtpd/Stop-AiosmtpdPeer.ps1 -WorkDirectory $peer.workDirectory
#>
[CmdletBinding()]
param(
    [string] $WorkDirectory,
    # The six listeners take BasePort .. BasePort+5; this project gives the aiosmtpd peer 26000-26019 (its Peer.Tests 26000, the module tests 26010).
    [ValidateRange(1024, 65530)]
    [int] $BasePort = 26000,
    [ValidateRange(5, 600)]
    [int] $StartTimeoutSeconds = 30,
    # Safety net: the python3 process exits by itself after this long, even if nobody stops it.
    [ValidateRange(1, 1440)]
    [int] $MaxLifetimeMinutes = 120
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$PeerRoot = $PSScriptRoot
$MarkerName = '.aiosmtpd-peer'
# Debian's interpreter: python3-aiosmtpd lives in /usr/lib/python3/dist-packages.
$Python = '/usr/bin/python3'
$Package = 'python3-aiosmtpd'

. "$PSScriptRoot/../PeerTools.ps1"

function Get-AiosmtpdVersion {
    # aiosmtpd's version as /usr/bin/python3 imports it, or $null when it cannot import it.
    if (-not (Test-Path -LiteralPath $Python)) { return $null }
    $r = Invoke-Bounded -FilePath $Python -Arguments @('-I', '-c', 'import aiosmtpd, aiosmtpd.controller, aiosmtpd.smtp; print(aiosmtpd.__version__)') -TimeoutSeconds 60
    if ($r.ExitCode -ne 0) { return $null }
    return $r.StdOut.Trim()
}

function Install-Aiosmtpd {
    # apt-get install python3-aiosmtpd (it depends on python3, so this brings /usr/bin/python3 too).
    if (-not (Get-Command apt-get -CommandType Application -ErrorAction SilentlyContinue)) {
        Stop-Unavailable "$Python cannot import aiosmtpd and apt-get is not available to install $Package."
    }
    $uid = "$(& id -u 2>$null)".Trim()
    if ($uid -ne '0') { Stop-Unavailable "$Python cannot import aiosmtpd and installing $Package needs root (uid is $uid)." }
    Write-Verbose "apt-get install $Package"
    # Wait for another apt/dpkg run (another peer's start script, say) instead of failing on its lock.
    $lockWait = @('-o', 'DPkg::Lock::Timeout=240')
    $environment = @{ DEBIAN_FRONTEND = 'noninteractive' }
    $update = Invoke-Bounded -FilePath 'apt-get' -Arguments (@('update', '-qq') + $lockWait) -Environment $environment -TimeoutSeconds 300
    if ($update.ExitCode -ne 0) { Stop-Unavailable "apt-get update failed, so $Package cannot be installed:`n$((($update.Output -split "`n") | Select-Object -Last 8) -join "`n")" }
    $install = Invoke-Bounded -FilePath 'apt-get' -Arguments (@('install', '-y', '-qq', '--no-install-recommends') + $lockWait + @($Package)) -Environment $environment -TimeoutSeconds 600
    if ($install.ExitCode -ne 0) { Stop-Unavailable "apt-get install $Package failed:`n$((($install.Output -split "`n") | Select-Object -Last 8) -join "`n")" }
}

function Assert-Prerequisites {
    if (-not $IsLinux) { Stop-Unavailable 'the aiosmtpd peer needs Linux (Debian''s python3-aiosmtpd, /bin/sh to detach python3, /proc to find and stop it).' }
    if (-not (Get-Command openssl -CommandType Application -ErrorAction SilentlyContinue)) {
        Stop-Unavailable "'openssl' was not found on PATH (the aiosmtpd peer makes its self-signed certificate with it)."
    }
    $version = Get-AiosmtpdVersion
    if (-not $version) {
        Install-Aiosmtpd
        $version = Get-AiosmtpdVersion
        if (-not $version) { throw "apt-get installed $Package, but '$Python -c ""import aiosmtpd""' still fails." }
    }
    return $version
}

function Set-Mode([string] $Mode, [string] $Path) {
    $r = Invoke-Bounded -FilePath 'chmod' -Arguments @($Mode, $Path) -TimeoutSeconds 10
    if ($r.ExitCode -ne 0) { throw "chmod $Mode $Path failed: $($r.Output)" }
}

# ---------------------------------------------------------------------------------------------
$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Write-Phase([string] $What) { Write-Verbose ('[{0,6} ms] {1}' -f $clock.ElapsedMilliseconds, $What) }

$aiosmtpdVersion = Assert-Prerequisites
Write-Phase "aiosmtpd $aiosmtpdVersion importable by $Python; openssl present"

$stopScript = Join-Path $PeerRoot 'Stop-AiosmtpdPeer.ps1'
$serverPy = Join-Path $PeerRoot 'server.py'
# A previous peer in this work directory is stopped first (which also removes the directory); a directory that is
# neither empty nor ours is refused.
$WorkDirectory = Resolve-PeerWorkDirectory -WorkDirectory $WorkDirectory -Prefix 'aiosmtpd-peer-' -MarkerName $MarkerName -StartName 'Start-AiosmtpdPeer.ps1' -StopScript $stopScript
Write-Phase 'previous instance (if any) stopped'

$ports = [ordered]@{
    startTlsPort           = $BasePort
    implicitTlsPort        = $BasePort + 1
    clearTextPort          = $BasePort + 2
    authBeforeTlsPort      = $BasePort + 3
    plainOnlyPort          = $BasePort + 4
    implicitTlsDefaultPort = $BasePort + 5
}
foreach ($p in $ports.GetEnumerator()) { Assert-PortFree $p.Value $p.Key }

# --- Layout -----------------------------------------------------------------------------------
$logDir = Join-Path $WorkDirectory 'log'
$certPath = Join-Path $WorkDirectory 'cert.pem'
$keyPath = Join-Path $WorkDirectory 'key.pem'
$configPath = Join-Path $WorkDirectory 'config.json'
$pidPath = Join-Path $WorkDirectory 'server.pid'
$eventsPath = Join-Path $WorkDirectory 'events.jsonl'
$serverLog = Join-Path $logDir 'server.log'
$peerJson = Join-Path $WorkDirectory 'peer.json'

[void][System.IO.Directory]::CreateDirectory($WorkDirectory)
Set-Mode '0700' $WorkDirectory
[System.IO.File]::WriteAllText((Join-Path $WorkDirectory $MarkerName), "Created by Start-AiosmtpdPeer.ps1; Stop-AiosmtpdPeer.ps1 deletes this directory.`n")
[void][System.IO.Directory]::CreateDirectory($logDir)

$started = $false
$serverPid = 0
try {
    # --- Certificate (self-signed, CN=localhost, SAN DNS:localhost + IP:127.0.0.1) ------------
    $thumbprint = New-PeerCertificate -CertPath $certPath -KeyPath $keyPath -TimeoutSeconds 60
    Write-Phase 'certificate generated'

    # --- Credentials and config ---------------------------------------------------------------
    $users = [ordered]@{
        'dave'              = New-RandomString
        'user@example.test' = New-RandomString
    }
    $config = [ordered]@{
        ports              = $ports
        users              = $users
        certPath           = $certPath
        keyPath            = $keyPath
        eventsPath         = $eventsPath
        maxLifetimeSeconds = $MaxLifetimeMinutes * 60
    }
    [System.IO.File]::WriteAllText($configPath, '')
    Set-Mode '0600' $configPath
    [System.IO.File]::WriteAllText($configPath, ($config | ConvertTo-Json -Depth 5))
    Write-Phase 'configuration written'

    # --- Start python3 detached ---------------------------------------------------------------
    # /bin/sh starts python3 in the background with stdin from /dev/null and stdout/stderr appended
    # to the log, and prints its pid. python3 never holds one of PowerShell's pipes, so neither this
    # call nor the caller's pipeline waits for it. -I: isolated mode (no PYTHON* variables, no user
    # site-packages), so only Debian's aiosmtpd can be imported.
    $spawn = & /bin/sh -c 'cd "$1" || exit 1; log="$2"; shift 2; "$@" </dev/null >>"$log" 2>&1 & echo $!' sh $PeerRoot $serverLog $Python '-I' $serverPy $configPath
    if ($LASTEXITCODE -ne 0 -or -not [int]::TryParse("$spawn".Trim(), [ref]$serverPid)) { throw "Could not start python3: $spawn" }
    [System.IO.File]::WriteAllText($pidPath, "$serverPid`n")
    Write-Phase "python3 started (pid $serverPid)"

    # Ready = server.py wrote its 'listening' event (every listener is bound and listening by then),
    # the process is ours, and every port accepts TCP.
    $deadline = [DateTime]::UtcNow.AddSeconds($StartTimeoutSeconds)
    $argvTail = @($serverPy, $configPath)
    while ($true) {
        $state = Get-ProcessState $serverPid $argvTail   # 'other' until the forked sh has exec'ed python3
        if ($state -eq 'gone') {
            Start-Sleep -Milliseconds 100   # let the log be flushed
            $tail = Get-Content -LiteralPath $serverLog -Tail 20 -ErrorAction SilentlyContinue
            throw "python3 server.py (pid $serverPid) exited during start-up.`n$($tail -join "`n")"
        }
        if ($state -eq 'ours' -and (Test-Path -LiteralPath $eventsPath) -and
            (Select-String -LiteralPath $eventsPath -Pattern '"event": "listening"' -SimpleMatch -Quiet)) { break }
        if ([DateTime]::UtcNow -gt $deadline) {
            $tail = Get-Content -LiteralPath $serverLog -Tail 20 -ErrorAction SilentlyContinue
            throw "server.py did not report its listeners within $StartTimeoutSeconds s.`n$($tail -join "`n")"
        }
        Start-Sleep -Milliseconds 100
    }
    foreach ($p in $ports.GetEnumerator()) {
        if (-not (Test-TcpAccept $p.Value)) { throw "Port 127.0.0.1:$($p.Value) ($($p.Key)) does not accept TCP although server.py reported it listening." }
    }
    Write-Phase 'all six ports accept TCP'
    $started = $true
}
finally {
    if (-not $started) { & $stopScript -WorkDirectory $WorkDirectory }
}

# --- Result ----------------------------------------------------------------------------------
$result = [ordered]@{ host = '127.0.0.1' }
foreach ($p in $ports.GetEnumerator()) { $result[$p.Key] = $p.Value }
$result.users = $users
$result.eventsPath = $eventsPath
$result.pid = $serverPid
$result.workDirectory = $WorkDirectory
$result.certificatePath = $certPath
$result.certificateThumbprint = $thumbprint
$result.aiosmtpdVersion = $aiosmtpdVersion
$result.startMilliseconds = $clock.ElapsedMilliseconds

[System.IO.File]::WriteAllText($peerJson, '')
Set-Mode '0600' $peerJson
[System.IO.File]::WriteAllText($peerJson, ($result | ConvertTo-Json -Depth 5))

$typeName = 'SmtpAuthTroubleshooter.Tests.AiosmtpdPeer'
$display = @($result.Keys | Where-Object { $_ -ne 'users' }) + 'userNames'
Update-TypeData -TypeName $typeName -DefaultDisplayPropertySet $display -Force
$obj = [pscustomobject]$result
$obj | Add-Member -MemberType ScriptProperty -Name userNames -Value { @($this.users.Keys) }
$obj.PSObject.TypeNames.Insert(0, $typeName)
$obj
