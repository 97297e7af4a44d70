import XCTest
import Wire
@testable import SFU

final class SubscribedSlotTests: XCTestCase {
    func testContinuityAcrossSourceSwitch() {
        var slot = SubscribedSlot(ssrc: 0xA, clockRate: 48_000, initialSequence: 65_530, initialTimestamp: 1_000)
        slot.rebase(filled: true, waitForKeyframe: false)
        var now = Instant.milliseconds(1_000)
        var out: [(UInt16, UInt32)] = []
        for i in 0..<10 {
            let r = slot.rewrite(sequence: UInt16(500 + i), timestamp: UInt32(90_000 + 960 * i),
                                 isKeyframe: false, payloadBytes: 80, now: now)
            out.append((r!.sequence, r!.timestamp))
            now = now + .milliseconds(20)
        }
        XCTAssertEqual(out.first!.0, 65_530)
        XCTAssertEqual(out.last!.0, 3, "sequence wraps through 65535 to 3")
        for (a, b) in zip(out, out.dropFirst()) {
            XCTAssertEqual(b.0, a.0 &+ 1)
            XCTAssertEqual(b.1, a.1 &+ 960)
        }
        XCTAssertEqual(slot.sourceSequence(forSlotSequence: 3), 509)
        // Another source with unrelated numbering, 100 ms later.
        slot.rebase(filled: true, waitForKeyframe: false)
        XCTAssertNil(slot.sourceSequence(forSlotSequence: 3), "nothing of the new source has gone out yet")
        now = now + .milliseconds(80)
        let first = slot.rewrite(sequence: 7, timestamp: 4_000_000_000, isKeyframe: false, payloadBytes: 80, now: now)!
        XCTAssertEqual(first.sequence, 4)
        // 100 ms after the last packet at 48 kHz: 4 800 ticks.
        XCTAssertEqual(first.timestamp, out.last!.1 &+ 4_800)
        XCTAssertNil(slot.rewrite(sequence: 6, timestamp: 3_999_999_040, isKeyframe: false, payloadBytes: 80, now: now),
                     "a packet from before the switch point would go backwards")
        let second = slot.rewrite(sequence: 8, timestamp: 4_000_000_960, isKeyframe: false, payloadBytes: 80, now: now)!
        XCTAssertEqual(second.sequence, 5)
        XCTAssertEqual(slot.sourceSequence(forSlotSequence: 5), 8)
        XCTAssertNil(slot.sourceSequence(forSlotSequence: 3), "the previous source's numbers map to nothing")
        XCTAssertNil(slot.sourceSequence(forSlotSequence: 6), "nor do numbers not sent yet")
        XCTAssertEqual(slot.packetsSent, 12)
    }

    func testVideoSwitchWaitsForKeyframe() {
        var slot = SubscribedSlot(ssrc: 0xB, clockRate: 90_000, initialSequence: 1, initialTimestamp: 0)
        slot.rebase(filled: true, waitForKeyframe: true)
        XCTAssertTrue(slot.awaitsKeyframe)
        let now = Instant.milliseconds(5)
        XCTAssertNil(slot.rewrite(sequence: 10, timestamp: 0, isKeyframe: false, payloadBytes: 1000, now: now))
        XCTAssertNotNil(slot.rewrite(sequence: 11, timestamp: 3000, isKeyframe: true, payloadBytes: 1000, now: now))
        XCTAssertFalse(slot.awaitsKeyframe)
        XCTAssertNotNil(slot.rewrite(sequence: 12, timestamp: 3000, isKeyframe: false, payloadBytes: 1000, now: now))
    }

    func testEmptySlotForwardsNothing() {
        var slot = SubscribedSlot(ssrc: 1, clockRate: 48_000, initialSequence: 0, initialTimestamp: 0)
        XCTAssertNil(slot.rewrite(sequence: 1, timestamp: 1, isKeyframe: true, payloadBytes: 1, now: .zero))
        slot.rebase(filled: true, waitForKeyframe: false)
        slot.rebase(filled: false, waitForKeyframe: false)
        XCTAssertFalse(slot.isFilled)
        XCTAssertNil(slot.rewrite(sequence: 1, timestamp: 1, isKeyframe: true, payloadBytes: 1, now: .zero))
    }
}
