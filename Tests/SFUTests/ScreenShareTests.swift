import CohortClient
import CohortTestSupport
import DTLS
import RTP
import SDP
@testable import SFU
import Wire
import XCTest

/// The screen share (docs/PROTOCOL.md "Screen sharing"): a send section and
/// a receive slot marked `a=content:slides`, filled for a whole room by its
/// one sharer, dark until the sharer's keyframe, ended by a stop, a leave, a
/// removal or a move, and granted to participants only by a host.
final class ScreenShareTests: XCTestCase {
    private func id(_ h: EngineHarness, _ name: String) -> ParticipantID { h.participantIDs[name]! }

    /// Carries out `command` and lets coalesced session views go out.
    private func perform(_ h: EngineHarness, _ command: SessionCommand, by name: String) throws {
        try h.engine.perform(command, by: id(h, name), now: h.clock.now)
        h.run(for: .milliseconds(250))
    }

    /// The slot map entry of `name`'s screen slot ("sv"), as last sent.
    private func screenSlot(_ h: EngineHarness, _ name: String) -> SlotAssignment? {
        h.events.slots.last { $0.0 == id(h, name) }?.1.first { $0.mid == "sv" }
    }

    /// Payload texts `name` received through its screen slot.
    private func screenPackets(_ h: EngineHarness, _ name: String) -> [String] {
        (h.rtpByMid(name)["sv"] ?? []).map { String(decoding: $0.packet[$0.header.payloadRange].dropFirst(2), as: UTF8.self) }
    }

    /// PLIs `name` received for its screen SSRC since the last call.
    private func screenPLIs(_ h: EngineHarness, _ name: String) -> Int {
        guard let ssrc = h.clients[name]?.client.offer.screenSSRC else { return 0 }
        var count = 0
        for event in h.received[name] ?? [] {
            guard case .rtcp(let bytes) = event else { continue }
            var reader = RTCPCompoundReader(bytes)
            while let p = try? reader.next() {
                if case .pictureLossIndication(let pli) = p, pli.mediaSSRC == ssrc { count += 1 }
            }
        }
        return count
    }

    private func share(_ h: EngineHarness, _ name: String, frames: Int, keyframeAt: Int? = 0, ts: inout UInt32) {
        for i in 0..<frames {
            h.sendScreen(name, timestamp: ts, keyframe: i == keyframeAt)
            ts &+= 3_000
            h.run(for: .milliseconds(20))
        }
    }

    func testOfferPlanTakesTheSlidesSectionsAsScreenSendAndSlot() throws {
        var offer = ClientParticipant(publishAudio: true, publishVideo: true, slots: 2, certificate: EngineHarness.certificate,
                                      screen: true).offer
        offer.screenSSRC = 33
        let plan = try OfferPlan(offer: SessionDescription.parse(offer.sdp), maxSlots: 4)
        XCTAssertEqual(plan.video?.mid, "v")
        XCTAssertEqual(plan.screen?.mid, "s")
        XCTAssertEqual(plan.screen?.ssrc, 33)
        XCTAssertEqual(plan.slots(.video).map(\.mid), ["v0", "v1"], "the screen slot is not a camera slot")
        XCTAssertEqual(plan.slots(.screen).map(\.mid), ["sv"])
        // The answer: ordinary video sections, the screen slot a stream of its own.
        let answer = AnswerBuilder(ufrag: "uuuuuuuu", password: "pppppppppppppppppppppppp", fingerprint: EngineHarness.certificate.fingerprint,
                                   candidateHost: "127.0.0.1", candidatePort: 4000, participantID: "me")
            .answer(for: plan, slotSSRCs: [.audio: [1, 2], .video: [3, 4], .screen: [5]], sessionVersion: 1)
        let sections = try SessionDescription.parse(answer).mediaSections
        let screenSend = try XCTUnwrap(sections.first { $0.mid == "s" })
        let screenSlot = try XCTUnwrap(sections.first { $0.mid == "sv" })
        XCTAssertEqual(screenSend.kind, .video)
        XCTAssertEqual(screenSend.explicitDirection, .recvonly)
        XCTAssertEqual(screenSlot.kind, .video)
        XCTAssertEqual(screenSlot.explicitDirection, .sendonly)
        XCTAssertTrue(answer.contains("a=msid:cohort-screen me-screen-0"))
        XCTAssertTrue(answer.contains("a=ssrc:5 cname:cohort"))

        // A second slides slot is refused (one screen per room); without the
        // mark a second sending video section is still refused.
        var twice = offer.sdp
        twice += "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:sv2\r\na=recvonly\r\na=rtcp-mux\r\na=content:slides\r\na=rtpmap:96 VP8/90000\r\n"
        twice += "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v2send\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
        twice = twice.replacingOccurrences(of: "a=group:BUNDLE " + offer.mids.joined(separator: " "),
                                           with: "a=group:BUNDLE " + (offer.mids + ["sv2", "v2send"]).joined(separator: " "))
        let refused = try OfferPlan(offer: SessionDescription.parse(twice), maxSlots: 4)
        XCTAssertEqual(refused.slots(.screen).map(\.mid), ["sv"])
        for mid in ["sv2", "v2send"] {
            XCTAssertTrue(refused.sections.contains { if case .rejected(mid, _, _) = $0 { return true } else { return false } }, mid)
        }
    }

