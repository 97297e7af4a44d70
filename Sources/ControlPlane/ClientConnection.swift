import NIOCore
import NIOWebSocket

/// The control plane's handle on one WebSocket client, given to the delegate for
/// pushing messages. Safe to use from any thread, task or event loop: each call
/// hops to the channel's loop, and messages keep the order in which they reach it.
public final class ClientConnection: Sendable, Hashable, CustomStringConvertible {
    /// A random id for correlating log lines; not a security token.
    public let id: UInt64
    /// The client's address as seen by the TCP socket (a proxy's, behind one).
    public let remoteAddress: SocketAddress?
    private let channel: any Channel

    init(channel: any Channel) {
        self.id = UInt64.random(in: 1...UInt64.max)
        self.remoteAddress = channel.remoteAddress
        self.channel = channel
    }

    /// Sends one message as one text frame. Dropped silently once the connection is
    /// closing (RFC 6455 §5.5.1: no data after a Close frame).
    public func send(_ message: ServerMessage) {
        channel.writeAndFlush(message, promise: nil)
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2), after sending `message` if given.
    /// Use `.normalClosure` after `left`, `.policyViolation` after an authorization error.
    public func close(code: WebSocketErrorCode = .normalClosure, after message: ServerMessage? = nil) {
        channel.triggerUserOutboundEvent(CloseRequest(code: code, message: message), promise: nil)
    }

    /// Identity: one handle per connection.
    public static func == (a: ClientConnection, b: ClientConnection) -> Bool { a === b }

    /// Hashes the identity.
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }

    /// "conn#<id> <address>" for logs.
    public var description: String {
        "conn#\(String(id, radix: 16)) \(remoteAddress.map { "\($0)" } ?? "?")"
    }
}

/// Outbound user event asking the WebSocket handler to close gracefully.
struct CloseRequest: Sendable {
    var code: WebSocketErrorCode
    var message: ServerMessage?
}
