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

    /// <summary>Builds a scenario with <paramref name="count"/> mailboxes (user00001@scale.example.com, ...).</summary>
    public static TenantScenario Generate(int count, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var random = new Random(seed);
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
            Description = $"Generated: {count.ToString(CultureInfo.InvariantCulture)} mailboxes, seed {seed.ToString(CultureInfo.InvariantCulture)}.",
            Tenant = tenant,
            Accounts = accounts,
        };
        scenario.Validate("generated scenario");
        return scenario;
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
