/// One RTP codec of a media section, gathered from its m= format, `a=rtpmap`,
/// `a=fmtp` and `a=rtcp-fb` lines (RFC 8866 §6.6, §6.15; RFC 4585 §4.2).
public struct Codec: Hashable, Sendable {
    /// The payload type.
    public var payloadType: UInt8
    /// The encoding name as written (`opus`, `VP8`, `H264`, `rtx`, …).
    public var name: String
    /// The RTP clock rate in Hz.
    public var clockRate: UInt32
    /// The channel count; nil when the rtpmap has none (meaning 1).
    public var channels: UInt16?
    /// The fmtp parameters, if any.
    public var parameters: FormatParameters?
    /// The feedback lines that apply, including `*` ones, in input order.
    public var feedback: [RTCPFeedback]

    /// Creates a codec description.
    public init(payloadType: UInt8, name: String, clockRate: UInt32, channels: UInt16? = nil,
                parameters: FormatParameters? = nil, feedback: [RTCPFeedback] = []) {
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.parameters = parameters
        self.feedback = feedback
    }

    /// Whether the encoding name matches `name`, ignoring case (RFC 8866 §6.6: names are case-insensitive).
    public func isNamed(_ name: String) -> Bool { self.name.lowercased() == name.lowercased() }

    /// For `rtx` (RFC 4588 §8.6) and similar: the `apt` payload type this one repairs.
    public var associatedPayloadType: UInt8? {
        parameters?["apt"].flatMap { try? SDPScan.payloadType($0[...], "apt") }
    }

    /// Whether a feedback line of `type` (and `parameter`, if given) applies.
    public func supportsFeedback(_ type: String, parameter: String? = nil) -> Bool {
        feedback.contains { $0.type == type && $0.parameter == parameter }
    }
}
