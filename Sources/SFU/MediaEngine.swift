import DTLS
import RTP
import SDP
import SRTP
import STUN
import Wire

/// The sans-IO media engine behind one UDP socket: every `Session` on one
/// event loop, and the indexes that find a participant for a datagram.
///
/// The receive path is a ladder of guard clauses (STYLE.md): classify by
/// first byte (RFC 7983), find the participant (by ICE ufrag for STUN, by
/// validated address for everything else), then ICE, DTLS or SRTP, then
/// route. Every early return counts its reason. Runs on its loop only.
public final class MediaEngine: DatagramEngine {
    /// Settings.
    public var configuration: EngineConfiguration
    /// Where events go (the control plane).
    public weak var delegate: MediaEngineDelegate?
    /// Counters for metrics and tests.
    public internal(set) var counters = EngineCounters()
    /// ICE and DTLS handshake times not yet taken by a metrics scrape.
    var handshakes = HandshakeTimes()

    /// The sessions on this loop, each owning its members, table and mixers.
    var sessions: [String: Session] = [:]
    /// Demultiplexing: STUN finds its participant by our ICE ufrag ...
    var byUfrag: [String: Participant] = [:]
    /// ... everything else by an address that passed ICE.
    var byAddress: [StunAddress: Participant] = [:]
    /// The receive path's working copy of a packet (decrypted in place),
    /// reused for every packet.
    var receiveScratch: [UInt8] = []
    private var nextSourceKey: UInt32 = 1
    var nextSpeakerCheck: Instant = .zero
    /// When published streams are next sampled for the records (`sampleFlows`).
    var nextFlowSample: Instant = .zero
    var nextTick: Instant?
    /// Each participant's and each session's next deadline (`MediaEngine+Timers`).
    var participantTimers = DeadlineHeap<Participant>()
    var sessionTimers = DeadlineHeap<Session>()
    /// Some deadline may have moved outside the receive path: the heaps are
    /// rebuilt before they are next read.
    var timersStale = true
    /// The participants a timeout handles, reused.
    var dueParticipants: [Participant] = []
    var random = SystemRandomNumberGenerator()
    static let tick = TimeSpan.milliseconds(100)

    /// Creates an engine.
    public init(configuration: EngineConfiguration) {
        self.configuration = configuration
        receiveScratch.reserveCapacity(2_048)
    }

    deinit {
        // Members reference their session and cached routes reference members; break those cycles.
        for s in sessions.values {
            s.forgetRoutes()
            s.participants = [:]
        }
    }

    /// The participant `id` of any session on this loop.
    func participant(_ id: ParticipantID) -> Participant? {
        for s in sessions.values { if let p = s.participants[id] { return p } }
        return nil
    }

    // MARK: Control

