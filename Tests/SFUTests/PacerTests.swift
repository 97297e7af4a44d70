import CohortClient
import Congestion
import RTP
import Wire
import XCTest
@testable import SFU

/// The per-subscriber pacer (issue 12, "audio first"): video leaves at the
/// pacing rate, audio never waits, held copies are numbered when they
/// leave, and what cannot be held in time is dropped as a gap.
final class PacerTests: XCTestCase {
    private func ms(_ n: UInt64) -> Instant { .milliseconds(n) }

    /// Writes a copy of `length` bytes, each `fill`, with no transport-wide number.
    private func hold(_ pacer: inout Pacer, length: Int, fill: UInt8, now: Instant) -> Bool {
        pacer.hold(capacity: length, isScreen: false, now: now) { out in
            for i in 0..<length { out[i] = fill }
            return (length, nil)
        }
    }

    func testNothingIsHeldUntilTheAllocationSetsARate() {
        var pacer = Pacer()
        pacer.noteSent(100_000, now: ms(10))
        XCTAssertFalse(pacer.mustHold(now: ms(10)))
        XCTAssertFalse(hold(&pacer, length: 100, fill: 1, now: ms(10)), "no rate: nothing to hold for")
        XCTAssertNil(pacer.nextRelease)
    }

    func testTheRateIsTheEstimateOnANarrowPathAndAboveItElsewhere() {
        XCTAssertEqual(Pacer.rate(estimate: 280_000, narrowPath: true), 280_000)
        XCTAssertEqual(Pacer.rate(estimate: 280_000, narrowPath: false), 350_000)
    }

    func testCopiesLeaveInOrderAtTheRate() {
        var pacer = Pacer()
        pacer.rate = 800_000  // 100 bytes a millisecond
        let start = ms(1_000)
        XCTAssertFalse(pacer.mustHold(now: start), "an idle budget sends at once")
        pacer.noteSent(1_000, now: start)
        // 20 ms of burst after a quiet spell: the budget is spent 10 ms before now + 10 ms.
        XCTAssertFalse(pacer.mustHold(now: start), "within the burst")
        pacer.noteSent(3_000, now: start)
        XCTAssertTrue(pacer.mustHold(now: start))
        XCTAssertEqual(pacer.nextRelease, nil, "nothing held yet")
        for fill in UInt8(1)...3 { XCTAssertTrue(hold(&pacer, length: 1_000, fill: fill, now: start)) }
        XCTAssertEqual(pacer.nextRelease, start + .milliseconds(20))
        XCTAssertTrue(pacer.mustHold(now: start + .milliseconds(30)), "order is kept while anything waits")
        var released: [UInt8] = []
        var times: [Instant] = []
        var now = start
        while now <= start + .milliseconds(60) {
            while pacer.releaseFirst(now: now, { bytes, held in
                XCTAssertEqual(held.length, 1_000)
                XCTAssertTrue(bytes.allSatisfy { $0 == bytes[0] }, "one copy's bytes")
                released.append(bytes[0])
                return held.length
            }) { times.append(now) }
            now = now + .milliseconds(1)
        }
        XCTAssertEqual(released, [1, 2, 3])
        XCTAssertEqual(times, [start + .milliseconds(20), start + .milliseconds(30), start + .milliseconds(40)])
        XCTAssertTrue(pacer.isEmpty)
        XCTAssertFalse(pacer.mustHold(now: start + .milliseconds(50)))
    }

    func testACopyThatWouldWaitTooLongOrFindTheRingFullIsRefused() {
        var pacer = Pacer()
        pacer.rate = 80_000  // 10 bytes a millisecond: 500 ms is 5 000 bytes
        let now = ms(1_000)
        pacer.noteSent(1_000, now: now)
        var held = 0
        while hold(&pacer, length: 1_000, fill: 1, now: now) { held += 1 }
        // 80 ms of budget spent, then 4 copies wait 480 ms in all; a 5th would wait 580.
        XCTAssertEqual(held, 5)
        XCTAssertEqual(pacer.heldBytes, 5_000)

        var fast = Pacer()
        fast.rate = 1_000_000_000
        fast.noteSent(100_000, now: now)
        var count = 0
        while hold(&fast, length: 1_200, fill: 2, now: now) { count += 1 }
        XCTAssertEqual(count, Pacer.capacity, "a full ring refuses")
        XCTAssertFalse(fast.hold(capacity: Pacer.slotBytes + 1, isScreen: false, now: now) { _ in (1, nil) })
    }
}

