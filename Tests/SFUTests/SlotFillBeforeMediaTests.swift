import CohortClient
import CohortTestSupport
import RTP
@testable import SFU
import Wire
import XCTest

/// A joiner's slots are filled by the join itself, before its client has
/// applied the answer, and can change again (someone else joins) before its
/// DTLS is up. Its first packets must still come through every slot the map
/// names, from the right source, with unbroken numbering: the orderings an
/// end-to-end run under load can produce (issue 18, item 9: an aiortc
/// participant that never heard the host who was talking when it joined).
/// And what we send before the joiner's DTLS is up never reaches it, so no
/// slot may wrap its numbering in its first packets (`RolloverStartTests`).
final class SlotFillBeforeMediaTests: XCTestCase {
    func testEverySlotAndItsRetransmissionsStartBelowTheWrap() throws {
        let h = EngineHarness()
        var starts: [UInt16] = []
        for i in 0..<40 {
            let client = ClientParticipant(publishAudio: true, publishVideo: true, slots: 4, certificate: EngineHarness.certificate,
                                           lossRepair: true)
            let answer = try h.engine.join(JoinRequest(sessionID: "s\(i)", room: .main, name: "p\(i)", role: .participant,
                                                       offer: client.offer.sdp, mixedAudio: false, identity: nil), now: h.clock.now)
            let p = try XCTUnwrap(h.engine.participant(answer.participantID))
            for var slot in p.subscriber.audio + p.subscriber.video {
                slot.rebase(filled: true, waitForKeyframe: false)
                let first = try XCTUnwrap(slot.rewrite(sequence: 4321, timestamp: 0, isKeyframe: false, payloadBytes: 10, now: h.clock.now))
                starts.append(first.sequence)
                if slot.rtx != nil { starts.append(slot.nextRTXSequence()) }
            }
        }
        XCTAssertEqual(starts.count, 40 * 12, "4 audio, 4 video and 4 retransmission streams each")
        XCTAssertEqual(starts.filter { $0 >= 0x8000 }, [], "a stream that starts in the upper half can wrap before its receiver has keys")
    }

    func testSlotsFilledBeforeTheSubscribersMediaIsUpCarryTheirSourcesFromTheFirstPacket() throws {
        let h = EngineHarness()
        try h.join("host", video: false)
        var ts: UInt32 = 0
        func talk(_ names: [String], for ms: Int) {
            for _ in 0..<(ms / 20) {
                for n in names { h.sendMedia(n, audioTimestamp: ts) }
                ts &+= 960
                h.run(for: .milliseconds(20))
            }
        }
        talk(["host"], for: 100)
        // p1 joins while the host talks; its client applies the answer only
        // after p2 has joined and connected (a slow client on a busy machine).
        let answer = try h.join("p1", video: false, slots: 3, connect: false)
        let p1 = h.participantIDs["p1"]!
        XCTAssertEqual(answer.slots.first { $0.mid == "a0" }?.participantId, h.participantIDs["host"])
        talk(["host"], for: 200)
        try h.join("p2", video: false, slots: 3)
        talk(["host", "p2"], for: 200)
        XCTAssertTrue(h.rtpByMid("p1").isEmpty, "nothing reaches p1 before its media is up")
        try h.connect("p1", answer: answer)
        talk(["host", "p2"], for: 400)

        let map = try XCTUnwrap(h.events.slots.last { $0.0 == p1 }?.1)
        let named = map.filter { $0.kind == .audio && $0.participantId != nil }
        XCTAssertEqual(Set(named.compactMap(\.participantId)), [h.participantIDs["host"]!, h.participantIDs["p2"]!])
        let received = h.rtpByMid("p1")
        for slot in named {
            let source = try XCTUnwrap(h.participantIDs.first { $0.value == slot.participantId }?.key)
            let packets = received[slot.mid] ?? []
            XCTAssertGreaterThanOrEqual(packets.count, 15, "\(source) in \(slot.mid): \(packets.count) packets")
            for (header, packet) in packets {
                XCTAssertEqual(String(decoding: packet[header.payloadRange], as: UTF8.self), "audio:\(source)", slot.mid)
            }
            let sequences = packets.map(\.header.sequenceNumber)
            XCTAssertEqual(sequences, sequences.first.map { first in (0..<sequences.count).map { first &+ UInt16($0) } } ?? [],
                           "\(slot.mid): one unbroken stream from its first packet")
        }
        XCTAssertEqual(Set(received.keys), Set(named.map(\.mid)), "no audio outside the named slots")
    }
}
