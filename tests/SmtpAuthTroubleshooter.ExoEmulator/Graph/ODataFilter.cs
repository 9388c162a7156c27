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
/// A small OData $filter subset, evaluated against the JSON of each entity: <c>eq ne gt ge lt le</c>,
/// <c>and or not</c>, parentheses, <c>in (...)</c>, <c>startswith(p,'x')</c>, <c>endswith(p,'x')</c>;
/// literals 'text' (with '' escapes), numbers, true/false/null, GUIDs and ISO date-times (unquoted).
/// Property paths use '/' (<c>status/errorCode</c>). String comparison is case-insensitive, as in Entra.
/// </summary>
public sealed class ODataFilter
{
    private readonly Func<JsonObject, bool> _predicate;

    private ODataFilter(Func<JsonObject, bool> predicate, IReadOnlyList<string> properties)
    {
        _predicate = predicate;
        Properties = properties;
    }

    /// <summary>The property paths the filter reads (first segment), for validation.</summary>
    public IReadOnlyList<string> Properties { get; }

    public bool Matches(JsonObject entity) => _predicate(entity);

    /// <summary>Parses <paramref name="text"/>; every property must be one of <paramref name="knownProperties"/> (first path segment; null = any).</summary>
    /// <exception cref="ODataFilterException">Syntax error or unknown property.</exception>
    public static ODataFilter Parse(string text, IReadOnlyCollection<string>? knownProperties, string entityType)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(Tokenize(text));
        var predicate = parser.ParseOr();
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

        return new ODataFilter(predicate, parser.Properties);
    }

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
        private int _position;

        public List<string> Properties { get; } = [];

        public Token Current => tokens[_position];

        public bool AtEnd => Current.Kind == Kind.End;

        public Func<JsonObject, bool> ParseOr()
        {
            var left = ParseAnd();
            while (IsWord("or"))
            {
                _position++;
                var l = left;
                var r = ParseAnd();
                left = e => l(e) || r(e);
            }

            return left;
        }

        private Func<JsonObject, bool> ParseAnd()
        {
            var left = ParseUnary();
            while (IsWord("and"))
            {
                _position++;
                var l = left;
                var r = ParseUnary();
                left = e => l(e) && r(e);
            }

            return left;
        }

        private Func<JsonObject, bool> ParseUnary()
        {
            if (IsWord("not"))
            {
                _position++;
                var inner = ParseUnary();
                return e => !inner(e);
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
                return e => Resolve(e, path) is string s && function switch
                {
                    "startswith" => s.StartsWith(needle, StringComparison.OrdinalIgnoreCase),
                    "endswith" => s.EndsWith(needle, StringComparison.OrdinalIgnoreCase),
                    _ => s.Contains(needle, StringComparison.OrdinalIgnoreCase),
                };
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
                return e => values.Any(v => Compare(Resolve(e, property), v) == 0);
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
            object? value = ParseLiteral();
            return e =>
            {
                int? c = Compare(Resolve(e, property), value);
                return op switch
                {
                    "eq" => c == 0,
                    "ne" => c != 0,
                    "gt" => c > 0,
                    "ge" => c >= 0,
                    "lt" => c < 0,
                    _ => c <= 0,
                };
            };
        }

        private string ParsePath()
        {
            if (Current.Kind != Kind.Word || !char.IsLetter(Current.Text[0]))
            {
                throw new ODataFilterException($"Invalid filter clause: expected a property name, found '{Current.Text}'.");
            }

            string path = Current.Text;
            _position++;
            Properties.Add(path);
            return path;
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

    private static object? Resolve(JsonObject entity, string path)
    {
        JsonNode? node = entity;
        foreach (string segment in path.Split('/'))
        {
            if (node is not JsonObject obj)
            {
                return null;
            }

            node = obj.FirstOrDefault(p => p.Key.Equals(segment, StringComparison.OrdinalIgnoreCase)).Value;
        }

        return node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture),
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            _ => node.ToJsonString(),
        };
    }

    /// <summary>Compares an entity value with a literal; null when they cannot be ordered.</summary>
    private static int? Compare(object? actual, object? literal) => (actual, literal) switch
    {
        (null, null) => 0,
        (null, _) or (_, null) => null,
        (string s, DateTimeOffset d) => DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var a) ? a.CompareTo(d) : null,
        (string s, string l) => string.Compare(s, l, StringComparison.OrdinalIgnoreCase),
        (double a, double l) => a.CompareTo(l),
        (bool a, bool l) => a == l ? 0 : null,
        _ => null,
    };
}
