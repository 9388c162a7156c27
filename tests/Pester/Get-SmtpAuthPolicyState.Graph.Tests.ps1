#requires -Modules Pester
# Issue 11, the Graph part, against the Graph emulator and the Microsoft.Graph.Authentication stand-in: one retry layer
# for both ways in (-GraphAccessToken over HTTP, and the Connect-MgGraph session through Invoke-MgGraphRequest);
# throttling ends in Unknown fields with the reason, never in a terminating error; the circuit opens on no response only;
# -UseManagedIdentity against the emulator's identity endpoint; a failed -GraphCertificate sign-in is one ErrorRecord.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
    $script:OriginalModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    Import-Module $script:ModuleManifest -Force
    $script:Token = ConvertTo-SecureString 'emulator-accepts-any-bearer' -AsPlainText -Force
    $script:Ids = 'ca.blocked@contoso.com', 'healthy.basic@contoso.com', 'tenant.inherit@contoso.com'
    $script:Fqid = 'GraphAuthenticationFailed,SmtpAuthTroubleshooter.Commands.GetSmtpAuthPolicyStateCommand'

    function Connect-Emulated([string[]] $GraphArgs = @(), [int] $StandInMaxRetry = 0) {
        $graph = Start-GraphEmulator -Scenario 'demo-tenant.json' -ExtraArgs $GraphArgs
        Connect-ExchangeOnline -ScenarioPath (Resolve-ScenarioPath 'demo-tenant.json') -ShowBanner:$false
        $null = Connect-MgGraph -GraphBaseUri $graph.BaseUri -NoWelcome -StandInMaxRetry $StandInMaxRetry
        Reset-ExoStandIn
        $graph
    }
    function Disconnect-Emulated($Graph) {
        Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
        Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null
        Stop-GraphEmulator $Graph
    }
    function Get-EmulatorStats($Graph) { Invoke-RestMethod -Uri ($Graph.BaseUri + '_emulator/stats') }
    function New-AppCertificate {
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=smtpauth-graph-test', $rsa, 'SHA256', [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $cert = $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddMinutes(-5), [DateTimeOffset]::UtcNow.AddHours(1))
        [System.Security.Cryptography.X509Certificates.X509CertificateLoader]::LoadPkcs12($cert.Export('Pfx'), $null)
    }
}

AfterAll {
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
    $env:PSModulePath = $script:OriginalModulePath
}

