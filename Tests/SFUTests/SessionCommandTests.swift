import CohortClient
import CohortTestSupport
import RTP
import SFU
import Wire
import XCTest

/// Host controls against the sans-IO engine with real client-role peers.
final class SessionCommandTests: XCTestCase {
    private func heard(_ h: EngineHarness, _ name: String) -> Set<String> {
        var s: Set<String> = []
        for (_, packets) in h.rtpByMid(name) {
            for (header, packet) in packets {
                let t = String(decoding: packet[header.payloadRange], as: UTF8.self)
                if t.hasPrefix("audio:") { s.insert(String(t.dropFirst(6))) }
            }
        }
        return s
    }

    private func speak(_ h: EngineHarness, _ names: [String], frames: Int = 5, ts: inout UInt32) {
        for name in names { h.received[name] = [] }
        for i in 0..<frames {
            for name in names { h.sendMedia(name, audioTimestamp: ts, keyframe: i == 0) }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
    }

    func testBreakoutLifecycleListenInMuteAndClose() throws {
        let h = EngineHarness()
        try h.join("host", role: .host)
        let people = ["a1", "a2", "b1", "b2"]
        for p in people { try h.join(p) }
        let id = { (n: String) in h.participantIDs[n]! }
        let host = id("host")
        var ts: UInt32 = 0

        XCTAssertThrowsError(try h.engine.perform(.createRooms(names: ["x"]), by: id("a1"), now: h.clock.now)) {
            XCTAssertEqual($0 as? SFUError, .forbidden)
        }
        XCTAssertThrowsError(try h.engine.perform(.openRooms, by: host, now: h.clock.now)) {
            XCTAssertEqual(($0 as? SFUError)?.code, "wrong-room-state")
        }
        try h.engine.perform(.createRooms(names: ["Room A", "Room B"]), by: host, now: h.clock.now)
        XCTAssertThrowsError(try h.engine.perform(.createRooms(names: ["room a"]), by: host, now: h.clock.now)) {
            XCTAssertEqual($0 as? SFUError, .duplicateRoomName("room a"))
        }
        XCTAssertThrowsError(try h.engine.perform(.move(id("a1"), to: "r1"), by: host, now: h.clock.now)) {
            XCTAssertEqual(($0 as? SFUError)?.code, "wrong-room-state", "a move into a room that is not open")
        }
        XCTAssertThrowsError(try h.engine.perform(.move("nobody", to: "r1"), by: host, now: h.clock.now))
        try h.engine.perform(.assignBalanced, by: host, now: h.clock.now)
        try h.engine.perform(.assign([id("a1"): "r1", id("a2"): "r1", id("b1"): "r2", id("b2"): "r2"]), by: host, now: h.clock.now)
        try h.engine.perform(.openRooms, by: host, now: h.clock.now)
        speak(h, ["host"] + people, ts: &ts)
        XCTAssertEqual(heard(h, "a1"), ["a2"])
        XCTAssertEqual(heard(h, "b2"), ["b1"])
        XCTAssertEqual(heard(h, "host"), [], "the host is alone in the main room")
        XCTAssertEqual(h.events.views[id("a1")]?.breakoutsOpen, true)

        // Listen-in: the host hears room A; room B hears nothing of it; room A is told.
        try h.engine.perform(.listen("r1"), by: host, now: h.clock.now)
        speak(h, ["host"] + people, ts: &ts)
        XCTAssertEqual(heard(h, "host"), ["a1", "a2"])
        XCTAssertEqual(heard(h, "b1"), ["b2"])
        XCTAssertEqual(heard(h, "a1"), ["a2"], "listening does not send the host's audio into the room")
        settleViews(h)
        XCTAssertEqual(h.events.views[id("a1")]?.rooms.first { $0.id == "r1" }?.listeners, [host])
        try h.engine.perform(.listen(nil), by: host, now: h.clock.now)
        settleViews(h)
        XCTAssertEqual(h.events.views[id("a1")]?.rooms.first { $0.id == "r1" }?.listeners, [])

        // Server-enforced mute: a2 reaches nobody.
        try h.engine.perform(.setMuted(id("a2"), true), by: host, now: h.clock.now)
        speak(h, people, ts: &ts)
        XCTAssertEqual(heard(h, "a1"), [])
        XCTAssertEqual(h.events.views[id("a2")]?.muted, [id("a2")])
        try h.engine.perform(.setMuted(id("a2"), false), by: host, now: h.clock.now)

        // Close with a countdown: commands that reshape rooms wait; then everyone is back.
        try h.engine.perform(.closeRooms(countdownSeconds: 3), by: host, now: h.clock.now)
        XCTAssertEqual(h.events.views[id("b1")]?.closingInSeconds, 3, "sent at once: the view budget has refilled")
        XCTAssertThrowsError(try h.engine.perform(.move(id("a1"), to: "r2"), by: host, now: h.clock.now)) {
            XCTAssertEqual($0 as? SFUError, .roomsClosing)
        }
        h.run(for: .milliseconds(2_990))
        XCTAssertEqual(h.events.views[id("b1")]?.breakoutsOpen, true, "not before the countdown ends")
        h.run(for: .milliseconds(20))
        XCTAssertEqual(h.events.views[id("b1")]?.breakoutsOpen, false, "on time, not at the next 100 ms tick")
        speak(h, ["host"] + people, ts: &ts)
        XCTAssertEqual(heard(h, "a1"), ["host", "a2", "b1", "b2"], "everyone is back in the main room")
        XCTAssertEqual(h.engine.counters.isolationViolations, 0)
    }

    /// The hosts' per-room timer: every view while the rooms are open says
    /// how long ago they opened, on the engine's clock; none before opening
    /// or after they closed.
    func testViewsSayHowLongTheRoomsHaveBeenOpen() throws {
        let h = EngineHarness()
        try h.join("host", role: .host)
        try h.join("h2", role: .coHost)
        try h.join("a1")
        let id = { (n: String) in h.participantIDs[n]! }
        try h.engine.perform(.createRooms(names: ["Room A"]), by: id("host"), now: h.clock.now)
        settleViews(h)
        XCTAssertNil(h.events.views[id("host")]?.openForSeconds, "not open yet")
        try h.engine.perform(.openRooms, by: id("host"), now: h.clock.now)
        XCTAssertEqual(h.events.views[id("host")]?.openForSeconds, 0)
        h.run(for: .milliseconds(65_900))
        try h.engine.perform(.setHandRaised(true), by: id("a1"), now: h.clock.now)
        XCTAssertEqual(h.events.views[id("host")]?.openForSeconds, 65, "65.9 s: whole seconds, rounded down")
        XCTAssertEqual(h.events.views[id("h2")]?.openForSeconds, 65, "every host is told the same")
        XCTAssertEqual(h.events.views[id("a1")]?.openForSeconds, 65)
        h.run(for: .milliseconds(200))
        try h.engine.perform(.closeRooms(countdownSeconds: 2), by: id("host"), now: h.clock.now)
        XCTAssertEqual(h.events.views[id("host")]?.openForSeconds, 66, "still open during the countdown")
        h.run(for: .milliseconds(2_100))
        XCTAssertEqual(h.events.views[id("host")]?.breakoutsOpen, false)
        XCTAssertNil(h.events.views[id("host")]?.openForSeconds, "closed: no timer")
        try h.engine.perform(.createRooms(names: ["Room B"]), by: id("host"), now: h.clock.now)
        h.run(for: .milliseconds(5_000))
        try h.engine.perform(.openRooms, by: id("host"), now: h.clock.now)
        XCTAssertEqual(h.events.views[id("host")]?.openForSeconds, 0, "opening again starts from zero")
    }

    /// A close without a countdown takes effect with the command itself.
    func testCloseNowIsImmediate() throws {
        let h = EngineHarness()
        try h.join("host", role: .host)
        try h.join("a1")
        try h.join("b1")
        let id = { (n: String) in h.participantIDs[n]! }
        let host = id("host")
        try h.engine.perform(.createRooms(names: ["A", "B"]), by: host, now: h.clock.now)
        try h.engine.perform(.assign([id("a1"): "r1", id("b1"): "r2"]), by: host, now: h.clock.now)
        try h.engine.perform(.openRooms, by: host, now: h.clock.now)
        settleViews(h)
        XCTAssertEqual(h.events.views[id("a1")]?.breakoutsOpen, true)
        try h.engine.perform(.closeRooms(countdownSeconds: 0), by: host, now: h.clock.now)
        XCTAssertEqual(h.events.views[id("a1")]?.breakoutsOpen, false, "no clock advanced")
        XCTAssertEqual(h.engine.placement(session: "s1")[id("a1")]?.room, "main")
        XCTAssertEqual(h.engine.placement(session: "s1")[id("b1")]?.room, "main")
    }

    func testWaitingRoomAdmitDenyAndChat() throws {
        let h = EngineHarness(waitingRoom: true)
        try h.join("host", role: .host)
        try h.join("pat")
        try h.join("sam")
        let id = { (n: String) in h.participantIDs[n]! }
        var ts: UInt32 = 0
        speak(h, ["host", "pat", "sam"], ts: &ts)
        XCTAssertEqual(heard(h, "host"), [], "waiting participants send nothing")
        XCTAssertEqual(heard(h, "pat"), [], "and receive nothing")
        XCTAssertEqual(h.events.views[id("host")]?.waiting.map(\.participantId), [id("pat"), id("sam")])
        XCTAssertEqual(h.events.views[id("pat")]?.waiting.map(\.participantId), [id("pat")])
        XCTAssertThrowsError(try h.engine.perform(.chat("hi"), by: id("pat"), now: h.clock.now))
        try h.engine.perform(.admit(id("pat")), by: host(h), now: h.clock.now)
        try h.engine.perform(.deny(id("sam")), by: host(h), now: h.clock.now)
        XCTAssertTrue(h.events.removed.contains { $0.0 == id("sam") && $0.1 == .denied })
        speak(h, ["host", "pat"], ts: &ts)
        XCTAssertEqual(heard(h, "host"), ["pat"])
        try h.engine.perform(.chat("hello"), by: id("pat"), now: h.clock.now)
        XCTAssertEqual(h.events.messages.last?.0, .chat(from: id("pat"), fromName: "pat", text: "hello"))
        XCTAssertEqual(Set(h.events.messages.last?.1 ?? []), [id("host"), id("pat")])
        try h.engine.perform(.setHandRaised(true), by: id("pat"), now: h.clock.now)
        settleViews(h)
        XCTAssertEqual(h.events.views[id("host")]?.handsRaised, [id("pat")])
        XCTAssertNil(h.events.views[id("host")]?.microphoneOff, "nobody turned a microphone off")
        // Self-mute is shown to the others; it changes no media (the client stops sending).
        try h.engine.perform(.setSelfMuted(true), by: id("pat"), now: h.clock.now)
        settleViews(h)
        XCTAssertEqual(h.events.views[id("host")]?.microphoneOff, [id("pat")])
        XCTAssertEqual(h.events.views[id("pat")]?.microphoneOff, [id("pat")])
        try h.engine.perform(.setSelfMuted(false), by: id("pat"), now: h.clock.now)
        settleViews(h)
        XCTAssertNil(h.events.views[id("host")]?.microphoneOff)
        try h.engine.perform(.setSelfMuted(true), by: id("pat"), now: h.clock.now)
        try h.engine.perform(.endSession, by: host(h), now: h.clock.now)
        XCTAssertTrue(h.events.removed.contains { $0.0 == id("pat") && $0.1 == .sessionEnded })
    }

    /// A waiting participant is in no room: not a member of `main` in anyone's
    /// session view or roster, and told `waiting` itself (issue 19, point 2).
    /// Admitted, it enters the room its token named, and the room is told.
    func testAWaitingParticipantIsInNoRoomUntilAdmitted() throws {
        let h = EngineHarness(waitingRoom: true)
        try h.join("host", role: .host)
        let pat = try h.join("pat")
        try h.join("sam")
        let id = { (n: String) in h.participantIDs[n]! }
        XCTAssertEqual(pat.room, .waiting, "the joined reply names the waiting room")
        XCTAssertEqual(pat.roster.map(\.participantId), [id("pat")], "a waiting person sees only itself")
        XCTAssertEqual(pat.roster.map(\.room), [.waiting])
        for name in ["pat", "sam"] {
            let view = try XCTUnwrap(h.events.views[id(name)])
            XCTAssertEqual(view.rooms, [], "a waiting person sees no room of the session")
            XCTAssertEqual(view.names, [:], "nor anyone's name")
            XCTAssertEqual(view.waiting.map(\.participantId), [id(name)], "only itself, waiting")
        }
        for viewer in ["host"] {
            let view = try XCTUnwrap(h.events.views[id(viewer)])
            XCTAssertEqual(view.rooms.first { $0.id == .main }?.members, [id("host")],
                           "\(viewer)'s view lists no waiting person in main")
            XCTAssertFalse(view.rooms.contains { $0.id == .waiting }, "the waiting room is not a room of the session")
            XCTAssertEqual(view.names.keys.sorted(), [id("host")], "\(viewer)'s names leave out the waiting")
        }
        let mainRosters = h.events.rosters.filter { $0.0 == .main }.map { $0.1.map(\.participantId) }
        XCTAssertFalse(mainRosters.contains { $0.contains(id("pat")) || $0.contains(id("sam")) },
                       "no roster of main names a waiting person: \(mainRosters)")
        XCTAssertFalse(h.events.rosters.contains { $0.0 == .waiting }, "waiting people get no roster of each other")
        XCTAssertEqual(h.engine.roster(room: .main, session: "s1").map(\.participantId), [id("host")])

        try h.engine.perform(.admit(id("pat")), by: id("host"), now: h.clock.now)
        XCTAssertEqual(h.engine.placement(session: "s1")[id("pat")]?.room, .main)
        XCTAssertEqual(h.events.views[id("host")]?.rooms.first { $0.id == .main }?.members, [id("host"), id("pat")])
        XCTAssertEqual(h.events.rosters.last?.0, .main)
        XCTAssertEqual(h.events.rosters.last?.1.map(\.participantId), [id("host"), id("pat")])
        XCTAssertEqual(h.events.views[id("host")]?.waiting.map(\.participantId), [id("sam")])
    }

    /// A token may name a room to enter first; one that is not open now
    /// (a breakout room not created or not open, or `waiting`) enters `main`
    /// instead of a room no one can see.
    func testATokenRoomThatIsNotOpenEntersMain() throws {
        let h = EngineHarness()
        try h.join("host", role: .host)
        let early = try h.join("early", room: "r1")
        XCTAssertEqual(early.room, .main)
        let sneaky = try h.join("sneaky", room: .waiting)
        XCTAssertEqual(sneaky.room, .main)
        let id = { (n: String) in h.participantIDs[n]! }
        try h.engine.perform(.createRooms(names: ["A"]), by: id("host"), now: h.clock.now)
        try h.engine.perform(.openRooms, by: id("host"), now: h.clock.now)
        let late = try h.join("late", room: "r1")
        XCTAssertEqual(late.room, "r1", "an open breakout room can be entered from a token")
        XCTAssertEqual(h.engine.placement(session: "s1")[id("late")]?.room, "r1")
    }

    /// A command wrong in two ways gets one error whatever the session's
    /// state: arguments out of range first, then what it names, then state
    /// (issue 19, point 5: `close-rooms` with 301 s answered
    /// `wrong-room-state` or `invalid-command` depending on state).
    func testWhichErrorWinsDoesNotDependOnTheSessionsState() throws {
        let h = EngineHarness()
        try h.join("host", role: .host)
        try h.join("pat")
        let host = host(h), pat = h.participantIDs["pat"]!
        func code(_ command: SessionCommand) -> String? {
            do { try h.engine.perform(command, by: host, now: h.clock.now); return nil } catch { return error.code }
        }
        func checkAll(_ state: String) {
            h.run(for: .seconds(1))  // a host's command budget (20 at once) refills
            XCTAssertEqual(code(.closeRooms(countdownSeconds: 301)), "invalid-command", state)
            XCTAssertEqual(code(.createRooms(names: [" "])), "invalid-command", state)
            XCTAssertEqual(code(.move("p-nobody", to: "r9")), "unknown-participant", state)
            XCTAssertEqual(code(.move(pat, to: "r9")), "unknown-room", state)
            XCTAssertEqual(code(.assign(["p-nobody": "main"])), "unknown-participant", state)
            XCTAssertEqual(code(.joinRoom("r9")), "unknown-room", state)
        }
        checkAll("rooms closed")
        try h.engine.perform(.createRooms(names: ["A"]), by: host, now: h.clock.now)
        try h.engine.perform(.openRooms, by: host, now: h.clock.now)
        checkAll("rooms open")
        try h.engine.perform(.closeRooms(countdownSeconds: 30), by: host, now: h.clock.now)
        checkAll("rooms closing")
        XCTAssertEqual(code(.move(pat, to: "r1")), "rooms-closing")
    }

    /// Room names, broadcasts and chat are limited in bytes as well as in
    /// characters (issue 14: 58 KB of one grapheme cluster passed).
    func testTextsAndRoomNamesAreLimitedInBytes() throws {
        let h = EngineHarness()
        try h.join("host", role: .host)
        let host = host(h)
        let huge = "a" + String(repeating: "\u{301}", count: 4_100)  // one character, 8.2 KB
        let bigRoom = "a" + String(repeating: "\u{301}", count: 200)  // one character, 401 bytes
        for command in [SessionCommand.broadcast(huge), .chat(huge), .createRooms(names: [bigRoom])] {
            XCTAssertThrowsError(try h.engine.perform(command, by: host, now: h.clock.now), "\(command)") {
                XCTAssertEqual(($0 as? SFUError)?.code, "invalid-command")
            }
        }
        XCTAssertTrue(h.events.messages.isEmpty, "nothing was sent")
        let fits = "a" + String(repeating: "\u{301}", count: 199)  // 399 bytes
        try h.engine.perform(.createRooms(names: [fits]), by: host, now: h.clock.now)
        try h.engine.perform(.broadcast(String(repeating: "é", count: 2_000)), by: host, now: h.clock.now)
    }

    private func host(_ h: EngineHarness) -> ParticipantID { h.participantIDs["host"]! }

    /// Runs past the view budget's refill, so coalesced session views have gone out.
    private func settleViews(_ h: EngineHarness) { h.run(for: .milliseconds(400)) }

    /// Two hosts issue conflicting commands at once: they run in one order on
    /// the session's loop, the loser gets a clear error, and both hosts end
    /// with the same view.
    func testConflictingHostsConvergeOnOneState() throws {
        let h = EngineHarness()
        try h.join("h1", role: .host)
        try h.join("h2", role: .coHost)
        try h.join("pat")
        let id = { (n: String) in h.participantIDs[n]! }
        try h.engine.perform(.createRooms(names: ["A", "B"]), by: id("h1"), now: h.clock.now)
        XCTAssertThrowsError(try h.engine.perform(.createRooms(names: ["a"]), by: id("h2"), now: h.clock.now)) {
            XCTAssertEqual($0 as? SFUError, .duplicateRoomName("a"))
        }
        try h.engine.perform(.openRooms, by: id("h2"), now: h.clock.now)
        XCTAssertThrowsError(try h.engine.perform(.openRooms, by: id("h1"), now: h.clock.now)) {
            XCTAssertEqual(($0 as? SFUError)?.code, "wrong-room-state")
        }
        try h.engine.perform(.move(id("pat"), to: "r1"), by: id("h1"), now: h.clock.now)
        try h.engine.perform(.move(id("pat"), to: "r2"), by: id("h2"), now: h.clock.now)
        try h.engine.perform(.closeRooms(countdownSeconds: 5), by: id("h1"), now: h.clock.now)
        XCTAssertThrowsError(try h.engine.perform(.move(id("pat"), to: "r1"), by: id("h2"), now: h.clock.now)) {
            XCTAssertEqual($0 as? SFUError, .roomsClosing)
        }
        settleViews(h)
        let v1 = try XCTUnwrap(h.events.views[id("h1")]), v2 = try XCTUnwrap(h.events.views[id("h2")])
        XCTAssertEqual(v1, v2)
        XCTAssertEqual(v1.rooms.first { $0.id == "r2" }?.members, [id("pat")], "the later move wins")
        XCTAssertEqual(v1.closingInSeconds, 5)
    }

    /// The isolation invariant under thousands of random command sequences:
    /// every forwarded packet's origin is the receiver's room, or (audio) the
    /// room its host announced listening to; a screen share only ever its
    /// own room, through the screen slot.
    func testRandomCommandSequencesNeverBreakIsolation() throws {
        let h = EngineHarness()
        try h.join("h1", role: .host, screen: true)
        try h.join("h2", role: .coHost, screen: true)
        let people = ["p1", "p2", "p3", "p4", "p5", "p6"]
        for p in people { try h.join(p, screen: true) }
        let everyone = ["h1", "h2"] + people
        let id = { (n: String) in h.participantIDs[n]! }
        let name = Dictionary(uniqueKeysWithValues: everyone.map { (id($0), $0) })
        var random = SeededRandom(seed: 42)
        var ts: UInt32 = 0
        var checked = 0
        var refused = 0
        var screens = 0
        for step in 0..<2_000 {
            let actor = id(everyone[Int(random.next() % UInt64(everyone.count))])
            let target = id(people[Int(random.next() % UInt64(people.count))])
            let rooms: [RoomID] = ["main", "r1", "r2", "r3", "r9"]
            let room = rooms[Int(random.next() % UInt64(rooms.count))]
            let commands: [SessionCommand] = [
                .createRooms(names: ["R\(step % 3)"]), .assign([target: room]), .assignBalanced, .openRooms,
                .move(target, to: room), .closeRooms(countdownSeconds: Int(random.next() % 2)), .listen(room),
                .listen(nil), .joinRoom(room), .setMuted(target, random.next() % 2 == 0), .setHandRaised(true),
                .setScreenSharing(random.next() % 3 != 0), .allowScreenSharing(random.next() % 2 == 0),
            ]
            do {
                try h.engine.perform(commands[Int(random.next() % UInt64(commands.count))], by: actor, now: h.clock.now)
            } catch {
                refused += 1
            }
            guard step % 10 == 0 else { continue }
            // Everyone speaks once; check every packet against placement at send time.
            let placement = h.engine.placement(session: "s1")
            for n in everyone { h.received[n] = [] }
            for n in everyone {
                h.sendMedia(n, audioTimestamp: ts, keyframe: true)
                h.sendScreen(n, timestamp: ts &* 2, keyframe: true)
            }
            ts &+= 960
            h.run(for: .milliseconds(15))
            for receiver in everyone {
                guard let mine = placement[id(receiver)] else { continue }
                for (mid, packets) in h.rtpByMid(receiver) {
                    for (header, packet) in packets {
                        let text = String(decoding: packet[header.payloadRange], as: UTF8.self)
                        let sender = String(text.split(separator: ":").last ?? "")
                        guard let from = placement[id(sender)] else { return XCTFail("unknown sender \(text)") }
                        let audio = mid.hasPrefix("a")
                        XCTAssertNotEqual(sender, receiver)
                        if text.contains("screen:") || mid == "sv" {
                            XCTAssertTrue(text.contains("screen:") && mid == "sv" && from.room == mine.room,
                                          "step \(step): \(receiver) in \(mine.room) got \(text) from \(from.room) via \(mid)")
                            screens += 1
                        }
                        XCTAssertTrue(from.room == mine.room || (audio && mine.listening == from.room),
                                      "step \(step): \(receiver) in \(mine.room) got \(text) from \(from.room) via \(mid) (\(name[id(sender)] ?? ""))")
                        checked += 1
                    }
                }
            }
            h.run(for: .milliseconds(400))  // let countdowns finish sometimes
        }
        XCTAssertGreaterThan(checked, 1_000, "the test must actually see forwarded packets")
        XCTAssertGreaterThan(refused, 100, "and exercise refusals")
        XCTAssertGreaterThan(screens, 100, "and see screen shares")
        XCTAssertEqual(h.engine.counters.isolationViolations, 0)
    }
}
