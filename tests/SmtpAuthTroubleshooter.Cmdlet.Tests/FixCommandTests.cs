using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using System.Management.Automation.Language;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Cmdlet.Tests
{
    /// <summary>Issue 10: every fix command is one PowerShell command that parses, with its values quoted and escaped.</summary>
    public class FixCommandTests
    {
        // Awkward but real names: an apostrophe, a typographic apostrophe, spaces, a dollar sign and a back-tick.
        private static readonly Dictionary<string, string?> Awkward = new Dictionary<string, string?>
        {
            ["user"] = "o'brien@contoso.com",
            ["mailbox"] = "o'brien@contoso.com",
            ["address"] = "o'brien@contoso.com",
            ["from"] = "sales\u2019team@contoso.com",
            ["appId"] = "11111111-2222-3333-4444-555555555555",
            ["objectId"] = "66666666-7777-8888-9999-000000000000",
            ["policy"] = "Block Basic Auth $(whoami) `n",
            ["server"] = "smtp.o'ffice365.com",
            ["port"] = "587",
        };

        public static IEnumerable<object[]> Commands() =>
            ErrorCatalog.Embedded.Causes.Values.Where(c => c.RemediationCommand is not null).Select(c => new object[] { c.Id });

        private static CommandAst ParseOne(string command)
        {
            ScriptBlockAst ast = Parser.ParseInput(command, out Token[] _, out ParseError[] errors);
            Assert.True(errors.Length == 0, command + " => " + string.Join("; ", errors.Select(e => e.Message)));
            CommandAst[] commands = ast.FindAll(a => a is CommandAst, searchNestedScriptBlocks: true).Cast<CommandAst>().ToArray();
            Assert.Single(commands);
            Assert.Empty(ast.FindAll(a => a is SubExpressionAst || a is ExpandableStringExpressionAst, true));
            return commands[0];
        }

        private static string? Argument(CommandAst command, string parameter)
        {
            for (int i = 0; i < command.CommandElements.Count - 1; i++)
            {
                if (command.CommandElements[i] is CommandParameterAst p && p.ParameterName == parameter)
                {
                    return (command.CommandElements[i + 1] as StringConstantExpressionAst)?.Value;
                }
            }

            return null;
        }

        [Theory]
        [MemberData(nameof(Commands))]
        public void Every_catalog_command_parses_with_awkward_values_and_keeps_them_whole(string causeId)
        {
            string template = ErrorCatalog.Embedded.Causes[causeId].RemediationCommand!;
            string filled = FixCommand.Fill(template, Awkward, out IReadOnlyList<string> unfilled)!;
            Assert.Empty(unfilled);
            CommandAst command = ParseOne(filled);
            foreach (string parameter in new[] { "Identity", "UserId", "Trustee", "User", "SenderAddress", "AppId", "ObjectId" })
            {
                string? value = Argument(command, parameter);
                if (value is not null)
                {
                    Assert.Contains(value, Awkward.Values);
                }
            }
        }

        [Theory]
        [MemberData(nameof(Commands))]
        public void Every_catalog_command_parses_with_nothing_known(string causeId)
        {
            string template = ErrorCatalog.Embedded.Causes[causeId].RemediationCommand!;
            string filled = FixCommand.Fill(template, new Dictionary<string, string?>(), out IReadOnlyList<string> unfilled)!;
            ParseOne(filled);
            string[] placeholders = System.Text.RegularExpressions.Regex.Matches(template, "<[A-Za-z]+>").Select(m => m.Value).Distinct().ToArray();
            Assert.Equal(placeholders, unfilled);
        }

        [Fact]
        public void Every_migration_rule_command_parses_with_awkward_values_and_keeps_them_whole()
        {
            // Issue 12: the readiness paths' commands (MigrationRules.json) follow the same rule as the catalog's.
            var values = new Dictionary<string, string?> { ["UserPrincipalName"] = "o'brien@contoso.com", ["ClientIp"] = "203.0.113.7", ["ConnectorName"] = "SMTP relay o'brien $(whoami)" };
            string[] templates = SmtpAuthTroubleshooter.Engine.Readiness.MigrationAdvisor.Embedded.Rules.Select(r => r.Command).OfType<string>().ToArray();
            Assert.NotEmpty(templates);
            foreach (string template in templates)
            {
                string filled = FixCommand.Fill(template, values, out IReadOnlyList<string> unfilled)!;
                Assert.Empty(unfilled);
                CommandAst command = ParseOne(filled);
                foreach (string parameter in new[] { "Identity", "Name", "SenderIPAddresses" })
                {
                    if (Argument(command, parameter) is string value)
                    {
                        Assert.Contains(value, values.Values);
                    }
                }
            }
        }

        [Fact]
        public void The_resolver_fills_the_mailbox_and_the_SendAs_address_from_a_5_2_252_text()
        {
            IReadOnlyList<SmtpAuthFinding> f = new SmtpAuthErrorResolver().Resolve(new ErrorEvidence(
                "554 5.2.252 SendAsDenied; o'brien@contoso.com not allowed to send as sales@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied [Hostname=BN7PR02MB4129.namprd02.prod.outlook.com]"));
            SmtpAuthFinding sendAs = f.First(x => x.CauseId == "SendAsDenied");
            CommandAst command = ParseOne(sendAs.RemediationCommand!);
            Assert.Equal("sales@contoso.com", Argument(command, "Identity"));
            Assert.Equal("o'brien@contoso.com", Argument(command, "Trustee"));
            Assert.DoesNotContain("replace", sendAs.Remediation, System.StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("o'brien@contoso.com", null, "o'brien@contoso.com")]
        [InlineData("obrien@contoso.onmicrosoft.com", "michael.obrien@contoso.com", "michael.obrien@contoso.com")]
        [InlineData("Michael O'Brien", null, null)]
        public void The_restricted_sender_fix_names_an_SMTP_address_never_a_display_name(string user, string? primary, string? expected)
        {
            // Remove-BlockedSenderAddress -SenderAddress takes the SMTP address Get-BlockedSenderAddress lists: the mailbox's
            // primary address when the state knows it, the sign-in name only when it is an address, else a placeholder.
            var evidence = new ErrorEvidence("550 5.1.8 Access denied, bad outbound sender AS(42004) [PR3PR08MB5722.eurprd08.prod.outlook.com]") { UserPrincipalName = user };
            if (primary is not null)
            {
                evidence.PolicyState = new SmtpAuthPolicyState { UserPrincipalName = user, PrimarySmtpAddress = primary };
            }

            SmtpAuthFinding f = new SmtpAuthErrorResolver().Resolve(evidence).First(x => x.CauseId == "RestrictedSender");
            CommandAst command = ParseOne(f.RemediationCommand!);
            Assert.Equal(expected ?? "<address>", Argument(command, "SenderAddress"));
            Assert.Equal(expected is null, f.Remediation.Contains("replace <address> with the real value", System.StringComparison.Ordinal));
        }

        [Fact]
        public void A_placeholder_left_is_quoted_and_named_in_the_remediation()
        {
            IReadOnlyList<SmtpAuthFinding> f = new SmtpAuthErrorResolver().Resolve(new ErrorEvidence("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."));
            SmtpAuthFinding mailbox = f.First(x => x.CauseId == "MailboxSmtpAuthDisabled");
            Assert.Equal("Set-CASMailbox -Identity '<user>' -SmtpClientAuthenticationDisabled $false", mailbox.RemediationCommand);
            Assert.Contains("replace <user> with the real value", mailbox.Remediation, System.StringComparison.Ordinal);
            ParseOne(mailbox.RemediationCommand!);
        }

        [Fact]
        public void Quote_doubles_every_kind_of_single_quote()
        {
            Assert.Equal("'o''brien'", FixCommand.Quote("o'brien"));
            Assert.Equal("'a\u2019\u2019b\u2018\u2018c'", FixCommand.Quote("a\u2019b\u2018c"));
            ScriptBlockAst ast = Parser.ParseInput("Write-Output " + FixCommand.Quote("x\u201By'z"), out _, out ParseError[] errors);
            Assert.Empty(errors);
            Assert.Equal("x\u201By'z", ((StringConstantExpressionAst)((CommandAst)ast.EndBlock.Statements[0].Find(a => a is CommandAst, false)!).CommandElements[1]).Value);
        }
    }
}
