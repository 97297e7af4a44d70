import Directory
import Records

/// Why the scale-out options cannot be used, naming the option and value.
enum ScaleOutSettingsError: Error, Equatable, CustomStringConvertible {
    case directoryNotPostgres(String)
    case invalidDirectory(String)
    case invalidPublicURL(String)
    case publicURLRequired(String)
    case invalidCount(option: String, value: String, range: ClosedRange<Int>)
    case needsDirectory(String)

    var description: String {
        switch self {
        case .directoryNotPostgres(let value):
            return "--directory \"\(value)\" is not a postgres://user:password@host:port/database URL"
        case .invalidDirectory(let reason): return "--directory: \(reason)"
        case .invalidPublicURL(let value):
            return "--public-url \"\(value)\" is not a WebSocket URL: ws://host[:port]/path or wss://..."
        case .publicURLRequired(let why):
            return "--directory needs --public-url, the WebSocket URL clients use to reach this node: \(why)"
        case .invalidCount(let option, let value, let range):
            return "\(option) \"\(value)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)"
        case .needsDirectory(let option):
            return "\(option) only applies with --directory"
        }
    }
}

/// The resolved scale-out configuration; nil when `--directory` is not given (one node, no database server).
struct ScaleOutSettings: Equatable, Sendable {
    /// The directory database.
    var directory: PostgresURL
    /// The directory URL as given (records default to it).
    var directoryText: String
    /// The WebSocket URL clients use to reach this node.
    var publicURL: String
    /// Participants this node takes at most.
    var capacity: Int
    /// Seconds without a heartbeat after which a node is dead.
    var nodeDeadAfter: Int

    static let defaultCapacity = 500
    /// Heartbeats come every second: five missed ones, so a busy
    /// database or one slow query does not declare a node dead.
    static let defaultNodeDeadAfter = 5

    /// The options from `serve`'s sources (flag, `COHORT_*` variable,
    /// --config file: `ServeInputs`); nil without `directory`. `http` gives
    /// the default public URL.
    static func resolve(_ inputs: inout ServeInputs, http: HostPort) throws(ScaleOutSettingsError) -> ScaleOutSettings? {
        let publicText = inputs.text("public-url")
        let capacityText = inputs.text("capacity")
        let deadText = inputs.text("node-dead-after")
        guard let text = inputs.text("directory") else {
            if publicText != nil { throw .needsDirectory("--public-url") }
            if capacityText != nil { throw .needsDirectory("--capacity") }
            if deadText != nil { throw .needsDirectory("--node-dead-after") }
            return nil
        }
        let url: PostgresURL
        do {
            guard let parsed = try PostgresURL(parsing: text) else { throw ScaleOutSettingsError.directoryNotPostgres(text) }
            url = parsed
        } catch let e as ScaleOutSettingsError {
            throw e
        } catch {
            throw .invalidDirectory("\(error)")
        }
        let publicURL: String
        if let publicText {
            guard PlacementPolicy.isWebSocketURL(publicText) else { throw .invalidPublicURL(publicText) }
            publicURL = publicText
        } else {
            guard !http.isUnspecified else { throw .publicURLRequired("--http \(http) listens on every address") }
            guard http.port != 0 else { throw .publicURLRequired("--http port 0 is chosen at start") }
            publicURL = "ws://\(http)/ws"
        }
        func count(_ text: String?, _ option: String, default value: Int, range: ClosedRange<Int>)
            throws(ScaleOutSettingsError) -> Int {
            guard let text else { return value }
            guard let n = Int(text), range.contains(n) else { throw .invalidCount(option: option, value: text, range: range) }
            return n
        }
        return ScaleOutSettings(directory: url, directoryText: text, publicURL: publicURL,
                                capacity: try count(capacityText, "--capacity", default: defaultCapacity, range: 1...1_000_000),
                                nodeDeadAfter: try count(deadText, "--node-dead-after", default: defaultNodeDeadAfter,
                                                         range: 2...3_600))
    }
}
