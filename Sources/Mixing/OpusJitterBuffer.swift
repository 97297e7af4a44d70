import Wire

/// A jitter buffer for one Opus publisher, sans-IO: packets go in with the
/// time they arrived, and the mixer takes one packet's worth of audio out
/// per 20 ms tick.
///
/// Playout follows RTP sequence numbers (RFC 3550 §5.1): a missing number
/// is a loss, answered with in-band FEC from its successor when that
/// carries LBRR (RFC 6716 §2.1.7) and with concealment otherwise. The
/// delay before the first packet plays adapts to the interarrival jitter
/// (RFC 3550 §6.4.1) between `minimumDelay` and `maximumDelay`; the number
/// of packets held is bounded, so a publisher sending too fast loses its
/// oldest packets and nobody else notices. Runs on the room's loop only.
public struct OpusJitterBuffer {
    /// Tuning.
    public struct Configuration: Sendable {
        /// The least delay before playout (one frame).
        public var minimumDelay = TimeSpan.milliseconds(20)
        /// The most delay before playout, and the bound on what is held.
        public var maximumDelay = TimeSpan.milliseconds(200)
        /// After this long without a packet and with nothing buffered the
        /// publisher counts as silent: `pop` returns `.nothing`.
        public var silenceTimeout = TimeSpan.milliseconds(200)
        /// The nominal packet duration; levels are counted in such packets.
        public var frameDuration = TimeSpan.milliseconds(20)
        /// Target delay = frame duration + this many times the jitter estimate.
        public var jitterMultiplier = 3.0
        /// Packets further ahead or behind than this restart the buffer (a new stream).
        public var resyncDistance = 500
        /// Creates the defaults.
        public init() {}
    }

    /// What the mixer should decode for the next frame.
    public enum Output: Equatable, Sendable {
        /// Decode this packet.
        case packet([UInt8])
        /// The next packet, which its sender marked as carrying no voice
        /// (RFC 6464 level below speech): a mixer may skip decoding it.
        case quiet([UInt8])
        /// The packet is lost; decode the in-band FEC carried by this successor.
        case fec([UInt8])
        /// The packet is lost or late: run packet-loss concealment.
        case conceal
        /// Not started yet, or the publisher is silent: contribute nothing.
        case nothing
    }

    /// What `insert` did with a packet.
    public enum InsertResult: Equatable, Sendable {
        /// Held for playout.
        case stored
        /// Held for playout after the buffer restarted (a sequence jump).
        case resynced
        /// The same sequence number is already held or has played: dropped.
        case duplicate
        /// Its turn has passed: dropped.
        case late
        /// Not a well-formed Opus packet: dropped.
        case malformed(MixingError)
    }

    /// Playout state.
    public enum State: Equatable, Sendable {
        /// No packet yet, or silent since the last one.
        case idle
        /// Holding packets until `until` to build up the target delay.
        case priming(until: Instant)
        /// Handing out one packet per call to `pop`.
        case playing
    }

    /// Counts for metrics and tests.
    public struct Counters: Equatable, Sendable {
        /// Packets offered to `insert`.
        public var received = 0
        /// Dropped: the same sequence number was held or had played.
        public var duplicates = 0
        /// Dropped: arrived after their turn.
        public var lateDrops = 0
        /// Dropped oldest-first because more than the maximum delay was held (a flood).
        public var overflowDrops = 0
        /// Skipped oldest-first to bring the delay back toward the target.
        public var latencyDrops = 0
        /// Dropped: malformed Opus framing.
        public var malformed = 0
        /// Restarts after a sequence jump or a timestamp jump.
        public var resyncs = 0
        /// Packets found missing at their turn.
        public var lost = 0
        /// Of those, recovered from the successor's in-band FEC.
        public var fecRecovered = 0
        /// Turns with nothing buffered while the publisher was not yet silent.
        public var underruns = 0
        /// Creates zeros.
        public init() {}
    }

