import RTP
import XCTest

/// One-byte and two-byte header extension elements (RFC 8285 §4.2, §4.3),
/// with extension blocks laid out as in the figures of those sections.
final class RFC8285HeaderExtensionTests: XCTestCase {
    /// Fixed header with X=1 (PT 111, seq 7, ts 0x100, SSRC 0xAABBCCDD), then the extension.
    let fixed = "90 6F 0007 00000100 AABBCCDD"

    /// §4.2 figure: 0xBEDE, length 3; ID 1 L=0 (1 byte), ID 2 L=1 (2 bytes),
    /// two padding bytes, ID 3 L=3 (4 bytes).
    var oneBytePacket: [UInt8] { hex(fixed + "BEDE 0003  10 AA  21 BBCC  00 00  33 01020304" + "F00D") }

    /// §4.3 figure: 0x1000, length 3; ID 1 L=0 (empty), ID 2 L=1, one padding
    /// byte, ID 200 L=4.
    var twoBytePacket: [UInt8] { hex(fixed + "1000 0003  01 00  02 01 DD  00  C8 04 01020304" + "F00D") }

    func testOneByteElements() throws {
        let packet = oneBytePacket
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(header.extensionProfile, 0xBEDE)
        XCTAssertEqual(header.extensionForm, .oneByte)
        XCTAssertEqual(header.extensionRange, 16..<28)
        XCTAssertEqual(header.payloadRange, 28..<30)
        let elements = Array(header.extensionElements(in: packet))
        XCTAssertEqual(elements.map(\.id), [1, 2, 3])
        XCTAssertEqual(elements.map { Array(packet[$0.range]) }, [[0xAA], [0xBB, 0xCC], [1, 2, 3, 4]])
        XCTAssertEqual(header.extensionElement(id: 2, in: packet), 19..<21)
        XCTAssertEqual(header.extensionElement(id: 3, in: packet).map { Array(packet[$0]) }, [1, 2, 3, 4])
        XCTAssertNil(header.extensionElement(id: 4, in: packet))
        XCTAssertNil(header.extensionElement(id: 0, in: packet), "ID 0 is padding, never an element")
    }

    func testTwoByteElements() throws {
        let packet = twoBytePacket
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(header.extensionForm, .twoByte(appBits: 0))
        let elements = Array(header.extensionElements(in: packet))
        XCTAssertEqual(elements.map(\.id), [1, 2, 200])
        XCTAssertEqual(elements.map { Array(packet[$0.range]) }, [[], [0xDD], [1, 2, 3, 4]])
        XCTAssertEqual(header.extensionElement(id: 200, in: packet).map { Array(packet[$0]) }, [1, 2, 3, 4])
        XCTAssertEqual(Array(packet[header.payloadRange]), [0xF0, 0x0D])
    }

    func testTwoByteAppBits() throws {
        let packet = hex(fixed + "100A 0001  05 01 77 00")
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(header.extensionForm, .twoByte(appBits: 0xA))
        XCTAssertEqual(header.extensionElement(id: 5, in: packet).map { Array(packet[$0]) }, [0x77])
    }

    func testID15StopsProcessing() throws {
        // §4.2: after ID 15 nothing is read, whatever its length says.
        let packet = hex(fixed + "BEDE 0002  10 AA  FF  20 BB  000000")
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(header.extensionElements(in: packet).map(\.id), [1])
        XCTAssertNil(header.extensionElement(id: 2, in: packet))
    }

    func testOtherProfileIsOpaque() throws {
        let packet = hex(fixed + "ABCD 0001  11223344")
        let header = try RTPHeader(parsing: packet)
        XCTAssertEqual(header.extensionProfile, 0xABCD)
        XCTAssertNil(header.extensionForm)
        XCTAssertEqual(header.extensionRange, 16..<20)
        XCTAssertEqual(Array(header.extensionElements(in: packet)), [])
        XCTAssertNil(header.extensionElement(id: 1, in: packet))
    }

    func testEmptyExtension() throws {
        let packet = hex(fixed + "BEDE 0000  99")
        let header = try RTPHeader(parsing: packet)
        XCTAssertTrue(header.extensionRange.isEmpty)
        XCTAssertEqual(Array(header.extensionElements(in: packet)), [])
        XCTAssertEqual(header.payloadRange, 16..<17)
    }

    func testElementLengthThatLiesIsRejected() {
        // One-byte: ID 1 with L=15 (16 bytes) inside a 4-byte block.
        assertRTPError(.extensionElementOverrun(offset: 16)) {
            try RTPHeader(parsing: hex(fixed + "BEDE 0001  1F 000000"))
        }
        // Two-byte: ID 9 says 200 bytes.
        assertRTPError(.extensionElementOverrun(offset: 18)) {
            try RTPHeader(parsing: hex(fixed + "1000 0001  00 00 09 C8"))
        }
        // Two-byte: an ID in the block's last byte has no length byte.
        assertRTPError(.extensionElementOverrun(offset: 19)) {
            try RTPHeader(parsing: hex(fixed + "1000 0001  00 00 00 07"))
        }
    }

    func testExtensionLengthThatLiesIsRejected() {
        // Length 10 words, only 2 present.
        assertRTPError(.extensionLengthOverrun(declared: 40, available: 8)) {
            try RTPHeader(parsing: hex(fixed + "BEDE 000A  10AA0000 00000000"))
        }
        // X set but no room for the extension header itself.
        assertRTPError(.truncated(needed: 16, available: 14)) {
            try RTPHeader(parsing: hex(fixed + "BEDE"))
        }
    }
}
