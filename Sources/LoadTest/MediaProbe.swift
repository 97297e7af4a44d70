import Wire

/// What every load-test packet carries inside its payload, so a receiver
/// knows where it came from and when, even though the SFU rewrites the SSRC,
/// sequence number and timestamp of every forwarded packet.
///
/// Layout (18 bytes, big-endian): magic `0x43 0x6F` ("Co"), origin
/// participant index (32 bits), probe sequence number per origin and kind
/// (32 bits, never wraps within a run), send time (64 bits, nanoseconds of
/// the harness's monotonic clock). Latency is receive time minus send time
/// on the same clock, so no clock synchronisation is involved.
public struct MediaProbe: Equatable, Sendable {
    /// The two bytes that start every probe.
    public static let magic: (UInt8, UInt8) = (0x43, 0x6F)
    /// Encoded length in bytes.
    public static let length = 18

    /// Index of the sending participant in the run (0-based, unique per process).
    public var origin: UInt32
    /// Per origin and kind, counting every packet the sender produced (dropped or not).
    public var sequence: UInt32
    /// The sender's monotonic clock when it produced the packet.
    public var sendTime: Instant

    /// Creates a probe.
    public init(origin: UInt32, sequence: UInt32, sendTime: Instant) {
        self.origin = origin
        self.sequence = sequence
        self.sendTime = sendTime
    }

    /// Appends the 18 encoded bytes to `out`.
    public func write(into out: inout [UInt8]) {
        out.append(Self.magic.0)
        out.append(Self.magic.1)
        out.appendUInt32(origin)
        out.appendUInt32(sequence)
        out.appendUInt64(sendTime.nanoseconds)
    }

    /// The 18 encoded bytes.
    public var bytes: [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(Self.length)
        write(into: &b)
        return b
    }

    /// Reads a probe at `offset` of `bytes`, or nil when there is none.
    public init?(_ bytes: [UInt8], at offset: Int) {
        guard offset >= 0, offset + Self.length <= bytes.count,
              bytes[offset] == Self.magic.0, bytes[offset + 1] == Self.magic.1 else { return nil }
        origin = bytes.readUInt32(at: offset + 2)
        sequence = bytes.readUInt32(at: offset + 6)
        sendTime = Instant(nanoseconds: UInt64(bytes.readUInt32(at: offset + 10)) << 32
                                      | UInt64(bytes.readUInt32(at: offset + 14)))
    }
}
