import RTP
import SRTP
import STUN
import Wire

extension MediaEngine {
    /// SRTCP from a participant: keyframe requests go to the publisher in
    /// the named slot; sender reports feed our receiver reports.
    func receiveRTCP(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        guard let p = byAddress[source] else { counters.unknownSourceDropped += 1; return }
        guard let srtp = p.srtp else { counters.mediaBeforeKeys += 1; return }
        var packet = datagram
        do { try srtp.unprotectRTCP(&packet) } catch { counters.srtpFailed += 1; return }
        var reader = RTCPCompoundReader(packet)
        while true {
            let next: RTCPPacket?
            do { next = try reader.next() } catch { counters.malformedMedia += 1; return }
            guard let next else { break }
            switch next {
            case .pictureLossIndication(let pli):
                requestKeyframe(subscriber: p, slotSSRC: pli.mediaSSRC)
            case .fullIntraRequest(let fir):
                for entry in fir.entries { requestKeyframe(subscriber: p, slotSSRC: entry.ssrc) }
            case .senderReport(let sr):
                if sr.ssrc == p.audio?.ssrc { p.audio?.stats.recordSenderReport(ntpTimestamp: sr.ntpTimestamp, now: now) }
                if sr.ssrc == p.video?.ssrc { p.video?.stats.recordSenderReport(ntpTimestamp: sr.ntpTimestamp, now: now) }
            default:
                break  // RR, SDES, BYE, NACK (no retransmission cache yet), REMB, TWCC
            }
        }
    }

    /// A subscriber's PLI or FIR for one of its slots goes to whoever the
    /// routing table says fills it.
    private func requestKeyframe(subscriber: Participant, slotSSRC: UInt32) {
        guard let (kind, index) = subscriber.subscriber.slot(withSSRC: slotSSRC), kind == .video,
              case .publisher(let who)? = subscriber.session.fill(of: subscriber.id, kind: .video, index: index)
        else { return }
        subscriber.session.participants[who]?.requestKeyframe()
    }

    /// Sends a PLI to `p` if one is pending, at most one per second (the
    /// first at once), so a room full of subscribers cannot flood a publisher.
    func sendPendingPLI(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        guard let video = p.video, video.keyframeWanted, let ssrc = video.ssrc, let srtp = p.srtp,
              let to = p.ice.selected else { return }
        if let last = video.lastKeyframeRequest, now - last < .seconds(1) { return }
        p.video?.keyframeWanted = false
        p.video?.lastKeyframeRequest = now
        var out = RTCPCompound.build([RTCPPictureLossIndication(senderSSRC: p.feedbackSSRC, mediaSSRC: ssrc)])
        do { try srtp.protectRTCP(&out) } catch { return }
        transmits.append(out, to: to)
        counters.pliSent += 1
    }

    /// Once a second: receiver reports for what `p` publishes, and sender
    /// reports for each slot we send it, so browser statistics (loss, jitter,
    /// round trip) are meaningful (RFC 3550 §6.4).
    func sendReports(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        guard let srtp = p.srtp, let to = p.ice.selected else { return }
        var blocks: [RTCPReportBlock] = []
        for kind in TrackKind.allCases {
            let stream = kind == .audio ? p.audio : p.video
            guard var stream, let ssrc = stream.ssrc, stream.stats.received > 0 else { continue }
            blocks.append(reportBlock(ssrc, &stream.stats, now))
            if kind == .audio { p.audio = stream } else { p.video = stream }
        }
        var packets: [any RTCPPacketWritable] = []
        let ntp = ntpTimestamp(now)
        for slot in p.subscriber.audio + p.subscriber.video {
            guard let last = slot.lastSent else { continue }
            let elapsed = max(0, (now - last.at).nanoseconds)
            let rtp = last.timestamp &+ UInt32(truncatingIfNeeded: Int64(slot.clockRate) * elapsed / 1_000_000_000)
            packets.append(RTCPSenderReport(ssrc: slot.ssrc, ntpTimestamp: ntp, rtpTimestamp: rtp,
                                            packetCount: slot.packetsSent, octetCount: slot.octetsSent))
        }
        if !blocks.isEmpty {
            packets.insert(RTCPReceiverReport(ssrc: p.feedbackSSRC, reportBlocks: blocks), at: 0)
        }
        guard !packets.isEmpty else { return }
        var out = RTCPCompound.build(packets)
        do { try srtp.protectRTCP(&out) } catch { return }
        transmits.append(out, to: to)
    }

    private func reportBlock(_ ssrc: UInt32, _ stats: inout ReceiveStatistics, _ now: Instant) -> RTCPReportBlock {
        RTCPReportBlock(ssrc: ssrc, fractionLost: stats.takeFractionLost(), cumulativeLost: stats.cumulativeLost,
                        extendedHighestSequenceNumber: stats.extendedHighestSequence, jitter: stats.jitter,
                        lastSenderReport: stats.lastSenderReport,
                        delaySinceLastSenderReport: stats.delaySinceLastSenderReport(now: now))
    }

    /// NTP time (RFC 3550 §4: seconds since 1900 in 32.32 fixed point) at `now`.
    func ntpTimestamp(_ now: Instant) -> UInt64 {
        let unixNs = configuration.unixNanosecondsAtZero &+ now.nanoseconds
        let seconds = unixNs / 1_000_000_000 + 2_208_988_800
        let fraction = (unixNs % 1_000_000_000) << 32 / 1_000_000_000
        return seconds << 32 | fraction
    }
}
