using System.Text.Json;
using SmtpAuthTroubleshooter.Engine.Policy;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// Issue 11 ("Tests that guard"): a Conditional Access policy read from Graph's JSON (ConditionalAccessPolicy.FromJson),
    /// every condition that decides SMTP basic auth, and what is missing or of another type read as empty.
    /// </summary>
    public class ConditionalAccessJsonTests
    {
        private static ConditionalAccessPolicy Parse(string json)
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            return ConditionalAccessPolicy.FromJson(doc.RootElement);
        }

        [Fact]
        public void FromJson_reads_every_condition_that_decides_SMTP()
        {
            ConditionalAccessPolicy p = Parse("""
            {
              "id": "p-1", "displayName": "Block legacy", "state": "enabled",
              "conditions": {
                "clientAppTypes": ["exchangeActiveSync", "other"],
                "applications": { "includeApplications": ["All"], "excludeApplications": ["app-x"] },
                "users": {
                  "includeUsers": ["All"], "excludeUsers": ["u-1", 42, null],
                  "includeGroups": ["g-in"], "excludeGroups": ["g-out"],
                  "includeRoles": ["r-in"], "excludeRoles": ["r-out", "r-out-2"]
                },
                "locations": null, "platforms": null, "signInRiskLevels": [], "userRiskLevels": []
              },
              "grantControls": { "operator": "OR", "builtInControls": ["block"], "authenticationStrength": null }
            }
            """);
            Assert.Equal("p-1", p.Id);
            Assert.Equal("Block legacy", p.DisplayName);
            Assert.Equal("enabled", p.State);
            Assert.Equal(new[] { "exchangeActiveSync", "other" }, p.ClientAppTypes);
            Assert.Equal(new[] { "All" }, p.IncludeApplications);
            Assert.Equal(new[] { "app-x" }, p.ExcludeApplications);
            Assert.Equal(new[] { "All" }, p.IncludeUsers);
            Assert.Equal(new[] { "u-1" }, p.ExcludeUsers);
            Assert.Equal(new[] { "g-in" }, p.IncludeGroups);
            Assert.Equal(new[] { "g-out" }, p.ExcludeGroups);
            Assert.Equal(new[] { "r-in" }, p.IncludeRoles);
            Assert.Equal(new[] { "r-out", "r-out-2" }, p.ExcludeRoles);
            Assert.False(p.DependsOnSource);
            Assert.Equal(new[] { "block" }, p.GrantControls);
            Assert.False(p.RequiresAuthenticationStrength);
        }

        [Theory]
        [InlineData("\"locations\": { \"includeLocations\": [\"All\"], \"excludeLocations\": [\"AllTrusted\"] }")]
        [InlineData("\"platforms\": { \"includePlatforms\": [\"android\"] }")]
        [InlineData("\"signInRiskLevels\": [\"high\"]")]
        [InlineData("\"userRiskLevels\": [\"medium\"]")]
        public void FromJson_marks_a_policy_narrowed_by_source(string condition)
        {
            ConditionalAccessPolicy p = Parse("{ \"id\": \"p\", \"conditions\": { " + condition + " } }");
            Assert.True(p.DependsOnSource);
        }

        [Fact]
        public void FromJson_reads_an_authentication_strength_grant()
        {
            ConditionalAccessPolicy p = Parse("""{ "id": "p", "grantControls": { "builtInControls": [], "authenticationStrength": { "id": "00000000-0000-0000-0000-000000000002" } } }""");
            Assert.True(p.RequiresAuthenticationStrength);
            Assert.Empty(p.GrantControls);
        }

        [Fact]
        public void FromJson_leaves_what_is_missing_or_of_another_type_empty()
        {
            ConditionalAccessPolicy p = Parse("""{ "id": 7, "displayName": null, "conditions": { "users": "odd", "clientAppTypes": "other" }, "grantControls": [] }""");
            Assert.Equal(string.Empty, p.Id);
            Assert.Equal(string.Empty, p.DisplayName);
            Assert.Equal(string.Empty, p.State);
            Assert.Empty(p.ClientAppTypes);
            Assert.Empty(p.IncludeUsers);
            Assert.Empty(p.GrantControls);
            Assert.False(p.DependsOnSource);
            Assert.False(p.RequiresAuthenticationStrength);
            Assert.False(p.NeedsMembership);

            ConditionalAccessPolicy empty = Parse("[]");
            Assert.Equal(string.Empty, empty.Id);
            Assert.Empty(empty.IncludeApplications);
        }
    }
}
