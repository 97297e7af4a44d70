import Foundation
import Logging
import ServiceLifecycle
import XCTest
@testable import cohort

/// `cohort serve`'s shutdown order and its JSON log lines (issue 16, item 2).
final class LifecycleTests: XCTestCase {
    /// Records what happened, in order, from any task.
    private final class Journal: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String] = []
        func add(_ s: String) { lock.lock(); entries.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return entries }
    }

    /// The steps run one after the other, in the order written, each after
    /// the one before has finished, and only once shutdown begins.
    func testStepsRunInOrderOnGracefulShutdown() async throws {
        let journal = Journal()
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let step = { (name: String) in
            ShutdownStep(name) {
                journal.add("\(name) begins")
                await Task.yield()  // a later step that started early would slip in here
                journal.add("\(name) ends")
            }
        }
        let group = ShutdownSequence.group(
            [step("stop accepting"), step("end media"), step("close websockets"), step("grace period"),
             step("close media sockets"), step("flush records")],
            limit: .seconds(60), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), signals: [],
            started: { journal.add("started"); startedContinuation.yield() })
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = started.makeAsyncIterator()
            _ = await iterator.next()
            XCTAssertEqual(journal.all, ["started"], "nothing is shut down before the signal")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let names = ["stop accepting", "end media", "close websockets", "grace period", "close media sockets", "flush records"]
        XCTAssertEqual(journal.all, ["started"] + names.flatMap { ["\($0) begins", "\($0) ends"] })
    }

    func testJSONLineEscapesEverythingThatCouldBreakALine() throws {
        let hostile = "quote\" backslash\\ newline\n return\r tab\t nul\u{0} bell\u{7} del\u{7F} ls\u{2028} é 🙂"
        let line = JSONLogHandler.line(
            timestamp: "2026-12-06T10:00:00.000Z", level: .warning, label: "cohort", message: hostile,
            metadata: ["b": .string(hostile), "a": .array([.string("x"), .dictionary(["k\"": .stringConvertible(42)])])])
        XCTAssertTrue(line.hasSuffix("}\n"))
        XCTAssertEqual(line.filter { $0 == "\n" }.count, 1, "one line, whatever the message holds")
        XCTAssertFalse(line.unicodeScalars.dropLast().contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{2028}" },
                       "no raw control character")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["message"] as? String, hostile, "the message reads back exactly")
        XCTAssertEqual(object["level"] as? String, "warning")
        XCTAssertEqual(object["label"] as? String, "cohort")
        XCTAssertEqual(object["timestamp"] as? String, "2026-12-06T10:00:00.000Z")
        let metadata = try XCTUnwrap(object["metadata"] as? [String: Any])
        XCTAssertEqual(metadata["b"] as? String, hostile)
        let list = try XCTUnwrap(metadata["a"] as? [Any])
        XCTAssertEqual(list.first as? String, "x")
        XCTAssertEqual((list.last as? [String: Any])?["k\""] as? String, "42")
        XCTAssertTrue(line.hasPrefix("{\"timestamp\":\"2026-12-06T10:00:00.000Z\",\"level\":\"warning\",\"label\":\"cohort\",\"message\":"),
                      "keys in a fixed order")
        XCTAssertTrue(line.contains("\"metadata\":{\"a\":"), "metadata keys sorted")
    }

    func testTimestampIsRFC3339UTC() {
        XCTAssertEqual(JSONLogHandler.timestamp(secondsSinceEpoch: 0, milliseconds: 7), "1970-01-01T00:00:00.007Z")
        XCTAssertEqual(JSONLogHandler.timestamp(secondsSinceEpoch: 1_796_554_608, milliseconds: 659), "2026-12-06T10:56:48.659Z")
    }

    /// The handler merges its own, provided and per-call metadata (the call wins) and writes one line per event.
    func testHandlerWritesOneObjectPerEvent() throws {
        let journal = Journal()
        var handler = JSONLogHandler(label: "cohort.test", output: { journal.add($0) })
        handler.logLevel = .debug
        handler[metadataKey: "node"] = "sfu-1"
        handler[metadataKey: "loop"] = "0"
        var logger = Logger(label: "cohort.test", factory: { _ in handler })
        logger.logLevel = .debug
        logger.info("joined", metadata: ["participant": "p-7", "loop": "1"])
        logger.trace("not written")
        XCTAssertEqual(journal.all.count, 1)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(journal.all[0].utf8)) as? [String: Any])
        XCTAssertEqual(object["metadata"] as? [String: String], ["node": "sfu-1", "loop": "1", "participant": "p-7"])
        XCTAssertEqual(object["message"] as? String, "joined")
    }
}
