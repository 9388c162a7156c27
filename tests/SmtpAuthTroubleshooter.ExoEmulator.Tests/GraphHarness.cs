using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.ExoEmulator.Graph;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>A started Graph emulator and an HttpClient that sends a bearer token to it.</summary>
internal sealed class GraphSession : IAsyncDisposable
{
    private GraphSession(GraphEmulator emulator, HttpClient client)
    {
        Emulator = emulator;
        Client = client;
    }

    public GraphEmulator Emulator { get; }

    public HttpClient Client { get; }

    public static readonly DateTimeOffset Now = new(2026, 3, 13, 19, 30, 0, TimeSpan.Zero);

    public static TenantScenario Directory => s_directory.Value;

    private static readonly Lazy<TenantScenario> s_directory = new(() => Harness.LoadScenario("directory-tenant.json"));

    public static async Task<GraphSession> StartAsync(TenantScenario? scenario = null, Func<GraphEmulatorOptions, GraphEmulatorOptions>? configure = null)
    {
        var options = new GraphEmulatorOptions { Scenario = scenario ?? Harness.Demo, Clock = new ManualClock(Now) };
        var emulator = await GraphEmulator.StartAsync(configure is null ? options : configure(options));
        var client = new HttpClient { BaseAddress = emulator.BaseUri, Timeout = TimeSpan.FromSeconds(15) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "test-token");
        return new GraphSession(emulator, client);
    }

    public async Task<(int Status, JsonObject Body, HttpResponseMessage Response)> GetAsync(string url)
    {
        var response = await Client.GetAsync(url, Harness.Token());
        return ((int)response.StatusCode, await ReadAsync(response), response);
    }

    public async Task<(int Status, JsonObject Body, HttpResponseMessage Response)> PostAsync(string url, JsonNode body)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        var response = await Client.PostAsync(url, content, Harness.Token());
        return ((int)response.StatusCode, await ReadAsync(response), response);
    }

    /// <summary>Follows @odata.nextLink (verbatim) and returns every item and the number of pages.</summary>
    public async Task<(List<JsonObject> Items, int Pages)> GetAllAsync(string url)
    {
        var items = new List<JsonObject>();
        int pages = 0;
        string? next = url;
        while (next is not null)
        {
            var (status, body, _) = await GetAsync(next);
            Assert.Equal(200, status);
            pages++;
            items.AddRange(body["value"]!.AsArray().Select(v => v!.AsObject()));
            next = body["@odata.nextLink"]?.GetValue<string>();
            if (next is not null)
            {
                Assert.StartsWith(Emulator.BaseUri.ToString(), next, StringComparison.Ordinal);
                Assert.Contains("$skiptoken=", next, StringComparison.Ordinal);
            }

            Assert.True(pages < 100, "too many pages");
        }

        return (items, pages);
    }

    public static async Task<JsonObject> ReadAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject();
    }

    public static void AssertGraphError(JsonObject body, string code)
    {
        var error = body["error"]!.AsObject();
        Assert.Equal(code, error["code"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
        var inner = error["innerError"]!.AsObject();
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$", inner["date"]!.GetValue<string>());
        Assert.True(Guid.TryParse(inner["request-id"]!.GetValue<string>(), out _));
    }

    public static string[] Keys(JsonObject o) => o.Select(p => p.Key).ToArray();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Emulator.DisposeAsync();
    }
}
