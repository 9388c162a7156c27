using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using MailKit.Security;
using Xunit;

namespace SmtpAuthTroubleshooter.ExoEmulator.Tests;

public sealed class ConcurrencyTests
{
    private const string Limit = "4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.";

    [Fact]
    public async Task The_fourth_authenticated_connection_for_a_mailbox_gets_432()
    {
        await using var emulator = await Harness.StartAsync();
        var open = new List<ProbeClient>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                open.Add(await LoginAsync(emulator, "healthy.basic@contoso.com"));
            }

            Assert.Equal(3, emulator.GetAuthenticatedConnectionCount("healthy.basic@contoso.com"));
            Assert.Equal(3, emulator.GetAuthenticatedConnectionCount("hb@contoso.com"));
            using var fourth = await Harness.ConnectAsync(emulator);
            await Assert.ThrowsAsync<AuthenticationException>(() => fourth.LoginAsync("healthy.basic@contoso.com", Harness.PasswordOf("healthy.basic@contoso.com")));

            Harness.AssertErrorReply(fourth.LastReply, 432, Limit);
            Assert.Equal(AuthOutcome.ConcurrencyLimit, emulator.AuthEvents[^1].Outcome);
            Assert.Equal(3, emulator.GetAuthenticatedConnectionCount("healthy.basic@contoso.com"));

            // The same applies to OAuth, and another mailbox is not affected.
            await Assert.ThrowsAsync<AuthenticationException>(() => fourth.OAuthAsync("healthy.basic@contoso.com", emulator.TokenIssuer.IssueDelegated(emulator.Scenario, "healthy.basic@contoso.com")));
            Harness.AssertErrorReply(fourth.LastReply, 432, Limit);
            await fourth.LoginAsync("smtp.override@contoso.com", Harness.PasswordOf("smtp.override@contoso.com"));
        }
        finally
        {
            open.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task Counts_drop_when_connections_close_by_quit_or_by_dropping()
    {
        await using var emulator = await Harness.StartAsync();
        var first = await LoginAsync(emulator, "healthy.basic@contoso.com");
        var second = await LoginAsync(emulator, "healthy.basic@contoso.com");
        var third = await LoginAsync(emulator, "healthy.basic@contoso.com");

        await first.QuitAsync();
        Assert.Equal(2, emulator.GetAuthenticatedConnectionCount("healthy.basic@contoso.com"));
        using (var again = await LoginAsync(emulator, "healthy.basic@contoso.com"))
        {
            Assert.Equal(3, emulator.GetAuthenticatedConnectionCount("healthy.basic@contoso.com"));
        }

        // Dispose without QUIT: the server notices the closed socket.
        second.Dispose();
        third.Dispose();
        first.Dispose();
        await Harness.EventuallyAsync(() => emulator.GetAuthenticatedConnectionCount("healthy.basic@contoso.com") == 0, "all slots released");
        await Harness.EventuallyAsync(() => emulator.Statistics.ConnectionsActive == 0, "all sessions ended");
        Assert.Equal(4, emulator.Statistics.AuthSuccesses);
    }

    [Fact]
    public async Task A_failed_auth_takes_no_slot()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { MaxConcurrentPerMailbox = 1 });
        using var failing = await Harness.ConnectAsync(emulator);
        await Assert.ThrowsAsync<AuthenticationException>(() => failing.LoginAsync("healthy.basic@contoso.com", "wrong"));

        using var ok = await LoginAsync(emulator, "healthy.basic@contoso.com");

        Assert.Equal(1, emulator.GetAuthenticatedConnectionCount("healthy.basic@contoso.com"));
    }

    [Fact]
    public async Task Many_parallel_sessions_are_served()
    {
        await using var emulator = await Harness.StartAsync(configure: o => o with { MaxConcurrentPerMailbox = 24 });
        string[] users = ["healthy.basic@contoso.com", "smtp.override@contoso.com", "sendas.denied@contoso.com"];

        await Task.WhenAll(Enumerable.Range(0, 24).Select(async i =>
        {
            string user = users[i % users.Length];
            using var client = await Harness.ConnectAsync(emulator);
            await client.LoginAsync(user, Harness.PasswordOf(user));
            await client.QuitAsync();
        }));

        Assert.Equal(24, emulator.Statistics.AuthSuccesses);
        await Harness.EventuallyAsync(() => emulator.Statistics.ConnectionsActive == 0, "all sessions ended");
    }

    private static async Task<ProbeClient> LoginAsync(ExoSmtpEmulator emulator, string upn)
    {
        var client = await Harness.ConnectAsync(emulator);
        await client.LoginAsync(upn, Harness.PasswordOf(upn));
        return client;
    }
}
