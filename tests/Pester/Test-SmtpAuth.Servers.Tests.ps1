#requires -Modules Pester
# Issue 9: Test-SmtpAuth against submission servers that are not Exchange Online. nodemailer's smtp-server
# (tests/Peers/nodemailer, started here on loopback) has listeners with Dovecot's PLAIN-only set, no XOAUTH2, XOAUTH2
# only, implicit TLS and a port that never greets. The expectations come from the server's own events log (which
# commands and AUTH attempts it saw, and how they ended) and from its replies as swaks records them in
# tests/Peers/nodemailer/Peer.Tests.ps1 - not from the module.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/emulator.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-nodemailer-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:Unavailable = $null
    try { $script:Peer = & "$PSScriptRoot/../Peers/nodemailer/Start-NodemailerPeer.ps1" -WorkDirectory $script:PeerDir -BasePort 25900 }
    catch { if ("$($_.Exception.Message)" -like 'PEER-UNAVAILABLE:*') { $script:Unavailable = $_.Exception.Message } else { throw } }
    function Skip-IfUnavailable { if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }; $false }

    function Get-PeerCredential([string] $User) {
        [pscredential]::new($User, (ConvertTo-SecureString $script:Peer.users[$User] -AsPlainText -Force))
    }
    # The peer's events for one listener since a mark (the line count when the probe started).
    function Get-PeerEvents([int] $Port, [int] $Since) {
        @(Get-Content -LiteralPath $script:Peer.eventsPath | Select-Object -Skip $Since | ForEach-Object { $_ | ConvertFrom-Json } | Where-Object port -EQ $Port)
    }
    function Get-EventMark { @(Get-Content -LiteralPath $script:Peer.eventsPath -ErrorAction SilentlyContinue).Count }
    $script:Common = @{ Server = '127.0.0.1'; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }
}

AfterAll {
    if ($script:Peer) { & "$PSScriptRoot/../Peers/nodemailer/Stop-NodemailerPeer.ps1" -WorkDirectory $script:PeerDir }
}

