import CohortClient
import CohortTestSupport
import RTP
@testable import SFU
import Wire
import XCTest

/// Transport-wide congestion control on what a client publishes (issue 12,
/// point 1): negotiated only where offered, and every packet's arrival
/// reported back in feedback about every 50 ms, losses included.
final class TransportFeedbackTests: XCTestCase {
    // Point 1 (uplink) and point 2 (downlink stamping and feedback) of issue 12.
    private let uri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

    func testAnswerAcceptsItWhereOffered() throws {
        let h = EngineHarness()
        let answer = try h.join("pub", audio: true, video: true, slots: 1, transportWide: true).answer
        let sections = answer.components(separatedBy: "m=").dropFirst()
        XCTAssertEqual(sections.filter { $0.contains("a=recvonly") }.count, 2)
        XCTAssertEqual(sections.filter { $0.contains("a=sendonly") }.count, 2)
        for section in sections {
            XCTAssertTrue(section.contains("a=extmap:3 \(uri)"), section)
            XCTAssertTrue(section.contains("transport-cc"), section)
        }
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

    /// Downlink (point 2): every copy a transport-cc subscriber gets carries
    /// its own consecutive transport-wide number, whatever the publisher's
    /// packets carried; its feedback on them reaches its estimate.
    func testCopiesCarryTheSubscribersOwnNumbersAndItsFeedbackIsRead() throws {
        let h = EngineHarness()
        try h.join("tcc", audio: true, video: true, slots: 2, transportWide: true)   // publishes with its own numbers
        try h.join("plain", audio: true, video: true, slots: 2)                     // publishes without
        try h.join("sub", audio: false, video: false, slots: 2, transportWide: true)
        let tcc = h.clients["tcc"]!.client
        h.received["sub"] = []
        var ownSequence: UInt16 = 1_000
        for index in 0..<50 {
            let ext = RTPHeaderExtensionValue(id: ClientOffer.transportWideID, data: [UInt8(ownSequence >> 8), UInt8(ownSequence & 0xFF)])
            ownSequence &+= 1
            tcc.sendRTP(ssrc: tcc.offer.audioSSRC!, payloadType: ClientOffer.opusPayloadType, timestamp: UInt32(index) * 960,
                        extensions: [ext], payload: [0xF8, 0xFF, 0xFE])
            h.sendMedia("plain", audioTimestamp: UInt32(index) * 960, keyframe: index == 0)
            h.run(for: .milliseconds(20))
        }
        let sub = h.clients["sub"]!.client
        var numbers: [UInt16] = []
        for case .rtp(_, let header, let packet) in h.received["sub"] ?? [] {
            guard let number = header.transportSequenceNumber(id: ClientOffer.transportWideID, in: packet) else {
                return XCTFail("a copy without the subscriber's transport-wide number: \(header) \(packet.prefix(32))")
            }
            numbers.append(number)
            XCTAssertFalse(packet.count < header.payloadRange.upperBound)
        }
        XCTAssertGreaterThanOrEqual(numbers.count, 140, "50 × (tcc's audio, plain's audio and video)")
        // Consecutive across slots and publishers: the subscriber's transport
        // sees one sequence (the virtual network does not reorder).
        for (a, b) in zip(numbers, numbers.dropFirst()) { XCTAssertEqual(b, a &+ 1) }
        XCTAssertFalse(numbers.contains(1_010), "the publisher's own numbers are not passed on")
        // tcc, a transport-cc subscriber too, got plain's 100 copies stamped as well.
        XCTAssertEqual(h.engine.counters.transportWideStamped, numbers.count + 100)

        // The subscriber reports them all received, 20 ms apart per group of three.
        let results = numbers.enumerated().map { i, n in
            RTCPTransportWideFeedback.PacketResult(sequenceNumber: n, status: .receivedSmallDelta, receiveDelta: i % 3 == 0 ? 80 : 0)
        }
        sub.sendRTCP([RTCPTransportWideFeedback(senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: numbers[0],
                                                referenceTime: 100, feedbackPacketCount: 0, packets: results)])
        h.run(for: .milliseconds(10))
        XCTAssertEqual(h.engine.counters.transportFeedbackReceived, 1)
        let estimate = h.engine.participant(h.participantIDs["sub"]!)?.subscriber.bandwidth
        XCTAssertNotNil(estimate)
        XCTAssertEqual(estimate?.bytesInFlight, 0, "every copy was reported received")

        // A subscriber that did not negotiate it gets copies without stamps.
        XCTAssertNil(h.engine.participant(h.participantIDs["plain"]!)?.subscriber.bandwidth)
    }
}
