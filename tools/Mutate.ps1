#requires -Version 7.4
<#
.SYNOPSIS
    Mutation testing of the engine with Stryker.NET (issue 11, "Tests that guard").

.DESCRIPTION
    Runs dotnet-stryker (a local tool in .config/dotnet-tools.json) over src/SmtpAuthTroubleshooter.Engine with the
    engine's xunit project, mutating the files that decide: Policy/PolicyEvaluator.cs, Policy/ConditionalAccess.cs,
    Policy/PolicyStateReader.cs, Diagnosis/**, Knowledge/** and Probe/** (tools/stryker-config.json). The Graph reader
    files are left out, and so are their tests (GraphRetryTests, GraphCredentialTests: real Retry-After waits against a
    loopback stand-in, seconds each, which every static mutant would run).

    Stryker replaces the engine DLL in the test project's bin/ with a mutated build while it runs. So that a test run
    or an edit in the work tree at the same time sees nothing of it, the script copies the projects it needs (sources
    only, no bin/ or obj/) to a folder in the temp directory and runs Stryker there; src/ is never touched. The fuzz test runs a short
    fixed number of inputs (SMTPAUTH_FUZZ_ITERATIONS) because every parser mutant runs it.

    Reports (html, json) go to <Output>/<timestamp>/reports. At the end the script prints the mutation score per
    folder: (killed + timeout) / (killed + timeout + survived + no coverage); compile errors and ignored mutants do
    not count. It is not part of build.ps1 Test or CI: a full run takes an hour or more on two cores.

.EXAMPLE
    dotnet pwsh ./build.ps1 Mutate

.EXAMPLE
    dotnet pwsh ./tools/Mutate.ps1 -Mutate '**/Policy/ConditionalAccess.cs'
    Mutates one file only (the pattern replaces the config's list), for a quick look at its survivors.

.EXAMPLE
    dotnet pwsh ./tools/Mutate.ps1 -Retest out/mutation/<stamp>/reports/mutation-report.json
    After tests were added: tests only the earlier run's survivors again and prints the earlier scores with the new
    results merged in (minutes instead of the hour a full run takes).
#>
[CmdletBinding()]
param(
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Where the reports go (default out/mutation, git-ignored).
    [string] $Output,

    # Glob patterns that replace the config's "mutate" list (Stryker's syntax, '!' excludes).
    [string[]] $Mutate,

    # Inputs the fuzz test runs per mutant.
    [int] $FuzzIterations = 100,

    # Keep the copied tree after the run (to rerun Stryker by hand there); its path is printed.
    [switch] $KeepTree,

    # Print the scores of an existing mutation-report.json and stop (no Stryker run).
    [string] $Report,

    # Earlier runs' mutation-report.json files: only their survivors (Survived, NoCoverage) are tested again - each by
    # its exact character span, which Stryker's mutate filter takes ("File.cs{start..end}") - and a file whose source
    # changed since is tested whole. The scores printed are those of the earlier runs with the new results merged in
    # (merged-report.json beside the new report). For the round of "kill the survivors, check": tests are only added.
    [string[]] $Retest
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$Root = Split-Path $PSScriptRoot -Parent
if (-not $Output) { $Output = Join-Path $Root 'out/mutation' }
$Output = [IO.Path]::GetFullPath($Output)
$ConfigFile = Join-Path $PSScriptRoot 'stryker-config.json'

# What the engine and its tests need to build, relative to the repository root.
$TreeFiles = @('Directory.Build.props', 'Directory.Packages.props', 'global.json', 'nuget.config', '.editorconfig', '.config/dotnet-tools.json')
$TreeFolders = @('src/SmtpAuthTroubleshooter.Models', 'src/SmtpAuthTroubleshooter.Engine', 'tests/SmtpAuthTroubleshooter.Engine.Tests')

function Invoke-Native {
    $FilePath, $Arguments = $args
    & $FilePath @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "'$FilePath $($Arguments -join ' ')' failed with exit code $LASTEXITCODE."
    }
}

function Copy-SourceTree([string] $Destination) {
    if (Test-Path $Destination) { Remove-Item -Recurse -Force $Destination }
    $null = New-Item -ItemType Directory -Force -Path $Destination
    foreach ($file in $TreeFiles) {
        $from = Join-Path $Root $file
        if (-not (Test-Path $from)) { continue }
        $to = Join-Path $Destination $file
        $null = New-Item -ItemType Directory -Force -Path (Split-Path $to -Parent)
        Copy-Item $from $to
    }

    foreach ($folder in $TreeFolders) {
        $from = Join-Path $Root $folder
        Get-ChildItem $from -Recurse -File -Force | Where-Object {
            $relative = [IO.Path]::GetRelativePath($from, $_.FullName) -replace '\\', '/'
            $relative -notmatch '(^|/)(bin|obj|StrykerOutput|TestResults)/'
        } | ForEach-Object {
            $to = Join-Path $Destination $folder ([IO.Path]::GetRelativePath($from, $_.FullName))
            $null = New-Item -ItemType Directory -Force -Path (Split-Path $to -Parent)
            Copy-Item $_.FullName $to
        }
    }

    # -Mutate replaces the config's list in the copy (on the command line, pwsh would expand a pattern that names an
    # existing file into a relative path, which Stryker then matches against nothing). "a,b" as one argument (pwsh
    # -File from another shell) is two patterns.
    $config = Get-Content -Raw $ConfigFile | ConvertFrom-Json -AsHashtable
    if ($Mutate) {
        $config['stryker-config']['mutate'] = @($Mutate | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
    }

    $config | ConvertTo-Json -Depth 10 | Set-Content -Encoding utf8 (Join-Path $Destination 'stryker-config.json')

    # Stryker's per-test coverage resets and reads one process-wide list of hit mutants at each test's start and end.
    # xunit runs test classes in parallel, so one test's reset wipes what another test had hit so far, and code that
    # runs across awaits (the probe) was reported NoCoverage although tests run it. In the copy only, the tests run
    # one at a time.
    Set-Content -Encoding utf8 -Path (Join-Path $Destination 'tests/SmtpAuthTroubleshooter.Engine.Tests/StrykerSerialTests.cs') -Value @'
// Written by tools/Mutate.ps1 into the copied tree only: Stryker's per-test coverage needs tests run one at a time.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
'@
}

function Get-MutationScore($Mutants) {
    $counts = [ordered]@{ Killed = 0; Timeout = 0; Survived = 0; NoCoverage = 0; Other = 0 }
    foreach ($m in $Mutants) {
        if ($counts.Contains([string] $m.status)) { $counts[[string] $m.status]++ } else { $counts.Other++ }
    }

    $detected = $counts.Killed + $counts.Timeout
    $valid = $detected + $counts.Survived + $counts.NoCoverage
    [pscustomobject]@{
        Killed     = $counts.Killed
        Timeout    = $counts.Timeout
        Survived   = $counts.Survived
        NoCoverage = $counts.NoCoverage
        NotCounted = $counts.Other
        Score      = if ($valid) { [math]::Round(100.0 * $detected / $valid, 1) } else { $null }
    }
}

function Write-ScoreByFolder([string] $ReportPath) {
    $data = Get-Content -Raw $ReportPath | ConvertFrom-Json -AsHashtable
    $rows = foreach ($entry in $data.files.GetEnumerator()) {
        $path = $entry.Key -replace '\\', '/'
        $folder = if ($path -match 'SmtpAuthTroubleshooter\.Engine/([^/]+)/') { $Matches[1] } else { '(root)' }
        foreach ($m in $entry.Value.mutants) {
            [pscustomobject]@{ Folder = $folder; File = [IO.Path]::GetFileName($path); status = $m.status }
        }
    }

    # Files outside the mutate patterns are in the report with every mutant Ignored: they are left out here.
    $table = foreach ($group in $rows | Group-Object Folder | Sort-Object Name) {
        $score = Get-MutationScore $group.Group
        if ($null -eq $score.Score) { continue }
        [pscustomobject]@{
            Folder = $group.Name; Score = $score.Score; Killed = $score.Killed; Timeout = $score.Timeout
            Survived = $score.Survived; NoCoverage = $score.NoCoverage; NotCounted = $score.NotCounted
        }
    }

    $total = Get-MutationScore $rows
    $table = @($table) + [pscustomobject]@{
        Folder = 'All'; Score = $total.Score; Killed = $total.Killed; Timeout = $total.Timeout
        Survived = $total.Survived; NoCoverage = $total.NoCoverage; NotCounted = $total.NotCounted
    }

    Write-Host ''
    Write-Host 'Mutation score per folder (killed + timeout over all counted mutants; NotCounted = compile errors, ignored):'
    Write-Host ($table | Format-Table -AutoSize | Out-String).TrimEnd()

    $byFile = foreach ($group in $rows | Group-Object Folder, File | Sort-Object Name) {
        $score = Get-MutationScore $group.Group
        if ($null -eq $score.Score) { continue }
        [pscustomobject]@{ File = $group.Name -replace ', ', '/'; Score = $score.Score; Killed = $score.Killed + $score.Timeout; Survived = $score.Survived; NoCoverage = $score.NoCoverage }
    }

    Write-Host ''
    Write-Host 'Per file:'
    Write-Host ($byFile | Format-Table -AutoSize | Out-String).TrimEnd()

    # The mutants that no test noticed, one a line, for the next round of tests (or a reason why they are equivalent).
    $survivors = foreach ($entry in $data.files.GetEnumerator() | Sort-Object Key) {
        foreach ($m in $entry.Value.mutants | Where-Object { $_.status -in 'Survived', 'NoCoverage' }) {
            '{0}:{1} {2} {3}: {4}' -f ($entry.Key -replace '^.*SmtpAuthTroubleshooter\.Engine[\\/]', ''), $m.location.start.line, $m.status, $m.mutatorName, ("$($m.replacement)" -replace '\s+', ' ')
        }
    }

    $list = Join-Path (Split-Path $ReportPath -Parent) 'survivors.txt'
    Set-Content -Path $list -Value $survivors -Encoding utf8
    Write-Host ''
    Write-Host "$(@($survivors).Count) survivors (Survived, NoCoverage): $list"
}

# The engine-relative path of a file in a report ("Probe/SmtpProbe.cs"), whichever tree the report was made in.
function Get-EnginePath([string] $ReportKey) {
    ($ReportKey -replace '\\', '/') -replace '^.*SmtpAuthTroubleshooter\.Engine/', ''
}

function Get-MutantKey([string] $EnginePath, $Mutant) {
    $l = $Mutant.location
    '{0}|{1}:{2}-{3}:{4}|{5}|{6}' -f $EnginePath, $l.start.line, $l.start.column, $l.end.line, $l.end.column, $Mutant.mutatorName, $Mutant.replacement
}

# The mutate patterns that test the survivors of the earlier reports again, and the files to take whole from the new run.
function Get-RetestPlan([string[]] $Reports) {
    $patterns = [Collections.Generic.List[string]]::new()
    $whole = [Collections.Generic.HashSet[string]]::new()
    foreach ($path in $Reports) {
        $data = Get-Content -Raw $path | ConvertFrom-Json -AsHashtable
        foreach ($entry in $data.files.GetEnumerator()) {
            $enginePath = Get-EnginePath $entry.Key
            $survivors = @($entry.Value.mutants | Where-Object { $_.status -in 'Survived', 'NoCoverage' })
            if ($survivors.Count -eq 0) { continue }
            $current = Join-Path $Root "src/SmtpAuthTroubleshooter.Engine/$enginePath"
            $source = [string] $entry.Value.source
            if (-not (Test-Path $current) -or ([IO.File]::ReadAllText($current) -replace "`r`n", "`n") -ne ($source -replace "`r`n", "`n")) {
                if ($whole.Add($enginePath)) { $patterns.Add("**/SmtpAuthTroubleshooter.Engine/$enginePath") }
                continue
            }

            # Character offsets from the report's 1-based lines and columns.
            $lineStart = [Collections.Generic.List[int]]::new()
            $lineStart.Add(0)
            for ($i = 0; $i -lt $source.Length; $i++) { if ($source[$i] -eq "`n") { $lineStart.Add($i + 1) } }
            foreach ($m in $survivors) {
                $from = $lineStart[$m.location.start.line - 1] + $m.location.start.column - 1
                $to = $lineStart[$m.location.end.line - 1] + $m.location.end.column - 1
                $patterns.Add("**/SmtpAuthTroubleshooter.Engine/$enginePath{$from..$to}")
            }
        }
    }

    [pscustomobject]@{ Patterns = $patterns; Whole = $whole }
}

# The earlier reports with the new run's statuses merged in: a survivor the new run killed counts as killed; a file
# tested whole is taken from the new run.
function Merge-Report([string[]] $Reports, [string] $NewReport, $Whole, [string] $Destination) {
    $new = Get-Content -Raw $NewReport | ConvertFrom-Json -AsHashtable
    $status = @{}
    $newFiles = @{}
    foreach ($entry in $new.files.GetEnumerator()) {
        $enginePath = Get-EnginePath $entry.Key
        $newFiles[$enginePath] = $entry.Value
        foreach ($m in $entry.Value.mutants) {
            if ($m.status -ne 'Ignored') { $status[(Get-MutantKey $enginePath $m)] = $m.status }
        }
    }

    $merged = Get-Content -Raw $Reports[0] | ConvertFrom-Json -AsHashtable
    $merged.files = [ordered]@{}
    $changed = 0
    foreach ($path in $Reports) {
        $data = Get-Content -Raw $path | ConvertFrom-Json -AsHashtable
        foreach ($entry in $data.files.GetEnumerator()) {
            $enginePath = Get-EnginePath $entry.Key
            if ($Whole.Contains($enginePath)) { $merged.files[$entry.Key] = $newFiles[$enginePath]; continue }
            if ($merged.files.Contains($entry.Key) -and -not ($entry.Value.mutants | Where-Object { $_.status -ne 'Ignored' })) { continue }
            foreach ($m in $entry.Value.mutants | Where-Object { $_.status -in 'Survived', 'NoCoverage' }) {
                $now = $status[(Get-MutantKey $enginePath $m)]
                if ($now -and $now -ne $m.status) { $m.status = $now; $changed++ }
            }

            $merged.files[$entry.Key] = $entry.Value
        }
    }

    $merged | ConvertTo-Json -Depth 20 -Compress | Set-Content -Encoding utf8 $Destination
    Write-Host "Merged $($Reports.Count) earlier report(s) with the new run: $changed survivor(s) changed status."
}

if ($Report) {
    Write-ScoreByFolder (Resolve-Path $Report).Path
    return
}

$plan = $null
if ($Retest) {
    $Retest = @($Retest | ForEach-Object { (Resolve-Path $_).Path })
    $plan = Get-RetestPlan $Retest
    if ($plan.Patterns.Count -eq 0) { Write-Host 'The earlier reports have no survivors.'; return }
    $Mutate = @($plan.Patterns)
    Write-Host "Testing again $($Mutate.Count) survivor span(s); files tested whole (changed since): $(@($plan.Whole) -join ', ')"
}

if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) { throw 'The .NET SDK (dotnet) is required: https://dot.net' }

Push-Location $Root
try { Invoke-Native dotnet tool restore }
finally { Pop-Location }

# The copy lives in the temp folder, not under out/: a 'build.ps1 Clean' during the run must not pull it away.
$tree = Join-Path ([IO.Path]::GetTempPath()) "smtpauth-mutate-$PID"
$reportRoot = Join-Path $Output (Get-Date -Format 'yyyyMMdd-HHmmss')
Write-Host "Copying the engine and its tests to $tree"
Copy-SourceTree $tree

$arguments = @('dotnet-stryker', '--config-file', 'stryker-config.json', '--configuration', $Configuration, '--output', $reportRoot, '--skip-version-check')

$previousFuzz = $env:SMTPAUTH_FUZZ_ITERATIONS
$env:SMTPAUTH_FUZZ_ITERATIONS = "$FuzzIterations"
Push-Location $tree
try {
    Invoke-Native dotnet @arguments
}
finally {
    Pop-Location
    $env:SMTPAUTH_FUZZ_ITERATIONS = $previousFuzz
    if (-not $KeepTree) { Remove-Item -Recurse -Force $tree -ErrorAction SilentlyContinue }
}

$json = Get-ChildItem (Join-Path $reportRoot 'reports') -Filter '*.json' -ErrorAction SilentlyContinue | Select-Object -First 1
if (-not $json) { throw "Stryker wrote no JSON report under $reportRoot." }
if ($plan) {
    $mergedPath = Join-Path $reportRoot 'reports/merged-report.json'
    Merge-Report $Retest $json.FullName $plan.Whole $mergedPath
    Write-ScoreByFolder $mergedPath
}
else {
    Write-ScoreByFolder $json.FullName
}
Write-Host ''
Write-Host "Reports: $(Join-Path $reportRoot 'reports')"
