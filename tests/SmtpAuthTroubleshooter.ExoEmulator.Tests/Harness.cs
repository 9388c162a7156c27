using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>Scenarios, emulator start-up and the MailKit client used by every test.</summary>
internal static class Harness
{
    public const string Host = "YT3PR01CA0020.CANPRD01.PROD.OUTLOOK.COM";

    /// <summary>The diagnostic tail of a 4xx/5xx reply, as the reference's regex (section 1.1) describes it, anchored to the end.</summary>
    public const string TailPattern = @" \[YT3PR01CA0020\.CANPRD01\.PROD\.OUTLOOK\.COM \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z [0-9A-F]{16}\]$";

    public const string ReferenceTailRegex = @"\s*\[(?<host>[A-Z0-9]+\.[A-Z0-9.]+\.(?:PROD\.)?OUTLOOK\.COM)(?:\s+(?<ts>\S+Z)\s+(?<id>[0-9A-F]+))?\]\s*$";

    public const string MailerApp = "b1000000-0000-4000-8000-000000000001";
    public const string UnregisteredApp = "b1000000-0000-4000-8000-000000000002";
    public const string WrongObjectIdApp = "b1000000-0000-4000-8000-000000000003";
    public const string NoSmtpRoleApp = "b1000000-0000-4000-8000-000000000004";
    public const string DesktopClientApp = "b1000000-0000-4000-8000-000000000005";

    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(15);

    private static readonly Lazy<TenantScenario> s_demo = new(() => LoadScenario("demo-tenant.json"));
    private static readonly Lazy<TenantScenario> s_securityDefaults = new(() => LoadScenario("securitydefaults-tenant.json"));

    public static TenantScenario Demo => s_demo.Value;

    public static TenantScenario SecurityDefaults => s_securityDefaults.Value;

    public static string ScenarioPath(string file) => Path.Combine(AppContext.BaseDirectory, "Scenarios", file);

    public static TenantScenario LoadScenario(string file) => TenantScenario.Load(ScenarioPath(file));

    /// <summary>The demo account's password, by UPN.</summary>
    public static string PasswordOf(string upn) => Demo.FindByUserPrincipalName(upn)!.Password!;

    public static Task<ExoSmtpEmulator> StartAsync(TenantScenario? scenario = null, Func<EmulatorOptions, EmulatorOptions>? configure = null)
    {
        var options = new EmulatorOptions { Scenario = scenario ?? Demo, ReadTimeout = TimeSpan.FromSeconds(20) };
        return ExoSmtpEmulator.StartAsync(configure is null ? options : configure(options));
    }

    /// <summary>A MailKit client connected to <paramref name="emulator"/>, trusting its certificate by thumbprint only.</summary>
    public static async Task<ProbeClient> ConnectAsync(ExoSmtpEmulator emulator, SecureSocketOptions security = SecureSocketOptions.StartTls, SslProtocols protocols = SslProtocols.None)
    {
        var client = new ProbeClient(emulator.CertificateThumbprint) { SslProtocols = protocols };
        await client.ConnectAsync("127.0.0.1", emulator.Port, security, Token());
        return client;
    }

    public static CancellationToken Token() => new CancellationTokenSource(TestTimeout).Token;

    /// <summary>Asserts "<paramref name="code"/> <paramref name="text"/>" plus a well-formed diagnostic tail, exactly.</summary>
    public static void AssertErrorReply(string? actual, int code, string text)
    {
        Assert.NotNull(actual);
        Assert.Matches("^" + Regex.Escape($"{code} {text}") + TailPattern, actual);
        Assert.Matches(new Regex(ReferenceTailRegex, RegexOptions.IgnoreCase), actual);
    }

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds; for state the server updates after the client has moved on.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestTimeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for: {what}");
            await Task.Delay(20);
        }
    }

    public static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}

/// <summary>MailKit's SmtpClient with the server's lines captured and a raw command hook (SendCommandAsync is protected).</summary>
internal sealed class ProbeClient : SmtpClient
{
    private readonly ServerLineLogger _logger;

    public ProbeClient(string trustedThumbprint)
        : this(new ServerLineLogger(), trustedThumbprint)
    {
    }

