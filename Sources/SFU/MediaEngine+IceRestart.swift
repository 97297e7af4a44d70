import Congestion
import DTLS
import SDP
import STUN
import Wire

extension MediaEngine {
    /// Answers a participant's ICE restart (RFC 8445 §9; JSEP, RFC 8829
    /// §5.2.1 "iceRestart"): its new offer carries new ice-ufrag/ice-pwd, we
    /// answer with new ones of ours, and nothing else about the call changes
    /// (same sections, same slot SSRCs, same slot map: what is forwarded is
    /// not renegotiated). Runs on the participant's loop.
    ///
    /// Only `id`'s own transport can change: the restart is found by the
    /// sender's participant id, never by anything in the offer, and an offer
    /// whose ufrag another participant uses is refused. DTLS and SRTP are
    /// kept when the offer keeps the fingerprint (browsers keep their DTLS
    /// transport across an ICE restart); a new fingerprint means a new DTLS
    /// association, begun with the new offer (RFC 8842 §5.5). The old ICE
    /// credentials keep the old path alive until the client's first valid
    /// check with the new ones (`IceLiteAgent.restart`). Refusals change nothing.
    public func restartICE(_ id: ParticipantID, offer text: String, now: Instant) throws(SFUError) -> String {
        guard let p = participant(id) else { throw .unknownParticipant(id) }
        // A restart costs what a command does (and more): same budget.
        guard p.commandBudget.take(now: now) else {
            counters.commandsRateLimited += 1
            throw .rateLimited("More than \(Int(Self.commandsPerSecond)) commands a second; wait a moment.")
        }
        let offer: SessionDescription
        do { offer = try SessionDescription.parse(text) } catch { throw .invalidOffer("\(error)") }
        var plan = try OfferPlan(offer: offer, maxSlots: configuration.maxSlots)
        if !configuration.lossRepair { plan.withoutLossRepair() }
        // Checked first: an offer naming someone else's ufrag is refused as such, whatever else is wrong.
        if byUfrag[plan.remoteUfrag] != nil || usesRemoteUfrag(plan.remoteUfrag, except: p) {
            throw .notOwnTransport("That ICE username fragment belongs to another participant.")
        }
        guard plan.remoteUfrag != p.plan.remoteUfrag, plan.remotePassword != p.plan.remotePassword else {
            throw .invalidOffer("an ICE restart needs a new ice-ufrag and ice-pwd (RFC 8839 §4.4.1.1.1)")
        }
        let newDTLS = plan.remoteFingerprint != p.plan.remoteFingerprint
        // A new DTLS association is a new peer connection (a reloaded page):
        // its own tracks have new SSRCs, so those may differ; nothing else may.
        guard Self.accepted(plan.sections, ignoringSSRCs: newDTLS) == Self.accepted(p.plan.sections, ignoringSSRCs: newDTLS),
              plan.extensionIDs == p.plan.extensionIDs, plan.rtcpReducedSize == p.plan.rtcpReducedSize else {
            throw .invalidOffer("an ICE restart keeps the join's media sections; only ICE (and DTLS) may change")
        }
        if !newDTLS {
            // The association goes on, so the roles must too (RFC 8842 §5.5).
            guard plan.dtlsServer == p.plan.dtlsServer else {
                throw .invalidOffer("a=setup changes the DTLS role without a new fingerprint")
            }
        }
        var dtls: DTLSEndpoint?
        if newDTLS && plan.dtlsServer {
            do {
                dtls = try DTLSEndpoint(role: .server, certificate: configuration.certificate,
                                        remoteFingerprint: plan.remoteFingerprint, now: now)
            } catch { throw .internalFailure("DTLS: \(error)") }
        }

        var ufrag = IceCredential.random(length: IceLiteAgent.ufragLength, using: &random)
        while byUfrag[ufrag] != nil { ufrag = IceCredential.random(length: IceLiteAgent.ufragLength, using: &random) }
        let password = IceCredential.random(length: 24, using: &random)
        if let dropped = p.ice.restart(localUfrag: ufrag, localPassword: password, remoteUfrag: plan.remoteUfrag,
                                       remotePassword: plan.remotePassword), byUfrag[dropped] === p {
            byUfrag[dropped] = nil
        }
        byUfrag[ufrag] = p
        counters.iceRestartsAnswered += 1
        if newDTLS {
            // Keys come from the new handshake; until then nothing is sent or accepted.
            counters.dtlsRestarts += 1
            p.dtls = dtls
            p.srtp = nil
            newPeerConnection(p, plan: plan, now: now)
        } else {
            plan.dtlsServer = p.plan.dtlsServer
        }
        p.plan = plan
        p.answerOrigin.version += 1
        timersChanged()  // a new DTLS endpoint, new ICE state: new deadlines
        return AnswerBuilder(ufrag: ufrag, password: password, fingerprint: configuration.certificate.fingerprint,
                             candidateHost: configuration.candidateHost, candidatePort: configuration.candidatePort,
                             participantID: id, tcpCandidatePort: configuration.candidateTCPPort)
            .answer(for: plan, slotSSRCs: p.subscriber.slotSSRCs, videoSlotRTXSSRCs: p.subscriber.video.map { $0.rtx?.ssrc },
                    screenSlotRTXSSRCs: p.subscriber.screen.map { $0.rtx?.ssrc },
                    sessionVersion: p.answerOrigin.id, originVersion: p.answerOrigin.version)
    }

