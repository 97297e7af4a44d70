import CohortClient
import CohortTestSupport
import RTP
import SFU
import Wire
import XCTest

/// A video slot that changes source tells the client where the new source
/// begins (`SlotAssignment.after`), so the previous person's last frame is
/// never shown under the new name, and the new source's keyframe is
/// requested at once and forwarded as soon as it arrives.
final class SlotSwitchTests: XCTestCase {
    func testSlotMapNamesTheTimestampAfterWhichFramesAreTheNewSources() throws {
        let h = EngineHarness()
        try h.join("sub", audio: false, video: false, slots: 1)
        try h.join("ann", audio: false)
        try h.join("bob", audio: false)
        let sub = h.participantIDs["sub"]!
        var ts: UInt32 = 0
        for i in 0..<10 {
            for name in ["ann", "bob"] { h.sendMedia(name, audioTimestamp: ts, keyframe: i == 0) }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
        let before = h.rtpByMid("sub")["v0"] ?? []
        XCTAssertTrue(before.allSatisfy { String(decoding: $0.packet[$0.header.payloadRange].dropFirst(2), as: UTF8.self) == "video:ann" })
        let last = try XCTUnwrap(before.last?.header.timestamp)
        let initial = try XCTUnwrap(h.events.slots.last { $0.0 == sub }?.1.first { $0.mid == "v0" })
        XCTAssertNil(initial.after, "a slot that has carried nothing has no boundary")

        h.engine.remove(h.participantIDs["ann"]!, reason: .left, now: h.clock.now)
        let switched = try XCTUnwrap(h.events.slots.last { $0.0 == sub }?.1.first { $0.mid == "v0" })
        XCTAssertEqual(switched.participantId, h.participantIDs["bob"])
        XCTAssertEqual(switched.after, last, "the boundary is the last timestamp of the previous source")
        h.received["sub"] = []
        // Bob's delta frames wait; his next keyframe (requested at once) starts the slot.
        for i in 0..<10 {
            h.sendMedia("bob", audioTimestamp: ts, keyframe: i == 3)
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
        let after = h.rtpByMid("sub")["v0"] ?? []
        XCTAssertEqual(after.count, 7, "nothing before bob's keyframe, everything from it")
        for (header, packet) in after {
            XCTAssertEqual(String(decoding: packet[header.payloadRange].dropFirst(2), as: UTF8.self), "video:bob")
            XCTAssertTrue(SerialNumber.isNewer(header.timestamp, than: last))
        }
        XCTAssertGreaterThanOrEqual(h.engine.counters.pliSent, 1)
    }
}
