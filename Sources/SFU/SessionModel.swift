import Wire

/// The shape of one therapy session beyond who-receives-whom: its breakout
/// rooms, their planned assignments, whether they are open or closing, the
/// waiting room and raised hands. The routing table holds the rest.
struct SessionModel: Sendable {
    var breakouts: [BreakoutRoom] = []
    var assignments: [ParticipantID: RoomID] = [:]
    var open = false
    var closingAt: Instant?
    /// When the breakout rooms opened, while they are open: the session view
    /// says how long ago (`openForSeconds`), on the server's clock, so every
    /// host's panel shows the same time.
    var openedAt: Instant?
    var waiting: [ParticipantID] = []
    var hands: [ParticipantID] = []
    /// Who turned their own microphone off (`setSelfMuted`).
    var microphoneOff: Set<ParticipantID> = []
    /// People removed by a host, by the identity of their token (`sub`, else
    /// the token itself): refused on joining this session again until unbanned.
    var removed: [(identity: String, view: SessionView.RemovedPerson)] = []
    var version = 0
    var nextRoomNumber = 1
    /// Whether participants may share their screen; hosts and co-hosts always may.
    var participantsMayShare = false

    func room(_ id: RoomID) -> BreakoutRoom? { breakouts.first { $0.id == id } }

    func exists(_ id: RoomID) -> Bool { id == .main || room(id) != nil }

    /// Whether someone can be placed in `id` now: `main`, or a breakout room while rooms are open.
    func isEnterable(_ id: RoomID) -> Bool { id == .main || (open && room(id) != nil) }

    /// Where someone whose token names `room` goes in now: that room if it
    /// can be entered, otherwise `main`.
    func entry(for room: RoomID) -> RoomID { isEnterable(room) ? room : .main }

    mutating func forget(_ id: ParticipantID) {
        assignments[id] = nil
        waiting.removeAll { $0 == id }
        hands.removeAll { $0 == id }
        microphoneOff.remove(id)
    }
}
