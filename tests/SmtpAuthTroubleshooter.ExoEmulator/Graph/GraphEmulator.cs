using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.ExoEmulator.Graph;

/// <summary>
/// A plain-HTTP server on loopback that answers the Microsoft Graph requests Get-SmtpAuthPolicyState makes,
/// in Graph's JSON shapes, from a <see cref="TenantScenario"/>. See README.md, "Graph emulator".
/// </summary>
public sealed class GraphEmulator : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConcurrentDictionary<long, TcpClient> _connections = new();
    private readonly ConcurrentDictionary<string, long> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _batchRoutes = new(StringComparer.Ordinal);
    private readonly GraphApi _api;
    private readonly ManagedIdentityEndpoint _identity = new();
    private GraphDirectory _directory;
    private GraphFaultSettings _faults;
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextConnection;
    private long _outer;
    private long _units;
    private long _inner;
    private long _throttled;
    private long _control;
    private long _miBearer;
    private int _stopped;
    private int _disposed;

    private GraphEmulator(GraphEmulatorOptions options, TenantScenario scenario)
    {
        Options = options;
        _faults = options.Faults;
        _directory = new GraphDirectory(scenario, options.Clock.GetUtcNow());
        _listener = new TcpListener(options.Address, options.Port);
        _api = new GraphApi(this);
    }

    /// <summary>Loads the scenario, binds the listener and starts serving.</summary>
    /// <exception cref="ScenarioException">The scenario is missing or invalid.</exception>
    public static Task<GraphEmulator> StartAsync(GraphEmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var scenario = options.Scenario
            ?? (options.ScenarioPath is { } path ? TenantScenario.Load(path) : throw new ScenarioException("GraphEmulatorOptions needs a Scenario or a ScenarioPath."));
        if (options.Scenario is not null)
        {
            scenario.Validate();
        }

        if (options.PageSize is < 1 or > 999)
        {
            throw new ArgumentException("PageSize must be between 1 and 999.", nameof(options));
        }

        var emulator = new GraphEmulator(options, scenario);
        emulator._listener.Start(backlog: 512);
        emulator._acceptLoop = Task.Run(emulator.AcceptLoopAsync);
        return Task.FromResult(emulator);
    }

    public GraphEmulatorOptions Options { get; }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public int Port => EndPoint.Port;

    /// <summary>http://127.0.0.1:&lt;port&gt;/ — the Graph base URL to give clients (they append v1.0/... or beta/...).</summary>
    public Uri BaseUri => new($"http://{EndPoint.Address}:{Port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>The tenant being served; assign a new one (validated) to change it between requests.</summary>
    public TenantScenario Scenario
    {
        get => Volatile.Read(ref _directory).Scenario;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            Volatile.Write(ref _directory, new GraphDirectory(value, Options.Clock.GetUtcNow()));
        }
    }

    internal GraphDirectory Directory => Volatile.Read(ref _directory);

    /// <summary>The faults in force; assign to change them between requests.</summary>
    public GraphFaultSettings Faults
    {
        get => Volatile.Read(ref _faults);
        set => Volatile.Write(ref _faults, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>False once a kill fault (or <see cref="StopServing"/>) closed the listener.</summary>
    public bool IsServing => Volatile.Read(ref _stopped) == 0;

    /// <summary>Raised when a kill fault stops the server.</summary>
    public event EventHandler? Killed;

    /// <summary>Outer requests (not /_emulator/*), inner $batch requests, throttled answers and per-route counts.</summary>
    public GraphStatistics GetStatistics() => new(
        Interlocked.Read(ref _outer),
        Interlocked.Read(ref _inner),
        Interlocked.Read(ref _throttled),
        new SortedDictionary<string, long>(_routes, StringComparer.Ordinal),
        new SortedDictionary<string, long>(_batchRoutes, StringComparer.Ordinal))
    {
        TokenRequests = _identity.Requests,
        ManagedIdentityBearerRequests = Interlocked.Read(ref _miBearer),
    };

    /// <summary>Zeroes the counters and restores the faults given at start.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _outer, 0);
        Interlocked.Exchange(ref _units, 0);
        Interlocked.Exchange(ref _inner, 0);
        Interlocked.Exchange(ref _throttled, 0);
        Interlocked.Exchange(ref _miBearer, 0);
        _routes.Clear();
        _batchRoutes.Clear();
        _identity.Reset();
        Faults = Options.Faults;
    }

    /// <summary>Closes the listener and every connection; the object stays usable for statistics.</summary>
    public void StopServing()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _listener.Stop();
        foreach (var connection in _connections.Values)
        {
            connection.Close();
        }

        Killed?.Invoke(this, EventArgs.Empty);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _listener.Stop();
        }

        foreach (var connection in _connections.Values)
        {
            connection.Close();
        }

        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _shutdown.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_shutdown.IsCancellationRequested && IsServing)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_shutdown.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                return;
            }

            long id = Interlocked.Increment(ref _nextConnection);
            _connections[id] = client;
            _ = Task.Run(async () =>
            {
                try
                {
                    await ServeAsync(client).ConfigureAwait(false);
                }
                finally
                {
                    _connections.TryRemove(id, out _);
                    client.Dispose();
                }
            });
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        client.NoDelay = true;
        var stream = client.GetStream();
        var connection = new HttpConnection(stream);
        var token = _shutdown.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                GraphRequest? request;
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(token))
                {
                    idle.CancelAfter(Options.IdleTimeout);
                    request = await connection.ReadRequestAsync(idle.Token).ConfigureAwait(false);
                }

                if (request is null)
                {
                    return;
                }

                var response = await HandleAsync(request, token).ConfigureAwait(false);
                Options.RequestLog?.Invoke($"{request.Method} {request.Target} -> {(response is null ? "(no answer)" : response.Status.ToString(CultureInfo.InvariantCulture))}");
                if (response is null)
                {
                    // Hang or kill: no answer. Hold the connection until shutdown (a kill closes it already).
                    await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
                    return;
                }

                bool keepAlive = !string.Equals(request.Header("Connection"), "close", StringComparison.OrdinalIgnoreCase);
                await connection.WriteResponseAsync(response, keepAlive, request.Method == "HEAD", token).ConfigureAwait(false);
                if (!keepAlive)
                {
                    return;
                }
            }
        }
        catch (InvalidDataException ex)
        {
            try
            {
                await connection.WriteResponseAsync(GraphApi.Error(400, "BadRequest", ex.Message, Options.Clock), keepAlive: false, headRequest: false, token).ConfigureAwait(false);
            }
            catch (Exception inner) when (inner is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or EndOfStreamException)
        {
        }
    }

    private async Task<GraphResponse?> HandleAsync(GraphRequest request, CancellationToken token)
    {
        if (request.Segments.Count > 0 && request.Segments[0] == "_emulator")
        {
            Interlocked.Increment(ref _control);
            return HandleControl(request);
        }

        if (request.Segments.Count == 2 && request.Segments[0] == "msi" && request.Segments[1] == "token")
        {
            return _identity.Handle(request, Options.Clock);
        }

        long n = Interlocked.Increment(ref _outer);
        var faults = Faults;
        if (faults.KillAt > 0 && n == faults.KillAt)
        {
            StopServing();
            return null;
        }

        string path = "/" + string.Join('/', request.Segments);
        if ((faults.HangAt > 0 && n == faults.HangAt) || (faults.HangPathContains is { Length: > 0 } hang && path.Contains(hang, StringComparison.OrdinalIgnoreCase)))
        {
            var match = _api.Match(request, null);
            Count(_routes, match.Key);
            return null;
        }

        if (faults.Delay > TimeSpan.Zero)
        {
            await Task.Delay(faults.Delay, token).ConfigureAwait(false);
        }

        var response = Dispatch(request, version: null, inner: false);
        if ((faults.MalformedAt > 0 && n == faults.MalformedAt) || (faults.MalformedPathContains is { Length: > 0 } bad && path.Contains(bad, StringComparison.OrdinalIgnoreCase)))
        {
            byte[] bytes = response.BodyBytes();
            return new GraphResponse(response.Status, null, response.Headers) { RawBody = bytes[..Math.Max(1, bytes.Length / 2)], Route = response.Route };
        }

        return response;
    }

    /// <summary>Routes one request (outer, or inner with the batch's <paramref name="version"/>), counting and throttling it.</summary>
    internal GraphResponse Dispatch(GraphRequest request, string? version, bool inner)
    {
        var match = _api.Match(request, version);
        if (inner)
        {
            Interlocked.Increment(ref _inner);
            Count(_batchRoutes, match.Key);
        }
        else
        {
            Count(_routes, match.Key);
        }

        if (!inner && Options.RequireBearer && !HasBearer(request))
        {
            return GraphApi.Error(401, "InvalidAuthenticationToken", "Access token is empty.", Options.Clock, request, match.Key);
        }

        if (!inner && request.Header("Authorization") is { } bearer && _identity.Issued(bearer))
        {
            Interlocked.Increment(ref _miBearer);
        }

        // The $batch envelope is not a unit of work; its inner requests are.
        if (!match.IsBatch)
        {
            var faults = Faults;
            long unit = Interlocked.Increment(ref _units);
            if ((faults.ThrottleEvery > 0 && unit % faults.ThrottleEvery == 0) ||
                (faults.ThrottleFirst > 0 && unit <= faults.ThrottleFirst) ||
                (faults.ThrottlePathContains is { Length: > 0 } throttledPath && ("/" + string.Join('/', request.Segments)).Contains(throttledPath, StringComparison.OrdinalIgnoreCase)))
            {
                Interlocked.Increment(ref _throttled);
                return GraphApi.Throttled(faults, Options.Clock, request, match.Key);
            }
        }

        return match.Execute();
    }

    private static bool HasBearer(GraphRequest request) =>
        request.Header("Authorization") is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && auth.Length > 7;

    private static void Count(ConcurrentDictionary<string, long> counts, string key) => counts.AddOrUpdate(key, 1, (_, v) => v + 1);

    private GraphResponse HandleControl(GraphRequest request)
    {
        string what = request.Segments.Count > 1 ? request.Segments[1] : string.Empty;
        switch (request.Method, what)
        {
            case ("GET", "stats"):
                return new GraphResponse(200, GetStatistics().ToJson(IsServing), new Dictionary<string, string> { ["Content-Type"] = "application/json" });
            case ("POST", "reset"):
                Reset();
                return new GraphResponse(200, new JsonObject { ["reset"] = true });
            case ("GET", "faults"):
                return new GraphResponse(200, FaultsJson(Faults));
            case ("POST", "faults"):
                try
                {
                    Faults = MergeFaults(Faults, JsonNode.Parse(request.Body) as JsonObject ?? throw new JsonException("Expected a JSON object."));
                    return new GraphResponse(200, FaultsJson(Faults));
                }
                catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
                {
                    return GraphApi.Error(400, "BadRequest", ex.Message, Options.Clock);
                }

            case ("GET", "tenant"):
                var tenant = Directory.Tenant;
                return new GraphResponse(200, new JsonObject
                {
                    ["tenantId"] = tenant.TenantId,
                    ["name"] = tenant.Name,
                    ["domain"] = tenant.Domain,
                    ["initialDomain"] = tenant.InitialDomain(),
                    ["accounts"] = Directory.Scenario.Accounts.Count,
                });
            default:
                return GraphApi.Error(404, "NotFound", "Control endpoints: GET /_emulator/stats, POST /_emulator/reset, GET|POST /_emulator/faults, GET /_emulator/tenant.", Options.Clock);
        }
    }

    internal static JsonObject FaultsJson(GraphFaultSettings f) => new()
    {
        ["delayMs"] = (int)f.Delay.TotalMilliseconds,
        ["throttleEvery"] = f.ThrottleEvery,
        ["throttleFirst"] = f.ThrottleFirst,
        ["throttlePathContains"] = f.ThrottlePathContains,
        ["throttleStatus"] = f.ThrottleStatus,
        ["retryAfter"] = f.RetryAfter,
        ["nextLink"] = JsonNamingPolicy.CamelCase.ConvertName(f.NextLink.ToString()),
        ["malformedAt"] = f.MalformedAt,
        ["malformedPathContains"] = f.MalformedPathContains,
        ["hangAt"] = f.HangAt,
        ["hangPathContains"] = f.HangPathContains,
        ["killAt"] = f.KillAt,
    };

    /// <summary>Applies the properties present in <paramref name="patch"/> (names as in <see cref="FaultsJson"/>).</summary>
    internal static GraphFaultSettings MergeFaults(GraphFaultSettings f, JsonObject patch)
    {
        foreach (var (name, value) in patch)
        {
            f = name switch
            {
                "delayMs" => f with { Delay = TimeSpan.FromMilliseconds(value!.GetValue<int>()) },
                "throttleEvery" => f with { ThrottleEvery = value!.GetValue<int>() },
                "throttleFirst" => f with { ThrottleFirst = value!.GetValue<int>() },
                "throttlePathContains" => f with { ThrottlePathContains = value?.GetValue<string>() },
                "throttleStatus" => f with { ThrottleStatus = value!.GetValue<int>() is 429 or 503 ? value.GetValue<int>() : throw new ArgumentException("throttleStatus must be 429 or 503.") },
                "retryAfter" => f with { RetryAfter = value is null ? null : value.GetValueKind() == JsonValueKind.Number ? value.GetValue<double>().ToString(CultureInfo.InvariantCulture) : value.GetValue<string>() },
                "nextLink" => f with { NextLink = Enum.Parse<NextLinkFault>(value!.GetValue<string>(), ignoreCase: true) },
                "malformedAt" => f with { MalformedAt = value!.GetValue<int>() },
                "malformedPathContains" => f with { MalformedPathContains = value?.GetValue<string>() },
                "hangAt" => f with { HangAt = value!.GetValue<int>() },
                "hangPathContains" => f with { HangPathContains = value?.GetValue<string>() },
                "killAt" => f with { KillAt = value!.GetValue<int>() },
                _ => throw new ArgumentException($"Unknown fault '{name}'."),
            };
        }

        return f;
    }
}

