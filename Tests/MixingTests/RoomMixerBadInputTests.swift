import XCTest
import CohortTestSupport
import Wire
@testable import Mixing

/// Bad input from one publisher is counted and dropped; everyone else's
/// mix keeps its 20 ms cadence and its content.
final class RoomMixerBadInputTests: XCTestCase {
    /// Two good publishers (317 and 761 Hz) who listen, one bad one (key 9), a pure listener.
    private func room() throws -> MixHarness {
        let h = MixHarness()
        try h.addPublisher(TonePublisher(key: 1, hz: 317), listening: true)
        try h.addPublisher(TonePublisher(key: 2, hz: 761), listening: true)
        try h.mixer.addContributor(9)
        try h.addListener("pure", contributorKey: nil)
        return h
    }

    private func assertGoodOutput(_ h: MixHarness, ticks: Int, tolerance: Double = 2.5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(h.framesPerTick.count, ticks, "cadence", file: file, line: line)
        for tick in h.framesPerTick {
            XCTAssertEqual(tick, ["p1": 1, "p2": 1, "pure": 1], file: file, line: line)
        }
        // p1 hears 761 Hz at the publisher's level (-20 dB) and not its own tone.
        let p1 = h.tail("p1", ms: 1_000)
        XCTAssertEqual(ToneMeter.level(p1, hz: 761), -20, accuracy: tolerance, file: file, line: line)
        XCTAssertLessThan(ToneMeter.level(p1, hz: 317), -50, file: file, line: line)
        let pure = h.tail("pure", ms: 1_000)
        XCTAssertEqual(ToneMeter.level(pure, hz: 317), -20, accuracy: tolerance, file: file, line: line)
        XCTAssertEqual(ToneMeter.level(pure, hz: 761), -20, accuracy: tolerance, file: file, line: line)
    }

    /// Random bytes (well-framed or not) every 20 ms from the bad publisher.
    func testGarbagePayloads() throws {
        let h = try room()
        var random = SeededRandom(seed: 5)
        var seq: UInt16 = 0
        h.extra = { now in
            seq &+= 1
            let length = Int(random.next() % 200)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            return [.init(arrival: now, key: 9, sequence: seq, timestamp: UInt32(seq) * 960, payload: bytes)]
        }
        try h.run(ms: 2_000)
        assertGoodOutput(h, ticks: 100)
        let bad = h.mixer.bufferCounters(of: 9)!
        XCTAssertEqual(bad.received, 100)
        XCTAssertGreaterThan(bad.malformed, 10, "framing errors counted at the door")
        // What passes the framing check reaches libopus: decoded as noise or
        // refused and concealed (counted in decodeErrors), never a stall.
        XCTAssertGreaterThan(h.mixer.counters.decodeCalls, 3 * 95)
        XCTAssertEqual(h.mixer.counters.decodeErrors, 0, "the framing check (RFC 6716 §3.4) already rejects all libopus would")
    }

    /// A 120 ms packet (RFC 6716 §3.4 R5's limit) decodes once and feeds
    /// six ticks; the seventh, with nothing left, conceals; cadence holds.
    func testLongPacketFeedsSeveralTicks() throws {
        let mixer = RoomMixer()
        try mixer.addContributor(1)
        try mixer.addListener("pure", contributorKey: nil)
        let now = Instant.milliseconds(1_000)
        // Config 31 (CELT FB 20 ms), code 3 CBR, 6 frames of 10 bytes.
        let packet: [UInt8] = [0xFB, 6] + Array(repeating: 0x55, count: 60)
        XCTAssertEqual(try OpusPacketInfo(parsing: packet).samples, 5_760)
        XCTAssertEqual(mixer.receive(key: 1, sequence: 1, timestamp: 0, payload: packet, now: now), .stored)
        var frames = 0
        for i in 0..<8 { frames += mixer.tick(now: now + .milliseconds(20 * Int64(i) + 20)).count }
        XCTAssertEqual(frames, 8)
        XCTAssertEqual(mixer.counters.decodeCalls, 1 + 2, "one decode for six ticks, then concealment")
    }

    /// Bursts of reordered and duplicated packets from one publisher.
    func testReorderedAndDuplicatedBursts() throws {
        let h = try room()
        var random = SeededRandom(seed: 11)
        h.network = { p, _ in
            guard p.key == 1 else { return [.milliseconds(5)] }
            // Every packet arrives twice or three times, up to 30 ms apart,
            // so bursts overtake each other.
            let copies = 2 + Int(random.next() % 2)
            return (0..<copies).map { _ in .milliseconds(2 + Int64(random.next() % 30)) }
        }
        try h.run(ms: 2_000)
        assertGoodOutput(h, ticks: 100)
        let c = h.mixer.bufferCounters(of: 1)!
        XCTAssertGreaterThan(c.duplicates + c.lateDrops, 100, "extra copies dropped and counted")
        XCTAssertLessThan(c.lost, 10, "almost every packet played once")
    }

    /// A publisher sending ten times the normal rate (consecutive sequence
    /// numbers and timestamps) holds at most the maximum delay and drops
    /// its oldest; the others are unaffected.
    func testTenfoldPacketRate() throws {
        let h = try room()
        let flooder = try TonePublisher(key: 9, hz: 1_409)
        h.extra = { now in
            (0..<10).map { i in
                let (seq, ts, payload) = try! flooder.next()
                return .init(arrival: now + .milliseconds(Int64(i) * 2), key: 9, sequence: seq, timestamp: ts, payload: payload)
            }
        }
        try h.run(ms: 2_000)
        // A third tone (the flooder's) in the 32 kbit/s output costs the
        // others up to 3 dB in SILK's coding; the mixer itself is exact.
        assertGoodOutput(h, ticks: 100, tolerance: 3.5)
        let c = h.mixer.bufferCounters(of: 9)!
        XCTAssertGreaterThanOrEqual(c.received, 990)
        XCTAssertGreaterThan(c.overflowDrops + c.latencyDrops, 800, "the flood is shed")
        XCTAssertLessThanOrEqual(h.mixer.jitterBuffer(of: 9)!.bufferedPackets, 11, "at most the 200 ms bound is held")
    }
}
