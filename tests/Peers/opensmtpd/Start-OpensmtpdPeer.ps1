#Requires -Version 7.0
<#
.SYNOPSIS
    Starts a private OpenSMTPD 6.8.0p2 (Debian bookworm's opensmtpd, extracted, not installed) on
    127.0.0.1 as an SMTP AUTH test peer.

.DESCRIPTION
    OpenSMTPD is a system MTA (Provides/Conflicts mail-transport-agent): 'apt-get install opensmtpd'
    would remove postfix, which the Postfix peer and CI need. So, as for Exim, the package is never
    installed: Get-ExtractedDebTree (../PeerTools.ps1) fetches it with 'apt-get download' into a
    cache (-CacheDirectory) and extracts it with 'dpkg-deb -x'; the extracted usr/sbin/smtpd runs
    in the foreground ('smtpd -d -f <WorkDirectory>/etc/smtpd.conf').

    OpenSMTPD's queue (/var/spool/smtpd) and its chroot (/var/lib/opensmtpd/empty, the home of its
    user) are compiled in. The daemon runs in a private mount namespace (unshare --mount, as root)
    in which WorkDirectory/spool is bind-mounted on /var/spool and WorkDirectory/varlib on
    /var/lib: it sees only its own queue and chroot, and nothing is created under /var on the
    machine. Other processes never see these mounts.

    What it changes on the machine, apart from the cache and the work directory:
      - the system accounts 'opensmtpd' and 'opensmtpq' (users and groups), created with useradd
        when missing, as the package's postinst would (Debian's build of smtpd looks them up by
        these names; upstream calls them _smtpd and _smtpq);
      - the shared libraries smtpd needs (lib* of its Depends), installed with apt-get when
        missing; they do not conflict with postfix.

    Configuration (smtpd.conf(5)): one credentials table (file, 'user $6$hash' as smtpctl encrypt
    makes it; the extracted usr/libexec/opensmtpd/encrypt computes it, password on stdin), one
    'senders' table (alice may use alice@example.test only), a self-signed test certificate, and:
      +0 startTlsPort     listen ... tls pki localhost auth <creds> senders <allowed>  (STARTTLS)
      +1 implicitTlsPort  listen ... smtps pki localhost auth <creds> senders <allowed> (TLS on connect)
    'auth' makes AUTH mandatory; OpenSMTPD advertises AUTH only on a TLS session. Messages would go
    to a relay on BasePort + 2 that nothing listens on (nothing is ever delivered).

    KNOWN LIMIT, on purpose kept as the peer's behaviour: Debian 12's OpenSMTPD 6.8.0p2 cannot
    complete a TLS handshake as a server with OpenSSL 3: the privilege-separated process that
    signs the handshake has no private key ("rsa routines::missing private key", "EVP lib" in its
    log) and the client gets the alert 'internal error' (OpenSMTPD/OpenSMTPD#1171 and #1239). So
    this peer never gets as far as AUTH; it is the real server of that bug, for the client side of
    it. Its log (WorkDirectory/log/smtpd.log) records every failed command with its arguments.

    One user, 'alice', with a random password new on every start (peer.json, mode 0600). Throws
    an error whose message starts with 'PEER-UNAVAILABLE:' when the peer cannot be provided on this
    machine (not Linux, not root, no dpkg/apt-get/unshare, the package cannot be downloaded).

.EXAMPLE
    $peer = ./tests/Peers/opensmtpd/Start-OpensmtpdPeer.ps1 -WorkDirectory /tmp/opensmtpdpeer -Verbose
    ./tests/Peers/opensmtpd/Stop-OpensmtpdPeer.ps1 -WorkDirectory $peer.workDirectory
#>
[CmdletBinding()]
param(
    [string] $WorkDirectory,
    # Ports BasePort .. BasePort+2; this project gives the OpenSMTPD peer 26040-26049.
    [ValidateRange(1024, 65532)]
    [int] $BasePort = 26040,
    [ValidateRange(5, 600)]
    [int] $StartTimeoutSeconds = 30,
    [string] $CacheDirectory = $(if ($env:OPENSMTPD_PEER_CACHE) { $env:OPENSMTPD_PEER_CACHE } else { '/var/cache/smtpauth-peers/opensmtpd' })
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$Packages = @('opensmtpd')
$Accounts = @('opensmtpd', 'opensmtpq')   # Debian's SMTPD_USER / SMTPD_QUEUE_USER
$UserName = 'alice'
$MarkerName = '.opensmtpd-peer'

. "$PSScriptRoot/../PeerTools.ps1"

$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Write-Phase([string] $What) { Write-Verbose ('[{0,6} ms] {1}' -f $clock.ElapsedMilliseconds, $What) }
function Set-Mode([string] $Mode, [string] $Path) { Invoke-Tool chmod @($Mode, $Path) | Out-Null }
function Set-Owner([string] $Owner, [string] $Path) { Invoke-Tool chown @($Owner, $Path) | Out-Null }

function Assert-Prerequisites {
    if (-not $IsLinux) { Stop-Unavailable 'the OpenSMTPD peer needs Linux (Debian package opensmtpd, mount namespaces).' }
    $uid = "$(& id -u 2>$null)".Trim()
    if ($uid -ne '0') { Stop-Unavailable "the OpenSMTPD peer must run as root (smtpd binds and drops privileges itself; unshare --mount); current uid is $uid." }
    foreach ($tool in 'dpkg-deb', 'dpkg-query', 'apt-get', 'unshare', 'mount', 'openssl') {
        if (-not (Get-Command $tool -ErrorAction SilentlyContinue)) { Stop-Unavailable "$tool not found: cannot fetch and run opensmtpd here." }
    }
}

function Assert-Accounts {
    foreach ($name in $Accounts) {
        & getent passwd $name *> $null
        if ($LASTEXITCODE -eq 0) { continue }
        Write-Verbose "Creating the system account $name (as opensmtpd's postinst would)"
        Invoke-Tool useradd @('--system', '--user-group', '--home-dir', '/var/lib/opensmtpd/empty', '--no-create-home', '--shell', '/usr/sbin/nologin', $name) | Out-Null
    }
}

# ---------------------------------------------------------------------------------------------
Assert-Prerequisites
$tree = Get-ExtractedDebTree -Packages $Packages -CacheDirectory $CacheDirectory -DependsPackage 'opensmtpd'
$binary = Join-Path $tree 'usr/sbin/smtpd'
$encrypt = Join-Path $tree 'usr/libexec/opensmtpd/encrypt'
Install-DebLibraries -Tree $tree -Binary $binary
Assert-Accounts
Write-Phase 'smtpd binary ready'

$stopScript = Join-Path $PSScriptRoot 'Stop-OpensmtpdPeer.ps1'
$WorkDirectory = Resolve-PeerWorkDirectory -WorkDirectory $WorkDirectory -Prefix 'opensmtpd-peer-' -MarkerName $MarkerName -StartName 'Start-OpensmtpdPeer.ps1' -StopScript $stopScript
if ($WorkDirectory -match '[\s"''\\$]') { throw "WorkDirectory must not contain white space, quotes, \ or `$ (smtpd.conf values): '$WorkDirectory'" }

$ports = [ordered]@{ startTlsPort = $BasePort; implicitTlsPort = $BasePort + 1; relayPort = $BasePort + 2 }
foreach ($p in $ports.GetEnumerator()) { Assert-PortFree $p.Value $p.Key }

# --- Layout -----------------------------------------------------------------------------------
$etcDir = Join-Path $WorkDirectory 'etc'
$logDir = Join-Path $WorkDirectory 'log'
$spoolDir = Join-Path $WorkDirectory 'spool'         # mounted on /var/spool in smtpd's namespace
$varLibDir = Join-Path $WorkDirectory 'varlib'       # mounted on /var/lib in smtpd's namespace
$chrootDir = Join-Path $varLibDir 'opensmtpd/empty'
$configPath = Join-Path $etcDir 'smtpd.conf'
$credsPath = Join-Path $etcDir 'creds'
$sendersPath = Join-Path $etcDir 'senders'
$certPath = Join-Path $WorkDirectory 'cert.pem'
$keyPath = Join-Path $WorkDirectory 'key.pem'
$logPath = Join-Path $logDir 'smtpd.log'
$runScript = Join-Path $WorkDirectory 'run.sh'
$peerJson = Join-Path $WorkDirectory 'peer.json'

foreach ($d in @($WorkDirectory, $etcDir, $logDir, $spoolDir, $varLibDir, (Join-Path $varLibDir 'opensmtpd'), $chrootDir)) {
    [void][System.IO.Directory]::CreateDirectory($d)
    Set-Owner 'root:root' $d
    Set-Mode '0755' $d
}
[System.IO.File]::WriteAllText((Join-Path $WorkDirectory $MarkerName), "Start-OpensmtpdPeer.ps1`n")
[System.IO.File]::WriteAllText((Join-Path $WorkDirectory 'smtpd.binary'), "$binary`n")

$thumbprint = New-PeerCertificate -CertPath $certPath -KeyPath $keyPath
Set-Mode '0644' $certPath
Write-Phase 'certificate generated'

$password = New-RandomString
$r = Invoke-Bounded -FilePath $encrypt -InputText $password -TimeoutSeconds 30
$hash = $r.StdOut.Trim()
if ($r.ExitCode -ne 0 -or $hash -notmatch '^\$6\$') { throw "$encrypt failed ($($r.ExitCode)): $($r.StdErr.Trim())" }
[System.IO.File]::WriteAllText($credsPath, "$UserName $hash`n")
Set-Owner 'root:opensmtpd' $credsPath
Set-Mode '0640' $credsPath
[System.IO.File]::WriteAllText($sendersPath, "$UserName alice@example.test`n")
Set-Mode '0644' $sendersPath

@"
# Generated by Start-OpensmtpdPeer.ps1 - private OpenSMTPD (smtpd -d -f $configPath).
pki localhost cert "$certPath"
pki localhost key "$keyPath"
table creds file:$credsPath
table allowed file:$sendersPath
listen on 127.0.0.1 port $($ports.startTlsPort) tls pki localhost auth <creds> senders <allowed> hostname peer.example.test
listen on 127.0.0.1 port $($ports.implicitTlsPort) smtps pki localhost auth <creds> senders <allowed> hostname peer.example.test
action "relay" relay host smtp://127.0.0.1:$($ports.relayPort)
match auth from any for any action "relay"
"@ | Set-Content -LiteralPath $configPath -Encoding ascii
Set-Mode '0644' $configPath
$check = Invoke-Bounded -FilePath $binary -Arguments @('-n', '-f', $configPath) -TimeoutSeconds 30
if ($check.ExitCode -ne 0) { throw "smtpd -n -f $configPath failed ($($check.ExitCode)):`n$($check.Output)" }

# The daemon's own process: a private mount namespace with the work directory's spool and chroot on /var/spool and
# /var/lib, then smtpd in the foreground (-d) with its log on stderr (-v: debug lines too, the TLS errors among them).
@"
#!/bin/sh
# Generated by Start-OpensmtpdPeer.ps1; runs inside 'unshare --mount --propagation private'.
mount --bind '$spoolDir' /var/spool || exit 1
mount --bind '$varLibDir' /var/lib || exit 1
exec '$binary' -dv -f '$configPath'
"@ | Set-Content -LiteralPath $runScript -Encoding ascii
Set-Mode '0755' $runScript
Write-Phase 'configuration written and checked'

# --- Start ------------------------------------------------------------------------------------
$started = $false
try {
    # unshare execs run.sh, which execs smtpd: the pid printed here is smtpd's parent process.
    $spawn = & /bin/sh -c 'cd "$1" || exit 1; log="$2"; shift 2; "$@" </dev/null >>"$log" 2>&1 & echo $!' sh $WorkDirectory $logPath 'unshare' '--mount' '--propagation' 'private' $runScript
    [System.IO.File]::WriteAllText((Join-Path $WorkDirectory 'smtpd.pid'), "$spawn".Trim() + "`n")
    $deadline = [DateTime]::UtcNow.AddSeconds($StartTimeoutSeconds)
    # The STARTTLS port greets in clear; the TLS-on-connect one can only be checked for a TCP accept (see KNOWN LIMIT).
    while (-not ((Test-SmtpGreeting -Port $ports.startTlsPort) -and (Test-TcpAccept $ports.implicitTlsPort))) {
        if ([DateTime]::UtcNow -gt $deadline) {
            throw "OpenSMTPD did not answer on $($ports.startTlsPort) and $($ports.implicitTlsPort) within $StartTimeoutSeconds s.`n$((Get-Content -LiteralPath $logPath -Tail 20 -ErrorAction SilentlyContinue) -join "`n")"
        }
        Start-Sleep -Milliseconds 100
    }
    $version = [regex]::Match((Get-Content -LiteralPath $logPath -Raw), 'info: OpenSMTPD (\S+) starting').Groups[1].Value
    Write-Phase "OpenSMTPD $version answers"
    $started = $true
}
finally {
    if (-not $started) {
        $saved = $env:OPENSMTPD_PEER_KEEP
        try { $env:OPENSMTPD_PEER_KEEP = '1'; & $stopScript -WorkDirectory $WorkDirectory } finally { $env:OPENSMTPD_PEER_KEEP = $saved }
    }
}

$result = [ordered]@{
    host                  = '127.0.0.1'
    startTlsPort          = $ports.startTlsPort
    implicitTlsPort       = $ports.implicitTlsPort
    user                  = $UserName
    password              = $password
    opensmtpdVersion      = $version
    certificatePath       = $certPath
    certificateThumbprint = $thumbprint
    logPath               = $logPath
    workDirectory         = $WorkDirectory
}
[System.IO.File]::WriteAllText($peerJson, ($result | ConvertTo-Json))
Set-Mode '0600' $peerJson

$typeName = 'SmtpAuthTroubleshooter.Tests.OpensmtpdPeer'
Update-TypeData -TypeName $typeName -DefaultDisplayPropertySet host, startTlsPort, implicitTlsPort, user, opensmtpdVersion, workDirectory -Force
$obj = [pscustomobject]$result
$obj.PSObject.TypeNames.Insert(0, $typeName)
$obj
