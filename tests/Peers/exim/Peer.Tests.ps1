#Requires -Version 7.0
# Pester 5 checks of the private Exim 4.96 peer, made with swaks and a bare .NET SMTP client
# (independent of the module under test), against Exim's own mainlog. They record Exim's real
# replies: tests/Pester/Test-SmtpAuth.Exim.Tests.ps1 relies on them. Run:
#   Invoke-Pester tests/Peers/exim/Peer.Tests.ps1
# The peer is skipped (not failed) only when Start-EximPeer.ps1 says PEER-UNAVAILABLE.
# Environment: EXIM_PEER_BASEPORT (default 25980; the module's tests use 25985), EXIM_PEER_KEEP=1
# keeps the work directory (logs) after the run.

BeforeAll {
    . "$PSScriptRoot/../PeerTools.ps1"
    $script:Missing = $null
    if (-not (Install-Swaks)) { $script:Missing = 'swaks is not installed and could not be installed with apt-get' }
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('exim-peer-tests-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
    $script:BasePort = if ($env:EXIM_PEER_BASEPORT) { [int]$env:EXIM_PEER_BASEPORT } else { 25980 }
    $script:Unavailable = $null
    $script:Peer = $null
    $start = Start-TestPeer -StartScript (Join-Path $PSScriptRoot 'Start-EximPeer.ps1') -WorkDirectory $script:PeerDir -BasePort $script:BasePort
    $script:Peer = $start.Peer
    $script:Unavailable = $start.Unavailable

    function Skip-IfUnavailable([switch] $NeedsSwaks) {
        if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }
        if ($NeedsSwaks -and $script:Missing) { Set-ItResult -Skipped -Because $script:Missing; return $true }
        return $false
    }

    function Invoke-Swaks {
        # swaks against the peer (PeerTools.ps1: Invoke-SwaksProcess), the password masked in its output.
        param([int] $Port, [string[]] $Arguments, [string] $Password, [string] $Ehlo)
        $r = Invoke-SwaksProcess -Server $script:Peer.host @PSBoundParameters
        if ($script:Peer -and $script:Peer.password) { $r.Output = $r.Output.Replace($script:Peer.password, '***') }
        $r
    }

    function Get-SwaksReplies([string] $Output) {
        # The server's lines in a swaks transcript ('<-  ', '<~  ', '<** ', '<~* '), without the prefix.
        @(($Output -split "`r?`n") | Where-Object { $_ -match '^<[-~*]{1,2}\s' } | ForEach-Object { $_ -replace '^<[-~*]{1,2}\s+', '' })
    }

    function Get-EhloKeywords([string[]] $Lines) {
        # The extension lines of one EHLO reply (250-/250 lines after the first), e.g. 'STARTTLS', 'AUTH PLAIN LOGIN'.
        @($Lines | Select-Object -Skip 1 | ForEach-Object { $_.Substring(4) })
    }

    function Invoke-RawSmtp {
        # A bare SMTP client (.NET sockets, no SMTP library): the greeting, then for each line sent the whole reply
        # (all its lines). 'STARTTLS' answered with 220 upgrades the connection (any certificate). Used for replies
        # swaks never provokes (AUTH before STARTTLS or where it is not advertised, STARTTLS where it is not offered).
        # Ends with QUIT. Returns [pscustomobject]@{ Sent; Lines; Last; Tls } per step, the greeting first.
        param([int] $Port, [string[]] $Lines, [switch] $ImplicitTls)
        $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
        try {
            $client.Connect([System.Net.IPAddress]::Loopback, $Port)
            $client.ReceiveTimeout = 10000
            [System.IO.Stream] $stream = $client.GetStream()
            $tls = $false
            if ($ImplicitTls) {
                $ssl = [System.Net.Security.SslStream]::new($stream, $false, { $true })
                $ssl.AuthenticateAsClient('localhost'); $stream = $ssl; $tls = $true
            }
            $steps = [System.Collections.Generic.List[object]]::new()
            $read = {
                $all = [System.Collections.Generic.List[string]]::new()
                do { $line = Read-SmtpLine $stream; $all.Add($line) } while ($line -match '^\d{3}-')
                , $all.ToArray()
            }
            $reply = & $read
            $steps.Add([pscustomobject]@{ Sent = $null; Lines = $reply; Last = $reply[-1]; Tls = $tls })
            foreach ($l in @($Lines) + 'QUIT') {
                $bytes = [System.Text.Encoding]::ASCII.GetBytes("$l`r`n")
                $stream.Write($bytes, 0, $bytes.Length); $stream.Flush()
                $reply = & $read
                $steps.Add([pscustomobject]@{ Sent = $l; Lines = $reply; Last = $reply[-1]; Tls = $tls })
                if ($l -eq 'STARTTLS' -and $reply[-1] -match '^220 ') {
                    $ssl = [System.Net.Security.SslStream]::new($stream, $false, { $true })
                    $ssl.AuthenticateAsClient('localhost'); $stream = $ssl; $tls = $true
                }
            }
            return $steps.ToArray()
        }
        finally { $client.Dispose() }
    }

    # Exim's mainlog since a mark (its line count before the session). Exim writes a session's lines as it goes and
    # the last ones when the connection closes, so an expected line is waited for (at most 10 s).
    function Get-LogMark { @(Get-Content -LiteralPath $script:Peer.mainLogPath -ErrorAction SilentlyContinue).Count }
    function Wait-LogLine([int] $Since, [string] $Pattern) {
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do {
            $hits = @(Get-Content -LiteralPath $script:Peer.mainLogPath | Select-Object -Skip $Since | Where-Object { $_ -match $Pattern })
            if ($hits.Count) { return $hits }
            Start-Sleep -Milliseconds 100
        } while ([DateTime]::UtcNow -lt $deadline)
        @()
    }

    $script:Banner = '^220 peer\.example\.test ESMTP Exim 4\.96 \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$'
    $script:Auth = { param([string] $Mechanism, [switch] $ImplicitTls) @($(if ($ImplicitTls) { '--tlsc' } else { '--tls' }), '--auth', $Mechanism, '--auth-user', $script:Peer.user, '--quit-after', 'AUTH') }
    $script:Envelope = @('--from', 'probe@example.test', '--to', 'someone@elsewhere.example')
}

