import ControlPlane
import Logging
import Tokens
import XCTest
@testable import cohort

/// `cohort serve` option resolution: flag, then COHORT_* variable, then default.
final class ServeSettingsTests: XCTestCase {
    private let secret32 = "0123456789abcdef0123456789abcdef"

    func testDefaults() throws {
        XCTAssertEqual(try ServeSettings.resolve(ServeFlags(["consent-timeout": "12"]), environment: [:]).consentTimeout, 12,
                       "the minimum itself is accepted")
        let s = try ServeSettings.resolve(ServeFlags(), environment: [:])
        XCTAssertEqual(s, ServeSettings(http: HostPort(host: "127.0.0.1", port: 8080), media: HostPort(host: "127.0.0.1", port: 40000),
                                        announce: "127.0.0.1", secret: nil, session: "demo", restrictedSession: nil,
                                        consentTimeout: 30, logLevel: .info, webRoot: nil))
    }

    func testEnvironmentFillsEveryOption() throws {
        let env = ["COHORT_HTTP": "0.0.0.0:80", "COHORT_MEDIA": "[::]:3478", "COHORT_ANNOUNCE": "203.0.113.7",
                   "COHORT_SECRET": secret32, "COHORT_SESSION": "group-5", "COHORT_CONSENT_TIMEOUT": "12",
                   "COHORT_LOG_LEVEL": "DEBUG", "COHORT_WEB_ROOT": "/srv/web"]
        let s = try ServeSettings.resolve(ServeFlags(), environment: env)
        XCTAssertEqual(s.http, HostPort(host: "0.0.0.0", port: 80))
        XCTAssertEqual(s.media, HostPort(host: "::", port: 3478))
        XCTAssertEqual(s.announce, "203.0.113.7")
        XCTAssertEqual(s.secret, secret32)
        XCTAssertEqual(s.session, "group-5")
        XCTAssertEqual(s.restrictedSession, "group-5")
        XCTAssertEqual(s.consentTimeout, 12)
        XCTAssertEqual(s.logLevel, .debug)
        XCTAssertEqual(s.webRoot, "/srv/web")
    }

    func testFlagWinsOverEnvironment() throws {
        let env = ["COHORT_HTTP": "0.0.0.0:80", "COHORT_SESSION": "env", "COHORT_CONSENT_TIMEOUT": "12", "COHORT_LOG_LEVEL": "error"]
        let flags = ServeFlags(["http": "127.0.0.1:9000", "session": "flag", "consent-timeout": "15", "log-level": "trace"])
        let s = try ServeSettings.resolve(flags, environment: env)
        XCTAssertEqual(s.http, HostPort(host: "127.0.0.1", port: 9000))
        XCTAssertEqual(s.session, "flag")
        XCTAssertEqual(s.restrictedSession, "flag", "an explicit --session restricts the server to it")
        XCTAssertEqual(s.consentTimeout, 15)
        XCTAssertEqual(s.logLevel, .trace)
    }

    func testEmptyEnvironmentValueMeansUnset() throws {
        let s = try ServeSettings.resolve(ServeFlags(), environment: ["COHORT_HTTP": "", "COHORT_SECRET": ""])
        XCTAssertEqual(s.http.port, 8080)
        XCTAssertNil(s.secret)
    }

    func testAnnounceDefaultsToMediaHost() throws {
        let s = try ServeSettings.resolve(ServeFlags(["media": "10.0.0.5:40000"]), environment: [:])
        XCTAssertEqual(s.announce, "10.0.0.5")
    }

    /// Issue 14: the join limits, their defaults, flags, environment and ranges.
    func testJoinLimits() throws {
        let d = try ServeSettings.resolve(ServeFlags(), environment: [:])
        XCTAssertEqual([d.reservedHostPlaces, d.maxJoinsPerToken, d.joinsPerAddressPerMinute], [2, 3, 120])
        let s = try ServeSettings.resolve(ServeFlags(["reserved-host-places": "5", "max-joins-per-token": "1"]),
                                          environment: ["COHORT_JOINS_PER_ADDRESS_PER_MINUTE": "0",
                                                        "COHORT_MAX_JOINS_PER_TOKEN": "9"])
        XCTAssertEqual([s.reservedHostPlaces, s.maxJoinsPerToken, s.joinsPerAddressPerMinute], [5, 1, 0])
        let bad: [(ServeFlags, SettingsError)] = [
            (ServeFlags(["reserved-host-places": "50"]), .invalidCount(option: "--reserved-host-places", value: "50", range: 0...49)),
            (ServeFlags(["max-joins-per-token": "0"]), .invalidCount(option: "--max-joins-per-token", value: "0", range: 1...50)),
            (ServeFlags(["joins-per-address-per-minute": "-1"]),
             .invalidCount(option: "--joins-per-address-per-minute", value: "-1", range: 0...1_000_000)),
        ]
        for (flags, expected) in bad {
            XCTAssertThrowsError(try ServeSettings.resolve(flags, environment: [:])) {
                XCTAssertEqual($0 as? SettingsError, expected)
            }
        }
    }

