/// One line of a description after `v=`, kept verbatim so that parse →
/// generate reproduces the input (RFC 8866 §5: `<type>=<value>`).
///
/// Typed views (`Origin`, `RTPMap`, `ICECandidate`, …) are computed from the
/// kept text; the parser has already checked that every line it knows parses.
public enum SDPLine: Hashable, Sendable {
    /// Any line other than `a=`: `o=`, `s=`, `t=`, `c=`, `b=`, `i=`, … (`m=` starts a section instead).
    case field(type: Character, value: String)
    /// An `a=` line (RFC 8866 §5.13).
    case attribute(SDPAttribute)

    /// The line without its line ending, e.g. `a=rtcp-mux`.
    public var text: String {
        switch self {
        case .field(let type, let value): "\(type)=\(value)"
        case .attribute(let attribute): "a=\(attribute.text)"
        }
    }

    /// The attribute, when this is an `a=` line.
    public var attribute: SDPAttribute? {
        if case .attribute(let attribute) = self { attribute } else { nil }
    }

    /// The value of a non-attribute line of `type`, else nil.
    public func fieldValue(_ type: Character) -> String? {
        if case .field(type, let value) = self { value } else { nil }
    }
}

/// An `a=` attribute: `a=<name>` (property) or `a=<name>:<value>` (RFC 8866 §5.13).
public struct SDPAttribute: Hashable, Sendable {
    /// The attribute name, e.g. `rtpmap`. Compared case-sensitively, as browsers do.
    public var name: String
    /// The text after the first colon; nil for a property attribute such as `rtcp-mux`.
    public var value: String?

    /// Creates an attribute from its parts.
    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }

    /// Creates the attribute for a typed value, e.g. `SDPAttribute(RTPMap(...))`.
    public init<Value: SDPAttributeValue>(_ typed: Value) {
        self.init(name: Value.attributeName, value: typed.attributeValue)
    }

    /// The text after `a=`.
    public var text: String {
        if let value { "\(name):\(value)" } else { name }
    }

    /// The typed view of this attribute, or nil if it has another name or does not parse.
    public func parsed<Value: SDPAttributeValue>(as type: Value.Type) -> Value? {
        guard name == Value.attributeName, let value else { return nil }
        return try? Value(attributeValue: value[...])
    }
}

/// A typed attribute value that parses from, and renders to, the text after `a=<name>:`.
///
/// Rendering is canonical (single spaces, no leading zeros), so a parsed
/// value renders to text that parses back to an equal value; the original
/// spelling lives on in the `SDPAttribute` it came from.
public protocol SDPAttributeValue: Hashable, Sendable {
    /// The attribute name this type describes, e.g. `rtpmap`.
    static var attributeName: String { get }
    /// Parses the text after `a=<name>:`.
    init(attributeValue: Substring) throws(SDPError.Reason)
    /// Renders the text after `a=<name>:`.
    var attributeValue: String { get }
}

/// Attribute lists shared by the session part and media sections.
public protocol SDPAttributeContainer {
    /// The lines in input order.
    var lines: [SDPLine] { get set }
}

extension SDPAttributeContainer {
    /// All `a=` attributes, in order.
    public var attributes: [SDPAttribute] { lines.compactMap(\.attribute) }

    /// The first attribute called `name`.
    public func attribute(named name: String) -> SDPAttribute? {
        for line in lines { if let a = line.attribute, a.name == name { return a } }
        return nil
    }

    /// All attributes called `name`, in order.
    public func attributes(named name: String) -> [SDPAttribute] {
        lines.compactMap { line in line.attribute.flatMap { $0.name == name ? $0 : nil } }
    }

    /// Whether a property or value attribute called `name` is present.
    public func hasAttribute(_ name: String) -> Bool { attribute(named: name) != nil }

    /// The value of the first attribute called `name`.
    public func attributeValue(_ name: String) -> String? { attribute(named: name)?.value }

    /// Every attribute of `Value`'s name that parses, in order.
    public func typedAttributes<Value: SDPAttributeValue>(_ type: Value.Type) -> [Value] {
        lines.compactMap { $0.attribute?.parsed(as: type) }
    }

    /// Appends an attribute line.
    public mutating func append(_ attribute: SDPAttribute) { lines.append(.attribute(attribute)) }

    /// Appends a typed attribute line.
    public mutating func append<Value: SDPAttributeValue>(_ typed: Value) {
        lines.append(.attribute(SDPAttribute(typed)))
    }

    /// Appends a property attribute such as `rtcp-mux`.
    public mutating func appendProperty(_ name: String) { lines.append(.attribute(SDPAttribute(name: name))) }

    /// Appends `a=<name>:<value>`.
    public mutating func appendAttribute(_ name: String, _ value: String) {
        lines.append(.attribute(SDPAttribute(name: name, value: value)))
    }

    // MARK: Transport attributes valid at session and media level (RFC 8839 §5.4, RFC 8122 §5)

    /// `a=ice-ufrag` at this level.
    public var iceUfrag: String? { attributeValue("ice-ufrag") }
    /// `a=ice-pwd` at this level.
    public var icePwd: String? { attributeValue("ice-pwd") }
    /// `a=ice-options` tokens at this level (RFC 8839 §5.6), e.g. `["trickle"]`.
    public var iceOptions: [String] {
        attributes(named: "ice-options").flatMap { SDPScan.fields(($0.value ?? "")[...]).map(String.init) }
    }
    /// Every `a=fingerprint` at this level (RFC 8122 §5 allows several).
    public var fingerprints: [Fingerprint] { typedAttributes(Fingerprint.self) }
    /// `a=setup` at this level (RFC 4145 §4).
    public var setup: SetupRole? { attribute(named: "setup")?.parsed(as: SetupRole.self) }
}
