/// Every message a client sends, one case per `type` (docs/PROTOCOL.md). Each carries
/// an `id` chosen by the client that the reply echoes.
public enum ClientMessage: Codable, Equatable, Sendable {
    /// `join`: authenticate with a token and offer SDP; answered by `joined` or `error`.
    case join(JoinRequest)
    /// `leave`: leave the session; answered by `left`, then the server closes with 1000.
    case leave(LeaveRequest)
    /// `resume`: take over a participant's signalling after a dropped WebSocket; answered by `resumed` or `error`.
    case resume(ResumeRequest)
    /// `create-rooms` (docs/PROTOCOL.md).
    case createRooms(SessionRequests.CreateRooms)
    /// `assign` (docs/PROTOCOL.md).
    case assign(SessionRequests.Assign)
    /// `open-rooms` (docs/PROTOCOL.md).
    case openRooms(SessionRequests.Bare)
    /// `move` (docs/PROTOCOL.md).
    case move(SessionRequests.Move)
    /// `broadcast` (docs/PROTOCOL.md).
    case broadcast(SessionRequests.Text)
    /// `close-rooms` (docs/PROTOCOL.md).
    case closeRooms(SessionRequests.CloseRooms)
    /// `listen` (docs/PROTOCOL.md).
    case listen(SessionRequests.Listen)
    /// `join-room` (docs/PROTOCOL.md).
    case joinRoom(SessionRequests.JoinRoom)
    /// `mute` (docs/PROTOCOL.md).
    case mute(SessionRequests.Mute)
    /// `remove` (docs/PROTOCOL.md).
    case remove(SessionRequests.Target)
    /// `end-session` (docs/PROTOCOL.md).
    case endSession(SessionRequests.Bare)
    /// `admit` (docs/PROTOCOL.md).
    case admit(SessionRequests.Target)
    /// `deny` (docs/PROTOCOL.md).
    case deny(SessionRequests.Target)
    /// `unban` (docs/PROTOCOL.md): let a removed person join again.
    case unban(SessionRequests.Target)
    /// `hand` (docs/PROTOCOL.md).
    case hand(SessionRequests.Hand)
    /// `self-mute` (docs/PROTOCOL.md).
    case selfMute(SessionRequests.SelfMute)
    /// `screen-share` (docs/PROTOCOL.md).
    case screenShare(SessionRequests.ScreenShare)
    /// `screen-permission` (docs/PROTOCOL.md).
    case screenPermission(SessionRequests.ScreenPermission)
    /// `chat` (docs/PROTOCOL.md).
    case chat(SessionRequests.Text)
    /// `audio-mode` (docs/PROTOCOL.md).
    case audioMode(SessionRequests.SetAudioMode)
    /// `tile-widths` (docs/PROTOCOL.md): how wide the sender shows each video slot.
    case tileWidths(SessionRequests.TileWidths)
    /// `ice-restart` (docs/PROTOCOL.md): new ICE credentials for the sender's own transport.
    case iceRestart(IceRestartRequest)

    /// The `type` discriminator of each case.
    public var type: String {
        switch self {
        case .join: return "join"
        case .leave: return "leave"
        case .resume: return "resume"
        case .createRooms: return "create-rooms"
        case .assign: return "assign"
        case .openRooms: return "open-rooms"
        case .move: return "move"
        case .broadcast: return "broadcast"
        case .closeRooms: return "close-rooms"
        case .listen: return "listen"
        case .joinRoom: return "join-room"
        case .mute: return "mute"
        case .remove: return "remove"
        case .endSession: return "end-session"
        case .admit: return "admit"
        case .deny: return "deny"
        case .unban: return "unban"
        case .hand: return "hand"
        case .selfMute: return "self-mute"
        case .screenShare: return "screen-share"
        case .screenPermission: return "screen-permission"
        case .chat: return "chat"
        case .audioMode: return "audio-mode"
        case .tileWidths: return "tile-widths"
        case .iceRestart: return "ice-restart"
        }
    }

    /// The request id the reply echoes.
    public var id: String {
        switch self {
        case .join(let m): return m.id
        case .leave(let m): return m.id
        case .resume(let m): return m.id
        case .createRooms(let m): return m.id
        case .assign(let m): return m.id
        case .openRooms(let m): return m.id
        case .move(let m): return m.id
        case .broadcast(let m): return m.id
        case .closeRooms(let m): return m.id
        case .listen(let m): return m.id
        case .joinRoom(let m): return m.id
        case .mute(let m): return m.id
        case .remove(let m): return m.id
        case .endSession(let m): return m.id
        case .admit(let m): return m.id
        case .deny(let m): return m.id
        case .unban(let m): return m.id
        case .hand(let m): return m.id
        case .selfMute(let m): return m.id
        case .screenShare(let m): return m.id
        case .screenPermission(let m): return m.id
        case .chat(let m): return m.id
        case .audioMode(let m): return m.id
        case .tileWidths(let m): return m.id
        case .iceRestart(let m): return m.id
        }
    }

    /// All `type` values a client may send.
    public static let knownTypes: Set<String> = ["join", "leave", "resume", "create-rooms", "assign", "open-rooms", "move", "broadcast", "close-rooms", "listen", "join-room", "mute", "remove", "end-session", "admit", "deny", "unban", "hand", "self-mute", "chat", "audio-mode", "ice-restart", "screen-share", "screen-permission", "tile-widths"]

    private enum TypeKey: String, CodingKey { case type }

