#requires -Modules Pester
# Test-SmtpAuth and Resolve-SmtpAuthError against real TLS servers set up the ways they fail in the field: a private
# Postfix (tests/Peers/postfix, one STARTTLS listener per certificate or TLS policy) and, for what Postfix is not set up
# to do (hang up after '220 Ready to start TLS', fail the handshake for want of a client certificate), a small Python
# server on OpenSSL (tests/Peers/tls/starttls_test_server.py). Certificates come from a test CA made here
# (tests/Peers/tls/TlsCertificates.ps1). The probes run in one child pwsh whose SSL_CERT_FILE holds only that CA, so
# "trusted" is real chain validation; the machine's trust store is not touched.
# Skipped with PEER-UNAVAILABLE only where Postfix or Python cannot be installed (not root, no apt); CI has them.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../Peers/PeerTools.ps1"
    . "$PSScriptRoot/../Peers/tls/TlsCertificates.ps1"
    Import-Module $script:ModuleManifest -Force

    $script:Work = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-tls-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:Pki = Join-Path $script:Work 'pki'
    [void][System.IO.Directory]::CreateDirectory($script:Pki)
    # Postfix reads the certificates and keys as root before it drops privileges; the directories must be searchable.
    foreach ($d in $script:Work, $script:Pki) { [System.IO.File]::SetUnixFileMode($d, [System.IO.UnixFileMode]'UserRead, UserWrite, UserExecute, GroupRead, GroupExecute, OtherRead, OtherExecute') }
    $script:Unavailable = $null
    $script:Servers = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()

    # --- Certificates -----------------------------------------------------------------------------------------------
    $now = [DateTimeOffset]::UtcNow
    $ca = New-TestCa -Name 'CN=SmtpAuthTroubleshooter Test Root CA, O=SmtpAuthTroubleshooter tests' -Directory $script:Pki -FileName 'ca'
    # Named like a corporate TLS-inspection CA; nobody trusts it here (it is not in SSL_CERT_FILE).
    $inspection = New-TestCa -Name 'CN=Zscaler Intermediate Root CA (zscaler.net), OU=Zscaler Inc., O=Zscaler Inc.' -Directory $script:Pki -FileName 'inspection-ca'
    $script:Leaf = @{
        trusted   = New-TestLeaf -Issuer $ca -Subject 'CN=localhost' -DnsNames localhost -IpAddresses 127.0.0.1 -Directory $script:Pki -FileName trusted
        inspect   = New-TestLeaf -Issuer $inspection -Subject 'CN=localhost' -DnsNames localhost -IpAddresses 127.0.0.1 -Directory $script:Pki -FileName inspect
        wrongname = New-TestLeaf -Issuer $ca -Subject 'CN=mail.example.test' -DnsNames mail.example.test -Directory $script:Pki -FileName wrongname
        nameonly  = New-TestLeaf -Issuer $ca -Subject 'CN=localhost' -DnsNames localhost -Directory $script:Pki -FileName nameonly
        expired   = New-TestLeaf -Issuer $ca -Subject 'CN=localhost' -DnsNames localhost -IpAddresses 127.0.0.1 -NotBefore $now.AddDays(-90) -NotAfter $now.AddDays(-3) -Directory $script:Pki -FileName expired
        notyet    = New-TestLeaf -Issuer $ca -Subject 'CN=localhost' -DnsNames localhost -IpAddresses 127.0.0.1 -NotBefore $now.AddDays(5) -NotAfter $now.AddDays(90) -Directory $script:Pki -FileName notyet
    }
    $script:CaFile = Join-Path $script:Pki 'ca.pem'

    # --- Postfix: one STARTTLS listener per case ----------------------------------------------------------------------
    function Listener([string] $Name, [string] $Leaf, [System.Collections.Specialized.OrderedDictionary] $More = [ordered]@{}) {
        $options = [ordered]@{
            smtpd_tls_cert_file             = $script:Leaf[$Leaf].CertPath
            smtpd_tls_key_file              = $script:Leaf[$Leaf].KeyPath
            # No TLS session resumption: the listeners share one Postfix (and its ticket keys), and a client that resumed
            # the trusted listener's session on another would never see that listener's certificate.
            smtpd_tls_session_cache_timeout = '0'
            tls_ssl_options                 = 'NO_TICKET'
        }
        foreach ($o in $More.GetEnumerator()) { $options[$o.Key] = $o.Value }
        @{ Name = $Name; Options = $options }
    }
    $listeners = @(
        Listener trusted trusted
        Listener inspect inspect
        Listener wrongname wrongname
        Listener nameonly nameonly
        Listener expired expired
        Listener notyet notyet
        # An old server: TLS 1.0 and 1.1 only, with ciphers OpenSSL 3 allows for them only at security level 0.
        Listener oldtls trusted ([ordered]@{ smtpd_tls_protocols = '<=TLSv1.1'; smtpd_tls_mandatory_protocols = '<=TLSv1.1'; tls_medium_cipherlist = 'DEFAULT:@SECLEVEL=0' })
        # A listener that demands a client certificate (smtpd_tls_req_ccert needs TLS enforced and the question asked).
        Listener ccert trusted ([ordered]@{ smtpd_tls_security_level = 'encrypt'; smtpd_tls_ask_ccert = 'yes'; smtpd_tls_req_ccert = 'yes'; smtpd_tls_CAfile = $script:CaFile })
    )
    try { $script:Peer = & "$PSScriptRoot/../Peers/postfix/Start-PostfixPeer.ps1" -WorkDirectory (Join-Path $script:Work 'postfix') -BasePort 26140 -ExtraListeners $listeners }
    catch { if ("$($_.Exception.Message)" -like 'PEER-UNAVAILABLE:*') { $script:Unavailable = $_.Exception.Message } else { throw } }

    # --- Python servers: a cut after STARTTLS, and a handshake that requires a client certificate ---------------------
    $script:Python = (Get-Command python3 -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
    if (-not $script:Unavailable -and -not $script:Python) {
        if ((& id -u) -eq '0' -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
            $env:DEBIAN_FRONTEND = 'noninteractive'
            & apt-get install -y -qq --no-install-recommends python3 2>&1 | Out-Null
            $script:Python = (Get-Command python3 -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
        }
        if (-not $script:Python) { $script:Unavailable = 'PEER-UNAVAILABLE: python3 is not installed and cannot be (Debian package python3).' }
    }
    $script:PyPorts = [ordered]@{ 'after-220' = 26160; 'mid-handshake' = 26161; 'client-cert' = 26162 }
    $script:PyLog = Join-Path $script:Work 'python-server.log'
    if (-not $script:Unavailable) {
        foreach ($mode in $script:PyPorts.Keys) {
            Assert-PortFree $script:PyPorts[$mode] "starttls_test_server $mode"
            $psi = [System.Diagnostics.ProcessStartInfo]::new($script:Python)
            foreach ($a in @("$PSScriptRoot/../Peers/tls/starttls_test_server.py", "$($script:PyPorts[$mode])", $mode, $script:PyLog, $script:Leaf.trusted.CertPath, $script:Leaf.trusted.KeyPath, $script:CaFile)) { $psi.ArgumentList.Add($a) }
            $psi.RedirectStandardOutput = $true
            $psi.RedirectStandardError = $true
            $psi.UseShellExecute = $false
            $p = [System.Diagnostics.Process]::Start($psi)
            $script:Servers.Add($p)
            $ready = $p.StandardOutput.ReadLineAsync()
            if (-not $ready.Wait(15000) -or "$($ready.Result)" -notmatch '^READY ') { throw "starttls_test_server.py $mode did not start: $($p.StandardError.ReadToEnd())" }
        }
    }

    # --- The probes: one child pwsh that trusts only the test CA -------------------------------------------------------
    $script:R = @{}
    if (-not $script:Unavailable) {
        $cases = [ordered]@{}
        foreach ($n in 'trusted', 'inspect', 'wrongname', 'expired', 'notyet', 'oldtls', 'ccert') { $cases[$n] = @{ Server = 'localhost'; Port = $script:Peer.listeners[$n] } }
        $cases['ip-to-name-only'] = @{ Server = '127.0.0.1'; Port = $script:Peer.listeners['nameonly'] }
        foreach ($mode in $script:PyPorts.Keys) { $cases["py-$mode"] = @{ Server = 'localhost'; Port = $script:PyPorts[$mode] } }
        $casesFile = Join-Path $script:Work 'cases.json'
        $outFile = Join-Path $script:Work 'results.json'
        $cases | ConvertTo-Json | Set-Content -LiteralPath $casesFile
        $empty = Join-Path $script:Work 'no-certs'
        [void][System.IO.Directory]::CreateDirectory($empty)
        $child = @'
$ErrorActionPreference = 'Stop'
Import-Module $env:SMTPAUTH_TEST_MODULE -Force
$peer = Get-Content -LiteralPath $env:SMTPAUTH_TLS_PEER -Raw | ConvertFrom-Json
$cred = [pscredential]::new($peer.user, (ConvertTo-SecureString $peer.password -AsPlainText -Force))
$cases = Get-Content -LiteralPath $env:SMTPAUTH_TLS_CASES -Raw | ConvertFrom-Json
$out = [ordered]@{}
foreach ($c in $cases.PSObject.Properties) {
    $streams = & {
        $r = Test-SmtpAuth -Credential $cred -Server $c.Value.Server -Port $c.Value.Port -TimeoutSec 15 -Verbose -Debug -InformationAction Continue -WarningAction Continue -ErrorAction Continue
        $script:result = $r
    } *>&1 | ForEach-Object { "$_" }
    $r = $script:result
    $findings = @($r | Resolve-SmtpAuthError -WarningAction SilentlyContinue)
    $out[$c.Name] = [ordered]@{
        Result   = $r | Select-Object Server, Port, Succeeded, FailedPhase, Message, ReplyCode, ReplyText, TlsProtocol, CertificateSubject, CertificateIssuer,
            CertificateNotAfter, CertificateNotBefore, CertificateNames, CertificateValid, CertificateErrors, CertificateChainErrors, Transcript
        Findings = @($findings | Select-Object CauseId, Verdict, Title, Evidence, Checks, Remediation, DocumentationUrl, CatalogEntry)
        Text     = (($streams -join "`n") + "`n" + ($r | Format-List * | Out-String -Width 4096) + ($r | ConvertTo-Json -Depth 4) + ($findings | ConvertTo-Json -Depth 4))
    }
}
$out | ConvertTo-Json -Depth 6 -EnumsAsStrings | Set-Content -LiteralPath $env:SMTPAUTH_TLS_OUT
'@
        $run = Invoke-FreshPwsh -Script $child -Environment @{
            SSL_CERT_FILE         = $script:CaFile
            SSL_CERT_DIR          = $empty
            SMTPAUTH_TEST_MODULE  = $script:ModuleManifest
            SMTPAUTH_TLS_PEER     = Join-Path $script:Peer.workDirectory 'peer.json'
            SMTPAUTH_TLS_CASES    = $casesFile
            SMTPAUTH_TLS_OUT      = $outFile
        }
        if ($run.ExitCode -ne 0 -or -not (Test-Path -LiteralPath $outFile)) { throw "The probing pwsh failed ($($run.ExitCode)):`n$($run.Output)" }
        $json = Get-Content -LiteralPath $outFile -Raw | ConvertFrom-Json
        foreach ($p in $json.PSObject.Properties) { $script:R[$p.Name] = $p.Value }
        $script:PostfixLog = Get-Content -LiteralPath $script:Peer.logPath -Raw
        $script:PythonLog = if (Test-Path -LiteralPath $script:PyLog) { Get-Content -LiteralPath $script:PyLog -Raw } else { '' }
    }

    function Skip-IfUnavailable { if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }; $false }

    function Top($Case) { @($script:R[$Case].Findings)[0] }

    function Assert-NothingSent([string] $Case, [string] $Listener) {
        # No AUTH in the probe's transcript, none at the server (Postfix counts each command of a session in its
        # 'disconnect' line; the Python server logs every line it gets), and the password nowhere in the result,
        # the findings or any stream (verbose, debug, warning, information, error).
        $r = $script:R[$Case]
        $r.Result.Transcript | Should -Not -Match '(?m)^C: AUTH'
        $r.Text | Should -Not -Match ([regex]::Escape($script:Peer.password))
        if ($Listener) {
            $lines = @($script:PostfixLog -split "`n" | Where-Object { $_ -match "postfix-peer/$Listener/smtpd\[\d+\]: disconnect from" })
            $lines.Count | Should -BeGreaterThan 0
            $lines | Should -Not -Match '\bauth='
        }
        else {
            $script:PythonLog | Should -Not -Match '(?m)^C: AUTH'
        }
    }
}

