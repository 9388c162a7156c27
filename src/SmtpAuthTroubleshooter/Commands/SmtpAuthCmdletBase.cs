using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Net.Sockets;
using System.Reflection;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// Shared plumbing for every cmdlet of the module (STYLE rules 5, 23-25, 29): the cancellation token that
    /// StopProcessing (Ctrl+C) cancels, and the helpers that turn failures into ErrorRecords with stable ids,
    /// specific categories, the target object and a recommended action.
    /// </summary>
    public abstract class SmtpAuthCmdletBase : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _cancellation = new CancellationTokenSource();
        private readonly int _pipelineThreadId = Environment.CurrentManagedThreadId;
        private volatile BlockingCollection<Action>? _pump;
        private bool _disposed;

        /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
        protected CancellationToken CancellationToken => _cancellation.Token;

        /// <inheritdoc />
        protected override void StopProcessing() => _cancellation.Cancel();

        /// <summary>
        /// Sealed so that no cmdlet of the module can skip it: -Debug is kept from turning messages into prompts before
        /// any cmdlet code runs. Cmdlets put their begin-block work in <see cref="Begin"/>.
        /// </summary>
        protected sealed override void BeginProcessing()
        {
            KeepDebugFromPrompting();
            Begin();
        }

        /// <summary>The cmdlet's begin block (what BeginProcessing would hold).</summary>
        protected virtual void Begin()
        {
        }

        /// <summary>
        /// -Debug on a compiled cmdlet makes PowerShell's command runtime treat every warning and verbose message as
        /// Inquire ("Continue with this operation?"), which stops an admin at each message and throws "Read and Prompt
        /// functionality is not available" in a runbook or any -NonInteractive session. Here -Debug means "show me
        /// more", as it does for advanced functions in PowerShell 7: debug and verbose messages are shown, warnings
        /// follow the caller's $WarningPreference (or -WarningAction), nothing prompts. An explicit -Verbose or
        /// -WarningAction still wins. The runtime exposes these settings only internally, so they are set by reflection;
        /// if a future PowerShell renamed them this does nothing (and the tests that run -Debug non-interactively fail).
        /// </summary>
        private void KeepDebugFromPrompting()
        {
            if (!(MyInvocation.BoundParameters.TryGetValue("Debug", out object? debugFlag) && debugFlag is SwitchParameter debug && debug.IsPresent))
            {
                return;
            }

            object runtime = CommandRuntime;
            const BindingFlags flags = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly;
            Type type = runtime.GetType();
            try
            {
                if (!MyInvocation.BoundParameters.ContainsKey("WarningAction"))
                {
                    ActionPreference callers = SessionState.PSVariable.GetValue("WarningPreference") is object v &&
                        Enum.TryParse(v.ToString(), ignoreCase: true, out ActionPreference parsed) ? parsed : ActionPreference.Continue;
                    type.GetProperty("WarningPreference", flags)?.SetValue(runtime, callers == ActionPreference.Inquire ? ActionPreference.Continue : callers);
                }

                if (!MyInvocation.BoundParameters.ContainsKey("Verbose"))
                {
                    type.GetProperty("Verbose", flags)?.SetValue(runtime, true);
                }

                PropertyInfo? debugPreference = type.GetProperty("DebugPreference", flags);
                if (debugPreference?.GetValue(runtime) is ActionPreference.Inquire)
                {
                    debugPreference.SetValue(runtime, ActionPreference.Continue);
                }
            }
            catch (Exception ex) when (ex is AmbiguousMatchException || ex is TargetInvocationException || ex is ArgumentException || ex is MethodAccessException)
            {
                // A runtime shaped differently: PowerShell's own behaviour applies.
            }
        }

        /// <summary>The fixed activity id of this module's progress records.</summary>
        protected const int ProgressActivityId = 0x5A7;

        /// <summary>
        /// Runs engine work on a worker thread and pumps its verbose, warning, debug and progress messages onto the
        /// pipeline thread until it finishes (STYLE rules 30-32; jborean93/PwshAsync). Ctrl+C cancels the work.
        /// </summary>
        protected T RunOnPipelineThread<T>(Func<IDiagnosticSink, CancellationToken, Task<T>> work)
        {
            using var queue = new BlockingCollection<Action>();
            var sink = new QueueSink(this, queue);
            BlockingCollection<Action>? outer = _pump;
            _pump = queue;
            Task<T> task = Task.Run(() => work(sink, CancellationToken), CancellationToken);
            _ = task.ContinueWith(_ => queue.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                foreach (Action action in queue.GetConsumingEnumerable())
                {
                    action();
                }
            }
            finally
            {
                _pump = outer;
            }

            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
        }

        /// <summary>
        /// Runs <paramref name="func"/> on the pipeline thread: at once when called there, otherwise through the pump
        /// of the running <see cref="RunOnPipelineThread{T}"/> (how worker code reaches the caller's runspace, for
        /// example Invoke-MgGraphRequest of an existing Connect-MgGraph session).
        /// </summary>
        protected Task<TResult> InvokeOnPipelineThreadAsync<TResult>(Func<TResult> func)
        {
            BlockingCollection<Action>? pump = _pump;
            if (pump is null || Environment.CurrentManagedThreadId == _pipelineThreadId)
            {
                return Task.FromResult(func());
            }

            var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            try
            {
                pump.Add(() =>
                {
                    try
                    {
                        done.SetResult(func());
                    }
                    catch (Exception ex)
                    {
                        done.SetException(ex);
                    }
                });
            }
            catch (InvalidOperationException ex)
            {
                done.SetException(ex);
            }

            return done.Task;
        }

        /// <summary>Writes a non-terminating error for one input and lets the pipeline go on.</summary>
        protected void WriteInputError(string errorId, ErrorCategory category, string message, object? target, string? recommendedAction, Exception? inner = null)
        {
            WriteError(CreateErrorRecord(errorId, category, message, target, recommendedAction, inner));
        }

        /// <summary>Writes a non-terminating error for an exception raised while processing one input.</summary>
        protected void WriteExceptionError(Exception exception, object? target, string fallbackErrorId)
        {
            if (exception is SmtpAuthTroubleshooterException ours)
            {
                WriteError(CreateErrorRecord(ours.ErrorId, MapCategory(ours), ours.Message, target, ours.RecommendedAction, ours));
                return;
            }

            WriteError(CreateErrorRecord(fallbackErrorId, MapCategory(exception), exception.Message, target, null, exception));
        }

        /// <summary>Builds an ErrorRecord: stable id, category, target, recommended action.</summary>
        protected static ErrorRecord CreateErrorRecord(string errorId, ErrorCategory category, string message, object? target, string? recommendedAction, Exception? inner = null)
        {
            var exception = inner is SmtpAuthTroubleshooterException ? inner : new SmtpAuthTroubleshooterException(errorId, SmtpAuthErrorKind.Unspecified, message, recommendedAction, inner);
            // The target is the admin's item itself, not PowerShell's wrapper around it.
            if (target is PSObject wrapped && wrapped.BaseObject is not PSCustomObject)
            {
                target = wrapped.BaseObject;
            }

            var record = new ErrorRecord(exception, errorId, category, target)
            {
                ErrorDetails = new ErrorDetails(message),
            };
            if (!string.IsNullOrEmpty(recommendedAction))
            {
                record.ErrorDetails.RecommendedAction = recommendedAction;
            }

            return record;
        }

        /// <summary>Maps an exception to the most specific ErrorCategory (STYLE rule 25).</summary>
        protected static ErrorCategory MapCategory(Exception exception) => exception switch
        {
            SmtpAuthTroubleshooterException ours => ours.Kind switch
            {
                SmtpAuthErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
                SmtpAuthErrorKind.InvalidData => ErrorCategory.InvalidData,
                SmtpAuthErrorKind.ConnectionError => ErrorCategory.ConnectionError,
                SmtpAuthErrorKind.AuthenticationError => ErrorCategory.AuthenticationError,
                SmtpAuthErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
                SmtpAuthErrorKind.OperationTimeout => ErrorCategory.OperationTimeout,
                SmtpAuthErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
                SmtpAuthErrorKind.LimitsExceeded => ErrorCategory.LimitsExceeded,
                _ => ErrorCategory.NotSpecified,
            },
            TimeoutException => ErrorCategory.OperationTimeout,
            OperationCanceledException => ErrorCategory.OperationStopped,
            AuthenticationException => ErrorCategory.AuthenticationError,
            SocketException => ErrorCategory.ConnectionError,
            UnauthorizedAccessException => ErrorCategory.PermissionDenied,
            ArgumentException => ErrorCategory.InvalidArgument,
            FormatException => ErrorCategory.InvalidData,
            _ => ErrorCategory.NotSpecified,
        };

        private PumpSink? _sink;

        /// <summary>
        /// A sink for engine objects that outlive one <see cref="RunOnPipelineThread{T}"/> call (a Graph reader used for
        /// every batch): each message goes to the pump that is running when it is written, or straight to the stream
        /// when written on the pipeline thread.
        /// </summary>
        protected IDiagnosticSink Sink => _sink ??= new PumpSink(this);

        private int _graphSignInReported;

        /// <summary>Why <see cref="OpenGraphConnection"/> gave no connection although Graph was there (another tenant's session); null otherwise.</summary>
        protected string? GraphRefusedReason { get; private set; }

        /// <summary>
        /// The command's one Microsoft Graph connection (issue 11): the SDK's pipeline with the one retry policy and the
        /// circuit, and one credential with the cloud's authority. The way in, first that applies: -GraphAccessToken,
        /// -GraphCertificate, -UseManagedIdentity, the caller's Connect-MgGraph session. Null when there is no way in.
        /// A tenant or client id Azure.Identity rejects stops the command (GraphCredentialInvalid); a sign-in that fails
        /// later writes one GraphAuthenticationFailed error for the command. The caller disposes the connection.
        /// </summary>
        /// <remarks>
        /// <paramref name="exchangeTenant"/> is the tenant of the caller's Exchange Online session, when known. Graph of
        /// another tenant is never read with it (an MSP's loop over tenants where one connect failed or was forgotten):
        /// a Connect-MgGraph session for another tenant gives no connection (<see cref="GraphRefusedReason"/> says why,
        /// with one GraphTenantMismatch error), a token for another tenant fails its first request the same way.
        /// </remarks>
        protected IDisposable? OpenGraphConnection(SecureString? token, bool managedIdentity, string? tenantId, string? clientId, X509Certificate2? certificate,
            SmtpCloudEnvironment environment, Uri? baseUri, int requestTimeoutSec, Guid? exchangeTenant = null)
        {
            var options = new Engine.Policy.GraphConnectionOptions { RequestTimeout = TimeSpan.FromSeconds(requestTimeoutSec), ExpectedTenantId = exchangeTenant };
            IDiagnosticSink longLived = Sink;
            Uri endpoint = baseUri ?? Engine.Policy.GraphSignIn.GraphEndpointFor(environment);
            Engine.Policy.GraphConnection? connection = null;
            if (token is not null)
            {
                connection = Engine.Policy.GraphConnection.WithToken(endpoint, token, options, longLived);
            }
            else if (certificate is not null || managedIdentity)
            {
                Engine.Policy.GraphSignIn? signIn = null;
                try
                {
                    signIn = certificate is not null
                        ? Engine.Policy.GraphSignIn.Certificate(tenantId!, clientId!, certificate, environment)
                        : Engine.Policy.GraphSignIn.ManagedIdentity(clientId, environment);
                }
                catch (ArgumentException ex)
                {
                    // Azure.Identity checks the tenant and client ids as the credential is built: a bad parameter.
                    ThrowTerminatingError(CreateErrorRecord("GraphCredentialInvalid", ErrorCategory.InvalidArgument, ex.Message,
                        (object?)certificate ?? clientId, Strings.Get("GraphCredentialInvalidAction"), ex));
                }

                connection = Engine.Policy.GraphConnection.WithSignIn(endpoint, signIn!, options, longLived);
            }
            else if (MgGraphSessionTransport.SessionExists(this, out Guid? sessionTenant))
            {
                if (exchangeTenant is Guid exo && sessionTenant is Guid graph && graph != exo)
                {
                    GraphRefusedReason = Strings.Format("GraphTenantMismatch", graph, exo);
                    WriteError(CreateErrorRecord("GraphTenantMismatch", ErrorCategory.ConnectionError, GraphRefusedReason, graph.ToString(),
                        Strings.Format("GraphTenantMismatchAction", graph, exo)));
                    return null;
                }

                connection = Engine.Policy.GraphConnection.WithTransport(new MgGraphSessionTransport(f => InvokeOnPipelineThreadAsync(f), CallerRunspace.Errors(this)), options, longLived);
            }

            if (connection is not null)
            {
                connection.WhenSignInFails(ReportGraphSignInFailure);
                WriteVerbose(Strings.Format("VerboseGraphTransport", connection.Description));
            }

            return connection;
        }

        // Sign-in failed (Azure.Identity): the reads already leave the Entra fields unknown with this reason; the admin
        // also gets one non-terminating error per command, not one per mailbox. Called from the engine while a read runs,
        // so the record goes to the pipeline thread through the running pump.
        private void ReportGraphSignInFailure(string message, string? recommendedAction, string errorId)
        {
            if (Interlocked.Exchange(ref _graphSignInReported, 1) != 0)
            {
                return;
            }

            bool mismatch = errorId == "GraphTenantMismatch";
            ErrorRecord record = CreateErrorRecord(mismatch ? errorId : "GraphAuthenticationFailed", mismatch ? ErrorCategory.ConnectionError : ErrorCategory.AuthenticationError,
                Strings.Format("GraphAuthenticationFailed", message), null, recommendedAction);
            try
            {
                _ = InvokeOnPipelineThreadAsync(() =>
                {
                    WriteError(record);
                    return true;
                });
            }
            catch (PSInvalidOperationException)
            {
                // No pump and not the pipeline thread (cannot happen: Graph reads run inside one); the reasons remain.
            }
        }

        private void Post(Action action)
        {
            BlockingCollection<Action>? pump = _pump;
            if (Environment.CurrentManagedThreadId == _pipelineThreadId)
            {
                action();
                return;
            }

            try
            {
                pump?.Add(action);
            }
            catch (InvalidOperationException)
            {
                // That pump finished; a late message has nowhere to go.
            }
        }

        private sealed class PumpSink : IDiagnosticSink
        {
            private readonly SmtpAuthCmdletBase _cmdlet;

            public PumpSink(SmtpAuthCmdletBase cmdlet) => _cmdlet = cmdlet;

            public void Verbose(string message) => _cmdlet.Post(() => _cmdlet.WriteVerbose(message));

            public void Warning(string message) => _cmdlet.Post(() => _cmdlet.WriteWarning(message));

            public void Debug(string message) => _cmdlet.Post(() => _cmdlet.WriteDebug(message));

            public void Progress(string activity, string status, int percentComplete) => Progress(activity, status, percentComplete, -1);

            public void Progress(string activity, string status, int percentComplete, int secondsRemaining) => _cmdlet.Post(() =>
                _cmdlet.WriteProgress(NewProgress(activity, status, percentComplete, secondsRemaining)));
        }

        private static ProgressRecord NewProgress(string activity, string status, int percentComplete, int secondsRemaining) =>
            new ProgressRecord(ProgressActivityId, activity, status)
            {
                PercentComplete = Math.Max(0, Math.Min(100, percentComplete)),
                SecondsRemaining = secondsRemaining < 0 ? -1 : secondsRemaining,
                RecordType = percentComplete >= 100 ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            };

        /// <summary>Queues engine messages for the pipeline thread.</summary>
        private sealed class QueueSink : IDiagnosticSink
        {
            private readonly SmtpAuthCmdletBase _cmdlet;
            private readonly BlockingCollection<Action> _queue;

            public QueueSink(SmtpAuthCmdletBase cmdlet, BlockingCollection<Action> queue)
            {
                _cmdlet = cmdlet;
                _queue = queue;
            }

            public void Verbose(string message) => Post(() => _cmdlet.WriteVerbose(message));

            public void Warning(string message) => Post(() => _cmdlet.WriteWarning(message));

            public void Debug(string message) => Post(() => _cmdlet.WriteDebug(message));

            public void Progress(string activity, string status, int percentComplete) => Progress(activity, status, percentComplete, -1);

            public void Progress(string activity, string status, int percentComplete, int secondsRemaining) => Post(() =>
                _cmdlet.WriteProgress(NewProgress(activity, status, percentComplete, secondsRemaining)));

            private void Post(Action action)
            {
                try
                {
                    _queue.Add(action);
                }
                catch (InvalidOperationException)
                {
                    // The work already finished; a late message has nowhere to go.
                }
            }
        }

        /// <inheritdoc />
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        /// <summary>Releases the cancellation source.</summary>
        protected virtual void Dispose(bool disposing)
        {
            if (!_disposed && disposing)
            {
                _cancellation.Dispose();
            }

            _disposed = true;
        }
    }
}
