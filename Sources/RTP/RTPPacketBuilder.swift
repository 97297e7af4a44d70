import Wire

/// One element to put into a one-byte header extension (RFC 8285 §4.2).
public struct RTPHeaderExtensionValue: Equatable, Sendable {
    /// The local ID, 1...14.
    public var id: UInt8
    /// The data, 1...16 bytes.
    public var data: [UInt8]

    /// Creates an element.
    public init(id: UInt8, data: [UInt8]) {
        self.id = id
        self.data = data
    }

    /// An RFC 6464 audio level element.
    public static func audioLevel(id: UInt8, _ level: RTPAudioLevel) -> RTPHeaderExtensionValue {
        RTPHeaderExtensionValue(id: id, data: [level.byte])
    }
}

/// Builds RTP packets: for tests, the load-test client and the mixer.
///
/// Set the fields, then `write(payload:into:)` appends a packet to a buffer
/// the caller reuses, or `build(payload:)` returns a new one.
public struct RTPPacketBuilder: Equatable, Sendable {
    /// M: the marker bit.
    public var marker: Bool
    /// PT, 0...127.
    public var payloadType: UInt8
    /// The sequence number.
    public var sequenceNumber: UInt16
    /// The RTP timestamp.
    public var timestamp: UInt32
    /// The synchronization source.
    public var ssrc: UInt32
    /// Contributing sources, at most 15 (a mixer lists who is in the mix).
    public var csrcs: [UInt32]
    /// One-byte header extension elements; none means no extension (X = 0).
    public var extensions: [RTPHeaderExtensionValue]
    /// Padding bytes to add, count octet included; 0 for none (P = 0).
    public var paddingLength: UInt8

    /// Creates a builder for a packet without CSRCs, extensions or padding.
    public init(payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
                marker: Bool = false, csrcs: [UInt32] = [], extensions: [RTPHeaderExtensionValue] = [],
                paddingLength: UInt8 = 0) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.extensions = extensions
        self.paddingLength = paddingLength
    }

    /// Returns a new packet carrying `payload`.
    public func build(payload: some Collection<UInt8>) throws(RTPError) -> [UInt8] {
        var out: [UInt8] = []
        try write(payload: payload, into: &out)
        return out
    }

    /// Appends a packet carrying `payload` to `buffer`.
    public func write(payload: some Collection<UInt8>, into buffer: inout [UInt8]) throws(RTPError) {
        guard payloadType <= 127 else { throw .invalidPayloadType(payloadType) }
        guard csrcs.count <= 15 else { throw .tooManyCSRCs(csrcs.count) }
        var extensionBytes = 0
        for element in extensions {
            guard (1...14).contains(element.id), (1...16).contains(element.data.count) else {
                throw .invalidExtensionElement(id: element.id, length: element.data.count)
            }
            extensionBytes += 1 + element.data.count
        }
        let extensionWords = (extensionBytes + 3) / 4

        buffer.reserveCapacity(buffer.count + 12 + 4 * csrcs.count
                               + (extensions.isEmpty ? 0 : 4 + 4 * extensionWords)
                               + payload.count + Int(paddingLength))
        var b0: UInt8 = 2 << 6 | UInt8(csrcs.count)
        if paddingLength > 0 { b0 |= 0x20 }
        if !extensions.isEmpty { b0 |= 0x10 }
        buffer.append(b0)
        buffer.append((marker ? 0x80 : 0) | payloadType)
        buffer.appendUInt16(sequenceNumber)
        buffer.appendUInt32(timestamp)
        buffer.appendUInt32(ssrc)
        for csrc in csrcs { buffer.appendUInt32(csrc) }
        if !extensions.isEmpty {
            // RFC 8285 §4.2: 0xBEDE, length in words, then ID|len-1 and data,
            // zero-padded to a 32-bit boundary.
            buffer.appendUInt16(RTPHeaderExtensionForm.oneByteProfile)
            buffer.appendUInt16(UInt16(extensionWords))
            for element in extensions {
                buffer.append(element.id << 4 | UInt8(element.data.count - 1))
                buffer.append(contentsOf: element.data)
            }
            buffer.append(contentsOf: repeatElement(0, count: extensionWords * 4 - extensionBytes))
        }
        buffer.append(contentsOf: payload)
        if paddingLength > 0 {
            buffer.append(contentsOf: repeatElement(0, count: Int(paddingLength) - 1))
            buffer.append(paddingLength)
        }
    }
}
