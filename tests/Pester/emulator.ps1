# Starts and stops the Exchange Online SMTP emulator (tests/SmtpAuthTroubleshooter.ExoEmulator) as a child process,
# and mints test tokens with its signing key. Dot-source after common.ps1.
$script:EmulatorDll = Get-ChildItem (Join-Path $PSScriptRoot '../SmtpAuthTroubleshooter.ExoEmulator/bin') -Recurse -Filter 'SmtpAuthTroubleshooter.ExoEmulator.dll' -ErrorAction SilentlyContinue |
    Where-Object { $_.Directory.Name -like 'net*' } | Sort-Object LastWriteTime -Descending | Select-Object -First 1 -ExpandProperty FullName
$script:ScenarioDir = Join-Path $PSScriptRoot '../SmtpAuthTroubleshooter.ExoEmulator/Scenarios'
$script:EmulatorKey = Join-Path ([System.IO.Path]::GetTempPath()) "smtpauth-emulator-key-$PID.pem"

function Start-ExoEmulator {
    param(
        [string] $Scenario = 'demo-tenant.json',
        [ValidateSet('starttls', 'implicit', 'none')][string] $Tls = 'starttls',
        [string[]] $ExtraArgs = @()
    )
    if (-not $script:EmulatorDll) { throw 'The emulator is not built (dotnet build the solution).' }
    $argList = @($script:EmulatorDll, 'smtp', '--scenario', (Join-Path $script:ScenarioDir $Scenario), '--port', '0', '--tls', $Tls, '--key', $script:EmulatorKey) + $ExtraArgs
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in $argList) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($psi)
    # Drained so the emulator never blocks on a full pipe; StdErr.Result is its diagnostics (with --log the protocol log) once it has exited.
    $stderr = $process.StandardError.ReadToEndAsync()
    $line = $process.StandardOutput.ReadLineAsync()
    if (-not $line.Wait(30000) -or $line.Result -notmatch '^LISTENING (?<ip>[\d.]+):(?<port>\d+)$') {
        $process.Kill($true)
        throw "The emulator did not start: $($line.Result)"
    }
    [pscustomobject]@{ Process = $process; Address = $Matches.ip; Port = [int]$Matches.port; StdErr = $stderr }
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
