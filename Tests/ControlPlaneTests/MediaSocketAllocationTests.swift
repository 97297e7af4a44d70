import CohortMallocCounter
import Logging
import MediaTransport
import NIOCore
import NIOPosix
import SFU
import STUN
import Wire
import XCTest

/// The media socket's loop allocates nothing per datagram: receiving a
/// batch (`recvmmsg`), handing each datagram to the engine and sending the
/// engine's copies (`sendmmsg` with iovecs into the transmit queue). With
/// `ForwardingAllocationTests` (the engine's decrypt, rewrite and encrypt,
/// which allocate only what NSS itself does) this covers the whole receive
/// → forward → send path.
///
/// The count is the media thread's own (CohortMallocCounter counts one
/// thread), started and stopped by commands on that thread.
final class MediaSocketAllocationTests: XCTestCase {
    /// Forwards every datagram to three destinations, written in place in
    /// the transmit queue (as the engine writes its copies): nothing of its
    /// own is allocated per datagram once the queue has grown. With
    /// `wasteful`, it also makes an array per datagram (the check can fail).
    final class FanOut: DatagramEngine, @unchecked Sendable {
        var destinations: [StunAddress] = []
        var received = 0
        var wasteful = false
        var kept: [UInt8] = []

        func receive(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
            received += 1
            if wasteful { kept = Array(datagram.reversed()) }
            // Through a buffer pointer: a debug build iterates an array of
            // a multi-payload enum struct with a heap-allocated accessor frame.
            destinations.withUnsafeBufferPointer { destinations in
                for destination in destinations {
                    transmits.appendDatagram(to: destination, capacity: datagram.count) { out in
                        datagram.withUnsafeBytes { out.copyMemory(from: $0) }
                        return datagram.count
                    }
                }
            }
        }
        func handleTimeout(now: Instant, transmits: inout TransmitQueue) {}
        var nextDeadline: Instant? { nil }
    }

    static let datagrams = 2_000

    func testReceivingForwardingAndSendingAllocatesNothingPerDatagram() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let socket = try MediaSocket.bind(host: "127.0.0.1", port: 0, on: group.next(),
                                          logger: Logger(label: "test")) { FanOut() }.wait()
        defer { try? socket.close().wait() }
        let sender = try UDPClient(port: socket.localAddress.port!)
        defer { sender.close() }
        let sinks = try (0..<3).map { _ in try UDPSink() }
        let ports = sinks.map(\.port)
        try socket.perform { engine, _, _ in
            engine.destinations = ports.map { StunAddress(ip: .v4(0x7F00_0001), port: $0) }
        }.wait()

        let lean = try measure(socket, sender, sinks, wasteful: false)
        let wasteful = try measure(socket, sender, sinks, wasteful: true)
        XCTAssertLessThanOrEqual(lean, Self.datagrams / 50, "\(lean) allocations for \(Self.datagrams) datagrams")
        XCTAssertGreaterThanOrEqual(wasteful, Self.datagrams, "an array per datagram is seen")
        XCTAssertEqual(try socket.inspect { _, _, _, udp in udp }.wait(), MediaSocketCounters())
    }

    /// Warms up with one round, then counts a second: each round sends
    /// `datagrams` of 1 000 bytes in bursts of 100 and waits until every
    /// sink has them all.
    private func measure(_ socket: MediaSocket<FanOut>, _ sender: UDPClient, _ sinks: [UDPSink], wasteful: Bool) throws -> Int {
        try socket.perform { engine, _, _ in engine.wasteful = wasteful }.wait()
        var count = 0
        for round in 0..<2 {
            try socket.perform { _, _, _ in cohort_malloc_counter_start() }.wait()
            for burst in 0..<(Self.datagrams / 100) {
                for i in 0..<100 { sender.send([UInt8](repeating: UInt8((burst + i) & 0x7F), count: 1_000)) }
                for sink in sinks { XCTAssertEqual(sink.drain(count: 100), 100, "round \(round) burst \(burst)") }
            }
            count = try socket.perform { _, _, _ in cohort_malloc_counter_stop() }.wait()
        }
        return count
    }
}

/// A UDP socket on 127.0.0.1 that counts what it receives.
private final class UDPSink {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: bound.sin_port)
    }

    /// Receives up to `count` datagrams (fewer if one does not come within 5 s).
    func drain(count: Int) -> Int {
        var buffer = [UInt8](repeating: 0, count: 2_048)
        for i in 0..<count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return i }
        }
        return count
    }

    deinit { Glibc.close(fd) }
}
