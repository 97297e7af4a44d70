/// `a=rtcp-fb:<payload type>|* <type> [<parameters>]` (RFC 4585 §4.2), e.g. `96 nack pli`.
public struct RTCPFeedback: SDPAttributeValue {
    /// `rtcp-fb`.
    public static let attributeName = "rtcp-fb"

    /// The payload type it applies to; nil for the `*` wildcard.
    public var payloadType: UInt8?
    /// The feedback type: `nack`, `ccm`, `goog-remb`, `transport-cc`, `trr-int`, …
    public var type: String
    /// The rest, e.g. `pli` after `nack` or `fir` after `ccm`.
    public var parameter: String?

    /// Creates a feedback line.
    public init(payloadType: UInt8?, type: String, parameter: String? = nil) {
        self.payloadType = payloadType
        self.type = type
        self.parameter = parameter
    }

    /// Parses the text after `a=rtcp-fb:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let (pt, rest) = SDPScan.splitFirst(attributeValue)
        guard let rest else { throw .badRTCPFeedback }
        let (type, parameter) = SDPScan.splitFirst(SDPScan.trimmed(rest))
        guard SDPScan.isToken(type) else { throw .badRTCPFeedback }
        let param = parameter.map(SDPScan.trimmed)
        self.init(payloadType: pt == "*" ? nil : try SDPScan.payloadType(pt, "rtcp-fb payload type"),
                  type: String(type),
                  parameter: param.flatMap { $0.isEmpty ? nil : String($0) })
    }

    /// The text after `a=rtcp-fb:`.
    public var attributeValue: String {
        let pt = payloadType.map(String.init) ?? "*"
        return parameter.map { "\(pt) \(type) \($0)" } ?? "\(pt) \(type)"
    }

    /// Whether this line applies to `payloadType` (directly or through `*`).
    public func applies(to payloadType: UInt8) -> Bool {
        self.payloadType == nil || self.payloadType == payloadType
    }
}
