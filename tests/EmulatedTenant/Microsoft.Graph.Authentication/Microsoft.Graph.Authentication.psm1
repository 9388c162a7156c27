#Requires -Version 7.2
# TEST STAND-IN for Microsoft.Graph.Authentication 2.x (SHAPES.md section C). Connect-MgGraph stores a context and a
# Graph base URI (the loopback emulator); Invoke-MgGraphRequest sends requests there with a fixed bearer token and
# returns what the SDK returns: case-sensitive Hashtables by default (dates as DateTime, integers as Int64, arrays as
# object[]), PSObject, the raw JSON or the HttpResponseMessage. What it cannot mimic: ../README.md.
# Connect-MgGraph -StandInMaxRetry N imitates the SDK's own RetryHandler inside Invoke-MgGraphRequest (off by default):
# 429/503/504 retried N times, then "Too many retries performed ..." as the real module throws it.
Set-StrictMode -Version 3.0

$script:DefaultClientId = '14d82eec-204b-4c2f-b7e8-296a70dab67e'
$script:StandInToken = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJpc3MiOiJzdGFuZC1pbiJ9.'
$script:Environments = [ordered]@{
    Global   = @{ AzureADEndpoint = 'https://login.microsoftonline.com'; GraphEndpoint = 'https://graph.microsoft.com' }
    USGov    = @{ AzureADEndpoint = 'https://login.microsoftonline.us'; GraphEndpoint = 'https://graph.microsoft.us' }
    USGovDoD = @{ AzureADEndpoint = 'https://login.microsoftonline.us'; GraphEndpoint = 'https://dod-graph.microsoft.us' }
    China    = @{ AzureADEndpoint = 'https://login.chinacloudapi.cn'; GraphEndpoint = 'https://microsoftgraph.chinacloudapi.cn' }
}
$script:State = @{ Context = $null; BaseUri = $null; Client = $null; Log = [System.Collections.Generic.List[object]]::new() }

