using System;
using System.Collections;
using System.Management.Automation;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// The one way the module runs anything in the caller's runspace (the EXO cmdlets of Connect-ExchangeOnline,
    /// Invoke-MgGraphRequest of Connect-MgGraph): always in a new local scope. PowerShell's AddCommand and AddScript
    /// default to running in the caller's current scope (a script or function is dot-sourced there), so every variable
    /// the script or a PowerShell function sets ($p, $r, $Uri, ...) would overwrite the admin's own. The session is theirs.
    /// </summary>
    internal static class CallerRunspace
    {
        /// <summary>A command (cmdlet or function) to run in a local scope of the caller's runspace.</summary>
        public static PowerShell Command(string name) =>
            PowerShell.Create(RunspaceMode.CurrentRunspace).AddCommand(name, useLocalScope: true);

        /// <summary>A script to run in a local scope of the caller's runspace.</summary>
        public static PowerShell Script(string script) =>
            PowerShell.Create(RunspaceMode.CurrentRunspace).AddScript(script, useLocalScope: true);

        /// <summary>
        /// The caller's $Error as it is now; disposing the scope takes out the records added since. A call made on the
        /// admin's behalf reports its failures as the module's own (a reason, MailboxNotFound, a throttled read), so the
        /// records it leaves in $Error (even those a try/catch caught, which PowerShell records too) are not the admin's:
        /// left there, they made $Error[0] a raw Exchange or Graph record and inflated $Error.Count. Use it on the pipeline
        /// thread, around each call.
        /// </summary>
        public static ErrorScope KeepErrors(ArrayList? callerErrors) => new ErrorScope(callerErrors);

        /// <summary>The caller's $Error (the same list for the whole session: $Error cannot be replaced).</summary>
        public static ArrayList? Errors(PSCmdlet cmdlet) => cmdlet.SessionState.PSVariable.GetValue("global:Error") as ArrayList;

        /// <summary>See <see cref="KeepErrors"/>.</summary>
        internal readonly struct ErrorScope : IDisposable
        {
            private readonly ArrayList? _errors;
            private readonly object? _newestBefore;

            public ErrorScope(ArrayList? errors)
            {
                _errors = errors;
                _newestBefore = errors is { Count: > 0 } ? errors[0] : null;
            }

            // $Error holds the newest record first; what the call added sits in front of the record that was newest before
            // it. (When more records were added than $MaximumErrorCount keeps, that record is gone and so is every older one.)
            public void Dispose()
            {
                if (_errors is null)
                {
                    return;
                }

                while (_errors.Count > 0 && !ReferenceEquals(_errors[0], _newestBefore))
                {
                    _errors.RemoveAt(0);
                }
            }
        }
    }
}
