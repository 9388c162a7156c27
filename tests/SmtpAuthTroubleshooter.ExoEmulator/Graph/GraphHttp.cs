using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.ExoEmulator.Graph;

/// <summary>One HTTP request as the Graph emulator sees it (outer request, or an inner request of a $batch).</summary>
public sealed class GraphRequest
{
    public GraphRequest(string method, string target, IReadOnlyDictionary<string, string> headers, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(target);
        Method = method.ToUpperInvariant();
        Target = target;
        Headers = headers;
        Body = body;
        int q = target.IndexOf('?', StringComparison.Ordinal);
        string rawPath = q < 0 ? target : target[..q];
        RawQuery = q < 0 ? string.Empty : target[(q + 1)..];
        if (rawPath.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || rawPath.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            int slash = rawPath.IndexOf('/', rawPath.IndexOf("//", StringComparison.Ordinal) + 2);
            rawPath = slash < 0 ? "/" : rawPath[slash..];
        }

        Segments = rawPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        Query = ParseQuery(RawQuery);
    }

    public string Method { get; }

    /// <summary>The request target as sent (path and query, still escaped).</summary>
    public string Target { get; }

    public IReadOnlyDictionary<string, string> Headers { get; }

    public byte[] Body { get; }

    /// <summary>Unescaped path segments, e.g. ["v1.0", "users", "a@b.com"].</summary>
    public IReadOnlyList<string> Segments { get; }

    public string RawQuery { get; }

    /// <summary>Unescaped query options; "$select" and "select" are both stored under "$select".</summary>
    public IReadOnlyDictionary<string, string> Query { get; }

    public string? Header(string name) => Headers.TryGetValue(name, out string? value) ? value : null;

    public string? QueryOption(string name) => Query.TryGetValue(name, out string? value) ? value : null;

    private static Dictionary<string, string> ParseQuery(string raw)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string pair in raw.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            string value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (!key.StartsWith('$') && key is "select" or "filter" or "top" or "skiptoken" or "count" or "orderby" or "search" or "expand")
            {
                key = "$" + key;
            }

            result[key] = value;
        }

        return result;
    }
}

/// <summary>A response: status, headers and a JSON body (or raw bytes for fault injection).</summary>
public sealed class GraphResponse
{
    public const string JsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

    public GraphResponse(int status, JsonNode? body, IDictionary<string, string>? headers = null)
    {
        Status = status;
        Body = body;
        Headers = headers is null ? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) : new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase);
        if (body is not null && !Headers.ContainsKey("Content-Type"))
        {
            Headers["Content-Type"] = status is >= 200 and < 300 ? JsonContentType : "application/json";
        }
    }

    public int Status { get; }

    public JsonNode? Body { get; }

    public Dictionary<string, string> Headers { get; }

    /// <summary>When set, sent instead of <see cref="Body"/>: the malformed-JSON fault, or a large page written straight to bytes (sign-ins).</summary>
    public byte[]? RawBody { get; init; }

    /// <summary>The body as a JSON node for a $batch answer: a copy of <see cref="Body"/>, else <see cref="RawBody"/> parsed (null if it is not JSON).</summary>
    public JsonNode? JsonBody()
    {
        if (Body is not null)
        {
            return Body.DeepClone();
        }

        if (RawBody is not { Length: > 0 } raw)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(raw);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The route this response was produced by (statistics), e.g. "GET /v1.0/users/{id}".</summary>
    public string Route { get; init; } = "unmatched";

    public byte[] BodyBytes() => RawBody ?? (Body is null ? [] : JsonSerializer.SerializeToUtf8Bytes(Body, GraphJson.Options));
}

