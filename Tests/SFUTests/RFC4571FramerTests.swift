import XCTest
@testable import SFU

/// RFC 4571 §2 framing as ICE-TCP uses it (RFC 6544 §3.1): frames split and
/// merged any way TCP likes come out whole and in order; a length that lies
/// is an error at once, and a frame cut off by the close is one too.
final class RFC4571FramerTests: XCTestCase {
    private func framed(_ payloads: [[UInt8]]) -> [UInt8] {
        payloads.flatMap { p -> [UInt8] in
            let (h, l) = RFC4571Framer.header(length: p.count)
            return [h, l] + p
        }
    }

    private let payloads: [[UInt8]] = [
        [0x00, 0x01, 0x00, 0x00] + [UInt8](repeating: 0x21, count: 16),  // a STUN-like frame
        [0x16, 0xFE, 0xFD] + [UInt8](repeating: 7, count: 300),         // a DTLS-like frame
        [0x80] + [UInt8](repeating: 9, count: 1_199),                    // an RTP-sized frame
        [0x42],                                                          // one byte
    ]

    func testMergedFramesComeOutWholeAndInOrder() throws {
        var framer = RFC4571Framer()
        var out: [[UInt8]] = []
        try framer.push(framed(payloads)) { out.append($0) }
        XCTAssertEqual(out, payloads)
        XCTAssertEqual(framer.buffered, 0)
        XCTAssertNoThrow(try framer.finish())
    }

    /// Every split point of the stream, byte by byte and in two pieces.
    func testSplitFramesAtEveryByte() throws {
        let stream = framed(payloads)
        var framer = RFC4571Framer()
        var out: [[UInt8]] = []
        for b in stream { try framer.push([b]) { out.append($0) } }
        XCTAssertEqual(out, payloads)
        for cut in 0...stream.count {
            var f = RFC4571Framer()
            var got: [[UInt8]] = []
            try f.push(stream[..<cut]) { got.append($0) }
            try f.push(stream[cut...]) { got.append($0) }
            XCTAssertEqual(got, payloads, "cut at \(cut)")
        }
    }

    func testZeroLengthIsRefused() {
        var framer = RFC4571Framer()
        var out: [[UInt8]] = []
        XCTAssertThrowsError(try framer.push(framed([[1, 2]]) + [0, 0, 5]) { out.append($0) }) { error in
            XCTAssertEqual(error as? RFC4571Framer.Failure, .zeroLength)
        }
        XCTAssertEqual(out, [[1, 2]], "frames before the lie are delivered")
    }

    /// A length over the limit is refused as soon as its two bytes arrive,
    /// without waiting (and buffering) for the body it announces.
    func testLengthOverTheLimitIsRefusedAtOnce() {
        var framer = RFC4571Framer(maxFrame: 1_500)
        XCTAssertThrowsError(try framer.push([0xFF, 0xFF]) { _ in XCTFail("no frame") }) { error in
            XCTAssertEqual(error as? RFC4571Framer.Failure, .tooLong(65_535))
        }
        var exact = RFC4571Framer(maxFrame: 1_500)
        var out: [[UInt8]] = []
        XCTAssertNoThrow(try exact.push(framed([[UInt8](repeating: 3, count: 1_500)])) { out.append($0) })
        XCTAssertEqual(out.count, 1)
        var over = RFC4571Framer(maxFrame: 1_500)
        XCTAssertThrowsError(try over.push([0x05, 0xDD]) { _ in }) // 1501
    }

    /// The buffer holds at most one incomplete frame.
    func testBufferIsBoundedByOneFrame() throws {
        var framer = RFC4571Framer(maxFrame: 100)
        try framer.push([0, 100] + [UInt8](repeating: 1, count: 99)) { _ in XCTFail("incomplete") }
        XCTAssertEqual(framer.buffered, 101)
        var n = 0
        try framer.push([1, 0, 3]) { _ in n += 1 }
        XCTAssertEqual(n, 1)
        XCTAssertEqual(framer.buffered, 2)
    }

    func testTruncatedAtCloseIsAnError() throws {
        var framer = RFC4571Framer()
        try framer.push([0x00, 0x10, 1, 2, 3]) { _ in XCTFail("incomplete") }
        XCTAssertThrowsError(try framer.finish()) { error in
            XCTAssertEqual(error as? RFC4571Framer.Failure, .truncated(5))
        }
        var halfHeader = RFC4571Framer()
        try halfHeader.push([0x00]) { _ in }
        XCTAssertThrowsError(try halfHeader.finish())
    }
}
