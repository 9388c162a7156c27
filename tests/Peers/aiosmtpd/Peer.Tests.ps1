#Requires -Version 7.0
# Pester 5 checks of the aiosmtpd peer (Debian's python3-aiosmtpd 1.4.3), made with swaks and, for the
# commands swaks will not send (AUTH that the server did not advertise, AUTH before EHLO), python3's
# smtplib - both independent of the module under test. They record aiosmtpd's own replies verbatim.
# Run: Invoke-Pester tests/Peers/aiosmtpd/Peer.Tests.ps1
# The peer is skipped (not failed) only when Start-AiosmtpdPeer.ps1 says PEER-UNAVAILABLE.
# Environment: AIOSMTPD_PEER_BASEPORT (default 26000; the project gives this peer 26000-26009),
# AIOSMTPD_PEER_KEEP=1 keeps the work directory (logs) after the run.

BeforeAll {
    . "$PSScriptRoot/../PeerTools.ps1"
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('aiosmtpd-peer-tests-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
    $script:BasePort = if ($env:AIOSMTPD_PEER_BASEPORT) { [int]$env:AIOSMTPD_PEER_BASEPORT } else { 26000 }
    $script:Unavailable = $null
    $script:Peer = $null
    # Every credential-carrying string the tests send (wrong ones too); none may show up in a log.
    $script:Sent = [System.Collections.Generic.List[string]]::new()

    # aiosmtpd 1.4.3's texts (aiosmtpd/smtp.py), as these tests observe them.
    $script:Banner = '220 peer.example.test Python SMTP 1.4.3'
    $script:Text = @{
        Ok            = '235 2.7.0 Authentication successful'
        Invalid       = '535 5.7.8 Authentication credentials invalid'
        NeedTls       = '538 5.7.11 Encryption required for requested authentication mechanism'
        NeedAuth      = '530 5.7.0 Authentication required'
        Mechanism     = '504 5.5.4 Unrecognized authentication type'
        UserChallenge = '334 VXNlciBOYW1lAA=='   # base64 of "User Name\0"
        PassChallenge = '334 UGFzc3dvcmQA'       # base64 of "Password\0"
    }

    # --- tools: swaks (+ libnet-ssleay-perl for its TLS) and Debian's python3 ------------------
    $script:Missing = @{}
    if (-not (Install-Swaks)) { $script:Missing['swaks'] = 'swaks is not installed and could not be installed with apt-get' }
    $script:Python = if (Test-Path -LiteralPath '/usr/bin/python3') { '/usr/bin/python3' } else { (Get-Command python3 -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source }
    if (-not $script:Python) { $script:Missing['python3'] = 'python3 is not installed' }

    $startClock = [System.Diagnostics.Stopwatch]::StartNew()
    $start = Start-TestPeer -StartScript (Join-Path $PSScriptRoot 'Start-AiosmtpdPeer.ps1') -WorkDirectory $script:PeerDir -BasePort $script:BasePort
    $script:Peer = $start.Peer
    $script:Unavailable = $start.Unavailable
    $script:StartMs = $startClock.ElapsedMilliseconds
    if ($script:Peer) { Write-Host "aiosmtpd peer (aiosmtpd $($script:Peer.aiosmtpdVersion)) started in $($script:StartMs) ms, pid $($script:Peer.pid)" }

    function Skip-IfUnavailable([string] $Needs) {
        if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }
        if ($Needs -and $script:Missing.ContainsKey($Needs)) { Set-ItResult -Skipped -Because $script:Missing[$Needs]; return $true }
        return $false
    }

    function Get-Secrets {
        # Every password of this run, plus whatever credential strings were sent.
        $list = [System.Collections.Generic.List[string]]::new()
        if ($script:Peer) { foreach ($v in $script:Peer.users.Values) { $list.Add([string]$v) } }
        foreach ($s in $script:Sent) { $list.Add($s) }
        # AUTH LOGIN sends a password as base64 on a line of its own
        foreach ($s in @($list)) { if ($s) { $list.Add([Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($s))) } }
        return @($list | Where-Object { $_ } | Select-Object -Unique)
    }

    function Hide-Secrets([string] $Text) {
        foreach ($s in Get-Secrets) { if ($s) { $Text = $Text.Replace($s, '***') } }
        return $Text
    }

    function ConvertTo-Base64([string] $Text) {
        $b64 = [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($Text))
        $script:Sent.Add($b64)
        return $b64
    }
    function Get-PlainBlob([string] $User, [string] $Password) { $script:Sent.Add($Password); ConvertTo-Base64 "`0$User`0$Password" }

    function Invoke-Swaks {
        # swaks against the peer (PeerTools.ps1: Invoke-SwaksProcess) with '--ehlo client.example.test'; the
        # password counts as sent, every secret is masked in the output.
        param([int] $Port, [string[]] $Arguments, [string] $Password)
        if ($PSBoundParameters.ContainsKey('Password')) { $script:Sent.Add($Password) }
        $r = Invoke-SwaksProcess -Server $script:Peer.host -Ehlo 'client.example.test' @PSBoundParameters
        $r.Output = Hide-Secrets $r.Output
        $r
    }

    function Get-SwaksReplies([string] $Output, [switch] $Tls) {
        # The server's lines in a swaks transcript, in order: '<-  ' / '<** ' in clear text, '<~  ' / '<~* '
        # inside TLS (the '*' marks a reply swaks counts as an error). -Tls: only those inside TLS; else only clear.
        $want = if ($Tls) { '~' } else { '[-*]' }
        foreach ($line in ($Output -split "`r?`n")) {
            if ($line -match "^<$want[ *] ?(.*)$") { $Matches[1].Trim() }
        }
    }

    # python3 smtplib driver: reads {host, port, implicitTls, steps} as JSON on stdin (so no credential
    # is on a command line) and prints the server's replies as JSON: [{op:'connect', code, text, tls},
    # {op, code, text, tls}, ...]; an exception ends the list with {op:'error', code:0, text}.
    # ehlo -> EHLO client.example.test; helo -> HELO client.example.test; starttls -> STARTTLS + TLS
    # handshake (no certificate check); send -> the given line as is; quit -> QUIT.
    $script:PySmtp = @'
import json, smtplib, ssl, sys
spec = json.load(sys.stdin)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = []
try:
    s = smtplib.SMTP_SSL(context=ctx, timeout=15) if spec['implicitTls'] else smtplib.SMTP(timeout=15)
    s._host = spec['host']
    code, msg = s.connect(spec['host'], spec['port'])
    out.append({'op': 'connect', 'code': code, 'text': msg.decode('utf-8', 'replace'), 'tls': isinstance(s.sock, ssl.SSLSocket)})
    for step in spec['steps']:
        op = step['op']
        if op == 'ehlo':
            code, msg = s.ehlo('client.example.test')
        elif op == 'helo':
            code, msg = s.helo('client.example.test')
        elif op == 'starttls':
            code, msg = s.starttls(context=ctx)
        elif op == 'send':
            code, msg = s.docmd(step['line'])
        elif op == 'quit':
            code, msg = s.docmd('QUIT')
        else:
            raise ValueError('unknown op ' + op)
        out.append({'op': op, 'code': code, 'text': msg.decode('utf-8', 'replace'), 'tls': isinstance(s.sock, ssl.SSLSocket)})
    s.close()
except Exception as e:
    out.append({'op': 'error', 'code': 0, 'text': type(e).__name__ + ': ' + str(e)})
print(json.dumps(out))
'@

    function Invoke-Smtp {
        param([int] $Port, [object[]] $Steps, [switch] $ImplicitTls)
        $spec = [ordered]@{ host = $script:Peer.host; port = $Port; implicitTls = [bool]$ImplicitTls; steps = @($Steps) } | ConvertTo-Json -Depth 5 -Compress
        $r = Invoke-Bounded -FilePath $script:Python -Arguments @('-I', '-c', $script:PySmtp) -InputText $spec -TimeoutSeconds 60
        if ($r.TimedOut) { throw "python3 smtplib timed out on port $Port" }
        if ($r.ExitCode -ne 0) { throw "python3 smtplib failed ($($r.ExitCode)): $(Hide-Secrets $r.StdErr)" }
        return @($r.StdOut | ConvertFrom-Json)
    }

    function S([string] $Op, [string] $Line) {
        # One smtplib step: S ehlo | S helo | S starttls | S send '<line>' | S quit
        if ($PSBoundParameters.ContainsKey('Line')) { @{ op = $Op; line = $Line } } else { @{ op = $Op } }
    }

    function Format-Reply($Step) { "$($Step.code) $($Step.text)" }

    function Get-Events { @(Get-Content -LiteralPath $script:Peer.eventsPath | ForEach-Object { $_ | ConvertFrom-Json }) }
    function Get-EventMark { @(Get-Content -LiteralPath $script:Peer.eventsPath).Count }
    function Get-EventsSince([int] $Mark, [int] $Port) {
        @(Get-Content -LiteralPath $script:Peer.eventsPath | Select-Object -Skip $Mark | ForEach-Object { $_ | ConvertFrom-Json } | Where-Object port -EQ $Port)
    }

    function Get-PeerProcesses {
        # Live (non-zombie) processes whose command line mentions the tests' work directory.
        foreach ($dir in [System.IO.Directory]::EnumerateDirectories('/proc')) {
            $name = [System.IO.Path]::GetFileName($dir)
            if ($name -notmatch '^\d+$') { continue }
            try {
                $cmd = [System.IO.File]::ReadAllText("$dir/cmdline")
                $stat = [System.IO.File]::ReadAllText("$dir/stat")
            }
            catch { continue }
            if ($stat.Substring($stat.LastIndexOf(')') + 2, 1) -in 'Z', 'X') { continue }
            if ($cmd.Contains($script:PeerDir)) { [pscustomobject]@{ Pid = [int]$name; CommandLine = $cmd.Replace([char]0, ' ') } }
        }
    }

    $script:Envelope = @('--from', 'dave@example.test', '--to', 'someone@elsewhere.example')
}

AfterAll {
    Stop-TestPeer -StopScript (Join-Path $PSScriptRoot 'Stop-AiosmtpdPeer.ps1') -WorkDirectory $script:PeerDir
}

Describe 'aiosmtpd peer' -Tag 'Peer' {

    Context 'start and peer.json' {
        It 'describes the running peer with the documented shape' {
            if (Skip-IfUnavailable) { return }
            $path = Join-Path $script:PeerDir 'peer.json'
            $json = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json -AsHashtable
            @($json.Keys) | Should -Be @('host', 'startTlsPort', 'implicitTlsPort', 'clearTextPort', 'authBeforeTlsPort', 'plainOnlyPort', 'implicitTlsDefaultPort',
                'users', 'eventsPath', 'pid', 'workDirectory', 'certificatePath', 'certificateThumbprint', 'aiosmtpdVersion', 'startMilliseconds')
            $json.host | Should -Be '127.0.0.1'
            $i = 0
            foreach ($name in 'startTlsPort', 'implicitTlsPort', 'clearTextPort', 'authBeforeTlsPort', 'plainOnlyPort', 'implicitTlsDefaultPort') {
                $json[$name] | Should -Be ($script:BasePort + $i) -Because $name
                $script:Peer.$name | Should -Be ($script:BasePort + $i)
                $i++
            }
            @($json.users.Keys) | Should -Be @('dave', 'user@example.test')
            foreach ($u in $json.users.Keys) {
                $json.users[$u] | Should -Match '^[A-Za-z0-9]{24}$'
                $script:Peer.users[$u] | Should -Be $json.users[$u]
            }
            $json.users['dave'] | Should -Not -Be $json.users['user@example.test']
            $json.eventsPath | Should -Be (Join-Path $script:PeerDir 'events.jsonl')
            $json.workDirectory | Should -Be $script:PeerDir
            $json.certificateThumbprint | Should -Match '^[0-9A-F]{40}$'
            $json.aiosmtpdVersion | Should -Be '1.4.3' -Because 'the reply texts below are those of Debian bookworm''s python3-aiosmtpd 1.4.3'
            foreach ($f in 'peer.json', 'config.json', 'key.pem') {
                [System.IO.File]::GetUnixFileMode((Join-Path $script:PeerDir $f)) | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite') -Because $f
            }
        }

        It 'runs one python3 process for all listeners, the one in peer.json' {
            if (Skip-IfUnavailable) { return }
            $procs = @(Get-PeerProcesses)
            $procs.Count | Should -Be 1 -Because ($procs | Out-String)
            $procs[0].Pid | Should -Be $script:Peer.pid
            $procs[0].CommandLine | Should -BeLike "/usr/bin/python3 -I $(Join-Path $PSScriptRoot 'server.py') $(Join-Path $script:PeerDir 'config.json')*"
        }

        It 'does not show a password in the default display of the returned object' {
            if (Skip-IfUnavailable) { return }
            $shown = ($script:Peer | Out-String) + ($script:Peer | Format-List | Out-String)
            foreach ($s in Get-Secrets) { $shown.Contains($s) | Should -BeFalse }
            $shown | Should -Match 'user@example\.test'
        }

        It 'started in well under the time limit' {
            if (Skip-IfUnavailable) { return }
            $script:StartMs | Should -BeLessThan 20000
        }
    }

    Context 'greeting and EHLO (swaks)' {
        It 'BasePort+0 greets, offers STARTTLS and no AUTH before TLS, then "AUTH LOGIN PLAIN" and no STARTTLS' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Arguments @('--tls', '--quit-after', 'HELO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            @(Get-SwaksReplies $r.Output) | Should -Be @($script:Banner,
                '250-peer.example.test', '250-SIZE 33554432', '250-8BITMIME', '250-SMTPUTF8', '250-STARTTLS', '250 HELP',
                '220 Ready to start TLS')
            @(Get-SwaksReplies $r.Output -Tls) | Should -Be @(
                '250-peer.example.test', '250-SIZE 33554432', '250-8BITMIME', '250-SMTPUTF8', '250-AUTH LOGIN PLAIN', '250 HELP',
                '221 Bye')
            $r.Output | Should -Match '=== TLS started with cipher TLSv1\.[23]:'
        }

        It 'BasePort+2 offers no STARTTLS and advertises "AUTH LOGIN PLAIN" in clear text' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.clearTextPort -Arguments @('--quit-after', 'HELO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            @(Get-SwaksReplies $r.Output) | Should -Be @($script:Banner,
                '250-peer.example.test', '250-SIZE 33554432', '250-8BITMIME', '250-SMTPUTF8', '250-AUTH LOGIN PLAIN', '250 HELP', '221 Bye')
        }

        It 'BasePort+3 advertises STARTTLS and "AUTH LOGIN PLAIN" before TLS, and "AUTH LOGIN PLAIN" after' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.authBeforeTlsPort -Arguments @('--tls', '--quit-after', 'HELO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $clear = @(Get-SwaksReplies $r.Output)
            $clear | Should -Contain '250-STARTTLS'
            $clear | Should -Contain '250-AUTH LOGIN PLAIN'
            @(Get-SwaksReplies $r.Output -Tls) | Should -Contain '250-AUTH LOGIN PLAIN'
            @(Get-SwaksReplies $r.Output -Tls) | Should -Not -Contain '250-STARTTLS'
        }

        It 'BasePort+4 advertises no AUTH before TLS and only "AUTH PLAIN" after' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.plainOnlyPort -Arguments @('--tls', '--quit-after', 'HELO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            @(Get-SwaksReplies $r.Output | Where-Object { $_ -like '250?AUTH*' }) | Should -BeNullOrEmpty
            @(Get-SwaksReplies $r.Output -Tls | Where-Object { $_ -like '250?AUTH*' }) | Should -Be @('250-AUTH PLAIN')
        }

        It 'BasePort+1 greets inside TLS and advertises "AUTH LOGIN PLAIN", no STARTTLS (swaks --tlsc)' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.implicitTlsPort -Arguments @('--tlsc', '--quit-after', 'HELO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            Assert-SwaksBannerInsideTls $r.Output
            @(Get-SwaksReplies $r.Output) | Should -BeNullOrEmpty -Because 'nothing is sent in clear text'
            @(Get-SwaksReplies $r.Output -Tls) | Should -Be @($script:Banner,
                '250-peer.example.test', '250-SIZE 33554432', '250-8BITMIME', '250-SMTPUTF8', '250-AUTH LOGIN PLAIN', '250 HELP', '221 Bye')
        }

        It 'BasePort+5 (aiosmtpd''s default auth_require_tls over implicit TLS) advertises no AUTH although the session is encrypted' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.implicitTlsDefaultPort -Arguments @('--tlsc', '--quit-after', 'HELO')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            Assert-SwaksBannerInsideTls $r.Output
            @(Get-SwaksReplies $r.Output -Tls) | Should -Be @($script:Banner,
                '250-peer.example.test', '250-SIZE 33554432', '250-8BITMIME', '250-SMTPUTF8', '250 HELP', '221 Bye')
        }

        It 'serves the certificate from peer.json over TLS 1.2+, valid for localhost and 127.0.0.1 except for trust' {
            if (Skip-IfUnavailable) { return }
            Assert-PeerCertificate -Port $script:Peer.implicitTlsPort -Thumbprint $script:Peer.certificateThumbprint -Banner $script:Banner
        }
    }

    Context 'AUTH and its refusals' {
        It 'AUTH LOGIN after STARTTLS: the "User Name" and "Password" challenges, then 235 (swaks)' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.users['dave'] -Arguments @('--tls', '--auth', 'LOGIN', '--auth-user', 'dave', '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            @(Get-SwaksReplies $r.Output -Tls | Select-Object -Last 4) | Should -Be @($script:Text.UserChallenge, $script:Text.PassChallenge, $script:Text.Ok, '221 Bye')
        }

        It 'AUTH PLAIN after STARTTLS succeeds for user@example.test (swaks)' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.users['user@example.test'] -Arguments @('--tls', '--auth', 'PLAIN', '--auth-user', 'user@example.test', '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            @(Get-SwaksReplies $r.Output -Tls) | Should -Contain $script:Text.Ok
        }

        It 'answers a wrong password with "<Text>" (swaks AUTH <Mechanism>, exit code 28)' -ForEach @(
            @{ Mechanism = 'LOGIN'; Text = '535 5.7.8 Authentication credentials invalid' }
            @{ Mechanism = 'PLAIN'; Text = '535 5.7.8 Authentication credentials invalid' }
        ) {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password 'not-the-password' -Arguments @('--tls', '--auth', $Mechanism, '--auth-user', 'dave', '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 28 -Because $r.Output   # swaks: error in AUTH transaction
            @(Get-SwaksReplies $r.Output -Tls) | Should -Contain $Text
            $r.Output | Should -Match ('<~\* ' + [regex]::Escape($Text))
        }

        It 'answers an unknown user the same as a wrong password' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.users['dave'] -Arguments @('--tls', '--auth', 'PLAIN', '--auth-user', 'nobody@example.test', '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 28 -Because $r.Output
            @(Get-SwaksReplies $r.Output -Tls) | Should -Contain $script:Text.Invalid
        }

        It 'refuses MAIL before AUTH with "530 5.7.0 Authentication required", in clear text and inside TLS (swaks exit code 23)' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $clear = Invoke-Swaks -Port $script:Peer.startTlsPort -Arguments (@('--quit-after', 'MAIL') + $script:Envelope)
            $clear.ExitCode | Should -Be 23 -Because $clear.Output   # swaks: error in MAIL
            @(Get-SwaksReplies $clear.Output) | Should -Contain $script:Text.NeedAuth
            $tls = Invoke-Swaks -Port $script:Peer.startTlsPort -Arguments (@('--tls', '--quit-after', 'MAIL') + $script:Envelope)
            $tls.ExitCode | Should -Be 23 -Because $tls.Output
            @(Get-SwaksReplies $tls.Output -Tls) | Should -Contain $script:Text.NeedAuth
        }

        It 'answers AUTH before STARTTLS on BasePort+0 with "538 5.7.11 ..." and never checks the credentials (smtplib)' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $mark = Get-EventMark
            $blob = Get-PlainBlob 'dave' $script:Peer.users['dave']
            $r = Invoke-Smtp -Port $script:Peer.startTlsPort -Steps (S ehlo), (S send "AUTH PLAIN $blob"), (S send 'AUTH LOGIN'), (S quit)
            $r.op | Should -Be @('connect', 'ehlo', 'send', 'send', 'quit') -Because ($r | ConvertTo-Json)
            Format-Reply $r[2] | Should -BeExactly $script:Text.NeedTls
            Format-Reply $r[3] | Should -BeExactly $script:Text.NeedTls
            $events = Get-EventsSince $mark $script:Peer.startTlsPort
            @($events | Where-Object { $_.event -eq 'command' -and $_.verb -eq 'AUTH' }).mechanism | Should -Be @('PLAIN', 'LOGIN')
            @($events | Where-Object event -EQ 'auth') | Should -BeNullOrEmpty -Because 'aiosmtpd refuses before it decodes the credentials'
        }

        It 'answers AUTH over implicit TLS on BasePort+5 with the same 538, and MAIL with 530 (smtplib)' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.implicitTlsDefaultPort -ImplicitTls -Steps (S ehlo), (S send 'AUTH LOGIN'), (S send 'MAIL FROM:<dave@example.test>'), (S quit)
            $r[0].tls | Should -BeTrue
            Format-Reply $r[2] | Should -BeExactly $script:Text.NeedTls -Because ($r | ConvertTo-Json)
            Format-Reply $r[3] | Should -BeExactly $script:Text.NeedAuth
        }

        It 'accepts AUTH in clear text on BasePort+2 and an authenticated message, and logs tls false (swaks)' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $mark = Get-EventMark
            $r = Invoke-Swaks -Port $script:Peer.clearTextPort -Password $script:Peer.users['dave'] -Arguments (@('--auth', 'PLAIN', '--auth-user', 'dave') + $script:Envelope)
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $replies = @(Get-SwaksReplies $r.Output)
            $replies | Should -Contain $script:Text.Ok
            $replies | Should -Contain '250 OK'
            $replies | Should -Contain '354 End data with <CR><LF>.<CR><LF>'
            $replies | Should -Contain '250 OK: message discarded by the test peer'
            $events = Get-EventsSince $mark $script:Peer.clearTextPort
            $auth = @($events | Where-Object event -EQ 'auth')
            $auth.Count | Should -Be 1
            $auth[0].username | Should -Be 'dave'
            $auth[0].ok | Should -BeTrue
            $auth[0].tls | Should -BeFalse
            @($events | Where-Object event -EQ 'tls') | Should -BeNullOrEmpty
            $m = @($events | Where-Object event -EQ 'message')
            $m.Count | Should -Be 1
            $m[0].user | Should -Be 'dave'
        }

        It 'accepts AUTH before STARTTLS on BasePort+3 (smtplib), and again after STARTTLS' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.authBeforeTlsPort -Steps (S ehlo), (S send "AUTH PLAIN $(Get-PlainBlob 'dave' $script:Peer.users['dave'])"), (S quit)
            Format-Reply $r[2] | Should -BeExactly $script:Text.Ok -Because ($r | ConvertTo-Json)
            $r[2].tls | Should -BeFalse
            $r = Invoke-Smtp -Port $script:Peer.authBeforeTlsPort -Steps (S ehlo), (S starttls), (S ehlo), (S send "AUTH PLAIN $(Get-PlainBlob 'dave' $script:Peer.users['dave'])"), (S send 'AUTH PLAIN'), (S quit)
            Format-Reply $r[4] | Should -BeExactly $script:Text.Ok -Because ($r | ConvertTo-Json)
            $r[4].tls | Should -BeTrue
            Format-Reply $r[5] | Should -BeExactly '503 Already authenticated'
        }

        It 'refuses AUTH LOGIN on the PLAIN-only BasePort+4 with "504 5.5.4 Unrecognized authentication type" (smtplib)' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.plainOnlyPort -Steps (S ehlo), (S starttls), (S ehlo), (S send 'AUTH LOGIN'), (S send "AUTH PLAIN $(Get-PlainBlob 'dave' $script:Peer.users['dave'])"), (S quit)
            Format-Reply $r[4] | Should -BeExactly $script:Text.Mechanism -Because ($r | ConvertTo-Json)
            Format-Reply $r[5] | Should -BeExactly $script:Text.Ok
        }

        It 'wants EHLO before AUTH: "503 Error: send EHLO first", and after HELO "500 Error: command ''AUTH'' not recognized" (smtplib)' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.authBeforeTlsPort -Steps (S send 'AUTH LOGIN'), (S helo), (S send 'AUTH LOGIN'), (S quit)
            Format-Reply $r[1] | Should -BeExactly '503 Error: send EHLO first' -Because ($r | ConvertTo-Json)
            $r[2].code | Should -Be 250
            Format-Reply $r[3] | Should -BeExactly "500 Error: command 'AUTH' not recognized"
        }
    }

    Context 'events log and secrecy' {
        It 'has one JSON object per line with time, port, session and event' {
            if (Skip-IfUnavailable) { return }
            $events = Get-Events
            $events.Count | Should -BeGreaterThan 50
            $events[0].event | Should -Be 'listening'
            $events[0].aiosmtpdVersion | Should -Be $script:Peer.aiosmtpdVersion
            foreach ($e in $events) {
                @($e.PSObject.Properties.Name)[0..3] | Should -Be @('time', 'port', 'session', 'event')
                $e.event | Should -BeIn @('listening', 'connect', 'tls', 'command', 'reply', 'auth', 'message', 'close')
            }
            $tls = @($events | Where-Object event -EQ 'tls')
            @($tls | Where-Object mode -EQ 'implicit').port | Should -Contain $script:Peer.implicitTlsPort
            @($tls | Where-Object mode -EQ 'starttls').port | Should -Contain $script:Peer.startTlsPort
            $tls.protocol | ForEach-Object { $_ | Should -BeIn 'TLSv1.2', 'TLSv1.3' }
        }

        It 'records AUTH commands by mechanism name only, whether each came inside TLS, and every credential check' {
            if (Skip-IfUnavailable) { return }
            $events = Get-Events
            foreach ($e in @($events | Where-Object event -EQ 'command')) {
                $extra = @($e.PSObject.Properties.Name | Where-Object { $_ -notin 'time', 'port', 'session', 'event', 'tls', 'verb', 'mechanism' })
                $extra | Should -BeNullOrEmpty
                $e.verb | Should -Match '^([A-Z]{4,8}|\?)$'
                $e.tls | Should -BeOfType [bool]
            }
            $auth = @($events | Where-Object { $_.event -eq 'command' -and $_.verb -eq 'AUTH' })
            $auth.mechanism | Should -Contain 'PLAIN'
            $auth.mechanism | Should -Contain 'LOGIN'
            @($auth | Where-Object { $_.port -eq $script:Peer.startTlsPort -and -not $_.tls }).Count | Should -BeGreaterThan 0 -Because 'the 538 test sent AUTH before STARTTLS'
            $checks = @($events | Where-Object event -EQ 'auth')
            foreach ($c in $checks) { @($c.PSObject.Properties.Name) | Should -Be @('time', 'port', 'session', 'event', 'tls', 'mechanism', 'username', 'ok') }
            @($checks | Where-Object { $_.ok -and $_.username -eq 'user@example.test' -and $_.mechanism -eq 'PLAIN' }).Count | Should -BeGreaterThan 0
            @($checks | Where-Object { -not $_.ok -and $_.username -eq 'nobody@example.test' }).Count | Should -BeGreaterThan 0
            @($checks | Where-Object { -not $_.ok -and $_.mechanism -eq 'LOGIN' }).Count | Should -BeGreaterThan 0
            @($checks | Where-Object { $_.port -eq $script:Peer.startTlsPort -and -not $_.tls }) | Should -BeNullOrEmpty -Because 'BasePort+0 never checks a credential outside TLS'
            @($events | Where-Object { $_.event -eq 'reply' -and $_.code -eq 538 }).Count | Should -BeGreaterThan 0
        }

        It 'never writes a password or a sent credential blob to any log file' {
            if (Skip-IfUnavailable) { return }
            $secrets = Get-Secrets
            $secrets.Count | Should -BeGreaterThan 6
            $logs = @(Get-ChildItem -LiteralPath $script:PeerDir -Recurse -File | Where-Object { $_.Name -notin 'peer.json', 'config.json', 'key.pem' })
            $logs.Name | Should -Contain 'events.jsonl'
            $logs.Name | Should -Contain 'server.log'
            foreach ($f in $logs) {
                $text = [System.IO.File]::ReadAllText($f.FullName)
                foreach ($s in $secrets) { $text.Contains($s) | Should -BeFalse -Because "$($f.Name) must not contain a secret" }
            }
        }
    }

    Context 'stop' {
        It 'stops the python3 process and removes the work directory' {
            if (Skip-IfUnavailable) { return }
            & (Join-Path $PSScriptRoot 'Stop-AiosmtpdPeer.ps1') -WorkDirectory $script:PeerDir 3>&1 | Should -BeNullOrEmpty -Because 'no warnings'
            @(Get-PeerProcesses) | Should -BeNullOrEmpty
            $stat = Get-Content -LiteralPath "/proc/$($script:Peer.pid)/stat" -Raw -ErrorAction SilentlyContinue
            if ($stat) { $stat.Substring($stat.LastIndexOf(')') + 2, 1) | Should -BeIn 'Z', 'X' -Because 'python3 must be gone (at most a zombie init has not reaped yet)' }
            Test-Path -LiteralPath $script:PeerDir | Should -Be ($env:AIOSMTPD_PEER_KEEP -eq '1')
            foreach ($p in 'startTlsPort', 'implicitTlsDefaultPort') {
                $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
                try { { $client.Connect([System.Net.IPAddress]::Loopback, $script:Peer.$p) } | Should -Throw }
                finally { $client.Dispose() }
            }
        }

        It 'is idempotent and never throws' {
            & (Join-Path $PSScriptRoot 'Stop-AiosmtpdPeer.ps1') -WorkDirectory $script:PeerDir 3>&1 | Should -BeNullOrEmpty
            { & (Join-Path $PSScriptRoot 'Stop-AiosmtpdPeer.ps1') -WorkDirectory '/nonexistent/aiosmtpd-peer' } | Should -Not -Throw
        }
    }
}
