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
    [string] $Tag
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterModule -Force
$env:SMTPAUTH_TEST_MODULE = (Resolve-Path $ModulePath).Path

$config = New-PesterConfiguration
# The module suites, plus the peers' and the emulated tenant's own suites.
$config.Run.Path = @($PSScriptRoot) + @(Get-ChildItem (Join-Path $PSScriptRoot '..') -Recurse -Filter '*.Tests.ps1' | Where-Object { $_.DirectoryName -ne $PSScriptRoot -and $_.FullName -notmatch '[\\/](bin|obj)[\\/]' } | ForEach-Object FullName)
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Normal'
if ($XmlPath) {
    $config.TestResult.Enabled = $true
    $config.TestResult.OutputFormat = 'NUnitXml'
    $config.TestResult.OutputPath = $XmlPath
}
if ($Tag) { $config.Filter.Tag = $Tag -split ',' }

$result = Invoke-Pester -Configuration $config
[ordered]@{
    Passed  = $result.PassedCount
    Failed  = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Skipped = $result.SkippedCount + $result.NotRunCount
} | ConvertTo-Json | Set-Content -Encoding utf8 $ResultPath
