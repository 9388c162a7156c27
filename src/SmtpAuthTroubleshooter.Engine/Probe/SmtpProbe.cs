using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using SmtpAuthTroubleshooter.Engine.Knowledge;

namespace SmtpAuthTroubleshooter.Engine.Probe
{
    /// <summary>
    /// A live SMTP AUTH probe on MailKit: DNS, TCP, banner, EHLO, STARTTLS, TLS, EHLO, AUTH and, when asked, MAIL
    /// FROM / RCPT TO / DATA. Every failure becomes a result with the phase it stopped in; only a user's cancel
    /// escapes (as OperationCanceledException). Credentials are never sent over an unencrypted connection unless
    /// the request allows it explicitly.
    /// </summary>
    public sealed class SmtpProbe
    {
        private readonly Func<DateTimeOffset> _clock;
        private readonly Func<TimeSpan, int> _mailKitTimeout;

        /// <summary>Creates a probe; the clock is for token-expiry checks.</summary>
        public SmtpProbe(Func<DateTimeOffset>? clock = null)
            : this(clock, MailKitTimeout)
        {
        }

        /// <summary>Tests: MailKit's own time limit from the probe's (to make MailKit's timer fire first).</summary>
        internal SmtpProbe(Func<DateTimeOffset>? clock, Func<TimeSpan, int> mailKitTimeout)
        {
            _clock = clock ?? (() => DateTimeOffset.UtcNow);
            _mailKitTimeout = mailKitTimeout;
        }

        /// <summary>Tests: where a host name resolves (a name such as smtp.office365.com onto a server on loopback).</summary>
        internal Func<string, IPAddress>? HostAddress { get; set; }

        /// <summary>Runs one probe.</summary>
        public async Task<SmtpAuthTestResult> RunAsync(ProbeRequest request, IDiagnosticSink sink, CancellationToken cancellationToken)
        {
            CloudEndpoints cloud = CloudEndpoints.For(request.Environment);
            string server = string.IsNullOrWhiteSpace(request.Server) ? cloud.SmtpHost : request.Server!.Trim();
            var result = new SmtpAuthTestResult
            {
                Server = server,
                Port = request.Port,
                UserName = request.UserName,
                AuthMethod = request.AuthMethod,
                TlsMode = request.TlsMode,
                Environment = request.Environment,
                StartedUtc = _clock().UtcDateTime,
                CertificateCheckSkipped = request.SkipCertificateCheck,
            };
            if (request.SendTestMessage)
            {
                result.From = request.From ?? request.UserName;
                result.To = request.To ?? request.UserName;
                if (!IsTestMessageAddress(result.From) || !IsTestMessageAddress(result.To))
                {
                    // Bad input, not a probe result: the cmdlet reports it as an ErrorRecord before it gets here.
                    throw new ArgumentException(Format("The test message needs a sender and a recipient address (From '{0}', To '{1}').", result.From, result.To), nameof(request));
                }
            }

            var stopwatch = Stopwatch.StartNew();
            var log = new TranscriptLogger(stopwatch);
            if (request.Password is not null)
            {
                // Masked wherever the server quotes it (a refusal that echoes the client's line, decoded or not).
                log.AddSecret(new NetworkCredential(string.Empty, request.Password).Password);
            }

            var tls = new TlsObservation();
            Failure? failure = null;
            // One time limit for the whole probe: this token. MailKit's own Timeout is set well past it, and the socket
            // is closed when the token fires, so a stalled read or TLS handshake ends here (MailKit's netstandard2.0
            // build cannot cancel a handshake) and every time-out gives the same phase and message (issue 9).
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var countdown = new ProbeProgress(sink, log, server, request.Port);
            SmtpClient? client = null;
            Socket? socket = null;
            Socket? connected = null;
            CancellationTokenRegistration abort = default;
            try
            {
                string? token = null;
                if (request.TokenSource is ITokenSource source)
                {
                    log.Enter(SmtpPhase.Token);
                    sink.Verbose(Format("Getting an OAuth token: {0}.", source.Description));
                    TimeSpan tokenLimit = source.TimeoutOverride ?? request.Timeout;
                    countdown.Start(tokenLimit);
                    timeout.CancelAfter(tokenLimit);
                    token = await source.GetTokenAsync(sink, timeout.Token).ConfigureAwait(false);
                    log.AddSecret(token);
                    InspectToken(token, request, cloud, result, sink);
                }

                countdown.Start(request.Timeout);
                timeout.CancelAfter(request.Timeout);
                log.Enter(SmtpPhase.Dns);
                IPAddress address = HostAddress is { } hosts ? hosts(server) : await ResolveAsync(server, sink, timeout.Token).ConfigureAwait(false);

                log.Enter(SmtpPhase.Connect);
                socket = await ConnectAsync(address, request.Port, timeout.Token).ConfigureAwait(false);
                connected = socket;
                abort = timeout.Token.Register(() => connected.Dispose());

                log.Enter(SmtpPhase.Banner);
                client = new SmtpClient(log)
                {
                    Timeout = _mailKitTimeout(request.Timeout),
                    SslProtocols = TlsProtocols(),
                    CheckCertificateRevocation = false,
                    LocalDomain = request.LocalDomain ?? "smtpauthtroubleshooter.local",
                    ServerCertificateValidationCallback = (sender, certificate, chain, errors) => tls.Validate(sender, certificate, chain, errors, request.SkipCertificateCheck),
                };
                if (request.TlsMode == SmtpTlsMode.Implicit)
                {
                    log.TlsOnConnect();
                    log.Enter(SmtpPhase.Tls);
                }

                SecureSocketOptions options = request.TlsMode switch
                {
                    SmtpTlsMode.Implicit => SecureSocketOptions.SslOnConnect,
                    SmtpTlsMode.None => SecureSocketOptions.None,
                    // STARTTLS required is checked below, not by MailKit: MailKit drops the connection without QUIT when
                    // STARTTLS is missing, and a client must say QUIT before it hangs up (RFC 5321 4.1.1.10).
                    _ => SecureSocketOptions.StartTlsWhenAvailable,
                };
                await client.ConnectAsync(socket, server, request.Port, options, timeout.Token).ConfigureAwait(false);
                socket = null; // owned by the client now
                ReadCapabilities(client, log, tls, result);
                sink.Verbose(Format("Connected: STARTTLS offered {0}; TLS {1}; AUTH before TLS [{2}], after TLS [{3}].",
                    result.StartTlsOffered, result.TlsProtocol ?? "none", result.AuthMechanismsBeforeTls ?? string.Empty, result.AuthMechanismsAfterTls ?? string.Empty));
                if (request.Mechanism != SmtpAuthMechanism.None && !LooksLikeUpn(request.UserName) && IsExchangeOnline(server, log))
                {
                    sink.Warning(Format("'{0}' is not in user principal name form (user@domain): Exchange Online signs SMTP AUTH in with the account's UPN, so it will refuse this name. The probe runs anyway.", request.UserName));
                }

                if (request.TlsMode == SmtpTlsMode.StartTls && !client.IsSecure && !request.AllowUnencryptedAuthentication)
                {
                    // The words MailKit's own refusal used (SecureSocketOptions.StartTls), then QUIT in the finally block.
                    failure = new Failure(SmtpPhase.StartTls, "The SMTP server does not support the STARTTLS extension. The credentials were not sent.");
                }
                else if (request.Mechanism != SmtpAuthMechanism.None)
                {
                    if (!client.IsSecure && !request.AllowUnencryptedAuthentication)
                    {
                        // Never send credentials in clear by default.
                        failure = new Failure(SmtpPhase.StartTls, result.StartTlsOffered == false
                            ? "The SMTP server does not support the STARTTLS extension, so the credentials were not sent over an unencrypted connection (use -AllowUnencryptedAuthentication to override)."
                            : "The connection is not encrypted (-TlsMode None), so the credentials were not sent over an unencrypted connection (use -AllowUnencryptedAuthentication to override).");
                    }
                    else if (ImpostorOf(server, log, tls, client.IsSecure) is string impostor)
                    {
                        // The name asked for is Exchange Online's, nothing proved the server is, and what it showed says
                        // it is not: the secret does not go to it (issue 10).
                        log.Enter(SmtpPhase.Auth);
                        failure = new Failure(SmtpPhase.Auth, impostor);
                    }
                    else if (!client.Capabilities.HasFlag(SmtpCapabilities.Authentication))
                    {
                        // A server that takes passwords only over TLS offers STARTTLS and no AUTH mechanism in clear (Exim,
                        // OpenSMTPD; Dovecot sends the AUTH keyword with an empty list): it supports authentication, after
                        // STARTTLS, which a -TlsMode None session never sends.
                        log.Enter(SmtpPhase.Auth);
                        failure = new Failure(SmtpPhase.Auth, !client.IsSecure && result.StartTlsOffered == true
                            ? "The SMTP server advertises no AUTH mechanism on this unencrypted connection, and it offers STARTTLS: a server that takes passwords only over TLS advertises AUTH after STARTTLS (test with -TlsMode StartTls). No credentials were sent."
                            : "The SMTP server does not support authentication: its EHLO reply advertises no AUTH mechanism, so no credentials were sent.");
                    }
                    else
                    {
                        log.Enter(SmtpPhase.Auth);
                        IReadOnlyList<string> offered = AuthMechanisms(client.IsSecure ? log.EhloAfterTls : log.EhloBeforeTls);
                        MechanismChoice choice = ChooseMechanism(request, token, offered);
                        if (choice.Refusal is string refusal)
                        {
                            // The secret goes only to a server that asked for it in a form we send (issue 9).
                            failure = new Failure(SmtpPhase.Auth, refusal);
                        }
                        else
                        {
                            SaslMechanism mechanism = choice.Mechanism!;
                            result.Mechanism = mechanism.MechanismName;
                            if (choice.Note is string note)
                            {
                                sink.Verbose(note);
                            }

                            sink.Verbose(Format("Authenticating as {0} with AUTH {1} (the server offers [{2}]).", request.UserName, mechanism.MechanismName, string.Join(" ", offered)));
                            await client.AuthenticateAsync(mechanism, timeout.Token).ConfigureAwait(false);
                        }
                    }
                }

                // A server that closed the session right after AUTH (its 421 already read) gets no test message.
                if (failure is null && request.SendTestMessage && ClosedAfterAuth(log) is null)
                {
                    using MimeMessage message = TestMessage(result.From ?? string.Empty, result.To ?? string.Empty, result.StartedUtc);
                    await client.SendAsync(message, timeout.Token).ConfigureAwait(false);
                    result.TestMessageSent = true;
                }
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested)
            {
                // The user's cancel (Ctrl+C), whatever it broke on the way (the socket is closed by it too).
                throw ex as OperationCanceledException ?? new OperationCanceledException(cancellationToken);
            }
            catch (Exception ex) when (Failure.From(ex, log, timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested, tls.Seen, request, server, tls) is Failure f)
            {
                failure = f;
            }
            finally
            {
                countdown.Dispose();
                abort.Dispose();
                log.Finish();
                if (client is not null)
                {
                    if (!timeout.IsCancellationRequested)
                    {
                        await QuitAsync(client).ConfigureAwait(false);
                    }

                    client.Dispose();
                }

                socket?.Dispose();
                connected?.Dispose();
            }

            Complete(result, log, tls, failure, stopwatch);
            Redact(result, log);
            sink.Debug("SMTP transcript (redacted):\n" + result.Transcript);
            sink.Progress(ProbeProgress.Activity, "Done", 100);
            return result;
        }

