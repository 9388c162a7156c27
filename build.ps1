#requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, documents and packages SmtpAuthTroubleshooter.

.DESCRIPTION
    One entry point (STYLE rule 48):
      Clean     removes out/ and every bin/ and obj/ folder.
      Build     compiles src/ (including the net472 Desktop flavour; compiler warnings shown) and assembles the module
                in out/SmtpAuthTroubleshooter/<version>/ by set difference, checking the dependency allow-list.
      Docs      regenerates en-US/SmtpAuthTroubleshooter.dll-Help.xml from docs/en-US/*.md.
      Test      Build, then builds the tests and emulators and runs the xunit projects (with line coverage of the
                product assemblies) and the Pester suites; reports module and harness tests apart and ends with
                "N passed, M failed[, K skipped]" over both.
      Package   Build, Test-ModuleManifest, and a .nupkg in out/packages through a local PSResource repository.
      Demo      Build and the emulator, then runs the module against the emulated tenant's sample failures.
      Benchmark Build and the emulator, then the benchmark scripts in tests/Benchmarks (figures, not assertions).
      Fuzz      the parser/catalog fuzzer for -FuzzIterations inputs (default 200,000); prints the worst time seen.
      Mutate    mutation testing of the engine with Stryker.NET (tools/Mutate.ps1); prints the score per folder. Not
                part of Test or CI: it takes an hour or more.

.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Clean', 'Build', 'Docs', 'Test', 'Package', 'Demo', 'Benchmark', 'Fuzz', 'Mutate')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Pester tag filter for quick local runs, e.g. -PesterTag Resolve.
    [string[]] $PesterTag,

    # Fuzz: how many mutated inputs to run through the parser and the catalog (CI runs 3,000).
    [int] $FuzzIterations = 200000
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$Root = $PSScriptRoot
$ModuleName = 'SmtpAuthTroubleshooter'
$OutRoot = Join-Path $Root 'out'
$PesterVersion = '5.7.1'

# xunit projects whose subject is the test harness itself (the emulators, stand-ins and peers), not the module: Test
# counts them apart from the module's tests. Pester files outside tests/Pester, and Describe blocks tagged Harness, are
# classified the same way by tests/Pester/Invoke-PesterSuite.ps1.
$HarnessTestProjects = @("$ModuleName.ExoEmulator.Tests")

# The product assemblies whose line coverage Test reports (never the test or emulator assemblies).
$CoveredAssemblies = @($ModuleName, "$ModuleName.Engine", "$ModuleName.Models")

# The exact set of DLLs that go into dependencies/ (STYLE rule 42). A missing or unexpected file fails the build.
$DependencyAllowList = @(
    'Azure.Core'
    'Azure.Identity'
    'BouncyCastle.Cryptography'
    'MailKit'
    'Microsoft.Bcl.AsyncInterfaces'
    'Microsoft.Bcl.Cryptography'
    'Microsoft.Bcl.TimeProvider'
    'Microsoft.CSharp'
    'Microsoft.Extensions.DependencyInjection.Abstractions'
    'Microsoft.Extensions.Logging.Abstractions'
    'Microsoft.Graph'
    'Microsoft.Graph.Core'
    'Microsoft.IO.RecyclableMemoryStream'
    'Microsoft.Identity.Client'
    'Microsoft.Identity.Client.Extensions.Msal'
    'Microsoft.IdentityModel.Abstractions'
    'Microsoft.IdentityModel.JsonWebTokens'
    'Microsoft.IdentityModel.Logging'
    'Microsoft.IdentityModel.Protocols'
    'Microsoft.IdentityModel.Protocols.OpenIdConnect'
    'Microsoft.IdentityModel.Tokens'
    'Microsoft.IdentityModel.Validators'
    'Microsoft.Kiota.Abstractions'
    'Microsoft.Kiota.Authentication.Azure'
    'Microsoft.Kiota.Http.HttpClientLibrary'
    'Microsoft.Kiota.Serialization.Form'
    'Microsoft.Kiota.Serialization.Json'
    'Microsoft.Kiota.Serialization.Multipart'
    'Microsoft.Kiota.Serialization.Text'
    'MimeKit'
    'SmtpAuthTroubleshooter.Engine'
    'Std.UriTemplate'
    'System.Buffers'
    'System.ClientModel'
    'System.Data.DataSetExtensions'
    'System.Diagnostics.DiagnosticSource'
    'System.Formats.Asn1'
    'System.IO.FileSystem.AccessControl'
    'System.IdentityModel.Tokens.Jwt'
    'System.Memory'
    'System.Memory.Data'
    'System.Numerics.Vectors'
    'System.Runtime.CompilerServices.Unsafe'
    'System.Security.AccessControl'
    'System.Security.Cryptography.Cng'
    'System.Security.Cryptography.Pkcs'
    'System.Security.Cryptography.ProtectedData'
    'System.Security.Principal.Windows'
    'System.Text.Encoding.CodePages'
    'System.Text.Encodings.Web'
    'System.Text.Json'
    'System.Threading.Tasks.Extensions'
)

function Invoke-Native {
    # Runs a native command and fails the build on a non-zero exit code (STYLE rule 48).
    # A simple (non-advanced) function, so that arguments such as '-v:q' pass through untouched.
    $FilePath, $Arguments = $args
    & $FilePath @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "'$FilePath $($Arguments -join ' ')' failed with exit code $LASTEXITCODE."
    }
}

function Get-PwshPath {
    # The pwsh that runs this script. Under 'dotnet pwsh' the process is dotnet itself, so use $PSHOME's apphost.
    Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
}

function Get-ModuleVersion {
    [xml] $props = Get-Content -Raw (Join-Path $Root 'Directory.Build.props')
    $version = $props.Project.PropertyGroup.ModuleVersion | Where-Object { $_ } | Select-Object -First 1
    if (-not $version) { throw 'ModuleVersion is missing from Directory.Build.props.' }
    $version
}

function Get-ModuleOutput {
    Join-Path $OutRoot $ModuleName (Get-ModuleVersion)
}

function Get-NuGetPackageRoot {
    $line = & dotnet nuget locals global-packages --list
    if ($LASTEXITCODE -ne 0) { throw 'dotnet nuget locals failed.' }
    ($line -replace '^global-packages:\s*', '').Trim()
}

function Assert-DotNet {
    if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
        throw 'The .NET SDK (dotnet) is required: https://dot.net'
    }
}

function Write-SourceFilter {
    # A solution filter over the solution's src/ projects, written to out/ so that the .sln stays the one list of
    # projects; one dotnet build of it builds src/ in parallel, with one summary.
    $solution = Join-Path $Root "$ModuleName.sln"
    $projects = @(& dotnet sln $solution list | Where-Object { $_ -match '^src[\\/].+\.csproj$' })
    if ($LASTEXITCODE -ne 0 -or -not $projects) { throw "dotnet sln list found no src/ projects in $solution." }
    $null = New-Item -ItemType Directory -Force -Path $OutRoot
    $filter = Join-Path $OutRoot "$ModuleName.src.slnf"
    @{ solution = @{ path = [System.IO.Path]::GetRelativePath($OutRoot, $solution); projects = $projects } } |
        ConvertTo-Json -Depth 3 | Set-Content -Encoding utf8 $filter
    $filter
}

function Invoke-Clean {
    foreach ($dir in @($OutRoot) + @(Get-ChildItem $Root -Recurse -Directory -Include bin, obj -ErrorAction SilentlyContinue | Where-Object FullName -NotMatch '[\\/]\.git[\\/]').ForEach('FullName')) {
        if (Test-Path $dir) { Remove-Item $dir -Recurse -Force }
    }
}

function Invoke-Build {
    Assert-DotNet
    $version = Get-ModuleVersion
    Write-Host "Building $ModuleName $version ($Configuration)"
    # src/ only, what ships (Test builds the test projects and the emulators); -v:q still prints warnings and errors.
    Invoke-Native dotnet build (Write-SourceFilter) -c $Configuration --nologo '-v:q'

    $staging = Join-Path $OutRoot 'staging'
    if (Test-Path $staging) { Remove-Item $staging -Recurse -Force }
    Invoke-Native dotnet publish (Join-Path $Root "src/$ModuleName.Engine") -c $Configuration -f netstandard2.0 -o (Join-Path $staging 'engine') --nologo '-v:q' '-clp:ErrorsOnly' --no-build
    Invoke-Native dotnet publish (Join-Path $Root "src/$ModuleName.LoadContext") -c $Configuration -o (Join-Path $staging 'loadcontext') --nologo '-v:q' '-clp:ErrorsOnly' --no-build

    $moduleOut = Get-ModuleOutput
    if (Test-Path $moduleOut) { Remove-Item $moduleOut -Recurse -Force }
    $null = New-Item -ItemType Directory -Force -Path $moduleOut, (Join-Path $moduleOut 'dependencies'), (Join-Path $moduleOut 'bin/Core'), (Join-Path $moduleOut 'en-US')

    # Root (PowerShell's default context): the cmdlets and the public Models, nothing else.
    $cmdletsBin = Join-Path $Root "src/$ModuleName/bin/$Configuration/netstandard2.0"
    foreach ($file in "$ModuleName.dll", "$ModuleName.Models.dll", "$ModuleName.Format.ps1xml", "$ModuleName.Types.ps1xml") {
        Copy-Item (Join-Path $cmdletsBin $file) $moduleOut
    }
    (Get-Content -Raw (Join-Path $Root "$ModuleName.psd1")).Replace('{{ModuleVersion}}', $version) |
        Set-Content -NoNewline -Encoding utf8 (Join-Path $moduleOut "$ModuleName.psd1")

    # dependencies/: the engine's publish output minus what lives at the root (set difference, rule 49).
    $rootNames = @("$ModuleName", "$ModuleName.Models")
    $engineDlls = Get-ChildItem (Join-Path $staging 'engine') -Filter *.dll | Where-Object { $_.BaseName -notin $rootNames }
    $found = @($engineDlls.BaseName)
    $missing = @($DependencyAllowList | Where-Object { $_ -notin $found })
    $unexpected = @($found | Where-Object { $_ -notin $DependencyAllowList })
    if ($unexpected -contains 'System.Management.Automation') { throw 'System.Management.Automation must never be shipped.' }
    if ($missing -or $unexpected) {
        throw "dependencies/ does not match the allow-list. Missing: [$($missing -join ', ')] Unexpected: [$($unexpected -join ', ')]"
    }
    $engineDlls | Copy-Item -Destination (Join-Path $moduleOut 'dependencies')

    # bin/Core: the PS 7 load context, uniquely named, the one assembly we LoadFrom into the default context.
    Copy-Item (Join-Path $staging "loadcontext/$ModuleName.LoadContext.dll") (Join-Path $moduleOut 'bin/Core')

    # Help: the committed MAML (STYLE rule 46; regenerate with the Docs task).
    Copy-Item (Join-Path $Root "docs/en-US/$ModuleName.dll-Help.xml") (Join-Path $moduleOut 'en-US')
    Copy-Item (Join-Path $Root "docs/en-US/about_$ModuleName.help.txt") (Join-Path $moduleOut 'en-US') -ErrorAction SilentlyContinue

    Remove-Item $staging -Recurse -Force
    Write-Host "Module: $moduleOut"
}

function Invoke-Docs {
    $script = Join-Path $Root 'tools/ConvertTo-MamlHelp.ps1'
    & $script -DocsPath (Join-Path $Root 'docs/en-US') -OutputPath (Join-Path $Root "docs/en-US/$ModuleName.dll-Help.xml")
}

function Build-Emulator {
    # The Exchange Online emulator behind the emulated tenant (Demo, Benchmark); Build compiles src/ only.
    Invoke-Native dotnet build (Join-Path $Root "tests/$ModuleName.ExoEmulator") -c $Configuration --nologo '-v:q'
}

function Restore-TestTools {
    Invoke-Native dotnet restore (Join-Path $Root 'tools/Tools.csproj') --nologo '-v:q'
}

function Read-TrxCounts {
    param([string] $Path)
    [xml] $trx = Get-Content -Raw $Path
    $counters = $trx.TestRun.ResultSummary.Counters
    [pscustomobject]@{
        Passed  = [int] $counters.passed
        Failed  = [int] $counters.failed + [int] $counters.error + [int] $counters.timeout + [int] $counters.aborted
        Skipped = [int] $counters.notExecuted
    }
}

function Add-Counts {
    # The sum of count objects (Passed, Failed, Skipped).
    $sum = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0 }
    foreach ($counts in $args) {
        foreach ($c in @($counts)) {
            if ($null -eq $c) { continue }
            $sum.Passed += [int] $c.Passed
            $sum.Failed += [int] $c.Failed
            $sum.Skipped += [int] $c.Skipped
        }
    }
    $sum
}

function Format-Counts {
    param($Counts)
    $text = "$($Counts.Passed) passed, $($Counts.Failed) failed"
    if ($Counts.Skipped) { $text += ", $($Counts.Skipped) skipped" }
    $text
}

function Measure-LineCoverage {
    <#
        Line coverage over coverlet's cobertura files, per product assembly ($CoveredAssemblies): a line counts once
        however many test projects instrumented it, and is covered when any of them hit it.
    #>
    param([string[]] $Path)
    $byAssembly = @{}
    foreach ($assembly in $CoveredAssemblies) { $byAssembly[$assembly] = @{} }
    foreach ($file in $Path) {
        [xml] $report = Get-Content -Raw $file
        $sources = @($report.coverage.sources.source)
        foreach ($package in $report.coverage.packages.package) {
            if ($package.name -notin $CoveredAssemblies) { continue }
            $lines = $byAssembly[$package.name]
            foreach ($class in $package.classes.class) {
                # Cobertura names files relative to one of its <source> roots; lines are keyed by full path.
                $source = $class.filename
                foreach ($sourceRoot in $sources) {
                    $candidate = Join-Path $sourceRoot $class.filename
                    if (Test-Path -LiteralPath $candidate) { $source = $candidate; break }
                }
                foreach ($line in $class.lines.line) {
                    $key = "$source|$($line.number)"
                    $lines[$key] = $lines[$key] -or ([long] $line.hits -gt 0)
                }
            }
        }
    }
    foreach ($assembly in $CoveredAssemblies) {
        $lines = $byAssembly[$assembly]
        [pscustomobject]@{
            Assembly = $assembly
            Lines    = $lines.Count
            Covered  = @($lines.Values | Where-Object { $_ }).Count
        }
    }
}

function Invoke-Test {
    Invoke-Build
    # Build does src/ only: the xunit projects and the emulators are built here (src/ is up to date by now).
    Invoke-Native dotnet build (Join-Path $Root "$ModuleName.sln") -c $Configuration --nologo '-v:q'
    Restore-TestTools
    $results = Join-Path $OutRoot 'test-results'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $results

    $failures = 0
    $xunit = @{ Module = [System.Collections.Generic.List[object]]::new(); Harness = [System.Collections.Generic.List[object]]::new() }
    $coverageFiles = [System.Collections.Generic.List[string]]::new()
    # Coverlet's collector (coverlet.collector in the module's xunit projects) instruments only the product assemblies.
    $coverageInclude = ($CoveredAssemblies | ForEach-Object { "[$_]*" }) -join ','
    # The xunit projects are the solution's *.Tests projects.
    $testProjects = & dotnet sln (Join-Path $Root "$ModuleName.sln") list | Where-Object { $_ -match '\.Tests\.csproj$' } | ForEach-Object { Get-Item (Join-Path $Root $_) }
    foreach ($project in $testProjects) {
        $harness = $project.BaseName -in $HarnessTestProjects
        $trx = Join-Path $results "$($project.BaseName).trx"
        Write-Host "xunit: $($project.BaseName)$(if ($harness) { ' (harness)' })"
        $testArgs = @($project.FullName, '-c', $Configuration, '--no-build', '--nologo', '-v:q', '--logger', "trx;LogFileName=$trx", '--logger', 'console;verbosity=minimal')
        $coverageDir = Join-Path $results "coverage/$($project.BaseName)"
        if (-not $harness) {
            # The emulators' own tests do not run the product; their coverage would say nothing about it.
            $testArgs += @('--collect', 'XPlat Code Coverage', '--results-directory', $coverageDir, '--',
                'DataCollectionRunSettings.DataCollectors.DataCollector.Configuration.Format=cobertura',
                "DataCollectionRunSettings.DataCollectors.DataCollector.Configuration.Include=$coverageInclude")
        }
        & dotnet test @testArgs
        if ($LASTEXITCODE -ne 0) { $failures++ }
        if (-not (Test-Path $trx)) { throw "xunit produced no results for $($project.BaseName) (exit $LASTEXITCODE)." }
        $xunit[$(if ($harness) { 'Harness' } else { 'Module' })].Add((Read-TrxCounts $trx))
        if (-not $harness) {
            $cobertura = @(Get-ChildItem $coverageDir -Recurse -Filter 'coverage.cobertura.xml' -ErrorAction SilentlyContinue)
            if ($cobertura) { $coverageFiles.AddRange([string[]] $cobertura.FullName) }
            else { Write-Warning "No coverage from $($project.BaseName): does it reference coverlet.collector?" }
        }
    }

    # Pester runs in a fresh child process against out/ (STYLE rule 54).
    # Coverage: Pester's own (CodeCoverage.Enabled) measures PowerShell script lines through breakpoints, and cannot
    # see the module's compiled C# running in that child process; coverlet could instrument the module's DLLs while
    # pwsh runs (the coverlet global tool's --target pwsh), but that tool (coverlet.console) is not on our NuGet feed.
    # So the coverage figure is the xunit runs' alone.
    $pesterModule = Join-Path (Get-NuGetPackageRoot) "pester/$PesterVersion/tools/Pester.psd1"
    $pesterJson = Join-Path $results 'pester.json'
    $runner = Join-Path $Root 'tests/Pester/Invoke-PesterSuite.ps1'
    $pwsh = Get-PwshPath
    $pwshArgs = @('-NoProfile', '-NonInteractive', '-File', $runner, '-PesterModule', $pesterModule, '-ModulePath', (Join-Path (Get-ModuleOutput) "$ModuleName.psd1"), '-ResultPath', $pesterJson, '-XmlPath', (Join-Path $results 'pester.xml'))
    if ($PesterTag) { $pwshArgs += @('-Tag', ($PesterTag -join ',')) }
    # A result file from an earlier run must never stand in for this one.
    Remove-Item $pesterJson -ErrorAction SilentlyContinue
    & $pwsh @pwshArgs
    if ($LASTEXITCODE -ne 0) { $failures++; Write-Host "The Pester run exited with $LASTEXITCODE." }
    if (-not (Test-Path $pesterJson)) { throw 'Pester produced no results.' }
    $pester = Get-Content -Raw $pesterJson | ConvertFrom-Json
    if ($null -eq $pester.Passed -or ($pester.Passed + $pester.Failed + $pester.Skipped) -eq 0) {
        # No counts is a failure, never "0 failed".
        Write-Host 'The Pester run counted no tests.'
        $pester = [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0
            Module = [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0 }; Harness = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0 } }
    }

    $xunitModule = Add-Counts $xunit.Module
    $xunitHarness = Add-Counts $xunit.Harness
    $module = Add-Counts $xunitModule $pester.Module
    $harness = Add-Counts $xunitHarness $pester.Harness
    $total = Add-Counts $module $harness
    Write-Host ''
    Write-Host "xunit: module $(Format-Counts $xunitModule); harness $(Format-Counts $xunitHarness)"
    Write-Host "Pester: module $(Format-Counts $pester.Module); harness $(Format-Counts $pester.Harness)"
    if ($coverageFiles.Count) {
        $coverage = @(Measure-LineCoverage $coverageFiles)
        foreach ($c in $coverage) {
            Write-Host ([string]::Format([cultureinfo]::InvariantCulture, '  {0}: {1:0.0} % ({2} of {3} lines)', $c.Assembly, $(if ($c.Lines) { 100.0 * $c.Covered / $c.Lines } else { 0 }), $c.Covered, $c.Lines))
        }
        $lineCount = ($coverage | Measure-Object Lines -Sum).Sum
        $coveredCount = ($coverage | Measure-Object Covered -Sum).Sum
        $percent = if ($lineCount) { 100.0 * $coveredCount / $lineCount } else { 0 }
        Write-Host ([string]::Format([cultureinfo]::InvariantCulture, 'Coverage (engine + module, line): {0:0.0} % (xunit; {1} of {2} lines)', $percent, $coveredCount, $lineCount))
    }
    Write-Host "module: $(Format-Counts $module); harness: $(Format-Counts $harness)"
    Write-Host (Format-Counts $total)
    if ($total.Failed -gt 0 -or $failures -gt 0) { exit 1 }
}

function Invoke-Package {
    Invoke-Build
    $moduleOut = Get-ModuleOutput
    $manifest = Test-ModuleManifest (Join-Path $moduleOut "$ModuleName.psd1") -ErrorAction Stop
    Write-Host "Test-ModuleManifest: $($manifest.Name) $($manifest.Version)"
    $packages = Join-Path $OutRoot 'packages'
    $null = New-Item -ItemType Directory -Force -Path $packages
    $repoName = "SmtpAuthTroubleshooterBuild$PID"
    Register-PSResourceRepository -Name $repoName -Uri $packages -Trusted
    try {
        Publish-PSResource -Path $moduleOut -Repository $repoName -SkipDependenciesCheck
    }
    finally {
        Unregister-PSResourceRepository -Name $repoName
    }
    Get-ChildItem $packages -Filter *.nupkg | ForEach-Object { Write-Host "Package: $($_.FullName)" }
}

function Invoke-Demo {
    Invoke-Build
    Build-Emulator
    $demo = Join-Path $Root 'tools/Demo.ps1'
    $pwsh = Get-PwshPath
    & $pwsh -NoProfile -NonInteractive -File $demo -ModulePath (Join-Path (Get-ModuleOutput) "$ModuleName.psd1")
    if ($LASTEXITCODE -ne 0) { throw "The demo failed (exit $LASTEXITCODE)." }
}

function Invoke-Benchmark {
    Invoke-Build
    Build-Emulator
    $pwsh = Get-PwshPath
    foreach ($bench in Get-ChildItem (Join-Path $Root 'tests/Benchmarks') -Filter '*.ps1' -ErrorAction SilentlyContinue) {
        Write-Host "== $($bench.Name)"
        & $pwsh -NoProfile -NonInteractive -File $bench.FullName -ModulePath (Join-Path (Get-ModuleOutput) "$ModuleName.psd1")
        if ($LASTEXITCODE -ne 0) { throw "$($bench.Name) failed (exit $LASTEXITCODE)." }
    }
}

function Invoke-Fuzz {
    Assert-DotNet
    Invoke-Native dotnet build (Join-Path $Root "tests/$ModuleName.Engine.Tests") -c $Configuration --nologo '-v:q' '-clp:ErrorsOnly'
    $env:SMTPAUTH_FUZZ_ITERATIONS = "$FuzzIterations"
    try {
        Invoke-Native dotnet test (Join-Path $Root "tests/$ModuleName.Engine.Tests") -c $Configuration --no-build --nologo '--filter' 'FullyQualifiedName~ParserFuzzTests'
    }
    finally { Remove-Item Env:SMTPAUTH_FUZZ_ITERATIONS }
    Get-Content (Join-Path $Root "tests/$ModuleName.Engine.Tests/bin/$Configuration/net10.0/fuzz-report.txt")
}

switch ($Task) {
    'Clean' { Invoke-Clean }
    'Build' { Invoke-Build }
    'Docs' { Invoke-Docs }
    'Test' { Invoke-Test }
    'Package' { Invoke-Package }
    'Demo' { Invoke-Demo }
    'Benchmark' { Invoke-Benchmark }
    'Fuzz' { Invoke-Fuzz }
    'Mutate' { & (Join-Path $Root 'tools/Mutate.ps1') -Configuration $Configuration }
}
