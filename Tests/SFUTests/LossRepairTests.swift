import CohortClient
import CohortTestSupport
import RTP
import SFU
import Wire
import XCTest

/// NACK and RTX through the engine over the virtual network with seeded
/// loss on one leg (RFC 4585 §6.2.1, RFC 4588): every lost video packet
/// that is still in the publisher's cache is repaired, nothing is resent to
/// the same subscriber twice within a round trip, and keyframe requests are
/// sent at once, coalesced, retried and cleared.
final class LossRepairTests: XCTestCase {
    /// Video packets the publisher sends, one every 10 ms.
    static let packets = 600

    /// A publisher and a subscriber that both negotiate NACK and RTX.
    /// `plain` subscribers negotiate no repair at all.
    private func pair(loss: Double, on link: (from: String, to: String), seed: UInt64, plain: [String] = []) throws -> EngineHarness {
        let h = EngineHarness(seed: seed)
        try h.join("pub", audio: false, lossRepair: true)
        try h.join("sub", audio: false, video: false, slots: 1, lossRepair: true)
        for name in plain { try h.join(name, audio: false, video: false, slots: 1, lossRepair: false) }
        // The first keyframe goes through clean, so every slot has started before loss begins.
        sendVideo(h, "pub", index: 0, keyframe: true)
        h.run(for: .milliseconds(10))
        let address = { (name: String) in name == "server" ? h.serverAddress.description : h.clients[name]!.address.description }
        h.network.linkLoss["\(address(link.from))>\(address(link.to))"] = loss
        return h
    }

    /// Sends one video packet from `name` whose payload names its index.
    private func sendVideo(_ h: EngineHarness, _ name: String, index: Int, keyframe: Bool) {
        let c = h.clients[name]!.client
        c.sendRTP(ssrc: c.offer.videoSSRC!, payloadType: ClientOffer.vp8PayloadType, timestamp: UInt32(index) * 900,
                  marker: true, payload: [0x10, keyframe ? 0x00 : 0x01] + Array("video:\(index)".utf8))
    }

    /// What the subscriber got on its video slot: payload index by slot
    /// sequence number (RTX unwrapped), and each RTX's arrival by OSN.
    private struct Reception {
        var bySequence: [UInt16: Int] = [:]
        var rtxArrivals: [UInt16: [Instant]] = [:]
        var highest: UInt16?
    }

    private func collect(_ h: EngineHarness, _ name: String, into r: inout Reception) {
        let c = h.clients[name]!.client
        for event in h.received[name] ?? [] {
            guard case .rtp(let ssrc, let header, var packet) = event else { continue }
            var h2 = header
            var sequence = header.sequenceNumber
            if let primary = c.primaryOfRTX[ssrc] {
                guard let osn = RTXPacket.unwrap(&packet, header: header, primarySSRC: primary,
                                                 primaryPayloadType: ClientOffer.vp8PayloadType),
                      let original = try? RTPHeader(parsing: packet) else { continue }
                h2 = original
                sequence = osn
                r.rtxArrivals[osn, default: []].append(h.clock.now)
            }
            let text = String(decoding: packet[h2.payloadRange].dropFirst(2), as: UTF8.self)
            guard text.hasPrefix("video:"), let index = Int(text.dropFirst(6)) else { continue }
            r.bySequence[sequence] = index
            if r.highest.map({ SerialNumber.isNewer(sequence, than: $0) }) ?? true { r.highest = sequence }
        }
        h.received[name] = []
    }

    func testSubscriberLossIsRepairedFromTheCache() throws {
        for (loss, seed) in [(0.01, UInt64(11)), (0.05, 12), (0.10, 13)] {
            let h = try pair(loss: loss, on: ("server", "sub"), seed: seed)
            let sub = h.clients["sub"]!.client
            let slotSSRC = try XCTUnwrap(sub.midBySSRC.first { $0.value == "v0" && sub.primaryOfRTX[$0.key] == nil }?.key)
            var r = Reception()
            var lastNack: [UInt16: Instant] = [:]
            var nacksSent = 0
            for i in 1..<Self.packets + 50 {
                if i < Self.packets { sendVideo(h, "pub", index: i, keyframe: false) }
                h.run(for: .milliseconds(10))
                collect(h, "sub", into: &r)
                // The subscriber NACKs what is missing below its highest number, at most every 40 ms per packet.
                guard let highest = r.highest, let first = r.bySequence.keys.min(by: { SerialNumber.isNewer($1, than: $0) })
                else { continue }
                var missing: [UInt16] = []
                var s = first
                while s != highest {
                    if r.bySequence[s] == nil, lastNack[s].map({ h.clock.now - $0 >= .milliseconds(40) }) ?? true {
                        missing.append(s)
                        lastNack[s] = h.clock.now
                    }
                    s &+= 1
                }
                if !missing.isEmpty {
                    sub.sendRTCP([RTCPNack(senderSSRC: 1, mediaSSRC: slotSSRC, lostSequenceNumbers: missing)])
                    nacksSent += 1
                }
            }
            let c = h.engine.counters
            let missing = Set(0..<Self.packets).subtracting(r.bySequence.values).sorted()
            XCTAssertEqual(missing, [], "every packet arrives at \(loss * 100) % loss")
            XCTAssertGreaterThan(nacksSent, 0)
            XCTAssertGreaterThan(c.retransmissionsSent, 0)
            XCTAssertEqual(c.retransmissionMisses, 0, "every NACKed packet was still in the cache")
            XCTAssertEqual(c.isolationViolations, 0)
            // Never twice to the same subscriber within a round trip (unmeasured here: the 100 ms default).
            for (osn, arrivals) in r.rtxArrivals {
                for (a, b) in zip(arrivals, arrivals.dropFirst()) {
                    XCTAssertGreaterThanOrEqual(b - a, .milliseconds(100), "RTX of \(osn) twice within an RTT")
                }
            }
        }
    }

