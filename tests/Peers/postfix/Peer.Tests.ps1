#Requires -Version 7.0
# Pester 5 checks of the private Postfix + Dovecot SASL peer, made with swaks (independent of
# the module under test). Run: Invoke-Pester tests/Peers/postfix/Peer.Tests.ps1
# The peer is skipped (not failed) only when Start-PostfixPeer.ps1 says PEER-UNAVAILABLE.
# Environment: POSTFIX_PEER_BASEPORT (default 25870), POSTFIX_PEER_KEEP=1 keeps the work dir.

BeforeAll {
    . "$PSScriptRoot/../PeerTools.ps1"
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('postfix-peer-tests-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
    $script:BasePort = if ($env:POSTFIX_PEER_BASEPORT) { [int]$env:POSTFIX_PEER_BASEPORT } else { 25870 }
    $script:Unavailable = $null
    $script:Peer = $null
    $start = Start-TestPeer -StartScript (Join-Path $PSScriptRoot 'Start-PostfixPeer.ps1') -WorkDirectory $script:PeerDir -BasePort $script:BasePort
    $script:Peer = $start.Peer
    $script:Unavailable = $start.Unavailable

    function Skip-IfUnavailable {
        if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }
        return $false
    }

    function Invoke-Swaks {
        # swaks against the peer (PeerTools.ps1: Invoke-SwaksProcess), the password masked in its output.
        param([int] $Port, [string[]] $Arguments, [string] $Password)
        $r = Invoke-SwaksProcess -Server $script:Peer.host @PSBoundParameters
        if ($script:Peer -and $script:Peer.password) { $r.Output = $r.Output.Replace($script:Peer.password, '***') }
        $r
    }

    $script:Unauthenticated = @('--from', 'probe@example.test', '--to', 'someone@elsewhere.example')
}

