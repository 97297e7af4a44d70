import RTP
import SRTP
import STUN
import Wire

extension MediaEngine {
    /// SRTCP from a participant: keyframe requests go to the publisher in
    /// the named slot, NACKs are answered from that publisher's packet
    /// cache, report blocks on our slots give the round-trip time, and
    /// sender reports feed our receiver reports, transport-wide feedback
    /// feeds the participant's downlink estimate.
    func receiveRTCP(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        guard let p = byAddress[source] else { counters.unknownSourceDropped += 1; return }
        guard let srtp = p.srtp else { counters.mediaBeforeKeys += 1; return }
        var packet = datagram
        do { try srtp.unprotectRTCP(&packet) } catch { counters.srtpFailed += 1; return }
        var reader = RTCPCompoundReader(packet)
        while true {
            let next: RTCPPacket?
            do { next = try reader.next() } catch { counters.malformedMedia += 1; break }
            guard let next else { break }
            switch next {
            case .pictureLossIndication(let pli):
                requestKeyframe(subscriber: p, slotSSRC: pli.mediaSSRC, now: now)
            case .fullIntraRequest(let fir):
                for entry in fir.entries { requestKeyframe(subscriber: p, slotSSRC: entry.ssrc, now: now) }
            case .nack(let nack):
                answerNack(nack, from: p, now: now, transmits: &transmits)
            case .senderReport(let sr):
                if sr.ssrc == p.audio?.layers[0].ssrc {
                    p.audio?.layers[0].stats.recordSenderReport(ntpTimestamp: sr.ntpTimestamp, rtpTimestamp: sr.rtpTimestamp, now: now)
                }
                if let layer = p.video?.layer(ssrc: sr.ssrc) {
                    p.video?.layers[layer].stats.recordSenderReport(ntpTimestamp: sr.ntpTimestamp, rtpTimestamp: sr.rtpTimestamp,
                                                                    now: now)
                }
                if sr.ssrc == p.screen?.layers[0].ssrc {
                    p.screen?.layers[0].stats.recordSenderReport(ntpTimestamp: sr.ntpTimestamp, rtpTimestamp: sr.rtpTimestamp, now: now)
                }
                readReportBlocks(p, sr.reportBlocks, now: now)
                fitLayersToTiles(p, now: now)
            case .receiverReport(let rr):
                readReportBlocks(p, rr.reportBlocks, now: now)
                fitLayersToTiles(p, now: now)
            case .transportWideFeedback(let feedback):
                // On the copies we sent it: its downlink estimate, then what it gets.
                p.subscriber.bandwidth?.receive(feedback, now: now)
                counters.transportFeedbackReceived += 1
                allocateDownlink(p, now: now)
                sendProbe(p, now: now, transmits: &transmits)
            default:
                break  // SDES, BYE, REMB
            }
        }
    }

    /// A subscriber's PLI or FIR for one of its slots goes to whoever the
    /// routing table says fills it, for the simulcast layer the slot
    /// receives (or, before it has one, every layer); the engine's deadline
    /// (the requester's, due at once) sends the PLI or FIR right after this batch.
    private func requestKeyframe(subscriber: Participant, slotSSRC: UInt32, now: Instant) {
        guard let (kind, index) = subscriber.subscriber.slot(withSSRC: slotSSRC), kind.isVideo,
              case .publisher(let who)? = subscriber.session.table.fill(of: subscriber.id, kind: kind, index: index),
              let publisher = subscriber.session.participants[who], publisher[keyPath: Participant.videoStream(kind)] != nil
        else { return }
        counters.keyframeRequestsReceived += 1
        publisher.requestKeyframe(of: kind, now: now, layer: kind == .video ? subscriber.subscriber.video[index].layer : nil)
        reschedule(publisher)
    }

