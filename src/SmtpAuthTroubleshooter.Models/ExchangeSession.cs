using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter
{
    /// <summary>One Exchange Online cmdlet call: the cmdlet, its parameters, and the properties wanted from each output object.</summary>
    public sealed class ExchangeCommand
    {
        /// <summary>Creates a call.</summary>
        public ExchangeCommand(string name, IReadOnlyDictionary<string, object?> parameters, IReadOnlyList<string> properties)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
            Properties = properties ?? throw new ArgumentNullException(nameof(properties));
        }

        /// <summary>The cmdlet, e.g. Get-EXOMailbox.</summary>
        public string Name { get; }

        /// <summary>Its parameters; a true bool is a switch.</summary>
        public IReadOnlyDictionary<string, object?> Parameters { get; }

        /// <summary>The properties the caller reads from each output object (the rest is dropped at once).</summary>
        public IReadOnlyList<string> Properties { get; }
    }

    /// <summary>
    /// One output object of an Exchange Online cmdlet, reduced to the properties asked for: a string (lists joined with
    /// ", "), a bool, a date, or null. Immutable; holds no PowerShell type, so the engine can read it (STYLE rules 2, 3, 38).
    /// </summary>
    public sealed class ExchangeRecord
    {
        private readonly IReadOnlyDictionary<string, object?> _values;

        /// <summary>Creates a record from property values (strings, bools, dates or null).</summary>
        public ExchangeRecord(IReadOnlyDictionary<string, object?> values) => _values = values ?? throw new ArgumentNullException(nameof(values));

        /// <summary>The property as text; null when absent or blank.</summary>
        public string? Text(string name) =>
            _values.TryGetValue(name, out object? v) && v is not null && Convert.ToString(v, CultureInfo.InvariantCulture) is string s && s.Trim().Length > 0 ? s : null;

        /// <summary>
        /// The property as a date, exactly as the cmdlet gave it (a DateTime, or a round-trip or invariant text of one);
        /// null when absent or not a date. Exact because it goes back to the service (Get-MessageTraceV2 -EndDate).
        /// </summary>
        public DateTime? Date(string name) => _values.TryGetValue(name, out object? v) ? v switch
        {
            DateTime d => d,
            DateTimeOffset o => o.UtcDateTime,
            string s when DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out DateTime p) => p,
            _ => null,
        } : null;

        /// <summary>The property as a bool; null when absent or not a bool.</summary>
        public bool? Bool(string name) => _values.TryGetValue(name, out object? v) ? v switch
        {
            bool b => b,
            string s when bool.TryParse(s, out bool p) => p,
            _ => null,
        } : null;
    }

    /// <summary>A failed Exchange Online cmdlet call (after the session's own throttling retries).</summary>
    public sealed class ExchangeCallException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public ExchangeCallException(string command, string message, bool notFound)
            : base(command + ": " + message)
        {
            Command = command;
            NotFound = notFound;
        }

        /// <summary>The cmdlet that failed.</summary>
        public string Command { get; }

        /// <summary>True when the object asked for does not exist (ManagementObjectNotFoundException and the like).</summary>
        public bool NotFound { get; }
    }

    /// <summary>
    /// The admin's Exchange Online session, as the engine sees it: runs EXO cmdlets and streams their output as
    /// <see cref="ExchangeRecord"/>s. The cmdlet layer implements it by running the caller's own cmdlets (their
    /// Connect-ExchangeOnline session) on the pipeline thread in a local scope; tests implement it with fakes. Lives in the
    /// dependency-free Models assembly, like <see cref="IGraphTransport"/>.
    /// </summary>
    public interface IExchangeSession
    {
        /// <summary>How many cmdlet calls were made (retries included).</summary>
        int Calls { get; }

        /// <summary>Null when a usable session exists; otherwise why not.</summary>
        Task<string?> CheckConnectionAsync(CancellationToken cancellationToken);

        /// <summary>
        /// Runs <paramref name="command"/> and hands each output object to <paramref name="onRecord"/> as it arrives.
        /// Throws <see cref="ExchangeCallException"/> when the call fails.
        /// </summary>
        Task InvokeAsync(ExchangeCommand command, Action<ExchangeRecord> onRecord, CancellationToken cancellationToken);
    }
}