AfterAll {
    Stop-TestPeer -StopScript (Join-Path $PSScriptRoot 'Stop-PostfixPeer.ps1') -WorkDirectory $script:PeerDir
    # Stop-PostfixPeer.ps1 leaves the work directory for post-mortems.
    if ($env:POSTFIX_PEER_KEEP -ne '1') { Remove-Item -LiteralPath $script:PeerDir -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Postfix + Dovecot SASL peer' -Tag 'Peer' {

    Context 'peer.json' {
        It 'describes the running peer with the documented shape' {
            if (Skip-IfUnavailable) { return }
            $path = Join-Path $script:PeerDir 'peer.json'
            $json = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json
            @($json.PSObject.Properties.Name) | Should -Be @('host', 'startTlsPort', 'plainPort', 'implicitTlsPort', 'listeners', 'logPath', 'user', 'password', 'certificatePath', 'certificateThumbprint', 'workDirectory')
            @($json.listeners.PSObject.Properties).Count | Should -Be 0   # no -ExtraListeners
            Test-Path -LiteralPath $json.logPath | Should -BeTrue
            $json.host | Should -Be '127.0.0.1'
            $json.startTlsPort | Should -Be $script:BasePort
            $json.plainPort | Should -Be ($script:BasePort + 1)
            $json.implicitTlsPort | Should -Be ($script:BasePort + 2)
            $json.user | Should -Be 'probe@example.test'
            $json.password | Should -Match '^[A-Za-z0-9]{24}$'
            $json.certificateThumbprint | Should -Match '^[0-9A-F]{40}$'
            $json.workDirectory | Should -Be $script:Peer.workDirectory
            Test-Path -LiteralPath $json.certificatePath | Should -BeTrue
            [System.IO.File]::GetUnixFileMode($path) | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
            $script:Peer.password | Should -Be $json.password
        }

        It 'does not show the password in the default display of the returned object' {
            if (Skip-IfUnavailable) { return }
            ($script:Peer | Out-String) | Should -Not -BeLike "*$($script:Peer.password)*"
        }
    }

    Context 'STARTTLS port (BasePort)' {
        It 'offers STARTTLS but no AUTH before STARTTLS' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Arguments @('--quit-after', 'EHLO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match '250[- ]STARTTLS'
            $r.Output | Should -Not -Match '250[- ]AUTH'
        }

        It 'AUTH LOGIN succeeds after STARTTLS' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.password -Arguments @(
                '--tls', '--auth', 'LOGIN', '--auth-user', $script:Peer.user, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match 'TLS started'
            $r.Output | Should -Match '250[- ]AUTH PLAIN LOGIN'
            $r.Output | Should -Match '235 2\.7\.0 Authentication successful'
        }

        It 'AUTH PLAIN succeeds after STARTTLS' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.password -Arguments @(
                '--tls', '--auth', 'PLAIN', '--auth-user', $script:Peer.user, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match '235 2\.7\.0 Authentication successful'
        }

        It 'answers a wrong password with 535 5.7.8' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password 'definitely-wrong' -Arguments @(
                '--tls', '--auth', 'LOGIN', '--auth-user', $script:Peer.user, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 28 -Because $r.Output   # swaks: error in AUTH transaction
            $r.Output | Should -Match '535 5\.7\.8 Error: authentication failed:'
        }

        It 'accepts mail from an authenticated client and discards it' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.password -Arguments (@(
                    '--tls', '--auth', 'PLAIN', '--auth-user', $script:Peer.user) + $script:Unauthenticated)
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $queueId = [regex]::Match($r.Output, '250 2\.0\.0 Ok: queued as (\w+)').Groups[1].Value
            $queueId | Should -Not -BeNullOrEmpty
            $log = Join-Path $script:PeerDir 'log/postfix.log'
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            $line = $null
            while (-not $line -and [DateTime]::UtcNow -lt $deadline) {
                $line = Select-String -LiteralPath $log -Pattern "$queueId.*status=sent \(peer discards all mail\)" -ErrorAction SilentlyContinue
                if (-not $line) { Start-Sleep -Milliseconds 200 }
            }
            $line | Should -Not -BeNullOrEmpty -Because 'the discard transport should have consumed the message'
        }
    }

    Context 'plaintext port (BasePort + 1)' {
        It 'offers no STARTTLS but advertises AUTH in clear' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.plainPort -Arguments @('--quit-after', 'EHLO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Not -Match 'STARTTLS'
            $r.Output | Should -Match '250[- ]AUTH PLAIN LOGIN'
        }

        It 'fails a client that insists on STARTTLS' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.plainPort -Arguments @('--tls', '--quit-after', 'EHLO')
            $r.ExitCode | Should -Be 29 -Because $r.Output   # swaks: error in TLS transaction
        }

        It 'accepts credentials sent in clear (the careless-client case)' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.plainPort -Password $script:Peer.password -Arguments @(
                '--auth', 'LOGIN', '--auth-user', $script:Peer.user, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Not -Match 'TLS started'
            $r.Output | Should -Match '235 2\.7\.0 Authentication successful'
        }

        It 'refuses to relay for an unauthenticated client' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.plainPort -Arguments $script:Unauthenticated
            $r.ExitCode | Should -Be 24 -Because $r.Output   # swaks: no RCPTs accepted
            $r.Output | Should -Match '554 5\.7\.1'
        }
    }

    Context 'implicit TLS port (BasePort + 2)' {
        It 'speaks TLS on connect' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.implicitTlsPort -Arguments @('--tlsc', '--quit-after', 'EHLO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            Assert-SwaksBannerInsideTls $r.Output
        }

        It 'AUTH PLAIN succeeds over implicit TLS' {
            if (Skip-IfUnavailable) { return }
            $r = Invoke-Swaks -Port $script:Peer.implicitTlsPort -Password $script:Peer.password -Arguments @(
                '--tlsc', '--auth', 'PLAIN', '--auth-user', $script:Peer.user, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match '235 2\.7\.0 Authentication successful'
        }

        It 'serves the certificate from peer.json over TLS 1.2+, valid for localhost and 127.0.0.1 except for trust' {
            if (Skip-IfUnavailable) { return }
            Assert-PeerCertificate -Port $script:Peer.implicitTlsPort -Thumbprint $script:Peer.certificateThumbprint   # banner matches '^220 '
        }
    }
}
