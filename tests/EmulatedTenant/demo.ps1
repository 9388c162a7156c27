# The offline demo's scenarios, shared by `build.ps1 Demo` (tools/Demo.ps1) and the end-to-end Pester tests
# (tests/Pester/Diagnosis.Tests.ps1). Dot-source after importing the module under test.
#   Start-DemoTenant     starts the SMTP emulator and the Graph emulator for each demo tenant, imports the stand-in
#                        ExchangeOnlineManagement and Microsoft.Graph.Authentication modules.
#   Invoke-DemoScenario  runs the full pipeline for one scenario:
#                        Get-SmtpAuthPolicyState | Test-SmtpAuth | Resolve-SmtpAuthError
#   Stop-DemoTenant      stops everything.
. "$PSScriptRoot/tenant.ps1"
. "$PSScriptRoot/../Pester/emulator.ps1"

$script:DemoScenarios = @(
    @{ Name = 'Healthy basic auth'; Tenant = 'demo'; Upn = 'healthy.basic@contoso.com'; Password = 'Demo-Healthy-1!'; ExpectCause = 'BasicAuthRetired'; ExpectVerdict = 'Advisory'; ExpectSucceeded = $true }
    @{ Name = 'Healthy app-only OAuth'; Tenant = 'demo'; Upn = 'notifications@contoso.com'; App = 'b1000000-0000-4000-8000-000000000001'; ExpectCause = $null; ExpectSucceeded = $true }
    @{ Name = 'Tenant SMTP AUTH off, mailbox inherits'; Tenant = 'demo'; Upn = 'tenant.inherit@contoso.com'; Password = 'Demo-Inherit-3!'; ExpectCause = 'TenantSmtpAuthDisabled'; ExpectVerdict = 'Confirmed'; ExpectCommand = "Set-CASMailbox -Identity 'tenant.inherit@contoso.com' -SmtpClientAuthenticationDisabled `$false" }
    @{ Name = 'Mailbox override on, tenant off'; Tenant = 'demo'; Upn = 'smtp.override@contoso.com'; Password = 'Demo-Override-2!'; ExpectCause = 'BasicAuthRetired'; ExpectVerdict = 'Advisory'; ExpectSucceeded = $true }
    @{ Name = 'Security defaults on'; Tenant = 'securitydefaults'; Upn = 'scanner@fabrikam.com'; Password = 'Demo-Scanner-1!'; ExpectCause = 'SecurityDefaultsBlockBasicAuth'; ExpectVerdict = 'Confirmed' }
    @{ Name = 'Conditional Access blocks other clients'; Tenant = 'demo'; Upn = 'ca.blocked@contoso.com'; Password = 'Demo-CaBlock-7!'; ExpectCause = 'ConditionalAccessBlocksLegacyAuth'; ExpectVerdict = 'Confirmed' }
    @{ Name = 'Wrong password'; Tenant = 'demo'; Upn = 'wrong.password@contoso.com'; Password = 'Not-The-Password-0'; ExpectCause = 'InvalidCredentials'; ExpectVerdict = 'Confirmed' }
    @{ Name = 'Graph token instead of an Exchange token'; Tenant = 'demo'; Upn = 'notifications@contoso.com'; App = 'b1000000-0000-4000-8000-000000000001'; Audience = 'https://graph.microsoft.com'; ExpectCause = 'TokenWrongAudience'; ExpectVerdict = 'Confirmed' }
    @{ Name = 'Service principal not registered'; Tenant = 'demo'; Upn = 'notifications@contoso.com'; App = 'b1000000-0000-4000-8000-000000000002'; ExpectCause = 'ServicePrincipalNotRegistered'; ExpectVerdict = 'Confirmed'; ExpectCommand = 'New-ServicePrincipal -AppId <appId> -ObjectId <objectId>' }
    @{ Name = 'SendAs denied'; Tenant = 'demo'; Upn = 'sendas.denied@contoso.com'; Password = 'Demo-SendAs-15!'; From = 'info@contoso.com'; ExpectCause = 'SendAsDenied'; ExpectVerdict = 'Confirmed' }
)

