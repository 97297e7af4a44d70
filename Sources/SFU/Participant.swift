import Congestion
import DTLS
import RTP
import SRTP
import STUN
import Wire

/// One member of a therapy session on its session's loop: its transport
/// (ICE, DTLS, SRTP), the streams it publishes and its receive side.
/// Owned by its `Session`; not thread-safe.
final class Participant {
    let id: ParticipantID
    /// The session it belongs to (which owns it while it is a member).
    let session: Session
    let name: String
    let role: Role
    /// The token's `sub` claim, naming the person in attendance records.
    var subject: String?
    /// The room its token named: entered on joining if it can be entered
    /// then, otherwise `main`; a waiting participant's room once admitted.
    let entryRoom: RoomID
    /// Who holds its token (`JoinRequest.identity`), to count joins per identity.
    let identity: String?
    /// What its offer asked for. An ICE restart changes only the ICE
    /// credentials in it (and the DTLS fingerprint and role when the client
    /// starts a new DTLS association); its sections never change.
    var plan: OfferPlan
    /// Our answers' o= line: sess-id, and the sess-version of the latest
    /// answer (2 at join, one more with each ICE restart; RFC 3264 §8).
    var answerOrigin: (id: UInt64, version: UInt64) = (0, 2)
    let joinedAt: Instant
    /// When ICE first validated an address of it (the ICE handshake's end).
    var iceConnectedAt: Instant?
    /// A small number unique in the engine: the participant's key as a mixer contributor.
    let sourceKey: UInt32
    /// SSRC we send RTCP feedback from.
    let feedbackSSRC: UInt32

    var ice: IceLiteAgent
    var dtls: DTLSEndpoint?
    var srtp: SRTPContext?

    /// What it publishes: its microphone, its camera and its screen share
    /// (a second video section marked `a=content:slides`), when offered.
    var audio: PublishedStream?
    var video: PublishedStream?
    var screen: PublishedStream?
    /// What it receives: its slots.
    var subscriber: Subscriber

    /// Publisher side: whom our packets go to, cached by the forwarder
    /// (`MediaEngine.routes(of:)`). Holds subscribers strongly, so the
    /// engine clears it when anyone in the session leaves.
    var routes: PublisherRoutes?
    /// Our header-extension id for each forwarded extension (index into
    /// `OfferPlan.forwardedExtensions`), 0 when not negotiated.
    let localExtensionIDs: [UInt8]
    /// For an id in this participant's packets, the forwarded-extension index + 1 (0 = none).
    let extensionIndexByID: [UInt8]
    var nextReport: Instant
    /// Arrivals of what it publishes, for transport-wide feedback to it
    /// (nil unless its offer negotiated transport-wide congestion control).
    var transportFeedback: TransportFeedbackRecorder?
    /// Round-trip time to the participant, from its report blocks on our slots.
    var roundTrip = RoundTripEstimate()
    /// Its share of the session's command processing and fan-out
    /// (`MediaEngine.perform`): commands, and chat and broadcast bytes times
    /// their recipients.
    var commandBudget = TokenBucket(capacity: MediaEngine.commandBurst, perSecond: MediaEngine.commandsPerSecond)
    var fanOutBudget = TokenBucket(capacity: MediaEngine.fanOutBurstBytes, perSecond: MediaEngine.fanOutBytesPerSecond)

    init(id: ParticipantID, session: Session, name: String, role: Role, entryRoom: RoomID, identity: String?,
         plan: OfferPlan, ice: IceLiteAgent, sourceKey: UInt32, now: Instant, random: inout some RandomNumberGenerator) {
        self.id = id
        self.identity = identity
        self.session = session
        self.name = name
        self.role = role
        self.entryRoom = entryRoom
        self.plan = plan
        self.ice = ice
        self.joinedAt = now
        self.sourceKey = sourceKey
        self.feedbackSSRC = UInt32.random(in: 1...UInt32.max, using: &random)
        self.audio = plan.audio.map { PublishedStream(kind: .audio, payloadType: $0.payloadType, ssrc: $0.ssrc) }
        self.video = plan.video.map { PublishedStream(kind: .video, $0) }
        self.screen = plan.screen.map { PublishedStream(kind: .screen, $0) }
        func slots(_ kind: TrackKind, clockRate: UInt32) -> [SubscribedSlot] {
            plan.slots(kind).map { slot in
                SubscribedSlot(ssrc: UInt32.random(in: 1...UInt32.max, using: &random), clockRate: clockRate,
                               payloadType: slot.payloadType,
                               rtx: slot.repair.rtxPayloadType.map { (UInt32.random(in: 1...UInt32.max, using: &random), $0) },
                               initialSequence: SubscribedSlot.randomInitialSequence(using: &random),
                               initialTimestamp: UInt32.random(in: 0...UInt32.max, using: &random))
            }
        }
        self.subscriber = Subscriber(audio: slots(.audio, clockRate: 48_000), video: slots(.video, clockRate: 90_000),
                                     screen: slots(.screen, clockRate: 90_000))
        var local = [UInt8](repeating: 0, count: OfferPlan.forwardedExtensions.count)
        var byID = [UInt8](repeating: 0, count: 16)
        for (i, uri) in OfferPlan.forwardedExtensions.enumerated() {
            if let id = plan.extensionIDs[uri] {
                local[i] = id
                byID[Int(id)] = UInt8(i + 1)
            }
        }
        self.localExtensionIDs = local
        self.extensionIndexByID = byID
        self.nextReport = now + .seconds(1)
        self.transportFeedback = plan.transportWideUplink ? TransportFeedbackRecorder() : nil
        if plan.transportWideDownlink { subscriber.bandwidth = BandwidthEstimator(configuration: MediaEngine.downlinkEstimator) }
    }

    /// Asks for a keyframe of the camera, if it has one: a new subscriber,
    /// a slot switch (every simulcast layer: the slot takes whichever it
    /// aims at), or a subscriber's PLI or FIR (`layer`: the one it receives).
    func requestKeyframe(now: Instant, layer: Int? = nil) {
        guard video != nil else { return }
        if let layer, layer < video!.layers.count {
            video?.layers[layer].keyframes.request(now: now)
        } else {
            video?.requestKeyframes(now: now)
        }
    }

    /// Asks for a keyframe of the stream of `kind` (camera or screen share;
    /// `layer` as for `requestKeyframe(now:layer:)`).
    func requestKeyframe(of kind: TrackKind, now: Instant, layer: Int? = nil) {
        switch kind {
        case .audio: break
        case .video: requestKeyframe(now: now, layer: layer)
        case .screen: screen?.requestKeyframes(now: now)
        }
    }

    /// The video stream of `kind`, for code that mutates it in place
    /// (`p[keyPath:]`): a copy of a stream would copy its packet cache.
    static func videoStream(_ kind: TrackKind) -> ReferenceWritableKeyPath<Participant, PublishedStream?> {
        kind == .screen ? \.screen : \.video
    }
}
