# Helpers for tests and the offline demo that need the emulated tenant: the Exchange Online and Microsoft Graph
# stand-in modules (this folder), the Graph loopback emulator (SmtpAuthTroubleshooter.ExoEmulator "graph" verb) and
# Exchange Online out of process (ExoRestHost.ps1, for the stand-in's remote mode).
# Dot-source it:   . "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
# See README.md in this folder.

$script:EmulatedTenantRoot = $PSScriptRoot
$script:EmulatedTenantScenarioDir = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../SmtpAuthTroubleshooter.ExoEmulator/Scenarios'))

function Get-EmulatorDll {
    <# The newest built SmtpAuthTroubleshooter.ExoEmulator.dll (bin/<Configuration>/net10.0), or an error. #>
    $dll = Get-ChildItem (Join-Path $script:EmulatedTenantRoot '../SmtpAuthTroubleshooter.ExoEmulator/bin') -Recurse -Filter 'SmtpAuthTroubleshooter.ExoEmulator.dll' -ErrorAction SilentlyContinue |
        Where-Object { $_.Directory.Name -like 'net*' } | Sort-Object LastWriteTime -Descending | Select-Object -First 1 -ExpandProperty FullName
    if (-not $dll) { throw 'The emulator is not built: dotnet build SmtpAuthTroubleshooter.sln' }
    $dll
}

function Resolve-ScenarioPath([string] $Scenario) {
    if ([System.IO.File]::Exists($Scenario)) { return [System.IO.Path]::GetFullPath($Scenario) }
    $candidate = Join-Path $script:EmulatedTenantScenarioDir $Scenario
    if ([System.IO.File]::Exists($candidate)) { return $candidate }
    throw "Scenario '$Scenario' not found (give a path, or a file name in $script:EmulatedTenantScenarioDir)."
}

function Start-GraphEmulator {
    <#
    .SYNOPSIS
    Starts the Graph loopback emulator for a scenario; returns [pscustomobject]@{ Process; BaseUri; Port; Scenario }.
    .PARAMETER Scenario
    A scenario path, or a file name in tests/SmtpAuthTroubleshooter.ExoEmulator/Scenarios (default demo-tenant.json).
    .PARAMETER ExtraArgs
    More "graph" verb options, e.g. @('--page-size', '2', '--throttle-every', '3', '--retry-after', '0.2').
    #>
    [CmdletBinding()]
    param(
        [string] $Scenario = 'demo-tenant.json',
        [string[]] $ExtraArgs = @()
    )
    $path = Resolve-ScenarioPath $Scenario
    $started = Start-EmulatorProcess -Arguments (@('graph', '--scenario', $path, '--port', '0') + $ExtraArgs) -ReadyPattern '^LISTENING (?<uri>http://[\d.]+:(?<port>\d+)/)$' -Name 'The Graph emulator'
    [pscustomobject]@{ Process = $started.Process; BaseUri = $started.Match.uri; Port = [int]$started.Match.port; Scenario = $path; StdErr = $started.StdErr }
}

function Start-EmulatorProcess {
    <#
    Starts `dotnet SmtpAuthTroubleshooter.ExoEmulator.dll <Arguments>` (the smtp and graph verbs), or `<FileName>
    <Arguments>` (Start-ExoRestHost), waits up to -TimeoutSeconds (30) for its first stdout line to match -ReadyPattern,
    and returns @{ Process; StdErr; Match }. Stderr is drained so the emulator never blocks on a full pipe. Shared by
    Start-GraphEmulator, Start-ExoRestHost and tests/Pester/emulator.ps1 Start-ExoEmulator.
    #>
    param([Parameter(Mandatory)][string[]] $Arguments, [Parameter(Mandatory)][string] $ReadyPattern, [string] $Name = 'The emulator', [string] $FileName, [int] $TimeoutSeconds = 30)
    $psi = [System.Diagnostics.ProcessStartInfo]::new($(if ($FileName) { $FileName } else { 'dotnet' }))
    foreach ($a in $(if ($FileName) { $Arguments } else { @(Get-EmulatorDll) + $Arguments })) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($psi)
    $stderr = $process.StandardError.ReadToEndAsync()
    $line = $process.StandardOutput.ReadLineAsync()
    if (-not $line.Wait($TimeoutSeconds * 1000) -or $line.Result -notmatch $ReadyPattern) {
        try { $process.Kill($true) } catch { }
        $err = if ($stderr.Wait(2000)) { $stderr.Result } else { '' }
        throw "$Name did not start: $($line.Result) $err"
    }
    [pscustomobject]@{ Process = $process; StdErr = $stderr; Match = $Matches }
}

