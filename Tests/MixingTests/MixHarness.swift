import Foundation
import Opus
import Wire
import CohortTestSupport
@testable import Mixing

/// A publisher that sends a sine wave as real Opus packets, 20 ms each.
final class TonePublisher {
    let key: UInt32
    let hz: Double
    let amplitude: Double
    let syllables: Bool
    let encoder: OpusEncoder
    var sequence: UInt16
    var timestamp: UInt32
    /// Frames (from 0) sent as digital silence instead of the tone: pauses in speech.
    var silent: (Int) -> Bool = { _ in false }
    /// The RFC 6464 level (dBov) the sender claims for each frame; nil: none sent.
    var claimedLevel: (Int) -> Double? = { _ in nil }
    /// The frame number of the packet `next()` returns next.
    var frameNumber: Int { sample / 960 }
    private var sample = 0

    init(key: UInt32, hz: Double, amplitude: Double = 0.1, fec: Bool = true, syllables: Bool = false,
         sequence: UInt16 = 1_000, timestamp: UInt32 = 5_000, bitrate: Int32 = 48_000) throws {
        self.key = key
        self.hz = hz
        self.amplitude = amplitude
        self.syllables = syllables
        var options = OpusEncoder.Options()
        options.inbandFEC = fec
        options.bitrate = bitrate
        encoder = try OpusEncoder(channels: 1, options: options)
        self.sequence = sequence
        self.timestamp = timestamp
    }

    /// The next packet: (sequence, timestamp, payload).
    func next() throws -> (UInt16, UInt32, [UInt8]) {
        let pcm = ToneMeter.tone(hz: hz, amplitude: silent(sample / 960) ? 0 : amplitude, offset: sample, syllables: syllables)
        sample += 960
        let packet = (sequence, timestamp, try encoder.encode(pcm))
        sequence &+= 1
        timestamp &+= 960
        return packet
    }
}

/// Drives a room mixer with a manual clock at 1 ms steps: publishers send
/// every 20 ms, packets arrive after their network delay, the mixer ticks
/// when its deadline says so, and every listener's frames are decoded.
final class MixHarness {
    struct InFlight {
        var arrival: Instant
        var key: UInt32
        var sequence: UInt16
        var timestamp: UInt32
        var payload: [UInt8]
        var level: Double? = nil
    }

    let mixer: RoomMixer
    let clock = ManualClock()
    var publishers: [TonePublisher] = []
    var decoded: [String: [Int16]] = [:]
    var decoders: [String: OpusDecoder] = [:]
    var framesPerTick: [[String: Int]] = []
    /// libopus encodes of each tick.
    var encodesPerTick: [Int] = []
    /// Mixes of one voice forwarded as they came, each tick.
    var passthroughsPerTick: [Int] = []
    /// Frames each listener concealed itself (sent nothing by the mixer).
    var concealed: [String: Int] = [:]
    private var lastTimestamp: [String: UInt32] = [:]
    var timestamps: [String: [UInt32]] = [:]
    var inFlight: [InFlight] = []
    /// What each distinct mix fed its encoder (after the limiter), frame by frame.
    var mixPCM: [MixKey: [Int16]] = [:]
    /// Decides what the network does with one packet: the list of delays
    /// (empty = lost, two = duplicated). Default: 5 ms, once.
    var network: (TonePublisher, UInt16) -> [TimeSpan] = { _, _ in [.milliseconds(5)] }
    /// Extra packets to inject at each send time (garbage, floods).
    var extra: (Instant) -> [InFlight] = { _ in [] }
    private var msSinceStart = 0

    init(configuration: RoomMixer.Configuration = RoomMixer.Configuration()) {
        mixer = RoomMixer(configuration: configuration)
    }

    func addPublisher(_ p: TonePublisher, listening: Bool) throws {
        publishers.append(p)
        try mixer.addContributor(p.key)
        if listening { try addListener("p\(p.key)", contributorKey: p.key) }
    }

    func addListener(_ id: String, contributorKey: UInt32?) throws {
        try mixer.addListener(id, contributorKey: contributorKey)
        decoders[id] = try OpusDecoder(channels: 1)
        decoded[id] = []
    }

    /// Runs `ms` milliseconds of virtual time.
    func run(ms: Int) throws {
        for _ in 0..<ms {
            let now = clock.now
            if msSinceStart % 20 == 7 {
                for p in publishers {
                    let level = p.claimedLevel(p.frameNumber)
                    let (seq, ts, payload) = try p.next()
                    for delay in network(p, seq) {
                        inFlight.append(InFlight(arrival: now + delay, key: p.key, sequence: seq, timestamp: ts, payload: payload,
                                                 level: level))
                    }
                }
                inFlight += extra(now)
            }
            let arriving = inFlight.filter { $0.arrival <= now }
            inFlight.removeAll { $0.arrival <= now }
            for d in arriving {
                mixer.receive(key: d.key, sequence: d.sequence, timestamp: d.timestamp, payload: d.payload, now: now, level: d.level)
            }
            if let deadline = mixer.nextDeadline, deadline <= now {
                var count: [String: Int] = [:]
                let encodes = mixer.counters.encodes, passthroughs = mixer.counters.passthroughs
                for frame in mixer.tick(now: now) {
                    count[frame.listener, default: 0] += 1
                    timestamps[frame.listener, default: []].append(frame.timestamp)
                    if let decoder = decoders[frame.listener] {
                        // As a receiver does: frames the mixer did not send
                        // (a passed-through voice's lost packets) are
                        // concealed, the last one from this packet's FEC.
                        if let last = lastTimestamp[frame.listener] {
                            let missing = Int((frame.timestamp &- last) / 960) - 1
                            if missing > 0 && missing < 50 {
                                concealed[frame.listener, default: 0] += missing
                                for _ in 0..<(missing - 1) { decoded[frame.listener, default: []] += try decoder.decode([]) }
                                decoded[frame.listener, default: []] += try decoder.decode(frame.payload, fec: true)
                            }
                        }
                        lastTimestamp[frame.listener] = frame.timestamp
                        decoded[frame.listener, default: []] += try decoder.decode(frame.payload)
                    }
                }
                framesPerTick.append(count)
                encodesPerTick.append(mixer.counters.encodes - encodes)
                passthroughsPerTick.append(mixer.counters.passthroughs - passthroughs)
                for (key, output) in mixer.outputs { mixPCM[key, default: []] += output.pcm }
            }
            clock.advance(by: .milliseconds(1))
            msSinceStart += 1
        }
    }

    /// The last `ms` milliseconds a listener heard.
    func tail(_ id: String, ms: Int) -> ArraySlice<Int16> {
        let x = decoded[id] ?? []
        return x.suffix(ms * 48)
    }
}
