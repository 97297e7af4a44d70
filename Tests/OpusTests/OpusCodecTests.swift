import XCTest
@testable import Opus

final class OpusCodecTests: XCTestCase {
    /// A 440 Hz tone survives encode and decode: the decoded signal correlates
    /// with the tone at 440 Hz far more than at an unrelated frequency.
    func testToneRoundTripAndConcealment() throws {
        let enc = try OpusEncoder()
        let dec = try OpusDecoder()
        var decoded: [Int16] = []
        for frame in 0..<50 {
            let pcm = (0..<960).map { i -> Int16 in
                let t = Double(frame * 960 + i) / 48_000
                return Int16(8_000 * sin(2 * .pi * 440 * t))
            }
            let packet = try enc.encode(pcm)
            XCTAssertGreaterThan(packet.count, 10)
            XCTAssertLessThan(packet.count, 400)
            decoded += try dec.decode(packet)
        }
        XCTAssertEqual(decoded.count, 50 * 960)
        let tail = Array(decoded.suffix(9_600))
        XCTAssertGreaterThan(power(tail, at: 440), 100 * power(tail, at: 1_000))
        let concealed = try dec.decode([])
        XCTAssertEqual(concealed.count, 960, "an empty packet conceals one 20 ms frame")
        XCTAssertThrowsError(try dec.decode([0xFF, 0xFF, 0xFF])) { XCTAssertEqual($0 as? OpusError, .invalidPacket) }
    }

    private func power(_ x: [Int16], at hz: Double) -> Double {
        var re = 0.0, im = 0.0
        for (i, s) in x.enumerated() {
            let w = 2 * Double.pi * hz * Double(i) / 48_000
            re += Double(s) * cos(w); im += Double(s) * sin(w)
        }
        return re * re + im * im
    }
}
