import CohortMallocCounter
import Wire
import XCTest
@testable import SFU

/// The NACK responder's guard against resending one packet to one
/// subscriber twice within a round trip.
final class RetransmissionGuardTests: XCTestCase {
    private let t0 = Instant.milliseconds(7_000)

    private func at(_ ms: Int64) -> Instant { t0 + .milliseconds(ms) }

    func testSecondResendWithinOneRTTIsRefused() {
        var g = RetransmissionGuard()
        XCTAssertTrue(g.shouldResend(sequence: 500, now: at(0), rtt: .milliseconds(60)))
        XCTAssertFalse(g.shouldResend(sequence: 500, now: at(59), rtt: .milliseconds(60)))
        XCTAssertTrue(g.shouldResend(sequence: 501, now: at(59), rtt: .milliseconds(60)), "another packet")
        XCTAssertTrue(g.shouldResend(sequence: 500, now: at(60), rtt: .milliseconds(60)), "one RTT later")
        XCTAssertFalse(g.shouldResend(sequence: 500, now: at(100), rtt: .milliseconds(60)), "counted from the last resend")
        XCTAssertEqual(g.allowed, 3)
        XCTAssertEqual(g.suppressed, 2)
    }

    func testUnknownRTTMeans100ms() {
        var g = RetransmissionGuard()
        XCTAssertTrue(g.shouldResend(sequence: 1, now: at(0), rtt: nil))
        XCTAssertFalse(g.shouldResend(sequence: 1, now: at(99), rtt: nil))
        XCTAssertTrue(g.shouldResend(sequence: 1, now: at(100), rtt: nil))
    }

    func testNumbers64ApartShareAnEntryAndWrapAroundWorks() {
        var g = RetransmissionGuard()
        XCTAssertTrue(g.shouldResend(sequence: 65_535, now: at(0), rtt: nil))
        XCTAssertTrue(g.shouldResend(sequence: 63, now: at(1), rtt: nil), "65535 + 64, same entry")
        XCTAssertTrue(g.shouldResend(sequence: 65_535, now: at(2), rtt: nil), "forgotten early: resent, never withheld")
        XCTAssertFalse(g.shouldResend(sequence: 65_535, now: at(3), rtt: nil))
        // A burst of 64 consecutive numbers across the wrap is tracked exactly.
        var h = RetransmissionGuard()
        for s in 0..<64 { XCTAssertTrue(h.shouldResend(sequence: UInt16(truncatingIfNeeded: 65_504 + s), now: at(0), rtt: nil)) }
        for s in 0..<64 { XCTAssertFalse(h.shouldResend(sequence: UInt16(truncatingIfNeeded: 65_504 + s), now: at(50), rtt: nil)) }
        h.removeAll()
        XCTAssertTrue(h.shouldResend(sequence: 65_504, now: at(50), rtt: nil))
    }

    func testAllocatesNothingAfterInit() {
        var g = RetransmissionGuard()
        var allowed = 0
        _ = g.shouldResend(sequence: 0, now: at(-10), rtt: .milliseconds(3))  // warm up (lazy globals)
        g = RetransmissionGuard()
        cohort_malloc_counter_start()
        for i in 0..<10_000 {
            if g.shouldResend(sequence: UInt16(truncatingIfNeeded: i / 3), now: at(Int64(i)), rtt: .milliseconds(3)) {
                allowed += 1
            }
        }
        let count = cohort_malloc_counter_stop()
        XCTAssertEqual(count, 0)
        XCTAssertEqual(allowed, 3_334, "the first of each three: 1 ms apart, within the 3 ms RTT")
    }
}
