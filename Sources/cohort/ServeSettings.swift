#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Tokens

/// Why the options cannot be used, worded for the operator.
enum SettingsError: Error, Equatable, CustomStringConvertible {
    // `option` is how the operator gave it: `--name` on the command line or
    // in the environment, `FILE: name` in a --config file (ServeInputs.label).
    case invalidAddress(option: String, value: String)
    case invalidNumber(option: String, value: String)
    case invalidChoice(option: String, value: String, choices: [String])
    case secretTooShort(option: String, count: Int)
    case announceRequired(String)
    case emptyValue(option: String)
    case consentTimeoutTooShort(option: String, seconds: Int)
    case invalidCount(option: String, value: String, range: ClosedRange<Int>)
    case invalidOrigin(option: String, value: String)
    case invalidMetrics(option: String, value: String)
    case invalidIceServers(option: String, reason: String)
    case certificateWithoutKey
    case config(ConfigFileError)
    case flags(ServeFlagsError)

    var description: String {
        switch self {
        case .invalidAddress(let option, let value):
            return "\(option) \"\(value)\" is not HOST:PORT, [IPv6]:PORT or PORT (port 0-65535)"
        case .invalidNumber(let option, let value):
            return "\(option) \"\(value)\" is not a positive whole number of seconds"
        case .invalidChoice(let option, let value, let choices):
            return "\(option) \"\(value)\" is not one of \(choices.joined(separator: ", "))"
        case .secretTooShort(let option, let count):
            return "\(option) is \(count) bytes; HS256 needs at least \(TokenSigner.minimumSecretLength) (RFC 7518 §3.2)"
        case .announceRequired(let host):
            return "--media binds \(host), which clients cannot reach; set --announce to the public address"
        case .invalidMetrics(let option, let value):
            return "\(option) \"\(value)\" is not public (GET /metrics on the --http listener), off, or HOST:PORT of a listener of its own other than --http"
        case .invalidOrigin(let option, let value):
            return "\(option) \"\(value)\" is not an origin: scheme://host[:port] with http or https, no path (or * for any)"
        case .invalidIceServers(let option, let reason):
            return "\(option): \(reason)"
        case .emptyValue(let option):
            return "\(option) must not be empty"
        case .invalidCount(let option, let value, let range):
            return "\(option) \"\(value)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)"
        case .consentTimeoutTooShort(let option, let seconds):
            return "\(option) \(seconds) s would drop healthy participants: browsers check consent every 4-6 s "
                + "(RFC 7675 §5.1), so at least \(ServeSettings.minimumConsentTimeout) s lets one check be lost"
        case .certificateWithoutKey:
            return "--dtls-cert and --dtls-key go together"
        case .config(let error):
            return error.description
        case .flags(let error):
            return error.description
        }
    }
}

/// How log lines are written: `text` for people, `json` for collectors.
enum LogFormat: String, CaseIterable, Sendable {
    case text, json
}

/// The resolved `serve` configuration.
struct ServeSettings: Equatable, Sendable {
    var http: HostPort
    var media: HostPort
    /// Address put in ICE candidates.
    var announce: String
    /// The token secret; nil means "generate one and print demo links".
    var secret: String?
    /// The session of the printed demo links.
    var session: String
    /// Set when `--session` (or COHORT_SESSION) was given: the server then
    /// refuses tokens of every other session (docs/PROTOCOL.md, Tokens).
    var restrictedSession: String?
    /// RFC 7675 consent freshness timeout, seconds.
    var consentTimeout: Int
    var logLevel: Logger.Level
    /// Directory to serve the web client from instead of the bundled one.
    var webRoot: String?
    /// Whether participants wait for a host to admit them.
    var waitingRoom = false
    /// Speakers in a room's audio mix at most (0: no limit).
    var mixSpeakers = defaultMixSpeakers
    static let defaultMixSpeakers = 3
    /// Open HTTP/WebSocket connections in all, and from one address (docs/PROTOCOL.md, Connecting).
    var maxConnections = defaultMaxConnections
    var maxConnectionsPerAddress = defaultMaxConnectionsPerAddress
    /// Page origins besides the server's own that may open a WebSocket (`*`: any).
    var allowedOrigins: [String] = []
    /// Whether each token (`jti`) admits one join only.
    var singleUseTokens = false
    /// Places of each session (of 50) only hosts and co-hosts may take.
    var reservedHostPlaces = ServeSettings.defaultReservedHostPlaces
    /// Joins of one token (its `sub`, or the token itself) in a session at once.
    var maxJoinsPerToken = ServeSettings.defaultMaxJoinsPerToken
    /// Joins per client address per minute; 0: no limit.
    var joinsPerAddressPerMinute = ServeSettings.defaultJoinsPerAddressPerMinute

