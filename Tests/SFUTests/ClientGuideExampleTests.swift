import CohortClient
import CohortTestSupport
import DTLS
import Foundation
import SDP
import Wire
import XCTest
@testable import SFU

/// The worked example of docs/CLIENTS.md, pinned line for line: the
/// documented offer goes through the real SDP parser and `OfferPlan`, and
/// the real `AnswerBuilder`, given the values the guide states, must write
/// exactly the documented answer. A second test joins the offer into a real
/// `MediaEngine` and checks that its answer is the documented one once its
/// random values (credentials, SSRCs, ids) are replaced by the guide's, and
/// that its slot maps are the ones the guide's `joined` and `slots` show.
///
/// When a change to the answer is intended, the failure message prints the
/// new answer; paste it into the guide after reading it.
final class ClientGuideExampleTests: XCTestCase {
    static let document = "docs/CLIENTS.md"

    // The server's values for the example, as docs/CLIENTS.md states them ("The answer").
    static let ufrag = "Hq3v9TzK"
    static let password = "f8LmQ2xR7nVb4cJw0kTz6pYs"
    static let fingerprint = "sha-256 5E:A3:19:C7:2D:80:F4:6B:3A:E1:97:0C:D2:58:BB:14:69:F0:2E:A7:C3:45:8D:1B:70:E6:9A:3F:52:CB:08:D4"
    static let host = "203.0.113.7"
    static let port: UInt16 = 50000
    static let participantID = "pX4cT9wL2mQ"
    static let sessionID: UInt64 = 7_263_515_108_853_470_209
    static let audioSlotSSRCs: [UInt32] = [2_850_716_431, 401_983_120]
    static let videoSlotSSRCs: [UInt32] = [3_372_461_907, 1_695_530_248]
    static let videoSlotRTXSSRCs: [UInt32] = [918_274_650, 2_207_359_118]

    private func offer() throws -> String {
        try DocumentedExample.lines("offer", in: Self.document).joined(separator: "\r\n") + "\r\n"
    }

    private func documentedAnswer() throws -> [String] {
        try DocumentedExample.lines("answer", in: Self.document)
    }

    /// The engine's settings as `cohort serve` makes them (MediaRelay), at the example's address.
    private func configuration() -> EngineConfiguration {
        EngineConfiguration(certificate: EngineHarness.certificate, candidateHost: Self.host, candidatePort: Self.port)
    }

    /// An SDP text's lines; it must end every line with CRLF (RFC 8866 §5) and hold no bare CR or LF.
    private func crlfLines(_ sdp: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        XCTAssertTrue(sdp.hasSuffix("\r\n"), "the answer ends with CRLF", file: file, line: line)
        var lines = sdp.components(separatedBy: "\r\n")
        if lines.last == "" { lines.removeLast() }
        for l in lines where l.contains("\r") || l.contains("\n") {
            XCTFail("bare CR or LF in answer line \(l.debugDescription)", file: file, line: line)
        }
        return lines
    }

    private func assertSameLines(_ actual: [String], _ documented: [String], file: StaticString = #filePath, line: UInt = #line) {
        var mismatches = 0
        for i in 0..<max(actual.count, documented.count) {
            let a = i < actual.count ? actual[i] : "(none)"
            let d = i < documented.count ? documented[i] : "(none)"
            if a != d {
                mismatches += 1
                guard mismatches <= 5 else { continue }  // the whole answer follows
                XCTFail("answer line \(i + 1): the code writes \(a.debugDescription), \(Self.document) shows \(d.debugDescription)",
                        file: file, line: line)
            }
        }
        if mismatches > 0 {
            XCTFail("\(mismatches) lines differ; the answer the code writes, for \(Self.document):\n"
                    + actual.joined(separator: "\n"), file: file, line: line)
        }
    }

    func testDocumentedAnswerIsWhatAnswerBuilderWritesForTheDocumentedOffer() throws {
        let config = configuration()
        var plan = try OfferPlan(offer: try SessionDescription.parse(try offer()), maxSlots: config.maxSlots)
        if !config.lossRepair { plan.withoutLossRepair() }  // as MediaEngine.join does
        let answer = AnswerBuilder(ufrag: Self.ufrag, password: Self.password,
                                   fingerprint: try DTLSFingerprint(sdp: Self.fingerprint),
                                   candidateHost: Self.host, candidatePort: Self.port, participantID: Self.participantID)
            .answer(for: plan, slotSSRCs: [.audio: Self.audioSlotSSRCs, .video: Self.videoSlotSSRCs],
                    videoSlotRTXSSRCs: Self.videoSlotRTXSSRCs, sessionVersion: Self.sessionID)
        assertSameLines(crlfLines(answer), try documentedAnswer())
    }

