/// Synthetic video at a target bitrate and frame rate, split into RTP
/// payloads the SFU treats like VP8 (RFC 7741).
///
/// Each payload starts with a one-byte VP8 payload descriptor (§4.2, X = 0):
/// 0x10 (S = 1, partition 0) on the first packet of a frame, 0x00 on the
/// others; then the first byte of the VP8 payload header (§4.3), whose P bit
/// is 0 for a keyframe and 1 for an interframe (continuation packets carry
/// 0x00 there, which is just frame data). Then the `MediaProbe`, then filler.
public struct VideoPacketizer: Sendable {
    /// Largest RTP payload produced, in bytes.
    public static let maximumPayload = 1_200
    /// Bytes before the probe: payload descriptor and payload-header byte.
    public static let prefixLength = 2
    /// RTP clock rate of video (RFC 7741 §4.1).
    public static let clockRate: UInt32 = 90_000

    /// Target bitrate in bit/s.
    public let bitrate: Int
    /// Frames per second.
    public let framesPerSecond: Int

    /// Creates a packetizer for `kbps` and `fps`.
    public init(kbps: Int, fps: Int) {
        precondition(kbps > 0 && fps > 0, "validated by Scenario")
        bitrate = kbps * 1_000
        framesPerSecond = fps
    }

    /// Bytes of an interframe: the bitrate spread evenly over the frames.
    public var interframeBytes: Int { max(Self.prefixLength + MediaProbe.length, bitrate / 8 / framesPerSecond) }
    /// Bytes of a keyframe: three interframes, as real encoders roughly do.
    public var keyframeBytes: Int { interframeBytes * 3 }
    /// RTP timestamp increment per frame.
    public var timestampStep: UInt32 { Self.clockRate / UInt32(framesPerSecond) }

    /// The payload sizes of one frame: each at most `maximumPayload`, at
    /// least large enough for the prefix and the probe.
    public func packetSizes(keyframe: Bool) -> [Int] {
        let total = keyframe ? keyframeBytes : interframeBytes
        let count = (total + Self.maximumPayload - 1) / Self.maximumPayload
        let base = total / count
        let extra = total % count
        return (0..<count).map { max(Self.prefixLength + MediaProbe.length, base + ($0 < extra ? 1 : 0)) }
    }

    /// The payload of packet `index` of a frame, `size` bytes long, with `probe`.
    public static func payload(size: Int, index: Int, keyframe: Bool, probe: MediaProbe) -> [UInt8] {
        var p: [UInt8] = []
        p.reserveCapacity(size)
        if index == 0 {
            p.append(0x10)
            p.append(keyframe ? 0x00 : 0x01)
        } else {
            p.append(0x00)
            p.append(0x00)
        }
        probe.write(into: &p)
        if size > p.count { p.append(contentsOf: repeatElement(0xA5, count: size - p.count)) }
        return p
    }

    /// The probe in a payload this type made, or nil.
    public static func probe(in packet: [UInt8], payload range: Range<Int>) -> MediaProbe? {
        guard range.count >= prefixLength + MediaProbe.length else { return nil }
        return MediaProbe(packet, at: range.lowerBound + prefixLength)
    }

    /// Whether the payload starts a keyframe (same rule as the SFU's check).
    public static func isKeyframeStart(_ packet: [UInt8], payload range: Range<Int>) -> Bool {
        range.count >= 2 && packet[range.lowerBound] & 0x10 != 0 && packet[range.lowerBound] & 0x07 == 0
            && packet[range.lowerBound + 1] & 0x01 == 0
    }
}
