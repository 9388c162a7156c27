#requires -Modules Pester
# Issue 9: the admin's session is theirs. Each test runs an admin's session in a fresh, non-interactive pwsh (the way a
# runbook runs) with the emulated tenant: the stand-in ExchangeOnlineManagement and Microsoft.Graph.Authentication
# modules (Connect-ExchangeOnline, Connect-MgGraph), the Graph loopback emulator and the Exchange Online SMTP emulator.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    $script:TestsRoot = (Resolve-Path "$PSScriptRoot/..").Path

    # The start of every admin session below: modules, both sessions, the SMTP emulator. Then the script's own text.
    function Invoke-AdminSession([string] $Body) {
        $script = @"
`$ErrorActionPreference = 'Stop'
. '$($script:TestsRoot)/Pester/common.ps1'
. '$($script:TestsRoot)/Pester/emulator.ps1'
Import-EmulatedTenantModules
Import-Module '$($script:ModuleManifest)'
`$graphEmulator = Start-GraphEmulator
`$smtpEmulator = Start-ExoEmulator
Connect-ExchangeOnline -ScenarioPath (Resolve-ScenarioPath 'demo-tenant.json') -ShowBanner:`$false
`$null = Connect-MgGraph -GraphBaseUri `$graphEmulator.BaseUri
try {
$Body
}
finally { Stop-GraphEmulator `$graphEmulator; Stop-ExoEmulator `$smtpEmulator }
"@
        Invoke-FreshPwsh $script
    }

    function Read-Json($Run) {
        $line = ($Run.Output -split "\r?\n" | Where-Object { $_ -like 'JSON:*' } | Select-Object -Last 1)
        if (-not $line) { throw "no JSON line in the output:`n$($Run.Output)" }
        $line.Substring(5) | ConvertFrom-Json
    }
}

Describe 'The caller''s session is left as it was' -Tag Session {
    It 'changes no variable, function or preference of the caller, over the EXO session and the Connect-MgGraph session' {
        $run = Invoke-AdminSession @'
# The admin's own variables, some named like the module's internals (the Invoke-MgGraphRequest script used $p, $r, ...).
$p = 'admin p'; $r = 'admin r'; $sc = 'admin sc'; $rh = 'admin rh'; $ra = 'admin ra'
$Uri = 'admin uri'; $Body = 'admin body'; $Method = 'admin method'; $Headers = 'admin headers'
$command = 'admin command'; $parameters = 'admin parameters'; $result = 'admin result'; $mailbox = 'admin mailbox'
$VerbosePreference = 'SilentlyContinue'; $WarningPreference = 'Continue'; $DebugPreference = 'SilentlyContinue'; $ErrorActionPreference = 'Continue'
function Get-AdminThing { 'mine' }

# Automatic variables that PowerShell itself changes with every command, and this script's own bookkeeping.
$automatic = @('?', '^', '$', '_', 'args', 'Error', 'input', 'LASTEXITCODE', 'Matches', 'MyInvocation', 'PSItem', 'StackTrace',
    'PSBoundParameters', 'PSCmdlet', 'foreach', 'switch', 'this', 'PWD', 'snapshotBefore', 'snapshotAfter', 'out', 'states', 'all',
    'resolved', 'probes', 'changed', 'automatic', 'cred', 'psdefaultparametervalues')
function Get-SessionSnapshot {
    $map = @{}
    foreach ($v in (Get-Variable -Scope 1)) {
        if ($automatic -contains $v.Name) { continue }
        $value = $v.Value
        $map["var:$($v.Name)"] = if ($null -eq $value) { '<null>' } elseif ($value -is [string] -or $value.GetType().IsValueType) { "$($value.GetType().Name):$value" } else { "ref:$([System.Runtime.CompilerServices.RuntimeHelpers]::GetHashCode($value))" }
    }
    foreach ($v in (Get-Variable -Scope Global)) {
        if ($automatic -contains $v.Name) { continue }
        $value = $v.Value
        $map["global:$($v.Name)"] = if ($null -eq $value) { '<null>' } elseif ($value -is [string] -or $value.GetType().IsValueType) { "$($value.GetType().Name):$value" } else { "ref:$([System.Runtime.CompilerServices.RuntimeHelpers]::GetHashCode($value))" }
    }
    foreach ($f in (Get-ChildItem function:)) { $map["function:$($f.Name)"] = "$([System.Runtime.CompilerServices.RuntimeHelpers]::GetHashCode($f.ScriptBlock))" }
    foreach ($a in (Get-ChildItem alias:)) { $map["alias:$($a.Name)"] = $a.Definition }
    $map
}

$snapshotBefore = Get-SessionSnapshot
$cred = New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!'
$states = @(Get-SmtpAuthPolicyState healthy.basic@contoso.com, mfa.user@contoso.com)
$all = @(Get-SmtpAuthPolicyState -All)
$probes = @('healthy.basic@contoso.com' | Get-SmtpAuthPolicyState | Test-SmtpAuth -Credential $cred -Server 127.0.0.1 -Port $smtpEmulator.Port -SkipCertificateCheck -WarningAction SilentlyContinue -TimeoutSec 20)
$resolved = @($probes | Resolve-SmtpAuthError) + @(Resolve-SmtpAuthError '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.')
$snapshotAfter = Get-SessionSnapshot

$changed = @(foreach ($k in @($snapshotBefore.Keys) + @($snapshotAfter.Keys) | Sort-Object -Unique) {
    if ($snapshotBefore[$k] -ne $snapshotAfter[$k]) { "$k : '$($snapshotBefore[$k])' -> '$($snapshotAfter[$k])'" }
})
'JSON:' + (@{
    Changed = $changed
    States = $states.Count; All = $all.Count; Probes = $probes.Count; Resolved = $resolved.Count
    GraphRead = @($states | Where-Object { $null -ne $_.SecurityDefaultsEnabled }).Count
    ProbeOk = [bool]$probes[0].Succeeded
    AdminP = $p; AdminFunction = (Get-AdminThing)
} | ConvertTo-Json -Compress)
'@
        $j = Read-Json $run
        # The cmdlets really ran, through both sessions (Graph fields read through Invoke-MgGraphRequest).
        $j.States | Should -Be 2
        $j.GraphRead | Should -Be 2 -Because $run.Output
        $j.All | Should -BeGreaterThan 5
        $j.ProbeOk | Should -BeTrue
        $j.Resolved | Should -BeGreaterThan 1
        # ...and the session is as it was.
        @($j.Changed) | Should -BeNullOrEmpty -Because ($j.Changed -join "`n")
        $j.AdminP | Should -BeExactly 'admin p'
        $j.AdminFunction | Should -BeExactly 'mine'
    }
}

