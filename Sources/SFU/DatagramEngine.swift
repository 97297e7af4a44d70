import STUN
import Wire

/// A datagram to send: bytes and where to.
public struct Transmit: Sendable {
    /// The datagram.
    public var bytes: [UInt8]
    /// The destination.
    public var destination: StunAddress

    /// Creates a transmit.
    public init(bytes: [UInt8], destination: StunAddress) {
        self.bytes = bytes
        self.destination = destination
    }
}

/// The small interface between the UDP shell (MediaTransport) and the
/// sans-IO engine behind one socket. Every call happens on that socket's
/// event loop, with the time read once per batch by the shell.
public protocol DatagramEngine: AnyObject {
    /// Handles one received datagram, appending any datagrams to send to
    /// `transmits`. `datagram` is only borrowed: the engine copies what it keeps.
    func receive(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue)
    /// Handles one received datagram in the shell's buffer, which the
    /// engine may change in place (decrypt, rewrite) and keep what it likes
    /// of: the shell empties it before the next datagram. This saves the
    /// copy `receive(_:)` makes of what it must change. By default, `receive(_:)`.
    func receive(lending datagram: inout [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue)
    /// Handles timers that are due at `now`, appending datagrams to send.
    func handleTimeout(now: Instant, transmits: inout TransmitQueue)
    /// When `handleTimeout` must next be called, if ever.
    var nextDeadline: Instant? { get }
}

extension DatagramEngine {
    /// Borrows: engines that change nothing in place need no more.
    public func receive(lending datagram: inout [UInt8], from source: StunAddress, now: Instant,
                        transmits: inout TransmitQueue) {
        receive(datagram, from: source, now: now, transmits: &transmits)
    }
}

/// What the UDP shell in front of an engine dropped on its own, before or
/// after the engine (exported to `/metrics`).
public struct MediaSocketCounters: Sendable, Equatable {
    /// Datagrams longer than a receive slot (2 048 bytes), dropped.
    public var truncated = 0
    /// Datagrams from an address family the engine cannot name, dropped.
    public var unknownFamily = 0
    /// Datagrams the kernel refused to send (unreachable, too long), skipped.
    public var sendRefused = 0
    /// Datagrams dropped because the socket's send buffer was full.
    public var sendBufferFull = 0

    /// All zero.
    public init() {}
}
