@testable import Tokens
import Wire
import XCTest

/// TURN REST credentials (coturn `use-auth-secret`): HMAC-SHA-1 against
/// RFC 2202 §3, base64 against RFC 4648 §10, and one fixed credential
/// computed independently (Python's hmac and base64 modules).
final class TurnRESTCredentialTests: XCTestCase {
    /// RFC 2202 §3 test cases 1 and 2.
    func testHMACSHA1RFC2202() {
        XCTAssertEqual(Hex.encode(HMACSHA1.authenticate(Array("Hi There".utf8), key: [UInt8](repeating: 0x0b, count: 20))),
                       "b617318655057264e28bc0b6fb378c8ef146be00")
        XCTAssertEqual(Hex.encode(HMACSHA1.authenticate(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))),
                       "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    }

    /// RFC 4648 §10 vectors, padding included.
    func testBase64RFC4648() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (input, expected) in vectors {
            XCTAssertEqual(TurnRESTCredential.base64(Array(input.utf8)), expected, input)
        }
    }

    /// username = "<expiry>:<user>", credential = base64(HMAC-SHA1(secret, username)).
    func testFixedCredential() {
        let c = TurnRESTCredential(secret: Array("coturn-shared-secret".utf8), user: "p-7", expiry: 1_767_225_600)
        XCTAssertEqual(c.username, "1767225600:p-7")
        XCTAssertEqual(c.credential, "D8RpO8kQpzhxF5QtU2E7iZc56JU=")
    }
}
