import CohortClient
import DTLS
import Foundation
@testable import Records
import SFU
import Wire
import XCTest

/// Collects the engine's record events.
final class RecordCollector: MediaEngineDelegate, @unchecked Sendable {
    var records: [RecordEvent] = []
    func engine(record: RecordEvent) { records.append(record) }
    func engine(slotsChanged slots: [SlotAssignment], version: Int, participant: ParticipantID, session: String) {}
    func engine(rosterChanged roster: [RosterMember], room: RoomID, recipients: [ParticipantID], session: String) {}
    func engine(removed participant: ParticipantID, reason: RemovalReason, session: String) {}
    func engine(mediaConnected participant: ParticipantID, session: String) {}
    func engine(sessionChanged view: SessionView, recipient: ParticipantID, session: String) {}
    func engine(message: SessionMessage, recipients: [ParticipantID], session: String) {}
}

/// The scripted day of issue 15, point 8: through the real engine, the
/// SQLite store and the export, with a manual clock (an `Instant` per step).
final class AttendanceScenarioTests: XCTestCase {
    static let certificate = try! DTLSCertificate()
    /// 2026-12-01T09:00:00Z at the scenario's t = 0.
    static let nineAM: UInt64 = 1_796_115_600_000_000_000
    static let t0 = Instant(nanoseconds: 1_000_000_000)
    var t0: Instant { Self.t0 }

    static func minutes(_ m: Int64) -> Instant { t0 + .seconds(m * 60) }
    func minutes(_ m: Int64) -> Instant { Self.minutes(m) }

    func makeEngine(_ collector: RecordCollector) -> MediaEngine { Self.makeEngine(collector) }

    func join(_ engine: MediaEngine, _ name: String, role: Role, subject: String?, at now: Instant) throws -> ParticipantID {
        try Self.join(engine, name, role: role, subject: subject, at: now)
    }

    static func makeEngine(_ collector: RecordCollector) -> MediaEngine {
        let engine = MediaEngine(configuration: EngineConfiguration(
            certificate: Self.certificate, candidateHost: "127.0.0.1", candidatePort: 40000, maxSlots: 4,
            unixNanosecondsAtZero: Self.nineAM - t0.nanoseconds))
        engine.delegate = collector
        return engine
    }

    static func join(_ engine: MediaEngine, _ name: String, role: Role, subject: String?, at now: Instant) throws -> ParticipantID {
        let client = ClientParticipant(publishAudio: true, publishVideo: true, slots: 2, certificate: Self.certificate)
        return try engine.join(JoinRequest(sessionID: "iop-tue", room: .main, name: name, role: role,
                                           offer: client.offer.sdp, subject: subject), now: now).participantID
    }

