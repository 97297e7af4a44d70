import DTLS
import RTP
import SDP
import SRTP
import STUN
import Wire

/// The sans-IO media engine behind one UDP socket: every session on one
/// event loop, their participants, and the routing between them.
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

    // Any change to these can change where a packet goes, so it moves the
    // routing generation and publishers rebuild their cached routes.
    var sessions: [String: RoutingTable] = [:] { didSet { routingGeneration &+= 1 } }
    var models: [String: SessionModel] = [:]
    var mixes: [MixKey: RoomMix] = [:] { didSet { routingGeneration &+= 1 } }
    var speakers: [MixKey: [ParticipantID]] = [:]
    var nextSpeakerCheck: Instant = .zero
    var participants: [ParticipantID: Participant] = [:] { didSet { routingGeneration &+= 1 } }
    /// Grows with every change to sessions, mixes or participants; see `PublisherRoutes`.
    private(set) var routingGeneration: UInt64 = 0
    /// The receive path's working copy of a packet (decrypted in place),
    /// reused for every packet.
    var receiveScratch: [UInt8] = []
    var byUfrag: [String: Participant] = [:]
    var byAddress: [StunAddress: Participant] = [:]
    var bySourceKey: [UInt32: Participant] = [:]
    private var nextSourceKey: UInt32 = 1
    private var mixKeyCounter: UInt32 = 0

    /// Source keys of mixes count down from the top, apart from participants' keys.
    func nextMixKey() -> UInt32 {
        mixKeyCounter &+= 1
        return UInt32.max &- mixKeyCounter
    }
    var nextTick: Instant?
    var random = SystemRandomNumberGenerator()
    static let tick = TimeSpan.milliseconds(100)

    /// Creates an engine.
    public init(configuration: EngineConfiguration) {
        self.configuration = configuration
        receiveScratch.reserveCapacity(2_048)
    }

    deinit {
        // Cached routes reference participants; break those cycles.
        for p in participants.values { p.routes = nil }
    }

    // MARK: Control

    /// Adds a participant from its offer and returns our answer.
    public func join(_ request: JoinRequest, now: Instant) throws(SFUError) -> JoinAnswer {
        let offer: SessionDescription
        do { offer = try SessionDescription.parse(request.offer) } catch { throw .invalidOffer("\(error)") }
        let plan = try OfferPlan(offer: offer, maxSlots: configuration.maxSlots)
        var table = sessions[request.sessionID] ?? RoutingTable()
        guard table.members.count < configuration.maxParticipantsPerSession else { throw .sessionFull }

        let id = "p" + IceCredential.random(length: 10, using: &random)
        let ufrag = IceCredential.random(length: 8, using: &random)
        let ice = IceLiteAgent(localUfrag: ufrag, localPassword: IceCredential.random(length: 24, using: &random),
                               remoteUfrag: plan.remoteUfrag)
        let p = Participant(id: id, sessionID: request.sessionID, name: request.name, role: request.role,
                            plan: plan, ice: ice, sourceKey: nextSourceKey, now: now, random: &random)
        nextSourceKey &+= 1
        if plan.dtlsServer {
            do {
                p.dtls = try DTLSEndpoint(role: .server, certificate: configuration.certificate,
                                          remoteFingerprint: plan.remoteFingerprint, now: now)
            } catch { throw .internalFailure("DTLS: \(error)") }
        }
        participants[id] = p
        byUfrag[ufrag] = p
        bySourceKey[p.sourceKey] = p
        // The waiting room: a participant neither sends nor receives until a host admits it.
        let waits = configuration.waitingRoom && !Self.isHost(request.role)
        var changed = table.add(id, room: request.room, audioSlots: p.audioSlots.count, videoSlots: p.videoSlots.count,
                                receives: !waits, publishes: !waits)
        if request.mixedAudio && !p.audioSlots.isEmpty { changed.formUnion(table.setMixedAudio(id, true)) }
        sessions[request.sessionID] = table
        if waits { models[request.sessionID, default: SessionModel()].waiting.append(id) }
        let answer = AnswerBuilder(ufrag: ufrag, password: ice.localPassword, fingerprint: configuration.certificate.fingerprint,
                                   candidateHost: configuration.candidateHost, candidatePort: configuration.candidatePort,
                                   participantID: id)
            .answer(for: plan, slotSSRCs: [.audio: p.audioSlots.map(\.ssrc), .video: p.videoSlots.map(\.ssrc)],
                    sessionVersion: UInt64.random(in: 1...UInt64(Int64.max), using: &random))
        // Roster first, so clients know a name before a slot shows it.
        announceRoster(room: request.room, session: request.sessionID)
        applySlotChanges(changed, session: request.sessionID, now: now, except: id)
        publishSessionView(request.sessionID, now: now)
        armTick(now)
        return JoinAnswer(participantID: id, room: request.room, answer: answer, slots: slotMap(of: p),
                          slotsVersion: p.slotsVersion, roster: roster(room: request.room, session: request.sessionID))
    }

    /// Removes a participant and tells the others.
    public func remove(_ id: ParticipantID, reason: RemovalReason, now: Instant) {
        guard let p = participants.removeValue(forKey: id) else { return }
        byUfrag[p.ice.localUfrag] = nil
        bySourceKey[p.sourceKey] = nil
        for address in p.ice.validated where byAddress[address] === p { byAddress[address] = nil }
        p.routes = nil
        forgetRoutes(session: p.sessionID)
        guard var table = sessions[p.sessionID] else { return }
        let room = table.members[id]?.room
        let changed = table.remove(id)
        sessions[p.sessionID] = table.members.isEmpty ? nil : table
        models[p.sessionID]?.forget(id)
        if table.members.isEmpty {
            models[p.sessionID] = nil
            syncMixers(session: p.sessionID)  // drops the session's mixers
        }
        delegate?.engine(removed: id, reason: reason, session: p.sessionID)
        if let room { announceRoster(room: room, session: p.sessionID) }
        applySlotChanges(changed, session: p.sessionID, now: now, except: nil)
        publishSessionView(p.sessionID, now: now)
    }

    /// The slot map of a participant, for the client.
    func slotMap(of p: Participant) -> [SlotAssignment] {
        guard let table = sessions[p.sessionID], let member = table.members[p.id] else { return [] }
        var out: [SlotAssignment] = []
        let mixed = table.mixedSlots(of: p.id)
        for kind in TrackKind.allCases {
            let filled = kind == .audio ? member.audioSlots : member.videoSlots
            for (i, slot) in p.plan.slots(kind).enumerated() {
                if kind == .audio, let mix = mixed.first(where: { $0.slot == i }) {
                    out.append(SlotAssignment(mid: slot.mid, kind: .audio, participantId: nil, name: nil,
                                              isMix: true, room: mix.room == member.room ? nil : mix.room))
                    continue
                }
                let who = i < filled.count ? filled[i] : nil
                out.append(SlotAssignment(mid: slot.mid, kind: kind, participantId: who,
                                          name: who.flatMap { participants[$0]?.name }))
            }
        }
        return out
    }

    /// Who is in `room`.
    public func roster(room: RoomID, session: String) -> [RosterMember] {
        (sessions[session]?.members(of: room) ?? []).compactMap { id in
            participants[id].map { RosterMember(participantId: id, name: $0.name, role: $0.role, room: room) }
        }
    }

    func announceRoster(room: RoomID, session: String) {
        let members = sessions[session]?.members(of: room) ?? []
        delegate?.engine(rosterChanged: roster(room: room, session: session), room: room,
                         recipients: members, session: session)
    }

    /// Points each changed subscriber's slots at their new sources, asks new
    /// video sources for a keyframe, and sends the new slot maps.
    func applySlotChanges(_ changed: Set<ParticipantID>, session: String, now: Instant, except: ParticipantID?) {
        guard let table = sessions[session] else { return }
        syncMixers(session: session)
        for id in changed {
            guard let sub = participants[id], let member = table.members[id] else { continue }
            let mixed = table.mixedSlots(of: id)
            for (i, who) in member.audioSlots.enumerated() where i < sub.audioSlots.count {
                // A mixed listener's mix slots carry room mixes (see
                // `RoutingTable.mixedSlots`); the table fills none of its others.
                let key = if let mix = mixed.first(where: { $0.slot == i }) {
                    mixes[MixKey(session: session, room: mix.room)]?.sourceKey
                } else {
                    who.flatMap { participants[$0]?.sourceKey }
                }
                sub.audioSlots[i].switchTo(key, waitForKeyframe: false)
            }
            for (i, who) in member.videoSlots.enumerated() where i < sub.videoSlots.count {
                let key = who.flatMap { participants[$0]?.sourceKey }
                if key != sub.videoSlots[i].source, let who, let publisher = participants[who] {
                    publisher.pliPending = true
                }
                sub.videoSlots[i].switchTo(key, waitForKeyframe: true)
            }
            sub.slotsVersion += 1
            if id != except {
                delegate?.engine(slotsChanged: slotMap(of: sub), version: sub.slotsVersion, participant: id, session: session)
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

    private func receiveSTUN(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        guard let parsed = try? StunParsedMessage(parsing: datagram),
              let ufrag = IceLiteAgent.localUfrag(of: parsed.message),
              let p = byUfrag[String(ufrag)] else {
            counters.stunDropped += 1
            return
        }
        switch p.ice.handle(parsed, from: source, now: now) {
        case .drop:
            counters.stunDropped += 1
        case .respond(let bytes):
            transmits.append(bytes, to: source)
            if p.ice.isValidated(source), byAddress[source] !== p {
                byAddress[source] = p
            }
            if p.dtls == nil && !p.plan.dtlsServer, p.ice.selected != nil {
                startDTLSClient(p, now: now, transmits: &transmits)
            }
        }
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
                    // Keyframes sent before this subscriber had keys never
                    // reached it: ask its video sources (and it) for new ones.
                    p.pliPending = true
                    for slot in p.videoSlots { if let key = slot.source { bySourceKey[key]?.pliPending = true } }
                    delegate?.engine(mediaConnected: p.id, session: p.sessionID)
                } catch {
                    remove(p.id, reason: .dtlsFailed, now: now)
                    return
                }
            case .event(.failed):
                remove(p.id, reason: .dtlsFailed, now: now)
                return
            case .event(.closed):
                remove(p.id, reason: .mediaClosed, now: now)
                return
            case .event(.applicationData):
                break  // no data channels
            }
        }
    }

    /// Runs timers: DTLS retransmissions, consent expiry, PLIs, RTCP reports.
    public func handleTimeout(now: Instant, transmits: inout TransmitQueue) {
        let before = transmits.count
        for p in Array(participants.values) {
            if let dtls = p.dtls, let deadline = dtls.nextDeadline, deadline <= now {
                dtls.handleTimeout(now: now)
                drainDTLS(p, now: now, transmits: &transmits)
            }
            guard participants[p.id] != nil else { continue }
            if p.ice.consentExpired(now: now, timeout: configuration.consentTimeout, start: p.joinedAt) {
                remove(p.id, reason: .consentExpired, now: now)
                continue
            }
            sendPendingPLI(p, now: now, transmits: &transmits)
            if p.nextReport <= now {
                p.nextReport = now + .seconds(1)
                sendReports(p, now: now, transmits: &transmits)
            }
        }
        finishClosingRooms(now: now)
        announceSpeakers(now: now)
        tickMixers(now: now, transmits: &transmits)
        if let t = nextTick, t <= now { nextTick = nil }
        armTick(now)
        counters.datagramsOut += transmits.count - before
    }

    private func armTick(_ now: Instant) {
        if nextTick == nil && !participants.isEmpty { nextTick = now + Self.tick }
    }

    /// The earliest of the engine tick and any DTLS retransmission deadline.
    public var nextDeadline: Instant? {
        var earliest = nextTick
        for m in mixes.values { if let d = m.mixer.nextDeadline, earliest == nil || d < earliest! { earliest = d } }
        // A close countdown ends on time, not at the next 100 ms tick.
        for (session, m) in models where sessions[session] != nil {
            if let d = m.closingAt, earliest == nil || d < earliest! { earliest = d }
        }
        for p in participants.values {
            if let d = p.dtls?.nextDeadline, earliest == nil || d < earliest! { earliest = d }
        }
        return earliest
    }
}
