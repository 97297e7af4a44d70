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
