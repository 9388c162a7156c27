#requires -Modules Pester
# Test-SmtpAuth and Resolve-SmtpAuthError against Exim 4.96 (tests/Peers/exim: Debian bookworm's exim4-daemon-light,
# extracted from its .deb and started here on loopback; not installed, so Postfix stays the system MTA). Exim is the
# other big Unix MTA; its AUTH texts are its own: '235 Authentication succeeded', '535 Incorrect authentication data',
# '503 AUTH command used when not advertised', '504 <MECH> authentication mechanism not supported', no enhanced status
# codes (it does not advertise ENHANCEDSTATUSCODES), and '550 Administrative prohibition' from a denying ACL.
# The expectations come from Exim's mainlog (which commands a session used, C=...; which authenticator ran, A=...; what
# it refused), from its replies as tests/Peers/exim/Peer.Tests.ps1 records them with swaks and a bare socket client,
# and from RFC 4954 / RFC 3207 - not from what the module prints.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../Peers/PeerTools.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-exim-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:BasePort = if ($env:EXIM_PEER_MODULE_BASEPORT) { [int]$env:EXIM_PEER_MODULE_BASEPORT } else { 25985 }
    $script:Unavailable = $null
    $script:Peer = $null
    try { $script:Peer = & "$PSScriptRoot/../Peers/exim/Start-EximPeer.ps1" -WorkDirectory $script:PeerDir -BasePort $script:BasePort }
    catch { if ("$($_.Exception.Message)" -like 'PEER-UNAVAILABLE:*') { $script:Unavailable = $_.Exception.Message } else { throw } }
    function Skip-IfUnavailable { if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }; $false }

    if ($script:Peer) {
        $script:Cred = [pscredential]::new($script:Peer.user, (ConvertTo-SecureString $script:Peer.password -AsPlainText -Force))
    }
    function New-WrongCredential {
        # A fresh wrong password each time, so that finding it anywhere can only mean the module leaked it.
        $wrong = 'Wrong-' + (New-RandomString -Length 18)
        [pscustomobject]@{ Password = $wrong; Credential = [pscredential]::new($script:Peer.user, (ConvertTo-SecureString $wrong -AsPlainText -Force)) }
    }
    $script:Common = @{ Server = '127.0.0.1'; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }
    $script:TlsProtocols = @([System.Security.Authentication.SslProtocols]::Tls12, [System.Security.Authentication.SslProtocols]::Tls13)

    # Exim 4.96's replies (recorded by tests/Peers/exim/Peer.Tests.ps1).
    $script:Reply = @{
        Ok            = '235 Authentication succeeded'
        Invalid       = '535 Incorrect authentication data'
        NotAdvertised = '503 AUTH command used when not advertised'
        NoPlain       = '504 PLAIN authentication mechanism not supported'
        NoStartTls    = '503 STARTTLS command used when not advertised'
        Prohibited    = '550 Administrative prohibition'
    }

    $script:ServerName = 'Exim'
    . "$PSScriptRoot/peer-diagnosis.ps1"

    # Exim's mainlog since a mark (its line count before the probe). Exim logs a session's end when the connection
    # closes, which can be just after the probe returns, so an expected line is waited for (at most 10 s).
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
    function Get-LogLines([int] $Since, [string] $Pattern) {
        @(Get-Content -LiteralPath $script:Peer.mainLogPath | Select-Object -Skip $Since | Where-Object { $_ -match $Pattern })
    }
    function Get-Session([int] $Since, [int] $Port) {
        # The one session on $Port since the mark that sent no MAIL, as Exim logs it at its end (log_selector
        # +smtp_no_mail): its commands (C=, in order), its authenticator and id (A=, only after a 235) and its TLS
        # cipher (X=, only with TLS).
        $lines = @(Wait-LogLine $Since "no MAIL in SMTP connection from .* I=\[127\.0\.0\.1\]:$Port ")
        $lines.Count | Should -Be 1 -Because "one probe, one session on port $Port ($($lines -join ' | '))"
        [pscustomobject]@{
            Line     = $lines[0]
            Commands = [regex]::Match($lines[0], ' C=(\S+)$').Groups[1].Value
            Auth     = [regex]::Match($lines[0], ' A=(\S+)').Groups[1].Value
            Tls      = [regex]::Match($lines[0], ' X=(\S+)').Groups[1].Value
        }
    }
}