function Stop-GraphEmulator {
    <# Stops an emulator from Start-GraphEmulator (closes its stdin, then kills it if it does not exit within 5 s). #>
    [CmdletBinding()]
    param([Parameter(Position = 0, ValueFromPipeline)] $Emulator)
    process {
        if (-not $Emulator -or -not $Emulator.Process) { return }
        try { $Emulator.Process.StandardInput.Close() } catch { }
        if (-not $Emulator.Process.WaitForExit(5000)) { try { $Emulator.Process.Kill($true) } catch { } }
    }
}

function Start-ExoRestHost {
    <#
    .SYNOPSIS
    Starts Exchange Online out of process (ExoRestHost.ps1 in a new pwsh: the stand-in over HTTP on 127.0.0.1, an
    ephemeral port) on a scenario; returns [pscustomobject]@{ Process; BaseUri; Port; Scenario; StdErr }. Connect the
    stand-in of this process to it with Connect-ExchangeOnline -ConnectionUri $h.BaseUri (no -ScenarioPath needed):
    every stand-in command, the test hooks included, then runs in the host and streams its output back page by page.
    .PARAMETER Scenario
    A scenario path, or a file name in tests/SmtpAuthTroubleshooter.ExoEmulator/Scenarios (default demo-tenant.json).
    It is loaded before the host announces itself (10,000 mailboxes: a few seconds).
    .PARAMETER DelayMilliseconds
    Set-ExoStandInDelay in the host from the start (a Reset-ExoStandIn clears it; Connect-ExchangeOnline
    -DelayMilliseconds sets it too).
    #>
    [CmdletBinding()]
    param(
        [string] $Scenario = 'demo-tenant.json',
        [ValidateRange(0, 600000)][int] $DelayMilliseconds = 0
    )
    $path = Resolve-ScenarioPath $Scenario
    $pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
    $arguments = @('-NoProfile', '-NonInteractive', '-File', (Join-Path $script:EmulatedTenantRoot 'ExoRestHost.ps1'), '-ScenarioPath', $path, '-DelayMilliseconds', "$DelayMilliseconds")
    $started = Start-EmulatorProcess -FileName $pwsh -Arguments $arguments -ReadyPattern '^LISTENING (?<uri>http://127\.0\.0\.1:(?<port>\d+)/)$' -Name 'The Exchange Online REST host' -TimeoutSeconds 180
    $null = $started.Process.StandardOutput.ReadToEndAsync()   # nothing more is expected there; drained all the same
    [pscustomobject]@{ Process = $started.Process; BaseUri = $started.Match.uri; Port = [int]$started.Match.port; Scenario = $path; StdErr = $started.StdErr }
}

function Stop-ExoRestHost {
    <# Stops a host from Start-ExoRestHost (closes its stdin, then kills it if it does not exit within 5 s). #>
    [CmdletBinding()]
    param([Parameter(Position = 0, ValueFromPipeline)] $RestHost)
    process { Stop-GraphEmulator $RestHost }
}

function Get-ExoRestHostStats {
    <#
    The host's own figures (GET /_host/stats): ProcessId, WorkingSetMB, PeakWorkingSetMB, Requests, Invocations, Pages,
    Objects, Cancelled, Abandoned, Suspended (ids of calls waiting for their next page) and Calls (the last 50: Id,
    Command, Pages, Objects, State Running|Done|Cancelled|Abandoned, Seconds: the host's time on it). Answered even
    while a call waits for its next page.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] $RestHost)
    Invoke-RestMethod -Uri "$($RestHost.BaseUri)_host/stats" -NoProxy
}

function Import-EmulatedTenantModules {
    <# Prepends tests/EmulatedTenant to $env:PSModulePath and imports the ExchangeOnlineManagement and Microsoft.Graph.Authentication stand-ins (-Force, global). #>
    [CmdletBinding()]
    param()
    $root = [System.IO.Path]::GetFullPath($script:EmulatedTenantRoot)
    $sep = [System.IO.Path]::PathSeparator
    if (($env:PSModulePath -split [regex]::Escape($sep)) -notcontains $root) { $env:PSModulePath = $root + $sep + $env:PSModulePath }
    Import-Module (Join-Path $root 'ExchangeOnlineManagement/ExchangeOnlineManagement.psd1') -Force -Global
    Import-Module (Join-Path $root 'Microsoft.Graph.Authentication/Microsoft.Graph.Authentication.psd1') -Force -Global
}

