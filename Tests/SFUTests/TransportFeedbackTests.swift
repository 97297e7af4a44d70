import CohortClient
import CohortTestSupport
import RTP
import SFU
import Wire
import XCTest

/// Transport-wide congestion control on what a client publishes (issue 12,
/// point 1): negotiated only where offered, and every packet's arrival
/// reported back in feedback about every 50 ms, losses included.
final class TransportFeedbackTests: XCTestCase {
    private let uri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

    func testAnswerAcceptsItOnPublishedSectionsOnly() throws {
        let h = EngineHarness()
        let answer = try h.join("pub", audio: true, video: true, slots: 1, transportWide: true).answer
        let sections = answer.components(separatedBy: "m=").dropFirst()
        let published = sections.filter { $0.contains("a=recvonly") }
        let slots = sections.filter { $0.contains("a=sendonly") }
        XCTAssertEqual(published.count, 2)
        XCTAssertEqual(slots.count, 2)
        for section in published {
            XCTAssertTrue(section.contains("a=extmap:3 \(uri)"), section)
            XCTAssertTrue(section.contains("transport-cc"), section)
        }
        for section in slots { XCTAssertFalse(section.contains("transport-cc") || section.contains(uri), section) }

        let plain = try h.join("plain", slots: 1).answer
        XCTAssertFalse(plain.contains("transport-cc") || plain.contains(uri))
    }

    func testEveryArrivalIsReportedAboutEvery50Milliseconds() throws {
        let h = EngineHarness()
        try h.join("pub", audio: true, video: false, slots: 1, transportWide: true)
        let c = h.clients["pub"]!.client
        h.received["pub"] = []
        let start = h.clock.now
        var sent: [UInt16] = []
        var lost: Set<UInt16> = []
        var transportSequence: UInt16 = 65_500       // crosses the wrap
        for index in 0..<100 {
            let ext = RTPHeaderExtensionValue(id: ClientOffer.transportWideID,
                                              data: [UInt8(transportSequence >> 8), UInt8(transportSequence & 0xFF)])
            if index % 10 == 4 {
                lost.insert(transportSequence)        // never sent: the server sees a gap
            } else {
                c.sendRTP(ssrc: c.offer.audioSSRC!, payloadType: ClientOffer.opusPayloadType, timestamp: UInt32(index) * 960,
                          extensions: [ext], payload: [0xF8, 0xFF, 0xFE])
            }
            sent.append(transportSequence)
            transportSequence &+= 1
            h.run(for: .milliseconds(20))
        }
        h.run(for: .milliseconds(200))

        var feedbacks: [(at: Instant, feedback: RTCPTransportWideFeedback)] = []
        for event in h.received["pub"] ?? [] {
            guard case .rtcp(let compound) = event, let packets = try? RTCPCompound.parse(compound) else { continue }
            for case .transportWideFeedback(let feedback) in packets { feedbacks.append((h.clock.now, feedback)) }
        }
        // Due 50 ms after the last one, sent on the next arrival: every 60 ms here.
        XCTAssertGreaterThanOrEqual(feedbacks.count, 30, "2 s of packets, feedback every 50-70 ms")
        XCTAssertLessThanOrEqual(feedbacks.count, 40)
        // Every sequence number reported exactly once, with the right status.
        var reported: [UInt16: Bool] = [:]
        var previousCount: UInt8?
        for (_, feedback) in feedbacks {
            if let previousCount { XCTAssertEqual(feedback.feedbackPacketCount, previousCount &+ 1) }
            previousCount = feedback.feedbackPacketCount
            for packet in feedback.packets {
                XCTAssertNil(reported[packet.sequenceNumber], "reported twice: \(packet.sequenceNumber)")
                reported[packet.sequenceNumber] = packet.received
            }
        }
        // The last lost one may trail the last feedback; all others are in.
        for seq in sent.dropLast(6) {
            XCTAssertEqual(reported[seq], !lost.contains(seq), "sequence \(seq)")
        }
        // Received packets 20 ms apart (40 ms across a gap); each feedback's
        // first received packet counts from the reference time instead.
        let deltas = feedbacks.flatMap { $0.feedback.packets.compactMap(\.receiveDeltaMicroseconds).dropFirst() }
        XCTAssertFalse(deltas.isEmpty)
        for delta in deltas { XCTAssertTrue(delta == 20_000 || delta == 40_000, "delta \(delta) µs") }
        XCTAssertEqual(h.engine.counters.transportFeedbackSent, feedbacks.count)
        XCTAssertGreaterThan(h.clock.now, start)
    }

    func testNothingIsSentWithoutNegotiation() throws {
        let h = EngineHarness()
        try h.join("pub", audio: true, video: false, slots: 1)
        let c = h.clients["pub"]!.client
        for index in 0..<20 {
            c.sendRTP(ssrc: c.offer.audioSSRC!, payloadType: ClientOffer.opusPayloadType, timestamp: UInt32(index) * 960,
                      extensions: [RTPHeaderExtensionValue(id: 3, data: [0, UInt8(index)])], payload: [0xF8, 0xFF, 0xFE])
            h.run(for: .milliseconds(20))
        }
        XCTAssertEqual(h.engine.counters.transportFeedbackSent, 0)
    }
}
