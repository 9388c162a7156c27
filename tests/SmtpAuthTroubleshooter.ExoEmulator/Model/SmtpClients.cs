using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.Json.Serialization;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>
/// One client of a mailbox (a device, app or script at one IP address) that submits mail with SMTP AUTH. The Graph
/// emulator turns its basic-auth sessions into Authenticated SMTP sign-ins; the stand-in Exchange Online module turns
/// its successful sessions into message trace rows (<c>Get-MessageTraceV2</c>). Both expand the same deterministic
/// schedule (<see cref="SmtpClientSchedule"/>), so the scenario file stays small at any volume.
/// </summary>
public sealed record ScenarioSmtpClient
{
    /// <summary>The client's public IP address: sign-in <c>ipAddress</c> and message trace <c>FromIP</c>.</summary>
    public required string IpAddress { get; init; }

    /// <summary><c>basic</c>: every session is an Authenticated SMTP sign-in. <c>oauth</c>: no Authenticated SMTP sign-in (XOAUTH2); messages only.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public SmtpClientAuthentication Authentication { get; init; } = SmtpClientAuthentication.Basic;

    /// <summary>Sessions (sign-ins) per day; fractional values space them further apart (0.5 = one every other day).</summary>
    public double PerDay { get; init; } = 1;

    /// <summary>The client was active over this many days (1-90) before <see cref="QuietDays"/>.</summary>
    public int Days { get; init; } = 30;

    /// <summary>The most recent days without any session (a client that stopped).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double QuietDays { get; init; }

    /// <summary>status.errorCode of every session that <see cref="Failures"/> and <see cref="FailFrom"/> do not decide.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int ErrorCode { get; init; }

    /// <summary>Share of sessions (0-1) failing with each error code, e.g. <c>{ "50126": 0.1, "50053": 0.02 }</c>; the rest get <see cref="ErrorCode"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? Failures { get; init; }

    /// <summary>From this many days ago on, every session fails with this code (a sender that turned from success to failure).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ScenarioFailFrom? FailFrom { get; init; }

    /// <summary>Sign-in location; null = Redmond, Washington, US.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ScenarioLocation? Location { get; init; }

    /// <summary>Beta <c>userAgent</c>; null = BAV2ROPC (what legacy-auth sign-ins are reported to carry, unverified).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UserAgent { get; init; }

    /// <summary>Interactive (v1.0 and beta) or non-interactive (beta only, with a signInEventTypes filter).</summary>
    public bool Interactive { get; init; } = true;

    /// <summary>Message trace recipients, one per message, round robin. Null or empty = the client sends nothing traced.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Recipients { get; init; }

    /// <summary>Messages submitted per successful session; null = 1.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MessagesPerSession { get; init; }

    /// <summary>Message trace Subject; null = "Message from &lt;local part&gt;".</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Subject { get; init; }

    /// <summary>Message trace Size in bytes of the first message (each message adds k mod 7 KiB); null = 24576.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MessageSize { get; init; }

    /// <summary>Free text for people.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    internal void Validate(string who, List<string> problems)
    {
        string me = $"account '{who}': smtpClients '{IpAddress}'";
        if (!IPAddress.TryParse(IpAddress, out _))
        {
            problems.Add($"{me}: ipAddress is not an IP address.");
        }

        if (PerDay is < 0 or > 100000 || double.IsNaN(PerDay))
        {
            problems.Add($"{me}: perDay must be between 0 and 100000.");
        }

        if (Days is < 1 or > 90)
        {
            problems.Add($"{me}: days must be between 1 and 90.");
        }

        if (QuietDays is < 0 or > 90 || double.IsNaN(QuietDays))
        {
            problems.Add($"{me}: quietDays must be between 0 and 90.");
        }

        if (MessagesPerSession is < 0 or > 1000 || MessageSize is < 0)
        {
            problems.Add($"{me}: messagesPerSession must be between 0 and 1000, messageSize positive.");
        }

        double total = 0;
        foreach (var (code, share) in Failures ?? new Dictionary<string, double>())
        {
            if (!int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                problems.Add($"{me}: failures key '{code}' is not an error code.");
            }

            if (share is < 0 or > 1 || double.IsNaN(share))
            {
                problems.Add($"{me}: failures share for {code} must be between 0 and 1.");
            }

            total += share;
        }

        if (total > 1.000001)
        {
            problems.Add($"{me}: failures shares add up to more than 1.");
        }

        if (FailFrom is { DaysAgo: < 0 or > 90 })
        {
            problems.Add($"{me}: failFrom.daysAgo must be between 0 and 90.");
        }

        foreach (string r in (Recipients ?? []).Where(r => r.IndexOf('@', StringComparison.Ordinal) <= 0))
        {
            problems.Add($"{me}: recipient '{r}' is not an address.");
        }
    }
}

[JsonConverter(typeof(JsonStringEnumConverter<SmtpClientAuthentication>))]
public enum SmtpClientAuthentication
{
    [JsonStringEnumMemberName("basic")]
    Basic,

    [JsonStringEnumMemberName("oauth")]
    OAuth,
}

