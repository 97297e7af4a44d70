import XCTest
import Opus
@testable import Mixing

/// Five full-scale tones in phase sum to five times full scale: the
/// limiter brings that down without wrap-around or hard clipping.
final class RoomMixerLoudTests: XCTestCase {
    func testFiveFullScalePublishersInPhase() throws {
        var configuration = RoomMixer.Configuration()
        configuration.maximumSpeakers = 0  // all five in the sum: five times full scale
        let h = MixHarness(configuration: configuration)
        for key: UInt32 in 1...5 {
            try h.addPublisher(TonePublisher(key: key, hz: 317, amplitude: 1.0), listening: true)
        }
        try h.addListener("pure", contributorKey: nil)
        try h.run(ms: 2_000)
        XCTAssertGreaterThan(h.mixer.counters.limitedFrames, 50)

        for (key, pcm) in h.mixPCM {
            // Never at the rails: the soft knee stays strictly inside 16 bits.
            XCTAssertLessThan(pcm.map { abs(Int($0)) }.max()!, 32_767, "\(key) reached full scale")
            // No wrap-around: within each half-period the sign never flips
            // against the tone's phase, so the waveform stays one clean sine.
            let steady = Array(pcm.suffix(48_000))
            let level = ToneMeter.level(steady[...], hz: 317)
            XCTAssertEqual(level, 20 * log10(0.7), accuracy: 1.0, "\(key): limited to the -3 dBFS threshold")
            for harmonic in [634.0, 951.0, 1_268.0] {
                XCTAssertLessThan(ToneMeter.level(steady[...], hz: harmonic), level - 40, "\(key): distortion at \(harmonic) Hz")
            }
            XCTAssertGreaterThan(ToneMeter.rms(steady[...]), level - 4, "\(key): energy is in the tone")
        }
        // Decoded by the listeners: loud, in range, clean.
        for id in ["pure", "p1", "p3"] {
            let heard = h.tail(id, ms: 1_000)
            let level = ToneMeter.level(heard, hz: 317)
            XCTAssertGreaterThan(level, -5)
            XCTAssertLessThan(ToneMeter.level(heard, hz: 634), level - 30, "\(id): second harmonic")
        }
    }

    func testLimiterIsIdentityBelowThresholdAndBoundedAbove() {
        var limiter = SoftLimiter()
        let moderate: [Float] = (0..<960).map { 0.69 * sin(Float($0) * 0.05) }
        var out = [Int16](repeating: 0, count: 960)
        let touched = moderate.withUnsafeBufferPointer { m in out.withUnsafeMutableBufferPointer { limiter.process(m, into: $0) } }
        XCTAssertFalse(touched)
        for (x, y) in zip(moderate, out) { XCTAssertEqual(Int16((x * SoftLimiter.scale).rounded()), y) }

        // Extreme input, random signs: bounded, sign preserved (no wrap-around).
        var seed: UInt64 = 7
        for _ in 0..<20 {
            let loud: [Float] = (0..<960).map { _ in
                seed = seed &* 6_364_136_223_846_793_005 &+ 1
                return Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23) * 100
            }
            loud.withUnsafeBufferPointer { m in out.withUnsafeMutableBufferPointer { _ = limiter.process(m, into: $0) } }
            for (x, y) in zip(loud, out) {
                XCTAssertLessThan(abs(Int(y)), 32_767)
                if abs(x) > 0.01 { XCTAssertEqual(x < 0, y < 0, "sign flipped: \(x) → \(y)") }
            }
        }
        XCTAssertLessThan(limiter.gain, 0.1)
        // Release: back to unity within a few seconds of quiet.
        let quiet = [Float](repeating: 0.01, count: 960)
        for _ in 0..<150 { quiet.withUnsafeBufferPointer { m in out.withUnsafeMutableBufferPointer { _ = limiter.process(m, into: $0) } } }
        XCTAssertEqual(limiter.gain, 1)
    }
}
