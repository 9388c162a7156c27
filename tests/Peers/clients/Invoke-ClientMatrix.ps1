#Requires -Version 7.0
<#
.SYNOPSIS
    Runs the client matrix (ClientMatrix.ps1) against fresh ExoEmulators and returns what each client printed, with the
    module's reading of it (Got, Top3) and the reading the text supports (Reading, Get-ClientMatrixExpected).
    -OutFile writes all of it as a TSV (texts escaped \\, \t, \r, \n); -DataFile writes the failures in the format of
    tests/SmtpAuthTroubleshooter.Engine.Tests/Data/RealClientErrors.tsv (client, clientVersion, scenario,
    expectedCauseId, text), to (re)capture it.
.EXAMPLE
    dotnet pwsh ./tests/Peers/clients/Invoke-ClientMatrix.ps1 -OutFile /tmp/matrix.tsv -Client curl,msmtp
#>
param(
    [string] $OutFile,
    [string] $DataFile,
    [string[]] $Client,
    [string[]] $Scenario,
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../../out/SmtpAuthTroubleshooter/0.1.0/SmtpAuthTroubleshooter.psd1'),
    [int] $ThrottleLimit = 3
)
$ErrorActionPreference = 'Stop'
$Client = @($Client | ForEach-Object { $_ -split ',' }); $Scenario = @($Scenario | ForEach-Object { $_ -split ',' })
. "$PSScriptRoot/../../Pester/emulator.ps1"
. "$PSScriptRoot/../PeerTools.ps1"
. "$PSScriptRoot/ClientMatrix.ps1"
$ModulePath = (Resolve-Path $ModulePath).Path
Import-Module $ModulePath
$deps = Join-Path (Split-Path $ModulePath) 'dependencies'

$clients = Get-ClientMatrixClients | Where-Object { -not $Client -or $Client -contains $_.Name }
$available = foreach ($c in $clients) {
    if (Test-ClientMatrixClient $c) { $c } else { Write-Warning "$($c.Name): not installed, skipped" }
}
$scenarios = Get-ClientMatrixScenarios | Where-Object { -not $Scenario -or $Scenario -contains $_.Name }
$emulators = Start-ClientMatrixEmulators -Keys @($scenarios.Emulator | Sort-Object -Unique)
try {
    $secrets = New-ClientMatrixSecrets
    $rows = Invoke-ClientMatrix -Clients $available -Scenarios $scenarios -Emulators $emulators -Secrets $secrets -MailKitDirectory $deps -ThrottleLimit $ThrottleLimit
}
finally { Stop-ClientMatrixEmulators $emulators }
$allSecrets = @($secrets.Values) + @($scenarios | ForEach-Object Password | Where-Object { $_ })
foreach ($r in $rows) {
    foreach ($s in $allSecrets) { if ($r.Text.Contains($s)) { throw "$($r.Client) printed a secret in $($r.Scenario); nothing written" } }
    $ids = @(Resolve-SmtpAuthError -InputObject $r.Text -ErrorAction SilentlyContinue | Where-Object Verdict -NE 'RuledOut' | ForEach-Object CauseId)
    $r | Add-Member -NotePropertyName Reading -NotePropertyValue (Get-ClientMatrixExpected -Client $r.Client -Scenario $r.Scenario -Text $r.Text -ScenarioCause $r.Expected)
    $r | Add-Member -NotePropertyName Got -NotePropertyValue ($ids | Select-Object -First 1)
    $r | Add-Member -NotePropertyName Top3 -NotePropertyValue (($ids | Select-Object -First 3) -join ',')
}
$rows = $rows | Sort-Object Client, Scenario
if ($OutFile) {
    $esc = { param($t) $t.Replace('\', '\\').Replace("`t", '\t').Replace("`r", '\r').Replace("`n", '\n') }
    $lines = @("client`tclientVersion`tscenario`tscenarioCause`treading`tgot`ttop3`ttext") + ($rows | ForEach-Object { "$($_.Client)`t$($_.ClientVersion)`t$($_.Scenario)`t$($_.Expected)`t$($_.Reading)`t$($_.Got)`t$($_.Top3)`t$(& $esc $_.Text)" })
    Set-Content -LiteralPath $OutFile -Value $lines -Encoding utf8
}
if ($DataFile) {
    # The file escapes a backslash as \\, a tab as \t and a line break as \n (RealWorldErrors.tsv's convention); a CR is dropped.
    $esc = { param($t) $t.Replace("`r", '').Replace('\', '\\').Replace("`t", '\t').Replace("`n", '\n') }
    $lines = @("client`tclientVersion`tscenario`texpectedCauseId`ttext") + ($rows | Where-Object Text -NE 'SENT' | ForEach-Object { "$($_.Client)`t$($_.ClientVersion)`t$($_.Scenario)`t$($_.Reading)`t$(& $esc $_.Text)" })
    Set-Content -LiteralPath $DataFile -Value $lines -Encoding utf8
}
$rows