/// <summary>The day a client's sign-ins start failing.</summary>
public sealed record ScenarioFailFrom
{
    /// <summary>Sessions less than this many days old fail.</summary>
    public double DaysAgo { get; init; }

    /// <summary>Their status.errorCode (50126 after a password change, or whatever the default-off brings).</summary>
    public int ErrorCode { get; init; } = 50126;
}

/// <summary>A sign-in location (Graph signIn.location).</summary>
public sealed record ScenarioLocation
{
    public string? City { get; init; }

    public string? State { get; init; }

    /// <summary>Two-letter country or region code.</summary>
    public string? CountryOrRegion { get; init; }
}

/// <summary>One session of an SMTP client: when (as an offset before the anchor) and its outcome.</summary>
/// <param name="Ordinal">k, 0 = newest.</param>
/// <param name="OffsetTicks">How long before the anchor (the emulator's "now") it happened.</param>
/// <param name="ErrorCode">0 = success.</param>
public readonly record struct SmtpClientSession(int Ordinal, long OffsetTicks, int ErrorCode);

/// <summary>
/// The deterministic schedule of an <see cref="ScenarioSmtpClient"/>, shared with the stand-in Exchange Online
/// module (ExchangeOnlineManagement.psm1, Get-StandInSmtpSessions), which implements the same arithmetic:
/// <list type="number">
/// <item>seed = FNV-1a 32-bit of the UTF-8 bytes of lower-case <c>"&lt;upn&gt;|&lt;ipAddress&gt;"</c>;</item>
/// <item>a 32-bit LCG, x = (1664525·x + 1013904223) mod 2³², draws u1 then u2 (each x / 2³²) for every session k = 0, 1, ...;</item>
/// <item>N = round(perDay · days) sessions (midpoint away from zero); interval = 864000000000 / perDay ticks;</item>
/// <item>session k happens floor(quietDays · 864000000000 + (k + u1) · interval) ticks before the anchor, so k = 0 is the newest;</item>
/// <item>its code: failFrom.errorCode when the offset is under failFrom.daysAgo days; else the first failures entry
///   (by numeric code) whose running share total exceeds u2; else errorCode.</item>
/// </list>
/// </summary>
public static class SmtpClientSchedule
{
    public const double TicksPerDay = 864000000000.0;

    public static uint Seed(string userPrincipalName, string ipAddress)
    {
        ArgumentNullException.ThrowIfNull(userPrincipalName);
        ArgumentNullException.ThrowIfNull(ipAddress);
        uint hash = 2166136261;
        foreach (byte b in Encoding.UTF8.GetBytes((userPrincipalName + "|" + ipAddress).ToLowerInvariant()))
        {
            hash ^= b;
            hash = unchecked(hash * 16777619);
        }

        return hash;
    }

    public static uint Next(uint x) => unchecked((1664525 * x) + 1013904223);

    /// <summary>Number of sessions of the client.</summary>
    public static int Count(ScenarioSmtpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.PerDay <= 0 ? 0 : (int)Math.Round(client.PerDay * client.Days, MidpointRounding.AwayFromZero);
    }

    /// <summary>The sessions, newest first.</summary>
    public static IEnumerable<SmtpClientSession> Sessions(string userPrincipalName, ScenarioSmtpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        int n = Count(client);
        if (n == 0)
        {
            yield break;
        }

        double interval = TicksPerDay / client.PerDay;
        double quiet = client.QuietDays * TicksPerDay;
        double failFrom = client.FailFrom is { } f ? f.DaysAgo * TicksPerDay : -1;
        var failures = (client.Failures ?? new Dictionary<string, double>())
            .Select(p => (Code: int.Parse(p.Key, NumberStyles.None, CultureInfo.InvariantCulture), Share: p.Value))
            .OrderBy(p => p.Code)
            .ToArray();
        uint x = Seed(userPrincipalName, client.IpAddress);
        for (int k = 0; k < n; k++)
        {
            x = Next(x);
            double u1 = x / 4294967296.0;
            x = Next(x);
            double u2 = x / 4294967296.0;
            long offset = (long)Math.Floor(quiet + ((k + u1) * interval));
            int code = client.ErrorCode;
            if (failFrom >= 0 && offset < failFrom)
            {
                code = client.FailFrom!.ErrorCode;
            }
            else
            {
                double cumulative = 0;
                foreach (var (failure, share) in failures)
                {
                    cumulative += share;
                    if (u2 < cumulative)
                    {
                        code = failure;
                        break;
                    }
                }
            }

            yield return new SmtpClientSession(k, offset, code);
        }
    }
}

/// <summary>One <c>Get-AcceptedDomain</c> entry.</summary>
public sealed record ScenarioAcceptedDomain
{
    public required string DomainName { get; init; }

    public AcceptedDomainType DomainType { get; init; } = AcceptedDomainType.Authoritative;

    /// <summary>The default accepted domain (exactly one).</summary>
    public bool Default { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<AcceptedDomainType>))]
public enum AcceptedDomainType
{
    Authoritative,
    InternalRelay,
    ExternalRelay,
}