function Connect-MgGraph {
    [CmdletBinding(DefaultParameterSetName = 'UserParameterSet')]
    param(
        [Parameter(ParameterSetName = 'UserParameterSet', Position = 0)][string[]] $Scopes,
        [Alias('AppId', 'ApplicationId')][string] $ClientId,
        [Alias('Audience', 'Tenant')][string] $TenantId,
        [Parameter(ParameterSetName = 'AppCertificateParameterSet')][string] $CertificateThumbprint,
        [Parameter(ParameterSetName = 'AppCertificateParameterSet')][Alias('CertificateSubject')][string] $CertificateSubjectName,
        [Parameter(ParameterSetName = 'AppCertificateParameterSet')][System.Security.Cryptography.X509Certificates.X509Certificate2] $Certificate,
        [Parameter(ParameterSetName = 'AppSecretCredentialParameterSet')][pscredential] $ClientSecretCredential,
        [Parameter(ParameterSetName = 'AccessTokenParameterSet')][securestring] $AccessToken,
        [Parameter(ParameterSetName = 'IdentityParameterSet')][Alias('ManagedIdentity', 'ManagedServiceIdentity', 'MSI')][switch] $Identity,
        [Parameter(ParameterSetName = 'EnvironmentVariableParameterSet')][switch] $EnvironmentVariable,
        [Parameter(ParameterSetName = 'UserParameterSet')][Alias('UseDeviceAuthentication', 'DeviceCode', 'DeviceAuth', 'Device')][switch] $UseDeviceCode,
        [ValidateSet('Process', 'CurrentUser')][string] $ContextScope = 'CurrentUser',
        [ValidateSet('Global', 'USGov', 'USGovDoD', 'China')][Alias('EnvironmentName', 'NationalCloud')][string] $Environment = 'Global',
        [double] $ClientTimeout = 100,
        [switch] $NoWelcome,
        [switch] $SendCertificateChain,
        # Stand-in only: the emulator's base URI, e.g. http://127.0.0.1:5123/ (default: $env:MG_STANDIN_GRAPH_BASEURI).
        [string] $GraphBaseUri = $env:MG_STANDIN_GRAPH_BASEURI,
        # Stand-in only: the signed-in account for delegated contexts (default: admin@<initial domain of the emulated tenant>).
        [string] $StandInAccount,
        # Stand-in only: imitate the SDK's Kiota RetryHandler inside Invoke-MgGraphRequest (429/503/504 retried up to N
        # times after Retry-After, capped at 180 s, or 3 s x 2^n; then "Too many retries performed"). 0 = off (default).
        [ValidateRange(0, 10)][int] $StandInMaxRetry = 0
    )
    if (-not $GraphBaseUri) {
        $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
                [System.ArgumentException]::new('The Microsoft Graph stand-in needs -GraphBaseUri http://127.0.0.1:<port>/ (or $env:MG_STANDIN_GRAPH_BASEURI).'), 'GraphBaseUriRequired', 'InvalidArgument', $null))
    }
    $base = [uri]($GraphBaseUri.TrimEnd('/') + '/')
    if ($script:State.Client) { $script:State.Client.Dispose() }
    $handler = [System.Net.Http.SocketsHttpHandler]::new()
    $handler.PooledConnectionLifetime = [TimeSpan]::FromMinutes(2)
    $client = [System.Net.Http.HttpClient]::new($handler)
    $client.Timeout = [TimeSpan]::FromSeconds($ClientTimeout)

    # The emulator tells us its tenant (id, initial domain) on a control endpoint; fall back to placeholders.
    $tenantInfo = $null
    try {
        $probe = [System.Net.Http.HttpClient]::new(); $probe.Timeout = [TimeSpan]::FromSeconds(2)
        $tenantInfo = $probe.GetStringAsync([uri]::new($base, '_emulator/tenant')).GetAwaiter().GetResult() | ConvertFrom-Json
        $probe.Dispose()
    }
    catch { $tenantInfo = $null }

    $authType, $credentialType = switch ($PSCmdlet.ParameterSetName) {
        'AppCertificateParameterSet' { 'AppOnly', 'ClientCertificate' }
        'AppSecretCredentialParameterSet' { 'AppOnly', 'ClientSecret' }
        'AccessTokenParameterSet' { 'UserProvidedAccessToken', 'UserProvidedAccessToken' }
        'IdentityParameterSet' { 'ManagedIdentity', 'ManagedIdentity' }
        'EnvironmentVariableParameterSet' { 'EnvironmentVariable', 'EnvironmentVariable' }
        default { 'Delegated', $(if ($UseDeviceCode) { 'DeviceCode' } else { 'InteractiveBrowser' }) }
    }
    $client_ = if ($ClientSecretCredential) { $ClientSecretCredential.UserName } elseif ($ClientId) { $ClientId } else { $script:DefaultClientId }
    $account = if ($authType -ne 'Delegated') { $null } elseif ($StandInAccount) { $StandInAccount } elseif ($tenantInfo) { "admin@$($tenantInfo.initialDomain)" } else { 'admin@contoso.onmicrosoft.com' }
    $tenant = if ($TenantId) { $TenantId } elseif ($tenantInfo) { $tenantInfo.tenantId } else { [guid]::Empty.ToString() }

    $script:State.Context = [pscustomobject]@{
        PSTypeName             = 'Microsoft.Graph.PowerShell.Authentication.AuthContext'
        ClientId               = $client_
        TenantId               = $tenant
        Scopes                 = [string[]]@(if ($authType -eq 'Delegated') { @($Scopes) + @('openid', 'profile', 'offline_access') | Where-Object { $_ } | Select-Object -Unique | Sort-Object } else { @($Scopes) | Where-Object { $_ } })
        AuthType               = $authType
        TokenCredentialType    = $credentialType
        CertificateThumbprint  = if ($CertificateThumbprint) { $CertificateThumbprint } elseif ($Certificate) { $Certificate.Thumbprint } else { $null }
        CertificateSubjectName = if ($CertificateSubjectName) { $CertificateSubjectName } else { $null }
        SendCertificateChain   = [bool]$SendCertificateChain
        Account                = $account
        AppName                = if ($client_ -eq $script:DefaultClientId) { 'Microsoft Graph Command Line Tools' } else { 'SmtpAuthTroubleshooter stand-in app' }
        ContextScope           = $ContextScope
        Certificate            = $Certificate
        PSHostVersion          = $Host.Version
        ManagedIdentityId      = $null
        ClientSecret           = if ($ClientSecretCredential) { $ClientSecretCredential.Password } else { $null }
        Environment            = $Environment
    }
    $script:State.BaseUri = $base
    $script:State.Client = $client
    $script:State.MaxRetry = $StandInMaxRetry
    if (-not $NoWelcome) {
        Write-Host 'Welcome to Microsoft Graph! (TEST STAND-IN: requests go to' $base.AbsoluteUri ')'
    }
}

