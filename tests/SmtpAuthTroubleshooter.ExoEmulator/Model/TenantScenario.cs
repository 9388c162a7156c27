using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>
/// One emulated tenant: its settings and its accounts. The schema describes tenant state (what
/// Get-TransportConfig, Get-CASMailbox, Graph and so on would return), never SMTP replies, so the same
/// file can drive the SMTP emulator, a stand-in Exchange Online module and a Graph endpoint.
/// See README.md beside this file for the schema.
/// </summary>
public sealed record TenantScenario
{
    /// <summary>The schema version this library reads.</summary>
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>Free text for people; ignored by the emulator.</summary>
    public string? Description { get; init; }

    public required TenantSettings Tenant { get; init; }

    public IReadOnlyList<ScenarioAccount> Accounts { get; init; } = [];

    /// <summary>The account whose UserPrincipalName is <paramref name="userPrincipalName"/> (case-insensitive).</summary>
    public ScenarioAccount? FindByUserPrincipalName(string? userPrincipalName) =>
        string.IsNullOrEmpty(userPrincipalName)
            ? null
            : Accounts.FirstOrDefault(a => string.Equals(a.UserPrincipalName, userPrincipalName, StringComparison.OrdinalIgnoreCase));

    /// <summary>The account that owns <paramref name="address"/> as its UPN, primary SMTP address or an alias.</summary>
    public ScenarioAccount? FindByAddress(string? address) =>
        string.IsNullOrEmpty(address) ? null : Accounts.FirstOrDefault(a => a.OwnsAddress(address));

    /// <summary>The account whose Entra object id is <paramref name="objectId"/>.</summary>
    public ScenarioAccount? FindByObjectId(string? objectId) =>
        string.IsNullOrEmpty(objectId)
            ? null
            : Accounts.FirstOrDefault(a => string.Equals(a.ObjectId, objectId, StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads and validates a scenario file.</summary>
    /// <exception cref="ScenarioException">The file is not valid JSON for this schema, or fails validation.</exception>
    public static TenantScenario Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ScenarioException($"Cannot read scenario file '{path}': {ex.Message}", ex);
        }

        return Parse(json, path);
    }

    /// <summary>Parses and validates scenario JSON.</summary>
    /// <exception cref="ScenarioException">The text is not valid JSON for this schema, or fails validation.</exception>
    public static TenantScenario Parse(string json, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        TenantScenario? scenario;
        try
        {
            scenario = JsonSerializer.Deserialize<TenantScenario>(json, ScenarioJson.Options);
        }
        catch (JsonException ex)
        {
            throw new ScenarioException($"Scenario {source ?? "JSON"} is not valid: {ex.Message}", ex);
        }

        if (scenario is null)
        {
            throw new ScenarioException($"Scenario {source ?? "JSON"} is empty.");
        }

        scenario.Validate(source);
        return scenario;
    }

    /// <summary>Serializes the scenario in the file format (camelCase, indented).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ScenarioJson.Options);

    /// <summary>Checks the cross-references and the rules Entra and Exchange enforce.</summary>
    /// <exception cref="ScenarioException">One or more problems, all listed in the message.</exception>
    public void Validate(string? source = null)
    {
        var problems = new List<string>();
        if (SchemaVersion != CurrentSchemaVersion)
        {
            problems.Add($"schemaVersion {SchemaVersion} is not supported (expected {CurrentSchemaVersion}).");
        }

        Tenant.Validate(problems);

        var addresses = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var objectIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var policyNames = new HashSet<string>(Tenant.AuthenticationPolicies.Select(p => p.Name), StringComparer.OrdinalIgnoreCase);
        var appIds = new HashSet<string>(Tenant.Applications.Select(a => a.AppId), StringComparer.OrdinalIgnoreCase);
        foreach (var account in Accounts)
        {
            string who = account.UserPrincipalName;
            if (string.IsNullOrWhiteSpace(who) || !who.Contains('@', StringComparison.Ordinal))
            {
                problems.Add($"account '{who}': userPrincipalName must be an address (user@domain).");
            }

            if (!Guid.TryParse(account.ObjectId, out _))
            {
                problems.Add($"account '{who}': objectId '{account.ObjectId}' is not a GUID.");
            }
            else if (!objectIds.Add(account.ObjectId))
            {
                problems.Add($"account '{who}': objectId '{account.ObjectId}' is used twice.");
            }

            foreach (string address in account.AllAddresses().Distinct(StringComparer.OrdinalIgnoreCase))
            {
                if (addresses.TryGetValue(address, out string? owner))
                {
                    problems.Add($"account '{who}': address '{address}' already belongs to '{owner}'.");
                }
                else
                {
                    addresses[address] = who;
                }
            }

            if (account.AuthenticationPolicy is { } policy && !policyNames.Contains(policy))
            {
                problems.Add($"account '{who}': authenticationPolicy '{policy}' is not in tenant.authenticationPolicies.");
            }

            foreach (string appId in account.FullAccessApps.Where(id => !appIds.Contains(id)))
            {
                problems.Add($"account '{who}': fullAccessApps names appId '{appId}', which is not in tenant.applications.");
            }

            foreach (string user in account.FullAccessUsers.Where(u => !Accounts.Any(a => string.Equals(a.UserPrincipalName, u, StringComparison.OrdinalIgnoreCase))))
            {
                problems.Add($"account '{who}': fullAccessUsers names '{user}', which is not an account of the scenario.");
            }

            if (account.UserType is not ("Member" or "Guest"))
            {
                problems.Add($"account '{who}': userType '{account.UserType}' must be Member or Guest.");
            }

            foreach (var signIn in account.SignIns ?? [])
            {
                if (signIn.MinutesAgo < 0 || string.IsNullOrWhiteSpace(signIn.ClientAppUsed))
                {
                    problems.Add($"account '{who}': a sign-in needs minutesAgo >= 0 and a clientAppUsed.");
                }
            }

            var clientIps = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var client in account.SmtpClients ?? [])
            {
                client.Validate(who, problems);
                if (!clientIps.Add(client.IpAddress))
                {
                    problems.Add($"account '{who}': smtpClients lists '{client.IpAddress}' twice (one client per IP).");
                }
            }
        }

        var upns = new HashSet<string>(Accounts.Select(a => a.UserPrincipalName), StringComparer.OrdinalIgnoreCase);
        foreach (var (kind, name, members) in Tenant.EffectiveGroups().Select(g => ("group", g.DisplayName ?? g.Id, g.Members))
                     .Concat(Tenant.EffectiveDirectoryRoles().Select(r => ("directory role", r.DisplayName ?? r.RoleTemplateId, r.Members))))
        {
            foreach (string member in members.Where(m => !upns.Contains(m)))
            {
                problems.Add($"{kind} '{name}': member '{member}' is not an account's userPrincipalName.");
            }
        }

        if (problems.Count > 0)
        {
            throw new ScenarioException($"Scenario {source ?? "JSON"} has {problems.Count} problem(s):{Environment.NewLine}- " + string.Join(Environment.NewLine + "- ", problems));
        }
    }
}

/// <summary>A scenario that cannot be read or is inconsistent.</summary>
public sealed class ScenarioException : Exception
{
    public ScenarioException(string message) : base(message) { }

    public ScenarioException(string message, Exception innerException) : base(message, innerException) { }

    public ScenarioException() { }
}

internal static class ScenarioJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter() },
    };
}
