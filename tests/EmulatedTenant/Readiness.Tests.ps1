#requires -Modules Pester
# Issue 12, the emulated tenant for retirement readiness: Authenticated SMTP sign-ins at scale from the Graph emulator,
# Get-MessageTraceV2 and Get-AcceptedDomain in the ExchangeOnlineManagement stand-in, the admin-center CSV fixture, and
# the demo tenant's readiness story (README.md, "The readiness story"). Harness tests (files outside tests/Pester).
BeforeAll {
    . "$PSScriptRoot/tenant.ps1"
    $script:SavedModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    $script:Demo = Resolve-ScenarioPath 'demo-tenant.json'
    $script:Csv = Join-Path $PSScriptRoot 'Fixtures/smtp-auth-clients.csv'
    $script:Window = "createdDateTime ge $([DateTime]::UtcNow.AddDays(-30).ToString('yyyy-MM-ddTHH:mm:ssZ')) and clientAppUsed eq 'Authenticated SMTP'"

    function Connect-Demo([string] $Path = $script:Demo) {
        Reset-ExoStandIn -Disconnect
        Connect-ExchangeOnline -ScenarioPath $Path -ShowBanner:$false
    }

    # Every page of a sign-in query, following @odata.nextLink verbatim; returns @{ Rows; Pages }.
    function Read-SignIn([string] $Version, [string] $Filter, [int] $Top = 1000) {
        $uri = "$Version/auditLogs/signIns?`$filter=$([uri]::EscapeDataString($Filter))&`$top=$Top"
        $rows = [System.Collections.Generic.List[object]]::new()
        $pages = 0
        while ($uri) {
            $page = Invoke-MgGraphRequest -Uri $uri
            $pages++
            foreach ($v in $page['value']) { $rows.Add($v) }
            $uri = $page['@odata.nextLink']
            if ($pages -gt 500) { throw 'too many pages' }
        }
        @{ Rows = $rows; Pages = $pages }
    }

    # Every message trace row of the last 40 days for one sender, in 10-day windows paged with -StartingRecipientAddress.
    function Read-MessageTrace([string] $Sender, [int] $PageSize = 5000) {
        $now = [DateTime]::UtcNow.AddMinutes(1)
        $all = [System.Collections.Generic.List[object]]::new()
        for ($w = 0; $w -lt 4; $w++) {
            $end = $now.AddDays(-10 * $w); $start = $end.AddDays(-10)
            $cursor = $null
            while ($true) {
                $p = @{ SenderAddress = $Sender; StartDate = $start; EndDate = $end; ResultSize = $PageSize }
                if ($cursor) { $p.StartingRecipientAddress = $cursor }
                $page = @(Get-MessageTraceV2 @p)
                foreach ($r in $page) { $all.Add($r) }
                if ($page.Count -lt $PageSize) { break }
                $end = $page[-1].Received; $cursor = $page[-1].RecipientAddress
            }
        }
        $all.ToArray()
    }

    # The stand-in's session schedule of one client (the same arithmetic as the C# SmtpClientSchedule).
    function Get-Session([string] $Upn, [string] $Ip) {
        & (Get-Module ExchangeOnlineManagement) {
            param($Upn, $Ip)
            $r = $script:State.Tenant.ByUpn[$Upn]
            $c = $r.__SmtpClients | Where-Object { $_['ipAddress'] -eq $Ip }
            , (Get-StandInSmtpSessions $Upn $c)
        } $Upn $Ip
    }
}

AfterAll {
    Reset-MgStandIn -Disconnect
    Reset-ExoStandIn -Disconnect
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -Force -ErrorAction SilentlyContinue
    $env:PSModulePath = $script:SavedModulePath
}

