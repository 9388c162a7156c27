# Module manifest template: the build fills {{ModuleVersion}} from Directory.Build.props (one version source).
@{
    RootModule             = 'SmtpAuthTroubleshooter.dll'
    ModuleVersion          = '{{ModuleVersion}}'
    CompatiblePSEditions   = @('Core', 'Desktop')
    GUID                   = '6f0c5d4e-8a41-4f7e-9d3b-2c1e5a7b9f10'
    Author                 = 'SmtpAuthTroubleshooter contributors'
    CompanyName            = 'SmtpAuthTroubleshooter contributors'
    Copyright              = '(c) SmtpAuthTroubleshooter contributors. MIT License.'
    Description            = 'Finds why an app, printer or script cannot send mail through Exchange Online authenticated SMTP (SMTP AUTH client submission), and gives the exact fix: a live SMTP AUTH probe, the tenant and mailbox settings that decide it, and a resolver that turns any error text into ranked causes.'
    PowerShellVersion      = '5.1'
    DotNetFrameworkVersion = '4.7.2'
    TypesToProcess         = @('SmtpAuthTroubleshooter.Types.ps1xml')
    FormatsToProcess       = @('SmtpAuthTroubleshooter.Format.ps1xml')
    CmdletsToExport        = @('Export-SmtpAuthReport', 'Get-SmtpAuthClient', 'Get-SmtpAuthPolicyState', 'Resolve-SmtpAuthError', 'Test-SmtpAuth')
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags                       = @('ExchangeOnline', 'SMTP', 'SMTPAUTH', 'OAuth', 'Troubleshooting', 'Microsoft365', 'PSEdition_Core', 'PSEdition_Desktop')
            ProjectUri                 = 'https://github.com/SmtpAuthTroubleshooter/SmtpAuthTroubleshooter'
            LicenseUri                 = 'https://github.com/SmtpAuthTroubleshooter/SmtpAuthTroubleshooter/blob/main/LICENSE'
            # The admin already has ExchangeOnlineManagement; it is never bundled, and import works without it.
            ExternalModuleDependencies = @('ExchangeOnlineManagement')
        }
    }
}