    /// Decodes by `type`; an unknown type throws `DecodingError.dataCorrupted` at `type`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: TypeKey.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "join": self = .join(try JoinRequest(from: decoder))
        case "leave": self = .leave(try LeaveRequest(from: decoder))
        case "resume": self = .resume(try ResumeRequest(from: decoder))
        case "create-rooms": self = .createRooms(try SessionRequests.CreateRooms(from: decoder))
        case "assign": self = .assign(try SessionRequests.Assign(from: decoder))
        case "open-rooms": self = .openRooms(try SessionRequests.Bare(from: decoder))
        case "move": self = .move(try SessionRequests.Move(from: decoder))
        case "broadcast": self = .broadcast(try SessionRequests.Text(from: decoder))
        case "close-rooms": self = .closeRooms(try SessionRequests.CloseRooms(from: decoder))
        case "listen": self = .listen(try SessionRequests.Listen(from: decoder))
        case "join-room": self = .joinRoom(try SessionRequests.JoinRoom(from: decoder))
        case "mute": self = .mute(try SessionRequests.Mute(from: decoder))
        case "remove": self = .remove(try SessionRequests.Target(from: decoder))
        case "end-session": self = .endSession(try SessionRequests.Bare(from: decoder))
        case "admit": self = .admit(try SessionRequests.Target(from: decoder))
        case "deny": self = .deny(try SessionRequests.Target(from: decoder))
        case "unban": self = .unban(try SessionRequests.Target(from: decoder))
        case "hand": self = .hand(try SessionRequests.Hand(from: decoder))
        case "self-mute": self = .selfMute(try SessionRequests.SelfMute(from: decoder))
        case "screen-share": self = .screenShare(try SessionRequests.ScreenShare(from: decoder))
        case "screen-permission": self = .screenPermission(try SessionRequests.ScreenPermission(from: decoder))
        case "chat": self = .chat(try SessionRequests.Text(from: decoder))
        case "audio-mode": self = .audioMode(try SessionRequests.SetAudioMode(from: decoder))
        case "tile-widths": self = .tileWidths(try SessionRequests.TileWidths(from: decoder))
        case "ice-restart": self = .iceRestart(try IceRestartRequest(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown type \(type)")
        }
    }

    /// Encodes the payload's fields and `type` into one flat object.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: TypeKey.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .join(let m): try m.encode(to: encoder)
        case .leave(let m): try m.encode(to: encoder)
        case .resume(let m): try m.encode(to: encoder)
        case .createRooms(let m): try m.encode(to: encoder)
        case .assign(let m): try m.encode(to: encoder)
        case .openRooms(let m): try m.encode(to: encoder)
        case .move(let m): try m.encode(to: encoder)
        case .broadcast(let m): try m.encode(to: encoder)
        case .closeRooms(let m): try m.encode(to: encoder)
        case .listen(let m): try m.encode(to: encoder)
        case .joinRoom(let m): try m.encode(to: encoder)
        case .mute(let m): try m.encode(to: encoder)
        case .remove(let m): try m.encode(to: encoder)
        case .endSession(let m): try m.encode(to: encoder)
        case .admit(let m): try m.encode(to: encoder)
        case .deny(let m): try m.encode(to: encoder)
        case .unban(let m): try m.encode(to: encoder)
        case .hand(let m): try m.encode(to: encoder)
        case .selfMute(let m): try m.encode(to: encoder)
        case .screenShare(let m): try m.encode(to: encoder)
        case .screenPermission(let m): try m.encode(to: encoder)
        case .chat(let m): try m.encode(to: encoder)
        case .audioMode(let m): try m.encode(to: encoder)
        case .tileWidths(let m): try m.encode(to: encoder)
        case .iceRestart(let m): try m.encode(to: encoder)
        }
    }
}

/// How a participant wants to receive audio (ARCHITECTURE "Audio: forward or mix").
public enum AudioMode: String, Codable, Sendable {
    /// Opus passthrough into audio slots, loudest-N.
    case forward
    /// One audio slot carrying a mix-minus of the room.
    case mix
}

/// `join` payload.
public struct JoinRequest: Codable, Equatable, Sendable {
    /// Request id, echoed by `joined` or `error`.
    public var id: String
    /// The signed token (RFC 7519 JWT, HS256) that says who the client is.
    public var token: String
    /// Display name to use instead of the token's `name`, if the server allows it.
    public var name: String?
    /// The SDP offer (RFC 8829 §5.2): the client's send tracks and its receive slots.
    public var sdp: String
    /// Audio delivery preference; the server chooses when absent.
    public var audioMode: AudioMode?

    /// Creates a join request.
    public init(id: String, token: String, name: String? = nil, sdp: String, audioMode: AudioMode? = nil) {
        self.id = id
        self.token = token
        self.name = name
        self.sdp = sdp
        self.audioMode = audioMode
    }
}

/// `leave` payload.
public struct LeaveRequest: Codable, Equatable, Sendable {
    /// Request id, echoed by `left`.
    public var id: String

    /// Creates a leave request.
    public init(id: String) { self.id = id }
}

/// `resume` payload: the participant and the resume token its last `joined`
/// or `resumed` gave it (docs/PROTOCOL.md, "Resuming after a dropped WebSocket").
public struct ResumeRequest: Codable, Equatable, Sendable {
    /// Request id, echoed by `resumed` or `error`.
    public var id: String
    /// The participant to take over.
    public var participantId: String
    /// Its current resume token; spent by a successful resume.
    public var resumeToken: String

    /// Creates a resume request.
    public init(id: String, participantId: String, resumeToken: String) {
        self.id = id
        self.participantId = participantId
        self.resumeToken = resumeToken
    }
}