Describe 'Readiness: Authenticated SMTP sign-ins from the Graph emulator' -Tag Tenant, Readiness {
    BeforeAll {
        $script:Graph = Start-GraphEmulator -Scenario $script:Demo
        Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri -Scopes AuditLog.Read.All, Directory.Read.All -NoWelcome
        Connect-Demo
        $script:V1 = Read-SignIn 'v1.0' $script:Window
    }

    AfterAll {
        Reset-MgStandIn -Disconnect
        Stop-GraphEmulator $script:Graph
    }

    It 'pages the reader''s v1.0 filter ($top=1000, newest first, @odata.nextLink with $skiptoken) without gaps or duplicates' {
        $rows = $script:V1.Rows
        $rows.Count | Should -BeGreaterThan 2500
        $script:V1.Pages | Should -Be ([Math]::Ceiling($rows.Count / 1000))
        @($rows | ForEach-Object { $_['id'] } | Sort-Object -Unique).Count | Should -Be $rows.Count
        $times = @($rows | ForEach-Object { $_['createdDateTime'] })
        $unordered = 0
        for ($i = 1; $i -lt $times.Count; $i++) { if ($times[$i] -gt $times[$i - 1]) { $unordered++ } }
        $unordered | Should -Be 0 -Because 'sign-ins come newest first'
        @($rows | Where-Object { $_['clientAppUsed'] -ne 'Authenticated SMTP' }).Count | Should -Be 0
        $first = Invoke-MgGraphRequest -Uri "v1.0/auditLogs/signIns?`$filter=$([uri]::EscapeDataString($script:Window))&`$top=1000"
        $first['@odata.nextLink'] | Should -BeLike "$($script:Graph.BaseUri)v1.0/auditLogs/signIns?*`$skiptoken=*"
    }

    It 'gives each sender (mailbox x IP) its schedule: counts, codes, locations, two IPs for one mailbox' {
        $bySender = $script:V1.Rows | Group-Object { "$($_['userPrincipalName'])|$($_['ipAddress'])" } -AsHashTable -AsString
        foreach ($s in @('scanner.floor2@contoso.com|203.0.113.10', 'erp.app@contoso.com|198.51.100.20', 'erp.app@contoso.com|198.51.100.21', 'printer.lobby@contoso.com|203.0.113.30', 'nas.alerts@contoso.com|203.0.113.40', 'hr.copier@contoso.com|203.0.113.50', 'frontdesk@contoso.com|203.0.113.60')) {
            $upn, $ip = $s.Split('|')
            $sessions = Get-Session $upn $ip
            $expected = @($sessions | Where-Object { $_[1] -le 30 * 864000000000 } | Group-Object { $_[2] } | Sort-Object { [int]$_.Name } | ForEach-Object { "$($_.Name)x$($_.Count)" }) -join ' '
            $actual = @($bySender[$s] | Group-Object { $_['status']['errorCode'] } | Sort-Object { [int]$_.Name } | ForEach-Object { "$($_.Name)x$($_.Count)" }) -join ' '
            $actual | Should -Be $expected -Because "the Graph emulator and the stand-in share the schedule of $s"
        }
        $bySender['scanner.floor2@contoso.com|203.0.113.10'] | Should -HaveCount 360
        $bySender['printer.lobby@contoso.com|203.0.113.30'][0]['status']['failureReason'] | Should -Be 'Error validating credentials due to invalid username or password.'
        $kiosk = $bySender['frontdesk@contoso.com|203.0.113.60'][0]
        $kiosk['status']['errorCode'] | Should -Be 53003
        $kiosk['location']['city'] | Should -Be 'Berlin'
        $kiosk['location']['countryOrRegion'] | Should -Be 'DE'
        $kiosk['appliedConditionalAccessPolicies'][0]['enforcedGrantControls'] | Should -Be @('Block')
        @($bySender.Keys | Where-Object { $_ -like 'erp.app@contoso.com|*' }) | Should -HaveCount 2
    }

    It 'shows a sender that turned to failure: successes until 3 days ago, 50126 since' {
        $nas = @($script:V1.Rows | Where-Object { $_['userPrincipalName'] -eq 'nas.alerts@contoso.com' })
        $turn = [DateTime]::UtcNow.AddDays(-3)
        @($nas | Where-Object { $_['createdDateTime'] -gt $turn.AddMinutes(1) -and $_['status']['errorCode'] -ne 50126 }) | Should -BeNullOrEmpty
        @($nas | Where-Object { $_['createdDateTime'] -lt $turn.AddMinutes(-1) -and $_['status']['errorCode'] -ne 0 }) | Should -BeNullOrEmpty
        $nas[0]['status']['errorCode'] | Should -Be 50126
        $nas[-1]['status']['errorCode'] | Should -Be 0
    }

    It 'serves beta''s fields, and non-interactive sign-ins only to the signInEventTypes filter' {
        $beta = Read-SignIn 'beta' $script:Window
        $beta.Rows.Count | Should -Be $script:V1.Rows.Count
        $scan = $beta.Rows | Where-Object { $_['userPrincipalName'] -eq 'scanner.floor2@contoso.com' } | Select-Object -First 1
        $scan['userAgent'] | Should -Be 'BAV2ROPC'
        $scan['authenticationProtocol'] | Should -Be 'ropc'
        $scan['signInEventTypes'] | Should -Be @('interactiveUser')
        $both = Read-SignIn 'beta' "$($script:Window) and signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')"
        $legacy = @($both.Rows | Where-Object { $_['userPrincipalName'] -eq 'legacy.app@contoso.com' })
        $legacy | Should -HaveCount 720
        $legacy[0]['signInEventTypes'] | Should -Be @('nonInteractiveUser')
        $both.Rows.Count | Should -Be ($beta.Rows.Count + 720)
        @($script:V1.Rows | Where-Object { $_['userPrincipalName'] -eq 'legacy.app@contoso.com' }) | Should -BeNullOrEmpty
        $script:V1.Rows[0].ContainsKey('signInEventTypes') | Should -BeFalse
    }

    It 'refuses signInEventTypes on v1.0 as Graph does, and a malformed lambda' {
        $r = Invoke-MgGraphRequest -Uri "v1.0/auditLogs/signIns?`$filter=$([uri]::EscapeDataString("signInEventTypes/any(t: t eq 'interactiveUser')"))" -SkipHttpErrorCheck -StatusCodeVariable code
        $code | Should -Be 400
        $r['error']['message'] | Should -BeLike "*Could not find a property named 'signInEventTypes' on type 'microsoft.graph.signIn'*"
        $null = Invoke-MgGraphRequest -Uri "beta/auditLogs/signIns?`$filter=$([uri]::EscapeDataString("signInEventTypes/any(t t eq 'x')"))" -SkipHttpErrorCheck -StatusCodeVariable code
        $code | Should -Be 400
    }

    It 'answers 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant for the variant without Entra ID P1' {
        $noP1 = New-TenantVariant 'demo-tenant.json' -Path (Join-Path $TestDrive 'demo-nop1.json') -NoPremium
        $g = Start-GraphEmulator -Scenario $noP1
        try {
            Connect-MgGraph -GraphBaseUri $g.BaseUri -NoWelcome
            foreach ($v in 'v1.0', 'beta') {
                $r = Invoke-MgGraphRequest -Uri "$v/auditLogs/signIns?`$filter=$([uri]::EscapeDataString($script:Window))&`$top=1000" -SkipHttpErrorCheck -StatusCodeVariable code
                $code | Should -Be 403
                $r['error']['code'] | Should -Be 'Authentication_RequestFromNonPremiumTenantOrB2CTenant'
            }
            (Invoke-MgGraphRequest -Uri 'v1.0/users/scanner.floor2@contoso.com')['id'] | Should -Be 'a0000000-0000-4000-8000-000000000012'
        }
        finally {
            Stop-GraphEmulator $g
            Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri -NoWelcome
        }
    }
}

