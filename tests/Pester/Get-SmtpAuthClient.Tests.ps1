#requires -Modules Pester
# Issue 12: Get-SmtpAuthClient over the emulated tenant's readiness story (tests/EmulatedTenant/README.md): every impact
# value and migration path, the $null inherit case, a tenant without Entra ID P1 (403), sign-ins across pages, the admin
# center CSV join, message trace, and the report from real output.
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    . "$PSScriptRoot/../EmulatedTenant/tenant.ps1"
    $script:OriginalModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    Import-Module $script:ModuleManifest -Force
    $script:Demo = (Resolve-Path "$PSScriptRoot/../SmtpAuthTroubleshooter.ExoEmulator/Scenarios/demo-tenant.json").Path
    $script:Csv = (Resolve-Path "$PSScriptRoot/../EmulatedTenant/Fixtures/smtp-auth-clients.csv").Path

    function Connect-Tenant([string] $Scenario) {
        $graph = Start-GraphEmulator -Scenario $Scenario
        Connect-ExchangeOnline -ScenarioPath $Scenario -ShowBanner:$false
        $null = Connect-MgGraph -GraphBaseUri $graph.BaseUri -NoWelcome
        Reset-ExoStandIn
        $graph
    }
    function Disconnect-Tenant($Graph) {
        Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
        Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null
        Stop-GraphEmulator $Graph
    }
}

AfterAll {
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
    $env:PSModulePath = $script:OriginalModulePath
}

