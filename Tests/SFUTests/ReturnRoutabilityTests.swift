import CohortClient
import CohortTestSupport
import DTLS
import RTP
import SFU
import STUN
import Wire
import XCTest

/// Issue 14, point 4: a new source address carries media only after it
/// answers our own Binding request (RFC 7675 consent check), at most one new
/// address is checked per second, and a NAT rebinding still recovers.
final class ReturnRoutabilityTests: XCTestCase {
    /// ann and bob in a call; bob talks for `span` from now.
    private func talk(_ h: EngineHarness, _ who: [String], for span: TimeSpan, ts: inout UInt32) {
        let end = h.clock.now + span
        while h.clock.now < end {
            for name in who { h.sendMedia(name, audioTimestamp: ts) }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
    }

    private static func isStunRequest(_ d: [UInt8]) -> Bool {
        (try? StunParsedMessage(parsing: d))?.message.type.messageClass == .request
    }

    private static func isStun(_ d: [UInt8]) -> Bool { PacketClass.classify(d) == .stun }

    /// The measured attack: ann holds her own ICE credentials and sends one
    /// check with USE-CANDIDATE from a victim's address, then one every 30 s.
    /// Before: everything ann receives went to the victim. Now: the victim
    /// gets our check (one request) and the answer to the spoofed check, never media.
    func testASpoofedCheckCostsTheVictimOneRequestAndNoMedia() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        var ts: UInt32 = 0
        talk(h, ["bob"], for: .milliseconds(200), ts: &ts)
        let victim = StunAddress("127.0.0.1:9999")!
        let ann = h.clients["ann"]!.client
        h.inject(ann.bindingRequest()!, from: victim)
        talk(h, ["bob"], for: .seconds(10), ts: &ts)
        let toVictim = h.unclaimed[victim] ?? []
        XCTAssertEqual(toVictim.filter(Self.isStunRequest).count, 1, "one check to the victim")
        XCTAssertEqual(toVictim.filter { !Self.isStun($0) }.count, 0, "no DTLS, RTP or RTCP to the victim")
        XCTAssertLessThanOrEqual(toVictim.count, 2, "our check and the answer to the spoofed one")
        XCTAssertEqual(h.engine.counters.routabilityChecksSent, 1)
        XCTAssertEqual(h.engine.counters.addressesUnverified, 1, "the check went unanswered")
        XCTAssertEqual(h.engine.stateCounts.pendingAddresses, 0, "and was forgotten")
        // ann still gets bob at her real address.
        h.received["ann"] = []
        talk(h, ["bob"], for: .milliseconds(200), ts: &ts)
        XCTAssertFalse(h.rtpByMid("ann").isEmpty, "media stays on ann's verified address")
    }

