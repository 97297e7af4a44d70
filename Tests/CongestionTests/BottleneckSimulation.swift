import CohortTestSupport
import Congestion
import RTP
import Wire

/// A sender running `BandwidthEstimator` over a simulated path: a
/// bottleneck of a settable rate with a drop-tail queue, random loss,
/// fixed propagation delay each way, and a receiver that sends transport
/// feedback through `TransportFeedbackRecorder`. Time moves in 1 ms steps
/// of a manual clock; runs are deterministic from their seed.
struct BottleneckSimulation {
    /// The bottleneck's rate in bits per second (change it mid-run).
    var linkRate: Double
    /// Queue depth in time at the current rate; arrivals beyond it are dropped.
    var queueLimit = TimeSpan.milliseconds(150)
    /// A token bucket's depth in bytes, as `tc tbf`'s `burst`: after a quiet
    /// spell this much leaves at once, over the rate (0: none, every packet
    /// takes its serialization time).
    var bucketBytes = 0
    /// Random loss on the link, 0...1.
    var randomLoss = 0.0
    var propagation = TimeSpan.milliseconds(20)
    var packetSize = 1_200
    /// Media at this rate whatever the estimate (nil: at the estimate).
    var fixedSendRate: Double?
    /// A burst of `bytes` at once every `every` on top of the media (an
    /// SFU forwarding keyframes).
    var burst: (every: TimeSpan, bytes: Int)?
    /// Sets `wanted` from the estimate every 250 ms, as an SFU's allocation
    /// does (one step past what it chose); nil leaves `wanted` alone.
    var wantedFromTarget: ((Int) -> Int)?

    private(set) var estimator: BandwidthEstimator
    private var recorder = TransportFeedbackRecorder()
    private var random: SeededRandom
    private let clock = ManualClock()
    private var linkFreeAt = Instant.zero
    /// Tokens in the bucket, in bits, when the last packet left (`linkFreeAt`).
    private var tokens = 0.0
    private var inFlight: [(arrival: Instant, seq: UInt16)] = []
    private var feedbackInFlight: [(arrival: Instant, packet: RTCPTransportWideFeedback)] = []
    private var mediaCredit = 0.0
    private var probe: (cluster: ProbeCluster, sentBytes: Int, next: Instant, size: Int)?

    /// Target in bits per second, sampled every 100 ms, with its time in seconds.
    private(set) var samples: [(time: Double, target: Int)] = []
    private(set) var sentPackets = 0
    private(set) var droppedPackets = 0
    /// Probe clusters started, with when (seconds) and their rates.
    private(set) var probes: [(time: Double, bitrate: Int)] = []
    private let start: Instant

    init(linkRate: Double, estimator: BandwidthEstimator, seed: UInt64) {
        self.linkRate = linkRate
        self.estimator = estimator
        self.random = SeededRandom(seed: seed)
        self.start = clock.now
    }

    var elapsed: Double { (clock.now - start).seconds }

    /// Runs for `span`.
    mutating func run(for span: TimeSpan) {
        let end = clock.now + span
        while clock.now < end {
            clock.advance(by: .milliseconds(1))
            step(now: clock.now)
            if (clock.now - start).milliseconds % 100 == 0 { samples.append((elapsed, estimator.target)) }
        }
    }

    /// Mean target over [from, to) seconds of the run.
    func meanTarget(from: Double, to: Double) -> Double {
        let window = samples.filter { $0.time >= from && $0.time < to }
        return window.reduce(0) { $0 + Double($1.target) } / Double(max(window.count, 1))
    }

    private mutating func step(now: Instant) {
        if let wantedFromTarget, (now - start).milliseconds % 250 == 0 {
            estimator.wanted = wantedFromTarget(estimator.target)
        }
        // Media at the estimate.
        mediaCredit += (fixedSendRate ?? Double(min(estimator.target, estimator.wanted))) / 1_000
        while mediaCredit >= Double(packetSize * 8) {
            mediaCredit -= Double(packetSize * 8)
            transmit(size: packetSize, cluster: nil, now: now)
        }
        if let burst, (now - start).milliseconds % burst.every.milliseconds == 0 {
            for _ in 0..<(burst.bytes / packetSize) { transmit(size: packetSize, cluster: nil, now: now) }
        }
        // Probes on top, paced at their own rate.
        if probe == nil, let cluster = estimator.probe(now: now) {
            let size = min(packetSize, max(cluster.bytes / cluster.minimumPackets, 100))
            probe = (cluster, 0, now, size)
            probes.append(((now - start).seconds, cluster.bitrate))
        }
        while var current = probe, current.next <= now {
            transmit(size: current.size, cluster: current.cluster.id, now: current.next)
            current.sentBytes += current.size
            current.next = current.next + .microseconds(Int64(Double(current.size * 8) / Double(current.cluster.bitrate) * 1e6))
            probe = current.sentBytes >= current.cluster.bytes ? nil : current
        }
        // Deliveries to the receiver, feedback back to the sender.
        while let first = inFlight.first, first.arrival <= now {
            inFlight.removeFirst()
            recorder.record(first.seq, at: first.arrival)
        }
        if let due = recorder.nextFeedback, due <= now {
            for packet in recorder.feedback(now: now, senderSSRC: 1, mediaSSRC: 0) {
                // Through the wire format, as the real receiver's would come.
                guard case .transportWideFeedback(let parsed)? = try? RTCPCompound.parse(RTCPCompound.build([packet])).first
                else { fatalError("feedback did not parse") }
                feedbackInFlight.append((now + propagation, parsed))
            }
        }
        while let first = feedbackInFlight.first, first.arrival <= now {
            feedbackInFlight.removeFirst()
            estimator.receive(first.packet, now: now)
        }
    }

    private mutating func transmit(size: Int, cluster: Int?, now: Instant) {
        let seq = estimator.send(size: size, at: now, probeCluster: cluster)
        sentPackets += 1
        if random.chance(randomLoss) {
            droppedPackets += 1
            return
        }
        let startService = max(now, linkFreeAt)
        let bits = Double(size * 8)
        // The bucket fills at the link's rate while the link is idle; a
        // packet leaves once it holds the packet's bits (without a bucket,
        // after its serialization time).
        let level = min(Double(bucketBytes * 8), tokens + linkRate * (startService - linkFreeAt).seconds)
        let serialization = TimeSpan(nanoseconds: Int64(max(0, bits - level) / linkRate * 1e9))
        if startService - now > queueLimit {
            droppedPackets += 1
            return
        }
        linkFreeAt = startService + serialization
        tokens = max(0, level - bits)
        inFlight.append((linkFreeAt + propagation, seq))
    }
}
