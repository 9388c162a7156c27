#requires -Modules Pester
# Dependency isolation (issue 2; STYLE rules 35-43, 55): the module must work in a session where
# ExchangeOnlineManagement and the Microsoft.Graph modules have loaded other versions of MSAL,
# Microsoft.Graph.Core and Kiota into PowerShell's default load context, in either order.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    $script:OldDlls = @(
        Join-Path $script:NuGetRoot 'microsoft.kiota.abstractions/1.22.1/lib/netstandard2.0/Microsoft.Kiota.Abstractions.dll'
        Join-Path $script:NuGetRoot 'microsoft.graph.core/3.2.4/lib/netstandard2.0/Microsoft.Graph.Core.dll'
        Join-Path $script:NuGetRoot 'microsoft.identity.client/4.61.3/lib/netstandard2.0/Microsoft.Identity.Client.dll'
    )
    foreach ($dll in $script:OldDlls) {
        if (-not (Test-Path $dll)) { throw "Conflict fixture missing: $dll (build.ps1 Test restores tools/Tools.csproj)" }
    }
    $script:PreLoad = ($script:OldDlls | ForEach-Object { "Add-Type -Path '$_'" }) -join "`n"

    # Emits JSON: what our self-test built (assembly per type), and where the contested assemblies are loaded.
    $script:Report = @'
$selfTest = [SmtpAuthTroubleshooter.Diagnostics.ModuleDiagnostics]::TestDependencies()
$resolved = @('535 5.7.139 Authentication unsuccessful, account locked.' | Resolve-SmtpAuthError)[0].CauseId
$loaded = [SmtpAuthTroubleshooter.Diagnostics.ModuleDiagnostics]::GetLoadedAssemblies() |
    Where-Object Name -in 'MailKit', 'MimeKit', 'Microsoft.Identity.Client', 'Microsoft.Graph', 'Microsoft.Graph.Core', 'Microsoft.Kiota.Abstractions', 'Azure.Core', 'Azure.Identity', 'SmtpAuthTroubleshooter.Engine', 'SmtpAuthTroubleshooter.Models' |
    Select-Object Name, Version, LoadContext
$oldMsal = [Microsoft.Identity.Client.PublicClientApplication].Assembly.GetName().Version.ToString()
$oldGraphCore = [Microsoft.Graph.GraphClientFactory].Assembly.GetName().Version.ToString()
[pscustomobject]@{ SelfTest = $selfTest; Resolved = $resolved; Loaded = @($loaded); SessionMsal = $oldMsal; SessionGraphCore = $oldGraphCore } | ConvertTo-Json -Depth 5 -Compress
'@

    function Get-Report([string] $Output) {
        $json = ($Output -split "\r?\n" | Where-Object { $_ -like '{*' } | Select-Object -Last 1)
        if (-not $json) { throw "No report in output:`n$Output" }
        $json | ConvertFrom-Json
    }
}

Describe 'Dependency isolation' -Tag Conflict {
    It 'works when older Graph.Core, Kiota and MSAL are already loaded (theirs first, then ours)' {
        $r = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
$($script:PreLoad)
Import-Module '$($script:ModuleManifest)'
$($script:Report)
"@
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $report = Get-Report $r.Output
        $report.Resolved | Should -BeExactly 'AccountLocked'
        $report.SessionMsal | Should -BeExactly '4.61.3.0'
        $report.SessionGraphCore | Should -Match '^3\.2\.4'
        $report.SelfTest.'Microsoft.Identity.Client' | Should -Not -Match 'Version=4\.61\.3'
        $report.SelfTest.'Microsoft.Graph.Core' | Should -Match 'Version=4\.'
        $report.SelfTest.'Microsoft.Kiota.Abstractions' | Should -Not -Match 'Version=1\.22\.1'
        ($report.Loaded | Where-Object { $_.Name -eq 'Microsoft.Identity.Client' -and $_.LoadContext -eq 'Default' }).Version | Should -Be '4.61.3.0'
        ($report.Loaded | Where-Object { $_.Name -eq 'Microsoft.Identity.Client' -and $_.LoadContext -eq 'SmtpAuthTroubleshooter' }) | Should -Not -BeNullOrEmpty
        ($report.Loaded | Where-Object { $_.Name -eq 'Microsoft.Graph.Core' -and $_.LoadContext -eq 'SmtpAuthTroubleshooter' }).Version | Should -Match '^4\.'
    }

    It 'works when ours loads first and the older DLLs come after' {
        $r = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:ModuleManifest)'
`$null = [SmtpAuthTroubleshooter.Diagnostics.ModuleDiagnostics]::TestDependencies()
$($script:PreLoad)
$($script:Report)
"@
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $report = Get-Report $r.Output
        $report.Resolved | Should -BeExactly 'AccountLocked'
        $report.SessionMsal | Should -BeExactly '4.61.3.0'
        $report.SelfTest.'Microsoft.Graph.Core' | Should -Match 'Version=4\.'
        ($report.Loaded | Where-Object { $_.Name -eq 'Microsoft.Graph.Core' -and $_.LoadContext -eq 'Default' }).Version | Should -Match '^3\.2\.4'
    }

    It 'keeps MailKit, MSAL, Graph and the engine out of the default context after use' {
        $r = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:ModuleManifest)'
`$null = [SmtpAuthTroubleshooter.Diagnostics.ModuleDiagnostics]::TestDependencies()
`$null = '535 5.7.3 Authentication unsuccessful' | Resolve-SmtpAuthError
[SmtpAuthTroubleshooter.Diagnostics.ModuleDiagnostics]::GetLoadedAssemblies() | Select-Object Name, Version, LoadContext | ConvertTo-Json -Compress
"@
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $loaded = ($r.Output -split "\r?\n" | Where-Object { $_ -like '`[*' } | Select-Object -Last 1) | ConvertFrom-Json
        foreach ($name in 'MailKit', 'MimeKit', 'Microsoft.Identity.Client', 'Microsoft.Graph.Core', 'Microsoft.Graph', 'Azure.Identity', 'Azure.Core', 'Microsoft.Kiota.Abstractions', 'SmtpAuthTroubleshooter.Engine') {
            $entries = @($loaded | Where-Object Name -eq $name)
            $entries | Should -Not -BeNullOrEmpty -Because "$name should have been loaded by the self-test"
            $entries.LoadContext | Should -Not -Contain 'Default' -Because "$name must load in our context"
        }
        ($loaded | Where-Object Name -eq 'SmtpAuthTroubleshooter.Models').LoadContext | Should -Be 'Default'
        @($loaded | Where-Object Name -eq 'SmtpAuthTroubleshooter.Models').Count | Should -Be 1
    }
}
