import Opus
import Wire

/// One publisher inside a room mixer: its jitter buffer, its decoder, and
/// the 20 ms of audio it contributes to the current tick. Room loop only.
final class MixContributor {
    /// The engine's key for the publisher.
    let key: UInt32
    var buffer: OpusJitterBuffer
    let decoder: OpusDecoder
    /// This tick's contribution (full scale = 1), valid when `isActive`.
    var frame: [Float]
    /// True when the publisher contributes to this tick.
    var isActive = false
    /// RMS level of this tick's contribution, in dBov.
    var level = AudioLevel.silence
    /// The last frame (mixer frame index) whose level reached the speech level; nil: not since it joined.
    var lastSpeechFrame: UInt32?
    /// The level smoothed over about 100 ms, dBov: what speakers are ranked by.
    var loudness = AudioLevel.silence
    /// Whether this publisher's "no voice" marks are believed. One quiet
    /// packet in `quietCheckInterval` is decoded anyway; when that one holds
    /// speech, the marks are wrong (a client that sends a fixed level) and
    /// every packet is decoded from then on.
    var trustsQuietMarks = true
    /// Quiet packets skipped since the last one decoded to check.
    private var quietSkipped = 0
    /// The decoder missed packets (skipped as quiet): reset before the next decode.
    private var decoderStale = false
    /// Whether this tick's audio came from decoding a quiet-marked packet (a check).
    private(set) var checkedQuiet = false
    /// This tick's 20 ms came whole from one received packet, decoded as it
    /// was (no FEC, no concealment, nothing carried over): the packet, which
    /// a mix of this contributor alone may forward instead of re-encoding.
    private(set) var sole: [UInt8]?
    /// The sender's packets lately (averaged over about 20): their size,
    /// and the share that were exactly one 20 ms frame. A mix of this voice
    /// alone passes its packets through only while these say it can
    /// (`fitsPassthrough`), so the choice does not flip frame by frame.
    private(set) var meanPacketBytes = 0.0
    private(set) var twentyMillisecondShare = 0.0
    private var packetsSeen = 0
    static let quietCheckInterval = 10
    /// Decoded audio not yet mixed (a packet longer than 20 ms leaves some over).
    private var carry: [Float]
    /// Whether libopus took the last packet (a refused one is concealed, never forwarded).
    private var lastDecodeSucceeded = true
    private var carryCount = 0
    private var pcm: [Int16]

    static let frameSamples = 960
    /// 120 ms, the longest Opus packet (RFC 6716 §3.4, R5), plus one frame.
    static let maximumSamples = 5_760

    init(key: UInt32, configuration: OpusJitterBuffer.Configuration) throws(OpusError) {
        self.key = key
        buffer = OpusJitterBuffer(configuration: configuration)
        decoder = try OpusDecoder(channels: 1)
        frame = Array(repeating: 0, count: Self.frameSamples)
        carry = Array(repeating: 0, count: Self.maximumSamples + Self.frameSamples)
        pcm = Array(repeating: 0, count: Self.maximumSamples)
    }

