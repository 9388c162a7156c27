#requires -Modules Pester
# Exchange Online out of process (ExoRestHost.ps1, Start-ExoRestHost): the stand-in's remote mode gives the module
# under test the same answers as the in-process stand-in, carries the stand-in's errors back as they are (ErrorId,
# category, exception, message; non-terminating or terminating), and streams: each page is written before the next is
# asked for. Harness tests (files outside tests/Pester).
BeforeAll {
    . "$PSScriptRoot/../Pester/common.ps1"   # $script:ModuleManifest: the built module
    . "$PSScriptRoot/tenant.ps1"
    $script:SavedModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    Import-Module $script:ModuleManifest -Force
    $script:Demo = Resolve-ScenarioPath 'demo-tenant.json'
    $script:Csv = Join-Path $PSScriptRoot 'Fixtures/smtp-auth-clients.csv'
    $script:Graph = Start-GraphEmulator -Scenario $script:Demo
    $script:RestHost = Start-ExoRestHost -Scenario $script:Demo
    $null = Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri -NoWelcome

    function Connect-InProcess {
        Connect-ExchangeOnline -ScenarioPath $script:Demo -ShowBanner:$false
        Reset-ExoStandIn
    }
    # A small page size, so that every listing of the demo tenant (24 mailboxes) comes in several pages.
    function Connect-ThroughHost([int] $PageSize = 4) {
        Connect-ExchangeOnline -ConnectionUri $script:RestHost.BaseUri -PageSize $PageSize -ShowBanner:$false
        Reset-ExoStandIn
    }
    # Runs $Script in-process, then through the host; returns @{ InProcess; Remote; Host } (Host: the host's calls).
    function Invoke-BothWay([scriptblock] $Script) {
        Connect-InProcess
        $inProcess = & $Script
        Connect-ThroughHost
        $before = (Get-ExoRestHostStats $script:RestHost).Invocations
        $remote = & $Script
        $stats = Get-ExoRestHostStats $script:RestHost
        $ran = @($stats.Calls | Where-Object { $_.Id -gt $before })
        if ($ran.Count -eq 0) { throw 'The remote run made no call to the host.' }
        @{ InProcess = $inProcess; Remote = $remote; Host = $ran }
    }
    # An error record's identity: the parts a caller (and the module under test) reads; the request id and time stamp
    # of the "[Server=...,RequestId=...,TimeStamp=...]" ids are new on each call.
    function Get-ErrorShape($ErrorRecord) {
        [ordered]@{
            ErrorId   = $ErrorRecord.FullyQualifiedErrorId -replace 'RequestId=[0-9a-f-]+,TimeStamp=[^\]]+', 'RequestId=*,TimeStamp=*'
            Category  = $ErrorRecord.CategoryInfo.ToString()
            Exception = $ErrorRecord.Exception.GetType().FullName
            Message   = $ErrorRecord.ToString()
        } | ConvertTo-Json -Compress
    }
}

AfterAll {
    Reset-MgStandIn -Disconnect
    Reset-ExoStandIn -Disconnect
    Stop-ExoRestHost $script:RestHost
    Stop-GraphEmulator $script:Graph
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -Force -ErrorAction SilentlyContinue
    $env:PSModulePath = $script:SavedModulePath
}

