import Wire

/// What one receiver saw of one origin's audio or video stream, by probe
/// sequence number (the SFU rewrites RTP sequence numbers per slot, so the
/// probe's own counter is the ground truth).
///
/// Loss is counted between the first and the highest probe sequence
/// received: a stream joined late, or a video slot waiting for a keyframe,
/// starts where it starts. A missing sequence that the sender itself
/// dropped (uplink injection) is counted apart from server loss.
public struct StreamReceiveStats: Sendable {
    /// The first probe sequence received.
    public private(set) var base: UInt32 = 0
    /// The highest probe sequence received.
    public private(set) var highest: UInt32 = 0
    /// The send time of the packet with the highest sequence.
    public private(set) var highestSendTime = Instant.zero
    /// Distinct packets received (including ones the receiver then dropped on purpose).
    public private(set) var received = 0
    /// Packets that arrived a second time.
    public private(set) var duplicates = 0
    /// Packets that arrived after a higher sequence number.
    public private(set) var reordered = 0
    /// Packets the receiver dropped on purpose (downlink injection).
    public private(set) var injectedDownlink = 0
    /// RFC 3550 §6.4.1 interarrival jitter, in nanoseconds.
    public private(set) var jitterNanoseconds: Double = 0

    private var started = false
    private var seen: [UInt64] = []
    private var lastTransit: Int64?

    /// Creates empty statistics.
    public init() {}

    /// Records an arrival; returns false for a duplicate (which should not be measured again).
    @discardableResult
    public mutating func record(sequence: UInt32, sendTime: Instant, arrival: Instant, injectedDrop: Bool = false) -> Bool {
        if !started {
            started = true
            base = sequence
            highest = sequence
            highestSendTime = sendTime
        }
        if sequence < base {
            // Arrived before the first one we saw: treat as reordered, keep the base.
            reordered += 1
            received += 1
            if injectedDrop { injectedDownlink += 1 }
            return true
        }
        let offset = Int(sequence - base)
        guard offset < 1 << 26 else { return false }  // absurd jump: ignore rather than allocate
        let word = offset >> 6
        if word >= seen.count { seen.append(contentsOf: repeatElement(0, count: word - seen.count + 1)) }
        let bit: UInt64 = 1 << UInt64(offset & 63)
        if seen[word] & bit != 0 {
            duplicates += 1
            return false
        }
        seen[word] |= bit
        received += 1
        if sequence < highest {
            reordered += 1
        } else {
            highest = sequence
            highestSendTime = sendTime
        }
        if injectedDrop {
            injectedDownlink += 1
            return true
        }
        // §6.4.1: J += (|D| − J) / 16 with D the change in transit time.
        let transit = Int64(bitPattern: arrival.nanoseconds &- sendTime.nanoseconds)
        if let last = lastTransit {
            let d = Double(abs(transit - last))
            jitterNanoseconds += (d - jitterNanoseconds) / 16
        }
        lastTransit = transit
        return true
    }

    /// Sequences in [base, highest] that never arrived, split into those the
    /// sender dropped on purpose (`injected(seq)` true) and the rest.
    public func missing(injected: (UInt32) -> Bool) -> (lost: Int, injected: Int) {
        guard started else { return (0, 0) }
        var lost = 0
        var inj = 0
        var s = base
        while s <= highest {
            let offset = Int(s - base)
            if seen[offset >> 6] & (1 << UInt64(offset & 63)) == 0 {
                if injected(s) { inj += 1 } else { lost += 1 }
            }
            if s == UInt32.max { break }
            s += 1
        }
        return (lost, inj)
    }

    /// Sequences the receiver expected: highest − base + 1.
    public var expected: Int { started ? Int(highest - base) + 1 : 0 }
}