    /// RFC 3550 §6.4.1: the round trip from each report block on one of our
    /// slots, A − LSR − DLSR in 1/65536 s (`RoundTripEstimate`).
    private func readReportBlocks(_ p: Participant, _ blocks: [RTCPReportBlock], now: Instant) {
        let arrival = UInt32(truncatingIfNeeded: ntpTimestamp(now) >> 16)
        for block in blocks {
            guard let (kind, index) = p.subscriber.slot(withSSRC: block.ssrc) else { continue }
            // What the subscriber says of this slot's loss and jitter (downlink quality, for the metrics).
            p.subscriber[kind][index].lastReport = SubscribedSlot.Report(fractionLost: block.fractionLost, jitter: block.jitter)
            guard block.lastSenderReport != 0 else { continue }
            let units = arrival &- block.lastSenderReport &- block.delaySinceLastSenderReport
            // A negative or absurd value (clock steps, a peer's bad field) says nothing.
            guard units < 65_536 * 10 else { continue }
            let sample = TimeSpan(nanoseconds: Int64(units) * 1_000_000_000 / 65_536)
            p.roundTrip.record(sample)
        }
    }

    /// Sends `p` what its video needs now: a PLI or FIR from its
    /// `KeyframeRequester` and a NACK from its `NackGenerator` (RFC 4585
    /// §6.2.1, §6.3.1; RFC 5104 §4.3.1). Runs from the engine's timeout,
    /// whose deadline includes both.
    func sendRepairRequests(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        sendRepairRequests(p, for: \.video, now: now, transmits: &transmits)
        sendRepairRequests(p, for: \.screen, now: now, transmits: &transmits)
    }

    /// The same for one of `p`'s video streams, the camera (each simulcast
    /// layer) or the screen share.
    private func sendRepairRequests(_ p: Participant, for stream: ReferenceWritableKeyPath<Participant, PublishedStream?>,
                                    now: Instant, transmits: inout TransmitQueue) {
        // The stream's layers are mutated in place: a copy would copy their packet caches.
        guard let count = p[keyPath: stream]?.layers.count, let srtp = p.srtp, let to = p.ice.selected else { return }
        var packets: [any RTCPPacketWritable] = []
        var nack = false
        var loss = 0.0
        for layer in 0..<count {
            guard let ssrc = p[keyPath: stream]?.layers[layer].ssrc else { continue }
            if let lost = p[keyPath: stream]?.layers[layer].nacks?.poll(now: now, rtt: p.roundTrip.smoothed), !lost.isEmpty {
                packets.append(RTCPNack(senderSSRC: p.feedbackSSRC, mediaSSRC: ssrc, lostSequenceNumbers: lost))
                counters.nacksSent += 1
                counters.nackedPackets += lost.count
                nack = true
                loss = max(loss, p[keyPath: stream]?.layers[layer].uplinkLoss ?? 0)
            }
            if p[keyPath: stream]?.layers[layer].nacks?.takeKeyframeNeed() == true {
                p[keyPath: stream]?.layers[layer].keyframes.request(now: now)
            }
            switch p[keyPath: stream]?.layers[layer].keyframes.poll(now: now, rtt: p.roundTrip.smoothed) {
            case .pli?:
                packets.append(RTCPPictureLossIndication(senderSSRC: p.feedbackSSRC, mediaSSRC: ssrc))
                counters.pliSent += 1
            case .fir(let sequence)?:
                packets.append(RTCPFullIntraRequest(senderSSRC: p.feedbackSSRC,
                                                    entries: [.init(ssrc: ssrc, sequenceNumber: sequence)]))
                counters.firSent += 1
            case nil:
                break
            }
        }
        guard !packets.isEmpty else { return }
        // On a lossy uplink the NACK itself goes twice (`nacksTwice`), each
        // copy its own SRTCP packet.
        let copies = nack && Self.nacksTwice(loss: loss) ? 2 : 1
        let compound = RTCPCompound.build(packets)
        for _ in 0..<copies {
            var out = compound
            do { try srtp.protectRTCP(&out) } catch { return }
            transmits.append(out, to: to)
            countRTCPSent(out)
        }
        counters.nacksDuplicated += copies - 1
    }

