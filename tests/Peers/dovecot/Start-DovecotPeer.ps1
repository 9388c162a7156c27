#Requires -Version 7.0
<#
.SYNOPSIS
    Starts a private Dovecot submission server (Debian bookworm's dovecot-submissiond 2.3.19) on
    loopback as an SMTP AUTH test peer.

.DESCRIPTION
    Dovecot's own SMTP submission service (submission-login + submission, RFC 6409): it
    authenticates the client with Dovecot's auth (passdb passwd-file here) and relays the message
    to submission_relay_host. The relay is a trivial local sink, Debian's aiosmtpd
    ('/usr/bin/python3 -u -m aiosmtpd -n', which prints and drops what it gets), so MAIL, RCPT and
    DATA work end to end and nothing leaves the box.

    A private instance: its own configuration file (dovecot -c), base_dir, state_dir, log and
    home under -WorkDirectory. Nothing under /etc is read or written (the system Dovecot, if any,
    is not touched; Debian's dovecot.service is never started), and the passdb is the start
    script's own passwd-file.

    Settings as real deployments have them: disable_plaintext_auth = yes (Dovecot's default),
    auth_mechanisms = -AuthMechanisms ('plain login' by default; Dovecot's own default is
    'plain'), ssl = yes with a self-signed test certificate (openssl), TLS 1.2 or later.
    auth_failure_delay is 0 and the per-IP auth penalty is off, so wrong-password tests are fast.

    Listeners, by offset from -BasePort (default 26020; this project gives the Dovecot peer
    26020-26039):
      +0 startTlsPort     127.0.0.1, STARTTLS (submission, 587-style)
      +1 implicitTlsPort  127.0.0.1, TLS on connect (submissions, 465-style)
      +2 remotePort       127.0.0.2, STARTTLS. Dovecot treats a client whose address equals the
                          server's (every 127.0.0.1 -> 127.0.0.1 session) as secured and lets it
                          authenticate in clear; a client at 127.0.0.1 talking to 127.0.0.2 is not,
                          so here disable_plaintext_auth applies as it does for a remote client:
                          'AUTH' without mechanisms before STARTTLS, and AUTH in clear refused.
      +3 relayPort        127.0.0.1, the aiosmtpd sink Dovecot relays to (not for clients)

    One user, 'alice' (a plain user name, not an address), with a random password new on every
    start. Writes WorkDirectory/peer.json (mode 0600, contains the password) and returns the same
    data as an object whose default display omits the password. The password is never printed.

    Must run as root (Dovecot's master binds and drops privileges itself). Installs
    dovecot-submissiond (and dovecot-core, python3-aiosmtpd, openssl) with apt-get when missing;
    dovecot-submissiond does not conflict with postfix. Throws an error whose message starts with
    'PEER-UNAVAILABLE:' when the peer cannot be provided on this machine (not Linux, not root, no
    dpkg/apt-get, the packages cannot be installed). Any other error is a real failure.

.EXAMPLE
    $peer = ./tests/Peers/dovecot/Start-DovecotPeer.ps1 -WorkDirectory /tmp/dovecotpeer -Verbose
    ./tests/Peers/dovecot/Stop-DovecotPeer.ps1 -WorkDirectory $peer.workDirectory
#>
[CmdletBinding()]
param(
    [string] $WorkDirectory,
    [ValidateRange(1024, 65532)]
    [int] $BasePort = 26020,
    [ValidateRange(5, 600)]
    [int] $StartTimeoutSeconds = 30,
    # Dovecot's auth_mechanisms.
    [ValidateSet('plain login', 'plain')]
    [string] $AuthMechanisms = 'plain login'
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$RequiredPackages = @('dovecot-core', 'dovecot-submissiond', 'python3-aiosmtpd', 'openssl')
$Python = '/usr/bin/python3'   # Debian's: python3-aiosmtpd lives in its dist-packages
$UserName = 'alice'
$MarkerName = '.dovecot-peer'
$RemoteAddress = '127.0.0.2'

. "$PSScriptRoot/../PeerTools.ps1"

$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Write-Phase([string] $What) { Write-Verbose ('[{0,6} ms] {1}' -f $clock.ElapsedMilliseconds, $What) }
function Set-Mode([string] $Mode, [string] $Path) { Invoke-Tool chmod @($Mode, $Path) | Out-Null }
function Set-Owner([string] $Owner, [string] $Path) { Invoke-Tool chown @($Owner, $Path) | Out-Null }

function Assert-Prerequisites {
    if (-not $IsLinux) { Stop-Unavailable 'the Dovecot peer needs Linux (Debian packages dovecot-core, dovecot-submissiond).' }
    $uid = "$(& id -u 2>$null)".Trim()
    if ($uid -ne '0') { Stop-Unavailable "the Dovecot peer must run as root (Dovecot's master binds and drops privileges itself); current uid is $uid." }
    if (-not (Get-Command dpkg-query -ErrorAction SilentlyContinue)) { Stop-Unavailable 'dpkg-query not found: this is not a Debian-based system, cannot check or install dovecot-submissiond.' }
    $missing = @($RequiredPackages | Where-Object { -not (Test-PackageInstalled $_) })
    if ($missing.Count -eq 0) { return }
    if (-not (Get-Command apt-get -ErrorAction SilentlyContinue)) { Stop-Unavailable "missing packages $($missing -join ', ') and no apt-get to install them." }
    Write-Verbose "Installing $($missing -join ', ')"
    # policy-rc.d-less machines would start the system dovecot.service on install; that instance is not ours and not
    # needed, but it is the package's own behaviour, as it is for the Postfix peer's dovecot-core.
    $arguments = @('install', '-y', '-qq', '--no-install-recommends') + $missing
    $r = Invoke-Bounded -FilePath 'apt-get' -Arguments $arguments -TimeoutSeconds 300 -Environment @{ DEBIAN_FRONTEND = 'noninteractive' }
    if ($r.ExitCode -ne 0) {
        $null = Invoke-Bounded -FilePath 'apt-get' -Arguments @('update', '-qq') -TimeoutSeconds 300 -Environment @{ DEBIAN_FRONTEND = 'noninteractive' }
        $r = Invoke-Bounded -FilePath 'apt-get' -Arguments $arguments -TimeoutSeconds 300 -Environment @{ DEBIAN_FRONTEND = 'noninteractive' }
    }
    $still = @($RequiredPackages | Where-Object { -not (Test-PackageInstalled $_) })
    if ($still.Count -gt 0) { Stop-Unavailable "apt-get could not install $($still -join ', '): $((($r.Output -split "`n") | Select-Object -Last 3) -join ' | ')" }
}

function Get-Sha512Crypt([string] $Password) {
    # crypt(3) SHA-512 ($6$...), Dovecot's SHA512-CRYPT scheme; the password goes to openssl on stdin, never argv.
    $r = Invoke-Bounded -FilePath 'openssl' -Arguments @('passwd', '-6', '-stdin') -InputText "$Password`n" -TimeoutSeconds 30
    $hash = $r.StdOut.Trim()
    if ($r.ExitCode -ne 0 -or $hash -notmatch '^\$6\$') { throw "openssl passwd -6 failed ($($r.ExitCode)): $($r.StdErr.Trim())" }
    return $hash
}

# ---------------------------------------------------------------------------------------------
Assert-Prerequisites
Write-Phase 'packages present'

$stopScript = Join-Path $PSScriptRoot 'Stop-DovecotPeer.ps1'
$WorkDirectory = Resolve-PeerWorkDirectory -WorkDirectory $WorkDirectory -Prefix 'dovecot-peer-' -MarkerName $MarkerName -StartName 'Start-DovecotPeer.ps1' -StopScript $stopScript
if ($WorkDirectory -match '[\s"{}%$\\]') { throw "WorkDirectory must not contain white space or any of "" { } % $ \ (Dovecot configuration values): '$WorkDirectory'" }
# Dovecot's unprivileged processes (auth as dovenull/dovecot, submission as nobody) open files under WorkDirectory.
$ancestor = [System.IO.Path]::GetDirectoryName($WorkDirectory)
while ($ancestor) {
    if ([System.IO.Directory]::Exists($ancestor) -and -not ([System.IO.File]::GetUnixFileMode($ancestor) -band [System.IO.UnixFileMode]::OtherExecute)) {
        throw "'$WorkDirectory' is not reachable by Dovecot's unprivileged users: '$ancestor' is not world-searchable (o+x). Use a directory under /tmp (the default)."
    }
    $ancestor = [System.IO.Path]::GetDirectoryName($ancestor)
}

$ports = [ordered]@{
    startTlsPort    = $BasePort
    implicitTlsPort = $BasePort + 1
    remotePort      = $BasePort + 2
    relayPort       = $BasePort + 3
}
foreach ($p in 'startTlsPort', 'implicitTlsPort', 'relayPort') { Assert-PortFree $ports[$p] $p }

# --- Layout -----------------------------------------------------------------------------------
$baseDir = Join-Path $WorkDirectory 'run'
$stateDir = Join-Path $WorkDirectory 'state'
$logDir = Join-Path $WorkDirectory 'log'
$homeDir = Join-Path $WorkDirectory 'home'
$configPath = Join-Path $WorkDirectory 'dovecot.conf'
$usersPath = Join-Path $WorkDirectory 'users'
$certPath = Join-Path $WorkDirectory 'cert.pem'
$keyPath = Join-Path $WorkDirectory 'key.pem'
$logPath = Join-Path $logDir 'dovecot.log'
$relayLog = Join-Path $logDir 'relay.log'
$peerJson = Join-Path $WorkDirectory 'peer.json'

foreach ($d in @($WorkDirectory, $baseDir, $stateDir, $logDir, $homeDir)) {
    [void][System.IO.Directory]::CreateDirectory($d)
    Set-Owner 'root:root' $d
    Set-Mode '0755' $d
}
[System.IO.File]::WriteAllText((Join-Path $WorkDirectory $MarkerName), "Start-DovecotPeer.ps1`n")   # Stop-DovecotPeer.ps1 deletes only a directory with this marker
# The submission process runs as the userdb's uid (nobody) and keeps its (unused) mail home here.
Set-Owner '65534:65534' $homeDir

$thumbprint = New-PeerCertificate -CertPath $certPath -KeyPath $keyPath
Set-Mode '0644' $certPath
Write-Phase 'certificate generated'

$password = New-RandomString
[System.IO.File]::WriteAllText($usersPath, "${UserName}:{SHA512-CRYPT}$(Get-Sha512Crypt $password)::::::`n")
Set-Owner 'root:dovecot' $usersPath
Set-Mode '0640' $usersPath

# --- Configuration ----------------------------------------------------------------------------
$instanceName = 'dovecot-peer-' + [Convert]::ToHexString([System.Security.Cryptography.SHA1]::HashData([System.Text.Encoding]::UTF8.GetBytes($WorkDirectory))).Substring(0, 8).ToLowerInvariant()
@"
# Generated by Start-DovecotPeer.ps1 - private Dovecot submission server (dovecot -c $configPath).
instance_name = $instanceName
base_dir = $baseDir
state_dir = $stateDir
log_path = $logPath
info_log_path = $logPath
debug_log_path = $logPath
protocols = submission
listen = 127.0.0.1
shutdown_clients = yes
hostname = submission.example.test

ssl = yes
ssl_cert = <$certPath
ssl_key = <$keyPath
ssl_min_protocol = TLSv1.2

# As real deployments: no AUTH in clear (Dovecot's default), PLAIN and LOGIN (or PLAIN only).
disable_plaintext_auth = yes
auth_mechanisms = $AuthMechanisms
auth_failure_delay = 0 secs
auth_verbose = yes
auth_cache_size = 0
passdb {
  driver = passwd-file
  args = username_format=%u $usersPath
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$homeDir/%u
}
mail_location = maildir:~/Maildir

# Submission relays every message to the local aiosmtpd sink.
submission_relay_host = 127.0.0.1
submission_relay_port = $($ports.relayPort)
submission_relay_ssl = no
submission_relay_trusted = yes

service submission-login {
  inet_listener submission {
    port = $($ports.startTlsPort)
  }
  inet_listener submissions {
    port = $($ports.implicitTlsPort)
    ssl = yes
  }
  inet_listener remote {
    address = $RemoteAddress
    port = $($ports.remotePort)
  }
}
service anvil {
  # mode 0 turns off the per-IP authentication penalty (up to 15 s after repeated failures).
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
"@ | Set-Content -LiteralPath $configPath -Encoding ascii
Set-Mode '0644' $configPath

$check = Invoke-Bounded -FilePath 'doveconf' -Arguments @('-c', $configPath, '-n') -TimeoutSeconds 30
if ($check.ExitCode -ne 0) { throw "doveconf -c $configPath -n failed ($($check.ExitCode)):`n$($check.Output)" }
$version = [regex]::Match($check.StdOut, '^# (\d+\.\d+\.\d+(?:\.\d+)?)').Groups[1].Value
Write-Phase "configuration written and checked (Dovecot $version)"

# --- Start the relay sink, then Dovecot --------------------------------------------------------
$started = $false
try {
    # aiosmtpd in the background (-u: unbuffered, so relay.log shows each message at once), stdin from /dev/null, output to relay.log; its working directory is WorkDirectory
    # (Stop-DovecotPeer.ps1 recognises it by that and its command line).
    $spawn = & /bin/sh -c 'cd "$1" || exit 1; log="$2"; shift 2; "$@" </dev/null >>"$log" 2>&1 & echo $!' sh $WorkDirectory $relayLog $Python '-u' '-m' 'aiosmtpd' '-n' '-l' "127.0.0.1:$($ports.relayPort)"
    [System.IO.File]::WriteAllText((Join-Path $WorkDirectory 'relay.pid'), "$spawn".Trim() + "`n")

    & /bin/sh -c 'log="$1"; shift; exec "$@" </dev/null >>"$log" 2>&1' sh (Join-Path $logDir 'start.log') 'dovecot' '-c' $configPath
    if ($LASTEXITCODE -ne 0) {
        $tail = foreach ($f in 'start.log', 'dovecot.log') { Get-Content -LiteralPath (Join-Path $logDir $f) -Tail 10 -ErrorAction SilentlyContinue }
        throw "'dovecot -c $configPath' exited with $LASTEXITCODE`n$($tail -join "`n")"
    }
    $deadline = [DateTime]::UtcNow.AddSeconds($StartTimeoutSeconds)
    $pending = [System.Collections.Generic.List[object]]::new()
    $pending.Add(@{ Port = $ports.startTlsPort; Tls = $false })
    $pending.Add(@{ Port = $ports.implicitTlsPort; Tls = $true })
    $pending.Add(@{ Port = $ports.relayPort; Tls = $false })
    while ($pending.Count -gt 0) {
        foreach ($x in @($pending)) { if (Test-SmtpGreeting -Port $x.Port -ImplicitTls:$x.Tls) { [void]$pending.Remove($x) } }
        if ($pending.Count -eq 0) { break }
        if ([DateTime]::UtcNow -gt $deadline) {
            $tail = foreach ($f in 'start.log', 'dovecot.log', 'relay.log') { Get-Content -LiteralPath (Join-Path $logDir $f) -Tail 15 -ErrorAction SilentlyContinue }
            throw "Ports $(($pending | ForEach-Object Port) -join ', ') did not answer 220 within $StartTimeoutSeconds s.`n$($tail -join "`n")"
        }
        Start-Sleep -Milliseconds 100
    }
    $masterPid = Read-PidFile (Join-Path $baseDir 'master.pid')
    if ($masterPid -le 1) { throw "Dovecot answers but wrote no pid file at $baseDir/master.pid." }
    # Dovecot deletes master.pid when it exits cleanly; the copy lets the stop script find leftovers after an unclean exit.
    [System.IO.File]::WriteAllText((Join-Path $WorkDirectory 'master.pid.saved'), "$masterPid`n")
    Write-Phase 'submission, submissions and the relay sink answer 220'
    $started = $true
}
finally {
    if (-not $started) {
        $saved = $env:DOVECOT_PEER_KEEP
        try { $env:DOVECOT_PEER_KEEP = '1'; & $stopScript -WorkDirectory $WorkDirectory } finally { $env:DOVECOT_PEER_KEEP = $saved }
    }
}

# --- Result ----------------------------------------------------------------------------------
$result = [ordered]@{
    host                  = '127.0.0.1'
    startTlsPort          = $ports.startTlsPort
    implicitTlsPort       = $ports.implicitTlsPort
    remoteHost            = $RemoteAddress
    remotePort            = $ports.remotePort
    relayPort             = $ports.relayPort
    authMechanisms        = $AuthMechanisms
    user                  = $UserName
    password              = $password
    dovecotVersion        = $version
    certificatePath       = $certPath
    certificateThumbprint = $thumbprint
    logPath               = $logPath
    relayLogPath          = $relayLog
    workDirectory         = $WorkDirectory
}
[System.IO.File]::WriteAllText($peerJson, ($result | ConvertTo-Json))
Set-Mode '0600' $peerJson

$typeName = 'SmtpAuthTroubleshooter.Tests.DovecotPeer'
Update-TypeData -TypeName $typeName -DefaultDisplayPropertySet host, startTlsPort, implicitTlsPort, remoteHost, remotePort, relayPort, authMechanisms, user, dovecotVersion, workDirectory -Force
$obj = [pscustomobject]$result
$obj.PSObject.TypeNames.Insert(0, $typeName)
$obj
