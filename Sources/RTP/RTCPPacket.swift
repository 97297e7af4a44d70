/// One packet of a compound RTCP packet, typed by PT and FMT.
public enum RTCPPacket: Equatable, Sendable {
    /// SR (PT 200).
    case senderReport(RTCPSenderReport)
    /// RR (PT 201).
    case receiverReport(RTCPReceiverReport)
    /// SDES (PT 202).
    case sourceDescription(RTCPSourceDescription)
    /// BYE (PT 203).
    case goodbye(RTCPGoodbye)
    /// Generic NACK (PT 205, FMT 1).
    case nack(RTCPNack)
    /// Transport-wide congestion control feedback (PT 205, FMT 15).
    case transportWideFeedback(RTCPTransportWideFeedback)
    /// PLI (PT 206, FMT 1).
    case pictureLossIndication(RTCPPictureLossIndication)
    /// FIR (PT 206, FMT 4).
    case fullIntraRequest(RTCPFullIntraRequest)
    /// REMB (PT 206, FMT 15, 'REMB').
    case receiverEstimatedMaximumBitrate(RTCPReceiverEstimatedMaximumBitrate)
    /// Anything Cohort does not interpret (APP, XR, other feedback types):
    /// its header and the body's range in the compound, so it can be skipped
    /// or passed on.
    case other(RTCPHeader, body: Range<Int>)

    /// Parses one packet whose framing the compound reader has checked.
    init(_ view: RTCPPacketView) throws(RTPError) {
        let header = view.header
        switch (header.packetType, header.count) {
        case (RTCPPacketType.senderReport, _):
            self = .senderReport(try RTCPSenderReport(view))
        case (RTCPPacketType.receiverReport, _):
            self = .receiverReport(try RTCPReceiverReport(view))
        case (RTCPPacketType.sourceDescription, _):
            self = .sourceDescription(try RTCPSourceDescription(view))
        case (RTCPPacketType.goodbye, _):
            self = .goodbye(try RTCPGoodbye(view))
        case (RTCPPacketType.transportFeedback, RTCPNack.format):
            self = .nack(try RTCPNack(view))
        case (RTCPPacketType.transportFeedback, RTCPTransportWideFeedback.format):
            self = .transportWideFeedback(try RTCPTransportWideFeedback(view))
        case (RTCPPacketType.payloadSpecificFeedback, RTCPPictureLossIndication.format):
            self = .pictureLossIndication(try RTCPPictureLossIndication(view))
        case (RTCPPacketType.payloadSpecificFeedback, RTCPFullIntraRequest.format):
            self = .fullIntraRequest(try RTCPFullIntraRequest(view))
        case (RTCPPacketType.payloadSpecificFeedback, RTCPReceiverEstimatedMaximumBitrate.format)
            where RTCPReceiverEstimatedMaximumBitrate.matches(view):
            self = .receiverEstimatedMaximumBitrate(try RTCPReceiverEstimatedMaximumBitrate(view))
        default:
            self = .other(header, body: view.body)
        }
    }

    /// The packet as something that can be written back, or nil for
    /// transport-wide feedback and `.other`, which Cohort does not build.
    public var writable: (any RTCPPacketWritable)? {
        switch self {
        case .senderReport(let p): return p
        case .receiverReport(let p): return p
        case .sourceDescription(let p): return p
        case .goodbye(let p): return p
        case .nack(let p): return p
        case .pictureLossIndication(let p): return p
        case .fullIntraRequest(let p): return p
        case .receiverEstimatedMaximumBitrate(let p): return p
        case .transportWideFeedback, .other: return nil
        }
    }
}
