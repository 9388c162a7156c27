using System;
using System.Collections.Generic;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SmtpAuthTroubleshooter.ExoEmulator;

/// <summary>How the emulator offers TLS.</summary>
public enum TlsMode
{
    /// <summary>Plain text, STARTTLS offered (smtp.office365.com:587).</summary>
    StartTls,

    /// <summary>TLS from the first byte (what a client using SslOnConnect on 587 expects; EXO does not do this).</summary>
    Implicit,

    /// <summary>STARTTLS never offered, so AUTH and MAIL can never succeed.</summary>
    None,
}

/// <summary>
/// A deliberately broken SMTP server (issue 6): each mode breaks one step of the conversation so that client
/// robustness (time limits, memory, never sending credentials without TLS) can be tested. Every mode is bounded
/// server-side: it ends when the client disconnects, at <see cref="EmulatorOptions.ReadTimeout"/> or at shutdown,
/// and never buffers more than a small fixed amount. Console names in brackets (<c>--misbehave &lt;name&gt;</c>).
/// </summary>
public enum Misbehaviour
{
    /// <summary>A well-behaved Exchange Online (the default).</summary>
    None,

    /// <summary>[no-banner] Accept the TCP connection and never send the 220 (reads and discards until the client goes).</summary>
    NoBanner,

    /// <summary>[close-mid-ehlo] Send the banner; answer EHLO with "250-&lt;host&gt; Hello\r\n250-SIZE" and close the socket.</summary>
    CloseMidEhlo,

    /// <summary>[endless-multiline] Answer EHLO with "250-..." continuation lines, one every ~10 ms, never the final line.</summary>
    EndlessMultiline,

    /// <summary>[huge-reply] Answer EHLO with a complete 100 MB multi-line reply, streamed from one small buffer.</summary>
    HugeReply,

    /// <summary>[bad-codes] Answer EHLO/HELO with codes outside RFC 5321, in turn: "999 weird", "abc not a code", "2500 five digits".</summary>
    BadCodes,

    /// <summary>[starttls-plaintext] Answer STARTTLS with 220 and never start TLS: every chunk the client sends next (its ClientHello) gets a plaintext "250 2.0.0 OK".</summary>
    StartTlsPlaintext,

    /// <summary>[tls-stall] Answer STARTTLS with 220, then read the ClientHello and send nothing, ever.</summary>
    TlsStall,

    /// <summary>
    /// [downgrade] The first connection from a client address offers STARTTLS normally; every later one's EHLO omits
    /// STARTTLS and offers "AUTH LOGIN PLAIN" in clear, and takes credentials in clear (an attacker stripping STARTTLS).
    /// </summary>
    Downgrade,

    /// <summary>[auth-loop] After STARTTLS, AUTH and every client line after it get another "334 " prompt, forever.</summary>
    AuthLoop,

    /// <summary>[drip] Send every reply (the banner included) at 1 byte per second.</summary>
    Drip,
}

/// <summary>Settings of an <see cref="ExoSmtpEmulator"/>. Only the scenario is required.</summary>
public sealed record EmulatorOptions
{
    /// <summary>The tenant to emulate. Either this or <see cref="ScenarioPath"/>.</summary>
    public TenantScenario? Scenario { get; init; }

    /// <summary>A scenario file to load when <see cref="Scenario"/> is null.</summary>
    public string? ScenarioPath { get; init; }

    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>0 = an ephemeral port; read the bound one from <see cref="ExoSmtpEmulator.Port"/>.</summary>
    public int Port { get; init; }

    /// <summary>Server certificate with private key; null = a self-signed RSA certificate for localhost/127.0.0.1 (one per process).</summary>
    public X509Certificate2? Certificate { get; init; }

    public TlsMode TlsMode { get; init; } = TlsMode.StartTls;

    /// <summary>Time for token lifetimes, the banner date and the diagnostic tails. Delays and timeouts use wall time.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The key XOAUTH2 tokens must be signed with; null = <see cref="SigningKeys.SharedDefault"/>.</summary>
    public RSA? TokenValidationKey { get; init; }

    /// <summary>Authenticated connections allowed per mailbox; the next AUTH gets 432 4.3.2.</summary>
    public int MaxConcurrentPerMailbox { get; init; } = 3;

    /// <summary>Wait before every reply (latency and client-timeout tests).</summary>
    public TimeSpan ReplyDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Idle time allowed while waiting for a client line; then 421 4.4.2 and close.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Longest command line (XOAUTH2 initial responses carry a whole token).</summary>
    public int MaxCommandLineLength { get; init; } = 16 * 1024;

    /// <summary>Longest line inside DATA.</summary>
    public int MaxDataLineLength { get; init; } = 1024 * 1024;

    /// <summary>Advertised in EHLO SIZE and enforced on MAIL FROM SIZE=, DATA and BDAT.</summary>
    public long MaxMessageSize { get; init; } = 157286400;

    /// <summary>Simultaneous connections; the next one gets 421 4.3.2 at connect.</summary>
    public int MaxConnections { get; init; } = 200;

    public int MaxStoredMessages { get; init; } = 100;

    public int MaxLogEntries { get; init; } = 10_000;

    /// <summary>Front-end server name: the banner says "&lt;HostName&gt;.outlook.office365.com".</summary>
    public string HostName { get; init; } = "YT3PR01CA0020";

    /// <summary>Forest in the diagnostic tail "[&lt;HostName&gt;.&lt;Region&gt;.PROD.OUTLOOK.COM ...]".</summary>
    public string Region { get; init; } = "CANPRD01";

    /// <summary>Act as smtp-legacy.office365.com: TLS 1.0/1.1 are accepted when tenant.allowLegacyTlsClients is true.</summary>
    public bool LegacyTlsEndpoint { get; init; }

    /// <summary>
    /// Test seam: treat every TLS session as having negotiated this protocol. OpenSSL 3 refuses TLS 1.0/1.1 in
    /// its default configuration, so this is how in-process tests reach the 421 4.7.66 path.
    /// </summary>
    public SslProtocols? SimulatedTlsProtocol { get; init; }

    /// <summary>Precedence of the AUTH LOGIN checks; null = <see cref="BasicAuthCheckOrders.ExchangeFirst"/>.</summary>
    public IReadOnlyList<BasicAuthCheck>? BasicAuthCheckOrder { get; init; }

    /// <summary>Break the server on purpose (client robustness tests); <see cref="Misbehaviour.None"/> = normal.</summary>
    public Misbehaviour Misbehaviour { get; init; }

    /// <summary>Also receives every protocol log entry as it happens (e.g. to print it). Called on session threads.</summary>
    public Action<ProtocolLogEntry>? ProtocolLogSink { get; init; }
}
