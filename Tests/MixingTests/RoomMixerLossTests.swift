import XCTest
import CohortTestSupport
import Wire
@testable import Mixing

/// Seeded random loss between publishers and the mixer, with and without
/// in-band FEC: concealment and FEC leave no silent gap in the output.
final class RoomMixerLossTests: XCTestCase {
    private func run(fec: Bool, seed: UInt64) throws -> MixHarness {
        let h = MixHarness()
        try h.addPublisher(TonePublisher(key: 1, hz: 317, amplitude: 0.2, fec: fec, syllables: true), listening: false)
        try h.addPublisher(TonePublisher(key: 2, hz: 761, amplitude: 0.2, fec: fec, syllables: true), listening: true)
        try h.addListener("pure", contributorKey: nil)
        var random = SeededRandom(seed: seed)
        var jitter = SeededRandom(seed: seed ^ 0xABCD)
        h.network = { _, _ in
            random.chance(0.10) ? [] : [.milliseconds(5 + Int64(jitter.next() % 8))]
        }
        try h.run(ms: 4_000)
        return h
    }

    func testTenPercentLossWithFEC() throws {
        let h = try run(fec: true, seed: 42)
        let totals = h.mixer.bufferTotals
        XCTAssertGreaterThan(totals.lost, 25, "about 10% of 2 × 200 packets lost")
        XCTAssertGreaterThan(totals.fecRecovered, totals.lost / 2, "most losses are recovered from in-band FEC")
        assertNoGap(h)
    }

    func testTenPercentLossWithoutFEC() throws {
        let h = try run(fec: false, seed: 42)
        let totals = h.mixer.bufferTotals
        XCTAssertGreaterThan(totals.lost, 25)
        XCTAssertEqual(totals.fecRecovered, 0, "without FEC every loss is concealed")
        assertNoGap(h)
    }

    /// Silence: a 10 ms window below -50 dBFS RMS. After the first 200 ms
    /// (priming), no run of silence is longer than 40 ms, and each listener
    /// got one frame every tick.
    private func assertNoGap(_ h: MixHarness, file: StaticString = #filePath, line: UInt = #line) {
        // p2 hears publisher 1 alone: its packets are passed through, and
        // its losses are the frames the mixer does not send (p2 conceals them,
        // as Chrome would); the pure listener hears two voices, encoded.
        XCTAssertGreaterThan(h.mixer.counters.passthroughGaps, 5, file: file, line: line)
        XCTAssertEqual(h.concealed["pure", default: 0], 0, "the encoded mix has a frame every tick", file: file, line: line)
        for id in ["pure", "p2"] {
            let heard = Array(h.decoded[id]!.dropFirst(9_600))
            // Every tick's 20 ms is in what the listener decoded, sent or
            // concealed (a gap at the very end is not concealed yet).
            XCTAssertEqual(Double(h.decoded[id]!.count), Double(200 * 960), accuracy: 960 * 2,
                           "\(id): 20 ms every tick", file: file, line: line)
            XCTAssertLessThanOrEqual(ToneMeter.longestSilence(heard), 40, "\(id): silent gap", file: file, line: line)
            // Stricter than the brief: concealment fills the losses, so at
            // most 1% of windows are silent (two losses in a row may dip one
            // or two windows); zeros in place of PLC would silence about 15%.
            XCTAssertLessThanOrEqual(ToneMeter.silentWindows(heard), 4, "\(id): silent windows", file: file, line: line)
        }
        // The other publisher's audio survives at about its sent level (RMS -24 dBFS).
        XCTAssertGreaterThan(ToneMeter.rms(h.tail("p2", ms: 2_000)), -28, file: file, line: line)
    }
}