    /// Records a publisher packet's transport-wide sequence number and, when
    /// the 50 ms feedback interval is up, sends `p` transport feedback on
    /// everything since the last one (draft-holmer-rmcat-transport-wide-cc-extensions-01
    /// §3.1). Feedback goes out on the arrival that finds it due rather than
    /// on a timer of its own: arrivals are what it reports, and a publisher
    /// sends audio every 20 ms, so it leaves within 50-70 ms.
    func recordTransportArrival(_ p: Participant, sequence: UInt16, now: Instant, transmits: inout TransmitQueue) {
        p.transportFeedback?.record(sequence, at: now)
        guard let due = p.transportFeedback?.nextFeedback, due <= now,
              let srtp = p.srtp, let to = p.ice.selected else { return }
        let mediaSSRC = p.video?.layers[0].ssrc ?? p.audio?.layers[0].ssrc ?? 0
        guard let feedback = p.transportFeedback?.feedback(now: now, senderSSRC: p.feedbackSSRC, mediaSSRC: mediaSSRC)
        else { return }
        for packet in feedback {
            var out = RTCPCompound.build([packet])
            do { try srtp.protectRTCP(&out) } catch { return }
            transmits.append(out, to: to)
            countRTCPSent(out)
            counters.transportFeedbackSent += 1
        }
    }

    /// Once a second: receiver reports for what `p` publishes, and sender
    /// reports for each slot we send it, so browser statistics (loss, jitter,
    /// round trip) are meaningful (RFC 3550 §6.4).
    /// The server is stopping: every participant whose media is up is told
    /// by RTCP BYE (RFC 3550 §6.6) that each of its slots' sources and our
    /// feedback source leave, so receivers end those streams at once rather
    /// than after a timeout. Then the engine forgets everyone, without
    /// removal events: the control plane says `server-shutdown` itself.
    public func shutDown(now: Instant, transmits: inout TransmitQueue) {
        timersChanged()
        let reason = Array("server shutdown".utf8)
        for session in sessions.values {
            for p in session.participants.values {
                guard let srtp = p.srtp, let to = p.ice.selected else { continue }
                let slots = TrackKind.allCases.flatMap { kind in p.subscriber[kind].flatMap { [$0.ssrc] + ($0.rtx.map { [$0.ssrc] } ?? []) } }
                var leaving = slots + [p.feedbackSSRC]
                var packets: [any RTCPPacketWritable] = [RTCPReceiverReport(ssrc: p.feedbackSSRC, reportBlocks: [])]
                while !leaving.isEmpty {
                    let chunk = Array(leaving.prefix(31))
                    leaving.removeFirst(chunk.count)
                    packets.append(RTCPGoodbye(sources: chunk, reason: leaving.isEmpty ? reason : nil))
                }
                var out = RTCPCompound.build(packets)
                do { try srtp.protectRTCP(&out) } catch { continue }
                transmits.append(out, to: to)
                countRTCPSent(out)
                counters.goodbyesSent += 1
            }
        }
        recordEveryoneLeaving(reason: serverShutdownReason, now: now)
        sessions = [:]
        byUfrag = [:]
        byAddress = [:]
        nextTick = nil
    }

