using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace SmtpAuthTroubleshooter.Engine.Probe
{
    /// <summary>Identity comparison (netstandard2.0 has no System.Collections.Generic.ReferenceEqualityComparer).</summary>
    internal sealed class ReferenceEqualityComparer : IEqualityComparer<object>
    {
        public static readonly ReferenceEqualityComparer Instance = new ReferenceEqualityComparer();

        public new bool Equals(object? x, object? y) => ReferenceEquals(x, y);

        public int GetHashCode(object obj) => RuntimeHelpers.GetHashCode(obj);
    }
}
