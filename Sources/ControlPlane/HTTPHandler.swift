import NIOCore
import NIOHTTP1
import NIOPosix
import Tokens

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
    private let records: RecordsAccess?
    private let readiness: Readiness?
    private let metrics: (any MetricsSource)?
    private var head: HTTPRequestHead?
    /// A complete request waiting for the channel to become writable.
    private var waiting: HTTPRequestHead?

    init(files: StaticFiles, origins: OriginPolicy = OriginPolicy(), records: RecordsAccess? = nil,
         readiness: Readiness? = nil, metrics: (any MetricsSource)? = nil) {
        self.files = files
        self.origins = origins
        self.records = records
        self.readiness = readiness
        self.metrics = metrics
    }

    /// What `/records/...` needs: the records, and how to check the bearer's token.
    struct RecordsAccess: Sendable {
        var source: any RecordsSource
        var signer: TokenSigner
        var expectedSession: String?
        var now: @Sendable () -> Int64
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
        if head.uri.hasPrefix("/records/") {
            respondWithRecords(context: context, to: head)
            return
        }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if path == "/readyz", head.method == .GET || head.method == .HEAD {
            let text: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"]
            if let reason = readiness?.notReadyReason {
                send(context: context, for: head, status: .serviceUnavailable, headers: text, body: Array((reason + "\n").utf8))
            } else {
                send(context: context, for: head, status: .ok, headers: text, body: Array("ready\n".utf8))
            }
            return
        }
        if path == "/metrics", let metrics, head.method == .GET || head.method == .HEAD {
            Self.respondWithMetrics(metrics, context: context, to: head) { self.send(context: context, for: head, status: $0, headers: $1, body: $2) }
            return
        }
        let (status, headers, body) = Self.route(head, files: files, origins: origins)
        send(context: context, for: head, status: status, headers: headers, body: body)
    }

    /// `GET /metrics`: the source gathers on the media loops and answers on
    /// this one; a failure (the server is stopping) is a 503.
    static func respondWithMetrics(_ metrics: any MetricsSource, context: ChannelHandlerContext, to head: HTTPRequestHead,
                                   send: @escaping (HTTPResponseStatus, HTTPHeaders, [UInt8]) -> Void) {
        metrics.exposition(on: context.eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let body):
                send(.ok, ["Content-Type": prometheusContentType, "Cache-Control": "no-store"], body)
            case .failure:
                send(.serviceUnavailable, ["Content-Type": "text/plain; charset=utf-8"], Array("metrics unavailable\n".utf8))
            }
        }
    }

    /// `GET /records/attendance|audit?session=X`: authorized at once on the
    /// loop, read from the database on the thread pool (never on the loop).
    private func respondWithRecords(context: ChannelHandlerContext, to head: HTTPRequestHead) {
        let text: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8"]
        guard let records else {
            send(context: context, for: head, status: .notFound, headers: text, body: Array("records are off on this server\n".utf8))
            return
        }
        guard head.method == .GET else {
            send(context: context, for: head, status: .methodNotAllowed, headers: ["Allow": "GET"], body: [])
            return
        }
        switch RecordsRequest.authorize(head, signer: records.signer, now: records.now(), expectedSession: records.expectedSession) {
        case .failure(let refusal):
            var headers = text
            if refusal.status == .unauthorized { headers.add(name: "WWW-Authenticate", value: "Bearer") }
            send(context: context, for: head, status: refusal.status, headers: headers, body: Array((refusal.message + "\n").utf8))
        case .success(let request):
            let source = records.source
            let work = NIOThreadPool.singleton.runIfActive(eventLoop: context.eventLoop) {
                () -> (HTTPResponseStatus, String, String) in
                do {
                    let out = try source.export(report: request.report, session: request.session, from: request.from,
                                                to: request.to, format: request.format)
                    return (.ok, out.contentType, out.body)
                } catch let e as RecordsQueryError {
                    return (.badRequest, "text/plain; charset=utf-8", e.message + "\n")
                } catch {
                    return (.internalServerError, "text/plain; charset=utf-8", "the records could not be read\n")
                }
            }
            let context = context
            work.assumeIsolated().whenComplete { result in
                let (status, type, body) = (try? result.get()) ?? (.serviceUnavailable, "text/plain; charset=utf-8", "stopping\n")
                self.send(context: context, for: head, status: status,
                          headers: ["Content-Type": type, "Cache-Control": "no-store"], body: Array(body.utf8))
            }
        }
    }

    private func send(context: ChannelHandlerContext, for head: HTTPRequestHead, status: HTTPResponseStatus,
                      headers: HTTPHeaders, body: [UInt8]) {
        var headers = headers
        headers.add(name: "Content-Length", value: String(body.count))
        // The page URL carries the token (?token=...): never leak it in a Referer.
        headers.add(name: "Referrer-Policy", value: "no-referrer")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        if !headers.contains(name: "Cache-Control") { headers.add(name: "Cache-Control", value: "no-cache") }
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
