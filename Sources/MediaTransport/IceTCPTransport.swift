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
/// sweep timer and nothing else. Everything here runs on `eventLoop`; the
/// frames of a read burst hop to the media thread in one command, and the
/// engine's transmits to TCP addresses hop back (a copy each: ICE-TCP is the
/// fallback path, not the hot one).
final class IceTCPTransport<Engine: DatagramEngine>: @unchecked Sendable {
    let eventLoop: EventLoop
    private(set) var table: IceTCPConnections
    private var channels: [UInt32: Channel] = [:]
    /// Frames read since the last hand-over to the media thread.
    private var pending: [(bytes: [UInt8], source: StunAddress)] = []
    private let media: MediaLoop<Engine>
    private let logger: Logger
    private var serverChannel: Channel?
    private var sweep: RepeatedTask?

    init(eventLoop: EventLoop, limits: IceTCPLimits, media: MediaLoop<Engine>, logger: Logger) {
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
        pending.append((frame, source))
    }

    /// The end of one read burst: its frames go to the engine, on the media thread.
    func readComplete() {
        guard !pending.isEmpty else { return }
        let frames = pending
        pending = []
        media.execute { $0.receiveFrames(frames) }
    }

    /// Connection `id` closed; `framingError` when its framing lied.
    func closed(_ id: UInt32, framingError: Bool) {
        channels[id] = nil
        table.closed(id, framingError: framingError)
    }

    // MARK: Called with the media thread's transmits

    /// Writes each payload framed on its connection and flushes them.
    func write(_ frames: [(connection: UInt32, bytes: [UInt8])]) {
        var dirty: [Channel] = []
        for frame in frames {
            if let channel = write(frame.bytes, to: frame.connection) { dirty.append(channel) }
        }
        for channel in dirty { channel.flush() }
    }

    /// Queues `payload` framed on connection `id` (dropped, counted, when its
    /// send queue is full; ignored when the connection is gone). Returns the
    /// channel written to.
    private func write(_ payload: [UInt8], to id: UInt32) -> Channel? {
        guard let channel = channels[id] else { return nil }
        guard channel.isWritable, payload.count <= 0xFFFF else {
            table.sent(dropped: true)
            return nil
        }
        // A Binding success response (RFC 5389 §6, type 0x0101) is only
        // sent for a request with a known ufrag and valid integrity: the
        // connection belongs to a participant from now on.
        if payload.count >= 2, payload[0] == 0x01, payload[1] == 0x01 {
            table.authenticated(id)
        }
        var framed = channel.allocator.buffer(capacity: 2 + payload.count)
        framed.writeInteger(UInt16(payload.count))
        framed.writeBytes(payload)
        channel.write(framed, promise: nil)
        table.sent(dropped: false)
        return channel
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
