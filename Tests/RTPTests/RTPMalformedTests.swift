import RTP
import XCTest

/// Malformed RTP: every class comes back as a typed error, never a trap.
final class RTPMalformedTests: XCTestCase {
    /// CSRC + one-byte extension + payload, no padding.
    let full = hex("91 6F 0102 00000003 11223344 55667788  BEDE 0001  10 A1 0000  DEADBEEF")

    func testTruncationAtEveryByte() throws {
        let header = try RTPHeader(parsing: full)
        XCTAssertEqual(header.headerLength, 24)
        for length in 0..<full.count {
            let prefix = Array(full.prefix(length))
            let expected: RTPError?
            switch length {
            case 0..<12: expected = .truncated(needed: 12, available: length)
            case 12..<16: expected = .truncated(needed: 16, available: length)
            case 16..<20: expected = .truncated(needed: 20, available: length)
            case 20..<24: expected = .extensionLengthOverrun(declared: 4, available: length - 20)
            default: expected = nil   // header complete, payload shorter
            }
            if let expected {
                assertRTPError(expected) { try RTPHeader(parsing: prefix) }
            } else {
                let short = try RTPHeader(parsing: prefix)
                XCTAssertEqual(short.payloadRange, 24..<length)
            }
        }
    }

    func testTruncatedPaddedPacketNeverTraps() {
        // With P set, each prefix's last byte is taken as the padding count:
        // some prefixes parse, the rest must fail with a typed error.
        let padded = hex("B1 6F 0102 00000003 11223344 55667788  BEDE 0001  10 A1 0000  DEADBEEF 000003")
        var parsed = 0, rejected = 0
        for length in 0...padded.count {
            do {
                let header = try RTPHeader(parsing: Array(padded.prefix(length)))
                XCTAssertEqual(header.payloadRange.upperBound + header.paddingLength, length)
                parsed += 1
            } catch {
                // Typed throws: the error is an RTPError by construction.
                rejected += 1
            }
        }
        XCTAssertGreaterThan(parsed, 0)
        XCTAssertGreaterThan(rejected, 24, "every prefix shorter than the header must be rejected")
    }

    func testBadVersion() {
        for version: UInt8 in [0, 1, 3] {
            var packet = full
            packet[0] = packet[0] & 0x3F | version << 6
            assertRTPError(.unsupportedVersion(version)) { try RTPHeader(parsing: packet) }
        }
    }

    func testPaddingLongerThanPacket() {
        var packet = full
        packet[0] |= 0x20
        packet[packet.count - 1] = 5   // only 4 bytes follow the header
        assertRTPError(.invalidPadding(count: 5, available: 4)) { try RTPHeader(parsing: packet) }
        packet[packet.count - 1] = 0xFF
        assertRTPError(.invalidPadding(count: 255, available: 4)) { try RTPHeader(parsing: packet) }
    }

    func testZeroPaddingCount() {
        var packet = full
        packet[0] |= 0x20
        packet[packet.count - 1] = 0
        assertRTPError(.invalidPadding(count: 0, available: 4)) { try RTPHeader(parsing: packet) }
    }

    func testCSRCCountThatLies() {
        var packet = hex("80 6F 0102 00000003 11223344")
        packet[0] |= 0x0F
        assertRTPError(.truncated(needed: 72, available: 12)) { try RTPHeader(parsing: packet) }
    }
}
