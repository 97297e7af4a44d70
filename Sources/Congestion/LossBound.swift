import Wire

/// The loss-based controller of GCC (draft-ietf-rmcat-gcc-02 §6), once per
/// second of feedback: above 10 % loss the bound falls by half the loss,
/// below 2 % it grows 8 %, in between it holds. Random loss of a few percent
/// on a wireless link therefore costs nothing; a full queue's drops do.
struct LossBound: Sendable {
    static let period = TimeSpan.seconds(1)

    private(set) var bitrate: Double
    private let maximum: Double
    private var lost = 0
    private var reported = 0
    private var periodStart: Instant?
    /// The loss fraction of the last whole period.
    private(set) var lossFraction = 0.0

    init(maximum: Double) {
        self.bitrate = maximum
        self.maximum = maximum
    }

    mutating func add(received: Bool) {
        reported += 1
        if !received { lost += 1 }
    }

    /// Closes the period when it is over; `target` is the estimator's current
    /// rate, `acked` what the receiver got over the last quarter second.
    mutating func update(target: Double, acked: Double?, now: Instant) {
        let start = periodStart ?? now
        periodStart = start
        guard now - start >= Self.period, reported >= 20 else { return }
        lossFraction = Double(lost) / Double(reported)
        if lossFraction > 0.10 {
            // Never below 85 % of what got through: when the loss is a full
            // queue's (a sender above the path, which an SFU is until it drops
            // a stream), what got through is the path's rate, and compounding
            // the cut every second would drive the estimate to its floor
            // (measured: 75 % loss on a 600 kbit/s downlink, estimate 50 kbit/s).
            bitrate = max(min(bitrate, target) * (1 - 0.5 * lossFraction), 0.85 * (acked ?? 0))
        } else if lossFraction < 0.02 {
            bitrate = min(max(bitrate, target) * 1.08, maximum)
        }
        lost = 0
        reported = 0
        periodStart = now
    }

    /// A probe got `rate` through without overuse: the bound need not climb
    /// there at 8 % a second (after a loss episode it would take half a minute).
    mutating func raise(to rate: Double) {
        bitrate = min(max(bitrate, rate), maximum)
    }
}
