#Requires -Version 7.0
<#
.SYNOPSIS
    Starts smtp4dev 3.15.0 (NuGet dotnet tool Rnwood.Smtp4dev) on 127.0.0.1 as an SMTP AUTH test peer.

.DESCRIPTION
    Installs the tool into -ToolPath (default tests/Peers/smtp4dev/.tool, gitignored) when it is
    missing, then starts one smtp4dev process per listener, each with its own settings file, data
    directory and log under -WorkDirectory:

      BasePort      TlsMode=StartTls     STARTTLS offered; no AUTH before STARTTLS; AUTH PLAIN LOGIN after it
      BasePort + 1  TlsMode=ImplicitTls  TLS handshake first; AUTH PLAIN LOGIN   (skipped with -NoImplicitTls)

    Both require authentication before MAIL FROM and check credentials for real
    (SmtpAllowAnyCredentials = false) against two users, 'dave' and 'user@example.test', each with a
    random password generated on every start. The TLS certificate is a self-signed one generated per
    start with openssl (CN=localhost, SAN DNS:localhost, IP:127.0.0.1); smtp4dev loads it as PEM
    certificate + PEM private key. IMAP and POP3 are off, the message store is in memory, the web UI
    listens on 127.0.0.1 on a kernel-chosen port (requires the same users' credentials).

    Writes WorkDirectory/peer.json (mode 0600, contains the passwords) and returns the same data as an
    object whose default display omits the passwords.

    Throws an error whose message starts with 'PEER-UNAVAILABLE:' only when the peer cannot be
    provided on this machine: not Linux, no 'dotnet', no ASP.NET Core 10+ runtime, no openssl (and no
    way to install it). A failed 'dotnet tool install' or a failed start is a real failure.

.EXAMPLE
    $peer = ./tests/Peers/smtp4dev/Start-Smtp4devPeer.ps1 -WorkDirectory /tmp/s4d1
    $peer.users['dave']
    ./tests/Peers/smtp4dev/Stop-Smtp4devPeer.ps1 -WorkDirectory $peer.workDirectory
#>
[CmdletBinding()]
param(
    [string] $WorkDirectory,
    [ValidateRange(1024, 65534)]
    [int] $BasePort = 25920,
    [ValidateRange(5, 600)]
    [int] $StartTimeoutSeconds = 90,
    # Start only the STARTTLS listener (one process instead of two).
    [switch] $NoImplicitTls,
    # Where the dotnet tool is installed (dotnet tool install --tool-path). Shared by all runs.
    [string] $ToolPath = (Join-Path $PSScriptRoot '.tool')
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$ToolPackage = 'Rnwood.Smtp4dev'
$ToolVersion = '3.15.0'
$UserNames = @('dave', 'user@example.test')
$MarkerName = '.smtp4dev-peer'

. "$PSScriptRoot/../PeerTools.ps1"

function Get-RealPath([string] $Path) {
    $target = [System.IO.File]::ResolveLinkTarget($Path, $true)
    if ($target) { return $target.FullName }
    return [System.IO.Path]::GetFullPath($Path)
}

function Get-LogTail([string] $Path, [int] $Lines = 30) {
    $tail = Get-Content -LiteralPath $Path -Tail $Lines -ErrorAction SilentlyContinue
    return ($tail -join "`n")
}

function Assert-Prerequisites {
    if (-not $IsLinux) { Stop-Unavailable 'the smtp4dev peer scripts need Linux (/bin/sh, setsid, /proc, openssl).' }
    $dotnet = Get-Command dotnet -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $dotnet) { Stop-Unavailable "'dotnet' is not on PATH: smtp4dev $ToolVersion is a .NET tool (needs the .NET 10 SDK to install, ASP.NET Core 10 runtime to run)." }
    $script:DotnetRoot = [System.IO.Path]::GetDirectoryName((Get-RealPath $dotnet.Source))
    $runtimes = Invoke-Tool dotnet @('--list-runtimes') -AllowFailure
    $aspnet = @([regex]::Matches($runtimes, '(?m)^Microsoft\.AspNetCore\.App (\d+)\.') | Where-Object { [int]$_.Groups[1].Value -ge 10 })
    if ($aspnet.Count -eq 0) {
        Stop-Unavailable "smtp4dev $ToolVersion targets net10.0 (rollForward Major) and needs the Microsoft.AspNetCore.App 10+ runtime; 'dotnet --list-runtimes' shows:`n$runtimes"
    }
    if (-not (Get-Command openssl -ErrorAction SilentlyContinue)) {
        $uid = "$(& id -u 2>$null)".Trim()
        if ($uid -eq '0' -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
            Write-Verbose 'Installing openssl'
            $env:DEBIAN_FRONTEND = 'noninteractive'
            $log = & apt-get install -y -qq --no-install-recommends openssl 2>&1 | ForEach-Object { "$_" }
            if ($LASTEXITCODE -ne 0) {
                & apt-get update -qq 2>&1 | Out-Null
                $log = & apt-get install -y -qq --no-install-recommends openssl 2>&1 | ForEach-Object { "$_" }
            }
        }
        if (-not (Get-Command openssl -ErrorAction SilentlyContinue)) { Stop-Unavailable 'openssl (for the per-start self-signed certificate) is not installed and could not be installed.' }
    }
}

function Install-Smtp4devTool {
    # Installs Rnwood.Smtp4dev $ToolVersion into $ToolPath unless already there; returns the real path
    # of its executable (the apphost 'Rnwood.Smtp4dev'). Serialised across concurrent runs by a lock file.
    [void][System.IO.Directory]::CreateDirectory($ToolPath)
    $shim = Join-Path $ToolPath 'smtp4dev'
    $storeDir = Join-Path $ToolPath ".store/$($ToolPackage.ToLowerInvariant())/$ToolVersion"
    $lockPath = Join-Path $ToolPath '.install.lock'
    $lock = $null
    $deadline = [DateTime]::UtcNow.AddSeconds([Math]::Max(120, $StartTimeoutSeconds))
    while (-not $lock) {
        try { $lock = [System.IO.File]::Open($lockPath, 'OpenOrCreate', 'ReadWrite', 'None') }
        catch {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Could not lock $lockPath (another run installing smtp4dev?): $_" }
            Start-Sleep -Milliseconds 250
        }
    }
    try {
        if ((Test-Path -LiteralPath $shim) -and (Test-Path -LiteralPath $storeDir)) {
            Write-Verbose "smtp4dev $ToolVersion already installed in $ToolPath"
        }
        else {
            if (Test-Path -LiteralPath $shim) {
                Write-Verbose "Removing other smtp4dev version from $ToolPath"
                Invoke-Tool dotnet @('tool', 'uninstall', $ToolPackage, '--tool-path', $ToolPath) -AllowFailure | Out-Null
            }
            Write-Verbose "Installing $ToolPackage $ToolVersion into $ToolPath"
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            Push-Location -LiteralPath $PSScriptRoot   # the repository's nuget.config and global.json apply
            try {
                $out = Invoke-Tool dotnet @('tool', 'install', $ToolPackage, '--version', $ToolVersion, '--tool-path', $ToolPath) -AllowFailure
                $code = $LASTEXITCODE
            }
            finally { Pop-Location }
            if ($code -ne 0 -or -not (Test-Path -LiteralPath $shim)) {
                throw "dotnet tool install $ToolPackage --version $ToolVersion --tool-path $ToolPath failed (exit $code):`n$out"
            }
            Write-Verbose ("Installed in {0:N1} s" -f $sw.Elapsed.TotalSeconds)
        }
    }
    finally { $lock.Dispose() }
    return (Get-RealPath $shim)
}

function Start-Detached {
    # Starts $FilePath in a new session (setsid) with stdin from /dev/null and stdout+stderr appended to
    # $LogFile, so it holds none of PowerShell's pipes; returns its pid. The environment is the current
    # one minus anything smtp4dev would read as configuration, plus $Environment.
    param([string] $FilePath, [string[]] $Arguments, [string] $LogFile, [string] $WorkingDirectory, [hashtable] $Environment)
    $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh')
    foreach ($a in @('-c', 'log="$1"; shift; setsid "$@" </dev/null >>"$log" 2>&1 & echo $!', 'sh', $LogFile, $FilePath) + $Arguments) {
        $psi.ArgumentList.Add($a)
    }
    $psi.WorkingDirectory = $WorkingDirectory
    $psi.UseShellExecute = $false
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    # smtp4dev adds every environment variable to its configuration (no prefix): drop the sections it binds.
    foreach ($k in @($psi.Environment.Keys)) {
        if ($k -match '^(ServerOptions|RelayOptions|DesktopOptions|ClientOptions|Serilog|Kestrel|Logging|AllowedHosts|urls$|ASPNETCORE_|DOTNET_URLS|DOTNET_ENVIRONMENT)') {
            [void]$psi.Environment.Remove($k)
        }
    }
    foreach ($e in $Environment.GetEnumerator()) { $psi.Environment[$e.Key] = [string]$e.Value }
    $proc = [System.Diagnostics.Process]::Start($psi)
    $proc.StandardInput.Close()
    $stdout = $proc.StandardOutput.ReadToEndAsync()
    $stderr = $proc.StandardError.ReadToEndAsync()
    if (-not $proc.WaitForExit(15000)) { try { $proc.Kill($true) } catch { }; throw "/bin/sh did not return while starting $FilePath" }
    $proc.WaitForExit()
    $procId = 0
    if ($proc.ExitCode -ne 0 -or -not [int]::TryParse($stdout.Result.Trim(), [ref]$procId) -or $procId -le 1) {
        throw "Could not start $FilePath (sh exit $($proc.ExitCode)): $($stdout.Result) $($stderr.Result)"
    }
    return $procId
}

# ---------------------------------------------------------------------------------------------
$clock = [System.Diagnostics.Stopwatch]::StartNew()
function Write-Phase([string] $What) { Write-Verbose ('[{0,6} ms] {1}' -f $clock.ElapsedMilliseconds, $What) }

Assert-Prerequisites
Write-Phase 'prerequisites present'

if (-not $WorkDirectory) {
    $WorkDirectory = Join-Path ([System.IO.Path]::GetTempPath()) ('smtp4dev-peer-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
}
$WorkDirectory = [System.IO.Path]::GetFullPath($WorkDirectory).TrimEnd('/')
$ToolPath = [System.IO.Path]::GetFullPath($ToolPath)
$stopScript = Join-Path $PSScriptRoot 'Stop-Smtp4devPeer.ps1'

# Re-using a work directory: stop what a previous start left there (Stop also removes the directory).
# Refuse a non-empty directory that is not ours, since it would be deleted.
if (Test-Path -LiteralPath $WorkDirectory) {
    $isOurs = Test-Path -LiteralPath (Join-Path $WorkDirectory $MarkerName)
    $isEmpty = -not (Get-ChildItem -LiteralPath $WorkDirectory -Force | Select-Object -First 1)
    if (-not $isOurs -and -not $isEmpty) {
        throw "WorkDirectory '$WorkDirectory' exists, is not empty and was not created by Start-Smtp4devPeer.ps1 (no $MarkerName); choose a new or empty directory."
    }
    if ($isOurs) { & $stopScript -WorkDirectory $WorkDirectory }
}

$smtp4dev = Install-Smtp4devTool
Write-Phase "tool present: $smtp4dev"

$instances = [System.Collections.Generic.List[object]]::new()
$instances.Add([pscustomobject]@{ Name = 'starttls'; Port = $BasePort; TlsMode = 'StartTls'; ProcId = 0; WebUrl = $null })
if (-not $NoImplicitTls) {
    $instances.Add([pscustomobject]@{ Name = 'implicit'; Port = $BasePort + 1; TlsMode = 'ImplicitTls'; ProcId = 0; WebUrl = $null })
}
foreach ($i in $instances) { Assert-PortFree $i.Port $i.Name }

# --- Layout -----------------------------------------------------------------------------------
$logDir = Join-Path $WorkDirectory 'log'
$runDir = Join-Path $WorkDirectory 'run'
$certPath = Join-Path $WorkDirectory 'cert.pem'
$keyPath = Join-Path $WorkDirectory 'key.pem'
$peerJson = Join-Path $WorkDirectory 'peer.json'
[void][System.IO.Directory]::CreateDirectory($WorkDirectory)
[System.IO.File]::SetUnixFileMode($WorkDirectory, [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
[System.IO.File]::WriteAllText((Join-Path $WorkDirectory $MarkerName), "Created by Start-Smtp4devPeer.ps1; Stop-Smtp4devPeer.ps1 deletes this directory.`n")

$started = $false
try {
    foreach ($d in @($logDir, $runDir)) { [void][System.IO.Directory]::CreateDirectory($d) }

    # --- Certificate (self-signed, CN=localhost, SAN DNS:localhost + IP:127.0.0.1) --------------
    $thumbprint = New-PeerCertificate -CertPath $certPath -KeyPath $keyPath
    Write-Phase 'certificate generated'

    # --- Users (random password per start) -------------------------------------------------------
    $users = [ordered]@{}
    foreach ($u in $UserNames) { $users[$u] = New-RandomString }

    # --- One smtp4dev per listener ---------------------------------------------------------------
    foreach ($i in $instances) {
        $dataDir = Join-Path $WorkDirectory $i.Name
        foreach ($d in @($dataDir, "$dataDir/home", "$dataDir/tmp", "$dataDir/xdg")) { [void][System.IO.Directory]::CreateDirectory($d) }
        # User settings file (smtp4dev reads <DataDir>/appsettings.json over its packaged defaults;
        # --baseappdatapath makes DataDir this directory). Holds the passwords, hence 0600.
        $settings = [ordered]@{
            ServerOptions = [ordered]@{
                HostName                                    = 'localhost'
                Port                                        = $i.Port
                BindAddress                                 = '127.0.0.1'
                AllowRemoteConnections                      = $false
                DisableIPv6                                 = $true
                Urls                                        = 'http://127.0.0.1:0'
                BasePath                                    = '/'
                Database                                    = ''
                ImapPort                                    = $null
                Pop3Port                                    = $null
                TlsMode                                     = $i.TlsMode
                SslProtocols                                = 'Tls12,Tls13'
                TlsCertificateStoreThumbprint               = ''
                TlsCertificate                              = $certPath
                TlsCertificatePrivateKey                    = $keyPath
                TlsCertificatePassword                      = ''
                AuthenticationRequired                      = $true
                SecureConnectionRequired                    = $false
                SmtpAllowAnyCredentials                     = $false
                SmtpEnabledAuthTypesWhenNotSecureConnection = ''
                SmtpEnabledAuthTypesWhenSecureConnection    = 'PLAIN,LOGIN'
                CredentialsValidationExpression             = ''
                WebAuthenticationRequired                   = $true
                LockSettings                                = $true
                NumberOfMessagesToKeep                      = 100
                NumberOfSessionsToKeep                      = 100
                Users                                       = @($users.GetEnumerator() | ForEach-Object { [ordered]@{ Username = $_.Key; Password = $_.Value; DefaultMailbox = 'Default' } })
            }
            RelayOptions  = [ordered]@{ SmtpServer = ''; AutomaticEmails = @(); Login = ''; Password = '' }
        }
        $settingsPath = Join-Path $dataDir 'appsettings.json'
        [System.IO.File]::WriteAllText($settingsPath, '')
        [System.IO.File]::SetUnixFileMode($settingsPath, [System.IO.UnixFileMode]'UserRead, UserWrite')
        [System.IO.File]::WriteAllText($settingsPath, ($settings | ConvertTo-Json -Depth 6))

        $log = Join-Path $logDir "smtp4dev-$($i.Name).log"
        $childEnv = @{
            HOME              = "$dataDir/home"     # ASP.NET Core data-protection keys go to ~/.aspnet
            TMPDIR            = "$dataDir/tmp"
            XDG_CONFIG_HOME   = "$dataDir/xdg"      # .NET ApplicationData: smtp4dev's editable settings path
            XDG_DATA_HOME     = "$dataDir/xdg"
            XDG_CACHE_HOME    = "$dataDir/xdg"
            DOTNET_ROOT       = $script:DotnetRoot
            DOTNET_gcServer   = '0'                 # the tool's runtimeconfig asks for Server GC; keep it light
            DOTNET_NOLOGO     = '1'
        }
        $i.ProcId = Start-Detached -FilePath $smtp4dev -Arguments @("--baseappdatapath=$dataDir") -LogFile $log -WorkingDirectory $dataDir -Environment $childEnv
        [System.IO.File]::WriteAllText((Join-Path $runDir "$($i.Name).pid"), "$($i.ProcId)`n")
        Write-Phase "smtp4dev '$($i.Name)' started, pid $($i.ProcId)"
    }

    # --- Wait for every listener: 220 banner on SMTP and Kestrel's "Now listening on" ---------------
    $deadline = [DateTime]::UtcNow.AddSeconds($StartTimeoutSeconds)
    $pending = [System.Collections.Generic.List[object]]::new($instances)
    while ($pending.Count -gt 0) {
        foreach ($i in @($pending)) {
            $log = Join-Path $logDir "smtp4dev-$($i.Name).log"
            if (-not (Get-ProcStat $i.ProcId)) {
                throw "smtp4dev '$($i.Name)' (pid $($i.ProcId)) exited during start-up. Last lines of ${log}:`n$(Get-LogTail $log)"
            }
            # smtp4dev does not exit when its SMTP listener cannot start (e.g. port taken between our
            # check and its bind): it logs '[FTL] SMTP server failed to start' and keeps the web UI up.
            if (Select-String -LiteralPath $log -Pattern '^\[FTL\]' -Quiet -ErrorAction SilentlyContinue) {
                throw "smtp4dev '$($i.Name)' (pid $($i.ProcId)) logged a fatal error. Last lines of ${log}:`n$(Get-LogTail $log)"
            }
            if (-not $i.WebUrl) {
                $m = Select-String -LiteralPath $log -Pattern 'Now listening on: (http://\S+)' -ErrorAction SilentlyContinue | Select-Object -First 1
                if ($m) { $i.WebUrl = $m.Matches[0].Groups[1].Value }
            }
            if ($i.WebUrl -and (Test-SmtpGreeting -Port $i.Port -ImplicitTls:($i.TlsMode -eq 'ImplicitTls') -TimeoutMilliseconds 5000)) {
                Write-Phase "smtp4dev '$($i.Name)' answers 220 on $($i.Port); web UI $($i.WebUrl)"
                [void]$pending.Remove($i)
            }
        }
        if ($pending.Count -eq 0) { break }
        if ([DateTime]::UtcNow -gt $deadline) {
            $detail = foreach ($i in $pending) { "--- $($i.Name) (port $($i.Port)):`n$(Get-LogTail (Join-Path $logDir "smtp4dev-$($i.Name).log"))" }
            throw "smtp4dev did not answer 220 (and log 'Now listening on') within $StartTimeoutSeconds s on port(s) $(($pending | ForEach-Object Port) -join ', ').`n$($detail -join "`n")"
        }
        Start-Sleep -Milliseconds 200
    }
    $started = $true
}
finally {
    if (-not $started) { & $stopScript -WorkDirectory $WorkDirectory }
}

# --- Result ----------------------------------------------------------------------------------
$implicit = $instances | Where-Object Name -EQ 'implicit'
$result = [ordered]@{
    host                  = '127.0.0.1'
    startTlsPort          = $BasePort
    implicitTlsPort       = if ($implicit) { $implicit.Port } else { $null }
    users                 = $users
    userNames             = @($users.Keys)
    pids                  = @($instances | ForEach-Object ProcId)
    webUrls               = [ordered]@{}
    certificatePath       = $certPath
    certificateThumbprint = $thumbprint
    smtp4devVersion       = $ToolVersion
    workDirectory         = $WorkDirectory
    logPath               = $logDir
    logFiles              = @($instances | ForEach-Object { Join-Path $logDir "smtp4dev-$($_.Name).log" })
}
foreach ($i in $instances) { $result.webUrls[$i.Name] = $i.WebUrl }
[System.IO.File]::WriteAllText($peerJson, '')
[System.IO.File]::SetUnixFileMode($peerJson, [System.IO.UnixFileMode]'UserRead, UserWrite')
[System.IO.File]::WriteAllText($peerJson, ($result | ConvertTo-Json -Depth 4))
Write-Phase 'peer.json written'

$typeName = 'SmtpAuthTroubleshooter.Tests.Smtp4devPeer'
Update-TypeData -TypeName $typeName -DefaultDisplayPropertySet host, startTlsPort, implicitTlsPort, userNames, pids, certificateThumbprint, workDirectory, logPath -Force
$obj = [pscustomobject]$result
$obj.PSObject.TypeNames.Insert(0, $typeName)
$obj
