import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Records

/// The session directory of several Cohort nodes in one PostgreSQL database
/// (`cohort serve --directory postgres://...`, docs/SCALE-OUT.md): this node's
/// row in `nodes`, refreshed by a heartbeat, and the `placements` that say
/// which node holds each session.
///
/// One connection, made (and made again after a failure) by the heartbeat
/// task only; `route` uses it when it is there and answers `unavailable`
/// when it is not, so a database outage never stalls a join for longer
/// than one query timeout. Every placement is one SQL statement, so two
/// nodes placing one session at once agree on the winner.
public actor PostgresDirectory {
    /// This node as the directory shows it to the others.
    public struct Node: Sendable, Equatable {
        /// Unique among the nodes (`--records-node`).
        public var id: String
        /// The WebSocket URL clients use to reach this node (`--public-url`).
        public var publicURL: String
        /// The media address, for operators reading the table.
        public var mediaAddress: String
        /// Participants this node takes at most (`--capacity`).
        public var capacity: Int

        /// Creates the node's description.
        public init(id: String, publicURL: String, mediaAddress: String, capacity: Int) {
            self.id = id
            self.publicURL = publicURL
            self.mediaAddress = mediaAddress
            self.capacity = capacity
        }
    }

    /// Where a join goes.
    public enum Route: Sendable, Equatable {
        /// Admit it here.
        case here
        /// Send the client to this WebSocket URL.
        case redirect(String)
        /// The directory cannot be asked now; try again after this many seconds.
        case unavailable(retryAfter: Int)
        /// No live node has room.
        case noCapacity
    }

    /// What the heartbeat reports: participants here now, and the sessions
    /// running here (their placements are never removed).
    public typealias LocalStatus = @Sendable () -> (participants: Int, sessions: [String])
    /// Told, at every heartbeat, the page origins of the live nodes (from
    /// their public URLs: `ws` → `http`, `wss` → `https`), so a browser that
    /// a `redirect` sends here from another node's page is let in.
    public typealias PeerPages = @Sendable (Set<String>) -> Void
    /// Told the sessions running here that the directory has placed on
    /// another node (this node was taken for dead): their calls must end here.
    public typealias LostSessions = @Sendable (Set<String>) -> Void

    /// The database, for logs (without its password).
    public nonisolated let displayName: String
    /// This node.
    public nonisolated let node: Node
    /// Liveness and choice rules.
    public nonisolated let policy: PlacementPolicy
    /// Time between heartbeats.
    public nonisolated let heartbeatInterval: Duration
    /// A placement of this node whose session has no participant here is
    /// removed after this long, so ended sessions stop counting as load
    /// (long enough for redirected clients to arrive: every join refreshes it).
    static let placementLinger: Double = 60
    /// Longest wait between attempts while the database is unreachable.
    static let maximumRetryDelay: Duration = .seconds(5)
    /// A query that has not answered by then closes the connection (a frozen server must not stall joins).
    static let queryTimeout: TimeAmount = .seconds(3)

    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    /// postgres-nio's own lines: not wanted (our errors say what failed).
    private let quiet = Logger(label: "cohort-directory-postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    private let status: LocalStatus
    private let peerPages: PeerPages?
    private let lostSessions: LostSessions?
    private var connection: PostgresConnection?
    private var connectionCount = 0
    /// When the last heartbeat was stored (this process's monotonic clock).
    private var lastHeartbeat: ContinuousClock.Instant?
    private var failures = 0
    private var heartbeatTask: Task<Void, Never>?

    /// Validates the URL; connects nothing (`start` does, and keeps trying).
    public init(url: PostgresURL, node: Node, deadAfter: Duration, heartbeatInterval: Duration = .seconds(1),
                logger: Logger, status: @escaping LocalStatus, peerPages: PeerPages? = nil,
                lostSessions: LostSessions? = nil) throws(RecordsError) {
        displayName = url.redacted
        self.node = node
        let (seconds, attoseconds) = deadAfter.components
        policy = PlacementPolicy(deadAfterMilliseconds: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        self.heartbeatInterval = heartbeatInterval
        configuration = try PostgresRecordStore.configuration(url)
        self.logger = logger
        self.status = status
        self.peerPages = peerPages
        self.lostSessions = lostSessions
    }

    /// Starts the heartbeat: connect, create the tables if missing, register,
    /// then refresh this node's row every `heartbeatInterval`. Failures are
    /// logged and retried with back-off; it never throws.
    public func start() {
        guard heartbeatTask == nil else { return }
        heartbeatTask = Task { await self.heartbeatLoop() }
    }

    /// Stops the heartbeat and leaves the directory: this node's row is
    /// marked dead and its placements removed, so the next join of each of
    /// its sessions is placed on another node at once (graceful shutdown).
    public func stop() async {
        heartbeatTask?.cancel()
        await heartbeatTask?.value
        heartbeatTask = nil
        guard let c = connection, !c.isClosed else { return }
        _ = try? await run(c, "UPDATE nodes SET heartbeat_at = NULL, load = 0 WHERE id = \(node.id)")
        _ = try? await run(c, "DELETE FROM placements WHERE node = \(node.id)")
        try? await c.close().get()
        connection = nil
    }

    /// Whether this node may admit more joins to a session running here
    /// without asking the directory: its last heartbeat is recent enough
    /// that no other node can have found it dead and taken the session over.
    public func mayServeRunningSessions() -> Bool {
        guard let lastHeartbeat else { return false }
        let age = ContinuousClock.now - lastHeartbeat
        return age < .milliseconds(policy.deadAfterMilliseconds)
    }

    /// Where a join of `session` goes: here, to another node, or nowhere now.
    public func route(_ session: String) async -> Route {
        guard let c = connection, !c.isClosed else { return .unavailable(retryAfter: retrySeconds) }
        do {
            // Held here already: refresh it (see `placementLinger`).
            let touched = try await run(c, """
                UPDATE placements SET placed_at = now() WHERE session = \(session) AND node = \(node.id) RETURNING node
                """)
            if !touched.rows.isEmpty { return .here }
            for _ in 0..<2 {
                let (nodes, now) = try await readNodes(c)
                let holder = try await run(c, "SELECT node FROM placements WHERE session = \(session)").rows.first
                    .map { try $0.decode(String.self) }
                switch policy.decide(holder: holder, me: node.id, nodes: nodes, now: now) {
                case .here: return .here
                case .redirect(_, let url): return .redirect(url)
                case .noLiveNode: return .noCapacity
                case .place(let target):
                    // Atomic: inserted, or taken over only from a holder that is dead right now
                    // (the rules of `PlacementPolicy.isLive`, in SQL).
                    let placed = try await run(c, """
                        INSERT INTO placements (session, node, placed_at) VALUES (\(session), \(target), now())
                        ON CONFLICT (session) DO UPDATE SET node = EXCLUDED.node, placed_at = EXCLUDED.placed_at
                        WHERE NOT EXISTS (
                            SELECT 1 FROM nodes h WHERE h.id = placements.node AND h.capacity > 0
                            AND h.control_url ~ '^[wW][sS][sS]?://[^/@#[:space:]]+(/[^#[:space:]]*)?$'
                            AND h.heartbeat_at BETWEEN now() - make_interval(secs => \(Double(policy.deadAfterMilliseconds) / 1000))
                                                   AND now() + make_interval(secs => \(Double(policy.deadAfterMilliseconds) / 1000)))
                        RETURNING node
                        """).rows.first.map { try $0.decode(String.self) }
                    guard let placed else { continue }  // a live node won the race: read again
                    if placed != holder {
                        logger.info("session placed", metadata: ["session": "\(session)", "node": "\(placed)",
                                                                 "previous": "\(holder ?? "none")"])
                    }
                    if placed == node.id { return .here }
                    if let url = nodes.first(where: { $0.id == placed })?.publicURL { return .redirect(url) }
                }
            }
            return .unavailable(retryAfter: 1)
        } catch {
            drop(c, error)
            return .unavailable(retryAfter: retrySeconds)
        }
    }

    // MARK: Heartbeat

    private var retrySeconds: Int {
        failures == 0 ? 1 : Int(min(Self.maximumRetryDelay, heartbeatInterval * (1 << min(failures, 6))).components.seconds)
    }

    private func heartbeatLoop() async {
        while !Task.isCancelled {
            var delay = heartbeatInterval
            do {
                try await beat()
                if failures > 0 {
                    logger.notice("directory reachable again", metadata: ["directory": "\(displayName)", "node": "\(node.id)"])
                }
                failures = 0
            } catch {
                failures += 1
                delay = min(Self.maximumRetryDelay, heartbeatInterval * (1 << min(failures, 6)))
                logger.error("directory unreachable: new sessions cannot be placed; running sessions go on",
                             metadata: ["directory": "\(displayName)", "node": "\(node.id)",
                                        "error": "\(Self.reason(error))", "retryIn": "\(delay.components.seconds) s"])
            }
            try? await Task.sleep(for: delay)
        }
    }

    /// One heartbeat: (re)connect if needed, store this node's row with the
    /// database's `now()`, and remove placements of sessions that ended here.
    private func beat() async throws {
        let c: PostgresConnection
        if let open = connection, !open.isClosed {
            c = open
        } else {
            connection = nil
            connectionCount += 1
            c = try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(),
                                                     configuration: configuration, id: connectionCount, logger: quiet).get()
            do {
                try await createTables(c)
            } catch {
                try? await c.close().get()
                throw error
            }
        }
        let (participants, sessions) = status()
        do {
            try await run(c, """
                INSERT INTO nodes (id, control_url, media_address, capacity, load, heartbeat_at)
                VALUES (\(node.id), \(node.publicURL), \(node.mediaAddress), \(node.capacity), \(participants), now())
                ON CONFLICT (id) DO UPDATE SET control_url = EXCLUDED.control_url, media_address = EXCLUDED.media_address,
                    capacity = EXCLUDED.capacity, load = EXCLUDED.load, heartbeat_at = EXCLUDED.heartbeat_at
                """)
            lastHeartbeat = ContinuousClock.now
            if connection == nil {
                connection = c
                logger.notice("directory", metadata: ["directory": "\(displayName)", "node": "\(node.id)",
                                                      "publicURL": "\(node.publicURL)", "capacity": "\(node.capacity)"])
            }
            if let lostSessions, !sessions.isEmpty {
                let lost = try await run(c, """
                    SELECT session FROM placements WHERE session = ANY(\(sessions)) AND node <> \(node.id)
                    """).rows.map { try $0.decode(String.self) }
                if !lost.isEmpty { lostSessions(Set(lost)) }
            }
            if let peerPages {
                let (nodes, now) = try await readNodes(c)
                peerPages(Set(nodes.filter { policy.isLive($0, now: now) }.compactMap { Self.pageOrigin(of: $0.publicURL) }))
            }
            try await run(c, """
                DELETE FROM placements WHERE node = \(node.id) AND NOT (session = ANY(\(sessions)))
                AND placed_at < now() - make_interval(secs => \(Self.placementLinger))
                """)
        } catch {
            if connection === c { drop(c, error) } else { let _: EventLoopFuture<Void> = c.close() }
            throw error
        }
    }

    private func createTables(_ c: PostgresConnection) async throws {
        try await run(c, "BEGIN")
        do {
            try await run(c, "SELECT pg_advisory_xact_lock(\(DirectorySchema.creationLock))")
            for sql in DirectorySchema.statements { try await run(c, PostgresQuery(unsafeSQL: sql)) }
            try await run(c, "COMMIT")
        } catch {
            _ = try? await run(c, "ROLLBACK")
            throw error
        }
    }

    /// Every node's row, and the database's clock, in one query.
    private func readNodes(_ c: PostgresConnection) async throws -> ([NodeStatus], Int64) {
        let rows = try await run(c, """
            SELECT n.id, n.control_url, n.capacity, n.load,
                   (SELECT count(*) FROM placements p WHERE p.node = n.id),
                   (EXTRACT(EPOCH FROM n.heartbeat_at) * 1000)::int8, (EXTRACT(EPOCH FROM now()) * 1000)::int8
            FROM nodes n
            """).rows
        var now: Int64 = 0
        let nodes = try rows.map { r in
            let (id, url, capacity, load, sessions, beat, at) = try r.decode((String, String, Int, Int, Int, Int64?, Int64).self)
            now = at
            return NodeStatus(id: id, publicURL: url, capacity: capacity, load: load, sessions: sessions, heartbeatAt: beat)
        }
        return (nodes, now)
    }

    /// Forgets a connection that failed, unless the server only refused the statement.
    private func drop(_ c: PostgresConnection, _ error: any Error) {
        if let e = error as? PSQLError, e.code == .server, !c.isClosed { return }
        let _: EventLoopFuture<Void> = c.close()
        if connection === c { connection = nil }
    }

    /// Runs `query`, closing the connection if it has not answered in `queryTimeout`.
    @discardableResult
    private func run(_ c: PostgresConnection, _ query: PostgresQuery) async throws -> PostgresQueryResult {
        let result: EventLoopFuture<PostgresQueryResult> = c.query(query, logger: quiet)
        let timer = c.eventLoop.scheduleTask(in: Self.queryTimeout) { let _: EventLoopFuture<Void> = c.close() }
        defer { timer.cancel() }
        return try await result.get()
    }

    /// The origin of a page served by the node at WebSocket URL `url`: `ws://h:p/ws` → `http://h:p`.
    static func pageOrigin(of url: String) -> String? {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), let host = c.host else { return nil }
        let h = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let port = c.port.map { ":\($0)" } ?? ""
        switch scheme {
        case "ws": return "http://\(h)\(port)"
        case "wss": return "https://\(h)\(port)"
        default: return nil
        }
    }

    /// An error as the operator reads it: PostgreSQL's message, never a query's values.
    static func reason(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            if let underlying = e.underlying { return "\(e.code): \(underlying)" }
            return "\(e.code)"
        }
        return "\(error)"
    }
}
