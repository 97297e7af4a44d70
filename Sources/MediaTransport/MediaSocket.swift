import CCohortSocket
import Logging
import NIOCore
import NIOPosix
import SFU
import STUN
import Wire

/// One UDP socket on a thread of its own (`MediaLoop`: `recvmmsg`,
/// `sendmmsg`, epoll), in front of one `DatagramEngine`.
///
/// The engine sees only datagrams, the time and its transmit queue
/// (ARCHITECTURE.md, "MediaTransport"). With ICE-TCP on, a TCP listener on
/// the same port number, on `eventLoop`, feeds the same engine: its frames
/// hop to the media thread and the engine's transmits to TCP addresses hop
/// back (`IceTCPTransport`). Futures of `perform` and `inspect` complete on
/// `eventLoop`.
public final class MediaSocket<Engine: DatagramEngine>: @unchecked Sendable {
    /// The NIO loop of this socket's ICE-TCP side and futures.
    public let eventLoop: EventLoop
    /// The bound local address.
    public let localAddress: SocketAddress
    /// The ICE-TCP listener's address (same port number), if ICE-TCP is on.
    public let tcpLocalAddress: SocketAddress?
    private let loop: MediaLoop<Engine>
    private let tcp: IceTCPTransport<Engine>?
    private let finished: EventLoopFuture<Void>

    private init(loop: MediaLoop<Engine>, eventLoop: EventLoop, localAddress: SocketAddress,
                 tcp: IceTCPTransport<Engine>?, tcpLocalAddress: SocketAddress?, finished: EventLoopFuture<Void>) {
        self.loop = loop
        self.eventLoop = eventLoop
        self.localAddress = localAddress
        self.tcp = tcp
        self.tcpLocalAddress = tcpLocalAddress
        self.finished = finished
    }

    /// Binds `host:port` and drives `engine` on a new thread, from now on
    /// the only one that calls it. With `iceTCP`, also listens for ICE-TCP
    /// on `host` and the UDP port's number, on `eventLoop`.
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
        let fd: Int32
        let address: SocketAddress
        do {
            let requested = try SocketAddress.makeAddressResolvingHost(host, port: port)
            let opened = requested.withSockAddr { cohort_udp_open($0, socklen_t($1), 4 << 20, 4 << 20) }
            guard opened >= 0 else { throw IOError(errnoCode: -opened, reason: "bind \(host):\(port)") }
            fd = opened
            address = try SocketAddress.makeAddressResolvingHost(host, port: Int(cohort_udp_port(fd)))
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        let finished = eventLoop.makePromise(of: Void.self)
        let loop: MediaLoop<Engine>
        do {
            loop = try MediaLoop(fd: fd, engine: makeEngine(), batchSize: batchSize,
                                 name: "cohort-media-\(address.port ?? 0)", finished: finished, logger: logger)
        } catch {
            cohort_close(fd)
            return eventLoop.makeFailedFuture(error)
        }
        guard let iceTCP else {
            return eventLoop.makeSucceededFuture(MediaSocket(loop: loop, eventLoop: eventLoop, localAddress: address,
                                                             tcp: nil, tcpLocalAddress: nil, finished: finished.futureResult))
        }
        let tcp = IceTCPTransport(eventLoop: eventLoop, limits: iceTCP, media: loop, logger: logger)
        loop.execute { loop in
            loop.tcpSink = { [weak tcp] frames in
                guard let tcp else { return }
                tcp.eventLoop.execute { tcp.write(frames) }
            }
        }
        return tcp.bind(host: host, port: address.port ?? port)
            .map { MediaSocket(loop: loop, eventLoop: eventLoop, localAddress: address, tcp: tcp, tcpLocalAddress: $0,
                               finished: finished.futureResult) }
            .flatMapError { error in
                loop.stop()
                return finished.futureResult.flatMapThrowing { throw error }
            }
    }

    /// Runs `body` with the engine on its thread, then sends what it queued.
    /// This is how control-plane commands reach the media engine.
    public func perform<T: Sendable>(_ body: @escaping @Sendable (Engine, Instant, inout TransmitQueue) throws -> T) -> EventLoopFuture<T> {
        let promise = eventLoop.makePromise(of: T.self)
        loop.execute { loop in
            promise.completeWith(Result { try loop.withEngine(body) })
        }
        return promise.futureResult
    }

    /// Runs `body` with the engine, the media thread's busy time so far
    /// (nanoseconds spent handling datagram batches, timers and commands),
    /// the ICE-TCP counters and the socket's own drops, on the media thread,
    /// without flushing: for a metrics scrape, which reads and sends nothing.
    public func inspect<T: Sendable>(_ body: @escaping @Sendable (Engine, UInt64, IceTCPCounters, MediaSocketCounters) -> T) -> EventLoopFuture<T> {
        let tcpCounters = tcp.map { tcp in eventLoop.submit { tcp.table.counters } }
            ?? eventLoop.makeSucceededFuture(IceTCPCounters())
        return tcpCounters.flatMap { [loop, eventLoop] counters in
            let promise = eventLoop.makePromise(of: T.self)
            loop.execute { loop in promise.succeed(body(loop.engine, loop.busyNanoseconds, counters, loop.counters)) }
            return promise.futureResult
        }
    }

    /// Closes the ICE-TCP listener and connections, then stops the media
    /// thread, which closes the socket.
    public func close() -> EventLoopFuture<Void> {
        (tcp?.close() ?? eventLoop.makeSucceededVoidFuture()).flatMap { [loop, finished] in
            loop.stop()
            return finished
        }
    }
}

/// The monotonic time the engines see: NIO's uptime clock in nanoseconds.
@inlinable func monotonicNow() -> Instant {
    Instant(nanoseconds: NIODeadline.now().uptimeNanoseconds)
}
