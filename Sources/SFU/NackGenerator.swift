import Wire

/// Upstream loss detection for one published video stream: which sequence
/// numbers to ask the publisher to retransmit with a Generic NACK
/// (RFC 4585 §6.2.1), and when.
///
/// `received(sequence:now:)` is told every packet (primary, or an original
/// unwrapped from RTX); a jump in sequence numbers marks each number in the
/// gap missing. `poll(now:rtt:)` then returns the numbers due:
///
/// - a newly missing number after `reorderDelay` (default 10 ms), so that
///   a packet merely reordered by the network (usually by well under a
///   millisecond inside a burst) fills its hole without costing a NACK;
/// - a retry every `max(rtt, minRetryInterval)` (20 ms floor): one round
///   trip is the earliest the retransmission could arrive;
/// - at most `maxTries` NACKs per number, and none for a number missing for
///   longer than `maxAge` (the publisher's history, like our `PacketCache`,
///   no longer holds it, and the subscribers have asked for a keyframe).
///
/// At most `maxMissing` numbers are tracked. A gap larger than that, or a
/// jump back by more than `restartDistance`, is a restart of the publisher's
/// numbering: the list is cleared and `needsKeyframe` is set, because a
/// keyframe repairs faster than hundreds of retransmissions. A gap that only
/// overflows the list gives up on the oldest numbers and sets
/// `needsKeyframe` too. Memory is `maxMissing` entries, reserved at init.
///
/// Sequence numbers are extended to 64 bits (`SequenceUnwrapper`), so the
/// wrap from 65535 to 0 is an ordinary step. A value type owned by its
/// `PublishedStream`, used on the session's loop; it never reads a clock.
public struct NackGenerator {
    /// What `received(sequence:now:)` made of a packet.
    public enum Received: Equatable, Sendable {
        /// Newer than every packet before it; any gap before it is now tracked.
        case new
        /// Filled a tracked hole; `nacked` tells whether it had been NACKed
        /// (a retransmission) or only reordered.
        case filled(nacked: Bool)
        /// A duplicate, or older than anything tracked (given up on, or from
        /// before the first packet): nothing changed.
        case duplicateOrTooOld
        /// A jump that restarts the numbering: the missing list was cleared
        /// and `needsKeyframe` set.
        case restarted
    }

    /// One missing sequence number.
    private struct Missing {
        /// The extended sequence number.
        var sequence: Int64
        /// When the gap was seen; `maxAge` counts from here.
        var detected: Instant
        /// When to NACK next (or, after the last try, to give up).
        var due: Instant
        /// NACKs sent so far.
        var tries: Int
    }

    /// The round-trip time assumed while none has been measured.
    public static let defaultRTT = TimeSpan.milliseconds(100)
    /// The shortest spacing of retries, whatever the measured RTT.
    public static let minRetryInterval = TimeSpan.milliseconds(20)

    /// Wait before the first NACK of a newly missing number (reordering allowance).
    public let reorderDelay: TimeSpan
    /// NACKs per sequence number before giving up.
    public let maxTries: Int
    /// A number missing for longer than this is given up.
    public let maxAge: TimeSpan
    /// Most numbers tracked at once; a larger gap is a restart.
    public let maxMissing: Int
    /// A packet further behind the newest than this restarts the numbering.
    public let restartDistance: Int

    /// Extends sequence numbers across wrap-around; new after a restart.
    private var unwrapper = SequenceUnwrapper()
    /// The newest extended sequence number seen; nil before the first packet.
    private var highest: Int64?
    /// Ascending by sequence (gaps are found in order).
    private var missing: [Missing]

    /// Set when a restart or an overflow means that a keyframe is the
    /// better repair; the engine asks its `KeyframeRequester` and calls
    /// `takeKeyframeNeed()`.
    public private(set) var needsKeyframe = false

    /// Sequence numbers put into NACKs, retries included.
    public private(set) var nacked = 0
    /// NACKed numbers that arrived afterwards.
    public private(set) var recovered = 0
    /// Numbers given up on: out of tries, too old, pushed out by an
    /// overflow, or cleared by a restart.
    public private(set) var givenUp = 0
    /// Restarts of the numbering seen.
    public private(set) var restarts = 0

