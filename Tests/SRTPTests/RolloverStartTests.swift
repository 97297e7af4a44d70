import SRTP
import XCTest

/// Why a forwarded stream must not start near the top of the sequence space
/// (RFC 3711 §3.3.1): a receiver takes the rollover counter of a stream's
/// first packet it decrypts to be 0. When it misses the sender's first
/// packets (they arrived before its DTLS handshake had finished) and those
/// crossed 65535 → 0, the sender is on rollover counter 1 and the receiver
/// can never authenticate the stream: a slot that stays silent for good.
/// `SubscribedSlot` therefore starts below 2^15, as libwebrtc's senders do.
final class RolloverStartTests: XCTestCase {
    func testAReceiverThatMissedTheFirstWrapNeverOpensTheStream() throws {
        let (server, client) = try pair(.aes128CmHmacSha1_80)
        var sent: [[UInt8]] = []
        for i in 0..<40 {
            var packet = TestPacket.rtp(ssrc: 0x5107, sequence: 65_530 &+ UInt16(i), payload: TestPacket.payload(60))
            try server.protectRTP(&packet)
            sent.append(packet)
        }
        // The first 10 (65530 ... 3) never reach the receiver.
        var opened = 0
        for var packet in sent.dropFirst(10) where (try? client.unprotectRTP(&packet)) != nil { opened += 1 }
        XCTAssertEqual(opened, 0, "libsrtp guesses rollover counter 0 for the first packet it sees")
    }

    func testAStreamThatStartsLowSurvivesLosingItsFirstPackets() throws {
        let (server, client) = try pair(.aes128CmHmacSha1_80)
        var opened = 0
        for i in 0..<40 {
            var packet = TestPacket.rtp(ssrc: 0x5107, sequence: 0x7FF0 &+ UInt16(i), payload: TestPacket.payload(60))
            try server.protectRTP(&packet)
            if i >= 10, (try? client.unprotectRTP(&packet)) != nil { opened += 1 }
        }
        XCTAssertEqual(opened, 30)
    }
}
