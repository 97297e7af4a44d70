import Foundation
import GRDB
import PostgresNIO
import SFU

/// Where the records are kept: the embedded SQLite file (one server) or a
/// PostgreSQL database (several servers, or a clinic that runs one). Both
/// hold the same tables and answer the same reads, so `RecordWriter`, the
/// exports and `AttendanceReport`'s minutes do not know which it is.
///
/// Writes come from `RecordWriter`'s thread only; reads from any thread.
/// Every method blocks and must never run on an event loop.
public protocol RecordBackend: Sendable {
    /// The database as an operator names it, never with a password.
    var displayName: String { get }
    /// Applies `events` and moves the end of every open interval (of this
    /// server) to `nowMilliseconds`, in one transaction.
    func apply(_ events: [RecordEvent], nowMilliseconds: Int64) throws
    /// Closes the intervals a crash of this server left open, with a
    /// `server-crashed` leave at their last commit; returns how many participants.
    func closeAbandoned() throws -> Int
    /// Deletes events and closed intervals that ended before `cutoffMilliseconds`; returns the rows deleted.
    func deleteOlder(than cutoffMilliseconds: Int64) throws -> Int
    /// The intervals of `session` that overlap [from, to), by start.
    func intervals(session: String, from: Int64, to: Int64) throws -> [RecordedInterval]
    /// The events of `session` in [from, to), in time order.
    func events(session: String, from: Int64, to: Int64) throws -> [RecordedEvent]
    /// Lets go of connections after the last write (server shutdown).
    func close()
}

extension RecordBackend {
    /// Nothing to let go of (SQLite closes with the process).
    public func close() {}
}

/// Opens the records database that `--records` names.
public enum RecordsDatabase {
    /// For `cohort serve`: a `postgres://` or `postgresql://` URL connects to
    /// PostgreSQL, anything else is an SQLite file; creates and migrates the
    /// tables and proves a write. `node` names this server in a database
    /// that several share (its intervals and its crash recovery).
    public static func open(_ location: String, node: String) throws(RecordsError) -> any RecordBackend {
        if let url = try PostgresURL(parsing: location) {
            return try PostgresRecordStore(url: url, node: node)
        }
        return try RecordStore(path: location)
    }

    /// For `cohort records`: an existing database, read only.
    public static func openExisting(_ location: String) throws(RecordsError) -> any RecordBackend {
        if let url = try PostgresURL(parsing: location) {
            return try PostgresRecordStore(readingExisting: url)
        }
        return try RecordStore(readingExisting: location)
    }

    /// `location` as it may be logged: a URL without its password.
    public static func displayName(_ location: String) -> String {
        ((try? PostgresURL(parsing: location)) ?? nil)?.redacted ?? location
    }

    /// An error's reason for the operator and the log: SQLite's or
    /// PostgreSQL's message, never a query's bound values.
    static func reason(_ error: any Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e.resultCode)" }
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            if let underlying = e.underlying { return "\(e.code): \(underlying)" }
            return "\(e.code)"
        }
        if let e = error as? RecordsError { return e.description }
        return "\(error)"
    }
}
