using System;
using System.Collections.Generic;
using System.Globalization;
using System.Buffers;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmtpAuthTroubleshooter.ExoEmulator.Graph;

/// <summary>
/// The tenant's sign-in log (GET /auditLogs/signIns), newest first: the scenario's explicit <c>signIns</c> plus the
/// sessions of every basic-auth <c>smtpClients</c> entry (<see cref="SmtpClientSchedule"/>). Generated rows are kept
/// as 32-byte structs and rendered to JSON only when a page is served, and the filter reads them through a resolver,
/// so 300,000 rows (10,000 users × 30 days) load in well under a second and a page costs its own rows plus the scan.
/// Rows older than <see cref="RetentionDays"/> are not kept (Entra ID P1/P2 retention).
/// </summary>
public sealed class SignInLog
{
    /// <summary>Sign-in retention with Entra ID P1/P2.</summary>
    public const int RetentionDays = 30;

    public const string AuthenticatedSmtp = "Authenticated SMTP";

    public const string DefaultUserAgent = "BAV2ROPC";

    /// <summary>signIn properties on v1.0 (what $filter and $select accept).</summary>
    public static readonly IReadOnlyList<string> V1Properties =
    [
        "id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "appDisplayName", "appId", "resourceDisplayName", "resourceId",
        "clientAppUsed", "ipAddress", "correlationId", "isInteractive", "conditionalAccessStatus", "riskDetail", "riskLevelAggregated",
        "riskLevelDuringSignIn", "riskState", "riskEventTypes_v2", "status", "deviceDetail", "location", "appliedConditionalAccessPolicies",
    ];

    /// <summary>signIn properties on beta: v1.0 plus the ones a readiness reader wants (userAgent, authenticationProtocol, signInEventTypes ...).</summary>
    public static readonly IReadOnlyList<string> BetaProperties =
    [
        .. V1Properties,
        "userAgent", "authenticationProtocol", "signInEventTypes", "incomingTokenType", "authenticationRequirement", "userType", "signInIdentifier",
        "resourceTenantId", "homeTenantId", "originalRequestId", "processingTimeInMilliseconds",
    ];

    private const string ExchangeDisplayName = GraphDirectory.ExchangeDisplayName;
    private const string ExchangeAppId = GraphDirectory.ExchangeAppId;

