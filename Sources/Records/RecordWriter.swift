import Foundation
import Logging
import SFU

/// Takes record events from the engines' loops and stores them on its own
/// thread, so writes never block the media path (ARCHITECTURE.md, "Records").
///
/// `submit` appends to a bounded queue under a lock and returns; it never
/// waits for the database. The writer thread wakes at least once a second,
/// takes everything queued and applies it in one transaction (which also
/// moves the end of every open interval to now), so a `kill -9` loses at
/// most about a second. A full queue drops the event, counts it
/// (`Counters.dropped`) and logs at most one line a second; a failed write
/// (full disk, I/O error) keeps the batch for the next attempt while the
/// queue has room, else counts its events as lost, and logs likewise.
public final class RecordWriter: @unchecked Sendable {
    /// What the writer has done, for logs, metrics and tests.
    public struct Counters: Sendable, Equatable {
        /// Events accepted into the queue.
        public var queued = 0
        /// Events dropped because the queue was full.
        public var dropped = 0
        /// Events stored.
        public var written = 0
        /// Events lost because their batch could not be written and the queue had no room to keep it.
        public var lost = 0
        /// Transactions that failed (each is retried with the next batch).
        public var failedWrites = 0
        /// Transactions committed.
        public var commits = 0
    }

    /// Events the queue holds at most (a few seconds of a very busy server).
    public let capacity: Int
    /// Longest time between commits.
    public let commitInterval: TimeInterval
    private let store: any RecordBackend
    private let logger: Logger
    /// Rows older than this many days are deleted at start and daily (nil: never).
    private let retentionDays: Int?
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: [RecordEvent] = []
    private var counters = Counters()
    private var stopping = false
    private var stopped = false
    private var lastDropLog: Date?
    private var lastFailureLog: Date?
    private var nextRetention = Date.distantPast

    /// Starts the writer thread for `store`: first closes intervals a crash
    /// left open and applies retention.
    public init(store: any RecordBackend, logger: Logger, retentionDays: Int?, capacity: Int = 100_000,
                commitInterval: TimeInterval = 1) {
        self.store = store
        self.logger = logger
        self.retentionDays = retentionDays
        self.capacity = capacity
        self.commitInterval = commitInterval
        pending.reserveCapacity(1_024)
        do {
            let abandoned = try store.closeAbandoned()
            if abandoned > 0 {
                logger.notice("records: closed the intervals of participants present when the server last stopped abruptly",
                              metadata: ["participants": "\(abandoned)"])
            }
        } catch {
            logger.error("records: could not close abandoned intervals", metadata: ["error": "\(RecordsDatabase.reason(error))"])
        }
        applyRetention(now: Date())
        let thread = Thread { [self] in run() }
        thread.name = "cohort-records"
        thread.start()
    }

    /// Queues `event`; never blocks on the database. Any thread.
    public func submit(_ event: RecordEvent) {
        condition.lock()
        guard pending.count < capacity, !stopping else {
            counters.dropped += 1
            let dropped = counters.dropped
            let log = lastDropLog.map { Date().timeIntervalSince($0) >= 1 } ?? true
            if log { lastDropLog = Date() }
            condition.unlock()
            if log {
                logger.error("records: queue full, event dropped", metadata: ["dropped": "\(dropped)", "capacity": "\(capacity)"])
            }
            return
        }
        pending.append(event)
        counters.queued += 1
        condition.unlock()
    }

    /// A snapshot of the counters.
    public var snapshot: Counters {
        condition.lock()
        defer { condition.unlock() }
        return counters
    }

    /// Writes what is queued and stops the thread (server shutdown).
    public func close() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func run() {
        var lastCommit = Date()
        while true {
            condition.lock()
            while !stopping && Date().timeIntervalSince(lastCommit) < commitInterval {
                _ = condition.wait(until: lastCommit.addingTimeInterval(commitInterval))
            }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            let finishing = stopping
            condition.unlock()

            let now = Date()
            lastCommit = now
            write(batch, now: now)
            if now >= nextRetention { applyRetention(now: now) }
            if finishing {
                store.close()
                condition.lock()
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }

    private func write(_ batch: [RecordEvent], now: Date) {
        do {
            try store.apply(batch, nowMilliseconds: Int64(now.timeIntervalSince1970 * 1000))
            condition.lock()
            counters.written += batch.count
            counters.commits += 1
            condition.unlock()
        } catch {
            condition.lock()
            counters.failedWrites += 1
            // Keep the batch, in order, ahead of what came since, while it fits.
            let kept = pending.count + batch.count <= capacity && !stopping
            if kept { pending.insert(contentsOf: batch, at: 0) } else { counters.lost += batch.count }
            let c = counters
            let log = lastFailureLog.map { now.timeIntervalSince($0) >= 1 } ?? true
            if log { lastFailureLog = now }
            condition.unlock()
            if log {
                logger.error("records: write failed", metadata: [
                    "error": "\(RecordsDatabase.reason(error))", "batch": "\(batch.count)", "kept": "\(kept)",
                    "failedWrites": "\(c.failedWrites)", "lost": "\(c.lost)", "dropped": "\(c.dropped)"])
            }
        }
    }

    private func applyRetention(now: Date) {
        nextRetention = now.addingTimeInterval(24 * 3600)
        guard let days = retentionDays else { return }
        let cutoff = Int64(now.timeIntervalSince1970 * 1000) - Int64(days) * 86_400_000
        do {
            let n = try store.deleteOlder(than: cutoff)
            if n > 0 { logger.notice("records: retention deleted old rows", metadata: ["rows": "\(n)", "days": "\(days)"]) }
        } catch {
            logger.error("records: retention failed", metadata: ["error": "\(RecordsDatabase.reason(error))"])
        }
    }
}
