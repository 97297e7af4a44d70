import XCTest
import Opus
@testable import Mixing

/// Opus framing (RFC 6716 §3.1–3.4) and LBRR detection.
final class OpusPacketInfoTests: XCTestCase {
    /// Hand-built packets for each frame-count code, as hex.
    func testFramingCodes() throws {
        // Code 0, config 1 (SILK NB 20 ms), mono: one frame of 3 bytes.
        var info = try OpusPacketInfo(parsing: Hex.bytes("08 aa bb cc"))
        XCTAssertEqual(info.mode, .silk); XCTAssertEqual(info.samples, 960); XCTAssertEqual(info.firstFrame, 1..<4)
        // Code 1, config 15 (hybrid FB 20 ms), stereo: two frames of 2 bytes.
        info = try OpusPacketInfo(parsing: Hex.bytes("7d 01 02 03 04"))
        XCTAssertEqual(info.mode, .hybrid); XCTAssertTrue(info.isStereo); XCTAssertEqual(info.frameCount, 2)
        XCTAssertEqual(info.firstFrame, 1..<3); XCTAssertEqual(info.samples, 1_920)
        // Code 2, config 31 (CELT FB 20 ms): first frame 1 byte, second 2.
        info = try OpusPacketInfo(parsing: Hex.bytes("fa 01 aa bb cc"))
        XCTAssertEqual(info.mode, .celt); XCTAssertEqual(info.firstFrame, 2..<3)
        // Code 2 with a two-byte length (§3.2.1): 252 + 4 × 1 = 256 bytes.
        info = try OpusPacketInfo(parsing: [0xFA, 252, 1] + Array(repeating: 0, count: 260))
        XCTAssertEqual(info.firstFrame, 3..<259)
        // Code 3 CBR, 3 frames of config 16 (CELT NB 2.5 ms), one padding byte of length 2.
        info = try OpusPacketInfo(parsing: Hex.bytes("83 43 02 11 22 33 00 00"))
        XCTAssertEqual(info.frameCount, 3); XCTAssertEqual(info.samples, 360); XCTAssertEqual(info.firstFrame, 3..<4)
        // Code 3 VBR, 2 frames: first 1 byte, the last gets the rest.
        info = try OpusPacketInfo(parsing: Hex.bytes("0b 82 01 aa bb cc"))
        XCTAssertEqual(info.frameCount, 2); XCTAssertEqual(info.firstFrame, 3..<4); XCTAssertEqual(info.samples, 1_920)
    }

    /// Each of §3.4's requirements rejects a packet with a typed error.
    func testMalformedPackets() {
        XCTAssertThrowsError(try OpusPacketInfo(parsing: [])) { XCTAssertEqual($0 as? MixingError, .emptyPayload) }
        let bad: [(String, String)] = [
            ("09 01 02 03", "R3: code 1 with an odd length"),
            ("0a", "R4: code 2 without a length"),
            ("0a 05 01", "R4: code 2 length past the end"),
            ("0a fd", "R4: two-byte length cut short"),
            ("0b", "R6: code 3 without a count"),
            ("0b 00", "R5: zero frames"),
            ("0b 42", "R7: padding length missing"),
            ("0b 43 ff", "R7: padding length continues past the end"),
            ("0b 03 01 02", "R6: CBR not divisible"),
            ("0b 83 05 01", "R6: VBR lengths past the end"),
        ]
        for (hex, why) in bad {
            XCTAssertThrowsError(try OpusPacketInfo(parsing: Hex.bytes(hex)), why)
        }
        // R5: more than 120 ms (63 frames of 20 ms).
        XCTAssertThrowsError(try OpusPacketInfo(parsing: [0xFB, 0x3F])) { XCTAssertEqual($0 as? MixingError, .packetTooLong) }
    }

    /// With FEC on and an expected loss, libopus sets the LBRR flag in
    /// many packets of a speech-like signal (about half: its VAD skips some); with FEC off, never.
    func testLBRRDetectionAgainstLibopus() throws {
        for fec in [true, false] {
            for bitrate: Int32 in [24_000, 32_000, 48_000] {
                var options = OpusEncoder.Options()
                options.inbandFEC = fec
                options.bitrate = bitrate
                let encoder = try OpusEncoder(channels: 1, options: options)
                var flagged = 0
                for frame in 0..<100 {
                    let packet = try encoder.encode(ToneMeter.tone(hz: 317, amplitude: 0.2, offset: frame * 960, syllables: true))
                    let info = try OpusPacketInfo(parsing: packet)
                    if info.hasLBRR(in: packet) { flagged += 1 }
                }
                if fec {
                    XCTAssertGreaterThan(flagged, 30, "FEC on at \(bitrate): \(flagged) of 100 with LBRR")
                } else {
                    XCTAssertEqual(flagged, 0, "FEC off at \(bitrate)")
                }
            }
        }
    }
}

enum Hex {
    static func bytes(_ s: String) -> [UInt8] {
        s.split(separator: " ").map { UInt8($0, radix: 16)! }
    }
}
