using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;

namespace SmtpAuthTroubleshooter.ExoEmulator.Graph;

/// <summary>One token request the managed identity endpoint served.</summary>
/// <param name="Resource">The resource asked for (Azure.Identity sends the scope without "/.default").</param>
/// <param name="ClientId">The user-assigned identity's client id, or null for the system-assigned one.</param>
/// <param name="ApiVersion">The protocol version asked for.</param>
/// <param name="HeaderPresent">Whether the X-IDENTITY-HEADER secret came (its value is never kept).</param>
public sealed record ManagedIdentityTokenRequest(string? Resource, string? ClientId, string? ApiVersion, bool HeaderPresent)
{
    public JsonObject ToJson() => new()
    {
        ["resource"] = Resource,
        ["clientId"] = ClientId,
        ["apiVersion"] = ApiVersion,
        ["headerPresent"] = HeaderPresent,
    };
}

/// <summary>
/// GET /msi/token: a managed identity endpoint in the App Service / Azure Automation protocol (api-version
/// 2019-08-01), so that Azure.Identity's ManagedIdentityCredential can be pointed at the emulator with
/// IDENTITY_ENDPOINT=http://127.0.0.1:&lt;port&gt;/msi/token and IDENTITY_HEADER=&lt;any secret&gt;. It answers every
/// request that carries the X-IDENTITY-HEADER with a fresh opaque token ("emulator-mi-..."); the Graph routes count
/// the requests that come back with such a token (GraphStatistics.ManagedIdentityBearerRequests). A user-assigned
/// client id ending in <see cref="UnassignedSuffix"/> gets App Service's 400 for an identity not assigned to the resource.
/// </summary>
internal sealed class ManagedIdentityEndpoint
{
    /// <summary>A user-assigned client id ending like this is "not assigned to this resource" (400), as App Service answers.</summary>
    public const string UnassignedSuffix = "-00000000bad0";

    private readonly ConcurrentQueue<ManagedIdentityTokenRequest> _requests = new();
    private readonly ConcurrentDictionary<string, bool> _issued = new(StringComparer.Ordinal);

    public IReadOnlyList<ManagedIdentityTokenRequest> Requests => _requests.ToArray();

    public void Reset()
    {
        _requests.Clear();
        _issued.Clear();
    }

    /// <summary>True when an Authorization header carries a token this endpoint issued.</summary>
    public bool Issued(string authorization) =>
        authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && _issued.ContainsKey(authorization[7..].Trim());

    public GraphResponse Handle(GraphRequest request, TimeProvider clock)
    {
        string? resource = request.Query.TryGetValue("resource", out string? r) ? r : null;
        string? clientId = request.Query.TryGetValue("client_id", out string? c) ? c : null;
        string? version = request.Query.TryGetValue("api-version", out string? v) ? v : null;
        bool header = !string.IsNullOrEmpty(request.Header("X-IDENTITY-HEADER"));
        _requests.Enqueue(new ManagedIdentityTokenRequest(resource, clientId, version, header));
        if (!header || string.IsNullOrEmpty(resource))
        {
            return new GraphResponse(400, new JsonObject
            {
                ["statusCode"] = 400,
                ["message"] = header ? "The resource parameter is missing." : "The X-IDENTITY-HEADER header is missing.",
            });
        }

        if (clientId is not null && clientId.EndsWith(UnassignedSuffix, StringComparison.OrdinalIgnoreCase))
        {
            // What App Service answers for a user-assigned identity that is not assigned to the resource.
            return new GraphResponse(400, new JsonObject
            {
                ["statusCode"] = 400,
                ["message"] = "Unable to load the proper Managed Identity. The user-assigned identity " + clientId + " is not assigned to this resource.",
                ["correlationId"] = Guid.NewGuid().ToString(),
            });
        }

        string token = "emulator-mi-" + Guid.NewGuid().ToString("N");
        _issued[token] = true;
        long expires = clock.GetUtcNow().AddHours(1).ToUnixTimeSeconds();
        return new GraphResponse(200, new JsonObject
        {
            ["access_token"] = token,
            ["expires_on"] = expires.ToString(CultureInfo.InvariantCulture),
            ["resource"] = resource,
            ["token_type"] = "Bearer",
            ["client_id"] = clientId ?? "00000000-0000-0000-0000-00000000a11d",
        });
    }
}
