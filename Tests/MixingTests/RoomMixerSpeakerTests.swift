import XCTest
import Opus
import Wire
@testable import Mixing

/// The mix follows the speakers (issue 17, point 3): at most the N loudest
/// are mixed, a mix-minus is encoded only for a listener who is one of them,
/// and everyone else shares one encode of the full mix.
final class RoomMixerSpeakerTests: XCTestCase {
    static let tones: [UInt32: Double] = [1: 317, 2: 523, 3: 761, 4: 1_103, 5: 1_409]

    /// Five speak at once at five levels: the three loudest are mixed. Each
    /// of them hears the other two and not itself; the two quieter ones
    /// and a pure listener hear the three, and nobody hears the quieter two.
    func testOnlyTheThreeLoudestAreMixed() throws {
        let amplitudes: [UInt32: Double] = [1: 0.05, 2: 0.3, 3: 0.03, 4: 0.2, 5: 0.1]
        let h = MixHarness()
        for key in Self.tones.keys.sorted() {
            try h.addPublisher(TonePublisher(key: key, hz: Self.tones[key]!, amplitude: amplitudes[key]!), listening: true)
        }
        try h.addListener("pure", contributorKey: nil)
        try h.run(ms: 2_000)

        XCTAssertEqual(h.mixer.mixedContributors, [2, 4, 5], "the three loudest")
        XCTAssertEqual(h.mixer.distinctMixCount, 4, "three mix-minus and one shared full mix")
        let mixed: Set<UInt32> = [2, 4, 5]
        // Where the mixer hands each mix to its encoder: exact. A 0.1
        // full-scale tone measures -20 dB here.
        let expected = { (key: UInt32) in 20 * log10(amplitudes[key]!) }
        for (out, own) in [(MixKey.full, nil), (.minus(2), 2), (.minus(4), 4), (.minus(5), 5)] as [(MixKey, UInt32?)] {
            let pcm = h.mixPCM[out]!.suffix(48_000)
            for (key, hz) in Self.tones {
                let level = ToneMeter.level(pcm, hz: hz)
                if mixed.contains(key) && key != own {
                    XCTAssertEqual(level, expected(key), accuracy: 1.5, "\(out) carries \(hz) Hz")
                } else {
                    XCTAssertLessThan(level, -60, "\(out) must not carry \(hz) Hz: \(level) dB")
                }
            }
        }
        XCTAssertNil(h.mixPCM[.minus(1)], "no mix-minus is encoded for a listener who is not mixed")
        XCTAssertNil(h.mixPCM[.minus(3)])
        // As decoded by each listener: the mixed tones, and the others only
        // at the codec's noise floor, 15 dB or more below the quietest heard.
        for listener in ["p1", "p2", "p3", "p4", "p5", "pure"] {
            let heard = h.tail(listener, ms: 1_000)
            let audible = mixed.filter { listener != "p\($0)" }
            let quietest = audible.map { ToneMeter.level(heard, hz: Self.tones[$0]!) }.min()!
            for key in audible {
                XCTAssertEqual(ToneMeter.level(heard, hz: Self.tones[key]!), expected(key), accuracy: 3,
                               "\(listener) hears \(Self.tones[key]!) Hz")
            }
            for (key, hz) in Self.tones where !audible.contains(key) {
                XCTAssertLessThan(ToneMeter.level(heard, hz: hz), quietest - 15, "\(listener) must not hear \(hz) Hz")
            }
        }
    }

    /// A mix of one voice forwards that voice's packets only while they are
    /// no heavier than the mix's own encode would be (`passthroughSizeRatio`):
    /// a listener on the mix for its small bandwidth never gets more.
    func testOneVoiceIsPassedThroughOnlyWhenItsPacketsAreNoHeavierThanTheMix() throws {
        func listenToOneSpeaker(bitrate: Int32, ratio: Double) throws -> MixHarness {
            var configuration = RoomMixer.Configuration()
            configuration.passthroughSizeRatio = ratio
            let h = MixHarness(configuration: configuration)
            try h.addPublisher(TonePublisher(key: 1, hz: 317, amplitude: 0.1, bitrate: bitrate), listening: true)
            try h.addListener("pure", contributorKey: nil)
            try h.run(ms: 2_000)
            XCTAssertGreaterThan(ToneMeter.level(h.tail("pure", ms: 500), hz: 317), -30, "the listener hears the speaker")
            return h
        }
        let light = try listenToOneSpeaker(bitrate: 24_000, ratio: 1.5)
        XCTAssertGreaterThan(light.mixer.counters.passthroughs, 70, "24 kbit/s under a 32 kbit/s mix: forwarded (from its 25th packet on)")
        let heavy = try listenToOneSpeaker(bitrate: 256_000, ratio: 1.5)
        XCTAssertEqual(heavy.mixer.counters.passthroughs, 0, "256 kbit/s (a tone, VBR: about 100 kbit/s) over a 32 kbit/s mix: encoded")
        XCTAssertEqual(heavy.mixer.counters.encodes, light.mixer.counters.encodes + light.mixer.counters.passthroughs)
        let off = try listenToOneSpeaker(bitrate: 24_000, ratio: 0)
        XCTAssertEqual(off.mixer.counters.passthroughs, 0, "0 turns it off")
    }

