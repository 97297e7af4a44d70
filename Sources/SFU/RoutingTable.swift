/// A participant's id within a therapy session.
public typealias ParticipantID = String

/// Media kinds that have receive slots.
public enum TrackKind: String, Codable, Sendable, CaseIterable {
    /// Opus audio.
    case audio
    /// Video (VP8): the camera.
    case video
    /// A screen share (VP8): its own send section and its own receive slot
    /// (marked `a=content:slides`, RFC 4796), filled by the one member of the
    /// room who shares.
    case screen

    /// Whether the packets are video (VP8): the camera and the screen share.
    public var isVideo: Bool { self != .audio }
    /// The SDP media type of its sections (RFC 8866 §5.14).
    public var media: String { isVideo ? "video" : "audio" }
}

/// What fills one receive slot: a publisher's track, or (audio only) a room's mix.
public enum SlotFill: Hashable, Sendable {
    /// The publisher's microphone, camera or screen share, by the slot's kind.
    case publisher(ParticipantID)
    /// The mix of a room (the own room, or one a host listens in on).
    case mix(RoomID)
}

/// Who receives whom, and through which slot: the one place where the
/// isolation rule is enforced (ARCHITECTURE.md, "Rooms, roles and the
/// isolation rule").
///
/// Every forwarding decision reads `targets(of:kind:)`, which is rebuilt from
/// room membership after each change; a subscriber is a target only of
/// publishers in its own room. Runs on the session's loop; not thread-safe.
public struct RoutingTable: Sendable {
    /// One participant's place in the table.
    public struct Member: Sendable, Equatable {
        /// The room the participant is in.
        public var room: RoomID
        /// Order of joining, to fill slots stably.
        public var order: Int
        /// Which publisher fills each audio slot (nil = empty).
        public var audioSlots: [ParticipantID?]
        /// Which publisher fills each video slot (nil = empty).
        public var videoSlots: [ParticipantID?]
        /// Whether the participant receives media at all (false in the waiting room).
        public var receives: Bool
        /// Whether the participant's media is forwarded at all.
        public var publishes: Bool
        /// Server-enforced mute: the participant's audio reaches nobody.
        public var audioMuted = false
        /// A host listening in on another room hears that room's audio too.
        public var listening: RoomID?
        /// Mixed audio mode: the participant hears its room as one mix (slot 0),
        /// so no forwarded audio goes into its slots.
        public var mixedAudio = false
        /// Which sharer fills the screen slot (none, or one when the offer has one).
        public var screenSlots: [ParticipantID?] = []
        /// Whether the participant shares its screen with its room. Cleared
        /// by a move: a share never follows its sharer into another room.
        public var sharing = false

        func slots(_ kind: TrackKind) -> [ParticipantID?] {
            switch kind {
            case .audio: audioSlots
            case .video: videoSlots
            case .screen: screenSlots
            }
        }
    }

    /// A subscriber and the slot index through which it receives a publisher.
    public struct Target: Sendable, Equatable {
        /// The receiving participant.
        public var subscriber: ParticipantID
        /// Index into its slots of that kind.
        public var slot: Int
    }

    /// All members by id.
    public private(set) var members: [ParticipantID: Member] = [:]
    private var nextOrder = 0
    private var audioTargets: [ParticipantID: [Target]] = [:]
    private var videoTargets: [ParticipantID: [Target]] = [:]
    private var screenTargets: [ParticipantID: [Target]] = [:]

    /// Creates an empty table.
    public init() {}

    /// Adds a participant to `room` with the given numbers of receive slots.
    /// Returns the participants whose slot maps changed.
    @discardableResult
    public mutating func add(_ id: ParticipantID, room: RoomID, audioSlots: Int, videoSlots: Int, screenSlots: Int = 0,
                             receives: Bool = true, publishes: Bool = true) -> Set<ParticipantID> {
        members[id] = Member(room: room, order: nextOrder, audioSlots: Array(repeating: nil, count: audioSlots),
                             videoSlots: Array(repeating: nil, count: videoSlots), receives: receives, publishes: publishes,
                             screenSlots: Array(repeating: nil, count: min(screenSlots, 1)))
        nextOrder += 1
        return rebuild()
    }

    /// Removes a participant. Returns the participants whose slot maps changed.
    @discardableResult
    public mutating func remove(_ id: ParticipantID) -> Set<ParticipantID> {
        guard members.removeValue(forKey: id) != nil else { return [] }
        return rebuild()
    }

    /// Moves a participant to another room. Returns the participants whose slot maps changed.
    @discardableResult
    public mutating func move(_ id: ParticipantID, to room: RoomID) -> Set<ParticipantID> {
        guard members[id] != nil, members[id]?.room != room else { return [] }
        members[id]?.room = room
        members[id]?.sharing = false
        // The mover always counts as changed: a mixed listener's mix changes room
        // even when none of its slots change.
        return rebuild().union([id])
    }