    func testARepeatedNackWithinARoundTripIsNotAnsweredTwice() throws {
        let h = try pair(loss: 0, on: ("server", "sub"), seed: 3)
        let sub = h.clients["sub"]!.client
        let slotSSRC = try XCTUnwrap(sub.midBySSRC.first { $0.value == "v0" && sub.primaryOfRTX[$0.key] == nil }?.key)
        var r = Reception()
        for i in 0..<20 {
            sendVideo(h, "pub", index: i, keyframe: i == 0)
            h.run(for: .milliseconds(10))
        }
        collect(h, "sub", into: &r)
        let seq = try XCTUnwrap(r.bySequence.first { $0.value == 10 }?.key)
        let nack = RTCPNack(senderSSRC: 1, mediaSSRC: slotSSRC, lostSequenceNumbers: [seq])
        sub.sendRTCP([nack])
        sub.sendRTCP([nack])
        h.run(for: .milliseconds(20))
        collect(h, "sub", into: &r)
        XCTAssertEqual(r.rtxArrivals[seq]?.count, 1)
        XCTAssertEqual(h.engine.counters.retransmissionsSent, 1)
        XCTAssertEqual(h.engine.counters.retransmissionsSuppressed, 1)
        // After the round trip (100 ms until one is measured) it may go again.
        h.run(for: .milliseconds(100))
        sub.sendRTCP([nack])
        h.run(for: .milliseconds(20))
        collect(h, "sub", into: &r)
        XCTAssertEqual(r.rtxArrivals[seq]?.count, 2)
        // A number the slot never carried, and one older than the cache, are misses.
        sub.sendRTCP([RTCPNack(senderSSRC: 1, mediaSSRC: slotSSRC, lostSequenceNumbers: [seq &+ 5_000])])
        h.run(for: .milliseconds(1_200))
        sub.sendRTCP([nack])
        h.run(for: .milliseconds(20))
        XCTAssertEqual(h.engine.counters.retransmissionMisses, 2)
        XCTAssertEqual(h.engine.counters.retransmissionsSent, 2)
    }

    func testPublisherLossIsNackedUpstreamAndRepairedOnceForAll() throws {
        for (loss, seed) in [(0.01, UInt64(21)), (0.05, 22), (0.10, 23)] {
            let h = try pair(loss: loss, on: ("pub", "server"), seed: seed, plain: ["sub2"])
            var r = Reception(), r2 = Reception()
            for i in 1..<Self.packets + 100 {
                if i < Self.packets { sendVideo(h, "pub", index: i, keyframe: false) }
                h.run(for: .milliseconds(10))
                collect(h, "sub", into: &r)
                collect(h, "sub2", into: &r2)
            }
            let c = h.engine.counters
            let pub = h.clients["pub"]!.client
            // The last packets' loss shows only when a later one arrives; the first must arrive for the slot to start.
            XCTAssertEqual(Set(0..<Self.packets).subtracting(r.bySequence.values).sorted(), [],
                           "every packet reaches sub at \(loss * 100) % uplink loss")
            XCTAssertEqual(Set(0..<Self.packets).subtracting(r2.bySequence.values).sorted(), [],
                           "and sub2, which negotiated no repair at all")
            XCTAssertGreaterThan(c.nacksSent, 0)
            XCTAssertGreaterThan(c.nacksDuplicated, 0, "a lossy uplink gets each NACK twice")
            XCTAssertEqual(pub.nacksReceived, c.nacksSent + c.nacksDuplicated, "the way back to the publisher is clean")
            XCTAssertGreaterThanOrEqual(c.packetsRecovered, 1)
            XCTAssertEqual(c.rtxReceived, c.packetsRecovered + c.duplicatesDropped,
                           "each RTX either repairs a hole or is a duplicate that is dropped")
            XCTAssertEqual(c.retransmissionsSent, 0, "the subscribers' link is clean: no downlink repair")
        }
    }

