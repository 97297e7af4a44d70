import CohortClient
@testable import ControlPlane
import DTLS
import Logging
import NIOEmbedded
import NIOPosix
import Tokens
import Wire
import XCTest
@testable import cohort

/// Issue 14, point 6: the relay keeps nothing of a session once it empties,
/// and the per-address join limit forgets quiet addresses (point 5).
final class MediaRelayStateTests: XCTestCase {
    private static let certificate = try! DTLSCertificate()

    private func request(session: String, name: String, subject: String? = nil, offer: String? = nil) -> AuthorizedJoin {
        let claims = TokenClaims(session: session, name: name, role: .participant, expiresAt: 2_000_000_000,
                                 issuedAt: 1_000_000_000, subject: subject)
        let client = ClientParticipant(publishAudio: true, publishVideo: false, slots: 1, certificate: Self.certificate)
        return AuthorizedJoin(requestID: "1", claims: claims, displayName: name, offer: offer ?? client.offer.sdp,
                              audioMode: nil)
    }

    func testEmptiedSessionsAreForgotten() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let relay = MediaRelay(logger: Logger(label: "test"))
        _ = try await relay.start(group: group, host: "127.0.0.1", port: 0, announce: "127.0.0.1", consentTimeout: 30,
                                  waitingRoom: false, certificate: Self.certificate)
        var joined: [String] = []
        for s in 0..<20 {
            for n in 0..<2 {
                let r = try await relay.join(request(session: "s\(s)", name: "n\(n)"),
                                             connection: ClientConnection(channel: NIOAsyncTestingChannel()))
                joined.append(r.participantId)
            }
        }
        // Refused joins (a bad offer; the same token a fourth time) hold nothing either.
        for _ in 0..<3 {
            _ = try? await relay.join(request(session: "bad", name: "x", offer: "v=0\r\n"),
                                      connection: ClientConnection(channel: NIOAsyncTestingChannel()))
        }
        for _ in 0..<4 {
            _ = try? await relay.join(request(session: "busy", name: "y", subject: "u1"),
                                      connection: ClientConnection(channel: NIOAsyncTestingChannel()))
        }
        XCTAssertEqual(relay.stateCounts.sessions, 21, "20 sessions and busy")
        XCTAssertEqual(relay.stateCounts.participants, 43)
        for id in joined { await relay.leave(participantId: id, connection: ClientConnection(channel: NIOAsyncTestingChannel())) }
        XCTAssertEqual(relay.stateCounts.sessions, 1, "only busy is left")
        await relay.stop()
        try await group.shutdownGracefully()
    }

    func testJoinRateLimiterAllowsABurstRefillsAndForgets() {
        var limiter = JoinRateLimiter(perMinute: 6)
        let t0 = Instant.zero + .seconds(100)
        XCTAssertEqual((0..<8).map { _ in limiter.allow("10.0.0.1", now: t0) }.filter { $0 }.count, 6)
        XCTAssertTrue(limiter.allow("10.0.0.2", now: t0), "another address has its own allowance")
        XCTAssertFalse(limiter.allow("10.0.0.1", now: t0 + .seconds(5)))
        XCTAssertTrue(limiter.allow("10.0.0.1", now: t0 + .seconds(10)), "one join refilled after 10 s")
        XCTAssertEqual(limiter.count, 1, "10.0.0.2 refilled its one join in those 10 s and was forgotten")
        _ = limiter.allow("10.0.0.3", now: t0 + .seconds(200))
        XCTAssertEqual(limiter.count, 1, "addresses whose allowance is full again are forgotten")
        var off = JoinRateLimiter(perMinute: 0)
        XCTAssertTrue((0..<1000).allSatisfy { _ in off.allow("10.0.0.1", now: t0) })
    }

    func testIdentityIsTheSubjectOrTheWholeGrant() {
        let a = TokenClaims(session: "s", name: "Sam", role: .participant, expiresAt: 2, issuedAt: 1)
        var b = a
        b.issuedAt = 0
        XCTAssertNotEqual(MediaRelay.identity(of: a), MediaRelay.identity(of: b), "two grants without sub")
        var c = a, d = b
        c.subject = "u1"
        d.subject = "u1"
        d.name = "Sam on the phone"
        XCTAssertEqual(MediaRelay.identity(of: c), MediaRelay.identity(of: d), "one sub, one person")
    }
}