Describe 'Get-SmtpAuthPolicyState under Graph throttling, over HTTP (-GraphAccessToken)' -Tag Graph {
    It 'completes when four 429 answers with Retry-After 1 come first (once "Too many retries performed")' {
        $graph = Connect-Emulated @('--throttle-first', '4', '--retry-after', '1')
        try {
            $s = Get-SmtpAuthPolicyState ca.blocked@contoso.com -GraphAccessToken $script:Token -GraphBaseUri $graph.BaseUri -ErrorVariable err -WarningVariable w -WarningAction SilentlyContinue
            $err.Count | Should -Be 0
            $s.UserPrincipalName | Should -BeExactly 'ca.blocked@contoso.com'
            $s.UnknownReasons | Should -BeNullOrEmpty
            $s.SecurityDefaultsEnabled | Should -Not -BeNullOrEmpty
            (Get-EmulatorStats $graph).throttled | Should -Be 4
        }
        finally { Disconnect-Emulated $graph }
    }

    It 'leaves the sign-in fields Unknown with the reason when one read stays throttled; the rest is read, nothing throws' {
        $graph = Connect-Emulated @('--throttle-path', 'auditLogs/signIns', '--retry-after', '1')
        try {
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            $s = @(Get-SmtpAuthPolicyState $script:Ids -GraphAccessToken $script:Token -GraphBaseUri $graph.BaseUri -ErrorVariable err -WarningVariable w -WarningAction SilentlyContinue)
            $watch.Stop()
            $err.Count | Should -Be 0
            $s.Count | Should -Be 3
            foreach ($state in $s) {
                $state.UnknownReasons | Should -Match 'Sign-in log: Microsoft Graph throttled the read \(429\) and 4 retries over 4 s did not get through'
                $state.LastSmtpSignInUtc | Should -BeNullOrEmpty
                $state.AccountEnabled | Should -Be $true
                $state.PerUserMfaState | Should -Not -BeNullOrEmpty
            }
            @($w | Where-Object { "$_" -match 'did not respond' }).Count | Should -Be 0 -Because 'throttling never opens the circuit'
            (Get-EmulatorStats $graph).routes.'GET /v1.0/auditLogs/signIns' | Should -Be 5 -Because 'one read, four retries: one retry layer'
            $watch.Elapsed.TotalSeconds | Should -BeLessThan 30
        }
        finally { Disconnect-Emulated $graph }
    }

    It 'never opens the circuit on sustained 429: every read is tried and answered' {
        $graph = Connect-Emulated @('--throttle-every', '1', '--retry-after', '0')
        try {
            $s = @(Get-SmtpAuthPolicyState $script:Ids -GraphAccessToken $script:Token -GraphBaseUri $graph.BaseUri -ErrorVariable err -WarningVariable w -WarningAction SilentlyContinue)
            $err.Count | Should -Be 0
            $s.Count | Should -Be 3
            @($w | Where-Object { "$_" -match 'did not respond' }).Count | Should -Be 0
            $s | ForEach-Object { $_.UnknownReasons | Should -Match 'throttled the read \(429\)' ; $_.UnknownReasons | Should -Not -Match 'did not respond|no response' }
            ($s | Where-Object { $null -eq $_.SmtpAuthEnabled }) | Should -BeNullOrEmpty -Because 'the Exchange half still stands'
        }
        finally { Disconnect-Emulated $graph }
    }

    It 'waits for a Retry-After longer than the request time-out, then reads' {
        $graph = Connect-Emulated @('--throttle-first', '1', '--retry-after', '3')
        try {
            $out = Get-SmtpAuthPolicyState ca.blocked@contoso.com -GraphAccessToken $script:Token -GraphBaseUri $graph.BaseUri -GraphRequestTimeoutSec 1 -Verbose 4>&1
            $s = @($out | Where-Object { $_ -is [SmtpAuthTroubleshooter.SmtpAuthPolicyState] })
            $s[0].UnknownReasons | Should -BeNullOrEmpty
            $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
            $verbose | Should -Match 'Graph 429 for .*retry 1 of 4 in 3 s'
            $verbose | Should -Not -Match 'no response'
        }
        finally { Disconnect-Emulated $graph }
    }
}