function Disconnect-MgGraph {
    [CmdletBinding()]
    param()
    $context = $script:State.Context
    if ($null -eq $context) {
        # The SDK throws inside its async body and its catch turns that into a non-terminating error.
        $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([System.Exception]::new('No application to sign out from.'), '', 'NotSpecified', $null))
        return
    }
    if ($script:State.Client) { $script:State.Client.Dispose() }
    $script:State.Client = $null
    $script:State.Context = $null
    $script:State.BaseUri = $null
    $context
}

function Get-MgContext {
    [CmdletBinding()]
    param()
    $script:State.Context
}

function Get-MgEnvironment {
    [CmdletBinding()]
    param([Parameter(Position = 0)][string] $Name)
    foreach ($key in $script:Environments.Keys) {
        if ($Name -and $Name -ne $key) { continue }
        [pscustomobject]@{
            PSTypeName = 'Microsoft.Graph.PowerShell.Authentication.Models.GraphEnvironment'
            Name = $key; AzureADEndpoint = $script:Environments[$key].AzureADEndpoint; GraphEndpoint = $script:Environments[$key].GraphEndpoint; Type = 'Built-in'
        }
    }
}

# The SDK's JSON-to-Hashtable conversion (Newtonsoft JObject -> new Hashtable(): keys are CASE-SENSITIVE; JValue.Value:
# ISO date strings become DateTime, integers Int64; arrays object[]).
function ConvertTo-MgStandInHashtable($Token) {
    # JObject is an IDictionary to PowerShell, so test types instead of reading .Type; JValue leaves are inlined (speed).
    if ($Token -is [Newtonsoft.Json.Linq.JObject]) {
        $h = [System.Collections.Hashtable]::new()
        foreach ($p in $Token.Properties()) {
            $v = $p.Value
            if ($v -is [Newtonsoft.Json.Linq.JValue]) { $h.Add($p.Name, $v.Value) } else { $h.Add($p.Name, (ConvertTo-MgStandInHashtable $v)) }
        }
        return $h
    }
    if ($Token -is [Newtonsoft.Json.Linq.JArray]) {
        $a = [object[]]::new($Token.Count)
        for ($i = 0; $i -lt $a.Length; $i++) {
            $v = $Token[$i]
            $a[$i] = if ($v -is [Newtonsoft.Json.Linq.JValue]) { $v.Value } else { ConvertTo-MgStandInHashtable $v }
        }
        return , $a
    }
    $Token.Value
}

