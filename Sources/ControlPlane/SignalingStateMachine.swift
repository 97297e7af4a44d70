import NIOWebSocket
import SFU
import Tokens

/// The per-connection signaling logic as a value: text messages and delegate results
/// in, actions out. No I/O, no clock: `now` (Unix seconds) is passed in. The channel
/// handler owns one and performs its actions on the connection's loop.
public struct SignalingStateMachine: Sendable {
    /// Where the connection is in its life.
    public enum State: Equatable, Sendable {
        /// Connected; only `join` is acceptable.
        case awaitingJoin
        /// `join` was handed to the delegate and has not returned.
        case joining(requestID: String)
        /// `resume` was handed to the delegate and has not returned.
        case resuming(requestID: String)
        /// In the session.
        case joined(participantId: String)
        /// `leave` was handed to the delegate and has not returned.
        case leaving(requestID: String, participantId: String)
        /// The socket is closing or closed; everything further is ignored.
        case closed
    }

    /// What the handler must do next.
    public enum Action: Equatable, Sendable {
        /// Nothing.
        case none
        /// Send a message; the connection stays open.
        case send(ServerMessage)
        /// Send a message, then close with the code (RFC 6455 §7.4.1).
        case sendAndClose(ServerMessage, WebSocketErrorCode)
        /// Call `SignalingDelegate.join`.
        case startJoin(AuthorizedJoin)
        /// Call `SignalingDelegate.resume`.
        case startResume(AuthorizedResume)
        /// Call `SignalingDelegate.leave`.
        case startLeave(requestID: String, participantId: String)
        /// Call `SignalingDelegate.disconnected`.
        case notifyDisconnected(participantId: String)
        /// Call `SignalingDelegate.command`, then reply `ok` or `error` with `requestID`.
        case startCommand(requestID: String, participantId: String, SessionCommand)
        /// Call `SignalingDelegate.restartICE`, then reply `ice-restarted` or `error` with `requestID`.
        case startIceRestart(requestID: String, participantId: String, offer: String)
    }

    /// Bounds on client-chosen strings, so one message cannot bloat logs or rosters.
    public static let maxIDLength = 64
    /// Longest display name accepted in `join.name`, in characters...
    public static let maxNameLength = 64
    /// ...and in UTF-8 bytes: a character (grapheme cluster) has no size
    /// limit of its own, and names go to everyone in the session.
    public static let maxNameBytes = 256
    /// Longest participant or room id a command may name, in UTF-8 bytes
    /// (the server's ids are far shorter).
    public static let maxIdentifierBytes = 64
    /// Most entries in one `assign`.
    public static let maxAssignments = 64

    /// The current state.
    public private(set) var state: State = .awaitingJoin
    private let signer: TokenSigner
    private let requiredSessions: [String]
    /// Set when tokens are single-use: each `jti` admits one join.
    private let replayGuard: TokenReplayGuard?
    /// The token id this connection's join in progress took from `replayGuard`.
    private var takenTokenID: String?
    /// Where each join's outcome is counted (the metrics), if anywhere.
    private let outcomes: JoinOutcomes?

    /// - Parameter requiredSessions: session ids the token's `sid` must equal, from the
    ///   server configuration and the `/ws?session=` query; empty accepts any session.
    public init(signer: TokenSigner, requiredSessions: [String], replayGuard: TokenReplayGuard? = nil,
                outcomes: JoinOutcomes? = nil) {
        self.signer = signer
        self.requiredSessions = requiredSessions
        self.replayGuard = replayGuard
        self.outcomes = outcomes
    }

    /// One text frame's payload arrived.
    public mutating func receiveText(_ bytes: [UInt8], now: Int64) -> Action {
        if state == .closed { return .none }
        switch MessageCodec.decodeClientMessage(bytes) {
        case .failure(let reply):
            return .send(.error(reply))
        case .success(let message):
            guard message.id.utf8.count <= Self.maxIDLength else {
                return .send(.error(ErrorReply(code: .badMessage, message: "`id` longer than \(Self.maxIDLength) bytes")))
            }
            switch message {
            case .join(let request):
                let action = receiveJoin(request, now: now)
                switch action {
                case .send(.error(let reply)), .sendAndClose(.error(let reply), _): outcomes?.refused(reply.code)
                default: break
                }
                return action
            case .leave(let request): return receiveLeave(request)
            case .resume(let request): return receiveResume(request)
            case .iceRestart(let request): return receiveIceRestart(request)
            default: return receiveCommand(message)
            }
        }
    }

