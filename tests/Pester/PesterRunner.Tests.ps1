#requires -Modules Pester
# The test runner itself (tests/Pester/Invoke-PesterSuite.ps1, which build.ps1 Test calls): a failing test whose message
# holds a control character (an error record's ANSI colour, say) made Pester's own NUnit XML export fail, Invoke-Pester
# returned nothing, and the run reported "0 passed, 0 failed": a failing suite that read as green. The counts must
# survive whatever the XML export does.
Describe 'The Pester runner' -Tag Harness {
    BeforeAll {
        . "$PSScriptRoot/common.ps1"
        $script:Runner = Join-Path $PSScriptRoot 'Invoke-PesterSuite.ps1'
        $script:PesterManifest = Join-Path (Get-Module Pester).ModuleBase 'Pester.psd1'
        $script:Fixture = Join-Path $TestDrive 'Fixture.Tests.ps1'
        Set-Content -LiteralPath $script:Fixture -Value @'
Describe 'fixture' {
    It 'passes' { 1 | Should -Be 1 }
    It 'fails with an escape character in its message' { "$([char]27)[31mred$([char]27)[0m" | Should -Be 'plain' }
}
'@
    }

    It 'counts a failure whose message holds an escape character, and still writes the XML report or says why not' {
        $json = Join-Path $TestDrive 'pester.json'
        $xml = Join-Path $TestDrive 'pester.xml'
        $output = & $script:Pwsh -NoProfile -NonInteractive -File $script:Runner -PesterModule $script:PesterManifest `
            -ModulePath $script:ModuleManifest -ResultPath $json -XmlPath $xml -Path $script:Fixture 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
        $counts = Get-Content -Raw $json | ConvertFrom-Json
        $counts.Passed | Should -Be 1
        $counts.Failed | Should -Be 1
        ($counts.Module.Passed + $counts.Harness.Passed) | Should -Be 1
        ($counts.Module.Failed + $counts.Harness.Failed) | Should -Be 1
        if (-not (Test-Path $xml)) {
            ($output | Out-String) | Should -Match 'The NUnit XML report was not written'
        }
    }
}
