import Wire
import XCTest
@testable import LoadTest

final class StreamStatisticsTests: XCTestCase {
    private func at(_ ms: UInt64) -> Instant { .milliseconds(ms) }

    func testLossDuplicatesAndReordering() {
        var s = StreamReceiveStats()
        for seq: UInt32 in [10, 11, 13, 12, 12, 16] {
            s.record(sequence: seq, sendTime: at(UInt64(seq) * 20), arrival: at(UInt64(seq) * 20 + 5))
        }
        XCTAssertEqual(s.expected, 7)        // 10...16
        XCTAssertEqual(s.received, 5)        // 10 11 12 13 16
        XCTAssertEqual(s.duplicates, 1)
        XCTAssertEqual(s.reordered, 1)       // 12 after 13
        let m = s.missing { $0 == 15 }       // the sender dropped 15 itself
        XCTAssertEqual(m.lost, 1)            // 14
        XCTAssertEqual(m.injected, 1)
        XCTAssertEqual(s.jitterNanoseconds, 0, "constant transit time has no jitter")
    }

    func testJitterFollowsRFC3550() {
        var s = StreamReceiveStats()
        // Transit alternates 5 ms and 7 ms: |D| = 2 ms each time after the first.
        for i in 0..<200 {
            let send = UInt64(i) * 20
            s.record(sequence: UInt32(i), sendTime: at(send), arrival: at(send + (i % 2 == 0 ? 5 : 7)))
        }
        XCTAssertEqual(s.jitterNanoseconds / 1e6, 2, accuracy: 0.01)
    }

    func testInjectedDownlinkIsNotLossAndNotMeasured() {
        var s = StreamReceiveStats()
        s.record(sequence: 1, sendTime: at(0), arrival: at(1))
        s.record(sequence: 2, sendTime: at(0), arrival: at(1), injectedDrop: true)
        s.record(sequence: 3, sendTime: at(0), arrival: at(1))
        XCTAssertEqual(s.injectedDownlink, 1)
        XCTAssertEqual(s.missing { _ in false }.lost, 0)
    }

    func testTotalsLossPercentExcludesInjected() {
        var stats = RunStatistics()
        var s = StreamReceiveStats()
        for seq: UInt32 in 0..<100 where seq != 50 && seq != 60 {
            s.record(sequence: seq, sendTime: at(0), arrival: at(1))
        }
        stats.absorb(s) { $0 == 60 }
        XCTAssertEqual(stats.streams.expected, 100)
        XCTAssertEqual(stats.streams.lost, 1)
        XCTAssertEqual(stats.streams.injectedUplink, 1)
        XCTAssertEqual(stats.streams.lossPercent, 100.0 / 99, accuracy: 1e-9)
        var other = RunStatistics()
        other.absorb(s) { _ in false }
        other.violation("x")
        stats.merge(other)
        XCTAssertEqual(stats.streams.lost, 3)
        XCTAssertEqual(stats[.isolationViolations], 1)
        XCTAssertEqual(stats.violationSamples, ["x"])
    }

    func testLossInjectionIsDeterministicAndNearItsRate() {
        let inj = LossInjector(uplinkPercent: 5, downlinkPercent: 10)
        let up = (0..<20_000).filter { inj.dropsUplink(origin: 7, kind: .audio, sequence: UInt32($0)) }.count
        XCTAssertEqual(Double(up) / 20_000, 0.05, accuracy: 0.01)
        let down = (0..<20_000).filter { inj.dropsDownlink(receiver: 1, origin: 7, kind: .video, sequence: UInt32($0)) }.count
        XCTAssertEqual(Double(down) / 20_000, 0.10, accuracy: 0.01)
        // Same inputs, same answer, on any loop.
        let again = LossInjector(uplinkPercent: 5, downlinkPercent: 10)
        XCTAssertEqual((0..<500).map { inj.dropsUplink(origin: 9, kind: .video, sequence: $0) },
                       (0..<500).map { again.dropsUplink(origin: 9, kind: .video, sequence: $0) })
        XCTAssertFalse((0..<1_000).contains { LossInjector(uplinkPercent: 0, downlinkPercent: 0).dropsUplink(origin: 1, kind: .audio, sequence: $0) })
    }

