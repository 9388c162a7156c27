#Requires -Version 7.0
<#
.SYNOPSIS
    Starts nodemailer's smtp-server (npm package, pinned in package-lock.json) on 127.0.0.1 as
    an SMTP AUTH test peer.

.DESCRIPTION
    One node process (server.js) serves six listeners, by offset from -BasePort:
      +0 startTlsPort     STARTTLS; AUTH only after TLS: XOAUTH2 PLAIN LOGIN (in this order)
      +1 plainOnlyPort    STARTTLS; AUTH only after TLS: PLAIN
      +2 implicitTlsPort  TLS on connect; PLAIN LOGIN
      +3 noOAuthPort      STARTTLS; AUTH only after TLS: PLAIN LOGIN
      +4 oauthOnlyPort    STARTTLS; AUTH only after TLS: XOAUTH2
      +5 silentPort       accepts TCP and never sends a byte (closes after -SilentCloseSeconds)

    Users 'dave', 'user@example.test' and an ACS-style name, each with a random password, and
    an XOAUTH2 token for 'user@example.test', all new on every start. Everything lives under
    -WorkDirectory (config, certificate, pid file, events log, server log, peer.json).

    Runs 'npm ci' in this script's directory when node_modules is missing or older than
    package-lock.json. Writes WorkDirectory/peer.json (mode 0600, contains the secrets) and
    returns the same data as an object whose default display omits the secrets.

    Throws an error whose message starts with 'PEER-UNAVAILABLE:' when the peer cannot be
    provided on this machine (node/npm/openssl missing, node too old, the npm registry
    unreachable). Any other error is a real failure.

.EXAMPLE
    $peer = ./tests/Peers/nodemailer/Start-NodemailerPeer.ps1 -WorkDirectory /tmp/nmpeer
    ./tests/Peers/nodemailer/Stop-NodemailerPeer.ps1 -WorkDirectory $peer.workDirectory
