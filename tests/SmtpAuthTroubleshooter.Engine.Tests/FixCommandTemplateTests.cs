using System.Collections.Generic;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): the fix command template filler in the engine. Every value goes in as a PowerShell
    /// single-quoted literal (the typographic single quotes that PowerShell also ends a string on are doubled too); a
    /// placeholder without a value stays visible, quoted, and is reported once.
    /// </summary>
    public class FixCommandTemplateTests
    {
        private static readonly Dictionary<string, string?> Values = new Dictionary<string, string?>
        {
            ["UserPrincipalName"] = "app@contoso.com",
            ["Policy"] = "  Allow SMTP  ",
            ["Blank"] = "   ",
            ["Null"] = null,
        };

        [Fact]
        public void Values_are_filled_trimmed_and_quoted()
        {
            string? command = FixCommand.Fill("Set-CASMailbox -Identity <UserPrincipalName> -SmtpClientAuthenticationDisabled $false; Set-User <UserPrincipalName> -AuthenticationPolicy <Policy>", Values, out IReadOnlyList<string> unfilled);
            Assert.Equal("Set-CASMailbox -Identity 'app@contoso.com' -SmtpClientAuthenticationDisabled $false; Set-User 'app@contoso.com' -AuthenticationPolicy 'Allow SMTP'", command);
            Assert.Empty(unfilled);
        }

        [Fact]
        public void A_placeholder_without_a_value_stays_quoted_and_is_reported_once()
        {
            string? command = FixCommand.Fill("Get-User <Blank> <Null> <Missing> <Missing>", Values, out IReadOnlyList<string> unfilled);
            Assert.Equal("Get-User '<Blank>' '<Null>' '<Missing>' '<Missing>'", command);
            Assert.Equal(new[] { "<Blank>", "<Null>", "<Missing>" }, unfilled);
        }

        [Fact]
        public void Text_that_is_not_a_placeholder_is_left_alone()
        {
            string? command = FixCommand.Fill("Get-Foo <not a name> <1> a<b $x -lt 3", Values, out IReadOnlyList<string> unfilled);
            Assert.Equal("Get-Foo <not a name> <1> a<b $x -lt 3", command);
            Assert.Empty(unfilled);
        }

        [Fact]
        public void No_template_is_no_command()
        {
            Assert.Null(FixCommand.Fill(null, Values, out IReadOnlyList<string> unfilled));
            Assert.Empty(unfilled);
        }

        [Theory]
        [InlineData("plain", "'plain'")]
        [InlineData("", "''")]
        [InlineData("O'Brien", "'O''Brien'")]
        [InlineData("''", "''''''")]
        [InlineData("a\u2018b", "'a\u2018\u2018b'")]
        [InlineData("a\u2019b", "'a\u2019\u2019b'")]
        [InlineData("a\u201Ab", "'a\u201A\u201Ab'")]
        [InlineData("a\u201Bb", "'a\u201B\u201Bb'")]
        [InlineData("a\u201Cb\u2017c\u201Dd", "'a\u201Cb\u2017c\u201Dd'")]
        [InlineData("$(Remove-Item *) `n \"x\"", "'$(Remove-Item *) `n \"x\"'")]
        public void Quote_makes_a_single_quoted_literal_PowerShell_reads_back_as_the_value(string value, string expected)
        {
            Assert.Equal(expected, FixCommand.Quote(value));
        }
    }
}
