/// The `<media>` of an `m=` line (RFC 8866 §5.14), open to values this code does not know.
public struct MediaKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The token as written, e.g. `audio`.
    public var rawValue: String
    /// Creates a kind from its token.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// `audio`.
    public static let audio = MediaKind(rawValue: "audio")
    /// `video`.
    public static let video = MediaKind(rawValue: "video")
    /// `application`, used for data channels (RFC 8841).
    public static let application = MediaKind(rawValue: "application")

    /// The token.
    public var description: String { rawValue }
}

/// An `m=` line: `<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 8866 §5.14).
///
/// The m= line is a section's identity, so it is held typed rather than as
/// text. The parser therefore accepts only its canonical spelling (single
/// spaces, plain decimal numbers without leading zeros), which is what every
/// WebRTC stack writes, so that generation reproduces it exactly.
public struct MediaLine: Hashable, Sendable {
    /// `audio`, `video`, `application`, …
    public var kind: MediaKind
    /// The transport port; 0 rejects the section, 9 is JSEP's placeholder (RFC 8829 §5.2.1).
    public var port: UInt16
    /// `<number of ports>` after a slash, rarely used.
    public var portCount: UInt16?
    /// The transport protocol, e.g. `UDP/TLS/RTP/SAVPF` or `UDP/DTLS/SCTP`.
    public var proto: String
    /// The formats: RTP payload types for RTP protos, `webrtc-datachannel` for SCTP.
    public var formats: [String]

    /// Creates an m= line.
    public init(kind: MediaKind, port: UInt16, portCount: UInt16? = nil, proto: String, formats: [String]) {
        self.kind = kind
        self.port = port
        self.portCount = portCount
        self.proto = proto
        self.formats = formats
    }

    /// Parses the text after `m=`.
    public init(fieldValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.split(fieldValue, SDPScan.space)
        guard f.count >= 4, f.allSatisfy(SDPScan.isWord) else { throw .badMediaLine }
        let portParts = SDPScan.split(f[1], UInt8(ascii: "/"))
        guard portParts.count <= 2 else { throw .badMediaLine }
        let port: UInt16 = try Self.canonicalNumber(portParts[0], "m= port")
        let count: UInt16? = portParts.count == 2 ? try Self.canonicalNumber(portParts[1], "m= number of ports") : nil
        self.init(kind: MediaKind(rawValue: String(f[0])), port: port, portCount: count,
                  proto: String(f[2]), formats: f[3...].map(String.init))
        if isRTP {
            // RTP formats are payload types (RFC 8866 §5.14, RFC 3550 §5.1).
            for format in f[3...] { _ = try SDPScan.payloadType(format, "m= fmt") }
        }
    }

    private static func canonicalNumber(_ text: Substring, _ field: String) throws(SDPError.Reason) -> UInt16 {
        let value: UInt16 = try SDPScan.number(text, field)
        // "09" would come back as "9"; refuse it so the section round-trips exactly.
        guard text == "0" || text.first != "0" else { throw .badMediaLine }
        return value
    }

    /// The text after `m=`.
    public var fieldValue: String {
        let port = portCount.map { "\(self.port)/\($0)" } ?? "\(self.port)"
        return ([kind.rawValue, port, proto] + formats).joined(separator: " ")
    }

    /// Whether the proto carries RTP (`RTP/AVP`, `UDP/TLS/RTP/SAVPF`, …), so formats are payload types.
    public var isRTP: Bool { SDPScan.split(proto[...], UInt8(ascii: "/")).contains("RTP") }

    /// The formats that are RTP payload types (0–127), in m= order; empty for non-RTP protos.
    public var payloadTypes: [UInt8] {
        guard isRTP else { return [] }
        return formats.compactMap { try? SDPScan.payloadType($0[...], "fmt") }
    }
}
