import Tokens
import XCTest
@testable import ControlPlane

/// The wire format, pinned byte for byte: these strings are the examples in docs/PROTOCOL.md.
final class MessageCodecTests: XCTestCase {
    private func decode(_ json: String) -> Result<ClientMessage, ErrorReply> {
        MessageCodec.decodeClientMessage(Array(json.utf8))
    }

    private func encoded(_ message: ServerMessage) -> String {
        String(decoding: MessageCodec.encode(message), as: UTF8.self)
    }

    func testJoinDecodes() {
        let json = #"{"type":"join","id":"1","token":"eyJ.x.y","name":"Dana","sdp":"v=0\r\n","audioMode":"forward"}"#
        XCTAssertEqual(try decode(json).get(),
                       .join(JoinRequest(id: "1", token: "eyJ.x.y", name: "Dana", sdp: "v=0\r\n", audioMode: .forward)))
    }

    func testJoinOptionalFieldsMayBeAbsent() {
        XCTAssertEqual(try decode(#"{"type":"join","id":"1","token":"t","sdp":"v=0"}"#).get(),
                       .join(JoinRequest(id: "1", token: "t", sdp: "v=0")))
    }

    func testLeaveDecodes() {
        XCTAssertEqual(try decode(#"{"id":"2","type":"leave"}"#).get(), .leave(LeaveRequest(id: "2")))
    }

    func testIceRestartAndItsAnswerMatchTheProtocolExamples() {
        XCTAssertEqual(try decode(#"{"type":"ice-restart","id":"9","sdp":"v=0\r\n..."}"#).get(),
                       .iceRestart(IceRestartRequest(id: "9", sdp: "v=0\r\n...")))
        XCTAssertEqual(encoded(.iceRestarted(IceRestarted(id: "9", sdp: "v=0\r\n..."))),
                       #"{"id":"9","sdp":"v=0\r\n...","type":"ice-restarted"}"#)
    }

    func testClientMessagesRoundTrip() {
        for m in [ClientMessage.join(JoinRequest(id: "a", token: "t", name: nil, sdp: "s", audioMode: .mix)), .leave(LeaveRequest(id: "b"))] {
            XCTAssertEqual(try decode(String(decoding: MessageCodec.encode(m), as: UTF8.self)).get(), m)
        }
    }

    func testDecodingFailuresMapToCodes() {
        let cases: [(String, ErrorCode, String?)] = [
            ("{", .badJSON, nil),
            ("", .badJSON, nil),
            ("[1]", .badMessage, nil),
            ("\"join\"", .badMessage, nil),
            (#"{"id":"3"}"#, .badMessage, "3"),
            (#"{"type":7,"id":"3"}"#, .badMessage, nil),
            (#"{"type":"dance","id":"4"}"#, .unknownType, "4"),
            (#"{"type":"join","id":"5","sdp":"v=0"}"#, .badMessage, "5"),
            (#"{"type":"join","id":"6","token":"t","sdp":"v=0","audioMode":"loud"}"#, .badMessage, "6"),
            (#"{"type":"leave"}"#, .badMessage, nil),
        ]
        for (json, code, id) in cases {
            guard case .failure(let reply) = decode(json) else { XCTFail("\(json) decoded"); continue }
            XCTAssertEqual(reply.code, code, json)
            XCTAssertEqual(reply.id, id, json)
        }
    }

    func testMissingFieldIsNamed() {
        guard case .failure(let reply) = decode(#"{"type":"join","id":"5","sdp":"v=0"}"#) else { return XCTFail() }
        XCTAssertEqual(reply.message, "join: missing `token`")
    }

    func testJoinedEncoding() {
        let joined = ServerMessage.joined(Joined(
            id: "1", participantId: "p-3f2a", room: "main", sdp: "v=0\r\n",
            slots: ["1": SlotSource(participantId: "p-77", track: .microphone)],
            roster: [RosterEntry(participantId: "p-77", name: "Sam", role: .participant, room: "main")], slotsVersion: 2))
        XCTAssertEqual(encoded(joined),
                       #"{"id":"1","participantId":"p-3f2a","room":"main","roster":[{"name":"Sam","participantId":"p-77","role":"participant","room":"main"}],"sdp":"v=0\r\n","slots":{"1":{"participantId":"p-77","track":"microphone"}},"slotsVersion":2,"type":"joined"}"#)
    }

    func testRosterSlotsErrorLeftEncoding() {
        XCTAssertEqual(encoded(.roster(RosterUpdate(participants: [RosterEntry(participantId: "p-1", name: "Ann", role: .coHost, room: "breakout-1")]))),
                       #"{"participants":[{"name":"Ann","participantId":"p-1","role":"co-host","room":"breakout-1"}],"type":"roster"}"#)
        XCTAssertEqual(encoded(.slots(SlotUpdate(map: ["0": SlotSource(participantId: nil, track: .mix)], version: 7))),
                       #"{"map":{"0":{"track":"mix"}},"type":"slots","version":7}"#)
        XCTAssertEqual(encoded(.error(ErrorReply(id: "1", code: .tokenExpired, message: "token expired"))),
                       #"{"code":"token-expired","id":"1","message":"token expired","type":"error"}"#)
        XCTAssertEqual(encoded(.error(ErrorReply(code: .badJSON, message: "not valid JSON"))),
                       #"{"code":"bad-json","message":"not valid JSON","type":"error"}"#)
        XCTAssertEqual(encoded(.left(Left(id: "2"))), #"{"id":"2","type":"left"}"#)
        XCTAssertEqual(encoded(.left(Left(reason: "removed"))), #"{"reason":"removed","type":"left"}"#)
        XCTAssertEqual(encoded(.serverShutdown(ServerShutdown(retryAfter: 5))), #"{"retryAfter":5,"type":"server-shutdown"}"#)
    }

    func testServerMessagesRoundTrip() throws {
        let messages: [ServerMessage] = [
            .joined(Joined(id: "1", participantId: "p", room: "main", sdp: "s", slots: [:], roster: [])),
            .roster(RosterUpdate(participants: [])),
            .slots(SlotUpdate(map: ["2": SlotSource(participantId: "p", track: .screen)])),
            .error(ErrorReply(id: nil, code: ErrorCode("room-full"), message: "m")),
            .left(Left()),
        ]
        for m in messages {
            XCTAssertEqual(try MessageCodec.decodeServerMessage(MessageCodec.encode(m)), m)
        }
    }
}
