import XCTest
@testable import Wire

final class SerialNumberTests: XCTestCase {
    func testSixteenBitWrap() {
        XCTAssertTrue(SerialNumber.isNewer(UInt16(0), than: 0xFFFF))
        XCTAssertTrue(SerialNumber.isNewer(UInt16(5), than: 0xFFF0))
        XCTAssertFalse(SerialNumber.isNewer(UInt16(0xFFF0), than: 5))
        XCTAssertFalse(SerialNumber.isNewer(UInt16(7), than: 7))
        XCTAssertEqual(SerialNumber.distance(from: UInt16(0xFFFE), to: 2), 4)
        XCTAssertEqual(SerialNumber.distance(from: UInt16(2), to: 0xFFFE), -4)
    }

    func testThirtyTwoBitWrap() {
        XCTAssertTrue(SerialNumber.isNewer(UInt32(10), than: 0xFFFF_FF00))
        XCTAssertFalse(SerialNumber.isNewer(UInt32(0xFFFF_FF00), than: 10))
        XCTAssertEqual(SerialNumber.distance(from: UInt32(0xFFFF_FFFF), to: 959), 960)
    }

    func testUnwrapperCountsCyclesAndToleratesReordering() {
        var u = SequenceUnwrapper()
        XCTAssertEqual(u.unwrap(65534), 65534)
        XCTAssertEqual(u.unwrap(65535), 65535)
        XCTAssertEqual(u.unwrap(1), 65537)
        XCTAssertEqual(u.unwrap(0), 65536)        // late packet from just after the wrap
        XCTAssertEqual(u.unwrap(65533), 65533)    // late packet from before the wrap
        XCTAssertEqual(u.unwrap(2), 65538)
    }
}
