#Requires -Version 7.0
# Pester 5 checks of the private Dovecot submission peer (Debian bookworm's dovecot-submissiond 2.3.19): Dovecot's own
# replies through a bare .NET socket client (independent of the module), then the real module's Test-SmtpAuth and
# Resolve-SmtpAuthError against it, each checked against Dovecot's log (which login it saw, with which mechanism, over
# TLS or not) and the relay sink's output. Run (SMTPAUTH_TEST_MODULE = the built psd1, as tests/Pester/common.ps1):
#   Invoke-Pester tests/Peers/dovecot/Peer.Tests.ps1
# The peer is skipped only when Start-DovecotPeer.ps1 says PEER-UNAVAILABLE, and never in CI (CI=true), where that is a
# failure. Environment: DOVECOT_PEER_BASEPORT (default 26020; the PLAIN-only instance uses BasePort + 10),
# DOVECOT_PEER_KEEP=1 keeps the work directories (logs) after the run.

BeforeAll {
    . "$PSScriptRoot/../PeerTools.ps1"
    . "$PSScriptRoot/../../Pester/common.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:ServerName = 'Dovecot'
    . "$PSScriptRoot/../../Pester/peer-diagnosis.ps1"

    $script:BasePort = if ($env:DOVECOT_PEER_BASEPORT) { [int]$env:DOVECOT_PEER_BASEPORT } else { 26020 }
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('dovecot-peer-tests-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
    $script:PlainDir = $script:PeerDir + '-plain'
    $script:Peer = $null
    $script:PlainPeer = $null
    $start = Start-TestPeer -StartScript (Join-Path $PSScriptRoot 'Start-DovecotPeer.ps1') -WorkDirectory $script:PeerDir -BasePort $script:BasePort
    $script:Unavailable = $start.Unavailable
    if ($script:Unavailable -and $env:CI -eq 'true') { throw "The Dovecot peer is required in CI: $script:Unavailable" }
    $script:Peer = $start.Peer
    if ($script:Peer) {
        $script:PlainPeer = & (Join-Path $PSScriptRoot 'Start-DovecotPeer.ps1') -WorkDirectory $script:PlainDir -BasePort ($script:BasePort + 10) -AuthMechanisms 'plain'
        $script:Cred = [pscredential]::new($script:Peer.user, (ConvertTo-SecureString $script:Peer.password -AsPlainText -Force))
        $script:PlainCred = [pscredential]::new($script:PlainPeer.user, (ConvertTo-SecureString $script:PlainPeer.password -AsPlainText -Force))
    }
    function Skip-IfUnavailable { if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }; $false }

    # Every password a test used (the right ones and every wrong one): none may show up in Dovecot's or the sink's log.
    $script:Secrets = [System.Collections.Generic.List[string]]::new()
    function New-WrongCredential {
        $wrong = 'Wrong-' + (New-RandomString -Length 18)
        $script:Secrets.Add($wrong)
        [pscustomobject]@{ Password = $wrong; Credential = [pscredential]::new($script:Peer.user, (ConvertTo-SecureString $wrong -AsPlainText -Force)) }
    }
    $script:Common = @{ Server = '127.0.0.1'; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }

    # Dovecot 2.3.19's texts (src/submission-login/client-authenticate.c, src/login-common/sasl-server.c,
    # src/lib-smtp/smtp-server-*.c), as these tests observe them.
    $script:Banner = '220 submission.example.test Dovecot (Debian) ready.'
    $script:Reply = @{
        StartTls      = '220 2.0.0 Begin TLS negotiation now.'
        Ok            = '235 2.7.0 Logged in.'
        Invalid       = '535 5.7.8 Authentication failed.'
        NeedTls       = '523 5.7.10 Plaintext authentication disabled.'
        Mechanism     = '504 5.5.4 Unsupported authentication mechanism.'
        NeedAuth      = '530 5.7.0 Authentication required.'
        TlsActive     = '502 5.5.1 TLS is already active.'
        Accepted      = '250 2.0.0 OK'
        Bye           = '221 2.0.0 Bye'
    }

    function Invoke-RawSmtp {
        # A bare SMTP client (.NET sockets): the greeting, then for each line sent the whole reply. 'STARTTLS' answered
        # with 220 upgrades the connection (any certificate). Ends with QUIT. Returns one [pscustomobject]@{ Sent; Lines;
        # Last; Tls } per step, the greeting first. Never sends a password.
        param([string] $Address = '127.0.0.1', [int] $Port, [string[]] $Lines, [switch] $ImplicitTls)
        $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
        try {
            $client.Connect([System.Net.IPAddress]::Parse($Address), $Port)
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
    function Get-EhloKeywords([string[]] $Lines) { @($Lines | Select-Object -Skip 1 | ForEach-Object { $_.Substring(4) }) }

    # Dovecot's log since a mark (its line count before the session). The login process logs a session when it ends,
    # which can be just after the probe returns, so an expected line is waited for (at most 10 s).
    function Get-LogMark([string] $Path = $script:Peer.logPath) { @(Get-Content -LiteralPath $Path -ErrorAction SilentlyContinue).Count }
    function Wait-LogLine([int] $Since, [string] $Pattern, [string] $Path = $script:Peer.logPath) {
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do {
            $hits = @(Get-Content -LiteralPath $Path | Select-Object -Skip $Since | Where-Object { $_ -match $Pattern })
            if ($hits.Count) { return $hits }
            Start-Sleep -Milliseconds 100
        } while ([DateTime]::UtcNow -lt $deadline)
        @()
    }
    # Dovecot's lines about an AUTH it received (a login, a failed or refused one) since a mark.
    function Get-AuthLines([int] $Since) { @(Get-Content -LiteralPath $script:Peer.logPath | Select-Object -Skip $Since | Where-Object { $_ -cmatch 'submission-login: Info: (?:Login: |Authenticate )|method=|auth: ' }) }
}

AfterAll {
    Stop-TestPeer -StopScript (Join-Path $PSScriptRoot 'Stop-DovecotPeer.ps1') -WorkDirectory $script:PlainDir
    Stop-TestPeer -StopScript (Join-Path $PSScriptRoot 'Stop-DovecotPeer.ps1') -WorkDirectory $script:PeerDir
}

Describe 'Dovecot submission 2.3.19 peer' -Tag 'Peer' {

    Context 'the peer' {
        It 'runs a private Dovecot (dovecot -c <work>/dovecot.conf) with its relay sink, and peer.json describes it' {
            if (Skip-IfUnavailable) { return }
            $json = Get-Content -LiteralPath (Join-Path $script:PeerDir 'peer.json') -Raw | ConvertFrom-Json
            @($json.startTlsPort, $json.implicitTlsPort, $json.remotePort, $json.relayPort) | Should -Be @(0..3 | ForEach-Object { $script:BasePort + $_ })
            $json.user | Should -BeExactly 'alice'
            $json.dovecotVersion | Should -Match '^2\.3\.\d+'
            $json.authMechanisms | Should -Be 'plain login'
            [System.IO.File]::GetUnixFileMode((Join-Path $script:PeerDir 'peer.json')) | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
            ($script:Peer | Out-String) | Should -Not -BeLike "*$($script:Peer.password)*"
            $master = Read-PidFile (Join-Path $script:PeerDir 'run/master.pid')
            $argv = [System.IO.File]::ReadAllText("/proc/$master/cmdline").TrimEnd([char]0).Split([char]0)
            $argv | Should -Be @('/usr/sbin/dovecot', '-c', (Join-Path $script:PeerDir 'dovecot.conf'))
            Wait-LogLine 0 "master: Info: Dovecot v$([regex]::Escape($json.dovecotVersion)) \(\w+\) starting up for submission" | Should -Not -BeNullOrEmpty
        }
    }

    Context 'Dovecot''s own replies (bare socket client)' {
        It 'greets, offers STARTTLS and, to a loopback client it counts as secured, AUTH PLAIN LOGIN before TLS' {
            if (Skip-IfUnavailable) { return }
            $s = Invoke-RawSmtp -Port $script:Peer.startTlsPort -Lines 'EHLO client.example.test', 'STARTTLS', 'EHLO client.example.test', 'STARTTLS', 'AUTH CRAM-MD5', 'MAIL FROM:<alice@example.test>'
            $s[0].Last | Should -BeExactly $script:Banner
            Get-EhloKeywords $s[1].Lines | Should -Be @('8BITMIME', 'AUTH PLAIN LOGIN', 'BURL imap', 'CHUNKING', 'ENHANCEDSTATUSCODES', 'SIZE', 'STARTTLS', 'PIPELINING')
            $s[2].Last | Should -BeExactly $script:Reply.StartTls
            $s[3].Tls | Should -BeTrue
            Get-EhloKeywords $s[3].Lines | Should -Be @('8BITMIME', 'AUTH PLAIN LOGIN', 'BURL imap', 'CHUNKING', 'ENHANCEDSTATUSCODES', 'SIZE', 'PIPELINING')
            $s[4].Last | Should -BeExactly $script:Reply.TlsActive
            $s[5].Last | Should -BeExactly $script:Reply.Mechanism
            $s[6].Last | Should -BeExactly $script:Reply.NeedAuth
            $s[7].Last | Should -BeExactly $script:Reply.Bye
        }

        It 'to a client it does not count as secured (127.0.0.1 -> 127.0.0.2) advertises AUTH without mechanisms before TLS and refuses AUTH PLAIN and LOGIN in clear' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $s = Invoke-RawSmtp -Address $script:Peer.remoteHost -Port $script:Peer.remotePort -Lines 'EHLO client.example.test', 'AUTH PLAIN', 'AUTH LOGIN', 'STARTTLS', 'EHLO client.example.test'
            $s[1].Lines | Should -Contain '250-AUTH ' -Because 'Dovecot sends the AUTH keyword with an empty list (trailing blank) while no mechanism is allowed'
            Get-EhloKeywords $s[1].Lines | Should -Contain 'STARTTLS'
            $s[2].Last | Should -BeExactly $script:Reply.NeedTls
            $s[3].Last | Should -BeExactly $script:Reply.NeedTls
            $s[5].Tls | Should -BeTrue
            Get-EhloKeywords $s[5].Lines | Should -Contain 'AUTH PLAIN LOGIN'
            Wait-LogLine $mark 'submission-login: Info: Authenticate PLAIN failed: Plaintext authentication disabled\.: user=<>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.2,' | Should -Not -BeNullOrEmpty
            Wait-LogLine $mark 'submission-login: Info: Disconnected: Aborted login by logging out \(tried to use disallowed plaintext auth\): user=<>, method=LOGIN, rip=127\.0\.0\.1, lip=127\.0\.0\.2, TLS' | Should -Not -BeNullOrEmpty
        }
    }

    Context 'Test-SmtpAuth: success' {
        It 'authenticates alice with -Mechanism <Mechanism> (AUTH <Sent>) after STARTTLS, as Dovecot logs it' -ForEach @(
            @{ Mechanism = 'Auto'; Sent = 'LOGIN' }
            @{ Mechanism = 'Plain'; Sent = 'PLAIN' }
        ) {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.startTlsPort -Mechanism $Mechanism @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.Mechanism | Should -BeExactly $Sent
            $r.ReplyText | Should -BeExactly $script:Reply.Ok
            $r.EnhancedStatusCode | Should -Be '2.7.0'
            $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN LOGIN'
            $r.ExchangeOnline | Should -BeFalse
            $r.Transcript | Should -Match "(?m)^S: $([regex]::Escape($script:Banner))$"
            Wait-LogLine $mark "submission-login: Info: Login: user=<alice>, method=$Sent, rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+, TLS" | Should -Not -BeNullOrEmpty
            foreach ($f in Resolve-Findings $r) { $f.CauseId | Should -Not -BeIn $script:ExchangeOnlyCauses }
        }

        It 'picks AUTH PLAIN where Dovecot offers only PLAIN (auth_mechanisms = plain, its default)' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark $script:PlainPeer.logPath
            $r = Test-SmtpAuth -Credential $script:PlainCred -Port $script:PlainPeer.startTlsPort @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN'
            $r.Mechanism | Should -BeExactly 'PLAIN'
            $r.ReplyText | Should -BeExactly $script:Reply.Ok
            Wait-LogLine $mark 'submission-login: Info: Login: user=<alice>, method=PLAIN, .* TLS' $script:PlainPeer.logPath | Should -Not -BeNullOrEmpty
        }

        It 'authenticates with -TlsMode Implicit on the submissions port' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.implicitTlsPort -TlsMode Implicit @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.Transcript | Should -Match '\(TLS on connect\)'
            $r.ReplyText | Should -BeExactly $script:Reply.Ok
            Wait-LogLine $mark 'submission-login: Info: Login: user=<alice>, method=LOGIN, .* TLS' | Should -Not -BeNullOrEmpty
        }

        It 'sends a test message that Dovecot relays to the sink' {
            if (Skip-IfUnavailable) { return }
            $sinkMark = Get-LogMark $script:Peer.relayLogPath
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.startTlsPort -SendTestMessage -From 'alice@example.test' -To 'bob@elsewhere.example' -Confirm:$false @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.TestMessageSent | Should -BeTrue
            $r.ReplyText | Should -BeExactly $script:Reply.Accepted
            Wait-LogLine $mark 'submission\(alice\)<\d+><[^>]+>: Info: Successfully relayed message: from=<alice@example\.test>, size=\d+, id=\S+, nrcpt=1, reply=`250 2\.0\.0 OK' | Should -Not -BeNullOrEmpty
            Wait-LogLine $sinkMark '^\s+for <bob@elsewhere\.example>; ' $script:Peer.relayLogPath | Should -Not -BeNullOrEmpty
        }
    }

    Context 'Test-SmtpAuth: failures, in Dovecot''s words' {
        It 'reports a wrong password as Dovecot''s 535 at Auth, reads it as InvalidCredentials and nothing of Exchange Online, and shows the password nowhere' {
            if (Skip-IfUnavailable) { return }
            $wrong = New-WrongCredential
            $mark = Get-LogMark
            $all = @(Test-SmtpAuth -Credential $wrong.Credential -Port $script:Peer.startTlsPort -Mechanism Plain -Server 127.0.0.1 -SkipCertificateCheck -TimeoutSec 20 -Verbose -Debug *>&1)
            $r = @($all | Where-Object { $_.PSObject.TypeNames -contains 'SmtpAuthTroubleshooter.SmtpAuthTestResult' })
            $r.Count | Should -Be 1
            $r = $r[0]
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Auth'
            $r.ReplyCode | Should -Be 535
            $r.ReplyText | Should -BeExactly $script:Reply.Invalid
            $r.EnhancedStatusCode | Should -Be '5.7.8'
            Wait-LogLine $mark 'auth: Info: passwd-file\(alice,127\.0\.0\.1,<[^>]+>\): Password mismatch' | Should -Not -BeNullOrEmpty
            Wait-LogLine $mark 'submission-login: Info: Disconnected: Aborted login by logging out \(auth failed, 1 attempts in \d+ secs\): user=<alice>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, TLS' | Should -Not -BeNullOrEmpty

            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'InvalidCredentials'
            "$($findings[0].Verdict)" | Should -BeIn @('Likely', 'Confirmed')
            Assert-NotExchangeDiagnosis $findings
            @($findings | Where-Object { "$($_.Verdict)" -eq 'Confirmed' -and $_.CauseId -ne 'InvalidCredentials' }) | Should -BeNullOrEmpty -Because 'Dovecot said only that the credentials failed'
            foreach ($f in @($findings | Where-Object CauseId -EQ 'AuthNotAdvertised')) { "$($f.Verdict)" | Should -Be 'RuledOut' }

            $b64 = { param($t) [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($t)) }
            $pattern = (@($wrong.Password, (& $b64 $wrong.Password), (& $b64 "`0alice`0$($wrong.Password)")) | ForEach-Object { [regex]::Escape($_) }) -join '|'
            Get-ResultText $r | Should -Not -Match $pattern
            ($all | Where-Object { $_ -isnot [psobject] -or $_.PSObject.TypeNames -notcontains 'SmtpAuthTroubleshooter.SmtpAuthTestResult' } | Out-String -Width 4096) | Should -Not -Match $pattern
            ($findings | Out-String -Width 4096) | Should -Not -Match $pattern
        }

        It 'gives Dovecot''s advice, not Exchange Online''s, for its 535 from the probe and pasted as text' {
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential (New-WrongCredential).Credential -Port $script:Peer.startTlsPort @script:Common
            $r.ReplyText | Should -BeExactly $script:Reply.Invalid
            Assert-OtherServerAdvice (Resolve-Findings $r)
            Assert-OtherServerAdvice (Resolve-Findings $r.ReplyText) -Named 'Dovecot'
        }

        It 'says where it stopped and sends no credentials when -TlsMode Implicit meets the STARTTLS port' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.startTlsPort -TlsMode Implicit @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Tls'
            $r.Message | Should -Match 'credentials were not sent'
            $r.Transcript | Should -Not -Match 'C: AUTH'
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'ImplicitTlsOnStartTlsPort'
            Assert-NotExchangeDiagnosis $findings
            # Dovecot reads the TLS hello as SMTP; it logs such a session as 'Disconnected: ... (no auth attempts ...)', but not
            # always before the next test (seen missing for over 10 s on a loaded machine), so only the absence of any AUTH is
            # checked here; the last Context checks the whole log for the passwords.
            Get-AuthLines $mark | Should -BeNullOrEmpty -Because 'Dovecot saw no AUTH'
        }

        It 'says where it stopped and sends no credentials when STARTTLS mode meets the TLS-on-connect port' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.implicitTlsPort -Server 127.0.0.1 -SkipCertificateCheck -WarningAction SilentlyContinue -TimeoutSec 3
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Banner'
            $r.Message | Should -Match '-TlsMode Implicit'
            $r.Transcript | Should -Not -Match 'C: '
            (Resolve-Findings $r)[0].CauseId | Should -BeExactly 'NoSmtpGreeting'
            Get-AuthLines $mark | Should -BeNullOrEmpty
        }

        It 'never sends credentials in clear where Dovecot offers AUTH only after STARTTLS (not secured client), and signs in after it' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.remotePort -Server $script:Peer.remoteHost -SkipCertificateCheck -WarningAction SilentlyContinue -TimeoutSec 20
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty -Because "Dovecot's '250-AUTH ' lists no mechanism"
            $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN LOGIN'
            $r.Transcript | Should -Match '(?s)C: STARTTLS.*C: AUTH'
            Wait-LogLine $mark 'submission-login: Info: Login: user=<alice>, method=LOGIN, rip=127\.0\.0\.1, lip=127\.0\.0\.2, mpid=\d+, TLS' | Should -Not -BeNullOrEmpty

            # -TlsMode None: the probe stops before AUTH; the finding says TLS first, not a password problem.
            $mark = Get-LogMark
            $n = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.remotePort -Server $script:Peer.remoteHost -TlsMode None -WarningAction SilentlyContinue -TimeoutSec 20
            $n.Succeeded | Should -BeFalse
            $n.Transcript | Should -Not -Match 'C: AUTH'
            $findings = Resolve-Findings $n
            $findings[0].CauseId | Should -BeExactly 'StartTlsRequired'
            Assert-NotExchangeDiagnosis $findings
            Get-AuthLines $mark | Should -BeNullOrEmpty

            # The same with -AllowUnencryptedAuthentication: Dovecot's '250-AUTH ' lists nothing usable in clear, so still no
            # AUTH, and the probe does not claim that Dovecot lacks authentication.
            $a = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.remotePort -Server $script:Peer.remoteHost -TlsMode None -AllowUnencryptedAuthentication -WarningAction SilentlyContinue -TimeoutSec 20
            $a.Succeeded | Should -BeFalse
            $a.Transcript | Should -Match '(?m)^S: 250-AUTH $'
            $a.Transcript | Should -Not -Match 'C: AUTH'
            $a.Message | Should -BeLike 'The SMTP server advertises no AUTH mechanism on this unencrypted connection, and it offers STARTTLS*'
            (Resolve-Findings $a)[0].CauseId | Should -BeExactly 'StartTlsRequired'
            Get-AuthLines $mark | Should -BeNullOrEmpty
        }

        It 'reports MAIL FROM without AUTH (-SkipAuthentication) as Dovecot''s 530, read as NotAuthenticated, not Exchange''s' {
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -SkipAuthentication -Port $script:Peer.startTlsPort -SendTestMessage -From 'alice@example.test' -To 'bob@elsewhere.example' -Confirm:$false @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'MailFrom'
            $r.ReplyText | Should -BeExactly $script:Reply.NeedAuth
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'NotAuthenticated'
            Assert-NotExchangeDiagnosis $findings
        }
    }

    Context 'Resolve-SmtpAuthError on Dovecot''s texts' {
        It 'reads ''<Text>'' as <Expected>, with nothing of Exchange Online confirmed' -ForEach @(
            @{ Text = '535 5.7.8 Authentication failed.'; Expected = 'InvalidCredentials' }
            @{ Text = '523 5.7.10 Plaintext authentication disabled.'; Expected = 'StartTlsRequired' }
            @{ Text = '504 5.5.4 Unsupported authentication mechanism.'; Expected = 'AuthMechanismUnsupported' }
            @{ Text = '530 5.7.0 Authentication required.'; Expected = 'NotAuthenticated' }
        ) {
            if (Skip-IfUnavailable) { return }
            $findings = Resolve-Findings $Text
            $findings[0].CauseId | Should -BeExactly $Expected
            $findings[0].ReplyText | Should -BeExactly $Text
            Assert-NotExchangeDiagnosis $findings
        }
    }

    Context 'secrets and Stop-DovecotPeer.ps1' {
        # Last on purpose: it stops the peers the tests above used (AfterAll then finds nothing to do).
        It 'has no password the tests used in Dovecot''s log or the sink''s output' {
            if (Skip-IfUnavailable) { return }
            $script:Secrets.Count | Should -BeGreaterThan 0
            $logs = foreach ($p in $script:Peer, $script:PlainPeer) { Get-Content -LiteralPath $p.logPath -Raw; Get-Content -LiteralPath $p.relayLogPath -Raw }
            $text = $logs -join "`n"
            $b64 = { param($t) [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($t)) }
            foreach ($secret in @($script:Secrets) + $script:Peer.password + $script:PlainPeer.password) {
                $text | Should -Not -Match ([regex]::Escape($secret))
                $text | Should -Not -Match ([regex]::Escape((& $b64 $secret)))
            }
        }

        It 'ends every process of the peer and removes the work directory (unless DOVECOT_PEER_KEEP=1)' {
            if (Skip-IfUnavailable) { return }
            $master = Read-PidFile (Join-Path $script:PeerDir 'run/master.pid')
            $sink = Read-PidFile (Join-Path $script:PeerDir 'relay.pid')
            $children = @(Get-ProcIds | Where-Object { (Get-ProcStat $_).PPid -eq $master })
            $children.Count | Should -BeGreaterThan 0
            & (Join-Path $PSScriptRoot 'Stop-DovecotPeer.ps1') -WorkDirectory $script:PeerDir -WarningVariable warnings
            @($warnings) | Should -BeNullOrEmpty
            @(@($master, $sink) + $children | Where-Object { Get-ProcStat $_ }) | Should -BeNullOrEmpty
            Test-Path -LiteralPath $script:PeerDir | Should -Be ($env:DOVECOT_PEER_KEEP -eq '1')
            Test-PortFree $script:Peer.startTlsPort | Should -BeTrue
            Test-PortFree $script:Peer.relayPort | Should -BeTrue
        }
    }
}