/// <summary>A snapshot of the emulator's counters.</summary>
public sealed record GraphStatistics(
    long TotalRequests,
    long BatchInnerRequests,
    long Throttled,
    IReadOnlyDictionary<string, long> Routes,
    IReadOnlyDictionary<string, long> BatchRoutes)
{
    /// <summary>Managed identity token requests served on /msi/token (App Service protocol), in order.</summary>
    public IReadOnlyList<ManagedIdentityTokenRequest> TokenRequests { get; init; } = Array.Empty<ManagedIdentityTokenRequest>();

    /// <summary>Outer Graph requests that carried a token issued by /msi/token.</summary>
    public long ManagedIdentityBearerRequests { get; init; }

    public long RouteCount(string route) => Routes.TryGetValue(route, out long n) ? n : 0;

    public long BatchRouteCount(string route) => BatchRoutes.TryGetValue(route, out long n) ? n : 0;

    public JsonObject ToJson(bool serving) => new()
    {
        ["totalRequests"] = TotalRequests,
        ["batchInnerRequests"] = BatchInnerRequests,
        ["throttled"] = Throttled,
        ["serving"] = serving,
        ["routes"] = new JsonObject(Routes.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
        ["batchRoutes"] = new JsonObject(BatchRoutes.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
        ["tokenRequests"] = new JsonArray(TokenRequests.Select(t => (JsonNode?)t.ToJson()).ToArray()),
        ["managedIdentityBearerRequests"] = ManagedIdentityBearerRequests,
    };
}
