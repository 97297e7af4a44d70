import XCTest
@testable import SFU

final class RoutingTableTests: XCTestCase {
    func testSlotsFillInJoinOrderAndStayStable() {
        var t = RoutingTable()
        t.add("a", room: "main", audioSlots: 2, videoSlots: 2)
        t.add("b", room: "main", audioSlots: 2, videoSlots: 2)
        let changed = t.add("c", room: "main", audioSlots: 2, videoSlots: 2)
        XCTAssertEqual(changed, ["a", "b", "c"])
        XCTAssertEqual(t.members["a"]?.audioSlots, ["b", "c"])
        XCTAssertEqual(t.members["c"]?.videoSlots, ["a", "b"])
        t.add("d", room: "main", audioSlots: 2, videoSlots: 2)
        XCTAssertEqual(t.members["a"]?.audioSlots, ["b", "c"], "full slots are not reshuffled")
        XCTAssertEqual(t.members["d"]?.audioSlots, ["a", "b"])
        t.remove("b")
        XCTAssertEqual(t.members["a"]?.audioSlots, ["d", "c"], "the freed slot takes the next publisher; c keeps its slot")
        XCTAssertEqual(Set(t.targets(of: "c", kind: .audio).map(\.subscriber)), ["a", "d"])
        XCTAssertTrue(t.targets(of: "b", kind: .audio).isEmpty)
    }

    func testRoomsIsolateAndMovesRemap() {
        var t = RoutingTable()
        for p in ["h", "x", "y", "z"] { t.add(p, room: "main", audioSlots: 4, videoSlots: 4) }
        t.move("x", to: "r1")
        t.move("y", to: "r1")
        XCTAssertEqual(t.members["x"]?.audioSlots.compactMap { $0 }, ["y"])
        XCTAssertEqual(Set(t.members["h"]?.audioSlots.compactMap { $0 } ?? []), ["z"])
        XCTAssertFalse(t.mayReceive("h", from: "x", kind: .audio))
        for pub in ["h", "x", "y", "z"] {
            for kind in TrackKind.allCases {
                for target in t.targets(of: pub, kind: kind) {
                    XCTAssertEqual(t.members[target.subscriber]?.room, t.members[pub]?.room)
                }
            }
        }
        t.move("x", to: "main")
        XCTAssertEqual(Set(t.members["h"]?.videoSlots.compactMap { $0 } ?? []), ["x", "z"])
    }

    func testWaitingParticipantNeitherSendsNorReceives() {
        var t = RoutingTable()
        t.add("h", room: "main", audioSlots: 2, videoSlots: 2)
        t.add("w", room: "main", audioSlots: 2, videoSlots: 2, receives: false, publishes: false)
        XCTAssertTrue(t.targets(of: "w", kind: .audio).isEmpty)
        XCTAssertTrue(t.targets(of: "h", kind: .audio).isEmpty)
        t.setFlow("w", receives: true, publishes: true)
        XCTAssertEqual(t.targets(of: "w", kind: .audio).map(\.subscriber), ["h"])
    }
}
