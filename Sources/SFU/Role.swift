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
}
