import RTP
import SRTP
import STUN
import Wire

extension MediaEngine {
    /// SRTP from a publisher, borrowed: copied into `receiveScratch` (a
    /// uniquely referenced buffer, so SRTP works in place), then handled as
    /// `receiveRTP(inPlace:)`. The media socket lends its buffer instead
    /// (`receive(lending:)`), which saves this copy.
    func receiveRTP(_ datagram: [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        var packet = receiveScratch
        receiveScratch = []
        defer { receiveScratch = packet }
        packet.removeAll(keepingCapacity: true)
        packet.append(contentsOf: datagram)
        receiveRTP(inPlace: &packet, from: source, now: now, transmits: &transmits)
    }

    /// SRTP from a publisher in a buffer the engine may decrypt and rewrite
    /// in place: decrypt, identify the stream, then one rewritten and
    /// re-encrypted copy per subscriber slot that holds it.
    ///
    /// Steady state allocates nothing: the packet is decrypted where it
    /// lies, each copy is written, rewritten and encrypted in place in
    /// `transmits`' reused storage, and the targets come from the
    /// publisher's cached `PublisherRoutes`.
    func receiveRTP(inPlace packet: inout [UInt8], from source: StunAddress, now: Instant, transmits: inout TransmitQueue) {
        guard let p = byAddress[source] else { counters.unknownSourceDropped += 1; return }
        guard let srtp = p.srtp else { counters.mediaBeforeKeys += 1; return }
        do { try srtp.unprotectRTP(&packet) } catch { counters.srtpFailed += 1; return }
        guard var header = try? RTPHeader(parsing: packet) else { counters.malformedMedia += 1; return }
        // Every packet on the transport counts for congestion control,
        // retransmissions and the sender's padding probes included.
        if let id = p.plan.transportWideID, let sequence = header.transportSequenceNumber(id: id, in: packet) {
            recordTransportArrival(p, sequence: sequence, now: now, transmits: &transmits)
        }
        guard let (kind, layer) = identifyStream(of: p, packet: &packet, header: &header) else { return }
        let keyframe = kind.isVideo && VP8Keyframe.isKeyframeStart(packet, payload: header.payloadRange)
        var top = 0
        if kind.isVideo {
            let repairDue = repairDeadline(of: p)
            let admitted = kind == .screen
                ? admitVideo(&p.screen, layer: layer, packet: packet, header: header, keyframe: keyframe, now: now)
                : admitVideo(&p.video, layer: layer, packet: packet, header: header, keyframe: keyframe, now: now)
            // A gap or a keyframe moves its NACK and keyframe-request timers.
            if repairDeadline(of: p) != repairDue { reschedule(p) }
            guard admitted else { return }
            top = kind == .screen ? 0 : p.video?.topLayer(now: now) ?? layer
        }
        var audioLevel: RTPAudioLevel?
        if kind == .audio {
            p.audio?.layers[0].stats.record(sequence: header.sequenceNumber, timestamp: header.timestamp, now: now)
            // localExtensionIDs[0] is the RFC 6464 audio level (OfferPlan.forwardedExtensions).
            let levelID = p.localExtensionIDs[0]
            if levelID != 0, let level = header.audioLevel(id: levelID, in: packet) {
                p.audio?.recordLevel(level, now: now)
                audioLevel = level
            }
        }
        guard let routes = routes(of: p) else { return }
        // Contributors change inside a `RoomMix` (mute, unmute) without a new
        // routing generation, so membership is read here, not cached.
        if kind == .audio, let mix = routes.mix, mix.contributors.contains(p.sourceKey) {
            mix.mixer.receive(key: p.sourceKey, sequence: header.sequenceNumber, timestamp: header.timestamp,
                              payload: packet[header.payloadRange], now: now,
                              level: audioLevel.map { -Double($0.level) })
        }
        let refused = routes.refused[kind]
        if refused > 0 { counters.isolationViolations += refused }
        let targets = routes.targets(kind)
        guard !targets.isEmpty else { return }
        let payloadBytes = header.payloadRange.count
        var forwarded = 0
        var bytes = 0
        let descriptor = kind.isVideo ? VP8Descriptor(packet, payload: header.payloadRange) : nil
        var wantsKeyframe = false
        for target in targets {
            let sub = target.subscriber
            guard let subSRTP = sub.srtp, let destination = sub.ice.selected else { continue }
            if kind == .video {
                // Simulcast: only the slot's layer passes, and a keyframe of the layer it aims at moves it there.
                let switches = sub.subscriber.video[target.slot].layerSwitches
                guard sub.subscriber.video[target.slot].admit(layer: layer, top: top, isKeyframe: keyframe) else {
                    if sub.subscriber.video[target.slot].awaitsLayer(top: top) == layer { wantsKeyframe = true }
                    continue
                }
                if sub.subscriber.video[target.slot].layerSwitches != switches { counters.layerSwitches += 1 }
            }
            let slotSSRC = sub.subscriber[kind][target.slot].ssrc
            guard let rewritten = sub.subscriber[kind][target.slot].rewrite(
                sequence: header.sequenceNumber, timestamp: header.timestamp, isKeyframe: keyframe,
                payloadBytes: payloadBytes, now: now) else { continue }
            var pictureIDs: (pictureID: UInt16, tl0PicIdx: UInt8)?
            if let descriptor, descriptor.pictureIDOffset != nil || descriptor.tl0Offset != nil {
                pictureIDs = sub.subscriber[kind][target.slot].rewritePicture(descriptor)
            }
            let copy = CopyPlan(ssrc: slotSSRC, sequence: rewritten.sequence, timestamp: rewritten.timestamp,
                                payloadType: target.payloadType, pictureIDs: pictureIDs,
                                remap: target.remapsExtensions ? (p.extensionIndexByID, sub.localExtensionIDs) : nil,
                                originalID: p.plan.transportWideID ?? 0)
            if kind.isVideo, sub.subscriber.pacer.mustHold(now: now) {
                hold(copy, of: packet, header: header, descriptor: descriptor, for: sub, isScreen: kind == .screen, now: now)
                continue
            }
            var failed = false
            transmits.appendDatagram(to: destination, capacity: packet.count + SRTPContext.maximumTrailerLength
                                                               + ForwardedPacket.transportWideGrowth) { out in
                var length = Self.write(copy, of: packet, header: header, descriptor: descriptor, into: out)
                length = stampTransportWide(for: sub, out, length: length, original: packet, header: header,
                                            originalID: copy.originalID, now: now)
                do {
                    let sent = try subSRTP.protectRTP(out, length: length)
                    bytes += sent
                    return sent
                } catch {
                    failed = true
                    return nil
                }
            }
            if failed { counters.srtpFailed += 1 } else {
                forwarded += 1
                noteSent(transmits.entries[transmits.count - 1].length, to: sub, now: now)
            }
            if sub.subscriber.probe != nil { sendProbe(sub, now: now, transmits: &transmits) }
        }
        if wantsKeyframe, kind == .video, p.video?.layers[layer].keyframes.isOutstanding == false,
           p.video?.layers[layer].keyframes.isWaiting == false {
            // A slot waits to switch to this layer: ask it for a keyframe (coalesced, rate-limited).
            p.requestKeyframe(now: now, layer: layer)
            reschedule(p)
        }
        counters.rtpForwarded += forwarded
        if kind == .audio {
            counters.audioPacketsForwarded += forwarded
            counters.audioBytesForwarded += bytes
        } else {
            if kind == .screen { counters.screenPacketsForwarded += forwarded }
            counters.videoPacketsForwarded += forwarded
            counters.videoBytesForwarded += bytes
        }
    }

    /// The video ladder before forwarding, for one layer: cache the packet
    /// for subscribers' NACKs, drop a duplicate (a retransmission of
    /// something we have), note gaps to NACK upstream and keyframes that
    /// clear requests. Returns whether the packet goes on to the subscribers.
    private func admitVideo(_ stream: inout PublishedStream?, layer: Int, packet: [UInt8], header: RTPHeader,
                            keyframe: Bool, now: Instant) -> Bool {
        // Each step mutates the layer of the stream (camera or screen) in
        // place: a copy would copy its packet cache.
        guard let count = stream?.layers.count, layer < count else { return false }
        let sequence = header.sequenceNumber
        if stream?.layers[layer].cache?.insert(packet, sequence: sequence, now: now) == .duplicate {
            counters.duplicatesDropped += 1
            return false
        }
        stream?.layers[layer].stats.record(sequence: sequence, timestamp: header.timestamp, now: now)
        if let missing = stream?.layers[layer].nacks?.missingCount {
            let result = stream?.layers[layer].nacks?.received(sequence: sequence, now: now)
            let newlyMissing = max(0, (stream?.layers[layer].nacks?.missingCount ?? 0) - missing)
            switch result {
            case .filled(nacked: true)?: counters.packetsRecovered += 1
            case .restarted?: stream?.layers[layer].keyframes.request(now: now)
            case .new?: stream?.layers[layer].noteArrival(newlyMissing: newlyMissing)
            default: break
            }
        }
        if keyframe {
            stream?.layers[layer].keyframes.keyframeArrived(now: now)
            if let d = VP8Descriptor(packet, payload: header.payloadRange),
               let width = VP8Descriptor.keyframeWidth(packet, at: header.payloadRange.lowerBound + d.length,
                                                       end: header.payloadRange.upperBound) {
                stream?.layers[layer].width = width
            }
        }
        stream?.layers[layer].bitrate.add(packet.count, now: now)
        stream?.layers[layer].noteFrameBytes(packet.count, timestamp: header.timestamp, keyframe: keyframe, now: now)
        stream?.layers[layer].lastArrival = now
        return true
    }
}

extension MediaEngine {
    /// Gives the copy in `out` the subscriber's next transport-wide sequence
    /// number when its slots negotiated transport-cc, and notes the send in
    /// its estimator; returns the copy's length. Nothing allocates.
    func stampTransportWide(for sub: Participant, _ out: UnsafeMutableRawBufferPointer, length: Int, original: [UInt8],
                            header: RTPHeader, originalID: UInt8, now: Instant) -> Int {
        guard ForwardedPacket.canStampTransportWide(header) else { return length }
        // The size noted is the copy's after stamping and encryption, give or
        // take the 4 bytes of an element rewritten in place rather than added.
        let growth = header.hasExtension ? 4 : 8
        guard let (id, sequence) = nextTransportWide(for: sub, unprotectedSize: length + growth, now: now) else { return length }
        return ForwardedPacket.stampTransportWide(out, length: length, original: original, header: header,
                                                  originalID: originalID, id: id, sequence: sequence).length
    }

    /// The extension id under which `sub`'s copies carry its transport-wide
    /// number: nil unless it negotiated transport-cc and has an estimator.
    func transportWideID(for sub: Participant) -> UInt8? {
        sub.subscriber.bandwidth != nil ? sub.plan.transportWideID : nil
    }

    /// The subscriber's extension id and next transport-wide sequence number
    /// for a packet of `unprotectedSize` bytes about to be encrypted and sent,
    /// noted in its estimator; nil when it did not negotiate transport-cc.
    /// Forwarded copies, retransmissions and mixed audio are numbered here;
    /// probe padding notes its probe cluster with its own send.
    func nextTransportWide(for sub: Participant, unprotectedSize: Int, now: Instant) -> (id: UInt8, sequence: UInt16)? {
        guard let id = transportWideID(for: sub) else { return nil }
        let tag = sub.srtp?.profile.rtpTagLength ?? 16
        let sequence = sub.subscriber.bandwidth!.send(size: unprotectedSize + tag, at: now)
        counters.transportWideStamped += 1
        return (id, sequence)
    }
}
