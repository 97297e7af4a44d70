import Wire

extension MediaEngine {
    /// Carries out `command` from `actor` (ARCHITECTURE.md, "Rooms, roles and
    /// the isolation rule"). Commands run one at a time on the session's
    /// loop, so two hosts issuing conflicting commands see them in one order
    /// and the same final state. Refusals change nothing.
    ///
    /// Checks run in one order for every command, so a command that is wrong
    /// in several ways always gets the same error (docs/PROTOCOL.md, "Which
    /// error wins"): the sender's right (`forbidden`); arguments out of range
    /// on their own (`invalid-command`); the participants and rooms it names
    /// (`unknown-participant`, `unknown-room`); then the session's state
    /// (`rooms-closing`, `wrong-room-state`, `duplicate-room-name`). Before
    /// all of them, the sender's budget (`rate-limited`): every command,
    /// refused ones included, costs the server work.
    public func perform(_ command: SessionCommand, by actor: ParticipantID, now: Instant) throws(SFUError) {
        timersChanged()  // a close countdown, keyframe requests, mixers
        guard let p = participant(actor) else { throw .unknownParticipant(actor) }
        guard p.commandBudget.take(now: now) else {
            counters.commandsRateLimited += 1
            throw .rateLimited("More than \(Int(Self.commandsPerSecond)) commands a second; wait a moment.")
        }
        let session = p.session
        let before = session.table
        var table = before
        var model = session.model
        if command.requiresHost && !p.role.runsSession { throw .forbidden }
        if model.waiting.contains(actor) { throw .forbidden }
        var changed: Set<ParticipantID> = []
        var removals: [(ParticipantID, RemovalReason)] = []
        var rosterRooms: Set<RoomID> = []

        func requireMember(_ id: ParticipantID) throws(SFUError) {
            guard session.participants[id] != nil, !model.waiting.contains(id) else {
                throw .unknownParticipant(id)
            }
        }
        /// The sender's role must outrank the target's (`Role.mayActOn`).
        func requireMayActOn(_ id: ParticipantID) throws(SFUError) {
            guard let target = session.participants[id], p.role.mayActOn(target.role) else { throw .forbidden }
        }
        func requireNotClosing() throws(SFUError) { if model.closingAt != nil { throw .roomsClosing } }
        func requireRoom(_ room: RoomID) throws(SFUError) { guard model.exists(room) else { throw .unknownRoom(room) } }
        func requireEnterable(_ room: RoomID) throws(SFUError) {
            guard model.isEnterable(room) else { throw .wrongRoomState("Breakout rooms are not open.") }
        }
        func moveMember(_ id: ParticipantID, to room: RoomID) {
            guard let from = table.members[id]?.room, from != room else { return }
            rosterRooms.formUnion([from, room])
            changed.formUnion(table.move(id, to: room))
        }

        switch command {
        case .createRooms(let names):
            let trimmed = names.map { String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
            guard !trimmed.isEmpty, trimmed.allSatisfy({
                !$0.isEmpty && $0.count <= SessionCommand.maxRoomNameLength && $0.utf8.count <= SessionCommand.maxRoomNameBytes
            }) else {
                throw .invalidCommand("Room names must be 1 to \(SessionCommand.maxRoomNameLength) characters "
                                      + "and at most \(SessionCommand.maxRoomNameBytes) bytes.")
            }
            guard trimmed.count <= SessionCommand.maxRooms else { throw .invalidCommand("At most \(SessionCommand.maxRooms) rooms.") }
            try requireNotClosing()
            guard !model.open else { throw .wrongRoomState("Close the open rooms before creating new ones.") }
            guard model.breakouts.count + trimmed.count <= SessionCommand.maxRooms else {
                throw .invalidCommand("At most \(SessionCommand.maxRooms) rooms.")
            }
            var seen = Set(model.breakouts.map { $0.name.lowercased() })
            for name in trimmed {
                guard seen.insert(name.lowercased()).inserted, name.lowercased() != RoomID.main.rawValue else { throw .duplicateRoomName(name) }
            }
            for name in trimmed {
                model.breakouts.append(BreakoutRoom(id: RoomID("r\(model.nextRoomNumber)"), name: name))
                model.nextRoomNumber += 1
            }
        case .assign(let plan):
            for (id, room) in plan.sorted(by: { $0.key < $1.key }) {
                try requireMember(id)
                if id != actor { try requireMayActOn(id) }
                try requireRoom(room)
            }
            try requireNotClosing()
            for (id, room) in plan.sorted(by: { $0.key < $1.key }) {
                model.assignments[id] = room
                if model.open { moveMember(id, to: room) }
            }
        case .assignBalanced:
            try requireNotClosing()
            guard !model.breakouts.isEmpty else { throw .wrongRoomState("Create breakout rooms first.") }
            let people = table.members.sorted { $0.value.order < $1.value.order }.map(\.key)
                .filter { session.participants[$0].map { !$0.role.runsSession } ?? false && !model.waiting.contains($0) }
            for (i, id) in people.enumerated() {
                let room = model.breakouts[i % model.breakouts.count].id
                model.assignments[id] = room
                if model.open { moveMember(id, to: room) }
            }
        case .openRooms:
            try requireNotClosing()
            guard !model.breakouts.isEmpty else { throw .wrongRoomState("Create breakout rooms first.") }
            guard !model.open else { throw .wrongRoomState("Breakout rooms are open already.") }
            model.open = true
            model.openedAt = now
            for (id, room) in model.assignments.sorted(by: { $0.key < $1.key }) where table.members[id] != nil {
                moveMember(id, to: room)
            }
        case .move(let id, let room):
            try requireMember(id)
            if id != actor { try requireMayActOn(id) }
            try requireRoom(room)
            try requireNotClosing()
            try requireEnterable(room)
            if model.assignments[id] != nil || room != .main { model.assignments[id] = room }
            moveMember(id, to: room)
        case .broadcast(let text):
            guard SessionCommand.isAcceptableText(text) else {
                throw .invalidCommand("A broadcast is 1 to \(SessionCommand.maxTextLength) characters and at most \(SessionCommand.maxTextBytes) bytes.")
            }
            let everyone = table.members.keys.filter { !model.waiting.contains($0) }
            try spendFanOut(of: p, bytes: text.utf8.count, recipients: everyone.count, now: now)
            recordHostAction(command, by: p, in: session, now: now)
            delegate?.engine(message: .broadcast(fromName: p.name, text: text), recipients: Array(everyone), session: session.id)
            return
        case .closeRooms(let seconds):
            guard (0...SessionCommand.maxCountdown).contains(seconds) else {
                throw .invalidCommand("The countdown is 0 to \(SessionCommand.maxCountdown) seconds.")
            }
            try requireNotClosing()
            guard model.open else { throw .wrongRoomState("Breakout rooms are not open.") }
            model.closingAt = now + .seconds(Int64(seconds))
        case .listen(let room):
            if let room {
                try requireRoom(room)
                guard room != table.members[actor]?.room else { throw .invalidCommand("You are in that room.") }
            }
            changed.formUnion(table.setListening(actor, to: room))
        case .joinRoom(let room):
            try requireRoom(room)
            try requireNotClosing()
            try requireEnterable(room)
            changed.formUnion(table.setListening(actor, to: nil))
            moveMember(actor, to: room)
        case .setMuted(let id, let muted):
            try requireMember(id)
            if id != actor { try requireMayActOn(id) }
            changed.formUnion(table.setAudioMuted(id, muted))
        case .remove(let id):
            guard session.participants[id] != nil else { throw .unknownParticipant(id) }
            guard id != actor else { throw .invalidCommand("Use leave to leave.") }
            try requireMayActOn(id)
            removals.append((id, .removed))
            // Removal sticks: the same person (same `sub`, or the same token) cannot join again until unbanned.
            if let removed = session.participants[id], let identity = removed.identity,
               !model.removed.contains(where: { $0.identity == identity }) {
                model.removed.append((identity, SessionView.RemovedPerson(participantId: id, name: removed.name)))
            }
        case .unban(let id):
            guard model.removed.contains(where: { $0.view.participantId == id }) else { throw .unknownParticipant(id) }
            model.removed.removeAll { $0.view.participantId == id }
        case .endSession:
            guard p.role.mayEndSession else { throw .forbidden }
            removals = table.members.keys.sorted().map { ($0, .sessionEnded) }
        case .admit(let id):
            guard model.waiting.contains(id) else { throw .unknownParticipant(id) }
            model.waiting.removeAll { $0 == id }
            // Into the room its token named if that can be entered now, else main.
            let entry = model.entry(for: session.participants[id]?.entryRoom ?? .main)
            changed.formUnion(table.setFlow(id, receives: true, publishes: true))
            moveMember(id, to: entry)
        case .deny(let id):
            guard model.waiting.contains(id) else { throw .unknownParticipant(id) }
            removals.append((id, .denied))
        case .setMixedAudio(let mixed):
            changed.formUnion(table.setMixedAudio(actor, mixed))
        case .setHandRaised(let raised):
            model.hands.removeAll { $0 == actor }
            if raised { model.hands.append(actor) }
        case .setSelfMuted(let muted):
            if muted { model.microphoneOff.insert(actor) } else { model.microphoneOff.remove(actor) }
        case .setTileWidths(let widths):
            let mids = p.plan.slots(.video).map(\.mid)
            guard widths.count <= mids.count, widths.allSatisfy({ mids.contains($0.key) }) else {
                throw .invalidCommand("Tile widths name only this participant's video slots (their mids).")
            }
            guard widths.values.allSatisfy({ (0...SessionCommand.maxTileWidth).contains($0) }) else {
                throw .invalidCommand("A tile width is 0 to \(SessionCommand.maxTileWidth) device pixels.")
            }
            for (index, mid) in mids.enumerated() where index < p.subscriber.video.count {
                if let width = widths[mid] { p.subscriber.video[index].renderedWidth = width }
            }
            // Decided at the next feedback, not after the allocation interval;
            // without transport-cc, now.
            p.subscriber.nextAllocation = now
            fitLayersToTiles(p, now: now)
            return
        case .setScreenSharing(let sharing):
            if sharing {
                guard p.role.runsSession || model.participantsMayShare else { throw .screenShareNotAllowed }
                guard p.screen != nil else {
                    throw .invalidCommand("Your offer has no screen-share section (a=content:slides).")
                }
                if let room = table.members[actor]?.room, let other = table.sharer(in: room), other != actor {
                    throw .screenBusy(other)
                }
            }
            changed.formUnion(table.setSharing(actor, sharing))
        case .allowScreenSharing(let allowed):
            model.participantsMayShare = allowed
            // Taking the right back stops the participants' shares at once.
            if !allowed {
                for (id, member) in table.members.sorted(by: { $0.key < $1.key }) where member.sharing {
                    if session.participants[id]?.role.runsSession == false { changed.formUnion(table.setSharing(id, false)) }
                }
            }
        case .chat(let text):
            guard SessionCommand.isAcceptableText(text) else {
                throw .invalidCommand("A chat line is 1 to \(SessionCommand.maxTextLength) characters and at most \(SessionCommand.maxTextBytes) bytes.")
            }
            guard let room = table.members[actor]?.room else { return }
            let recipients = table.members(of: room).filter { !model.waiting.contains($0) }
            try spendFanOut(of: p, bytes: text.utf8.count, recipients: recipients.count, now: now)
            delegate?.engine(message: .chat(from: actor, fromName: p.name, text: text), recipients: recipients,
                             session: session.id)
            return
        }

        session.table = table
        session.model = model
        recordHostAction(command, by: p, in: session, now: now)
        recordRoomChanges(in: session, from: before, now: now)
        for room in rosterRooms.sorted() { announceRoster(room: room, in: session) }
        applySlotChanges(changed, in: session, from: before, now: now, except: nil)
        for (id, reason) in removals { remove(id, reason: reason, now: now) }
        // "Close now" takes effect with the command, not at the next tick (and sends the one view).
        if case .closeRooms(0) = command {
            finishClosingRooms(now: now)
        } else if sessions[session.id] === session {
            publishSessionView(session, now: now)
        }
    }

    /// Sends the session views whose coalescing interval has passed.
    func publishPendingSessionViews(now: Instant) {
        for session in Array(sessions.values) {
            if let due = session.viewDue, due <= now { publishSessionView(session, now: now) }
        }
    }

    /// Brings everyone back when a close countdown has run out.
    func finishClosingRooms(now: Instant) {
        for session in sessions.values {
            guard let at = session.model.closingAt, at <= now else { continue }
            let before = session.table
            var table = before
            var changed: Set<ParticipantID> = []
            for id in table.members.keys.sorted() where !session.isWaiting(id) {
                changed.formUnion(table.setListening(id, to: nil))
                changed.formUnion(table.move(id, to: .main))
            }
            session.table = table
            session.model.open = false
            session.model.closingAt = nil
            session.model.openedAt = nil
            session.model.breakouts = []
            session.model.assignments = [:]
            session.model.nextRoomNumber = 1
            recordRoomChanges(in: session, from: before, now: now)
            announceRoster(room: .main, in: session)
            applySlotChanges(changed, in: session, from: before, now: now, except: nil)
            publishSessionView(session, now: now)
        }
    }

    /// Sends `participant` the current view of its session and who is
    /// speaking in its room (a joiner, whose connection was registered after
    /// both went out to the others; `speaking` is otherwise sent only on change).
    public func resendSessionView(to participant: ParticipantID, now: Instant) {
        guard let session = self.participant(participant)?.session else { return }
        publishSessionView(session, now: now, only: participant)
        guard let member = session.table.members[participant], member.receives, !session.isWaiting(participant),
              let speaking = session.speakers[member.room], !speaking.isEmpty else { return }
        delegate?.engine(message: .speaking(speaking), recipients: [participant], session: session.id)
    }

    /// Commands one participant may send at once, and then per second.
    static let commandBurst: Double = 20
    static let commandsPerSecond: Double = 10
    /// Bytes of chat and broadcast times their recipients one participant
    /// may cause at once (a longest broadcast to a full session fits), and
    /// then per second.
    static let fanOutBurstBytes: Double = 1_000_000
    static let fanOutBytesPerSecond: Double = 128_000

    /// Charges `p` for sending `bytes` of text (plus the message around it) to `recipients`.
    private func spendFanOut(of p: Participant, bytes: Int, recipients: Int, now: Instant) throws(SFUError) {
        guard p.fanOutBudget.take(Double((bytes + 128) * recipients), now: now) else {
            counters.commandsRateLimited += 1
            throw .rateLimited("Too much chat or broadcast text at once; wait a few seconds.")
        }
    }

    /// Session views a session's members may be sent at once, and then per
    /// second: a change goes out at once while the budget lasts; beyond it,
    /// changes wait and go out together in the next view, whole and current.
    /// So a storm of changes (hand toggles, joins, moves) costs each member
    /// at most five views a second, while a host's few clicks show at once.
    static let viewBurst: Double = 5
    static let viewsPerSecond: Double = 5

    /// Sends every participant of `session` the current view of it, now or
    /// coalesced (`viewBurst`); or `only` one participant at once, without a
    /// new version.
    func publishSessionView(_ session: Session, now: Instant, only: ParticipantID? = nil) {
        timersChanged()  // `viewDue`
        if only == nil {
            guard session.viewBudget.take(now: now) else {
                session.viewPending = true
                return
            }
            session.viewPending = false
        }
        let table = session.table
        if only == nil { session.model.version += 1 }
        let model = session.model
        var rooms = [SessionView.Room(id: .main, name: "Main room", members: table.members(of: .main), listeners: [])]
        rooms += model.breakouts.map {
            SessionView.Room(id: $0.id, name: $0.name, members: table.members(of: $0.id), listeners: [])
        }
        for i in rooms.indices {
            rooms[i].listeners = table.members.filter { $0.value.listening == rooms[i].id }.map(\.key).sorted()
            rooms[i].screen = table.sharer(in: rooms[i].id)
        }
        let closing = model.closingAt.map { Int(max(0, ($0 - now).nanoseconds + 999_999_999) / 1_000_000_000) }
        let openFor = model.open ? model.openedAt.map { Int(max(0, (now - $0).nanoseconds) / 1_000_000_000) } : nil
        let waiting = model.waiting.compactMap { id in
            session.participants[id].map { RosterMember(participantId: id, name: $0.name, role: $0.role, room: .waiting) }
        }
        var base = SessionView(version: model.version, rooms: rooms, breakoutsOpen: model.open, closingInSeconds: closing,
                               openForSeconds: openFor, assignments: model.assignments, waiting: [],
                               muted: table.members.filter { $0.value.audioMuted }.map(\.key).sorted(),
                               handsRaised: model.hands,
                               names: table.members.keys.filter { !model.waiting.contains($0) }
                                   .reduce(into: [:]) { $0[$1] = session.participants[$1]?.name })
        base.participantsMayShare = model.participantsMayShare ? true : nil
        base.microphoneOff = model.microphoneOff.isEmpty ? nil : model.microphoneOff.sorted()
        for id in table.members.keys.sorted() where only == nil || only == id {
            guard let p = session.participants[id] else { continue }
            var view = base
            if p.role.runsSession {
                view.waiting = waiting
                view.removed = model.removed.map(\.view)
            } else if model.waiting.contains(id) {
                // A waiting person learns nothing of the session: only that it waits.
                view = SessionView(version: model.version, rooms: [], breakoutsOpen: false, closingInSeconds: nil,
                                   assignments: [:], waiting: waiting.filter { $0.participantId == id },
                                   muted: [], handsRaised: [], names: [:])
            } else {
                view.waiting = []
            }
            delegate?.engine(sessionChanged: view, recipient: id, session: session.id)
        }
    }

    /// Who is where, for tests and the load test's isolation check.
    public func placement(session: String) -> [ParticipantID: (room: RoomID, listening: RoomID?)] {
        (sessions[session]?.table.members ?? [:]).mapValues { ($0.room, $0.listening) }
    }
}
