import Foundation

/// One node as the directory's `nodes` table describes it, read in one query
/// with the database's clock, so the nodes' own clocks never need to agree.
public struct NodeStatus: Sendable, Equatable {
    /// The node's id (`--records-node`).
    public var id: String
    /// The WebSocket URL clients use to reach it (`--public-url`).
    public var publicURL: String
    /// Participants it takes at most (`--capacity`).
    public var capacity: Int
    /// Participants it reported in its last heartbeat.
    public var load: Int
    /// Sessions placed on it now, counted from `placements`: a burst of new
    /// sessions has no participants yet, and would otherwise all land on one node.
    public var sessions: Int
    /// Its last heartbeat, Unix milliseconds of the database's clock; nil: never.
    public var heartbeatAt: Int64?

    /// Creates a status.
    public init(id: String, publicURL: String, capacity: Int, load: Int, sessions: Int, heartbeatAt: Int64?) {
        self.id = id
        self.publicURL = publicURL
        self.capacity = capacity
        self.load = load
        self.sessions = sessions
        self.heartbeatAt = heartbeatAt
    }
}

/// What to do with a join, given the session's placement and the nodes.
public enum PlacementDecision: Sendable, Equatable {
    /// The session is placed on this node: admit the participant.
    case here
    /// The session is placed on a live other node: send the client there.
    case redirect(node: String, url: String)
    /// Nobody live holds the session: place it on this node (maybe this one), atomically.
    case place(on: String)
    /// No live node has room.
    case noLiveNode
}

/// The placement rules, as a pure function of the directory's rows and the
/// database's clock: tested alone with a manual clock (docs/SCALE-OUT.md).
public struct PlacementPolicy: Sendable, Equatable {
    /// A node whose last heartbeat is older than this is dead.
    public var deadAfterMilliseconds: Int64

    /// Creates the policy.
    public init(deadAfterMilliseconds: Int64) { self.deadAfterMilliseconds = deadAfterMilliseconds }

    /// Whether `node` may hold or receive sessions at `now`: a recent
    /// heartbeat, a URL a client can open, and some capacity. A row that
    /// fails any of these (a stale, bogus or hand-made row) is never chosen.
    public func isLive(_ node: NodeStatus, now: Int64) -> Bool {
        // A heartbeat from the future (beyond a race between a read and a
        // write) was made by hand: it would keep a row alive for ever.
        guard let beat = node.heartbeatAt, abs(now - beat) <= deadAfterMilliseconds else { return false }
        return node.capacity > 0 && Self.isWebSocketURL(node.publicURL)
    }

    /// The live node with the most room left, relative to its capacity
    /// (participants plus placed sessions over capacity); ties go to the
    /// smaller id, so the choice is deterministic. Full nodes are skipped.
    public func leastLoaded(_ nodes: [NodeStatus], now: Int64) -> NodeStatus? {
        nodes.filter { isLive($0, now: now) && $0.load < $0.capacity }.min { a, b in
            // a.weight / a.capacity < b.weight / b.capacity, without division.
            let l = (a.load + a.sessions) * b.capacity, r = (b.load + b.sessions) * a.capacity
            return l != r ? l < r : a.id < b.id
        }
    }

    /// The decision for a join arriving at node `me` for a session that
    /// `holder` holds (nil: not placed).
    public func decide(holder: String?, me: String, nodes: [NodeStatus], now: Int64) -> PlacementDecision {
        if holder == me { return .here }
        if let holder, let node = nodes.first(where: { $0.id == holder }), isLive(node, now: now) {
            return .redirect(node: node.id, url: node.publicURL)
        }
        guard let target = leastLoaded(nodes, now: now) else { return .noLiveNode }
        return .place(on: target.id)
    }

    /// `ws://host[:port][/path]` or `wss://...`, nothing else.
    public static func isWebSocketURL(_ text: String) -> Bool {
        guard text.utf8.count <= 2_048, !text.contains(where: { $0.isWhitespace }),
              let c = URLComponents(string: text), let scheme = c.scheme?.lowercased(),
              scheme == "ws" || scheme == "wss", let host = c.host, !host.isEmpty,
              c.user == nil, c.password == nil, c.fragment == nil else { return false }
        if let port = c.port, !(1...65_535).contains(port) { return false }
        return true
    }
}
