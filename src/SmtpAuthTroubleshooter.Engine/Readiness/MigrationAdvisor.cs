using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using SmtpAuthTroubleshooter.Engine.Diagnosis;

namespace SmtpAuthTroubleshooter.Engine.Readiness
{
    /// <summary>The facts about one sender that decide its way out (names as in MigrationRules.json "facts").</summary>
    public sealed class SenderFacts
    {
        /// <summary>The mailbox.</summary>
        public string? UserPrincipalName { get; set; }
        /// <summary>The client IP.</summary>
        public string? ClientIp { get; set; }
        /// <summary>Basic sign-ins in the window.</summary>
        public int BasicSignIns { get; set; }
        /// <summary>Of which succeeded.</summary>
        public int BasicSuccesses { get; set; }
        /// <summary>SMTP AUTH effective.</summary>
        public bool? SmtpAuthEnabled { get; set; }
        /// <summary>The admin center report shows OAuth only.</summary>
        public bool OAuthOnly { get; set; }
        /// <summary>The admin center report shows OAuth.</summary>
        public bool OAuthSeen { get; set; }
        /// <summary>Every traced recipient is internal.</summary>
        public bool? InternalRecipientsOnly { get; set; }
        /// <summary>One public IP for the mailbox.</summary>
        public bool StaticPublicIp { get; set; }
        /// <summary>That one public IP is an IPv4 address (New-InboundConnector -SenderIPAddresses takes no IPv6).</summary>
        public bool StaticPublicIPv4 { get; set; }
        /// <summary>RejectDirectSend.</summary>
        public bool? RejectDirectSend { get; set; }
        /// <summary>Messages sent (admin center report).</summary>
        public long? MessagesSent { get; set; }
        /// <summary>Named by the admin as its own code.</summary>
        public bool OwnCode { get; set; }
    }

    /// <summary>
    /// Chooses each sender's migration path from rules that are data (Knowledge/MigrationRules.json), like the error
    /// catalog: the first rule whose condition holds wins; its reason and every fact it looked at are shown, and its
    /// command is filled with quoted values. Adding a path rule is a data change plus a test case.
    /// </summary>
    public sealed class MigrationAdvisor
    {
        private const string ResourceName = "SmtpAuthTroubleshooter.Engine.Knowledge.MigrationRules.json";
        private static readonly Lazy<MigrationAdvisor> s_embedded = new Lazy<MigrationAdvisor>(LoadEmbedded);
        private static readonly Dictionary<string, Func<SenderFacts, object?>> s_facts = new Dictionary<string, Func<SenderFacts, object?>>(StringComparer.Ordinal)
        {
            ["BasicSignIns"] = f => f.BasicSignIns,
            ["BasicSuccesses"] = f => f.BasicSuccesses,
            ["SmtpAuthEnabled"] = f => f.SmtpAuthEnabled,
            ["OAuthOnly"] = f => f.OAuthOnly,
            ["OAuthSeen"] = f => f.OAuthSeen,
            ["InternalRecipientsOnly"] = f => f.InternalRecipientsOnly,
            ["StaticPublicIp"] = f => f.StaticPublicIp,
            ["StaticPublicIPv4"] = f => f.StaticPublicIPv4,
            ["RejectDirectSend"] = f => f.RejectDirectSend,
            ["MessagesSent"] = f => f.MessagesSent,
            ["OwnCode"] = f => f.OwnCode,
        };

        private readonly List<Rule> _rules;

        private MigrationAdvisor(List<Rule> rules) => _rules = rules;

        /// <summary>The rules compiled into the engine.</summary>
        public static MigrationAdvisor Embedded => s_embedded.Value;

        /// <summary>The rules in order.</summary>
        internal IReadOnlyList<Rule> Rules => _rules;

