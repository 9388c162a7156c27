using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter;
using SmtpAuthTroubleshooter.Engine.Policy;

// One measurement in a fresh process: the first tenant read (security defaults + Conditional Access policies) from a
// Graph endpoint, and then the same read again, by one of three ways:
//   http - a plain HttpClient (the floor: no Graph library at all);
//   raw  - the engine's GraphConnection (the Graph SDK's handler pipeline from Microsoft.Graph.Core and Kiota) with
//          GraphReader's raw JSON reads: what the reader did before it moved to the SDK's client;
//   sdk  - the same connection with GraphPolicyReader: GraphServiceClient request builders, typed models, PageIterator
//          (Microsoft.Graph.dll, 44 MB, loaded and JIT-compiled on this first call).
// Prints "<mode> <first ms> <second ms> <assemblies loaded> <Microsoft.Graph.dll loaded>".
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length != 2 || !Uri.TryCreate(args[1], UriKind.Absolute, out Uri? baseUri))
        {
            Console.Error.WriteLine("usage: GraphSdkFirstCall http|raw|sdk <graph base uri>");
            return 2;
        }

        string mode = args[0];
        var first = Stopwatch.StartNew();
        Func<Task> read = mode switch
        {
            "http" => Http(baseUri),
            "raw" => Raw(baseUri),
            "sdk" => Sdk(baseUri),
            _ => throw new ArgumentException("mode must be http, raw or sdk", nameof(args)),
        };
        await read().ConfigureAwait(false);
        first.Stop();
        var second = Stopwatch.StartNew();
        await read().ConfigureAwait(false);
        second.Stop();
        bool graphLoaded = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "Microsoft.Graph");
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0} {1:F1} {2:F1} {3} {4}", mode, first.Elapsed.TotalMilliseconds, second.Elapsed.TotalMilliseconds, AppDomain.CurrentDomain.GetAssemblies().Length, graphLoaded));
        return 0;
    }

    private static Func<Task> Http(Uri baseUri)
    {
        var client = new HttpClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "benchmark");
        return async () =>
        {
            _ = await client.GetStringAsync(new Uri(baseUri, "v1.0/policies/identitySecurityDefaultsEnforcementPolicy")).ConfigureAwait(false);
            _ = await client.GetStringAsync(new Uri(baseUri, "v1.0/identity/conditionalAccess/policies")).ConfigureAwait(false);
        };
    }

    private static Func<Task> Raw(Uri baseUri)
    {
        var sink = new NullSink();
        var reader = new GraphReader(GraphConnection.WithToken(baseUri, Token(), new GraphConnectionOptions(), sink), sink);
        return async () =>
        {
            Check(await reader.GetAsync("v1.0/policies/identitySecurityDefaultsEnforcementPolicy", CancellationToken.None).ConfigureAwait(false));
            (_, GraphResult? failure) = await reader.GetAllAsync("v1.0/identity/conditionalAccess/policies", CancellationToken.None).ConfigureAwait(false);
            if (failure is not null)
            {
                Check(failure);
            }
        };
    }

    private static Func<Task> Sdk(Uri baseUri)
    {
        var sink = new NullSink();
        var reader = new GraphPolicyReader(new GraphReader(GraphConnection.WithToken(baseUri, Token(), new GraphConnectionOptions(), sink), sink), new GraphReadOptions(), sink);
        return async () =>
        {
            var tenant = new TenantPolicyData();
            await reader.ReadTenantAsync(tenant, CancellationToken.None).ConfigureAwait(false);
            if (tenant.UnknownReasons.Count > 0 || tenant.ConditionalAccessPolicies is null)
            {
                throw new InvalidOperationException(string.Join("; ", tenant.UnknownReasons));
            }
        };
    }

    private static void Check(GraphResult result)
    {
        if (!result.Ok)
        {
            throw new InvalidOperationException(result.Status + " " + result.ErrorMessage);
        }
    }

    private static SecureString Token()
    {
        var token = new SecureString();
        foreach (char c in "benchmark")
        {
            token.AppendChar(c);
        }

        return token;
    }

    private sealed class NullSink : IDiagnosticSink
    {
        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
        }

        public void Debug(string message)
        {
        }

        public void Progress(string activity, string status, int percentComplete)
        {
        }

        public void Progress(string activity, string status, int percentComplete, int secondsRemaining)
        {
        }
    }
}
