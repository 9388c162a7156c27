using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using MailKit.Net.Smtp;
using MimeKit;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

/// <summary>Sender checks after AUTH: envelope (MAIL FROM, 5.7.60) and header From (end of DATA, 5.2.252), plus RSET/NOOP/QUIT.</summary>
public sealed class SendAsTests
{
    private const string SendAsDeniedTail = "; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message Cannot submit message.";

    [Fact]
    public async Task Mail_from_another_address_without_sendas_is_5_7_60()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await LoggedInAsync(emulator, "sendas.denied@contoso.com");

        var ex = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message("info@contoso.com", "info@contoso.com"), Harness.Token()));

        Harness.AssertErrorReply(client.LastReplyWith(550), 550, "5.7.60 SMTP; Client does not have permissions to send as this sender");
        Assert.Equal(SmtpErrorCode.SenderNotAccepted, ex.ErrorCode);
        Assert.Empty(emulator.ReceivedMessages);
    }

    [Fact]
    public async Task Header_from_another_address_without_sendas_is_sendasdenied_after_data()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await LoggedInAsync(emulator, "sendas.denied@contoso.com");
        var message = Message("info@contoso.com", "info@contoso.com");

        var ex = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message, MailboxAddress.Parse("sendas.denied@contoso.com"), [MailboxAddress.Parse("someone@example.com")], Harness.Token()));

        Harness.AssertErrorReply(client.LastReplyWith(554), 554, "5.2.252 SendAsDenied; sendas.denied@contoso.com not allowed to send as info@contoso.com" + SendAsDeniedTail);
        Assert.Equal(SmtpErrorCode.MessageNotAccepted, ex.ErrorCode);
        Assert.Empty(emulator.ReceivedMessages);
    }

    [Fact]
    public async Task Sendas_grant_and_own_aliases_are_accepted_in_both_places()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await LoggedInAsync(emulator, "healthy.basic@contoso.com");

        await client.SendAsync(Message("info@contoso.com", "info@contoso.com"), Harness.Token());
        await client.SendAsync(Message("hb@contoso.com", "Healthy <HB@contoso.com>"), Harness.Token());

        Assert.Equal(["info@contoso.com", "hb@contoso.com"], emulator.ReceivedMessages.Select(m => m.MailFrom));
        Assert.Equal(["HB@contoso.com"], emulator.ReceivedMessages[1].HeaderFrom);
        Assert.Contains("Subject: test", Encoding.UTF8.GetString(emulator.ReceivedMessages[0].Content), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binary_content_goes_through_bdat()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await LoggedInAsync(emulator, "healthy.basic@contoso.com");
        var message = Message("healthy.basic@contoso.com", "info@contoso.com");
        var attachment = new MimePart("application", "octet-stream")
        {
            Content = new MimeContent(new System.IO.MemoryStream(Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray())),
            ContentTransferEncoding = ContentEncoding.Binary,
            FileName = "blob.bin",
        };
        message.Body = new Multipart("mixed") { new TextPart("plain") { Text = "see attachment" }, attachment };

        await client.SendAsync(message, Harness.Token());

        Assert.True(emulator.Statistics.GetCommandCount("BDAT") >= 1);
        Assert.Equal(0, emulator.Statistics.GetCommandCount("DATA"));
        Assert.Contains("blob.bin", Encoding.UTF8.GetString(Assert.Single(emulator.ReceivedMessages).Content), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bdat_sendas_is_checked_after_the_last_chunk()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await LoggedInAsync(emulator, "sendas.denied@contoso.com");
        byte[] body = Encoding.ASCII.GetBytes("From: info@contoso.com\r\nSubject: x\r\n\r\nhi\r\n");

        await client.RawAsync("MAIL FROM:<sendas.denied@contoso.com> BODY=BINARYMIME");
        await client.RawAsync("RCPT TO:<someone@example.com>");
        await client.RawAsync($"BDAT {body.Length} LAST\r\n{Encoding.ASCII.GetString(body)}".TrimEnd('\n', '\r'));

        Harness.AssertErrorReply(client.LastReply, 554, "5.2.252 SendAsDenied; sendas.denied@contoso.com not allowed to send as info@contoso.com" + SendAsDeniedTail);
    }

    [Fact]
    public async Task Rset_noop_and_quit()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await LoggedInAsync(emulator, "healthy.basic@contoso.com");

        await client.RawAsync("MAIL FROM:<healthy.basic@contoso.com>");
        await client.RawAsync("RSET");
        Assert.Equal("250 2.0.0 Resetting", client.LastReply);
        await client.RawAsync("MAIL FROM:<healthy.basic@contoso.com>");
        Assert.Equal("250 2.1.0 Sender OK", client.LastReply);
        await client.RawAsync("RCPT TO:<a@example.com>");
        Assert.Equal("250 2.1.5 Recipient OK", client.LastReply);
        await client.RawAsync("NOOP");
        Assert.Equal("250 2.0.0 OK", client.LastReply);
        await client.QuitAsync();
        Assert.Equal("221 2.0.0 Service closing transmission channel", client.LastReply);
    }

    [Fact]
    public async Task Declared_size_over_the_limit_is_refused_at_mail_from()
    {
        await using var emulator = await Harness.StartAsync();
        using var client = await LoggedInAsync(emulator, "healthy.basic@contoso.com");

        await client.RawAsync("MAIL FROM:<healthy.basic@contoso.com> SIZE=157286401");

        Harness.AssertErrorReply(client.LastReply, 552, "5.3.4 Message size exceeds fixed maximum message size");
    }

    private static async Task<ProbeClient> LoggedInAsync(ExoSmtpEmulator emulator, string upn)
    {
        var client = await Harness.ConnectAsync(emulator);
        await client.LoginAsync(upn, Harness.PasswordOf(upn));
        return client;
    }

    private static MimeMessage Message(string envelopeFrom, string headerFrom)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(headerFrom));
        message.Sender = MailboxAddress.Parse(envelopeFrom);
        message.To.Add(MailboxAddress.Parse("someone@example.com"));
        message.Subject = "test";
        message.Body = new TextPart("plain") { Text = "hello" };
        return message;
    }
}
