import DTLS
import Wire

/// Writes Cohort's SDP answer (RFC 8829 §5.3) for an `OfferPlan`: ICE-lite
/// with a UDP host candidate (and an ICE-TCP passive one), BUNDLE on one transport, rtcp-mux, the offer's
/// own payload types, and one SSRC per receive slot so that each slot is
/// one continuous stream for the client.
public struct AnswerBuilder: Sendable {
    /// Our ICE username fragment.
    public var ufrag: String
    /// Our ICE password.
    public var password: String
    /// Our certificate's fingerprint.
    public var fingerprint: DTLSFingerprint
    /// The address put in the candidate and c= lines.
    public var candidateHost: String
    /// The UDP port of this session's media socket.
    public var candidatePort: UInt16
    /// Identifies the participant in CNAME and msid.
    public var participantID: String
    /// The port of the ICE-TCP listener (nil: UDP only).
    public var tcpCandidatePort: UInt16?

    /// Creates a builder.
    public init(ufrag: String, password: String, fingerprint: DTLSFingerprint,
                candidateHost: String, candidatePort: UInt16, participantID: String, tcpCandidatePort: UInt16? = nil) {
        self.tcpCandidatePort = tcpCandidatePort
        self.ufrag = ufrag
        self.password = password
        self.fingerprint = fingerprint
        self.candidateHost = candidateHost
        self.candidatePort = candidatePort
        self.participantID = participantID
    }