/// The pacer in the engine: one publisher's keyframe burst to a subscriber
/// whose estimate is pinned.
final class PacedForwardingTests: XCTestCase {
    private var audioSent: [Instant] = []

    /// `pub` publishes audio and video; `sub` receives both with transport-cc,
    /// its estimate pinned at `bitrate` and allocated.
    private func call(bitrate: Int) throws -> EngineHarness {
        let h = EngineHarness()
        try h.join("pub", slots: 1, lossRepair: true, transportWide: true)
        try h.join("sub", audio: false, video: false, slots: 1, lossRepair: true, transportWide: true)
        h.run(for: .milliseconds(100))
        let sub = h.engine.participant(h.participantIDs["sub"]!)!
        sub.subscriber.bandwidth = BandwidthEstimator(configuration: .init(
            initial: bitrate, minimum: bitrate, maximum: bitrate, settleTime: .milliseconds(0)))
        sub.subscriber.nextAllocation = .zero
        h.clients["sub"]!.client.sendRTCP([RTCPTransportWideFeedback(
            senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: 0, referenceTime: 0, feedbackPacketCount: 0,
            packets: [.init(sequenceNumber: 0, status: .notReceived, receiveDelta: 0)])])
        // The feedback started the first start-up probe (15 ms): over
        // before the burst, which a running probe would delay (it goes on
        // when copies are held; `testAProbeRunsToItsEndWhileTheVideoItDelaysWaits`).
        h.run(for: .milliseconds(25))
        XCTAssertNil(sub.subscriber.probe)
        XCTAssertEqual(sub.subscriber.pacer.rate, Int(Double(bitrate) * Pacer.factor))
        h.received["sub"] = []
        return h
    }

    /// Sends a keyframe of `packets` packets of 1 000 bytes at once, then runs
    /// 800 ms with an audio packet every 20 ms; returns what `sub` received,
    /// each with when it arrived.
    private func burst(_ h: EngineHarness, packets: Int) -> [(at: Instant, header: RTPHeader, packet: [UInt8])] {
        let pub = h.clients["pub"]!.client
        for i in 0..<packets {
            pub.sendRTP(ssrc: pub.offer.videoSSRC!, payloadType: ClientOffer.vp8PayloadType, timestamp: 90_000,
                        marker: i == packets - 1, payload: [i == 0 ? 0x10 : 0x00, 0x00] + [UInt8](repeating: 7, count: 998))
        }
        var arrivals: [(Instant, RTPHeader, [UInt8])] = []
        for step in 0..<800 {
            if step % 20 == 0 {
                let timestamp = UInt32(step) * 48
                pub.sendRTP(ssrc: pub.offer.audioSSRC!, payloadType: ClientOffer.opusPayloadType, timestamp: timestamp,
                            payload: [0xF8, 0xFF, 0xFE])
                audioSent.append(h.clock.now)
            }
            h.run(for: .milliseconds(1))
            for case .rtp(_, let header, let packet) in h.received["sub"] ?? [] { arrivals.append((h.clock.now, header, packet)) }
            h.received["sub"] = []
        }
        return arrivals
    }

