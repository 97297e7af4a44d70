import ControlPlane
import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import SFU

/// One media loop's numbers at scrape time, read on that loop.
public struct LoopSample: Sendable {
    /// The engine's counters, gauges and new handshake times.
    public var engine: EngineSnapshot
    /// Time the loop spent handling datagram batches and timers so far.
    public var busyNanoseconds: UInt64
    /// The loop's ICE-TCP listener's counters (all zero when ICE-TCP is off).
    public var iceTCP: IceTCPCounters
    /// What the loop's UDP socket dropped on its own.
    public var socket: MediaSocketCounters

    /// Creates a sample.
    public init(engine: EngineSnapshot, busyNanoseconds: UInt64, iceTCP: IceTCPCounters = IceTCPCounters(),
                socket: MediaSocketCounters = MediaSocketCounters()) {
        self.engine = engine
        self.busyNanoseconds = busyNanoseconds
        self.iceTCP = iceTCP
        self.socket = socket
    }
}

/// `GET /metrics`: the engines' plain counters, read on their own loops at
/// scrape time, set into swift-metrics handles backed by a Prometheus
/// registry, then rendered in the text format.
///
/// The engines count on the packet path without locks or allocations
/// (`EngineCounters`); all the work here happens once per scrape. Engine
/// totals reach Prometheus counters as increments (the total now minus the
/// total at the previous scrape, per loop), so a counter never goes down.
/// Labels are aggregate kinds, directions, reasons and loop numbers only:
/// nothing names a person or a session (docs/OPERATIONS.md lists every metric).
public final class CohortMetrics: MetricsSource {
    /// The handshake histogram's upper bounds: ICE and DTLS on a LAN take
    /// tens of milliseconds, over a lossy mobile path seconds (DTLS retransmits after 1 s).
    static let handshakeBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
    ]

    /// Engine counters exported as Prometheus counters: name, labels, field.
    nonisolated(unsafe) static let engineCounters: [(name: String, labels: [(String, String)], value: KeyPath<EngineCounters, Int>)] = [
        ("cohort_forwarded_packets_total", [("kind", "audio")], \.audioPacketsForwarded),
        ("cohort_forwarded_packets_total", [("kind", "video")], \.videoPacketsForwarded),
        ("cohort_forwarded_packets_total", [("kind", "rtcp")], \.rtcpPacketsSent),
        ("cohort_forwarded_bytes_total", [("kind", "audio")], \.audioBytesForwarded),
        ("cohort_forwarded_bytes_total", [("kind", "video")], \.videoBytesForwarded),
        ("cohort_forwarded_bytes_total", [("kind", "rtcp")], \.rtcpBytesSent),
        ("cohort_retransmissions_total", [("direction", "sent")], \.retransmissionsSent),
        ("cohort_retransmissions_total", [("direction", "received")], \.rtxReceived),
        ("cohort_keyframe_requests_sent_total", [("type", "pli")], \.pliSent),
        ("cohort_keyframe_requests_sent_total", [("type", "fir")], \.firSent),
        ("cohort_keyframe_requests_received_total", [], \.keyframeRequestsReceived),
        ("cohort_nacks_total", [("direction", "sent")], \.nacksSent),
        ("cohort_nacks_total", [("direction", "received")], \.nacksReceived),
        ("cohort_nacked_packets_total", [], \.nackedPackets),
        ("cohort_transport_feedback_total", [("direction", "sent")], \.transportFeedbackSent),
        ("cohort_transport_feedback_total", [("direction", "received")], \.transportFeedbackReceived),
        ("cohort_packets_recovered_total", [], \.packetsRecovered),
        ("cohort_mixer_frames_total", [], \.mixerFrames),
        ("cohort_mixed_frames_sent_total", [], \.mixedFramesSent),
        ("cohort_isolation_refusals_total", [], \.isolationViolations),
        ("cohort_datagrams_total", [("direction", "in")], \.datagramsIn),
        ("cohort_datagrams_total", [("direction", "out")], \.datagramsOut),
        ("cohort_dropped_total", [("reason", "stun")], \.stunDropped),
        ("cohort_dropped_total", [("reason", "unknown-source")], \.unknownSourceDropped),
        ("cohort_dropped_total", [("reason", "unknown-kind")], \.unknownKindDropped),
        ("cohort_dropped_total", [("reason", "srtp-failed")], \.srtpFailed),
        ("cohort_dropped_total", [("reason", "malformed")], \.malformedMedia),
        ("cohort_dropped_total", [("reason", "unexpected-stream")], \.unexpectedStream),
        ("cohort_dropped_total", [("reason", "before-keys")], \.mediaBeforeKeys),
        ("cohort_dropped_total", [("reason", "duplicate")], \.duplicatesDropped),
        ("cohort_dropped_total", [("reason", "simulcast-unknown-rid")], \.simulcastUnknownRID),
        ("cohort_dropped_total", [("reason", "simulcast-missing-rid")], \.simulcastMissingRID),
        ("cohort_layer_switches_total", [], \.layerSwitches),
        ("cohort_paced_copies_held_total", [], \.pacedCopiesHeld),
        ("cohort_dropped_total", [("reason", "pacer-full")], \.pacedCopiesDropped),
        ("cohort_retransmissions_over_budget_total", [], \.retransmissionsOverBudget),
        ("cohort_ice_restarts_total", [("stage", "answered")], \.iceRestartsAnswered),
        ("cohort_ice_restarts_total", [("stage", "completed")], \.iceRestartsCompleted),
        ("cohort_dtls_restarts_total", [], \.dtlsRestarts),
    ]

    /// ICE-TCP counters exported as Prometheus counters: name, labels, field.
    nonisolated(unsafe) static let iceTCPCounters: [(name: String, labels: [(String, String)], value: KeyPath<IceTCPCounters, Int>)] = [
        ("cohort_ice_tcp_connections_total", [("outcome", "accepted")], \.accepted),
        ("cohort_ice_tcp_connections_total", [("outcome", "refused")], \.refused),
        ("cohort_ice_tcp_closed_total", [("reason", "evicted")], \.evicted),
        ("cohort_ice_tcp_closed_total", [("reason", "authentication-timeout")], \.authenticationTimeouts),
        ("cohort_ice_tcp_closed_total", [("reason", "idle")], \.idleTimeouts),
        ("cohort_ice_tcp_closed_total", [("reason", "framing")], \.framingErrors),
        ("cohort_ice_tcp_frames_total", [("direction", "in")], \.framesIn),
        ("cohort_ice_tcp_frames_total", [("direction", "out")], \.framesOut),
        ("cohort_ice_tcp_send_queue_drops_total", [], \.sendQueueDrops),
    ]

    /// The UDP socket's own drops: name, labels, field.
    nonisolated(unsafe) static let socketCounters: [(name: String, labels: [(String, String)], value: KeyPath<MediaSocketCounters, Int>)] = [
        ("cohort_media_socket_dropped_total", [("reason", "truncated")], \.truncated),
        ("cohort_media_socket_dropped_total", [("reason", "unknown-family")], \.unknownFamily),
        ("cohort_media_socket_dropped_total", [("reason", "send-refused")], \.sendRefused),
        ("cohort_media_socket_dropped_total", [("reason", "send-buffer-full")], \.sendBufferFull),
    ]

    /// The registry the handles write into and the exposition is rendered from.
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let gather: @Sendable (any EventLoop) -> EventLoopFuture<[LoopSample]>
    private let joins: JoinOutcomes
    private let process: @Sendable () -> ProcessUsage
    private let handles = NIOLockedValueBox(Handles())

    /// - Parameters:
    ///   - gather: reads every media loop's sample on its own loop.
    ///   - joins: the control plane's join outcomes.
    ///   - process: the process's CPU and memory (injected for tests).
    public init(gather: @escaping @Sendable (any EventLoop) -> EventLoopFuture<[LoopSample]>, joins: JoinOutcomes,
         process: @escaping @Sendable () -> ProcessUsage = ProcessUsage.current) {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = ["cohort_handshake_seconds": Self.handshakeBuckets]
        self.factory = factory
        self.gather = gather
        self.joins = joins
        self.process = process
    }

    /// Reads every loop, updates the metrics, renders the text.
    public func exposition(on eventLoop: any EventLoop) -> EventLoopFuture<[UInt8]> {
        gather(eventLoop).map { samples in
            self.update(samples)
            return self.registry.emitToBuffer()
        }
    }

    /// Sets every metric from `samples` and the current join counts and process usage.
    public func update(_ samples: [LoopSample]) {
        let joins = joins.snapshot
        let usage = process()
        handles.withLockedValue { h in
            h.factory = factory
            var sessions = 0, rooms = 0, participants = 0, connected = 0, dropped = 0, tcpOpen = 0, tcpUnauthenticated = 0
            var quality: [StreamQuality.Key: StreamQuality] = [:]
            for (loop, sample) in samples.enumerated() {
                let e = sample.engine
                for c in Self.engineCounters {
                    h.count(c.name, c.labels, total: Double(e.counters[keyPath: c.value]), key: "\(loop)")
                }
                for c in Self.iceTCPCounters {
                    h.count(c.name, c.labels, total: Double(sample.iceTCP[keyPath: c.value]), key: "\(loop)")
                }
                for c in Self.socketCounters {
                    h.count(c.name, c.labels, total: Double(sample.socket[keyPath: c.value]), key: "\(loop)")
                }
                tcpOpen += sample.iceTCP.open
                tcpUnauthenticated += sample.iceTCP.unauthenticated
                h.count("cohort_mixer_cpu_seconds_total", [], total: Double(e.counters.mixerCPUNanoseconds) / 1e9,
                        key: "\(loop)")
                h.count("cohort_loop_busy_seconds_total", [("loop", "\(loop)")], total: Double(sample.busyNanoseconds) / 1e9,
                        key: "\(loop)")
                for phase in HandshakeTimes.Phase.allCases {
                    let timer = h.timer("cohort_handshake_seconds", [("phase", phase.rawValue)])
                    for d in e.handshakes.durations(phase) { timer.recordNanoseconds(d.nanoseconds) }
                }
                dropped += e.handshakes.dropped
                sessions += e.sessions
                rooms += e.rooms
                participants += e.participants
                connected += e.mediaConnected
                for (key, q) in e.quality { quality[key, default: StreamQuality()].merge(q) }
            }
            h.add("cohort_handshake_observations_dropped_total", [], dropped)
            h.gauge("cohort_sessions", [], Double(sessions))
            h.gauge("cohort_rooms", [], Double(rooms))
            h.gauge("cohort_participants", [], Double(participants))
            h.gauge("cohort_participants_media_connected", [], Double(connected))
            h.gauge("cohort_ice_tcp_connections", [("state", "authenticated")], Double(tcpOpen - tcpUnauthenticated))
            h.gauge("cohort_ice_tcp_connections", [("state", "unauthenticated")], Double(tcpUnauthenticated))
            for direction in StreamQuality.Direction.allCases {
                for kind in TrackKind.allCases {
                    let q = quality[.init(direction, kind)] ?? StreamQuality()
                    let labels = [("direction", direction.rawValue), ("kind", kind.rawValue)]
                    let n = Double(max(1, q.streams))
                    h.gauge("cohort_streams", labels, Double(q.streams))
                    h.gauge("cohort_stream_loss_ratio", labels + [("stat", "mean")], q.lossSum / n)
                    h.gauge("cohort_stream_loss_ratio", labels + [("stat", "max")], q.lossMax)
                    h.gauge("cohort_stream_jitter_seconds", labels + [("stat", "mean")], q.jitterSum / n)
                    h.gauge("cohort_stream_jitter_seconds", labels + [("stat", "max")], q.jitterMax)
                }
            }
            h.count("cohort_joins_total", [], total: Double(joins.admitted), key: "")
            for (reason, n) in joins.refused {
                h.count("cohort_join_failures_total", [("reason", reason)], total: Double(n), key: "")
            }
            h.count("process_cpu_seconds_total", [], total: usage.cpuSeconds, key: "")
            h.gauge("process_resident_memory_bytes", [], Double(usage.residentBytes))
        }
    }

    /// The swift-metrics handles made so far and the totals last exported.
    private struct Handles: @unchecked Sendable {
        var factory: PrometheusMetricsFactory?
        var counters: [String: CoreMetrics.FloatingPointCounter] = [:]
        var gauges: [String: CoreMetrics.Gauge] = [:]
        var timers: [String: CoreMetrics.Timer] = [:]
        /// The total each counter had at the previous scrape, by counter and source (a loop).
        var last: [String: Double] = [:]

        static func key(_ name: String, _ labels: [(String, String)]) -> String {
            name + "{" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        }

        /// Moves counter `name{labels}` on by what `total` (one source's running total) grew since the last scrape.
        mutating func count(_ name: String, _ labels: [(String, String)], total: Double, key source: String) {
            let id = Self.key(name, labels)
            let counter = counters[id] ?? CoreMetrics.FloatingPointCounter(label: name, dimensions: labels, factory: factory!)
            counters[id] = counter
            let lastKey = id + "@" + source
            let grown = total - (last[lastKey] ?? 0)
            // Two scrapes at once may update out of order: an older total
            // (smaller) must neither count nor move `last` back, or the next
            // scrape would count the difference twice.
            guard grown > 0 else { return }
            last[lastKey] = total
            counter.increment(by: grown)
        }

        /// Moves counter `name{labels}` on by `amount`.
        mutating func add(_ name: String, _ labels: [(String, String)], _ amount: Int) {
            let id = Self.key(name, labels)
            let counter = counters[id] ?? CoreMetrics.FloatingPointCounter(label: name, dimensions: labels, factory: factory!)
            counters[id] = counter
            if amount > 0 { counter.increment(by: Double(amount)) }
        }

        mutating func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
            let id = Self.key(name, labels)
            let gauge = gauges[id] ?? CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory!)
            gauges[id] = gauge
            gauge.record(value)
        }

        mutating func timer(_ name: String, _ labels: [(String, String)]) -> CoreMetrics.Timer {
            let id = Self.key(name, labels)
            let timer = timers[id] ?? CoreMetrics.Timer(label: name, dimensions: labels, factory: factory!)
            timers[id] = timer
            return timer
        }
    }
}