    /// Adds a participant from its offer and returns our answer.
    public func join(_ request: JoinRequest, now: Instant) throws(SFUError) -> JoinAnswer {
        timersChanged()
        let offer: SessionDescription
        do { offer = try SessionDescription.parse(request.offer) } catch { throw .invalidOffer("\(error)") }
        var plan = try OfferPlan(offer: offer, maxSlots: configuration.maxSlots)
        if !configuration.lossRepair { plan.withoutLossRepair() }
        let session = sessions[request.sessionID] ?? Session(id: request.sessionID)
        if let refusal = session.refusal(of: request, configuration: configuration) { throw refusal }

        let id = "p" + IceCredential.random(length: 10, using: &random)
        var ufrag = IceCredential.random(length: IceLiteAgent.ufragLength, using: &random)
        while byUfrag[ufrag] != nil { ufrag = IceCredential.random(length: IceLiteAgent.ufragLength, using: &random) }
        let ice = IceLiteAgent(localUfrag: ufrag, localPassword: IceCredential.random(length: 24, using: &random),
                               remoteUfrag: plan.remoteUfrag, remotePassword: plan.remotePassword,
                               tieBreaker: UInt64.random(in: 0...UInt64.max, using: &random))
        let p = Participant(id: id, session: session, name: request.name, role: request.role, entryRoom: request.room,
                            identity: request.identity, plan: plan, ice: ice, sourceKey: nextSourceKey, now: now,
                            random: &random)
        nextSourceKey &+= 1
        p.answerOrigin.id = UInt64.random(in: 1...UInt64(Int64.max), using: &random)
        p.subject = request.subject
        if !configuration.lossRepair {
            if let count = p.video?.layers.count { for i in 0..<count { p.video?.layers[i].cache = nil } }
            p.screen?.layers[0].cache = nil
        }
        if plan.dtlsServer {
            do {
                p.dtls = try DTLSEndpoint(role: .server, certificate: configuration.certificate,
                                          remoteFingerprint: plan.remoteFingerprint, now: now)
            } catch { throw .internalFailure("DTLS: \(error)") }
        }
        sessions[request.sessionID] = session
        session.participants[id] = p
        byUfrag[ufrag] = p
        // The waiting room: a participant is in no room of the session, and
        // neither sends nor receives, until a host admits it. A token's room
        // that cannot be entered now (not created, not open) means main.
        let waits = configuration.waitingRoom && !request.role.runsSession
        let room: RoomID = waits ? .waiting : session.model.entry(for: request.room)
        let before = session.table
        var table = session.table
        var changed = table.add(id, room: room, audioSlots: p.subscriber.audio.count,
                                videoSlots: p.subscriber.video.count, screenSlots: p.subscriber.screen.count,
                                receives: !waits, publishes: !waits)
        if request.mixedAudio && !p.subscriber.audio.isEmpty { changed.formUnion(table.setMixedAudio(id, true)) }
        session.table = table
        if waits { session.model.waiting.append(id) }
        recordJoin(p, now: now)
        let answer = AnswerBuilder(ufrag: ufrag, password: ice.localPassword, fingerprint: configuration.certificate.fingerprint,
                                   candidateHost: configuration.candidateHost, candidatePort: configuration.candidatePort,
                                   participantID: id, tcpCandidatePort: configuration.candidateTCPPort)
            .answer(for: plan, slotSSRCs: p.subscriber.slotSSRCs, videoSlotRTXSSRCs: p.subscriber.video.map { $0.rtx?.ssrc },
                    screenSlotRTXSSRCs: p.subscriber.screen.map { $0.rtx?.ssrc }, sessionVersion: p.answerOrigin.id)
        // Roster first, so clients know a name before a slot shows it.
        announceRoster(room: room, in: session)
        applySlotChanges(changed, in: session, from: before, now: now, except: id)
        publishSessionView(session, now: now)
        armTick(now)
        return JoinAnswer(participantID: id, room: room, answer: answer, slots: slotMap(of: p),
                          slotsVersion: p.subscriber.slotsVersion,
                          roster: waits ? [RosterMember(participantId: id, name: p.name, role: p.role, room: .waiting)]
                                        : roster(room: room, in: session))
    }

    /// Removes a participant and tells the others.
    public func remove(_ id: ParticipantID, reason: RemovalReason, now: Instant) {
        guard let p = participant(id) else { return }
        timersChanged()
        participantTimers.schedule(p, at: nil)
        let session = p.session
        record(.left(recordPerson(p), reason: reason.rawValue), session: session, at: now)
        session.participants[id] = nil
        for ufrag in p.ice.answeredUfrags where byUfrag[ufrag] === p { byUfrag[ufrag] = nil }
        // Every address that maps to it (the agent reports each one it forgets,
        // so `validated` is all of them): no datagram reaches its DTLS or SRTP again.
        for address in p.ice.validated where byAddress[address] === p { byAddress[address] = nil }
        session.forgetRoutes()
        p.routes = nil
        let before = session.table
        let room = before.members[id]?.room
        let changed = session.table.remove(id)
        session.model.forget(id)
        if session.table.members.isEmpty {
            syncMixers(session)  // drops the session's mixers
            sessions[session.id] = nil
        }
        delegate?.engine(removed: id, reason: reason, session: session.id)
        guard sessions[session.id] != nil else { return }
        if let room { announceRoster(room: room, in: session) }
        applySlotChanges(changed, in: session, from: before, now: now, except: nil)
        publishSessionView(session, now: now)
    }