    static let defaultReservedHostPlaces = 2
    static let defaultMaxJoinsPerToken = 3
    static let defaultJoinsPerAddressPerMinute = 120
    /// The attendance and audit records database (`--records`); nil: records off.
    var records: String? = defaultRecords
    /// Records older than this many days are deleted at start and daily.
    var recordsRetentionDays = defaultRecordsRetentionDays
    /// This server's name in a records database that several servers share (PostgreSQL).
    var recordsNode = defaultRecordsNode
    /// How log lines are written (`--log-format`).
    var logFormat = LogFormat.text
    /// PEM certificate and key for DTLS; nil: a new self-signed one per start.
    var dtlsCert: String? = nil
    var dtlsKey: String? = nil
    /// Seconds between telling every client `server-shutdown` and flushing
    /// the records on SIGTERM/SIGINT (`ShutdownSequence`).
    var shutdownGrace = defaultShutdownGrace
    /// Seconds a participant whose WebSocket dropped may resume (docs/PROTOCOL.md, `resume`); 0: off.
    var resumeGrace = defaultResumeGrace
    static let defaultResumeGrace = 30
    /// Where `GET /metrics` is served (`--metrics`).
    var metrics = MetricsPlacement.public
    /// STUN/TURN servers for clients (`--ice-servers`, `--turn-secret`, `--turn-credential-ttl`).
    var iceServers = IceServerSettings()

    /// Where the Prometheus metrics are served.
    enum MetricsPlacement: Equatable, Sendable {
        /// On the public HTTP listener, at /metrics (the default: aggregate counts only).
        case `public`
        /// On a listener of its own, and not on the public one.
        case listener(HostPort)
        /// Not at all.
        case off

        /// `public`, `off` or HOST:PORT; nil when it is none of them or is the `--http` address.
        init?(_ text: String, http: HostPort) {
            switch text.lowercased() {
            case "public": self = .public
            case "off": self = .off
            default:
                guard let address = HostPort(text, defaultHost: "127.0.0.1"), address != http || address.port == 0 else { return nil }
                self = .listener(address)
            }
        }
    }

    static let defaultShutdownGrace = 2

