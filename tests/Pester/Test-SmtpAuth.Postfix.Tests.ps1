#requires -Modules Pester
# Test-SmtpAuth against a real, independent peer: Postfix with Dovecot SASL (tests/Peers/postfix), on loopback.
# Skipped with the peer's PEER-UNAVAILABLE message only where it cannot be installed (no apt or not root); CI has it.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-postfix-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:Unavailable = $null
    try { $script:Peer = & "$PSScriptRoot/../Peers/postfix/Start-PostfixPeer.ps1" -WorkDirectory $script:PeerDir -BasePort 25880 }
    catch { if ("$($_.Exception.Message)" -like 'PEER-UNAVAILABLE:*') { $script:Unavailable = $_.Exception.Message } else { throw } }
    if ($script:Peer) {
        $script:Cred = [pscredential]::new($script:Peer.user, (ConvertTo-SecureString $script:Peer.password -AsPlainText -Force))
        $script:Wrong = [pscredential]::new($script:Peer.user, (ConvertTo-SecureString 'definitely-not-it' -AsPlainText -Force))
    }
    function Skip-IfUnavailable { if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }; $false }
    $script:ServerName = 'Postfix'
    . "$PSScriptRoot/peer-diagnosis.ps1"
}

AfterAll {
    if ($script:Peer) { & "$PSScriptRoot/../Peers/postfix/Stop-PostfixPeer.ps1" -WorkDirectory $script:PeerDir }
    # Its certificate key and peer.json (a password) go too: a test run leaves nothing behind (issue 9).
    if ($env:POSTFIX_PEER_KEEP -ne '1') { Remove-Item -LiteralPath $script:PeerDir -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Test-SmtpAuth against Postfix + Dovecot' -Tag Probe, Peer {
    It 'authenticates with AUTH <Mechanism> after STARTTLS' -ForEach @(@{ Mechanism = 'Login' }, @{ Mechanism = 'Plain' }) {
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -Credential $script:Cred -Server 127.0.0.1 -Port $script:Peer.startTlsPort -Mechanism $Mechanism -SkipCertificateCheck -WarningAction SilentlyContinue
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.Mechanism | Should -BeExactly $Mechanism.ToUpperInvariant()
        $r.ReplyCode | Should -Be 235
        $r.StartTlsOffered | Should -BeTrue
        $r.AuthMechanismsBeforeTls | Should -BeNullOrEmpty
        $r.AuthMechanismsAfterTls | Should -Match 'LOGIN'
        $r.AuthMechanismsAfterTls | Should -Match 'PLAIN'
        $r.TlsProtocol | Should -BeIn @('Tls12', 'Tls13')
    }

    It 'reports a wrong password as 535 5.7.8 at Auth' {
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -Credential $script:Wrong -Server 127.0.0.1 -Port $script:Peer.startTlsPort -SkipCertificateCheck -WarningAction SilentlyContinue
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Auth'
        $r.ReplyCode | Should -Be 535
        $r.EnhancedStatusCode | Should -BeExactly '5.7.8'
        $r.Transcript | Should -Not -Match 'definitely-not-it'
    }

    It 'gives Postfix''s own advice for its 535, from the probe result and pasted as text' {
        # Postfix's "535 5.7.8 Error: authentication failed: <reason>" (smtpd_sasl_glue.c) says which server answered:
        # no Entra sign-in logs, UPN, Exchange command or Microsoft page for it.
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -Credential $script:Wrong -Server 127.0.0.1 -Port $script:Peer.startTlsPort -SkipCertificateCheck -WarningAction SilentlyContinue
        $r.ReplyText | Should -Match '^535 5\.7\.8 Error: authentication failed:'
        Assert-OtherServerAdvice (Resolve-Findings $r)
        Assert-OtherServerAdvice (Resolve-Findings $r.ReplyText) -Named 'Postfix'
    }

    It 'does not send credentials to a port without STARTTLS' {
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -Credential $script:Cred -Server 127.0.0.1 -Port $script:Peer.plainPort -WarningAction SilentlyContinue
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'StartTls'
        $r.StartTlsOffered | Should -Be $false
        $r.AuthMechanismsBeforeTls | Should -Match 'LOGIN'   # the server would take them in clear...
        $r.Transcript | Should -Not -Match 'C: AUTH'         # ...and we did not send them
        @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'StartTlsNotOffered'
    }

    It 'fails certificate validation of the self-signed certificate unless -SkipCertificateCheck' {
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -Credential $script:Cred -Server 127.0.0.1 -Port $script:Peer.startTlsPort
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be 'Tls'
        $r.CertificateValid | Should -BeFalse
        $r.CertificateSubject | Should -Match 'CN=localhost'
        $r.Transcript | Should -Not -Match 'C: AUTH'
        $ok = Test-SmtpAuth -Credential $script:Cred -Server 127.0.0.1 -Port $script:Peer.startTlsPort -SkipCertificateCheck -WarningAction SilentlyContinue
        $ok.Succeeded | Should -BeTrue
        $ok.CertificateCheckSkipped | Should -BeTrue
    }

    It 'authenticates over implicit TLS on the wrapper-mode port' {
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -Credential $script:Cred -Server 127.0.0.1 -Port $script:Peer.implicitTlsPort -TlsMode Implicit -SkipCertificateCheck -WarningAction SilentlyContinue
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.StartTlsOffered | Should -BeNullOrEmpty
    }

    It 'sends a test message that Postfix accepts' {
        if (Skip-IfUnavailable) { return }
        $r = Test-SmtpAuth -Credential $script:Cred -Server 127.0.0.1 -Port $script:Peer.startTlsPort -SkipCertificateCheck -SendTestMessage -To 'someone@example.test' -Confirm:$false -WarningAction SilentlyContinue
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.TestMessageSent | Should -BeTrue
        $r.ReplyCode | Should -Be 250
    }
}
