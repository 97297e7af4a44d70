#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Tokens

/// The `serve` options as typed on the command line, before defaults and environment.
struct ServeFlags: Equatable, Sendable {
    var http: String?
    var media: String?
    var announce: String?
    var secret: String?
    var session: String?
    var consentTimeout: String?
    var logLevel: String?
    var webRoot: String?
    var waitingRoom: String? = nil
    var maxConnections: String? = nil
    var maxConnectionsPerAddress: String? = nil
    var allowedOrigins: String? = nil
    var singleUseTokens: String? = nil
    var reservedHostPlaces: String? = nil
    var maxJoinsPerToken: String? = nil
    var joinsPerAddressPerMinute: String? = nil
    var records: String? = nil
    var recordsRetentionDays: String? = nil
    var recordsNode: String? = nil
    var metrics: String? = nil
}

/// Why the options cannot be used, worded for the operator.
enum SettingsError: Error, Equatable, CustomStringConvertible {
    case invalidAddress(option: String, value: String)
    case invalidNumber(option: String, value: String)
    case invalidLogLevel(String)
    case secretTooShort(Int)
    case announceRequired(String)
    case emptyValue(option: String)
    case consentTimeoutTooShort(Int)
    case invalidCount(option: String, value: String, range: ClosedRange<Int>)
    case invalidOrigin(String)
    case invalidMetrics(String)

    var description: String {
        switch self {
        case .invalidAddress(let option, let value):
            return "\(option) \"\(value)\" is not HOST:PORT, [IPv6]:PORT or PORT (port 0-65535)"
        case .invalidNumber(let option, let value):
            return "\(option) \"\(value)\" is not a positive whole number of seconds"
        case .invalidLogLevel(let value):
            return "--log-level \"\(value)\" is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
        case .secretTooShort(let count):
            return "--secret is \(count) bytes; HS256 needs at least \(TokenSigner.minimumSecretLength) (RFC 7518 §3.2)"
        case .announceRequired(let host):
            return "--media binds \(host), which clients cannot reach; set --announce to the public address"
        case .invalidOrigin(let value):
            return "--allowed-origins \"\(value)\" is not an origin: scheme://host[:port] with http or https, no path (or * for any)"
        case .invalidMetrics(let value):
            return "--metrics \"\(value)\" is not public (GET /metrics on the --http listener), off, or HOST:PORT of a listener of its own other than --http"
        case .emptyValue(let option):
            return "\(option) must not be empty"
        case .invalidCount(let option, let value, let range):
            return "\(option) \"\(value)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)"
        case .consentTimeoutTooShort(let seconds):
            return "--consent-timeout \(seconds) s would drop healthy participants: browsers check consent every 4-6 s "
                + "(RFC 7675 §5.1), so at least \(ServeSettings.minimumConsentTimeout) s lets one check be lost"
        }
    }
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
    /// Where `GET /metrics` is served (`--metrics`).
    var metrics = MetricsPlacement.public

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