    private mutating func receiveJoin(_ request: JoinRequest, now: Int64) -> Action {
        switch state {
        case .awaitingJoin: break
        case .joined: return .send(.error(ErrorReply(id: request.id, code: .alreadyJoined, message: "already joined")))
        case .joining, .resuming, .leaving: return .send(.error(ErrorReply(id: request.id, code: .busy, message: "a request is in progress")))
        case .closed: return .none
        }
        let claims: TokenClaims
        do throws(TokenError) {
            claims = try signer.verify(request.token, now: now)
            guard requiredSessions.allSatisfy({ $0 == claims.session }) else { throw TokenError.wrongSession }
        } catch {
            state = .closed
            let (code, text) = Self.describe(error)
            return .sendAndClose(.error(ErrorReply(id: request.id, code: code, message: text)), .policyViolation)
        }
        let name = request.name ?? claims.name
        guard !name.isEmpty, name.count <= Self.maxNameLength, name.utf8.count <= Self.maxNameBytes else {
            return .send(.error(ErrorReply(id: request.id, code: .badMessage,
                                           message: "`name` must be 1 to \(Self.maxNameLength) characters and at most \(Self.maxNameBytes) bytes")))
        }
        guard !request.sdp.isEmpty else {
            return .send(.error(ErrorReply(id: request.id, code: .badMessage, message: "`sdp` is empty")))
        }
        if let replayGuard {
            guard let tokenID = claims.tokenID, !tokenID.isEmpty else {
                state = .closed
                return .sendAndClose(.error(ErrorReply(id: request.id, code: .tokenInvalid,
                                                       message: "single-use tokens need a jti claim")), .policyViolation)
            }
            guard replayGuard.take(tokenID, expiresAt: claims.expiresAt, now: now) else {
                state = .closed
                return .sendAndClose(.error(ErrorReply(id: request.id, code: .tokenUsed,
                                                       message: "this link has been used; ask for a new one")), .policyViolation)
            }
            takenTokenID = tokenID
        }
        state = .joining(requestID: request.id)
        return .startJoin(AuthorizedJoin(requestID: request.id, claims: claims, displayName: name,
                                         offer: request.sdp, audioMode: request.audioMode))
    }

    /// Longest resume token accepted (the server's are 43 characters).
    static let maxResumeTokenBytes = 128

    /// `resume` instead of `join`: takes over a participant whose WebSocket dropped.
    private mutating func receiveResume(_ request: ResumeRequest) -> Action {
        switch state {
        case .awaitingJoin: break
        case .joined: return .send(.error(ErrorReply(id: request.id, code: .alreadyJoined, message: "already joined")))
        case .joining, .resuming, .leaving: return .send(.error(ErrorReply(id: request.id, code: .busy, message: "a request is in progress")))
        case .closed: return .none
        }
        guard !request.participantId.isEmpty, request.participantId.utf8.count <= Self.maxIdentifierBytes,
              !request.resumeToken.isEmpty, request.resumeToken.utf8.count <= Self.maxResumeTokenBytes else {
            return .send(.error(ErrorReply(id: request.id, code: .badMessage,
                                           message: "`participantId` must be 1 to \(Self.maxIdentifierBytes) bytes and `resumeToken` 1 to \(Self.maxResumeTokenBytes)")))
        }
        state = .resuming(requestID: request.id)
        return .startResume(AuthorizedResume(requestID: request.id, participantId: request.participantId,
                                             resumeToken: request.resumeToken, requiredSessions: requiredSessions))
    }

