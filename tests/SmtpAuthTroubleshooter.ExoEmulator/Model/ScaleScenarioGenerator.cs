using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>
/// Writes large, valid scenarios for scale tests (the <c>scenario</c> console verb): N user mailboxes with varied SMTP AUTH
/// settings, a few authentication policies, a legacy-auth CA block whose exclusions come from a group, and sign-ins.
/// Deterministic for a given count and seed.
/// </summary>
public static class ScaleScenarioGenerator
{
    public const string Domain = "scale.example.com";
    public const string ExclusionGroupId = "5ca1e000-0000-4000-8000-00000000e001";
    public const string FinanceGroupId = "5ca1e000-0000-4000-8000-00000000f001";
    public const string BlockLegacyPolicyId = "5ca1e000-0000-4000-8000-0000000ca001";
    public const string FinanceMfaPolicyId = "5ca1e000-0000-4000-8000-0000000ca002";
    public const string MailerAppId = "5ca1e000-0000-4000-8000-00000000a001";
    public const string GlobalAdministratorTemplateId = "62e90394-69f5-4237-9190-012177145e10";
    public const string ExchangeAdministratorTemplateId = "29232cdf-9323-42fd-ade2-1d097af3e4de";

    private static readonly JsonSerializerOptions CompactOptions = new(ScenarioJson.Options) { WriteIndented = false };

    private static readonly ScenarioLocation[] Locations =
    [
        new() { City = "Seattle", State = "Washington", CountryOrRegion = "US" },
        new() { City = "Chicago", State = "Illinois", CountryOrRegion = "US" },
        new() { City = "Amsterdam", State = "Noord-Holland", CountryOrRegion = "NL" },
        new() { City = "Munich", State = "Bavaria", CountryOrRegion = "DE" },
        new() { City = "Osaka", State = "Osaka", CountryOrRegion = "JP" },
    ];

