using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>
/// An SMTP server on loopback that answers AUTH, MAIL FROM and DATA the way Exchange Online's client
/// submission endpoint (smtp.office365.com:587) does, from a <see cref="TenantScenario"/>.
/// </summary>
public sealed class ExoSmtpEmulator : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConcurrentDictionary<long, SmtpSession> _sessions = new();
    private readonly Dictionary<string, int> _mailboxConnections = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _seenAddresses = new(StringComparer.Ordinal);
    private readonly BoundedLog<ProtocolLogEntry> _protocolLog;
    private readonly BoundedLog<AuthEvent> _authEvents;
    private readonly BoundedLog<ReceivedMessage> _messages;
    private TenantScenario _scenario;
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextSessionNumber;
    private int _disposed;

    private ExoSmtpEmulator(EmulatorOptions options, TenantScenario scenario)
    {
        Options = options;
        _scenario = scenario;
        Certificate = options.Certificate ?? EmulatorCertificate.SharedDefault;
        TokenValidationKey = options.TokenValidationKey ?? SigningKeys.SharedDefault;
        TokenIssuer = new TestTokenIssuer(TokenValidationKey, options.Clock);
        _protocolLog = new BoundedLog<ProtocolLogEntry>(options.MaxLogEntries);
        _authEvents = new BoundedLog<AuthEvent>(options.MaxLogEntries);
        _messages = new BoundedLog<ReceivedMessage>(options.MaxStoredMessages);
        _listener = new TcpListener(options.Address, options.Port);
    }

    /// <summary>Loads the scenario, binds the listener and starts accepting connections.</summary>
    /// <exception cref="ScenarioException">The scenario is missing or invalid.</exception>
    public static Task<ExoSmtpEmulator> StartAsync(EmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var scenario = options.Scenario
            ?? (options.ScenarioPath is { } path ? TenantScenario.Load(path) : throw new ScenarioException("EmulatorOptions needs a Scenario or a ScenarioPath."));
        if (options.Scenario is not null)
        {
            scenario.Validate();
        }

        if (options.MaxConcurrentPerMailbox < 1 || options.MaxConnections < 1 || options.MaxCommandLineLength < 512)
        {
            throw new ArgumentException("MaxConcurrentPerMailbox and MaxConnections must be at least 1, MaxCommandLineLength at least 512.", nameof(options));
        }

        var emulator = new ExoSmtpEmulator(options, scenario);
        emulator._listener.Start(backlog: 512);
        emulator._acceptLoop = Task.Run(emulator.AcceptLoopAsync);
        return Task.FromResult(emulator);
    }

    public EmulatorOptions Options { get; }

    /// <summary>The tenant being emulated. Assign a new one (validated) to change settings between connections.</summary>
    public TenantScenario Scenario
    {
        get => Volatile.Read(ref _scenario);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            Volatile.Write(ref _scenario, value);
        }
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public IPAddress Address => EndPoint.Address;

    /// <summary>The bound port (the ephemeral one when <see cref="EmulatorOptions.Port"/> was 0).</summary>
    public int Port => EndPoint.Port;

    /// <summary>The TLS server certificate. Trust it by <see cref="CertificateThumbprint"/>.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>SHA-1 thumbprint (hex, upper case) of <see cref="Certificate"/>.</summary>
    public string CertificateThumbprint => Certificate.Thumbprint;

    /// <summary>The key XOAUTH2 tokens must be signed with.</summary>
    public RSA TokenValidationKey { get; }

    /// <summary>Mints tokens this emulator accepts (or, on request, rejects).</summary>
    public TestTokenIssuer TokenIssuer { get; }

    /// <summary>The name in the banner and EHLO, e.g. YT3PR01CA0020.outlook.office365.com.</summary>
    public string ServerName => $"{Options.HostName}.outlook.office365.com";

    /// <summary>The name in the diagnostic tail, e.g. YT3PR01CA0020.CANPRD01.PROD.OUTLOOK.COM.</summary>
    public string DiagnosticHostName => $"{Options.HostName}.{Options.Region}.PROD.OUTLOOK.COM".ToUpperInvariant();

    public EmulatorStatistics Statistics { get; } = new();

    /// <summary>Every AUTH decision, oldest first (bounded by <see cref="EmulatorOptions.MaxLogEntries"/>).</summary>
    public IReadOnlyList<AuthEvent> AuthEvents => _authEvents.Snapshot();

    /// <summary>Server-side protocol log, oldest first; AUTH payloads are masked and message content is left out.</summary>
    public IReadOnlyList<ProtocolLogEntry> ProtocolLog => _protocolLog.Snapshot();

    /// <summary>Accepted messages, oldest first (bounded by <see cref="EmulatorOptions.MaxStoredMessages"/>).</summary>
    public IReadOnlyList<ReceivedMessage> ReceivedMessages => _messages.Snapshot();

    /// <summary>Raised after every AUTH decision, on the session's thread.</summary>
    public event EventHandler<AuthEvent>? AuthAttempted;

    /// <summary>Authenticated connections now open for the mailbox that owns <paramref name="address"/>.</summary>
    public int GetAuthenticatedConnectionCount(string address)
    {
        var account = Scenario.FindByAddress(address);
        if (account is null)
        {
            return 0;
        }

        lock (_mailboxConnections)
        {
            return _mailboxConnections.TryGetValue(account.ObjectId, out int n) ? n : 0;
        }
    }

    /// <summary>Empties the protocol log, the AUTH events and the stored messages (counters are kept).</summary>
    public void ClearLogs()
    {
        _protocolLog.Clear();
        _authEvents.Clear();
        _messages.Clear();
    }

    /// <summary>Stops listening, tells open sessions 421 and closes them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(false);
        var running = new List<Task>();
        foreach (var session in _sessions.Values)
        {
            running.Add(session.Completion);
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            foreach (var session in _sessions.Values)
            {
                session.Abort();
            }
        }

        _shutdown.Dispose();
    }

    internal static string NewSessionId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    internal string DiagnosticTail(string sessionId) =>
        $" [{DiagnosticHostName} {Options.Clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture)}Z {sessionId}]";

    internal void Log(string sessionId, ProtocolDirection direction, string line)
    {
        var entry = new ProtocolLogEntry(Options.Clock.GetUtcNow(), sessionId, direction, line);
        _protocolLog.Add(entry);
        Options.ProtocolLogSink?.Invoke(entry);
    }

    internal void RecordAuth(AuthEvent authEvent)
    {
        _authEvents.Add(authEvent);
        Statistics.Auth(authEvent.Outcome == AuthOutcome.Success);
        AuthAttempted?.Invoke(this, authEvent);
    }

    internal void StoreMessage(ReceivedMessage message)
    {
        _messages.Add(message);
        Statistics.MessageAccepted();
    }

    /// <summary>True the first time a client address connects (<see cref="Misbehaviour.Downgrade"/>). Bounded: past 10,000 addresses every address counts as seen.</summary>
    internal bool IsFirstConnectionFrom(string address)
    {
        lock (_seenAddresses)
        {
            return _seenAddresses.Count < 10_000 && _seenAddresses.Add(address);
        }
    }

    internal bool TryAcquireMailbox(string key)
    {
        lock (_mailboxConnections)
        {
            _mailboxConnections.TryGetValue(key, out int n);
            if (n >= Options.MaxConcurrentPerMailbox)
            {
                return false;
            }

            _mailboxConnections[key] = n + 1;
            return true;
        }
    }

    internal void ReleaseMailbox(string key)
    {
        lock (_mailboxConnections)
        {
            if (_mailboxConnections.TryGetValue(key, out int n))
            {
                if (n <= 1)
                {
                    _mailboxConnections.Remove(key);
                }
                else
                {
                    _mailboxConnections[key] = n - 1;
                }
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        var token = _shutdown.Token;
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException)
            {
                // A connection reset before accept completed; keep listening.
                continue;
            }

            long number = Interlocked.Increment(ref _nextSessionNumber);
            var session = new SmtpSession(this, socket, NewSessionId());
            if (_sessions.Count >= Options.MaxConnections)
            {
                Statistics.ConnectionRefused();
                _ = session.RefuseAsync(token);
                continue;
            }

            _sessions[number] = session;
            Statistics.ConnectionOpened();
            session.Completion = RunSessionAsync(number, session, token);
        }
    }

    private async Task RunSessionAsync(long number, SmtpSession session, CancellationToken token)
    {
        try
        {
            await Task.Yield();
            await session.RunAsync(token).ConfigureAwait(false);
        }
        finally
        {
            _sessions.TryRemove(number, out _);
            Statistics.ConnectionClosed();
        }
    }
}
