import Wire
import XCTest
@testable import SFU

/// The allocation's budget memory (`RecentMaximum`): the best of the last
/// span, and `reset` for a path that filled (the highs before are stale).
final class RecentMaximumTests: XCTestCase {
    private let start = Instant.zero + .seconds(10)

    func testTheBestOfTheSpanAndAResetForgetsIt() {
        var recent = RecentMaximum(span: .seconds(2))
        XCTAssertEqual(recent.record(1_300_000, now: start), 1_300_000)
        XCTAssertEqual(recent.record(900_000, now: start + .seconds(1)), 1_300_000, "the high of 1 s ago still counts")
        XCTAssertEqual(recent.record(900_000, now: start + .milliseconds(2_100)), 900_000, "older than the span")
        XCTAssertEqual(recent.record(1_300_000, now: start + .milliseconds(2_200)), 1_300_000)
        recent.reset(to: 980_000, now: start + .milliseconds(2_300))
        XCTAssertEqual(recent.record(700_000, now: start + .milliseconds(2_400)), 980_000,
                       "after a reset only what came since counts")
    }
}