Describe 'Readiness: the demo tenant''s story' -Tag Tenant, Readiness {
    BeforeAll {
        $script:Graph = Start-GraphEmulator -Scenario $script:Demo
        Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri -NoWelcome
        Connect-Demo
        $script:Both = (Read-SignIn 'beta' "$($script:Window) and signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')").Rows
        $script:Internal = @(Get-AcceptedDomain | Where-Object DomainType -EQ 'Authoritative' | ForEach-Object DomainName)
    }

    AfterAll {
        Reset-MgStandIn -Disconnect
        Stop-GraphEmulator $script:Graph
    }

    It 'has, for every readiness mailbox, the exposure, usage and recipients the README promises' -ForEach @(
        @{ Upn = 'scanner.floor2@contoso.com'; Smtp = $false; Success = $true; Failure = $false; AllInternal = $true }
        @{ Upn = 'erp.app@contoso.com'; Smtp = $false; Success = $true; Failure = $false; AllInternal = $false }
        @{ Upn = 'hr.copier@contoso.com'; Smtp = $false; Success = $true; Failure = $true; AllInternal = $false }
        @{ Upn = 'legacy.app@contoso.com'; Smtp = $false; Success = $true; Failure = $false; AllInternal = $false }
        @{ Upn = 'printer.lobby@contoso.com'; Smtp = $false; Success = $false; Failure = $true; AllInternal = $null }
        @{ Upn = 'nas.alerts@contoso.com'; Smtp = $false; Success = $true; Failure = $true; AllInternal = $true }
        @{ Upn = 'frontdesk@contoso.com'; Smtp = $false; Success = $false; Failure = $true; AllInternal = $null }
        @{ Upn = 'notifications@contoso.com'; Smtp = $false; Success = $false; Failure = $false; AllInternal = $false }
        @{ Upn = 'smtp.override@contoso.com'; Smtp = $false; Success = $false; Failure = $false; AllInternal = $null }
        @{ Upn = 'tenant.inherit@contoso.com'; Smtp = $null; Success = $false; Failure = $false; AllInternal = $null }
    ) {
        (Get-EXOCasMailbox -Identity $Upn -Properties SmtpClientAuthenticationDisabled).SmtpClientAuthenticationDisabled | Should -Be $Smtp
        $mine = @($script:Both | Where-Object { $_['userPrincipalName'] -eq $Upn })
        [bool]@($mine | Where-Object { $_['status']['errorCode'] -eq 0 }).Count | Should -Be $Success
        [bool]@($mine | Where-Object { $_['status']['errorCode'] -ne 0 }).Count | Should -Be $Failure
        $recipients = @((Read-MessageTrace $Upn).RecipientAddress | Sort-Object -Unique)
        if ($null -eq $AllInternal) { $recipients | Should -BeNullOrEmpty }
        else { (@($recipients | Where-Object { $script:Internal -notcontains $_.Split('@')[1] }).Count -eq 0) | Should -Be $AllInternal }
    }

    It 'has an OAuth-only sender with messages and no Authenticated SMTP sign-ins, matching the CSV' {
        $csv = Import-Csv $script:Csv
        ($csv | Where-Object { $_.'Sender address' -eq 'notifications@contoso.com' }).'Authentication protocol' | Should -Be 'OAuth'
        @($script:Both | Where-Object { $_['userPrincipalName'] -eq 'notifications@contoso.com' }) | Should -BeNullOrEmpty
        @(Read-MessageTrace 'notifications@contoso.com').Count | Should -Be 1200
    }

    It 'makes inheriting mailboxes exposed in the variant whose organization has SMTP AUTH on' {
        $on = New-TenantVariant 'demo-tenant.json' -Path (Join-Path $TestDrive 'demo-org-on.json') -TenantSmtpAuthEnabled -RejectDirectSend
        Connect-Demo $on
        try {
            (Get-TransportConfig).SmtpClientAuthenticationDisabled | Should -BeFalse
            (Get-OrganizationConfig).RejectDirectSend | Should -BeTrue
            (Get-CASMailbox -Filter 'SmtpClientAuthenticationDisabled -eq $null').Name | Should -Be @('tenant.inherit', 'no.smtp.app')
            @(Get-CASMailbox -Filter 'SmtpClientAuthenticationDisabled -eq $false').Name | Should -Not -Contain 'tenant.inherit'   # the one-liner that misses them
        }
        finally { Connect-Demo }
        (Get-OrganizationConfig).RejectDirectSend | Should -BeFalse
    }
}

