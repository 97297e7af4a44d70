/// One fact for the attendance and audit records (ARCHITECTURE.md,
/// "Records"): who joined, left, changed room, started or stopped sending
/// audio or video, and which host action was taken on whom. Never media,
/// chat or broadcast text. The engine emits these through
/// `MediaEngineDelegate.engine(record:)`; a writer outside the engine stores
/// them, so the engine stays sans-IO.
public struct RecordEvent: Sendable, Equatable {
    /// Wall-clock time, Unix milliseconds (`EngineConfiguration.unixNanosecondsAtZero` + `now`).
    public var unixMilliseconds: Int64
    /// The therapy session.
    public var session: String
    /// What happened.
    public var kind: Kind

    /// Creates an event.
    public init(unixMilliseconds: Int64, session: String, kind: Kind) {
        self.unixMilliseconds = unixMilliseconds
        self.session = session
        self.kind = kind
    }

    /// A person as records name them: the token's `sub` when it had one
    /// (stable across joins), else the participant id of this join.
    public struct Person: Sendable, Equatable {
        /// The participant id of this join.
        public var participant: ParticipantID
        /// The token's `sub` claim, if any.
        public var subject: String?
        /// Display name.
        public var name: String
        /// Role.
        public var role: Role

        /// Creates a person.
        public init(participant: ParticipantID, subject: String?, name: String, role: Role) {
            self.participant = participant
            self.subject = subject
            self.name = name
            self.role = role
        }

        /// `subject` when present, else the participant id.
        public var key: String { subject ?? participant }
    }

    /// What happened.
    public enum Kind: Sendable, Equatable {
        /// `person` joined (into the waiting room or a room; a `room` event follows).
        case joined(Person)
        /// `person` left; `reason` is a `RemovalReason` raw value or `server-shutdown`.
        case left(Person, reason: String)
        /// `person` is now in `room` (`waiting` for the waiting room).
        case room(Person, RoomID)
        /// `person`'s published audio or video started (`true`) or stopped flowing.
        case flow(Person, TrackKind, Bool)
        /// A host action: its name (`HostAction`), who took it, on whom, and
        /// a detail that is never free text (a room id, "muted", a countdown).
        case hostAction(String, actor: Person, target: Person?, detail: String?)
    }
}

/// The reason recorded for everyone still present when the server stops.
public let serverShutdownReason = "server-shutdown"
