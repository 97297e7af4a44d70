import SFU
import Tokens

/// Every message the server sends, one case per `type` (docs/PROTOCOL.md).
public enum ServerMessage: Codable, Equatable, Sendable {
    /// `joined`: the reply to a successful `join`, with the SDP answer.
    case joined(Joined)
    /// `resumed`: the reply to a successful `resume`, with the participant's current state.
    case resumed(Resumed)
    /// `roster`: who is in the session now (sent whenever it changes).
    case roster(RosterUpdate)
    /// `slots`: which participant's track fills which receive slot now.
    case slots(SlotUpdate)
    /// `error`: a request failed, or the connection is about to close.
    case error(ErrorReply)
    /// `left`: the reply to `leave`, or notice that the server removed this participant.
    case left(Left)
    /// `ok`: a session command was carried out.
    case ok(OkReply)
    /// `session`: the session's shape (rooms, waiting room, mutes, hands), sent whole on every change.
    case session(SessionView)
    /// `broadcast`: a host's text to all rooms.
    case broadcast(BroadcastEvent)
    /// `chat`: a line from the same room.
    case chat(ChatEvent)
    /// `speaking`: who in the room is speaking.
    case speaking(SpeakingEvent)
    /// `server-shutdown`: the server is stopping; the WebSocket closes with 1001 next.
    case serverShutdown(ServerShutdown)
    /// `redirect`: the session lives on another node; join there (docs/SCALE-OUT.md).
    case redirect(Redirect)
    /// `ice-restarted`: the answer to `ice-restart`.
    case iceRestarted(IceRestarted)
    /// `downlink`: video paused or resumed for this participant's connection.
    case downlink(DownlinkEvent)

    /// The `type` discriminator of each case.
    public var type: String {
        switch self {
        case .joined: return "joined"
        case .resumed: return "resumed"
        case .roster: return "roster"
        case .slots: return "slots"
        case .error: return "error"
        case .left: return "left"
        case .ok: return "ok"
        case .session: return "session"
        case .broadcast: return "broadcast"
        case .chat: return "chat"
        case .speaking: return "speaking"
        case .serverShutdown: return "server-shutdown"
        case .redirect: return "redirect"
        case .iceRestarted: return "ice-restarted"
        case .downlink: return "downlink"
        }
    }

    private enum TypeKey: String, CodingKey { case type }

    /// Decodes by `type` (for clients and tests).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: TypeKey.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "joined": self = .joined(try Joined(from: decoder))
        case "resumed": self = .resumed(try Resumed(from: decoder))
        case "roster": self = .roster(try RosterUpdate(from: decoder))
        case "slots": self = .slots(try SlotUpdate(from: decoder))
        case "error": self = .error(try ErrorReply(from: decoder))
        case "left": self = .left(try Left(from: decoder))
        case "ok": self = .ok(try OkReply(from: decoder))
        case "session": self = .session(try SessionView(from: decoder))
        case "broadcast": self = .broadcast(try BroadcastEvent(from: decoder))
        case "chat": self = .chat(try ChatEvent(from: decoder))
        case "speaking": self = .speaking(try SpeakingEvent(from: decoder))
        case "server-shutdown": self = .serverShutdown(try ServerShutdown(from: decoder))
        case "redirect": self = .redirect(try Redirect(from: decoder))
        case "ice-restarted": self = .iceRestarted(try IceRestarted(from: decoder))
        case "downlink": self = .downlink(try DownlinkEvent(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown type \(type)")
        }
    }

