import Congestion
import RTP
import Wire

/// One track a participant publishes (ARCHITECTURE.md, "The engine's
/// shape"): its payload type, repair and, for audio, voice activity, and the
/// encodings it arrives in (`layers`): one, or one per simulcast layer
/// (issue 12), each with its own SSRC, receive statistics, packet cache,
/// NACKs and keyframe requests, since each is its own RTP stream.
/// Runs on the session's loop; owned by the publishing `Participant`.
struct PublishedStream {
    /// One RTP stream of the track: the only one, or a simulcast layer.
    struct Layer {
        /// The layer's rid (RFC 8851) as the RtpStreamId header extension
        /// carries it, compared against packets without allocating; empty
        /// without simulcast.
        let rid: [UInt8]
        /// The SSRC, from the offer (`a=ssrc`, `a=ssrc-group:SIM`) or learned
        /// from the first packet: by payload type for a single layer, by its
        /// RtpStreamId extension for a simulcast layer.
        var ssrc: UInt32?
        /// RFC 3550 reception statistics, for receiver reports.
        var stats: ReceiveStatistics
        /// The SSRC of the layer's retransmissions, declared or learned (by
        /// payload type, or by the RepairedRtpStreamId extension).
        var rtxSSRC: UInt32?
        /// The last second of packets, decrypted, for answering subscribers' NACKs.
        /// Video only: audio is not cached (Opus FEC and PLC cover its losses).
        var cache: PacketCache?
        /// Gaps in the layer's sequence numbers, NACKed upstream at once,
        /// as libwebrtc's receiver does (a reordered packet then costs one
        /// duplicate, dropped by the cache; a late NACK costs a frame freeze).
        /// Only for a video publisher that offered generic NACK: nobody else
        /// would answer one, and the generator reserves its list up front.
        var nacks: NackGenerator?
        /// Keyframe requests from subscribers, switches and restarts, coalesced
        /// and retried; a simulcast layer's keyframes are its own.
        var keyframes: KeyframeRequester
        /// Packet loss before repair: each packet that arrives in order counts
        /// 0 and each gap it reveals 1, averaged over about the last 64
        /// packets (the receive statistics count repaired packets as
        /// received, so they show the loss left after repair).
        private(set) var uplinkLoss: Double = 0
        /// What the layer costs a subscriber, for the downlink allocation (video).
        var bitrate = BitrateMeter()
        /// When a packet of the layer last arrived: a layer the publisher
        /// stopped sending (its own congestion control) is not chosen.
        var lastArrival: Instant?
        /// The frame width of the layer's last keyframe (RFC 6386 §9.1), for
        /// the allocator's rendered-size cap.
        var width: Int?
        /// The bytes of the layer's last keyframe (counted while it arrives:
        /// the packets with its RTP timestamp), for the allocator: a slot
        /// that resumes or moves to this layer starts with one.
        private(set) var keyframeBytes = 0
        /// When the last keyframe began to arrive.
        private(set) var keyframeArrival: Instant?
        private var keyframeTimestamp: UInt32?

        /// Counts a packet toward the keyframe it belongs to, if any.
        mutating func noteFrameBytes(_ count: Int, timestamp: UInt32, keyframe: Bool, now: Instant) {
            if keyframe {
                keyframeTimestamp = timestamp
                keyframeBytes = count
                keyframeArrival = now
            } else if timestamp == keyframeTimestamp {
                keyframeBytes += count
            }
        }

        init(kind: TrackKind, rid: String, ssrc: UInt32?, rtxSSRC: UInt32?, repair: OfferPlan.Repair) {
            self.rid = Array(rid.utf8)
            self.ssrc = ssrc
            self.stats = ReceiveStatistics(clockRate: kind == .audio ? 48_000 : 90_000)
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

        /// Whether `bytes` of `packet` are this layer's rid.
        func hasRID(_ packet: [UInt8], _ bytes: Range<Int>) -> Bool {
            guard bytes.count == rid.count else { return false }
            var i = bytes.lowerBound
            for b in rid {
                guard packet[i] == b else { return false }
                i += 1
            }
            return true
        }
    }