    /// One slot of the ring. Its payload storage outlives the packet in it:
    /// a slot that was used once takes the next packet without allocating.
    private struct Entry {
        /// Whether the slot holds a packet (played or not).
        var held = false
        var sequence: Int64 = 0
        var payload: [UInt8] = []
        var hasLBRR = false
        var played = false
        var voiced = false
    }

    /// The tuning in use.
    public let configuration: Configuration
    /// Counts since creation.
    public private(set) var counters = Counters()
    /// The playout state.
    public private(set) var state: State = .idle

    private var slots: [Entry]
    /// Where `insert` copies a payload before it knows whether to keep it;
    /// swapped with the storage of the slot it goes to.
    private var spare: [UInt8] = []
    private var unwrapper = SequenceUnwrapper()
    private var estimator = JitterEstimator()
    private var started = false
    private var next: Int64 = 0
    private var highest: Int64 = 0
    private var lastArrival = Instant.zero

    /// Creates an empty buffer.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        // Room for the maximum delay plus a margin, as a power of two for masking.
        var size = 16
        while size < Self.packets(configuration.maximumDelay, configuration) * 2 + 4 { size *= 2 }
        slots = Array(repeating: Entry(), count: size)
    }

    private static func packets(_ span: TimeSpan, _ c: Configuration) -> Int {
        Int((span.nanoseconds + c.frameDuration.nanoseconds - 1) / c.frameDuration.nanoseconds)
    }

    /// The interarrival jitter estimate (RFC 3550 §6.4.1).
    public var jitter: TimeSpan {
        TimeSpan(nanoseconds: Int64(estimator.jitter * 1e9 / 48_000))
    }

    /// The playout delay the buffer aims for: one frame plus a multiple of
    /// the jitter, clamped to the configured range.
    public var targetDelay: TimeSpan {
        let c = configuration
        let wanted = c.frameDuration.nanoseconds + Int64(c.jitterMultiplier * Double(jitter.nanoseconds))
        return TimeSpan(nanoseconds: min(max(wanted, c.minimumDelay.nanoseconds), c.maximumDelay.nanoseconds))
    }

    /// Packets held from the next to play up to the newest (gaps included).
    public var bufferedPackets: Int { started && highest >= next ? Int(highest - next + 1) : 0 }

    private var mask: Int64 { Int64(slots.count - 1) }
    private var maximumPackets: Int { Self.packets(configuration.maximumDelay, configuration) + 1 }
    private var targetPackets: Int { max(1, Self.packets(targetDelay, configuration)) }

    private func entry(_ sequence: Int64) -> Entry? {
        let e = slots[Int(sequence & mask)]
        guard e.held, e.sequence == sequence else { return nil }
        return e
    }

    private mutating func release(_ sequence: Int64) {
        slots[Int(sequence & mask)].held = false
    }

    /// Offers one packet that arrived at `now`; `voiced` false: its sender
    /// says it carries no voice (it pops as `.quiet`).
    @discardableResult
    public mutating func insert(sequence: UInt16, timestamp: UInt32, payload: [UInt8], now: Instant,
                                voiced: Bool = true) -> InsertResult {
        insert(sequence: sequence, timestamp: timestamp, payload: payload[...], now: now, voiced: voiced)
    }

    /// Offers one packet that arrived at `now`, borrowed: the bytes are
    /// copied into the buffer's own storage, reused from packet to packet,
    /// so a steady stream allocates nothing.
    @discardableResult
    public mutating func insert(sequence: UInt16, timestamp: UInt32, payload: ArraySlice<UInt8>, now: Instant,
                                voiced: Bool = true) -> InsertResult {
        counters.received += 1
        spare.removeAll(keepingCapacity: true)
        spare.append(contentsOf: payload)
        let info: OpusPacketInfo
        do { info = try OpusPacketInfo(parsing: spare) } catch {
            counters.malformed += 1
            return .malformed(error)
        }
        var ext = unwrapper.unwrap(sequence)
        var result = InsertResult.stored
        if !started || state == .idle {
            if started && ext < next && next - ext <= Int64(configuration.resyncDistance) {
                counters.lateDrops += 1
                return .late
            }
            restart(at: ext, now: now)
        } else if abs(ext - next) > Int64(configuration.resyncDistance) {
            // A new stream under the same key (RFC 3550 §8.2 restarts): start over.
            counters.resyncs += 1
            unwrapper = SequenceUnwrapper()
            ext = unwrapper.unwrap(sequence)
            estimator.reset()
            restart(at: ext, now: now)
            result = .resynced
        } else if ext < next {
            if case .priming = state, highest - ext < Int64(maximumPackets), entry(ext) == nil {
                next = ext  // an earlier packet reordered behind the first one: still in time
            } else if let e = entry(ext), e.played {
                counters.duplicates += 1
                return .duplicate
            } else {
                counters.lateDrops += 1
                return .late
            }
        } else if entry(ext) != nil {
            counters.duplicates += 1
            return .duplicate
        }
        if !estimator.record(timestamp: timestamp, arrival: now) { counters.resyncs += 1 }
        lastArrival = now
        let index = Int(ext & mask)
        slots[index].held = true
        slots[index].sequence = ext
        slots[index].hasLBRR = info.hasLBRR(in: spare)
        slots[index].played = false
        slots[index].voiced = voiced
        // The slot's old storage becomes the next spare.
        swap(&spare, &slots[index].payload)
        highest = max(highest, ext)
        // Bound what one publisher may hold: drop oldest first (a flood, or a burst after a stall).
        while highest - next + 1 > Int64(maximumPackets) {
            if let e = entry(next), !e.played { counters.overflowDrops += 1 }
            release(next)
            next += 1
        }
        return result
    }

    private mutating func restart(at ext: Int64, now: Instant) {
        for i in slots.indices { slots[i].held = false }
        started = true
        next = ext
        highest = ext
        state = .priming(until: now + targetDelay)
    }

    /// Starts the jitter estimate at `jitter`, the jitter the publisher's
    /// stream is already known to have, when this buffer has seen no packet
    /// yet. A buffer made mid-stream (the publisher moved rooms, or a room
    /// got its first mixed listener) then primes to the right delay from its
    /// first packet instead of learning it through underruns, each of which
    /// a listener hears as a glitch.
    public mutating func expectJitter(_ jitter: TimeSpan) {
        guard !started else { return }
        estimator.seed(Double(jitter.nanoseconds) * 48_000 / 1e9)
    }

    /// Takes the next frame's worth for the tick at `now`.
    public mutating func pop(now: Instant) -> Output {
        switch state {
        case .idle:
            return .nothing
        case .priming(let until):
            guard now >= until else { return .nothing }
            state = .playing
        case .playing:
            break
        }
        guard highest >= next else {
            if now - lastArrival >= configuration.silenceTimeout {
                state = .idle
                return .nothing
            }
            // Underrun: hold our place (the delay grows by a frame) rather
            // than declare a packet lost that may only be late.
            counters.underruns += 1
            return .conceal
        }
        if highest - next + 1 > Int64(targetPackets + 2), entry(next) != nil {
            // More delay than the jitter asks for: skip the oldest frame.
            counters.latencyDrops += 1
            release(next)
            next += 1
        }
        let index = Int(next & mask)
        if entry(next) != nil {
            next += 1
            // Handed out shared: the slot's storage is unique again once the
            // mixer has decoded it, and takes a later packet in place.
            slots[index].played = true
            let payload = slots[index].payload
            return slots[index].voiced ? .packet(payload) : .quiet(payload)
        }
        counters.lost += 1
        next += 1
        if let successor = entry(next), successor.hasLBRR {
            counters.fecRecovered += 1
            return .fec(successor.payload)
        }
        return .conceal
    }

    /// Drops everything held and forgets the stream (no listener needs it any more).
    public mutating func reset() {
        let kept = counters
        self = OpusJitterBuffer(configuration: configuration)
        counters = kept
    }
}
