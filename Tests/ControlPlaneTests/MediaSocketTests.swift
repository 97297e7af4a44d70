import Logging
import MediaTransport
import NIOCore
import NIOPosix
import SFU
import STUN
import Wire
import XCTest

/// The media socket's own loop (recvmmsg, sendmmsg, epoll, timerfd) over
/// real loopback sockets, in front of a stand-in engine: bursts of several
/// batches arrive whole and in order, the engine's timer fires at its
/// deadline, commands run on the loop and their transmits go out, and what
/// the socket cannot carry (an oversized datagram, a destination of the
/// other family) is dropped, counted, and stops nothing.
final class MediaSocketTests: XCTestCase {
    final class Engine: DatagramEngine, @unchecked Sendable {
        var sources: [StunAddress] = []
        var deadline: Instant?
        var deadlineSetAt: Instant?
        var timeoutLateness: [Int64] = []

        func receive(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
            sources.append(source)
            switch datagram.first {
            case 0xDD:
                // Ask for a timeout 30 ms from now.
                deadline = now + .milliseconds(30)
                deadlineSetAt = now
            case 0x66:
                // A destination an IPv4 socket cannot reach, then the echo.
                transmits.append([0x66], to: StunAddress(ip: .v6(high: 0x2001_0db8 << 32, low: 1), port: 9))
                transmits.append(datagram, to: source)
            default:
                transmits.append(datagram, to: source)
            }
        }

        func handleTimeout(now: Instant, transmits: inout TransmitQueue) {
            guard let deadline, now >= deadline, let to = sources.last else { return }
            timeoutLateness.append(Int64(now.nanoseconds) - Int64(deadline.nanoseconds))
            self.deadline = nil
            transmits.append([0x77], to: to)
        }

        var nextDeadline: Instant? { deadline }
    }

    private var group: MultiThreadedEventLoopGroup!
    private var socket: MediaSocket<Engine>!
    private var port: Int { socket.localAddress.port! }

    override func setUp() async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        socket = try await MediaSocket.bind(host: "127.0.0.1", port: 0, on: group.next(), batchSize: 16,
                                            logger: Logger(label: "test")) { Engine() }.get()
    }

    override func tearDown() async throws {
        try await socket.close().get()
        try await group.shutdownGracefully()
    }

    private func counters() throws -> MediaSocketCounters {
        try socket.inspect { _, _, _, udp in udp }.wait()
    }

    func testBurstsOfManyBatchesAreEchoedWholeAndInOrder() throws {
        let client = try UDPClient(port: port)
        defer { client.close() }
        // 200 datagrams: 13 batches of 16.
        let sent: [[UInt8]] = (0..<200).map { (i: Int) -> [UInt8] in
            var datagram = [UInt8](repeating: UInt8(i & 0x7F), count: 100)
            datagram[0] = UInt8(i >> 8)
            datagram[1] = UInt8(i & 0xFF)
            return datagram
        }
        for datagram in sent { client.send(datagram) }
        var echoed: [[UInt8]] = []
        for _ in sent { echoed.append(client.receive()) }
        XCTAssertEqual(echoed, sent)
        XCTAssertEqual(try socket.inspect { engine, _, _, _ in engine.sources.count }.wait(), 200)
    }

    func testTheEnginesTimerFiresAtItsDeadline() throws {
        let client = try UDPClient(port: port)
        defer { client.close() }
        client.send([0xDD])
        XCTAssertEqual(client.receive(), [0x77], "the timeout's datagram")
        let lateness = try socket.inspect { engine, _, _, _ in engine.timeoutLateness }.wait()
        XCTAssertEqual(lateness.count, 1)
        XCTAssertGreaterThanOrEqual(lateness.first ?? -1, 0, "never before the deadline")
    }

    func testACommandRunsOnTheLoopAndItsTransmitsGoOut() throws {
        let client = try UDPClient(port: port)
        defer { client.close() }
        client.send([1])
        XCTAssertEqual(client.receive(), [1])
        let sources = try socket.perform { engine, _, transmits -> Int in
            transmits.append([9, 9], to: engine.sources[0])
            return engine.sources.count
        }.wait()
        XCTAssertEqual(sources, 1)
        XCTAssertEqual(client.receive(), [9, 9])
    }

    func testWhatTheSocketCannotCarryIsDroppedCountedAndStopsNothing() throws {
        let client = try UDPClient(port: port)
        defer { client.close() }
        // Longer than a receive slot (2 048 bytes): dropped before the engine.
        client.send([UInt8](repeating: 0x55, count: 3_000))
        client.send([0x01])
        XCTAssertEqual(client.receive(), [0x01])
        // An IPv6 destination from an IPv4 socket: refused, the echo still goes.
        client.send([0x66])
        XCTAssertEqual(client.receive(), [0x66])
        var expected = MediaSocketCounters()
        expected.truncated = 1
        expected.sendRefused = 1
        XCTAssertEqual(try counters(), expected)
        XCTAssertEqual(try socket.inspect { engine, _, _, _ in engine.sources.count }.wait(), 2)
    }
}
