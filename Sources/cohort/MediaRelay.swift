import ControlPlane
import DTLS
import Directory
import Foundation
import Logging
import MediaTransport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Records
import Telemetry
import SFU
import Tokens
import Wire

/// Connects the control plane to the media engines: one `MediaEngine` per
/// event loop behind its own UDP socket (port base+i), each therapy session
/// pinned to one of them, so a session's media never crosses threads.
///
/// Signalling calls arrive on any thread and hop to the session's loop with
/// `MediaSocket.perform`; engine events come back on that loop and go out
/// through the participant's `ClientConnection`, which hops to its channel.
final class MediaRelay: SignalingDelegate, MediaEngineDelegate, @unchecked Sendable {
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    private struct State {
        var sockets: [MediaSocket<MediaEngine>] = []
        /// Sessions with members or joins under way, each on one socket; an
        /// entry goes when its last member leaves (issue 14: none kept forever).
        var homes: [String: SessionHome] = [:]
        /// Sessions per socket, to place a new session on the least loaded one.
        var load: [Int] = []
        var connections: [ParticipantID: ClientConnection] = [:]
        var participantHome: [ParticipantID: Int] = [:]
        /// Each participant's session, for `evict` (scale-out).
        var participantSession: [ParticipantID: String] = [:]
        var joinRate = JoinRateLimiter(perMinute: 0)
        /// Resume tokens and grace periods of participants whose WebSocket dropped.
        var resume = ResumeTokens(grace: .seconds(0))
        /// Set at shutdown: joins are refused from then on.
        var draining = false
    }

    /// Where a session lives and how many hold it there.
    private struct SessionHome {
        var socket: Int
        /// Participants the engine admitted and has not removed.
        var members = 0
        /// Joins between placement and the engine's answer.
        var joining = 0
    }

    /// The sizes of the relay's tables, for leak checks in tests.
    struct StateCounts: Equatable {
        var sessions = 0
        var connections = 0
        var participants = 0
        var joinRateAddresses = 0
        var resumeEntries = 0
    }

    /// Limits on joins (issue 14); see `ServeSettings`.
    struct JoinLimits: Sendable {
        /// Places of each session only hosts and co-hosts may take.
        var reservedHostPlaces = 2
        /// Joins of one token identity in a session at once.
        var maxJoinsPerToken = 3
        /// Joins per client address per minute (0: no limit).
        var joinsPerAddressPerMinute = 120
    }

    /// Where the engines' record events go (nil: records off).
    private let records: RecordWriter?
    /// STUN/TURN servers for `joined` (`--ice-servers`). Set once, before the control plane starts.
    var iceServers = IceServerSettings()
    /// The session directory in scale-out mode (nil: one node, every
    /// session here). Set once, before the control plane starts.
    var directory: PostgresDirectory?

    /// - Parameter resumeGrace: seconds a participant whose WebSocket dropped
    ///   keeps its place and may resume (`--resume-grace`); 0: removed at once.
    init(logger: Logger, records: RecordWriter? = nil, resumeGrace: Int = 0) {
        self.logger = logger
        self.records = records
        state.withLockedValue { $0.resume = ResumeTokens(grace: .seconds(Int64(resumeGrace))) }
    }

    /// The relay's clock for grace periods (monotonic).
    private static func uptime() -> Instant { Instant(nanoseconds: NIODeadline.now().uptimeNanoseconds) }

    /// Participants here now, and the sessions running or joining here, for the directory's heartbeat.
    var localStatus: (participants: Int, sessions: [String]) {
        state.withLockedValue { ($0.participantHome.count, Array($0.homes.keys)) }
    }

    /// The connections of the participants of `sessions` here.
    func connections(inSessions sessions: Set<String>) -> [ClientConnection] {
        state.withLockedValue { s in
            s.participantSession.filter { sessions.contains($0.value) }.compactMap { s.connections[$0.key] }
        }
    }

    /// Ends resume for the participants of `sessions` (they are evicted):
    /// their WebSockets' closes then remove them at once. Returns those away
    /// now, with no WebSocket to close, for the caller to remove.
    func withdrawResume(inSessions sessions: Set<String>) -> [ParticipantID] {
        state.withLockedValue { s in
            let ids = s.participantSession.filter { sessions.contains($0.value) }.map(\.key)
            let away = ids.filter { s.resume.isDetached($0) }
            for id in ids { s.resume.withdraw(id) }
            return away
        }
    }