    /// Ten in a room, all listening: one speaks, then a second joins in.
    /// Encodes per frame follow the speakers (2, then 3), not the listeners (10).
    func testEncodesFollowTheSpeakersNotTheListeners() throws {
        let h = MixHarness()
        let second = 150  // frame at which publisher 2 starts speaking (3 s)
        for key: UInt32 in 1...10 {
            let p = try TonePublisher(key: key, hz: key == 1 ? 317 : 523, amplitude: key <= 2 ? 0.1 : 0)
            if key == 2 { p.silent = { $0 < second } }
            try h.addPublisher(p, listening: true)
        }
        try h.run(ms: 2_000)
        XCTAssertEqual(h.mixer.mixedContributors, [1])
        XCTAssertEqual(h.mixer.distinctMixCount, 2, "the speaker's mix-minus and one full mix for the nine others")
        var before = h.mixer.counters.encodes
        var passedBefore = h.mixer.counters.passthroughs
        try h.run(ms: 1_000)
        // The nine hear the speaker alone: its packets, passed through; only
        // the speaker's own (silent) mix-minus is encoded.
        XCTAssertEqual(h.mixer.counters.encodes - before, 50)
        XCTAssertEqual(h.mixer.counters.passthroughs - passedBefore, 50)
        XCTAssertLessThan(ToneMeter.level(h.tail("p1", ms: 500), hz: 317), -50, "the speaker does not hear itself")
        XCTAssertGreaterThan(ToneMeter.level(h.tail("p7", ms: 500), hz: 317), -30, "a listener hears the speaker")

        try h.run(ms: 1_000)
        XCTAssertEqual(h.mixer.mixedContributors, [1, 2])
        XCTAssertEqual(h.mixer.distinctMixCount, 3)
        before = h.mixer.counters.encodes
        passedBefore = h.mixer.counters.passthroughs
        try h.run(ms: 1_000)
        // Two speakers: each hears the other passed through; the full mix
        // for the eight others is the one encode.
        XCTAssertEqual(h.mixer.counters.encodes - before, 50)
        XCTAssertEqual(h.mixer.counters.passthroughs - passedBefore, 50 * 2)
        let p1 = h.tail("p1", ms: 500), p2 = h.tail("p2", ms: 500), p9 = h.tail("p9", ms: 500)
        XCTAssertGreaterThan(ToneMeter.level(p1, hz: 523), -30, "p1 hears p2")
        XCTAssertLessThan(ToneMeter.level(p1, hz: 317), -50, "p1 does not hear itself")
        XCTAssertGreaterThan(ToneMeter.level(p2, hz: 317), -30, "p2 hears p1")
        XCTAssertLessThan(ToneMeter.level(p2, hz: 523), -50, "p2 does not hear itself")
        XCTAssertGreaterThan(ToneMeter.level(p9, hz: 317), -30)
        XCTAssertGreaterThan(ToneMeter.level(p9, hz: 523), -30)
        // Every listener got exactly one frame every tick throughout, across the switches.
        XCTAssertTrue(h.framesPerTick.suffix(200).allSatisfy { $0.count == 10 && $0.values.allSatisfy { $0 == 1 } })
        for (_, ts) in h.timestamps {
            XCTAssertEqual(Set(zip(ts, ts.dropFirst()).map { $1 &- $0 }), [960])
        }
    }

    /// Speech with pauses (300 ms on, 200 ms off) stays mixed through the
    /// pauses: the hangover (600 ms) keeps the listener on one encoder.
    /// When the speaker stops for good, it leaves the mix after the hangover.
    func testPausesBetweenWordsDoNotSwitchStreams() throws {
        let h = MixHarness()
        let talker = try TonePublisher(key: 1, hz: 317)
        talker.silent = { frame in frame >= 200 || frame % 25 >= 15 }  // 300 ms on, 200 ms off; stops at 4 s
        try h.addPublisher(talker, listening: true)
        try h.addPublisher(TonePublisher(key: 2, hz: 523, amplitude: 0), listening: true)
        try h.run(ms: 3_900)
        XCTAssertEqual(h.mixer.counters.speakerChanges, 1, "joined the mix once and stayed through every pause")
        XCTAssertEqual(h.mixer.mixedContributors, [1])
        try h.run(ms: 1_000)
        XCTAssertEqual(h.mixer.counters.speakerChanges, 2, "left the mix once after it stopped")
        XCTAssertEqual(h.mixer.mixedContributors, [])
        XCTAssertEqual(h.mixer.distinctMixCount, 1, "only the full mix is encoded")
    }