    private ProbeClient(ServerLineLogger logger, string trustedThumbprint)
        : base(logger)
    {
        _logger = logger;
        Timeout = 15_000;
        LocalDomain = "client.test";
        CheckCertificateRevocation = false;
        ServerCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && string.Equals(certificate.GetCertHashString(), trustedThumbprint, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Every complete server reply so far (multi-line replies joined with \n).</summary>
    public IReadOnlyList<string> Replies => _logger.Replies;

    /// <summary>The last reply with this status code (MailKit sends RSET after a refused MAIL FROM or DATA, so the refusal is not the last reply).</summary>
    public string? LastReplyWith(int code) => _logger.Replies.LastOrDefault(r => r.StartsWith($"{code} ", StringComparison.Ordinal));

    public string? LastReply => _logger.Replies is { Count: > 0 } replies ? replies[^1] : null;

    /// <summary>The client lines MailKit logged (with MailKit's own secret redaction).</summary>
    public string ClientText => _logger.ClientText;

    public Task<SmtpResponse> RawAsync(string command) => SendCommandAsync(command, Harness.Token());

    /// <summary>AUTH LOGIN through MailKit (LOGIN is the only basic mechanism the emulator offers).</summary>
    public Task LoginAsync(string user, string password) => AuthenticateAsync(user, password, Harness.Token());

    public Task OAuthAsync(string user, string token) => AuthenticateAsync(new SaslMechanismOAuth2(user, token), Harness.Token());

    public async Task QuitAsync() => await DisconnectAsync(true, Harness.Token());
}

/// <summary>An IProtocolLogger that keeps the server's replies.</summary>
internal sealed class ServerLineLogger : IProtocolLogger
{
    private readonly List<string> _replies = [];
    private readonly List<string> _pending = [];
    private readonly StringBuilder _partial = new();
    private readonly StringBuilder _client = new();

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    public IReadOnlyList<string> Replies
    {
        get
        {
            lock (_replies)
            {
                return _replies.ToArray();
            }
        }
    }

    public string ClientText
    {
        get
        {
            lock (_replies)
            {
                return _client.ToString();
            }
        }
    }

    public void LogConnect(Uri uri)
    {
    }

    public void LogClient(byte[] buffer, int offset, int count)
    {
        lock (_replies)
        {
            _client.Append(Encoding.UTF8.GetString(buffer, offset, count));
        }
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        lock (_replies)
        {
            _partial.Append(Encoding.UTF8.GetString(buffer, offset, count));
            string text = _partial.ToString();
            int newline;
            while ((newline = text.IndexOf("\r\n", StringComparison.Ordinal)) >= 0)
            {
                string line = text[..newline];
                text = text[(newline + 2)..];
                _pending.Add(line);
                if (line.Length < 4 || line[3] != '-')
                {
                    _replies.Add(string.Join("\n", _pending));
                    _pending.Clear();
                }
            }

            _partial.Clear().Append(text);
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>A bare TCP (optionally TLS) SMTP connection, for what MailKit cannot do on purpose (STARTTLS before EHLO, garbage).</summary>
internal sealed class RawConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp = new();
    private Stream _stream = Stream.Null;
    private StreamReader _reader = StreamReader.Null;

    public static async Task<RawConnection> OpenAsync(ExoSmtpEmulator emulator, bool readBanner = true)
    {
        var raw = new RawConnection();
        await raw._tcp.ConnectAsync("127.0.0.1", emulator.Port, Harness.Token());
        raw._stream = raw._tcp.GetStream();
        raw._reader = new StreamReader(raw._stream, Encoding.UTF8, false, 1024, leaveOpen: true);
        if (readBanner)
        {
            Assert.StartsWith("220 ", await raw.ReadReplyAsync());
        }

        return raw;
    }

    public async Task SendAsync(string line) => await SendBytesAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

    public async Task SendBytesAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes, Harness.Token());
        await _stream.FlushAsync(Harness.Token());
    }

    /// <summary>One complete reply (multi-line joined with \n), or null when the server closed the connection.</summary>
    public async Task<string?> ReadReplyAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            string? line = await _reader.ReadLineAsync(Harness.Token());
            if (line is null)
            {
                return lines.Count == 0 ? null : string.Join("\n", lines);
            }

            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
            {
                return string.Join("\n", lines);
            }
        }
    }

    public async Task<string?> CommandAsync(string line)
    {
        await SendAsync(line);
        return await ReadReplyAsync();
    }

    /// <summary>TLS client handshake over the current stream (after a 220 to STARTTLS).</summary>
    public async Task<SslStream> StartTlsAsync(ExoSmtpEmulator emulator, CancellationToken? token = null)
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false, (_, certificate, _, _) => certificate?.GetCertHashString() == emulator.CertificateThumbprint);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, token ?? Harness.Token());
        _stream = ssl;
        _reader = new StreamReader(ssl, Encoding.UTF8, false, 1024, leaveOpen: true);
        return ssl;
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
