import CohortTestSupport
import XCTest
@testable import ControlPlane

/// The messages of docs/CLIENTS.md's worked example ("Joining: the order of
/// messages"), pinned byte for byte through the real codec, as
/// MessageCodecTests pins PROTOCOL.md's. The slot maps and versions in them
/// are the ones a real engine produces for that example
/// (Tests/SFUTests/ClientGuideExampleTests.swift); the participant ids are
/// the guide's stand-ins for random ones.
final class ClientGuideMessageTests: XCTestCase {
    static let document = "docs/CLIENTS.md"
    static let dana = "pX4cT9wL2mQ", ann = "pR7kq2ZfT1x", ben = "pB2nW8vK5sJ"
    /// The guide shortens the SDP in its JSON examples to this.
    static let shortSDP = "v=0\r\n…"

    private func example(_ name: String) throws -> String {
        let lines = try DocumentedExample.lines(name, in: Self.document)
        XCTAssertEqual(lines.count, 1, "example \(name) is one JSON message on one line")
        return try XCTUnwrap(lines.first)
    }

    private func encoded(_ message: ServerMessage) -> String {
        String(decoding: MessageCodec.encode(message), as: UTF8.self)
    }

    func testJoinDecodes() throws {
        let json = try example("join")
        XCTAssertEqual(try MessageCodec.decodeClientMessage(Array(json.utf8)).get(),
                       .join(JoinRequest(id: "1", token: "eyJ.x.y", name: "Dana", sdp: Self.shortSDP)))
    }

    func testJoinedEncoding() throws {
        let joined = ServerMessage.joined(Joined(
            id: "1", participantId: Self.dana, room: "main", sdp: Self.shortSDP,
            slots: ["2": SlotSource(participantId: Self.ann, track: .microphone),
                    "4": SlotSource(participantId: Self.ann, track: .camera)],
            roster: [RosterEntry(participantId: Self.ann, name: "Ann", role: .participant, room: "main"),
                     RosterEntry(participantId: Self.dana, name: "Dana", role: .participant, room: "main")],
            slotsVersion: 2))
        XCTAssertEqual(encoded(joined), try example("joined"))
    }

    func testSlotsEncoding() throws {
        let slots = ServerMessage.slots(SlotUpdate(map: [
            "2": SlotSource(participantId: Self.ann, track: .microphone),
            "3": SlotSource(participantId: Self.ben, track: .microphone),
            "4": SlotSource(participantId: Self.ann, track: .camera),
            "5": SlotSource(participantId: Self.ben, track: .camera),
        ], version: 3))
        XCTAssertEqual(encoded(slots), try example("slots"))
    }
}