    /// The slot map of a participant, for the client.
    func slotMap(of p: Participant) -> [SlotAssignment] {
        let session = p.session
        guard let member = session.table.members[p.id] else { return [] }
        var out: [SlotAssignment] = []
        for kind in TrackKind.allCases {
            for (i, slot) in p.plan.slots(kind).enumerated() {
                switch session.table.fill(of: p.id, kind: kind, index: i) {
                case .mix(let room):
                    out.append(SlotAssignment(mid: slot.mid, kind: .audio, participantId: nil, name: nil,
                                              isMix: true, room: room == member.room ? nil : room))
                case .publisher(let who):
                    let after = kind.isVideo ? p.subscriber[kind][i].switchedAfter : nil
                    out.append(SlotAssignment(mid: slot.mid, kind: kind, participantId: who,
                                              name: session.participants[who]?.name, after: after))
                case nil:
                    out.append(SlotAssignment(mid: slot.mid, kind: kind, participantId: nil, name: nil))
                }
            }
        }
        return out
    }

    /// Who is in `room` of `session`.
    public func roster(room: RoomID, session: String) -> [RosterMember] {
        sessions[session].map { roster(room: room, in: $0) } ?? []
    }

    func roster(room: RoomID, in session: Session) -> [RosterMember] {
        session.table.members(of: room).compactMap { id in
            session.participants[id].map { RosterMember(participantId: id, name: $0.name, role: $0.role, room: room) }
        }
    }

    /// Sends `room`'s members its roster. Never for the waiting room: people
    /// waiting are not shown to each other (a host sees them in `session`).
    func announceRoster(room: RoomID, in session: Session) {
        guard room != .waiting else { return }
        delegate?.engine(rosterChanged: roster(room: room, in: session), room: room,
                         recipients: session.table.members(of: room), session: session.id)
    }

    /// Rebases every slot whose source the table changed since `before`, asks
    /// new video sources for a keyframe, and sends the changed subscribers
    /// their new slot maps.
    func applySlotChanges(_ changed: Set<ParticipantID>, in session: Session, from before: RoutingTable, now: Instant,
                          except: ParticipantID?) {
        timersChanged()  // keyframe requests, mixers
        syncMixers(session)
        for id in changed.sorted() {
            guard let sub = session.participants[id], session.table.members[id] != nil else { continue }
            for kind in TrackKind.allCases {
                let old = before.fills(of: id, kind: kind)
                for (i, fill) in session.table.fills(of: id, kind: kind).enumerated() where i < sub.subscriber[kind].count {
                    guard fill != (i < old.count ? old[i] : nil) else { continue }
                    sub.subscriber[kind][i].rebase(filled: fill != nil, waitForKeyframe: kind.isVideo)
                    if case .publisher(let who) = fill { session.participants[who]?.requestKeyframe(of: kind, now: now) }
                }
            }
            sub.subscriber.slotsVersion += 1
            if id != except {
                delegate?.engine(slotsChanged: slotMap(of: sub), version: sub.subscriber.slotsVersion,
                                 participant: id, session: session.id)
            }
        }
    }

    // MARK: DatagramEngine

    /// Handles one datagram (RFC 7983 demultiplexing first).
    public func receive(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        counters.datagramsIn += 1
        let before = transmits.count
        switch PacketClass.classify(datagram) {
        case .stun: receiveSTUN(datagram, from: source, now: now, transmits: &transmits)
        case .dtls: receiveDTLS(datagram, from: source, now: now, transmits: &transmits)
        case .rtp: receiveRTP(datagram, from: source, now: now, transmits: &transmits)
        case .rtcp: receiveRTCP(datagram, from: source, now: now, transmits: &transmits)
        case .unknown: counters.unknownKindDropped += 1
        }
        counters.datagramsOut += transmits.count - before
    }

