import Wire
import XCTest
@testable import SFU

/// Upstream NACK generation (RFC 4585 §6.2.1) driven by a manual clock.
final class NackGeneratorTests: XCTestCase {
    private let t0 = Instant.milliseconds(10_000)

    private func at(_ ms: Int64) -> Instant { t0 + .milliseconds(ms) }

    private func receive(_ generator: inout NackGenerator, _ sequences: [UInt16], at now: Instant) {
        for s in sequences { generator.received(sequence: s, now: now) }
    }

    func testGapIsNackedAfterTheReorderDelay() {
        var g = NackGenerator()
        XCTAssertEqual(g.received(sequence: 1, now: at(0)), .new)
        XCTAssertEqual(g.received(sequence: 2, now: at(0)), .new)
        XCTAssertEqual(g.received(sequence: 5, now: at(0)), .new)
        XCTAssertEqual(g.missingCount, 2)
        XCTAssertEqual(g.nextDeadline, at(10))
        XCTAssertEqual(g.poll(now: at(9), rtt: nil), [])
        XCTAssertEqual(g.poll(now: at(10), rtt: nil), [3, 4])
        XCTAssertEqual(g.nacked, 2)
        XCTAssertEqual(g.nextDeadline, at(110), "next try one default RTT later")
        XCTAssertEqual(g.poll(now: at(50), rtt: nil), [])
    }

    func testNoReorderDelayNacksAtOnce() {
        var g = NackGenerator(reorderDelay: .milliseconds(0))
        receive(&g, [1, 3], at: at(0))
        XCTAssertEqual(g.poll(now: at(0), rtt: nil), [2])
    }

    func testReorderedPacketFillsItsHoleWithoutANack() {
        var g = NackGenerator()
        receive(&g, [1, 3], at: at(0))
        XCTAssertEqual(g.received(sequence: 2, now: at(3)), .filled(nacked: false))
        XCTAssertNil(g.nextDeadline)
        XCTAssertEqual(g.poll(now: at(20), rtt: nil), [])
        XCTAssertEqual(g.nacked, 0)
        XCTAssertEqual(g.recovered, 0)
        XCTAssertEqual(g.received(sequence: 2, now: at(4)), .duplicateOrTooOld)
        XCTAssertEqual(g.received(sequence: 3, now: at(4)), .duplicateOrTooOld)
    }

    func testRetransmissionIsCountedAsRecovered() {
        var g = NackGenerator()
        receive(&g, [1, 4], at: at(0))
        XCTAssertEqual(g.poll(now: at(10), rtt: .milliseconds(40)), [2, 3])
        XCTAssertEqual(g.received(sequence: 3, now: at(45)), .filled(nacked: true))
        XCTAssertEqual(g.recovered, 1)
        XCTAssertEqual(g.poll(now: at(50), rtt: .milliseconds(40)), [2], "3 is no longer asked for")
    }

    func testRetriesAreSpacedByTheRTT() {
        var g = NackGenerator()
        receive(&g, [1, 3], at: at(0))
        XCTAssertEqual(g.poll(now: at(10), rtt: .milliseconds(50)), [2])
        XCTAssertEqual(g.poll(now: at(59), rtt: .milliseconds(50)), [])
        XCTAssertEqual(g.poll(now: at(60), rtt: .milliseconds(50)), [2])
        // A new RTT applies from the next try; never closer than 20 ms.
        XCTAssertEqual(g.poll(now: at(110), rtt: .milliseconds(5)), [2])
        XCTAssertEqual(g.nextDeadline, at(130))
        XCTAssertEqual(g.poll(now: at(129), rtt: .milliseconds(5)), [])
        XCTAssertEqual(g.poll(now: at(130), rtt: .milliseconds(5)), [2])
        XCTAssertEqual(g.nacked, 4)
    }

    func testGivesUpAfterMaxTries() {
        var g = NackGenerator(maxTries: 3)
        receive(&g, [1, 3], at: at(0))
        var sent = 0
        for ms in stride(from: 0, through: 500, by: 5) { sent += g.poll(now: at(Int64(ms)), rtt: .milliseconds(20)).count }
        XCTAssertEqual(sent, 3, "tries at 10, 30 and 50 ms")
        XCTAssertEqual(g.nacked, 3)
        XCTAssertEqual(g.givenUp, 1, "given up at 70 ms, one interval after the last try")
        XCTAssertEqual(g.missingCount, 0)
        XCTAssertNil(g.nextDeadline)
        XCTAssertEqual(g.received(sequence: 2, now: at(600)), .duplicateOrTooOld)
        XCTAssertEqual(g.recovered, 0)
    }

