using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using SmtpAuthTroubleshooter.Engine.Diagnosis;
using SmtpAuthTroubleshooter.Engine.Knowledge;
using Xunit;

namespace SmtpAuthTroubleshooter.Engine.Tests
{
    /// <summary>
    /// The probe-fact rules (ErrorCatalog.json "probeFacts"): what a Test-SmtpAuth result saw of the session rules causes
    /// out or makes one likely. The resolver used to read a probe result as its text alone, so a 530 that came inside TLS
    /// still listed "no STARTTLS", a 535 to an advertised AUTH listed "no AUTH advertised", and TLS on connect that failed
    /// before any certificate put a certificate failure first (found against aiosmtpd, tests/Peers/aiosmtpd). One named
    /// case per rule (Every_probe_rule_has_a_named_case), then the resolver on those probe results.
    /// </summary>
    public class ProbeFactRuleTests
    {
        private sealed record RuleCase(string CauseId, ProbeFacts Facts, Verdict? Verdict, string? Why);

        private static RuleCase Case(string causeId, ProbeFacts facts, Verdict? verdict, string? why) => new RuleCase(causeId, facts, verdict, why);

        private static readonly Dictionary<string, RuleCase> Cases = new Dictionary<string, RuleCase>(StringComparer.Ordinal)
        {
            ["An encrypted session rules out StartTlsRequired"] = Case("StartTlsRequired", new ProbeFacts { TlsProtocol = "Tls13", TlsMode = SmtpTlsMode.StartTls, FailedPhase = SmtpPhase.MailFrom },
                Verdict.RuledOut, "Probe: the session was already encrypted (Tls13, TLS mode StartTls) when the server answered"),
            ["-TlsMode None against a server that offers STARTTLS makes StartTlsRequired likely"] = Case("StartTlsRequired", new ProbeFacts { TlsMode = SmtpTlsMode.None, StartTlsOffered = true, FailedPhase = SmtpPhase.StartTls },
                Verdict.Likely, "the probe ran with -TlsMode None"),
            ["A plain session without STARTTLS says nothing about StartTlsRequired"] = Case("StartTlsRequired", new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, StartTlsOffered = false, FailedPhase = SmtpPhase.StartTls }, null, null),

            ["A probe that stopped before AUTH rules out InvalidCredentials"] = Case("InvalidCredentials", new ProbeFacts { TlsMode = SmtpTlsMode.Implicit, FailedPhase = SmtpPhase.Tls, Port = 465 },
                Verdict.RuledOut, "before AUTH: no credentials were sent"),
            ["A probe that stopped at AUTH leaves InvalidCredentials open"] = Case("InvalidCredentials", new ProbeFacts { TlsProtocol = "Tls13", FailedPhase = SmtpPhase.Auth }, null, null),
            ["A time-out after the greeting rules out ConnectionFailed"] = Case("ConnectionFailed", new ProbeFacts { TlsProtocol = "Tls13", FailedPhase = SmtpPhase.Auth },
                Verdict.RuledOut, "the server greeted; the session stopped later, during Auth"),
            ["A failed connect leaves ConnectionFailed open"] = Case("ConnectionFailed", new ProbeFacts { FailedPhase = SmtpPhase.Connect }, null, null),
            ["-TlsMode None against a server that offers STARTTLS makes AuthNotAdvertised only possible"] = Case("AuthNotAdvertised", new ProbeFacts { TlsMode = SmtpTlsMode.None, StartTlsOffered = true, FailedPhase = SmtpPhase.Auth },
                Verdict.Possible, "many servers advertise AUTH only after STARTTLS"),

