/// Carries a `MediaProbe` inside a valid Opus packet, in Opus padding
/// (RFC 6716 §3.2.5), which every decoder skips. The audio stays real Opus:
/// a mixer that decodes it hears the tone, and the probe is never played.
///
/// A code 0 packet (one frame: TOC, then the frame) becomes a code 3 packet
/// with one frame: TOC with c = 3, the frame-count byte with p = 1 and M = 1,
/// one padding-length byte, the frame, and the padding (the probe).
public enum OpusProbeCarrier {
    /// Errors for packets the carrier does not handle.
    public enum CarrierError: Error, Equatable {
        /// The packet is empty.
        case empty
        /// Only code 0 (single-frame) packets are converted; libopus emits them for 20 ms frames.
        case notCodeZero(code: UInt8)
    }

    /// The code 3 packet holding `frame`'s single Opus frame and `probe` as padding.
    public static func wrap(_ packet: [UInt8], probe: MediaProbe) throws(CarrierError) -> [UInt8] {
        guard let toc = packet.first else { throw .empty }
        guard toc & 0x03 == 0 else { throw .notCodeZero(code: toc & 0x03) }
        var out: [UInt8] = []
        out.reserveCapacity(packet.count + 3 + MediaProbe.length)
        out.append(toc | 0x03)
        // §3.2.5 frame count byte: v (bit 7) = 0 CBR, p (bit 6) = 1 padding, M = 1 frame.
        out.append(0x40 | 0x01)
        // Padding length < 255 fits in one byte.
        out.append(UInt8(MediaProbe.length))
        out.append(contentsOf: packet.dropFirst())
        probe.write(into: &out)
        return out
    }

    /// The probe in the padding of a packet that `wrap` made, or nil.
    public static func probe(in payload: [UInt8], range: Range<Int>) -> MediaProbe? {
        guard range.count >= 3 + MediaProbe.length, range.upperBound <= payload.count else { return nil }
        let toc = payload[range.lowerBound]
        let countByte = payload[range.lowerBound + 1]
        guard toc & 0x03 == 0x03, countByte & 0x40 != 0,
              payload[range.lowerBound + 2] == UInt8(MediaProbe.length) else { return nil }
        return MediaProbe(payload, at: range.upperBound - MediaProbe.length)
    }
}
