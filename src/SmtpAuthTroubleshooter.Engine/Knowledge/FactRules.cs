using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SmtpAuthTroubleshooter.Engine.Knowledge
{
    /// <summary>
    /// A section of fact rules from the catalog, compiled: which fact of a <typeparamref name="TSubject"/> decides which
    /// cause, and the sentence that says so. The rules of one cause are tried in file order; the first whose condition
    /// holds decides. Two sections use it: "corroboration" over a <see cref="SmtpAuthPolicyState"/> (the tenant's
    /// settings: Confirmed, RuledOut or Note) and "probeFacts" over a <see cref="Diagnosis.ProbeFacts"/> (what a
    /// Test-SmtpAuth result saw of the session: Likely, RuledOut or Note).
    /// </summary>
    /// <remarks>
    /// The condition language (ErrorCatalog.json "corroboration.rules[].when", "probeFacts.rules[].when"):
    /// <list type="bullet">
    /// <item><c>{ "all": [c, ...] }</c>, <c>{ "any": [c, ...] }</c>, <c>{ "not": c }</c>;</item>
    /// <item><c>{ "field": "Name", "equals": v }</c> and <c>"notEquals": v</c>, where Name is a property of the
    /// subject and v is true/false (bool fields), a string (string fields, compared case-insensitively; enum
    /// fields by name), an integer (int fields) or null;</item>
    /// <item><c>{ "field": "Name", "isEmpty": true }</c> and <c>"isNotEmpty": true</c> for string fields (null or "");</item>
    /// <item><c>{ "method": "Basic" | "OAuth" | "Unknown" }</c>: the auth method the client used.</item>
    /// </list>
    /// A rule's verdict is one the section allows, or Note (a fact that decides nothing but is shown). Its "why" may
    /// name fields as <c>{Name}</c>; each is filled from the subject (invariant culture, empty for null).
    /// </remarks>
    internal sealed class FactRules<TSubject>
        where TSubject : class
    {
        private static readonly Regex s_placeholder = new Regex(@"\{([^{}]*)\}", RegexOptions.CultureInvariant, ErrorCatalog.MatchTimeout);

        private readonly Dictionary<string, Rule[]> _byCause;

        private FactRules(string? reference, IReadOnlyList<Rule> rules)
        {
            Reference = reference;
            Rules = rules;
            _byCause = rules.GroupBy(r => r.CauseId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        }

        /// <summary>No rules (a catalog without a corroboration section).</summary>
        internal static FactRules<TSubject> Empty { get; } = new FactRules<TSubject>(null, Array.Empty<Rule>());

        /// <summary>The public page the rules rest on.</summary>
        internal string? Reference { get; }

        /// <summary>All rules in file order.</summary>
        internal IReadOnlyList<Rule> Rules { get; }

        /// <summary>What the settings say about one cause: the first rule of that cause whose condition holds.</summary>
        internal (Verdict? Verdict, string? Why) Judge(string causeId, TSubject state, SmtpAuthMethod method)
        {
            if (_byCause.TryGetValue(causeId, out Rule[]? rules))
            {
                foreach (Rule rule in rules)
                {
                    if (rule.Holds(state, method))
                    {
                        return (rule.Verdict, rule.Why(state));
                    }
                }
            }

            return (null, null);
        }

        /// <summary>The cause that explains a reply instead of <paramref name="causeId"/>, when the deciding rule names one.</summary>
        internal string? ExplainedBy(string causeId, TSubject state, SmtpAuthMethod method)
        {
            if (_byCause.TryGetValue(causeId, out Rule[]? rules))
            {
                foreach (Rule rule in rules)
                {
                    if (rule.Holds(state, method))
                    {
                        return rule.ExplainedBy;
                    }
                }
            }

            return null;
        }

        /// <summary>Validates and compiles the file's rules; <paramref name="fail"/> makes the exception for a bad rule.</summary>
        internal static FactRules<TSubject> Compile(CorroborationFile file, Func<string, bool> isCause, Func<string, Exception> fail)
            => Compile(file, "corroboration", new[] { Verdict.Confirmed, Verdict.RuledOut }, isCause, fail);

        /// <summary>
        /// Validates and compiles the rules of the catalog section <paramref name="section"/>, whose rules may give only
        /// the verdicts in <paramref name="verdicts"/> (or Note).
        /// </summary>
        internal static FactRules<TSubject> Compile(CorroborationFile file, string section, IReadOnlyCollection<Verdict> verdicts, Func<string, bool> isCause, Func<string, Exception> fail)
        {
            if (file.Rules is null)
            {
                throw fail(section + ".rules is missing");
            }

            var rules = new List<Rule>(file.Rules.Count);
            for (int i = 0; i < file.Rules.Count; i++)
            {
                RuleFile r = file.Rules[i] ?? throw fail($"{section} rule {i} is null");
                string where = $"{section} rule {i} ({r.CauseId})";
                if (string.IsNullOrEmpty(r.CauseId) || !isCause(r.CauseId!))
                {
                    throw fail($"{where} names an unknown cause '{r.CauseId}'");
                }

                Verdict? verdict = null;
                if (!string.Equals(r.Verdict, "Note", StringComparison.Ordinal))
                {
                    foreach (Verdict v in verdicts)
                    {
                        if (string.Equals(v.ToString(), r.Verdict, StringComparison.Ordinal))
                        {
                            verdict = v;
                        }
                    }

                    if (verdict is null)
                    {
                        throw fail($"{where} has an unknown verdict '{r.Verdict}' ({string.Join(", ", verdicts)} or Note)");
                    }
                }

                if (r.When is null)
                {
                    throw fail($"{where} has no condition");
                }

                if (string.IsNullOrEmpty(r.Why))
                {
                    throw fail($"{where} has no text");
                }

                if (r.ExplainedBy is not null && (verdict != Verdict.RuledOut || !isCause(r.ExplainedBy) || r.ExplainedBy == r.CauseId))
                {
                    throw fail($"{where}: explainedBy is for a RuledOut rule and names another known cause");
                }

                Func<TSubject, SmtpAuthMethod, bool> holds = CompileCondition(r.When, where + ".when", fail);
                Func<TSubject, string> why = CompileTemplate(r.Why!, where, fail);
                rules.Add(new Rule(r.CauseId!, verdict, holds, why, r.ExplainedBy));
            }

            return new FactRules<TSubject>(file.Reference, rules);
        }

        private static Func<TSubject, SmtpAuthMethod, bool> CompileCondition(ConditionFile c, string where, Func<string, Exception> fail)
        {
            int forms = (c.All is null ? 0 : 1) + (c.Any is null ? 0 : 1) + (c.Not is null ? 0 : 1) + (c.Method is null ? 0 : 1) + (c.Field is null ? 0 : 1);
            int tests = (c.EqualTo.ValueKind == JsonValueKind.Undefined ? 0 : 1) + (c.NotEqualTo.ValueKind == JsonValueKind.Undefined ? 0 : 1) +
                (c.IsEmpty is null ? 0 : 1) + (c.IsNotEmpty is null ? 0 : 1);
            if (forms != 1 || (c.Field is null ? tests != 0 : tests != 1))
            {
                throw fail($"{where}: a condition is exactly one of all, any, not, method, or field with exactly one of equals, notEquals, isEmpty, isNotEmpty");
            }

            if (c.All is not null || c.Any is not null)
            {
                List<ConditionFile?> list = (c.All ?? c.Any)!;
                string name = c.All is not null ? "all" : "any";
                if (list.Count == 0)
                {
                    throw fail($"{where}.{name} is empty");
                }

                Func<TSubject, SmtpAuthMethod, bool>[] parts = list
                    .Select((p, i) => CompileCondition(p ?? throw fail($"{where}.{name}[{i}] is null"), $"{where}.{name}[{i}]", fail))
                    .ToArray();
                if (c.All is not null)
                {
                    return (s, m) =>
                    {
                        foreach (Func<TSubject, SmtpAuthMethod, bool> p in parts)
                        {
                            if (!p(s, m))
                            {
                                return false;
                            }
                        }

                        return true;
                    };
                }

                return (s, m) =>
                {
                    foreach (Func<TSubject, SmtpAuthMethod, bool> p in parts)
                    {
                        if (p(s, m))
                        {
                            return true;
                        }
                    }

                    return false;
                };
            }

            if (c.Not is not null)
            {
                Func<TSubject, SmtpAuthMethod, bool> inner = CompileCondition(c.Not, where + ".not", fail);
                return (s, m) => !inner(s, m);
            }

            if (c.Method is not null)
            {
                SmtpAuthMethod wanted = c.Method switch
                {
                    "Basic" => SmtpAuthMethod.Basic,
                    "OAuth" => SmtpAuthMethod.OAuth,
                    "Unknown" => SmtpAuthMethod.Unknown,
                    _ => throw fail($"{where}: unknown method '{c.Method}' (Basic, OAuth or Unknown)"),
                };
                return (_, m) => m == wanted;
            }

            StateField field = StateField.Find(c.Field!) ?? throw fail($"{where}: '{c.Field}' is not a field of {typeof(TSubject).Name}");
            if (c.IsEmpty is not null || c.IsNotEmpty is not null)
            {
                if (c.IsEmpty == false || c.IsNotEmpty == false)
                {
                    throw fail($"{where}: isEmpty and isNotEmpty take only true (use the other one)");
                }

                if (field.Type != typeof(string))
                {
                    throw fail($"{where}: isEmpty and isNotEmpty apply to string fields, and {field.Name} is {field.Type.Name}");
                }

                Func<TSubject, object?> get = field.Get;
                bool empty = c.IsEmpty == true;
                return (s, _) => string.IsNullOrEmpty((string?)get(s)) == empty;
            }

            bool negate = c.NotEqualTo.ValueKind != JsonValueKind.Undefined;
            Func<object?, bool> equals = Comparer(field, negate ? c.NotEqualTo : c.EqualTo, where, fail);
            Func<TSubject, object?> getter = field.Get;
            return negate ? (s, _) => !equals(getter(s)) : (s, _) => equals(getter(s));
        }

        /// <summary>A test "the field's value equals this JSON value", type-checked against the field now.</summary>
        private static Func<object?, bool> Comparer(StateField field, JsonElement value, string where, Func<string, Exception> fail)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.Null:
                    if (!field.Nullable)
                    {
                        throw fail($"{where}: {field.Name} is never null");
                    }

                    return v => v is null;
                case JsonValueKind.True:
                case JsonValueKind.False:
                    if (field.Type != typeof(bool))
                    {
                        throw fail($"{where}: {field.Name} is {field.Type.Name}, not a bool");
                    }

                    bool b = value.ValueKind == JsonValueKind.True;
                    return v => v is bool x && x == b;
                case JsonValueKind.String:
                    string text = value.GetString()!;
                    if (field.Type == typeof(string))
                    {
                        return v => v is string x && string.Equals(x, text, StringComparison.OrdinalIgnoreCase);
                    }

                    if (field.Type.IsEnum)
                    {
                        if (!Enum.GetNames(field.Type).Contains(text, StringComparer.OrdinalIgnoreCase))
                        {
                            throw fail($"{where}: '{text}' is not a value of {field.Type.Name}");
                        }

                        return v => v is Enum x && string.Equals(x.ToString(), text, StringComparison.OrdinalIgnoreCase);
                    }

                    throw fail($"{where}: {field.Name} is {field.Type.Name}, not a string");
                case JsonValueKind.Number:
                    if (field.Type != typeof(int) || !value.TryGetInt32(out int n))
                    {
                        throw fail($"{where}: {field.Name} is {field.Type.Name}, not an integer");
                    }

                    return v => v is int x && x == n;
                default:
                    throw fail($"{where}: equals and notEquals take true, false, a string, an integer or null");
            }
        }

        /// <summary>Splits "text {Field} text" into literal and field parts once, so filling it is a concatenation.</summary>
        private static Func<TSubject, string> CompileTemplate(string template, string where, Func<string, Exception> fail)
        {
            var literals = new List<string>();
            var fields = new List<StateField>();
            int at = 0;
            foreach (Match m in s_placeholder.Matches(template))
            {
                StateField field = StateField.Find(m.Groups[1].Value) ?? throw fail($"{where}: the text names '{{{m.Groups[1].Value}}}', which is not a field of {typeof(TSubject).Name}");
                literals.Add(template.Substring(at, m.Index - at));
                fields.Add(field);
                at = m.Index + m.Length;
            }

            literals.Add(template.Substring(at));
            if (literals.Any(l => l.IndexOf('{') >= 0 || l.IndexOf('}') >= 0))
            {
                throw fail($"{where}: the text has a brace that is not part of a {{Field}} placeholder");
            }

            if (fields.Count == 0)
            {
                return _ => template;
            }

            string[] text = literals.ToArray();
            StateField[] parts = fields.ToArray();
            return s =>
            {
                var sb = new StringBuilder(text[0]);
                for (int i = 0; i < parts.Length; i++)
                {
                    sb.Append(Format(parts[i].Get(s))).Append(text[i + 1]);
                }

                return sb.ToString();
            };
        }

        private static string Format(object? value) => value switch
        {
            null => string.Empty,
            string s => s,
            DateTime d => d.ToString("u", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };

        /// <summary>A compiled rule.</summary>
        internal sealed class Rule
        {
            private readonly Func<TSubject, SmtpAuthMethod, bool> _holds;
            private readonly Func<TSubject, string> _why;

            internal Rule(string causeId, Verdict? verdict, Func<TSubject, SmtpAuthMethod, bool> holds, Func<TSubject, string> why, string? explainedBy = null)
            {
                CauseId = causeId;
                Verdict = verdict;
                _holds = holds;
                _why = why;
                ExplainedBy = explainedBy;
            }

            /// <summary>For a RuledOut rule: the cause that explains the reply instead, or null.</summary>
            internal string? ExplainedBy { get; }

            /// <summary>The cause it speaks about.</summary>
            internal string CauseId { get; }

            /// <summary>The rule's verdict (one its section allows), or null for a note.</summary>
            internal Verdict? Verdict { get; }

            internal bool Holds(TSubject state, SmtpAuthMethod method) => _holds(state, method);

            internal string Why(TSubject state) => _why(state);
        }

        /// <summary>A property of TSubject with a getter delegate built once (no reflection per call).</summary>
        private sealed class StateField
        {
            private static readonly Dictionary<string, StateField> s_all = typeof(TSubject)
                .GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetIndexParameters().Length == 0 && p.GetGetMethod() is not null)
                .Select(Create)
                .ToDictionary(f => f.Name, StringComparer.Ordinal);

            private StateField(string name, Type type, bool nullable, Func<TSubject, object?> get)
            {
                Name = name;
                Type = type;
                Nullable = nullable;
                Get = get;
            }

            internal string Name { get; }

            /// <summary>The value type (int for int?, bool for bool?).</summary>
            internal Type Type { get; }

            internal bool Nullable { get; }

            internal Func<TSubject, object?> Get { get; }

            /// <summary>The field of that exact (case-sensitive) name, or null.</summary>
            internal static StateField? Find(string name) => s_all.TryGetValue(name, out StateField? f) ? f : null;

            private static StateField Create(PropertyInfo p)
            {
                Type? underlying = System.Nullable.GetUnderlyingType(p.PropertyType);
                MethodInfo make = typeof(StateField).GetMethod(nameof(MakeGetter), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(p.PropertyType);
                var get = (Func<TSubject, object?>)make.Invoke(null, new object[] { p })!;
                return new StateField(p.Name, underlying ?? p.PropertyType, underlying is not null || !p.PropertyType.IsValueType, get);
            }

            private static Func<TSubject, object?> MakeGetter<T>(PropertyInfo p)
            {
                var typed = (Func<TSubject, T>)Delegate.CreateDelegate(typeof(Func<TSubject, T>), p.GetGetMethod()!);
                return s => typed(s);
            }
        }
    }
}
