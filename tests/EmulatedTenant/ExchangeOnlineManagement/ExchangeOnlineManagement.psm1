#Requires -Version 7.2
# TEST STAND-IN for ExchangeOnlineManagement 3.x. It reads an emulated-tenant scenario (the JSONC files of
# tests/SmtpAuthTroubleshooter.ExoEmulator, schema in its README.md) and answers with the shapes of
# shared/reference/SHAPES.md section A: [pscustomobject]s whose PSTypeNames are the deserialized Exchange types,
# $null tri-states, enums as strings, multi-valued properties as ArrayLists. What it cannot mimic: ../README.md.
Set-StrictMode -Version 3.0

# ------------------------------------------------------------------------------------------------ constants

$script:Forest = 'NAMPR03A006.PROD.OUTLOOK.COM'
$script:DomainController = 'NAMPR03A006DC01.NAMPR03A006.prod.outlook.com'
$script:ServerName = 'BN8PR03MB4993'
$script:ExchangeVersion = '0.20 (15.0.0.0)'
$script:Created = [datetime]::SpecifyKind([datetime]'2024-01-10T09:00:00', [DateTimeKind]::Utc)
$script:NotFoundCode = 'Ex6F9304'
$script:OtherNotFoundCode = 'ExBDDC58'
$script:AmbiguousCode = 'Ex9E65A2'
$script:ResultSizeWarning = 'There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.'
$script:NotConnectedMessage = 'You must call the Connect-ExchangeOnline cmdlet before calling any other cmdlets.'

$script:Environments = @{
    O365Default      = @('https://outlook.office365.com', 'https://login.microsoftonline.com/organizations')
    O365USGovGCCHigh = @('https://outlook.office365.us', 'https://login.microsoftonline.us/organizations')
    O365USGovDoD     = @('https://webmail.apps.mil', 'https://login.microsoftonline.us/organizations')
    O365China        = @('https://partner.outlook.cn', 'https://login.chinacloudapi.cn/organizations')
    O365GermanyCloud = @('https://outlook.office.de', 'https://login.microsoftonline.de/organizations')
}

function New-TypeNames([string] $Namespace, [string] $Type, [string[]] $Bases) {
    @("Deserialized.$Namespace.$Type") + @($Bases | ForEach-Object { "Deserialized.$_" }) + @('Deserialized.System.Object')
}

