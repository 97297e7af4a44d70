import Wire

/// Who is in which room of one session, as a participant last heard it
/// (docs/PROTOCOL.md `session`): members by room, and hosts listening in.
public struct RoomMap: Equatable, Sendable {
    /// Room of each member (by member index within the session).
    public var roomOf: [Int: String]
    /// Members listening in on each room (they may hear its audio).
    public var listeners: [String: Set<Int>]

    /// Creates a map.
    public init(roomOf: [Int: String] = [:], listeners: [String: Set<Int>] = [:]) {
        self.roomOf = roomOf
        self.listeners = listeners
    }

    /// Whether `receiver` may get `kind` from `sender` under this map
    /// (ARCHITECTURE.md, isolation rule). A member the map does not know is
    /// not judged: the map may simply be older than the join.
    public func allows(receiver: Int, sender: Int, kind: MediaKind) -> Bool {
        guard let mine = roomOf[receiver], let theirs = roomOf[sender] else { return true }
        if mine == theirs { return true }
        return kind == .audio && listeners[theirs]?.contains(receiver) == true
    }
}

/// Decides whether media from another member of the same session broke the
/// isolation rule, allowing for the time a room change takes to reach
/// everyone: the server may switch routing a moment before or after the
/// receiver hears of it, and it forwarded the packet at some moment between
/// its send time and its arrival (long apart when queues build up). A packet
/// is a violation only if no room map in force between `grace` before it was
/// sent and `grace` after it arrived allowed it.
public struct IsolationJudge: Sendable {
    /// A packet that no map allowed when it arrived; judged after `grace`.
    public struct Suspect: Equatable, Sendable {
        /// Sending member.
        public var sender: Int
        /// Audio or video.
        public var kind: MediaKind
        /// Send time (from the packet's probe).
        public var sent: Instant
        /// Arrival time.
        public var at: Instant

        /// Creates a suspect.
        public init(sender: Int, kind: MediaKind, sent: Instant, at: Instant) {
            self.sender = sender
            self.kind = kind
            self.sent = sent
            self.at = at
        }
    }

    /// The receiving member.
    public let receiver: Int
    /// How long before and after a room change either map is accepted.
    public let grace: TimeSpan
    private var history: [(since: Instant, map: RoomMap)] = []
    private var suspects: [Suspect] = []

    /// Creates a judge for `receiver`.
    public init(receiver: Int, grace: TimeSpan = .seconds(1)) {
        self.receiver = receiver
        self.grace = grace
    }

    /// A new room map heard at `now`.
    public mutating func update(_ map: RoomMap, now: Instant) {
        history.append((now, map))
        // Keep what a pending suspect might still need (queues can hold packets for seconds).
        while history.count > 2, now - history[1].since > .seconds(60) { history.removeFirst() }
    }

    /// The map in force now, if any.
    public var current: RoomMap? { history.last?.map }

    /// Records a packet from `sender`; returns false when it is suspect.
    @discardableResult
    public mutating func observe(sender: Int, kind: MediaKind, sent: Instant, now: Instant) -> Bool {
        guard let map = history.last?.map, !map.allows(receiver: receiver, sender: sender, kind: kind) else { return true }
        if suspects.count < 10_000 { suspects.append(Suspect(sender: sender, kind: kind, sent: min(sent, now), at: now)) }
        return false
    }

    /// Suspects whose grace has passed and that no map in force from `grace`
    /// before their sending to `grace` after their arrival allowed: confirmed violations.
    public mutating func resolve(now: Instant) -> [Suspect] {
        var confirmed: [Suspect] = []
        var pending: [Suspect] = []
        for s in suspects {
            guard now - s.at > grace else { pending.append(s); continue }
            if !allowedNearby(s) { confirmed.append(s) }
        }
        suspects = pending
        return confirmed
    }

    private func allowedNearby(_ s: Suspect) -> Bool {
        for (i, entry) in history.enumerated() {
            // Does this map's validity [since, next change) meet [sent − grace, arrival + grace]?
            let endsAfter = i + 1 < history.count ? s.sent < history[i + 1].since + grace : true
            let overlaps = entry.since <= s.at + grace && endsAfter
            if overlaps && entry.map.allows(receiver: receiver, sender: s.sender, kind: s.kind) { return true }
        }
        return false
    }
}
