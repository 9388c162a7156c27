using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.ExoEmulator.Graph;
using Xunit;
using Xunit.Abstractions;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>The demo tenant's readiness sign-ins (smtpClients) served by one Graph emulator, clock fixed at <see cref="ReadinessSignInTests.Now"/>.</summary>
public sealed class ReadinessDemoFixture : IAsyncLifetime
{
    internal GraphSession Session { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Session = await GraphSession.StartAsync(Harness.Demo, o => o with { Clock = new ManualClock(ReadinessSignInTests.Now) });

    public async Task DisposeAsync() => await Session.DisposeAsync();
}

/// <summary>Issue 12: Authenticated SMTP sign-ins at scale, the filter forms a readiness reader sends, paging, v1.0 and beta.</summary>
public sealed class ReadinessSignInTests(ReadinessDemoFixture fixture, ITestOutputHelper output) : IClassFixture<ReadinessDemoFixture>
{
    public static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private const string Window = "createdDateTime ge 2026-10-31T00:00:00Z and clientAppUsed eq 'Authenticated SMTP'";

    private GraphSession G => fixture.Session;

    private static string SignIns(string version, string filter, int top = 1000) =>
        $"{version}/auditLogs/signIns?$filter={Uri.EscapeDataString(filter)}&$top={top.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>What the schedule says a client produces inside the 30-day retention (sessions and their codes).</summary>
    private static List<SmtpClientSession> Expected(string upn, string ip)
    {
        var account = Harness.Demo.FindByUserPrincipalName(upn)!;
        var client = account.SmtpClients!.Single(c => c.IpAddress == ip);
        return SmtpClientSchedule.Sessions(upn, client).Where(s => s.OffsetTicks <= SignInLog.RetentionDays * TimeSpan.TicksPerDay).ToList();
    }

