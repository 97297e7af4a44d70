import Foundation
@testable import Records
import SFU
import XCTest

/// The PostgreSQL backend against a throwaway cluster of its own
/// (`PostgresCluster`): the scripted day gives the same minutes as SQLite,
/// migrations run once, bad URLs and unreachable servers are named without
/// their password, writes fail while the server is down and succeed after,
/// and servers sharing a database recover only their own intervals.
final class PostgresRecordStoreTests: XCTestCase {
    nonisolated(unsafe) static var cluster: PostgresCluster?
    nonisolated(unsafe) static var databases = 0

    override class func setUp() {
        super.setUp()
        do { cluster = try PostgresCluster() } catch { XCTFail("cannot start PostgreSQL: \(error)") }
    }

    override class func tearDown() {
        cluster?.destroy()
        cluster = nil
        super.tearDown()
    }

    /// A new, empty database of the cluster.
    func freshDatabase() throws -> PostgresURL {
        let cluster = try XCTUnwrap(Self.cluster)
        Self.databases += 1
        let name = "t\(Self.databases)"
        try cluster.psql("CREATE DATABASE \(name)")
        return try cluster.url(database: name)
    }

    func person(_ participant: String, _ sub: String) -> RecordEvent.Person {
        RecordEvent.Person(participant: participant, subject: sub, name: sub.uppercased(), role: .participant)
    }

    func testScriptedDayGivesTheSameMinutesAndRowsAsSQLite() throws {
        let postgres = try PostgresRecordStore(url: try freshDatabase(), node: "n1")
        let sqlite = try AttendanceScenarioTests.temporaryStore()
        // The same events (participant ids are random per engine) into both.
        let events = try AttendanceScenarioTests.scriptedDay()
        try AttendanceScenarioTests.checkScriptedDay(on: postgres, events: events)
        try AttendanceScenarioTests.checkScriptedDay(on: sqlite, events: events)
        for (from, to) in [(Int64(0), Int64.max / 2), try AttendanceReport.range(from: "2026-12-01", to: "2026-12-01")] {
            XCTAssertEqual(try postgres.intervals(session: "iop-tue", from: from, to: to),
                           try sqlite.intervals(session: "iop-tue", from: from, to: to))
            XCTAssertEqual(try postgres.events(session: "iop-tue", from: from, to: to),
                           try sqlite.events(session: "iop-tue", from: from, to: to))
        }
        for report in [RecordsExport.Report.attendance, .audit] {
            for format in RecordsExport.Format.allCases {
                XCTAssertEqual(try RecordsExport.render(report, session: "iop-tue", from: nil, to: nil, format: format, store: postgres),
                               try RecordsExport.render(report, session: "iop-tue", from: nil, to: nil, format: format, store: sqlite))
            }
        }
        postgres.close()
    }

    func testTablesAreCreatedOnFirstStartAndMigratedOnce() throws {
        let url = try freshDatabase()
        XCTAssertThrowsError(try PostgresRecordStore(readingExisting: url)) { error in
            XCTAssertEqual((error as? RecordsError)?.description.contains("not a Cohort records database"), true, "\(error)")
        }
        try PostgresRecordStore(url: url, node: "n1").close()
        try PostgresRecordStore(url: url, node: "n1").close()
        let cluster = try XCTUnwrap(Self.cluster)
        XCTAssertEqual(try cluster.psql("SELECT version FROM schema_version", database: url.database), "v1\n")
        XCTAssertEqual(try cluster.psql("SELECT count(*) FROM server_start", database: url.database), "2\n")
        _ = try PostgresRecordStore(readingExisting: url)
    }

    func testUnreachableOrRefusedDatabaseIsNamedWithoutItsPassword() throws {
        let cluster = try XCTUnwrap(Self.cluster)
        // Nothing listens on the port after the cluster's (taken and closed by the helper's free-port probe).
        let nowhere = try PostgresURL(parsing: "postgres://cohort:hunter2-secret@127.0.0.1:1/records")!
        XCTAssertThrowsError(try PostgresRecordStore(url: nowhere, node: "n1")) { error in
            let text = (error as? RecordsError)?.description ?? "\(error)"
            XCTAssertTrue(text.contains("postgres://cohort@127.0.0.1:1/records"), text)
            XCTAssertFalse(text.contains("hunter2"), text)
        }
        let wrong = try cluster.url(password: "wrong-pass-99")
        XCTAssertThrowsError(try PostgresRecordStore(url: wrong, node: "n1")) { error in
            let text = (error as? RecordsError)?.description ?? "\(error)"
            XCTAssertTrue(text.contains("password authentication failed"), text)
            XCTAssertFalse(text.contains("wrong-pass-99"), text)
        }
    }

