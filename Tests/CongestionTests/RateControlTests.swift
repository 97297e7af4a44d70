import Wire
import XCTest
@testable import Congestion

/// The AIMD controller's decrease (`RateControl`), in particular when the
/// sender is application-limited (an SFU subscriber with paused video).
final class RateControlTests: XCTestCase {
    private let start = Instant.zero + .seconds(10)

    func testOveruseWhileSendingAtTheEstimateFallsToNinetyPercentOfWhatGotThrough() {
        var rc = RateControl(initial: 1_000_000, range: 50_000...20_000_000)
        rc.update(.overusing, acked: 400_000, sent: 1_000_000, now: start)
        XCTAssertEqual(rc.bitrate, 360_000, accuracy: 1)
    }

    /// Sending 90 kbit/s (audio) under a 1 Mbit/s estimate, a burst's queue
    /// costs 15 % of the estimate, not all but 90 % of the audio.
    func testOveruseWhileApplicationLimitedCutsFifteenPercent() {
        var rc = RateControl(initial: 1_000_000, range: 50_000...20_000_000)
        rc.update(.overusing, acked: 80_000, sent: 90_000, now: start)
        XCTAssertEqual(rc.bitrate, 850_000, accuracy: 1)
    }

    /// A link that really shrank under an application-limited sender: each
    /// overuse (every 200 ms at most) takes 15 % until the sent rate is half
    /// the estimate, then the estimate falls to what got through.
    func testRepeatedOveruseStillReachesAShrunkLinkWithinTwoSeconds() {
        var rc = RateControl(initial: 1_000_000, range: 50_000...20_000_000)
        var now = start
        var steps = 0
        while rc.bitrate > 100_000, steps < 20 {
            rc.update(.overusing, acked: 100_000, sent: 300_000, now: now)
            now = now + .milliseconds(200)
            steps += 1
        }
        XCTAssertEqual(rc.bitrate, 90_000, accuracy: 1)
        XCTAssertLessThanOrEqual(steps, 9, "\(steps) decreases")
    }

    /// Application-limited but losing over a tenth: the path is full, not
    /// passing a burst, so the cut is to 90 % of what got through.
    func testOveruseOnALossyPathCutsInFullEvenWhenApplicationLimited() {
        var rc = RateControl(initial: 3_000_000, range: 50_000...20_000_000)
        rc.update(.overusing, acked: 980_000, sent: 1_200_000, lossy: true, now: start)
        XCTAssertEqual(rc.bitrate, 882_000, accuracy: 1)
        var limited = RateControl(initial: 3_000_000, range: 50_000...20_000_000)
        limited.update(.overusing, acked: 980_000, sent: 1_200_000, lossy: false, now: start)
        XCTAssertEqual(limited.bitrate, 2_550_000, accuracy: 1, "the same without loss: 15 %")
    }

    /// The increase stops at the ceiling (what the receiver could use, with
    /// room), and a rate above it (left by start-up probes) comes down to it.
    func testIncreaseStopsAtTheCeiling() {
        var rc = RateControl(initial: 1_000_000, range: 50_000...20_000_000)
        var now = start
        for _ in 0..<100 {
            rc.update(.normal, acked: 2_000_000, sent: 2_000_000, ceiling: 1_500_000, now: now)
            now = now + .milliseconds(100)
        }
        XCTAssertEqual(rc.bitrate, 1_500_000, accuracy: 1)
        var above = RateControl(initial: 2_000_000, range: 50_000...20_000_000)
        above.update(.normal, acked: 2_000_000, sent: 2_000_000, ceiling: 1_500_000, now: start)
        above.update(.normal, acked: 2_000_000, sent: 2_000_000, ceiling: 1_500_000, now: start + .seconds(1))
        XCTAssertEqual(above.bitrate, 1_500_000, accuracy: 1)
    }

    func testSentRateCoversTheLastQuarterSecond() {
        var rate = SentRate()
        XCTAssertNil(rate.bitsPerSecond(now: start))
        // 1 000 bytes every 10 ms for 1 s: 800 kbit/s.
        var now = start
        for i in 0..<100 {
            if i > 0 { now = now + .milliseconds(10) }
            rate.add(1_000, at: now)
        }
        XCTAssertEqual(rate.bitsPerSecond(now: now) ?? 0, 800_000, accuracy: 1)
        // Then nothing for 300 ms: nothing in the window.
        XCTAssertEqual(rate.bitsPerSecond(now: now + .milliseconds(300)) ?? -1, 0, accuracy: 1)
    }
}
