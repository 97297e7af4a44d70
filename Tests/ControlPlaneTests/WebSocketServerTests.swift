import NIOCore
import NIOWebSocket
import SFU
import Tokens
import XCTest
@testable import ControlPlane

/// `/ws` over a real loopback socket with NIO's client-side WebSocket codec.
final class WebSocketServerTests: XCTestCase {
    private func join(_ c: TestWebSocketClient, token: String, id: String = "j1", name: String? = nil) async throws {
        try await c.send(.join(JoinRequest(id: id, token: token, name: name, sdp: "v=0 offer", audioMode: .mix)))
    }

    private func assertError(_ message: ServerMessage, _ code: ErrorCode, id: String? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        guard case .error(let reply) = message else { return XCTFail("expected error, got \(message)", file: file, line: line) }
        XCTAssertEqual(reply.code, code, file: file, line: line)
        XCTAssertEqual(reply.id, id, file: file, line: line)
    }

    func testInvalidJSONIsAnsweredAndConnectionStaysOpen() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.sendText("{not json")
        assertError(try await c.nextMessage(), .badJSON)
        try await c.send(.leave(LeaveRequest(id: "l1")))
        assertError(try await c.nextMessage(), .notJoined, id: "l1")
        try await h.stop()
    }

    func testUnknownTypeEchoesID() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.sendText(#"{"type":"dance","id":"d7"}"#)
        assertError(try await c.nextMessage(), .unknownType, id: "d7")
        try await c.sendText(#"{"type":"join","id":"j9"}"#)
        assertError(try await c.nextMessage(), .badMessage, id: "j9")
        try await h.stop()
    }

    func testFrameOver64KiBClosesWith1009() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.send(.text, [UInt8](repeating: UInt8(ascii: " "), count: 64 * 1024 + 1))
        try await c.expectClose(1009)
        await c.expectTCPClosed()
        try await h.stop()
    }

    func testFrameOfExactly64KiBIsAccepted() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        var text = Array(#"{"type":"leave","id":"x"}"#.utf8)
        text += [UInt8](repeating: UInt8(ascii: " "), count: 64 * 1024 - text.count)
        try await c.send(.text, text)
        assertError(try await c.nextMessage(), .notJoined, id: "x")
        try await h.stop()
    }

    func testFragmentedMessageOver64KiBClosesWith1009() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.send(.text, [UInt8](repeating: UInt8(ascii: " "), count: 40_000), fin: false)
        try await c.send(.continuation, [UInt8](repeating: UInt8(ascii: " "), count: 40_000), fin: true)
        try await c.expectClose(1009)
        try await h.stop()
    }

    func testFragmentedMessageIsReassembled() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.send(.text, Array(#"{"type":"leave","#.utf8), fin: false)
        try await c.send(.ping, Array("mid".utf8))  // §5.4: control frames may be interleaved
        try await c.send(.continuation, Array(#""id":"f1"}"#.utf8), fin: true)
        _ = try await c.expectFrame(.pong)
        assertError(try await c.nextMessage(), .notJoined, id: "f1")
        try await h.stop()
    }

    func testBinaryFrameGetsErrorAndClose1003() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.send(.binary, [1, 2, 3])
        assertError(try await c.nextMessage(), .badMessage)
        try await c.expectClose(1003)
        // The client echoed the Close; the server then closes TCP (§7.1.1).
        await c.expectTCPClosed()
        try await h.stop()
    }

    func testUnmaskedClientFrameClosesWith1002() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.send(.text, Array("{}".utf8), masked: false)
        try await c.expectClose(1002)
        try await h.stop()
    }

    func testInvalidUTF8ClosesWith1007() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.send(.text, [0x7B, 0xC3, 0x28, 0x7D])
        try await c.expectClose(1007)
        try await h.stop()
    }

    func testPingIsAnsweredWithSamePayload() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.send(.ping, Array("Hello".utf8))
        let pong = try await c.expectFrame(.pong)
        XCTAssertEqual(pong.unmaskedData, ByteBuffer(string: "Hello"))
        try await h.stop()
    }

    func testClientCloseIsEchoedAndTCPClosed() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.send(.connectionClose, [0x03, 0xE8] + Array("bye".utf8))
        try await c.expectClose(1000)
        await c.expectTCPClosed()
        try await h.stop()
    }

    func testInvalidCloseCodeIsProtocolError() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await c.send(.connectionClose, [0x03, 0xED])  // 1005 must never be sent (§7.4.1)
        try await c.expectClose(1002)
        try await h.stop()
    }

    func testForgedTokenIsUnauthorizedAndCloses() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        let forged = TokenSigner(secret: "some-other-secret-some-other-secret!").mint(
            TokenClaims(session: "group-1", name: "Eve", role: .host, expiresAt: ServerHarness.now + 600, issuedAt: ServerHarness.now))
        try await join(c, token: forged)
        assertError(try await c.nextMessage(), .unauthorized, id: "j1")
        try await c.expectClose(1008)
        let joins = await h.delegate.joins
        XCTAssertTrue(joins.isEmpty, "the delegate must not see unauthenticated joins")
        try await h.stop()
    }

    func testExpiredTokenIsTokenExpired() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await join(c, token: h.token(expiresAt: ServerHarness.now - 1, issuedAt: ServerHarness.now - 3600))
        assertError(try await c.nextMessage(), .tokenExpired, id: "j1")
        try await c.expectClose(1008)
        try await h.stop()
    }

    func testGarbageTokenIsTokenInvalid() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await join(c, token: "not-a-token")
        assertError(try await c.nextMessage(), .tokenInvalid, id: "j1")
        try await c.expectClose(1008)
        try await h.stop()
    }

    func testWrongSessionFromQueryIsUnauthorized() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect(path: "/ws?session=group-2")
        try await join(c, token: h.token(session: "group-1"))
        assertError(try await c.nextMessage(), .unauthorized, id: "j1")
        try await h.stop()
    }

    func testWrongSessionFromConfigurationIsUnauthorized() async throws {
        let h = try await ServerHarness.start(expectedSession: "group-9")
        let c = try await h.connect()
        try await join(c, token: h.token(session: "group-1"))
        assertError(try await c.nextMessage(), .unauthorized, id: "j1")
        try await h.stop()
    }

    func testPinnedServerRefusesOtherSessionEvenIfQueryMatchesToken() async throws {
        let h = try await ServerHarness.start(expectedSession: "group-9")
        let c = try await h.connect(path: "/ws?session=group-1")
        try await join(c, token: h.token(session: "group-1"))
        assertError(try await c.nextMessage(), .unauthorized, id: "j1")
        try await h.stop()
    }

    func testValidTokenReachesDelegateWithVerifiedClaims() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect(path: "/ws?session=group-1")
        try await join(c, token: h.token(room: "breakout-2", name: "Dana", role: .coHost), name: "D.")
        guard case .joined(let joined) = try await c.nextMessage() else { return XCTFail("expected joined") }
        XCTAssertEqual(joined.id, "j1")
        XCTAssertEqual(joined.participantId, "p-1")
        XCTAssertEqual(joined.room, "breakout-2")
        XCTAssertEqual(joined.sdp, "v=0 answer")
        XCTAssertEqual(joined.slots["1"], SlotSource(participantId: "p-0", track: .camera))
        XCTAssertEqual(joined.roster.first?.name, "D.")

        let joins = await h.delegate.joins
        XCTAssertEqual(joins.count, 1)
        XCTAssertEqual(joins.first?.claims, TokenClaims(session: "group-1", room: "breakout-2", name: "Dana", role: .coHost,
                                                        expiresAt: ServerHarness.now + 600, issuedAt: ServerHarness.now - 10,
                                                        subject: "u-1"))
        XCTAssertEqual(joins.first?.displayName, "D.")
        XCTAssertEqual(joins.first?.offer, "v=0 offer")
        XCTAssertEqual(joins.first?.audioMode, .mix)

        try await join(c, token: h.token(), id: "j2")
        assertError(try await c.nextMessage(), .alreadyJoined, id: "j2")

        try await c.send(.leave(LeaveRequest(id: "l1")))
        try await c.expectMessage(.left(Left(id: "l1")))
        try await c.expectClose(1000)
        let leaves = await h.delegate.leaves
        XCTAssertEqual(leaves, ["p-1"])
        try await h.stop()
    }

    func testCommandsOfOneConnectionApplyAndAnswerInTheOrderSent() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await join(c, token: h.token(role: .host))
        _ = try await c.nextMessage()
        // Slow and fast commands interleaved, sent back to back without waiting.
        let rooms = ["slow-a", "b", "slow-c", "d", "e", "slow-f"]
        for (i, room) in rooms.enumerated() {
            try await c.send(.move(SessionRequests.Move(id: "m\(i)", participantId: "p-2", room: room)))
        }
        for i in rooms.indices { try await c.expectMessage(.ok(OkReply(id: "m\(i)"))) }
        let applied = await h.delegate.commands.map(\.1)
        XCTAssertEqual(applied, rooms.map { SessionCommand.move("p-2", to: RoomID($0)) })
        try await h.stop()
    }

    func testACommandThatEndsTheSendersOwnSessionIsAnsweredBeforeLeft() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await join(c, token: h.token(role: .host))
        guard case .joined(let joined) = try await c.nextMessage() else { return XCTFail("expected joined") }
        try await c.send(.remove(SessionRequests.Target(id: "e1", participantId: joined.participantId)))
        try await c.expectMessage(.ok(OkReply(id: "e1")))
        try await c.expectMessage(.left(Left(reason: "session-ended")))
        try await c.expectClose(1000)
        try await h.stop()
    }

    func testAMalformedSessionQueryIsRefusedNotIgnored() async throws {
        let h = try await ServerHarness.start()
        do {
            let c = try await h.connect(path: "/ws?session=%zz")
            // If the upgrade went through, the session check must still hold.
            try await join(c, token: h.token(session: "group-1"))
            XCTFail("upgraded despite a malformed session query: \(try await c.nextMessage())")
        } catch {
            // Refused at the upgrade: no WebSocket, no join.
        }
        let c = try await h.connect(path: "/ws?session=group%2D1")
        try await join(c, token: h.token(session: "group-1"))
        guard case .joined = try await c.nextMessage() else { return XCTFail("a valid query joins") }
        try await h.stop()
    }

    func testDelegateRefusalIsForwardedAndJoinMayBeRetried() async throws {
        let h = try await ServerHarness.start()
        await h.delegate.refuse(with: SignalingError(code: .notImplemented, message: "later"))
        let c = try await h.connect()
        try await join(c, token: h.token())
        try await c.expectMessage(.error(ErrorReply(id: "j1", code: .notImplemented, message: "later")))
        await h.delegate.refuse(with: nil)
        try await join(c, token: h.token(), id: "j2")
        guard case .joined(let joined) = try await c.nextMessage() else { return XCTFail("expected joined") }
        XCTAssertEqual(joined.id, "j2")
        try await h.stop()
    }

    func testDelegatePushesThroughConnectionFromAnotherThread() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await join(c, token: h.token())
        _ = try await c.nextMessage()
        let connections = await h.delegate.connections
        let connection = try XCTUnwrap(connections.first)
        let roster = ServerMessage.roster(RosterUpdate(participants: [RosterEntry(participantId: "p-9", name: "Sam", role: .host, room: "main")]))
        Task.detached { connection.send(roster) }
        try await c.expectMessage(roster)
        connection.close(code: .normalClosure, after: .left(Left(reason: "removed")))
        try await c.expectMessage(.left(Left(reason: "removed")))
        try await c.expectClose(1000)
        try await h.stop()
    }

    func testDroppedConnectionNotifiesDelegate() async throws {
        let h = try await ServerHarness.start()
        let c = try await h.connect()
        try await join(c, token: h.token())
        _ = try await c.nextMessage()
        try await c.channel.close()
        let gone = await h.delegate.nextDisconnect()
        XCTAssertEqual(gone, "p-1")
        try await h.stop()
    }

    func testJoinTimeoutCloses() async throws {
        let h = try await ServerHarness.start { $0.joinTimeout = .milliseconds(100) }
        let c = try await h.connect()
        assertError(try await c.nextMessage(), .joinTimeout)
        try await c.expectClose(1008)
        try await h.stop()
    }

    /// Shutdown: `server-shutdown` with the retry hint, then Close 1001.
    func testShutdownSendsServerShutdownThenGoingAway() async throws {
        let h = try await ServerHarness.start { $0.closeTimeout = .milliseconds(200) }
        let c = try await h.connect()
        try await join(c, token: h.token())
        _ = try await c.nextMessage()
        async let stopped: Void = h.server.shutdown()
        let notice = try await c.nextMessage()
        XCTAssertEqual(notice, .serverShutdown(ServerShutdown(retryAfter: ControlPlaneServer.shutdownRetryAfter)))
        try await c.expectClose(1001)
        await stopped
        await c.expectTCPClosed()
        let gone = await h.delegate.nextDisconnect()
        XCTAssertEqual(gone, "p-1")
        try await h.group.shutdownGracefully()
    }
}
