import Foundation
import GRDB
import SFU

/// Why the records database cannot be used, worded for the operator.
public enum RecordsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened, is not a Cohort records database, or is damaged.
    case cannotOpen(path: String, reason: String)
    /// The database could be opened but not written (read-only file or file system, full disk).
    case notWritable(path: String, reason: String)
    /// A date given for an export is not YYYY-MM-DD.
    case invalidDate(String)
    /// A `postgres://` URL that cannot be used (shown without its password).
    case invalidURL(String, reason: String)
    /// PostgreSQL could not be reached, refused the login, or its tables could
    /// not be created (the URL shown without its password).
    case cannotConnect(url: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open the records database \(path): \(reason). Move the file aside (or point --records elsewhere, "
                + "or run with --records off) and start again"
        case .notWritable(let path, let reason):
            return "cannot write the records database \(path): \(reason). Check the file system and permissions, "
                + "or run with --records off"
        case .invalidDate(let text):
            return "\"\(text)\" is not a date YYYY-MM-DD"
        case .invalidURL(let url, let reason):
            return "cannot use the records database URL \(url): \(reason)"
        case .cannotConnect(let url, let reason):
            return "cannot use the records database \(url): \(reason). Check that PostgreSQL runs and the URL, user and "
                + "password are right (or run with --records off) and start again"
        }
    }
}

/// The attendance and audit records in one SQLite file (WAL mode), through
/// GRDB. Two tables (docs/RECORDS.md has the schema):
///
/// - `event`: joins, leaves with their reason, and host actions with actor,
///   target and a detail that is never free text;
/// - `interval`: time in a room, with audio flowing and with video flowing,
///   per participant. While a participant is present its intervals are
///   `open`, and every commit (at least once a second) moves their end to
///   the commit's time, so a `kill -9` loses at most the last second.
///
/// Only `RecordWriter`'s thread writes; exports read concurrently (WAL).
/// `PostgresRecordStore` is the same for PostgreSQL.
public final class RecordStore: RecordBackend {
    /// The database file.
    public let path: String
    let writer: any DatabaseWriter

    /// Opens (creating if needed) and migrates the database at `path`, and
    /// checks it can be written. Throws `RecordsError` with a clear reason.
    public init(path: String) throws(RecordsError) {
        self.path = path
        var config = Configuration()
        config.label = "cohort-records"
        config.busyMode = .timeout(5)
        do {
            writer = try DatabasePool(path: path, configuration: config)
        } catch {
            throw .cannotOpen(path: path, reason: Self.reason(error))
        }
        do {
            _ = try writer.read { db in try Int.fetchOne(db, sql: "PRAGMA schema_version") }
            try Self.migrator.migrate(writer)
        } catch {
            throw .cannotOpen(path: path, reason: Self.reason(error))
        }
        do {
            // A write at every start: proves the file is writable now, not at the first event.
            try writer.write { db in
                try db.execute(sql: "INSERT INTO server_start (at_ms) VALUES (?)",
                               arguments: [Int64(Date().timeIntervalSince1970 * 1000)])
            }
        } catch {
            throw .notWritable(path: path, reason: Self.reason(error))
        }
    }

    /// Opens an existing database for exports only (`cohort records`).
    public init(readingExisting path: String) throws(RecordsError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw .cannotOpen(path: path, reason: "no such file")
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        do {
            writer = try DatabaseQueue(path: path, configuration: config)
            let applied = try writer.read { db in try Self.migrator.appliedIdentifiers(db) }
            guard applied.contains("v1") else { throw RecordsError.cannotOpen(path: path, reason: "not a Cohort records database") }
        } catch let e as RecordsError {
            throw e
        } catch {
            throw .cannotOpen(path: path, reason: Self.reason(error))
        }
    }

    /// The file's path.
    public var displayName: String { path }

    static func reason(_ error: any Error) -> String { RecordsDatabase.reason(error) }

