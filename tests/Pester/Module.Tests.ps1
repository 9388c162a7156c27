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

Describe 'The load context serves only what was asked for' -Tag Module {
    BeforeAll {
        # Issue 11: a dependency is served from dependencies/ only when its name, culture, public key token and version
        # (at least the one asked for) all match, as PowerShellEditorServices' PsesLoadContext checks.
        $dll = Get-ChildItem (Split-Path $script:ModuleManifest) -Recurse -Filter 'SmtpAuthTroubleshooter.LoadContext.dll' | Select-Object -First 1
        $type = [System.Reflection.Assembly]::LoadFrom($dll.FullName).GetType('SmtpAuthTroubleshooter.LoadContext.SmtpAuthLoadContext')
        $script:Satisfies = $type.GetMethod('Satisfies', [System.Reflection.BindingFlags]'NonPublic, Static')
        function Test-Satisfies([string] $Requested, [string] $Candidate) { $script:Satisfies.Invoke($null, @([System.Reflection.AssemblyName]::new($Requested), [System.Reflection.AssemblyName]::new($Candidate))) }
        $script:Ship = 'Azure.Core, Version=1.50.0.0, Culture=neutral, PublicKeyToken=92742159e12e44c8'
    }

    It '<Why>' -ForEach @(
        @{ Why = 'the same name, culture and token at a newer version serves the request'; Requested = 'Azure.Core, Version=1.44.0.0, Culture=neutral, PublicKeyToken=92742159e12e44c8'; Expected = $true }
        @{ Why = 'a request without a public key token is served by name, culture and version'; Requested = 'Azure.Core, Version=1.44.0.0, Culture=neutral'; Expected = $true }
        @{ Why = 'another public key token is not served'; Requested = 'Azure.Core, Version=1.44.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35'; Expected = $false }
        @{ Why = 'another culture is not served'; Requested = 'Azure.Core, Version=1.44.0.0, Culture=de-DE, PublicKeyToken=92742159e12e44c8'; Expected = $false }
        @{ Why = 'a newer version than shipped is not served'; Requested = 'Azure.Core, Version=2.0.0.0, Culture=neutral, PublicKeyToken=92742159e12e44c8'; Expected = $false }
        @{ Why = 'another name is not served'; Requested = 'Azure.Identity, Version=1.0.0.0, Culture=neutral, PublicKeyToken=92742159e12e44c8'; Expected = $false }
    ) {
        Test-Satisfies $Requested $script:Ship | Should -Be $Expected
    }
}