    /// Encodes the payload's fields and `type` into one flat object.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: TypeKey.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .joined(let m): try m.encode(to: encoder)
        case .resumed(let m): try m.encode(to: encoder)
        case .roster(let m): try m.encode(to: encoder)
        case .slots(let m): try m.encode(to: encoder)
        case .error(let m): try m.encode(to: encoder)
        case .left(let m): try m.encode(to: encoder)
        case .ok(let m): try m.encode(to: encoder)
        case .session(let m): try m.encode(to: encoder)
        case .broadcast(let m): try m.encode(to: encoder)
        case .chat(let m): try m.encode(to: encoder)
        case .speaking(let m): try m.encode(to: encoder)
        case .serverShutdown(let m): try m.encode(to: encoder)
        case .redirect(let m): try m.encode(to: encoder)
        case .iceRestarted(let m): try m.encode(to: encoder)
        case .downlink(let m): try m.encode(to: encoder)
        }
    }
}

/// One participant as the others see them.
public struct RosterEntry: Codable, Equatable, Sendable {
    /// Server-assigned id, stable for this connection's lifetime.
    public var participantId: String
    /// Display name.
    public var name: String
    /// host, co-host or participant.
    public var role: ParticipantRole
    /// The room the participant is in ("main" or a breakout room id).
    public var room: String

    /// Creates a roster entry.
    public init(participantId: String, name: String, role: ParticipantRole, room: String) {
        self.participantId = participantId
        self.name = name
        self.role = role
        self.room = room
    }
}

/// What a receive slot carries (ARCHITECTURE "Subscriptions: slots").
public enum SlotTrack: String, Codable, Sendable {
    /// A participant's microphone, forwarded.
    case microphone
    /// A participant's camera.
    case camera
    /// A participant's screen share.
    case screen
    /// The server's audio mix of the room (no single participant).
    case mix
}

/// The source currently mapped into one receive slot.
public struct SlotSource: Codable, Equatable, Sendable {
    /// Whose track fills the slot; absent for `mix`.
    public var participantId: String?
    /// Which of their tracks.
    public var track: SlotTrack
    /// For `mix`: the breakout room a host listens in on, when the mix is not
    /// of the host's own room.
    public var room: String?
    /// For a video slot that has carried media: the RTP timestamp of the last
    /// packet sent before its current source. Frames with a timestamp newer
    /// than this (RFC 1982 serial order) are the current source's, so a
    /// client keeps a tile dark until one renders (docs/PROTOCOL.md, `slots`).
    public var after: UInt32?

    /// Creates a slot source.
    public init(participantId: String?, track: SlotTrack, room: String? = nil, after: UInt32? = nil) {
        self.participantId = participantId
        self.track = track
        self.room = room
        self.after = after
    }
}

/// Receive slot (the SDP `mid` of the m-line, RFC 8843 §15) → its current source.
/// A slot absent from the map is empty.
public typealias SlotMap = [String: SlotSource]

/// `joined` payload.
public struct Joined: Codable, Equatable, Sendable {
    /// The `join` request's id.
    public var id: String
    /// This participant's id, as it appears in rosters and slot maps.
    public var participantId: String
    /// The room joined.
    public var room: String
    /// The SDP answer.
    public var sdp: String
    /// The initial slot map.
    public var slots: SlotMap
    /// The initial roster.
    public var roster: [RosterEntry]
    /// Version of `slots`: a later `slots` message applies only if its version is higher.
    public var slotsVersion: Int?
    /// STUN/TURN servers for the client's RTCPeerConnection (`--ice-servers`),
    /// TURN ones with credentials made for this participant; absent when none are configured.
    public var iceServers: [IceServer]?
    /// The token for a `resume` after a dropped WebSocket; absent when the server has resume off.
    public var resumeToken: String?
    /// Seconds the server keeps a participant whose WebSocket dropped (`--resume-grace`).
    public var resumeGrace: Int?

    /// Creates a `joined` reply.
    public init(id: String, participantId: String, room: String, sdp: String, slots: SlotMap, roster: [RosterEntry],
                slotsVersion: Int? = nil, iceServers: [IceServer]? = nil, resumeToken: String? = nil, resumeGrace: Int? = nil) {
        self.iceServers = iceServers
        self.id = id
        self.participantId = participantId
        self.room = room
        self.sdp = sdp
        self.slots = slots
        self.roster = roster
        self.slotsVersion = slotsVersion
        self.resumeToken = resumeToken
        self.resumeGrace = resumeGrace
    }
}