    func testHistogramPercentiles() {
        var h = LatencyHistogram()
        for ms in 1...100 { h.record(.milliseconds(Int64(ms))) }
        h.record(TimeSpan(nanoseconds: -5))  // clock oddities count as zero, never trap
        let s = h.summary
        XCTAssertEqual(s.count, 101)
        XCTAssertEqual(s.p50, 50, accuracy: 0.1)
        XCTAssertEqual(s.p99, 99, accuracy: 0.1)
        XCTAssertEqual(s.max, 100, accuracy: 0.1)
        XCTAssertEqual(s.min, 0)
        XCTAssertFalse(h.distribution.isEmpty)
        XCTAssertEqual(LatencyHistogram().summary, PercentileSummary())
    }
}

final class IsolationJudgeTests: XCTestCase {
    private let main = RoomMap(roomOf: [0: "main", 1: "main", 2: "main"])
    private let split = RoomMap(roomOf: [0: "main", 1: "r1", 2: "r2"])

    func testRoomMapRule() {
        XCTAssertTrue(main.allows(receiver: 1, sender: 2, kind: .video))
        XCTAssertFalse(split.allows(receiver: 1, sender: 2, kind: .audio))
        XCTAssertTrue(split.allows(receiver: 1, sender: 9, kind: .audio), "unknown members are not judged")
        var listening = split
        listening.listeners["r1"] = [0]
        XCTAssertTrue(listening.allows(receiver: 0, sender: 1, kind: .audio), "a listening host hears the room")
        XCTAssertFalse(listening.allows(receiver: 0, sender: 1, kind: .video), "but does not see it")
        XCTAssertFalse(listening.allows(receiver: 2, sender: 1, kind: .audio))
    }

    func testMediaAroundARoomChangeIsForgiven() {
        var j = IsolationJudge(receiver: 1, grace: .milliseconds(500))
        j.update(main, now: .milliseconds(0))
        XCTAssertTrue(j.observe(sender: 2, kind: .audio, sent: .milliseconds(99), now: .milliseconds(100)))
        j.update(split, now: .milliseconds(1_000))
        // In flight when the split happened: suspect at first, forgiven.
        XCTAssertFalse(j.observe(sender: 2, kind: .audio, sent: .milliseconds(1_190), now: .milliseconds(1_200)))
        XCTAssertEqual(j.resolve(now: .milliseconds(1_300)), [], "not judged before the grace passes")
        XCTAssertEqual(j.resolve(now: .milliseconds(2_000)), [])
        // Sent before the split but queued for 5 s: the server may have forwarded it before the split.
        XCTAssertFalse(j.observe(sender: 2, kind: .audio, sent: .milliseconds(900), now: .milliseconds(6_000)))
        XCTAssertEqual(j.resolve(now: .milliseconds(7_000)), [])
        // Sent and received long after the split: a violation.
        XCTAssertFalse(j.observe(sender: 2, kind: .video, sent: .milliseconds(2_990), now: .milliseconds(3_000)))
        XCTAssertEqual(j.resolve(now: .milliseconds(4_000)),
                       [IsolationJudge.Suspect(sender: 2, kind: .video, sent: .milliseconds(2_990), at: .milliseconds(3_000))])
    }

    func testRoutingAheadOfTheSessionMessageIsForgiven() {
        var j = IsolationJudge(receiver: 1, grace: .milliseconds(500))
        j.update(split, now: .milliseconds(0))
        // Rooms close: media from r2 arrives 200 ms before we hear of it.
        XCTAssertFalse(j.observe(sender: 2, kind: .audio, sent: .milliseconds(4_990), now: .milliseconds(5_000)))
        j.update(main, now: .milliseconds(5_200))
        XCTAssertEqual(j.resolve(now: .milliseconds(6_000)), [])
    }
}
