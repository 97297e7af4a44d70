import NIOCore
import NIOEmbedded
import XCTest
@testable import ControlPlane

/// The input pacer holds back reads of a connection that spent its budget,
/// on the event loop's clock (EmbeddedEventLoop: no sleeps).
final class InputPacerTests: XCTestCase {
    /// Counts the reads that get past the pacer towards the socket.
    private final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = NIOAny
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    private func channel(_ budget: InputBudget) throws -> (EmbeddedChannel, ReadCounter, InputPacer) {
        let counter = ReadCounter(), pacer = InputPacer(budget: budget)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(pacer)
        return (channel, counter, pacer)
    }

    private var budget: InputBudget {
        var b = InputBudget()
        b.burstBytes = 1000
        b.bytesPerSecond = 1000
        b.messageCost = 100
        return b
    }

    func testReadsPassWhileTheBudgetLastsAndWaitForItsRefill() throws {
        let (channel, counter, pacer) = try channel(budget)
        channel.read()
        XCTAssertEqual(counter.reads, 1, "a fresh connection reads")
        try channel.writeInbound(ByteBuffer(repeating: 0, count: 1500))  // 500 over the budget
        XCTAssertEqual(try channel.readInbound(as: ByteBuffer.self)?.readableBytes, 1500, "bytes read are passed on")
        channel.read()
        channel.read()
        XCTAssertEqual(counter.reads, 1, "held back: the budget is 500 bytes short")
        XCTAssertEqual(pacer.pauses, 1, "one pause, however many reads are asked for")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(450))
        XCTAssertEqual(counter.reads, 1, "not before 0.5 s at 1000 bytes a second")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(60))
        XCTAssertEqual(counter.reads, 2, "reading resumes once the budget is back")
        _ = try channel.finish()
    }

    func testEveryMessageCostsExtra() throws {
        let (channel, counter, pacer) = try channel(budget)
        for _ in 0..<11 { pacer.chargeMessage() }  // 1100 > 1000: tiny messages cost too
        channel.read()
        XCTAssertEqual(counter.reads, 0)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(120))
        XCTAssertEqual(counter.reads, 1)
        _ = try channel.finish()
    }

    func testTheBurstDoesNotGrowWhileIdle() throws {
        let (channel, counter, _) = try channel(budget)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        try channel.writeInbound(ByteBuffer(repeating: 0, count: 1001))
        _ = try channel.readInbound(as: ByteBuffer.self)
        channel.read()
        XCTAssertEqual(counter.reads, 0, "a minute of silence still allows only the burst")
        _ = try channel.finish()
    }
}