    /// Each option: the flag if given, else `COHORT_<NAME>` from `environment`, else the default.
    static func resolve(_ flags: ServeFlags, environment: [String: String]) throws(SettingsError) -> ServeSettings {
        func pick(_ flag: String?, _ variable: String) -> String? {
            if let flag { return flag }
            if let value = environment[variable], !value.isEmpty { return value }
            return nil
        }
        let httpText = pick(flags.http, "COHORT_HTTP") ?? defaultHTTP
        guard let http = HostPort(httpText, defaultHost: "127.0.0.1") else {
            throw .invalidAddress(option: "--http", value: httpText)
        }
        let mediaText = pick(flags.media, "COHORT_MEDIA") ?? defaultMedia
        guard let media = HostPort(mediaText, defaultHost: "127.0.0.1") else {
            throw .invalidAddress(option: "--media", value: mediaText)
        }
        let announce: String
        if let given = pick(flags.announce, "COHORT_ANNOUNCE") {
            announce = given
        } else {
            guard !media.isUnspecified else { throw .announceRequired(media.host) }
            announce = media.host
        }
        let secret = pick(flags.secret, "COHORT_SECRET")
        if let secret, secret.utf8.count < TokenSigner.minimumSecretLength {
            throw .secretTooShort(secret.utf8.count)
        }
        let restrictedSession = pick(flags.session, "COHORT_SESSION")
        let session = restrictedSession ?? defaultSession
        guard !session.isEmpty else { throw .emptyValue(option: "--session") }
        let timeoutText = pick(flags.consentTimeout, "COHORT_CONSENT_TIMEOUT")
        var consentTimeout = defaultConsentTimeout
        if let timeoutText {
            guard let value = Int(timeoutText), value > 0 else {
                throw .invalidNumber(option: "--consent-timeout", value: timeoutText)
            }
            guard value >= Self.minimumConsentTimeout else { throw .consentTimeoutTooShort(value) }
            consentTimeout = value
        }
        let levelText = pick(flags.logLevel, "COHORT_LOG_LEVEL") ?? "info"
        guard let logLevel = Logger.Level(rawValue: levelText.lowercased()) else { throw .invalidLogLevel(levelText) }
        func onOff(_ flag: String?, _ variable: String, _ option: String) throws(SettingsError) -> Bool {
            guard let text = pick(flag, variable) else { return false }
            switch text.lowercased() {
            case "on", "true", "yes", "1": return true
            case "off", "false", "no", "0": return false
            default: throw .invalidNumber(option: option, value: text)
            }
        }
        let waitingRoom = try onOff(flags.waitingRoom, "COHORT_WAITING_ROOM", "--waiting-room")
        let singleUseTokens = try onOff(flags.singleUseTokens, "COHORT_SINGLE_USE_TOKENS", "--single-use-tokens")
        func count(_ flag: String?, _ variable: String, _ option: String, default value: Int, range: ClosedRange<Int>)
            throws(SettingsError) -> Int {
            guard let text = pick(flag, variable) else { return value }
            guard let n = Int(text), range.contains(n) else { throw .invalidCount(option: option, value: text, range: range) }
            return n
        }
        var records: String? = defaultRecords
        if let text = pick(flags.records, "COHORT_RECORDS") {
            guard !text.isEmpty else { throw .emptyValue(option: "--records") }
            records = text.lowercased() == "off" ? nil : text
        }
        let retention = try count(flags.recordsRetentionDays, "COHORT_RECORDS_RETENTION_DAYS", "--records-retention-days",
                                  default: defaultRecordsRetentionDays, range: 1...100_000)
        let metricsText = pick(flags.metrics, "COHORT_METRICS") ?? "public"
        guard let metrics = MetricsPlacement(metricsText, http: http) else { throw .invalidMetrics(metricsText) }
        return ServeSettings(http: http, media: media, announce: announce, secret: secret, session: session,
                             restrictedSession: restrictedSession, consentTimeout: consentTimeout, logLevel: logLevel,
                             webRoot: pick(flags.webRoot, "COHORT_WEB_ROOT"), waitingRoom: waitingRoom,
                             maxConnections: try count(flags.maxConnections, "COHORT_MAX_CONNECTIONS", "--max-connections",
                                                       default: defaultMaxConnections, range: 1...10_000_000),
                             maxConnectionsPerAddress: try count(flags.maxConnectionsPerAddress, "COHORT_MAX_CONNECTIONS_PER_ADDRESS",
                                                                 "--max-connections-per-address",
                                                                 default: defaultMaxConnectionsPerAddress, range: 1...10_000_000),
                             allowedOrigins: try origins(pick(flags.allowedOrigins, "COHORT_ALLOWED_ORIGINS")),
                             singleUseTokens: singleUseTokens,
                             reservedHostPlaces: try count(flags.reservedHostPlaces, "COHORT_RESERVED_HOST_PLACES",
                                                           "--reserved-host-places", default: defaultReservedHostPlaces,
                                                           range: 0...49),
                             maxJoinsPerToken: try count(flags.maxJoinsPerToken, "COHORT_MAX_JOINS_PER_TOKEN",
                                                         "--max-joins-per-token", default: defaultMaxJoinsPerToken,
                                                         range: 1...50),
                             joinsPerAddressPerMinute: try count(flags.joinsPerAddressPerMinute,
                                                                 "COHORT_JOINS_PER_ADDRESS_PER_MINUTE",
                                                                 "--joins-per-address-per-minute",
                                                                 default: defaultJoinsPerAddressPerMinute,
                                                                 range: 0...1_000_000),
                             records: records, recordsRetentionDays: retention,
                             recordsNode: pick(flags.recordsNode, "COHORT_RECORDS_NODE") ?? defaultRecordsNode,
                             metrics: metrics)
    }

    /// A comma-separated list of `scheme://host[:port]` origins, or `*`.
    static func origins(_ text: String?) throws(SettingsError) -> [String] {
        guard let text else { return [] }
        let list = text.split(separator: ",").map { String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
        for o in list where o != "*" {
            let parts = o.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "http:" || parts[0] == "https:", parts[1].isEmpty, !parts[2].isEmpty else {
                throw .invalidOrigin(o)
            }
        }
        return list
    }
}