$script:TypeNames = @{
    Mailbox             = New-TypeNames 'Microsoft.Exchange.Data.Directory.Management' 'Mailbox' @('Microsoft.Exchange.Data.Directory.Management.MailEnabledOrgPerson', 'Microsoft.Exchange.Data.Directory.Management.MailEnabledRecipient', 'Microsoft.Exchange.Data.Directory.ADPresentationObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    CASMailbox          = New-TypeNames 'Microsoft.Exchange.Data.Directory.Management' 'CASMailbox' @('Microsoft.Exchange.Data.Directory.ADPresentationObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    User                = New-TypeNames 'Microsoft.Exchange.Data.Directory.Management' 'User' @('Microsoft.Exchange.Data.Directory.Management.OrgPersonPresentationObject', 'Microsoft.Exchange.Data.Directory.ADPresentationObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    TransportConfig     = New-TypeNames 'Microsoft.Exchange.Data.Directory.SystemConfiguration' 'TransportConfigContainer' @('Microsoft.Exchange.Data.Directory.ADContainer', 'Microsoft.Exchange.Data.Directory.ADConfigurationObject', 'Microsoft.Exchange.Data.Directory.ADObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    OrganizationConfig  = New-TypeNames 'Microsoft.Exchange.Data.Directory.Management' 'OrganizationConfig' @('Microsoft.Exchange.Data.Directory.ADPresentationObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    AuthPolicy          = New-TypeNames 'Microsoft.Exchange.Data.Directory.SystemConfiguration' 'AuthPolicy' @('Microsoft.Exchange.Data.Directory.ADConfigurationObject', 'Microsoft.Exchange.Data.Directory.ADObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    ServicePrincipal    = New-TypeNames 'Microsoft.Exchange.Data.Directory.Management' 'ServicePrincipal' @('Microsoft.Exchange.Data.Directory.ADPresentationObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    MailboxPermission   = New-TypeNames 'Microsoft.Exchange.Management.RecipientTasks' 'MailboxAcePresentationObject' @('Microsoft.Exchange.Management.RecipientTasks.AcePresentationObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    RecipientPermission = New-TypeNames 'Microsoft.Exchange.Management.RecipientTasks' 'RecipientAcePresentationObject' @('Microsoft.Exchange.Management.RecipientTasks.AcePresentationObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    AcceptedDomain      = New-TypeNames 'Microsoft.Exchange.Data.Directory.SystemConfiguration' 'AcceptedDomain' @('Microsoft.Exchange.Data.Directory.ADConfigurationObject', 'Microsoft.Exchange.Data.Directory.ADObject', 'Microsoft.Exchange.Data.ConfigurableObject')
    # Get-MessageTraceV2: the type name is not documented; the FfoReporting namespace is the one the legacy
    # Get-MessageTrace errors name (Microsoft.Exchange.Management.FfoReporting.GetMessageTrace). [inferred]
    MessageTrace        = New-TypeNames 'Microsoft.Exchange.Management.FfoReporting' 'MessageTraceV2' @()
}

# Property sets of Get-EXOMailbox / Get-EXOCasMailbox (office-docs-powershell cmdlet-property-sets.md, SHAPES A.3/A.4).
$script:MailboxSets = [ordered]@{
    Minimum        = 'Alias', 'DisplayName', 'DistinguishedName', 'EmailAddresses', 'ExchangeVersion', 'ExternalDirectoryObjectId', 'Guid', 'Id', 'Name', 'OrganizationId', 'PrimarySmtpAddress', 'RecipientType', 'RecipientTypeDetails', 'UserPrincipalName'
    AddressList    = 'AddressBookPolicy', 'AddressListMembership', 'ExternalDirectoryObjectId', 'GeneratedOfflineAddressBooks', 'HiddenFromAddressListsEnabled', 'OfflineAddressBook'
    Archive        = 'ArchiveDatabase', 'ArchiveDomain', 'ArchiveGuid', 'ArchiveName', 'ArchiveQuota', 'ArchiveRelease', 'ArchiveState', 'ArchiveStatus', 'ArchiveWarningQuota', 'AutoExpandingArchiveEnabled', 'DisabledArchiveDatabase', 'DisabledArchiveGuid', 'ExternalDirectoryObjectId', 'JournalArchiveAddress'
    Audit          = 'AuditAdmin', 'AuditDelegate', 'AuditEnabled', 'AuditLogAgeLimit', 'AuditOwner', 'DefaultAuditSet', 'ExternalDirectoryObjectId'
    Custom         = @(1..15 | ForEach-Object { "CustomAttribute$_" }) + @(1..5 | ForEach-Object { "ExtensionCustomAttribute$_" }) + 'ExternalDirectoryObjectId'
    Delivery       = 'AcceptMessagesOnlyFrom', 'AcceptMessagesOnlyFromDLMembers', 'AcceptMessagesOnlyFromSendersOrMembers', 'DeliverToMailboxAndForward', 'DowngradeHighPriorityMessagesEnabled', 'ExternalDirectoryObjectId', 'ForwardingAddress', 'ForwardingSmtpAddress', 'GrantSendOnBehalfTo', 'MaxBlockedSenders', 'MaxReceiveSize', 'MaxSafeSenders', 'MaxSendSize', 'MessageCopyForSendOnBehalfEnabled', 'MessageCopyForSentAsEnabled', 'MessageRecallProcessingEnabled', 'MessageTrackingReadStatusEnabled', 'RecipientLimits', 'RejectMessagesFrom', 'RejectMessagesFromDLMembers', 'RejectMessagesFromSendersOrMembers', 'RulesQuota'
    Hold           = 'ComplianceTagHoldApplied', 'DelayHoldApplied', 'ExternalDirectoryObjectId', 'InPlaceHolds', 'InactiveMailboxRetireTime', 'LitigationHoldDate', 'LitigationHoldDuration', 'LitigationHoldEnabled', 'LitigationHoldOwner'
    Moderation     = 'BypassModerationFromSendersOrMembers', 'ExternalDirectoryObjectId', 'ModeratedBy', 'ModerationEnabled', 'SendModerationNotifications'
    Move           = 'ExternalDirectoryObjectId', 'MailboxMoveBatchName', 'MailboxMoveFlags', 'MailboxMoveRemoteHostName', 'MailboxMoveSourceMDB', 'MailboxMoveStatus', 'MailboxMoveTargetMDB'
    Policy         = 'AddressBookPolicy', 'DataEncryptionPolicy', 'EmailAddressPolicyEnabled', 'ExternalDirectoryObjectId', 'ManagedFolderMailboxPolicy', 'PoliciesExcluded', 'PoliciesIncluded', 'RemoteAccountPolicy', 'RetentionPolicy', 'RetentionUrl', 'RoleAssignmentPolicy', 'SharingPolicy', 'ThrottlingPolicy'
    PublicFolder   = 'DefaultPublicFolderMailbox', 'EffectivePublicFolderMailbox', 'ExternalDirectoryObjectId', 'IsExcludedFromServingHierarchy', 'IsHierarchyReady', 'IsHierarchySyncEnabled', 'IsRootPublicFolderMailbox'
    Quota          = 'ArchiveQuota', 'ArchiveWarningQuota', 'CalendarLoggingQuota', 'ExternalDirectoryObjectId', 'IssueWarningQuota', 'ProhibitSendQuota', 'ProhibitSendReceiveQuota', 'RecoverableItemsQuota', 'RecoverableItemsWarningQuota', 'RulesQuota', 'UseDatabaseQuotaDefaults'
    Resource       = 'ExternalDirectoryObjectId', 'IsResource', 'ResourceCapacity', 'ResourceCustom', 'ResourceType', 'RoomMailboxAccountEnabled'
    Retention      = 'EndDateForRetentionHold', 'ExternalDirectoryObjectId', 'OrphanSoftDeleteTrackingTime', 'RetainDeletedItemsFor', 'RetainDeletedItemsUntilBackup', 'RetentionComment', 'RetentionHoldEnabled', 'RetentionPolicy', 'RetentionUrl', 'SingleItemRecoveryEnabled', 'StartDateForRetentionHold', 'UseDatabaseRetentionDefaults'
    SCL            = 'AntispamBypassEnabled', 'ExternalDirectoryObjectId', 'SCLDeleteEnabled', 'SCLDeleteThreshold', 'SCLJunkEnabled', 'SCLJunkThreshold', 'SCLQuarantineEnabled', 'SCLQuarantineThreshold', 'SCLRejectEnabled', 'SCLRejectThreshold'
    SoftDelete     = 'ExternalDirectoryObjectId', 'IncludeInGarbageCollection', 'IsInactiveMailbox', 'IsSoftDeletedByDisable', 'IsSoftDeletedByRemove', 'WhenSoftDeleted'
    StatisticsSeed = 'ArchiveDatabaseGuid', 'DatabaseGuid', 'ExchangeGuid', 'ExternalDirectoryObjectId'
}
# Mailbox properties in no set (returned by -Properties <name> or -PropertySets All).
$script:MailboxExtra = 'Identity', 'AccountDisabled', 'ExchangeObjectId', 'IsDirSynced', 'IsMailboxEnabled', 'IsShared', 'WindowsEmailAddress', 'MicrosoftOnlineServicesID', 'Database', 'ServerName', 'UsageLocation', 'PersistedCapabilities', 'SKUAssigned', 'WhenCreated', 'WhenChanged', 'WhenCreatedUTC', 'WhenChangedUTC', 'IsValid', 'ObjectState'

$script:CasSets = [ordered]@{
    Minimum          = 'ActiveSyncEnabled', 'DisplayName', 'ECPEnabled', 'EmailAddresses', 'EwsEnabled', 'ExchangeVersion', 'Guid', 'Identity', 'ImapEnabled', 'MAPIEnabled', 'Name', 'OWAEnabled', 'OrganizationId', 'PopEnabled', 'PrimarySmtpAddress', 'ServerLegacyDN'
    ActiveSync       = 'ActiveSyncAllowedDeviceIDs', 'ActiveSyncBlockedDeviceIDs', 'ActiveSyncEnabled', 'ActiveSyncMailboxPolicy', 'ActiveSyncMailboxPolicyIsDefaulted', 'ActiveSyncSuppressReadReceipt', 'ExternalDirectoryObjectId', 'Guid', 'HasActiveSyncDevicePartnership', 'Identity', 'Name', 'OrganizationId'
    Ews              = 'EwsAllowMacOutlook', 'EwsAllowOutlook', 'EwsEnabled', 'ExternalDirectoryObjectId', 'Guid', 'Identity', 'Name', 'OrganizationId'
    Imap             = 'ExternalDirectoryObjectId', 'Guid', 'Identity', 'ImapEnableExactRFC822Size', 'ImapEnabled', 'ImapForceICalForCalendarRetrievalOption', 'ImapMessagesRetrievalMimeFormat', 'ImapSuppressReadReceipt', 'ImapUseProtocolDefaults', 'Name', 'OrganizationId'
    Mapi             = 'ExternalDirectoryObjectId', 'Guid', 'Identity', 'MAPIBlockOutlookExternalConnectivity', 'MAPIBlockOutlookNonCachedMode', 'MAPIBlockOutlookRpcHttp', 'MAPIBlockOutlookVersions', 'MAPIEnabled', 'MapiHttpEnabled', 'Name', 'OrganizationId'
    Pop              = 'ExternalDirectoryObjectId', 'Guid', 'Identity', 'Name', 'OrganizationId', 'PopEnableExactRFC822Size', 'PopEnabled', 'PopMessagesRetrievalMimeFormat', 'PopSuppressReadReceipt', 'PopUseProtocolDefaults'
    ProtocolSettings = 'ExternalDirectoryObjectId', 'ExternalImapSettings', 'ExternalPopSettings', 'ExternalSmtpSettings', 'Guid', 'Identity', 'InternalImapSettings', 'InternalPopSettings', 'InternalSmtpSettings', 'Name', 'OrganizationId'
}
# CAS properties in no set: SmtpClientAuthenticationDisabled is one of them (SHAPES A.3).
$script:CasExtra = 'SmtpClientAuthenticationDisabled', 'UniversalOutlookEnabled', 'OutlookMobileEnabled', 'MacOutlookEnabled', 'OneWinNativeOutlookEnabled', 'OWAforDevicesEnabled', 'OwaMailboxPolicy', 'ShowGalAsDefaultView', 'IsOptimizedForAccessibility', 'PublicFolderClientAccess', 'SamAccountName', 'ServerLegacyDN', 'LegacyExchangeDN', 'DistinguishedName', 'Id', 'WhenChanged', 'WhenCreated', 'WhenChangedUTC', 'WhenCreatedUTC', 'ExchangeObjectId', 'ObjectState'
# Get-CASMailbox (the REST cmdlet) returns the whole object, plus what Get-EXOCasMailbox drops (SHAPES A.0).
$script:CasFullExtra = 'RunspaceId', 'Servername', 'OriginatingServer', 'IsValid'

$script:UserProperties = 'Identity', 'Name', 'DisplayName', 'FirstName', 'LastName', 'UserPrincipalName', 'MicrosoftOnlineServicesID', 'WindowsEmailAddress', 'AccountDisabled', 'AuthenticationPolicy', 'StsRefreshTokensValidFrom', 'ExternalDirectoryObjectId', 'RecipientType', 'RecipientTypeDetails', 'IsDirSynced', 'SKUAssigned', 'UserAccountControl', 'IsLinked', 'DistinguishedName', 'Guid', 'Id', 'ExchangeObjectId', 'OrganizationId', 'ExchangeVersion', 'WhenChanged', 'WhenCreated', 'WhenChangedUTC', 'WhenCreatedUTC', 'IsValid', 'ObjectState'

# Multi-valued properties (ArrayList on output) and defaults for the properties a scenario does not model.
$script:MultiValued = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
foreach ($name in 'ObjectClass', 'EmailAddresses', 'AddressListMembership', 'GeneratedOfflineAddressBooks', 'AuditAdmin', 'AuditDelegate', 'AuditOwner', 'DefaultAuditSet', 'AcceptMessagesOnlyFrom', 'AcceptMessagesOnlyFromDLMembers', 'AcceptMessagesOnlyFromSendersOrMembers', 'GrantSendOnBehalfTo', 'RejectMessagesFrom', 'RejectMessagesFromDLMembers', 'RejectMessagesFromSendersOrMembers', 'InPlaceHolds', 'BypassModerationFromSendersOrMembers', 'ModeratedBy', 'PoliciesExcluded', 'PoliciesIncluded', 'ResourceCustom', 'ActiveSyncAllowedDeviceIDs', 'ActiveSyncBlockedDeviceIDs', 'ExternalImapSettings', 'ExternalPopSettings', 'ExternalSmtpSettings', 'InternalImapSettings', 'InternalPopSettings', 'InternalSmtpSettings', 'PersistedCapabilities', 'ExtensionCustomAttribute1', 'ExtensionCustomAttribute2', 'ExtensionCustomAttribute3', 'ExtensionCustomAttribute4', 'ExtensionCustomAttribute5', 'AccessRights', 'TLSReceiveDomainSecureList', 'TLSSendDomainSecureList', 'InternalSMTPServers') {
    $null = $script:MultiValued.Add($name)
}

$script:Defaults = @{
    ActiveSyncEnabled = $true; OWAEnabled = $true; PopEnabled = $true; ImapEnabled = $true; MAPIEnabled = $true; EwsEnabled = $true; ECPEnabled = $true
    UniversalOutlookEnabled = $true; OutlookMobileEnabled = $true; MacOutlookEnabled = $true; OneWinNativeOutlookEnabled = $true; OWAforDevicesEnabled = $true
    ActiveSyncMailboxPolicy = 'Default'; ActiveSyncMailboxPolicyIsDefaulted = $true; ActiveSyncSuppressReadReceipt = $false; HasActiveSyncDevicePartnership = $false
    ImapUseProtocolDefaults = $true; PopUseProtocolDefaults = $true; ImapMessagesRetrievalMimeFormat = 'BestBodyFormat'; PopMessagesRetrievalMimeFormat = 'BestBodyFormat'
    ImapEnableExactRFC822Size = $false; PopEnableExactRFC822Size = $false; ImapForceICalForCalendarRetrievalOption = $false; ImapSuppressReadReceipt = $false; PopSuppressReadReceipt = $false
    MAPIBlockOutlookNonCachedMode = $false; MAPIBlockOutlookRpcHttp = $false; MAPIBlockOutlookExternalConnectivity = $false; ShowGalAsDefaultView = $true; IsOptimizedForAccessibility = $false
    PublicFolderClientAccess = $false; HiddenFromAddressListsEnabled = $false; ArchiveStatus = 'None'; ArchiveState = 'None'; AutoExpandingArchiveEnabled = $false
    ArchiveGuid = [guid]::Empty; DisabledArchiveGuid = [guid]::Empty; ArchiveName = [string[]]@(); ArchiveQuota = '100 GB (107,374,182,400 bytes)'; ArchiveWarningQuota = '90 GB (96,636,764,160 bytes)'
    AuditEnabled = $true; AuditLogAgeLimit = '90.00:00:00'; DeliverToMailboxAndForward = $false; DowngradeHighPriorityMessagesEnabled = $false
    MaxBlockedSenders = $null; MaxSafeSenders = $null; MaxReceiveSize = '36 MB (37,748,736 bytes)'; MaxSendSize = '35 MB (36,700,160 bytes)'
    MessageCopyForSendOnBehalfEnabled = $false; MessageCopyForSentAsEnabled = $true; MessageRecallProcessingEnabled = $true; MessageTrackingReadStatusEnabled = $true
    RecipientLimits = '500'; RulesQuota = '256 KB (262,144 bytes)'; ComplianceTagHoldApplied = $false; DelayHoldApplied = $false; LitigationHoldEnabled = $false
    ModerationEnabled = $false; SendModerationNotifications = 'Always'; EmailAddressPolicyEnabled = $true; RetentionPolicy = 'Default MRM Policy'
    RoleAssignmentPolicy = 'Default Role Assignment Policy'; SharingPolicy = 'Default Sharing Policy'; IsExcludedFromServingHierarchy = $false; IsHierarchyReady = $true
    IsHierarchySyncEnabled = $true; IsRootPublicFolderMailbox = $false; CalendarLoggingQuota = '6 GB (6,442,450,944 bytes)'; IssueWarningQuota = '98 GB (105,226,698,752 bytes)'
    ProhibitSendQuota = '99 GB (106,300,440,576 bytes)'; ProhibitSendReceiveQuota = '100 GB (107,374,182,400 bytes)'; RecoverableItemsQuota = '30 GB (32,212,254,720 bytes)'
    RecoverableItemsWarningQuota = '20 GB (21,474,836,480 bytes)'; UseDatabaseQuotaDefaults = $false; IsResource = $false; RoomMailboxAccountEnabled = $null
    RetainDeletedItemsFor = '14.00:00:00'; RetainDeletedItemsUntilBackup = $false; RetentionHoldEnabled = $false; SingleItemRecoveryEnabled = $true; UseDatabaseRetentionDefaults = $false
    AntispamBypassEnabled = $false; IncludeInGarbageCollection = $false; IsInactiveMailbox = $false; IsSoftDeletedByDisable = $false; IsSoftDeletedByRemove = $false
    IsMailboxEnabled = $true; IsValid = $true; ObjectState = 'Unchanged'; IsLinked = $false; UsageLocation = 'United States'
}

# ------------------------------------------------------------------------------------------------ state

$script:State = @{
    Connections       = [System.Collections.Generic.List[object]]::new()
    NextConnectionId  = 1
    Tenant            = $null
    Counts            = @{}
    Log               = [System.Collections.Generic.List[object]]::new()
    Delays            = @{}
    IdentityFaults    = [System.Collections.Generic.List[object]]::new()
    Throttles         = @{}
    ExpireAfter       = 0
    CallsSinceConnect = 0
    PolicyRendering   = 'Name'
    # Get-MessageTraceV2: rows generated from the scenario's smtpClients at the first call after Connect-ExchangeOnline,
    # the times of recent calls (100 queries per 5 minutes, as documented), and that limit (0 = off).
    MessageTrace      = $null
    TraceCalls        = [System.Collections.Generic.Queue[datetime]]::new()
    TraceLimit        = 100
    Builders          = @{}
    Cache             = @{}
}

# ------------------------------------------------------------------------------------------------ helpers

function New-StandInGuid([string] $Text) {
    $bytes = [System.Security.Cryptography.MD5]::HashData([System.Text.Encoding]::UTF8.GetBytes($Text.ToUpperInvariant()))
    $bytes[7] = ($bytes[7] -band 0x0F) -bor 0x40
    $bytes[8] = ($bytes[8] -band 0x3F) -bor 0x80
    [guid]::new($bytes)
}

function New-StandInSid([string] $Text) {
    $bytes = [System.Security.Cryptography.MD5]::HashData([System.Text.Encoding]::UTF8.GetBytes($Text))
    'S-1-5-21-{0}-{1}-{2}-{3}' -f [BitConverter]::ToUInt32($bytes, 0), [BitConverter]::ToUInt32($bytes, 4), [BitConverter]::ToUInt32($bytes, 8), (([BitConverter]::ToUInt32($bytes, 12) % 90000000) + 10000000)
}

function New-IgnoreCaseDictionary { [System.Collections.Generic.Dictionary[string, object]]::new([StringComparer]::OrdinalIgnoreCase) }

function Add-StandInIndex($Index, [string] $Key, $Record) {
    if ([string]::IsNullOrEmpty($Key)) { return }
    $existing = $null
    if (-not $Index.TryGetValue($Key, [ref] $existing)) { $Index[$Key] = $Record; return }
    if ([object]::ReferenceEquals($existing, $Record)) { return }
    if ($existing -is [System.Collections.Generic.List[object]]) {
        if (-not $existing.Contains($Record)) { $existing.Add($Record) }
    }
    else {
        $list = [System.Collections.Generic.List[object]]::new()
        $list.Add($existing); $list.Add($Record)
        $Index[$Key] = $list
    }
}

function Get-StandInValue($Table, [string] $Key, $Default) {
    if ($null -ne $Table -and $Table.Contains($Key) -and $null -ne $Table[$Key]) { $Table[$Key] } else { $Default }
}

# Strict reading: unknown properties are refused, as TenantScenario.Load does in C#.
$script:Schema = @{
    root        = 'schemaVersion', 'description', 'tenant', 'accounts'
    tenant      = 'name', 'domain', 'tenantId', 'smtpClientAuthenticationDisabled', 'allowLegacyTlsClients', 'securityDefaultsEnabled', 'basicAuthRetired', 'rejectDirectSend', 'defaultAuthenticationPolicy', 'acceptedDomains', 'authenticationPolicies', 'conditionalAccessPolicies', 'applications', 'groups', 'directoryRoles', 'domains', 'graph'
    account     = 'userPrincipalName', 'objectId', 'displayName', 'primarySmtpAddress', 'aliases', 'password', 'appPasswords', 'recipientTypeDetails', 'smtpClientAuthenticationDisabled', 'authenticationPolicy', 'accountEnabled', 'locked', 'passwordExpired', 'perUserMfaState', 'basicAuthRetired', 'sendAs', 'fullAccessApps', 'fullAccessUsers', 'userType', 'onPremisesSyncEnabled', 'signIns', 'smtpClients', 'description'
    smtpClient  = 'ipAddress', 'authentication', 'perDay', 'days', 'quietDays', 'errorCode', 'failures', 'failFrom', 'location', 'userAgent', 'interactive', 'recipients', 'messagesPerSession', 'subject', 'messageSize', 'description'
    acceptedDomain = 'domainName', 'domainType', 'default'
    application = 'appId', 'displayName', 'servicePrincipalObjectId', 'appRegistrationObjectId', 'exoServicePrincipalObjectId', 'roles', 'delegatedScopes'
    authPolicy  = 'name', 'allowBasicAuthSmtp'
}

# What the stand-in keeps of an smtpClients entry: the schedule (Get-StandInSmtpSessions) and the message trace keys.
$script:SmtpClientScheduleKeys = [System.Collections.Generic.HashSet[string]]::new([string[]]@('ipAddress', 'perDay', 'days', 'quietDays', 'errorCode', 'failures', 'failFrom', 'recipients', 'messagesPerSession', 'subject', 'messageSize'), [StringComparer]::Ordinal)

function Assert-StandInKeys($Object, [string] $Kind, [string] $Where) {
    $known = $script:Schema[$Kind]
    foreach ($key in $Object.Keys) {
        if ($known -cnotcontains $key) { throw "Scenario ${Where}: unknown property '$key' (schema: tests/SmtpAuthTroubleshooter.ExoEmulator/README.md)." }
    }
}

# The scenario is read the way TenantScenario.Load reads it in C# (System.Text.Json: comments skipped, trailing commas
# allowed), into a JsonDocument: compact (the UTF-8 text and an index of it), where ConvertFrom-Json of a 10,000-mailbox
# scenario built a DOM of hashtables several times the file's size. Only what the Exchange side reads is converted:
# the tenant's Exchange settings, and the accounts in chunks (one ConvertFrom-Json per chunk, each chunk dropped once its
# records are built). The tenant's Graph-only parts (Conditional Access, groups, roles, graph) are checked for unknown
# property names and skipped; of an account, the records keep no Graph-only field (passwords, sign-ins, MFA state...).
$script:JsonOptions = [System.Text.Json.JsonDocumentOptions]::new()
$script:JsonOptions.CommentHandling = [System.Text.Json.JsonCommentHandling]::Skip
$script:JsonOptions.AllowTrailingCommas = $true
$script:JsonOptions.MaxDepth = 64
$script:TenantGraphOnly = [System.Collections.Generic.HashSet[string]]::new([string[]]@('securityDefaultsEnabled', 'basicAuthRetired', 'conditionalAccessPolicies', 'groups', 'directoryRoles', 'graph'), [StringComparer]::Ordinal)
$script:AccountChunk = 100

function ConvertFrom-StandInJsonElement($Element) {
    ConvertFrom-Json -InputObject $Element.GetRawText() -AsHashtable -Depth 64 -NoEnumerate
}

function Import-StandInScenario([string] $Path) {
    $full = [System.IO.Path]::GetFullPath($Path)
    if (-not [System.IO.File]::Exists($full)) { throw "Scenario file '$full' does not exist." }
    $stamp = [System.IO.File]::GetLastWriteTimeUtc($full).Ticks
    $cached = $script:State.Cache[$full]
    if ($cached -and $cached.Stamp -eq $stamp) { return $cached.Tenant }

    $bytes = [System.IO.File]::ReadAllBytes($full)
    $bom = if ($bytes.Length -ge 3 -and $bytes[0] -eq 0xEF -and $bytes[1] -eq 0xBB -and $bytes[2] -eq 0xBF) { 3 } else { 0 }
    try { $doc = [System.Text.Json.JsonDocument]::Parse([ReadOnlyMemory[byte]]::new($bytes, $bom, $bytes.Length - $bom), $script:JsonOptions) }
    catch {
        $e = $_.Exception; while ($e.InnerException) { $e = $e.InnerException }
        throw "Scenario '$full' is not valid JSON: $($e.Message)"
    }
    try {
        $root = $doc.RootElement
        if ($root.ValueKind -ne [System.Text.Json.JsonValueKind]::Object) { throw "Scenario '$full': the root must be a JSON object." }
        $json = @{ accounts = $null }
        $tenantElement = $null
        foreach ($p in $root.EnumerateObject()) {
            if ($script:Schema['root'] -cnotcontains $p.Name) { throw "Scenario root: unknown property '$($p.Name)' (schema: tests/SmtpAuthTroubleshooter.ExoEmulator/README.md)." }
            switch ($p.Name) {
                'tenant' { $tenantElement = $p.Value }
                'accounts' {
                    # The text of each account, converted in chunks by New-StandInTenant.
                    $texts = [System.Collections.Generic.List[string]]::new()
                    if ($p.Value.ValueKind -eq [System.Text.Json.JsonValueKind]::Array) { foreach ($a in $p.Value.EnumerateArray()) { $texts.Add($a.GetRawText()) } }
                    elseif ($p.Value.ValueKind -ne [System.Text.Json.JsonValueKind]::Null) { throw "Scenario '$full': accounts must be an array." }
                    $json['accounts'] = $texts
                }
                default { $json[$p.Name] = ConvertFrom-StandInJsonElement $p.Value }
            }
        }
        if ($null -eq $tenantElement -or $tenantElement.ValueKind -eq [System.Text.Json.JsonValueKind]::Null) { throw "Scenario '$full': tenant is required." }
        if ($tenantElement.ValueKind -ne [System.Text.Json.JsonValueKind]::Object) { throw "Scenario '$full': tenant must be a JSON object." }
        $t = @{}
        foreach ($p in $tenantElement.EnumerateObject()) {
            if ($script:Schema['tenant'] -cnotcontains $p.Name) { throw "Scenario tenant: unknown property '$($p.Name)' (schema: tests/SmtpAuthTroubleshooter.ExoEmulator/README.md)." }
            if (-not $script:TenantGraphOnly.Contains($p.Name)) { $t[$p.Name] = ConvertFrom-StandInJsonElement $p.Value }
        }
        $json['tenant'] = $t
    }
    finally { $doc.Dispose() }
    $bytes = $null
    foreach ($required in 'name', 'domain', 'tenantId') { if (-not $t[$required]) { throw "Scenario '$full': tenant.$required is required." } }
    $tenant = New-StandInTenant $json
    $script:State.Cache.Clear()
    $script:State.Cache[$full] = @{ Stamp = $stamp; Tenant = $tenant }
    $tenant.Path = $full
    $tenant
}

function New-StandInTenant($Json) {
    $t = $Json['tenant']
    $domain = [string]$t['domain']
    $initial = ($domain.Split('.')[0] + '.onmicrosoft.com').ToLowerInvariant()
    $orgId = "$script:Forest/Microsoft Exchange Hosted Organizations/$initial - $script:Forest/ConfigurationUnits/$initial/Configuration"
    $ouDn = "OU=$initial,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR03A006,DC=PROD,DC=OUTLOOK,DC=COM"
    $configDn = "CN=Configuration,CN=$initial,CN=ConfigurationUnits,DC=NAMPR03A006,DC=PROD,DC=OUTLOOK,DC=COM"

    $tenant = @{
        Path = $null; Name = [string]$t['name']; Domain = $domain; TenantId = [string]$t['tenantId']; InitialDomain = $initial; OrganizationId = $orgId
        SmtpClientAuthenticationDisabled = [bool](Get-StandInValue $t 'smtpClientAuthenticationDisabled' $false)
        AllowLegacyTlsClients = [bool](Get-StandInValue $t 'allowLegacyTlsClients' $false)
        DefaultAuthenticationPolicy = $t['defaultAuthenticationPolicy']
        AuthPolicies = [System.Collections.Generic.List[object]]::new(); PolicyIndex = New-IgnoreCaseDictionary
        ServicePrincipals = [System.Collections.Generic.List[object]]::new(); SpIndex = New-IgnoreCaseDictionary
        Recipients = [System.Collections.Generic.List[object]]::new(); Index = New-IgnoreCaseDictionary
        ByUpn = New-IgnoreCaseDictionary; ByPrimary = New-IgnoreCaseDictionary; ByExternalId = New-IgnoreCaseDictionary; ByAlias = New-IgnoreCaseDictionary; ByName = New-IgnoreCaseDictionary
        SendAs = New-IgnoreCaseDictionary; AppsById = New-IgnoreCaseDictionary
    }

    foreach ($p in @($t['authenticationPolicies'])) {
        if ($null -eq $p) { continue }
        Assert-StandInKeys $p 'authPolicy' "authentication policy '$($p['name'])'"
        $name = [string]$p['name']
        $record = @{
            Name = $name; Identity = $name; AdminDisplayName = ''; DistinguishedName = "CN=$name,CN=Auth Policies,$configDn"
            Guid = New-StandInGuid "authpolicy|$($tenant.TenantId)|$name"; OrganizationId = $orgId; ExchangeVersion = '0.20 (15.0.0.0)'
            AllowBasicAuthActiveSync = $false; AllowBasicAuthAutodiscover = $false; AllowBasicAuthImap = $false; AllowBasicAuthMapi = $false
            AllowBasicAuthOfflineAddressBook = $false; AllowBasicAuthOutlookService = $false; AllowBasicAuthPop = $false; AllowBasicAuthPowershell = $false
            AllowBasicAuthReportingWebServices = $false; AllowBasicAuthRest = $false; AllowBasicAuthRpc = $false
            AllowBasicAuthSmtp = [bool](Get-StandInValue $p 'allowBasicAuthSmtp' $false); AllowBasicAuthWebServices = $false
            WhenChanged = $script:Created.ToLocalTime(); WhenCreated = $script:Created.ToLocalTime(); WhenChangedUTC = $script:Created; WhenCreatedUTC = $script:Created
            IsValid = $true; ObjectState = 'Unchanged'; Id = $name
        }
        $tenant.AuthPolicies.Add($record)
        foreach ($key in $name, $record.DistinguishedName, $record.Guid.ToString()) { Add-StandInIndex $tenant.PolicyIndex $key $record }
    }

    foreach ($a in @($t['applications'])) {
        if ($null -eq $a) { continue }
        Assert-StandInKeys $a 'application' "application '$($a['appId'])'"
        $tenant.AppsById[[string]$a['appId']] = $a
        $objectId = $a['exoServicePrincipalObjectId']
        if (-not $objectId) { continue }
        $guid = New-StandInGuid "exosp|$objectId"
        $record = @{
            DisplayName = [string](Get-StandInValue $a 'displayName' ''); AppId = [string]$a['appId']; ObjectId = [string]$objectId
            Sid = New-StandInSid "sp|$objectId"; Identity = [string]$objectId; Name = [string]$objectId; ExchangeObjectId = $guid; Guid = $guid
            OrganizationId = $orgId; WhenCreatedUTC = $script:Created.AddDays(30); DistinguishedName = "CN=$objectId,$ouDn"; IsValid = $true; ObjectState = 'Unchanged'
        }
        $tenant.ServicePrincipals.Add($record)
        foreach ($key in $record.ObjectId, $record.AppId, $record.DistinguishedName, $record.Guid.ToString()) { Add-StandInIndex $tenant.SpIndex $key $record }
    }

    # One pass over the accounts, everything inlined: a function call per account and property costs seconds
    # at 10,000 accounts.
    $names = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
    $knownAccountKeys = [System.Collections.Generic.HashSet[string]]::new([string[]]$script:Schema['account'], [StringComparer]::Ordinal)
    $knownClientKeys = [System.Collections.Generic.HashSet[string]]::new([string[]]$script:Schema['smtpClient'], [StringComparer]::Ordinal)
    $scheduleKeys = $script:SmtpClientScheduleKeys
    $md5 = [System.Security.Cryptography.MD5]::Create()
    $utf8 = [System.Text.Encoding]::UTF8
    $serverLegacyDn = "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=$script:ServerName"
    $recipientsDn = '/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn='
    $createdLocal = $script:Created.ToLocalTime()
    $databaseGuid = New-StandInGuid "db|$($tenant.TenantId)"
    $serverLower = $script:ServerName.ToLowerInvariant()
    $index = $tenant.Index
    $ordinal = 0
    $texts = $Json['accounts']
    if ($null -eq $texts) { $texts = [System.Collections.Generic.List[string]]::new() }
    for ($first = 0; $first -lt $texts.Count; $first += $script:AccountChunk) {
        # One chunk of accounts as hashtables at a time (ConvertFrom-Json of their text); what a record keeps is copied out.
        $chunk = ConvertFrom-Json -InputObject ('[' + [string]::Join(',', $texts.GetRange($first, [Math]::Min($script:AccountChunk, $texts.Count - $first))) + ']') -AsHashtable -Depth 64 -NoEnumerate
        foreach ($a in $chunk) {
            if ($null -eq $a) { continue }
            foreach ($key in $a.Keys) {
                if (-not $knownAccountKeys.Contains($key)) { throw "Scenario account '$($a['userPrincipalName'])': unknown property '$key' (schema: tests/SmtpAuthTroubleshooter.ExoEmulator/README.md)." }
            }
            $upn = [string]$a['userPrincipalName']
            $objectId = [string]$a['objectId']
            $clients = $a['smtpClients']
            if ($null -ne $clients) {
                # Kept: the keys of the session schedule and of message trace (Get-StandInSmtpSessions, Get-StandInMessageTraceRows).
                $kept = [System.Collections.Generic.List[object]]::new()
                foreach ($c in $clients) {
                    $schedule = @{}
                    foreach ($key in $c.Keys) {
                        if (-not $knownClientKeys.Contains($key)) { throw "Scenario account '$upn': smtpClients: unknown property '$key' (schema: tests/SmtpAuthTroubleshooter.ExoEmulator/README.md)." }
                        if ($scheduleKeys.Contains($key)) { $schedule[$key] = $c[$key] }
                    }
                    if (-not $c['ipAddress']) { throw "Scenario account '$upn': every smtpClients entry needs an ipAddress." }
                    $kept.Add($schedule)
                }
                $clients = $kept.ToArray()
            }
            if (-not $upn -or -not $objectId) { throw 'Scenario: every account needs userPrincipalName and objectId.' }
            $primary = [string]$a['primarySmtpAddress']; if (-not $primary) { $primary = $upn }
            $at = $primary.IndexOf('@')
            $alias = if ($at -gt 0) { $primary.Substring(0, $at) } else { $primary }
            $name = $alias
            if (-not $names.Add($name)) { $n = 2; while (-not $names.Add("$alias$n")) { $n++ }; $name = "$alias$n" }
            $emails = [System.Collections.Generic.List[string]]::new()
            $emails.Add("SMTP:$primary")
            $addresses = [System.Collections.Generic.List[string]]::new()
            $addresses.Add($upn); $addresses.Add($primary)
            $aliases = $a['aliases']
            if ($null -ne $aliases) { foreach ($x in $aliases) { if ($x -and $x -ne $primary) { $emails.Add("smtp:$x"); $addresses.Add($x) } } }
            $onMicrosoft = "$alias@$initial"
            if ($primary -ne $onMicrosoft) { $emails.Add("smtp:$onMicrosoft"); $addresses.Add($onMicrosoft) }
            $rtd = [string]$a['recipientTypeDetails']; if (-not $rtd) { $rtd = 'UserMailbox' }
            $enabled = $a['accountEnabled'] -ne $false
            $policy = $a['authenticationPolicy']
            $policyDn = $null
            if ($policy) { $found = $null; if ($tenant.PolicyIndex.TryGetValue([string]$policy, [ref] $found)) { $policyDn = $found.DistinguishedName } }
            $hash = $md5.ComputeHash($utf8.GetBytes('EXO-MAILBOX|' + $objectId.ToUpperInvariant()))
            $hash[7] = ($hash[7] -band 0x0F) -bor 0x40; $hash[8] = ($hash[8] -band 0x3F) -bor 0x80
            $guid = [guid]::new($hash)
            $guidText = $guid.ToString()
            $guidN = $guid.ToString('N')
            $display = [string]$a['displayName']; if (-not $display) { $display = $alias }
            $space = $display.IndexOf(' ')
            $smtpDisabled = $a['smtpClientAuthenticationDisabled']
            $sendAs = $a['sendAs']; $fullAccess = $a['fullAccessApps']; $fullAccessUsers = $a['fullAccessUsers']
            $dn = "CN=$name,$ouDn"
            $record = @{
                __Ordinal = $ordinal; __Addresses = $addresses.ToArray()
                __SendAs = if ($null -ne $sendAs) { [string[]]$sendAs } else { [string[]]@() }
                __FullAccessApps = if ($null -ne $fullAccess) { [string[]]$fullAccess } else { [string[]]@() }
                __FullAccessUsers = if ($null -ne $fullAccessUsers) { [string[]]$fullAccessUsers } else { [string[]]@() }
                __AuthPolicyDN = $policyDn; __SmtpClients = $clients
                Alias = $alias; Name = $name; Identity = $name; Id = $name; DisplayName = $display
                FirstName = if ($space -gt 0) { $display.Substring(0, $space) } else { $display }; LastName = if ($space -gt 0) { $display.Substring($space + 1) } else { '' }
                DistinguishedName = $dn; EmailAddresses = $emails.ToArray(); ExchangeVersion = '0.20 (15.0.0.0)'
                ExternalDirectoryObjectId = $objectId; Guid = $guid; ExchangeObjectId = $guid; OrganizationId = $orgId
                PrimarySmtpAddress = $primary; WindowsEmailAddress = $primary; RecipientType = 'UserMailbox'; RecipientTypeDetails = $rtd
                UserPrincipalName = $upn; MicrosoftOnlineServicesID = $upn; AccountDisabled = -not $enabled; IsDirSynced = $a['onPremisesSyncEnabled'] -eq $true; IsShared = $rtd -eq 'SharedMailbox'
                SKUAssigned = if ($rtd -eq 'UserMailbox') { $true } else { $null }; UserAccountControl = if ($enabled) { 'NormalAccount' } else { 'AccountDisabled, NormalAccount' }
                AuthenticationPolicy = $policy; StsRefreshTokensValidFrom = $createdLocal
                SmtpClientAuthenticationDisabled = if ($null -eq $smtpDisabled) { $null } else { [bool]$smtpDisabled }
                ServerLegacyDN = $serverLegacyDn; LegacyExchangeDN = $recipientsDn + $guidN + '-' + $alias
                SamAccountName = '$' + $guidN.Substring(0, 12).ToUpperInvariant()
                Database = 'NAMPR03DG123-db045'; ServerName = $serverLower; DatabaseGuid = $databaseGuid; OriginatingServer = $script:DomainController
                WhenCreated = $createdLocal; WhenChanged = $createdLocal; WhenCreatedUTC = $script:Created; WhenChangedUTC = $script:Created
            }
            $tenant.Recipients.Add($record)
            $ordinal++

            # Identity index: UPN, addresses, alias, name, ids, DN. A key two recipients share is ambiguous (a list).
            $addresses.Add($alias); $addresses.Add($name); $addresses.Add($objectId); $addresses.Add($guidText); $addresses.Add($dn)
            foreach ($key in $addresses) {
                $existing = $null
                if (-not $index.TryGetValue($key, [ref] $existing)) { $index[$key] = $record }
                elseif (-not [object]::ReferenceEquals($existing, $record)) {
                    if ($existing -is [System.Collections.Generic.List[object]]) { if (-not $existing.Contains($record)) { $existing.Add($record) } }
                    else { $l = [System.Collections.Generic.List[object]]::new(); $l.Add($existing); $l.Add($record); $index[$key] = $l }
                }
            }
            $tenant.ByUpn[$upn] = $record; $tenant.ByPrimary[$primary] = $record; $tenant.ByExternalId[$objectId] = $record
            $tenant.ByAlias[$alias] = $record; $tenant.ByName[$name] = $record
        }
    }
    $md5.Dispose()

    # SendAs, inverted: target recipient -> trustees (accounts[].sendAs lists the addresses an account may send as).
    foreach ($r in $tenant.Recipients) {
        foreach ($address in $r.__SendAs) {
            $target = $null
            if ($tenant.Index.TryGetValue($address, [ref] $target) -and $target -isnot [System.Collections.Generic.List[object]]) {
                $list = $null
                if (-not $tenant.SendAs.TryGetValue($target.Guid.ToString(), [ref] $list)) { $list = [System.Collections.Generic.List[object]]::new(); $tenant.SendAs[$target.Guid.ToString()] = $list }
                $list.Add($r)
            }
        }
    }

    $policyName = $tenant.DefaultAuthenticationPolicy
    $tenant.TransportConfig = @{
        Identity = 'Transport Settings'; Name = 'Transport Settings'; Id = 'Transport Settings'; DistinguishedName = "CN=Transport Settings,$configDn"
        SmtpClientAuthenticationDisabled = $tenant.SmtpClientAuthenticationDisabled; AllowLegacyTLSClients = $tenant.AllowLegacyTlsClients
        AddressBookPolicyRoutingEnabled = $false; ClearCategories = $true; ConvertDisclaimerWrapperToEml = $false; DSNConversionMode = 'UseExchangeDSNs'
        ExternalDelayDsnEnabled = $true; ExternalDsnDefaultLanguage = $null; ExternalDsnLanguageDetectionEnabled = $true; ExternalDsnReportingAuthority = $null
        ExternalDsnSendHtml = $true; ExternalPostmasterAddress = $null; HeaderPromotionModeSetting = 'NoCreate'; InternalDelayDsnEnabled = $true
        InternalSMTPServers = [string[]]@(); JournalingReportNdrTo = '<>'; MaxDumpsterSizePerDatabase = '18 MB (18,874,368 bytes)'; MaxReceiveSize = '36 MB (37,748,736 bytes)'
        MaxRecipientEnvelopeLimit = '500'; MaxSendSize = '35 MB (36,700,160 bytes)'; ReplyAllStormProtectionEnabled = $true; Rfc2231EncodingEnabled = $false
        SmtpClientAuthenticationDisabledReason = $null; TLSReceiveDomainSecureList = [string[]]@(); TLSSendDomainSecureList = [string[]]@(); VoicemailJournalingEnabled = $true
        Xexch50Enabled = $true; OrganizationId = $orgId; Guid = New-StandInGuid "transport|$($tenant.TenantId)"; ExchangeVersion = '0.1 (8.0.535.0)'
        WhenChanged = $script:Created.ToLocalTime(); WhenCreated = $script:Created.ToLocalTime(); WhenChangedUTC = $script:Created; WhenCreatedUTC = $script:Created; IsValid = $true; ObjectState = 'Unchanged'
    }
    $tenant.AcceptedDomains = New-StandInAcceptedDomains $t $initial $orgId $configDn
    $tenant.OrganizationConfig = @{
        Name = $initial; DisplayName = $tenant.Name; Identity = $initial; Id = $initial; Guid = New-StandInGuid "org|$($tenant.TenantId)"
        DefaultAuthenticationPolicy = $policyName; OAuth2ClientProfileEnabled = $true; IsDehydrated = $false; AuditDisabled = $false
        RejectDirectSend = [bool](Get-StandInValue $t 'rejectDirectSend' $false)
        ExchangeVersion = $script:ExchangeVersion; OrganizationId = $orgId; DistinguishedName = "CN=$initial,CN=ConfigurationUnits,DC=NAMPR03A006,DC=PROD,DC=OUTLOOK,DC=COM"
        SmtpActionableMessagesEnabled = $true; EwsEnabled = $null; MailTipsAllTipsEnabled = $true; ActivityBasedAuthenticationTimeoutEnabled = $true
        WhenChanged = $script:Created.ToLocalTime(); WhenCreated = $script:Created.ToLocalTime(); WhenChangedUTC = $script:Created; WhenCreatedUTC = $script:Created; IsValid = $true; ObjectState = 'Unchanged'
    }
    $tenant
}

# ------------------------------------------------------------------------------------------------ output objects

# One compiled builder per (type, property list): a [pscustomobject]@{...} literal is far faster than filling an
# ordered dictionary property by property, which matters for -ResultSize Unlimited over 10,000 mailboxes.
function Get-StandInBuilder([string] $Kind, [string[]] $Properties, $Sample) {
    $key = $Kind + '|' + ($Properties -join ',')
    $builder = $script:State.Builders[$key]
    if ($builder) { return $builder }
    $typeNames = $script:TypeNames[$Kind]
    $assignments = foreach ($p in $Properties) {
        $source = if ($null -ne $Sample -and $Sample.ContainsKey($p)) { "`$r['$p']" } else { "`$def['$p']" }
        if (-not $script:MultiValued.Contains($p)) { "'$p' = $source" }
        elseif ($source.StartsWith('$r')) { "'$p' = [System.Collections.ArrayList]::new($source)" }   # records hold string[] for these
        else { "'$p' = [System.Collections.ArrayList]::new()" }
    }
    $rest = ($typeNames | Select-Object -Skip 1 | ForEach-Object { "`$n.Add('$_')" }) -join '; '
    $code = @"
param(`$recs, `$def)
`$out = [System.Collections.Generic.List[object]]::new()
foreach (`$r in `$recs) {
    `$x = [pscustomobject]@{ PSTypeName = '$($typeNames[0])'; $($assignments -join '; ') }
    `$n = `$x.PSObject.TypeNames; `$n.RemoveAt(1); `$n.RemoveAt(1); $rest
    `$out.Add(`$x)
}
, `$out
"@
    $builder = [scriptblock]::Create($code)
    $script:State.Builders[$key] = $builder
    $builder
}

# Returns ONE List of objects (not a stream): the cmdlet writes it with Write-StandInResult, which enumerates in C#.
function ConvertTo-StandInObject([string] $Kind, [string[]] $Properties, $Records) {
    if ($null -eq $Records -or $Records.Count -eq 0) { return }
    $list = & (Get-StandInBuilder $Kind $Properties $Records[0]) $Records $script:Defaults
    , $list
}

function Write-StandInResult($Cmdlet, $Result) {
    if ($null -ne $Result) { $Cmdlet.WriteObject($Result, $true) }
}

# Builds and writes the objects a page at a time (1,000, the REST cmdlets' page size), as the real module streams a
# listing: -ResultSize Unlimited over 10,000 mailboxes never has 10,000 output objects alive at once. -Fixup (optional)
# runs on each page before it is written.
$script:OutputPageSize = 1000

function Write-StandInObject($Cmdlet, [string] $Kind, [string[]] $Properties, $Records, [scriptblock] $Fixup) {
    if ($null -eq $Records -or $Records.Count -eq 0) { return }
    $builder = Get-StandInBuilder $Kind $Properties $Records[0]
    $size = $script:OutputPageSize
    if ($Records.Count -gt $size -and $Records -isnot [System.Collections.Generic.List[object]]) { $Records = [System.Collections.Generic.List[object]]::new([object[]]@($Records)) }
    for ($i = 0; $i -lt $Records.Count; $i += $size) {
        $page = if ($Records.Count -le $size) { $Records } else { $Records.GetRange($i, [Math]::Min($size, $Records.Count - $i)) }
        $list = & $builder $page $script:Defaults
        if ($Fixup) { & $Fixup $list }
        $Cmdlet.WriteObject($list, $true)
    }
}

# ------------------------------------------------------------------------------------------------ errors

function Write-ErrorMessage {
    # Named like the V3 module's own writer, so FullyQualifiedErrorId ends in ",Write-ErrorMessage" as in SHAPES A.10.
    # -ErrorId: remote mode replays the host's error with the host's id (Write-ExoRemoteError).
    param([string] $Message, [string] $Activity, [string] $Reason, [string] $ErrorId)
    if (-not $ErrorId) {
        $stamp = [DateTime]::UtcNow.ToString('ddd, dd MMM yyyy HH:mm:ss', [cultureinfo]::InvariantCulture) + ' GMT'
        $ErrorId = "[Server=$script:ServerName,RequestId=$([guid]::NewGuid()),TimeStamp=$stamp]"
    }
    Write-Error -Message $Message -Category NotSpecified -CategoryActivity $Activity -CategoryReason $Reason -ErrorId $ErrorId
}

# The REST API client cmdlets (Get-EXO*) report errors as ProtocolError/RestClientException with a
# FullyQualifiedErrorId of "<message>,Microsoft.Exchange.Management.RestApiClient.<Cmdlet>" (SHAPES A.10).
function Microsoft.Exchange.Management.RestApiClient.GetExoMailbox([string] $Message) { Write-Error -Message $Message -Category ProtocolError -CategoryActivity 'Get-EXOMailbox' -CategoryReason 'RestClientException' -ErrorId $Message }
function Microsoft.Exchange.Management.RestApiClient.GetExoCasMailbox([string] $Message) { Write-Error -Message $Message -Category ProtocolError -CategoryActivity 'Get-EXOCasMailbox' -CategoryReason 'RestClientException' -ErrorId $Message }
function Microsoft.Exchange.Management.RestApiClient.GetExoMailboxPermission([string] $Message) { Write-Error -Message $Message -Category ProtocolError -CategoryActivity 'Get-EXOMailboxPermission' -CategoryReason 'RestClientException' -ErrorId $Message }
function Microsoft.Exchange.Management.RestApiClient.GetExoRecipientPermission([string] $Message) { Write-Error -Message $Message -Category ProtocolError -CategoryActivity 'Get-EXORecipientPermission' -CategoryReason 'RestClientException' -ErrorId $Message }

function Write-StandInNotFound([string] $CmdletName, [string] $Identity, [string] $Code = $script:NotFoundCode) {
    $message = "$Code|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object '$Identity' couldn't be found on '$script:DomainController'."
    Write-StandInError $CmdletName $message 'ManagementObjectNotFoundException'
}

function Write-StandInAmbiguous([string] $CmdletName, [string] $Identity) {
    $message = "$script:AmbiguousCode|Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException|The operation couldn't be performed because '$Identity' matches multiple entries."
    Write-StandInError $CmdletName $message 'ManagementObjectAmbiguousException'
}

function Write-StandInError([string] $CmdletName, [string] $Message, [string] $Reason) {
    if ($CmdletName -like 'Get-EXO*') {
        & "Microsoft.Exchange.Management.RestApiClient.$($CmdletName.Replace('-', '').Replace('EXO', 'Exo'))" $Message
    }
    else {
        Write-ErrorMessage -Message $Message -Activity $CmdletName -Reason $Reason
    }
}

function Stop-StandInCall($Cmdlet, [string] $Message, [string] $ErrorId, [System.Management.Automation.ErrorCategory] $Category = 'InvalidOperation', [type] $ExceptionType = [System.InvalidOperationException]) {
    $exception = $ExceptionType::new($Message)
    $Cmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new($exception, $ErrorId, $Category, $null))
}

# ------------------------------------------------------------------------------------------------ the call gate

function Get-StandInActiveConnection {
    $c = $script:State.Connections
    if ($c.Count -eq 0) { return $null }
    $c[$c.Count - 1]
}

# Counts the call, checks the session, applies delays and faults. $true: go on; $false: the call was answered with errors.
function Enter-StandInCall($Cmdlet, [string] $Name, $Bound) {
    $script:State.Counts[$Name] = 1 + [int]$script:State.Counts[$Name]
    if ($script:State.Log.Count -lt 10000) {
        $copy = @{}
        foreach ($k in $Bound.Keys) { $copy[$k] = $Bound[$k] }
        $script:State.Log.Add([pscustomobject]@{ PSTypeName = 'ExoStandIn.Call'; Time = [DateTime]::UtcNow; Command = $Name; Parameters = $copy })
    }

    $connection = Get-StandInActiveConnection
    if ($null -eq $connection) {
        Stop-StandInCall $Cmdlet $script:NotConnectedMessage 'NotConnected'
    }
    if ($connection.State -ne 'Connected') {
        Stop-StandInCall $Cmdlet "UnAuthorized: the access token of Exchange Online connection '$($connection.ConnectionId)' has expired and could not be renewed. Run Connect-ExchangeOnline again." 'TokenExpired' 'AuthenticationError' ([System.UnauthorizedAccessException])
    }
    $script:State.CallsSinceConnect++
    if ($script:State.ExpireAfter -gt 0 -and $script:State.CallsSinceConnect -gt $script:State.ExpireAfter) {
        $connection.State = 'Broken'; $connection.TokenStatus = 'Expired'; $connection.TokenExpiryTimeUTC = $null
        Stop-StandInCall $Cmdlet "UnAuthorized: the access token of Exchange Online connection '$($connection.ConnectionId)' has expired and could not be renewed. Run Connect-ExchangeOnline again." 'TokenExpired' 'AuthenticationError' ([System.UnauthorizedAccessException])
    }

    $delay = [int]$script:State.Delays['*'] + [int]$script:State.Delays[$Name]
    if ($delay -gt 0) { Start-Sleep -Milliseconds $delay }

    foreach ($key in $Name, '*') {
        $throttle = $script:State.Throttles[$key]
        if ($null -eq $throttle -or $throttle.Remaining -le 0) { continue }
        $throttle.Remaining--
        if ($throttle.Mode -eq 'MicroDelay') {
            Write-Warning ("Micro delay applied. Actual delayed: {0} msecs, Enforced: True, Capacity: HighUsage, Balance: -1608289, MaxBurst: 1080000, RechargeRate: 1800000, IsServerInMaintenanceMode: False, ConcurrencyLimit: 3" -f $throttle.DelayMilliseconds)
            if ($throttle.DelayMilliseconds -gt 0) { Start-Sleep -Milliseconds $throttle.DelayMilliseconds }
            continue
        }
        $Cmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([System.Exception]::new('Maximum retry count reached.'), 'MaxRetryReached', 'LimitsExceeded', $null))
        Write-StandInError $Name 'The remote server returned an error: (429) Too Many Requests. Server is busy, please try again later.' 'ServerBusyException'
        return $false
    }
    $true
}

function Test-StandInIdentityFault($Cmdlet, [string] $Name, [string] $Identity, $Record) {
    foreach ($fault in $script:State.IdentityFaults) {
        if ($fault.CommandName -ne '*' -and $fault.CommandName -ne $Name) { continue }
        $hit = $fault.Identity -eq $Identity
        if (-not $hit -and $null -ne $Record) {
            $target = $null
            $tenant = $script:State.Tenant
            if ($tenant.Index.TryGetValue($fault.Identity, [ref] $target)) { $hit = [object]::ReferenceEquals($target, $Record) }
        }
        if (-not $hit) { continue }
        if ($fault.Terminating) { Stop-StandInCall $Cmdlet $fault.Message 'StandInFault' 'NotSpecified' }
        Write-StandInError $Name $fault.Message 'StandInFault'
        return $true
    }
    $false
}

# ------------------------------------------------------------------------------------------------ lookups

function ConvertTo-StandInResultSize($Cmdlet, $Value) {
    if ($null -eq $Value) { return 1000 }
    if ($Value -is [string] -and $Value -ieq 'Unlimited') { return [int]::MaxValue }
    $n = 0L
    if (-not [long]::TryParse([string]$Value, [ref] $n)) {
        Stop-StandInCall $Cmdlet "Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value `"$Value`" to type `"Microsoft.Exchange.Data.Unlimited``1[System.UInt32]`". Error: `"'$Value' is not a valid value for Unlimited. Use 'Unlimited' or a positive integer.`"" 'ParameterArgumentTransformationError,Microsoft.Exchange.Management.RestApiClient' 'InvalidData' ([System.ArgumentException])
    }
    if ($n -le 0) { Stop-StandInCall $Cmdlet 'ResultSize must be greater than 0' 'InvalidResultSize' 'InvalidArgument' ([System.ArgumentException]) }
    [int][Math]::Min($n, [int]::MaxValue)
}

function Get-StandInIdentityText($Identity) {
    if ($null -eq $Identity) { return $null }
    if ($Identity -is [guid]) { return $Identity.ToString() }
    if ($Identity -is [string]) { return $Identity }
    if ($Identity -is [psobject] -or $Identity -is [System.Collections.IDictionary]) {
        foreach ($p in 'ExternalDirectoryObjectId', 'UserPrincipalName', 'PrimarySmtpAddress', 'Identity', 'Guid', 'Name') {
            $v = if ($Identity -is [System.Collections.IDictionary]) { $Identity[$p] } else {
                $member = $Identity.PSObject.Properties[$p]
                if ($member) { $member.Value } else { $null }
            }
            if ($v) { return [string]$v }
        }
    }
    [string]$Identity
}

# Resolves one identity to a recipient record; writes the not-found / ambiguous error and returns $null otherwise.
function Resolve-StandInRecipient($Cmdlet, [string] $Name, [string] $Identity, [string] $IndexName = 'Index') {
    $tenant = $script:State.Tenant
    $found = $null
    $key = $Identity
    if ($key -match '^(?i:smtp):(.+)$') { $key = $Matches[1] }
    if (-not $tenant[$IndexName].TryGetValue($key, [ref] $found)) {
        if (Test-StandInIdentityFault $Cmdlet $Name $Identity $null) { return $null }
        Write-StandInNotFound $Name $Identity
        return $null
    }
    if ($found -is [System.Collections.Generic.List[object]]) { Write-StandInAmbiguous $Name $Identity; return $null }
    if (Test-StandInIdentityFault $Cmdlet $Name $Identity $found) { return $null }
    $found
}

function Select-StandInRecipients($Cmdlet, [string] $Name, [hashtable] $Options) {
    $tenant = $script:State.Tenant
    [System.Collections.Generic.IEnumerable[object]] $records = $tenant.Recipients
    if ($Options.Anr) {
        $anr = $Options.Anr
        $matched = [System.Collections.Generic.List[object]]::new()
        foreach ($r in $records) {
            foreach ($value in $r.Alias, $r.DisplayName, $r.Name, $r.PrimarySmtpAddress, $r.UserPrincipalName, $r.FirstName, $r.LastName) {
                if ($value -and $value.StartsWith($anr, [StringComparison]::OrdinalIgnoreCase)) { $matched.Add($r); break }
            }
        }
        $records = $matched
    }
    if ($Options.Filter) {
        $compiled = ConvertFrom-StandInOPath $Cmdlet $Name $Options.Filter $Options.FilterProperties $Options.FilterDenied
        if ($null -ne $compiled.Lookups -and -not $Options.Anr) {
            $hits = [System.Collections.Generic.List[object]]::new()
            $seen = [System.Collections.Generic.HashSet[object]]::new()
            foreach ($lookup in $compiled.Lookups) {
                $index = $tenant[$lookup.Index]
                $found = $null
                if ($index.TryGetValue($lookup.Value, [ref] $found)) {
                    foreach ($f in @($found)) { if ($seen.Add($f)) { $hits.Add($f) } }
                }
            }
            $records = @($hits | Sort-Object { $_.__Ordinal })
        }
        else {
            $records = @(& $compiled.Code $records $compiled.Values $script:Defaults)
        }
    }
    if ($Options.RecipientTypeDetails) {
        $types = $Options.RecipientTypeDetails
        $records = @($records | Where-Object { $types -contains $_.RecipientTypeDetails })
    }
    if ($Options.SortBy) { $records = @($records | Sort-Object { $_[$Options.SortBy] }) }

    $list = [System.Collections.Generic.List[object]]::new($records)
    $limit = $Options.ResultSize
    if ($list.Count -gt $limit) {
        $list = $list.GetRange(0, $limit)
        Write-Warning $script:ResultSizeWarning
    }
    , $list
}

# ------------------------------------------------------------------------------------------------ OPATH -Filter

$script:OPathToken = [regex]::new('\G\s*(?:(?<lp>\()|(?<rp>\))|(?<op>-(?:eq|ne|lt|gt|le|ge|like|notlike|ceq|cne|clike|cnotlike|and|or|not)(?![\w-]))|''(?<sq>(?:[^'']|'''')*)''|"(?<dq>(?:[^"]|"")*)"|(?<var>\$(?:null|true|false)(?!\w))|(?<num>-?\d+(?![\w@.:-]))|(?<word>[^\s()''"]+))\s*', 'IgnoreCase')

function ConvertFrom-StandInOPath($Cmdlet, [string] $Name, [string] $Filter, [string[]] $Allowed, [string[]] $Denied) {
    $tokens = [System.Collections.Generic.List[object]]::new()
    $pos = 0
    while ($pos -lt $Filter.Length) {
        $m = $script:OPathToken.Match($Filter, $pos)
        if (-not $m.Success -or $m.Length -eq 0) {
            if ($Filter.Substring($pos).Trim().Length -eq 0) { break }
            Stop-StandInFilter $Cmdlet $Filter $pos
        }
        foreach ($g in 'lp', 'rp', 'op', 'sq', 'dq', 'var', 'num', 'word') {
            if ($m.Groups[$g].Success) { $tokens.Add(@{ T = $g; V = $m.Groups[$g].Value; P = $pos }); break }
        }
        $pos += $m.Length
    }
    $state = @{ Tokens = $tokens; I = 0; Values = [System.Collections.Generic.List[object]]::new(); Filter = $Filter; Cmdlet = $Cmdlet; Name = $Name; Allowed = $Allowed; Denied = $Denied }
    $ast = Read-StandInOPathOr $state
    if ($state.I -lt $tokens.Count) { Stop-StandInFilter $Cmdlet $Filter $tokens[$state.I].P }
    $expression = ConvertTo-StandInOPathCode $ast $state
    @{
        Code    = [scriptblock]::Create("param(`$recs, `$v, `$def) foreach (`$r in `$recs) { if ($expression) { `$r } }")
        Values  = $state.Values.ToArray()
        Lookups = Get-StandInOPathLookups $ast
    }
}

function Stop-StandInFilter($Cmdlet, [string] $Filter, [int] $Position) {
    Stop-StandInCall $Cmdlet "Cannot bind parameter 'Filter' to the target. Exception setting `"Filter`": `"Invalid filter syntax. For a description of the filter parameter syntax see the command help.`n`"$Filter`" at position $($Position + 1).`"" 'ParameterBindingFailed' 'InvalidArgument' ([System.Management.Automation.ParameterBindingException])
}

function Read-StandInOPathOr($S) {
    $left = Read-StandInOPathAnd $S
    while ($S.I -lt $S.Tokens.Count -and $S.Tokens[$S.I].T -eq 'op' -and $S.Tokens[$S.I].V -ieq '-or') { $S.I++; $left = @{ K = 'or'; L = $left; R = (Read-StandInOPathAnd $S) } }
    $left
}

function Read-StandInOPathAnd($S) {
    $left = Read-StandInOPathUnary $S
    while ($S.I -lt $S.Tokens.Count -and $S.Tokens[$S.I].T -eq 'op' -and $S.Tokens[$S.I].V -ieq '-and') { $S.I++; $left = @{ K = 'and'; L = $left; R = (Read-StandInOPathUnary $S) } }
    $left
}

function Read-StandInOPathUnary($S) {
    if ($S.I -ge $S.Tokens.Count) { Stop-StandInFilter $S.Cmdlet $S.Filter $S.Filter.Length }
    $t = $S.Tokens[$S.I]
    if ($t.T -eq 'op' -and $t.V -ieq '-not') { $S.I++; return @{ K = 'not'; E = (Read-StandInOPathUnary $S) } }
    if ($t.T -eq 'lp') {
        $S.I++
        $inner = Read-StandInOPathOr $S
        if ($S.I -ge $S.Tokens.Count -or $S.Tokens[$S.I].T -ne 'rp') { Stop-StandInFilter $S.Cmdlet $S.Filter $S.Filter.Length }
        $S.I++
        return $inner
    }
    if ($t.T -ne 'word' -or $S.I + 2 -gt $S.Tokens.Count) { Stop-StandInFilter $S.Cmdlet $S.Filter $t.P }
    $property = $t.V
    $op = $S.Tokens[$S.I + 1]
    if ($op.T -ne 'op' -or $op.V -imatch '^-(and|or|not)$' -or $S.I + 2 -ge $S.Tokens.Count) { Stop-StandInFilter $S.Cmdlet $S.Filter $op.P }
    $v = $S.Tokens[$S.I + 2]
    $value = switch ($v.T) {
        'sq' { $v.V.Replace("''", "'") }
        'dq' { $v.V.Replace('""', '"') }
        'var' { switch ($v.V.ToLowerInvariant()) { '$null' { $null } '$true' { $true } '$false' { $false } } }
        'num' { [long]$v.V }
        'word' { $v.V }
        default { Stop-StandInFilter $S.Cmdlet $S.Filter $v.P }
    }
    $S.I += 3
    if ($S.Denied -contains $property) {
        Stop-StandInCall $S.Cmdlet "Cannot bind parameter 'Filter' to the target. Exception setting `"Filter`": `"The property '$property' can't be used in a filter of $($S.Name).`"" 'ParameterBindingFailed' 'InvalidArgument' ([System.Management.Automation.ParameterBindingException])
    }
    $canonical = $S.Allowed | Where-Object { $_ -ieq $property } | Select-Object -First 1
    if (-not $canonical) {
        Stop-StandInCall $S.Cmdlet "Cannot bind parameter 'Filter' to the target. Exception setting `"Filter`": `"'$property' is not a recognized filterable property. For a list of filterable properties see the command help.`n`"$($S.Filter)`" at position $($t.P + 1).`"" 'ParameterBindingFailed' 'InvalidArgument' ([System.Management.Automation.ParameterBindingException])
    }
    if ($op.V -imatch 'like' -and $S.Name -like 'Get-EXO*' -and $value -is [string] -and $value.Trim('*').Contains('*')) {
        Stop-StandInCall $S.Cmdlet "Cannot bind parameter 'Filter' to the target. Exception setting `"Filter`": `"Wildcards are only supported at the beginning and/or end of a value in Get-EXO* filters ('$value').`"" 'ParameterBindingFailed' 'InvalidArgument' ([System.Management.Automation.ParameterBindingException])
    }
    @{ K = 'cmp'; P = $canonical; Op = $op.V.ToLowerInvariant(); V = $value }
}

$script:BoolLike = '^(Is[A-Z]|.*(Enabled|Disabled)$|AccountDisabled$|SKUAssigned$|UseDatabase)'

function ConvertTo-StandInOPathCode($Node, $S) {
    switch ($Node.K) {
        'or' { return "(($(ConvertTo-StandInOPathCode $Node.L $S)) -or ($(ConvertTo-StandInOPathCode $Node.R $S)))" }
        'and' { return "(($(ConvertTo-StandInOPathCode $Node.L $S)) -and ($(ConvertTo-StandInOPathCode $Node.R $S)))" }
        'not' { return "(-not ($(ConvertTo-StandInOPathCode $Node.E $S)))" }
    }
    # Recipient filters on AuthenticationPolicy take the policy's DistinguishedName (SHAPES A.5).
    $column = if ($Node.P -ieq 'AuthenticationPolicy') { '__AuthPolicyDN' } else { $Node.P }
    $sample = if ($script:State.Tenant.Recipients.Count -gt 0) { $script:State.Tenant.Recipients[0] } else { @{} }
    $source = if ($sample.ContainsKey($column)) { "`$r['$column']" } else { "`$def['$column']" }
    $value = $Node.V
    if ($value -is [string] -and $value -imatch '^(true|false)$' -and $Node.P -cmatch $script:BoolLike) { $value = [bool]::Parse($value) }
    if ($null -eq $value) {
        if ($Node.Op -in '-eq', '-ceq') { return "(`$null -eq $source)" }
        if ($Node.Op -in '-ne', '-cne') { return "(`$null -ne $source)" }
    }
    $S.Values.Add($value)
    $index = $S.Values.Count - 1
    "([bool]($source $($Node.Op) `$v[$index]))"
}

# A pure "-or" chain of "<indexed property> -eq '<text>'" is answered from the indexes instead of a scan.
$script:IndexedFilterProperties = @{ UserPrincipalName = 'ByUpn'; MicrosoftOnlineServicesID = 'ByUpn'; PrimarySmtpAddress = 'ByPrimary'; WindowsEmailAddress = 'ByPrimary'; ExternalDirectoryObjectId = 'ByExternalId'; Alias = 'ByAlias'; Name = 'ByName' }

function Get-StandInOPathLookups($Node) {
    if ($Node.K -eq 'or') {
        $l = Get-StandInOPathLookups $Node.L; $r = Get-StandInOPathLookups $Node.R
        if ($null -eq $l -or $null -eq $r) { return $null }
        return @($l) + @($r)
    }
    if ($Node.K -eq 'cmp' -and $Node.Op -eq '-eq' -and $Node.V -is [string] -and -not $Node.V.Contains('*') -and $script:IndexedFilterProperties.ContainsKey($Node.P)) {
        return , @{ Index = $script:IndexedFilterProperties[$Node.P]; Value = $Node.V }
    }
    $null
}

# ------------------------------------------------------------------------------------------------ property lists

function Get-StandInAllProperties([string] $Kind) {
    $seen = [System.Collections.Generic.List[string]]::new()
    $sets = if ($Kind -eq 'Mailbox') { $script:MailboxSets } else { $script:CasSets }
    $extra = if ($Kind -eq 'Mailbox') { $script:MailboxExtra } else { $script:CasExtra }
    foreach ($list in @($sets.Values) + , $extra) { foreach ($p in $list) { if (-not $seen.Contains($p)) { $seen.Add($p) } } }
    $seen.ToArray()
}

$script:AllMailboxProperties = Get-StandInAllProperties 'Mailbox'
$script:AllCasProperties = Get-StandInAllProperties 'CASMailbox'
$script:CasMailboxFull = @($script:AllCasProperties) + $script:CasFullExtra
$script:RecipientFilterProperties = @($script:AllMailboxProperties) + @($script:AllCasProperties) + @($script:UserProperties) | Select-Object -Unique

# Minimum, plus the sets and properties asked for, in a stable order (the order of the "All" list).
function Get-StandInPropertyList($Cmdlet, [string] $Kind, [string[]] $Properties, [string[]] $PropertySets) {
    $sets = if ($Kind -eq 'Mailbox') { $script:MailboxSets } else { $script:CasSets }
    $all = if ($Kind -eq 'Mailbox') { $script:AllMailboxProperties } else { $script:AllCasProperties }
    $wanted = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
    foreach ($p in $sets['Minimum']) { $null = $wanted.Add($p) }
    foreach ($set in @($PropertySets)) {
        if (-not $set) { continue }
        if ($set -ieq 'All') { foreach ($p in $all) { $null = $wanted.Add($p) }; continue }
        foreach ($p in $sets[$set]) { $null = $wanted.Add($p) }
    }
    $bad = @(@($Properties) | Where-Object { $_ -and $all -notcontains $_ })
    if ($bad.Count -gt 0) {
        Stop-StandInCall $Cmdlet "The following properties are not valid for this cmdlet: $($bad -join ', ')." 'InvalidProperties' 'InvalidArgument' ([System.ArgumentException])
    }
    foreach ($p in @($Properties)) { if ($p) { $null = $wanted.Add($p) } }
    @($all | Where-Object { $wanted.Contains($_) })
}

# -Identity (any identity form) or one of -ExternalDirectoryObjectId / -PrimarySmtpAddress / -UserPrincipalName (that
# property only). Returns $null (list), or @{ Text; Index } where Index names the dictionary to look the text up in.
function Resolve-StandInIdentityParameters($Cmdlet, [string] $Name, $Bound) {
    $given = @('Identity', 'ExternalDirectoryObjectId', 'PrimarySmtpAddress', 'UserPrincipalName') | Where-Object { $Bound.ContainsKey($_) -and $null -ne $Bound[$_] -and "$($Bound[$_])" -ne '' }
    if (@($given).Count -gt 1) {
        Stop-StandInCall $Cmdlet "Parameter set cannot be resolved using the specified named parameters. One or more parameters issued cannot be used together or an insufficient number of parameters were provided." 'AmbiguousParameterSet' 'InvalidArgument' ([System.Management.Automation.ParameterBindingException])
    }
    if (@($given).Count -eq 0) { return $null }
    $parameter = @($given)[0]
    $index = switch ($parameter) { 'ExternalDirectoryObjectId' { 'ByExternalId' } 'PrimarySmtpAddress' { 'ByPrimary' } 'UserPrincipalName' { 'ByUpn' } default { 'Index' } }
    @{ Text = Get-StandInIdentityText $Bound[$parameter]; Index = $index }
}

# ------------------------------------------------------------------------------------------------ remote mode

# Remote mode: Connect-ExchangeOnline -ConnectionUri http://127.0.0.1:<port>/ (a loopback http URI: the stand-in host,
# ../ExoRestHost.ps1, Start-ExoRestHost in ../tenant.ps1) makes every exported command of this module, the test hooks
# included, run in the host process instead: the same function over the host's loaded scenario, its output sent back a
# page at a time (the connection's -PageSize, default 1000) and written here as each page arrives, as the V3 module's
# REST cmdlets fetch pages from Exchange Online. This process then holds no scenario, as a real session holds none.
# Parameter binding and validation happen here first (the same param blocks); the common parameters (-ErrorAction,
# -WarningAction, -ErrorVariable...) are not sent: they apply here, to the records as they come back (the host runs
# every command with the preferences Continue). Delays and faults are the host's: a call's delay is applied once, by
# Enter-StandInCall in the host, before its first page; asking for the next page costs no delay (as in-process, where
# a listing is one call and one delay).
# Pipeline input is collected here and piped to the host's command in one call (as in-process: one begin, one count).
# A Connect-ExchangeOnline without such a URI goes back to in-process. $null: in-process (the default).
$script:Remote = $null
# Set by ExoRestHost.ps1 in the host process: there, -ConnectionUri is only recorded, never followed.
$script:RemoteHostMode = $false
$script:RemoteDepth = 10
$script:RemoteLocalParameters = [System.Collections.Generic.HashSet[string]]::new([string[]]@(@([System.Management.Automation.PSCmdlet]::CommonParameters) + 'Confirm' + 'UseTransaction'), [StringComparer]::OrdinalIgnoreCase)

function Test-ExoRemoteUri([string] $Uri) {
    if ($script:RemoteHostMode -or -not $Uri) { return $false }
    $u = $null
    [uri]::TryCreate($Uri, [UriKind]::Absolute, [ref] $u) -and $u.Scheme -eq 'http' -and $u.IsLoopback
}

function Enable-ExoRemote([string] $Uri) {
    $base = [uri]($Uri.TrimEnd('/') + '/')
    if ($null -ne $script:Remote -and $script:Remote.BaseUri -eq $base) { return }
    if ($null -ne $script:Remote) { $script:Remote.Http.Dispose() }
    $handler = [System.Net.Http.SocketsHttpHandler]::new()
    $handler.UseProxy = $false
    $http = [System.Net.Http.HttpClient]::new($handler)
    $http.Timeout = [System.Threading.Timeout]::InfiniteTimeSpan   # a call waits for its delay (up to 600 s) on the host
    # Open: the ids of this process's calls whose pages are still being read. The host runs a call that arrives while
    # one of them is suspended inside it (a nested call); any other suspended call it drops (this process left it).
    $script:Remote = @{ BaseUri = $base; Http = $http; Open = [System.Collections.Generic.List[long]]::new() }
}

function Disable-ExoRemote {
    if ($null -eq $script:Remote) { return }
    $script:Remote.Http.Dispose()
    $script:Remote = $null
}

# One request to the host: POST <path> with a CliXml body. /invoke and /next answer a page (ExoRestHost.ps1):
#   EXOPAGE <call> <more: 0|1> <count>\n, then <count> frames "<kind> <length>\n<CliXml of length chars>", kind o (up
#   to 20 consecutive output objects, an array) or r (one error, warning... record).
# Returns @{ Call; More; Kinds; Texts }: the page read whole (the connection is closed before anything is written, so a
# call made while its objects go down the pipeline never waits on it), each frame kept as its own small string and
# deserialized only when it is written (no page-sized string or object list). Each request has its own connection.
function Send-ExoRemoteRequest([string] $Path, $Body) {
    $remote = $script:Remote
    $message = [System.Net.Http.HttpRequestMessage]::new([System.Net.Http.HttpMethod]::Post, [uri]::new($remote.BaseUri, $Path))
    $message.Headers.ConnectionClose = $true
    $message.Content = [System.Net.Http.StringContent]::new([System.Management.Automation.PSSerializer]::Serialize($Body, $script:RemoteDepth), [System.Text.Encoding]::UTF8, 'application/clixml')
    try {
        $response = $remote.Http.SendAsync($message, [System.Net.Http.HttpCompletionOption]::ResponseHeadersRead).GetAwaiter().GetResult()
        try {
            if (-not $response.IsSuccessStatusCode) {
                throw "The Exchange Online stand-in host at $($remote.BaseUri) answered $([int]$response.StatusCode): $($response.Content.ReadAsStringAsync().GetAwaiter().GetResult())"
            }
            $reader = [System.IO.StreamReader]::new($response.Content.ReadAsStream(), [System.Text.Encoding]::UTF8)
            try { Read-ExoRemotePage $reader }
            finally { $reader.Dispose() }
        }
        finally { $response.Dispose() }
    }
    finally { $message.Dispose() }
}

$script:RemoteBuffer = [char[]]::new(16384)

function Read-ExoRemotePage([System.IO.StreamReader] $Reader) {
    $head = $Reader.ReadLine()
    if ($null -eq $head -or $head -notmatch '^EXOPAGE (\d+) ([01]) (\d+)$') { throw "The Exchange Online stand-in host sent no page: '$head'" }
    $count = [int]$Matches[3]
    $page = @{ Call = [long]$Matches[1]; More = $Matches[2] -eq '1'; Kinds = [char[]]::new($count); Texts = [string[]]::new($count) }
    for ($i = 0; $i -lt $count; $i++) {
        $frame = $Reader.ReadLine()
        if ($null -eq $frame -or $frame.Length -lt 3) { throw 'The Exchange Online stand-in host sent a truncated page.' }
        $length = [int]$frame.Substring(2)
        if ($script:RemoteBuffer.Length -lt $length) { $script:RemoteBuffer = [char[]]::new(2 * $length) }
        if ($Reader.ReadBlock($script:RemoteBuffer, 0, $length) -ne $length) { throw 'The Exchange Online stand-in host sent a truncated page.' }
        $page.Kinds[$i] = $frame[0]
        $page.Texts[$i] = [string]::new($script:RemoteBuffer, 0, $length)
    }
    $page
}

# A call to forward: the command, its parameters as bound (in begin: before any pipeline input), its pipeline input.
function New-ExoRemoteCall($Cmdlet, [string] $Name, $Bound) {
    $parameters = @{}
    foreach ($key in $Bound.Keys) {
        if ($script:RemoteLocalParameters.Contains($key)) { continue }   # applied here, to the replayed records
        $value = $Bound[$key]
        if ($value -is [System.Management.Automation.SwitchParameter]) { $value = $value.IsPresent }
        elseif ($value -is [pscredential]) { $value = @{ __ExoRemote = 'PSCredential'; UserName = $value.UserName } }   # the host makes one with a dummy password
        elseif ($value -is [securestring]) { continue }
        elseif ($value -is [System.Security.Cryptography.X509Certificates.X509Certificate2]) {
            if (-not $Bound.ContainsKey('CertificateThumbprint')) { $parameters['CertificateThumbprint'] = $value.Thumbprint }
            continue
        }
        $parameters[$key] = $value
    }
    if ($Name -eq 'Connect-ExchangeOnline' -and $parameters.ContainsKey('ScenarioPath')) {
        $parameters['ScenarioPath'] = $Cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath($parameters['ScenarioPath'])
    }
    @{ Name = $Name; Parameters = $parameters; ExpectingInput = $Cmdlet.MyInvocation.ExpectingInput; Input = [System.Collections.Generic.List[object]]::new() }
}

# Runs the call in the host and writes its records through $Cmdlet, page by page as they arrive: a page's objects are
# written (and go down the pipeline) before the next page is asked for. Stopped early (Select-Object -First, a
# terminating error, Ctrl+C), it tells the host to drop the call.
function Invoke-ExoRemoteCall($Cmdlet, $Call) {
    $remote = $script:Remote
    $request = @{ Command = $Call.Name; Parameters = $Call.Parameters; HasInput = $Call.ExpectingInput; Input = $Call.Input; Open = $remote.Open.ToArray() }
    try { $page = Send-ExoRemoteRequest 'invoke' $request }
    catch {
        $e = $_.Exception; while ($e -is [System.Management.Automation.MethodInvocationException] -and $e.InnerException) { $e = $e.InnerException }
        $Cmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new($e, 'ExoStandInHostUnavailable', [System.Management.Automation.ErrorCategory]::ConnectionError, $remote.BaseUri))
    }
    $id = [long]$page.Call
    $remote.Open.Add($id)
    $finished = $false
    $live = $script:RemoteLiveObjects.Contains($Call.Name)
    try {
        while ($true) {
            $finished = -not $page.More
            $texts = $page.Texts
            for ($i = 0; $i -lt $texts.Count; $i++) {
                $value = [System.Management.Automation.PSSerializer]::Deserialize($texts[$i])
                $texts[$i] = $null
                if ($page.Kinds[$i] -ne 'o') { Write-ExoRemoteRecord $Cmdlet $value; continue }
                if (-not $live) { $Cmdlet.WriteObject($value, $true); continue }   # enumerated in C#, as Write-StandInObject does
                foreach ($item in $value) { $Cmdlet.WriteObject((ConvertFrom-ExoRemoteObject $item)) }
            }
            if ($finished) { return }
            $page = Send-ExoRemoteRequest 'next' @{ Call = $id }
        }
    }
    finally {
        $null = $remote.Open.Remove($id)
        if (-not $finished) {
            # .NET calls only: this may run while the pipeline stops, when commands can no longer be invoked.
            try {
                $cancel = [System.Net.Http.HttpRequestMessage]::new([System.Net.Http.HttpMethod]::Post, [uri]::new($remote.BaseUri, 'cancel'))
                $cancel.Headers.ConnectionClose = $true
                $cancel.Content = [System.Net.Http.StringContent]::new([System.Management.Automation.PSSerializer]::Serialize(@{ Call = $id }), [System.Text.Encoding]::UTF8, 'application/clixml')
                $remote.Http.SendAsync($cancel).GetAwaiter().GetResult().Dispose()
                $cancel.Dispose()
            }
            catch { }
        }
    }
}

# Objects that are not Exchange data stay live objects, as they are in-process: Get-ConnectionInformation (the V3 module
# answers it itself, without a REST call) and the test hooks' objects. The others stay as they arrive, deserialized
# (their type names already are the Deserialized.* ones; multi-valued properties arrive as deserialized ArrayLists).
$script:RemoteLiveObjects = [System.Collections.Generic.HashSet[string]]::new([string[]]@('Get-ConnectionInformation', 'Get-ExoStandInState', 'Get-ExoStandInCallLog', 'Get-ExoStandInCallCount'), [StringComparer]::OrdinalIgnoreCase)

function ConvertFrom-ExoRemoteObject($Value, [int] $Depth = 0) {
    if ($Value -isnot [psobject] -or $Depth -gt 4) { return , $Value }
    $names = $Value.PSObject.TypeNames
    if ($names.Count -gt 0 -and $names[0] -eq 'Deserialized.System.DateTimeOffset') {
        return [DateTimeOffset]::new([long]$Value.UtcTicks, [TimeSpan]::Zero).ToOffset([TimeSpan]$Value.Offset)
    }
    $base = $Value.PSObject.BaseObject
    if ($base -is [System.Collections.IDictionary]) {
        # A rehydrated dictionary keeps its Deserialized.* type names (PowerShell remembers them per object): a new one.
        $copy = if ($base -is [System.Collections.Specialized.OrderedDictionary]) { [ordered]@{} } else { @{} }
        foreach ($key in $base.Keys) { $copy[$key] = ConvertFrom-ExoRemoteObject $base[$key] ($Depth + 1) }
        return , $copy
    }
    if ($base -isnot [System.Management.Automation.PSCustomObject]) { return , $base }
    $properties = [ordered]@{}
    foreach ($p in $Value.PSObject.Properties) {
        $v = $p.Value
        if ($v -is [psobject] -and $v.PSObject.BaseObject -is [System.Collections.IList]) { $v = @(foreach ($x in $v) { ConvertFrom-ExoRemoteObject $x ($Depth + 1) }) }
        else { $v = ConvertFrom-ExoRemoteObject $v ($Depth + 1) }
        $properties[$p.Name] = $v
    }
    $live = [pscustomobject]$properties
    $own = @($names | Where-Object { $_ -notin 'Deserialized.System.Management.Automation.PSCustomObject', 'Deserialized.System.Object' } | ForEach-Object { $_ -replace '^Deserialized\.', '' })
    for ($i = $own.Count - 1; $i -ge 0; $i--) { $live.PSObject.TypeNames.Insert(0, $own[$i]) }
    $live
}

function Write-ExoRemoteRecord($Cmdlet, $Record) {
    switch ($Record.K) {
        'e' { Write-ExoRemoteError $Cmdlet $Record }
        'w' { $Cmdlet.WriteWarning($Record.M) }
        'v' { $Cmdlet.WriteVerbose($Record.M) }
        'd' { $Cmdlet.WriteDebug($Record.M) }
        'i' {
            if ($Record.Host) { Write-Host $Record.M }
            else { $Cmdlet.WriteInformation($Record.M, [string[]]@($Record.Tags)) }
        }
    }
}

# An error of the host, written again here by a function of the same name as the one that wrote it there, so that
# FullyQualifiedErrorId ends the same way: "<id>,Write-ErrorMessage", "<message>,Microsoft.Exchange.Management.
# RestApiClient.GetExoMailbox", or "<id>,<cmdlet>" for the errors the cmdlet wrote or threw itself (a terminating one is
# thrown again). Message, exception type, category, activity and reason are the host's.
function Write-ExoRemoteError($Cmdlet, $Record) {
    if (-not $Record.Terminating -and $Record.ExceptionType -eq 'Microsoft.PowerShell.Commands.WriteErrorException') {
        if ($Record.Writer -eq 'Write-ErrorMessage') {
            Write-ErrorMessage -Message $Record.Message -Activity $Record.Activity -Reason $Record.Reason -ErrorId $Record.Id
            return
        }
        if ($Record.Writer -like 'Microsoft.Exchange.Management.RestApiClient.*' -and $Record.Id -ceq $Record.Message -and (Test-Path -LiteralPath "function:$($Record.Writer)")) {
            & $Record.Writer $Record.Message
            return
        }
    }
    $type = $Record.ExceptionType -as [type]
    $exception = $null
    if ($null -ne $type -and [Exception].IsAssignableFrom($type)) { try { $exception = $type::new([string]$Record.Message) } catch { $exception = $null } }
    if ($null -eq $exception) { $exception = [System.Management.Automation.RuntimeException]::new([string]$Record.Message) }
    $category = [System.Management.Automation.ErrorCategory]::NotSpecified
    $null = [Enum]::TryParse([string]$Record.Category, [ref] $category)
    $errorRecord = [System.Management.Automation.ErrorRecord]::new($exception, [string]$Record.Id, $category, $Record.Target)
    if ($Record.Activity) { $errorRecord.CategoryInfo.Activity = $Record.Activity }
    if ($Record.Reason) { $errorRecord.CategoryInfo.Reason = $Record.Reason }
    if ($Record.TargetName) { $errorRecord.CategoryInfo.TargetName = $Record.TargetName }
    if ($Record.TargetType) { $errorRecord.CategoryInfo.TargetType = $Record.TargetType }
    if ($Record.Details) { $errorRecord.ErrorDetails = [System.Management.Automation.ErrorDetails]::new($Record.Details) }
    if ($Record.Terminating) { $Cmdlet.ThrowTerminatingError($errorRecord) }
    $Cmdlet.WriteError($errorRecord)
}

# ------------------------------------------------------------------------------------------------ session cmdlets

function Connect-ExchangeOnline {
    [CmdletBinding(DefaultParameterSetName = 'DefaultParameterSet')]
    param(
        [string] $ConnectionUri,
        [string] $AzureADAuthorizationEndpointUri,
        [ValidateSet('O365Default', 'O365USGovGCCHigh', 'O365USGovDoD', 'O365China', 'O365GermanyCloud')]
        [string] $ExchangeEnvironmentName = 'O365Default',
        [string] $UserPrincipalName,
        [pscredential] $Credential,
        [string] $AppId,
        [string] $Organization,
        [string] $CertificateThumbprint,
        [System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,
        [string] $CertificateFilePath,
        [securestring] $CertificatePassword,
        [string] $AccessToken,
        [string] $DelegatedOrganization,
        [string] $Prefix,
        [string[]] $CommandName,
        [string[]] $FormatTypeName,
        [switch] $Device,
        [switch] $InlineCredential,
        [switch] $ManagedIdentity,
        [string] $ManagedIdentityAccountId,
        [ValidateRange(1, 1000)][uint32] $PageSize = 1000,
        [bool] $ShowBanner = $true,
        [switch] $ShowProgress,
        [switch] $SkipLoadingFormatData,
        [switch] $SkipLoadingCmdletHelp,
        [switch] $DisableWAM,
        [switch] $UseRPSSession,
        [switch] $EnableErrorReporting,
        [string] $LogDirectoryPath,
        # Stand-in only: the scenario file (JSONC). Default: $env:EXO_STANDIN_SCENARIO.
        [string] $ScenarioPath = $env:EXO_STANDIN_SCENARIO,
        # Stand-in only: a delay added to every Exchange cmdlet call of this session.
        [ValidateRange(0, 600000)][int] $DelayMilliseconds = 0
    )
    if (Test-ExoRemoteUri $ConnectionUri) {
        # Remote mode (see "remote mode" above): the host connects (to its own scenario unless -ScenarioPath is given).
        Enable-ExoRemote $ConnectionUri
        Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Connect-ExchangeOnline' $PSBoundParameters)
        return
    }
    Disable-ExoRemote
    $script:State.Counts['Connect-ExchangeOnline'] = 1 + [int]$script:State.Counts['Connect-ExchangeOnline']
    if (-not $ScenarioPath) {
        Stop-StandInCall $PSCmdlet 'The Exchange Online stand-in needs -ScenarioPath <scenario.json> (or $env:EXO_STANDIN_SCENARIO).' 'ScenarioRequired' 'InvalidArgument' ([System.ArgumentException])
    }
    if ($Prefix) {
        Stop-StandInCall $PSCmdlet 'The Exchange Online stand-in does not support -Prefix.' 'PrefixNotSupported' 'NotImplemented' ([System.NotSupportedException])
    }
    try { $tenant = Import-StandInScenario $ScenarioPath }
    catch { Stop-StandInCall $PSCmdlet $_.Exception.Message 'ScenarioInvalid' 'InvalidData' ([System.IO.InvalidDataException]) }

    $uri, $authority = $script:Environments[$ExchangeEnvironmentName]
    if ($ConnectionUri) { $uri = $ConnectionUri.TrimEnd('/') -replace '/powershell-liveid$', '' }
    if ($AzureADAuthorizationEndpointUri) { $authority = $AzureADAuthorizationEndpointUri }
    $appOnly = [bool]($AppId -and ($CertificateThumbprint -or $Certificate -or $CertificateFilePath)) -or $ManagedIdentity -or [bool]$AccessToken
    $upn = if ($UserPrincipalName) { $UserPrincipalName } elseif ($Credential) { $Credential.UserName } elseif ($appOnly) { "OAuthUser@$($tenant.InitialDomain)" } else { "admin@$($tenant.InitialDomain)" }

    foreach ($c in $script:State.Connections) { $c.ConnectionUsedForInbuiltCmdlets = $false }
    $id = $script:State.NextConnectionId++
    $script:State.Connections.Add(@{
            ConnectionId = [guid]::NewGuid().ToString(); State = 'Connected'; Id = $id; Name = "ExchangeOnline_$id"; UserPrincipalName = $upn
            ConnectionUri = $uri; AzureAdAuthorizationEndpointUri = $authority; TokenExpiryTimeUTC = [DateTimeOffset]::UtcNow.AddMinutes(59)
            CertificateAuthentication = [bool]($CertificateThumbprint -or $Certificate -or $CertificateFilePath)
            ModuleName = Join-Path ([System.IO.Path]::GetTempPath()) ('tmpEXO_{0}.{1}' -f [System.IO.Path]::GetRandomFileName().Replace('.', '').Substring(0, 8), [System.IO.Path]::GetRandomFileName().Substring(0, 3))
            ModulePrefix = ''; Organization = if ($Organization) { $Organization } else { '' }; DelegatedOrganization = if ($DelegatedOrganization) { $DelegatedOrganization } else { '' }
            AppId = if ($AppId) { $AppId } else { '' }; PageSize = [int]$PageSize; TenantID = $tenant.TenantId; TokenStatus = 'Active'
            ConnectionUsedForInbuiltCmdlets = $true; IsEopSession = $false
        })
    $script:State.Tenant = $tenant
    $script:State.CallsSinceConnect = 0
    $script:State.MessageTrace = $null
    if ($PSBoundParameters.ContainsKey('DelayMilliseconds')) { $script:State.Delays['*'] = $DelayMilliseconds }
    $script:Defaults['RunspaceId'] = [guid]::NewGuid()
    if ($ShowBanner) {
        Write-Host @'
----------------------------------------------------------------------------------------
This is the ExchangeOnlineManagement TEST STAND-IN (SmtpAuthTroubleshooter), not Microsoft's module.
It answers from an emulated tenant scenario. Disable this banner with: -ShowBanner:$false
----------------------------------------------------------------------------------------
'@
    }
}

function Disconnect-ExchangeOnline {
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium', DefaultParameterSetName = 'DefaultParameterSet')]
    param(
        [Parameter(ParameterSetName = 'ConnectionId')][string[]] $ConnectionId,
        [Parameter(ParameterSetName = 'ModulePrefix')][string[]] $ModulePrefix
    )
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Disconnect-ExchangeOnline' $PSBoundParameters); return }
    $script:State.Counts['Disconnect-ExchangeOnline'] = 1 + [int]$script:State.Counts['Disconnect-ExchangeOnline']
    if (-not $PSCmdlet.ShouldProcess('Exchange Online', 'Disconnect')) { return }
    if ($ConnectionId) {
        $script:State.Connections.RemoveAll([Predicate[object]] { param($c) $ConnectionId -contains $c.ConnectionId }) | Out-Null
    }
    elseif (-not $ModulePrefix) {
        $script:State.Connections.Clear()
    }
    if ($script:State.Connections.Count -gt 0) { $script:State.Connections[$script:State.Connections.Count - 1].ConnectionUsedForInbuiltCmdlets = $true }
}

function Get-ConnectionInformation {
    [CmdletBinding(DefaultParameterSetName = 'DefaultParameterSet')]
    param(
        [Parameter(ParameterSetName = 'ConnectionId')][string[]] $ConnectionId,
        [Parameter(ParameterSetName = 'ModulePrefix')][string[]] $ModulePrefix
    )
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Get-ConnectionInformation' $PSBoundParameters); return }
    $script:State.Counts['Get-ConnectionInformation'] = 1 + [int]$script:State.Counts['Get-ConnectionInformation']
    foreach ($c in $script:State.Connections) {
        if ($ConnectionId -and $ConnectionId -notcontains $c.ConnectionId) { continue }
        if ($ModulePrefix) { continue }
        [pscustomobject]@{
            PSTypeName                      = 'Microsoft.Exchange.Management.ExoPowershellSnapin.ConnectionInformation'
            ConnectionId                    = $c.ConnectionId
            State                           = $c.State
            Id                              = $c.Id
            Name                            = $c.Name
            UserPrincipalName               = $c.UserPrincipalName
            ConnectionUri                   = $c.ConnectionUri
            AzureAdAuthorizationEndpointUri = $c.AzureAdAuthorizationEndpointUri
            TokenExpiryTimeUTC              = $c.TokenExpiryTimeUTC
            CertificateAuthentication       = $c.CertificateAuthentication
            ModuleName                      = $c.ModuleName
            ModulePrefix                    = $c.ModulePrefix
            Organization                    = $c.Organization
            DelegatedOrganization           = $c.DelegatedOrganization
            AppId                           = $c.AppId
            PageSize                        = $c.PageSize
            TenantID                        = $c.TenantID
            TokenStatus                     = $c.TokenStatus
            ConnectionUsedForInbuiltCmdlets = $c.ConnectionUsedForInbuiltCmdlets
            IsEopSession                    = $c.IsEopSession
        }
    }
}

# ------------------------------------------------------------------------------------------------ configuration cmdlets

function Get-TransportConfig {
    [CmdletBinding()]
    param()
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Get-TransportConfig' $PSBoundParameters); return }
    if (-not (Enter-StandInCall $PSCmdlet 'Get-TransportConfig' $PSBoundParameters)) { return }
    $r = $script:State.Tenant.TransportConfig
    Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'TransportConfig' @($r.Keys | Sort-Object) @(, $r))
}

function Get-OrganizationConfig {
    [CmdletBinding()]
    param()
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Get-OrganizationConfig' $PSBoundParameters); return }
    if (-not (Enter-StandInCall $PSCmdlet 'Get-OrganizationConfig' $PSBoundParameters)) { return }
    $r = $script:State.Tenant.OrganizationConfig.Clone()
    $r.DefaultAuthenticationPolicy = Format-StandInPolicyReference $r.DefaultAuthenticationPolicy
    Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'OrganizationConfig' @($r.Keys | Sort-Object) @(, $r))
}

function Format-StandInPolicyReference($Name) {
    if (-not $Name) { return $null }
    if ($script:State.PolicyRendering -eq 'DistinguishedName') {
        $p = $null
        if ($script:State.Tenant.PolicyIndex.TryGetValue([string]$Name, [ref] $p)) { return $p.DistinguishedName }
    }
    [string]$Name
}

$script:AuthPolicyProperties = 'RunspaceId', 'AllowBasicAuthActiveSync', 'AllowBasicAuthAutodiscover', 'AllowBasicAuthImap', 'AllowBasicAuthMapi', 'AllowBasicAuthOfflineAddressBook', 'AllowBasicAuthOutlookService', 'AllowBasicAuthPop', 'AllowBasicAuthReportingWebServices', 'AllowBasicAuthRest', 'AllowBasicAuthRpc', 'AllowBasicAuthSmtp', 'AllowBasicAuthWebServices', 'AllowBasicAuthPowershell', 'AdminDisplayName', 'ExchangeVersion', 'Name', 'DistinguishedName', 'Identity', 'Guid', 'Id', 'OrganizationId', 'WhenChanged', 'WhenCreated', 'WhenChangedUTC', 'WhenCreatedUTC', 'IsValid', 'ObjectState'

function Get-AuthenticationPolicy {
    [CmdletBinding()]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [switch] $AllowLegacyExchangeTokens,
        [string] $TenantId
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-AuthenticationPolicy' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-AuthenticationPolicy' $PSBoundParameters
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        $tenant = $script:State.Tenant
        $id = Get-StandInIdentityText $Identity
        if (-not $id) { Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'AuthPolicy' $script:AuthPolicyProperties $tenant.AuthPolicies); return }
        $found = $null
        if (-not $tenant.PolicyIndex.TryGetValue($id, [ref] $found)) {
            if (-not (Test-StandInIdentityFault $PSCmdlet 'Get-AuthenticationPolicy' $id $null)) { Write-StandInNotFound 'Get-AuthenticationPolicy' $id $script:OtherNotFoundCode }
            return
        }
        if (Test-StandInIdentityFault $PSCmdlet 'Get-AuthenticationPolicy' $id $found) { return }
        Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'AuthPolicy' $script:AuthPolicyProperties @(, $found))
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

$script:ServicePrincipalProperties = 'DisplayName', 'AppId', 'ObjectId', 'Sid', 'Identity', 'Name', 'ExchangeObjectId', 'Guid', 'OrganizationId', 'WhenCreatedUTC', 'DistinguishedName', 'IsValid', 'ObjectState'

function Get-ServicePrincipal {
    [CmdletBinding()]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [string] $Organization
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-ServicePrincipal' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-ServicePrincipal' $PSBoundParameters
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        Write-Warning 'The ServiceId parameter is being depreciated and will be replaced with ObjectId. Please note that already existing Exchange Service Principal Service Ids are now known as Object Ids.'
        $tenant = $script:State.Tenant
        $id = Get-StandInIdentityText $Identity
        if (-not $id) { Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'ServicePrincipal' $script:ServicePrincipalProperties $tenant.ServicePrincipals); return }
        $found = $null
        if (-not $tenant.SpIndex.TryGetValue($id, [ref] $found)) {
            if (-not (Test-StandInIdentityFault $PSCmdlet 'Get-ServicePrincipal' $id $null)) { Write-StandInNotFound 'Get-ServicePrincipal' $id $script:OtherNotFoundCode }
            return
        }
        if ($found -is [System.Collections.Generic.List[object]]) { Write-StandInAmbiguous 'Get-ServicePrincipal' $id; return }
        if (Test-StandInIdentityFault $PSCmdlet 'Get-ServicePrincipal' $id $found) { return }
        Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'ServicePrincipal' $script:ServicePrincipalProperties @(, $found))
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