Describe 'Exchange Online out of process: the module''s answers' -Tag Tenant, ExoRestHost {
    It 'gives Get-SmtpAuthClient the same senders, exposure, recipients, impact and path through the host' {
        # The Exchange-derived fields and the decisions; sign-in counts and times are left out (the Graph emulator's
        # 30-day window moves between the two runs).
        $fields = 'UserPrincipalName', 'ClientIp', 'RecipientTypeDetails', 'SmtpAuthEnabled', 'SmtpAuthDecidedBy', 'BasicAuthVerdict', 'BasicAuthBlockedBy', 'AuthenticationProtocol', 'MessagesSent', 'InternalRecipientsOnly', 'TracedMessages', 'TurnedToFailure', 'LastErrorCode', 'ImpactAtDefaultOff', 'MigrationPath', 'MigrationReason', 'MigrationCommand', 'UnknownReasons'
        $r = Invoke-BothWay {
            @(Get-SmtpAuthClient -IncludeUnused -SmtpAuthReportPath $script:Csv -WarningAction SilentlyContinue) |
                Sort-Object UserPrincipalName, ClientIp | Select-Object $fields | ConvertTo-Json -EnumsAsStrings
        }
        $r.InProcess | Should -Not -BeNullOrEmpty
        ($r.InProcess | ConvertFrom-Json).Count | Should -BeGreaterThan 20
        @(($r.InProcess | ConvertFrom-Json) | Where-Object { $null -ne $_.TracedMessages }).Count | Should -BeGreaterThan 0 -Because 'message trace is read'
        $r.Remote | Should -BeExactly $r.InProcess
        @($r.Host.Command) | Should -Contain 'Get-MessageTraceV2'
        @($r.Host | Where-Object Pages -GT 1).Count | Should -BeGreaterThan 0 -Because 'listings came in pages of 4'
    }

    It 'gives Get-SmtpAuthPolicyState the same states through the host (-All, piped mailboxes, -ClientId, -From)' {
        $r = Invoke-BothWay {
            $states = @(
                Get-SmtpAuthPolicyState -All -WarningAction SilentlyContinue
                Get-EXOMailbox -ResultSize Unlimited | Get-SmtpAuthPolicyState -WarningAction SilentlyContinue
                Get-SmtpAuthPolicyState notifications@contoso.com -ClientId 'b1000000-0000-4000-8000-000000000001' -WarningAction SilentlyContinue
                Get-SmtpAuthPolicyState notifications@contoso.com -ClientId 'b1000000-0000-4000-8000-000000000003' -WarningAction SilentlyContinue
                Get-SmtpAuthPolicyState healthy.basic@contoso.com, sendas.denied@contoso.com -From info@contoso.com -WarningAction SilentlyContinue
            )
            $states | Select-Object * -ExcludeProperty ReadUtc, LastSmtpSignInUtc, SmtpSignInCount | ConvertTo-Json -EnumsAsStrings
        }
        ($r.InProcess | ConvertFrom-Json).Count | Should -BeGreaterThan 45
        $r.Remote | Should -BeExactly $r.InProcess
        @($r.Host.Command) | Should -Contain 'Get-EXOCasMailbox'
        @($r.Host.Command) | Should -Contain 'Get-RecipientPermission'
    }

    It 'keeps the module''s throttling retry: the 429 written by the host is recognised and the call retried' {
        $r = Invoke-BothWay {
            Set-ExoStandInFault -ThrottleFirst 1 -CommandName Get-TransportConfig
            Get-SmtpAuthPolicyState healthy.basic@contoso.com, scanner.floor2@contoso.com -WarningAction SilentlyContinue |
                Select-Object UserPrincipalName, TenantSmtpAuthDisabled, MailboxSmtpAuthDisabled, SmtpAuthEnabled, BasicAuthVerdict, UnknownReasons | ConvertTo-Json -EnumsAsStrings
            Get-ExoStandInCallCount Get-TransportConfig
        }
        $r.InProcess[1] | Should -Be 2 -Because 'the throttled Get-TransportConfig is retried'
        ($r.InProcess[0] | ConvertFrom-Json)[0].TenantSmtpAuthDisabled | Should -BeTrue
        $r.Remote | Should -Be $r.InProcess
    }
}

Describe 'Exchange Online out of process: errors' -Tag Tenant, ExoRestHost {
    It 'carries a not-found error back non-terminating, with the same ErrorId, category, exception and message' {
        $r = Invoke-BothWay {
            $out = @('nobody@contoso.com', 'healthy.basic@contoso.com' | Get-CASMailbox -ErrorVariable e1 -ErrorAction SilentlyContinue)
            $out += @(Get-EXOMailbox nobody@contoso.com -ErrorVariable e2 -ErrorAction SilentlyContinue)
            $out += @(Get-AuthenticationPolicy 'No such policy' -ErrorVariable e3 -ErrorAction SilentlyContinue)
            @($out.Count) + @(@($e1) + @($e2) + @($e3) | ForEach-Object { Get-ErrorShape $_ })
        }
        $r.InProcess[0] | Should -Be 1 -Because 'the other identity is still answered'
        $r.InProcess.Count | Should -Be 4
        $r.InProcess[1] | Should -BeLike '*"ErrorId":"`[Server=BN8PR03MB4993,RequestId=`*,TimeStamp=`*`],Write-ErrorMessage"*Get-CASMailbox*ManagementObjectNotFoundException*WriteErrorException*Ex6F9304*'
        $r.InProcess[2] | Should -BeLike '*,Microsoft.Exchange.Management.RestApiClient.GetExoMailbox"*ProtocolError*RestClientException*'
        $r.InProcess[3] | Should -BeLike '*ExBDDC58*'
        $r.Remote | Should -Be $r.InProcess
    }

    It 'gives the same ErrorId exactly when it has no request id (Get-EXO*), and -ErrorAction Stop makes it catchable' {
        $r = Invoke-BothWay {
            try { Get-EXOMailbox nobody@contoso.com -ErrorAction Stop; 'not thrown' } catch { $_.FullyQualifiedErrorId; $_.Exception.GetType().Name }
        }
        $r.InProcess[0] | Should -BeLike 'Ex6F9304|*nobody@contoso.com*,Microsoft.Exchange.Management.RestApiClient.GetExoMailbox'
        $r.Remote | Should -Be $r.InProcess
    }

    It 'rethrows terminating errors as terminating: not connected, an identity fault, a bad -Properties' {
        $r = Invoke-BothWay {
            Set-ExoStandInFault -Identity healthy.basic@contoso.com -CommandName Get-User -Message 'Boom (stand-in fault).'
            foreach ($call in { Get-User healthy.basic@contoso.com }, { Get-EXOMailbox -ResultSize 1 -Properties NoSuchProperty }, { Disconnect-ExchangeOnline; Get-TransportConfig }) {
                try { & $call; 'not thrown' } catch { Get-ErrorShape $_ }
            }
        }
        $r.InProcess[0] | Should -BeLike '*"ErrorId":"StandInFault,Get-User"*Boom (stand-in fault).*'
        $r.InProcess[1] | Should -BeLike '*"ErrorId":"InvalidProperties,Get-EXOMailbox"*System.ArgumentException*NoSuchProperty*'
        $r.InProcess[2] | Should -BeLike '*"ErrorId":"NotConnected,Get-TransportConfig"*System.InvalidOperationException*You must call the Connect-ExchangeOnline cmdlet*'
        $r.Remote | Should -Be $r.InProcess
    }

    It 'carries the throttling errors and the ServiceId warning back as they are written' {
        $r = Invoke-BothWay {
            Set-ExoStandInFault -ThrottleFirst 1 -CommandName Get-OrganizationConfig
            $o = @(Get-OrganizationConfig -ErrorVariable e -ErrorAction SilentlyContinue)
            $null = Get-ServicePrincipal -WarningVariable w -WarningAction SilentlyContinue
            @($o.Count) + @($e | ForEach-Object { Get-ErrorShape $_ }) + @($w | ForEach-Object Message)
        }
        $r.InProcess.Count | Should -Be 4
        $r.InProcess[1] | Should -BeLike '*"ErrorId":"MaxRetryReached,Get-OrganizationConfig"*LimitsExceeded*Maximum retry count reached.*'
        $r.InProcess[3] | Should -BeLike 'The ServiceId parameter is being depreciated*'
        $r.Remote | Should -Be $r.InProcess
    }
}

