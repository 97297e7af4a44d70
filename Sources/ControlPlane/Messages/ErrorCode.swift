/// The `code` of an `error` message (docs/PROTOCOL.md "Error codes"). A struct rather
/// than an enum so that the engine behind `SignalingDelegate` can add codes
/// (`room-full`, ...) without changing the control plane; the codes the control
/// plane itself sends are the static members below.
public struct ErrorCode: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    /// The code as sent on the wire, lower-case words joined by "-".
    public var rawValue: String

    /// Wraps a wire code.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Wraps a wire code.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// Decodes the bare string.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the bare string.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    /// The wire code.
    public var description: String { rawValue }

    /// A request the sender has no right to make (a host command from a
    /// participant; an `ice-restart` naming another participant).
    public static let forbidden = ErrorCode("forbidden")
    /// The text frame is not valid JSON.
    public static let badJSON = ErrorCode("bad-json")
    /// Valid JSON, but not a message: not an object, no `type`, a missing or mistyped field, a value out of range.
    public static let badMessage = ErrorCode("bad-message")
    /// The `type` is not one this server knows.
    public static let unknownType = ErrorCode("unknown-type")
    /// The token is well formed but refused: forged signature, another session, not yet valid. Closes the socket.
    public static let unauthorized = ErrorCode("unauthorized")
    /// The token has expired; fetch a new one and reconnect. Closes the socket.
    public static let tokenExpired = ErrorCode("token-expired")
    /// The token is not a Cohort token: malformed, wrong algorithm, missing or bad claims. Closes the socket.
    public static let tokenInvalid = ErrorCode("token-invalid")
    /// `token-used`: a single-use token (`cohort serve --single-use-tokens on`) that already admitted someone.
    public static let tokenUsed = ErrorCode("token-used")
    /// `join` on a connection that has already joined.
    public static let alreadyJoined = ErrorCode("already-joined")
    /// A request that needs a joined participant arrived before `join` succeeded.
    public static let notJoined = ErrorCode("not-joined")
    /// A request arrived while the previous join or leave on this connection is still being handled.
    public static let busy = ErrorCode("busy")
    /// `resume` refused: no participant by that id here, or the token is not its current one
    /// (another participant's, already used, made up), or it is for another session. Nothing changed;
    /// the client may `join` afresh with its link on the same socket.
    public static let resumeRefused = ErrorCode("resume-refused")
    /// `resume` too late: the grace period ran out and the participant was removed (its stay ended).
    public static let resumeExpired = ErrorCode("resume-expired")
    /// No successful `join` within the join timeout. Closes the socket.
    public static let joinTimeout = ErrorCode("join-timeout")
    /// The server does not implement this yet.
    public static let notImplemented = ErrorCode("not-implemented")
    /// The server failed; the request may be retried.
    public static let internalError = ErrorCode("internal")
    /// `join` refused: this token is in the session the maximum number of times already (issue 14).
    public static let tooManyJoins = ErrorCode("too-many-joins")
    /// `join` refused: too many joins from this client address in the last minute (issue 14).
    public static let joinRateLimited = ErrorCode("join-rate-limited")
    /// `join` refused: the session directory (PostgreSQL, docs/SCALE-OUT.md) cannot be reached, so the
    /// session cannot be placed; `retryAfter` says when to try again. Sessions already running go on.
    public static let directoryUnavailable = ErrorCode("directory-unavailable")
    /// `join` refused: no node of the directory is alive with room for another participant.
    public static let noCapacity = ErrorCode("no-capacity")
}
