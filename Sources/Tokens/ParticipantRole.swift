/// What a participant may do in a therapy session (see ARCHITECTURE "Rooms, roles").
public enum ParticipantRole: String, Codable, Sendable, CaseIterable {
    /// The therapist: creates breakout rooms, moves, mutes, admits, removes, listens in.
    case host
    /// A co-therapist; today the same rights as a participant plus what hosts grant.
    case coHost = "co-host"
    /// A client in the group.
    case participant
}
