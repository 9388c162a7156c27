#requires -Modules Pester
# Issue 10: the demo's report (tests/EmulatedTenant/demo.ps1, what `build.ps1 Demo` prints) is readable at 120 columns -
# no line longer, no word or command cut, every scenario's cause and fix there whole.
BeforeDiscovery {
    $script:Cases = @(& { . "$PSScriptRoot/../EmulatedTenant/demo.ps1"; $script:DemoScenarios })
    $script:CommandCases = @($script:Cases | Where-Object { $_.ExpectCommand })
}

BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../EmulatedTenant/demo.ps1"   # Split-DemoText and Format-DemoReport; nothing is started here

    # The demo as build.ps1 Demo runs it: a fresh non-interactive pwsh that imports the module, dot-sources demo.ps1 and
    # calls Show-Demo. A redirected child has no console whose width could be set, so its output goes through
    # Out-String -Width 120: anything formatted there is laid out for 120 columns, and text lines stay as written.
    $demo = (Resolve-Path "$PSScriptRoot/../EmulatedTenant/demo.ps1").Path
    $runner = Join-Path $TestDrive 'run-demo.ps1'
    Set-Content -Path $runner -Encoding utf8 -Value @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:ModuleManifest -replace "'", "''")' -Force
. '$($demo -replace "'", "''")'
Show-Demo | Out-String -Stream -Width 120
"@
    $output = @(& $script:Pwsh -NoProfile -NonInteractive -File $runner 2>&1)
    $script:ExitCode = $LASTEXITCODE
    $script:Errors = @($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
    $script:Lines = @($output | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] } | ForEach-Object { "$_" -split '\r?\n' })
    # A command wrapped over lines ends them with " `"; joined back, it must be the command itself.
    $script:Unwrapped = ($script:Lines -join "`n") -replace ' `\n\s*', ' '

    function Get-FixBlock([string] $Name, [string] $CauseId) {
        <# The lines under a scenario's heading ("<n> <name>: <cause>") in the fix list, up to the next blank line. #>
        $heading = '^\s*\d+ ' + [regex]::Escape($Name) + ': ' + [regex]::Escape($CauseId) + '$'
        $at = @(for ($i = 0; $i -lt $script:Lines.Count; $i++) { if ($script:Lines[$i] -match $heading) { $i } })
        $at.Count | Should -Be 1 -Because "the fix list has one heading for '$Name'"
        @($script:Lines | Select-Object -Skip ($at[0] + 1) | ForEach-Object -Begin { $done = $false } -Process {
                if (-not $done -and $_.Trim()) { $_ } else { $done = $true }
            })
    }

    function Assert-OneCommand([string[]] $Block, [string] $Expected) {
        <# The block, copied as it is printed (indents and line continuations included), runs as exactly $Expected. #>
        $tokens = $null; $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput(($Block -join "`n"), [ref]$tokens, [ref]$errors)
        @($errors) | Should -BeNullOrEmpty
        $commands = @($ast.FindAll({ $args[0] -is [System.Management.Automation.Language.CommandAst] }, $true))
        $commands.Count | Should -Be 1
        (($Block | ForEach-Object Trim) -join "`n") -replace ' `\n', ' ' | Should -BeExactly $Expected
    }
}

Describe 'The demo at 120 columns' -Tag Demo {
    It 'runs to the end without an error' {
        $script:Errors | Should -BeNullOrEmpty
        $script:ExitCode | Should -Be 0
        $script:Lines[-1] | Should -Match '^Demo finished in [\d.,]+ s\.$'
    }

    It 'prints no line longer than 120 characters' {
        $script:Lines.Count | Should -BeGreaterThan 20
        @($script:Lines | Where-Object { $_.Length -gt 120 }) | Should -BeNullOrEmpty
    }

    It 'shows the readiness scene: who breaks at the default-off and the path for each, and writes the report' {
        # Issue 12: the demo's readiness scene over the demo tenant's story.
        $script:Lines | Should -Contain 'Retirement readiness: Get-SmtpAuthClient -IncludeUnused -SmtpAuthReportPath smtp-auth-clients.csv'
        @($script:Lines -match '^scanner\.floor2@contoso\.com\s+203\.0\.113\.10\s+\d+\s+\d+\s+Breaks\s+DirectSend\s*$').Count | Should -Be 1
        @($script:Lines -match '^nas\.alerts@contoso\.com\s.*AlreadyFailing').Count | Should -Be 1
        $script:Unwrapped | Should -Match 'senders break at the default-off; the report for a manager: .*smtpauth-demo-readiness\.html'
    }

    It 'cuts nothing with an ellipsis' {
        $script:Lines | Should -Not -Match '…'
    }

    It '<Name>: a table row with the account, the verdict and the cause, whole' -ForEach $script:Cases {
        $cause = if ($ExpectCause) { $ExpectCause } else { '(no failure)' }
        $verdict = if ($ExpectCause) { $ExpectVerdict } else { '' }
        $row = '^\s*\d+ .*\s' + [regex]::Escape($Upn) + '\s+\S.*\s' + $(if ($verdict) { [regex]::Escape($verdict) + '\s+' }) + [regex]::Escape($cause) + '$'
        @($script:Lines -match $row).Count | Should -BeGreaterOrEqual 1 -Because "the table has a row for '$Name' ($Upn)"
    }

    It '<Name>: its fix below the table, under the scenario''s whole name' -ForEach $script:Cases {
        $block = Get-FixBlock $Name $(if ($ExpectCause) { $ExpectCause } else { '(no failure)' })
        $block | Should -Not -BeNullOrEmpty
        $block | ForEach-Object { $_ | Should -Match '^\s+\S' -Because 'the fix is indented under its scenario' }
    }

    It '<Name>: the fix command whole, and it runs as one command when copied' -ForEach $script:CommandCases {
        $expected = $ExpectCommand -replace '<appId>', "'$App'" -replace '<objectId>', "'c1000000-0000-4000-8000-000000000002'"
        $script:Unwrapped.Contains($expected) | Should -BeTrue -Because "the output holds '$expected'"
        Assert-OneCommand (Get-FixBlock $Name $ExpectCause) $expected
    }
}

