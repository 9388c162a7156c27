@{
    # TEST STAND-IN, not Microsoft's module. Connect-MgGraph points the session at the Graph loopback emulator
    # (SmtpAuthTroubleshooter.ExoEmulator "graph" verb); Invoke-MgGraphRequest behaves like the SDK's (../README.md).
    RootModule        = 'Microsoft.Graph.Authentication.psm1'
    ModuleVersion     = '2.99.0'
    GUID              = '883916f2-9184-46ee-b1f8-b6a2fb784cee'
    Author            = 'SmtpAuthTroubleshooter contributors (test stand-in)'
    CompanyName       = 'SmtpAuthTroubleshooter contributors'
    Copyright         = '(c) SmtpAuthTroubleshooter contributors. MIT License.'
    Description       = 'Test stand-in for Microsoft.Graph.Authentication: Connect-MgGraph, Get-MgContext and Invoke-MgGraphRequest against a Graph loopback emulator.'
    PowerShellVersion = '7.2'
    FunctionsToExport = @('Connect-MgGraph', 'Disconnect-MgGraph', 'Get-MgContext', 'Get-MgEnvironment', 'Invoke-MgGraphRequest', 'Get-MgStandInRequestLog', 'Reset-MgStandIn')
    CmdletsToExport   = @()
    VariablesToExport = @()
    AliasesToExport   = @('Connect-Graph', 'Disconnect-Graph', 'Invoke-GraphRequest')
    PrivateData       = @{ PSData = @{ Tags = @('TestStandIn') } }
}
