import CohortTestSupport
import DTLS
import Wire
import XCTest

/// Hostile input: garbage, truncated and oversized records, ClientHello floods.
final class DTLSAdversarialTests: XCTestCase {
    /// Datagrams built from `real` ones: truncated, length fields that overrun,
    /// flipped bytes, and noise that looks like a DTLS record header.
    ///
    /// They travel behind the real datagram. (Epoch 0 has no MAC, RFC 6347
    /// §4.1: a corrupted copy that arrives *before* the real record is an
    /// on-path attack that no DTLS 1.2 stack survives; behind it, the copy
    /// reuses a sequence number the replay window has already seen.)
    private func garbage(from real: [UInt8], random: inout SeededRandom) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.append(Array(real.prefix(Int(random.next() % UInt64(real.count)))))   // truncated
        var overrun = real
        if overrun.count > 12 { overrun[11] = 0xFF; overrun[12] = 0xFF }          // length past the end
        out.append(overrun)
        // Corrupted inside the first record's body, past its record header
        // (13 bytes) and, for a handshake record, its handshake header (12):
        // a flip there that turned the copy's message_seq into a future one
        // would be a forged handshake message, which OpenSSL buffers and
        // then prefers to the real one (an on-path attack, as above: seen as
        // a 1-in-30 handshake timeout when the flip landed on a header).
        var flipped = real
        let firstRecordEnd = real.count >= 13 ? min(real.count, 13 + (Int(real[11]) << 8 | Int(real[12]))) : real.count
        if firstRecordEnd > 25 { flipped[25 + Int(random.next() % UInt64(firstRecordEnd - 25))] ^= 0x5A }  // corrupted
        out.append(flipped)
        var header: [UInt8] = [22, 0xFE, 0xFD, 0, 0]                               // DTLS-looking noise
        header += (0..<8).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        header += (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        out.append(header)
        out.append((0..<Int(random.next() % 200)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        out.append([])
        out.append([UInt8](repeating: 23, count: 70_000))                         // oversized
        return out
    }

    func testGarbageTruncatedAndOversizedRecordsDoNotBlockAHandshake() throws {
        for seed in UInt64(1)...6 {
            let pair = try DTLSPair(seed: seed)
            var random = SeededRandom(seed: seed)
            pair.tamper = { from, bytes, pair in
                for junk in self.garbage(from: bytes, random: &random) { pair.inject(junk, from: from) }
            }
            pair.run()
            XCTAssertEqual(pair.client.state, .connected, "seed \(seed): client \(pair.client.statistics), server \(pair.server.statistics), \(pair.clientEvents) \(pair.serverEvents), t=\(pair.clock.now)")
            XCTAssertEqual(pair.server.state, .connected, "seed \(seed)")
            XCTAssertEqual(pair.clientKeys, pair.serverKeys)
            XCTAssertGreaterThan(pair.server.statistics.malformedDatagrams, 0)
        }
    }

    func testGarbageAfterConnectingChangesNothing() throws {
        let pair = try DTLSPair()
        pair.run()
        var random = SeededRandom(seed: 9)
        for _ in 0..<500 {
            let junk = (0..<Int(random.next() % 1500)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            pair.client.receive(junk, now: pair.clock.now)
            pair.server.receive([23, 0xFE, 0xFD, 0, 1] + junk, now: pair.clock.now)
        }
        XCTAssertEqual(pair.client.state, .connected)
        XCTAssertEqual(pair.server.state, .connected)
        XCTAssertLessThanOrEqual(pair.server.pendingTransmitCount, pair.server.configuration.maxPendingTransmits)
    }

    func testClientHelloFloodIsBoundedPerEndpoint() throws {
        // Real ClientHellos from throwaway clients, plus mutated copies.
        var hellos: [[UInt8]] = []
        for _ in 0..<8 {
            let client = try DTLSEndpoint(role: .client, certificate: TestCertificates.stranger,
                                          remoteFingerprint: TestCertificates.server.fingerprint, now: .zero)
            while case .transmit(let bytes)? = client.poll() { hellos.append(bytes) }
        }
        var random = SeededRandom(seed: 3)
        // Many endpoints, as a transport would create per source address; a
        // good pair handshakes in the middle of the flood.
        let good = try DTLSPair(conditions: .init(loss: 0.1), seed: 5)
        good.flush()
        good.clock.advance(by: .milliseconds(20))
        for datagram in good.network.deliver(upTo: good.clock.now) {
            good.endpoint(datagram.to).receive(datagram.bytes, now: good.clock.now)
        }
        var flooded: [DTLSEndpoint] = []
        let configuration = DTLSConfiguration(maxPendingTransmits: 3)
        for _ in 0..<40 {
            let endpoint = try DTLSEndpoint(role: .server, certificate: TestCertificates.server,
                                            remoteFingerprint: TestCertificates.client.fingerprint,
                                            now: good.clock.now, configuration: configuration)
            flooded.append(endpoint)
            for target in flooded {
                for _ in 0..<5 {
                    var hello = hellos[Int(random.next() % UInt64(hellos.count))]
                    if random.chance(0.5) { hello[Int(random.next() % UInt64(hello.count))] &+= 1 }
                    target.receive(hello, now: good.clock.now)
                    good.server.receive(hello, now: good.clock.now)  // stale to the good server: ignored or dropped
                }
                target.handleTimeout(now: good.clock.now)
                // Never polled: the queue must stay bounded on its own.
                XCTAssertLessThanOrEqual(target.pendingTransmitCount, 3)
            }
            good.clock.advance(by: .milliseconds(100))
        }
        XCTAssertGreaterThan(flooded.map(\.statistics.transmitsDropped).reduce(0, +), 0, "the bound was reached")
        // The good server got its client's ClientHello before the flood (an
        // endpoint serves one ICE-validated address), so stale ones do not
        // derail it; its handshake goes on from where it stood.
        good.run()
        XCTAssertEqual(good.client.state, .connected)
        XCTAssertEqual(good.clientKeys, good.serverKeys)
    }

    func testUnpolledEndpointHoldsABoundedQueueThroughRetransmissions() throws {
        let configuration = DTLSConfiguration(maxPendingTransmits: 4)
        let client = try DTLSEndpoint(role: .client, certificate: TestCertificates.client,
                                      remoteFingerprint: TestCertificates.server.fingerprint,
                                      now: .zero, configuration: configuration)
        while let deadline = client.nextDeadline {
            client.handleTimeout(now: deadline)
            XCTAssertLessThanOrEqual(client.pendingTransmitCount, 4)
        }
        XCTAssertEqual(client.pendingTransmitCount, 0, "a timed-out handshake drops what it had queued")
        XCTAssertGreaterThan(client.statistics.transmitsDropped, 0)
    }

    func testFuzzEntryPointSurvivesRandomAndMutatedInput() throws {
        var random = SeededRandom(seed: 77)
        let client = try DTLSEndpoint(role: .client, certificate: TestCertificates.client,
                                      remoteFingerprint: TestCertificates.server.fingerprint, now: .zero)
        guard case .transmit(let hello)? = client.poll() else { return XCTFail("no ClientHello") }
        DTLSFuzz.run([])
        DTLSFuzz.run(hello)
        for _ in 0..<60 {
            var input = hello
            for _ in 0..<Int(random.next() % 8) {
                input[Int(random.next() % UInt64(input.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            DTLSFuzz.run(input)
            DTLSFuzz.run(Array(input.prefix(Int(random.next() % UInt64(input.count)))))
            DTLSFuzz.run((0..<Int(random.next() % 600)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
    }
}
