/// `a=simulcast:` (RFC 8853 §5.1), e.g. `send q;h;f` or `recv 1,~2;3 send 4`.
///
/// Each direction lists simulcast streams separated by `;`; each stream
/// lists alternative rids separated by `,`; a `~` prefix marks a rid paused.
public struct Simulcast: SDPAttributeValue {
    /// `simulcast`.
    public static let attributeName = "simulcast"

    /// One rid in a stream's alternatives.
    public struct Alternative: Hashable, Sendable {
        /// The rid-id, matching an `a=rid` line.
        public var rid: String
        /// Whether it starts paused (`~`).
        public var paused: Bool

        /// Creates an alternative.
        public init(rid: String, paused: Bool = false) {
            self.rid = rid
            self.paused = paused
        }
    }

    /// The streams the author sends, each a list of alternatives.
    public var send: [[Alternative]]
    /// The streams the author receives.
    public var recv: [[Alternative]]

    /// Creates a simulcast description.
    public init(send: [[Alternative]] = [], recv: [[Alternative]] = []) {
        self.send = send
        self.recv = recv
    }

    /// Parses the text after `a=simulcast:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(attributeValue)
        guard f.count == 2 || f.count == 4 else { throw .badSimulcast }
        self.init()
        var seen: Set<Substring> = []
        for i in stride(from: 0, to: f.count, by: 2) {
            guard seen.insert(f[i]).inserted else { throw .badSimulcast }
            let streams = try Self.streams(f[i + 1])
            switch f[i] {
            case "send": send = streams
            case "recv": recv = streams
            default: throw .badSimulcast
            }
        }
    }

    private static func streams(_ text: Substring) throws(SDPError.Reason) -> [[Alternative]] {
        var streams: [[Alternative]] = []
        for stream in SDPScan.split(text, UInt8(ascii: ";")) {
            var alternatives: [Alternative] = []
            for id in SDPScan.split(stream, UInt8(ascii: ",")) {
                let paused = SDPScan.hasPrefix(id, "~")
                let rid = paused ? SDPScan.dropBytes(id, 1) : id
                guard RID.isRIDID(rid) else { throw .badSimulcast }
                alternatives.append(Alternative(rid: String(rid), paused: paused))
            }
            streams.append(alternatives)
        }
        return streams
    }

    /// The text after `a=simulcast:`; `send` first when both directions are present.
    public var attributeValue: String {
        func render(_ streams: [[Alternative]]) -> String {
            streams.map { $0.map { ($0.paused ? "~" : "") + $0.rid }.joined(separator: ",") }.joined(separator: ";")
        }
        var parts: [String] = []
        if !send.isEmpty { parts.append("send \(render(send))") }
        if !recv.isEmpty { parts.append("recv \(render(recv))") }
        return parts.joined(separator: " ")
    }

    /// The first rid of each send stream, in order (the layers a sender offers).
    public var sendRIDs: [String] { send.compactMap(\.first?.rid) }
    /// The first rid of each receive stream, in order.
    public var recvRIDs: [String] { recv.compactMap(\.first?.rid) }
}
