import Foundation

/// A load-test scenario, read from a JSON file in `loadtest/scenarios/`.
///
/// Every field except `name` has a default, so a scenario file states only
/// what makes it different. Times are seconds from the start of the run.
public struct Scenario: Codable, Equatable, Sendable {
    /// Short name, used in the results directory.
    public var name: String
    /// One sentence for the report.
    public var description: String
    /// Number of therapy sessions (groups), each with its own token `sid`.
    public var sessions: Int
    /// Participants per session (the host counts as one).
    public var participantsPerSession: Int
    /// What each participant publishes.
    public var media: MediaProfile
    /// `"forward"` or `"mix"` (`"mixed"` is accepted as a synonym).
    public var audioMode: String
    /// Receive slots per kind in each offer; 0 means participantsPerSession − 1.
    public var slots: Int
    /// How many members of each session speak (the first ones, the host
    /// first); 0 means everyone. The others keep sending audio as a
    /// microphone that hears silence does without DTX: packets every 20 ms
    /// marked silent (RFC 6464 V=0, level 127), so a mixer that follows the
    /// speakers may skip them.
    public var speakersPerSession: Int
    /// Joins are spread evenly over this many seconds.
    public var rampSeconds: Double
    /// Length of the measured run after the ramp started, in seconds.
    public var durationSeconds: Double
    /// Impairments the harness adds on its own side of the wire.
    public var network: NetworkImpairment
    /// Churn and breakout choreography, in time order.
    public var events: [ScenarioEvent]

    /// Creates a scenario; see the properties for the meaning of each field.
    public init(name: String, description: String = "", sessions: Int = 1, participantsPerSession: Int = 4,
                media: MediaProfile = MediaProfile(), audioMode: String = "forward", slots: Int = 0,
                speakersPerSession: Int = 0, rampSeconds: Double = 1, durationSeconds: Double = 10,
                network: NetworkImpairment = NetworkImpairment(), events: [ScenarioEvent] = []) {
        self.name = name
        self.description = description
        self.sessions = sessions
        self.participantsPerSession = participantsPerSession
        self.media = media
        self.audioMode = audioMode
        self.slots = slots
        self.speakersPerSession = speakersPerSession
        self.rampSeconds = rampSeconds
        self.durationSeconds = durationSeconds
        self.network = network
        self.events = events
    }

    enum CodingKeys: String, CodingKey {
        case name, description, sessions, participantsPerSession, media, audioMode, slots, speakersPerSession
        case rampSeconds, durationSeconds, network, events
    }

    /// Decodes with defaults for absent fields.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Scenario(name: "")
        name = try c.decode(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? d.description
        sessions = try c.decodeIfPresent(Int.self, forKey: .sessions) ?? d.sessions
        participantsPerSession = try c.decodeIfPresent(Int.self, forKey: .participantsPerSession) ?? d.participantsPerSession
        media = try c.decodeIfPresent(MediaProfile.self, forKey: .media) ?? d.media
        audioMode = try c.decodeIfPresent(String.self, forKey: .audioMode) ?? d.audioMode
        slots = try c.decodeIfPresent(Int.self, forKey: .slots) ?? d.slots
        speakersPerSession = try c.decodeIfPresent(Int.self, forKey: .speakersPerSession) ?? d.speakersPerSession
        rampSeconds = try c.decodeIfPresent(Double.self, forKey: .rampSeconds) ?? d.rampSeconds
        durationSeconds = try c.decodeIfPresent(Double.self, forKey: .durationSeconds) ?? d.durationSeconds
        network = try c.decodeIfPresent(NetworkImpairment.self, forKey: .network) ?? d.network
        events = try c.decodeIfPresent([ScenarioEvent].self, forKey: .events) ?? d.events
    }

    /// Total simulated participants.
    public var totalParticipants: Int { sessions * participantsPerSession }

    /// Receive slots per kind to offer.
    public var effectiveSlots: Int { slots > 0 ? slots : max(1, participantsPerSession - 1) }

    /// The wire value of `audioMode` (docs/PROTOCOL.md `join`).
    public var wireAudioMode: String { audioMode == "mixed" ? "mix" : audioMode }

