using System;
using System.Net;

namespace SmtpAuthTroubleshooter.ExoEmulator.Graph;

/// <summary>How a broken @odata.nextLink is broken.</summary>
public enum NextLinkFault
{
    /// <summary>Correct links.</summary>
    None,

    /// <summary>The $skiptoken is garbage: following the link answers 400.</summary>
    BadToken,

    /// <summary>The link points back at the same page, forever (a client must notice it is not progressing).</summary>
    Loop,

    /// <summary>The link points at a closed port on 127.0.0.1 (connection refused).</summary>
    Unreachable,
}

/// <summary>Settings of a <see cref="GraphEmulator"/>; only the scenario is required. Faults can also be changed at run time (<see cref="GraphEmulator.Faults"/>, POST /_emulator/faults).</summary>
public sealed record GraphEmulatorOptions
{
    /// <summary>The tenant to serve. Either this or <see cref="ScenarioPath"/>.</summary>
    public TenantScenario? Scenario { get; init; }

    public string? ScenarioPath { get; init; }

    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>0 = ephemeral.</summary>
    public int Port { get; init; }

    /// <summary>"Now" for sign-in times and error dates.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Page size of every collection when the request has no $top; null = each route's own default (100; sign-ins 1000).</summary>
    public int? PageSize { get; init; }

    /// <summary>Require "Authorization: Bearer ..." (any value) on every request but /_emulator/*.</summary>
    public bool RequireBearer { get; init; } = true;

    /// <summary>Answer inner $batch responses in reverse order (clients must correlate by id).</summary>
    public bool BatchReverse { get; init; }

    /// <summary>Close idle keep-alive connections after this long.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public GraphFaultSettings Faults { get; init; } = new();

    /// <summary>Called with one line per outer request ("GET /v1.0/users/x -> 200"), e.g. for --log.</summary>
    public Action<string>? RequestLog { get; init; }
}

/// <summary>Fault injection. Request numbers are 1-based and count outer requests (not /_emulator/*).</summary>
public sealed record GraphFaultSettings
{
    /// <summary>Delay before every outer response.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Every Nth unit of work (an outer request, or one inner request of a $batch) is throttled; 0 = never.</summary>
    public int ThrottleEvery { get; init; }

    /// <summary>The first N units of work are throttled (then none, unless another throttle fault applies); 0 = never.</summary>
    public int ThrottleFirst { get; init; }

    /// <summary>Every unit of work whose path contains this text is throttled, for as long as the fault is set (sustained throttling of one read).</summary>
    public string? ThrottlePathContains { get; init; }

    /// <summary>429 (default) or 503.</summary>
    public int ThrottleStatus { get; init; } = 429;

    /// <summary>The Retry-After header value in seconds, fractional allowed ("0.2"); null = no Retry-After (CA/identity-protection style).</summary>
    public string? RetryAfter { get; init; } = "1";

    public NextLinkFault NextLink { get; init; }

    /// <summary>The Nth outer request gets a truncated (malformed) JSON body with its normal status; 0 = never.</summary>
    public int MalformedAt { get; init; }

    /// <summary>Outer requests whose path contains this text get a truncated JSON body.</summary>
    public string? MalformedPathContains { get; init; }

    /// <summary>The Nth outer request never gets an answer (the connection stays open); 0 = never.</summary>
    public int HangAt { get; init; }

    /// <summary>Outer requests whose path contains this text never get an answer.</summary>
    public string? HangPathContains { get; init; }

    /// <summary>At the Nth outer request the server stops serving: the listener and every connection close; 0 = never.</summary>
    public int KillAt { get; init; }
}
