@{
    # TEST STAND-IN, not Microsoft's module. It answers like ExchangeOnlineManagement 3.x from a scenario file of
    # tests/SmtpAuthTroubleshooter.ExoEmulator (see ../README.md). Never ship it; never put it on a real PSModulePath.
    RootModule        = 'ExchangeOnlineManagement.psm1'
    ModuleVersion     = '3.9.9'
    GUID              = 'b5eced50-afa4-455b-8c3e-8f7e2d5f9c11'
    Author            = 'SmtpAuthTroubleshooter contributors (test stand-in)'
    CompanyName       = 'SmtpAuthTroubleshooter contributors'
    Copyright         = '(c) SmtpAuthTroubleshooter contributors. MIT License.'
    Description       = 'Test stand-in for the Exchange Online PowerShell V3 module, driven by an emulated-tenant scenario file.'
    PowerShellVersion = '7.2'
    FunctionsToExport = @(
        'Connect-ExchangeOnline', 'Disconnect-ExchangeOnline', 'Get-ConnectionInformation',
        'Get-TransportConfig', 'Get-OrganizationConfig', 'Get-AuthenticationPolicy',
        'Get-EXOMailbox', 'Get-EXOCasMailbox', 'Get-CASMailbox', 'Get-User', 'Get-ServicePrincipal',
        'Get-MailboxPermission', 'Get-EXOMailboxPermission', 'Get-RecipientPermission', 'Get-EXORecipientPermission',
        'Get-AcceptedDomain', 'Get-MessageTraceV2',
        'Get-ExoStandInCallCount', 'Get-ExoStandInCallLog', 'Get-ExoStandInState',
        'Set-ExoStandInDelay', 'Set-ExoStandInFault', 'Set-ExoStandInOption', 'Reset-ExoStandIn'
    )
    CmdletsToExport   = @()
    VariablesToExport = @()
    AliasesToExport   = @()
    PrivateData       = @{ PSData = @{ Tags = @('TestStandIn') } }
}
