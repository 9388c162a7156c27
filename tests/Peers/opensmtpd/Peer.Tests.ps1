#Requires -Version 7.0
# Pester 5 checks of the private OpenSMTPD 6.8.0p2 peer (Debian bookworm's opensmtpd, extracted, not installed): its own
# replies through a bare .NET socket client, then the real module's Test-SmtpAuth and Resolve-SmtpAuthError against
# it, checked against smtpd's log. Debian 12's OpenSMTPD cannot finish a TLS handshake with OpenSSL 3
# (OpenSMTPD/OpenSMTPD#1171, #1239) and offers AUTH only inside TLS, so no AUTH ever reaches it: these tests are about
# what a client meets at such a server (Start-OpensmtpdPeer.ps1, KNOWN LIMIT). Run (SMTPAUTH_TEST_MODULE = the built psd1):
#   Invoke-Pester tests/Peers/opensmtpd/Peer.Tests.ps1
# The peer is skipped only when Start-OpensmtpdPeer.ps1 says PEER-UNAVAILABLE, and never in CI (CI=true).
# Environment: OPENSMTPD_PEER_BASEPORT (default 26040), OPENSMTPD_PEER_KEEP=1 keeps the work directory.

BeforeAll {
    . "$PSScriptRoot/../PeerTools.ps1"
    . "$PSScriptRoot/../../Pester/common.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:ServerName = 'OpenSMTPD'
    . "$PSScriptRoot/../../Pester/peer-diagnosis.ps1"

    $script:BasePort = if ($env:OPENSMTPD_PEER_BASEPORT) { [int]$env:OPENSMTPD_PEER_BASEPORT } else { 26040 }
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('opensmtpd-peer-tests-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
    $start = Start-TestPeer -StartScript (Join-Path $PSScriptRoot 'Start-OpensmtpdPeer.ps1') -WorkDirectory $script:PeerDir -BasePort $script:BasePort
    $script:Unavailable = $start.Unavailable
    if ($script:Unavailable -and $env:CI -eq 'true') { throw "The OpenSMTPD peer is required in CI: $script:Unavailable" }
    $script:Peer = $start.Peer
    if ($script:Peer) { $script:Cred = [pscredential]::new($script:Peer.user, (ConvertTo-SecureString $script:Peer.password -AsPlainText -Force)) }
    function Skip-IfUnavailable { if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }; $false }
    $script:Common = @{ Server = '127.0.0.1'; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }

    # OpenSMTPD 6.8.0p2's texts (usr.sbin/smtpd/smtp_session.c), as these tests observe them.
    $script:Banner = '220 peer.example.test ESMTP OpenSMTPD'
    $script:Reply = @{
        StartTls      = '220 2.0.0 Ready to start TLS'
        NotSupported  = '503 5.5.1 Invalid command: Command not supported'
        NeedAuth      = '530 5.5.1 Invalid command: Must issue an AUTH command first'
        NotAllowed    = '503 5.5.1 Invalid command: Command not allowed at this point.'
        Unrecognized  = '500 5.5.1 Invalid command: Command unrecognized'
        Identified    = '503 5.5.1 Invalid command: Already identified'
        Bye           = '221 2.0.0 Bye'
    }

    function Invoke-RawSmtp {
        # A bare SMTP client (.NET sockets): the greeting, then for each line sent the whole reply; ends with QUIT. No TLS
        # (OpenSMTPD's TLS fails, see the header). Never sends a password.
        param([int] $Port, [string[]] $Lines)
        $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
        try {
            $client.Connect([System.Net.IPAddress]::Loopback, $Port)
            $client.ReceiveTimeout = 10000
            $stream = $client.GetStream()
            $read = {
                $all = [System.Collections.Generic.List[string]]::new()
                do { $line = Read-SmtpLine $stream; $all.Add($line) } while ($line -match '^\d{3}-')
                , $all.ToArray()
            }
            $steps = [System.Collections.Generic.List[object]]::new()
            $reply = & $read
            $steps.Add([pscustomobject]@{ Sent = $null; Lines = $reply; Last = $reply[-1] })
            foreach ($l in @($Lines) + 'QUIT') {
                $bytes = [System.Text.Encoding]::ASCII.GetBytes("$l`r`n")
                $stream.Write($bytes, 0, $bytes.Length); $stream.Flush()
                $reply = & $read
                $steps.Add([pscustomobject]@{ Sent = $l; Lines = $reply; Last = $reply[-1] })
            }
            return $steps.ToArray()
        }
        finally { $client.Dispose() }
    }
    function Get-EhloKeywords([string[]] $Lines) { @($Lines | Select-Object -Skip 1 | ForEach-Object { $_.Substring(4) }) }

    # smtpd's log (its stderr) since a mark; a session's lines are waited for (at most 10 s).
    function Get-LogMark { @(Get-Content -LiteralPath $script:Peer.logPath -ErrorAction SilentlyContinue).Count }
    function Wait-LogLine([int] $Since, [string] $Pattern) {
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do {
            $hits = @(Get-Content -LiteralPath $script:Peer.logPath | Select-Object -Skip $Since | Where-Object { $_ -match $Pattern })
            if ($hits.Count) { return $hits }
            Start-Sleep -Milliseconds 100
        } while ([DateTime]::UtcNow -lt $deadline)
        @()
    }
    # smtpd logs every refused command with its arguments ('failed-command command="AUTH PLAIN ..."'): any AUTH line here
    # means a client sent AUTH, and would show what it sent.
    function Get-AuthLines([int] $Since) { @(Get-Content -LiteralPath $script:Peer.logPath | Select-Object -Skip $Since | Where-Object { $_ -match 'command="AUTH|authentication' }) }
}

