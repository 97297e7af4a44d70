import SFU
import Tokens
import XCTest
@testable import ControlPlane

/// The per-connection logic without sockets: messages and `now` in, actions out.
final class SignalingStateMachineTests: XCTestCase {
    private let signer = TokenSigner(secret: "state-machine-test-secret-0123456789")
    private let now: Int64 = 1_700_000_000

    private func token(_ session: String = "g", exp: Int64? = nil, iat: Int64? = nil) -> String {
        signer.mint(TokenClaims(session: session, name: "Dana", role: .host, expiresAt: exp ?? now + 60, issuedAt: iat ?? now))
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
