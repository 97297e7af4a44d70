import XCTest
@testable import STUN

final class StunAddressTests: XCTestCase {
    func testIPv4RoundTrip() throws {
        let a = try StunAddress(parsing: "127.0.0.1:5000")
        XCTAssertEqual(a.ip, .v4(0x7F00_0001))
        XCTAssertEqual(a.port, 5000)
        XCTAssertTrue(a.isIPv4)
        XCTAssertEqual(a.ipBytes, [127, 0, 0, 1])
        XCTAssertEqual(a.description, "127.0.0.1:5000")
        XCTAssertEqual(StunAddress("0.0.0.0:0")?.description, "0.0.0.0:0")
        XCTAssertEqual(StunAddress("255.255.255.255:65535")?.description, "255.255.255.255:65535")
    }

    func testIPv6RoundTrip() throws {
        let a = try StunAddress(parsing: "[::1]:5000")
        XCTAssertEqual(a.ip, .v6(high: 0, low: 1))
        XCTAssertFalse(a.isIPv4)
        XCTAssertEqual(a.ipBytes, [UInt8](repeating: 0, count: 15) + [1])
        XCTAssertEqual(a.description, "[::1]:5000")
        XCTAssertEqual(StunAddress(ipBytes: a.ipBytes, port: 5000), a)
    }

    /// RFC 5952 §4: canonical IPv6 text.
    func testIPv6CanonicalForm() {
        let cases: [(String, String)] = [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),        // first of equal runs
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),      // a single zero group stays
            ("2001:DB8::0:0:1", "2001:db8::1"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),                      // longest run wins
            ("::", "::"),
            ("1::", "1::"),
            ("fe80::1:2:3:4", "fe80::1:2:3:4"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("::ffff:c000:201", "::ffff:192.0.2.1"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ]
        for (input, canonical) in cases {
            XCTAssertEqual(StunAddress.IP(input)?.description, canonical, input)
        }
    }

    func testInvalidText() {
        for bad in ["", ":", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:5000x",
                    "256.0.0.1:1", "1.2.3:1", "1.2.3.4.5:1", "01.2.3.4:1", "1..3.4:1", "::1:5000",
                    "[::1]", "[::1]5000", "[::1:5000", "[1::2::3]:1", "[12345::]:1", "[1:2:3:4:5:6:7:8:9]:1",
                    "[1:2:3:4:5:6:7]:1", "[::g]:1", "[:1::]:1", "[1.2.3.4]:1", "[::1.2.3]:1",
                    "[1:2:3:4:5:6:7::8]:1", "localhost:80", "[fe80::1%eth0]:1"] {
            XCTAssertNil(StunAddress(bad), bad)
            XCTAssertThrowsError(try StunAddress(parsing: bad)) {
                XCTAssertEqual($0 as? StunError, .invalidAddress(bad))
            }
        }
        XCTAssertNil(StunAddress(ipBytes: [1, 2, 3], port: 1))
        XCTAssertNotNil(StunAddress("[1:2:3:4:5:6::8]:1"))
    }

    func testHashableForUseAsKey() {
        let set: Set<StunAddress> = [StunAddress("10.0.0.1:1")!, StunAddress("10.0.0.1:1")!, StunAddress("10.0.0.1:2")!]
        XCTAssertEqual(set.count, 2)
    }
}
