import XCTest
import Wire
import CohortTestSupport
@testable import STUN

final class StunMessageTests: XCTestCase {
    private let transactionID = StunTransactionID(high: 0x0102_0304, low: 0x0506_0708_090A_0B0C)

    /// RFC 8489 §5 figure 3 and §6: Binding request 0x0001, success 0x0101,
    /// error 0x0111, indication 0x0011.
    func testMessageTypePacking() {
        XCTAssertEqual(StunMessageType.bindingRequest.rawValue, 0x0001)
        XCTAssertEqual(StunMessageType.bindingSuccess.rawValue, 0x0101)
        XCTAssertEqual(StunMessageType.bindingError.rawValue, 0x0111)
        XCTAssertEqual(StunMessageType.bindingIndication.rawValue, 0x0011)
        XCTAssertEqual(StunMessageType(rawValue: 0x0111), .bindingError)
        // Every method and class survives packing.
        for m in stride(from: UInt16(0), through: 0xFFF, by: 1) {
            for c in StunClass.allCases {
                let t = StunMessageType(method: StunMethod(rawValue: m)!, messageClass: c)
                XCTAssertEqual(t.rawValue & 0xC000, 0)
                XCTAssertEqual(StunMessageType(rawValue: t.rawValue), t)
            }
        }
        XCTAssertNil(StunMethod(rawValue: 0x1000))
    }

    func testTransactionID() throws {
        XCTAssertEqual(transactionID.bytes, Array(1...12))
        XCTAssertEqual(try StunTransactionID(bytes: Array(1...12)), transactionID)
        XCTAssertThrowsError(try StunTransactionID(bytes: [1, 2])) {
            XCTAssertEqual($0 as? StunError, .invalidTransactionID(length: 2))
        }
        var rng = SeededRandom(seed: 7)
        XCTAssertNotEqual(StunTransactionID.random(using: &rng), StunTransactionID.random(using: &rng))
    }

