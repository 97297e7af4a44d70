import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// The HTTP/1.1 + WebSocket listener on one TCP port: `/healthz`, the web client,
/// and `/ws` signaling handed to a `SignalingDelegate`.
public final class ControlPlaneServer: Sendable {
    private let configuration: ControlPlaneConfiguration
    private let delegate: any SignalingDelegate
    private let group: any EventLoopGroup
    private let logger: Logger
    private let limiter: ConnectionLimiter
    private let trimmer = HeapTrimmer()

    private struct Registry {
        var listener: (any Channel)?
        var started = false
        var children: [ObjectIdentifier: any Channel] = [:]
    }
    private let registry = NIOLockedValueBox(Registry())

    /// The path WebSocket clients connect to.
    public static let webSocketPath = "/ws"

    /// Creates a server; nothing is bound until `start()`.
    public init(configuration: ControlPlaneConfiguration, delegate: any SignalingDelegate,
                group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.delegate = delegate
        self.group = group
        self.logger = logger
        self.limiter = ConnectionLimiter(limits: configuration.limits, logger: logger)
    }

    /// Open connections, waiting WebSockets and refusals so far, by reason.
    public var connectionStatistics: (open: Int, pendingJoins: Int, refused: [ConnectionRefusal: Int]) {
        let counts = limiter.counts
        return (counts.open, counts.pendingJoins, counts.refused)
    }

