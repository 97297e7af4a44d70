/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (RFC 8866 §6.6).
public struct RTPMap: SDPAttributeValue {
    /// `rtpmap`.
    public static let attributeName = "rtpmap"

    /// The dynamic or static RTP payload type, 0–127.
    public var payloadType: UInt8
    /// The encoding name as written, e.g. `opus`, `VP8`, `rtx`.
    public var encodingName: String
    /// The RTP clock rate in Hz.
    public var clockRate: UInt32
    /// The channel count for audio (RFC 8866 §6.6 "encoding parameters"); nil means 1.
    public var channels: UInt16?

    /// Creates an rtpmap.
    public init(payloadType: UInt8, encodingName: String, clockRate: UInt32, channels: UInt16? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.channels = channels
    }

    /// Parses the text after `a=rtpmap:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let (pt, rest) = SDPScan.splitFirst(attributeValue)
        guard let rest else { throw .badRTPMap }
        let parts = SDPScan.split(SDPScan.trimmed(rest), UInt8(ascii: "/"))
        guard parts.count == 2 || parts.count == 3, SDPScan.isToken(parts[0]) else { throw .badRTPMap }
        self.init(payloadType: try SDPScan.payloadType(pt, "rtpmap payload type"),
                  encodingName: String(parts[0]),
                  clockRate: try SDPScan.number(parts[1], "rtpmap clock rate", in: 1...UInt32.max),
                  channels: parts.count == 3 ? try SDPScan.number(parts[2], "rtpmap channels", in: 1...UInt16.max) : nil)
    }

    /// The text after `a=rtpmap:`.
    public var attributeValue: String {
        let base = "\(payloadType) \(encodingName)/\(clockRate)"
        return channels.map { "\(base)/\($0)" } ?? base
    }

    /// The static payload types of RFC 3551 §6 that WebRTC stacks may offer without an rtpmap.
    public static func staticPayloadType(_ payloadType: UInt8) -> RTPMap? {
        switch payloadType {
        case 0: RTPMap(payloadType: 0, encodingName: "PCMU", clockRate: 8000)
        case 8: RTPMap(payloadType: 8, encodingName: "PCMA", clockRate: 8000)
        case 9: RTPMap(payloadType: 9, encodingName: "G722", clockRate: 8000)
        case 13: RTPMap(payloadType: 13, encodingName: "CN", clockRate: 8000)
        default: nil
        }
    }
}
