using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using SmtpAuthTroubleshooter.Commands;

namespace SmtpAuthTroubleshooter.Cmdlet.Tests
{
    /// <summary>Runs the module's cmdlets in an in-process runspace built from an InitialSessionState.</summary>
    internal static class PowerShellHost
    {
        internal static PowerShell Create()
        {
            InitialSessionState iss = InitialSessionState.CreateDefault2();
            iss.Commands.Add(new SessionStateCmdletEntry("Resolve-SmtpAuthError", typeof(ResolveSmtpAuthErrorCommand), null));
            return PowerShell.Create(iss);
        }

        internal static (Collection<PSObject> Output, List<ErrorRecord> Errors, List<VerboseRecord> Verbose) Run(string script)
        {
            using PowerShell ps = Create();
            ps.AddScript(script);
            Collection<PSObject> output = ps.Invoke();
            // Copy the streams: disposing the PowerShell instance clears them.
            return (output, ps.Streams.Error.ToList(), ps.Streams.Verbose.ToList());
        }
    }
}