Describe 'Get-SmtpAuthPolicyState under Graph throttling, through the Connect-MgGraph session' -Tag Graph {
    It 'takes the Graph module''s own "Too many retries performed" as a throttled answer: reason, no second retry layer, no circuit, $Error untouched' {
        # The stand-in imitates the SDK's RetryHandler inside Invoke-MgGraphRequest (3 retries, then the exception).
        $graph = Connect-Emulated @('--throttle-path', 'auditLogs/signIns', '--retry-after', '0') -StandInMaxRetry 3
        try {
            $Error.Clear()
            $s = @(Get-SmtpAuthPolicyState $script:Ids -ErrorVariable err -WarningVariable w -WarningAction SilentlyContinue)
            $err.Count | Should -Be 0
            @($Error).Count | Should -Be 0 -Because 'the module''s Invoke-MgGraphRequest calls are made on the admin''s behalf and reported as reasons; their records are not the admin''s errors'
            $s.Count | Should -Be 3
            foreach ($state in $s) {
                $state.UnknownReasons | Should -Match "Sign-in log: Microsoft Graph throttled the read \(429\) and the Microsoft Graph PowerShell module's own retries ran out"
                $state.AccountEnabled | Should -Be $true
            }
            @($w | Where-Object { "$_" -match 'did not respond' }).Count | Should -Be 0
            (Get-EmulatorStats $graph).routes.'GET /v1.0/auditLogs/signIns' | Should -Be 4 -Because 'the module retried 3 times; we did not retry its answer again'
        }
        finally { Disconnect-Emulated $graph }
    }

    It 'stops an Invoke-MgGraphRequest that hangs at the request time-out (cancellation reaches the session), goes on, $Error untouched' {
        $graph = Connect-Emulated @('--hang-path', 'auditLogs/signIns')
        try {
            $Error.Clear()
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            $s = Get-SmtpAuthPolicyState ca.blocked@contoso.com -GraphRequestTimeoutSec 1 -ErrorVariable err -WarningAction SilentlyContinue
            $watch.Stop()
            $err.Count | Should -Be 0
            @($Error).Count | Should -Be 0 -Because 'the stopped request is the module''s own, reported as a reason'
            $s.UnknownReasons | Should -Match 'Sign-in log: no response within 1 s'
            $s.AccountEnabled | Should -Be $true
            $watch.Elapsed.TotalSeconds | Should -BeLessThan 20 -Because 'the hung request is stopped, not waited for (the session''s own time-out is 100 s)'
        }
        finally { Disconnect-Emulated $graph }
    }

    It 'retries a 429 the session returns (no SDK retry in between) under the same policy, and completes' {
        $graph = Connect-Emulated @('--throttle-first', '4', '--retry-after', '1')
        try {
            $s = Get-SmtpAuthPolicyState ca.blocked@contoso.com -GraphRequestTimeoutSec 1 -ErrorVariable err
            $err.Count | Should -Be 0
            $s.UnknownReasons | Should -BeNullOrEmpty
            (Get-EmulatorStats $graph).throttled | Should -Be 4
        }
        finally { Disconnect-Emulated $graph }
    }
}

Describe 'Get-SmtpAuthPolicyState with the permissions Microsoft documents as least privileged' -Tag Graph {
    # https://learn.microsoft.com/graph/api/user-list-transitivememberof takes User.Read.All; a directory role the caller
    # may not read (RoleManagement.Read.Directory, Directory.Read.All) is listed with its @odata.type and id only
    # (https://learn.microsoft.com/graph/permissions-overview#limited-information-returned-for-inaccessible-member-objects).
    It 'leaves the role-targeted Conditional Access unknown with the permission to grant when Graph hides the roles, and evaluates it when it does not' {
        $path = Resolve-ScenarioPath 'directory-tenant.json'
        $s = Get-Content -Raw $path | ConvertFrom-Json -AsHashtable
        $s.tenant.graph = @{ permissionsMissing = @('RoleManagement.Read.Directory', 'Directory.Read.All'); premium = $true }
        $limited = Join-Path $TestDrive 'roles-limited.json'
        $s | ConvertTo-Json -Depth 20 | Set-Content -Path $limited -Encoding utf8
        foreach ($case in @(@{ Scenario = $limited; Hidden = $true }, @{ Scenario = $path; Hidden = $false })) {
            $graph = Start-GraphEmulator -Scenario $case.Scenario
            try {
                Connect-ExchangeOnline -ScenarioPath $case.Scenario -ShowBanner:$false
                $null = Connect-MgGraph -GraphBaseUri $graph.BaseUri -NoWelcome
                Reset-ExoStandIn
                $r = Get-SmtpAuthPolicyState admin@northwindtraders.com
                if ($case.Hidden) {
                    $r.UnknownReasons | Should -Match 'Directory roles: .*RoleManagement\.Read\.Directory'
                    # The admin is excluded from "Block legacy authentication" by role: not knowing the role must not block.
                    $r.BlockingConditionalAccessPolicies | Should -BeNullOrEmpty
                    $r.MfaConditionalAccessPolicies | Should -BeNullOrEmpty
                }
                else {
                    $r.UnknownReasons | Should -Not -Match 'Directory roles'
                    $r.BlockingConditionalAccessPolicies | Should -BeNullOrEmpty
                    $r.MfaConditionalAccessPolicies | Should -Match 'Require MFA for administrators'
                }
            }
            finally {
                Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
                Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null
                Stop-GraphEmulator $graph
            }
        }
    }
}

