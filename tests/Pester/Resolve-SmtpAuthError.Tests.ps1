#requires -Modules Pester
BeforeAll {
    . "$PSScriptRoot/common.ps1"
    Import-Module $script:ModuleManifest -Force
    $script:Tenant = '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM 2023-11-29T14:52:57.126Z 08DBE7319275F6BA]'
    $script:Wrapped = 'Send-MailMessage : The SMTP server requires a secure connection or the client was not authenticated. The server response was: 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [SN4PR0201CA0068.namprd02.prod.outlook.com 2024-05-02T10:11:12.345Z 08DC6A1B2C3D4E5F]'
}

Describe 'Resolve-SmtpAuthError' -Tag Resolve {
    It 'resolves a raw reply from the pipeline, most likely cause first, with the diagnostic tail kept apart' {
        $findings = @($script:Tenant | Resolve-SmtpAuthError)
        $findings[0].PSObject.TypeNames[0] | Should -BeExactly 'SmtpAuthTroubleshooter.SmtpAuthFinding'
        $findings[0].CauseId | Should -BeExactly 'TenantSmtpAuthDisabled'
        $findings[0].Rank | Should -Be 1
        $findings[0].Verdict | Should -Be 'Likely'
        $findings[0].ReplyCode | Should -Be 535
        $findings[0].EnhancedStatusCode | Should -BeExactly '5.7.139'
        $findings[0].RemediationCommand | Should -Match 'Set-CASMailbox -Identity .+ -SmtpClientAuthenticationDisabled \$false'
        $findings[0].DiagnosticServer | Should -BeExactly 'BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM'
        $findings[0].DiagnosticId | Should -BeExactly '08DBE7319275F6BA'
        $findings[0].ReplyText | Should -Not -Match 'BN1P110CA0052'
    }

    It 'digs the embedded AUTH error out of a System.Net.Mail 5.7.57' {
        $findings = @(Resolve-SmtpAuthError $script:Wrapped)
        $findings[0].CauseId | Should -BeExactly 'InvalidCredentials'
        $findings[0].ReplyCode | Should -Be 535
        $findings[0].EnhancedStatusCode | Should -BeExactly '5.7.139'
        $findings[0].Source | Should -BeExactly 'System.Net.Mail'
        $findings.CauseId | Should -Contain 'NotAuthenticated'
        ($findings | Where-Object CauseId -eq 'NotAuthenticated').Rank | Should -BeGreaterThan 1
    }

    It 'reads an ErrorRecord and walks inner exceptions' {
        $inner = [System.Exception]::new('535: 5.7.139 Authentication unsuccessful, user is locked by your organization''s security defaults policy. Contact your administrator.')
        $outer = [System.InvalidOperationException]::new('Sending failed.', $inner)
        $record = try { throw $outer } catch { $_ }
        $findings = @($record | Resolve-SmtpAuthError)
        $findings[0].CauseId | Should -BeExactly 'SecurityDefaultsBlockBasicAuth'
    }

    It 'reads an exception object' {
        $ex = [System.Exception]::new('535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully. Contact your administrator.')
        (Resolve-SmtpAuthError -InputObject $ex)[0].CauseId | Should -BeExactly 'MfaRequired'
    }

    It 'reads any object with a ReplyText, Message or Exception property, and its context' {
        $probe = [pscustomobject]@{ UserName = 'app@contoso.com'; AuthMethod = 'OAuth'; FailedPhase = 'Auth'; ReplyText = '535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]' }
        $findings = @($probe | Resolve-SmtpAuthError)
        $findings[0].CauseId | Should -BeExactly 'OAuthTokenRejected'
        $findings[0].UserPrincipalName | Should -BeExactly 'app@contoso.com'
        $findings.CauseId | Should -Not -Contain 'InvalidCredentials'

        $basic = [pscustomobject]@{ Message = '535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]' }
        (@($basic | Resolve-SmtpAuthError -AuthMethod Basic))[0].CauseId | Should -BeExactly 'InvalidCredentials'

        $hash = @{ Exception = [System.Exception]::new('550 5.7.30 Basic authentication is not supported for Client Submission.') }
        (@(Resolve-SmtpAuthError $hash))[0].CauseId | Should -BeExactly 'BasicAuthRetired'
    }

    It 'fills the fix command with the account named by -UserPrincipalName' {
        $f = @(Resolve-SmtpAuthError $script:Tenant -UserPrincipalName 'scanner@contoso.com')[0]
        $f.RemediationCommand | Should -BeExactly "Set-CASMailbox -Identity 'scanner@contoso.com' -SmtpClientAuthenticationDisabled `$false"
    }

    It 'gives one Unrecognized finding for unknown text, with the parsed codes' {
        $f = @('554 5.6.99 Something nobody has seen [XX1PR01CA0001.PROD.OUTLOOK.COM]' | Resolve-SmtpAuthError)
        $f.Count | Should -Be 1
        $f[0].CauseId | Should -BeExactly 'Unrecognized'
        $f[0].EnhancedStatusCode | Should -BeExactly '5.6.99'
        $f[0].ReplyCode | Should -Be 554
        $f[0].Evidence | Should -Match 'message content'
        $f[0].Remediation | Should -Not -BeNullOrEmpty
    }

    It 'rejects $null and empty input at parameter binding' {
        { Resolve-SmtpAuthError -InputObject $null } | Should -Throw -ErrorId 'ParameterArgumentValidationError,SmtpAuthTroubleshooter.Commands.ResolveSmtpAuthErrorCommand'
        { Resolve-SmtpAuthError -InputObject '' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,SmtpAuthTroubleshooter.Commands.ResolveSmtpAuthErrorCommand'
    }

    It 'writes one non-terminating error per bad item and goes on with the rest of the pipeline' {
        $items = @($script:Tenant, '   ', 42, $script:Wrapped, [pscustomobject]@{ Name = 'no text here' }, $null, '535 5.7.139 Authentication unsuccessful, account locked.')
        $findings = @($items | Resolve-SmtpAuthError -ErrorVariable err -ErrorAction SilentlyContinue)
        @($findings | Where-Object Rank -eq 1).CauseId | Should -Be @('TenantSmtpAuthDisabled', 'InvalidCredentials', 'AccountLocked')
        $err.Count | Should -Be 4
        $ids = $err.FullyQualifiedErrorId
        $ids | Should -Contain 'InputObjectEmpty,SmtpAuthTroubleshooter.Commands.ResolveSmtpAuthErrorCommand'
        $ids | Should -Contain 'InputObjectUnsupported,SmtpAuthTroubleshooter.Commands.ResolveSmtpAuthErrorCommand'
        ($err | Where-Object { $_.FullyQualifiedErrorId -like 'InputObjectUnsupported*' -and $_.TargetObject -eq 42 }) | Should -Not -BeNullOrEmpty
        ($err | Where-Object FullyQualifiedErrorId -like 'InputObjectEmpty*').ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        ($err | Where-Object FullyQualifiedErrorId -like 'InputObjectEmpty*').CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'writes every property as a scalar, so Export-Csv has no System.* type names' {
        $csv = Join-Path $TestDrive 'findings.csv'
        $findings = @($script:Tenant, $script:Wrapped, 'gibberish') | Resolve-SmtpAuthError
        foreach ($p in $findings[0].PSObject.Properties) {
            $p.TypeNameOfValue | Should -Match '^System\.(String|Int32|Boolean|Nullable`1\[\[System\.(Int32|DateTimeOffset)[^\]]*\]\])$|^SmtpAuthTroubleshooter\.Verdict$' -Because "$($p.Name) must be a scalar"
        }
        $findings | Export-Csv -Path $csv -NoTypeInformation
        $text = Get-Content -Raw $csv
        $text | Should -Not -Match 'System\.(Object|Collections|Management|Int32\[\]|String\[\])'
        $rows = Import-Csv $csv
        $rows[0].CauseId | Should -BeExactly 'TenantSmtpAuthDisabled'
        $rows[0].PSObject.Properties.Name[0] | Should -BeExactly 'UserPrincipalName'
        ($rows | Select-Object -Last 1).CauseId | Should -BeExactly 'Unrecognized'
    }

    It 'shows a compact default table with the answer first' {
        $table = $script:Tenant | Resolve-SmtpAuthError | Format-Table | Out-String -Width 200
        $table | Should -Match 'Verdict\s+CauseId'
        $table | Should -Match 'Likely\s+TenantSmtpAuthDisabled'
    }

    It 'narrates with -Verbose' {
        $verbose = $script:Tenant | Resolve-SmtpAuthError -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match 'TenantSmtpAuthDisabled'
    }
}

Describe 'The default table at 120 columns' -Tag Resolve {
    It 'keeps the fix command whole: nothing cut, nothing split inside a word, and it runs as one command when copied' {
        # Issue 10: the Fix column is the widest cell; a cut command is no fix.
        $out = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant." |
            Resolve-SmtpAuthError -UserPrincipalName "o'brien.scanner@contoso.com" | Out-String -Width 120
        $lines = @($out -split "\r?\n" | Where-Object { $_ -match '\S' })
        $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 120 }
        $lines | Should -Not -Match '…'
        $fixStart = $lines[0].IndexOf('Fix')
        $cell = ($lines | Select-Object -Skip 2 | ForEach-Object { $_.Substring([Math]::Min($fixStart, $_.Length)).TrimEnd() }) -join "`n"
        $tokens = $null; $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($cell, [ref]$tokens, [ref]$errors)
        @($errors) | Should -BeNullOrEmpty
        $commands = @($ast.FindAll({ $args[0] -is [System.Management.Automation.Language.CommandAst] }, $true))
        $commands.Count | Should -Be 1
        $commands[0].GetCommandName() | Should -BeExactly 'Set-CASMailbox'
        $commands[0].CommandElements.Extent.Text | Should -Contain '-SmtpClientAuthenticationDisabled'
        ($commands[0].CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $_.StringConstantType -eq 'SingleQuoted' }).Value |
            Should -BeExactly "o'brien.scanner@contoso.com"
    }

    It 'wraps the probe''s reply and the policy state''s BlockedBy at spaces, never inside a word' {
        # The table's own wrap cuts at the column edge ("SmtpClientAu" / "thentication"); the views wrap at spaces first.
        $reply = '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM 2026-11-29T14:52:57.126Z 08DBE7319275F6BA]'
        $probe = [SmtpAuthTroubleshooter.SmtpAuthTestResult]@{ Server = 'smtp.office365.com'; Port = 587; UserName = 'scanner@contoso.com'; ReplyText = $reply; FailedPhase = 'Auth' }
        $state = [SmtpAuthTroubleshooter.SmtpAuthPolicyState]@{ UserPrincipalName = 'scanner@contoso.com'; BasicAuthBlockedBy = 'TenantSmtpAuthDisabled; SecurityDefaultsBlockBasicAuth; ConditionalAccessBlocksLegacyAuth; AuthenticationPolicyBlocksBasicSmtp' }
        foreach ($case in @(@{ Object = $probe; Words = $reply -split ' ' }, @{ Object = $state; Words = $state.BasicAuthBlockedBy -split ' ' })) {
            $lines = @($case.Object | Format-Table | Out-String -Width 120) -split "\r?\n" | Where-Object { $_ -match '\S' }
            $lines | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 120 }
            $text = $lines -join "`n"
            foreach ($word in $case.Words) { $text | Should -Match ([regex]::Escape($word)) -Because "'$word' must not be split across lines" }
        }
    }
}