Describe 'Readiness: Get-MessageTraceV2 stand-in' -Tag Tenant, Readiness {
    BeforeAll { Connect-Demo }

    It 'has the documented parameters, positions and types' {
        $cmd = Get-Command Get-MessageTraceV2
        $expected = [ordered]@{
            EndDate = 'DateTime'; FromIP = 'String'; MessageId = 'String[]'; MessageTraceId = 'Guid'; RecipientAddress = 'String[]'; ResultSize = 'Int32'
            SenderAddress = 'String[]'; StartDate = 'DateTime'; StartingRecipientAddress = 'String'; Status = 'String[]'; Subject = 'String'; SubjectFilterType = 'String'; ToIP = 'String'
        }
        $i = 0
        foreach ($name in $expected.Keys) {
            $p = $cmd.Parameters[$name]
            $p.ParameterType.Name | Should -Be $expected[$name]
            $p.ParameterSets['__AllParameterSets'].Position | Should -Be $i
            $i++
        }
        $cmd.Parameters['Status'].Attributes.ValidValues | Should -Be @('Delivered', 'Expanded', 'Failed', 'FilteredAsSpam', 'GettingStatus', 'None', 'Pending', 'Quarantined')
        $cmd.Parameters['SubjectFilterType'].Attributes.ValidValues | Should -Be @('Contains', 'EndsWith', 'StartsWith')
    }

    It 'refuses what the service refuses: more than 10 days, older than 90 days, ResultSize outside 1-5000' {
        $now = Get-Date
        Get-MessageTraceV2 -StartDate $now.AddDays(-11) -EndDate $now -ErrorVariable e1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        "$($e1[0])" | Should -BeExactly "||The interval between StartDate and EndDate can't be longer than 10 days."
        Get-MessageTraceV2 -StartDate $now.AddDays(-95) -EndDate $now.AddDays(-88) -ErrorVariable e2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        "$($e2[0])" | Should -BeExactly "Invalid StartDate value. The StartDate can't be older than 90 days from today."
        foreach ($size in 0, 5001) {
            Get-MessageTraceV2 -ResultSize $size -ErrorVariable e3 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            "$($e3[0])" | Should -BeLike '*A valid value is from 1 to 5000*'
        }
        { Get-MessageTraceV2 -StartDate $now.AddDays(-11) -EndDate $now -ErrorAction Stop } | Should -Throw
        @(Get-MessageTraceV2 -StartDate $now.AddDays(-10) -EndDate $now -ResultSize 5000).Count | Should -BeGreaterThan 1000
        @(Get-MessageTraceV2 -StartDate (Get-Date).AddDays(-80) -EndDate (Get-Date).AddDays(-75)) | Should -BeNullOrEmpty   # nothing sent then
    }

    It 'returns the output shape: Received (UTC), SenderAddress, RecipientAddress, Subject, Status, ToIP, FromIP, Size, MessageId, MessageTraceId' {
        $r = @(Get-MessageTraceV2 -SenderAddress scanner.floor2@contoso.com -StartDate (Get-Date).AddDays(-2) -EndDate (Get-Date))
        $r.Count | Should -BeGreaterThan 10
        $m = $r[0]
        $m.PSObject.TypeNames[0] | Should -Be 'Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTraceV2'
        $m.PSObject.Properties.Name | Should -Be @('Organization', 'MessageId', 'Received', 'SenderAddress', 'RecipientAddress', 'Subject', 'Status', 'ToIP', 'FromIP', 'Size', 'MessageTraceId', 'StartDate', 'EndDate')
        $m.Received | Should -BeOfType [datetime]
        $m.Received.Kind | Should -Be 'Utc'
        $m.Size | Should -BeOfType [int]
        $m.MessageTraceId | Should -BeOfType [guid]
        $m.FromIP | Should -Be '203.0.113.10'
        $m.Status | Should -BeExactly 'Delivered'
        $m.Subject | Should -Be 'Scanned document from MFP Floor 2'
        $m.MessageId | Should -Match '^<[0-9a-f]{32}@contoso\.com>$'
        $m.Organization | Should -Be 'contoso.onmicrosoft.com'
        @($r | Where-Object { $null -ne $_.ToIP }) | Should -BeNullOrEmpty   # internal recipients: delivered inside Exchange Online
        (Get-MessageTraceV2 -SenderAddress erp.app@contoso.com -RecipientAddress ap@fabrikam.com -ResultSize 1).ToIP | Should -Not -BeNullOrEmpty
        $unordered = 0
        for ($i = 1; $i -lt $r.Count; $i++) { if ($r[$i].Received -gt $r[$i - 1].Received) { $unordered++ } }
        $unordered | Should -Be 0 -Because 'message trace rows come newest first'
    }

    It 'pages with -StartingRecipientAddress and -EndDate from the last row, with no gap or duplicate' {
        $now = Get-Date
        $start = $now.AddDays(-3)
        $whole = @(Get-MessageTraceV2 -SenderAddress erp.app@contoso.com -StartDate $start -EndDate $now -ResultSize 5000)
        $whole.Count | Should -BeGreaterThan 300
        $paged = [System.Collections.Generic.List[object]]::new()
        $end = $now; $cursor = $null; $calls = 0
        do {
            $p = @{ SenderAddress = 'erp.app@contoso.com'; StartDate = $start; EndDate = $end; ResultSize = 100 }
            if ($cursor) { $p.StartingRecipientAddress = $cursor }
            $page = @(Get-MessageTraceV2 @p)
            $calls++
            $paged.AddRange([object[]]$page)
            if ($page.Count -gt 0) { $end = $page[-1].Received; $cursor = $page[-1].RecipientAddress }
        } while ($page.Count -eq 100)
        $paged.Count | Should -Be $whole.Count
        @($paged.MessageTraceId | Sort-Object -Unique).Count | Should -Be $whole.Count
        $calls | Should -Be ([Math]::Floor($whole.Count / 100) + 1)
    }

    It 'filters by sender, recipient, IP, status, subject and ids' {
        $now = Get-Date; $from = $now.AddDays(-5)
        $all = @(Get-MessageTraceV2 -StartDate $from -EndDate $now -ResultSize 5000)
        @(Get-MessageTraceV2 -StartDate $from -EndDate $now -ResultSize 5000 -SenderAddress erp.app@contoso.com, hr.copier@contoso.com).Count | Should -Be @($all | Where-Object SenderAddress -In 'erp.app@contoso.com', 'hr.copier@contoso.com').Count
        @(Get-MessageTraceV2 -StartDate $from -EndDate $now -ResultSize 5000 -RecipientAddress hr@legacy.contoso.com).SenderAddress | Sort-Object -Unique | Should -Be 'hr.copier@contoso.com'
        @(Get-MessageTraceV2 -StartDate $from -EndDate $now -ResultSize 5000 -FromIP 198.51.100.21).SenderAddress | Sort-Object -Unique | Should -Be 'erp.app@contoso.com'
        @(Get-MessageTraceV2 -StartDate $from -EndDate $now -ResultSize 5000 -Status Failed) | Should -BeNullOrEmpty
        @(Get-MessageTraceV2 -StartDate $from -EndDate $now -ResultSize 5000 -Subject 'Invoice' -SubjectFilterType StartsWith).SenderAddress | Sort-Object -Unique | Should -Be 'erp.app@contoso.com'
        @(Get-MessageTraceV2 -StartDate $from -EndDate $now -ResultSize 5000 -Subject 'report' -SubjectFilterType EndsWith).SenderAddress | Sort-Object -Unique | Should -Be @('healthy.basic@contoso.com', 'legacy.app@contoso.com')
        $one = $all[5]
        (Get-MessageTraceV2 -StartDate $from -EndDate $now -MessageTraceId $one.MessageTraceId).RecipientAddress | Should -Be $one.RecipientAddress
        (Get-MessageTraceV2 -StartDate $from -EndDate $now -MessageId $one.MessageId).MessageTraceId | Should -Be $one.MessageTraceId
        @(Get-MessageTraceV2).Count | Should -Be @($all | Where-Object Received -GT $now.ToUniversalTime().AddHours(-48)).Count   # no dates: the last 48 hours
    }

    It 'is counted, honours Set-ExoStandInDelay, and throttles after 100 queries in 5 minutes (limit settable)' {
        Reset-ExoStandIn
        $null = Get-MessageTraceV2 -ResultSize 1
        Get-ExoStandInCallCount Get-MessageTraceV2 | Should -Be 1
        Set-ExoStandInDelay 300 -CommandName Get-MessageTraceV2
        (Measure-Command { $null = Get-MessageTraceV2 -ResultSize 1 }).TotalMilliseconds | Should -BeGreaterOrEqual 290
        Reset-ExoStandIn
        (Get-ExoStandInState).MessageTraceLimit | Should -Be 100
        Set-ExoStandInOption -MessageTraceQueryLimit 3
        1..3 | ForEach-Object { $null = Get-MessageTraceV2 -ResultSize 1 }
        Get-MessageTraceV2 -ResultSize 1 -ErrorVariable t -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        "$($t[0])" | Should -BeLike '*throttled*3 Get-MessageTraceV2 queries*5-minute window*'
        Reset-ExoStandIn
        $null = Get-MessageTraceV2 -ResultSize 1 -ErrorAction Stop
    }
}

