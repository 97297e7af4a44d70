import SFU
import Tokens

/// The engine behind the control plane: it runs the sessions, rooms and media. The
/// control plane calls it only with requests whose token it has already verified,
/// and only once per connection at a time (no `leave` while `join` is running).
///
/// Methods are called from a Swift task, not on the connection's event loop; an
/// implementation hops to its session's loop itself (ARCHITECTURE "Session").
public protocol SignalingDelegate: Sendable {
    /// Admits a participant. `connection` is the handle for pushing `roster`, `slots`
    /// and `left` later; messages sent through it before this method returns reach
    /// the client before `joined`. Throwing sends `error` with the thrown code and id
    /// to the client, which may then try `join` again.
    func join(_ request: AuthorizedJoin, connection: ClientConnection) async throws(SignalingError) -> JoinResult

    /// The participant asked to leave. After it returns the client gets `left` and the
    /// socket closes with 1000.
    func leave(participantId: String, connection: ClientConnection) async

    /// The socket of a joined participant closed without `leave` (network loss, tab
    /// closed, protocol error, server shutdown). Also called when the socket closed
    /// while `join` was running and `join` then succeeded.
    func disconnected(participantId: String, connection: ClientConnection) async

    /// A client asks to take over a participant's signalling with its resume
    /// token (docs/PROTOCOL.md, `resume`). Returning sends `resumed`; the
    /// connection then carries the participant as if it had joined on it.
    /// Throwing sends `error` (or `left`, see `SignalingError.left`).
    func resume(_ request: AuthorizedResume, connection: ClientConnection) async throws(SignalingError) -> ResumeResult

    /// A joined participant sent a session command. Returning sends `ok`;
    /// throwing sends `error` with the thrown code (e.g. `forbidden`).
    func command(_ command: SessionCommand, participantId: String, connection: ClientConnection) async throws(SignalingError)

    /// A joined participant restarts ICE with `offer` (docs/PROTOCOL.md
    /// `ice-restart`); the participant is always the connection's own.
    /// Returning sends `ice-restarted` with the answer; throwing sends `error`.
    func restartICE(offer: String, participantId: String, connection: ClientConnection) async throws(SignalingError) -> String
}

extension SignalingDelegate {
    /// Delegates without media (tests) do not restart ICE.
    public func restartICE(offer: String, participantId: String, connection: ClientConnection) async throws(SignalingError) -> String {
        throw SignalingError(code: .notImplemented, message: "ICE restart is not available")
    }
}

extension SignalingDelegate {
    /// Resume off: every `resume` is refused.
    public func resume(_ request: AuthorizedResume, connection: ClientConnection) async throws(SignalingError) -> ResumeResult {
        throw SignalingError(code: .resumeRefused, message: "this server does not resume participants")
    }
}

/// A `resume` request, with the sessions the connection is limited to.
public struct AuthorizedResume: Equatable, Sendable {
    /// The request id.
    public var requestID: String
    /// The participant to take over.
    public var participantId: String
    /// The presented token (a secret: never log it).
    public var resumeToken: String
    /// Session ids the participant's session must equal (server `--session` and
    /// the `/ws?session=` query); empty accepts any.
    public var requiredSessions: [String]

    /// Creates a resume request.
    public init(requestID: String, participantId: String, resumeToken: String, requiredSessions: [String]) {
        self.requestID = requestID
        self.participantId = participantId
        self.resumeToken = resumeToken
        self.requiredSessions = requiredSessions
    }
}

/// What the delegate returns for a successful resume; becomes `resumed`.
public struct ResumeResult: Equatable, Sendable {
    /// The participant, unchanged.
    public var participantId: String
    /// Its room now.
    public var room: String
    /// Its slot map now.
    public var slots: SlotMap
    /// Version of `slots`.
    public var slotsVersion: Int?
    /// Its room's roster now.
    public var roster: [RosterEntry]
    /// The next resume token.
    public var resumeToken: String
    /// The grace period, seconds.
    public var resumeGrace: Int

    /// Creates a resume result.
    public init(participantId: String, room: String, slots: SlotMap, slotsVersion: Int?, roster: [RosterEntry],
                resumeToken: String, resumeGrace: Int) {
        self.participantId = participantId
        self.room = room
        self.slots = slots
        self.slotsVersion = slotsVersion
        self.roster = roster
        self.resumeToken = resumeToken
        self.resumeGrace = resumeGrace
    }
}

/// A `join` whose token verified: what the delegate needs to admit the participant.
public struct AuthorizedJoin: Equatable, Sendable {
    /// The request id (echoed by the control plane; the delegate need not use it).
    public var requestID: String
    /// The verified claims: session, room, role, expiry, subject.
    public var claims: TokenClaims
    /// The display name: the request's `name` if given, else the token's.
    public var displayName: String
    /// The SDP offer.
    public var offer: String
    /// The audio preference, if the client stated one.
    public var audioMode: AudioMode?

    /// Creates an authorized join.
    public init(requestID: String, claims: TokenClaims, displayName: String, offer: String, audioMode: AudioMode?) {
        self.requestID = requestID
        self.claims = claims
        self.displayName = displayName
        self.offer = offer
        self.audioMode = audioMode
    }
}

/// What the delegate returns for a successful join; becomes the `joined` message.
public struct JoinResult: Equatable, Sendable {
    /// The new participant's id.
    public var participantId: String
    /// The room the participant entered.
    public var room: String
    /// The SDP answer.
    public var answer: String
    /// The initial slot map.
    public var slots: SlotMap
    /// The initial roster.
    public var roster: [RosterEntry]
    /// Version of `slots` (see `SlotUpdate.version`).
    public var slotsVersion: Int?
    /// STUN/TURN servers for this participant (see `Joined.iceServers`).
    public var iceServers: [IceServer]?
    /// The first resume token; nil when resume is off.
    public var resumeToken: String?
    /// The grace period in seconds, with `resumeToken`.
    public var resumeGrace: Int?

    /// Creates a join result.
    public init(participantId: String, room: String, answer: String, slots: SlotMap, roster: [RosterEntry],
                slotsVersion: Int? = nil, iceServers: [IceServer]? = nil, resumeToken: String? = nil, resumeGrace: Int? = nil) {
        self.iceServers = iceServers
        self.resumeToken = resumeToken
        self.resumeGrace = resumeGrace
        self.participantId = participantId
        self.room = room
        self.answer = answer
        self.slots = slots
        self.roster = roster
        self.slotsVersion = slotsVersion
    }
}

/// A request the delegate refuses; becomes an `error` message to the client.
public struct SignalingError: Error, Equatable, Sendable {
    /// The wire code, e.g. `.notImplemented` or an engine-defined `ErrorCode("room-full")`.
    public var code: ErrorCode
    /// Detail for the client's logs.
    public var message: String
    /// Seconds after which the request may succeed, sent as the error's `retryAfter`.
    public var retryAfter: Int?
    /// Set on a refused `join` whose session lives on another node: the client
    /// gets `redirect` with this WebSocket URL instead of `error`, and the socket closes.
    public var redirect: String?
    /// Set on a refused `resume` whose participant was removed while away for a
    /// reason other than the grace period (a host removed it, the session
    /// ended): the client gets `left` with this reason, as it would have had
    /// its socket been up, and the socket closes with 1000.
    public var left: String?

    /// Creates a signaling error.
    public init(code: ErrorCode, message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    /// A `join` to be made at the node whose WebSocket URL is `url`.
    public static func redirect(to url: String) -> SignalingError {
        var e = SignalingError(code: ErrorCode("redirect"), message: "the session is on another node")
        e.redirect = url
        return e
    }
}
