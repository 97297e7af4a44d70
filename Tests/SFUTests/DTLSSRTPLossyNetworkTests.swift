import CohortTestSupport
import DTLS
import RTP
import SRTP
import Wire
import XCTest

/// DTLS-SRTP as a whole (RFC 5764): our client and our server handshake over
/// a virtual network with 20 % loss, reordering and duplication, in both
/// role assignments, then exchange SRTP and SRTCP both ways with the keys
/// each side exported.
final class DTLSSRTPLossyNetworkTests: XCTestCase {
    private static let alice = try! DTLSCertificate()
    private static let bob = try! DTLSCertificate()

    private func handshake(seed: UInt64, aliceIsServer: Bool) throws -> (SRTPContext, SRTPContext) {
        let clock = ManualClock()
        var net = VirtualNetwork(conditions: .init(loss: 0.2, duplication: 0.1, reordering: 0.2, delay: .milliseconds(5)),
                                 seed: seed)
        let a = try DTLSEndpoint(role: aliceIsServer ? .server : .client, certificate: Self.alice,
                                 remoteFingerprint: Self.bob.fingerprint, now: clock.now)
        let b = try DTLSEndpoint(role: aliceIsServer ? .client : .server, certificate: Self.bob,
                                 remoteFingerprint: Self.alice.fingerprint, now: clock.now)
        var keys: [String: SRTPKeyingMaterial] = [:]
        func drain(_ e: DTLSEndpoint, _ name: String, _ peer: String) {
            while let out = e.poll() {
                switch out {
                case .transmit(let bytes): net.send(bytes, from: name, to: peer, now: clock.now)
                case .event(.connected(let k)): keys[name] = k
                case .event(.failed(let why)): XCTFail("\(name) failed: \(why)")
                case .event: break
                }
            }
        }
        let end = clock.now + .seconds(10)
        while keys.count < 2 && clock.now < end {
            drain(a, "a", "b"); drain(b, "b", "a")
            for d in net.deliver(upTo: clock.now) { (d.to == "a" ? a : b).receive(d.bytes, now: clock.now) }
            for e in [a, b] { if let t = e.nextDeadline, t <= clock.now { e.handleTimeout(now: clock.now) } }
            drain(a, "a", "b"); drain(b, "b", "a")
            let next = [net.nextArrival, a.nextDeadline, b.nextDeadline].compactMap { $0 }.filter { $0 > clock.now }.min()
            clock.advance(to: min(next ?? end, end))
        }
        let ka = try XCTUnwrap(keys["a"], "seed \(seed): alice connected")
        let kb = try XCTUnwrap(keys["b"], "seed \(seed): bob connected")
        XCTAssertEqual(ka, kb)
        XCTAssertEqual(ka.profile, .aeadAes256Gcm)
        return (try SRTPContext(keyingMaterial: ka, role: aliceIsServer ? .dtlsServer : .dtlsClient),
                try SRTPContext(keyingMaterial: kb, role: aliceIsServer ? .dtlsClient : .dtlsServer))
    }

    func testHandshakeUnderLossThenMediaBothWays() throws {
        for seed in UInt64(1)...6 {
            for aliceIsServer in [true, false] {
                let (a, b) = try handshake(seed: seed, aliceIsServer: aliceIsServer)
                for (from, to) in [(a, b), (b, a)] {
                    let payload = Array("seed \(seed)".utf8)
                    var rtp = try RTPPacketBuilder(payloadType: 111, sequenceNumber: 7, timestamp: 960, ssrc: 0xABCD)
                        .build(payload: payload)
                    let plain = rtp
                    try from.protectRTP(&rtp)
                    XCTAssertNotEqual(rtp, plain)
                    try to.unprotectRTP(&rtp)
                    XCTAssertEqual(rtp, plain)
                    var rtcp = RTCPCompound.build([RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 0xABCD)])
                    let plainRTCP = rtcp
                    try from.protectRTCP(&rtcp)
                    try to.unprotectRTCP(&rtcp)
                    XCTAssertEqual(rtcp, plainRTCP)
                }
            }
        }
    }
}