AfterAll {
    Stop-TestPeer -StopScript (Join-Path $PSScriptRoot 'Stop-EximPeer.ps1') -WorkDirectory $script:PeerDir
}

Describe 'Exim 4.96 peer' -Tag 'Peer' {

    Context 'peer.json and the process' {
        It 'describes the running peer with the documented shape' {
            if (Skip-IfUnavailable) { return }
            $path = Join-Path $script:PeerDir 'peer.json'
            $json = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json
            @($json.PSObject.Properties.Name) | Should -Be @('host', 'startTlsPort', 'implicitTlsPort', 'plainPort', 'cramMd5Port', 'noAuthPort', 'user', 'password', 'eximVersion', 'certificatePath', 'certificateThumbprint', 'mainLogPath', 'workDirectory')
            $json.host | Should -Be '127.0.0.1'
            @($json.startTlsPort, $json.implicitTlsPort, $json.plainPort, $json.cramMd5Port, $json.noAuthPort) | Should -Be @(0..4 | ForEach-Object { $script:BasePort + $_ })
            $json.user | Should -Be 'probe@example.test'
            $json.password | Should -Match '^[A-Za-z0-9]{24}$'
            $json.eximVersion | Should -Be '4.96'
            $json.certificateThumbprint | Should -Match '^[0-9A-F]{40}$'
            $json.workDirectory | Should -Be $script:Peer.workDirectory
            $json.mainLogPath | Should -Be (Join-Path $script:PeerDir 'log/mainlog')
            Test-Path -LiteralPath $json.certificatePath | Should -BeTrue
            [System.IO.File]::GetUnixFileMode($path) | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
            $script:Peer.password | Should -Be $json.password
        }

        It 'does not show the password in the default display of the returned object' {
            if (Skip-IfUnavailable) { return }
            ($script:Peer | Out-String) | Should -Not -BeLike "*$($script:Peer.password)*"
        }

        It 'runs the extracted exim4 with its own configuration, as Debian-exim, without installing exim4' {
            if (Skip-IfUnavailable) { return }
            $daemon = Read-PidFile (Join-Path $script:PeerDir 'exim.pid')
            $daemon | Should -BeGreaterThan 1
            $exe = [string](Get-Item -LiteralPath "/proc/$daemon/exe" -Force).LinkTarget
            $exe | Should -Match '/usr/sbin/exim4$'
            $exe | Should -Not -Be '/usr/sbin/exim4'
            $argv = [System.IO.File]::ReadAllText("/proc/$daemon/cmdline").TrimEnd([char]0).Split([char]0)
            $argv[1..3] | Should -Be @('-C', (Join-Path $script:PeerDir 'etc/exim.conf'), '-bd')
            (& stat -c '%U' "/proc/$daemon") | Should -Be 'Debian-exim' -Because 'with deliver_drop_privilege the daemon gives up root once its ports are bound'
            foreach ($p in 'exim4-daemon-light', 'exim4-base', 'exim4-config') { Test-PackageInstalled $p | Should -BeFalse -Because "$p would replace the system MTA" }
            Wait-LogLine 0 "exim 4\.96 daemon started: pid=$daemon, no queue runs, listening for SMTP on \[127\.0\.0\.1\]:\{$($script:Peer.startTlsPort),$($script:Peer.plainPort),$($script:Peer.cramMd5Port),$($script:Peer.noAuthPort)\} and for SMTPS on \[127\.0\.0\.1\]:$($script:Peer.implicitTlsPort)$" | Should -Not -BeNullOrEmpty
        }
    }

    Context 'STARTTLS port (BasePort)' {
        It 'greets with Exim''s banner and offers STARTTLS but no AUTH before STARTTLS' {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Arguments @('--quit-after', 'EHLO') -Ehlo 'client.example.test'
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $replies = Get-SwaksReplies $r.Output
            $replies[0] | Should -Match $script:Banner
            $replies[1] | Should -Be '250-peer.example.test Hello client.example.test [127.0.0.1]'
            Get-EhloKeywords $replies[1..9] | Should -Be @('SIZE 52428800', '8BITMIME', 'PIPELINING', 'PIPECONNECT', 'CHUNKING', 'STARTTLS', 'SMTPUTF8', 'HELP')
        }

        It 'advertises exactly AUTH PLAIN LOGIN after STARTTLS, and no STARTTLS any more' {
            if (Skip-IfUnavailable) { return }
            $s = Invoke-RawSmtp -Port $script:Peer.startTlsPort -Lines 'EHLO client.example.test', 'STARTTLS', 'EHLO client.example.test'
            $s[2].Last | Should -Be '220 TLS go ahead'
            $s[3].Tls | Should -BeTrue
            Get-EhloKeywords $s[3].Lines | Should -Be @('SIZE 52428800', '8BITMIME', 'PIPELINING', 'PIPECONNECT', 'AUTH PLAIN LOGIN', 'CHUNKING', 'SMTPUTF8', 'HELP')
        }

        It 'answers AUTH <Mechanism> before STARTTLS with 503 AUTH command used when not advertised' -ForEach @(@{ Mechanism = 'LOGIN' }, @{ Mechanism = 'PLAIN' }) {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $s = Invoke-RawSmtp -Port $script:Peer.startTlsPort -Lines 'EHLO client.example.test', "AUTH $Mechanism"
            $s[2].Lines | Should -Be @('503 AUTH command used when not advertised')
            $s[2].Tls | Should -BeFalse
            Wait-LogLine $mark "SMTP protocol error in `"AUTH $Mechanism`" H=\(client\.example\.test\) \[127\.0\.0\.1\]:\d+ I=\[127\.0\.0\.1\]:$($script:Peer.startTlsPort) AUTH command used when not advertised$" | Should -Not -BeNullOrEmpty
        }

        It 'AUTH <Mechanism> with the right password after STARTTLS gives 235 Authentication succeeded' -ForEach @(@{ Mechanism = 'LOGIN'; Driver = 'login_server' }, @{ Mechanism = 'PLAIN'; Driver = 'plain_server' }) {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $mark = Get-LogMark
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.password -Arguments (& $script:Auth $Mechanism)
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match 'TLS started'
            (Get-SwaksReplies $r.Output) | Should -Contain '235 Authentication succeeded'
            Wait-LogLine $mark "no MAIL in SMTP connection from .* I=\[127\.0\.0\.1\]:$($script:Peer.startTlsPort) .*A=${Driver}:probe@example\.test .*C=EHLO,STARTTLS,EHLO,AUTH,QUIT$" | Should -Not -BeNullOrEmpty
        }

        It 'answers a wrong password (AUTH <Mechanism>) with 535 Incorrect authentication data' -ForEach @(@{ Mechanism = 'LOGIN'; Driver = 'login_server' }, @{ Mechanism = 'PLAIN'; Driver = 'plain_server' }) {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $mark = Get-LogMark
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password 'definitely-wrong' -Arguments (& $script:Auth $Mechanism)
            $r.ExitCode | Should -Be 28 -Because $r.Output   # swaks: error in AUTH transaction
            (Get-SwaksReplies $r.Output) | Should -Contain '535 Incorrect authentication data'
            Wait-LogLine $mark "$Driver authenticator failed for \(\S+\) \[127\.0\.0\.1\]:\d+ I=\[127\.0\.0\.1\]:$($script:Peer.startTlsPort): 535 Incorrect authentication data \(set_id=probe@example\.test\)$" | Should -Not -BeNullOrEmpty
        }

        It 'refuses MAIL FROM from a client that has not authenticated with 550 Administrative prohibition (<Name>)' -ForEach @(
            @{ Name = 'in clear'; Tls = @() }
            @{ Name = 'after STARTTLS'; Tls = @('--tls') }
        ) {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $mark = Get-LogMark
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Arguments ($Tls + $script:Envelope)
            $r.ExitCode | Should -Be 23 -Because $r.Output   # swaks: error in MAIL FROM
            (Get-SwaksReplies $r.Output) | Should -Contain '550 Administrative prohibition'
            Wait-LogLine $mark 'rejected MAIL <probe@example\.test>$' | Should -Not -BeNullOrEmpty
        }

        It 'accepts mail from an authenticated client and discards it' {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $mark = Get-LogMark
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.password -Arguments (@('--tls', '--auth', 'LOGIN', '--auth-user', $script:Peer.user) + $script:Envelope)
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $replies = Get-SwaksReplies $r.Output
            $replies | Should -Contain '250 Accepted'
            $id = [regex]::Match(($replies -join "`n"), '(?m)^250 OK id=(\S+)$').Groups[1].Value
            $id | Should -Not -BeNullOrEmpty -Because $r.Output
            Wait-LogLine $mark "$([regex]::Escape($id)) <= probe@example\.test .*P=esmtpsa .*A=login_server:probe@example\.test .*for someone@elsewhere\.example$" | Should -Not -BeNullOrEmpty
            Wait-LogLine $mark "$([regex]::Escape($id)) => :blackhole: <someone@elsewhere\.example> R=discard_all$" | Should -Not -BeNullOrEmpty
            Wait-LogLine $mark "$([regex]::Escape($id)) Completed$" | Should -Not -BeNullOrEmpty
        }
    }

    Context 'implicit TLS port (BasePort + 1)' {
        It 'speaks TLS on connect, advertises AUTH PLAIN LOGIN and no STARTTLS' {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.implicitTlsPort -Arguments @('--tlsc', '--quit-after', 'EHLO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            Assert-SwaksBannerInsideTls $r.Output
            $replies = Get-SwaksReplies $r.Output
            $replies[0] | Should -Match $script:Banner
            $replies | Should -Contain '250-AUTH PLAIN LOGIN'
            $replies | Should -Not -Contain '250-STARTTLS'
        }

        It 'AUTH PLAIN succeeds over implicit TLS' {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.implicitTlsPort -Password $script:Peer.password -Arguments (& $script:Auth 'PLAIN' -ImplicitTls)
            $r.ExitCode | Should -Be 0 -Because $r.Output
            (Get-SwaksReplies $r.Output) | Should -Contain '235 Authentication succeeded'
        }

        It 'serves the certificate from peer.json over TLS 1.2+, valid for localhost and 127.0.0.1 except for trust' {
            if (Skip-IfUnavailable) { return }
            Assert-PeerCertificate -Port $script:Peer.implicitTlsPort -Thumbprint $script:Peer.certificateThumbprint -BannerPattern $script:Banner
        }
    }

    Context 'plaintext port (BasePort + 2)' {
        It 'offers no STARTTLS but advertises AUTH PLAIN LOGIN in clear' {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.plainPort -Arguments @('--quit-after', 'EHLO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $replies = Get-SwaksReplies $r.Output
            Get-EhloKeywords $replies[1..9] | Should -Be @('SIZE 52428800', '8BITMIME', 'PIPELINING', 'PIPECONNECT', 'AUTH PLAIN LOGIN', 'CHUNKING', 'SMTPUTF8', 'HELP')
        }

        It 'answers STARTTLS with 503 STARTTLS command used when not advertised' {
            if (Skip-IfUnavailable) { return }
            $s = Invoke-RawSmtp -Port $script:Peer.plainPort -Lines 'EHLO client.example.test', 'STARTTLS'
            $s[2].Lines | Should -Be @('503 STARTTLS command used when not advertised')
        }

        It 'accepts credentials sent in clear (the careless-client case), and logs the session without TLS' {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $mark = Get-LogMark
            $r = Invoke-Swaks -Port $script:Peer.plainPort -Password $script:Peer.password -Arguments @('--auth', 'LOGIN', '--auth-user', $script:Peer.user, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Not -Match 'TLS started'
            (Get-SwaksReplies $r.Output) | Should -Contain '235 Authentication succeeded'
            $line = Wait-LogLine $mark "no MAIL in SMTP connection from .* I=\[127\.0\.0\.1\]:$($script:Peer.plainPort) D=\S+ A=login_server:probe@example\.test C=EHLO,AUTH,QUIT$"
            $line | Should -Not -BeNullOrEmpty
            $line | Should -Not -Match ' X=' -Because 'X= is the TLS cipher, and there was none'
        }
    }

    Context 'CRAM-MD5 port (BasePort + 3)' {
        It 'advertises no AUTH before STARTTLS and only AUTH CRAM-MD5 after it' {
            if (Skip-IfUnavailable) { return }
            $s = Invoke-RawSmtp -Port $script:Peer.cramMd5Port -Lines 'EHLO client.example.test', 'STARTTLS', 'EHLO client.example.test'
            Get-EhloKeywords $s[1].Lines | Should -Not -Match '^AUTH'
            Get-EhloKeywords $s[1].Lines | Should -Contain 'STARTTLS'
            @(Get-EhloKeywords $s[3].Lines | Where-Object { $_ -match '^AUTH' }) | Should -Be @('AUTH CRAM-MD5')
        }

        It 'answers AUTH <Mechanism> after STARTTLS with 504 <Mechanism> authentication mechanism not supported' -ForEach @(@{ Mechanism = 'LOGIN' }, @{ Mechanism = 'PLAIN' }) {
            if (Skip-IfUnavailable) { return }
            $s = Invoke-RawSmtp -Port $script:Peer.cramMd5Port -Lines 'EHLO client.example.test', 'STARTTLS', 'EHLO client.example.test', "AUTH $Mechanism"
            $s[4].Tls | Should -BeTrue
            $s[4].Lines | Should -Be @("504 $Mechanism authentication mechanism not supported")
        }

        It 'AUTH CRAM-MD5 with the right password succeeds' {
            if (Skip-IfUnavailable -NeedsSwaks) { return }
            $mark = Get-LogMark
            $r = Invoke-Swaks -Port $script:Peer.cramMd5Port -Password $script:Peer.password -Arguments (& $script:Auth 'CRAM-MD5')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            (Get-SwaksReplies $r.Output) | Should -Contain '235 Authentication succeeded'
            Wait-LogLine $mark "I=\[127\.0\.0\.1\]:$($script:Peer.cramMd5Port) .*A=cram_md5_server:probe@example\.test .*C=EHLO,STARTTLS,EHLO,AUTH,QUIT$" | Should -Not -BeNullOrEmpty
        }
    }

    Context 'no-AUTH port (BasePort + 4)' {
        It 'advertises no AUTH before or after STARTTLS and answers AUTH with 503 AUTH command used when not advertised' {
            if (Skip-IfUnavailable) { return }
            $s = Invoke-RawSmtp -Port $script:Peer.noAuthPort -Lines 'EHLO client.example.test', 'STARTTLS', 'EHLO client.example.test', 'AUTH LOGIN'
            Get-EhloKeywords $s[1].Lines | Should -Contain 'STARTTLS'
            Get-EhloKeywords $s[1].Lines | Should -Not -Match '^AUTH'
            Get-EhloKeywords $s[3].Lines | Should -Not -Match '^AUTH'
            $s[4].Tls | Should -BeTrue
            $s[4].Lines | Should -Be @('503 AUTH command used when not advertised')
        }
    }

    Context 'Stop-EximPeer.ps1' {
        # Last on purpose: it stops the peer the tests above used (AfterAll then finds nothing to do).
        It 'ends every Exim process of the peer and removes the work directory (unless EXIM_PEER_KEEP=1), leaving the cache' {
            if (Skip-IfUnavailable) { return }
            $daemon = Read-PidFile (Join-Path $script:PeerDir 'exim.pid')
            $binary = (Get-Content -LiteralPath (Join-Path $script:PeerDir 'exim.binary') -TotalCount 1).Trim()
            # A session held open, so that a reception process exists too.
            $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
            try {
                $client.Connect([System.Net.IPAddress]::Loopback, $script:Peer.plainPort)
                $client.ReceiveTimeout = 10000
                Read-SmtpLine $client.GetStream() | Should -Match '^220 '
                $config = Join-Path $script:PeerDir 'etc/exim.conf'
                # The reception process is a fork of the daemon: the same command line.
                $ours = @(Get-ProcIds | Where-Object { (Get-ProcessState $_ @('-C', $config, '-bd')) -eq 'ours' })
                $ours | Should -Contain $daemon
                $ours.Count | Should -BeGreaterOrEqual 2 -Because 'the daemon and the reception process of the open session'
                & (Join-Path $PSScriptRoot 'Stop-EximPeer.ps1') -WorkDirectory $script:PeerDir -WarningVariable warnings
                @($warnings) | Should -BeNullOrEmpty
                @($ours | Where-Object { Get-ProcStat $_ }) | Should -BeNullOrEmpty
                Test-Path -LiteralPath $script:PeerDir | Should -Be ($env:EXIM_PEER_KEEP -eq '1') -Because 'the work directory goes unless EXIM_PEER_KEEP=1'
                Test-Path -LiteralPath $binary | Should -BeTrue -Because 'the extracted packages are a cache for the next start'
                Test-PortFree $script:Peer.startTlsPort | Should -BeTrue
            }
            finally { $client.Dispose() }
        }
    }
}
