import Logging
import NIOCore
import NIOPosix
import SFU
import STUN
import Wire

/// The ICE-TCP side of one media loop (RFC 6544 passive candidates, RFC 4571
/// framing): a TCP listener on the UDP socket's port number whose
/// connections are one more transport behind the same `DatagramEngine`.
///
/// Each connection's frames reach the engine from an address whose
/// `transport` is `.tcp(connection:)`, so the engine's ICE, DTLS and SRTP
/// work unchanged and its transmits to that address come back here and go
/// out on that connection only. The bookkeeping (caps, timeouts, counters)
/// is the sans-IO `IceTCPConnections`; this class owns the sockets and a
/// sweep timer and nothing else. Everything runs on the media loop.
final class IceTCPTransport<Engine: DatagramEngine>: @unchecked Sendable {
    let eventLoop: EventLoop
    private(set) var table: IceTCPConnections
    private var channels: [UInt32: Channel] = [:]
    /// Connections written to since the last flush.
    private var dirty: [Channel] = []
    private weak var media: MediaChannelHandler<Engine>?
    private let logger: Logger
    private var serverChannel: Channel?
    private var sweep: RepeatedTask?

    init(eventLoop: EventLoop, limits: IceTCPLimits, media: MediaChannelHandler<Engine>, logger: Logger) {
        self.eventLoop = eventLoop
        self.table = IceTCPConnections(limits: limits)
        self.media = media
        self.logger = logger
    }

    /// Listens on `host:port` (the UDP socket's port) and starts the sweep.
    func bind(host: String, port: Int) -> EventLoopFuture<SocketAddress> {
        let limits = table.limits
        return ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark,
                                value: .init(low: limits.maxQueuedBytes / 2, high: limits.maxQueuedBytes))
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        IceTCPConnectionHandler(transport: self, maxFrame: limits.maxFrame))
                }
            }
            .bind(host: host, port: port)
            .map { [self] channel in
                serverChannel = channel
                sweep = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) { [weak self] _ in
                    self?.expire()
                }
                return channel.localAddress!
            }
    }

    /// Closes the listener and every connection.
    func close() -> EventLoopFuture<Void> {
        eventLoop.submit { [self] in
            sweep?.cancel()
            for channel in channels.values { channel.close(promise: nil) }
        }.flatMap { [self] in serverChannel?.close() ?? eventLoop.makeSucceededVoidFuture() }
    }

    // MARK: Called by the connection handlers

    /// A connection was accepted: its number, or nil when it must close.
    func open(_ channel: Channel) -> UInt32? {
        guard let (id, evict) = table.open(now: monotonicNow()) else { return nil }
        if let evict, let victim = channels.removeValue(forKey: evict) { victim.close(promise: nil) }
        channels[id] = channel
        return id
    }

    /// One whole frame from connection `id`, at `now`.
    func receive(_ frame: [UInt8], on id: UInt32, from source: StunAddress, now: Instant) {
        table.received(on: id, now: now)
        media?.receiveFrame(frame, from: source, now: now)
    }

    /// The end of one read burst: sends what the engine queued.
    func readComplete() { media?.flushFromStream() }

    /// Connection `id` closed; `framingError` when its framing lied.
    func closed(_ id: UInt32, framingError: Bool) {
        channels[id] = nil
        table.closed(id, framingError: framingError)
    }

    // MARK: Called by MediaChannelHandler.flush

    /// Queues `payload` framed on connection `id` (dropped, counted, when its
    /// send queue is full; ignored when the connection is gone).
    func write(_ payload: ByteBuffer, to id: UInt32) {
        guard let channel = channels[id] else { return }
        guard channel.isWritable, payload.readableBytes <= 0xFFFF else {
            table.sent(dropped: true)
            return
        }
        // A Binding success response (RFC 5389 §6, type 0x0101) is only
        // sent for a request with a known ufrag and valid integrity: the
        // connection belongs to a participant from now on.
        if payload.readableBytes >= 2, payload.getInteger(at: payload.readerIndex, as: UInt16.self) == 0x0101 {
            table.authenticated(id)
        }
        var framed = channel.allocator.buffer(capacity: 2 + payload.readableBytes)
        framed.writeInteger(UInt16(payload.readableBytes))
        framed.writeImmutableBuffer(payload)
        channel.write(framed, promise: nil)
        table.sent(dropped: false)
        dirty.append(channel)
    }

    /// Flushes the connections written to.
    func flush() {
        for channel in dirty { channel.flush() }
        dirty.removeAll(keepingCapacity: true)
    }

    private func expire() {
        for (id, reason) in table.expire(now: monotonicNow()) {
            logger.debug("ice-tcp connection closed", metadata: ["reason": "\(reason)"])
            channels.removeValue(forKey: id)?.close(promise: nil)
        }
    }
}

/// One ICE-TCP connection: RFC 4571 deframing in front of the loop's engine.
final class IceTCPConnectionHandler<Engine: DatagramEngine>: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let transport: IceTCPTransport<Engine>
    private var framer: RFC4571Framer
    private var id: UInt32?
    private var source: StunAddress?

    init(transport: IceTCPTransport<Engine>, maxFrame: Int) {
        self.transport = transport
        self.framer = RFC4571Framer(maxFrame: maxFrame)
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let remote = context.remoteAddress.flatMap(AddressConversion.stunAddress),
              let id = transport.open(context.channel) else {
            context.close(promise: nil)
            return
        }
        self.id = id
        source = StunAddress(ip: remote.ip, port: remote.port, transport: .tcp(connection: id))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let id, let source else { return }
        let bytes = unwrapInboundIn(data)
        let now = monotonicNow()
        do {
            try framer.push(bytes.readableBytesView) { frame in
                transport.receive(frame, on: id, from: source, now: now)
            }
        } catch {
            // A length that lies: nothing marks the next frame, so this
            // connection is done. Others are untouched.
            fail(context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        transport.readComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard let id else { return }
        self.id = nil
        var broken = false
        do { try framer.finish() } catch { broken = true }
        transport.closed(id, framingError: broken)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func fail(context: ChannelHandlerContext) {
        guard let id else { return }
        self.id = nil
        transport.closed(id, framingError: true)
        transport.readComplete()
        context.close(promise: nil)
    }
}
