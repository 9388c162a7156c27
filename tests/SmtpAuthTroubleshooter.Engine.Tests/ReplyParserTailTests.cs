using System;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): a bracketed host at the end of a reply is Exchange's diagnostic server only when
    /// the name is Microsoft's; any other server's bracket stays part of its text (a mutation that took any [host] for
    /// Exchange's diagnostic tail passed every test).
    /// </summary>
    public class ReplyParserTailTests
    {
        [Theory]
        [InlineData("535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6 [mail.example.net]", "Error: authentication failed: UGFzc3dvcmQ6 [mail.example.net]")]
        [InlineData("535 5.7.8 Authentication failed [smtp.gmail.com 2023-11-29T14:52:57.126Z 08DBE7319275F6BA]", "Authentication failed [smtp.gmail.com 2023-11-29T14:52:57.126Z 08DBE7319275F6BA]")]
        [InlineData("421 4.3.2 Service not available [Hostname=mx1.contoso.com]", "Service not available [Hostname=mx1.contoso.com]")]
        [InlineData("550 5.7.1 Relaying denied [production.contoso.com]", "Relaying denied [production.contoso.com]")]
        public void A_bracketed_host_that_is_not_Microsofts_is_not_a_diagnostic_server(string input, string text)
        {
            ParsedReply r = Assert.Single(ReplyParser.Parse(input).Replies);
            Assert.Null(r.DiagnosticServer);
            Assert.Null(r.DiagnosticTimestamp);
            Assert.Null(r.DiagnosticId);
            Assert.Equal(text, r.Text);
        }

        [Theory]
        [InlineData("535 5.7.8 Error: authentication failed [OUTLOOK.CONTOSO.COM]", "OUTLOOK.CONTOSO.COM")]
        [InlineData("535 5.7.8 Error: authentication failed [office365.contoso.net]", "office365.contoso.net")]
        [InlineData("535 5.7.8 Error: authentication failed [BN1.NAMP110.PROD.example]", "BN1.NAMP110.PROD.example")]
        [InlineData("550 5.7.1 Relaying denied [contoso-com.mail.protection.example]", "contoso-com.mail.protection.example")]
        [InlineData("421 4.3.2 Service not available [Hostname=BN8NAM12FT015.eop-nam12.prod.protection.outlook.com]", "BN8NAM12FT015.eop-nam12.prod.protection.outlook.com")]
        public void Each_of_Microsofts_host_forms_is_a_diagnostic_server_and_leaves_the_text(string input, string server)
        {
            ParsedReply r = Assert.Single(ReplyParser.Parse(input).Replies);
            Assert.Equal(server, r.DiagnosticServer);
            Assert.DoesNotContain("[", r.Text, StringComparison.Ordinal);
        }

        [Fact]
        public void The_timestamp_and_id_of_the_tail_are_read_and_a_tail_without_an_id_has_none()
        {
            ParsedReply r = Assert.Single(ReplyParser.Parse("535 5.7.8 Error: authentication failed [office365.contoso.net 2023-11-29T14:52:57.126Z]").Replies);
            Assert.Equal(new DateTimeOffset(2023, 11, 29, 14, 52, 57, 126, TimeSpan.Zero), r.DiagnosticTimestamp);
            Assert.Null(r.DiagnosticId);
            Assert.Equal("Error: authentication failed", r.Text);
        }
    }
}
