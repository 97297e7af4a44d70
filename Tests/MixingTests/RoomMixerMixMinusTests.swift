import XCTest
import Opus
import Wire
@testable import Mixing

/// Five publishers, each a distinct tone, through real libopus both ways.
final class RoomMixerMixMinusTests: XCTestCase {
    /// Prime frequencies: no tone is a harmonic or a simple intermodulation
    /// product of the others, and together they share no pitch a speech
    /// codec's long-term predictor could lock onto (300/500/700/1100/1300
    /// are all odd harmonics of 100 Hz, and SILK regenerates the missing ones).
    static let tones: [UInt32: Double] = [1: 317, 2: 523, 3: 761, 4: 1_103, 5: 1_409]

    /// The level of each tone heard alone through the same path (publisher
    /// encode → mixer decode → limiter → mixer encode → listener decode),
    /// and as the mixer's encoder saw it: the references mixed levels are held to.
    static func levelsAlone(_ configuration: RoomMixer.Configuration) throws -> (heard: [UInt32: Double], mixed: [UInt32: Double]) {
        var heard: [UInt32: Double] = [:], mixed: [UInt32: Double] = [:]
        var configuration = configuration
        configuration.passthroughSizeRatio = 0  // one voice alone would be forwarded, not encoded
        for (key, hz) in tones {
            let h = MixHarness(configuration: configuration)
            try h.addPublisher(TonePublisher(key: key, hz: hz), listening: false)
            try h.addListener("alone", contributorKey: nil)
            try h.run(ms: 2_000)
            heard[key] = ToneMeter.level(h.tail("alone", ms: 1_000), hz: hz)
            mixed[key] = ToneMeter.level(h.mixPCM[.full]!.suffix(48_000), hz: hz)
        }
        return (heard, mixed)
    }

    /// Runs five publishers who all listen, plus one pure listener.
    static func fiveInARoom(_ configuration: RoomMixer.Configuration) throws -> MixHarness {
        let h = MixHarness(configuration: configuration)
        for key in tones.keys.sorted() {
            try h.addPublisher(TonePublisher(key: key, hz: tones[key]!), listening: true)
        }
        try h.addListener("pure", contributorKey: nil)
        try h.run(ms: 2_000)
        return h
    }

    /// End to end, decoded by each listener. The output encoder runs at
    /// 64 kbit/s, complexity 10 here: at the default 32 kbit/s, SILK's
    /// coding of a five-tone signal itself moves single tones by up to
    /// 2.6 dB (measured; encoding the sum directly, without the mixer,
    /// shows the same), which would test libopus rather than the mixer.
    /// The next test checks the default configuration before its encoder.
    func testEveryContributorHearsEveryoneElseButNotThemselves() throws {
        var configuration = RoomMixer.Configuration()
        configuration.maximumSpeakers = 0  // all five speak at once: the arithmetic, not the speaker limit
        configuration.encoder.bitrate = 64_000
        configuration.encoder.complexity = 10
        let alone = try Self.levelsAlone(configuration).heard
        let h = try Self.fiveInARoom(configuration)

        XCTAssertEqual(h.mixer.distinctMixCount, 6, "five mix-minus streams and one full mix")
        for key in Self.tones.keys.sorted() {
            let heard = h.tail("p\(key)", ms: 1_000)
            XCTAssertEqual(heard.count, 48_000)
            for (other, hz) in Self.tones {
                let level = ToneMeter.level(heard, hz: hz)
                if other == key {
                    XCTAssertLessThan(level, alone[other]! - 30, "p\(key) hears its own \(hz) Hz at \(level) dB")
                } else {
                    XCTAssertEqual(level, alone[other]!, accuracy: 1.5, "p\(key) hears \(hz) Hz at \(level) dB, alone \(alone[other]!)")
                }
            }
        }
        let pure = h.tail("pure", ms: 1_000)
        for (key, hz) in Self.tones {
            XCTAssertEqual(ToneMeter.level(pure, hz: hz), alone[key]!, accuracy: 1.5, "the pure listener hears \(hz) Hz")
        }
        XCTAssertEqual(h.mixer.counters.limitedFrames, 0, "moderate levels pass the limiter untouched")
        // Speaking levels: a 0.1 full-scale sine has an RMS of -23 dBov.
        for (key, level) in h.mixer.levels {
            XCTAssertEqual(level, -23, accuracy: 1.5, "level of \(key)")
        }
    }

    /// The default configuration (32 kbit/s), measured where the mixer
    /// hands each mix to its encoder: every other tone within 0.5 dB of its
    /// level alone, its own at least 60 dB down; after the 32 kbit/s encode
    /// and decode, within 3 dB and at least 30 dB down.
    func testMixMinusAtTheDefaultBitrate() throws {
        var configuration = RoomMixer.Configuration()
        configuration.maximumSpeakers = 0  // five at once (the speaker limit: RoomMixerSpeakerTests)
        let alone = try Self.levelsAlone(configuration)
        let h = try Self.fiveInARoom(configuration)
        for key in Self.tones.keys.sorted() {
            let mixed = h.mixPCM[.minus(key)]!.suffix(48_000)
            let heard = h.tail("p\(key)", ms: 1_000)
            for (other, hz) in Self.tones {
                let m = ToneMeter.level(mixed, hz: hz), d = ToneMeter.level(heard, hz: hz)
                if other == key {
                    XCTAssertLessThan(m, alone.mixed[other]! - 60, "mix-minus of \(key) holds its own \(hz) Hz at \(m) dB")
                    XCTAssertLessThan(d, alone.heard[other]! - 30, "p\(key) hears its own \(hz) Hz at \(d) dB")
                } else {
                    XCTAssertEqual(m, alone.mixed[other]!, accuracy: 0.5, "mix for p\(key): \(hz) Hz")
                    XCTAssertEqual(d, alone.heard[other]!, accuracy: 3, "p\(key) hears \(hz) Hz")
                }
            }
        }
        let full = h.mixPCM[.full]!.suffix(48_000)
        for (key, hz) in Self.tones {
            XCTAssertEqual(ToneMeter.level(full, hz: hz), alone.mixed[key]!, accuracy: 0.5, "full mix: \(hz) Hz")
        }
    }

