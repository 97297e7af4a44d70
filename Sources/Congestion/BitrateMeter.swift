import Wire

/// Bits per second over the last second, in two half-second buckets: what a
/// publisher's stream costs each subscriber who receives it. One add per
/// packet, no allocation.
public struct BitrateMeter: Sendable {
    static let bucket = TimeSpan.milliseconds(500)
    private var current = 0
    private var previous = 0
    private var bucketStart: Instant?

    /// Creates an empty meter.
    public init() {}

    /// Counts `bytes` arriving at `now`.
    public mutating func add(_ bytes: Int, now: Instant) {
        roll(now)
        current += bytes
    }

    /// The rate over the last one to one and a half seconds, bits per second.
    public mutating func bitsPerSecond(now: Instant) -> Int {
        roll(now)
        guard let bucketStart else { return 0 }
        let span = (now - bucketStart) + Self.bucket
        return span.nanoseconds > 0 ? Int(Double((current + previous) * 8) / span.seconds) : 0
    }

    private mutating func roll(_ now: Instant) {
        guard let start = bucketStart else {
            bucketStart = now
            return
        }
        let elapsed = now - start
        if elapsed >= Self.bucket * 2 {
            previous = 0
            current = 0
            bucketStart = now
        } else if elapsed >= Self.bucket {
            previous = current
            current = 0
            bucketStart = start + Self.bucket
        }
    }
}