    /// The CRC-32 check value of ISO/IEC 3309 ("123456789" → 0xCBF43926).
    func testCRC32CheckValue() {
        XCTAssertEqual(StunFingerprint.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(StunFingerprint.crc32([]), 0)
    }

    func testEveryAttributeRoundTrips() throws {
        let attributes: [StunAttribute] = [
            .mappedAddress(StunAddress("192.0.2.1:1")!),
            .mappedAddress(StunAddress("[2001:db8::5]:2")!),
            .xorMappedAddress(StunAddress("203.0.113.9:65535")!),
            .xorMappedAddress(StunAddress("[::ffff:1.2.3.4]:0")!),
            .username("ufrag1:ufrag2"),
            .errorCode(.unknownAttribute),
            .errorCode(try StunErrorCode(code: 699, reason: "")),
            .unknownAttributes([0x0031, 0x7FFF]),
            .unknownAttributes([0x0031]),
            .realm("example.org"), .nonce("n"),
            .software("Cohort"),
            .priority(0x6E7F_1EFF), .useCandidate,
            .iceControlling(0xFFFF_FFFF_FFFF_FFFF), .iceControlled(0),
            .other(type: 0xC057, value: [0, 1, 0, 2]),
            .other(type: 0x0030, value: [9]),
        ]
        let m = StunMessage(type: .bindingRequest, transactionID: transactionID, attributes: attributes)
        let bytes = try m.encode(password: "pw")
        XCTAssertEqual(bytes.count % 4, 0)
        let parsed = try StunParsedMessage(parsing: bytes)
        XCTAssertEqual(parsed.message.withoutIntegrityAndFingerprint, m)
        XCTAssertEqual(parsed.unknownComprehensionRequired, [0x0030])
        XCTAssertNoThrow(try parsed.checkFingerprintAndIntegrity(password: "pw"))
        XCTAssertEqual(parsed.message.errorCode?.code, 420)
        XCTAssertEqual(parsed.message.unknownAttributes, [0x0031, 0x7FFF])
        XCTAssertTrue(parsed.message.useCandidate)
        XCTAssertEqual(parsed.message.iceControlling, .max)
        XCTAssertEqual(parsed.message.mappedAddress?.description, "192.0.2.1:1")
        XCTAssertEqual(parsed.message.attribute(.nonce), .nonce("n"))
    }

    func testEncodeWithoutIntegrityOrFingerprint() throws {
        let m = StunMessage(type: .bindingIndication, transactionID: transactionID)
        let bytes = try m.encode()
        XCTAssertEqual(bytes, [0x00, 0x11, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42] + Array(1...12))
        let parsed = try StunParsedMessage(parsing: bytes)
        XCTAssertThrowsError(try parsed.checkIntegrity(password: "x")) { XCTAssertEqual($0 as? StunError, .integrityMissing) }
        XCTAssertThrowsError(try parsed.checkFingerprint()) { XCTAssertEqual($0 as? StunError, .fingerprintMissing) }
        XCTAssertTrue(StunMessage.isStun(bytes))
    }

    /// Stored MESSAGE-INTEGRITY and FINGERPRINT values are never written back stale.
    func testEncodeRecomputesIntegrityAndFingerprint() throws {
        let m = StunMessage(type: .bindingRequest, transactionID: transactionID,
                            attributes: [.messageIntegrity([UInt8](repeating: 0, count: 20)), .username("a:b"),
                                         .fingerprint(0)])
        let parsed = try StunParsedMessage(parsing: try m.encode(password: "pw"))
        XCTAssertEqual(parsed.message.attributes.first, .username("a:b"))
        XCTAssertEqual(parsed.message.attributes.count, 3)
        XCTAssertNoThrow(try parsed.checkFingerprintAndIntegrity(password: "pw"))
    }

    /// RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY, other than
    /// FINGERPRINT, are ignored; they are not covered by the HMAC.
    func testAttributesAfterIntegrityAreIgnored() throws {
        let m = StunMessage(type: .bindingRequest, transactionID: transactionID, attributes: [.username("a:b")])
        var bytes = try m.encode(password: "pw", fingerprint: false)
        // Append USE-CANDIDATE and an unknown comprehension-required attribute after MI.
        bytes += [0x00, 0x25, 0x00, 0x00, 0x00, 0x33, 0x00, 0x01, 0xAA, 0, 0, 0]
        bytes.writeUInt16(UInt16(bytes.count - 20), at: 2)
        let parsed = try StunParsedMessage(parsing: bytes)
        XCTAssertFalse(parsed.message.useCandidate)
        XCTAssertEqual(parsed.unknownComprehensionRequired, [])
        XCTAssertEqual(parsed.message.attributes.count, 2)
        XCTAssertNoThrow(try parsed.checkIntegrity(password: "pw"))
    }

    /// Integrity still checks when FINGERPRINT follows it, and when another
    /// attribute sits between them.
    func testFingerprintAfterIgnoredAttribute() throws {
        let m = StunMessage(type: .bindingRequest, transactionID: transactionID, attributes: [.username("a:b")])
        var bytes = try m.encode(password: "pw", fingerprint: false)
        bytes += [0x80, 0x99, 0x00, 0x00]
        bytes += [0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0]
        bytes.writeUInt16(UInt16(bytes.count - 20), at: 2)
        bytes.writeUInt32(StunFingerprint.value(of: bytes, attributeOffset: bytes.count - 8), at: bytes.count - 4)
        let parsed = try StunParsedMessage(parsing: bytes)
        XCTAssertNoThrow(try parsed.checkFingerprintAndIntegrity(password: "pw"))
    }

    func testUnknownAttributesReportedOnlyWhenComprehensionRequired() throws {
        let m = StunMessage(type: .bindingRequest, transactionID: transactionID, attributes: [
            .other(type: 0x8055, value: [1, 2]), .other(type: 0x0055, value: []), .other(type: 0x7FFF, value: [3]),
        ])
        let parsed = try StunParsedMessage(parsing: try m.encode())
        XCTAssertEqual(parsed.unknownComprehensionRequired, [0x0055, 0x7FFF])
        XCTAssertEqual(parsed.message, m)
    }

    func testInvalidAttributeValues() throws {
        func parseValue(_ type: UInt16, _ value: [UInt8]) -> StunError? {
            let m = StunMessage(type: .bindingRequest, transactionID: transactionID,
                                attributes: [.other(type: type, value: value)])
            do { _ = try StunParsedMessage(parsing: try m.encode()); return nil } catch { return error }
        }
        XCTAssertEqual(parseValue(0x0009, [0, 0, 2, 0]), .invalidAttribute(type: 0x0009, reason: "class 2 number 0"))
        XCTAssertEqual(parseValue(0x0009, [0, 0, 4, 100]), .invalidAttribute(type: 0x0009, reason: "class 4 number 100"))
        XCTAssertEqual(parseValue(0x0009, [0, 0, 4]), .invalidAttribute(type: 0x0009, reason: "shorter than 4 bytes"))
        XCTAssertEqual(parseValue(0x000A, [0, 1, 2]), .invalidAttribute(type: 0x000A, reason: "odd length 3"))
        XCTAssertEqual(parseValue(0x0025, [0]), .invalidAttribute(type: 0x0025, reason: "length 1, expected 0"))
        XCTAssertEqual(parseValue(0x802A, [0, 0, 0, 0]), .invalidAttribute(type: 0x802A, reason: "length 4, expected 8"))
        XCTAssertEqual(parseValue(0x0001, [0, 1, 0]), .invalidAttribute(type: 0x0001, reason: "shorter than 4 bytes"))
        XCTAssertEqual(parseValue(0x8028, [0, 0]), .invalidAttribute(type: 0x8028, reason: "length 2, expected 4"))
        XCTAssertNil(parseValue(0x0009, [0, 0, 6, 99]))
    }

    func testErrorCodeRange() {
        XCTAssertThrowsError(try StunErrorCode(code: 299, reason: "")) { XCTAssertEqual($0 as? StunError, .invalidErrorCode(299)) }
        XCTAssertThrowsError(try StunErrorCode(code: 700, reason: ""))
        XCTAssertEqual(StunErrorCode.roleConflict.description, "487 Role Conflict")
    }

    func testTooLongIsAnErrorNotATrap() {
        let huge = StunMessage(type: .bindingRequest, transactionID: transactionID,
                               attributes: [.other(type: 0x8000, value: [UInt8](repeating: 1, count: 0x1_0000))])
        XCTAssertThrowsError(try huge.encode()) {
            XCTAssertEqual($0 as? StunError, .attributeTooLong(type: 0x8000, length: 0x1_0000))
        }
        let big = StunMessage(type: .bindingRequest, transactionID: transactionID,
                              attributes: [.other(type: 0x8000, value: [UInt8](repeating: 1, count: 0xFFFF - 16))])
        XCTAssertNoThrow(try big.encode())
        XCTAssertThrowsError(try big.encode(password: "pw")) {
            XCTAssertEqual($0 as? StunError, .messageTooLong(length: 0xFFF0 + 4 + 24 + 8))
        }
    }
}
