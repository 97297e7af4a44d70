import XCTest
@testable import cohort

/// `cohort serve --directory ...` option resolution (docs/SCALE-OUT.md).
final class ScaleOutSettingsTests: XCTestCase {
    private let http = HostPort(host: "127.0.0.2", port: 8080)
    private let url = "postgres://cohort:pw@db:5432/cohort"

    /// `flags` by long name, as on the command line.
    private func resolve(_ flags: [String: String], env: [String: String] = [:], http: HostPort? = nil)
        throws(ScaleOutSettingsError) -> ScaleOutSettings? {
        var inputs = ServeInputs(flags: ServeFlags(flags), environment: env)
        return try ScaleOutSettings.resolve(&inputs, http: http ?? self.http)
    }

    func testOffWithoutDirectory() throws {
        XCTAssertNil(try resolve([:]))
    }

    func testDefaultsAndEnvironment() throws {
        let s = try XCTUnwrap(resolve(["directory": url]))
        XCTAssertEqual(s.publicURL, "ws://127.0.0.2:8080/ws")
        XCTAssertEqual(s.capacity, ScaleOutSettings.defaultCapacity)
        XCTAssertEqual(s.nodeDeadAfter, ScaleOutSettings.defaultNodeDeadAfter)
        XCTAssertEqual(s.directory.host, "db")
        let e = try XCTUnwrap(resolve([:], env: ["COHORT_DIRECTORY": url, "COHORT_PUBLIC_URL": "wss://n1.example/ws",
                                                 "COHORT_CAPACITY": "40", "COHORT_NODE_DEAD_AFTER": "9"]))
        XCTAssertEqual([e.publicURL, "\(e.capacity)", "\(e.nodeDeadAfter)"], ["wss://n1.example/ws", "40", "9"])
        let f = try XCTUnwrap(resolve(["capacity": "7"], env: ["COHORT_DIRECTORY": url, "COHORT_CAPACITY": "40"]))
        XCTAssertEqual(f.capacity, 7, "the flag wins")
    }

    func testBadValuesNameTheOption() {
        func error(_ flags: [String: String], http: HostPort? = nil) -> String {
            do { _ = try resolve(flags, http: http); return "accepted" } catch { return error.description }
        }
        XCTAssertEqual(error(["public-url": "ws://h/ws"]), "--public-url only applies with --directory")
        XCTAssertEqual(error(["directory": "/var/lib/cohort.sqlite"]),
                       "--directory \"/var/lib/cohort.sqlite\" is not a postgres://user:password@host:port/database URL")
        XCTAssertTrue(error(["directory": "postgres://db/x"]).hasPrefix("--directory: "))
        XCTAssertFalse(error(["directory": "postgres://u:secret-pw@/x"]).contains("secret-pw"))
        XCTAssertEqual(error(["directory": url, "public-url": "http://h/ws"]),
                       "--public-url \"http://h/ws\" is not a WebSocket URL: ws://host[:port]/path or wss://...")
        XCTAssertTrue(error(["directory": url], http: HostPort(host: "0.0.0.0", port: 80))
            .hasPrefix("--directory needs --public-url"))
        XCTAssertEqual(error(["directory": url, "capacity": "0"]), "--capacity \"0\" is not a whole number from 1 to 1000000")
        XCTAssertEqual(error(["directory": url, "node-dead-after": "1"]),
                       "--node-dead-after \"1\" is not a whole number from 2 to 3600")
    }
}