    /// Creates a generator that has seen no packet.
    public init(reorderDelay: TimeSpan = .milliseconds(10), maxTries: Int = 10,
                maxAge: TimeSpan = .seconds(1), maxMissing: Int = 500, restartDistance: Int = 3_000) {
        precondition(maxTries > 0 && maxMissing > 0 && restartDistance > 0, "limits must be positive")
        self.reorderDelay = reorderDelay
        self.maxTries = maxTries
        self.maxAge = maxAge
        self.maxMissing = maxMissing
        self.restartDistance = restartDistance
        missing = []
        missing.reserveCapacity(maxMissing)
    }

    /// Sequence numbers currently tracked as missing.
    public var missingCount: Int { missing.count }

    /// When `poll` has something to do next, or nil while nothing is missing.
    /// O(missing), which is small except during a burst loss.
    public var nextDeadline: Instant? {
        var earliest: Instant?
        for entry in missing where earliest.map({ entry.due < $0 }) ?? true { earliest = entry.due }
        return earliest
    }

    /// Records the arrival of `sequence` at `now`. Constant time except
    /// when it fills a hole (a binary search) or opens a gap (one entry per
    /// missing number).
    @discardableResult
    public mutating func received(sequence: UInt16, now: Instant) -> Received {
        let value = unwrapper.unwrap(sequence)
        guard let newest = highest else {
            highest = value
            return .new
        }
        if value > newest {
            let gap = value - newest - 1
            if gap > Int64(maxMissing) { return restart(at: sequence) }
            if gap > 0 {
                let overflow = missing.count + Int(gap) - maxMissing
                if overflow > 0 {
                    missing.removeFirst(overflow)
                    givenUp += overflow
                    needsKeyframe = true
                }
                for lost in (newest + 1)..<value {
                    missing.append(Missing(sequence: lost, detected: now, due: now + reorderDelay, tries: 0))
                }
            }
            highest = value
            return .new
        }
        if newest - value > Int64(restartDistance) { return restart(at: sequence) }
        guard let index = index(of: value) else { return .duplicateOrTooOld }
        let wasNacked = missing[index].tries > 0
        missing.remove(at: index)
        if wasNacked { recovered += 1 }
        return .filled(nacked: wasNacked)
    }

    /// Appends to `out` the sequence numbers to NACK at `now`, oldest first
    /// (the order `RTCPNack(lostSequenceNumbers:)` packs best), and drops
    /// those out of tries or older than `maxAge`. `rtt` is the measured
    /// round-trip time to the publisher, nil when unknown (`defaultRTT`).
    public mutating func poll(now: Instant, rtt: TimeSpan?, into out: inout [UInt16]) {
        let interval = Swift.max(rtt ?? Self.defaultRTT, Self.minRetryInterval)
        var kept = 0
        for i in missing.indices {
            var entry = missing[i]
            if now - entry.detected > maxAge || (entry.tries >= maxTries && now >= entry.due) {
                givenUp += 1
                continue
            }
            if entry.tries < maxTries && now >= entry.due {
                out.append(UInt16(truncatingIfNeeded: entry.sequence))
                entry.tries += 1
                entry.due = now + interval
                nacked += 1
            }
            missing[kept] = entry
            kept += 1
        }
        missing.removeLast(missing.count - kept)
    }

    /// The sequence numbers to NACK at `now`; see `poll(now:rtt:into:)`,
    /// which lets the caller reuse one array.
    public mutating func poll(now: Instant, rtt: TimeSpan?) -> [UInt16] {
        var out: [UInt16] = []
        poll(now: now, rtt: rtt, into: &out)
        return out
    }

    /// Returns `needsKeyframe` and clears it, for the engine that acts on it.
    public mutating func takeKeyframeNeed() -> Bool {
        defer { needsKeyframe = false }
        return needsKeyframe
    }

    /// Starts over from `sequence`: the old numbering is gone, so is every
    /// hole in it.
    private mutating func restart(at sequence: UInt16) -> Received {
        givenUp += missing.count
        missing.removeAll(keepingCapacity: true)
        unwrapper = SequenceUnwrapper()
        highest = unwrapper.unwrap(sequence)
        needsKeyframe = true
        restarts += 1
        return .restarted
    }

    /// Binary search for `sequence` in the ascending missing list.
    private func index(of sequence: Int64) -> Int? {
        var low = 0, high = missing.count
        while low < high {
            let mid = (low + high) / 2
            if missing[mid].sequence < sequence { low = mid + 1 } else { high = mid }
        }
        return low < missing.count && missing[low].sequence == sequence ? low : nil
    }
}