    /// The guide's prose about the example: which sections are what.
    func testDocumentedOfferIsReadAsTheGuideSays() throws {
        let plan = try OfferPlan(offer: try SessionDescription.parse(try offer()), maxSlots: configuration().maxSlots)
        XCTAssertEqual(configuration().maxSlots, 16, "\(Self.document) says the server uses at most 16 slots per kind")
        XCTAssertEqual(plan.audio?.mid, "0")
        XCTAssertEqual(plan.audio?.ssrc, 1_821_367_029)
        XCTAssertEqual(plan.video?.mid, "1")
        XCTAssertEqual(plan.video?.ssrc, 2_637_184_104)
        XCTAssertEqual(plan.video?.rtxSSRC, 3_950_118_213)
        XCTAssertEqual(plan.slots(.audio).map(\.mid), ["2", "3"])
        XCTAssertEqual(plan.slots(.video).map(\.mid), ["4", "5"])
        XCTAssertTrue(plan.dtlsServer, "setup:actpass makes the server the DTLS server (answer setup:passive)")
        XCTAssertEqual(plan.extensionIDs, ["urn:ietf:params:rtp-hdrext:ssrc-audio-level": 1,
                                           "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time": 2])
    }

    func testEngineAnswersTheDocumentedOfferAsDocumented() throws {
        let engine = MediaEngine(configuration: configuration())
        let now = Instant.milliseconds(1_000)
        // Ann is in the room already, with microphone and camera.
        let ann = ClientParticipant(publishAudio: true, publishVideo: true, slots: 2, certificate: EngineHarness.certificate)
        let annID = try engine.join(JoinRequest(sessionID: "group-42", room: .main, name: "Ann", role: .participant,
                                                offer: ann.offer.sdp), now: now).participantID
        let joined = try engine.join(JoinRequest(sessionID: "group-42", room: .main, name: "Dana", role: .participant,
                                                 offer: try offer()), now: now)
        let dana = try XCTUnwrap(engine.participant(joined.participantID))

        // Replace the engine's random values by the guide's, token by token.
        let origin = try XCTUnwrap(try SessionDescription.parse(joined.answer).origin)
        var guide: [String: String] = [
            dana.ice.localUfrag: Self.ufrag, dana.ice.localPassword: Self.password,
            joined.participantID: Self.participantID, origin.sessionID: String(Self.sessionID),
        ]
        let pairs = Array(zip(dana.subscriber.audio.map(\.ssrc), Self.audioSlotSSRCs))
            + Array(zip(dana.subscriber.video.map(\.ssrc), Self.videoSlotSSRCs))
            + Array(zip(dana.subscriber.video.compactMap { $0.rtx?.ssrc }, Self.videoSlotRTXSSRCs))
        for (engineValue, guideValue) in pairs { guide[String(engineValue)] = String(guideValue) }
        XCTAssertEqual(guide.count, 4 + 6, "every random value is distinct")
        let fingerprint = EngineHarness.certificate.fingerprint.sdpValue
        let normalized = crlfLines(joined.answer).map { line in
            Self.replacingTokens(in: line.replacingOccurrences(of: fingerprint, with: Self.fingerprint), guide)
        }
        assertSameLines(normalized, try documentedAnswer())

        // The `joined` reply's slot map and roster (docs/CLIENTS.md "Joining"): Ann in
        // the first audio and the first video slot, so slot i of both kinds is one person.
        XCTAssertEqual(joined.slots, [
            SlotAssignment(mid: "2", kind: .audio, participantId: annID, name: "Ann"),
            SlotAssignment(mid: "3", kind: .audio, participantId: nil, name: nil),
            SlotAssignment(mid: "4", kind: .video, participantId: annID, name: "Ann"),
            SlotAssignment(mid: "5", kind: .video, participantId: nil, name: nil),
        ])
        XCTAssertEqual(joined.slotsVersion, 2, "maps start at 1; the join itself filled two slots")
        XCTAssertEqual(joined.roster.map(\.name), ["Ann", "Dana"], "joining order, the joiner included")
        XCTAssertEqual(joined.roster.map(\.role), [.participant, .participant])

        // Ben joins: Dana's next map fills the second pair of slots, version 3.
        let ben = ClientParticipant(publishAudio: true, publishVideo: true, slots: 2, certificate: EngineHarness.certificate)
        let benID = try engine.join(JoinRequest(sessionID: "group-42", room: .main, name: "Ben", role: .participant,
                                                offer: ben.offer.sdp), now: now).participantID
        XCTAssertEqual(engine.slotMap(of: dana), [
            SlotAssignment(mid: "2", kind: .audio, participantId: annID, name: "Ann"),
            SlotAssignment(mid: "3", kind: .audio, participantId: benID, name: "Ben"),
            SlotAssignment(mid: "4", kind: .video, participantId: annID, name: "Ann"),
            SlotAssignment(mid: "5", kind: .video, participantId: benID, name: "Ben"),
        ])
        XCTAssertEqual(dana.subscriber.slotsVersion, 3)
    }

    /// `line` with each token (split at space, colon and hyphen) that is a key of `map` replaced.
    static func replacingTokens(in line: String, _ map: [String: String]) -> String {
        var out = ""
        var token = ""
        for c in line {
            if c == " " || c == ":" || c == "-" {
                out += map[token] ?? token
                out.append(c)
                token = ""
            } else {
                token.append(c)
            }
        }
        return out + (map[token] ?? token)
    }
}