    func sendReports(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        guard let srtp = p.srtp, let to = p.ice.selected else { return }
        var blocks: [RTCPReportBlock] = []
        if let ssrc = p.audio?.layers[0].ssrc, (p.audio?.layers[0].stats.received ?? 0) > 0 {
            blocks.append(reportBlock(ssrc, &p.audio!.layers[0].stats, now))
        }
        for layer in p.video?.layers.indices ?? 0..<0 {
            guard let ssrc = p.video?.layers[layer].ssrc, (p.video?.layers[layer].stats.received ?? 0) > 0 else { continue }
            blocks.append(reportBlock(ssrc, &p.video!.layers[layer].stats, now))
        }
        if let ssrc = p.screen?.layers[0].ssrc, (p.screen?.layers[0].stats.received ?? 0) > 0 {
            blocks.append(reportBlock(ssrc, &p.screen!.layers[0].stats, now))
        }
        var packets: [any RTCPPacketWritable] = []
        for kind in TrackKind.allCases {
            for (index, slot) in p.subscriber[kind].enumerated() {
                guard let times = senderReportTimes(p, kind: kind, index: index, now: now) else { continue }
                packets.append(RTCPSenderReport(ssrc: slot.ssrc, ntpTimestamp: times.ntp, rtpTimestamp: times.rtp,
                                                packetCount: slot.packetsSent, octetCount: slot.octetsSent))
            }
        }
        if !blocks.isEmpty {
            packets.insert(RTCPReceiverReport(ssrc: p.feedbackSSRC, reportBlocks: blocks), at: 0)
        }
        guard !packets.isEmpty else { return }
        var out = RTCPCompound.build(packets)
        do { try srtp.protectRTCP(&out) } catch { return }
        transmits.append(out, to: to)
        countRTCPSent(out)
    }

    /// Counts one SRTCP compound the engine sends, for the metrics.
    private func countRTCPSent(_ packet: [UInt8]) {
        counters.rtcpPacketsSent += 1
        counters.rtcpBytesSent += packet.count
    }

    /// The NTP and RTP times of a slot's sender report (RFC 3550 §6.4.1).
    ///
    /// Audio slot i and video slot i share a media stream (msid) in the
    /// answer, so browsers synchronise them. When both carry the same
    /// publisher, each report carries that publisher's own capture clock:
    /// its last sender report for the stream, moved on by the time since it
    /// arrived and translated into the slot's RTP numbering, so lips sync as
    /// captured. Otherwise (different people, no publisher report yet) the
    /// report maps the slot's last packet to the server's clock, as before.
    func senderReportTimes(_ p: Participant, kind: TrackKind, index: Int, now: Instant) -> (ntp: UInt64, rtp: UInt32)? {
        let slot = p.subscriber[kind][index]
        guard let last = slot.lastSent else { return nil }
        let other: TrackKind = kind == .audio ? .video : .audio
        // A screen share has no partner stream to keep in sync with.
        if kind != .screen, case .publisher(let who)? = p.session.table.fill(of: p.id, kind: kind, index: index),
           index < p.subscriber[other].count, p.session.table.fill(of: p.id, kind: other, index: index) == .publisher(who),
           slot.hasOffsets, p.subscriber[other][index].hasOffsets,
           let publisher = p.session.participants[who],
           let own = Self.reportingStats(publisher, kind: kind, layer: p.subscriber.video[index].layer),
           let report = own.lastSenderReportTimes, let at = own.lastSenderReportAt,
           Self.reportingStats(publisher, kind: other, layer: p.subscriber.video[index].layer)?.lastSenderReportTimes != nil {
            let elapsed = UInt64(max(0, (now - at).nanoseconds))
            let ntp = report.ntp &+ (elapsed / 1_000_000_000) << 32 &+ (elapsed % 1_000_000_000) << 32 / 1_000_000_000
            let rtp = slot.slotTimestamp(forSourceTimestamp: report.rtp)
                &+ UInt32(truncatingIfNeeded: UInt64(slot.clockRate) * elapsed / 1_000_000_000)
            return (ntp, rtp)
        }
        let elapsed = max(0, (now - last.at).nanoseconds)
        let rtp = last.timestamp &+ UInt32(truncatingIfNeeded: Int64(slot.clockRate) * elapsed / 1_000_000_000)
        return (ntpTimestamp(now), rtp)
    }

    /// The receive statistics whose sender reports time a slot of `kind`:
    /// the audio's, or the video layer the slot forwards.
    static func reportingStats(_ publisher: Participant, kind: TrackKind, layer: Int?) -> ReceiveStatistics? {
        guard kind == .video else { return publisher.audio?.layers[0].stats }
        guard let video = publisher.video, let layer, layer < video.layers.count else { return nil }
        return video.layers[layer].stats
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
