# The offline demo: its scenarios and its report, shared by `build.ps1 Demo` (tools/Demo.ps1) and the Pester tests
# (tests/Pester/Diagnosis.Tests.ps1, tests/Pester/Demo.Tests.ps1). Dot-source after importing the module under test.
#   Start-DemoTenant     starts the SMTP emulator and the Graph emulator for each demo tenant, imports the stand-in
#                        ExchangeOnlineManagement and Microsoft.Graph.Authentication modules.
#   Invoke-DemoScenario  runs the full pipeline for one scenario:
#                        Get-SmtpAuthPolicyState | Test-SmtpAuth | Resolve-SmtpAuthError
#   Stop-DemoTenant      stops everything.
#   Format-DemoReport    the report of some runs as lines of at most -Width (120) characters: a summary table, one row
#                        per scenario, then each scenario's fix below it, wrapped at spaces and never cut.
#   Show-Demo            the whole demo: starts the tenant, runs every scenario, writes the report, stops the tenant.
#   Split-DemoText       wraps a text at spaces, or a command between its arguments with line continuations.
. "$PSScriptRoot/tenant.ps1"
. "$PSScriptRoot/../Pester/emulator.ps1"

$script:DemoScenarios = @(
    @{ Name = 'Healthy basic auth'; Tenant = 'demo'; Upn = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; ExpectCause = 'BasicAuthRetired'; ExpectVerdict = 'Advisory'; ExpectSucceeded = $true }
    @{ Name = 'Healthy app-only OAuth'; Tenant = 'demo'; Upn = 'notifications@contoso.com'; App = 'b1000000-0000-4000-8000-000000000001'; ExpectCause = $null; ExpectSucceeded = $true }
    @{ Name = 'Tenant SMTP AUTH off, mailbox inherits'; Tenant = 'demo'; Upn = 'tenant.inherit@contoso.com'; Password = 'Demo-Inherit-3!'; ExpectCause = 'TenantSmtpAuthDisabled'; ExpectVerdict = 'Confirmed'; ExpectCommand = "Set-CASMailbox -Identity 'tenant.inherit@contoso.com' -SmtpClientAuthenticationDisabled `$false" }
    @{ Name = 'Mailbox override on, tenant off'; Tenant = 'demo'; Upn = 'smtp.override@contoso.com'; Password = 'Demo-Override-2!'; ExpectCause = 'BasicAuthRetired'; ExpectVerdict = 'Advisory'; ExpectSucceeded = $true }
    @{ Name = 'Security defaults on'; Tenant = 'securitydefaults'; Upn = 'scanner@fabrikam.com'; Password = 'Demo-Scanner-1!'; ExpectCause = 'SecurityDefaultsBlockBasicAuth'; ExpectVerdict = 'Confirmed' }
    @{ Name = 'Conditional Access blocks other clients'; Tenant = 'demo'; Upn = 'ca.blocked@contoso.com'; Password = 'Demo-CaBlock-7!'; ExpectCause = 'ConditionalAccessBlocksLegacyAuth'; ExpectVerdict = 'Confirmed' }
    @{ Name = 'Wrong password'; Tenant = 'demo'; Upn = 'wrong.password@contoso.com'; Password = 'Not-The-Password-0'; ExpectCause = 'InvalidCredentials'; ExpectVerdict = 'Confirmed' }
    @{ Name = 'Graph token instead of an Exchange token'; Tenant = 'demo'; Upn = 'notifications@contoso.com'; App = 'b1000000-0000-4000-8000-000000000001'; Audience = 'https://graph.microsoft.com'; ExpectCause = 'TokenWrongAudience'; ExpectVerdict = 'Confirmed' }
    @{ Name = 'Service principal not registered'; Tenant = 'demo'; Upn = 'notifications@contoso.com'; App = 'b1000000-0000-4000-8000-000000000002'; ExpectCause = 'ServicePrincipalNotRegistered'; ExpectVerdict = 'Confirmed'; ExpectCommand = 'New-ServicePrincipal -AppId <appId> -ObjectId <objectId>' }
    @{ Name = 'SendAs denied'; Tenant = 'demo'; Upn = 'sendas.denied@contoso.com'; Password = 'Demo-SendAs-15!'; From = 'info@contoso.com'; ExpectCause = 'SendAsDenied'; ExpectVerdict = 'Confirmed' }
)