        private void InspectToken(string token, ProbeRequest request, CloudEndpoints cloud, SmtpAuthTestResult result, IDiagnosticSink sink)
        {
            TokenFacts facts = TokenInspector.Inspect(token, request.UserName ?? string.Empty, cloud.Audiences, _clock());
            if (!facts.Readable)
            {
                sink.Verbose("The access token is not a readable JWT; its claims cannot be checked before AUTH.");
                return;
            }

            result.TokenAudience = facts.Audience;
            result.TokenScopes = string.Join(" ", facts.Scopes.Concat(facts.Roles));
            result.TokenExpiresUtc = facts.ExpiresUtc;
            result.TokenTenantId = facts.TenantId;
            result.TokenIdentity = facts.User ?? facts.AppId;
            result.TokenIssueIds = facts.Issues.ToArray();
            sink.Verbose(Format("Token claims: aud {0}; scopes/roles [{1}]; expires {2:u}; tenant {3}; identity {4}.",
                facts.Audience, result.TokenScopes, facts.ExpiresUtc, facts.TenantId, result.TokenIdentity));
            for (int i = 0; i < facts.Issues.Count; i++)
            {
                sink.Warning("Token check: " + facts.IssueDetails[i] + (facts.Issues[i] == CauseIds.TokenUserMismatch
                    ? ". Exchange Online takes that only when the mailbox AUTH names is a shared mailbox this user has FullAccess to; otherwise it refuses it with 535 5.7.3."
                    : ". Exchange Online will refuse it with 535 5.7.3."));
            }
        }

        private static async Task<IPAddress> ResolveAsync(string server, IDiagnosticSink sink, CancellationToken token)
        {
            if (IPAddress.TryParse(server, out IPAddress? literal))
            {
                return literal;
            }

            sink.Verbose(Format("Resolving {0}.", server));
            Task<IPAddress[]> lookup = Dns.GetHostAddressesAsync(server);
            await Task.WhenAny(lookup, Task.Delay(System.Threading.Timeout.Infinite, token)).ConfigureAwait(false);
            token.ThrowIfCancellationRequested();
            IPAddress[] addresses = await lookup.ConfigureAwait(false);
            IPAddress? chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
            if (chosen is null)
            {
                throw new SocketException((int)SocketError.HostNotFound);
            }

            sink.Verbose(Format("{0} resolves to {1}.", server, string.Join(", ", addresses.Select(a => a.ToString()))));
            return chosen;
        }

        private static async Task<Socket> ConnectAsync(IPAddress address, int port, CancellationToken token)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using (token.Register(() => socket.Dispose()))
                {
                    await socket.ConnectAsync(new IPEndPoint(address, port)).ConfigureAwait(false);
                }

