using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmtpAuthTroubleshooter.ExoEmulator.Graph;

/// <summary>The OData $filter was not understood or names an unknown property.</summary>
public sealed class ODataFilterException(string message) : Exception(message)
{
    public ODataFilterException() : this("Invalid filter clause") { }

    public ODataFilterException(string message, Exception innerException) : this(message + " " + innerException?.Message) { }
}

/// <summary>
/// A small OData $filter subset: <c>eq ne gt ge lt le</c>, <c>and or not</c>, parentheses, <c>in (...)</c>,
/// <c>startswith(p,'x')</c>, <c>endswith(p,'x')</c>, <c>contains(p,'x')</c>, and the lambda operators
/// <c>p/any(t: t eq 'x' or t eq 'y')</c> / <c>p/all(...)</c> over collections; literals 'text' (with '' escapes),
/// numbers, true/false/null, GUIDs and ISO date-times (unquoted). Property paths use '/' (<c>status/errorCode</c>).
/// String comparison is case-insensitive, as in Entra. The filter is kept as a tree, so callers can evaluate it
/// against JSON (<see cref="Matches(JsonObject)"/>) or any row through a path resolver
/// (<see cref="Matches(Func{string, object})"/>), and can read bounds and equality sets from its top-level
/// <c>and</c> terms to narrow a scan (<see cref="LowerBound"/>, <see cref="UpperBound"/>, <see cref="EqualityValues"/>).
/// </summary>
public sealed class ODataFilter
{
    private readonly Node _root;

    private ODataFilter(Node root, IReadOnlyList<string> properties, IReadOnlyList<(string Path, string Operator)> operators)
    {
        _root = root;
        Properties = properties;
        Operators = operators;
    }

    /// <summary>The property paths the filter reads (lambda variables excluded), for validation.</summary>
    public IReadOnlyList<string> Properties { get; }

    /// <summary>
    /// Each operator applied to a property, for an API that supports only some operators per property: (path, eq|ne|gt|ge|lt|le|in|
    /// startswith|endswith|contains|any|all). A comparison on a lambda variable counts against the lambda's collection
    /// (<c>signInEventTypes/any(t: t eq 'x')</c> gives (signInEventTypes, any) and (signInEventTypes, eq)).
    /// </summary>
    public IReadOnlyList<(string Path, string Operator)> Operators { get; }

    public bool Matches(JsonObject entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return _root.Eval(path => ResolveJson(entity, path));
    }

