using System;
using System.Linq;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    public class ReplyParserTests
    {
        [Fact]
        public void Parses_codes_and_strips_the_new_diagnostic_tail()
        {
            ParsedError p = ReplyParser.Parse("535 5.7.139 Authentication unsuccessful, the user credentials were incorrect. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM 2023-11-29T14:52:57.126Z 08DBE7319275F6BA]");
            ParsedReply r = Assert.Single(p.Replies);
            Assert.Equal(535, r.ReplyCode);
            Assert.Equal("5.7.139", r.EnhancedStatusCode);
            Assert.Equal("Authentication unsuccessful, the user credentials were incorrect.", r.Text);
            Assert.Equal("the user credentials were incorrect.", r.Reason);
            Assert.Equal("BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM", r.DiagnosticServer);
            Assert.Equal(new DateTimeOffset(2023, 11, 29, 14, 52, 57, 126, TimeSpan.Zero), r.DiagnosticTimestamp);
            Assert.Equal("08DBE7319275F6BA", r.DiagnosticId);
        }

        [Fact]
        public void Reads_a_text_that_an_HTML_or_XML_log_kept_as_character_references()
        {
            // An ASP.NET log (cloudscribe/cloudscribe#755) and a web UI that escaped the reply's quotes.
            ParsedError p = ReplyParser.Parse("An error occurred while attempting to establish an SSL or TLS connection.&#xD;&#xA;&#xD;&#xA;The server&#x27;s certificate.");
            Assert.StartsWith("An error occurred while attempting to establish an SSL or TLS connection.\n", p.Text, StringComparison.Ordinal);
            Assert.EndsWith("\nThe server's certificate.", p.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("&#", p.Text, StringComparison.Ordinal);
            ParsedReply r = Assert.Single(ReplyParser.Parse("Expected response code 250 but got code &quot;554&quot;, with message &quot;554 5.2.252 SendAsDenied; alex@contoso.com not allowed to send as ann@contoso.com&quot;").Replies, x => x.EnhancedStatusCode is not null);
            Assert.Equal("5.2.252", r.EnhancedStatusCode);
            Assert.DoesNotContain("&quot;", r.Text, StringComparison.Ordinal);

            // An ampersand that is not a character reference stays as it is.
            Assert.Equal("535 Login Fail. subtype=1&&id=28&no=1001256 R&D", ReplyParser.Parse("535 Login Fail. subtype=1&&id=28&no=1001256 R&D").Text);
        }

        [Fact]
        public void The_code_a_client_expected_is_not_a_reply()
        {
            // SwiftMailer's and Symfony Mailer's wrapper (nextcloud/server#5047): "250" is what it wanted, "553" what it got.
            ParsedError p = ReplyParser.Parse("Expected response code 250 but got code \"553\", with message \"553 Relaying disallowed as [username] (profile email address)\"");
            ParsedReply r = Assert.Single(p.Replies);
            Assert.Equal(553, r.ReplyCode);
            Assert.StartsWith("Relaying disallowed as", r.Text, StringComparison.Ordinal);
        }

        [Fact]
        public void Reads_a_reply_as_the_IIS_SMTP_service_logs_it_with_plus_signs_for_spaces()
        {
            // The IIS SMTP relay of a scan-to-email device, forwarding to Office 365 (pastebin.com/wtU9XT6T), and another IIS
            // relay's deferral from Yahoo (both W3C extended logs: one field, '+' for each space).
            ParsedError p = ReplyParser.Parse("2018-02-19 23:06:29 40.97.132.226 OutboundConnectionResponse SMTPSVC1 FBDC-001 - 0 - - 250+2.1.0+Sender+OK 0 0 19 0 4094 SMTP - - - -\n" +
                "2018-02-19 23:06:36 40.97.132.226 OutboundConnectionResponse SMTPSVC1 FBDC-001 - 0 - - 550+5.7.60+SMTP;+Client+does+not+have+permissions+to+send+as+this+sender+[BY2PR1001MB1094.namprd10.prod.outlook.com] 0 0 116 0 11485 SMTP - - - -");
            ParsedReply refusal = Assert.Single(p.Replies, r => r.ReplyCode == 550);
            Assert.Equal("5.7.60", refusal.EnhancedStatusCode);
            Assert.StartsWith("SMTP; Client does not have permissions to send as this sender", refusal.Text, StringComparison.Ordinal);
            Assert.Equal("BY2PR1001MB1094.namprd10.prod.outlook.com", refusal.DiagnosticServer);

            ParsedReply deferred = Assert.Single(ReplyParser.Parse("2017-02-09 05:28:28 66.196.118.34 OutboundConnectionResponse SMTPSVC1 VSERVER14541 - 25 - - 421+4.7.0+[TSS04]+Messages+from+192.223.13.201+temporarily+deferred+due+to+user+complaints+-+4.16.55.1;+see+https://help.yahoo.com/kb/postmaster/SLN3434.html 0 0 157 0 16 SMTP - - - -").Replies, r => r.ReplyCode == 421);
            Assert.Equal("4.7.0", deferred.EnhancedStatusCode);
            Assert.Contains("Messages from 192.223.13.201 temporarily deferred", deferred.Text, StringComparison.Ordinal);

            // A '+' anywhere else stays: an address tag, a reply whose own words hold one.
            Assert.Contains("alerts+smtp@contoso.com", ReplyParser.Parse("535 5.7.3 Authentication unsuccessful for alerts+smtp@contoso.com").Text, StringComparison.Ordinal);
            Assert.Contains("C++", ReplyParser.Parse("550 5.7.1 C++ client refused").Text, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("code: 'EAUTH',\n  response: '504 5.7.4 Unrecognized authentication type',\n  command: 'AUTH LOGIN'", "LOGIN")]
        [InlineData("Command \"auth login\" failed : 504 5.7.4 Unrecognized authentication type", "LOGIN")]
        [InlineData("C: AUTH XOAUTH2 dXNlcj1h\nS: 535 5.7.3 Authentication unsuccessful", "XOAUTH2")]
        [InlineData("S: 250-AUTH LOGIN XOAUTH2\nS: 250 SMTPUTF8\nC: AUTH PLAIN AGFubgBwYXNz\nS: 504 5.7.4 Unrecognized authentication type", "PLAIN")]
        [InlineData("250-AUTH LOGIN XOAUTH2\n250 SMTPUTF8\nC: MAIL FROM:<ann@contoso.com>\nS: 530 5.7.57 Client not authenticated to send mail", null)]
        [InlineData("SMTP server does not support authentication", null)]
        public void Names_the_mechanism_the_client_sent_and_not_the_ones_the_server_listed(string input, string? mechanism)
        {
            Assert.Equal(mechanism, ReplyParser.Parse(input).Mechanism);
        }

        [Fact]
        public void Reads_the_code_a_client_printed_alone_after_what_it_expected()
        {
            // mailsend (muquit/mailsend#164): only the code, nothing after it.
            ParsedReply r = Assert.Single(ReplyParser.Parse("Error: Expected smtp code 250, got 552").Replies);
            Assert.Equal(552, r.ReplyCode);
            Assert.Empty(ReplyParser.Parse("Error: Expected smtp code 250").Replies);
        }

        [Fact]
        public void Parses_the_old_host_only_tail()
        {
            ParsedReply r = Assert.Single(ReplyParser.Parse("535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]").Replies);
            Assert.Equal("SN2PR00CA0018.namprd00.prod.outlook.com", r.DiagnosticServer);
            Assert.Null(r.DiagnosticTimestamp);
            Assert.Equal("Authentication unsuccessful", r.Text);
        }

        [Fact]
        public void Digs_the_embedded_error_out_of_a_System_Net_Mail_5_7_57()
        {
            ParsedError p = ReplyParser.Parse("System.Net.Mail.SmtpException: The SMTP server requires a secure connection or the client was not authenticated. The server response was: 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [TY1PR01CA0183.jpnprd01.prod.outlook.com]");
            Assert.Equal("System.Net.Mail", p.Source);
            Assert.Equal(2, p.Replies.Count);
            ParsedReply inner = p.Replies[0];
            ParsedReply outer = p.Replies[1];
            Assert.True(inner.IsEmbedded);
            Assert.Equal(535, inner.ReplyCode);
            Assert.Equal("5.7.139", inner.EnhancedStatusCode);
            Assert.StartsWith("Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.", inner.Text, StringComparison.Ordinal);
            Assert.Equal("TY1PR01CA0183.jpnprd01.prod.outlook.com", inner.DiagnosticServer);
            Assert.Null(outer.ReplyCode);
            Assert.Equal("5.7.57", outer.EnhancedStatusCode);
            Assert.Same(inner, outer.Embedded);
            Assert.Equal("Client not authenticated to send mail.", outer.Text);
        }

        [Theory]
        [InlineData("MailKit.Security.AuthenticationException: 535: 5.7.139 Authentication unsuccessful, account locked.", "MailKit", 535, "5.7.139")]
        [InlineData("smtplib.SMTPAuthenticationError: (535, b'5.7.139 Authentication unsuccessful, account locked. [SN4PR0201CA0068.namprd02.prod.outlook.com]')", "Python smtplib", 535, "5.7.139")]
        [InlineData("javax.mail.AuthenticationFailedException: 535 5.7.139 Authentication unsuccessful, account locked.", "Java Mail", 535, "5.7.139")]
        [InlineData("Error: Invalid login: 535 5.7.139 Authentication unsuccessful, account locked.\n    at SMTPConnection._formatError {\n  code: 'EAUTH',\n  response: '535 5.7.139 Authentication unsuccessful, account locked.',\n  responseCode: 535,\n  command: 'AUTH LOGIN'\n}", "nodemailer", 535, "5.7.139")]
        [InlineData("2024-05-01 10:00:01 SMTP ERROR: Password command failed: 535 5.7.139 Authentication unsuccessful, account locked.", "PHPMailer", 535, "5.7.139")]
        [InlineData("MailKit.Net.Smtp.SmtpCommandException: 5.7.60 SMTP; Client does not have permissions to send as this sender", "MailKit", null, "5.7.60")]
        public void Recognises_library_wrappings(string input, string source, int? code, string enhanced)
        {
            ParsedError p = ReplyParser.Parse(input);
            Assert.Equal(source, p.Source);
            ParsedReply r = p.Replies[0];
            Assert.Equal(code, r.ReplyCode);
            Assert.Equal(enhanced, r.EnhancedStatusCode);
            Assert.DoesNotContain("')", r.Text, StringComparison.Ordinal);
        }

        [Fact]
        public void Duplicate_copies_of_one_reply_collapse()
        {
            ParsedError p = ReplyParser.Parse("Error: Invalid login: 535 5.7.139 Authentication unsuccessful, account locked.\n  response: '535 5.7.139 Authentication unsuccessful, account locked.',");
            Assert.Single(p.Replies);
            Assert.Equal(SmtpAuthMethod.Unknown, p.AuthMethodHint);
        }

        [Fact]
        public void Reads_the_auth_method_from_the_command_in_the_text()
        {
            Assert.Equal(SmtpAuthMethod.OAuth, ReplyParser.Parse("command: 'AUTH XOAUTH2' response: '535 5.7.3 Authentication unsuccessful'").AuthMethodHint);
            Assert.Equal(SmtpAuthMethod.Basic, ReplyParser.Parse("command: 'AUTH LOGIN' response: '535 5.7.3 Authentication unsuccessful'").AuthMethodHint);
        }

        [Theory]
        // msmtp 1.8.23 against the ExoEmulator (tests/Peers/clients): it names the mechanism in its own words, not as a command.
        [InlineData("msmtp: authentication failed (method LOGIN)\nmsmtp: server message: 535 5.7.3 Authentication unsuccessful [YT3PR01CA0020.CANPRD01.PROD.OUTLOOK.COM 2026-12-02T15:43:32.809Z FA2EFA92E3DAD90E]\nmsmtp: could not send mail", "LOGIN", SmtpAuthMethod.Basic)]
        [InlineData("msmtp: authentication failed (method XOAUTH2)\nmsmtp: server message: 535 5.7.3 Authentication unsuccessful [YT3PR01CA0020.CANPRD01.PROD.OUTLOOK.COM 2026-12-02T15:43:34.553Z E6FD7CAF63BF685A]\nmsmtp: could not send mail", "XOAUTH2", SmtpAuthMethod.OAuth)]
        // PHPMailer's SMTPDebug lines as its SMTP.php authenticate() writes them (written for this test, not captured).
        [InlineData("2025-03-04 10:11:12 Auth method requested: UNSPECIFIED\n2025-03-04 10:11:12 Auth methods available on the server: LOGIN,XOAUTH2\n2025-03-04 10:11:12 Auth method selected: LOGIN\n2025-03-04 10:11:13 SERVER -> CLIENT: 535 5.7.3 Authentication unsuccessful", "LOGIN", SmtpAuthMethod.Basic)]
        [InlineData("msmtp: the server does not support authentication method PLAIN", null, SmtpAuthMethod.Unknown)]
        public void Reads_the_mechanism_a_client_names_in_its_own_words(string input, string? mechanism, SmtpAuthMethod method)
        {
            ParsedError p = ReplyParser.Parse(input);
            Assert.Equal(mechanism, p.Mechanism);
            Assert.Equal(method, p.AuthMethodHint);
        }

        [Fact]
        public void A_bare_5_7_3_after_a_mechanism_the_client_names_is_read_for_that_method()
        {
            // Exchange Online's 535 5.7.3 follows both a refused password and a refused token; msmtp says which it sent.
            var resolver = new SmtpAuthTroubleshooter.Engine.Diagnosis.SmtpAuthErrorResolver();
            string basic = resolver.Resolve(new SmtpAuthTroubleshooter.Engine.Diagnosis.ErrorEvidence("msmtp: authentication failed (method LOGIN)\nmsmtp: server message: 535 5.7.3 Authentication unsuccessful [YT3PR01CA0020.CANPRD01.PROD.OUTLOOK.COM 2026-12-02T15:43:32.809Z FA2EFA92E3DAD90E]\nmsmtp: could not send mail"))[0].CauseId;
            Assert.NotEqual("OAuthTokenRejected", basic);
            Assert.Equal("InvalidCredentials", basic);
        }

        [Fact]
        public void Multi_line_replies_yield_each_line()
        {
            ParsedError p = ReplyParser.Parse("432-4.3.2 Concurrent connections limit exceeded.\r\n432 4.3.2 Visit https://aka.ms/concurrent_sending for more information. [Hostname=BY5PR04MB6535.namprd04.prod.outlook.com]");
            Assert.Equal(2, p.Replies.Count);
            Assert.All(p.Replies, r => Assert.Equal(432, r.ReplyCode));
            Assert.Equal("BY5PR04MB6535.namprd04.prod.outlook.com", p.Replies[1].DiagnosticServer);
        }

        [Fact]
        public void A_reply_without_an_enhanced_code_still_parses()
        {
            ParsedReply r = Assert.Single(ReplyParser.Parse("421 Service not available, closing transmission channel").Replies);
            Assert.Equal(421, r.ReplyCode);
            Assert.Null(r.EnhancedStatusCode);
        }

        [Fact]
        public void Version_numbers_and_plain_numbers_are_not_replies()
        {
            Assert.Empty(ReplyParser.Parse("Loaded MailKit, Version=4.18.0.0 after 1535 ms").Replies);
        }

        [Theory]
        [InlineData(null)]
        [InlineData("")]
        [InlineData("\u0000\u0001\u0002")]
        [InlineData("\ud800 lone surrogate 535 5.7.3")]
        [InlineData("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[")]
        public void Hostile_input_never_throws(string? input)
        {
            ParsedError p = ReplyParser.Parse(input);
            Assert.NotNull(p);
        }

        [Fact]
        public void Long_input_is_truncated_and_flagged()
        {
            string input = "535 5.7.139 Authentication unsuccessful, account locked. " + new string('x', 1_000_000);
            ParsedError p = ReplyParser.Parse(input);
            Assert.True(p.Truncated);
            Assert.Equal(535, p.Replies[0].ReplyCode);
            Assert.True(p.Text.Length <= ReplyParser.MaxInputLength);
        }

        [Fact]
        public void Parsing_a_Send_MailMessage_error_gives_the_embedded_reply_first_and_the_wrapper_after()
        {
            // Issue 11: this was "Parsing_is_deterministic", two parses of one input compared with each other, which a
            // pure function passes whatever it returns. It now says what the parse is.
            const string input = "Send-MailMessage : The server response was: 5.7.57 Client not authenticated to send mail. Error: 535 5.7.139 Authentication unsuccessful, account locked. [A.PROD.OUTLOOK.COM]";
            ParsedError p = ReplyParser.Parse(input);
            Assert.Equal("System.Net.Mail", p.Source);
            Assert.Equal(2, p.Replies.Count);
            ParsedReply inner = p.Replies[0];
            Assert.True(inner.IsEmbedded);
            Assert.Equal(535, inner.ReplyCode);
            Assert.Equal("5.7.139", inner.EnhancedStatusCode);
            Assert.Equal("Authentication unsuccessful, account locked.", inner.Text);
            Assert.Equal("account locked.", inner.Reason);
            Assert.Equal("A.PROD.OUTLOOK.COM", inner.DiagnosticServer);
            ParsedReply outer = p.Replies[1];
            Assert.False(outer.IsEmbedded);
            Assert.Null(outer.ReplyCode);
            Assert.Equal("5.7.57", outer.EnhancedStatusCode);
            Assert.Equal("Client not authenticated to send mail.", outer.Text);
            Assert.Same(inner, outer.Embedded);
            Assert.Null(outer.DiagnosticServer);
        }
    }
}