    /// Parses and validates a scenario file's bytes.
    public static func parse(_ data: Data) throws(ScenarioError) -> Scenario {
        let s: Scenario
        do { s = try JSONDecoder().decode(Scenario.self, from: data) } catch {
            throw .malformed("\(error)")
        }
        try s.validate()
        return s
    }

    /// Reads and validates the scenario at `path`.
    public static func load(path: String) throws(ScenarioError) -> Scenario {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        return try parse(data)
    }

    /// Checks ranges, so a typo fails before any socket opens.
    public func validate() throws(ScenarioError) {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw .invalid("name must be letters, digits, '-' or '_'")
        }
        guard (1...1000).contains(sessions) else { throw .invalid("sessions must be 1...1000") }
        guard (1...100).contains(participantsPerSession) else { throw .invalid("participantsPerSession must be 1...100") }
        guard totalParticipants <= 2000 else { throw .invalid("at most 2000 participants in one process") }
        guard ["forward", "mix", "mixed"].contains(audioMode) else { throw .invalid("audioMode must be forward or mix") }
        guard (0...32).contains(slots) else { throw .invalid("slots must be 0...32") }
        guard (0...participantsPerSession).contains(speakersPerSession) else {
            throw .invalid("speakersPerSession must be 0...participantsPerSession")
        }
        guard rampSeconds >= 0, rampSeconds <= 3600 else { throw .invalid("rampSeconds must be 0...3600") }
        guard durationSeconds > 0, durationSeconds <= 3600 else { throw .invalid("durationSeconds must be in (0, 3600]") }
        try media.validate()
        try network.validate()
        for e in events {
            guard e.at >= 0, e.at <= durationSeconds else { throw .invalid("event at \(e.at) s is outside the run") }
            guard e.count >= 0 else { throw .invalid("event count must be >= 0") }
        }
    }
}

/// What one participant publishes.
public struct MediaProfile: Codable, Equatable, Sendable {
    /// Publish Opus audio (20 ms frames of a tone).
    public var audio: Bool
    /// Publish synthetic VP8-like video.
    public var video: Bool
    /// Video bitrate in kbit/s.
    public var videoKbps: Int
    /// Video frames per second.
    public var videoFPS: Int
    /// Seconds between periodic keyframes; 0 for keyframes only at start and on PLI.
    public var keyframeIntervalSeconds: Double

    /// Creates a profile.
    public init(audio: Bool = true, video: Bool = false, videoKbps: Int = 300, videoFPS: Int = 15,
                keyframeIntervalSeconds: Double = 0) {
        self.audio = audio
        self.video = video
        self.videoKbps = videoKbps
        self.videoFPS = videoFPS
        self.keyframeIntervalSeconds = keyframeIntervalSeconds
    }

    enum CodingKeys: String, CodingKey { case audio, video, videoKbps, videoFPS, keyframeIntervalSeconds }

    /// Decodes with defaults for absent fields.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MediaProfile()
        audio = try c.decodeIfPresent(Bool.self, forKey: .audio) ?? d.audio
        video = try c.decodeIfPresent(Bool.self, forKey: .video) ?? d.video
        videoKbps = try c.decodeIfPresent(Int.self, forKey: .videoKbps) ?? d.videoKbps
        videoFPS = try c.decodeIfPresent(Int.self, forKey: .videoFPS) ?? d.videoFPS
        keyframeIntervalSeconds = try c.decodeIfPresent(Double.self, forKey: .keyframeIntervalSeconds)
            ?? d.keyframeIntervalSeconds
    }

    func validate() throws(ScenarioError) {
        guard audio || video else { throw .invalid("media must publish audio, video or both") }
        guard (10...20_000).contains(videoKbps) else { throw .invalid("videoKbps must be 10...20000") }
        guard (1...60).contains(videoFPS) else { throw .invalid("videoFPS must be 1...60") }
        guard keyframeIntervalSeconds >= 0 else { throw .invalid("keyframeIntervalSeconds must be >= 0") }
    }
}

