import Wire

/// One receive slot of a subscriber (ARCHITECTURE.md, "The engine's shape"):
/// the SSRC and payload type the subscriber knows it by, and the rewrite
/// that keeps it one continuous RTP stream while its source changes
/// ("Subscriptions: slots, not renegotiation").
///
/// Who fills the slot is not stored here: the session's `RoutingTable` is
/// the single owner of that, and the engine calls `rebase` whenever the
/// table gives the slot a new source. After a rebase, the first packet
/// forwarded sets the offsets: its sequence number continues right after
/// the last one sent and its timestamp continues from the last one sent
/// plus the wall time that passed, so jitter buffers and decoders see no
/// discontinuity beyond a gap. Packets of the new source that predate its
/// first forwarded packet are dropped (they would go backwards). For video
/// a rebase takes effect at the first keyframe, so the decoder never gets a
/// delta frame whose reference it lacks. Runs on the session's loop.
public struct SubscribedSlot: Sendable {
    /// The SSRC the subscriber knows this slot by.
    public let ssrc: UInt32
    /// RTP clock rate of the slot's media (48 000 for Opus, 90 000 for video).
    public let clockRate: UInt32
    /// The payload type the subscriber negotiated for this slot.
    public let payloadType: UInt8
    /// Retransmissions (RFC 4588), when the subscriber negotiated `rtx`:
    /// their SSRC and payload type; nil resends on the slot's own SSRC.
    public let rtx: (ssrc: UInt32, payloadType: UInt8)?
    /// The retransmission stream's own sequence numbers (RFC 4588 §4).
    private var rtxSequence: UInt16
    /// Which packets went out again recently, so a NACK repeated within one
    /// round trip does not resend them twice.
    var resent = RetransmissionGuard()

    /// Whether the slot has a source; an empty slot forwards nothing.
    public private(set) var isFilled = false
    /// Paused by the subscriber's downlink allocation ("video paused, poor
    /// connection"): nothing is forwarded. On resume the slot waits for a
    /// keyframe and continues its own numbering, so the subscriber sees a
    /// gap in time, not lost packets to NACK.
    public private(set) var isPaused = false
    /// The width, in device pixels, the subscriber renders this slot's tile
    /// at, if it said (`tile-widths`); 0: not shown (a hidden tab), and the
    /// downlink allocation pauses the slot.
    public var renderedWidth: Int?
    private var pendingKeyframe = false
    /// The simulcast layer of the current source being forwarded (0 for a
    /// publisher without simulcast); nil until the first keyframe after a
    /// rebase or a resume.
    public private(set) var layer: Int?
    /// The layer the subscriber's downlink allocation chose; the slot moves
    /// there at that layer's next keyframe (`admit`). `Int.max`: the highest
    /// the publisher sends.
    public var targetLayer = Int.max
    /// Layer switches made at a keyframe (not counting the first layer of a source).
    public private(set) var layerSwitches = 0
    /// VP8 picture id and TL0PICIDX continuity across sources and layers.
    private var pictures = VP8PictureContinuity()
    private var started = false
    private var needsBase = true
    private var seqOffset: UInt16 = 0
    private var tsOffset: UInt32 = 0
    /// The current source's sequence numbers extended to 64 bits (RFC 3550
    /// A.1), so "before the switch point" stays decidable however long the
    /// source fills the slot (16-bit serial order flips after 32 768 packets).
    private var unwrapper = SequenceUnwrapper()
    private var firstInExt: Int64 = 0
    private var highestInExt: Int64 = 0
    private var lastOutSeq: UInt16
    private var lastOutTs: UInt32
    private var lastOutAt: Instant = .zero
    /// The last timestamp sent before the current source, if the slot had
    /// carried media then: the new source's frames are newer.
    public private(set) var switchedAfter: UInt32?
    /// Packets forwarded through this slot (for sender reports).
    public private(set) var packetsSent: UInt32 = 0
    /// Payload octets forwarded through this slot (for sender reports).
    public private(set) var octetsSent: UInt32 = 0
    /// The subscriber's last receiver report block on this slot (RFC 3550
    /// §6.4.1): the downlink's loss and jitter, read by the metrics.
    public var lastReport: Report?

