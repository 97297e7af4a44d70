import Foundation
import XCTest
@testable import cohort

/// `cohort serve --config FILE` and `--print-config` (issue 16, item 3).
final class ConfigFileTests: XCTestCase {
    private let secret32 = "0123456789abcdef0123456789abcdef"

    private func file(_ text: String, path: String = "cohort.yaml") throws -> ConfigFile {
        try ConfigFile.parse(text, path: path)
    }

    /// flag > COHORT_* variable > file > default, for one option at each level.
    func testPrecedenceOfAllThreeSources() throws {
        let config = try file("""
            http: 127.0.0.1:1001
            media: 127.0.0.1:2001
            max-connections: 31
            max-connections-per-address: 41
            """)
        let env = ["COHORT_HTTP": "127.0.0.1:1002", "COHORT_MEDIA": "127.0.0.1:2002"]
        var inputs = ServeInputs(flags: ["http": "127.0.0.1:1003"], environment: env, file: config)
        let s = try ServeSettings.resolve(&inputs)
        XCTAssertEqual(s.http.port, 1003, "the flag wins over the variable and the file")
        XCTAssertEqual(s.media.port, 2002, "the variable wins over the file")
        XCTAssertEqual(s.maxConnections, 31, "the file wins over the default")
        XCTAssertEqual(s.maxConnectionsPerAddress, 41)
        XCTAssertEqual(s.consentTimeout, ServeSettings.defaultConsentTimeout, "the default when nobody says")
        XCTAssertEqual(inputs.picked["http"]?.source, .flag)
        XCTAssertEqual(inputs.picked["media"]?.source, .environment("COHORT_MEDIA"))
        XCTAssertEqual(inputs.picked["max-connections"]?.source, .file("cohort.yaml"))
        XCTAssertEqual(inputs.picked["consent-timeout"]?.source, .defaultValue)
        // An empty variable is unset, as before: the file's value stands.
        XCTAssertEqual(try ServeSettings.resolve([:], environment: ["COHORT_MAX_CONNECTIONS": ""], file: config).maxConnections, 31)
    }

    func testUnknownKeyIsRefusedWithTheNearestKnownOne() {
        XCTAssertThrowsError(try file("http: 8080\nmax-conections: 5\n")) { error in
            XCTAssertEqual(error as? ConfigFileError,
                           .unknownKey(path: "cohort.yaml", line: 2, key: "max-conections", suggestion: "max-connections"))
            XCTAssertTrue("\(error)".hasPrefix("cohort.yaml:2: unknown key \"max-conections\"; did you mean \"max-connections\"?"),
                          "\(error)")
        }
        XCTAssertThrowsError(try file("colour: blue\n")) { error in
            XCTAssertEqual(error as? ConfigFileError, .unknownKey(path: "cohort.yaml", line: 1, key: "colour", suggestion: nil))
        }
    }

