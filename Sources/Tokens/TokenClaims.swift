/// The claims a Cohort token carries (RFC 7519 §4). JSON names are the short
/// registered and private claim names; Swift names say what they mean.
public struct TokenClaims: Codable, Equatable, Sendable {
    /// `sid`: the therapy session (group) the bearer may join.
    public var session: String
    /// `room`: the room to enter first; "main" when the claim is absent.
    public var room: String
    /// `name`: the display name shown to the others.
    public var name: String
    /// `role`: host, co-host or participant.
    public var role: ParticipantRole
    /// `exp`: expiry, Unix seconds (RFC 7519 §4.1.4).
    public var expiresAt: Int64
    /// `iat`: issue time, Unix seconds (RFC 7519 §4.1.6).
    public var issuedAt: Int64
    /// `nbf`: optional start of validity, Unix seconds (RFC 7519 §4.1.5).
    public var notBefore: Int64?
    /// `sub`: optional stable participant or user id (RFC 7519 §4.1.2), for attendance records.
    public var subject: String?
    /// `jti`: optional unique id of this token (RFC 7519 §4.1.7); a server
    /// with single-use tokens admits each one once.
    public var tokenID: String?

    /// The room a token names when it names none.
    public static let defaultRoom = "main"

    /// Creates claims; `room` defaults to "main".
    public init(session: String, room: String = TokenClaims.defaultRoom, name: String, role: ParticipantRole,
                expiresAt: Int64, issuedAt: Int64, notBefore: Int64? = nil, subject: String? = nil, tokenID: String? = nil) {
        self.session = session
        self.room = room
        self.name = name
        self.role = role
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.notBefore = notBefore
        self.subject = subject
        self.tokenID = tokenID
    }

    enum CodingKeys: String, CodingKey {
        case session = "sid", room, name, role, expiresAt = "exp", issuedAt = "iat", notBefore = "nbf", subject = "sub", tokenID = "jti"
    }
}
