import Wire

/// Interarrival jitter as RFC 3550 §6.4.1 and A.8 define it: the mean
/// deviation of the difference in transit time between consecutive
/// arrivals, smoothed with gain 1/16, in 48 kHz timestamp units.
struct JitterEstimator {
    /// The estimate J, in samples at 48 kHz.
    private(set) var jitter: Double = 0
    private var last: (arrival: Int64, timestamp: UInt32)?

    /// A transit difference larger than this is a timestamp jump (a new
    /// media clock), not jitter: the estimator re-bases instead.
    static let jumpLimit: Int64 = 2 * 48_000

    /// Adds one arrival; returns false when it saw a timestamp jump and re-based.
    mutating func record(timestamp: UInt32, arrival: Instant) -> Bool {
        // Arrival in the RTP clock's units (48 kHz for Opus, RFC 7587 §4.1).
        let arrivalSamples = Int64(arrival.nanoseconds / 1_000) * 48 / 1_000
        defer { last = (arrivalSamples, timestamp) }
        guard let last else { return true }
        // D(i,j) = (Rj - Ri) - (Sj - Si), the timestamp difference taken in
        // serial order so that wrap-around is harmless.
        let d = (arrivalSamples - last.arrival) - SerialNumber.distance(from: last.timestamp, to: timestamp)
        guard abs(d) <= Self.jumpLimit else { return false }
        jitter += (Double(abs(d)) - jitter) / 16
        return true
    }

    /// Starts the estimate at `samples` when it has seen nothing yet.
    mutating func seed(_ samples: Double) {
        guard last == nil, jitter == 0 else { return }
        jitter = max(0, samples)
    }

    /// Forgets everything (after a resync).
    mutating func reset() { self = JitterEstimator() }
}
