import CohortClient
import CohortTestSupport
import DTLS
import RTP
import SDP
@testable import SFU
import STUN
import Wire
import XCTest

/// Issue 13, point 3: an ICE restart gives a participant new ICE
/// credentials without touching its slots, keeps DTLS and SRTP when the
/// fingerprint stays, redoes DTLS when it changes, retires the old
/// credentials once the new ones are in use, and only ever touches the
/// sender's own transport.
final class IceRestartTests: XCTestCase {
    private func talk(_ h: EngineHarness, _ who: [String], for span: TimeSpan, ts: inout UInt32) {
        let end = h.clock.now + span
        while h.clock.now < end {
            for name in who { h.sendMedia(name, audioTimestamp: ts) }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
    }

    /// mid -> SSRC of each receive slot in an answer.
    private func slotSSRCs(_ answer: String) throws -> [String: [UInt32]] {
        let sdp = try SessionDescription.parse(answer)
        var out: [String: [UInt32]] = [:]
        for m in sdp.mediaSections { if let mid = m.mid { out[mid] = m.ssrcs } }
        return out
    }

    private func ufrag(_ answer: String) throws -> String? {
        let sdp = try SessionDescription.parse(answer)
        return sdp.mediaSections.first.flatMap { sdp.iceUfrag(for: $0) }
    }

    private func twoInACall() throws -> (EngineHarness, JoinAnswer, UInt32) {
        let h = EngineHarness()
        let joined = try h.join("ann")
        try h.join("bob")
        var ts: UInt32 = 0
        talk(h, ["ann", "bob"], for: .milliseconds(300), ts: &ts)
        XCTAssertFalse(h.rtpByMid("bob").isEmpty, "bob hears ann before the restart")
        return (h, joined, ts)
    }

    func testARestartKeepsSlotsDTLSAndMediaAndRetiresTheOldCredentials() throws {
        let (h, joined, t) = try twoInACall()
        var ts = t
        let ann = h.clients["ann"]!.client
        let annID = h.participantIDs["ann"]!
        let slotsVersion = h.engine.participant(annID)!.subscriber.slotsVersion
        let slotEvents = h.events.slots.count
        let oldCheck = try XCTUnwrap(ann.bindingRequest())
        let answer = try h.engine.restartICE(annID, offer: ann.restartICE(), now: h.clock.now)
        XCTAssertEqual(try slotSSRCs(answer), try slotSSRCs(joined.answer), "the same sections and slot SSRCs")
        XCTAssertNotEqual(try ufrag(answer), try ufrag(joined.answer), "new server credentials")
        XCTAssertTrue(answer.contains("a=setup:passive"), "the same DTLS role")
        XCTAssertTrue(answer.contains("o=- ") && answer.contains(" 3 IN IP4"), "sess-version went up")
        XCTAssertEqual(h.engine.counters.iceRestartsAnswered, 1)

        // Until the client uses the new credentials, the old ones keep the call going.
        h.received["bob"] = []
        talk(h, ["ann", "bob"], for: .seconds(3), ts: &ts)
        XCTAssertFalse(h.rtpByMid("bob").isEmpty, "media goes on while the restart is pending")
        XCTAssertEqual(h.engine.stateCounts.ufrags, 3, "ann's old and new ufrags, and bob's")

        try ann.acceptRestart(answer: answer, now: h.clock.now)
        h.received["ann"] = []
        h.received["bob"] = []
        talk(h, ["ann", "bob"], for: .milliseconds(500), ts: &ts)
        XCTAssertFalse(h.rtpByMid("bob").isEmpty, "bob hears ann after the restart")
        XCTAssertFalse(h.rtpByMid("ann").isEmpty, "ann hears bob after the restart")
        XCTAssertEqual(h.engine.counters.iceRestartsCompleted, 1)
        XCTAssertEqual(h.engine.counters.dtlsRestarts, 0, "DTLS and SRTP were kept")
        XCTAssertEqual(h.events.connected.filter { $0 == annID }.count, 1, "no second DTLS handshake")
        XCTAssertEqual(h.engine.stateCounts.ufrags, 2, "the old ufrag is gone")
        XCTAssertEqual(h.engine.participant(annID)!.subscriber.slotsVersion, slotsVersion, "no slot change")
        XCTAssertEqual(h.events.slots.count, slotEvents, "no slot map was sent")

        // The old credentials no longer find anyone.
        let dropped = h.engine.counters.stunDropped
        let elsewhere = StunAddress("127.0.0.1:9001")!
        h.inject(oldCheck, from: elsewhere)
        h.run(for: .milliseconds(10))
        XCTAssertEqual(h.engine.counters.stunDropped, dropped + 1)
        XCTAssertNil(h.unclaimed[elsewhere], "not answered")
    }

    /// A restart after a network change: the first check with the new
    /// credentials comes from a new address, which carries media at once
    /// (a fresh ICE session, as at join), and the old address is forgotten.
    func testARestartFromANewAddressMovesMediaThereAtOnce() throws {
        let (h, _, t) = try twoInACall()
        var ts = t
        let ann = h.clients["ann"]!.client
        let annID = h.participantIDs["ann"]!
        let answer = try h.engine.restartICE(annID, offer: ann.restartICE(), now: h.clock.now)
        let moved = StunAddress("127.0.0.1:7100")!
        h.rebind("ann", to: moved)
        try ann.acceptRestart(answer: answer, now: h.clock.now)
        let start = h.clock.now
        h.received["ann"] = []
        h.received["bob"] = []
        var both: Instant?
        while both == nil && h.clock.now - start < .seconds(2) {
            talk(h, ["ann", "bob"], for: .milliseconds(20), ts: &ts)
            if !h.rtpByMid("ann").isEmpty && !h.rtpByMid("bob").isEmpty { both = h.clock.now }
        }
        let resumed = try XCTUnwrap(both, "media resumes both ways")
        XCTAssertLessThan(resumed - start, .milliseconds(100), "one check's round trip, no consent round")
        XCTAssertEqual(h.engine.counters.routabilityChecksSent, 0, "the new credentials are the proof")
        XCTAssertEqual(h.engine.stateCounts.addresses, 2, "ann's new address and bob's; the old one is forgotten")
    }

    /// A client that dropped its DTLS transport offers a new fingerprint:
    /// the server begins a new association and media resumes under new keys.
    func testARestartWithANewFingerprintRedoesDTLS() throws {
        let (h, _, t) = try twoInACall()
        var ts = t
        let ann = h.clients["ann"]!.client
        let annID = h.participantIDs["ann"]!
        let answer = try h.engine.restartICE(annID, offer: ann.restartICE(certificate: try DTLSCertificate()),
                                             now: h.clock.now)
        XCTAssertEqual(h.engine.counters.dtlsRestarts, 1)
        try ann.acceptRestart(answer: answer, now: h.clock.now)
        h.received["bob"] = []
        h.received["ann"] = []
        talk(h, ["ann", "bob"], for: .seconds(1), ts: &ts)
        XCTAssertTrue(ann.isConnected, "the new DTLS handshake completed")
        XCTAssertEqual(h.events.connected.filter { $0 == annID }.count, 2, "a second handshake")
        XCTAssertFalse(h.rtpByMid("bob").isEmpty, "bob hears ann under the new keys")
        XCTAssertFalse(h.rtpByMid("ann").isEmpty, "ann hears bob under the new keys")
    }

    /// Refusals change nothing: a restart offer that keeps the ufrag, one
    /// that uses another participant's ufrag, one that changes the sections,
    /// one for a participant that does not exist.
    func testRefusedRestartsChangeNothing() throws {
        let (h, _, t) = try twoInACall()
        var ts = t
        let ann = h.clients["ann"]!.client
        let bob = h.clients["bob"]!.client
        let annID = h.participantIDs["ann"]!
        let ufrags = h.engine.stateCounts.ufrags

        let fresh = ann.restartICE()
        let sameUfrag = fresh.replacingOccurrences(of: "a=ice-ufrag:\(try XCTUnwrap(iceUfrag(fresh)))",
                                                   with: "a=ice-ufrag:\(ann.offer.ufrag)")
        XCTAssertThrowsError(try h.engine.restartICE(annID, offer: sameUfrag, now: h.clock.now)) {
            XCTAssertEqual(($0 as? SFUError)?.code, "invalid-offer")
        }
        let bobsUfrag = fresh.replacingOccurrences(of: "a=ice-ufrag:\(try XCTUnwrap(iceUfrag(fresh)))",
                                                   with: "a=ice-ufrag:\(bob.offer.ufrag)")
        XCTAssertThrowsError(try h.engine.restartICE(annID, offer: bobsUfrag, now: h.clock.now)) {
            XCTAssertEqual(($0 as? SFUError)?.code, "forbidden")
        }
        let serverUfrag = try XCTUnwrap(h.engine.participant(h.participantIDs["bob"]!)?.ice.localUfrag)
        let bobsServerUfrag = fresh.replacingOccurrences(of: "a=ice-ufrag:\(try XCTUnwrap(iceUfrag(fresh)))",
                                                         with: "a=ice-ufrag:\(serverUfrag)")
        XCTAssertThrowsError(try h.engine.restartICE(annID, offer: bobsServerUfrag, now: h.clock.now)) {
            XCTAssertEqual(($0 as? SFUError)?.code, "forbidden")
        }
        var fewerSlots = ClientOffer(ufrag: "zzzzzzzz", password: "zzzzzzzzzzzzzzzzzzzzzzzz", fingerprint: ann.offer.fingerprint,
                                     audioSSRC: ann.offer.audioSSRC, videoSSRC: ann.offer.videoSSRC, slots: 2)
        fewerSlots.lossRepair = ann.offer.lossRepair
        XCTAssertThrowsError(try h.engine.restartICE(annID, offer: fewerSlots.sdp, now: h.clock.now)) {
            XCTAssertEqual(($0 as? SFUError)?.code, "invalid-offer")
        }
        XCTAssertThrowsError(try h.engine.restartICE("p-nobody", offer: fresh, now: h.clock.now)) {
            XCTAssertEqual(($0 as? SFUError)?.code, "unknown-participant")
        }
        XCTAssertEqual(h.engine.counters.iceRestartsAnswered, 0)
        XCTAssertEqual(h.engine.stateCounts.ufrags, ufrags)
        XCTAssertFalse(h.engine.participant(annID)!.ice.restartPending)
        h.received["bob"] = []
        talk(h, ["ann", "bob"], for: .seconds(3), ts: &ts)
        XCTAssertFalse(h.rtpByMid("bob").isEmpty, "the call goes on with the old credentials")
    }

    /// Two restarts before the client uses the first: the first's
    /// credentials stop working at once, the join's keep the path until the
    /// second's are used.
    func testASecondRestartDropsTheFirstsUnusedCredentials() throws {
        let (h, _, t) = try twoInACall()
        var ts = t
        let ann = h.clients["ann"]!.client
        let annID = h.participantIDs["ann"]!
        _ = try h.engine.restartICE(annID, offer: ann.restartICE(), now: h.clock.now)
        let answer = try h.engine.restartICE(annID, offer: ann.restartICE(), now: h.clock.now)
        XCTAssertEqual(h.engine.stateCounts.ufrags, 3, "ann's join and second ufrags, and bob's")
        try ann.acceptRestart(answer: answer, now: h.clock.now)
        h.received["bob"] = []
        talk(h, ["ann", "bob"], for: .milliseconds(300), ts: &ts)
        XCTAssertFalse(h.rtpByMid("bob").isEmpty)
        XCTAssertEqual(h.engine.stateCounts.ufrags, 2)
    }

    private func iceUfrag(_ sdp: String) -> String? {
        sdp.split(separator: "\r\n").first { $0.hasPrefix("a=ice-ufrag:") }.map { String($0.dropFirst("a=ice-ufrag:".count)) }
    }
}
