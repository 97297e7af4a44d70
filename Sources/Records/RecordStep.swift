import SFU

/// What one record event does to the tables, the same on every backend:
/// each backend runs these steps with its own SQL (`RecordStore`,
/// `PostgresRecordStore`), so both store the same rows for the same events
/// and the exports give the same numbers.
enum RecordStep: Equatable {
    /// A row of `event`: a join, a leave (with its reason) or a host action.
    case insertEvent(kind: String, person: RecordEvent.Person, reason: String?, target: RecordEvent.Person?, detail: String?)
    /// Ends the participant's open intervals of `kind` (all kinds when nil) at the event's time.
    case closeIntervals(person: RecordEvent.Person, kind: String?)
    /// Starts an open interval at the event's time.
    case openInterval(person: RecordEvent.Person, kind: String, room: String?)

    /// The steps of `event`, in order.
    static func steps(_ event: RecordEvent) -> [RecordStep] {
        switch event.kind {
        case .joined(let p):
            return [.insertEvent(kind: "join", person: p, reason: nil, target: nil, detail: nil)]
        case .left(let p, let reason):
            return [.closeIntervals(person: p, kind: nil),
                    .insertEvent(kind: "leave", person: p, reason: reason, target: nil, detail: nil)]
        case .room(let p, let room):
            return [.closeIntervals(person: p, kind: "room"), .openInterval(person: p, kind: "room", room: room.rawValue)]
        case .flow(let p, let kind, let flowing):
            return [.closeIntervals(person: p, kind: kind.rawValue)]
                + (flowing ? [.openInterval(person: p, kind: kind.rawValue, room: nil)] : [])
        case .hostAction(let action, let actor, let target, let detail):
            return [.insertEvent(kind: action, person: actor, reason: nil, target: target, detail: detail)]
        }
    }
}
