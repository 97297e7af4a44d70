import RTP
import Wire

/// The receiving side of transport-wide congestion control
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01): records when each
/// transport-wide sequence number arrived and turns the record into feedback
/// at a fixed interval, so that the sender's estimator can see the queue grow
/// on the path before packets are lost.
///
/// Sans-IO: the engine calls `record` for every packet that carried the
/// extension and `feedback(now:)` when `nextFeedback` is due. Memory is one
/// fixed ring of arrival times, allocated once.
public struct TransportFeedbackRecorder: Sendable {
    /// How often feedback is sent while packets arrive (the draft leaves it to
    /// the receiver; Chrome sends every 50-100 ms).
    public static let interval = TimeSpan.milliseconds(50)
    /// Statuses per feedback packet at most, so that one feedback stays well
    /// under the path MTU (worst case two bytes of delta plus a chunk share each).
    public static let maximumStatusesPerFeedback = 400
    /// Sequence numbers remembered; a jump further ahead restarts the record.
    static let capacity = 1 << 12

    private var arrivals: [UInt64]                 // ring: nanoseconds + 1, 0 = not received
    private var unwrapper = SequenceUnwrapper()
    /// First sequence number not yet reported.
    private var nextToReport: Int64?
    /// Highest sequence number received.
    private var highest: Int64 = -1
    private var feedbackCount: UInt8 = 0
    private var lastFeedback: Instant?
    /// When the next feedback is due, nil while nothing waits to be reported.
    public private(set) var nextFeedback: Instant?

    /// Packets recorded, and those ignored because they came after their
    /// sequence number was already reported (reordered beyond one interval or duplicated).
    public private(set) var recorded = 0
    public private(set) var late = 0

    /// Creates an empty record.
    public init() { arrivals = Array(repeating: 0, count: Self.capacity) }

    /// Records that transport-wide sequence number `sequenceNumber` arrived at `now`.
    public mutating func record(_ sequenceNumber: UInt16, at now: Instant) {
        let seq = unwrapper.unwrap(sequenceNumber)
        guard let start = nextToReport else {
            nextToReport = seq
            store(seq, now)
            return
        }
        if seq < start {
            late += 1
            return
        }
        if seq - start >= Int64(Self.capacity) {
            // Far ahead (a sender restart or a huge loss burst): report from here on.
            clear(from: start, through: highest)
            nextToReport = seq
            highest = -1
        }
        store(seq, now)
    }

    private mutating func store(_ seq: Int64, _ now: Instant) {
        let slot = Int(seq & Int64(Self.capacity - 1))
        if arrivals[slot] != 0 {
            late += 1     // a duplicate
            return
        }
        arrivals[slot] = now.nanoseconds &+ 1
        recorded += 1
        if seq > highest { highest = seq }
        // One interval after the last feedback (not after this arrival), so
        // that feedback sent on arrivals keeps to the interval.
        if nextFeedback == nil { nextFeedback = max(now, (lastFeedback ?? now) + Self.interval) }
    }

    private mutating func clear(from start: Int64, through end: Int64) {
        guard end >= start else { return }
        for seq in start...end { arrivals[Int(seq & Int64(Self.capacity - 1))] = 0 }
    }

    /// The feedback packets that report everything received since the last
    /// call (usually one; several when more than `maximumStatusesPerFeedback`
    /// sequence numbers or a gap too long for one delta wait). Lost packets in
    /// between are reported as not received; the next feedback is due one
    /// interval later.
    public mutating func feedback(now: Instant, senderSSRC: UInt32, mediaSSRC: UInt32) -> [RTCPTransportWideFeedback] {
        nextFeedback = nil
        lastFeedback = now
        guard var seq = nextToReport, highest >= seq else { return [] }
        var packets: [RTCPTransportWideFeedback] = []
        while seq <= highest {
            // The first received packet's arrival sets the reference time;
            // losses before it are reported too, with no delta.
            var first = seq
            while first <= highest, arrivals[slot(first)] == 0 { first += 1 }
            guard first <= highest else { break }
            // A loss burst longer than half a feedback is reported only in its
            // last half, so that the feedback still reaches a received packet.
            let longestLeadingLoss = Int64(Self.maximumStatusesPerFeedback / 2)
            if first - seq > longestLeadingLoss { seq = first - longestLeadingLoss }
            let base = seq
            let firstArrival = arrivals[slot(first)] &- 1
            let reference = Int64(firstArrival / 64_000_000)          // 64 ms units
            var previousTicks = reference * 256                       // 250 µs units
            var results: [RTCPTransportWideFeedback.PacketResult] = []
            while seq <= highest, results.count < Self.maximumStatusesPerFeedback {
                let arrival = arrivals[slot(seq)]
                if arrival == 0 {
                    results.append(.init(sequenceNumber: UInt16(truncatingIfNeeded: seq), status: .notReceived, receiveDelta: 0))
                } else {
                    let ticks = Int64((arrival &- 1) / 250_000)
                    let delta = ticks - previousTicks
                    guard (-32768...32767).contains(delta) else { break }   // the next feedback takes it
                    results.append(.init(sequenceNumber: UInt16(truncatingIfNeeded: seq),
                                         status: (0...255).contains(delta) ? .receivedSmallDelta : .receivedLargeOrNegativeDelta,
                                         receiveDelta: Int32(delta)))
                    previousTicks = ticks
                }
                arrivals[slot(seq)] = 0
                seq += 1
            }
            // Trailing losses wait for the next feedback, which may still see them arrive.
            while let last = results.last, !last.received { results.removeLast(); seq -= 1 }
            packets.append(RTCPTransportWideFeedback(
                senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, baseSequenceNumber: UInt16(truncatingIfNeeded: base),
                referenceTime: Int32(truncatingIfNeeded: reference & 0xFF_FFFF), feedbackPacketCount: feedbackCount,
                packets: results))
            feedbackCount &+= 1
        }
        nextToReport = seq
        return packets
    }

    private func slot(_ seq: Int64) -> Int { Int(seq & Int64(Self.capacity - 1)) }
}