                token.ThrowIfCancellationRequested();
                return socket;
            }
            catch (ObjectDisposedException) when (token.IsCancellationRequested)
            {
                socket.Dispose();
                throw new OperationCanceledException(token);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        // TLS 1.2 and 1.3 (Exchange Online requires 1.2+, https://learn.microsoft.com/exchange/mail-flow-best-practices/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365 https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/opt-in-exchange-online-endpoint-for-legacy-tls-using-smtp-auth); .NET Framework has no TLS 1.3 name.
        private static SslProtocols TlsProtocols()
        {
            bool netFramework = RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);
            return netFramework ? SslProtocols.Tls12 : SslProtocols.Tls12 | (SslProtocols)12288;
        }

        // MailKit's own read/write time limit, set past the probe's so that it never fires first (the probe's token
        // closes the socket at its limit); it stays only as a backstop.
        internal static int MailKitTimeout(TimeSpan probeTimeout) =>
            (int)Math.Min(int.MaxValue, probeTimeout.TotalMilliseconds + 30000);

        /// <summary>
        /// The SASL mechanism to use, chosen from what the server advertises (issue 9): XOAUTH2 for a token; for a
        /// password LOGIN if offered, else PLAIN. A token is never sent to a server that does not advertise XOAUTH2, and
        /// a password never without a password mechanism to carry it. A forced -Mechanism is honoured even when not
        /// advertised, but then without an initial response: the server must answer 334 (ask) before anything secret
        /// is sent, so a server that does not know it refuses the bare AUTH command and sees no credential.
        /// </summary>
        internal static MechanismChoice ChooseMechanism(ProbeRequest request, string? token, IReadOnlyList<string> offered)
        {
            string user = request.UserName ?? string.Empty;
            bool Offers(string name) => offered.Contains(name, StringComparer.OrdinalIgnoreCase);
            string list = offered.Count == 0 ? "none" : string.Join(" ", offered);
            if (token is not null)
            {
                return Offers("XOAUTH2")
                    ? new MechanismChoice(new SaslMechanismOAuth2(user, token))
                    : MechanismChoice.Refuse(Format("No compatible authentication mechanism: the server does not advertise AUTH XOAUTH2 (it offers: {0}), so the OAuth token was not sent.", list));
            }

            var credential = new NetworkCredential(user, request.Password);
            switch (request.Mechanism)
            {
                case SmtpAuthMechanism.Login:
                    return new MechanismChoice(new SaslMechanismLogin(credential),
                        Offers("LOGIN") ? null : Format("-Mechanism Login: the server does not advertise AUTH LOGIN (it offers: {0}); trying it anyway, the credentials go only if the server asks for them.", list));
                case SmtpAuthMechanism.Plain:
                    return Offers("PLAIN")
                        ? new MechanismChoice(new SaslMechanismPlain(credential))
                        : new MechanismChoice(new PlainWithoutInitialResponse(credential),
                            Format("-Mechanism Plain: the server does not advertise AUTH PLAIN (it offers: {0}); trying it anyway without an initial response, the credentials go only if the server asks for them.", list));
                default:
                    if (Offers("LOGIN"))
                    {
                        return new MechanismChoice(new SaslMechanismLogin(credential));
                    }

                    return Offers("PLAIN")
                        ? new MechanismChoice(new SaslMechanismPlain(credential))
                        : MechanismChoice.Refuse(Format("No compatible authentication mechanism: the server advertises no password mechanism the probe can use (LOGIN or PLAIN; it offers: {0}), so the password was not sent.", list));
            }
        }

        /// <summary>The mechanism to use, or why none is used; and a note for the verbose stream.</summary>
        internal sealed class MechanismChoice
        {
            public MechanismChoice(SaslMechanism mechanism, string? note = null)
            {
                Mechanism = mechanism;
                Note = note;
            }

            private MechanismChoice(string refusal) => Refusal = refusal;

            public SaslMechanism? Mechanism { get; }
            public string? Note { get; }
            public string? Refusal { get; }

            public static MechanismChoice Refuse(string refusal) => new MechanismChoice(refusal);
        }

        /// <summary>AUTH PLAIN that waits for the server's 334 before it sends the credentials.</summary>
        private sealed class PlainWithoutInitialResponse : SaslMechanismPlain
        {
            public PlainWithoutInitialResponse(NetworkCredential credential)
                : base(credential)
            {
            }

            public override bool SupportsInitialResponse => false;
        }

        /// <summary>True when <paramref name="address"/> can be the sender or recipient of the test message: one mailbox
        /// address (user@domain) that MimeKit parses. The cmdlet checks this before it connects, so a probe never stops on
        /// a message it could not build (issue 11: that surfaced as an EHLO failure).</summary>
        public static bool IsTestMessageAddress(string? address) =>
            LooksLikeUpn(address) && MailboxAddress.TryParse(address, out MailboxAddress? parsed) && parsed.Address.IndexOf('@') > 0;

        /// <summary>True for a name in user@domain form, the only form a UPN takes.</summary>
        internal static bool LooksLikeUpn(string? name)
        {
            if (string.IsNullOrEmpty(name))
            {
                return false;
            }

            int at = name!.IndexOf('@');
            return at > 0 && at == name.LastIndexOf('@') && at < name.Length - 1 && name.IndexOf(' ') < 0;
        }

        private static readonly char[] s_bannerSeparators = { ' ', '-' };
        private static readonly char[] s_whiteSpace = { ' ', '\t' };

        private static readonly string[] s_exchangeOnlineSuffixes =
        {
            ".office365.com", ".outlook.com", ".office365.us", ".outlook.cn", ".partner.outlook.cn",
        };

        /// <summary>
        /// Exchange Online's client submission endpoint, by the host name asked for, or by the greeting: Exchange Online
        /// greets as "&lt;server&gt;.outlook.office365.com Microsoft ESMTP MAIL Service ready" (an on-premises Exchange server
        /// says the same with its own name, and takes DOMAIN\user names, so the name must be Microsoft's).
        /// </summary>
        internal static bool IsExchangeOnline(string server, TranscriptLogger log)
        {
            if (EndsWithAny(server.TrimEnd('.')))
            {
                return true;
            }

            string? greeting = Greeting(log);
            if (!CloudEndpoints.IsExchangeGreeting(greeting))
            {
                return false;
            }

            string[] words = greeting!.Split(s_bannerSeparators, 3, StringSplitOptions.RemoveEmptyEntries);
            return words.Length >= 2 && EndsWithAny(words[1]);
        }

