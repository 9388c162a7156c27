#Requires -Version 7.0
<#
.SYNOPSIS
    Helpers shared by the test peers under tests/Peers.

.DESCRIPTION
    Dot-source it; it only defines functions (no variables, no StrictMode or preference changes,
    nothing runs):

      Start-*Peer.ps1 / Stop-*Peer.ps1   . "$PSScriptRoot/../PeerTools.ps1"
      Peer.Tests.ps1                     BeforeAll { . "$PSScriptRoot/../PeerTools.ps1"; ... }

    Nothing here uses $PSScriptRoot or $script: variables: a peer's own paths, names and state
    are always passed in as parameters. What differs between the peers (what makes a process
    "ours", the order and warnings of a stop, the checks a peer needs) stays in the peer's
    scripts; where the peers only differ in a number (a timeout) it is a parameter.

    Start scripts:     Stop-Unavailable, Invoke-Tool, Invoke-Bounded, Test-PortFree,
                       Assert-PortFree, Test-TcpAccept, Read-SmtpLine, Test-SmtpGreeting,
                       New-RandomString, New-PeerCertificate, Test-PackageInstalled,
                       Invoke-Apt, Get-ExtractedDebTree, Install-DebLibraries (exim, opensmtpd)
    Stop scripts:      Read-PidFile, Get-ProcIds, Get-ProcStat, Get-ProcessState,
                       Wait-ProcessesGone
    Peer.Tests.ps1:    Start-TestPeer, Stop-TestPeer, Install-Swaks, Invoke-SwaksProcess, Get-TlsInfo,
                       Assert-PeerCertificate, Assert-SwaksBannerInsideTls (Pester assertions)
#>

# --- Running programs ------------------------------------------------------------------------

function Stop-Unavailable([string] $Why) {
    # The one way a start script says "this peer cannot be provided on this machine": the tests
    # skip (not fail) on an error whose message starts with 'PEER-UNAVAILABLE:'.
    throw "PEER-UNAVAILABLE: $Why"
}

