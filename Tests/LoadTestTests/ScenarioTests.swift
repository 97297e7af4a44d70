import Foundation
import XCTest
@testable import LoadTest

final class ScenarioTests: XCTestCase {
    func testMinimalFileTakesDefaults() throws {
        let s = try Scenario.parse(Data(#"{"name":"tiny"}"#.utf8))
        XCTAssertEqual(s.sessions, 1)
        XCTAssertEqual(s.participantsPerSession, 4)
        XCTAssertEqual(s.effectiveSlots, 3)
        XCTAssertTrue(s.media.audio)
        XCTAssertFalse(s.media.video)
        XCTAssertEqual(s.wireAudioMode, "forward")
        XCTAssertEqual(s.events, [])
        XCTAssertEqual(s.speakersPerSession, 0)
    }

    func testFullFileParses() throws {
        let json = """
        {"name":"x","sessions":3,"participantsPerSession":9,"slots":5,"audioMode":"mixed","speakersPerSession":2,
         "media":{"audio":true,"video":true,"videoKbps":800,"videoFPS":30,"keyframeIntervalSeconds":2},
         "rampSeconds":4,"durationSeconds":20,
         "network":{"uplinkLossPercent":2,"downlinkLossPercent":3,"jitterMs":15},
         "events":[{"at":5,"action":"vanish","count":2},{"at":6,"action":"listenIn","rooms":1,"note":"n"}]}
        """
        let s = try Scenario.parse(Data(json.utf8))
        XCTAssertEqual(s.totalParticipants, 27)
        XCTAssertEqual(s.effectiveSlots, 5)
        XCTAssertEqual(s.speakersPerSession, 2)
        XCTAssertEqual(s.wireAudioMode, "mix")
        XCTAssertEqual(s.media, MediaProfile(audio: true, video: true, videoKbps: 800, videoFPS: 30, keyframeIntervalSeconds: 2))
        XCTAssertEqual(s.network, NetworkImpairment(uplinkLossPercent: 2, downlinkLossPercent: 3, jitterMs: 15))
        XCTAssertEqual(s.events, [ScenarioEvent(at: 5, action: .vanish, count: 2),
                                  ScenarioEvent(at: 6, action: .listenIn, count: 1, rooms: 1, note: "n")])
    }

    func testBreakoutActionsAreHostCommands() {
        XCTAssertEqual(ScenarioAction.allCases.filter(\.isHostCommand), [.split, .move, .listenIn, .close])
    }

    func testMalformedAndOutOfRangeAreTypedErrors() {
        let cases: [(String, String)] = [
            ("not json", "malformed"),
            (#"{"sessions":1}"#, "malformed"),                                   // no name
            (#"{"name":"x","sessions":"two"}"#, "malformed"),                    // wrong type
            (#"{"name":"x","events":[{"at":1,"action":"dance"}]}"#, "malformed"),
            (#"{"name":"has space"}"#, "invalid"),
            (#"{"name":"x","sessions":0}"#, "invalid"),
            (#"{"name":"x","participantsPerSession":101}"#, "invalid"),
            (#"{"name":"x","sessions":100,"participantsPerSession":30}"#, "invalid"),
            (#"{"name":"x","audioMode":"stereo"}"#, "invalid"),
            (#"{"name":"x","participantsPerSession":4,"speakersPerSession":5}"#, "invalid"),
            (#"{"name":"x","speakersPerSession":-1}"#, "invalid"),
            (#"{"name":"x","media":{"audio":false,"video":false}}"#, "invalid"),
            (#"{"name":"x","network":{"uplinkLossPercent":60}}"#, "invalid"),
            (#"{"name":"x","durationSeconds":5,"events":[{"at":6,"action":"leave"}]}"#, "invalid"),
        ]
        for (json, kind) in cases {
            do {
                _ = try Scenario.parse(Data(json.utf8))
                XCTFail("accepted \(json)")
            } catch {
                switch (error, kind) {
                case (.malformed, "malformed"), (.invalid, "invalid"): break
                default: XCTFail("\(json): got \(error), expected \(kind)")
                }
            }
        }
    }

    /// Every scenario shipped in loadtest/scenarios parses and validates.
    func testShippedScenariosParse() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("loadtest/scenarios")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(names, ["audio-mixed-2-speakers.json", "audio-mixed.json", "baseline-audio-10.json", "baseline-av-10.json", "churn.json",
                               "clinic-day.json", "small-group.json", "smoke.json"])
        for n in names {
            let s = try Scenario.load(path: dir.appendingPathComponent(n).path)
            XCTAssertEqual(s.name + ".json", n)
        }
        // The two Scripts/loadtest-baseline.sh compares with the C fan-out: one room of 10, no events.
        for (n, video) in [("baseline-audio-10.json", false), ("baseline-av-10.json", true)] {
            let s = try Scenario.load(path: dir.appendingPathComponent(n).path)
            XCTAssertEqual(s.sessions, 1)
            XCTAssertEqual(s.participantsPerSession, 10)
            XCTAssertEqual(s.durationSeconds, 20)
            XCTAssertTrue(s.events.isEmpty)
            XCTAssertTrue(s.media.audio)
            XCTAssertEqual(s.media.video, video)
            if video { XCTAssertEqual(s.media.videoKbps, 300); XCTAssertEqual(s.media.videoFPS, 15) }
        }
        let smoke = try Scenario.load(path: dir.appendingPathComponent("smoke.json").path)
        XCTAssertEqual(smoke.sessions, 2)
        XCTAssertEqual(smoke.participantsPerSession, 4)
        XCTAssertEqual(smoke.durationSeconds, 10)
    }
}
