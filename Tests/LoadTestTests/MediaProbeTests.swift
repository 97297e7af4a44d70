import Opus
import RTP
import Wire
import XCTest
@testable import LoadTest

final class MediaProbeTests: XCTestCase {
    func testProbeLayoutIsPinned() {
        let p = MediaProbe(origin: 0x0001_0203, sequence: 7, sendTime: Instant(nanoseconds: 0x0102_0304_0506_0708))
        XCTAssertEqual(Hex.encode(p.bytes), "436f" + "00010203" + "00000007" + "0102030405060708")
        XCTAssertEqual(MediaProbe(p.bytes, at: 0), p)
        XCTAssertNil(MediaProbe(Array(p.bytes.dropLast()), at: 0))
        var bad = p.bytes
        bad[0] = 0
        XCTAssertNil(MediaProbe(bad, at: 0))
        XCTAssertNil(MediaProbe(p.bytes, at: -1))
    }

    func testOriginPacksSessionMemberIncarnation() {
        let o = OriginID(session: 513, member: 17, incarnation: 3)
        XCTAssertEqual(o.raw, 0x0201_1103)
        XCTAssertEqual(OriginID(raw: o.raw), o)
        XCTAssertEqual(o.person, OriginID(session: 513, member: 17, incarnation: 4).person)
        XCTAssertNotEqual(o.person, OriginID(session: 513, member: 18, incarnation: 3).person)
    }

    /// abs-send-time: 6.18 fixed point (2^18 units per second), 24 bits.
    func testAbsSendTimeEncoding() {
        XCTAssertEqual(AbsSendTime.value(at: .zero), 0)
        XCTAssertEqual(AbsSendTime.value(at: Instant(nanoseconds: 1_000_000_000)), 1 << 18)
        XCTAssertEqual(AbsSendTime.value(at: Instant(nanoseconds: 1_500_000_000)), 3 << 17)
        XCTAssertEqual(AbsSendTime.value(at: Instant(nanoseconds: 64_000_000_000)), 0)  // wraps every 64 s
        XCTAssertEqual(AbsSendTime.bytes(at: Instant(nanoseconds: 1_500_000_000)), [0x06, 0x00, 0x00])
        XCTAssertEqual(AbsSendTime.value(from: [0x06, 0x00, 0x00]), 3 << 17)
        XCTAssertNil(AbsSendTime.value(from: [1, 2]))
    }

    func testAbsSendTimeDelayAcrossTheWrap() {
        let sent = Instant(nanoseconds: 63_990_000_000)  // 10 ms before a wrap
        let v = AbsSendTime.value(at: sent)
        let d = AbsSendTime.delay(sent: v, now: sent + .milliseconds(25))
        XCTAssertEqual(Double(d.nanoseconds) / 1e6, 25, accuracy: 0.01)
        let d2 = AbsSendTime.delay(sent: AbsSendTime.value(at: .milliseconds(5_000)), now: .milliseconds(5_003))
        XCTAssertEqual(Double(d2.nanoseconds) / 1e6, 3, accuracy: 0.01)
    }

    /// The probe rides in Opus padding (RFC 6716 §3.2.5): the packet still
    /// decodes to exactly the same audio.
    func testOpusPaddingCarriesTheProbeAndDecodesTheSame() throws {
        let clip = try AudioClip(frequency: 440, seconds: 1)
        XCTAssertEqual(clip.frames.count, 50)
        let probe = MediaProbe(origin: 42, sequence: 9, sendTime: Instant(nanoseconds: 123_456_789))
        let plain = try OpusDecoder(channels: 1)
        let padded = try OpusDecoder(channels: 1)
        for frame in clip.frames.prefix(10) {
            XCTAssertEqual(frame[0] & 0x03, 0, "libopus emits code 0 packets for 20 ms frames")
            let wrapped = try OpusProbeCarrier.wrap(frame, probe: probe)
            XCTAssertEqual(wrapped.count, frame.count + 2 + MediaProbe.length)
            XCTAssertEqual(OpusProbeCarrier.probe(in: wrapped, range: 0..<wrapped.count), probe)
            XCTAssertEqual(try decode(plain, frame), try decode(padded, wrapped))
        }
        XCTAssertNil(OpusProbeCarrier.probe(in: clip.frames[0], range: 0..<clip.frames[0].count))
        XCTAssertThrowsError(try OpusProbeCarrier.wrap([], probe: probe))
        XCTAssertThrowsError(try OpusProbeCarrier.wrap([0x01, 0x02], probe: probe))
    }

    private func decode(_ d: OpusDecoder, _ packet: [UInt8]) throws -> [Int16] {
        var pcm = [Int16](repeating: 0, count: 960)
        let n = try packet.withUnsafeBufferPointer { p in
            try pcm.withUnsafeMutableBufferPointer { try d.decode(p, into: $0, samplesPerChannel: 960) }
        }
        XCTAssertEqual(n, 960)
        return pcm
    }
}
