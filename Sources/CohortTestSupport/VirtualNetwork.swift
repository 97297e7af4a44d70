import Wire

/// A datagram network between named endpoints with seeded loss, duplication,
/// reordering and delay, driven by a manual clock.
///
/// Tests `send` datagrams into it and `deliver(upTo:)` the ones whose arrival
/// time has come; with the same seed the same packets are lost, doubled and
/// reordered every run.
public struct VirtualNetwork {
    /// A datagram in flight.
    public struct Datagram: Equatable {
        /// Sending endpoint.
        public var from: String
        /// Receiving endpoint.
        public var to: String
        /// The bytes.
        public var bytes: [UInt8]
        /// When it arrives.
        public var arrival: Instant
    }

    /// Conditions applied to every datagram.
    public struct Conditions: Sendable {
        /// Probability that a datagram is dropped.
        public var loss: Double
        /// Probability that a datagram is delivered twice.
        public var duplication: Double
        /// Probability that a datagram gets extra delay (and so overtakes or is overtaken).
        public var reordering: Double
        /// Base one-way delay.
        public var delay: TimeSpan
        /// Extra delay, up to this much, for reordered datagrams.
        public var reorderDelay: TimeSpan

        /// Creates conditions; the defaults are a perfect 10 ms link.
        public init(loss: Double = 0, duplication: Double = 0, reordering: Double = 0,
                    delay: TimeSpan = .milliseconds(10), reorderDelay: TimeSpan = .milliseconds(30)) {
            self.loss = loss
            self.duplication = duplication
            self.reordering = reordering
            self.delay = delay
            self.reorderDelay = reorderDelay
        }
    }

    /// The conditions now in force.
    public var conditions: Conditions
    /// Loss on one direction of one link, keyed `"from>to"`, instead of `conditions.loss`.
    public var linkLoss: [String: Double] = [:]
    private var random: SeededRandom
    private var inFlight: [Datagram] = []
    /// Datagrams dropped so far.
    public private(set) var dropped = 0
    /// Datagrams duplicated so far.
    public private(set) var duplicated = 0

    /// Creates a network with `conditions`, deterministic for `seed`.
    public init(conditions: Conditions = Conditions(), seed: UInt64) {
        self.conditions = conditions
        self.random = SeededRandom(seed: seed)
    }

    /// Sends `bytes` from `from` to `to` at time `now`.
    public mutating func send(_ bytes: [UInt8], from: String, to: String, now: Instant) {
        if random.chance(linkLoss["\(from)>\(to)"] ?? conditions.loss) {
            dropped += 1
            return
        }
        let copies = random.chance(conditions.duplication) ? 2 : 1
        if copies == 2 { duplicated += 1 }
        for _ in 0..<copies {
            var arrival = now + conditions.delay
            if random.chance(conditions.reordering) {
                let extra = Int64(random.next() % UInt64(max(1, conditions.reorderDelay.nanoseconds)))
                arrival = arrival + TimeSpan(nanoseconds: extra)
            }
            inFlight.append(Datagram(from: from, to: to, bytes: bytes, arrival: arrival))
        }
    }

    /// The earliest arrival time of anything in flight.
    public var nextArrival: Instant? { inFlight.map(\.arrival).min() }

    /// Removes and returns, in arrival order, every datagram that has arrived by `now`.
    public mutating func deliver(upTo now: Instant) -> [Datagram] {
        let due = inFlight.enumerated().filter { $0.element.arrival <= now }
            .sorted { ($0.element.arrival, $0.offset) < ($1.element.arrival, $1.offset) }
            .map(\.element)
        inFlight.removeAll { $0.arrival <= now }
        return due
    }

    /// Datagrams still in flight.
    public var pending: Int { inFlight.count }
}
