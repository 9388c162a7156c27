#requires -Modules Pester
# The emulated tenant: the ExchangeOnlineManagement and Microsoft.Graph.Authentication stand-ins (this folder) and
# the Graph loopback emulator, driven by the scenario files of tests/SmtpAuthTroubleshooter.ExoEmulator/Scenarios.
# Shapes per shared/reference/SHAPES.md sections A-C.
BeforeAll {
    . "$PSScriptRoot/tenant.ps1"
    $script:SavedModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    $script:Demo = Resolve-ScenarioPath 'demo-tenant.json'
    $script:DirectoryTenant = Resolve-ScenarioPath 'directory-tenant.json'
    $script:Deserialized = 'Deserialized.Microsoft.Exchange.Data.Directory.Management'

    function Connect-Demo([string] $Path = $script:Demo) {
        Reset-ExoStandIn -Disconnect
        Connect-ExchangeOnline -ScenarioPath $Path -ShowBanner:$false
    }

    # Writes a variant of a scenario (JSONC -> JSON; ConvertFrom-Json skips the comments) after $Change edits it.
    function New-ScenarioVariant([string] $From, [scriptblock] $Change, [string] $Name) {
        $s = Get-Content -Raw $From | ConvertFrom-Json -AsHashtable
        & $Change $s
        $path = Join-Path $TestDrive $Name
        $s | ConvertTo-Json -Depth 20 | Set-Content -Path $path -Encoding utf8
        $path
    }
}

AfterAll {
    Reset-ExoStandIn -Disconnect
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -Force -ErrorAction SilentlyContinue
    $env:PSModulePath = $script:SavedModulePath
}

Describe 'ExchangeOnlineManagement stand-in: session' -Tag Tenant {
    It 'is the 3.9.9 stand-in, found on PSModulePath' {
        (Get-Module ExchangeOnlineManagement).Version | Should -Be ([version]'3.9.9')
        (Get-Module -ListAvailable ExchangeOnlineManagement | Select-Object -First 1).ModuleBase | Should -BeLike "*EmulatedTenant*"
        Get-Command Get-ConnectionInformation -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty
    }

    It 'refuses every Exchange cmdlet before Connect-ExchangeOnline, and Get-ConnectionInformation returns nothing' {
        Reset-ExoStandIn -Disconnect
        Get-ConnectionInformation | Should -BeNullOrEmpty
        { Get-EXOMailbox -ResultSize 1 } | Should -Throw '*You must call the Connect-ExchangeOnline cmdlet before calling any other cmdlets.*'
        { Get-TransportConfig } | Should -Throw '*Connect-ExchangeOnline*'
        { Get-CASMailbox -Identity x } | Should -Throw '*Connect-ExchangeOnline*'
    }

    It 'connects and describes the connection like SHAPES A.1' {
        Connect-Demo
        $c = Get-ConnectionInformation
        $c.PSObject.TypeNames[0] | Should -Be 'Microsoft.Exchange.Management.ExoPowershellSnapin.ConnectionInformation'
        $c.PSObject.Properties.Name | Should -Be @('ConnectionId', 'State', 'Id', 'Name', 'UserPrincipalName', 'ConnectionUri', 'AzureAdAuthorizationEndpointUri', 'TokenExpiryTimeUTC', 'CertificateAuthentication', 'ModuleName', 'ModulePrefix', 'Organization', 'DelegatedOrganization', 'AppId', 'PageSize', 'TenantID', 'TokenStatus', 'ConnectionUsedForInbuiltCmdlets', 'IsEopSession')
        $c.State | Should -BeExactly 'Connected'
        $c.TokenStatus | Should -BeExactly 'Active'
        $c.Name | Should -Be 'ExchangeOnline_1'
        $c.ConnectionUri | Should -Be 'https://outlook.office365.com'
        $c.AzureAdAuthorizationEndpointUri | Should -Be 'https://login.microsoftonline.com/organizations'
        $c.TenantID | Should -Be '0c0a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b'
        $c.TokenExpiryTimeUTC | Should -BeOfType [DateTimeOffset]
        $c.PageSize | Should -Be 1000
        $c.IsEopSession | Should -BeFalse
        $c.ConnectionUsedForInbuiltCmdlets | Should -BeTrue
        [guid]::Parse($c.ConnectionId) | Should -Not -BeNullOrEmpty
    }

    It 'picks the national-cloud endpoints from -ExchangeEnvironmentName and names app-only connections' {
        Reset-ExoStandIn -Disconnect
        Connect-ExchangeOnline -ScenarioPath $script:Demo -ShowBanner:$false -ExchangeEnvironmentName O365USGovGCCHigh -AppId 'b1000000-0000-4000-8000-000000000001' -CertificateThumbprint 'ABC' -Organization 'contoso.onmicrosoft.com'
        $c = Get-ConnectionInformation
        $c.ConnectionUri | Should -Be 'https://outlook.office365.us'
        $c.AzureAdAuthorizationEndpointUri | Should -Be 'https://login.microsoftonline.us/organizations'
        $c.CertificateAuthentication | Should -BeTrue
        $c.UserPrincipalName | Should -Be 'OAuthUser@contoso.onmicrosoft.com'
        Disconnect-ExchangeOnline -Confirm:$false
        Get-ConnectionInformation | Should -BeNullOrEmpty
    }

    It 'refuses a scenario with an unknown property, and reads JSONC comments' {
        $bad = Join-Path $TestDrive 'bad.json'
        Set-Content $bad '{ // comment
            "tenant": { "name": "T", "domain": "t.example", "tenantId": "11111111-1111-4111-8111-111111111111", "smtpClientAuthenticationDisabeld": true },
            "accounts": [] }'
        { Connect-ExchangeOnline -ScenarioPath $bad -ShowBanner:$false } | Should -Throw "*unknown property 'smtpClientAuthenticationDisabeld'*"
    }
}