    /// Every tick gives each listener exactly one frame, with timestamps 960 apart.
    func testOneFramePerListenerPerTickWithContinuousTimestamps() throws {
        let h = MixHarness()
        try h.addPublisher(TonePublisher(key: 1, hz: 300), listening: true)
        try h.addPublisher(TonePublisher(key: 2, hz: 500), listening: true)
        try h.addListener("pure", contributorKey: nil)
        try h.addListener("pure2", contributorKey: nil)
        try h.run(ms: 1_000)
        XCTAssertEqual(h.framesPerTick.count, 50)
        for tick in h.framesPerTick {
            XCTAssertEqual(tick, ["p1": 1, "p2": 1, "pure": 1, "pure2": 1])
        }
        for (_, ts) in h.timestamps {
            XCTAssertEqual(zip(ts, ts.dropFirst()).map { $1 &- $0 }, Array(repeating: 960, count: ts.count - 1))
        }
        XCTAssertEqual(h.mixer.distinctMixCount, 3, "the two pure listeners share one encode")
        // Until the first frames tell who speaks, everyone hears the one
        // (silent) full mix; from then on two mix-minus and one full, each
        // made once a tick: encoded, or (a mix-minus of one voice) passed through.
        let made = zip(h.encodesPerTick, h.passthroughsPerTick).map { $0 + $1 }
        XCTAssertEqual(made.suffix(45), Array(repeating: 3, count: 45))
        XCTAssertTrue(made.allSatisfy { $0 == 1 || $0 == 3 }, "\(made)")
        XCTAssertEqual(h.mixer.counters.encodes, h.encodesPerTick.reduce(0, +))
    }

    /// A room nobody listens to decodes nothing and asks for no tick.
    func testNoListenerNoDecoding() throws {
        let h = MixHarness()
        try h.addPublisher(TonePublisher(key: 1, hz: 300), listening: false)
        try h.addPublisher(TonePublisher(key: 2, hz: 500), listening: false)
        XCTAssertNil(h.mixer.nextDeadline)
        try h.run(ms: 500)
        XCTAssertEqual(h.mixer.counters.decodeCalls, 0)
        XCTAssertEqual(h.mixer.counters.frames, 0)
        XCTAssertEqual(h.mixer.counters.ignoredWithoutListeners, 50)
        XCTAssertTrue(h.mixer.tick(now: h.clock.now).isEmpty)

        try h.addListener("pure", contributorKey: nil)
        try h.run(ms: 500)
        XCTAssertGreaterThan(h.mixer.counters.decodeCalls, 40)
        h.mixer.removeListener("pure")
        let calls = h.mixer.counters.decodeCalls
        try h.run(ms: 500)
        XCTAssertEqual(h.mixer.counters.decodeCalls, calls, "decoding stops with the last listener")
        XCTAssertNil(h.mixer.nextDeadline)
    }

    /// The deadline keeps a 20 ms grid: a late call catches up with every
    /// missed frame, a very late one skips whole frames, neither drifts.
    func testDeadlineCatchesUpWithoutDrift() throws {
        let mixer = RoomMixer()
        try mixer.addListener("pure", contributorKey: nil)
        XCTAssertEqual(mixer.nextDeadline, .zero, "due at once before the first tick")
        let start = Instant.milliseconds(1_000)
        XCTAssertEqual(mixer.tick(now: start).count, 1)
        XCTAssertEqual(mixer.nextDeadline, start + .milliseconds(20))
        XCTAssertTrue(mixer.tick(now: start + .milliseconds(19)).isEmpty, "early: nothing")
        // 7 ms late: one frame, the grid stays at +40.
        XCTAssertEqual(mixer.tick(now: start + .milliseconds(27)).count, 1)
        XCTAssertEqual(mixer.nextDeadline, start + .milliseconds(40))
        // 45 ms late: the frames due at +40, +60 and +80, then back on the grid at +100.
        let frames = mixer.tick(now: start + .milliseconds(85))
        XCTAssertEqual(frames.map(\.timestamp), [1_920, 2_880, 3_840])
        XCTAssertEqual(mixer.nextDeadline, start + .milliseconds(100))
        // A second late: skip, and the timestamp jumps by the time skipped.
        let late = mixer.tick(now: start + .milliseconds(1_105))
        XCTAssertEqual(late.count, 1)
        XCTAssertEqual(late.first?.timestamp, 55 * 960)
        XCTAssertEqual(mixer.nextDeadline, start + .milliseconds(1_120))
        XCTAssertEqual(mixer.counters.skippedFrames, 50)
    }
}