# ------------------------------------------------------------------------------------------------ recipient cmdlets

# Writes the recipients asked for (through $Cmdlet, a page at a time); -Fixup as Write-StandInObject's.
function Invoke-StandInRecipientQuery($Cmdlet, [string] $Name, $Bound, $IdentityText, [string] $Kind, [string[]] $Properties, [string[]] $FilterDenied = @(), [scriptblock] $Fixup) {
    $indexName = 'Index'
    if ($IdentityText -is [hashtable]) { $indexName = $IdentityText.Index; $IdentityText = $IdentityText.Text }
    if ($IdentityText) {
        $record = Resolve-StandInRecipient $Cmdlet $Name $IdentityText $indexName
        if ($null -eq $record) { return }
        if ($Bound.ContainsKey('RecipientTypeDetails') -and $Bound['RecipientTypeDetails'] -notcontains $record.RecipientTypeDetails) {
            Write-StandInNotFound $Name $IdentityText
            return
        }
        Write-StandInObject $Cmdlet $Kind $Properties @(, $record) $Fixup
        return
    }
    $options = @{
        Anr = $Bound['Anr']; Filter = $Bound['Filter']; RecipientTypeDetails = $Bound['RecipientTypeDetails']; SortBy = $Bound['SortBy']
        ResultSize = ConvertTo-StandInResultSize $Cmdlet $Bound['ResultSize']; FilterProperties = $script:RecipientFilterProperties; FilterDenied = $FilterDenied
    }
    $records = Select-StandInRecipients $Cmdlet $Name $options
    Write-StandInObject $Cmdlet $Kind $Properties $records $Fixup
}

