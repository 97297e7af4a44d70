import CohortTestSupport
import Foundation
@testable import SFU
import Wire
import XCTest

/// What the engine reports to a metrics scrape (`metricsSnapshot`), driven
/// over the virtual network with a manual clock.
final class EngineMetricsTests: XCTestCase {
    func testSnapshotCountsParticipantsForwardedPacketsByKindAndHandshakes() throws {
        let h = EngineHarness()
        try h.join("a")
        try h.join("b")
        for i in 0..<20 {
            h.sendMedia("a", audioTimestamp: UInt32(i * 960), keyframe: i == 0)
            h.run(for: .milliseconds(20))
        }
        h.run(for: .seconds(2))  // receiver and sender reports go out once a second

        let s = h.engine.metricsSnapshot()
        XCTAssertEqual(s.sessions, 1)
        XCTAssertEqual(s.rooms, 1)
        XCTAssertEqual(s.participants, 2)
        XCTAssertEqual(s.mediaConnected, 2)
        // a's 20 audio and 20 video packets each reach b once.
        XCTAssertEqual(s.counters.audioPacketsForwarded, 20)
        XCTAssertEqual(s.counters.videoPacketsForwarded, 20)
        XCTAssertEqual(s.counters.rtpForwarded, 40)
        // Each copy is at least an RTP header, the payload and the SRTP tag.
        XCTAssertGreaterThan(s.counters.audioBytesForwarded, 20 * (12 + "audio:a".utf8.count + 10))
        XCTAssertGreaterThan(s.counters.videoBytesForwarded, 20 * (12 + 2 + "video:a".utf8.count + 10))
        XCTAssertGreaterThan(s.counters.rtcpPacketsSent, 0, "reports went to both participants")
        XCTAssertGreaterThan(s.counters.rtcpBytesSent, s.counters.rtcpPacketsSent * 8)
        XCTAssertEqual(s.counters.isolationViolations, 0)

        // One ICE and one DTLS handshake per participant, each within the few virtual
        // milliseconds the harness took (2 ms one-way delay).
        XCTAssertEqual(s.handshakes.durations(.ice).count, 2)
        XCTAssertEqual(s.handshakes.durations(.dtls).count, 2)
        for d in s.handshakes.durations(.ice) + s.handshakes.durations(.dtls) {
            XCTAssertGreaterThan(d.nanoseconds, 0)
            XCTAssertLessThan(d, .milliseconds(500))
        }
        // Taken: the next scrape does not report them again.
        let again = h.engine.metricsSnapshot()
        XCTAssertTrue(again.handshakes.durations(.ice).isEmpty)
        XCTAssertTrue(again.handshakes.durations(.dtls).isEmpty)
        XCTAssertEqual(again.counters.audioPacketsForwarded, 20, "counters are not reset by a scrape")

        // Uplink quality from the engine's own receive statistics: a's two streams, nothing lost.
        let audioUp = try XCTUnwrap(s.quality[.init(.uplink, .audio)])
        let videoUp = try XCTUnwrap(s.quality[.init(.uplink, .video)])
        XCTAssertEqual(audioUp.streams, 1)
        XCTAssertEqual(videoUp.streams, 1)
        XCTAssertEqual(audioUp.lossMax, 0)
    }

    func testUplinkLossIsSummarised() throws {
        let h = EngineHarness()
        try h.join("a", video: false)
        try h.join("b", video: false)
        // a's packets 5 and 6 of 20 never leave it: its sequence numbers skip them.
        for i in 0..<20 {
            h.sendMedia("a", audioTimestamp: UInt32(i * 960))
            if i == 5 || i == 6 { _ = h.clients["a"]!.client.poll() }
            h.run(for: .milliseconds(20))
        }
        let q = try XCTUnwrap(h.engine.metricsSnapshot().quality[.init(.uplink, .audio)])
        XCTAssertEqual(q.streams, 1, "b publishes audio but sent nothing: not measured")
        XCTAssertEqual(q.lossMax, 2.0 / 20.0, accuracy: 1e-9)
    }

    func testMixerFramesAndCPUTimeAreCounted() throws {
        let h = EngineHarness()
        h.engine.configuration.cpuClock = { DispatchTime.now().uptimeNanoseconds }
        try h.join("speaker", video: false)
        try h.join("listener", video: false, mixed: true)
        for i in 0..<25 {
            h.sendMedia("speaker", audioTimestamp: UInt32(i * 960))
            h.run(for: .milliseconds(20))
        }
        let c = h.engine.metricsSnapshot().counters
        XCTAssertGreaterThan(c.mixerFrames, 10, "the room mixer ticks every 20 ms while someone listens")
        XCTAssertGreaterThan(c.mixedFramesSent, 0)
        XCTAssertGreaterThan(c.mixerCPUNanoseconds, 0)
    }

    func testHandshakeTimesAreBounded() {
        var t = HandshakeTimes()
        for _ in 0..<(HandshakeTimes.capacity + 3) { t.record(.ice, .milliseconds(5)) }
        XCTAssertEqual(t.durations(.ice).count, HandshakeTimes.capacity)
        XCTAssertEqual(t.dropped, 3)
        let taken = t.take()
        XCTAssertEqual(taken.dropped, 3)
        XCTAssertEqual(t, HandshakeTimes())
    }
}
