import SFU
import Tokens
import Wire
import XCTest
@testable import ControlPlane

/// Signalling resume (issue 13, point 5): the token store and its grace
/// periods on a manual clock, and the `resume` request in the state machine.
final class ResumeTokensTests: XCTestCase {
    private let t0 = Instant.zero + .seconds(1_000)

    /// Tokens from a counter, so a test can name the one it expects.
    private func store(grace: Int64 = 30) -> ResumeTokens {
        let counter = Counter()
        return ResumeTokens(grace: .seconds(grace)) { [counter] in
            var bytes = [UInt8](repeating: 0, count: 32)
            bytes[31] = counter.next()
            return bytes
        }
    }

    func testResumeRotatesTheTokenAndASpentOneIsRefused() {
        var tokens = store()
        let first = tokens.issue(participant: "p1", session: "g")
        tokens.mediaConnected("p1")
        XCTAssertEqual(tokens.detach("p1", now: t0), t0 + .seconds(30))
        guard case .success(let second) = tokens.redeem(participant: "p1", token: first, sessions: ["g"], now: t0 + .seconds(5))
        else { return XCTFail("the current token resumes") }
        XCTAssertNotEqual(second, first, "rotated at each resume")
        XCTAssertFalse(tokens.isDetached("p1"))
        XCTAssertEqual(tokens.redeem(participant: "p1", token: first, sessions: [], now: t0 + .seconds(6)),
                       .failure(.unknown), "a spent token is refused")
        guard case .success = tokens.redeem(participant: "p1", token: second, sessions: [], now: t0 + .seconds(7)) else {
            return XCTFail("the refusal changed nothing: the current token still works")
        }
    }

    func testAnotherParticipantsTokenOrSessionIsRefusedAndChangesNothing() {
        var tokens = store()
        let a = tokens.issue(participant: "pa", session: "g")
        let b = tokens.issue(participant: "pb", session: "g")
        let c = tokens.issue(participant: "pc", session: "other")
        for p in ["pa", "pb", "pc"] { tokens.mediaConnected(p) }
        _ = tokens.detach("pa", now: t0)
        XCTAssertEqual(tokens.redeem(participant: "pa", token: b, sessions: [], now: t0), .failure(.unknown),
                       "a stolen token of another participant")
        XCTAssertEqual(tokens.redeem(participant: "pc", token: c, sessions: ["g"], now: t0), .failure(.wrongSession))
        XCTAssertEqual(tokens.redeem(participant: "nobody", token: a, sessions: [], now: t0), .failure(.unknown))
        XCTAssertEqual(tokens.redeem(participant: "pa", token: "not base64 !", sessions: [], now: t0), .failure(.unknown))
        XCTAssertEqual(tokens.redeem(participant: "pa", token: "", sessions: [], now: t0), .failure(.unknown))
        XCTAssertTrue(tokens.isDetached("pa"), "refusals leave the away participant away")
        guard case .success = tokens.redeem(participant: "pa", token: a, sessions: ["g"], now: t0 + .seconds(1)),
              case .success = tokens.redeem(participant: "pb", token: b, sessions: [], now: t0 + .seconds(1)) else {
            return XCTFail("the owners' tokens still work")
        }
    }

    func testGracePeriodEndsOnTheManualClock() {
        var tokens = store(grace: 30)
        let token = tokens.issue(participant: "p1", session: "g")
        tokens.mediaConnected("p1")
        XCTAssertNil(tokens.nextDeadline)
        _ = tokens.detach("p1", now: t0)
        XCTAssertEqual(tokens.nextDeadline, t0 + .seconds(30))
        XCTAssertEqual(tokens.expired(now: t0 + .milliseconds(29_999)), [])
        XCTAssertEqual(tokens.expired(now: t0 + .seconds(30)), ["p1"])
        XCTAssertEqual(tokens.redeem(participant: "p1", token: token, sessions: [], now: t0 + .seconds(30)),
                       .failure(.ended(reason: "disconnected")), "due but not yet removed is too late all the same")
        tokens.forget("p1", reason: "disconnected", now: t0 + .seconds(30))
        XCTAssertEqual(tokens.redeem(participant: "p1", token: token, sessions: [], now: t0 + .seconds(31)),
                       .failure(.ended(reason: "disconnected")), "an expired token is told apart")
        XCTAssertEqual(tokens.redeem(participant: "p1", token: Base64URL.encode([UInt8](repeating: 7, count: 32)),
                                     sessions: [], now: t0 + .seconds(31)),
                       .failure(.unknown), "the reason is only for the holder of the last token")
        XCTAssertEqual(tokens.redeem(participant: "p1", token: token, sessions: [],
                                     now: t0 + .seconds(31) + ResumeTokens.tombstoneLifetime), .failure(.unknown),
                       "the tombstone is forgotten after its lifetime")
        XCTAssertEqual(tokens.counts.participants, 0)
        XCTAssertEqual(tokens.counts.tombstones, 0)
    }

