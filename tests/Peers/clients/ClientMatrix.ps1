#Requires -Version 7.0
<#
.SYNOPSIS
    The client matrix: real SMTP client software against the ExoEmulator, one submission attempt per scenario, and
    the text each client prints on failure, captured the way a user would paste it (README.md).

.DESCRIPTION
    Dot-source it after tests/Pester/emulator.ps1 (Start-ExoEmulator, New-TestToken) and tests/Peers/PeerTools.ps1;
    it only defines functions and one table of scenarios.

      Get-ClientMatrixClients       the clients, each with the command that prints its version and what it supports
      Get-ClientMatrixScenarios     the scenarios: emulator, account, mechanism, TLS mode, expected CauseId
      Start-ClientMatrixEmulators   the emulators the scenarios need; Stop-ClientMatrixEmulators
      Invoke-ClientMatrix           runs (client x scenario) pairs, a few processes at a time; returns one row each

    Secrets: passwords are the emulator's test accounts (tests/SmtpAuthTroubleshooter.ExoEmulator/Scenarios);
    they and tokens reach a client only through its environment (or curl's config on stdin), never its command line,
    and the captured texts are masked (Protect-ClientTranscript) before anything is returned.
#>

$script:ClientMatrixRoot = $PSScriptRoot

function Get-ClientMatrixScenarios {
    # Emulator: the key of the emulator (Start-ClientMatrixEmulators). Tls: the client's TLS mode. Mech: default
    # (the client's own choice of AUTH LOGIN), plain (forced), xoauth2, none (no AUTH). Token: how to mint it.
    @(
        [pscustomobject]@{ Name = 'TenantSmtpAuthOff'; Emulator = 'demo'; Tls = 'starttls'; Mech = 'default'; User = 'tenant.inherit@contoso.com'; Password = 'Demo-Inherit-3!'; From = 'tenant.inherit@contoso.com'; Expected = 'TenantSmtpAuthDisabled' }
        [pscustomobject]@{ Name = 'MailboxSmtpAuthOff'; Emulator = 'demo'; Tls = 'starttls'; Mech = 'default'; User = 'mailbox.disabled@contoso.com'; Password = 'Demo-MbxOff-4!'; From = 'mailbox.disabled@contoso.com'; Expected = 'MailboxSmtpAuthDisabled' }
        [pscustomobject]@{ Name = 'SecurityDefaults'; Emulator = 'secdef'; Tls = 'starttls'; Mech = 'default'; User = 'scanner@fabrikam.com'; Password = 'Demo-Scanner-1!'; From = 'scanner@fabrikam.com'; Expected = 'SecurityDefaultsBlockBasicAuth' }
        [pscustomobject]@{ Name = 'WrongPassword'; Emulator = 'demo'; Tls = 'starttls'; Mech = 'default'; User = 'wrong.password@contoso.com'; Password = 'Demo-Old-Password-6!'; From = 'wrong.password@contoso.com'; Expected = 'InvalidCredentials' }
        [pscustomobject]@{ Name = 'SharedMailboxSignIn'; Emulator = 'demo'; Tls = 'starttls'; Mech = 'default'; User = 'info@contoso.com'; Password = 'Demo-Shared-14!'; From = 'info@contoso.com'; Expected = 'SharedMailboxSignIn' }
        [pscustomobject]@{ Name = 'SendAsDenied'; Emulator = 'demo'; Tls = 'starttls'; Mech = 'default'; User = 'sendas.denied@contoso.com'; Password = 'Demo-SendAs-15!'; From = 'info@contoso.com'; Expected = 'SendAsDenied' }
        [pscustomobject]@{ Name = 'MailWithoutAuth'; Emulator = 'demo'; Tls = 'starttls'; Mech = 'none'; User = ''; Password = ''; From = 'healthy.basic@contoso.com'; Expected = 'NotAuthenticated' }
        [pscustomobject]@{ Name = 'AuthPlainRefused'; Emulator = 'demo'; Tls = 'starttls'; Mech = 'plain'; User = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; From = 'healthy.basic@contoso.com'; Expected = 'AuthMechanismUnsupported' }
        [pscustomobject]@{ Name = 'Tls11'; Emulator = 'tls11'; Tls = 'starttls'; Mech = 'default'; User = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; From = 'healthy.basic@contoso.com'; Expected = 'TlsVersionTooOld' }
        [pscustomobject]@{ Name = 'XOAuth2Expired'; Emulator = 'demo'; Tls = 'starttls'; Mech = 'xoauth2'; User = 'notifications@contoso.com'; Token = 'expired'; From = 'notifications@contoso.com'; Expected = 'TokenExpired' }
        [pscustomobject]@{ Name = 'XOAuth2WrongAudience'; Emulator = 'demo'; Tls = 'starttls'; Mech = 'xoauth2'; User = 'notifications@contoso.com'; Token = 'wrongaudience'; From = 'notifications@contoso.com'; Expected = 'TokenWrongAudience' }
        [pscustomobject]@{ Name = 'ImplicitTlsOnStartTlsPort'; Emulator = 'demo'; Tls = 'implicit'; Mech = 'default'; User = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; From = 'healthy.basic@contoso.com'; Expected = 'ImplicitTlsOnStartTlsPort' }
        [pscustomobject]@{ Name = 'StartTlsNotOffered'; Emulator = 'notls'; Tls = 'starttls'; Mech = 'default'; User = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; From = 'healthy.basic@contoso.com'; Expected = 'StartTlsNotOffered' }
    )
}

function Get-ClientMatrixClients {
    # Supports: the TLS modes and mechanisms the client can be made to use (a scenario outside them is not run).
    # Base and Style: a variant of a client that prints its error the other way (see below).
    $clients = @(
        [pscustomobject]@{ Name = 'python-smtplib'; Tls = 'starttls', 'implicit', 'none'; Mech = 'default', 'plain', 'xoauth2', 'none'; Exe = 'python3'
            Version = { (& python3 -c 'import sys; print("Python %d.%d.%d smtplib" % sys.version_info[:3])') } }
        [pscustomobject]@{ Name = 'nodemailer'; Tls = 'starttls', 'implicit', 'none'; Mech = 'default', 'plain', 'xoauth2', 'none'; Exe = 'node'
            Version = { 'nodemailer ' + (Get-Content -Raw (Join-Path $script:ClientMatrixRoot 'nodemailer/node_modules/nodemailer/package.json') | ConvertFrom-Json).version + ' (node ' + (& node --version) + ')' } }
        [pscustomobject]@{ Name = 'Send-MailMessage'; Batch = $true; Tls = 'starttls', 'none'; Mech = 'default', 'none'; Exe = 'pwsh'
            Version = { "PowerShell $($PSVersionTable.PSVersion) Send-MailMessage (.NET $([Environment]::Version) System.Net.Mail)" } }
        [pscustomobject]@{ Name = 'MailKit'; Batch = $true; Tls = 'starttls', 'implicit', 'none'; Mech = 'default', 'plain', 'xoauth2', 'none'; Exe = 'pwsh'
            Version = { param($deps) 'MailKit ' + [System.Diagnostics.FileVersionInfo]::GetVersionInfo((Join-Path $deps 'MailKit.dll')).ProductVersion.Split('+')[0] } }
        [pscustomobject]@{ Name = 'curl'; Tls = 'starttls', 'implicit', 'none'; Mech = 'default', 'plain', 'xoauth2', 'none'; Exe = 'curl'
            Version = { ((& curl --version) | Select-Object -First 1) -replace '^(curl \S+).*', '$1' } }
        [pscustomobject]@{ Name = 'swaks'; Tls = 'starttls', 'implicit', 'none'; Mech = 'default', 'plain', 'none'; Exe = 'swaks'
            Version = { ((& swaks --version) | Select-Object -First 1) } }
        [pscustomobject]@{ Name = 'msmtp'; Tls = 'starttls', 'implicit', 'none'; Mech = 'default', 'plain', 'xoauth2', 'none'; Exe = 'msmtp'
            Version = { ((& msmtp --version) | Select-Object -First 1) } }
        [pscustomobject]@{ Name = 'perl-Net-SMTP'; Tls = 'starttls', 'implicit', 'none'; Mech = 'default', 'plain', 'none'; Exe = 'perl'; Probe = @('-MNet::SMTP', '-MAuthen::SASL', '-MIO::Socket::SSL', '-e', '1')
            Version = { (& perl -MNet::SMTP -MAuthen::SASL -e 'print "Net::SMTP $Net::SMTP::VERSION, Authen::SASL $Authen::SASL::VERSION (perl $^V)"') } }
        [pscustomobject]@{ Name = 'PHPMailer'; Tls = 'starttls', 'implicit', 'none'; Mech = 'default', 'none'; Exe = 'php'; Probe = @('-r', 'require "/usr/share/php/libphp-phpmailer/autoload.php";')
            Version = { (& php -r 'require "/usr/share/php/libphp-phpmailer/autoload.php"; echo "PHPMailer ", PHPMailer\PHPMailer\PHPMailer::VERSION, " (PHP ", PHP_VERSION, ")";') } }
        [pscustomobject]@{ Name = 'ruby-net-smtp'; Tls = 'starttls', 'implicit', 'none'; Mech = 'default', 'plain', 'none'; Exe = 'ruby'
            Version = { (& ruby -rnet/smtp -e 'print "net-smtp #{Net::SMTP::VERSION} (ruby #{RUBY_VERSION})"') } }
    )
    $clients
    # The same clients printing the error the other way users paste it (Style full): Python's traceback, node's
    # console.log(err), MailKit's ex.ToString(), PowerShell's own error display, curl without -v, PHPMailer with
    # SMTPDebug 2, Ruby's full_message.
    foreach ($c in $clients | Where-Object Name -In 'python-smtplib', 'nodemailer', 'Send-MailMessage', 'MailKit', 'curl', 'PHPMailer', 'ruby-net-smtp') {
        $full = $c.PSObject.Copy()
        $full.Name = "$($c.Name) (full)"
        $full | Add-Member -NotePropertyName Base -NotePropertyValue $c.Name
        $full | Add-Member -NotePropertyName Style -NotePropertyValue 'full'
        $full
    }
}

function Test-ClientMatrixClient($Client) {
    # Whether the client can run here: its program is on PATH (and its library loads).
    if (-not (Get-Command $Client.Exe -CommandType Application -ErrorAction SilentlyContinue)) { return $false }
    if (($Client.Base ?? $Client.Name) -eq 'nodemailer') { return (Test-Path (Join-Path $script:ClientMatrixRoot 'nodemailer/node_modules/nodemailer/package.json')) }
    if ($Client.Probe) { $null = & $Client.Exe @($Client.Probe) 2>&1; return ($LASTEXITCODE -eq 0) }
    return $true
}

function Install-ClientMatrixNodemailer {
    # npm ci from the pinned package-lock.json; PEER-UNAVAILABLE when npm (or the registry) is not there.
    $dir = Join-Path $script:ClientMatrixRoot 'nodemailer'
    if (Test-Path (Join-Path $dir 'node_modules/nodemailer/package.json')) { return }
    if (-not (Get-Command npm -ErrorAction SilentlyContinue)) { Stop-Unavailable 'npm is not installed' }
    $r = Invoke-Bounded -FilePath npm -Arguments @('ci', '--no-audit', '--no-fund', '--loglevel=error') -WorkingDirectory $dir -TimeoutSeconds 120
    if ($r.ExitCode -ne 0) { Stop-Unavailable "npm ci for nodemailer failed: $($r.Output)" }
}

function Start-ClientMatrixEmulators {
    param([string[]] $Keys = @('demo', 'secdef', 'tls11', 'notls'), [string] $CertDirectory = ([System.IO.Path]::GetTempPath()))
    $defs = @{
        demo   = @{ Scenario = 'demo-tenant.json'; Tls = 'starttls'; Extra = @() }
        secdef = @{ Scenario = 'securitydefaults-tenant.json'; Tls = 'starttls'; Extra = @() }
        tls11  = @{ Scenario = 'demo-tenant.json'; Tls = 'starttls'; Extra = @('--simulate-tls', 'tls11') }
        notls  = @{ Scenario = 'demo-tenant.json'; Tls = 'none'; Extra = @() }
    }
    $emulators = @{}
    foreach ($k in $Keys) {
        $cert = Join-Path $CertDirectory "clientmatrix-$PID-$k.pem"
        $e = Start-ExoEmulator -Scenario $defs[$k].Scenario -Tls $defs[$k].Tls -ExtraArgs (@('--cert-out', $cert, '--max-concurrent', '50') + $defs[$k].Extra)
        $x509 = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPem((Get-Content -Raw $cert))
        $e | Add-Member -NotePropertyName CertFile -NotePropertyValue $cert
        $e | Add-Member -NotePropertyName Thumbprint -NotePropertyValue $x509.Thumbprint
        $emulators[$k] = $e
    }
    $emulators
}

function Stop-ClientMatrixEmulators($Emulators) {
    foreach ($e in $Emulators.Values) {
        Stop-ExoEmulator $e
        Remove-Item -LiteralPath $e.CertFile -ErrorAction SilentlyContinue
    }
}

function Protect-ClientTranscript([string] $Text) {
    # Masks SASL payloads in a protocol transcript (curl -v '> ', swaks ' -> '/' ~> ', PHPMailer's SMTPDebug
    # '<time> CLIENT -> SERVER: '): the argument of AUTH and every client line that answers a 334 challenge. The
    # server's lines are kept as they are.
    $out = [System.Collections.Generic.List[string]]::new()
    $afterChallenge = $false
    foreach ($line in ($Text -split "`r?`n")) {
        if ($line -match '^(?<p>\s*(?:>|->|~>)\s|.*?CLIENT -> SERVER:\s*)(?<rest>.*)$') {
            $p = $Matches.p; $rest = $Matches.rest
            if ($rest -match '^(?i)(AUTH\s+\S+)\s+\S+') { $line = "$p$($Matches[1]) ********" }
            elseif ($afterChallenge) { $line = "$p********" }
            $afterChallenge = $false
        }
        elseif ($line -match '^\s*(?:<|<-|<~)\s+334(\s|$)|SERVER -> CLIENT:\s*334(\s|$)') { $afterChallenge = $true }
        $out.Add($line)
    }
    ($out -join "`n")
}

function Get-ClientMatrixCommand {
    # The program, arguments, environment and stdin for one attempt.
    param($Client, $Scenario, $Emulator, [string] $Secret, [string] $MessageFile, [string] $MailKitDirectory)
    $root = $script:ClientMatrixRoot
    $secretIsToken = $Scenario.Mech -eq 'xoauth2'
    $env = @{
        SMTP_HOST = $Emulator.Address; SMTP_PORT = "$($Emulator.Port)"; SMTP_TLS = $Scenario.Tls; SMTP_MECH = $Scenario.Mech
        SMTP_USER = $Scenario.User; SMTP_FROM = $Scenario.From; SMTP_TO = 'partner@fabrikam.com'
        SMTP_CAFILE = $Emulator.CertFile; SMTP_CERT_THUMBPRINT = $Emulator.Thumbprint; SMTP_MAILKIT_DIR = $MailKitDirectory
        SMTP_PASS = $(if ($secretIsToken) { '' } else { $Secret }); SMTP_TOKEN = $(if ($secretIsToken) { $Secret } else { '' })
    }
    $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
    $hostPort = "$($Emulator.Address):$($Emulator.Port)"
    $env['SMTP_STYLE'] = $Client.Style ?? 'message'
    $cmd = switch ($Client.Base ?? $Client.Name) {
        'python-smtplib' { @{ File = 'python3'; Args = @((Join-Path $root 'smtplib_client.py')) } }
        'nodemailer' { @{ File = 'node'; Args = @((Join-Path $root 'nodemailer/send.js')) } }
        'Send-MailMessage' { @{ File = $pwsh; Args = @('-NoProfile', '-NonInteractive', '-File', (Join-Path $root 'SendMailMessage.client.ps1')) } }
        'MailKit' { @{ File = $pwsh; Args = @('-NoProfile', '-NonInteractive', '-File', (Join-Path $root 'MailKit.client.ps1')) } }
        'perl-Net-SMTP' { @{ File = 'perl'; Args = @((Join-Path $root 'netsmtp_client.pl')) } }
        'PHPMailer' { @{ File = 'php'; Args = @((Join-Path $root 'phpmailer_client.php')) } }
        'ruby-net-smtp' { @{ File = 'ruby'; Args = @((Join-Path $root 'netsmtp_client.rb')) } }
        'curl' {
            # curl -v, as users run it to see why; the credentials in a config read from stdin (-K -).
            $scheme = if ($Scenario.Tls -eq 'implicit') { 'smtps' } else { 'smtp' }
            $a = @($(if ($Client.Style -eq 'full') { '-sS' } else { '-v' }), '-s', '--cacert', $Emulator.CertFile, '--max-time', '20', "${scheme}://$hostPort", '--mail-from', $Scenario.From, '--mail-rcpt', 'partner@fabrikam.com', '--upload-file', $MessageFile)
            if ($Scenario.Tls -eq 'starttls') { $a += '--ssl-reqd' }
            $config = ''
            if ($Scenario.Mech -eq 'xoauth2') { $config = "user = `"$($Scenario.User):`"`noauth2-bearer = `"$Secret`"`n" }
            elseif ($Scenario.Mech -ne 'none') { $config = "user = `"$($Scenario.User):$Secret`"`n" }
            if ($Scenario.Mech -eq 'plain') { $a += @('--login-options', 'AUTH=PLAIN') }
            elseif ($Scenario.Mech -eq 'default') { $a += @('--login-options', 'AUTH=LOGIN') }
            if ($config) { $a += @('-K', '-') }
            @{ File = 'curl'; Args = $a; Input = $config }
        }
        'swaks' {
            # The password through swaks's SWAKS_OPT_ environment form, and hidden in its transcript.
            $a = @('--server', $Emulator.Address, '--port', "$($Emulator.Port)", '--from', $Scenario.From, '--to', 'partner@fabrikam.com', '--timeout', '20', '--auth-hide-password')
            if ($Scenario.Tls -eq 'starttls') { $a += '--tls' } elseif ($Scenario.Tls -eq 'implicit') { $a += '--tls-on-connect' }
            if ($Scenario.Mech -ne 'none') {
                $a += @('--auth', $(if ($Scenario.Mech -eq 'plain') { 'PLAIN' } else { 'LOGIN' }), '--auth-user', $Scenario.User)
                $env['SWAKS_OPT_auth_password'] = $Secret
            }
            @{ File = 'swaks'; Args = $a }
        }
        'msmtp' {
            $a = @("--host=$($Emulator.Address)", "--port=$($Emulator.Port)", "--from=$($Scenario.From)", '--timeout=20', "--tls-trust-file=$($Emulator.CertFile)", '--domain=localhost')
            if ($Scenario.Tls -eq 'none') { $a += '--tls=off' } else { $a += @('--tls=on', "--tls-starttls=$(if ($Scenario.Tls -eq 'starttls') { 'on' } else { 'off' })", '--tls-host-override=localhost') }
            if ($Scenario.Mech -eq 'none') { $a += '--auth=off' }
            else {
                $a += @("--auth=$(switch ($Scenario.Mech) { 'plain' { 'plain' } 'xoauth2' { 'xoauth2' } default { 'login' } })", "--user=$($Scenario.User)")
                $a += '--passwordeval=printf %s "$SMTP_SECRET"'
                $env['SMTP_SECRET'] = $Secret
            }
            $a += 'partner@fabrikam.com'
            @{ File = 'msmtp'; Args = $a; Input = "From: $($Scenario.From)`r`nTo: partner@fabrikam.com`r`nSubject: client matrix`r`n`r`nhello`r`n" }
        }
    }
    $cmd.Environment = $env
    $cmd
}

function Invoke-ClientMatrix {
    <#
    Runs every (client, scenario) pair the client supports, -ThrottleLimit processes at a time, and returns
    [pscustomobject]@{ Client; ClientVersion; Scenario; Expected; ExitCode; Text } per pair: Text is what the client
    printed (stdout + stderr, trimmed, transcripts masked); SENT when it sent.
    #>
    param([object[]] $Clients, [object[]] $Scenarios, [hashtable] $Emulators, [hashtable] $Secrets, [string] $MailKitDirectory, [int] $ThrottleLimit = 3, [int] $TimeoutSeconds = 120)
    $messageFile = Join-Path ([System.IO.Path]::GetTempPath()) "clientmatrix-$PID-message.eml"
    Set-Content -LiteralPath $messageFile -Value "From: sender@contoso.com`r`nTo: partner@fabrikam.com`r`nSubject: client matrix`r`n`r`nhello`r`n" -NoNewline
    $versions = @{}
    foreach ($c in $Clients) { $versions[$c.Name] = "$(& $c.Version $MailKitDirectory)".Trim() }
    $work = foreach ($c in $Clients) {
        $pairs = foreach ($s in $Scenarios) {
            if ($c.Tls -notcontains $s.Tls -or $c.Mech -notcontains $s.Mech) { continue }
            $secret = if ($s.Mech -eq 'xoauth2') { $Secrets[$s.Token] } else { $s.Password }
            [pscustomobject]@{ Client = $c; Scenario = $s; Command = (Get-ClientMatrixCommand -Client $c -Scenario $s -Emulator $Emulators[$s.Emulator] -Secret $secret -MessageFile $messageFile -MailKitDirectory $MailKitDirectory) }
        }
        if (-not $c.Batch) { $pairs; continue }
        # A pwsh client runs all its attempts in one process: the jobs (with their secrets) go in on stdin.
        $pairs = @($pairs)
        if ($pairs.Count -eq 0) { continue }
        $jobs = for ($i = 0; $i -lt $pairs.Count; $i++) { $j = $pairs[$i].Command.Environment.Clone(); $j.Id = $i; $j }
        $cmd = $pairs[0].Command.Clone()
        $cmd.Environment = @{ SMTP_BATCH = '1'; SMTP_MAILKIT_DIR = $MailKitDirectory; NO_COLOR = '1'; SMTP_STYLE = $c.Style ?? 'message' }
        $cmd.Input = ConvertTo-Json -InputObject @($jobs) -Compress
        [pscustomobject]@{ Client = $c; Scenario = $null; Pairs = $pairs; Command = $cmd }
    }
    try {
        $running = [System.Collections.Generic.List[object]]::new()
        $queue = [System.Collections.Generic.Queue[object]]::new([object[]]@($work))
        $results = [System.Collections.Generic.List[object]]::new()
        while ($queue.Count -gt 0 -or $running.Count -gt 0) {
            while ($queue.Count -gt 0 -and $running.Count -lt $ThrottleLimit) {
                $w = $queue.Dequeue()
                $psi = [System.Diagnostics.ProcessStartInfo]::new($w.Command.File)
                foreach ($a in $w.Command.Args) { $psi.ArgumentList.Add($a) }
                foreach ($e in $w.Command.Environment.GetEnumerator()) { $psi.Environment[$e.Key] = [string]$e.Value }
                $psi.WorkingDirectory = $script:ClientMatrixRoot
                $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.RedirectStandardInput = $true; $psi.UseShellExecute = $false
                $p = [System.Diagnostics.Process]::Start($psi)
                if ($w.Command.Input) { $p.StandardInput.Write($w.Command.Input) }
                $p.StandardInput.Close()
                $running.Add([pscustomobject]@{ Work = $w; Process = $p; Out = $p.StandardOutput.ReadToEndAsync(); Err = $p.StandardError.ReadToEndAsync(); Started = [DateTime]::UtcNow })
            }
            Start-Sleep -Milliseconds 50
            foreach ($r in @($running)) {
                $timedOut = ([DateTime]::UtcNow - $r.Started).TotalSeconds -gt $TimeoutSeconds
                if (-not $r.Process.HasExited -and -not $timedOut) { continue }
                if ($timedOut -and -not $r.Process.HasExited) { try { $r.Process.Kill($true) } catch { } }
                $r.Process.WaitForExit()
                $text = (($r.Out.Result.TrimEnd(), $r.Err.Result.TrimEnd()) | Where-Object { $_ }) -join "`n"
                if ($timedOut) { $text = "timed out after $TimeoutSeconds s`n$text" }
                $answers = if ($r.Work.Pairs) {
                    $parsed = if (-not $timedOut) { try { @($r.Out.Result | ConvertFrom-Json) } catch { $null } }
                    for ($i = 0; $i -lt $r.Work.Pairs.Count; $i++) {
                        $a = $parsed | Where-Object Id -EQ $i
                        if ($a) { [pscustomobject]@{ Scenario = $r.Work.Pairs[$i].Scenario; ExitCode = $a.ExitCode; Text = $a.Text } }
                        else { [pscustomobject]@{ Scenario = $r.Work.Pairs[$i].Scenario; ExitCode = -1; Text = "no answer from the batch: $text" } }
                    }
                }
                else { [pscustomobject]@{ Scenario = $r.Work.Scenario; ExitCode = $r.Process.ExitCode; Text = $text } }
                foreach ($a in $answers) {
                    $results.Add([pscustomobject]@{
                            Client = $r.Work.Client.Name; ClientVersion = $versions[$r.Work.Client.Name]; Scenario = $a.Scenario.Name
                            Expected = $a.Scenario.Expected; ExitCode = $a.ExitCode; Text = (Protect-ClientTranscript "$($a.Text)".Trim())
                        })
                }
                $r.Process.Dispose()
                $null = $running.Remove($r)
            }
        }
        $results
    }
    finally { Remove-Item -LiteralPath $messageFile -ErrorAction SilentlyContinue }
}

function New-ClientMatrixSecrets {
    # The two XOAUTH2 tokens, in memory only: app-only for Contoso Mailer (the demo tenant's healthy app), one
    # expired, one minted for Microsoft Graph's audience instead of Exchange Online's.
    @{
        expired       = New-TestToken -App 'b1000000-0000-4000-8000-000000000001' -ExpMinutes -5 -AsPlainText
        wrongaudience = New-TestToken -App 'b1000000-0000-4000-8000-000000000001' -Audience 'https://graph.microsoft.com' -AsPlainText
    }
}

function Get-ClientMatrixExpected {
    <#
    The CauseId(s) a client's text supports, '|' between readings the text cannot tell apart: the scenario's cause
    when the client printed the server's reply, the honest reading where it did not (Data/RealClientErrors.md):
    - a refused XOAUTH2 token: Exchange Online answers 535 5.7.3 for every token fault (expired, wrong audience ...), so
      no text names the claim: OAuthTokenRejected.
    - Send-MailMessage (System.Net.Mail) goes on to MAIL FROM after a refused AUTH and prints the 530 5.7.57 it gets there.
    - PHPMailer prints 'SMTP Error: Could not authenticate.' / 'Could not connect to SMTP host.' without the reply.
    - the shared mailbox's 535 5.7.3 names no cause: after a password (AUTH LOGIN or msmtp's '(method LOGIN)' in the
      text) a refused credential, else a refused password or token.
    - TLS 1.1: a client that does not print the 421 4.7.66 only shows a closed connection.
    - curl without -v: libcurl's error and at most the reply code.
    #>
    param([string] $Client, [string] $Scenario, [string] $Text, [string] $ScenarioCause)
    $Client = $Client -replace ' \(full\)$', ''
    $authScenarios = 'TenantSmtpAuthOff', 'MailboxSmtpAuthOff', 'SecurityDefaults', 'WrongPassword', 'SharedMailboxSignIn'
    $hasReply = $Text -match '\b[2-5]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b'
    if ($Scenario -in 'XOAuth2Expired', 'XOAuth2WrongAudience' -and $Text -notmatch 'Login denied') { return 'OAuthTokenRejected' }
    if ($Client -eq 'Send-MailMessage' -and $Scenario -in $authScenarios -and $Text -match '5\.7\.57') { return 'NotAuthenticated' }
    # PHPMailer's own sentences, without its SMTPDebug transcript.
    if ($Text -match 'Could not authenticate\.' -and -not $hasReply) { return 'InvalidCredentials' }
    if ($Text -match 'Could not connect to SMTP host\.' -and $Text -notmatch 'STARTTLS') { return 'ConnectionFailed' }
    # curl without -v prints libcurl's error and at most the reply code: 'Login denied' for every refused AUTH
    # (CURLE_LOGIN_DENIED, also when it found no mechanism to use), 'MAIL failed: 530' with or without TLS.
    if ($Text -match '^curl: \(67\) Login denied$') { return 'InvalidCredentials' }
    if ($Text -match '^curl: \(55\) MAIL failed: 530$') { return 'NotAuthenticated|StartTlsRequired' }
    if ($Scenario -eq 'SharedMailboxSignIn' -and $Text -match '5\.7\.3\b') {
        if ($Text -match '(?<!250[ -])\bAUTH LOGIN\b|\(method LOGIN\)') { return 'InvalidCredentials|SharedMailboxSignIn' }
        return 'OAuthTokenRejected|InvalidCredentials|SharedMailboxSignIn'
    }
    if ($Scenario -eq 'Tls11' -and $Text -notmatch '4\.7\.66') { return 'ConnectionFailed|NoSmtpGreeting|TlsVersionTooOld' }
    $ScenarioCause
}
