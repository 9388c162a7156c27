using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

public sealed class RobustnessTests
{
    [Fact]
    public async Task Garbage_gets_500_and_the_listener_keeps_serving()
    {
        await using var emulator = await Harness.StartAsync();
        await using (var raw = await RawConnection.OpenAsync(emulator))
        {
            var random = new Random(42);
            byte[] junk = new byte[300];
            random.NextBytes(junk);
            for (int i = 0; i < junk.Length; i++)
            {
                if (junk[i] is (byte)'\n' or (byte)'\r')
                {
                    junk[i] = 0;
                }
            }

            await raw.SendBytesAsync([.. junk, (byte)'\r', (byte)'\n']);
            Harness.AssertErrorReply(await raw.ReadReplyAsync(), 500, "5.3.3 Unrecognized command");
            Harness.AssertErrorReply(await raw.CommandAsync("VRFY postmaster"), 500, "5.3.3 Unrecognized command");
            Assert.Equal("250 2.0.0 OK", await raw.CommandAsync("NOOP"));
        }

        using var client = await Harness.ConnectAsync(emulator);
        await client.LoginAsync("healthy.basic@contoso.com", Harness.PasswordOf("healthy.basic@contoso.com"));
        Assert.Equal(0, emulator.Statistics.SessionErrors);
        Assert.Equal(2, emulator.Statistics.GetCommandCount("UNRECOGNIZED"));
    }