    static let defaultHTTP = "127.0.0.1:8080"
    static let defaultMedia = "127.0.0.1:40000"
    static let defaultSession = "demo"
    static let defaultConsentTimeout = 30
    static let defaultMaxConnections = 10_000
    static let defaultMaxConnectionsPerAddress = 200
    /// In the working directory: an operator sees it next to the server.
    static let defaultRecords = "cohort-records.sqlite"
    /// Seven years: HIPAA asks for six years of documentation (45 CFR
    /// 164.316(b)(2)); many states keep clinical records seven or more.
    static let defaultRecordsRetentionDays = 2_555
    /// The host's name (gethostname, no DNS): one server per host needs no setting.
    static var defaultRecordsNode: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "cohort" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "cohort" : name
    }
    /// The shortest consent timeout accepted: consent checks come every
    /// 5 s ± 20 % (RFC 7675 §5.1; aioice 4-6 s), so 12 s survives one lost
    /// check. Shorter would drop healthy participants on a lossy link.
    static let minimumConsentTimeout = 12

    /// Each option: the flag if given, else `COHORT_<NAME>` from `environment`, else the file's key, else the default.
    static func resolve(_ flags: ServeFlags, environment: [String: String], file: ConfigFile? = nil)
        throws(SettingsError) -> ServeSettings {
        var inputs = ServeInputs(flags: flags, environment: environment, file: file)
        return try resolve(&inputs)
    }

    /// Reads every option of `ServeOption.all` from `inputs`, which then
    /// knows each one's effective text and source (`--print-config`).
    static func resolve(_ p: inout ServeInputs) throws(SettingsError) -> ServeSettings {
        let httpText = p.text("http")!
        guard let http = HostPort(httpText, defaultHost: "127.0.0.1") else {
            throw .invalidAddress(option: p.label("http"), value: httpText)
        }
        let mediaText = p.text("media")!
        guard let media = HostPort(mediaText, defaultHost: "127.0.0.1") else {
            throw .invalidAddress(option: p.label("media"), value: mediaText)
        }
        let announce: String
        if let given = p.text("announce") {
            announce = given
        } else {
            guard !media.isUnspecified else { throw .announceRequired(media.host) }
            announce = media.host
            p.derived("announce", announce)
        }
        let secret = p.text("secret")
        if let secret, secret.utf8.count < TokenSigner.minimumSecretLength {
            throw .secretTooShort(option: p.label("secret"), count: secret.utf8.count)
        }
        let restrictedSession = p.text("session")
        let session = restrictedSession ?? defaultSession
        guard !session.isEmpty else { throw .emptyValue(option: p.label("session")) }
        let timeoutText = p.text("consent-timeout")!
        guard let consentTimeout = Int(timeoutText), consentTimeout > 0 else {
            throw .invalidNumber(option: p.label("consent-timeout"), value: timeoutText)
        }
        guard consentTimeout >= Self.minimumConsentTimeout else {
            throw .consentTimeoutTooShort(option: p.label("consent-timeout"), seconds: consentTimeout)
        }
        let levelText = p.text("log-level")!
        guard let logLevel = Logger.Level(rawValue: levelText.lowercased()) else {
            throw .invalidChoice(option: p.label("log-level"), value: levelText, choices: Logger.Level.allCases.map(\.rawValue))
        }
        let formatText = p.text("log-format")!
        guard let logFormat = LogFormat(rawValue: formatText.lowercased()) else {
            throw .invalidChoice(option: p.label("log-format"), value: formatText, choices: LogFormat.allCases.map(\.rawValue))
        }
        func metrics() throws(SettingsError) -> MetricsPlacement {
            let text = p.text("metrics")!
            guard let placement = MetricsPlacement(text, http: http) else { throw .invalidMetrics(option: p.label("metrics"), value: text) }
            return placement
        }
        func onOff(_ name: String) throws(SettingsError) -> Bool {
            let text = p.text(name)!
            switch text.lowercased() {
            case "on", "true", "yes", "1": return true
            case "off", "false", "no", "0": return false
            default: throw .invalidChoice(option: p.label(name), value: text, choices: ["on", "off"])
            }
        }
        func count(_ name: String, range: ClosedRange<Int>) throws(SettingsError) -> Int {
            let text = p.text(name)!
            guard let n = Int(text), range.contains(n) else { throw .invalidCount(option: p.label(name), value: text, range: range) }
            return n
        }
        let recordsText = p.text("records")!
        guard !recordsText.isEmpty else { throw .emptyValue(option: p.label("records")) }
        let records = recordsText.lowercased() == "off" ? nil : recordsText
        let recordsNode = p.text("records-node") ?? defaultRecordsNode
        p.derived("records-node", recordsNode)
        let dtlsCert = p.text("dtls-cert"), dtlsKey = p.text("dtls-key")
        guard (dtlsCert == nil) == (dtlsKey == nil) else { throw .certificateWithoutKey }
        let iceServers: IceServerSettings
        switch IceServerSettings.parse(urls: p.text("ice-servers"), secret: p.text("turn-secret"),
                                       ttl: try count("turn-credential-ttl", range: 60...604_800)) {
        case .success(let s): iceServers = s
        case .failure(.badURL(let url)):
            throw .invalidIceServers(option: p.label("ice-servers"), reason: "\"\(url)\" is not a stun:, stuns:, turn: or turns: URL")
        case .failure(.tooMany(let n)):
            throw .invalidIceServers(option: p.label("ice-servers"), reason: "\(n) URLs; at most \(IceServerSettings.maxURLs)")
        case .failure(.turnWithoutSecret):
            throw .invalidIceServers(option: p.label("ice-servers"), reason: "turn: and turns: URLs need --turn-secret (COHORT_TURN_SECRET)")
        case .failure(.secretWithoutTurn):
            throw .invalidIceServers(option: p.label("turn-secret"), reason: "given without a turn: or turns: URL in --ice-servers")
        }
        return ServeSettings(http: http, media: media, announce: announce, secret: secret, session: session,
                             restrictedSession: restrictedSession, consentTimeout: consentTimeout, logLevel: logLevel,
                             webRoot: p.text("web-root"), waitingRoom: try onOff("waiting-room"),
                             mixSpeakers: try count("mix-speakers", range: 0...16),
                             maxConnections: try count("max-connections", range: 1...10_000_000),
                             maxConnectionsPerAddress: try count("max-connections-per-address", range: 1...10_000_000),
                             allowedOrigins: try origins(p.text("allowed-origins"), option: p.label("allowed-origins")),
                             singleUseTokens: try onOff("single-use-tokens"),
                             reservedHostPlaces: try count("reserved-host-places", range: 0...49),
                             maxJoinsPerToken: try count("max-joins-per-token", range: 1...50),
                             joinsPerAddressPerMinute: try count("joins-per-address-per-minute", range: 0...1_000_000),
                             records: records, recordsRetentionDays: try count("records-retention-days", range: 1...100_000),
                             recordsNode: recordsNode, logFormat: logFormat, dtlsCert: dtlsCert, dtlsKey: dtlsKey,
                             shutdownGrace: try count("shutdown-grace", range: 0...3_600),
                             resumeGrace: try count("resume-grace", range: 0...3_600),
                             metrics: try metrics(), iceServers: iceServers)
    }

    /// A comma-separated list of `scheme://host[:port]` origins, or `*`.
    static func origins(_ text: String?, option: String = "--allowed-origins") throws(SettingsError) -> [String] {
        guard let text else { return [] }
        let list = text.split(separator: ",").map { String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
        for o in list where o != "*" {
            let parts = o.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "http:" || parts[0] == "https:", parts[1].isEmpty, !parts[2].isEmpty else {
                throw .invalidOrigin(option: option, value: o)
            }
        }
        return list
    }
}
