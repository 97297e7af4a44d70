import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// `GET /metrics` on a listener of its own (`--metrics HOST:PORT`), off the
/// public one: for an operator who scrapes over an internal network and
/// wants the public listener to answer 404 there. Serves nothing else.
public final class MetricsListener: Sendable {
    private let source: any MetricsSource
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)

    /// Creates a listener; nothing is bound until `start`.
    public init(source: any MetricsSource, group: any EventLoopGroup, logger: Logger) {
        self.source = source
        self.group = group
        self.logger = logger
    }

    /// Binds `host:port` (0: any free port) and returns the bound address.
    public func start(host: String, port: Int) async throws -> SocketAddress {
        let source = self.source
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(MetricsHTTPHandler(source: source))
                }
            }
            .bind(host: host, port: port).get()
        channel.withLockedValue { $0 = listener }
        let address = listener.localAddress!
        logger.notice("metrics listening", metadata: ["address": "\(address)", "path": "/metrics"])
        return address
    }

    /// Stops listening.
    public func stop() async {
        let listener = channel.withLockedValue { $0 }
        try? await listener?.close()
    }
}

/// Answers `/metrics` and 404s everything else; one request at a time
/// (NIO's pipelining handler holds the next until this one is answered).
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let source: any MetricsSource
    private var head: HTTPRequestHead?

    init(source: any MetricsSource) { self.source = source }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let text: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8"]
            guard head.method == .GET || head.method == .HEAD else {
                send(context: context, for: head, status: .methodNotAllowed, headers: text, body: Array("method not allowed\n".utf8))
                return
            }
            guard path == "/metrics" else {
                send(context: context, for: head, status: .notFound, headers: text, body: Array("not found\n".utf8))
                return
            }
            HTTPHandler.respondWithMetrics(source, context: context, to: head) {
                self.send(context: context, for: head, status: $0, headers: $1, body: $2)
            }
        }
    }

    private func send(context: ChannelHandlerContext, for head: HTTPRequestHead, status: HTTPResponseStatus,
                      headers: HTTPHeaders, body: [UInt8]) {
        var headers = headers
        headers.add(name: "Content-Length", value: String(body.count))
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !head.isKeepAlive {
            let context = context
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
