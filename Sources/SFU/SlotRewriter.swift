import Wire

/// Keeps one receive slot a single continuous RTP stream while the source
/// that fills it changes (ARCHITECTURE.md, "Subscriptions: slots, not
/// renegotiation").
///
/// The subscriber sees one SSRC per slot. When a new source is switched in,
/// its sequence numbers are offset to continue right after the last one sent
/// and its timestamps to continue from the last one sent plus the wall time
/// that passed, so jitter buffers and decoders see no discontinuity beyond a
/// gap. Packets of the new source that predate its first forwarded packet
/// are dropped (they would go backwards). For video a switch takes effect at
/// the first keyframe, so the decoder never gets a delta frame whose
/// reference it lacks.
public struct SlotRewriter: Sendable {
    /// The SSRC the subscriber knows this slot by.
    public let ssrc: UInt32
    /// RTP clock rate of the slot's media (48 000 for Opus, 90 000 for video).
    public let clockRate: UInt32

    /// The source now filling the slot, if any.
    public private(set) var source: UInt32?
    private var pendingKeyframe = false
    private var started = false
    private var needsBase = true
    private var seqOffset: UInt16 = 0
    private var tsOffset: UInt32 = 0
    private var firstInSeq: UInt16 = 0
    private var lastOutSeq: UInt16
    private var lastOutTs: UInt32
    private var lastOutAt: Instant = .zero
    /// Packets forwarded through this slot (for sender reports).
    public private(set) var packetsSent: UInt32 = 0
    /// Payload octets forwarded through this slot (for sender reports).
    public private(set) var octetsSent: UInt32 = 0

    /// Creates an empty slot with our `ssrc`; the first sequence number and
    /// timestamp are random per RFC 3550 §5.1, so they come from the caller.
    public init(ssrc: UInt32, clockRate: UInt32, initialSequence: UInt16, initialTimestamp: UInt32) {
        self.ssrc = ssrc
        self.clockRate = clockRate
        self.lastOutSeq = initialSequence &- 1
        self.lastOutTs = initialTimestamp
    }

    /// Puts `source` (a publisher's SSRC) into the slot, or empties it with nil.
    /// With `waitForKeyframe`, nothing of the new source passes until a keyframe.
    public mutating func switchTo(_ source: UInt32?, waitForKeyframe: Bool) {
        guard source != self.source else { return }
        self.source = source
        needsBase = true
        pendingKeyframe = waitForKeyframe && source != nil
    }

    /// The rewritten sequence number and timestamp for a packet of `source`,
    /// or nil when the packet must not be forwarded through this slot.
    public mutating func rewrite(source: UInt32, sequence: UInt16, timestamp: UInt32,
                                 isKeyframe: Bool, payloadBytes: Int, now: Instant) -> (sequence: UInt16, timestamp: UInt32)? {
        guard source == self.source else { return nil }
        if pendingKeyframe {
            guard isKeyframe else { return nil }
            pendingKeyframe = false
        }
        if needsBase {
            needsBase = false
            firstInSeq = sequence
            seqOffset = (lastOutSeq &+ 1) &- sequence
            var advance: UInt32 = 1
            if started {
                let elapsed = max(0, (now - lastOutAt).nanoseconds)
                advance = max(1, UInt32(truncatingIfNeeded: Int64(clockRate) * elapsed / 1_000_000_000))
            }
            tsOffset = (lastOutTs &+ advance) &- timestamp
        } else if SerialNumber.isNewer(firstInSeq, than: sequence) {
            return nil  // older than the switch point: it would go backwards
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

    /// The last timestamp sent and when, to extrapolate a sender report's RTP time.
    public var lastSent: (timestamp: UInt32, at: Instant)? {
        started ? (lastOutTs, lastOutAt) : nil
    }

    /// Maps a sequence number the subscriber names (in a NACK) back to the
    /// source's own numbering, for the current source.
    public func sourceSequence(forSlotSequence seq: UInt16) -> UInt16? {
        guard source != nil, !needsBase else { return nil }
        return seq &- seqOffset
    }
}
