import SFU
import Wire
import XCTest

/// What one participant can make the server send (issue 14, item 3): a
/// command budget, a chat and broadcast byte budget, and session views
/// coalesced to a few a second per member, whatever the storm.
final class FanOutBudgetTests: XCTestCase {
    /// A session of `count` participants plus a host.
    private func session(_ count: Int) throws -> EngineHarness {
        let h = EngineHarness()
        try h.join("host", slots: 1, role: .host)
        for i in 0..<count { try h.join("p\(i)", slots: 1) }
        h.run(for: .seconds(2))  // budgets full again after the joins
        return h
    }

    private func perform(_ h: EngineHarness, _ command: SessionCommand, by name: String) -> String? {
        do { try h.engine.perform(command, by: h.participantIDs[name]!, now: h.clock.now); return nil } catch { return error.code }
    }

    /// 200 hand toggles in one second (1 KB in): about 30 are carried out,
    /// the rest refused; each member gets at most 5 + 5 views in that second
    /// (before: 200 views each), and the last view is the true state.
    func testAHandToggleStormIsRateLimitedAndItsViewsCoalesced() throws {
        let h = try session(9)
        let host = h.participantIDs["host"]!
        h.events.viewCounts = [:]
        var accepted = 0, refused = 0
        var raised = false
        for i in 0..<200 {
            if perform(h, .setHandRaised(i % 2 == 0), by: "p0") == nil { accepted += 1; raised = i % 2 == 0 } else { refused += 1 }
            h.run(for: .milliseconds(5))
        }
        XCTAssertLessThanOrEqual(accepted, 31, "20 at once, then 10 a second")
        XCTAssertGreaterThanOrEqual(accepted, 25)
        XCTAssertEqual(accepted + refused, 200)
        XCTAssertEqual(h.engine.counters.commandsRateLimited, refused)
        let views = try XCTUnwrap(h.events.viewCounts[host])
        XCTAssertLessThanOrEqual(views, 11, "5 at once, then 5 a second")
        h.run(for: .milliseconds(400))
        XCTAssertEqual(h.events.views[host]?.handsRaised, raised ? [h.participantIDs["p0"]!] : [], "the last view is current")
        // Another member's commands are not held up by p0's storm.
        XCTAssertNil(perform(h, .setHandRaised(true), by: "p1"))
    }

    /// Longest broadcasts to a session of ten: the byte budget (1 MB, then
    /// 128 KB a second) lets two through at once, then about one every
    /// 0.6 s; the text limit keeps each one at 8 KB.
    func testBroadcastAndChatSpendAByteBudget() throws {
        let h = try session(9)
        let text = String(repeating: "é", count: 2_000)  // 4 KB
        var accepted = 0
        for _ in 0..<40 where perform(h, .broadcast(text), by: "host") == nil { accepted += 1 }
        // 4,128 bytes to 10 members = 41 KB each: 24 fit in 1 MB.
        XCTAssertEqual(accepted, 20, "the command budget (20) ran out first")
        h.run(for: .seconds(2))
        accepted = 0
        let long = String(repeating: "€", count: 2_000)  // 6 KB: 61 KB per broadcast to ten
        let before = h.engine.counters.commandsRateLimited
        for _ in 0..<17 where perform(h, .chat(long), by: "p1") == nil { accepted += 1 }
        XCTAssertEqual(accepted, 16, "1 MB of fan-out at once")
        XCTAssertEqual(h.engine.counters.commandsRateLimited - before, 1)
        XCTAssertNil(perform(h, .chat("hi"), by: "p1"), "a short line still fits what is left")
        XCTAssertEqual(perform(h, .chat(long), by: "p1"), "rate-limited")
        h.run(for: .seconds(1))
        XCTAssertNil(perform(h, .chat(long), by: "p1"), "128 KB a second come back")
    }
}
