import XCTest
import Wire
@testable import Mixing

/// The jitter buffer on its own, with hand-timed arrivals.
final class OpusJitterBufferTests: XCTestCase {
    /// A valid SILK WB 20 ms packet (config 9, code 0) whose first byte sets
    /// the LBRR flag (second bit) or not, tagged with a marker byte.
    func packet(_ tag: UInt8, lbrr: Bool = false) -> [UInt8] { [0x48, lbrr ? 0xC0 : 0x80, tag] }
    let t0 = Instant.milliseconds(1_000)
    func at(_ ms: Int64) -> Instant { t0 + .milliseconds(ms) }

    /// Fills with `count` packets from `first`, 20 ms apart, tag = index.
    func filled(_ b: inout OpusJitterBuffer, first: UInt16 = 100, count: Int, lbrr: Bool = false) {
        for i in 0..<count {
            b.insert(sequence: first &+ UInt16(i), timestamp: UInt32(i * 960), payload: packet(UInt8(i), lbrr: lbrr), now: at(Int64(i) * 20))
        }
    }

    func testPrimesForTheTargetDelayThenPlaysInOrder() {
        var b = OpusJitterBuffer()
        XCTAssertEqual(b.pop(now: t0), .nothing, "not started")
        b.insert(sequence: 100, timestamp: 0, payload: packet(0), now: t0)
        XCTAssertEqual(b.targetDelay, .milliseconds(20))
        XCTAssertEqual(b.pop(now: at(10)), .nothing, "priming")
        b.insert(sequence: 101, timestamp: 960, payload: packet(1), now: at(20))
        XCTAssertEqual(b.pop(now: at(20)), .packet(packet(0)))
        XCTAssertEqual(b.pop(now: at(40)), .packet(packet(1)))
    }

    func testReorderingWithinTheDelayIsInvisible() {
        var b = OpusJitterBuffer()
        b.insert(sequence: 101, timestamp: 960, payload: packet(1), now: t0)
        b.insert(sequence: 100, timestamp: 0, payload: packet(0), now: at(1))  // earlier one, still priming
        b.insert(sequence: 103, timestamp: 2_880, payload: packet(3), now: at(2))
        b.insert(sequence: 102, timestamp: 1_920, payload: packet(2), now: at(3))
        XCTAssertEqual((0..<4).map { b.pop(now: at(40 + 20 * Int64($0))) }, (0..<4).map { .packet(packet(UInt8($0))) })
        XCTAssertEqual(b.counters.lost, 0)
    }

    func testDuplicatesAndLatePacketsAreCountedAndDropped() {
        var b = OpusJitterBuffer()
        filled(&b, count: 3)
        XCTAssertEqual(b.insert(sequence: 101, timestamp: 960, payload: packet(1), now: at(41)), .duplicate)
        _ = b.pop(now: at(60)); _ = b.pop(now: at(80))
        XCTAssertEqual(b.insert(sequence: 100, timestamp: 0, payload: packet(0), now: at(81)), .duplicate, "already played")
        // 103 never came; 104 did; 103's turn passes; then 103 arrives.
        b.insert(sequence: 104, timestamp: 3_840, payload: packet(4), now: at(82))
        _ = b.pop(now: at(100))  // 102
        XCTAssertEqual(b.pop(now: at(120)), .conceal, "103 is lost")
        XCTAssertEqual(b.insert(sequence: 103, timestamp: 2_880, payload: packet(3), now: at(121)), .late)
        XCTAssertEqual(b.pop(now: at(140)), .packet(packet(4)))
        XCTAssertEqual(b.counters.duplicates, 2)
        XCTAssertEqual(b.counters.lateDrops, 1)
        XCTAssertEqual(b.counters.lost, 1)
    }

    func testLossUsesFECFromASuccessorWithLBRR() {
        var b = OpusJitterBuffer()
        // Packets 1 and 4 never arrive; each tick pops after the next arrival.
        var out: [OpusJitterBuffer.Output] = []
        for i in 0..<7 {
            if [0, 2, 3, 5, 6].contains(i) {
                b.insert(sequence: 100 + UInt16(i), timestamp: UInt32(i * 960), payload: packet(UInt8(i), lbrr: i == 2), now: at(Int64(i) * 20))
            }
            if i > 0 { out.append(b.pop(now: at(Int64(i) * 20 + 5))) }
        }
        XCTAssertEqual(out, [.packet(packet(0)), .fec(packet(2, lbrr: true)), .packet(packet(2, lbrr: true)),
                             .packet(packet(3)), .conceal, .packet(packet(5))])
        XCTAssertEqual(b.counters.fecRecovered, 1)
        XCTAssertEqual(b.counters.lost, 2)
    }

    func testSequenceWrapAround() {
        var b = OpusJitterBuffer()
        var out: [OpusJitterBuffer.Output] = []
        for i in 0..<5 {
            b.insert(sequence: 65_534 &+ UInt16(i), timestamp: UInt32(i * 960), payload: packet(UInt8(i)), now: at(Int64(i) * 20))
            if i > 0 { out.append(b.pop(now: at(Int64(i) * 20 + 5))) }
        }
        XCTAssertEqual(out, (0..<4).map { .packet(packet(UInt8($0))) }, "65534, 65535, 0, 1")
        XCTAssertEqual(b.counters.lateDrops + b.counters.lost + b.counters.resyncs, 0)
    }

