using System.Threading.Tasks;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>504 / 451 / 530 / 503: what comes before what.</summary>
public sealed class OrderingTests
{
    [Fact]
    public async Task Auth_before_starttls_is_504()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator, SecureSocketOptions.None);

        await client.RawAsync("AUTH LOGIN");
        Harness.AssertErrorReply(client.LastReply, 504, "5.7.4 Unrecognized authentication type");
        await client.RawAsync($"AUTH XOAUTH2 {Harness.B64("user=a@contoso.com\u0001auth=Bearer x\u0001\u0001")}");
        Harness.AssertErrorReply(client.LastReply, 504, "5.7.4 Unrecognized authentication type");
    }

    [Theory]
    [InlineData(SecureSocketOptions.None)]
    [InlineData(SecureSocketOptions.StartTls)]
    public async Task Auth_plain_is_504_before_and_after_tls(SecureSocketOptions security)
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator, security);

        await client.RawAsync($"AUTH PLAIN {Harness.B64("\0healthy.basic@contoso.com\0Demo-Healthy-1!")}");
        Harness.AssertErrorReply(client.LastReply, 504, "5.7.4 Unrecognized authentication type");
        await client.RawAsync("AUTH CRAM-MD5");
        Harness.AssertErrorReply(client.LastReply, 504, "5.7.4 Unrecognized authentication type");
    }

    [Fact]
    public async Task Mail_from_before_starttls_is_451()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator, SecureSocketOptions.None);

        var ex = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("healthy.basic@contoso.com"), Harness.Token()));

        Harness.AssertErrorReply(client.LastReplyWith(451), 451, "5.7.3 STARTTLS is required to send mail");
        Assert.Equal(SmtpErrorCode.SenderNotAccepted, ex.ErrorCode);
    }

    [Fact]
    public async Task Mail_from_after_tls_without_auth_is_530()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        // MailKit 4.18 turns a 530 at MAIL FROM into ServiceNotAuthenticatedException, not SmtpCommandException.
        var ex = await Assert.ThrowsAsync<MailKit.ServiceNotAuthenticatedException>(() => client.SendAsync(Message("healthy.basic@contoso.com"), Harness.Token()));

        Harness.AssertErrorReply(client.LastReplyWith(530), 530, "5.7.57 Client not authenticated to send mail.");
        Assert.StartsWith("5.7.57 Client not authenticated to send mail. [", ex.Message, System.StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mail_from_after_a_failed_auth_is_530_as_system_net_mail_sees_it()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.LoginAsync("tenant.inherit@contoso.com", Harness.PasswordOf("tenant.inherit@contoso.com")));
        await client.RawAsync("MAIL FROM:<tenant.inherit@contoso.com>");

        Harness.AssertErrorReply(client.LastReply, 530, "5.7.57 Client not authenticated to send mail.");
    }

    [Fact]
    public async Task Starttls_before_ehlo_is_503()
    {
        await using var emulator = await Harness.StartAsync();
        await using var raw = await RawConnection.OpenAsync(emulator);

        Harness.AssertErrorReply(await raw.CommandAsync("STARTTLS"), 503, "5.5.2 Send hello first");
        Harness.AssertErrorReply(await raw.CommandAsync("AUTH LOGIN"), 503, "5.5.2 Send hello first");
        Harness.AssertErrorReply(await raw.CommandAsync("MAIL FROM:<a@contoso.com>"), 503, "5.5.2 Send hello first");
        Assert.StartsWith("250-", await raw.CommandAsync("EHLO client.test"));
        Assert.Equal("220 2.0.0 SMTP server ready", await raw.CommandAsync("STARTTLS"));
    }

    [Fact]
    public async Task After_starttls_hello_is_needed_again()
    {
        await using var emulator = await Harness.StartAsync();
        await using var raw = await RawConnection.OpenAsync(emulator);
        await raw.CommandAsync("EHLO client.test");
        await raw.CommandAsync("STARTTLS");
        await raw.StartTlsAsync(emulator);

        Harness.AssertErrorReply(await raw.CommandAsync("AUTH LOGIN"), 503, "5.5.2 Send hello first");
        Assert.Contains("250-AUTH LOGIN XOAUTH2", await raw.CommandAsync("EHLO client.test"), System.StringComparison.Ordinal);
        Assert.Equal("334 VXNlcm5hbWU6", await raw.CommandAsync("AUTH LOGIN"));
    }

    [Fact]
    public async Task Rcpt_and_data_need_mail_first()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await Harness.ConnectAsync(emulator);
        await client.LoginAsync("healthy.basic@contoso.com", Harness.PasswordOf("healthy.basic@contoso.com"));

        await client.RawAsync("RCPT TO:<x@example.com>");
        Harness.AssertErrorReply(client.LastReply, 503, "5.5.1 Need mail command");
        await client.RawAsync("DATA");
        Harness.AssertErrorReply(client.LastReply, 503, "5.5.1 Need mail command");
        await client.RawAsync("MAIL FROM:<healthy.basic@contoso.com>");
        await client.RawAsync("DATA");
        Harness.AssertErrorReply(client.LastReply, 503, "5.5.1 Need rcpt command");
        await client.RawAsync("MAIL FROM:<healthy.basic@contoso.com>");
        Harness.AssertErrorReply(client.LastReply, 503, "5.5.1 Sender already specified");
    }

    private static MimeMessage Message(string from)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse("someone@example.com"));
        message.Subject = "test";
        message.Body = new TextPart("plain") { Text = "hello" };
        return message;
    }
}