    /// Removes a participant whose session went to another node.
    func removeEvicted(_ id: ParticipantID) async {
        await remove(id, reason: .disconnected)
    }

    /// Whether `session` has members or joins under way here.
    func isRunningHere(_ session: String) -> Bool {
        state.withLockedValue { $0.homes[session] != nil }
    }

    /// The sizes of the relay's tables.
    var stateCounts: StateCounts {
        state.withLockedValue { s in
            StateCounts(sessions: s.homes.count, connections: s.connections.count,
                        participants: s.participantHome.count, joinRateAddresses: s.joinRate.count,
                        resumeEntries: s.resume.counts.participants)
        }
    }

    /// Binds one media socket per loop of `group`, on `host` and consecutive
    /// ports from `port` (0: any free ports), announcing `announce` in candidates.
    func start(group: MultiThreadedEventLoopGroup, host: String, port: Int, announce: String,
               consentTimeout: Int, waitingRoom: Bool, certificate: DTLSCertificate,
               limits: JoinLimits = JoinLimits(), mixSpeakers: Int = 3,
               iceTCP: IceTCPLimits? = IceTCPLimits()) async throws -> [SocketAddress] {
        let zero = UInt64(Date().timeIntervalSince1970 * 1e9) &- NIODeadline.now().uptimeNanoseconds
        var sockets: [MediaSocket<MediaEngine>] = []
        for (i, loop) in group.makeIterator().enumerated() {
            var config = EngineConfiguration(certificate: certificate, candidateHost: announce,
                                             candidatePort: 0, consentTimeout: .seconds(Int64(consentTimeout)),
                                             waitingRoom: waitingRoom, unixNanosecondsAtZero: zero)
            config.reservedHostPlaces = limits.reservedHostPlaces
            config.maxJoinsPerIdentity = limits.maxJoinsPerToken
            config.mixSpeakers = mixSpeakers
            config.cpuClock = threadCPUNanoseconds
            // With resume on, a reloaded page's closed DTLS keeps its place for the grace.
            config.keepsClosedMedia = resumeGraceSeconds > 0
            let configuration = config
            let socket = try await MediaSocket.bind(host: host, port: port == 0 ? 0 : port + i, on: loop, iceTCP: iceTCP,
                                                    logger: logger) {
                [unowned self] in
                let engine = MediaEngine(configuration: configuration)
                engine.delegate = self
                return engine
            }.get()
            let bound = UInt16(socket.localAddress.port ?? 0)
            let tcpBound = socket.tcpLocalAddress.flatMap(\.port).map(UInt16.init)
            try await socket.perform { engine, _, _ in
                engine.configuration.candidatePort = bound
                engine.configuration.candidateTCPPort = tcpBound
            }.get()
            sockets.append(socket)
        }
        state.withLockedValue {
            $0.sockets = sockets
            $0.load = Array(repeating: 0, count: sockets.count)
            $0.joinRate = JoinRateLimiter(perMinute: limits.joinsPerAddressPerMinute)
        }
        if logger.logLevel <= .debug {
            for (i, socket) in sockets.enumerated() {
                let logger = self.logger
                socket.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(2), delay: .seconds(2)) { _ in
                    _ = socket.perform { engine, _, _ in
                        logger.debug("engine counters", metadata: ["loop": "\(i)", "counters": "\(engine.counters)"])
                        for estimate in engine.downlinkEstimates {
                            logger.debug("downlink estimate", metadata: ["loop": "\(i)", "estimate": "\(estimate)"])
                        }
                        for m in engine.mixerCounters {
                            logger.debug("mixer counters", metadata: ["loop": "\(i)", "room": "\(m.room)",
                                                                      "mixer": "\(m.mixer)", "buffers": "\(m.buffers)"])
                        }
                    }
                }
            }
        }
        return sockets.map(\.localAddress)
    }

    /// The first step of a shutdown: joins already on an open WebSocket are
    /// refused from now on, as new connections are by the closed listener.
    func stopJoins() {
        state.withLockedValue { $0.draining = true }
    }

    /// Every media loop's sample for a metrics scrape, each read on its own
    /// loop (the engines are never touched from another thread), gathered on `loop`.
    func metricsSamples(on loop: any EventLoop) -> EventLoopFuture<[LoopSample]> {
        let sockets = state.withLockedValue { $0.sockets }
        let reads = sockets.map { socket in
            socket.inspect { engine, busy, tcp, udp in
                LoopSample(engine: engine.metricsSnapshot(), busyNanoseconds: busy, iceTCP: tcp, socket: udp)
            }
        }
        return EventLoopFuture.whenAllSucceed(reads, on: loop)
    }

    /// Ends all media for a shutdown: every participant gets RTCP BYE for
    /// the streams it receives (`MediaEngine.shutDown`), and the engines
    /// forget everyone, so the WebSocket closes that follow change nothing.
    func shutDownMedia() async {
        let sockets = state.withLockedValue { $0.sockets }
        for s in sockets {
            _ = try? await s.perform { engine, now, transmits in engine.shutDown(now: now, transmits: &transmits) }.get()
        }
    }

    /// Closes the media sockets.
    func stop() async {
        let sockets = state.withLockedValue { $0.sockets }
        for s in sockets { try? await s.close().get() }
    }

    /// The socket a session lives on (the least loaded one when it first
    /// appears), holding the session there for one join until `joinEnded`.
    private func home(of session: String) -> (Int, MediaSocket<MediaEngine>)? {
        state.withLockedValue { s in
            guard !s.sockets.isEmpty else { return nil }
            if s.homes[session] == nil {
                let i = s.load.indices.min { s.load[$0] < s.load[$1] }!
                s.homes[session] = SessionHome(socket: i)
                s.load[i] += 1
            }
            s.homes[session]!.joining += 1
            return (s.homes[session]!.socket, s.sockets[s.homes[session]!.socket])
        }
    }

    /// A join of `session` ended: admitted (a member now) or refused.
    private static func joinEnded(_ session: String, admitted: Bool, in s: inout State) {
        guard var home = s.homes[session] else { return }
        home.joining -= 1
        if admitted { home.members += 1 }
        release(session, home, in: &s)
    }

    /// Stores `home`, or forgets the session once nobody holds it.
    private static func release(_ session: String, _ home: SessionHome, in s: inout State) {
        if home.members <= 0 && home.joining <= 0 {
            s.homes[session] = nil
            s.load[home.socket] -= 1
        } else {
            s.homes[session] = home
        }
    }

    /// Who a token is, for the joins-per-token limit: its `sub`, or else
    /// its claims (two tokens with the same claims are the same grant).
    static func identity(of claims: TokenClaims) -> String {
        if let sub = claims.subject { return "sub:\(claims.session):\(sub)" }
        return "claims:\(claims.session)|\(claims.room)|\(claims.name)|\(claims.role.rawValue)|\(claims.issuedAt)|"
            + "\(claims.expiresAt)|\(claims.notBefore.map(String.init) ?? "")"
    }

    // MARK: SignalingDelegate

    func join(_ request: AuthorizedJoin, connection: ClientConnection) async throws(SignalingError) -> JoinResult {
        guard !state.withLockedValue({ $0.draining }) else {
            throw SignalingError(code: .busy, message: "the server is shutting down; join again after its server-shutdown notice's retryAfter")
        }
        if let address = connection.remoteAddress?.ipAddress {
            let now = Self.uptime()
            guard state.withLockedValue({ $0.joinRate.allow(address, now: now) }) else {
                logger.info("join refused", metadata: ["code": "join-rate-limited", "address": "\(address)"])
                throw SignalingError(code: .joinRateLimited,
                                     message: "Too many joins from this address in the last minute; try again shortly.")
            }
        }
        let sessionID = request.claims.session
        if let directory { try await route(sessionID, through: directory) }
        guard let (index, socket) = home(of: sessionID) else {
            throw SignalingError(code: .internalError, message: "media is not running")
        }
        let join = JoinRequest(sessionID: sessionID, room: RoomID(request.claims.room),
                               name: request.displayName, role: Self.role(request.claims.role), offer: request.offer,
                               mixedAudio: request.audioMode == .mix, identity: Self.identity(of: request.claims),
                               subject: request.claims.subject)
        let result: Result<(JoinAnswer, String?), SFUError>
        do {
            result = try await socket.perform { [state] engine, now, _ in
                do throws(SFUError) {
                    let answer = try engine.join(join, now: now)
                    // Registered on the engine's loop, before any later event for it.
                    let resumeToken = state.withLockedValue { s -> String? in
                        s.connections[answer.participantID] = connection
                        s.participantHome[answer.participantID] = index
                        s.participantSession[answer.participantID] = sessionID
                        Self.joinEnded(sessionID, admitted: true, in: &s)
                        return s.resume.enabled ? s.resume.issue(participant: answer.participantID, session: sessionID) : nil
                    }
                    engine.resendSessionView(to: answer.participantID, now: now)
                    return .success((answer, resumeToken))
                } catch {
                    return .failure(error)
                }
            }.get()
        } catch {
            state.withLockedValue { Self.joinEnded(sessionID, admitted: false, in: &$0) }
            throw SignalingError(code: .internalError, message: "engine unavailable")
        }
        switch result {
        case .failure(let e):
            state.withLockedValue { Self.joinEnded(sessionID, admitted: false, in: &$0) }
            logger.info("join refused", metadata: ["code": "\(e.code)", "session": "\(join.sessionID)"])
            throw SignalingError(code: ErrorCode(e.code), message: e.message)
        case .success(let (a, resumeToken)):
            logger.info("joined", metadata: ["participant": "\(a.participantID)", "session": "\(join.sessionID)",
                                             "room": "\(a.room)", "role": "\(join.role.rawValue)"])
            return JoinResult(participantId: a.participantID, room: a.room.rawValue, answer: a.answer,
                              slots: Self.slotMap(a.slots), roster: a.roster.map(Self.rosterEntry),
                              slotsVersion: a.slotsVersion,
                              iceServers: iceServers.servers(for: a.participantID, unixNow: Int64(Date().timeIntervalSince1970)),
                              resumeToken: resumeToken,
                              resumeGrace: resumeToken == nil ? nil : resumeGraceSeconds)
        }
    }

    func leave(participantId: String, connection: ClientConnection) async {
        await remove(participantId, reason: .left)
    }

    /// The participant's WebSocket closed without `leave`. With resume on and
    /// media connected it stays, media and all, for the grace period
    /// (docs/PROTOCOL.md, `resume`); otherwise it is removed now, as before.
    /// A connection that was already replaced by a resume changes nothing.
    func disconnected(participantId: String, connection: ClientConnection) async {
        enum Outcome { case stale, removeNow, away(until: Instant, socket: MediaSocket<MediaEngine>) }
        let now = Self.uptime()
        let outcome = state.withLockedValue { s -> Outcome in
            guard s.connections[participantId] === connection else { return .stale }
            guard !s.draining, let home = s.participantHome[participantId],
                  let until = s.resume.detach(participantId, now: now) else { return .removeNow }
            s.connections[participantId] = nil
            return .away(until: until, socket: s.sockets[home])
        }
        switch outcome {
        case .stale:
            return
        case .removeNow:
            await remove(participantId, reason: .disconnected)
        case .away(let until, let socket):
            logger.info("participant away", metadata: ["participant": "\(participantId)",
                                                       "graceSeconds": "\(resumeGraceSeconds)"])
            // On the participant's own loop, like every other timer of its session.
            socket.eventLoop.scheduleTask(in: .nanoseconds(Int64((until - now).nanoseconds) + 1_000_000)) { [self] in
                Task { await self.removeExpired() }
            }
        }
    }

    /// Removes the participants whose grace period has ended, still away:
    /// reason `disconnected`, as a dropped WebSocket did before resume.
    func removeExpired() async {
        let due = state.withLockedValue { $0.resume.expired(now: Self.uptime()) }
        for id in due {
            logger.info("participant did not resume in time", metadata: ["participant": "\(id)"])
            await remove(id, reason: .disconnected)
        }
    }

    /// The grace period in seconds.
    var resumeGraceSeconds: Int {
        state.withLockedValue { Int($0.resume.grace.nanoseconds / 1_000_000_000) }
    }

    /// Takes over a participant's signalling (docs/PROTOCOL.md, `resume`):
    /// the token must be its current one; a connection still attached is
    /// closed with `left` `resumed-elsewhere`. The participant's media never stopped.
    func resume(_ request: AuthorizedResume, connection: ClientConnection) async throws(SignalingError) -> ResumeResult {
        guard !state.withLockedValue({ $0.draining }) else {
            throw SignalingError(code: .busy, message: "the server is shutting down; join again after its server-shutdown notice's retryAfter")
        }
        let id = request.participantId
        let now = Self.uptime()
        let outcome = state.withLockedValue { s -> Result<(String, ClientConnection?, MediaSocket<MediaEngine>), ResumeTokens.Refusal> in
            s.resume.redeem(participant: id, token: request.resumeToken, sessions: request.requiredSessions, now: now)
                .flatMap { next in
                    guard let home = s.participantHome[id] else { return .failure(.unknown) }
                    let old = s.connections[id]
                    s.connections[id] = connection
                    return .success((next, old, s.sockets[home]))
                }
        }
        let next: String, old: ClientConnection?, socket: MediaSocket<MediaEngine>
        switch outcome {
        case .success(let r):
            (next, old, socket) = r
        case .failure(.ended(let reason)) where reason == RemovalReason.disconnected.rawValue:
            logger.info("resume refused", metadata: ["participant": "\(id)", "why": "grace period over"])
            throw SignalingError(code: .resumeExpired, message: "the grace period ran out; the participant was removed")
        case .failure(.ended(let reason)):
            logger.info("resume refused", metadata: ["participant": "\(id)", "why": "removed while away (\(reason))"])
            var e = SignalingError(code: .resumeRefused, message: "the participant was removed while away")
            e.left = reason
            throw e
        case .failure(let refusal):
            logger.info("resume refused", metadata: ["participant": "\(id)", "why": "\(refusal)"])
            throw SignalingError(code: .resumeRefused, message: "unknown participant or resume token")
        }
        if let old {
            logger.info("signalling taken over", metadata: ["participant": "\(id)"])
            old.close(code: .normalClosure, after: .left(Left(reason: "resumed-elsewhere")))
        }
        let current = try? await socket.perform { engine, now, _ -> ParticipantState? in
            let current = engine.currentState(of: id)
            engine.resendSessionView(to: id, now: now)
            return current
        }.get()
        guard let current else {
            throw SignalingError(code: .resumeRefused, message: "the participant has just left")
        }
        logger.info("resumed", metadata: ["participant": "\(id)", "room": "\(current.room)"])
        return ResumeResult(participantId: id, room: current.room.rawValue, slots: Self.slotMap(current.slots),
                            slotsVersion: current.slotsVersion, roster: current.roster.map(Self.rosterEntry),
                            resumeToken: next, resumeGrace: resumeGraceSeconds)
    }

    func command(_ command: SessionCommand, participantId: String, connection: ClientConnection) async throws(SignalingError) {
        let socket: MediaSocket<MediaEngine>? = state.withLockedValue { s in s.participantHome[participantId].map { s.sockets[$0] } }
        guard let socket else { throw SignalingError(code: .notJoined, message: "not in a session") }
        let outcome: SFUError?
        do {
            outcome = try await socket.perform { engine, now, _ in
                do { try engine.perform(command, by: participantId, now: now); return nil }
                catch { return error as? SFUError }
            }.get()
        } catch {
            throw SignalingError(code: .internalError, message: "engine unavailable")
        }
        if let outcome {
            throw SignalingError(code: ErrorCode(outcome.code), message: outcome.message)
        }
        logger.info("session command", metadata: ["participant": "\(participantId)", "command": "\(Self.commandName(command))"])
    }

    func restartICE(offer: String, participantId: String, connection: ClientConnection) async throws(SignalingError) -> String {
        let socket: MediaSocket<MediaEngine>? = state.withLockedValue { s in s.participantHome[participantId].map { s.sockets[$0] } }
        guard let socket else { throw SignalingError(code: .notJoined, message: "not in a session") }
        let result: Result<String, SFUError>
        do {
            result = try await socket.perform { engine, now, _ in
                do throws(SFUError) { return .success(try engine.restartICE(participantId, offer: offer, now: now)) }
                catch { return .failure(error) }
            }.get()
        } catch {
            throw SignalingError(code: .internalError, message: "engine unavailable")
        }
        switch result {
        case .failure(let e):
            logger.info("ice restart refused", metadata: ["participant": "\(participantId)", "code": "\(e.code)"])
            throw SignalingError(code: ErrorCode(e.code), message: e.message)
        case .success(let answer):
            logger.info("ice restart", metadata: ["participant": "\(participantId)"])
            return answer
        }
    }

    /// The command's name for audit logs: never its text (chat and broadcasts are not stored).
    static func commandName(_ command: SessionCommand) -> String {
        switch command {
        case .chat: return "chat"
        case .broadcast: return "broadcast"
        default: return "\(command)"
        }
    }

    private func remove(_ id: ParticipantID, reason: RemovalReason) async {
        let socket: MediaSocket<MediaEngine>? = state.withLockedValue { s in
            let home = s.participantHome.removeValue(forKey: id)
            s.participantSession[id] = nil
            s.connections[id] = nil
            return home.map { s.sockets[$0] }
        }
        _ = try? await socket?.perform { engine, now, _ in engine.remove(id, reason: reason, now: now) }.get()
    }

    // MARK: MediaEngineDelegate (on the engine's loop)

    func engine(slotsChanged slots: [SlotAssignment], version: Int, participant: ParticipantID, session: String) {
        connection(participant)?.send(.slots(SlotUpdate(map: Self.slotMap(slots), version: version)))
    }

    func engine(downlinkChanged state: DownlinkState, participant: ParticipantID, session: String) {
        logger.debug("downlink changed", metadata: ["participant": "\(participant)", "paused": "\(state.pausedMids)",
                                                    "suggestMix": "\(state.suggestMixedAudio)"])
        connection(participant)?.send(.downlink(DownlinkEvent(paused: state.pausedMids,
                                                              suggestAudioMix: state.suggestMixedAudio)))
    }

    func engine(rosterChanged roster: [RosterMember], room: RoomID, recipients: [ParticipantID], session: String) {
        let message = ServerMessage.roster(RosterUpdate(participants: roster.map(Self.rosterEntry)))
        for id in recipients { connection(id)?.send(message) }
    }

    func engine(removed participant: ParticipantID, reason: RemovalReason, session: String) {
        let now = Self.uptime()
        let conn = state.withLockedValue { s -> ClientConnection? in
            s.resume.forget(participant, reason: reason.rawValue, now: now)
            s.participantHome[participant] = nil
            s.participantSession[participant] = nil
            if var home = s.homes[session] {
                home.members -= 1
                Self.release(session, home, in: &s)
            }
            return s.connections.removeValue(forKey: participant)
        }
        guard let conn else { return }
        logger.info("participant removed", metadata: ["participant": "\(participant)", "reason": "\(reason.rawValue)"])
        if reason != .left && reason != .disconnected {
            conn.close(code: .normalClosure, after: .left(Left(reason: reason.rawValue)))
        }
    }

    func engine(sessionChanged view: SessionView, recipient: ParticipantID, session: String) {
        connection(recipient)?.send(.session(view))
    }

    func engine(message: SessionMessage, recipients: [ParticipantID], session: String) {
        let wire: ServerMessage
        switch message {
        case .broadcast(let name, let text): wire = .broadcast(BroadcastEvent(from: name, text: text))
        case .chat(let from, let name, let text): wire = .chat(ChatEvent(from: from, name: name, text: text))
        case .speaking(let ids): wire = .speaking(SpeakingEvent(participants: ids))
        }
        for id in recipients { connection(id)?.send(wire) }
    }

    func engine(record: RecordEvent) {
        records?.submit(record)
    }

    func engine(mediaConnected participant: ParticipantID, session: String) {
        state.withLockedValue { $0.resume.mediaConnected(participant) }
        logger.info("media connected", metadata: ["participant": "\(participant)"])
    }

    private func connection(_ id: ParticipantID) -> ClientConnection? {
        state.withLockedValue { $0.connections[id] }
    }

    // MARK: Wire shapes

    static func slotMap(_ slots: [SlotAssignment]) -> SlotMap {
        var map: SlotMap = [:]
        for s in slots {
            if s.isMix {
                map[s.mid] = SlotSource(participantId: nil, track: .mix, room: s.room?.rawValue)
                continue
            }
            guard let who = s.participantId else { continue }
            let track: SlotTrack = switch s.kind {
            case .audio: .microphone
            case .video: .camera
            case .screen: .screen
            }
            map[s.mid] = SlotSource(participantId: who, track: track, after: s.after)
        }
        return map
    }

    static func rosterEntry(_ m: RosterMember) -> RosterEntry {
        RosterEntry(participantId: m.participantId, name: m.name,
                    role: wireRole(m.role), room: m.room.rawValue)
    }

    /// The engine's role for a token's role.
    static func role(_ role: ParticipantRole) -> Role {
        switch role {
        case .host: return .host
        case .coHost: return .coHost
        case .participant: return .participant
        }
    }

    /// The wire's role for the engine's.
    static func wireRole(_ role: Role) -> ParticipantRole {
        switch role {
        case .host: return .host
        case .coHost: return .coHost
        case .participant: return .participant
        }
    }
}