    func testMalformedFilesAreRefusedNamingTheKey() {
        let cases: [(String, ConfigFileError)] = [
            ("records:\n", .noValue(path: "cohort.yaml", line: 1, key: "records")),
            ("records: ~\n", .noValue(path: "cohort.yaml", line: 1, key: "records")),
            ("http: {host: a}\n", .notAValue(path: "cohort.yaml", line: 1, key: "http")),
            ("- http\n", .notAMapping(path: "cohort.yaml")),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try file(text), text) { XCTAssertEqual($0 as? ConfigFileError, expected, text) }
        }
        XCTAssertThrowsError(try file("http: 1\nhttp: 2\n")) { error in
            XCTAssertTrue("\(error)".contains("duplicated key(s): 'http'"), "\(error)")
        }
        XCTAssertThrowsError(try file("http: [unclosed\n")) { error in
            guard case .notYAML(let path, _)? = error as? ConfigFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "cohort.yaml")
        }
        XCTAssertThrowsError(try ConfigFile.load(path: "/nonexistent/cohort.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("--config /nonexistent/cohort.yaml: cannot read it"), "\(error)")
        }
        XCTAssertEqual(try file("").values, [:], "an empty file sets nothing")
    }

    /// The same validation as flags, worded with the file and key instead of the flag.
    func testBadValuesNameTheKeyAndTheValue() throws {
        let cases: [(String, SettingsError, String)] = [
            ("max-connections: lots", .invalidCount(option: "c.yaml: max-connections", value: "lots", range: 1...10_000_000),
             "c.yaml: max-connections \"lots\" is not a whole number from 1 to 10000000"),
            ("consent-timeout: 8", .consentTimeoutTooShort(option: "c.yaml: consent-timeout", seconds: 8),
             "c.yaml: consent-timeout 8 s would drop healthy participants"),
            ("waiting-room: maybe", .invalidChoice(option: "c.yaml: waiting-room", value: "maybe", choices: ["on", "off"]),
             "c.yaml: waiting-room \"maybe\" is not one of on, off"),
            ("log-format: xml", .invalidChoice(option: "c.yaml: log-format", value: "xml", choices: ["text", "json"]),
             "c.yaml: log-format \"xml\" is not one of text, json"),
            ("secret: short", .secretTooShort(option: "c.yaml: secret", count: 5), "c.yaml: secret is 5 bytes"),
            ("shutdown-grace: -1", .invalidCount(option: "c.yaml: shutdown-grace", value: "-1", range: 0...3_600),
             "c.yaml: shutdown-grace \"-1\" is not a whole number from 0 to 3600"),
        ]
        for (text, expected, wording) in cases {
            let config = try file(text, path: "c.yaml")
            XCTAssertThrowsError(try ServeSettings.resolve([:], environment: [:], file: config), text) { error in
                XCTAssertEqual(error as? SettingsError, expected, text)
                XCTAssertTrue("\(error)".hasPrefix(wording), "\(error)")
            }
        }
        // The same value given as a flag is named as the flag.
        XCTAssertThrowsError(try ServeSettings.resolve(["max-connections": "lots"], environment: [:],
                                                       file: try file("max-connections: 5"))) {
            XCTAssertEqual($0 as? SettingsError, .invalidCount(option: "--max-connections", value: "lots", range: 1...10_000_000))
        }
    }

    /// A file that sets every option of the table, each to a non-default value, is read in full.
    func testFileWithEveryKey() throws {
        let values: [String: String] = [
            "http": "127.0.0.1:9001", "media": "127.0.0.1:9100", "announce": "198.51.100.4", "secret": secret32,
            "session": "group-7", "consent-timeout": "20", "log-level": "debug", "log-format": "json",
            "web-root": "/srv/web", "dtls-cert": "/etc/c.pem", "dtls-key": "/etc/c.key", "waiting-room": "on",
            "max-connections": "500", "max-connections-per-address": "50",
            "allowed-origins": "https://a.example, https://b.example", "single-use-tokens": "yes",
            "reserved-host-places": "4", "max-joins-per-token": "2", "joins-per-address-per-minute": "0",
            "records": "off", "records-retention-days": "365", "records-node": "sfu-9", "shutdown-grace": "7",
            "resume-grace": "45",
            "mix-speakers": "5", "metrics": "127.0.0.1:9464",
            "directory": "postgres://cohort:pw@db.internal:5432/cohort", "public-url": "wss://sfu-9.example/ws",
            "capacity": "40", "node-dead-after": "9",
            "ice-servers": "stun:turn.example:3478, turn:turn.example:3478?transport=tcp",
            "turn-secret": "coturn-shared-secret", "turn-credential-ttl": "3600",
        ]
        XCTAssertEqual(Set(values.keys), Set(ServeOption.all.map(\.name)), "this test names every option")
        let text = ServeOption.all.map { "\($0.name): \"\(values[$0.name]!)\"" }.joined(separator: "\n")
        var inputs = ServeInputs(flags: [:], environment: [:], file: try file(text))
        let s = try ServeSettings.resolve(&inputs)
        var expected = ServeSettings(http: HostPort(host: "127.0.0.1", port: 9001), media: HostPort(host: "127.0.0.1", port: 9100),
                                     announce: "198.51.100.4", secret: secret32, session: "group-7", restrictedSession: "group-7",
                                     consentTimeout: 20, logLevel: .debug, webRoot: "/srv/web")
        expected.waitingRoom = true
        expected.mixSpeakers = 5
        expected.iceServers = IceServerSettings(stunURLs: ["stun:turn.example:3478"], turnURLs: ["turn:turn.example:3478?transport=tcp"],
                                                turnSecret: Array("coturn-shared-secret".utf8), credentialTTL: 3_600)
        expected.metrics = .listener(HostPort(host: "127.0.0.1", port: 9464))
        expected.maxConnections = 500
        expected.maxConnectionsPerAddress = 50
        expected.allowedOrigins = ["https://a.example", "https://b.example"]
        expected.singleUseTokens = true
        expected.reservedHostPlaces = 4
        expected.maxJoinsPerToken = 2
        expected.joinsPerAddressPerMinute = 0
        expected.records = nil
        expected.recordsRetentionDays = 365
        expected.recordsNode = "sfu-9"
        expected.logFormat = .json
        expected.dtlsCert = "/etc/c.pem"
        expected.dtlsKey = "/etc/c.key"
        expected.shutdownGrace = 7
        expected.resumeGrace = 45
        XCTAssertEqual(s, expected)
        let scaleOut = try XCTUnwrap(ScaleOutSettings.resolve(&inputs, http: s.http))
        XCTAssertEqual(scaleOut.directoryText, "postgres://cohort:pw@db.internal:5432/cohort")
        XCTAssertEqual(scaleOut.publicURL, "wss://sfu-9.example/ws")
        XCTAssertEqual(scaleOut.capacity, 40)
        XCTAssertEqual(scaleOut.nodeDeadAfter, 9)
        for option in ServeOption.all {
            XCTAssertEqual(inputs.picked[option.name]?.source, .file("cohort.yaml"), option.name)
        }
        // A YAML list reads as the comma-separated flag value.
        XCTAssertEqual(try ServeSettings.resolve([:], environment: [:],
                                                 file: try file("allowed-origins: [https://a.example, https://b.example]")).allowedOrigins,
                       ["https://a.example", "https://b.example"])
    }

    /// deploy/cohort.example.yaml parses, resolves, and shows every option (set or commented out).
    func testExampleFileParsesAndMentionsEveryOption() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("deploy/cohort.example.yaml").path
        let example = try ConfigFile.load(path: path)
        XCTAssertGreaterThan(example.values.count, 10)
        let s = try ServeSettings.resolve([:], environment: ["COHORT_SECRET": secret32], file: example)
        XCTAssertEqual(s.records, "/var/lib/cohort/records.sqlite")
        XCTAssertEqual(s.logFormat, .json)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for option in ServeOption.all {
            XCTAssertTrue(text.contains("\n\(option.name):") || text.contains("\n# \(option.name):"),
                          "deploy/cohort.example.yaml does not mention \(option.name)")
        }
    }

    func testPrintConfigRedactsAndReadsBack() throws {
        let config = try file("records: postgres://cohort:hunter2-pw@db.internal:5432/cohort\nmax-connections: 77\n")
        var inputs = ServeInputs(flags: ["log-level": "debug"], environment: ["COHORT_SECRET": secret32], file: config)
        _ = try ServeSettings.resolve(&inputs)
        let yaml = PrintConfig.yaml(inputs)
        XCTAssertFalse(yaml.contains(secret32), yaml)
        XCTAssertFalse(yaml.contains("hunter2"), yaml)
        XCTAssertTrue(yaml.contains("secret: \"<redacted>\"   # environment COHORT_SECRET"), yaml)
        XCTAssertTrue(yaml.contains("records: \"postgres://cohort:<redacted>@db.internal:5432/cohort\"   # file cohort.yaml"), yaml)
        XCTAssertTrue(yaml.contains("log-level: \"debug\"   # flag"), yaml)
        XCTAssertTrue(yaml.contains("max-connections: \"77\"   # file cohort.yaml"), yaml)
        XCTAssertTrue(yaml.contains("consent-timeout: \"30\"   # default"), yaml)
        XCTAssertTrue(yaml.contains("# web-root:   # not set"), yaml)
        // Every option appears, and the printout is itself a valid --config file.
        let printed = try file(yaml, path: "printed.yaml")
        for option in ServeOption.all {
            XCTAssertTrue(yaml.contains("\(option.name):"), option.name)
        }
        XCTAssertEqual(printed.values["max-connections"], "77")
        XCTAssertEqual(printed.values["announce"], "127.0.0.1", "a derived default is printed as its value")
        XCTAssertEqual(PrintConfig.redactingPasswords("postgres://u@h/db"), "postgres://u@h/db", "no password, nothing to hide")
        XCTAssertEqual(PrintConfig.quoted("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\x01\"")
    }

    func testCommandLineOptionsFromTheTable() throws {
        XCTAssertEqual(try ServeFlags.parse(["--http", "1", "--records=off", "--secret", "-starts-with-dash", "--http", "2"]),
                       ["http": "2", "records": "off", "secret": "-starts-with-dash"])
        XCTAssertThrowsError(try ServeFlags.parse(["--htp", "1"])) {
            XCTAssertEqual($0 as? ServeFlagsError, .unknown(flag: "--htp", suggestion: "--http"))
        }
        XCTAssertThrowsError(try ServeFlags.parse(["--records"])) { XCTAssertEqual($0 as? ServeFlagsError, .missingValue("--records")) }
        XCTAssertThrowsError(try ServeFlags.parse(["stray"])) { XCTAssertEqual($0 as? ServeFlagsError, .unexpected("stray")) }
        let command = try ServeCommand.parse(["--config", "x.yaml", "--print-config", "--max-connections", "5"])
        XCTAssertEqual(command.config, "x.yaml")
        XCTAssertTrue(command.printConfig)
        XCTAssertEqual(try command.flags(), ["max-connections": "5"])
        XCTAssertThrowsError(try ServeCommand.parse(["--max-conections", "5"]), "validate() refuses unknown options")
        // Through the argument parser too, a value may begin with "-".
        XCTAssertEqual(try ServeCommand.parse(["--secret", "-abc", "--joins-per-address-per-minute", "-1"]).flags(),
                       ["secret": "-abc", "joins-per-address-per-minute": "-1"])
    }

    /// COHORT_CONFIG names the file when --config does not; --config wins.
    func testConfigFileFromFlagOrEnvironment() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.yaml").path, b = dir.appendingPathComponent("b.yaml").path
        try "max-connections: 11\n".write(toFile: a, atomically: true, encoding: .utf8)
        try "max-connections: 22\n".write(toFile: b, atomically: true, encoding: .utf8)
        let (fromEnv, inputs) = try ServeCommand.parse([]).resolve(environment: ["COHORT_CONFIG": a])
        XCTAssertEqual(fromEnv.maxConnections, 11)
        XCTAssertEqual(inputs.picked["max-connections"]?.source, .file(a))
        XCTAssertEqual(try ServeCommand.parse(["--config", b]).resolve(environment: ["COHORT_CONFIG": a]).0.maxConnections, 22)
        XCTAssertThrowsError(try ServeCommand.parse(["--config", dir.appendingPathComponent("missing.yaml").path])
            .resolve(environment: [:])) { XCTAssertTrue("\($0)".contains("cannot read it"), "\($0)") }
    }

    /// `cohort records` reads the database the server writes to: the same
    /// --config file and variables, in the same order.
    func testRecordsExportFindsTheDatabaseAsServeDoes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.yaml").path, off = dir.appendingPathComponent("off.yaml").path
        try "records: /var/lib/cohort/records.sqlite\n".write(toFile: file, atomically: true, encoding: .utf8)
        try "records: off\n".write(toFile: off, atomically: true, encoding: .utf8)
        func location(_ arguments: [String], _ environment: [String: String]) throws -> String {
            try RecordsCommand.Attendance.parse(["--session", "s"] + arguments).options.recordsLocation(environment: environment)
        }
        XCTAssertEqual(try location([], [:]), ServeSettings.defaultRecords)
        XCTAssertEqual(try location(["--config", file], [:]), "/var/lib/cohort/records.sqlite")
        XCTAssertEqual(try location([], ["COHORT_CONFIG": file]), "/var/lib/cohort/records.sqlite")
        XCTAssertEqual(try location(["--config", file], ["COHORT_RECORDS": "env.sqlite"]), "env.sqlite")
        XCTAssertEqual(try location(["--config", file, "--records", "flag.sqlite"], ["COHORT_RECORDS": "env.sqlite"]), "flag.sqlite")
        XCTAssertThrowsError(try location(["--config", off], [:])) { XCTAssertTrue("\($0)".contains("records are off"), "\($0)") }
        XCTAssertThrowsError(try location(["--config", dir.appendingPathComponent("missing.yaml").path], [:])) {
            XCTAssertTrue("\($0)".contains("cannot read it"), "\($0)")
        }
    }

    /// A new empty directory for a test's files; the caller removes it.
    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cohort-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    func testEnvironmentVariableNamesComeFromTheTable() {
        XCTAssertEqual(ServeOption.named("joins-per-address-per-minute")?.environmentVariable, "COHORT_JOINS_PER_ADDRESS_PER_MINUTE")
        XCTAssertEqual(Set(ServeOption.all.map(\.name)).count, ServeOption.all.count, "no option twice")
        XCTAssertEqual(ServeOption.editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(ServeOption.editDistance("", "abc"), 3)
        XCTAssertEqual(ServeOption.editDistance("abc", ""), 3)
        XCTAssertEqual(ServeOption.editDistance("http", "http"), 0)
        XCTAssertEqual(ServeOption.nearest(to: "recrods"), "records")
        XCTAssertNil(ServeOption.nearest(to: "zzzzzzzzzz"))
    }
}