Describe 'Test-SmtpAuth against nodemailer smtp-server' -Tag Probe, Peer {
    It 'signs in to a PLAIN-only server (Dovecot''s default) with AUTH PLAIN, not AUTH LOGIN' {
        if (Skip-IfUnavailable) { return }
        $mark = Get-EventMark
        $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.plainOnlyPort @script:Common
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.Mechanism | Should -BeExactly 'PLAIN'
        $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN'
        $r.ReplyCode | Should -Be 235
        $events = Get-PeerEvents $script:Peer.plainOnlyPort $mark
        @($events | Where-Object { $_.event -eq 'command' -and $_.verb -eq 'AUTH' }).mechanism | Should -Be @('PLAIN')
        @($events | Where-Object event -EQ 'auth') | ForEach-Object { $_.username; $_.ok } | Should -Be @('dave', $true)
    }

    It 'keeps the server''s order of mechanisms and prefers LOGIN for a password' {
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -Credential (Get-PeerCredential 'user@example.test') -Port $script:Peer.startTlsPort @script:Common
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.AuthMechanismsAfterTls | Should -BeExactly 'XOAUTH2 PLAIN LOGIN'
        $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty
        $r.Mechanism | Should -BeExactly 'LOGIN'
        $r.ExchangeOnline | Should -BeFalse
    }

    It 'probes any user name the server accepts: <Name>' -ForEach @(
        @{ Name = 'dave' }
        @{ Name = 'contoso-acs.11111111-2222-3333-4444-555555555555.66666666-7777-8888-9999-000000000000' }
    ) {
        if (Skip-IfUnavailable) { return }
        $mark = Get-EventMark
        $r = Test-SmtpAuth -Credential (Get-PeerCredential $Name) -Port $script:Peer.startTlsPort @script:Common
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.UserName | Should -BeExactly $Name
        $auth = @(Get-PeerEvents $script:Peer.startTlsPort $mark | Where-Object event -EQ 'auth')
        $auth.username | Should -Be @($Name)
        $auth.ok | Should -Be @($true)
        @($r | Resolve-SmtpAuthError -WarningAction SilentlyContinue).CauseId | Should -Not -Contain 'UserNameNotUpn'
    }

    It 'refuses a wrong password with the server''s own 535' {
        if (Skip-IfUnavailable) { return }
        $bad = [pscredential]::new('dave', (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        $r = Test-SmtpAuth -Credential $bad -Port $script:Peer.plainOnlyPort @script:Common
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Auth'
        $r.ReplyCode | Should -Be 535
        $r.Mechanism | Should -BeExactly 'PLAIN'
    }

    It 'authenticates with XOAUTH2 where it is advertised' {
        if (Skip-IfUnavailable) { return }
        $mark = Get-EventMark
        $token = ConvertTo-SecureString $script:Peer.token -AsPlainText -Force
        $r = Test-SmtpAuth $script:Peer.oauthUser -AccessToken $token -Port $script:Peer.startTlsPort @script:Common
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.Mechanism | Should -BeExactly 'XOAUTH2'
        $auth = @(Get-PeerEvents $script:Peer.startTlsPort $mark | Where-Object event -EQ 'auth')
        $auth.method | Should -Be @('XOAUTH2')
        $auth.ok | Should -Be @($true)
        $r.Transcript | Should -Not -Match ([regex]::Escape($script:Peer.token))
    }

    It 'never sends a token to a server that does not advertise XOAUTH2' {
        if (Skip-IfUnavailable) { return }
        $mark = Get-EventMark
        $token = ConvertTo-SecureString $script:Peer.token -AsPlainText -Force
        $r = Test-SmtpAuth $script:Peer.oauthUser -AccessToken $token -Port $script:Peer.noOAuthPort @script:Common
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Auth'
        $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN LOGIN'
        $r.Message | Should -Match 'does not advertise AUTH XOAUTH2 .*token was not sent'
        $r.Transcript | Should -Not -Match 'C: AUTH'
        # The server saw the session (EHLO, STARTTLS) and no AUTH command at all.
        $events = Get-PeerEvents $script:Peer.noOAuthPort $mark
        @($events | Where-Object { $_.event -eq 'command' -and $_.verb -eq 'STARTTLS' }) | Should -Not -BeNullOrEmpty
        @($events | Where-Object { $_.event -eq 'command' -and $_.verb -eq 'AUTH' }) | Should -BeNullOrEmpty
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'AuthMechanismUnsupported'
    }

    It 'never sends a password to a server that advertises no password mechanism' {
        if (Skip-IfUnavailable) { return }
        $mark = Get-EventMark
        $r = Test-SmtpAuth -Credential (Get-PeerCredential 'user@example.test') -Port $script:Peer.oauthOnlyPort @script:Common
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Auth'
        $r.AuthMechanismsAfterTls | Should -BeExactly 'XOAUTH2'
        $r.Message | Should -Match 'password was not sent'
        @(Get-PeerEvents $script:Peer.oauthOnlyPort $mark | Where-Object { $_.event -eq 'command' -and $_.verb -eq 'AUTH' }) | Should -BeNullOrEmpty
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'AuthMechanismUnsupported'
    }

    It 'still forces -Mechanism Login on a PLAIN-only server, and the server refuses it before any credential' {
        if (Skip-IfUnavailable) { return }
        $mark = Get-EventMark
        $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.plainOnlyPort -Mechanism Login @script:Common
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Auth'
        $r.ReplyCode | Should -Be 504
        $events = Get-PeerEvents $script:Peer.plainOnlyPort $mark
        @($events | Where-Object { $_.event -eq 'command' -and $_.verb -eq 'AUTH' }).mechanism | Should -Be @('LOGIN')
        @($events | Where-Object event -EQ 'auth') | Should -BeNullOrEmpty -Because 'the user name and password were never asked for'
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'AuthMechanismUnsupported'
    }

    It 'authenticates over implicit TLS' {
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -Credential (Get-PeerCredential 'dave') -Port $script:Peer.implicitTlsPort -TlsMode Implicit @script:Common
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.Mechanism | Should -BeExactly 'LOGIN'
        $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN LOGIN'
    }

    It 'says a port that never greets answered but is not an SMTP server (not a blocked port)' {
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -SkipAuthentication -Server 127.0.0.1 -Port $script:Peer.silentPort -TimeoutSec 2
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Banner'
        $r.Message | Should -Match 'the port answered'
        $r.Message | Should -Match 'no SMTP greeting'
        $findings = @($r | Resolve-SmtpAuthError)
        $findings[0].CauseId | Should -BeExactly 'NoSmtpGreeting'
        $findings.CauseId | Should -Not -Contain 'ConnectionFailed'
    }

    It 'shows progress while it waits, with the seconds left' {
        if (Skip-IfUnavailable) { return }
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddCommand('Import-Module').AddArgument($script:ModuleManifest).AddStatement()
            $null = $ps.AddCommand('Test-SmtpAuth').AddParameter('SkipAuthentication').AddParameter('Server', '127.0.0.1').AddParameter('Port', $script:Peer.silentPort).AddParameter('TimeoutSec', 3)
            $result = @($ps.Invoke())
            $progress = @($ps.Streams.Progress | Where-Object Activity -EQ 'Test-SmtpAuth')
        }
        finally { $ps.Dispose() }
        $result[-1].FailedPhase | Should -Be 'Banner'
        $waiting = @($progress | Where-Object StatusDescription -Like "Waiting for the greeting of 127.0.0.1:$($script:Peer.silentPort)")
        $waiting | Should -Not -BeNullOrEmpty
        $waiting | ForEach-Object { $_.SecondsRemaining | Should -BeIn (0..3) }
        $progress[-1].RecordType | Should -Be 'Completed'
    }
}

Describe 'Test-SmtpAuth with a user name that is not a UPN, against Exchange Online (emulator)' -Tag Probe {
    BeforeAll { $script:Emu = Start-ExoEmulator }
    AfterAll { Stop-ExoEmulator $script:Emu }

    It 'probes it, warns, and the diagnosis carries UserNameNotUpn' {
        $cred = New-TestCredential 'healthy.basic' 'Demo-Healthy-1!'
        $r = Test-SmtpAuth -Credential $cred -Server 127.0.0.1 -Port $script:Emu.Port -SkipCertificateCheck -TimeoutSec 20 -WarningVariable warnings -WarningAction SilentlyContinue -ErrorVariable errors
        @($errors) | Should -BeNullOrEmpty
        $r.UserName | Should -BeExactly 'healthy.basic'
        $r.ExchangeOnline | Should -BeTrue -Because 'the greeting is Exchange Online''s'
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Auth'
        @($warnings) -match 'not in user principal name form' | Should -Not -BeNullOrEmpty
        $findings = @($r | Resolve-SmtpAuthError)
        $findings[0].CauseId | Should -BeExactly 'UserNameNotUpn'
        $findings[0].Verdict | Should -Be 'Likely'
    }
}

Describe 'Test-SmtpAuth against smtp4dev' -Tag Probe, Peer {
    # smtp4dev 3.15.0 (tests/Peers/smtp4dev): its own SMTP engine (Rnwood.SmtpServer), real credential checks for
    # 'dave' and 'user@example.test', PLAIN and LOGIN after TLS only, advertised as both 'AUTH=PLAIN LOGIN' and
    # 'AUTH PLAIN LOGIN'. Expectations come from its log (tests/Peers/smtp4dev/README.md lists the lines and replies).
    BeforeAll {
        $script:S4Dir = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-smtp4dev-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $script:S4Unavailable = $null
        try { $script:S4 = & "$PSScriptRoot/../Peers/smtp4dev/Start-Smtp4devPeer.ps1" -WorkDirectory $script:S4Dir -BasePort 25920 }
        catch { if ("$($_.Exception.Message)" -like 'PEER-UNAVAILABLE:*') { $script:S4Unavailable = $_.Exception.Message } else { throw } }
        function Skip-IfNoSmtp4dev { if ($script:S4Unavailable) { Set-ItResult -Skipped -Because $script:S4Unavailable; return $true }; $false }
        function Get-S4Credential([string] $User, [string] $Password) {
            [pscredential]::new($User, (ConvertTo-SecureString ($Password ? $Password : $script:S4.users[$User]) -AsPlainText -Force))
        }
        # smtp4dev's log lines since a mark (line counts per log file); it writes them asynchronously, so a line that is
        # expected is waited for (at most 10 s) and one that must not appear is checked after the same wait.
        function Get-S4Mark { $m = @{}; foreach ($f in Get-ChildItem -LiteralPath $script:S4.logPath -Filter 'smtp4dev-*.log') { $m[$f.Name] = @(Get-Content -LiteralPath $f.FullName).Count }; $m }
        function Get-S4LogSince($Mark, [string] $Pattern, [switch] $Absent) {
            $deadline = [DateTime]::UtcNow.AddSeconds($Absent ? 2 : 10)
            do {
                $lines = @(foreach ($f in Get-ChildItem -LiteralPath $script:S4.logPath -Filter 'smtp4dev-*.log') { Get-Content -LiteralPath $f.FullName | Select-Object -Skip ([int]$Mark[$f.Name]) })
                $hits = @($lines -match $Pattern)
                if ($hits.Count -and -not $Absent) { return $hits }
                Start-Sleep -Milliseconds 200
            } while ([DateTime]::UtcNow -lt $deadline)
            $hits
        }
    }
    AfterAll {
        if ($script:S4) { & "$PSScriptRoot/../Peers/smtp4dev/Stop-Smtp4devPeer.ps1" -WorkDirectory $script:S4Dir }
    }

    It 'signs in <User> with AUTH LOGIN; the two AUTH lines give one list in the server''s order' -ForEach @(@{ User = 'dave' }, @{ User = 'user@example.test' }) {
        if (Skip-IfNoSmtp4dev) { return }
        $mark = Get-S4Mark
        $r = Test-SmtpAuth -Credential (Get-S4Credential $User) -Port $script:S4.startTlsPort @script:Common
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.Mechanism | Should -BeExactly 'LOGIN'
        $r.AuthMechanismsAfterTls | Should -BeExactly 'PLAIN LOGIN'
        $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty
        $r.ReplyText | Should -BeExactly '235 Authenticated OK'
        Get-S4LogSince $mark "SMTP authentication successful\. Username: $([regex]::Escape($User))," | Should -Not -BeNullOrEmpty
    }

    It 'uses PLAIN when forced, and reports a wrong password with smtp4dev''s own 535' {
        if (Skip-IfNoSmtp4dev) { return }
        $ok = Test-SmtpAuth -Credential (Get-S4Credential 'dave') -Port $script:S4.startTlsPort -Mechanism Plain @script:Common
        $ok.Succeeded | Should -BeTrue -Because $ok.Message
        $ok.Mechanism | Should -BeExactly 'PLAIN'
        $mark = Get-S4Mark
        $bad = Test-SmtpAuth -Credential (Get-S4Credential 'dave' 'not-the-password') -Port $script:S4.startTlsPort @script:Common
        $bad.FailedPhase | Should -Be 'Auth'
        $bad.ReplyText | Should -BeExactly '535 Authentication failure'
        Get-S4LogSince $mark 'SMTP authentication failed - invalid credentials\. Username: dave,' | Should -Not -BeNullOrEmpty
    }

    It 'keeps a token from a server that does not offer XOAUTH2 (smtp4dev would answer a bare 535, like a bad password)' {
        if (Skip-IfNoSmtp4dev) { return }
        $mark = Get-S4Mark
        $token = ConvertTo-SecureString 'opaque-test-token-never-sent' -AsPlainText -Force
        $r = Test-SmtpAuth 'user@example.test' -AccessToken $token -Port $script:S4.startTlsPort @script:Common
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Auth'
        $r.ReplyCode | Should -BeNullOrEmpty -Because 'no AUTH command was sent, so the server never refused anything'
        $r.Message | Should -Match 'does not advertise AUTH XOAUTH2 \(it offers: PLAIN LOGIN\), so the OAuth token was not sent'
        $r.Transcript | Should -Not -Match 'C: AUTH'
        Get-S4LogSince $mark 'authentication|OAuth' -Absent | Should -BeNullOrEmpty
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'AuthMechanismUnsupported'
    }

    It 'authenticates over implicit TLS and sends a test message that smtp4dev receives' {
        if (Skip-IfNoSmtp4dev) { return }
        if (-not $script:S4.implicitTlsPort) { Set-ItResult -Skipped -Because 'the peer was started without implicit TLS'; return }
        $mark = Get-S4Mark
        $r = Test-SmtpAuth -Credential (Get-S4Credential 'dave') -Port $script:S4.implicitTlsPort -TlsMode Implicit -SendTestMessage -From 'dave@example.test' -To 'someone@example.test' -Confirm:$false @script:Common
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.TestMessageSent | Should -BeTrue
        $r.StartTlsOffered | Should -BeNullOrEmpty
        Get-S4LogSince $mark 'SMTP message received\. .*From: dave@example\.test, To: someone@example\.test, SecureConnection: true' | Should -Not -BeNullOrEmpty
    }
}
