using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Threading;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// Runs the Exchange Online cmdlets (Get-TransportConfig, Get-EXOMailbox, ...) in the caller's runspace, through
    /// the caller's own Connect-ExchangeOnline session, on the pipeline thread only (DESIGN layer 1). The module never
    /// connects to Exchange itself. Throttling errors are retried with back-off, a bounded number of times.
    /// </summary>
    internal sealed class ExchangeReader
    {
        private const int MaxRetries = 3;
        private readonly PSCmdlet _cmdlet;
        private readonly Action<string> _verbose;
        private readonly CancellationToken _token;

        public ExchangeReader(PSCmdlet cmdlet, Action<string> verbose, CancellationToken token)
        {
            _cmdlet = cmdlet;
            _verbose = verbose;
            _token = token;
        }

        public int Calls { get; private set; }

        /// <summary>The Entra tenant of the Exchange Online session (Get-ConnectionInformation TenantID), once <see cref="CheckSession"/> found it.</summary>
        public Guid? TenantId { get; private set; }

        /// <summary>Null when a usable EXO session exists; otherwise the reason.</summary>
        public string? CheckSession()
        {
            if (_cmdlet.InvokeCommand.GetCommand("Get-ConnectionInformation", CommandTypes.Function | CommandTypes.Cmdlet | CommandTypes.Alias) is null)
            {
                return "the ExchangeOnlineManagement module is not loaded";
            }

            Collection<PSObject> connections;
            try
            {
                connections = Invoke("Get-ConnectionInformation", new Dictionary<string, object?>());
            }
            catch (ExchangeCallException ex)
            {
                return ex.Message;
            }

            List<PSObject> live = connections.Where(c =>
                string.Equals(c.Properties["State"]?.Value?.ToString(), "Connected", StringComparison.OrdinalIgnoreCase) &&
                !string.Equals(c.Properties["TokenStatus"]?.Value?.ToString(), "Expired", StringComparison.OrdinalIgnoreCase) &&
                !(c.Properties["IsEopSession"]?.Value is bool eop && eop)).ToList();
            // The tenant the EXO cmdlets read: the one every live connection names; with live connections to several
            // tenants (a loop that connects without disconnecting), the one EXO marks as used by its cmdlets
            // (ConnectionUsedForInbuiltCmdlets, the latest connection without a prefix), if exactly one is; else unknown.
            // A partner's connection to a customer (-DelegatedOrganization) leaves it unknown: its TenantID may name
            // the partner's own tenant.
            List<PSObject> reading = live.Select(TenantOf).Distinct().Count() == 1
                ? live
                : live.Where(c => Bool(c, "ConnectionUsedForInbuiltCmdlets") == true && string.IsNullOrEmpty(Text(c, "ModulePrefix"))).ToList();
            List<Guid?> tenants = reading.Select(TenantOf).Distinct().ToList();
            bool delegated = reading.Any(c => !string.IsNullOrWhiteSpace(Text(c, "DelegatedOrganization")));
            TenantId = tenants.Count == 1 && !delegated ? tenants[0] : null;
            return live.Count > 0 ? null : connections.Count == 0 ? "there is no Exchange Online connection" : "the Exchange Online connection is broken or its token expired";
        }

        public Collection<PSObject> Invoke(string command, IDictionary<string, object?> parameters)
        {
            var all = new Collection<PSObject>();
            InvokeStreaming(command, parameters, all.Add);
            return all;
        }

        /// <summary>
        /// Runs the command and hands each output object to <paramref name="onItem"/> as it arrives, keeping none:
        /// a tenant-wide listing then costs what the caller keeps of it, not the full EXO objects (issue 4: memory flat).
        /// </summary>
        public void InvokeStreaming(string command, IDictionary<string, object?> parameters, Action<PSObject> onItem)
        {
            for (int attempt = 0; ; attempt++)
            {
                _token.ThrowIfCancellationRequested();
                Calls++;
                _verbose(string.Format(CultureInfo.InvariantCulture, "Exchange: {0}{1}", command, Describe(parameters)));
                using PowerShell ps = CallerRunspace.Command(command);
                foreach (KeyValuePair<string, object?> p in parameters)
                {
                    if (p.Value is bool b && b && p.Key.StartsWith("-", StringComparison.Ordinal))
                    {
                        ps.AddParameter(p.Key.Substring(1));
                    }
                    else
                    {
                        ps.AddParameter(p.Key, p.Value);
                    }
                }

                // EXO's own notices (ServiceId deprecation, micro delays) are not the admin's output here.
                ps.AddParameter("WarningAction", ActionPreference.SilentlyContinue);

                string? failure = null;
                bool notFound = false;
                var delivered = new List<PSObject>();
                bool streamed = false;
                using var output = new PSDataCollection<PSObject>();
                // Objects arrive on this (the pipeline) thread while the command runs; take them out at once.
                output.DataAdded += (sender, e) =>
                {
                    foreach (PSObject item in output.ReadAll())
                    {
                        delivered.Add(item);
                        if (delivered.Count >= 256)
                        {
                            streamed = true;
                            Flush(delivered, onItem);
                        }
                    }
                };
                // The call is made on the admin's behalf: its errors are read from its own error stream and reported as
                // the module's (a reason, MailboxNotFound, ...), so the records it leaves in the caller's $Error are taken out.
                using (CallerRunspace.KeepErrors(CallerRunspace.Errors(_cmdlet)))
                {
                    try
                    {
                        ps.Invoke<PSObject, PSObject>(null, output, null);
                        if (ps.HadErrors && ps.Streams.Error.Count > 0)
                        {
                            ErrorRecord first = ps.Streams.Error[0];
                            failure = first.ToString();
                            notFound = IsNotFound(first);
                        }
                    }
                    catch (RuntimeException ex)
                    {
                        delivered.Clear();
                        failure = ex.ErrorRecord?.ToString() ?? ex.Message;
                        notFound = ex.ErrorRecord is not null && IsNotFound(ex.ErrorRecord);
                    }
                }

                if (failure is null)
                {
                    Flush(delivered, onItem);
                    return;
                }

                delivered.Clear();

                // Once objects have been handed on, a retry would hand them on twice: report the failure instead.
                if (IsThrottling(failure) && attempt < MaxRetries && !streamed)
                {
                    TimeSpan wait = TimeSpan.FromSeconds(Math.Pow(2, attempt));
                    _verbose(string.Format(CultureInfo.InvariantCulture, "Exchange: {0} was throttled; retry {1} of {2} in {3:0} s.", command, attempt + 1, MaxRetries, wait.TotalSeconds));
                    if (_token.WaitHandle.WaitOne(wait))
                    {
                        _token.ThrowIfCancellationRequested();
                    }

                    continue;
                }

                throw new ExchangeCallException(command, failure, notFound);
            }
        }

        private static Guid? TenantOf(PSObject connection) => Guid.TryParse(Text(connection, "TenantID"), out Guid g) ? g : null;

        private static void Flush(List<PSObject> items, Action<PSObject> onItem)
        {
            foreach (PSObject item in items)
            {
                onItem(item);
            }

            items.Clear();
        }

        private static bool IsNotFound(ErrorRecord record) =>
            record.CategoryInfo.Category == ErrorCategory.ObjectNotFound ||
            (record.CategoryInfo.Reason?.IndexOf("NotFound", StringComparison.OrdinalIgnoreCase) ?? -1) >= 0 ||
            record.ToString().IndexOf("ManagementObjectNotFoundException", StringComparison.OrdinalIgnoreCase) >= 0 ||
            record.ToString().IndexOf("couldn't be found", StringComparison.OrdinalIgnoreCase) >= 0;

        // Exchange Online PowerShell V3 throttling errors, https://learn.microsoft.com/powershell/exchange/exchange-online-powershell-v2: micro-delay, "server busy", 429 / MaxRetryReached from the V3 client.
        private static bool IsThrottling(string text) =>
            text.IndexOf("throttl", StringComparison.OrdinalIgnoreCase) >= 0 ||
            text.IndexOf("server busy", StringComparison.OrdinalIgnoreCase) >= 0 ||
            text.IndexOf("Micro delay", StringComparison.OrdinalIgnoreCase) >= 0 ||
            text.IndexOf("TooManyRequests", StringComparison.OrdinalIgnoreCase) >= 0 ||
            text.IndexOf("Maximum retry count reached", StringComparison.OrdinalIgnoreCase) >= 0;

        private static string Describe(IDictionary<string, object?> parameters)
        {
            var parts = new List<string>();
            foreach (KeyValuePair<string, object?> p in parameters)
            {
                string value = p.Value switch
                {
                    null => "$null",
                    bool b => b ? string.Empty : "$false",
                    string s => s.Length > 80 ? "'" + s.Substring(0, 80) + "...'" : "'" + s + "'",
                    IEnumerable e => string.Join(",", e.Cast<object>()),
                    // As the service gets it, whatever the admin's culture: a th-TH session's DateTime.ToString() is in
                    // the Buddhist calendar (2569), and a text with a space is no argument.
                    DateTime d => "'" + d.ToString("o", CultureInfo.InvariantCulture) + "'",
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    _ => p.Value.ToString() ?? string.Empty,
                };
                parts.Add(" -" + p.Key.TrimStart('-') + (value.Length > 0 ? " " + value : string.Empty));
            }

            return string.Concat(parts);
        }

        internal static object? Value(PSObject o, string name)
        {
            object? v = o.Properties[name]?.Value;
            return v is PSObject p ? p.BaseObject : v;
        }

        internal static string? Text(PSObject o, string name)
        {
            object? v = Value(o, name);
            string? s = v is IEnumerable list && v is not string
                ? string.Join(", ", list.Cast<object?>().Select(x => (x is PSObject p ? p.BaseObject : x)?.ToString()))
                : v?.ToString();
            return string.IsNullOrWhiteSpace(s) ? null : s;
        }

        internal static bool? Bool(PSObject o, string name) => Value(o, name) switch
        {
            bool b => b,
            string s when bool.TryParse(s, out bool p) => p,
            _ => null,
        };
    }
}
