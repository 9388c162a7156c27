#requires -Modules Pester
# The repository around the module: what the manifest points to exists, and the build's conventions hold.
BeforeAll {
    $script:RepoRoot = (Resolve-Path "$PSScriptRoot/../..").Path
    # The files git sees (tracked, or new and not ignored): what a commit of the work tree would take.
    $script:RepoFiles = if (Get-Command git -CommandType Application -ErrorAction SilentlyContinue) {
        @(& git -C $script:RepoRoot ls-files --cached --others --exclude-standard 2>$null |
                Where-Object { Test-Path -LiteralPath (Join-Path $script:RepoRoot $_) })
    }
}

Describe 'The repository' -Tag Repository {
    It 'has the MIT LICENSE that the manifest''s LicenseUri names, for the holder the manifest and assemblies name' {
        $manifest = Import-PowerShellDataFile (Join-Path $script:RepoRoot 'SmtpAuthTroubleshooter.psd1')
        $psData = $manifest.PrivateData.PSData
        $psData.LicenseUri | Should -BeLike "$($psData.ProjectUri)/blob/main/*"
        $licensePath = Join-Path $script:RepoRoot ($psData.LicenseUri -replace '^.*?/blob/main/', '')
        Test-Path -LiteralPath $licensePath -PathType Leaf | Should -BeTrue -Because "the manifest's LicenseUri is $($psData.LicenseUri)"

        $props = [xml](Get-Content -Raw (Join-Path $script:RepoRoot 'Directory.Build.props'))
        $holder = $props.Project.PropertyGroup.Company | Where-Object { $_ } | Select-Object -First 1
        $holder | Should -Be $manifest.CompanyName
        $license = Get-Content -Raw -LiteralPath $licensePath
        $license | Should -Match '\AMIT License\r?\n'
        $license | Should -Match "(?m)^Copyright \(c\) \d{4} $([regex]::Escape($holder))\r?$"
        $license | Should -Match 'Permission is hereby granted, free of charge'
        $manifest.Copyright | Should -Match 'MIT License'
    }

    It 'has one NuGet configuration, nuget.config at the top (a test run leaves no NuGet/NuGet.Config behind)' {
        if (-not $script:RepoFiles) { Set-ItResult -Skipped -Because 'this is not a git work tree'; return }
        $script:RepoFiles | Where-Object { (Split-Path $_ -Leaf) -eq 'nuget.config' } | Should -Be @('nuget.config')
    }

    It 'gives every analyzer severity in .editorconfig its reason in a comment above it' {
        $lines = Get-Content (Join-Path $script:RepoRoot '.editorconfig')
        $lines | Where-Object { $_ -match '^\s*root\s*=\s*true\s*$' } | Should -Not -BeNullOrEmpty
        $unexplained = for ($i = 0; $i -lt $lines.Count; $i++) {
            if ($lines[$i] -notmatch '^\s*dotnet_(diagnostic|analyzer_diagnostic)\.') { continue }
            # The nearest line above that is not another severity must be a comment.
            $j = $i - 1
            while ($j -ge 0 -and $lines[$j] -match '^\s*dotnet_(diagnostic|analyzer_diagnostic)\.') { $j-- }
            if ($j -lt 0 -or $lines[$j] -notmatch '^\s*[#;]') { $lines[$i] }
        }
        $unexplained | Should -BeNullOrEmpty
    }
}
