#Requires -Version 7.0
<#
.SYNOPSIS
    Starts a private Postfix + Dovecot SASL instance on 127.0.0.1 for SMTP AUTH tests.

.DESCRIPTION
    Everything (configuration, queue, data, pid files, sockets, logs, certificate, password)
    lives under -WorkDirectory, so the peer never touches a system Postfix/Dovecot and
    two runs with different work directories and base ports never collide.

    Listeners (all 127.0.0.1):
      BasePort     STARTTLS offered, AUTH only after STARTTLS (smtpd_tls_auth_only = yes)
      BasePort + 1 no STARTTLS at all, AUTH advertised in clear ("plaintext port")
      BasePort + 2 implicit TLS (smtpd_tls_wrappermode = yes)
      BasePort + 3 ... one STARTTLS listener per -ExtraListeners entry, in order (each with its own
                   master.cf -o overrides: another certificate, other TLS protocols, a client
                   certificate required); the result's 'listeners' maps each Name to its port

    Writes WorkDirectory/peer.json (mode 0600, contains the per-start random password) and
    returns the same data as an object. The password is never written to the console: the
    returned object's default display omits it.

    Throws an error whose message starts with 'PEER-UNAVAILABLE:' when the peer cannot be
    provided on this machine (not Linux, not root, packages missing and not installable).
    Any other error is a real failure.

    Must run as root (Postfix's master and Dovecot's master need it).

.EXAMPLE
    $peer = ./tests/Peers/postfix/Start-PostfixPeer.ps1 -WorkDirectory /tmp/peer1
    ./tests/Peers/postfix/Stop-PostfixPeer.ps1 -WorkDirectory $peer.workDirectory