    /// Fills `frame` with the next 20 ms: decodes the buffer's packets, the
    /// FEC of a lost one (RFC 6716 §2.1.7), or concealment (§4.4). With
    /// `skipQuiet`, a packet marked as no voice is not decoded (20 ms of
    /// silence instead), but for one in `quietCheckInterval` (see
    /// `trustsQuietMarks`).
    func produce(now: Instant, counters: inout MixerCounters, skipQuiet: Bool = false) {
        checkedQuiet = false
        sole = nil
        let startedEmpty = carryCount == 0
        var pieces = 0
        var candidate: [UInt8]?
        while carryCount < Self.frameSamples {
            pieces += 1
            let output = buffer.pop(now: now)
            if case .nothing = output {
                guard carryCount > 0 else {
                    isActive = false
                    level = AudioLevel.silence
                    return
                }
                for i in carryCount..<Self.frameSamples { carry[i] = 0 }
                carryCount = Self.frameSamples
                break
            }
            let wanted = Self.frameSamples - carryCount  // a multiple of 2.5 ms
            if case .quiet(let payload) = output, skipQuiet, trustsQuietMarks, quietSkipped < Self.quietCheckInterval - 1 {
                quietSkipped += 1
                counters.decodesSkipped += 1
                decoderStale = true
                let samples = min((try? OpusPacketInfo(parsing: payload))?.samples ?? Self.frameSamples, carry.count - carryCount)
                for i in carryCount..<carryCount + samples { carry[i] = 0 }
                carryCount += samples
                continue
            }
            if decoderStale {
                // Packets were skipped: start clean rather than from audio long gone.
                decoder.reset()
                decoderStale = false
            }
            let decoded: Int
            switch output {
            case .packet(let payload):
                decoded = decode(payload, samples: Self.maximumSamples, fec: false, fallback: wanted, counters: &counters)
                candidate = payload
                note(payload, samples: decoded)
            case .quiet(let payload):
                quietSkipped = 0
                checkedQuiet = true
                decoded = decode(payload, samples: Self.maximumSamples, fec: false, fallback: wanted, counters: &counters)
                candidate = payload
                note(payload, samples: decoded)
            case .fec(let successor):
                let lost = (try? OpusPacketInfo(parsing: successor))?.samples ?? Self.frameSamples
                decoded = decode(successor, samples: min(lost, Self.maximumSamples), fec: true, fallback: wanted,
                                 counters: &counters)
            default:
                decoded = decode([], samples: wanted, fec: false, fallback: wanted, counters: &counters)
            }
            let at = carryCount
            let n = min(decoded, carry.count - at)
            pcm.withUnsafeBufferPointer { src in
                carry.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<n { dst[at + i] = Float(src[i]) * (1 / 32_768) }
                }
            }
            carryCount += n
        }
        isActive = true
        if startedEmpty, pieces == 1, carryCount == Self.frameSamples, lastDecodeSucceeded { sole = candidate }
        carry.withUnsafeBufferPointer { src in
            frame.withUnsafeMutableBufferPointer { dst in
                for i in 0..<Self.frameSamples { dst[i] = src[i] }
            }
        }
        level = frame.withUnsafeBufferPointer { AudioLevel.dBov($0) }
        // Keep what is left over for the next tick.
        let rest = carryCount - Self.frameSamples
        for i in 0..<rest { carry[i] = carry[Self.frameSamples + i] }
        carryCount = rest
    }

    /// Whether a mix of this voice alone may forward its packets: they have
    /// been whole 20 ms frames (nine in ten at least) of at most `maximumBytes` on average,
    /// for half a second at least (an encoder starting up sends small packets).
    func fitsPassthrough(maximumBytes: Int) -> Bool {
        packetsSeen >= 25 && meanPacketBytes <= Double(maximumBytes) && twentyMillisecondShare >= 0.9
    }

    private func note(_ payload: [UInt8], samples: Int) {
        let whole = samples == Self.frameSamples && lastDecodeSucceeded ? 1.0 : 0.0
        if packetsSeen == 0 {
            (meanPacketBytes, twentyMillisecondShare) = (Double(payload.count), whole)
        } else {
            meanPacketBytes += (Double(payload.count) - meanPacketBytes) / 20
            twentyMillisecondShare += (whole - twentyMillisecondShare) / 20
        }
        packetsSeen += 1
    }

    /// One libopus call into `pcm`; on a decode error (peer input) it is
    /// counted and the frame concealed instead, so the cadence holds.
    private func decode(_ packet: [UInt8], samples: Int, fec: Bool, fallback: Int, counters: inout MixerCounters) -> Int {
        counters.decodeCalls += 1
        lastDecodeSucceeded = true
        do {
            return try packet.withUnsafeBufferPointer { p throws(OpusError) in
                try pcm.withUnsafeMutableBufferPointer { o throws(OpusError) in
                    try decoder.decode(p, into: o, samplesPerChannel: samples, fec: fec)
                }
            }
        } catch {
            lastDecodeSucceeded = false
            counters.decodeErrors += 1
            counters.decodeCalls += 1
            let n = try? [UInt8]().withUnsafeBufferPointer { p throws(OpusError) in
                try pcm.withUnsafeMutableBufferPointer { o throws(OpusError) in
                    try decoder.decode(p, into: o, samplesPerChannel: fallback, fec: false)
                }
            }
            if let n { return n }
            for i in 0..<fallback { pcm[i] = 0 }
            return fallback
        }
    }

    /// Forgets buffered packets, leftover audio and decoder state.
    func reset() {
        buffer.reset()
        decoder.reset()
        carryCount = 0
        isActive = false
        level = AudioLevel.silence
        lastSpeechFrame = nil
        loudness = AudioLevel.silence
        quietSkipped = 0
        decoderStale = false
        sole = nil
        (meanPacketBytes, twentyMillisecondShare, packetsSeen) = (0, 0, 0)
    }
}
