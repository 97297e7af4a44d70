#if canImport(Glibc)
import Glibc
#endif
import Logging
import MediaTransport
import NIOCore
import NIOPosix
import SFU
import STUN
import Wire
import XCTest

/// The ICE-TCP shell over real sockets, in front of a stand-in engine that
/// echoes: frames split and merged by TCP reach the engine whole from a
/// `.tcp` address (UDP on the same port from a `.udp` one) and its
/// transmits go back framed on that connection; a lying length closes that
/// connection only; a reader that stops reading costs a bounded queue, the
/// rest dropped and counted.
final class IceTCPTransportTests: XCTestCase {
    /// Echoes every frame; answers a frame starting 0x00 0x01 (a binding
    /// request) with 0x01 0x01 (a binding success: authenticates the
    /// connection); on [0xEE] queues 2,000 frames of 1,200 bytes.
    final class EchoEngine: DatagramEngine, @unchecked Sendable {
        var sources: [StunAddress] = []
        func receive(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
            sources.append(source)
            if datagram == [0xEE] {
                for _ in 0..<2_000 { transmits.append([UInt8](repeating: 0x80, count: 1_200), to: source) }
            } else if datagram.starts(with: [0x00, 0x01]) {
                transmits.append([0x01, 0x01] + datagram.dropFirst(2), to: source)
            } else {
                transmits.append(datagram, to: source)
            }
        }
        func handleTimeout(now: Instant, transmits: inout TransmitQueue) {}
        var nextDeadline: Instant? { nil }
    }

    private var group: MultiThreadedEventLoopGroup!
    private var socket: MediaSocket<EchoEngine>!
    private var port: Int { socket.localAddress.port! }

    override func setUp() async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var limits = IceTCPLimits()
        limits.maxFrame = 1_500
        limits.maxQueuedBytes = 64 * 1_024
        socket = try await MediaSocket.bind(host: "127.0.0.1", port: 0, on: group.next(), iceTCP: limits,
                                            logger: Logger(label: "test")) { EchoEngine() }.get()
        XCTAssertEqual(socket.tcpLocalAddress?.port, socket.localAddress.port, "TCP on the UDP port's number")
    }

    override func tearDown() async throws {
        try await socket.close().get()
        try await group.shutdownGracefully()
    }

    private func counters() throws -> IceTCPCounters {
        try socket.inspect { _, _, tcp, _ in tcp }.wait()
    }

    private func sources() throws -> [StunAddress] {
        try socket.inspect { engine, _, _, _ in engine.sources }.wait()
    }

    func testSplitAndMergedFramesEchoOnTheirConnection() throws {
        let client = try TCPClient(port: port)
        defer { client.close() }
        // Two frames in one write, then one split across three writes (TCP
        // may deliver them apart or together: the framer takes both).
        client.send([0, 3, 1, 2, 3, 0, 2, 4, 5])
        client.send([0])
        client.send([4, 6])
        client.send([7, 8, 9])
        XCTAssertEqual(client.receive(count: 5 + 4 + 6), [0, 3, 1, 2, 3, 0, 2, 4, 5, 0, 4, 6, 7, 8, 9])
        let seen = try sources()
        XCTAssertEqual(seen.count, 3)
        guard case .tcp = seen[0].transport else { return XCTFail("frames came from \(seen[0])") }
        XCTAssertEqual(Set(seen).count, 1, "one connection, one address")
        XCTAssertEqual(seen[0].ip, .v4(0x7F00_0001))

        // A second connection is another address; a UDP datagram is a UDP address.
        let other = try TCPClient(port: port)
        defer { other.close() }
        other.send([0, 1, 42])
        XCTAssertEqual(other.receive(count: 3), [0, 1, 42])
        let udp = try UDPClient(port: port)
        defer { udp.close() }
        udp.send([0x42])
        XCTAssertEqual(udp.receive(), [0x42])
        let all = try sources()
        XCTAssertEqual(Set(all).count, 3, "\(all)")
        XCTAssertEqual(all.last?.transport, .udp)
        XCTAssertEqual(try counters().framesIn, 4)
    }

    func testLyingLengthClosesOnlyThatConnection() throws {
        let good = try TCPClient(port: port)
        defer { good.close() }
        for lie: [UInt8] in [[0xFF, 0xFF], [0x00, 0x00], [0x05, 0xDD]] {
            let liar = try TCPClient(port: port)
            liar.send(lie)
            XCTAssertTrue(liar.isClosedByPeer(), "\(lie) did not close the connection")
            liar.close()
        }
        good.send([0, 2, 7, 7])
        XCTAssertEqual(good.receive(count: 4), [0, 2, 7, 7], "the others are untouched")
        // Cut off by the end of the stream: the server closes, then counts.
        let truncated = try TCPClient(port: port)
        truncated.send([0, 9, 1])
        shutdown(truncated.fd, Int32(SHUT_WR))
        XCTAssertTrue(truncated.isClosedByPeer())
        truncated.close()
        XCTAssertEqual(try counters().framingErrors, 4)
        XCTAssertEqual(try counters().open, 1)
    }

    func testAReaderThatStopsReadingCostsABoundedQueue() throws {
        let client = try TCPClient(port: port)
        defer { client.close() }
        client.send([0, 4, 0x00, 0x01, 9, 9])
        XCTAssertEqual(client.receive(count: 6), [0, 4, 0x01, 0x01, 9, 9])
        XCTAssertEqual(try counters().unauthenticated, 0, "a binding success authenticates the connection")
        client.send([0, 1, 0xEE])  // 2,000 × 1,200 bytes towards a client that reads nothing
        // The engine queues all of them in one read and the shell writes or
        // drops each in the same flush: once the first bytes arrive, it is done.
        XCTAssertEqual(client.receive(count: 2), [0x04, 0xB0])
        let c = try counters()
        XCTAssertGreaterThan(c.sendQueueDrops, 1_000, "\(c)")
        XCTAssertEqual(c.sendQueueDrops + c.framesOut, 2_000 + 1)
    }
}

/// A blocking TCP client with a receive timeout, for the tests above.
private final class TCPClient {
    let fd: Int32

    init(port: Int) throws {
        fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func receive(count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while out.count < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, count - out.count), 0) }
            guard n > 0 else { break }
            out += buffer[..<n]
        }
        return out
    }

    /// True when the server closes the connection within the timeout.
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }

    func close() { Glibc.close(fd) }
}

/// A UDP socket connected to the media port.
final class UDPClient {
    let fd: Int32

    init(port: Int) throws {
        fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) } }

    func receive() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 2_048)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[..<n]) : []
    }

    func close() { Glibc.close(fd) }
}