    /// Handles one datagram in the shell's own buffer: SRTP media, the bulk
    /// of the traffic, is decrypted where it lies instead of in a copy.
    public func receive(lending datagram: inout [UInt8], from source: StunAddress, now: Instant,
                        transmits: inout TransmitQueue) {
        guard PacketClass.classify(datagram) == .rtp else {
            receive(datagram, from: source, now: now, transmits: &transmits)
            return
        }
        counters.datagramsIn += 1
        let before = transmits.count
        receiveRTP(inPlace: &datagram, from: source, now: now, transmits: &transmits)
        counters.datagramsOut += transmits.count - before
    }

    private func receiveSTUN(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        guard let parsed = try? StunParsedMessage(parsing: datagram) else {
            counters.stunDropped += 1
            return
        }
        switch parsed.message.type.messageClass {
        case .request:
            guard let ufrag = IceLiteAgent.localUfrag(of: parsed.message), let p = byUfrag[String(ufrag)] else {
                counters.stunDropped += 1
                return
            }
            switch p.ice.handle(parsed, from: source, now: now) {
            case .drop:
                counters.stunDropped += 1
            case .respond(let bytes):
                transmits.append(bytes, to: source)
            }
            drainICE(p, now: now, transmits: &transmits)
            reschedule(p)
        case .successResponse, .errorResponse:
            // An answer to one of our return-routability checks.
            guard let ufrag = IceLiteAgent.localUfrag(ofResponse: parsed.message), let p = byUfrag[ufrag],
                  p.ice.handleResponse(parsed, from: source, now: now) else {
                counters.stunDropped += 1
                return
            }
            drainICE(p, now: now, transmits: &transmits)
            reschedule(p)
        case .indication:
            counters.stunDropped += 1
        }
    }

    /// Applies what `p`'s ICE agent asks for: its checks go out, addresses it
    /// validated or forgot enter or leave `byAddress`, and a DTLS client
    /// starts once there is an address to send to.
    func drainICE(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        while let output = p.ice.poll() {
            switch output {
            case .transmit(let bytes, let to):
                transmits.append(bytes, to: to)
                counters.routabilityChecksSent += 1
            case .validated(let address):
                byAddress[address] = p
                counters.addressesValidated += 1
                if p.iceConnectedAt == nil {
                    p.iceConnectedAt = now
                    handshakes.record(.ice, now - p.joinedAt)
                }
            case .forgotten(let address):
                if byAddress[address] === p { byAddress[address] = nil }
            case .unverified:
                counters.addressesUnverified += 1
            case .retired(let ufrag):
                // An ICE restart completed: the old credentials find no one.
                if byUfrag[ufrag] === p { byUfrag[ufrag] = nil }
                counters.iceRestartsCompleted += 1
            case .selected:
                // Media moved to a new address (NAT rebinding): what was sent
                // to the old one and dropped from the new one meanwhile is
                // lost beyond repair, so both directions need a keyframe.
                if p.srtp != nil { requestKeyframes(around: p, now: now) }
            }
        }
        if p.dtls == nil && !p.plan.dtlsServer, p.ice.selected != nil, session(of: p) != nil {
            startDTLSClient(p, now: now, transmits: &transmits)
        }
    }

    /// Asks `p` and the video sources of its slots for keyframes.
    func requestKeyframes(around p: Participant, now: Instant) {
        timersChanged()
        p.requestKeyframe(now: now)
        if p.session.table.members[p.id]?.sharing == true { p.requestKeyframe(of: .screen, now: now) }
        for kind in [TrackKind.video, .screen] {
            for case .publisher(let who)? in p.session.table.fills(of: p.id, kind: kind) {
                p.session.participants[who]?.requestKeyframe(of: kind, now: now)
            }
        }
    }

    /// `p`'s session if `p` is still a member of it.
    private func session(of p: Participant) -> Session? {
        p.session.participants[p.id] === p ? p.session : nil
    }

    private func startDTLSClient(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        do {
            p.dtls = try DTLSEndpoint(role: .client, certificate: configuration.certificate,
                                      remoteFingerprint: p.plan.remoteFingerprint, now: now)
            drainDTLS(p, now: now, transmits: &transmits)
        } catch {
            remove(p.id, reason: .dtlsFailed, now: now)
        }
    }

