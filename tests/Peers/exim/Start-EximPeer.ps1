#Requires -Version 7.0
<#
.SYNOPSIS
    Starts a private Exim 4.96 (Debian bookworm's exim4-daemon-light) on 127.0.0.1 for SMTP AUTH tests.

.DESCRIPTION
    Exim and Postfix cannot both be installed with apt (each is the system MTA; installing exim4
    removes postfix, which the Postfix peer and CI need). So exim4 is never installed: the start
    script fetches the Debian packages with 'apt-get download' into a cache directory
    (-CacheDirectory), extracts them with 'dpkg-deb -x' into a private tree there, and runs the
    extracted usr/sbin/exim4 with its own configuration (-C), spool, log and pid file under
    -WorkDirectory. The cache is reused by later starts: only the first start downloads. The
    extracted binary's setuid bit is dropped (root starts it; it never needs to regain root).

    What it changes on the machine, apart from the cache and the work directory:
      - the shared libraries the exim4 binary needs (the lib* packages of exim4-daemon-light's
        Depends, e.g. libidn12) are installed with apt-get when missing; they do not conflict
        with postfix;
      - the system account 'Debian-exim' (user and group) is created with useradd when missing,
        exactly as exim4-base's postinst would: Debian builds exim4 with EXIM_USER=ref:Debian-exim
        and the binary refuses to start ("failed to find uid for user name") without it.
    No system MTA file (/etc/exim4, /etc/postfix, /var/spool/exim4, /usr/sbin/sendmail) is read
    or written.

    Listeners (all 127.0.0.1), by offset from -BasePort (default 25980):
      +0 startTlsPort     STARTTLS; AUTH PLAIN LOGIN advertised only after STARTTLS
                          (auth_advertise_hosts empty while $tls_in_cipher is empty)
      +1 implicitTlsPort  TLS on connect (tls_on_connect_ports); AUTH PLAIN LOGIN
      +2 plainPort        no TLS at all; AUTH PLAIN LOGIN advertised in clear
      +3 cramMd5Port      STARTTLS; after it AUTH CRAM-MD5 only
      +4 noAuthPort       STARTTLS; no AUTH at all, before or after TLS
    MAIL FROM from a client that has not authenticated is denied by acl_smtp_mail (Exim's own
    default text for a denying ACL); an authenticated client may send to any address, and the
    message is discarded (redirect router to :blackhole:), so nothing leaves the box.

    One user, probe@example.test, with a random password new on every start. Writes
    WorkDirectory/peer.json (mode 0600, contains the password) and returns the same data as an
    object whose default display omits the password. The password is never printed.

    Throws an error whose message starts with 'PEER-UNAVAILABLE:' when the peer cannot be
    provided on this machine (not Linux, not root, no dpkg/apt-get, the packages cannot be
    downloaded or the libraries installed). Any other error is a real failure.

.EXAMPLE
    $peer = ./tests/Peers/exim/Start-EximPeer.ps1 -WorkDirectory /tmp/eximpeer -Verbose
    ./tests/Peers/exim/Stop-EximPeer.ps1 -WorkDirectory $peer.workDirectory
#>
[CmdletBinding()]
param(
    [string] $WorkDirectory,
    [ValidateRange(1024, 65531)]
    [int] $BasePort = 25980,
    [ValidateRange(5, 600)]
    [int] $StartTimeoutSeconds = 30,
    # Where the downloaded .debs and the extracted tree are kept between runs.
    [string] $CacheDirectory = $(if ($env:EXIM_PEER_CACHE) { $env:EXIM_PEER_CACHE } else { '/var/cache/smtpauth-peers/exim' })
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$Packages = @('exim4-daemon-light', 'exim4-base', 'exim4-config')
$EximAccount = 'Debian-exim'   # Debian's EXIM_USER=ref:Debian-exim, compiled into the binary
$UserName = 'probe@example.test'
$MarkerName = '.exim-peer'

. "$PSScriptRoot/../PeerTools.ps1"

$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Write-Phase([string] $What) { Write-Verbose ('[{0,6} ms] {1}' -f $clock.ElapsedMilliseconds, $What) }
function Set-Mode([string] $Mode, [string] $Path) { Invoke-Tool chmod @($Mode, $Path) | Out-Null }
function Set-Owner([string] $Owner, [string] $Path) { Invoke-Tool chown @($Owner, $Path) | Out-Null }

function Assert-Prerequisites {
    if (-not $IsLinux) { Stop-Unavailable 'the Exim peer needs Linux (Debian packages exim4-daemon-light, exim4-base, exim4-config).' }
    $uid = "$(& id -u 2>$null)".Trim()
    if ($uid -ne '0') { Stop-Unavailable "the Exim peer must run as root (the Exim daemon binds its ports and drops to $EximAccount itself); current uid is $uid." }
    foreach ($tool in 'dpkg-deb', 'dpkg-query', 'apt-get') {
        if (-not (Get-Command $tool -ErrorAction SilentlyContinue)) { Stop-Unavailable "$tool not found: this is not a Debian-based system, cannot fetch exim4." }
    }
    if (-not (Get-Command openssl -ErrorAction SilentlyContinue)) {
        if (-not (Invoke-Apt @('install', '-y', '-qq', '--no-install-recommends', 'openssl'))) {
            if (-not ((Invoke-Apt @('update', '-qq')) -and (Invoke-Apt @('install', '-y', '-qq', '--no-install-recommends', 'openssl')))) {
                Stop-Unavailable "openssl is missing and apt-get could not install it: $script:AptLog"
            }
        }
    }
}

function Assert-EximAccount {
    # Debian's exim4 looks up its compiled-in user 'Debian-exim' before reading any configuration.
    & getent passwd $EximAccount *> $null
    if ($LASTEXITCODE -eq 0) { return }
    Write-Verbose "Creating the system account $EximAccount (as exim4-base's postinst would)"
    Invoke-Tool useradd @('--system', '--user-group', '--home-dir', '/var/spool/exim4', '--no-create-home', '--shell', '/usr/sbin/nologin', $EximAccount) | Out-Null
}

function Get-Sha512Crypt([string] $Password) {
    # crypt(3) SHA-512 ($6$...) for Exim's crypteq; the password goes to openssl on stdin, never argv.
    $r = Invoke-Bounded -FilePath 'openssl' -Arguments @('passwd', '-6', '-stdin') -InputText "$Password`n" -TimeoutSeconds 30
    $hash = $r.StdOut.Trim()
    if ($r.ExitCode -ne 0 -or $hash -notmatch '^\$6\$') { throw "openssl passwd -6 failed ($($r.ExitCode)): $($r.StdErr.Trim())" }
    return $hash
}

# ---------------------------------------------------------------------------------------------
Assert-Prerequisites
$tree = Get-ExtractedDebTree -Packages $Packages -CacheDirectory $CacheDirectory -DependsPackage 'exim4-daemon-light'
$binary = Join-Path $tree 'usr/sbin/exim4'
# The package ships exim4 setuid root (mode 4755). This copy is started by root and never needs to regain root
# (deliver_drop_privilege), and a setuid-root binary outside dpkg would miss Debian's security updates: drop the bit.
if ([System.IO.File]::GetUnixFileMode($binary) -band [System.IO.UnixFileMode]::SetUser) { Set-Mode 'u-s' $binary }
Install-DebLibraries -Tree $tree -Binary $binary
Assert-EximAccount
Write-Phase 'exim4 binary ready'

if (-not $WorkDirectory) {
    $WorkDirectory = Join-Path ([System.IO.Path]::GetTempPath()) ('exim-peer-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
}
$WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory).TrimEnd('/')
if ($WorkDirectory -match '[\s:;$\\{}"'']') { throw "WorkDirectory must not contain white space or any of : ; $ \ { } quotes (Exim configuration values): '$WorkDirectory'" }
# Exim's reception processes run as Debian-exim and open the spool, the log and the password
# file under WorkDirectory, so every existing ancestor must be world-searchable.
foreach ($dir in @($WorkDirectory, $tree)) {
    $ancestor = [System.IO.Path]::GetDirectoryName($dir)
    while ($ancestor) {
        if ([System.IO.Directory]::Exists($ancestor) -and -not ([System.IO.File]::GetUnixFileMode($ancestor) -band [System.IO.UnixFileMode]::OtherExecute)) {
            throw "'$dir' is not reachable by the $EximAccount user: '$ancestor' is not world-searchable (o+x). Use a directory under /tmp (the default)."
        }
        $ancestor = [System.IO.Path]::GetDirectoryName($ancestor)
    }
}

# Idempotent-ish: stop whatever a previous start left running in this work directory.
$stopScript = Join-Path $PSScriptRoot 'Stop-EximPeer.ps1'
if (Test-Path -LiteralPath $WorkDirectory) { & $stopScript -WorkDirectory $WorkDirectory }

$ports = [ordered]@{
    startTlsPort    = $BasePort
    implicitTlsPort = $BasePort + 1
    plainPort       = $BasePort + 2
    cramMd5Port     = $BasePort + 3
    noAuthPort      = $BasePort + 4
}
foreach ($p in $ports.GetEnumerator()) { Assert-PortFree $p.Value $p.Key }

# --- Layout -----------------------------------------------------------------------------------
$etcDir = Join-Path $WorkDirectory 'etc'
$spoolDir = Join-Path $WorkDirectory 'spool'
$logDir = Join-Path $WorkDirectory 'log'
$configPath = Join-Path $etcDir 'exim.conf'
$passwdPath = Join-Path $etcDir 'passwd'
$pidPath = Join-Path $WorkDirectory 'exim.pid'
$certPath = Join-Path $WorkDirectory 'cert.pem'
$keyPath = Join-Path $WorkDirectory 'key.pem'
$peerJson = Join-Path $WorkDirectory 'peer.json'

foreach ($d in @($WorkDirectory, $etcDir, $spoolDir, $logDir)) {
    [void][System.IO.Directory]::CreateDirectory($d)
    Set-Owner 'root:root' $d
    Set-Mode '0755' $d
}
[System.IO.File]::WriteAllText((Join-Path $WorkDirectory $MarkerName), "Start-EximPeer.ps1`n")   # Stop-EximPeer.ps1 deletes only a directory with this marker
# Exim (as Debian-exim) writes its spool and its logs.
foreach ($d in $spoolDir, $logDir) { Set-Owner "${EximAccount}:$EximAccount" $d; Set-Mode '0750' $d }
Remove-Item -LiteralPath $peerJson -Force -ErrorAction SilentlyContinue
# The stop script recognises the daemon by this binary and this configuration file.
[System.IO.File]::WriteAllText((Join-Path $WorkDirectory 'exim.binary'), "$binary`n")

# --- Certificate and password -----------------------------------------------------------------
$thumbprint = New-PeerCertificate -CertPath $certPath -KeyPath $keyPath
Set-Mode '0644' $certPath
Set-Owner "root:$EximAccount" $keyPath
Set-Mode '0640' $keyPath
Write-Phase 'certificate generated'

$password = New-RandomString
# exim4_passwd(5) format, as Debian's /etc/exim4/passwd: user:crypted-password:clear-password
# (the clear one is what CRAM-MD5 needs).
[System.IO.File]::WriteAllText($passwdPath, "${UserName}:$(Get-Sha512Crypt $password):$password`n")
Set-Owner "root:$EximAccount" $passwdPath
Set-Mode '0640' $passwdPath

# --- Configuration ----------------------------------------------------------------------------
$p = $ports
@"
# Generated by Start-EximPeer.ps1 - private Exim (exim4 -C $configPath).
exim_path = $binary
exim_user = $EximAccount
exim_group = $EximAccount
keep_environment =
primary_hostname = peer.example.test
qualify_domain = example.test
spool_directory = $spoolDir
log_file_path = $logDir/%slog
pid_file_path = $pidPath
log_selector = +smtp_connection +smtp_no_mail +smtp_protocol_error +smtp_syntax_error +incoming_port +incoming_interface +tls_cipher +received_recipients +pid

local_interfaces = 127.0.0.1
disable_ipv6 = true
daemon_smtp_ports = $($p.startTlsPort) : $($p.implicitTlsPort) : $($p.plainPort) : $($p.cramMd5Port) : $($p.noAuthPort)
tls_on_connect_ports = $($p.implicitTlsPort)
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s

# TLS: self-signed localhost certificate, TLS 1.2+ only (GnuTLS priority string).
tls_certificate = $certPath
tls_privatekey = $keyPath
tls_require_ciphers = NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2
# STARTTLS everywhere except on the plain port.
tls_advertise_hosts = `${if eq{`$interface_port}{$($p.plainPort)}{}{*}}
# AUTH only once the session is encrypted (the common real-world setting), except on the plain
# port, where it is advertised in clear; never on the no-AUTH port.
auth_advertise_hosts = `${if eq{`$interface_port}{$($p.noAuthPort)}{}{`${if or{{eq{`$interface_port}{$($p.plainPort)}}{!eq{`$tls_in_cipher}{}}}{*}{}}}}

acl_smtp_mail = acl_check_mail
acl_smtp_rcpt = acl_check_rcpt

# Delivery runs as $EximAccount too (no re-exec to regain root; the binary is not setuid here).
deliver_drop_privilege = true

begin acl

acl_check_mail:
  # No message: Exim's own text for a denying ACL.
  deny    !authenticated = *
  accept

acl_check_rcpt:
  accept  authenticated = *
  deny

begin routers

discard_all:
  driver = redirect
  domains = *
  data = :blackhole:

begin transports

begin retry

*   *   F,1h,15m

begin authenticators

# As Debian's auth/30_exim4-config_examples (crypteq against exim4_passwd(5)), advertised on
# every port but the CRAM-MD5 one (auth_advertise_hosts above decides TLS).
plain_server:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = "`${if crypteq{`$auth3}{`${extract{1}{:}{`${lookup{`$auth2}lsearch{$passwdPath}{`$value}{*:*}}}}}{1}{0}}"
  server_set_id = `$auth2
  server_advertise_condition = `${if eq{`$interface_port}{$($p.cramMd5Port)}{no}{yes}}

login_server:
  driver = plaintext
  public_name = LOGIN
  server_prompts = "Username:: : Password::"
  server_condition = "`${if crypteq{`$auth2}{`${extract{1}{:}{`${lookup{`$auth1}lsearch{$passwdPath}{`$value}{*:*}}}}}{1}{0}}"
  server_set_id = `$auth1
  server_advertise_condition = `${if eq{`$interface_port}{$($p.cramMd5Port)}{no}{yes}}

cram_md5_server:
  driver = cram_md5
  public_name = CRAM-MD5
  server_secret = `${extract{2}{:}{`${lookup{`$auth1}lsearch{$passwdPath}{`$value}fail}}}
  server_set_id = `$auth1
  server_advertise_condition = `${if eq{`$interface_port}{$($p.cramMd5Port)}{yes}{no}}
"@ | Set-Content -LiteralPath $configPath -Encoding ascii
Set-Mode '0644' $configPath   # Exim: owned by root (CONFIGURE_OWNER 0), not group/world-writable

$check = Invoke-Bounded -FilePath $binary -Arguments @('-C', $configPath, '-bV') -TimeoutSeconds 30
if ($check.ExitCode -ne 0) { throw "exim4 -C $configPath -bV failed ($($check.ExitCode)):`n$($check.Output)" }
$version = [regex]::Match($check.StdOut, 'Exim version (\S+)').Groups[1].Value
Write-Phase "configuration written and checked (Exim $version)"

# --- Start the daemon -------------------------------------------------------------------------
$started = $false
try {
    # exim -bd detaches by itself (fork + setsid); stdio goes to a log file so that no inherited
    # pipe keeps PowerShell waiting.
    & /bin/sh -c 'log="$1"; shift; exec "$@" </dev/null >>"$log" 2>&1' sh (Join-Path $logDir 'start.log') $binary -C $configPath -bd
    if ($LASTEXITCODE -ne 0) {
        $tail = foreach ($f in 'start.log', 'paniclog', 'mainlog') { Get-Content -LiteralPath (Join-Path $logDir $f) -Tail 10 -ErrorAction SilentlyContinue }
        throw "'$binary -C $configPath -bd' exited with $LASTEXITCODE`n$($tail -join "`n")"
    }
    $deadline = [DateTime]::UtcNow.AddSeconds($StartTimeoutSeconds)
    $pending = [System.Collections.Generic.List[object]]::new()
    foreach ($e in $ports.GetEnumerator()) { $pending.Add(@{ Port = $e.Value; Tls = ($e.Key -eq 'implicitTlsPort') }) }
    while ($pending.Count -gt 0) {
        foreach ($x in @($pending)) { if (Test-SmtpGreeting -Port $x.Port -ImplicitTls:$x.Tls) { [void]$pending.Remove($x) } }
        if ($pending.Count -eq 0) { break }
        if ([DateTime]::UtcNow -gt $deadline) {
            $tail = foreach ($f in 'start.log', 'paniclog', 'mainlog') { Get-Content -LiteralPath (Join-Path $logDir $f) -Tail 15 -ErrorAction SilentlyContinue }
            throw "Exim ports $(($pending | ForEach-Object Port) -join ', ') did not answer 220 within $StartTimeoutSeconds s.`n$($tail -join "`n")"
        }
        Start-Sleep -Milliseconds 100
    }
    if ((Read-PidFile $pidPath) -le 1) { throw "Exim answers but wrote no pid file at $pidPath." }
    Write-Phase 'all five ports answer 220'
    $started = $true
}
finally {
    if (-not $started) {
        $saved = $env:EXIM_PEER_KEEP
        try { $env:EXIM_PEER_KEEP = '1'; & $stopScript -WorkDirectory $WorkDirectory } finally { $env:EXIM_PEER_KEEP = $saved }
    }
}

# --- Result ----------------------------------------------------------------------------------
$result = [ordered]@{
    host                  = '127.0.0.1'
    startTlsPort          = $ports.startTlsPort
    implicitTlsPort       = $ports.implicitTlsPort
    plainPort             = $ports.plainPort
    cramMd5Port           = $ports.cramMd5Port
    noAuthPort            = $ports.noAuthPort
    user                  = $UserName
    password              = $password
    eximVersion           = $version
    certificatePath       = $certPath
    certificateThumbprint = $thumbprint
    mainLogPath           = Join-Path $logDir 'mainlog'
    workDirectory         = $WorkDirectory
}
[System.IO.File]::WriteAllText($peerJson, ($result | ConvertTo-Json))
Set-Mode '0600' $peerJson

$typeName = 'SmtpAuthTroubleshooter.Tests.EximPeer'
Update-TypeData -TypeName $typeName -DefaultDisplayPropertySet host, startTlsPort, implicitTlsPort, plainPort, cramMd5Port, noAuthPort, user, eximVersion, workDirectory -Force
$obj = [pscustomobject]$result
$obj.PSObject.TypeNames.Insert(0, $typeName)
$obj