Describe 'Get-SmtpAuthClient over the demo tenant' -Tag Readiness {
    BeforeAll {
        $script:Graph = Connect-Tenant $script:Demo
        $script:Clients = @(Get-SmtpAuthClient -IncludeUnused -SmtpAuthReportPath $script:Csv -WarningAction SilentlyContinue)
        $script:Stats = Invoke-GraphEmulatorControl -Emulator $script:Graph -Endpoint stats
        function Get-Client([string] $Upn, [string] $Ip) { $script:Clients | Where-Object { $_.UserPrincipalName -eq $Upn -and (-not $Ip -or $_.ClientIp -eq $Ip) } }
    }
    AfterAll { Disconnect-Tenant $script:Graph }

    It 'gives one object per mailbox and client IP, most affected first' {
        @(Get-Client 'erp.app@contoso.com').ClientIp | Sort-Object | Should -Be @('198.51.100.20', '198.51.100.21')
        $order = @{ Breaks = 0; AlreadyFailing = 1; Unknown = 2; Unaffected = 3 }
        $ranks = @($script:Clients | ForEach-Object { $order["$($_.ImpactAtDefaultOff)"] })
        $ranks | Should -Be ($ranks | Sort-Object) -Because 'Breaks first, then AlreadyFailing, Unknown, Unaffected'
    }

    It 'marks <Upn> as <Impact>' -ForEach @(
        @{ Upn = 'scanner.floor2@contoso.com'; Impact = 'Breaks'; Turned = $false }
        @{ Upn = 'legacy.app@contoso.com'; Impact = 'Breaks'; Turned = $false }
        @{ Upn = 'printer.lobby@contoso.com'; Impact = 'AlreadyFailing'; Turned = $false }
        @{ Upn = 'frontdesk@contoso.com'; Impact = 'AlreadyFailing'; Turned = $false }
        @{ Upn = 'nas.alerts@contoso.com'; Impact = 'AlreadyFailing'; Turned = $true }
        @{ Upn = 'notifications@contoso.com'; Impact = 'Unaffected'; Turned = $null }
    ) {
        $c = @(Get-Client $Upn)[0]
        "$($c.ImpactAtDefaultOff)" | Should -BeExactly $Impact
        $c.ImpactReason | Should -Not -BeNullOrEmpty
        if ($null -ne $Turned) { $c.TurnedToFailure | Should -Be $Turned }
    }

    It 'reads the failures'' error codes: 50126 for the old password, 53003 for Conditional Access' {
        (Get-Client 'printer.lobby@contoso.com').LastErrorCode | Should -Be 50126
        (Get-Client 'frontdesk@contoso.com').LastErrorCode | Should -Be 53003
        (Get-Client 'printer.lobby@contoso.com').SuccessCount | Should -Be 0
    }

    It 'sees non-interactive sign-ins (beta signInEventTypes), which a v1.0 reader would miss' {
        $legacy = Get-Client 'legacy.app@contoso.com'
        $legacy.SignInCount | Should -BeGreaterThan 100
        $script:Stats.routes.PSObject.Properties.Name -join ' ' | Should -Match 'GET /beta/auditLogs/signIns'
    }

    It 'reads the sign-in log tenant-wide in pages, not per mailbox' {
        $pages = $script:Stats.routes.'GET /beta/auditLogs/signIns'
        $rows = ($script:Clients | Measure-Object SignInCount -Sum).Sum
        $rows | Should -BeGreaterThan 1000 -Because 'the story has more sign-ins than one page holds'
        $pages | Should -BeGreaterThan 1
        $pages | Should -BeLessOrEqual ([math]::Ceiling($rows / 1000) + 1)
    }

    It 'chooses <Path> for <Upn>' -ForEach @(
        @{ Upn = 'scanner.floor2@contoso.com'; Path = 'DirectSend'; Because = 'internal recipients only, one public IP, RejectDirectSend off' }
        @{ Upn = 'hr.copier@contoso.com'; Path = 'ConnectorRelay'; Because = 'a recipient in an InternalRelay domain is not a mailbox here; one public IP' }
        @{ Upn = 'erp.app@contoso.com'; Path = 'OAuth'; Because = 'external recipients from two servers' }
        @{ Upn = 'notifications@contoso.com'; Path = 'None'; Because = 'OAuth only in the admin center report' }
        @{ Upn = 'printer.lobby@contoso.com'; Path = 'Review'; Because = 'it sends nothing (every sign-in fails), so the trace cannot tell' }
        @{ Upn = 'smtp.override@contoso.com'; Path = 'DisableSmtpAuth'; Because = 'SMTP AUTH on for the mailbox, no use' }
    ) {
        $c = @(Get-Client $Upn)[0]
        "$($c.MigrationPath)" | Should -BeExactly $Path -Because $Because
        $c.MigrationReason | Should -Match 'https://'
    }

    It 'fills each path''s command with quoted values that parse' {
        (Get-Client 'smtp.override@contoso.com').MigrationCommand | Should -BeExactly "Set-CASMailbox -Identity 'smtp.override@contoso.com' -SmtpClientAuthenticationDisabled `$true"
        $relay = (Get-Client 'hr.copier@contoso.com').MigrationCommand
        $relay | Should -Match "-SenderIPAddresses '203\.0\.113\.50'"
        foreach ($command in $script:Clients.MigrationCommand | Where-Object { $_ }) {
            $errors = $null
            $null = [System.Management.Automation.Language.Parser]::ParseInput($command, [ref]$null, [ref]$errors)
            @($errors) | Should -BeNullOrEmpty
        }
    }

    It 'joins the admin center CSV by sender: OAuth senders and message counts' {
        (Get-Client 'notifications@contoso.com').MessagesSent | Should -Be 1200
        (Get-Client 'notifications@contoso.com').AuthenticationProtocol | Should -BeExactly 'OAuth'
        @(Get-Client 'healthy.basic@contoso.com')[0].AuthenticationProtocol | Should -Match 'OAuth' -Because 'both rows of the report are joined'
        @(Get-Client 'healthy.basic@contoso.com')[0].AuthenticationProtocol | Should -Match 'Basic'
    }

    It 'lists, with -IncludeUnused, only mailboxes that can use SMTP AUTH: a $null mailbox follows the organization (off here)' {
        $script:Clients.UserPrincipalName | Should -Not -Contain 'tenant.inherit@contoso.com' -Because 'its value is $null and the organization has SMTP AUTH off'
        (Get-Client 'smtp.override@contoso.com').SmtpAuthDecidedBy | Should -BeExactly 'Mailbox'
    }

    It 'prints a table by default: one row per sender, at most 120 columns' {
        $lines = @($script:Clients | Out-String -Width 120 -Stream | Where-Object { $_.Trim() })
        $lines[0] | Should -Match '^UserPrincipalName\s+ClientIp\s+SignIns\s+OK\s+LastSeen\s+Impact\s+MigrationPath\s*$'
        @($lines | Where-Object { $_.Length -gt 120 }) | Should -BeNullOrEmpty
        $lines.Count | Should -BeLessOrEqual ($script:Clients.Count + 2) -Because 'a header, a rule and one line per sender (the demo tenant''s names fit)'
        ($lines -join "`n") | Should -Not -Match 'SignInsPerDay|MigrationCommand'
        $erp = @($lines | Where-Object { $_ -match '^erp\.app@contoso\.com\s+198\.51\.100\.20\s' })
        $erp.Count | Should -Be 1
        $erp[0] | Should -Match '\s\d{4}-\d{2}-\d{2}\s+(Breaks|AlreadyFailing)\s+OAuth\s*$'
    }

    It 'gives each sender the basic-auth verdict Get-SmtpAuthPolicyState gives the same mailbox' {
        # The readiness read used the Exchange half of the policy state only, so every sender with sign-ins was Unknown.
        $senders = @($script:Clients | Where-Object { $_.SignInCount -gt 0 } | Sort-Object UserPrincipalName -Unique)
        $senders.Count | Should -BeGreaterThan 5
        $states = @{}
        $senders.UserPrincipalName | Get-SmtpAuthPolicyState -WarningAction SilentlyContinue -ErrorAction SilentlyContinue | ForEach-Object { $states[$_.UserPrincipalName] = $_ }
        foreach ($c in $senders) {
            $s = $states[$c.UserPrincipalName]
            if ($null -eq $s) { continue }
            "$($c.BasicAuthVerdict)" | Should -BeExactly "$($s.BasicAuthVerdict)" -Because $c.UserPrincipalName
            "$($c.BasicAuthBlockedBy)" | Should -BeExactly "$($s.BasicAuthBlockedBy)" -Because $c.UserPrincipalName
            if ("$($c.BasicAuthVerdict)" -eq 'Unknown') { $c.UnknownReasons | Should -Not -BeNullOrEmpty -Because $c.UserPrincipalName }
        }
        (@($script:Clients | Where-Object UserPrincipalName -EQ 'scanner.floor2@contoso.com')[0]).BasicAuthVerdict | Should -Be 'Allowed'
    }

    It 'writes only scalar properties, so Export-Csv stays flat' {
        $file = Join-Path $TestDrive 'clients.csv'
        $script:Clients | Export-Csv $file -NoTypeInformation
        (Get-Content -Raw $file) | Should -Not -Match 'System\.(Object|Collections|Int32\[\])'
        @(Import-Csv $file).Count | Should -Be $script:Clients.Count
    }

    It 'feeds Export-SmtpAuthReport directly' {
        $file = Join-Path $TestDrive 'readiness.html'
        $script:Clients | Export-SmtpAuthReport -Path $file -AsOf '2026-11-30'
        $html = Get-Content -Raw $file
        $html | Should -Match ([regex]::Escape('senders stop working at the end of December 2026'))
        $html | Should -Match 'scanner\.floor2@contoso\.com'
    }
}

