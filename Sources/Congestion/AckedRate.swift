import Wire

/// The rate at which the receiver got this sender's packets, over the last
/// quarter second of arrivals: what the path really carried. Short enough to
/// follow a probe's jump before the next backoff measures against it. The delay-based
/// controller backs off relative to it, not to what it asked for.
struct AckedRate: Sendable {
    static let window = TimeSpan.milliseconds(250)

    private var arrivals: [(at: TimeSpan, size: Int)] = []
    private var head = 0
    private var bytes = 0
    private(set) var bitsPerSecond: Double?

    mutating func add(arrived: TimeSpan, size: Int) {
        arrivals.append((arrived, size))
        bytes += size
        while head < arrivals.count, arrived - arrivals[head].at > Self.window {
            bytes -= arrivals[head].size
            head += 1
        }
        if head > 256, head * 2 > arrivals.count {
            arrivals.removeFirst(head)
            head = 0
        }
        // Only once a whole window has been seen: a short span overstates bursts.
        guard let first = arrivals.first, arrived - first.at >= Self.window / 2 else { return }
        let span = min(arrived - arrivals[head].at, Self.window)
        guard span.nanoseconds > 0 else { return }
        bitsPerSecond = Double(bytes * 8) / span.seconds
    }
}

/// What a sender sent over the last quarter second, by send time, in
/// 10 ms buckets of a fixed ring: called for every packet sent, so it never
/// allocates after its creation.
struct SentRate: Sendable {
    static let bucket = TimeSpan.milliseconds(10)
    static let buckets = 25

    private var bytes: [Int]
    /// The bucket number (time / bucket) each slot of `bytes` holds.
    private var numbers: [Int64]
    private var first: Int64?

    init() {
        bytes = Array(repeating: 0, count: Self.buckets)
        numbers = Array(repeating: -1, count: Self.buckets)
    }

    mutating func add(_ size: Int, at now: Instant) {
        let number = Int64(now.nanoseconds / UInt64(Self.bucket.nanoseconds))
        if first == nil { first = number }
        let i = Int(number % Int64(Self.buckets))
        if numbers[i] != number {
            numbers[i] = number
            bytes[i] = 0
        }
        bytes[i] += size
    }

    /// Bits per second over the last quarter second; nil before half of one has passed.
    func bitsPerSecond(now: Instant) -> Double? {
        let number = Int64(now.nanoseconds / UInt64(Self.bucket.nanoseconds))
        guard let first, number - first >= Int64(Self.buckets / 2) else { return nil }
        var total = 0
        for i in 0..<Self.buckets where numbers[i] > number - Int64(Self.buckets) && numbers[i] <= number { total += bytes[i] }
        let span = Double(min(number - first + 1, Int64(Self.buckets))) * Self.bucket.seconds
        return Double(total * 8) / span
    }
}
