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
        /// The simulcast layers (RFC 8853), lowest first: from `a=simulcast`
        /// send rids with `a=rid` send lines when the RtpStreamId extension
        /// was offered too (the answer then accepts them), or from an
        /// `a=ssrc-group:SIM`; empty without simulcast.
        public var simulcast: [SimulcastLayer] = []
    }

    /// One simulcast layer a client offered to send.
    public struct SimulcastLayer: Sendable, Equatable {
        /// Its rid (empty for a layer of a SIM group).
        public var rid: String
        /// Its SSRC, when the SIM group named it.
        public var ssrc: UInt32?
        /// Its retransmission SSRC, when an FID group named it.
        public var rtxSSRC: UInt32?

        /// Creates a layer.
        public init(rid: String, ssrc: UInt32? = nil, rtxSSRC: UInt32? = nil) {
            self.rid = rid
            self.ssrc = ssrc
            self.rtxSSRC = rtxSSRC
        }
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
    /// The ids of the RtpStreamId and RepairedRtpStreamId extensions (RFC
    /// 8852 §3, bundle-wide), when a published section offered rid simulcast.
    public var ridID: UInt8?
    public var repairedRIDID: UInt8?
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

    /// RFC 8852 §3.1, §3.2: the rid of a simulcast layer, and of the layer a
    /// retransmission repairs. Read on what clients publish, never forwarded.
    public static let ridExtension = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    public static let repairedRIDExtension = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
    /// At most this many simulcast layers are accepted.
    public static let maxSimulcastLayers = 4

    /// Analyses `offer`. At most `maxSlots` receive slots per kind are used,
    /// and one screen slot: a room shows one screen at a time. Only the
    /// camera is taken as simulcast; a screen share is one encoding.
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
        var ridID: UInt8?
        var repairedRIDID: UInt8?
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
                var publish = Publish(mid: mid, payloadType: codec.payloadType, ssrc: ssrc, repair: repair,
                                      rtxSSRC: repair.rtxPayloadType == nil ? nil : ssrc.flatMap(m.rtxSSRC(for:)),
                                      extensions: offered, transportWide: transportWide)
                if kind == .video {
                    let layers = Self.simulcast(of: m, ids: (ridID, repairedRIDID), rtx: repair.rtxPayloadType != nil)
                    publish.simulcast = layers.layers
                    if layers.byRID {
                        ridID = layers.ids.rid
                        repairedRIDID = layers.ids.repaired
                    }
                    if !layers.layers.isEmpty { publish.ssrc = layers.layers[0].ssrc; publish.rtxSSRC = layers.layers[0].rtxSSRC }
                }
                sections.append(.publish(kind, publish))
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
        self.ridID = ridID
        self.repairedRIDID = repairedRIDID
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

    /// The simulcast layers a published video section offers (RFC 8853):
    /// the first rid of each `a=simulcast` send stream that has an `a=rid`
    /// send line, when the section offers the RtpStreamId extension (one-byte
    /// id, the same across the bundle; RepairedRtpStreamId too if offered
    /// and RTX is used); else the SSRCs of an `a=ssrc-group:SIM` with their
    /// FID twins. Fewer than two layers, or more than `maxSimulcastLayers`,
    /// is no simulcast.
    static func simulcast(of m: MediaDescription, ids known: (rid: UInt8?, repaired: UInt8?), rtx: Bool)
        -> (layers: [SimulcastLayer], byRID: Bool, ids: (rid: UInt8?, repaired: UInt8?)) {
        func oneByteID(_ uri: String, known: UInt8?) -> UInt8? {
            guard let ext = m.extMaps.first(where: { $0.uri == uri }), ext.id > 0, ext.id < 15,
                  known == nil || known == UInt8(ext.id) else { return nil }
            return UInt8(ext.id)
        }
        if let simulcast = m.simulcast, let ridID = oneByteID(ridExtension, known: known.rid) {
            let sendRIDs = Set(m.rids.filter { $0.direction == .send }.map(\.id))
            var seen: Set<String> = []
            let rids = simulcast.sendRIDs.filter { sendRIDs.contains($0) && seen.insert($0).inserted }
            if (2...maxSimulcastLayers).contains(rids.count) {
                let repaired = rtx ? oneByteID(repairedRIDExtension, known: known.repaired) : nil
                return (rids.map { SimulcastLayer(rid: $0) }, true, (ridID, repaired))
            }
        }
        if let group = m.ssrcGroups.first(where: { $0.semantics == "SIM" }),
           (2...maxSimulcastLayers).contains(group.ssrcs.count), Set(group.ssrcs).count == group.ssrcs.count {
            let layers = group.ssrcs.map { SimulcastLayer(rid: "", ssrc: $0, rtxSSRC: rtx ? m.rtxSSRC(for: $0) : nil) }
            return (layers, false, (nil, nil))
        }
        return ([], false, (nil, nil))
    }

    /// The repair a section offers for `codec`: its `rtx` twin and its feedback types.
    private static func repair(of codec: Codec, in m: MediaDescription) -> Repair {
        let rtx = m.codecs.first { $0.isNamed("rtx") && $0.clockRate == codec.clockRate && $0.associatedPayloadType == codec.payloadType }
        return Repair(rtxPayloadType: rtx?.payloadType, nack: codec.supportsFeedback("nack"),
                      pli: codec.supportsFeedback("nack", parameter: "pli"), fir: codec.supportsFeedback("ccm", parameter: "fir"))
    }
}
