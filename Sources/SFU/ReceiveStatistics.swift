import Wire

/// Reception statistics of one incoming RTP stream, kept as RFC 3550
/// Appendix A.1 (sequence validation), A.3 (expected and lost) and A.8
/// (interarrival jitter) describe, to fill receiver report blocks.
public struct ReceiveStatistics: Sendable {
    /// RTP clock rate, to express jitter in timestamp units.
    public let clockRate: UInt32
    private var unwrapper = SequenceUnwrapper()
    private var baseSeq: Int64?
    private var maxSeq: Int64 = 0
    /// Packets received (duplicates included, as RFC 3550 counts them).
    public private(set) var received: UInt64 = 0
    private var expectedPrior: Int64 = 0
    private var receivedPrior: UInt64 = 0
    private var lastTransit: Int64?
    private var jitterQ4: Int64 = 0  // jitter * 16, per A.8
    /// Middle 32 bits of the NTP time of the last sender report (LSR).
    public private(set) var lastSenderReport: UInt32 = 0
    /// When that sender report arrived.
    public private(set) var lastSenderReportAt: Instant?
    /// That sender report's NTP and RTP times (RFC 3550 §6.4.1): one instant
    /// of the publisher's capture clock, for translating it into slots' reports.
    public private(set) var lastSenderReportTimes: (ntp: UInt64, rtp: UInt32)?

    /// Creates empty statistics for a stream with `clockRate`.
    public init(clockRate: UInt32) { self.clockRate = clockRate }

    /// Counts a packet with `sequence` and RTP `timestamp` that arrived at `now`.
    public mutating func record(sequence: UInt16, timestamp: UInt32, now: Instant) {
        let ext = unwrapper.unwrap(sequence)
        if baseSeq == nil { baseSeq = ext; maxSeq = ext }
        if ext > maxSeq { maxSeq = ext }
        received += 1
        // A.8: transit = arrival (in RTP units) - timestamp; J += (|D| - J) / 16.
        let arrival = Int64(bitPattern: (now.nanoseconds / 1_000) &* UInt64(clockRate) / 1_000_000)
        let transit = arrival &- Int64(timestamp)
        if let last = lastTransit {
            let d = Int64(Int32(truncatingIfNeeded: transit &- last)).magnitude
            jitterQ4 += Int64(d) - ((jitterQ4 + 8) >> 4)
        }
        lastTransit = transit
    }

    /// Notes a sender report from this stream's source (for LSR/DLSR).
    public mutating func recordSenderReport(ntpTimestamp: UInt64, rtpTimestamp: UInt32, now: Instant) {
        lastSenderReport = UInt32(truncatingIfNeeded: ntpTimestamp >> 16)
        lastSenderReportAt = now
        lastSenderReportTimes = (ntpTimestamp, rtpTimestamp)
    }

    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32 { UInt32(truncatingIfNeeded: jitterQ4 >> 4) }

    /// Extended highest sequence number received (cycles in the high 16 bits).
    public var extendedHighestSequence: UInt32 { UInt32(truncatingIfNeeded: maxSeq) }

    /// Packets expected so far (A.3).
    public var expected: Int64 { baseSeq.map { maxSeq - $0 + 1 } ?? 0 }

    /// Cumulative packets lost, clamped to the 24-bit signed field (A.3).
    public var cumulativeLost: Int32 {
        let lost = expected - Int64(received)
        return Int32(max(-0x80_0000, min(0x7F_FFFF, lost)))
    }

    /// The loss fraction since the last call, in 1/256 units (A.3), and
    /// resets the interval.
    public mutating func takeFractionLost() -> UInt8 {
        let expectedInterval = expected - expectedPrior
        let receivedInterval = Int64(received) - Int64(receivedPrior)
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        guard expectedInterval > 0, lostInterval > 0 else { return 0 }
        return UInt8(min(255, (lostInterval << 8) / expectedInterval))
    }

    /// Delay since the last sender report in 1/65536 s (DLSR), 0 when none.
    public func delaySinceLastSenderReport(now: Instant) -> UInt32 {
        guard let at = lastSenderReportAt else { return 0 }
        let ns = max(0, (now - at).nanoseconds)
        return UInt32(truncatingIfNeeded: ns * 65_536 / 1_000_000_000)
    }
}
