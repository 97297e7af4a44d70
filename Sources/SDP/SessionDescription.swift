/// A session description (RFC 8866) as WebRTC uses it (RFC 8829 JSEP, RFC 8843 BUNDLE).
///
/// It holds every line of the input in order, so `generate()` reproduces a
/// parsed description exactly (with CRLF endings), and computes typed views
/// (`origin`, `MediaDescription.codecs`, …) from those lines. A plain value,
/// no I/O: build one with `parse(_:)` or from values, then `generate()`.
public struct SessionDescription: SDPAttributeContainer, Hashable, Sendable {
    /// The session-part lines after `v=0` (which is implied), in order.
    public var lines: [SDPLine]
    /// The media sections, in order.
    public var mediaSections: [MediaDescription]

    /// Creates a description from its parts.
    public init(lines: [SDPLine], mediaSections: [MediaDescription] = []) {
        self.lines = lines
        self.mediaSections = mediaSections
    }

    /// Creates the mandatory `o=`, `s=`, `t=` session part (RFC 8829 §5.2.1: `s=-`, `t=0 0`).
    public init(origin: Origin, sessionName: String = "-", timing: Timing = Timing()) {
        self.init(lines: [.field(type: "o", value: origin.fieldValue),
                          .field(type: "s", value: sessionName),
                          .field(type: "t", value: timing.fieldValue)])
    }

    /// `o=`. Setting replaces the line in place (or inserts it first).
    public var origin: Origin? {
        get { fieldValue("o").flatMap { try? Origin(fieldValue: $0[...]) } }
        set { lines.setField("o", newValue?.fieldValue, insertAt: 0) }
    }

    /// `s=`.
    public var sessionName: String? {
        get { fieldValue("s") }
        set { lines.setField("s", newValue, insertAt: 1) }
    }

    /// `t=` (the first one).
    public var timing: Timing? {
        get { fieldValue("t").flatMap { try? Timing(fieldValue: $0[...]) } }
        set { lines.setField("t", newValue?.fieldValue, insertAt: 2) }
    }

    /// Session-level `c=`.
    public var connection: ConnectionData? {
        get { fieldValue("c").flatMap { try? ConnectionData(fieldValue: $0[...]) } }
        set { lines.setField("c", newValue?.fieldValue, insertAt: 2) }
    }

    /// The value of the first session-level line of `type`.
    public func fieldValue(_ type: Character) -> String? {
        lines.lazy.compactMap { $0.fieldValue(type) }.first
    }

    /// `a=group` lines (RFC 5888).
    public var groups: [SDPGroup] { typedAttributes(SDPGroup.self) }

    /// The mids of the first `a=group:BUNDLE` (RFC 8843 §7.1), nil without one.
    public var bundleMIDs: [String]? { groups.first { $0.semantics == SDPGroup.bundle }?.mids }

    /// `a=ice-lite` at session level (RFC 8839 §5.3).
    public var isICELite: Bool { hasAttribute("ice-lite") }

    /// `a=msid-semantic`.
    public var msidSemantic: MSIDSemantic? {
        attribute(named: MSIDSemantic.attributeName)?.parsed(as: MSIDSemantic.self)
    }

    /// The section whose `a=mid` is `mid`.
    public func mediaSection(mid: String) -> MediaDescription? { mediaSections.first { $0.mid == mid } }

    // MARK: Effective values: media level overrides session level

    /// The ICE username fragment for `media` (RFC 8839 §5.4: media level wins).
    public func iceUfrag(for media: MediaDescription) -> String? { media.iceUfrag ?? iceUfrag }
    /// The ICE password for `media`.
    public func icePwd(for media: MediaDescription) -> String? { media.icePwd ?? icePwd }
    /// The ICE options for `media`.
    public func iceOptions(for media: MediaDescription) -> [String] {
        media.hasAttribute("ice-options") ? media.iceOptions : iceOptions
    }
    /// The certificate fingerprints for `media` (RFC 8122 §5: media level wins).
    public func fingerprints(for media: MediaDescription) -> [Fingerprint] {
        let own = media.fingerprints
        return own.isEmpty ? fingerprints : own
    }
    /// The DTLS setup role for `media` (RFC 4145 §4).
    public func setup(for media: MediaDescription) -> SetupRole? { media.setup ?? setup }
    /// The direction of `media`: its own, else the session's, else sendrecv (RFC 8866 §6.7).
    public func direction(of media: MediaDescription) -> MediaDirection {
        if let own = media.explicitDirection { return own }
        for line in lines {
            if let a = line.attribute, a.value == nil, let d = MediaDirection(rawValue: a.name) { return d }
        }
        return .sendrecv
    }

    /// The SSRCs the author sends in `media`, applying the session-level direction too.
    public func sendSSRCs(of media: MediaDescription) -> [UInt32] {
        direction(of: media).sends ? media.ssrcs : []
    }

    // MARK: Generation

    /// The description as text with CRLF line endings (RFC 8866 §5), starting `v=0`.
    public func generate() -> String {
        var out = "v=0\r\n"
        for line in lines { out += line.text; out += "\r\n" }
        for section in mediaSections {
            out += "m="; out += section.media.fieldValue; out += "\r\n"
            for line in section.lines { out += line.text; out += "\r\n" }
        }
        return out
    }

    /// `generate()` as UTF-8 bytes.
    public func generateBytes() -> [UInt8] { Array(generate().utf8) }
}