        /// <summary>Parses rules from JSON; throws <see cref="SmtpAuthTroubleshooterException"/> ("MigrationRulesInvalid") when they are invalid.</summary>
        public static MigrationAdvisor Parse(string json)
        {
            try
            {
                using JsonDocument doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
                JsonElement root = doc.RootElement;
                if (root.GetProperty("schemaVersion").GetInt32() != 1)
                {
                    throw Invalid("unsupported schemaVersion");
                }

                var rules = new List<Rule>();
                int i = 0;
                foreach (JsonElement r in root.GetProperty("rules").EnumerateArray())
                {
                    string where = "rule " + i.ToString(CultureInfo.InvariantCulture);
                    string pathText = r.GetProperty("path").GetString() ?? string.Empty;
                    if (!Enum.TryParse(pathText, ignoreCase: false, out SmtpAuthMigrationPath path) || !Enum.IsDefined(typeof(SmtpAuthMigrationPath), path))
                    {
                        throw Invalid(where + " names an unknown path '" + pathText + "'");
                    }

                    string reason = r.GetProperty("reason").GetString() ?? string.Empty;
                    if (reason.Length == 0)
                    {
                        throw Invalid(where + " has no reason");
                    }

                    string? command = r.TryGetProperty("command", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                    string? reference = r.TryGetProperty("reference", out JsonElement re) && re.ValueKind == JsonValueKind.String ? re.GetString() : null;
                    var used = new List<string>();
                    Func<SenderFacts, bool> when = Compile(r.GetProperty("when"), where, used);
                    rules.Add(new Rule(path, when, reason, command, reference, used.Distinct().ToList()));
                    i++;
                }

                if (rules.Count == 0 || rules[rules.Count - 1].Facts.Count != 0)
                {
                    throw Invalid("the last rule must hold always ({\"always\": true}), so that every sender gets a path");
                }

                return new MigrationAdvisor(rules);
            }
            catch (Exception ex) when (ex is JsonException || ex is KeyNotFoundException || ex is InvalidOperationException || ex is FormatException)
            {
                throw Invalid(ex.Message, ex);
            }
        }

        /// <summary>The path for one sender: the path, the reason with the facts that decided it, and the filled command.</summary>
        public (SmtpAuthMigrationPath Path, string Reason, string? Command) Advise(SenderFacts facts, IReadOnlyDictionary<string, string?> commandValues)
        {
            foreach (Rule rule in _rules)
            {
                if (!rule.When(facts))
                {
                    continue;
                }

                string decided = rule.Facts.Count == 0
                    ? string.Empty
                    : " Decided by: " + string.Join(", ", rule.Facts.Select(name => name + " = " + Show(s_facts[name](facts)))) + ".";
                string? command = FixCommand.Fill(rule.Command, commandValues, out IReadOnlyList<string> unfilled);
                string note = unfilled.Count == 0 ? string.Empty : " Fill in " + string.Join(", ", unfilled) + " in the command.";
                return (rule.Path, rule.Reason + decided + note + (rule.Reference is null ? string.Empty : " See " + rule.Reference + "."), command);
            }

            throw new InvalidOperationException("The last migration rule holds always.");
        }

        private static string Show(object? value) => value switch
        {
            null => "unknown",
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };

        private static Func<SenderFacts, bool> Compile(JsonElement c, string where, List<string> used)
        {
            if (c.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(where + ": a condition is an object");
            }

            if (c.TryGetProperty("always", out JsonElement always))
            {
                return always.ValueKind == JsonValueKind.True ? _ => true : throw Invalid(where + ": always must be true");
            }

            if (c.TryGetProperty("all", out JsonElement all))
            {
                Func<SenderFacts, bool>[] parts = all.EnumerateArray().Select(p => Compile(p, where, used)).ToArray();
                return parts.Length == 0 ? throw Invalid(where + ": all is empty") : f => parts.All(p => p(f));
            }

            if (c.TryGetProperty("any", out JsonElement any))
            {
                Func<SenderFacts, bool>[] parts = any.EnumerateArray().Select(p => Compile(p, where, used)).ToArray();
                return parts.Length == 0 ? throw Invalid(where + ": any is empty") : f => parts.Any(p => p(f));
            }

            if (c.TryGetProperty("not", out JsonElement not))
            {
                Func<SenderFacts, bool> inner = Compile(not, where, used);
                return f => !inner(f);
            }

            string name = c.TryGetProperty("fact", out JsonElement fe) ? fe.GetString() ?? string.Empty : throw Invalid(where + ": a condition is always, all, any, not or fact");
            if (!s_facts.TryGetValue(name, out Func<SenderFacts, object?>? get))
            {
                throw Invalid(where + " names an unknown fact '" + name + "' (" + string.Join(", ", s_facts.Keys) + ")");
            }

            used.Add(name);
            if (c.TryGetProperty("equals", out JsonElement eq))
            {
                object? wanted = eq.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Null => null,
                    JsonValueKind.Number => eq.GetInt64(),
                    _ => throw Invalid(where + ": equals takes true, false, null or a number"),
                };
                return f => Same(get(f), wanted);
            }

            if (c.TryGetProperty("atLeast", out JsonElement least) && least.ValueKind == JsonValueKind.Number)
            {
                long bound = least.GetInt64();
                return f => get(f) is IConvertible v && !(v is bool) && Convert.ToInt64(v, CultureInfo.InvariantCulture) >= bound;
            }

            throw Invalid(where + ": a fact condition has equals or atLeast");
        }

        private static bool Same(object? actual, object? wanted) => (actual, wanted) switch
        {
            (null, null) => true,
            (null, _) or (_, null) => false,
            (bool a, bool w) => a == w,
            (bool, _) or (_, bool) => false,
            _ => Convert.ToInt64(actual, CultureInfo.InvariantCulture) == Convert.ToInt64(wanted, CultureInfo.InvariantCulture),
        };

        private static MigrationAdvisor LoadEmbedded()
        {
            using Stream? stream = typeof(MigrationAdvisor).Assembly.GetManifestResourceStream(ResourceName) ?? throw Invalid("the embedded resource is missing");
            using var reader = new StreamReader(stream);
            return Parse(reader.ReadToEnd());
        }

        private static SmtpAuthTroubleshooterException Invalid(string detail, Exception? inner = null) =>
            new SmtpAuthTroubleshooterException("MigrationRulesInvalid", SmtpAuthErrorKind.InvalidData, "The migration rules are invalid: " + detail, null, inner);

        /// <summary>A compiled rule.</summary>
        internal sealed class Rule
        {
            internal Rule(SmtpAuthMigrationPath path, Func<SenderFacts, bool> when, string reason, string? command, string? reference, List<string> facts)
            {
                Path = path;
                When = when;
                Reason = reason;
                Command = command;
                Reference = reference;
                Facts = facts;
            }

            internal SmtpAuthMigrationPath Path { get; }
            internal Func<SenderFacts, bool> When { get; }
            internal string Reason { get; }
            internal string? Command { get; }
            internal string? Reference { get; }
            internal IReadOnlyList<string> Facts { get; }
        }
    }
}