    /// <summary>
    /// Evaluates against a row whose values come from <paramref name="resolve"/>: for a path it returns null, a
    /// string, a double, a bool, a <see cref="DateTimeOffset"/>, or an <see cref="IReadOnlyList{T}"/> of those for a collection.
    /// </summary>
    public bool Matches(Func<string, object?> resolve)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        return _root.Eval(resolve);
    }

    /// <summary>Whether the filter reads <paramref name="property"/> (first path segment, case-insensitive) anywhere.</summary>
    public bool Reads(string property) => Properties.Any(p => p.Split('/')[0].Equals(property, StringComparison.OrdinalIgnoreCase));

    /// <summary>The latest <c>property ge|gt &lt;date&gt;</c> among the top-level <c>and</c> terms, or null.</summary>
    public DateTimeOffset? LowerBound(string property) =>
        Conjuncts(_root).OfType<CompareNode>()
            .Where(c => c.Path.Equals(property, StringComparison.OrdinalIgnoreCase) && (c.Op is "ge" or "gt") && c.Literal is DateTimeOffset)
            .Select(c => (DateTimeOffset?)(DateTimeOffset)c.Literal!).Max();

    /// <summary>The earliest <c>property le|lt &lt;date&gt;</c> among the top-level <c>and</c> terms, or null.</summary>
    public DateTimeOffset? UpperBound(string property) =>
        Conjuncts(_root).OfType<CompareNode>()
            .Where(c => c.Path.Equals(property, StringComparison.OrdinalIgnoreCase) && (c.Op is "le" or "lt") && c.Literal is DateTimeOffset)
            .Select(c => (DateTimeOffset?)(DateTimeOffset)c.Literal!).Min();

    /// <summary>
    /// When a top-level <c>and</c> term confines <paramref name="property"/> to string literals
    /// (<c>p eq 'a'</c>, <c>(p eq 'a' or p eq 'b')</c>, <c>p in ('a','b')</c>), those literals; else null.
    /// </summary>
    public IReadOnlyList<string>? EqualityValues(string property)
    {
        foreach (var term in Conjuncts(_root))
        {
            var values = new List<string>();
            if (CollectEquality(term, property, values))
            {
                return values;
            }
        }

        return null;
    }

    /// <summary>Parses <paramref name="text"/>; every property must be one of <paramref name="knownProperties"/> (first path segment; null = any).</summary>
    /// <exception cref="ODataFilterException">Syntax error or unknown property.</exception>
    public static ODataFilter Parse(string text, IReadOnlyCollection<string>? knownProperties, string entityType)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(Tokenize(text));
        var root = parser.ParseOr();
        if (!parser.AtEnd)
        {
            throw new ODataFilterException($"Invalid filter clause: syntax error at '{parser.Current.Text}'.");
        }

        foreach (string property in parser.Properties)
        {
            string head = property.Split('/')[0];
            if (knownProperties is not null && !knownProperties.Contains(head, StringComparer.OrdinalIgnoreCase))
            {
                throw new ODataFilterException($"Invalid filter clause: Could not find a property named '{head}' on type '{entityType}'.");
            }
        }

        return new ODataFilter(root, parser.Properties, parser.Operators);
    }

    private static IEnumerable<Node> Conjuncts(Node node)
    {
        if (node is AndNode and)
        {
            foreach (var n in Conjuncts(and.Left).Concat(Conjuncts(and.Right)))
            {
                yield return n;
            }
        }
        else
        {
            yield return node;
        }
    }

    private static bool CollectEquality(Node node, string property, List<string> values)
    {
        switch (node)
        {
            case CompareNode { Op: "eq", Literal: string s } c when c.Path.Equals(property, StringComparison.OrdinalIgnoreCase):
                values.Add(s);
                return true;
            case InNode i when i.Path.Equals(property, StringComparison.OrdinalIgnoreCase) && i.Values.All(v => v is string):
                values.AddRange(i.Values.Cast<string>());
                return true;
            case OrNode o:
                return CollectEquality(o.Left, property, values) && CollectEquality(o.Right, property, values);
            default:
                return false;
        }
    }

    // ---------------------------------------------------------------- the tree

    private abstract record Node
    {
        public abstract bool Eval(Func<string, object?> resolve);
    }

    private sealed record AndNode(Node Left, Node Right) : Node
    {
        public override bool Eval(Func<string, object?> resolve) => Left.Eval(resolve) && Right.Eval(resolve);
    }

    private sealed record OrNode(Node Left, Node Right) : Node
    {
        public override bool Eval(Func<string, object?> resolve) => Left.Eval(resolve) || Right.Eval(resolve);
    }

    private sealed record NotNode(Node Inner) : Node
    {
        public override bool Eval(Func<string, object?> resolve) => !Inner.Eval(resolve);
    }

    private sealed record CompareNode(string Path, string Op, object? Literal) : Node
    {
        public override bool Eval(Func<string, object?> resolve)
        {
            int? c = Compare(resolve(Path), Literal);
            return Op switch
            {
                "eq" => c == 0,
                "ne" => c != 0,
                "gt" => c > 0,
                "ge" => c >= 0,
                "lt" => c < 0,
                _ => c <= 0,
            };
        }
    }

    private sealed record InNode(string Path, IReadOnlyList<object?> Values) : Node
    {
        public override bool Eval(Func<string, object?> resolve)
        {
            object? actual = resolve(Path);
            return Values.Any(v => Compare(actual, v) == 0);
        }
    }

    private sealed record FunctionNode(string Function, string Path, string Needle) : Node
    {
        public override bool Eval(Func<string, object?> resolve) => resolve(Path) is string s && Function switch
        {
            "startswith" => s.StartsWith(Needle, StringComparison.OrdinalIgnoreCase),
            "endswith" => s.EndsWith(Needle, StringComparison.OrdinalIgnoreCase),
            _ => s.Contains(Needle, StringComparison.OrdinalIgnoreCase),
        };
    }

    /// <summary><c>path/any(v: body)</c> or <c>path/all(v: body)</c>; inside the body, <c>v</c> (and <c>v/x</c>) is the element.</summary>
    private sealed record LambdaNode(string Path, bool All, string Variable, Node Body) : Node
    {
        public override bool Eval(Func<string, object?> resolve)
        {
            if (resolve(Path) is not IReadOnlyList<object?> items)
            {
                return false;
            }

            bool Test(object? element) => Body.Eval(p =>
                p.Equals(Variable, StringComparison.Ordinal) ? element
                : p.StartsWith(Variable + "/", StringComparison.Ordinal) ? (element is JsonObject o ? ResolveJson(o, p[(Variable.Length + 1)..]) : null)
                : resolve(p));
            return All ? items.All(Test) : items.Any(Test);
        }
    }

    // ---------------------------------------------------------------- tokens and parser

    private enum Kind
    {
        Word,
        String,
        Open,
        Close,
        Comma,
        End,
    }

    private readonly record struct Token(Kind Kind, string Text);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '(')
            {
                tokens.Add(new Token(Kind.Open, "("));
                i++;
            }
            else if (c == ')')
            {
                tokens.Add(new Token(Kind.Close, ")"));
                i++;
            }
            else if (c == ',')
            {
                tokens.Add(new Token(Kind.Comma, ","));
                i++;
            }
            else if (c == '\'')
            {
                var sb = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw new ODataFilterException("Invalid filter clause: unterminated string literal.");
                    }

                    if (text[i] == '\'')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '\'')
                        {
                            sb.Append('\'');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    sb.Append(text[i++]);
                }

                tokens.Add(new Token(Kind.String, sb.ToString()));
            }
            else
            {
                int start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not '(' and not ')' and not ',' and not '\'')
                {
                    i++;
                }

                tokens.Add(new Token(Kind.Word, text[start..i]));
            }
        }

        tokens.Add(new Token(Kind.End, string.Empty));
        return tokens;
    }

    private sealed class Parser(List<Token> tokens)
    {
        private readonly List<string> _variables = [];
        private readonly List<string> _lambdaPaths = [];

        public List<(string Path, string Operator)> Operators { get; } = [];

        // The property an operator applies to: a lambda variable stands for its collection.
        private void Use(string path, string op)
        {
            string head = path.Split('/')[0];
            int i = _variables.LastIndexOf(head);
            Operators.Add((i >= 0 ? _lambdaPaths[i] : path, op));
        }
        private int _position;

        public List<string> Properties { get; } = [];

        public Token Current => tokens[_position];

        public bool AtEnd => Current.Kind == Kind.End;

        public Node ParseOr()
        {
            var left = ParseAnd();
            while (IsWord("or"))
            {
                _position++;
                left = new OrNode(left, ParseAnd());
            }

            return left;
        }

        private Node ParseAnd()
        {
            var left = ParseUnary();
            while (IsWord("and"))
            {
                _position++;
                left = new AndNode(left, ParseUnary());
            }

            return left;
        }

        private Node ParseUnary()
        {
            if (IsWord("not"))
            {
                _position++;
                return new NotNode(ParseUnary());
            }

            if (Current.Kind == Kind.Open)
            {
                _position++;
                var inner = ParseOr();
                Expect(Kind.Close);
                return inner;
            }

            if (Current.Kind == Kind.Word && tokens[_position + 1].Kind == Kind.Open
                && (IsWord("startswith") || IsWord("endswith") || IsWord("contains")))
            {
                string function = Current.Text.ToLowerInvariant();
                _position += 2;
                string path = ParsePath();
                Expect(Kind.Comma);
                var literal = ParseLiteral();
                Expect(Kind.Close);
                string needle = literal as string ?? throw new ODataFilterException($"Invalid filter clause: {function} needs a string.");
                Use(path, function);
                return new FunctionNode(function, path, needle);
            }

            if (Current.Kind == Kind.Word && tokens[_position + 1].Kind == Kind.Open
                && (Current.Text.EndsWith("/any", StringComparison.OrdinalIgnoreCase) || Current.Text.EndsWith("/all", StringComparison.OrdinalIgnoreCase)))
            {
                return ParseLambda();
            }

            string property = ParsePath();
            if (IsWord("in"))
            {
                _position++;
                Expect(Kind.Open);
                var values = new List<object?> { ParseLiteral() };
                while (Current.Kind == Kind.Comma)
                {
                    _position++;
                    values.Add(ParseLiteral());
                }

                Expect(Kind.Close);
                Use(property, "in");
                return new InNode(property, values);
            }

            if (Current.Kind != Kind.Word)
            {
                throw new ODataFilterException($"Invalid filter clause: expected an operator after '{property}'.");
            }

            string op = Current.Text.ToLowerInvariant();
            if (op is not ("eq" or "ne" or "gt" or "ge" or "lt" or "le"))
            {
                throw new ODataFilterException($"Invalid filter clause: unsupported operator '{Current.Text}'.");
            }

            _position++;
            Use(property, op);
            return new CompareNode(property, op, ParseLiteral());
        }

        /// <summary><c>path/any(v: body)</c>; the variable may be glued to the colon and to the body's first word (<c>t:t</c>).</summary>
        private LambdaNode ParseLambda()
        {
            string word = Current.Text;
            bool all = word.EndsWith("/all", StringComparison.OrdinalIgnoreCase);
            string path = word[..^4];
            if (path.Length == 0 || !char.IsLetter(path[0]))
            {
                throw new ODataFilterException($"Invalid filter clause: expected a collection property before '{word}'.");
            }

            AddProperty(path);
            _position += 2;
            if (Current.Kind != Kind.Word)
            {
                throw new ODataFilterException($"Invalid filter clause: the {(all ? "all" : "any")} operator needs a range variable ('{path}/{(all ? "all" : "any")}(t: t eq ...)').");
            }

            string variable;
            string head = Current.Text;
            int colon = head.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                variable = head[..colon];
                string rest = head[(colon + 1)..];
                if (rest.Length > 0)
                {
                    tokens[_position] = new Token(Kind.Word, rest);
                }
                else
                {
                    _position++;
                }
            }
            else
            {
                _position++;
                if (Current.Kind != Kind.Word || !Current.Text.StartsWith(':'))
                {
                    throw new ODataFilterException($"Invalid filter clause: expected ':' after the range variable '{head}'.");
                }

                variable = head;
                string rest = Current.Text[1..];
                if (rest.Length > 0)
                {
                    tokens[_position] = new Token(Kind.Word, rest);
                }
                else
                {
                    _position++;
                }
            }

            if (variable.Length == 0 || !variable.All(char.IsLetterOrDigit))
            {
                throw new ODataFilterException($"Invalid filter clause: '{variable}' is not a range variable name.");
            }

            Use(path, all ? "all" : "any");
            _variables.Add(variable);
            _lambdaPaths.Add(path);
            var body = ParseOr();
            _variables.RemoveAt(_variables.Count - 1);
            _lambdaPaths.RemoveAt(_lambdaPaths.Count - 1);
            Expect(Kind.Close);
            return new LambdaNode(path, all, variable, body);
        }

        private string ParsePath()
        {
            if (Current.Kind != Kind.Word || !char.IsLetter(Current.Text[0]))
            {
                throw new ODataFilterException($"Invalid filter clause: expected a property name, found '{Current.Text}'.");
            }

            string path = Current.Text;
            _position++;
            AddProperty(path);
            return path;
        }

        private void AddProperty(string path)
        {
            string head = path.Split('/')[0];
            if (!_variables.Contains(head, StringComparer.Ordinal))
            {
                Properties.Add(path);
            }
        }

        private object? ParseLiteral()
        {
            var token = Current;
            _position++;
            if (token.Kind == Kind.String)
            {
                return token.Text;
            }

            if (token.Kind != Kind.Word)
            {
                throw new ODataFilterException($"Invalid filter clause: expected a value, found '{token.Text}'.");
            }

            string word = token.Text;
            if (word.Equals("null", StringComparison.Ordinal))
            {
                return null;
            }

            if (word is "true" or "false")
            {
                return word == "true";
            }

            if (word.Contains('T', StringComparison.Ordinal) && DateTimeOffset.TryParse(word, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
            {
                return when;
            }

            if (Guid.TryParse(word, out _))
            {
                return word;
            }

            if (double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out double number))
            {
                return number;
            }

            throw new ODataFilterException($"Invalid filter clause: '{word}' is not a literal.");
        }

        private void Expect(Kind kind)
        {
            if (Current.Kind != kind)
            {
                throw new ODataFilterException($"Invalid filter clause: syntax error at '{Current.Text}'.");
            }

            _position++;
        }

        private bool IsWord(string word) => Current.Kind == Kind.Word && Current.Text.Equals(word, StringComparison.OrdinalIgnoreCase);
    }

    // ---------------------------------------------------------------- values

    /// <summary>A JSON property by path, as a filter value (collections as lists).</summary>
    public static object? ResolveJson(JsonObject entity, string path)
    {
        ArgumentNullException.ThrowIfNull(entity);
        ArgumentNullException.ThrowIfNull(path);
        JsonNode? node = entity;
        foreach (string segment in path.Split('/'))
        {
            if (node is not JsonObject obj)
            {
                return null;
            }

            node = obj.FirstOrDefault(p => p.Key.Equals(segment, StringComparison.OrdinalIgnoreCase)).Value;
        }

        return FromJson(node);
    }

    private static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        JsonArray a => a.Select(e => e is JsonObject o ? o : FromJson(e)).ToList(),
        _ => node.ToJsonString(),
    };

    /// <summary>Compares an entity value with a literal; null when they cannot be ordered.</summary>
    private static int? Compare(object? actual, object? literal) => (actual, literal) switch
    {
        (null, null) => 0,
        (null, _) or (_, null) => null,
        (DateTimeOffset a, DateTimeOffset d) => a.CompareTo(d),
        (DateTimeOffset a, string l) => DateTimeOffset.TryParse(l, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? a.CompareTo(d) : null,
        (string s, DateTimeOffset d) => DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var a) ? a.CompareTo(d) : null,
        (string s, string l) => string.Compare(s, l, StringComparison.OrdinalIgnoreCase),
        (double a, double l) => a.CompareTo(l),
        (bool a, bool l) => a == l ? 0 : null,
        _ => null,
    };
}
