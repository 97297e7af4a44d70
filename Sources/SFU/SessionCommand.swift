/// A command about the shape of a therapy session: breakout rooms, moves,
/// listen-in, mute, admission, and the participant's own hand and chat.
/// Host commands are refused with `SFUError.forbidden` for anyone else.
public enum SessionCommand: Sendable, Equatable {
    /// Create breakout rooms with these names (before they are opened).
    case createRooms(names: [String])
    /// Plan (or, while open, apply) who goes to which room.
    case assign([ParticipantID: RoomID])
    /// Spread the participants evenly over the breakout rooms.
    case assignBalanced
    /// Send everyone to their planned room.
    case openRooms
    /// Move one participant while rooms are open (or back to "main").
    case move(ParticipantID, to: RoomID)
    /// A text to every room.
    case broadcast(String)
    /// Bring everyone back to the main room after a countdown every participant sees.
    case closeRooms(countdownSeconds: Int)
    /// Listen in on a room (nil: stop); the room is told.
    case listen(RoomID?)
    /// The host moves to a room.
    case joinRoom(RoomID)
    /// Server-enforced mute or unmute of a participant's audio.
    case setMuted(ParticipantID, Bool)
    /// Remove a participant from the session.
    case remove(ParticipantID)
    /// End the session for everyone.
    case endSession
    /// Let a participant in from the waiting room.
    case admit(ParticipantID)
    /// Turn a participant away from the waiting room.
    case deny(ParticipantID)
    /// Let a removed person (named by the id it had) join again.
    case unban(ParticipantID)
    /// Raise or lower the sender's own hand.
    case setHandRaised(Bool)
    /// The sender turned its own microphone off (true) or on: shown to the
    /// others (`SessionView.microphoneOff`); the server changes no media.
    case setSelfMuted(Bool)
    /// A chat line to the sender's own room; delivered, never stored.
    case chat(String)
    /// The sender's own audio mode: forwarded streams or one mix (no renegotiation).
    case setMixedAudio(Bool)
    /// The sender starts or stops sharing its screen with its room.
    case setScreenSharing(Bool)
    /// Whether participants (not only hosts and co-hosts) may share their screen.
    case allowScreenSharing(Bool)
    /// The widths, in device pixels, the sender renders its video slots'
    /// tiles at, by mid (0: not shown): its downlink allocation pauses the
    /// hidden ones (and, with simulcast, picks layers by them).
    case setTileWidths([String: Int])

    /// Whether only a host (or co-host) may send it.
    public var requiresHost: Bool {
        switch self {
        case .setHandRaised, .setSelfMuted, .chat, .setMixedAudio, .setScreenSharing, .setTileWidths: return false
        default: return true
        }
    }

    /// Longest broadcast or chat text, in characters...
    public static let maxTextLength = 2_000
    /// ...and in UTF-8 bytes (a character has no size limit of its own).
    public static let maxTextBytes = 8_000
    /// Longest breakout room name, in characters and in UTF-8 bytes.
    public static let maxRoomNameLength = 100
    public static let maxRoomNameBytes = 400
    /// Whether a broadcast or chat text is within both limits (bytes first: cheap).
    static func isAcceptableText(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= maxTextBytes && text.count <= maxTextLength
    }

    /// Most breakout rooms in one session.
    public static let maxRooms = 50
    /// Longest close countdown, in seconds.
    public static let maxCountdown = 300
    /// Widest tile a client may report, in device pixels (an 8K screen).
    public static let maxTileWidth = 7_680
}

/// A breakout room.
public struct BreakoutRoom: Codable, Equatable, Sendable {
    /// Its id ("r1", "r2", ...).
    public var id: RoomID
    /// Its name, unique in the session.
    public var name: String
}

/// What a participant is shown of the session's shape; sent whole on every
/// change, with a version, so two hosts always converge on the same state.
public struct SessionView: Codable, Equatable, Sendable {
    /// One room and who is in it.
    public struct Room: Codable, Equatable, Sendable {
        /// "main" or a breakout id.
        public var id: RoomID
        /// Display name.
        public var name: String
        /// Participants in it, in joining order.
        public var members: [ParticipantID]
        /// Hosts listening in on it (the room is told).
        public var listeners: [ParticipantID]
        /// Who shares a screen in it, if anyone.
        public var screen: ParticipantID? = nil
    }

    /// Grows with every change.
    public var version: Int
    /// The main room first, then breakout rooms.
    public var rooms: [Room]
    /// Whether breakout rooms are open.
    public var breakoutsOpen: Bool
    /// Seconds until the rooms close, while a close countdown runs.
    public var closingInSeconds: Int?
    /// Whole seconds since the breakout rooms opened, while they are open
    /// (the hosts' per-room timer); a relative time, so no client needs the
    /// server's clock.
    public var openForSeconds: Int? = nil
    /// Planned or current assignments.
    public var assignments: [ParticipantID: RoomID]
    /// The waiting room: everyone for hosts, only themselves for a waiting participant.
    public var waiting: [RosterMember]
    /// Participants whose audio the server mutes.
    public var muted: [ParticipantID]
    /// Raised hands, in the order raised.
    public var handsRaised: [ParticipantID]
    /// Display names of everyone in the session's rooms, so hosts can name people in other rooms (the waiting are named in `waiting`).
    public var names: [ParticipantID: String]
    /// People a host removed, who cannot join this session again until a
    /// host lets them (`unban`); for hosts only, empty for everyone else.
    public var removed: [RemovedPerson] = []
    /// True when a host lets participants share their screen
    /// (`screen-permission`); absent while only hosts and co-hosts may.
    public var participantsMayShare: Bool? = nil
    /// Who turned their own microphone off (`self-mute`), sorted; absent
    /// while nobody has.
    public var microphoneOff: [ParticipantID]? = nil

    /// A removed person: the participant id it had and its name.
    public struct RemovedPerson: Codable, Equatable, Sendable {
        public var participantId: ParticipantID
        public var name: String
        public init(participantId: ParticipantID, name: String) {
            self.participantId = participantId
            self.name = name
        }
    }
}

/// A text for participants, never stored.
public enum SessionMessage: Sendable, Equatable {
    /// A host's broadcast to all rooms.
    case broadcast(fromName: String, text: String)
    /// A chat line within a room.
    case chat(from: ParticipantID, fromName: String, text: String)
    /// Who in the recipient's room is speaking now (RFC 6464 voice activity), on change, at most every 300 ms.
    case speaking([ParticipantID])
}
