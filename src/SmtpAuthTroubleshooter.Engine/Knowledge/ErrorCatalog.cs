using System;
using System.Collections.Generic;
using System.Linq;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace SmtpAuthTroubleshooter.Engine.Knowledge
{
    /// <summary>
    /// The error knowledge base: causes (one per stable CauseId), entries (one per server reply or
    /// client-library error text), the Entra sign-in codes, the advisories and the corroboration rules. Loaded from the
    /// embedded, versioned ErrorCatalog.json through System.Text.Json into the types of CatalogFile.cs, then validated;
    /// ErrorCatalog.schema.json describes the same shape. Adding an Exchange Online error text, a sign-in code or a rule
    /// is a data change plus a test case (DESIGN "Knowledge as data").
    /// </summary>
    public sealed class ErrorCatalog
    {
        /// <summary>Every regex of the catalog and the parser runs with this limit (issue 6: no match over 50 ms).</summary>
        internal static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);

        private const string ResourceName = "SmtpAuthTroubleshooter.Engine.Knowledge.ErrorCatalog.json";
        private static readonly Lazy<ErrorCatalog> s_embedded = new Lazy<ErrorCatalog>(LoadEmbedded);

        // Strict reading: comments are skipped; a property the types do not know is an error, not ignored.
        private static readonly JsonSerializerOptions s_jsonOptions = new JsonSerializerOptions
        {
            ReadCommentHandling = JsonCommentHandling.Skip,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        };

        /// <summary>Microsoft's page of Entra sign-in error codes, named when a code is not in the table.</summary>
        public const string SignInCodeReference = "https://learn.microsoft.com/entra/identity-platform/reference-error-codes";

        private ErrorCatalog(int schemaVersion, string version, Dictionary<string, CauseDefinition> causes, List<CatalogEntry> entries, Dictionary<int, SignInCode> signInCodes)
        {
            SchemaVersion = schemaVersion;
            Version = version;
            Causes = causes;
            Entries = entries;
            SignInCodeTable = signInCodes;
            SignInCodes = signInCodes.Values.Where(c => c.CauseId is not null).ToDictionary(c => c.Code, c => c.CauseId!);
        }

        /// <summary>
        /// Entra sign-in error codes of "Authenticated SMTP" sign-ins and the CauseId each one points at, decisive or not
        /// (see <see cref="SignInCodeTable"/>), from the catalog's signInCodes table (data, so that a new code is a data
        /// change plus a test case). Codes that point at no single cause are not here.
        /// </summary>
        public IReadOnlyDictionary<int, string> SignInCodes { get; }

        /// <summary>Every code of the signInCodes table: its meaning (Microsoft's words), its cause if any, and whether it decides it.</summary>
        public IReadOnlyDictionary<int, SignInCode> SignInCodeTable { get; }

        /// <summary>
        /// What a sign-in error code says, in words for a person: the table's meaning and what it points at, or, for a code
        /// the table does not know, that plainly and where Microsoft explains it.
        /// </summary>
        public string DescribeSignInCode(int code)
        {
            if (!SignInCodeTable.TryGetValue(code, out SignInCode? known))
            {
                return string.Format(CultureInfo.InvariantCulture,
                    "code {0}, not in the module's table; see {1} or https://login.microsoftonline.com/error?code={0}", code, SignInCodeReference);
            }

            string points = known.CauseId is null
                ? "it points at no single cause"
                : known.Decisive ? known.CauseId : "suggests " + known.CauseId + ", but Microsoft gives it more than one reason";
            return string.Format(CultureInfo.InvariantCulture, "{0}, \"{1}\" ({2})", code, known.Meaning.TrimEnd('.'), points);
        }

        /// <summary>Notes for a probe that worked (basic auth still working, and until when), keyed by name: dated data.</summary>
        public IReadOnlyDictionary<string, Advisory> Advisories { get; private set; } = new Dictionary<string, Advisory>();

        /// <summary>
        /// Which policy-state fact confirms or rules out which cause, from the catalog's corroboration rules (data, so that
        /// a new rule is a data change plus a test case).
        /// </summary>
        internal FactRules<SmtpAuthPolicyState> Corroboration { get; private set; } = FactRules<SmtpAuthPolicyState>.Empty;

        /// <summary>The probe-fact rules: what a Test-SmtpAuth result saw of the session rules a cause out or makes it likely.</summary>
        internal FactRules<Diagnosis.ProbeFacts> ProbeRules { get; private set; } = FactRules<Diagnosis.ProbeFacts>.Empty;

        /// <summary>
        /// The server signatures, in file order: words or markers in a reply that tell which server sent it (Exchange
        /// Online's diagnostic tail, Exim's "Incorrect authentication data", Gmail's "gsmtp"...). Data, like the entries.
        /// </summary>
        public IReadOnlyList<ServerSignature> Servers { get; private set; } = Array.Empty<ServerSignature>();

        /// <summary>The catalog compiled into the engine.</summary>
        public static ErrorCatalog Embedded => s_embedded.Value;

        /// <summary>The file format version.</summary>
        public int SchemaVersion { get; }

        /// <summary>The catalog's content version (a date), reported on every finding.</summary>
        public string Version { get; }

        /// <summary>Cause definitions keyed by CauseId.</summary>
        public IReadOnlyDictionary<string, CauseDefinition> Causes { get; }

        /// <summary>Entries in file order.</summary>
        public IReadOnlyList<CatalogEntry> Entries { get; }

        /// <summary>Parses a catalog from JSON text; throws <see cref="SmtpAuthTroubleshooterException"/> when it is invalid.</summary>
        public static ErrorCatalog Parse(string json)
        {
            try
            {
                RejectDuplicateProperties(json);
                CatalogFile file = JsonSerializer.Deserialize<CatalogFile>(json, s_jsonOptions) ?? throw Invalid("the file is null");
                return Build(file);
            }
            catch (Exception ex) when (ex is JsonException || ex is KeyNotFoundException || ex is InvalidOperationException || ex is ArgumentException || ex is FormatException || ex is NotSupportedException || ex is OverflowException)
            {
                throw Invalid(ex.Message, ex);
            }
        }

        private static ErrorCatalog Build(CatalogFile file)
        {
            if (file.SchemaVersion != 1)
            {
                throw Invalid($"unsupported schemaVersion {file.SchemaVersion}");
            }

            string version = file.CatalogVersion ?? throw Invalid("catalogVersion is null");
            var causes = new Dictionary<string, CauseDefinition>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, CauseFile?> p in file.Causes ?? throw Invalid("causes is null"))
            {
                causes.Add(p.Key, ToCause(p.Key, p.Value ?? throw Invalid($"cause '{p.Key}' is null")));
            }

            var entries = new List<CatalogEntry>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (EntryFile? e in file.Entries ?? throw Invalid("entries is null"))
            {
                CatalogEntry entry = ToEntry(e ?? throw Invalid("an entry is null"), causes);
                if (!ids.Add(entry.Id))
                {
                    throw Invalid($"duplicate entry id '{entry.Id}'");
                }

                entries.Add(entry);
            }

            var signInCodes = new Dictionary<int, SignInCode>();
            if (file.SignInCodes is SignInCodesFile table)
            {
                foreach (KeyValuePair<string, SignInCodeFile?> code in table.Codes ?? throw Invalid("signInCodes.codes is null"))
                {
                    if (!int.TryParse(code.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
                    {
                        throw Invalid($"sign-in code '{code.Key}' is not a number");
                    }

                    SignInCodeFile value = code.Value ?? throw Invalid($"sign-in code {number} is null");
                    string? causeId = value.CauseId;
                    if (causeId is not null && !causes.ContainsKey(causeId))
                    {
                        throw Invalid($"sign-in code {number} names an unknown cause '{causeId}'");
                    }

                    bool decisive = value.Decisive ?? throw Invalid($"sign-in code {number} has no decisive");
                    if (decisive && causeId is null)
                    {
                        throw Invalid($"sign-in code {number} is decisive but names no cause");
                    }

                    if (string.IsNullOrWhiteSpace(value.Meaning))
                    {
                        throw Invalid($"sign-in code {number} has no meaning");
                    }

                    if (signInCodes.ContainsKey(number))
                    {
                        throw Invalid($"sign-in code {number} is listed twice");
                    }

                    signInCodes[number] = new SignInCode(number, causeId, decisive, value.Meaning!, value.Source ?? table.Reference ?? SignInCodeReference);
                }
            }

            var advisories = new Dictionary<string, Advisory>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, AdvisoryFile?> a in file.Advisories ?? new Dictionary<string, AdvisoryFile?>())
            {
                AdvisoryFile advisory = a.Value ?? throw Invalid($"advisory '{a.Key}' is null");
                string causeId = advisory.CauseId ?? string.Empty;
                if (!causes.ContainsKey(causeId))
                {
                    throw Invalid($"advisory '{a.Key}' names an unknown cause '{causeId}'");
                }

                advisories[a.Key] = new Advisory(a.Key, causeId, advisory.Title ?? a.Key, advisory.Remediation ?? string.Empty, ToVariants(a.Key, advisory.Variants));
            }

            FactRules<SmtpAuthPolicyState> corroboration = file.Corroboration is CorroborationFile rules
                ? FactRules<SmtpAuthPolicyState>.Compile(rules, causes.ContainsKey, detail => Invalid(detail))
                : FactRules<SmtpAuthPolicyState>.Empty;
            FactRules<Diagnosis.ProbeFacts> probeRules = file.ProbeFacts is CorroborationFile probe
                ? FactRules<Diagnosis.ProbeFacts>.Compile(probe, "probeFacts", new[] { Verdict.Likely, Verdict.Possible, Verdict.RuledOut }, causes.ContainsKey, detail => Invalid(detail))
                : FactRules<Diagnosis.ProbeFacts>.Empty;

            var servers = new List<ServerSignature>();
            foreach (ServerFile? f in file.Servers ?? new List<ServerFile?>())
            {
                ServerSignature server = ToServer(f ?? throw Invalid("a server signature is null"));
                if (servers.Any(x => string.Equals(x.Id, server.Id, StringComparison.Ordinal)))
                {
                    throw Invalid($"duplicate server signature id '{server.Id}'");
                }

                servers.Add(server);
            }

            return new ErrorCatalog(file.SchemaVersion, version, causes, entries, signInCodes) { Advisories = advisories, Corroboration = corroboration, ProbeRules = probeRules, Servers = servers };
        }

        private static ErrorCatalog LoadEmbedded()
        {
            using Stream? stream = typeof(ErrorCatalog).Assembly.GetManifestResourceStream(ResourceName);
            if (stream is null)
            {
                throw Invalid("the embedded resource is missing");
            }

            using var reader = new StreamReader(stream);
            return Parse(reader.ReadToEnd());
        }

        /// <summary>
        /// A property name that appears twice in one object (which the serializer would silently overwrite) makes the
        /// file invalid: two causes with one id, say.
        /// </summary>
        private static void RejectDuplicateProperties(string json)
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            var open = new Stack<HashSet<string>?>();
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        open.Push(new HashSet<string>(StringComparer.Ordinal));
                        break;
                    case JsonTokenType.StartArray:
                        open.Push(null);
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        open.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        string name = reader.GetString()!;
                        if (open.Peek() is HashSet<string> names && !names.Add(name))
                        {
                            throw Invalid($"the property '{name}' appears twice in one object (near byte {reader.TokenStartIndex.ToString(CultureInfo.InvariantCulture)})");
                        }

                        break;
                }
            }
        }

        private static List<CauseVariant> ToVariants(string owner, List<VariantFile?>? variants)
        {
            var result = new List<CauseVariant>();
            foreach (VariantFile? v in variants ?? new List<VariantFile?>())
            {
                if (v is null)
                {
                    throw Invalid($"'{owner}' has a null variant");
                }

                DateTimeOffset? from = ToDate(v.ValidFrom);
                DateTimeOffset? until = ToDate(v.ValidUntil);
                if (from is not null && until is not null && from >= until)
                {
                    throw Invalid($"a variant of '{owner}' ends ({v.ValidUntil}) before it starts ({v.ValidFrom})");
                }

                result.Add(new CauseVariant(from, until, v.Title, v.Remediation, v.Evidence));
            }

            return result;
        }

        private static CauseDefinition ToCause(string id, CauseFile c) => new CauseDefinition(
            id,
            c.Title ?? id,
            c.Category ?? "Unknown",
            c.Checks,
            c.Remediation ?? string.Empty,
            c.RemediationCommand,
            c.DocumentationUrl,
            c.Transient == true,
            c.Reference,
            ToVariants(id, c.Variants))
        {
            ProbeChecks = c.ProbeChecks,
            ProbeRemediation = c.ProbeRemediation,
            OtherServerRemediation = c.OtherServerRemediation,
            OtherServerTitle = c.OtherServerTitle,
            OtherServerChecks = c.OtherServerChecks,
            OtherServerDocumentationUrl = c.OtherServerDocumentationUrl,
            ExchangeOnly = c.ExchangeOnly == true,
        };

        private static ServerSignature ToServer(ServerFile f)
        {
            string id = f.Id ?? throw Invalid("a server signature has no id");
            string pattern = f.Pattern ?? throw Invalid($"server signature '{id}' has no pattern");
            var regex = new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeout);
            string example = f.Example ?? throw Invalid($"server signature '{id}' has no example");
            // The example is a real reply from the signature's source: a pattern that does not match it is a broken entry.
            if (!regex.IsMatch(example))
            {
                throw Invalid($"server signature '{id}': the pattern does not match its own example");
            }

            SignatureMarks marks = f.Marks switch
            {
                "reply" => SignatureMarks.Reply,
                "host" => SignatureMarks.Host,
                "certificate" => SignatureMarks.Certificate,
                _ => throw Invalid($"server signature '{id}': marks must be reply, host or certificate, not '{f.Marks}'"),
            };
            if (marks == SignatureMarks.Certificate && f.ExchangeOnline)
            {
                throw Invalid($"server signature '{id}': a certificate signature marks another host's certificate, so it cannot be Exchange Online's");
            }

            return new ServerSignature(id, f.Name ?? throw Invalid($"server signature '{id}' has no name"), f.ExchangeOnline, regex, f.Reference ?? throw Invalid($"server signature '{id}' has no reference"), example) { Marks = marks };
        }

        private static CatalogEntry ToEntry(EntryFile e, Dictionary<string, CauseDefinition> causes)
        {
            string id = e.Id ?? throw Invalid("an entry has no id");
            string scopeText = e.Scope ?? "reply";
            EntryScope scope = scopeText.ToLowerInvariant() switch
            {
                "text" => EntryScope.Text,
                "fallback" => EntryScope.Fallback,
                "reply" => EntryScope.Reply,
                _ => throw Invalid($"entry '{id}': scope must be reply, text or fallback, not '{scopeText}'"),
            };
            string pattern = e.Pattern ?? throw Invalid($"entry '{id}' has no pattern");
            var regex = new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeout);

            var refs = new List<CauseReference>();
            foreach (CauseReferenceFile? c in e.Causes ?? throw Invalid($"entry '{id}' has no causes"))
            {
                string causeId = c?.CauseId ?? throw Invalid($"entry '{id}' names a cause without causeId");
                if (!causes.ContainsKey(causeId))
                {
                    throw Invalid($"entry '{id}' names unknown cause '{causeId}'");
                }

                refs.Add(new CauseReference(
                    causeId,
                    ToVerdict(c.Verdict) ?? CatalogVerdict.Possible,
                    ToVerdict(c.Basic),
                    ToVerdict(c.OAuth),
                    c.Evidence ?? string.Empty)
                {
                    OtherServerEvidence = c.OtherServerEvidence,
                });
            }

            TailCondition tail = e.DiagnosticTail switch
            {
                null => TailCondition.Any,
                "dated" => TailCondition.Dated,
                "notDated" => TailCondition.NotDated,
                _ => throw Invalid($"entry '{id}': diagnosticTail must be dated or notDated, not '{e.DiagnosticTail}'"),
            };
            if (tail != TailCondition.Any && scope != EntryScope.Reply)
            {
                throw Invalid($"entry '{id}': diagnosticTail applies to reply entries only");
            }

            return new CatalogEntry(
                id,
                e.Reference,
                scope,
                e.ReplyCodes ?? new List<int>(),
                (e.EnhancedCodes ?? new List<string?>()).Select(x => x ?? string.Empty).ToList(),
                regex,
                e.Stage ?? "Any",
                refs)
            {
                DiagnosticTail = tail,
                Mechanisms = Mechanisms(id, e.Mechanisms),
                ExceptMechanisms = Mechanisms(id, e.ExceptMechanisms),
            };
        }

        private static CatalogVerdict? ToVerdict(string? text)
        {
            if (text is null)
            {
                return null;
            }

            return text.ToUpperInvariant() switch
            {
                "LIKELY" => CatalogVerdict.Likely,
                "POSSIBLE" => CatalogVerdict.Possible,
                "EXCLUDED" => CatalogVerdict.Excluded,
                _ => throw Invalid($"unknown verdict '{text}'"),
            };
        }

        private static DateTimeOffset? ToDate(string? text) =>
            text is null ? null : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

        /// <summary>A list of SASL mechanism names; empty when the entry names none.</summary>
        private static List<string> Mechanisms(string id, List<string?>? names)
        {
            var list = new List<string>();
            foreach (string? n in names ?? new List<string?>())
            {
                if (n is null || n.Length == 0 || n.Any(ch => !(ch is >= 'A' and <= 'Z' || ch is >= '0' and <= '9' || ch == '-')))
                {
                    throw Invalid($"entry '{id}': a mechanism is a SASL name in capitals (LOGIN, XOAUTH2), not '{n}'");
                }

                list.Add(n);
            }

            return list;
        }

        private static SmtpAuthTroubleshooterException Invalid(string detail, Exception? inner = null) =>
            new SmtpAuthTroubleshooterException("ErrorCatalogInvalid", SmtpAuthErrorKind.InvalidData, "The error catalog is invalid: " + detail, null, inner);
    }

    /// <summary>Where an entry's pattern is applied.</summary>
    public enum EntryScope
    {
        /// <summary>To a parsed SMTP reply's text (codes and diagnostic tail removed).</summary>
        Reply,
        /// <summary>To the whole input text (client-library messages without an SMTP reply).</summary>
        Text,
        /// <summary>
        /// Only when no reply or text entry matched: a generic reading of a reply (by its codes) or of the text, such as
        /// "a 535 from any server is a refused user name or password" (issue 10).
        /// </summary>
        Fallback,
    }

    /// <summary>A verdict as the catalog states it.</summary>
    public enum CatalogVerdict
    {
        /// <summary>Most likely.</summary>
        Likely,
        /// <summary>One of several.</summary>
        Possible,
        /// <summary>Not a candidate for this auth method.</summary>
        Excluded,
    }

    /// <summary>One cause: what it is and how to fix it.</summary>
    public sealed class CauseDefinition
    {
        internal CauseDefinition(string id, string title, string category, string? checks, string remediation, string? remediationCommand, string? documentationUrl, bool transient, string? reference, IReadOnlyList<CauseVariant> variants)
        {
            Id = id;
            Title = title;
            Category = category;
            Checks = checks;
            Remediation = remediation;
            RemediationCommand = remediationCommand;
            DocumentationUrl = documentationUrl;
            Transient = transient;
            Reference = reference;
            Variants = variants;
        }

        /// <summary>The stable CauseId.</summary>
        public string Id { get; }
        /// <summary>One-line title.</summary>
        public string Title { get; }
        /// <summary>Category.</summary>
        public string Category { get; }
        /// <summary>What to check.</summary>
        public string? Checks { get; }
        /// <summary>The fix in words.</summary>
        public string Remediation { get; }
        /// <summary>The exact fix command, if any.</summary>
        public string? RemediationCommand { get; }
        /// <summary>Documentation link.</summary>
        public string? DocumentationUrl { get; }
        /// <summary>Whether waiting can help.</summary>
        public bool Transient { get; }
        /// <summary>The public pages (Microsoft documentation, library sources, issue threads) the facts come from.</summary>
        public string? Reference { get; }
        /// <summary>Date-bound variants (meaning that changed over time).</summary>
        public IReadOnlyList<CauseVariant> Variants { get; }

        /// <summary>
        /// What to check when the error came from a Test-SmtpAuth result rather than pasted text, where the two differ
        /// (a probe has a phase and a server; pasted text has neither). {phase}, {server} and {port} are filled in.
        /// </summary>
        public string? ProbeChecks { get; internal set; }

        /// <summary>The fix in words for a Test-SmtpAuth result, where it differs from the text's; placeholders as <see cref="ProbeChecks"/>.</summary>
        public string? ProbeRemediation { get; internal set; }

        /// <summary>
        /// The fix in words when a Test-SmtpAuth result shows a server that is not Exchange Online (Postfix, Exim, a
        /// relay, a dev server), where the Exchange Online fix ("connect to smtp.office365.com:587") does not apply;
        /// placeholders as <see cref="ProbeChecks"/>.
        /// </summary>
        public string? OtherServerRemediation { get; internal set; }

        /// <summary>The title for a server that is not Exchange Online, where the title names Exchange Online's behaviour.</summary>
        public string? OtherServerTitle { get; internal set; }

        /// <summary>What to check for a server that is not Exchange Online, where the Exchange Online checks (sign-in logs, Get-User) do not apply.</summary>
        public string? OtherServerChecks { get; internal set; }

        /// <summary>A page about the cause that is not about Exchange Online (the RFC, usually), for another server.</summary>
        public string? OtherServerDocumentationUrl { get; internal set; }

        /// <summary>
        /// True for a cause that only Exchange Online or Microsoft Entra can produce (a tenant or mailbox setting, an
        /// authentication policy, Entra's sign-in rules): a generic reading never offers it for a reply that another
        /// server sent.
        /// </summary>
        public bool ExchangeOnly { get; internal set; }

        /// <summary>The variant in force at <paramref name="when"/>, if any.</summary>
        public CauseVariant? VariantAt(DateTimeOffset when) => Variants.FirstOrDefault(v => v.IsInForceAt(when));
    }

    /// <summary>Words or a marker in a reply that tell which server sent it.</summary>
    public sealed class ServerSignature
    {
        internal ServerSignature(string id, string name, bool exchangeOnline, Regex pattern, string reference, string example)
        {
            Id = id;
            Name = name;
            ExchangeOnline = exchangeOnline;
            Pattern = pattern;
            Reference = reference;
            Example = example;
        }

        /// <summary>The signature's id, e.g. EXIM.</summary>
        public string Id { get; }
        /// <summary>The server's name as findings show it, e.g. Exim.</summary>
        public string Name { get; }
        /// <summary>True for Exchange Online's own markers.</summary>
        public bool ExchangeOnline { get; }
        /// <summary>
        /// What the signature marks: the server's own reply (its words, its diagnostic tail: who answered), the host name
        /// the client was set to (smtp.office365.com: where it meant to go), or a certificate of another host than the one
        /// the client asked for (who answered, used only against a host the text names).
        /// </summary>
        public SignatureMarks Marks { get; internal set; }

        /// <summary>The pattern (case-insensitive).</summary>
        public Regex Pattern { get; }
        /// <summary>Where the wording comes from: the server's source or documentation, or a public thread quoting it.</summary>
        public string Reference { get; }
        /// <summary>A real reply that carries the signature.</summary>
        public string Example { get; }
    }

    /// <summary>What a server signature marks.</summary>
    public enum SignatureMarks
    {
        /// <summary>Words or markers in the server's own reply: who answered.</summary>
        Reply,
        /// <summary>The host name the client was set to: where it meant to go.</summary>
        Host,
        /// <summary>A certificate of another host than the one asked for: who answered, read only against a named host.</summary>
        Certificate,
    }

    /// <summary>A note for a probe that worked, with wording that changes with the date (the basic-auth retirement).</summary>
    public sealed class Advisory
    {
        internal Advisory(string name, string causeId, string title, string remediation, IReadOnlyList<CauseVariant> variants)
        {
            Name = name;
            CauseId = causeId;
            Title = title;
            Remediation = remediation;
            Variants = variants;
        }

        /// <summary>The advisory's name in the catalog.</summary>
        public string Name { get; }
        /// <summary>The CauseId its finding carries.</summary>
        public string CauseId { get; }
        /// <summary>The finding's title.</summary>
        public string Title { get; }
        /// <summary>What to do.</summary>
        public string Remediation { get; }
        /// <summary>Dated wordings.</summary>
        public IReadOnlyList<CauseVariant> Variants { get; }

        /// <summary>The wording in force at <paramref name="when"/>, if any.</summary>
        public CauseVariant? VariantAt(DateTimeOffset when) => Variants.FirstOrDefault(v => v.IsInForceAt(when));
    }

    /// <summary>A cause's wording for a period of time.</summary>
    public sealed class CauseVariant
    {
        internal CauseVariant(DateTimeOffset? validFrom, DateTimeOffset? validUntil, string? title, string? remediation, string? evidence)
        {
            ValidFrom = validFrom;
            ValidUntil = validUntil;
            Title = title;
            Remediation = remediation;
            Evidence = evidence;
        }

        /// <summary>Start of validity (inclusive), or open.</summary>
        public DateTimeOffset? ValidFrom { get; }
        /// <summary>End of validity (exclusive), or open.</summary>
        public DateTimeOffset? ValidUntil { get; }
        /// <summary>Title override.</summary>
        public string? Title { get; }
        /// <summary>Remediation override.</summary>
        public string? Remediation { get; }
        /// <summary>Sentence appended to the evidence.</summary>
        public string? Evidence { get; }

        /// <summary>True when <paramref name="when"/> falls in [ValidFrom, ValidUntil).</summary>
        internal bool IsInForceAt(DateTimeOffset when) =>
            (ValidFrom is null || when >= ValidFrom) && (ValidUntil is null || when < ValidUntil);
    }

    /// <summary>One recognisable error: how to match it and which causes it points at.</summary>
    public sealed class CatalogEntry
    {
        internal CatalogEntry(string id, string? reference, EntryScope scope, IReadOnlyList<int> replyCodes, IReadOnlyList<string> enhancedCodes, Regex pattern, string stage, IReadOnlyList<CauseReference> causes)
        {
            Id = id;
            Reference = reference;
            Scope = scope;
            ReplyCodes = replyCodes;
            EnhancedCodes = enhancedCodes;
            Pattern = pattern;
            Stage = stage;
            Causes = causes;
        }

        /// <summary>Entry id, e.g. TENANT_OFF.</summary>
        public string Id { get; }
        /// <summary>True for an entry that the reply codes alone decide (pattern "^"): it needs a reply with codes.</summary>
        public bool CodesOnly => Pattern.ToString() == "^";

        /// <summary>The public pages the entry comes from.</summary>
        public string? Reference { get; }
        /// <summary>What the pattern is applied to.</summary>
        public EntryScope Scope { get; }
        /// <summary>Basic reply codes that may accompany the text (empty: any).</summary>
        public IReadOnlyList<int> ReplyCodes { get; }
        /// <summary>Enhanced status codes that may accompany the text (empty: any).</summary>
        public IReadOnlyList<string> EnhancedCodes { get; }
        /// <summary>The text pattern.</summary>
        public Regex Pattern { get; }
        /// <summary>The SMTP stage the reply belongs to.</summary>
        public string Stage { get; }
        /// <summary>Candidate causes, most likely first.</summary>
        public IReadOnlyList<CauseReference> Causes { get; }
        /// <summary>Whether the reply must carry Exchange Online's dated diagnostic tail ([HOST 2024-10-10T21:50:33.251Z ID]),
        /// must not, or either. The date tells the reply's era, and with it what an unexplained code most often means.</summary>
        public TailCondition DiagnosticTail { get; internal set; }
        /// <summary>When not empty, the entry applies only to a text that shows the client sending AUTH with one of these
        /// SASL mechanisms (Exchange Online takes LOGIN and XOAUTH2 after STARTTLS: a 504 5.7.4 to one of them says TLS was not on).</summary>
        public IReadOnlyList<string> Mechanisms { get; internal set; } = Array.Empty<string>();
        /// <summary>The entry does not apply to a text that shows the client sending AUTH with one of these mechanisms.</summary>
        public IReadOnlyList<string> ExceptMechanisms { get; internal set; } = Array.Empty<string>();

        /// <summary>Whether the entry applies, given the mechanism the text shows (null: the text shows none).</summary>
        public bool AppliesToMechanism(string? mechanism) =>
            (Mechanisms.Count == 0 || (mechanism is not null && Mechanisms.Contains(mechanism, StringComparer.Ordinal)))
            && (mechanism is null || !ExceptMechanisms.Contains(mechanism, StringComparer.Ordinal));
    }

    /// <summary>What an entry asks of a reply's diagnostic tail.</summary>
    public enum TailCondition
    {
        /// <summary>Any reply.</summary>
        Any,
        /// <summary>Only a reply whose diagnostic tail carries a timestamp.</summary>
        Dated,
        /// <summary>Only a reply without a timestamped diagnostic tail (no tail, or the older [HOST] form).</summary>
        NotDated,
    }

    /// <summary>An entry's pointer at a cause, with its verdicts.</summary>
    public sealed class CauseReference
    {
        internal CauseReference(string causeId, CatalogVerdict verdict, CatalogVerdict? basic, CatalogVerdict? oauth, string evidence)
        {
            CauseId = causeId;
            Verdict = verdict;
            Basic = basic;
            OAuth = oauth;
            Evidence = evidence;
        }

        /// <summary>The cause.</summary>
        public string CauseId { get; }
        /// <summary>Verdict when the auth method is unknown.</summary>
        public CatalogVerdict Verdict { get; }
        /// <summary>Verdict when the client used basic auth.</summary>
        public CatalogVerdict? Basic { get; }
        /// <summary>Verdict when the client used OAuth.</summary>
        public CatalogVerdict? OAuth { get; }
        /// <summary>Why the reply points at this cause.</summary>
        public string Evidence { get; }

        /// <summary>
        /// The same for a server that is not Exchange Online, where the evidence argues from Exchange Online's behaviour
        /// ("Exchange Online offers only AUTH LOGIN and XOAUTH2"); placeholders as the cause's other-server texts.
        /// </summary>
        public string? OtherServerEvidence { get; internal set; }

        /// <summary>The verdict for a given auth method.</summary>
        public CatalogVerdict VerdictFor(SmtpAuthMethod method) => method switch
        {
            SmtpAuthMethod.Basic => Basic ?? Verdict,
            SmtpAuthMethod.OAuth => OAuth ?? Verdict,
            _ => Verdict,
        };
    }

    /// <summary>
    /// One Entra sign-in error code of the catalog's signInCodes table: Microsoft's meaning, the cause it points at (null:
    /// no single cause), and whether it decides that cause (it may confirm it) or only suggests it.
    /// </summary>
    public sealed class SignInCode
    {
        internal SignInCode(int code, string? causeId, bool decisive, string meaning, string source)
        {
            Code = code;
            CauseId = causeId;
            Decisive = decisive;
            Meaning = meaning;
            Source = source;
        }

        /// <summary>The number (AADSTS without the prefix).</summary>
        public int Code { get; }

        /// <summary>The cause it points at, or null when Microsoft's meaning does not point at one cause.</summary>
        public string? CauseId { get; }

        /// <summary>True: the code decides <see cref="CauseId"/> (it may confirm it); false: it only suggests it.</summary>
        public bool Decisive { get; }

        /// <summary>What Microsoft's page says the code means.</summary>
        public string Meaning { get; }

        /// <summary>The page the meaning is quoted from.</summary>
        public string Source { get; }
    }
}
