import Wire

/// The header of a received RTP packet (RFC 3550 §5.1), parsed in place.
///
/// It keeps the fixed fields as values and everything of variable length
/// (CSRC list, header extension, payload) as offsets into the caller's
/// array, so parsing never copies or allocates. Methods that read those
/// parts take the same array back; pass the array the header was parsed from.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// |                           timestamp                           |
/// |           synchronization source (SSRC) identifier            |
/// |            contributing source (CSRC) identifiers             |
/// |                             ....                              |
/// ```
public struct RTPHeader: Equatable, Sendable {
    /// Length of the fixed header, before any CSRC.
    public static let fixedHeaderLength = 12

    /// P: the payload is followed by `paddingLength` bytes of padding.
    public let hasPadding: Bool
    /// X: a header extension follows the CSRC list (RFC 3550 §5.3.1).
    public let hasExtension: Bool
    /// CC: the number of CSRC identifiers (0...15).
    public let csrcCount: Int
    /// M: the marker bit (end of a video frame, start of a talkspurt).
    public internal(set) var marker: Bool
    /// PT: the payload type (0...127).
    public internal(set) var payloadType: UInt8
    /// The sequence number.
    public internal(set) var sequenceNumber: UInt16
    /// The RTP timestamp.
    public internal(set) var timestamp: UInt32
    /// The synchronization source.
    public internal(set) var ssrc: UInt32
    /// The extension's "defined by profile" field (0xBEDE for RFC 8285 one-byte,
    /// 0x100X for two-byte); 0 when there is no extension.
    public let extensionProfile: UInt16
    /// The extension data after its 4-byte header; empty when there is none.
    public let extensionRange: Range<Int>
    /// The payload, between the header and any padding.
    public let payloadRange: Range<Int>
    /// Bytes of padding after the payload, including the count octet; 0 without P.
    public let paddingLength: Int

    /// Bytes from the start of the packet to the payload.
    @inlinable public var headerLength: Int { payloadRange.lowerBound }

    /// The layout of the header extension's elements, from its profile field.
    @inlinable public var extensionForm: RTPHeaderExtensionForm? {
        hasExtension ? RTPHeaderExtensionForm(profile: extensionProfile) : nil
    }

    /// Parses and validates the header of `packet`, the whole RTP packet.
    ///
    /// Checks version 2, that the CSRC list and extension fit, that one- and
    /// two-byte extension elements stay inside the extension block, and that
    /// the padding count is at least 1 and fits after the header. Never traps.
    public init(parsing packet: [UInt8]) throws(RTPError) {
        let count = packet.count
        guard count >= Self.fixedHeaderLength else {
            throw .truncated(needed: Self.fixedHeaderLength, available: count)
        }
        let b0 = packet[0]
        guard b0 >> 6 == 2 else { throw .unsupportedVersion(b0 >> 6) }
        hasPadding = b0 & 0x20 != 0
        hasExtension = b0 & 0x10 != 0
        csrcCount = Int(b0 & 0x0F)
        let b1 = packet[1]
        marker = b1 & 0x80 != 0
        payloadType = b1 & 0x7F
        sequenceNumber = packet.readUInt16(at: 2)
        timestamp = packet.readUInt32(at: 4)
        ssrc = packet.readUInt32(at: 8)

        var offset = Self.fixedHeaderLength + 4 * csrcCount
        guard count >= offset else { throw .truncated(needed: offset, available: count) }

        if hasExtension {
            // RFC 3550 §5.3.1: 16-bit profile field, 16-bit length in words
            // (not counting this 4-byte header), then the data.
            guard count >= offset + 4 else { throw .truncated(needed: offset + 4, available: count) }
            extensionProfile = packet.readUInt16(at: offset)
            let declared = Int(packet.readUInt16(at: offset + 2)) * 4
            let start = offset + 4
            guard declared <= count - start else {
                throw .extensionLengthOverrun(declared: declared, available: count - start)
            }
            extensionRange = start..<(start + declared)
            offset = start + declared
            if let form = RTPHeaderExtensionForm(profile: extensionProfile) {
                try Self.validateElements(packet, form: form, in: extensionRange)
            }
        } else {
            extensionProfile = 0
            extensionRange = offset..<offset
        }

        var payloadEnd = count
        if hasPadding {
            // RFC 3550 §5.1: the last octet counts the padding, itself included.
            let padding = Int(packet[count - 1])
            guard padding >= 1, padding <= count - offset else {
                throw .invalidPadding(count: padding, available: count - offset)
            }
            payloadEnd = count - padding
            paddingLength = padding
        } else {
            paddingLength = 0
        }
        payloadRange = offset..<payloadEnd
    }

    /// The CSRC at `index` (0 ..< `csrcCount`), read from `packet`; nil when
    /// `index` is out of range or `packet` is shorter than this header says.
    @inlinable public func csrc(at index: Int, in packet: [UInt8]) -> UInt32? {
        guard index >= 0, index < csrcCount else { return nil }
        let offset = Self.fixedHeaderLength + 4 * index
        guard offset + 4 <= packet.count else { return nil }
        return packet.readUInt32(at: offset)
    }
}
