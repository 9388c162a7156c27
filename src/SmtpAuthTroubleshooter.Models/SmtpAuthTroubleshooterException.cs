using System;

namespace SmtpAuthTroubleshooter
{
    /// <summary>
    /// The one exception type the engine lets out. It wraps MailKit, Graph and MSAL exceptions so that the
    /// cmdlets never see a dependency's type (STYLE rules 2, 25), and it carries a stable error id.
    /// </summary>
    [Serializable]
    public sealed class SmtpAuthTroubleshooterException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public SmtpAuthTroubleshooterException(string errorId, SmtpAuthErrorKind kind, string message, string? recommendedAction = null, Exception? innerException = null)
            : base(message, innerException)
        {
            ErrorId = errorId;
            Kind = kind;
            RecommendedAction = recommendedAction;
        }

        /// <summary>Stable error id, e.g. <c>InputObjectEmpty</c>.</summary>
        public string ErrorId { get; }

        /// <summary>The kind of failure, mapped to an ErrorCategory by the cmdlets.</summary>
        public SmtpAuthErrorKind Kind { get; }

        /// <summary>What the admin should do.</summary>
        public string? RecommendedAction { get; }
    }
}
