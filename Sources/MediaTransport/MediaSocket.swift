import Logging
import NIOCore
import NIOPosix
import SFU
import STUN
import Wire

/// One UDP socket on one event loop, in front of one `DatagramEngine`.
///
/// It reads datagrams in batches (`recvmmsg` through NIO's vector reads),
/// hands each to the engine with the time read once per batch, writes the
/// engine's transmits and flushes once per batch (`sendmmsg`), and keeps a
/// single timer armed for the engine's next deadline. It owns sockets and
/// timers and nothing else (ARCHITECTURE.md, "MediaTransport"). With ICE-TCP
/// on, a TCP listener on the same port number feeds the same engine
/// (`IceTCPTransport`).
public final class MediaSocket<Engine: DatagramEngine>: @unchecked Sendable {
    /// The loop this socket and its engine live on.
    public let eventLoop: EventLoop
    /// The bound local address.
    public let localAddress: SocketAddress
    /// The ICE-TCP listener's address (same port number), if ICE-TCP is on.
    public let tcpLocalAddress: SocketAddress?
    private let channel: Channel
    private let handler: MediaChannelHandler<Engine>

    private init(channel: Channel, handler: MediaChannelHandler<Engine>, tcpLocalAddress: SocketAddress?) {
        self.channel = channel
        self.handler = handler
        self.eventLoop = channel.eventLoop
        self.localAddress = channel.localAddress!
        self.tcpLocalAddress = tcpLocalAddress
    }

    /// Binds `host:port` on `eventLoop` and drives `engine`, which from now on
    /// is called only on that loop. The engine is created on the loop by `makeEngine`.
    /// With `iceTCP`, also listens for ICE-TCP on `host` and the UDP port's number.
    /// With port 0 the system picks the UDP port, whose number may already be
    /// taken for TCP (an outgoing connection's ephemeral port): then another
    /// UDP port is tried, up to `attempts` times.
    public static func bind(host: String, port: Int, on eventLoop: EventLoop, batchSize: Int = 64,
                            iceTCP: IceTCPLimits? = nil, attempts: Int = 16,
                            logger: Logger, engine makeEngine: @escaping @Sendable () -> Engine) -> EventLoopFuture<MediaSocket> {
        bindOnce(host: host, port: port, on: eventLoop, batchSize: batchSize, iceTCP: iceTCP, logger: logger,
                 engine: makeEngine)
            .flatMapError { error in
                guard port == 0, iceTCP != nil, attempts > 1 else { return eventLoop.makeFailedFuture(error) }
                logger.debug("media port's number taken for TCP; another", metadata: ["error": "\(error)"])
                return bind(host: host, port: port, on: eventLoop, batchSize: batchSize, iceTCP: iceTCP,
                            attempts: attempts - 1, logger: logger, engine: makeEngine)
            }
    }

    private static func bindOnce(host: String, port: Int, on eventLoop: EventLoop, batchSize: Int, iceTCP: IceTCPLimits?,
                                 logger: Logger, engine makeEngine: @escaping @Sendable () -> Engine) -> EventLoopFuture<MediaSocket> {
        DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.datagramVectorReadMessageCount, value: batchSize)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 2_048 * batchSize))
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        MediaChannelHandler<Engine>(engine: makeEngine(), logger: logger))
                }
            }
            .bind(host: host, port: port)
            .flatMap { channel in
                channel.pipeline.handler(type: MediaChannelHandler<Engine>.self).flatMap { handler in
                    guard let iceTCP else {
                        return eventLoop.makeSucceededFuture(MediaSocket(channel: channel, handler: handler, tcpLocalAddress: nil))
                    }
                    let tcp = IceTCPTransport(eventLoop: eventLoop, limits: iceTCP, media: handler, logger: logger)
                    handler.tcp = tcp
                    return tcp.bind(host: host, port: channel.localAddress?.port ?? port)
                        .map { MediaSocket(channel: channel, handler: handler, tcpLocalAddress: $0) }
                        .flatMapError { error in channel.close().flatMapThrowing { throw error } }
                }
            }
    }

    /// Runs `body` with the engine on its loop, then sends what it queued.
    /// This is how control-plane commands reach the media engine.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (Engine, Instant, inout TransmitQueue) throws -> T) -> EventLoopFuture<T> {
        let handler = self.handler
        return eventLoop.submit {
            var result: Result<T, Error>!
            handler.withEngine { engine, now, transmits in
                result = Result { try body(engine, now, &transmits) }
            }
            return try result.get()
        }
    }

    /// Runs `body` with the engine, the loop's busy time so far (nanoseconds
    /// spent handling datagram batches and timers) and the ICE-TCP counters,
    /// on its loop, without flushing: for a metrics scrape, which reads and sends nothing.
    public func inspect<T: Sendable>(_ body: @escaping @Sendable (Engine, UInt64, IceTCPCounters) -> T) -> EventLoopFuture<T> {
        let handler = self.handler
        return eventLoop.submit {
            body(handler.engineForInspection, handler.busyNanoseconds, handler.tcp?.table.counters ?? IceTCPCounters())
        }
    }

    /// Closes the socket and the ICE-TCP listener and connections.
    public func close() -> EventLoopFuture<Void> {
        let tcp = handler.tcp
        return (tcp?.close() ?? eventLoop.makeSucceededVoidFuture()).flatMap { self.channel.close() }
    }
}