Describe 'Readiness: Get-AcceptedDomain stand-in' -Tag Tenant, Readiness {
    BeforeAll { Connect-Demo }

    It 'returns Name, DomainName, DomainType (Authoritative, InternalRelay) and Default in the real property order' {
        $d = @(Get-AcceptedDomain)
        $d.DomainName | Should -Be @('contoso.com', 'contoso.onmicrosoft.com', 'legacy.contoso.com')
        $d.DomainType | Should -Be @('Authoritative', 'Authoritative', 'InternalRelay')
        $d.Default | Should -Be @($true, $false, $false)
        $d[0].Default | Should -BeOfType [bool]
        $d[0].DomainType | Should -BeOfType [string]
        $d[1].InitialDomain | Should -BeTrue
        $d[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomain'
        $names = $d[0].PSObject.Properties.Name
        $names[0..5] | Should -Be @('DomainName', 'CatchAllRecipientID', 'DomainType', 'MatchSubDomains', 'AddressBookEnabled', 'Default')
        $names | Should -Contain 'Name'
        $d[0].ObjectClass | Should -Be @('top', 'msExchAcceptedDomain')
        Get-ExoStandInCallCount Get-AcceptedDomain | Should -BeGreaterOrEqual 1
    }

    It 'finds one by name or GUID, and writes the not-found error for an unknown one' {
        (Get-AcceptedDomain legacy.contoso.com).DomainType | Should -Be 'InternalRelay'
        $g = (Get-AcceptedDomain contoso.com).Guid
        (Get-AcceptedDomain -Identity $g.ToString()).Name | Should -Be 'contoso.com'
        Get-AcceptedDomain nowhere.example -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        "$($e[0])" | Should -BeLike "ExBDDC58|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|*'nowhere.example'*"
    }

    It 'derives the list from tenant.domains when a scenario has no acceptedDomains' {
        Connect-Demo (Resolve-ScenarioPath 'directory-tenant.json')
        try {
            $d = @(Get-AcceptedDomain)
            ($d | Where-Object Default).DomainName | Should -Be 'northwindtraders.com'
            $d.DomainName | Should -Contain 'northwindtraders.onmicrosoft.com'
            ($d | Where-Object DomainName -EQ 'legacy.northwindtraders.com').AuthenticationType | Should -Be 'Federated'
            $d.DomainType | Sort-Object -Unique | Should -Be 'Authoritative'
        }
        finally { Connect-Demo }
    }
}

Describe 'Readiness: the SMTP AUTH clients report CSV fixture' -Tag Tenant, Readiness {
    BeforeAll { Connect-Demo }

    It 'has the report''s columns and only Basic Authentication and OAuth rows' {
        (Get-Content $script:Csv -TotalCount 1) | Should -BeExactly 'Sender address,Domain,TLS 1.0,TLS 1.1,TLS 1.2,Messages sent,Authentication protocol'
        $rows = Import-Csv $script:Csv
        $rows.'Authentication protocol' | Sort-Object -Unique | Should -Be @('Basic Authentication', 'OAuth')
        $rows | ForEach-Object { $_.Domain | Should -Be $_.'Sender address'.Split('@')[1] }
        $rows | ForEach-Object { $_.'TLS 1.2' | Should -Match '^\d{1,3}%$' }
    }

    It 'counts the messages the stand-in''s message trace holds for each sender (30 days)' {
        $rows = Import-Csv $script:Csv
        foreach ($sender in $rows.'Sender address' | Sort-Object -Unique) {
            $traced = @(Read-MessageTrace $sender).Count
            # healthy.basic's two basic messages come from explicit sign-ins, which carry no message trace rows.
            $explicitBasic = if ($sender -eq 'healthy.basic@contoso.com') { 2 } else { 0 }
            ($rows | Where-Object 'Sender address' -EQ $sender | Measure-Object 'Messages sent' -Sum).Sum | Should -Be ($traced + $explicitBasic) -Because $sender
        }
    }
}

Describe 'Readiness: 10,000 mailboxes x 30 days of sign-ins' -Tag Tenant, Readiness {
    It 'generates, loads and pages about 300,000 sign-ins (timings printed)' {
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $path = New-ScaleScenario -Count 10000 -SignInDays 30 -Path (Join-Path $TestDrive 'scale-30.json')
        $generate = $watch.ElapsedMilliseconds
        $watch.Restart()
        $g = Start-GraphEmulator -Scenario $path
        $start = $watch.ElapsedMilliseconds
        $http = [System.Net.Http.HttpClient]::new()
        try {
            $http.DefaultRequestHeaders.Authorization = [System.Net.Http.Headers.AuthenticationHeaderValue]::new('Bearer', 'x')
            $uri = "$($g.BaseUri)v1.0/auditLogs/signIns?`$filter=$([uri]::EscapeDataString($script:Window))&`$top=1000"
            $watch.Restart()
            $rows = 0; $pages = 0; $firstPage = $null
            while ($uri) {
                $doc = [System.Text.Json.JsonDocument]::Parse($http.GetStringAsync($uri).GetAwaiter().GetResult())
                $rows += $doc.RootElement.GetProperty('value').GetArrayLength()
                $pages++
                if ($null -eq $firstPage) { $firstPage = $watch.ElapsedMilliseconds }
                $next = [System.Text.Json.JsonElement]::new()
                $uri = if ($doc.RootElement.TryGetProperty('@odata.nextLink', [ref] $next)) { $next.GetString() } else { $null }
                $doc.Dispose()
            }
            $full = $watch.ElapsedMilliseconds
            $g.Process.Refresh()
            $memory = [Math]::Round($g.Process.WorkingSet64 / 1MB)
            Write-Host "    10,000 x 30: generate $generate ms, emulator start $start ms, first page $firstPage ms, full read $rows rows in $pages pages $full ms, emulator working set $memory MB"
            $rows | Should -BeGreaterThan 250000
            $pages | Should -Be ([Math]::Ceiling($rows / 1000))
        }
        finally {
            $http.Dispose()
            Stop-GraphEmulator $g
        }
        $watch.Restart()
        Connect-Demo $path
        $connect = $watch.ElapsedMilliseconds
        $watch.Restart()
        $sample = @(Get-MessageTraceV2 -StartDate (Get-Date).AddDays(-10) -EndDate (Get-Date) -ResultSize 5000)
        Write-Host "    10,000 x 30 in the Exchange stand-in: connect $connect ms, first Get-MessageTraceV2 (builds the trace) $($watch.ElapsedMilliseconds) ms, $($sample.Count) rows"
        $sample.Count | Should -BeGreaterThan 0
        Connect-Demo
    }
}