    /// The delegate's `resume` returned.
    public mutating func resumeCompleted(_ result: Result<ResumeResult, SignalingError>) -> Action {
        switch (state, result) {
        case (.resuming(let requestID), .success(let r)):
            state = .joined(participantId: r.participantId)
            return .send(.resumed(Resumed(id: requestID, participantId: r.participantId, room: r.room, slots: r.slots,
                                          slotsVersion: r.slotsVersion, roster: r.roster, resumeToken: r.resumeToken,
                                          resumeGrace: r.resumeGrace)))
        case (.resuming(let requestID), .failure(let e)):
            state = .awaitingJoin
            if let reason = e.left {
                state = .closed
                return .sendAndClose(.left(Left(id: requestID, reason: reason)), .normalClosure)
            }
            return .send(.error(ErrorReply(id: requestID, code: e.code, message: e.message)))
        case (.closed, .success(let r)):
            // The client went away while it was being attached: it is away again.
            return .notifyDisconnected(participantId: r.participantId)
        default:
            return .none
        }
    }

    /// A session command: only once joined; the delegate checks roles.
    private mutating func receiveCommand(_ message: ClientMessage) -> Action {
        guard case .joined(let participantId) = state else {
            return .send(.error(ErrorReply(id: message.id, code: .notJoined, message: "join first")))
        }
        guard let command = Self.sessionCommand(message) else {
            return .send(.error(ErrorReply(id: message.id, code: .badMessage, message: "incomplete \(message.type)")))
        }
        if let problem = Self.oversized(command) {
            return .send(.error(ErrorReply(id: message.id, code: .badMessage, message: problem)))
        }
        return .startCommand(requestID: message.id, participantId: participantId, command)
    }

    /// An ICE restart: only once joined, and only ever of the sender's own
    /// transport. The participant is the connection's, never one the
    /// message names; naming another is refused so a client learns of its bug.
    private func receiveIceRestart(_ request: IceRestartRequest) -> Action {
        guard case .joined(let participantId) = state else {
            return .send(.error(ErrorReply(id: request.id, code: .notJoined, message: "join first")))
        }
        if let named = request.participantId, named != participantId {
            return .send(.error(ErrorReply(id: request.id, code: .forbidden,
                                           message: "an ICE restart is only for the sender's own connection")))
        }
        guard !request.sdp.isEmpty else {
            return .send(.error(ErrorReply(id: request.id, code: .badMessage, message: "`sdp` is empty")))
        }
        return .startIceRestart(requestID: request.id, participantId: participantId, offer: request.sdp)
    }

    /// What is too big in a command's ids, if anything: ids are bounded here,
    /// texts and room names (limits of the session's own) in the engine.
    static func oversized(_ command: SessionCommand) -> String? {
        var ids: [String] = []
        switch command {
        case .assign(let plan):
            guard plan.count <= maxAssignments else { return "at most \(maxAssignments) assignments" }
            ids = plan.flatMap { [$0.key, $0.value.rawValue] }
        case .move(let id, let room): ids = [id, room.rawValue]
        case .listen(let room): ids = room.map { [$0.rawValue] } ?? []
        case .joinRoom(let room): ids = [room.rawValue]
        case .setMuted(let id, _), .remove(let id), .admit(let id), .deny(let id), .unban(let id): ids = [id]
        default: break
        }
        return ids.contains { $0.utf8.count > maxIdentifierBytes }
            ? "a participant or room id is longer than \(maxIdentifierBytes) bytes" : nil
    }

    /// The engine command a wire message stands for.
    static func sessionCommand(_ message: ClientMessage) -> SessionCommand? {
        switch message {
        case .join, .leave, .resume, .iceRestart: return nil
        case .createRooms(let m): return .createRooms(names: m.names)
        case .assign(let m):
            if m.balanced == true { return .assignBalanced }
            return m.assignments.map { .assign($0.mapValues { RoomID($0) }) }
        case .openRooms: return .openRooms
        case .move(let m): return .move(m.participantId, to: RoomID(m.room))
        case .broadcast(let m): return .broadcast(m.text)
        case .closeRooms(let m): return .closeRooms(countdownSeconds: m.countdown)
        case .listen(let m): return .listen(m.room.map { RoomID($0) })
        case .joinRoom(let m): return .joinRoom(RoomID(m.room))
        case .mute(let m): return .setMuted(m.participantId, m.muted)
        case .remove(let m): return .remove(m.participantId)
        case .endSession: return .endSession
        case .admit(let m): return .admit(m.participantId)
        case .deny(let m): return .deny(m.participantId)
        case .unban(let m): return .unban(m.participantId)
        case .hand(let m): return .setHandRaised(m.raised)
        case .selfMute(let m): return .setSelfMuted(m.muted)
        case .screenShare(let m): return .setScreenSharing(m.sharing)
        case .screenPermission(let m): return .allowScreenSharing(m.allowed)
        case .chat(let m): return .chat(m.text)
        case .audioMode(let m): return .setMixedAudio(m.mode == .mix)
        case .tileWidths(let m): return .setTileWidths(m.widths)
        }
    }

