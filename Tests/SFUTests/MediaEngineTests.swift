import CohortClient
import CohortTestSupport
import RTP
import SFU
import Wire
import XCTest

/// The engine end to end, sans-IO: real STUN, DTLS, SRTP and RTP on both
/// sides, a virtual network and a manual clock.
final class MediaEngineTests: XCTestCase {
    func testThreeParticipantsReceiveEachOtherNeverThemselves() throws {
        let h = EngineHarness()
        for name in ["ann", "bob", "cy"] { try h.join(name) }
        XCTAssertEqual(h.events.connected.count, 3)
        var ts: UInt32 = 0
        for i in 0..<20 {
            for name in ["ann", "bob", "cy"] { h.sendMedia(name, audioTimestamp: ts, keyframe: i == 0) }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
        for name in ["ann", "bob", "cy"] {
            let byMid = h.rtpByMid(name)
            var audioFrom: Set<String> = []
            var videoFrom: Set<String> = []
            for (mid, packets) in byMid {
                for (header, packet) in packets {
                    let text = String(decoding: packet[header.payloadRange], as: UTF8.self)
                    if mid.hasPrefix("a"), text.hasPrefix("audio:") { audioFrom.insert(String(text.dropFirst(6))) }
                    if mid.hasPrefix("v") { videoFrom.insert(String(text.dropFirst(8))) }
                }
                // Each slot is one continuous stream: one SSRC, consecutive sequence numbers.
                XCTAssertEqual(Set(packets.map(\.header.ssrc)).count, 1, "\(name) slot \(mid)")
                let seqs = packets.map(\.header.sequenceNumber)
                for (a, b) in zip(seqs, seqs.dropFirst()) { XCTAssertEqual(b, a &+ 1, "\(name) slot \(mid)") }
            }
            let others = Set(["ann", "bob", "cy"]).subtracting([name])
            XCTAssertEqual(audioFrom, others, "\(name) hears exactly the others")
            XCTAssertEqual(videoFrom, others, "\(name) sees exactly the others")
        }
        XCTAssertEqual(h.engine.counters.isolationViolations, 0)
        XCTAssertEqual(h.engine.counters.srtpFailed, 0)
    }

    func testLeaveAndConsentExpiryRemapSlots() throws {
        let h = EngineHarness(consentTimeout: .seconds(3))
        for name in ["ann", "bob", "cy"] { try h.join(name) }
        h.engine.remove(h.participantIDs["bob"]!, reason: .left, now: h.clock.now)
        let annSlots = h.events.slots.last { $0.0 == h.participantIDs["ann"]! }!.1
        XCTAssertFalse(annSlots.contains { $0.participantId == h.participantIDs["bob"] })
        XCTAssertTrue(annSlots.contains { $0.participantId == h.participantIDs["cy"] })
        // cy vanishes: no more consent checks.
        h.clients["cy"]!.client.sendsConsent = false
        h.run(for: .seconds(5))
        XCTAssertTrue(h.events.removed.contains { $0.0 == h.participantIDs["cy"]! && $0.1 == .consentExpired })
        XCTAssertFalse(h.events.removed.contains { $0.0 == h.participantIDs["ann"]! }, "ann keeps sending consent")
    }

    func testRoomsAreIsolated() throws {
        let h = EngineHarness()
        try h.join("host", role: .host)
        for name in ["ann", "bob", "cy", "dee"] { try h.join(name) }
        let host = h.participantIDs["host"]!
        let id = { (name: String) in h.participantIDs[name]! }
        try h.engine.perform(.createRooms(names: ["Pairs A", "Pairs B"]), by: host, now: h.clock.now)
        try h.engine.perform(.assign([id("ann"): "r1", id("bob"): "r1", id("cy"): "r2", id("dee"): "r2"]),
                             by: host, now: h.clock.now)
        try h.engine.perform(.openRooms, by: host, now: h.clock.now)
        var ts: UInt32 = 0
        for i in 0..<10 {
            for name in ["ann", "bob", "cy", "dee"] { h.sendMedia(name, audioTimestamp: ts, keyframe: i == 0) }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
        func heard(_ name: String) -> Set<String> {
            var s: Set<String> = []
            for (_, packets) in h.rtpByMid(name) {
                for (header, packet) in packets {
                    let t = String(decoding: packet[header.payloadRange], as: UTF8.self)
                    if t.hasPrefix("audio:") { s.insert(String(t.dropFirst(6))) }
                }
            }
            return s
        }
        XCTAssertEqual(heard("ann"), ["bob"])
        XCTAssertEqual(heard("cy"), ["dee"])
        // Move bob to r2 without renegotiation: he now hears cy and dee.
        try h.engine.perform(.move(id("bob"), to: "r2"), by: host, now: h.clock.now)
        h.received["bob"] = []
        h.received["ann"] = []
        for _ in 0..<5 {
            for name in ["ann", "bob", "cy", "dee"] { h.sendMedia(name, audioTimestamp: ts) }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
        XCTAssertEqual(heard("bob"), ["cy", "dee"])
        XCTAssertEqual(heard("ann"), [])
        XCTAssertEqual(h.engine.counters.isolationViolations, 0)
    }

    func testJunkDatagramsAreCountedAndDropped() throws {
        let h = EngineHarness()
        try h.join("ann")
        var transmits = TransmitQueue()
        let junk: [[UInt8]] = [[], [0x00], [0x16, 0xFE], [0x80, 0x60, 0, 1], [0xFF, 0xFF], Array(repeating: 0x80, count: 1500)]
        for j in junk {
            h.engine.receive(j, from: h.clients["ann"]!.address, now: h.clock.now, transmits: &transmits)
            h.engine.receive(j, from: .init("10.9.9.9:9")!, now: h.clock.now, transmits: &transmits)
        }
        XCTAssertTrue(transmits.isEmpty)
        let c = h.engine.counters
        XCTAssertGreaterThan(c.unknownKindDropped + c.stunDropped + c.srtpFailed + c.unknownSourceDropped, 0)
    }
}

/// Speaker events from RFC 6464 voice activity, on change, at most every
/// 300 ms; a joiner learns who is already speaking (issue 19 point 1).
final class SpeakerEventTests: XCTestCase {
    /// ann and bob joined; ann speaks for half a second.
    private func annSpeaks() throws -> EngineHarness {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        var ts: UInt32 = 0
        for _ in 0..<25 {
            h.sendMedia("ann", audioTimestamp: ts)
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
        return h
    }

    private func speakingEvents(_ h: EngineHarness) -> [[ParticipantID]] {
        h.events.messages.compactMap { m -> [ParticipantID]? in
            if case .speaking(let ids) = m.0 { return ids } else { return nil }
        }
    }

    func testSpeakingStartsAndStops() throws {
        let h = try annSpeaks()
        let ann = h.participantIDs["ann"]!
        XCTAssertEqual(speakingEvents(h), [[ann]], "one event when ann starts, none repeated while she talks")
        h.run(for: .seconds(2))
        XCTAssertEqual(speakingEvents(h), [[ann], []], "and one when she stops")
    }

    /// ann sends RFC 6464 levels for `packets` packets of 20 ms, `flag` as the V flag.
    private func level(_ h: EngineHarness, _ level: UInt8, voice flag: Bool, packets: Int, ts: inout UInt32) {
        let c = h.clients["ann"]!.client
        for _ in 0..<packets {
            c.sendRTP(ssrc: c.offer.audioSSRC!, payloadType: ClientOffer.opusPayloadType, timestamp: ts,
                      extensions: [.audioLevel(id: ClientOffer.audioLevelID, RTPAudioLevel(voiceActivity: flag, level: level))],
                      payload: Array("audio:ann".utf8))
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
    }

    /// Stock aiortc sends V=0 with every level: a sender that never sets V
    /// is judged by its level alone (issue 19, point 5).
    func testASenderThatNeverSetsTheVoiceFlagIsJudgedByItsLevel() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        let ann = h.participantIDs["ann"]!
        var ts: UInt32 = 0
        level(h, 30, voice: false, packets: 25, ts: &ts)
        XCTAssertEqual(speakingEvents(h), [[ann]], "-30 dBov without V is speech")
        level(h, 90, voice: false, packets: 50, ts: &ts)
        XCTAssertEqual(speakingEvents(h), [[ann], []], "-90 dBov is not")
    }

    /// Once a sender has set V, its V=0 means "no voice", however loud (a
    /// browser's voice detector telling noise from speech).
    func testASenderThatSetsTheVoiceFlagIsTrustedWhenItClearsIt() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        let ann = h.participantIDs["ann"]!
        var ts: UInt32 = 0
        level(h, 30, voice: true, packets: 25, ts: &ts)
        level(h, 30, voice: false, packets: 50, ts: &ts)
        XCTAssertEqual(speakingEvents(h), [[ann], []], "loud noise flagged as no voice ends ann's speaking")
    }

    /// With the session view the control plane resends once the joiner's connection is registered.
    func testAJoinerIsToldWhoIsAlreadySpeaking() throws {
        let h = try annSpeaks()
        try h.join("cy")
        let cy = h.participantIDs["cy"]!
        h.events.messages = []
        h.engine.resendSessionView(to: cy, now: h.clock.now)
        let toCy = h.events.messages.filter { $0.1 == [cy] }.map(\.0)
        XCTAssertEqual(toCy, [.speaking([h.participantIDs["ann"]!])])
    }
}

/// Loudest-N end to end: RFC 6464 levels in, slot changes out.
final class LoudestSpeakerEngineTests: XCTestCase {
    func testLoudSpeakerTakesASlotFromAQuietOne() throws {
        let h = EngineHarness()
        try h.join("sub", slots: 2)
        for p in ["a", "b", "c"] { try h.join(p) }
        let level = ["a": UInt8(40), "b": UInt8(90), "c": UInt8(20)]  // dB below overload: c is loudest
        var ts: UInt32 = 0
        for _ in 0..<40 {
            for (name, l) in level {
                let c = h.clients[name]!.client
                c.sendRTP(ssrc: c.offer.audioSSRC!, payloadType: ClientOffer.opusPayloadType, timestamp: ts,
                          extensions: [.audioLevel(id: ClientOffer.audioLevelID, RTPAudioLevel(voiceActivity: l < 80, level: l))],
                          payload: Array("audio:\(name)".utf8))
            }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
        let sub = h.participantIDs["sub"]!
        let slots = h.events.slots.last { $0.0 == sub }!.1.filter { $0.kind == .audio }.compactMap(\.participantId)
        XCTAssertEqual(Set(slots), [h.participantIDs["a"]!, h.participantIDs["c"]!], "c replaced the silent b")
    }
}

/// A server shutdown ends media cleanly (issue 14, item 8).
final class ShutdownTests: XCTestCase {
    /// Every connected participant gets one RTCP BYE naming every slot it
    /// receives on (and their RTX) plus the server's feedback source; the
    /// engine then holds nobody and sends nothing more.
    func testShutdownSaysGoodbyeOnEverySlotAndForgetsEveryone() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob", lossRepair: true)
        h.received = [:]
        var transmits = TransmitQueue()
        h.engine.shutDown(now: h.clock.now, transmits: &transmits)
        for t in transmits { h.network.send(t.bytes, from: h.serverAddress.description, to: t.destination.description, now: h.clock.now) }
        h.run(for: .milliseconds(50))
        for name in ["ann", "bob"] {
            let client = h.clients[name]!.client
            var leaving: Set<UInt32> = []
            for case .rtcp(let bytes) in h.received[name] ?? [] {
                var reader = RTCPCompoundReader(bytes)
                while let p = try? reader.next() { if case .goodbye(let bye) = p { leaving.formUnion(bye.sources) } }
            }
            let slots = Set(client.midBySSRC.keys)
            XCTAssertFalse(slots.isEmpty)
            XCTAssertTrue(slots.isSubset(of: leaving), "\(name): BYE names every slot SSRC: \(slots.subtracting(leaving))")
        }
        XCTAssertEqual(h.engine.counters.goodbyesSent, 2)
        XCTAssertTrue(h.engine.placement(session: "s1").isEmpty)
        XCTAssertNil(h.engine.nextDeadline, "no timer left")
        h.received = [:]
        h.sendMedia("ann", audioTimestamp: 960)
        h.run(for: .milliseconds(50))
        XCTAssertTrue((h.received["bob"] ?? []).isEmpty, "nothing is forwarded after the shutdown")
    }
}
