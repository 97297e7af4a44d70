import Wire

/// One reception report block of an SR or RR (RFC 3550 §6.4.1), 24 bytes.
public struct RTCPReportBlock: Equatable, Sendable {
    /// Size of a block on the wire.
    public static let length = 24

    /// SSRC of the source this block reports on.
    public var ssrc: UInt32
    /// Fraction of packets lost since the last report, in 1/256.
    public var fractionLost: UInt8
    /// Cumulative number of packets lost, a signed 24-bit value (duplicates
    /// can make it negative).
    public var cumulativeLost: Int32
    /// Extended highest sequence number received (cycles << 16 | seq).
    public var extendedHighestSequenceNumber: UInt32
    /// Interarrival jitter, in timestamp units.
    public var jitter: UInt32
    /// LSR: middle 32 bits of the NTP timestamp of the last SR received.
    public var lastSenderReport: UInt32
    /// DLSR: delay since that SR, in 1/65536 seconds.
    public var delaySinceLastSenderReport: UInt32

    /// Creates a block.
    public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequenceNumber: UInt32,
                jitter: UInt32, lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequenceNumber = extendedHighestSequenceNumber
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    /// Reads a block at `offset`; the caller has checked that 24 bytes are there.
    init(_ bytes: [UInt8], at offset: Int) {
        ssrc = bytes.readUInt32(at: offset)
        let lossWord = bytes.readUInt32(at: offset + 4)
        fractionLost = UInt8(lossWord >> 24)
        // Sign-extend the 24-bit cumulative count.
        cumulativeLost = Int32(bitPattern: lossWord << 8) >> 8
        extendedHighestSequenceNumber = bytes.readUInt32(at: offset + 8)
        jitter = bytes.readUInt32(at: offset + 12)
        lastSenderReport = bytes.readUInt32(at: offset + 16)
        delaySinceLastSenderReport = bytes.readUInt32(at: offset + 20)
    }

    /// Appends the 24-byte block; `cumulativeLost` is clamped to 24 bits.
    func write(to buffer: inout [UInt8]) {
        let lost = max(-0x80_0000, min(0x7F_FFFF, cumulativeLost))
        buffer.appendUInt32(ssrc)
        buffer.appendUInt32(UInt32(fractionLost) << 24 | (UInt32(bitPattern: lost) & 0xFF_FFFF))
        buffer.appendUInt32(extendedHighestSequenceNumber)
        buffer.appendUInt32(jitter)
        buffer.appendUInt32(lastSenderReport)
        buffer.appendUInt32(delaySinceLastSenderReport)
    }

    /// Reads `count` blocks starting `offset` bytes into `view`'s body.
    static func readBlocks(_ view: RTCPPacketView, count: Int, from offset: Int) -> [RTCPReportBlock] {
        (0..<count).map { RTCPReportBlock(view.bytes, at: view.body.lowerBound + offset + $0 * length) }
    }
}
