# Dot-sourced by the module tests against servers that are not Exchange Online (Test-SmtpAuth.Exim.Tests.ps1,
# Test-SmtpAuth.Aiosmtpd.Tests.ps1): what a diagnosis of such a server must never say. Set $script:ServerName first.

# Causes that only Exchange Online / Entra can produce (tenant or mailbox settings, Microsoft's policies, its OAuth, its
# limits). For another server none of them can be Confirmed.
$script:ExchangeOnlyCauses = @(
    'TenantSmtpAuthDisabled', 'MailboxSmtpAuthDisabled', 'AuthenticationPolicyBlocksBasicSmtp', 'SecurityDefaultsBlockBasicAuth',
    'ConditionalAccessBlocksLegacyAuth', 'MfaRequired', 'BasicAuthRetired', 'BasicAuthDisabledForAccount', 'UserNameNotUpn',
    'AccountIssue', 'SharedMailboxSignIn', 'FederatedStsFailure', 'TokenWrongAudience', 'TokenMissingPermission', 'TokenUserMismatch',
    'ServicePrincipalNotRegistered', 'MailboxPermissionMissing', 'OAuthTokenRejected', 'SendAsDenied', 'RestrictedSender',
    'ConcurrentConnectionLimit', 'RecipientRateLimit', 'ContinuousErrorThrottling', 'TenantExternalRecipientLimit', 'TenantBlocked')
$script:ExchangeFix = '\b(Set-CASMailbox|Set-TransportConfig|Set-AuthenticationPolicy|New-AuthenticationPolicy|Set-OrganizationConfig|Set-User|Set-Mailbox|Add-MailboxPermission|Add-RecipientPermission|New-ServicePrincipal|Remove-BlockedSenderAddress|New-InboundConnector|Connect-ExchangeOnline|Update-MgUser|Invoke-MgGraphRequest|Connect-MgGraph)\b'

function Resolve-Findings($InputObject) { @($InputObject | Resolve-SmtpAuthError -WarningAction SilentlyContinue) }

function Assert-NotExchangeDiagnosis($Findings) {
    # A diagnosis of a non-Exchange server: no Exchange-only cause Confirmed, no Exchange/Entra command as the top fix.
    $Findings.Count | Should -BeGreaterThan 0
    foreach ($f in $Findings) {
        if ($f.CauseId -in $script:ExchangeOnlyCauses) { "$($f.Verdict)" | Should -Not -Be 'Confirmed' -Because "$($f.CauseId) is an Exchange Online cause and the server is $script:ServerName" }
    }
    "$($Findings[0].RemediationCommand)" | Should -Not -Match $script:ExchangeFix -Because "the top finding ($($Findings[0].CauseId)) is about $script:ServerName, not Exchange Online"
}

function Get-ResultText($Result) {
    # Everything a user can see or export of a result: every property value, the list view, the JSON.
    (@($Result.PSObject.Properties | ForEach-Object { "$($_.Value)" }) -join "`n") + "`n" +
    ($Result | Format-List * | Out-String -Width 4096) + "`n" + ($Result | ConvertTo-Json -Depth 4 -WarningAction SilentlyContinue)
}

# Advice that only fits Exchange Online or Entra (its sign-in logs, UPN, cmdlets, endpoint).
$script:ExchangeAdvice = 'sign-in log|\bUPN\b|UserPrincipalName|Get-User|Set-CASMailbox|smtp\.office365\.com|Entra'

function Assert-OtherServerAdvice($Findings, [string] $Named) {
    # Where the module knows the reply came from this server (a probe of it, or the server's own words in pasted text):
    # no reading that is still open gives Exchange Online's checks, fix, command or page, and the top fix names the server.
    $open = @($Findings | Where-Object { "$($_.Verdict)" -ne 'RuledOut' })
    $open.Count | Should -BeGreaterThan 0
    foreach ($f in $open) {
        "$($f.Remediation) $($f.Checks)" | Should -Not -Match $script:ExchangeAdvice -Because "$($f.CauseId) is read for $script:ServerName, not Exchange Online"
        $f.RemediationCommand | Should -BeNullOrEmpty -Because "$($f.CauseId): every command the catalog has is an Exchange Online or Graph command"
        "$($f.DocumentationUrl)" | Should -Not -Match 'learn\.microsoft\.com' -Because "$($f.CauseId) links Microsoft's page for $script:ServerName"
    }
    if ($Named) { $open[0].Remediation | Should -Match ([regex]::Escape($Named)) }
}
