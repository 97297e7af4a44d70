import NIOCore
import NIOHTTP1

/// Plain HTTP/1.1 requests that did not upgrade: `/healthz`, the web client, and a
/// 426 for `/ws` without an Upgrade. GET and HEAD only; request bodies are ignored.
///
/// A request that completes while the channel is not writable (the peer is not
/// reading what we sent) is answered only when it becomes writable again, so a
/// client pipelining requests without reading gets at most one response beyond
/// the high-water mark; `HTTPConnectionTimeouts` caps the requests that wait.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let files: StaticFiles
    private let origins: OriginPolicy
    private var head: HTTPRequestHead?
    /// A complete request waiting for the channel to become writable.
    private var waiting: HTTPRequestHead?

    init(files: StaticFiles, origins: OriginPolicy = OriginPolicy()) {
        self.files = files
        self.origins = origins
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            if context.channel.isWritable {
                respond(context: context, to: head)
            } else {
                waiting = head
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let head = waiting {
            waiting = nil
            respond(context: context, to: head)
        }
        context.fireChannelWritabilityChanged()
    }

    /// The route table. Returns status, extra headers and body.
    static func route(_ head: HTTPRequestHead, files: StaticFiles,
                      origins: OriginPolicy = OriginPolicy()) -> (HTTPResponseStatus, HTTPHeaders, [UInt8]) {
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, ["Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8"], Array("method not allowed\n".utf8))
        }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        switch path {
        case "/healthz":
            return (.ok, ["Content-Type": "text/plain; charset=utf-8"], Array("ok".utf8))
        case "/ws" where !origins.allows(head.headers):
            return (.forbidden, ["Content-Type": "text/plain; charset=utf-8"],
                    Array("a page of another origin may not open this WebSocket\n".utf8))
        case "/ws":
            // RFC 7231 §6.5.15: tell the client which protocol it must upgrade to.
            return (.upgradeRequired, ["Upgrade": "websocket", "Content-Type": "text/plain; charset=utf-8"],
                    Array("this endpoint speaks WebSocket only\n".utf8))
        default:
            guard let file = files.lookup(path) else {
                return (.notFound, ["Content-Type": "text/plain; charset=utf-8"], Array("not found\n".utf8))
            }
            return (.ok, ["Content-Type": file.contentType], file.bytes)
        }
    }

    private func respond(context: ChannelHandlerContext, to head: HTTPRequestHead) {
        var (status, headers, body) = Self.route(head, files: files, origins: origins)
        headers.add(name: "Content-Length", value: String(body.count))
        // The page URL carries the token (?token=...): never leak it in a Referer.
        headers.add(name: "Referrer-Policy", value: "no-referrer")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Cache-Control", value: "no-cache")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let response = HTTPResponseHead(version: head.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let context = context
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
