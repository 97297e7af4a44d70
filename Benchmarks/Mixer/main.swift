// CPU per mixed participant: rooms of 5, 10 and 15 where everyone speaks
// and everyone listens (each hears a mix-minus of the rest). Release only:
//   Scripts/bench-mixer.sh
//
// The reference, measured in the same run, is the bare libopus cost the
// mixer cannot avoid: one decode plus one encode of a 20 ms frame per
// participant. The ratio (mixer time per participant-frame / reference)
// shows what jitter buffering, mixing, the limiter and bookkeeping add.
import Foundation
import Mixing
import Opus
import Wire

/// Speech-like test signal: a tone with a syllabic envelope and vibrato, per speaker.
func frame(speaker: Int, index: Int) -> [Int16] {
    let hz = 180.0 + 37.0 * Double(speaker)
    return (0..<960).map { i in
        let t = Double(index * 960 + i) / 48_000
        let envelope = 0.7 - 0.3 * cos(2 * Double.pi * 4 * t + Double(speaker))
        return Int16(3_000 * envelope * sin(2 * Double.pi * (hz * t + 3 * sin(2 * Double.pi * 5 * t))))
    }
}

/// Pre-encodes `frames` packets for each of `speakers` publishers (not
/// timed); the first `talking` of them speak, the others send silence
/// (digital zero, as a muted-by-hand microphone with DTX off does).
func recordings(speakers: Int, frames: Int, talking: Int? = nil) throws -> [[[UInt8]]] {
    try (0..<speakers).map { s in
        let encoder = try OpusEncoder(channels: 1)
        let speaks = s < (talking ?? speakers)
        return try (0..<frames).map {
            try encoder.encode(speaks ? frame(speaker: s, index: $0) : [Int16](repeating: 0, count: 960))
        }
    }
}

/// CPU time of this thread, so that other processes on a shared machine
/// distort the figures less than wall-clock time would.
func threadCPUTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = threadCPUTime()
    try body()
    return threadCPUTime() - start
}

/// Bare libopus: per participant per frame, one decode and one encode.
func reference(participants: Int, packets: [[[UInt8]]], frames: Int) throws -> Double {
    let decoders = try (0..<participants).map { _ in try OpusDecoder(channels: 1) }
    let encoders = try (0..<participants).map { _ in try OpusEncoder(channels: 1) }
    var pcm = [Int16](repeating: 0, count: 5_760)
    var out = [UInt8](repeating: 0, count: 1_500)
    return try seconds {
        for f in 0..<frames {
            for p in 0..<participants {
                let packet = packets[p][f]
                _ = try packet.withUnsafeBufferPointer { i in
                    try pcm.withUnsafeMutableBufferPointer { try decoders[p].decode(i, into: $0, samplesPerChannel: 5_760) }
                }
                _ = try pcm.withUnsafeBufferPointer { i in
                    try out.withUnsafeMutableBufferPointer { try encoders[p].encode(i, samplesPerChannel: 960, into: $0) }
                }
            }
        }
    }
}

/// The room mixer: every participant contributes and listens; packets
/// arrive 5 ms after each 20 ms boundary, ticks run on the boundary.
/// `talking`: how many of them speak; the others' packets carry an RFC 6464
/// level of -127 dBov, as a browser's do (nil: no levels sent).
func mixer(participants: Int, packets: [[[UInt8]]], frames: Int, encodes: UnsafeMutablePointer<Int>? = nil,
           talking: Int? = nil) throws -> (Double, Int) {
    let mixer = RoomMixer()
    defer { encodes?.pointee = mixer.counters.encodes }
    for p in 0..<participants {
        try mixer.addContributor(UInt32(p + 1))
        try mixer.addListener("p\(p + 1)", contributorKey: UInt32(p + 1))
    }
    var produced = 0
    let start = Instant.milliseconds(1_000)
    let time = seconds {
        for f in 0..<frames {
            let arrival = start + .milliseconds(Int64(f) * 20 + 5)
            for p in 0..<participants {
                mixer.receive(key: UInt32(p + 1), sequence: UInt16(truncatingIfNeeded: f), timestamp: UInt32(f * 960),
                              payload: packets[p][f], now: arrival, level: talking.map { p < $0 ? -30 : -127 })
            }
            produced += mixer.tick(now: start + .milliseconds(Int64(f + 1) * 20)).count
        }
    }
    guard mixer.counters.decodeErrors == 0, mixer.bufferTotals.lost < frames / 50 else {
        throw CocoaError(.featureUnsupported)
    }
    return (time, produced)
}

let frames = 500  // 10 s of audio per participant
print("Room mixer, 48 kHz mono, 20 ms frames, 32 kbit/s, complexity 5, FEC on; everyone speaks and listens")
print("CPU time of the benchmark thread; frames/s = participant-frames per CPU second")
print("size  mixer frames/s (per participant)  reference decode+encode/s  ratio")
for size in [5, 10, 15] {
    let packets = try recordings(speakers: size, frames: frames)
    // Warm-up, then the best of five of each, interleaved so both see the same machine load.
    _ = try reference(participants: size, packets: packets, frames: 100)
    _ = try mixer(participants: size, packets: packets, frames: 100)
    var best = (mix: Double.infinity, ref: Double.infinity)
    var produced = 0
    for _ in 0..<5 {
        best.ref = min(best.ref, try reference(participants: size, packets: packets, frames: frames))
        let (t, n) = try mixer(participants: size, packets: packets, frames: frames)
        best.mix = min(best.mix, t)
        produced = n
    }
    let participantFrames = Double(size * frames)
    precondition(produced == size * frames, "one output frame per listener per tick")
    print(String(format: "%4d  %30.0f  %25.0f  %5.3f", size, participantFrames / best.mix, participantFrames / best.ref,
                 best.mix / best.ref))
}
print("real time: 50 frames/s per participant; ratio target <= 1.3")

// A room of 10, everyone listening mixed, 1, 2 or 10 of them speaking: the
// mixer's cost follows the speakers (at most 3 mixed, a mix-minus encode only
// for them, one shared full-mix encode for everyone else). Reference: what a
// mixer that encodes one mix-minus per listener pays at least, one decode and
// one encode per participant per frame. Packets carry RFC 6464 levels (the
// silent ones -127 dBov), so the silent are decoded one packet in ten.
print("")
print("Room of 10, everyone listens mixed; CPU ms per second of room audio (best of 5), ratio to 10 decodes + 10 encodes")
print("speakers  mixer ms/s  encodes/frame  reference ms/s  ratio")
for talking in [1, 2, 10] {
    let size = 10
    let packets = try recordings(speakers: size, frames: frames, talking: talking)
    _ = try reference(participants: size, packets: packets, frames: 100)
    _ = try mixer(participants: size, packets: packets, frames: 100)
    var best = (mix: Double.infinity, ref: Double.infinity)
    var encodes = 0
    for _ in 0..<5 {
        best.ref = min(best.ref, try reference(participants: size, packets: packets, frames: frames))
        let (t, _) = try mixer(participants: size, packets: packets, frames: frames, encodes: &encodes, talking: talking)
        best.mix = min(best.mix, t)
    }
    let audioSeconds = Double(frames) / 50
    print(String(format: "%8d  %10.1f  %13.2f  %14.1f  %5.3f", talking, best.mix / audioSeconds * 1000,
                 Double(encodes) / Double(frames), best.ref / audioSeconds * 1000, best.mix / best.ref))
}