    func testRemovalWhileAwayKeepsItsReasonAndLeavingKeepsNothing() {
        var tokens = store()
        let away = tokens.issue(participant: "p1", session: "g")
        _ = tokens.issue(participant: "p2", session: "g")
        tokens.mediaConnected("p1")
        _ = tokens.detach("p1", now: t0)
        tokens.forget("p1", reason: "removed", now: t0 + .seconds(3))
        tokens.forget("p2", reason: "left", now: t0 + .seconds(3))
        XCTAssertEqual(tokens.redeem(participant: "p1", token: away, sessions: [], now: t0 + .seconds(4)),
                       .failure(.ended(reason: "removed")))
        XCTAssertEqual(tokens.counts.tombstones, 1, "only the away participant leaves a tombstone")
        XCTAssertEqual(tokens.expired(now: t0 + .seconds(60)), [])
    }

    func testNoGraceWithoutMediaOrWhenOff() {
        var tokens = store()
        _ = tokens.issue(participant: "p1", session: "g")
        XCTAssertNil(tokens.detach("p1", now: t0), "media never connected: removed at once")
        XCTAssertNil(tokens.detach("unknown", now: t0))
        var off = store(grace: 0)
        _ = off.issue(participant: "p1", session: "g")
        off.mediaConnected("p1")
        XCTAssertFalse(off.enabled)
        XCTAssertNil(off.detach("p1", now: t0))
    }

    func testTokensAreLongAndRandom() {
        let a = ResumeTokens.randomToken(), b = ResumeTokens.randomToken()
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
        XCTAssertTrue(ResumeTokens.constantTimeEqual(a, a))
        XCTAssertFalse(ResumeTokens.constantTimeEqual(a, b))
        XCTAssertFalse(ResumeTokens.constantTimeEqual(a, Array(a.prefix(31))))
        XCTAssertFalse(ResumeTokens.constantTimeEqual([], []))
    }

    // MARK: the `resume` request

    private let signer = TokenSigner(secret: "state-machine-test-secret-0123456789")

    private func resumeText(_ participant: String, _ token: String, id: String = "r") -> [UInt8] {
        MessageCodec.encode(.resume(ResumeRequest(id: id, participantId: participant, resumeToken: token)))
    }

    func testResumeRequestInTheStateMachine() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: ["g"])
        XCTAssertEqual(m.receiveText(resumeText("p1", "tok"), now: 0),
                       .startResume(AuthorizedResume(requestID: "r", participantId: "p1", resumeToken: "tok",
                                                     requiredSessions: ["g"])))
        XCTAssertEqual(m.state, .resuming(requestID: "r"))
        XCTAssertEqual(m.receiveText(resumeText("p1", "tok", id: "r2"), now: 0),
                       .send(.error(ErrorReply(id: "r2", code: .busy, message: "a request is in progress"))))
        let result = ResumeResult(participantId: "p1", room: "r1", slots: [:], slotsVersion: 4, roster: [],
                                  resumeToken: "next", resumeGrace: 30)
        XCTAssertEqual(m.resumeCompleted(.success(result)),
                       .send(.resumed(Resumed(id: "r", participantId: "p1", room: "r1", slots: [:], slotsVersion: 4,
                                              roster: [], resumeToken: "next", resumeGrace: 30))))
        XCTAssertEqual(m.state, .joined(participantId: "p1"))
        XCTAssertEqual(m.connectionClosing(), .notifyDisconnected(participantId: "p1"))
    }

    func testRefusedResumeLeavesTheSocketForAJoin() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = m.receiveText(resumeText("p1", "tok"), now: 0)
        XCTAssertEqual(m.resumeCompleted(.failure(SignalingError(code: .resumeRefused, message: "no"))),
                       .send(.error(ErrorReply(id: "r", code: .resumeRefused, message: "no"))))
        XCTAssertEqual(m.state, .awaitingJoin)
        var removed = SignalingError(code: .resumeRefused, message: "gone")
        removed.left = "removed"
        _ = m.receiveText(resumeText("p1", "tok", id: "r3"), now: 0)
        XCTAssertEqual(m.resumeCompleted(.failure(removed)),
                       .sendAndClose(.left(Left(id: "r3", reason: "removed")), .normalClosure))
        XCTAssertEqual(m.state, .closed)
    }

    func testMalformedResumeIsABadMessage() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        for text in [resumeText("", "tok"), resumeText("p1", ""), resumeText(String(repeating: "p", count: 65), "tok"),
                     resumeText("p1", String(repeating: "t", count: 129)),
                     Array(#"{"type":"resume","id":"r","participantId":"p1"}"#.utf8),
                     Array(#"{"type":"resume","id":"r","participantId":7,"resumeToken":"t"}"#.utf8)] {
            guard case .send(.error(let reply)) = m.receiveText(text, now: 0) else { return XCTFail() }
            XCTAssertEqual(reply.code, .badMessage)
            XCTAssertEqual(m.state, .awaitingJoin)
        }
    }

    func testCloseWhileResumingReportsTheParticipantAwayAgain() {
        var m = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = m.receiveText(resumeText("p1", "tok"), now: 0)
        XCTAssertEqual(m.connectionClosing(), .none)
        let result = ResumeResult(participantId: "p1", room: "main", slots: [:], slotsVersion: 1, roster: [],
                                  resumeToken: "next", resumeGrace: 30)
        XCTAssertEqual(m.resumeCompleted(.success(result)), .notifyDisconnected(participantId: "p1"))
    }
}

/// A counter that tokens can be drawn from in a `@Sendable` closure.
private final class Counter: @unchecked Sendable {
    private var value: UInt8 = 0
    func next() -> UInt8 {
        value &+= 1
        return value
    }
}
