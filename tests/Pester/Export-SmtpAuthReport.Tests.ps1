#requires -Modules Pester
# Export-SmtpAuthReport (issue 12): the readiness page from typed clients and from rows read back with Import-Csv, the
# file handling (ShouldProcess, -Force, the PowerShell location), bad input, and the page in a real headless browser
# (Debian's chromium, installed by .ci/run): text, chart and table in the DOM, and a screenshot that is a real image.
BeforeDiscovery {
    $script:Chromium = Get-Command chromium, chromium-browser -CommandType Application -ErrorAction Ignore | Select-Object -First 1
}

BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:Chromium = Get-Command chromium, chromium-browser -CommandType Application -ErrorAction Ignore | Select-Object -First 1
    $script:Work = Join-Path ([System.IO.Path]::GetTempPath()) ('smtpauth-report-' + [guid]::NewGuid())
    $null = New-Item -ItemType Directory -Path $script:Work
    $script:Before = [datetime]::SpecifyKind([datetime]'2026-11-30T09:00:00', 'Utc')
    $script:After = [datetime]::SpecifyKind([datetime]'2027-01-05T09:00:00', 'Utc')
    $script:TimelineUri = 'https://techcommunity.microsoft.com/blog/exchange/updated-exchange-online-smtp-auth-basic-authentication-deprecation-timeline/4489835'
    $script:Fqid = ',SmtpAuthTroubleshooter.Commands.ExportSmtpAuthReportCommand'

    function New-ReadinessClients {
        # A realistic tenant: every impact value and every migration path; 30 days of sign-ins (1-30 November 2026)
        # with two quiet Sundays (8 and 15 November) on which no sender signed in.
        $start = [datetime]'2026-11-01'
        function PerDay([int[]] $Weekday, [int[]] $Weekend, [int] $Seed) {
            $rng = [System.Random]::new($Seed)
            (0..29 | ForEach-Object {
                    $d = $start.AddDays($_)
                    if ($d.Day -in 8, 15) { return }
                    $n = if ($d.DayOfWeek -in 'Saturday', 'Sunday') { $rng.Next($Weekend[0], $Weekend[1]) } else { $rng.Next($Weekday[0], $Weekday[1]) }
                    if ($n -gt 0) { '{0:yyyy-MM-dd}={1}' -f $d, $n }
                }) -join ';'
        }
        $new = {
            param($Upn, $Ip, $Impact, $Path, $Reason, $Command, $PerDay, [int] $Failures = 0, $Extra = @{})
            $total = 0
            foreach ($pair in ($PerDay -split ';' | Where-Object { $_ })) { $total += [int]($pair -split '=')[1] }
            if ($Failures -lt 0) { $Failures = $total }
            $c = [SmtpAuthTroubleshooter.SmtpAuthClient]@{
                UserPrincipalName = $Upn; ClientIp = $Ip; Days = 30
                SignInCount = $total; SuccessCount = $total - $Failures; FailureCount = $Failures; SignInsPerDay = $PerDay
                FirstSeenUtc = if ($total) { [datetime]::SpecifyKind([datetime]'2026-11-01T07:02:00', 'Utc') } else { $null }
                LastSeenUtc = if ($total) { [datetime]::SpecifyKind([datetime]'2026-11-30T06:41:00', 'Utc') } else { $null }
                SmtpAuthEnabled = $true; SmtpAuthDecidedBy = 'Tenant'; BasicAuthVerdict = 'Allowed'; RecipientTypeDetails = 'UserMailbox'
                Location = 'Zurich, CH'
                ImpactAtDefaultOff = $Impact
                ImpactReason = switch ($Impact) {
                    'Breaks' { "$($total - $Failures) basic sign-ins succeeded in the window." }
                    'AlreadyFailing' { "All $total basic sign-ins failed." }
                    default { $null }
                }
                MigrationPath = $Path; MigrationReason = $Reason; MigrationCommand = $Command
            }
            foreach ($k in $Extra.Keys) { $c.$k = $Extra[$k] }
            $c
        }
        & $new 'scanner-2f@contoso.com' '203.0.113.25' Breaks ConnectorRelay 'Static public IP 203.0.113.25 for 30 days; recipients outside the tenant (12 external domains); the device has no OAuth.' "New-InboundConnector -Name 'SMTP relay scanner-2f (203.0.113.25)' -ConnectorType OnPremises -SenderDomains * -SenderIPAddresses 203.0.113.25 -RestrictDomainsToIPAddresses `$true -RequireTls `$true -Comment 'Replaces basic SMTP AUTH for scanner-2f@contoso.com before the end-of-December 2026 default-off'" (PerDay @(20, 60) @(0, 3) 1) 0 @{ InternalRecipientsOnly = $false; MessagesSent = 1480; AuthenticationProtocol = 'Basic' }
        & $new 'app-erp@contoso.com' '198.51.100.7' Breaks OAuth 'The ERP mailer supports XOAUTH2 (client credentials): app-only with SMTP.SendAsApp.' "Add-MailboxPermission -Identity 'app-erp@contoso.com' -User 'b3c1e0a4-5f2d-4c6b-9a8e-1d2f3a4b5c6d' -AccessRights FullAccess" (PerDay @(30, 90) @(10, 20) 2) 3
        & $new 'alerts@contoso.com' '198.51.100.40' Breaks HighVolumeEmail 'Every recipient in the window is internal (2,310 traced messages); the monitoring appliance has no OAuth.' "New-MailUser -HVEAccount -Name 'HVE alerts' -PrimarySmtpAddress 'hve-alerts@contoso.com' -Password (Read-Host -AsSecureString -Prompt 'HVE password')" (PerDay @(40, 80) @(30, 50) 3) 0 @{ InternalRecipientsOnly = $true; TracedMessages = 2310 }
        & $new 'mfp-floor3@contoso.com' '203.0.113.60' Breaks DirectSend 'Internal recipients only and RejectDirectSend is off: send to contoso-com.mail.protection.outlook.com:25 without signing in.' $null (PerDay @(5, 15) @(0, 1) 4) 0 @{ InternalRecipientsOnly = $true }
        & $new 'build-bot@contoso.com' '20.61.12.9' Breaks GraphSendMail 'A script the platform team owns (PowerShell user agent): send with Graph sendMail.' "New-ApplicationAccessPolicy -AppId 'c0ffee00-1234-4abc-8def-0123456789ab' -PolicyScopeGroupId 'build-senders@contoso.com' -AccessRight RestrictAccess -Description 'build-bot Graph sendMail'" (PerDay @(2, 10) @(0, 2) 5) 1
        & $new 'newsletter@contoso.com' '52.174.9.3' Breaks AzureCommunicationServices '38,000 messages to external recipients in the window and no OAuth in the mailer.' $null (PerDay @(50, 120) @(0, 5) 6) 0 @{ InternalRecipientsOnly = $false; MessagesSent = 38000 }
        & $new '<script>alert("x")</script>@evil.example' '192.0.2.66' Breaks Review 'Sender name from an untrusted device: <b>not bold</b> & "quoted".' "Write-Output '<img src=x onerror=alert(1)>'" (PerDay @(1, 3) @(0, 1) 7) 0
        & $new 'old-printer@contoso.com' '203.0.113.77' AlreadyFailing Review 'Every basic sign-in failed (50126: wrong password) since 2026-11-03: fix or retire the device first.' $null (PerDay @(8, 12) @(8, 12) 8) -1 @{ LastErrorCode = 50126; LastFailureReason = 'Error validating credentials due to invalid username or password.'; TurnedToFailure = $true }
        & $new 'hr-portal@contoso.com' '198.51.100.90' AlreadyFailing OAuth 'Locked out (50053); the portal supports OAuth: move it while it is broken anyway.' "Add-MailboxPermission -Identity 'hr-portal@contoso.com' -User '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -AccessRights FullAccess" (PerDay @(0, 4) @(0, 2) 9) -1 @{ LastErrorCode = 50053; LastFailureReason = 'Account is locked because the user tried to sign in too many times with an incorrect user ID or password.' }
        & $new 'legacy-fax@contoso.com' $null Unknown Review 'The sign-in log could not be read, so use is unknown.' $null $null 0 @{ SignInCount = $null; SuccessCount = $null; FailureCount = $null; UnknownReasons = 'Sign-ins: 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant (the tenant has no Entra ID P1 licence)' }
        & $new 'shared-info@contoso.com' $null Unaffected DisableSmtpAuth 'SMTP AUTH is effective (inherits the tenant) but there was no sign-in in 30 days: switch it off.' "Set-CASMailbox -Identity 'shared-info@contoso.com' -SmtpClientAuthenticationDisabled `$true" '' 0 @{ RecipientTypeDetails = 'SharedMailbox' }
        & $new 'crm@contoso.com' $null Unaffected None 'OAuth only in the admin center report (4,120 messages); no basic sign-in.' $null '' 0 @{ AuthenticationProtocol = 'OAuth'; MessagesSent = 4120 }
    }

    function Get-ExpectedPerDay([object[]] $Clients) {
        $sum = [ordered]@{}
        foreach ($pair in ($Clients.SignInsPerDay -split ';' | Where-Object { $_ } | Sort-Object)) {
            $day, $n = $pair -split '='
            $sum[$day] = [int]$sum[$day] + [int]$n
        }
        $sum
    }

    function ConvertFrom-Html([string] $Text) { [System.Net.WebUtility]::HtmlDecode(($Text -replace '<[^>]+>', '')).Trim() }

    $script:Clients = @(New-ReadinessClients)
}