AfterAll {
    Stop-TestPeer -StopScript (Join-Path $PSScriptRoot 'Stop-OpensmtpdPeer.ps1') -WorkDirectory $script:PeerDir
}

Describe 'OpenSMTPD 6.8.0p2 peer' -Tag 'Peer' {

    Context 'the peer' {
        It 'runs the extracted smtpd with its own configuration and a private queue, without installing opensmtpd' {
            if (Skip-IfUnavailable) { return }
            $json = Get-Content -LiteralPath (Join-Path $script:PeerDir 'peer.json') -Raw | ConvertFrom-Json
            @($json.startTlsPort, $json.implicitTlsPort) | Should -Be @($script:BasePort, ($script:BasePort + 1))
            $json.user | Should -BeExactly 'alice'
            $json.opensmtpdVersion | Should -Be '6.8.0p2'
            ($script:Peer | Out-String) | Should -Not -BeLike "*$($script:Peer.password)*"
            $parent = Read-PidFile (Join-Path $script:PeerDir 'smtpd.pid')
            $argv = [System.IO.File]::ReadAllText("/proc/$parent/cmdline").TrimEnd([char]0).Split([char]0)
            $argv[0] | Should -Match '/usr/sbin/smtpd$'
            $argv[0] | Should -Not -Be '/usr/sbin/smtpd'
            $argv[1..3] | Should -Be @('-dv', '-f', (Join-Path $script:PeerDir 'etc/smtpd.conf'))
            Test-PackageInstalled 'opensmtpd' | Should -BeFalse -Because 'opensmtpd would replace the system MTA'
            Test-Path -LiteralPath '/var/spool/smtpd' | Should -BeFalse -Because 'the queue is the work directory''s, mounted only in smtpd''s namespace'
            Test-Path -LiteralPath (Join-Path $script:PeerDir 'spool/smtpd/queue') | Should -BeTrue
        }
    }

    Context 'OpenSMTPD''s own replies (bare socket client, no TLS)' {
        It 'greets, offers STARTTLS and no AUTH before TLS, and refuses AUTH and MAIL FROM in its words' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $s = Invoke-RawSmtp -Port $script:Peer.startTlsPort -Lines 'EHLO client.example.test', 'AUTH LOGIN', 'MAIL FROM:<alice@example.test>', 'RCPT TO:<bob@elsewhere.example>', 'EHLO again.example.test', 'VRFY alice'
            $s[0].Last | Should -BeExactly $script:Banner
            $s[1].Lines[0] | Should -BeExactly '250-peer.example.test Hello client.example.test [127.0.0.1], pleased to meet you'
            Get-EhloKeywords $s[1].Lines | Should -Be @('8BITMIME', 'ENHANCEDSTATUSCODES', 'SIZE 36700160', 'DSN', 'STARTTLS', 'HELP')
            $s[2].Last | Should -BeExactly $script:Reply.NotSupported
            $s[3].Last | Should -BeExactly $script:Reply.NeedAuth
            $s[4].Last | Should -BeExactly $script:Reply.NotAllowed
            $s[5].Last | Should -BeExactly $script:Reply.Identified
            $s[6].Last | Should -BeExactly $script:Reply.Unrecognized
            $s[7].Last | Should -BeExactly $script:Reply.Bye
            Wait-LogLine $mark 'smtp failed-command command="AUTH LOGIN" result="503 5\.5\.1 Invalid command: Command not supported"' | Should -Not -BeNullOrEmpty
        }

        It 'answers STARTTLS with 220 and then fails the handshake itself (OpenSSL 3: the signing process has no private key)' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            { Get-TlsInfo -Port $script:Peer.implicitTlsPort } | Should -Throw
            Wait-LogLine $mark 'rsa routines::missing private key' | Should -Not -BeNullOrEmpty
            Wait-LogLine $mark 'smtp disconnected reason="io-error: error:0A080006:SSL routines::EVP lib"' | Should -Not -BeNullOrEmpty
        }
    }

    Context 'Test-SmtpAuth against a server whose TLS is broken' {
        It 'stops at TLS (<Name>), sends no credentials and reads it as the server''s TLS fault, not the client''s TLS version' -ForEach @(
            @{ Name = 'STARTTLS port'; Port = 0; Mode = 'StartTls' }
            @{ Name = 'TLS-on-connect port'; Port = 1; Mode = 'Implicit' }
        ) {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port ($script:BasePort + $Port) -TlsMode $Mode @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Tls'
            $r.Message | Should -Match "with the TLS alert 'internal error'"
            $r.Message | Should -Match 'credentials were not sent'
            $r.Transcript | Should -Not -Match 'C: AUTH'
            if ($Mode -eq 'StartTls') {
                $r.StartTlsOffered | Should -BeTrue
                $r.Transcript | Should -Match ([regex]::Escape("S: $($script:Reply.StartTls)"))
            }
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'ServerTlsUnavailable'
            "$($findings[0].Verdict)" | Should -Be 'Likely'
            @($findings | Where-Object { $_.CauseId -eq 'TlsVersionTooOld' -and "$($_.Verdict)" -in 'Likely', 'Confirmed' }) | Should -BeNullOrEmpty -Because 'the alert is internal_error, the server''s own failure'
            Assert-NotExchangeDiagnosis $findings
            Wait-LogLine $mark 'SSL routines::EVP lib' | Should -Not -BeNullOrEmpty
            Get-AuthLines $mark | Should -BeNullOrEmpty
        }

        It 'says where it stopped and sends no credentials when STARTTLS mode meets the TLS-on-connect port' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.implicitTlsPort -Server 127.0.0.1 -SkipCertificateCheck -WarningAction SilentlyContinue -TimeoutSec 3
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Banner'
            $r.Transcript | Should -Not -Match 'C: '
            (Resolve-Findings $r)[0].CauseId | Should -BeExactly 'NoSmtpGreeting'
            Get-AuthLines $mark | Should -BeNullOrEmpty
        }

        It 'says where it stopped and sends no credentials when -TlsMode Implicit meets the STARTTLS port' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.startTlsPort -TlsMode Implicit @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Tls'
            $r.Message | Should -Match 'credentials were not sent'
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'ImplicitTlsOnStartTlsPort'
            Assert-NotExchangeDiagnosis $findings
            Get-AuthLines $mark | Should -BeNullOrEmpty
        }

        It 'never sends credentials in clear (-TlsMode None), even with -AllowUnencryptedAuthentication, where AUTH is offered only inside TLS' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            foreach ($allow in $false, $true) {
                $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.startTlsPort -TlsMode None -AllowUnencryptedAuthentication:$allow -Server 127.0.0.1 -WarningAction SilentlyContinue -TimeoutSec 20
                $r.Succeeded | Should -BeFalse
                $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty
                $r.Transcript | Should -Not -Match 'C: AUTH'
                if ($allow) { $r.Message | Should -BeLike 'The SMTP server advertises no AUTH mechanism on this unencrypted connection, and it offers STARTTLS*' -Because 'OpenSMTPD supports AUTH, after STARTTLS' }
                $findings = Resolve-Findings $r
                $findings[0].CauseId | Should -BeExactly 'StartTlsRequired' -Because "OpenSMTPD offered STARTTLS and no AUTH in clear ($($r.Message))"
                Assert-NotExchangeDiagnosis $findings
            }
            Get-AuthLines $mark | Should -BeNullOrEmpty
            Get-Content -LiteralPath $script:Peer.logPath -Raw | Should -Not -Match ([regex]::Escape($script:Peer.password))
        }

        It 'reports MAIL FROM without AUTH (-SkipAuthentication, no TLS) as OpenSMTPD''s 530, read as NotAuthenticated, not a password' {
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -SkipAuthentication -TlsMode None -Port $script:Peer.startTlsPort -SendTestMessage -From 'alice@example.test' -To 'bob@elsewhere.example' -Confirm:$false -Server 127.0.0.1 -WarningAction SilentlyContinue -TimeoutSec 20
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'MailFrom'
            $r.ReplyText | Should -BeExactly $script:Reply.NeedAuth
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'NotAuthenticated'
            $findings.CauseId | Should -Not -Contain 'InvalidCredentials'
            Assert-NotExchangeDiagnosis $findings
        }
    }

    Context 'Resolve-SmtpAuthError on OpenSMTPD''s texts' {
        It 'reads ''530 5.5.1 Invalid command: Must issue an AUTH command first'' as NotAuthenticated' {
            if (Skip-IfUnavailable) { return }
            $findings = Resolve-Findings $script:Reply.NeedAuth
            $findings[0].CauseId | Should -BeExactly 'NotAuthenticated'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'confirms nothing from ''<Text>'' and does not call it a wrong password' -ForEach @(
            @{ Text = '503 5.5.1 Invalid command: Command not supported' }
            @{ Text = '503 5.5.1 Invalid command: Command not allowed at this point.' }
            @{ Text = '220 peer.example.test ESMTP OpenSMTPD' }
        ) {
            if (Skip-IfUnavailable) { return }
            $findings = Resolve-Findings $Text
            @($findings | Where-Object { "$($_.Verdict)" -eq 'Confirmed' }) | Should -BeNullOrEmpty
            $findings[0].CauseId | Should -Not -Be 'InvalidCredentials'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'reads the AUTH command that got ''503 ... Command not supported'' as AUTH not offered there (pasted with its command)' {
            if (Skip-IfUnavailable) { return }
            $findings = Resolve-Findings "C: AUTH LOGIN`nS: $($script:Reply.NotSupported)"
            $findings[0].CauseId | Should -BeExactly 'AuthNotAdvertised'
            Assert-NotExchangeDiagnosis $findings
        }
    }

    Context 'Stop-OpensmtpdPeer.ps1' {
        It 'ends every smtpd process of the peer and removes the work directory (unless OPENSMTPD_PEER_KEEP=1), leaving the cache' {
            if (Skip-IfUnavailable) { return }
            $parent = Read-PidFile (Join-Path $script:PeerDir 'smtpd.pid')
            $children = @(Get-ProcIds | Where-Object { $s = Get-ProcStat $_; $s -and $s.PPid -eq $parent })
            $children.Count | Should -BeGreaterOrEqual 5 -Because 'smtpd forks its privilege-separated processes'
            & (Join-Path $PSScriptRoot 'Stop-OpensmtpdPeer.ps1') -WorkDirectory $script:PeerDir -WarningVariable warnings
            @($warnings) | Should -BeNullOrEmpty
            @(@($parent) + $children | Where-Object { Get-ProcStat $_ }) | Should -BeNullOrEmpty
            Test-Path -LiteralPath $script:PeerDir | Should -Be ($env:OPENSMTPD_PEER_KEEP -eq '1')
            Test-PortFree $script:Peer.startTlsPort | Should -BeTrue
        }
    }
}
