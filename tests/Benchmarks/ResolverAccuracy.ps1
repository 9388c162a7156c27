#requires -Version 7.4
<#
.SYNOPSIS
    Benchmark (not a test): Resolve-SmtpAuthError's accuracy on the real-world corpus
    (tests/SmtpAuthTroubleshooter.Engine.Tests/Data/RealWorldErrors.tsv: error texts users posted in public issue threads,
    Q&A pages and logs, each with its source, the cause its resolution shows, and the authentication method the thread
    says the client used, where it says). Every text is resolved twice, with no policy state: as an admin would paste it
    (no -AuthMethod), and with -AuthMethod set to the method the thread states (as an admin who knows how the app signs in
    would run it). Prints top-1 and top-3 accuracy for both, per failure class, and the time per text. The floors that a
    test holds are in RealWorldCorpusTests.cs. Run with: dotnet pwsh ./build.ps1 Benchmark
    -CorpusPath measures another file of the same format (a subset, say, or a batch of rows not yet merged).
#>
param([Parameter(Mandatory)][string] $ModulePath, [switch] $ShowMisses, [string] $CorpusPath = (Join-Path $PSScriptRoot '../SmtpAuthTroubleshooter.Engine.Tests/Data/RealWorldErrors.tsv'))
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath

$rows = Get-Content -LiteralPath $CorpusPath -Encoding utf8 | Where-Object { $_ -and $_ -notmatch '^class\texpectedCauseId\t' } | ForEach-Object {
    $f = $_ -split "`t", 5
    # The file escapes \\, \t and \n so that each text is one line.
    $text = [regex]::Replace($f[4], '\\(.)', { param($m) switch ($m.Groups[1].Value) { 'n' { "`n" } 't' { "`t" } '\' { '\' } default { $m.Value } } })
    [pscustomobject]@{ Class = $f[0]; Expected = $f[1]; Source = $f[2]; StatedAuth = $f[3]; Text = $text }
}

function Measure-Corpus([switch] $WithStatedAuth) {
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $scored = foreach ($row in $rows) {
        $method = if ($WithStatedAuth -and $row.StatedAuth) { @{ AuthMethod = $row.StatedAuth } } else { @{} }
        $ids = @(Resolve-SmtpAuthError -InputObject $row.Text @method -ErrorAction SilentlyContinue | Where-Object Verdict -NE 'RuledOut' | ForEach-Object CauseId)
        [pscustomobject]@{
            Class = $row.Class; Expected = $row.Expected; Source = $row.Source; Got = $ids | Select-Object -First 1
            Top1 = ($ids.Count -gt 0 -and $ids[0] -eq $row.Expected); Top3 = ($ids | Select-Object -First 3) -contains $row.Expected
        }
    }
    [pscustomobject]@{ Scored = $scored; Milliseconds = $sw.Elapsed.TotalMilliseconds }
}

$textOnly = Measure-Corpus
$stated = Measure-Corpus -WithStatedAuth
foreach ($run in @(@{ Name = 'the text alone'; R = $textOnly }, @{ Name = 'with -AuthMethod as the thread states it'; R = $stated })) {
    $scored = $run.R.Scored
    $total = $scored.Count
    $top1 = @($scored | Where-Object Top1).Count
    $top3 = @($scored | Where-Object Top3).Count
    'Real-world corpus, {6}: {0} texts; top-1 {1:P2} ({2}), top-3 {3:P2} ({4}); {5:F2} ms per text' -f $total, ($top1 / $total), $top1, ($top3 / $total), $top3, ($run.R.Milliseconds / $total), $run.Name
}
# The corpus in the order it grew: the rows the catalog was written against, then each batch collected blind
# (Data/RealWorldErrors.collection-2026-12.md). A batch's first figure, measured before any change for it, is in that file.
if (-not $PSBoundParameters.ContainsKey('CorpusPath')) {
    $parts = @(@{ Name = 'rows 1-358, collected while the catalog was written'; From = 0; To = 357 },
        @{ Name = 'rows 359-450, blind round 1'; From = 358; To = 449 },
        @{ Name = 'rows 451-487, blind round 2'; From = 450; To = 486 },
        @{ Name = 'rows 488-542, blind round 3'; From = 487; To = 541 },
        @{ Name = 'rows 543-588, blind round 4'; From = 542; To = 587 },
        @{ Name = 'rows 589-622, blind round 5'; From = 588; To = 621 },
        @{ Name = 'rows 623-641, blind round 6'; From = 622; To = 640 },
        @{ Name = 'rows 642-668, blind round 7 (devices and appliances)'; From = 641; To = 667 },
        @{ Name = 'rows 669-684, blind round 8 (business applications)'; From = 668; To = 683 },
        @{ Name = 'rows 685-697, blind round 9 (automation, CI/CD, cloud)'; From = 684; To = 696 },
        @{ Name = 'rows 698 on, blind round 10 (other languages) and later'; From = 697; To = $textOnly.Scored.Count - 1 })
    foreach ($part in $parts) {
        if ($part.From -gt $part.To) { continue }
        $slice = $textOnly.Scored[$part.From..$part.To]
        $n = $slice.Count
        '  {0}: {1} texts; top-1 {2:P1} ({3}), top-3 {4:P1}' -f $part.Name, $n, (@($slice | Where-Object Top1).Count / $n), @($slice | Where-Object Top1).Count, (@($slice | Where-Object Top3).Count / $n)
    }
}
'Rows with a stated method: {0} (OAuth {1}, Basic {2})' -f @($rows | Where-Object StatedAuth).Count, @($rows | Where-Object StatedAuth -EQ 'OAuth').Count, @($rows | Where-Object StatedAuth -EQ 'Basic').Count
$scored = $textOnly.Scored
$withMethod = $stated.Scored
$i = 0
$scored | ForEach-Object { $_ | Add-Member -NotePropertyName Top1WithMethod -NotePropertyValue $withMethod[$i].Top1; $i++ }
$scored | Group-Object Class | Sort-Object Name | ForEach-Object {
    $n = $_.Count
    [pscustomobject]@{
        Class = $_.Name
        Texts = $n
        Top1 = '{0:P0}' -f (@($_.Group | Where-Object Top1).Count / $n)
        Top3 = '{0:P0}' -f (@($_.Group | Where-Object Top3).Count / $n)
        Top1WithMethod = '{0:P0}' -f (@($_.Group | Where-Object Top1WithMethod).Count / $n)
    }
} | Format-Table -AutoSize | Out-String -Width 120

# What the missed texts carry. Texts are grouped by the SMTP reply they hold: the last enhanced status code, the next
# twelve words of its reason, whether a method shows (XOAUTH2/token words or LOGIN/PLAIN/password words; with the stated
# method, that method) and whether an EOP/MX host shows; server tails in brackets, times, addresses and host names do not
# count. Rows of one group look alike to anything that reads the reply, so at most the most common expected cause of
# each group can be right. That ceiling is an estimate, and generous: rows without any reply count as right, and wrapper
# words are kept apart even when they carry no cause.
function Get-ReplyKey([string] $Text, [string] $Method) {
    $n = $Text.ToLowerInvariant()
    $mx = if ($n -match 'protection\.outlook\.com|\beop-') { 'mx' } else { '' }
    $n = $n -replace '\[[^\]]*\]', ' ' -replace '\d{4}-\d\d-\d\dt[\d:.]+z?', ' ' -replace '[\w.-]+@[\w.-]+', '<addr>'
    $n = $n -replace '\b[a-z0-9-]+(\.[a-z0-9-]+)+\.(com|net|org|cn|de|io)\b', '<host>' -replace '[^\p{L}\p{N}<>. ]+', ' ' -replace '\s+', ' '
    $n = $n.Trim(' ', '.')
    if (-not $Method) { $Method = if ($n -match 'xoauth|oauth|bearer|token') { 'oauth' } elseif ($n -match 'auth login|auth plain|password|passwd') { 'basic' } else { '' } }
    $codes = [regex]::Matches($n, '(?<![\d.])([245]\.\d{1,3}\.\d{1,3})\b')
    if ($codes.Count -eq 0) { return [pscustomobject]@{ Key = "none|$n|$($Method.ToLowerInvariant())|$mx"; HasReply = $n -match '\b[245]\d\d\b' } }
    $last = $codes[$codes.Count - 1]
    $reason = ($n.Substring($last.Index + $last.Length) -split '\b(?:at|in|code|response|responsecode|command|stack|error) ')[0]
    $reason = (@($reason -split ' ' | Where-Object { $_ }) | Select-Object -First 12) -join ' '
    [pscustomobject]@{ Key = "$($last.Value)|$reason|$($Method.ToLowerInvariant())|$mx"; HasReply = $true }
}
foreach ($run in @(@{ Name = 'the text alone'; Scored = $textOnly.Scored; Stated = $false }, @{ Name = 'with the stated method'; Scored = $stated.Scored; Stated = $true })) {
    $keys = for ($k = 0; $k -lt $rows.Count; $k++) { Get-ReplyKey $rows[$k].Text $(if ($run.Stated) { $rows[$k].StatedAuth } else { '' }) }
    $groups = @{}
    for ($k = 0; $k -lt $rows.Count; $k++) {
        if (-not $groups.ContainsKey($keys[$k].Key)) { $groups[$keys[$k].Key] = @{} }
        $groups[$keys[$k].Key][$rows[$k].Expected] = 1 + [int]$groups[$keys[$k].Key][$rows[$k].Expected]
    }
    $ceiling = 0; foreach ($g in $groups.Values) { $ceiling += ($g.Values | Measure-Object -Maximum).Maximum }
    $none = 0; $shared = 0; $own = 0
    for ($k = 0; $k -lt $rows.Count; $k++) {
        if ($run.Scored[$k].Top1) { continue }
        if ($groups[$keys[$k].Key].Count -gt 1) { $shared++ } elseif (-not $keys[$k].HasReply) { $none++ } else { $own++ }
    }
    'Misses, {0}: {1}; {2} hold no SMTP reply (a wrapper''s words only: the cause came from the thread), {3} hold a reply that rows of another cause hold too, {4} hold a reply of their own. Reply ceiling (estimate): {5:P1} ({6} of {7}).' -f $run.Name, ($none + $shared + $own), $none, $shared, $own, ($ceiling / $rows.Count), $ceiling, $rows.Count
}

if ($ShowMisses) {
    $scored | Where-Object { -not $_.Top1 } | Format-Table Class, Expected, Got, Source -AutoSize | Out-String -Width 200
}
