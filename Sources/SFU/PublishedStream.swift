import Congestion
import RTP
import Wire

/// One track a participant publishes (ARCHITECTURE.md, "The engine's
/// shape"): its SSRC and payload type, receive statistics for our receiver
/// reports, and the per-stream state of the features that work on it —
/// keyframe requests for video, voice activity for audio. Runs on the
/// session's loop; owned by the publishing `Participant`.
struct PublishedStream {
    /// Audio or video.
    let kind: TrackKind
    /// The payload type of the negotiated codec (Opus or VP8).
    let payloadType: UInt8
    /// The SSRC, from the offer's `a=ssrc` or learned from the first packet
    /// with the negotiated payload type.
    var ssrc: UInt32?
    /// RFC 3550 reception statistics, for receiver reports.
    var stats: ReceiveStatistics

    // Video: loss repair and keyframes.
    /// What the publisher negotiated: `nack` (it answers NACKs), `rtx`, PLI, FIR.
    let repair: OfferPlan.Repair
    /// The SSRC of the publisher's retransmissions, declared or learned.
    var rtxSSRC: UInt32?
    /// The last second of packets, decrypted, for answering subscribers' NACKs.
    /// Video only: audio is not cached (Opus FEC and PLC cover its losses).
    var cache: PacketCache?
    /// Gaps in the publisher's sequence numbers, NACKed upstream at once,
    /// as libwebrtc's receiver does (a reordered packet then costs one
    /// duplicate, dropped by the cache; a late NACK costs a frame freeze).
    /// Only for a video publisher that offered generic NACK: nobody else
    /// would answer one, and the generator reserves its list up front.
    var nacks: NackGenerator?
    /// Keyframe requests from subscribers, switches and restarts, coalesced and retried.
    var keyframes: KeyframeRequester
    /// Packet loss from the publisher before repair: each packet that
    /// arrives in order counts 0 and each gap it reveals 1, averaged over
    /// about the last 64 packets (the receive statistics count repaired
    /// packets as received, so they show the loss left after repair).
    private(set) var uplinkLoss: Double = 0

    // Audio: voice activity (RFC 6464).
    /// When the publisher last sent audio flagged as voice above the speaking threshold.
    var lastVoice: Instant?
    /// Smoothed loudness from RFC 6464 levels: 127 minus the level in dB
    /// below overload while voiced, 0 in silence; for loudest-N.
    var loudness: Double = 0
    /// Whether the publisher has ever set RFC 6464's V flag: until then its
    /// level alone says whether it speaks.
    private(set) var setsVoiceFlag = false

    /// Whether the stream is flowing, sampled once a second for the
    /// attendance records (`MediaEngine.sampleFlows`).
    var flow = StreamFlow()
    /// What the stream costs a subscriber, for the downlink allocation (video).
    var bitrate = BitrateMeter()

    /// A stream of `kind` with the offer's payload type, SSRC (if declared) and repair.
    init(kind: TrackKind, payloadType: UInt8, ssrc: UInt32?, repair: OfferPlan.Repair = .init(), rtxSSRC: UInt32? = nil) {
        self.kind = kind
        self.payloadType = payloadType
        self.ssrc = ssrc
        self.stats = ReceiveStatistics(clockRate: kind == .audio ? 48_000 : 90_000)
        self.repair = repair
        self.rtxSSRC = rtxSSRC
        self.cache = kind.isVideo ? PacketCache() : nil
        // RFC 5104 §7.1: FIR for a peer that asked for it and not for PLI.
        self.keyframes = KeyframeRequester(useFIR: repair.fir && !repair.pli)
        self.nacks = kind.isVideo && repair.nack ? NackGenerator(reorderDelay: .milliseconds(0)) : nil
    }

    /// Notes a first transmission that arrived in order, after `newlyMissing` lost ones.
    mutating func noteArrival(newlyMissing: Int) {
        for _ in 0..<min(newlyMissing, 64) { uplinkLoss += (1 - uplinkLoss) / 64 }
        uplinkLoss -= uplinkLoss / 64
    }

    /// Whether a packet with `ssrc` and `payloadType` is one of the
    /// publisher's retransmissions (RFC 4588), learning the RTX SSRC the
    /// first time if the offer did not declare it.
    mutating func isRetransmission(ssrc: UInt32, payloadType: UInt8) -> Bool {
        if let known = rtxSSRC { return known == ssrc }
        guard let rtx = repair.rtxPayloadType, rtx == payloadType else { return false }
        rtxSSRC = ssrc
        return true
    }

    /// Notes an RFC 6464 level of a packet that arrived at `now`. The V
    /// flag is trusted once the sender has set it; a sender that has never
    /// set it (stock aiortc sends V=0 always) is judged by its level alone.
    mutating func recordLevel(_ level: RTPAudioLevel, now: Instant) {
        if level.voiceActivity { setsVoiceFlag = true }
        let voiced = level.voiceActivity || !setsVoiceFlag
        let value = voiced ? Double(127 - Int(level.level)) : 0
        loudness += (value - loudness) * 0.2
        if voiced && level.level <= MediaEngine.speakingLevel { lastVoice = now }
    }

    /// Whether a packet with `ssrc` and `payloadType` belongs to this
    /// stream, learning the SSRC the first time if the offer did not declare it.
    mutating func claims(ssrc: UInt32, payloadType: UInt8) -> Bool {
        if let known = self.ssrc { return known == ssrc }
        guard payloadType == self.payloadType else { return false }
        self.ssrc = ssrc
        return true
    }
}
