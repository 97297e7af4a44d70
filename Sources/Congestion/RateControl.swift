#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Wire

/// Additive-increase, multiplicative-decrease on the delay detector's signal
/// (draft-ietf-rmcat-gcc-02 §5.5): grow while queues are steady, hold while
/// they drain, and on overuse fall to 85 % of what the path delivered.
struct RateControl: Sendable {
    static let backoff = 0.9
    /// A sender whose sent rate is under this share of the estimate is
    /// application-limited...
    static let appLimitedShare = 0.5
    /// ...and an overuse then costs at most this much of the estimate.
    static let appLimitedBackoff = 0.85
    static let multiplicativeIncreasePerSecond = 1.08
    /// The shortest time between two decreases, so that one queue build-up
    /// (reported over several feedbacks) costs one backoff.
    static let decreaseInterval = TimeSpan.milliseconds(200)

    enum State: Sendable { case hold, increase, decrease }

    private(set) var bitrate: Double
    private let range: ClosedRange<Double>
    private(set) var state = State.increase
    private var lastUpdate: Instant?
    private var lastDecrease: Instant?
    /// The rate the path delivered at past backoffs, in kbit/s (running mean
    /// and variance normalized by the mean): near it the increase becomes additive.
    private var capacity: (mean: Double, variance: Double)?
    var roundTrip = TimeSpan.milliseconds(100)

    init(initial: Double, range: ClosedRange<Double>) {
        self.bitrate = min(max(initial, range.lowerBound), range.upperBound)
        self.range = range
    }

    /// Sets the rate outright (a probe measured the path above it).
    mutating func set(_ value: Double, now: Instant) {
        bitrate = min(max(value, range.lowerBound), range.upperBound)
        lastUpdate = now
        probed = (value, now)
    }

    /// Lowers the rate to `value` if it is above it.
    mutating func cap(at value: Double) {
        bitrate = min(bitrate, max(value, range.lowerBound))
    }

    /// The last probe's measurement: for a second it counts as delivered,
    /// since the acked rate still averages arrivals from before the jump.
    private var probed: (rate: Double, at: Instant)?
    static let probeValidity = TimeSpan.seconds(1)

    /// Loss above this share means the path is full, not that a burst
    /// passed: the application-limited cut does not apply.
    static let lossyFraction = 0.1

    /// `acked`: what the receiver got over the last quarter second; `sent`:
    /// what the sender sent over the same span; `lossy`: the path loses more
    /// than `lossyFraction`.
    /// `increaseLimit`: the increase stops there (a probe found the path
    /// carries about that much); a rate already above it is left to the
    /// decrease. `ceiling`: the rate is never above it (the start-up probes,
    /// before the receiver's needs are known, may have left it far higher).
    mutating func update(_ usage: BandwidthUsage, acked: Double?, sent: Double? = nil, lossy: Bool = false,
                         increaseLimit: Double? = nil, ceiling: Double? = nil, now: Instant) {
        switch usage {
        case .overusing: state = .decrease
        case .underusing: state = .hold
        case .normal: if state == .hold || state == .decrease { state = .increase }
        }
        let elapsed = min((now - (lastUpdate ?? now)).seconds, 1)
        lastUpdate = now
        if let acked, let bounds = capacityBounds, acked > bounds.upperBound {
            self.capacity = nil       // the path grew: search multiplicatively again
        }
        switch state {
        case .hold:
            break
        case .increase:
            var next: Double
            if let bounds = capacityBounds, bitrate > bounds.lowerBound {
                // Near the known capacity: about one packet per response time.
                let responseTime = roundTrip.seconds + 0.1
                next = bitrate + max(1_000, 1_200 * 8 / responseTime) * elapsed
            } else {
                next = bitrate * pow(Self.multiplicativeIncreasePerSecond, elapsed)
            }
            // Never run far ahead of what the sender actually manages to send.
            if let acked { next = min(next, max(bitrate, 1.5 * acked + 10_000)) }
            if let increaseLimit { next = min(next, max(bitrate, increaseLimit)) }
            bitrate = min(next, range.upperBound)
        case .decrease:
            if let lastDecrease, now - lastDecrease < Self.decreaseInterval { break }
            var delivered = acked ?? bitrate
            if let probed, now - probed.at < Self.probeValidity { delivered = max(delivered, probed.rate) }
            var next = Self.backoff * delivered
            // Application-limited (an SFU subscriber whose video the allocation
            // paused sends its audio and little else): a queue seen now came
            // from a burst, such as the keyframe of a slot that resumed, not
            // from the average rate, and 90 % of the audio alone would pause
            // every slot for good (measured in CI: a 3 %-loss, uncapped path,
            // estimates 142 kbit/s, video frozen 9.9 % of the window). Cut
            // the estimate by 15 % instead: repeated overuse still brings it
            // down within about a second, where the sent rate stops being
            // under half of it. Not while the path loses over a tenth: then it
            // is full (a link capped below an estimate that had run ahead of
            // the sender: cut 15 % at a time, a 3.1 Mbit/s estimate took
            // seconds to reach a 1 Mbit/s link, and audio was lost meanwhile).
            if let sent, sent < Self.appLimitedShare * bitrate, !lossy {
                next = max(next, Self.appLimitedBackoff * bitrate)
            }
            if next < bitrate { bitrate = max(next, range.lowerBound) }
            lastDecrease = now
            if let bounds = capacityBounds, delivered < bounds.lowerBound { capacity = nil }   // the path shrank
            updateCapacity(delivered)
            state = .hold
        }
        if let ceiling { bitrate = max(min(bitrate, ceiling), range.lowerBound) }
    }

    /// Three deviations either side of the capacity, in bit/s.
    private var capacityBounds: ClosedRange<Double>? {
        guard let capacity else { return nil }
        let deviation = (capacity.variance * capacity.mean).squareRoot()
        return max(0, capacity.mean - 3 * deviation) * 1_000...(capacity.mean + 3 * deviation) * 1_000
    }

    private mutating func updateCapacity(_ sample: Double) {
        let kbps = sample / 1_000
        guard var capacity else {
            capacity = (kbps, 0.4)
            return
        }
        let alpha = 0.05
        capacity.mean = (1 - alpha) * capacity.mean + alpha * kbps
        let error = capacity.mean - kbps
        capacity.variance = min(max((1 - alpha) * capacity.variance + alpha * error * error / max(capacity.mean, 1), 0.4), 2.5)
        self.capacity = capacity
    }
}

