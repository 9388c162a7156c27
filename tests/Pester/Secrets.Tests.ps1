#requires -Modules Pester
# Issue 3 (and the mission's rule): no password, token, or their base64 and SASL forms in any output stream, the
# result, its CSV, JSON or CLIXML export, or a transcript. Token claims may appear; the token never does.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/emulator.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:Emu = Start-ExoEmulator
    $script:Common = @{ Server = '127.0.0.1'; Port = $script:Emu.Port; SkipCertificateCheck = $true; TimeoutSec = 20 }

    function ConvertTo-B64([string] $Text) { [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($Text)) }

    function Get-SecretForms([string] $User, [string] $Secret, [switch] $Token) {
        $forms = @($Secret, (ConvertTo-B64 $Secret), (ConvertTo-B64 "`0$User`0$Secret"), (ConvertTo-B64 "$User`0$User`0$Secret"))
        if ($Token) {
            $forms += ConvertTo-B64 "user=$User`u{1}auth=Bearer $Secret`u{1}`u{1}"
            $forms += ($Secret -split '\.')[-1]   # the signature part alone
        }
        $forms
    }

    # Runs a command with -Verbose -Debug inside a transcript and returns every text it left behind.
    function Invoke-Captured([scriptblock] $Command) {
        $dir = Join-Path $TestDrive ([guid]::NewGuid())
        $null = New-Item -ItemType Directory $dir
        $transcript = Join-Path $dir 'transcript.txt'
        $null = Start-Transcript -Path $transcript
        try {
            $DebugPreference = 'Continue'; $VerbosePreference = 'Continue'; $InformationPreference = 'Continue'
            $all = & $Command *>&1
        }
        finally { $null = Stop-Transcript }
        $results = @($all | Where-Object { $_ -is [SmtpAuthTroubleshooter.SmtpAuthTestResult] -or $_ -is [SmtpAuthTroubleshooter.SmtpAuthPolicyState] })
        $findings = @($results | Resolve-SmtpAuthError -Verbose *>&1)
        $results | Export-Csv (Join-Path $dir 'r.csv') -NoTypeInformation
        $results | Export-Clixml (Join-Path $dir 'r.xml')
        $texts = @(
            ($all | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { $_.ToString(); $_.Exception.ToString(); $_.ScriptStackTrace; $_.ErrorDetails } else { $_ | Out-String } }) -join "`n"
            ($findings | Out-String)
            ($results | ConvertTo-Json -Depth 10)
            ($results | Format-List * | Out-String)
            (Get-Content -Raw (Join-Path $dir 'r.csv'))
            (Get-Content -Raw (Join-Path $dir 'r.xml'))
            (Get-Content -Raw $transcript)
        )
        [pscustomobject]@{ Text = $texts -join "`n"; Results = $results; All = $all }
    }
}

AfterAll { Stop-ExoEmulator $script:Emu }