    /// Checks from many spoofed addresses: at most one of our checks per
    /// second per participant, at most four addresses waiting, each victim
    /// at most one request.
    func testSpoofedChecksFromManyAddressesAreRateLimitedAndBounded() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        let ann = h.clients["ann"]!.client
        var ts: UInt32 = 0
        let victims = (0..<50).map { StunAddress("127.0.0.1:\(20_000 + $0)")! }
        let start = h.clock.now
        for (i, v) in victims.enumerated() {
            h.inject(ann.bindingRequest()!, from: v)
            if i % 10 == 9 { talk(h, ["bob"], for: .milliseconds(100), ts: &ts) }
            XCTAssertLessThanOrEqual(h.engine.stateCounts.pendingAddresses, 4)
        }
        talk(h, ["bob"], for: .seconds(10), ts: &ts)
        let elapsed = h.clock.now - start
        let checks = victims.map { (h.unclaimed[$0] ?? []).filter(Self.isStunRequest).count }
        XCTAssertLessThanOrEqual(checks.max() ?? 0, 1, "no victim gets more than one check")
        XCTAssertLessThanOrEqual(Double(h.engine.counters.routabilityChecksSent), elapsed.seconds + 1,
                                 "at most one check a second")
        XCTAssertEqual(victims.flatMap { h.unclaimed[$0] ?? [] }.filter { !Self.isStun($0) }.count, 0, "no media")
        XCTAssertEqual(h.engine.stateCounts.pendingAddresses, 0)
        XCTAssertEqual(h.engine.stateCounts.addresses, 2, "ann's and bob's own addresses only")
    }

    /// A client whose NAT rebinds mid-call: its next check comes from a new
    /// port; it answers our check there and media resumes both ways.
    func testARebindingClientResumesMediaAfterAnsweringTheCheck() throws {
        try rebinding(nominates: true, consentInterval: .seconds(2))
    }

    /// The same with aiortc's habits: consent checks every 5 s without
    /// USE-CANDIDATE. Media moves once the old address has been quiet for 3 s.
    func testARebindingClientThatNoLongerNominatesResumesToo() throws {
        try rebinding(nominates: false, consentInterval: .seconds(5))
    }

    /// A second address that checks while the selected one still does (a
    /// host with two interfaces) is verified but does not take the media
    /// without USE-CANDIDATE.
    func testASecondAddressDoesNotTakeMediaWhileTheFirstIsAlive() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        let ann = h.clients["ann"]!.client
        ann.nominatesInConsentChecks = false
        var ts: UInt32 = 0
        let second = StunAddress("127.0.0.1:7778")!
        h.inject(ann.bindingRequest(useCandidate: false)!, from: second)
        h.run(for: .milliseconds(10))
        let check = try XCTUnwrap((h.unclaimed[second] ?? []).first(where: Self.isStunRequest))
        let request = try StunParsedMessage(parsing: check).message
        h.inject(try StunMessage.bindingSuccessResponse(to: request, source: second, password: ann.offer.password),
                 from: second)
        for _ in 0..<5 {
            talk(h, ["bob"], for: .seconds(2), ts: &ts)
            h.inject(ann.bindingRequest(useCandidate: false)!, from: second)
        }
        XCTAssertEqual(h.engine.stateCounts.addresses, 3, "ann's two and bob's")
        h.received["ann"] = []
        talk(h, ["bob"], for: .milliseconds(200), ts: &ts)
        XCTAssertFalse(h.rtpByMid("ann").isEmpty, "media stays on ann's first address, which still checks")
        XCTAssertTrue((h.unclaimed[second] ?? []).allSatisfy(Self.isStun), "no media to the second")
    }

    private func rebinding(nominates: Bool, consentInterval: TimeSpan) throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        h.clients["ann"]!.client.nominatesInConsentChecks = nominates
        h.clients["ann"]!.client.consentInterval = consentInterval
        var ts: UInt32 = 0
        talk(h, ["ann", "bob"], for: .milliseconds(500), ts: &ts)
        let newAddress = StunAddress("127.0.0.1:7777")!
        h.rebind("ann", to: newAddress)
        let rebound = h.clock.now
        let plis = h.engine.counters.pliSent
        h.received["ann"] = []
        h.received["bob"] = []
        var firstCheckAt: Instant?
        var annHearsBobAt: Instant?
        var bobHearsAnnAt: Instant?
        while h.clock.now - rebound < .seconds(10) && (annHearsBobAt == nil || bobHearsAnnAt == nil) {
            talk(h, ["ann", "bob"], for: .milliseconds(20), ts: &ts)
            if firstCheckAt == nil, h.clients["ann"]!.client.checksAnswered > 0 { firstCheckAt = h.clock.now }
            if annHearsBobAt == nil, !h.rtpByMid("ann").isEmpty { annHearsBobAt = h.clock.now }
            if bobHearsAnnAt == nil, !h.rtpByMid("bob").isEmpty { bobHearsAnnAt = h.clock.now }
        }
        let check = try XCTUnwrap(firstCheckAt, "ann answered a check at her new address")
        let hears = try XCTUnwrap(annHearsBobAt, "ann hears bob again")
        let heard = try XCTUnwrap(bobHearsAnnAt, "bob hears ann again")
        XCTAssertLessThan(hears - check, .seconds(1), "media follows the answered check within a second")
        XCTAssertLessThan(heard - check, .seconds(1))
        // At most one consent interval, plus the check's round trip.
        XCTAssertLessThan(max(hears, heard) - rebound, consentInterval + .seconds(1))
        XCTAssertEqual(h.engine.counters.routabilityChecksSent, 1)
        XCTAssertGreaterThanOrEqual(h.engine.counters.pliSent, plis + 2, "keyframes from ann and for ann after the gap")
        print("rebinding (nominates: \(nominates)): media resumed \((max(hears, heard) - rebound).milliseconds) ms after the rebinding, "
              + "\((max(hears, heard) - check).milliseconds) ms after the answered check")
    }

    /// The first address of a fresh participant is used at once: joining
    /// costs no extra round trip (the spoofer of a first check is the
    /// participant itself, and no media flows before DTLS from that address).
    func testAJoinSendsNoCheck() throws {
        let h = EngineHarness()
        let start = h.clock.now
        try h.join("ann")
        XCTAssertTrue(h.clients["ann"]!.client.isConnected)
        XCTAssertEqual(h.engine.counters.routabilityChecksSent, 0)
        XCTAssertEqual(h.clients["ann"]!.client.checksAnswered, 0)
        print("join: connected after \((h.clock.now - start).milliseconds) ms of virtual time")
    }

    /// A response to our check that is not signed with the participant's
    /// password, or comes from another address, validates nothing.
    func testAForgedAnswerValidatesNothing() throws {
        let h = EngineHarness()
        try h.join("ann")
        let ann = h.clients["ann"]!.client
        let victim = StunAddress("127.0.0.1:9998")!
        h.inject(ann.bindingRequest()!, from: victim)
        h.run(for: .milliseconds(10))
        let check = try XCTUnwrap((h.unclaimed[victim] ?? []).first(where: Self.isStunRequest))
        let request = try StunParsedMessage(parsing: check).message
        // Right transaction id, wrong password; then right password from another address.
        let forged = try StunMessage.bindingSuccessResponse(to: request, source: victim, password: "not-the-password-at-all")
        h.inject(forged, from: victim)
        let answer = try StunMessage.bindingSuccessResponse(to: request, source: victim, password: ann.offer.password)
        h.inject(answer, from: StunAddress("127.0.0.1:9997")!)
        h.run(for: .milliseconds(10))
        XCTAssertEqual(h.engine.counters.addressesValidated, 1, "only ann's first address")
        XCTAssertEqual(h.engine.stateCounts.addresses, 1)
        // The real answer from the victim's address would validate it (the attacker would have to receive there).
        h.inject(answer, from: victim)
        h.run(for: .milliseconds(10))
        XCTAssertEqual(h.engine.stateCounts.addresses, 2)
    }
}
