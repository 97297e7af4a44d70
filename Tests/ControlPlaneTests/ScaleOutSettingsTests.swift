import XCTest
@testable import cohort

/// `cohort serve --directory ...` option resolution (docs/SCALE-OUT.md).
final class ScaleOutSettingsTests: XCTestCase {
    private let http = HostPort(host: "127.0.0.2", port: 8080)
    private let url = "postgres://cohort:pw@db:5432/cohort"

    private func resolve(_ flags: ScaleOutFlags, env: [String: String] = [:], http: HostPort? = nil)
        throws(ScaleOutSettingsError) -> ScaleOutSettings? {
        try ScaleOutSettings.resolve(flags, environment: env, http: http ?? self.http)
    }

    func testOffWithoutDirectory() throws {
        XCTAssertNil(try resolve(ScaleOutFlags()))
    }

    func testDefaultsAndEnvironment() throws {
        let s = try XCTUnwrap(resolve(ScaleOutFlags(directory: url)))
        XCTAssertEqual(s.publicURL, "ws://127.0.0.2:8080/ws")
        XCTAssertEqual(s.capacity, ScaleOutSettings.defaultCapacity)
        XCTAssertEqual(s.nodeDeadAfter, ScaleOutSettings.defaultNodeDeadAfter)
        XCTAssertEqual(s.directory.host, "db")
        let e = try XCTUnwrap(resolve(ScaleOutFlags(), env: ["COHORT_DIRECTORY": url, "COHORT_PUBLIC_URL": "wss://n1.example/ws",
                                                             "COHORT_CAPACITY": "40", "COHORT_NODE_DEAD_AFTER": "9"]))
        XCTAssertEqual([e.publicURL, "\(e.capacity)", "\(e.nodeDeadAfter)"], ["wss://n1.example/ws", "40", "9"])
        let f = try XCTUnwrap(resolve(ScaleOutFlags(capacity: "7"), env: ["COHORT_DIRECTORY": url, "COHORT_CAPACITY": "40"]))
        XCTAssertEqual(f.capacity, 7, "the flag wins")
    }

    func testBadValuesNameTheOption() {
        func error(_ flags: ScaleOutFlags, http: HostPort? = nil) -> String {
            do { _ = try resolve(flags, http: http); return "accepted" } catch { return error.description }
        }
        XCTAssertEqual(error(ScaleOutFlags(publicURL: "ws://h/ws")), "--public-url only applies with --directory")
        XCTAssertEqual(error(ScaleOutFlags(directory: "/var/lib/cohort.sqlite")),
                       "--directory \"/var/lib/cohort.sqlite\" is not a postgres://user:password@host:port/database URL")
        XCTAssertTrue(error(ScaleOutFlags(directory: "postgres://db/x")).hasPrefix("--directory: "))
        XCTAssertFalse(error(ScaleOutFlags(directory: "postgres://u:secret-pw@/x")).contains("secret-pw"))
        XCTAssertEqual(error(ScaleOutFlags(directory: url, publicURL: "http://h/ws")),
                       "--public-url \"http://h/ws\" is not a WebSocket URL: ws://host[:port]/path or wss://...")
        XCTAssertTrue(error(ScaleOutFlags(directory: url), http: HostPort(host: "0.0.0.0", port: 80))
            .hasPrefix("--directory needs --public-url"))
        XCTAssertEqual(error(ScaleOutFlags(directory: url, capacity: "0")), "--capacity \"0\" is not a whole number from 1 to 1000000")
        XCTAssertEqual(error(ScaleOutFlags(directory: url, nodeDeadAfter: "1")),
                       "--node-dead-after \"1\" is not a whole number from 2 to 3600")
    }
}