Describe 'Secrets never appear' -Tag Secrets {
    It 'basic auth, <Case>: no password in any stream, export or transcript' -ForEach @(
        @{ Case = 'success with a test message'; User = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; Extra = @{ SendTestMessage = $true; Confirm = $false } }
        @{ Case = 'wrong password'; User = 'wrong.password@contoso.com'; Password = 'Wr0ng-Secret-Value-77'; Extra = @{} }
        @{ Case = 'AUTH PLAIN refused'; User = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; Extra = @{ Mechanism = 'Plain' } }
        @{ Case = 'TLS refused, credentials withheld'; User = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; Extra = @{ TlsMode = 'None' } }
    ) {
        $cred = New-TestCredential $User $Password
        $common = $script:Common
        $captured = Invoke-Captured { Test-SmtpAuth -Credential $cred @common @Extra }
        $captured.Results.Count | Should -Be 1
        $captured.Text | Should -Match ([regex]::Escape($User)) -Because 'the capture must contain the run'
        foreach ($form in Get-SecretForms $User $Password) {
            $captured.Text.Contains($form) | Should -BeFalse -Because "'$($form.Substring(0, [Math]::Min(6, $form.Length)))…' must not leak"
        }
    }

    It 'OAuth, <Case>: no token in any stream, export or transcript; claims may appear' -ForEach @(
        @{ Case = 'success'; User = 'notifications@contoso.com'; Token = @{ App = 'b1000000-0000-4000-8000-000000000001' } }
        @{ Case = 'wrong audience'; User = 'notifications@contoso.com'; Token = @{ App = 'b1000000-0000-4000-8000-000000000001'; Audience = 'https://graph.microsoft.com' } }
        @{ Case = 'unregistered app'; User = 'notifications@contoso.com'; Token = @{ App = 'b1000000-0000-4000-8000-000000000002' } }
    ) {
        $plain = New-TestToken @Token -AsPlainText
        $secure = ConvertTo-SecureString $plain -AsPlainText -Force
        $common = $script:Common
        $captured = Invoke-Captured { Test-SmtpAuth $User -AccessToken $secure @common }
        $captured.Results[0].TokenAudience | Should -Not -BeNullOrEmpty
        foreach ($form in Get-SecretForms $User $plain -Token) {
            $captured.Text.Contains($form) | Should -BeFalse -Because "'$($form.Substring(0, 6))…' must not leak"
        }
    }

    It 'a Graph access token given to Get-SmtpAuthPolicyState does not leak' {
        . "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
        $saved = $env:PSModulePath
        Import-EmulatedTenantModules
        $graph = Start-GraphEmulator -Scenario 'demo-tenant.json'
        Connect-ExchangeOnline -ScenarioPath (Resolve-ScenarioPath 'demo-tenant.json') -ShowBanner:$false
        try {
            $tokenText = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.Graph-Token-Never-Shown.c2lnbmF0dXJlLXZhbHVl'
            $secure = ConvertTo-SecureString $tokenText -AsPlainText -Force
            $base = $graph.BaseUri
            $captured = Invoke-Captured { Get-SmtpAuthPolicyState ca.blocked@contoso.com, nobody@contoso.com -GraphAccessToken $secure -GraphBaseUri $base -ClientId 'b1000000-0000-4000-8000-000000000001' -ErrorAction Continue }
            $captured.Results.Count | Should -Be 1
            $captured.Text | Should -Match 'ca\.blocked@contoso\.com'
            foreach ($form in @($tokenText, (ConvertTo-B64 $tokenText), 'Graph-Token-Never-Shown', 'Bearer eyJ')) {
                $captured.Text.Contains($form) | Should -BeFalse -Because "'$($form.Substring(0, 6))…' must not leak"
            }
        }
        finally {
            Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
            Stop-GraphEmulator $graph
            Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
            $env:PSModulePath = $saved
        }
    }

    It 'a certificate whose token request fails does not leak its private key' {
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=smtpauth-secrets-test', $rsa, 'SHA256', [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $cert = $request.CreateSelfSigned([datetimeoffset]::UtcNow.AddMinutes(-5), [datetimeoffset]::UtcNow.AddHours(1))
        $keyForms = @(
            [Convert]::ToBase64String($rsa.ExportRSAPrivateKey()),
            [Convert]::ToBase64String($rsa.ExportPkcs8PrivateKey()),
            [Convert]::ToBase64String($cert.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pfx))
        ) | ForEach-Object { $_.Substring(40, 40) }
        $common = $script:Common
        $captured = Invoke-Captured { Test-SmtpAuth notifications@contoso.com -TenantId '00000000-0000-0000-0000-000000000001' -ClientId 'b1000000-0000-4000-8000-000000000001' -Certificate $cert -AuthorityHost 'https://127.0.0.1:1/' @common }
        $captured.Results[0].FailedPhase | Should -Be 'Token'
        foreach ($form in $keyForms) { $captured.Text.Contains($form) | Should -BeFalse }
    }

    It 'a client secret that fails to get a token does not leak' {
        $secretText = 'Cl1ent-Secret-Never-Shown-42'
        $secret = ConvertTo-SecureString $secretText -AsPlainText -Force
        $common = $script:Common
        $captured = Invoke-Captured { Test-SmtpAuth notifications@contoso.com -TenantId '00000000-0000-0000-0000-000000000001' -ClientId 'b1000000-0000-4000-8000-000000000001' -ClientSecret $secret -AuthorityHost 'https://127.0.0.1:1/' @common }
        $captured.Results[0].FailedPhase | Should -Be 'Token'
        foreach ($form in @($secretText, (ConvertTo-B64 $secretText), [uri]::EscapeDataString($secretText))) {
            $captured.Text.Contains($form) | Should -BeFalse
        }
    }
}