#>
[CmdletBinding()]
param(
    [string] $WorkDirectory,
    [ValidateRange(1024, 65530)]
    [int] $BasePort = 25900,
    [ValidateRange(5, 600)]
    [int] $StartTimeoutSeconds = 30,
    # The silent port closes an accepted connection after this long.
    [ValidateRange(1, 120)]
    [int] $SilentCloseSeconds = 120,
    # Safety net: the node process exits by itself after this long, even if nobody stops it.
    [ValidateRange(1, 1440)]
    [int] $MaxLifetimeMinutes = 120
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$PeerRoot = $PSScriptRoot
$MarkerName = '.nodemailer-peer'
$NetworkErrorPattern = 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up|proxy'

. "$PSScriptRoot/../PeerTools.ps1"

function Get-LockedVersion {
    $lock = Get-Content -LiteralPath (Join-Path $PeerRoot 'package-lock.json') -Raw | ConvertFrom-Json -AsHashtable
    return $lock.packages['node_modules/smtp-server'].version
}

function Test-NodeModulesCurrent {
    # Current = npm's hidden lockfile exists, is not older than package-lock.json, and the
    # installed smtp-server is the locked version.
    $hidden = Join-Path $PeerRoot 'node_modules/.package-lock.json'
    $installed = Join-Path $PeerRoot 'node_modules/smtp-server/package.json'
    if (-not (Test-Path -LiteralPath $hidden) -or -not (Test-Path -LiteralPath $installed)) { return $false }
    $lockTime = [System.IO.File]::GetLastWriteTimeUtc((Join-Path $PeerRoot 'package-lock.json'))
    if ($lockTime -gt [System.IO.File]::GetLastWriteTimeUtc($hidden)) { return $false }
    $version = (Get-Content -LiteralPath $installed -Raw | ConvertFrom-Json).version
    return ($version -eq (Get-LockedVersion))
}

function Install-NodeModules {
    if (Test-NodeModulesCurrent) { return }
    # Two test runs starting peers at once must not run 'npm ci' in the same directory together:
    # an exclusive lock (FileShare.None) on a file beside node_modules (git-ignored, nothing left in TMPDIR) serializes them.
    $lockPath = Join-Path $PeerRoot '.npm-ci.lock'
    $deadline = [DateTime]::UtcNow.AddSeconds(180)
    $lock = $null
    while (-not $lock) {
        try { $lock = [System.IO.File]::Open($lockPath, 'OpenOrCreate', 'ReadWrite', 'None') }
        catch [System.IO.IOException] {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out waiting for another 'npm ci' in $PeerRoot (lock $lockPath)." }
            Start-Sleep -Milliseconds 250
        }
    }
    try {
        if (Test-NodeModulesCurrent) { return }   # the other run did it
        Write-Verbose "npm ci in $PeerRoot"
        $r = Invoke-Bounded -FilePath 'npm' -Arguments @('ci', '--no-audit', '--no-fund', '--ignore-scripts', '--no-update-notifier', '--loglevel=warn') -WorkingDirectory $PeerRoot -TimeoutSeconds 240
        if ($r.ExitCode -ne 0) {
            $tail = (($r.Output -split "`n") | Select-Object -Last 15) -join "`n"
            if ($r.TimedOut -or $r.Output -match $NetworkErrorPattern) {
                Stop-Unavailable "npm ci could not reach the npm registry ($(& npm config get registry 2>$null)):`n$tail"
            }
            throw "npm ci in $PeerRoot failed with exit code $($r.ExitCode):`n$tail"
        }
        if (-not (Test-NodeModulesCurrent)) { throw "npm ci in $PeerRoot succeeded but node_modules/smtp-server is not the locked version $(Get-LockedVersion)." }
    }
    finally { $lock.Dispose() }
}

function Assert-Prerequisites {
    if (-not $IsLinux) { Stop-Unavailable 'the nodemailer peer needs Linux (/bin/sh to detach node, /proc to find and stop it).' }
    foreach ($tool in 'node', 'npm', 'openssl') {
        if (-not (Get-Command $tool -CommandType Application -ErrorAction SilentlyContinue)) {
            Stop-Unavailable "'$tool' was not found on PATH (the nodemailer peer needs Node.js >= 20 with npm, and openssl)."
        }
    }
    $v = Invoke-Bounded -FilePath 'node' -Arguments @('--version') -TimeoutSeconds 30
    $major = 0
    if ($v.ExitCode -ne 0 -or $v.Output -notmatch '^v(\d+)\.' -or -not [int]::TryParse($Matches[1], [ref]$major)) {
        Stop-Unavailable "'node --version' failed: $($v.Output)"
    }
    if ($major -lt 20) { Stop-Unavailable "node $($v.Output) is too old: smtp-server $(Get-LockedVersion) needs Node.js >= 20." }
}

function Set-Mode([string] $Mode, [string] $Path) {
    $r = Invoke-Bounded -FilePath 'chmod' -Arguments @($Mode, $Path) -TimeoutSeconds 10
    if ($r.ExitCode -ne 0) { throw "chmod $Mode $Path failed: $($r.Output)" }
}

# ---------------------------------------------------------------------------------------------
$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Write-Phase([string] $What) { Write-Verbose ('[{0,6} ms] {1}' -f $clock.ElapsedMilliseconds, $What) }

Assert-Prerequisites
Write-Phase 'node, npm and openssl present'
Install-NodeModules
Write-Phase 'node_modules current'

$stopScript = Join-Path $PeerRoot 'Stop-NodemailerPeer.ps1'
$serverJs = Join-Path $PeerRoot 'server.js'
# A previous peer in this work directory is stopped first (which also removes the directory); a directory that is
# neither empty nor ours is refused.
$WorkDirectory = Resolve-PeerWorkDirectory -WorkDirectory $WorkDirectory -Prefix 'nodemailer-peer-' -MarkerName $MarkerName -StartName 'Start-NodemailerPeer.ps1' -StopScript $stopScript
Write-Phase 'previous instance (if any) stopped'

$ports = [ordered]@{
    startTlsPort    = $BasePort
    plainOnlyPort   = $BasePort + 1
    implicitTlsPort = $BasePort + 2
    noOAuthPort     = $BasePort + 3
    oauthOnlyPort   = $BasePort + 4
    silentPort      = $BasePort + 5
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
[System.IO.File]::WriteAllText((Join-Path $WorkDirectory $MarkerName), "Created by Start-NodemailerPeer.ps1; Stop-NodemailerPeer.ps1 deletes this directory.`n")
[void][System.IO.Directory]::CreateDirectory($logDir)

$started = $false
try {
    # --- Certificate (self-signed, CN=localhost, SAN DNS:localhost + IP:127.0.0.1) ------------
    $thumbprint = New-PeerCertificate -CertPath $certPath -KeyPath $keyPath -TimeoutSeconds 60
    Write-Phase 'certificate generated'

    # --- Credentials and config ---------------------------------------------------------------
    $users = [ordered]@{
        'dave'                                                                            = New-RandomString
        'user@example.test'                                                               = New-RandomString
        'contoso-acs.11111111-2222-3333-4444-555555555555.66666666-7777-8888-9999-000000000000' = New-RandomString
    }
    $oauthUser = 'user@example.test'
    $token = 'nmpeer.' + (New-RandomString -Length 48 -Alphabet 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')

    $config = [ordered]@{
        ports              = $ports
        users              = $users
        oauthUser          = $oauthUser
        token              = $token
        certPath           = $certPath
        keyPath            = $keyPath
        eventsPath         = $eventsPath
        maxMessageBytes    = 65536
        silentCloseSeconds = $SilentCloseSeconds
        maxLifetimeSeconds = $MaxLifetimeMinutes * 60
    }
    [System.IO.File]::WriteAllText($configPath, '')
    Set-Mode '0600' $configPath
    [System.IO.File]::WriteAllText($configPath, ($config | ConvertTo-Json -Depth 5))
    Write-Phase 'configuration written'

    # --- Start node detached ------------------------------------------------------------------
    # /bin/sh starts node in the background with stdin from /dev/null and stdout/stderr appended
    # to the log, and prints its pid. node never holds one of PowerShell's pipes, so neither this
    # call nor the caller's pipeline waits for it.
    $spawn = & /bin/sh -c 'cd "$1" || exit 1; log="$2"; shift 2; "$@" </dev/null >>"$log" 2>&1 & echo $!' sh $PeerRoot $serverLog (Get-Command node -CommandType Application | Select-Object -First 1).Source $serverJs $configPath
    $nodePid = 0
    if ($LASTEXITCODE -ne 0 -or -not [int]::TryParse("$spawn".Trim(), [ref]$nodePid)) { throw "Could not start node: $spawn" }
    [System.IO.File]::WriteAllText($pidPath, "$nodePid`n")
    Write-Phase "node started (pid $nodePid)"

    $deadline = [DateTime]::UtcNow.AddSeconds($StartTimeoutSeconds)
    $pending = [System.Collections.Generic.List[int]]::new([int[]]@($ports.Values))
    while ($pending.Count -gt 0) {
        $state = Get-ProcessState $nodePid @($serverJs, $configPath)   # 'other' until the forked sh has exec'ed node
        if ($state -eq 'gone') {
            Start-Sleep -Milliseconds 100   # let the log be flushed
            $tail = Get-Content -LiteralPath $serverLog -Tail 20 -ErrorAction SilentlyContinue
            throw "node server.js (pid $nodePid) exited during start-up.`n$($tail -join "`n")"
        }
        if ($state -eq 'ours') {
            foreach ($p in @($pending)) { if (Test-TcpAccept $p) { [void]$pending.Remove($p) } }
        }
        if ($pending.Count -eq 0) { break }
        if ([DateTime]::UtcNow -gt $deadline) {
            $tail = Get-Content -LiteralPath $serverLog -Tail 20 -ErrorAction SilentlyContinue
            throw "Ports $($pending -join ', ') did not accept TCP within $StartTimeoutSeconds s.`n$($tail -join "`n")"
        }
        Start-Sleep -Milliseconds 100
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
$result.oauthUser = $oauthUser
$result.token = $token
$result.eventsPath = $eventsPath
$result.pid = $nodePid
$result.workDirectory = $WorkDirectory
$result.certificatePath = $certPath
$result.certificateThumbprint = $thumbprint
$result.smtpServerVersion = Get-LockedVersion
$result.startMilliseconds = $clock.ElapsedMilliseconds

[System.IO.File]::WriteAllText($peerJson, '')
Set-Mode '0600' $peerJson
[System.IO.File]::WriteAllText($peerJson, ($result | ConvertTo-Json -Depth 5))

$typeName = 'SmtpAuthTroubleshooter.Tests.NodemailerPeer'
$display = @($result.Keys | Where-Object { $_ -notin 'users', 'token' }) + 'userNames'
Update-TypeData -TypeName $typeName -DefaultDisplayPropertySet $display -Force
$obj = [pscustomobject]$result
$obj | Add-Member -MemberType ScriptProperty -Name userNames -Value { @($this.users.Keys) }
$obj.PSObject.TypeNames.Insert(0, $typeName)
$obj
