import CohortClient
import LoadTest
import RTP
import Wire

/// Publishing: timers, the Opus clip and synthetic video, uplink impairment.
extension SimulatedParticipant {
    // MARK: Timers and media

    /// Runs due timers and sends due media; called by the loop's tick.
    func tick(now: Instant) {
        guard let client, phase == .connecting || phase == .live else { return }
        for v in judge.resolve(now: now) { confirm(v) }
        if let d = client.nextDeadline, d <= now { client.handleTimeout(now: now) }
        flush(now: now)
        if phase == .live {
            sendDueMedia(now: now)
        }
        if !delayed.isEmpty {
            var i = 0
            while i < delayed.count {
                if delayed[i].due <= now {
                    write(delayed[i].bytes)
                    delayed.remove(at: i)
                } else { i += 1 }
            }
        }
        udp?.flush()
    }

    func sendDueMedia(now: Instant) {
        guard let client else { return }
        let media = context.scenario.media
        if media.audio, let ssrc = client.offer.audioSSRC {
            var sent = 0
            while audioDue <= now && sent < 10 {
                driver.pacing(now - audioDue)
                sendAudio(client: client, ssrc: ssrc, now: now)
                audioDue = audioDue + .milliseconds(20)
                sent += 1
            }
            if audioDue <= now { audioDue = now + .milliseconds(20) }  // far behind: skip rather than burst
        }
        if let video = context.video, let ssrc = client.offer.videoSSRC {
            let interval = TimeSpan(nanoseconds: 1_000_000_000 / Int64(video.framesPerSecond))
            if videoDue <= now {
                driver.pacing(now - videoDue)
                let periodic = media.keyframeIntervalSeconds > 0
                    && (now - lastKeyframe).seconds >= media.keyframeIntervalSeconds
                sendVideoFrame(client: client, ssrc: ssrc, video: video, keyframe: keyframePending || periodic, now: now)
                videoDue = videoDue + interval
                if videoDue <= now { videoDue = now + interval }
            }
        }
    }

    func sendAudio(client: ClientParticipant, ssrc: UInt32, now: Instant) {
        let probe = MediaProbe(origin: origin.raw, sequence: audioProbe, sendTime: now)
        audioProbe += 1
        guard let payload = try? OpusProbeCarrier.wrap((speaks ? context.audio : context.silence).frame(audioIndex), probe: probe) else { return }
        audioIndex += 1
        client.sendRTP(ssrc: ssrc, payloadType: ClientOffer.opusPayloadType, timestamp: audioTimestamp,
                       extensions: [.audioLevel(id: ClientOffer.audioLevelID, audioLevel),
                                    RTPHeaderExtensionValue(id: ClientOffer.sendTimeID, data: AbsSendTime.bytes(at: now))],
                       payload: payload)
        audioTimestamp &+= UInt32(AudioClip.samplesPerFrame)
        emitMedia(kind: .audio, sequence: probe.sequence, bytes: payload.count, now: now)
    }

    func sendVideoFrame(client: ClientParticipant, ssrc: UInt32, video: VideoPacketizer, keyframe: Bool, now: Instant) {
        if keyframe {
            keyframePending = false
            lastKeyframe = now
            driver.stats.add(.keyframesSent)
        }
        let sizes = video.packetSizes(keyframe: keyframe)
        for (i, size) in sizes.enumerated() {
            let probe = MediaProbe(origin: origin.raw, sequence: videoProbe, sendTime: now)
            videoProbe += 1
            let payload = VideoPacketizer.payload(size: size, index: i, keyframe: keyframe, probe: probe)
            client.sendRTP(ssrc: ssrc, payloadType: ClientOffer.vp8PayloadType, timestamp: videoTimestamp,
                           marker: i == sizes.count - 1,
                           extensions: [RTPHeaderExtensionValue(id: ClientOffer.sendTimeID, data: AbsSendTime.bytes(at: now))],
                           payload: payload)
            emitMedia(kind: .video, sequence: probe.sequence, bytes: size, now: now)
        }
        videoTimestamp &+= video.timestampStep
    }

    /// Takes the packet `sendRTP` just queued and sends, drops or delays it.
    func emitMedia(kind: MediaKind, sequence: UInt32, bytes: Int, now: Instant) {
        guard let client else { return }
        let out = client.poll()
        handle(out.events, now: now)
        for d in out.datagrams {
            if context.injector.dropsUplink(origin: origin.raw, kind: kind, sequence: sequence) {
                driver.stats.add(.rtpUplinkDropped)
                continue
            }
            driver.stats.add(.rtpSent)
            driver.stats.add(.rtpSentBytes, bytes)
            driver.interval.packetsOut += 1
            if context.jitter.nanoseconds > 0 {
                let delay = TimeSpan(nanoseconds: Int64.random(in: 0...context.jitter.nanoseconds))
                delayed.append((now + delay, d))
            } else {
                write(d)
            }
        }
    }
}