    func testWritesFailWhileTheServerIsDownAndSucceedOnceItIsBack() throws {
        let cluster = try XCTUnwrap(Self.cluster)
        let store = try PostgresRecordStore(url: try freshDatabase(), node: "n1")
        let a = person("p1", "client-a")
        try store.apply([RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .joined(a)),
                         RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .room(a, .main))], nowMilliseconds: 1_000)
        try cluster.stop()
        defer { try? cluster.start() }
        let left = RecordEvent(unixMilliseconds: 61_000, session: "s", kind: .left(a, reason: "left"))
        XCTAssertThrowsError(try store.apply([left], nowMilliseconds: 61_000))
        XCTAssertThrowsError(try store.apply([left], nowMilliseconds: 62_000), "no server: the reconnect fails too")
        try cluster.start()
        try store.apply([left], nowMilliseconds: 63_000)
        XCTAssertEqual(try store.events(session: "s", from: 0, to: .max / 2).map(\.kind), ["join", "leave"])
        XCTAssertEqual(try store.intervals(session: "s", from: 0, to: .max / 2).map(\.end), [61_000])
        store.close()
    }

    func testServersSharingADatabaseRecoverOnlyTheirOwnIntervals() throws {
        let url = try freshDatabase()
        let one = try PostgresRecordStore(url: url, node: "one")
        let two = try PostgresRecordStore(url: url, node: "two")
        let a = person("p1", "client-a"), b = person("p2", "client-b")
        try one.apply([RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .room(a, .main))], nowMilliseconds: 2_000)
        try two.apply([RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .room(b, .main))], nowMilliseconds: 3_000)
        // "one" restarts after a crash; "two" goes on and heartbeats only its own interval.
        one.close()
        let again = try PostgresRecordStore(url: url, node: "one")
        XCTAssertEqual(try again.closeAbandoned(), 1)
        try two.apply([], nowMilliseconds: 9_000)
        let intervals = try again.intervals(session: "s", from: 0, to: .max / 2)
        XCTAssertEqual(intervals.map { "\($0.person):\($0.end)" }, ["client-a:2000", "client-b:9000"])
        let crashed = try again.events(session: "s", from: 0, to: .max / 2).filter { $0.reason == "server-crashed" }
        XCTAssertEqual(crashed.map(\.person), ["client-a"])
        again.close()
        two.close()
    }

    func testRetentionDeletesOldRows() throws {
        let store = try PostgresRecordStore(url: try freshDatabase(), node: "n1")
        let a = person("p1", "client-a")
        try store.apply([RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .joined(a)),
                         RecordEvent(unixMilliseconds: 1_000, session: "s", kind: .room(a, .main)),
                         RecordEvent(unixMilliseconds: 5_000, session: "s", kind: .left(a, reason: "left"))],
                        nowMilliseconds: 6_000)
        XCTAssertEqual(try store.deleteOlder(than: 4_000), 1, "the join")
        XCTAssertEqual(try store.deleteOlder(than: 10_000), 2, "the leave and the closed interval")
        XCTAssertEqual(try store.events(session: "s", from: 0, to: .max / 2), [])
        store.close()
    }

    func testURLs() throws {
        XCTAssertNil(try PostgresURL(parsing: "/var/lib/cohort/records.sqlite"))
        XCTAssertNil(try PostgresURL(parsing: "records.sqlite"))
        let u = try XCTUnwrap(try PostgresURL(parsing: "postgresql://coh%40rt:p%3Ass@db.example:6543/rec?sslmode=require"))
        XCTAssertEqual(u.user, "coh@rt")
        XCTAssertEqual(u.password, "p:ss")
        XCTAssertEqual(u.host, "db.example")
        XCTAssertEqual(u.port, 6543)
        XCTAssertEqual(u.database, "rec")
        XCTAssertEqual(u.sslMode, .require)
        XCTAssertFalse(u.redacted.contains("p:ss") || u.redacted.contains("p%3Ass"))
        XCTAssertEqual(try PostgresURL(parsing: "postgres://u:50%2525@h")?.password, "50%25", "decoded once")
        let d = try XCTUnwrap(try PostgresURL(parsing: "postgres://cohort@localhost"))
        XCTAssertEqual([d.port, d.database == "cohort" ? 1 : 0], [5432, 1])
        XCTAssertEqual(d.sslMode, .prefer)
        for bad in ["postgres://user:secret-pw@/db", "postgres://:secret-pw@host/db", "postgres://u:secret-pw@h/db?sslmode=maybe",
                    "postgres://u:secret-pw@h/db?application_name=x"] {
            XCTAssertThrowsError(try PostgresURL(parsing: bad), bad) { error in
                XCTAssertFalse("\(error)".contains("secret-pw"), "\(error)")
            }
        }
    }
}