            ["A TLS alert rules out ImplicitTlsOnStartTlsPort"] = Case("ImplicitTlsOnStartTlsPort", new ProbeFacts { TlsMode = SmtpTlsMode.Implicit, FailedPhase = SmtpPhase.Tls, Port = 587, TlsAlert = true },
                Verdict.RuledOut, "answered the TLS hello with a TLS alert"),
            ["A protocol version alert makes TlsVersionTooOld likely and says the server is the old one"] = Case("TlsVersionTooOld", new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, FailedPhase = SmtpPhase.Tls, TlsAlert = true, TlsVersionRefused = true, Server = "relay.contoso.com" },
                Verdict.Likely, "relay.contoso.com speaks only older TLS (1.0 or 1.1), which Exchange Online and current clients no longer accept. The server is what needs the change"),
            ["A TLS alert makes TlsVersionTooOld likely"] = Case("TlsVersionTooOld", new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, FailedPhase = SmtpPhase.Tls, TlsAlert = true },
                Verdict.Likely, "the server allows only older versions or other ciphers"),
            // OpenSMTPD 6.8 on Debian 12 (tests/Peers/opensmtpd) answers every TLS hello with the alert 'internal error': its
            // own key handling fails under OpenSSL 3. The client's TLS versions are not the cause, the server's TLS setup is.
            ["An 'internal error' alert makes ServerTlsUnavailable likely"] = Case("ServerTlsUnavailable", new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, FailedPhase = SmtpPhase.Tls, StartTlsOffered = true, TlsAlert = true, TlsServerFault = true, Server = "127.0.0.1" },
                Verdict.Likely, "127.0.0.1 ended the TLS handshake with the alert 'internal error'"),
            ["An 'internal error' alert does not make TlsVersionTooOld likely"] = Case("TlsVersionTooOld", new ProbeFacts { TlsMode = SmtpTlsMode.Implicit, FailedPhase = SmtpPhase.Tls, Port = 465, TlsAlert = true, TlsServerFault = true }, null, null),

            ["STARTTLS offered rules out StartTlsNotOffered"] = Case("StartTlsNotOffered", new ProbeFacts { TlsMode = SmtpTlsMode.None, StartTlsOffered = true, FailedPhase = SmtpPhase.StartTls },
                Verdict.RuledOut, "Probe: the server's EHLO reply offered STARTTLS."),
            ["TLS on connect rules out StartTlsNotOffered"] = Case("StartTlsNotOffered", new ProbeFacts { TlsMode = SmtpTlsMode.Implicit, FailedPhase = SmtpPhase.Tls, Port = 2525 },
                Verdict.RuledOut, "-TlsMode Implicit"),
            ["STARTTLS not offered leaves StartTlsNotOffered open"] = Case("StartTlsNotOffered", new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, StartTlsOffered = false, FailedPhase = SmtpPhase.StartTls }, null, null),

            ["A completed handshake rules out ImplicitTlsOnStartTlsPort"] = Case("ImplicitTlsOnStartTlsPort", new ProbeFacts { TlsProtocol = "Tls12", TlsMode = SmtpTlsMode.Implicit, FailedPhase = SmtpPhase.Auth },
                Verdict.RuledOut, "Probe: the TLS handshake succeeded (Tls12, TLS mode Implicit)."),
            ["TLS on connect failing before any certificate on port 587 makes ImplicitTlsOnStartTlsPort likely"] = Case("ImplicitTlsOnStartTlsPort", new ProbeFacts { TlsMode = SmtpTlsMode.Implicit, FailedPhase = SmtpPhase.Tls, Port = 587 },
                Verdict.Likely, "to port 587 failed before the server presented any certificate"),
            ["TLS on connect failing on port 465 leaves ImplicitTlsOnStartTlsPort open"] = Case("ImplicitTlsOnStartTlsPort", new ProbeFacts { TlsMode = SmtpTlsMode.Implicit, FailedPhase = SmtpPhase.Tls, Port = 465 }, null, null),

            ["A handshake that failed before any certificate rules out CertificateValidationFailed"] = Case("CertificateValidationFailed", new ProbeFacts { TlsMode = SmtpTlsMode.Implicit, FailedPhase = SmtpPhase.Tls, Port = 465 },
                Verdict.RuledOut, "Probe: the TLS handshake failed before the server presented a certificate"),
            ["A completed handshake rules out CertificateValidationFailed"] = Case("CertificateValidationFailed", new ProbeFacts { TlsProtocol = "Tls13", CertificatePresented = true, FailedPhase = SmtpPhase.Auth },
                Verdict.RuledOut, "Probe: the TLS handshake completed (Tls13)"),
            ["A name mismatch makes CertificateValidationFailed likely and names both names"] = Case("CertificateValidationFailed", new ProbeFacts { CertificatePresented = true, FailedPhase = SmtpPhase.Tls, Server = "localhost", MismatchedCertificate = "CN=mail.example.test", CertificateNames = "mail.example.test" },
                Verdict.Likely, "Probe: name mismatch: the certificate is for mail.example.test, and the probe connected to localhost."),
            ["An expired certificate makes CertificateValidationFailed likely and says when it expired"] = Case("CertificateValidationFailed", new ProbeFacts { CertificatePresented = true, FailedPhase = SmtpPhase.Tls, CertificateNames = "relay.contoso.com", CertificateIssuer = "CN=Contoso Issuing CA", CertificateExpiredOn = "2026-11-29 15:36 UTC" },
                Verdict.Likely, "expired on 2026-11-29 15:36 UTC. The server's administrator must renew it"),
            ["A certificate not valid yet makes CertificateValidationFailed likely and points at the clock"] = Case("CertificateValidationFailed", new ProbeFacts { CertificatePresented = true, FailedPhase = SmtpPhase.Tls, CertificateNames = "relay.contoso.com", CertificateNotValidBefore = "2026-12-07 15:36 UTC" },
                Verdict.Likely, "is not valid until 2026-12-07 15:36 UTC: this computer's clock is behind"),
            ["An untrusted issuer on Exchange Online's host reads as TLS inspection"] = Case("CertificateValidationFailed", new ProbeFacts { CertificatePresented = true, FailedPhase = SmtpPhase.Tls, ExchangeOnline = true, Server = "smtp.office365.com", CertificateUntrusted = true, CertificateIssuer = "CN=Zscaler Intermediate Root CA (zscaler.net), O=Zscaler Inc." },
                Verdict.Likely, "was issued by 'CN=Zscaler Intermediate Root CA (zscaler.net), O=Zscaler Inc.', which does not chain to a root this computer trusts. Exchange Online's certificate comes from a public CA"),
            ["An untrusted issuer on another server names the issuer and both fixes"] = Case("CertificateValidationFailed", new ProbeFacts { CertificatePresented = true, FailedPhase = SmtpPhase.Tls, Server = "relay.contoso.com", CertificateUntrusted = true, CertificateIssuer = "CN=Contoso Root" },
                Verdict.Likely, "issued by 'CN=Contoso Root', which does not chain to a root this computer trusts: a private or self-signed CA, or a TLS-inspection proxy"),
            ["A handshake that failed after the certificate came leaves CertificateValidationFailed open"] = Case("CertificateValidationFailed", new ProbeFacts { CertificatePresented = true, FailedPhase = SmtpPhase.Tls }, null, null),

            ["TLS 1.2 rules out TlsVersionTooOld"] = Case("TlsVersionTooOld", new ProbeFacts { TlsProtocol = "Tls12", FailedPhase = SmtpPhase.Auth },
                Verdict.RuledOut, "Probe: the session negotiated Tls12, a current TLS version."),
            ["TLS 1.0 leaves TlsVersionTooOld open"] = Case("TlsVersionTooOld", new ProbeFacts { TlsProtocol = "Tls", FailedPhase = SmtpPhase.Auth }, null, null),

            ["AUTH advertised after TLS rules out AuthNotAdvertised"] = Case("AuthNotAdvertised", new ProbeFacts { TlsProtocol = "Tls13", AuthMechanismsAfterTls = "LOGIN PLAIN", Mechanism = "LOGIN", FailedPhase = SmtpPhase.Auth },
                Verdict.RuledOut, "Probe: the server advertised AUTH LOGIN PLAIN in the session the probe used."),
            ["AUTH advertised only before TLS says nothing once the session is encrypted"] = Case("AuthNotAdvertised", new ProbeFacts { TlsProtocol = "Tls13", AuthMechanismsBeforeTls = "PLAIN", FailedPhase = SmtpPhase.Auth }, null, null),

            ["A server that is not Exchange Online and got no AUTH rules out BasicAuthRetired"] = Case("BasicAuthRetired", new ProbeFacts { TlsProtocol = "Tls13", AuthMechanismsAfterTls = "CRAM-MD5", FailedPhase = SmtpPhase.Auth },
                Verdict.RuledOut, "Probe: the server is not Exchange Online (by its name and greeting) and no AUTH was sent"),
            ["Exchange Online without LOGIN leaves BasicAuthRetired open"] = Case("BasicAuthRetired", new ProbeFacts { TlsProtocol = "Tls12", AuthMechanismsAfterTls = "XOAUTH2", FailedPhase = SmtpPhase.Auth, ExchangeOnline = true }, null, null),
            ["A reply to an AUTH sent to another server leaves BasicAuthRetired open"] = Case("BasicAuthRetired", new ProbeFacts { TlsProtocol = "Tls12", AuthMechanismsAfterTls = "LOGIN", Mechanism = "LOGIN", FailedPhase = SmtpPhase.Auth }, null, null),
        };

        public static IEnumerable<object[]> CaseNames() => Cases.Keys.Select(k => new object[] { k });

        [Theory]
        [MemberData(nameof(CaseNames))]
        public void Each_rule_decides_its_case(string name)
        {
            RuleCase c = Cases[name];
            (Verdict? verdict, string? why) = ErrorCatalog.Embedded.ProbeRules.Judge(c.CauseId, c.Facts, SmtpAuthMethod.Basic);
            Assert.Equal(c.Verdict, verdict);
            if (c.Why is null)
            {
                Assert.Null(why);
            }
            else
            {
                Assert.Contains(c.Why, why, StringComparison.Ordinal);
            }
        }

        [Fact]
        public void Every_probe_rule_has_a_named_case()
        {
            var used = new HashSet<FactRules<ProbeFacts>.Rule>();
            foreach (RuleCase c in Cases.Values)
            {
                FactRules<ProbeFacts>.Rule? first = ErrorCatalog.Embedded.ProbeRules.Rules.FirstOrDefault(r => r.CauseId == c.CauseId && r.Holds(c.Facts, SmtpAuthMethod.Basic));
                if (first is not null)
                {
                    used.Add(first);
                }
            }

            string[] untested = ErrorCatalog.Embedded.ProbeRules.Rules
                .Select((r, i) => (r, i))
                .Where(x => !used.Contains(x.r))
                .Select(x => "probe rule " + x.i + " (" + x.r.CauseId + " " + (x.r.Verdict?.ToString() ?? "Note") + ")")
                .ToArray();
            Assert.True(untested.Length == 0, "no case in ProbeFactRuleTests for: " + string.Join(", ", untested));
        }

        [Fact]
        public void The_schema_names_exactly_the_probe_facts()
        {
            JsonNode schema = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Knowledge", "ErrorCatalog.schema.json")))!;
            string[] inSchema = schema["$defs"]!["probeField"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()).OrderBy(x => x, StringComparer.Ordinal).ToArray();
            string[] properties = typeof(ProbeFacts).GetProperties().Select(p => p.Name).OrderBy(x => x, StringComparer.Ordinal).ToArray();
            Assert.Equal(properties, inSchema);
        }

        [Theory]
        [InlineData("Confirmed")]
        [InlineData("Advisory")]
        public void A_probe_rule_never_confirms(string verdict)
        {
            // A probe is one source: its facts may rule out or raise a cause, never confirm one (zero false Confirmed).
            JsonNode catalog = JsonNode.Parse(CorroborationRuleTests.EmbeddedText())!;
            catalog["probeFacts"]!["rules"]![0]!["verdict"] = verdict;
            var ex = Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(catalog.ToJsonString()));
            Assert.Equal("ErrorCatalogInvalid", ex.ErrorId);
            Assert.Contains("probeFacts rule 0", ex.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_probe_rule_names_only_probe_facts()
        {
            JsonNode catalog = JsonNode.Parse(CorroborationRuleTests.EmbeddedText())!;
            catalog["probeFacts"]!["rules"]![0]!["when"] = JsonNode.Parse("""{ "field": "SmtpAuthEnabled", "equals": true }""");
            var ex = Assert.Throws<SmtpAuthTroubleshooterException>(() => ErrorCatalog.Parse(catalog.ToJsonString()));
            Assert.Contains("is not a field of ProbeFacts", ex.Message, StringComparison.Ordinal);
        }

        // ---- The resolver on probe results, as Test-SmtpAuth hands them over (texts are the probe's own messages). ----

        private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

        private static IReadOnlyList<SmtpAuthFinding> Resolve(string text, SmtpPhase phase, ProbeFacts facts, SmtpAuthMethod method = SmtpAuthMethod.Basic, bool succeeded = false)
        {
            facts.FailedPhase = phase;
            var evidence = new ErrorEvidence(text)
            {
                AuthMethod = method,
                FailedPhase = phase,
                FromProbe = true,
                ProbeSucceeded = succeeded,
                Server = "127.0.0.1",
                Port = facts.Port,
                ExchangeOnlineEndpoint = facts.ExchangeOnline,
                Probe = facts,
            };
            return new SmtpAuthErrorResolver(clock: () => Now).Resolve(evidence);
        }

        private static void NotAbove(IReadOnlyList<SmtpAuthFinding> findings, string causeId)
        {
            // Either absent or RuledOut: never a Likely or Possible reading that the probe's own facts contradict.
            foreach (SmtpAuthFinding f in findings.Where(f => f.CauseId == causeId))
            {
                Assert.True(f.Verdict == Verdict.RuledOut, causeId + " is " + f.Verdict + ": " + f.Evidence);
            }
        }

        [Fact]
        public void A_530_that_came_inside_TLS_is_not_a_missing_STARTTLS()
        {
            IReadOnlyList<SmtpAuthFinding> findings = Resolve("530 5.7.0 Authentication required\n5.7.0 Authentication required", SmtpPhase.MailFrom,
                new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, TlsProtocol = "Tls13", StartTlsOffered = true, AuthMechanismsAfterTls = "LOGIN PLAIN", Port = 587 }, SmtpAuthMethod.Unknown);
            Assert.Equal("NotAuthenticated", findings[0].CauseId);
            NotAbove(findings, "StartTlsRequired");
        }

        [Fact]
        public void A_535_to_an_advertised_AUTH_is_not_AUTH_missing()
        {
            IReadOnlyList<SmtpAuthFinding> findings = Resolve("535 5.7.8 Authentication credentials invalid\n535: 5.7.8 Authentication credentials invalid", SmtpPhase.Auth,
                new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, TlsProtocol = "Tls13", StartTlsOffered = true, AuthMechanismsAfterTls = "LOGIN PLAIN", Mechanism = "LOGIN", CertificatePresented = true, Port = 587 });
            Assert.Equal("InvalidCredentials", findings[0].CauseId);
            NotAbove(findings, "AuthNotAdvertised");
        }

        [Fact]
        public void TLS_on_connect_that_failed_before_any_certificate_reads_as_the_TLS_mode()
        {
            const string message = "The TLS handshake failed before the server presented a certificate: Cannot determine the frame size or a corrupted frame was received. " +
                "The server did not answer with TLS on connect (the port may expect STARTTLS or plain text), or has no TLS version in common. The credentials were not sent.";
            IReadOnlyList<SmtpAuthFinding> findings = Resolve(message, SmtpPhase.Tls, new ProbeFacts { TlsMode = SmtpTlsMode.Implicit, Port = 2525 });
            Assert.Equal("ImplicitTlsOnStartTlsPort", findings[0].CauseId);
            Assert.Equal(Verdict.Likely, findings[0].Verdict);
            NotAbove(findings, "CertificateValidationFailed");
            NotAbove(findings, "StartTlsNotOffered");
        }

        [Fact]
        public void TlsMode_None_against_a_server_that_offers_STARTTLS_is_not_STARTTLS_missing()
        {
            const string message = "The connection is not encrypted (-TlsMode None), so the credentials were not sent over an unencrypted connection (use -AllowUnencryptedAuthentication to override).";
            IReadOnlyList<SmtpAuthFinding> findings = Resolve(message, SmtpPhase.StartTls, new ProbeFacts { TlsMode = SmtpTlsMode.None, StartTlsOffered = true, Port = 587 });
            Assert.Equal("StartTlsRequired", findings[0].CauseId);
            Assert.Equal(Verdict.Likely, findings[0].Verdict);
            Assert.Contains("-TlsMode None", findings[0].Evidence, StringComparison.Ordinal);
            NotAbove(findings, "StartTlsNotOffered");
        }

        [Fact]
        public void An_implicit_TLS_session_without_AUTH_is_not_a_missing_STARTTLS()
        {
            const string message = "The SMTP server does not support authentication: its EHLO reply advertises no AUTH mechanism, so no credentials were sent.";
            IReadOnlyList<SmtpAuthFinding> findings = Resolve(message, SmtpPhase.Auth, new ProbeFacts { TlsMode = SmtpTlsMode.Implicit, TlsProtocol = "Tls13", CertificatePresented = true, Port = 465 });
            Assert.Equal("AuthNotAdvertised", findings[0].CauseId);
            NotAbove(findings, "StartTlsRequired");
        }

        [Fact]
        public void Without_probe_facts_the_same_text_reads_as_before()
        {
            // Pasted text has no session facts: nothing is ruled out on its behalf.
            var evidence = new ErrorEvidence("530 5.7.0 Authentication required");
            IReadOnlyList<SmtpAuthFinding> findings = new SmtpAuthErrorResolver(clock: () => Now).Resolve(evidence);
            Assert.Contains(findings, f => f.CauseId == "StartTlsRequired" && f.Verdict != Verdict.RuledOut);
        }

        [Fact]
        public void A_CRAM_MD5_only_server_is_not_Exchange_Online_retiring_basic_auth()
        {
            const string message = "No compatible authentication mechanism: the server advertises no password mechanism the probe can use (LOGIN or PLAIN; it offers: CRAM-MD5), so the password was not sent.";
            IReadOnlyList<SmtpAuthFinding> findings = Resolve(message, SmtpPhase.Auth, new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, TlsProtocol = "Tls13", StartTlsOffered = true, AuthMechanismsAfterTls = "CRAM-MD5", CertificatePresented = true, Port = 587 });
            Assert.Equal("AuthMechanismUnsupported", findings[0].CauseId);
            NotAbove(findings, "BasicAuthRetired");

            // The same refusal from Exchange Online keeps the retirement as a possible reading.
            IReadOnlyList<SmtpAuthFinding> exchange = Resolve(message, SmtpPhase.Auth, new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, TlsProtocol = "Tls12", StartTlsOffered = true, AuthMechanismsAfterTls = "XOAUTH2", CertificatePresented = true, Port = 587, ExchangeOnline = true });
            Assert.Contains(exchange, f => f.CauseId == "BasicAuthRetired" && f.Verdict == Verdict.Possible);
        }

        [Theory]
        [InlineData("StartTlsNotOffered", "The SMTP server does not support the STARTTLS extension. The credentials were not sent.", SmtpPhase.StartTls)]
        [InlineData("AuthNotAdvertised", "The SMTP server does not support authentication: its EHLO reply advertises no AUTH mechanism, so no credentials were sent.", SmtpPhase.Auth)]
        public void The_fix_for_another_server_names_that_server_not_Exchange_Online(string causeId, string message, SmtpPhase phase)
        {
            var facts = new ProbeFacts { TlsMode = phase == SmtpPhase.StartTls ? SmtpTlsMode.StartTls : SmtpTlsMode.Implicit, TlsProtocol = phase == SmtpPhase.StartTls ? null : "Tls13", StartTlsOffered = phase == SmtpPhase.StartTls ? false : null, Port = 2525 };
            SmtpAuthFinding other = Resolve(message, phase, facts).First(f => f.CauseId == causeId);
            Assert.DoesNotContain("office365", other.Remediation, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("127.0.0.1", other.Remediation, StringComparison.Ordinal);

            facts.ExchangeOnline = true;
            SmtpAuthFinding exchange = Resolve(message, phase, facts).First(f => f.CauseId == causeId);
            Assert.Contains("smtp.office365.com", exchange.Remediation, StringComparison.Ordinal);
        }

        [Fact]
        public void Basic_auth_that_works_on_another_server_gets_no_Exchange_retirement_note()
        {
            var other = new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, TlsProtocol = "Tls13", AuthMechanismsAfterTls = "LOGIN PLAIN", Mechanism = "LOGIN", Port = 587 };
            Assert.Empty(Resolve("235 2.7.0 Authentication successful\nAuthenticated.", SmtpPhase.None, other, succeeded: true));

            var exchange = new ProbeFacts { TlsMode = SmtpTlsMode.StartTls, TlsProtocol = "Tls12", AuthMechanismsAfterTls = "LOGIN XOAUTH2", Mechanism = "LOGIN", Port = 587, ExchangeOnline = true };
            IReadOnlyList<SmtpAuthFinding> findings = Resolve("235 2.7.0 Authentication successful\nAuthenticated.", SmtpPhase.None, exchange, succeeded: true);
            Assert.Equal("BasicAuthRetired", Assert.Single(findings).CauseId);
            Assert.Equal(Verdict.Advisory, findings[0].Verdict);
        }
    }
}
