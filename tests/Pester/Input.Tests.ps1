#requires -Modules Pester
# Issue 6, hostile cmdlet input: large pipelines mixing good and bad items. Each bad item is one non-terminating
# ErrorRecord with a stable ErrorId and the item as TargetObject; every good item still produces its object.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/emulator.ps1"
    . "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
    Import-Module $script:ModuleManifest -Force
}

Describe 'Mixed pipelines of 10,000 items' -Tag Faults, Input {
    It 'Resolve-SmtpAuthError: 9,000 good and 1,000 bad items' {
        $bad = @($null, '', '   ', 42, [pscustomobject]@{ Name = 'no error text' })
        $items = foreach ($i in 1..10000) {
            if ($i % 10 -eq 0) { $bad[($i / 10) % $bad.Count] } else { "535 5.7.139 Authentication unsuccessful, account locked. [#$i]" }
        }
        $findings = @($items | Resolve-SmtpAuthError -ErrorVariable err -ErrorAction SilentlyContinue)
        @($findings | Where-Object Rank -eq 1).Count | Should -Be 9000
        $err.Count | Should -Be 1000
        $byId = @{}
        foreach ($e in $err) { $byId[($e.FullyQualifiedErrorId -split ',')[0]]++ }
        $byId['ParameterArgumentValidationError'] | Should -Be 200 -Because '$null fails parameter binding'
        $byId['InputObjectEmpty'] | Should -Be 400 -Because 'empty and white-space strings carry no error text'
        $byId['InputObjectUnsupported'] | Should -Be 400
        $byId.Count | Should -Be 3
        @($err | Where-Object { $_.FullyQualifiedErrorId -like 'InputObjectUnsupported*' -and $_.TargetObject -eq 42 }).Count | Should -Be 200
    }

    It 'Test-SmtpAuth: 9,995 items without a mailbox and 5 good mailboxes' {
        # Any user name the server accepts is probed (issue 9), so a bad item is one that names no mailbox at all:
        # an empty or white-space string, or an object with no UserPrincipalName/PrimarySmtpAddress.
        $emu = Start-ExoEmulator
        try {
            $token = New-TestToken -App 'b1000000-0000-4000-8000-000000000001'
            $items = foreach ($i in 1..10000) {
                if ($i % 2000 -eq 0) { 'notifications@contoso.com' }
                else { switch ($i % 3) { 0 { '' } 1 { '   ' } 2 { [pscustomobject]@{ Index = $i; UserPrincipalName = '' } } } }
            }
            $results = @($items | Test-SmtpAuth -AccessToken $token -Server 127.0.0.1 -Port $emu.Port -SkipCertificateCheck -WarningAction SilentlyContinue -ErrorVariable err -ErrorAction SilentlyContinue)
            $results.Count | Should -Be 5
            @($results | Where-Object Succeeded).Count | Should -Be 5
            $err.Count | Should -Be 9995
            @($err | Where-Object FullyQualifiedErrorId -ne 'UserPrincipalNameMissing,SmtpAuthTroubleshooter.Commands.TestSmtpAuthCommand').Count | Should -Be 0
            $err[0].TargetObject | Should -BeExactly '   '
            @($err | Where-Object { $_.TargetObject.Index -eq 2 }).Count | Should -Be 1
        }
        finally { Stop-ExoEmulator $emu }
    }

    It 'Get-SmtpAuthPolicyState: 2,000 mailboxes mixed with 200 bad identities, each once' {
        $saved = $env:PSModulePath
        Import-EmulatedTenantModules
        $scenario = New-ScaleScenario -Count 2000 -Path (Join-Path $TestDrive 'mixed-2000.json')
        Connect-ExchangeOnline -ScenarioPath $scenario -ShowBanner:$false
        try {
            $good = @(Get-EXOMailbox -ResultSize Unlimited).UserPrincipalName
            $items = [System.Collections.Generic.List[string]]::new()
            for ($i = 0; $i -lt $good.Count; $i++) {
                $items.Add($good[$i])
                if ($i % 10 -eq 0) { $items.Add($(if ($i % 20 -eq 0) { '   ' } else { "nobody-$i@fabrikam.example" })) }
            }
            $states = @($items | Get-SmtpAuthPolicyState -SkipGraph -WarningAction SilentlyContinue -ErrorVariable err -ErrorAction SilentlyContinue)
            @($states.UserPrincipalName | Sort-Object) | Should -Be @($good | Sort-Object)
            $err.Count | Should -Be 200
            @($err | Where-Object FullyQualifiedErrorId -like 'IdentityEmpty,*').Count | Should -Be 100
            $notFound = @($err | Where-Object FullyQualifiedErrorId -like 'MailboxNotFound,*')
            $notFound.Count | Should -Be 100
            $notFound[0].TargetObject | Should -Match '^nobody-\d+@fabrikam\.example$'
        }
        finally {
            Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
            Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
            $env:PSModulePath = $saved
        }
    }
}
