import CohortClient
import LoadTest
import NIOCore
import NIOPosix
import RTP
import STUN
import Wire

/// Receiving: what a decrypted packet tells (origin, isolation, latency, the mix, join completion).
extension SimulatedParticipant {
    /// A decrypted RTP packet: every one, or with header statistics the
    /// sampled ones, which check origin and isolation (loss and latency
    /// were taken from the header).
    func receivedRTP(header: RTPHeader, packet: [UInt8], now: Instant) {
        driver.stats.add(.rtpDecrypted)
        let byHeader = context.headerStatistics
        if !byHeader {
            driver.stats.add(.rtpReceived)
            driver.interval.packetsIn += 1
        }
        let kind: MediaKind = header.payloadType == ClientOffer.vp8PayloadType ? .video : .audio
        let probe = kind == .audio ? OpusProbeCarrier.probe(in: packet, range: header.payloadRange)
                                   : VideoPacketizer.probe(in: packet, payload: header.payloadRange)
        // On the server's mix, audio is the mix's stream whatever it holds:
        // a mix of one voice is that voice's own packets (with its probe),
        // which only tell where they came from.
        let mixedAudio = kind == .audio && context.scenario.wireAudioMode == "mix"
        if mixedAudio {
            sawMix = true
            if !byHeader { recordMix(header, now: now) }
        }
        guard let probe else {
            driver.stats.add(.rtpWithoutProbe)
            if kind == .audio { checkJoinComplete(now: now) }
            return
        }
        let from = OriginID(raw: probe.origin)
        if from.session != origin.session {
            driver.stats.violation("\(origin) in session \(origin.session) received \(kind) from \(from)")
            return
        }
        if !judge.observe(sender: from.member, kind: kind, sent: probe.sendTime, now: now) { driver.stats.add(.isolationSuspects) }
        if mixedAudio {
            checkJoinComplete(now: now)
            return
        }
        if kind == .audio, let latency = moves.packet(from: from.member, now: now) { driver.stats.moveLatency.record(latency) }
        if byHeader {
            checkSendTime(header: header, packet: packet, probe: probe, now: now)
            if !joinComplete, seenPeers.insert(probe.origin).inserted { checkJoinComplete(now: now) }
            return
        }
        let key = UInt64(probe.origin) << 1 | (kind == .audio ? 0 : 1)
        // A source that was not routed to us for a while (another room, a
        // slot given to someone else) comes back with a jump in its probe
        // sequence that is not loss: start a new segment of the stream.
        if let old = streams[key], probe.sequence > old.highest &+ 1,
           probe.sendTime.nanoseconds > old.highestSendTime.nanoseconds &+ 1_000_000_000 {
            foldStream(key: key, old)
            streams[key] = nil
            driver.stats.add(.streamRestarts)
        }
        let dropped = context.injector.dropsDownlink(receiver: origin.raw, origin: probe.origin, kind: kind,
                                                     sequence: probe.sequence)
        let fresh = streams[key, default: StreamReceiveStats()].record(
            sequence: probe.sequence, sendTime: probe.sendTime, arrival: now, injectedDrop: dropped)
        guard fresh, !dropped else { return }
        let latency = now - probe.sendTime
        if kind == .audio { driver.stats.audioLatency.record(latency) } else { driver.stats.videoLatency.record(latency) }
        driver.interval.latency.record(latency)
        checkSendTime(header: header, packet: packet, probe: probe, now: now)
        if !joinComplete, seenPeers.insert(probe.origin).inserted { checkJoinComplete(now: now) }
    }

    /// The abs-send-time extension (what header statistics measure latency
    /// by) must agree with the send time in the authenticated probe.
    func checkSendTime(header: RTPHeader, packet: [UInt8], probe: MediaProbe, now: Instant) {
        let latency = now - probe.sendTime
        for e in header.extensionElements(in: packet) where e.id == ClientOffer.sendTimeID {
            if let v = AbsSendTime.value(from: packet[e.range]) {
                let viaExtension = AbsSendTime.delay(sent: v, now: now)
                if abs(viaExtension.nanoseconds - latency.nanoseconds) > 1_000_000 { driver.stats.add(.sendTimeMismatch) }
            }
        }
    }

    func recordMix(_ header: RTPHeader, now: Instant) {
        let sequence = mixSequence.unwrap(header.sequenceNumber)
        guard sequence >= 0 else { return }
        // The server sends one 20 ms frame per sequence number, so the
        // sequence stands in for a send time: only differences enter the jitter.
        mixStream.record(sequence: UInt32(truncatingIfNeeded: sequence),
                         sendTime: Instant(nanoseconds: UInt64(sequence) * 20_000_000), arrival: now)
    }

    func checkJoinComplete(now: Instant) {
        guard !joinComplete, phase == .live else { return }
        let audioOnlyMix = !context.scenario.media.video && context.scenario.wireAudioMode == "mix"
        // A mix carries no origin: one mixed packet stands for everyone.
        let done = seenPeers.count >= expectedPeers || (audioOnlyMix && sawMix)
        guard done else { return }
        joinComplete = true
        driver.stats.add(.joinsComplete)
        driver.stats.joinTime.record(now - wsStart)
        if let lost = serverLost {
            driver.stats.add(.rejoinedAfterServerLoss)
            driver.stats.apartTime.record(now - lost.at)
        }
    }
}
