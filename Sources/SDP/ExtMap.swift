/// `a=extmap:<id>[/<direction>] <URI> [<extension attributes>]` (RFC 8285 §8):
/// which RTP header extension travels under which local identifier.
public struct ExtMap: SDPAttributeValue {
    /// `extmap`.
    public static let attributeName = "extmap"

    /// 1–14 for one-byte headers, 1–255 with two-byte headers, 4096–4351 only
    /// while negotiating (RFC 8285 §5 and §7).
    public var id: UInt16
    /// The optional direction after a slash.
    public var direction: MediaDirection?
    /// The extension URI, e.g. `urn:ietf:params:rtp-hdrext:sdes:mid`.
    public var uri: String
    /// Extension attributes after the URI, as written.
    public var extensionAttributes: String?

    /// Creates an extmap line.
    public init(id: UInt16, direction: MediaDirection? = nil, uri: String, extensionAttributes: String? = nil) {
        self.id = id
        self.direction = direction
        self.uri = uri
        self.extensionAttributes = extensionAttributes
    }

    /// Parses the text after `a=extmap:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let (head, rest) = SDPScan.splitFirst(attributeValue)
        guard let rest else { throw .badExtMap }
        let (uri, attributes) = SDPScan.splitFirst(SDPScan.trimmed(rest))
        guard SDPScan.isWord(uri) else { throw .badExtMap }
        let idParts = SDPScan.split(head, UInt8(ascii: "/"))
        guard idParts.count <= 2 else { throw .badExtMap }
        let id: UInt16 = try SDPScan.number(idParts[0], "extmap id")
        guard (1...255).contains(id) || (4096...4351).contains(id) else { throw .valueOutOfRange(field: "extmap id") }
        var direction: MediaDirection?
        if idParts.count == 2 {
            guard let d = MediaDirection(rawValue: String(idParts[1])) else { throw .badExtMap }
            direction = d
        }
        let extras = attributes.map(SDPScan.trimmed)
        self.init(id: id, direction: direction, uri: String(uri),
                  extensionAttributes: extras.flatMap { $0.isEmpty ? nil : String($0) })
    }

    /// The text after `a=extmap:`.
    public var attributeValue: String {
        var text = direction.map { "\(id)/\($0.rawValue)" } ?? "\(id)"
        text += " \(uri)"
        if let extensionAttributes { text += " \(extensionAttributes)" }
        return text
    }
}
