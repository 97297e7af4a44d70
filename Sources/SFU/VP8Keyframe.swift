/// Recognises the first packet of a VP8 keyframe from its RTP payload
/// (RFC 7741 §4.2 payload descriptor, §4.3 payload header), so that a slot
/// switches to a new video source only where a decoder can start.
public enum VP8Keyframe {
    /// True when `payload` (the bytes in `range` of `packet`) starts a VP8 keyframe.
    public static func isKeyframeStart(_ packet: [UInt8], payload range: Range<Int>) -> Bool {
        var i = range.lowerBound
        let end = range.upperBound
        guard i < end else { return false }
        let b0 = packet[i]
        let extended = b0 & 0x80 != 0
        let start = b0 & 0x10 != 0
        let partition = b0 & 0x07
        guard start, partition == 0 else { return false }
        i += 1
        if extended {
            guard i < end else { return false }
            let x = packet[i]
            i += 1
            if x & 0x80 != 0 {  // I: PictureID, 7 or 15 bits
                guard i < end else { return false }
                i += packet[i] & 0x80 != 0 ? 2 : 1
            }
            if x & 0x40 != 0 { i += 1 }            // L: TL0PICIDX
            if x & 0x30 != 0 { i += 1 }            // T or K: TID/KEYIDX byte
        }
        guard i < end else { return false }
        // §4.3: P bit (bit 0 of the first payload-header byte) is 0 for a keyframe.
        return packet[i] & 0x01 == 0
    }
}
