using System;
using System.Collections.Concurrent;
using System.Security;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Probe;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>Helpers of the probe's mutation tests (issue 11): a sink that keeps everything, a scripted token source.</summary>
    internal static class ProbeTestKit
    {
        internal static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

        internal static SecureString Secret(string value)
        {
            var s = new SecureString();
            foreach (char c in value)
            {
                s.AppendChar(c);
            }

            return s;
        }

        internal static string Jwt(object claims)
        {
            static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            return B64("{\"alg\":\"RS256\",\"typ\":\"JWT\"}") + "." + B64(JsonSerializer.Serialize(claims)) + ".c2lnbmF0dXJl";
        }

        internal static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Keeps every record; optionally holds the probe inside one verbose call (to keep it in one step).</summary>
    internal sealed class KeepingSink : IDiagnosticSink
    {
        private readonly ConcurrentQueue<string> _verbose = new ConcurrentQueue<string>();
        private readonly ConcurrentQueue<string> _warnings = new ConcurrentQueue<string>();
        private readonly ConcurrentQueue<string> _debug = new ConcurrentQueue<string>();
        private readonly ConcurrentQueue<(string Activity, string Status, int Percent, int? Remaining)> _progress = new ConcurrentQueue<(string, string, int, int?)>();

        /// <summary>A verbose message that starts with this text holds the probe for <see cref="HoldFor"/>.</summary>
        public string? HoldOn { get; set; }

        public TimeSpan HoldFor { get; set; } = TimeSpan.FromSeconds(2);

        public string[] Verbose => _verbose.ToArray();

        public string[] Warnings => _warnings.ToArray();

        public string[] Debug => _debug.ToArray();

        public (string Activity, string Status, int Percent, int? Remaining)[] Progress => _progress.ToArray();

        void IDiagnosticSink.Verbose(string message)
        {
            _verbose.Enqueue(message);
            if (HoldOn is not null && message.StartsWith(HoldOn, StringComparison.Ordinal))
            {
                Thread.Sleep(HoldFor);
            }
        }

        void IDiagnosticSink.Warning(string message) => _warnings.Enqueue(message);

        void IDiagnosticSink.Debug(string message) => _debug.Enqueue(message);

        void IDiagnosticSink.Progress(string activity, string status, int percentComplete) => _progress.Enqueue((activity, status, percentComplete, null));

        void IDiagnosticSink.Progress(string activity, string status, int percentComplete, int secondsRemaining) => _progress.Enqueue((activity, status, percentComplete, secondsRemaining));
    }

    /// <summary>A token source scripted by the test.</summary>
    internal sealed class ScriptedTokenSource : ITokenSource
    {
        private readonly Func<CancellationToken, Task<string>> _get;

        public ScriptedTokenSource(Func<CancellationToken, Task<string>> get, TimeSpan? timeoutOverride = null)
        {
            _get = get;
            TimeoutOverride = timeoutOverride;
        }

        public string Description => "a scripted test source";

        public bool IsAppOnly => false;

        public TimeSpan? TimeoutOverride { get; }

        /// <summary>True when the token the source was given had been cancelled by the time it answered.</summary>
        public bool SawCancel { get; private set; }

        public async Task<string> GetTokenAsync(IDiagnosticSink sink, CancellationToken cancellationToken)
        {
            try
            {
                return await _get(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                SawCancel = cancellationToken.IsCancellationRequested;
            }
        }
    }
}
