import RTP
import Wire

/// Estimates how many bits per second one transport can carry toward its
/// receiver, from transport-wide feedback on what it sent: the delay-based
/// controller (inter-arrival groups → trendline → overuse detector → AIMD),
/// bounded by the loss-based controller, with probes to find room quickly.
/// This is the sender-side estimation of GCC (draft-ietf-rmcat-gcc-02), used
/// by Cohort for each subscriber's downlink.
///
/// Sans-IO and single-threaded: the engine calls `send` for every packet it
/// puts on this transport (stamping the returned sequence number),
/// `receive(_:now:)` for every transport feedback from the receiver, and
/// `probe(now:)` when it may send padding.
public struct BandwidthEstimator: Sendable {
    /// Rates in bits per second.
    public struct Configuration: Sendable {
        /// The rate assumed before any feedback.
        public var initial: Int
        /// Never estimate below this (audio must always fit).
        public var minimum: Int
        /// Never estimate above this.
        public var maximum: Int
        /// How long after the first feedback the estimate is taken as found
        /// (`isSettled`): the start-up probes have come back by then.
        public var settleTime: TimeSpan
        /// How long a probe lasts at its rate: a sender that can pace only as
        /// often as it gets to send (an SFU, between forwarded packets) needs
        /// longer probes than a pacer with its own timer.
        public var probeDuration: TimeSpan

        /// Creates a configuration.
        public init(initial: Int = 300_000, minimum: Int = 50_000, maximum: Int = 20_000_000,
                    settleTime: TimeSpan = .seconds(2), probeDuration: TimeSpan = .milliseconds(15)) {
            self.initial = initial
            self.minimum = minimum
            self.maximum = maximum
            self.settleTime = settleTime
            self.probeDuration = probeDuration
        }
    }

    private var history = SendHistory()
    private var interArrival = InterArrival()
    private var trend = DelayTrend()
    private var rateControl: RateControl
    private var acked = AckedRate()
    /// What this sender sent over the last quarter second (by send time).
    private var sentRate = SentRate()
    private var loss: LossBound
    private var probing: Probing
    private var recent = RecentOutcomes()
    private let configuration: Configuration

    /// What the sender would like to send, e.g. the top layers of every slot
    /// a subscriber sees; probing stops there.
    public var wanted: Int
    /// The most the sender could use (every slot's top layer, with room),
    /// when more than `wanted`: a probe chain that found `wanted` carried
    /// goes on doubling up to this (`Probing.measured`). Nil: `wanted`.
    public var useful: Int?

    /// The delay detector's current reading.
    public var usage: BandwidthUsage { trend.usage }
    /// The rate the receiver got, over the last quarter second of feedback.
    public var ackedBitrate: Int? { acked.bitsPerSecond.map { Int($0) } }
    /// The loss fraction over the last second of feedback.
    public var lossFraction: Double { loss.lossFraction }
    /// Whether the path loses more than a tenth of what is sent: it is full
    /// now, not dipping (`RateControl.lossyFraction`).
    public var isLossy: Bool { loss.lossFraction > RateControl.lossyFraction }
    /// Bytes sent and not yet reported received.
    public var bytesInFlight: Int { history.bytesInFlight }