internal static class GraphJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Reason(int status) => status switch
    {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        424 => "Failed Dependency",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status " + status.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>Minimal HTTP/1.1 framing over a stream: request heads, Content-Length or chunked bodies, keep-alive.</summary>
internal sealed class HttpConnection(Stream stream)
{
    private const int MaxHeadBytes = 64 * 1024;
    private const int MaxBodyBytes = 16 * 1024 * 1024;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    /// <summary>Reads the next request, or null when the peer closed the connection between requests.</summary>
    public async Task<GraphRequest?> ReadRequestAsync(CancellationToken cancellationToken)
    {
        string? requestLine = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
        while (requestLine is { Length: 0 })
        {
            requestLine = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }

        if (requestLine is null)
        {
            return null;
        }

        string[] parts = requestLine.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Bad request line '{requestLine}'.");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int headBytes = requestLine.Length;
        while (true)
        {
            string line = await ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? throw new EndOfStreamException();
            if (line.Length == 0)
            {
                break;
            }

            headBytes += line.Length;
            if (headBytes > MaxHeadBytes)
            {
                throw new InvalidDataException("Request head too large.");
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                string name = line[..colon].Trim();
                string value = line[(colon + 1)..].Trim();
                headers[name] = headers.TryGetValue(name, out string? prior) ? prior + ", " + value : value;
            }
        }

        if (parts[2] == "HTTP/1.0" && !headers.ContainsKey("Connection"))
        {
            headers["Connection"] = "close";
        }

        if (headers.TryGetValue("Expect", out string? expect) && expect.Equals("100-continue", StringComparison.OrdinalIgnoreCase))
        {
            await stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        }

        byte[] body;
        if (headers.TryGetValue("Transfer-Encoding", out string? te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = await ReadChunkedAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (headers.TryGetValue("Content-Length", out string? cl) && long.TryParse(cl, NumberStyles.None, CultureInfo.InvariantCulture, out long length) && length > 0)
        {
            if (length > MaxBodyBytes)
            {
                throw new InvalidDataException("Request body too large.");
            }

            body = await ReadExactAsync((int)length, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            body = [];
        }

        return new GraphRequest(parts[0], parts[1], headers, body);
    }

    public async Task WriteResponseAsync(GraphResponse response, bool keepAlive, bool headRequest, CancellationToken cancellationToken)
    {
        byte[] body = response.BodyBytes();
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {GraphJson.Reason(response.Status)}\r\n");
        foreach (var (name, value) in response.Headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        head.Append(CultureInfo.InvariantCulture, $"Date: {DateTime.UtcNow:R}\r\n");
        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n");
        head.Append(keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
        head.Append("\r\n");
        byte[] headBytes = Encoding.ASCII.GetBytes(head.ToString());
        byte[] all = new byte[headBytes.Length + (headRequest ? 0 : body.Length)];
        headBytes.CopyTo(all, 0);
        if (!headRequest)
        {
            body.CopyTo(all, headBytes.Length);
        }

        await stream.WriteAsync(all, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            throw new InvalidDataException("Line too long.");
        }

        int n = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        _end += n;
        return n > 0;
    }

    private async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                int len = lf - _start;
                if (len > 0 && _buffer[lf - 1] == '\r')
                {
                    len--;
                }

                string line = Encoding.Latin1.GetString(_buffer, _start, len);
                _start = lf + 1;
                return line;
            }

            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                return _end > _start ? throw new EndOfStreamException() : null;
            }
        }
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellationToken)
    {
        byte[] result = new byte[count];
        int copied = 0;
        while (copied < count)
        {
            if (_end == _start && !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException();
            }

            int take = Math.Min(count - copied, _end - _start);
            Buffer.BlockCopy(_buffer, _start, result, copied, take);
            _start += take;
            copied += take;
        }

        return result;
    }

    private async Task<byte[]> ReadChunkedAsync(CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        while (true)
        {
            string sizeLine = await ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? throw new EndOfStreamException();
            int semi = sizeLine.IndexOf(';', StringComparison.Ordinal);
            int size = int.Parse(semi < 0 ? sizeLine.Trim() : sizeLine[..semi].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                while (await ReadLineAsync(cancellationToken).ConfigureAwait(false) is { Length: > 0 })
                {
                }

                return body.ToArray();
            }

            if (body.Length + size > MaxBodyBytes)
            {
                throw new InvalidDataException("Request body too large.");
            }

            body.Write(await ReadExactAsync(size, cancellationToken).ConfigureAwait(false));
            _ = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
