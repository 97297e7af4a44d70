import DTLS
import Wire

/// Static settings of a media engine.
public struct EngineConfiguration: Sendable {
    /// Our DTLS certificate (its fingerprint goes into every answer).
    public var certificate: DTLSCertificate
    /// The address put into ICE candidates.
    public var candidateHost: String
    /// The UDP port of this engine's socket.
    public var candidatePort: UInt16
    /// The port of this engine's ICE-TCP listener (RFC 6544 passive), put in
    /// a second, lower-priority host candidate; nil: no TCP candidate.
    public var candidateTCPPort: UInt16?
    /// RFC 7675 consent lifetime: a participant with no valid check for this long is removed.
    public var consentTimeout: TimeSpan
    /// Receive slots per kind Cohort uses at most.
    public var maxSlots: Int
    /// Participants per therapy session, hosts and co-hosts included.
    public var maxParticipantsPerSession: Int
    /// Places of `maxParticipantsPerSession` only hosts and co-hosts may
    /// take, so that participants can never lock the therapist out (issue 14).
    public var reservedHostPlaces = 2
    /// Joins of one identity (token `sub`, or the token's claims when it has
    /// none) present in a session at once (issue 14: one link joined 50 times).
    public var maxJoinsPerIdentity = 3
    /// Whether participants (not hosts or co-hosts) wait for admission.
    public var waitingRoom: Bool
    /// Unix time in nanoseconds at `Instant.zero`, for NTP timestamps in sender reports.
    public var unixNanosecondsAtZero: UInt64
    /// Whether a participant whose peer closed its DTLS association
    /// (close_notify: a page reload, a closed tab) is kept, without media,
    /// for the control plane to resume or remove (its resume grace), instead
    /// of being removed at once. A kept participant's new peer connection
    /// comes back through an ICE restart with a new fingerprint
    /// (`restartICE`); one that never comes back is removed when its consent
    /// expires or its grace ends.
    public var keepsClosedMedia = false
    /// Loss repair (issue 11): a packet cache per published video stream,
    /// NACK and RTX both ways. Off only to measure what it costs
    /// (`cohort-bench-forward`); clients are then offered no NACK or RTX.
    public var lossRepair = true
    /// A room mixer mixes at most this many speakers, the loudest (0: no
    /// limit); a mix-minus is encoded only for them (RoomMixer).
    public var mixSpeakers = 3
    /// This thread's CPU time in nanoseconds, read only around each mixer
    /// tick (every 20 ms per mixing room) to report the mixers' CPU time
    /// (`EngineCounters.mixerCPUNanoseconds`); never on the forwarding path.
    /// The one clock the engine reads, and only a stopwatch: nil (tests) measures nothing.
    public var cpuClock: (@Sendable () -> UInt64)?

    /// Creates a configuration.
    public init(certificate: DTLSCertificate, candidateHost: String, candidatePort: UInt16,
                consentTimeout: TimeSpan = .seconds(30), maxSlots: Int = 16, maxParticipantsPerSession: Int = 50,
                waitingRoom: Bool = false, unixNanosecondsAtZero: UInt64 = 0) {
        self.waitingRoom = waitingRoom
        self.certificate = certificate
        self.candidateHost = candidateHost
        self.candidatePort = candidatePort
        self.consentTimeout = consentTimeout
        self.maxSlots = maxSlots
        self.maxParticipantsPerSession = maxParticipantsPerSession
        self.unixNanosecondsAtZero = unixNanosecondsAtZero
    }
}

/// A request to join a therapy session, already authenticated by the control plane.
public struct JoinRequest: Sendable {
    /// The therapy session (token claim `sid`).
    public var sessionID: String
    /// The room to start in.
    public var room: RoomID
    /// Display name.
    public var name: String
    /// Role from the token.
    public var role: Role
    /// The client's SDP offer.
    public var offer: String
    /// Whether the client wants its room as one mixed audio stream.
    public var mixedAudio: Bool
    /// Who holds the token (its `sub`, or its claims when it has none); at
    /// most `maxJoinsPerIdentity` joins of one identity are in a session at once. Nil: not limited.
    public var identity: String?
    /// The token's `sub` claim (a stable person id), for attendance records.
    public var subject: String?

    /// Creates a request.
    public init(sessionID: String, room: RoomID, name: String, role: Role, offer: String, mixedAudio: Bool = false,
                identity: String? = nil, subject: String? = nil) {
        self.mixedAudio = mixedAudio
        self.identity = identity
        self.subject = subject
        self.sessionID = sessionID
        self.room = room
        self.name = name
        self.role = role
        self.offer = offer
    }
}

/// Which participant fills one receive slot (the client's `mid`).
public struct SlotAssignment: Codable, Equatable, Sendable {
    /// The slot's mid in the client's offer.
    public var mid: String
    /// "audio" or "video".
    public var kind: TrackKind
    /// The participant whose media flows through it, if any.
    public var participantId: String?
    /// That participant's display name.
    public var name: String?
    /// Whether the slot carries a room's audio mix.
    public var isMix = false
    /// For a mix slot: the room listened in on, when it is not the own room.
    public var room: RoomID?
    /// For a video slot that has carried media: the RTP timestamp of the last
    /// packet sent before its current source (the new source's frames are newer).
    public var after: UInt32?