function Start-DemoTenant {
    $script:DemoSavedModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    $scenarioDir = (Resolve-Path "$PSScriptRoot/../SmtpAuthTroubleshooter.ExoEmulator/Scenarios").Path
    $script:DemoTenants = @{}
    foreach ($t in @(@{ Key = 'demo'; File = 'demo-tenant.json' }, @{ Key = 'securitydefaults'; File = 'securitydefaults-tenant.json' })) {
        $script:DemoTenants[$t.Key] = [pscustomobject]@{
            Scenario = Join-Path $scenarioDir $t.File
            Smtp     = Start-ExoEmulator -Scenario $t.File
            Graph    = Start-GraphEmulator -Scenario $t.File
        }
    }
    $script:DemoCurrent = $null
}

function Stop-DemoTenant {
    foreach ($t in @($script:DemoTenants.Values)) {
        Stop-ExoEmulator $t.Smtp
        Stop-GraphEmulator $t.Graph
    }
    Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
    Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
    if ($script:DemoSavedModulePath) { $env:PSModulePath = $script:DemoSavedModulePath }
}

function Invoke-DemoScenario {
    <# Runs one scenario's pipeline; returns @{ Scenario; Probe; Findings }. #>
    param([Parameter(Mandatory)][hashtable] $Scenario)
    $tenant = $script:DemoTenants[$Scenario.Tenant]
    if ($script:DemoCurrent -ne $Scenario.Tenant) {
        # Admins work from their existing sessions: the stand-ins play Connect-ExchangeOnline and Connect-MgGraph.
        Connect-ExchangeOnline -ScenarioPath $tenant.Scenario -ShowBanner:$false
        $null = Connect-MgGraph -GraphBaseUri $tenant.Graph.BaseUri -NoWelcome
        $script:DemoCurrent = $Scenario.Tenant
    }
    $stateArgs = @{}
    if ($Scenario.App) { $stateArgs.ClientId = $Scenario.App }
    if ($Scenario.From) { $stateArgs.From = $Scenario.From }
    $probeArgs = @{ Server = '127.0.0.1'; Port = $tenant.Smtp.Port; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }
    if ($Scenario.App) {
        $tokenArgs = @{ App = $Scenario.App; Scenario = (Split-Path $tenant.Scenario -Leaf) }
        if ($Scenario.Audience) { $tokenArgs.Audience = $Scenario.Audience }
        $probeArgs.AccessToken = New-TestToken @tokenArgs
    }
    else {
        $probeArgs.Credential = [pscredential]::new($Scenario.Upn, (ConvertTo-SecureString $Scenario.Password -AsPlainText -Force))
    }
    if ($Scenario.From) {
        $probeArgs.SendTestMessage = $true
        $probeArgs.From = $Scenario.From
        $probeArgs.To = 'someone@contoso.com'
        $probeArgs.Confirm = $false
    }
    $probe = Get-SmtpAuthPolicyState $Scenario.Upn @stateArgs -WarningAction SilentlyContinue | Test-SmtpAuth @probeArgs
    # What Resolve-SmtpAuthError tells the host (a probe that succeeded has nothing to resolve) is kept with the run, for
    # the report to show in its place rather than ahead of the table.
    $findings = @($probe | Resolve-SmtpAuthError -InformationVariable notes 6>$null)
    [pscustomobject]@{ Scenario = $Scenario; Probe = $probe; Findings = $findings; Notes = @($notes | ForEach-Object { "$($_.MessageData)" }) }
}

