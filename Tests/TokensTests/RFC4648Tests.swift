import Tokens
import XCTest

/// RFC 4648 §10 test vectors in the base64url alphabet (§5) without padding (RFC 7515 §2).
final class RFC4648Tests: XCTestCase {
    private let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"),
        ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ]

    func testSection10Encode() {
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64URL.encode(Array(plain.utf8)), encoded, plain)
        }
    }

    func testSection10Decode() {
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64URL.decode(encoded), Array(plain.utf8), encoded)
        }
    }

    /// The two characters where base64url differs from base64 ("+/" become "-_").
    func testURLSafeAlphabet() {
        XCTAssertEqual(Base64URL.encode([0xfb, 0xff, 0xbf]), "-_-_")
        XCTAssertEqual(Base64URL.decode("-_-_"), [0xfb, 0xff, 0xbf])
        XCTAssertNil(Base64URL.decode("+/+/"))
    }

    func testAllByteValuesRoundTrip() {
        let all = (0...255).map { UInt8($0) }
        for n in 0...all.count {
            let bytes = Array(all.prefix(n))
            XCTAssertEqual(Base64URL.decode(Base64URL.encode(bytes)), bytes)
        }
    }

    func testRejectsPaddingBadLengthAndNonCanonicalTails() {
        XCTAssertNil(Base64URL.decode("Zg=="), "padding is not allowed in JWS")
        XCTAssertNil(Base64URL.decode("Zm9vY"), "length 1 mod 4 cannot occur")
        XCTAssertNil(Base64URL.decode("Zh"), "non-zero trailing bits: only Zg encodes 'f'")
        XCTAssertNil(Base64URL.decode("Zm9 v"))
        XCTAssertNil(Base64URL.decode("Zm9v\n"))
    }
}