Describe 'Get-SmtpAuthClient where a source is missing' -Tag Readiness {
    It 'on a tenant without Entra ID P1 says so and leaves usage empty, instead of failing' {
        $variant = New-TenantVariant $script:Demo -Path (Join-Path $TestDrive 'nop1.json') -NoPremium
        $graph = Connect-Tenant $variant
        try {
            $clients = @(Get-SmtpAuthClient -IncludeUnused -WarningAction SilentlyContinue -ErrorVariable err)
            $err | Should -BeNullOrEmpty
            $clients.Count | Should -BeGreaterThan 0
            $clients | ForEach-Object { "$($_.ImpactAtDefaultOff)" | Should -BeExactly 'Unknown' }
            $clients[0].SignInCount | Should -BeNullOrEmpty
            $clients[0].UnknownReasons | Should -Match 'Entra ID P1 or P2'
            # Without -IncludeUnused there is nothing to list: an empty answer must not pass for "no basic-auth senders".
            $none = @(Get-SmtpAuthClient -WarningVariable w -WarningAction SilentlyContinue -ErrorVariable err2)
            $none.Count | Should -Be 0
            $err2 | Should -BeNullOrEmpty
            ($w -join ' ') | Should -Match 'No sender is listed because the sign-in log was not read .*Entra ID P1 or P2'
        }
        finally { Disconnect-Tenant $graph }
    }

    It 'with the organization switch on, counts a $null mailbox as exposed (decided by the organization)' {
        $variant = New-TenantVariant $script:Demo -Path (Join-Path $TestDrive 'orgon.json') -TenantSmtpAuthEnabled
        $graph = Connect-Tenant $variant
        try {
            $inherit = @(Get-SmtpAuthClient -IncludeUnused -SkipMessageTrace -WarningAction SilentlyContinue) | Where-Object UserPrincipalName -EQ 'tenant.inherit@contoso.com' | Select-Object -First 1
            $inherit | Should -Not -BeNullOrEmpty -Because 'the widely shared -eq $false filter misses exactly this mailbox'
            $inherit.SmtpAuthEnabled | Should -BeTrue
            $inherit.SmtpAuthDecidedBy | Should -BeExactly 'Tenant'
        }
        finally { Disconnect-Tenant $graph }
    }

    It 'without an Exchange Online session still reads usage, and says what is empty' {
        $graph = Start-GraphEmulator -Scenario $script:Demo
        try {
            Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
            $null = Connect-MgGraph -GraphBaseUri $graph.BaseUri -NoWelcome
            $clients = @(Get-SmtpAuthClient -WarningVariable w -WarningAction SilentlyContinue)
            ($w -join ' ') | Should -Match 'Exchange Online not read'
            (@($clients | Where-Object UserPrincipalName -EQ 'scanner.floor2@contoso.com')[0]).ImpactAtDefaultOff | Should -Be 'Breaks'
            $clients[0].UnknownReasons | Should -Match 'Exchange Online was not read'
        }
        finally { Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null; Stop-GraphEmulator $graph }
    }

    It 'chooses HighVolumeEmail for an internal-only sender when Direct Send is rejected' {
        $variant = New-TenantVariant $script:Demo -Path (Join-Path $TestDrive 'rejectds.json') -RejectDirectSend
        $graph = Connect-Tenant $variant
        try {
            $scanner = @(Get-SmtpAuthClient -WarningAction SilentlyContinue) | Where-Object UserPrincipalName -EQ 'scanner.floor2@contoso.com' | Select-Object -First 1
            "$($scanner.MigrationPath)" | Should -BeExactly 'HighVolumeEmail'
            $scanner.MigrationReason | Should -Match 'InternalRecipientsOnly = true'
        }
        finally { Disconnect-Tenant $graph }
    }

    It 'chooses GraphSendMail for code the admin names (-OwnCode), and AzureCommunicationServices for external volume' {
        $graph = Connect-Tenant $script:Demo
        try {
            $csv = Join-Path $TestDrive 'volume.csv'
            (Get-Content $script:Csv) -replace '^erp\.app@contoso\.com,contoso\.com,0%,0%,100%,3615,Basic Authentication$', 'erp.app@contoso.com,contoso.com,0%,0%,100%,250000,Basic Authentication' | Set-Content $csv
            $clients = @(Get-SmtpAuthClient -OwnCode legacy.app@contoso.com -SmtpAuthReportPath $csv -WarningAction SilentlyContinue)
            "$(@($clients | Where-Object UserPrincipalName -EQ 'legacy.app@contoso.com')[0].MigrationPath)" | Should -BeExactly 'GraphSendMail'
            "$(@($clients | Where-Object UserPrincipalName -EQ 'erp.app@contoso.com')[0].MigrationPath)" | Should -BeExactly 'AzureCommunicationServices'
        }
        finally { Disconnect-Tenant $graph }
    }

    It 'names a throttled message trace in each sender''s UnknownReasons, warns once, and leaves nothing in $Error' {
        # Get-MessageTraceV2 accepts about 100 queries per 5 minutes; here the stand-in accepts one.
        $graph = Connect-Tenant $script:Demo
        try {
            Set-ExoStandInOption -MessageTraceQueryLimit 1
            $Error.Clear()
            $clients = @(Get-SmtpAuthClient -WarningVariable w -WarningAction SilentlyContinue -ErrorVariable err)
            $err | Should -BeNullOrEmpty
            @($Error).Count | Should -Be 0 -Because 'the throttled calls are the module''s own, made on the admin''s behalf'
            @($w | Where-Object { "$_" -like 'Message trace:*could not be traced*after 5 minutes*' }).Count | Should -Be 1
            $untraced = @($clients | Where-Object { $_.SuccessCount -gt 0 -and $null -eq $_.InternalRecipientsOnly })
            $untraced.Count | Should -BeGreaterThan 1
            foreach ($c in $untraced) {
                $c.UnknownReasons | Should -Match 'Message trace .*InternalRecipientsOnly is empty.*again after 5 minutes' -Because $c.UserPrincipalName
            }
            @($untraced.UnknownReasons) -join ' ' | Should -Match 'throttled'
            Get-ExoStandInCallCount Get-MessageTraceV2 | Should -BeLessThan 12 -Because 'after two senders fail in a row the rest are not queried into the throttle'
        }
        finally { Reset-ExoStandIn; Disconnect-Tenant $graph }
    }

    It 'joins the report the admin center mails on request (SmtpCSReport: UTF-16 without a byte order mark, its own column names)' {
        # The columns and the encoding are those a public script reads the SmtpCSReport CSV with (Import-Csv -Encoding
        # Unicode; date, senderName, senderDomain, authMethod, ..., message_count, message_id); Microsoft documents neither.
        $graph = Connect-Tenant $script:Demo
        try {
            $requested = Join-Path $TestDrive 'SmtpCSReport.csv'
            $text = "date,senderName,senderDomain,authMethod,original_client_ip,tls_version,tls_cipher,message_id,message_count`r`n" +
                "2026-11-20,notifications@contoso.com,contoso.com,OAuth,198.51.100.9,TLS1.2,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,<a@contoso.com>,700`r`n" +
                "2026-11-21,notifications@contoso.com,contoso.com,OAuth,198.51.100.9,TLS1.2,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,<b@contoso.com>,500`r`n"
            [IO.File]::WriteAllBytes($requested, [Text.Encoding]::Unicode.GetBytes($text))
            $clients = @(Get-SmtpAuthClient -SmtpAuthReportPath $requested -WarningVariable w -WarningAction SilentlyContinue)
            $notifications = @($clients | Where-Object UserPrincipalName -EQ 'notifications@contoso.com')[0]
            $notifications.AuthenticationProtocol | Should -BeExactly 'OAuth'
            $notifications.MessagesSent | Should -Be 1200
            "$($notifications.ImpactAtDefaultOff)" | Should -BeExactly 'Unaffected'
            @($w | Where-Object { "$_" -like '*SMTP AUTH clients report*' }) | Should -BeNullOrEmpty
        }
        finally { Disconnect-Tenant $graph }
    }

    It 'says so in a warning when the file is a message trace, and lists none of its senders' {
        $graph = Connect-Tenant $script:Demo
        try {
            $trace = Join-Path $TestDrive 'MessageTrace.csv'
            # Get-MessageTraceV2's output, as Export-Csv writes it.
            Set-Content -Path $trace -Value @(
                '"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size","MessageId","MessageTraceId"'
                '"2026-11-20 10:00:00","notifications@contoso.com","someone@fabrikam.com","Hello","Delivered","","198.51.100.9","800","<a@contoso.com>","7c1e"'
            )
            $clients = @(Get-SmtpAuthClient -SmtpAuthReportPath $trace -WarningVariable w -WarningAction SilentlyContinue)
            @($w | Where-Object { "$_" -like '*is not the SMTP AUTH clients report*SenderAddress, RecipientAddress*' }).Count | Should -Be 1
            @($clients | Where-Object UserPrincipalName -EQ 'notifications@contoso.com') | Should -BeNullOrEmpty -Because 'an OAuth-only sender has no basic sign-ins, so only the report would list it'
        }
        finally { Disconnect-Tenant $graph }
    }

    It 'refuses a report path that does not exist, with a stable error id' {
        { Get-SmtpAuthClient -SmtpAuthReportPath (Join-Path $TestDrive 'nope.csv') -ErrorAction Stop } | Should -Throw -ErrorId 'SmtpAuthReportNotFound,SmtpAuthTroubleshooter.Commands.GetSmtpAuthClientCommand'
    }
}

