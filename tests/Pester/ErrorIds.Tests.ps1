#requires -Modules Pester
# Issue 11 ("Tests that guard"): every ErrorId the module writes is asserted somewhere. These four had no test:
# CertificateNotFound and UserNameEmpty (Test-SmtpAuth), GraphCertificateIncomplete and MailboxListFailed
# (Get-SmtpAuthPolicyState). Each is asserted with its category and target, so that a renamed id, a changed category or
# a terminating error turned non-terminating (or the reverse) fails here.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
    $script:OriginalModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    Import-Module $script:ModuleManifest -Force

    function New-SelfSignedTestCertificate {
        $rsa = [System.Security.Cryptography.RSA]::Create(2048)
        $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=smtpauth-errorids-test', $rsa,
            [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
        $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddMinutes(-5), [DateTimeOffset]::UtcNow.AddHours(1))
    }
}

AfterAll {
    Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
    $env:PSModulePath = $script:OriginalModulePath
}

Describe 'Error ids that had no test' -Tag ErrorIds {
    It 'Test-SmtpAuth: a certificate thumbprint in no store is CertificateNotFound, terminating, before any connection' {
        $thumbprint = '0123456789ABCDEF0123456789ABCDEF01234567'
        $caught = $null
        $output = try {
            Test-SmtpAuth -UserPrincipalName 'app@contoso.com' -TenantId 'contoso.onmicrosoft.com' -ClientId 'b1000000-0000-4000-8000-000000000001' `
                -CertificateThumbprint $thumbprint -Server '127.0.0.1' -Port 9 -TimeoutSec 2
        }
        catch { $caught = $_ }
        $output | Should -BeNullOrEmpty
        $caught | Should -Not -BeNullOrEmpty -Because 'a missing certificate stops the command'
        $caught.FullyQualifiedErrorId | Should -BeExactly 'CertificateNotFound,SmtpAuthTroubleshooter.Commands.TestSmtpAuthCommand'
        $caught.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $caught.TargetObject | Should -BeExactly $thumbprint
        $caught.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'Test-SmtpAuth: a credential without a user name is UserNameEmpty for that item, and nothing is probed' {
        $output = @(Test-SmtpAuth -Credential ([pscredential]::Empty) -Server '127.0.0.1' -Port 9 -TimeoutSec 2 -ErrorVariable err -ErrorAction SilentlyContinue)
        $output.Count | Should -Be 0
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'UserNameEmpty,SmtpAuthTroubleshooter.Commands.TestSmtpAuthCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'Get-SmtpAuthPolicyState: -GraphCertificate without -TenantId or -GraphClientId is GraphCertificateIncomplete, terminating' {
        $certificate = New-SelfSignedTestCertificate
        try {
            foreach ($partial in @(@{ GraphClientId = 'b1000000-0000-4000-8000-000000000001' }, @{ TenantId = 'contoso.onmicrosoft.com' }, @{})) {
                $caught = $null
                try { Get-SmtpAuthPolicyState 'app@contoso.com' -GraphCertificate $certificate @partial } catch { $caught = $_ }
                $caught | Should -Not -BeNullOrEmpty -Because "a certificate needs both the tenant and the app ($($partial.Keys -join ', ') given)"
                $caught.FullyQualifiedErrorId | Should -BeExactly 'GraphCertificateIncomplete,SmtpAuthTroubleshooter.Commands.GetSmtpAuthPolicyStateCommand'
                $caught.CategoryInfo.Category | Should -Be 'InvalidArgument'
                $caught.TargetObject.Thumbprint | Should -BeExactly $certificate.Thumbprint
            }
        }
        finally { $certificate.Dispose() }
    }

    It 'Get-SmtpAuthPolicyState -All: a mailbox list that cannot be read is MailboxListFailed, terminating, with the reason' {
        Connect-ExchangeOnline -ScenarioPath (Resolve-ScenarioPath 'demo-tenant.json') -ShowBanner:$false
        try {
            Reset-ExoStandIn -Confirm:$false
            # The session expires after the first call: the connection check passes, the mailbox list fails.
            Set-ExoStandInFault -ExpireSessionAfter 1 -Confirm:$false
            $caught = $null
            $output = try { @(Get-SmtpAuthPolicyState -All -SkipGraph -WarningAction SilentlyContinue) } catch { $caught = $_ }
            $output | Should -BeNullOrEmpty
            $caught | Should -Not -BeNullOrEmpty -Because 'without the list there is nothing to read'
            $caught.FullyQualifiedErrorId | Should -BeExactly 'MailboxListFailed,SmtpAuthTroubleshooter.Commands.GetSmtpAuthPolicyStateCommand'
            $caught.CategoryInfo.Category | Should -Be 'ReadError'
            "$caught" | Should -Match 'Get-EXOMailbox'
        }
        finally {
            Reset-ExoStandIn -Confirm:$false
            Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
        }
    }
}
