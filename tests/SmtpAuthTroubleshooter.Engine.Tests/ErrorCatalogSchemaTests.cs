using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Json.Schema;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// ErrorCatalog.schema.json (JSON Schema draft 2020-12) guards the shape of ErrorCatalog.json; the loader is as strict
    /// about unknown properties as the schema.
    /// </summary>
    public class ErrorCatalogSchemaTests
    {
        private static readonly Lazy<JsonSchema> s_schema = new Lazy<JsonSchema>(() =>
            JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Knowledge", "ErrorCatalog.schema.json"))));

        private static EvaluationResults Validate(string json) =>
            s_schema.Value.Evaluate(JsonNode.Parse(json), new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });

        private static string Errors(EvaluationResults r) =>
            string.Join("\n", r.Details.Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => d.InstanceLocation + ": " + e.Value)).Take(20));

        [Fact]
        public void The_catalog_is_valid_against_its_schema()
        {
            EvaluationResults r = Validate(CorroborationRuleTests.EmbeddedText());
            Assert.True(r.IsValid, Errors(r));
        }

        [Fact]
        public void The_schema_names_exactly_the_fields_of_the_policy_state()
        {
            JsonNode schema = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Knowledge", "ErrorCatalog.schema.json")))!;
            string[] inSchema = schema["$defs"]!["stateField"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()).OrderBy(x => x, StringComparer.Ordinal).ToArray();
            string[] properties = typeof(SmtpAuthPolicyState).GetProperties().Select(p => p.Name).OrderBy(x => x, StringComparer.Ordinal).ToArray();
            Assert.Equal(properties, inSchema);
        }

        [Theory]
        [InlineData("an unknown top-level property", "$", "extra", "1")]
        [InlineData("an unknown property in a cause", "$.causes.TenantSmtpAuthDisabled", "severity", "\"high\"")]
        [InlineData("an unknown property in an entry", "$.entries[0]", "colour", "\"red\"")]
        [InlineData("an unknown property in a cause reference", "$.entries[0].causes[0]", "weight", "2")]
        [InlineData("an unknown property in a sign-in code", "$.signInCodes.codes.50126", "severity", "\"high\"")]
        [InlineData("an unknown property in an advisory", "$.advisories.BasicAuthStillWorks", "severity", "\"high\"")]
        [InlineData("an unknown property in a variant", "$.advisories.BasicAuthStillWorks.variants[0]", "note", "\"x\"")]
        [InlineData("an unknown property in the corroboration section", "$.corroboration", "version", "2")]
        [InlineData("an unknown property in a rule", "$.corroboration.rules[0]", "priority", "1")]
        [InlineData("an unknown property in a condition", "$.corroboration.rules[0].when", "ignoreCase", "true")]
        public void Schema_and_loader_both_reject(string what, string path, string property, string value)
        {
            JsonNode catalog = JsonNode.Parse(CorroborationRuleTests.EmbeddedText())!;
            At(catalog, path).AsObject().Add(property, JsonNode.Parse(value));
            string json = catalog.ToJsonString();

            Assert.False(Validate(json).IsValid, what + " passes the schema");
            var ex = Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(json));
            Assert.Equal("ErrorCatalogInvalid", ex.ErrorId);
        }

        [Theory]
        [InlineData("an unknown scope", "$.entries[0]", "scope", "\"body\"")]
        [InlineData("an unknown catalog verdict", "$.entries[0].causes[0]", "verdict", "\"Certain\"")]
        [InlineData("an unknown rule verdict", "$.corroboration.rules[0]", "verdict", "\"Likely\"")]
        [InlineData("a sign-in code that is not a number", "$.signInCodes.codes", "5x", "{ \"causeId\": \"InvalidCredentials\" }")]
        [InlineData("a decisive sign-in code without a cause", "$.signInCodes.codes", "1", "{ \"decisive\": true, \"meaning\": \"x\" }")]
        [InlineData("a sign-in code that does not say whether it is decisive", "$.signInCodes.codes", "2", "{ \"causeId\": \"InvalidCredentials\", \"meaning\": \"x\" }")]
        [InlineData("a sign-in code without its meaning", "$.signInCodes.codes", "3", "{ \"causeId\": \"InvalidCredentials\", \"decisive\": false }")]
        [InlineData("schema version 2", "$", "schemaVersion", "2")]
        [InlineData("a condition with two forms", "$.corroboration.rules[0]", "when", "{ \"method\": \"Basic\", \"field\": \"AccountEnabled\", \"equals\": false }")]
        [InlineData("a text with a stray brace", "$.corroboration.rules[0]", "why", "\"Settings: {oops\"")]
        [InlineData("an unknown diagnostic-tail condition", "$.entries[0]", "diagnosticTail", "\"old\"")]
        [InlineData("a SASL mechanism in lower case", "$.entries[0]", "mechanisms", "[\"login\"]")]
        [InlineData("an empty SASL mechanism", "$.entries[0]", "exceptMechanisms", "[\"\"]")]
        public void Schema_and_loader_both_reject_a_bad_value(string what, string path, string property, string value)
        {
            JsonNode catalog = JsonNode.Parse(CorroborationRuleTests.EmbeddedText())!;
            At(catalog, path)[property] = JsonNode.Parse(value);
            string json = catalog.ToJsonString();

            Assert.False(Validate(json).IsValid, what + " passes the schema");
            Assert.Equal("ErrorCatalogInvalid", Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(json)).ErrorId);
        }

        [Fact]
        public void A_diagnostic_tail_condition_belongs_to_reply_entries_only()
        {
            // The tail is read from a server reply; on a text or fallback entry the condition would silently never apply.
            JsonNode catalog = JsonNode.Parse(CorroborationRuleTests.EmbeddedText())!;
            JsonNode textEntry = catalog["entries"]!.AsArray().First(e => (string?)e!["scope"] == "text")!;
            textEntry["diagnosticTail"] = "dated";
            string json = catalog.ToJsonString();

            Assert.False(Validate(json).IsValid, "a dated condition on a text entry passes the schema");
            Assert.Equal("ErrorCatalogInvalid", Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(json)).ErrorId);
        }

        [Fact]
        public void The_loader_rejects_a_property_twice_in_one_object()
        {
            // Two causes with one id: System.Text.Json would keep the last one silently.
            const string json = "{\"schemaVersion\":1,\"catalogVersion\":\"x\",\"causes\":{\"AccountDisabled\":{\"title\":\"a\"},\"AccountDisabled\":{\"title\":\"b\"}},\"entries\":[]}";
            Assert.Equal("ErrorCatalogInvalid", Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(json)).ErrorId);
        }

        [Fact]
        public void The_loader_skips_comments_and_keeps_the_defaults_of_optional_fields()
        {
            const string json = """
                // the catalog may carry comments
                {
                  "schemaVersion": 1, /* inline */
                  "catalogVersion": "2026.11.30",
                  "causes": { "AccountDisabled": {} },
                  "entries": [ { "id": "A", "pattern": "disabled", "causes": [ { "causeId": "AccountDisabled" } ] } ]
                }
                """;
            ErrorCatalog catalog = ErrorCatalog.Parse(json);
            CauseDefinition cause = catalog.Causes["AccountDisabled"];
            Assert.Equal(("AccountDisabled", "Unknown", string.Empty, false), (cause.Title, cause.Category, cause.Remediation, cause.Transient));
            CatalogEntry entry = Assert.Single(catalog.Entries);
            Assert.Equal((EntryScope.Reply, "Any", CatalogVerdict.Possible, string.Empty), (entry.Scope, entry.Stage, entry.Causes[0].Verdict, entry.Causes[0].Evidence));
            Assert.Empty(catalog.SignInCodes);
            Assert.Empty(catalog.Advisories);
            Assert.Empty(catalog.Corroboration.Rules);
        }

        [Theory]
        [InlineData("a variant that ends before it starts", "{\"variants\":[{\"validFrom\":\"2027-01-01T00:00:00Z\",\"validUntil\":\"2026-01-01T00:00:00Z\"}]}")]
        [InlineData("a variant date that is not a date", "{\"variants\":[{\"validFrom\":\"soon\",\"validUntil\":null}]}")]
        [InlineData("a transient flag that is not a bool", "{\"transient\":\"yes\"}")]
        [InlineData("a null cause", "null")]
        public void The_loader_rejects_a_bad_cause(string what, string cause)
        {
            string json = "{\"schemaVersion\":1,\"catalogVersion\":\"x\",\"causes\":{\"AccountDisabled\":" + cause + "},\"entries\":[]}";
            var ex = Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(json));
            Assert.True(ex.ErrorId == "ErrorCatalogInvalid", what);
        }

        // "$", "$.a.b", "$.a[0].b": enough of JSON path for these tests.
        private static JsonNode At(JsonNode root, string path)
        {
            JsonNode node = root;
            foreach (string part in path.Split('.').Skip(1))
            {
                string name = part;
                int? index = null;
                int bracket = part.IndexOf('[', StringComparison.Ordinal);
                if (bracket >= 0)
                {
                    name = part.Substring(0, bracket);
                    index = int.Parse(part.AsSpan(bracket + 1, part.Length - bracket - 2), System.Globalization.CultureInfo.InvariantCulture);
                }

                node = node[name]!;
                if (index is int i)
                {
                    node = node[i]!;
                }
            }

            return node;
        }
    }
}