Describe '-Debug never prompts' -Tag Session {
    It 'shows debug, verbose and warning messages in a non-interactive session and asks nothing' {
        $run = Invoke-AdminSession @'
$ErrorActionPreference = 'Continue'
$records = @(
    Test-SmtpAuth -SkipAuthentication -Server 127.0.0.1 -Port $smtpEmulator.Port -SkipCertificateCheck -TimeoutSec 20 -Debug 3>&1 4>&1 5>&1
    Get-SmtpAuthPolicyState healthy.basic@contoso.com -Debug 3>&1 4>&1 5>&1
    Resolve-SmtpAuthError '535 5.7.3 Authentication unsuccessful' -Debug 3>&1 4>&1 5>&1
)
$quiet = @(Test-SmtpAuth -SkipAuthentication -Server 127.0.0.1 -Port $smtpEmulator.Port -SkipCertificateCheck -TimeoutSec 20 -Debug -WarningAction SilentlyContinue 3>&1)
'JSON:' + (@{
    Errors = @($Error | ForEach-Object { "$_" })
    Warnings = @($records | Where-Object { $_ -is [System.Management.Automation.WarningRecord] } | ForEach-Object Message)
    Verbose = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count
    Debug = @($records | Where-Object { $_ -is [System.Management.Automation.DebugRecord] } | ForEach-Object Message)
    Results = @($records | Where-Object { $_ -is [SmtpAuthTroubleshooter.SmtpAuthTestResult] -or $_ -is [SmtpAuthTroubleshooter.SmtpAuthPolicyState] -or $_ -is [SmtpAuthTroubleshooter.SmtpAuthFinding] } | ForEach-Object { $_.GetType().Name })
    QuietWarnings = @($quiet | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }).Count
} | ConvertTo-Json -Compress)
'@
        $j = Read-Json $run
        @($j.Errors) | Should -BeNullOrEmpty -Because ($j.Errors -join "`n")
        $run.Output | Should -Not -Match 'Read and Prompt'
        @($j.Warnings) -match 'SkipCertificateCheck' | Should -Not -BeNullOrEmpty
        $j.Verbose | Should -BeGreaterThan 2
        @($j.Debug) -match 'SMTP transcript' | Should -Not -BeNullOrEmpty
        $j.Results | Should -Contain 'SmtpAuthTestResult'
        $j.Results | Should -Contain 'SmtpAuthPolicyState'
        $j.Results | Should -Contain 'SmtpAuthFinding'
        $j.QuietWarnings | Should -Be 0 -Because 'an explicit -WarningAction still wins over -Debug'
    }
}