Describe 'Exchange Online out of process: paging and streaming' -Tag Tenant, ExoRestHost {
    BeforeAll { Connect-ThroughHost -PageSize 5 }

    It 'writes the first object before the last page is asked for' {
        $script:AtFirst = $null
        $count = 0
        Get-EXOMailbox -ResultSize Unlimited | ForEach-Object { if ($count++ -eq 0) { $script:AtFirst = Get-ExoRestHostStats $script:RestHost } }
        $count | Should -Be 24
        $call = $script:AtFirst.Calls[-1]
        $call.Command | Should -Be 'Get-EXOMailbox'
        $call.Pages | Should -Be 1 -Because 'the first object is written as soon as the first page arrives'
        $call.State | Should -Be 'Running'
        $script:AtFirst.Suspended | Should -Contain $call.Id -Because 'the host computes the next page only when asked'
        $done = (Get-ExoRestHostStats $script:RestHost).Calls | Where-Object Id -EQ $call.Id
        $done.Pages | Should -Be 5 -Because '24 mailboxes in pages of 5'
        $done.Objects | Should -Be 24
        $done.State | Should -Be 'Done'
    }

    It 'cancels a listing the client stops reading (Select-Object -First), and answers the next call' {
        $first = @(Get-EXOMailbox -ResultSize Unlimited | Select-Object -First 2)
        $first.Count | Should -Be 2
        $stats = Get-ExoRestHostStats $script:RestHost
        $call = $stats.Calls | Where-Object Command -EQ 'Get-EXOMailbox' | Select-Object -Last 1
        $call.State | Should -Be 'Cancelled'
        $call.Pages | Should -Be 1
        $stats.Suspended | Should -BeNullOrEmpty
        @(Get-User -ResultSize Unlimited).Count | Should -Be 24
    }

    It 'runs a call made while a listing is being read inside it, and counts each call once' {
        Reset-ExoStandIn
        $users = @(Get-EXOMailbox -ResultSize 12 -WarningAction SilentlyContinue | ForEach-Object { Get-User $_.UserPrincipalName })
        $users.Count | Should -Be 12
        $users[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.Microsoft.Exchange.Data.Directory.Management.User'
        Get-ExoStandInCallCount Get-EXOMailbox | Should -Be 1
        Get-ExoStandInCallCount Get-User | Should -Be 12
        (Get-ExoRestHostStats $script:RestHost).Suspended | Should -BeNullOrEmpty
    }

    It 'pipes the pipeline input to one call in the host, and keeps the ResultSize warning' {
        Reset-ExoStandIn
        $cas = @('healthy.basic@contoso.com', 'nobody@contoso.com', 'scanner.floor2@contoso.com') | Get-CASMailbox -ErrorVariable e -ErrorAction SilentlyContinue
        $cas.Count | Should -Be 2
        $e.Count | Should -Be 1
        Get-ExoStandInCallCount Get-CASMailbox | Should -Be 1
        $null = Get-EXOMailbox -ResultSize 3 -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -BeLike 'There are more results available than are currently displayed*'
    }
}
