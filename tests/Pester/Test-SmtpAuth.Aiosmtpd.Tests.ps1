#requires -Modules Pester
# Test-SmtpAuth and Resolve-SmtpAuthError against aiosmtpd (tests/Peers/aiosmtpd: Debian's python3-aiosmtpd 1.4.3,
# started here on loopback), the SMTP server many developers test and develop against. Its AUTH is its own code with
# its own texts (aiosmtpd/smtp.py): 235 2.7.0, 535 5.7.8, 538 5.7.11 before TLS, 530 5.7.0 for MAIL before AUTH,
# 504 5.5.4; LOGIN challenges "User Name\0" and "Password\0"; mechanisms advertised sorted (LOGIN PLAIN).
# The expectations come from the server's events log (which commands and AUTH attempts it saw, inside TLS or not, and
# how they ended), from its source and from RFC 4954 / RFC 3207 - not from what the module prints. The replies as
# swaks and smtplib record them are asserted in tests/Peers/aiosmtpd/Peer.Tests.ps1.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../Peers/PeerTools.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-aiosmtpd-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:BasePort = if ($env:AIOSMTPD_PEER_BASEPORT) { [int]$env:AIOSMTPD_PEER_BASEPORT } else { 26010 }
    $script:Unavailable = $null
    $script:Peer = $null
    try { $script:Peer = & "$PSScriptRoot/../Peers/aiosmtpd/Start-AiosmtpdPeer.ps1" -WorkDirectory $script:PeerDir -BasePort $script:BasePort }
    catch { if ("$($_.Exception.Message)" -like 'PEER-UNAVAILABLE:*') { $script:Unavailable = $_.Exception.Message } else { throw } }
    function Skip-IfUnavailable { if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }; $false }

    function Get-PeerCredential([string] $User, [string] $Password) {
        if (-not $PSBoundParameters.ContainsKey('Password')) { $Password = $script:Peer.users[$User] }
        [pscredential]::new($User, (ConvertTo-SecureString $Password -AsPlainText -Force))
    }
    # The peer's events for one listener since a mark (the line count before the probe).
    function Get-EventMark { @(Get-Content -LiteralPath $script:Peer.eventsPath -ErrorAction SilentlyContinue).Count }
    function Get-PeerEvents([int] $Port, [int] $Since) {
        @(Get-Content -LiteralPath $script:Peer.eventsPath | Select-Object -Skip $Since | ForEach-Object { $_ | ConvertFrom-Json } | Where-Object port -EQ $Port)
    }
    function Get-Commands($Events, [string] $Verb) { @($Events | Where-Object { $_.event -eq 'command' -and $_.verb -eq $Verb }) }
    $script:Common = @{ Server = '127.0.0.1'; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }
    $script:TlsProtocols = @([System.Security.Authentication.SslProtocols]::Tls12, [System.Security.Authentication.SslProtocols]::Tls13)

    # aiosmtpd 1.4.3's replies (aiosmtpd/smtp.py; recorded by tests/Peers/aiosmtpd/Peer.Tests.ps1).
    $script:Reply = @{
        Ok        = '235 2.7.0 Authentication successful'
        Invalid   = '535 5.7.8 Authentication credentials invalid'
        NeedTls   = '538 5.7.11 Encryption required for requested authentication mechanism'
        NeedAuth  = '530 5.7.0 Authentication required'
        Mechanism = '504 5.5.4 Unrecognized authentication type'
    }

    $script:ServerName = 'aiosmtpd'
    . "$PSScriptRoot/peer-diagnosis.ps1"

    function Invoke-RawSmtp {
        # A bare SMTP client (no TLS): the greeting, then each line sent and the last line of its reply. For replies
        # the probe never provokes (AUTH before STARTTLS), taken live from the server instead of typed in here.
        param([int] $Port, [string[]] $Lines)
        $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
        try {
            $client.Connect([System.Net.IPAddress]::Loopback, $Port)
            $client.ReceiveTimeout = 10000
            $stream = $client.GetStream()
            $readReply = { do { $line = Read-SmtpLine $stream } while ($line -match '^\d{3}-'); $line }
            $replies = @(& $readReply)
            foreach ($l in $Lines) {
                $bytes = [System.Text.Encoding]::ASCII.GetBytes("$l`r`n")
                $stream.Write($bytes, 0, $bytes.Length)
                $replies += & $readReply
            }
            $replies
        }
        finally { $client.Dispose() }
    }
}

