/// How much state an engine holds: every entry keyed by a session,
/// participant or address, for leak checks in tests and soaks.
public struct EngineStateCounts: Equatable, Sendable {
    /// Sessions with at least one participant.
    public var sessions = 0
    /// Participants in all sessions.
    public var participants = 0
    /// Entries of the STUN index (one per participant).
    public var ufrags = 0
    /// Entries of the address index (validated addresses of present participants).
    public var addresses = 0
    /// New addresses waiting for or awaiting a return-routability check.
    public var pendingAddresses = 0
    /// Creates counts.
    public init(sessions: Int = 0, participants: Int = 0, ufrags: Int = 0, addresses: Int = 0, pendingAddresses: Int = 0) {
        self.sessions = sessions
        self.participants = participants
        self.ufrags = ufrags
        self.addresses = addresses
        self.pendingAddresses = pendingAddresses
    }
}

extension MediaEngine {
    /// The sizes of the engine's indexes, on its loop.
    public var stateCounts: EngineStateCounts {
        var c = EngineStateCounts(sessions: sessions.count, ufrags: byUfrag.count, addresses: byAddress.count)
        for s in sessions.values {
            c.participants += s.participants.count
            for p in s.participants.values { c.pendingAddresses += p.ice.pendingAddresses.count }
        }
        return c
    }
}
