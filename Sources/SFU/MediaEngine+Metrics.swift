import Congestion
import Wire

/// What one engine reports to a metrics scrape: aggregate counts only,
/// nothing that names a person or a session.
public struct EngineSnapshot: Sendable {
    /// The engine's counters since it started (they only grow).
    public var counters = EngineCounters()
    /// Sessions on this engine.
    public var sessions = 0
    /// Rooms with at least one member (main rooms and open breakout rooms; the waiting room is not one).
    public var rooms = 0
    /// Participants admitted (waiting ones included).
    public var participants = 0
    /// Of those, the ones whose DTLS-SRTP is up.
    public var mediaConnected = 0
    /// Handshake durations since the previous snapshot.
    public var handshakes = HandshakeTimes()
    /// Loss and jitter of the streams now flowing, by direction and kind.
    public var quality: [StreamQuality.Key: StreamQuality] = [:]

    /// Creates an empty snapshot.
    public init() {}
}

/// Loss and jitter over a set of RTP streams: their count, sum and maximum,
/// so snapshots of several engines add up (`merge`) and a mean follows.
public struct StreamQuality: Sendable, Equatable {
    /// Which way the media flows, seen from the server.
    public enum Direction: String, Sendable, CaseIterable {
        /// Publisher to server: the engine's own receive statistics (RFC 3550 A.3, A.8).
        case uplink
        /// Server to subscriber: the subscriber's receiver reports on its slots.
        case downlink
    }

    /// Direction and media kind.
    public struct Key: Hashable, Sendable {
        /// Which way.
        public var direction: Direction
        /// Audio or video.
        public var kind: TrackKind
        /// Creates a key.
        public init(_ direction: Direction, _ kind: TrackKind) {
            self.direction = direction
            self.kind = kind
        }
    }

    /// Streams measured.
    public var streams = 0
    /// Sum of their loss fractions (0...1).
    public var lossSum = 0.0
    /// The largest of their loss fractions.
    public var lossMax = 0.0
    /// Sum of their interarrival jitter, seconds.
    public var jitterSum = 0.0
    /// The largest of their interarrival jitter, seconds.
    public var jitterMax = 0.0

    /// Creates an empty summary.
    public init() {}

    /// Adds one stream.
    public mutating func add(loss: Double, jitter: Double) {
        streams += 1
        lossSum += loss
        lossMax = max(lossMax, loss)
        jitterSum += jitter
        jitterMax = max(jitterMax, jitter)
    }

    /// Adds another summary's streams.
    public mutating func merge(_ other: StreamQuality) {
        streams += other.streams
        lossSum += other.lossSum
        lossMax = max(lossMax, other.lossMax)
        jitterSum += other.jitterSum
        jitterMax = max(jitterMax, other.jitterMax)
    }
}

extension MediaEngine {
    /// A snapshot for the metrics, taken on the engine's loop at scrape time:
    /// the counters as they are, gauges counted now, loss and jitter summed
    /// over the streams now flowing, and the handshake times since the
    /// previous snapshot (taken: each is reported once).
    ///
    /// Work proportional to the participants, once per scrape; the packet
    /// path only bumps plain counters.
    public func metricsSnapshot() -> EngineSnapshot {
        var s = EngineSnapshot()
        s.counters = counters
        s.handshakes = handshakes.take()
        s.sessions = sessions.count
        for session in sessions.values {
            var rooms = Set<RoomID>()
            for member in session.table.members.values where member.room != .waiting { rooms.insert(member.room) }
            s.rooms += rooms.count
            s.participants += session.participants.count
            for p in session.participants.values {
                if p.srtp != nil { s.mediaConnected += 1 }
                for (kind, stream) in [(TrackKind.audio, p.audio), (.video, p.video)] {
                  for layer in stream?.layers ?? [] {
                    let stats = layer.stats
                    guard stats.expected > 0 else { continue }
                    let loss = max(0, Double(stats.cumulativeLost)) / Double(stats.expected)
                    s.quality[.init(.uplink, kind), default: StreamQuality()]
                        .add(loss: min(1, loss), jitter: Double(stats.jitter) / Double(stats.clockRate))
                  }
                }
                for kind in TrackKind.allCases {
                    for slot in p.subscriber[kind] where slot.isFilled {
                        guard let report = slot.lastReport else { continue }
                        s.quality[.init(.downlink, kind), default: StreamQuality()]
                            .add(loss: Double(report.fractionLost) / 256, jitter: Double(report.jitter) / Double(slot.clockRate))
                    }
                }
            }
        }
        return s
    }
}

/// One subscriber's downlink estimate, for logs and tests.
public struct DownlinkEstimate: Sendable, CustomStringConvertible {
    public var participant: ParticipantID
    /// Bits per second the estimator allows.
    public var target: Int
    /// Bits per second the subscriber received, over the last quarter second of feedback.
    public var acked: Int?
    /// Loss over the last second of feedback.
    public var loss: Double
    /// What the allocation would use, which probes aim at.
    public var wanted = 0
    /// Where a probe the path fell short of stops the estimate's increase.
    public var increaseLimit: Int?
    /// The last few probes measured (for logs).
    public var recentProbes: [ProbeRecord] = []
    /// Per filled video slot: its layer, and the layer it waits to move to (for logs).
    public var slots = ""

    public var description: String {
        "\(participant): target \(target / 1_000) kbit/s, acked \(acked.map { "\($0 / 1_000)" } ?? "-") kbit/s, loss \(Int(loss * 100)) %"
            + ", wanted \(wanted / 1_000) kbit/s"
            + (increaseLimit.map { ", increase limit \($0 / 1_000) kbit/s" } ?? "") + (slots.isEmpty ? "" : ", slots \(slots)")
            + (recentProbes.isEmpty ? "" : ", probes \(recentProbes.map(\.description).joined(separator: "; "))")
    }
}

extension MediaEngine {
    /// Every transport-cc subscriber's downlink estimate.
    public var downlinkEstimates: [DownlinkEstimate] {
        sessions.values.flatMap { session in
            session.participants.values.compactMap { p in
                p.subscriber.bandwidth.map {
                    DownlinkEstimate(participant: p.id, target: $0.target, acked: $0.ackedBitrate, loss: $0.lossFraction,
                                     wanted: $0.wanted, increaseLimit: $0.increaseLimit, recentProbes: $0.recentProbes,
                                     slots: p.subscriber.video.indices.filter { p.subscriber.video[$0].isFilled }.map { i in
                                         let slot = p.subscriber.video[i]
                                         let layer = slot.isPaused ? "paused" : slot.layer.map(String.init) ?? "-"
                                         let target = slot.targetLayer == Int.max ? "" : "->\(slot.targetLayer)"
                                         return "\(i):\(layer)\(target)"
                                     }.joined(separator: " "))
                }
            }
        }
    }
}
