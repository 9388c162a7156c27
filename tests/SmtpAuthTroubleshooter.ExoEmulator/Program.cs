using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>
/// Console host. <c>smtp</c> runs the emulator until stdin closes, Ctrl+C or SIGTERM; <c>token</c> mints a token.
/// Both read the signing key from --key (created if missing; default <see cref="SigningKeys.DefaultPath"/>).
/// </summary>
internal static class Program
{
    private const string Usage = """
        Usage:
          SmtpAuthTroubleshooter.ExoEmulator smtp --scenario <file> [--port N] [--address 127.0.0.1]
              [--tls starttls|implicit|none] [--cert-out <file.pem|.cer|.pfx>] [--key <file>]
              [--reply-delay-ms N] [--max-concurrent N] [--read-timeout-s N] [--legacy-endpoint]
              [--basic-order exchange-first|credentials-first] [--log] [--ignore-stdin]
              [--misbehave no-banner|close-mid-ehlo|endless-multiline|huge-reply|bad-codes|starttls-plaintext|
                           tls-stall|downgrade|auth-loop|drip]
            Prints "LISTENING <address>:<port>" on stdout, then runs until stdin closes, Ctrl+C or SIGTERM.
          SmtpAuthTroubleshooter.ExoEmulator token --scenario <file> --app <appId> [--user <upn>]
              [--aud <audience>] [--roles r1,r2] [--scp "SMTP.Send ..."] [--tid <guid>] [--oid <guid>]
              [--exp-minutes N] [--signature valid|tampered|wrongkey|unsigned] [--key <file>]
              [--key-out <public key pem>] [--sasl <user>]
            Prints an access token (or, with --sasl, the base64 XOAUTH2 initial response) on stdout.
            Without --user: app-only (roles from the app). With --user: delegated (scp SMTP.Send).
          SmtpAuthTroubleshooter.ExoEmulator graph --scenario <file> [--port N] [--address 127.0.0.1]
              [--delay-ms N] [--page-size N] [--throttle-every N] [--throttle-first N] [--throttle-path <text>]
              [--retry-after S | --no-retry-after]
              [--throttle-status 429|503] [--next-link-fault badtoken|loop|unreachable]
              [--malformed-at N] [--malformed-path <text>] [--hang-at N] [--hang-path <text>] [--kill-at N]
              [--batch-reverse] [--no-auth] [--log] [--ignore-stdin]
            Microsoft Graph on plain HTTP. Prints "LISTENING http://<address>:<port>/" on stdout, then runs until
            stdin closes, Ctrl+C or SIGTERM. Control: GET /_emulator/stats, POST /_emulator/reset, GET|POST /_emulator/faults.
            A managed identity endpoint (App Service protocol) at /msi/token, for IDENTITY_ENDPOINT.
          SmtpAuthTroubleshooter.ExoEmulator scenario --count N --out <file> [--seed S] [--signin-days D [--signins-per-day R]]
            Writes a valid scenario with N mailboxes (varied SMTP AUTH settings, auth policies, a CA legacy block
            with group exclusions, sign-ins). --signin-days: every mailbox also gets SMTP AUTH clients active over
            D days (1-90), about R (default 1) Authenticated SMTP sign-ins per mailbox per day.
        """;