    /// The answer text (CRLF line endings). `slotSSRCs[kind][i]` is the SSRC of slot `i`;
    /// `videoSlotRTXSSRCs[i]`, when present, the SSRC of video slot `i`'s retransmissions (RFC 4588).
    /// `sessionVersion` is the o= line's sess-id (named so for history) and
    /// `originVersion` its sess-version, which a later answer in the same
    /// session (an ICE restart) raises (RFC 3264 §8).
    /// `screenSlotRTXSSRCs` likewise for the screen slot.
    public func answer(for plan: OfferPlan, slotSSRCs: [TrackKind: [UInt32]], videoSlotRTXSSRCs: [UInt32?] = [],
                       screenSlotRTXSSRCs: [UInt32?] = [],
                       sessionVersion: UInt64, originVersion: UInt64 = 2) -> String {
        let ipv6 = candidateHost.contains(":")
        let addrType = ipv6 ? "IP6" : "IP4"
        var lines = [
            "v=0",
            "o=- \(sessionVersion) \(originVersion) IN \(addrType) \(candidateHost)",
            "s=Cohort",
            "t=0 0",
        ]
        let accepted = plan.sections.compactMap { s -> String? in
            switch s {
            case .publish(_, let p): return p.mid
            case .slot(_, _, let slot): return slot.mid
            case .rejected: return nil
            }
        }
        lines.append("a=group:BUNDLE " + accepted.joined(separator: " "))
        lines.append("a=ice-lite")
        lines.append("a=msid-semantic: WMS *")
        for section in plan.sections {
            switch section {
            case .rejected(let mid, _, let mediaLine):
                lines.append("m=\(mediaLine)")
                lines.append("c=IN \(addrType) \(candidateHost)")
                if let mid { lines.append("a=mid:\(mid)") }
                lines.append("a=inactive")
            case .publish(let kind, let p):
                lines += mediaSection(kind: kind, mid: p.mid, payloadType: p.payloadType, repair: p.repair,
                                      extensions: p.extensions, direction: "recvonly", plan: plan, addrType: addrType,
                                      transportWide: p.transportWide)
                lines += simulcastLines(p, plan: plan)
            case .slot(let kind, let index, let slot):
                lines += mediaSection(kind: kind, mid: slot.mid, payloadType: slot.payloadType, repair: slot.repair,
                                      extensions: slot.extensions, direction: "sendonly", plan: plan, addrType: addrType,
                                      transportWide: slot.transportWide)
                if let ssrc = slotSSRCs[kind]?[index] {
                    // Audio slot i and video slot i share a stream, so browsers synchronise them
                    // (RFC 8830); the server fills them with the same person when it can.
                    // The screen slot is a stream of its own: nothing to synchronise it with.
                    let stream = kind == .screen ? "cohort-screen" : "cohort-\(index)"
                    let track = "\(participantID)-\(kind.rawValue)-\(index)"
                    lines.append("a=msid:\(stream) \(track)")
                    let rtxSSRCs = kind == .screen ? screenSlotRTXSSRCs : kind == .video ? videoSlotRTXSSRCs : []
                    let rtx = slot.repair.rtxPayloadType != nil && index < rtxSSRCs.count ? rtxSSRCs[index] : nil
                    if let rtx { lines.append("a=ssrc-group:FID \(ssrc) \(rtx)") }
                    for s in [ssrc, rtx].compactMap({ $0 }) {
                        lines.append("a=ssrc:\(s) cname:cohort")
                        lines.append("a=ssrc:\(s) msid:\(stream) \(track)")
                    }
                }
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 8853 §5.3: a published section's simulcast, answered as
    /// receive-direction rids in the offer's order, with the RtpStreamId
    /// extension (and RepairedRtpStreamId, when offered with RTX) that tells
    /// the layers' SSRCs apart. Nothing for a SIM group (RFC 5576 needs no
    /// answer) or without simulcast.
    private func simulcastLines(_ p: OfferPlan.Publish, plan: OfferPlan) -> [String] {
        let rids = p.simulcast.map(\.rid)
        guard !rids.isEmpty, !rids.contains(""), let ridID = plan.ridID else { return [] }
        var l = ["a=extmap:\(ridID) \(OfferPlan.ridExtension)"]
        if let repaired = plan.repairedRIDID, p.repair.rtxPayloadType != nil {
            l.append("a=extmap:\(repaired) \(OfferPlan.repairedRIDExtension)")
        }
        l += rids.map { "a=rid:\($0) recv" }
        l.append("a=simulcast:recv " + rids.joined(separator: ";"))
        return l
    }

    private func mediaSection(kind: TrackKind, mid: String, payloadType pt: UInt8, repair: OfferPlan.Repair,
                              extensions: Set<String>, direction: String, plan: OfferPlan, addrType: String,
                              transportWide: Bool = false) -> [String] {
        let formats = [pt] + (repair.rtxPayloadType.map { [$0] } ?? [])
        var l = [
            "m=\(kind.media) \(candidatePort) UDP/TLS/RTP/SAVPF \(formats.map(String.init).joined(separator: " "))",
            "c=IN \(addrType) \(candidateHost)",
            "a=mid:\(mid)",
            "a=ice-ufrag:\(ufrag)",
            "a=ice-pwd:\(password)",
            "a=fingerprint:\(fingerprint.sdpValue)",
            "a=setup:\(plan.dtlsServer ? "passive" : "active")",
            "a=\(direction)",
            "a=rtcp-mux",
        ]
        if plan.rtcpReducedSize { l.append("a=rtcp-rsize") }
        switch kind {
        case .audio:
            l.append("a=rtpmap:\(pt) opus/48000/2")
            l.append("a=fmtp:\(pt) minptime=10;useinbandfec=1")
        case .video, .screen:
            l.append("a=rtpmap:\(pt) VP8/90000")
            // Generic NACK only where the client offered it: Cohort then
            // answers NACKs from its packet cache and NACKs the client's losses.
            if repair.nack { l.append("a=rtcp-fb:\(pt) nack") }
            l.append("a=rtcp-fb:\(pt) nack pli")
            l.append("a=rtcp-fb:\(pt) ccm fir")
            if let rtx = repair.rtxPayloadType {
                l.append("a=rtpmap:\(rtx) rtx/90000")
                l.append("a=fmtp:\(rtx) apt=\(pt)")
            }
        }
        // Only extensions offered in this very section (RFC 8285 §5), with the
        // id the offer gave them (one per URI across the bundle).
        for uri in OfferPlan.forwardedExtensions where extensions.contains(uri) {
            guard let id = plan.extensionIDs[uri] else { continue }
            if kind.isVideo && uri.hasSuffix("ssrc-audio-level") { continue }
            l.append("a=extmap:\(id) \(uri)")
        }
        // Transport-wide congestion control: on what the client publishes Cohort
        // records arrivals and sends feedback (TransportFeedbackRecorder); on
        // what it receives Cohort stamps its own numbers and reads the
        // client's feedback (BandwidthEstimator).
        if transportWide, let id = plan.transportWideID {
            l.append("a=rtcp-fb:\(pt) transport-cc")
            l.append("a=extmap:\(id) \(OfferPlan.transportWideExtension)")
        }
        // RFC 8445 §5.1.2: host candidate priority, type preference 126.
        l.append("a=candidate:1 1 udp 2130706431 \(candidateHost) \(candidatePort) typ host")
        if let tcpCandidatePort {
            l.append("a=candidate:2 1 tcp \(Self.tcpPassivePriority) \(candidateHost) \(tcpCandidatePort) typ host tcptype passive")
        }
        l.append("a=end-of-candidates")
        return l
    }

    /// RFC 6544 §4.2: a passive TCP host candidate's priority, below the UDP
    /// one (2130706431) so that a browser that can use UDP does: type
    /// preference 126, local preference 2^13 × 4 (direction: passive) + 8191.
    public static let tcpPassivePriority: UInt32 = 126 << 24 | (4 << 13 + 8_191) << 8 | 255
}