Describe 'No command ends silently having done nothing' -Tag Session {
    It 'a bare Get-SmtpAuthPolicyState says to pass -Identity or -All; empty piped input is simply no input' {
        $run = Invoke-AdminSession @'
$ErrorActionPreference = 'Continue'
$bare = try { Get-SmtpAuthPolicyState -ErrorAction Stop; 'no error' } catch { $_ }
$Error.Clear()
$empty = @(@() | Get-SmtpAuthPolicyState)
'JSON:' + (@{
    Id = $bare.FullyQualifiedErrorId; Message = "$bare"; Action = $bare.ErrorDetails.RecommendedAction; Category = "$($bare.CategoryInfo.Category)"
    Empty = $empty.Count; EmptyErrors = $Error.Count
} | ConvertTo-Json -Compress)
'@
        $j = Read-Json $run
        $j.Id | Should -BeExactly 'IdentityRequired,SmtpAuthTroubleshooter.Commands.GetSmtpAuthPolicyStateCommand'
        $j.Message | Should -Match '-Identity'
        $j.Message | Should -Match '-All'
        $j.Action | Should -Match 'Get-SmtpAuthPolicyState -Identity'
        $j.Category | Should -Be 'InvalidArgument'
        $j.Empty | Should -Be 0
        $j.EmptyErrors | Should -Be 0
    }

    It 'a -SkipAuthentication result (no user name) pipes into Resolve-SmtpAuthError without an error' {
        $run = Invoke-AdminSession @'
$ErrorActionPreference = 'Continue'
$probe = Test-SmtpAuth -SkipAuthentication -Server 127.0.0.1 -Port $smtpEmulator.Port -SkipCertificateCheck -WarningAction SilentlyContinue -TimeoutSec 20
$out = @($probe | Resolve-SmtpAuthError 6>&1)
'JSON:' + (@{
    UserName = $probe.UserName; Succeeded = $probe.Succeeded
    Errors = @($Error | ForEach-Object { "$_" })
    Information = @($out | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$($_.MessageData)" })
} | ConvertTo-Json -Compress)
'@
        $j = Read-Json $run
        $j.Succeeded | Should -BeTrue
        $j.UserName | Should -BeNullOrEmpty
        @($j.Errors) | Should -BeNullOrEmpty -Because ($j.Errors -join "`n")
        @($j.Information) -match 'no failure to resolve' | Should -Not -BeNullOrEmpty
    }
}

Describe '-SendTestMessage does what its help says' -Tag Session {
    It 'sends without a prompt at the default $ConfirmPreference, and nothing with -WhatIf' {
        # Issue 10: the help said it asks for confirmation, and it does not (ConfirmImpact Medium, $ConfirmPreference High).
        $run = Invoke-AdminSession @'
$ErrorActionPreference = 'Continue'
$cred = New-TestCredential 'healthy.basic@contoso.com' 'Demo-Healthy-1!'
$common = @{ Credential = $cred; Server = '127.0.0.1'; Port = $smtpEmulator.Port; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }
$sent = Test-SmtpAuth @common -SendTestMessage
$whatIf = Test-SmtpAuth @common -SendTestMessage -WhatIf
$help = (Get-Help Test-SmtpAuth -Parameter SendTestMessage).Description.Text -join ' '
'JSON:' + (@{ Errors = @($Error | ForEach-Object { "$_" }); Sent = $sent.TestMessageSent; WhatIfSent = $whatIf.TestMessageSent; WhatIfAuth = $whatIf.Succeeded; Help = $help; Preference = "$ConfirmPreference" } | ConvertTo-Json -Compress)
'@
        $j = Read-Json $run
        @($j.Errors) | Should -BeNullOrEmpty -Because ($j.Errors -join "`n")
        $j.Preference | Should -Be 'High'
        $j.Sent | Should -BeTrue
        $j.WhatIfSent | Should -BeFalse
        $j.WhatIfAuth | Should -BeTrue
        $j.Help | Should -Match 'Sends without asking at the default \$ConfirmPreference'
    }
}

Describe 'Nothing is left behind' -Tag Session {
    It 'removes the emulator''s signing key when the PowerShell that made it exits' -Tag Harness {
        $run = Invoke-FreshPwsh @"
. '$($script:TestsRoot)/Pester/common.ps1'
. '$($script:TestsRoot)/Pester/emulator.ps1'
. '$($script:TestsRoot)/Pester/emulator.ps1'
`$null = New-TestToken -App 'b1000000-0000-4000-8000-000000000001'
'JSON:' + (@{ Key = `$script:EmulatorKey; Exists = (Test-Path `$script:EmulatorKey) } | ConvertTo-Json -Compress)
"@
        $j = Read-Json $run
        $j.Exists | Should -BeTrue -Because 'the token was minted with it'
        Test-Path -LiteralPath $j.Key | Should -BeFalse
    }
}
