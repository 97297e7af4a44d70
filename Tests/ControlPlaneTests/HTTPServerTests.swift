import XCTest
import NIOHTTP1
@testable import ControlPlane

/// Plain HTTP over a real loopback socket.
final class HTTPServerTests: XCTestCase {
    func testHealthz() async throws {
        let h = try await ServerHarness.start()
        let r = try await h.get("/healthz")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.body, "ok")
        XCTAssertEqual(r.headers["content-length"], "2")
        try await h.stop()
    }

    func testIndexPageAndStaticFile() async throws {
        let h = try await ServerHarness.start()
        let index = try await h.get("/?token=abc")
        XCTAssertEqual(index.status, 200)
        XCTAssertEqual(index.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertEqual(index.headers["referrer-policy"], "no-referrer")
        XCTAssertEqual(Array(index.body.utf8), ServerHarness.page)
        let js = try await h.get("/app.js")
        XCTAssertEqual(js.status, 200)
        XCTAssertEqual(js.body, "console.log(1)")
        try await h.stop()
    }

    func testNotFoundMethodAndTraversal() async throws {
        let h = try await ServerHarness.start()
        let missing = try await h.get("/nope.html")
        XCTAssertEqual(missing.status, 404)
        let traversal = try await h.get("/../../etc/passwd")
        XCTAssertEqual(traversal.status, 404)
        let post = try await h.get("/", method: "POST")
        XCTAssertEqual(post.status, 405)
        XCTAssertEqual(post.headers["allow"], "GET, HEAD")
        let head = try await h.get("/healthz", method: "HEAD")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.body, "")
        try await h.stop()
    }

    func testWebSocketPathWithoutUpgradeIs426() async throws {
        let h = try await ServerHarness.start()
        let r = try await h.get("/ws")
        XCTAssertEqual(r.status, 426)
        XCTAssertEqual(r.headers["upgrade"], "websocket")
        try await h.stop()
    }

    func testUpgradeOnOtherPathIsRefused() async throws {
        let h = try await ServerHarness.start()
        do {
            _ = try await h.connect(path: "/elsewhere")
            XCTFail("upgrade on /elsewhere must be refused")
        } catch let refused as UpgradeRefused {
            XCTAssertEqual(refused.status, .notFound)
        }
        try await h.stop()
    }

    func testKeepAliveServesTwoRequests() async throws {
        let h = try await ServerHarness.start()
        let request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let response = try await RawHTTP.exchange(request, port: h.port, group: h.group)
        XCTAssertEqual(response.components(separatedBy: "HTTP/1.1 200 OK").count - 1, 2)
        try await h.stop()
    }

    func testBundledPlaceholderPageLoads() throws {
        let files = try StaticFiles.bundled()
        let index = try XCTUnwrap(files.lookup("/"))
        XCTAssertEqual(index.contentType, "text/html; charset=utf-8")
        XCTAssertTrue(String(decoding: index.bytes, as: UTF8.self).contains("<title>Cohort</title>"))
    }

    func testWebRootMissing() {
        XCTAssertThrowsError(try StaticFiles(directory: "/nonexistent/cohort-web")) {
            XCTAssertEqual($0 as? ControlPlaneError, .webRootUnreadable("/nonexistent/cohort-web"))
        }
    }

    func testQueryValue() {
        XCTAssertEqual(ControlPlaneServer.queryValue("session", in: "/ws?session=group%2D1&x=2"), "group-1")
        XCTAssertEqual(ControlPlaneServer.queryValue("x", in: "/ws?session=a&x=2"), "2")
        XCTAssertEqual(ControlPlaneServer.queryValue("s", in: "/ws?s"), "")
        XCTAssertNil(ControlPlaneServer.queryValue("session", in: "/ws"))
        XCTAssertNil(ControlPlaneServer.queryValue("session", in: "/ws?session=%zz"))
        XCTAssertFalse(ControlPlaneServer.hasValidQueryValue("session", in: "/ws?session=%zz"))
        XCTAssertFalse(ControlPlaneServer.hasValidQueryValue("session", in: "/ws?x=1&session=%ff"))
        XCTAssertTrue(ControlPlaneServer.hasValidQueryValue("session", in: "/ws?session=group%2D1"))
        XCTAssertTrue(ControlPlaneServer.hasValidQueryValue("session", in: "/ws"))
    }
}

