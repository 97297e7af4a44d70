import NIOConcurrencyHelpers
import Tokens
import XCTest
@testable import ControlPlane

/// `GET /records/...` over a real loopback socket: only a valid host or
/// co-host token of the session reads that session's records.
final class RecordsEndpointTests: XCTestCase {
    final class FakeRecords: RecordsSource {
        let calls = NIOLockedValueBox<[String]>([])
        func export(report: String, session: String, from: String?, to: String?,
                    format: String) throws -> (contentType: String, body: String) {
            calls.withLockedValue { $0.append("\(report) \(session) \(from ?? "-") \(to ?? "-") \(format)") }
            if from == "bad" { throw RecordsQueryError("\"bad\" is not a date YYYY-MM-DD") }
            return ("text/csv; charset=utf-8", "session,person\n\(session),client-42\n")
        }
    }

    func get(_ h: ServerHarness, _ path: String, token: String?) async throws -> (status: Int, headers: [String: String], body: String) {
        let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let response = try await RawHTTP.exchange("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)Connection: close\r\n\r\n",
                                                  port: h.port, group: h.group)
        return RawHTTP.parse(response)
    }

    func testOnlyHostsOfTheSessionReadItsRecords() async throws {
        let records = FakeRecords()
        let h = try await ServerHarness.start { $0.records = records }
        let path = "/records/attendance?session=group-1&format=csv"

        let host = try await get(h, path, token: h.token(session: "group-1", role: .host))
        XCTAssertEqual(host.status, 200)
        XCTAssertEqual(host.headers["content-type"], "text/csv; charset=utf-8")
        XCTAssertEqual(host.headers["cache-control"], "no-store")
        XCTAssertEqual(host.body, "session,person\ngroup-1,client-42\n")
        let coHost = try await get(h, "/records/audit?session=group-1&format=json&from=2026-12-01&to=2026-12-02",
                                   token: h.token(session: "group-1", role: .coHost))
        XCTAssertEqual(coHost.status, 200)

        let participant = try await get(h, path, token: h.token(session: "group-1", role: .participant))
        XCTAssertEqual(participant.status, 403)
        let otherSession = try await get(h, path, token: h.token(session: "group-2", role: .host))
        XCTAssertEqual(otherSession.status, 403)
        let none = try await get(h, path, token: nil)
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.headers["www-authenticate"], "Bearer")
        let expired = try await get(h, path, token: h.token(session: "group-1", role: .host, expiresAt: ServerHarness.now - 3_600,
                                                             issuedAt: ServerHarness.now - 7_200))
        XCTAssertEqual(expired.status, 401)
        let forged = try await get(h, path, token: TokenSigner(secret: "another-secret-0123456789abcdef-xyz").mint(
            TokenClaims(session: "group-1", name: "X", role: .host, expiresAt: ServerHarness.now + 600, issuedAt: ServerHarness.now)))
        XCTAssertEqual(forged.status, 401)
        let garbage = try await get(h, path, token: "not.a.token")
        XCTAssertEqual(garbage.status, 401)

        let noSession = try await get(h, "/records/attendance", token: h.token(session: "group-1", role: .host))
        XCTAssertEqual(noSession.status, 400)
        let badFormat = try await get(h, "/records/attendance?session=group-1&format=xml", token: h.token(session: "group-1", role: .host))
        XCTAssertEqual(badFormat.status, 400)
        let badDate = try await get(h, "/records/attendance?session=group-1&from=bad", token: h.token(session: "group-1", role: .host))
        XCTAssertEqual(badDate.status, 400)
        let unknown = try await get(h, "/records/chat?session=group-1", token: h.token(session: "group-1", role: .host))
        XCTAssertEqual(unknown.status, 404)

        XCTAssertEqual(records.calls.withLockedValue { $0 }, [
            "attendance group-1 - - csv", "audit group-1 2026-12-01 2026-12-02 json", "attendance group-1 bad - csv"])
        try await h.stop()
    }

    func testPercentEncodedSessionAndRecordsOff() async throws {
        let records = FakeRecords()
        let h = try await ServerHarness.start { $0.records = records }
        let r = try await get(h, "/records/attendance?session=iop%20tue", token: h.token(session: "iop tue", role: .host))
        XCTAssertEqual(r.status, 200)
        try await h.stop()
        let off = try await ServerHarness.start()
        let none = try await get(off, "/records/attendance?session=group-1", token: off.token(session: "group-1", role: .host))
        XCTAssertEqual(none.status, 404)
        try await off.stop()
    }
}
