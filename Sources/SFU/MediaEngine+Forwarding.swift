import RTP
import SRTP
import STUN
import Wire

extension MediaEngine {
    /// SRTP from a publisher: decrypt, identify the stream, then one
    /// rewritten and re-encrypted copy per subscriber slot that holds it.
    ///
    /// Steady state allocates nothing: the packet is decrypted in
    /// `receiveScratch`, each copy is written, rewritten and encrypted in
    /// place in `transmits`' reused storage, and the targets come from the
    /// publisher's cached `PublisherRoutes`.
    func receiveRTP(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        guard let p = byAddress[source] else { counters.unknownSourceDropped += 1; return }
        guard let srtp = p.srtp else { counters.mediaBeforeKeys += 1; return }
        // Decrypt in a uniquely referenced buffer (so SRTP works in place)
        // and give it back afterwards.
        var packet = receiveScratch
        receiveScratch = []
        defer { receiveScratch = packet }
        packet.removeAll(keepingCapacity: true)
        packet.append(contentsOf: datagram)
        do { try srtp.unprotectRTP(&packet) } catch { counters.srtpFailed += 1; return }
        guard let header = try? RTPHeader(parsing: packet) else { counters.malformedMedia += 1; return }
        guard let kind = p.publishedKind(ssrc: header.ssrc, payloadType: header.payloadType) else {
            counters.unexpectedStream += 1
            return
        }
        if kind == .audio {
            p.audio?.stats.record(sequence: header.sequenceNumber, timestamp: header.timestamp, now: now)
            // localExtensionIDs[0] is the RFC 6464 audio level (OfferPlan.forwardedExtensions).
            let levelID = p.localExtensionIDs[0]
            if levelID != 0, let level = header.audioLevel(id: levelID, in: packet) {
                p.audio?.recordLevel(level, now: now)
            }
        } else {
            p.video?.stats.record(sequence: header.sequenceNumber, timestamp: header.timestamp, now: now)
        }
        guard let routes = routes(of: p) else { return }
        // Contributors change inside a `RoomMix` (mute, unmute) without a new
        // routing generation, so membership is read here, not cached.
        if kind == .audio, let mix = routes.mix, mix.contributors.contains(p.sourceKey) {
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
            let slotSSRC = sub.subscriber[kind][target.slot].ssrc
            guard let rewritten = sub.subscriber[kind][target.slot].rewrite(
                sequence: header.sequenceNumber, timestamp: header.timestamp, isKeyframe: keyframe,
                payloadBytes: payloadBytes, now: now) else { continue }
            var failed = false
            transmits.appendDatagram(to: destination, capacity: packet.count + SRTPContext.maximumTrailerLength) { out in
                let length = ForwardedPacket.write(packet, header: header, into: out, ssrc: slotSSRC,
                                                   sequence: rewritten.sequence, timestamp: rewritten.timestamp,
                                                   payloadType: target.payloadType,
                                                   remap: target.remapsExtensions
                                                       ? (p.extensionIndexByID, sub.localExtensionIDs) : nil)
                do { return try subSRTP.protectRTP(out, length: length) } catch {
                    failed = true
                    return nil
                }
            }
            if failed { counters.srtpFailed += 1 } else { forwarded += 1 }
        }
        counters.rtpForwarded += forwarded
    }
}
