import CCohortSocket
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SFU
import STUN
import Wire

/// One UDP socket and its `DatagramEngine` on a thread of their own.
///
/// The thread waits in `epoll_pwait2` on two descriptors, the socket and an
/// eventfd that other threads write to after queueing a command, until the
/// engine's next deadline (the wait's own timeout, in nanoseconds: a timerfd
/// cost a `timerfd_settime` whenever the deadline moved and a `read` each
/// time it fired, and a pacer moves it every few packets). Datagrams arrive by
/// `recvmmsg` straight into one receive buffer, are handed to the engine
/// with the time read once per batch, and the engine's transmit queue goes
/// out by `sendmmsg` with one iovec per datagram pointing into the queue's
/// own storage: no pipeline, no envelope, no batch copy (issue 17).
///
/// Only this thread touches the engine. Everything else reaches it as a
/// command (`execute`), run between batches; what a command queues is sent
/// at once.
final class MediaLoop<Engine: DatagramEngine>: @unchecked Sendable {
    /// Work for the loop's thread: the engine, the time, and its transmit queue.
    typealias Command = (MediaLoop<Engine>) -> Void

    let engine: Engine
    private let fd: Int32
    private let family: Int32
    private let epollFD: Int32
    private let eventFD: Int32
    private let batchSize: Int
    private let logger: Logger

    /// Receive slots, `slotSize` bytes each, one after another.
    private let buffers: UnsafeMutablePointer<UInt8>
    private static var slotSize: Int { 2_048 }
    private let infos: UnsafeMutablePointer<cohort_datagram_info>
    private let io: OpaquePointer
    private var sendEntries: UnsafeMutablePointer<cohort_send_entry>
    private var sendCapacity: Int

    /// The engine's input, lent to it (it decrypts SRTP in place): one array
    /// reused for every datagram, emptied before each.
    private var received: [UInt8] = []
    private(set) var transmits = TransmitQueue(reservingDatagrams: 1_024)
    /// The engine's next deadline, read after every flush.
    private var deadline: Instant?
    /// Transmits to ICE-TCP connections, handed to `tcpSink` after each flush.
    private var tcpOut: [(connection: UInt32, bytes: [UInt8])] = []
    /// Receives the ICE-TCP transmits of a flush (on this thread).
    var tcpSink: (([(connection: UInt32, bytes: [UInt8])]) -> Void)?

    private let commands = NIOLockedValueBox<[Command]>([])
    private var running = true
    private let finished: EventLoopPromise<Void>

    /// Time spent handling batches, timers and commands since the start.
    private(set) var busyNanoseconds: UInt64 = 0
    /// What the socket dropped on its own (read on the loop).
    private(set) var counters = MediaSocketCounters()

