using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using SmtpAuthTroubleshooter.Commands;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using SmtpAuthTroubleshooter.Engine.Readiness;
using Xunit;

namespace SmtpAuthTroubleshooter.Cmdlet.Tests
{
    /// <summary>
    /// Every fix command runs as written in a real tenant: its cmdlet exists, every parameter it names is one of that
    /// cmdlet's, and it names all the mandatory parameters of one parameter set (a missing one prompts at a console and
    /// fails in a runbook; the PowerShell parser accepts both). The Exchange Online cmdlets come from Microsoft's cmdlet
    /// reference (Data/CmdletReference.json, written by tools/Update-CmdletReference.ps1 from
    /// MicrosoftDocs/office-docs-powershell); the module's own cmdlets from their metadata.
    /// </summary>
    public class CmdletReferenceTests
    {
        private sealed record Reference(string Url, HashSet<string> Parameters, List<HashSet<string>> MandatorySets);

        private static readonly Lazy<Dictionary<string, Reference>> s_reference = new Lazy<Dictionary<string, Reference>>(Load);

        private static readonly HashSet<string> s_common = new HashSet<string>(
            new[] { "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable",
                "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "WhatIf", "Confirm" },
            StringComparer.OrdinalIgnoreCase);

        private static Dictionary<string, Reference> Load()
        {
            var table = new Dictionary<string, Reference>(StringComparer.OrdinalIgnoreCase);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "CmdletReference.json")));
            foreach (JsonProperty c in doc.RootElement.GetProperty("cmdlets").EnumerateObject())
            {
                var parameters = new HashSet<string>(c.Value.GetProperty("parameters").EnumerateArray().Select(p => p.GetString()!), StringComparer.OrdinalIgnoreCase);
                var sets = c.Value.GetProperty("parameterSets").EnumerateArray()
                    .Select(s => new HashSet<string>(s.GetProperty("required").EnumerateArray().Select(p => p.GetString()!), StringComparer.OrdinalIgnoreCase)).ToList();
                table[c.Name] = new Reference(c.Value.GetProperty("url").GetString()!, parameters, sets);
            }

            // New-ServicePrincipal: the syntax block still marks -ServiceId mandatory, but its description says "This parameter
            // is being deprecated. Use the ObjectId parameter instead.", and both Example 1 and Microsoft's OAuth page for
            // IMAP, POP and SMTP run it with -AppId and -ObjectId only.
            foreach (HashSet<string> set in table["New-ServicePrincipal"].MandatorySets)
            {
                set.Remove("ServiceId");
            }

            // Microsoft Graph PowerShell: Update-MgUser (learn.microsoft.com/powershell/module/microsoft.graph.users/update-mguser),
            // the UpdateExpanded set the fix uses: -UserId is mandatory, the user's properties are optional switches/values.
            table["Update-MgUser"] = new Reference("https://learn.microsoft.com/powershell/module/microsoft.graph.users/update-mguser",
                new HashSet<string>(new[] { "UserId", "AccountEnabled", "BodyParameter", "PassThru" }, StringComparer.OrdinalIgnoreCase),
                new List<HashSet<string>> { new HashSet<string>(new[] { "UserId" }, StringComparer.OrdinalIgnoreCase) });

            // This module's own cmdlets: their [Parameter] properties, mandatory ones per parameter set.
            foreach (Type t in typeof(TestSmtpAuthCommand).Assembly.GetTypes().Where(t => t.GetCustomAttribute<CmdletAttribute>() is not null))
            {
                CmdletAttribute a = t.GetCustomAttribute<CmdletAttribute>()!;
                var parameters = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                var mandatory = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
                foreach (PropertyInfo p in t.GetProperties())
                {
                    ParameterAttribute[] attributes = p.GetCustomAttributes<ParameterAttribute>().ToArray();
                    if (attributes.Length == 0)
                    {
                        continue;
                    }

                    parameters.Add(p.Name);
                    foreach (string alias in p.GetCustomAttributes<AliasAttribute>().SelectMany(x => x.AliasNames))
                    {
                        parameters.Add(alias);
                    }

                    foreach (ParameterAttribute pa in attributes.Where(x => x.Mandatory))
                    {
                        string set = pa.ParameterSetName ?? ParameterAttribute.AllParameterSets;
                        (mandatory.TryGetValue(set, out HashSet<string>? list) ? list : mandatory[set] = new HashSet<string>(StringComparer.OrdinalIgnoreCase)).Add(p.Name);
                    }
                }

                List<HashSet<string>> sets = mandatory.Count == 0 ? new List<HashSet<string>> { new HashSet<string>() } : mandatory.Values.ToList();
                table[a.VerbName + "-" + a.NounName] = new Reference("(this module)", parameters, sets);
            }