Describe 'Get-SmtpAuthPolicyState -UseManagedIdentity' -Tag Graph {
    BeforeAll {
        $script:Saved = @{}
        foreach ($k in 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT', 'IDENTITY_SERVER_THUMBPRINT') { $script:Saved[$k] = [Environment]::GetEnvironmentVariable($k) }
    }
    AfterEach {
        foreach ($k in $script:Saved.Keys) { [Environment]::SetEnvironmentVariable($k, $script:Saved[$k]) }
    }

    It 'gets its token from the identity endpoint (IDENTITY_ENDPOINT) for the cloud''s Graph and reads with it (<Environment>)' -ForEach @(
        @{ Environment = 'USGovGCCHigh'; Resource = 'https://graph.microsoft.us' }
        @{ Environment = 'China'; Resource = 'https://microsoftgraph.chinacloudapi.cn' }
    ) {
        $graph = Connect-Emulated
        try {
            $env:IDENTITY_ENDPOINT = $graph.BaseUri + 'msi/token'
            $env:IDENTITY_HEADER = 'pester-identity-header'
            foreach ($k in 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT', 'IDENTITY_SERVER_THUMBPRINT') { [Environment]::SetEnvironmentVariable($k, $null) }
            $out = Get-SmtpAuthPolicyState ca.blocked@contoso.com, healthy.basic@contoso.com -UseManagedIdentity -Environment $Environment -GraphBaseUri $graph.BaseUri -ErrorVariable err -Verbose 4>&1
            $s = @($out | Where-Object { $_ -is [SmtpAuthTroubleshooter.SmtpAuthPolicyState] })
            $err.Count | Should -Be 0
            $s.Count | Should -Be 2
            $s | ForEach-Object { $_.UnknownReasons | Should -BeNullOrEmpty; $_.AccountEnabled | Should -Be $true }
            $stats = Get-EmulatorStats $graph
            @($stats.tokenRequests).Count | Should -Be 1 -Because 'the credential is built once per command and its token reused'
            $stats.tokenRequests[0].resource | Should -BeExactly $Resource
            $stats.tokenRequests[0].headerPresent | Should -Be $true
            $stats.managedIdentityBearerRequests | Should -Be $stats.totalRequests -Because 'every Graph request carried the managed identity''s token'
            ($out | Out-String) | Should -Not -Match 'pester-identity-header|emulator-mi-'
        }
        finally { Disconnect-Emulated $graph }
    }

    It 'an identity that is not assigned: Entra fields Unknown with the reason, one GraphAuthenticationFailed error for the command' {
        # The emulator's identity endpoint answers 400 "not assigned to this resource" for client ids ending in -00000000bad0.
        $graph = Connect-Emulated
        try {
            $env:IDENTITY_ENDPOINT = $graph.BaseUri + 'msi/token'
            $env:IDENTITY_HEADER = 'pester-identity-header'
            foreach ($k in 'MSI_ENDPOINT', 'MSI_SECRET', 'IMDS_ENDPOINT', 'IDENTITY_SERVER_THUMBPRINT') { [Environment]::SetEnvironmentVariable($k, $null) }
            $s = @(Get-SmtpAuthPolicyState $script:Ids -UseManagedIdentity -GraphClientId '00000000-0000-4000-8000-00000000bad0' -GraphBaseUri $graph.BaseUri -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
            $s.Count | Should -Be 3
            @($err).Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeExactly $script:Fqid
            $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
            $err[0].ErrorDetails.RecommendedAction | Should -Match 'managed identity'
            $s | ForEach-Object { $_.UnknownReasons | Should -Match 'Microsoft Graph sign-in with the user-assigned managed identity 00000000-0000-4000-8000-00000000bad0 .*failed: .*not assigned'; $_.AccountEnabled | Should -BeNullOrEmpty }
            $stats = Get-EmulatorStats $graph
            $stats.totalRequests | Should -Be 0 -Because 'no Graph request goes out without a token'
            @($stats.tokenRequests).Count | Should -Be 1 -Because 'a failed sign-in is not tried again for every read'
        }
        finally { Disconnect-Emulated $graph }
    }
}

Describe 'Get-SmtpAuthPolicyState -GraphCertificate' -Tag Graph {
    It 'signs in at the cloud''s authority and, when that fails, leaves the Entra fields Unknown with one error (<Environment>)' -ForEach @(
        @{ Environment = 'USGovGCCHigh'; Authority = 'https://login.microsoftonline.us/' }
        @{ Environment = 'Global'; Authority = 'https://login.microsoftonline.com/' }
    ) {
        # No Entra ID is reachable from the test machines (or the tenant does not exist): either way the sign-in fails.
        $graph = Connect-Emulated
        $cert = New-AppCertificate
        try {
            $out = Get-SmtpAuthPolicyState $script:Ids -GraphCertificate $cert -TenantId '00000000-0000-4000-8000-0000000000f6' -GraphClientId '00000000-0000-4000-8000-0000000000f7' -Environment $Environment -GraphBaseUri $graph.BaseUri -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue -Verbose 4>&1
            $s = @($out | Where-Object { $_ -is [SmtpAuthTroubleshooter.SmtpAuthPolicyState] })
            $s.Count | Should -Be 3
            @($err).Count | Should -Be 1 -Because 'one error for the command, not one per mailbox'
            $err[0].FullyQualifiedErrorId | Should -BeExactly $script:Fqid
            $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
            $err[0].ErrorDetails.RecommendedAction | Should -Match 'certificate'
            $err[0].Exception.Message | Should -Match ([regex]::Escape("signing in at $Authority"))
            $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
            $verbose | Should -Match ([regex]::Escape("signing in at $Authority"))
            $s | ForEach-Object { $_.UnknownReasons | Should -Match 'Microsoft Graph sign-in with the certificate .* failed'; $_.SecurityDefaultsEnabled | Should -BeNullOrEmpty }
            ($s | Where-Object { $null -eq $_.SmtpAuthEnabled }) | Should -BeNullOrEmpty -Because 'the Exchange half still stands'
            (Get-EmulatorStats $graph).totalRequests | Should -Be 0
            $key = [Convert]::ToBase64String([System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($cert).ExportPkcs8PrivateKey())
            ($out | Out-String) + ($err | Out-String) | Should -Not -Match ([regex]::Escape($key.Substring(0, 40)))
        }
        finally { $cert.Dispose(); Disconnect-Emulated $graph }
    }

    It 'stops with GraphCredentialInvalid, not a raw exception, when Azure.Identity refuses the tenant id' {
        $graph = Connect-Emulated
        $cert = New-AppCertificate
        try {
            $e = $null
            try { Get-SmtpAuthPolicyState ca.blocked@contoso.com -GraphCertificate $cert -TenantId 'not a tenant!' -GraphClientId '00000000-0000-4000-8000-0000000000f7' -GraphBaseUri $graph.BaseUri -ErrorAction Stop }
            catch { $e = $_ }
            $e | Should -Not -BeNullOrEmpty
            $e.FullyQualifiedErrorId | Should -BeExactly 'GraphCredentialInvalid,SmtpAuthTroubleshooter.Commands.GetSmtpAuthPolicyStateCommand'
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $e.ErrorDetails.RecommendedAction | Should -Match '-TenantId'
        }
        finally { $cert.Dispose(); Disconnect-Emulated $graph }
    }
}
