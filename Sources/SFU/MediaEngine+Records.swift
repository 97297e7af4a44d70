import Wire

/// The attendance and audit records (ARCHITECTURE.md, "Records"): the engine
/// states facts as `RecordEvent`s through its delegate, dated in wall-clock
/// time, and never waits for them to be stored. Runs on the engine's loop.
extension MediaEngine {
    /// How often published streams are checked for flowing media.
    static let flowSampleInterval = TimeSpan.seconds(1)

    /// Wall-clock Unix milliseconds at `now`.
    func unixMilliseconds(_ now: Instant) -> Int64 {
        Int64((configuration.unixNanosecondsAtZero &+ now.nanoseconds) / 1_000_000)
    }

    /// How records name `p`.
    func recordPerson(_ p: Participant) -> RecordEvent.Person {
        RecordEvent.Person(participant: p.id, subject: p.subject, name: p.name, role: p.role)
    }

    /// Hands one fact to the delegate.
    func record(_ kind: RecordEvent.Kind, session: Session, at now: Instant) {
        delegate?.engine(record: RecordEvent(unixMilliseconds: unixMilliseconds(now), session: session.id, kind: kind))
    }

    /// A join: who, and the room it starts in.
    func recordJoin(_ p: Participant, now: Instant) {
        record(.joined(recordPerson(p)), session: p.session, at: now)
        recordRoomChanges(in: p.session, from: RoutingTable(), now: now, only: p.id)
    }

    /// Records every member whose room differs from the one in `before`.
    func recordRoomChanges(in session: Session, from before: RoutingTable, now: Instant, only: ParticipantID? = nil) {
        for (id, member) in session.table.members.sorted(by: { $0.key < $1.key })
        where (only == nil || only == id) && before.members[id]?.room != member.room {
            guard let p = session.participants[id] else { continue }
            record(.room(recordPerson(p), member.room), session: session, at: now)
        }
    }

    /// Everyone still present leaves with `reason` (the server stops).
    func recordEveryoneLeaving(reason: String, now: Instant) {
        for session in sessions.values {
            for p in session.participants.values.sorted(by: { $0.id < $1.id }) {
                record(.left(recordPerson(p), reason: reason), session: session, at: now)
            }
        }
    }

    /// Once a second on the engine tick: which published streams started or
    /// stopped flowing (`StreamFlow`).
    func sampleFlows(now: Instant) {
        guard delegate != nil, now >= nextFlowSample else { return }
        nextFlowSample = now + Self.flowSampleInterval
        for session in sessions.values {
            for p in session.participants.values {
                if let received = p.audio?.layers[0].stats.received, let change = p.audio?.flow.sample(received: received, now: now) {
                    record(.flow(recordPerson(p), .audio, change.flowing), session: session, at: change.at)
                }
                if let received = p.video.map({ UInt64($0.received) }), let change = p.video?.flow.sample(received: received, now: now) {
                    record(.flow(recordPerson(p), .video, change.flowing), session: session, at: change.at)
                }
            }
        }
    }

    /// A host command that took effect: its name, actor, targets and a
    /// detail that is never free text (no broadcast text, no room names).
    func recordHostAction(_ command: SessionCommand, by actor: Participant, in session: Session, now: Instant) {
        guard command.requiresHost else { return }
        func target(_ id: ParticipantID) -> RecordEvent.Person? { session.participants[id].map(recordPerson) }
        func action(_ name: String, _ target: RecordEvent.Person? = nil, _ detail: String? = nil) {
            record(.hostAction(name, actor: recordPerson(actor), target: target, detail: detail), session: session, at: now)
        }
        switch command {
        case .createRooms(let names):
            action("create-rooms", nil, session.model.breakouts.suffix(names.count).map(\.id.rawValue).joined(separator: ","))
        case .assign(let plan):
            for (id, room) in plan.sorted(by: { $0.key < $1.key }) { action("assign", target(id), room.rawValue) }
        case .assignBalanced: action("assign-balanced")
        case .openRooms: action("open-rooms")
        case .move(let id, let room): action("move", target(id), room.rawValue)
        case .broadcast: action("broadcast")
        case .closeRooms(let seconds): action("close-rooms", nil, "\(seconds)s")
        case .listen(let room?): action("listen-start", nil, room.rawValue)
        case .listen(nil): action("listen-stop")
        case .joinRoom(let room): action("join-room", nil, room.rawValue)
        case .setMuted(let id, let muted): action(muted ? "mute" : "unmute", target(id))
        case .remove(let id): action("remove", target(id))
        case .endSession: action("end-session")
        case .admit(let id): action("admit", target(id))
        case .deny(let id): action("deny", target(id))
        case .unban(let id): action("unban", nil, id)
        case .allowScreenSharing(let allowed): action(allowed ? "screen-share-allow" : "screen-share-disallow")
        case .setHandRaised, .setSelfMuted, .chat, .setMixedAudio, .setScreenSharing, .setTileWidths: break
        }
    }
}
