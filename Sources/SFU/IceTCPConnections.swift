import Wire

/// Limits on the ICE-TCP listener (RFC 6544 passive candidates), so it is no
/// new way to exhaust the server: a cap on open connections, a smaller cap
/// on connections that have not yet proved they belong to a participant,
/// and short timeouts.
public struct IceTCPLimits: Sendable, Equatable {
    /// Connections open at once; more are refused.
    public var maxConnections = 1_024
    /// Connections open at once that have not sent a valid binding request;
    /// a new one past this evicts the oldest of them (like a SYN cache), so a
    /// flood cannot lock out a browser that authenticates within milliseconds.
    public var maxUnauthenticated = 64
    /// How long a connection may stay open without a binding request that
    /// the engine answered with success (a known ufrag, a valid MESSAGE-INTEGRITY).
    public var authenticationTimeout = TimeSpan.seconds(5)
    /// How long an authenticated connection may stay silent (browsers send
    /// consent checks every few seconds, RFC 7675 §5.1).
    public var idleTimeout = TimeSpan.seconds(30)
    /// The longest RFC 4571 frame accepted.
    public var maxFrame = 4_096
    /// Bytes queued for sending on one connection before transmits to it are
    /// dropped (counted): a reader that stops reading costs no more than this.
    public var maxQueuedBytes = 256 * 1_024

    /// The defaults.
    public init() {}
}

/// Counters of the ICE-TCP listener, exported by `/metrics`.
public struct IceTCPCounters: Sendable, Equatable {
    /// Connections accepted.
    public var accepted = 0
    /// Connections refused because `maxConnections` were open.
    public var refused = 0
    /// Unauthenticated connections closed to make room for a newer one.
    public var evicted = 0
    /// Connections closed for sending no valid binding request in time.
    public var authenticationTimeouts = 0
    /// Authenticated connections closed for silence.
    public var idleTimeouts = 0
    /// Connections closed for a length that lied (zero, too long, truncated).
    public var framingErrors = 0
    /// Transmits dropped because the connection's send queue was full.
    public var sendQueueDrops = 0
    /// Frames received and sent.
    public var framesIn = 0, framesOut = 0
    /// Connections open now, and of them not yet authenticated (gauges).
    public var open = 0, unauthenticated = 0

    /// All zero.
    public init() {}
}

/// The sans-IO bookkeeping of one loop's ICE-TCP connections: which are
/// open, which have authenticated, and which must close when. The shell
/// (MediaTransport) owns the sockets and calls this on its loop with the time.
public struct IceTCPConnections: Sendable {
    /// Why the table wants a connection closed.
    public enum CloseReason: Sendable, Equatable {
        /// Evicted by a newer unauthenticated connection.
        case evicted
        /// No valid binding request within `authenticationTimeout`.
        case authenticationTimeout
        /// Silent for `idleTimeout`.
        case idle
    }

    private struct Entry: Sendable {
        var opened: Instant
        var lastReceived: Instant
        var authenticated = false
    }

    /// The limits in force.
    public let limits: IceTCPLimits
    /// What happened so far.
    public private(set) var counters = IceTCPCounters()
    private var entries: [UInt32: Entry] = [:]
    private var nextID: UInt32 = 1

    /// An empty table.
    public init(limits: IceTCPLimits = IceTCPLimits()) {
        self.limits = limits
    }

    /// A connection was accepted at `now`. Returns its number and any
    /// connection to close to make room (an evicted unauthenticated one), or
    /// nil when the new one must be refused.
    public mutating func open(now: Instant) -> (id: UInt32, evict: UInt32?)? {
        var evict: UInt32?
        if counters.unauthenticated >= limits.maxUnauthenticated || entries.count >= limits.maxConnections {
            evict = oldestUnauthenticated()
            guard let victim = evict else {
                counters.refused += 1
                return nil
            }
            remove(victim)
            counters.evicted += 1
        }
        let id = nextID
        nextID = nextID == UInt32.max ? 1 : nextID + 1
        entries[id] = Entry(opened: now, lastReceived: now)
        counters.accepted += 1
        counters.unauthenticated += 1
        counters.open = entries.count
        return (id, evict)
    }

    /// A frame arrived on `id` at `now`.
    public mutating func received(on id: UInt32, now: Instant) {
        entries[id]?.lastReceived = now
        counters.framesIn += 1
    }

    /// The engine answered a binding request on `id` with success: the peer
    /// knows a participant's ICE credentials.
    public mutating func authenticated(_ id: UInt32) {
        guard let entry = entries[id], !entry.authenticated else { return }
        entries[id]!.authenticated = true
        counters.unauthenticated -= 1
    }

    /// Whether `id` has authenticated.
    public func isAuthenticated(_ id: UInt32) -> Bool { entries[id]?.authenticated ?? false }

    /// A frame was sent on `id`, or dropped for a full send queue.
    public mutating func sent(dropped: Bool) {
        if dropped { counters.sendQueueDrops += 1 } else { counters.framesOut += 1 }
    }

    /// The connection closed (by either side); `framingError` when its
    /// framing lied. Unknown ids (already removed) are ignored.
    public mutating func closed(_ id: UInt32, framingError: Bool) {
        if framingError { counters.framingErrors += 1 }
        remove(id)
    }

    /// The connections to close at `now`, removed from the table and counted.
    public mutating func expire(now: Instant) -> [(id: UInt32, reason: CloseReason)] {
        var out: [(UInt32, CloseReason)] = []
        for (id, e) in entries {
            if !e.authenticated, now - e.opened >= limits.authenticationTimeout {
                out.append((id, .authenticationTimeout))
                counters.authenticationTimeouts += 1
            } else if e.authenticated, now - e.lastReceived >= limits.idleTimeout {
                out.append((id, .idle))
                counters.idleTimeouts += 1
            }
        }
        for (id, _) in out { remove(id) }
        return out
    }

    /// When `expire` next has something to do, if ever.
    public var nextDeadline: Instant? {
        entries.values.map { $0.authenticated ? $0.lastReceived + limits.idleTimeout : $0.opened + limits.authenticationTimeout }.min()
    }

    private func oldestUnauthenticated() -> UInt32? {
        entries.filter { !$0.value.authenticated }.min { ($0.value.opened, $0.key) < ($1.value.opened, $1.key) }?.key
    }

    private mutating func remove(_ id: UInt32) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        if !entry.authenticated { counters.unauthenticated -= 1 }
        counters.open = entries.count
    }
}