function Split-DemoText {
    <# Wraps text at spaces into lines of at most -Width characters; a word longer than that stays whole on its own
       line. With -Command the text is a PowerShell command: it breaks only between tokens (never inside a quoted
       argument) and every line but the last ends with " `", so that the lines still run as one command when copied. #>
    param([AllowEmptyString()][string] $Text, [Parameter(Mandatory)][int] $Width, [switch] $Command)
    if ($Command -and $Text.Length -le $Width) { return $Text }
    $words = [System.Collections.Generic.List[string]]::new()
    $tokens = $null; $errors = $null
    if ($Command) { $null = [System.Management.Automation.Language.Parser]::ParseInput($Text, [ref]$tokens, [ref]$errors) }
    if ($Command -and -not $errors) {
        $start = -1; $end = -1
        foreach ($token in $tokens) {
            if ($token.Kind -eq 'EndOfInput') { break }
            if ($start -ge 0 -and $token.Extent.StartOffset -gt $end) { $words.Add($Text.Substring($start, $end - $start)); $start = -1 }
            if ($start -lt 0) { $start = $token.Extent.StartOffset }
            $end = $token.Extent.EndOffset
        }
        if ($start -ge 0) { $words.Add($Text.Substring($start, $end - $start)) }
    }
    else {
        $Text -split '\s+' | Where-Object { $_ } | ForEach-Object { $words.Add($_) }
    }
    $budget = if ($Command) { $Width - 2 } else { $Width }
    $lines = [System.Collections.Generic.List[string]]::new()
    $line = ''
    foreach ($word in $words) {
        if ($line.Length -gt 0 -and $line.Length + 1 + $word.Length -gt $budget) { $lines.Add($line); $line = $word }
        elseif ($line.Length -gt 0) { $line += ' ' + $word }
        else { $line = $word }
    }
    if ($line.Length -gt 0) { $lines.Add($line) }
    if ($Command) { for ($i = 0; $i -lt $lines.Count - 1; $i++) { $lines[$i] += ' `' } }
    $lines.ToArray()
}

function Format-DemoReport {
    <# The demo's report as lines of at most -Width characters. First a table, one row per run: scenario, account,
       what the probe got, and the top finding's verdict and cause (the scenario names wrap at spaces when the columns
       do not fit). Then each scenario's fix: the top finding's command, whole (wrapped between arguments with line
       continuations), or else its remediation text, wrapped at spaces and indented under the scenario. #>
    param([Parameter(Mandatory)][object[]] $Runs, [int] $Width = 120)
    $rows = for ($i = 0; $i -lt $Runs.Count; $i++) {
        $run = $Runs[$i]
        $top = $run.Findings | Select-Object -First 1
        [pscustomobject]@{
            Number   = $i + 1
            Scenario = $run.Scenario.Name
            Account  = $run.Scenario.Upn
            Probe    = if ($run.Probe.Succeeded) { 'OK' } else { "$($run.Probe.FailedPhase) $($run.Probe.EnhancedStatusCode)".Trim() }
            Verdict  = if ($top) { "$($top.Verdict)" } else { '' }
            CauseId  = if ($top) { $top.CauseId } else { '(no failure)' }
            Top      = $top
            Notes    = @($run.Notes)
        }
    }
    # Every column as wide as its longest value; the scenario column takes what is left, its names wrapped at spaces.
    $columns = @(
        @{ Label = '#'; Name = 'Number'; Alignment = 'Right' }
        @{ Label = 'Scenario'; Name = 'Scenario' }
        @{ Label = 'Account'; Name = 'Account' }
        @{ Label = 'Probe'; Name = 'Probe' }
        @{ Label = 'Verdict'; Name = 'Verdict' }
        @{ Label = 'CauseId'; Name = 'CauseId' }
    )
    foreach ($c in $columns) { $c.Width = [int] (@($c.Label) + @($rows | ForEach-Object { "$($_.($c.Name))" }) | Measure-Object -Property Length -Maximum).Maximum }
    $others = ($columns | Where-Object Name -NE 'Scenario' | Measure-Object -Property Width -Sum).Sum + $columns.Count - 1
    $scenario = $columns | Where-Object Name -EQ 'Scenario'
    $scenario.Width = [int] [Math]::Max(12, [Math]::Min($scenario.Width, $Width - $others))
    $properties = foreach ($c in $columns) {
        $name = $c.Name
        $expression = if ($name -eq 'Scenario') {
            $w = $c.Width
            { (Split-DemoText $_.Scenario -Width $w) -join "`n" }.GetNewClosure()
        } else { [scriptblock]::Create("`$_.$name") }
        $property = @{ Label = $c.Label; Expression = $expression; Width = $c.Width }
        if ($c.Alignment) { $property.Alignment = $c.Alignment }
        $property
    }
    $table = $rows | Format-Table -Property $properties -Wrap | Out-String -Width $Width
    $lines = [System.Collections.Generic.List[string]]::new()
    foreach ($line in $table -split '\r?\n') { $lines.Add($line.TrimEnd()) }
    while ($lines.Count -and -not $lines[0]) { $lines.RemoveAt(0) }
    while ($lines.Count -and -not $lines[$lines.Count - 1]) { $lines.RemoveAt($lines.Count - 1) }
    $lines.Add('')

    $lines.Add('Fix for each scenario (its top finding; a long command goes on over lines that end in ` and runs as one):')
    $digits = ([string]$rows.Count).Length
    $indent = ' ' * ($digits + 1)
    foreach ($row in $rows) {
        $lines.Add('')
        $heading = @(Split-DemoText ("{0}: {1}" -f $row.Scenario, $row.CauseId) -Width ($Width - $indent.Length))
        $lines.Add(("{0,$digits} {1}" -f $row.Number, $heading[0]))
        foreach ($h in ($heading | Select-Object -Skip 1)) { $lines.Add($indent + $h) }
        $body = if (-not $row.Top) { foreach ($note in $row.Notes) { Split-DemoText $note -Width ($Width - $indent.Length) } }
        elseif ($row.Top.RemediationCommand) { Split-DemoText $row.Top.RemediationCommand -Width ($Width - $indent.Length) -Command }
        else { Split-DemoText $row.Top.Remediation -Width ($Width - $indent.Length) }
        foreach ($b in $body) { $lines.Add($indent + $b) }
    }
    $lines.ToArray()
}