    func testGivesUpAfterMaxAge() {
        var g = NackGenerator()
        receive(&g, [1, 3], at: at(0))
        var times: [Int64] = []
        for ms in stride(from: Int64(0), through: 3_000, by: 10) where !g.poll(now: at(ms), rtt: .milliseconds(400)).isEmpty {
            times.append(ms)
        }
        XCTAssertEqual(times, [10, 410, 810], "the try due at 1210 ms is past the 1 s age")
        XCTAssertEqual(g.givenUp, 1)
        XCTAssertEqual(g.missingCount, 0)
    }

    func testWrapAround() {
        var g = NackGenerator()
        receive(&g, [65_533, 65_534, 1], at: at(0))
        XCTAssertEqual(g.missingCount, 2)
        XCTAssertEqual(g.poll(now: at(10), rtt: nil), [65_535, 0])
        XCTAssertEqual(g.received(sequence: 0, now: at(60)), .filled(nacked: true))
        XCTAssertEqual(g.received(sequence: 2, now: at(60)), .new)
        XCTAssertEqual(g.poll(now: at(110), rtt: nil), [65_535])
        XCTAssertEqual(g.received(sequence: 65_535, now: at(120)), .filled(nacked: true))
        XCTAssertEqual(g.recovered, 2)
        XCTAssertEqual(g.restarts, 0)
    }

    func testHugeJumpRestartsAndAsksForAKeyframe() {
        var g = NackGenerator()
        receive(&g, [100, 101, 105], at: at(0))
        XCTAssertEqual(g.missingCount, 3)
        XCTAssertEqual(g.received(sequence: 30_105, now: at(1)), .restarted)
        XCTAssertEqual(g.missingCount, 0)
        XCTAssertEqual(g.restarts, 1)
        XCTAssertEqual(g.givenUp, 3)
        XCTAssertTrue(g.needsKeyframe)
        XCTAssertTrue(g.takeKeyframeNeed())
        XCTAssertFalse(g.takeKeyframeNeed())
        XCTAssertEqual(g.received(sequence: 30_106, now: at(2)), .new)
        XCTAssertEqual(g.received(sequence: 30_108, now: at(2)), .new)
        XCTAssertEqual(g.poll(now: at(20), rtt: nil), [30_107], "tracking goes on from the new numbering")
    }

    func testBackwardJumpRestarts() {
        var g = NackGenerator()
        receive(&g, [20_000, 20_001], at: at(0))
        XCTAssertEqual(g.received(sequence: 19_000, now: at(1)), .duplicateOrTooOld, "a late packet, not tracked")
        XCTAssertEqual(g.received(sequence: 10_000, now: at(1)), .restarted)
        XCTAssertEqual(g.received(sequence: 10_001, now: at(1)), .new)
    }

    func testGapOfMaxMissingIsTrackedOneMoreRestarts() {
        var g = NackGenerator(maxMissing: 500)
        receive(&g, [0, 501], at: at(0))
        XCTAssertEqual(g.missingCount, 500)
        XCTAssertEqual(g.restarts, 0)
        XCTAssertFalse(g.needsKeyframe)
        XCTAssertEqual(g.poll(now: at(10), rtt: nil).count, 500)
        XCTAssertEqual(g.received(sequence: 1_003, now: at(20)), .restarted, "a gap of 501")
        XCTAssertEqual(g.missingCount, 0)
    }

    func testOverflowGivesUpTheOldestAndAsksForAKeyframe() {
        var g = NackGenerator(maxMissing: 10)
        receive(&g, [0, 7], at: at(0))       // 1...6 missing
        receive(&g, [14], at: at(1))         // 8...13 missing: 12 > 10
        XCTAssertEqual(g.missingCount, 10)
        XCTAssertEqual(g.givenUp, 2)
        XCTAssertTrue(g.needsKeyframe)
        XCTAssertEqual(g.poll(now: at(20), rtt: nil), [3, 4, 5, 6, 8, 9, 10, 11, 12, 13])
        XCTAssertEqual(g.received(sequence: 1, now: at(21)), .duplicateOrTooOld)
    }

    func testPollIntoReusesTheCallersArray() {
        var g = NackGenerator()
        receive(&g, [1, 3, 6], at: at(0))
        var out: [UInt16] = [99]
        g.poll(now: at(10), rtt: nil, into: &out)
        XCTAssertEqual(out, [99, 2, 4, 5])
    }
}
