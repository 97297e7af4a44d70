import RTP
import XCTest

/// In-place rewriting of SSRC, sequence number, timestamp, marker and PT.
final class RTPRewriteTests: XCTestCase {
    let original = hex("B1 6F FFFF FFFFFFF0 11223344 01020304  BEDE 0001  10 A1 0000  DEADBEEF 0002")

    func testRewriteChangesOnlyThoseFields() throws {
        var packet = original
        var header = try RTPHeader(parsing: packet)
        header.rewrite(ssrc: 0xCAFE_BABE, sequenceNumber: 0x0102, timestamp: 0x0A0B_0C0D, in: &packet)
        XCTAssertEqual(packet, hex("B1 6F 0102 0A0B0C0D CAFEBABE 01020304  BEDE 0001  10 A1 0000  DEADBEEF 0002"))
        XCTAssertEqual(try RTPHeader(parsing: packet), header)
        XCTAssertEqual(header.ssrc, 0xCAFE_BABE)
    }

    func testShiftWrapsSequenceAndTimestamp() throws {
        // RFC 3550 §5.1: both fields wrap; a slot's offsets must carry across.
        var packet = original
        var header = try RTPHeader(parsing: packet)
        header.shift(ssrc: 7, sequenceNumberBy: 1, timestampBy: 0x20, in: &packet)
        XCTAssertEqual(header.sequenceNumber, 0)
        XCTAssertEqual(header.timestamp, 0x10)
        XCTAssertEqual(Array(packet[2..<12]), hex("0000 00000010 00000007"))
        // A "negative" offset (two's complement) goes back across the wrap.
        header.shift(ssrc: 7, sequenceNumberBy: 0 &- 2, timestampBy: 0 &- 0x30, in: &packet)
        XCTAssertEqual(header.sequenceNumber, 0xFFFE)
        XCTAssertEqual(header.timestamp, 0xFFFF_FFE0)
        XCTAssertEqual(try RTPHeader(parsing: packet), header)
    }

    func testMarkerAndPayloadType() throws {
        var packet = original
        var header = try RTPHeader(parsing: packet)
        header.setMarker(true, in: &packet)
        XCTAssertEqual(packet[1], 0xEF)
        header.setPayloadType(96, in: &packet)
        XCTAssertEqual(packet[1], 0xE0)
        header.setMarker(false, in: &packet)
        XCTAssertEqual(packet[1], 0x60)
        XCTAssertEqual(packet[0], 0xB1, "V/P/X/CC untouched")
        let reparsed = try RTPHeader(parsing: packet)
        XCTAssertEqual(reparsed, header)
        XCTAssertEqual(reparsed.payloadType, 96)
        XCTAssertFalse(reparsed.marker)
    }
}
