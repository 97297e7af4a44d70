import RTP
import SRTP
import STUN
import Wire

extension MediaEngine {
    /// SRTP from a publisher: decrypt, identify the stream, then one
    /// rewritten and re-encrypted copy per subscriber slot that holds it.
    ///
    /// Steady state allocates nothing: the packet is decrypted in
    /// `receiveScratch`, each copy is rewritten and encrypted in
    /// `forwardScratch` and then appended to `transmits`' reused storage,
    /// and the targets come from the publisher's cached `PublisherRoutes`.
    func receiveRTP(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        guard let p = byAddress[source] else { counters.unknownSourceDropped += 1; return }
        guard let srtp = p.srtp else { counters.mediaBeforeKeys += 1; return }
        // Work on uniquely referenced buffers (so SRTP and the rewrites stay
        // in place) and give them back afterwards.
        var packet = receiveScratch
        receiveScratch = []
        var copy = forwardScratch
        forwardScratch = []
        defer {
            receiveScratch = packet
            forwardScratch = copy
        }
        packet.removeAll(keepingCapacity: true)
        packet.append(contentsOf: datagram)
        do { try srtp.unprotectRTP(&packet) } catch { counters.srtpFailed += 1; return }
        guard let header = try? RTPHeader(parsing: packet) else { counters.malformedMedia += 1; return }
        guard let kind = p.publishedKind(ssrc: header.ssrc, payloadType: header.payloadType) else {
            counters.unexpectedStream += 1
            return
        }
        if kind == .audio {
            p.audioStats.record(sequence: header.sequenceNumber, timestamp: header.timestamp, now: now)
            // localExtensionIDs[0] is the RFC 6464 audio level (OfferPlan.forwardedExtensions).
            let levelID = p.localExtensionIDs[0]
            if levelID != 0, let level = header.audioLevel(id: levelID, in: packet) {
                let value = level.voiceActivity ? Double(127 - Int(level.level)) : 0
                p.loudness += (value - p.loudness) * 0.2
                if level.voiceActivity && level.level <= Self.speakingLevel { p.lastVoice = now }
            }
        } else {
            p.videoStats.record(sequence: header.sequenceNumber, timestamp: header.timestamp, now: now)
        }
        guard let routes = routes(of: p) else { return }
        if kind == .audio, let mix = routes.mix {
            mix.mixer.receive(key: p.sourceKey, sequence: header.sequenceNumber, timestamp: header.timestamp,
                              payload: Array(packet[header.payloadRange]), now: now)
        }
        let refused = kind == .audio ? routes.refused.audio : routes.refused.video
        if refused > 0 { counters.isolationViolations += refused }
        let targets = routes.targets(kind)
        guard !targets.isEmpty else { return }
        let keyframe = kind == .video && VP8Keyframe.isKeyframeStart(packet, payload: header.payloadRange)
        let payloadBytes = header.payloadRange.count
        var forwarded = 0
        for target in targets {
            let sub = target.subscriber
            guard let subSRTP = sub.srtp, let destination = sub.ice.selected else { continue }
            let slotSSRC: UInt32
            let rewritten: (sequence: UInt16, timestamp: UInt32)?
            if kind == .audio {
                slotSSRC = sub.audioSlots[target.slot].ssrc
                rewritten = sub.audioSlots[target.slot].rewrite(
                    source: p.sourceKey, sequence: header.sequenceNumber, timestamp: header.timestamp,
                    isKeyframe: keyframe, payloadBytes: payloadBytes, now: now)
            } else {
                slotSSRC = sub.videoSlots[target.slot].ssrc
                rewritten = sub.videoSlots[target.slot].rewrite(
                    source: p.sourceKey, sequence: header.sequenceNumber, timestamp: header.timestamp,
                    isKeyframe: keyframe, payloadBytes: payloadBytes, now: now)
            }
            guard let rewritten else { continue }
            copy.removeAll(keepingCapacity: true)
            copy.append(contentsOf: packet)
            var h = header
            h.rewrite(ssrc: slotSSRC, sequenceNumber: rewritten.sequence, timestamp: rewritten.timestamp, in: &copy)
            h.setPayloadType(target.payloadType, in: &copy)
            if target.remapsExtensions { remapExtensions(header: h, packet: &copy, from: p, to: sub) }
            do { try subSRTP.protectRTP(&copy) } catch { counters.srtpFailed += 1; continue }
            transmits.append(copy, to: destination)
            forwarded += 1
        }
        counters.rtpForwarded += forwarded
    }

    /// Rewrites one-byte header-extension ids (RFC 8285 §4.2) from the
    /// publisher's numbering to the subscriber's; an element the subscriber
    /// did not negotiate becomes id 15, where receivers stop parsing.
    func remapExtensions(header: RTPHeader, packet: inout [UInt8], from p: Participant, to sub: Participant) {
        guard header.extensionForm == .oneByte, p.localExtensionIDs != sub.localExtensionIDs else { return }
        for element in header.extensionElements(in: packet) {
            let at = element.range.lowerBound - 1
            guard at >= 0, at < packet.count else { continue }
            let index = Int(p.extensionIndexByID[Int(element.id & 0x0F)])
            let newID: UInt8 = index > 0 && sub.localExtensionIDs[index - 1] != 0 ? sub.localExtensionIDs[index - 1] : 15
            packet[at] = newID << 4 | (packet[at] & 0x0F)
        }
    }
}
