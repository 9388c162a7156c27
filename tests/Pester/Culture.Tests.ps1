#requires -Modules Pester
# The module in an admin's own culture: each cmdlet under tr-TR (dotless i), de-DE (decimal comma, dd.MM.yyyy),
# th-TH (Buddhist calendar: 2026 is 2569), ar-SA (Um Al-Qura calendar), fa-IR (Persian calendar) and ja-JP gives what
# it gives under en-US: the same causes, verdicts and commands for the real-world corpus, the same probe outcomes
# against the Exchange Online emulator, the same policy state and clients (the same instants), the same HTML report
# (Gregorian dates, '.' decimals in the chart), the same results from its own objects written with Export-Csv in that
# culture or in en-US and read back with Import-Csv, ISO dates in the Exchange commands its verbose output states, and
# an ISO date in the file name it suggests. The culture is set for this runspace's thread and restored after each
# case; one case runs in a child process started with LANG=th_TH.UTF-8, whose culture is th-TH process-wide (thread-pool
# threads too, where the module's async continuations run).
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/emulator.ps1"
    $script:OriginalModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    Import-Module $script:ModuleManifest -Force
    $script:Work = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-culture-' + [guid]::NewGuid())
    $null = New-Item -ItemType Directory -Path $script:Work
    $script:Demo = (Resolve-Path "$PSScriptRoot/../SmtpAuthTroubleshooter.ExoEmulator/Scenarios/demo-tenant.json").Path
    $script:ReportCsv = (Resolve-Path "$PSScriptRoot/../EmulatedTenant/Fixtures/smtp-auth-clients.csv").Path
    $script:AsOf = [datetime]::SpecifyKind([datetime]'2026-12-02T00:00:00', 'Utc')
    $script:HealthyApp = 'b1000000-0000-4000-8000-000000000001'

    # The corpus as ResolverAccuracy.ps1 reads it: one text a row, \\, \t and \n unescaped.
    $script:Corpus = @(Get-Content -LiteralPath "$PSScriptRoot/../SmtpAuthTroubleshooter.Engine.Tests/Data/RealWorldErrors.tsv" -Encoding utf8 |
            Where-Object { $_ -and $_ -notmatch '^class\texpectedCauseId\t' } | ForEach-Object {
                $text = ($_ -split "`t", 5)[4]
                [regex]::Replace($text, '\\(.)', { param($m) switch ($m.Groups[1].Value) { 'n' { "`n" } 't' { "`t" } '\' { '\' } default { $m.Value } } })
            })

    function Use-Culture([string] $Name, [scriptblock] $Script) {
        # The caller's culture comes back whatever the script does.
        $culture = [cultureinfo]::CurrentCulture
        $uiCulture = [cultureinfo]::CurrentUICulture
        try {
            [cultureinfo]::CurrentCulture = $Name
            [cultureinfo]::CurrentUICulture = $Name
            & $Script
        }
        finally {
            [cultureinfo]::CurrentCulture = $culture
            [cultureinfo]::CurrentUICulture = $uiCulture
        }
    }

    function Get-CorpusAnswer {
        # One pipeline for the whole corpus; each text's findings start with its Rank 1 (its top finding).
        $script:Corpus | Resolve-SmtpAuthError -ErrorAction SilentlyContinue -WarningAction SilentlyContinue 6>$null | Where-Object Rank -EQ 1 | ForEach-Object {
            [pscustomobject]@{ CauseId = $_.CauseId; Verdict = "$($_.Verdict)"; RemediationCommand = $_.RemediationCommand }
        }
    }

    # Each probe: the account, how it signs in, and what it should show.
    $script:Probes = @(
        @{ Name = 'basic LOGIN, healthy'; User = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!' }
        @{ Name = 'basic PLAIN, forced'; User = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; Mechanism = 'Plain' }
        @{ Name = 'basic LOGIN, tenant off'; User = 'tenant.inherit@contoso.com'; Password = 'Demo-Inherit-3!' }
        @{ Name = 'basic LOGIN, wrong password'; User = 'wrong.password@contoso.com'; Password = 'not-the-password' }
        @{ Name = 'XOAUTH2, app-only'; User = 'notifications@contoso.com'; App = $script:HealthyApp }
    )
    function Invoke-Probe([hashtable] $Probe) {
        $probeArgs = @{ Server = '127.0.0.1'; Port = $script:Emu.Port; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }
        if ($Probe.App) { $probeArgs.UserPrincipalName = $Probe.User; $probeArgs.AccessToken = $script:Token }
        else { $probeArgs.Credential = New-TestCredential $Probe.User $Probe.Password }
        if ($Probe.Mechanism) { $probeArgs.Mechanism = $Probe.Mechanism }
        Test-SmtpAuth @probeArgs
    }
    function Get-ProbeAnswer($Result) {
        $top = @($Result | Resolve-SmtpAuthError -ErrorAction SilentlyContinue -WarningAction SilentlyContinue 6>$null)[0]
        [pscustomobject]@{
            Succeeded = $Result.Succeeded; FailedPhase = "$($Result.FailedPhase)"; AuthMethod = "$($Result.AuthMethod)"; Mechanism = $Result.Mechanism
            Mechanisms = $Result.AuthMechanismsAfterTls; Status = $Result.EnhancedStatusCode
            CauseId = $top.CauseId; Verdict = "$($top.Verdict)"; RemediationCommand = $top.RemediationCommand; Evidence = $top.Evidence
        }
    }
    function Get-StateAnswer {
        $state = Get-SmtpAuthPolicyState healthy.basic@contoso.com, tenant.inherit@contoso.com, ca.blocked@contoso.com -WarningAction SilentlyContinue
        $state | Select-Object * -ExcludeProperty ReadUtc, PolicyStateId | ConvertTo-Json -Depth 3 -Compress -WarningAction SilentlyContinue
    }
    function Get-ClientAnswer {
        Reset-ExoStandIn
        $all = @(Get-SmtpAuthClient -IncludeUnused -SmtpAuthReportPath $script:ReportCsv -WarningAction SilentlyContinue -Verbose 4>&1)
        $clients = @($all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $trace = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match '^Exchange: Get-MessageTraceV2 ' } | ForEach-Object Message)
        # Dates as instants (ticks), whatever the culture would print.
        $text = $clients | ForEach-Object {
            $c = $_
            ($c.PSObject.Properties | ForEach-Object { if ($_.Value -is [datetime]) { "$($_.Name)=$($_.Value.Ticks)" } else { "$($_.Name)=$($_.Value)" } }) -join '|'
        }
        [pscustomobject]@{ Clients = $clients; Text = $text; Trace = $trace }
    }
    function Get-ReportText($Clients, [string] $Name) {
        $path = Join-Path $script:Work "$Name.html"
        $Clients | Export-SmtpAuthReport -Path $path -AsOf $script:AsOf -Force
        Get-Content -LiteralPath $path -Raw
    }

    $script:Emu = Start-ExoEmulator
    $script:Token = New-TestToken -App $script:HealthyApp
    $script:Graph = Start-GraphEmulator -Scenario $script:Demo
    Connect-ExchangeOnline -ScenarioPath $script:Demo -ShowBanner:$false
    $null = Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri -NoWelcome

    # The baseline: everything under en-US.
    Use-Culture 'en-US' {
        $script:BaseCorpus = @(Get-CorpusAnswer)
        $script:BaseResults = @{}
        $script:BaseProbes = @{}
        foreach ($p in $script:Probes) {
            $script:BaseResults[$p.Name] = Invoke-Probe $p
            $script:BaseProbes[$p.Name] = Get-ProbeAnswer $script:BaseResults[$p.Name]
        }
        $script:BaseState = Get-StateAnswer
        $script:BaseClients = Get-ClientAnswer
        $script:BaseReport = Get-ReportText $script:BaseClients.Clients 'en-US'
        $script:BaseClients.Clients | Export-Csv -LiteralPath (Join-Path $script:Work 'clients-en-US.csv')
        $script:BaseCsvReport = Get-ReportText (Import-Csv -LiteralPath (Join-Path $script:Work 'clients-en-US.csv')) 'en-US-csv'
    }
}

AfterAll {
    Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
    Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null
    Stop-GraphEmulator $script:Graph
    Stop-ExoEmulator $script:Emu
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
    $env:PSModulePath = $script:OriginalModulePath
    Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'The en-US baseline' -Tag Culture {
    It 'is what the emulated tenant says, so that the comparisons below compare something' {
        $p = $script:BaseProbes
        $p['basic LOGIN, healthy'].Succeeded | Should -BeTrue
        $p['basic LOGIN, healthy'].Mechanism | Should -BeExactly 'LOGIN'
        $p['basic LOGIN, healthy'].Mechanisms | Should -BeExactly 'LOGIN XOAUTH2'
        $p['basic PLAIN, forced'].Mechanism | Should -BeExactly 'PLAIN'
        $p['basic PLAIN, forced'].Status | Should -BeExactly '5.7.4'
        $p['basic LOGIN, tenant off'].CauseId | Should -BeExactly 'TenantSmtpAuthDisabled'
        $p['basic LOGIN, wrong password'].CauseId | Should -BeExactly 'InvalidCredentials'
        $p['XOAUTH2, app-only'].Succeeded | Should -BeTrue
        $p['XOAUTH2, app-only'].Mechanism | Should -BeExactly 'XOAUTH2'
        $script:BaseCorpus.Count | Should -Be $script:Corpus.Count -Because 'every text has a top finding'
        @($script:BaseCorpus | Where-Object CauseId).Count | Should -BeGreaterThan ($script:Corpus.Count * 0.9)
        @($script:BaseClients.Clients).Count | Should -BeGreaterThan 5
        @($script:BaseClients.Clients | Where-Object MessagesSent).Count | Should -BeGreaterThan 0 -Because 'the -SmtpAuthReportPath CSV was joined'
        @($script:BaseClients.Trace).Count | Should -BeGreaterThan 0
        $script:BaseReport | Should -Match '<svg'
    }
}

Describe 'The module under the admin''s culture <_>' -Tag Culture -ForEach @('tr-TR', 'de-DE', 'th-TH', 'ar-SA', 'fa-IR', 'ja-JP') {
    BeforeAll { $script:Culture = $_ }

    It 'restores the caller''s culture after each case' {
        $before = [cultureinfo]::CurrentCulture.Name
        Use-Culture $script:Culture { [cultureinfo]::CurrentCulture.Name | Should -BeExactly $script:Culture }
        [cultureinfo]::CurrentCulture.Name | Should -BeExactly $before
    }

    It 'resolves every text of the real-world corpus to the same cause, verdict and command as en-US' {
        $answers = Use-Culture $script:Culture { @(Get-CorpusAnswer) }
        $answers.Count | Should -Be $script:BaseCorpus.Count
        $differ = for ($i = 0; $i -lt $answers.Count; $i++) {
            $a = $answers[$i]; $b = $script:BaseCorpus[$i]
            if ($a.CauseId -cne $b.CauseId -or $a.Verdict -cne $b.Verdict -or $a.RemediationCommand -cne $b.RemediationCommand) {
                "row $($i + 1): $($a.CauseId)/$($a.Verdict) instead of $($b.CauseId)/$($b.Verdict)"
            }
        }
        @($differ) | Should -BeNullOrEmpty
        $unparsed = foreach ($command in @($answers.RemediationCommand | Where-Object { $_ } | Sort-Object -Unique)) {
            $errors = $null
            $null = [System.Management.Automation.Language.Parser]::ParseInput($command, [ref]$null, [ref]$errors)
            if ($errors) { $command }
        }
        @($unparsed) | Should -BeNullOrEmpty
    }

    It 'probes the Exchange Online emulator (<Name>) with the same outcome as en-US' -ForEach @(
        @{ Name = 'basic LOGIN, healthy' }, @{ Name = 'basic PLAIN, forced' }, @{ Name = 'basic LOGIN, tenant off' }, @{ Name = 'basic LOGIN, wrong password' }, @{ Name = 'XOAUTH2, app-only' }
    ) {
        $probe = $script:Probes | Where-Object { $_.Name -eq $Name }
        $answer = Use-Culture $script:Culture { Get-ProbeAnswer (Invoke-Probe $probe) }
        $answer | ConvertTo-Json -Compress | Should -BeExactly ($script:BaseProbes[$Name] | ConvertTo-Json -Compress)
    }

    It 'reads the same policy state and the same clients (the same instants) from the emulated tenant, and states the Exchange commands it runs (verbose) with ISO dates' {
        $clients = Use-Culture $script:Culture {
            Get-StateAnswer | Should -BeExactly $script:BaseState
            Get-ClientAnswer
        }
        $clients.Text | Should -Be $script:BaseClients.Text
        # Each Get-MessageTraceV2 line parses as a command whose -StartDate and -EndDate read back as round-trip UTC dates.
        @($clients.Trace).Count | Should -BeGreaterThan 0
        foreach ($line in $clients.Trace) {
            $errors = $null
            $ast = [System.Management.Automation.Language.Parser]::ParseInput(($line -replace '^Exchange: ', ''), [ref]$null, [ref]$errors)
            $errors | Should -BeNullOrEmpty -Because $line
            $command = $ast.EndBlock.Statements[0].PipelineElements[0]
            foreach ($name in 'StartDate', 'EndDate') {
                $i = [array]::FindIndex([object[]]$command.CommandElements, [Predicate[object]] { param($e) $e -is [System.Management.Automation.Language.CommandParameterAst] -and $e.ParameterName -eq $name })
                $value = $command.CommandElements[$i + 1].Value
                $instant = [datetime]::ParseExact($value, 'o', [cultureinfo]::InvariantCulture, 'RoundtripKind')
                $instant.Kind | Should -Be 'Utc'
                [math]::Abs(($instant - [datetime]::UtcNow).TotalDays) | Should -BeLessOrEqual 31 -Because $line
            }
        }
    }

    It 'writes the same HTML report: Gregorian dates, ''.'' decimals in the chart' {
        $html = Use-Culture $script:Culture { Get-ReportText $script:BaseClients.Clients $script:Culture }
        $html | Should -Match 'Report date: <time datetime="2026-12-02">2 December 2026</time>'
        $html | Should -Not -Match '(width|height|[xy][12]?)="[0-9]+,[0-9]'
        $html | Should -BeExactly $script:BaseReport
    }

    It 'suggests a file name with a Gregorian ISO date when the report file exists' {
        $path = Join-Path $script:Work "exists-$($script:Culture).html"
        Set-Content -LiteralPath $path -Value 'an older report'
        $days = @([datetime]::Now.ToString('yyyy-MM-dd', [cultureinfo]::InvariantCulture))
        $err = Use-Culture $script:Culture {
            try { $script:BaseClients.Clients | Export-SmtpAuthReport -Path $path -AsOf $script:AsOf -ErrorAction Stop; $null } catch { $_ }
        }
        $days += [datetime]::Now.ToString('yyyy-MM-dd', [cultureinfo]::InvariantCulture)
        $err | Should -Not -BeNullOrEmpty
        $suggested = [regex]::Match($err.ErrorDetails.RecommendedAction, 'readiness-(?<date>[^ ]+)\.html').Groups['date'].Value
        $suggested | Should -BeIn $days
    }

    It 'reads back the clients it wrote with Export-Csv in this culture: the same report as en-US' {
        $csv = Join-Path $script:Work "clients-$($script:Culture).csv"
        $html = Use-Culture $script:Culture {
            $script:BaseClients.Clients | Export-Csv -LiteralPath $csv
            Get-ReportText (Import-Csv -LiteralPath $csv) "$($script:Culture)-csv"
        }
        $html | Should -BeExactly $script:BaseCsvReport
    }

    It 'reads back the clients an en-US session wrote with Export-Csv: the same report as en-US' {
        $html = Use-Culture $script:Culture {
            Get-ReportText (Import-Csv -LiteralPath (Join-Path $script:Work 'clients-en-US.csv')) "$($script:Culture)-from-en-US"
        }
        $html | Should -BeExactly $script:BaseCsvReport
    }

    It 'resolves a probe result it wrote with Export-Csv in this culture as it resolves the live result' {
        $csv = Join-Path $script:Work "probe-$($script:Culture).csv"
        $answers = Use-Culture $script:Culture {
            foreach ($name in 'basic LOGIN, healthy', 'basic LOGIN, tenant off') {
                $script:BaseResults[$name] | Export-Csv -LiteralPath $csv -Force
                $top = @(Import-Csv -LiteralPath $csv | Resolve-SmtpAuthError -ErrorAction SilentlyContinue -WarningAction SilentlyContinue 6>$null)[0]
                [pscustomobject]@{ CauseId = $top.CauseId; Verdict = "$($top.Verdict)"; Evidence = $top.Evidence }
            }
        }
        $expected = Use-Culture 'en-US' {
            foreach ($name in 'basic LOGIN, healthy', 'basic LOGIN, tenant off') {
                $top = @($script:BaseResults[$name] | Resolve-SmtpAuthError -ErrorAction SilentlyContinue -WarningAction SilentlyContinue 6>$null)[0]
                [pscustomobject]@{ CauseId = $top.CauseId; Verdict = "$($top.Verdict)"; Evidence = $top.Evidence }
            }
        }
        $answers | ConvertTo-Json -Compress | Should -BeExactly ($expected | ConvertTo-Json -Compress)
    }
}

Describe 'A child process whose culture is th-TH process-wide' -Tag Culture {
    It 'probes, reads the tenant, resolves and writes the report as en-US does' {
        $clixml = Join-Path $script:Work 'clients.clixml'
        $script:BaseClients.Clients | Export-Clixml -LiteralPath $clixml
        $reportPath = Join-Path $script:Work 'child.html'
        $child = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:ModuleManifest)'
`$cred = [pscredential]::new('healthy.basic@contoso.com', (ConvertTo-SecureString 'Demo-Healthy-1!' -AsPlainText -Force))
`$r = Test-SmtpAuth -Credential `$cred -Server 127.0.0.1 -Port $($script:Emu.Port) -SkipCertificateCheck -TimeoutSec 20 -WarningAction SilentlyContinue
`$top = @(`$r | Resolve-SmtpAuthError -WarningAction SilentlyContinue 6>`$null)[0]
`$clients = Import-Clixml -LiteralPath '$clixml'
`$clients | Export-Csv -LiteralPath '$reportPath.csv'
# The policy state and the clients over the emulated tenant: Graph is read on thread-pool threads.
. '$PSScriptRoot/../EmulatedTenant/tenant.ps1'
Import-EmulatedTenantModules
Connect-ExchangeOnline -ScenarioPath '$($script:Demo)' -ShowBanner:`$false
`$null = Connect-MgGraph -GraphBaseUri '$($script:Graph.BaseUri)' -NoWelcome
`$state = Get-SmtpAuthPolicyState healthy.basic@contoso.com, tenant.inherit@contoso.com, ca.blocked@contoso.com -WarningAction SilentlyContinue
`$stateJson = `$state | Select-Object * -ExcludeProperty ReadUtc, PolicyStateId | ConvertTo-Json -Depth 3 -Compress -WarningAction SilentlyContinue
`$read = @(Get-SmtpAuthClient -IncludeUnused -SmtpAuthReportPath '$($script:ReportCsv)' -WarningAction SilentlyContinue)
`$clientText = @(`$read | ForEach-Object {
    (`$_.PSObject.Properties | ForEach-Object { if (`$_.Value -is [datetime]) { "`$(`$_.Name)=`$(`$_.Value.Ticks)" } else { "`$(`$_.Name)=`$(`$_.Value)" } }) -join '|'
})
Import-Csv -LiteralPath '$reportPath.csv' | Export-SmtpAuthReport -Path '$reportPath' -AsOf ([datetime]::SpecifyKind([datetime]'2026-12-02T00:00:00', 'Utc')) -Force
[pscustomobject]@{
    Culture = [System.Globalization.CultureInfo]::CurrentCulture.Name
    DefaultThreadCulture = [System.Globalization.CultureInfo]::DefaultThreadCurrentCulture
    Year = [datetime]::new(2026, 12, 2).ToString('yyyy')
    Succeeded = `$r.Succeeded; Mechanism = `$r.Mechanism; CauseId = `$top.CauseId; Verdict = "`$(`$top.Verdict)"; Evidence = `$top.Evidence
    State = `$stateJson; Clients = `$clientText
} | ConvertTo-Json -Compress
"@
        $run = Invoke-FreshPwsh -Script $child -Environment @{ LANG = 'th_TH.UTF-8'; LC_ALL = 'th_TH.UTF-8' }
        $run.ExitCode | Should -Be 0 -Because $run.Output
        $got = ($run.Output -split "`n" | Where-Object { $_ -match '^\{' } | Select-Object -Last 1) | ConvertFrom-Json
        $got.Culture | Should -BeExactly 'th-TH'
        $got.DefaultThreadCulture | Should -BeNullOrEmpty -Because 'with no default thread culture set, thread-pool threads run in the process culture (LANG) too'
        $got.Year | Should -BeExactly '2569' -Because 'th-TH counts years in the Buddhist era'
        $base = $script:BaseProbes['basic LOGIN, healthy']
        $got.Succeeded | Should -Be $base.Succeeded
        $got.Mechanism | Should -BeExactly $base.Mechanism
        $got.CauseId | Should -BeExactly $base.CauseId
        $got.Verdict | Should -BeExactly $base.Verdict
        $got.Evidence | Should -BeExactly $base.Evidence
        $got.State | Should -BeExactly $script:BaseState
        @($got.Clients) | Should -Be @($script:BaseClients.Text)
        Get-Content -LiteralPath $reportPath -Raw | Should -BeExactly $script:BaseCsvReport
    }
}