    /// Wraps `fd` (a bound nonblocking UDP socket, now owned by the loop)
    /// and starts the loop's thread, named `name`. `finished` is completed
    /// when the thread has stopped and closed its descriptors.
    init(fd: Int32, engine: Engine, batchSize: Int, name: String, finished: EventLoopPromise<Void>, logger: Logger) throws {
        var eventFD: Int32 = -1
        let epollFD = cohort_loop_create(fd, &eventFD)
        guard epollFD >= 0 else { throw IOError(errnoCode: -epollFD, reason: "epoll for the media socket") }
        self.fd = fd
        self.family = cohort_udp_family(fd)
        self.epollFD = epollFD
        self.eventFD = eventFD
        self.engine = engine
        self.batchSize = batchSize
        self.logger = logger
        self.finished = finished
        buffers = .allocate(capacity: batchSize * Self.slotSize)
        infos = .allocate(capacity: batchSize)
        sendCapacity = 1_024
        sendEntries = .allocate(capacity: sendCapacity)
        guard let io = cohort_udp_io_create(UInt32(max(batchSize, 64))) else {
            throw IOError(errnoCode: ENOMEM, reason: "media socket batch")
        }
        self.io = io
        received.reserveCapacity(Self.slotSize)
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    deinit {
        buffers.deallocate()
        infos.deallocate()
        sendEntries.deallocate()
        cohort_udp_io_destroy(io)
    }

    /// Runs `command` on the loop's thread, then sends what it queued.
    func execute(_ command: @escaping Command) {
        commands.withLockedValue { $0.append(command) }
        cohort_loop_wake(eventFD)
    }

    /// Stops the thread after the commands queued so far; it closes the
    /// socket and completes `finished`.
    func stop() {
        execute { $0.running = false }
    }

    // MARK: The loop's thread

    private func run() {
        while running {
            let ready = cohort_loop_wait(epollFD, fd, eventFD, deadline.map { max($0.nanoseconds, 1) } ?? 0)
            if ready & COHORT_READY_UDP != 0 { receiveBatches() }
            if let deadline {
                let started = monotonicNow()
                if started >= deadline {
                    engine.handleTimeout(now: started, transmits: &transmits)
                    flush()
                    busyNanoseconds &+= monotonicNow().nanoseconds &- started.nanoseconds
                }
            }
            if ready & COHORT_READY_EVENT != 0 {
                cohort_loop_clear(eventFD)
                runCommands()
            }
        }
        cohort_close(eventFD)
        cohort_close(epollFD)
        cohort_close(fd)
        finished.succeed(())
    }

    private func runCommands() {
        let pending = commands.withLockedValue { queued -> [Command] in
            defer { queued.removeAll(keepingCapacity: true) }
            return queued
        }
        for command in pending {
            let started = monotonicNow()
            command(self)
            flush()
            busyNanoseconds &+= monotonicNow().nanoseconds &- started.nanoseconds
        }
    }

    /// Reads what the socket holds, a batch at a time, flushing after each.
    /// At most 16 batches before the loop looks at its commands and timers
    /// again (the socket stays readable, so it comes straight back).
    private func receiveBatches() {
        for _ in 0..<16 {
            let n = cohort_udp_receive(fd, io, buffers, Self.slotSize, UInt32(batchSize), infos)
            if n < 0 {
                // ICMP errors of earlier sends surface here (ECONNREFUSED):
                // a peer going away must not stop the socket.
                logger.debug("media socket receive error", metadata: ["errno": "\(-n)"])
                continue
            }
            if n == 0 { return }
            let now = monotonicNow()
            for i in 0..<Int(n) {
                let info = infos[i]
                guard info.truncated == 0 else { counters.truncated += 1; continue }
                guard let source = Self.source(info) else { counters.unknownFamily += 1; continue }
                received.removeAll(keepingCapacity: true)
                received.append(contentsOf: UnsafeRawBufferPointer(start: buffers + i * Self.slotSize, count: Int(info.length)))
                engine.receive(lending: &received, from: source, now: now, transmits: &transmits)
            }
            flush()
            busyNanoseconds &+= monotonicNow().nanoseconds &- now.nanoseconds
            if Int(n) < batchSize { return }
        }
    }

    /// ICE-TCP frames, handed over by the TCP side; the time is read here,
    /// so the engine never sees its clock go back.
    func receiveFrames(_ frames: [(bytes: [UInt8], source: StunAddress)]) {
        let now = monotonicNow()
        for frame in frames { engine.receive(frame.bytes, from: frame.source, now: now, transmits: &transmits) }
    }

    /// Runs `body` with the engine, the time and the transmit queue (from a command).
    func withEngine<T>(_ body: (Engine, Instant, inout TransmitQueue) throws -> T) rethrows -> T {
        try body(engine, monotonicNow(), &transmits)
    }

    /// Sends the transmit queue and reads the engine's next deadline.
    private func flush() {
        if !transmits.isEmpty {
            // Indexed, not a local copy of `entries`: a second reference
            // would make `removeAll` below allocate a new array.
            let count = transmits.entries.count
            if count > sendCapacity {
                sendEntries.deallocate()
                sendCapacity = count
                sendEntries = .allocate(capacity: sendCapacity)
            }
            var udp = 0
            for i in 0..<count {
                let entry = transmits.entries[i]
                if case .tcp(let connection) = entry.destination.transport {
                    transmits.withStorage { storage in
                        tcpOut.append((connection, Array(storage[entry.offset..<(entry.offset + entry.length)])))
                    }
                    continue
                }
                sendEntries[udp] = Self.sendEntry(entry)
                udp += 1
            }
            if udp > 0 {
                var errors: UInt32 = 0
                var dropped: UInt32 = 0
                _ = transmits.withStorage { storage in
                    cohort_udp_send(fd, family, io, storage.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                    sendEntries, UInt32(udp), &errors, &dropped)
                }
                counters.sendRefused += Int(errors)
                counters.sendBufferFull += Int(dropped)
            }
            transmits.removeAll()
            if !tcpOut.isEmpty {
                tcpSink?(tcpOut)
                tcpOut.removeAll(keepingCapacity: true)
            }
        }
        deadline = engine.nextDeadline
    }

    private static func source(_ info: cohort_datagram_info) -> StunAddress? {
        withUnsafeBytes(of: info.address) { raw -> StunAddress? in
            switch info.family {
            case 4:
                let ip = UInt32(raw[0]) << 24 | UInt32(raw[1]) << 16 | UInt32(raw[2]) << 8 | UInt32(raw[3])
                return StunAddress(ip: .v4(ip), port: info.port)
            case 6:
                var high: UInt64 = 0, low: UInt64 = 0
                for i in 0..<8 { high = high << 8 | UInt64(raw[i]) }
                for i in 8..<16 { low = low << 8 | UInt64(raw[i]) }
                return StunAddress(ip: .v6(high: high, low: low), port: info.port)
            default:
                return nil
            }
        }
    }

    private static func sendEntry(_ entry: TransmitQueue.Entry) -> cohort_send_entry {
        var out = cohort_send_entry()
        out.offset = UInt32(entry.offset)
        out.length = UInt32(entry.length)
        out.port = entry.destination.port
        if case .v4 = entry.destination.ip { out.family = 4 } else { out.family = 6 }
        withUnsafeMutableBytes(of: &out.address) { raw in
            switch entry.destination.ip {
            case .v4(let ip):
                raw[0] = UInt8(truncatingIfNeeded: ip >> 24)
                raw[1] = UInt8(truncatingIfNeeded: ip >> 16)
                raw[2] = UInt8(truncatingIfNeeded: ip >> 8)
                raw[3] = UInt8(truncatingIfNeeded: ip)
            case .v6(let high, let low):
                for i in 0..<8 { raw[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i))) }
                for i in 0..<8 { raw[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i))) }
            }
        }
        return out
    }
}
