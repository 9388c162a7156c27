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
    }
}
