using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace SmtpAuthTroubleshooter
{
    /// <summary>One identity's outcome: its policy state, or "no such mailbox".</summary>
    public sealed class PolicyStateResult
    {
        /// <summary>Creates a result.</summary>
        public PolicyStateResult(string identity, SmtpAuthPolicyState? state)
        {
            Identity = identity;
            State = state;
        }

        /// <summary>The identity as given.</summary>
        public string Identity { get; }

        /// <summary>The state; null when Exchange Online has no mailbox by that identity.</summary>
        public SmtpAuthPolicyState? State { get; }
    }

    /// <summary>
    /// What Get-SmtpAuthPolicyState needs from the engine's policy reader (the port the cmdlet holds; STYLE rule 38 keeps
    /// engine types out of cmdlet fields): the tenant read once, mailboxes read in batches, or every mailbox streamed.
    /// </summary>
    public interface IPolicyStateSource
    {
        /// <summary>The number of mailboxes a tenant-wide read found, once it is known.</summary>
        int? Total { get; }

        /// <summary>The Exchange service principal's object id for the app being checked, when one was read.</summary>
        string? ServicePrincipalObjectId { get; }

        /// <summary>Reads the organization-wide settings (and the app's service principal, SendAs rights) once.</summary>
        Task ReadTenantAsync(CancellationToken cancellationToken);

        /// <summary>Reads the given mailboxes (one filtered call per kind for the batch), in input order.</summary>
        Task<IReadOnlyList<PolicyStateResult>> ReadAsync(IReadOnlyList<string> identities, CancellationToken cancellationToken);

        /// <summary>Reads every mailbox of the chosen kinds, handing over the states a batch at a time.</summary>
        Task ReadAllAsync(Func<IReadOnlyList<SmtpAuthPolicyState>, Task> onBatch, CancellationToken cancellationToken);
    }
}
