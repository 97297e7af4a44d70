import DTLS
import SDP

/// What Cohort makes of a client's offer (ARCHITECTURE.md, "Subscriptions"):
/// which sections carry the client's own microphone and camera, which are
/// receive slots, and which are refused. Built once at join.
public struct OfferPlan: Sendable {
    /// A section the client sends on (its microphone or camera).
    public struct Publish: Sendable, Equatable {
        /// The section's mid.
        public var mid: String
        /// The payload type of the chosen codec.
        public var payloadType: UInt8
        /// The SSRC from a=ssrc, if the client declared one.
        public var ssrc: UInt32?
        /// Loss repair the client offered for this codec (video only).
        public var repair = Repair()
        /// The SSRC of the client's retransmissions (RFC 4588 §8.7, FID group), if declared.
        public var rtxSSRC: UInt32?
        /// The forwarded header extensions (URIs) offered in this section: an
        /// answer accepts only those (RFC 8285 §5; Firefox offers abs-send-time
        /// in video sections only).
        public var extensions: Set<String> = []
        /// Whether the section offered transport-wide congestion control: the
        /// extension and `a=rtcp-fb:pt transport-cc` for the codec. The answer
        /// then accepts both, and Cohort sends the client transport feedback
        /// on what it publishes, so that the client's own estimator works.
        public var transportWide = false
    }

    /// Loss repair a client offered for a video codec, which the answer accepts.
    public struct Repair: Sendable, Equatable {
        /// The `rtx` payload type whose `apt` is the codec (RFC 4588 §8.6), if offered.
        public var rtxPayloadType: UInt8?
        /// Generic NACK (`a=rtcp-fb:pt nack`, RFC 4585 §4.2).
        public var nack = false
        /// Picture Loss Indication (`nack pli`).
        public var pli = false
        /// Full Intra Request (`ccm fir`, RFC 5104 §7.1).
        public var fir = false

        /// Creates an empty set (audio, or a codec offered without repair).
        public init(rtxPayloadType: UInt8? = nil, nack: Bool = false, pli: Bool = false, fir: Bool = false) {
            self.rtxPayloadType = rtxPayloadType
            self.nack = nack
            self.pli = pli
            self.fir = fir
        }
    }

    /// A receive slot: a section the client only receives on.
    public struct Slot: Sendable, Equatable {
        /// The section's mid.
        public var mid: String
        /// The payload type the client expects for the codec.
        public var payloadType: UInt8
        /// Loss repair the client offered for this codec (video only).
        public var repair = Repair()
        /// The forwarded header extensions (URIs) offered in this section.
        public var extensions: Set<String> = []
        /// Whether the section offered transport-wide congestion control: the
        /// answer accepts it, Cohort stamps each copy it sends with the
        /// subscriber's own transport-wide sequence number and estimates the
        /// subscriber's downlink from its feedback.
        public var transportWide = false
    }

    /// What the answer says about each section, in offer order.
    public enum Section: Sendable, Equatable {
        /// Own audio or video: answer recvonly.
        case publish(TrackKind, Publish)
        /// Receive slot `index` of `kind`: answer sendonly with the slot's SSRC.
        case slot(TrackKind, index: Int, Slot)
        /// Refused (unsupported kind or codec, or a second camera): answered
        /// with `mediaLine` (port 0, RFC 8829 §5.3.1).
        case rejected(mid: String?, reason: String, mediaLine: String)
    }

    /// The sections, in offer order.
    public var sections: [Section]
    /// The client's ICE username fragment.
    public var remoteUfrag: String
    /// The client's ICE password.
    public var remotePassword: String
    /// The client's certificate fingerprint.
    public var remoteFingerprint: DTLSFingerprint
    /// Whether Cohort takes the DTLS server role (offer setup actpass or active).
    public var dtlsServer: Bool
    /// The client's header-extension ids by URI (RFC 8285), bundle-wide.
    public var extensionIDs: [String: UInt8]
    /// The id of the transport-wide sequence number extension (bundle-wide),
    /// when any section offered transport-wide congestion control.
    public var transportWideID: UInt8?
    /// Whether a section the client publishes on negotiated it (feedback to the client).
    public var transportWideUplink: Bool {
        sections.contains { if case .publish(_, let p) = $0 { return p.transportWide } else { return false } }
    }
    /// Whether a receive slot negotiated it (Cohort estimates the client's downlink).
    public var transportWideDownlink: Bool {
        sections.contains { if case .slot(_, _, let s) = $0 { return s.transportWide } else { return false } }
    }
    /// Whether the client offered reduced-size RTCP (RFC 5506).
    public var rtcpReducedSize: Bool

    /// The client's own audio section, if any.
    public var audio: Publish? { publish(.audio) }
    /// The client's own video section, if any.
    public var video: Publish? { publish(.video) }
    /// The client's screen-share send section, if any.
    public var screen: Publish? { publish(.screen) }

    /// Receive slots of `kind`, by index.
    public func slots(_ kind: TrackKind) -> [Slot] {
        sections.compactMap { if case .slot(kind, _, let s) = $0 { return s } else { return nil } }
    }

    private func publish(_ kind: TrackKind) -> Publish? {
        for s in sections { if case .publish(kind, let p) = s { return p } }
        return nil
    }

    /// Header extensions Cohort negotiates and forwards (RFC 6464 audio level
    /// and the load test's send time); everything else is left out so that
    /// clients never send it.
    public static let forwardedExtensions = [
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    ]

    /// The transport-wide sequence number extension
    /// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2). Not forwarded:
    /// its numbers belong to one transport.
    public static let transportWideExtension = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