    func testKeyframeRequestsAreSentAtOnceRetriedCoalescedAndCleared() throws {
        let h = try pair(loss: 0, on: ("server", "sub"), seed: 5)
        let sub = h.clients["sub"]!.client
        let slotSSRC = try XCTUnwrap(sub.midBySSRC.first { $0.value == "v0" && sub.primaryOfRTX[$0.key] == nil }?.key)
        var index = 1
        var asked = false
        /// Runs `ms` of 10 ms steps and counts the PLIs the publisher gets;
        /// it answers one with a keyframe in the next step when `answers`.
        func run(_ ms: Int, answers: Bool) -> Int {
            var plis = 0
            for _ in 0..<(ms / 10) {
                sendVideo(h, "pub", index: index, keyframe: asked && answers)
                asked = false
                index += 1
                h.run(for: .milliseconds(10))
                for event in h.received["pub"] ?? [] {
                    guard case .rtcp(let bytes) = event else { continue }
                    var reader = RTCPCompoundReader(bytes)
                    while let p = try? reader.next() { if case .pictureLossIndication = p { plis += 1; asked = true } }
                }
                h.received["pub"] = []
            }
            return plis
        }
        _ = run(1_500, answers: true)
        let base = h.engine.counters.pliSent
        // One PLI from the subscriber reaches the publisher within the same 10 ms step.
        sub.sendRTCP([RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: slotSSRC)])
        XCTAssertEqual(run(10, answers: false), 1)
        // No keyframe: retried after max(2 × RTT, 300 ms), coalescing what else arrives meanwhile.
        for _ in 0..<5 { sub.sendRTCP([RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: slotSSRC)]) }
        XCTAssertEqual(run(250, answers: false), 0, "coalesced while outstanding")
        XCTAssertEqual(run(100, answers: true), 1, "retried once the keyframe is late")
        XCTAssertEqual(h.engine.counters.pliSent, base + 2)
        // Answered: cleared, nothing more.
        XCTAssertEqual(run(1_500, answers: true), 0)
        // A lossy subscriber asking every 50 ms for 5 s costs at most one keyframe a second.
        var plis = 0
        for _ in 0..<100 {
            sub.sendRTCP([RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: slotSSRC)])
            plis += run(50, answers: true)
        }
        XCTAssertGreaterThanOrEqual(plis, 4)
        XCTAssertLessThanOrEqual(plis, 6, "at most one keyframe per second from this publisher")
        XCTAssertEqual(h.engine.counters.keyframeRequestsReceived, 106)
    }

    func testRoundTripFromReceiverReportsSpacesResends() throws {
        let h = try pair(loss: 0, on: ("server", "sub"), seed: 4)
        let sub = h.clients["sub"]!.client
        let slotSSRC = try XCTUnwrap(sub.midBySSRC.first { $0.value == "v0" && sub.primaryOfRTX[$0.key] == nil }?.key)
        var r = Reception()
        var report: (sr: RTCPSenderReport, at: Instant)?
        for i in 1..<150 {
            sendVideo(h, "pub", index: i, keyframe: false)
            h.run(for: .milliseconds(10))
            for event in h.received["sub"] ?? [] {
                guard case .rtcp(let bytes) = event else { continue }
                var reader = RTCPCompoundReader(bytes)
                while let p = try? reader.next() { if case .senderReport(let sr) = p, sr.ssrc == slotSSRC { report = (sr, h.clock.now) } }
            }
            collect(h, "sub", into: &r)
        }
        // RFC 3550 §6.4.1: LSR from our last sender report, DLSR the time the subscriber held it.
        let (sr, at) = try XCTUnwrap(report, "the server sends sender reports on the slot")
        let held = UInt32((h.clock.now - at).nanoseconds * 65_536 / 1_000_000_000)
        sub.sendRTCP([RTCPReceiverReport(ssrc: 1, reportBlocks: [
            RTCPReportBlock(ssrc: slotSSRC, fractionLost: 0, cumulativeLost: 0, extendedHighestSequenceNumber: 0, jitter: 0,
                            lastSenderReport: sr.compactNTP, delaySinceLastSenderReport: held)])])
        h.run(for: .milliseconds(10))
        // Measured well under the 100 ms default, so a NACK repeated 30 ms later is answered again.
        let seq = try XCTUnwrap(r.bySequence.first { $0.value == 100 }?.key)
        let nack = RTCPNack(senderSSRC: 1, mediaSSRC: slotSSRC, lostSequenceNumbers: [seq])
        sub.sendRTCP([nack])
        h.run(for: .milliseconds(30))
        sub.sendRTCP([nack])
        h.run(for: .milliseconds(30))
        collect(h, "sub", into: &r)
        XCTAssertEqual(r.rtxArrivals[seq]?.count, 2)
        XCTAssertEqual(h.engine.counters.retransmissionsSuppressed, 0)
    }
}
