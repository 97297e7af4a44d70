import LoadTest
import Wire
import XCTest

final class MoveLatencyTrackerTests: XCTestCase {
    let t0 = Instant.milliseconds(10_000)
    func at(_ ms: Int64) -> Instant { t0 + .milliseconds(ms) }

    /// Member 1 (the receiver) moves from r1 (with 2) into r2 (with 3 and 4).
    let before = RoomMap(roomOf: [0: "main", 1: "r1", 2: "r1", 3: "r2", 4: "r2"])
    let after = RoomMap(roomOf: [0: "main", 1: "r2", 2: "r1", 3: "r2", 4: "r2"])

    func testFirstPacketFromANewRoomMateAfterTheSessionMessage() {
        var t = MoveLatencyTracker()
        XCTAssertNil(t.packet(from: 2, now: at(0)))
        XCTAssertNil(t.roomsChanged(from: before, to: after, me: 1, commandSentAt: at(10)))
        XCTAssertNil(t.packet(from: 2, now: at(40)), "an old room-mate does not count")
        XCTAssertEqual(t.packet(from: 3, now: at(95)), .milliseconds(85))
        XCTAssertNil(t.packet(from: 4, now: at(100)), "one sample per move")
    }

    func testMediaBeforeTheSessionMessageCountsFromItsFirstPacket() {
        var t = MoveLatencyTracker()
        XCTAssertNil(t.packet(from: 3, now: at(60)))
        XCTAssertNil(t.packet(from: 3, now: at(80)))
        XCTAssertEqual(t.roomsChanged(from: before, to: after, me: 1, commandSentAt: at(10)), .milliseconds(50))
    }

    func testAStreamFromBeforeTheCommandIsNotTheNewRoom() {
        var t = MoveLatencyTracker()
        // 3 was heard continuously since before the command (e.g. a listen-in): not a new arrival.
        for ms in stride(from: Int64(0), through: 100, by: 20) { XCTAssertNil(t.packet(from: 3, now: at(ms))) }
        XCTAssertNil(t.roomsChanged(from: before, to: after, me: 1, commandSentAt: at(10)))
        XCTAssertNil(t.packet(from: 3, now: at(120)), "still the same run of packets")
    }

    func testASplitHasNoNewRoomMates() {
        var t = MoveLatencyTracker()
        let together = RoomMap(roomOf: [1: "main", 2: "main", 3: "main"])
        let split = RoomMap(roomOf: [1: "r1", 2: "r1", 3: "r2"])
        XCTAssertNil(t.roomsChanged(from: together, to: split, me: 1, commandSentAt: at(0)))
        XCTAssertNil(t.packet(from: 2, now: at(50)))
        // Closing brings 3 back: a sample.
        XCTAssertNil(t.roomsChanged(from: split, to: together, me: 1, commandSentAt: at(100)))
        XCTAssertEqual(t.packet(from: 3, now: at(170)), .milliseconds(70))
    }
}

extension MoveLatencyTrackerTests {
    func testAJoinerIsNotAMove() {
        var t = MoveLatencyTracker()
        let joined = RoomMap(roomOf: [0: "main", 1: "r1", 2: "r1", 3: "r2", 4: "r2", 5: "r1"])
        let before = RoomMap(roomOf: [0: "main", 1: "r1", 2: "r1", 3: "r2", 4: "r2"])
        XCTAssertNil(t.roomsChanged(from: before, to: joined, me: 1, commandSentAt: at(0)))
        XCTAssertNil(t.packet(from: 5, now: at(30)))
    }
}
