import CohortClient
import CohortTestSupport
import SDP
import STUN
import Wire
import XCTest
@testable import SFU

/// ICE-TCP behind the same engine: the answer offers a passive TCP host
/// candidate below the UDP one (RFC 6544 §4), and a participant whose
/// packets arrive from an ICE-TCP connection (a `.tcp` transport address)
/// completes ICE and DTLS with every transmit going back to that connection,
/// never to the UDP address with the same IP and port.
final class IceTCPEngineTests: XCTestCase {
    private func engine(tcpPort: UInt16?) -> MediaEngine {
        var configuration = EngineConfiguration(certificate: EngineHarness.certificate, candidateHost: "192.0.2.7",
                                                candidatePort: 40000, maxSlots: 4)
        configuration.candidateTCPPort = tcpPort
        return MediaEngine(configuration: configuration)
    }

    private func join(_ engine: MediaEngine, now: Instant) throws -> (ClientParticipant, JoinAnswer) {
        let client = ClientParticipant(publishAudio: true, publishVideo: true, slots: 2, certificate: EngineHarness.certificate)
        let answer = try engine.join(JoinRequest(sessionID: "s1", room: .main, name: "ann", role: .participant,
                                                 offer: client.offer.sdp, mixedAudio: false, identity: nil), now: now)
        return (client, answer)
    }

    func testAnswerHasAPassiveTCPCandidateBelowUDP() throws {
        let (_, answer) = try join(engine(tcpPort: 40000), now: .milliseconds(1_000))
        let lines = answer.answer.split(separator: "\r\n").filter { $0.hasPrefix("a=candidate:") }
        let bundled = try SessionDescription.parse(answer.answer).mediaSections.count
        XCTAssertEqual(lines.count, 2 * bundled, "a UDP and a TCP candidate in every section")
        XCTAssertTrue(lines.contains("a=candidate:1 1 udp 2130706431 192.0.2.7 40000 typ host"))
        XCTAssertTrue(lines.contains("a=candidate:2 1 tcp 2124414975 192.0.2.7 40000 typ host tcptype passive"))
        XCTAssertLessThan(AnswerBuilder.tcpPassivePriority, 2_130_706_431)
        // RFC 8445 §5.1.2.1: (2^24)·type + (2^8)·local + (256 − component).
        let typePreference: UInt32 = 126, localPreference: UInt32 = 4 * 8_192 + 8_191
        XCTAssertEqual(AnswerBuilder.tcpPassivePriority, typePreference << 24 + localPreference << 8 + 255)

        let (_, udpOnly) = try join(engine(tcpPort: nil), now: .milliseconds(1_000))
        XCTAssertFalse(udpOnly.answer.contains(" tcp "), "no TCP candidate when ICE-TCP is off")
    }

    func testHandshakeOverATCPAddressAnswersOnThatConnectionOnly() throws {
        let clock = ManualClock()
        let engine = engine(tcpPort: 40000)
        let (client, answer) = try join(engine, now: clock.now)
        try client.accept(answer: answer.answer, now: clock.now)
        let tcp = StunAddress(ip: .v4(0xC000_0209), port: 51_000, transport: .tcp(connection: 7))
        var sawSuccess = false
        var mapped: StunAddress?
        let deadline = clock.now + .seconds(5)
        while !client.isConnected && clock.now < deadline {
            var transmits = TransmitQueue()
            for d in client.poll().datagrams { engine.receive(d, from: tcp, now: clock.now, transmits: &transmits) }
            if let d = engine.nextDeadline, d <= clock.now { engine.handleTimeout(now: clock.now, transmits: &transmits) }
            for t in transmits {
                XCTAssertEqual(t.destination, tcp, "every transmit goes back on the connection")
                if t.bytes.count >= 20, t.bytes[0] == 0x01, t.bytes[1] == 0x01,
                   let parsed = try? StunParsedMessage(parsing: t.bytes),
                   case .xorMappedAddress(let a)? = parsed.message.attributes.first(where: {
                       if case .xorMappedAddress = $0 { return true } else { return false } }) {
                    sawSuccess = true
                    mapped = a
                }
                client.receive(t.bytes, now: clock.now)
            }
            if client.nextDeadline.map({ $0 <= clock.now }) ?? false { client.handleTimeout(now: clock.now) }
            clock.advance(by: .milliseconds(5))
        }
        XCTAssertTrue(client.isConnected, "ICE and DTLS completed over the TCP address")
        XCTAssertTrue(sawSuccess, "a binding success response went to the connection")
        XCTAssertEqual(mapped.map { StunAddress(ip: $0.ip, port: $0.port) }, StunAddress(ip: .v4(0xC000_0209), port: 51_000),
                       "XOR-MAPPED-ADDRESS is the peer's real address")
        XCTAssertNotEqual(tcp, StunAddress(ip: tcp.ip, port: tcp.port), "TCP and UDP addresses never compare equal")
        XCTAssertNotEqual(tcp, StunAddress(ip: tcp.ip, port: tcp.port, transport: .tcp(connection: 8)))
    }
}