function New-ScaleScenario {
    <#
    .SYNOPSIS
    Writes a generated scenario with -Count mailboxes to -Path (the emulator's "scenario" verb); returns the path.
    .PARAMETER SignInDays
    0 (default): no SMTP clients. 1-90: every mailbox also gets smtpClients active over that many days, so the Graph
    emulator serves about Count x min(SignInDays, 30) x SignInsPerDay Authenticated SMTP sign-ins (10,000 x 30 = about
    300,000). The mix (success, 50126, 50053, 53003, turned to failure, non-interactive, OAuth, two IPs) is in
    tests/SmtpAuthTroubleshooter.ExoEmulator/README.md.
    .PARAMETER SignInsPerDay
    Sessions per mailbox per day (default 1).
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][ValidateRange(1, 1000000)][int] $Count,
        [Parameter(Mandatory)][string] $Path,
        [int] $Seed = 1,
        [ValidateRange(0, 90)][int] $SignInDays = 0,
        [ValidateRange(0.001, 10000)][double] $SignInsPerDay = 1
    )
    $full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
    $extra = @()
    if ($SignInDays -gt 0) { $extra = @('--signin-days', "$SignInDays", '--signins-per-day', $SignInsPerDay.ToString([cultureinfo]::InvariantCulture)) }
    $output = & dotnet (Get-EmulatorDll) scenario --count $Count --out $full --seed $Seed @extra 2>&1
    if ($LASTEXITCODE -ne 0) { throw "Scenario generation failed ($LASTEXITCODE): $output" }
    $full
}

function New-TenantVariant {
    <#
    .SYNOPSIS
    Writes a copy of a scenario with tenant settings changed, and returns its path: the demo tenant's variants for
    the readiness story (see README.md, "The readiness story"). The copy is plain JSON (comments are not kept).
    .PARAMETER NoPremium
    tenant.graph.premium = false: no Entra ID P1/P2, so GET auditLogs/signIns (and What If) answer 403
    Authentication_RequestFromNonPremiumTenantOrB2CTenant.
    .PARAMETER TenantSmtpAuthEnabled
    tenant.smtpClientAuthenticationDisabled = false: SMTP AUTH on for the organization, so every mailbox whose own
    value is $null (inherit) can use it.
    .PARAMETER RejectDirectSend
    tenant.rejectDirectSend = true (Get-OrganizationConfig RejectDirectSend).
    .PARAMETER BasicAuthRetired
    tenant.basicAuthRetired = true: the SMTP emulator refuses basic auth (550 5.7.30), as after the default-off.
    .PARAMETER PermissionsMissing
    tenant.graph.permissionsMissing (e.g. AuditLog.Read.All): the Graph routes that need them answer 403.
    .PARAMETER TenantId
    Another tenant id (and -TenantName), e.g. to run two tenants side by side.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0)][string] $Scenario,
        [Parameter(Mandatory)][string] $Path,
        [switch] $NoPremium,
        [switch] $TenantSmtpAuthEnabled,
        [switch] $RejectDirectSend,
        [switch] $BasicAuthRetired,
        [string[]] $PermissionsMissing,
        [string] $TenantId,
        [string] $TenantName
    )
    $source = Resolve-ScenarioPath $Scenario
    $json = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($source)) -AsHashtable -Depth 64
    $t = $json['tenant']
    if ($NoPremium -or $PermissionsMissing) {
        if ($null -eq $t['graph']) { $t['graph'] = [ordered]@{} }
        if ($NoPremium) { $t['graph']['premium'] = $false }
        if ($PermissionsMissing) { $t['graph']['permissionsMissing'] = @($PermissionsMissing) }
    }
    if ($TenantSmtpAuthEnabled) { $t['smtpClientAuthenticationDisabled'] = $false }
    if ($RejectDirectSend) { $t['rejectDirectSend'] = $true }
    if ($BasicAuthRetired) { $t['basicAuthRetired'] = $true }
    if ($TenantId) { $t['tenantId'] = $TenantId }
    if ($TenantName) { $t['name'] = $TenantName }
    $changes = @(foreach ($p in 'NoPremium', 'TenantSmtpAuthEnabled', 'RejectDirectSend', 'BasicAuthRetired', 'PermissionsMissing', 'TenantId', 'TenantName') { if ($PSBoundParameters.ContainsKey($p)) { $p } })
    $json['description'] = "Variant of $([System.IO.Path]::GetFileName($source)) ($($changes -join ', ')). " + $json['description']
    $full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
    [System.IO.File]::WriteAllText($full, ($json | ConvertTo-Json -Depth 64))
    $full
}

function Invoke-GraphEmulatorControl {
    <# Calls a control endpoint of a running emulator: stats (GET), reset (POST), faults (GET, or POST with -Body @{...}). #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] $Emulator,
        [Parameter(Mandatory)][ValidateSet('stats', 'reset', 'faults', 'tenant')][string] $Endpoint,
        [hashtable] $Body
    )
    $uri = "$($Emulator.BaseUri)_emulator/$Endpoint"
    if ($Endpoint -eq 'reset' -or $Body) {
        Invoke-RestMethod -Method Post -Uri $uri -ContentType 'application/json' -Body $(if ($Body) { $Body | ConvertTo-Json -Compress } else { '{}' })
    }
    else { Invoke-RestMethod -Method Get -Uri $uri }
}