    /// Binds and starts accepting. Returns the bound address (its port when 0 was asked).
    public func start() async throws -> SocketAddress {
        let first = registry.withLockedValue { r in
            defer { r.started = true }
            return !r.started
        }
        guard first else { throw ControlPlaneError.alreadyStarted }
        let listener = try await ServerBootstrap(group: group)
            // A burst of connections (an attacker's, refused at once) must not fill the
            // accept queue ahead of real clients; the kernel caps this at somaxconn.
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: configuration.limits.writeBufferWaterMark)
            // One read of at most 16 KiB per wakeup: a flood of tiny frames on one connection
            // (2,300 bad-JSON frames fit in 16 KiB; 64 KiB of them held the loop ~0.4 s)
            // then yields the loop to others, and a paused read takes effect at once.
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048,
                                                                                       maximum: 16 * 1024))
            .childChannelInitializer { [self] channel in
                // Over a cap: the failed future makes NIO close the socket before registering it.
                guard limiter.openConnection(from: channel.remoteAddress) else {
                    return channel.eventLoop.makeFailedFuture(ControlPlaneError.connectionRefused)
                }
                track(channel)
                return channel.eventLoop.makeCompletedFuture { try self.configurePipeline(channel) }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        registry.withLockedValue { $0.listener = listener }
        let address = listener.localAddress!
        logger.info("control plane listening", metadata: ["address": "\(address)"])
        return address
    }

    /// Stops accepting, asks every WebSocket to close with 1001 Going Away (RFC 6455
    /// §7.4.1), drops plain HTTP connections, and returns when all are closed.
    /// Stops accepting connections (the first step of a shutdown).
    public func stopAccepting() async {
        let listener = registry.withLockedValue { $0.listener }
        try? await listener?.close()
    }

    /// Stops accepting connections, tells every WebSocket client
    /// `server-shutdown` (join again after `retryAfter` seconds), closes them
    /// with 1001 and waits until every connection is closed.
    public func shutdown(retryAfter: Int = ControlPlaneServer.shutdownRetryAfter) async {
        let (listener, children) = registry.withLockedValue { r in (r.listener, Array(r.children.values)) }
        try? await listener?.close()
        let notice = ServerMessage.serverShutdown(ServerShutdown(retryAfter: retryAfter))
        for channel in children {
            // Only the WebSocket handler consumes CloseRequest; on HTTP channels the event
            // reaches the head and fails, and we close directly.
            channel.triggerUserOutboundEvent(CloseRequest(code: .goingAway, message: notice)).whenFailure { _ in
                channel.close(promise: nil)
            }
        }
        for channel in children { try? await channel.closeFuture.get() }
        logger.info("control plane stopped")
    }

    /// The retry hint of `server-shutdown`: about what a restart takes.
    public static let shutdownRetryAfter = 5

    private func track(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        let address = channel.remoteAddress
        registry.withLockedValue { $0.children[key] = channel }
        channel.closeFuture.whenComplete { [registry, limiter, trimmer] _ in
            registry.withLockedValue { _ = $0.children.removeValue(forKey: key) }
            limiter.closeConnection(from: address)
            trimmer.connectionClosed(large: !channel.isWritable, on: channel.eventLoop)
        }
    }

    private static let httpHandlerName = "cohort.http"
    private static let timeoutsHandlerName = "cohort.http-timeouts"

    /// Runs on the child channel's loop.
    private func configurePipeline(_ channel: any Channel) throws {
        let configuration = self.configuration
        let delegate = self.delegate
        let logger = self.logger
        let limiter = self.limiter
        let limits = configuration.limits
        let address = channel.remoteAddress
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: configuration.maxMessageSize,
            automaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
                // A `session` query that is not valid percent-encoding is refused,
                // not ignored: ignoring it would drop the session check it asks for.
                // A page of another origin may not open one (refused with 403 by HTTPHandler).
                let upgrade = path == Self.webSocketPath && Self.hasValidQueryValue("session", in: head.uri)
                    && configuration.origins.allows(head.headers)
                if upgrade {
                    // Before the upgrade handler removes the HTTP handlers: the bytes it forwards
                    // after the decoder is gone must not reach a handler expecting HTTP parts.
                    channel.pipeline.syncOperations.removeHandler(name: Self.timeoutsHandlerName, promise: nil)
                }
                return channel.eventLoop.makeSucceededFuture(upgrade ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    // Both the server's own session and the client's `?session=` must match the token.
                    let sessions = [configuration.expectedSession, Self.queryValue("session", in: head.uri)].compactMap { $0 }
                    let machine = SignalingStateMachine(signer: configuration.signer, requiredSessions: sessions,
                                                        replayGuard: configuration.singleUseTokens,
                                                        outcomes: configuration.joinOutcomes)
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ClientFrameValidator(pacer: try? sync.handler(type: InputPacer.self)))
                    try sync.addHandler(NIOWebSocketFrameAggregator(
                        minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 256,
                        maxAccumulatedFrameSize: configuration.maxMessageSize))
                    try sync.addHandler(WebSocketHandler(machine: machine, delegate: delegate,
                                                         settings: configuration, logger: logger, limiter: limiter))
                }
            })
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(InputPacer(budget: configuration.inputBudget))
        let onDrop: (ConnectionRefusal) -> Void = { limiter.closed($0, address: address) }
        try sync.addHandler(OutboundBackpressureHandler(maxBufferedBytes: limits.maxBufferedOutboundBytes,
                                                        stallTimeout: limits.stallTimeout, onDrop: onDrop))
        try sync.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                context.pipeline.syncOperations.removeHandler(name: Self.httpHandlerName, promise: nil)
            }))
        // Before the pipelining handler, which parks requests that arrive while one is answered.
        try sync.addHandler(HTTPConnectionTimeouts(headerTimeout: limits.headerTimeout, idleTimeout: limits.idleTimeout,
                                                   maxPipelined: limits.maxPipelinedRequests, onDrop: onDrop),
                            name: Self.timeoutsHandlerName,
                            position: .before(try sync.handler(type: HTTPServerPipelineHandler.self)))
        let records = configuration.records.map {
            HTTPHandler.RecordsAccess(source: $0, signer: configuration.signer, expectedSession: configuration.expectedSession,
                                      now: configuration.now)
        }
        try sync.addHandler(HTTPHandler(files: configuration.staticFiles, origins: configuration.origins, records: records,
                                        readiness: configuration.readiness, metrics: configuration.metrics),
                            name: Self.httpHandlerName)
    }

    /// False when `name` is in the query but its value is not valid
    /// percent-encoded UTF-8; true when it is valid or absent.
    static func hasValidQueryValue(_ name: String, in uri: String) -> Bool {
        guard let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return true }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if kv.first.map(String.init) == name, kv.count > 1, percentDecode(kv[1]) == nil { return false }
        }
        return true
    }

    /// The percent-decoded value of `name` in a request target's query, if present.
    static func queryValue(_ name: String, in uri: String) -> String? {
        guard let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if kv.first.map(String.init) == name {
                return kv.count > 1 ? percentDecode(kv[1]) : ""
            }
        }
        return nil
    }

    private static func percentDecode(_ s: Substring) -> String? {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            switch b {
            case UInt8(ascii: "%"):
                guard bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                out.append(v)
                bytes = bytes.dropFirst(2)
            case UInt8(ascii: "+"): out.append(UInt8(ascii: " "))
            default: out.append(b)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