    /// Two similar voices do not trade places every frame: a mixed one keeps
    /// its place against a newcomer up to 6 dB louder (without the margin
    /// this one flaps: 14 changes in 3 s, measured).
    func testTheThirdPlaceIsSticky() throws {
        let h = MixHarness()
        try h.addPublisher(TonePublisher(key: 1, hz: 317, amplitude: 0.3), listening: true)
        try h.addPublisher(TonePublisher(key: 2, hz: 523, amplitude: 0.3), listening: true)
        try h.addPublisher(TonePublisher(key: 3, hz: 761, amplitude: 0.1), listening: true)
        // 0.15 under a syllabic envelope (RMS 0.73): about 0.8 dB louder than key 3, and varying
        let late = try TonePublisher(key: 4, hz: 1_103, amplitude: 0.15, syllables: true)
        late.silent = { $0 < 50 }
        try h.addPublisher(late, listening: true)
        try h.run(ms: 3_000)
        XCTAssertEqual(h.mixer.mixedContributors, [1, 2, 3], "the newcomer, slightly louder, does not take the third place")
        XCTAssertEqual(h.mixer.counters.speakerChanges, 1, "one change: the first three start speaking")
    }

    // MARK: Decoding only voice (RFC 6464 levels)

    /// Ten in a room, one speaking: the nine who send silence and say so
    /// (level -127) are decoded once in ten packets, to check the claim; the
    /// speaker is heard as before.
    func testQuietContributorsAreNotDecoded() throws {
        let h = MixHarness()
        for key: UInt32 in 1...10 {
            let p = try TonePublisher(key: key, hz: 317, amplitude: key == 1 ? 0.1 : 0)
            p.claimedLevel = { _ in key == 1 ? -23 : -127 }
            try h.addPublisher(p, listening: true)
        }
        try h.run(ms: 1_000)
        let (calls, skipped, frames) = (h.mixer.counters.decodeCalls, h.mixer.counters.decodesSkipped, h.mixer.counters.frames)
        try h.run(ms: 2_000)
        let n = h.mixer.counters.frames - frames
        XCTAssertEqual(n, 100)
        XCTAssertEqual(h.mixer.counters.decodesSkipped - skipped, 9 * n * 9 / 10, "nine in ten quiet packets skipped")
        XCTAssertEqual(h.mixer.counters.decodeCalls - calls, n + 9 * n / 10, "the speaker, and every tenth quiet packet")
        XCTAssertEqual(h.mixer.mixedContributors, [1])
        XCTAssertGreaterThan(ToneMeter.level(h.tail("p5", ms: 1_000), hz: 317), -23, "the speaker is heard")
        XCTAssertLessThan(ToneMeter.level(h.tail("p1", ms: 1_000), hz: 317), -50, "and not by itself")
    }

    /// A sender whose level says silence while it speaks (a fixed level, a
    /// broken client) is caught by the check decode and mixed from then on.
    func testAFalseQuietClaimIsCaught() throws {
        let h = MixHarness()
        let honest = try TonePublisher(key: 1, hz: 317)
        honest.claimedLevel = { _ in -23 }
        let liar = try TonePublisher(key: 2, hz: 761)
        liar.claimedLevel = { _ in -127 }
        try h.addPublisher(honest, listening: true)
        try h.addPublisher(liar, listening: true)
        try h.run(ms: 2_000)
        XCTAssertEqual(h.mixer.mixedContributors, [1, 2])
        XCTAssertFalse(h.mixer.contributors[2]!.trustsQuietMarks)
        XCTAssertTrue(h.mixer.contributors[1]!.trustsQuietMarks)
        XCTAssertGreaterThan(ToneMeter.level(h.tail("p1", ms: 1_000), hz: 761), -23, "p1 hears the speaker who said it was quiet")
    }

    /// Silent (and saying so) for 1.5 s, then speaking: mixed from its first
    /// voiced packets, and heard at the level of a speaker who never paused
    /// (the decoder, which missed the quiet packets, starts clean).
    func testSpeechAfterSkippedSilenceIsHeardWhole() throws {
        let h = MixHarness()
        let steady = try TonePublisher(key: 1, hz: 317)
        steady.claimedLevel = { _ in -23 }
        let late = try TonePublisher(key: 2, hz: 761)
        late.silent = { $0 < 75 }
        late.claimedLevel = { $0 < 75 ? -127 : -23 }
        try h.addPublisher(steady, listening: false)
        try h.addPublisher(late, listening: false)
        try h.addListener("pure", contributorKey: nil)
        try h.run(ms: 1_400)
        XCTAssertEqual(h.mixer.mixedContributors, [1])
        XCTAssertGreaterThan(h.mixer.counters.decodesSkipped, 50)
        try h.run(ms: 1_600)
        XCTAssertEqual(h.mixer.mixedContributors, [1, 2])
        let heard = h.tail("pure", ms: 1_000)
        XCTAssertEqual(ToneMeter.level(heard, hz: 761), ToneMeter.level(heard, hz: 317), accuracy: 1.5)
    }
}
