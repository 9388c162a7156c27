using System;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 12: a Graph page the caller's module hands over as a string is encoded to UTF-8 as it is read, not into one
    /// array per page. The bytes must be exactly Encoding.UTF8's, whatever the reader's buffer size.
    /// </summary>
    public class Utf8StringContentTests
    {
        public static TheoryData<string> Texts() => new TheoryData<string>
        {
            string.Empty,
            "{\"value\":[]}",
            "{\"city\":\"São Paulo\",\"name\":\"Zoë Ångström\",\"ja\":\"東京都\",\"emoji\":\"📧✉️\"}",
            "x\uD83D\uDCE7",               // ends in a surrogate pair
            "a\uD800b",                     // a lone high surrogate in the middle
            "tail\uDC00",                   // a lone low surrogate at the end
            new string('é', 5000) + "😀" + new string('a', 3),
        };

        [Theory]
        [MemberData(nameof(Texts))]
        public void The_stream_gives_exactly_the_UTF8_bytes_for_any_buffer_size(string text)
        {
            byte[] expected = Encoding.UTF8.GetBytes(text);
            foreach (int size in new[] { 1, 2, 3, 4, 5, 7, 16, 4096 })
            {
                using var stream = new Utf8StringReadStream(text);
                var got = new MemoryStream();
                var buffer = new byte[size + 2];
                int n;
                while ((n = stream.Read(buffer, 1, size)) > 0)
                {
                    Assert.InRange(n, 1, size);
                    got.Write(buffer, 1, n);
                }

                Assert.Equal(expected, got.ToArray());
                Assert.Equal(0, stream.Read(buffer, 0, size));
            }
        }

        [Theory]
        [MemberData(nameof(Texts))]
        public async Task The_content_reports_the_UTF8_length_and_serializes_the_same_bytes(string text)
        {
            using var content = new Utf8StringContent(text);
            Assert.Equal(Encoding.UTF8.GetByteCount(text), content.Headers.ContentLength);
            Assert.Equal("application/json", content.Headers.ContentType!.MediaType);
            Assert.Equal(Encoding.UTF8.GetBytes(text), await content.ReadAsByteArrayAsync());
            Assert.Equal(text.Replace('\uD800', '\uFFFD').Replace('\uDC00', '\uFFFD'), await new Utf8StringContent(text).ReadAsStringAsync());
        }

        [Fact]
        public async Task A_page_parses_straight_from_the_content_stream()
        {
            string page = "{\"value\":[{\"userPrincipalName\":\"zoë@contoso.com\",\"status\":{\"errorCode\":0}}],\"@odata.nextLink\":\"https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=2\"}";
            using var content = new Utf8StringContent(page);
            using Stream stream = await content.ReadAsStreamAsync();
            using JsonDocument doc = await JsonDocument.ParseAsync(stream);
            Assert.Equal("zoë@contoso.com", doc.RootElement.GetProperty("value")[0].GetProperty("userPrincipalName").GetString());
            Assert.Equal("https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=2", doc.RootElement.GetProperty("@odata.nextLink").GetString());
        }

        [Fact]
        public void Bad_arguments_are_refused()
        {
            using var stream = new Utf8StringReadStream("abc");
            Assert.Throws<ArgumentNullException>(() => stream.Read(null!, 0, 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => stream.Read(new byte[2], 1, 2));
            Assert.Throws<ArgumentOutOfRangeException>(() => stream.Read(new byte[2], -1, 1));
            Assert.False(stream.CanSeek);
            Assert.False(stream.CanWrite);
            Assert.Throws<NotSupportedException>(() => stream.Length);
        }
    }
}