    [Fact]
    public async Task An_over_long_line_is_refused_without_killing_the_session()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { MaxCommandLineLength = 1024 });
        await using var raw = await RawConnection.OpenAsync(emulator);

        await raw.SendAsync("EHLO " + new string('a', 50_000));
        Harness.AssertErrorReply(await raw.ReadReplyAsync(), 500, "5.5.2 Syntax error, line too long");
        Assert.StartsWith("250-", await raw.CommandAsync("EHLO client.test"));
        Assert.Contains(emulator.ProtocolLog, e => e.Line == "<line over the length limit>");
    }

    [Fact]
    public async Task An_idle_client_is_dropped_with_421()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { ReadTimeout = TimeSpan.FromMilliseconds(300) });
        await using var raw = await RawConnection.OpenAsync(emulator);

        Harness.AssertErrorReply(await raw.ReadReplyAsync(), 421, "4.4.2 Connection dropped due to timeout");
        Assert.Null(await raw.ReadReplyAsync());
        await Harness.EventuallyAsync(() => emulator.Statistics.ConnectionsActive == 0, "session ended");
    }

    [Fact]
    public async Task Dispose_closes_open_sessions_quickly()
    {
        var emulator = await Harness.StartAsync();
        await using var raw = await RawConnection.OpenAsync(emulator);
        using var client = await Harness.ConnectAsync(emulator);
        await client.LoginAsync("healthy.basic@contoso.com", Harness.PasswordOf("healthy.basic@contoso.com"));
        var watch = Stopwatch.StartNew();

        await emulator.DisposeAsync();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"DisposeAsync took {watch.Elapsed} (a session left open would hold it to the 20 s read time-out)");
        string? last = await raw.ReadReplyAsync();
        if (last is not null)
        {
            Harness.AssertErrorReply(last, 421, "4.3.2 Service not available, closing transmission channel");
        }

        Assert.Equal(0, emulator.Statistics.ConnectionsActive);
        await Assert.ThrowsAnyAsync<Exception>(() => RawConnection.OpenAsync(emulator));
        await emulator.DisposeAsync();
    }

    [Fact]
    public async Task Connections_over_the_limit_are_refused_at_connect()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { MaxConnections = 2 });
        await using var one = await RawConnection.OpenAsync(emulator);
        await using var two = await RawConnection.OpenAsync(emulator);
        await using var three = await RawConnection.OpenAsync(emulator, readBanner: false);

        Harness.AssertErrorReply(await three.ReadReplyAsync(), 421, "4.3.2 The maximum number of concurrent server connections has exceeded a limit, closing transmission channel");
        Assert.Equal(1, emulator.Statistics.ConnectionsRefused);
    }

    [Fact]
    public async Task Pipelined_commands_are_answered_in_order()
    {
        await using var emulator = await Harness.StartAsync();
        await using var raw = await RawConnection.OpenAsync(emulator);

        await raw.SendAsync("NOOP\r\nRSET\r\nMAIL FROM:<a@contoso.com>\r\nQUIT");

        Assert.Equal("250 2.0.0 OK", await raw.ReadReplyAsync());
        Assert.Equal("250 2.0.0 Resetting", await raw.ReadReplyAsync());
        Harness.AssertErrorReply(await raw.ReadReplyAsync(), 503, "5.5.2 Send hello first");
        Assert.Equal("221 2.0.0 Service closing transmission channel", await raw.ReadReplyAsync());
        Assert.Null(await raw.ReadReplyAsync());
    }

    [Fact]
    public async Task Reply_delay_slows_every_reply()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { ReplyDelay = TimeSpan.FromMilliseconds(150) });
        await using var raw = await RawConnection.OpenAsync(emulator);
        var watch = Stopwatch.StartNew();

        await raw.CommandAsync("NOOP");
        await raw.CommandAsync("NOOP");

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(290), $"two replies took {watch.Elapsed}");
    }

    [Fact]
    public async Task Counters_and_protocol_log_follow_the_conversation()
    {
        var sink = new ConcurrentQueue<ProtocolLogEntry>();
        await using var emulator = await Harness.StartAsync(configure: o => o with { ProtocolLogSink = sink.Enqueue });
        using (var client = await Harness.ConnectAsync(emulator))
        {
            await client.LoginAsync("healthy.basic@contoso.com", Harness.PasswordOf("healthy.basic@contoso.com"));
            await client.QuitAsync();
        }

        await Harness.EventuallyAsync(() => emulator.Statistics.ConnectionsActive == 0, "session ended");
        var stats = emulator.Statistics;
        Assert.Equal((1L, 2L, 1L, 1L, 1L), (stats.ConnectionsAccepted, stats.GetCommandCount("EHLO"), stats.GetCommandCount("STARTTLS"), stats.GetCommandCount("AUTH"), stats.GetCommandCount("QUIT")));
        Assert.Equal(5, stats.Commands);
        Assert.Equal((1L, 1L), (stats.AuthAttempts, stats.AuthSuccesses));
        var log = emulator.ProtocolLog;
        Assert.Equal(log.Count, sink.Count);
        Assert.StartsWith("connect from 127.0.0.1", log[0].Line, StringComparison.Ordinal);
        Assert.Equal(ProtocolDirection.Server, log[1].Direction);
        Assert.All(log, e => Assert.Equal(log[0].SessionId, e.SessionId));
        Assert.Matches("^[0-9A-F]{16}$", log[0].SessionId);
        Assert.Contains(log, e => e.Direction == ProtocolDirection.Info && e.Line.StartsWith("TLS Tls1", StringComparison.Ordinal));

        emulator.ClearLogs();
        Assert.Empty(emulator.ProtocolLog);
        Assert.Empty(emulator.AuthEvents);
    }

    [Fact]
    public async Task Received_messages_are_bounded()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { MaxStoredMessages = 2 });
        using var client = await Harness.ConnectAsync(emulator);
        await client.LoginAsync("healthy.basic@contoso.com", Harness.PasswordOf("healthy.basic@contoso.com"));

        for (int i = 0; i < 4; i++)
        {
            await client.RawAsync("MAIL FROM:<healthy.basic@contoso.com>");
            await client.RawAsync("RCPT TO:<x@example.com>");
            await client.RawAsync("DATA");
            await client.RawAsync($"Subject: {i}\r\n\r\n..dot-stuffed line {i}\r\n.");
        }

        Assert.Equal(4, emulator.Statistics.MessagesAccepted);
        Assert.Equal(["Subject: 2\r\n\r\n.dot-stuffed line 2\r\n", "Subject: 3\r\n\r\n.dot-stuffed line 3\r\n"], emulator.ReceivedMessages.Select(m => Encoding.UTF8.GetString(m.Content)));
    }
}