    func testErrors() {
        let cases: [(ServeFlags, [String: String], SettingsError)] = [
            (ServeFlags(["http": "localhost"]), [:], .invalidAddress(option: "--http", value: "localhost")),
            (ServeFlags(), ["COHORT_MEDIA": "1.2.3.4:70000"], .invalidAddress(option: "--media", value: "1.2.3.4:70000")),
            (ServeFlags(["media": "0.0.0.0:40000"]), [:], .announceRequired("0.0.0.0")),
            (ServeFlags(["secret": "short"]), [:], .secretTooShort(option: "--secret", count: 5)),
            (ServeFlags(["consent-timeout": "0"]), [:], .invalidNumber(option: "--consent-timeout", value: "0")),
            (ServeFlags(), ["COHORT_CONSENT_TIMEOUT": "soon"], .invalidNumber(option: "--consent-timeout", value: "soon")),
            // Below one lost consent check (RFC 7675: every 5 s ± 20 %) healthy peers would be dropped.
            (ServeFlags(["consent-timeout": "8"]), [:], .consentTimeoutTooShort(option: "--consent-timeout", seconds: 8)),
            (ServeFlags(), ["COHORT_CONSENT_TIMEOUT": "11"], .consentTimeoutTooShort(option: "--consent-timeout", seconds: 11)),
            (ServeFlags(["log-level": "loud"]), [:], .invalidChoice(option: "--log-level", value: "loud", choices: Logger.Level.allCases.map(\.rawValue))),
            (ServeFlags(["session": ""]), [:], .emptyValue(option: "--session")),
        ]
        for (flags, env, expected) in cases {
            XCTAssertThrowsError(try ServeSettings.resolve(flags, environment: env)) {
                XCTAssertEqual($0 as? SettingsError, expected)
            }
        }
    }

    /// `--ice-servers`: STUN and TURN URLs apart, TURN needs the secret (and
    /// the secret a TURN URL), bad URLs are named; credentials are made per
    /// participant and the secret never shows in the settings' description.
    func testIceServers() throws {
        let secret = "coturn-shared-secret"
        let s = try ServeSettings.resolve(ServeFlags(["ice-servers": "stun:t.example:3478, turn:t.example:3478?transport=tcp"]),
                                          environment: ["COHORT_TURN_SECRET": secret])
        XCTAssertEqual(s.iceServers.stunURLs, ["stun:t.example:3478"])
        XCTAssertEqual(s.iceServers.turnURLs, ["turn:t.example:3478?transport=tcp"])
        XCTAssertEqual(s.iceServers.credentialTTL, 86_400)
        XCTAssertFalse("\(s.iceServers)".contains(secret))
        XCTAssertFalse("\(s)".contains(secret))
        let servers = try XCTUnwrap(s.iceServers.servers(for: "p-3f2a", unixNow: 1_767_139_200))
        XCTAssertEqual(servers, [IceServer(urls: ["stun:t.example:3478"]),
                                 IceServer(urls: ["turn:t.example:3478?transport=tcp"], username: "1767225600:p-3f2a",
                                           credential: "y8BLcU8+f+psCqJuT4+J0j2iUdA=")])
        XCTAssertNil(try ServeSettings.resolve(ServeFlags(), environment: [:]).iceServers.servers(for: "p", unixNow: 0))

        let cases: [(ServeFlags, [String: String], SettingsError)] = [
            (ServeFlags(["ice-servers": "turn:t.example:3478"]), [:],
             .invalidIceServers(option: "--ice-servers", reason: "turn: and turns: URLs need --turn-secret (COHORT_TURN_SECRET)")),
            (ServeFlags(["ice-servers": "stun:t.example"]), ["COHORT_TURN_SECRET": secret],
             .invalidIceServers(option: "--turn-secret", reason: "given without a turn: or turns: URL in --ice-servers")),
            (ServeFlags(["ice-servers": "http://t.example"]), [:],
             .invalidIceServers(option: "--ice-servers", reason: "\"http://t.example\" is not a stun:, stuns:, turn: or turns: URL")),
            (ServeFlags(["ice-servers": "stun:"]), [:],
             .invalidIceServers(option: "--ice-servers", reason: "\"stun:\" is not a stun:, stuns:, turn: or turns: URL")),
            (ServeFlags(["ice-servers": Array(repeating: "stun:a", count: 9).joined(separator: ",")]), [:],
             .invalidIceServers(option: "--ice-servers", reason: "9 URLs; at most 8")),
            (ServeFlags(["turn-credential-ttl": "5"]), [:],
             .invalidCount(option: "--turn-credential-ttl", value: "5", range: 60...604_800)),
        ]
        for (flags, env, expected) in cases {
            XCTAssertThrowsError(try ServeSettings.resolve(flags, environment: env)) {
                XCTAssertEqual($0 as? SettingsError, expected)
            }
        }
    }