Describe 'The demo report wraps what does not fit' -Tag Demo {
    BeforeAll {
        # Longer than anything the demo scenarios produce today: a long name, a 36-character cause id, a command far
        # wider than the console whose quoted arguments hold spaces, and a long remediation text.
        $command = "Add-RecipientPermission -Identity 'Front Desk Scanner (Building 7, Floor 3) <frontdesk@subsidiary.contoso.com>' " +
            "-Trustee 'o''brien.scanner.service.account@subsidiary.contoso.com' -AccessRights SendAs -Confirm:`$false -WarningAction SilentlyContinue"
        $prose = ('Move the client to OAuth (XOAUTH2) on smtp.office365.com:587, because basic authentication for SMTP AUTH ' * 4).Trim()
        $script:Synthetic = @(
            [pscustomobject]@{
                Scenario = @{ Name = 'A scenario whose name is much longer than the table has room for, in many words'; Upn = 'scanner.front.desk@subsidiary.contoso.com' }
                Probe    = [pscustomobject]@{ Succeeded = $false; FailedPhase = 'MailFrom'; EnhancedStatusCode = '5.7.60' }
                Findings = @([pscustomobject]@{ Verdict = 'Confirmed'; CauseId = 'SendAsDeniedOnTheMailboxOfAnotherUser'; RemediationCommand = $command; Remediation = 'x' })
                Notes    = @()
            }
            [pscustomobject]@{
                Scenario = @{ Name = 'Prose'; Upn = 'a@contoso.com' }
                Probe    = [pscustomobject]@{ Succeeded = $false; FailedPhase = 'Auth'; EnhancedStatusCode = '5.7.139' }
                Findings = @([pscustomobject]@{ Verdict = 'Likely'; CauseId = 'InvalidCredentials'; RemediationCommand = $null; Remediation = $prose })
                Notes    = @()
            }
        )
        $script:Command = $command
        $script:Prose = $prose
    }

    It 'keeps every line within the width, wrapping the long name at spaces' {
        $lines = Format-DemoReport -Runs $script:Synthetic -Width 120
        @($lines | Where-Object { $_.Length -gt 120 }) | Should -BeNullOrEmpty
        @($lines -match 'scanner\.front\.desk@subsidiary\.contoso\.com\s+MailFrom 5\.7\.60\s+Confirmed\s+SendAsDeniedOnTheMailboxOfAnotherUser$').Count | Should -Be 1
        $lines | Should -Not -Match '…'
    }

    It 'breaks a long command between arguments only, never inside a quoted one' {
        $lines = Format-DemoReport -Runs $script:Synthetic -Width 120
        $at = [array]::IndexOf($lines, '1 A scenario whose name is much longer than the table has room for, in many words: SendAsDeniedOnTheMailboxOfAnotherUser')
        $at | Should -BeGreaterOrEqual 0
        $block = @($lines | Select-Object -Skip ($at + 1) | ForEach-Object -Begin { $done = $false } -Process { if (-not $done -and $_.Trim()) { $_ } else { $done = $true } })
        $block.Count | Should -BeGreaterThan 1
        Assert-OneCommand $block $script:Command
    }

    It 'wraps remediation text at spaces, all of it' {
        $lines = Format-DemoReport -Runs $script:Synthetic -Width 120
        $at = [array]::IndexOf($lines, '2 Prose: InvalidCredentials')
        $block = @($lines | Select-Object -Skip ($at + 1) | ForEach-Object -Begin { $done = $false } -Process { if (-not $done -and $_.Trim()) { $_ } else { $done = $true } })
        $block.Count | Should -BeGreaterThan 2
        (($block | ForEach-Object Trim) -join ' ') | Should -BeExactly $script:Prose
    }

    It 'Split-DemoText keeps a word longer than the width whole rather than cutting it' {
        Split-DemoText 'short averyveryverylongword end' -Width 10 | Should -BeExactly @('short', 'averyveryverylongword', 'end')
    }
}
