import CohortClient
import CohortTestSupport
import Opus
import RTP
import SFU
import Wire
import XCTest

/// Mixed audio through the engine: real Opus tones in, a mix-minus out on the
/// mixed listener's first audio slot, no renegotiation to switch modes.
final class MixedAudioTests: XCTestCase {
    private final class ToneSource {
        let hz: Double
        let encoder = try! OpusEncoder()
        var sample = 0
        init(_ hz: Double) { self.hz = hz }
        func next() -> [UInt8] {
            let pcm = (0..<960).map { i in Int16(6_000 * sin(2 * .pi * hz * Double(sample + i) / 48_000)) }
            sample += 960
            return try! encoder.encode(pcm)
        }
    }

    private func power(_ x: ArraySlice<Int16>, _ hz: Double) -> Double {
        var re = 0.0, im = 0.0
        for (i, s) in x.enumerated() {
            let w = 2 * Double.pi * hz * Double(i) / 48_000
            re += Double(s) * cos(w); im += Double(s) * sin(w)
        }
        return 10 * log10((re * re + im * im) / Double(x.count * x.count) + 1e-9)
    }

    private func run(_ h: EngineHarness, _ tones: [String: ToneSource], frames: Int, ts: inout UInt32) {
        for _ in 0..<frames {
            for (name, tone) in tones {
                guard let c = h.clients[name]?.client, let ssrc = c.offer.audioSSRC else { continue }
                c.sendRTP(ssrc: ssrc, payloadType: ClientOffer.opusPayloadType, timestamp: ts, payload: tone.next())
            }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
    }

    /// Decoded audio `name` received through slot `mid` since its events were cleared.
    private func decoded(_ h: EngineHarness, _ name: String, mid: String) -> [Int16] {
        let decoder = try! OpusDecoder()
        var out: [Int16] = []
        for (header, packet) in h.rtpByMid(name)[mid] ?? [] {
            out += (try? decoder.decode(Array(packet[header.payloadRange]))) ?? []
        }
        return out
    }

    func testMixedListenerHearsOthersNotItselfAndSwitchesModes() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        let tones = ["ann": ToneSource(440), "bob": ToneSource(660), "cy": ToneSource(880)]
        let joined = try h.join("cy", mixed: true)
        XCTAssertTrue(joined.slots.contains { $0.mid == "a0" && $0.isMix && $0.participantId == nil })
        var ts: UInt32 = 0
        run(h, tones, frames: 75, ts: &ts)
        let mix = decoded(h, "cy", mid: "a0")
        XCTAssertGreaterThan(mix.count, 48_000, "about 1.5 s of mixed audio")
        let tail = mix.suffix(24_000)
        let p440 = power(tail, 440), p660 = power(tail, 660), p880 = power(tail, 880)
        XCTAssertGreaterThan(p440 - p880, 30, "own tone at least 30 dB below the others (\(p440), \(p880))")
        XCTAssertGreaterThan(p660 - p880, 30)
        XCTAssertEqual(abs(p440 - p660), 0, accuracy: 3, "both others at about the same level")
        XCTAssertTrue((h.rtpByMid("cy")["a1"] ?? []).isEmpty, "a mixed listener gets no forwarded audio")
        let cyID = h.participantIDs["cy"]!

        // Switch to forwarded audio mid-call: the next frames arrive per speaker.
        try h.engine.perform(.setMixedAudio(false), by: cyID, now: h.clock.now)
        h.received["cy"] = []
        run(h, tones, frames: 1, ts: &ts)
        let byMid = h.rtpByMid("cy")
        XCTAssertEqual(byMid.keys.filter { $0.hasPrefix("a") }.count, 2, "two forwarded speakers within one frame")
        XCTAssertGreaterThan(h.engine.counters.mixedFramesSent, 60)
    }

