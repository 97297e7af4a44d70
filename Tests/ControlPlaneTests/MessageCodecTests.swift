import SFU
import Tokens
import XCTest
@testable import ControlPlane
import SFU

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
            // Screen sharing (docs/PROTOCOL.md "Screen sharing"): the flag is required and a boolean.
            (#"{"type":"screen-share","id":"7"}"#, .badMessage, "7"),
            (#"{"type":"screen-share","id":"8","sharing":"yes"}"#, .badMessage, "8"),
            (#"{"type":"screen-permission","id":"9","allowed":1}"#, .badMessage, "9"),
            (#"{"type":"self-mute","id":"10"}"#, .badMessage, "10"),
            (#"{"type":"self-mute","id":"11","muted":"yes"}"#, .badMessage, "11"),
            (#"{"type":"tile-widths","id":"12"}"#, .badMessage, "12"),
            (#"{"type":"tile-widths","id":"13","widths":{"2":"wide"}}"#, .badMessage, "13"),
            (#"{"type":"tile-widths","id":"14","widths":[640]}"#, .badMessage, "14"),
        ]
        for (json, code, id) in cases {
            guard case .failure(let reply) = decode(json) else { XCTFail("\(json) decoded"); continue }
            XCTAssertEqual(reply.code, code, json)
            XCTAssertEqual(reply.id, id, json)
        }
    }

    func testScreenShareMessagesDecodeToTheirCommands() throws {
        // The examples in docs/PROTOCOL.md "Screen sharing".
        XCTAssertEqual(try decode(#"{"type":"screen-share","id":"12","sharing":true}"#).get(),
                       .screenShare(SessionRequests.ScreenShare(id: "12", sharing: true)))
        XCTAssertEqual(try decode(#"{"type":"screen-permission","id":"13","allowed":true}"#).get(),
                       .screenPermission(SessionRequests.ScreenPermission(id: "13", allowed: true)))
        let busy = SFUError.screenBusy("p-1")
        XCTAssertEqual(encoded(.error(ErrorReply(id: "14", code: ErrorCode(busy.code), message: busy.message))),
                       #"{"code":"screen-busy","id":"14","message":"p-1 is sharing a screen in this room; only one share at a time.","type":"error"}"#)
        XCTAssertEqual(try decode(#"{"type":"screen-permission","id":"2","allowed":false}"#).get(),
                       .screenPermission(SessionRequests.ScreenPermission(id: "2", allowed: false)))
        XCTAssertEqual(SignalingStateMachine.sessionCommand(.screenShare(.init(id: "1", sharing: true))), .setScreenSharing(true))
        XCTAssertEqual(SignalingStateMachine.sessionCommand(.screenPermission(.init(id: "2", allowed: true))), .allowScreenSharing(true))
        XCTAssertTrue(ClientMessage.knownTypes.isSuperset(of: ["screen-share", "screen-permission"]))
    }

    func testSelfMuteDecodesToItsCommand() throws {
        // The example in docs/PROTOCOL.md "Session commands".
        XCTAssertEqual(try decode(#"{"type":"self-mute","id":"15","muted":true}"#).get(),
                       .selfMute(SessionRequests.SelfMute(id: "15", muted: true)))
        XCTAssertEqual(SignalingStateMachine.sessionCommand(.selfMute(.init(id: "1", muted: false))), .setSelfMuted(false))
        XCTAssertFalse(SessionCommand.setSelfMuted(true).requiresHost)
        XCTAssertTrue(ClientMessage.knownTypes.contains("self-mute"))
    }

    func testTileWidthsDecodeToTheirCommand() throws {
        // The example in docs/PROTOCOL.md "Session commands".
        XCTAssertEqual(try decode(#"{"type":"tile-widths","id":"16","widths":{"2":640,"4":0}}"#).get(),
                       .tileWidths(SessionRequests.TileWidths(id: "16", widths: ["2": 640, "4": 0])))
        XCTAssertEqual(SignalingStateMachine.sessionCommand(.tileWidths(.init(id: "1", widths: ["2": 320]))),
                       .setTileWidths(["2": 320]))
        XCTAssertFalse(SessionCommand.setTileWidths([:]).requiresHost)
        XCTAssertTrue(ClientMessage.knownTypes.contains("tile-widths"))
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

    /// `joined.iceServers` (`--ice-servers`): the RTCIceServer shape, credentials only on TURN.
    func testJoinedWithIceServersEncoding() {
        let joined = ServerMessage.joined(Joined(
            id: "1", participantId: "p-3f2a", room: "main", sdp: "v=0\r\n", slots: [:], roster: [], slotsVersion: 1,
            iceServers: [IceServer(urls: ["stun:turn.example.org:3478"]),
                         IceServer(urls: ["turn:turn.example.org:3478?transport=tcp"], username: "1767225600:p-3f2a",
                                   credential: "y8BLcU8+f+psCqJuT4+J0j2iUdA=")]))
        XCTAssertEqual(encoded(joined),
                       #"{"iceServers":[{"urls":["stun:turn.example.org:3478"]},{"credential":"y8BLcU8+f+psCqJuT4+J0j2iUdA=","urls":["turn:turn.example.org:3478?transport=tcp"],"username":"1767225600:p-3f2a"}],"id":"1","participantId":"p-3f2a","room":"main","roster":[],"sdp":"v=0\r\n","slots":{},"slotsVersion":1,"type":"joined"}"#)
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

    /// docs/PROTOCOL.md, `resume` and `resumed`.
    func testResumeAndResumedAsDocumented() {
        XCTAssertEqual(try decode(#"{"type":"resume","id":"1","participantId":"p-3f2a","resumeToken":"q2Vb0...43 characters"}"#).get(),
                       .resume(ResumeRequest(id: "1", participantId: "p-3f2a", resumeToken: "q2Vb0...43 characters")))
        XCTAssertEqual(encoded(.resumed(Resumed(id: "1", participantId: "p-3f2a", room: "main", slots: [:], slotsVersion: 9,
                                                roster: [], resumeToken: "Zr4...", resumeGrace: 30))),
                       #"{"id":"1","participantId":"p-3f2a","resumeGrace":30,"resumeToken":"Zr4...","room":"main","roster":[],"slots":{},"slotsVersion":9,"type":"resumed"}"#)
        guard case .failure(let reply) = decode(#"{"type":"resume","id":"9","participantId":"p"}"#) else { return XCTFail() }
        XCTAssertEqual(reply.code, .badMessage)
        XCTAssertEqual(reply.id, "9")
    }

    /// docs/PROTOCOL.md, `downlink`.
    func testDownlinkAsDocumented() throws {
        XCTAssertEqual(encoded(.downlink(DownlinkEvent(paused: ["7"], suggestAudioMix: false))),
                       #"{"paused":["7"],"suggestAudioMix":false,"type":"downlink"}"#)
        XCTAssertEqual(try MessageCodec.decodeServerMessage(Array(#"{"type":"downlink","paused":["7"],"suggestAudioMix":false}"#.utf8)),
                       .downlink(DownlinkEvent(paused: ["7"], suggestAudioMix: false)))
    }

    /// docs/PROTOCOL.md, `session`: `openForSeconds` while the breakout rooms
    /// are open (the hosts' per-room timer), absent while they are closed.
    func testSessionAsDocumented() throws {
        let json = #"{"assignments":{"p-1":"r1"},"breakoutsOpen":true,"closingInSeconds":30,"handsRaised":["p-1"],"muted":[],"names":{"p-1":"Sam","p-h":"Dr. Lee"},"openForSeconds":754,"removed":[],"rooms":[{"id":"main","listeners":[],"members":["p-h"],"name":"Main room"},{"id":"r1","listeners":["p-h"],"members":["p-1"],"name":"Pairs A"}],"type":"session","version":12,"waiting":[]}"#
        guard case .session(var view) = try MessageCodec.decodeServerMessage(Array(json.utf8)) else { return XCTFail("not a session") }
        XCTAssertEqual(view.openForSeconds, 754)
        XCTAssertEqual(view.closingInSeconds, 30)
        XCTAssertEqual(encoded(.session(view)), json, "encoded as documented")
        view.breakoutsOpen = false
        view.closingInSeconds = nil
        view.openForSeconds = nil
        XCTAssertFalse(encoded(.session(view)).contains("openForSeconds"), "closed rooms have no timer")
    }

    func testServerMessagesRoundTrip() throws {
        let messages: [ServerMessage] = [
            .joined(Joined(id: "1", participantId: "p", room: "main", sdp: "s", slots: [:], roster: [])),
            .roster(RosterUpdate(participants: [])),
            .slots(SlotUpdate(map: ["2": SlotSource(participantId: "p", track: .screen)])),
            .error(ErrorReply(id: nil, code: ErrorCode("room-full"), message: "m")),
            .left(Left()),
            .resumed(Resumed(id: "r", participantId: "p", room: "r1", slots: [:], slotsVersion: nil, roster: [],
                             resumeToken: "t", resumeGrace: 30)),
            .joined(Joined(id: "1", participantId: "p", room: "main", sdp: "s", slots: [:], roster: [],
                           resumeToken: "t", resumeGrace: 30)),
        ]
        for m in messages {
            XCTAssertEqual(try MessageCodec.decodeServerMessage(MessageCodec.encode(m)), m)
        }
    }
}
