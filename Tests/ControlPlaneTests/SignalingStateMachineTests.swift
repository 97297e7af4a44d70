import SFU
import Tokens
import XCTest
@testable import ControlPlane

/// The per-connection logic without sockets: messages and `now` in, actions out.
final class SignalingStateMachineTests: XCTestCase {
    private let signer = TokenSigner(secret: "state-machine-test-secret-0123456789")
    private let now: Int64 = 1_700_000_000

    private func token(_ session: String = "g", exp: Int64? = nil, iat: Int64? = nil) -> String {
        signer.mint(TokenClaims(session: session, name: "Dana", role: .host, expiresAt: exp ?? now + 60, issuedAt: iat ?? now,
                                subject: "dana"))
    }

    private func joinText(_ token: String, id: String = "j", name: String? = nil, sdp: String = "v=0") -> [UInt8] {
        MessageCodec.encode(.join(JoinRequest(id: id, token: token, name: name, sdp: sdp)))
    }

    private let result = JoinResult(participantId: "p-1", room: "main", answer: "a", slots: [:], roster: [])

    func testJoinLeaveLifecycle() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: ["g"])
        guard case .startJoin(let join) = m.receiveText(joinText(token()), now: now) else { return XCTFail() }
        XCTAssertEqual(join.claims.session, "g")
        XCTAssertEqual(join.displayName, "Dana")
        XCTAssertEqual(m.state, .joining(requestID: "j"))
        XCTAssertEqual(m.receiveText(MessageCodec.encode(.leave(LeaveRequest(id: "l"))), now: now),
                       .send(.error(ErrorReply(id: "l", code: .busy, message: "a request is in progress"))))
        XCTAssertEqual(m.joinCompleted(.success(result)),
                       .send(.joined(Joined(id: "j", participantId: "p-1", room: "main", sdp: "a", slots: [:], roster: []))))
        XCTAssertEqual(m.receiveText(MessageCodec.encode(.leave(LeaveRequest(id: "l"))), now: now),
                       .startLeave(requestID: "l", participantId: "p-1"))
        XCTAssertEqual(m.leaveCompleted(), .sendAndClose(.left(Left(id: "l")), .normalClosure))
        XCTAssertEqual(m.state, .closed)
        XCTAssertEqual(m.connectionClosing(), .none, "a participant who left is not also reported as dropped")
    }

    /// Issue 13: `ice-restart` only once joined and only for the sender's own
    /// participant; the participant handed on is always the connection's.
    func testIceRestartIsOnlyForTheSendersOwnConnection() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: ["g"])
        let own = Array(#"{"type":"ice-restart","id":"r","sdp":"v=0"}"#.utf8)
        XCTAssertEqual(m.receiveText(own, now: now),
                       .send(.error(ErrorReply(id: "r", code: .notJoined, message: "join first"))))
        _ = m.receiveText(joinText(token()), now: now)
        _ = m.joinCompleted(.success(result))
        XCTAssertEqual(m.receiveText(own, now: now), .startIceRestart(requestID: "r", participantId: "p-1", offer: "v=0"))
        let named = Array(#"{"type":"ice-restart","id":"n","sdp":"v=0","participantId":"p-1"}"#.utf8)
        XCTAssertEqual(m.receiveText(named, now: now), .startIceRestart(requestID: "n", participantId: "p-1", offer: "v=0"))
        let other = Array(#"{"type":"ice-restart","id":"o","sdp":"v=0","participantId":"p-2"}"#.utf8)
        XCTAssertEqual(m.receiveText(other, now: now),
                       .send(.error(ErrorReply(id: "o", code: .forbidden,
                                               message: "an ICE restart is only for the sender's own connection"))))
        let empty = Array(#"{"type":"ice-restart","id":"e","sdp":""}"#.utf8)
        XCTAssertEqual(m.receiveText(empty, now: now),
                       .send(.error(ErrorReply(id: "e", code: .badMessage, message: "`sdp` is empty"))))
        let noSDP = Array(#"{"type":"ice-restart","id":"x"}"#.utf8)
        guard case .send(.error(let reply)) = m.receiveText(noSDP, now: now) else { return XCTFail() }
        XCTAssertEqual(reply.code, .badMessage)
        XCTAssertEqual(m.state, .joined(participantId: "p-1"))
    }

    func testSessionCommandsOnlyAfterJoin() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: ["g"])
        let create = Array(#"{"type":"create-rooms","id":"c","names":["A","B"]}"#.utf8)
        XCTAssertEqual(m.receiveText(create, now: now),
                       .send(.error(ErrorReply(id: "c", code: .notJoined, message: "join first"))))
        _ = m.receiveText(joinText(token()), now: now)
        _ = m.joinCompleted(.success(result))
        XCTAssertEqual(m.receiveText(create, now: now),
                       .startCommand(requestID: "c", participantId: "p-1", .createRooms(names: ["A", "B"])))
        let move = Array(#"{"type":"move","id":"m","participantId":"p-2","room":"r1"}"#.utf8)
        XCTAssertEqual(m.receiveText(move, now: now), .startCommand(requestID: "m", participantId: "p-1", .move("p-2", to: "r1")))
        let balanced = Array(#"{"type":"assign","id":"a","balanced":true}"#.utf8)
        XCTAssertEqual(m.receiveText(balanced, now: now), .startCommand(requestID: "a", participantId: "p-1", .assignBalanced))
        let empty = Array(#"{"type":"assign","id":"e"}"#.utf8)
        XCTAssertEqual(m.receiveText(empty, now: now),
                       .send(.error(ErrorReply(id: "e", code: .badMessage, message: "incomplete assign"))))
        let stop = Array(#"{"type":"listen","id":"s","room":null}"#.utf8)
        XCTAssertEqual(m.receiveText(stop, now: now), .startCommand(requestID: "s", participantId: "p-1", .listen(nil)))
        let mute = Array(#"{"type":"mute","id":"u","participantId":"p-3","muted":true}"#.utf8)
        XCTAssertEqual(m.receiveText(mute, now: now), .startCommand(requestID: "u", participantId: "p-1", .setMuted("p-3", true)))
        let missing = Array(#"{"type":"move","id":"x","room":"r1"}"#.utf8)
        guard case .send(.error(let reply)) = m.receiveText(missing, now: now) else { return XCTFail() }
        XCTAssertEqual(reply.code, .badMessage)
    }

    func testTokenErrorsMapToCodesAndClose() {
        let cases: [(String, ErrorCode)] = [
            (token(exp: now), .tokenExpired),
            (token(iat: now + 100), .unauthorized),
            (token("other"), .unauthorized),
            (TokenSigner(secret: "x-other-secret-x-other-secret-xxxx").mint(
                TokenClaims(session: "g", name: "n", role: .host, expiresAt: now + 9, issuedAt: now)), .unauthorized),
            ("a.b", .tokenInvalid),
            ("", .tokenInvalid),
        ]
        for (token, code) in cases {
            var m = SignalingStateMachine(signer: signer, requiredSessions: ["g"])
            guard case .sendAndClose(.error(let reply), .policyViolation) = m.receiveText(joinText(token), now: now) else {
                XCTFail("\(code) did not close"); continue
            }
            XCTAssertEqual(reply.code, code)
            XCTAssertEqual(reply.id, "j")
            XCTAssertEqual(m.state, .closed)
        }
    }

    func testAllRequiredSessionsMustMatch() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: ["g", "h"])
        guard case .sendAndClose(.error(let reply), .policyViolation) = m.receiveText(joinText(token("g")), now: now) else {
            return XCTFail()
        }
        XCTAssertEqual(reply.code, .unauthorized)
        var both = SignalingStateMachine(signer: signer, requiredSessions: ["g", "g"])
        guard case .startJoin = both.receiveText(joinText(token("g")), now: now) else { return XCTFail() }
    }

    func testEveryTokenErrorHasACode() {
        let errors: [TokenError] = [.malformed, .badSignature, .unsupportedAlgorithm("none"), .expired, .notYetValid,
                                    .wrongSession, .missingClaim("sid"), .invalidClaim("role")]
        let codes = errors.map { SignalingStateMachine.describe($0).0 }
        XCTAssertEqual(codes, [.tokenInvalid, .unauthorized, .tokenInvalid, .tokenExpired, .unauthorized,
                               .unauthorized, .tokenInvalid, .tokenInvalid])
    }

    func testNameAndSDPValidation() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        guard case .send(.error(let r1)) = m.receiveText(joinText(token(), name: String(repeating: "x", count: 65)), now: now),
              case .send(.error(let r2)) = m.receiveText(joinText(token(), name: ""), now: now),
              case .send(.error(let r3)) = m.receiveText(joinText(token(), sdp: ""), now: now) else { return XCTFail() }
        XCTAssertEqual([r1.code, r2.code, r3.code], [.badMessage, .badMessage, .badMessage])
        XCTAssertEqual(m.state, .awaitingJoin)
    }

    /// A name is limited in bytes too: one grapheme cluster can be a base
    /// letter with thousands of combining marks (issue 14: a 57 KB "name"
    /// of under 64 characters passed, then went to every member on every change).
    func testNamesAreLimitedInBytesAsWellAsCharacters() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        let oneCharacter = "a" + String(repeating: "\u{301}", count: 28_000)  // 56 KB, one grapheme cluster
        XCTAssertEqual(oneCharacter.count, 1)
        let families = String(repeating: "👨‍👩‍👧‍👦", count: 11)  // 11 characters, 275 bytes
        for name in [oneCharacter, families] {
            guard case .send(.error(let r)) = m.receiveText(joinText(token(), name: name), now: now) else {
                return XCTFail("a name of \(name.utf8.count) bytes was accepted")
            }
            XCTAssertEqual(r.code, .badMessage)
        }
        let tenFamilies = String(repeating: "👨‍👩‍👧‍👦", count: 10)  // 250 bytes: within both limits
        guard case .startJoin(let join) = m.receiveText(joinText(token(), name: tenFamilies), now: now) else { return XCTFail() }
        XCTAssertEqual(join.displayName, tenFamilies)
    }

    /// Ids a command names are bounded before the engine sees them.
    func testCommandIdsAreLimitedInBytes() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = m.receiveText(joinText(token()), now: now)
        _ = m.joinCompleted(.success(result))
        let long = String(repeating: "p", count: 65)
        let messages = [#"{"type":"move","id":"1","participantId":"\#(long)","room":"r1"}"#,
                        #"{"type":"move","id":"2","participantId":"p-2","room":"\#(long)"}"#,
                        #"{"type":"remove","id":"3","participantId":"\#(long)"}"#,
                        #"{"type":"assign","id":"4","assignments":{"\#(long)":"r1"}}"#,
                        #"{"type":"listen","id":"5","room":"\#(long)"}"#]
        for text in messages {
            guard case .send(.error(let r)) = m.receiveText(Array(text.utf8), now: now) else { return XCTFail(text) }
            XCTAssertEqual(r.code, .badMessage, text)
        }
        let many = (0..<65).map { #""p\#($0)":"r1""# }.joined(separator: ",")
        guard case .send(.error(let r)) = m.receiveText(Array(#"{"type":"assign","id":"6","assignments":{\#(many)}}"#.utf8), now: now)
        else { return XCTFail() }
        XCTAssertEqual(r.code, .badMessage)
        let fine = String(repeating: "p", count: 64)
        XCTAssertEqual(m.receiveText(Array(#"{"type":"remove","id":"7","participantId":"\#(fine)"}"#.utf8), now: now),
                       .startCommand(requestID: "7", participantId: "p-1", .remove(fine)))
    }

    /// Single-use tokens (issue 15, point 1): a token's `jti` admits one join;
    /// a second join with it is refused, from any connection; a join the
    /// engine refused gives the token back; a token without `jti` is refused.
    func testSingleUseTokensAdmitOneJoin() {
        let guardian = TokenReplayGuard()
        func machine() -> SignalingStateMachine { SignalingStateMachine(signer: signer, requiredSessions: [], replayGuard: guardian) }
        let once = signer.mint(TokenClaims(session: "g", name: "Dana", role: .participant, expiresAt: now + 60, issuedAt: now,
                                           subject: "dana", tokenID: "jti-1"))
        var first = machine()
        guard case .startJoin = first.receiveText(joinText(once), now: now) else { return XCTFail() }
        XCTAssertEqual(first.joinCompleted(.failure(SignalingError(code: ErrorCode("session-full"), message: "full"))),
                       .send(.error(ErrorReply(id: "j", code: ErrorCode("session-full"), message: "full"))))
        guard case .startJoin = first.receiveText(joinText(once), now: now) else { return XCTFail("a refused join gives the token back") }
        _ = first.joinCompleted(.success(result))
        var second = machine()
        guard case .sendAndClose(.error(let used), .policyViolation) = second.receiveText(joinText(once), now: now) else {
            return XCTFail("a used token admitted a second join")
        }
        XCTAssertEqual(used.code, .tokenUsed)
        var third = machine()
        guard case .sendAndClose(.error(let noID), .policyViolation) = third.receiveText(joinText(token()), now: now) else {
            return XCTFail("a token without jti was taken")
        }
        XCTAssertEqual(noID.code, .tokenInvalid)
        XCTAssertEqual(guardian.count, 1)
        // Without the option, the same token joins as often as it likes.
        var open = SignalingStateMachine(signer: signer, requiredSessions: [])
        guard case .startJoin = open.receiveText(joinText(once), now: now) else { return XCTFail() }
    }

    func testReplayGuardForgetsExpiredTokens() {
        let guardian = TokenReplayGuard(leeway: 30)
        XCTAssertTrue(guardian.take("a", expiresAt: 100, now: 50))
        XCTAssertFalse(guardian.take("a", expiresAt: 100, now: 60))
        XCTAssertTrue(guardian.take("b", expiresAt: 1_000, now: 200), "a later take prunes a (expired at 130)")
        XCTAssertEqual(guardian.count, 1)
    }

    func testOverlongIDIsRefused() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        guard case .send(.error(let r)) = m.receiveText(joinText(token(), id: String(repeating: "i", count: 65)), now: now) else {
            return XCTFail()
        }
        XCTAssertEqual(r.code, .badMessage)
        XCTAssertNil(r.id)
    }

    func testFailedJoinMayBeRetried() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = m.receiveText(joinText(token()), now: now)
        XCTAssertEqual(m.joinCompleted(.failure(SignalingError(code: ErrorCode("room-full"), message: "full"))),
                       .send(.error(ErrorReply(id: "j", code: ErrorCode("room-full"), message: "full"))))
        XCTAssertEqual(m.state, .awaitingJoin)
        guard case .startJoin = m.receiveText(joinText(token(), id: "j2"), now: now) else { return XCTFail() }
    }

    /// Scale-out (docs/SCALE-OUT.md): a join whose session is on another node
    /// gets `redirect` with that node's URL, and the socket closes with 1000.
    func testJoinForAnotherNodeIsRedirectedAndCloses() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = m.receiveText(joinText(token()), now: now)
        XCTAssertEqual(m.joinCompleted(.failure(.redirect(to: "ws://127.0.0.2:8080/ws"))),
                       .sendAndClose(.redirect(Redirect(id: "j", url: "ws://127.0.0.2:8080/ws")), .normalClosure))
        XCTAssertEqual(m.state, .closed)
        XCTAssertEqual(m.receiveText(joinText(token(), id: "j2"), now: now), .none)
    }

    func testRefusalCarriesRetryAfter() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = m.receiveText(joinText(token()), now: now)
        XCTAssertEqual(m.joinCompleted(.failure(SignalingError(code: .directoryUnavailable, message: "down", retryAfter: 2))),
                       .send(.error(ErrorReply(id: "j", code: .directoryUnavailable, message: "down", retryAfter: 2))))
        XCTAssertEqual(MessageCodec.encode(.redirect(Redirect(id: "j", url: "ws://h/ws"))),
                       Array(#"{"id":"j","type":"redirect","url":"ws://h/ws"}"#.utf8))
    }

    func testJoinFinishingAfterCloseReportsDisconnect() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = m.receiveText(joinText(token()), now: now)
        XCTAssertEqual(m.connectionClosing(), .none)
        XCTAssertEqual(m.joinCompleted(.success(result)), .notifyDisconnected(participantId: "p-1"))
    }

    func testJoinedConnectionClosingReportsDisconnectOnce() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = m.receiveText(joinText(token()), now: now)
        _ = m.joinCompleted(.success(result))
        XCTAssertEqual(m.connectionClosing(), .notifyDisconnected(participantId: "p-1"))
        XCTAssertEqual(m.connectionClosing(), .none)
        XCTAssertEqual(m.receiveText(joinText(token()), now: now), .none)
    }

    func testJoinDeadline() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        XCTAssertEqual(m.joinDeadlinePassed(), .sendAndClose(.error(ErrorReply(code: .joinTimeout, message: "no join in time")), .policyViolation))
        var joined = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = joined.receiveText(joinText(token()), now: now)
        _ = joined.joinCompleted(.success(result))
        XCTAssertEqual(joined.joinDeadlinePassed(), .none)
    }

    func testCloseCodesAPeerMaySend() {
        for code: UInt16 in [1000, 1001, 1003, 1007, 1011, 3000, 4999] {
            XCTAssertTrue(WebSocketHandler.isValidReceivedCloseCode(code), "\(code)")
        }
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            XCTAssertFalse(WebSocketHandler.isValidReceivedCloseCode(code), "\(code)")
        }
    }
}
