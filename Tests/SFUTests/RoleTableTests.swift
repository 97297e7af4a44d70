import SFU
import XCTest

/// Host > co-host > participant (issue 15, point 2): every command that acts
/// on another person, for every pair of roles, against an outcome written out
/// here rather than computed by the code under test.
final class RoleTableTests: XCTestCase {
    private enum Action: String, CaseIterable { case remove, mute, move, assign }
    private enum Outcome { case allowed, forbidden }

    /// actor → target → action → outcome. "other host" and "other co-host":
    /// a session may have two of each.
    private let table: [Role: [Role: [Action: Outcome]]] = [
        .host: [
            .host: [.remove: .allowed, .mute: .allowed, .move: .allowed, .assign: .allowed],
            .coHost: [.remove: .allowed, .mute: .allowed, .move: .allowed, .assign: .allowed],
            .participant: [.remove: .allowed, .mute: .allowed, .move: .allowed, .assign: .allowed],
        ],
        .coHost: [
            .host: [.remove: .forbidden, .mute: .forbidden, .move: .forbidden, .assign: .forbidden],
            .coHost: [.remove: .forbidden, .mute: .forbidden, .move: .forbidden, .assign: .forbidden],
            .participant: [.remove: .allowed, .mute: .allowed, .move: .allowed, .assign: .allowed],
        ],
        .participant: [
            .host: [.remove: .forbidden, .mute: .forbidden, .move: .forbidden, .assign: .forbidden],
            .coHost: [.remove: .forbidden, .mute: .forbidden, .move: .forbidden, .assign: .forbidden],
            .participant: [.remove: .forbidden, .mute: .forbidden, .move: .forbidden, .assign: .forbidden],
        ],
    ]
    private let endSession: [Role: Outcome] = [.host: .allowed, .coHost: .forbidden, .participant: .forbidden]

    /// A fresh session with the actor and a target of each role, breakout rooms open.
    private func session(actor: Role) throws -> EngineHarness {
        let h = EngineHarness()
        try h.join("actor", role: actor)
        try h.join("host", role: .host)
        try h.join("coHost", role: .coHost)
        try h.join("participant", role: .participant)
        try h.engine.perform(.createRooms(names: ["A"]), by: h.participantIDs["host"]!, now: h.clock.now)
        try h.engine.perform(.openRooms, by: h.participantIDs["host"]!, now: h.clock.now)
        return h
    }

    func testEveryActionForEveryPairOfRoles() throws {
        for (actor, targets) in table {
            for (target, actions) in targets {
                for (action, expected) in actions {
                    let h = try session(actor: actor)
                    let id = h.participantIDs[target == .coHost ? "coHost" : target.rawValue]!
                    let command: SessionCommand
                    switch action {
                    case .remove: command = .remove(id)
                    case .mute: command = .setMuted(id, true)
                    case .move: command = .move(id, to: "r1")
                    case .assign: command = .assign([id: "r1"])
                    }
                    var outcome = Outcome.allowed
                    do { try h.engine.perform(command, by: h.participantIDs["actor"]!, now: h.clock.now) } catch {
                        XCTAssertEqual(error, .forbidden, "\(actor) \(action) \(target): \(error)")
                        outcome = .forbidden
                    }
                    XCTAssertEqual(outcome, expected, "\(actor) \(action) \(target)")
                    if expected == .forbidden {
                        XCTAssertEqual(h.engine.placement(session: "s1")[id]?.room, "main", "a refusal changes nothing")
                    }
                }
            }
        }
        for (actor, expected) in endSession {
            let h = try session(actor: actor)
            var outcome = Outcome.allowed
            do { try h.engine.perform(.endSession, by: h.participantIDs["actor"]!, now: h.clock.now) } catch {
                XCTAssertEqual(error, .forbidden)
                outcome = .forbidden
            }
            XCTAssertEqual(outcome, expected, "\(actor) end-session")
            XCTAssertEqual(h.engine.placement(session: "s1").count, expected == .allowed ? 0 : 4)
        }
    }

    /// Acting on oneself is not acting against anyone.
    func testACoHostMayMoveAndMuteItself() throws {
        let h = try session(actor: .coHost)
        let me = h.participantIDs["actor"]!
        try h.engine.perform(.move(me, to: "r1"), by: me, now: h.clock.now)
        try h.engine.perform(.setMuted(me, true), by: me, now: h.clock.now)
        XCTAssertEqual(h.engine.placement(session: "s1")[me]?.room, "r1")
    }
}

/// Removal sticks (issue 15, point 1): a removed person cannot join the
/// session again, with the same token or a new one for the same `sub`,
/// until a host lets them back; hosts see whom they removed.
final class RemovalTests: XCTestCase {
    func testARemovedPersonStaysOutUntilAHostUnbans() throws {
        let h = EngineHarness()
        try h.join("host", role: .host, identity: "sub:s1:dr-lee")
        try h.join("pat", identity: "sub:s1:pat")
        try h.join("sam", identity: "sub:s1:sam")
        let host = h.participantIDs["host"]!, pat = h.participantIDs["pat"]!
        try h.engine.perform(.remove(pat), by: host, now: h.clock.now)
        XCTAssertTrue(h.events.removed.contains { $0.0 == pat && $0.1 == .removed })
        XCTAssertThrowsError(try h.join("pat again", identity: "sub:s1:pat"), "the same person, a new token") {
            XCTAssertEqual(($0 as? SFUError)?.code, "removed")
        }
        h.run(for: .milliseconds(400))
        XCTAssertEqual(h.events.views[host]?.removed, [SessionView.RemovedPerson(participantId: pat, name: "pat")])
        XCTAssertEqual(h.events.views[h.participantIDs["sam"]!]?.removed, [], "only hosts see whom they removed")
        try h.join("other", identity: "sub:s1:other")  // someone else still joins
        XCTAssertThrowsError(try h.engine.perform(.unban(pat), by: h.participantIDs["sam"]!, now: h.clock.now)) {
            XCTAssertEqual($0 as? SFUError, .forbidden)
        }
        try h.engine.perform(.unban(pat), by: host, now: h.clock.now)
        XCTAssertNoThrow(try h.join("pat back", identity: "sub:s1:pat"))
        XCTAssertThrowsError(try h.engine.perform(.unban(pat), by: host, now: h.clock.now)) {
            XCTAssertEqual(($0 as? SFUError)?.code, "unknown-participant", "nobody by that id is removed now")
        }
    }
}
