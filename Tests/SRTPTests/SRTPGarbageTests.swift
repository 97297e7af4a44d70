import CohortTestSupport
import SRTP
import Wire
import XCTest

/// Peer input that is not a valid SRTP/SRTCP packet yields a typed error
/// and never a trap.
final class SRTPGarbageTests: XCTestCase {
    func testShortAndMalformedRTP() throws {
        let (_, client) = try pair(.aes128CmHmacSha1_80)
        let cases: [([UInt8], SRTPError)] = [
            ([], .invalidLength(length: 0, minimum: 22)),
            ([0x80], .invalidLength(length: 1, minimum: 22)),
            ([UInt8](repeating: 0x80, count: 21), .invalidLength(length: 21, minimum: 22)),
            // Version 0 and 3 (RFC 3550 §5.1 requires 2).
            ([0x00] + [UInt8](repeating: 0, count: 40), .malformedPacket),
            ([0xC0] + [UInt8](repeating: 0, count: 40), .malformedPacket),
            // 15 CSRCs announced, 60 octets of CSRC list missing.
            ([0x8F] + [UInt8](repeating: 0, count: 40), .malformedPacket),
            // Header extension of 0xFFFF words.
            ([0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 30),
             .malformedPacket),
            // Header extension that fits but leaves no room for the tag.
            ([0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 1, 2, 3, 4, 5], .invalidLength(length: 21, minimum: 30)),
            // Well-formed but never protected: authentication fails.
            (TestPacket.rtp(ssrc: 1, sequence: 1, payload: TestPacket.payload(40)), .authenticationFailed),
        ]
        for (input, expected) in cases {
            var packet = input
            XCTAssertThrowsError(try client.unprotectRTP(&packet)) {
                XCTAssertEqual($0 as? SRTPError, expected, "\(Hex.encode(input.prefix(16)))")
            }
        }
    }

    func testShortAndMalformedRTCP() throws {
        let (_, client) = try pair(.aeadAes128Gcm)
        let cases: [([UInt8], SRTPError)] = [
            ([], .invalidLength(length: 0, minimum: 28)),
            ([0x80, 200, 0, 1], .invalidLength(length: 4, minimum: 28)),
            ([0x40] + [UInt8](repeating: 0, count: 40), .malformedPacket),
            (TestPacket.rtcp(ssrc: 5), .authenticationFailed),
        ]
        for (input, expected) in cases {
            var packet = input
            XCTAssertThrowsError(try client.unprotectRTCP(&packet)) {
                XCTAssertEqual($0 as? SRTPError, expected)
            }
        }
    }

    func testProtectRefusesMalformedOwnPackets() throws {
        let (server, _) = try pair(.aeadAes256Gcm)
        var short: [UInt8] = [0x80, 0, 0]
        XCTAssertThrowsError(try server.protectRTP(&short)) { XCTAssertEqual($0 as? SRTPError, .malformedPacket) }
        XCTAssertEqual(short, [0x80, 0, 0], "left as it was")
        var rtcp: [UInt8] = [0x80, 200]
        XCTAssertThrowsError(try server.protectRTCP(&rtcp)) {
            XCTAssertEqual($0 as? SRTPError, .invalidLength(length: 2, minimum: 8))
        }
    }

    /// Seeded random bytes, random-length truncations and bit flips of
    /// genuine packets, for every profile: each call returns or throws.
    func testRandomInputNeverTraps() throws {
        var random = SeededRandom(seed: 0x5EC_0DE)
        for profile in SRTPProtectionProfile.allCases {
            let (server, client) = try pair(profile)
            for round in 0..<2000 {
                var genuine = TestPacket.rtp(ssrc: UInt32(round % 7), sequence: UInt16(round),
                                             payload: TestPacket.payload(Int(random.next() % 200)))
                try server.protectRTP(&genuine)
                var input: [UInt8]
                switch round % 3 {
                case 0:
                    input = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    if !input.isEmpty && random.chance(0.5) { input[0] = 0x80 | (input[0] & 0x3F) }
                case 1:
                    input = Array(genuine.prefix(Int(random.next() % UInt64(genuine.count + 1))))
                default:
                    input = genuine
                    input[Int(random.next() % UInt64(input.count))] ^= UInt8(1 << (random.next() % 8))
                }
                var rtp = input, rtcp = input
                _ = try? client.unprotectRTP(&rtp)
                _ = try? client.unprotectRTCP(&rtcp)
            }
        }
    }

    /// The fuzz entry point over seeded inputs, including ones that parse
    /// as packets so its protect/unprotect round trip runs.
    func testFuzzEntryPoint() {
        var random = SeededRandom(seed: 42)
        SRTPFuzz.run([])
        for i in 0..<1000 {
            var input = (0..<Int(random.next() % 120)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if input.count > 1 && i % 2 == 0 { input[1] = 0x80 | (input[1] & 0x2F) }  // version 2, no extension
            SRTPFuzz.run(input)
        }
        for profile in UInt8(0)..<4 {
            SRTPFuzz.run([profile] + TestPacket.rtp(ssrc: 1, sequence: 2, payload: TestPacket.payload(50)))
            SRTPFuzz.run([profile] + TestPacket.rtcp(ssrc: 1))
        }
    }
}