Describe 'ExchangeOnlineManagement stand-in: output shapes' -Tag Tenant {
    BeforeAll { Connect-Demo }

    It 'Get-EXOMailbox returns the Minimum property set as a deserialized Mailbox' {
        $m = Get-EXOMailbox -Identity healthy.basic@contoso.com
        $m.PSObject.TypeNames[0] | Should -Be "$script:Deserialized.Mailbox"
        $m.PSObject.TypeNames[-1] | Should -Be 'Deserialized.System.Object'
        $m.PSObject.Properties.Name | Should -Be @('Alias', 'DisplayName', 'DistinguishedName', 'EmailAddresses', 'ExchangeVersion', 'ExternalDirectoryObjectId', 'Guid', 'Id', 'Name', 'OrganizationId', 'PrimarySmtpAddress', 'RecipientType', 'RecipientTypeDetails', 'UserPrincipalName')
        $m.EmailAddresses | Should -BeOfType [string]
        , $m.EmailAddresses | Should -BeOfType [System.Collections.ArrayList]
        $m.EmailAddresses | Should -Contain 'SMTP:healthy.basic@contoso.com'
        $m.EmailAddresses | Should -Contain 'smtp:hb@contoso.com'
        $m.Guid | Should -BeOfType [guid]
        $m.ExternalDirectoryObjectId | Should -BeExactly 'a0000000-0000-4000-8000-000000000001'
        $m.RecipientTypeDetails | Should -BeExactly 'UserMailbox'
        (Get-EXOMailbox info@contoso.com).RecipientTypeDetails | Should -BeExactly 'SharedMailbox'
        (Get-EXOMailbox healthy.basic@contoso.com -Properties AccountDisabled).AccountDisabled | Should -BeFalse
        (Get-EXOMailbox disabled.account@contoso.com -PropertySets All).AccountDisabled | Should -BeTrue
    }

    It 'Get-EXOCasMailbox leaves SmtpClientAuthenticationDisabled out unless asked, then gives the $null tri-state' {
        $minimum = Get-EXOCasMailbox tenant.inherit@contoso.com
        $minimum.PSObject.TypeNames[0] | Should -Be "$script:Deserialized.CASMailbox"
        $minimum.PSObject.Properties.Name | Should -Not -Contain 'SmtpClientAuthenticationDisabled'
        $minimum.PSObject.Properties.Name | Should -Be @('ActiveSyncEnabled', 'DisplayName', 'ECPEnabled', 'EmailAddresses', 'EwsEnabled', 'ExchangeVersion', 'Guid', 'Identity', 'ImapEnabled', 'MAPIEnabled', 'Name', 'OWAEnabled', 'OrganizationId', 'PopEnabled', 'PrimarySmtpAddress', 'ServerLegacyDN')

        $inherit = Get-EXOCasMailbox tenant.inherit@contoso.com -Properties SmtpClientAuthenticationDisabled
        $inherit.PSObject.Properties.Name | Should -Contain 'SmtpClientAuthenticationDisabled'
        $inherit.SmtpClientAuthenticationDisabled | Should -BeNullOrEmpty
        $null -eq $inherit.SmtpClientAuthenticationDisabled | Should -BeTrue
        (Get-EXOCasMailbox mailbox.disabled@contoso.com -Properties SmtpClientAuthenticationDisabled).SmtpClientAuthenticationDisabled | Should -BeExactly $true
        (Get-EXOCasMailbox smtp.override@contoso.com -PropertySets All).SmtpClientAuthenticationDisabled | Should -BeExactly $false
        (Get-EXOCasMailbox smtp.override@contoso.com -PropertySets Imap).PSObject.Properties.Name | Should -Contain 'ExternalDirectoryObjectId'
        (Get-EXOCasMailbox smtp.override@contoso.com -PropertySets All).PSObject.Properties.Name | Should -Not -Contain 'RunspaceId'
    }

    It 'Get-CASMailbox always carries SmtpClientAuthenticationDisabled and the full REST object' {
        $cas = Get-CASMailbox tenant.inherit@contoso.com
        $cas.PSObject.Properties.Name | Should -Contain 'SmtpClientAuthenticationDisabled'
        foreach ($p in 'RunspaceId', 'Servername', 'OriginatingServer', 'IsValid') { $cas.PSObject.Properties.Name | Should -Contain $p }
        $cas.SmtpClientAuthenticationDisabled | Should -BeNullOrEmpty
        (Get-CASMailbox mailbox.disabled@contoso.com).SmtpClientAuthenticationDisabled | Should -BeTrue
        (Get-CASMailbox healthy.basic@contoso.com).SmtpClientAuthenticationDisabled | Should -BeExactly $false
    }

    It 'Get-TransportConfig, Get-OrganizationConfig and Get-AuthenticationPolicy mirror the tenant' {
        $t = Get-TransportConfig
        $t.PSObject.TypeNames[0] | Should -Be 'Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.TransportConfigContainer'
        $t.SmtpClientAuthenticationDisabled | Should -BeExactly $true
        $t.AllowLegacyTLSClients | Should -BeExactly $false
        (Get-OrganizationConfig).DefaultAuthenticationPolicy | Should -BeNullOrEmpty
        $policies = Get-AuthenticationPolicy
        $policies | Should -HaveCount 2
        ($policies | Where-Object Name -eq 'Block Basic Auth').AllowBasicAuthSmtp | Should -BeExactly $false
        ($policies | Where-Object Name -eq 'Allow Basic SMTP').AllowBasicAuthSmtp | Should -BeExactly $true
        $block = Get-AuthenticationPolicy 'Block Basic Auth'
        $block.DistinguishedName | Should -BeLike 'CN=Block Basic Auth,CN=Auth Policies,CN=Configuration,CN=contoso.onmicrosoft.com,CN=ConfigurationUnits,DC=*'
        (Get-AuthenticationPolicy $block.DistinguishedName).Name | Should -Be 'Block Basic Auth'
        (Get-AuthenticationPolicy $block.Guid).Name | Should -Be 'Block Basic Auth'
        $block.AllowBasicAuthImap | Should -BeExactly $false
        $block.PSObject.Properties.Name | Should -Contain 'AllowBasicAuthRest'
    }

    It 'Get-User shows the assigned policy by name (or DN on request) and $null when unassigned' {
        $u = Get-User policy.blocked@contoso.com
        $u.PSObject.TypeNames[0] | Should -Be "$script:Deserialized.User"
        $u.AuthenticationPolicy | Should -BeExactly 'Block Basic Auth'
        $u.AccountDisabled | Should -BeExactly $false
        $u.MicrosoftOnlineServicesID | Should -Be 'policy.blocked@contoso.com'
        (Get-User healthy.basic@contoso.com).AuthenticationPolicy | Should -BeNullOrEmpty
        (Get-User disabled.account@contoso.com).AccountDisabled | Should -BeTrue
        Set-ExoStandInOption -AuthenticationPolicyRendering DistinguishedName
        try { (Get-User policy.blocked@contoso.com).AuthenticationPolicy | Should -BeLike 'CN=Block Basic Auth,CN=Auth Policies,*' }
        finally { Set-ExoStandInOption -AuthenticationPolicyRendering Name }
    }

    It 'Get-ServicePrincipal lists the Exchange service principals with ObjectId = Identity = Name, and warns about ServiceId' {
        $sps = Get-ServicePrincipal -WarningVariable w -WarningAction SilentlyContinue
        $w[0] | Should -Match 'The ServiceId parameter is being depreciated and will be replaced with ObjectId'
        $sps | Should -HaveCount 3
        $mailer = $sps | Where-Object AppId -eq 'b1000000-0000-4000-8000-000000000001'
        $mailer.ObjectId | Should -Be 'c1000000-0000-4000-8000-000000000001'
        $mailer.Identity | Should -Be $mailer.ObjectId
        $mailer.Name | Should -Be $mailer.ObjectId
        $mailer.Sid | Should -Match '^S-1-5-21-\d+-\d+-\d+-\d+$'
        $mailer.ExchangeObjectId | Should -Be $mailer.Guid
        $sps.AppId | Should -Not -Contain 'b1000000-0000-4000-8000-000000000002'   # New-ServicePrincipal never run
        (Get-ServicePrincipal 'd1000000-0000-4000-8000-000000000003' -WarningAction SilentlyContinue).AppId | Should -Be 'b1000000-0000-4000-8000-000000000003'
        (Get-ServicePrincipal 'b1000000-0000-4000-8000-000000000001' -WarningAction SilentlyContinue).ObjectId | Should -Be 'c1000000-0000-4000-8000-000000000001'
    }

    It 'Get-MailboxPermission and Get-EXOMailboxPermission show SELF and the service principals'' SIDs' {
        $sp = Get-ServicePrincipal 'c1000000-0000-4000-8000-000000000001' -WarningAction SilentlyContinue
        $aces = Get-MailboxPermission notifications@contoso.com
        $aces[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject'
        $aces[0].User | Should -Be 'NT AUTHORITY\SELF'
        $aces[0].AccessRights | Should -Be @('FullAccess', 'ReadPermission')
        , $aces[0].AccessRights | Should -BeOfType [System.Collections.ArrayList]
        $aces.User | Should -Contain $sp.Sid
        $mine = Get-MailboxPermission notifications@contoso.com -User $sp.ObjectId
        $mine.User | Should -Be $sp.Sid
        $mine.AccessRights | Should -Be @('FullAccess')
        $mine.IsInherited | Should -BeExactly $false
        $mine.Deny | Should -BeExactly $false
        Get-MailboxPermission healthy.basic@contoso.com -User $sp.ObjectId | Should -BeNullOrEmpty
        (Get-EXOMailboxPermission -UserPrincipalName notifications@contoso.com -User $sp.Sid).User | Should -Be $sp.Sid
    }

    It 'Get-RecipientPermission and Get-EXORecipientPermission show SendAs trustees' {
        $aces = Get-RecipientPermission info@contoso.com -AccessRights SendAs
        $aces.Trustee | Should -Be @('NT AUTHORITY\SELF', 'healthy.basic@contoso.com')
        $aces[1].AccessControlType | Should -BeExactly 'Allow'
        $aces[1].AccessRights | Should -Be @('SendAs')
        (Get-RecipientPermission -Trustee healthy.basic@contoso.com).Identity | Should -Be 'info'
        Get-EXORecipientPermission -PrimarySmtpAddress sendas.denied@contoso.com -Trustee healthy.basic@contoso.com | Should -BeNullOrEmpty
        { Get-RecipientPermission info@contoso.com -AccessRights FullAccess } | Should -Throw '*SendAs*'
    }
}

Describe 'ExchangeOnlineManagement stand-in: identities, filters and ResultSize' -Tag Tenant {
    BeforeAll { Connect-Demo }

    It 'resolves <Identity>' -ForEach @(
        @{ Identity = 'ca.blocked@contoso.com' }, @{ Identity = 'CA.BLOCKED@contoso.com' }, @{ Identity = 'ca.blocked' },
        @{ Identity = 'a0000000-0000-4000-8000-000000000007' }, @{ Identity = 'smtp:ca.blocked@contoso.com' }, @{ Identity = 'ca.blocked@contoso.onmicrosoft.com' }
    ) {
        (Get-EXOMailbox -Identity $Identity).UserPrincipalName | Should -Be 'ca.blocked@contoso.com'
        (Get-CASMailbox -Identity $Identity).Name | Should -Be 'ca.blocked'
        (Get-User -Identity $Identity).UserPrincipalName | Should -Be 'ca.blocked@contoso.com'
    }

    It 'takes the Get-EXO* identity parameters and pipeline input' {
        (Get-EXOMailbox -ExternalDirectoryObjectId 'a0000000-0000-4000-8000-000000000005').Alias | Should -Be 'policy.blocked'
        (Get-EXOMailbox -UserPrincipalName 'healthy.basic@contoso.com').Alias | Should -Be 'healthy.basic'
        Get-EXOMailbox -UserPrincipalName 'hb@contoso.com' -ErrorAction SilentlyContinue -ErrorVariable ev | Should -BeNullOrEmpty   # an alias is not a UPN
        $ev | Should -HaveCount 1
        (Get-EXOCasMailbox -PrimarySmtpAddress 'locked@contoso.com' -Properties SmtpClientAuthenticationDisabled).SmtpClientAuthenticationDisabled | Should -BeFalse
        $piped = Get-EXOMailbox -Identity ca.blocked@contoso.com | Get-EXOCasMailbox -Properties SmtpClientAuthenticationDisabled
        $piped.Name | Should -Be 'ca.blocked'
        $guid = (Get-EXOMailbox retired@contoso.com).Guid
        (Get-EXOMailbox -Identity $guid).Alias | Should -Be 'retired'
        { Get-EXOMailbox -Identity x -UserPrincipalName y } | Should -Throw
    }

    It 'applies -ResultSize: default 1000, an integer with the truncation warning, Unlimited, and refuses 0' {
        $two = Get-EXOMailbox -ResultSize 2 -WarningVariable w -WarningAction SilentlyContinue
        $two | Should -HaveCount 2
        $w | Should -HaveCount 1
        "$($w[0])" | Should -BeExactly 'There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.'
        $all = Get-EXOMailbox -ResultSize unlimited -WarningVariable w2
        $all | Should -HaveCount 24
        $w2 | Should -BeNullOrEmpty
        Get-User -WarningVariable w3 | Should -HaveCount 24
        $w3 | Should -BeNullOrEmpty
        { Get-EXOMailbox -ResultSize 0 } | Should -Throw '*ResultSize must be greater than 0*'
        { Get-EXOMailbox -ResultSize lots } | Should -Throw '*ResultSize*'
    }

    It 'filters with the OPATH subset' {
        (Get-EXOMailbox -Filter "UserPrincipalName -eq 'ca.blocked@contoso.com' -or UserPrincipalName -eq 'info@contoso.com'").Alias | Should -Be @('ca.blocked', 'info')
        (Get-EXOMailbox -Filter "(UserPrincipalName -eq 'ca.blocked@contoso.com') -or (PrimarySmtpAddress -eq 'info@contoso.com')").Alias | Should -Be @('ca.blocked', 'info')
        (Get-User -Filter 'AuthenticationPolicy -ne $null').Name | Should -Be @('policy.blocked')
        $dn = (Get-AuthenticationPolicy 'Block Basic Auth').DistinguishedName
        (Get-User -Filter "AuthenticationPolicy -eq '$dn'").Name | Should -Be @('policy.blocked')
        Get-User -Filter "AuthenticationPolicy -eq 'Block Basic Auth'" | Should -BeNullOrEmpty   # recipient filters need the DN
        (Get-CASMailbox -Filter 'SmtpClientAuthenticationDisabled -eq $null').Name | Should -Be @('tenant.inherit', 'no.smtp.app')
        (Get-CASMailbox -Filter "SmtpClientAuthenticationDisabled -eq 'True'").Name | Should -Be @('mailbox.disabled')
        (Get-EXOMailbox -Filter "RecipientTypeDetails -eq 'SharedMailbox' -and Alias -like 'no*'").Alias | Should -Be @('notifications', 'no.smtp.app')
        (Get-EXOMailbox -Filter "-not (RecipientTypeDetails -eq 'UserMailbox')").Count | Should -Be 3
        (Get-EXOMailbox -RecipientTypeDetails SharedMailbox).Alias | Should -Be @('info', 'notifications', 'no.smtp.app')
        (Get-EXOMailbox -Anr 'ca.').Alias | Should -Be @('ca.blocked', 'ca.mfa')
    }

    It 'refuses bad filters like Exchange: syntax, unknown property, a wildcard in the middle, ExternalDirectoryObjectId on Get-EXOCasMailbox' {
        { Get-EXOMailbox -Filter "UserPrincipalName -eq" } | Should -Throw "*Cannot bind parameter 'Filter'*"
        { Get-EXOMailbox -Filter "ShoeSize -eq 'x'" } | Should -Throw "*'ShoeSize' is not a recognized filterable property*"
        { Get-EXOMailbox -Filter "Alias -like 'a*b*c'" } | Should -Throw '*Wildcards*'
        { Get-EXOCasMailbox -Filter "ExternalDirectoryObjectId -eq 'a0000000-0000-4000-8000-000000000001'" } | Should -Throw "*can't be used in a filter*"
    }

    It 'refuses an unknown -Properties name' {
        { Get-EXOMailbox ca.blocked@contoso.com -Properties ShoeSize } | Should -Throw '*ShoeSize*'
    }
}

Describe 'ExchangeOnlineManagement stand-in: errors' -Tag Tenant {
    BeforeAll { Connect-Demo }

    It 'writes the REST not-found error as a non-terminating Write-ErrorMessage record' {
        $out = Get-CASMailbox nobody@contoso.com -ErrorAction SilentlyContinue -ErrorVariable ev
        $out | Should -BeNullOrEmpty
        $ev | Should -HaveCount 1
        $e = $ev[0]
        "$e" | Should -Match "^Ex6F9304\|Microsoft\.Exchange\.Configuration\.Tasks\.ManagementObjectNotFoundException\|The operation couldn't be performed because object 'nobody@contoso\.com' couldn't be found on '[A-Za-z0-9.]+'\.$"
        $e.CategoryInfo.Category | Should -Be 'NotSpecified'
        $e.CategoryInfo.Reason | Should -Be 'ManagementObjectNotFoundException'
        $e.CategoryInfo.Activity | Should -Be 'Get-CASMailbox'
        $e.FullyQualifiedErrorId | Should -Match '^\[Server=[A-Z0-9]+,RequestId=[0-9a-f-]{36},TimeStamp=.+ GMT\],Write-ErrorMessage$'
        { Get-User nobody@contoso.com -ErrorAction Stop } | Should -Throw '*ManagementObjectNotFoundException*'
        $both = 'ca.blocked@contoso.com', 'nobody@contoso.com', 'info@contoso.com' | Get-CASMailbox -ErrorAction SilentlyContinue -ErrorVariable ev2
        $both.Name | Should -Be @('ca.blocked', 'info')
        $ev2 | Should -HaveCount 1
    }

    It 'writes the Get-EXO* not-found error as ProtocolError / RestClientException' {
        Get-EXOMailbox nobody@contoso.com -ErrorAction SilentlyContinue -ErrorVariable ev
        $ev[0].CategoryInfo.Category | Should -Be 'ProtocolError'
        $ev[0].CategoryInfo.Reason | Should -Be 'RestClientException'
        $ev[0].CategoryInfo.Activity | Should -Be 'Get-EXOMailbox'
        $ev[0].FullyQualifiedErrorId | Should -BeLike '*,Microsoft.Exchange.Management.RestApiClient.GetExoMailbox'
        "$($ev[0])" | Should -BeLike '*ManagementObjectNotFoundException*'
    }

    It 'uses ExBDDC58 for other object kinds and Ex9E65A2 for an ambiguous identity' {
        Get-AuthenticationPolicy 'No Such Policy' -ErrorAction SilentlyContinue -ErrorVariable ev
        "$($ev[0])" | Should -BeLike 'ExBDDC58|*ManagementObjectNotFoundException*No Such Policy*'
        $twins = New-ScenarioVariant $script:Demo { param($s) $s.accounts = @(
                @{ userPrincipalName = 'sam@contoso.com'; objectId = '10000000-0000-4000-8000-000000000001' },
                @{ userPrincipalName = 'sam@fabrikam.com'; objectId = '10000000-0000-4000-8000-000000000002' }) } 'twins.json'
        Connect-Demo $twins
        try {
            Get-CASMailbox sam@fabrikam.com | Should -Not -BeNullOrEmpty
            (Get-EXOMailbox sam@fabrikam.com).Name | Should -Be 'sam2'   # Exchange keeps Name unique
            Get-CASMailbox sam -ErrorAction SilentlyContinue -ErrorVariable ev2
            "$($ev2[0])" | Should -BeLike "Ex9E65A2|*ManagementObjectAmbiguousException|*'sam' matches multiple entries."
        }
        finally { Connect-Demo }
    }
}

Describe 'ExchangeOnlineManagement stand-in: test hooks' -Tag Tenant {
    BeforeEach { Connect-Demo }

    It 'counts calls per cmdlet and logs their parameters' {
        $null = Get-TransportConfig; $null = Get-TransportConfig
        $null = Get-EXOCasMailbox ca.blocked@contoso.com -Properties SmtpClientAuthenticationDisabled
        Get-ExoStandInCallCount Get-TransportConfig | Should -Be 2
        Get-ExoStandInCallCount Get-EXOCasMailbox | Should -Be 1
        Get-ExoStandInCallCount Get-User | Should -Be 0
        (Get-ExoStandInCallCount)['Connect-ExchangeOnline'] | Should -Be 1
        $log = Get-ExoStandInCallLog -CommandName Get-EXOCasMailbox
        $log.Parameters.Properties | Should -Be @('SmtpClientAuthenticationDisabled')
        $log.Parameters.Identity | Should -Be 'ca.blocked@contoso.com'
    }

    It 'delays calls per cmdlet, and for the whole session with -DelayMilliseconds' {
        # Lower bounds hold on any machine; the one upper bound has a wide margin (a busy shared machine can take a few
        # hundred milliseconds for an undelayed call, never the 1 s delay).
        Set-ExoStandInDelay 1000 -CommandName Get-TransportConfig
        (Measure-Command { $null = Get-TransportConfig }).TotalMilliseconds | Should -BeGreaterOrEqual 990
        (Measure-Command { $null = Get-OrganizationConfig }).TotalMilliseconds | Should -BeLessThan 990
        Reset-ExoStandIn -Disconnect
        Connect-ExchangeOnline -ScenarioPath $script:Demo -ShowBanner:$false -DelayMilliseconds 120
        (Measure-Command { $null = Get-OrganizationConfig }).TotalMilliseconds | Should -BeGreaterOrEqual 110
    }

    It 'throws for a faulted identity (terminating by default, or written with -NonTerminating)' {
        Set-ExoStandInFault -Identity ca.blocked@contoso.com -Message 'boom' -CommandName Get-CASMailbox
        { Get-CASMailbox a0000000-0000-4000-8000-000000000007 } | Should -Throw 'boom'
        (Get-EXOMailbox ca.blocked@contoso.com).Alias | Should -Be 'ca.blocked'   # other cmdlets unaffected
        Get-CASMailbox info@contoso.com | Should -Not -BeNullOrEmpty
        Set-ExoStandInFault -Identity info@contoso.com -NonTerminating
        Get-User info@contoso.com -ErrorAction SilentlyContinue -ErrorVariable ev | Should -BeNullOrEmpty
        "$($ev[0])" | Should -BeLike '*(500) Internal Server Error*'
    }

    It 'throttles the first K calls with MaxRetryReached errors, or with the micro-delay warning' {
        Set-ExoStandInFault -ThrottleFirst 2 -CommandName Get-EXOMailbox
        Get-EXOMailbox -ResultSize 1 -WarningAction SilentlyContinue -ErrorAction SilentlyContinue -ErrorVariable ev1 | Should -BeNullOrEmpty
        $ev1[0].FullyQualifiedErrorId | Should -BeLike 'MaxRetryReached*'
        $ev1[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        "$($ev1[0])" | Should -Be 'Maximum retry count reached.'
        "$($ev1[1])" | Should -BeLike '*(429)*'
        Get-EXOMailbox -ResultSize 1 -WarningAction SilentlyContinue -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-EXOMailbox -ResultSize 1 -WarningAction SilentlyContinue | Should -HaveCount 1
        { Get-EXOMailbox -ResultSize 1 -WarningAction SilentlyContinue -ErrorAction Stop } | Should -Not -Throw

        Set-ExoStandInFault -ThrottleFirst 1 -ThrottleMode MicroDelay -MicroDelayMilliseconds 30 -CommandName Get-User
        $u = Get-User ca.blocked@contoso.com -WarningVariable w -WarningAction SilentlyContinue
        $u | Should -Not -BeNullOrEmpty
        "$($w[0])" | Should -Match '^Micro delay applied\. Actual delayed: 30 msecs'
    }

    It 'expires the session after N calls: State Broken, TokenStatus Expired, cmdlets fail until reconnect' {
        Set-ExoStandInFault -ExpireSessionAfter 2
        $null = Get-TransportConfig
        $null = Get-TransportConfig
        { Get-TransportConfig } | Should -Throw '*expired*'
        $c = Get-ConnectionInformation
        $c.State | Should -BeExactly 'Broken'
        $c.TokenStatus | Should -BeExactly 'Expired'
        $c.TokenExpiryTimeUTC | Should -BeNullOrEmpty
        { Get-EXOMailbox -ResultSize 1 } | Should -Throw '*expired*'
        Connect-ExchangeOnline -ScenarioPath $script:Demo -ShowBanner:$false
        (Get-ConnectionInformation | Select-Object -Last 1).State | Should -Be 'Connected'
        Get-TransportConfig | Should -Not -BeNullOrEmpty
    }

    It 'Reset-ExoStandIn clears counts, faults and delays' {
        Set-ExoStandInFault -Identity info@contoso.com
        Set-ExoStandInDelay 3000 -CommandName Get-CASMailbox
        $null = Get-TransportConfig
        Reset-ExoStandIn
        Get-ExoStandInCallCount Get-TransportConfig | Should -Be 0
        # The 3 s delay is gone (a wide margin: the machines are shared), and so is the fault.
        (Measure-Command { Get-CASMailbox info@contoso.com | Should -Not -BeNullOrEmpty }).TotalMilliseconds | Should -BeLessThan 2500
    }
}

Describe 'ExchangeOnlineManagement stand-in: scale' -Tag Tenant {
    It 'lists 10,000 mailboxes with -ResultSize Unlimited in a few seconds' {
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $path = New-ScaleScenario -Count 10000 -Path (Join-Path $TestDrive 'scale.json')
        $generate = $watch.ElapsedMilliseconds
        $watch.Restart()
        Connect-Demo $path
        $connect = $watch.ElapsedMilliseconds
        $watch.Restart()
        $all = Get-EXOMailbox -ResultSize Unlimited
        $list = $watch.ElapsedMilliseconds
        $watch.Restart()
        $cas = Get-EXOCasMailbox -ResultSize Unlimited -Properties SmtpClientAuthenticationDisabled
        $casList = $watch.ElapsedMilliseconds
        Write-Host "    scale: generate ${generate} ms, connect ${connect} ms, Get-EXOMailbox -ResultSize Unlimited ${list} ms, Get-EXOCasMailbox -Properties SmtpClientAuthenticationDisabled ${casList} ms"
        $all | Should -HaveCount 10000
        $cas | Should -HaveCount 10000
        ($cas | Where-Object { $null -ne $_.SmtpClientAuthenticationDisabled }).Count | Should -BeGreaterThan 500
        $list | Should -BeLessThan 10000
        Get-EXOMailbox -WarningAction SilentlyContinue | Should -HaveCount 1000
        $f = (1..20 | ForEach-Object { "UserPrincipalName -eq 'user{0:D5}@scale.example.com'" -f ($_ * 31) }) -join ' -or '
        Get-EXOMailbox -Filter $f | Should -HaveCount 20
        Connect-Demo
    }
}

Describe 'Microsoft.Graph.Authentication stand-in against the Graph emulator' -Tag Tenant {
    BeforeAll {
        $script:Graph = Start-GraphEmulator -Scenario $script:DirectoryTenant -ExtraArgs @('--page-size', '2')
    }

    AfterAll {
        Reset-MgStandIn -Disconnect
        Stop-GraphEmulator $script:Graph
    }

    It 'has no context and refuses requests before Connect-MgGraph' {
        (Get-Module Microsoft.Graph.Authentication).Version | Should -Be ([version]'2.99.0')
        Get-MgContext | Should -BeNullOrEmpty
        { Invoke-MgGraphRequest -Uri 'v1.0/users' } | Should -Throw 'Authentication needed. Please call Connect-MgGraph.'
    }

    It 'connects and reports the C.1 context' {
        Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri -Scopes 'Policy.Read.All', 'User.Read.All', 'AuditLog.Read.All' -NoWelcome
        $ctx = Get-MgContext
        $ctx.PSObject.TypeNames[0] | Should -Be 'Microsoft.Graph.PowerShell.Authentication.AuthContext'
        $ctx.ClientId | Should -Be '14d82eec-204b-4c2f-b7e8-296a70dab67e'
        $ctx.TenantId | Should -Be '4e0a1d5c-2b3f-4c6d-8e7f-9a0b1c2d3e4f'
        $ctx.Scopes | Should -Contain 'Policy.Read.All'
        $ctx.AuthType | Should -BeExactly 'Delegated'
        $ctx.TokenCredentialType | Should -BeExactly 'InteractiveBrowser'
        $ctx.Account | Should -Be 'admin@northwindtraders.onmicrosoft.com'
        $ctx.AppName | Should -Be 'Microsoft Graph Command Line Tools'
        $ctx.Environment | Should -Be 'Global'
        (Get-MgEnvironment -Name China).GraphEndpoint | Should -Be 'https://microsoftgraph.chinacloudapi.cn'
    }

    It 'returns case-sensitive Hashtables by default, with DateTime for dates, and follows nextLinks verbatim' {
        $u = Invoke-MgGraphRequest -Method GET -Uri 'v1.0/users/printer@northwindtraders.com?$select=id,accountEnabled,onPremisesSyncEnabled,userType'
        $u | Should -BeOfType [hashtable]
        $u['accountEnabled'] | Should -BeExactly $true
        $u['onPremisesSyncEnabled'] | Should -BeExactly $true
        $u.ContainsKey('AccountEnabled') | Should -BeFalse
        $u['@odata.context'] | Should -BeLike '*#users(id,accountEnabled,onPremisesSyncEnabled,userType)/$entity'

        $page = Invoke-MgGraphRequest -Uri '/v1.0/identity/conditionalAccess/policies'
        $page['value'] | Should -HaveCount 2
        , $page['value'] | Should -BeOfType [object[]]
        $page['value'][0]['createdDateTime'] | Should -BeOfType [datetime]
        $page['@odata.nextLink'] | Should -BeLike "$($script:Graph.BaseUri)v1.0/identity/conditionalAccess/policies?*`$skiptoken=*"
        $last = Invoke-MgGraphRequest -Uri $page['@odata.nextLink']
        $last['value'] | Should -HaveCount 1
        $last.ContainsKey('@odata.nextLink') | Should -BeFalse
    }

    It 'returns PSObject, Json and HttpResponseMessage on request' {
        $o = Invoke-MgGraphRequest -Uri 'v1.0/domains/legacy.northwindtraders.com' -OutputType PSObject
        $o.authenticationType | Should -Be 'Federated'
        Invoke-MgGraphRequest -Uri 'beta/users/admin@northwindtraders.com/authentication/requirements' -OutputType Json | Should -Be '{"perUserMfaState":"disabled"}'
        $r = Invoke-MgGraphRequest -Uri 'v1.0/domains/northwindtraders.com' -OutputType HttpResponseMessage
        $r | Should -BeOfType [System.Net.Http.HttpResponseMessage]
        [int]$r.StatusCode | Should -Be 200
    }

    It 'raises an ErrorRecord with the Graph JSON in ErrorDetails, unless -SkipHttpErrorCheck' {
        $err = $null
        try { Invoke-MgGraphRequest -Uri 'v1.0/users/nobody@northwindtraders.com' } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.Exception.Message | Should -Be 'Response status code does not indicate success: NotFound (Not Found).'
        $err.FullyQualifiedErrorId | Should -BeLike 'InvokeGraphHttpResponseException*'
        ($err.ErrorDetails.Message | ConvertFrom-Json).error.code | Should -Be 'Request_ResourceNotFound'
        [int]$err.Exception.Response.StatusCode | Should -Be 404

        $body = Invoke-MgGraphRequest -Uri 'v1.0/users/nobody@northwindtraders.com' -SkipHttpErrorCheck -StatusCodeVariable code -ResponseHeadersVariable headers
        $code | Should -Be 404
        $body['error']['code'] | Should -Be 'Request_ResourceNotFound'
        $headers['Content-Type'] | Should -BeLike 'application/json*'
    }

    It 'reads sign-ins, memberships, the What If evaluation and a $batch' {
        $s = Invoke-MgGraphRequest -Uri "v1.0/auditLogs/signIns?`$filter=userPrincipalName eq 'finance.user@northwindtraders.com' and clientAppUsed eq 'Authenticated SMTP'&`$top=50"
        $s['value'] | Should -HaveCount 1
        $s['value'][0]['status']['errorCode'] | Should -Be 53003
        $s['value'][0]['status']['errorCode'] | Should -BeOfType [long]
        $s['value'][0]['appliedConditionalAccessPolicies'][0]['result'] | Should -Be 'failure'

        $m = Invoke-MgGraphRequest -Uri 'v1.0/users/admin@northwindtraders.com/transitiveMemberOf' -OutputType PSObject
        $m.value.'@odata.type' | Should -Contain '#microsoft.graph.directoryRole'
        $m.value.roleTemplateId | Should -Contain '62e90394-69f5-4237-9190-012177145e10'

        $what = Invoke-MgGraphRequest -Method POST -Uri 'v1.0/identity/conditionalAccess/evaluate' -Body @{
            signInIdentity   = @{ '@odata.type' = '#microsoft.graph.userSignIn'; userId = 'e0000000-0000-4000-8000-000000000004' }
            signInContext    = @{ '@odata.type' = '#microsoft.graph.applicationContext'; includeApplications = @('00000002-0000-0ff1-ce00-000000000000') }
            signInConditions = @{ clientAppType = 'other' }
            appliedPoliciesOnly = $true
        }
        $what['value'] | Should -HaveCount 1
        $what['value'][0]['displayName'] | Should -Be 'Block legacy authentication'
        $what['value'][0]['policyApplies'] | Should -BeTrue

        $batch = Invoke-MgGraphRequest -Method POST -Uri 'v1.0/$batch' -Body @{ requests = @(
                @{ id = '1'; method = 'GET'; url = '/domains/legacy.northwindtraders.com' },
                @{ id = '2'; method = 'GET'; url = "/servicePrincipals?`$filter=appId eq 'b3000000-0000-4000-8000-000000000001'" }) }
        $byId = @{}; foreach ($r in $batch['responses']) { $byId[$r['id']] = $r }
        $byId['1']['status'] | Should -Be 200
        $byId['1']['body']['authenticationType'] | Should -Be 'Federated'
        $byId['2']['body']['value'][0]['id'] | Should -Be 'c3000000-0000-4000-8000-000000000001'
    }

    It 'surfaces throttling (429 with Retry-After, also inside $batch) and the emulator counts requests' {
        $null = Invoke-GraphEmulatorControl -Emulator $script:Graph -Endpoint reset
        $null = Invoke-GraphEmulatorControl -Emulator $script:Graph -Endpoint faults -Body @{ throttleEvery = 2; retryAfter = '0.2' }
        try {
            $null = Invoke-MgGraphRequest -Uri 'v1.0/domains/northwindtraders.com'
            $err = $null
            try { Invoke-MgGraphRequest -Uri 'v1.0/domains/northwindtraders.com' } catch { $err = $_ }
            [int]$err.Exception.Response.StatusCode | Should -Be 429
            $err.Exception.Response.Headers.GetValues('Retry-After') | Should -Be '0.2'   # fractional: .NET's typed RetryAfter cannot parse it
            ($err.ErrorDetails.Message | ConvertFrom-Json).error.code | Should -Be 'TooManyRequests'

            $b = Invoke-MgGraphRequest -Method POST -Uri 'v1.0/$batch' -Body @{ requests = @(@{ id = 'a'; method = 'GET'; url = '/domains/northwindtraders.com' }, @{ id = 'b'; method = 'GET'; url = '/domains/northwindtraders.com' }) }
            $throttled = $b['responses'] | Where-Object { $_['status'] -eq 429 }
            $throttled | Should -HaveCount 1
            $throttled['headers']['Retry-After'] | Should -Be '0.2'

            $stats = Invoke-GraphEmulatorControl -Emulator $script:Graph -Endpoint stats
            $stats.totalRequests | Should -Be 3
            $stats.batchInnerRequests | Should -Be 2
            $stats.throttled | Should -Be 2
            $stats.routes.'GET /v1.0/domains/{id}' | Should -Be 2
        }
        finally { $null = Invoke-GraphEmulatorControl -Emulator $script:Graph -Endpoint reset }
    }

    It 'returns the raw text when the JSON is malformed, and times out on a hung request' {
        $null = Invoke-GraphEmulatorControl -Emulator $script:Graph -Endpoint faults -Body @{ malformedPathContains = '/domains/northwindtraders.com'; hangPathContains = '/domains/legacy' }
        try {
            $raw = Invoke-MgGraphRequest -Uri 'v1.0/domains/northwindtraders.com'
            $raw | Should -BeOfType [string]
            { $raw | ConvertFrom-Json } | Should -Throw
            Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri -NoWelcome -ClientTimeout 1
            { Invoke-MgGraphRequest -Uri 'v1.0/domains/legacy.northwindtraders.com' } | Should -Throw
        }
        finally {
            $null = Invoke-GraphEmulatorControl -Emulator $script:Graph -Endpoint reset
            Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri -NoWelcome
        }
    }

    It 'answers 403 for missing permissions and a non-premium tenant' {
        $restricted = New-ScenarioVariant $script:DirectoryTenant { param($s) $s.tenant.graph = @{ permissionsMissing = @('Policy.Read.All'); premium = $false } } 'restricted.json'
        $g = Start-GraphEmulator -Scenario $restricted
        try {
            Connect-MgGraph -GraphBaseUri $g.BaseUri -NoWelcome
            $e = $null
            try { Invoke-MgGraphRequest -Uri 'v1.0/identity/conditionalAccess/policies' } catch { $e = $_ }
            ($e.ErrorDetails.Message | ConvertFrom-Json).error.code | Should -Be 'Authorization_RequestDenied'
            $s = Invoke-MgGraphRequest -Uri 'v1.0/auditLogs/signIns' -SkipHttpErrorCheck -StatusCodeVariable code
            $code | Should -Be 403
            $s['error']['code'] | Should -Be 'Authentication_RequestFromNonPremiumTenantOrB2CTenant'
            (Invoke-MgGraphRequest -Uri 'v1.0/users/admin@northwindtraders.com')['id'] | Should -Be 'e0000000-0000-4000-8000-000000000001'
        }
        finally {
            Stop-GraphEmulator $g
            Connect-MgGraph -GraphBaseUri $script:Graph.BaseUri -NoWelcome
        }
    }

    It 'fails with a connection error once a kill fault stopped the server, and Disconnect-MgGraph clears the context' {
        $null = Invoke-GraphEmulatorControl -Emulator $script:Graph -Endpoint faults -Body @{ killAt = 1 }
        { Invoke-MgGraphRequest -Uri 'v1.0/domains/northwindtraders.com' } | Should -Throw
        { Invoke-MgGraphRequest -Uri 'v1.0/domains/northwindtraders.com' } | Should -Throw '*refused*'
        (Disconnect-MgGraph).Account | Should -Be 'admin@northwindtraders.onmicrosoft.com'
        Get-MgContext | Should -BeNullOrEmpty
        Disconnect-MgGraph -ErrorAction SilentlyContinue -ErrorVariable again | Should -BeNullOrEmpty
        "$($again[0])" | Should -Be 'No application to sign out from.'
    }
}
