/// What the mixer needs to know about an Opus packet without decoding it:
/// its framing (RFC 6716 §3.1–3.2), its length in samples, and whether it
/// carries in-band FEC (LBRR) for the frame before it.
public struct OpusPacketInfo: Equatable, Sendable {
    /// The coding mode from the TOC configuration (RFC 6716 §3.1, Table 2).
    public enum Mode: Equatable, Sendable {
        /// SILK only (configurations 0–11).
        case silk
        /// SILK low band plus CELT high band (configurations 12–15).
        case hybrid
        /// CELT only (configurations 16–31).
        case celt
    }

    /// The coding mode.
    public let mode: Mode
    /// True when the TOC's s bit says stereo.
    public let isStereo: Bool
    /// Samples per channel at 48 kHz in one frame.
    public let samplesPerFrame: Int
    /// Frames in the packet.
    public let frameCount: Int
    /// Where the first frame's compressed data lies in the packet.
    public let firstFrame: Range<Int>

    /// Samples per channel at 48 kHz in the whole packet.
    public var samples: Int { samplesPerFrame * frameCount }

    /// Parses the TOC byte and frame lengths, checking RFC 6716 §3.4's
    /// requirements so that a malformed packet never reaches the decoder's
    /// buffers unannounced.
    public init(parsing packet: [UInt8]) throws(MixingError) {
        // By index, not `packet.first`: that generic accessor allocates in a debug build.
        guard !packet.isEmpty else { throw .emptyPayload }
        let toc = packet[0]
        let config = Int(toc >> 3)
        switch config {
        case 0..<12:
            mode = .silk
            // 10, 20, 40, 60 ms (no array literal: that would allocate per packet).
            switch config & 3 {
            case 0: samplesPerFrame = 480
            case 1: samplesPerFrame = 960
            case 2: samplesPerFrame = 1_920
            default: samplesPerFrame = 2_880
            }
        case 12..<16:
            mode = .hybrid
            samplesPerFrame = config & 1 == 0 ? 480 : 960
        default:
            mode = .celt
            samplesPerFrame = 120 << (config & 3)  // 2.5, 5, 10, 20 ms
        }
        isStereo = toc & 0x04 != 0
        let n = packet.count
        switch toc & 0x03 {
        case 0:  // one frame (§3.2.2)
            frameCount = 1
            firstFrame = 1..<n
        case 1:  // two frames of equal size (§3.2.3, R3)
            guard (n - 1) % 2 == 0 else { throw .malformedPacket(reason: "code 1 with an odd payload length") }
            frameCount = 2
            firstFrame = 1..<(1 + (n - 1) / 2)
        case 2:  // two frames, the first one's length coded (§3.2.4, R4)
            guard n >= 2 else { throw .malformedPacket(reason: "code 2 without a frame length") }
            let (length, used) = try Self.frameLength(packet, at: 1)
            guard length <= n - 1 - used else { throw .malformedPacket(reason: "code 2 frame length past the end") }
            frameCount = 2
            firstFrame = (1 + used)..<(1 + used + length)
        default:  // an arbitrary number of frames (§3.2.5, R5–R7)
            guard n >= 2 else { throw .malformedPacket(reason: "code 3 without a frame count byte") }
            let count = Int(packet[1] & 0x3F)
            guard count >= 1 else { throw .malformedPacket(reason: "code 3 with zero frames") }
            guard count * samplesPerFrame <= 5_760 else { throw .packetTooLong }
            let isVBR = packet[1] & 0x80 != 0
            var offset = 2
            var padding = 0
            if packet[1] & 0x40 != 0 {
                // Padding length: each 255 adds 254 and continues (§3.2.5).
                while true {
                    guard offset < n else { throw .malformedPacket(reason: "code 3 padding length past the end") }
                    let b = Int(packet[offset]); offset += 1
                    padding += b == 255 ? 254 : b
                    if b != 255 { break }
                }
            }
            let end = n - padding
            guard end >= offset else { throw .malformedPacket(reason: "code 3 padding longer than the packet") }
            frameCount = count
            if isVBR {
                var lengths: [Int] = []
                for _ in 0..<(count - 1) {
                    let (length, used) = try Self.frameLength(packet, at: offset, end: end)
                    offset += used
                    lengths.append(length)
                }
                let total = lengths.reduce(0, +)
                guard total <= end - offset else { throw .malformedPacket(reason: "code 3 VBR lengths past the end") }
                let first = lengths.first ?? (end - offset)
                firstFrame = offset..<(offset + first)
            } else {
                guard (end - offset) % count == 0 else { throw .malformedPacket(reason: "code 3 CBR payload not divisible by the frame count") }
                let each = (end - offset) / count
                firstFrame = offset..<(offset + each)
            }
        }
        guard firstFrame.count <= 1_275 else { throw .malformedPacket(reason: "frame longer than 1275 bytes") }
    }

    /// A frame length in one or two bytes (RFC 6716 §3.2.1).
    private static func frameLength(_ p: [UInt8], at i: Int, end: Int? = nil) throws(MixingError) -> (Int, Int) {
        let limit = end ?? p.count
        guard i < limit else { throw .malformedPacket(reason: "frame length past the end") }
        let b0 = Int(p[i])
        if b0 < 252 { return (b0, 1) }
        guard i + 1 < limit else { throw .malformedPacket(reason: "two-byte frame length past the end") }
        return (Int(p[i + 1]) * 4 + b0, 2)
    }

    /// True when the first frame carries LBRR (in-band FEC) data for the
    /// previous packet. The SILK header (RFC 6716 §4.2.3) starts each
    /// channel with one VAD flag per 20 ms SILK frame and then the LBRR
    /// flag, all coded with probability one half, so at the start of the
    /// range coder they are the leading bits of the frame's first byte.
    /// CELT-only packets never carry LBRR.
    public func hasLBRR(in packet: [UInt8]) -> Bool {
        guard mode != .celt, firstFrame.count > 1 else { return false }
        let silkFrames = max(1, samplesPerFrame / 960)
        let first = packet[firstFrame.lowerBound]
        let channels = isStereo ? 2 : 1
        for channel in 0..<channels {
            let bit = (channel + 1) * (silkFrames + 1) - 1
            if first & (0x80 >> UInt8(bit)) != 0 { return true }
        }
        return false
    }
}
