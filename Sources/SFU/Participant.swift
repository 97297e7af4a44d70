import DTLS
import RTP
import SRTP
import STUN
import Wire

/// One participant's media state on its session's loop: ICE, DTLS, SRTP,
/// what it publishes and the receive slots it is sent through.
/// Not thread-safe; owned by a `MediaEngine`.
final class Participant {
    let id: ParticipantID
    let sessionID: String
    let name: String
    let role: String
    let plan: OfferPlan
    let joinedAt: Instant
    /// A small number unique in the engine, used as the source key in slots.
    let sourceKey: UInt32
    /// SSRC we send RTCP feedback from.
    let feedbackSSRC: UInt32

    var ice: IceLiteAgent
    var dtls: DTLSEndpoint?
    var srtp: SRTPContext?

    /// Publisher side: SSRCs of the own microphone and camera (from SDP or learned).
    var audioSSRC: UInt32?
    var videoSSRC: UInt32?
    var audioStats = ReceiveStatistics(clockRate: 48_000)
    var videoStats = ReceiveStatistics(clockRate: 90_000)
    var lastPLI: Instant?
    /// When the publisher last sent audio flagged as voice (RFC 6464) above the speaking threshold.
    var lastVoice: Instant?
    /// Smoothed loudness from RFC 6464 levels: 127 minus the level in dB
    /// below overload while voiced, 0 in silence; for loudest-N.
    var loudness: Double = 0
    var pliPending = false

    /// Subscriber side: one rewriter per slot.
    var audioSlots: [SlotRewriter]
    var videoSlots: [SlotRewriter]
    /// The payload type this subscriber negotiated for each audio slot.
    let audioSlotPayloadTypes: [UInt8]
    /// The payload type this subscriber negotiated for each video slot.
    let videoSlotPayloadTypes: [UInt8]
    /// Publisher side: whom our packets go to, cached by the forwarder
    /// (`MediaEngine.routes(of:)`). Holds subscribers strongly, so the
    /// engine clears it when anyone in the session leaves.
    var routes: PublisherRoutes?
    /// Our header-extension id for each forwarded extension (index into
    /// `OfferPlan.forwardedExtensions`), 0 when not negotiated.
    let localExtensionIDs: [UInt8]
    /// For an id in this participant's packets, the forwarded-extension index + 1 (0 = none).
    let extensionIndexByID: [UInt8]
    var nextReport: Instant
    /// Grows with each slot-map change, so clients can drop stale maps.
    var slotsVersion = 1

    init(id: ParticipantID, sessionID: String, name: String, role: String, plan: OfferPlan,
         ice: IceLiteAgent, sourceKey: UInt32, now: Instant, random: inout some RandomNumberGenerator) {
        self.id = id
        self.sessionID = sessionID
        self.name = name
        self.role = role
        self.plan = plan
        self.ice = ice
        self.joinedAt = now
        self.sourceKey = sourceKey
        self.feedbackSSRC = UInt32.random(in: 1...UInt32.max, using: &random)
        self.audioSSRC = plan.audio?.ssrc
        self.videoSSRC = plan.video?.ssrc
        func slots(_ count: Int, clockRate: UInt32) -> [SlotRewriter] {
            (0..<count).map { _ in
                SlotRewriter(ssrc: UInt32.random(in: 1...UInt32.max, using: &random), clockRate: clockRate,
                             initialSequence: UInt16.random(in: 0...UInt16.max, using: &random),
                             initialTimestamp: UInt32.random(in: 0...UInt32.max, using: &random))
            }
        }
        self.audioSlots = slots(plan.slots(.audio).count, clockRate: 48_000)
        self.videoSlots = slots(plan.slots(.video).count, clockRate: 90_000)
        self.audioSlotPayloadTypes = plan.slots(.audio).map(\.payloadType)
        self.videoSlotPayloadTypes = plan.slots(.video).map(\.payloadType)
        var local = [UInt8](repeating: 0, count: OfferPlan.forwardedExtensions.count)
        var byID = [UInt8](repeating: 0, count: 16)
        for (i, uri) in OfferPlan.forwardedExtensions.enumerated() {
            if let id = plan.extensionIDs[uri] {
                local[i] = id
                byID[Int(id)] = UInt8(i + 1)
            }
        }
        self.localExtensionIDs = local
        self.extensionIndexByID = byID
        self.nextReport = now + .seconds(1)
    }

    /// The slot rewriters of `kind`.
    func slots(_ kind: TrackKind) -> [SlotRewriter] { kind == .audio ? audioSlots : videoSlots }

    /// The kind of a stream this participant publishes, learning the SSRC
    /// from the payload type the first time if SDP did not declare it.
    func publishedKind(ssrc: UInt32, payloadType: UInt8) -> TrackKind? {
        if ssrc == audioSSRC { return .audio }
        if ssrc == videoSSRC { return .video }
        if audioSSRC == nil, let a = plan.audio, a.payloadType == payloadType { audioSSRC = ssrc; return .audio }
        if videoSSRC == nil, let v = plan.video, v.payloadType == payloadType { videoSSRC = ssrc; return .video }
        return nil
    }

    /// Which slot of ours a subscriber's feedback names by its SSRC.
    func slot(withSSRC ssrc: UInt32) -> (TrackKind, Int)? {
        if let i = videoSlots.firstIndex(where: { $0.ssrc == ssrc }) { return (.video, i) }
        if let i = audioSlots.firstIndex(where: { $0.ssrc == ssrc }) { return (.audio, i) }
        return nil
    }
}
