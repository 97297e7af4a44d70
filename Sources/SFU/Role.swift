/// What a member of a therapy session may do (ARCHITECTURE.md, "Rooms, roles
/// and the isolation rule"). The raw values are the wire names.
public enum Role: String, Codable, Sendable, CaseIterable {
    /// The therapist.
    case host
    /// A co-therapist: runs the session's rooms like a host.
    case coHost = "co-host"
    /// A client in the group.
    case participant

    /// Whether the role runs the session: breakout rooms, moves, mute,
    /// admission, removal and listen-in (hosts and co-hosts).
    public var runsSession: Bool { self != .participant }

    /// Whether this role may remove, mute or move someone of `target`'s
    /// role: a host may act on anyone; a co-host only on participants, so a
    /// co-therapist's rights can never be turned against the therapist (or
    /// another co-therapist); a participant on nobody.
    public func mayActOn(_ target: Role) -> Bool {
        switch self {
        case .host: return true
        case .coHost: return target == .participant
        case .participant: return false
        }
    }

    /// Whether this role may end the session for everyone: the host only.
    public var mayEndSession: Bool { self == .host }
}