    /// Sets whether a participant sends and receives media (waiting room, admission).
    @discardableResult
    public mutating func setFlow(_ id: ParticipantID, receives: Bool, publishes: Bool) -> Set<ParticipantID> {
        guard members[id] != nil else { return [] }
        members[id]?.receives = receives
        members[id]?.publishes = publishes
        if !publishes { members[id]?.sharing = false }
        // A mixed listener's mix slot follows `receives` without any forwarded slot changing.
        return members[id]?.mixedAudio == true ? rebuild().union([id]) : rebuild()
    }

    /// The subscribers (and their slots) that receive `publisher`'s media of `kind`.
    public func targets(of publisher: ParticipantID, kind: TrackKind) -> [Target] {
        switch kind {
        case .audio: audioTargets[publisher] ?? []
        case .video: videoTargets[publisher] ?? []
        case .screen: screenTargets[publisher] ?? []
        }
    }

    /// Starts or stops `id`'s screen share. The caller checks the right to
    /// share and that no one else in the room shares (`sharer(in:)`).
    @discardableResult
    public mutating func setSharing(_ id: ParticipantID, _ sharing: Bool) -> Set<ParticipantID> {
        guard members[id] != nil, members[id]?.sharing != sharing else { return [] }
        members[id]?.sharing = sharing
        return rebuild()
    }

    /// The member of `room` who shares its screen, if any (at most one does).
    public func sharer(in room: RoomID) -> ParticipantID? {
        members.filter { $0.value.room == room && $0.value.sharing }.min { $0.value.order < $1.value.order }?.key
    }

    /// Members of `room`, in joining order.
    public func members(of room: RoomID) -> [ParticipantID] {
        members.filter { $0.value.room == room }.sorted { $0.value.order < $1.value.order }.map(\.key)
    }

    /// Mutes or unmutes a participant's audio for everyone.
    @discardableResult
    public mutating func setAudioMuted(_ id: ParticipantID, _ muted: Bool) -> Set<ParticipantID> {
        guard members[id] != nil, members[id]?.audioMuted != muted else { return [] }
        members[id]?.audioMuted = muted
        return rebuild()
    }

    /// Loudest-N: where a subscriber has more audible publishers than audio
    /// slots, the loudest one left out replaces the quietest one held, but
    /// only when it is louder by `margin` (hysteresis, so slots do not flap
    /// between speakers of similar level). `loudness` is larger for louder.
    /// Returns the subscribers whose slot maps changed.
    @discardableResult
    public mutating func promoteLoudest(loudness: [ParticipantID: Double], margin: Double) -> Set<ParticipantID> {
        var changed: Set<ParticipantID> = []
        let ordered = members.sorted { $0.value.order < $1.value.order }.map(\.key)
        for sub in ordered {
            guard var m = members[sub], !m.mixedAudio, !m.audioSlots.isEmpty else { continue }
            let heard = ordered.filter { mayReceive(sub, from: $0, kind: .audio) }
            guard heard.count > m.audioSlots.count else { continue }
            let level = { (id: ParticipantID) in loudness[id] ?? 0 }
            let held = m.audioSlots.compactMap { $0 }
            guard let challenger = heard.filter({ !held.contains($0) }).max(by: { level($0) < level($1) }),
                  let weakest = held.min(by: { level($0) < level($1) }),
                  level(challenger) > level(weakest) + margin,
                  let slot = m.audioSlots.firstIndex(of: weakest) else { continue }
            m.audioSlots[slot] = challenger
            members[sub] = m
            changed.insert(sub)
        }
        if !changed.isEmpty { _ = rebuild() }
        return changed
    }

    /// Switches a participant between forwarded and mixed audio.
    @discardableResult
    public mutating func setMixedAudio(_ id: ParticipantID, _ mixed: Bool) -> Set<ParticipantID> {
        guard members[id] != nil, members[id]?.mixedAudio != mixed else { return [] }
        members[id]?.mixedAudio = mixed
        return rebuild().union([id])
    }

    /// Starts (or with nil stops) a host's listen-in on `room`. The caller
    /// checks the role; the table only applies the one exception to isolation.
    @discardableResult
    public mutating func setListening(_ id: ParticipantID, to room: RoomID?) -> Set<ParticipantID> {
        guard let m = members[id], m.listening != room else { return [] }
        members[id]?.listening = room
        // A mixed host's forwarded slots do not change, but its mixes do.
        return m.mixedAudio ? rebuild().union([id]) : rebuild()
    }

    /// The mixes a mixed listener hears, each with the audio slot it fills:
    /// its own room's mix on the first slot; while a host listens in, the
    /// listened room's mix on the second slot, or on the first when there is
    /// only one (it then replaces the own room's mix until listening stops).
    /// The listened room's mix is the second, announced exception to
    /// isolation that `mayReceive` allows for forwarded audio.
    public func mixedSlots(of id: ParticipantID) -> [(room: RoomID, slot: Int)] {
        guard let m = members[id], m.mixedAudio, m.receives, !m.audioSlots.isEmpty else { return [] }
        guard let other = m.listening, other != m.room else { return [(m.room, 0)] }
        return m.audioSlots.count >= 2 ? [(m.room, 0), (other, 1)] : [(other, 0)]
    }

