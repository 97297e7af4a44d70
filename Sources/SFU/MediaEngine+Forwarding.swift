import RTP
import SRTP
import STUN
import Wire

extension MediaEngine {
    /// SRTP from a publisher: decrypt, identify the stream, then one
    /// rewritten and re-encrypted copy per subscriber slot that holds it.
    func receiveRTP(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout [Transmit]) {
        guard let p = byAddress[source] else { counters.unknownSourceDropped += 1; return }
        guard let srtp = p.srtp else { counters.mediaBeforeKeys += 1; return }
        var packet = datagram
        do { try srtp.unprotectRTP(&packet) } catch { counters.srtpFailed += 1; return }
        guard let header = try? RTPHeader(parsing: packet) else { counters.malformedMedia += 1; return }
        guard let kind = p.publishedKind(ssrc: header.ssrc, payloadType: header.payloadType) else {
            counters.unexpectedStream += 1
            return
        }
        if kind == .audio {
            p.audioStats.record(sequence: header.sequenceNumber, timestamp: header.timestamp, now: now)
        } else {
            p.videoStats.record(sequence: header.sequenceNumber, timestamp: header.timestamp, now: now)
        }
        guard let table = sessions[p.sessionID] else { return }
        let targets = table.targets(of: p.id, kind: kind)
        guard !targets.isEmpty else { return }
        let keyframe = kind == .video && VP8Keyframe.isKeyframeStart(packet, payload: header.payloadRange)
        let payloadBytes = header.payloadRange.count
        for target in targets {
            guard let sub = participants[target.subscriber], let subSRTP = sub.srtp,
                  let destination = sub.ice.selected else { continue }
            // Defence in depth for the isolation rule: the table only lists
            // same-room targets; a violation here would be a bug, counted.
            guard table.mayReceive(sub.id, from: p.id, kind: kind) else {
                counters.isolationViolations += 1
                continue
            }
            let rewritten: (sequence: UInt16, timestamp: UInt32)?
            let slotSSRC: UInt32
            let slotPT: UInt8
            switch kind {
            case .audio:
                guard target.slot < sub.audioSlots.count else { continue }
                rewritten = sub.audioSlots[target.slot].rewrite(
                    source: p.sourceKey, sequence: header.sequenceNumber, timestamp: header.timestamp,
                    isKeyframe: false, payloadBytes: payloadBytes, now: now)
                slotSSRC = sub.audioSlots[target.slot].ssrc
                slotPT = sub.plan.slots(.audio)[target.slot].payloadType
            case .video:
                guard target.slot < sub.videoSlots.count else { continue }
                rewritten = sub.videoSlots[target.slot].rewrite(
                    source: p.sourceKey, sequence: header.sequenceNumber, timestamp: header.timestamp,
                    isKeyframe: keyframe, payloadBytes: payloadBytes, now: now)
                slotSSRC = sub.videoSlots[target.slot].ssrc
                slotPT = sub.plan.slots(.video)[target.slot].payloadType
            }
            guard let rewritten else { continue }
            var copy = packet
            copy.reserveCapacity(packet.count + SRTPContext.maximumTrailerLength)
            var h = header
            h.rewrite(ssrc: slotSSRC, sequenceNumber: rewritten.sequence, timestamp: rewritten.timestamp, in: &copy)
            h.setPayloadType(slotPT, in: &copy)
            remapExtensions(header: h, packet: &copy, from: p, to: sub)
            do { try subSRTP.protectRTP(&copy) } catch { counters.srtpFailed += 1; continue }
            transmits.append(Transmit(bytes: copy, destination: destination))
            counters.rtpForwarded += 1
        }
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
