import RTP
import XCTest

/// Client-to-mixer audio level (RFC 6464 §3): V bit and 7-bit -dBov level.
final class RFC6464AudioLevelTests: XCTestCase {
    func testReadsOneByteForm() throws {
        // §3 figure: ID=1, len=0, V=1 level=33 (0xA1). Padded to a word.
        let packet = hex("90 6F 0001 00000000 00000001  BEDE 0001  10 A1 0000  AA")
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(header.audioLevel(id: 1, in: packet), RTPAudioLevel(voiceActivity: true, level: 33))
        XCTAssertEqual(header.audioLevel(id: 1, in: packet)?.dBov, -33)
        XCTAssertNil(header.audioLevel(id: 2, in: packet))
    }

    func testReadsTwoByteForm() throws {
        // §3 allows the two-byte form too: ID=1, len=1, V=0 level=127 (silence).
        let packet = hex("90 6F 0001 00000000 00000001  1000 0001  01 01 7F 00")
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(header.audioLevel(id: 1, in: packet), RTPAudioLevel(voiceActivity: false, level: 127))
    }

    func testEmptyTwoByteElementHasNoLevel() throws {
        let packet = hex("90 6F 0001 00000000 00000001  1000 0001  01 00 0000")
        let header = try RTPHeader(parsing: packet)
        XCTAssertNil(header.audioLevel(id: 1, in: packet))
    }

    func testByteRoundTripAndClamp() {
        for byte in UInt8.min...UInt8.max {
            XCTAssertEqual(RTPAudioLevel(byte: byte).byte, byte)
        }
        XCTAssertEqual(RTPAudioLevel(voiceActivity: false, level: 200).level, 127)
    }

    func testBuilderWritesAudioLevel() throws {
        let level = RTPAudioLevel(voiceActivity: true, level: 10)
        let builder = RTPPacketBuilder(payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 5,
                                       extensions: [.audioLevel(id: 1, level)])
        let packet = try builder.build(payload: [0xFC])
        XCTAssertEqual(packet, hex("90 6F 0001 000003C0 00000005  BEDE 0001  10 8A 0000  FC"))
        XCTAssertEqual(try RTPHeader(parsing: packet).audioLevel(id: 1, in: packet), level)
    }
}
