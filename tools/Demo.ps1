#requires -Version 7.4
<#
.SYNOPSIS
    The offline demo: starts the emulated tenant (Exchange Online SMTP emulator, stand-in ExchangeOnlineManagement
    module, Graph loopback endpoint), runs Get-SmtpAuthPolicyState | Test-SmtpAuth | Resolve-SmtpAuthError for each
    demo account, prints the diagnosis table and each scenario's fix (readable at 120 columns), then stops everything.
    No tenant, no network. The scenarios and the report live in tests/EmulatedTenant/demo.ps1 (Show-Demo).
#>
param([Parameter(Mandatory)][string] $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force
. "$PSScriptRoot/../tests/EmulatedTenant/demo.ps1"
Show-Demo
