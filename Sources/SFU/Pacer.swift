import Wire

/// A subscriber's send pacer (issue 12, "audio first"; docs/BANDWIDTH.md).
///
/// What the server sends one subscriber leaves at most at `rate`, at or a
/// little over the estimate its downlink allocation shared, so that a keyframe (a
/// resume, a layer switch) crosses a narrow link at the link's rate instead
/// of overfilling its queue in one burst, audio with it. Audio, mixed audio,
/// retransmissions and probe padding are never held but count against the
/// budget (`noteSent`: a probe goes over the estimate by design, and the
/// video after it waits), and probes go only while nothing is held;
/// RTCP is not counted.
///
/// A video copy that would leave early is held, in clear and without its
/// transport-wide number, which it gets with its encryption when it is
/// released: the subscriber's transport feedback then never reads a held
/// packet as lost, and its send times are the real ones. Held copies wait
/// in a ring of `capacity` fixed slots, allocated at the first hold and
/// reused after. One that would wait longer than `maximumDelay`, or find
/// the ring full, is dropped: its sequence number was given, so the
/// subscriber sees a gap it can NACK, as on a lossy link.
///
/// Until the allocation first sets `rate`, nothing is held. Runs on the
/// engine's loop; owned by the `Subscriber`.
struct Pacer {
    /// A held copy: where it lies in its ring slot, and where its
    /// transport-wide number goes (nil: it has none).
    struct Held {
        var length = 0
        var sequenceAt: Int?
        var isScreen = false
    }

    /// The pacing rate over the allocation's estimate, on a path not known
    /// to be narrow (`rate(estimate:narrowPath:)`).
    static let factor = 1.25

    /// The pacing rate for an allocation's estimate: `factor` over it, or
    /// the estimate itself on a path a probe found narrow (the estimator's
    /// increase limit), where the estimate is what the link was measured to
    /// carry and anything faster waits in the link's queue, audio behind it.
    static func rate(estimate: Int, narrowPath: Bool) -> Int {
        narrowPath ? estimate : Int(Double(estimate) * factor)
    }

    /// What may leave at once after a quiet spell: 20 ms at the rate (a
    /// small frame is not held at all).
    static let burst = TimeSpan.milliseconds(20)
    /// A copy that would be held longer is dropped: video later than this
    /// is worse than a gap the subscriber repairs.
    static let maximumDelay = TimeSpan.milliseconds(500)
    /// Ring slots, each `slotBytes`: any forwarded RTP copy, the
    /// transport-wide element added, fits (a larger one is dropped).
    static let capacity = 64
    static let slotBytes = 1_536

    /// Bits per second; nil: not pacing (no allocation yet).
    var rate: Int?
    /// When the next byte may leave: the budget is spent up to here.
    private(set) var nextSendAt: Instant = .zero
    private var storage: [UInt8] = []
    private var ring: [Held] = []
    private var head = 0
    /// Held copies, and their bytes.
    private(set) var count = 0
    private(set) var heldBytes = 0

    /// True when nothing is held.
    var isEmpty: Bool { count == 0 }

    /// Whether a video copy sent at `now` must be held: something already
    /// waits (order is kept), or the budget is spent.
    func mustHold(now: Instant) -> Bool {
        rate != nil && (count > 0 || nextSendAt > now)
    }

    /// When the first held copy may leave; nil when none is held.
    var nextRelease: Instant? { count > 0 ? nextSendAt : nil }

    /// Counts `bytes` sent at `now` against the budget.
    mutating func noteSent(_ bytes: Int, now: Instant) {
        guard let rate, rate > 0 else { return }
        let burst = UInt64(Self.burst.nanoseconds)
        let from = max(nextSendAt, Instant(nanoseconds: now.nanoseconds >= burst ? now.nanoseconds - burst : 0))
        nextSendAt = from + TimeSpan(nanoseconds: Int64(bytes) * 8_000_000_000 / Int64(rate))
    }

    /// Holds a copy that `write` builds in place in a ring slot (`slotBytes`
    /// bytes; it returns the copy's length and where its transport-wide
    /// number goes, or nil to hold nothing). False when the copy cannot be
    /// held: the ring is full, it would wait past `maximumDelay`, or it is
    /// larger than a slot (the caller drops it).
    mutating func hold(capacity needed: Int, isScreen: Bool, now: Instant,
                       _ write: (UnsafeMutableRawBufferPointer) -> (length: Int, sequenceAt: Int?)?) -> Bool {
        guard let rate, rate > 0, needed <= Self.slotBytes, count < Self.capacity else { return false }
        let wait = (nextSendAt > now ? nextSendAt - now : TimeSpan(nanoseconds: 0)) + TimeSpan(nanoseconds: Int64(heldBytes) * 8_000_000_000 / Int64(rate))
        guard wait <= Self.maximumDelay else { return false }
        if ring.isEmpty {
            storage = [UInt8](repeating: 0, count: Self.capacity * Self.slotBytes)
            ring = [Held](repeating: Held(), count: Self.capacity)
        }
        let index = (head + count) % Self.capacity
        let written = storage.withUnsafeMutableBytes { all in
            write(UnsafeMutableRawBufferPointer(rebasing: all[(index * Self.slotBytes)..<((index + 1) * Self.slotBytes)]))
        }
        guard let written else { return false }
        precondition(written.length <= Self.slotBytes, "held copy longer than its slot")
        ring[index] = Held(length: written.length, sequenceAt: written.sequenceAt, isScreen: isScreen)
        count += 1
        heldBytes += written.length
        return true
    }

    /// Takes the first held copy if it may leave at `now` (nil otherwise):
    /// `body` gets its bytes, to number, encrypt and queue, and returns the
    /// bytes sent (nil: none, the copy is dropped), which count against the budget.
    mutating func releaseFirst(now: Instant, _ body: (UnsafeMutableRawBufferPointer, Held) -> Int?) -> Bool {
        guard count > 0, rate == nil || nextSendAt <= now else { return false }
        let held = ring[head]
        let sent = storage.withUnsafeMutableBytes { all in
            body(UnsafeMutableRawBufferPointer(rebasing: all[(head * Self.slotBytes)..<(head * Self.slotBytes + held.length)]), held)
        }
        head = (head + 1) % Self.capacity
        count -= 1
        heldBytes -= held.length
        if let sent { noteSent(sent, now: now) }
        return true
    }

    /// Forgets every held copy (the subscriber's transport is gone).
    mutating func removeAll() {
        head = 0
        count = 0
        heldBytes = 0
    }
}
