import CohortTestSupport
import Congestion
import RTP
import Wire
import XCTest

/// The receiving side's record and the sending side's history, joined by a
/// real feedback packet on the wire: arrival times come back to 250 µs.
final class TransportFeedbackRecorderTests: XCTestCase {
    private func wire(_ feedback: [RTCPTransportWideFeedback]) throws -> [RTCPTransportWideFeedback] {
        try feedback.map { packet in
            guard case .transportWideFeedback(let parsed) = try RTCPCompound.parse(RTCPCompound.build([packet])).first
            else { throw XCTSkip("unreachable") }
            return parsed
        }
    }

    func testArrivalsLossAndWrapSurviveTheRoundTrip() throws {
        let clock = ManualClock()
        var history = SendHistory()
        var recorder = TransportFeedbackRecorder()
        // Start near the wrap so that it is crossed.
        var sent: [(seq: UInt16, at: Instant)] = []
        for _ in 0..<65_530 { _ = history.send(size: 0, at: clock.now) }
        var expectedArrivals: [UInt16: Instant] = [:]
        for i in 0..<40 {
            clock.advance(by: .milliseconds(2))
            let seq = history.send(size: 1_000 + i, at: clock.now)
            sent.append((seq, clock.now))
            if i % 7 == 3 { continue }                        // lost
            let arrival = clock.now + .microseconds(30_000 + Int64(i % 5) * 1_100)
            expectedArrivals[seq] = arrival
            recorder.record(seq, at: arrival)
        }
        XCTAssertEqual(recorder.nextFeedback, sent[0].at + .microseconds(30_000) + TransportFeedbackRecorder.interval)
        let feedback = try wire(recorder.feedback(now: clock.now + .milliseconds(200), senderSSRC: 1, mediaSSRC: 0))
        XCTAssertEqual(feedback.count, 1)
        XCTAssertNil(recorder.nextFeedback)
        var outcomes: [PacketOutcome] = []
        for packet in feedback { outcomes += history.outcomes(of: packet) }
        // The last sent was received, so nothing trails: all 40 are reported.
        XCTAssertEqual(outcomes.count, 40)
        XCTAssertEqual(outcomes.filter { $0.arrived == nil }.count, 6)
        let received = zip(sent, outcomes).filter { $0.1.arrived != nil }
        let first = received[0]
        for (packet, outcome) in received {
            XCTAssertEqual(outcome.sent, packet.at)
            // Arrival differences are exact to a 250 µs tick.
            let expected = expectedArrivals[packet.seq]! - expectedArrivals[first.0.seq]!
            let reported = outcome.arrived! - first.1.arrived!
            XCTAssertLessThanOrEqual(abs(expected.nanoseconds - reported.nanoseconds), 250_000)
        }
        XCTAssertEqual(history.bytesInFlight, outcomes.filter { $0.arrived == nil }.reduce(0) { $0 + $1.size })
    }

    func testReorderedPacketJoinsItsFeedbackAndLateOnesAreCounted() throws {
        var recorder = TransportFeedbackRecorder()
        let t = Instant.milliseconds(5_000)
        recorder.record(100, at: t)
        recorder.record(102, at: t + .milliseconds(1))
        recorder.record(101, at: t + .milliseconds(2))        // reordered within the interval
        let first = try wire(recorder.feedback(now: t + .milliseconds(50), senderSSRC: 1, mediaSSRC: 0))
        XCTAssertEqual(first.first?.packets.map(\.received), [true, true, true])
        XCTAssertEqual(first.first?.packets.map(\.receiveDelta), [32, 8, -4])   // 5000 ms is 8 ms past a 64 ms reference
        recorder.record(99, at: t + .milliseconds(60))         // already reported past it
        recorder.record(102, at: t + .milliseconds(61))        // a duplicate
        XCTAssertEqual(recorder.late, 2)
        XCTAssertEqual(try wire(recorder.feedback(now: t + .milliseconds(100), senderSSRC: 1, mediaSSRC: 0)).count, 0)
    }

    func testTrailingLossWaitsForTheNextFeedback() throws {
        var recorder = TransportFeedbackRecorder()
        let t = Instant.milliseconds(5_000)
        recorder.record(1, at: t)
        recorder.record(4, at: t + .milliseconds(3))
        let first = try wire(recorder.feedback(now: t + .milliseconds(50), senderSSRC: 1, mediaSSRC: 0))
        XCTAssertEqual(first.first?.packets.map(\.received), [true, false, false, true])
        recorder.record(6, at: t + .milliseconds(60))
        let second = try wire(recorder.feedback(now: t + .milliseconds(110), senderSSRC: 1, mediaSSRC: 0))
        XCTAssertEqual(second.first?.baseSequenceNumber, 5)
        XCTAssertEqual(second.first?.packets.map(\.received), [false, true])
        XCTAssertEqual(second.first?.feedbackPacketCount, 1)
    }

    func testLongRunsSplitIntoSeveralFeedbacks() throws {
        var recorder = TransportFeedbackRecorder()
        let t = Instant.milliseconds(5_000)
        for seq in 0..<1_000 { recorder.record(UInt16(seq), at: t + .microseconds(Int64(seq) * 100)) }
        // A gap longer than a signed 16-bit delta (8.2 s) must start a new packet.
        recorder.record(1_000, at: t + .seconds(20))
        let feedback = try wire(recorder.feedback(now: t + .seconds(21), senderSSRC: 1, mediaSSRC: 0))
        XCTAssertEqual(feedback.map(\.packets.count), [400, 400, 200, 1])
        XCTAssertEqual(feedback.map(\.baseSequenceNumber), [0, 400, 800, 1_000])
        XCTAssertEqual(feedback.map(\.feedbackPacketCount), [0, 1, 2, 3])
    }
}
