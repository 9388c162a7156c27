# Shared set-up for the Pester suites: the built module under test (STYLE rule 54).
$script:ModuleManifest = $env:SMTPAUTH_TEST_MODULE
if (-not $script:ModuleManifest) {
    $version = ([xml](Get-Content -Raw "$PSScriptRoot/../../Directory.Build.props")).Project.PropertyGroup.ModuleVersion | Where-Object { $_ } | Select-Object -First 1
    $script:ModuleManifest = Join-Path $PSScriptRoot "../../out/SmtpAuthTroubleshooter/$version/SmtpAuthTroubleshooter.psd1"
}
$script:ModuleDirectory = Split-Path $script:ModuleManifest
$script:Pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')
$script:NuGetRoot = ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()

function Invoke-FreshPwsh {
    <# Runs a script block's text in a new pwsh process (-NoProfile -NonInteractive) and returns its JSON output as objects. #>
    param([Parameter(Mandatory)][string] $Script, [hashtable] $Environment = @{})
    $file = Join-Path ([System.IO.Path]::GetTempPath()) ("smtpauth-" + [guid]::NewGuid() + '.ps1')
    Set-Content -Path $file -Value $Script -Encoding utf8
    $saved = @{}
    foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $Environment[$k]) }
    try {
        $output = & $script:Pwsh -NoProfile -NonInteractive -File $file 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($output | Out-String) }
    }
    finally {
        foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
        Remove-Item $file -ErrorAction SilentlyContinue
    }
}
