#Requires -Version 7.0
# Pester 5 checks of the nodemailer smtp-server peer, made with swaks and python3's smtplib
# (independent of the module under test). Run: Invoke-Pester tests/Peers/nodemailer/Peer.Tests.ps1
# The peer is skipped (not failed) only when Start-NodemailerPeer.ps1 says PEER-UNAVAILABLE.
# Environment: NODEMAILER_PEER_BASEPORT (default 25940; the module's own tests use 25900),
# NODEMAILER_PEER_KEEP=1 keeps the work directory (logs) after the run.

BeforeAll {
    . "$PSScriptRoot/../PeerTools.ps1"
    $script:PeerDir = Join-Path ([System.IO.Path]::GetTempPath()) ('nodemailer-peer-tests-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
    $script:BasePort = if ($env:NODEMAILER_PEER_BASEPORT) { [int]$env:NODEMAILER_PEER_BASEPORT } else { 25940 }
    $script:Unavailable = $null
    $script:Peer = $null
    $script:AcsUser = 'contoso-acs.11111111-2222-3333-4444-555555555555.66666666-7777-8888-9999-000000000000'
    # Every credential-carrying string the tests send (wrong ones too); none may show up in a log.
    $script:Sent = [System.Collections.Generic.List[string]]::new()
    $script:Sent.Add('not-the-password')   # sent base64-encoded by an AUTH LOGIN test

    # --- tools: swaks (+ libnet-ssleay-perl for its TLS) and python3 ---------------------------
    $script:Missing = @{}
    if (-not (Install-Swaks)) { $script:Missing['swaks'] = 'swaks is not installed and could not be installed with apt-get' }
    # The distribution's python3 first: a version-manager shim (pyenv) on PATH costs ~0.3 s a run.
    $script:Python = if (Test-Path -LiteralPath '/usr/bin/python3') { '/usr/bin/python3' } else { (Get-Command python3 -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source }
    if (-not $script:Python) { $script:Missing['python3'] = 'python3 is not installed' }

    $startClock = [System.Diagnostics.Stopwatch]::StartNew()
    $start = Start-TestPeer -StartScript (Join-Path $PSScriptRoot 'Start-NodemailerPeer.ps1') -WorkDirectory $script:PeerDir -BasePort $script:BasePort
    $script:Peer = $start.Peer
    $script:Unavailable = $start.Unavailable
    $script:StartMs = $startClock.ElapsedMilliseconds
    if ($script:Peer) { Write-Host "nodemailer peer (smtp-server $($script:Peer.smtpServerVersion)) started in $($script:StartMs) ms, pid $($script:Peer.pid)" }

    function Skip-IfUnavailable([string] $Needs) {
        if ($script:Unavailable) { Set-ItResult -Skipped -Because $script:Unavailable; return $true }
        if ($Needs -and $script:Missing.ContainsKey($Needs)) { Set-ItResult -Skipped -Because $script:Missing[$Needs]; return $true }
        return $false
    }

    function Get-Secrets {
        # Every password and the token of this run, plus whatever credential strings were sent.
        $list = [System.Collections.Generic.List[string]]::new()
        if ($script:Peer) {
            foreach ($v in $script:Peer.users.Values) { $list.Add([string]$v) }
            $list.Add([string]$script:Peer.token)
        }
        foreach ($s in $script:Sent) { $list.Add($s) }
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
    function Get-XOAuth2Blob([string] $User, [string] $Token) { $script:Sent.Add($Token); ConvertTo-Base64 "user=$User`u{1}auth=Bearer $Token`u{1}`u{1}" }

    function Invoke-Swaks {
        # swaks against the peer (PeerTools.ps1: Invoke-SwaksProcess); the password counts as sent, every secret is masked in the output.
        param([int] $Port, [string[]] $Arguments, [string] $Password)
        if ($PSBoundParameters.ContainsKey('Password')) { $script:Sent.Add($Password) }
        $r = Invoke-SwaksProcess -Server $script:Peer.host @PSBoundParameters
        $r.Output = Hide-Secrets $r.Output
        $r
    }

    # python3 smtplib driver: reads {host, port, implicitTls, steps} as JSON on stdin (so no
    # credential is on a command line) and prints the server's replies as JSON:
    # [{op:'connect', code, text}, {op, code, text, tls}, ...]; an exception ends the list with
    # {op:'error', code:0, text}. ehlo -> EHLO client.example.test; starttls -> STARTTLS + TLS
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
    s._host = spec['host']   # connect() keeps the banner but, unlike SMTP(host), leaves the TLS server name unset
    code, msg = s.connect(spec['host'], spec['port'])
    out.append({'op': 'connect', 'code': code, 'text': msg.decode('utf-8', 'replace'), 'tls': isinstance(s.sock, ssl.SSLSocket)})
    for step in spec['steps']:
        op = step['op']
        if op == 'ehlo':
            code, msg = s.ehlo('client.example.test')
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
        $r = Invoke-Bounded -FilePath $script:Python -Arguments @('-c', $script:PySmtp) -InputText $spec -TimeoutSeconds 60
        if ($r.TimedOut) { throw "python3 smtplib timed out on port $Port" }
        if ($r.ExitCode -ne 0) { throw "python3 smtplib failed ($($r.ExitCode)): $(Hide-Secrets $r.StdErr)" }
        return @($r.StdOut | ConvertFrom-Json)
    }

    function Get-EhloKeywords($Reply) {
        # EHLO reply text (smtplib joins the lines with LF) minus the greeting line.
        return @(($Reply.text -split "`n") | Select-Object -Skip 1)
    }

    function S([string] $Op, [string] $Line) {
        # One smtplib step: S ehlo | S starttls | S send '<line>' | S quit
        if ($PSBoundParameters.ContainsKey('Line')) { @{ op = $Op; line = $Line } } else { @{ op = $Op } }
    }

    function Get-Events {
        @(Get-Content -LiteralPath $script:Peer.eventsPath | ForEach-Object { $_ | ConvertFrom-Json })
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
}

AfterAll {
    Stop-TestPeer -StopScript (Join-Path $PSScriptRoot 'Stop-NodemailerPeer.ps1') -WorkDirectory $script:PeerDir
}

Describe 'nodemailer smtp-server peer' -Tag 'Peer' {

    Context 'start and peer.json' {
        It 'describes the running peer with the documented shape' {
            if (Skip-IfUnavailable) { return }
            $path = Join-Path $script:PeerDir 'peer.json'
            $json = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json -AsHashtable
            @($json.Keys) | Should -Be @('host', 'startTlsPort', 'plainOnlyPort', 'implicitTlsPort', 'noOAuthPort', 'oauthOnlyPort', 'silentPort',
                'users', 'oauthUser', 'token', 'eventsPath', 'pid', 'workDirectory', 'certificatePath', 'certificateThumbprint', 'smtpServerVersion', 'startMilliseconds')
            $json.host | Should -Be '127.0.0.1'
            $i = 0
            foreach ($name in 'startTlsPort', 'plainOnlyPort', 'implicitTlsPort', 'noOAuthPort', 'oauthOnlyPort', 'silentPort') {
                $json[$name] | Should -Be ($script:BasePort + $i) -Because $name
                $script:Peer.$name | Should -Be ($script:BasePort + $i)
                $i++
            }
            @($json.users.Keys) | Should -Be @('dave', 'user@example.test', $script:AcsUser)
            foreach ($u in $json.users.Keys) {
                $json.users[$u] | Should -Match '^[A-Za-z0-9]{24}$'
                $script:Peer.users[$u] | Should -Be $json.users[$u]
            }
            @($json.users.Values | Select-Object -Unique).Count | Should -Be 3 -Because 'each user has its own password'
            $json.oauthUser | Should -Be 'user@example.test'
            $json.token | Should -Match '^nmpeer\.[A-Za-z0-9_-]{48}$'
            $json.token | Should -Be $script:Peer.token
            $json.eventsPath | Should -Be (Join-Path $script:PeerDir 'events.jsonl')
            $json.workDirectory | Should -Be $script:PeerDir
            $json.certificateThumbprint | Should -Match '^[0-9A-F]{40}$'
            $json.smtpServerVersion | Should -Match '^3\.21\.\d+$'
            [System.IO.File]::GetUnixFileMode($path) | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
            [System.IO.File]::GetUnixFileMode((Join-Path $script:PeerDir 'config.json')) | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
            [System.IO.File]::GetUnixFileMode((Join-Path $script:PeerDir 'key.pem')) | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
        }

        It 'runs one node process for all listeners, the one in peer.json' {
            if (Skip-IfUnavailable) { return }
            $procs = @(Get-PeerProcesses)
            $procs.Count | Should -Be 1 -Because ($procs | Out-String)
            $procs[0].Pid | Should -Be $script:Peer.pid
            $procs[0].CommandLine | Should -BeLike "*node* $(Join-Path $PSScriptRoot 'server.js') $(Join-Path $script:PeerDir 'config.json')*"
        }

        It 'does not show a password or the token in the default display of the returned object' {
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

    Context 'EHLO on every port (python3 smtplib)' {
        It 'BasePort+0 offers STARTTLS and no AUTH before TLS, then exactly "AUTH XOAUTH2 PLAIN LOGIN"' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.startTlsPort -Steps (S ehlo), (S starttls), (S ehlo), (S quit)
            $r.op | Should -Be @('connect', 'ehlo', 'starttls', 'ehlo', 'quit') -Because ($r | ConvertTo-Json)
            $r[0].code | Should -Be 220
            $r[0].text | Should -Be 'peer.example.test ESMTP SmtpAuthTroubleshooter nodemailer test peer'
            $before = Get-EhloKeywords $r[1]
            $before | Should -Contain 'STARTTLS'
            @($before | Where-Object { $_ -like 'AUTH*' }) | Should -BeNullOrEmpty
            $r[2].code | Should -Be 220
            $r[2].text | Should -Be 'Ready to start TLS'
            $r[3].tls | Should -BeTrue
            $after = Get-EhloKeywords $r[3]
            $after | Should -Not -Contain 'STARTTLS'
            @($after | Where-Object { $_ -like 'AUTH*' }) | Should -Be @('AUTH XOAUTH2 PLAIN LOGIN')
            $r[4].code | Should -Be 221
        }

        It 'BasePort+1 advertises only PLAIN, after TLS' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.plainOnlyPort -Steps (S ehlo), (S starttls), (S ehlo)
            $r.op | Should -Be @('connect', 'ehlo', 'starttls', 'ehlo') -Because ($r | ConvertTo-Json)
            Get-EhloKeywords $r[1] | Should -Contain 'STARTTLS'
            @(Get-EhloKeywords $r[1] | Where-Object { $_ -like 'AUTH*' }) | Should -BeNullOrEmpty
            @(Get-EhloKeywords $r[3] | Where-Object { $_ -like 'AUTH*' }) | Should -Be @('AUTH PLAIN')
        }

        It 'BasePort+3 advertises PLAIN LOGIN and no XOAUTH2, after TLS' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.noOAuthPort -Steps (S ehlo), (S starttls), (S ehlo)
            $r.op | Should -Be @('connect', 'ehlo', 'starttls', 'ehlo') -Because ($r | ConvertTo-Json)
            @(Get-EhloKeywords $r[1] | Where-Object { $_ -like 'AUTH*' }) | Should -BeNullOrEmpty
            @(Get-EhloKeywords $r[3] | Where-Object { $_ -like 'AUTH*' }) | Should -Be @('AUTH PLAIN LOGIN')
            $r[3].text | Should -Not -Match 'XOAUTH2'
        }

        It 'BasePort+4 advertises only XOAUTH2, after TLS' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.oauthOnlyPort -Steps (S ehlo), (S starttls), (S ehlo)
            $r.op | Should -Be @('connect', 'ehlo', 'starttls', 'ehlo') -Because ($r | ConvertTo-Json)
            @(Get-EhloKeywords $r[1] | Where-Object { $_ -like 'AUTH*' }) | Should -BeNullOrEmpty
            @(Get-EhloKeywords $r[3] | Where-Object { $_ -like 'AUTH*' }) | Should -Be @('AUTH XOAUTH2')
        }

        It 'BasePort+2 speaks TLS on connect and advertises PLAIN LOGIN, no STARTTLS' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.implicitTlsPort -ImplicitTls -Steps (S ehlo), (S quit)
            $r.op | Should -Be @('connect', 'ehlo', 'quit') -Because ($r | ConvertTo-Json)
            $r[0].tls | Should -BeTrue
            $r[0].code | Should -Be 220
            $kw = Get-EhloKeywords $r[1]
            $kw | Should -Not -Contain 'STARTTLS'
            @($kw | Where-Object { $_ -like 'AUTH*' }) | Should -Be @('AUTH PLAIN LOGIN')
        }

        It 'answers AUTH before STARTTLS with 500 (AUTH is disabled until TLS) and MAIL with 530' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $blob = Get-PlainBlob 'dave' $script:Peer.users['dave']
            $r = Invoke-Smtp -Port $script:Peer.startTlsPort -Steps (S ehlo), (S send "AUTH PLAIN $blob"), (S send 'AUTH LOGIN'), (S send 'MAIL FROM:<dave@example.test>'), (S quit)
            $r[2].code | Should -Be 500 -Because ($r | ConvertTo-Json)
            $r[2].text | Should -Be 'Error: command not recognized'
            $r[3].code | Should -Be 500
            $r[4].code | Should -Be 530
            $r[4].text | Should -Be 'Error: authentication Required'
        }
    }

    Context 'password mechanisms' {
        It 'AUTH PLAIN succeeds for <_> on BasePort+0 (swaks)' -ForEach @('dave', 'user@example.test', 'contoso-acs.11111111-2222-3333-4444-555555555555.66666666-7777-8888-9999-000000000000') {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.users[$_] -Arguments @(
                '--tls', '--auth', 'PLAIN', '--auth-user', $_, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match 'TLS started'
            $r.Output | Should -Match '<~  235 Authentication successful'
        }

        It 'AUTH PLAIN succeeds for <_> on BasePort+1 (smtplib)' -ForEach @('dave', 'user@example.test', 'contoso-acs.11111111-2222-3333-4444-555555555555.66666666-7777-8888-9999-000000000000') {
            if (Skip-IfUnavailable -Needs python3) { return }
            $blob = Get-PlainBlob $_ $script:Peer.users[$_]
            $r = Invoke-Smtp -Port $script:Peer.plainOnlyPort -Steps (S ehlo), (S starttls), (S ehlo), (S send "AUTH PLAIN $blob"), (S quit)
            $r[4].code | Should -Be 235 -Because ($r | ConvertTo-Json)
            $r[4].text | Should -Be 'Authentication successful'
        }

        It 'refuses AUTH LOGIN on the PLAIN-only port BasePort+1 with 504' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.plainOnlyPort -Steps (S ehlo), (S starttls), (S ehlo), (S send 'AUTH LOGIN'), (S quit)
            $r[4].code | Should -Be 504 -Because ($r | ConvertTo-Json)
            $r[4].text | Should -Be 'Error: Unrecognized authentication type'
        }

        It 'answers a wrong password with 535 (swaks, AUTH PLAIN)' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password 'definitely-wrong-password' -Arguments @(
                '--tls', '--auth', 'PLAIN', '--auth-user', 'dave', '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 28 -Because $r.Output   # swaks: error in AUTH transaction
            $r.Output | Should -Match '<~\*? +535 Error: Authentication credentials invalid'
        }

        It 'answers a wrong password with 535 (smtplib, AUTH LOGIN on BasePort+3) and an unknown user too' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.noOAuthPort -Steps (S ehlo), (S starttls), (S ehlo),
                (S send 'AUTH LOGIN'), (S send (ConvertTo-Base64 'user@example.test')), (S send (ConvertTo-Base64 'not-the-password')),
                (S send "AUTH PLAIN $(Get-PlainBlob 'nobody@example.test' $script:Peer.users['dave'])"), (S quit)
            $r[4].code | Should -Be 334 -Because ($r | ConvertTo-Json)
            $r[4].text | Should -Be 'VXNlcm5hbWU6'
            $r[5].code | Should -Be 334
            $r[5].text | Should -Be 'UGFzc3dvcmQ6'
            $r[6].code | Should -Be 535
            $r[6].text | Should -Be 'Error: Authentication credentials invalid'
            $r[7].code | Should -Be 535
        }

        It 'accepts mail from an authenticated client, discards it and counts it in the events log' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.startTlsPort -Password $script:Peer.users['dave'] -Arguments @(
                '--tls', '--auth', 'LOGIN', '--auth-user', 'dave', '--from', 'dave@example.test', '--to', 'someone@elsewhere.example')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match '<~  250 OK: message discarded by the test peer'
            $m = @(Get-Events | Where-Object event -EQ 'message')
            $m.Count | Should -BeGreaterThan 0
            $m[-1].accepted | Should -BeTrue
            $m[-1].user | Should -Be 'dave'
            $m[-1].port | Should -Be $script:Peer.startTlsPort
        }

        It 'refuses MAIL after STARTTLS without AUTH with 530' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $r = Invoke-Smtp -Port $script:Peer.startTlsPort -Steps (S ehlo), (S starttls), (S ehlo), (S send 'MAIL FROM:<dave@example.test>'), (S quit)
            $r[4].code | Should -Be 530 -Because ($r | ConvertTo-Json)
            $r[4].text | Should -Be 'Error: authentication Required'
        }

        It 'AUTH LOGIN succeeds over implicit TLS on BasePort+2 (swaks --tlsc)' {
            if (Skip-IfUnavailable -Needs swaks) { return }
            $r = Invoke-Swaks -Port $script:Peer.implicitTlsPort -Password $script:Peer.users[$script:AcsUser] -Arguments @(
                '--tlsc', '--auth', 'LOGIN', '--auth-user', $script:AcsUser, '--quit-after', 'AUTH')
            $r.ExitCode | Should -Be 0 -Because $r.Output
            Assert-SwaksBannerInsideTls $r.Output
            $r.Output | Should -Match '<~  235 Authentication successful'
        }
    }

    Context 'XOAUTH2' {
        It 'accepts the right user and token on BasePort+0' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $blob = Get-XOAuth2Blob $script:Peer.oauthUser $script:Peer.token
            $r = Invoke-Smtp -Port $script:Peer.startTlsPort -Steps (S ehlo), (S starttls), (S ehlo), (S send "AUTH XOAUTH2 $blob"), (S quit)
            $r[4].code | Should -Be 235 -Because ($r | ConvertTo-Json)
            $r[4].text | Should -Be 'Authentication successful'
        }

        It 'refuses a wrong token with a 334 base64-JSON challenge, then 535' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $blob = Get-XOAuth2Blob $script:Peer.oauthUser ('nmpeer.' + ('x' * 48))
            $r = Invoke-Smtp -Port $script:Peer.startTlsPort -Steps (S ehlo), (S starttls), (S ehlo), (S send "AUTH XOAUTH2 $blob"), (S send ''), (S quit)
            $r[4].code | Should -Be 334 -Because ($r | ConvertTo-Json)
            $challenge = [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($r[4].text)) | ConvertFrom-Json
            $challenge.status | Should -Be '401'
            $challenge.schemes | Should -Be 'bearer'
            $r[5].code | Should -Be 535
            $r[5].text | Should -Be 'Error: Username and Password not accepted'
        }

        It 'refuses the right token for another user' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $blob = Get-XOAuth2Blob 'dave' $script:Peer.token
            $r = Invoke-Smtp -Port $script:Peer.oauthOnlyPort -Steps (S ehlo), (S starttls), (S ehlo), (S send "AUTH XOAUTH2 $blob"), (S send ''), (S quit)
            $r[4].code | Should -Be 334 -Because ($r | ConvertTo-Json)
            $r[5].code | Should -Be 535
        }

        It 'BasePort+3 refuses AUTH XOAUTH2 with 504' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $blob = Get-XOAuth2Blob $script:Peer.oauthUser $script:Peer.token
            $r = Invoke-Smtp -Port $script:Peer.noOAuthPort -Steps (S ehlo), (S starttls), (S ehlo), (S send "AUTH XOAUTH2 $blob"), (S quit)
            $r[4].code | Should -Be 504 -Because ($r | ConvertTo-Json)
            $r[4].text | Should -Be 'Error: Unrecognized authentication type'
        }

        It 'BasePort+4 accepts XOAUTH2 and refuses AUTH PLAIN with 504' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $plain = Get-PlainBlob 'user@example.test' $script:Peer.users['user@example.test']
            $oauth = Get-XOAuth2Blob $script:Peer.oauthUser $script:Peer.token
            $r = Invoke-Smtp -Port $script:Peer.oauthOnlyPort -Steps (S ehlo), (S starttls), (S ehlo), (S send "AUTH PLAIN $plain"), (S send "AUTH XOAUTH2 $oauth"), (S quit)
            $r[4].code | Should -Be 504 -Because ($r | ConvertTo-Json)
            $r[5].code | Should -Be 235
        }
    }

    Context 'silent port (BasePort+5)' {
        It 'accepts the TCP connection and sends nothing within 3 s' {
            if (Skip-IfUnavailable) { return }
            $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
            try {
                $client.ConnectAsync([System.Net.IPAddress]::Loopback, $script:Peer.silentPort).Wait(3000) | Should -BeTrue
                $buf = [byte[]]::new(64)
                $read = $client.GetStream().ReadAsync($buf, 0, $buf.Length)
                $read.Wait(3000) | Should -BeFalse -Because 'the silent port must neither send a byte nor close the connection'
            }
            finally { $client.Dispose() }
        }
    }

    Context 'TLS' {
        It 'serves the certificate from peer.json over TLS 1.2+, valid for localhost and 127.0.0.1 except for trust' {
            if (Skip-IfUnavailable) { return }
            Assert-PeerCertificate -Port $script:Peer.implicitTlsPort -Thumbprint $script:Peer.certificateThumbprint   # banner matches '^220 '
        }
    }

    Context 'events log and secrecy' {
        It 'has one JSON object per line with time, port, session and event' {
            if (Skip-IfUnavailable) { return }
            $events = Get-Events
            $events.Count | Should -BeGreaterThan 20
            foreach ($e in $events) {
                @($e.PSObject.Properties.Name)[0..3] | Should -Be @('time', 'port', 'session', 'event')
                $e.event | Should -BeIn @('listening', 'connect', 'tls', 'command', 'reply', 'auth', 'message', 'close')
            }
            @($events | Where-Object event -EQ 'connect' | Where-Object port -EQ $script:Peer.silentPort).Count | Should -BeGreaterThan 0
        }

        It 'records AUTH commands by mechanism name only, and every AUTH outcome' {
            if (Skip-IfUnavailable -Needs python3) { return }
            $events = Get-Events
            $auth = @($events | Where-Object { $_.event -eq 'command' -and $_.verb -eq 'AUTH' })
            $auth.mechanism | Should -Contain 'XOAUTH2'
            $auth.mechanism | Should -Contain 'PLAIN'
            $auth.mechanism | Should -Contain 'LOGIN'
            foreach ($e in @($events | Where-Object event -EQ 'command')) {
                $names = @($e.PSObject.Properties.Name)
                $extra = @($names | Where-Object { $_ -notin 'time', 'port', 'session', 'event', 'verb', 'mechanism' })
                $extra | Should -BeNullOrEmpty
                $e.verb | Should -Match '^([A-Z]{4,8}|\?)$'
            }
            $outcomes = @($events | Where-Object event -EQ 'auth')
            @($outcomes | Where-Object { $_.method -eq 'XOAUTH2' -and $_.ok -eq $true -and $_.username -eq 'user@example.test' }).Count | Should -BeGreaterThan 0
            @($outcomes | Where-Object { $_.method -eq 'XOAUTH2' -and $_.ok -eq $false }).Count | Should -BeGreaterThan 0
            @($outcomes | Where-Object { $_.method -eq 'PLAIN' -and $_.ok -eq $true -and $_.username -eq $script:AcsUser }).Count | Should -BeGreaterThan 0
            @($outcomes | Where-Object { $_.method -eq 'LOGIN' -and $_.ok -eq $false }).Count | Should -BeGreaterThan 0
            @($events | Where-Object { $_.event -eq 'reply' -and $_.code -eq 504 }).Count | Should -BeGreaterThan 0
        }

        It 'never writes a password, the token or a sent credential blob to any log file' {
            if (Skip-IfUnavailable) { return }
            $secrets = Get-Secrets
            $secrets.Count | Should -BeGreaterThan 10
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
        It 'stops the node process and removes the work directory' {
            if (Skip-IfUnavailable) { return }
            & (Join-Path $PSScriptRoot 'Stop-NodemailerPeer.ps1') -WorkDirectory $script:PeerDir 3>&1 | Should -BeNullOrEmpty -Because 'no warnings'
            @(Get-PeerProcesses) | Should -BeNullOrEmpty
            $stat = Get-Content -LiteralPath "/proc/$($script:Peer.pid)/stat" -Raw -ErrorAction SilentlyContinue
            if ($stat) { $stat.Substring($stat.LastIndexOf(')') + 2, 1) | Should -BeIn 'Z', 'X' -Because 'node must be gone (at most a zombie init has not reaped yet)' }
            Test-Path -LiteralPath $script:PeerDir | Should -Be ($env:NODEMAILER_PEER_KEEP -eq '1')
            foreach ($p in 'startTlsPort', 'silentPort') {
                $client = [System.Net.Sockets.TcpClient]::new([System.Net.Sockets.AddressFamily]::InterNetwork)
                try { { $client.Connect([System.Net.IPAddress]::Loopback, $script:Peer.$p) } | Should -Throw }
                finally { $client.Dispose() }
            }
        }

        It 'is idempotent and never throws' {
            & (Join-Path $PSScriptRoot 'Stop-NodemailerPeer.ps1') -WorkDirectory $script:PeerDir 3>&1 | Should -BeNullOrEmpty
            { & (Join-Path $PSScriptRoot 'Stop-NodemailerPeer.ps1') -WorkDirectory '/nonexistent/nodemailer-peer' } | Should -Not -Throw
        }
    }
}
