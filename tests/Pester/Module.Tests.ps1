#requires -Modules Pester
BeforeAll {
    . "$PSScriptRoot/common.ps1"
}

Describe 'The built module' -Tag Module {
    It 'has a manifest for Core and Desktop that exports only its cmdlets' {
        $m = Test-ModuleManifest $script:ModuleManifest
        $m.CompatiblePSEditions | Should -Be @('Core', 'Desktop')
        $m.PowerShellVersion | Should -Be ([version]'5.1')
        $m.ExportedCmdlets.Keys | Should -Contain 'Resolve-SmtpAuthError'
        $m.ExportedFunctions.Count | Should -Be 0
        $m.ExportedAliases.Count | Should -Be 0
        $m.RequiredModules.Count | Should -Be 0
        $m.PrivateData.PSData.ExternalModuleDependencies | Should -Contain 'ExchangeOnlineManagement'
        $m.Version | Should -Be ([version](Split-Path $script:ModuleDirectory -Leaf))
    }

    It 'keeps dependencies out of the module root, and never ships System.Management.Automation' {
        $rootDlls = (Get-ChildItem $script:ModuleDirectory -Filter *.dll).Name | Sort-Object
        $rootDlls | Should -Be @('SmtpAuthTroubleshooter.dll', 'SmtpAuthTroubleshooter.Models.dll')
        Test-Path (Join-Path $script:ModuleDirectory 'dependencies/MailKit.dll') | Should -BeTrue
        Test-Path (Join-Path $script:ModuleDirectory 'dependencies/SmtpAuthTroubleshooter.Engine.dll') | Should -BeTrue
        Test-Path (Join-Path $script:ModuleDirectory 'bin/Core/SmtpAuthTroubleshooter.LoadContext.dll') | Should -BeTrue
        Get-ChildItem $script:ModuleDirectory -Recurse -Filter 'System.Management.Automation.dll' | Should -BeNullOrEmpty
        Get-ChildItem $script:ModuleDirectory -Recurse -Filter '*.deps.json' | Should -BeNullOrEmpty
    }

    It 'imports in a fresh session without ExchangeOnlineManagement, and writes nothing on import' {
        $r = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
if (Get-Module -ListAvailable ExchangeOnlineManagement) { throw 'EXO should not be here' }
`$out = Import-Module '$($script:ModuleManifest)' -PassThru *>&1
@(`$out).Count
(Get-Command -Module SmtpAuthTroubleshooter).Name -join ','
"@
        $r.ExitCode | Should -Be 0
        $lines = $r.Output.Trim() -split "\r?\n"
        $lines[0] | Should -Be '1'
        $lines[1] | Should -Match 'Resolve-SmtpAuthError'
    }

    It 'loads no engine or dependency assembly until a command needs it' {
        $r = Invoke-FreshPwsh @"
Import-Module '$($script:ModuleManifest)'
([AppDomain]::CurrentDomain.GetAssemblies() | ForEach-Object { `$_.GetName().Name } | Where-Object { `$_ -in 'MailKit','Microsoft.Graph','Azure.Identity','SmtpAuthTroubleshooter.Engine' }) -join ','
"@
        $r.Output.Trim() | Should -BeNullOrEmpty
    }
}