AfterAll {
    foreach ($p in $script:Servers) { try { if (-not $p.HasExited) { $p.Kill() ; [void]$p.WaitForExit(5000) } } catch { } }
    if ($script:Peer) { & "$PSScriptRoot/../Peers/postfix/Stop-PostfixPeer.ps1" -WorkDirectory $script:Peer.workDirectory }
    # Keys, the peer's password and the results go too: a test run leaves nothing behind.
    if ($env:POSTFIX_PEER_KEEP -ne '1') { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Test-SmtpAuth against real TLS servers' -Tag Probe, Peer, Tls {
    It 'passes TLS and authenticates where the chain reaches the trusted test CA and the name matches (control)' {
        if (Skip-IfUnavailable) { return }
        $r = $script:R['trusted'].Result
        $r.Succeeded | Should -BeTrue -Because $r.Message
        $r.TlsProtocol | Should -BeIn @('Tls12', 'Tls13')
        $r.CertificateValid | Should -BeTrue
        $r.CertificateIssuer | Should -Match 'CN=SmtpAuthTroubleshooter Test Root CA'
        $r.CertificateNames | Should -BeExactly 'localhost, 127.0.0.1'
        $r.CertificateChainErrors | Should -BeNullOrEmpty
        $script:PostfixLog | Should -Match 'postfix-peer/trusted/smtpd\[\d+\]: disconnect from \S+ ehlo=2 starttls=1 auth=1 quit=1'
        $script:R['trusted'].Text | Should -Not -Match ([regex]::Escape($script:Peer.password))
    }

    It 'names the untrusted issuer of a TLS-inspection-style certificate and says what it likely means and what to do' {
        if (Skip-IfUnavailable) { return }
        $r = $script:R['inspect'].Result
        $r.FailedPhase | Should -Be 'Tls'
        $r.CertificateValid | Should -BeFalse
        $r.CertificateIssuer | Should -Match '^CN=Zscaler Intermediate Root CA'
        $r.CertificateChainErrors | Should -Match 'UntrustedRoot|PartialChain'
        $r.Message | Should -Match "issued by 'CN=Zscaler Intermediate Root CA \(zscaler\.net\), OU=Zscaler Inc\., O=Zscaler Inc\.', which does not chain to a root certificate this computer trusts"
        $r.Message | Should -Match 'The credentials were not sent\.$'
        $top = Top 'inspect'
        $top.CauseId | Should -BeExactly 'CertificateValidationFailed'
        $top.Verdict | Should -Be 'Likely'
        $top.Evidence | Should -Match "issued by 'CN=Zscaler Intermediate Root CA"
        $top.Evidence | Should -Match 'TLS-inspection proxy'
        $top.Evidence | Should -Match 'install it as a trusted root on this computer'
        $top.Evidence | Should -Match 'exempt localhost from TLS inspection'
        Assert-NothingSent 'inspect' 'inspect'
    }

    It 'says "name mismatch: the certificate is for X, the probe connected to Y" for <Case>' -ForEach @(
        @{ Case = 'wrongname'; Listener = 'wrongname'; Names = 'mail.example.test'; Server = 'localhost' }
        @{ Case = 'ip-to-name-only'; Listener = 'nameonly'; Names = 'localhost'; Server = '127.0.0.1' }
    ) {
        if (Skip-IfUnavailable) { return }
        $r = $script:R[$Case].Result
        $r.FailedPhase | Should -Be 'Tls'
        $r.CertificateErrors | Should -BeExactly 'RemoteCertificateNameMismatch'
        $r.CertificateNames | Should -BeExactly $Names
        $sentence = "the certificate is for $Names, and the probe connected to $Server."
        $r.Message | Should -Match ([regex]::Escape("Name mismatch: $sentence"))
        $top = Top $Case
        $top.CauseId | Should -BeExactly 'CertificateValidationFailed'
        $top.Verdict | Should -Be 'Likely'
        $top.CatalogEntry | Should -BeExactly 'CERT_INVALID'
        $top.Evidence | Should -Match ([regex]::Escape("Probe: name mismatch: $sentence"))
        @($script:R[$Case].Findings | Where-Object { $_.CauseId -in 'ImplicitTlsOnStartTlsPort', 'TlsVersionTooOld' -and $_.Verdict -ne 'RuledOut' }).Count | Should -Be 0
        Assert-NothingSent $Case $Listener
    }

    It 'says the certificate expired on its date' {
        if (Skip-IfUnavailable) { return }
        $r = $script:R['expired'].Result
        $r.FailedPhase | Should -Be 'Tls'
        $r.CertificateChainErrors | Should -Match 'NotTimeValid'
        $date = $script:Leaf.expired.Certificate.NotAfter.ToUniversalTime().ToString('yyyy-MM-dd HH:mm', [cultureinfo]::InvariantCulture)
        $r.Message | Should -Match ([regex]::Escape("The certificate expired on $date UTC."))
        $top = Top 'expired'
        $top.CauseId | Should -BeExactly 'CertificateValidationFailed'
        $top.Evidence | Should -Match ([regex]::Escape("expired on $date UTC. The server's administrator must renew it"))
        Assert-NothingSent 'expired' 'expired'
    }

    It 'says a certificate that is not valid yet starts on its date, and points at the clock' {
        if (Skip-IfUnavailable) { return }
        $r = $script:R['notyet'].Result
        $r.FailedPhase | Should -Be 'Tls'
        $date = $script:Leaf.notyet.Certificate.NotBefore.ToUniversalTime().ToString('yyyy-MM-dd HH:mm', [cultureinfo]::InvariantCulture)
        $r.Message | Should -Match ([regex]::Escape("The certificate is not valid until $date UTC: this computer's clock is behind"))
        $top = Top 'notyet'
        $top.CauseId | Should -BeExactly 'CertificateValidationFailed'
        $top.Evidence | Should -Match ([regex]::Escape("is not valid until $date UTC: this computer's clock is behind"))
        Assert-NothingSent 'notyet' 'notyet'
    }

    It 'reads a server that speaks only TLS 1.0/1.1 as no common TLS version, never as a certificate failure' {
        if (Skip-IfUnavailable) { return }
        # The listener really serves TLS 1.1 to a client that offers it (OpenSSL's own client, security level 0).
        $old = Invoke-Bounded -FilePath 'openssl' -Arguments @('s_client', '-starttls', 'smtp', '-connect', "127.0.0.1:$($script:Peer.listeners['oldtls'])", '-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0', '-brief') -InputText "QUIT`r`n" -TimeoutSeconds 20
        $old.Output | Should -Match 'Protocol version: TLSv1\.1'
        $r = $script:R['oldtls'].Result
        $r.FailedPhase | Should -Be 'Tls'
        $r.CertificateSubject | Should -BeNullOrEmpty
        $r.Message | Should -Match 'alert protocol version'
        $r.Message | Should -Match 'The server refused the TLS versions the probe offers \(TLS 1\.2 and 1\.3\) with a TLS alert: it speaks only older TLS \(1\.0 or 1\.1\)'
        $top = Top 'oldtls'
        $top.CauseId | Should -BeExactly 'TlsVersionTooOld'
        $top.Verdict | Should -Be 'Likely'
        $top.Evidence | Should -Match 'localhost speaks only older TLS \(1\.0 or 1\.1\).*The server is what needs the change'
        @($script:R['oldtls'].Findings | Where-Object { $_.CauseId -eq 'CertificateValidationFailed' -and $_.Verdict -ne 'RuledOut' }).Count | Should -Be 0
        Assert-NothingSent 'oldtls' 'oldtls'
        $script:PostfixLog | Should -Match 'postfix-peer/oldtls/smtpd\[\d+\]: .*(unsupported protocol|protocol version)'
    }

    It 'reads Postfix''s refusal of a client without a certificate (smtpd_tls_req_ccert) as ClientCertificateRequired' {
        if (Skip-IfUnavailable) { return }
        $r = $script:R['ccert'].Result
        $r.FailedPhase | Should -Be 'Tls'
        $r.ReplyCode | Should -Be 421
        $r.Message | Should -Match "^The server answered '421 4\.7\.1 \S+ Error: No client certificate presented' and then closed the connection\.$"
        $top = Top 'ccert'
        $top.CauseId | Should -BeExactly 'ClientCertificateRequired'
        $top.Verdict | Should -Be 'Likely'
        @($script:R['ccert'].Findings | Where-Object { $_.CauseId -eq 'ServerProtocolViolation' -and $_.Verdict -ne 'RuledOut' }).Count | Should -Be 0
        Assert-NothingSent 'ccert' 'ccert'
        $script:PostfixLog | Should -Match 'postfix-peer/ccert/smtpd\[\d+\]: .*No client certificate presented'
    }

    It 'reads an OpenSSL server that fails the handshake for want of a client certificate as ClientCertificateRequired' {
        if (Skip-IfUnavailable) { return }
        $r = $script:R['py-client-cert'].Result
        $r.FailedPhase | Should -Be 'Tls'
        $r.CertificateValid | Should -BeTrue
        # The alert ('certificate required') or, when the server's reset overtakes it, the hang-up after the certificate.
        $r.Message | Should -Match "^The server (requires a client certificate: it ended the TLS handshake with the alert 'certificate required'|closed the connection \(.+\) after the probe accepted its certificate in the TLS handshake, and before the server said anything inside TLS\. A server that requires a client certificate)"
        (Top 'py-client-cert').CauseId | Should -BeExactly 'ClientCertificateRequired'
        $script:PythonLog | Should -Match 'TLS handshake failed: .*(PEER_DID_NOT_RETURN_A_CERTIFICATE|peer did not return a certificate)'
        Assert-NothingSent 'py-client-cert'
    }

    It 'reports a server that hangs up <Mode> as FailedPhase Tls before any certificate, and sends nothing' -ForEach @(
        @{ Mode = 'after-220' }
        @{ Mode = 'mid-handshake' }
    ) {
        if (Skip-IfUnavailable) { return }
        $r = $script:R["py-$Mode"].Result
        $r.FailedPhase | Should -Be 'Tls'
        $r.CertificateSubject | Should -BeNullOrEmpty
        $r.Message | Should -Match '^The TLS handshake failed before the server presented a certificate: .*The credentials were not sent\.$'
        $r.Transcript | Should -Match '(?m)^S: 220 2\.0\.0 Ready to start TLS'
        $top = Top "py-$Mode"
        $top.CauseId | Should -BeExactly 'ServerProtocolViolation'
        @($script:R["py-$Mode"].Findings | Where-Object { $_.CauseId -eq 'CertificateValidationFailed' -and $_.Verdict -ne 'RuledOut' }).Count | Should -Be 0
        $script:PythonLog | Should -Match "cut after STARTTLS \($Mode\)"
        if ($Mode -eq 'mid-handshake') { $script:PythonLog | Should -Match 'TLS bytes before the cut: [1-9]\d* \(first byte 0x16\)' }
        Assert-NothingSent "py-$Mode"
    }
}