    /// Loss and jitter as one report block states them.
    public struct Report: Sendable, Equatable {
        /// Fraction lost since the previous report, in 1/256.
        public var fractionLost: UInt8
        /// Interarrival jitter in RTP timestamp units.
        public var jitter: UInt32
    }

    /// A random first sequence number (RFC 3550 §5.1) below 2^15, so that a
    /// slot's stream, and its retransmission stream, cannot wrap within its
    /// first 16 384 packets. A subscriber's SRTP takes the first packet it
    /// decrypts to have rollover counter 0 (RFC 3711 §3.3.1); what we send
    /// before its DTLS handshake has finished (we finish ours first, as the
    /// server) never reaches it, and had that crossed 65535 → 0 the slot
    /// would stay undecryptable for good (`RolloverStartTests`). libwebrtc's
    /// senders start below 2^15 for the same reason.
    static func randomInitialSequence<R: RandomNumberGenerator>(using random: inout R) -> UInt16 {
        UInt16.random(in: 0...0x7FFF, using: &random)
    }

    /// Creates an empty slot with our `ssrc`; the first sequence number and
    /// timestamp are random per RFC 3550 §5.1, so they come from the caller
    /// (the sequence number from `randomInitialSequence`).
    public init(ssrc: UInt32, clockRate: UInt32, payloadType: UInt8 = 0, rtx: (ssrc: UInt32, payloadType: UInt8)? = nil,
                initialSequence: UInt16, initialTimestamp: UInt32) {
        self.ssrc = ssrc
        self.clockRate = clockRate
        self.payloadType = payloadType
        self.rtx = rtx
        // Apart from the media numbers, and also below 2^15 (see `randomInitialSequence`).
        self.rtxSequence = (initialSequence &+ 0x4000) & 0x7FFF
        self.lastOutSeq = initialSequence &- 1
        self.lastOutTs = initialTimestamp
    }

    /// The routing table gave the slot a new source (`filled`) or emptied it.
    /// With `waitForKeyframe`, nothing of the new source passes until a keyframe.
    public mutating func rebase(filled: Bool, waitForKeyframe: Bool) {
        isFilled = filled
        switchedAfter = started ? lastOutTs : nil
        needsBase = true
        pendingKeyframe = waitForKeyframe && filled
        layer = nil
    }

    /// Pauses or resumes the slot (see `isPaused`).
    public mutating func setPaused(_ paused: Bool) {
        guard paused != isPaused else { return }
        isPaused = paused
        if !paused {
            needsBase = true
            pendingKeyframe = isFilled
            layer = nil
        }
    }

    /// Whether a packet of layer `incoming` of the slot's source is the
    /// slot's to forward. The current layer's packets are, until a keyframe
    /// of the layer the slot aims at (`targetLayer`, no higher than `top`,
    /// the highest the publisher is sending) arrives: from that packet on,
    /// the slot forwards the new layer, continuing its own sequence numbers,
    /// timestamps and VP8 picture ids, so the decoder starts cleanly on a
    /// keyframe and sees one stream.
    public mutating func admit(layer incoming: Int, top: Int, isKeyframe: Bool) -> Bool {
        if incoming == layer { return true }
        guard incoming == Swift.min(targetLayer, top), isKeyframe, isFilled, !isPaused else { return false }
        if layer != nil {
            needsBase = true
            layerSwitches += 1
        }
        layer = incoming
        return true
    }

    /// Whether the slot waits for a keyframe of the layer it aims at (a
    /// keyframe request to that layer is due).
    public func awaitsLayer(top: Int) -> Int? {
        let aim = Swift.min(targetLayer, top)
        guard isFilled, !isPaused, layer != aim else { return nil }
        return aim
    }

    /// Whether the slot waits for a keyframe of a higher layer than it forwards.
    public var isRaising: Bool {
        guard let layer, isFilled, !isPaused, targetLayer != Int.max else { return false }
        return targetLayer > layer
    }