#>
[CmdletBinding()]
param(
    [string] $WorkDirectory,
    [ValidateRange(1024, 65533)]
    [int] $BasePort = 25870,
    [ValidateRange(5, 600)]
    [int] $StartTimeoutSeconds = 30,
    # Dovecot's auth_failure_delay. 0 (default) keeps wrong-password tests fast and also turns off
    # Dovecot's per-IP auth penalty; Dovecot's own default is 2 s plus the penalty.
    [ValidateRange(0, 30)]
    [int] $AuthFailureDelaySeconds = 0,
    # More STARTTLS listeners, each @{ Name = 'word'; Options = [ordered]@{ postfix_parameter = 'value' } }: the
    # options become master.cf '-o' overrides of that smtpd (values without whitespace), logged as postfix-peer/<Name>.
    [hashtable[]] $ExtraListeners = @()
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$RequiredPackages = @('postfix', 'dovecot-core', 'swaks', 'libnet-ssleay-perl', 'openssl')
$UserName = 'probe@example.test'

. "$PSScriptRoot/../PeerTools.ps1"

function Invoke-Daemon {
    # Starts a self-daemonizing program with stdio detached to a log file: a daemon that keeps
    # an inherited stdout/stderr pipe open would otherwise make PowerShell wait forever.
    param([string] $LogFile, [string] $FilePath, [string[]] $Arguments)
    & /bin/sh -c 'log="$1"; shift; exec "$@" </dev/null >>"$log" 2>&1' sh $LogFile $FilePath @Arguments
    if ($LASTEXITCODE -ne 0) {
        $tail = foreach ($f in @($LogFile) + @(Get-ChildItem -LiteralPath ([System.IO.Path]::GetDirectoryName($LogFile)) -Filter '*.log' -ErrorAction SilentlyContinue | ForEach-Object FullName | Where-Object { $_ -ne $LogFile })) {
            Get-Content -LiteralPath $f -Tail 10 -ErrorAction SilentlyContinue
        }
        throw "'$FilePath $($Arguments -join ' ')' exited with $LASTEXITCODE`n$($tail -join "`n")"
    }
}

function Assert-Prerequisites {
    if (-not $IsLinux) { Stop-Unavailable 'the Postfix peer needs Linux (Debian packages postfix, dovecot-core).' }
    $uid = (& id -u 2>$null)
    if ("$uid".Trim() -ne '0') { Stop-Unavailable "the Postfix peer must run as root (Postfix/Dovecot masters need it); current uid is $uid." }
    if (-not (Get-Command dpkg-query -ErrorAction SilentlyContinue)) {
        Stop-Unavailable 'dpkg-query not found: this is not a Debian-based system, cannot check or install postfix/dovecot-core.'
    }
    $missing = @($RequiredPackages | Where-Object { -not (Test-PackageInstalled $_) })
    if ($missing.Count -eq 0) { return }

    if (-not (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        Stop-Unavailable "missing Debian packages ($($missing -join ', ')) and apt-get is not available to install them."
    }
    Write-Verbose "Installing missing packages: $($missing -join ', ')"
    # Preseed postfix so its postinst neither prompts nor writes/starts a system configuration.
    $preseed = "postfix postfix/main_mailer_type select No configuration`npostfix postfix/mailname string localhost`n"
    $preseed | & debconf-set-selections 2>&1 | Out-Null
    $env:DEBIAN_FRONTEND = 'noninteractive'
    try {
        $log = & apt-get update -qq 2>&1 | ForEach-Object { "$_" }
        if ($LASTEXITCODE -ne 0) { Stop-Unavailable "apt-get update failed: $(($log | Select-Object -Last 5) -join ' | ')" }
        $log = & apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold @missing 2>&1 | ForEach-Object { "$_" }
        if ($LASTEXITCODE -ne 0) { Stop-Unavailable "apt-get install $($missing -join ' ') failed: $(($log | Select-Object -Last 5) -join ' | ')" }
    }
    catch {
        if ("$_" -like 'PEER-UNAVAILABLE:*') { throw }
        Stop-Unavailable "could not install $($missing -join ', '): $_"
    }
    $still = @($RequiredPackages | Where-Object { -not (Test-PackageInstalled $_) })
    if ($still.Count -gt 0) { Stop-Unavailable "packages still missing after apt-get install: $($still -join ', ')" }
}

function Get-Ssha512([string] $Password) {
    # Dovecot {SSHA512}: base64( SHA512(password || salt) || salt )
    $salt = [byte[]]::new(16)
    [System.Security.Cryptography.RandomNumberGenerator]::Fill($salt)
    $pw = [System.Text.Encoding]::UTF8.GetBytes($Password)
    $hash = [System.Security.Cryptography.SHA512]::HashData([byte[]]($pw + $salt))
    return '{SSHA512}' + [Convert]::ToBase64String([byte[]]($hash + $salt))
}

function Set-Mode([string] $Mode, [string] $Path) { Invoke-Tool chmod @($Mode, $Path) | Out-Null }
function Set-Owner([string] $Owner, [string] $Path) { Invoke-Tool chown @($Owner, $Path) | Out-Null }

# ---------------------------------------------------------------------------------------------
$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Write-Phase([string] $What) { Write-Verbose ('[{0,6} ms] {1}' -f $clock.ElapsedMilliseconds, $What) }

Assert-Prerequisites
Write-Phase 'packages present'

if (-not $WorkDirectory) {
    $WorkDirectory = Join-Path ([System.IO.Path]::GetTempPath()) ('postfix-peer-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
}
$WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory)
if ($WorkDirectory -match '\s') { throw "WorkDirectory must not contain whitespace (Postfix/Dovecot config values): '$WorkDirectory'" }

# Postfix (data_directory, as user postfix) and Dovecot (users file, as user dovecot) open paths
# under WorkDirectory after dropping root, so every existing ancestor must be world-searchable.
$ancestor = [System.IO.Path]::GetDirectoryName($WorkDirectory)
while ($ancestor) {
    if ([System.IO.Directory]::Exists($ancestor)) {
        $mode = [System.IO.File]::GetUnixFileMode($ancestor)
        if (-not ($mode -band [System.IO.UnixFileMode]::OtherExecute)) {
            throw "WorkDirectory '$WorkDirectory' is not reachable by the postfix/dovecot users: '$ancestor' is not world-searchable (o+x). Use a directory under /tmp (the default)."
        }
    }
    $ancestor = [System.IO.Path]::GetDirectoryName($ancestor)
}

# Idempotent-ish: stop whatever a previous start left running in this work directory.
$stopScript = Join-Path $PSScriptRoot 'Stop-PostfixPeer.ps1'
if (Test-Path -LiteralPath $WorkDirectory) {
    & $stopScript -WorkDirectory $WorkDirectory
}

Write-Phase 'previous instance (if any) stopped'
$ports = [ordered]@{ StartTls = $BasePort; Plain = $BasePort + 1; ImplicitTls = $BasePort + 2 }
$extraPorts = [ordered]@{}
for ($i = 0; $i -lt $ExtraListeners.Count; $i++) {
    $name = [string]$ExtraListeners[$i].Name
    if ($name -notmatch '^[A-Za-z0-9-]+$' -or $extraPorts.Contains($name)) { throw "ExtraListeners[$i]: Name '$name' must be a unique word (letters, digits, '-')." }
    $extraPorts[$name] = $BasePort + 3 + $i
    if ($extraPorts[$name] -gt 65535) { throw "ExtraListeners[$i]: port $($extraPorts[$name]) is out of range." }
}
foreach ($p in $ports.GetEnumerator()) { Assert-PortFree $p.Value $p.Key }
foreach ($p in $extraPorts.GetEnumerator()) { Assert-PortFree $p.Value $p.Key }

# --- Layout -----------------------------------------------------------------------------------
$pfEtc = Join-Path $WorkDirectory 'postfix/etc'
$pfQueue = Join-Path $WorkDirectory 'postfix/spool'
$pfData = Join-Path $WorkDirectory 'postfix/data'
$dcDir = Join-Path $WorkDirectory 'dovecot'
$dcBase = Join-Path $dcDir 'run'
$dcState = Join-Path $dcDir 'state'
$logDir = Join-Path $WorkDirectory 'log'
$certPath = Join-Path $WorkDirectory 'cert.pem'
$keyPath = Join-Path $WorkDirectory 'key.pem'
$usersPath = Join-Path $dcDir 'users'
$dcConf = Join-Path $dcDir 'dovecot.conf'
$authSocket = Join-Path $pfQueue 'private/auth'
$peerJson = Join-Path $WorkDirectory 'peer.json'

foreach ($d in @($WorkDirectory, $pfEtc, $pfQueue, $pfData, $dcDir, $dcBase, $dcState, $logDir)) {
    [void][System.IO.Directory]::CreateDirectory($d)
    Set-Owner 'root:root' $d
    Set-Mode '0755' $d   # Postfix wants root-owned, non-writable config/queue dirs; Dovecot's unprivileged auth process must traverse to the users file.
}
Set-Owner 'postfix:postfix' $pfData
Set-Mode '0700' $pfData
Remove-Item -LiteralPath $peerJson -Force -ErrorAction SilentlyContinue

# --- Certificate (self-signed, CN=localhost, SAN DNS:localhost + IP:127.0.0.1) ----------------
$thumbprint = New-PeerCertificate -CertPath $certPath -KeyPath $keyPath   # key mode 0600
Set-Mode '0644' $certPath

Write-Phase 'certificate generated'
# --- Credentials ---------------------------------------------------------------------------
$password = New-RandomString
[System.IO.File]::WriteAllText($usersPath, "${UserName}:$(Get-Ssha512 $password)::::::`n")
Set-Owner 'root:dovecot' $usersPath
Set-Mode '0640' $usersPath

# --- Dovecot: SASL auth only ------------------------------------------------------------------
$instanceName = 'peer-' + [Convert]::ToHexString([System.Security.Cryptography.SHA1]::HashData([System.Text.Encoding]::UTF8.GetBytes($WorkDirectory))).Substring(0, 8).ToLowerInvariant()
@"
# Generated by Start-PostfixPeer.ps1 - private Dovecot used only as Postfix's SASL backend.
instance_name = dovecot-$instanceName
base_dir = $dcBase
state_dir = $dcState
log_path = $logDir/dovecot.log
info_log_path = $logDir/dovecot.log
debug_log_path = $logDir/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
shutdown_clients = yes
# TLS policy is Postfix's job (per listener); Dovecot must not refuse PLAIN/LOGIN on the clear port.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = $AuthFailureDelaySeconds secs
auth_verbose = yes
auth_cache_size = 0
passdb {
  driver = passwd-file
  args = scheme=SSHA512 username_format=%u $usersPath
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}
service auth {
  # Absolute path inside Postfix's private queue dir; Postfix uses smtpd_sasl_path = private/auth
  # (relative to its queue_directory, which is smtpd's working directory).
  unix_listener $authSocket {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service anvil {
  # mode 0 disables Dovecot's per-IP authentication penalty (up to 15 s extra delay after
  # repeated failures from 127.0.0.1) when -AuthFailureDelaySeconds is 0.
  unix_listener anvil-auth-penalty {
    mode = $(if ($AuthFailureDelaySeconds -eq 0) { '0' } else { '0600' })
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0660
  }
}
"@ | Set-Content -LiteralPath $dcConf -Encoding ascii
Set-Mode '0644' $dcConf

# --- Postfix ---------------------------------------------------------------------------------
$extraMaster = -join @(foreach ($l in $ExtraListeners) {
        "127.0.0.1:$($extraPorts[$l.Name]) inet n - n - - smtpd`n  -o syslog_name=postfix-peer/$($l.Name)`n"
        foreach ($o in $l.Options.GetEnumerator()) {
            if ("$($o.Value)" -match '\s' -or "$($o.Key)" -notmatch '^[a-z0-9_]+$') { throw "ExtraListeners '$($l.Name)': option $($o.Key)=$($o.Value) cannot be a master.cf override." }
            "  -o $($o.Key)=$($o.Value)`n"
        }
    })
@"
# Generated by Start-PostfixPeer.ps1 - private Postfix instance (postfix -c $pfEtc).
compatibility_level = 3.6
queue_directory = $pfQueue
data_directory = $pfData
mail_owner = postfix
setgid_group = postdrop
myhostname = peer.example.test
mydomain = example.test
myorigin = `$myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
smtp_bind_address = 127.0.0.1
biff = no
maillog_file = $logDir/postfix.log
maillog_file_prefixes = /var, /dev/stdout, $logDir
smtpd_banner = `$myhostname ESMTP Postfix (SmtpAuthTroubleshooter test peer)

# Nothing ever leaves the box: every destination goes to the discard(8) transport.
default_transport = discard:peer discards all mail
relay_transport = discard:peer discards all mail
local_transport = discard:peer discards all mail
virtual_transport = discard:peer discards all mail

# Only authenticated clients may send, to any recipient (no permit_mynetworks on purpose).
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject

# SASL via the private Dovecot (socket = queue_directory/private/auth).
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
broken_sasl_auth_clients = no

# TLS: self-signed localhost certificate, TLS 1.2+ only.
smtpd_tls_cert_file = $certPath
smtpd_tls_key_file = $keyPath
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_session_cache_database =
tls_random_source = dev:/dev/urandom
"@ | Set-Content -LiteralPath (Join-Path $pfEtc 'main.cf') -Encoding ascii

@"
# Generated by Start-PostfixPeer.ps1. Nothing is chrooted (chroot column = n).
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$($ports.StartTls) inet n - n - - smtpd
  -o syslog_name=postfix-peer/starttls
  -o smtpd_tls_security_level=may
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
127.0.0.1:$($ports.Plain) inet n - n - - smtpd
  -o syslog_name=postfix-peer/plain
  -o smtpd_tls_security_level=none
  -o smtpd_tls_auth_only=no
  -o smtpd_sasl_auth_enable=yes
127.0.0.1:$($ports.ImplicitTls) inet n - n - - smtpd
  -o syslog_name=postfix-peer/implicit
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
$($extraMaster)pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
smtp       unix  - - n -  - smtp
relay      unix  - - n -  - smtp
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
"@ | Set-Content -LiteralPath (Join-Path $pfEtc 'master.cf') -Encoding ascii
foreach ($f in 'main.cf', 'master.cf') {
    $cf = Join-Path $pfEtc $f
    Set-Mode '0644' $cf
    # Postfix re-reads a dictionary/config file for up to ~2.5 s while its mtime is not at least a
    # couple of seconds old ("file is being modified"); backdate it so start-up does not stall.
    [System.IO.File]::SetLastWriteTimeUtc($cf, [DateTime]::UtcNow.AddSeconds(-10))
}

# Create/repair the queue directory tree (private/, public/, pid/, ...) before Dovecot
# puts its socket into private/.
Invoke-Tool postfix @('-c', $pfEtc, 'check') | Out-Null

Write-Phase 'configuration written, queue directory checked'
# --- Start Dovecot, then Postfix --------------------------------------------------------------
$started = $false
try {
    Invoke-Daemon "$logDir/start.log" dovecot @('-c', $dcConf)
    $deadline = [DateTime]::UtcNow.AddSeconds($StartTimeoutSeconds)
    # The auth socket appears before Dovecot has daemonized and written run/master.pid: wait for both.
    while (-not ((Test-Path -LiteralPath $authSocket) -and (Test-Path -LiteralPath "$dcBase/master.pid") -and
            (Get-Item -LiteralPath "$dcBase/master.pid").Length -gt 0)) {
        if ([DateTime]::UtcNow -gt $deadline) {
            $tail = Get-Content -LiteralPath "$logDir/dovecot.log" -Tail 20 -ErrorAction SilentlyContinue
            throw "Dovecot did not create $authSocket and master.pid within $StartTimeoutSeconds s.`n$($tail -join "`n")"
        }
        Start-Sleep -Milliseconds 100
    }
    # Dovecot deletes run/master.pid when it exits cleanly; keep a copy so Stop-PostfixPeer.ps1
    # can still find the process group of orphaned children after an unclean master exit.
    Invoke-Tool cp @("$dcBase/master.pid", "$dcDir/master.pid.saved") | Out-Null

    Write-Phase 'dovecot auth socket ready'
    Invoke-Daemon "$logDir/start.log" postfix @('-c', $pfEtc, 'start')

    Write-Phase 'postfix started'
    $pending = [System.Collections.Generic.List[object]]::new()
    $pending.Add(@{ Port = $ports.StartTls; Tls = $false })
    $pending.Add(@{ Port = $ports.Plain; Tls = $false })
    $pending.Add(@{ Port = $ports.ImplicitTls; Tls = $true })
    foreach ($p in $extraPorts.Values) { $pending.Add(@{ Port = $p; Tls = $false }) }
    while ($pending.Count -gt 0) {
        foreach ($p in @($pending)) {
            if (Test-SmtpGreeting -Port $p.Port -ImplicitTls:$p.Tls) { [void]$pending.Remove($p) }
        }
        if ($pending.Count -eq 0) { break }
        if ([DateTime]::UtcNow -gt $deadline) {
            $tail = Get-Content -LiteralPath "$logDir/postfix.log" -Tail 30 -ErrorAction SilentlyContinue
            throw "Postfix ports $(($pending | ForEach-Object Port) -join ', ') did not answer 220 within $StartTimeoutSeconds s.`n$($tail -join "`n")"
        }
        Start-Sleep -Milliseconds 100
    }
    Write-Phase 'all ports answer 220'
    $started = $true
}
finally {
    if (-not $started) { & $stopScript -WorkDirectory $WorkDirectory }
}

# --- Result ----------------------------------------------------------------------------------
$result = [ordered]@{
    host                  = '127.0.0.1'
    startTlsPort          = $ports.StartTls
    plainPort             = $ports.Plain
    implicitTlsPort       = $ports.ImplicitTls
    listeners             = $extraPorts
    logPath               = "$logDir/postfix.log"
    user                  = $UserName
    password              = $password
    certificatePath       = $certPath
    certificateThumbprint = $thumbprint
    workDirectory         = $WorkDirectory
}
[System.IO.File]::WriteAllText($peerJson, ($result | ConvertTo-Json))
Set-Mode '0600' $peerJson

$typeName = 'SmtpAuthTroubleshooter.Tests.PostfixPeer'
Update-TypeData -TypeName $typeName -DefaultDisplayPropertySet host, startTlsPort, plainPort, implicitTlsPort, user, certificateThumbprint, workDirectory -Force
$obj = [pscustomobject]$result
$obj.PSObject.TypeNames.Insert(0, $typeName)
$obj
