import CohortTestSupport
import DTLS
import Wire
import XCTest

/// RFC 6347 §4.2.4 retransmission under loss, reordering and duplication, on
/// a manual clock that runs far ahead of the wall clock.
final class DTLSLossTests: XCTestCase {
    private let hostile = VirtualNetwork.Conditions(loss: 0.2, duplication: 0.1, reordering: 0.2,
                                                    delay: .milliseconds(20), reorderDelay: .milliseconds(60))

    func testHandshakeCompletesAt20PercentLossAcrossSeeds() throws {
        var replays = 0
        for seed in UInt64(1)...16 {
            let pair = try DTLSPair(conditions: hostile, seed: seed)
            pair.run()
            XCTAssertEqual(pair.client.state, .connected, "seed \(seed)")
            XCTAssertEqual(pair.server.state, .connected, "seed \(seed)")
            let keys = try XCTUnwrap(pair.clientKeys, "seed \(seed)")
            XCTAssertEqual(keys, pair.serverKeys, "seed \(seed)")
            XCTAssertEqual(keys.profile, .aeadAes256Gcm)
            XCTAssertLessThanOrEqual(pair.largestDatagram, 1200)
            replays += pair.client.statistics.replayedFlights + pair.server.statistics.replayedFlights
        }
        // The manual clock outruns OpenSSL's wall-clock timer, so recovery
        // must have come from the endpoint's own retransmissions.
        XCTAssertGreaterThan(replays, 16)
    }

    func testHeavyLossStillCompletesOrFailsCleanlyAtDeadline() throws {
        let conditions = VirtualNetwork.Conditions(loss: 0.5, duplication: 0.1, reordering: 0.3)
        var connected = 0
        for seed in UInt64(100)...111 {
            let pair = try DTLSPair(conditions: conditions, seed: seed)
            let start = pair.clock.now
            pair.run()
            if pair.client.state == .connected && pair.server.state == .connected {
                connected += 1
                XCTAssertEqual(pair.clientKeys, pair.serverKeys)
            } else {
                // Whoever is still handshaking fails at its deadline, not later.
                XCTAssertLessThanOrEqual(pair.clock.now - start, .seconds(10) + .milliseconds(100))
                for events in [pair.clientEvents, pair.serverEvents] where DTLSPair.keys(in: events) == nil {
                    XCTAssertNotNil(DTLSPair.failure(in: events), "seed \(seed)")
                }
            }
        }
        XCTAssertGreaterThan(connected, 6, "most handshakes survive 50 % loss within 10 s")
    }

    func testLostFinalServerFlightIsRecovered() throws {
        // Drop the server's ChangeCipherSpec+Finished the first two times:
        // the client must retransmit its Finished flight, and the (already
        // connected) server must resend its last flight in answer.
        let pair = try DTLSPair()
        var serverFinalFlightDrops = 0
        pair.run { datagram in
            if datagram.from == "server", pair.server.state == .connected, serverFinalFlightDrops < 4 {
                serverFinalFlightDrops += 1
                return false
            }
            return true
        }
        XCTAssertEqual(serverFinalFlightDrops, 4)
        XCTAssertEqual(pair.client.state, .connected)
        XCTAssertEqual(pair.clientKeys, pair.serverKeys)
        XCTAssertGreaterThan(pair.server.statistics.replayedFlights, 0)
    }

    func testRetransmissionWorksWithoutWallClockTime() throws {
        // A lone client: nothing answers its ClientHello.
        let clock = ManualClock()
        let client = try DTLSEndpoint(role: .client, certificate: TestCertificates.client,
                                      remoteFingerprint: TestCertificates.server.fingerprint, now: clock.now)
        guard case .transmit(let first)? = client.poll() else { return XCTFail("no ClientHello") }
        XCTAssertNil(client.poll())
        let deadline = try XCTUnwrap(client.nextDeadline)
        XCTAssertEqual(deadline - clock.now, .milliseconds(250))

        client.handleTimeout(now: deadline + .milliseconds(-1))
        XCTAssertNil(client.poll(), "nothing before the deadline")

        client.handleTimeout(now: deadline)
        guard case .transmit(let second)? = client.poll() else { return XCTFail("no retransmission") }
        XCTAssertEqual(first[0], 22, "handshake record")
        XCTAssertEqual(Array(second[13...]), Array(first[13...]), "same ClientHello")
        XCTAssertNotEqual(Array(second[5..<11]), Array(first[5..<11]), "fresh record sequence number")
        XCTAssertEqual(try XCTUnwrap(client.nextDeadline) - deadline, .milliseconds(500), "backoff doubles")

        // Doubling stops at the cap; the handshake deadline ends it all.
        var retransmissions = 1
        while let next = client.nextDeadline {
            client.handleTimeout(now: next)
            while case .transmit? = client.poll() { retransmissions += 1 }
        }
        XCTAssertEqual(client.state, .failed(.handshakeTimeout))
        XCTAssertEqual(retransmissions, 7, "at 0.25, 0.75, 1.75, 3.75, 5.75, 7.75 and 9.75 s")
        XCTAssertNil(client.keyingMaterial)
    }

    func testPeerThatStopsMidHandshakeFailsOtherSideAtDeadline() throws {
        for silentSide in ["client", "server"] {
            let pair = try DTLSPair()
            let start = pair.clock.now
            var delivered = 0
            // Let the first flight through, then the silent side stops sending.
            pair.run { datagram in
                if datagram.from == silentSide && delivered > 0 { return false }
                delivered += 1
                return true
            }
            let other = silentSide == "client" ? pair.server : pair.client
            let otherEvents = silentSide == "client" ? pair.serverEvents : pair.clientEvents
            XCTAssertEqual(other.state, .failed(.handshakeTimeout), silentSide)
            XCTAssertEqual(DTLSPair.failure(in: otherEvents), .handshakeTimeout)
            XCTAssertNil(DTLSPair.keys(in: otherEvents))
            XCTAssertEqual(pair.clock.now - start, .seconds(10))
            XCTAssertNil(other.nextDeadline)
            other.handleTimeout(now: pair.clock.now + .seconds(5))
            XCTAssertNil(other.poll(), "a failed endpoint sends nothing more")
        }
    }

    func testHandshakeTimeoutIsConfigurable() throws {
        var configuration = DTLSConfiguration()
        configuration.handshakeTimeout = .seconds(3)
        let clock = ManualClock()
        let server = try DTLSEndpoint(role: .server, certificate: TestCertificates.server,
                                      remoteFingerprint: TestCertificates.client.fingerprint,
                                      now: clock.now, configuration: configuration)
        XCTAssertEqual(server.nextDeadline, clock.now + .seconds(3))
        server.handleTimeout(now: clock.now + .seconds(3))
        XCTAssertEqual(server.poll(), .event(.failed(.handshakeTimeout)))
        XCTAssertNil(server.poll())
    }
}
