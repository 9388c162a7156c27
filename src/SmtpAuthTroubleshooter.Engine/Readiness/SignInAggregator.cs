using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace SmtpAuthTroubleshooter.Engine.Readiness
{
    /// <summary>One sender's basic SMTP AUTH use in the window: a mailbox and the client IP it signs in from.</summary>
    public sealed class SenderUsage
    {
        internal SenderUsage(string userPrincipalName, string ip, int days)
        {
            UserPrincipalName = userPrincipalName;
            Ip = ip;
            PerDay = new int[days];
            FailuresPerDay = new int[days];
            FirstDay = DateTime.MinValue;
        }

        /// <summary>The sign-in name as the log has it (first spelling seen).</summary>
        public string UserPrincipalName { get; }
        /// <summary>The client IP.</summary>
        public string Ip { get; }
        /// <summary>Sign-ins.</summary>
        public int Count { get; internal set; }
        /// <summary>Successful sign-ins (errorCode 0).</summary>
        public int Successes { get; internal set; }
        /// <summary>Failed sign-ins.</summary>
        public int Failures => Count - Successes;
        /// <summary>First sign-in.</summary>
        public DateTime? FirstUtc { get; internal set; }
        /// <summary>Last sign-in.</summary>
        public DateTime? LastUtc { get; internal set; }
        /// <summary>Last successful sign-in.</summary>
        public DateTime? LastSuccessUtc { get; internal set; }
        /// <summary>Last failed sign-in.</summary>
        public DateTime? LastFailureUtc { get; internal set; }
        /// <summary>Failed sign-ins on the days after the day of the last successful one (day granularity: the rows are not kept).</summary>
        public int FailuresSinceLastSuccess
        {
            get
            {
                if (LastSuccessUtc is not DateTime last)
                {
                    return Failures;
                }

                int after = (int)(last.Date - FirstDay).TotalDays + 1;
                int n = 0;
                for (int i = Math.Max(0, after); i < FailuresPerDay.Length; i++)
                {
                    n += FailuresPerDay[i];
                }

                return n;
            }
        }

        /// <summary>Failed sign-ins per day, index 0 = the window's first day.</summary>
        internal int[] FailuresPerDay { get; }

        /// <summary>The window's first day (UTC midnight).</summary>
        internal DateTime FirstDay { get; set; }
        /// <summary>Error code of the last failure.</summary>
        public int? LastErrorCode { get; internal set; }
        /// <summary>Its reason.</summary>
        public string? LastFailureReason { get; internal set; }
        /// <summary>City, country of the last sign-in.</summary>
        public string? Location { get; internal set; }
        /// <summary>User agent of the last sign-in (beta).</summary>
        public string? UserAgent { get; internal set; }
        /// <summary>Sign-ins per day, index 0 = the window's first day (UTC).</summary>
        public int[] PerDay { get; }

        /// <summary>
        /// Basic sign-ins that used to succeed and fail ever since: at least two failures on the days after the last success
        /// (the default-off, a password change or a new policy).
        /// </summary>
        public bool TurnedToFailure => Successes > 0 && FailuresSinceLastSuccess >= 2;
    }

    /// <summary>
    /// Aggregates Entra "Authenticated SMTP" sign-ins (basic SMTP AUTH) per mailbox and client IP as they stream in, page by
    /// page: memory grows with the number of senders, not with the number of rows. Rows arrive newest first or in any order.
    /// </summary>
    public sealed class SignInAggregator
    {
        private readonly Dictionary<(string, string), SenderUsage> _senders = new Dictionary<(string, string), SenderUsage>();

        /// <summary>Creates an aggregator for the <paramref name="days"/> days up to <paramref name="nowUtc"/>.</summary>
        public SignInAggregator(int days, DateTime nowUtc)
        {
            if (days < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(days));
            }

            Days = days;
            FirstDay = nowUtc.Date.AddDays(1 - days);
        }

        /// <summary>The window in days.</summary>
        public int Days { get; }

        /// <summary>The window's first day (UTC midnight).</summary>
        public DateTime FirstDay { get; }

        /// <summary>Rows read.</summary>
        public long Rows { get; private set; }

        /// <summary>Rows that were not Authenticated SMTP sign-ins or had no user (ignored).</summary>
        public long Skipped { get; private set; }

        /// <summary>Adds one signIn resource (Graph JSON).</summary>
        public void Add(JsonElement signIn)
        {
            Rows++;
            string? client = Text(signIn, "clientAppUsed");
            string? upn = Text(signIn, "userPrincipalName");
            if (upn is null || (client is not null && !string.Equals(client, "Authenticated SMTP", StringComparison.OrdinalIgnoreCase)) ||
                !signIn.TryGetProperty("createdDateTime", out JsonElement created) || !created.TryGetDateTime(out DateTime when))
            {
                Skipped++;
                return;
            }

            when = when.ToUniversalTime();
            string ip = Text(signIn, "ipAddress") ?? string.Empty;
            (string, string) key = (upn.ToUpperInvariant(), ip);
            if (!_senders.TryGetValue(key, out SenderUsage? s))
            {
                s = new SenderUsage(upn, ip, Days) { FirstDay = FirstDay };
                _senders.Add(key, s);
            }

            int code = 0;
            string? reason = null;
            if (signIn.TryGetProperty("status", out JsonElement status) && status.ValueKind == JsonValueKind.Object)
            {
                if (status.TryGetProperty("errorCode", out JsonElement ec) && ec.ValueKind == JsonValueKind.Number)
                {
                    code = ec.GetInt32();
                }

                reason = Text(status, "failureReason");
            }

            bool ok = code == 0;
            s.Count++;
            int day = (int)(when.Date - FirstDay).TotalDays;
            if (day >= 0 && day < Days)
            {
                s.PerDay[day]++;
            }

            if (s.FirstUtc is null || when < s.FirstUtc)
            {
                s.FirstUtc = when;
            }

            if (s.LastUtc is null || when >= s.LastUtc)
            {
                s.LastUtc = when;
                s.Location = Location(signIn) ?? s.Location;
                s.UserAgent = Text(signIn, "userAgent") ?? s.UserAgent;
            }

            if (ok)
            {
                s.Successes++;
                if (s.LastSuccessUtc is null || when > s.LastSuccessUtc)
                {
                    s.LastSuccessUtc = when;
                }
            }
            else if (s.LastFailureUtc is null || when >= s.LastFailureUtc)
            {
                s.LastFailureUtc = when;
                s.LastErrorCode = code;
                s.LastFailureReason = reason;
            }

            if (!ok && day >= 0 && day < Days)
            {
                s.FailuresPerDay[day]++;
            }
        }

        /// <summary>The senders, busiest first.</summary>
        public IReadOnlyList<SenderUsage> Senders
        {
            get
            {
                return _senders.Values.OrderByDescending(s => s.Count).ThenBy(s => s.UserPrincipalName, StringComparer.OrdinalIgnoreCase).ToList();
            }
        }

        /// <summary>Sign-ins per day over every sender.</summary>
        public int[] Total()
        {
            var total = new int[Days];
            foreach (SenderUsage s in _senders.Values)
            {
                for (int i = 0; i < Days; i++)
                {
                    total[i] += s.PerDay[i];
                }
            }

            return total;
        }

        /// <summary>"yyyy-MM-dd=count" pairs for the days with sign-ins, oldest first, joined by ";".</summary>
        public string? PerDayText(int[] perDay)
        {
            var b = new StringBuilder();
            for (int i = 0; i < perDay.Length; i++)
            {
                if (perDay[i] == 0)
                {
                    continue;
                }

                if (b.Length > 0)
                {
                    b.Append(';');
                }

                b.Append(FirstDay.AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append('=').Append(perDay[i].ToString(CultureInfo.InvariantCulture));
            }

            return b.Length == 0 ? null : b.ToString();
        }

        private static string? Location(JsonElement signIn)
        {
            if (!signIn.TryGetProperty("location", out JsonElement l) || l.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            string?[] parts = { Text(l, "city"), Text(l, "countryOrRegion") };
            string joined = string.Join(", ", parts.Where(p => !string.IsNullOrEmpty(p)));
            return joined.Length == 0 ? null : joined;
        }

        private static string? Text(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : null;
    }
}
