/// `send` or `recv` in `a=rid` (RFC 8851 §10).
public enum RIDDirection: String, Hashable, Sendable {
    /// The author sends this RTP stream.
    case send
    /// The author receives it.
    case recv
}

/// `a=rid:<rid-id> <direction> [pt=<fmt list>;]<restriction>=<value>;...` (RFC 8851 §10):
/// one restricted RTP stream, e.g. a simulcast layer.
public struct RID: SDPAttributeValue {
    /// `rid`.
    public static let attributeName = "rid"

    /// The rid-id, 1*(ALPHA / DIGIT / "-" / "_"), carried in the RtpStreamId header extension.
    public var id: String
    /// Send or receive.
    public var direction: RIDDirection
    /// The `pt=` payload types it may use; empty when unrestricted.
    public var payloadTypes: [UInt8]
    /// Other restrictions (`max-width=1280`, `max-fps=30`, …), in order.
    public var restrictions: [FormatParameters.Parameter]

    /// Creates a rid.
    public init(id: String, direction: RIDDirection, payloadTypes: [UInt8] = [],
                restrictions: [FormatParameters.Parameter] = []) {
        self.id = id
        self.direction = direction
        self.payloadTypes = payloadTypes
        self.restrictions = restrictions
    }

    /// Parses the text after `a=rid:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(attributeValue)
        guard f.count == 2 || f.count == 3, Self.isRIDID(f[0]),
              let direction = RIDDirection(rawValue: String(f[1])) else { throw .badRID }
        self.init(id: String(f[0]), direction: direction)
        guard f.count == 3 else { return }
        for item in SDPScan.split(f[2], UInt8(ascii: ";")) {
            let parts = SDPScan.split(item, UInt8(ascii: "="), maxSplits: 1)
            guard SDPScan.isToken(parts[0]), parts.count == 1 || !parts[1].isEmpty else { throw .badRID }
            if parts[0] == "pt", parts.count == 2, payloadTypes.isEmpty {
                for pt in SDPScan.split(parts[1], UInt8(ascii: ",")) {
                    payloadTypes.append(try SDPScan.payloadType(pt, "rid pt"))
                }
            } else {
                restrictions.append(.init(name: String(parts[0]), value: parts.count == 2 ? String(parts[1]) : nil))
            }
        }
    }

    /// The text after `a=rid:`.
    public var attributeValue: String {
        var items: [String] = []
        if !payloadTypes.isEmpty { items.append("pt=" + payloadTypes.map(String.init).joined(separator: ",")) }
        items += restrictions.map { r in r.value.map { "\(r.name)=\($0)" } ?? r.name }
        let base = "\(id) \(direction.rawValue)"
        return items.isEmpty ? base : "\(base) \(items.joined(separator: ";"))"
    }

    /// The value of restriction `name`, e.g. `max-width`.
    public func restriction(_ name: String) -> String? { restrictions.first { $0.name == name }?.value }

    /// RFC 8851 §10 rid-id. Capped at 255 bytes: the RtpStreamId extension cannot carry more.
    static func isRIDID(_ text: Substring) -> Bool {
        (1...255).contains(text.utf8.count) && text.utf8.allSatisfy {
            SDPScan.isAlphaNumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        }
    }
}