/// Which pages may open a WebSocket (issue 15, point 5): the server's own
/// origin, clients that send no Origin, and the `--allowed-origins` list.
final class OriginPolicyTests: XCTestCase {
    private func headers(_ origin: String?, host: String = "clinic.example:8080") -> HTTPHeaders {
        var h: HTTPHeaders = ["Host": host]
        if let origin { h.add(name: "Origin", value: origin) }
        return h
    }

    func testOwnOriginAndNoOriginAreAllowedOthersNot() {
        let policy = OriginPolicy()
        XCTAssertTrue(policy.allows(headers(nil)), "an app sends no Origin")
        XCTAssertTrue(policy.allows(headers("http://clinic.example:8080")))
        XCTAssertTrue(policy.allows(headers("https://Clinic.Example:8080/")), "behind a TLS proxy; case and a slash do not matter")
        XCTAssertTrue(policy.allows(headers("https://clinic.example", host: "clinic.example")))
        XCTAssertFalse(policy.allows(headers("https://evil.example")))
        XCTAssertFalse(policy.allows(headers("http://clinic.example:8081")), "another port is another origin")
        XCTAssertFalse(policy.allows(headers("null")), "a sandboxed or file page")
        var two = headers("http://clinic.example:8080")
        two.add(name: "Origin", value: "https://evil.example")
        XCTAssertFalse(policy.allows(two), "two Origin headers")
    }

    func testAllowList() {
        let policy = OriginPolicy(allowed: ["https://portal.clinic.example"])
        XCTAssertTrue(policy.allows(headers("https://portal.clinic.example")))
        XCTAssertFalse(policy.allows(headers("https://evil.example")))
        XCTAssertTrue(OriginPolicy(allowed: ["*"]).allows(headers("https://evil.example")))
    }

    /// Scale-out: the pages of the other live nodes, as the directory last listed them.
    func testPeerOriginsFollowTheDirectory() {
        var policy = OriginPolicy()
        let peers = PeerOrigins()
        policy.peers = peers
        XCTAssertFalse(policy.allows(headers("http://127.0.0.2:8080")))
        peers.replace(with: ["http://127.0.0.2:8080", "HTTPS://Node3.Example"])
        XCTAssertTrue(policy.allows(headers("http://127.0.0.2:8080")))
        XCTAssertTrue(policy.allows(headers("https://node3.example/")))
        XCTAssertFalse(policy.allows(headers("https://evil.example")))
        peers.replace(with: [])
        XCTAssertFalse(policy.allows(headers("http://127.0.0.2:8080")), "a node that died is forgotten")
    }

    func testAForeignPageGets403AndNoWebSocket() async throws {
        let h = try await ServerHarness.start {
            $0.joinTimeout = .milliseconds(100)
            $0.closeTimeout = .milliseconds(100)
        }
        func upgrade(origin: String) async throws -> Int {
            // "close": a refused upgrade is an HTTP response; then the connection ends.
            let response = try await RawHTTP.exchange(
                "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:\(h.port)\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: \(origin)\r\n\r\n",
                port: h.port, group: h.group)
            return RawHTTP.parse(response).status
        }
        let foreign = try await upgrade(origin: "https://evil.example")
        XCTAssertEqual(foreign, 403)
        let own = try await upgrade(origin: "http://127.0.0.1:\(h.port)")
        XCTAssertEqual(own, 101)
        try await h.stop()
    }
}
