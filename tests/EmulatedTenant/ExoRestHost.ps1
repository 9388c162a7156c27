#requires -Version 7.2
<#
.SYNOPSIS
    Exchange Online out of process: serves the ExchangeOnlineManagement stand-in over HTTP on 127.0.0.1, so that the
    process under test holds no scenario. A real Exchange Online session holds none either: ExchangeOnlineManagement v3
    is a REST client that fetches pages of results from Microsoft's servers.
.DESCRIPTION
    Run in its own pwsh (Start-ExoRestHost in tenant.ps1 does): imports the stand-in from this folder, loads
    -ScenarioPath, listens on 127.0.0.1:<-Port> (0, the default: an ephemeral port), prints
    "LISTENING http://127.0.0.1:<port>/" as its first line on stdout (nothing else goes to stdout), and serves until
    stdin closes (unless -IgnoreStdin) or POST /_host/quit. A client imports the same stand-in module and runs
    Connect-ExchangeOnline -ConnectionUri http://127.0.0.1:<port>/: from then on every exported command of the stand-in
    (the test hooks included) is sent here (see "remote mode" in ExchangeOnlineManagement.psm1).

    Protocol: HTTP/1.1, one request per connection (Connection: close), bodies CliXml (PSSerializer):
      POST /invoke  @{ Command; Parameters; HasInput; Input; Open }   -> a page
      POST /next    @{ Call }                                          -> the call's next page
      POST /cancel  @{ Call }                                          -> @{ Call } (the client stopped reading it)
      GET  /_host/stats   JSON: ProcessId, WorkingSetMB, PeakWorkingSetMB, request/call/page/object counts, the
                          suspended calls and the last 50 calls (Id, Command, Pages, Objects, State, Seconds)
      POST /_host/quit
    A page holds up to PageSize records (the active connection's Connect-ExchangeOnline -PageSize, 1000 by default, as
    the V3 REST cmdlets page) in the order the command wrote them, in small frames (the client deserializes one frame at
    a time): "EXOPAGE <call> <more: 0|1> <frames>\n", then per frame "<kind> <length>\n<CliXml, length chars>".
    Kind o: up to 20 consecutive output objects (an array). Kind r: one record @{ K = ... }: 'e' an error (Terminating,
    Id = FullyQualifiedErrorId without its ",<writer>" suffix, Writer = the command that wrote it, Message,
    ExceptionType, Category, Activity, Reason, TargetName, TargetType, Target, Details); 'w' a warning, 'v' verbose,
    'd' debug (M); 'i' information (M, Tags, Host = written by Write-Host).

    The command runs with the preferences Continue (the client's common parameters are applied in the client, to the
    records sent; the call log's Parameters therefore lack them), all its streams merged, and lazily: once a page is
    full it is sent, and the command waits, inside its own pipeline, until the client asks for the next page; nothing
    is computed ahead. While it waits, the host serves the stats and a call the client makes while still reading this
    one (its id in Open: a nested call); a cancel, or a call or next page from a client that no longer reads it, ends it
    (the command's pipeline is unwound; "Cancelled" or "Abandoned"). One client at a time.

    Latency is the stand-in's own: Set-ExoStandInDelay / Connect-ExchangeOnline -DelayMilliseconds delay each call once,
    in Enter-StandInCall, before its first page; the next pages of a call cost no delay.
.PARAMETER ScenarioPath
    The scenario to load before listening; a Connect-ExchangeOnline that comes without -ScenarioPath connects to it.
.PARAMETER DelayMilliseconds
    Set-ExoStandInDelay for every cmdlet from the start (a client's Reset-ExoStandIn clears it).
#>
param(
    [string] $ScenarioPath,
    [ValidateRange(0, 600000)][int] $DelayMilliseconds = 0,
    [ValidateRange(0, 65535)][int] $Port = 0,
    [switch] $IgnoreStdin
)
# The stand-in's functions see the global preferences (not this script's scopes): every record is kept and sent, the
# client applies its own -ErrorAction, -WarningAction...; nothing prompts. This script's own code runs in
# Invoke-HostMain, where $ErrorActionPreference is Stop.
$global:ErrorActionPreference = 'Continue'
$global:WarningPreference = 'Continue'
$global:InformationPreference = 'Continue'
$global:ProgressPreference = 'SilentlyContinue'
$global:ConfirmPreference = 'None'
Set-StrictMode -Version 3.0

Import-Module (Join-Path $PSScriptRoot 'ExchangeOnlineManagement/ExchangeOnlineManagement.psd1') -Force -ErrorAction Stop
$script:StandIn = Get-Module ExchangeOnlineManagement
& $script:StandIn { $script:RemoteHostMode = $true }   # here -ConnectionUri is recorded, never followed
$script:Commands = [System.Collections.Generic.HashSet[string]]::new([string[]]@($script:StandIn.ExportedFunctions.Keys), [StringComparer]::OrdinalIgnoreCase)
if ($ScenarioPath) {
    $ScenarioPath = [System.IO.Path]::GetFullPath($ScenarioPath)
    & $script:StandIn { param($Path) $ErrorActionPreference = 'Stop'; $null = Import-StandInScenario $Path } $ScenarioPath   # cached: the client's connect is quick
}
if ($DelayMilliseconds -gt 0) { Set-ExoStandInDelay $DelayMilliseconds -ErrorAction Stop }

$script:Depth = 10
$script:ChunkSize = 20
$script:Stack = [System.Collections.Generic.List[object]]::new()     # the calls suspended inside one another, outermost first
$script:Recent = [System.Collections.Generic.List[object]]::new()
$script:Pending = $null      # a request read by a suspended call that belongs further out: served once the stack unwinds
$script:Unwinding = 0        # the id of the call being ended (its pipeline is unwound by an exception)
$script:Quitting = $false
$script:NextCallId = 0L
$script:Stats = [ordered]@{ Requests = 0; Invocations = 0; Pages = 0; Objects = 0; Cancelled = 0; Abandoned = 0 }
$script:Utf8 = [System.Text.UTF8Encoding]::new($false)

$listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $Port)
$listener.Start()
$script:Listener = $listener
$script:AcceptTask = $null
$script:StdinBuffer = [byte[]]::new(256)
$script:Stdin = if ($IgnoreStdin) { $null } else { [Console]::OpenStandardInput() }
$script:StdinTask = if ($script:Stdin) { $script:Stdin.ReadAsync($script:StdinBuffer, 0, $script:StdinBuffer.Length) } else { $null }

function Write-HostLog([string] $Text) { [Console]::Error.WriteLine("exo-rest-host: $Text") }

# ------------------------------------------------------------------------------------------------ HTTP

# The next request (a pending one first); $null when stdin has closed. Connections that fail are dropped.
function Receive-HostRequest {
    if ($null -ne $script:Pending) { $r = $script:Pending; $script:Pending = $null; return $r }
    while ($true) {
        if ($null -eq $script:AcceptTask) { $script:AcceptTask = $script:Listener.AcceptTcpClientAsync() }
        $tasks = if ($script:StdinTask) { [System.Threading.Tasks.Task[]]@($script:AcceptTask, $script:StdinTask) } else { [System.Threading.Tasks.Task[]]@($script:AcceptTask) }
        $done = [System.Threading.Tasks.Task]::WaitAny($tasks)
        if ($done -eq 1) {
            if ($script:StdinTask.IsFaulted -or $script:StdinTask.Result -le 0) { return $null }
            $script:StdinTask = $script:Stdin.ReadAsync($script:StdinBuffer, 0, $script:StdinBuffer.Length)
            continue
        }
        $client = $null
        try {
            $client = $script:AcceptTask.GetAwaiter().GetResult()
            $script:AcceptTask = $null
            $request = Read-HostRequest $client
            $script:Stats.Requests++
            return $request
        }
        catch {
            $script:AcceptTask = $null
            Write-HostLog "dropped a connection: $($_.Exception.Message)"
            if ($client) { $client.Dispose() }
        }
    }
}

function Read-HostRequest([System.Net.Sockets.TcpClient] $Client) {
    $Client.NoDelay = $true
    $stream = $Client.GetStream()
    $stream.ReadTimeout = 60000
    $chunk = [byte[]]::new(65536)
    $data = [System.IO.MemoryStream]::new()
    $headerEnd = -1
    while ($headerEnd -lt 0) {
        $n = $stream.Read($chunk, 0, $chunk.Length)
        if ($n -le 0) { throw 'the connection closed before the request was complete' }
        $data.Write($chunk, 0, $n)
        $headerEnd = [System.Text.Encoding]::Latin1.GetString($data.GetBuffer(), 0, [int]$data.Length).IndexOf("`r`n`r`n", [StringComparison]::Ordinal)
        if ($headerEnd -lt 0 -and $data.Length -gt 65536) { throw 'request header too large' }
    }
    $lines = [System.Text.Encoding]::Latin1.GetString($data.GetBuffer(), 0, $headerEnd).Split("`r`n")
    $first = $lines[0].Split(' ')
    if ($first.Count -lt 2) { throw "bad request line '$($lines[0])'" }
    $length = 0
    foreach ($line in $lines) { if ($line -match '^Content-Length:\s*(\d+)\s*$') { $length = [int]$Matches[1] } }
    $bodyStart = $headerEnd + 4
    while ($data.Length - $bodyStart -lt $length) {
        $n = $stream.Read($chunk, 0, $chunk.Length)
        if ($n -le 0) { throw 'the connection closed before the request body was complete' }
        $data.Write($chunk, 0, $n)
    }
    $request = @{ Client = $Client; Method = $first[0]; Path = $first[1].Split('?')[0]; Data = $null }
    if ($length -gt 0) {
        $text = $script:Utf8.GetString($data.GetBuffer(), $bodyStart, $length)
        if ($request.Path -in '/invoke', '/next', '/cancel') { $request.Data = [System.Management.Automation.PSSerializer]::Deserialize($text) }
    }
    $request
}

function Send-HostResponse($Client, [int] $Status, [string] $ContentType, [string] $Text) {
    try {
        $body = $script:Utf8.GetBytes($Text)
        $reason = switch ($Status) { 200 { 'OK' } 400 { 'Bad Request' } 404 { 'Not Found' } 410 { 'Gone' } default { 'Error' } }
        $head = [System.Text.Encoding]::ASCII.GetBytes("HTTP/1.1 $Status $reason`r`nContent-Type: $ContentType; charset=utf-8`r`nContent-Length: $($body.Length)`r`nConnection: close`r`n`r`n")
        $stream = $Client.GetStream()
        $stream.Write($head, 0, $head.Length)
        $stream.Write($body, 0, $body.Length)
        $stream.Flush()
        $Client.Client.Shutdown([System.Net.Sockets.SocketShutdown]::Send)
    }
    catch { Write-HostLog "could not answer: $($_.Exception.Message)" }
    finally { $Client.Dispose() }
}

function Send-HostClixml($Client, $Value) {
    Send-HostResponse $Client 200 'application/clixml' ([System.Management.Automation.PSSerializer]::Serialize($Value, $script:Depth))
}

# ------------------------------------------------------------------------------------------------ calls

# Serves requests until the client asks for the next page of $Call (which then has the connection to answer on), or,
# with $Call $null (the top level), until stdin closes. Ends $Call (Stop-HostCall) when the client no longer reads it.
function Wait-HostRequest($Call) {
    while ($true) {
        $request = Receive-HostRequest
        if ($null -eq $request) { $script:Quitting = $true; throw 'exo-rest-host: stdin closed' }
        if ($request.Path -in '/next', '/cancel', '/invoke' -and $request.Data -isnot [hashtable]) {
            Send-HostResponse $request.Client 400 'text/plain' "$($request.Path) needs a CliXml hashtable body."
            continue
        }
        switch ($request.Path) {
            '/next' {
                $id = [long]$request.Data.Call
                if ($null -ne $Call -and $id -eq $Call.Id) { $Call.Client = $request.Client; $Call.Clock.Start(); return }
                if (Test-HostSuspended $id) { $script:Pending = $request; Stop-HostCall $Call 'Abandoned' }   # a call further out: the client left this one
                Send-HostResponse $request.Client 410 'text/plain' "No call $id is waiting for its next page."
            }
            '/cancel' {
                $id = [long]$request.Data.Call
                if ($null -ne $Call -and $id -eq $Call.Id) { Send-HostClixml $request.Client @{ Call = $id }; Stop-HostCall $Call 'Cancelled' }
                if (Test-HostSuspended $id) { $script:Pending = $request; Stop-HostCall $Call 'Abandoned' }
                Send-HostClixml $request.Client @{ Call = $id }   # finished already
            }
            '/invoke' {
                # A call of a client that still reads $Call runs inside it (nested); any other means $Call was left.
                if ($null -ne $Call -and @($request.Data.Open) -notcontains $Call.Id) { $script:Pending = $request; Stop-HostCall $Call 'Abandoned' }
                Invoke-HostCommand $request
            }
            '/_host/stats' { Send-HostResponse $request.Client 200 'application/json' (Get-HostStats | ConvertTo-Json -Depth 4) }
            '/_host/quit' { Send-HostResponse $request.Client 200 'text/plain' 'bye'; $script:Quitting = $true; throw 'exo-rest-host: quit' }
            default { Send-HostResponse $request.Client 404 'text/plain' "Unknown path $($request.Path)." }
        }
    }
}

function Test-HostSuspended([long] $Id) {
    foreach ($c in $script:Stack) { if ($c.Id -eq $Id) { return $true } }
    $false
}

# Ends $Call: throws out of its pipeline (from its sink); Invoke-HostCommand of that call catches it.
function Stop-HostCall($Call, [string] $State) {
    $Call.State = $State
    $script:Stats[$State]++
    $script:Unwinding = $Call.Id
    throw "exo-rest-host: call $($Call.Id) $State"
}

function Get-HostPageSize {
    $size = & $script:StandIn { $c = Get-StandInActiveConnection; if ($null -ne $c) { [int]$c.PageSize } else { 0 } }
    if ($size -gt 0) { $size } else { 1000 }
}

function ConvertFrom-HostParameters([string] $Name, $Parameters) {
    $out = @{}
    if ($null -ne $Parameters) {
        foreach ($key in $Parameters.Keys) {
            $value = $Parameters[$key]
            if ($value -is [hashtable] -and $value['__ExoRemote'] -eq 'PSCredential') {
                $value = [pscredential]::new([string]$value['UserName'], [System.Net.NetworkCredential]::new('', 'not-sent').SecurePassword)
            }
            $out[[string]$key] = $value
        }
    }
    if ($Name -eq 'Connect-ExchangeOnline' -and -not $out.ContainsKey('ScenarioPath') -and $script:ScenarioPathDefault) { $out['ScenarioPath'] = $script:ScenarioPathDefault }
    $out
}

# Runs one stand-in command for a client and answers it page by page (see the synopsis).
function Invoke-HostCommand($Request) {
    $data = $Request.Data
    $name = [string]$data.Command
    if (-not $script:Commands.Contains($name)) { Send-HostResponse $Request.Client 400 'text/plain' "'$name' is not a command of the stand-in."; return }
    $parameters = ConvertFrom-HostParameters $name $data.Parameters
    $call = @{ Id = ++$script:NextCallId; Command = $name; Client = $Request.Client; Records = [System.Collections.Generic.List[object]]::new(); Pending = [System.Collections.Generic.List[object]]::new(); InPage = 0; Size = Get-HostPageSize; Pages = 0; Objects = 0; State = 'Running'; Clock = [System.Diagnostics.Stopwatch]::StartNew(); Seconds = 0.0 }
    $script:Recent.Add($call)
    if ($script:Recent.Count -gt 50) { $script:Recent.RemoveAt(0) }
    $script:Stats.Invocations++
    $script:Stack.Add($call)
    try {
        # Output objects take the short way (no function call each: a listing of 10,000 mailboxes passes here).
        $sink = {
            process {
                if ($_ -is [System.Management.Automation.InformationalRecord] -or $_ -is [System.Management.Automation.ErrorRecord] -or $_ -is [System.Management.Automation.InformationRecord]) { Add-HostRecord $call $_; return }
                $call.Pending.Add($_)
                if ($call.Pending.Count -ge $script:ChunkSize) { Complete-HostChunk $call }
                if (++$call.InPage -ge $call.Size) { Complete-HostPage $call }
            }
        }
        try {
            if ($data.HasInput) {
                $items = if ($null -eq $data.Input) { @() } else { @($data.Input) }
                $items | & $name @parameters *>&1 | & $sink
            }
            else { & $name @parameters *>&1 | & $sink }
        }
        catch {
            if ($script:Quitting) { throw }
            if ($script:Unwinding -eq $call.Id) { $script:Unwinding = 0; return }
            Add-HostFrame $call (ConvertTo-HostError $_ $true)
        }
        $call.State = 'Done'
        Complete-HostChunk $call
        Send-HostPage $call -Last
    }
    finally { $script:Stack.RemoveAt($script:Stack.Count - 1) }
}

# An error, warning, verbose, debug or information record (output objects: the sink in Invoke-HostCommand).
function Add-HostRecord($Call, $Item) {
    $record = if ($Item -is [System.Management.Automation.ErrorRecord]) { ConvertTo-HostError $Item $false }
    elseif ($Item -is [System.Management.Automation.WarningRecord]) { @{ K = 'w'; M = $Item.Message } }
    elseif ($Item -is [System.Management.Automation.VerboseRecord]) { @{ K = 'v'; M = $Item.Message } }
    elseif ($Item -is [System.Management.Automation.DebugRecord]) { @{ K = 'd'; M = $Item.Message } }
    elseif ($Item -is [System.Management.Automation.InformationRecord]) {
        $byHost = $Item.MessageData -is [System.Management.Automation.HostInformationMessage]
        @{ K = 'i'; M = $(if ($byHost) { $Item.MessageData.Message } else { $Item.MessageData }); Tags = [string[]]@($Item.Tags); Host = $byHost }
    }
    else { @{ K = 'o'; V = $Item } }   # not expected: the sink passes output objects by
    Complete-HostChunk $Call   # the objects written before it come before it
    Add-HostFrame $Call $record
    if (++$Call.InPage -ge $Call.Size) { Complete-HostPage $Call }
}

# A full page: sends it, then waits, suspended here inside the command's pipeline, until the client asks for more.
function Complete-HostPage($Call) {
    Complete-HostChunk $Call
    Send-HostPage $Call
    Wait-HostRequest $Call
}

# Consecutive output objects go in one frame, up to $script:ChunkSize: one serializer run for them (their type names
# written once), still small enough for the client to hold as a small string (20 CAS mailboxes: about 28,000 chars).
function Complete-HostChunk($Call) {
    if ($Call.Pending.Count -eq 0) { return }
    $Call.Objects += $Call.Pending.Count
    $script:Stats.Objects += $Call.Pending.Count
    $text = [System.Management.Automation.PSSerializer]::Serialize($Call.Pending.ToArray(), $script:Depth + 1)
    $Call.Records.Add("o $($text.Length)`n$text")
    $Call.Pending.Clear()
}

function Add-HostFrame($Call, [hashtable] $Record) {
    $text = [System.Management.Automation.PSSerializer]::Serialize($Record, $script:Depth)
    $Call.Records.Add("r $($text.Length)`n$text")
}

function ConvertTo-HostError([System.Management.Automation.ErrorRecord] $ErrorRecord, [bool] $Terminating) {
    $writer = if ($null -ne $ErrorRecord.InvocationInfo -and $null -ne $ErrorRecord.InvocationInfo.MyCommand) { $ErrorRecord.InvocationInfo.MyCommand.Name } else { '' }
    $id = $ErrorRecord.FullyQualifiedErrorId
    # PowerShell appends ",<command>" when a record is first written; the client's writer of that name appends it again.
    if ($writer -and $id.EndsWith(",$writer", [StringComparison]::Ordinal)) { $id = $id.Substring(0, $id.Length - $writer.Length - 1) }
    $info = $ErrorRecord.CategoryInfo
    @{
        K = 'e'; Terminating = $Terminating; Id = $id; Writer = $writer; Message = $ErrorRecord.Exception.Message; ExceptionType = $ErrorRecord.Exception.GetType().FullName
        Category = $info.Category.ToString(); Activity = $info.Activity; Reason = $info.Reason; TargetName = $info.TargetName; TargetType = $info.TargetType
        Target = $ErrorRecord.TargetObject; Details = if ($null -ne $ErrorRecord.ErrorDetails) { $ErrorRecord.ErrorDetails.Message } else { $null }
    }
}

function Send-HostPage($Call, [switch] $Last) {
    $body = [System.Text.StringBuilder]::new()
    $null = $body.Append("EXOPAGE $($Call.Id) $(if ($Last) { 0 } else { 1 }) $($Call.Records.Count)`n")
    foreach ($frame in $Call.Records) { $null = $body.Append($frame) }
    $client = $Call.Client
    $Call.Client = $null
    $Call.Records = [System.Collections.Generic.List[object]]::new()
    $Call.InPage = 0
    $Call.Pages++
    $Call.Seconds += $Call.Clock.Elapsed.TotalSeconds   # the host's time on this call: until each page is ready to send
    $Call.Clock.Reset()
    $script:Stats.Pages++
    Send-HostResponse $client 200 'application/x-exo-standin-page' $body.ToString()
}

function Get-HostStats {
    $process = [System.Diagnostics.Process]::GetCurrentProcess()
    $stats = [ordered]@{ ProcessId = $process.Id; WorkingSetMB = [math]::Round($process.WorkingSet64 / 1MB); PeakWorkingSetMB = [math]::Round($process.PeakWorkingSet64 / 1MB) }
    foreach ($k in $script:Stats.Keys) { $stats[$k] = $script:Stats[$k] }
    $stats.Suspended = @($script:Stack | ForEach-Object { $_.Id })
    $stats.Calls = @($script:Recent | ForEach-Object { [ordered]@{ Id = $_.Id; Command = $_.Command; Pages = $_.Pages; Objects = $_.Objects; State = $_.State; Seconds = [math]::Round($_.Seconds, 3) } })
    $stats
}

# ------------------------------------------------------------------------------------------------ main

function Invoke-HostMain {
    $ErrorActionPreference = 'Stop'   # for this script's functions, called from here; the stand-in's see the global one
    [Console]::Out.WriteLine("LISTENING http://127.0.0.1:$($script:Listener.LocalEndpoint.Port)/")
    [Console]::Out.Flush()
    try { Wait-HostRequest $null }
    catch { if (-not $script:Quitting) { Write-HostLog "stopped: $_"; throw } }
    finally {
        $script:Listener.Stop()
        Write-HostLog ('served {0} requests, {1} calls, {2} pages, {3} objects; peak working set {4} MB' -f $script:Stats.Requests, $script:Stats.Invocations, $script:Stats.Pages, $script:Stats.Objects, [math]::Round([System.Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB))
    }
}

$script:ScenarioPathDefault = $ScenarioPath
Invoke-HostMain