            return table;
        }

        private static readonly Dictionary<string, string?> s_values = new Dictionary<string, string?>
        {
            ["user"] = "o'brien@contoso.com", ["mailbox"] = "o'brien@contoso.com", ["address"] = "o'brien@contoso.com", ["from"] = "sales@contoso.com",
            ["appId"] = "11111111-2222-3333-4444-555555555555", ["objectId"] = "66666666-7777-8888-9999-000000000000", ["policy"] = "Block Basic Auth",
            ["server"] = "smtp.office365.com", ["port"] = "587", ["UserPrincipalName"] = "o'brien@contoso.com", ["ClientIp"] = "203.0.113.7",
            ["ConnectorName"] = "SMTP relay 203.0.113.7",
        };

        public static IEnumerable<object[]> Commands() =>
            ErrorCatalog.Embedded.Causes.Values.Where(c => c.RemediationCommand is not null).Select(c => new object[] { "cause " + c.Id, c.RemediationCommand! })
                .Concat(MigrationAdvisor.Embedded.Rules.Where(r => r.Command is not null).Select(r => new object[] { "migration path " + r.Path, r.Command! }));

        [Theory]
        [MemberData(nameof(Commands))]
        public void Every_fix_command_names_its_cmdlet_only_its_parameters_and_all_mandatory_ones(string where, string template)
        {
            string filled = FixCommand.Fill(template, s_values, out IReadOnlyList<string> unfilled)!;
            Assert.Empty(unfilled);
            ScriptBlockAst ast = Parser.ParseInput(filled, out _, out ParseError[] errors);
            Assert.Empty(errors);
            CommandAst command = Assert.Single(ast.FindAll(a => a is CommandAst, true).Cast<CommandAst>());
            string name = command.GetCommandName();
            Assert.True(s_reference.Value.TryGetValue(name, out Reference? reference), where + ": " + name + " is not in Data/CmdletReference.json (run tools/Update-CmdletReference.ps1)");
            string[] used = command.CommandElements.OfType<CommandParameterAst>().Select(p => p.ParameterName).ToArray();
            foreach (string parameter in used)
            {
                Assert.True(reference!.Parameters.Contains(parameter) || s_common.Contains(parameter), where + ": " + name + " has no -" + parameter + " (" + reference.Url + ")");
            }

            Assert.True(reference!.MandatorySets.Any(set => set.All(m => used.Contains(m, StringComparer.OrdinalIgnoreCase))),
                where + ": " + filled + " misses a mandatory parameter of " + name + ": one of " + string.Join(" | ", reference.MandatorySets.Select(s => string.Join(", ", s))) + " (" + reference.Url + ")");
        }

        // "Set-TransportConfig -AllowLegacyTLSClients $true", "Get-EXOMailbox -Identity <user> -Properties ...": a cmdlet of the
        // reference named in a text, and the parameters that follow it.
        private static readonly Regex s_mention = new Regex(
            @"\b(?<cmd>[A-Z][a-z]+-[A-Za-z0-9]+)(?<args>(?:\s+-[A-Za-z][A-Za-z0-9]*(?::\S+)?(?:\s+(?!-)[^\s,;]+)?)+)", RegexOptions.CultureInvariant);

        private static IEnumerable<(string Where, string Text)> Texts()
        {
            string knowledge = Path.GetDirectoryName(typeof(ErrorCatalog).Assembly.Location)!;
            foreach (string resource in typeof(ErrorCatalog).Assembly.GetManifestResourceNames().Where(n => n.EndsWith(".json", StringComparison.Ordinal) && !n.EndsWith(".schema.json", StringComparison.Ordinal)))
            {
                using Stream stream = typeof(ErrorCatalog).Assembly.GetManifestResourceStream(resource)!;
                using JsonDocument doc = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
                foreach ((string path, string text) in Strings(doc.RootElement, resource))
                {
                    yield return (path, text);
                }
            }
        }

        private static IEnumerable<(string, string)> Strings(JsonElement e, string path)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (JsonProperty p in e.EnumerateObject())
                    {
                        foreach ((string, string) s in Strings(p.Value, path + "." + p.Name))
                        {
                            yield return s;
                        }
                    }

                    break;
                case JsonValueKind.Array:
                    int i = 0;
                    foreach (JsonElement item in e.EnumerateArray())
                    {
                        foreach ((string, string) s in Strings(item, path + "[" + i++ + "]"))
                        {
                            yield return s;
                        }
                    }

                    break;
                case JsonValueKind.String:
                    yield return (path, e.GetString()!);
                    break;
            }
        }

        [Fact]
        public void Every_parameter_a_knowledge_text_gives_a_known_cmdlet_exists()
        {
            var checkedMentions = 0;
            var wrong = new List<string>();
            foreach ((string where, string text) in Texts())
            {
                foreach (Match m in s_mention.Matches(text))
                {
                    if (!s_reference.Value.TryGetValue(m.Groups["cmd"].Value, out Reference? reference))
                    {
                        continue;
                    }

                    foreach (Match p in Regex.Matches(m.Groups["args"].Value, @"(?<=\s)-(?<name>[A-Za-z][A-Za-z0-9]*)"))
                    {
                        checkedMentions++;
                        if (!reference.Parameters.Contains(p.Groups["name"].Value) && !s_common.Contains(p.Groups["name"].Value))
                        {
                            wrong.Add(where + ": " + m.Groups["cmd"].Value + " -" + p.Groups["name"].Value + " (" + reference.Url + ")");
                        }
                    }
                }
            }

            Assert.True(checkedMentions > 20, "the scan found only " + checkedMentions + " cmdlet parameters in the knowledge texts");
            Assert.Empty(wrong);
        }

        [Fact]
        public void The_reference_knows_the_mandatory_parameters_that_made_the_connector_command_fail()
        {
            // The mechanism behind the defect: New-InboundConnector without -SenderDomains parsed, and prompted in a tenant.
            Reference r = s_reference.Value["New-InboundConnector"];
            Assert.Contains(r.MandatorySets, set => set.SetEquals(new[] { "Name", "SenderDomains" }));
            ScriptBlockAst ast = Parser.ParseInput("New-InboundConnector -Name 'x' -ConnectorType OnPremises -SenderIPAddresses '203.0.113.7' -RequireTls $true", out _, out _);
            string[] used = ((CommandAst)ast.Find(a => a is CommandAst, true)!).CommandElements.OfType<CommandParameterAst>().Select(p => p.ParameterName).ToArray();
            Assert.DoesNotContain(r.MandatorySets, set => set.All(m => used.Contains(m, StringComparer.OrdinalIgnoreCase)));
        }
    }
}
