@testable import SFU
import Wire
import XCTest

/// Audio-on and video-on for the attendance records: sampled once a second
/// from the receive statistics, no work per packet.
final class StreamFlowTests: XCTestCase {
    func testStartAndStopAreDatedAtTheSamplesThatSawPackets() {
        var flow = StreamFlow()
        let t = { (s: Int64) in Instant.zero + .seconds(s) }
        XCTAssertNil(flow.sample(received: 0, now: t(1)))
        XCTAssertEqual(flow.sample(received: 50, now: t(2))?.flowing, true)
        XCTAssertNil(flow.sample(received: 100, now: t(3)))
        XCTAssertNil(flow.sample(received: 100, now: t(4)), "a second without packets is within the window")
        XCTAssertNil(flow.sample(received: 100, now: t(5)))
        let stop = flow.sample(received: 100, now: t(6))
        XCTAssertEqual(stop?.flowing, false)
        XCTAssertEqual(stop?.at, t(3), "dated at the last sample that saw packets, not when the stop was noticed")
    }

    /// Through the engine: two publishers send for 5 s and stop; each gets
    /// an audio and a video interval of about 5 s.
    func testEngineRecordsFlowingMedia() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        let start = h.clock.now
        for i in 0..<250 {  // 5 s at 50 packets a second
            h.sendMedia("ann", audioTimestamp: UInt32(i * 960), keyframe: i == 0)
            h.sendMedia("bob", audioTimestamp: UInt32(i * 960), keyframe: i == 0)
            h.run(for: .milliseconds(20))
        }
        h.run(for: .seconds(5))
        let flows = h.events.records.compactMap { e -> (String, TrackKind, Bool, Int64)? in
            guard case .flow(let p, let kind, let on) = e.kind else { return nil }
            return (p.name, kind, on, e.unixMilliseconds - Int64(start.milliseconds))
        }
        for name in ["ann", "bob"] {
            // Camera and microphone: a screen share's flow is not recorded.
            for kind in [TrackKind.audio, .video] {
                let mine = flows.filter { $0.0 == name && $0.1 == kind }
                XCTAssertEqual(mine.map(\.2), [true, false], "\(name) \(kind)")
                guard mine.count == 2 else { continue }
                XCTAssertEqual(Double(mine[1].3 - mine[0].3) / 1000, 5, accuracy: 1.01, "\(name) \(kind)")
            }
        }
        let rooms = h.events.records.compactMap { e -> String? in
            if case .room(let p, let room) = e.kind { return "\(p.name):\(room)" } else { return nil }
        }
        XCTAssertEqual(rooms, ["ann:main", "bob:main"])
    }
}