function Start-DemoTenant {
    $script:DemoSavedModulePath = $env:PSModulePath
    Import-EmulatedTenantModules
    $scenarioDir = (Resolve-Path "$PSScriptRoot/../SmtpAuthTroubleshooter.ExoEmulator/Scenarios").Path
    $script:DemoTenants = @{}
    foreach ($t in @(@{ Key = 'demo'; File = 'demo-tenant.json' }, @{ Key = 'securitydefaults'; File = 'securitydefaults-tenant.json' })) {
        $script:DemoTenants[$t.Key] = [pscustomobject]@{
            Scenario = Join-Path $scenarioDir $t.File
            Smtp     = Start-ExoEmulator -Scenario $t.File
            Graph    = Start-GraphEmulator -Scenario $t.File
        }
    }
    $script:DemoCurrent = $null
}

function Stop-DemoTenant {
    foreach ($t in @($script:DemoTenants.Values)) {
        Stop-ExoEmulator $t.Smtp
        Stop-GraphEmulator $t.Graph
    }
    Disconnect-ExchangeOnline -Confirm:$false -ErrorAction SilentlyContinue
    Disconnect-MgGraph -ErrorAction SilentlyContinue | Out-Null
    Remove-Module ExchangeOnlineManagement, Microsoft.Graph.Authentication -ErrorAction SilentlyContinue
    if ($script:DemoSavedModulePath) { $env:PSModulePath = $script:DemoSavedModulePath }
}

function Invoke-DemoScenario {
    <# Runs one scenario's pipeline; returns @{ Scenario; Probe; Findings }. #>
    param([Parameter(Mandatory)][hashtable] $Scenario)
    $tenant = $script:DemoTenants[$Scenario.Tenant]
    if ($script:DemoCurrent -ne $Scenario.Tenant) {
        # Admins work from their existing sessions: the stand-ins play Connect-ExchangeOnline and Connect-MgGraph.
        Connect-ExchangeOnline -ScenarioPath $tenant.Scenario -ShowBanner:$false
        $null = Connect-MgGraph -GraphBaseUri $tenant.Graph.BaseUri -NoWelcome
        $script:DemoCurrent = $Scenario.Tenant
    }
    $stateArgs = @{}
    if ($Scenario.App) { $stateArgs.ClientId = $Scenario.App }
    if ($Scenario.From) { $stateArgs.From = $Scenario.From }
    $probeArgs = @{ Server = '127.0.0.1'; Port = $tenant.Smtp.Port; SkipCertificateCheck = $true; WarningAction = 'SilentlyContinue'; TimeoutSec = 20 }
    if ($Scenario.App) {
        $tokenArgs = @{ App = $Scenario.App; Scenario = (Split-Path $tenant.Scenario -Leaf) }
        if ($Scenario.Audience) { $tokenArgs.Audience = $Scenario.Audience }
        $probeArgs.AccessToken = New-TestToken @tokenArgs
    }
    else {
        $probeArgs.Credential = [pscredential]::new($Scenario.Upn, (ConvertTo-SecureString $Scenario.Password -AsPlainText -Force))
    }
    if ($Scenario.From) {
        $probeArgs.SendTestMessage = $true
        $probeArgs.From = $Scenario.From
        $probeArgs.To = 'someone@contoso.com'
        $probeArgs.Confirm = $false
    }
    $probe = Get-SmtpAuthPolicyState $Scenario.Upn @stateArgs -WarningAction SilentlyContinue | Test-SmtpAuth @probeArgs
    $findings = @($probe | Resolve-SmtpAuthError)
    [pscustomobject]@{ Scenario = $Scenario; Probe = $probe; Findings = $findings }
}
