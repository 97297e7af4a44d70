import Wire

/// RTCP packet type numbers (RFC 3550 §12.1, RFC 4585 §6.1).
public enum RTCPPacketType {
    /// SR, sender report.
    public static let senderReport: UInt8 = 200
    /// RR, receiver report.
    public static let receiverReport: UInt8 = 201
    /// SDES, source description.
    public static let sourceDescription: UInt8 = 202
    /// BYE, goodbye.
    public static let goodbye: UInt8 = 203
    /// APP, application-defined.
    public static let application: UInt8 = 204
    /// RTPFB, transport-layer feedback (RFC 4585 §6.2).
    public static let transportFeedback: UInt8 = 205
    /// PSFB, payload-specific feedback (RFC 4585 §6.3).
    public static let payloadSpecificFeedback: UInt8 = 206
}

/// The 4-byte header every RTCP packet starts with (RFC 3550 §6.4.1).
///
/// ```
/// |V=2|P|  RC/FMT |      PT       |             length            |
/// ```
public struct RTCPHeader: Equatable, Sendable {
    /// P: padding at the end of this packet (only the last of a compound).
    public var hasPadding: Bool
    /// RC (report count), SC (source count) or FMT (feedback type), 0...31.
    public var count: UInt8
    /// PT, one of `RTCPPacketType`.
    public var packetType: UInt8
    /// The length field: the packet's length in 32-bit words minus one.
    public var length: UInt16

    /// Creates a header.
    public init(hasPadding: Bool = false, count: UInt8, packetType: UInt8, length: UInt16) {
        self.hasPadding = hasPadding
        self.count = count
        self.packetType = packetType
        self.length = length
    }

    /// The packet's length in bytes, header and padding included.
    @inlinable public var packetLength: Int { (Int(length) + 1) * 4 }
}

/// Where one RTCP packet lies in a compound, for the typed parsers.
struct RTCPPacketView {
    let bytes: [UInt8]
    let header: RTCPHeader
    /// Offset of the packet's header in `bytes`.
    let start: Int
    /// The bytes after the 4-byte header, padding removed.
    let body: Range<Int>

    /// Throws unless the body holds at least `needed` bytes.
    func require(_ needed: Int) throws(RTPError) {
        guard body.count >= needed else {
            throw .rtcpPacketTooShort(offset: start, packetType: header.packetType,
                                      needed: needed, available: body.count)
        }
    }

    /// The 32-bit word at `offset` bytes into the body (caller checked bounds).
    func word(_ offset: Int) -> UInt32 { bytes.readUInt32(at: body.lowerBound + offset) }
}

/// Writes RTCP headers and fixes up their length fields.
enum RTCPWriter {
    /// Appends a header with a placeholder length; returns its offset.
    static func begin(count: UInt8, packetType: UInt8, into buffer: inout [UInt8]) -> Int {
        precondition(count <= 31, "RTCP count field holds 0...31")
        let start = buffer.count
        buffer.append(2 << 6 | count)
        buffer.append(packetType)
        buffer.appendUInt16(0)
        return start
    }

    /// Sets the length field of the packet that starts at `start` (RFC 3550
    /// §6.4.1: 32-bit words minus one, header included).
    static func finish(start: Int, in buffer: inout [UInt8]) {
        let bytes = buffer.count - start
        precondition(bytes % 4 == 0 && bytes / 4 - 1 <= Int(UInt16.max), "RTCP packet must be whole words and fit the length field")
        buffer.writeUInt16(UInt16(bytes / 4 - 1), at: start + 2)
    }

    /// Zero-pads to a 32-bit boundary measured from `start`.
    static func align(from start: Int, in buffer: inout [UInt8]) {
        while (buffer.count - start) % 4 != 0 { buffer.append(0) }
    }
}

/// An RTCP packet that can be serialized into a compound packet.
public protocol RTCPPacketWritable: Sendable {
    /// Appends this packet, header included, to `buffer`.
    func write(to buffer: inout [UInt8])
}
