import Tokens
import Wire
import XCTest

/// RFC 4231 §4: HMAC-SHA-256 test vectors.
final class RFC4231Tests: XCTestCase {
    private func check(key: [UInt8], data: [UInt8], expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Hex.encode(HMACSHA256.authenticate(data, key: key)), expected, file: file, line: line)
    }

    /// §4.2 Test Case 1.
    func testCase1() {
        check(key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8),
              expected: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    /// §4.3 Test Case 2: a key shorter than the hash output.
    func testCase2() {
        check(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8),
              expected: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// §4.4 Test Case 3: 50 bytes of 0xdd.
    func testCase3() {
        check(key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50),
              expected: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
    }

    /// §4.7 Test Case 6: a key longer than the block size is hashed first.
    func testCase6() {
        check(key: [UInt8](repeating: 0xaa, count: 131),
              data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
              expected: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    /// Empty key and empty message (value from Python's hmac module) exercise the
    /// no-base-address paths.
    func testEmptyKeyAndMessage() {
        check(key: [], data: [], expected: "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([0, 2, 3], [1, 2, 3]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2]))
        XCTAssertTrue(HMACSHA256.constantTimeEqual([], []))
    }
}
