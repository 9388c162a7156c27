#requires -Version 7.4
<#
.SYNOPSIS
    Builds the module's MAML help (SmtpAuthTroubleshooter.dll-Help.xml) and about_ topics from the platyPS-format
    markdown in docs/en-US.

.DESCRIPTION
    platyPS is not served by the registries this project can reach (STYLE rule 46), so this script reads the
    platyPS v1 markdown schema 2.0.0 itself: SYNOPSIS, SYNTAX (one ### per parameter set, or one block), DESCRIPTION,
    EXAMPLES (### titles, a fenced code block, remarks), PARAMETERS (### -Name, description, a yaml block), INPUTS,
    OUTPUTS, NOTES, RELATED LINKS. about_*.md files become about_*.help.txt. When platyPS is installed, New-ExternalHelp
    gives the same result. The output is committed; the Test task checks it is current.

.EXAMPLE
    ./tools/ConvertTo-MamlHelp.ps1 -DocsPath ./docs/en-US -OutputPath ./docs/en-US/SmtpAuthTroubleshooter.dll-Help.xml
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $DocsPath,
    [Parameter(Mandatory)][string] $OutputPath,
    # Write nothing; return the XML text (used by the test that checks the committed file is current).
    [switch] $PassThru
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

function Split-Sections([string[]] $Lines, [string] $Prefix) {
    # Returns an ordered dictionary: heading text -> lines under it, for headings that start with $Prefix.
    $sections = [ordered]@{}
    $current = $null
    foreach ($line in $Lines) {
        if ($line.StartsWith($Prefix) -and -not $line.StartsWith($Prefix + '#')) {
            $current = $line.Substring($Prefix.Length).Trim()
            $sections[$current] = [System.Collections.Generic.List[string]]::new()
        }
        elseif ($null -ne $current) {
            $sections[$current].Add($line)
        }
    }
    $sections
}

function Get-Paragraphs([AllowNull()][AllowEmptyCollection()][object[]] $Lines) {
    # Blank-line separated paragraphs, with code fences removed and lines joined.
    $paras = [System.Collections.Generic.List[string]]::new()
    $buffer = [System.Collections.Generic.List[string]]::new()
    foreach ($line in @($Lines)) {
        if ([string]::IsNullOrWhiteSpace($line)) {
            if ($buffer.Count) { $paras.Add(($buffer -join ' ')); $buffer.Clear() }
        }
        else { $buffer.Add($line.Trim()) }
    }
    if ($buffer.Count) { $paras.Add(($buffer -join ' ')) }
    $paras
}

function Get-Fenced([object[]] $Lines) {
    # Splits lines into the first fenced block's text and the lines after it.
    $start = -1; $end = -1
    for ($i = 0; $i -lt $Lines.Count; $i++) {
        if ($Lines[$i].TrimStart().StartsWith('```')) {
            if ($start -lt 0) { $start = $i } else { $end = $i; break }
        }
    }
    if ($start -lt 0 -or $end -lt 0) { return @{ Code = $null; Before = $Lines; After = @() } }
    @{
        Code   = ($Lines[($start + 1)..($end - 1)] -join "`n")
        Before = if ($start -gt 0) { $Lines[0..($start - 1)] } else { @() }
        After  = if ($end + 1 -lt $Lines.Count) { $Lines[($end + 1)..($Lines.Count - 1)] } else { @() }
    }
}

function Write-Paras([System.Xml.XmlWriter] $W, [string[]] $Paras) {
    foreach ($p in $Paras) { $W.WriteElementString('maml', 'para', $ns.maml, $p) }
}

function Read-CommandDoc([string] $Path) {
    $lines = [System.Collections.Generic.List[string]]::new([string[]](Get-Content $Path))
    # Drop the YAML front matter.
    if ($lines[0] -eq '---') {
        $close = $lines.IndexOf('---', 1)
        $lines.RemoveRange(0, $close + 1)
    }
    $name = ($lines | Where-Object { $_ -match '^# ' } | Select-Object -First 1).Substring(2).Trim()
    $sections = Split-Sections $lines '## '

    $parameters = [System.Collections.Generic.List[object]]::new()
    foreach ($entry in (Split-Sections $sections['PARAMETERS'] '### ').GetEnumerator()) {
        if ($entry.Key -eq 'CommonParameters') { continue }
        $fenced = Get-Fenced @($entry.Value)
        $meta = @{}
        foreach ($l in $fenced.Code -split "`n") {
            if ($l -match '^(?<k>[^:]+):\s*(?<v>.*)$') { $meta[$Matches.k.Trim()] = $Matches.v.Trim() }
        }
        $parameters.Add([pscustomobject]@{
                Name        = $entry.Key.TrimStart('-')
                Description = @(Get-Paragraphs $fenced.Before)
                Type        = $meta['Type']
                Sets        = @(($meta['Parameter Sets'] ?? '(All)') -split ',\s*')
                Aliases     = $meta['Aliases']
                Required    = $meta['Required'] -eq 'True'
                Position    = $meta['Position'] ?? 'Named'
                Default     = $meta['Default value'] ?? 'None'
                Pipeline    = $meta['Accept pipeline input'] ?? 'False'
                Globbing    = $meta['Accept wildcard characters'] -eq 'True'
                Accepted    = $meta['Accepted values']
            })
    }

    $setNames = @((Split-Sections $sections['SYNTAX'] '### ').Keys | ForEach-Object { ($_ -replace '\s*\(Default\)\s*$', '') })
    if (-not $setNames) { $setNames = @('(All)') }

    $examples = foreach ($entry in (Split-Sections $sections['EXAMPLES'] '### ').GetEnumerator()) {
        $fenced = Get-Fenced @($entry.Value)
        [pscustomobject]@{ Title = $entry.Key; Code = $fenced.Code; Remarks = @(Get-Paragraphs $fenced.After) }
    }

    $typed = { param($key) foreach ($e in (Split-Sections $sections[$key] '### ').GetEnumerator()) { [pscustomobject]@{ Type = $e.Key; Description = @(Get-Paragraphs $e.Value) } } }
    $links = foreach ($l in $sections['RELATED LINKS']) {
        if ($l -match '^\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)') {
            $text = $Matches.text; $uri = $Matches.uri
            [pscustomobject]@{ Text = $text; Uri = $uri.StartsWith('http') ? $uri : '' }
        }
    }

    [pscustomobject]@{
        Name        = $name
        Synopsis    = (Get-Paragraphs $sections['SYNOPSIS']) -join ' '
        Description = @(Get-Paragraphs $sections['DESCRIPTION'])
        Parameters  = $parameters
        Sets        = $setNames
        Examples    = @($examples)
        Inputs      = @(& $typed 'INPUTS')
        Outputs     = @(& $typed 'OUTPUTS')
        Notes       = @(Get-Paragraphs @($sections['NOTES']))
        Links       = @($links)
    }
}

function Write-Parameter([System.Xml.XmlWriter] $W, $P, [string] $SetName) {
    $W.WriteStartElement('command', 'parameter', $ns.command)
    $W.WriteAttributeString('required', $P.Required.ToString().ToLowerInvariant())
    $W.WriteAttributeString('variableLength', 'true')
    $W.WriteAttributeString('globbing', $P.Globbing.ToString().ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', $P.Pipeline)
    $W.WriteAttributeString('position', ($P.Position -eq 'Named') ? 'named' : $P.Position)
    $W.WriteAttributeString('aliases', ($P.Aliases) ? $P.Aliases : 'none')
    $W.WriteElementString('maml', 'name', $ns.maml, $P.Name)
    $W.WriteStartElement('maml', 'description', $ns.maml); Write-Paras $W $P.Description; $W.WriteEndElement()
    if ($P.Accepted) {
        $W.WriteStartElement('command', 'parameterValueGroup', $ns.command)
        foreach ($v in $P.Accepted -split ',\s*') {
            $W.WriteStartElement('command', 'parameterValue', $ns.command)
            $W.WriteAttributeString('required', 'false'); $W.WriteAttributeString('command', 'parameterValue', $ns.command, 'false')
            $W.WriteString($v); $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }
    if ($P.Type -ne 'SwitchParameter') {
        $W.WriteStartElement('command', 'parameterValue', $ns.command)
        $W.WriteAttributeString('required', $P.Required.ToString().ToLowerInvariant()); $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($P.Type); $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $ns.dev); $W.WriteElementString('maml', 'name', $ns.maml, $P.Type); $W.WriteElementString('maml', 'uri', $ns.maml, ''); $W.WriteEndElement()
    $W.WriteElementString('dev', 'defaultValue', $ns.dev, $P.Default)
    $W.WriteEndElement()
}

function Write-Command([System.Xml.XmlWriter] $W, $Doc) {
    $verb, $noun = $Doc.Name -split '-', 2
    $W.WriteStartElement('command', 'command', $ns.command)
    $W.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
    $W.WriteAttributeString('xmlns', 'command', $null, $ns.command)
    $W.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)

    $W.WriteStartElement('command', 'details', $ns.command)
    $W.WriteElementString('command', 'name', $ns.command, $Doc.Name)
    $W.WriteElementString('command', 'verb', $ns.command, $verb)
    $W.WriteElementString('command', 'noun', $ns.command, $noun)
    $W.WriteStartElement('maml', 'description', $ns.maml); Write-Paras $W @($Doc.Synopsis); $W.WriteEndElement()
    $W.WriteEndElement()

    $W.WriteStartElement('maml', 'description', $ns.maml); Write-Paras $W $Doc.Description; $W.WriteEndElement()

    $W.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $Doc.Sets) {
        $W.WriteStartElement('command', 'syntaxItem', $ns.command)
        $W.WriteElementString('maml', 'name', $ns.maml, $Doc.Name)
        foreach ($p in $Doc.Parameters | Where-Object { $_.Sets -contains '(All)' -or $_.Sets -contains $set }) { Write-Parameter $W $p $set }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($p in $Doc.Parameters) { Write-Parameter $W $p $null }
    $W.WriteEndElement()

    foreach ($kind in @(@{ Outer = 'inputTypes'; Inner = 'inputType'; Items = $Doc.Inputs }, @{ Outer = 'returnValues'; Inner = 'returnValue'; Items = $Doc.Outputs })) {
        $W.WriteStartElement('command', $kind.Outer, $ns.command)
        foreach ($t in $kind.Items) {
            $W.WriteStartElement('command', $kind.Inner, $ns.command)
            $W.WriteStartElement('dev', 'type', $ns.dev); $W.WriteElementString('maml', 'name', $ns.maml, $t.Type); $W.WriteEndElement()
            $W.WriteStartElement('maml', 'description', $ns.maml); Write-Paras $W $t.Description; $W.WriteEndElement()
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }

    $W.WriteStartElement('maml', 'alertSet', $ns.maml); $W.WriteStartElement('maml', 'alert', $ns.maml); Write-Paras $W $Doc.Notes; $W.WriteEndElement(); $W.WriteEndElement()

    $W.WriteStartElement('command', 'examples', $ns.command)
    foreach ($e in $Doc.Examples) {
        $W.WriteStartElement('command', 'example', $ns.command)
        $W.WriteElementString('maml', 'title', $ns.maml, "-------------------------- $($e.Title) --------------------------")
        $W.WriteElementString('dev', 'code', $ns.dev, $e.Code)
        $W.WriteStartElement('dev', 'remarks', $ns.dev); Write-Paras $W $e.Remarks; $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'relatedLinks', $ns.command)
    foreach ($l in $Doc.Links) {
        $W.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $W.WriteElementString('maml', 'linkText', $ns.maml, $l.Text)
        $W.WriteElementString('maml', 'uri', $ns.maml, $l.Uri)
        $W.WriteEndElement()
    }
    $W.WriteEndElement()
    $W.WriteEndElement()
}

$docs = Get-ChildItem $DocsPath -Filter '*-*.md' | Where-Object Name -NotLike 'about_*' | Sort-Object Name | ForEach-Object { Read-CommandDoc $_.FullName }

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; IndentChars = '  '; Encoding = [System.Text.UTF8Encoding]::new($false); NewLineChars = "`n" }
$sb = [System.Text.StringBuilder]::new()
$writer = [System.Xml.XmlWriter]::Create([System.IO.StringWriter]::new($sb), $settings)
$writer.WriteStartDocument()
$writer.WriteStartElement('helpItems', 'http://msh')
$writer.WriteAttributeString('schema', 'maml')
foreach ($doc in $docs) { Write-Command $writer $doc }
$writer.WriteEndElement()
$writer.WriteEndDocument()
$writer.Flush()
$xml = $sb.ToString().Replace('encoding="utf-16"', 'encoding="utf-8"') + "`n"

if ($PassThru) { return $xml }
[System.IO.File]::WriteAllText($OutputPath, $xml, [System.Text.UTF8Encoding]::new($false))

# about_ topics: the markdown text as the .help.txt PowerShell shows.
foreach ($about in Get-ChildItem $DocsPath -Filter 'about_*.md') {
    $text = (Get-Content -Raw $about.FullName) -replace '(?m)^#+\s*', '' -replace '```(powershell)?\r?\n?', ''
    [System.IO.File]::WriteAllText((Join-Path $DocsPath ($about.BaseName + '.help.txt')), $text, [System.Text.UTF8Encoding]::new($false))
}
Write-Host "Help written: $OutputPath ($(@($docs).Count) commands)"
