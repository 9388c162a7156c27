using System.Runtime.CompilerServices;

namespace SmtpAuthTroubleshooter.Commands
{
    /// <summary>
    /// Lets a policy state travel down the pipeline with the probe result it was piped into
    /// (Get-SmtpAuthPolicyState | Test-SmtpAuth | Resolve-SmtpAuthError) without adding a non-scalar property to the
    /// result: the link lives beside the object, dies with it, and never reaches Export-Csv or ConvertTo-Json.
    /// </summary>
    internal static class PipelineContext
    {
        private static readonly ConditionalWeakTable<SmtpAuthTestResult, SmtpAuthPolicyState> s_states = new ConditionalWeakTable<SmtpAuthTestResult, SmtpAuthPolicyState>();

        public static void Attach(SmtpAuthTestResult result, SmtpAuthPolicyState state)
        {
            s_states.Remove(result);
            s_states.Add(result, state);
        }

        public static SmtpAuthPolicyState? StateFor(SmtpAuthTestResult result) =>
            s_states.TryGetValue(result, out SmtpAuthPolicyState? state) ? state : null;
    }
}