/// `resumed` payload: what `joined` gives, as of now, without SDP (the media
/// session never stopped), and the next resume token.
public struct Resumed: Codable, Equatable, Sendable {
    /// The `resume` request's id.
    public var id: String
    /// The participant, unchanged.
    public var participantId: String
    /// The room it is in now (`"waiting"` while in the waiting room).
    public var room: String
    /// The current slot map.
    public var slots: SlotMap
    /// Its version (see `SlotUpdate.version`).
    public var slotsVersion: Int?
    /// The current roster of its room.
    public var roster: [RosterEntry]
    /// The token for the next resume; the one just presented is spent.
    public var resumeToken: String
    /// Seconds the server keeps a participant whose WebSocket dropped.
    public var resumeGrace: Int

    /// Creates a `resumed` reply.
    public init(id: String, participantId: String, room: String, slots: SlotMap, slotsVersion: Int?,
                roster: [RosterEntry], resumeToken: String, resumeGrace: Int) {
        self.id = id
        self.participantId = participantId
        self.room = room
        self.slots = slots
        self.slotsVersion = slotsVersion
        self.roster = roster
        self.resumeToken = resumeToken
        self.resumeGrace = resumeGrace
    }
}

/// One entry of `joined.iceServers`, shaped like WebRTC's `RTCIceServer`
/// so a browser can pass it to `RTCPeerConnection` as it is.
public struct IceServer: Codable, Equatable, Sendable {
    /// `stun:`, `turn:` or `turns:` URLs (RFC 7064, RFC 7065).
    public var urls: [String]
    /// For TURN: `"<expiry unix time>:<participant>"` (TURN REST credentials).
    public var username: String?
    /// For TURN: base64(HMAC-SHA1(shared secret, username)).
    public var credential: String?

    /// Creates an entry.
    public init(urls: [String], username: String? = nil, credential: String? = nil) {
        self.urls = urls
        self.username = username
        self.credential = credential
    }
}

/// `roster` payload: the full list, not a delta, so a lost update cannot desynchronise.
public struct RosterUpdate: Codable, Equatable, Sendable {
    /// Everyone this participant may see.
    public var participants: [RosterEntry]

    /// Creates a roster update.
    public init(participants: [RosterEntry]) { self.participants = participants }
}

/// `slots` payload: the full map, not a delta.
public struct SlotUpdate: Codable, Equatable, Sendable {
    /// Slot → source.
    public var map: SlotMap
    /// Increases with every change of this participant's slots. Pushes can
    /// overtake the `joined` reply, so clients apply a map only if its
    /// version is higher than the one they hold.
    public var version: Int?

    /// Creates a slot update.
    public init(map: SlotMap, version: Int? = nil) {
        self.map = map
        self.version = version
    }
}

/// `error` payload.
public struct ErrorReply: Codable, Equatable, Sendable, Error {
    /// The id of the request that failed, when the failure belongs to one.
    public var id: String?
    /// Machine-readable code (docs/PROTOCOL.md "Error codes").
    public var code: ErrorCode
    /// Human-readable detail, in English, for logs; never shown verbatim to therapy clients.
    public var message: String
    /// Seconds after which the same request may succeed (e.g. `directory-unavailable`); absent when unknown.
    public var retryAfter: Int?

    /// Creates an error reply.
    public init(id: String? = nil, code: ErrorCode, message: String, retryAfter: Int? = nil) {
        self.id = id
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }
}

/// `left` payload.
public struct Left: Codable, Equatable, Sendable {
    /// The `leave` request's id; absent when the server removed the participant.
    public var id: String?
    /// Why the server removed the participant (e.g. "removed", "session-ended"); absent after `leave`.
    public var reason: String?

    /// Creates a `left` message.
    public init(id: String? = nil, reason: String? = nil) {
        self.id = id
        self.reason = reason
    }
}
