import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SFU

/// The attendance and audit records in PostgreSQL (`--records postgres://...`),
/// through postgres-nio: the same tables and reads as `RecordStore`
/// (`PostgresRecordSchema`), for clinics that run several servers or keep
/// their records in a database server.
///
/// The writer's connection is kept open and made again when it breaks (the
/// database restarted, the network failed): a write that fails throws, and
/// `RecordWriter` keeps its events queued and tries again a second later.
/// Each export opens its own short connection, so it never sees the writer's
/// transaction half done. Every call blocks on a future and must run off the
/// event loops (the writer's thread, the HTTP thread pool, the CLI).
public final class PostgresRecordStore: RecordBackend, @unchecked Sendable {
    /// Where the database is.
    public let url: PostgresURL
    /// This server's name in a shared database.
    public let node: String
    private let configuration: PostgresConnection.Configuration
    private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    /// postgres-nio's own log lines: not wanted (our errors say what failed).
    private let quiet = Logger(label: "cohort-records-postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    /// A query that has not answered by then closes its connection (a
    /// frozen server or a dead network must not stall the writer for ever).
    static let queryTimeout: TimeAmount = .seconds(10)
    static let connectTimeout: TimeAmount = .seconds(3)
    /// Held through a write transaction.
    private let lock = NSLock()
    // Guarded by `lock`.
    private var connection: PostgresConnection?
    /// Whether the tables are known to exist (`prepare` committed). Guarded by `lock`.
    private var prepared = false
    private let idLock = NSLock()
    // Guarded by `idLock`.
    private var nextID = 0

    /// The database as an operator names it, without the password.
    public var displayName: String { url.redacted }

    /// Connects, creates or migrates the tables, and writes one row to prove
    /// it can. Throws `RecordsError.cannotConnect` naming the URL without its password.
    ///
    /// With `connectNow` false (scale-out, whose nodes must start while the
    /// database is down, docs/SCALE-OUT.md) nothing is connected here: the
    /// first write that reaches the database creates the tables, and until
    /// then `RecordWriter` keeps its events queued.
    public init(url: PostgresURL, node: String, connectNow: Bool = true) throws(RecordsError) {
        self.url = url
        self.node = node
        configuration = try Self.configuration(url)
        guard connectNow else { return }
        do {
            try transaction { _ in }
        } catch {
            throw .cannotConnect(url: url.redacted, reason: RecordsDatabase.reason(error))
        }
    }

    /// Creates or migrates the tables and notes this start, inside the first transaction.
    private func prepare(_ c: PostgresConnection) throws {
        try Self.run(c, "SELECT pg_advisory_xact_lock(\(PostgresRecordSchema.migrationLock))", quiet)
        try Self.run(c, PostgresQuery(unsafeSQL: PostgresRecordSchema.versionTable), quiet)
        let applied = Set(try Self.run(c, "SELECT version FROM schema_version", quiet).rows
            .map { try $0.decode(String.self) })
        for (version, statements) in PostgresRecordSchema.migrations where !applied.contains(version) {
            for sql in statements { try Self.run(c, PostgresQuery(unsafeSQL: sql), quiet) }
            try Self.run(c, "INSERT INTO schema_version (version, applied_at_ms) VALUES (\(version), \(Self.nowMilliseconds()))",
                         quiet)
        }
        try Self.run(c, "INSERT INTO server_start (at_ms, node) VALUES (\(Self.nowMilliseconds()), \(node))", quiet)
    }

    /// Connects for exports only (`cohort records`); the tables must exist.
    public init(readingExisting url: PostgresURL) throws(RecordsError) {
        self.url = url
        node = ""
        configuration = try Self.configuration(url)
        do {
            let versions = try read { c in
                try Self.run(c, "SELECT version FROM schema_version", quiet).rows.map { try $0.decode(String.self) }
            }
            guard versions.contains("v1") else { throw RecordsError.cannotOpen(path: url.redacted, reason: "not a Cohort records database") }
        } catch let e as RecordsError {
            throw e
        } catch let e as PSQLError where e.serverInfo?[.sqlState] == "42P01" {
            throw .cannotOpen(path: url.redacted, reason: "not a Cohort records database (no schema_version table)")
        } catch {
            throw .cannotConnect(url: url.redacted, reason: RecordsDatabase.reason(error))
        }
    }

    /// The connection settings for `url` (TLS as its `sslmode` asks, a short connect timeout).
    public static func configuration(_ url: PostgresURL) throws(RecordsError) -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch url.sslMode {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw .cannotConnect(url: url.redacted, reason: "TLS: \(error)")
        }
        var c = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                 database: url.database, tls: tls)
        c.options.connectTimeout = connectTimeout
        return c
    }

    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Connections

    private func connect() throws -> PostgresConnection {
        let id = idLock.withLock {
            nextID += 1
            return nextID
        }
        return try PostgresConnection.connect(on: group.any(), configuration: configuration, id: id, logger: quiet).wait()
    }

    /// Runs `query`, closing the connection if it has not answered in `queryTimeout`.
    @discardableResult
    private static func run(_ c: PostgresConnection, _ query: PostgresQuery, _ logger: Logger) throws -> PostgresQueryResult {
        let result = c.query(query, logger: logger)
        let timer = c.eventLoop.scheduleTask(in: queryTimeout) { let _: EventLoopFuture<Void> = c.close() }
        defer { timer.cancel() }
        return try result.wait()
    }

    /// `body` in one transaction on the writer's connection, made anew if it broke.
    private func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let c: PostgresConnection
        if let open = connection, !open.isClosed {
            c = open
        } else {
            connection = nil
            c = try connect()
            connection = c
        }
        do {
            try Self.run(c, "BEGIN", quiet)
            if !prepared { try prepare(c) }
            let result = try body(c)
            try Self.run(c, "COMMIT", quiet)
            prepared = true
            return result
        } catch {
            // An error from the server (a constraint, a full disk) leaves a
            // usable connection; anything else (closed, timed out) does not.
            if let e = error as? PSQLError, e.code == .server, !c.isClosed {
                _ = try? Self.run(c, "ROLLBACK", quiet)
            } else {
                let _: EventLoopFuture<Void> = c.close()
                connection = nil
            }
            throw error
        }
    }

    /// `body` on a connection of its own, closed after.
    private func read<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let c = try connect()  // never the writer's lock: an export does not wait for a commit
        defer { _ = try? c.close().wait() }
        return try body(c)
    }

    /// Closes the writer's connection (server shutdown, after the last write).
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        _ = try? connection?.close().wait()
        connection = nil
    }

    // MARK: Writing (the writer thread only)

    public func apply(_ events: [RecordEvent], nowMilliseconds: Int64) throws {
        try transaction { c in
            for e in events {
                for step in RecordStep.steps(e) { try apply(step, of: e, c) }
            }
            try Self.run(c, """
                UPDATE "interval" SET end_ms = GREATEST(end_ms, \(nowMilliseconds)) WHERE open AND node = \(node)
                """, quiet)
        }
    }

    private func apply(_ step: RecordStep, of e: RecordEvent, _ c: PostgresConnection) throws {
        let at = e.unixMilliseconds
        switch step {
        case .insertEvent(let kind, let p, let reason, let target, let detail):
            try Self.run(c, """
                INSERT INTO event (at_ms, session, kind, reason, person, participant, name, role,
                                   target_person, target_participant, target_name, target_role, detail)
                VALUES (\(at), \(e.session), \(kind), \(reason), \(p.key), \(p.participant), \(p.name), \(p.role.rawValue),
                        \(target?.key), \(target?.participant), \(target?.name), \(target?.role.rawValue), \(detail))
                """, quiet)
        case .closeIntervals(let p, .some(let kind)):
            try Self.run(c, """
                UPDATE "interval" SET end_ms = GREATEST(start_ms, \(at)), open = FALSE
                WHERE open AND node = \(node) AND participant = \(p.participant) AND session = \(e.session) AND kind = \(kind)
                """, quiet)
        case .closeIntervals(let p, nil):
            try Self.run(c, """
                UPDATE "interval" SET end_ms = GREATEST(start_ms, \(at)), open = FALSE
                WHERE open AND node = \(node) AND participant = \(p.participant) AND session = \(e.session)
                """, quiet)
        case .openInterval(let p, let kind, let room):
            try Self.run(c, """
                INSERT INTO "interval" (node, session, person, participant, name, role, kind, room, start_ms, end_ms, open)
                VALUES (\(node), \(e.session), \(p.key), \(p.participant), \(p.name), \(p.role.rawValue), \(kind), \(room),
                        \(at), \(at), TRUE)
                """, quiet)
        }
    }

    @discardableResult
    public func closeAbandoned() throws -> Int {
        try transaction { c in
            let rows = try Self.run(c, """
                SELECT session, person, participant, name, role, max(end_ms) FROM "interval"
                WHERE open AND node = \(node) GROUP BY session, participant, person, name, role
                """, quiet).rows
            for r in rows {
                let (session, person, participant, name, role, at) = try r.decode((String, String, String, String, String, Int64).self)
                try Self.run(c, """
                    INSERT INTO event (at_ms, session, kind, reason, person, participant, name, role)
                    VALUES (\(at), \(session), 'leave', 'server-crashed', \(person), \(participant), \(name), \(role))
                    """, quiet)
            }
            try Self.run(c, #"UPDATE "interval" SET open = FALSE WHERE open AND node = \#(node)"#, quiet)
            return rows.count
        }
    }

    @discardableResult
    public func deleteOlder(than cutoffMilliseconds: Int64) throws -> Int {
        try transaction { c in
            var n = try Self.run(c, "DELETE FROM event WHERE at_ms < \(cutoffMilliseconds)", quiet).metadata.rows ?? 0
            n += try Self.run(c, #"DELETE FROM "interval" WHERE NOT open AND end_ms < \#(cutoffMilliseconds)"#, quiet)
                .metadata.rows ?? 0
            try Self.run(c, "DELETE FROM server_start WHERE at_ms < \(cutoffMilliseconds)", quiet)
            return n
        }
    }

    // MARK: Reading (any thread but an event loop)

    public func intervals(session: String, from: Int64, to: Int64) throws -> [RecordedInterval] {
        try read { c in
            try Self.run(c, """
                SELECT person, participant, name, role, kind, room, start_ms, end_ms FROM "interval"
                WHERE session = \(session) AND start_ms < \(to) AND end_ms > \(from) ORDER BY start_ms, id
                """, quiet).rows.map { r in
                let (person, participant, name, role, kind, room, start, end) =
                    try r.decode((String, String, String, String, String, String?, Int64, Int64).self)
                return RecordedInterval(person: person, participant: participant, name: name, role: role, kind: kind,
                                        room: room, start: start, end: end)
            }
        }
    }

    public func events(session: String, from: Int64, to: Int64) throws -> [RecordedEvent] {
        try read { c in
            try Self.run(c, """
                SELECT at_ms, session, kind, reason, person, participant, name, role,
                       target_person, target_participant, target_name, target_role, detail
                FROM event WHERE session = \(session) AND at_ms >= \(from) AND at_ms < \(to) ORDER BY at_ms, id
                """, quiet).rows.map { r in
                let (at, session, kind, reason, person, participant, name, role, tp, tpart, tname, trole, detail) =
                    try r.decode((Int64, String, String, String?, String, String, String, String,
                                  String?, String?, String?, String?, String?).self)
                return RecordedEvent(at: at, session: session, kind: kind, reason: reason, person: person,
                                     participant: participant, name: name, role: role, targetPerson: tp,
                                     targetParticipant: tpart, targetName: tname, targetRole: trole, detail: detail)
            }
        }
    }
}
