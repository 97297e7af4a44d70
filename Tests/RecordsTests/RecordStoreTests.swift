import Foundation
import Logging
@testable import Records
import SFU
import XCTest

/// The database file: creation, bad files at start, crash recovery,
/// retention, the writer's queue, and the report arithmetic.
final class RecordStoreTests: XCTestCase {
    func temporaryPath() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("records-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("r.sqlite").path
    }

    let alex = RecordEvent.Person(participant: "pA", subject: "client-42", name: "Alex", role: .participant)

    func testCreatesAWALDatabaseAndReopensIt() throws {
        let path = try temporaryPath()
        _ = try RecordStore(path: path)
        let again = try RecordStore(path: path)
        let mode = try again.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        XCTAssertEqual(mode, "wal")
        XCTAssertNoThrow(try RecordStore(readingExisting: path))
    }

    func testACorruptFileIsRefusedWithAClearError() throws {
        let path = try temporaryPath()
        try Data(repeating: 0x5A, count: 8_192).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RecordStore(path: path)) { error in
            guard case RecordsError.cannotOpen(let p, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue("\(error)".contains("--records off"), "\(error)")
        }
    }

    func testAnotherSQLiteDatabaseIsNotExported() throws {
        let path = try temporaryPath()
        XCTAssertThrowsError(try RecordStore(readingExisting: path), "missing file")
        let other = try GRDBFixture.otherDatabase(at: path)
        _ = other
        XCTAssertThrowsError(try RecordStore(readingExisting: path)) { error in
            XCTAssertTrue("\(error)".contains("not a Cohort records database"), "\(error)")
        }
    }

    /// After `kill -9`, open intervals end at the last commit and the person leaves with `server-crashed`.
    func testAbandonedIntervalsAreClosedAtTheLastHeartbeat() throws {
        let path = try temporaryPath()
        let store = try RecordStore(path: path)
        try store.apply([RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .joined(alex)),
                         RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .room(alex, .main)),
                         RecordEvent(unixMilliseconds: 2_000, session: "s", kind: .flow(alex, .audio, true))],
                        nowMilliseconds: 5_000)
        try store.apply([], nowMilliseconds: 61_000)  // heartbeats; then the process dies
        let reopened = try RecordStore(path: path)
        XCTAssertEqual(try reopened.closeAbandoned(), 1)
        XCTAssertEqual(try reopened.closeAbandoned(), 0)
        let rows = AttendanceReport.rows(session: "s", intervals: try reopened.intervals(session: "s", from: 0, to: 100_000),
                                         from: 0, to: 100_000)
        XCTAssertEqual(rows.first?.minutesInSession, 1.0)
        XCTAssertEqual(rows.first?.minutesAudioOn, 1.0)  // 59 s, to a tenth of a minute
        let leave = try reopened.events(session: "s", from: 0, to: 100_000).last
        XCTAssertEqual(leave?.kind, "leave")
        XCTAssertEqual(leave?.reason, "server-crashed")
        XCTAssertEqual(leave?.at, 61_000)
    }

    func testRetentionDeletesOldClosedRowsOnly() throws {
        let store = try RecordStore(path: try temporaryPath())
        try store.apply([RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .joined(alex)),
                         RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .room(alex, .main)),
                         RecordEvent(unixMilliseconds: 3_000, session: "s", kind: .left(alex, reason: "left")),
                         RecordEvent(unixMilliseconds: 9_000, session: "s", kind: .joined(alex)),
                         RecordEvent(unixMilliseconds: 9_000, session: "s", kind: .room(alex, .main))],
                        nowMilliseconds: 9_000)
        XCTAssertEqual(try store.deleteOlder(than: 5_000), 3)
        XCTAssertEqual(try store.events(session: "s", from: 0, to: 99_999).count, 1)
        XCTAssertEqual(try store.intervals(session: "s", from: 0, to: 99_999).count, 1)
    }

    /// A full queue drops and counts; nothing blocks; close writes what was queued.
    func testAFullQueueCountsWhatItDrops() throws {
        let store = try RecordStore(path: try temporaryPath())
        let writer = RecordWriter(store: store, logger: Logger(label: "test"), retentionDays: nil, capacity: 2,
                                  commitInterval: 3_600)
        for _ in 0..<5 { writer.submit(RecordEvent(unixMilliseconds: 1, session: "s", kind: .joined(alex))) }
        XCTAssertEqual(writer.snapshot.dropped, 3)
        writer.close()
        XCTAssertEqual(writer.snapshot.written, 2)
        XCTAssertEqual(try store.events(session: "s", from: 0, to: 10).count, 2)
        writer.submit(RecordEvent(unixMilliseconds: 1, session: "s", kind: .joined(alex)))
        XCTAssertEqual(writer.snapshot.dropped, 4, "after close, events are counted as dropped")
    }

    func testDaysSplitAtUTCMidnightAndOverlapsCountOnce() throws {
        let day: Int64 = 86_400_000
        let start = 20_423 * day + 23 * 3_600_000 + 30 * 60_000  // 2025-12-01 23:30Z
        func room(_ s: Int64, _ e: Int64, _ room: String = "main") -> RecordedInterval {
            RecordedInterval(person: "x", participant: "p", name: "X", role: "participant", kind: "room", room: room, start: s, end: e)
        }
        let rows = AttendanceReport.rows(session: "s", intervals: [
            room(start, start + 60 * 60_000),
            room(start + 10 * 60_000, start + 20 * 60_000),  // a second device, overlapping
            room(start - 10 * 60_000, start, "waiting"),
        ], from: 0, to: .max / 2)
        XCTAssertEqual(rows.map(\.day), ["2025-12-01", "2025-12-02"])
        XCTAssertEqual(rows.map(\.minutesInSession), [30, 30])
    }

    func testMediaCountsOnlyWhileInSession() {
        func span(_ kind: String, _ room: String?, _ s: Int64, _ e: Int64) -> RecordedInterval {
            RecordedInterval(person: "x", participant: "p", name: "X", role: "participant", kind: kind, room: room,
                             start: s * 60_000, end: e * 60_000)
        }
        let rows = AttendanceReport.rows(session: "s", intervals: [
            span("room", "waiting", 0, 5), span("room", "main", 5, 20), span("room", "r1", 20, 30),
            span("audio", nil, 0, 25), span("video", nil, 10, 40),
        ], from: 0, to: .max / 2)
        XCTAssertEqual(rows.map(\.minutesInSession), [25])
        XCTAssertEqual(rows.map(\.minutesAudioOn), [20], "not the 5 minutes in the waiting room")
        XCTAssertEqual(rows.map(\.minutesVideoOn), [20], "not after leaving")
    }

    func testDates() {
        XCTAssertEqual(AttendanceReport.dayNumber("1970-01-01"), 0)
        XCTAssertEqual(AttendanceReport.dayNumber("2024-02-29"), 19_782)
        for bad in ["2026-02-30", "2026-13-01", "26-01-01", "2026-1-1", "yesterday", ""] {
            XCTAssertNil(AttendanceReport.dayNumber(bad), bad)
        }
        XCTAssertThrowsError(try AttendanceReport.range(from: "2026-02-30", to: nil))
        XCTAssertEqual(RecordsExport.isoTime(0), "1970-01-01T00:00:00.000Z")
    }

    func testCSVQuotesAndDefusesFormulas() {
        XCTAssertEqual(RecordsExport.csv("Smith, J"), "\"Smith, J\"")
        XCTAssertEqual(RecordsExport.csv("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"")
        XCTAssertEqual(RecordsExport.csv(nil), "")
    }
}