    /// Audio or video.
    let kind: TrackKind
    /// The payload type of the negotiated codec (Opus or VP8).
    let payloadType: UInt8
    /// What the publisher negotiated: `nack` (it answers NACKs), `rtx`, PLI, FIR.
    let repair: OfferPlan.Repair
    /// The encodings, lowest first (the order of the offer's `a=simulcast`
    /// send list or SIM group); one without simulcast.
    var layers: [Layer]
    /// Whether the track arrives as simulcast layers told apart by rid or SIM group.
    var isSimulcast: Bool { layers.count > 1 }

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

    /// A single-encoding stream of `kind` with the offer's payload type, SSRC (if declared) and repair.
    init(kind: TrackKind, payloadType: UInt8, ssrc: UInt32?, repair: OfferPlan.Repair = .init(), rtxSSRC: UInt32? = nil) {
        self.kind = kind
        self.payloadType = payloadType
        self.repair = repair
        self.layers = [Layer(kind: kind, rid: "", ssrc: ssrc, rtxSSRC: rtxSSRC, repair: repair)]
    }

    /// The stream an offer's published section describes: simulcast layers
    /// when it offered them, else one encoding.
    init(kind: TrackKind, _ publish: OfferPlan.Publish) {
        self.kind = kind
        self.payloadType = publish.payloadType
        self.repair = publish.repair
        if publish.simulcast.isEmpty {
            self.layers = [Layer(kind: kind, rid: "", ssrc: publish.ssrc, rtxSSRC: publish.rtxSSRC, repair: publish.repair)]
        } else {
            self.layers = publish.simulcast.map {
                Layer(kind: kind, rid: $0.rid, ssrc: $0.ssrc, rtxSSRC: $0.rtxSSRC, repair: publish.repair)
            }
        }
    }

    /// The layer whose SSRC is `ssrc`, if known.
    func layer(ssrc: UInt32) -> Int? {
        for i in layers.indices where layers[i].ssrc == ssrc { return i }
        return nil
    }

    /// The layer whose retransmission SSRC is `ssrc`, if known.
    func layer(rtxSSRC ssrc: UInt32) -> Int? {
        for i in layers.indices where layers[i].rtxSSRC == ssrc { return i }
        return nil
    }

    /// The layer whose rid is the extension value at `bytes` of `packet`.
    func layer(rid bytes: Range<Int>, in packet: [UInt8]) -> Int? {
        for i in layers.indices where layers[i].hasRID(packet, bytes) { return i }
        return nil
    }

    /// The highest layer that arrived within the last second, if any: a
    /// slot aims no higher (the publisher's own congestion control may
    /// have stopped the top one).
    func topLayer(now: Instant) -> Int? {
        var i = layers.count - 1
        while i >= 0 {
            if isSending(layer: i, now: now) { return i }
            i -= 1
        }
        return nil
    }

    /// Whether layer `i` arrived within the last second: only such layers
    /// are chosen for a slot.
    func isSending(layer i: Int, now: Instant) -> Bool {
        layers[i].lastArrival.map { now - $0 <= .seconds(1) } ?? false
    }

    /// When the next keyframe request or NACK of any layer with a known
    /// SSRC is due (a plain loop: allocation-free on the receive path).
    var repairDeadline: Instant? {
        var earliest: Instant?
        for i in layers.indices where layers[i].ssrc != nil {
            earliest = MediaEngine.earlier(earliest, MediaEngine.earlier(layers[i].keyframes.nextDeadline,
                                                                         layers[i].nacks?.nextDeadline))
        }
        return earliest
    }

    /// Packets received over all layers, for the attendance records.
    var received: Int {
        var total = 0
        for layer in layers { total += Int(layer.stats.received) }
        return total
    }

    /// Asks every layer for a keyframe (a new subscriber, a slot switch,
    /// a restart: which layer it will get is decided when the keyframe comes).
    mutating func requestKeyframes(now: Instant) {
        for i in layers.indices { layers[i].keyframes.request(now: now) }
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
}
