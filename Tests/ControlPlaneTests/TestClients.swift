import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import XCTest
@testable import ControlPlane

/// A real WebSocket client over loopback TCP, built from NIO's client upgrader and
/// frame codec (RFC 6455 framing is NIO's, not ours). Frames arrive in an AsyncStream
/// that ends when the TCP connection closes; a watchdog closes it after 10 s so a
/// broken server fails a test instead of hanging it.
final class TestWebSocketClient: @unchecked Sendable {
    let channel: any Channel
    private var iterator: AsyncStream<WebSocketFrame>.Iterator

    private init(channel: any Channel, frames: AsyncStream<WebSocketFrame>) {
        self.channel = channel
        self.iterator = frames.makeAsyncIterator()
    }

    static func connect(port: Int, path: String = "/ws", group: any EventLoopGroup) async throws -> TestWebSocketClient {
        let (frames, continuation) = AsyncStream.makeStream(of: WebSocketFrame.self)
        let upgraded = group.next().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOWebSocketClientUpgrader(
                        requestKey: "dGhlIHNhbXBsZSBub25jZQ==",  // RFC 6455 §1.3 sample nonce
                        maxFrameSize: 1 << 20, automaticErrorHandling: false,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                // The requester sits before the frame decoder NIO appends; raw frames must not reach it.
                                channel.pipeline.syncOperations.removeHandler(name: "requester", promise: nil)
                                try channel.pipeline.syncOperations.addHandler(FrameCollector(continuation: continuation))
                                upgraded.succeed(())
                            }
                        })
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(UpgradeRequester(path: path, failure: upgraded), name: "requester")
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        channel.closeFuture.whenComplete { _ in
            continuation.finish()
            upgraded.fail(ChannelError.ioOnClosedChannel)
        }
        channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
        try await upgraded.futureResult.get()
        return TestWebSocketClient(channel: channel, frames: frames)
    }

    /// Sends a frame, masked as RFC 6455 §5.3 requires of clients unless `masked` is false.
    func send(_ opcode: WebSocketOpcode, _ bytes: [UInt8], fin: Bool = true, masked: Bool = true) async throws {
        let frame = WebSocketFrame(fin: fin, opcode: opcode, maskKey: masked ? .random() : nil,
                                   data: channel.allocator.buffer(bytes: bytes))
        try await channel.writeAndFlush(frame).get()
    }

    func sendText(_ text: String) async throws { try await send(.text, Array(text.utf8)) }

    func send(_ message: ClientMessage) async throws { try await send(.text, MessageCodec.encode(message)) }

    /// The next frame, or nil when the connection has closed.
    func nextFrame() async -> WebSocketFrame? { await iterator.next() }

    /// The next frame, which must be a text frame holding a server message.
    func nextMessage(file: StaticString = #filePath, line: UInt = #line) async throws -> ServerMessage {
        let next = await nextFrame()
        let frame = try XCTUnwrap(next, "connection closed", file: file, line: line)
        XCTAssertEqual(frame.opcode, .text, file: file, line: line)
        var data = frame.unmaskedData
        return try MessageCodec.decodeServerMessage(data.readBytes(length: data.readableBytes) ?? [])
    }

    /// The next frame, which must be a Close; returns its status code (nil if it has none).
    func nextClose(file: StaticString = #filePath, line: UInt = #line) async throws -> UInt16? {
        let next = await nextFrame()
        let frame = try XCTUnwrap(next, "connection closed without a Close frame", file: file, line: line)
        XCTAssertEqual(frame.opcode, .connectionClose, file: file, line: line)
        var data = frame.unmaskedData
        return data.readInteger(as: UInt16.self)
    }

    /// The next frame must be a Close with `code`.
    func expectClose(_ code: UInt16, file: StaticString = #filePath, line: UInt = #line) async throws {
        let got = try await nextClose(file: file, line: line)
        XCTAssertEqual(got, code, file: file, line: line)
    }

    /// The next frame must be a text frame holding `message`.
    func expectMessage(_ message: ServerMessage, file: StaticString = #filePath, line: UInt = #line) async throws {
        let got = try await nextMessage(file: file, line: line)
        XCTAssertEqual(got, message, file: file, line: line)
    }

    /// The next frame must be of `opcode`; returns it.
    func expectFrame(_ opcode: WebSocketOpcode, file: StaticString = #filePath, line: UInt = #line) async throws -> WebSocketFrame {
        let next = await nextFrame()
        let frame = try XCTUnwrap(next, "connection closed", file: file, line: line)
        XCTAssertEqual(frame.opcode, opcode, file: file, line: line)
        return frame
    }

    /// The server must close TCP with no further frames.
    func expectTCPClosed(file: StaticString = #filePath, line: UInt = #line) async {
        let rest = await drainUntilClosed()
        XCTAssertEqual(rest.map(\.opcode), [], file: file, line: line)
    }

    /// Waits until the server has closed TCP (the frame stream ends); returns frames that came first.
    func drainUntilClosed() async -> [WebSocketFrame] {
        var rest: [WebSocketFrame] = []
        while let frame = await nextFrame() { rest.append(frame) }
        return rest
    }
}

/// Sends the HTTP request that the client upgrader turns into a WebSocket handshake.
private final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    let path: String
    let failure: EventLoopPromise<Void>

    init(path: String, failure: EventLoopPromise<Void>) {
        self.path = path
        self.failure = failure
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1")
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    /// A response reaching here means the server refused the upgrade.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            failure.fail(UpgradeRefused(status: head.status))
            context.close(promise: nil)
        }
    }
}

struct UpgradeRefused: Error { var status: HTTPResponseStatus }

/// Collects frames and, like a browser, answers the server's Close with a Close
/// carrying the same code (RFC 6455 §5.5.1) unless the client closed first.
private final class FrameCollector: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    let continuation: AsyncStream<WebSocketFrame>.Continuation
    var closeSent = false

    init(continuation: AsyncStream<WebSocketFrame>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        continuation.yield(frame)
        if frame.opcode == .connectionClose, !closeSent {
            closeSent = true
            var payload = frame.unmaskedData
            let code = payload.readSlice(length: min(2, payload.readableBytes)) ?? ByteBuffer()
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: code)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if unwrapOutboundIn(data).opcode == .connectionClose { closeSent = true }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
}

/// One raw HTTP/1.1 exchange: writes `request`, reads until the server closes.
enum RawHTTP {
    static func exchange(_ request: String, port: Int, group: any EventLoopGroup) async throws -> String {
        let done = group.next().makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteCollector(done: done))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
        try await channel.writeAndFlush(channel.allocator.buffer(string: request)).get()
        return String(decoding: try await done.futureResult.get(), as: UTF8.self)
    }

    /// Status code, headers (lower-cased names) and body of a response.
    static func parse(_ response: String) -> (status: Int, headers: [String: String], body: String) {
        let parts = response.components(separatedBy: "\r\n\r\n")
        let lines = parts[0].components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            let kv = line.split(separator: ":", maxSplits: 1)
            if kv.count == 2 { headers[kv[0].lowercased()] = kv[1].trimmingCharacters(in: .whitespaces) }
        }
        return (status, headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}

private final class ByteCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let done: EventLoopPromise<[UInt8]>
    var bytes: [UInt8] = []
    init(done: EventLoopPromise<[UInt8]>) { self.done = done }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
    }
    func channelInactive(context: ChannelHandlerContext) { done.succeed(bytes) }
}