    static func temporaryStore() throws -> RecordStore {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("records-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return try RecordStore(path: dir.appendingPathComponent("r.sqlite").path)
    }

    /// The scripted day's record events: a host and A join at t=0, A goes
    /// to a breakout at 10 min, is back at 20 min and leaves at 50 min; the
    /// host leaves at 60 min. Commit it at `scriptedDayEnd`.
    static func scriptedDay() throws -> [RecordEvent] {
        let collector = RecordCollector()
        let engine = makeEngine(collector)
        let host = try join(engine, "Dr. Rivera", role: .host, subject: "clinician-7", at: t0)
        let a = try join(engine, "Alex", role: .participant, subject: "client-42", at: t0)
        try engine.perform(.createRooms(names: ["Coping skills"]), by: host, now: minutes(9))
        try engine.perform(.assign([a: "r1"]), by: host, now: minutes(9))
        try engine.perform(.openRooms, by: host, now: minutes(10))
        try engine.perform(.broadcast("Five minutes left, please wrap up"), by: host, now: minutes(15))
        try engine.perform(.setMuted(a, true), by: host, now: minutes(16))
        try engine.perform(.closeRooms(countdownSeconds: 0), by: host, now: minutes(20))
        engine.remove(a, reason: .left, now: minutes(50))
        engine.remove(host, reason: .disconnected, now: minutes(60))
        return collector.records
    }

    static let scriptedDayEnd = Int64(nineAM / 1_000_000) + 60 * 60_000

    /// The rows the scripted day must give on every backend.
    static let scriptedDayRows = [
        AttendanceRow(session: "iop-tue", person: "client-42", name: "Alex", role: "participant", day: "2026-12-01",
                      minutesInSession: 50, minutesInMain: 40, minutesInBreakouts: 10, minutesAudioOn: 0, minutesVideoOn: 0),
        AttendanceRow(session: "iop-tue", person: "clinician-7", name: "Dr. Rivera", role: "host", day: "2026-12-01",
                      minutesInSession: 60, minutesInMain: 60, minutesInBreakouts: 0, minutesAudioOn: 0, minutesVideoOn: 0),
    ]

    /// A joins at t=0, goes to a breakout at 10 min, is back at 20 min and
    /// leaves at 50 min: 50 minutes attended, 40 in main, 10 in the breakout.
    func testScriptedDayGivesExactMinutes() throws {
        try Self.checkScriptedDay(on: try Self.temporaryStore())
    }

    /// Applies the scripted day to `store` and checks the exports (also
    /// PostgresRecordStoreTests: the same numbers on both backends).
    static func checkScriptedDay(on store: any RecordBackend, events: [RecordEvent]? = nil,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        try store.apply(try events ?? scriptedDay(), nowMilliseconds: scriptedDayEnd)
        let (from, to) = try AttendanceReport.range(from: "2026-12-01", to: "2026-12-01")
        let rows = AttendanceReport.rows(session: "iop-tue", intervals: try store.intervals(session: "iop-tue", from: from, to: to),
                                         from: from, to: to)
        XCTAssertEqual(rows, scriptedDayRows, file: file, line: line)
        let csv = try RecordsExport.render(.attendance, session: "iop-tue", from: nil, to: nil, format: .csv, store: store)
        XCTAssertEqual(csv.split(separator: "\n")[1], "iop-tue,client-42,Alex,participant,2026-12-01,50.0,40.0,10.0,0.0,0.0")

        // The audit trail: who did what to whom, in order; never the broadcast's text.
        let audit = try store.events(session: "iop-tue", from: from, to: to)
        XCTAssertEqual(audit.map(\.kind), ["join", "join", "create-rooms", "assign", "open-rooms", "broadcast", "mute",
                                           "close-rooms", "leave", "leave"])
        XCTAssertEqual(audit[3].person, "clinician-7")
        XCTAssertEqual(audit[3].targetPerson, "client-42")
        XCTAssertEqual(audit[3].detail, "r1")
        XCTAssertEqual(audit[2].detail, "r1", "room ids, not the names hosts typed")
        XCTAssertEqual(audit[6].targetName, "Alex")
        XCTAssertEqual(audit.suffix(2).map(\.reason), ["left", "disconnected"])
        XCTAssertEqual(RecordsExport.isoTime(audit[4].at), "2026-12-01T09:10:00.000Z")
        let everything = try RecordsExport.render(.audit, session: "iop-tue", from: nil, to: nil, format: .json, store: store)
            + RecordsExport.render(.audit, session: "iop-tue", from: nil, to: nil, format: .csv, store: store)
        XCTAssertFalse(everything.contains("wrap up"))
        XCTAssertFalse(everything.contains("Coping"))
    }

    /// Without a `sub`, a person is the participant id of that join; a
    /// waiting participant's time before admission is not attendance; a
    /// denied one leaves with `denied`.
    func testWaitingRoomAndAnonymousPeople() throws {
        let collector = RecordCollector()
        var config = EngineConfiguration(certificate: Self.certificate, candidateHost: "127.0.0.1", candidatePort: 40000,
                                         maxSlots: 4, waitingRoom: true, unixNanosecondsAtZero: Self.nineAM - t0.nanoseconds)
        config.lossRepair = true
        let engine = MediaEngine(configuration: config)
        engine.delegate = collector
        let host = try join(engine, "Host", role: .host, subject: nil, at: t0)
        let b = try join(engine, "Bo", role: .participant, subject: nil, at: t0)
        let c = try join(engine, "Cy", role: .participant, subject: "client-9", at: t0)
        try engine.perform(.admit(b), by: host, now: minutes(5))
        try engine.perform(.deny(c), by: host, now: minutes(6))
        engine.remove(b, reason: .consentExpired, now: minutes(35))
        let store = try Self.temporaryStore()
        try store.apply(collector.records, nowMilliseconds: Int64(Self.nineAM / 1_000_000) + 40 * 60_000)
        let rows = AttendanceReport.rows(session: "iop-tue", intervals: try store.intervals(session: "iop-tue", from: 0, to: .max / 2),
                                         from: 0, to: .max / 2)
        let bo = try XCTUnwrap(rows.first { $0.person == b })
        XCTAssertEqual(bo.minutesInSession, 30)
        XCTAssertNil(rows.first { $0.person == "client-9" }, "denied from the waiting room: no attended minutes")
        let events = try store.events(session: "iop-tue", from: 0, to: .max / 2)
        XCTAssertEqual(events.filter { $0.kind == "leave" }.map { "\($0.person):\($0.reason ?? "")" },
                       ["client-9:denied", "\(b):consent-expired"])
        XCTAssertEqual(events.first { $0.kind == "admit" }?.targetPerson, b)
        XCTAssertEqual(events.first { $0.kind == "deny" }?.targetPerson, "client-9")
        _ = host
    }

    /// Stopping the server records everyone still there as leaving with `server-shutdown`.
    func testShutdownRecordsLeaves() throws {
        let collector = RecordCollector()
        let engine = makeEngine(collector)
        _ = try join(engine, "Host", role: .host, subject: "h", at: t0)
        var transmits = TransmitQueue()
        engine.shutDown(now: minutes(3), transmits: &transmits)
        let leaves = collector.records.compactMap { e -> String? in
            if case .left(let p, let reason) = e.kind { return "\(p.key):\(reason)" } else { return nil }
        }
        XCTAssertEqual(leaves, ["h:server-shutdown"])
    }
}