/// The monotonic time the engines see: NIO's uptime clock in nanoseconds.
@inlinable func monotonicNow() -> Instant {
    Instant(nanoseconds: NIODeadline.now().uptimeNanoseconds)
}

final class MediaChannelHandler<Engine: DatagramEngine>: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let engine: Engine
    private let logger: Logger
    private var transmits = TransmitQueue(reservingDatagrams: 1_024)
    /// The received datagram as the engine's `[UInt8]`, reused for every read.
    private var received: [UInt8] = []
    /// NIO boxes every `SocketAddress`; the destinations of a loop are few
    /// and long-lived, so each is converted once.
    private var socketAddresses: [StunAddress: SocketAddress] = [:]
    private var batchNow: Instant?
    private var timer: Scheduled<Void>?
    private var timerDeadline: Instant?
    private var context: ChannelHandlerContext?
    /// The ICE-TCP connections behind the same engine (nil: UDP only). Set once, before the first read.
    var tcp: IceTCPTransport<Engine>?
    /// Time spent handling batches, timers and control-plane commands since
    /// the start (the loop's load): two reads of the monotonic clock per
    /// batch, none per datagram.
    private(set) var busyNanoseconds: UInt64 = 0

    init(engine: Engine, logger: Logger) {
        self.engine = engine
        self.logger = logger
        received.reserveCapacity(2_048)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let source = AddressConversion.stunAddress(envelope.remoteAddress) else { return }
        let now = batchNow ?? monotonicNow()
        batchNow = now
        received.removeAll(keepingCapacity: true)
        received.append(contentsOf: envelope.data.readableBytesView)
        engine.receive(received, from: source, now: now, transmits: &transmits)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let started = batchNow
        batchNow = nil
        flush(context: context)
        if let started { busyNanoseconds &+= monotonicNow().nanoseconds &- started.nanoseconds }
    }

    /// One RFC 4571 frame from an ICE-TCP connection (`source.transport` names it).
    func receiveFrame(_ frame: [UInt8], from source: StunAddress, now: Instant) {
        engine.receive(frame, from: source, now: now, transmits: &transmits)
    }

    /// After an ICE-TCP read burst: sends what the engine queued.
    func flushFromStream() {
        guard let context else { return }
        let started = monotonicNow()
        flush(context: context)
        busyNanoseconds &+= monotonicNow().nanoseconds &- started.nanoseconds
    }

    /// The engine, for `MediaSocket.inspect` on this loop.
    var engineForInspection: Engine { engine }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port-unreachable and friends surface here; a peer going away
        // must not close the shared socket.
        logger.debug("media socket error", metadata: ["error": "\(error)"])
    }

    private func flush(context: ChannelHandlerContext) {
        if !transmits.isEmpty {
            // One buffer for the whole batch; each datagram is a slice of it.
            var batch = context.channel.allocator.buffer(capacity: transmits.used)
            _ = transmits.withStorage { batch.writeBytes($0) }
            for entry in transmits.entries {
                guard let datagram = batch.getSlice(at: entry.offset, length: entry.length) else { continue }
                if case .tcp(let connection) = entry.destination.transport {
                    tcp?.write(datagram, to: connection)
                    continue
                }
                let envelope = AddressedEnvelope(remoteAddress: socketAddress(entry.destination), data: datagram)
                context.write(wrapOutboundOut(envelope), promise: nil)
            }
            transmits.removeAll()
            context.flush()
            tcp?.flush()
        }
        armTimer(context: context)
    }

    private func socketAddress(_ destination: StunAddress) -> SocketAddress {
        if let known = socketAddresses[destination] { return known }
        // Bounded: peers come and go over a long run.
        if socketAddresses.count >= 4_096 { socketAddresses.removeAll(keepingCapacity: true) }
        let address = AddressConversion.socketAddress(destination)
        socketAddresses[destination] = address
        return address
    }

    private func armTimer(context: ChannelHandlerContext) {
        guard let deadline = engine.nextDeadline else { return }
        if let current = timerDeadline, current <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        let loop = context.eventLoop
        let nioDeadline = NIODeadline.uptimeNanoseconds(deadline.nanoseconds)
        timer = loop.assumeIsolated().scheduleTask(deadline: nioDeadline) { [self] in
            self.timerDeadline = nil
            self.timer = nil
            guard let context = self.context else { return }
            let started = monotonicNow()
            self.engine.handleTimeout(now: started, transmits: &self.transmits)
            self.flush(context: context)
            self.busyNanoseconds &+= monotonicNow().nanoseconds &- started.nanoseconds
        }
    }

    /// Runs `body` against the engine on the loop and flushes what it produced
    /// (used for commands from the control plane, already on this loop).
    func withEngine(_ body: (Engine, Instant, inout TransmitQueue) -> Void) {
        let started = monotonicNow()
        body(engine, started, &transmits)
        if let context { flush(context: context) }
        busyNanoseconds &+= monotonicNow().nanoseconds &- started.nanoseconds
    }
}
