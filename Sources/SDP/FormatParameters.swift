/// `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15).
///
/// Parameters are kept as written; `parameters` splits the common
/// `key=value;key=value` form (RFC 7587 §7, RFC 6184 §8.1, RFC 4588 §8.6).
public struct FormatParameters: SDPAttributeValue {
    /// `fmtp`.
    public static let attributeName = "fmtp"

    /// The format the parameters apply to; an RTP payload type for RTP media.
    public var format: String
    /// The parameter text, e.g. `minptime=10;useinbandfec=1` or `111/111` for RED.
    public var text: String

    /// One `name[=value]` item of the parameter text.
    public struct Parameter: Hashable, Sendable {
        /// The name, or the whole item when it has no `=`.
        public var name: String
        /// The text after the first `=`.
        public var value: String?

        /// Creates a parameter.
        public init(name: String, value: String? = nil) {
            self.name = name
            self.value = value
        }
    }

    /// Creates fmtp text for `format`.
    public init(format: String, text: String) {
        self.format = format
        self.text = text
    }

    /// Creates fmtp for an RTP payload type from parameters, joined with `;`.
    public init(payloadType: UInt8, parameters: [Parameter]) {
        self.init(format: String(payloadType),
                  text: parameters.map { p in p.value.map { "\(p.name)=\($0)" } ?? p.name }.joined(separator: ";"))
    }

    /// Parses the text after `a=fmtp:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let (format, rest) = SDPScan.splitFirst(attributeValue)
        guard SDPScan.isWord(format), let rest else { throw .badFormatParameters }
        let text = SDPScan.trimmed(rest)
        guard !text.isEmpty else { throw .badFormatParameters }
        self.init(format: String(format), text: String(text))
    }

    /// The text after `a=fmtp:`.
    public var attributeValue: String { "\(format) \(text)" }

    /// The format as an RTP payload type, when it is one.
    public var payloadType: UInt8? { try? SDPScan.payloadType(format[...], "fmtp") }

    /// The `;`-separated items, trimmed of spaces.
    public var parameters: [Parameter] {
        SDPScan.split(text[...], UInt8(ascii: ";"), omittingEmpty: true).compactMap { item in
            let item = SDPScan.trimmed(item)
            guard !item.isEmpty else { return nil }
            guard let (name, value) = SDPScan.splitAt(item, UInt8(ascii: "=")) else { return Parameter(name: String(item)) }
            return Parameter(name: String(SDPScan.trimmed(name)), value: String(SDPScan.trimmed(value)))
        }
    }

    /// The value of parameter `name` (case-sensitive), e.g. `self["apt"]`.
    public subscript(name: String) -> String? {
        parameters.first { $0.name == name }?.value
    }
}