    /// A mixed listener that negotiated transport-cc: its mixed frames carry
    /// its own transport-wide numbers, in one sequence with its forwarded
    /// video, and its estimate counts them as sent.
    func testMixedAudioIsNumberedForTheListenersEstimate() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        try h.join("cy", mixed: true, transportWide: true)
        let tones = ["ann": ToneSource(440), "bob": ToneSource(660)]
        var ts: UInt32 = 0
        h.received["cy"] = []
        let ann = h.clients["ann"]!.client
        for index in 0..<50 {
            ann.sendRTP(ssrc: ann.offer.videoSSRC!, payloadType: ClientOffer.vp8PayloadType, timestamp: UInt32(index) * 1_800,
                        marker: true, payload: [0x10, index == 0 ? 0x00 : 0x01] + Array("video:ann".utf8))
            run(h, tones, frames: 1, ts: &ts)
        }
        var all: [UInt16] = []
        for case .rtp(_, let header, let packet) in h.received["cy"] ?? [] {
            guard let number = header.transportSequenceNumber(id: ClientOffer.transportWideID, in: packet) else {
                return XCTFail("a packet without cy's transport-wide number: \(header)")
            }
            all.append(number)
        }
        let byMid = h.rtpByMid("cy")
        XCTAssertGreaterThan(byMid["a0"]?.count ?? 0, 40, "about 50 mixed frames")
        XCTAssertGreaterThan(all.count - (byMid["a0"]?.count ?? 0), 40, "and ann's video, in the same sequence")
        for (a, b) in zip(all, all.dropFirst()) { XCTAssertEqual(b, a &+ 1) }
        // Only cy numbers its packets: every mixed frame sent and ann's 50 video copies to it
        // (the last frame may still be on the way).
        XCTAssertEqual(h.engine.counters.transportWideStamped, h.engine.counters.mixedFramesSent + 50)
    }

    /// Everyone mixed: each hears a mix-minus of itself.
    func testEveryoneMixedHearsOthersNotItself() throws {
        let h = EngineHarness()
        h.engine.configuration.mixSpeakers = 0  // five at once, all in the mix (the limit: the next test)
        // No tone lies within 25 Hz of a harmonic or a 2nd/3rd-order
        // intermodulation product of others: coding a mix makes those.
        var tones = ["ann": ToneSource(390), "bob": ToneSource(1390), "cy": ToneSource(1550), "dee": ToneSource(1890)]
        try h.join("host", role: .host)  // forwarded, contributes to the mix
        for name in tones.keys.sorted() { try h.join(name, mixed: true) }
        let host = ToneSource(2440)
        var ts: UInt32 = 0
        tones["host"] = host
        run(h, tones, frames: 60, ts: &ts)
        for (name, own) in tones where name != "host" {
            let tail = decoded(h, name, mid: "a0").suffix(12_000)
            XCTAssertGreaterThan(tail.count, 10_000, name)
            for (other, tone) in tones where other != name {
                // After a 32 kbit/s Opus encode of a four-tone mix, the codec's own noise at
                // a tone-free frequency sits about 28 dB below the tones, so this end-to-end
                // check uses 25 dB; MixingTests shows the own tone 60 dB down before the encoder.
                XCTAssertGreaterThan(power(tail, tone.hz) - power(tail, own.hz), 25, "\(name) hears \(other) well above itself")
            }
        }
    }

    /// With the default limit (`mixSpeakers` 3) and five speaking at once,
    /// a room's mix holds three of them: a mixed listener hears two or three
    /// others (three when it is not mixed itself), never more, never itself.
    func testTheMixHoldsAtMostThreeSpeakers() throws {
        let h = EngineHarness()
        XCTAssertEqual(h.engine.configuration.mixSpeakers, 3)
        var tones = ["ann": ToneSource(390), "bob": ToneSource(1390), "cy": ToneSource(1550), "dee": ToneSource(1890)]
        try h.join("host", role: .host)
        for name in tones.keys.sorted() { try h.join(name, mixed: true) }
        tones["host"] = ToneSource(2440)
        var ts: UInt32 = 0
        run(h, tones, frames: 60, ts: &ts)
        var mixedSpeakers = Set<String>()
        for (name, own) in tones where name != "host" {
            let tail = decoded(h, name, mid: "a0").suffix(12_000)
            let floor = power(tail, own.hz)
            let heard = Set(tones.filter { $0.key != name && power(tail, $0.value.hz) - floor > 25 }.map(\.key))
            XCTAssertTrue((2...3).contains(heard.count), "\(name) hears \(heard.sorted())")
            if heard.count == 2 { mixedSpeakers.insert(name) }
            mixedSpeakers.formUnion(heard)
        }
        XCTAssertEqual(mixedSpeakers.count, 3, "one set of three speakers for the room: \(mixedSpeakers.sorted())")
    }

    /// Server-enforced mute reaches mixed listeners too: the muted voice leaves the mix.
    func testMutedPublisherLeavesTheMix() throws {
        let h = EngineHarness()
        try h.join("host", role: .host)
        try h.join("ann")
        try h.join("cy", mixed: true)
        let tones = ["host": ToneSource(660), "ann": ToneSource(440), "cy": ToneSource(880)]
        var ts: UInt32 = 0
        run(h, tones, frames: 40, ts: &ts)
        var tail = decoded(h, "cy", mid: "a0").suffix(12_000)
        XCTAssertGreaterThan(power(tail, 440) - power(tail, 880), 30, "ann is in cy's mix")
        try h.engine.perform(.setMuted(h.participantIDs["ann"]!, true), by: h.participantIDs["host"]!, now: h.clock.now)
        h.received["cy"] = []
        run(h, tones, frames: 40, ts: &ts)
        tail = decoded(h, "cy", mid: "a0").suffix(12_000)
        XCTAssertGreaterThan(power(tail, 660) - power(tail, 440), 30, "muted ann is gone from the mix, the host stays")
    }

    func testRoomWithoutMixedListenerHasNoMixer() throws {
        let h = EngineHarness()
        try h.join("ann")
        try h.join("bob")
        var ts: UInt32 = 0
        run(h, ["ann": ToneSource(440), "bob": ToneSource(660)], frames: 10, ts: &ts)
        XCTAssertEqual(h.engine.counters.mixedFramesSent, 0)
    }

    /// A host who listens mixed hears the room it listens in on: with two or
    /// more audio slots, its own room's mix stays on the first and the
    /// listened room's full mix goes to the second; with one slot, the
    /// listened room replaces its own until it stops. Nobody else hears anything new.
    func testMixedHostListeningInHearsTheListenedRoom() throws {
        for hostSlots in [1, 4] {
            let h = EngineHarness()
            try h.join("host", slots: hostSlots, role: .host, mixed: true)
            try h.join("cohost", role: .host)
            try h.join("ann")
            try h.join("bob")
            try h.join("dee", mixed: true)
            let tones = ["host": ToneSource(2090), "cohost": ToneSource(1630), "ann": ToneSource(400), "bob": ToneSource(1030),
                         "dee": ToneSource(1350)]
            let id = { h.participantIDs[$0]! }
            let hostID = id("host")
            try h.engine.perform(.createRooms(names: ["One"]), by: hostID, now: h.clock.now)
            try h.engine.perform(.assign([id("ann"): "r1", id("bob"): "r1"]), by: hostID, now: h.clock.now)
            try h.engine.perform(.openRooms, by: hostID, now: h.clock.now)
            var ts: UInt32 = 0
            run(h, tones, frames: 20, ts: &ts)
            try h.engine.perform(.listen("r1"), by: hostID, now: h.clock.now)
            let map = h.events.slots.last { $0.0 == hostID }!.1
            let listenMid = hostSlots >= 2 ? "a1" : "a0"
            XCTAssertTrue(map.contains { $0.mid == listenMid && $0.isMix && $0.room == "r1" }, "\(map)")
            for name in h.clients.keys { h.received[name] = [] }
            run(h, tones, frames: 50, ts: &ts)
            let listened = decoded(h, "host", mid: listenMid).suffix(12_000)
            XCTAssertGreaterThan(listened.count, 10_000, "slots \(hostSlots)")
            let quietest = min(power(listened, 400), power(listened, 1030))
            for outsider in [1630.0, 1350, 2090] {
                XCTAssertGreaterThan(quietest - power(listened, outsider), 25, "only room r1 in the listen-in mix (\(outsider) Hz, slots \(hostSlots))")
            }
            if hostSlots >= 2 {
                let own = decoded(h, "host", mid: "a0").suffix(12_000)
                XCTAssertGreaterThan(min(power(own, 1630), power(own, 1350)) - max(power(own, 400), power(own, 1030)), 25,
                                     "the own room's mix stays on the first slot, without r1")
            }
            // dee, mixed in the main room, hears no r1 tone.
            let dee = decoded(h, "dee", mid: "a0").suffix(12_000)
            XCTAssertGreaterThan(power(dee, 1630) - max(power(dee, 400), power(dee, 1030)), 25)
            // Stopping: the listen-in mix goes away.
            try h.engine.perform(.listen(nil), by: hostID, now: h.clock.now)
            for name in h.clients.keys { h.received[name] = [] }
            run(h, tones, frames: 30, ts: &ts)
            let after = decoded(h, "host", mid: "a0").suffix(12_000)
            XCTAssertGreaterThan(power(after, 1630) - max(power(after, 400), power(after, 1030)), 25, "back to the own room")
            if hostSlots >= 2 { XCTAssertTrue((h.rtpByMid("host")["a1"] ?? []).isEmpty) }
            XCTAssertEqual(h.engine.counters.isolationViolations, 0)
        }
    }
}
