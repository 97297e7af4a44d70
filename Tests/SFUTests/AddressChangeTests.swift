import CohortClient
import CohortTestSupport
import RTP
import SFU
import STUN
import Wire
import XCTest

/// Issue 13, point 4: an address change without an ICE restart. What only
/// the participant's credentials can do moves the media path; nothing else
/// does. (The rebinding itself, with and without USE-CANDIDATE, is in
/// `ReturnRoutabilityTests`.)
final class AddressChangeTests: XCTestCase {
    private func talk(_ h: EngineHarness, _ who: [String], for span: TimeSpan, ts: inout UInt32) {
        let end = h.clock.now + span
        while h.clock.now < end {
            for name in who { h.sendMedia(name, audioTimestamp: ts) }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
    }

    /// Checks from a new address that carry USE-CANDIDATE but no valid
    /// MESSAGE-INTEGRITY (a wrong password, or none) are refused with 401
    /// or dropped: no check of ours goes there and media stays where it was.
    func testAForgedCheckWithoutIntegrityNeverMovesThePath() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        let ann = h.clients["ann"]!.client
        let annServerUfrag = try XCTUnwrap(ann.bindingRequest().flatMap { try? StunParsedMessage(parsing: $0) }?
            .message.username?.split(separator: ":").first.map(String.init))
        var ts: UInt32 = 0
        talk(h, ["bob"], for: .milliseconds(200), ts: &ts)
        let forger = StunAddress("127.0.0.1:9500")!
        let request = StunMessage(
            type: StunMessageType(method: .binding, messageClass: .request), transactionID: StunTransactionID(high: 1, low: 2),
            attributes: [.username("\(annServerUfrag):\(ann.offer.ufrag)"), .priority(1), .iceControlling(7), .useCandidate])
        for _ in 0..<5 {
            h.inject(try request.encode(password: "not-the-server-password!"), from: forger)
            h.inject(try request.encode(fingerprint: true), from: forger)
            talk(h, ["bob"], for: .seconds(1), ts: &ts)
        }
        let toForger = h.unclaimed[forger] ?? []
        XCTAssertTrue(toForger.allSatisfy { (try? StunParsedMessage(parsing: $0))?.message.type.messageClass == .errorResponse },
                      "at most 401 answers, never a check of ours or media")
        XCTAssertEqual(h.engine.counters.routabilityChecksSent, 0)
        XCTAssertEqual(h.engine.stateCounts.addresses, 2)
        h.received["ann"] = []
        talk(h, ["bob"], for: .milliseconds(200), ts: &ts)
        XCTAssertFalse(h.rtpByMid("ann").isEmpty, "media stays on ann's address")
    }

    /// Media from an address that has not passed a check is dropped and
    /// never answered, even from the real participant (its NAT rebound and
    /// it has not checked yet); once it checks there, media moves within
    /// that one consent round.
    func testMediaFromAnUnverifiedAddressIsNeitherAcceptedNorAnswered() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        let ann = h.clients["ann"]!.client
        ann.consentInterval = .seconds(5)
        var ts: UInt32 = 0
        talk(h, ["ann", "bob"], for: .milliseconds(200), ts: &ts)
        ann.sendsConsent = false
        let moved = StunAddress("127.0.0.1:7200")!
        h.rebind("ann", to: moved)
        let unknown = h.engine.counters.unknownSourceDropped
        h.received["ann"] = []
        h.received["bob"] = []
        talk(h, ["ann", "bob"], for: .seconds(3), ts: &ts)
        XCTAssertTrue(h.rtpByMid("bob").isEmpty, "nothing of ann's from the new address reaches bob")
        XCTAssertTrue(h.rtpByMid("ann").isEmpty, "nothing goes to the new address")
        XCTAssertEqual(h.engine.counters.routabilityChecksSent, 0, "media alone starts no check")
        XCTAssertGreaterThan(h.engine.counters.unknownSourceDropped, unknown + 100)
        // Her next consent check from there: one round trip to verify, and media moves.
        ann.sendsConsent = true
        let start = h.clock.now
        var resumed: Instant?
        while resumed == nil && h.clock.now - start < .seconds(8) {
            talk(h, ["ann", "bob"], for: .milliseconds(20), ts: &ts)
            if !h.rtpByMid("bob").isEmpty && !h.rtpByMid("ann").isEmpty { resumed = h.clock.now }
        }
        let at = try XCTUnwrap(resumed, "media resumes after a check from the new address")
        XCTAssertLessThanOrEqual(at - start, ann.consentInterval + .milliseconds(100), "within one consent round")
    }
}
