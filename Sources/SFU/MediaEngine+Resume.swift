/// Signalling resume (docs/PROTOCOL.md, `resume`): a participant whose
/// WebSocket dropped stays in the engine, media and all; a new WebSocket
/// that takes it over needs what `joined` gave, as of now.
extension MediaEngine {
    /// A participant's view as a new signalling connection needs it: its
    /// room, slot map and version, and its room's roster (itself alone while
    /// waiting, as at join). Nil when it is not on this engine.
    public func currentState(of id: ParticipantID) -> ParticipantState? {
        guard let p = participant(id) else { return nil }
        let session = p.session
        if session.isWaiting(id) {
            return ParticipantState(room: .waiting, slots: slotMap(of: p), slotsVersion: p.subscriber.slotsVersion,
                                    roster: [RosterMember(participantId: id, name: p.name, role: p.role, room: .waiting)])
        }
        guard let room = session.table.members[id]?.room else { return nil }
        return ParticipantState(room: room, slots: slotMap(of: p), slotsVersion: p.subscriber.slotsVersion,
                                roster: roster(room: room, in: session))
    }
}

/// What `MediaEngine.currentState(of:)` returns.
public struct ParticipantState: Sendable {
    /// The room it is in.
    public var room: RoomID
    /// Its slot map.
    public var slots: [SlotAssignment]
    /// The slot map's version.
    public var slotsVersion: Int
    /// Who is in its room.
    public var roster: [RosterMember]
}
