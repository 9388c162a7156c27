# Starts and stops the Exchange Online SMTP emulator (tests/SmtpAuthTroubleshooter.ExoEmulator) as a child process,
# and mints test tokens with its signing key. Dot-source after common.ps1.
. "$PSScriptRoot/../EmulatedTenant/tenant.ps1"   # Get-EmulatorDll, Start-EmulatorProcess
$script:EmulatorDll = try { Get-EmulatorDll } catch { $null }
$script:ScenarioDir = Join-Path $PSScriptRoot '../SmtpAuthTroubleshooter.ExoEmulator/Scenarios'
$script:EmulatorKey = Join-Path ([System.IO.Path]::GetTempPath()) "smtpauth-emulator-key-$PID.pem"

# The signing key is made by the first emulator or token of this process and shared by every suite it runs, so no
# suite owns it: the process does. It goes when this PowerShell exits (normally or by an error; issue 9: nothing is
# left behind), registered once however often this file is dot-sourced.
if (-not (Test-Path variable:global:SmtpAuthTestEmulatorKey) -or $global:SmtpAuthTestEmulatorKey -ne $script:EmulatorKey) {
    $global:SmtpAuthTestEmulatorKey = $script:EmulatorKey
    $null = Register-EngineEvent -SourceIdentifier PowerShell.Exiting -Action {
        Remove-Item -LiteralPath $global:SmtpAuthTestEmulatorKey -Force -ErrorAction SilentlyContinue
    } -SupportEvent
}

function Start-ExoEmulator {
    param(
        [string] $Scenario = 'demo-tenant.json',
        [ValidateSet('starttls', 'implicit', 'none')][string] $Tls = 'starttls',
        [string[]] $ExtraArgs = @()
    )
    $argList = @('smtp', '--scenario', (Join-Path $script:ScenarioDir $Scenario), '--port', '0', '--tls', $Tls, '--key', $script:EmulatorKey) + $ExtraArgs
    # StdErr.Result is the emulator's diagnostics (with --log the protocol log) once it has exited.
    $started = Start-EmulatorProcess -Arguments $argList -ReadyPattern '^LISTENING (?<ip>[\d.]+):(?<port>\d+)$' -Name 'The SMTP emulator'
    [pscustomobject]@{ Process = $started.Process; Address = $started.Match.ip; Port = [int]$started.Match.port; StdErr = $started.StdErr }
}

function Stop-ExoEmulator {
    param($Emulator)
    if (-not $Emulator) { return }
    try { $Emulator.Process.StandardInput.Close() } catch { }
    if (-not $Emulator.Process.WaitForExit(5000)) { $Emulator.Process.Kill($true) }
}

function New-TestToken {
    <# Mints a token with the emulator's key: app-only for -App, delegated with -User. Returns a SecureString. #>
    param([string] $App, [string] $User, [string] $Audience, [string] $Roles, [string] $Scope, [int] $ExpMinutes = 60, [string] $Scenario = 'demo-tenant.json', [switch] $AsPlainText)
    $argList = @($script:EmulatorDll, 'token', '--scenario', (Join-Path $script:ScenarioDir $Scenario), '--key', $script:EmulatorKey, '--exp-minutes', "$ExpMinutes")
    if ($App) { $argList += @('--app', $App) }
    if ($User) { $argList += @('--user', $User) }
    if ($Audience) { $argList += @('--aud', $Audience) }
    if ($PSBoundParameters.ContainsKey('Roles')) { $argList += @('--roles', $Roles) }
    if ($Scope) { $argList += @('--scp', $Scope) }
    $token = (& dotnet @argList | Select-Object -Last 1).Trim()
    if ($LASTEXITCODE -ne 0 -or -not $token) { throw "token minting failed ($LASTEXITCODE)" }
    if ($AsPlainText) { return $token }
    ConvertTo-SecureString $token -AsPlainText -Force
}

function New-TestCredential([string] $User, [string] $Password) {
    [pscredential]::new($User, (ConvertTo-SecureString $Password -AsPlainText -Force))
}
