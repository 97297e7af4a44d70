import CohortTestSupport
import Wire
import XCTest
@testable import SFU

/// The ICE-TCP listener's bookkeeping on a manual clock: caps, eviction of
/// the oldest unauthenticated connection, the authentication and idle
/// timeouts, and the counters `/metrics` shows.
final class IceTCPConnectionsTests: XCTestCase {
    private func limits(max: Int = 8, unauthenticated: Int = 3) -> IceTCPLimits {
        var l = IceTCPLimits()
        l.maxConnections = max
        l.maxUnauthenticated = unauthenticated
        l.authenticationTimeout = .seconds(5)
        l.idleTimeout = .seconds(30)
        return l
    }

    func testUnauthenticatedConnectionsCloseAfterTheTimeout() throws {
        let clock = ManualClock()
        var table = IceTCPConnections(limits: limits())
        let a = try XCTUnwrap(table.open(now: clock.now)).id
        clock.advance(by: .seconds(2))
        let b = try XCTUnwrap(table.open(now: clock.now)).id
        XCTAssertEqual(table.nextDeadline, clock.now + .seconds(3))
        clock.advance(by: .milliseconds(2_999))
        XCTAssertTrue(table.expire(now: clock.now).isEmpty)
        clock.advance(by: .milliseconds(1))
        XCTAssertEqual(table.expire(now: clock.now).map(\.id), [a])
        // Frames that are not a successful binding do not extend the deadline.
        table.received(on: b, now: clock.now)
        clock.advance(by: .seconds(2))
        let closed = table.expire(now: clock.now)
        XCTAssertEqual(closed.map(\.id), [b])
        XCTAssertEqual(closed.map(\.reason), [.authenticationTimeout])
        XCTAssertEqual(table.counters.authenticationTimeouts, 2)
        XCTAssertEqual(table.counters.open, 0)
        XCTAssertEqual(table.counters.unauthenticated, 0)
        XCTAssertNil(table.nextDeadline)
    }

    func testAuthenticatedConnectionsStayWhileTheyTalk() throws {
        let clock = ManualClock()
        var table = IceTCPConnections(limits: limits())
        let a = try XCTUnwrap(table.open(now: clock.now)).id
        table.authenticated(a)
        XCTAssertTrue(table.isAuthenticated(a))
        XCTAssertEqual(table.counters.unauthenticated, 0)
        for _ in 0..<10 {
            clock.advance(by: .seconds(5))
            table.received(on: a, now: clock.now)
            XCTAssertTrue(table.expire(now: clock.now).isEmpty)
        }
        clock.advance(by: .seconds(30))
        XCTAssertEqual(table.expire(now: clock.now).map(\.reason), [.idle])
        XCTAssertEqual(table.counters.idleTimeouts, 1)
    }

    /// A flood of connections that never authenticate: each new one evicts
    /// the oldest unauthenticated one, authenticated ones are never touched,
    /// and the total cap refuses only when nothing can be evicted.
    func testFloodEvictsTheOldestUnauthenticatedAndSparesTheAuthenticated() throws {
        let clock = ManualClock()
        var table = IceTCPConnections(limits: limits(max: 5, unauthenticated: 3))
        let browser = try XCTUnwrap(table.open(now: clock.now)).id
        table.authenticated(browser)
        var flood: [UInt32] = []
        for _ in 0..<3 {
            clock.advance(by: .milliseconds(1))
            flood.append(try XCTUnwrap(table.open(now: clock.now)).id)
        }
        clock.advance(by: .milliseconds(1))
        let next = try XCTUnwrap(table.open(now: clock.now))
        XCTAssertEqual(next.evict, flood[0], "the oldest unauthenticated goes")
        XCTAssertEqual(table.counters.unauthenticated, 3)
        XCTAssertEqual(table.counters.evicted, 1)
        XCTAssertTrue(table.isAuthenticated(browser))

        // Fill the total cap with authenticated connections: then nothing can be evicted.
        var authenticated = [browser]
        for id in [flood[1], flood[2], next.id] { table.authenticated(id); authenticated.append(id) }
        let last = try XCTUnwrap(table.open(now: clock.now)).id
        table.authenticated(last)
        XCTAssertEqual(table.counters.open, 5)
        XCTAssertNil(table.open(now: clock.now), "full of participants: refused")
        XCTAssertEqual(table.counters.refused, 1)
        XCTAssertEqual(table.counters.accepted, 6)
    }

    func testClosedConnectionsAndFramingErrorsAreCounted() throws {
        let clock = ManualClock()
        var table = IceTCPConnections(limits: limits())
        let a = try XCTUnwrap(table.open(now: clock.now)).id
        let b = try XCTUnwrap(table.open(now: clock.now)).id
        table.closed(a, framingError: true)
        table.closed(a, framingError: false)  // twice: ignored
        table.closed(b, framingError: false)
        XCTAssertEqual(table.counters.framingErrors, 1)
        XCTAssertEqual(table.counters.open, 0)
        XCTAssertEqual(table.counters.unauthenticated, 0)
        table.sent(dropped: true)
        table.sent(dropped: false)
        XCTAssertEqual(table.counters.sendQueueDrops, 1)
        XCTAssertEqual(table.counters.framesOut, 1)
    }
}
