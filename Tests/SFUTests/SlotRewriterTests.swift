import XCTest
import Wire
@testable import SFU

final class SlotRewriterTests: XCTestCase {
    func testContinuityAcrossSourceSwitch() {
        var slot = SlotRewriter(ssrc: 0xA, clockRate: 48_000, initialSequence: 65_530, initialTimestamp: 1_000)
        slot.switchTo(111, waitForKeyframe: false)
        var now = Instant.milliseconds(1_000)
        var out: [(UInt16, UInt32)] = []
        for i in 0..<10 {
            let r = slot.rewrite(source: 111, sequence: UInt16(500 + i), timestamp: UInt32(90_000 + 960 * i),
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
        // Another source with unrelated numbering, 100 ms later.
        slot.switchTo(222, waitForKeyframe: false)
        XCTAssertNil(slot.rewrite(source: 111, sequence: 510, timestamp: 0, isKeyframe: false, payloadBytes: 80, now: now),
                     "the old source no longer passes")
        now = now + .milliseconds(80)
        let first = slot.rewrite(source: 222, sequence: 7, timestamp: 4_000_000_000, isKeyframe: false, payloadBytes: 80, now: now)!
        XCTAssertEqual(first.sequence, 4)
        // 100 ms after the last packet at 48 kHz: 4 800 ticks.
        XCTAssertEqual(first.timestamp, out.last!.1 &+ 4_800)
        XCTAssertNil(slot.rewrite(source: 222, sequence: 6, timestamp: 3_999_999_040, isKeyframe: false, payloadBytes: 80, now: now),
                     "a packet from before the switch point would go backwards")
        let second = slot.rewrite(source: 222, sequence: 8, timestamp: 4_000_000_960, isKeyframe: false, payloadBytes: 80, now: now)!
        XCTAssertEqual(second.sequence, 5)
        XCTAssertEqual(slot.sourceSequence(forSlotSequence: 5), 8)
        XCTAssertEqual(slot.packetsSent, 12)
    }

    func testVideoSwitchWaitsForKeyframe() {
        var slot = SlotRewriter(ssrc: 0xB, clockRate: 90_000, initialSequence: 1, initialTimestamp: 0)
        slot.switchTo(5, waitForKeyframe: true)
        let now = Instant.milliseconds(5)
        XCTAssertNil(slot.rewrite(source: 5, sequence: 10, timestamp: 0, isKeyframe: false, payloadBytes: 1000, now: now))
        XCTAssertNotNil(slot.rewrite(source: 5, sequence: 11, timestamp: 3000, isKeyframe: true, payloadBytes: 1000, now: now))
        XCTAssertNotNil(slot.rewrite(source: 5, sequence: 12, timestamp: 3000, isKeyframe: false, payloadBytes: 1000, now: now))
    }

    func testEmptySlotForwardsNothing() {
        var slot = SlotRewriter(ssrc: 1, clockRate: 48_000, initialSequence: 0, initialTimestamp: 0)
        XCTAssertNil(slot.rewrite(source: 9, sequence: 1, timestamp: 1, isKeyframe: true, payloadBytes: 1, now: .zero))
        slot.switchTo(9, waitForKeyframe: false)
        slot.switchTo(nil, waitForKeyframe: false)
        XCTAssertNil(slot.source)
        XCTAssertNil(slot.rewrite(source: 9, sequence: 1, timestamp: 1, isKeyframe: true, payloadBytes: 1, now: .zero))
    }
}
