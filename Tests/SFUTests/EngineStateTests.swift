import CohortClient
import DTLS
import SFU
import STUN
import Wire
import XCTest

/// Issue 14, point 6: everything keyed by a participant, address or session
/// goes when they do.
final class EngineStateTests: XCTestCase {
    /// A DTLS ClientHello, as a client starting a handshake sends it.
    private func clientHello() throws -> [UInt8] {
        let c = try DTLSEndpoint(role: .client, certificate: EngineHarness.certificate,
                                 remoteFingerprint: EngineHarness.certificate.fingerprint, now: .zero)
        while let out = c.poll() { if case .transmit(let bytes) = out { return bytes } }
        throw XCTSkip("no ClientHello")
    }

    /// ann's NAT rebinds ten times (each new address answers our check), so
    /// more addresses were valid than the agent keeps; then she leaves. No
    /// address she used reaches her DTLS again, and the engine holds nothing of her.
    func testALeaversAddressesAllGoIncludingOnesNoLongerSelected() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        var used = [h.clients["ann"]!.address]
        for i in 0..<10 {
            let address = StunAddress("127.0.0.1:\(6000 + i)")!
            h.rebind("ann", to: address)
            used.append(address)
            h.run(for: .milliseconds(2_500))  // ann's next consent check, our check, her answer
        }
        XCTAssertEqual(h.engine.counters.addressesValidated, 2 + 10, "every new address was verified")
        XCTAssertLessThanOrEqual(h.engine.stateCounts.addresses, 1 + IceLiteAgent.maxValidated, "bob's, and ann's last 8")
        h.engine.remove(h.participantIDs["ann"]!, reason: .left, now: h.clock.now)
        XCTAssertEqual(h.engine.stateCounts.addresses, 1, "only bob's")
        let hello = try clientHello()
        var transmits = TransmitQueue()
        for address in used { h.engine.receive(hello, from: address, now: h.clock.now, transmits: &transmits) }
        XCTAssertTrue(transmits.isEmpty, "no DTLS reply to any of ann's old addresses")
        h.engine.remove(h.participantIDs["bob"]!, reason: .left, now: h.clock.now)
        XCTAssertEqual(h.engine.stateCounts, EngineStateCounts(), "nothing left of either")
    }

    /// Sessions come and go: the engine keeps nothing of an emptied one.
    func testEmptiedSessionsLeaveNoState() throws {
        let h = EngineHarness()
        for i in 0..<5 {
            try h.join("p\(i)", session: "s\(i)")
            h.clients["x\(i)"] = nil
        }
        XCTAssertEqual(h.engine.stateCounts.sessions, 5)
        for i in 0..<5 { h.engine.remove(h.participantIDs["p\(i)"]!, reason: .left, now: h.clock.now) }
        XCTAssertEqual(h.engine.stateCounts, EngineStateCounts())
    }
}
