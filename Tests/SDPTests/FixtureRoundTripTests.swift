import XCTest
@testable import SDP

/// Real offers from aiortc and Chromium survive parse → generate → parse unchanged.
final class FixtureRoundTripTests: XCTestCase {
    func testAllCapturedFixturesArePresent() throws {
        XCTAssertEqual(try FixtureLoader.names(), [
            "aiortc-audio-video.sdp", "aiortc-cohort-client.sdp", "chromium-audio-video.sdp",
            "chromium-cohort-client.sdp", "chromium-datachannel.sdp", "chromium-simulcast.sdp",
        ])
    }

    func testEveryFixtureGeneratesItsOwnBytes() throws {
        for name in try FixtureLoader.names() {
            let text = try FixtureLoader.text(name)
            let parsed = try SessionDescription.parse(text)
            let generated = parsed.generate()
            XCTAssertEqual(generated, normalizedToCRLF(text), name)
            XCTAssertEqual(try SessionDescription.parse(generated), parsed, name)
            XCTAssertEqual(parsed.generateBytes(), Array(normalizedToCRLF(text).utf8), name)
        }
    }

    func testEveryFixtureParsedFromLFGeneratesCRLF() throws {
        for name in try FixtureLoader.names() {
            let text = try FixtureLoader.text(name)
            let lf = text.replacingOccurrences(of: "\r\n", with: "\n")
            XCTAssertFalse(lf.contains("\r"), name)
            let parsed = try SessionDescription.parse(lf)
            XCTAssertEqual(parsed, try SessionDescription.parse(text), name)
            XCTAssertEqual(parsed.generate(), normalizedToCRLF(text), name)
        }
    }

    func testEveryFixtureParsesFromBytes() throws {
        for name in try FixtureLoader.names() {
            let text = try FixtureLoader.text(name)
            XCTAssertEqual(try SessionDescription.parse(bytes: Array(text.utf8)), try SessionDescription.parse(text), name)
        }
    }

    func testEveryFixtureKeepsLineCountAndOrder() throws {
        for name in try FixtureLoader.names() {
            let text = try FixtureLoader.text(name)
            let parsed = try SessionDescription.parse(text)
            let inputLines = text.split(separator: "\r\n").map(String.init)
            let modelLines = ["v=0"] + parsed.lines.map(\.text)
                + parsed.mediaSections.flatMap { ["m=" + $0.media.fieldValue] + $0.lines.map(\.text) }
            XCTAssertEqual(modelLines, inputLines, name)
        }
    }

    func testEveryFixtureTypedViewsRoundTrip() throws {
        for name in try FixtureLoader.names() {
            XCTAssertNil(SDPFuzz.check(Array(try FixtureLoader.text(name).utf8)), name)
        }
    }

    func testCohortClientFixturesFitTheDefaultLimits() throws {
        // The lead sizes the slot count from these; the limits must leave headroom.
        let chromium = try FixtureLoader.text("chromium-cohort-client.sdp")
        let lineCount = chromium.split(separator: "\r\n").count
        XCTAssertLessThan(chromium.utf8.count * 4, SDPLimits.default.maxBytes)
        XCTAssertLessThan(lineCount * 4, SDPLimits.default.maxLines)
    }
}
