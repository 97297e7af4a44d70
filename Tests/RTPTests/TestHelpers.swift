import RTP
import Wire
import XCTest

/// Hex literal to bytes; a typo in a vector fails the test instead of trapping.
func hex(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
    guard let bytes = Hex.decode(text) else {
        XCTFail("bad hex literal", file: file, line: line)
        return []
    }
    return bytes
}

/// Asserts that `body` throws exactly `expected`.
func assertRTPError<T>(_ expected: RTPError, _ body: () throws -> T,
                       file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected \(expected), got success", file: file, line: line)
    } catch let error as RTPError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}