function Invoke-Tool {
    # Runs a native command, returns its combined output; throws with the output on non-zero exit.
    # No time limit; $LASTEXITCODE is the command's exit code afterwards (also with -AllowFailure).
    param([string] $FilePath, [string[]] $Arguments, [switch] $AllowFailure)
    $out = & $FilePath @Arguments 2>&1 | ForEach-Object { "$_" }
    $code = $LASTEXITCODE
    if ($code -ne 0 -and -not $AllowFailure) {
        throw "'$FilePath $($Arguments -join ' ')' exited with $code`n$($out -join "`n")"
    }
    return ($out -join "`n")
}

function Invoke-Bounded {
    <#
    Runs a program with a time limit and returns
      [pscustomobject]@{ ExitCode; TimedOut; Output; StdOut; StdErr }
    Output is stdout + stderr, trimmed ("timed out after N s" on a timeout, with ExitCode -1);
    StdOut and StdErr are the untouched streams ('' on a timeout). Never inherits PowerShell's
    stdio: stdin is a pipe that gets -InputText (if any) and is then closed, stdout/stderr are
    read here. -Environment adds or overrides variables in the child's environment only. On a
    timeout the process and its descendants are killed. Never throws for a non-zero exit.
    #>
    param(
        [string] $FilePath,
        [string[]] $Arguments,
        [string] $WorkingDirectory,
        [int] $TimeoutSeconds = 60,
        [hashtable] $Environment,
        [string] $InputText
    )
    $psi = [System.Diagnostics.ProcessStartInfo]::new($FilePath)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    if ($WorkingDirectory) { $psi.WorkingDirectory = $WorkingDirectory }
    if ($Environment) { foreach ($e in $Environment.GetEnumerator()) { $psi.Environment[$e.Key] = [string]$e.Value } }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.RedirectStandardInput = $true
    $psi.UseShellExecute = $false
    $proc = [System.Diagnostics.Process]::Start($psi)
    try {
        if ($InputText) { $proc.StandardInput.Write($InputText) }
        $proc.StandardInput.Close()
        $stdout = $proc.StandardOutput.ReadToEndAsync()
        $stderr = $proc.StandardError.ReadToEndAsync()
        if (-not $proc.WaitForExit($TimeoutSeconds * 1000)) {
            try { $proc.Kill($true) } catch { }
            [void]$proc.WaitForExit(5000)
            return [pscustomobject]@{ ExitCode = -1; TimedOut = $true; Output = "timed out after $TimeoutSeconds s"; StdOut = ''; StdErr = '' }
        }
        $proc.WaitForExit()   # lets the asynchronous readers finish
        return [pscustomobject]@{
            ExitCode = $proc.ExitCode
            TimedOut = $false
            Output   = ($stdout.Result + $stderr.Result).Trim()
            StdOut   = $stdout.Result
            StdErr   = $stderr.Result
        }
    }
    finally { $proc.Dispose() }
}

function Test-PackageInstalled([string] $Name) {
    # True when dpkg says the Debian package $Name is installed; false without dpkg-query.
    if (-not (Get-Command dpkg-query -ErrorAction SilentlyContinue)) { return $false }
    $status = & dpkg-query -W -f '${Status}' $Name 2>$null
    return ($LASTEXITCODE -eq 0 -and "$status" -match 'install ok installed')
}

# --- Debian packages that are not installed (extracted into a private tree) ------------------

function Invoke-Apt {
    # apt-get with the given arguments; returns $true on success, else $false with the output's
    # tail in $script:AptLog (the calling script's scope). Never throws.
    param([string[]] $Arguments, [string] $WorkingDirectory)
    $r = Invoke-Bounded -FilePath 'apt-get' -Arguments $Arguments -WorkingDirectory $WorkingDirectory -TimeoutSeconds 300 -Environment @{ DEBIAN_FRONTEND = 'noninteractive' }
    $script:AptLog = (($r.Output -split "`n") | Select-Object -Last 5) -join ' | '
    return ($r.ExitCode -eq 0)
}

function Get-ExtractedDebTree {
    <#
    For a peer whose package must not be installed (it would replace the system MTA): the tree
    <CacheDirectory>/root with -Packages extracted by 'dpkg-deb -x', after 'apt-get download' of
    the .debs into <CacheDirectory>/debs (once; 'apt-get update' and a retry when the download
    fails). Later calls reuse the tree and do not touch apt. The Depends of -DependsPackage are
    kept in <tree>/.depends for Install-DebLibraries. Downloads and extractions go through fresh
    directories that are renamed into place, so an interrupted one never looks complete
    (<tree>/.complete lists the .debs). Returns the tree's path. Stop-Unavailable when apt-get
    cannot provide the packages.
    #>
    param([string[]] $Packages, [string] $CacheDirectory, [string] $DependsPackage)
    $cache = [System.IO.Path]::GetFullPath($CacheDirectory)
    $debDir = Join-Path $cache 'debs'
    $tree = Join-Path $cache 'root'
    $complete = Join-Path $tree '.complete'
    if (Test-Path -LiteralPath $complete) { return $tree }

    foreach ($d in $cache, $debDir) { [void][System.IO.Directory]::CreateDirectory($d); Invoke-Tool chmod @('0755', $d) | Out-Null }
    $debs = @(foreach ($p in $Packages) { Get-ChildItem -LiteralPath $debDir -Filter "${p}_*.deb" -ErrorAction SilentlyContinue | Select-Object -First 1 })
    if ($debs.Count -ne $Packages.Count) {
        $tmp = Join-Path $cache ('download-' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
        [void][System.IO.Directory]::CreateDirectory($tmp)
        try {
            $arguments = @('download', '-q', '-o', 'APT::Sandbox::User=root') + $Packages
            Write-Verbose "apt-get $($arguments -join ' ')"
            if (-not (Invoke-Apt $arguments -WorkingDirectory $tmp)) {
                Write-Verbose "apt-get download failed ($script:AptLog); running apt-get update first"
                if (-not (Invoke-Apt @('update', '-qq'))) { Stop-Unavailable "apt-get update failed: $script:AptLog" }
                if (-not (Invoke-Apt $arguments -WorkingDirectory $tmp)) { Stop-Unavailable "apt-get download $($Packages -join ' ') failed: $script:AptLog" }
            }
            foreach ($p in $Packages) {
                $f = Get-ChildItem -LiteralPath $tmp -Filter "${p}_*.deb" | Select-Object -First 1
                if (-not $f) { throw "apt-get download did not produce ${p}_*.deb in $tmp" }
                Get-ChildItem -LiteralPath $debDir -Filter "${p}_*.deb" | Remove-Item -Force
                Move-Item -LiteralPath $f.FullName -Destination (Join-Path $debDir $f.Name) -Force
            }
        }
        finally { Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue }
        $debs = @(foreach ($p in $Packages) { Get-ChildItem -LiteralPath $debDir -Filter "${p}_*.deb" | Select-Object -First 1 })
        Write-Verbose "downloaded $($debs.Name -join ', ')"
    }

    # Extract into a fresh directory and rename it into place (another start may race us).
    $staging = Join-Path $cache ('root-' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
    try {
        foreach ($deb in $debs) { Invoke-Tool dpkg-deb @('-x', $deb.FullName, $staging) | Out-Null }
        Invoke-Tool chmod @('0755', $staging) | Out-Null
        $dependsDeb = $debs | Where-Object Name -Like "${DependsPackage}_*" | Select-Object -First 1
        [System.IO.File]::WriteAllText((Join-Path $staging '.depends'), (Invoke-Tool dpkg-deb @('-f', $dependsDeb.FullName, 'Depends')) + "`n")
        [System.IO.File]::WriteAllText((Join-Path $staging '.complete'), (($debs.Name -join "`n") + "`n"))
        # A tree without .complete is debris (the rename below only ever moves a complete one): replace it.
        if ((Test-Path -LiteralPath $tree) -and -not (Test-Path -LiteralPath $complete)) { Remove-Item -LiteralPath $tree -Recurse -Force }
        if (-not (Test-Path -LiteralPath $tree)) {
            try { [System.IO.Directory]::Move($staging, $tree) } catch { if (-not (Test-Path -LiteralPath $complete)) { throw } }
        }
    }
    finally { Remove-Item -LiteralPath $staging -Recurse -Force -ErrorAction SilentlyContinue }
    if (-not (Test-Path -LiteralPath $complete)) { throw "Extracting $($Packages -join ', ') into '$tree' did not complete." }
    Write-Verbose "extracted into $tree"
    return $tree
}

function Install-DebLibraries {
    # The shared libraries -Binary (from a Get-ExtractedDebTree tree) needs: when ldd misses one, the
    # lib* packages of the tree's .depends that are not installed are installed with apt-get (they
    # do not conflict with the system MTA); then ldd must find every library.
    param([string] $Tree, [string] $Binary)
    $missing = @(& ldd $Binary 2>&1 | Where-Object { "$_" -match 'not found' })
    if ($missing.Count -eq 0) { return }
    $depends = [System.IO.File]::ReadAllText((Join-Path $Tree '.depends'))
    $libs = @($depends -split ',' | ForEach-Object { ($_ -split '\|')[0].Trim() -replace '\s*\(.*$', '' -replace ':any$', '' } |
        Where-Object { $_ -like 'lib*' -and -not (Test-PackageInstalled $_) })
    if ($libs.Count -gt 0) {
        Write-Verbose "Installing the libraries $([System.IO.Path]::GetFileName($Binary)) needs: $($libs -join ', ')"
        $arguments = @('install', '-y', '-qq', '--no-install-recommends') + $libs
        if (-not (Invoke-Apt $arguments)) {
            if (-not ((Invoke-Apt @('update', '-qq')) -and (Invoke-Apt $arguments))) { Stop-Unavailable "apt-get install $($libs -join ' ') failed: $script:AptLog" }
        }
    }
    $missing = @(& ldd $Binary 2>&1 | Where-Object { "$_" -match 'not found' })
    if ($missing.Count -gt 0) { throw "$Binary still misses shared libraries after installing $($libs -join ', '):`n$($missing -join "`n")" }
    Write-Verbose "libraries installed: $($libs -join ', ')"
}

# --- Ports and SMTP greetings ----------------------------------------------------------------

function Test-PortFree([int] $Port) {
    # True when a listener can be bound on 127.0.0.1:$Port right now.
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $Port)
    try { $listener.Start(); return $true } catch { return $false } finally { try { $listener.Stop() } catch { } }
}

function Assert-PortFree([int] $Port, [string] $Name) {
    # Throws "Port 127.0.0.1:<Port> (<Name>) is already in use; ..." followed by what
    # 'ss -ltnp' says about its owner (when ss is there), unless the port is free.
    if (Test-PortFree $Port) { return }
    $who = ''
    if (Get-Command ss -ErrorAction SilentlyContinue) {
        $who = (Invoke-Bounded -FilePath 'ss' -Arguments @('-ltnp', "sport = :$Port") -TimeoutSeconds 10).Output
    }
    throw "Port 127.0.0.1:$Port ($Name) is already in use; pick another -BasePort or stop its owner.`n$who"
}

function Test-TcpAccept([int] $Port) {
    # True when 127.0.0.1:$Port accepts a TCP connection within 1 s (nothing is sent or read).
    $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
    try { return $client.ConnectAsync([System.Net.IPAddress]::Loopback, $Port).Wait(1000) }
    catch { return $false }
    finally { $client.Dispose() }
}

function Read-SmtpLine([System.IO.Stream] $Stream) {
    # One line from $Stream, byte by byte (nothing is read past the LF), without CR/LF.
    $sb = [System.Text.StringBuilder]::new()
    $buf = [byte[]]::new(1)
    while ($true) {
        $n = $Stream.Read($buf, 0, 1)
        if ($n -le 0) { break }
        if ($buf[0] -eq 10) { break }
        if ($buf[0] -ne 13) { [void]$sb.Append([char]$buf[0]) }
    }
    return $sb.ToString()
}

function Test-SmtpGreeting {
    # True when 127.0.0.1:$Port accepts a connection within 1 s (plus a TLS handshake, any
    # certificate, when -ImplicitTls) and greets with 220; then sends QUIT. -TimeoutMilliseconds
    # bounds each read and write after the connect.
    param([int] $Port, [switch] $ImplicitTls, [int] $TimeoutMilliseconds = 3000)
    $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
    try {
        if (-not $client.ConnectAsync([System.Net.IPAddress]::Loopback, $Port).Wait(1000)) { return $false }
        $client.ReceiveTimeout = $TimeoutMilliseconds
        $client.SendTimeout = $TimeoutMilliseconds
        [System.IO.Stream] $stream = $client.GetStream()
        if ($ImplicitTls) {
            $ssl = [System.Net.Security.SslStream]::new($stream, $false, { $true })
            $ssl.AuthenticateAsClient('localhost')
            $stream = $ssl
        }
        $line = Read-SmtpLine $stream
        if ($line -notmatch '^220[ -]') { return $false }
        $bytes = [System.Text.Encoding]::ASCII.GetBytes("QUIT`r`n")
        $stream.Write($bytes, 0, $bytes.Length)
        return $true
    }
    catch { return $false }
    finally { $client.Dispose() }
}

# --- Secrets and certificates ----------------------------------------------------------------

function New-RandomString([int] $Length = 24, [string] $Alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789') {
    # Cryptographically random string; the default alphabet (no 0/O, 1/l/I) makes the peers' passwords.
    $chars = $Alphabet.ToCharArray()
    -join (1..$Length | ForEach-Object { $chars[[System.Security.Cryptography.RandomNumberGenerator]::GetInt32($chars.Length)] })
}

function New-PeerCertificate {
    <#
    Generates a self-signed TLS server certificate with openssl: RSA 2048, SHA-256, 30 days,
    CN=localhost, SAN DNS:localhost + IP:127.0.0.1, EKU serverAuth. Writes the PEM certificate to
    -CertPath and the unencrypted PEM key to -KeyPath (mode 0600) and returns the certificate's
    thumbprint (SHA-1 of the DER encoding, upper-case hex).
    -TimeoutSeconds 0 (default) runs openssl through Invoke-Tool: no time limit, a failure throws
    "'openssl req ...' exited with <code>". A positive value runs it through Invoke-Bounded with
    that limit, a failure throws "openssl req failed (<code>):".
    #>
    param([string] $CertPath, [string] $KeyPath, [int] $TimeoutSeconds = 0)
    $arguments = @(
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
        '-keyout', $KeyPath, '-out', $CertPath,
        '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-addext', 'extendedKeyUsage=serverAuth',
        '-addext', 'keyUsage=digitalSignature,keyEncipherment'
    )
    if ($TimeoutSeconds -gt 0) {
        $r = Invoke-Bounded -FilePath 'openssl' -Arguments $arguments -TimeoutSeconds $TimeoutSeconds
        if ($r.ExitCode -ne 0) { throw "openssl req failed ($($r.ExitCode)):`n$($r.Output)" }
    }
    else {
        Invoke-Tool openssl $arguments | Out-Null
    }
    [System.IO.File]::SetUnixFileMode($KeyPath, [System.IO.UnixFileMode]'UserRead, UserWrite')
    $cert = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPem([System.IO.File]::ReadAllText($CertPath))
    try { return $cert.Thumbprint.ToUpperInvariant() }
    finally { $cert.Dispose() }
}

# --- Processes (Linux /proc) -----------------------------------------------------------------

function Read-PidFile([string] $PidFile) {
    # The pid in $PidFile, or 0 (no file, not a number, or <= 1).
    # 'cat', not Get-Content: Postfix holds an exclusive lock on master.pid and .NET's FileStream
    # takes a shared flock() on open, which fails with "being used by another process".
    if (-not (Test-Path -LiteralPath $PidFile)) { return 0 }
    $text = & cat $PidFile 2>$null
    $procId = 0
    if (-not [int]::TryParse("$text".Trim(), [ref]$procId) -or $procId -le 1) { return 0 }
    return $procId
}

function Get-ProcIds {
    # The pids of all processes in /proc.
    foreach ($dir in [System.IO.Directory]::EnumerateDirectories('/proc')) {
        $procId = 0
        if ([int]::TryParse([System.IO.Path]::GetFileName($dir), [ref]$procId)) { $procId }
    }
}

function Get-ProcStat([int] $ProcId) {
    # [pscustomobject]@{ Pid; State; PPid; PGrp } of a live process from /proc/<pid>/stat, or
    # $null when it is gone or a zombie (state Z or X: dead, not yet reaped).
    $stat = ''
    try { $stat = [System.IO.File]::ReadAllText("/proc/$ProcId/stat") } catch { return $null }
    $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')   # state ppid pgrp ...
    if ($fields[0] -eq 'Z' -or $fields[0] -eq 'X') { return $null }
    return [pscustomobject]@{ Pid = $ProcId; State = $fields[0]; PPid = [int]$fields[1]; PGrp = [int]$fields[2] }
}

function Get-ProcessState([int] $ProcId, [string[]] $ArgvTail) {
    # 'ours'  a live process whose command line ends with $ArgvTail, after at least the program
    # 'gone'  pid <= 1, no such process, or a zombie (dead, not yet reaped by init)
    # 'other' any other live process (pid reuse, or e.g. a forked sh before its exec)
    if ($ProcId -le 1 -or -not (Get-ProcStat $ProcId)) { return 'gone' }
    try { $cmd = [System.IO.File]::ReadAllText("/proc/$ProcId/cmdline") } catch { return 'gone' }
    $argv = $cmd.TrimEnd([char]0).Split([char]0)
    if ($argv.Count -le $ArgvTail.Count) { return 'other' }
    for ($i = 1; $i -le $ArgvTail.Count; $i++) {
        if ($argv[-$i] -ne $ArgvTail[-$i]) { return 'other' }
    }
    return 'ours'
}

function Wait-ProcessesGone {
    # Polls every 100 ms until none of $Pids is alive or $Seconds have passed; returns the pids
    # still alive (nothing when all are gone). Alive = -IsAlive, a script block called with one
    # pid, is true; by default Get-ProcStat (the process exists and is not a zombie). The script
    # block sees the caller's variables, except ones named like this function's ($Pids, $IsAlive,
    # $Seconds, $deadline, $alive), which it would see instead.
    param([int[]] $Pids, [scriptblock] $IsAlive = { param($p) Get-ProcStat $p }, [int] $Seconds)
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    while ($true) {
        $alive = @($Pids | Where-Object { & $IsAlive $_ })
        if ($alive.Count -eq 0) { return }
        if ([DateTime]::UtcNow -gt $deadline) { return $alive }
        Start-Sleep -Milliseconds 100
    }
}

function Resolve-PeerWorkDirectory {
    # For a Start-*Peer.ps1: the full path of the work directory (a new one under the temp folder, named -Prefix plus
    # a random part, when -WorkDirectory is empty). A previous peer in it is stopped first with -StopScript (which
    # also removes the directory); a directory that is neither empty nor the peer's (no -MarkerName file) is refused,
    # since stop scripts delete work directories.
    param([string] $WorkDirectory, [string] $Prefix, [string] $MarkerName, [string] $StartName, [string] $StopScript)
    if (-not $WorkDirectory) {
        $WorkDirectory = Join-Path ([System.IO.Path]::GetTempPath()) ($Prefix + [Guid]::NewGuid().ToString('N').Substring(0, 10))
    }
    $WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory).TrimEnd('/')
    if (Test-Path -LiteralPath $WorkDirectory) {
        if (Test-Path -LiteralPath (Join-Path $WorkDirectory $MarkerName)) {
            & $StopScript -WorkDirectory $WorkDirectory
        }
        elseif (@(Get-ChildItem -LiteralPath $WorkDirectory -Force).Count -gt 0) {
            throw "WorkDirectory '$WorkDirectory' exists, is not empty and was not created by $StartName; pick an empty or new directory."
        }
    }
    return $WorkDirectory
}

function Find-PeerProcess {
    # For a Stop-*Peer.ps1: the pids whose command line ends with -ArgvTail (Get-ProcessState 'ours'): the one in
    # -PidFile first, then, on Linux, any other found in /proc (a pid file lost or stale).
    param([string] $PidFile, [string[]] $ArgvTail)
    $pids = [System.Collections.Generic.List[int]]::new()
    $n = Read-PidFile $PidFile
    if ((Get-ProcessState $n $ArgvTail) -eq 'ours') { $pids.Add($n) }
    if ($IsLinux) {
        foreach ($n in Get-ProcIds) {
            if (-not $pids.Contains($n) -and (Get-ProcessState $n $ArgvTail) -eq 'ours') { $pids.Add($n) }
        }
    }
    return , $pids.ToArray()
}

function Stop-PeerProcess {
    # For a Stop-*Peer.ps1: SIGTERM to $Pids, a bounded wait, then SIGKILL to those still alive. Alive = -IsAlive
    # (as Wait-ProcessesGone). -Rescan, when given, returns more pids of the peer that appeared meanwhile (a daemon's
    # forked children); they get SIGKILL with the rest. Never throws: problems become warnings named after -Caller.
    param([string] $Caller, [string] $What, [int[]] $Pids, [scriptblock] $IsAlive, [int] $TimeoutSeconds, [scriptblock] $Rescan)
    if (@($Pids).Count -eq 0) { return }
    try {
        Write-Verbose "${Caller}: SIGTERM to $($Pids -join ', ')"
        foreach ($p in $Pids) { & kill -TERM $p 2>&1 | Out-Null }
        $left = @(Wait-ProcessesGone -Pids $Pids -IsAlive $IsAlive -Seconds $TimeoutSeconds)
        if ($Rescan) { $left += @(& $Rescan | Where-Object { $_ -notin $Pids }) }
        if ($left.Count -gt 0) {
            Write-Warning "${Caller}: $What $($left -join ', ') still running $TimeoutSeconds s after SIGTERM; killing it."
            foreach ($p in $left) { & kill -KILL $p 2>&1 | Out-Null }
            if (@(Wait-ProcessesGone -Pids $left -IsAlive $IsAlive -Seconds 3).Count -gt 0) { Write-Warning "${Caller}: $What $($left -join ', ') still running after SIGKILL." }
        }
    }
    catch {
        Write-Warning "${Caller}: stopping $What failed: $_"
    }
}

function Remove-PeerWorkDirectory {
    # For a Stop-*Peer.ps1: removes the work directory, unless the environment variable -KeepVariable is '1' (logs
    # kept for a post-mortem) or the directory lacks the -Marker file its start script writes (a directory the start
    # script did not create is never deleted). Never throws.
    param([string] $Caller, [string] $WorkDirectory, [string] $Marker, [string] $KeepVariable)
    try {
        if ([Environment]::GetEnvironmentVariable($KeepVariable) -eq '1') {
            Write-Verbose "${Caller}: $KeepVariable=1, keeping $WorkDirectory"
        }
        elseif (Test-Path -LiteralPath (Join-Path $WorkDirectory $Marker)) {
            Remove-Item -LiteralPath $WorkDirectory -Recurse -Force -ErrorAction Stop
        }
        elseif (Test-Path -LiteralPath $WorkDirectory) {
            Write-Warning "${Caller}: '$WorkDirectory' has no $Marker marker; not deleting it."
        }
    }
    catch {
        Write-Warning "${Caller}: could not remove '$WorkDirectory': $_"
    }
}

# --- Test helpers (Peer.Tests.ps1) -----------------------------------------------------------

function Start-TestPeer {
    # Runs a peer's Start-*Peer.ps1 and returns [pscustomobject]@{ Peer; Unavailable }: the peer
    # object and $null, or $null and the 'PEER-UNAVAILABLE: ...' message when the peer cannot be
    # provided on this machine (the tests then skip). Any other error is rethrown.
    param([string] $StartScript, [string] $WorkDirectory, [int] $BasePort)
    try { $peer = & $StartScript -WorkDirectory $WorkDirectory -BasePort $BasePort }
    catch {
        if ("$($_.Exception.Message)" -like 'PEER-UNAVAILABLE:*') { return [pscustomobject]@{ Peer = $null; Unavailable = $_.Exception.Message } }
        throw
    }
    return [pscustomobject]@{ Peer = $peer; Unavailable = $null }
}

function Stop-TestPeer([string] $StopScript, [string] $WorkDirectory) {
    # For Peer.Tests.ps1 AfterAll: runs a peer's Stop-*Peer.ps1 when the work directory exists.
    if ($WorkDirectory -and (Test-Path -LiteralPath $WorkDirectory)) { & $StopScript -WorkDirectory $WorkDirectory }
}

function Install-Swaks {
    # Makes sure swaks and its STARTTLS/TLS support (libnet-ssleay-perl, only a Recommends of
    # swaks) are installed: apt-get installs what is missing when running as root. Returns
    # whether swaks is on PATH afterwards.
    $need = @()
    if (-not (Get-Command swaks -ErrorAction SilentlyContinue)) { $need += 'swaks', 'libnet-ssleay-perl' }
    elseif ((Get-Command dpkg-query -ErrorAction SilentlyContinue) -and -not (Test-PackageInstalled 'libnet-ssleay-perl')) { $need += 'libnet-ssleay-perl' }
    if ($need -and (Get-Command apt-get -ErrorAction SilentlyContinue) -and "$(& id -u 2>$null)".Trim() -eq '0') {
        $env:DEBIAN_FRONTEND = 'noninteractive'
        & apt-get update -qq 2>&1 | Out-Null
        & apt-get install -y -qq --no-install-recommends @need 2>&1 | Out-Null
    }
    return [bool](Get-Command swaks -ErrorAction SilentlyContinue)
}

function Invoke-SwaksProcess {
    <#
    Runs swaks once against -Server:-Port and returns [pscustomobject]@{ ExitCode; Output }, Output
    being stdout + stderr as they are: NOT redacted, the caller masks its own secrets.
    swaks gets --config (no ~/.swaksrc), --timeout 15, '--ehlo <Ehlo>' when -Ehlo is given, then
    -Arguments. With -Password the password goes to swaks through SWAKS_OPT_auth_password in its
    environment (never argv) and --auth-hide-password keeps it out of the transcript.
    Throws "swaks timed out: <Arguments>" when swaks has not finished after -TimeoutSeconds.
    #>
    param([string] $Server, [int] $Port, [string[]] $Arguments, [string] $Password, [string] $Ehlo, [int] $TimeoutSeconds = 60)
    $argv = [System.Collections.Generic.List[string]]::new()
    foreach ($a in @('--config', '--server', $Server, '--port', "$Port", '--timeout', '15')) { $argv.Add($a) }
    if ($Ehlo) { $argv.Add('--ehlo'); $argv.Add($Ehlo) }
    foreach ($a in $Arguments) { $argv.Add($a) }
    $environment = @{}
    if ($PSBoundParameters.ContainsKey('Password')) {
        $environment['SWAKS_OPT_auth_password'] = $Password
        $argv.Add('--auth-hide-password')
    }
    $r = Invoke-Bounded -FilePath 'swaks' -Arguments $argv -Environment $environment -TimeoutSeconds $TimeoutSeconds
    if ($r.TimedOut) { throw "swaks timed out: $($Arguments -join ' ')" }
    [pscustomobject]@{ ExitCode = $r.ExitCode; Output = $r.StdOut + $r.StdErr }
}

function Get-TlsInfo {
    # Implicit-TLS handshake with .NET; returns the negotiated protocol, the server certificate,
    # the policy errors seen for the given target host (accepting anything) and the first line
    # the server sends (its banner).
    param([int] $Port, [string] $TargetHost = 'localhost')
    $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
    try {
        $client.Connect([System.Net.IPAddress]::Loopback, $Port)
        $client.ReceiveTimeout = 10000
        $errors = [ref][System.Net.Security.SslPolicyErrors]::None
        $ssl = [System.Net.Security.SslStream]::new($client.GetStream(), $false, {
                param($s, $c, $ch, $e) $errors.Value = $e; $true }.GetNewClosure())
        $ssl.AuthenticateAsClient($TargetHost)
        $reader = [System.IO.StreamReader]::new($ssl, [System.Text.Encoding]::ASCII)
        [pscustomobject]@{
            Protocol     = $ssl.SslProtocol
            Certificate  = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($ssl.RemoteCertificate)
            PolicyErrors = $errors.Value
            Banner       = $reader.ReadLine()
        }
    }
    finally { $client.Dispose() }
}

function Assert-PeerCertificate {
    # Pester assertions for a peer's implicit-TLS port, for the target hosts 'localhost' and
    # '127.0.0.1': the first line inside TLS is -Banner (Should -Be) or, without -Banner, matches
    # -BannerPattern; TLS 1.2 or 1.3; the certificate is the one with -Thumbprint; the only policy
    # error is the untrusted (self-signed) chain.
    param([int] $Port, [string] $Thumbprint, [string] $Banner, [string] $BannerPattern = '^220 ')
    foreach ($target in 'localhost', '127.0.0.1') {
        $tls = Get-TlsInfo -Port $Port -TargetHost $target
        if ($PSBoundParameters.ContainsKey('Banner')) { $tls.Banner | Should -Be $Banner }
        else { $tls.Banner | Should -Match $BannerPattern }
        $tls.Protocol | Should -BeIn @([System.Security.Authentication.SslProtocols]::Tls12, [System.Security.Authentication.SslProtocols]::Tls13)
        $tls.Certificate.Thumbprint | Should -Be $Thumbprint
        $tls.PolicyErrors | Should -Be ([System.Net.Security.SslPolicyErrors]::RemoteCertificateChainErrors) -Because "only the self-signed chain should be wrong for '$target'"
    }
}

function Assert-SwaksBannerInsideTls([string] $Output) {
    # Pester assertions on the transcript of a swaks --tlsc session: TLS started, and the server's
    # 220 banner came after that, i.e. inside TLS.
    $tlsAt = $Output.IndexOf('TLS started')
    $bannerAt = $Output.IndexOf('<~  220 ')
    $tlsAt | Should -BeGreaterThan -1
    $bannerAt | Should -BeGreaterThan $tlsAt -Because 'the 220 banner must arrive inside TLS'
}
