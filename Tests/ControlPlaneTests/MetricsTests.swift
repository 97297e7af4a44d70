import CohortClient
@testable import ControlPlane
import DTLS
import NIOCore
import NIOEmbedded
import NIOPosix
@testable import SFU
import Telemetry
import Tokens
import Wire
import XCTest
@testable import cohort

/// The Prometheus exposition built from engine snapshots, the join outcomes
/// by reason, `/readyz`, and `/metrics` on or off the public listener.
final class MetricsTests: XCTestCase {
    private func sample(audio: Int, video: Int, participants: Int, busy: UInt64, handshakes: [TimeSpan] = []) -> LoopSample {
        var e = EngineSnapshot()
        e.counters.audioPacketsForwarded = audio
        e.counters.videoPacketsForwarded = video
        e.participants = participants
        e.sessions = 1
        e.rooms = 1
        var times = HandshakeTimes()
        for t in handshakes { times.record(.dtls, t) }
        e.handshakes = times
        var q = StreamQuality()
        q.add(loss: 0.1, jitter: 0.004)
        q.add(loss: 0.3, jitter: 0.002)
        e.quality[.init(.uplink, .audio)] = q
        return LoopSample(engine: e, busyNanoseconds: busy)
    }

    private func lines(_ metrics: CohortMetrics) -> Set<String> {
        Set(String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self).split(separator: "\n").map(String.init))
    }

    func testExpositionSumsLoopsAndCountersOnlyGrow() {
        let joins = JoinOutcomes()
        let metrics = CohortMetrics(gather: { $0.makeSucceededFuture([]) }, joins: joins,
                                    process: { ProcessUsage(cpuSeconds: 1.5, residentBytes: 4_096) })
        metrics.update([sample(audio: 10, video: 100, participants: 2, busy: 500_000_000, handshakes: [.milliseconds(30)]),
                        sample(audio: 20, video: 0, participants: 3, busy: 0)])
        var out = lines(metrics)
        XCTAssertTrue(out.contains(#"cohort_forwarded_packets_total{kind="audio"} 30.0"#), "\(out.sorted())")
        XCTAssertTrue(out.contains(#"cohort_forwarded_packets_total{kind="video"} 100.0"#))
        XCTAssertTrue(out.contains("cohort_participants 5.0"))
        XCTAssertTrue(out.contains("cohort_sessions 2.0"))
        XCTAssertTrue(out.contains("cohort_isolation_refusals_total 0"), "\(out.filter { $0.contains("isolation") })")
        XCTAssertTrue(out.contains(#"cohort_loop_busy_seconds_total{loop="0"} 0.5"#))
        XCTAssertTrue(out.contains("process_cpu_seconds_total 1.5"))
        XCTAssertTrue(out.contains("process_resident_memory_bytes 4096.0"))
        // Fixed buckets: 30 ms is above 25 ms and within 50 ms.
        XCTAssertTrue(out.contains(#"cohort_handshake_seconds_bucket{phase="dtls",le="0.025"} 0"#), "\(out.filter { $0.contains("handshake") }.sorted())")
        XCTAssertTrue(out.contains(#"cohort_handshake_seconds_bucket{phase="dtls",le="0.05"} 1"#))
        XCTAssertTrue(out.contains(#"cohort_handshake_seconds_count{phase="dtls"} 1"#))
        XCTAssertTrue(out.contains(#"cohort_stream_loss_ratio{direction="uplink",kind="audio",stat="max"} 0.3"#))
        XCTAssertTrue(out.contains(#"cohort_stream_loss_ratio{direction="uplink",kind="audio",stat="mean"} 0.2"#))
        XCTAssertTrue(out.contains(#"cohort_streams{direction="uplink",kind="audio"} 4.0"#))

        // The engines' totals grow; the exported counters follow by the difference, per loop.
        joins.refused(.tokenExpired)
        joins.refused(.tokenExpired)
        joins.admitted()
        metrics.update([sample(audio: 15, video: 100, participants: 1, busy: 600_000_000),
                        sample(audio: 21, video: 7, participants: 0, busy: 0)])
        out = lines(metrics)
        XCTAssertTrue(out.contains(#"cohort_forwarded_packets_total{kind="audio"} 36.0"#), "\(out.sorted())")
        XCTAssertTrue(out.contains(#"cohort_forwarded_packets_total{kind="video"} 107.0"#))
        XCTAssertTrue(out.contains("cohort_participants 1.0"))
        XCTAssertTrue(out.contains(#"cohort_handshake_seconds_count{phase="dtls"} 1"#), "taken handshakes are not counted twice")
        XCTAssertTrue(out.contains(#"cohort_join_failures_total{reason="token-expired"} 2.0"#))
        XCTAssertTrue(out.contains("cohort_joins_total 1.0"))

        // A scrape that gathered before the previous one but updates after it (two scrapers at once)
        // counts nothing, and the next one counts only what is new.
        metrics.update([sample(audio: 12, video: 100, participants: 1, busy: 600_000_000),
                        sample(audio: 21, video: 7, participants: 0, busy: 0)])
        metrics.update([sample(audio: 16, video: 100, participants: 1, busy: 600_000_000),
                        sample(audio: 21, video: 7, participants: 0, busy: 0)])
        out = lines(metrics)
        XCTAssertTrue(out.contains(#"cohort_forwarded_packets_total{kind="audio"} 37.0"#), "\(out.sorted())")
    }

    /// The ICE-TCP listeners' counters, summed over loops: connections by
    /// outcome, closes by reason, and open connections by state.
    func testIceTCPCountersAreExported() {
        let metrics = CohortMetrics(gather: { $0.makeSucceededFuture([]) }, joins: JoinOutcomes(),
                                    process: { ProcessUsage(cpuSeconds: 0, residentBytes: 0) })
        func loop(accepted: Int, framing: Int, open: Int, unauthenticated: Int) -> LoopSample {
            var tcp = IceTCPCounters()
            tcp.accepted = accepted
            tcp.authenticationTimeouts = 3
            tcp.evicted = 2
            tcp.framingErrors = framing
            tcp.open = open
            tcp.unauthenticated = unauthenticated
            return LoopSample(engine: EngineSnapshot(), busyNanoseconds: 0, iceTCP: tcp)
        }
        metrics.update([loop(accepted: 10, framing: 1, open: 3, unauthenticated: 1), loop(accepted: 5, framing: 0, open: 1, unauthenticated: 0)])
        let out = lines(metrics)
        XCTAssertTrue(out.contains(#"cohort_ice_tcp_connections_total{outcome="accepted"} 15.0"#), "\(out.filter { $0.contains("ice_tcp") }.sorted())")
        XCTAssertTrue(out.contains(#"cohort_ice_tcp_closed_total{reason="authentication-timeout"} 6.0"#))
        XCTAssertTrue(out.contains(#"cohort_ice_tcp_closed_total{reason="evicted"} 4.0"#))
        XCTAssertTrue(out.contains(#"cohort_ice_tcp_closed_total{reason="framing"} 1.0"#))
        XCTAssertTrue(out.contains(#"cohort_ice_tcp_connections{state="authenticated"} 3.0"#))
        XCTAssertTrue(out.contains(#"cohort_ice_tcp_connections{state="unauthenticated"} 1.0"#))
    }

    func testMediaSocketDropsAreExportedSummedOverLoops() {
        let metrics = CohortMetrics(gather: { $0.makeSucceededFuture([]) }, joins: JoinOutcomes(),
                                    process: { ProcessUsage(cpuSeconds: 0, residentBytes: 0) })
        func loop(truncated: Int, full: Int) -> LoopSample {
            var udp = MediaSocketCounters()
            udp.truncated = truncated
            udp.sendBufferFull = full
            udp.sendRefused = 1
            return LoopSample(engine: EngineSnapshot(), busyNanoseconds: 0, socket: udp)
        }
        metrics.update([loop(truncated: 2, full: 7), loop(truncated: 1, full: 0)])
        let out = lines(metrics)
        XCTAssertTrue(out.contains(#"cohort_media_socket_dropped_total{reason="truncated"} 3.0"#), "\(out.filter { $0.contains("media_socket") }.sorted())")
        XCTAssertTrue(out.contains(#"cohort_media_socket_dropped_total{reason="send-buffer-full"} 7.0"#))
        XCTAssertTrue(out.contains(#"cohort_media_socket_dropped_total{reason="send-refused"} 2.0"#))
    }

    func testExpositionNamesNoPersonOrSession() throws {
        let certificate = try DTLSCertificate()
        let engine = MediaEngine(configuration: EngineConfiguration(certificate: certificate, candidateHost: "127.0.0.1",
                                                                    candidatePort: 40000))
        let client = ClientParticipant(publishAudio: true, publishVideo: true, slots: 4, certificate: certificate)
        let answer = try engine.join(SFU.JoinRequest(sessionID: "tuesday-dbt-group", room: RoomID("skills-room"),
                                                     name: "Alice Example", role: .participant, offer: client.offer.sdp,
                                                     identity: "sub:alice"), now: Instant(nanoseconds: 1))
        let metrics = CohortMetrics(gather: { $0.makeSucceededFuture([]) }, joins: JoinOutcomes())
        metrics.update([LoopSample(engine: engine.metricsSnapshot(), busyNanoseconds: 1)])
        let text = String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self)
        XCTAssertTrue(text.contains("cohort_participants 1.0"), text)
        for secret in ["tuesday", "skills-room", "Alice", "alice", answer.participantID] {
            XCTAssertFalse(text.contains(secret), secret)
        }
    }

    func testJoinRefusalsAreCountedByReason() {
        let signer = TokenSigner(secret: "metrics-test-secret-0123456789abcdef")
        let outcomes = JoinOutcomes()
        var m = SignalingStateMachine(signer: signer, requiredSessions: [], outcomes: outcomes)
        _ = m.receiveText(MessageCodec.encode(.join(ControlPlane.JoinRequest(id: "j", token: "not-a-token", name: nil, sdp: "v=0"))), now: 1_700_000_000)
        var ok = SignalingStateMachine(signer: signer, requiredSessions: [], outcomes: outcomes)
        let token = signer.mint(TokenClaims(session: "g", name: "N", role: .participant, expiresAt: 1_700_000_060,
                                            issuedAt: 1_700_000_000, subject: "n"))
        guard case .startJoin = ok.receiveText(MessageCodec.encode(.join(ControlPlane.JoinRequest(id: "j", token: token, name: nil, sdp: "v=0"))),
                                               now: 1_700_000_000) else { return XCTFail("a good token starts a join") }
        _ = ok.joinCompleted(.failure(SignalingError(code: ErrorCode(rawValue: "session-full"), message: "full")))
        guard case .startJoin = ok.receiveText(MessageCodec.encode(.join(ControlPlane.JoinRequest(id: "k", token: token, name: nil, sdp: "v=0"))),
                                               now: 1_700_000_000) else { return XCTFail("a refused join may be tried again") }
        _ = ok.joinCompleted(.success(JoinResult(participantId: "p", room: "main", answer: "a", slots: [:], roster: [])))
        let s = outcomes.snapshot
        XCTAssertEqual(s.admitted, 1)
        XCTAssertEqual(s.refused, ["token-invalid": 1, "session-full": 1])
    }

    func testReadiness() {
        let r = Readiness(recordsRequired: true)
        XCTAssertEqual(r.notReadyReason, "media sockets not bound yet")
        r.mediaBound()
        XCTAssertEqual(r.notReadyReason, "records store not open")
        r.recordsOpen(true)
        XCTAssertNil(r.notReadyReason)
        r.drain()
        XCTAssertEqual(r.notReadyReason, "draining: the server is shutting down")
        let noRecords = Readiness(recordsRequired: false)
        noRecords.mediaBound()
        XCTAssertNil(noRecords.notReadyReason)
    }

    func testReadyzAndMetricsOverHTTP() async throws {
        let readiness = Readiness(recordsRequired: false)
        let metrics = CohortMetrics(gather: { $0.makeSucceededFuture([]) }, joins: JoinOutcomes())
        let h = try await ServerHarness.start { $0.readiness = readiness; $0.metrics = metrics }
        var r = try await h.get("/readyz")
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual(r.body, "media sockets not bound yet\n")
        readiness.mediaBound()
        r = try await h.get("/readyz")
        XCTAssertEqual(r.status, 200)
        readiness.drain()
        r = try await h.get("/readyz")
        XCTAssertEqual(r.status, 503)
        let live = try await h.get("/healthz")
        XCTAssertEqual(live.status, 200, "liveness is not readiness")
        r = try await h.get("/metrics")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["content-type"], prometheusContentType)
        XCTAssertTrue(r.body.contains("cohort_participants 0.0"))
        try await h.stop()

        // Without a source on the public listener (off, or on its own listener): not found.
        let plain = try await ServerHarness.start()
        let absent = try await plain.get("/metrics")
        XCTAssertEqual(absent.status, 404)
        try await plain.stop()
    }

    func testOwnListenerServesOnlyMetrics() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let metrics = CohortMetrics(gather: { $0.makeSucceededFuture([]) }, joins: JoinOutcomes())
        let listener = MetricsListener(source: metrics, group: group, logger: .init(label: "test"))
        let address = try await listener.start(host: "127.0.0.1", port: 0)
        func get(_ path: String) async throws -> (status: Int, headers: [String: String], body: String) {
            RawHTTP.parse(try await RawHTTP.exchange("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                                     port: address.port!, group: group))
        }
        let ok = try await get("/metrics")
        XCTAssertEqual(ok.status, 200)
        XCTAssertTrue(ok.body.contains("# TYPE cohort_participants gauge"), ok.body)
        let other = try await get("/")
        XCTAssertEqual(other.status, 404)
        await listener.stop()
        try await group.shutdownGracefully()
    }

    func testMetricsOption() throws {
        func resolve(_ flag: String?, env: [String: String] = [:]) throws -> ServeSettings.MetricsPlacement {
            var inputs = ServeInputs(flags: ServeFlags(flag.map { ["metrics": $0] } ?? [:]), environment: env)
            return try ServeSettings.resolve(&inputs).metrics
        }
        XCTAssertEqual(try resolve(nil), .public)
        XCTAssertEqual(try resolve("off"), .off)
        XCTAssertEqual(try resolve(nil, env: ["COHORT_METRICS": "OFF"]), .off)
        XCTAssertEqual(try resolve("127.0.0.1:9464"), .listener(HostPort(host: "127.0.0.1", port: 9464)))
        XCTAssertEqual(try resolve("9464", env: ["COHORT_METRICS": "off"]), .listener(HostPort(host: "127.0.0.1", port: 9464)),
                       "the flag wins over the environment")
        XCTAssertThrowsError(try resolve("sometimes")) {
            XCTAssertEqual("\($0)", #"--metrics "sometimes" is not public (GET /metrics on the --http listener), off, or HOST:PORT of a listener of its own other than --http"#)
        }
        XCTAssertThrowsError(try resolve("127.0.0.1:8080"), "the public listener's own address")
    }

    /// The relay's scrape reads every media loop on its own loop: joins on
    /// two loops show up in one exposition, summed, and nothing names them.
    func testRelayGathersEveryLoop() async throws {
        let certificate = try DTLSCertificate()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let relay = MediaRelay(logger: .init(label: "test"))
        _ = try await relay.start(group: group, host: "127.0.0.1", port: 0, announce: "127.0.0.1", consentTimeout: 30,
                                  waitingRoom: false, certificate: certificate)
        for (session, name) in [("group-a", "Ann"), ("group-b", "Bob"), ("group-b", "Cy")] {
            let claims = TokenClaims(session: session, name: name, role: .participant, expiresAt: 2_000_000_000,
                                     issuedAt: 1_000_000_000, subject: name)
            let client = ClientParticipant(publishAudio: true, publishVideo: false, slots: 1, certificate: certificate)
            _ = try await relay.join(AuthorizedJoin(requestID: "1", claims: claims, displayName: name, offer: client.offer.sdp,
                                                    audioMode: nil),
                                     connection: ClientConnection(channel: NIOAsyncTestingChannel()))
        }
        let samples = try await relay.metricsSamples(on: group.next()).get()
        XCTAssertEqual(samples.count, 2, "one sample per media loop")
        XCTAssertEqual(samples.map(\.engine.sessions).sorted(), [1, 1], "the two sessions went to the two loops")
        let metrics = CohortMetrics(gather: relay.metricsSamples, joins: JoinOutcomes())
        let text = String(decoding: try await metrics.exposition(on: group.next()).get(), as: UTF8.self)
        XCTAssertTrue(text.contains("cohort_participants 3.0"), text)
        XCTAssertTrue(text.contains("cohort_sessions 2.0"))
        XCTAssertTrue(text.contains(#"cohort_loop_busy_seconds_total{loop="1"}"#))
        for secret in ["group-a", "group-b", "Ann", "Bob"] { XCTAssertFalse(text.contains(secret), secret) }
        await relay.stop()
        try await group.shutdownGracefully()
    }
}