AfterAll {
    if ($script:Peer) { & "$PSScriptRoot/../Peers/aiosmtpd/Stop-AiosmtpdPeer.ps1" -WorkDirectory $script:PeerDir }
}

Describe 'Test-SmtpAuth against aiosmtpd' -Tag Probe, Peer {

    Context 'STARTTLS, AUTH only after TLS (BasePort+0, auth_require_tls=True)' {
        It 'signs in after STARTTLS with AUTH LOGIN, the first of aiosmtpd''s "AUTH LOGIN PLAIN"' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.startTlsPort @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.FailedPhase | Should -Be 'None'
            $r.Mechanism | Should -BeExactly 'LOGIN'
            $r.ReplyCode | Should -Be 235
            $r.ReplyText | Should -BeExactly $script:Reply.Ok
            $r.EnhancedStatusCode | Should -Be '2.7.0'
            $r.StartTlsOffered | Should -BeTrue
            $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty -Because 'aiosmtpd hides AUTH until TLS with auth_require_tls=True'
            $r.AuthMechanismsAfterTls | Should -BeExactly 'LOGIN PLAIN'
            $r.TlsProtocol | Should -BeIn $script:TlsProtocols
            $r.ExchangeOnline | Should -BeFalse
            # The server: STARTTLS, the TLS handshake, then one AUTH LOGIN inside TLS and one successful check.
            $events = Get-PeerEvents $script:Peer.startTlsPort $mark
            $order = @($events | Where-Object { $_.event -in 'tls', 'auth' -or ($_.event -eq 'command' -and $_.verb -in 'STARTTLS', 'AUTH') } |
                ForEach-Object { if ($_.event -eq 'command') { $_.verb } else { $_.event } })
            $order | Should -Be @('STARTTLS', 'tls', 'AUTH', 'auth')
            $auth = Get-Commands $events 'AUTH'
            $auth.mechanism | Should -Be @('LOGIN')
            $auth.tls | Should -Be @($true)
            $checks = @($events | Where-Object event -EQ 'auth')
            $checks.username | Should -Be @('dave')
            $checks.ok | Should -Be @($true)
            (Get-ResultText $r).Contains($script:Peer.users['dave']) | Should -BeFalse -Because 'the password must not show in the result'
            $r.Transcript | Should -Match 'C: \*{8}'
        }

        It 'does not read a successful sign-in to aiosmtpd as Exchange Online''s basic-auth retirement' {
            # Resolve-SmtpAuthError gives every basic-auth success a BasicAuthRetired advisory whose evidence and fix are
            # Exchange Online's plan (smtp.office365.com, High Volume Email, Graph). The result says ExchangeOnline False:
            # aiosmtpd retires nothing, so the advisory does not apply.
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'user@example.test') -Port $script:Peer.startTlsPort @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.ExchangeOnline | Should -BeFalse
            $findings = Resolve-Findings $r
            foreach ($f in $findings) { $f.CauseId | Should -Not -BeIn $script:ExchangeOnlyCauses -Because "$($f.CauseId) ('$($f.Title)') is about Exchange Online, and the probe talked to aiosmtpd" }
        }

        It 'refuses a wrong password with aiosmtpd''s own 535 (AUTH <Mechanism>, port <Name>) and the password shows nowhere' -ForEach @(
            @{ Mechanism = 'LOGIN'; Name = 'startTlsPort' }
            @{ Mechanism = 'PLAIN'; Name = 'plainOnlyPort' }
        ) {
            if (Skip-IfUnavailable) { return }
            $port = $script:Peer.$Name
            $wrong = 'Wrong-' + (New-RandomString -Length 18)
            $mark = Get-EventMark
            $all = @(Test-SmtpAuth -Credential (Get-PeerCredential 'dave' $wrong) -Port $port -Server 127.0.0.1 -SkipCertificateCheck -TimeoutSec 20 -Verbose -Debug *>&1)
            $r = @($all | Where-Object { $_.PSObject.TypeNames -contains 'SmtpAuthTroubleshooter.SmtpAuthTestResult' })
            $r.Count | Should -Be 1
            $r = $r[0]
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Auth'
            $r.Mechanism | Should -BeExactly $Mechanism
            $r.ReplyCode | Should -Be 535
            $r.ReplyText | Should -BeExactly $script:Reply.Invalid
            $r.EnhancedStatusCode | Should -Be '5.7.8'
            $r.TlsProtocol | Should -BeIn $script:TlsProtocols
            # What the server saw: one AUTH of that mechanism inside TLS, one failed check of 'dave'.
            $events = Get-PeerEvents $port $mark
            (Get-Commands $events 'AUTH').mechanism | Should -Be @($Mechanism)
            $checks = @($events | Where-Object event -EQ 'auth')
            $checks.username | Should -Be @('dave')
            $checks.ok | Should -Be @($false)
            $checks.tls | Should -Be @($true)
            # The password, and the base64 forms AUTH LOGIN and AUTH PLAIN carried, are in no property, no view, no
            # stream (verbose, debug, warning), and not in the diagnosis either.
            $b64 = { param($s) [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($s)) }
            $secrets = @($wrong, (& $b64 $wrong), (& $b64 "`0dave`0$wrong"))
            $text = (Get-ResultText $r) + "`n" + (($all | Where-Object { $_.PSObject.TypeNames -notcontains 'SmtpAuthTroubleshooter.SmtpAuthTestResult' } | ForEach-Object { "$_" }) -join "`n") +
                "`n" + (Resolve-Findings $r | Format-List * | Out-String -Width 4096)
            foreach ($s in $secrets) { $text.Contains($s) | Should -BeFalse -Because 'the password must not leak' }
            $r.Transcript | Should -Match "C: AUTH $Mechanism"
        }

        It 'reads the wrong password as InvalidCredentials first, nothing Exchange-only confirmed, no Exchange fix on top' {
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave' 'not-the-password') -Port $script:Peer.startTlsPort @script:Common
            $r.ReplyCode | Should -Be 535
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'InvalidCredentials'
            $findings[0].Verdict | Should -BeIn 'Likely', 'Possible' -Because 'a reply text alone confirms nothing'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'gives aiosmtpd''s own advice for its 535, from the probe result and pasted as text' {
            # aiosmtpd's "5.7.8 Authentication credentials invalid" (smtp.py) says which server answered: no Entra sign-in
            # logs, UPN or Microsoft page for it.
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave' 'not-the-password') -Port $script:Peer.startTlsPort @script:Common
            $r.ReplyText | Should -Match '^535 5\.7\.8 Authentication credentials invalid'
            Assert-OtherServerAdvice (Resolve-Findings $r)
            Assert-OtherServerAdvice (Resolve-Findings $r.ReplyText) -Named 'aiosmtpd'
        }

        It 'does not suggest "the server advertised no AUTH" for a 535 to an AUTH the server advertised' {
            # The result itself shows AuthMechanismsAfterTls 'LOGIN PLAIN' and a 535 in answer to AUTH LOGIN: the server
            # did advertise AUTH, so AuthNotAdvertised is contradicted by the evidence in hand.
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave' 'not-the-password') -Port $script:Peer.startTlsPort @script:Common
            $r.AuthMechanismsAfterTls | Should -BeExactly 'LOGIN PLAIN'
            $r.ReplyCode | Should -Be 535
            foreach ($f in @(Resolve-Findings $r | Where-Object CauseId -EQ 'AuthNotAdvertised')) {
                $f.Verdict | Should -Be 'RuledOut' -Because "the probe's own result shows AUTH LOGIN PLAIN advertised and answered ($($f.Verdict): $($f.Evidence))"
            }
        }

        It 'sends no password with -TlsMode None, where aiosmtpd offers STARTTLS and hides AUTH' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.startTlsPort -TlsMode None @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'StartTls'
            $r.StartTlsOffered | Should -BeTrue
            $r.TlsProtocol | Should -BeNullOrEmpty
            $events = Get-PeerEvents $script:Peer.startTlsPort $mark
            (Get-Commands $events 'EHLO').Count | Should -Be 1
            Get-Commands $events 'STARTTLS' | Should -BeNullOrEmpty
            Get-Commands $events 'AUTH' | Should -BeNullOrEmpty
            @($events | Where-Object event -EQ 'auth') | Should -BeNullOrEmpty
        }

        It 'does not say "the server did not offer STARTTLS" when the result shows it offered STARTTLS' {
            # -TlsMode None: the client chose not to use TLS. The same result has StartTlsOffered True and aiosmtpd's
            # EHLO listed 250-STARTTLS, so StartTlsNotOffered is contradicted by the evidence.
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.startTlsPort -TlsMode None @script:Common
            $r.StartTlsOffered | Should -BeTrue
            $r.Transcript | Should -Match 'S: 250-STARTTLS'
            $findings = Resolve-Findings $r
            foreach ($f in @($findings | Where-Object CauseId -EQ 'StartTlsNotOffered')) {
                $f.Verdict | Should -BeIn 'Possible', 'RuledOut' -Because "the server offered STARTTLS ($($f.Verdict): $($f.Title))"
            }
            Assert-NotExchangeDiagnosis $findings
        }

        It 'gets aiosmtpd''s 530 for MAIL before AUTH (-SkipAuthentication -SendTestMessage) and reads it as NotAuthenticated' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -SkipAuthentication -SendTestMessage -From 'dave@example.test' -To 'someone@elsewhere.example' -Port $script:Peer.startTlsPort @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'MailFrom'
            $r.ReplyCode | Should -Be 530
            $r.ReplyText | Should -BeExactly $script:Reply.NeedAuth
            $r.TestMessageSent | Should -BeFalse
            $events = Get-PeerEvents $script:Peer.startTlsPort $mark
            $mail = Get-Commands $events 'MAIL'
            $mail.Count | Should -Be 1
            $mail[0].tls | Should -BeTrue
            Get-Commands $events 'AUTH' | Should -BeNullOrEmpty
            @($events | Where-Object event -EQ 'message') | Should -BeNullOrEmpty
            # RFC 4954 section 6: 530 5.7.0 "Authentication required" - the server wants AUTH before MAIL.
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'NotAuthenticated'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'does not blame a missing STARTTLS for the 530 that came inside TLS' {
            # The MAIL FROM went after STARTTLS (the events log has it with tls true, the result has TlsProtocol), so
            # "The client sent AUTH or MAIL FROM without STARTTLS" is contradicted by the evidence in hand.
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -SkipAuthentication -SendTestMessage -From 'dave@example.test' -To 'someone@elsewhere.example' -Port $script:Peer.startTlsPort @script:Common
            $r.ReplyCode | Should -Be 530
            $r.TlsProtocol | Should -BeIn $script:TlsProtocols
            foreach ($f in @(Resolve-Findings $r | Where-Object CauseId -EQ 'StartTlsRequired')) {
                $f.Verdict | Should -Be 'RuledOut' -Because "MAIL FROM was sent inside TLS ($($f.Verdict): $($f.Title))"
            }
        }

        It 'says TLS on connect failed on the STARTTLS port, and reads it as ImplicitTlsOnStartTlsPort first' {
            # aiosmtpd greets in clear text ('220 peer.example.test Python SMTP 1.4.3') where the probe expects a TLS
            # ServerHello: no certificate was ever presented, so a certificate failure cannot rank above the mode mismatch.
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.startTlsPort -TlsMode Implicit -Server 127.0.0.1 -SkipCertificateCheck -WarningAction SilentlyContinue -TimeoutSec 10
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Tls'
            $r.TlsProtocol | Should -BeNullOrEmpty
            $events = Get-PeerEvents $script:Peer.startTlsPort $mark
            @($events | Where-Object event -EQ 'connect').Count | Should -Be 1
            @($events | Where-Object event -EQ 'tls') | Should -BeNullOrEmpty
            Get-Commands $events 'AUTH' | Should -BeNullOrEmpty
            $findings = Resolve-Findings $r
            $findings.CauseId | Should -Contain 'ImplicitTlsOnStartTlsPort'
            $findings[0].CauseId | Should -BeExactly 'ImplicitTlsOnStartTlsPort' -Because "the handshake failed before any certificate (findings: $($findings.CauseId -join ', '))"
        }
    }

    Context 'PLAIN only (BasePort+4, auth_exclude_mechanism LOGIN)' {
        It 'signs in with AUTH PLAIN' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'user@example.test') -Port $script:Peer.plainOnlyPort @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.Mechanism | Should -BeExactly 'PLAIN'
            $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty
            $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN'
            $checks = @(Get-PeerEvents $script:Peer.plainOnlyPort $mark | Where-Object event -EQ 'auth')
            $checks.mechanism | Should -Be @('PLAIN')
            $checks.username | Should -Be @('user@example.test')
            $checks.ok | Should -Be @($true)
        }

        It 'forces -Mechanism Login: aiosmtpd answers 504 5.5.4 before asking for anything, read as AuthMechanismUnsupported' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.plainOnlyPort -Mechanism Login @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Auth'
            $r.ReplyCode | Should -Be 504
            $r.ReplyText | Should -BeExactly $script:Reply.Mechanism
            $events = Get-PeerEvents $script:Peer.plainOnlyPort $mark
            (Get-Commands $events 'AUTH').mechanism | Should -Be @('LOGIN')
            @($events | Where-Object event -EQ 'auth') | Should -BeNullOrEmpty -Because 'no user name or password was asked for'
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'AuthMechanismUnsupported'
            Assert-NotExchangeDiagnosis $findings
        }
    }

    Context 'implicit TLS' {
        It 'signs in over TLS on connect (BasePort+1, -TlsMode Implicit)' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.implicitTlsPort -TlsMode Implicit @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.TlsMode | Should -Be 'Implicit'
            $r.Mechanism | Should -BeExactly 'LOGIN'
            $r.ReplyText | Should -BeExactly $script:Reply.Ok
            $r.TlsProtocol | Should -BeIn $script:TlsProtocols
            $r.StartTlsOffered | Should -Not -BeTrue
            $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty
            $r.AuthMechanismsAfterTls | Should -BeExactly 'LOGIN PLAIN'
            $events = Get-PeerEvents $script:Peer.implicitTlsPort $mark
            $events[0].event | Should -Be 'connect'
            $events[1].event | Should -Be 'tls'
            $events[1].mode | Should -Be 'implicit'
            Get-Commands $events 'STARTTLS' | Should -BeNullOrEmpty
            $checks = @($events | Where-Object event -EQ 'auth')
            $checks.ok | Should -Be @($true)
            $checks.tls | Should -Be @($true)
        }

        It 'stops at Auth without sending the password where aiosmtpd advertises no AUTH inside TLS (BasePort+5)' {
            # aiosmtpd 1.4.3 with its default auth_require_tls=True does not see TLS set up on the listening socket
            # (aio-libs/aiosmtpd issues 274 and 281): no AUTH in EHLO, 538 to AUTH. The probe must not send the password.
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.implicitTlsDefaultPort -TlsMode Implicit @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'Auth'
            $r.TlsProtocol | Should -BeIn $script:TlsProtocols
            $r.AuthMechanismsAfterTls | Should -BeNullOrEmpty
            $r.Mechanism | Should -BeNullOrEmpty
            $r.Message | Should -Match 'no AUTH'
            $events = Get-PeerEvents $script:Peer.implicitTlsDefaultPort $mark
            Get-Commands $events 'AUTH' | Should -BeNullOrEmpty
            @($events | Where-Object event -EQ 'auth') | Should -BeNullOrEmpty
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'AuthNotAdvertised'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'does not blame a missing STARTTLS for a session that was encrypted from the first byte (BasePort+5)' {
            # The probe sent neither AUTH nor MAIL FROM, over TLS on connect; "The client sent AUTH or MAIL FROM without
            # STARTTLS" is contradicted by the result (TlsMode Implicit, TlsProtocol set) and by the server's log.
            if (Skip-IfUnavailable) { return }
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.implicitTlsDefaultPort -TlsMode Implicit @script:Common
            $r.TlsProtocol | Should -BeIn $script:TlsProtocols
            foreach ($f in @(Resolve-Findings $r | Where-Object CauseId -EQ 'StartTlsRequired')) {
                $f.Verdict | Should -Be 'RuledOut' -Because "the session was TLS on connect ($($f.Verdict): $($f.Title))"
            }
        }
    }

    Context 'clear text (BasePort+2: no TLS, AUTH advertised in clear)' {
        It 'sends no credentials by default: FailedPhase StartTls, and aiosmtpd saw no AUTH' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.clearTextPort @script:Common
            $r.Succeeded | Should -BeFalse
            $r.FailedPhase | Should -Be 'StartTls'
            $r.StartTlsOffered | Should -BeFalse
            $r.AuthMechanismsBeforeTls | Should -BeExactly 'LOGIN PLAIN'
            $r.Mechanism | Should -BeNullOrEmpty
            $r.Message | Should -Match 'not sent'
            $r.Transcript | Should -Not -Match 'C: AUTH'
            $events = Get-PeerEvents $script:Peer.clearTextPort $mark
            (Get-Commands $events 'EHLO').Count | Should -Be 1
            Get-Commands $events 'AUTH' | Should -BeNullOrEmpty
            @($events | Where-Object event -EQ 'auth') | Should -BeNullOrEmpty
            $findings = Resolve-Findings $r
            $findings[0].CauseId | Should -BeExactly 'StartTlsNotOffered'
            Assert-NotExchangeDiagnosis $findings
        }

        It 'sends no credentials with -TlsMode None either' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.clearTextPort -TlsMode None @script:Common
            $r.Succeeded | Should -BeFalse
            $r.Message | Should -Match 'AllowUnencryptedAuthentication'
            $events = Get-PeerEvents $script:Peer.clearTextPort $mark
            Get-Commands $events 'AUTH' | Should -BeNullOrEmpty
            @($events | Where-Object event -EQ 'auth') | Should -BeNullOrEmpty
        }

        It 'authenticates in clear text only with -AllowUnencryptedAuthentication, and aiosmtpd logs it outside TLS' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.clearTextPort -TlsMode None -AllowUnencryptedAuthentication @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.TlsProtocol | Should -BeNullOrEmpty
            $checks = @(Get-PeerEvents $script:Peer.clearTextPort $mark | Where-Object event -EQ 'auth')
            $checks.ok | Should -Be @($true)
            $checks.tls | Should -Be @($false)
        }
    }

    Context 'AUTH advertised before TLS too (BasePort+3, auth_require_tls=False)' {
        It 'still upgrades with STARTTLS before AUTH: aiosmtpd got AUTH only inside TLS' {
            if (Skip-IfUnavailable) { return }
            $mark = Get-EventMark
            $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.authBeforeTlsPort @script:Common
            $r.Succeeded | Should -BeTrue -Because $r.Message
            $r.StartTlsOffered | Should -BeTrue
            $r.AuthMechanismsBeforeTls | Should -BeExactly 'LOGIN PLAIN'
            $r.AuthMechanismsAfterTls | Should -BeExactly 'LOGIN PLAIN'
            $r.TlsProtocol | Should -BeIn $script:TlsProtocols
            $events = Get-PeerEvents $script:Peer.authBeforeTlsPort $mark
            $order = @($events | Where-Object { $_.event -in 'tls', 'auth' -or ($_.event -eq 'command' -and $_.verb -in 'EHLO', 'STARTTLS', 'AUTH') } |
                ForEach-Object { if ($_.event -eq 'command') { $_.verb } else { $_.event } })
            $order | Should -Be @('EHLO', 'STARTTLS', 'tls', 'EHLO', 'AUTH', 'auth')
            @(Get-Commands $events 'AUTH' | Where-Object { -not $_.tls }) | Should -BeNullOrEmpty -Because 'no AUTH may travel before TLS'
            $checks = @($events | Where-Object event -EQ 'auth')
            $checks.tls | Should -Be @($true)
            $checks.ok | Should -Be @($true)
        }
    }

    Context 'aiosmtpd''s raw replies into Resolve-SmtpAuthError' {
        BeforeAll {
            $script:Raw = @{}
            if ($script:Peer) {
                # Taken live from the server: AUTH before STARTTLS on BasePort+0, MAIL before AUTH, a wrong password, a
                # mechanism the PLAIN-only listener does not offer.
                $raw = @(Invoke-RawSmtp -Port $script:Peer.startTlsPort -Lines 'EHLO client.example.test', 'AUTH LOGIN', 'MAIL FROM:<dave@example.test>', 'QUIT')
                $script:Raw.NeedTls = $raw[2]
                $script:Raw.NeedAuth = $raw[3]
                $script:Raw.Invalid = (Test-SmtpAuth -Credential (Get-PeerCredential 'dave' 'not-the-password') -Port $script:Peer.startTlsPort @script:Common).ReplyText
                $script:Raw.Mechanism = (Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.plainOnlyPort -Mechanism Login @script:Common).ReplyText
            }
        }

        It 'the live texts are aiosmtpd 1.4.3''s' {
            if (Skip-IfUnavailable) { return }
            foreach ($k in 'NeedTls', 'NeedAuth', 'Invalid', 'Mechanism') { $script:Raw[$k] | Should -BeExactly $script:Reply[$k] -Because $k }
        }

        It 'reads "<Text>" as <Expected> first' -ForEach @(
            # RFC 4954 section 6: 535 5.7.8 "Authentication credentials invalid".
            @{ Key = 'Invalid'; Text = '535 5.7.8 Authentication credentials invalid'; Expected = 'InvalidCredentials' }
            # RFC 4954 section 6: 530 5.7.0 "Authentication required" (MAIL before a successful AUTH).
            @{ Key = 'NeedAuth'; Text = '530 5.7.0 Authentication required'; Expected = 'NotAuthenticated' }
            # RFC 4954 section 6: 538 5.7.11 - the mechanism may only be used when the connection is encrypted; aiosmtpd
            # sends it to AUTH before STARTTLS. The fix is TLS first (STARTTLS), the mechanism itself is fine.
            @{ Key = 'NeedTls'; Text = '538 5.7.11 Encryption required for requested authentication mechanism'; Expected = 'StartTlsRequired' }
            # RFC 4954 section 4: 504 for a mechanism the server does not support.
            @{ Key = 'Mechanism'; Text = '504 5.5.4 Unrecognized authentication type'; Expected = 'AuthMechanismUnsupported' }
        ) {
            if (Skip-IfUnavailable) { return }
            $live = $script:Raw[$Key]
            $live | Should -BeExactly $Text
            $findings = Resolve-Findings $live
            $findings[0].CauseId | Should -BeExactly $Expected -Because "aiosmtpd's '$live' (findings: $(($findings | ForEach-Object { "$($_.CauseId)/$($_.Verdict)" }) -join ', '))"
            $findings[0].Verdict | Should -Not -Be 'Confirmed' -Because 'a reply text alone confirms nothing'
            Assert-NotExchangeDiagnosis $findings
        }
    }
}
