using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// The engine's <see cref="IExchangeSession"/> over the caller's own Connect-ExchangeOnline session: each call runs the
    /// caller's EXO cmdlet on the pipeline thread (marshalled there from engine code, as the Graph session path does), in a
    /// local scope (<see cref="CallerRunspace"/>), with the EXO throttling retry of <see cref="ExchangeReader"/>; each output
    /// object is reduced at once to the properties the engine asked for.
    /// </summary>
    internal sealed class CallerExchangeSession : IExchangeSession
    {
        private readonly ExchangeReader _reader;
        private readonly Func<Func<bool>, Task<bool>> _onPipelineThread;

        public CallerExchangeSession(ExchangeReader reader, Func<Func<bool>, Task<bool>> onPipelineThread)
        {
            _reader = reader;
            _onPipelineThread = onPipelineThread;
        }

        public int Calls => _reader.Calls;

        /// <summary>The Entra tenant of the caller's Exchange Online session, when known (after the connection check).</summary>
        public Guid? TenantId => _reader.TenantId;

        public async Task<string?> CheckConnectionAsync(CancellationToken cancellationToken)
        {
            string? why = null;
            await _onPipelineThread(() =>
            {
                why = _reader.CheckSession();
                return true;
            }).ConfigureAwait(false);
            return why;
        }

        public Task InvokeAsync(ExchangeCommand command, Action<ExchangeRecord> onRecord, CancellationToken cancellationToken) =>
            _onPipelineThread(() =>
            {
                var parameters = new Dictionary<string, object?>();
                foreach (KeyValuePair<string, object?> p in command.Parameters)
                {
                    parameters[p.Key] = p.Value;
                }

                _reader.InvokeStreaming(command.Name, parameters, o => onRecord(ToRecord(o, command.Properties)));
                return true;
            });

        internal static ExchangeRecord ToRecord(PSObject o, IReadOnlyList<string> properties)
        {
            var values = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            foreach (string name in properties)
            {
                values[name] = ExchangeReader.Value(o, name) switch
                {
                    bool b => b,
                    DateTime d => d,
                    _ => ExchangeReader.Text(o, name),
                };
            }

            return new ExchangeRecord(values);
        }
    }
}
