import Foundation

/// The two exports (`cohort records`, `GET /records/...`) as CSV or JSON.
public enum RecordsExport {
    /// Output formats.
    public enum Format: String, Sendable, CaseIterable {
        case csv, json

        /// The HTTP content type.
        public var contentType: String {
            self == .csv ? "text/csv; charset=utf-8" : "application/json"
        }
    }

    /// Which report.
    public enum Report: String, Sendable {
        case attendance, audit
    }

    /// The report of `session` between the optional days `from` and `to`
    /// (YYYY-MM-DD, UTC, both included), in `format`.
    public static func render(_ report: Report, session: String, from: String?, to: String?, format: Format,
                              store: any RecordBackend) throws -> String {
        let (start, end) = try AttendanceReport.range(from: from, to: to)
        switch report {
        case .attendance:
            let rows = AttendanceReport.rows(session: session, intervals: try store.intervals(session: session, from: start, to: end),
                                             from: start, to: end)
            return format == .csv ? attendanceCSV(rows) : json(rows)
        case .audit:
            let events = try store.events(session: session, from: start, to: end)
            return format == .csv ? auditCSV(events) : json(events)
        }
    }

    /// One header line, then a line per person and day.
    public static func attendanceCSV(_ rows: [AttendanceRow]) -> String {
        var out = "session,person,name,role,day,minutes_in_session,minutes_in_main,minutes_in_breakouts,minutes_audio_on,minutes_video_on\n"
        for r in rows {
            out += [csv(r.session), csv(r.person), csv(r.name), csv(r.role), r.day, number(r.minutesInSession),
                    number(r.minutesInMain), number(r.minutesInBreakouts), number(r.minutesAudioOn),
                    number(r.minutesVideoOn)].joined(separator: ",") + "\n"
        }
        return out
    }

    /// One header line, then a line per event in time order.
    public static func auditCSV(_ events: [RecordedEvent]) -> String {
        var out = "time,session,event,reason,person,participant,name,role,target_person,target_participant,target_name,target_role,detail\n"
        for e in events {
            out += [isoTime(e.at), csv(e.session), csv(e.kind), csv(e.reason), csv(e.person), csv(e.participant), csv(e.name),
                    csv(e.role), csv(e.targetPerson), csv(e.targetParticipant), csv(e.targetName), csv(e.targetRole),
                    csv(e.detail)].joined(separator: ",") + "\n"
        }
        return out
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)).map { $0 + "\n" } ?? "[]\n"
    }

    static func number(_ v: Double) -> String { String(format: "%.1f", v) }

    /// RFC 4180 quoting; a cell a spreadsheet would run as a formula (a
    /// display name "=cmd|..." is user input) gets a leading apostrophe.
    static func csv(_ value: String?) -> String {
        guard var v = value else { return "" }
        if let first = v.first, "=+-@\t\r".contains(first) { v = "'" + v }
        guard v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// ISO 8601 UTC with milliseconds.
    public static func isoTime(_ ms: Int64) -> String {
        let day = AttendanceReport.floorDiv(ms, AttendanceReport.dayMilliseconds)
        let rest = ms - day * AttendanceReport.dayMilliseconds
        let h = rest / 3_600_000, m = rest / 60_000 % 60, s = rest / 1_000 % 60, milli = rest % 1_000
        return AttendanceReport.dayString(day) + String(format: "T%02d:%02d:%02d.%03dZ", Int(h), Int(m), Int(s), Int(milli))
    }
}