    /// Creates an estimator.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let range = Double(configuration.minimum)...Double(configuration.maximum)
        rateControl = RateControl(initial: Double(configuration.initial), range: range)
        loss = LossBound(maximum: Double(configuration.maximum))
        probing = Probing(duration: configuration.probeDuration)
        wanted = configuration.maximum
    }

    /// The estimate: what the sender may send now, in bits per second.
    public var target: Int {
        Int(min(max(min(rateControl.bitrate, loss.bitrate), Double(configuration.minimum)), Double(configuration.maximum)))
    }

    /// The round-trip time to the receiver, when RTCP knows it: it paces the
    /// additive increase.
    public mutating func setRoundTrip(_ roundTrip: TimeSpan) { rateControl.roundTrip = roundTrip }

    /// Notes a packet of `size` bytes sent at `now`; returns its transport-wide
    /// sequence number.
    public mutating func send(size: Int, at now: Instant, probeCluster: Int? = nil) -> UInt16 {
        if let probeCluster { probing.sent(cluster: probeCluster, at: now) }
        sentRate.add(size, at: now)
        return history.send(size: size, at: now, probeCluster: probeCluster)
    }

    /// A probe the sender should send now, if any.
    public mutating func probe(now: Instant) -> ProbeCluster? {
        probing.expire(now: now)
        return probing.due(target: Double(target), wanted: Double(wanted), now: now)
    }

    private var firstFeedback: Instant?
    /// Where the estimate stops growing by itself (probes still lift it),
    /// nil for no limit: the most the receiver could use, with room. An
    /// estimate far above anything sent is untested, and when the path then
    /// narrows it comes down from there (a 4 Mbit/s estimate over 1.1 Mbit/s
    /// of media took over 2 s to reach a link capped at 1 Mbit/s; audio was
    /// lost meanwhile).
    public var ceiling: Int?
    /// What the path carried when it last fell short of a probe, with
    /// `pathLimitMargin`: the estimate does not grow past it by itself
    /// (`RateControl.update(increaseLimit:)`) until a probe shows more or
    /// `pathLimitValidity` passes. Left to grow while nothing congested it
    /// (an SFU sending less than its estimate: a paused tile), the estimate
    /// of a 300 kbit/s link rose to 400-440 kbit/s between probes that had
    /// read 245-292, a tile resumed, and its keyframe cost 2 % of the audio.
    private var pathLimit: (bitrate: Double, at: Instant)?
    static let pathLimitMargin = 1.05
    /// A probe carried in full at this many times the limit: the narrow
    /// link is gone (a cap lifted).
    static let linkGrowth = 2.0
    /// How many times a probe showed the narrow link gone (`linkGrowth`):
    /// holds earned by failed tries on it no longer apply
    /// (`BandwidthAllocator.forgetHolds`).
    public private(set) var linkGrowths = 0
    /// The limit a clean probe last cleared, until a probe shows twice it.
    private var clearedLimit: Double?
    static let pathLimitValidity = TimeSpan.seconds(6)
    /// The last few probes measured, oldest first (for logs): when, the
    /// rate planned, sent and received, how long the arrivals took and
    /// their longest wait, and the increase limit after it.
    public private(set) var recentProbes: [ProbeRecord] = []
    static let recentProbesKept = 6
    /// Where the increase stops now, if a probe found the path short of it (for logs).
    public var increaseLimit: Int? { pathLimit.map { Int($0.bitrate) } }

    /// Whether the estimate has had `settleTime` of feedback: before that it
    /// is the initial guess, which nothing should be paused for.
    public func isSettled(now: Instant) -> Bool {
        firstFeedback.map { now - $0 >= configuration.settleTime } ?? false
    }

    /// Takes one transport feedback packet from the receiver.
    public mutating func receive(_ feedback: RTCPTransportWideFeedback, now: Instant) {
        if firstFeedback == nil { firstFeedback = now }
        var usage = trend.usage
        var probeResult: Double?
        for outcome in history.outcomes(of: feedback) {
            loss.add(received: outcome.arrived != nil)
            recent.add(outcome)
            if outcome.probeCluster != nil, let span = probing.reported(outcome) {
                let reading = recent.reading(over: span)
                let result = reading.result
                if reading.received < Probing.continueRatio * reading.asked {
                    // The path, not the sender, fell short of the probe:
                    // it carries about what arrived.
                    // The lower of this and a limit still valid: a reading
                    // is a few packets, and on a busy receiver one came back
                    // at 409 kbit/s on a 300 kbit/s link.
                    var limit = reading.received * Self.pathLimitMargin
                    if let previous = pathLimit, now - previous.at <= Self.pathLimitValidity {
                        limit = min(limit, previous.bitrate)
                    }
                    pathLimit = (limit, now)
                    clearedLimit = nil
                    // And the rate comes down to it: a lower probe of the
                    // chain read high (400 kbit/s on that link) and lifted
                    // it, or the delay-based rate is above the estimate (the
                    // loss bound holding it down) and recovering there would
                    // pass the limit. The allocation's 2 s memory rides out
                    // one low reading on a clear path.
                    rateControl.cap(at: limit)
                } else if reading.received >= Probing.carriedRatio * reading.sent {
                    // Carried: everything sent meanwhile arrived, not just
                    // the probe's own rate (`ProbeReading.asked`).
                    // The chain that follows may show the link grown: count it once.
                    if let limit = pathLimit { clearedLimit = limit.bitrate }
                    pathLimit = nil
                    if let cleared = clearedLimit, result >= Self.linkGrowth * cleared {
                        linkGrowths += 1
                        clearedLimit = nil
                    }
                } else if let limit = pathLimit {
                    // A probe read at 70-90 % of what was sent keeps the
                    // limit as it was (and valid from now), and lifts the
                    // estimate no higher: a 30 ms probe on a narrow link is
                    // a few packets, and one more or less in the window (a
                    // 300 kbit/s link read 400 of 498, then 478 of 582 once
                    // the limit had expired) lifted the estimate, resumed a
                    // tile, and lost audio.
                    pathLimit = (limit.bitrate, now)
                }
                if recentProbes.count == Self.recentProbesKept { recentProbes.removeFirst() }
                recentProbes.append(ProbeRecord(at: now, bitrate: span.cluster.bitrate, sent: Int(reading.sent),
                                                received: Int(reading.received), limit: pathLimit.map { Int($0.bitrate) },
                                                span: span.arrived.upperBound - span.arrived.lowerBound,
                                                largestGap: span.largestGap))
                probing.measured(result, sent: reading.sent, for: span.cluster, wanted: Double(wanted),
                                 useful: Double(useful ?? wanted), now: now)
                probeResult = max(probeResult ?? 0, min(result, pathLimit?.bitrate ?? result))
            }
            guard let arrived = outcome.arrived else { continue }
            acked.add(arrived: arrived, size: outcome.size)
            if let delta = interArrival.add(sent: outcome.sent, arrived: arrived) {
                usage = trend.add(delta)
            }
        }
        if let probeResult, probeResult > min(rateControl.bitrate, loss.bitrate), usage != .overusing {
            rateControl.set(max(probeResult, rateControl.bitrate), now: now)
            // Over the loss bound too, unless the loss itself says otherwise.
            if loss.lossFraction < 0.1 { loss.raise(to: probeResult) }
        }
        if let limit = pathLimit, now - limit.at > Self.pathLimitValidity { pathLimit = nil }
        probing.narrowPathLimit = pathLimit?.bitrate
        rateControl.update(usage, acked: acked.bitsPerSecond, sent: sentRate.bitsPerSecond(now: now),
                           lossy: isLossy, increaseLimit: pathLimit?.bitrate,
                           ceiling: ceiling.map(Double.init), now: now)
        loss.update(target: rateControl.bitrate, acked: acked.bitsPerSecond, now: now)
    }
}