    func testConnectionCaps() throws {
        let defaults = try ServeSettings.resolve(ServeFlags(), environment: [:])
        XCTAssertEqual([defaults.maxConnections, defaults.maxConnectionsPerAddress], [10_000, 200])
        let env = ["COHORT_MAX_CONNECTIONS": "500", "COHORT_MAX_CONNECTIONS_PER_ADDRESS": "20"]
        let fromEnv = try ServeSettings.resolve(ServeFlags(), environment: env)
        XCTAssertEqual([fromEnv.maxConnections, fromEnv.maxConnectionsPerAddress], [500, 20])
        let flags = try ServeCommand.parse(["--max-connections", "9", "--max-connections-per-address", "3"]).flags()
        let fromFlags = try ServeSettings.resolve(flags, environment: env)
        XCTAssertEqual([fromFlags.maxConnections, fromFlags.maxConnectionsPerAddress], [9, 3])
        for (flags, expected) in [(ServeFlags(["max-connections": "0"]), SettingsError.invalidCount(option: "--max-connections", value: "0", range: 1...10_000_000)),
                                  (ServeFlags(["max-connections-per-address": "many"]),
                                   .invalidCount(option: "--max-connections-per-address", value: "many", range: 1...10_000_000))] {
            XCTAssertThrowsError(try ServeSettings.resolve(flags, environment: [:])) { XCTAssertEqual($0 as? SettingsError, expected) }
        }
    }

    func testSingleUseTokens() throws {
        XCTAssertFalse(try ServeSettings.resolve(ServeFlags(), environment: [:]).singleUseTokens)
        XCTAssertTrue(try ServeSettings.resolve(ServeFlags(["single-use-tokens": "on"]), environment: [:]).singleUseTokens)
        XCTAssertTrue(try ServeSettings.resolve(ServeFlags(), environment: ["COHORT_SINGLE_USE_TOKENS": "yes"]).singleUseTokens)
        XCTAssertThrowsError(try ServeSettings.resolve(ServeFlags(["single-use-tokens": "maybe"]), environment: [:]))
    }

    func testAllowedOrigins() throws {
        let s = try ServeSettings.resolve(ServeFlags(["allowed-origins": "https://portal.example, http://127.0.0.1:3000"]), environment: [:])
        XCTAssertEqual(s.allowedOrigins, ["https://portal.example", "http://127.0.0.1:3000"])
        XCTAssertEqual(try ServeSettings.resolve(ServeFlags(), environment: ["COHORT_ALLOWED_ORIGINS": "*"]).allowedOrigins, ["*"])
        for bad in ["portal.example", "https://portal.example/app", "ftp://x", "https://"] {
            XCTAssertThrowsError(try ServeSettings.resolve(ServeFlags(["allowed-origins": bad]), environment: [:]), bad) {
                XCTAssertEqual($0 as? SettingsError, .invalidOrigin(option: "--allowed-origins", value: bad))
            }
        }
    }

    func testHostPortForms() {
        XCTAssertEqual(HostPort("127.0.0.1:8080", defaultHost: "h"), HostPort(host: "127.0.0.1", port: 8080))
        XCTAssertEqual(HostPort("[::1]:443", defaultHost: "h"), HostPort(host: "::1", port: 443))
        XCTAssertEqual(HostPort("9000", defaultHost: "h"), HostPort(host: "h", port: 9000))
        XCTAssertEqual(HostPort("example.org:1", defaultHost: "h"), HostPort(host: "example.org", port: 1))
        for bad in ["", ":80", "::1:80", "[::1]80", "[::1]:", "h:-1", "h:65536", "h:x", "70000"] {
            XCTAssertNil(HostPort(bad, defaultHost: "h"), bad)
        }
        XCTAssertEqual(HostPort(host: "::1", port: 80).description, "[::1]:80")
        XCTAssertTrue(HostPort(host: "::", port: 80).isUnspecified)
    }

    func testServeCommandParsesFlags() throws {
        let command = try ServeCommand.parse(["--http", "127.0.0.1:1", "--consent-timeout", "9", "--log-level", "debug"])
        XCTAssertEqual(try command.flags(), ServeFlags(["http": "127.0.0.1:1", "consent-timeout": "9", "log-level": "debug"]))
    }

