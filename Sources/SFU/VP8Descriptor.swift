/// The fields of a VP8 RTP payload descriptor (RFC 7741 §4.2) that a slot
/// rewrites when its source changes (another publisher, another simulcast
/// layer): the picture id (7 or 15 bits) and TL0PICIDX. A decoder that sees
/// them jump treats the frames in between as lost; rewritten to continue the
/// slot's own numbering, a switch looks like one stream to it. Parsed from
/// the received packet, written into the copy: nothing allocates.
public struct VP8Descriptor: Sendable, Equatable {
    /// Offset of the picture id from the payload's start, if present (I bit).
    public var pictureIDOffset: Int?
    /// Whether the picture id is 15 bits (M bit), else 7.
    public var longPictureID = false
    /// The picture id, if present.
    public var pictureID: UInt16 = 0
    /// Offset of TL0PICIDX from the payload's start, if present (L bit).
    public var tl0Offset: Int?
    /// TL0PICIDX, if present.
    public var tl0PicIdx: UInt8 = 0
    /// Bytes of the descriptor: where the VP8 payload header begins.
    public var length = 1

    /// Parses the descriptor at the start of `range` of `packet`; nil when
    /// the payload is too short for what its flags announce.
    public init?(_ packet: [UInt8], payload range: Range<Int>) {
        var i = range.lowerBound
        let end = range.upperBound
        guard i < end else { return nil }
        let extended = packet[i] & 0x80 != 0
        i += 1
        if extended {
            guard i < end else { return nil }
            let x = packet[i]
            i += 1
            if x & 0x80 != 0 {  // I
                guard i < end else { return nil }
                pictureIDOffset = i - range.lowerBound
                if packet[i] & 0x80 != 0 {  // M: 15 bits
                    guard i + 1 < end else { return nil }
                    longPictureID = true
                    pictureID = UInt16(packet[i] & 0x7F) << 8 | UInt16(packet[i + 1])
                    i += 2
                } else {
                    pictureID = UInt16(packet[i])
                    i += 1
                }
            }
            if x & 0x40 != 0 {  // L
                guard i < end else { return nil }
                tl0Offset = i - range.lowerBound
                tl0PicIdx = packet[i]
                i += 1
            }
            if x & 0x30 != 0 { i += 1 }  // T or K: TID/Y/KEYIDX
            guard i <= end else { return nil }
        }
        length = i - range.lowerBound
    }

    /// Writes `pictureID` (in the descriptor's own width) and `tl0PicIdx`
    /// where this descriptor has them, in `out` whose payload starts at `payload`.
    public func write(pictureID: UInt16, tl0PicIdx: UInt8, into out: UnsafeMutableRawBufferPointer, payload: Int) {
        if let at = pictureIDOffset {
            if longPictureID {
                out[payload + at] = 0x80 | UInt8(pictureID >> 8 & 0x7F)
                out[payload + at + 1] = UInt8(truncatingIfNeeded: pictureID)
            } else {
                out[payload + at] = UInt8(pictureID & 0x7F)
            }
        }
        if let at = tl0Offset { out[payload + at] = tl0PicIdx }
    }

    /// The frame width of a keyframe whose payload header starts at `at`
    /// (RFC 6386 §9.1: 3-byte frame tag, start code 9d 01 2a, then 14-bit
    /// width and height, little-endian); nil for anything else.
    public static func keyframeWidth(_ packet: [UInt8], at: Int, end: Int) -> Int? {
        guard at + 10 <= end, packet[at] & 0x01 == 0,
              packet[at + 3] == 0x9D, packet[at + 4] == 0x01, packet[at + 5] == 0x2A else { return nil }
        return Int(packet[at + 6]) | Int(packet[at + 7] & 0x3F) << 8
    }
}

/// A slot's continuation of VP8 picture ids and TL0PICIDX across its
/// sources (see `VP8Descriptor`): the first packet after a switch maps to
/// the last values sent plus one, and later ones keep that offset.
public struct VP8PictureContinuity: Sendable, Equatable {
    private var pictureOffset: UInt16 = 0
    private var tl0Offset: UInt8 = 0
    private var lastPictureID: UInt16 = 0
    private var lastTL0: UInt8 = 0
    private var started = false
    /// Set by a switch: the next packet sets the offsets.
    private var needsBase = true

    /// Creates one with nothing sent.
    public init() {}

    /// The source changed: the next packet continues the numbering.
    public mutating func rebase() { needsBase = true }

    /// The picture id and TL0PICIDX a retransmission of an earlier packet
    /// of the current source carries: the offsets as they stand, nothing
    /// noted (after a switch the offsets differ from the source's own).
    public func mapped(_ d: VP8Descriptor) -> (pictureID: UInt16, tl0PicIdx: UInt8) {
        let mask: UInt16 = d.longPictureID ? 0x7FFF : 0x7F
        return ((d.pictureID &+ pictureOffset) & mask, d.tl0PicIdx &+ tl0Offset)
    }

    /// The picture id and TL0PICIDX to send for a packet of the current source.
    public mutating func rewrite(_ d: VP8Descriptor) -> (pictureID: UInt16, tl0PicIdx: UInt8) {
        if needsBase {
            needsBase = false
            if started {
                pictureOffset = (lastPictureID &+ 1) &- d.pictureID
                tl0Offset = (lastTL0 &+ 1) &- d.tl0PicIdx
            } else {
                pictureOffset = 0
                tl0Offset = 0
            }
        }
        // Serial order in the descriptor's own width (7 or 15 bits).
        let mask: UInt16 = d.longPictureID ? 0x7FFF : 0x7F
        let picture = (d.pictureID &+ pictureOffset) & mask
        let tl0 = d.tl0PicIdx &+ tl0Offset
        // Keep the newest, so a reordered packet does not set the base back.
        if d.pictureIDOffset != nil, !started || (picture &- lastPictureID) & mask <= mask / 2 { lastPictureID = picture }
        if d.tl0Offset != nil, !started || tl0 &- lastTL0 < 0x80 { lastTL0 = tl0 }
        started = true
        return (picture, tl0)
    }
}