    private static readonly HashSet<string> LegacyClientApps = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authenticated SMTP", "IMAP4", "POP3", "Exchange ActiveSync", "Autodiscover", "Exchange Web Services", "MAPI Over HTTP",
        "Outlook Anywhere (RPC over HTTP)", "Other clients",
    };

    private readonly Row[] _rows;
    private readonly List<ExplicitRow> _explicit;
    private readonly List<Client> _clients;
    private readonly Dictionary<string, int[]> _byUser;
    private readonly TenantSettings _tenant;
    private readonly ConditionalAccessPolicySettings? _blockPolicy;

    /// <param name="scenario">The tenant.</param>
    /// <param name="anchor">"Now": createdDateTime = anchor - minutesAgo (explicit) or - the session's offset (generated).</param>
    /// <param name="explicitRows">The explicit sign-ins as v1.0 JSON, with their account and time.</param>
    internal SignInLog(TenantScenario scenario, DateTimeOffset anchor, IReadOnlyList<(ScenarioAccount Account, DateTimeOffset When, JsonObject Json)> explicitRows)
    {
        _tenant = scenario.Tenant;
        Anchor = anchor;
        _blockPolicy = _tenant.ConditionalAccessPolicies.FirstOrDefault(p => p.Grant == ConditionalAccessGrant.Block && p.State == ConditionalAccessPolicyState.Enabled)
            ?? _tenant.ConditionalAccessPolicies.FirstOrDefault(p => p.Grant == ConditionalAccessGrant.Block);
        long anchorTicks = anchor.UtcTicks;
        long oldest = anchorTicks - (RetentionDays * TimeSpan.TicksPerDay);

        var users = new List<ScenarioAccount>();
        var userIndex = new Dictionary<ScenarioAccount, int>(ReferenceEqualityComparer.Instance);
        int UserOf(ScenarioAccount account)
        {
            if (!userIndex.TryGetValue(account, out int u))
            {
                userIndex[account] = u = users.Count;
                users.Add(account);
            }

            return u;
        }

        _explicit = [];
        var rows = new List<Row>();
        foreach (var (account, when, json) in explicitRows)
        {
            if (when.UtcTicks < oldest)
            {
                continue;
            }

            _explicit.Add(new ExplicitRow(account, json, BetaJson(json)));
            rows.Add(new Row(when.UtcTicks, -1, _explicit.Count - 1, json["status"]?["errorCode"]?.GetValue<int>() ?? 0, UserOf(account)));
        }

        _clients = [];
        int capacity = scenario.Accounts.Sum(a => (a.SmtpClients ?? []).Where(c => c.Authentication == SmtpClientAuthentication.Basic).Sum(SmtpClientSchedule.Count));
        rows.Capacity = rows.Count + capacity;
        foreach (var account in scenario.Accounts)
        {
            foreach (var client in account.SmtpClients ?? [])
            {
                if (client.Authentication != SmtpClientAuthentication.Basic)
                {
                    continue;
                }

                _clients.Add(new Client(account, client));
                int source = _clients.Count - 1;
                int user = UserOf(account);
                foreach (var session in SmtpClientSchedule.Sessions(account.UserPrincipalName, client))
                {
                    long ticks = anchorTicks - session.OffsetTicks;
                    if (ticks < oldest)
                    {
                        break;   // newest first: everything after is older still
                    }

                    rows.Add(new Row(ticks, source, session.Ordinal, session.ErrorCode, user));
                }
            }
        }

        _rows = rows.ToArray();
        Array.Sort(_rows, CompareRows);

        // Each user's row positions, in log order (a counting pass, then a fill): the index for userPrincipalName/userId eq.
        var counts = new int[users.Count];
        foreach (ref readonly Row row in _rows.AsSpan())
        {
            counts[row.User]++;
        }

        var positions = new int[users.Count][];
        for (int u = 0; u < users.Count; u++)
        {
            positions[u] = new int[counts[u]];
            counts[u] = 0;
        }

        for (int i = 0; i < _rows.Length; i++)
        {
            int u = _rows[i].User;
            positions[u][counts[u]++] = i;
        }

        _byUser = new Dictionary<string, int[]>(users.Count * 2, StringComparer.OrdinalIgnoreCase);
        for (int u = 0; u < users.Count; u++)
        {
            _byUser[users[u].UserPrincipalName] = positions[u];
            _byUser[users[u].ObjectId] = positions[u];
        }
    }

    /// <summary>"Now" of this log.</summary>
    public DateTimeOffset Anchor { get; }

    /// <summary>Rows kept (explicit and generated, interactive and not).</summary>
    public int Count => _rows.Length;

    /// <summary>Generated rows (from smtpClients).</summary>
    public int GeneratedCount => _rows.Length - _explicit.Count;

    /// <summary>One page: the positions of up to <paramref name="pageSize"/> matching rows from sequence index <paramref name="start"/>, and where the next page starts (null: no more).</summary>
    /// <param name="filter">The $filter, or null.</param>
    /// <param name="beta">Render and resolve as beta (userAgent, authenticationProtocol, signInEventTypes ...).</param>
    /// <param name="interactiveOnly">v1.0, and beta without a signInEventTypes condition, list interactive sign-ins only.</param>
    /// <param name="start">Index into the query's sequence (all rows, or the rows of the users an equality term names).</param>
    /// <param name="pageSize">Rows per page.</param>
    public (List<int> Positions, int? Next) Query(ODataFilter? filter, bool beta, bool interactiveOnly, int start, int pageSize)
    {
        int[]? sequence = null;
        if (filter is not null)
        {
            var users = filter.EqualityValues("userPrincipalName") ?? filter.EqualityValues("userId");
            if (users is not null)
            {
                sequence = users.Distinct(StringComparer.OrdinalIgnoreCase)
                    .SelectMany(u => _byUser.TryGetValue(u, out var p) ? p : [])
                    .Distinct().Order().ToArray();
            }
        }

        int length = sequence?.Length ?? _rows.Length;
        long? lowerTicks = filter?.LowerBound("createdDateTime")?.UtcTicks;
        long? upperTicks = filter?.UpperBound("createdDateTime")?.UtcTicks;
        int i = Math.Max(start, 0);
        if (sequence is null && upperTicks is { } upper && i == 0)
        {
            i = FirstAtOrBefore(upper);   // rows are newest first: skip everything newer than the upper bound
        }

        var page = new List<int>(Math.Min(pageSize, 1024));
        for (; i < length; i++)
        {
            int position = sequence is null ? i : sequence[i];
            ref readonly Row row = ref _rows[position];
            if (lowerTicks is { } lower && row.Ticks < lower)
            {
                return (page, null);   // older than the lower bound, and so is every later row
            }

            if (interactiveOnly && !IsInteractive(row))
            {
                continue;
            }

            if (filter is not null && !filter.Matches(path => Resolve(position, path, beta)))
            {
                continue;
            }

            if (page.Count == pageSize)
            {
                return (page, i);
            }

            page.Add(position);
        }

        return (page, null);
    }

    /// <summary>The full JSON of the row at <paramref name="position"/> (a new object).</summary>
    public JsonObject Render(int position, bool beta)
    {
        var row = _rows[position];
        if (row.Source < 0)
        {
            var e = _explicit[row.Index];
            return (JsonObject)(beta ? e.Beta : e.V1).DeepClone();
        }

        return RenderGenerated(row, beta);
    }

    /// <summary>
    /// Writes the row at <paramref name="position"/> as JSON, the same bytes <see cref="Render"/> serializes to: a page of
    /// 1,000 rows is written straight to bytes instead of as 1,000 JSON DOMs (which cost the emulator about 40 ms a page,
    /// server time that a 50 ms latency model did not ask for).
    /// </summary>
    public void WriteRow(Utf8JsonWriter writer, int position, bool beta)
    {
        var row = _rows[position];
        if (row.Source < 0)
        {
            var e = _explicit[row.Index];
            (beta ? e.Beta : e.V1).WriteTo(writer, GraphJson.Options);
            return;
        }

        WriteGenerated(writer, row, beta);
    }

    /// <summary>Writer options that match <see cref="GraphJson.Options"/> (the escaping every other response uses).</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = GraphJson.Options.Encoder };

    /// <summary>A filter value of the row at <paramref name="position"/>; generated rows answer the common paths without rendering JSON.</summary>
    public object? Resolve(int position, string path, bool beta)
    {
        ref readonly Row row = ref _rows[position];
        if (row.Source < 0)
        {
            var e = _explicit[row.Index];
            return ODataFilter.ResolveJson(beta ? e.Beta : e.V1, path);
        }

        var c = _clients[row.Source];
        switch (FastPaths.TryGetValue(path, out var fast) ? fast : FastPath.None)
        {
            case FastPath.CreatedDateTime:
                return new DateTimeOffset(row.Ticks, TimeSpan.Zero);
            case FastPath.UserPrincipalName:
                return c.Account.UserPrincipalName;
            case FastPath.UserId:
                return c.Account.ObjectId;
            case FastPath.UserDisplayName:
                return c.Account.DisplayName;
            case FastPath.ClientAppUsed:
                return AuthenticatedSmtp;
            case FastPath.ExchangeAppId:
                return ExchangeAppId;
            case FastPath.ExchangeDisplayName:
                return ExchangeDisplayName;
            case FastPath.IpAddress:
                return c.Settings.IpAddress;
            case FastPath.ErrorCode:
                return (double)row.ErrorCode;
            case FastPath.IsInteractive:
                return c.Settings.Interactive;
            case FastPath.ConditionalAccessStatus:
                return CaStatus(row.ErrorCode);
            case FastPath.City:
                return c.Settings.Location is { } l ? l.City : "Redmond";
            case FastPath.Country:
                return c.Settings.Location is { } l2 ? l2.CountryOrRegion : "US";
            case FastPath.UserAgent when beta:
                return c.Settings.UserAgent ?? DefaultUserAgent;
            case FastPath.AuthenticationProtocol when beta:
                return "ropc";
            case FastPath.SignInEventTypes when beta:
                return c.Settings.Interactive ? InteractiveTypes : NonInteractiveTypes;
            default:
                return ODataFilter.ResolveJson(RenderGenerated(row, beta), path);
        }
    }

    private static readonly object?[] InteractiveTypes = ["interactiveUser"];
    private static readonly object?[] NonInteractiveTypes = ["nonInteractiveUser"];

    private enum FastPath
    {
        None,
        CreatedDateTime,
        UserPrincipalName,
        UserId,
        UserDisplayName,
        ClientAppUsed,
        ExchangeAppId,
        ExchangeDisplayName,
        IpAddress,
        ErrorCode,
        IsInteractive,
        ConditionalAccessStatus,
        City,
        Country,
        UserAgent,
        AuthenticationProtocol,
        SignInEventTypes,
    }

    /// <summary>Filter paths a generated row answers without rendering its JSON.</summary>
    private static readonly Dictionary<string, FastPath> FastPaths = new(StringComparer.OrdinalIgnoreCase)
    {
        ["createdDateTime"] = FastPath.CreatedDateTime,
        ["userPrincipalName"] = FastPath.UserPrincipalName,
        ["userId"] = FastPath.UserId,
        ["userDisplayName"] = FastPath.UserDisplayName,
        ["clientAppUsed"] = FastPath.ClientAppUsed,
        ["appId"] = FastPath.ExchangeAppId,
        ["resourceId"] = FastPath.ExchangeAppId,
        ["appDisplayName"] = FastPath.ExchangeDisplayName,
        ["resourceDisplayName"] = FastPath.ExchangeDisplayName,
        ["ipAddress"] = FastPath.IpAddress,
        ["status/errorCode"] = FastPath.ErrorCode,
        ["isInteractive"] = FastPath.IsInteractive,
        ["conditionalAccessStatus"] = FastPath.ConditionalAccessStatus,
        ["location/city"] = FastPath.City,
        ["location/countryOrRegion"] = FastPath.Country,
        ["userAgent"] = FastPath.UserAgent,
        ["authenticationProtocol"] = FastPath.AuthenticationProtocol,
        ["signInEventTypes"] = FastPath.SignInEventTypes,
    };

    private static int CompareRows(Row a, Row b)
    {
        int c = b.Ticks.CompareTo(a.Ticks);
        if (c != 0)
        {
            return c;
        }

        c = a.Source.CompareTo(b.Source);   // explicit (-1) first
        return c != 0 ? c : a.Index.CompareTo(b.Index);
    }

    private int FirstAtOrBefore(long ticks)
    {
        int lo = 0, hi = _rows.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_rows[mid].Ticks > ticks)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private bool IsInteractive(in Row row) => row.Source < 0 || _clients[row.Source].Settings.Interactive;

    private string CaStatus(int errorCode) => errorCode == 53003 && _blockPolicy is not null ? "failure" : "notApplied";

    // The one renderer of a generated row is WriteGenerated; the DOM (for $filter paths the fast resolver does not know)
    // is its parse, so the two can never differ.
    private JsonObject RenderGenerated(Row row, bool beta)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteGenerated(writer, row, beta);
        }

        return JsonNode.Parse(buffer.WrittenSpan)!.AsObject();
    }

    private void WriteGenerated(Utf8JsonWriter w, Row row, bool beta)
    {
        var c = _clients[row.Source];
        var account = c.Account;
        var client = c.Settings;
        string id = RowGuid(row.Source, row.Index, 0x51A1);
        var location = client.Location;
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("createdDateTime", new DateTime(row.Ticks, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
        w.WriteString("userDisplayName", account.DisplayName);
        w.WriteString("userPrincipalName", account.UserPrincipalName);
        w.WriteString("userId", account.ObjectId);
        w.WriteString("appDisplayName", ExchangeDisplayName);
        w.WriteString("appId", ExchangeAppId);
        w.WriteString("resourceDisplayName", ExchangeDisplayName);
        w.WriteString("resourceId", ExchangeAppId);
        w.WriteString("clientAppUsed", AuthenticatedSmtp);
        w.WriteString("ipAddress", client.IpAddress);
        w.WriteString("correlationId", RowGuid(row.Source, row.Index, 0xC0DE));
        w.WriteBoolean("isInteractive", client.Interactive);
        w.WriteString("conditionalAccessStatus", CaStatus(row.ErrorCode));
        w.WriteString("riskDetail", "none");
        w.WriteString("riskLevelAggregated", "none");
        w.WriteString("riskLevelDuringSignIn", "none");
        w.WriteString("riskState", "none");
        w.WriteStartArray("riskEventTypes_v2");
        w.WriteEndArray();
        w.WriteStartObject("status");
        w.WriteNumber("errorCode", row.ErrorCode);
        w.WriteString("failureReason", GraphDirectory.DefaultFailureReason(row.ErrorCode));
        w.WriteNull("additionalDetails");
        w.WriteEndObject();
        w.WriteStartObject("deviceDetail");
        w.WriteString("deviceId", string.Empty);
        w.WriteString("displayName", string.Empty);
        w.WriteString("operatingSystem", string.Empty);
        w.WriteString("browser", string.Empty);
        w.WriteBoolean("isCompliant", false);
        w.WriteBoolean("isManaged", false);
        w.WriteString("trustType", string.Empty);
        w.WriteEndObject();
        w.WriteStartObject("location");
        if (location is null)
        {
            w.WriteString("city", "Redmond");
            w.WriteString("state", "Washington");
            w.WriteString("countryOrRegion", "US");
            w.WriteStartObject("geoCoordinates");
            w.WriteNull("altitude");
            w.WriteNumber("latitude", 47.6740);
            w.WriteNumber("longitude", -122.1215);
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("city", location.City);
            w.WriteString("state", location.State);
            w.WriteString("countryOrRegion", location.CountryOrRegion);
            w.WriteStartObject("geoCoordinates");
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteStartArray("appliedConditionalAccessPolicies");
        if (row.ErrorCode == 53003 && _blockPolicy is { } p)
        {
            w.WriteStartObject();
            w.WriteString("id", p.Id);
            w.WriteString("displayName", p.DisplayName);
            w.WriteStartArray("enforcedGrantControls");
            w.WriteStringValue("Block");
            w.WriteEndArray();
            w.WriteStartArray("enforcedSessionControls");
            w.WriteEndArray();
            w.WriteString("result", "failure");
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (beta)
        {
            WriteBetaProperties(w, client.UserAgent ?? DefaultUserAgent, "ropc", client.Interactive, account.UserPrincipalName, id);
        }

        w.WriteEndObject();
    }

    private JsonObject BetaJson(JsonObject v1)
    {
        var beta = (JsonObject)v1.DeepClone();
        string? app = v1["clientAppUsed"]?.GetValue<string>();
        bool legacy = app is not null && LegacyClientApps.Contains(app);
        AddBetaProperties(beta, legacy ? DefaultUserAgent : null, legacy ? "ropc" : "none", true, v1["userPrincipalName"]?.GetValue<string>());
        return beta;
    }

    // An explicit row gets the beta properties from the same writer as a generated one (one list of them).
    private void AddBetaProperties(JsonObject json, string? userAgent, string protocol, bool interactive, string? upn)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            WriteBetaProperties(writer, userAgent, protocol, interactive, upn, json["id"]?.GetValue<string>());
            writer.WriteEndObject();
        }

        var properties = JsonNode.Parse(buffer.WrittenSpan)!.AsObject();
        foreach (string name in properties.Select(p => p.Key).ToList())
        {
            JsonNode? value = properties[name];
            properties.Remove(name);
            json[name] = value;
        }
    }

    private void WriteBetaProperties(Utf8JsonWriter w, string? userAgent, string protocol, bool interactive, string? upn, string? id)
    {
        w.WriteString("userAgent", userAgent);
        w.WriteString("authenticationProtocol", protocol);
        w.WriteStartArray("signInEventTypes");
        w.WriteStringValue(interactive ? "interactiveUser" : "nonInteractiveUser");
        w.WriteEndArray();
        w.WriteString("incomingTokenType", "none");
        w.WriteString("authenticationRequirement", "singleFactorAuthentication");
        w.WriteString("userType", "member");
        w.WriteString("signInIdentifier", upn);
        w.WriteString("resourceTenantId", _tenant.TenantId);
        w.WriteString("homeTenantId", _tenant.TenantId);
        w.WriteString("originalRequestId", id);
        w.WriteNumber("processingTimeInMilliseconds", 120);
    }

    /// <summary>One sign-in: time (UTC ticks), source (-1 explicit, else the client index), index (explicit list index or session ordinal), code, user (index into the log's users).</summary>
    private readonly record struct Row(long Ticks, int Source, int Index, int ErrorCode, int User);

    private sealed record ExplicitRow(ScenarioAccount Account, JsonObject V1, JsonObject Beta);

    private sealed record Client(ScenarioAccount Account, ScenarioSmtpClient Settings);

    /// <summary>
    /// A version-4-shaped GUID for (client, session, salt): unique in the log, the same on every run of the same
    /// scenario, and cheaper than hashing a string per row (splitmix64 is a bijection, so distinct inputs give distinct halves).
    /// </summary>
    private static string RowGuid(int source, int ordinal, ulong salt)
    {
        ulong state = ((ulong)(uint)source << 32) | (uint)ordinal;
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, Mix(state ^ salt));
        BitConverter.TryWriteBytes(bytes[8..], Mix(state + 0x9E3779B97F4A7C15UL + salt));
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes).ToString();

        static ulong Mix(ulong z)
        {
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            return z ^ (z >> 31);
        }
    }
}
