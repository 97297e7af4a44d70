import CohortClient
@testable import ControlPlane
import DTLS
import Logging
import NIOEmbedded
import NIOPosix
import SFU
import Tokens
import XCTest
@testable import cohort

/// No token, secret, chat text, SDP or display name reaches the log
/// (issue 16, item 2): the relay's log sites, at trace level, through the
/// JSON handler, during joins, a chat, a refused join at shutdown and the
/// end of media.
final class LogContentTests: XCTestCase {
    private static let certificate = try! DTLSCertificate()

    private final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    func testRelayLogsIdsNeverNamesTextSDPOrTokens() async throws {
        let lines = Lines()
        var handler = JSONLogHandler(label: "cohort", output: { lines.add($0) })
        handler.logLevel = .trace
        var logger = Logger(label: "cohort", factory: { _ in handler })
        logger.logLevel = .trace
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let relay = MediaRelay(logger: logger)
        _ = try await relay.start(group: group, host: "127.0.0.1", port: 0, announce: "127.0.0.1", consentTimeout: 30,
                                  waitingRoom: false, certificate: Self.certificate)
        let signer = TokenSigner(secret: "0123456789abcdef0123456789abcdef")
        var secrets: [String] = []
        func join(_ name: String, sub: String) async throws -> JoinResult {
            let claims = TokenClaims(session: "group-1", name: name, role: .participant, expiresAt: 2_000_000_000,
                                     issuedAt: 1_000_000_000, subject: sub)
            let client = ClientParticipant(publishAudio: true, publishVideo: true, slots: 2, certificate: Self.certificate)
            let token = signer.mint(claims)
            secrets.append(token)
            secrets += client.offer.sdp.split(separator: "\r\n").filter { $0.hasPrefix("a=ice-pwd:") }.map { String($0.dropFirst(10)) }
            let result = try await relay.join(AuthorizedJoin(requestID: "1", claims: claims, displayName: name,
                                                             offer: client.offer.sdp, audioMode: nil),
                                              connection: ClientConnection(channel: NIOAsyncTestingChannel()))
            secrets += result.answer.split(separator: "\r\n").filter { $0.hasPrefix("a=ice-pwd:") }.map { String($0.dropFirst(10)) }
            return result
        }
        let dana = try await join("Dana Whitcombe", sub: "person-17")
        _ = try await join("Ezra Holloway", sub: "person-18")
        let chat = "I told my sponsor about the relapse"
        try await relay.command(.chat(chat), participantId: dana.participantId,
                                connection: ClientConnection(channel: NIOAsyncTestingChannel()))
        relay.stopJoins()
        do {
            _ = try await join("Late Arrival", sub: "person-19")
            XCTFail("a join after shutdown began was admitted")
        } catch {
            XCTAssertEqual((error as? SignalingError)?.code, .busy, "joins are refused once shutdown begins")
        }
        await relay.shutDownMedia()
        await relay.stop()
        try await group.shutdownGracefully()

        let log = lines.all
        XCTAssertTrue(log.contains { $0.contains("\"message\":\"joined\"") && $0.contains(dana.participantId) },
                      "joins are logged, by participant id: \(log)")
        XCTAssertTrue(log.contains { $0.contains("\"command\":\"chat\"") }, "the chat is logged as a command name")
        XCTAssertEqual(Set(secrets).count, 3 + 3 + 2, "three tokens, three offers' ICE passwords, two answers' (the third join was refused)")
        let jwtShape = try NSRegularExpression(pattern: "eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{4,}\\.")
        for line in log {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), line)
            for needle in secrets + [chat, "Dana", "Whitcombe", "Ezra", "Late Arrival", "v=0", "a=ice-ufrag", "a=fingerprint"] {
                XCTAssertFalse(line.contains(needle), "\(needle.prefix(30)) in \(line)")
            }
            XCTAssertNil(jwtShape.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), "a token-shaped value in \(line)")
        }
    }
}
