import Opus
import Wire

/// The audio mixer of one room, sans-IO: Opus packets from contributors go
/// in with their arrival time; every 20 ms `tick` returns one encoded frame
/// per listener.
///
/// The mix follows the speakers, not the listeners: only contributors that
/// speak (a level of at least `speechLevel` within the last
/// `speechHangover`) are mixed, at most the `maximumSpeakers` loudest. A
/// listener who is one of the mixed speakers hears a mix-minus (the others
/// but themselves); every other listener, however many, shares one encode
/// of the full mix, which does not contain them. So a room of ten with one
/// speaker costs two encodes a frame, not ten. A mix that holds one voice
/// is not encoded at all: its listeners get that voice's own packet
/// (`passthroughSizeRatio`), so two speakers cost one encode (the full mix),
/// one speaker one (the speaker's own silent mix-minus). Each distinct mix keeps its
/// own encoder; a listener who starts or stops being mixed changes encoder
/// between two frames of its stream (continuous sequence and timestamps;
/// the decoder hears at most a frame's blend). Nothing is decoded while
/// nobody listens.
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
        /// At most this many speakers are mixed, the loudest (0: no limit).
        /// Three voices at once is already more than a group can follow.
        public var maximumSpeakers = 3
        /// A contributor speaks while the RMS level of what it contributes is
        /// at least this (dBov, RFC 6464): speech sits around -20 to -40,
        /// a quiet room's noise below -55.
        public var speechLevel = -50.0
        /// How long a contributor stays mixed after its level fell below
        /// `speechLevel`: pauses between words don't switch streams.
        public var speechHangover = TimeSpan.milliseconds(600)
        /// A mix of one voice is that voice: its listeners get the
        /// contributor's own packet (renumbered into their stream by the
        /// engine) instead of a decode-sum-encode of it, when the packet
        /// is a whole 20 ms frame that arrived intact and is no larger than
        /// `passthroughSizeRatio` times what the mix's encoder would make at
        /// its bitrate (so a listener on the mix for its small bandwidth
        /// never gets a heavier stream). With two speakers, each hears the
        /// other's packets and only the room's full mix is encoded. 0 turns it off.
        public var passthroughSizeRatio = 1.5
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
    /// Each listener: its own contribution (left out when it is mixed) and the output it hears now.
    var listenerMix: [String: MixListener] = [:]
    /// The contributors in the current mix, sorted (`selectSpeakers`).
    var mixed: [UInt32] = []
    var deadline: Instant?
    var frameIndex: UInt32 = 0
    var full: [Float] = Array(repeating: 0, count: MixContributor.frameSamples)
    var retiredBufferCounters = OpusJitterBuffer.Counters()
    /// The largest packet a mix of one voice forwards as it came (`passthroughSizeRatio`).
    var passthroughMaximumBytes: Int {
        Int(configuration.passthroughSizeRatio * Double(configuration.encoder.bitrate) / 8 * Self.frameDuration.seconds)
    }

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
        if mixed.contains(key) {
            mixed.removeAll { $0 == key }
            assignOutputs()
        }
    }

    /// The publishers in the mix.
    public var contributorKeys: [UInt32] { contributorOrder }

    /// Offers one decrypted Opus RTP payload from contributor `key`
    /// (RFC 7587), with its RTP sequence number and timestamp, and the
    /// sender's RFC 6464 level in dBov when it sent one: a packet below
    /// `speechLevel` from a contributor not in the mix is not decoded. Bad
    /// packets are counted and dropped; nothing here can stall the tick.
    @discardableResult
    public func receive(key: UInt32, sequence: UInt16, timestamp: UInt32, payload: [UInt8],
                        now: Instant, level: Double? = nil) -> OpusJitterBuffer.InsertResult? {
        receive(key: key, sequence: sequence, timestamp: timestamp, payload: payload[...], now: now, level: level)
    }

    /// Offers one payload borrowed from the packet it came in (the engine's
    /// receive buffer): the jitter buffer copies it into storage it reuses,
    /// so audio to a mixed room allocates nothing per packet.
    @discardableResult
    public func receive(key: UInt32, sequence: UInt16, timestamp: UInt32, payload: ArraySlice<UInt8>,
                        now: Instant, level: Double? = nil) -> OpusJitterBuffer.InsertResult? {
        guard let c = contributors[key] else {
            counters.unknownContributor += 1
            return nil
        }
        guard !listenerMix.isEmpty else {
            // Nobody listens: no buffering, no decoding (the room costs nothing).
            counters.ignoredWithoutListeners += 1
            return nil
        }
        return c.buffer.insert(sequence: sequence, timestamp: timestamp, payload: payload, now: now,
                               voiced: level.map { $0 >= configuration.speechLevel } ?? true)
    }

    // MARK: Listeners

    /// Adds (or re-points) a listener. With `contributorKey` it hears
    /// everyone mixed but that contributor; without, the shared full mix.
    public func addListener(_ id: String, contributorKey: UInt32?) throws(OpusError) {
        if let l = listenerMix[id], l.own == contributorKey { return }
        let key = outputKey(own: contributorKey)
        if outputs[key] == nil { outputs[key] = try MixOutput(key: key, options: configuration.encoder) }
        removeListener(id)
        if listenerMix.isEmpty { deadline = nil }
        listenerMix[id] = MixListener(own: contributorKey, output: key)
        outputs[key]?.listeners.insert(id)
    }

    /// Removes a listener. When the last one leaves, buffers and decoders
    /// are emptied and the mixer stops asking for ticks.
    public func removeListener(_ id: String) {
        guard let listener = listenerMix.removeValue(forKey: id), let output = outputs[listener.output] else { return }
        output.listeners.remove(id)
        if output.listeners.isEmpty { outputs[listener.output] = nil }
        if listenerMix.isEmpty {
            deadline = nil
            mixed = []
            for c in contributors.values { c.reset() }
        }
    }

    /// The mix a listener with this own contribution hears now.
    func outputKey(own: UInt32?) -> MixKey {
        if let own, mixed.contains(own) { return .minus(own) }
        return .full
    }

    /// Moves every listener to the output `mixed` now gives it: outputs are
    /// made for speakers who listen and dropped when nobody hears them. Runs
    /// when the mixed set changes, not every frame. A listener whose new
    /// encoder cannot be made (libopus out of memory) stays where it is.
    func assignOutputs() {
        for (id, listener) in listenerMix {
            let key = outputKey(own: listener.own)
            guard key != listener.output else { continue }
            if outputs[key] == nil {
                guard let output = try? MixOutput(key: key, options: configuration.encoder) else {
                    counters.encoderFailures += 1
                    continue
                }
                outputs[key] = output
            }
            outputs[key]?.listeners.insert(id)
            if let old = outputs[listener.output] {
                old.listeners.remove(id)
                if old.listeners.isEmpty { outputs[listener.output] = nil }
            }
            listenerMix[id] = MixListener(own: listener.own, output: key)
        }
    }

    /// The contributors who speak now (`speechLevel` within `speechHangover`),
    /// the `maximumSpeakers` loudest of them; one already mixed keeps its
    /// place against a newcomer up to 6 dB louder, so two similar voices
    /// don't trade places every frame.
    func selectSpeakers() -> [UInt32] {
        let hangover = Int(configuration.speechHangover.nanoseconds / Self.frameDuration.nanoseconds)
        var speaking: [(key: UInt32, rank: Double)] = []
        for key in contributorOrder {
            guard let c = contributors[key], let last = c.lastSpeechFrame,
                  Int(frameIndex &- last) <= hangover else { continue }
            speaking.append((key, c.loudness + (mixed.contains(key) ? 6 : 0)))
        }
        let limit = configuration.maximumSpeakers
        if limit > 0, speaking.count > limit {
            speaking.sort { $0.rank != $1.rank ? $0.rank > $1.rank : $0.key < $1.key }
            speaking.removeLast(speaking.count - limit)
        }
        return speaking.map(\.key).sorted()
    }

    /// How many listeners there are.
    public var listenerCount: Int { listenerMix.count }

    /// How many distinct mixes (and so encodes per tick) there are.
    public var distinctMixCount: Int { outputs.count }

    /// The contributors mixed in the last frame (at most `maximumSpeakers`).
    public var mixedContributors: [UInt32] { mixed }

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
