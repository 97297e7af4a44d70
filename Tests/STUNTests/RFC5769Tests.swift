import XCTest
import Wire
@testable import STUN

/// The test vectors of RFC 5769 ("Test Vectors for STUN", April 2010), as
/// printed in the RFC. §2.1-2.3 pad USERNAME and SOFTWARE with spaces
/// (0x20), which RFC 5389 allowed; RFC 8489 §14 senders pad with zeros, so
/// the byte-exact rebuilds below select the padding byte explicitly.
final class RFC5769Tests: XCTestCase {
    static let shortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt"
    static let transactionID = StunTransactionID(high: 0xb7e7_a701, low: 0xbc34_d686_fa87_dfae)

    /// §2.1 Sample Request.
    static let sampleRequest = Hex.decode("""
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf
        """)!

    /// §2.2 Sample IPv4 Response.
    static let sampleIPv4Response = Hex.decode("""
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96
        """)!

    /// §2.3 Sample IPv6 Response.
    static let sampleIPv6Response = Hex.decode("""
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c
        """)!

    /// §2.4 Sample Request with Long-Term Authentication (no FINGERPRINT).
    static let sampleLongTermRequest = Hex.decode("""
        00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
        00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
        00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
        00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
        00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66
        """)!

    static let allVectors = [sampleRequest, sampleIPv4Response, sampleIPv6Response, sampleLongTermRequest]

    // MARK: §2.1

    func testSampleRequestParses() throws {
        let parsed = try StunParsedMessage(parsing: Self.sampleRequest)
        let m = parsed.message
        XCTAssertEqual(Self.sampleRequest.count, 108)
        XCTAssertEqual(m.type, .bindingRequest)
        XCTAssertEqual(m.transactionID, Self.transactionID)
        XCTAssertEqual(m.attributes, [
            .software("STUN test client"),
            .priority(0x6e00_01ff),
            .iceControlled(0x932f_f9b1_5126_3b36),
            .username("evtj:h6vY"),
            .messageIntegrity(Hex.decode("9a eaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2")!),
            .fingerprint(0xe57a_3bcf),
        ])
        XCTAssertEqual(m.username, "evtj:h6vY")
        XCTAssertEqual(m.priority, 0x6e00_01ff)
        XCTAssertEqual(m.iceControlled, 0x932f_f9b1_5126_3b36)
        XCTAssertNil(m.iceControlling)
        XCTAssertFalse(m.useCandidate)
        XCTAssertEqual(m.software, "STUN test client")
        XCTAssertEqual(parsed.unknownComprehensionRequired, [])
        XCTAssertEqual(parsed.integrityOffset, 76)
        XCTAssertEqual(parsed.fingerprintOffset, 100)
    }

    func testSampleRequestIntegrityAndFingerprint() throws {
        let parsed = try StunParsedMessage(parsing: Self.sampleRequest)
        XCTAssertNoThrow(try parsed.checkFingerprint())
        XCTAssertNoThrow(try parsed.checkIntegrity(password: Self.shortTermPassword))
        XCTAssertNoThrow(try parsed.checkFingerprintAndIntegrity(password: Self.shortTermPassword))
        XCTAssertThrowsError(try parsed.checkIntegrity(password: "VOkJxbRl1RmTxUk/WvJxBu")) {
            XCTAssertEqual($0 as? StunError, .integrityMismatch)
        }
    }

    func testSampleRequestRebuildsByteForByte() throws {
        let m = try StunParsedMessage(parsing: Self.sampleRequest).message
        let key = StunIntegrity.shortTermKey(password: Self.shortTermPassword)
        let rebuilt = try m.encode(integrityKey: key, fingerprint: true, paddingByte: 0x20)
        XCTAssertEqual(Hex.encode(rebuilt), Hex.encode(Self.sampleRequest))
        // Built from fields alone, not from the parse.
        let fresh = StunMessage(type: .bindingRequest, transactionID: Self.transactionID, attributes: [
            .software("STUN test client"), .priority(0x6e00_01ff),
            .iceControlled(0x932f_f9b1_5126_3b36), .username("evtj:h6vY"),
        ])
        XCTAssertEqual(try fresh.encode(integrityKey: key, fingerprint: true, paddingByte: 0x20), Self.sampleRequest)
    }

    func testSampleRequestRebuildWithZeroPaddingDiffersOnlyInPaddingAndChecksums() throws {
        let m = try StunParsedMessage(parsing: Self.sampleRequest).message
        let rebuilt = try m.encode(password: Self.shortTermPassword)
        XCTAssertEqual(rebuilt.count, Self.sampleRequest.count)
        // USERNAME padding is at 73..<76; MESSAGE-INTEGRITY value at 80..<100, FINGERPRINT at 104..<108.
        let differing = (0..<rebuilt.count).filter { rebuilt[$0] != Self.sampleRequest[$0] }
        XCTAssertEqual(rebuilt[73..<76], [0, 0, 0])
        XCTAssertTrue(differing.allSatisfy { (73..<76).contains($0) || (80..<100).contains($0) || (104..<108).contains($0) },
                      "differs at \(differing)")
        let reparsed = try StunParsedMessage(parsing: rebuilt)
        XCTAssertNoThrow(try reparsed.checkFingerprintAndIntegrity(password: Self.shortTermPassword))
        XCTAssertEqual(reparsed.message.withoutIntegrityAndFingerprint, m.withoutIntegrityAndFingerprint)
    }

