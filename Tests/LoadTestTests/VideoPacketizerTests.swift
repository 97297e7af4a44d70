import RTP
import Wire
import XCTest
@testable import LoadTest

final class VideoPacketizerTests: XCTestCase {
    func testFrameSizesFollowBitrateAndSplitAt1200() {
        let v = VideoPacketizer(kbps: 500, fps: 15)
        XCTAssertEqual(v.interframeBytes, 500_000 / 8 / 15)  // 4166
        XCTAssertEqual(v.keyframeBytes, 3 * 4166)
        XCTAssertEqual(v.timestampStep, 6_000)
        let inter = v.packetSizes(keyframe: false)
        XCTAssertEqual(inter.reduce(0, +), 4166)
        XCTAssertEqual(inter.count, 4)
        XCTAssertTrue(inter.allSatisfy { $0 <= VideoPacketizer.maximumPayload })
        let key = v.packetSizes(keyframe: true)
        XCTAssertEqual(key.reduce(0, +), 12_498)
        XCTAssertEqual(key.count, 11)
        XCTAssertTrue(key.allSatisfy { $0 <= VideoPacketizer.maximumPayload })
        // A tiny bitrate still leaves room for the descriptor and the probe.
        XCTAssertEqual(VideoPacketizer(kbps: 10, fps: 60).packetSizes(keyframe: false), [20])
    }

    func testPayloadDescriptorsAndProbe() throws {
        let probe = MediaProbe(origin: 3, sequence: 4, sendTime: Instant(nanoseconds: 5))
        let k0 = VideoPacketizer.payload(size: 100, index: 0, keyframe: true, probe: probe)
        let k1 = VideoPacketizer.payload(size: 100, index: 1, keyframe: true, probe: probe)
        let i0 = VideoPacketizer.payload(size: 100, index: 0, keyframe: false, probe: probe)
        XCTAssertEqual(Array(k0.prefix(2)), [0x10, 0x00])
        XCTAssertEqual(Array(k1.prefix(2)), [0x00, 0x00])
        XCTAssertEqual(Array(i0.prefix(2)), [0x10, 0x01])
        XCTAssertEqual(k0.count, 100)
        XCTAssertTrue(VideoPacketizer.isKeyframeStart(k0, payload: 0..<100))
        XCTAssertFalse(VideoPacketizer.isKeyframeStart(k1, payload: 0..<100))
        XCTAssertFalse(VideoPacketizer.isKeyframeStart(i0, payload: 0..<100))
        // Inside an RTP packet, found through the header's payload range.
        let packet = try RTPPacketBuilder(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3,
                                          extensions: [RTPHeaderExtensionValue(id: 2, data: [1, 2, 3])]).build(payload: k0)
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(VideoPacketizer.probe(in: packet, payload: header.payloadRange), probe)
        XCTAssertTrue(VideoPacketizer.isKeyframeStart(packet, payload: header.payloadRange))
        XCTAssertNil(VideoPacketizer.probe(in: packet, payload: header.payloadRange.lowerBound..<header.payloadRange.lowerBound + 10))
    }
}