    private static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            var options = CommandLine.Parse(args.Skip(1));
            return args[0] switch
            {
                "smtp" => await RunSmtpAsync(options).ConfigureAwait(false),
                "token" => MintToken(options),
                "graph" => await RunGraphAsync(options).ConfigureAwait(false),
                "scenario" => WriteScenario(options),
                _ => throw new UsageException($"Unknown verb '{args[0]}'."),
            };
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}{Environment.NewLine}{Usage}").ConfigureAwait(false);
            return 2;
        }
        catch (Exception ex) when (ex is ScenarioException or IOException or UnauthorizedAccessException or ArgumentException or System.Security.Cryptography.CryptographicException or System.Net.Sockets.SocketException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> RunSmtpAsync(CommandLine cl)
    {
        cl.AllowOnly("scenario", "port", "address", "tls", "cert-out", "key", "reply-delay-ms", "max-concurrent", "read-timeout-s", "legacy-endpoint", "basic-order", "log", "ignore-stdin", "simulate-tls", "misbehave");
        string scenarioPath = cl.Required("scenario");
        var defaults = new EmulatorOptions();
        var options = new EmulatorOptions
        {
            Address = cl.Get("address") is { } a ? IPAddress.Parse(a) : IPAddress.Loopback,
            Port = cl.GetInt("port") ?? 0,
            TlsMode = (cl.Get("tls") ?? "starttls").ToLowerInvariant() switch
            {
                "starttls" => TlsMode.StartTls,
                "implicit" => TlsMode.Implicit,
                "none" => TlsMode.None,
                var other => throw new UsageException($"--tls must be starttls, implicit or none, not '{other}'."),
            },
            ReplyDelay = TimeSpan.FromMilliseconds(cl.GetInt("reply-delay-ms") ?? 0),
            MaxConcurrentPerMailbox = cl.GetInt("max-concurrent") ?? defaults.MaxConcurrentPerMailbox,
            ReadTimeout = cl.GetInt("read-timeout-s") is { } s ? TimeSpan.FromSeconds(s) : defaults.ReadTimeout,
            LegacyTlsEndpoint = cl.Flag("legacy-endpoint"),
            // Debian's OpenSSL refuses real TLS 1.0/1.1 handshakes; this reports the session as TLS 1.1 so the
            // 421 4.7.66 path can be tested end to end (README, "TLS").
            SimulatedTlsProtocol = (cl.Get("simulate-tls") ?? string.Empty).ToLowerInvariant() switch
            {
                "" => null,
#pragma warning disable SYSLIB0039, CA5397 // the point is to pretend an obsolete protocol was negotiated
                "tls10" => System.Security.Authentication.SslProtocols.Tls,
                "tls11" => System.Security.Authentication.SslProtocols.Tls11,
#pragma warning restore SYSLIB0039, CA5397
                var other => throw new UsageException($"--simulate-tls must be tls10 or tls11, not '{other}'."),
            },
            BasicAuthCheckOrder = (cl.Get("basic-order") ?? "exchange-first").ToLowerInvariant() switch
            {
                "exchange-first" => BasicAuthCheckOrders.ExchangeFirst,
                "credentials-first" => BasicAuthCheckOrders.CredentialsFirst,
                var other => throw new UsageException($"--basic-order must be exchange-first or credentials-first, not '{other}'."),
            },
            ProtocolLogSink = cl.Flag("log") ? entry => Console.Error.WriteLine(entry.ToString()) : null,
            Misbehaviour = ParseMisbehaviour(cl.Get("misbehave")),
        };
        var scenario = TenantScenario.Load(scenarioPath);
        using var key = SigningKeys.LoadOrCreate(cl.Get("key") ?? SigningKeys.DefaultPath);
        options = options with { Scenario = scenario, TokenValidationKey = key };

        await using var emulator = await ExoSmtpEmulator.StartAsync(options).ConfigureAwait(false);
        if (cl.Get("cert-out") is { } certOut)
        {
            EmulatorCertificate.ExportPublic(emulator.Certificate, certOut);
        }

        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
        if (!cl.Flag("ignore-stdin"))
        {
            _ = Task.Run(async () =>
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (await stdin.ReadAsync(buffer).ConfigureAwait(false) > 0)
                {
                }

                await stop.CancelAsync().ConfigureAwait(false);
            });
        }

        await Console.Error.WriteLineAsync($"scenario {scenario.Tenant.Name} ({scenario.Accounts.Count} accounts), TLS {options.TlsMode}{(options.Misbehaviour == Misbehaviour.None ? string.Empty : ", misbehaving: " + SmtpSession.ModeName(options.Misbehaviour))}, certificate thumbprint {emulator.CertificateThumbprint}").ConfigureAwait(false);
        Console.Out.WriteLine($"LISTENING {emulator.Address}:{emulator.Port.ToString(CultureInfo.InvariantCulture)}");
        Console.Out.Flush();
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await Console.Error.WriteLineAsync($"stopping: {emulator.Statistics.ConnectionsAccepted} connection(s), {emulator.Statistics.Commands} command(s)").ConfigureAwait(false);
        return 0;
    }

    private static Misbehaviour ParseMisbehaviour(string? name)
    {
        if (name is null)
        {
            return Misbehaviour.None;
        }

        foreach (var mode in Enum.GetValues<Misbehaviour>())
        {
            if (mode != Misbehaviour.None && string.Equals(SmtpSession.ModeName(mode), name, StringComparison.OrdinalIgnoreCase))
            {
                return mode;
            }
        }

        throw new UsageException($"--misbehave must be one of {string.Join(", ", Enum.GetValues<Misbehaviour>().Where(m => m != Misbehaviour.None).Select(SmtpSession.ModeName))}, not '{name}'.");
    }

    private static async Task<int> RunGraphAsync(CommandLine cl)
    {
        cl.AllowOnly("scenario", "port", "address", "delay-ms", "page-size", "throttle-every", "throttle-first", "throttle-path", "retry-after", "no-retry-after", "throttle-status",
            "next-link-fault", "malformed-at", "malformed-path", "hang-at", "hang-path", "kill-at", "batch-reverse", "no-auth", "log", "ignore-stdin");
        var scenario = TenantScenario.Load(cl.Required("scenario"));
        string? retryAfter = cl.Get("retry-after") ?? "1";
        if (!double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || seconds < 0)
        {
            throw new UsageException($"--retry-after must be a number of seconds, not '{retryAfter}'.");
        }

        var faults = new Graph.GraphFaultSettings
        {
            Delay = TimeSpan.FromMilliseconds(cl.GetInt("delay-ms") ?? 0),
            ThrottleEvery = cl.GetInt("throttle-every") ?? 0,
            ThrottleFirst = cl.GetInt("throttle-first") ?? 0,
            ThrottlePathContains = cl.Get("throttle-path"),
            RetryAfter = cl.Flag("no-retry-after") ? null : retryAfter,
            ThrottleStatus = cl.GetInt("throttle-status") is { } status
                ? status is 429 or 503 ? status : throw new UsageException("--throttle-status must be 429 or 503.")
                : 429,
            NextLink = (cl.Get("next-link-fault") ?? "none").ToLowerInvariant() switch
            {
                "none" => Graph.NextLinkFault.None,
                "badtoken" => Graph.NextLinkFault.BadToken,
                "loop" => Graph.NextLinkFault.Loop,
                "unreachable" => Graph.NextLinkFault.Unreachable,
                var other => throw new UsageException($"--next-link-fault must be badtoken, loop or unreachable, not '{other}'."),
            },
            MalformedAt = cl.GetInt("malformed-at") ?? 0,
            MalformedPathContains = cl.Get("malformed-path"),
            HangAt = cl.GetInt("hang-at") ?? 0,
            HangPathContains = cl.Get("hang-path"),
            KillAt = cl.GetInt("kill-at") ?? 0,
        };
        var options = new Graph.GraphEmulatorOptions
        {
            Scenario = scenario,
            Address = cl.Get("address") is { } a ? IPAddress.Parse(a) : IPAddress.Loopback,
            Port = cl.GetInt("port") ?? 0,
            PageSize = cl.GetInt("page-size") is { } pageSize
                ? pageSize is >= 1 and <= 999 ? pageSize : throw new UsageException("--page-size must be between 1 and 999.")
                : null,
            RequireBearer = !cl.Flag("no-auth"),
            BatchReverse = cl.Flag("batch-reverse"),
            Faults = faults,
            RequestLog = cl.Flag("log") ? line => Console.Error.WriteLine(line) : null,
        };

        await using var emulator = await Graph.GraphEmulator.StartAsync(options).ConfigureAwait(false);
        using var stop = new CancellationTokenSource();
        emulator.Killed += (_, _) => Console.Error.WriteLine("KILLED: a kill fault closed the listener; the process runs on until stdin closes or SIGTERM.");
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
        if (!cl.Flag("ignore-stdin"))
        {
            _ = Task.Run(async () =>
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (await stdin.ReadAsync(buffer).ConfigureAwait(false) > 0)
                {
                }

                await stop.CancelAsync().ConfigureAwait(false);
            });
        }

        await Console.Error.WriteLineAsync($"graph: scenario {scenario.Tenant.Name} ({scenario.Accounts.Count} accounts)").ConfigureAwait(false);
        Console.Out.WriteLine($"LISTENING {emulator.BaseUri}");
        Console.Out.Flush();
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        var stats = emulator.GetStatistics();
        await Console.Error.WriteLineAsync($"stopping: {stats.TotalRequests} request(s), {stats.BatchInnerRequests} inner batch request(s), {stats.Throttled} throttled").ConfigureAwait(false);
        return 0;
    }

    private static int WriteScenario(CommandLine cl)
    {
        cl.AllowOnly("count", "out", "seed", "signin-days", "signins-per-day");
        int count = cl.GetInt("count") ?? throw new UsageException("--count is required.");
        if (count is < 1 or > 1_000_000)
        {
            throw new UsageException("--count must be between 1 and 1000000.");
        }

        string path = cl.Required("out");
        var started = System.Diagnostics.Stopwatch.StartNew();
        int signInDays = cl.GetInt("signin-days") ?? 0;
        if (signInDays is < 0 or > 90)
        {
            throw new UsageException("--signin-days must be between 0 and 90.");
        }

        double perDay = cl.Get("signins-per-day") is { } rate
            ? double.TryParse(rate, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double r) && r > 0 && r <= 10000 ? r : throw new UsageException("--signins-per-day must be a number above 0.")
            : 1;
        var scenario = ScaleScenarioGenerator.Generate(count, cl.GetInt("seed") ?? 1, signInDays, perDay);
        ScaleScenarioGenerator.Write(scenario, path);
        Console.Error.WriteLine($"wrote {path}: {count} mailboxes in {started.ElapsedMilliseconds} ms");
        return 0;
    }

    private static int MintToken(CommandLine cl)
    {
        cl.AllowOnly("scenario", "app", "user", "aud", "roles", "scp", "tid", "oid", "exp-minutes", "signature", "key", "key-out", "sasl");
        var scenario = TenantScenario.Load(cl.Required("scenario"));
        string appId = cl.Required("app");
        using var key = SigningKeys.LoadOrCreate(cl.Get("key") ?? SigningKeys.DefaultPath);
        if (cl.Get("key-out") is { } keyOut)
        {
            SigningKeys.WritePublicKeyPem(key, keyOut);
        }

        var request = cl.Get("user") is { } user
            ? TestTokenIssuer.DelegatedRequest(scenario, user, appId)
            : TestTokenIssuer.AppOnlyRequest(scenario, appId);
        request = request with
        {
            Audience = cl.Get("aud") ?? request.Audience,
            Roles = cl.Get("roles") is { } roles ? roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : request.Roles,
            Scope = cl.Get("scp") ?? request.Scope,
            TenantId = cl.Get("tid") ?? request.TenantId,
            ObjectId = cl.Get("oid") ?? request.ObjectId,
            Lifetime = TimeSpan.FromMinutes(cl.GetInt("exp-minutes") ?? 60),
            Signature = (cl.Get("signature") ?? "valid").ToLowerInvariant() switch
            {
                "valid" => TokenSignature.Valid,
                "tampered" => TokenSignature.Tampered,
                "wrongkey" => TokenSignature.WrongKey,
                "unsigned" => TokenSignature.Unsigned,
                var other => throw new UsageException($"--signature must be valid, tampered, wrongkey or unsigned, not '{other}'."),
            },
        };
        string token = new TestTokenIssuer(key).Issue(request);
        Console.Out.WriteLine(cl.Get("sasl") is { } saslUser ? TestTokenIssuer.FormatXOAuth2(saslUser, token) : token);
        return 0;
    }

    private sealed class UsageException(string message) : Exception(message);

    /// <summary>"--name value" pairs and "--flag" switches.</summary>
    private sealed class CommandLine
    {
        private readonly Dictionary<string, string?> _values = new(StringComparer.OrdinalIgnoreCase);

        public static CommandLine Parse(IEnumerable<string> args)
        {
            var cl = new CommandLine();
            var list = args.ToList();
            for (int i = 0; i < list.Count; i++)
            {
                if (!list[i].StartsWith("--", StringComparison.Ordinal) || list[i].Length < 3)
                {
                    throw new UsageException($"Unexpected argument '{list[i]}'.");
                }

                string name = list[i][2..];
                string? value = i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal) ? list[++i] : null;
                cl._values[name] = value;
            }

            return cl;
        }

        public void AllowOnly(params string[] names)
        {
            var unknown = _values.Keys.Where(k => !names.Contains(k, StringComparer.OrdinalIgnoreCase)).ToList();
            if (unknown.Count > 0)
            {
                throw new UsageException($"Unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}.");
            }
        }

        public string? Get(string name) => _values.TryGetValue(name, out string? v) ? v ?? throw new UsageException($"--{name} needs a value.") : null;

        public string Required(string name) => Get(name) ?? throw new UsageException($"--{name} is required.");

        public bool Flag(string name) => _values.TryGetValue(name, out string? v)
            ? v is null || !v.Equals("false", StringComparison.OrdinalIgnoreCase)
            : false;

        public int? GetInt(string name) => Get(name) is { } v
            ? int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) ? n : throw new UsageException($"--{name} must be an integer, not '{v}'.")
            : null;
    }
}
