/// Minutes attended per person per day, as a program bills them, computed
/// from recorded intervals. Pure: no database, no clock.
///
/// A person is the token's `sub` when it had one, else the participant id of
/// one join. Days are UTC calendar days; an interval across midnight counts
/// on both days. A person's overlapping intervals of one measure (two
/// devices at once) count once. The measures:
/// - in session: in any room but the waiting room;
/// - in main, in breakout rooms: in the main room, in any breakout room;
/// - audio on, video on: the person's published audio or video flowing,
///   while in session.
public struct AttendanceRow: Codable, Equatable, Sendable {
    public var session: String
    public var person: String
    /// The display name of the person's latest interval that day.
    public var name: String
    public var role: String
    /// YYYY-MM-DD, UTC.
    public var day: String
    public var minutesInSession: Double
    public var minutesInMain: Double
    public var minutesInBreakouts: Double
    public var minutesAudioOn: Double
    public var minutesVideoOn: Double
}

public enum AttendanceReport {
    static let dayMilliseconds: Int64 = 86_400_000

    enum Measure: Int, CaseIterable { case session, main, breakouts, audio, video }

    /// The rows of `session` for [from, to) in Unix milliseconds, by person then day.
    public static func rows(session: String, intervals: [RecordedInterval], from: Int64, to: Int64) -> [AttendanceRow] {
        var spans: [String: [Measure: [(Int64, Int64)]]] = [:]
        var latest: [String: RecordedInterval] = [:]
        for i in intervals {
            let start = max(i.start, from), end = min(i.end, to)
            guard end > start else { continue }
            var measures: [Measure] = []
            switch i.kind {
            case "room":
                guard let room = i.room, room != "waiting" else { break }
                measures = [.session, room == "main" ? .main : .breakouts]
            case "audio": measures = [.audio]
            case "video": measures = [.video]
            default: break
            }
            for m in measures { spans[i.person, default: [:]][m, default: []].append((start, end)) }
            if !measures.isEmpty, latest[i.person].map({ $0.start <= i.start }) ?? true { latest[i.person] = i }
        }
        var rows: [AttendanceRow] = []
        for person in spans.keys.sorted() {
            var byDay: [Int64: [Measure: Int64]] = [:]
            let inSession = merged(spans[person]![.session] ?? [])
            for (measure, list) in spans[person]! {
                // Media counts only while in session (not while waiting for admission).
                let counted = measure == .audio || measure == .video ? intersection(merged(list), inSession) : merged(list)
                for (start, end) in counted {
                    var t = start
                    while t < end {
                        let day = floorDiv(t, dayMilliseconds)
                        let stop = min(end, (day + 1) * dayMilliseconds)
                        byDay[day, default: [:]][measure, default: 0] += stop - t
                        t = stop
                    }
                }
            }
            let who = latest[person]!
            for day in byDay.keys.sorted() {
                let ms = byDay[day]!
                func minutes(_ m: Measure) -> Double { (Double(ms[m] ?? 0) / 6_000).rounded() / 10 }
                rows.append(AttendanceRow(session: session, person: person, name: who.name, role: who.role,
                                          day: dayString(day), minutesInSession: minutes(.session),
                                          minutesInMain: minutes(.main), minutesInBreakouts: minutes(.breakouts),
                                          minutesAudioOn: minutes(.audio), minutesVideoOn: minutes(.video)))
            }
        }
        return rows
    }

    /// Overlapping or touching spans joined.
    static func merged(_ spans: [(Int64, Int64)]) -> [(Int64, Int64)] {
        var out: [(Int64, Int64)] = []
        for s in spans.sorted(by: { $0.0 < $1.0 }) {
            if let last = out.last, s.0 <= last.1 { out[out.count - 1].1 = max(last.1, s.1) } else { out.append(s) }
        }
        return out
    }

    /// The parts of sorted, disjoint `a` that lie in sorted, disjoint `b`.
    static func intersection(_ a: [(Int64, Int64)], _ b: [(Int64, Int64)]) -> [(Int64, Int64)] {
        var out: [(Int64, Int64)] = []
        var i = 0, j = 0
        while i < a.count && j < b.count {
            let start = max(a[i].0, b[j].0), end = min(a[i].1, b[j].1)
            if start < end { out.append((start, end)) }
            if a[i].1 < b[j].1 { i += 1 } else { j += 1 }
        }
        return out
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// YYYY-MM-DD of a day number since 1970-01-01 (proleptic Gregorian, UTC).
    static func dayString(_ day: Int64) -> String {
        // Howard Hinnant's civil_from_days.
        let z = day + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ n: Int) -> String { String(repeating: "0", count: max(0, n - String(v).count)) + String(v) }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    /// The day number of YYYY-MM-DD, or nil.
    public static func dayNumber(_ text: String) -> Int64? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        // days_from_civil
        let yy = m <= 2 ? y - 1 : y
        let era = floorDiv(yy, 400)
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let day = era * 146_097 + doe - 719_468
        return dayString(day) == text ? day : nil  // rejects 2026-02-30
    }

    /// [from, to) in Unix milliseconds for optional YYYY-MM-DD bounds, both days included.
    public static func range(from: String?, to: String?) throws(RecordsError) -> (Int64, Int64) {
        var start = Int64.min / 2, end = Int64.max / 2
        if let from {
            guard let d = dayNumber(from) else { throw .invalidDate(from) }
            start = d * dayMilliseconds
        }
        if let to {
            guard let d = dayNumber(to) else { throw .invalidDate(to) }
            end = (d + 1) * dayMilliseconds
        }
        return (start, end)
    }
}
