import Tokens
import XCTest

/// RFC 7515 Appendix A.1: the HS256 JWS example. Its payload is not a Cohort token,
/// so verification passes the MAC and then stops at the first missing claim.
final class RFC7515Tests: XCTestCase {
    /// A.1.1: the JWK "k" value, base64url.
    private let key = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
    private let signingInput = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    private let signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    func testAppendixA1Signature() throws {
        let k = try XCTUnwrap(Base64URL.decode(key))
        XCTAssertEqual(k.count, 64)
        XCTAssertEqual(Base64URL.encode(HMACSHA256.authenticate(Array(signingInput.utf8), key: k)), signature)
    }

    func testAppendixA1HeaderDecodes() throws {
        let header = try XCTUnwrap(Base64URL.decode("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"))
        XCTAssertEqual(String(decoding: header, as: UTF8.self), "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}")
    }

    func testAppendixA1VerifiesMACThenLacksCohortClaims() throws {
        let signer = TokenSigner(secret: try XCTUnwrap(Base64URL.decode(key)))
        XCTAssertThrowsError(try signer.verify(signingInput + "." + signature, now: 1_300_000_000)) {
            XCTAssertEqual($0 as? TokenError, .missingClaim("sid"))
        }
        // The same token with the last signature character changed fails the MAC instead.
        let forged = signingInput + "." + signature.dropLast() + "Y"
        XCTAssertThrowsError(try signer.verify(forged, now: 1_300_000_000)) {
            XCTAssertEqual($0 as? TokenError, .badSignature)
        }
    }
}
