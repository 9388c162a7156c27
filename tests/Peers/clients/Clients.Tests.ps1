#Requires -Version 7.0
# Live: real SMTP client software against the ExoEmulator, and Resolve-SmtpAuthError on what each client prints
# (README.md). A client is skipped (not failed) only when its package cannot be installed here: the PEER-UNAVAILABLE
# pattern of tests/Peers/PeerTools.ps1. Passwords are the emulator's test accounts and tokens live in variables only;
# the clients get them through their environment (curl: its config on stdin), and nothing here prints them.
#
#   dotnet pwsh -NoProfile -Command "Invoke-Pester ./tests/Peers/clients/Clients.Tests.ps1 -Output Detailed"

BeforeDiscovery {
    # The cheap clients CI has (.ci/packages.txt: python3, curl, swaks, msmtp; pwsh and MailKit come with the module).
    # nodemailer, Perl Net::SMTP, PHPMailer and Ruby run in Invoke-ClientMatrix.ps1 (and their texts in the xunit data
    # test), not here: the run stays near 90 s on two cores.
    $script:ClientNames = @('python-smtplib', 'Send-MailMessage', 'MailKit', 'curl', 'swaks', 'msmtp')
}

BeforeAll {
    . "$PSScriptRoot/../../Pester/common.ps1"
    . "$PSScriptRoot/../../Pester/emulator.ps1"
    . "$PSScriptRoot/../PeerTools.ps1"
    . "$PSScriptRoot/ClientMatrix.ps1"
    Import-Module $script:ModuleManifest -Force
    $names = @('python-smtplib', 'Send-MailMessage', 'MailKit', 'curl', 'swaks', 'msmtp')   # as in BeforeDiscovery

    # Debian packages per client; installed with apt-get when missing and running as root (as Install-Swaks does).
    $packages = @{
        'python-smtplib' = @('python3'); 'curl' = @('curl'); 'swaks' = @('swaks', 'libnet-ssleay-perl'); 'msmtp' = @('msmtp')
    }
    $script:Missing = @{}
    $all = Get-ClientMatrixClients | Where-Object { $names -contains $_.Name }
    $toInstall = @($all | Where-Object { -not (Test-ClientMatrixClient $_) } | ForEach-Object { $packages[$_.Name] } | Where-Object { $_ })
    if ($toInstall -and (Get-Command apt-get -ErrorAction SilentlyContinue) -and "$(& id -u 2>$null)".Trim() -eq '0') {
        $env:DEBIAN_FRONTEND = 'noninteractive'
        & apt-get install -y -qq --no-install-recommends @toInstall 2>&1 | Out-Null
        if ($LASTEXITCODE -ne 0) { & apt-get update -qq 2>&1 | Out-Null; & apt-get install -y -qq --no-install-recommends @toInstall 2>&1 | Out-Null }
    }
    $script:Clients = foreach ($c in $all) {
        if (Test-ClientMatrixClient $c) { $c }
        else { $script:Missing[$c.Name] = "PEER-UNAVAILABLE: $($c.Name) is not installed and its package ($($packages[$c.Name] -join ', ')) could not be installed here" }
    }

    $script:Emulators = Start-ClientMatrixEmulators
    $secrets = New-ClientMatrixSecrets
    $deps = Join-Path $script:ModuleDirectory 'dependencies'
    $script:Rows = @(Invoke-ClientMatrix -Clients $script:Clients -Scenarios (Get-ClientMatrixScenarios) -Emulators $script:Emulators -Secrets $secrets -MailKitDirectory $deps -ThrottleLimit 5)
    $secrets = $null
    foreach ($r in $script:Rows) {
        $ids = @(Resolve-SmtpAuthError -InputObject $r.Text -ErrorAction SilentlyContinue | Where-Object Verdict -NE 'RuledOut' | ForEach-Object CauseId)
        $r | Add-Member -NotePropertyName Got -NotePropertyValue ($ids | Select-Object -First 1)
        $r | Add-Member -NotePropertyName Reading -NotePropertyValue (Get-ClientMatrixExpected -Client $r.Client -Scenario $r.Scenario -Text $r.Text -ScenarioCause $r.Expected)
    }
}

AfterAll {
    Stop-ClientMatrixEmulators $script:Emulators
}

Describe 'Real SMTP clients against the ExoEmulator' {
    It '<_>: every failure it prints reads as the cause the text carries' -ForEach $script:ClientNames {
        if ($script:Missing.ContainsKey($_)) { Set-ItResult -Skipped -Because $script:Missing[$_]; return }
        $rows = @($script:Rows | Where-Object Client -EQ $_)
        $rows.Count | Should -BeGreaterThan 5 -Because "the client ran its scenarios"
        $problems = foreach ($r in $rows) {
            if ($r.Text -eq 'SENT') { "$($r.Scenario): the client sent (the scenario must fail)"; continue }
            if (($r.Reading -split '\|') -notcontains $r.Got) {
                "$($r.Scenario): expected $($r.Reading), got $($r.Got) | $($r.Text -replace '\s+', ' ')"
            }
        }
        $problems | Should -BeNullOrEmpty
    }
}
