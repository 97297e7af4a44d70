import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// What a WebSocket connection reports; every call arrives on the
/// connection's event loop.
protocol WebSocketConnectionDelegate: AnyObject {
    /// The upgrade succeeded; messages may be sent.
    func webSocketOpened(_ connection: WebSocketConnection)
    /// A complete text message arrived.
    func webSocket(_ connection: WebSocketConnection, text: [UInt8])
    /// The connection ended (Close frame code if one came), or could not be opened.
    func webSocketClosed(_ connection: WebSocketConnection, code: UInt16?, error: (any Error)?)
}

/// A WebSocket client (RFC 6455) on one event loop: NIO's HTTP/1 client
/// upgrader and frame codec, with text messages reassembled from fragments
/// and Close answered as §5.5.1 asks.
final class WebSocketConnection: @unchecked Sendable {  // confined to `loop`
    let loop: any EventLoop
    weak var delegate: (any WebSocketConnectionDelegate)?
    private(set) var channel: (any Channel)?
    private var closedReported = false

    init(loop: any EventLoop) { self.loop = loop }

    /// Connects to ws://host:port/path; the delegate hears the outcome.
    func connect(host: String, port: Int, path: String) {
        let opened = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOWebSocketClientUpgrader(
                        maxFrameSize: 1 << 20, automaticErrorHandling: true,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                channel.pipeline.syncOperations.removeHandler(name: "requester", promise: nil)
                                try channel.pipeline.syncOperations.addHandler(
                                    FrameHandler(connection: self))
                                opened.succeed(())
                            }
                        })
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeRequester(host: host, path: path, failure: opened), name: "requester")
                }
            }
        bootstrap.connect(host: host, port: port).whenComplete { [self] result in
            switch result {
            case .success(let channel):
                self.channel = channel
                channel.closeFuture.whenComplete { _ in
                    opened.fail(ChannelError.ioOnClosedChannel)
                    self.reportClosed(code: nil, error: nil)
                }
            case .failure(let error):
                opened.fail(error)
            }
        }
        opened.futureResult.whenComplete { [self] result in
            switch result {
            case .success: delegate?.webSocketOpened(self)
            case .failure(let error): reportClosed(code: nil, error: error)
            }
        }
    }

    /// Sends one text message (masked, RFC 6455 §5.3).
    func send(text: String) {
        guard let channel else { return }
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: channel.allocator.buffer(string: text))
        channel.writeAndFlush(frame, promise: nil)
    }

    /// Sends Close with `code`; the server answers and closes TCP.
    func close(code: UInt16 = 1000) {
        guard let channel else { return }
        var data = channel.allocator.buffer(capacity: 2)
        data.writeInteger(code)
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data), promise: nil)
        // Do not wait forever for the server's Close.
        channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    /// Drops TCP without a Close frame (a vanishing client).
    func abort() { channel?.close(promise: nil) }

    fileprivate func received(text: [UInt8]) { delegate?.webSocket(self, text: text) }

    fileprivate func reportClosed(code: UInt16?, error: (any Error)?) {
        guard !closedReported else { return }
        closedReported = true
        delegate?.webSocketClosed(self, code: code, error: error)
    }
}

/// Sends the GET that the client upgrader turns into a handshake.
private final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    let host: String
    let path: String
    let failure: EventLoopPromise<Void>

    init(host: String, path: String, failure: EventLoopPromise<Void>) {
        self.host = host
        self.path = path
        self.failure = failure
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: "0")
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers))),
                      promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    /// A response reaching here means the server refused the upgrade.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            failure.fail(UpgradeRefused(status: head.status.code))
            context.close(promise: nil)
        }
    }
}

/// The server answered the upgrade request with this HTTP status.
struct UpgradeRefused: Error, CustomStringConvertible {
    var status: UInt
    var description: String { "upgrade refused with HTTP \(status)" }
}

/// Reassembles text messages, answers Ping and Close.
private final class FrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    weak var connection: WebSocketConnection?
    private var text: [UInt8] = []
    private var inText = false
    private var closeSent = false

    init(connection: WebSocketConnection?) { self.connection = connection }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        var payload = frame.unmaskedData
        switch frame.opcode {
        case .text:
            text = payload.readBytes(length: payload.readableBytes) ?? []
            inText = !frame.fin
            if frame.fin { connection?.received(text: text) }
        case .continuation where inText:
            text += payload.readBytes(length: payload.readableBytes) ?? []
            if frame.fin {
                inText = false
                connection?.received(text: text)
            }
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: payload)),
                                  promise: nil)
        case .connectionClose:
            let code = payload.readInteger(as: UInt16.self)
            if !closeSent {
                closeSent = true
                var reply = context.channel.allocator.buffer(capacity: 2)
                if let code { reply.writeInteger(code) }
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose,
                                                                     maskKey: .random(), data: reply)), promise: nil)
            }
            connection?.reportClosed(code: code, error: nil)
            context.close(promise: nil)
        default:
            break
        }
    }
}
