import NIOCore
import NIOHTTP1

/// Between the HTTP request decoder and `HTTPServerPipelineHandler`: closes HTTP
/// connections that hold the server without using it (docs/PROTOCOL.md, "Connecting").
///
/// - Header timeout: a request must be complete (head and body) within
///   `headerTimeout`, counted from accept for the first request and from the first
///   bytes of a later one; else `408 Request Timeout` (RFC 9110 §15.5.9), then close.
/// - Idle timeout: a keep-alive connection with nothing to answer and no bytes of a
///   next request is closed after `idleTimeout` (RFC 9112 §9.8 lets a server close
///   idle connections).
/// - Pipelining cap: more than `maxPipelined` requests received and not yet
///   answered closes the connection. Responses wait while the peer does not read
///   (`HTTPHandler`), so this is what bounds the requests parked in
///   `HTTPServerPipelineHandler` for such a peer.
///
/// Removed before a WebSocket upgrade completes. Runs on the channel's event loop.
final class HTTPConnectionTimeouts: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Deadline: Equatable {
        case header, idle
    }

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let maxPipelined: Int
    private let onDrop: (ConnectionRefusal) -> Void
    /// Requests received (at least their head) and not yet answered (no response `.end`).
    private var unanswered = 0
    /// A head arrived whose `.end` has not.
    private var receiving = false
    /// Bytes arrived since the last request without completing a head.
    private var partialRequest = true
    private var headThisRead = false
    private var closing = false
    private var timer: (deadline: Deadline, task: Scheduled<Void>)?

    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount, maxPipelined: Int,
         onDrop: @escaping (ConnectionRefusal) -> Void = { _ in }) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.maxPipelined = maxPipelined
        self.onDrop = onDrop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // The first request gets `headerTimeout` from accept.
        reschedule(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            guard unanswered <= maxPipelined else {
                return close(context: context, .pipelinedRequests)
            }
            receiving = true
            headThisRead = true
            partialRequest = false
        case .body:
            break
        case .end:
            receiving = false
        }
        reschedule(context: context)
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // A read that completed no head while nothing was owed brought the start of a request.
        if !headThisRead && !receiving && unanswered == 0 { partialRequest = true }
        headThisRead = false
        reschedule(context: context)
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            context.write(data, promise: promise)
            reschedule(context: context)
        } else {
            context.write(data, promise: promise)
        }
    }

    /// Which deadline applies now, and arms it unless that one is already running.
    private func reschedule(context: ChannelHandlerContext) {
        let wanted: Deadline? =
            receiving ? .header : unanswered > 0 ? nil : partialRequest ? .header : .idle
        guard wanted != timer?.deadline else { return }
        timer?.task.cancel()
        timer = nil
        guard let wanted, !closing else { return }
        let task = context.eventLoop.assumeIsolated().scheduleTask(in: wanted == .header ? headerTimeout : idleTimeout) { [self] in
            timer = nil
            expire(context: context, wanted)
        }
        timer = (wanted, task)
    }

    private func expire(context: ChannelHandlerContext, _ deadline: Deadline) {
        guard !closing else { return }
        switch deadline {
        case .idle:
            closing = true
            context.close(promise: nil)
        case .header:
            // Say why when nothing else is owed and the peer reads; otherwise just close.
            guard unanswered == 0 || receiving, unanswered <= 1, context.channel.isWritable else {
                return close(context: context, .headerTimeout)
            }
            closing = true
            onDrop(.headerTimeout)
            let body = "request not complete within \(headerTimeout.nanoseconds / 1_000_000_000) s\n"
            let headers: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8", "Content-Length": "\(body.utf8.count)",
                                        "Connection": "close"]
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .requestTimeout, headers: headers))),
                          promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    private func close(context: ChannelHandlerContext, _ reason: ConnectionRefusal) {
        closing = true
        timer?.task.cancel()
        timer = nil
        onDrop(reason)
        context.close(promise: nil)
    }
}