/// The last second of reported packets, media and probes alike: a probe
/// measures what the path carried while it ran, all traffic included, so
/// that media sharing the bottleneck does not hide capacity.
struct RecentOutcomes: Sendable {
    static let kept = TimeSpan.seconds(1)
    private var outcomes: [PacketOutcome] = []
    private var head = 0

    mutating func add(_ outcome: PacketOutcome) {
        outcomes.append(outcome)
        while head < outcomes.count, outcome.sent - outcomes[head].sent > Self.kept { head += 1 }
        if head > 512, head * 2 > outcomes.count {
            outcomes.removeFirst(head)
            head = 0
        }
    }

    /// The rate sent during the probe's send span and the rate received
    /// during its arrival span (each excluding the packet that opens the
    /// span, whose bytes went before it); its `result` is the smaller, and
    /// never more than the probe's own rate: a path shows at most what was
    /// asked of it.
    ///
    /// The arrival span is at least as long as the send span. A narrow
    /// link stretches arrivals, never squeezes them; arrivals closer
    /// together than they were sent are a queue or jitter letting a clump
    /// go at once (a relay with 10 ms of jitter did: one clump read as
    /// 9 Mbit/s on a 1 Mbit/s link, and the estimate jumped there).
    func reading(over span: Probing.Span) -> ProbeReading {
        let sendSpan = span.sent.upperBound - span.sent.lowerBound
        let arrivedEnd = max(span.arrived.upperBound, span.arrived.lowerBound + sendSpan)
        var sent = 0
        var received = 0
        for outcome in outcomes[head...] {
            if outcome.sent > span.sent.lowerBound, outcome.sent <= span.sent.upperBound { sent += outcome.size }
            if let arrived = outcome.arrived, arrived > span.arrived.lowerBound, arrived <= arrivedEnd {
                received += outcome.size
            }
        }
        let sendRate = Double(sent * 8) / sendSpan.seconds
        let receiveRate = Double(received * 8) / (arrivedEnd - span.arrived.lowerBound).seconds
        return ProbeReading(sent: sendRate, received: receiveRate, bitrate: Double(span.cluster.bitrate))
    }
}

/// One measured probe, for logs.
public struct ProbeRecord: Sendable, CustomStringConvertible {
    public var at: Instant
    public var bitrate: Int
    public var sent: Int
    public var received: Int
    /// The increase limit after it, bits per second.
    public var limit: Int?
    /// How long its packets took to arrive, first to last.
    public var span: TimeSpan
    /// The longest wait between two of its arrivals.
    public var largestGap: TimeSpan

    public var description: String {
        "\(at.milliseconds % 1_000_000) ms \(bitrate / 1_000)/\(sent / 1_000)->\(received / 1_000)"
            + " over \(span.milliseconds) ms, gap \(largestGap.milliseconds)" + (limit.map { " lim \($0 / 1_000)" } ?? "")
    }
}

/// What a probe showed: the rate sent during its send span, the rate
/// received during its arrival span, and the rate it was planned at.
struct ProbeReading: Sendable {
    var sent: Double
    var received: Double
    var bitrate: Double
    /// What the probe asked of the path: its planned rate, or less when the
    /// sender fell behind it. A path fell short of a probe when it carried
    /// under 70 % of this, but carried it only when 90 % of everything sent
    /// meanwhile arrived: media forwarded beside a probe goes through the
    /// same link (a 605 kbit/s probe sent with 823 kbit/s in all on a
    /// 600 kbit/s link received 606, read as carried, cleared the increase
    /// limit, and tiles resumed into 6 % loss). Short readings stay judged
    /// against the probe alone: against everything sent, clean paths read
    /// short 12 more times in 443 probes of the simulcast and downlink
    /// tests (a media burst in a 30 ms span), each a false limit.
    var asked: Double { min(sent, bitrate) }
    /// What the probe shows the path carries: never more than was asked.
    var result: Double { min(received, asked) }
}