    /// The VP8 picture id and TL0PICIDX to send for a packet of the current
    /// source just rewritten by `rewrite` (which set the base on a switch).
    public mutating func rewritePicture(_ descriptor: VP8Descriptor) -> (pictureID: UInt16, tl0PicIdx: UInt8) {
        pictures.rewrite(descriptor)
    }

    /// The VP8 picture id and TL0PICIDX for a retransmission of a packet of
    /// the current source (as `rewritePicture` gave its first copy).
    public func retransmittedPicture(_ descriptor: VP8Descriptor) -> (pictureID: UInt16, tl0PicIdx: UInt8) {
        pictures.mapped(descriptor)
    }

    /// The rewritten sequence number and timestamp for a packet of the
    /// slot's current source, or nil when it must not be forwarded.
    public mutating func rewrite(sequence: UInt16, timestamp: UInt32, isKeyframe: Bool, payloadBytes: Int,
                                 now: Instant) -> (sequence: UInt16, timestamp: UInt32)? {
        guard isFilled, !isPaused else { return nil }
        if pendingKeyframe {
            guard isKeyframe else { return nil }
            pendingKeyframe = false
        }
        if needsBase {
            needsBase = false
            pictures.rebase()
            unwrapper = SequenceUnwrapper()
            firstInExt = unwrapper.unwrap(sequence)
            highestInExt = firstInExt
            seqOffset = (lastOutSeq &+ 1) &- sequence
            var advance: UInt32 = 1
            if started {
                let elapsed = max(0, (now - lastOutAt).nanoseconds)
                advance = max(1, UInt32(truncatingIfNeeded: Int64(clockRate) * elapsed / 1_000_000_000))
            }
            tsOffset = (lastOutTs &+ advance) &- timestamp
        } else {
            let ext = unwrapper.unwrap(sequence)
            guard ext >= firstInExt else { return nil }  // older than the switch point: it would go backwards
            highestInExt = max(highestInExt, ext)
        }
        let outSeq = sequence &+ seqOffset
        let outTs = timestamp &+ tsOffset
        if !started || SerialNumber.isNewer(outSeq, than: lastOutSeq) {
            lastOutSeq = outSeq
            lastOutTs = outTs
            lastOutAt = now
        }
        started = true
        packetsSent &+= 1
        octetsSent &+= UInt32(truncatingIfNeeded: payloadBytes)
        return (outSeq, outTs)
    }

    /// Whether the current source's packets have set the rewrite offsets
    /// (the first one has gone out since the last rebase).
    public var hasOffsets: Bool { isFilled && !needsBase }

    /// Whether the slot is waiting for its new source's first keyframe (it
    /// shows nothing new until then).
    public var awaitsKeyframe: Bool { isFilled && pendingKeyframe }

    /// The last timestamp sent and when, to extrapolate a sender report's RTP time.
    public var lastSent: (timestamp: UInt32, at: Instant)? {
        started ? (lastOutTs, lastOutAt) : nil
    }

    /// Maps a sequence number the subscriber names (in a NACK) back to the
    /// current source's own numbering; nil for a number from before the
    /// current source's first forwarded packet (another source's, or none).
    public func sourceSequence(forSlotSequence seq: UInt16) -> UInt16? {
        guard isFilled, !needsBase else { return nil }
        let source = seq &- seqOffset
        // How far behind the newest forwarded packet, within half the sequence space.
        let back = Int64(UInt16(truncatingIfNeeded: highestInExt) &- source)
        guard back < 0x8000, highestInExt - back >= firstInExt else { return nil }
        return source
    }

    /// The timestamp a packet of the current source with `timestamp` went out with.
    public func slotTimestamp(forSourceTimestamp timestamp: UInt32) -> UInt32 { timestamp &+ tsOffset }

    /// The next sequence number of the retransmission stream.
    public mutating func nextRTXSequence() -> UInt16 {
        defer { rtxSequence &+= 1 }
        return rtxSequence
    }
}
