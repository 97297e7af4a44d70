import Wire

/// PLI: picture loss indication (RFC 4585 §6.3.1): PSFB, FMT 1, no FCI.
/// The forwarder sends it to a publisher when a subscriber needs a keyframe,
/// e.g. after a slot is remapped to a new source.
public struct RTCPPictureLossIndication: Equatable, Sendable, RTCPPacketWritable {
    /// The feedback message type in the PSFB header.
    public static let format: UInt8 = 1

    /// SSRC of the packet sender.
    public var senderSSRC: UInt32
    /// SSRC of the video stream that needs a keyframe.
    public var mediaSSRC: UInt32

    /// Creates a PLI.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
    }

    init(_ view: RTCPPacketView) throws(RTPError) {
        try view.require(8)
        senderSSRC = view.word(0)
        mediaSSRC = view.word(4)
    }

    /// Appends the PLI (length field 2, RFC 4585 §6.3.1).
    public func write(to buffer: inout [UInt8]) {
        let start = RTCPWriter.begin(count: Self.format, packetType: RTCPPacketType.payloadSpecificFeedback, into: &buffer)
        buffer.appendUInt32(senderSSRC)
        buffer.appendUInt32(mediaSSRC)
        RTCPWriter.finish(start: start, in: &buffer)
    }
}

/// FIR: full intra request (RFC 5104 §4.3.1): PSFB, FMT 4.
///
/// The media source field of the common header is unused (0); each FCI entry
/// names the SSRC to refresh and a command sequence number, so that a
/// retransmitted request is not acted on twice.
public struct RTCPFullIntraRequest: Equatable, Sendable, RTCPPacketWritable {
    /// The feedback message type in the PSFB header.
    public static let format: UInt8 = 4

    /// One FCI entry (8 bytes: SSRC, sequence number, 24 reserved bits).
    public struct Entry: Equatable, Sendable {
        /// The media sender asked for a decoder refresh point.
        public var ssrc: UInt32
        /// Command sequence number, incremented per new request (mod 256).
        public var sequenceNumber: UInt8

        /// Creates an entry.
        public init(ssrc: UInt32, sequenceNumber: UInt8) {
            self.ssrc = ssrc
            self.sequenceNumber = sequenceNumber
        }
    }

    /// SSRC of the packet sender.
    public var senderSSRC: UInt32
    /// The media source field of the header; RFC 5104 says to set it to 0.
    public var mediaSSRC: UInt32
    /// The requests, at least one on the wire.
    public var entries: [Entry]

    /// Creates a FIR.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32 = 0, entries: [Entry]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
    }

    init(_ view: RTCPPacketView) throws(RTPError) {
        try view.require(16)
        senderSSRC = view.word(0)
        mediaSSRC = view.word(4)
        entries = (0..<((view.body.count - 8) / 8)).map {
            Entry(ssrc: view.word(8 + 8 * $0), sequenceNumber: UInt8(view.word(12 + 8 * $0) >> 24))
        }
    }

    /// Appends the FIR. It must hold at least one entry (RFC 5104 §4.3.1.2).
    public func write(to buffer: inout [UInt8]) {
        precondition(!entries.isEmpty, "a FIR carries at least one FCI entry")
        let start = RTCPWriter.begin(count: Self.format, packetType: RTCPPacketType.payloadSpecificFeedback, into: &buffer)
        buffer.appendUInt32(senderSSRC)
        buffer.appendUInt32(mediaSSRC)
        for entry in entries {
            buffer.appendUInt32(entry.ssrc)
            buffer.appendUInt32(UInt32(entry.sequenceNumber) << 24)
        }
        RTCPWriter.finish(start: start, in: &buffer)
    }
}