    private func receiveDTLS(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        guard let p = byAddress[source], let dtls = p.dtls else {
            counters.unknownSourceDropped += 1
            return
        }
        dtls.receive(datagram, now: now)
        drainDTLS(p, now: now, transmits: &transmits)
        reschedule(p)
    }

    func drainDTLS(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        guard let dtls = p.dtls else { return }
        while let output = dtls.poll() {
            switch output {
            case .transmit(let bytes):
                if let to = p.ice.selected { transmits.append(bytes, to: to) }
            case .event(.connected(let keys)):
                do {
                    p.srtp = try SRTPContext(keyingMaterial: keys, role: dtls.role == .server ? .dtlsServer : .dtlsClient)
                    handshakes.record(.dtls, now - (p.iceConnectedAt ?? p.joinedAt))
                    // Keyframes sent before this subscriber had keys never
                    // reached it: ask its video sources (and it) for new ones.
                    requestKeyframes(around: p, now: now)
                    delegate?.engine(mediaConnected: p.id, session: p.session.id)
                } catch {
                    remove(p.id, reason: .dtlsFailed, now: now)
                    return
                }
            case .event(.failed):
                remove(p.id, reason: .dtlsFailed, now: now)
                return
            case .event(.closed):
                guard configuration.keepsClosedMedia else {
                    remove(p.id, reason: .mediaClosed, now: now)
                    return
                }
                // Kept without media until its page comes back (a reload) or
                // its consent or grace ends: nothing more goes to the closed association.
                p.dtls = nil
                p.srtp = nil
                counters.mediaClosedKept += 1
                timersChanged()
                return
            case .event(.applicationData):
                break  // no data channels
            }
        }
    }

    /// Runs timers: DTLS retransmissions, consent expiry, PLIs, RTCP reports.
    /// On the engine tick every participant is visited (consent, reports);
    /// between ticks only the participants and sessions whose timers are due.
    public func handleTimeout(now: Instant, transmits: inout TransmitQueue) {
        let before = transmits.count
        // Room changes first: the keyframe requests they make go out in this same pass.
        finishClosingRooms(now: now)
        publishPendingSessionViews(now: now)
        announceSpeakers(now: now)
        sampleFlows(now: now)
        if let t = nextTick, t <= now {
            nextTick = nil
            handleEveryone(now: now, transmits: &transmits)
            rescheduleAll()
        } else {
            if timersStale { rescheduleAll() }
            handleDueParticipants(now: now, transmits: &transmits)
            handleDueSessions(now: now, transmits: &transmits)
            if timersStale {
                // A removal or a DTLS connection in that pass asked for keyframes: send them now too.
                rescheduleAll()
                handleDueParticipants(now: now, transmits: &transmits)
            }
        }
        armTick(now)
        counters.datagramsOut += transmits.count - before
    }

    /// The engine tick: every participant's timers, consent and reports, then every mixer.
    private func handleEveryone(now: Instant, transmits: inout TransmitQueue) {
        for session in Array(sessions.values) {
            for p in Array(session.participants.values) where session.participants[p.id] === p {
                handleTimers(of: p, onTick: true, now: now, transmits: &transmits)
            }
        }
        tickMixers(now: now, transmits: &transmits)
    }

    private func armTick(_ now: Instant) {
        if nextTick == nil && !sessions.isEmpty { nextTick = now + Self.tick }
    }

    /// The earliest of the engine tick, any mixer's next frame, a close
    /// countdown, a session view, any DTLS retransmission, ICE check,
    /// keyframe request or NACK: the tops of two heaps, not a scan.
    public var nextDeadline: Instant? {
        if timersStale { rescheduleAll() }
        var earliest = nextTick
        if let d = participantTimers.earliest(), earliest == nil || d < earliest! { earliest = d }
        if let d = sessionTimers.earliest(), earliest == nil || d < earliest! { earliest = d }
        return earliest
    }
}
