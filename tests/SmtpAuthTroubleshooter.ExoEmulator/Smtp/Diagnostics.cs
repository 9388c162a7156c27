using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>One AUTH attempt as the emulator decided it. Carries the user name, never a password or token.</summary>
public sealed record AuthEvent(
    DateTimeOffset Time,
    string SessionId,
    string Mechanism,
    string? UserName,
    AuthOutcome Outcome,
    string Reason,
    string Reply);

public enum ProtocolDirection
{
    /// <summary>A line the client sent (AUTH payloads masked, message content left out).</summary>
    Client,

    /// <summary>A line the emulator sent.</summary>
    Server,

    /// <summary>Something the emulator noticed (connect, TLS, disconnect, errors).</summary>
    Info,
}

/// <summary>A line of the server-side protocol log.</summary>
public sealed record ProtocolLogEntry(DateTimeOffset Time, string SessionId, ProtocolDirection Direction, string Line)
{
    public override string ToString() => $"{Time:HH:mm:ss.fff} {SessionId} {Direction switch { ProtocolDirection.Client => "C:", ProtocolDirection.Server => "S:", _ => "*" }} {Line}";
}

/// <summary>A message the emulator accepted (kept in memory, the oldest dropped past the limit).</summary>
public sealed record ReceivedMessage(
    string Id,
    string SessionId,
    DateTimeOffset ReceivedAt,
    string AuthenticatedMailbox,
    string MailFrom,
    IReadOnlyList<string> Recipients,
    IReadOnlyList<string> HeaderFrom,
    byte[] Content);

/// <summary>Counters for tests. All values are live and thread-safe.</summary>
public sealed class EmulatorStatistics
{
    private readonly ConcurrentDictionary<string, long> _commands = new(StringComparer.Ordinal);
    private long _connectionsAccepted;
    private long _connectionsActive;
    private long _connectionsRefused;
    private long _commandsTotal;
    private long _tlsHandshakes;
    private long _tlsHandshakeFailures;
    private long _authAttempts;
    private long _authSuccesses;
    private long _messagesAccepted;
    private long _sessionErrors;

    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);

    public long ConnectionsActive => Interlocked.Read(ref _connectionsActive);

    /// <summary>Connections turned away at accept (over <see cref="EmulatorOptions.MaxConnections"/>).</summary>
    public long ConnectionsRefused => Interlocked.Read(ref _connectionsRefused);

    public long Commands => Interlocked.Read(ref _commandsTotal);

    public long TlsHandshakes => Interlocked.Read(ref _tlsHandshakes);

    public long TlsHandshakeFailures => Interlocked.Read(ref _tlsHandshakeFailures);

    public long AuthAttempts => Interlocked.Read(ref _authAttempts);

    public long AuthSuccesses => Interlocked.Read(ref _authSuccesses);

    public long MessagesAccepted => Interlocked.Read(ref _messagesAccepted);

    /// <summary>Sessions that ended on an unexpected exception (a bug in the emulator, not a client error).</summary>
    public long SessionErrors => Interlocked.Read(ref _sessionErrors);

    /// <summary>How many times <paramref name="verb"/> was received ("UNRECOGNIZED" counts the rest).</summary>
    public long GetCommandCount(string verb) => _commands.TryGetValue(verb.ToUpperInvariant(), out long n) ? n : 0;

    public IReadOnlyDictionary<string, long> CommandCounts => _commands.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    internal void ConnectionOpened()
    {
        Interlocked.Increment(ref _connectionsAccepted);
        Interlocked.Increment(ref _connectionsActive);
    }

    internal void ConnectionClosed() => Interlocked.Decrement(ref _connectionsActive);

    internal void ConnectionRefused() => Interlocked.Increment(ref _connectionsRefused);

    internal void Command(string verb)
    {
        Interlocked.Increment(ref _commandsTotal);
        _commands.AddOrUpdate(verb, 1, (_, n) => n + 1);
    }

    internal void TlsHandshake(bool ok) => Interlocked.Increment(ref ok ? ref _tlsHandshakes : ref _tlsHandshakeFailures);

    internal void Auth(bool ok)
    {
        Interlocked.Increment(ref _authAttempts);
        if (ok)
        {
            Interlocked.Increment(ref _authSuccesses);
        }
    }

    internal void MessageAccepted() => Interlocked.Increment(ref _messagesAccepted);

    internal void SessionError() => Interlocked.Increment(ref _sessionErrors);
}

/// <summary>A thread-safe list that keeps the newest <c>capacity</c> items.</summary>
internal sealed class BoundedLog<T>
{
    private readonly Queue<T> _items = new();
    private readonly int _capacity;

    public BoundedLog(int capacity) => _capacity = Math.Max(1, capacity);

    public void Add(T item)
    {
        lock (_items)
        {
            _items.Enqueue(item);
            while (_items.Count > _capacity)
            {
                _items.Dequeue();
            }
        }
    }

    public IReadOnlyList<T> Snapshot()
    {
        lock (_items)
        {
            return _items.ToArray();
        }
    }

    public void Clear()
    {
        lock (_items)
        {
            _items.Clear();
        }
    }
}