AfterAll {
    Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Export-SmtpAuthReport' -Tag Report {
    It 'writes one UTF-8 page from Get-SmtpAuthClient objects and, with -PassThru, outputs its FileInfo' {
        $path = Join-Path $script:Work 'typed.html'
        $file = $script:Clients | Export-SmtpAuthReport -Path $path -AsOf $script:Before -PassThru

        $file | Should -BeOfType System.IO.FileInfo
        $file.FullName | Should -Be $path
        $file.Length | Should -BeGreaterThan 10000
        $bytes = [System.IO.File]::ReadAllBytes($path)
        $bytes[0..2] | Should -Not -Be @(0xEF, 0xBB, 0xBF) -Because 'UTF-8 without a byte-order mark'
        $html = [System.Text.Encoding]::UTF8.GetString($bytes)
        $html | Should -Match '^<!DOCTYPE html>\n<html lang="en">'
        $html | Should -Match '<meta charset="utf-8">'
        $html | Should -Match '<h1 id="headline" class="bad" data-breaks="7">7 senders stop working at the end of December 2026</h1>'
        $html | Should -Match '<title>SMTP AUTH basic authentication readiness</title>'
    }

    It 'writes nothing and outputs nothing for no input and -PassThru:$false, and says "no senders" for an empty pipeline' {
        $path = Join-Path $script:Work 'empty.html'
        $out = @() | Export-SmtpAuthReport -Path $path -AsOf $script:Before
        $out | Should -BeNullOrEmpty
        $html = Get-Content -Raw $path
        $html | Should -Match '<h1 id="headline" class="ok" data-breaks="0">No SMTP AUTH senders in this report</h1>'
        $html | Should -Match 'id="empty-note"'
        $html | Should -Not -Match '<table id="senders"'
    }

    It 'resolves -Path against the current PowerShell location, a PSDrive included' {
        Push-Location $script:Work
        try {
            $null = New-PSDrive -Name SmtpReport -PSProvider FileSystem -Root $script:Work
            $script:Clients | Export-SmtpAuthReport -Path 'relative.html' -AsOf $script:Before
            $script:Clients | Export-SmtpAuthReport -Path 'SmtpReport:/drive.html' -AsOf $script:Before
        }
        finally {
            Pop-Location
            Remove-PSDrive -Name SmtpReport -ErrorAction SilentlyContinue
        }
        Test-Path (Join-Path $script:Work 'relative.html') | Should -BeTrue
        Test-Path (Join-Path $script:Work 'drive.html') | Should -BeTrue
    }

    It 'refuses to overwrite an existing file without -Force, with a stable error id and a recommended action' {
        $path = Join-Path $script:Work 'exists.html'
        Set-Content -LiteralPath $path -Value 'keep me'
        $err = $null
        try { $script:Clients | Export-SmtpAuthReport -Path $path -AsOf $script:Before -ErrorAction Stop } catch { $err = $_ }

        $err.FullyQualifiedErrorId | Should -BeExactly ('ReportFileExists' + $script:Fqid)
        $err.CategoryInfo.Category | Should -Be 'ResourceExists'
        $err.ErrorDetails.RecommendedAction | Should -Match '-Force'
        (Get-Content -Raw $path).Trim() | Should -Be 'keep me'

        $script:Clients | Export-SmtpAuthReport -Path $path -AsOf $script:Before -Force
        Get-Content -Raw $path | Should -Match '7 senders stop working'
    }

    It 'replaces a read-only file with -Force' -Skip:$IsWindows {
        $path = Join-Path $script:Work 'readonly.html'
        Set-Content -LiteralPath $path -Value 'old'
        (Get-Item $path).Attributes = 'ReadOnly'
        $script:Clients | Export-SmtpAuthReport -Path $path -AsOf $script:Before -Force
        Get-Content -Raw $path | Should -Match '7 senders stop working'
    }

    It 'writes nothing with -WhatIf' {
        $path = Join-Path $script:Work 'whatif.html'
        $out = $script:Clients | Export-SmtpAuthReport -Path $path -AsOf $script:Before -WhatIf -PassThru
        $out | Should -BeNullOrEmpty
        Test-Path $path | Should -BeFalse
    }

    It 'stops with a clear error for a path it cannot write: <Case>' -ForEach @(
        @{ Case = 'a directory'; Target = { $script:Work }; Id = 'ReportPathIsDirectory' }
        @{ Case = 'a missing directory'; Target = { Join-Path $script:Work 'no/such/dir/r.html' }; Id = 'ReportDirectoryNotFound' }
        @{ Case = 'another provider'; Target = { 'Env:/SMTPAUTH_REPORT' }; Id = 'ReportPathNotFileSystem' }
    ) {
        $err = $null
        try { $script:Clients | Export-SmtpAuthReport -Path (& $Target) -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeExactly ($Id + $script:Fqid)
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'renders the same page from rows read back with Import-Csv and from Import-Clixml' {
        $csv = Join-Path $script:Work 'clients.csv'
        $xml = Join-Path $script:Work 'clients.xml'
        $script:Clients | Export-Csv -LiteralPath $csv -NoTypeInformation
        $script:Clients | Export-Clixml -LiteralPath $xml
        $script:Clients | Export-SmtpAuthReport -Path (Join-Path $script:Work 'typed-again.html') -AsOf $script:Before
        Import-Csv -LiteralPath $csv | Export-SmtpAuthReport -Path (Join-Path $script:Work 'from-csv.html') -AsOf $script:Before -ErrorVariable csvErrors
        Import-Clixml -LiteralPath $xml | Export-SmtpAuthReport -Path (Join-Path $script:Work 'from-clixml.html') -AsOf $script:Before -ErrorVariable xmlErrors

        $csvErrors | Should -BeNullOrEmpty
        $xmlErrors | Should -BeNullOrEmpty
        $typed = Get-Content -Raw (Join-Path $script:Work 'typed-again.html')
        Get-Content -Raw (Join-Path $script:Work 'from-csv.html') | Should -BeExactly $typed
        Get-Content -Raw (Join-Path $script:Work 'from-clixml.html') | Should -BeExactly $typed
    }

    It 'reads "False" in a CSV cell as false, not as a non-empty string' {
        $row = [pscustomobject]@{ UserPrincipalName = 'a@contoso.com'; ImpactAtDefaultOff = 'Unaffected'; MigrationPath = 'DisableSmtpAuth'; SmtpAuthEnabled = 'False'; SmtpAuthDecidedBy = 'Mailbox'; InternalRecipientsOnly = 'False' }
        $path = Join-Path $script:Work 'bool.html'
        $row | Export-SmtpAuthReport -Path $path -AsOf $script:Before
        $html = Get-Content -Raw $path
        $html | Should -Match 'SMTP AUTH off \(Mailbox\)'
        $html | Should -Match 'external recipients too'
    }

    It 'writes a non-terminating error for each input that is not a client, and renders the rest' {
        $bad = @(
            'scanner@contoso.com'
            [pscustomobject]@{ Name = 'not a client' }
            [pscustomobject]@{ UserPrincipalName = 'odd@contoso.com'; ImpactAtDefaultOff = 'Sometimes' }
            [pscustomobject]@{ UserPrincipalName = 'count@contoso.com'; ImpactAtDefaultOff = 'Breaks'; SignInCount = 'many' }
        )
        $path = Join-Path $script:Work 'bad-input.html'
        $items = @($script:Clients[0]) + $bad + @($script:Clients[1])
        $items | Export-SmtpAuthReport -Path $path -AsOf $script:Before -ErrorVariable err -ErrorAction SilentlyContinue

        $err.Count | Should -Be 4
        $err[0].FullyQualifiedErrorId | Should -BeExactly ('ReportInputNotClient' + $script:Fqid)
        $err[0].CategoryInfo.Category | Should -Be 'InvalidType'
        $err[0].TargetObject | Should -Be 'scanner@contoso.com'
        $err[1].FullyQualifiedErrorId | Should -BeExactly ('ReportInputNotClient' + $script:Fqid)
        $err[1].Exception.Message | Should -Match 'UserPrincipalName'
        $err[2].FullyQualifiedErrorId | Should -BeExactly ('ReportInputValueInvalid' + $script:Fqid)
        $err[2].Exception.Message | Should -Match "odd@contoso.com.*ImpactAtDefaultOff.*'Sometimes'.*Breaks"
        $err[3].FullyQualifiedErrorId | Should -BeExactly ('ReportInputValueInvalid' + $script:Fqid)
        $err[3].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].ErrorDetails.RecommendedAction | Should -Match 'Import-Csv'

        $html = Get-Content -Raw $path
        $html | Should -Match '2 senders stop working'
        $html | Should -Match 'scanner-2f@contoso.com'
        $html | Should -Match 'app-erp@contoso.com'
        $html | Should -Not -Match 'odd@contoso.com|count@contoso.com'
    }

    It 'renders only the known properties: a token or password column is never echoed' {
        $row = [pscustomobject]@{
            UserPrincipalName = 'app@contoso.com'; ImpactAtDefaultOff = 'Breaks'; MigrationPath = 'OAuth'; SignInsPerDay = '2026-11-02=4'; SignInCount = '4'; Days = '30'
            AccessToken = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.SECRET-TOKEN-VALUE'; Password = 'P@ssw0rd-SECRET'; ClientSecret = 'cs~SECRET'
        }
        $path = Join-Path $script:Work 'secrets.html'
        $row | Export-SmtpAuthReport -Path $path -AsOf $script:Before
        $html = Get-Content -Raw $path
        $html | Should -Match 'app@contoso.com'
        $html | Should -Not -Match 'SECRET|eyJ0eXAi|AccessToken|Password|ClientSecret'
    }

    It 'speaks in the past tense from 31 December 2026 (-AsOf), and calls no sender stopped that its data does not show stopped' {
        # The clients' data ends on 30 November 2026: nothing in it shows a sender failing after the default-off.
        $path = Join-Path $script:Work 'after.html'
        $script:Clients | Export-SmtpAuthReport -Path $path -AsOf $script:After
        $html = Get-Content -Raw $path
        $html | Should -Match '>7 senders signed in with basic SMTP AUTH before the end-of-December 2026 default-off, and this data has no sign-in from them after that date: whether they stopped working is not known</h1>'
        $html | Should -Match 'Microsoft disabled SMTP AUTH basic authentication by default'
        $html | Should -Not -Match 'stopped working when'
    }

    It 'after the default-off, says that senders whose basic sign-ins still succeed still use basic auth, not that they stopped' {
        # Rows read back from CSV, with basic sign-ins that succeeded on 20 January 2027.
        $rows = @($script:Clients | Where-Object ImpactAtDefaultOff -EQ 'Breaks' | Select-Object -First 2 | ForEach-Object {
                $c = $_ | Select-Object *
                $c.LastSeenUtc = '2027-01-20 09:00:00'; $c.LastSuccessUtc = '2027-01-20 09:00:00'; $c.SignInsPerDay = '2027-01-19=12;2027-01-20=12'
                $c
            })
        $path = Join-Path $script:Work 'still-on.html'
        $rows | Export-SmtpAuthReport -Path $path -AsOf '2027-01-21'
        $html = Get-Content -Raw $path
        $html | Should -Match '>2 senders still sign in with basic SMTP AUTH after the end-of-December 2026 default-off: basic auth was turned back on, or the change has not reached this tenant yet; they stop working when basic auth is turned off or at the final removal</h1>'
        $html | Should -Not -Match 'stopped working'
    }

    It 'takes -Title and -InputObject as a parameter' {
        $path = Join-Path $script:Work 'title.html'
        Export-SmtpAuthReport -Path $path -InputObject $script:Clients -Title 'Contoso <weekly>' -AsOf $script:Before
        $html = Get-Content -Raw $path
        $html | Should -Match '<title>Contoso &lt;weekly&gt;</title>'
        $html | Should -Match 'from 12 senders'
    }
}

Describe 'Export-SmtpAuthReport in a headless browser' -Tag Report, Browser {
    BeforeAll {
        $script:SkipReason = 'chromium is not installed (CI installs it: .ci/run installs .ci/packages.txt, which lists chromium); install it with apt-get install chromium to run these tests'
        # On CI the browser is installed by .ci/run, so a missing one is a failure there, never a silent skip.
        $script:MissingOnCi = 'chromium is not installed although CI=true: .ci/run installs it from .ci/packages.txt; the report was not checked in a browser'

        function Invoke-Chromium([string[]] $Arguments, [int] $TimeoutSec = 120) {
            # Each run gets its own profile directory; output (--dump-dom) is read from stdout.
            $userData = Join-Path $script:Work ('chromium-profile-' + [guid]::NewGuid())
            $info = [System.Diagnostics.ProcessStartInfo]::new($script:Chromium.Source)
            foreach ($a in @('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--hide-scrollbars', "--user-data-dir=$userData") + $Arguments) { $info.ArgumentList.Add($a) }
            $info.RedirectStandardOutput = $true
            $info.RedirectStandardError = $true
            $info.UseShellExecute = $false
            $process = [System.Diagnostics.Process]::Start($info)
            $stdout = $process.StandardOutput.ReadToEndAsync()
            $stderr = $process.StandardError.ReadToEndAsync()
            if (-not $process.WaitForExit($TimeoutSec * 1000)) {
                $process.Kill($true)
                throw "chromium did not finish in $TimeoutSec s: $($Arguments -join ' ')"
            }
            $process.WaitForExit()
            Remove-Item -LiteralPath $userData -Recurse -Force -ErrorAction SilentlyContinue
            [pscustomobject]@{ ExitCode = $process.ExitCode; Output = $stdout.GetAwaiter().GetResult(); Error = $stderr.GetAwaiter().GetResult() }
        }

        function Get-Screenshot([string] $HtmlPath, [string] $PngPath) {
            $r = Invoke-Chromium @("--screenshot=$PngPath", '--window-size=1280,2400', [System.Uri]::new($HtmlPath).AbsoluteUri)
            if (-not (Test-Path $PngPath)) { throw "chromium wrote no screenshot (exit $($r.ExitCode)): $($r.Error)" }
        }

        function Get-Dom([string] $HtmlPath) {
            $r = Invoke-Chromium @('--dump-dom', [System.Uri]::new($HtmlPath).AbsoluteUri)
            if ($r.Output -notmatch '</html>') { throw "chromium dumped no DOM (exit $($r.ExitCode)): $($r.Error)" }
            $r.Output
        }

        if (-not ('SmtpAuthReportTests.Png' -as [type])) {
            Add-Type -TypeDefinition @'
using System;
using System.IO;
using System.IO.Compression;
namespace SmtpAuthReportTests
{
    // A small PNG reader for the screenshot checks (System.Drawing is not there on Linux): the header, and a count of
    // the pixels of one colour in 8-bit RGB or RGBA, non-interlaced images (what chromium writes).
    public static class Png
    {
        public static int[] Size(string path)
        {
            byte[] b = File.ReadAllBytes(path);
            return new[] { ReadInt(b, 16), ReadInt(b, 20) };
        }

        public static bool HasSignature(string path)
        {
            byte[] b = File.ReadAllBytes(path);
            byte[] sig = { 137, 80, 78, 71, 13, 10, 26, 10 };
            if (b.Length < 33) return false;
            for (int i = 0; i < 8; i++) if (b[i] != sig[i]) return false;
            return b[12] == 'I' && b[13] == 'H' && b[14] == 'D' && b[15] == 'R';
        }

        public static long CountColor(string path, int r, int g, int bl, int tolerance)
        {
            byte[] b = File.ReadAllBytes(path);
            int width = ReadInt(b, 16), height = ReadInt(b, 20);
            int depth = b[24], colorType = b[25], interlace = b[28];
            if (depth != 8 || (colorType != 2 && colorType != 6) || interlace != 0) throw new NotSupportedException("PNG format " + depth + "/" + colorType + "/" + interlace);
            int bpp = colorType == 6 ? 4 : 3;
            var idat = new MemoryStream();
            for (int pos = 8; pos < b.Length;)
            {
                int length = ReadInt(b, pos);
                string type = System.Text.Encoding.ASCII.GetString(b, pos + 4, 4);
                if (type == "IDAT") idat.Write(b, pos + 8, length);
                pos += 12 + length;
            }
            idat.Position = 0;
            var raw = new MemoryStream();
            using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
            byte[] data = raw.ToArray();
            int stride = width * bpp;
            byte[] prev = new byte[stride], cur = new byte[stride];
            long count = 0;
            for (int y = 0; y < height; y++)
            {
                int filter = data[y * (stride + 1)];
                Buffer.BlockCopy(data, y * (stride + 1) + 1, cur, 0, stride);
                for (int i = 0; i < stride; i++)
                {
                    int a = i >= bpp ? cur[i - bpp] : 0, up = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                    int add = filter switch { 0 => 0, 1 => a, 2 => up, 3 => (a + up) / 2, 4 => Paeth(a, up, c), _ => throw new NotSupportedException("filter " + filter) };
                    cur[i] = (byte)(cur[i] + add);
                }
                for (int x = 0; x < width; x++)
                {
                    int o = x * bpp;
                    if (Math.Abs(cur[o] - r) <= tolerance && Math.Abs(cur[o + 1] - g) <= tolerance && Math.Abs(cur[o + 2] - bl) <= tolerance) count++;
                }
                (prev, cur) = (cur, prev);
            }
            return count;
        }

        private static int Paeth(int a, int b, int c)
        {
            int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
            return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }

        private static int ReadInt(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
    }
}
'@
        }

        if ($script:Chromium) {
            $script:FullHtml = Join-Path $script:Work 'browser-full.html'
            $script:EmptyHtml = Join-Path $script:Work 'browser-empty.html'
            $script:BlankHtml = Join-Path $script:Work 'browser-blank.html'
            $script:FullPng = Join-Path $script:Work 'browser-full.png'
            $script:EmptyPng = Join-Path $script:Work 'browser-empty.png'
            $script:BlankPng = Join-Path $script:Work 'browser-blank.png'
            $script:Clients | Export-SmtpAuthReport -Path $script:FullHtml -AsOf $script:Before
            Export-SmtpAuthReport -Path $script:EmptyHtml -AsOf $script:Before
            Set-Content -LiteralPath $script:BlankHtml -Value '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>blank</title></head><body></body></html>' -Encoding utf8NoBOM
            Get-Screenshot $script:FullHtml $script:FullPng
            Get-Screenshot $script:EmptyHtml $script:EmptyPng
            Get-Screenshot $script:BlankHtml $script:BlankPng
            $script:Dom = Get-Dom $script:FullHtml
            $script:EmptyDom = Get-Dom $script:EmptyHtml
            $script:Html = Get-Content -Raw $script:FullHtml
        }
    }

    It 'shows the headline, the counts by impact and by path, and the cited timeline' {
        if (-not $script:Chromium) { if ($env:CI -eq 'true') { throw $script:MissingOnCi }; Set-ItResult -Skipped -Because $script:SkipReason; return }
        ConvertFrom-Html ([regex]::Match($script:Dom, '(?s)<h1 id="headline"[^>]*>(.*?)</h1>').Groups[1].Value) | Should -BeExactly '7 senders stop working at the end of December 2026'
        $impacts = @{}
        foreach ($m in [regex]::Matches($script:Dom, '(?s)<li class="card [a-z]+" data-impact="(\w+)" data-count="(\d+)">(.*?)</li>')) {
            $impacts[$m.Groups[1].Value] = [int]$m.Groups[2].Value
            (ConvertFrom-Html $m.Groups[3].Value) | Should -Match ('^' + $m.Groups[2].Value + ' ')
        }
        $impacts.Breaks | Should -Be 7
        $impacts.AlreadyFailing | Should -Be 2
        $impacts.Unknown | Should -Be 1
        $impacts.Unaffected | Should -Be 2

        $paths = [ordered]@{}
        foreach ($m in [regex]::Matches($script:Dom, '<tr data-path="(\w+)" data-count="(\d+)">')) { $paths[$m.Groups[1].Value] = [int]$m.Groups[2].Value }
        $paths.Keys | Sort-Object | Should -Be ([enum]::GetNames([SmtpAuthTroubleshooter.SmtpAuthMigrationPath]) | Sort-Object)
        $paths.Review | Should -Be 3
        $paths.OAuth | Should -Be 2
        @($paths.Keys)[0..1] | Should -Be @('Review', 'OAuth')
        ($paths.Values | Measure-Object -Sum).Sum | Should -Be 12

        $footer = ConvertFrom-Html ([regex]::Match($script:Dom, '(?s)<footer>(.*?)</footer>').Groups[1].Value)
        $footer | Should -Match 'Generated 2026-11-30 09:00 UTC by SmtpAuthTroubleshooter \d+\.\d+\.\d+ from 12 senders; sign-in window \(Days\): the last 30 days\.'
        $script:Dom | Should -Match ('<a href="' + [regex]::Escape($script:TimelineUri) + '">')
    }

    It 'draws one bar per day with sign-ins, heights proportional to the counts, with axis labels and an accessible title' {
        if (-not $script:Chromium) { if ($env:CI -eq 'true') { throw $script:MissingOnCi }; Set-ItResult -Skipped -Because $script:SkipReason; return }
        $expected = Get-ExpectedPerDay $script:Clients
        $expected.Count | Should -Be 28 -Because 'the fixture has sign-ins on 28 of the 30 days'
        $svg = [regex]::Match($script:Dom, '(?s)<svg id="signins-chart".*?</svg>').Value
        $svg | Should -Not -BeNullOrEmpty
        $svg | Should -Match 'role="img" aria-labelledby="chart-title chart-desc"'
        $svg | Should -Match '<title id="chart-title">Basic SMTP AUTH sign-ins per day</title>'
        $total = ($expected.Values | Measure-Object -Sum).Sum
        $desc = ConvertFrom-Html ([regex]::Match($svg, '(?s)<desc id="chart-desc">(.*?)</desc>').Groups[1].Value)
        $desc | Should -Match ('from 2026-11-01 to 2026-11-30, summed over 12 senders: {0:N0} sign-ins on 28 days' -f $total)

        $bars = @([regex]::Matches($svg, '<rect class="bar" data-date="([\d-]+)" data-count="(\d+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"') | ForEach-Object {
                [pscustomobject]@{ Date = $_.Groups[1].Value; SignIns = [int]$_.Groups[2].Value; X = [double]$_.Groups[3].Value; Y = [double]$_.Groups[4].Value; Height = [double]$_.Groups[6].Value }
            })
        $bars.Count | Should -Be $expected.Count
        $bars.Date | Should -Be @($expected.Keys)
        $bars.SignIns | Should -Be @($expected.Values)
        $ratio = $bars[0].Height / $bars[0].SignIns
        $baseline = [double]([regex]::Match($svg, '<line class="axis" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"').Groups[1].Value)
        $baseline | Should -BeGreaterThan 0
        foreach ($bar in $bars) {
            ($bar.Height / $bar.SignIns) | Should -BeGreaterOrEqual ($ratio * 0.99)
            ($bar.Height / $bar.SignIns) | Should -BeLessOrEqual ($ratio * 1.01)
            ($bar.Y + $bar.Height) | Should -BeGreaterOrEqual ($baseline - 0.02) -Because 'every bar stands on the x axis'
            ($bar.Y + $bar.Height) | Should -BeLessOrEqual ($baseline + 0.02)
        }
        ($bars | Sort-Object X).Date | Should -Be @($expected.Keys) -Because 'bars run oldest to newest'
        $plot = [double]([regex]::Match($svg, 'data-plot-height="([\d.]+)"').Groups[1].Value)
        $yMax = [int]([regex]::Match($svg, 'data-y-max="(\d+)"').Groups[1].Value)
        $peak = ($expected.Values | Measure-Object -Maximum).Maximum
        $yMax | Should -BeGreaterOrEqual $peak
        ($bars | Measure-Object Height -Maximum).Maximum | Should -BeLessOrEqual $plot
        $ratio | Should -BeGreaterOrEqual ($plot / $yMax * 0.99)

        $xLabels = @([regex]::Matches($svg, '<text class="axis-label x-label" data-date="([\d-]+)"[^>]*>([^<]+)</text>') | ForEach-Object { $_.Groups[2].Value })
        $xLabels[0] | Should -Be '1 Nov'
        $xLabels[-1] | Should -Be '30 Nov'
        $xLabels.Count | Should -BeGreaterOrEqual 5
        $yLabels = @([regex]::Matches($svg, '<text class="axis-label y-label"[^>]*>([^<]+)</text>') | ForEach-Object { $_.Groups[1].Value })
        $yLabels[0] | Should -Be '0'
        $yLabels[-1] | Should -Be $yMax.ToString('N0', [cultureinfo]::InvariantCulture)
        $svg | Should -Match '>Sign-ins per day</text>'
        $svg | Should -Match '>Day \(UTC\)</text>'
    }

    It 'lists the senders in impact order with each path''s reason and the commands whole' {
        if (-not $script:Chromium) { if ($env:CI -eq 'true') { throw $script:MissingOnCi }; Set-ItResult -Skipped -Because $script:SkipReason; return }
        $table = [regex]::Match($script:Dom, '(?s)<table id="senders">.*?</table>').Value
        $rows = @([regex]::Matches($table, '(?s)<tr class="\w+" data-impact="(\w+)" data-path="(\w+)">(.*?)</tr>'))
        $rows.Count | Should -Be 12
        $order = @{ Breaks = 0; AlreadyFailing = 1; Unknown = 2; Unaffected = 3 }
        $ranks = @($rows | ForEach-Object { $order[$_.Groups[1].Value] })
        $ranks | Should -Be @($ranks | Sort-Object)
        @($rows | ForEach-Object { $_.Groups[1].Value } | Select-Object -Unique) | Should -Be @('Breaks', 'AlreadyFailing', 'Unknown', 'Unaffected')

        foreach ($client in $script:Clients) {
            $row = $rows | Where-Object { (ConvertFrom-Html ([regex]::Match($_.Groups[3].Value, '<span class="upn">(.*?)</span>').Groups[1].Value)) -ceq $client.UserPrincipalName }
            $row | Should -HaveCount 1 -Because "$($client.UserPrincipalName) has one row"
            $row.Groups[2].Value | Should -Be $client.MigrationPath.ToString()
            (ConvertFrom-Html $row.Groups[3].Value) | Should -Match ([regex]::Escape($client.MigrationReason))
            if ($client.MigrationCommand) {
                $code = [regex]::Match($row.Groups[3].Value, '(?s)<code class="cmd">(.*?)</code>').Groups[1].Value
                [System.Net.WebUtility]::HtmlDecode($code) | Should -BeExactly $client.MigrationCommand
            }
        }
        # The untrusted sender name and command stayed text: the browser built no element from them.
        $script:Dom | Should -Not -Match '<script|<img|<b>not bold'
        $script:Dom | Should -Match '&lt;script&gt;alert\("x"\)&lt;/script&gt;@evil\.example'
    }

    It 'loads nothing from outside the page and needs no script' {
        if (-not $script:Chromium) { if ($env:CI -eq 'true') { throw $script:MissingOnCi }; Set-ItResult -Skipped -Because $script:SkipReason; return }
        foreach ($html in $script:Html, $script:Dom) {
            [regex]::Matches($html, '(?i)\b(?:src|href|srcset|poster|action|xlink:href)\s*=\s*["'']?\s*((?:https?:)?//[^"''\s>]+)') | ForEach-Object { $_.Groups[1].Value } |
                Should -Be @($script:TimelineUri)
            $html | Should -Not -Match '(?i)<(script|link|img|iframe|object|embed|base|video|audio|source)\b|@import|url\(|@font-face'
        }
        [regex]::Matches($script:Html, 'https?://[^"''\s<>]+') | ForEach-Object { $_.Value } | Select-Object -Unique | Should -Be @($script:TimelineUri)
    }

    It 'says so on an empty report' {
        if (-not $script:Chromium) { if ($env:CI -eq 'true') { throw $script:MissingOnCi }; Set-ItResult -Skipped -Because $script:SkipReason; return }
        ConvertFrom-Html ([regex]::Match($script:EmptyDom, '(?s)<h1 id="headline"[^>]*>(.*?)</h1>').Groups[1].Value) | Should -BeExactly 'No SMTP AUTH senders in this report'
        ConvertFrom-Html ([regex]::Match($script:EmptyDom, '(?s)<p id="empty-note"[^>]*>(.*?)</p>').Groups[1].Value) | Should -Match '^This report was given no senders'
        $script:EmptyDom | Should -Not -Match '<svg|<table id="senders"'
    }

    It 'takes a screenshot that is a real, non-blank image of the page with the chart drawn' {
        if (-not $script:Chromium) { if ($env:CI -eq 'true') { throw $script:MissingOnCi }; Set-ItResult -Skipped -Because $script:SkipReason; return }
        foreach ($png in $script:FullPng, $script:EmptyPng, $script:BlankPng) {
            [SmtpAuthReportTests.Png]::HasSignature($png) | Should -BeTrue
            [SmtpAuthReportTests.Png]::Size($png) | Should -Be @(1280, 2400)
        }
        $full = (Get-Item $script:FullPng).Length
        $empty = (Get-Item $script:EmptyPng).Length
        $blank = (Get-Item $script:BlankPng).Length
        $full | Should -BeGreaterThan (5 * $blank) -Because "a blank 1280x2400 page compresses to $blank bytes"
        $full | Should -BeGreaterThan $empty -Because 'the report with senders has the chart and the table on top of the empty report'
        # The chart's bars (#2f5d9e), the headline's red (#a40e26) and the Breaks badges (#cf222e) are on screen.
        [SmtpAuthReportTests.Png]::CountColor($script:FullPng, 0x2f, 0x5d, 0x9e, 2) | Should -BeGreaterThan 20000
        [SmtpAuthReportTests.Png]::CountColor($script:FullPng, 0xa4, 0x0e, 0x26, 2) | Should -BeGreaterThan 500
        [SmtpAuthReportTests.Png]::CountColor($script:FullPng, 0xcf, 0x22, 0x2e, 2) | Should -BeGreaterThan 500
        [SmtpAuthReportTests.Png]::CountColor($script:EmptyPng, 0x2f, 0x5d, 0x9e, 2) | Should -Be 0
        [SmtpAuthReportTests.Png]::CountColor($script:BlankPng, 0xa4, 0x0e, 0x26, 2) | Should -Be 0
    }
}