/// Loss and jitter the harness adds itself, so the report can tell them
/// apart from what the server did.
public struct NetworkImpairment: Codable, Equatable, Sendable {
    /// Percent of our outgoing RTP dropped before the socket.
    public var uplinkLossPercent: Double
    /// Percent of incoming RTP dropped before decryption.
    public var downlinkLossPercent: Double
    /// Outgoing RTP is delayed by a uniform 0...jitterMs milliseconds.
    public var jitterMs: Double

    /// Creates an impairment (none by default).
    public init(uplinkLossPercent: Double = 0, downlinkLossPercent: Double = 0, jitterMs: Double = 0) {
        self.uplinkLossPercent = uplinkLossPercent
        self.downlinkLossPercent = downlinkLossPercent
        self.jitterMs = jitterMs
    }

    enum CodingKeys: String, CodingKey { case uplinkLossPercent, downlinkLossPercent, jitterMs }

    /// Decodes with defaults for absent fields.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        uplinkLossPercent = try c.decodeIfPresent(Double.self, forKey: .uplinkLossPercent) ?? 0
        downlinkLossPercent = try c.decodeIfPresent(Double.self, forKey: .downlinkLossPercent) ?? 0
        jitterMs = try c.decodeIfPresent(Double.self, forKey: .jitterMs) ?? 0
    }

    func validate() throws(ScenarioError) {
        guard (0...50).contains(uplinkLossPercent), (0...50).contains(downlinkLossPercent) else {
            throw .invalid("loss percentages must be 0...50")
        }
        guard (0...500).contains(jitterMs) else { throw .invalid("jitterMs must be 0...500") }
    }
}

/// One step of churn or breakout choreography.
public struct ScenarioEvent: Codable, Equatable, Sendable {
    /// Seconds from the start of the run.
    public var at: Double
    /// What happens.
    public var action: ScenarioAction
    /// How many participants it touches (per session), where that applies.
    public var count: Int
    /// Breakout rooms to create (`split`) or the room to act on.
    public var rooms: Int
    /// Free text carried into the report (e.g. "therapist checks room 2").
    public var note: String

    /// Creates an event.
    public init(at: Double, action: ScenarioAction, count: Int = 1, rooms: Int = 0, note: String = "") {
        self.at = at
        self.action = action
        self.count = count
        self.rooms = rooms
        self.note = note
    }

    enum CodingKeys: String, CodingKey { case at, action, count, rooms, note }

    /// Decodes with defaults for absent fields.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        at = try c.decode(Double.self, forKey: .at)
        action = try c.decode(ScenarioAction.self, forKey: .action)
        count = try c.decodeIfPresent(Int.self, forKey: .count) ?? 1
        rooms = try c.decodeIfPresent(Int.self, forKey: .rooms) ?? 0
        note = try c.decodeIfPresent(String.self, forKey: .note) ?? ""
    }
}

/// The actions a scenario can schedule.
public enum ScenarioAction: String, Codable, Equatable, Sendable, CaseIterable {
    /// `count` participants per session send `leave` and close.
    case leave
    /// `count` participants per session stop everything without `leave`
    /// (no Close frame, no consent): a laptop lid shut.
    case vanish
    /// Up to `count` participants per session who left or vanished join again.
    case rejoin
    /// The host splits the session into `rooms` breakout rooms.
    case split
    /// The host moves `count` participants to another breakout room.
    case move
    /// The host listens in on breakout room `rooms`.
    case listenIn
    /// The host closes all breakout rooms, everyone returns to main.
    case close

    /// Whether the host (member 0) carries it out with a session command
    /// (docs/PROTOCOL.md "Session commands") rather than the harness itself.
    public var isHostCommand: Bool {
        switch self {
        case .leave, .vanish, .rejoin: return false
        case .split, .move, .listenIn, .close: return true
        }
    }
}

/// Why a scenario could not be used.
public enum ScenarioError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(String)
    /// Not valid JSON, or a field of the wrong type.
    case malformed(String)
    /// A value out of range.
    case invalid(String)

    /// A message for the command line.
    public var description: String {
        switch self {
        case .unreadable(let p): return "cannot read scenario file \(p)"
        case .malformed(let why): return "scenario is not valid: \(why)"
        case .invalid(let why): return "scenario is out of range: \(why)"
        }
    }
}
