import XCTest
@testable import Wire

final class ByteReaderTests: XCTestCase {
    func testReadsBigEndianFields() throws {
        var r = ByteReader([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09])
        XCTAssertEqual(try r.readUInt8(), 0x01)
        XCTAssertEqual(try r.readUInt16(), 0x0203)
        XCTAssertEqual(try r.readUInt32(), 0x0405_0607)
        XCTAssertEqual(r.remaining, 2)
        XCTAssertThrowsError(try r.readUInt32()) { error in
            XCTAssertEqual(error as? WireError, .truncated(offset: 7, needed: 4))
        }
        XCTAssertEqual(r.offset, 7, "a failed read consumes nothing")
    }

    func testSubRangeLimitsReads() throws {
        var r = ByteReader([0, 1, 2, 3, 4, 5], start: 2, end: 4)
        XCTAssertEqual(try r.readUInt16(), 0x0203)
        XCTAssertThrowsError(try r.readUInt8())
        XCTAssertThrowsError(try r.skip(-1))
    }

    func testWriteAndAppendRoundTrip() {
        var b: [UInt8] = []
        b.appendUInt16(0xBEEF)
        b.appendUInt24(0x12_3456)
        b.appendUInt32(0xDEAD_BEEF)
        b.appendUInt64(0x0102_0304_0506_0708)
        XCTAssertEqual(Hex.encode(b), "beef123456deadbeef0102030405060708")
        b.writeUInt32(0xCAFE_BABE, at: 5)
        XCTAssertEqual(b.readUInt32(at: 5), 0xCAFE_BABE)
        b.writeUInt16(0x0102, at: 0)
        XCTAssertEqual(b.readUInt16(at: 0), 0x0102)
    }

    func testHex() {
        XCTAssertEqual(Hex.decode("de:ad BE ef"), [0xDE, 0xAD, 0xBE, 0xEF])
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
        XCTAssertEqual(Hex.encode([0xAB, 0x01], separator: ":", uppercase: true), "AB:01")
    }
}
