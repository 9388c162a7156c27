#Requires -Version 7.0
# Pester 5 checks of the smtp4dev peer, made with swaks and with a raw SMTP dialog over .NET sockets
# (TcpClient/SslStream - no MailKit, nothing from the module under test).
# Run: Invoke-Pester tests/Peers/smtp4dev/Peer.Tests.ps1
# Skipped (not failed) only when Start-Smtp4devPeer.ps1 says PEER-UNAVAILABLE.
# Environment: SMTP4DEV_PEER_BASEPORT (default 25960; the module's own tests use 25920),
# SMTP4DEV_PEER_KEEP=1 keeps the tests' work directory (logs) after the run.

BeforeAll {
    . "$PSScriptRoot/../PeerTools.ps1"
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('smtp4dev-peer-tests-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
    $script:BasePort = if ($env:SMTP4DEV_PEER_BASEPORT) { [int]$env:SMTP4DEV_PEER_BASEPORT } else { 25960 }
    $script:Unavailable = $null
    $script:Peer = $null

    if (-not (Install-Swaks)) { throw 'swaks is not installed and could not be installed (apt-get install swaks libnet-ssleay-perl).' }

    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $start = Start-TestPeer -StartScript (Join-Path $PSScriptRoot 'Start-Smtp4devPeer.ps1') -WorkDirectory $script:PeerDir -BasePort $script:BasePort
    $script:Peer = $start.Peer
    $script:Unavailable = $start.Unavailable
    if ($script:Peer) { Write-Host ("smtp4dev peer started in {0:N1} s" -f $sw.Elapsed.TotalSeconds) }

    function Skip-IfUnavailable {
        if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }
        return $false
    }

    function Get-Password([string] $User) { return [string]$script:Peer.users[$User] }

    function Get-Secrets {
        # Every form in which a password could leak into a log: clear, base64 (AUTH LOGIN), AUTH PLAIN blob.
        foreach ($u in $script:Peer.userNames) {
            $p = Get-Password $u
            $p
            [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($p))
            [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes("`0$u`0$p"))
        }
    }

    function Hide-Secrets([string] $Text) {
        foreach ($s in Get-Secrets) { $Text = $Text.Replace($s, '***') }
        return $Text
    }

    function Invoke-Swaks {
        # swaks against the peer (PeerTools.ps1: Invoke-SwaksProcess), every secret masked in its output.
        param([int] $Port, [string[]] $Arguments, [string] $Password)
        $r = Invoke-SwaksProcess -Server $script:Peer.host -Ehlo 'probe.example.test' @PSBoundParameters
        $r.Output = Hide-Secrets $r.Output
        $r
    }

    function Read-Reply([System.IO.StreamReader] $Reader) {
        # One SMTP reply: all its lines ('250-...' continuation lines up to the '250 ...' last line).
        $lines = [System.Collections.Generic.List[string]]::new()
        while ($true) {
            $line = $Reader.ReadLine()
            if ($null -eq $line) { break }
            $lines.Add($line)
            if ($line.Length -lt 4 -or $line[3] -ne '-') { break }
        }
        return , $lines.ToArray()
    }

    function Invoke-SmtpDialog {
        # Raw SMTP client over TcpClient (+ SslStream for -ImplicitTls or after a 220 to 'STARTTLS').
        # Returns the banner and, per command, the reply lines. Accepts any server certificate.
        param([int] $Port, [string[]] $Commands, [switch] $ImplicitTls)
        $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
        try {
            $client.Connect([System.Net.IPAddress]::Loopback, $Port)
            $client.ReceiveTimeout = 15000
            $client.SendTimeout = 15000
            [System.IO.Stream] $stream = $client.GetStream()
            if ($ImplicitTls) {
                $ssl = [System.Net.Security.SslStream]::new($stream, $false, { $true })
                $ssl.AuthenticateAsClient('localhost')
                $stream = $ssl
            }
            $reader = [System.IO.StreamReader]::new($stream, [System.Text.Encoding]::ASCII, $false, 1024, $true)
            $banner = Read-Reply $reader
            $steps = foreach ($c in $Commands) {
                $bytes = [System.Text.Encoding]::ASCII.GetBytes("$c`r`n")
                $stream.Write($bytes, 0, $bytes.Length)
                $stream.Flush()
                $reply = Read-Reply $reader
                if ($c -eq 'STARTTLS' -and $reply.Count -gt 0 -and $reply[0] -like '220 *') {
                    $ssl = [System.Net.Security.SslStream]::new($stream, $false, { $true })
                    $ssl.AuthenticateAsClient('localhost')
                    $stream = $ssl
                    $reader = [System.IO.StreamReader]::new($stream, [System.Text.Encoding]::ASCII, $false, 1024, $true)
                }
                [pscustomobject]@{ Command = $c; Reply = $reply }
            }
            [pscustomobject]@{ Banner = $banner; Steps = @($steps) }
        }
        finally { $client.Dispose() }
    }

    function Get-PlainBlob([string] $User, [string] $Password) {
        [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes("`0$User`0$Password"))
    }

    $script:Banner = '220 localhost smtp4dev ready'
    $script:EhloBeforeTls = @('250-Nice to meet you.', '250-8BITMIME', '250-SIZE', '250-SMTPUTF8', '250 STARTTLS')
    $script:EhloAfterTls = @('250-Nice to meet you.', '250-8BITMIME', '250-SIZE', '250-SMTPUTF8', '250-AUTH=PLAIN LOGIN', '250 AUTH PLAIN LOGIN')
    $script:NotAllowed = '535 Specified AUTH mechanism not allowed right now (might require secure connection etc)'
    $script:Envelope = @('--from', 'dave@example.test', '--to', 'someone@elsewhere.example')
}