function Invoke-MgGraphRequest {
    [CmdletBinding(DefaultParameterSetName = 'Default')]
    param(
        [Parameter(Position = 0)][ValidateSet('GET', 'POST', 'PUT', 'PATCH', 'DELETE')][string] $Method = 'GET',
        [Parameter(Mandatory, Position = 1)][uri] $Uri,
        [Parameter(Position = 2, ValueFromPipeline)][object] $Body,
        [Parameter(Position = 3)][System.Collections.IDictionary] $Headers,
        [string] $OutputFilePath,
        [switch] $InferOutputFileName,
        [string] $InputFilePath,
        [string] $ContentType,
        [string] $SessionVariable,
        [string] $ResponseHeadersVariable,
        [string] $StatusCodeVariable,
        [object] $GraphRequestSession,
        [string] $UserAgent,
        [ValidateSet('HashTable', 'PSObject', 'HttpResponseMessage', 'Json')][string] $OutputType = 'HashTable',
        [switch] $PassThru,
        [switch] $SkipHeaderValidation,
        [switch] $SkipHttpErrorCheck
    )
    process {
        if ($null -eq $script:State.Context) {
            $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
                    [System.Management.Automation.ValidationMetadataException]::new('Authentication needed. Please call Connect-MgGraph.'), 'InvokeGraphRequestAuthenticationTokenConflictException', 'InvalidArgument', $null))
        }
        if ($Method -in 'POST', 'PATCH' -and $null -eq $Body -and -not $InputFilePath) {
            $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new(
                    [System.Management.Automation.ValidationMetadataException]::new("Body is required when Method is $Method."), 'InvokeGraphRequestBodyMissingWhenMethodIsSpecified', 'InvalidArgument', $null))
        }

        $target = if ($Uri.IsAbsoluteUri) { $Uri } else { [uri]::new($script:State.BaseUri, $Uri.OriginalString.TrimStart('/')) }
        $payload = $Body
        if ($payload -is [psobject]) { $payload = $payload.PSObject.BaseObject }
        if ($Method -eq 'GET' -and $payload -is [System.Collections.IDictionary]) {
            # A dictionary body on GET becomes query parameters (as the SDK does).
            $pairs = foreach ($k in $payload.Keys) { [uri]::EscapeDataString([string]$k) + '=' + [uri]::EscapeDataString([string]$payload[$k]) }
            $builder = [UriBuilder]::new($target)
            $builder.Query = (@($builder.Query.TrimStart('?')) + $pairs | Where-Object { $_ }) -join '&'
            $target = $builder.Uri
            $payload = $null
        }

        $request = [System.Net.Http.HttpRequestMessage]::new([System.Net.Http.HttpMethod]::new($Method), $target)
        $request.Headers.TryAddWithoutValidation('Authorization', "Bearer $script:StandInToken") | Out-Null
        $request.Headers.TryAddWithoutValidation('client-request-id', [guid]::NewGuid().ToString()) | Out-Null
        $request.Headers.TryAddWithoutValidation('User-Agent', $(if ($UserAgent) { $UserAgent } else { "Mozilla/5.0 (PowerShell $($PSVersionTable.PSVersion)) Invoke-MgGraphRequest (stand-in)" })) | Out-Null
        $text = $null
        if ($null -ne $payload) {
            $text = if ($payload -is [System.Collections.IDictionary]) { ConvertTo-Json -InputObject $payload -Depth 100 -Compress } elseif ($payload -is [byte[]]) { $null } else { [string]$payload }
            $request.Content = if ($payload -is [byte[]]) { [System.Net.Http.ByteArrayContent]::new($payload) } else { [System.Net.Http.StringContent]::new($text, [System.Text.Encoding]::UTF8) }
            $request.Content.Headers.ContentType = [System.Net.Http.Headers.MediaTypeHeaderValue]::Parse($(if ($ContentType) { $ContentType } else { 'application/json' }))
        }
        elseif ($InputFilePath) {
            $request.Content = [System.Net.Http.ByteArrayContent]::new([System.IO.File]::ReadAllBytes((Resolve-Path -LiteralPath $InputFilePath).ProviderPath))
            if ($ContentType) { $request.Content.Headers.ContentType = [System.Net.Http.Headers.MediaTypeHeaderValue]::Parse($ContentType) }
        }
        if ($Headers) {
            foreach ($k in $Headers.Keys) {
                if ($null -eq $Headers[$k]) { continue }
                if ($k -ieq 'Content-Type' -and $request.Content) { $request.Content.Headers.ContentType = [System.Net.Http.Headers.MediaTypeHeaderValue]::Parse([string]$Headers[$k]); continue }
                $request.Headers.Remove($k) | Out-Null
                $request.Headers.TryAddWithoutValidation($k, [string]$Headers[$k]) | Out-Null
            }
        }

        try {
            # Waits in short steps, so that stopping the pipeline (Ctrl+C, PowerShell.Stop) ends the call, as the SDK's
            # compiled cmdlet does through its cancellation token.
            $pending = $script:State.Client.SendAsync($request)
            while (-not $pending.AsyncWaitHandle.WaitOne(100)) { }
            $response = $pending.GetAwaiter().GetResult()
        }
        catch {
            $ex = $_.Exception
            while ($ex -is [System.Management.Automation.MethodInvocationException] -and $ex.InnerException) { $ex = $ex.InnerException }
            $script:State.Log.Add([pscustomobject]@{ Time = [DateTime]::UtcNow; Method = $Method; Uri = $target.AbsoluteUri; Status = $null; Error = $ex.Message })
            $id = if ($ex -is [System.Threading.Tasks.TaskCanceledException]) { 'InvokeGraphRequestTimeout' } else { 'InvokeGraphHttpResponseException' }
            $record = [System.Management.Automation.ErrorRecord]::new($ex, $id, 'InvalidOperation', $request)
            if ($ex.InnerException) { $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new($ex.InnerException.Message) }
            $PSCmdlet.ThrowTerminatingError($record)
        }

        # The SDK's RetryHandler (Kiota), when -StandInMaxRetry asked for it: same rules, same message when it gives up.
        $retries = 0
        $maxRetry = if ($script:State.ContainsKey('MaxRetry')) { [int]$script:State.MaxRetry } else { 0 }
        while ($maxRetry -gt 0 -and [int]$response.StatusCode -in 429, 503, 504) {
            $failed = $response.Content.ReadAsStringAsync().GetAwaiter().GetResult()
            if ($retries -ge $maxRetry) {
                $inner = [System.Exception[]]@(1..($retries + 1) | ForEach-Object { [System.Net.Http.HttpRequestException]::new("HTTP request failed with status code: $($response.StatusCode).$failed") })
                $aggregate = [System.AggregateException]::new("Too many retries performed. More than $retries retries encountered while sending the request.", $inner)
                $script:State.Log.Add([pscustomobject]@{ Time = [DateTime]::UtcNow; Method = $Method; Uri = $target.AbsoluteUri; Status = [int]$response.StatusCode; Error = $aggregate.Message })
                $PSCmdlet.ThrowTerminatingError([System.Management.Automation.ErrorRecord]::new($aggregate, 'InvokeGraphHttpResponseException', 'InvalidOperation', $request))
            }
            $delay = 3 * [math]::Pow(2, $retries)
            $values = $null
            if ($response.Headers.TryGetValues('Retry-After', [ref]$values)) {
                $seconds = 0
                if ([int]::TryParse(@($values)[0], [ref]$seconds)) { $delay = $seconds }
            }
            Start-Sleep -Milliseconds ([math]::Min($delay, 180) * 1000)
            $retries++
            $again = [System.Net.Http.HttpRequestMessage]::new($request.Method, $request.RequestUri)
            foreach ($h in $request.Headers) { $again.Headers.TryAddWithoutValidation($h.Key, [string[]]@($h.Value)) | Out-Null }
            $again.Headers.Remove('Retry-Attempt') | Out-Null
            $again.Headers.TryAddWithoutValidation('Retry-Attempt', "$retries") | Out-Null
            if ($request.Content) {
                $again.Content = [System.Net.Http.ByteArrayContent]::new($request.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult())
                foreach ($h in $request.Content.Headers) { $again.Content.Headers.TryAddWithoutValidation($h.Key, [string[]]@($h.Value)) | Out-Null }
            }
            $request = $again
            $pending = $script:State.Client.SendAsync($request)
            while (-not $pending.AsyncWaitHandle.WaitOne(100)) { }
            $response = $pending.GetAwaiter().GetResult()
        }

        $status = [int]$response.StatusCode
        $content = $response.Content.ReadAsStringAsync().GetAwaiter().GetResult()
        $script:State.Log.Add([pscustomobject]@{ Time = [DateTime]::UtcNow; Method = $Method; Uri = $target.AbsoluteUri; Status = $status; Error = $null })
        if (-not $response.IsSuccessStatusCode -and -not $SkipHttpErrorCheck) {
            $message = 'Response status code does not indicate success: {0} ({1}).' -f $response.StatusCode, $response.ReasonPhrase
            $exception = [System.Net.Http.HttpRequestException]::new($message, $null, $response.StatusCode)
            Add-Member -InputObject $exception -NotePropertyName Response -NotePropertyValue $response
            $record = [System.Management.Automation.ErrorRecord]::new($exception, 'InvokeGraphHttpResponseException', 'InvalidOperation', $request)
            if ($content) { $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new($content) }
            $PSCmdlet.ThrowTerminatingError($record)
        }

        if ($StatusCodeVariable) { $PSCmdlet.SessionState.PSVariable.Set($StatusCodeVariable, $status) }
        if ($ResponseHeadersVariable) {
            $headers = [System.Collections.Generic.Dictionary[string, System.Collections.Generic.List[string]]]::new([StringComparer]::OrdinalIgnoreCase)
            foreach ($h in @($response.Headers) + @($response.Content.Headers)) { $headers[$h.Key] = [System.Collections.Generic.List[string]]::new([string[]]@($h.Value)) }
            $PSCmdlet.SessionState.PSVariable.Set($ResponseHeadersVariable, $headers)
        }
        if ($OutputFilePath) {
            [System.IO.File]::WriteAllText($ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutputFilePath), $content)
            if (-not $PassThru) { return }
        }

        switch ($OutputType) {
            'HttpResponseMessage' { return $response }
            'Json' { return $content }
            'PSObject' {
                try { return ConvertFrom-Json -InputObject $content -Depth 100 } catch { return $content }
            }
            default {
                try { $token = [Newtonsoft.Json.Linq.JToken]::Parse($content) } catch { return $content }
                return (ConvertTo-MgStandInHashtable $token)
            }
        }
    }
}

function Get-MgStandInRequestLog {
    <# Every Invoke-MgGraphRequest (Time, Method, Uri, Status, Error), oldest first. #>
    [CmdletBinding()]
    param()
    $script:State.Log
}

function Reset-MgStandIn {
    <# Clears the request log; -Disconnect also drops the context. #>
    [CmdletBinding(SupportsShouldProcess)]
    param([switch] $Disconnect)
    if (-not $PSCmdlet.ShouldProcess('Microsoft Graph stand-in', 'Reset')) { return }
    $script:State.Log.Clear()
    if ($Disconnect) {
        if ($script:State.Client) { $script:State.Client.Dispose() }
        $script:State.Client = $null; $script:State.Context = $null; $script:State.BaseUri = $null
    }
}

Set-Alias -Name Connect-Graph -Value Connect-MgGraph
Set-Alias -Name Disconnect-Graph -Value Disconnect-MgGraph
Set-Alias -Name Invoke-GraphRequest -Value Invoke-MgGraphRequest
Export-ModuleMember -Function * -Alias *
