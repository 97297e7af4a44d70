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

    /// A source that fills a slot for hours: 16-bit serial order flips after
    /// 32 768 packets (11 minutes of audio), which must not make the slot
    /// take newer packets for ones from before the switch.
    func testALongRunningSourceKeepsFlowingAndItsNacksMap() {
        var slot = SubscribedSlot(ssrc: 1, clockRate: 48_000, initialSequence: 100, initialTimestamp: 0)
        slot.rebase(filled: true, waitForKeyframe: false)
        var now = Instant.zero
        var forwarded = 0
        var out: UInt16 = 0
        for i in 0..<150_000 {
            let seq = UInt16(truncatingIfNeeded: 40_000 + i)
            if let r = slot.rewrite(sequence: seq, timestamp: UInt32(truncatingIfNeeded: i * 960), isKeyframe: false,
                                    payloadBytes: 80, now: now) {
                forwarded += 1
                out = r.sequence
            }
            now = now + .milliseconds(20)
        }
        XCTAssertEqual(forwarded, 150_000, "every packet of the source passes")
        XCTAssertEqual(slot.sourceSequence(forSlotSequence: out), UInt16(truncatingIfNeeded: 40_000 + 149_999))
        XCTAssertEqual(slot.sourceSequence(forSlotSequence: out &- 500), UInt16(truncatingIfNeeded: 40_000 + 149_499))
        XCTAssertNil(slot.sourceSequence(forSlotSequence: out &+ 1), "not sent yet")
    }
}