    /// <summary>Builds a scenario with <paramref name="count"/> mailboxes (user00001@scale.example.com, ...).</summary>
    /// <param name="count">Mailboxes.</param>
    /// <param name="seed">Same count, seed and options: same scenario.</param>
    /// <param name="signInDays">0: no SMTP clients. 1-30: every mailbox gets SMTP AUTH clients active over this many days (<see cref="SmtpClientsFor"/>), so the Graph emulator serves about count × days × <paramref name="signInsPerDay"/> Authenticated SMTP sign-ins.</param>
    /// <param name="signInsPerDay">Sessions per mailbox per day (split over its clients).</param>
    public static TenantScenario Generate(int count, int seed = 1, int signInDays = 0, double signInsPerDay = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(signInDays, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(signInDays, 90);
        var random = new Random(seed);
        var clientRandom = new Random(unchecked(seed * 7919) ^ 0x5CA1E);   // separate stream: without clients the scenario is byte-for-byte the old one
        string NewGuid()
        {
            Span<byte> bytes = stackalloc byte[16];
            random.NextBytes(bytes);
            bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
            bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
            return new Guid(bytes).ToString();
        }

        string tenantId = NewGuid();
        var accounts = new List<ScenarioAccount>(count);
        var excluded = new List<string>();
        var finance = new List<string>();
        for (int i = 1; i <= count; i++)
        {
            string local = "user" + i.ToString("D5", CultureInfo.InvariantCulture);
            string upn = $"{local}@{Domain}";
            double r = random.NextDouble();

            // ~5% $false (SMTP AUTH on for the mailbox), ~5% $true, the rest $null (inherit the tenant's $true).
            bool? smtpDisabled = r < 0.05 ? false : r < 0.10 ? true : null;
            bool appMailbox = random.NextDouble() < 0.01;
            double p = random.NextDouble();
            string? authPolicy = p < 0.04 ? "Allow Basic SMTP" : p < 0.05 ? "Legacy Scanners" : null;
            double mfa = random.NextDouble();
            bool sender = smtpDisabled == false;
            if (sender && random.NextDouble() < 0.5)
            {
                excluded.Add(upn);
            }

            if (random.NextDouble() < 0.03)
            {
                finance.Add(upn);
            }

            List<ScenarioSignIn>? signIns = null;
            if (sender)
            {
                signIns = [];
                int n = 1 + random.Next(3);
                bool isExcluded = excluded.Count > 0 && excluded[^1] == upn;
                for (int k = 0; k < n; k++)
                {
                    double minutes = Math.Round(random.NextDouble() * 7 * 24 * 60, 1);
                    if (isExcluded)
                    {
                        signIns.Add(new ScenarioSignIn
                        {
                            MinutesAgo = minutes,
                            ErrorCode = 0,
                            AppliedConditionalAccessPolicies = [new ScenarioAppliedPolicy { Id = BlockLegacyPolicyId, DisplayName = "Block legacy authentication", Result = "notApplied" }],
                        });
                    }
                    else if (random.NextDouble() < 0.2)
                    {
                        signIns.Add(new ScenarioSignIn { MinutesAgo = minutes, ErrorCode = 50126 });
                    }
                    else
                    {
                        signIns.Add(new ScenarioSignIn
                        {
                            MinutesAgo = minutes,
                            ErrorCode = 53003,
                            AppliedConditionalAccessPolicies = [new ScenarioAppliedPolicy { Id = BlockLegacyPolicyId, DisplayName = "Block legacy authentication", Result = "failure", EnforcedGrantControls = ["Block"] }],
                        });
                    }
                }
            }

            accounts.Add(new ScenarioAccount
            {
                UserPrincipalName = upn,
                ObjectId = NewGuid(),
                DisplayName = "User " + i.ToString("D5", CultureInfo.InvariantCulture),
                Aliases = random.NextDouble() < 0.2 ? [$"u{i.ToString(CultureInfo.InvariantCulture)}@{Domain}"] : [],
                Password = i <= 20 ? $"Scale-Pass-{i.ToString(CultureInfo.InvariantCulture)}!" : null,
                SmtpClientAuthenticationDisabled = smtpDisabled,
                AuthenticationPolicy = authPolicy,
                AccountEnabled = random.NextDouble() >= 0.02,
                PerUserMfaState = mfa < 0.03 ? PerUserMfaState.Enforced : mfa < 0.05 ? PerUserMfaState.Enabled : PerUserMfaState.Disabled,
                OnPremisesSyncEnabled = random.NextDouble() < 0.3 ? true : null,
                FullAccessApps = appMailbox ? [MailerAppId] : [],
                SignIns = signIns,
                SmtpClients = signInDays > 0 ? SmtpClientsFor(i, clientRandom, signInDays, signInsPerDay) : null,
            });
        }

        var tenant = new TenantSettings
        {
            Name = $"Scale Tenant ({count.ToString(CultureInfo.InvariantCulture)} mailboxes)",
            Domain = Domain,
            TenantId = tenantId,
            SmtpClientAuthenticationDisabled = true,
            DefaultAuthenticationPolicy = "Block Basic Auth",
            AuthenticationPolicies =
            [
                new AuthenticationPolicySettings { Name = "Block Basic Auth", AllowBasicAuthSmtp = false },
                new AuthenticationPolicySettings { Name = "Allow Basic SMTP", AllowBasicAuthSmtp = true },
                new AuthenticationPolicySettings { Name = "Legacy Scanners", AllowBasicAuthSmtp = true },
            ],
            ConditionalAccessPolicies =
            [
                new ConditionalAccessPolicySettings
                {
                    Id = BlockLegacyPolicyId,
                    DisplayName = "Block legacy authentication",
                    ClientAppTypes = ["exchangeActiveSync", "other"],
                    IncludeUsers = ["All"],
                    ExcludeGroups = [ExclusionGroupId],
                    ExcludeRoles = [GlobalAdministratorTemplateId],
                    Grant = ConditionalAccessGrant.Block,
                },
                new ConditionalAccessPolicySettings
                {
                    Id = FinanceMfaPolicyId,
                    DisplayName = "Require MFA for finance",
                    IncludeApplications = ["Office365"],
                    IncludeGroups = [FinanceGroupId],
                    Grant = ConditionalAccessGrant.Mfa,
                },
            ],
            Applications =
            [
                new ScenarioApplication
                {
                    AppId = MailerAppId,
                    DisplayName = "Scale Mailer",
                    ServicePrincipalObjectId = "5ca1e000-0000-4000-8000-00000000c001",
                    AppRegistrationObjectId = "5ca1e000-0000-4000-8000-00000000d001",
                    ExoServicePrincipalObjectId = "5ca1e000-0000-4000-8000-00000000c001",
                    Roles = ["SMTP.SendAsApp"],
                },
            ],
            Groups =
            [
                new ScenarioGroup { Id = ExclusionGroupId, DisplayName = "CA-Exclude-Legacy-SMTP", Members = excluded },
                new ScenarioGroup { Id = FinanceGroupId, DisplayName = "Finance", Members = finance },
            ],
            DirectoryRoles =
            [
                new ScenarioDirectoryRole { RoleTemplateId = GlobalAdministratorTemplateId, DisplayName = "Global Administrator", Members = [accounts[0].UserPrincipalName] },
                new ScenarioDirectoryRole { RoleTemplateId = ExchangeAdministratorTemplateId, DisplayName = "Exchange Administrator", Members = [accounts[^1].UserPrincipalName] },
            ],
        };

        var scenario = new TenantScenario
        {
            Description = $"Generated: {count.ToString(CultureInfo.InvariantCulture)} mailboxes, seed {seed.ToString(CultureInfo.InvariantCulture)}."
                + (signInDays > 0 ? $" SMTP clients over {signInDays.ToString(CultureInfo.InvariantCulture)} days, {signInsPerDay.ToString(CultureInfo.InvariantCulture)} session(s) per mailbox per day." : string.Empty),
            Tenant = tenant,
            Accounts = accounts,
        };
        scenario.Validate("generated scenario");
        return scenario;
    }

    /// <summary>
    /// The SMTP clients of mailbox <paramref name="i"/>: 70% one client succeeding at <paramref name="perDay"/>; 10% two
    /// clients (two IPs) at half that each; 5% failing with 50126; 3% a mix (10% 50126, 2% 50053); 3% blocked by CA
    /// (53003); 3% succeeding until 1-10 days ago, then 50126; 3% non-interactive; 3% OAuth only (no sign-ins).
    /// IPs are 198.18.x.y (198.19.x.y for the second client); 1% send traced mail to internal recipients.
    /// </summary>
    private static List<ScenarioSmtpClient> SmtpClientsFor(int i, Random random, int days, double perDay)
    {
        string ip = $"198.18.{(i >> 8) & 0xFF}.{i & 0xFF}";
        double r = random.NextDouble();
        var location = Locations[random.Next(Locations.Length)];
        IReadOnlyList<string>? recipients = random.NextDouble() < 0.01
            ? [$"user{(1 + random.Next(Math.Max(1, i))).ToString("D5", CultureInfo.InvariantCulture)}@{Domain}", $"it@{Domain}"]
            : null;
        var client = new ScenarioSmtpClient { IpAddress = ip, PerDay = perDay, Days = days, Location = location, Recipients = recipients };
        if (r < 0.70)
        {
            return [client];
        }

        if (r < 0.80)
        {
            return [client with { PerDay = perDay / 2 }, client with { IpAddress = $"198.19.{(i >> 8) & 0xFF}.{i & 0xFF}", PerDay = perDay / 2, Location = Locations[(i + 1) % Locations.Length] }];
        }

        return r switch
        {
            < 0.85 => [client with { ErrorCode = 50126 }],
            < 0.88 => [client with { Failures = new Dictionary<string, double> { ["50126"] = 0.1, ["50053"] = 0.02 } }],
            < 0.91 => [client with { ErrorCode = 53003 }],
            < 0.94 => [client with { FailFrom = new ScenarioFailFrom { DaysAgo = 1 + random.Next(10), ErrorCode = 50126 } }],
            < 0.97 => [client with { Interactive = false }],
            _ => [client with { Authentication = SmtpClientAuthentication.OAuth }],
        };
    }

    /// <summary>Writes <paramref name="scenario"/> as compact JSON with a leading comment line (JSONC).</summary>
    public static void Write(TenantScenario scenario, string path)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.Create(path);
        stream.Write(Encoding.UTF8.GetBytes($"// {scenario.Description} Schema: tests/SmtpAuthTroubleshooter.ExoEmulator/README.md\n"));
        JsonSerializer.Serialize(stream, scenario, CompactOptions);
    }
}
