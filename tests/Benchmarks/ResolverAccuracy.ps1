#requires -Version 7.4
<#
.SYNOPSIS
    Benchmark (not a test): Resolve-SmtpAuthError's accuracy on the real-world corpus
    (tests/SmtpAuthTroubleshooter.Engine.Tests/Data/RealWorldErrors.tsv: error texts users posted in public issue threads,
    Q&A pages and logs, each with its source and the cause its resolution shows). Every text is resolved as an admin would
    paste it (no -AuthMethod, no policy state); prints top-1 and top-3 accuracy overall and per failure class, and the
    time per text. The floor that a test holds is in RealWorldCorpusTests.cs. Run with: dotnet pwsh ./build.ps1 Benchmark
#>
param([Parameter(Mandatory)][string] $ModulePath, [switch] $ShowMisses)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath

$path = Join-Path $PSScriptRoot '../SmtpAuthTroubleshooter.Engine.Tests/Data/RealWorldErrors.tsv'
$rows = Get-Content -LiteralPath $path -Encoding utf8 | Select-Object -Skip 1 | Where-Object { $_ } | ForEach-Object {
    $f = $_ -split "`t", 4
    # The file escapes \\, \t and \n so that each text is one line.
    $text = [regex]::Replace($f[3], '\\(.)', { param($m) switch ($m.Groups[1].Value) { 'n' { "`n" } 't' { "`t" } '\' { '\' } default { $m.Value } } })
    [pscustomobject]@{ Class = $f[0]; Expected = $f[1]; Source = $f[2]; Text = $text }
}

$sw = [System.Diagnostics.Stopwatch]::StartNew()
$scored = foreach ($row in $rows) {
    $ids = @(Resolve-SmtpAuthError -InputObject $row.Text -ErrorAction SilentlyContinue | Where-Object Verdict -NE 'RuledOut' | ForEach-Object CauseId)
    [pscustomobject]@{
        Class = $row.Class; Expected = $row.Expected; Source = $row.Source; Got = $ids | Select-Object -First 1
        Top1 = ($ids.Count -gt 0 -and $ids[0] -eq $row.Expected); Top3 = ($ids | Select-Object -First 3) -contains $row.Expected
    }
}
$elapsed = $sw.Elapsed.TotalMilliseconds

$total = $scored.Count
$top1 = @($scored | Where-Object Top1).Count
$top3 = @($scored | Where-Object Top3).Count
'Real-world corpus: {0} texts; top-1 {1:P1} ({2}), top-3 {3:P1} ({4}); {5:F2} ms per text' -f $total, ($top1 / $total), $top1, ($top3 / $total), $top3, ($elapsed / $total)
$scored | Group-Object Class | Sort-Object Name | ForEach-Object {
    $n = $_.Count
    [pscustomobject]@{
        Class = $_.Name
        Texts = $n
        Top1 = '{0:P0}' -f (@($_.Group | Where-Object Top1).Count / $n)
        Top3 = '{0:P0}' -f (@($_.Group | Where-Object Top3).Count / $n)
    }
} | Format-Table -AutoSize | Out-String -Width 120

if ($ShowMisses) {
    $scored | Where-Object { -not $_.Top1 } | Format-Table Class, Expected, Got, Source -AutoSize | Out-String -Width 200
}
