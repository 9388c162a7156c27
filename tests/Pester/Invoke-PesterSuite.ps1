#requires -Version 7.4
<#
.SYNOPSIS
    Runs the Pester suites against the built module in a fresh process and writes the counts as JSON.
    Called by build.ps1 Test (STYLE rule 54); not meant to be run inside a session that already imported the module.
#>
param(
    [Parameter(Mandatory)][string] $PesterModule,
    [Parameter(Mandatory)][string] $ModulePath,
    [Parameter(Mandatory)][string] $ResultPath,
    [string] $XmlPath,
    [string] $Tag,
    # Other test files or folders than the project's (the runner's own test runs it on a fixture).
    [string[]] $Path
)
$ErrorActionPreference = 'Stop'
# Error messages without ANSI colour: they end up in the NUnit XML, where an escape character is not allowed.
if ($PSStyle) { $PSStyle.OutputRendering = 'PlainText' }
Import-Module $PesterModule -Force
$env:SMTPAUTH_TEST_MODULE = (Resolve-Path $ModulePath).Path

$config = New-PesterConfiguration
# The module suites, plus the peers' and the emulated tenant's own suites.
$config.Run.Path = if ($Path) { $Path } else { @($PSScriptRoot) + @(Get-ChildItem (Join-Path $PSScriptRoot '..') -Recurse -Filter '*.Tests.ps1' | Where-Object { $_.DirectoryName -ne $PSScriptRoot -and $_.FullName -notmatch '[\\/](bin|obj)[\\/]' } | ForEach-Object FullName) }
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Normal'
if ($Tag) { $config.Filter.Tag = $Tag -split ',' }

# The NUnit XML is written below, apart: when Pester writes it itself and that fails (a control character in a
# failure message), Invoke-Pester returns nothing and every count is lost, which once read as "0 failed".
$result = Invoke-Pester -Configuration $config
if ($null -eq $result) {
    [ordered]@{ Passed = 0; Failed = 1; Skipped = 0; Error = 'Invoke-Pester returned no result.'
        Module = [ordered]@{ Passed = 0; Failed = 1; Skipped = 0 }; Harness = [ordered]@{ Passed = 0; Failed = 0; Skipped = 0 } } |
        ConvertTo-Json | Set-Content -Encoding utf8 $ResultPath
    exit 1
}
if ($XmlPath) {
    try { $result | Export-NUnitReport -Path $XmlPath }
    catch {
        Remove-Item -LiteralPath $XmlPath -ErrorAction SilentlyContinue   # no half-written report
        Write-Warning "The NUnit XML report was not written ($($_.Exception.Message)); the counts below are complete."
    }
}

# Module tests and harness tests are counted apart. Harness tests have the test harness itself as their subject (the
# emulated tenant's stand-ins, the test peers, the emulators): every file outside tests/Pester, and any block or test
# tagged Harness inside it.
$pesterRoot = [System.IO.Path]::TrimEndingDirectorySeparator($PSScriptRoot) + [System.IO.Path]::DirectorySeparatorChar
function Test-Harness {
    # $Item: a test or a block (or $null for a container that did not load); tags are inherited from the enclosing blocks.
    param($Item, $Container)
    if ($Container -and -not "$($Container.Item)".StartsWith($pesterRoot, [System.StringComparison]::Ordinal)) { return $true }
    if ($Item -and $Item.Tag -contains 'Harness') { return $true }
    for ($block = $(if ($Item -and $Item.ItemType -eq 'Test') { $Item.Block } else { $Item }); $null -ne $block; $block = $block.Parent) {
        if ($block.Tag -contains 'Harness') { return $true }
    }
    $false
}
$counts = @{}
foreach ($kind in 'Module', 'Harness') { $counts[$kind] = [ordered]@{ Passed = 0; Failed = 0; Skipped = 0 } }
foreach ($test in $result.Tests) {
    $kind = if (Test-Harness $test $test.Block.BlockContainer) { 'Harness' } else { 'Module' }
    switch ($test.Result) {
        'Passed' { $counts[$kind].Passed++ }
        'Failed' { $counts[$kind].Failed++ }
        { $_ -in 'Skipped', 'NotRun' } { $counts[$kind].Skipped++ }
    }
}
# A failed BeforeAll/AfterAll (block) or a file that did not load (container) is one failure more, as in the total.
foreach ($block in $result.FailedBlocks) {
    $counts[$(if (Test-Harness $block $block.BlockContainer) { 'Harness' } else { 'Module' })].Failed++
}
foreach ($container in $result.FailedContainers) {
    $counts[$(if (Test-Harness $null $container) { 'Harness' } else { 'Module' })].Failed++
}

[ordered]@{
    Passed  = $result.PassedCount
    Failed  = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Skipped = $result.SkippedCount + $result.NotRunCount
    Module  = $counts.Module
    Harness = $counts.Harness
} | ConvertTo-Json | Set-Content -Encoding utf8 $ResultPath