    /// The sections an answer accepts: what a restart may not change.
    private static func accepted(_ sections: [OfferPlan.Section], ignoringSSRCs: Bool) -> [OfferPlan.Section] {
        sections.compactMap { section in
            switch section {
            case .rejected: return nil
            case .publish(let kind, var publish) where ignoringSSRCs:
                publish.ssrc = nil
                publish.rtxSSRC = nil
                return .publish(kind, publish)
            default: return section
            }
        }
    }

    /// Whether a participant other than `p` has `ufrag` as its client ufrag.
    private func usesRemoteUfrag(_ ufrag: String, except p: Participant) -> Bool {
        for session in sessions.values {
            for other in session.participants.values where other !== p && other.ice.remoteUfrag == ufrag { return true }
        }
        return false
    }
}

extension MediaEngine {
    /// The participant's media comes from a new peer connection (a reloaded
    /// page): its own streams start over under new SSRCs (learned from the
    /// offer, or from the first packets), so every slot they fill starts
    /// over too, as on a source switch: new offsets, video from a keyframe.
    func newPeerConnection(_ p: Participant, plan: OfferPlan, now: Instant) {
        p.audio = plan.audio.map { PublishedStream(kind: .audio, payloadType: $0.payloadType, ssrc: $0.ssrc) }
        p.video = plan.video.map { PublishedStream(kind: .video, $0) }
        p.screen = plan.screen.map { PublishedStream(kind: .screen, $0) }
        if p.transportFeedback != nil { p.transportFeedback = TransportFeedbackRecorder() }
        if p.subscriber.bandwidth != nil { p.subscriber.bandwidth = BandwidthEstimator(configuration: MediaEngine.downlinkEstimator) }
        let session = p.session
        for other in session.participants.values where other !== p {
            for kind in TrackKind.allCases {
                for index in other.subscriber[kind].indices {
                    guard case .publisher(p.id)? = session.table.fill(of: other.id, kind: kind, index: index) else { continue }
                    other.subscriber[kind][index].rebase(filled: true, waitForKeyframe: kind.isVideo)
                }
            }
        }
        // Its own slots keep their SSRCs and numbering; the new page's
        // decoders need keyframes, asked for once DTLS is up (`requestKeyframes(around:)`).
        // A new page shares nothing yet: a share of the old one ends for its room.
        if session.table.members[p.id]?.sharing == true {
            let before = session.table
            let changed = session.table.setSharing(p.id, false)
            applySlotChanges(changed, in: session, from: before, now: now, except: nil)
            publishSessionView(session, now: now)
        }
    }
}