    [Fact]
    public async Task The_reader_s_v1_filter_pages_newest_first_without_gaps_or_duplicates()
    {
        var (items, pages) = await G.GetAllAsync(SignIns("v1.0", Window));

        var interactive = Harness.Demo.Accounts
            .SelectMany(a => (a.SmtpClients ?? []).Where(c => c.Authentication == SmtpClientAuthentication.Basic && c.Interactive).Select(c => (a.UserPrincipalName, c.IpAddress)))
            .Sum(x => Expected(x.UserPrincipalName, x.IpAddress).Count);
        int explicitSmtp = Harness.Demo.Accounts.Sum(a => (a.SignIns ?? []).Count(s => s.ClientAppUsed == "Authenticated SMTP"));
        Assert.Equal(interactive + explicitSmtp, items.Count);
        Assert.True(items.Count > 2000, $"{items.Count} rows");
        Assert.Equal((items.Count + 999) / 1000, pages);
        Assert.Equal(items.Count, items.Select(i => i["id"]!.GetValue<string>()).Distinct().Count());
        var times = items.Select(i => DateTimeOffset.Parse(i["createdDateTime"]!.GetValue<string>(), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(times.OrderByDescending(t => t), times);
        Assert.All(times, t => Assert.True(t >= new DateTimeOffset(2026, 10, 31, 0, 0, 0, TimeSpan.Zero) && t <= Now));
        Assert.All(items, i => Assert.Equal("Authenticated SMTP", i["clientAppUsed"]!.GetValue<string>()));
        Assert.DoesNotContain(items, i => i["userPrincipalName"]!.GetValue<string>() == "legacy.app@contoso.com");   // non-interactive: not on v1.0
        Assert.All(items, i => Assert.Null(i["signInEventTypes"]));
        Assert.All(items, i => Assert.Null(i["userAgent"]));
    }

    [Fact]
    public async Task Each_sender_gets_the_count_and_codes_its_schedule_says()
    {
        var (items, _) = await G.GetAllAsync(SignIns("v1.0", Window));
        var bySender = items.GroupBy(i => (Upn: i["userPrincipalName"]!.GetValue<string>(), Ip: i["ipAddress"]!.GetValue<string>()))
            .ToDictionary(g => g.Key, g => g.ToList());

        foreach (var (upn, ip) in new[] { ("scanner.floor2@contoso.com", "203.0.113.10"), ("erp.app@contoso.com", "198.51.100.20"), ("erp.app@contoso.com", "198.51.100.21"), ("printer.lobby@contoso.com", "203.0.113.30"), ("hr.copier@contoso.com", "203.0.113.50"), ("frontdesk@contoso.com", "203.0.113.60") })
        {
            var expected = Expected(upn, ip);
            var actual = bySender[(upn, ip)];
            Assert.Equal(expected.Count, actual.Count);
            Assert.Equal(
                expected.GroupBy(s => s.ErrorCode).OrderBy(g => g.Key).Select(g => (g.Key, g.Count())),
                actual.GroupBy(i => i["status"]!["errorCode"]!.GetValue<int>()).OrderBy(g => g.Key).Select(g => (g.Key, g.Count())));
        }

        Assert.Equal(360, bySender[("scanner.floor2@contoso.com", "203.0.113.10")].Count);                    // 12 a day for 30 days
        Assert.All(bySender[("printer.lobby@contoso.com", "203.0.113.30")], i => Assert.Equal(50126, i["status"]!["errorCode"]!.GetValue<int>()));
        var hr = bySender[("hr.copier@contoso.com", "203.0.113.50")].Select(i => i["status"]!["errorCode"]!.GetValue<int>()).ToList();
        Assert.Contains(0, hr);
        Assert.Contains(50126, hr);
        Assert.Contains(50053, hr);
        Assert.Equal(2, bySender.Keys.Count(k => k.Upn == "erp.app@contoso.com"));   // one user, two IPs

        var kiosk = bySender[("frontdesk@contoso.com", "203.0.113.60")][0];
        Assert.Equal(53003, kiosk["status"]!["errorCode"]!.GetValue<int>());
        Assert.Equal("failure", kiosk["conditionalAccessStatus"]!.GetValue<string>());
        Assert.Equal("Block legacy authentication (pilot)", kiosk["appliedConditionalAccessPolicies"]![0]!["displayName"]!.GetValue<string>());
        Assert.Equal("Berlin", kiosk["location"]!["city"]!.GetValue<string>());
        Assert.Equal("DE", kiosk["location"]!["countryOrRegion"]!.GetValue<string>());
        Assert.Equal("Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.", kiosk["status"]!["failureReason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_sender_that_turned_to_failure_fails_only_after_its_date()
    {
        var (items, _) = await G.GetAllAsync(SignIns("v1.0", Window + " and userPrincipalName eq 'nas.alerts@contoso.com'"));
        var turn = Now.AddDays(-3);
        Assert.Equal(120, items.Count);
        foreach (var i in items)
        {
            var when = DateTimeOffset.Parse(i["createdDateTime"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            Assert.Equal(when > turn ? 50126 : 0, i["status"]!["errorCode"]!.GetValue<int>());
        }

        Assert.Equal(0, items[^1]["status"]!["errorCode"]!.GetValue<int>());   // the oldest succeeded
        Assert.Equal(50126, items[0]["status"]!["errorCode"]!.GetValue<int>()); // the newest fails
    }

    [Fact]
    public async Task Beta_adds_the_readiness_fields_and_lists_non_interactive_sign_ins_only_when_asked()
    {
        var (plain, _) = await G.GetAllAsync(SignIns("beta", Window));
        Assert.DoesNotContain(plain, i => i["userPrincipalName"]!.GetValue<string>() == "legacy.app@contoso.com");
        var scan = plain.First(i => i["userPrincipalName"]!.GetValue<string>() == "scanner.floor2@contoso.com");
        Assert.Equal("BAV2ROPC", scan["userAgent"]!.GetValue<string>());
        Assert.Equal("ropc", scan["authenticationProtocol"]!.GetValue<string>());
        Assert.Equal(["interactiveUser"], scan["signInEventTypes"]!.AsArray().Select(v => v!.GetValue<string>()));

        string both = Window + " and signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')";
        var (all, _) = await G.GetAllAsync(SignIns("beta", both));
        var legacy = all.Where(i => i["userPrincipalName"]!.GetValue<string>() == "legacy.app@contoso.com").ToList();
        Assert.Equal(720, legacy.Count);
        Assert.All(legacy, i => Assert.Equal(["nonInteractiveUser"], i["signInEventTypes"]!.AsArray().Select(v => v!.GetValue<string>())));
        Assert.All(legacy, i => Assert.False(i["isInteractive"]!.GetValue<bool>()));
        Assert.Equal(plain.Count + 720, all.Count);

        // The same condition written the other ways readers write it.
        foreach (string form in new[]
        {
            Window + " and (signInEventTypes/any(t: t eq 'nonInteractiveUser'))",
            Window + " and signInEventTypes/any(t:t eq 'nonInteractiveUser')",
            "signInEventTypes/any(x: x eq 'nonInteractiveUser') and " + Window,
        })
        {
            var (only, _) = await G.GetAllAsync(SignIns("beta", form));
            Assert.Equal(720, only.Count);
        }
    }

    [Fact]
    public async Task Graph_s_refusals_are_kept()
    {
        // signInEventTypes does not exist on v1.0.
        var (status, body, _) = await G.GetAsync(SignIns("v1.0", Window + " and signInEventTypes/any(t: t eq 'interactiveUser')"));
        Assert.Equal(400, status);
        GraphSession.AssertGraphError(body, "BadRequest");
        Assert.Contains("Could not find a property named 'signInEventTypes' on type 'microsoft.graph.signIn'", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        foreach (string bad in new[] { "signInEventTypes/any(eq 'x')", "signInEventTypes/any(t t eq 'x')", "signInEventTypes/any(t: t eq 'x'" })
        {
            (status, _, _) = await G.GetAsync(SignIns("beta", bad));
            Assert.Equal(400, status);
        }

        (status, _, _) = await G.GetAsync(SignIns("v1.0", Window, top: 1001));
        Assert.Equal(400, status);
        (status, _, _) = await G.GetAsync("v1.0/auditLogs/signIns?$skiptoken=RFNwdAIAAQAAAc2tpcDoxMA");   // a "skip:" token from another route
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Per_user_filters_match_the_tenant_wide_read()
    {
        var (all, _) = await G.GetAllAsync(SignIns("v1.0", Window));
        var (one, _) = await G.GetAllAsync(SignIns("v1.0", "userPrincipalName eq 'erp.app@contoso.com' and " + Window, top: 500));
        var (two, _) = await G.GetAllAsync(SignIns("v1.0", Window + " and (userPrincipalName eq 'erp.app@contoso.com' or userPrincipalName eq 'hr.copier@contoso.com')", top: 700));
        var byId = Harness.Demo.FindByUserPrincipalName("hr.copier@contoso.com")!.ObjectId;
        // status/errorCode takes eq only (https://learn.microsoft.com/graph/api/resources/signin: "Supports $filter (eq) on errorCode").
        var (three, _) = await G.GetAllAsync(SignIns("v1.0", $"userId eq '{byId}' and status/errorCode eq 0 and " + Window));

        Assert.Equal(all.Where(i => i["userPrincipalName"]!.GetValue<string>() == "erp.app@contoso.com").Select(i => i["id"]!.GetValue<string>()), one.Select(i => i["id"]!.GetValue<string>()));
        Assert.Equal(all.Where(i => i["userPrincipalName"]!.GetValue<string>() is "erp.app@contoso.com" or "hr.copier@contoso.com").Select(i => i["id"]!.GetValue<string>()), two.Select(i => i["id"]!.GetValue<string>()));
        Assert.Equal(all.Count(i => i["userId"]!.GetValue<string>() == byId && i["status"]!["errorCode"]!.GetValue<int>() == 0), three.Count);
        Assert.NotEmpty(three);

        var (week, _) = await G.GetAllAsync(SignIns("v1.0", "createdDateTime ge 2026-11-20T00:00:00Z and createdDateTime le 2026-11-27T00:00:00Z and ipAddress eq '203.0.113.10'"));
        Assert.Equal(84, week.Count);   // 12 a day
    }

    [Fact]
    public async Task A_tenant_without_P1_gets_403_on_sign_ins()
    {
        var scenario = Harness.Demo with { Tenant = Harness.Demo.Tenant with { Graph = new GraphSettings { Premium = false } } };
        await using var g = await GraphSession.StartAsync(scenario, o => o with { Clock = new ManualClock(Now) });
        foreach (string version in new[] { "v1.0", "beta" })
        {
            var (status, body, _) = await g.GetAsync(SignIns(version, Window));
            Assert.Equal(403, status);
            GraphSession.AssertGraphError(body, "Authentication_RequestFromNonPremiumTenantOrB2CTenant");
        }
    }

    [Fact]
    public void The_schedule_is_deterministic_and_honours_counts_windows_and_mixes()
    {
        var client = new ScenarioSmtpClient { IpAddress = "203.0.113.99", PerDay = 0.5, Days = 30, QuietDays = 2 };
        var sessions = SmtpClientSchedule.Sessions("a@contoso.com", client).ToList();
        Assert.Equal(15, sessions.Count);
        Assert.Equal(sessions, SmtpClientSchedule.Sessions("A@CONTOSO.COM", client).ToList());   // case-insensitive seed
        Assert.All(sessions, s => Assert.InRange(s.OffsetTicks, 2 * TimeSpan.TicksPerDay, 32 * TimeSpan.TicksPerDay));
        Assert.Equal(sessions.OrderBy(s => s.OffsetTicks).Select(s => s.Ordinal), sessions.Select(s => s.Ordinal));   // newest first

        var mix = client with { PerDay = 1000, Failures = new Dictionary<string, double> { ["50126"] = 0.1, ["50053"] = 0.02 } };
        var codes = SmtpClientSchedule.Sessions("a@contoso.com", mix).GroupBy(s => s.ErrorCode).ToDictionary(g => g.Key, g => g.Count());
        Assert.InRange(codes[50126], 2700, 3300);   // 10% of 30,000
        Assert.InRange(codes[50053], 450, 750);
        Assert.InRange(codes[0], 25500, 26500);

        var turned = client with { PerDay = 4, QuietDays = 0, FailFrom = new ScenarioFailFrom { DaysAgo = 3, ErrorCode = 50126 } };
        Assert.All(SmtpClientSchedule.Sessions("a@contoso.com", turned), s => Assert.Equal(s.OffsetTicks < 3 * TimeSpan.TicksPerDay ? 50126 : 0, s.ErrorCode));
        Assert.Equal(509500544u, SmtpClientSchedule.Seed("a@contoso.com", "203.0.113.99"));   // pinned: the PowerShell stand-in computes the same
    }

    [Fact]
    public void Sign_ins_older_than_the_retention_are_not_kept()
    {
        var account = Harness.Demo.Accounts[0] with
        {
            SignIns = null,
            SmtpClients = [new ScenarioSmtpClient { IpAddress = "203.0.113.98", PerDay = 1, Days = 90 }],
        };
        var scenario = Harness.Demo with { Accounts = [account] };
        var log = new GraphDirectory(scenario, Now).SignIns;
        Assert.InRange(log.Count, 29, 31);
    }

    [Fact]
    public void Filters_expose_their_bounds_and_equality_sets()
    {
        var f = ODataFilter.Parse("createdDateTime ge 2026-10-31T00:00:00Z and (userPrincipalName eq 'a@x.com' or userPrincipalName eq 'b@x.com') and createdDateTime lt 2026-11-02T00:00:00Z", null, "t");
        Assert.Equal(new DateTimeOffset(2026, 10, 31, 0, 0, 0, TimeSpan.Zero), f.LowerBound("createdDateTime"));
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero), f.UpperBound("createdDateTime"));
        Assert.Equal(["a@x.com", "b@x.com"], f.EqualityValues("userPrincipalName"));
        Assert.Null(ODataFilter.Parse("userPrincipalName eq 'a' or ipAddress eq 'b'", null, "t").EqualityValues("userPrincipalName"));
        Assert.Equal(["a", "b"], ODataFilter.Parse("userId in ('a','b')", null, "t").EqualityValues("userId"));

        var any = ODataFilter.Parse("signInEventTypes/any(t: t eq 'nonInteractiveUser')", null, "t");
        Assert.True(any.Reads("signInEventTypes"));
        Assert.True(any.Matches(new JsonObject { ["signInEventTypes"] = new JsonArray("interactiveUser", "nonInteractiveUser") }));
        Assert.False(any.Matches(new JsonObject { ["signInEventTypes"] = new JsonArray("interactiveUser") }));
        Assert.False(any.Matches(new JsonObject { ["signInEventTypes"] = "nonInteractiveUser" }));   // not a collection
        var all = ODataFilter.Parse("appliedConditionalAccessPolicies/all(p: p/result eq 'notApplied')", null, "t");
        Assert.True(all.Matches(new JsonObject { ["appliedConditionalAccessPolicies"] = new JsonArray(new JsonObject { ["result"] = "notApplied" }) }));
        Assert.False(all.Matches(new JsonObject { ["appliedConditionalAccessPolicies"] = new JsonArray(new JsonObject { ["result"] = "failure" }) }));
        Assert.Throws<ODataFilterException>(() => ODataFilter.Parse("signInEventTypes/any(t: t eq 'x')", ["id"], "t"));
    }

    /// <summary>Timing print, not a timed test: 10,000 mailboxes × 30 days, load, first page, full read over HTTP.</summary>
    [Fact]
    public async Task Ten_thousand_users_for_thirty_days_load_and_page()
    {
        var watch = Stopwatch.StartNew();
        var scenario = ScaleScenarioGenerator.Generate(10000, seed: 3, signInDays: 30);
        long generate = watch.ElapsedMilliseconds;
        watch.Restart();
        var log = new GraphDirectory(scenario, Now).SignIns;
        long load = watch.ElapsedMilliseconds;
        Assert.InRange(log.GeneratedCount, 280_000, 300_000);

        await using var g = await GraphSession.StartAsync(scenario, o => o with { Clock = new ManualClock(Now) });
        watch.Restart();
        var (status, first, _) = await g.GetAsync(SignIns("v1.0", Window));
        long firstPage = watch.ElapsedMilliseconds;
        Assert.Equal(200, status);
        Assert.Equal(1000, first["value"]!.AsArray().Count);

        watch.Restart();
        int rows = 0, pages = 0;
        string? next = SignIns("v1.0", Window);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (next is not null)
        {
            var (s, body, _) = await g.GetAsync(next);
            Assert.Equal(200, s);
            var value = body["value"]!.AsArray();
            rows += value.Count;
            pages++;
            ids.Add(value[0]!["id"]!.GetValue<string>());
            next = body["@odata.nextLink"]?.GetValue<string>();
        }

        long full = watch.ElapsedMilliseconds;
        Assert.Equal(pages, ids.Count);
        Assert.InRange(rows, 250_000, 300_000);
        long workingSet = Process.GetCurrentProcess().WorkingSet64 / (1024 * 1024);
        output.WriteLine($"10,000 mailboxes x 30 days: {log.Count:N0} sign-ins kept ({log.GeneratedCount:N0} generated); scenario generated in {generate} ms, log built in {load} ms; " +
                         $"first page {firstPage} ms; full read {rows:N0} interactive rows in {pages} pages, {full} ms; test process working set {workingSet} MB");
        Console.WriteLine($"[timing] first page {firstPage} ms, full read {rows} rows / {pages} pages {full} ms, log built {load} ms, working set {workingSet} MB");
    }
}
