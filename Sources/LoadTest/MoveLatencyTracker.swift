import Wire

/// Breakout move latency at one receiver: from the host sending the command
/// that changed the receiver's room-mates to the first packet from a
/// participant it could not hear before and can now (a new room-mate).
///
/// The receiver learns of the change from a `session` message, which may
/// arrive after the first media of the new room (the server switches the
/// routing, then publishes), so the first packet of every sender's current
/// run of packets is remembered and counts if it came after the command.
/// A split has no new room-mates (everyone was together in the main room):
/// it yields no sample; a move and a close do.
public struct MoveLatencyTracker: Sendable {
    /// A gap longer than this starts a new run of packets from a sender.
    public static let runGap = TimeSpan.milliseconds(200)

    private var last: [Int: Instant] = [:]
    private var runStart: [Int: Instant] = [:]
    private var pending: (since: Instant, mates: Set<Int>)?

    /// Creates a tracker that has seen nothing.
    public init() {}

    /// A packet from `sender` arrived at `now`; returns the move latency
    /// when it is the first from a new room-mate.
    public mutating func packet(from sender: Int, now: Instant) -> TimeSpan? {
        if let previous = last[sender], now - previous <= Self.runGap {} else { runStart[sender] = now }
        last[sender] = now
        guard let p = pending, p.mates.contains(sender), let start = runStart[sender], start >= p.since else { return nil }
        pending = nil
        return now - p.since
    }

    /// The receiver `me`'s room map changed from `old` to `new`; the host
    /// sent the command at `commandSentAt`. Returns the latency at once when
    /// a new room-mate's media already arrived after the command.
    public mutating func roomsChanged(from old: RoomMap?, to new: RoomMap, me: Int, commandSentAt: Instant?) -> TimeSpan? {
        guard let old, let since = commandSentAt, let mine = new.roomOf[me], let before = old.roomOf[me] else { return nil }
        // Members who were in the old map in another room than mine: a
        // joiner is not a move, and neither is a room-mate who stays one.
        let mates = Set(new.roomOf.compactMap { member, room -> Int? in
            guard member != me, room == mine, let was = old.roomOf[member], was != before else { return nil }
            return member
        })
        guard !mates.isEmpty else { return nil }
        let early = mates.compactMap { runStart[$0] }.filter { $0 >= since }.min()
        if let early {
            pending = nil
            return early - since
        }
        pending = (since, mates)
        return nil
    }
}