    func testDemoLinksVerify() throws {
        let signer = TokenSigner(secret: secret32)
        let links = DemoLinks(signer: signer, session: "demo", now: 1_000)
        let host = try signer.verify(links.host, now: 1_000, expectedSession: "demo")
        let participant = try signer.verify(links.participant, now: 1_000, expectedSession: "demo")
        XCTAssertEqual(host.role, .host)
        XCTAssertEqual(participant.role, .participant)
        XCTAssertEqual(host.expiresAt, 1_000 + DemoLinks.ttl)
    }

    func testTokenCommand() throws {
        let command = try TokenCommand.parse(["--secret", secret32, "--session", "g", "--room", "b1", "--name", "N",
                                              "--role", "co-host", "--ttl", "60", "--sub", "u9"])
        XCTAssertEqual(try command.claims(now: 100),
                       TokenClaims(session: "g", room: "b1", name: "N", role: .coHost, expiresAt: 160, issuedAt: 100, subject: "u9"))
        XCTAssertEqual(try command.resolvedSecret(environment: [:]), secret32)
        XCTAssertThrowsError(try TokenCommand.parse(["--session", "g", "--name", "N"]), "--sub is required")
        let fromEnv = try TokenCommand.parse(["--session", "g", "--name", "N", "--sub", "u1"])
        XCTAssertEqual(try fromEnv.resolvedSecret(environment: ["COHORT_SECRET": secret32]), secret32)
        XCTAssertThrowsError(try fromEnv.resolvedSecret(environment: [:]))
        XCTAssertThrowsError(try TokenCommand.parse(["--secret", secret32, "--session", "g", "--name", "N", "--role", "admin", "--sub", "u1"]).claims(now: 0))
    }

    /// A random URL-safe secret begins with `-` once in 64; it is still the
    /// value of `--secret` (CI once failed on such a secret given to the load test).
    func testTokenCommandTakesASecretThatBeginsWithADash() throws {
        let dashed = "-" + secret32
        let command = try TokenCommand.parse(["--secret", dashed, "--session", "g", "--name", "N", "--sub", "u1"])
        XCTAssertEqual(try command.resolvedSecret(environment: [:]), dashed)
    }
}

/// `--records` and `--records-retention-days`.
final class RecordsSettingsTests: XCTestCase {
    func testRecordsDefaultsOffAndEnvironment() throws {
        let d = try ServeSettings.resolve(ServeFlags(), environment: [:])
        XCTAssertEqual(d.records, "cohort-records.sqlite")
        XCTAssertEqual(d.recordsRetentionDays, 2_555)
        XCTAssertNil(try ServeSettings.resolve(ServeFlags(["records": "off"]), environment: [:]).records)
        XCTAssertNil(try ServeSettings.resolve(ServeFlags(["records": "OFF"]), environment: [:]).records)
        let env = try ServeSettings.resolve(ServeFlags(), environment: ["COHORT_RECORDS": "/var/lib/cohort/r.sqlite",
                                                                       "COHORT_RECORDS_RETENTION_DAYS": "30"])
        XCTAssertEqual(env.records, "/var/lib/cohort/r.sqlite")
        XCTAssertEqual(env.recordsRetentionDays, 30)
        XCTAssertEqual(try ServeSettings.resolve(ServeFlags(["records": "a.sqlite"]), environment: ["COHORT_RECORDS": "off"]).records,
                       "a.sqlite", "the flag wins")
    }

    func testRecordsNodeDefaultsToTheHostName() throws {
        let d = try ServeSettings.resolve(ServeFlags(), environment: [:])
        XCTAssertEqual(d.recordsNode, ServeSettings.defaultRecordsNode)
        XCTAssertFalse(d.recordsNode.isEmpty)
        XCTAssertEqual(try ServeSettings.resolve(ServeFlags(), environment: ["COHORT_RECORDS_NODE": "sfu-2"]).recordsNode, "sfu-2")
        XCTAssertEqual(try ServeSettings.resolve(ServeFlags(["records-node": "sfu-3"]),
                                                 environment: ["COHORT_RECORDS_NODE": "sfu-2"]).recordsNode, "sfu-3")
        let url = "postgres://cohort:pw@db:5432/records"
        XCTAssertEqual(try ServeSettings.resolve(ServeFlags(["records": url]), environment: [:]).records, url)
    }

    func testBadRecordsOptions() {
        XCTAssertThrowsError(try ServeSettings.resolve(ServeFlags(["records": ""]), environment: [:])) {
            XCTAssertEqual($0 as? SettingsError, .emptyValue(option: "--records"))
        }
        for bad in ["0", "-1", "seven", "1.5"] {
            XCTAssertThrowsError(try ServeSettings.resolve(ServeFlags(["records-retention-days": bad]), environment: [:])) {
                XCTAssertEqual($0 as? SettingsError, .invalidCount(option: "--records-retention-days", value: bad, range: 1...100_000))
            }
        }
    }
}