    /// Analyses `offer`. At most `maxSlots` receive slots per kind are used,
    /// and one screen slot: a room shows one screen at a time.
    public init(offer: SessionDescription, maxSlots: Int) throws(SFUError) {
        let media = offer.mediaSections
        guard let first = media.first else { throw .invalidOffer("no media sections") }
        if media.count > 1 {
            guard let bundle = offer.bundleMIDs, bundle.count == media.filter({ !$0.isRejected }).count else {
                throw .invalidOffer("all media must be in one BUNDLE group (RFC 8843)")
            }
        }
        guard let ufrag = offer.iceUfrag(for: first), let pwd = offer.icePwd(for: first),
              !ufrag.isEmpty, !pwd.isEmpty else {
            throw .missingICECredentials
        }
        let usable = offer.fingerprints(for: first).compactMap { try? DTLSFingerprint(sdp: $0.attributeValue) }
        guard let fingerprint = usable.first else { throw .missingFingerprint }
        remoteUfrag = ufrag
        remotePassword = pwd
        remoteFingerprint = fingerprint
        dtlsServer = offer.setup(for: first) != .passive
        rtcpReducedSize = first.isRTCPReducedSize

        var ids: [String: UInt8] = [:]
        var sections: [Section] = []
        var slotCount: [TrackKind: Int] = [.audio: 0, .video: 0, .screen: 0]
        var published: Set<TrackKind> = []
        var transportWideID: UInt8?
        for m in media {
            let mid = m.mid
            let refusedLine = "\(m.media.kind.rawValue) 0 \(m.media.proto) \(m.media.formats.first ?? "0")"
            func reject(_ why: String) { sections.append(.rejected(mid: mid, reason: why, mediaLine: refusedLine)) }
            guard let mid, !m.isRejected else {
                reject("no mid or rejected")
                continue
            }
            guard m.isRTCPMux || media.count == 1 else {
                throw .invalidOffer("rtcp-mux is required (RFC 8858)")
            }
            let kind: TrackKind
            let codec: Codec?
            switch m.kind {
            case .audio:
                kind = .audio
                codec = m.codecs.first { $0.isNamed("opus") && $0.clockRate == 48_000 }
            case .video:
                // RFC 4796 §5: `slides` marks the screen share, sent or received.
                kind = m.attributeValue("content")?.split(separator: ",").contains("slides") == true ? .screen : .video
                codec = m.codecs.first { $0.isNamed("VP8") && $0.clockRate == 90_000 }
            default:
                reject("unsupported media \(m.kind)")
                continue
            }
            guard let codec else {
                reject(kind == .audio ? "no Opus" : "no VP8")
                continue
            }
            var offered: Set<String> = []
            for ext in m.extMaps where Self.forwardedExtensions.contains(ext.uri) && ext.id < 15 {
                ids[ext.uri] = UInt8(ext.id)
                offered.insert(ext.uri)
            }
            let direction = offer.direction(of: m)
            let repair = kind == .video ? Self.repair(of: codec, in: m) : Repair()
            // Transport-wide congestion control: the extension (one id across
            // the bundle, one-byte form) and transport-cc feedback for the codec.
            var transportWide = false
            if codec.supportsFeedback("transport-cc"),
               let ext = m.extMaps.first(where: { $0.uri == Self.transportWideExtension }), ext.id > 0, ext.id < 15,
               transportWideID == nil || transportWideID == UInt8(ext.id) {
                transportWideID = UInt8(ext.id)
                transportWide = true
            }
            if direction.sends && !published.contains(kind) {
                published.insert(kind)
                let ssrc = m.primarySSRCs.first
                sections.append(.publish(kind, Publish(mid: mid, payloadType: codec.payloadType, ssrc: ssrc, repair: repair,
                                                       rtxSSRC: repair.rtxPayloadType == nil ? nil : ssrc.flatMap(m.rtxSSRC(for:)),
                                                       extensions: offered, transportWide: transportWide)))
            } else if direction.receives && !direction.sends && slotCount[kind]! < (kind == .screen ? 1 : maxSlots) {
                sections.append(.slot(kind, index: slotCount[kind]!, Slot(mid: mid, payloadType: codec.payloadType,
                                                                         repair: repair, extensions: offered,
                                                                         transportWide: transportWide)))
                slotCount[kind]! += 1
            } else {
                reject("more sections than Cohort uses")
            }
        }
        self.sections = sections
        self.extensionIDs = ids
        self.transportWideID = transportWideID
        if sections.allSatisfy({ if case .rejected = $0 { return true } else { return false } }) {
            throw .invalidOffer("no Opus audio or VP8 video section")
        }
    }

    /// Declines every offered NACK and RTX (an engine with loss repair off).
    mutating func withoutLossRepair() {
        sections = sections.map { section in
            switch section {
            case .publish(let kind, var p):
                p.repair = Repair(pli: p.repair.pli, fir: p.repair.fir)
                p.rtxSSRC = nil
                return .publish(kind, p)
            case .slot(let kind, let index, var s):
                s.repair = Repair(pli: s.repair.pli, fir: s.repair.fir)
                return .slot(kind, index: index, s)
            case .rejected:
                return section
            }
        }
    }

    /// The repair a section offers for `codec`: its `rtx` twin and its feedback types.
    private static func repair(of codec: Codec, in m: MediaDescription) -> Repair {
        let rtx = m.codecs.first { $0.isNamed("rtx") && $0.clockRate == codec.clockRate && $0.associatedPayloadType == codec.payloadType }
        return Repair(rtxPayloadType: rtx?.payloadType, nack: codec.supportsFeedback("nack"),
                      pli: codec.supportsFeedback("nack", parameter: "pli"), fir: codec.supportsFeedback("ccm", parameter: "fir"))
    }
}
