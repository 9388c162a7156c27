using System;
using System.Collections.Generic;
using System.Globalization;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// Lets a policy state travel down the pipeline with the probe result it was piped into
    /// (Get-SmtpAuthPolicyState | Test-SmtpAuth | Resolve-SmtpAuthError) without a non-scalar property on the result:
    /// the result carries the state's id (a string, <see cref="SmtpAuthTestResult.PolicyStateId"/>) and the states live here,
    /// in this PowerShell process. The id survives Select-Object * and Export-Clixml/Import-Clixml (a weak table keyed by
    /// the object did not: the copy is another object); a state that is not here any more is reported, not silently missed.
    /// Bounded: the most recent <see cref="Capacity"/> states (a few hundred bytes each) are kept.
    /// </summary>
    internal static class PipelineContext
    {
        internal const int Capacity = 50000;
        private static readonly object s_lock = new object();
        private static readonly Dictionary<string, SmtpAuthPolicyState> s_states = new Dictionary<string, SmtpAuthPolicyState>(StringComparer.Ordinal);
        private static readonly Queue<string> s_order = new Queue<string>();

        /// <summary>Keeps the state and stamps its id on the result.</summary>
        public static void Attach(SmtpAuthTestResult result, SmtpAuthPolicyState state)
        {
            string id = Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
            lock (s_lock)
            {
                s_states[id] = state;
                s_order.Enqueue(id);
                while (s_order.Count > Capacity)
                {
                    s_states.Remove(s_order.Dequeue());
                }
            }

            result.PolicyStateId = id;
        }

        /// <summary>The state an id names, or null when it is not in this process (any more).</summary>
        public static SmtpAuthPolicyState? StateFor(string? id)
        {
            if (string.IsNullOrEmpty(id))
            {
                return null;
            }

            lock (s_lock)
            {
                return s_states.TryGetValue(id!, out SmtpAuthPolicyState? state) ? state : null;
            }
        }
    }
}