    // MARK: §2.2

    func testIPv4ResponseParsesAndChecks() throws {
        let parsed = try StunParsedMessage(parsing: Self.sampleIPv4Response)
        let m = parsed.message
        XCTAssertEqual(m.type, .bindingSuccess)
        XCTAssertEqual(m.transactionID, Self.transactionID)
        XCTAssertEqual(m.software, "test vector")
        XCTAssertEqual(m.xorMappedAddress, StunAddress("192.0.2.1:32853"))
        XCTAssertEqual(m.xorMappedAddress?.description, "192.0.2.1:32853")
        XCTAssertEqual(m.attributes.count, 4)
        XCTAssertNoThrow(try parsed.checkFingerprint())
        XCTAssertNoThrow(try parsed.checkIntegrity(password: Self.shortTermPassword))
    }

    func testIPv4ResponseRebuildsByteForByte() throws {
        let fresh = StunMessage(type: .bindingSuccess, transactionID: Self.transactionID, attributes: [
            .software("test vector"), .xorMappedAddress(try StunAddress(parsing: "192.0.2.1:32853")),
        ])
        let key = StunIntegrity.shortTermKey(password: Self.shortTermPassword)
        XCTAssertEqual(Hex.encode(try fresh.encode(integrityKey: key, fingerprint: true, paddingByte: 0x20)),
                       Hex.encode(Self.sampleIPv4Response))
    }

    // MARK: §2.3

    func testIPv6ResponseParsesAndChecks() throws {
        let parsed = try StunParsedMessage(parsing: Self.sampleIPv6Response)
        let m = parsed.message
        XCTAssertEqual(m.type, .bindingSuccess)
        XCTAssertEqual(m.software, "test vector")
        XCTAssertEqual(m.xorMappedAddress?.description, "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
        XCTAssertEqual(m.xorMappedAddress, StunAddress(
            ip: .v6(high: 0x2001_0db8_1234_5678, low: 0x0011_2233_4455_6677), port: 32853))
        XCTAssertNoThrow(try parsed.checkFingerprint())
        XCTAssertNoThrow(try parsed.checkIntegrity(password: Self.shortTermPassword))
    }

    func testIPv6ResponseRebuildsByteForByte() throws {
        let fresh = StunMessage(type: .bindingSuccess, transactionID: Self.transactionID, attributes: [
            .software("test vector"),
            .xorMappedAddress(try StunAddress(parsing: "[2001:db8:1234:5678:11:2233:4455:6677]:32853")),
        ])
        let key = StunIntegrity.shortTermKey(password: Self.shortTermPassword)
        XCTAssertEqual(Hex.encode(try fresh.encode(integrityKey: key, fingerprint: true, paddingByte: 0x20)),
                       Hex.encode(Self.sampleIPv6Response))
    }

    // MARK: §2.4

    /// The username is "マトリックス" (U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9);
    /// the password "The\u{AD}M\u{AA}tr\u{2168}" becomes "TheMatrIX" after
    /// SASLprep, which this codec does not implement, so the prepared form is used.
    func testLongTermRequestParses() throws {
        let parsed = try StunParsedMessage(parsing: Self.sampleLongTermRequest)
        let m = parsed.message
        XCTAssertEqual(m.type, .bindingRequest)
        XCTAssertEqual(m.transactionID, try StunTransactionID(bytes: Hex.decode("78ad3433c6ad72c029da412e")!))
        XCTAssertEqual(m.attributes, [
            .username("\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}"),
            .nonce("f//499k954d6OL34oL9FSTvy64sA"),
            .realm("example.org"),
            .messageIntegrity(Hex.decode("f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666")!),
        ])
        XCTAssertEqual(parsed.unknownComprehensionRequired, [])
        XCTAssertNil(parsed.fingerprintOffset)
        XCTAssertThrowsError(try parsed.checkFingerprint()) { XCTAssertEqual($0 as? StunError, .fingerprintMissing) }
    }

    func testLongTermRequestIntegrity() throws {
        let parsed = try StunParsedMessage(parsing: Self.sampleLongTermRequest)
        let key = try StunIntegrity.longTermKey(username: "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}",
                                                realm: "example.org", password: "TheMatrIX")
        XCTAssertNoThrow(try parsed.checkIntegrity(key: key))
        let wrong = try StunIntegrity.longTermKey(username: "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}",
                                                  realm: "example.org", password: "thematrix")
        XCTAssertThrowsError(try parsed.checkIntegrity(key: wrong)) { XCTAssertEqual($0 as? StunError, .integrityMismatch) }
        // Rebuilt from its fields with the public (zero-padding) encoder: this vector pads with zeros.
        let rebuilt = try parsed.message.encode(integrityKey: key)
        XCTAssertEqual(Hex.encode(rebuilt), Hex.encode(Self.sampleLongTermRequest))
    }
}