    func testSequenceJumpRestartsAndTimestampJumpRebasesJitter() {
        var b = OpusJitterBuffer()
        filled(&b, count: 3)
        XCTAssertEqual(b.insert(sequence: 30_000, timestamp: 5, payload: packet(9), now: at(60)), .resynced)
        XCTAssertEqual(b.pop(now: at(60)), .nothing, "priming again")
        XCTAssertEqual(b.pop(now: at(80)), .packet(packet(9)))
        // A timestamp jump with consecutive sequence numbers: played, the
        // jitter estimate does not explode.
        b.insert(sequence: 30_001, timestamp: 2_000_000_000, payload: packet(10), now: at(81))
        XCTAssertEqual(b.counters.resyncs, 2)
        XCTAssertLessThan(b.jitter, .milliseconds(5))
        XCTAssertEqual(b.pop(now: at(100)), .packet(packet(10)))
    }

    func testTargetDelayAdaptsToJitterWithinBounds() {
        var b = OpusJitterBuffer()
        // Arrivals alternating 0 and 30 ms late: RFC 3550 jitter converges to ~30 ms.
        for i in 0..<200 {
            let late: Int64 = i % 2 == 0 ? 0 : 30
            b.insert(sequence: UInt16(i), timestamp: UInt32(i * 960), payload: packet(0), now: at(Int64(i) * 20 + late))
            _ = b.pop(now: at(Int64(i) * 20 + 10))
        }
        XCTAssertEqual(b.jitter.seconds, 0.030, accuracy: 0.003)
        XCTAssertEqual(b.targetDelay.seconds, 0.110, accuracy: 0.001, "20 ms + 3 × 30 ms")
        // Wild arrivals clamp at 200 ms.
        var wild = OpusJitterBuffer()
        for i in 0..<200 {
            let late: Int64 = i % 2 == 0 ? 0 : 500
            wild.insert(sequence: UInt16(i), timestamp: UInt32(i * 960), payload: packet(0), now: at(Int64(i) * 20 + late))
        }
        XCTAssertEqual(wild.targetDelay, .milliseconds(200))
    }

    /// A buffer made mid-stream starts at the stream's known jitter: it
    /// primes for 20 ms + 3 × 30 ms and so rides out every fourth packet
    /// arriving 60 ms late, where an unseeded buffer conceals while it learns.
    func testExpectedJitterSetsTheFirstPrimingDelay() {
        func concealments(_ b: inout OpusJitterBuffer) -> Int {
            var concealed = 0
            // Packet i is sent at 20i ms and arrives 5 ms later, or 65 ms
            // later for every fourth; the mixer pops on a 20 ms grid.
            for t in stride(from: Int64(0), to: 900, by: 5) {
                for i in 0..<40 where Int64(i * 20 + (i % 4 == 0 ? 65 : 5)) == t {
                    b.insert(sequence: UInt16(i), timestamp: UInt32(i * 960), payload: packet(UInt8(i)), now: at(t))
                }
                if t % 20 == 10, case .conceal = b.pop(now: at(t)) { concealed += 1 }
            }
            return concealed
        }
        var seeded = OpusJitterBuffer()
        seeded.expectJitter(.milliseconds(30))
        XCTAssertEqual(seeded.targetDelay.seconds, 0.110, accuracy: 0.001)
        XCTAssertEqual(concealments(&seeded), 0, "seeded: every packet in time")
        var plain = OpusJitterBuffer()
        XCTAssertEqual(plain.targetDelay, .milliseconds(20))
        XCTAssertGreaterThan(concealments(&plain), 0, "unseeded: concealment while it learns")
        // Once started, seeding changes nothing.
        var started = OpusJitterBuffer()
        started.insert(sequence: 1, timestamp: 0, payload: packet(0), now: t0)
        started.expectJitter(.milliseconds(50))
        XCTAssertEqual(started.targetDelay, .milliseconds(20))
    }

    func testFloodIsBoundedOldestFirst() {
        var b = OpusJitterBuffer()
        for i in 0..<100 {
            b.insert(sequence: UInt16(i), timestamp: UInt32(i * 960), payload: packet(UInt8(i)), now: at(Int64(i)))
        }
        XCTAssertEqual(b.bufferedPackets, 11, "200 ms + one frame")
        XCTAssertEqual(b.counters.overflowDrops, 89)
        XCTAssertEqual(b.pop(now: at(200)), .packet(packet(90)), "the newest are kept, less one to approach the target")
        XCTAssertEqual(b.counters.latencyDrops, 1)
    }

    func testSilenceStopsContributingAndRestarts() {
        var b = OpusJitterBuffer()
        filled(&b, count: 2)
        XCTAssertEqual(b.pop(now: at(20)), .packet(packet(0)))
        XCTAssertEqual(b.pop(now: at(40)), .packet(packet(1)))
        XCTAssertEqual(b.pop(now: at(60)), .conceal, "underrun: not silent yet")
        XCTAssertEqual(b.pop(now: at(240)), .nothing, "200 ms without a packet: silent")
        XCTAssertEqual(b.state, .idle)
        // DTX-style resumption after 400 ms with the next sequence number.
        b.insert(sequence: 102, timestamp: 20_000, payload: packet(2), now: at(420))
        XCTAssertEqual(b.pop(now: at(440)), .packet(packet(2)))
        XCTAssertEqual(b.insert(sequence: 90, timestamp: 0, payload: packet(0), now: at(441)), .late)
    }

    func testMalformedPayloadIsRefused() {
        var b = OpusJitterBuffer()
        XCTAssertEqual(b.insert(sequence: 1, timestamp: 0, payload: [], now: t0), .malformed(.emptyPayload))
        XCTAssertEqual(b.counters.malformed, 1)
        XCTAssertEqual(b.pop(now: at(100)), .nothing)
    }
}
