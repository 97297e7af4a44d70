import Wire

/// The path's state as the delay-based detector sees it.
public enum BandwidthUsage: Sendable, Equatable {
    /// Queues are steady.
    case normal
    /// Queues are growing: the sender is above the bottleneck's rate.
    case overusing
    /// Queues are draining.
    case underusing
}

/// Groups packets into bursts by send time and reports, for each pair of
/// consecutive groups, how much longer the second took to arrive than to be
/// sent: the one-way delay gradient that grows while a queue builds
/// (the inter-arrival filter of GCC, draft-ietf-rmcat-gcc-02 §5.2).
struct InterArrival: Sendable {
    /// Packets sent within this span of a group's first one belong to it.
    static let burstSpan = TimeSpan.milliseconds(5)

    struct Group: Sendable {
        var firstSent: Instant
        var lastSent: Instant
        var lastArrived: TimeSpan
    }

    struct Delta: Sendable {
        /// Arrival of the newer group, receiver's clock.
        var arrived: TimeSpan
        /// Arrival spacing minus send spacing, milliseconds.
        var delayVariationMilliseconds: Double
        /// Send spacing, milliseconds.
        var sendDeltaMilliseconds: Double
    }

    private var current: Group?
    private var previous: Group?

    /// Adds a received packet (in send order); returns a delta when it closes a group.
    mutating func add(sent: Instant, arrived: TimeSpan) -> Delta? {
        guard var group = current else {
            current = Group(firstSent: sent, lastSent: sent, lastArrived: arrived)
            return nil
        }
        if sent < group.firstSent { return nil }              // reordered from before this group
        if sent - group.firstSent <= Self.burstSpan {
            group.lastSent = max(group.lastSent, sent)
            group.lastArrived = max(group.lastArrived, arrived)
            current = group
            return nil
        }
        var delta: Delta?
        if let previous {
            let sendDelta = Double((group.lastSent - previous.lastSent).nanoseconds) / 1e6
            let arrivalDelta = Double((group.lastArrived - previous.lastArrived).nanoseconds) / 1e6
            delta = Delta(arrived: group.lastArrived, delayVariationMilliseconds: arrivalDelta - sendDelta,
                          sendDeltaMilliseconds: sendDelta)
        }
        previous = group
        current = Group(firstSent: sent, lastSent: sent, lastArrived: arrived)
        return delta
    }
}

/// A least-squares slope over the smoothed accumulated delay of the last
/// groups, compared against an adaptive threshold (the trendline estimator
/// and overuse detector of GCC). A rising slope means a queue is building.
struct DelayTrend: Sendable {
    static let window = 20
    static let smoothing = 0.9
    static let gain = 4.0
    /// Overuse must last this long (ms) before it is declared.
    static let overuseTime = 10.0
    static let thresholdRange = 6.0...600.0
    static let thresholdUp = 0.0087
    static let thresholdDown = 0.039

    private var points: [(x: Double, y: Double)] = []
    private var firstArrival: TimeSpan?
    private var accumulated = 0.0
    private var smoothed = 0.0
    private var deltas = 0
    private var threshold = 12.5
    private var lastThresholdUpdate: TimeSpan?
    private var overusingFor = -1.0
    private var overuseCount = 0
    private var previousTrend = 0.0
    private(set) var usage = BandwidthUsage.normal
    /// The last modified trend, for tests and diagnostics.
    private(set) var trend = 0.0

    init() { points.reserveCapacity(Self.window) }

    mutating func add(_ delta: InterArrival.Delta) -> BandwidthUsage {
        deltas = min(deltas + 1, 1000)
        accumulated += delta.delayVariationMilliseconds
        smoothed = Self.smoothing * smoothed + (1 - Self.smoothing) * accumulated
        let start = firstArrival ?? delta.arrived
        firstArrival = start
        if points.count == Self.window { points.removeFirst() }
        points.append((Double((delta.arrived - start).nanoseconds) / 1e6, smoothed))
        guard points.count == Self.window, let slope = Self.slope(points) else { return usage }
        trend = Double(min(deltas, 60)) * slope * Self.gain
        detect(sendDelta: delta.sendDeltaMilliseconds, now: delta.arrived)
        return usage
    }

    private static func slope(_ points: [(x: Double, y: Double)]) -> Double? {
        let n = Double(points.count)
        let meanX = points.reduce(0) { $0 + $1.x } / n
        let meanY = points.reduce(0) { $0 + $1.y } / n
        var numerator = 0.0
        var denominator = 0.0
        for p in points {
            numerator += (p.x - meanX) * (p.y - meanY)
            denominator += (p.x - meanX) * (p.x - meanX)
        }
        return denominator == 0 ? nil : numerator / denominator
    }

    private mutating func detect(sendDelta: Double, now: TimeSpan) {
        if trend > threshold {
            overusingFor = overusingFor < 0 ? sendDelta / 2 : overusingFor + sendDelta
            overuseCount += 1
            if overusingFor > Self.overuseTime, overuseCount > 1, trend >= previousTrend {
                overusingFor = 0
                overuseCount = 0
                usage = .overusing
            }
        } else if trend < -threshold {
            overusingFor = -1
            overuseCount = 0
            usage = .underusing
        } else {
            overusingFor = -1
            overuseCount = 0
            usage = .normal
        }
        previousTrend = trend
        adaptThreshold(now: now)
    }

    /// The threshold follows the trend slowly, so that a path whose delay
    /// naturally jitters does not read as congested, nor a competing flow
    /// starve this one (draft-ietf-rmcat-gcc-02 §5.4).
    private mutating func adaptThreshold(now: TimeSpan) {
        let last = lastThresholdUpdate ?? now
        lastThresholdUpdate = now
        let magnitude = abs(trend)
        if magnitude > threshold + 15 { return }
        let k = magnitude < threshold ? Self.thresholdDown : Self.thresholdUp
        let elapsed = min(Double((now - last).nanoseconds) / 1e6, 100)
        threshold += k * (magnitude - threshold) * elapsed
        threshold = min(max(threshold, Self.thresholdRange.lowerBound), Self.thresholdRange.upperBound)
    }
}
