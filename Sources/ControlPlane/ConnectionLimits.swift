import Logging
import NIOConcurrencyHelpers
import NIOCore

/// What one TCP connection, and one source address, may make the control plane
/// hold: connection counts, timeouts and outbound buffering (docs/PROTOCOL.md,
/// "Connecting"). Every limit is a cap on a peer that does not read, does not
/// finish its request, or opens too many sockets; none is reached by the web client.
public struct ConnectionLimits: Sendable {
    /// Open TCP connections (HTTP and WebSocket); more are closed at accept.
    public var maxConnections = 10_000
    /// Open TCP connections from one address (an IPv6 /64 counts as one address).
    public var maxConnectionsPerAddress = 200
    /// WebSockets that have not joined yet; more get `busy` and close 1013.
    public var maxPendingJoins = 1_000
    /// WebSockets from one address that have not joined yet.
    public var maxPendingJoinsPerAddress = 50
    /// A request's head (and body) must arrive within this, counted from accept for
    /// the first request and from its first bytes for later ones; else 408 and close.
    public var headerTimeout: TimeAmount = .seconds(10)
    /// A keep-alive HTTP connection with no request for this long is closed.
    public var idleTimeout: TimeAmount = .seconds(30)
    /// Requests received on one HTTP connection and not yet answered; one more closes it.
    public var maxPipelinedRequests = 16
    /// Above `high` buffered outbound bytes the connection stops reading; below `low` it reads again.
    public var writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 32 * 1024, high: 64 * 1024)
    /// A write finding more than this many bytes still unsent closes the connection.
    public var maxBufferedOutboundBytes = 256 * 1024
    /// A connection above the high-water mark for this long (the peer stopped reading) is closed.
    public var stallTimeout: TimeAmount = .seconds(10)

    /// The defaults.
    public init() {}

    /// Connection caps as given, and the pending-join caps derived from them: a tenth of
    /// the total and a quarter of the per-address cap, at least one each.
    public init(maxConnections: Int, maxConnectionsPerAddress: Int) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxPendingJoins = max(1, maxConnections / 10)
        self.maxPendingJoinsPerAddress = max(1, maxConnectionsPerAddress / 4)
    }
}

/// Which cap refused a connection or a WebSocket; the raw value is the log word.
public enum ConnectionRefusal: String, Sendable, CaseIterable {
    case maxConnections = "max-connections"
    case maxConnectionsPerAddress = "max-connections-per-address"
    case maxPendingJoins = "max-pending-joins"
    case maxPendingJoinsPerAddress = "max-pending-joins-per-address"
    /// Closed by `OutboundBackpressureHandler`: a write found too many bytes unsent.
    case outboundOverflow = "outbound-overflow"
    /// Closed by `OutboundBackpressureHandler`: above the high-water mark too long.
    case outboundStalled = "outbound-stalled"
    /// Closed by `HTTPConnectionTimeouts`: more unanswered requests than allowed.
    case pipelinedRequests = "pipelined-requests"
    /// Closed by `HTTPConnectionTimeouts`: request head not complete in time (408).
    case headerTimeout = "header-timeout"
}

/// The counts behind the caps, as a value: every change takes the limits and
/// returns the refusal, if any. Not thread-safe; `ConnectionLimiter` locks it.
struct ConnectionCounts: Equatable {
    private(set) var open = 0
    private(set) var openByAddress: [String: Int] = [:]
    private(set) var pendingJoins = 0
    private(set) var pendingJoinsByAddress: [String: Int] = [:]
    private(set) var refused: [ConnectionRefusal: Int] = [:]

    /// Counts a new connection from `address`, or returns the cap it would exceed.
    mutating func openConnection(from address: String, limits: ConnectionLimits) -> ConnectionRefusal? {
        let refusal: ConnectionRefusal? =
            open >= limits.maxConnections ? .maxConnections
            : openByAddress[address, default: 0] >= limits.maxConnectionsPerAddress ? .maxConnectionsPerAddress : nil
        guard refusal == nil else { return count(refusal) }
        open += 1
        openByAddress[address, default: 0] += 1
        return nil
    }

    /// Releases a connection counted by `openConnection`.
    mutating func closeConnection(from address: String) {
        open -= 1
        Self.decrement(&openByAddress, address)
    }

