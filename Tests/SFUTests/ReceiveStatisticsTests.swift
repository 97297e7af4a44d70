import XCTest
import Wire
@testable import SFU

final class ReceiveStatisticsTests: XCTestCase {
    func testLossAcrossWrapAndFraction() {
        var s = ReceiveStatistics(clockRate: 48_000)
        var now = Instant.milliseconds(1_000)
        var seq: UInt16 = 65_500
        var ts: UInt32 = 0
        for i in 0..<100 {
            if i % 10 != 3 { s.record(sequence: seq, timestamp: ts, now: now) }  // lose 10 %
            seq &+= 1; ts &+= 960; now = now + .milliseconds(20)
        }
        XCTAssertEqual(s.expected, 100, "indices 0 and 99 both arrived: 100 expected")
        XCTAssertEqual(s.received, 90)
        XCTAssertEqual(s.cumulativeLost, 10)
        XCTAssertEqual(s.extendedHighestSequence, UInt32(65_536 + 63))
        XCTAssertEqual(s.takeFractionLost(), UInt8(10 * 256 / 100))
        XCTAssertEqual(s.takeFractionLost(), 0, "a new interval with nothing in it")
        XCTAssertEqual(s.jitter, 0, "perfectly paced packets have no jitter")
    }

    func testJitterGrowsWithUnevenArrival() {
        var s = ReceiveStatistics(clockRate: 48_000)
        var ts: UInt32 = 0
        for i in 0..<200 {
            // Arrivals alternate 10 ms early and late around a 20 ms cadence.
            let offset: Int64 = i % 2 == 0 ? 0 : 10
            s.record(sequence: UInt16(i), timestamp: ts,
                     now: Instant.milliseconds(1_000) + .milliseconds(Int64(i) * 20 + offset))
            ts &+= 960
        }
        // |D| is 480 ticks each time; J converges to 480.
        XCTAssertEqual(Double(s.jitter), 480, accuracy: 10)
    }

    func testDelaySinceLastSenderReport() {
        var s = ReceiveStatistics(clockRate: 90_000)
        XCTAssertEqual(s.delaySinceLastSenderReport(now: .milliseconds(5)), 0)
        s.recordSenderReport(ntpTimestamp: 0x1234_5678_9ABC_DEF0, rtpTimestamp: 0, now: .milliseconds(1_000))
        XCTAssertEqual(s.lastSenderReport, 0x5678_9ABC)
        XCTAssertEqual(s.delaySinceLastSenderReport(now: .milliseconds(1_500)), 32_768)
    }
}
