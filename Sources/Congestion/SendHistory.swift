import RTP
import Wire

/// What transport feedback says about one packet the estimator sent.
public struct PacketOutcome: Sendable, Equatable {
    /// When it was sent (sender's clock).
    public var sent: Instant
    /// When it arrived, in the receiver's clock (only differences mean
    /// anything); nil when reported lost.
    public var arrived: TimeSpan?
    /// Its size in bytes, RTP header and padding included.
    public var size: Int
    /// The probe cluster it belonged to, if any.
    public var probeCluster: Int?
}

/// The sending side's memory of what it sent under which transport-wide
/// sequence number, so that feedback can be matched to send times. A fixed
/// ring (64 KiB): feedback for a packet older than `capacity` packets is ignored.
public struct SendHistory: Sendable {
    /// Two seconds at 1 000 packets a second: feedback comes every 50-100 ms.
    static let capacity = 1 << 11

    private struct Entry: Sendable {
        var sequence: Int64 = -1
        var sent: Instant = .zero
        var size: Int32 = 0
        var probeCluster: Int32 = -1
        var reported = false
    }

    private var entries: [Entry]
    private var nextSequence: Int64 = 0
    /// The receiver's clock, unwrapped from the 24-bit reference time.
    private var lastReference: Int32?
    private var referenceBase: Int64 = 0
    /// Bytes sent that feedback has not yet reported (the data in flight).
    public private(set) var bytesInFlight = 0

    /// Creates an empty history.
    public init() { entries = Array(repeating: Entry(), count: Self.capacity) }

    /// Assigns the next transport-wide sequence number to a packet of `size`
    /// bytes sent at `now`; the caller stamps it into the packet.
    public mutating func send(size: Int, at now: Instant, probeCluster: Int? = nil) -> UInt16 {
        let seq = nextSequence
        nextSequence += 1
        let slot = Int(seq & Int64(Self.capacity - 1))
        if entries[slot].sequence >= 0, !entries[slot].reported { bytesInFlight -= Int(entries[slot].size) }
        entries[slot] = Entry(sequence: seq, sent: now, size: Int32(clamping: size),
                              probeCluster: Int32(probeCluster ?? -1), reported: false)
        bytesInFlight += size
        return UInt16(truncatingIfNeeded: seq)
    }

    /// The outcome of every packet `feedback` reports that this history still
    /// holds, in sequence order. A packet reported twice counts once: the
    /// first report wins unless it said lost and a later one says received.
    public mutating func outcomes(of feedback: RTCPTransportWideFeedback) -> [PacketOutcome] {
        let referenceMicroseconds = unwrapReference(feedback.referenceTime) * 64_000
        var arrival = referenceMicroseconds
        var results: [PacketOutcome] = []
        results.reserveCapacity(feedback.packets.count)
        for packet in feedback.packets {
            if let delta = packet.receiveDeltaMicroseconds { arrival += delta }
            let seq = unwrapSent(packet.sequenceNumber)
            let slot = Int(seq & Int64(Self.capacity - 1))
            guard entries[slot].sequence == seq else { continue }
            if entries[slot].reported { continue }
            if packet.received {
                entries[slot].reported = true
                bytesInFlight -= Int(entries[slot].size)
            }
            let entry = entries[slot]
            results.append(PacketOutcome(sent: entry.sent,
                                         arrived: packet.received ? .microseconds(arrival) : nil,
                                         size: Int(entry.size),
                                         probeCluster: entry.probeCluster >= 0 ? Int(entry.probeCluster) : nil))
        }
        return results
    }

    /// Maps a 16-bit sequence number to the nearest one sent.
    private func unwrapSent(_ seq: UInt16) -> Int64 {
        let last = nextSequence - 1
        return last + Int64(SerialNumber.distance(from: UInt16(truncatingIfNeeded: last), to: seq))
    }

    /// The 24-bit reference time extended across its wrap (every 12 days).
    private mutating func unwrapReference(_ reference: Int32) -> Int64 {
        let value = Int64(reference) & 0xFF_FFFF
        defer { lastReference = Int32(value) }
        guard let last = lastReference else { return value + referenceBase }
        var delta = value - Int64(last)
        if delta > 0x80_0000 { delta -= 0x100_0000 } else if delta < -0x80_0000 { delta += 0x100_0000 }
        referenceBase += delta - (value - Int64(last))
        return value + referenceBase
    }
}
