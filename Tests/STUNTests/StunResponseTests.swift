import XCTest
import Wire
@testable import STUN

/// The responses an ICE-lite agent sends (RFC 8445 §7.3, RFC 8489 §6.3, §9.1.3).
final class StunResponseTests: XCTestCase {
    private let password = RFC5769Tests.shortTermPassword

    private func request() throws -> StunMessage {
        try StunParsedMessage(parsing: RFC5769Tests.sampleRequest).message
    }

    func testBindingSuccessResponse() throws {
        let source = try StunAddress(parsing: "[2001:db8::7]:50000")
        let bytes = try StunMessage.bindingSuccessResponse(to: try request(), source: source, password: password,
                                                           software: "Cohort")
        let parsed = try StunParsedMessage(parsing: bytes)
        XCTAssertEqual(parsed.message.type, .bindingSuccess)
        XCTAssertEqual(parsed.message.transactionID, RFC5769Tests.transactionID)
        XCTAssertEqual(parsed.message.xorMappedAddress, source)
        XCTAssertEqual(parsed.message.software, "Cohort")
        XCTAssertNoThrow(try parsed.checkFingerprintAndIntegrity(password: password))
        // MESSAGE-INTEGRITY then FINGERPRINT, last.
        XCTAssertEqual(parsed.fingerprintOffset, bytes.count - 8)
        XCTAssertEqual(parsed.integrityOffset, bytes.count - 32)
    }

    /// The §2.2 vector is a Binding success response with these contents:
    /// the builder must produce it (apart from the space padding of SOFTWARE).
    func testBindingSuccessMatchesRFC5769Layout() throws {
        let bytes = try StunMessage.bindingSuccessResponse(to: try request(), source: StunAddress("192.0.2.1:32853")!,
                                                           password: password)
        let expected = Hex.decode("""
            01 01 00 0c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
            00 20 00 08 00 01 a1 47 e1 12 a6 43
            """)!
        // Same type, cookie, transaction ID and XOR-MAPPED-ADDRESS; the length
        // covers XOR-MAPPED-ADDRESS (12), MESSAGE-INTEGRITY (24), FINGERPRINT (8).
        XCTAssertEqual(Array(bytes[0..<2]), Array(expected[0..<2]))
        XCTAssertEqual(Array(bytes[4..<32]), Array(expected[4..<32]))
        XCTAssertEqual(bytes.readUInt16(at: 2), 0x2C)
        XCTAssertEqual(bytes.count, 64)
    }

    func testUnauthorizedAndBadRequestCarryNoIntegrity() throws {
        for code in [StunErrorCode.badRequest, .unauthorized] {
            let bytes = try StunMessage.errorResponse(to: try request(), error: code)
            let parsed = try StunParsedMessage(parsing: bytes)
            XCTAssertEqual(parsed.message.type, .bindingError)
            XCTAssertEqual(parsed.message.errorCode, code)
            XCTAssertNil(parsed.integrityOffset)
            XCTAssertNoThrow(try parsed.checkFingerprint())
        }
    }

    func testUnknownAttributeResponse() throws {
        let m = StunMessage(type: .bindingRequest, transactionID: RFC5769Tests.transactionID,
                            attributes: [.username("a:b"), .other(type: 0x0077, value: [1])])
        let request = try StunParsedMessage(parsing: try m.encode(password: password))
        XCTAssertEqual(request.unknownComprehensionRequired, [0x0077])
        let bytes = try StunMessage.errorResponse(to: request.message, error: .unknownAttribute,
                                                  unknownAttributes: request.unknownComprehensionRequired,
                                                  password: password)
        let parsed = try StunParsedMessage(parsing: bytes)
        XCTAssertEqual(parsed.message.errorCode?.code, 420)
        XCTAssertEqual(parsed.message.errorCode?.reason, "Unknown Attribute")
        XCTAssertEqual(parsed.message.unknownAttributes, [0x0077])
        XCTAssertNoThrow(try parsed.checkFingerprintAndIntegrity(password: password))
    }

    func testRoleConflictResponse() throws {
        let bytes = try StunMessage.errorResponse(to: try request(), error: .roleConflict, password: password)
        let parsed = try StunParsedMessage(parsing: bytes)
        XCTAssertEqual(parsed.message.errorCode?.code, 487)
        XCTAssertEqual(parsed.message.transactionID, RFC5769Tests.transactionID)
        XCTAssertNoThrow(try parsed.checkFingerprintAndIntegrity(password: password))
        // ERROR-CODE wire form: 0 0 class number (RFC 8489 §14.8).
        XCTAssertEqual(Array(bytes[20..<28]), [0x00, 0x09, 0x00, 0x11, 0x00, 0x00, 0x04, 0x57])
    }
}