AfterAll {
    # Stop-EximPeer.ps1 also removes the work directory (certificate key, peer.json with the password) unless
    # EXIM_PEER_KEEP=1: a test run leaves nothing behind.
    if ($script:PeerDir -and (Test-Path -LiteralPath $script:PeerDir)) { & "$PSScriptRoot/../Peers/exim/Stop-EximPeer.ps1" -WorkDirectory $script:PeerDir }
}

Describe 'Test-SmtpAuth against Exim 4.96' -Tag Probe, Peer {

    Context 'STARTTLS port: AUTH PLAIN LOGIN only after STARTTLS' {
        It 'authenticates with -Mechanism <Mechanism> (AUTH <Sent>) after STARTTLS, as Exim''s <Driver> logs it' -ForEach @(
            @{ Mechanism = 'Auto'; Sent = 'LOGIN'; Driver = 'login_server' }
            @{ Mechanism = 'Login'; Sent = 'LOGIN'; Driver = 'login_server' }
            @{ Mechanism = 'Plain'; Sent = 'PLAIN'; Driver = 'plain_server' }
        ) {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.startTlsPort -Mechanism $Mechanism @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.FailedPhase | Should -Be 'None'
            $r.Mechanism | Should -BeExactly $Sent
            $r.ReplyCode | Should -Be 235
            $r.ReplyText | Should -BeExactly $script:Reply.Ok
            $r.StartTlsOffered | Should -BeTrue
            $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty -Because 'Exim advertises no AUTH before TLS here (auth_advertise_hosts)'
            $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN LOGIN'
            $r.TlsProtocol | Should -BeIn $script:TlsProtocols
            $r.ExchangeOnline | Should -BeFalse
            $session = Get-Session $mark $script:Peer.startTlsPort
            $session.Commands | Should -BeExactly 'EHLO,STARTTLS,EHLO,AUTH,QUIT' -Because 'AUTH went only after STARTTLS'
            $session.Auth | Should -BeExactly "${Driver}:probe@example.test"
            $session.Tls | Should -Not -BeNullOrEmpty
            Get-ResultText $r | Should -Not -Match ([regex]::Escape($script:Peer.password))
        }

        It 'reports a wrong password (AUTH <Mechanism>) as Exim''s 535 at Auth, and the password shows nowhere' -ForEach @(
            @{ Mechanism = 'Login'; Driver = 'login_server' }
            @{ Mechanism = 'Plain'; Driver = 'plain_server' }
        ) {
            if (Skip-IfUnavailable) { return }
            $wrong = New-WrongCredential
            $mark = Get-LogMark
            $all = @(Test-SmtpAuth -Credential $wrong.Credential -Port $script:Peer.startTlsPort -Mechanism $Mechanism -Server 127.0.0.1 -SkipCertificateCheck -TimeoutSec 20 -Verbose -Debug *>&1)
            $r = @($all | Where-Object { $_.PSObject.TypeNames -contains 'SmtpAuthTroubleshooter.SmtpAuthTestResult' })
            $r.Count | Should -Be 1
            $r = $r[0]
            @($all | Where-Object { $_ -is [System.Management.Automation.DebugRecord] }) | Should -Not -BeNullOrEmpty -Because 'the Debug stream (the transcript) is checked below'
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Auth'
            $r.ReplyCode | Should -Be 535
            $r.ReplyText | Should -BeExactly $script:Reply.Invalid
            $r.EnhancedStatusCode | Should -BeNullOrEmpty -Because 'Exim does not advertise ENHANCEDSTATUSCODES and sends none'
            # Exim asked for the credentials and checked them: its authenticator ran and refused.
            Wait-LogLine $mark "$Driver authenticator failed for .* I=\[127\.0\.0\.1\]:$($script:Peer.startTlsPort): 535 Incorrect authentication data \(set_id=probe@example\.test\)$" | Should -Not -BeNullOrEmpty
            (Get-Session $mark $script:Peer.startTlsPort).Commands | Should -BeExactly 'EHLO,STARTTLS,EHLO,AUTH,QUIT'
            # Not in the result (Transcript, Message, any property, the list view, the JSON), nor in any stream: neither
            # the password nor the base64 forms AUTH LOGIN and AUTH PLAIN put on the wire.
            $b64 = { param($t) [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($t)) }
            $pattern = (@($wrong.Password, (& $b64 $wrong.Password), (& $b64 "`0$($script:Peer.user)`0$($wrong.Password)")) | ForEach-Object { [regex]::Escape($_) }) -join '|'
            Get-ResultText $r | Should -Not -Match $pattern
            $r.Transcript | Should -Not -Match $pattern
            $r.Message | Should -Not -Match $pattern
            ($all | Where-Object { $_ -isnot [psobject] -or $_.PSObject.TypeNames -notcontains 'SmtpAuthTroubleshooter.SmtpAuthTestResult' } | Out-String -Width 4096) | Should -Not -Match $pattern
            # The diagnosis: a wrong password, read as such, with nothing of Exchange Online's confirmed or offered as the fix.
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'InvalidCredentials'
            "$($findings[0].Verdict)" | Should -BeIn @('Likely', 'Confirmed')
            Assert-NotExchangeDiagnosis $findings
            ($findings | Out-String -Width 4096) | Should -Not -Match $pattern
        }

        It 'does not suggest that the server advertised no AUTH when it advertised AUTH PLAIN LOGIN and answered the credentials with 535' {
            # The result itself shows AUTH PLAIN LOGIN after TLS and a 535 to the AUTH exchange; Exim's log shows its
            # authenticator ran. RFC 4954: 535 is "authentication credentials invalid"; a server that does not offer AUTH
            # answers 503 (Exim: '503 AUTH command used when not advertised'). AuthNotAdvertised is contradicted by the
            # evidence the finding is built from, so it must be absent or RuledOut.
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential (New-WrongCredential).Credential -Port $script:Peer.startTlsPort @script:Common
            $r.ReplyText | Should -BeExactly $script:Reply.Invalid
            $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN LOGIN'
            Wait-LogLine $mark "login_server authenticator failed for .* I=\[127\.0\.0\.1\]:$($script:Peer.startTlsPort): 535 Incorrect authentication data" | Should -Not -BeNullOrEmpty
            $null = Get-Session $mark $script:Peer.startTlsPort
            $findings = Resolve-Findings $r
            foreach ($f in @($findings | Where-Object CauseId -EQ 'AuthNotAdvertised')) {
                "$($f.Verdict)" | Should -Be 'RuledOut' -Because "the probe saw 'AUTH PLAIN LOGIN' advertised and Exim's authenticator refused the password (finding: '$($f.Title)', $($f.Verdict): $($f.Evidence))"
            }
        }

        It 'sends a test message that Exim accepts from the authenticated client and discards' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.startTlsPort -SendTestMessage -To 'someone@elsewhere.example' -Confirm:$false @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.TestMessageSent | Should -BeTrue
            $r.ReplyCode | Should -Be 250
            $r.ReplyText | Should -Match '^250 OK id=\S+$'
            $id = [regex]::Escape(($r.ReplyText -replace '^250 OK id=', ''))
            Wait-LogLine $mark "$id <= probe@example\.test .*I=\[127\.0\.0\.1\]:$($script:Peer.startTlsPort) P=esmtpsa .*A=login_server:probe@example\.test .*for someone@elsewhere\.example$" | Should -Not -BeNullOrEmpty
            Wait-LogLine $mark "$id => :blackhole: <someone@elsewhere\.example> R=discard_all$" | Should -Not -BeNullOrEmpty
        }

        It 'reports Exim''s refusal of MAIL FROM without AUTH (-SkipAuthentication) as it is, not as a password or Exchange problem' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -SkipAuthentication -Port $script:Peer.startTlsPort -SendTestMessage -From 'probe@example.test' -To 'someone@elsewhere.example' -Confirm:$false @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'MailFrom'
            $r.ReplyCode | Should -Be 550
            $r.ReplyText | Should -BeExactly $script:Reply.Prohibited
            $r.TestMessageSent | Should -BeFalse
            $r.Transcript | Should -Not -Match 'C: AUTH'
            Wait-LogLine $mark "I=\[127\.0\.0\.1\]:$($script:Peer.startTlsPort) .*rejected MAIL <probe@example\.test>$" | Should -Not -BeNullOrEmpty
            $findings = Resolve-Findings $r
            Assert-NotExchangeDiagnosis $findings
            $findings[0].CauseId | Should -Not -Be 'InvalidCredentials' -Because 'no credentials were sent'
        }

        It 'fails certificate validation of the self-signed certificate unless -SkipCertificateCheck, before any AUTH' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Server 127.0.0.1 -Port $script:Peer.startTlsPort -TimeoutSec 20
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Tls'
            $r.CertificateValid | Should -BeFalse
            $r.CertificateSubject | Should -Match 'CN=localhost'
            $r.Transcript | Should -Not -Match 'C: AUTH'
            Start-Sleep -Milliseconds 500
            Get-LogLines $mark "I=\[127\.0\.0\.1\]:$($script:Peer.startTlsPort) .*(A=|authenticator)" | Should -BeNullOrEmpty -Because 'Exim saw no AUTH'
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'CertificateValidationFailed'
            Assert-NotExchangeDiagnosis $findings
        }
    }

    Context 'implicit TLS port (tls_on_connect_ports)' {
        It 'authenticates with -TlsMode Implicit' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.implicitTlsPort -TlsMode Implicit @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.TlsMode | Should -Be 'Implicit'
            $r.Mechanism | Should -BeExactly 'LOGIN'
            $r.ReplyText | Should -BeExactly $script:Reply.Ok
            $r.StartTlsOffered | Should -BeNullOrEmpty -Because 'there is no STARTTLS step on a TLS-on-connect port'
            $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN LOGIN'
            $r.TlsProtocol | Should -BeIn $script:TlsProtocols
            $session = Get-Session $mark $script:Peer.implicitTlsPort
            $session.Commands | Should -BeExactly 'EHLO,AUTH,QUIT'
            $session.Tls | Should -Not -BeNullOrEmpty -Because 'the whole session was inside TLS'
            $session.Auth | Should -BeExactly 'login_server:probe@example.test'
        }

        It 'says a TLS-on-connect port probed with STARTTLS is waiting for TLS, and sends nothing' {
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential $script:Cred -Server 127.0.0.1 -Port $script:Peer.implicitTlsPort -SkipCertificateCheck -TimeoutSec 3 -WarningAction SilentlyContinue
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Banner'
            $r.Message | Should -Match 'the port answered'
            $r.Message | Should -Match '-TlsMode Implicit'
            $r.Transcript | Should -Not -Match 'C: '
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'NoSmtpGreeting'
            Assert-NotExchangeDiagnosis $findings
        }
    }

    Context 'cleartext port: AUTH PLAIN LOGIN advertised without TLS' {
        It 'does not send credentials with -TlsMode <TlsMode> (Exim''s log: no AUTH command)' -ForEach @(@{ TlsMode = 'StartTls' }, @{ TlsMode = 'None' }) {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.plainPort -TlsMode $TlsMode @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'StartTls'
            $r.StartTlsOffered | Should -BeFalse
            $r.AuthMechanismsBeforeTls | Should -BeExactly 'PLAIN LOGIN' -Because 'Exim would take them in clear...'
            $r.Transcript | Should -Not -Match 'C: AUTH' -Because '...and the probe did not send them'
            $session = Get-Session $mark $script:Peer.plainPort
            $session.Commands -split ',' | Should -Not -Contain 'AUTH' -Because "Exim received no AUTH command ($($session.Line))"
            $session.Commands | Should -BeLike 'EHLO*'
            $session.Auth | Should -BeNullOrEmpty
            Get-ResultText $r | Should -Not -Match ([regex]::Escape($script:Peer.password))
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'StartTlsNotOffered'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'ends the session with QUIT when it stops because STARTTLS is not offered (-TlsMode <TlsMode>)' -ForEach @(@{ TlsMode = 'StartTls' }, @{ TlsMode = 'None' }) {
            # RFC 5321 4.1.1.10: "The sender MUST NOT intentionally close the transmission channel until it sends a QUIT
            # command". The probe's session is intact here (EHLO answered, nothing refused); Exim logs a session that ended
            # without QUIT as 'lost', with C= lacking QUIT.
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.plainPort -TlsMode $TlsMode @script:Common
            $r.FailedPhase | Should -Be 'StartTls'
            $session = Get-Session $mark $script:Peer.plainPort
            $session.Commands | Should -BeExactly 'EHLO,QUIT' -Because "the probe should say QUIT before it hangs up ($($session.Line); Transcript ends: $(($r.Transcript.Trim() -split "`n")[-1]))"
        }

        It 'sends them in clear only with -AllowUnencryptedAuthentication, and Exim takes them' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.plainPort -TlsMode None -AllowUnencryptedAuthentication @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.ReplyText | Should -BeExactly $script:Reply.Ok
            $r.TlsProtocol | Should -BeNullOrEmpty
            $session = Get-Session $mark $script:Peer.plainPort
            $session.Commands | Should -BeExactly 'EHLO,AUTH,QUIT'
            $session.Auth | Should -BeExactly 'login_server:probe@example.test'
            $session.Tls | Should -BeNullOrEmpty
            Get-ResultText $r | Should -Not -Match ([regex]::Escape($script:Peer.password))
        }
    }

    Context 'CRAM-MD5-only and no-AUTH ports' {
        It 'never sends a password to a server that offers only CRAM-MD5 after STARTTLS' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.cramMd5Port @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Auth'
            $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty
            $r.AuthMechanismsAfterTls | Should -BeExactly 'CRAM-MD5'
            $r.ReplyCode | Should -BeNullOrEmpty -Because 'no AUTH command was sent, so Exim refused nothing'
            $r.Message | Should -Match 'password was not sent'
            $r.Transcript | Should -Not -Match 'C: AUTH'
            (Get-Session $mark $script:Peer.cramMd5Port).Commands | Should -BeExactly 'EHLO,STARTTLS,EHLO,QUIT'
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'AuthMechanismUnsupported'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'does not read a CRAM-MD5-only Exim as Exchange Online''s basic-auth retirement' {
            # Nothing was refused (no AUTH was sent, no 5.7.30 came back) and the server is not Exchange Online
            # (ExchangeOnline False): BasicAuthRetired ('Basic SMTP AUTH was refused before Microsoft's default change
            # (5.7.30)') has no evidence at all here.
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.cramMd5Port @script:Common
            $r.ExchangeOnline | Should -BeFalse
            $r.ReplyCode | Should -BeNullOrEmpty
            (Get-Session $mark $script:Peer.cramMd5Port).Commands | Should -BeExactly 'EHLO,STARTTLS,EHLO,QUIT' -Because 'no AUTH reached Exim'
            foreach ($f in @(Resolve-Findings $r | Where-Object CauseId -EQ 'BasicAuthRetired')) {
                "$($f.Verdict)" | Should -Be 'RuledOut' -Because "Exim offered CRAM-MD5 and refused nothing (finding: '$($f.Title)', $($f.Verdict))"
            }
        }

        It 'forces -Mechanism Plain on the CRAM-MD5 port: Exim answers 504 before any credential' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.cramMd5Port -Mechanism Plain @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Auth'
            $r.ReplyCode | Should -Be 504
            $r.ReplyText | Should -BeExactly $script:Reply.NoPlain
            $r.Transcript | Should -Match '(?m)^C: AUTH PLAIN\s*$' -Because 'a forced mechanism that is not advertised goes without an initial response'
            (Get-Session $mark $script:Peer.cramMd5Port).Commands | Should -BeExactly 'EHLO,STARTTLS,EHLO,AUTH,QUIT'
            Get-LogLines $mark 'authenticator failed' | Should -BeNullOrEmpty -Because 'no authenticator ran'
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'AuthMechanismUnsupported'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'reports a port that offers no AUTH even after STARTTLS, and sends nothing' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-LogMark
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.noAuthPort @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Auth'
            $r.StartTlsOffered | Should -BeTrue
            $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty
            $r.AuthMechanismsAfterTls | Should -BeNullOrEmpty
            $r.Message | Should -Match 'advertises no AUTH'
            (Get-Session $mark $script:Peer.noAuthPort).Commands | Should -BeExactly 'EHLO,STARTTLS,EHLO,QUIT'
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'AuthNotAdvertised'
            Assert-NotExchangeDiagnosis $findings
        }
    }

    Context 'Resolve-SmtpAuthError on Exim''s own reply texts' {
        It 'reads ''<Text>'' as <Expected>' -ForEach @(
            # RFC 4954 section 6: 535 = the credentials are invalid.
            @{ Text = '535 Incorrect authentication data'; Expected = 'InvalidCredentials' }
            # Exim's reply to AUTH where it advertised none (before STARTTLS here).
            @{ Text = '503 AUTH command used when not advertised'; Expected = 'AuthNotAdvertised' }
            # RFC 4954 section 4: 504 = the mechanism is not supported.
            @{ Text = '504 PLAIN authentication mechanism not supported'; Expected = 'AuthMechanismUnsupported' }
        ) {
            if (Skip-IfUnavailable) { return }
            $findings = Resolve-Findings $Text
            $findings[0].CauseId | Should -BeExactly $Expected
            $findings[0].ReplyText | Should -BeExactly $Text
            Assert-NotExchangeDiagnosis $findings
        }

        It 'gives Exim''s own advice, not Exchange Online''s, for its 535: from the probe result and pasted as text' {
            # Exim's own words say which server answered (its smtp_in.c texts, and what this Exim sent), so the checks and
            # fixes are Exim's: its log, the user name it expects, its listeners, not Entra's sign-in logs or the UPN.
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential (New-WrongCredential).Credential -Port $script:Peer.startTlsPort @script:Common
            $r.ReplyText | Should -BeExactly $script:Reply.Invalid -Because 'the probe got this reply from the live Exim'
            Assert-OtherServerAdvice (Resolve-Findings $r)
            Assert-OtherServerAdvice (Resolve-Findings $r.ReplyText) -Named 'Exim'
        }

        It 'reads Exim''s greeting on a probe of Exchange Online''s host name as an intercepted submission' {
            # A hosting provider that redirects outbound port 587 to its own Exim (PHPMailer/PHPMailer#313) hands a probe of
            # smtp.office365.com Exim's greeting. The probe result below is Exim's, with the host name it would have asked
            # for (the copy an admin gets from Import-Csv has the same fields); its transcript holds Exim's real greeting.
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential (New-WrongCredential).Credential -Port $script:Peer.startTlsPort @script:Common
            $r.Transcript | Should -Match '(?m)^S: 220 \S+ ESMTP Exim 4\.96'
            $asked = $r | Select-Object * -ExcludeProperty Server, ExchangeOnline
            $asked | Add-Member Server 'smtp.office365.com'
            $asked | Add-Member ExchangeOnline $true
            $findings = Resolve-Findings $asked
            $findings[0].CauseId | Should -BeExactly 'SubmissionIntercepted'
            $findings[0].Evidence | Should -Match 'ESMTP Exim 4\.96'
            @($findings | Select-Object -Skip 1 | Where-Object { "$($_.Verdict)" -in 'Likely', 'Confirmed' }) | Should -BeNullOrEmpty

            # The same result as it is (Exim probed as Exim) is not an interception.
            (Resolve-Findings $r).CauseId | Should -Not -Contain 'SubmissionIntercepted'
        }

        It 'sends no password to the live Exim when it answers for smtp.office365.com, even with -SkipCertificateCheck' {
            # A hosting provider's outbound SMTP redirection (PHPMailer/PHPMailer#313): the client asks for
            # smtp.office365.com and the provider's Exim answers. Here the name resolves to this Exim through a hosts file
            # of a private mount namespace (unshare, as root; the machine's own /etc/hosts is not touched), so the probe
            # goes through the real resolver, the real TLS handshake with Exim's certificate and Exim's real greeting.
            # Exim's mainlog says which commands the session used: there must be no AUTH.
            if (Skip-IfUnavailable) { return }
            $unshare = Get-Command unshare -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
            if (-not $IsLinux -or -not $unshare -or (& id -u) -ne '0') { Set-ItResult -Skipped -Because 'needs Linux, unshare and root for a private /etc/hosts'; return }
            & $unshare.Source --mount --propagation private true 2>$null
            if ($LASTEXITCODE -ne 0) { Set-ItResult -Skipped -Because 'unshare --mount is not permitted here'; return }

            $dir = Join-Path $script:PeerDir ('intercept-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
            $null = New-Item -ItemType Directory $dir
            $hosts = Join-Path $dir 'hosts'
            Set-Content -LiteralPath $hosts -Value (@('127.0.0.1 smtp.office365.com') + @(Get-Content -LiteralPath /etc/hosts)) -Encoding ascii
            $wrong = New-WrongCredential
            $child = Join-Path $dir 'probe.ps1'
            $out = Join-Path $dir 'result.csv'
            $liveTop = Join-Path $dir 'live-top.txt'
            # The child keeps what an admin would: the result as a CSV, and what Resolve-SmtpAuthError made of the live object.
            Set-Content -LiteralPath $child -Encoding utf8 -Value @"
`$ErrorActionPreference = 'Stop'
Import-Module '$script:ModuleManifest'
`$cred = [pscredential]::new('$($script:Peer.user)', (ConvertTo-SecureString `$env:SMTPAUTH_INTERCEPT_SECRET -AsPlainText -Force))
`$r = Test-SmtpAuth -Server smtp.office365.com -Port $($script:Peer.startTlsPort) -Credential `$cred -SkipCertificateCheck -WarningAction SilentlyContinue -TimeoutSec 20
`$r | Export-Csv -LiteralPath '$out' -NoTypeInformation
@(`$r | Resolve-SmtpAuthError -WarningAction SilentlyContinue)[0].CauseId | Set-Content -LiteralPath '$liveTop'
"@
            $mark = Get-LogMark
            $env:SMTPAUTH_INTERCEPT_SECRET = $wrong.Password
            try { & $unshare.Source --mount --propagation private sh -c "mount --bind '$hosts' /etc/hosts && exec '$script:Pwsh' -NoProfile -NonInteractive -File '$child'" }
            finally { Remove-Item Env:SMTPAUTH_INTERCEPT_SECRET }
            $LASTEXITCODE | Should -Be 0
            $r = Import-Csv -LiteralPath $out

            $r.Server | Should -BeExactly 'smtp.office365.com'
            $r.ExchangeOnline | Should -BeExactly 'True'
            $r.Succeeded | Should -BeExactly 'False'
            "$($r.FailedPhase)" | Should -BeExactly 'Auth'
            $r.Transcript | Should -Match '(?m)^S: 220 \S+ ESMTP Exim 4\.96'
            $r.Message | Should -Match '^Another server answered for smtp\.office365\.com: its greeting is .*ESMTP Exim 4\.96'
            $r.Message | Should -Match 'its certificate is for '
            $r.Message | Should -Match 'the credentials were not sent'
            $r.Mechanism | Should -BeNullOrEmpty
            $session = Get-Session $mark $script:Peer.startTlsPort
            $session.Commands | Should -Not -Match 'AUTH' -Because "Exim logged the session's commands: $($session.Line)"
            $session.Commands | Should -Match 'STARTTLS'
            $session.Tls | Should -Not -BeNullOrEmpty -Because 'the greeting and certificate were seen over TLS'

            # What the admin gets next: the interception, from the live result and from its copy read back from the file.
            Get-Content -LiteralPath $liveTop | Should -BeExactly 'SubmissionIntercepted'
            (Resolve-Findings $r)[0].CauseId | Should -BeExactly 'SubmissionIntercepted'
            Get-ChildItem -LiteralPath $dir -File | Select-String -SimpleMatch $wrong.Password | Should -BeNullOrEmpty
        }

        It 'gives Exim''s own advice for ''503 AUTH command used when not advertised'' pasted from its log' {
            # The probe never sends AUTH where none was advertised, so this reply is the one tests/Peers/exim/Peer.Tests.ps1
            # gets from this Exim with a raw socket client.
            if (Skip-IfUnavailable) { return }
            Assert-OtherServerAdvice (Resolve-Findings $script:Reply.NotAdvertised) -Named 'Exim'
        }

        It 'confirms nothing from Exim''s ''<Text>'' and does not call it a wrong password' -ForEach @(
            @{ Text = '550 Administrative prohibition' }
            @{ Text = '503 STARTTLS command used when not advertised' }
        ) {
            if (Skip-IfUnavailable) { return }
            $findings = Resolve-Findings $Text
            @($findings | Where-Object { "$($_.Verdict)" -eq 'Confirmed' }) | Should -BeNullOrEmpty -Because 'the text alone proves no cause'
            $findings[0].CauseId | Should -Not -Be 'InvalidCredentials'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'never confirms an Exchange-only cause for the failed Exim probes piped in together' {
            if (Skip-IfUnavailable) { return }
            $results = @(
                Test-SmtpAuth -Credential (New-WrongCredential).Credential -Port $script:Peer.startTlsPort @script:Common
                Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.plainPort @script:Common
                Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.cramMd5Port @script:Common
                Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.noAuthPort @script:Common
            )
            $results.Succeeded | Should -Be @($false, $false, $false, $false)
            foreach ($r in $results) { Assert-NotExchangeDiagnosis (Resolve-Findings $r) }
        }
    }

    Context 'advice for a server that is not Exchange Online' {
        It 'does not read a successful sign-in to Exim as Exchange Online''s basic-auth retirement' {
            # Resolve-SmtpAuthError gives a basic-auth success a BasicAuthRetired advisory whose evidence and fix are
            # Exchange Online's plan (smtp.office365.com, High Volume Email, Graph). The result says ExchangeOnline False:
            # Exim retires nothing, so the advisory does not apply.
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.startTlsPort @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.ExchangeOnline | Should -BeFalse
            foreach ($f in Resolve-Findings $r) {
                $f.CauseId | Should -Not -BeIn $script:ExchangeOnlyCauses -Because "$($f.CauseId) ('$($f.Title)') is about Exchange Online, and the probe talked to Exim"
            }
        }

        It 'does not tell the admin of a non-Exchange server to connect to Exchange Online as the top fix' {
            # The probe knows it talked to Exim (ExchangeOnline False, Server 127.0.0.1): 'Connect to smtp.office365.com'
            # fixes nothing on Exim. The right fixes are Exim's own (offer STARTTLS, use the port that offers AUTH, trust or
            # replace its certificate).
            if (Skip-IfUnavailable) { return }
            $cases = [ordered]@{
                'cleartext port'       = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.plainPort @script:Common
                'no-AUTH port'         = Test-SmtpAuth -Credential $script:Cred -Port $script:Peer.noAuthPort @script:Common
                'self-signed cert'     = Test-SmtpAuth -Credential $script:Cred -Server 127.0.0.1 -Port $script:Peer.startTlsPort -TimeoutSec 20
            }
            $offending = foreach ($c in $cases.GetEnumerator()) {
                $c.Value.ExchangeOnline | Should -BeFalse
                $top = (Resolve-Findings $c.Value)[0]
                if ("$($top.Remediation) $($top.RemediationCommand)" -match 'office365\.com|outlook\.com|Exchange Online') { "$($c.Key): $($top.CauseId) -> $($top.Remediation)" }
            }
            @($offending) | Should -BeNullOrEmpty
        }
    }
}