    func testShareFillsTheRoomsScreenSlotsDarkUntilAKeyframe() throws {
        let h = EngineHarness()
        try h.join("host", role: .host, screen: true)
        try h.join("p1", screen: true)
        try h.join("p2", screen: true)
        XCTAssertNil(screenSlot(h, "p1")?.participantId, "no one shares yet")
        h.received["host"] = []
        try perform(h, .setScreenSharing(true), by: "host")
        for name in ["p1", "p2"] {
            let slot = try XCTUnwrap(screenSlot(h, name))
            XCTAssertEqual(slot.participantId, id(h, "host"))
            XCTAssertEqual(slot.kind, .screen)
        }
        XCTAssertNil(screenSlot(h, "host")?.participantId, "a sharer does not receive its own screen")
        XCTAssertEqual(h.events.views[id(h, "p1")]?.rooms.first?.screen, id(h, "host"))
        var ts: UInt32 = 0
        // Delta frames first: nothing passes; the keyframe was asked for at once.
        share(h, "host", frames: 5, keyframeAt: nil, ts: &ts)
        XCTAssertEqual(screenPackets(h, "p1"), [], "dark until a keyframe")
        XCTAssertGreaterThanOrEqual(screenPLIs(h, "host"), 1, "the sharer is asked for a keyframe")
        share(h, "host", frames: 5, keyframeAt: 0, ts: &ts)
        for name in ["p1", "p2"] {
            XCTAssertEqual(screenPackets(h, name), Array(repeating: "screen:host", count: 5), name)
            XCTAssertTrue(h.rtpByMid(name).filter { $0.key != "sv" }.values.joined()
                .allSatisfy { !String(decoding: $0.packet, as: UTF8.self).contains("screen:") }, "only through the screen slot")
        }
        XCTAssertEqual(h.engine.counters.screenPacketsForwarded, 10)

        // A subscriber's PLI on its screen slot reaches the sharer's screen
        // stream (at most one new request a second per stream).
        h.received["host"] = []
        let slotSSRC = try XCTUnwrap(h.clients["p1"]?.client.midBySSRC.first { $0.value == "sv" }?.key)
        h.clients["p1"]?.client.sendRTCP([RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: slotSSRC)])
        share(h, "host", frames: 60, keyframeAt: nil, ts: &ts)
        XCTAssertGreaterThanOrEqual(screenPLIs(h, "host"), 1)
        XCTAssertEqual(h.engine.counters.isolationViolations, 0)
    }

    func testShareEndsOnStopLeaveRemoveAndMove() throws {
        let h = EngineHarness()
        try h.join("host", role: .host, screen: true)
        try h.join("co", role: .coHost, screen: true)
        try h.join("p1", screen: true)
        var ts: UInt32 = 0
        func expectShared(by sharer: String?, _ why: String) {
            XCTAssertEqual(screenSlot(h, "p1")?.participantId, sharer.map { id(h, $0) }, why)
            XCTAssertEqual(h.events.views[id(h, "p1")]?.rooms.first { $0.id == .main }?.screen, sharer.map { id(h, $0) }, why)
        }
        // Stop.
        try perform(h, .setScreenSharing(true), by: "co")
        expectShared(by: "co", "shared")
        try perform(h, .setScreenSharing(false), by: "co")
        expectShared(by: nil, "stopped")
        h.received["p1"] = []
        share(h, "co", frames: 3, ts: &ts)
        XCTAssertEqual(screenPackets(h, "p1"), [], "a stopped share reaches no one")
        // Move: the share stays behind, ended; the mover's new room gets nothing.
        try perform(h, .createRooms(names: ["A"]), by: "host")
        try perform(h, .openRooms, by: "host")
        try perform(h, .setScreenSharing(true), by: "co")
        expectShared(by: "co", "shared again")
        try perform(h, .move(id(h, "p1"), to: "r1"), by: "host")
        XCTAssertNil(screenSlot(h, "p1")?.participantId, "p1 left the sharer's room")
        try perform(h, .move(id(h, "p1"), to: .main), by: "host")
        expectShared(by: "co", "back in the sharer's room")
        try perform(h, .joinRoom("r1"), by: "co")
        expectShared(by: nil, "the sharer moved")
        XCTAssertNil(h.events.views[id(h, "p1")]?.rooms.first { $0.id == "r1" }?.screen, "the share did not follow the sharer")
        try perform(h, .joinRoom(.main), by: "co")
        expectShared(by: nil, "back, not sharing")
        // Leave and removal.
        try perform(h, .setScreenSharing(true), by: "co")
        expectShared(by: "co", "co shares")
        h.engine.remove(id(h, "co"), reason: .left, now: h.clock.now)
        expectShared(by: nil, "the sharer left")
        try h.join("p2", screen: true)
        try perform(h, .allowScreenSharing(true), by: "host")
        try perform(h, .setScreenSharing(true), by: "p2")
        expectShared(by: "p2", "p2 shares")
        try perform(h, .remove(id(h, "p2")), by: "host")
        expectShared(by: nil, "the sharer was removed")
        XCTAssertEqual(h.engine.counters.isolationViolations, 0)
    }

    /// A reloaded page (an ICE restart with a new DTLS certificate: a new
    /// peer connection) shares nothing: the old page's share ends for the room.
    func testANewPeerConnectionEndsTheShare() throws {
        let h = EngineHarness()
        try h.join("host", role: .host, screen: true)
        try h.join("p1", screen: true)
        try perform(h, .setScreenSharing(true), by: "host")
        XCTAssertEqual(screenSlot(h, "p1")?.participantId, id(h, "host"))
        let host = try XCTUnwrap(h.clients["host"]?.client)
        // Kept DTLS (a plain ICE restart): the share goes on.
        let kept = try h.engine.restartICE(id(h, "host"), offer: host.restartICE(), now: h.clock.now)
        try host.acceptRestart(answer: kept, now: h.clock.now)
        h.run(for: .milliseconds(250))
        XCTAssertEqual(screenSlot(h, "p1")?.participantId, id(h, "host"), "the same page still shares")
        let answer = try h.engine.restartICE(id(h, "host"), offer: host.restartICE(certificate: try DTLSCertificate()), now: h.clock.now)
        try host.acceptRestart(answer: answer, now: h.clock.now)
        h.run(for: .milliseconds(250))
        XCTAssertNil(screenSlot(h, "p1")?.participantId)
        XCTAssertNil(h.events.views[id(h, "p1")]?.rooms.first?.screen)
    }

    func testOnlyHostsShareUntilAllowedAndOneShareARoom() throws {
        let h = EngineHarness(waitingRoom: true)
        try h.join("host", role: .host, screen: true)
        try h.join("co", role: .coHost, screen: true)
        try h.join("p1", screen: true)
        try h.join("bare")  // an offer without screen sections
        try perform(h, .admit(id(h, "p1")), by: "host")
        try perform(h, .admit(id(h, "bare")), by: "host")
        func attempt(_ name: String, _ command: SessionCommand) -> String? {
            do {
                try h.engine.perform(command, by: id(h, name), now: h.clock.now)
                h.run(for: .milliseconds(250))
                return nil
            } catch { return error.code }
        }
        XCTAssertEqual(attempt("p1", .setScreenSharing(true)), "forbidden", "participants need a host's leave")
        XCTAssertEqual(attempt("p1", .allowScreenSharing(true)), "forbidden", "a host command")
        XCTAssertNil(attempt("host", .setScreenSharing(true)))
        XCTAssertEqual(attempt("co", .setScreenSharing(true)), "screen-busy", "one share a room")
        XCTAssertNil(attempt("host", .setScreenSharing(true)), "sharing again is no change")
        XCTAssertNil(attempt("host", .setScreenSharing(false)))
        XCTAssertNil(attempt("co", .setScreenSharing(true)))
        XCTAssertNil(attempt("co", .setScreenSharing(false)))
        XCTAssertNil(attempt("p1", .setScreenSharing(false)), "stopping is always allowed")
        // A host lets everyone share; the view says so; taking it back ends a participant's share.
        XCTAssertNil(attempt("co", .allowScreenSharing(true)))
        XCTAssertEqual(h.events.views[id(h, "p1")]?.participantsMayShare, true)
        XCTAssertNil(attempt("p1", .setScreenSharing(true)))
        XCTAssertEqual(screenSlot(h, "host")?.participantId, id(h, "p1"))
        XCTAssertEqual(attempt("bare", .setScreenSharing(true)), "invalid-command", "no screen section in its offer")
        XCTAssertNil(attempt("host", .allowScreenSharing(false)))
        XCTAssertNil(h.events.views[id(h, "p1")]?.participantsMayShare)
        XCTAssertNil(screenSlot(h, "host")?.participantId, "the right taken back ends the share")
        XCTAssertTrue(h.events.records.contains { if case .hostAction("screen-share-allow", _, _, _) = $0.kind { true } else { false } })
        // The waiting room may do nothing.
        try h.join("waiting", screen: true)
        XCTAssertNil(attempt("host", .allowScreenSharing(true)))
        XCTAssertEqual(attempt("waiting", .setScreenSharing(true)), "forbidden")
        // A host's share survives the permission being taken back.
        XCTAssertNil(attempt("host", .setScreenSharing(true)))
        XCTAssertNil(attempt("host", .allowScreenSharing(false)))
        XCTAssertEqual(screenSlot(h, "p1")?.participantId, id(h, "host"))
    }
}