    /// What fills slot `index` of `kind` for `subscriber`: the single
    /// answer to "who fills which slot" that the engine reads.
    public func fill(of subscriber: ParticipantID, kind: TrackKind, index: Int) -> SlotFill? {
        guard let m = members[subscriber] else { return nil }
        if kind == .audio, let mix = mixedSlots(of: subscriber).first(where: { $0.slot == index }) { return .mix(mix.room) }
        let slots = m.slots(kind)
        guard index < slots.count else { return nil }
        return slots[index].map(SlotFill.publisher)
    }

    /// What fills each slot of `kind` for `subscriber` (empty for a non-member).
    public func fills(of subscriber: ParticipantID, kind: TrackKind) -> [SlotFill?] {
        guard let m = members[subscriber] else { return [] }
        return m.slots(kind).indices.map { fill(of: subscriber, kind: kind, index: $0) }
    }

    /// True when `subscriber` may receive `publisher`'s media of `kind`: the
    /// isolation rule itself. Same room only, except a listening host, who
    /// also hears (audio only) the room it announced.
    public func mayReceive(_ subscriber: ParticipantID, from publisher: ParticipantID, kind: TrackKind) -> Bool {
        guard subscriber != publisher, let s = members[subscriber], let p = members[publisher],
              s.receives, p.publishes else { return false }
        if kind == .audio && (p.audioMuted || s.mixedAudio) { return false }
        // A screen share reaches its own room only: no listen-in exception.
        if kind == .screen { return p.sharing && s.room == p.room }
        if s.room == p.room { return true }
        return kind == .audio && s.listening == p.room
    }

    /// Re-fills every subscriber's slots and rebuilds the forwarding index.
    /// A publisher keeps its slot while it stays eligible; free slots take
    /// eligible publishers in joining order.
    private mutating func rebuild() -> Set<ParticipantID> {
        var changed: Set<ParticipantID> = []
        let ordered = members.sorted { $0.value.order < $1.value.order }.map(\.key)
        for sub in ordered {
            guard var m = members[sub] else { continue }
            // Own room first, then a listened-in room, each in joining order.
            let heard = ordered.filter { mayReceive(sub, from: $0, kind: .audio) }
            let audioEligible = heard.filter { members[$0]?.room == m.room } + heard.filter { members[$0]?.room != m.room }
            let newVideo = Self.fill(m.videoSlots, eligible: ordered.filter { mayReceive(sub, from: $0, kind: .video) })
            // A newcomer's audio goes to the index of its video where that is free: audio slot i and
            // video slot i share a media stream (msid), so browsers synchronise the same person's lips.
            let newAudio = Self.fill(m.audioSlots, eligible: audioEligible, preferred: { newVideo.firstIndex(of: $0) })
            let newScreen = Self.fill(m.screenSlots, eligible: ordered.filter { mayReceive(sub, from: $0, kind: .screen) })
            if newAudio != m.audioSlots || newVideo != m.videoSlots || newScreen != m.screenSlots {
                m.audioSlots = newAudio
                m.videoSlots = newVideo
                m.screenSlots = newScreen
                members[sub] = m
                changed.insert(sub)
            }
        }
        audioTargets = [:]
        videoTargets = [:]
        screenTargets = [:]
        for (sub, m) in members {
            for (i, p) in m.audioSlots.enumerated() { if let p { audioTargets[p, default: []].append(Target(subscriber: sub, slot: i)) } }
            for (i, p) in m.videoSlots.enumerated() { if let p { videoTargets[p, default: []].append(Target(subscriber: sub, slot: i)) } }
            for (i, p) in m.screenSlots.enumerated() { if let p { screenTargets[p, default: []].append(Target(subscriber: sub, slot: i)) } }
        }
        return changed
    }

    /// Keeps every still-eligible holder in its slot, then places the other
    /// eligible publishers in order: in their `preferred` slot when it is
    /// free, else in the first free one.
    private static func fill(_ slots: [ParticipantID?], eligible: [ParticipantID],
                             preferred: (ParticipantID) -> Int? = { _ in nil }) -> [ParticipantID?] {
        let allowed = Set(eligible)
        var out = slots.map { $0.flatMap { allowed.contains($0) ? $0 : nil } }
        let placed = Set(out.compactMap { $0 })
        var free = out.indices.filter { out[$0] == nil }
        for next in eligible where !placed.contains(next) {
            guard !free.isEmpty else { break }
            let at = preferred(next).flatMap { i in free.firstIndex(of: i) } ?? 0
            out[free.remove(at: at)] = next
        }
        return out
    }
}
