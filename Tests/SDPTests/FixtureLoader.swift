import Foundation
import XCTest
@testable import SDP

/// Reads the captured offers in Fixtures/ (see Scripts/capture-sdp-fixtures/).
enum FixtureLoader {
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sdp") }.sorted()
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static func parse(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> SessionDescription {
        try SessionDescription.parse(text(name))
    }
}

/// Every line ending as CRLF, the form `generate()` writes.
func normalizedToCRLF(_ text: String) -> String {
    text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
}

/// Asserts that `body` throws an `SDPError` with `reason` (and `line`, when given).
func assertSDPError(_ reason: SDPError.Reason, line: Int? = nil, _ text: String,
                    file: StaticString = #filePath, sourceLine: UInt = #line) {
    do {
        _ = try SessionDescription.parse(text)
        XCTFail("parsed, expected \(reason)", file: file, line: sourceLine)
    } catch {
        XCTAssertEqual(error.reason, reason, "input: \(text.debugDescription)", file: file, line: sourceLine)
        if let line { XCTAssertEqual(error.line, line, file: file, line: sourceLine) }
    }
}
