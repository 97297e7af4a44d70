import Directory
import XCTest

/// The placement rules alone, on a manual clock (milliseconds of the
/// database's clock, as `PostgresDirectory` reads them).
final class PlacementPolicyTests: XCTestCase {
    let policy = PlacementPolicy(deadAfterMilliseconds: 5_000)
    var now: Int64 = 1_000_000

    func node(_ id: String, load: Int = 0, sessions: Int = 0, capacity: Int = 100, beatAgo: Int64? = 0,
              url: String? = nil) -> NodeStatus {
        NodeStatus(id: id, publicURL: url ?? "ws://\(id):8080/ws", capacity: capacity, load: load, sessions: sessions,
                   heartbeatAt: beatAgo.map { now - $0 })
    }

    func testUnplacedSessionGoesToTheLeastLoadedLiveNode() {
        let nodes = [node("a", load: 10), node("b", load: 3), node("c", load: 7)]
        XCTAssertEqual(policy.decide(holder: nil, me: "a", nodes: nodes, now: now), .place(on: "b"))
    }

    func testLoadIsRelativeToCapacityAndCountsPlacedSessions() {
        // b: 10/100, c: (2 + 3 sessions)/20 = 0.25, a: 20/100 = 0.2.
        let nodes = [node("a", load: 20), node("b", load: 6, sessions: 4), node("c", load: 2, sessions: 3, capacity: 20)]
        XCTAssertEqual(policy.leastLoaded(nodes, now: now)?.id, "b")
        // Sessions just placed count before their participants arrive: a burst spreads.
        let burst = [node("a", sessions: 2), node("b", sessions: 1), node("c", sessions: 2)]
        XCTAssertEqual(policy.leastLoaded(burst, now: now)?.id, "b")
    }

    func testTiesGoToTheSmallerID() {
        XCTAssertEqual(policy.leastLoaded([node("c"), node("b"), node("d")], now: now)?.id, "b")
    }

    func testSessionHeldHereStaysHere() {
        let nodes = [node("a", load: 99), node("b")]
        XCTAssertEqual(policy.decide(holder: "a", me: "a", nodes: nodes, now: now), .here)
    }

    func testSessionOnALiveOtherNodeIsRedirected() {
        let nodes = [node("a"), node("b", load: 99, url: "wss://b.example.org/ws")]
        XCTAssertEqual(policy.decide(holder: "b", me: "a", nodes: nodes, now: now),
                       .redirect(node: "b", url: "wss://b.example.org/ws"))
    }

    func testNodeIsDeadAfterTheTimeoutAndItsSessionIsPlacedAgain() {
        var nodes = [node("a", load: 5), node("b", beatAgo: 5_000), node("c", load: 9)]
        XCTAssertEqual(policy.decide(holder: "b", me: "a", nodes: nodes, now: now), .redirect(node: "b", url: "ws://b:8080/ws"))
        now += 1  // 5.001 s since b's heartbeat
        nodes = nodes.map { var n = $0; if n.id != "b" { n.heartbeatAt = now }; return n }
        XCTAssertFalse(policy.isLive(nodes[1], now: now))
        XCTAssertEqual(policy.decide(holder: "b", me: "a", nodes: nodes, now: now), .place(on: "a"))
    }

    func testHolderMissingFromTheNodesIsPlacedAgain() {
        XCTAssertEqual(policy.decide(holder: "gone", me: "a", nodes: [node("a")], now: now), .place(on: "a"))
    }

    func testBogusRowsAreNeverChosen() {
        let bogus = [
            node("0-no-heartbeat", beatAgo: nil),
            node("1-bad-url", url: "not a url"),
            node("2-http-url", url: "http://b:8080/ws"),
            node("3-no-host", url: "ws:///ws"),
            node("4-zero-capacity", capacity: 0),
            node("5-full", load: 100),
            node("6-bad-port", url: "ws://b:99999/ws"),
            node("7-credentials", url: "ws://user:pw@b/ws"),
        ]
        for b in bogus {
            XCTAssertEqual(policy.decide(holder: nil, me: "z", nodes: [b, node("z", load: 90)], now: now), .place(on: "z"), b.id)
        }
        XCTAssertEqual(policy.decide(holder: nil, me: "z", nodes: bogus, now: now), .noLiveNode)
        // A bogus holder is not redirected to: the session is placed again.
        XCTAssertEqual(policy.decide(holder: "1-bad-url", me: "z", nodes: bogus + [node("z")], now: now), .place(on: "z"))
    }

    func testFullNodesKeepTheirSessionsButGetNoNewOnes() {
        let nodes = [node("a", load: 100), node("b", load: 100)]
        XCTAssertEqual(policy.decide(holder: "a", me: "b", nodes: nodes, now: now), .redirect(node: "a", url: "ws://a:8080/ws"))
        XCTAssertEqual(policy.decide(holder: nil, me: "b", nodes: nodes, now: now), .noLiveNode)
    }

    func testHeartbeatFromTheFarFutureIsBogus() {
        // Heartbeats carry the database's clock, so a little "future" only means a read raced a write...
        XCTAssertTrue(policy.isLive(node("a", beatAgo: -50), now: now))
        // ...but a row dated an hour ahead was made by hand and would never die.
        XCTAssertFalse(policy.isLive(node("a", beatAgo: -3_600_000), now: now))
        XCTAssertEqual(policy.decide(holder: nil, me: "b", nodes: [node("a", beatAgo: -3_600_000), node("b", load: 50)], now: now),
                       .place(on: "b"))
    }

    func testWebSocketURLs() {
        for good in ["ws://127.0.0.2:8080/ws", "wss://node1.example.org/ws", "WS://h", "ws://[::1]:9/ws?x=1"] {
            XCTAssertTrue(PlacementPolicy.isWebSocketURL(good), good)
        }
        for bad in ["", "127.0.0.1:8080", "http://h/ws", "ws://", "ws://h/ws#f", "ws://h /ws", "javascript:alert(1)"] {
            XCTAssertFalse(PlacementPolicy.isWebSocketURL(bad), bad)
        }
    }
}
