#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOConcurrencyHelpers

/// `--log-format json`: one JSON object per line on standard error,
/// `{"timestamp":…,"level":…,"label":…,"message":…,"metadata":{…}}`, for
/// log collectors (journald, Loki, Elasticsearch) that split on newlines.
///
/// The escaping is RFC 8259 §7: quote, backslash and every control
/// character are escaped, so a message or metadata value can never end its
/// line or its string early. What is logged at all is the call sites'
/// business: none logs a token, secret, chat text, SDP or media
/// (`LogContentTests`).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    /// Where finished lines go (standard error in the server, a buffer in tests).
    private let output: @Sendable (String) -> Void

    init(label: String, metadataProvider: Logger.MetadataProvider? = nil,
         output: @escaping @Sendable (String) -> Void = JSONLogHandler.writeToStandardError) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let given = event.metadata { merged.merge(given) { _, new in new } }
        output(Self.line(timestamp: Self.now(), level: event.level, label: label,
                         message: event.message.description, metadata: merged))
    }

    /// One log line, newline included; keys in a fixed order and metadata
    /// keys sorted, so equal events give equal lines.
    static func line(timestamp: String, level: Logger.Level, label: String, message: String,
                     metadata: Logger.Metadata) -> String {
        var out = "{\"timestamp\":"
        appendString(timestamp, to: &out)
        out += ",\"level\":"
        appendString(level.rawValue, to: &out)
        out += ",\"label\":"
        appendString(label, to: &out)
        out += ",\"message\":"
        appendString(message, to: &out)
        out += ",\"metadata\":"
        appendValue(.dictionary(metadata), to: &out)
        out += "}\n"
        return out
    }

    private static func appendValue(_ value: Logger.Metadata.Value, to out: inout String) {
        switch value {
        case .string(let s):
            appendString(s, to: &out)
        case .stringConvertible(let c):
            appendString(c.description, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                appendValue(item, to: &out)
            }
            out += "]"
        case .dictionary(let d):
            out += "{"
            for (i, key) in d.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                appendValue(d[key]!, to: &out)
            }
            out += "}"
        }
    }

    /// A JSON string (RFC 8259 §7). Non-ASCII passes through as UTF-8, which
    /// JSON allows; U+2028/U+2029 are escaped too, since JavaScript-based
    /// readers once treated them as line ends.
    static func appendString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{2028}", "\u{2029}":
                out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// Now in UTC, RFC 3339 with milliseconds: `2026-12-06T10:49:38.123Z`.
    static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return timestamp(secondsSinceEpoch: Int(ts.tv_sec), milliseconds: Int(ts.tv_nsec / 1_000_000))
    }

    static func timestamp(secondsSinceEpoch: Int, milliseconds: Int) -> String {
        var seconds = time_t(secondsSinceEpoch)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ n: Int32, _ width: Int) -> String { String(n).leftPadded(to: width) }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(String(milliseconds).leftPadded(to: 3))Z"
    }

    /// Serialises writers so that lines from several threads never interleave.
    private static let writeLock = NIOLock()

    /// Writes `line` to file descriptor 2 in full.
    @Sendable static func writeToStandardError(_ line: String) {
        writeLock.withLock {
            var bytes = Array(line.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue } else { return } }
                bytes = bytes.dropFirst(n)
            }
        }
    }
}
