/// `a=group:<semantics> <mid> ...` (RFC 5888 §5), e.g. `BUNDLE 0 1 2` (RFC 8843 §7.1).
public struct SDPGroup: SDPAttributeValue {
    /// `group`.
    public static let attributeName = "group"

    /// `BUNDLE`, `LS`, `FID`, …
    public var semantics: String
    /// The identification tags (`a=mid` values) in the group, in order.
    public var mids: [String]

    /// `BUNDLE` (RFC 8843): all listed sections share one transport.
    public static let bundle = "BUNDLE"

    /// Creates a group.
    public init(semantics: String, mids: [String]) {
        self.semantics = semantics
        self.mids = mids
    }

    /// Parses the text after `a=group:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(attributeValue)
        guard let semantics = f.first, SDPScan.isToken(semantics), f.allSatisfy(SDPScan.isWord) else { throw .badGroup }
        self.init(semantics: String(semantics), mids: f.dropFirst().map(String.init))
    }

    /// The text after `a=group:`.
    public var attributeValue: String { ([semantics] + mids).joined(separator: " ") }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830 §2): which MediaStream a track belongs to.
public struct MSID: SDPAttributeValue {
    /// `msid`.
    public static let attributeName = "msid"

    /// The MediaStream id, `-` for none.
    public var streamID: String
    /// The "appdata", which libwebrtc and aiortc set to the track id.
    public var trackID: String?

    /// Creates an msid.
    public init(streamID: String, trackID: String? = nil) {
        self.streamID = streamID
        self.trackID = trackID
    }

    /// Parses the text after `a=msid:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(attributeValue)
        // RFC 8830 §2: msid-id 1*64token-char [SP msid-appdata 1*64token-char].
        guard (1...2).contains(f.count), f.allSatisfy({ SDPScan.isToken($0) && $0.utf8.count <= 64 }) else {
            throw .badMSID
        }
        self.init(streamID: String(f[0]), trackID: f.count == 2 ? String(f[1]) : nil)
    }

    /// The text after `a=msid:`.
    public var attributeValue: String { trackID.map { "\(streamID) \($0)" } ?? streamID }
}

/// `a=msid-semantic:` (the pre-RFC 8830 WMS declaration that libwebrtc and aiortc
/// still write, e.g. `WMS *`; Chromium writes a space after the colon).
public struct MSIDSemantic: SDPAttributeValue {
    /// `msid-semantic`.
    public static let attributeName = "msid-semantic"

    /// `WMS`.
    public var semantic: String
    /// Stream ids or `*`.
    public var identifiers: [String]

    /// Creates a declaration.
    public init(semantic: String = "WMS", identifiers: [String] = ["*"]) {
        self.semantic = semantic
        self.identifiers = identifiers
    }

    /// Parses the text after `a=msid-semantic:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(attributeValue)
        guard let semantic = f.first, f.allSatisfy(SDPScan.isWord) else { throw .badMSID }
        self.init(semantic: String(semantic), identifiers: f.dropFirst().map(String.init))
    }

    /// The text after `a=msid-semantic:`.
    public var attributeValue: String { ([semantic] + identifiers).joined(separator: " ") }
}
