using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter
{
    /// <summary>A raw Microsoft Graph response: status, the headers that matter, and the JSON body.</summary>
    public sealed class GraphHttpResponse
    {
        /// <summary>Creates a response.</summary>
        public GraphHttpResponse(int statusCode, string? body, TimeSpan? retryAfter)
        {
            StatusCode = statusCode;
            Body = body;
            RetryAfter = retryAfter;
        }

        /// <summary>HTTP status code (0 when no response came).</summary>
        public int StatusCode { get; }

        /// <summary>The JSON body.</summary>
        public string? Body { get; }

        /// <summary>The Retry-After header, if any.</summary>
        public TimeSpan? RetryAfter { get; }
    }

    /// <summary>
    /// Sends one Graph request. Two implementations: the engine's HTTP transport on the Microsoft Graph SDK's client
    /// pipeline (a token from -GraphAccessToken, a managed identity or a certificate), and the cmdlets' transport
    /// through the caller's own Invoke-MgGraphRequest (an existing Connect-MgGraph session). Lives here, in the
    /// dependency-free Models assembly, so that both layers can see it (STYLE rules 2, 3, 38).
    /// </summary>
    public interface IGraphTransport
    {
        /// <summary>A name for the verbose stream ("the Connect-MgGraph session", ...).</summary>
        string Description { get; }

        /// <summary>Sends a request. <paramref name="url"/> is relative to the Graph endpoint ("v1.0/users/x") or absolute (a nextLink).</summary>
        Task<GraphHttpResponse> SendAsync(string method, string url, string? jsonBody, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken);
    }
}
