#requires -Modules Pester
# Every exported command has full help (STYLE rule 47; PSScriptAnalyzer ModuleHelp.Tests.ps1).
BeforeDiscovery {
    . "$PSScriptRoot/common.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:Commands = @(Get-Command -Module SmtpAuthTroubleshooter -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
}

BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:Common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
}

Describe 'Help for <Name>' -Tag Help -ForEach $script:Commands {
    BeforeAll {
        $script:Help = Get-Help $Name -Full
        $script:Command = Get-Command $Name
    }

    It 'has a synopsis' {
        $script:Help.Synopsis | Should -Not -BeNullOrEmpty
        $script:Help.Synopsis.Trim() | Should -Not -Match "^$Name\s*\["
    }

    It 'has a description' {
        ($script:Help.Description.Text -join '') | Should -Not -BeNullOrEmpty
    }

    It 'has at least three examples, each with code and remarks' {
        @($script:Help.Examples.Example).Count | Should -BeGreaterOrEqual 3
        foreach ($example in $script:Help.Examples.Example) {
            $example.Code | Should -Not -BeNullOrEmpty
            ($example.Remarks.Text -join '') | Should -Not -BeNullOrEmpty
        }
    }

    It 'documents every parameter' {
        foreach ($parameter in $script:Command.Parameters.Keys | Where-Object { $_ -notin $script:Common }) {
            $ph = $script:Help.Parameters.Parameter | Where-Object Name -eq $parameter
            $ph | Should -Not -BeNullOrEmpty -Because "parameter $parameter needs help"
            ($ph.Description.Text -join '') | Should -Not -BeNullOrEmpty -Because "parameter $parameter needs a description"
        }
    }

    It 'names its output type' {
        # The module's own type, or a framework type the cmdlet declares (Export-SmtpAuthReport -PassThru: FileInfo).
        $declared = @($script:Command.OutputType.Name | Where-Object { $_ -notmatch '^SmtpAuthTroubleshooter\.' })
        ($script:Help.returnValues.returnValue.type.name -join '') | Should -Match (@('SmtpAuthTroubleshooter\.') + @($declared | ForEach-Object { [regex]::Escape($_) }) -join '|')
    }
}

Describe 'Committed help' -Tag Help {
    It 'matches what docs/en-US/*.md generate (run ./build.ps1 Docs after editing the markdown)' {
        $root = Join-Path $PSScriptRoot '../..'
        $expected = & (Join-Path $root 'tools/ConvertTo-MamlHelp.ps1') -DocsPath (Join-Path $root 'docs/en-US') -OutputPath 'unused' -PassThru
        $committed = [System.IO.File]::ReadAllText((Join-Path $root 'docs/en-US/SmtpAuthTroubleshooter.dll-Help.xml'))
        $committed | Should -BeExactly $expected
    }

    It 'ships the about topic' {
        (Get-Help about_SmtpAuthTroubleshooter | Out-String) | Should -Match 'Resolve-SmtpAuthError'
    }
}