    func testAKeyframeBurstLeavesAtThePacingRateWhileAudioGoesAtOnce() throws {
        let h = try call(bitrate: 400_000)
        let arrivals = burst(h, packets: 25)
        let video = arrivals.filter { $0.header.payloadType == ClientOffer.vp8PayloadType }
        let audio = arrivals.filter { $0.header.payloadType == ClientOffer.opusPayloadType }
        XCTAssertEqual(video.count, 25, "the whole keyframe arrives")
        for (a, b) in zip(video, video.dropFirst()) { XCTAssertEqual(b.header.sequenceNumber, a.header.sequenceNumber &+ 1) }
        // 25 copies of about 1 040 bytes at 500 kbit/s: about 400 ms from first to last, not all at once.
        let bytes = video.dropFirst().reduce(0) { $0 + $1.packet.count + 16 }
        let spread = (video.last!.at - video.first!.at).seconds
        XCTAssertGreaterThan(spread, 0.9 * Double(bytes * 8) / 500_000, "paced, not a burst")
        XCTAssertLessThan(spread, Pacer.maximumDelay.seconds)
        // No probe starts while copies are held (probe padding is RTX).
        let probes = arrivals.filter { $0.header.payloadType == ClientOffer.rtxPayloadType }
        XCTAssertFalse(probes.contains { $0.at > video.first!.at && $0.at < video.last!.at }, "a probe on top of the keyframe")
        // Never more than the rate over any 100 ms, the 20 ms burst and one copy aside.
        for first in video {
            let window = arrivals.filter { $0.at >= first.at && $0.at < first.at + .milliseconds(100) }
            let sent = window.reduce(0) { $0 + $1.packet.count + 16 }
            XCTAssertLessThanOrEqual(sent, (500_000 / 8) * 120 / 1_000 + 1_100, "over the rate at \(first.at)")
        }
        // Audio is never held: each arrives after the network's 2 ms to the server and 2 ms on.
        XCTAssertEqual(audio.count, 40)
        for (a, sent) in zip(audio, audioSent) {
            XCTAssertEqual(a.at - sent, .milliseconds(4), "audio waited behind video")
        }
        // Numbered as they left: one transport-wide sequence, no gap, in arrival order.
        let numbers = arrivals.compactMap { $0.header.transportSequenceNumber(id: ClientOffer.transportWideID, in: $0.packet) }
        XCTAssertEqual(numbers.count, arrivals.count)
        for (a, b) in zip(numbers, numbers.dropFirst()) { XCTAssertEqual(b, a &+ 1) }
        XCTAssertGreaterThanOrEqual(h.engine.counters.pacedCopiesHeld, 20)
        XCTAssertEqual(h.engine.counters.pacedCopiesDropped, 0)
    }

    func testABurstLongerThanTheWaitAllowedLosesItsTailAsAGap() throws {
        let h = try call(bitrate: 200_000)  // paced at 250 kbit/s: 500 ms is about 15 copies
        let arrivals = burst(h, packets: 40)
        let video = arrivals.filter { $0.header.payloadType == ClientOffer.vp8PayloadType }
        XCTAssertGreaterThan(h.engine.counters.pacedCopiesDropped, 15)
        XCTAssertEqual(video.count + h.engine.counters.pacedCopiesDropped, 40)
        // The last copy accepted was due within `maximumDelay` of the burst,
        // after its own time at the rate; audio, never held, spent budget
        // meanwhile and moved it that much later.
        let rate = 250_000.0
        let audioBytes = arrivals.filter { $0.header.payloadType == ClientOffer.opusPayloadType && $0.at <= video.last!.at }
            .reduce(0) { $0 + $1.packet.count }
        let bound = Pacer.maximumDelay.seconds + Double((video.last!.packet.count + 16) * 8) / rate + Double(audioBytes * 8) / rate
        XCTAssertLessThan((video.last!.at - video.first!.at).seconds, bound)
        // The dropped copies had their numbers: the subscriber sees the gap and can ask for them.
        let first = video.first!.header.sequenceNumber
        let last = video.last!.header.sequenceNumber
        XCTAssertEqual(Int(last &- first) + 1, video.count, "the copies sent come first, in order")
        XCTAssertEqual(h.engine.counters.audioPacketsForwarded, 40)
    }
}