function Get-EXOMailbox {
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [Parameter(ParameterSetName = 'Identity')][guid] $ExternalDirectoryObjectId,
        [Parameter(ParameterSetName = 'Identity')][string] $PrimarySmtpAddress,
        [Parameter(ParameterSetName = 'Identity')][string] $UserPrincipalName,
        [Parameter(ParameterSetName = 'Anr', Mandatory)][string] $Anr,
        [string] $Filter,
        [string[]] $Properties,
        [ValidateSet('All', 'Minimum', 'AddressList', 'Archive', 'Audit', 'Custom', 'Delivery', 'Hold', 'Moderation', 'Move', 'Policy', 'PublicFolder', 'Quota', 'Resource', 'Retention', 'SCL', 'SoftDelete', 'StatisticsSeed')]
        [string[]] $PropertySets,
        [object] $ResultSize = 1000,
        [ValidateSet('DiscoveryMailbox', 'EquipmentMailbox', 'GroupMailbox', 'LegacyMailbox', 'LinkedMailbox', 'LinkedRoomMailbox', 'RoomMailbox', 'SchedulingMailbox', 'SharedMailbox', 'TeamMailbox', 'UserMailbox')]
        [string[]] $RecipientTypeDetails,
        [string] $OrganizationalUnit,
        [string] $MailboxPlan,
        [switch] $SoftDeletedMailbox,
        [switch] $InactiveMailboxOnly,
        [switch] $IncludeInactiveMailbox,
        [switch] $Archive,
        [switch] $PublicFolder,
        [switch] $GroupMailbox,
        [switch] $Migration
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-EXOMailbox' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-EXOMailbox' $PSBoundParameters
        if ($go) { $props = Get-StandInPropertyList $PSCmdlet 'Mailbox' $Properties $PropertySets }
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        if ($SoftDeletedMailbox -or $InactiveMailboxOnly -or $PublicFolder -or $GroupMailbox -or $Migration) { return }   # none in a scenario
        $id = Resolve-StandInIdentityParameters $PSCmdlet 'Get-EXOMailbox' $PSBoundParameters
        Invoke-StandInRecipientQuery $PSCmdlet 'Get-EXOMailbox' $PSBoundParameters $id 'Mailbox' $props
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

function Get-EXOCasMailbox {
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [Parameter(ParameterSetName = 'Identity')][guid] $ExternalDirectoryObjectId,
        [Parameter(ParameterSetName = 'Identity')][string] $PrimarySmtpAddress,
        [Parameter(ParameterSetName = 'Identity')][string] $UserPrincipalName,
        [Parameter(ParameterSetName = 'Anr', Mandatory)][string] $Anr,
        [string] $Filter,
        [string[]] $Properties,
        [ValidateSet('All', 'Minimum', 'ActiveSync', 'Ews', 'Imap', 'Mapi', 'Pop', 'ProtocolSettings')]
        [string[]] $PropertySets,
        [object] $ResultSize = 1000,
        [string] $OrganizationalUnit,
        [switch] $ProtocolSettings
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-EXOCasMailbox' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-EXOCasMailbox' $PSBoundParameters
        if ($go) {
            $sets = @($PropertySets) + @(if ($ProtocolSettings) { 'ProtocolSettings' })
            $props = Get-StandInPropertyList $PSCmdlet 'CASMailbox' $Properties $sets
        }
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        $id = Resolve-StandInIdentityParameters $PSCmdlet 'Get-EXOCasMailbox' $PSBoundParameters
        # Filters on Get-EXOCasMailbox cannot use ExternalDirectoryObjectId or MemberOfGroup (SHAPES A.3).
        Invoke-StandInRecipientQuery $PSCmdlet 'Get-EXOCasMailbox' $PSBoundParameters $id 'CASMailbox' $props @('ExternalDirectoryObjectId', 'MemberOfGroup')
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

function Get-CASMailbox {
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [Parameter(ParameterSetName = 'AnrSet', Mandatory)][string] $Anr,
        [string] $Filter,
        [object] $ResultSize = 1000,
        [string[]] $RecipientTypeDetails,
        [ValidateSet('Name', 'DisplayName', 'ServerLegacyDN')][string] $SortBy,
        [string] $OrganizationalUnit,
        [switch] $ProtocolSettings,
        [switch] $IgnoreDefaultScope,
        [switch] $ReadIsOptimizedForAccessibility,
        [switch] $ActiveSyncDebugLogging
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-CASMailbox' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-CASMailbox' $PSBoundParameters
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        $id = Get-StandInIdentityText $Identity
        Invoke-StandInRecipientQuery $PSCmdlet 'Get-CASMailbox' $PSBoundParameters $id 'CASMailbox' $script:CasMailboxFull
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

function Get-User {
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [Parameter(ParameterSetName = 'AnrSet', Mandatory)][string] $Anr,
        [string] $Filter,
        [object] $ResultSize = 1000,
        [string[]] $RecipientTypeDetails,
        [string] $SortBy,
        [string] $OrganizationalUnit,
        [switch] $IsVIP
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-User' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-User' $PSBoundParameters
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        if ($IsVIP) { return }
        $id = Get-StandInIdentityText $Identity
        $fixup = if ($script:State.PolicyRendering -eq 'DistinguishedName') {
            { param($list) foreach ($o in $list) { if ($o.AuthenticationPolicy) { $o.AuthenticationPolicy = Format-StandInPolicyReference $o.AuthenticationPolicy } } }
        }
        Invoke-StandInRecipientQuery $PSCmdlet 'Get-User' $PSBoundParameters $id 'User' $script:UserProperties @() $fixup
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

# ------------------------------------------------------------------------------------------------ permission cmdlets

$script:MailboxPermissionProperties = 'AccessRights', 'Deny', 'InheritanceType', 'User', 'UserSid', 'Identity', 'IsInherited', 'IsValid', 'ObjectState'
$script:RecipientPermissionProperties = 'Identity', 'Trustee', 'AccessControlType', 'AccessRights', 'IsInherited', 'InheritanceType', 'IsValid', 'ObjectState'

function Get-StandInMailboxAces($Record) {
    $tenant = $script:State.Tenant
    @{ Identity = $Record.Name; User = 'NT AUTHORITY\SELF'; UserSid = 'S-1-5-10'; AccessRights = [string[]]@('FullAccess', 'ReadPermission'); Deny = $false; InheritanceType = 'All'; IsInherited = $false; IsValid = $true; ObjectState = 'Unchanged' }
    foreach ($appId in $Record.__FullAccessApps) {
        $sp = $tenant.ServicePrincipals | Where-Object { $_.AppId -eq $appId } | Select-Object -First 1
        if (-not $sp) { continue }   # FullAccess needs an Exchange service principal (New-ServicePrincipal)
        @{ Identity = $Record.Name; User = $sp.Sid; UserSid = $sp.Sid; AccessRights = [string[]]@('FullAccess'); Deny = $false; InheritanceType = 'All'; IsInherited = $false; IsValid = $true; ObjectState = 'Unchanged'; __Sp = $sp }
    }
    # A user with FullAccess (Add-MailboxPermission -User <upn> -AccessRights FullAccess): Exchange Online shows the UPN.
    foreach ($upn in $Record.__FullAccessUsers) {
        @{ Identity = $Record.Name; User = $upn; UserSid = $null; AccessRights = [string[]]@('FullAccess'); Deny = $false; InheritanceType = 'All'; IsInherited = $false; IsValid = $true; ObjectState = 'Unchanged' }
    }
}

function Test-StandInAceUser($Ace, [string] $User) {
    if (-not $User) { return $true }
    if ($Ace.User -ieq $User -or $Ace.UserSid -ieq $User) { return $true }
    if ($Ace.ContainsKey('__Sp')) { $sp = $Ace.__Sp; return ($User -ieq $sp.ObjectId -or $User -ieq $sp.AppId -or $User -ieq $sp.Name -or $User -ieq $sp.Identity -or $User -ieq $sp.DisplayName) }
    $false
}

function Invoke-StandInMailboxPermission($Cmdlet, [string] $Name, $IdentityText, [string] $User, $ResultSize) {
    $indexName = 'Index'
    if ($IdentityText -is [hashtable]) { $indexName = $IdentityText.Index; $IdentityText = $IdentityText.Text }
    $record = Resolve-StandInRecipient $Cmdlet $Name $IdentityText $indexName
    if ($null -eq $record) { return }
    $aces = @(Get-StandInMailboxAces $record | Where-Object { Test-StandInAceUser $_ $User })
    $limit = ConvertTo-StandInResultSize $Cmdlet $ResultSize
    if ($aces.Count -gt $limit) { $aces = $aces[0..($limit - 1)]; Write-Warning $script:ResultSizeWarning }
    ConvertTo-StandInObject 'MailboxPermission' $script:MailboxPermissionProperties $aces
}

function Get-MailboxPermission {
    [CmdletBinding(DefaultParameterSetName = 'AccessRights')]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [Parameter(ParameterSetName = 'AccessRights')][string] $User,
        [Parameter(ParameterSetName = 'Owner')][switch] $Owner,
        [object] $ResultSize = 1000,
        [switch] $IncludeUserWithDisplayName,
        [switch] $IncludeUnresolvedPermissions,
        [switch] $IncludeSoftDeletedUserPermissions,
        [switch] $SoftDeletedMailbox,
        [switch] $GroupMailbox
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-MailboxPermission' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-MailboxPermission' $PSBoundParameters
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        $id = Get-StandInIdentityText $Identity
        if ($Owner) {
            $record = Resolve-StandInRecipient $PSCmdlet 'Get-MailboxPermission' $id
            if ($record) { Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'MailboxPermission' @('Identity', 'Owner') @(, @{ Identity = $record.Name; Owner = "$($script:State.Tenant.InitialDomain.Split('.')[0])\$($record.Name)" })) }
            return
        }
        Write-StandInResult $PSCmdlet (Invoke-StandInMailboxPermission $PSCmdlet 'Get-MailboxPermission' $id $User $ResultSize)
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

function Get-EXOMailboxPermission {
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [Parameter(ParameterSetName = 'Identity')][guid] $ExternalDirectoryObjectId,
        [Parameter(ParameterSetName = 'Identity')][string] $PrimarySmtpAddress,
        [Parameter(ParameterSetName = 'Identity')][string] $UserPrincipalName,
        [string] $User,
        [object] $ResultSize = 1000,
        [switch] $SoftDeletedMailbox
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-EXOMailboxPermission' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-EXOMailboxPermission' $PSBoundParameters
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        $id = Resolve-StandInIdentityParameters $PSCmdlet 'Get-EXOMailboxPermission' $PSBoundParameters
        if (-not $id) { Stop-StandInCall $PSCmdlet 'Please provide one of Identity, PrimarySmtpAddress, UserPrincipalName or ExternalDirectoryObjectId.' 'IdentityRequired' 'InvalidArgument' ([System.ArgumentException]) }
        Write-StandInResult $PSCmdlet (Invoke-StandInMailboxPermission $PSCmdlet 'Get-EXOMailboxPermission' $id $User $ResultSize)
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

function Get-StandInRecipientAces($Record) {
    @{ Identity = $Record.Name; Trustee = 'NT AUTHORITY\SELF'; AccessControlType = 'Allow'; AccessRights = [string[]]@('SendAs'); IsInherited = $false; InheritanceType = 'None'; IsValid = $true; ObjectState = 'Unchanged'; __Trustee = $null }
    $trustees = $null
    if ($script:State.Tenant.SendAs.TryGetValue($Record.Guid.ToString(), [ref] $trustees)) {
        foreach ($t in $trustees) {
            @{ Identity = $Record.Name; Trustee = $t.UserPrincipalName; AccessControlType = 'Allow'; AccessRights = [string[]]@('SendAs'); IsInherited = $false; InheritanceType = 'None'; IsValid = $true; ObjectState = 'Unchanged'; __Trustee = $t }
        }
    }
}

function Invoke-StandInRecipientPermission($Cmdlet, [string] $Name, $IdentityText, [string] $Trustee, [string[]] $AccessRights, $ResultSize) {
    $indexName = 'Index'
    if ($IdentityText -is [hashtable]) { $indexName = $IdentityText.Index; $IdentityText = $IdentityText.Text }
    if ($AccessRights | Where-Object { $_ -ine 'SendAs' }) {
        Stop-StandInCall $Cmdlet "Cannot bind parameter 'AccessRights'. The only valid value is SendAs." 'ParameterArgumentValidationError' 'InvalidArgument' ([System.Management.Automation.ParameterBindingException])
    }
    $limit = ConvertTo-StandInResultSize $Cmdlet $ResultSize
    $records = if ($IdentityText) {
        $r = Resolve-StandInRecipient $Cmdlet $Name $IdentityText $indexName
        if ($null -eq $r) { return }
        @(, $r)
    }
    else { $script:State.Tenant.Recipients }
    $trusteeRecord = $null
    if ($Trustee -and $Trustee -ine 'NT AUTHORITY\SELF') {
        if (-not $script:State.Tenant.Index.TryGetValue($Trustee, [ref] $trusteeRecord)) { return }
    }
    $aces = [System.Collections.Generic.List[object]]::new()
    foreach ($r in $records) {
        foreach ($ace in Get-StandInRecipientAces $r) {
            if ($Trustee) {
                if ($Trustee -ieq 'NT AUTHORITY\SELF') { if ($null -ne $ace.__Trustee) { continue } }
                elseif (-not [object]::ReferenceEquals($ace.__Trustee, $trusteeRecord)) { continue }
            }
            $aces.Add($ace)
        }
        if ($aces.Count -gt $limit) { break }
    }
    if ($aces.Count -gt $limit) { $aces = $aces.GetRange(0, $limit); Write-Warning $script:ResultSizeWarning }
    ConvertTo-StandInObject 'RecipientPermission' $script:RecipientPermissionProperties $aces
}

function Get-RecipientPermission {
    [CmdletBinding()]
    param(
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [string] $Trustee,
        [string[]] $AccessRights,
        [object] $ResultSize = 1000,
        [switch] $ReadFromDomainController
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-RecipientPermission' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-RecipientPermission' $PSBoundParameters
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        Write-StandInResult $PSCmdlet (Invoke-StandInRecipientPermission $PSCmdlet 'Get-RecipientPermission' (Get-StandInIdentityText $Identity) $Trustee $AccessRights $ResultSize)
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

function Get-EXORecipientPermission {
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][object] $Identity,
        [Parameter(ParameterSetName = 'Identity')][guid] $ExternalDirectoryObjectId,
        [Parameter(ParameterSetName = 'Identity')][string] $PrimarySmtpAddress,
        [Parameter(ParameterSetName = 'Identity')][string] $UserPrincipalName,
        [string] $Trustee,
        [string[]] $AccessRights,
        [object] $ResultSize = 1000
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-EXORecipientPermission' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-EXORecipientPermission' $PSBoundParameters
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        $id = Resolve-StandInIdentityParameters $PSCmdlet 'Get-EXORecipientPermission' $PSBoundParameters
        Write-StandInResult $PSCmdlet (Invoke-StandInRecipientPermission $PSCmdlet 'Get-EXORecipientPermission' $id $Trustee $AccessRights $ResultSize)
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

# ------------------------------------------------------------------------------------------------ mail flow cmdlets

# Get-AcceptedDomain | Format-List as seen on a real tenant (EvotecIT/PSWinDocumentation.O365, Get-WinExchangeAcceptedDomains.ps1).
$script:AcceptedDomainProperties = 'DomainName', 'CatchAllRecipientID', 'DomainType', 'MatchSubDomains', 'AddressBookEnabled', 'Default', 'EmailOnly', 'ExternallyManaged', 'AuthenticationType', 'LiveIdInstanceType', 'PendingRemoval', 'PendingCompletion', 'FederatedOrganizationLink', 'MailFlowPartner', 'OutboundOnly', 'PendingFederatedAccountNamespace', 'PendingFederatedDomain', 'IsCoexistenceDomain', 'PerimeterDuplicateDetected', 'IsDefaultFederatedDomain', 'EnableNego2Authentication', 'InitialDomain', 'AdminDisplayName', 'ExchangeVersion', 'Name', 'DistinguishedName', 'Identity', 'ObjectCategory', 'ObjectClass', 'WhenChanged', 'WhenCreated', 'WhenChangedUTC', 'WhenCreatedUTC', 'ExchangeObjectId', 'OrganizationId', 'Id', 'Guid', 'OriginatingServer', 'IsValid', 'ObjectState'

# tenant.acceptedDomains, or (as the C# TenantSettings.EffectiveAcceptedDomains) every tenant.domains entry as
# Authoritative with tenant.domain the default, then the initial domain.
function New-StandInAcceptedDomains($T, [string] $Initial, [string] $OrgId, [string] $ConfigDn) {
    $list = [System.Collections.Generic.List[object]]::new()
    $auth = @{}
    foreach ($d in @($T['domains'])) { if ($d) { $auth[[string]$d['id']] = [string](Get-StandInValue $d 'authenticationType' 'Managed') } }
    $entries = if ($null -ne $T['acceptedDomains']) {
        foreach ($d in $T['acceptedDomains']) {
            Assert-StandInKeys $d 'acceptedDomain' "accepted domain '$($d['domainName'])'"
            $type = [string](Get-StandInValue $d 'domainType' 'Authoritative')
            if ($type -cnotin 'Authoritative', 'InternalRelay', 'ExternalRelay') { throw "Scenario accepted domain '$($d['domainName'])': domainType must be Authoritative, InternalRelay or ExternalRelay." }
            @{ Name = [string]$d['domainName']; Type = $type; Default = [bool](Get-StandInValue $d 'default' $false) }
        }
    }
    else {
        $names = @(if ($null -ne $T['domains']) { foreach ($d in $T['domains']) { [string]$d['id'] } } else { [string]$T['domain'] })
        foreach ($n in $names) { @{ Name = $n; Type = 'Authoritative'; Default = $n -ieq [string]$T['domain'] } }
        if ($names -notcontains $Initial) { @{ Name = $Initial; Type = 'Authoritative'; Default = $false } }
    }
    foreach ($e in $entries) {
        $name = $e.Name
        $guid = New-StandInGuid "accepteddomain|$($T['tenantId'])|$name"
        $list.Add(@{
                DomainName = $name; CatchAllRecipientID = $null; DomainType = $e.Type; MatchSubDomains = $false; AddressBookEnabled = $e.Type -eq 'Authoritative'
                Default = $e.Default; EmailOnly = $false; ExternallyManaged = $false; AuthenticationType = if ($auth[$name]) { $auth[$name] } else { 'Managed' }
                LiveIdInstanceType = 'Business'; PendingRemoval = $false; PendingCompletion = $false; FederatedOrganizationLink = $null; MailFlowPartner = $null
                OutboundOnly = $false; PendingFederatedAccountNamespace = $false; PendingFederatedDomain = $false; IsCoexistenceDomain = $false
                PerimeterDuplicateDetected = $false; IsDefaultFederatedDomain = $false; EnableNego2Authentication = $false; InitialDomain = $name -ieq $Initial
                AdminDisplayName = ''; ExchangeVersion = $script:ExchangeVersion; Name = $name; Identity = $name; Id = $name
                DistinguishedName = "CN=$name,CN=Accepted Domains,CN=Transport Settings,$ConfigDn"
                ObjectCategory = "$script:Forest/Configuration/Schema/ms-Exch-Accepted-Domain"; ObjectClass = [string[]]@('top', 'msExchAcceptedDomain')
                WhenChanged = $script:Created.ToLocalTime(); WhenCreated = $script:Created.ToLocalTime(); WhenChangedUTC = $script:Created; WhenCreatedUTC = $script:Created
                ExchangeObjectId = $guid; Guid = $guid; OrganizationId = $OrgId; OriginatingServer = $script:DomainController; IsValid = $true; ObjectState = 'Unchanged'
            })
    }
    , $list
}

function Get-AcceptedDomain {
    [CmdletBinding()]
    param(
        [Parameter(Position = 0, ValueFromPipeline)][object] $Identity,
        [object] $ResultSize = 1000
    )
    begin {
        $remote = if ($script:Remote) { New-ExoRemoteCall $PSCmdlet 'Get-AcceptedDomain' $PSBoundParameters }   # remote mode: forwarded in end
        if ($remote) { return }
        $go = Enter-StandInCall $PSCmdlet 'Get-AcceptedDomain' $PSBoundParameters
    }
    process {
        if ($remote) { if ($remote.ExpectingInput) { $remote.Input.Add($_) }; return }
        if (-not $go) { return }
        $domains = $script:State.Tenant.AcceptedDomains
        $limit = ConvertTo-StandInResultSize $PSCmdlet $ResultSize
        $id = Get-StandInIdentityText $Identity
        if ($id) {
            $found = @($domains | Where-Object { $_.Name -ieq $id -or $_.DomainName -ieq $id -or $_.Guid.ToString() -ieq $id -or $_.DistinguishedName -ieq $id })
            if ($found.Count -eq 0) {
                if (-not (Test-StandInIdentityFault $PSCmdlet 'Get-AcceptedDomain' $id $null)) { Write-StandInNotFound 'Get-AcceptedDomain' $id $script:OtherNotFoundCode }
                return
            }
            Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'AcceptedDomain' $script:AcceptedDomainProperties $found)
            return
        }
        $list = [System.Collections.Generic.List[object]]::new($domains)
        if ($list.Count -gt $limit) { $list = $list.GetRange(0, $limit); Write-Warning $script:ResultSizeWarning }
        Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'AcceptedDomain' $script:AcceptedDomainProperties $list)
    }
    end { if ($remote) { Invoke-ExoRemoteCall $PSCmdlet $remote } }
}

# The properties scripts read from Get-MessageTraceV2 (Received, SenderAddress, RecipientAddress, Subject, Status, ToIP,
# FromIP, Size, MessageId, MessageTraceId), plus Organization, StartDate and EndDate as the Reporting web service's
# MessageTrace rows carry them. The V2 output is not documented: [inferred].
$script:MessageTraceProperties = 'Organization', 'MessageId', 'Received', 'SenderAddress', 'RecipientAddress', 'Subject', 'Status', 'ToIP', 'FromIP', 'Size', 'MessageTraceId', 'StartDate', 'EndDate'
$script:TicksPerDay = 864000000000.0

# The sessions of one smtpClients entry, newest first, as one List of long[3] (ordinal k, ticks before "now", error
# code): the same arithmetic as SmtpClientSchedule in the C# emulator (Model/SmtpClients.cs), so message trace rows
# line up with the Graph emulator's sign-ins (same offsets before "now").
function Get-StandInSmtpSessions([string] $Upn, $Client) {
    $list = [System.Collections.Generic.List[long[]]]::new()
    $perDay = [double](Get-StandInValue $Client 'perDay' 1)
    if ($perDay -le 0) { return , $list }
    $days = [int](Get-StandInValue $Client 'days' 30)
    $n = [int][Math]::Round($perDay * $days, [MidpointRounding]::AwayFromZero)
    $interval = $script:TicksPerDay / $perDay
    $quiet = [double](Get-StandInValue $Client 'quietDays' 0) * $script:TicksPerDay
    $baseCode = [int](Get-StandInValue $Client 'errorCode' 0)
    $failFrom = -1.0; $failCode = 50126
    $ff = $Client['failFrom']
    if ($ff) { $failFrom = [double](Get-StandInValue $ff 'daysAgo' 0) * $script:TicksPerDay; $failCode = [int](Get-StandInValue $ff 'errorCode' 50126) }
    $failures = [System.Collections.Generic.List[object]]::new()
    if ($Client['failures']) {
        foreach ($e in $Client['failures'].GetEnumerator() | Sort-Object { [int]$_.Key }) { $failures.Add([pscustomobject]@{ Code = [int]$e.Key; Share = [double]$e.Value }) }
    }
    [long] $x = 2166136261
    foreach ($b in [System.Text.Encoding]::UTF8.GetBytes(("$Upn|$($Client['ipAddress'])").ToLowerInvariant())) { $x = (($x -bxor $b) * 16777619) % 4294967296 }
    for ($k = 0; $k -lt $n; $k++) {
        $x = (1664525 * $x + 1013904223) % 4294967296
        $u1 = $x / 4294967296.0
        $x = (1664525 * $x + 1013904223) % 4294967296
        $u2 = $x / 4294967296.0
        $offset = [long][Math]::Floor($quiet + (($k + $u1) * $interval))
        $code = $baseCode
        if ($failFrom -ge 0 -and $offset -lt $failFrom) { $code = $failCode }
        else {
            $cumulative = 0.0
            foreach ($f in $failures) { $cumulative += $f.Share; if ($u2 -lt $cumulative) { $code = $f.Code; break } }
        }
        $list.Add([long[]]@($k, $offset, $code))
    }
    , $list
}

# Every message trace row of the tenant (one per recipient; each message has one recipient), newest first then by
# recipient, from the successful sessions of every smtpClients entry with recipients. "Now" is the first call after
# Connect-ExchangeOnline; rows older than 90 days are dropped (message trace retention).
function Get-StandInMessageTraceRows {
    if ($null -ne $script:State.MessageTrace) { return , $script:State.MessageTrace }
    $tenant = $script:State.Tenant
    $now = [DateTime]::UtcNow
    $oldest = $now.AddDays(-90).Ticks
    $internal = @{}
    foreach ($d in $tenant.AcceptedDomains) { $internal[$d.DomainName.ToLowerInvariant()] = $d.DomainType }
    $keys = [System.Collections.Generic.List[string]]::new()
    $rows = [System.Collections.Generic.List[object]]::new()
    $md5 = [System.Security.Cryptography.MD5]::Create()
    $utf8 = [System.Text.Encoding]::UTF8
    foreach ($r in $tenant.Recipients) {
        if ($null -eq $r.__SmtpClients) { continue }
        foreach ($client in $r.__SmtpClients) {
            $recipients = @($client['recipients'])
            if ($recipients.Count -eq 0 -or $null -eq $recipients[0]) { continue }
            $perSession = [int](Get-StandInValue $client 'messagesPerSession' 1)
            $size = [int](Get-StandInValue $client 'messageSize' 24576)
            $ip = [string]$client['ipAddress']
            $local = $r.PrimarySmtpAddress.Split('@')[0]
            $senderDomain = $r.PrimarySmtpAddress.Split('@')[-1]
            $subject = [string](Get-StandInValue $client 'subject' "Message from $local")
            foreach ($s in (Get-StandInSmtpSessions $r.UserPrincipalName $client)) {
                if ($s[2] -ne 0) { continue }
                $k = $s[0]
                $sessionTicks = $now.Ticks - $s[1]
                if ($sessionTicks -lt $oldest) { break }
                for ($j = 0; $j -lt $perSession; $j++) {
                    $ticks = $sessionTicks + (2 + $j) * 10000000L
                    $to = [string]$recipients[($k * $perSession + $j) % $recipients.Count]
                    $domain = $to.Split('@')[-1].ToLowerInvariant()
                    $type = $internal[$domain]
                    # Internal (Authoritative) mail stays in Exchange Online: no ToIP. A relay domain goes to the on-premises
                    # smart host; other domains to their MX (documentation addresses, fixed per domain).
                    $toIp = if ($type -eq 'Authoritative') { $null } elseif ($type) { '198.51.100.250' } else { '198.51.100.' + (200 + $domain.Length % 50) }
                    $hash = $md5.ComputeHash($utf8.GetBytes("MT|$($r.UserPrincipalName)|$ip|$k|$j".ToUpperInvariant()))
                    $hash[7] = ($hash[7] -band 0x0F) -bor 0x40; $hash[8] = ($hash[8] -band 0x3F) -bor 0x80
                    $traceId = [guid]::new($hash)
                    $received = [datetime]::new($ticks, [DateTimeKind]::Utc)
                    $rows.Add(@{
                            Organization = $tenant.InitialDomain; MessageId = "<$($traceId.ToString('N'))@$senderDomain>"; Received = $received
                            SenderAddress = $r.PrimarySmtpAddress; RecipientAddress = $to; Subject = $subject; Status = 'Delivered'; ToIP = $toIp; FromIP = $ip
                            Size = [int]($size + ($k % 7) * 1024); MessageTraceId = $traceId; StartDate = $null; EndDate = $null; __Ticks = $ticks
                        })
                    $keys.Add(([long]::MaxValue - $ticks).ToString('D19') + '|' + $to.ToLowerInvariant())
                }
            }
        }
    }
    $md5.Dispose()
    $sorted = $rows.ToArray()
    $sortKeys = $keys.ToArray()
    [Array]::Sort[string, object]($sortKeys, $sorted, [StringComparer]::Ordinal)   # the generic overload: the plain one sorts a copy
    $script:State.MessageTrace = $sorted
    , $sorted
}

function ConvertTo-StandInUtc($Value) {
    $d = [datetime]$Value
    if ($d.Kind -eq [DateTimeKind]::Utc) { $d } else { $d.ToUniversalTime() }
}

function Get-MessageTraceV2 {
    <#
    Stand-in for Get-MessageTraceV2 (Exchange Online). Parameters, limits and paging as documented
    (learn.microsoft.com/powershell/module/exchangepowershell/get-messagetracev2): the last 90 days, at most 10 days per
    query, ResultSize 1-5000 (default 1000), no -Page: continue with -StartingRecipientAddress and -EndDate taken from
    the last row's RecipientAddress and Received. Without dates: the last 48 hours. Results newest first, then by
    recipient; a full page is not announced (no warning), as field reports say of the real cmdlet.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName)][datetime] $EndDate,
        [Parameter(Position = 1, ValueFromPipelineByPropertyName)][string] $FromIP,
        [Parameter(Position = 2, ValueFromPipelineByPropertyName)][string[]] $MessageId,
        [Parameter(Position = 3, ValueFromPipelineByPropertyName)][guid] $MessageTraceId,
        [Parameter(Position = 4, ValueFromPipelineByPropertyName)][string[]] $RecipientAddress,
        [Parameter(Position = 5, ValueFromPipelineByPropertyName)][int] $ResultSize = 1000,
        [Parameter(Position = 6, ValueFromPipelineByPropertyName)][string[]] $SenderAddress,
        [Parameter(Position = 7, ValueFromPipelineByPropertyName)][datetime] $StartDate,
        [Parameter(Position = 8, ValueFromPipelineByPropertyName)][string] $StartingRecipientAddress,
        [Parameter(Position = 9)][ValidateSet('Delivered', 'Expanded', 'Failed', 'FilteredAsSpam', 'GettingStatus', 'None', 'Pending', 'Quarantined')][string[]] $Status,
        [Parameter(Position = 10, ValueFromPipelineByPropertyName)][string] $Subject,
        [Parameter(Position = 11, ValueFromPipelineByPropertyName)][ValidateSet('Contains', 'EndsWith', 'StartsWith')][string] $SubjectFilterType,
        [Parameter(Position = 12, ValueFromPipelineByPropertyName)][string] $ToIP
    )
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Get-MessageTraceV2' $PSBoundParameters); return }
    if (-not (Enter-StandInCall $PSCmdlet 'Get-MessageTraceV2' $PSBoundParameters)) { return }

    # Throttling: "A maximum of 100 query requests are accepted within a 5 minute running window." The refusal's
    # wording is not documented; this text is the stand-in's own.
    $limit = $script:State.TraceLimit
    if ($limit -gt 0) {
        $calls = $script:State.TraceCalls
        $windowStart = [DateTime]::UtcNow.AddMinutes(-5)
        while ($calls.Count -gt 0 -and $calls.Peek() -lt $windowStart) { $null = $calls.Dequeue() }
        if ($calls.Count -ge $limit) {
            $retry = [int][Math]::Ceiling(($calls.Peek() - $windowStart).TotalSeconds)
            Write-StandInError 'Get-MessageTraceV2' "The request was throttled: at most $limit Get-MessageTraceV2 queries are accepted in a 5-minute window. Retry after $retry seconds." 'ThrottlingException'
            return
        }
        $calls.Enqueue([DateTime]::UtcNow)
    }

    if ($ResultSize -lt 1 -or $ResultSize -gt 5000) {
        # Documented: "A valid value is from 1 to 5000." Field reports: 5001 is refused with an InternalServerError.
        Write-StandInError 'Get-MessageTraceV2' "The ResultSize value $ResultSize is not valid. A valid value is from 1 to 5000." 'ArgumentException'
        return
    }
    $now = [DateTime]::UtcNow
    $end = if ($PSBoundParameters.ContainsKey('EndDate')) { ConvertTo-StandInUtc $EndDate } else { $now }
    $start = if ($PSBoundParameters.ContainsKey('StartDate')) { ConvertTo-StandInUtc $StartDate } else { $end.AddHours(-48) }
    if ($start -gt $end) {
        Write-StandInError 'Get-MessageTraceV2' 'The StartDate must be earlier than the EndDate.' 'ArgumentException'   # wording not documented
        return
    }
    if ($start.Date -lt $now.Date.AddDays(-90)) {
        # Seen on live tenants (2026): refused at 91 days back with this text.
        Write-StandInError 'Get-MessageTraceV2' "Invalid StartDate value. The StartDate can't be older than 90 days from today." 'ArgumentException'
        return
    }
    # Tolerance of one second: scripts compute StartDate and EndDate from two Get-Date calls, and a 10-day window
    # is accepted on real tenants.
    if (($end - $start) -gt [TimeSpan]::FromDays(10).Add([TimeSpan]::FromSeconds(1))) {
        # Seen on live tenants (2026): an 11-day window is refused with this text (the leading "||" included).
        Write-StandInError 'Get-MessageTraceV2' "||The interval between StartDate and EndDate can't be longer than 10 days." 'ArgumentException'
        return
    }

    $rows = Get-StandInMessageTraceRows
    $startTicks = $start.Ticks; $endTicks = $end.Ticks
    $senders = if ($SenderAddress) { [System.Collections.Generic.HashSet[string]]::new([string[]]$SenderAddress, [StringComparer]::OrdinalIgnoreCase) } else { $null }
    $recipientSet = if ($RecipientAddress) { [System.Collections.Generic.HashSet[string]]::new([string[]]$RecipientAddress, [StringComparer]::OrdinalIgnoreCase) } else { $null }
    $ids = if ($MessageId) { [System.Collections.Generic.HashSet[string]]::new([string[]]$MessageId, [StringComparer]::OrdinalIgnoreCase) } else { $null }
    $hasTraceId = $PSBoundParameters.ContainsKey('MessageTraceId')
    $subjectMode = if ($SubjectFilterType) { $SubjectFilterType } else { 'Contains' }
    $out = [System.Collections.Generic.List[object]]::new()
    foreach ($row in $rows) {
        $t = $row.__Ticks
        if ($t -gt $endTicks) { continue }
        if ($t -lt $startTicks) { break }
        if ($StartingRecipientAddress -and $t -eq $endTicks -and [string]::Compare($row.RecipientAddress, $StartingRecipientAddress, [StringComparison]::OrdinalIgnoreCase) -le 0) { continue }
        if ($null -ne $senders -and -not $senders.Contains($row.SenderAddress)) { continue }
        if ($null -ne $recipientSet -and -not $recipientSet.Contains($row.RecipientAddress)) { continue }
        if ($null -ne $ids -and -not $ids.Contains($row.MessageId)) { continue }
        if ($hasTraceId -and $row.MessageTraceId -ne $MessageTraceId) { continue }
        if ($FromIP -and $row.FromIP -ne $FromIP) { continue }
        if ($ToIP -and $row.ToIP -ne $ToIP) { continue }
        if ($Status -and $Status -notcontains $row.Status) { continue }
        if ($Subject) {
            $match = switch ($subjectMode) {
                'StartsWith' { $row.Subject.StartsWith($Subject, [StringComparison]::OrdinalIgnoreCase) }
                'EndsWith' { $row.Subject.EndsWith($Subject, [StringComparison]::OrdinalIgnoreCase) }
                default { $row.Subject.IndexOf($Subject, [StringComparison]::OrdinalIgnoreCase) -ge 0 }
            }
            if (-not $match) { continue }
        }
        $copy = $row.Clone(); $copy.StartDate = $start; $copy.EndDate = $end
        $out.Add($copy)
        if ($out.Count -ge $ResultSize) { break }
    }
    Write-StandInResult $PSCmdlet (ConvertTo-StandInObject 'MessageTrace' $script:MessageTraceProperties $out)
}

# ------------------------------------------------------------------------------------------------ test hooks

function Get-ExoStandInCallCount {
    <# Calls per cmdlet name since import or Reset-ExoStandIn. With -CommandName: that count (0 if never called). #>
    [CmdletBinding()]
    param([Parameter(Position = 0)][string] $CommandName)
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Get-ExoStandInCallCount' $PSBoundParameters); return }
    if ($CommandName) { return [int]$script:State.Counts[$CommandName] }
    $copy = [ordered]@{}
    foreach ($k in $script:State.Counts.Keys | Sort-Object) { $copy[$k] = $script:State.Counts[$k] }
    $copy
}

function Get-ExoStandInCallLog {
    <# Every Exchange cmdlet call (Time, Command, Parameters), oldest first (at most 10,000 kept). #>
    [CmdletBinding()]
    param([string] $CommandName)
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Get-ExoStandInCallLog' $PSBoundParameters); return }
    $script:State.Log | Where-Object { -not $CommandName -or $_.Command -eq $CommandName }
}

function Get-ExoStandInState {
    <# The loaded scenario and the fault settings, for tests and the demo. #>
    [CmdletBinding()]
    param()
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Get-ExoStandInState' $PSBoundParameters); return }
    $t = $script:State.Tenant
    [pscustomobject]@{
        ScenarioPath      = if ($t) { $t.Path } else { $null }
        TenantName        = if ($t) { $t.Name } else { $null }
        TenantId          = if ($t) { $t.TenantId } else { $null }
        Mailboxes         = if ($t) { $t.Recipients.Count } else { 0 }
        Connections       = $script:State.Connections.Count
        CallsSinceConnect = $script:State.CallsSinceConnect
        ExpireAfter       = $script:State.ExpireAfter
        Delays            = $script:State.Delays.Clone()
        Throttles         = $script:State.Throttles.Clone()
        IdentityFaults    = @($script:State.IdentityFaults)
        PolicyRendering   = $script:State.PolicyRendering
        MessageTraceRows  = if ($null -ne $script:State.MessageTrace) { $script:State.MessageTrace.Count } else { $null }
        MessageTraceLimit = $script:State.TraceLimit
    }
}

function Set-ExoStandInDelay {
    <# Adds -Milliseconds to every call of -CommandName (default: every Exchange cmdlet). #>
    [CmdletBinding(SupportsShouldProcess)]
    param([Parameter(Mandatory, Position = 0)][ValidateRange(0, 600000)][int] $Milliseconds, [string] $CommandName = '*')
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Set-ExoStandInDelay' $PSBoundParameters); return }
    if ($PSCmdlet.ShouldProcess($CommandName, "Delay $Milliseconds ms")) { $script:State.Delays[$CommandName] = $Milliseconds }
}

function Set-ExoStandInFault {
    <#
    .SYNOPSIS
    Fault injection for the Exchange Online stand-in.
    -Identity x [-CommandName n] [-Message m] [-NonTerminating]: calls that resolve to identity x fail (terminating by default).
    -ThrottleFirst K [-CommandName n] [-ThrottleMode Error|MicroDelay] [-MicroDelayMilliseconds N]: the next K calls are throttled:
        Error writes "Maximum retry count reached." (MaxRetryReached, LimitsExceeded) and a server-busy error and returns nothing;
        MicroDelay writes the "Micro delay applied. Actual delayed: N msecs, ..." warning, sleeps N ms and answers normally.
    -ExpireSessionAfter N: calls after the Nth (counted from Connect-ExchangeOnline) find the token expired: the connection
        becomes State Broken / TokenStatus Expired and every Exchange cmdlet fails until the next Connect-ExchangeOnline.
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Identity')]
    param(
        [Parameter(ParameterSetName = 'Identity', Mandatory)][string] $Identity,
        [Parameter(ParameterSetName = 'Identity')][string] $Message = 'The remote server returned an error: (500) Internal Server Error.',
        [Parameter(ParameterSetName = 'Identity')][switch] $NonTerminating,
        [Parameter(ParameterSetName = 'Throttle', Mandatory)][ValidateRange(0, [int]::MaxValue)][int] $ThrottleFirst,
        [Parameter(ParameterSetName = 'Throttle')][ValidateSet('Error', 'MicroDelay')][string] $ThrottleMode = 'Error',
        [Parameter(ParameterSetName = 'Throttle')][ValidateRange(0, 600000)][int] $MicroDelayMilliseconds = 50,
        [Parameter(ParameterSetName = 'Expire', Mandatory)][ValidateRange(0, [int]::MaxValue)][int] $ExpireSessionAfter,
        [Parameter(ParameterSetName = 'Identity')][Parameter(ParameterSetName = 'Throttle')][string] $CommandName = '*'
    )
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Set-ExoStandInFault' $PSBoundParameters); return }
    if (-not $PSCmdlet.ShouldProcess('Exchange Online stand-in', 'Inject fault')) { return }
    switch ($PSCmdlet.ParameterSetName) {
        'Identity' { $script:State.IdentityFaults.Add([pscustomobject]@{ Identity = $Identity; CommandName = $CommandName; Message = $Message; Terminating = -not $NonTerminating }) }
        'Throttle' { $script:State.Throttles[$CommandName] = @{ Remaining = $ThrottleFirst; Mode = $ThrottleMode; DelayMilliseconds = $MicroDelayMilliseconds } }
        'Expire' { $script:State.ExpireAfter = $ExpireSessionAfter }
    }
}

function Set-ExoStandInOption {
    <#
    -AuthenticationPolicyRendering Name|DistinguishedName: how Get-User AuthenticationPolicy and Get-OrganizationConfig DefaultAuthenticationPolicy render (SHAPES E.3).
    -MessageTraceQueryLimit N: Get-MessageTraceV2 queries accepted per 5-minute window (default 100, as documented; 0 = no limit).
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param([ValidateSet('Name', 'DistinguishedName')][string] $AuthenticationPolicyRendering, [ValidateRange(0, 1000000)][int] $MessageTraceQueryLimit = -1)
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Set-ExoStandInOption' $PSBoundParameters); return }
    if ($AuthenticationPolicyRendering -and $PSCmdlet.ShouldProcess('AuthenticationPolicyRendering', $AuthenticationPolicyRendering)) { $script:State.PolicyRendering = $AuthenticationPolicyRendering }
    if ($PSBoundParameters.ContainsKey('MessageTraceQueryLimit') -and $PSCmdlet.ShouldProcess('MessageTraceQueryLimit', "$MessageTraceQueryLimit")) { $script:State.TraceLimit = $MessageTraceQueryLimit; $script:State.TraceCalls.Clear() }
}

function Reset-ExoStandIn {
    <# Clears call counts, the call log, delays, faults and options. -Disconnect also drops the connections. #>
    [CmdletBinding(SupportsShouldProcess)]
    param([switch] $Disconnect)
    if ($script:Remote) { Invoke-ExoRemoteCall $PSCmdlet (New-ExoRemoteCall $PSCmdlet 'Reset-ExoStandIn' $PSBoundParameters); return }
    if (-not $PSCmdlet.ShouldProcess('Exchange Online stand-in', 'Reset')) { return }
    $script:State.Counts = @{}
    $script:State.Log.Clear()
    $script:State.Delays = @{}
    $script:State.IdentityFaults.Clear()
    $script:State.Throttles = @{}
    $script:State.ExpireAfter = 0
    $script:State.PolicyRendering = 'Name'
    $script:State.TraceCalls.Clear()
    $script:State.TraceLimit = 100
    if ($Disconnect) { $script:State.Connections.Clear() }
}
