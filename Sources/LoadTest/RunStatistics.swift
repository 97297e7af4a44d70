/// Everything one event loop measured; loops merge theirs at the end.
public struct RunStatistics: Sendable {
    /// One-way delay of audio with a probe.
    public var audioLatency = LatencyHistogram()
    /// One-way delay of video.
    public var videoLatency = LatencyHistogram()
    /// WebSocket connect → first media from every peer in the room.
    public var joinTime = LatencyHistogram()
    /// WebSocket connect → `joined`.
    public var signallingTime = LatencyHistogram()
    /// Answer accepted → DTLS-SRTP connected.
    public var iceDTLSTime = LatencyHistogram()
    /// Breakout moves: host command → first packet from a new room-mate.
    public var moveLatency = LatencyHistogram()
    /// How late the harness sent media compared to its schedule.
    public var pacingLateness = LatencyHistogram()
    /// Server lost (`server-shutdown`, or the WebSocket dropped while in the
    /// call) → media from every room peer again after joining anew.
    public var apartTime = LatencyHistogram()

    /// Counters by name (packets, bytes, failures); see `Counter`.
    public var counters: [Counter: Int] = [:]
    /// Join failures by reason.
    public var joinFailures: [String: Int] = [:]
    /// The first few isolation violations, described.
    public var violationSamples: [String] = []

    /// Loss accounting summed over streams.
    public var streams = StreamTotals()

    /// Creates empty statistics.
    public init() {}

    /// Adds `n` to `counter`.
    public mutating func add(_ counter: Counter, _ n: Int = 1) { counters[counter, default: 0] += n }

    /// The value of `counter`.
    public subscript(_ counter: Counter) -> Int { counters[counter, default: 0] }

    /// Records an isolation violation.
    public mutating func violation(_ what: String) {
        add(.isolationViolations)
        if violationSamples.count < 20 { violationSamples.append(what) }
    }

    /// Folds one stream's receive statistics in.
    public mutating func absorb(_ s: StreamReceiveStats, injectedUplink: (UInt32) -> Bool) {
        let m = s.missing(injected: injectedUplink)
        streams.streams += 1
        streams.expected += s.expected
        streams.received += s.received
        streams.lost += m.lost
        streams.injectedUplink += m.injected
        streams.injectedDownlink += s.injectedDownlink
        streams.duplicates += s.duplicates
        streams.reordered += s.reordered
        streams.jitterSumMs += s.jitterNanoseconds / 1e6
        streams.jitterMaxMs = max(streams.jitterMaxMs, s.jitterNanoseconds / 1e6)
    }

    /// Adds everything from `other`.
    public mutating func merge(_ other: RunStatistics) {
        audioLatency.merge(other.audioLatency)
        videoLatency.merge(other.videoLatency)
        joinTime.merge(other.joinTime)
        signallingTime.merge(other.signallingTime)
        iceDTLSTime.merge(other.iceDTLSTime)
        moveLatency.merge(other.moveLatency)
        pacingLateness.merge(other.pacingLateness)
        apartTime.merge(other.apartTime)
        for (k, v) in other.counters { counters[k, default: 0] += v }
        for (k, v) in other.joinFailures { joinFailures[k, default: 0] += v }
        violationSamples += other.violationSamples.prefix(max(0, 20 - violationSamples.count))
        streams.merge(other.streams)
    }
}

/// Counted events.
public enum Counter: String, Codable, Sendable, CaseIterable {
    /// RTP packets handed to the socket.
    case rtpSent
    /// RTP payload-plus-header bytes handed to the socket (before SRTP).
    case rtpSentBytes
    /// RTP packets the uplink injection dropped.
    case rtpUplinkDropped
    /// RTP packets received (by header, or decrypted when every packet is).
    case rtpReceived
    /// RTP packets authenticated and decrypted (all, or the sampled ones: `ReceiveSampler`).
    case rtpDecrypted
    /// Datagram bytes received.
    case bytesReceived
    /// Received RTP without a probe (e.g. the server's audio mix).
    case rtpWithoutProbe
    /// Packets whose abs-send-time disagreed with the probe's send time.
    case sendTimeMismatch
    /// Media from a participant outside the receiver's room.
    case isolationViolations
    /// Join attempts.
    case joinsStarted
    /// `joined` received.
    case joinsSignalled
    /// DTLS-SRTP connected.
    case mediaConnected
    /// Received media from every room peer present at join.
    case joinsComplete
    /// Joins that failed (see `joinFailures`).
    case joinsFailed
    /// PLIs received (each answered with a keyframe).
    case pliReceived
    /// Keyframes sent.
    case keyframesSent
    /// `slots` messages received.
    case slotsMessages
    /// `roster` messages received.
    case rosterMessages
    /// Participants who left with `leave`.
    case leaves
    /// Participants who vanished.
    case vanishes
    /// Participants who rejoined.
    case rejoins
    /// Media that no room map allowed on arrival (most are forgiven: room changes take a moment).
    case isolationSuspects
    /// Streams restarted after a source came back from more than 1 s away (another room or slot).
    case streamRestarts
    /// Participants the server removed after their media connected.
    case removedByServer
    /// Host commands answered `ok`.
    case commandsOK
    /// Server errors after joining (host commands refused, and the like).
    case commandsFailed
    /// `redirect` answers followed to another node (scale-out, docs/SCALE-OUT.md).
    case redirects
    /// Participants back in the call after losing the server (a restart or a crash).
    case rejoinedAfterServerLoss
}

/// Loss accounting summed over every (receiver, origin, kind) stream.
public struct StreamTotals: Codable, Equatable, Sendable {
    /// Streams counted.
    public var streams = 0
    /// Sequences between first and highest, over all streams.
    public var expected = 0
    /// Distinct packets that arrived.
    public var received = 0
    /// Missing and not dropped by the harness: the server's (or the kernel's) loss.
    public var lost = 0
    /// Missing because the sender dropped them on purpose.
    public var injectedUplink = 0
    /// Arrived but dropped on purpose by the receiver.
    public var injectedDownlink = 0
    /// Arrived more than once.
    public var duplicates = 0
    /// Arrived after a higher sequence.
    public var reordered = 0
    /// Sum of per-stream RFC 3550 jitter, ms (for the mean).
    public var jitterSumMs = 0.0
    /// Largest per-stream jitter, ms.
    public var jitterMaxMs = 0.0

    /// Creates zero totals.
    public init() {}

    /// Adds `o`.
    public mutating func merge(_ o: StreamTotals) {
        streams += o.streams
        expected += o.expected
        received += o.received
        lost += o.lost
        injectedUplink += o.injectedUplink
        injectedDownlink += o.injectedDownlink
        duplicates += o.duplicates
        reordered += o.reordered
        jitterSumMs += o.jitterSumMs
        jitterMaxMs = max(jitterMaxMs, o.jitterMaxMs)
    }

    /// Loss not caused by the harness, as a percentage of what the server should have delivered.
    public var lossPercent: Double {
        let deliverable = expected - injectedUplink
        return deliverable > 0 ? 100 * Double(lost) / Double(deliverable) : 0
    }

    /// Mean per-stream jitter, ms.
    public var jitterMeanMs: Double { streams > 0 ? jitterSumMs / Double(streams) : 0 }
}
