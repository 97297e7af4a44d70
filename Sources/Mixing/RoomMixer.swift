import Opus
import Wire

/// The audio mixer of one room, sans-IO: Opus packets from contributors go
/// in with their arrival time; every 20 ms `tick` returns one encoded frame
/// per listener.
///
/// A listener who also contributes hears a mix-minus (everyone but
/// themselves); every listener who contributes nothing shares one encode of
/// the full mix. Each distinct mix keeps its own encoder, so each output is
/// one continuous Opus stream. Nothing is decoded while nobody listens.
/// Driven by the engine's deadline (`nextDeadline`), never by a thread or
/// a sleep; runs on the room's loop only.
public final class RoomMixer {
    /// Settings.
    public struct Configuration: Sendable {
        /// Encoder options for every output (default 32 kbit/s, in-band FEC on, no DTX).
        public var encoder = OpusEncoder.Options()
        /// Jitter buffer tuning for every contributor.
        public var jitterBuffer = OpusJitterBuffer.Configuration()
        /// A `tick` this many frames late or less produces every missed
        /// frame; later than that it skips to the present (keeping the grid).
        public var maximumCatchUpFrames = 3
        /// Creates the defaults.
        public init() {}
    }

    /// One mixer frame: 20 ms.
    public static let frameDuration = TimeSpan.milliseconds(20)
    /// Samples per frame at 48 kHz.
    public static let frameSamples = MixContributor.frameSamples

    /// The settings in use.
    public let configuration: Configuration
    /// Counts since creation.
    public internal(set) var counters = MixerCounters()

    var contributors: [UInt32: MixContributor] = [:]
    /// Sorted keys, so that mixing order (and float rounding) is deterministic.
    var contributorOrder: [UInt32] = []
    var outputs: [MixKey: MixOutput] = [:]
    var listenerMix: [String: MixKey] = [:]
    var deadline: Instant?
    var frameIndex: UInt32 = 0
    var full: [Float] = Array(repeating: 0, count: MixContributor.frameSamples)
    var retiredBufferCounters = OpusJitterBuffer.Counters()

    /// Creates an empty room mixer.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: Contributors

    /// Adds a publisher whose audio enters the mix. Adding one twice does nothing.
    /// `expectedJitter` is the stream's interarrival jitter as already
    /// measured elsewhere (see `OpusJitterBuffer.expectJitter`).
    public func addContributor(_ key: UInt32, expectedJitter: TimeSpan = .milliseconds(0)) throws(OpusError) {
        guard contributors[key] == nil else { return }
        let contributor = try MixContributor(key: key, configuration: configuration.jitterBuffer)
        contributor.buffer.expectJitter(expectedJitter)
        contributors[key] = contributor
        contributorOrder = contributors.keys.sorted()
    }

    /// Removes a publisher; listeners hearing its mix-minus keep their stream (now the full mix).
    public func removeContributor(_ key: UInt32) {
        guard let c = contributors.removeValue(forKey: key) else { return }
        retiredBufferCounters.add(c.buffer.counters)
        contributorOrder = contributors.keys.sorted()
    }

    /// The publishers in the mix.
    public var contributorKeys: [UInt32] { contributorOrder }

    /// Offers one decrypted Opus RTP payload from contributor `key`
    /// (RFC 7587), with its RTP sequence number and timestamp. Bad packets
    /// are counted and dropped; nothing here can stall the tick.
    @discardableResult
    public func receive(key: UInt32, sequence: UInt16, timestamp: UInt32, payload: [UInt8],
                        now: Instant) -> OpusJitterBuffer.InsertResult? {
        guard let c = contributors[key] else {
            counters.unknownContributor += 1
            return nil
        }
        guard !listenerMix.isEmpty else {
            // Nobody listens: no buffering, no decoding (the room costs nothing).
            counters.ignoredWithoutListeners += 1
            return nil
        }
        return c.buffer.insert(sequence: sequence, timestamp: timestamp, payload: payload, now: now)
    }

    // MARK: Listeners

    /// Adds (or re-points) a listener. With `contributorKey` it hears
    /// everyone but that contributor; without, the shared full mix.
    public func addListener(_ id: String, contributorKey: UInt32?) throws(OpusError) {
        let key: MixKey = contributorKey.map { .minus($0) } ?? .full
        if listenerMix[id] == key { return }
        if outputs[key] == nil { outputs[key] = try MixOutput(key: key, options: configuration.encoder) }
        removeListener(id)
        if listenerMix.isEmpty { deadline = nil }
        listenerMix[id] = key
        outputs[key]?.listeners.insert(id)
    }

    /// Removes a listener. When the last one leaves, buffers and decoders
    /// are emptied and the mixer stops asking for ticks.
    public func removeListener(_ id: String) {
        guard let key = listenerMix.removeValue(forKey: id), let output = outputs[key] else { return }
        output.listeners.remove(id)
        if output.listeners.isEmpty { outputs[key] = nil }
        if listenerMix.isEmpty {
            deadline = nil
            for c in contributors.values { c.reset() }
        }
    }

    /// How many listeners there are.
    public var listenerCount: Int { listenerMix.count }

    /// How many distinct mixes (and so encodes per tick) there are.
    public var distinctMixCount: Int { outputs.count }

    // MARK: Observations

    /// When `tick` should next run: `nil` while nobody listens; `.zero`
    /// (at once) before the first tick, which anchors the 20 ms grid.
    public var nextDeadline: Instant? {
        guard !listenerMix.isEmpty else { return nil }
        return deadline ?? .zero
    }

    /// The RMS level (dBov, RFC 6464) of what each contributor put into the
    /// last frame; -127 while silent. Measured only while someone listens.
    public var levels: [UInt32: Double] {
        contributors.mapValues { $0.level }
    }

    /// The jitter buffer counters of one contributor.
    public func bufferCounters(of key: UInt32) -> OpusJitterBuffer.Counters? {
        contributors[key]?.buffer.counters
    }

    /// The jitter buffer of one contributor, for inspection.
    public func jitterBuffer(of key: UInt32) -> OpusJitterBuffer? {
        contributors[key]?.buffer
    }

    /// Jitter buffer counters summed over every contributor, past and present
    /// (late drops, duplicates, floods as `overflowDrops`, malformed packets).
    public var bufferTotals: OpusJitterBuffer.Counters {
        var total = retiredBufferCounters
        for c in contributors.values { total.add(c.buffer.counters) }
        return total
    }
}

extension OpusJitterBuffer.Counters {
    mutating func add(_ o: OpusJitterBuffer.Counters) {
        received += o.received; duplicates += o.duplicates; lateDrops += o.lateDrops
        overflowDrops += o.overflowDrops; latencyDrops += o.latencyDrops; malformed += o.malformed
        resyncs += o.resyncs; lost += o.lost; fecRecovered += o.fecRecovered; underruns += o.underruns
    }
}
