/// Why the engine refused a request. Each case maps to a protocol error code
/// that the control plane sends to the client (docs/PROTOCOL.md).
public enum SFUError: Error, Equatable, Sendable {
    /// The SDP offer could not be parsed or is not usable; the text says why.
    case invalidOffer(String)
    /// The offer lacks ice-ufrag or ice-pwd.
    case missingICECredentials
    /// The offer lacks a usable a=fingerprint (sha-256, sha-384 or sha-512).
    case missingFingerprint
    /// The session already holds its maximum number of participants (or
    /// every place left is reserved for hosts and co-hosts).
    case sessionFull
    /// The token's identity is in the session `maxJoinsPerIdentity` times already.
    case tooManyJoins
    /// A host removed this person (by token identity) from the session.
    case removedFromSession
    /// No participant with that id in this session.
    case unknownParticipant(String)
    /// The engine could not set up DTLS or SRTP.
    case internalFailure(String)
    /// A host command from someone who is not a host.
    case forbidden
    /// An ICE restart that would touch another participant's transport
    /// (docs/PROTOCOL.md `ice-restart`); the text says why. Code `forbidden`.
    case notOwnTransport(String)
    /// No such room.
    case unknownRoom(RoomID)
    /// A room with that name exists already.
    case duplicateRoomName(String)
    /// The command needs open breakout rooms (or closed ones).
    case wrongRoomState(String)
    /// The rooms are closing: moves and room changes wait until they are back.
    case roomsClosing
    /// The command's arguments are not acceptable; the text says why.
    case invalidCommand(String)
    /// The sender sent more commands (or chat and broadcast bytes) than its
    /// share; the text says which budget ran out.
    case rateLimited(String)
    /// `screen-share` from a participant while a host has not allowed
    /// participants to share (`screen-permission`). Code `forbidden`.
    case screenShareNotAllowed
    /// Someone else in the room shares already: one share per room at a time.
    case screenBusy(ParticipantID)

    /// The protocol error code for this error.
    public var code: String {
        switch self {
        case .invalidOffer: return "invalid-offer"
        case .missingICECredentials: return "missing-ice-credentials"
        case .missingFingerprint: return "missing-fingerprint"
        case .sessionFull: return "session-full"
        case .tooManyJoins: return "too-many-joins"
        case .removedFromSession: return "removed"
        case .unknownParticipant: return "unknown-participant"
        case .internalFailure: return "internal"
        case .forbidden, .notOwnTransport, .screenShareNotAllowed: return "forbidden"
        case .screenBusy: return "screen-busy"
        case .unknownRoom: return "unknown-room"
        case .duplicateRoomName: return "duplicate-room-name"
        case .wrongRoomState: return "wrong-room-state"
        case .roomsClosing: return "rooms-closing"
        case .invalidCommand: return "invalid-command"
        case .rateLimited: return "rate-limited"
        }
    }

    /// A sentence for the client.
    public var message: String {
        switch self {
        case .invalidOffer(let why): return "The SDP offer is not usable: \(why)"
        case .missingICECredentials: return "The SDP offer has no ice-ufrag/ice-pwd."
        case .missingFingerprint: return "The SDP offer has no sha-256, sha-384 or sha-512 fingerprint."
        case .sessionFull: return "This session is full."
        case .tooManyJoins: return "This token is in the session too many times already; leave on another device first."
        case .removedFromSession: return "A host removed you from this session."
        case .unknownParticipant(let id): return "No participant \(id) in this session."
        case .internalFailure(let why): return "The server could not set up media: \(why)"
        case .forbidden: return "Only a host can do that."
        case .notOwnTransport(let why): return why
        case .unknownRoom(let id): return "No room \(id) in this session."
        case .duplicateRoomName(let name): return "A room named \(name) exists already."
        case .wrongRoomState(let why): return why
        case .roomsClosing: return "The breakout rooms are closing; try again when everyone is back."
        case .invalidCommand(let why): return why
        case .rateLimited(let why): return why
        case .screenShareNotAllowed: return "Only hosts and co-hosts may share their screen until a host allows everyone."
        case .screenBusy(let id): return "\(id) is sharing a screen in this room; only one share at a time."
        }
    }
}
