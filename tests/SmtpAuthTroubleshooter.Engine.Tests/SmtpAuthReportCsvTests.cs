using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Readiness;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// -SmtpAuthReportPath: the file an admin gives, read as the files the admin center and Exchange Online hand out.
    /// Sources (Microsoft does not document the exported header itself):
    /// - Microsoft's page on the report, https://learn.microsoft.com/exchange/monitoring/mail-flow-reports/mfr-smtp-auth-clients-report:
    ///   the columns Sender address, Domain, TLS 1.0 / TLS 1.1 / TLS 1.2 (percentage), Messages sent; Export gives a .csv.
    /// - The Exchange Team's retirement post (update of October 18, 2024), "Exchange Online to retire Basic auth for Client
    ///   Submission (SMTP AUTH)": the report gained the "Authentication Protocol" column, Basic auth or OAuth.
    /// - itpro-tips.com, "End of life for basic SMTP authentication" (community): the column's value for basic is
    ///   "Basic Authentication"; Request report, or Start-HistoricalSearch -ReportType SmtpCSReport, mails a detailed CSV.
    /// - A public script that reads that SmtpCSReport CSV (365BulkMessageTrackByMessage_ID.ps1, community): Import-Csv
    ///   -Encoding Unicode, and the columns date, senderName, senderDomain, authMethod, original_client_ip, tls_version,
    ///   tls_cipher, message_count, message_id.
    /// </summary>
    public class SmtpAuthReportCsvTests
    {
        private static readonly DateTime s_now = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);

        private sealed class Sink : IDiagnosticSink
        {
            public readonly List<string> Warnings = new List<string>();
            public void Verbose(string message) { }
            public void Warning(string message) => Warnings.Add(message);
            public void Debug(string message) { }
            public void Progress(string activity, string status, int percentComplete) { }
            public void Progress(string activity, string status, int percentComplete, int secondsRemaining) { }
        }

        // No Graph and no Exchange: every sender the report names is listed, with what the report says of it.
        private static async Task<(IReadOnlyList<SmtpAuthClient> Clients, Sink Sink)> Read(string csv)
        {
            var sink = new Sink();
            var reader = new ReadinessReader(null, "there is no Microsoft Graph session", null, new ReadinessOptions { NowUtc = s_now, SmtpAuthReportCsv = csv }, sink);
            return (await reader.ReadAsync(CancellationToken.None), sink);
        }

        [Fact]
        public async Task The_admin_centers_wording_Basic_Authentication_reads_as_Basic_and_an_OAuth_only_sender_as_unaffected()
        {
            // Header: Microsoft's page and the October 2024 update; "Basic Authentication": itpro-tips.com.
            (IReadOnlyList<SmtpAuthClient> clients, _) = await Read(
                "Sender address,Domain,TLS 1.0,TLS 1.1,TLS 1.2,Messages sent,Authentication protocol\r\n" +
                "scanner@contoso.com,contoso.com,0%,0%,100%,12,Basic Authentication\r\n" +
                "app@contoso.com,contoso.com,0%,0%,100%,30,OAuth\r\n");

            SmtpAuthClient scanner = clients.Single(c => c.UserPrincipalName == "scanner@contoso.com");
            Assert.Equal("Basic", scanner.AuthenticationProtocol);
            Assert.Equal(12, scanner.MessagesSent);
            SmtpAuthClient app = clients.Single(c => c.UserPrincipalName == "app@contoso.com");
            Assert.Equal("OAuth", app.AuthenticationProtocol);
            Assert.Equal(SmtpAuthImpact.Unaffected, app.ImpactAtDefaultOff);
        }

        [Fact]
        public async Task The_requested_SmtpCSReport_csv_is_read_by_its_own_column_names_and_its_rows_are_summed()
        {
            // The columns the public script reads from an SmtpCSReport CSV; message_id before message_count, so that the
            // count is not taken from the first column that says "message".
            (IReadOnlyList<SmtpAuthClient> clients, Sink sink) = await Read(
                "date,senderName,senderDomain,authMethod,original_client_ip,tls_version,tls_cipher,message_id,message_count\r\n" +
                "2026-11-02,scanner@contoso.com,contoso.com,Basic,203.0.113.7,TLS1.2,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,<a@contoso.com>,1\r\n" +
                "2026-11-03,scanner@contoso.com,contoso.com,Basic,203.0.113.7,TLS1.2,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,<b@contoso.com>,2\r\n" +
                "2026-11-03,app@contoso.com,contoso.com,OAuth,198.51.100.9,TLS1.2,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,<c@contoso.com>,1\r\n");

            Assert.Empty(sink.Warnings);
            SmtpAuthClient scanner = clients.Single(c => c.UserPrincipalName == "scanner@contoso.com");
            Assert.Equal("Basic", scanner.AuthenticationProtocol);
            Assert.Equal(3, scanner.MessagesSent);
            SmtpAuthClient app = clients.Single(c => c.UserPrincipalName == "app@contoso.com");
            Assert.Equal("OAuth", app.AuthenticationProtocol);
            Assert.Equal(SmtpAuthImpact.Unaffected, app.ImpactAtDefaultOff);
        }

        [Fact]
        public async Task A_sender_name_without_a_domain_takes_the_rows_sender_domain()
        {
            (IReadOnlyList<SmtpAuthClient> clients, _) = await Read(
                "date,senderName,senderDomain,authMethod,message_count\r\n" +
                "2026-11-02,scanner,contoso.com,Basic,4\r\n");

            SmtpAuthClient scanner = Assert.Single(clients);
            Assert.Equal("scanner@contoso.com", scanner.UserPrincipalName);
            Assert.Equal(4, scanner.MessagesSent);
        }

        [Fact]
        public async Task An_export_saved_again_by_Excel_with_semicolons_and_grouped_counts_is_read()
        {
            // Excel in a locale whose list separator is ";" saves CSV with semicolons and groups thousands with "." or a
            // space; "sep=;" is the line Excel itself reads as the separator.
            (IReadOnlyList<SmtpAuthClient> clients, _) = await Read(
                "Sender address;Domain;TLS 1.0;TLS 1.1;TLS 1.2;Messages sent;Authentication protocol\r\n" +
                "erp@contoso.com;contoso.com;0%;0%;100%;3.615;Basic Authentication\r\n" +
                "hr@contoso.com;contoso.com;0%;0%;100%;\"1\u00A0200\";Basic Authentication\r\n");
            Assert.Equal(3615, clients.Single(c => c.UserPrincipalName == "erp@contoso.com").MessagesSent);
            Assert.Equal(1200, clients.Single(c => c.UserPrincipalName == "hr@contoso.com").MessagesSent);

            (clients, _) = await Read("sep=;\r\nSender address;Messages sent;Authentication protocol\r\nerp@contoso.com;7;OAuth\r\n");
            Assert.Equal(7, Assert.Single(clients).MessagesSent);
        }

        [Fact]
        public async Task A_count_that_is_not_a_whole_number_is_left_empty_rather_than_misread()
        {
            (IReadOnlyList<SmtpAuthClient> clients, _) = await Read("Sender address,Messages sent,Authentication protocol\r\nerp@contoso.com,3.5,Basic\r\n");
            Assert.Null(Assert.Single(clients).MessagesSent);
        }

        [Fact]
        public void A_UTF16_file_with_or_without_a_byte_order_mark_is_decoded()
        {
            const string text = "date,senderName,authMethod,message_count\r\n2026-11-02,scanner@contoso.com,Basic,1\r\n";
            Assert.Equal(text, ReadinessReader.DecodeReport(Encoding.Unicode.GetBytes(text)));
            Assert.Equal(text, ReadinessReader.DecodeReport(Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(text)).ToArray()).TrimStart('\uFEFF'));
            Assert.Equal(text, ReadinessReader.DecodeReport(Encoding.BigEndianUnicode.GetBytes(text)));
            Assert.Equal(text, ReadinessReader.DecodeReport(new UTF8Encoding(true).GetPreamble().Concat(Encoding.UTF8.GetBytes(text)).ToArray()).TrimStart('\uFEFF'));
            Assert.Equal("Sender address\r\njos\u00E9@contoso.com\r\n", ReadinessReader.DecodeReport(Encoding.UTF8.GetBytes("Sender address\r\njos\u00E9@contoso.com\r\n")));
        }

        [Fact]
        public async Task A_message_trace_given_instead_is_said_in_a_warning_and_none_of_its_senders_is_listed()
        {
            // Get-MessageTraceV2's output, exported: it has a sender column, but no protocol, message count or TLS.
            (IReadOnlyList<SmtpAuthClient> clients, Sink sink) = await Read(
                "Received,SenderAddress,RecipientAddress,Subject,Status,ToIP,FromIP,Size,MessageId,MessageTraceId\r\n" +
                "2026-11-02 10:00:00,scanner@contoso.com,a@fabrikam.com,Scan,Delivered,,203.0.113.7,1200,<a@contoso.com>,7c1e\r\n" +
                "2026-11-02 10:05:00,someone@contoso.com,b@fabrikam.com,Hello,Delivered,,203.0.113.8,800,<b@contoso.com>,8d2f\r\n");

            Assert.Empty(clients);
            string warning = Assert.Single(sink.Warnings);
            Assert.Contains("not the SMTP AUTH clients report", warning, StringComparison.Ordinal);
            Assert.Contains("SenderAddress, RecipientAddress", warning, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Another_report_without_a_sender_column_is_said_in_a_warning_as_well_as_in_the_reasons()
        {
            // The Microsoft 365 admin center's Mailbox usage report.
            const string csv = "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Created Date,Last Activity Date,Item Count,Storage Used (Byte)\r\n" +
                "2026-11-29,scanner@contoso.com,Scanner,False,,2020-01-01,2026-11-28,120,1048576\r\n";
            var sink = new Sink();
            var reader = new ReadinessReader(null, "there is no Microsoft Graph session", null, new ReadinessOptions { NowUtc = s_now, SmtpAuthReportCsv = csv, IncludeUnused = true }, sink);
            Assert.Empty(await reader.ReadAsync(CancellationToken.None));
            string warning = Assert.Single(sink.Warnings);
            Assert.Contains("has no sender column (Report Refresh Date, User Principal Name", warning, StringComparison.Ordinal);
            Assert.Contains("it was not used", warning, StringComparison.Ordinal);
        }

        [Fact]
        public async Task An_export_from_an_admin_center_in_another_language_is_read_by_its_values()
        {
            // The column names of Microsoft's Italian page on the report (Indirizzo del mittente, Dominio, TLS 1.0
            // (percentuale), Messaggi inviati); whether the export's header is translated too is not documented.
            (IReadOnlyList<SmtpAuthClient> clients, Sink sink) = await Read(
                "Indirizzo del mittente,Dominio,TLS 1.0 (percentuale),TLS 1.1 (percentuale),TLS 1.2 (percentuale),Messaggi inviati,Protocollo di autenticazione\r\n" +
                "scanner@contoso.com,contoso.com,0,0,100,12,Basic Authentication\r\n" +
                "app@contoso.com,contoso.com,0,0,100,30,OAuth\r\n");
            Assert.Empty(sink.Warnings);
            SmtpAuthClient scanner = clients.Single(c => c.UserPrincipalName == "scanner@contoso.com");
            Assert.Equal("Basic", scanner.AuthenticationProtocol);
            Assert.Equal(12, scanner.MessagesSent);
            Assert.Equal(SmtpAuthImpact.Unaffected, clients.Single(c => c.UserPrincipalName == "app@contoso.com").ImpactAtDefaultOff);

            // A header none of whose names is known: the protocol and the sender by their values alone, no count.
            (clients, sink) = await Read("Absenderadresse;Domäne;Gesendete Nachrichten;Authentifizierungsprotokoll\r\nscanner@contoso.com;contoso.com;12;Basic Authentication\r\n");
            Assert.Empty(sink.Warnings);
            SmtpAuthClient only = Assert.Single(clients);
            Assert.Equal("scanner@contoso.com", only.UserPrincipalName);
            Assert.Equal("Basic", only.AuthenticationProtocol);
            Assert.Null(only.MessagesSent);
        }

        [Fact]
        public async Task An_unknown_header_without_a_column_of_Basic_and_OAuth_is_still_not_used()
        {
            (IReadOnlyList<SmtpAuthClient> clients, Sink sink) = await Read("Benutzer,Anzahl\r\nscanner@contoso.com,12\r\n");
            Assert.Empty(clients);
            Assert.Contains("has no sender column (Benutzer, Anzahl); it was not used.", Assert.Single(sink.Warnings), StringComparison.Ordinal);
        }

        [Fact]
        public async Task A_zip_archive_or_an_Excel_workbook_is_said_to_be_one()
        {
            // Start-HistoricalSearch can compress the requested report (-CompressFile, on Microsoft's page of the cmdlet).
            byte[] zip = { 0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x9C, 0x5A };
            (IReadOnlyList<SmtpAuthClient> clients, Sink sink) = await Read(ReadinessReader.DecodeReport(zip));
            Assert.Empty(clients);
            Assert.Contains("is a ZIP archive or an Excel workbook, not a CSV", Assert.Single(sink.Warnings), StringComparison.Ordinal);
        }

        [Fact]
        public async Task Rows_per_day_of_one_sender_are_summed_and_both_protocols_kept()
        {
            (IReadOnlyList<SmtpAuthClient> clients, _) = await Read(
                "Date,Sender address,Messages sent,Authentication protocol\r\n" +
                "2026-11-02,erp@contoso.com,10,Basic Authentication\r\n" +
                "2026-11-03,ERP@contoso.com,5,OAuth\r\n");
            SmtpAuthClient erp = Assert.Single(clients);
            Assert.Equal(15, erp.MessagesSent);
            Assert.Equal("Basic, OAuth", erp.AuthenticationProtocol);
            Assert.NotEqual(SmtpAuthImpact.Unaffected, erp.ImpactAtDefaultOff);
        }
    }
}
