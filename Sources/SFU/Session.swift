import Wire

/// One therapy session on its loop (ARCHITECTURE.md, "Session"): its
/// members, the routing table that says who fills which slot, the shape of
/// its rooms (breakouts, waiting room, hands), a mixer per room that has
/// mixed listeners, and who is speaking in each room.
///
/// Commands for a session run one at a time on its loop, in the order the
/// loop received them (`MediaEngine.perform`): the loop's task queue is the
/// session's ordered command queue, and the control plane submits each
/// connection's commands to it in the order they arrived. Owned by a
/// `MediaEngine`; not thread-safe.
final class Session {
    /// The session id (token claim `sid`).
    let id: String
    /// Members by id, waiting ones included.
    var participants: [ParticipantID: Participant] = [:] { didSet { routingGeneration &+= 1 } }
    /// Who receives whom through which slot: the single owner of that fact.
    var table = RoutingTable() { didSet { routingGeneration &+= 1 } }
    /// Breakout rooms, assignments, the waiting room, raised hands.
    var model = SessionModel()
    /// The mixer of each room that has mixed listeners.
    var mixes: [RoomID: RoomMix] = [:] { didSet { routingGeneration &+= 1 } }
    /// Who was last announced as speaking in each room.
    var speakers: [RoomID: [ParticipantID]] = [:]
    /// How many session views the members may still be sent at once
    /// (`MediaEngine.publishSessionView`), and whether a change waits for the next.
    var viewBudget = TokenBucket(capacity: MediaEngine.viewBurst, perSecond: MediaEngine.viewsPerSecond)
    var viewPending = false

    /// When a waiting change of the session view is due.
    var viewDue: Instant? {
        viewPending ? viewBudget.nextAvailable : nil
    }
    /// Grows with every change to members, table or mixes: publishers
    /// rebuild their cached routes when it moved (`PublisherRoutes`).
    private(set) var routingGeneration: UInt64 = 0

    /// An empty session.
    init(id: String) { self.id = id }

    /// Whether `id` waits in the waiting room.
    func isWaiting(_ id: ParticipantID) -> Bool { model.waiting.contains(id) }

    /// Drops every cached route of the members, so none keeps a participant
    /// that left alive (routes hold subscribers strongly).
    func forgetRoutes() {
        for p in participants.values { p.routes = nil }
    }
}
