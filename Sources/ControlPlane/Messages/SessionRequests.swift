import SFU

/// Payloads of the session commands (docs/PROTOCOL.md, "Session commands").
/// Each carries the request `id` that `ok` or `error` echoes.
public enum SessionRequests {
    /// `create-rooms`: `{id, names: [String]}`.
    public struct CreateRooms: Codable, Equatable, Sendable { public var id: String; public var names: [String] }
    /// `assign`: `{id, assignments: {participantId: roomId}}` or `{id, balanced: true}`.
    public struct Assign: Codable, Equatable, Sendable {
        public var id: String
        public var assignments: [String: String]?
        public var balanced: Bool?
    }
    /// Requests with only an id: `open-rooms`, `end-session`.
    public struct Bare: Codable, Equatable, Sendable { public var id: String }
    /// `move`: `{id, participantId, room}`.
    public struct Move: Codable, Equatable, Sendable { public var id: String; public var participantId: String; public var room: String }
    /// `broadcast` and `chat`: `{id, text}`.
    public struct Text: Codable, Equatable, Sendable { public var id: String; public var text: String }
    /// `close-rooms`: `{id, countdown}` in seconds.
    public struct CloseRooms: Codable, Equatable, Sendable { public var id: String; public var countdown: Int }
    /// `listen`: `{id, room}`; a null or absent room stops listening.
    public struct Listen: Codable, Equatable, Sendable { public var id: String; public var room: String? }
    /// `join-room`: `{id, room}`.
    public struct JoinRoom: Codable, Equatable, Sendable { public var id: String; public var room: String }
    /// `mute`: `{id, participantId, muted}`.
    public struct Mute: Codable, Equatable, Sendable { public var id: String; public var participantId: String; public var muted: Bool }
    /// `remove`, `admit`, `deny`, `unban`: `{id, participantId}`.
    public struct Target: Codable, Equatable, Sendable { public var id: String; public var participantId: String }
    /// `audio-mode`: `{id, mode: "forward" | "mix"}`.
    public struct SetAudioMode: Codable, Equatable, Sendable { public var id: String; public var mode: AudioMode }
    /// `hand`: `{id, raised}`.
    public struct Hand: Codable, Equatable, Sendable { public var id: String; public var raised: Bool }
    /// `self-mute`: `{id, muted}`: the sender turned its own microphone off or on (shown to others).
    public struct SelfMute: Codable, Equatable, Sendable { public var id: String; public var muted: Bool }
    /// `screen-share`: `{id, sharing}`: the sender starts or stops sharing its screen.
    public struct ScreenShare: Codable, Equatable, Sendable { public var id: String; public var sharing: Bool }
    /// `tile-widths`: `{id, widths: {mid: device pixels}}`: how wide the sender
    /// shows each of its video slots' tiles (0: not shown).
    public struct TileWidths: Codable, Equatable, Sendable { public var id: String; public var widths: [String: Int] }
    /// `screen-permission`: `{id, allowed}`: whether participants may share (a host command).
    public struct ScreenPermission: Codable, Equatable, Sendable { public var id: String; public var allowed: Bool }
}

/// `ok`: a session command was carried out.
public struct OkReply: Codable, Equatable, Sendable {
    /// The request's id.
    public var id: String
    /// Creates a reply.
    public init(id: String) { self.id = id }
}

/// `broadcast`: a host's text to every room.
public struct BroadcastEvent: Codable, Equatable, Sendable {
    /// The host's display name.
    public var from: String
    /// The text.
    public var text: String
    /// Creates the event.
    public init(from: String, text: String) { self.from = from; self.text = text }
}

/// `server-shutdown`: the server is stopping (a restart or an upgrade): media
/// has stopped (RTCP BYE), and the WebSocket closes with 1001 next.
public struct ServerShutdown: Codable, Equatable, Sendable {
    /// Seconds after which joining again (with the same link) makes sense.
    public var retryAfter: Int
    /// Creates the notice.
    public init(retryAfter: Int) { self.retryAfter = retryAfter }
}

/// `speaking`: who in this room is speaking now; sent on change, at most every 300 ms.
public struct SpeakingEvent: Codable, Equatable, Sendable {
    /// Participant ids, sorted.
    public var participants: [String]
    /// Creates the event.
    public init(participants: [String]) { self.participants = participants }
}

/// `downlink`: what this participant's downlink allocation decided
/// (docs/BANDWIDTH.md): video slots paused because its connection cannot
/// carry them ("video paused — poor connection"), and whether one mixed
/// audio stream (`audio-mode` `mix`) would carry the room better. Sent when
/// either changes; an empty `paused` means every video slot flows again.
public struct DownlinkEvent: Codable, Equatable, Sendable {
    /// Mids of the paused video slots.
    public var paused: [String]
    /// Even the separate audio streams do not fit the estimate.
    public var suggestAudioMix: Bool
    /// Creates the event.
    public init(paused: [String], suggestAudioMix: Bool) {
        self.paused = paused
        self.suggestAudioMix = suggestAudioMix
    }
}

/// `chat`: a line from someone in the same room. Delivered, never stored.
public struct ChatEvent: Codable, Equatable, Sendable {
    /// Sender's participant id.
    public var from: String
    /// Sender's display name.
    public var name: String
    /// The text.
    public var text: String
    /// Creates the event.
    public init(from: String, name: String, text: String) { self.from = from; self.name = name; self.text = text }
}

/// `redirect`: the answer to a `join` that reached a node other than the one
/// its session is placed on (docs/SCALE-OUT.md). The server closes the socket
/// with 1000 after it; the client opens `url` and sends the same `join`.
public struct Redirect: Codable, Equatable, Sendable {
    /// The `join` request's id.
    public var id: String?
    /// The WebSocket URL of the session's node (`ws://` or `wss://`).
    public var url: String
    /// Creates the message.
    public init(id: String? = nil, url: String) {
        self.id = id
        self.url = url
    }
}