function Show-ReadinessScene {
    <# The readiness scene (issue 12): who still sends with basic SMTP AUTH in the demo tenant, what the end-of-December
       2026 default-off does to each sender and where each should move; then the HTML report for a manager. #>
    param([int] $Width = 120, [string] $ReportPath = (Join-Path ([System.IO.Path]::GetTempPath()) 'smtpauth-demo-readiness.html'))
    $tenant = $script:DemoTenants['demo']
    Connect-ExchangeOnline -ScenarioPath $tenant.Scenario -ShowBanner:$false
    $null = Connect-MgGraph -GraphBaseUri $tenant.Graph.BaseUri -NoWelcome
    $script:DemoCurrent = 'demo'
    $csv = Join-Path $PSScriptRoot 'Fixtures/smtp-auth-clients.csv'
    $clients = @(Get-SmtpAuthClient -IncludeUnused -SmtpAuthReportPath $csv -WarningAction SilentlyContinue)
    'Retirement readiness: Get-SmtpAuthClient -IncludeUnused -SmtpAuthReportPath smtp-auth-clients.csv'
    ''
    $clients | Select-Object @{ n = 'Sender'; e = { $_.UserPrincipalName } }, @{ n = 'Client IP'; e = { $_.ClientIp } },
        @{ n = 'Sign-ins'; e = { $_.SignInCount } }, @{ n = 'OK'; e = { $_.SuccessCount } },
        @{ n = 'Impact'; e = { "$($_.ImpactAtDefaultOff)" } }, @{ n = 'Path'; e = { "$($_.MigrationPath)" } } |
        Format-Table -AutoSize | Out-String -Width $Width -Stream | Where-Object { $_.Trim() }
    $clients | Export-SmtpAuthReport -Path $ReportPath -Force
    ''
    Split-DemoText -Text ("{0} senders break at the default-off; the report for a manager: {1}" -f @($clients | Where-Object ImpactAtDefaultOff -EQ 'Breaks').Count, $ReportPath) -Width $Width
}

function Show-Demo {
    <# The whole offline demo: starts the emulated tenant, runs every demo scenario, writes the report (at most -Width
       characters a line), then stops everything. #>
    param([int] $Width = 120)
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    Start-DemoTenant
    try {
        $runs = foreach ($scenario in $script:DemoScenarios) { Invoke-DemoScenario $scenario }
        Format-DemoReport -Runs @($runs) -Width $Width
        ''
        Show-ReadinessScene -Width $Width
        ''
        'Demo finished in {0:F1} s.' -f $sw.Elapsed.TotalSeconds
    }
    finally {
        Stop-DemoTenant
    }
}
