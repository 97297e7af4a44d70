import XCTest
@testable import Wire

/// RFC 7983 §7 first-byte ranges, and RFC 5761 §4 for RTCP within 128...191.
final class PacketClassTests: XCTestCase {
    func testRFC7983Ranges() {
        XCTAssertEqual(PacketClass.classify([0x00, 0x01]), .stun)
        XCTAssertEqual(PacketClass.classify([0x03]), .stun)
        XCTAssertEqual(PacketClass.classify([0x04]), .unknown)   // ZRTP range 16...19 and gaps
        XCTAssertEqual(PacketClass.classify([16]), .unknown)
        XCTAssertEqual(PacketClass.classify([20]), .dtls)
        XCTAssertEqual(PacketClass.classify([22, 0xFE, 0xFD]), .dtls)
        XCTAssertEqual(PacketClass.classify([63]), .dtls)
        XCTAssertEqual(PacketClass.classify([64]), .unknown)     // TURN channels
        XCTAssertEqual(PacketClass.classify([0x80, 111]), .rtp)
        XCTAssertEqual(PacketClass.classify([0x80, 0x80 | 96]), .rtp)  // marker bit set
        XCTAssertEqual(PacketClass.classify([0x80, 200]), .rtcp)  // SR
        XCTAssertEqual(PacketClass.classify([0x81, 205]), .rtcp)  // RTPFB
        XCTAssertEqual(PacketClass.classify([0x80]), .unknown)
        XCTAssertEqual(PacketClass.classify([192]), .unknown)
        XCTAssertEqual(PacketClass.classify([]), .unknown)
    }
}
