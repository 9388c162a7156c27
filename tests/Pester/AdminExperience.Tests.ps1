#requires -Modules Pester
# Issue 5, the admin's experience: tab completion, runbook safety, and the package installing from a repository.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-Module $script:ModuleManifest -Force
    function Get-Completions([string] $Line) { (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText }
}

Describe 'Tab completion' -Tag UX {
    It 'completes -Server with the Microsoft 365 submission hosts' {
        Get-Completions 'Test-SmtpAuth -Server smtp.off' | Should -Contain 'smtp.office365.com'
        Get-Completions 'Test-SmtpAuth -Server smtp.off' | Should -Contain 'smtp.office365.us'
        Get-Completions 'Test-SmtpAuth -Server smtp-leg' | Should -Be @('smtp-legacy.office365.com', 'smtp-legacy.partner.outlook.cn')
    }

    It 'completes -Environment, -Mechanism and -TlsMode values' {
        Get-Completions 'Test-SmtpAuth -Environment US' | Sort-Object | Should -Be @('USGovDoD', 'USGovGCCHigh')
        Get-Completions 'Test-SmtpAuth -Credential $c -Mechanism ' | Should -Be @('Auto', 'Login', 'Plain')
        Get-Completions 'Test-SmtpAuth -TlsMode ' | Should -Contain 'StartTls'
        Get-Completions 'Resolve-SmtpAuthError x -AuthMethod O' | Should -Be @('OAuth')
    }
}

Describe 'Runbook safety' -Tag UX {
    It 'refuses -UseDeviceCode in a non-interactive session instead of waiting for a person' {
        $r = Invoke-FreshPwsh @"
Import-Module '$($script:ModuleManifest)'
try { Test-SmtpAuth app@contoso.com -ClientId 00000000-0000-0000-0000-000000000001 -UseDeviceCode -ErrorAction Stop } catch { `$_.FullyQualifiedErrorId }
"@
        $r.Output.Trim() | Should -BeExactly 'DeviceCodeNonInteractive,SmtpAuthTroubleshooter.Commands.TestSmtpAuthCommand'
    }
}

Describe 'The package' -Tag UX, Package {
    It 'publishes to a local folder repository, installs with Install-PSResource and works after install' {
        $repo = Join-Path $TestDrive 'repo'
        # A private HOME keeps the CurrentUser install out of the machine's own module folder. It has a .config: without
        # one .NET's ApplicationData folder is '', and PSResourceGet's NuGet writes NuGet/NuGet.Config into the current
        # directory (the repository).
        $data = Join-Path $TestDrive 'home'
        $null = New-Item -ItemType Directory $repo, $data, (Join-Path $data '.config')
        $r = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name SmtpAuthTest -Uri '$repo' -Trusted
try {
    Publish-PSResource -Path '$($script:ModuleDirectory)' -Repository SmtpAuthTest -SkipDependenciesCheck
    Install-PSResource -Name SmtpAuthTroubleshooter -Repository SmtpAuthTest -Scope CurrentUser -TrustRepository
    `$installed = Get-InstalledPSResource -Name SmtpAuthTroubleshooter
    Import-Module SmtpAuthTroubleshooter
    "installed:`$(`$installed.Version)"
    "path:`$((Get-Module SmtpAuthTroubleshooter).ModuleBase)"
    "top:" + @('535 5.7.139 Authentication unsuccessful, account locked.' | Resolve-SmtpAuthError)[0].CauseId
}
finally { Unregister-PSResourceRepository -Name SmtpAuthTest }
"@ -Environment @{ HOME = $data; XDG_DATA_HOME = $null }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $version = Split-Path $script:ModuleDirectory -Leaf
        $r.Output | Should -Match "installed:$([regex]::Escape($version))"
        $r.Output | Should -Match ([regex]::Escape($data))
        $r.Output | Should -Match 'top:AccountLocked'
    }
}
