import CohortTestSupport
import DTLS
import Wire
import XCTest

final class DTLSHandshakeTests: XCTestCase {
    func testHandshakeOnPerfectLinkExportsIdenticalKeysWithGCM256() throws {
        let pair = try DTLSPair()
        pair.run()
        XCTAssertEqual(pair.client.state, .connected)
        XCTAssertEqual(pair.server.state, .connected)
        let keys = try XCTUnwrap(pair.clientKeys)
        XCTAssertEqual(keys, pair.serverKeys)
        XCTAssertEqual(keys.profile, .aeadAes256Gcm)
        XCTAssertEqual(keys.clientWriteKey.count, 32)
        XCTAssertEqual(keys.clientWriteSalt.count, 12)
        XCTAssertNotEqual(keys.clientWriteKey, keys.serverWriteKey)
        XCTAssertEqual(pair.client.keyingMaterial, keys)
        XCTAssertNil(pair.client.nextDeadline)
        XCTAssertNil(pair.server.nextDeadline)
        XCTAssertLessThanOrEqual(pair.largestDatagram, 1200)
        XCTAssertEqual(pair.client.statistics.replayedFlights, 0)
    }

    func testServerPreferenceWinsOverClientOrder() throws {
        let pair = try DTLSPair(clientProfiles: [.aes128CmHmacSha1_80, .aeadAes128Gcm])
        pair.run()
        XCTAssertEqual(pair.clientKeys?.profile, .aeadAes128Gcm)
        XCTAssertEqual(pair.clientKeys, pair.serverKeys)
    }

    func testSingleCommonProfileIsChosen() throws {
        let pair = try DTLSPair(clientProfiles: [.aes128CmHmacSha1_32], serverProfiles: [.aes128CmHmacSha1_32, .aeadAes128Gcm])
        pair.run()
        let keys = try XCTUnwrap(pair.serverKeys)
        XCTAssertEqual(keys.profile, .aes128CmHmacSha1_32)
        XCTAssertEqual(keys.clientWriteSalt.count, 14)
        XCTAssertEqual(keys, pair.clientKeys)
    }

    func testNoCommonProfileFailsWithoutKeys() throws {
        let pair = try DTLSPair(clientProfiles: [.aes128CmHmacSha1_80], serverProfiles: [.aeadAes256Gcm])
        pair.run()
        XCTAssertNil(pair.clientKeys)
        XCTAssertNil(pair.serverKeys)
        XCTAssertNotNil(DTLSPair.failure(in: pair.clientEvents))
    }

    func testWrongFingerprintAtServerFailsBothWithoutKeys() throws {
        let pair = try DTLSPair(serverExpects: TestCertificates.stranger.fingerprint)
        pair.run()
        XCTAssertEqual(DTLSPair.failure(in: pair.serverEvents), .fingerprintMismatch)
        XCTAssertEqual(pair.server.state, .failed(.fingerprintMismatch))
        XCTAssertNil(pair.serverKeys)
        XCTAssertNil(pair.clientKeys)
        XCTAssertNil(pair.server.keyingMaterial)
    }

    func testWrongFingerprintAtClientFailsBothWithoutKeys() throws {
        let pair = try DTLSPair(clientExpects: TestCertificates.stranger.fingerprint(.sha384)!)
        pair.run()
        XCTAssertEqual(DTLSPair.failure(in: pair.clientEvents), .fingerprintMismatch)
        XCTAssertNil(pair.clientKeys)
        XCTAssertNil(pair.serverKeys)
        XCTAssertNotNil(DTLSPair.failure(in: pair.serverEvents), "the client's alert ends the server too")
    }

    func testSHA512FingerprintIsAccepted() throws {
        let pair = try DTLSPair(clientExpects: TestCertificates.server.fingerprint(.sha512)!,
                                serverExpects: TestCertificates.client.fingerprint(.sha384)!)
        pair.run()
        XCTAssertNotNil(pair.clientKeys)
        XCTAssertEqual(pair.clientKeys, pair.serverKeys)
    }

    func testApplicationDataBothWays() throws {
        let pair = try DTLSPair()
        pair.run()
        try pair.client.send(Array("hello".utf8), now: pair.clock.now)
        try pair.server.send(Array("world".utf8), now: pair.clock.now)
        pair.flush()
        pair.clock.advance(by: .milliseconds(50))
        for datagram in pair.network.deliver(upTo: pair.clock.now) {
            pair.endpoint(datagram.to).receive(datagram.bytes, now: pair.clock.now)
        }
        pair.flush()
        XCTAssertTrue(pair.serverEvents.contains(.applicationData(Array("hello".utf8))))
        XCTAssertTrue(pair.clientEvents.contains(.applicationData(Array("world".utf8))))
    }

    func testSendBeforeConnectedThrows() throws {
        let pair = try DTLSPair()
        XCTAssertThrowsError(try pair.client.send([1], now: pair.clock.now)) {
            XCTAssertEqual($0 as? DTLSError, .notConnected)
        }
    }

    func testEmptyProfileListIsRefused() {
        XCTAssertThrowsError(try DTLSEndpoint(role: .client, certificate: TestCertificates.client,
                                              remoteFingerprint: TestCertificates.server.fingerprint,
                                              profiles: [], now: .zero)) {
            XCTAssertEqual($0 as? DTLSError, .noProfiles)
        }
    }
}
