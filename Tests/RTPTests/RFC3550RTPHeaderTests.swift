import RTP
import Wire
import XCTest

/// RTP fixed header, CSRC list and padding (RFC 3550 §5.1), with packets
/// written by hand from the layout in that section.
final class RFC3550RTPHeaderTests: XCTestCase {
    /// V=2 P=0 X=0 CC=0, M=1 PT=111, seq 0x1234, ts 0xDEADBEEF, SSRC 0x11223344, payload 01 02 03.
    let minimal = "80 EF 1234 DEADBEEF 11223344 010203"

    func testParsesFixedHeader() throws {
        let packet = hex(minimal)
        let header = try RTPHeader(parsing: packet)
        XCTAssertFalse(header.hasPadding)
        XCTAssertFalse(header.hasExtension)
        XCTAssertEqual(header.csrcCount, 0)
        XCTAssertTrue(header.marker)
        XCTAssertEqual(header.payloadType, 111)
        XCTAssertEqual(header.sequenceNumber, 0x1234)
        XCTAssertEqual(header.timestamp, 0xDEAD_BEEF)
        XCTAssertEqual(header.ssrc, 0x1122_3344)
        XCTAssertEqual(header.headerLength, 12)
        XCTAssertEqual(header.payloadRange, 12..<15)
        XCTAssertEqual(Array(packet[header.payloadRange]), [1, 2, 3])
        XCTAssertEqual(header.paddingLength, 0)
        XCTAssertNil(header.extensionForm)
        XCTAssertEqual(header.extensionRange.count, 0)
    }

    func testCSRCListIsReadByIndex() throws {
        // P=1, CC=2, PT=96, seq 1, ts 16, SSRC CAFEBABE, CSRCs 01020304 05060708,
        // payload AA BB, then 3 bytes of padding whose last octet counts them.
        let packet = hex("A2 60 0001 00000010 CAFEBABE 01020304 05060708 AABB 000003")
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(header.csrcCount, 2)
        XCTAssertEqual(header.csrc(at: 0, in: packet), 0x0102_0304)
        XCTAssertEqual(header.csrc(at: 1, in: packet), 0x0506_0708)
        XCTAssertNil(header.csrc(at: 2, in: packet))
        XCTAssertNil(header.csrc(at: -1, in: packet))
        XCTAssertNil(header.csrc(at: 1, in: Array(packet.prefix(16))), "a different, shorter array is not read past its end")
        XCTAssertTrue(header.hasPadding)
        XCTAssertEqual(header.paddingLength, 3)
        XCTAssertEqual(header.headerLength, 20)
        XCTAssertEqual(Array(packet[header.payloadRange]), [0xAA, 0xBB])
    }

    func testPaddingOnlyPacketHasEmptyPayload() throws {
        // Bandwidth probes are all padding (RFC 3550 §5.1 allows it).
        var packet = hex("A0 60 0001 00000010 CAFEBABE")
        packet += [UInt8](repeating: 0, count: 254) + [255]
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(header.paddingLength, 255)
        XCTAssertTrue(header.payloadRange.isEmpty)
    }

    func testBuildMatchesHandWrittenBytes() throws {
        let builder = RTPPacketBuilder(payloadType: 111, sequenceNumber: 0x1234, timestamp: 0xDEAD_BEEF,
                                       ssrc: 0x1122_3344, marker: true)
        XCTAssertEqual(try builder.build(payload: [1, 2, 3]), hex(minimal))

        let withCSRC = RTPPacketBuilder(payloadType: 96, sequenceNumber: 1, timestamp: 16, ssrc: 0xCAFE_BABE,
                                        csrcs: [0x0102_0304, 0x0506_0708], paddingLength: 3)
        XCTAssertEqual(try withCSRC.build(payload: [0xAA, 0xBB]),
                       hex("A2 60 0001 00000010 CAFEBABE 01020304 05060708 AABB 000003"))
    }

    func testBuildParseRoundTrip() throws {
        var rng = SeededRandomForTests(seed: 3550)
        for _ in 0..<500 {
            let csrcs = (0..<rng.int(16)).map { _ in rng.uint32() }
            let extensions = (0..<rng.int(4)).map { _ in
                RTPHeaderExtensionValue(id: UInt8(1 + rng.int(14)), data: (0...rng.int(16)).prefix(16).map { _ in rng.byte() })
            }
            let builder = RTPPacketBuilder(payloadType: UInt8(rng.int(128)), sequenceNumber: UInt16(truncatingIfNeeded: rng.uint32()),
                                           timestamp: rng.uint32(), ssrc: rng.uint32(), marker: rng.int(2) == 1,
                                           csrcs: csrcs, extensions: extensions, paddingLength: UInt8(rng.int(4) == 0 ? 1 + rng.int(255) : 0))
            let payload = (0..<rng.int(200)).map { _ in rng.byte() }
            var buffer: [UInt8] = [0xEE]   // write appends: a prefix must stay untouched
            try builder.write(payload: payload, into: &buffer)
            XCTAssertEqual(buffer.first, 0xEE)
            let packet = Array(buffer.dropFirst())
            let header = try RTPHeader(parsing: packet)
            XCTAssertEqual(header.marker, builder.marker)
            XCTAssertEqual(header.payloadType, builder.payloadType)
            XCTAssertEqual(header.sequenceNumber, builder.sequenceNumber)
            XCTAssertEqual(header.timestamp, builder.timestamp)
            XCTAssertEqual(header.ssrc, builder.ssrc)
            XCTAssertEqual((0..<header.csrcCount).map { header.csrc(at: $0, in: packet) }, csrcs)
            XCTAssertEqual(header.extensionElements(in: packet).map { RTPHeaderExtensionValue(id: $0.id, data: Array(packet[$0.range])) },
                           extensions)
            XCTAssertEqual(header.paddingLength, Int(builder.paddingLength))
            XCTAssertEqual(Array(packet[header.payloadRange]), payload)
        }
    }

    func testBuilderRejectsInvalidFields() {
        var builder = RTPPacketBuilder(payloadType: 128, sequenceNumber: 0, timestamp: 0, ssrc: 0)
        assertRTPError(.invalidPayloadType(128)) { try builder.build(payload: []) }
        builder.payloadType = 0
        builder.csrcs = Array(repeating: 1, count: 16)
        assertRTPError(.tooManyCSRCs(16)) { try builder.build(payload: []) }
        builder.csrcs = []
        builder.extensions = [RTPHeaderExtensionValue(id: 15, data: [0])]
        assertRTPError(.invalidExtensionElement(id: 15, length: 1)) { try builder.build(payload: []) }
        builder.extensions = [RTPHeaderExtensionValue(id: 1, data: [])]
        assertRTPError(.invalidExtensionElement(id: 1, length: 0)) { try builder.build(payload: []) }
        builder.extensions = [RTPHeaderExtensionValue(id: 1, data: Array(repeating: 0, count: 17))]
        assertRTPError(.invalidExtensionElement(id: 1, length: 17)) { try builder.build(payload: []) }
    }
}