        /// <summary>
        /// Why the server that answered for Exchange Online's host name is another one, when nothing proved it is
        /// Exchange Online: certificate checking was off (-SkipCertificateCheck) and the certificate had errors, or the
        /// session was not encrypted, and its greeting is not Exchange Online's or its certificate is for another name.
        /// A hosting provider's outbound SMTP redirection and a firewall's SMTP inspection do this
        /// (https://github.com/PHPMailer/PHPMailer/issues/313). Null when the host is not Exchange Online's, when the
        /// certificate validated, or when nothing says another server answered (a corporate TLS-inspection proxy signs
        /// with the right name and passes Microsoft's greeting through).
        /// </summary>
        internal static string? ImpostorOf(string server, TranscriptLogger log, TlsObservation tls, bool secure)
        {
            if (!EndsWithAny(server.TrimEnd('.')) || (secure && tls.Seen && tls.Errors == SslPolicyErrors.None))
            {
                return null;
            }

            var signs = new List<string>();
            if (Greeting(log) is string text && !CloudEndpoints.IsExchangeGreeting(text))
            {
                string greeting = text.Replace("\n", " ").Trim();
                signs.Add(Format("its greeting is '{0}', not Exchange Online's 'Microsoft ESMTP MAIL Service ready'", greeting.Length > 100 ? greeting.Substring(0, 100) + "..." : greeting));
            }

            if (tls.Seen && (tls.Errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                signs.Add(Format("its certificate is for '{0}', not for {1}", tls.SubjectName ?? "another name", server));
            }

            if (signs.Count == 0)
            {
                return null;
            }

            string unproven = secure ? "certificate checking was off (-SkipCertificateCheck)" : "the session was not encrypted";
            return Format("Another server answered for {0}: {1}. Nothing proved it is Exchange Online ({2}), so the credentials were not sent to it. A hosting provider's outbound SMTP redirection or a firewall's SMTP inspection does this; to test that server itself, give its own name with -Server.",
                server, string.Join("; ", signs), unproven);
        }

        // The server's first 220 reply (its greeting), where it sent one.
        private static string? Greeting(TranscriptLogger log) =>
            log.Replies.FirstOrDefault(r => r.Phase == SmtpPhase.Banner && r.Code == 220)?.Text;

        private static bool EndsWithAny(string host) =>
            s_exchangeOnlineSuffixes.Any(suffix => host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase));

