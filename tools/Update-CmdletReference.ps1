#requires -Version 7.4
<#
.SYNOPSIS
    Writes tests/SmtpAuthTroubleshooter.Cmdlet.Tests/Data/CmdletReference.json: for every Exchange Online cmdlet the
    module's fix commands and texts name, its parameters and, per parameter set, the mandatory ones, read from
    Microsoft's cmdlet reference (the MicrosoftDocs/office-docs-powershell repository, as published on
    learn.microsoft.com/powershell/module/exchangepowershell).

.DESCRIPTION
    The fix commands are tested against this file (FixCommandTests): a command that misses a mandatory parameter
    prompts at a console and fails in a runbook, and a misspelled parameter fails everywhere; the PowerShell parser
    accepts both. Re-run this script against a newer clone of the docs repository when a cmdlet is added to a command
    or a text, and commit the JSON with the commit it names.

.PARAMETER DocsRepository
    A git directory (bare or not) of github.com/MicrosoftDocs/office-docs-powershell.

.EXAMPLE
    ./tools/Update-CmdletReference.ps1 -DocsRepository ~/src/office-docs-powershell
#>
param(
    [Parameter(Mandatory)][string] $DocsRepository,
    [string] $Revision = 'HEAD',
    [string] $OutputPath = (Join-Path $PSScriptRoot '../tests/SmtpAuthTroubleshooter.Cmdlet.Tests/Data/CmdletReference.json')
)
$ErrorActionPreference = 'Stop'

$cmdlets = @(
    'Add-MailboxPermission', 'Add-RecipientPermission', 'Get-AcceptedDomain', 'Get-AuthenticationPolicy', 'Get-BlockedSenderAddress',
    'Get-CASMailbox', 'Get-EXOCasMailbox', 'Get-EXOMailbox', 'Get-EXOMailboxStatistics', 'Get-InboundConnector', 'Get-Mailbox',
    'Get-MailboxPermission', 'Get-MessageTraceV2', 'Get-OrganizationConfig', 'Get-RecipientPermission', 'Get-ServicePrincipal',
    'Get-TransportConfig', 'Get-User', 'New-InboundConnector', 'New-ServicePrincipal', 'Remove-BlockedSenderAddress',
    'Set-AuthenticationPolicy', 'Set-CASMailbox', 'Set-TransportConfig', 'Set-User'
)

# The mandatory parameters of one syntax line: "-Name <T>" outside brackets, and "[-Name] <T>" (mandatory, positional).
function Get-MandatoryParameter([string] $Syntax) {
    $required = [System.Collections.Generic.List[string]]::new()
    $depth = 0
    for ($i = 0; $i -lt $Syntax.Length; $i++) {
        $ch = $Syntax[$i]
        if ($ch -eq '[') { $depth++; continue }
        if ($ch -eq ']') { $depth--; continue }
        if ($ch -ne '-' -or ($i -gt 0 -and $Syntax[$i - 1] -notin ' ', '[', "`n")) { continue }
        $m = [regex]::Match($Syntax.Substring($i), '^-(?<name>[A-Za-z0-9]+)')
        if (-not $m.Success) { continue }
        $name = $m.Groups['name'].Value
        $after = $i + $m.Length
        if ($depth -eq 0) { $required.Add($name) }
        elseif ($depth -eq 1 -and $Syntax[$i - 1] -eq '[' -and $Syntax.Substring($after) -match '^\]\s*<' -and
            ($i -lt 2 -or $Syntax[$i - 2] -ne '[')) { $required.Add($name) }
    }
    $required | Where-Object { $_ -notin 'Confirm', 'WhatIf' } | Select-Object -Unique
}

$commit = (git -C $DocsRepository rev-parse $Revision).Trim()
$date = (git -C $DocsRepository log -1 --format=%cs $commit).Trim()
$table = [ordered]@{}
foreach ($name in $cmdlets) {
    $text = (git -C $DocsRepository show "${commit}:exchange/exchange-ps/ExchangePowerShell/$name.md") -join "`n"
    if ($LASTEXITCODE -ne 0) { throw "$name is not in the docs repository at $commit." }
    $syntax = ($text -split '(?m)^## SYNTAX')[1] -split '(?m)^## DESCRIPTION' | Select-Object -First 1
    $sets = foreach ($block in [regex]::Matches($syntax, '(?ms)(?:^### (?<set>[^\r\n]+)\s*)?^```\s*\n(?<body>.*?)^```')) {
        $set = if ($block.Groups['set'].Success) { $block.Groups['set'].Value.Trim() } else { '(All)' }
        [ordered]@{ name = $set; required = @(Get-MandatoryParameter $block.Groups['body'].Value) }
    }
    $parameters = foreach ($p in [regex]::Matches(($text -split '(?m)^## PARAMETERS')[1], '(?m)^### -(?<name>[A-Za-z0-9]+)\s*$')) { $p.Groups['name'].Value }
    $table[$name] = [ordered]@{
        url           = 'https://learn.microsoft.com/powershell/module/exchangepowershell/' + $name.ToLowerInvariant()
        parameters    = @($parameters | Where-Object { $_ -notin 'Confirm', 'WhatIf' })
        parameterSets = @($sets)
    }
}

$doc = [ordered]@{
    source  = [ordered]@{ repository = 'https://github.com/MicrosoftDocs/office-docs-powershell'; commit = $commit; date = $date; path = 'exchange/exchange-ps/ExchangePowerShell/<cmdlet>.md' }
    cmdlets = $table
}
$doc | ConvertTo-Json -Depth 6 | Set-Content -Path $OutputPath -Encoding utf8NoBOM
Get-Item $OutputPath
