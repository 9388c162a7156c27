#requires -Modules Pester
# Test-SmtpAuth against a misbehaving SMTP server (issue 6). The emulator runs with --misbehave <mode>
# (tests/SmtpAuthTroubleshooter.ExoEmulator/README.md, "Misbehaving server"); for every mode the probe must return
# one result (no error record, no exception), say where and why it stopped, never send credentials without TLS,
# keep its transcript within its bound and its memory small, and end within its time limit.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/emulator.ps1"
    Import-Module $script:ModuleManifest -Force

    $script:TimeoutSec = 3
    $script:Credential = New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!'
    # 64 KB transcript plus room for the truncation marker.
    $script:MaxTranscript = 65536 + 64
    # A bound, not a benchmark: a probe that reads a 100 MB reply into memory allocates far more than this.
    $script:MaxAllocatedBytes = 64MB
    $script:Observed = [System.Collections.Generic.List[object]]::new()

    function Invoke-FaultProbe {
        param([int] $Port, [string] $Mode)
        $errors = $null
        $before = [GC]::GetTotalAllocatedBytes($true)
        $results = @(Test-SmtpAuth -Credential $script:Credential -Server 127.0.0.1 -Port $Port -SkipCertificateCheck -TimeoutSec $script:TimeoutSec `
                -WarningAction SilentlyContinue -ErrorAction SilentlyContinue -ErrorVariable errors)
        $allocated = [GC]::GetTotalAllocatedBytes($true) - $before
        if ($results.Count -eq 1) {
            $r = $results[0]
            $script:Observed.Add([pscustomobject]@{
                    Mode = $Mode; FailedPhase = $r.FailedPhase; DurationMs = $r.DurationMs; TlsProtocol = $r.TlsProtocol
                    AuthSent = [bool]($r.Transcript -match '(?m)^C: AUTH'); TranscriptChars = $r.Transcript.Length
                    AllocatedKB = [long]($allocated / 1KB); Message = $r.Message
                })
        }
        [pscustomobject]@{ Results = $results; Errors = @($errors); Allocated = $allocated }
    }

    function Assert-FaultResult {
        param($Probe, [string] $Phase, [string] $MessagePattern)
        $Probe.Errors.Count | Should -Be 0 -Because 'a misbehaving server is a result, not an error record'
        $Probe.Results.Count | Should -Be 1
        $r = $Probe.Results[0]
        $r.PSObject.TypeNames[0] | Should -BeExactly 'SmtpAuthTroubleshooter.SmtpAuthTestResult'
        $r.Succeeded | Should -BeFalse
        $r.FailedPhase | Should -Be $Phase
        $r.Message | Should -Match $MessagePattern
        if (-not $r.TlsProtocol) {
            $r.Transcript | Should -Not -Match '(?m)^C: AUTH' -Because 'credentials are never sent before TLS is established'
        }
        $r.Transcript.Length | Should -BeLessOrEqual $script:MaxTranscript
        $r.DurationMs | Should -BeLessThan (3 * $script:TimeoutSec * 1000) -Because 'the probe ends within its time limit'
        $Probe.Allocated | Should -BeLessThan $script:MaxAllocatedBytes -Because 'the probe does not buffer what the server floods it with'
    }
}

AfterAll {
    if ($script:Observed.Count) {
        Write-Host ("Observed against the misbehaving server (-TimeoutSec {0}):" -f $script:TimeoutSec)
        foreach ($o in $script:Observed) {
            Write-Host ("  {0,-27} {1,-9} {2,5} ms  AUTH sent: {3,-5}  transcript {4,5} chars  allocated {5,6} KB  {6}" -f
                $o.Mode, $o.FailedPhase, $o.DurationMs, $o.AuthSent, $o.TranscriptChars, $o.AllocatedKB, $o.Message)
        }
    }
}

Describe 'Test-SmtpAuth against a misbehaving SMTP server' -Tag Faults {
    It '<Mode>: one result, FailedPhase <Phase>, within the time limit, no credentials without TLS' -ForEach @(
        @{ Mode = 'no-banner'; Phase = 'Banner'; Message = '^Connected to 127\.0\.0\.1:\d+ \(the port answered\), but the service there sent no SMTP greeting in 3 s' }
        @{ Mode = 'close-mid-ehlo'; Phase = 'Ehlo'; Message = "closed the connection during Ehlo.*incomplete.*no final line.*'250-SIZE'" }
        @{ Mode = 'endless-multiline'; Phase = 'Ehlo'; Message = 'timed out after 3 s during Ehlo\. .*\d+ continuation line\(s\).*no final line' }
        @{ Mode = 'huge-reply'; Phase = 'Ehlo'; Message = 'reply during Ehlo exceeded \d+ bytes.*stopped reading' }
        @{ Mode = 'bad-codes'; Phase = 'Ehlo'; Message = "Unable to parse status code.*'abc not a code'" }
        @{ Mode = 'starttls-plaintext'; Phase = 'Tls'; Message = 'TLS handshake failed before the server presented a certificate.*did not answer with TLS.*not sent' }
        @{ Mode = 'tls-stall'; Phase = 'Tls'; Message = '^The operation timed out after 3 s during Tls\.$' }
        @{ Mode = 'auth-loop'; Phase = 'Auth'; Message = 'kept answering AUTH with 334 challenges' }
        @{ Mode = 'drip'; Phase = 'Banner'; Message = "timed out after 3 s during Banner\. .*part of a line.*'2" }
    ) {
        $emulator = Start-ExoEmulator -ExtraArgs @('--misbehave', $Mode)
        try {
            { $script:probe = Invoke-FaultProbe -Port $emulator.Port -Mode $Mode } | Should -Not -Throw
            Assert-FaultResult $script:probe -Phase $Phase -MessagePattern $Message
            $r = $script:probe.Results[0]
            switch ($Mode) {
                'bad-codes' { $r.ReplyCode | Should -Be 999 }
                'starttls-plaintext' { $r.CertificateSubject | Should -BeNullOrEmpty }
                'auth-loop' {
                    # TLS was up, so AUTH was allowed; the exchange was cut at the challenge limit, not at the time limit.
                    $r.TlsProtocol | Should -Not -BeNullOrEmpty
                    $r.Transcript | Should -Match '(?m)^C: AUTH LOGIN$'
                    $r.Transcript | Should -Not -Match 'Demo-Healthy'
                    $r.DurationMs | Should -BeLessThan ($script:TimeoutSec * 1000)
                }
            }
        }
        finally { Stop-ExoEmulator $emulator }
    }

    It 'downgrade: the second connection loses STARTTLS, and the probe stops at StartTls without sending credentials' {
        $emulator = Start-ExoEmulator -ExtraArgs @('--misbehave', 'downgrade', '--log')
        try {
            $first = Invoke-FaultProbe -Port $emulator.Port -Mode 'downgrade (1st connection)'
            $first.Results.Count | Should -Be 1
            $first.Results[0].Succeeded | Should -BeTrue
            $first.Results[0].StartTlsOffered | Should -BeTrue

            { $script:probe = Invoke-FaultProbe -Port $emulator.Port -Mode 'downgrade (2nd connection)' } | Should -Not -Throw
            Assert-FaultResult $script:probe -Phase 'StartTls' -MessagePattern 'does not support the STARTTLS extension.*credentials were not sent'
            $r = $script:probe.Results[0]
            $r.StartTlsOffered | Should -BeFalse
            $r.AuthMechanismsBeforeTls | Should -BeExactly 'LOGIN PLAIN'
            $r.TlsProtocol | Should -BeNullOrEmpty
            @($r | Resolve-SmtpAuthError)[0].CauseId | Should -BeExactly 'StartTlsNotOffered'
        }
        finally { Stop-ExoEmulator $emulator }

        # The server's side: the downgraded session never received an AUTH command.
        $log = $emulator.StdErr.Result -split "`n"
        $stripped = @($log | Where-Object { $_ -match '^\S+ (?<id>[0-9A-F]{16}) \* misbehaving: downgrade \(STARTTLS stripped' } | ForEach-Object { ($_ -split ' ')[1] })
        $stripped.Count | Should -Be 1
        @($log | Where-Object { $_ -match "^\S+ $($stripped[0]) C: AUTH" }).Count | Should -Be 0
        @($log | Where-Object { $_ -match '^\S+ [0-9A-F]{16} C: AUTH LOGIN' }).Count | Should -Be 1 -Because 'only the first, TLS-protected session authenticated'
    }
}