Describe 'Get-SmtpAuthClient: what it loads' -Tag Readiness {
    # The policy-state engine it shares with Get-SmtpAuthPolicyState knows its Graph half (GraphPolicyReader) only
    # through an interface, and Get-SmtpAuthClient creates it only for senders with basic sign-ins, to read the Entra
    # half of their basic-auth verdict. A run that reads Exchange only does not load the Microsoft Graph SDK's service
    # library (44 MB of metadata, about 14 MB of working set).
    It 'does not load the Microsoft Graph SDK''s service library (Microsoft.Graph.dll) when it reads Exchange only' {
        $r = Invoke-FreshPwsh @"
`$ErrorActionPreference = 'Stop'
. '$PSScriptRoot/../EmulatedTenant/tenant.ps1'
Import-EmulatedTenantModules
Connect-ExchangeOnline -ScenarioPath '$($script:Demo)' -ShowBanner:`$false
Import-Module '$($script:ModuleManifest)'
`$clients = @(Get-SmtpAuthClient -IncludeUnused -SkipMessageTrace -WarningAction SilentlyContinue)
'CLIENTS=' + `$clients.Count
'LOADED=' + ((@([AppDomain]::CurrentDomain.GetAssemblies() | ForEach-Object { `$_.GetName().Name }) | Where-Object { `$_ -like 'Microsoft.Graph*' } | Sort-Object) -join ',')
"@
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'CLIENTS=[1-9]'
        $loaded = ([regex]::Match($r.Output, 'LOADED=(?<l>.*)')).Groups['l'].Value.Trim() -split ','
        $loaded | Should -Not -Contain 'Microsoft.Graph'
    }
}

Describe 'Get-SmtpAuthClient: Ctrl+C while the sign-in log is paged' -Tag Readiness {
    # The next sign-in page is asked for while the current one is counted (GraphReader.ForEachPageAsync). Stopping the
    # command must stop that chain too: no page may be fetched in the background after the pipeline has stopped.
    It 'stops promptly, and no page is asked for after it has stopped' {
        $scenario = New-ScaleScenario -Count 400 -SignInDays 30 -Path (Join-Path $TestDrive 'stop-400.json')
        $graph = Start-GraphEmulator -Scenario $scenario -ExtraArgs @('--delay-ms', '1000')
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript(@"
. '$PSScriptRoot/../EmulatedTenant/tenant.ps1'
Import-EmulatedTenantModules
Connect-ExchangeOnline -ScenarioPath '$scenario' -ShowBanner:`$false
`$null = Connect-MgGraph -GraphBaseUri '$($graph.BaseUri)' -NoWelcome
Import-Module '$($script:ModuleManifest)'
Get-SmtpAuthClient -SkipMessageTrace -WarningAction SilentlyContinue
"@)
            $async = $ps.BeginInvoke()
            # Wait until the sign-in log is being paged (a few pages in), then stop.
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            do { Start-Sleep -Milliseconds 200; $requests = (Invoke-GraphEmulatorControl -Emulator $graph -Endpoint stats).totalRequests }
            while ($requests -lt 3 -and [DateTime]::UtcNow -lt $deadline -and -not $async.IsCompleted)
            $requests | Should -BeGreaterOrEqual 3 -Because 'the run must be stopped while it pages the sign-in log'
            $stop = $ps.BeginStop($null, $null)
            # Functional, not a timing assertion: paging the whole log at 1 s a page would take far longer.
            $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(60)) | Should -BeTrue
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            $atStop = (Invoke-GraphEmulatorControl -Emulator $graph -Endpoint stats).totalRequests
            Start-Sleep -Seconds 2
            $later = (Invoke-GraphEmulatorControl -Emulator $graph -Endpoint stats).totalRequests
            $later | Should -Be $atStop -Because 'a stopped command must not go on paging in the background'
        }
        finally {
            $ps.Dispose()
            Stop-GraphEmulator $graph
        }
    }
}