    private mutating func receiveLeave(_ request: LeaveRequest) -> Action {
        switch state {
        case .joined(let participantId):
            state = .leaving(requestID: request.id, participantId: participantId)
            return .startLeave(requestID: request.id, participantId: participantId)
        case .awaitingJoin: return .send(.error(ErrorReply(id: request.id, code: .notJoined, message: "not joined")))
        case .joining, .resuming, .leaving: return .send(.error(ErrorReply(id: request.id, code: .busy, message: "a request is in progress")))
        case .closed: return .none
        }
    }

    /// The delegate's `join` returned.
    public mutating func joinCompleted(_ result: Result<JoinResult, SignalingError>) -> Action {
        switch (state, result) {
        case (.joining(let requestID), .success(let r)):
            state = .joined(participantId: r.participantId)
            takenTokenID = nil
            outcomes?.admitted()
            return .send(.joined(Joined(id: requestID, participantId: r.participantId, room: r.room,
                                        sdp: r.answer, slots: r.slots, roster: r.roster,
                                        slotsVersion: r.slotsVersion, iceServers: r.iceServers,
                                        resumeToken: r.resumeToken, resumeGrace: r.resumeGrace)))
        case (.joining(let requestID), .failure(let e)):
            state = .awaitingJoin
            // Refused before anyone was in: the single-use token may be tried again.
            if let takenTokenID { replayGuard?.giveBack(takenTokenID) }
            takenTokenID = nil
            if let url = e.redirect {
                // The session is on another node: this connection's work is done.
                state = .closed
                return .sendAndClose(.redirect(Redirect(id: requestID, url: url)), .normalClosure)
            }
            outcomes?.refused(e.code)
            return .send(.error(ErrorReply(id: requestID, code: e.code, message: e.message, retryAfter: e.retryAfter)))
        case (.closed, .success(let r)):
            // The client went away while the engine admitted it: undo the admission.
            return .notifyDisconnected(participantId: r.participantId)
        default:
            return .none
        }
    }

    /// The delegate's `leave` returned.
    public mutating func leaveCompleted() -> Action {
        guard case .leaving(let requestID, _) = state else { return .none }
        state = .closed
        return .sendAndClose(.left(Left(id: requestID)), .normalClosure)
    }

    /// The handler is closing the socket (peer close, protocol error, timeout, shutdown)
    /// or the socket is gone. A joined participant is reported to the delegate once.
    public mutating func connectionClosing() -> Action {
        defer { state = .closed }
        if case .joined(let participantId) = state { return .notifyDisconnected(participantId: participantId) }
        return .none
    }

    /// No successful `join` within the deadline.
    public mutating func joinDeadlinePassed() -> Action {
        switch state {
        case .awaitingJoin, .joining, .resuming:
            // A join still running when the deadline passes is abandoned: `joinCompleted`
            // in `.closed` then reports the participant as disconnected.
            state = .closed
            return .sendAndClose(.error(ErrorReply(code: .joinTimeout, message: "no join in time")), .policyViolation)
        default:
            return .none
        }
    }

    /// The wire code and text for a token refusal (docs/PROTOCOL.md "Tokens").
    static func describe(_ error: TokenError) -> (ErrorCode, String) {
        switch error {
        case .expired: return (.tokenExpired, "token expired")
        case .malformed: return (.tokenInvalid, "token is not a JWS compact serialization")
        case .unsupportedAlgorithm: return (.tokenInvalid, "token algorithm must be HS256")
        case .missingClaim(let claim): return (.tokenInvalid, "token lacks claim \(claim)")
        case .invalidClaim(let claim): return (.tokenInvalid, "token claim \(claim) is invalid")
        case .badSignature: return (.unauthorized, "token signature does not verify")
        case .notYetValid: return (.unauthorized, "token not yet valid")
        case .wrongSession: return (.unauthorized, "token is for another session")
        }
    }
}