    /// Counts a WebSocket waiting to join, or returns the cap it would exceed.
    mutating func startPendingJoin(from address: String, limits: ConnectionLimits) -> ConnectionRefusal? {
        let refusal: ConnectionRefusal? =
            pendingJoins >= limits.maxPendingJoins ? .maxPendingJoins
            : pendingJoinsByAddress[address, default: 0] >= limits.maxPendingJoinsPerAddress ? .maxPendingJoinsPerAddress : nil
        guard refusal == nil else { return count(refusal) }
        pendingJoins += 1
        pendingJoinsByAddress[address, default: 0] += 1
        return nil
    }

    /// Releases a pending join counted by `startPendingJoin` (joined, or closed).
    mutating func endPendingJoin(from address: String) {
        pendingJoins -= 1
        Self.decrement(&pendingJoinsByAddress, address)
    }

    /// Counts a connection closed for a reason other than a cap at accept.
    mutating func countClosed(_ reason: ConnectionRefusal) { _ = count(reason) }

    private mutating func count(_ refusal: ConnectionRefusal?) -> ConnectionRefusal? {
        if let refusal { refused[refusal, default: 0] += 1 }
        return refusal
    }

    private static func decrement(_ counts: inout [String: Int], _ key: String) {
        // Removing the entry at zero keeps the table as small as the set of live addresses.
        if let n = counts[key], n > 1 { counts[key] = n - 1 } else { counts[key] = nil }
    }

    /// The key a source address is counted under: the IPv4 address, or the /64 of an
    /// IPv6 address (one host usually owns a whole /64, RFC 4291 §2.5.1).
    static func addressKey(_ address: SocketAddress?) -> String {
        guard let address else { return "?" }
        if case .v6(let v6) = address {
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            // IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) counts as the IPv4 address.
            if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
                return bytes[12...].map(String.init).joined(separator: ".")
            }
            return bytes[0..<8].map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
        }
        return address.ipAddress ?? "?"
    }
}

/// The shared, locked `ConnectionCounts` of one server, used from every event loop.
/// Refusals are logged at most once a second per reason, with the count since.
final class ConnectionLimiter: Sendable {
    let limits: ConnectionLimits
    private let logger: Logger
    private struct State {
        var counts = ConnectionCounts()
        var lastLog: [ConnectionRefusal: NIODeadline] = [:]
        var unlogged: [ConnectionRefusal: Int] = [:]
    }
    private let state = NIOLockedValueBox(State())

    init(limits: ConnectionLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    /// A snapshot of the counts (tests, logs).
    var counts: ConnectionCounts { state.withLockedValue { $0.counts } }

    /// True if a connection from `address` may open; counted until `closeConnection`.
    func openConnection(from address: SocketAddress?) -> Bool {
        let key = ConnectionCounts.addressKey(address)
        let refusal = state.withLockedValue { $0.counts.openConnection(from: key, limits: limits) }
        refusal.map { note($0, key, "connection refused") }
        return refusal == nil
    }

    func closeConnection(from address: SocketAddress?) {
        let key = ConnectionCounts.addressKey(address)
        state.withLockedValue { $0.counts.closeConnection(from: key) }
    }

    /// Nil if a WebSocket from `address` may wait to join; counted until `endPendingJoin`.
    func startPendingJoin(from address: SocketAddress?) -> ConnectionRefusal? {
        let key = ConnectionCounts.addressKey(address)
        let refusal = state.withLockedValue { $0.counts.startPendingJoin(from: key, limits: limits) }
        refusal.map { note($0, key, "connection refused") }
        return refusal
    }

    func endPendingJoin(from address: SocketAddress?) {
        let key = ConnectionCounts.addressKey(address)
        state.withLockedValue { $0.counts.endPendingJoin(from: key) }
    }

    /// Counts and logs a connection the server closed to protect itself.
    func closed(_ reason: ConnectionRefusal, address: SocketAddress?) {
        state.withLockedValue { $0.counts.countClosed(reason) }
        note(reason, ConnectionCounts.addressKey(address), "connection dropped")
    }

    private func note(_ reason: ConnectionRefusal, _ key: String, _ message: Logger.Message) {
        let now = NIODeadline.now()
        let suppressed: Int? = state.withLockedValue { s in
            if let last = s.lastLog[reason], now - last < .seconds(1) {
                s.unlogged[reason, default: 0] += 1
                return nil
            }
            s.lastLog[reason] = now
            return s.unlogged.removeValue(forKey: reason) ?? 0
        }
        guard let suppressed else { return }
        let total = state.withLockedValue { $0.counts.refused[reason, default: 0] }
        logger.notice(message, metadata: ["reason": "\(reason.rawValue)", "address": "\(key)",
                                                      "total": "\(total)", "unlogged": "\(suppressed)"])
    }
}
