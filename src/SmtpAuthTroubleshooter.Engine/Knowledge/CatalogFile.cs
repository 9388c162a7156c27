using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmtpAuthTroubleshooter.Engine.Knowledge
{
    // The shape of ErrorCatalog.json as System.Text.Json reads it. These types only carry what the file says; ErrorCatalog
    // validates them and maps them to the public types (CauseDefinition, CatalogEntry, ...). Unknown properties are
    // rejected by the serializer options (JsonUnmappedMemberHandling.Disallow); ErrorCatalog.schema.json describes the
    // same shape for editors and for the schema test.

    /// <summary>The whole file.</summary>
    internal sealed class CatalogFile
    {
        /// <summary>The JSON Schema an editor may validate the file against; ignored by the loader.</summary>
        [JsonPropertyName("$schema")]
        public string? Schema { get; set; }

        [JsonRequired]
        [JsonPropertyName("schemaVersion")]
        public int SchemaVersion { get; set; }

        [JsonRequired]
        [JsonPropertyName("catalogVersion")]
        public string? CatalogVersion { get; set; }

        [JsonRequired]
        [JsonPropertyName("causes")]
        public Dictionary<string, CauseFile?>? Causes { get; set; }

        [JsonPropertyName("signInCodes")]
        public SignInCodesFile? SignInCodes { get; set; }

        [JsonPropertyName("advisories")]
        public Dictionary<string, AdvisoryFile?>? Advisories { get; set; }

        [JsonPropertyName("corroboration")]
        public CorroborationFile? Corroboration { get; set; }

        /// <summary>What a Test-SmtpAuth result saw of the session, and the causes it rules out or makes likely.</summary>
        [JsonPropertyName("probeFacts")]
        public CorroborationFile? ProbeFacts { get; set; }

        /// <summary>Signatures that tell, from the text, which server sent a reply (Exchange Online or another).</summary>
        [JsonPropertyName("servers")]
        public List<ServerFile?>? Servers { get; set; }

        [JsonRequired]
        [JsonPropertyName("entries")]
        public List<EntryFile?>? Entries { get; set; }
    }

    /// <summary>One cause (the key of "causes" is its id).</summary>
    internal sealed class CauseFile
    {
        [JsonPropertyName("title")]
        public string? Title { get; set; }

        [JsonPropertyName("category")]
        public string? Category { get; set; }

        [JsonPropertyName("checks")]
        public string? Checks { get; set; }

        [JsonPropertyName("remediation")]
        public string? Remediation { get; set; }

        [JsonPropertyName("remediationCommand")]
        public string? RemediationCommand { get; set; }

        [JsonPropertyName("documentationUrl")]
        public string? DocumentationUrl { get; set; }

        [JsonPropertyName("transient")]
        public bool? Transient { get; set; }

        [JsonPropertyName("reference")]
        public string? Reference { get; set; }

        [JsonPropertyName("variants")]
        public List<VariantFile?>? Variants { get; set; }

        [JsonPropertyName("probeChecks")]
        public string? ProbeChecks { get; set; }

        [JsonPropertyName("probeRemediation")]
        public string? ProbeRemediation { get; set; }

        [JsonPropertyName("otherServerRemediation")]
        public string? OtherServerRemediation { get; set; }

        [JsonPropertyName("otherServerTitle")]
        public string? OtherServerTitle { get; set; }

        [JsonPropertyName("otherServerChecks")]
        public string? OtherServerChecks { get; set; }

        [JsonPropertyName("otherServerDocumentationUrl")]
        public string? OtherServerDocumentationUrl { get; set; }

        [JsonPropertyName("exchangeOnly")]
        public bool? ExchangeOnly { get; set; }
    }

    /// <summary>A server's signature: words or a marker that only that server's replies carry.</summary>
    internal sealed class ServerFile
    {
        [JsonRequired]
        [JsonPropertyName("id")]
        public string? Id { get; set; }

        [JsonRequired]
        [JsonPropertyName("name")]
        public string? Name { get; set; }

        [JsonRequired]
        [JsonPropertyName("exchangeOnline")]
        public bool ExchangeOnline { get; set; }

        /// <summary>"reply": words or markers the server's own replies carry; "host": the host name the client was set to.</summary>
        [JsonRequired]
        [JsonPropertyName("marks")]
        public string? Marks { get; set; }

        [JsonRequired]
        [JsonPropertyName("pattern")]
        public string? Pattern { get; set; }

        [JsonRequired]
        [JsonPropertyName("reference")]
        public string? Reference { get; set; }

        [JsonRequired]
        [JsonPropertyName("example")]
        public string? Example { get; set; }
    }

    /// <summary>A dated wording of a cause or an advisory.</summary>
    internal sealed class VariantFile
    {
        [JsonPropertyName("validFrom")]
        public string? ValidFrom { get; set; }

        [JsonPropertyName("validUntil")]
        public string? ValidUntil { get; set; }

        [JsonPropertyName("title")]
        public string? Title { get; set; }

        [JsonPropertyName("remediation")]
        public string? Remediation { get; set; }

        [JsonPropertyName("evidence")]
        public string? Evidence { get; set; }
    }

    /// <summary>The Entra sign-in error-code table.</summary>
    internal sealed class SignInCodesFile
    {
        [JsonPropertyName("reference")]
        public string? Reference { get; set; }

        [JsonRequired]
        [JsonPropertyName("codes")]
        public Dictionary<string, SignInCodeFile?>? Codes { get; set; }
    }

    /// <summary>
    /// One sign-in error code (the key is the number): what Microsoft's error-code page says it means, the cause it points
    /// at (none when it points at no single cause), and whether it decides that cause (decisive: it can confirm it) or only
    /// suggests it (Microsoft documents more than one reason for it).
    /// </summary>
    internal sealed class SignInCodeFile
    {
        [JsonPropertyName("causeId")]
        public string? CauseId { get; set; }

        [JsonRequired]
        [JsonPropertyName("decisive")]
        public bool? Decisive { get; set; }

        [JsonRequired]
        [JsonPropertyName("meaning")]
        public string? Meaning { get; set; }

        [JsonPropertyName("source")]
        public string? Source { get; set; }
    }

    /// <summary>A note for a probe that worked (the key is its name).</summary>
    internal sealed class AdvisoryFile
    {
        [JsonRequired]
        [JsonPropertyName("causeId")]
        public string? CauseId { get; set; }

        [JsonPropertyName("reference")]
        public string? Reference { get; set; }

        [JsonPropertyName("title")]
        public string? Title { get; set; }

        [JsonPropertyName("remediation")]
        public string? Remediation { get; set; }

        [JsonPropertyName("variants")]
        public List<VariantFile?>? Variants { get; set; }
    }

    /// <summary>One recognisable error text.</summary>
    internal sealed class EntryFile
    {
        [JsonRequired]
        [JsonPropertyName("id")]
        public string? Id { get; set; }

        [JsonPropertyName("reference")]
        public string? Reference { get; set; }

        [JsonPropertyName("scope")]
        public string? Scope { get; set; }

        [JsonPropertyName("replyCodes")]
        public List<int>? ReplyCodes { get; set; }

        [JsonPropertyName("enhancedCodes")]
        public List<string?>? EnhancedCodes { get; set; }

        [JsonRequired]
        [JsonPropertyName("pattern")]
        public string? Pattern { get; set; }

        [JsonPropertyName("stage")]
        public string? Stage { get; set; }

        [JsonPropertyName("diagnosticTail")]
        public string? DiagnosticTail { get; set; }

        [JsonPropertyName("mechanisms")]
        public List<string?>? Mechanisms { get; set; }

        [JsonPropertyName("exceptMechanisms")]
        public List<string?>? ExceptMechanisms { get; set; }

        [JsonRequired]
        [JsonPropertyName("causes")]
        public List<CauseReferenceFile?>? Causes { get; set; }
    }

    /// <summary>An entry's pointer at a cause.</summary>
    internal sealed class CauseReferenceFile
    {
        [JsonRequired]
        [JsonPropertyName("causeId")]
        public string? CauseId { get; set; }

        [JsonPropertyName("verdict")]
        public string? Verdict { get; set; }

        [JsonPropertyName("basic")]
        public string? Basic { get; set; }

        [JsonPropertyName("oauth")]
        public string? OAuth { get; set; }

        [JsonPropertyName("evidence")]
        public string? Evidence { get; set; }

        [JsonPropertyName("otherServerEvidence")]
        public string? OtherServerEvidence { get; set; }
    }

    /// <summary>A section of fact rules (corroboration: policy-state facts; probeFacts: a probe's session facts).</summary>
    internal sealed class CorroborationFile
    {
        [JsonPropertyName("reference")]
        public string? Reference { get; set; }

        [JsonRequired]
        [JsonPropertyName("rules")]
        public List<RuleFile?>? Rules { get; set; }
    }

    /// <summary>One rule: when the condition holds, the cause gets the verdict and the text.</summary>
    internal sealed class RuleFile
    {
        [JsonRequired]
        [JsonPropertyName("causeId")]
        public string? CauseId { get; set; }

        [JsonRequired]
        [JsonPropertyName("verdict")]
        public string? Verdict { get; set; }

        [JsonRequired]
        [JsonPropertyName("when")]
        public ConditionFile? When { get; set; }

        [JsonRequired]
        [JsonPropertyName("why")]
        public string? Why { get; set; }

        /// <summary>
        /// A RuledOut rule only: the cause that explains the reply instead (a shared mailbox's "account disabled" is
        /// SharedMailboxSignIn). The reply then does not contradict the settings, and that cause is added if missing.
        /// </summary>
        [JsonPropertyName("explainedBy")]
        public string? ExplainedBy { get; set; }
    }

    /// <summary>
    /// A condition: exactly one of all, any, not, method, or field with exactly one of equals, notEquals, isEmpty,
    /// isNotEmpty.
    /// </summary>
    internal sealed class ConditionFile
    {
        [JsonPropertyName("all")]
        public List<ConditionFile?>? All { get; set; }

        [JsonPropertyName("any")]
        public List<ConditionFile?>? Any { get; set; }

        [JsonPropertyName("not")]
        public ConditionFile? Not { get; set; }

        [JsonPropertyName("method")]
        public string? Method { get; set; }

        [JsonPropertyName("field")]
        public string? Field { get; set; }

        /// <summary>Undefined when absent, Null for "equals": null.</summary>
        [JsonPropertyName("equals")]
        public JsonElement EqualTo { get; set; }

        /// <summary>Undefined when absent, Null for "notEquals": null.</summary>
        [JsonPropertyName("notEquals")]
        public JsonElement NotEqualTo { get; set; }

        [JsonPropertyName("isEmpty")]
        public bool? IsEmpty { get; set; }

        [JsonPropertyName("isNotEmpty")]
        public bool? IsNotEmpty { get; set; }
    }
}
