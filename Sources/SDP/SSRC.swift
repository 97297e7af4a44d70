/// `a=ssrc:<ssrc-id> <attribute>[:<value>]` (RFC 5576 §4.1), e.g. `1234 cname:abc`.
public struct SSRCAttribute: SDPAttributeValue {
    /// `ssrc`.
    public static let attributeName = "ssrc"

    /// The synchronization source.
    public var ssrc: UInt32
    /// The source attribute name: `cname`, `msid`, …
    public var name: String
    /// The source attribute value, which may contain spaces (`msid:<stream> <track>`).
    public var value: String?

    /// Creates a source attribute.
    public init(ssrc: UInt32, name: String, value: String? = nil) {
        self.ssrc = ssrc
        self.name = name
        self.value = value
    }

    /// Parses the text after `a=ssrc:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let (id, rest) = SDPScan.splitFirst(attributeValue)
        guard let rest, !rest.isEmpty else { throw .badSSRC }
        let ssrc: UInt32 = try SDPScan.number(id, "ssrc")
        if let (name, value) = SDPScan.splitAt(rest, UInt8(ascii: ":")) {
            guard SDPScan.isToken(name) else { throw .badSSRC }
            self.init(ssrc: ssrc, name: String(name), value: String(value))
        } else {
            guard SDPScan.isToken(rest) else { throw .badSSRC }
            self.init(ssrc: ssrc, name: String(rest))
        }
    }

    /// The text after `a=ssrc:`.
    public var attributeValue: String {
        value.map { "\(ssrc) \(name):\($0)" } ?? "\(ssrc) \(name)"
    }
}

/// `a=ssrc-group:<semantics> <ssrc-id> ...` (RFC 5576 §4.2), e.g. `FID 1 2` pairs a
/// source with its retransmission source (RFC 4588 §8.7).
public struct SSRCGroup: SDPAttributeValue {
    /// `ssrc-group`.
    public static let attributeName = "ssrc-group"

    /// `FID` (RFC 5576 §4.2 / RFC 4588), `SIM` (simulcast, draft usage), `FEC-FR`, …
    public var semantics: String
    /// The sources, in order: for FID the primary first, then the repair source.
    public var ssrcs: [UInt32]

    /// `FID`: flow identification, primary then RTX.
    public static let flowIdentification = "FID"
    /// `SIM`: the simulcast layers, lowest first (libwebrtc's convention).
    public static let simulcast = "SIM"

    /// Creates a source group.
    public init(semantics: String, ssrcs: [UInt32]) {
        self.semantics = semantics
        self.ssrcs = ssrcs
    }

    /// Parses the text after `a=ssrc-group:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(attributeValue)
        guard f.count >= 2, SDPScan.isToken(f[0]) else { throw .badSSRCGroup }
        var ssrcs: [UInt32] = []
        for id in f[1...] { ssrcs.append(try SDPScan.number(id, "ssrc-group ssrc")) }
        self.init(semantics: String(f[0]), ssrcs: ssrcs)
    }

    /// The text after `a=ssrc-group:`.
    public var attributeValue: String {
        ([semantics] + ssrcs.map(String.init)).joined(separator: " ")
    }
}