    /// The schema, one migration per change; never edit a shipped migration.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE server_start (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_ms INTEGER NOT NULL
                );
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_ms INTEGER NOT NULL,
                    session TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    reason TEXT,
                    person TEXT NOT NULL,
                    participant TEXT NOT NULL,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL,
                    target_person TEXT,
                    target_participant TEXT,
                    target_name TEXT,
                    target_role TEXT,
                    detail TEXT
                );
                CREATE INDEX event_session_at ON event (session, at_ms);
                CREATE INDEX event_at ON event (at_ms);
                CREATE TABLE interval (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    session TEXT NOT NULL,
                    person TEXT NOT NULL,
                    participant TEXT NOT NULL,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('room', 'audio', 'video')),
                    room TEXT,
                    start_ms INTEGER NOT NULL,
                    end_ms INTEGER NOT NULL,
                    open INTEGER NOT NULL DEFAULT 1
                );
                CREATE INDEX interval_session_start ON interval (session, start_ms);
                CREATE INDEX interval_end ON interval (end_ms);
                CREATE INDEX interval_open ON interval (participant) WHERE open = 1;
                """)
        }
        return m
    }

    // MARK: Writing (the writer thread only)

    /// Applies `events` and moves the end of every open interval to
    /// `nowMilliseconds`, in one transaction.
    public func apply(_ events: [RecordEvent], nowMilliseconds: Int64) throws {
        try writer.write { db in
            for e in events { try Self.apply(e, db) }
            try db.execute(sql: "UPDATE interval SET end_ms = max(end_ms, ?) WHERE open = 1", arguments: [nowMilliseconds])
        }
    }

    private static func apply(_ e: RecordEvent, _ db: Database) throws {
        for step in RecordStep.steps(e) {
            switch step {
            case .insertEvent(let kind, let p, let reason, let target, let detail):
                try db.execute(sql: """
                    INSERT INTO event (at_ms, session, kind, reason, person, participant, name, role,
                                       target_person, target_participant, target_name, target_role, detail)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [e.unixMilliseconds, e.session, kind, reason, p.key, p.participant, p.name, p.role.rawValue,
                                     target?.key, target?.participant, target?.name, target?.role.rawValue, detail])
            case .closeIntervals(let p, let kind):
                try db.execute(sql: """
                    UPDATE interval SET end_ms = max(start_ms, ?), open = 0
                    WHERE open = 1 AND participant = ? AND session = ? AND (? IS NULL OR kind = ?)
                    """, arguments: [e.unixMilliseconds, p.participant, e.session, kind, kind])
            case .openInterval(let p, let kind, let room):
                try db.execute(sql: """
                    INSERT INTO interval (session, person, participant, name, role, kind, room, start_ms, end_ms, open)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
                    """, arguments: [e.session, p.key, p.participant, p.name, p.role.rawValue, kind, room,
                                     e.unixMilliseconds, e.unixMilliseconds])
            }
        }
    }

    /// After a crash (`kill -9`, power loss) intervals stay open: close them
    /// at their last heartbeat and record a leave with reason `server-crashed`.
    /// Returns how many participants that concerned.
    @discardableResult
    public func closeAbandoned() throws -> Int {
        try writer.write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT session, person, participant, name, role, max(end_ms) AS at_ms
                FROM interval WHERE open = 1 GROUP BY session, participant
                """)
            for r in rows {
                try db.execute(sql: """
                    INSERT INTO event (at_ms, session, kind, reason, person, participant, name, role)
                    VALUES (?, ?, 'leave', 'server-crashed', ?, ?, ?, ?)
                    """, arguments: [r["at_ms"] as Int64, r["session"] as String, r["person"] as String,
                                     r["participant"] as String, r["name"] as String, r["role"] as String])
            }
            try db.execute(sql: "UPDATE interval SET open = 0 WHERE open = 1")
            return rows.count
        }
    }

    /// Deletes events and closed intervals that ended before `cutoffMilliseconds`.
    /// Returns the rows deleted.
    @discardableResult
    public func deleteOlder(than cutoffMilliseconds: Int64) throws -> Int {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM event WHERE at_ms < ?", arguments: [cutoffMilliseconds])
            var n = db.changesCount
            try db.execute(sql: "DELETE FROM interval WHERE open = 0 AND end_ms < ?", arguments: [cutoffMilliseconds])
            n += db.changesCount
            try db.execute(sql: "DELETE FROM server_start WHERE at_ms < ?", arguments: [cutoffMilliseconds])
            return n
        }
    }

    // MARK: Reading (any thread)

    /// The intervals of `session` that overlap [from, to).
    public func intervals(session: String, from: Int64, to: Int64) throws -> [RecordedInterval] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT person, participant, name, role, kind, room, start_ms, end_ms FROM interval
                WHERE session = ? AND start_ms < ? AND end_ms > ? ORDER BY start_ms, id
                """, arguments: [session, to, from]).map {
                RecordedInterval(person: $0["person"], participant: $0["participant"], name: $0["name"], role: $0["role"],
                                 kind: $0["kind"], room: $0["room"], start: $0["start_ms"], end: $0["end_ms"])
            }
        }
    }

    /// The events of `session` in [from, to), in time order.
    public func events(session: String, from: Int64, to: Int64) throws -> [RecordedEvent] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM event WHERE session = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms, id
                """, arguments: [session, from, to]).map {
                RecordedEvent(at: $0["at_ms"], session: $0["session"], kind: $0["kind"], reason: $0["reason"],
                              person: $0["person"], participant: $0["participant"], name: $0["name"], role: $0["role"],
                              targetPerson: $0["target_person"], targetParticipant: $0["target_participant"],
                              targetName: $0["target_name"], targetRole: $0["target_role"], detail: $0["detail"])
            }
        }
    }
}

/// One row of `interval`.
public struct RecordedInterval: Sendable, Equatable {
    public var person: String
    public var participant: String
    public var name: String
    public var role: String
    /// "room", "audio" or "video".
    public var kind: String
    /// For a room interval: "main", "waiting" or a breakout id.
    public var room: String?
    /// Unix milliseconds.
    public var start: Int64
    public var end: Int64

    /// Creates a row.
    public init(person: String, participant: String, name: String, role: String, kind: String, room: String?,
                start: Int64, end: Int64) {
        self.person = person
        self.participant = participant
        self.name = name
        self.role = role
        self.kind = kind
        self.room = room
        self.start = start
        self.end = end
    }
}

/// One row of `event`.
public struct RecordedEvent: Sendable, Equatable, Codable {
    /// Unix milliseconds.
    public var at: Int64
    public var session: String
    /// "join", "leave" or a host action ("move", "mute", ...).
    public var kind: String
    /// For a leave: why.
    public var reason: String?
    /// The person (for a host action: the actor): `sub`, else participant id.
    public var person: String
    public var participant: String
    public var name: String
    public var role: String
    public var targetPerson: String?
    public var targetParticipant: String?
    public var targetName: String?
    public var targetRole: String?
    /// A room id, a countdown, never free text.
    public var detail: String?
}