        private static MimeMessage TestMessage(string from, string to, DateTime startedUtc)
        {
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse(from));
            message.To.Add(MailboxAddress.Parse(to));
            message.Subject = "SmtpAuthTroubleshooter test message";
            message.Body = new TextPart("plain")
            {
                Text = Format("This message was sent by Test-SmtpAuth -SendTestMessage at {0:u} to check SMTP AUTH client submission. It can be deleted.", startedUtc),
            };
            return message;
        }

        private static async Task QuitAsync(SmtpClient client)
        {
            if (!client.IsConnected)
            {
                return;
            }

            try
            {
                using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.DisconnectAsync(true, quit.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException || ex is SocketException || ex is OperationCanceledException || ex is ProtocolException || ex is SmtpCommandException || ex is ObjectDisposedException || ex is InvalidOperationException)
            {
                // QUIT is a courtesy; the result is already decided.
            }
        }

        private static void ReadCapabilities(SmtpClient client, TranscriptLogger log, TlsObservation tls, SmtpAuthTestResult result)
        {
            ReadEhloBeforeTls(log, result);
            if (client.IsSecure)
            {
                // In the server's order (a client takes the first it supports), from its own EHLO reply.
                result.AuthMechanismsAfterTls = string.Join(" ", AuthMechanisms(log.EhloAfterTls));
                tls.Read(client, result);
            }
        }

        // From the transcript, so that it is known even when MailKit stops right after EHLO (no STARTTLS offered).
        private static void ReadEhloBeforeTls(TranscriptLogger log, SmtpAuthTestResult result)
        {
            if (log.SawEhloBeforeTls)
            {
                result.StartTlsOffered = log.EhloBeforeTls.Any(l => l.Length > 4 && l.Substring(4).Trim().Equals("STARTTLS", StringComparison.OrdinalIgnoreCase));
                result.AuthMechanismsBeforeTls = AuthLine(log.EhloBeforeTls);
            }
        }

        private static string AuthLine(List<string> ehlo) => string.Join(" ", AuthMechanisms(ehlo));

        /// <summary>
        /// The SASL mechanisms of an EHLO reply in the server's order: every "AUTH a b" line and the old "AUTH=a b" form
        /// (some servers send both), each name once.
        /// </summary>
        internal static IReadOnlyList<string> AuthMechanisms(IEnumerable<string> ehlo)
        {
            var names = new List<string>();
            foreach (string line in ehlo)
            {
                string cap = line.Length > 4 ? line.Substring(4).Trim() : string.Empty;
                if (cap.StartsWith("AUTH ", StringComparison.OrdinalIgnoreCase) || cap.StartsWith("AUTH=", StringComparison.OrdinalIgnoreCase))
                {
                    foreach (string name in cap.Substring(5).Split(s_whiteSpace, StringSplitOptions.RemoveEmptyEntries))
                    {
                        string upper = name.ToUpperInvariant();
                        if (!names.Contains(upper))
                        {
                            names.Add(upper);
                        }
                    }
                }
            }

            return names;
        }

        private static void Complete(SmtpAuthTestResult result, TranscriptLogger log, TlsObservation tls, Failure? failure, Stopwatch stopwatch)
        {
            tls.Apply(result);
            ReadEhloBeforeTls(log, result);
            result.ExchangeOnline = IsExchangeOnline(result.Server, log);
            // A housekeeping reply (QUIT's, after the result is decided) is no refusal: a 500 to QUIT fails nothing.
            ServerReply? failing = log.Replies.FirstOrDefault(r => r.Code >= 400 && r.Phase != SmtpPhase.None);
            // On success the decisive reply is the last one that answered a step (235, or the DATA reply), not QUIT's.
            ServerReply? decisive = failing ?? (failure is null ? log.Replies.FindLast(r => r.Phase != SmtpPhase.None) : null);
            if (ClosedAfterAuth(log) is (ServerReply accepted, ServerReply closing))
            {
                // The login succeeded and the server then ended the session. Where the 421 lands (the AUTH read, MAIL
                // FROM's, or QUIT's) depends only on when its bytes arrived, so it decides neither the phase nor the text:
                // the failure is the step after AUTH that was under way, or the next one.
                result.Succeeded = false;
                result.FailedPhase = closing.Phase is SmtpPhase.MailFrom or SmtpPhase.RcptTo or SmtpPhase.Data ? closing.Phase : SmtpPhase.MailFrom;
                result.Message = Format(
                    "Authentication succeeded: the server accepted the credentials ('{0}'). The server then closed the session with '{1}'{2}, so it would take no mail: {3}",
                    OneLine(accepted.Text), OneLine(closing.Text), result.From is null ? string.Empty : " before the test message was accepted",
                    closing.Code == 421 ? "a 421 is the server's own fault or limit (its relay, queue or load), not a login problem." : "the reason is the server's, not the login.");
                decisive = closing;
            }
            else if (failure is not null || failing is not null)
            {
                result.Succeeded = false;
                result.FailedPhase = failing?.Phase ?? failure!.Phase;
                result.Message = failure?.Message ?? Format("The server refused {0}.", result.FailedPhase);
            }
            else
            {
                result.Succeeded = true;
                result.FailedPhase = SmtpPhase.None;
                result.Message = result.AuthMethod == SmtpAuthMethod.Unknown
                    ? "Connected; no AUTH was attempted."
                    : result.TestMessageSent ? "Authenticated, and the test message was accepted." : "Authenticated.";
            }

            if (decisive is not null)
            {
                result.ReplyText = OneLine(decisive.Text);
                result.ReplyCode = decisive.Code;
                ParsedError parsed = ReplyParser.Parse(result.ReplyText);
                result.EnhancedStatusCode = parsed.Replies.Count > 0 ? parsed.Replies[0].EnhancedStatusCode : null;
            }

            result.DurationMs = stopwatch.ElapsedMilliseconds;
            result.TokenMs = log.Duration(SmtpPhase.Token);
            result.DnsMs = log.Duration(SmtpPhase.Dns);
            result.ConnectMs = log.Duration(SmtpPhase.Connect);
            result.BannerMs = log.Duration(SmtpPhase.Banner);
            result.EhloMs = log.Duration(SmtpPhase.Ehlo);
            result.StartTlsMs = log.Duration(SmtpPhase.StartTls);
            result.TlsMs = log.Duration(SmtpPhase.Tls);
            result.AuthMs = log.Duration(SmtpPhase.Auth);
            result.MailFromMs = log.Duration(SmtpPhase.MailFrom);
            result.RcptToMs = log.Duration(SmtpPhase.RcptTo);
            result.DataMs = log.Duration(SmtpPhase.Data);
            result.Transcript = log.Transcript;
        }

        /// <summary>
        /// The server's 235 to AUTH and the reply with which it then ended the session, when it did: the first failing
        /// reply after the 235 that is a 421 (a server closing the session, whatever command it happened to be read as
        /// the answer to, QUIT's included) or that answered no command. Null when AUTH did not succeed, or when what
        /// failed after it was a step's own refusal (a 550 to MAIL FROM, say).
        /// </summary>
        internal static (ServerReply Accepted, ServerReply Closing)? ClosedAfterAuth(TranscriptLogger log)
        {
            int accepted = log.Replies.FindIndex(r => r.Phase == SmtpPhase.Auth && r.Code == 235);
            if (accepted < 0)
            {
                return null;
            }

            ServerReply? closing = log.Replies.Skip(accepted + 1).FirstOrDefault(r => r.Code >= 400 && (r.Code == 421 || r.Unsolicited || r.Phase != SmtpPhase.None));
            return closing is not null && (closing.Code == 421 || closing.Unsolicited) ? (log.Replies[accepted], closing) : null;
        }

        /// <summary>
        /// Masks every secret the probe held or sent in the texts of the result that carry what the server said: the
        /// reply lines are masked as they arrive, but a message can also quote a server line through an exception.
        /// </summary>
        private static void Redact(SmtpAuthTestResult result, TranscriptLogger log)
        {
            result.Message = result.Message is null ? null : log.Redact(result.Message);
            result.ReplyText = result.ReplyText is null ? null : log.Redact(result.ReplyText);
            result.Transcript = result.Transcript is null ? null : log.Redact(result.Transcript);
            result.AuthMechanismsBeforeTls = result.AuthMechanismsBeforeTls is null ? null : log.Redact(result.AuthMechanismsBeforeTls);
            result.AuthMechanismsAfterTls = result.AuthMechanismsAfterTls is null ? null : log.Redact(result.AuthMechanismsAfterTls);
            result.CertificateSubject = result.CertificateSubject is null ? null : log.Redact(result.CertificateSubject);
            result.CertificateIssuer = result.CertificateIssuer is null ? null : log.Redact(result.CertificateIssuer);
            result.CertificateNames = result.CertificateNames is null ? null : log.Redact(result.CertificateNames);
        }

        private static string OneLine(string text) => text.Replace("\n", " ");

        private static string Format(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);

        /// <summary>
        /// Progress of a probe, once a second and at once on each new step: the step it is in and the seconds left before
        /// its time limit (issue 9: a 30-second wait for a silent server should not look like a hang). The record on entry
        /// to a step does not wait for the timer, which a busy machine can hold back by a second or more.
        /// </summary>
        private sealed class ProbeProgress : IDisposable
        {
            internal const string Activity = "Test-SmtpAuth";
            private readonly object _gate = new object();
            private readonly IDiagnosticSink _sink;
            private readonly TranscriptLogger _log;
            private readonly string _server;
            private readonly int _port;
            private Timer? _timer;
            private DateTime _deadlineUtc;
            private bool _stopped;

            public ProbeProgress(IDiagnosticSink sink, TranscriptLogger log, string server, int port)
            {
                _sink = sink;
                _log = log;
                _server = server;
                _port = port;
                log.PhaseChanged = _ => Tick();
            }

            /// <summary>Starts (or restarts) the countdown to a new time limit.</summary>
            public void Start(TimeSpan limit)
            {
                lock (_gate)
                {
                    _deadlineUtc = DateTime.UtcNow + limit;
                    if (_timer is null)
                    {
                        _timer = new Timer(_ => Tick(), null, TimeSpan.Zero, TimeSpan.FromSeconds(1));
                    }
                }
            }

            /// <summary>Stops the countdown for good: no progress record is written after this returns.</summary>
            public void Dispose()
            {
                lock (_gate)
                {
                    _stopped = true;
                    _timer?.Dispose();
                }
            }

            private void Tick()
            {
                lock (_gate)
                {
                    // Before Start there is no time limit to count down to.
                    if (_stopped || _timer is null)
                    {
                        return;
                    }

                    int remaining = (int)Math.Ceiling(Math.Max(0, (_deadlineUtc - DateTime.UtcNow).TotalSeconds));
                    SmtpPhase phase = _log.Phase;
                    _sink.Progress(Activity, Status(phase), Percent(phase), remaining);
                }
            }

            private string Status(SmtpPhase phase) => phase switch
            {
                SmtpPhase.Token => "Getting the OAuth token",
                SmtpPhase.Dns => Format("Resolving {0}", _server),
                SmtpPhase.Connect => Format("Connecting to {0}:{1}", _server, _port),
                SmtpPhase.Banner => Format("Waiting for the greeting of {0}:{1}", _server, _port),
                SmtpPhase.Ehlo => "EHLO",
                SmtpPhase.StartTls => "STARTTLS",
                SmtpPhase.Tls => "TLS handshake",
                SmtpPhase.Auth => "AUTH",
                SmtpPhase.MailFrom or SmtpPhase.RcptTo or SmtpPhase.Data => "Sending the test message",
                _ => phase.ToString(),
            };

            private static int Percent(SmtpPhase phase) => phase switch
            {
                SmtpPhase.Token => 5,
                SmtpPhase.Dns => 10,
                SmtpPhase.Connect => 20,
                SmtpPhase.Banner => 30,
                SmtpPhase.Ehlo => 40,
                SmtpPhase.StartTls => 50,
                SmtpPhase.Tls => 55,
                SmtpPhase.Auth => 70,
                SmtpPhase.MailFrom => 80,
                SmtpPhase.RcptTo => 85,
                SmtpPhase.Data => 90,
                _ => 95,
            };
        }

        /// <summary>What the TLS handshake showed.</summary>
        internal sealed class TlsObservation
        {
            private SslStream? _stream;

            public X509Certificate2? Certificate { get; private set; }
            public SslPolicyErrors Errors { get; private set; }
            public bool Seen { get; private set; }

            /// <summary>The certificate's DNS name (its subject's CN, or its first DNS name), where there was one.</summary>
            public string? SubjectName
            {
                get
                {
                    string? name = Certificate?.GetNameInfo(X509NameType.DnsName, false);
                    return string.IsNullOrEmpty(name) ? Certificate?.Subject : name;
                }
            }

            /// <summary>What was wrong with the chain (all elements' status flags), when the certificate did not validate.</summary>
            public X509ChainStatusFlags ChainErrors { get; private set; }

            public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, bool skip)
            {
                Seen = true;
                Certificate = certificate is null ? null : new X509Certificate2(certificate);
                Errors = errors;
                ChainErrors = X509ChainStatusFlags.NoError;
                if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0 && chain is not null)
                {
                    foreach (X509ChainStatus status in chain.ChainStatus)
                    {
                        ChainErrors |= status.Status;
                    }
                }

                return errors == SslPolicyErrors.None || skip;
            }

            /// <summary>The names the certificate is for: its subject alternative names (DNS names, IP addresses), else its subject's CN.</summary>
            public string? Names => Certificate is null ? null : CertificateNames.Of(Certificate);

            /// <summary>
            /// Why the certificate did not validate, in words an admin can act on: the name it is for and the one the
            /// probe asked for, the date it expired or starts, the issuer nobody here trusts. Null when it validated.
            /// </summary>
            public string? Describe(string server, DateTime nowUtc)
            {
                if (!Seen || Certificate is null || Errors == SslPolicyErrors.None)
                {
                    return null;
                }

                var reasons = new List<string>();
                if ((Errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
                {
                    reasons.Add("the server sent no certificate.");
                }

                if ((Errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    reasons.Add(Format("name mismatch: the certificate is for {0}, and the probe connected to {1}.", Names ?? Certificate.Subject, server));
                }

                DateTime notAfter = Certificate.NotAfter.ToUniversalTime();
                DateTime notBefore = Certificate.NotBefore.ToUniversalTime();
                if ((ChainErrors & X509ChainStatusFlags.NotTimeValid) != 0 || notAfter < nowUtc || notBefore > nowUtc)
                {
                    if (notAfter < nowUtc)
                    {
                        reasons.Add(Format("the certificate expired on {0:yyyy-MM-dd HH:mm} UTC.", notAfter));
                    }
                    else if (notBefore > nowUtc)
                    {
                        reasons.Add(Format("the certificate is not valid until {0:yyyy-MM-dd HH:mm} UTC: this computer's clock is behind, or the certificate is dated in the future.", notBefore));
                    }
                }

                const X509ChainStatusFlags Untrusted = X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain;
                if ((ChainErrors & Untrusted) != 0)
                {
                    reasons.Add(string.Equals(Certificate.Subject, Certificate.Issuer, StringComparison.Ordinal)
                        ? Format("the certificate is self-signed ('{0}'), and this computer does not trust it.", Certificate.Subject)
                        : Format("it was issued by '{0}', which does not chain to a root certificate this computer trusts (a private CA, or a TLS-inspection proxy's).", Certificate.Issuer));
                }

                X509ChainStatusFlags other = ChainErrors & ~(Untrusted | X509ChainStatusFlags.NotTimeValid);
                if (other != X509ChainStatusFlags.NoError)
                {
                    reasons.Add(Format("its chain has these errors: {0}.", other));
                }

                if (reasons.Count == 0)
                {
                    reasons.Add(Format("{0}.", Errors));
                }

                return "The server's certificate did not validate: " + string.Join(" ", reasons.Select(r => char.ToUpperInvariant(r[0]) + r.Substring(1)))
                    + Format(" (Certificate '{0}', issued by '{1}', valid {2:yyyy-MM-dd} to {3:yyyy-MM-dd}.)", Certificate.Subject, Certificate.Issuer, notBefore, notAfter);
            }

            public void Read(SmtpClient client, SmtpAuthTestResult result)
            {
                result.TlsProtocol = client.SslProtocol.ToString() switch
                {
                    "12288" => "Tls13",
                    string s => s,
                };
                // MailKit's netstandard2.0 build has no SslCipherSuite; .NET Core 3.0+ SslStream has NegotiatedCipherSuite.
                // Find the client's SslStream by reflection (best effort; the algorithm names are the fallback).
                _stream = FindSslStream(client);
                object? suite = _stream?.GetType().GetProperty("NegotiatedCipherSuite")?.GetValue(_stream);
                result.CipherSuite = suite?.ToString()
                    ?? Format("{0} {1}-bit, {2}, {3}", client.SslCipherAlgorithm, client.SslCipherStrength, client.SslHashAlgorithm, client.SslKeyExchangeAlgorithm);
            }

            private static SslStream? FindSslStream(object root)
            {
                var queue = new Queue<(object Value, int Depth)>();
                var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
                queue.Enqueue((root, 0));
                while (queue.Count > 0)
                {
                    (object value, int depth) = queue.Dequeue();
                    if (value is SslStream ssl)
                    {
                        return ssl;
                    }

                    if (depth >= 3 || !seen.Add(value))
                    {
                        continue;
                    }

                    for (Type? t = value.GetType(); t is not null && t != typeof(object); t = t.BaseType)
                    {
                        foreach (System.Reflection.FieldInfo field in t.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.DeclaredOnly))
                        {
                            if (field.FieldType.IsValueType || field.FieldType == typeof(string))
                            {
                                continue;
                            }

                            object? child = field.GetValue(value);
                            if (child is Stream || child?.GetType().Namespace?.StartsWith("MailKit", StringComparison.Ordinal) == true)
                            {
                                queue.Enqueue((child, depth + 1));
                            }
                        }
                    }
                }

                return null;
            }

            public void Apply(SmtpAuthTestResult result)
            {
                if (!Seen)
                {
                    return;
                }

                result.CertificateSubject = Certificate?.Subject;
                result.CertificateIssuer = Certificate?.Issuer;
                result.CertificateNotAfter = Certificate?.NotAfter.ToUniversalTime();
                result.CertificateNotBefore = Certificate?.NotBefore.ToUniversalTime();
                result.CertificateNames = Names;
                result.CertificateValid = Errors == SslPolicyErrors.None;
                result.CertificateErrors = Errors == SslPolicyErrors.None ? null : Errors.ToString();
                result.CertificateChainErrors = ChainErrors == X509ChainStatusFlags.NoError ? null : ChainErrors.ToString();
            }
        }

        /// <summary>A probe that stopped, and where.</summary>
        internal sealed class Failure
        {
            public Failure(SmtpPhase phase, string message)
            {
                Phase = phase;
                Message = message;
            }

            public SmtpPhase Phase { get; }
            public string Message { get; }

            public static Failure? From(Exception ex, TranscriptLogger log, bool timedOut, bool certificateSeen, ProbeRequest request, string server, TlsObservation? tls = null)
            {
                SmtpPhase phase = log.Phase;
                // One time limit, one answer (issue 9): when the probe's limit has passed, whatever MailKit threw at that
                // moment (a cancel, the closed socket's IOException, a handshake error; or its own TimeoutException as
                // a backstop) is the time-out, unless the server had already answered with a refusal.
                bool refused = ex is SmtpCommandException || ex is MailKit.Security.AuthenticationException;
                if ((timedOut && !refused) || ex is TimeoutException)
                {
                    SmtpPhase timedOutIn = ex is SslHandshakeException && phase is SmtpPhase.Banner or SmtpPhase.Connect or SmtpPhase.StartTls ? SmtpPhase.Tls : phase;
                    return TimedOut(timedOutIn, log, request, server);
                }

                switch (ex)
                {
                    case OperationCanceledException:
                        return null; // the user's cancel, handled by the caller
                    case Azure.Identity.CredentialUnavailableException unavailable:
                        return new Failure(SmtpPhase.Token, "No credential was available to get the OAuth token: " + FirstLine(unavailable.Message));
                    case Azure.Identity.AuthenticationFailedException auth:
                        return new Failure(SmtpPhase.Token, "Getting the OAuth token failed: " + FirstLine(auth.Message));
                    case SslHandshakeException ssl when !certificateSeen:
                        // The handshake failed before any certificate arrived, so MailKit's text (about untrusted
                        // certificates) is wrong; e.g. a server that says 220 to STARTTLS and goes on in plain text, or
                        // one that ends the handshake with a TLS alert.
                        return new Failure(SmtpPhase.Tls, Format(
                            "The TLS handshake failed before the server presented a certificate: {0} {1} The credentials were not sent.",
                            HandshakeReason(ssl),
                            HandshakeMeaning(ssl, request.TlsMode)));
                    case SslHandshakeException when ClosedAfterCertificate(ex, phase, log, tls, request) is Failure closed:
                        return closed;
                    case SslHandshakeException when tls?.Describe(server, DateTime.UtcNow) is string rejected:
                        // MailKit's text names the errors but not the dates, the issuer or the names the certificate holds;
                        // the probe's own says what it saw (issue: real TLS servers).
                        return new Failure(SmtpPhase.Tls, rejected + " The credentials were not sent.");
                    case SslHandshakeException ssl:
                        return new Failure(phase == SmtpPhase.StartTls ? SmtpPhase.Tls : phase is SmtpPhase.Banner or SmtpPhase.Connect ? SmtpPhase.Tls : phase == SmtpPhase.Ehlo ? SmtpPhase.Tls : phase, Clean(ssl.Message));
                    case ServiceNotAuthenticatedException notAuthed:
                        return new Failure(SmtpPhase.MailFrom, Clean(notAuthed.Message));
                    case MailKit.Security.AuthenticationException auth:
                        return new Failure(SmtpPhase.Auth, Clean(auth.Message));
                    case SmtpCommandException command:
                        return new Failure(command.ErrorCode switch
                        {
                            SmtpErrorCode.SenderNotAccepted => SmtpPhase.MailFrom,
                            SmtpErrorCode.RecipientNotAccepted => SmtpPhase.RcptTo,
                            SmtpErrorCode.MessageNotAccepted => SmtpPhase.Data,
                            _ => phase,
                        }, Clean(command.Message));
                    case SmtpProtocolException protocol when protocol.Message.StartsWith("The SMTP server has unexpectedly disconnected", StringComparison.Ordinal)
                        && ClosedAfterCertificate(ex, phase, log, tls, request) is Failure closed:
                        return closed;
                    case SmtpProtocolException protocol when protocol.Message.StartsWith("The SMTP server has unexpectedly disconnected", StringComparison.Ordinal):
                        // MailKit quotes an earlier reply here (the banner), which reads as if the server said it;
                        // describe the cut-off reply instead (issue 6, close-mid-ehlo).
                        if (log.DescribeIncompleteReply().Length == 0 && log.Replies.Count > 0 && log.Replies[log.Replies.Count - 1] is { Code: >= 400 } refusal)
                        {
                            // The server refused and hung up, as RFC 5321 4.2.2 lets it with 421 (Postfix's "421 4.7.1 ...
                            // Error: No client certificate presented" after STARTTLS): its reply is the reason, not a
                            // broken conversation (found against Postfix with smtpd_tls_req_ccert).
                            return new Failure(phase, Format("The server answered '{0}' and then closed the connection.", OneLine(refusal.Text)));
                        }

                        return new Failure(phase, Append(Format("The SMTP server closed the connection during {0}.", phase), log.DescribeIncompleteReply()));
                    case SmtpProtocolException protocol when protocol.Message.StartsWith("Unable to parse status code", StringComparison.Ordinal) && log.LastServerLine is not null:
                        // Quote the line that is not an SMTP reply (issue 6, bad-codes).
                        return new Failure(phase, Format("{0} The server's line: '{1}'.", Clean(protocol.Message), log.LastServerLine));
                    case SmtpProtocolException protocol:
                        return new Failure(phase, Clean(protocol.Message));
                    case NotSupportedException notSupported when notSupported.Message.IndexOf("STARTTLS", StringComparison.OrdinalIgnoreCase) >= 0:
                        return new Failure(SmtpPhase.StartTls, Clean(notSupported.Message) + " The credentials were not sent.");
                    case NotSupportedException notSupported:
                        return new Failure(SmtpPhase.Auth, Clean(notSupported.Message));
                    case IOException or SocketException when ClosedAfterCertificate(ex, phase, log, tls, request) is Failure closed:
                        return closed;
                    case SocketException socket:
                        return new Failure(phase == SmtpPhase.Dns ? SmtpPhase.Dns : phase, Format("{0} ({1})", Clean(socket.Message), socket.SocketErrorCode));
                    case IOException io:
                        return new Failure(phase, Clean(io.Message) + (io.InnerException is SocketException inner ? Format(" ({0})", inner.SocketErrorCode) : string.Empty));
                    case ArgumentException argument when phase == SmtpPhase.Dns:
                        return new Failure(SmtpPhase.Dns, Clean(argument.Message));
                    case ObjectDisposedException:
                    case InvalidOperationException:
                    case FormatException:
                        return new Failure(phase, Clean(ex.Message));
                    default:
                        return new Failure(phase, ex.GetType().Name + ": " + Clean(ex.Message));
                }
            }

            /// <summary>
            /// The server hung up during the TLS handshake after the probe had accepted its certificate, and before it said
            /// a word inside TLS: what an OpenSSL server that requires a client certificate does to a client that has none
            /// (Python's ssl.CERT_REQUIRED, Exim's tls_verify_hosts). With TLS 1.2 the client's handshake fails; with
            /// TLS 1.3 the server decides after the client's Finished (https://www.rfc-editor.org/rfc/rfc8446#section-4.4.2.4),
            /// so the client's first read fails, and the reset can overtake the "certificate required" alert. The probe
            /// presents no client certificate. Null for anything else (a certificate the probe rejected, a TLS alert
            /// about versions, a server that answered inside TLS).
            /// </summary>
            private static Failure? ClosedAfterCertificate(Exception ex, SmtpPhase phase, TranscriptLogger log, TlsObservation? tls, ProbeRequest request)
            {
                if (tls is not { Seen: true } || (tls.Errors != SslPolicyErrors.None && !request.SkipCertificateCheck)
                    || log.TlsReplyCount > 0 || phase is not (SmtpPhase.Tls or SmtpPhase.StartTls or SmtpPhase.Banner))
                {
                    return null;
                }

                bool certificateRequired = false;
                string? cut = null;
                for (Exception? e = ex; e is not null; e = e.InnerException)
                {
                    certificateRequired |= e.Message.IndexOf("certificate required", StringComparison.OrdinalIgnoreCase) >= 0;
                    if (e is SmtpProtocolException)
                    {
                        cut = "closed";
                    }
                    else if (e is SocketException socket)
                    {
                        cut = socket.SocketErrorCode.ToString();
                    }
                    else if (cut is null && e is IOException && (e.Message.IndexOf("EOF", StringComparison.Ordinal) >= 0 || e.Message.IndexOf("0 bytes", StringComparison.Ordinal) >= 0))
                    {
                        cut = "end of stream";
                    }
                }

                if (certificateRequired)
                {
                    return new Failure(SmtpPhase.Tls, "The server requires a client certificate: it ended the TLS handshake with the alert 'certificate required' after the probe accepted its certificate. The probe presents no client certificate. The credentials were not sent.");
                }

                return cut is null ? null : new Failure(SmtpPhase.Tls, Format(
                    "The server closed the connection ({0}) after the probe accepted its certificate in the TLS handshake, and before the server said anything inside TLS. A server that requires a client certificate (mutual TLS) does this to a client that presents none, as the probe does; one that refuses the TLS session for another reason does the same, and the server's log says which. The credentials were not sent.",
                    cut));
            }

            /// <summary>
            /// The innermost reason a TLS handshake failed, as the TLS library gave it (OpenSSL's "sslv3 alert handshake
            /// failure", SChannel's "do not possess a common algorithm"), ending in a full stop. .NET wraps that reason in
            /// texts such as "Authentication failed, see inner exception." that say nothing and read as a refused login,
            /// so those are skipped, and a reason that itself starts "Authentication failed" is called the TLS handshake.
            /// </summary>
            internal static string HandshakeReason(Exception ex)
            {
                string? reason = null;
                for (Exception? e = ex.InnerException ?? ex; e is not null; e = e.InnerException)
                {
                    string text = Clean(e.Message).Trim();
                    if (text.Length > 0 && text.IndexOf("see inner exception", StringComparison.OrdinalIgnoreCase) < 0)
                    {
                        reason = text;
                    }
                }

                reason ??= "no reason was given.";
                const string Wrapper = "Authentication failed";
                if (reason.StartsWith(Wrapper, StringComparison.OrdinalIgnoreCase))
                {
                    reason = "The TLS handshake failed" + reason.Substring(Wrapper.Length);
                }

                return reason.EndsWith(".", StringComparison.Ordinal) ? reason : reason + ".";
            }

            // What the reason says about the server: it answered with a TLS alert; it answered with TLS but nothing in
            // common; or (as far as is known) it did not answer with TLS at all.
            private static string HandshakeMeaning(Exception ex, SmtpTlsMode mode)
            {
                var texts = new List<string>();
                for (Exception? e = ex; e is not null; e = e.InnerException)
                {
                    texts.Add(e.Message);
                }

                bool Says(params string[] words) => texts.Any(t => words.Any(w => t.IndexOf(w, StringComparison.OrdinalIgnoreCase) >= 0));
                if (Says("alert protocol version", "alert_protocol_version", "ProtocolVersion"))
                {
                    // TLS alert 70, protocol_version (https://www.rfc-editor.org/rfc/rfc8446#section-6.2): the server has no
                    // version in common with the ClientHello. The probe offers only TLS 1.2 and 1.3, so the server speaks
                    // only older ones (found against Postfix with smtpd_tls_protocols = <=TLSv1.1).
                    return "The server refused the TLS versions the probe offers (TLS 1.2 and 1.3) with a TLS alert: it speaks only older TLS (1.0 or 1.1), which Exchange Online and current clients no longer accept; the server needs updating or configuring for TLS 1.2 or later.";
                }

                if (Says("alert internal error", "alert_internal_error", "InternalError"))
                {
                    // TLS alert 80, internal_error (https://www.rfc-editor.org/rfc/rfc8446#section-6.2): the server failed for
                    // a reason "unrelated to the peer or the correctness of the protocol". Found against OpenSMTPD 6.8 on
                    // Debian 12, whose privilege-separated key signing fails with OpenSSL 3 (OpenSMTPD/OpenSMTPD#1171).
                    return "The server ended the TLS handshake with the TLS alert 'internal error' (RFC 8446, section 6.2): a fault in the server's own TLS setup (its certificate, its key or its TLS library), not a TLS version or cipher the probe lacks; the server's log names it.";
                }

                if (Says(" alert", "TLS alert", "tlsv1 alert", "sslv3 alert"))
                {
                    return "The server answered the probe's TLS hello with a TLS alert: no TLS version or cipher in common (the probe offers TLS 1.2 and later only), or a fault in the server's TLS setup (its certificate or key).";
                }

                if (Says("unsupported protocol", "no protocols available", "no shared cipher", "common algorithm", "version too low", "function requested is not supported"))
                {
                    return "The server and the probe have no TLS version or cipher in common (the probe offers TLS 1.2 and later only), or the server's TLS setup is faulty (its certificate or key).";
                }

                return mode == SmtpTlsMode.Implicit
                    ? "The server did not answer with TLS on connect (the port may expect STARTTLS or plain text), or has no TLS version in common."
                    : "The server accepted STARTTLS but did not answer with TLS, or has no TLS version in common.";
            }

            private static string Append(string message, string detail) => detail.Length == 0 ? message : message + " " + detail;

            private static Failure TimedOut(SmtpPhase phase, TranscriptLogger log, ProbeRequest request, string server)
            {
                string incomplete = log.DescribeIncompleteReply();
                if (phase == SmtpPhase.Banner && log.Replies.Count == 0 && incomplete.Length == 0)
                {
                    // TCP connected and not one byte came back: not a firewall (the port answered). The wrong kind of
                    // service, or an SMTP server that greets late on purpose (a greet pause, a slow reverse-DNS lookup):
                    // the probe cannot tell which. Deliberately not worded as a time-out, which reads as "blocked".
                    return new Failure(SmtpPhase.Banner, Format(
                        "Connected to {0}:{1} (the port answered), but the service there sent no SMTP greeting in {2:0.#} s. It may be a port that expects TLS from the first byte, another service, or an SMTP server that delays its greeting (retry with a larger -TimeoutSec).{3} Check the port and whether a proxy or another service listens on it.",
                        server, request.Port, request.Timeout.TotalSeconds,
                        request.Port == 465 && request.TlsMode != SmtpTlsMode.Implicit
                            ? " Port 465 normally expects TLS from the first byte: try -TlsMode Implicit."
                            : " A port that expects TLS from the first byte (465, say) waits like this for a client that starts in plain text (try -TlsMode Implicit)."));
                }

                return new Failure(phase, Append(Format("The operation timed out after {0:0.#} s during {1}.", request.Timeout.TotalSeconds, phase), incomplete));
            }

            private static string FirstLine(string text)
            {
                string line = text.Split('\n')[0].Trim();
                return line.Length > 500 ? line.Substring(0, 500) : line;
            }

            private static string Clean(string text)
            {
                string oneLine = text.Replace("\r", " ").Replace("\n", " ");
                return oneLine.Length > 2000 ? oneLine.Substring(0, 2000) : oneLine;
            }
        }
    }
}
