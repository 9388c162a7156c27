using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmtpAuthTroubleshooter.ExoEmulator.Graph;

/// <summary>A routed request: its statistics key and the handler that answers it.</summary>
internal sealed record RouteMatch(string Key, bool IsBatch, Func<GraphResponse> Execute);

/// <summary>The Graph routes, in Graph's JSON shapes (SHAPES.md section B).</summary>
internal sealed class GraphApi(GraphEmulator emulator)
{
    public const int MaxBatchRequests = 20;

    /// <summary>
    /// Which permissions each route needs, as Microsoft's API pages list them: every entry is needed, and an entry "A|B"
    /// is met by any of its names (a least privileged permission or a higher one). A route answers 403 when, for some
    /// entry, all its names are in tenant.graph.permissionsMissing.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> RoutePermissions = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["policies/identitySecurityDefaultsEnforcementPolicy"] = ["Policy.Read.All"],
        ["identity/conditionalAccess/policies"] = ["Policy.Read.All"],
        // https://learn.microsoft.com/graph/api/conditionalaccessroot-evaluate: Policy.Read.ConditionalAccess, or Policy.Read.All.
        ["identity/conditionalAccess/evaluate"] = ["Policy.Read.ConditionalAccess|Policy.Read.All"],
        ["users"] = ["User.Read.All"],
        // https://learn.microsoft.com/graph/api/user-list-transitivememberof: User.Read.All, or a higher one. Members of a
        // type the caller may not read come back with limited information (MemberOf), not as a 403.
        ["users/transitiveMemberOf"] = ["User.Read.All|GroupMember.Read.All|Group.Read.All|Directory.Read.All"],
        ["users/authentication/requirements"] = ["Policy.Read.All"],
        ["auditLogs/signIns"] = ["AuditLog.Read.All", "Directory.Read.All"],
        ["domains"] = ["Domain.Read.All"],
        ["servicePrincipals"] = ["Application.Read.All"],
    };

    private const string SecurityDefaultsDescription =
        "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks.";

    private GraphDirectory Directory => emulator.Directory;

    private TimeProvider Clock => emulator.Options.Clock;

    public RouteMatch Match(GraphRequest request, string? batchVersion)
    {
        IReadOnlyList<string> segments = request.Segments;
        string version;
        if (batchVersion is null)
        {
            if (segments.Count == 0)
            {
                return Fixed("unmatched", Error(400, "BadRequest", "Invalid version.", Clock, request));
            }

            version = segments[0];
            segments = segments.Skip(1).ToArray();
        }
        else
        {
            version = batchVersion;
        }

        if (version is not ("v1.0" or "beta"))
        {
            return Fixed("unmatched", Error(400, "BadRequest", $"Invalid version: {version}", Clock, request));
        }

        string m = request.Method;
        string Key(string template) => $"{m} /{version}/{template}";
        bool S(int i, string literal) => segments.Count > i && segments[i].Equals(literal, StringComparison.OrdinalIgnoreCase);
        int n = segments.Count;

        if (n == 1 && S(0, "$batch") && batchVersion is null)
        {
            return Route(Key("$batch"), "POST", () => Batch(request, version), isBatch: true);
        }

        if (n == 2 && S(0, "policies") && S(1, "identitySecurityDefaultsEnforcementPolicy"))
        {
            return Route(Key("policies/identitySecurityDefaultsEnforcementPolicy"), "GET", () => SecurityDefaults(request, version));
        }

        if (n >= 3 && S(0, "identity") && S(1, "conditionalAccess"))
        {
            if (n == 3 && S(2, "policies"))
            {
                return Route(Key("identity/conditionalAccess/policies"), "GET", () => Policies(request, version, segments));
            }

            if (n == 4 && S(2, "policies"))
            {
                return Route(Key("identity/conditionalAccess/policies/{id}"), "GET", () => Policy(request, version, segments[3]));
            }

            if (n == 3 && S(2, "evaluate"))
            {
                return Route(Key("identity/conditionalAccess/evaluate"), "POST", () => Evaluate(request));
            }
        }

        if (S(0, "users"))
        {
            switch (n)
            {
                case 1:
                    return Route(Key("users"), "GET", () => Users(request, version, segments));
                case 2:
                    return Route(Key("users/{id}"), "GET", () => User(request, version, segments[1]));
                case 3 or 4 when S(2, "transitiveMemberOf") || S(2, "memberOf"):
                    string relation = segments[2].Equals("memberOf", StringComparison.OrdinalIgnoreCase) ? "memberOf" : "transitiveMemberOf";
                    string? cast = n == 4 ? segments[3] : null;
                    return Route(Key($"users/{{id}}/{relation}" + (cast is null ? string.Empty : "/" + cast)), "GET", () => MemberOf(request, version, segments, cast));
                case 4 when S(2, "authentication") && S(3, "requirements") && version == "beta":
                    return Route(Key("users/{id}/authentication/requirements"), "GET", () => Requirements(request, segments[1]));
            }
        }

        if (n == 2 && S(0, "auditLogs") && S(1, "signIns"))
        {
            return Route(Key("auditLogs/signIns"), "GET", () => SignIns(request, version, segments));
        }

        if (S(0, "domains") && n <= 2)
        {
            return n == 1
                ? Route(Key("domains"), "GET", () => Domains(request, version, segments))
                : Route(Key("domains/{id}"), "GET", () => Domain(request, version, segments[1]));
        }

        if (S(0, "servicePrincipals"))
        {
            switch (n)
            {
                case 1:
                    return Route(Key("servicePrincipals"), "GET", () => ServicePrincipals(request, version, segments));
                case 2:
                    return Route(Key("servicePrincipals/{id}"), "GET", () => ServicePrincipal(request, version, segments[1]));
                case 3 when S(2, "appRoleAssignments"):
                    return Route(Key("servicePrincipals/{id}/appRoleAssignments"), "GET", () => AppRoleAssignments(request, version, segments));
            }
        }

        string unknown = segments.Count == 0 ? version : segments.FirstOrDefault(s => !IsKnownSegment(s)) ?? segments[^1];
        return Fixed("unmatched", Error(400, "BadRequest", $"Resource not found for the segment '{unknown}'.", Clock, request));

        RouteMatch Route(string key, string method, Func<GraphResponse> handler, bool isBatch = false) =>
            request.Method == method || (method == "GET" && request.Method == "HEAD")
                ? new RouteMatch(key, isBatch, () => WithRoute(handler(), key))
                : Fixed(key, Error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.", Clock, request, key));
    }

    private static bool IsKnownSegment(string s) =>
        s is "users" or "policies" or "identity" or "conditionalAccess" or "auditLogs" or "domains" or "servicePrincipals" or "$batch";

    private static RouteMatch Fixed(string key, GraphResponse response) => new(key, false, () => WithRoute(response, key));

    private static GraphResponse WithRoute(GraphResponse r, string key) =>
        r.Route == key ? r : new GraphResponse(r.Status, r.Body, r.Headers) { RawBody = r.RawBody, Route = key };

    // ---------------------------------------------------------------- errors

    public static GraphResponse Error(int status, string code, string message, TimeProvider clock, GraphRequest? request = null, string route = "unmatched", IDictionary<string, string>? headers = null)
    {
        string requestId = Guid.NewGuid().ToString();
        var body = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = code,
                ["message"] = message,
                ["innerError"] = new JsonObject
                {
                    ["date"] = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture),
                    ["request-id"] = requestId,
                    ["client-request-id"] = request?.Header("client-request-id") ?? requestId,
                },
            },
        };
        var allHeaders = new Dictionary<string, string>(headers ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase)
        {
            ["request-id"] = requestId,
            ["client-request-id"] = request?.Header("client-request-id") ?? requestId,
        };
        return new GraphResponse(status, body, allHeaders) { Route = route };
    }

    /// <summary>429 (SHAPES B.11) or 503, with Retry-After unless the faults say not to.</summary>
    public static GraphResponse Throttled(GraphFaultSettings faults, TimeProvider clock, GraphRequest request, string route)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (faults.RetryAfter is { } retryAfter)
        {
            headers["Retry-After"] = retryAfter;
        }

        string requestId = Guid.NewGuid().ToString();
        headers["request-id"] = requestId;
        headers["client-request-id"] = request.Header("client-request-id") ?? requestId;
        string date = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        JsonObject body = faults.ThrottleStatus == 503
            ? new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["code"] = "ServiceUnavailable",
                    ["message"] = "The service is temporarily unavailable. Please retry later.",
                    ["innerError"] = new JsonObject { ["date"] = date, ["request-id"] = requestId, ["client-request-id"] = headers["client-request-id"] },
                },
            }
            : new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["code"] = "TooManyRequests",
                    ["innerError"] = new JsonObject
                    {
                        ["code"] = "429",
                        ["date"] = date,
                        ["message"] = "Please retry after",
                        ["request-id"] = requestId,
                        ["status"] = "429",
                    },
                    ["message"] = "Please retry again later.",
                },
            };
        return new GraphResponse(faults.ThrottleStatus == 503 ? 503 : 429, body, headers) { Route = route };
    }

    private GraphResponse NotFound(GraphRequest request, string id) =>
        Error(404, "Request_ResourceNotFound", $"Resource '{id}' does not exist or one of its queried reference-property objects are not present.", Clock, request);

    private GraphResponse BadRequest(GraphRequest request, string message) => Error(400, "BadRequest", message, Clock, request);

    /// <summary>403 Authorization_RequestDenied when the scenario says the caller lacks a permission the route needs.</summary>
    private GraphResponse? Denied(GraphRequest request, string permissionKey)
    {
        return RoutePermissions[permissionKey].Any(Lacks)
            ? Error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", Clock, request)
            : null;
    }

    /// <summary>True when the caller has none of the permissions in <paramref name="alternatives"/> ("A|B").</summary>
    private bool Lacks(string alternatives)
    {
        var missing = Directory.Tenant.EffectiveGraph().PermissionsMissing;
        return alternatives.Split('|').All(p => missing.Contains(p, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>
    /// A member of a directoryObject collection the caller may not read, as Graph lists it: "only the @odata.type
    /// property for the object type and the id is returned, while other properties are indicated as null"
    /// (https://learn.microsoft.com/graph/permissions-overview#limited-information-returned-for-inaccessible-member-objects).
    /// Directory roles are read with RoleManagement.Read.Directory or Directory.Read.All, groups with GroupMember.Read.All,
    /// Group.Read.All or Directory.Read.All.
    /// </summary>
    private JsonObject Readable(JsonObject item)
    {
        string type = item["@odata.type"]?.GetValue<string>() ?? string.Empty;
        string? needs = type switch
        {
            "#microsoft.graph.directoryRole" => "RoleManagement.Read.Directory|Directory.Read.All",
            "#microsoft.graph.group" => "GroupMember.Read.All|Group.Read.All|Directory.Read.All",
            _ => null,
        };
        if (needs is null || !Lacks(needs))
        {
            return item;
        }

        var limited = new JsonObject();
        foreach (var (name, value) in item)
        {
            limited[name] = name is "@odata.type" or "id" ? value?.DeepClone() : null;
        }

        return limited;
    }

    private GraphResponse? NotPremium(GraphRequest request) =>
        Directory.Tenant.EffectiveGraph().Premium
            ? null
            : Error(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant doesn't have premium license", Clock, request);

    private static GraphResponse Ok(JsonObject body) => new(200, body);

    private static string Context(string version, string fragment) => $"{GraphDirectory.GraphHost}/{version}/$metadata#{fragment}";

    // ---------------------------------------------------------------- routes

    private GraphResponse SecurityDefaults(GraphRequest request, string version) =>
        Denied(request, "policies/identitySecurityDefaultsEnforcementPolicy") ?? Ok(new JsonObject
        {
            ["@odata.context"] = Context(version, "policies/identitySecurityDefaultsEnforcementPolicy"),
            ["id"] = "00000000-0000-0000-0000-000000000005",
            ["displayName"] = "Security Defaults",
            ["description"] = SecurityDefaultsDescription,
            ["isEnabled"] = Directory.Tenant.SecurityDefaultsEnabled,
        });

    private GraphResponse Policies(GraphRequest request, string version, IReadOnlyList<string> segments)
    {
        if (Denied(request, "identity/conditionalAccess/policies") is { } denied)
        {
            return denied;
        }

        var items = Directory.Tenant.ConditionalAccessPolicies.Select(Directory.PolicyJson).ToList();
        return Page(request, version, segments, "identity/conditionalAccess/policies", items, 100, 999, "microsoft.graph.conditionalAccessPolicy", defaultProperties: null);
    }

    private GraphResponse Policy(GraphRequest request, string version, string id)
    {
        if (Denied(request, "identity/conditionalAccess/policies") is { } denied)
        {
            return denied;
        }

        var policy = Directory.Tenant.ConditionalAccessPolicies.FirstOrDefault(p => p.Id.Equals(id, StringComparison.OrdinalIgnoreCase));
        return policy is null
            ? NotFound(request, id)
            : Entity(request, version, "identity/conditionalAccess/policies", Directory.PolicyJson(policy), "microsoft.graph.conditionalAccessPolicy", null);
    }

    private GraphResponse Evaluate(GraphRequest request)
    {
        if ((Denied(request, "identity/conditionalAccess/evaluate") ?? NotPremium(request)) is { } refused)
        {
            return refused;
        }

        JsonObject body;
        try
        {
            body = JsonNode.Parse(request.Body) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException)
        {
            return BadRequest(request, "Invalid request body: expected a JSON object.");
        }

        if (body["signInIdentity"] is not JsonObject identity || body["signInContext"] is not JsonObject context || body["signInConditions"] is not JsonObject conditions)
        {
            return BadRequest(request, "signInIdentity, signInContext and signInConditions are required.");
        }

        string? userId = Text(identity["userId"]);
        if (userId is null)
        {
            return BadRequest(request, "signInIdentity.userId is required (only #microsoft.graph.userSignIn is emulated).");
        }

        var account = Directory.FindUser(userId);
        if (account is null)
        {
            return NotFound(request, userId);
        }

        var apps = (context["includeApplications"] as JsonArray)?.Select(Text).OfType<string>().ToArray() ?? [];
        string? clientAppType = Text(conditions["clientAppType"]);
        string? platform = Text(conditions["devicePlatform"]);
        if (platform is not null && platform.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            platform = null;
        }

        bool appliedOnly = body["appliedPoliciesOnly"] is JsonValue v && v.GetValueKind() == JsonValueKind.True;
        var tenant = Directory.Tenant;
        var results = new JsonArray();
        foreach (var policy in tenant.ConditionalAccessPolicies)
        {
            var reasons = new List<string>();
            if (policy.State == ConditionalAccessPolicyState.Disabled)
            {
                reasons.Add("policyNotEnabled");
            }

            if (!ConditionalAccessEvaluator.UserApplies(tenant, policy, account))
            {
                reasons.Add("users");
            }

            if (!ConditionalAccessEvaluator.ApplicationApplies(policy, apps))
            {
                reasons.Add("application");
            }

            if (!ConditionalAccessEvaluator.ClientAppApplies(policy, clientAppType))
            {
                reasons.Add("clientApps");
            }

            if (!ConditionalAccessEvaluator.PlatformApplies(policy, platform))
            {
                reasons.Add("devicePlatform");
            }

            if (!ConditionalAccessEvaluator.LocationApplies(policy))
            {
                reasons.Add("location");
            }

            bool applies = reasons.Count == 0;
            if (appliedOnly && !applies)
            {
                continue;
            }

            var json = Directory.PolicyJson(policy);
            var result = new JsonObject();
            foreach (string name in new[] { "id", "templateId", "displayName", "createdDateTime", "modifiedDateTime", "state" })
            {
                result[name] = json[name]?.DeepClone();
            }

            result["policyApplies"] = applies;
            result["analysisReasons"] = applies ? "notSet" : string.Join(',', reasons);
            foreach (string name in new[] { "conditions", "grantControls", "sessionControls" })
            {
                result[name] = json[name]?.DeepClone();
            }

            results.Add(result);
        }

        return Ok(new JsonObject
        {
            ["@odata.context"] = Context("v1.0", "Collection(microsoft.graph.whatIfAnalysisResult)"),
            ["value"] = results,
        });
    }

    private GraphResponse Users(GraphRequest request, string version, IReadOnlyList<string> segments)
    {
        if (Denied(request, "users") is { } denied)
        {
            return denied;
        }

        var items = Directory.Users.Select(GraphDirectory.UserJson).ToList();
        return Page(request, version, segments, "users", items, 100, 999, "microsoft.graph.user", GraphDirectory.UserDefaultProperties, GraphDirectory.UserProperties);
    }

    private GraphResponse User(GraphRequest request, string version, string id)
    {
        if (Denied(request, "users") is { } denied)
        {
            return denied;
        }

        var account = Directory.FindUser(id);
        return account is null
            ? NotFound(request, id)
            : Entity(request, version, "users", GraphDirectory.UserJson(account), "microsoft.graph.user", GraphDirectory.UserDefaultProperties, GraphDirectory.UserProperties);
    }

    private GraphResponse MemberOf(GraphRequest request, string version, IReadOnlyList<string> segments, string? cast)
    {
        if (Denied(request, "users/transitiveMemberOf") is { } denied)
        {
            return denied;
        }

        var account = Directory.FindUser(segments[1]);
        if (account is null)
        {
            return NotFound(request, segments[1]);
        }

        string? type = cast switch
        {
            null => null,
            "microsoft.graph.group" => "#microsoft.graph.group",
            "microsoft.graph.directoryRole" => "#microsoft.graph.directoryRole",
            _ => string.Empty,
        };
        if (type == string.Empty)
        {
            return BadRequest(request, $"Resource not found for the segment '{cast}'.");
        }

        var items = Directory.MemberOf(account).Where(o => type is null || o["@odata.type"]!.GetValue<string>() == type).Select(o => Readable((JsonObject)o.DeepClone())).ToList();
        string context = cast switch
        {
            "microsoft.graph.group" => "groups",
            "microsoft.graph.directoryRole" => "directoryRoles",
            _ => "directoryObjects",
        };
        return Page(request, version, segments, context, items, 100, 999, "microsoft.graph.directoryObject", defaultProperties: null);
    }

    private GraphResponse Requirements(GraphRequest request, string id)
    {
        if (Denied(request, "users/authentication/requirements") is { } denied)
        {
            return denied;
        }

        var account = Directory.FindUser(id);
        return account is null
            ? NotFound(request, id)
            : Ok(new JsonObject { ["perUserMfaState"] = account.PerUserMfaState.ToString().ToLowerInvariant() });
    }

    /// <summary>
    /// GET auditLogs/signIns from the <see cref="SignInLog"/>: newest first, $filter (with signInEventTypes/any(...) on
    /// beta), $top (1-1000, default 1000), $skiptoken paging; $select is refused as Graph refuses it. v1.0 lists interactive sign-ins only, and so does
    /// beta unless the filter names signInEventTypes. signInEventTypes, userAgent and authenticationProtocol exist on beta only.
    /// </summary>
    private GraphResponse SignIns(GraphRequest request, string version, IReadOnlyList<string> segments)
    {
        if ((Denied(request, "auditLogs/signIns") ?? NotPremium(request)) is { } refused)
        {
            return refused;
        }

        bool beta = version == "beta";
        var known = beta ? SignInLog.BetaProperties : SignInLog.V1Properties;
        const string entityType = "microsoft.graph.signIn";

        // Graph documents only $top, $skiptoken and $filter for this list, and refuses $select with the OData validator's
        // text (microsoftgraph/microsoft-graph-devx-api#1250, msgraph-sdk-powershell#1251): a reader that asks for fewer
        // properties fails on the real service, so it fails here too.
        if (request.QueryOption("$select") is not null)
        {
            return BadRequest(request, "Query option 'Select' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.");
        }

        List<string>? select = null;

        ODataFilter? filter = null;
        if (request.QueryOption("$filter") is { Length: > 0 } filterText)
        {
            try
            {
                filter = ODataFilter.Parse(filterText, known, entityType);
            }
            catch (ODataFilterException ex)
            {
                return BadRequest(request, ex.Message);
            }

            if (filter.Operators.FirstOrDefault(u => !SignInFilterable(u.Path, u.Operator)) is { Path: { } path } refusedUse)
            {
                return BadRequest(request, $"Invalid filter clause: the operator '{refusedUse.Operator}' is not supported on '{path}' of '{entityType}'.");
            }
        }

        const int maxPageSize = 1000;
        int pageSize = emulator.Options.PageSize ?? maxPageSize;
        if (request.QueryOption("$top") is { } topText)
        {
            if (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out int top) || top < 1 || top > maxPageSize)
            {
                return BadRequest(request, $"Invalid page size specified: '{topText}'. Must be between 1 and {maxPageSize.ToString(CultureInfo.InvariantCulture)} inclusive.");
            }

            pageSize = top;
        }

        int start = 0;
        if (request.QueryOption("$skiptoken") is { } skipToken && !TryDecodeSkipToken(skipToken, "row:", out start))
        {
            return BadRequest(request, "The specified $skiptoken is invalid or expired.");
        }

        var log = Directory.SignIns;
        bool interactiveOnly = !beta || filter is null || !filter.Reads("signInEventTypes");
        var (positions, next) = log.Query(filter, beta, interactiveOnly, start, pageSize);
        // Sign-ins take no $select, so every row is written whole, straight to bytes (GraphResponse.RawBody): the page's
        // JSON is what a JsonObject of the rendered rows serializes to, without building 1,000 DOMs for it.
        const string set = "auditLogs/signIns";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024 + (positions.Count * 1800));
        using (var writer = new Utf8JsonWriter(buffer, SignInLog.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("@odata.context", Context(version, select is null ? set : $"{set}({string.Join(',', select)})"));
            if (next is { } n)
            {
                writer.WriteString("@odata.nextLink", NextLink(request, version, segments, EncodeSkipToken("row:", start), EncodeSkipToken("row:", n)));
            }

            writer.WriteStartArray("value");
            foreach (int position in positions)
            {
                log.WriteRow(writer, position, beta);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return new GraphResponse(200, null, new Dictionary<string, string> { ["Content-Type"] = GraphResponse.JsonContentType }) { RawBody = buffer.WrittenSpan.ToArray() };
    }

    /// <summary>
    /// The $filter operators Microsoft's signIn resource page lists per property ("Supports $filter (eq, startsWith)" ...,
    /// https://learn.microsoft.com/graph/api/resources/signin?view=graph-rest-beta, and the attribute table of the older
    /// List signIns page); <c>and</c>/<c>or</c> join them. Anything else (gt/lt on createdDateTime, ne or startswith on
    /// clientAppUsed, a property with no $filter support) is refused, so a reader that depends on it fails here as it
    /// could on the real service.
    /// </summary>
    private static readonly Dictionary<string, string[]> s_signInFilterOperators = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase)
    {
        ["id"] = ["eq"],
        ["userId"] = ["eq"],
        ["appId"] = ["eq"],
        ["createdDateTime"] = ["eq", "le", "ge"],
        ["userDisplayName"] = ["eq", "startswith"],
        ["userPrincipalName"] = ["eq", "startswith"],
        ["appDisplayName"] = ["eq", "startswith"],
        ["authenticationRequirement"] = ["eq", "startswith"],
        ["ipAddress"] = ["eq", "startswith"],
        ["location/city"] = ["eq", "startswith"],
        ["location/state"] = ["eq", "startswith"],
        ["location/countryOrRegion"] = ["eq", "startswith"],
        ["status/errorCode"] = ["eq"],
        ["clientAppUsed"] = ["eq"],
        ["conditionalAccessStatus"] = ["eq"],
        ["conditionalAccessAudiences"] = ["eq"],
        ["deviceDetail/browser"] = ["eq", "startswith"],
        ["deviceDetail/operatingSystem"] = ["eq", "startswith"],
        ["correlationId"] = ["eq"],
        ["riskDetail"] = ["eq"],
        ["riskLevelAggregated"] = ["eq"],
        ["riskLevelDuringSignIn"] = ["eq"],
        ["riskEventTypes"] = ["eq"],
        ["riskEventTypes_v2"] = ["eq", "startswith", "any"],
        ["riskState"] = ["eq"],
        ["originalRequestId"] = ["eq"],
        ["tokenIssuerName"] = ["eq"],
        ["tokenIssuerType"] = ["eq"],
        ["resourceDisplayName"] = ["eq"],
        ["resourceId"] = ["eq"],
        ["servicePrincipalId"] = ["eq", "startswith"],
        ["servicePrincipalName"] = ["eq", "startswith"],
        ["userAgent"] = ["eq", "startswith"],
        ["alternateSignInName"] = ["eq", "startswith"],
        ["signInEventTypes"] = ["eq", "ne", "any"],
    };

    private static bool SignInFilterable(string path, string op) =>
        s_signInFilterOperators.TryGetValue(path, out string[]? ops) && ops.Contains(op, StringComparer.OrdinalIgnoreCase);

    private GraphResponse Domains(GraphRequest request, string version, IReadOnlyList<string> segments) =>
        Denied(request, "domains") ?? Page(request, version, segments, "domains", Directory.Domains, 100, 999, "microsoft.graph.domain", defaultProperties: null);

    private GraphResponse Domain(GraphRequest request, string version, string id)
    {
        if (Denied(request, "domains") is { } denied)
        {
            return denied;
        }

        var domain = Directory.Domains.FirstOrDefault(d => d["id"]!.GetValue<string>().Equals(id, StringComparison.OrdinalIgnoreCase));
        return domain is null ? NotFound(request, id) : Entity(request, version, "domains", domain, "microsoft.graph.domain", null);
    }

    private GraphResponse ServicePrincipals(GraphRequest request, string version, IReadOnlyList<string> segments) =>
        Denied(request, "servicePrincipals") ?? Page(request, version, segments, "servicePrincipals", Directory.ServicePrincipals, 100, 999, "microsoft.graph.servicePrincipal", defaultProperties: null);

    private GraphResponse ServicePrincipal(GraphRequest request, string version, string id)
    {
        if (Denied(request, "servicePrincipals") is { } denied)
        {
            return denied;
        }

        var sp = Directory.ServicePrincipals.FirstOrDefault(s => s["id"]!.GetValue<string>().Equals(id, StringComparison.OrdinalIgnoreCase));
        return sp is null ? NotFound(request, id) : Entity(request, version, "servicePrincipals", sp, "microsoft.graph.servicePrincipal", null);
    }

    private GraphResponse AppRoleAssignments(GraphRequest request, string version, IReadOnlyList<string> segments)
    {
        if (Denied(request, "servicePrincipals") is { } denied)
        {
            return denied;
        }

        var assignments = Directory.AppRoleAssignments(segments[1]);
        return assignments is null
            ? NotFound(request, segments[1])
            : Page(request, version, segments, "appRoleAssignments", assignments.Select(a => (JsonObject)a!).ToList(), 100, 999, "microsoft.graph.appRoleAssignment", defaultProperties: null);
    }

    // ---------------------------------------------------------------- $batch

    private GraphResponse Batch(GraphRequest request, string version)
    {
        JsonArray requests;
        try
        {
            requests = (JsonNode.Parse(request.Body) as JsonObject)?["requests"] as JsonArray ?? throw new JsonException("no requests array");
        }
        catch (JsonException)
        {
            return BadRequest(request, "Invalid batch payload format.");
        }

        if (requests.Count > MaxBatchRequests)
        {
            return BadRequest(request, $"Invalid batch payload format. The number of requests in a batch ({requests.Count.ToString(CultureInfo.InvariantCulture)}) exceeds the limit of {MaxBatchRequests.ToString(CultureInfo.InvariantCulture)}.");
        }

        var parsed = new List<(string Id, string Method, string Url, JsonObject? Headers, JsonNode? Body, string[] DependsOn)>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in requests)
        {
            if (node is not JsonObject item || Text(item["id"]) is not { Length: > 0 } id || Text(item["method"]) is not { } method || Text(item["url"]) is not { } url)
            {
                return BadRequest(request, "Invalid batch payload format. Every request needs an id, a method and a url.");
            }

            if (!ids.Add(id))
            {
                return BadRequest(request, $"Invalid batch payload format. Request id '{id}' is not unique.");
            }

            string[] dependsOn = (item["dependsOn"] as JsonArray)?.Select(Text).OfType<string>().ToArray() ?? [];
            if (dependsOn.Any(d => !parsed.Any(p => p.Id == d)))
            {
                return BadRequest(request, $"Invalid batch payload format. Request '{id}' depends on a request that does not precede it.");
            }

            if (item["body"] is not null && item["headers"] is not JsonObject)
            {
                return BadRequest(request, $"Invalid batch payload format. Request '{id}' has a body but no headers (Content-Type is required).");
            }

            parsed.Add((id, method, url, item["headers"] as JsonObject, item["body"], dependsOn));
        }

        var statuses = new Dictionary<string, int>(StringComparer.Ordinal);
        var responses = new List<JsonObject>();
        foreach (var (id, method, url, headers, body, dependsOn) in parsed)
        {
            GraphResponse inner;
            if (dependsOn.Any(d => statuses[d] is < 200 or >= 300))
            {
                inner = Error(424, "FailedDependency", "Failed dependency.", Clock, request);
            }
            else
            {
                var innerHeaders = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var (name, value) in headers ?? new JsonObject())
                {
                    innerHeaders[name] = Text(value) ?? string.Empty;
                }

                byte[] bytes = body is null ? [] : Encoding.UTF8.GetBytes(body.GetValueKind() == JsonValueKind.String ? body.GetValue<string>() : body.ToJsonString());
                string target = url.StartsWith('/') ? url : "/" + url;
                inner = emulator.Dispatch(new GraphRequest(method, target, innerHeaders, bytes), version, inner: true);
            }

            statuses[id] = inner.Status;
            var innerResponseHeaders = new JsonObject();
            foreach (var (name, value) in inner.Headers.Where(h => !h.Key.Equals("request-id", StringComparison.OrdinalIgnoreCase) && !h.Key.Equals("client-request-id", StringComparison.OrdinalIgnoreCase)))
            {
                innerResponseHeaders[name] = value;
            }

            JsonNode? innerBody = inner.JsonBody();
            if (inner.Status is >= 200 and < 300 && innerBody is not null)
            {
                innerResponseHeaders["OData-Version"] = "4.0";
            }

            responses.Add(new JsonObject
            {
                ["id"] = id,
                ["status"] = inner.Status,
                ["headers"] = innerResponseHeaders,
                ["body"] = innerBody,
            });
        }

        if (emulator.Options.BatchReverse)
        {
            responses.Reverse();
        }

        return new GraphResponse(200, new JsonObject { ["responses"] = new JsonArray(responses.Select(r => (JsonNode?)r).ToArray()) }, new Dictionary<string, string> { ["Content-Type"] = "application/json" });
    }

    // ---------------------------------------------------------------- shaping

    /// <summary>One entity with @odata.context, honouring $select.</summary>
    private GraphResponse Entity(GraphRequest request, string version, string set, JsonObject entity, string entityType, IReadOnlyList<string>? defaultProperties, IReadOnlyList<string>? knownProperties = null)
    {
        var known = knownProperties ?? entity.Select(p => p.Key).ToList();
        if (!TrySelect(request, known, entityType, out var select, out var error))
        {
            return error!;
        }

        var result = new JsonObject
        {
            ["@odata.context"] = Context(version, select is null ? $"{set}/$entity" : $"{set}({string.Join(',', select)})/$entity"),
        };
        foreach (var (name, value) in Project(entity, select, defaultProperties))
        {
            result[name] = value;
        }

        return Ok(result);
    }

    /// <summary>A collection page: $filter, $select, $top, $skiptoken and an absolute @odata.nextLink when more remain.</summary>
    private GraphResponse Page(GraphRequest request, string version, IReadOnlyList<string> segments, string set, IReadOnlyList<JsonObject> items, int nativePageSize, int maxPageSize, string entityType, IReadOnlyList<string>? defaultProperties, IReadOnlyList<string>? knownProperties = null)
    {
        // An empty collection cannot tell which properties exist: accept any name then.
        IReadOnlyCollection<string>? known = knownProperties ?? (items.Count > 0 ? items.SelectMany(i => i.Select(p => p.Key)).Where(k => !k.StartsWith('@')).Distinct().ToList() : null);
        if (!TrySelect(request, known, entityType, out var select, out var error))
        {
            return error!;
        }

        IEnumerable<JsonObject> filtered = items;
        if (request.QueryOption("$filter") is { Length: > 0 } filterText)
        {
            try
            {
                var filter = ODataFilter.Parse(filterText, known, entityType);
                filtered = items.Where(filter.Matches);
            }
            catch (ODataFilterException ex)
            {
                return BadRequest(request, ex.Message);
            }
        }

        int pageSize = emulator.Options.PageSize ?? nativePageSize;
        if (request.QueryOption("$top") is { } topText)
        {
            if (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out int top) || top < 1 || top > maxPageSize)
            {
                return BadRequest(request, $"Invalid page size specified: '{topText}'. Must be between 1 and {maxPageSize.ToString(CultureInfo.InvariantCulture)} inclusive.");
            }

            pageSize = top;
        }

        int offset = 0;
        if (request.QueryOption("$skiptoken") is { } skipToken && !TryDecodeSkipToken(skipToken, "skip:", out offset))
        {
            return BadRequest(request, "The specified $skiptoken is invalid or expired.");
        }

        var all = filtered.ToList();
        var value = new JsonArray();
        foreach (var item in all.Skip(offset).Take(pageSize))
        {
            var projected = new JsonObject();
            foreach (var (name, v) in Project(item, select, defaultProperties))
            {
                projected[name] = v;
            }

            value.Add(projected);
        }

        var result = new JsonObject
        {
            ["@odata.context"] = Context(version, select is null ? set : $"{set}({string.Join(',', select)})"),
        };
        if (offset + pageSize < all.Count)
        {
            result["@odata.nextLink"] = NextLink(request, version, segments, offset, offset + pageSize);
        }

        result["value"] = value;
        return Ok(result);
    }

    private string NextLink(GraphRequest request, string version, IReadOnlyList<string> segments, int offset, int next) =>
        NextLink(request, version, segments, EncodeSkipToken("skip:", offset), EncodeSkipToken("skip:", next));

    /// <summary>The absolute @odata.nextLink: the same query with $skiptoken = <paramref name="nextToken"/> (or the faulty form the faults ask for).</summary>
    private string NextLink(GraphRequest request, string version, IReadOnlyList<string> segments, string currentToken, string nextToken)
    {
        var faults = emulator.Faults;
        string token = faults.NextLink switch
        {
            NextLinkFault.BadToken => "X%27broken%27",
            NextLinkFault.Loop => currentToken,
            _ => nextToken,
        };
        string baseUri = faults.NextLink == NextLinkFault.Unreachable ? "http://127.0.0.1:1/" : emulator.BaseUri.ToString();
        string path = version + "/" + string.Join('/', segments.Select(Uri.EscapeDataString));
        var query = request.RawQuery.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !Uri.UnescapeDataString(p.Split('=')[0]).TrimStart('$').Equals("skiptoken", StringComparison.OrdinalIgnoreCase))
            .Append("$skiptoken=" + token);
        return baseUri + path + "?" + string.Join('&', query);
    }

    private static string EncodeSkipToken(string kind, int offset) =>
        "RFNwdAIAAQAAA" + Convert.ToBase64String(Encoding.ASCII.GetBytes(kind + offset.ToString(CultureInfo.InvariantCulture))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Decodes a $skiptoken this emulator issued: <paramref name="kind"/> is "skip:" (offset in the filtered list) or "row:" (index in the sign-in log's scan).</summary>
    private static bool TryDecodeSkipToken(string token, string kind, out int offset)
    {
        offset = 0;
        if (!token.StartsWith("RFNwdAIAAQAAA", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            string b64 = token[13..].Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
            string text = Encoding.ASCII.GetString(Convert.FromBase64String(b64));
            return text.StartsWith(kind, StringComparison.Ordinal) && int.TryParse(text[kind.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out offset);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private bool TrySelect(GraphRequest request, IReadOnlyCollection<string>? known, string entityType, out List<string>? select, out GraphResponse? error)
    {
        select = null;
        error = null;
        if (request.QueryOption("$select") is not { Length: > 0 } text)
        {
            return true;
        }

        select = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        foreach (string property in select)
        {
            if (known is not null && !known.Contains(property, StringComparer.OrdinalIgnoreCase))
            {
                error = BadRequest(request, $"Could not find a property named '{property}' on type '{entityType}'.");
                return false;
            }
        }

        return true;
    }

    /// <summary>The properties to emit: with $select, @odata.type (if any), id and the selected ones; else the default set or everything.</summary>
    private static IEnumerable<(string Name, JsonNode? Value)> Project(JsonObject entity, List<string>? select, IReadOnlyList<string>? defaultProperties)
    {
        if (select is null)
        {
            IEnumerable<string> names = defaultProperties ?? entity.Select(p => p.Key).ToList();
            foreach (string name in names)
            {
                yield return (name, entity[name]?.DeepClone());
            }

            yield break;
        }

        if (entity["@odata.type"] is { } type)
        {
            yield return ("@odata.type", type.DeepClone());
        }

        yield return ("id", entity["id"]?.DeepClone());
        foreach (string name in select.Where(s => !s.Equals("id", StringComparison.OrdinalIgnoreCase)))
        {
            var property = entity.FirstOrDefault(p => p.Key.Equals(name, StringComparison.OrdinalIgnoreCase));
            yield return (property.Key ?? name, property.Value?.DeepClone());
        }
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node?.ToJsonString();
}