AfterAll {
    Stop-TestPeer -StopScript (Join-Path $PSScriptRoot 'Stop-Smtp4devPeer.ps1') -WorkDirectory $script:PeerDir
}

Describe 'smtp4dev peer' -Tag 'Peer' {

    Context 'peer.json and processes' {
        It 'describes the running peer with the documented shape' {
            if (Skip-IfUnavailable) { return }
            $path = Join-Path $script:PeerDir 'peer.json'
            $json = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json
            @($json.PSObject.Properties.Name) | Should -Be @('host', 'startTlsPort', 'implicitTlsPort', 'users', 'userNames', 'pids', 'webUrls', 'certificatePath', 'certificateThumbprint', 'smtp4devVersion', 'workDirectory', 'logPath', 'logFiles')
            $json.host | Should -Be '127.0.0.1'
            $json.startTlsPort | Should -Be $script:BasePort
            $json.implicitTlsPort | Should -Be ($script:BasePort + 1)
            @($json.userNames) | Should -Be @('dave', 'user@example.test')
            @($json.users.PSObject.Properties.Name) | Should -Be @('dave', 'user@example.test')
            $json.users.dave | Should -Match '^[A-Za-z0-9]{24}$'
            $json.users.'user@example.test' | Should -Match '^[A-Za-z0-9]{24}$'
            $json.users.dave | Should -Not -Be $json.users.'user@example.test'
            $json.users.dave | Should -Be (Get-Password 'dave')
            @($json.pids).Count | Should -Be 2
            $json.certificateThumbprint | Should -Match '^[0-9A-F]{40}$'
            $json.smtp4devVersion | Should -Be '3.15.0'
            $json.workDirectory | Should -Be $script:Peer.workDirectory
            $json.logPath | Should -Be (Join-Path $script:PeerDir 'log')
            foreach ($f in $json.logFiles) { Test-Path -LiteralPath $f | Should -BeTrue }
            [System.IO.File]::GetUnixFileMode($path) | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
            foreach ($n in 'starttls', 'implicit') {
                [System.IO.File]::GetUnixFileMode((Join-Path $script:PeerDir "$n/appsettings.json")) | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
            }
        }

        It 'does not show the passwords in the default display of the returned object' {
            if (Skip-IfUnavailable) { return }
            $shown = $script:Peer | Out-String
            $shown | Should -Match 'dave'
            foreach ($u in $script:Peer.userNames) { $shown | Should -Not -BeLike "*$(Get-Password $u)*" }
        }

        It 'runs smtp4dev 3.15.0 from the tool folder, listening on 127.0.0.1 only (SMTP + web UI, no IMAP/POP3)' {
            if (Skip-IfUnavailable) { return }
            $ss = (& ss -Hltnp 2>&1) -join "`n"
            foreach ($procId in $script:Peer.pids) {
                $exe = (Get-Item -LiteralPath "/proc/$procId/exe" -Force).LinkTarget
                $exe | Should -BeLike '*/rnwood.smtp4dev/3.15.0/*/Rnwood.Smtp4dev'
                $mine = @($ss -split "`n" | Where-Object { $_ -match "pid=$procId," })
                $mine.Count | Should -Be 2 -Because "one SMTP and one web listener per process:`n$($mine -join "`n")"
                foreach ($l in $mine) { ($l -split '\s+')[3] | Should -Match '^127\.0\.0\.1:\d+$' }
            }
            foreach ($port in $script:Peer.startTlsPort, $script:Peer.implicitTlsPort) {
                $ss | Should -Match "127\.0\.0\.1:$port\s"
            }
        }

        It 'keeps the web UI on loopback behind Basic authentication with the same users' {
            if (Skip-IfUnavailable) { return }
            $http = [System.Net.Http.HttpClient]::new()
            try {
                $url = "$($script:Peer.webUrls.starttls)/api/server"
                $url | Should -Match '^http://127\.0\.0\.1:\d+/api/server$'
                $anon = $http.GetAsync($url).GetAwaiter().GetResult()
                [int]$anon.StatusCode | Should -Be 401
                $req = [System.Net.Http.HttpRequestMessage]::new('GET', $url)
                $req.Headers.Authorization = [System.Net.Http.Headers.AuthenticationHeaderValue]::new('Basic',
                    [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes("dave:$(Get-Password 'dave')")))
                [int]$http.SendAsync($req).GetAwaiter().GetResult().StatusCode | Should -Be 200
            }
            finally { $http.Dispose() }
        }

        It 'keeps runtime state (data-protection keys) inside the work directory' {
            if (Skip-IfUnavailable) { return }
            foreach ($n in 'starttls', 'implicit') {
                @(Get-ChildItem -LiteralPath (Join-Path $script:PeerDir "$n/home/.aspnet/DataProtection-Keys") -Filter 'key-*.xml').Count | Should -BeGreaterThan 0
            }
        }
    }

    Context 'STARTTLS port (BasePort)' {
        It 'greets, offers STARTTLS and no AUTH before TLS, and AUTH PLAIN LOGIN after it' {
            if (Skip-IfUnavailable) { return }
            $d = Invoke-SmtpDialog -Port $script:Peer.startTlsPort -Commands @('EHLO probe.example.test', 'STARTTLS', 'EHLO probe.example.test', 'QUIT')
            $d.Banner | Should -Be @($script:Banner)
            $d.Steps[0].Reply | Should -Be $script:EhloBeforeTls
            $d.Steps[1].Reply | Should -Be @('220 Ready to start TLS')
            $d.Steps[2].Reply | Should -Be $script:EhloAfterTls
            $d.Steps[3].Reply | Should -Be @('221 Goodbye')
        }

        It 'refuses AUTH before STARTTLS (even with the right password) and MAIL before AUTH' {
            if (Skip-IfUnavailable) { return }
            $blob = Get-PlainBlob 'dave' (Get-Password 'dave')
            $d = Invoke-SmtpDialog -Port $script:Peer.startTlsPort -Commands @('EHLO probe.example.test', "AUTH PLAIN $blob", 'AUTH LOGIN', 'MAIL FROM:<dave@example.test>', 'QUIT')
            $d.Steps[1].Reply | Should -Be @($script:NotAllowed)
            $d.Steps[2].Reply | Should -Be @($script:NotAllowed)
            $d.Steps[3].Reply | Should -Be @('530 Authentication is required')
        }

        It 'AUTH LOGIN with the right password succeeds for <_>' -ForEach @('dave', 'user@example.test') {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password (Get-Password $_) -Arguments @(
                '--tls', '--auth', 'LOGIN', '--auth-user', $_, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match 'TLS started'
            $r.Output | Should -Match '<~  334 VXNlcm5hbWU6'   # "Username:"
            $r.Output | Should -Match '<~  334 UGFzc3dvcmQ6'   # "Password:"
            $r.Output | Should -Match '<~  235 Authenticated OK'
        }

        It 'AUTH PLAIN with the right password succeeds for <_>' -ForEach @('dave', 'user@example.test') {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password (Get-Password $_) -Arguments @(
                '--tls', '--auth', 'PLAIN', '--auth-user', $_, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match '<~  235 Authenticated OK'
        }

        It 'answers a wrong password with "535 Authentication failure" (<_>)' -ForEach @('LOGIN', 'PLAIN') {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password 'definitely-wrong' -Arguments @(
                '--tls', '--auth', $_, '--auth-user', 'dave', '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 28 -Because $r.Output   # swaks: error in AUTH transaction
            $r.Output | Should -Match '<~\* 535 Authentication failure'
        }

        It 'checks each password against its own user' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password (Get-Password 'user@example.test') -Arguments @(
                '--tls', '--auth', 'PLAIN', '--auth-user', 'dave', '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 28 -Because $r.Output
            $r.Output | Should -Match '<~\* 535 Authentication failure'
            $unknown = Invoke-Swaks -Port $script:Peer.startTlsPort -Password (Get-Password 'dave') -Arguments @(
                '--tls', '--auth', 'PLAIN', '--auth-user', 'nobody', '--quit-after', 'AUTH')
            $unknown.ExitCode | Should -Be 28 -Because $unknown.Output
        }

        It 'answers AUTH XOAUTH2 and CRAM-MD5 (known but disabled) with 535 and an unknown mechanism with 504' {
            if (Skip-IfUnavailable) { return }
            $xoauth = [Convert]::ToBase64String([System.Text.Encoding]::ASCII.GetBytes("user=dave`u{1}auth=Bearer not-a-token`u{1}`u{1}"))
            $d = Invoke-SmtpDialog -Port $script:Peer.startTlsPort -Commands @(
                'EHLO probe.example.test', 'STARTTLS', 'EHLO probe.example.test',
                "AUTH XOAUTH2 $xoauth", 'AUTH XOAUTH2', 'AUTH CRAM-MD5', 'AUTH NTLM', 'QUIT')
            $d.Steps[3].Reply | Should -Be @($script:NotAllowed)
            $d.Steps[4].Reply | Should -Be @($script:NotAllowed)
            $d.Steps[5].Reply | Should -Be @($script:NotAllowed)
            $d.Steps[6].Reply | Should -Be @('504 Specified AUTH mechanism not supported')
        }

        It 'accepts a message after AUTH (and refuses MAIL after TLS without AUTH)' {
            if (Skip-IfUnavailable) { return }
            $d = Invoke-SmtpDialog -Port $script:Peer.startTlsPort -Commands @('EHLO probe.example.test', 'STARTTLS', 'EHLO probe.example.test', 'MAIL FROM:<dave@example.test>', 'QUIT')
            $d.Steps[3].Reply | Should -Be @('530 Authentication is required')

            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password (Get-Password 'dave') -Arguments (@(
                    '--tls', '--auth', 'PLAIN', '--auth-user', 'dave', '--header', 'Subject: smtp4dev peer test') + $script:Envelope)
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match '<~  250 New message started'
            $r.Output | Should -Match '<~  250 Recipient accepted'
            $r.Output | Should -Match '<~  354 End message with period'
            $r.Output | Should -Match '<~  250 Mail accepted'
            $log = Join-Path $script:Peer.logPath 'smtp4dev-starttls.log'
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            $line = $null
            while (-not $line -and [DateTime]::UtcNow -lt $deadline) {
                $line = Select-String -LiteralPath $log -SimpleMatch 'SMTP message received. ClientAddress: 127.0.0.1, From: dave@example.test, To: someone@elsewhere.example, SecureConnection: true'
                if (-not $line) { Start-Sleep -Milliseconds 200 }
            }
            $line | Should -Not -BeNullOrEmpty -Because 'smtp4dev logs every received message'
        }
    }

    Context 'implicit TLS port (BasePort + 1)' {
        It 'speaks TLS on connect: banner inside TLS, AUTH PLAIN LOGIN, no STARTTLS' {
            if (Skip-IfUnavailable) { return }
            $d = Invoke-SmtpDialog -Port $script:Peer.implicitTlsPort -ImplicitTls -Commands @('EHLO probe.example.test', 'QUIT')
            $d.Banner | Should -Be @($script:Banner)
            $d.Steps[0].Reply | Should -Be $script:EhloAfterTls

            $r = Invoke-Swaks -Port $script:Peer.implicitTlsPort -Arguments @('--tlsc', '--quit-after', 'EHLO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            Assert-SwaksBannerInsideTls $r.Output
        }

        It 'AUTH <_> succeeds for both users and a wrong password gets 535' -ForEach @('PLAIN', 'LOGIN') {
            if (Skip-IfUnavailable) { return }
            foreach ($u in $script:Peer.userNames) {
                $r = Invoke-Swaks -Port $script:Peer.implicitTlsPort -Password (Get-Password $u) -Arguments @(
                    '--tlsc', '--auth', $_, '--auth-user', $u, '--quit-after', 'AUTH')
                $r.ExitCode | Should -Be 0 -Because $r.Output
                $r.Output | Should -Match '<~  235 Authenticated OK'
            }
            $bad = Invoke-Swaks -Port $script:Peer.implicitTlsPort -Password 'definitely-wrong' -Arguments @(
                '--tlsc', '--auth', $_, '--auth-user', 'user@example.test', '--quit-after', 'AUTH')
            $bad.ExitCode | Should -Be 28 -Because $bad.Output
            $bad.Output | Should -Match '<~\* 535 Authentication failure'
        }

        It 'serves the certificate from peer.json over TLS 1.2+, valid for localhost and 127.0.0.1 except for trust' {
            if (Skip-IfUnavailable) { return }
            Assert-PeerCertificate -Port $script:Peer.implicitTlsPort -Thumbprint $script:Peer.certificateThumbprint -Banner $script:Banner
        }
    }

    Context 'logs' {
        It 'logs authentication results by user name, never a password' {
            if (Skip-IfUnavailable) { return }
            $text = (Get-ChildItem -LiteralPath $script:Peer.logPath -File | ForEach-Object { [System.IO.File]::ReadAllText($_.FullName) }) -join "`n"
            $text | Should -Match 'SMTP authentication successful\. Username: dave, ClientAddress: 127\.0\.0\.1'
            $text | Should -Match 'SMTP authentication successful\. Username: user@example\.test, ClientAddress: 127\.0\.0\.1'
            $text | Should -Match 'SMTP authentication failed - invalid credentials\. Username: dave, ClientAddress: 127\.0\.0\.1'
            foreach ($s in Get-Secrets) { $text.Contains($s) | Should -BeFalse -Because 'no password (clear, base64 or AUTH PLAIN blob) may be logged' }
        }
    }

    Context 'Stop-Smtp4devPeer.ps1' {
        It 'stops every smtp4dev process, frees the ports and deletes the work directory' {
            if (Skip-IfUnavailable) { return }
            $pids = @($script:Peer.pids)
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            & (Join-Path $PSScriptRoot 'Stop-Smtp4devPeer.ps1') -WorkDirectory $script:PeerDir -WarningVariable warnings
            Write-Host ("smtp4dev peer stopped in {0:N1} s" -f $sw.Elapsed.TotalSeconds)
            @($warnings).Count | Should -Be 0 -Because "$warnings"
            foreach ($procId in $pids) {
                $state = try { ([System.IO.File]::ReadAllText("/proc/$procId/stat") -split '\) ')[1].Substring(0, 1) } catch { 'gone' }
                $state | Should -BeIn @('gone', 'Z', 'X') -Because "pid $procId must not be running"
            }
            $left = foreach ($dir in [System.IO.Directory]::EnumerateDirectories('/proc')) {
                try {
                    $cmd = [System.IO.File]::ReadAllText("$dir/cmdline")
                    $state = ([System.IO.File]::ReadAllText("$dir/stat") -split '\) ')[1].Substring(0, 1)
                    if ($state -ne 'Z' -and $cmd.Contains("--baseappdatapath=$($script:PeerDir)/")) { $dir }
                }
                catch { }
            }
            @($left).Count | Should -Be 0 -Because "no smtp4dev of this run may survive: $($left -join ', ')"
            $ss = (& ss -Hltn 2>&1) -join "`n"
            $ss | Should -Not -Match "127\.0\.0\.1:($($script:Peer.startTlsPort)|$($script:Peer.implicitTlsPort))\s"
            if ($env:SMTP4DEV_PEER_KEEP -ne '1') { Test-Path -LiteralPath $script:PeerDir | Should -BeFalse }
        }
    }
}
