import Wire

/// REMB: receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03
/// §2.2): PSFB, FMT 15 (application layer feedback) whose FCI starts "REMB".
///
/// ```
/// SSRC of packet sender | SSRC of media source (0)
/// 'R' 'E' 'M' 'B'
/// Num SSRC (8) | BR Exp (6) | BR Mantissa (18)
/// SSRC feedback ...
/// ```
public struct RTCPReceiverEstimatedMaximumBitrate: Equatable, Sendable, RTCPPacketWritable {
    /// The feedback message type (application layer feedback) in the PSFB header.
    public static let format: UInt8 = 15
    /// The unique identifier 'R' 'E' 'M' 'B'.
    public static let identifier: UInt32 = 0x5245_4D42

    /// SSRC of the packet sender.
    public var senderSSRC: UInt32
    /// The media source field; the draft says 0.
    public var mediaSSRC: UInt32
    /// BR Exp, 0...63.
    public var exponent: UInt8
    /// BR Mantissa, 0...0x3FFFF.
    public var mantissa: UInt32
    /// The streams the estimate applies to, at most 255.
    public var ssrcs: [UInt32]

    /// The estimate in bits per second, mantissa · 2^exponent (saturating).
    public var bitrate: UInt64 {
        let m = UInt64(mantissa & 0x3FFFF)
        guard m != 0 else { return 0 }
        let e = UInt64(exponent & 0x3F)
        return e > UInt64(m.leadingZeroBitCount) ? UInt64.max : m << e
    }

    /// Creates a REMB for `bitrate` bits per second, rounded down to 18
    /// significant bits.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32 = 0, bitrate: UInt64, ssrcs: [UInt32]) {
        var m = bitrate
        var e: UInt8 = 0
        while m > 0x3FFFF {
            m >>= 1
            e += 1
        }
        self.init(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, exponent: e, mantissa: UInt32(m), ssrcs: ssrcs)
    }

    /// Creates a REMB from its wire fields.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32 = 0, exponent: UInt8, mantissa: UInt32, ssrcs: [UInt32]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.exponent = exponent & 0x3F
        self.mantissa = mantissa & 0x3FFFF
        self.ssrcs = ssrcs
    }

    /// True when a PSFB FMT 15 body carries the 'REMB' identifier.
    static func matches(_ view: RTCPPacketView) -> Bool {
        view.body.count >= 12 && view.word(8) == identifier
    }

    init(_ view: RTCPPacketView) throws(RTPError) {
        try view.require(16)
        senderSSRC = view.word(0)
        mediaSSRC = view.word(4)
        let word = view.word(12)
        let count = Int(word >> 24)
        exponent = UInt8((word >> 18) & 0x3F)
        mantissa = word & 0x3FFFF
        try view.require(16 + 4 * count)
        ssrcs = (0..<count).map { view.word(16 + 4 * $0) }
    }

    /// Appends the REMB. More than 255 SSRCs is a caller bug.
    public func write(to buffer: inout [UInt8]) {
        precondition(ssrcs.count <= 255, "at most 255 SSRCs per REMB")
        let start = RTCPWriter.begin(count: Self.format, packetType: RTCPPacketType.payloadSpecificFeedback, into: &buffer)
        buffer.appendUInt32(senderSSRC)
        buffer.appendUInt32(mediaSSRC)
        buffer.appendUInt32(Self.identifier)
        buffer.appendUInt32(UInt32(ssrcs.count) << 24 | UInt32(exponent & 0x3F) << 18 | (mantissa & 0x3FFFF))
        for ssrc in ssrcs { buffer.appendUInt32(ssrc) }
        RTCPWriter.finish(start: start, in: &buffer)
    }
}
