import NIOCore
import NIOEmbedded
import NIOHTTP1
import XCTest
@testable import ControlPlane

/// The per-connection bounds of issue 14 on `EmbeddedChannel`, with the embedded
/// loop's manual clock: read pausing, the outbound cap, the stall, header and idle
/// timeouts, and the pipelining cap.
final class ConnectionBoundsTests: XCTestCase {
    /// Counts `read()` calls that get past the handlers behind it.
    private final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    private final class Drops: @unchecked Sendable {
        var reasons: [ConnectionRefusal] = []
    }

    private func connected(_ handlers: [any ChannelHandler]) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(handlers)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    private func setWritable(_ channel: EmbeddedChannel, _ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    // MARK: OutboundBackpressureHandler

    func testReadsPauseWhileNotWritableAndResume() throws {
        let counter = ReadCounter()
        let channel = try connected([counter, OutboundBackpressureHandler(maxBufferedBytes: 1000, stallTimeout: .seconds(10))])
        let before = counter.reads
        channel.read()
        XCTAssertEqual(counter.reads, before + 1)
        setWritable(channel, false)
        channel.read()
        channel.read()
        XCTAssertEqual(counter.reads, before + 1, "no read while the peer does not take our output")
        setWritable(channel, true)
        XCTAssertEqual(counter.reads, before + 2, "the held read goes out once writable")
        channel.read()
        XCTAssertEqual(counter.reads, before + 3)
    }

    func testWriteOverTheCapClosesInsteadOfQueueing() throws {
        let drops = Drops()
        let channel = try connected([OutboundBackpressureHandler(maxBufferedBytes: 1000, stallTimeout: .seconds(10)) {
            drops.reasons.append($0)
        }])
        // Unflushed writes stay buffered on EmbeddedChannel, as unsent ones do on a socket.
        channel.write(ByteBuffer(repeating: 1, count: 600), promise: nil)
        channel.write(ByteBuffer(repeating: 2, count: 600), promise: nil)  // 600 buffered: under the cap
        XCTAssertTrue(channel.isActive)
        let third = channel.write(ByteBuffer(repeating: 3, count: 1))  // 1200 buffered: over
        XCTAssertThrowsError(try third.wait())
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(drops.reasons, [.outboundOverflow])
    }

    func testStalledPeerIsClosedAfterStallTimeout() throws {
        let drops = Drops()
        let channel = try connected([OutboundBackpressureHandler(maxBufferedBytes: 1000, stallTimeout: .seconds(10)) {
            drops.reasons.append($0)
        }])
        setWritable(channel, false)
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        setWritable(channel, true)  // drained in time: the clock stops
        setWritable(channel, false)
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        XCTAssertTrue(channel.isActive, "each unwritable spell gets the full stall timeout")
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(drops.reasons, [.outboundStalled])
    }

    // MARK: HTTPConnectionTimeouts

    private func httpChannel(maxPipelined: Int = 16, drops: Drops = Drops()) throws -> EmbeddedChannel {
        try connected([HTTPResponseEncoder(),
                       HTTPConnectionTimeouts(headerTimeout: .seconds(10), idleTimeout: .seconds(30), maxPipelined: maxPipelined) {
                           drops.reasons.append($0)
                       }])
    }

    private func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = part { text += String(buffer: buffer) }
        }
        return text
    }

    private let get = HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz"))

    private func answer(_ channel: EmbeddedChannel) throws {
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok,
                                                                               headers: ["Content-Length": "0"])))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    func testFirstRequestHeadMustArriveWithinHeaderTimeout() throws {
        let drops = Drops()
        let channel = try httpChannel(drops: drops)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(9_999))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        XCTAssertTrue(try output(channel).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(drops.reasons, [.headerTimeout])
    }

    func testKeepAliveIdleTimeoutThenHeaderTimeoutOnceBytesArrive() throws {
        let channel = try httpChannel()
        try channel.writeInbound(get)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        XCTAssertTrue(channel.isActive, "no timeout while a response is owed")
        try answer(channel)
        _ = try output(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        XCTAssertTrue(channel.isActive, "idle keep-alive: 30 s")
        // Bytes of a next request that complete no head: the header timeout starts.
        channel.pipeline.fireChannelReadComplete()
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        XCTAssertTrue(try output(channel).hasPrefix("HTTP/1.1 408"))
        XCTAssertFalse(channel.isActive)
    }

    func testIdleKeepAliveConnectionClosesSilently() throws {
        let channel = try httpChannel()
        try channel.writeInbound(get)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try answer(channel)
        _ = try output(channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(29_999))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(try output(channel), "")
    }

    func testPipelinedRequestsOverTheCapClose() throws {
        let drops = Drops()
        let channel = try httpChannel(maxPipelined: 2, drops: drops)
        for _ in 0..<2 {
            try channel.writeInbound(get)
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
        }
        XCTAssertTrue(channel.isActive)
        try channel.writeInbound(get)
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(drops.reasons, [.pipelinedRequests])
        var delivered = 0
        while try channel.readInbound(as: HTTPServerRequestPart.self) != nil { delivered += 1 }
        XCTAssertEqual(delivered, 4, "the third request is not passed on")
    }

    // MARK: HTTPHandler

    func testResponseWaitsUntilWritable() throws {
        let files = StaticFiles(files: [:])
        let channel = try connected([HTTPHandler(files: files)])
        setWritable(channel, false)
        try channel.writeInbound(get)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        XCTAssertNil(try channel.readOutbound(as: HTTPServerResponsePart.self), "no answer while the peer does not read")
        setWritable(channel, true)
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            return XCTFail("expected the response head")
        }
        XCTAssertEqual(head.status, .ok)
    }

    // MARK: ConnectionCounts

    func testConnectionCaps() {
        var limits = ConnectionLimits()
        limits.maxConnections = 3
        limits.maxConnectionsPerAddress = 2
        var counts = ConnectionCounts()
        XCTAssertNil(counts.openConnection(from: "a", limits: limits))
        XCTAssertNil(counts.openConnection(from: "a", limits: limits))
        XCTAssertEqual(counts.openConnection(from: "a", limits: limits), .maxConnectionsPerAddress)
        XCTAssertNil(counts.openConnection(from: "b", limits: limits))
        XCTAssertEqual(counts.openConnection(from: "c", limits: limits), .maxConnections)
        counts.closeConnection(from: "a")
        XCTAssertNil(counts.openConnection(from: "c", limits: limits))
        XCTAssertEqual(counts.refused, [.maxConnectionsPerAddress: 1, .maxConnections: 1])
        for address in ["a", "b", "c"] { counts.closeConnection(from: address) }
        XCTAssertEqual(counts.open, 0)
        XCTAssertEqual(counts.openByAddress, [:], "no entry kept for addresses without connections")
    }

    func testPendingJoinCapsDerivedFromConnectionCaps() {
        let limits = ConnectionLimits(maxConnections: 100, maxConnectionsPerAddress: 8)
        XCTAssertEqual(limits.maxPendingJoins, 10)
        XCTAssertEqual(limits.maxPendingJoinsPerAddress, 2)
        var counts = ConnectionCounts()
        XCTAssertNil(counts.startPendingJoin(from: "a", limits: limits))
        XCTAssertNil(counts.startPendingJoin(from: "a", limits: limits))
        XCTAssertEqual(counts.startPendingJoin(from: "a", limits: limits), .maxPendingJoinsPerAddress)
        counts.endPendingJoin(from: "a")
        XCTAssertNil(counts.startPendingJoin(from: "a", limits: limits))
        XCTAssertEqual(ConnectionLimits(maxConnections: 1, maxConnectionsPerAddress: 1).maxPendingJoinsPerAddress, 1)
    }

    func testAddressKeys() throws {
        XCTAssertEqual(ConnectionCounts.addressKey(try SocketAddress(ipAddress: "192.0.2.7", port: 1)), "192.0.2.7")
        // One IPv6 host owns a /64: every address in it counts as one.
        XCTAssertEqual(ConnectionCounts.addressKey(try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1)),
                       ConnectionCounts.addressKey(try SocketAddress(ipAddress: "2001:db8:1:2:ffff::9", port: 2)))
        XCTAssertNotEqual(ConnectionCounts.addressKey(try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1)),
                          ConnectionCounts.addressKey(try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1)))
        XCTAssertEqual(ConnectionCounts.addressKey(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)), "192.0.2.7")
    }

    // MARK: over real sockets

    func testConnectionsOverThePerAddressCapAreClosedAtAccept() async throws {
        let h = try await ServerHarness.start { $0.limits.maxConnectionsPerAddress = 1 }
        let held = try await h.connect()
        // Closed at accept: nothing comes back (or the request cannot even be written).
        let refused = try? await RawHTTP.exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", port: h.port, group: h.group)
        XCTAssertEqual(refused ?? "", "")
        XCTAssertEqual(h.server.connectionStatistics.refused[.maxConnectionsPerAddress], 1)
        _ = held
        try await h.stop()
    }

    func testWebSocketsOverThePendingJoinCapGetBusyAnd1013() async throws {
        let h = try await ServerHarness.start {
            $0.limits.maxPendingJoinsPerAddress = 1
            $0.closeTimeout = .milliseconds(50)
        }
        let first = try await h.connect()
        // A raw upgrade: the refusal follows the 101 in the same read, which the test client's upgrader may drop.
        let second = try await RawHTTP.exchange(
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            port: h.port, group: h.group)
        XCTAssertTrue(second.hasPrefix("HTTP/1.1 101"), second)
        XCTAssertTrue(second.contains("\"code\":\"busy\""), second)
        XCTAssertEqual(h.server.connectionStatistics.pendingJoins, 1)
        try await first.send(.connectionClose, [0x03, 0xE8])
        try await first.expectClose(1000)
        await first.expectTCPClosed()
        try await h.stop()  // returns once every connection's close has completed
        XCTAssertEqual(h.server.connectionStatistics.pendingJoins, 0, "closed WebSockets give their places back")
        XCTAssertEqual(h.server.connectionStatistics.open, 0)
    }
}