    /// Creates an assignment.
    public init(mid: String, kind: TrackKind, participantId: String?, name: String?, isMix: Bool = false,
                room: RoomID? = nil, after: UInt32? = nil) {
        self.isMix = isMix
        self.room = room
        self.after = after
        self.mid = mid
        self.kind = kind
        self.participantId = participantId
        self.name = name
    }
}

/// One participant as others see it.
public struct RosterMember: Codable, Equatable, Sendable {
    /// Participant id.
    public var participantId: String
    /// Display name.
    public var name: String
    /// What the participant may do.
    public var role: Role
    /// The room the participant is in.
    public var room: RoomID

    /// Creates an entry.
    public init(participantId: String, name: String, role: Role, room: RoomID) {
        self.participantId = participantId
        self.name = name
        self.role = role
        self.room = room
    }
}

/// What a successful join returns.
public struct JoinAnswer: Sendable {
    /// The new participant's id.
    public var participantID: ParticipantID
    /// The room it is in.
    public var room: RoomID
    /// Our SDP answer.
    public var answer: String
    /// Its slot map.
    public var slots: [SlotAssignment]
    /// The slot map's version; later `slotsChanged` events carry higher ones.
    public var slotsVersion: Int
    /// Who is in its room.
    public var roster: [RosterMember]
}

/// Why a participant left the engine.
public enum RemovalReason: String, Sendable {
    /// It asked to leave.
    case left
    /// RFC 7675 consent expired: no valid ICE check for the configured time.
    case consentExpired = "consent-expired"
    /// The DTLS handshake failed or timed out.
    case dtlsFailed = "dtls-failed"
    /// The peer closed its DTLS association (close_notify): it hung up.
    case mediaClosed = "media-closed"
    /// A host removed it.
    case removed
    /// A host turned it away from the waiting room.
    case denied
    /// A host ended the session.
    case sessionEnded = "session-ended"
    /// Its WebSocket closed.
    case disconnected
}

/// Callbacks from an engine to the control plane, on the engine's loop.
public protocol MediaEngineDelegate: AnyObject, Sendable {
    /// A participant's slot map changed; `version` grows with every change.
    func engine(slotsChanged slots: [SlotAssignment], version: Int, participant: ParticipantID, session: String)
    /// The roster of `room` changed; `recipients` are its members.
    func engine(rosterChanged roster: [RosterMember], room: RoomID, recipients: [ParticipantID], session: String)
    /// A participant was removed by the engine (consent, DTLS) or on request.
    func engine(removed participant: ParticipantID, reason: RemovalReason, session: String)
    /// A participant's DTLS-SRTP is up: media flows.
    func engine(mediaConnected participant: ParticipantID, session: String)
    /// The session's shape changed; `view` is what `recipient` may see.
    func engine(sessionChanged view: SessionView, recipient: ParticipantID, session: String)
    /// A broadcast or chat line for `recipients`.
    func engine(message: SessionMessage, recipients: [ParticipantID], session: String)
    /// A fact for the attendance and audit records. Must not block: the
    /// receiver queues it for a writer (`Records.RecordWriter`).
    func engine(record: RecordEvent)
    /// A subscriber's downlink allocation paused or resumed video slots, or
    /// changed its mixed-audio hint.
    func engine(downlinkChanged state: DownlinkState, participant: ParticipantID, session: String)
}

extension MediaEngineDelegate {
    /// Records are optional: a delegate that keeps none ignores them.
    public func engine(record: RecordEvent) {}
    /// Downlink changes are optional: a delegate that ignores them leaves tiles as they are.
    public func engine(downlinkChanged state: DownlinkState, participant: ParticipantID, session: String) {}
}

/// Counters an engine exports (all dropped packets are counted by reason).
public struct EngineCounters: Sendable, Equatable {
    /// Datagrams received.
    public var datagramsIn = 0
    /// Datagrams sent.
    public var datagramsOut = 0
    /// RTP packets forwarded (one per copy sent).
    public var rtpForwarded = 0
    /// STUN that was malformed, unknown or failed checks.
    public var stunDropped = 0
    /// DTLS, RTP or RTCP from an address that has not passed ICE.
    public var unknownSourceDropped = 0
    /// Datagrams of no known kind (RFC 7983).
    public var unknownKindDropped = 0
    /// SRTP or SRTCP that failed to authenticate or decrypt (includes replays).
    public var srtpFailed = 0
    /// RTP or RTCP that did not parse after decryption.
    public var malformedMedia = 0
    /// RTP with an SSRC or payload type this participant did not negotiate.
    public var unexpectedStream = 0
    /// Media arriving before DTLS completed.
    public var mediaBeforeKeys = 0
    /// Packets that would have crossed a room boundary. Must stay 0.
    public var isolationViolations = 0
    /// PLIs sent to publishers.
    public var pliSent = 0
    /// FIRs sent to publishers (RFC 5104, for peers that asked for FIR only).
    public var firSent = 0
    /// PLIs and FIRs from subscribers that reached a publisher's keyframe requester.
    public var keyframeRequestsReceived = 0
    /// Generic NACKs sent to publishers (RFC 4585), duplicates not counted (see `nacksDuplicated`).
    public var nacksSent = 0
    /// Packets named in NACKs sent to publishers (retries included).
    public var nackedPackets = 0
    /// NACKs sent a second time at once, to a publisher whose uplink loses packets (`nacksTwice`).
    public var nacksDuplicated = 0
    /// NACKed packets that then arrived (as RTX or late).
    public var packetsRecovered = 0
    /// RTX packets (RFC 4588) from publishers, unwrapped.
    public var rtxReceived = 0
    /// RTX packets too short to hold an original (padding probes), dropped.
    public var rtxPaddingDropped = 0
    /// Video packets that were in the cache already (a retransmission we did not need), dropped.
    public var duplicatesDropped = 0
    /// Generic NACKs from subscribers.
    public var nacksReceived = 0
    /// Packets resent to subscribers from a packet cache.
    public var retransmissionsSent = 0
    /// NACKed packets not resent: not in the cache (too old, never arrived) or not of the slot's current source.
    public var retransmissionMisses = 0
    /// NACKed packets not resent because they went to that subscriber less than one round trip ago.
    public var retransmissionsSuppressed = 0
    /// Retransmissions not sent because they would exceed the subscriber's
    /// share for repair (`Subscriber.repairAllowance`, a downlink with an estimate).
    public var retransmissionsOverBudget = 0
    /// Mixed Opus frames sent to mixed listeners.
    public var mixedFramesSent = 0
    /// Forwarded audio copies; `rtpForwarded` is audio plus video.
    public var audioPacketsForwarded = 0
    /// Their bytes on the wire (SRTP included).
    public var audioBytesForwarded = 0
    /// Forwarded video copies; retransmissions are `retransmissionsSent`.
    public var videoPacketsForwarded = 0
    /// Their bytes on the wire (SRTP included).
    public var videoBytesForwarded = 0
    /// Of `videoPacketsForwarded`, the copies of screen shares.
    public var screenPacketsForwarded = 0
    /// SRTCP compounds the engine sent (reports, NACK, PLI, FIR, BYE): RTCP is terminated, not forwarded.
    public var rtcpPacketsSent = 0
    /// Their bytes on the wire.
    public var rtcpBytesSent = 0
    /// Frames the room mixers produced (one per room per 20 ms while anyone listens).
    public var mixerFrames = 0
    /// Thread CPU time spent in the mixers' ticks (decode, mix, encode), when
    /// `EngineConfiguration.cpuClock` is set; 0 otherwise.
    public var mixerCPUNanoseconds = 0
    /// Transport-wide feedback packets sent to publishers (transport-cc).
    public var transportFeedbackSent = 0
    /// Transport-wide feedback packets received from subscribers on the copies we stamped.
    public var transportFeedbackReceived = 0
    /// Copies stamped with a subscriber's transport-wide sequence number.
    public var transportWideStamped = 0
    /// Video copies a subscriber's pacer held because its budget was spent
    /// (`Pacer`), and copies it could not hold (its ring full, or the wait
    /// over `Pacer.maximumDelay`) and dropped: the subscriber sees a gap.
    public var pacedCopiesHeld = 0
    public var pacedCopiesDropped = 0
    /// Video slots paused, and resumed, by subscribers' downlink allocation.
    public var videoSlotsPaused = 0
    public var videoSlotsResumed = 0
    /// Simulcast: packets of an unknown SSRC whose RtpStreamId (or, for
    /// RTX, RepairedRtpStreamId) names no offered layer, or that carry none
    /// and so cannot be placed; dropped.
    public var simulcastUnknownRID = 0
    public var simulcastMissingRID = 0
    /// Simulcast layer switches made by video slots at a keyframe.
    public var layerSwitches = 0
    /// Padding packets sent to probe subscribers' downlinks.
    public var probePaddingSent = 0
    /// Participants kept after their peer closed DTLS (`keepsClosedMedia`).
    public var mediaClosedKept = 0
    /// RTCP BYE compounds sent when the server stopped (`MediaEngine.shutDown`), one per participant.
    public var goodbyesSent = 0
    /// Session commands refused with `rate-limited` (command or fan-out budget spent).
    public var commandsRateLimited = 0
    /// Return-routability checks sent to a participant's new source address (RFC 7675 Binding requests).
    public var routabilityChecksSent = 0
    /// Addresses that became valid: a participant's first, or one that answered our check.
    public var addressesValidated = 0
    /// New addresses never validated: their check went unanswered, or too many were waiting.
    public var addressesUnverified = 0
    /// ICE restarts answered (`MediaEngine.restartICE`).
    public var iceRestartsAnswered = 0
    /// ICE restarts the client completed: its first valid check with the new credentials.
    public var iceRestartsCompleted = 0
    /// ICE restarts that also began a new DTLS association (the client's fingerprint changed).
    public var dtlsRestarts = 0
    /// Creates zeroed counters.
    public init() {}
}
