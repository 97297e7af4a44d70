import Congestion
import RTP
import SRTP
import Wire

/// What a subscriber's downlink allocation decided, for its client.
public struct DownlinkState: Sendable, Equatable {
    /// Video slots (mids) paused because the downlink cannot carry them.
    public var pausedMids: [String]
    /// Even separate audio streams do not fit: one mixed stream would.
    public var suggestMixedAudio: Bool

    /// Creates a state.
    public init(pausedMids: [String], suggestMixedAudio: Bool) {
        self.pausedMids = pausedMids
        self.suggestMixedAudio = suggestMixedAudio
    }
}

extension MediaEngine {
    /// How often a subscriber's video is re-allocated at most.
    static let allocationInterval = TimeSpan.milliseconds(250)
    /// What one received audio stream is assumed to cost: Opus at 32 kbit/s
    /// plus RTP, SRTP, UDP and IP headers at 50 packets a second.
    static let audioStreamBitrate = 56_000
    /// A stream measured below this is counted at this (a publisher ramping up).
    static let minimumVideoBitrate = 100_000
    /// The same for a simulcast layer (the lowest runs at 30-100 kbit/s).
    static let minimumLayerBitrate = 30_000
    /// A simulcast layer is counted at this much over its measured rate: the
    /// 1 s mean leaves out the encoder's overshoot and the keyframe each
    /// switch asks for, and a layer that only just fits overfills a narrow
    /// link's queue (audio is lost with it).
    static let layerMargin = 1.25
    /// A layer's width before its first keyframe says: the top layer's,
    /// halved per layer below (the web client's 4/2/1 scaling).
    static let defaultWidth = 640
    /// Probes aim this far above what the subscriber's streams need.
    static let probeHeadroom = 1.15
    /// A subscriber's estimator: probes of 30 ms, since they are paced by
    /// the copies forwarded to the subscriber (every few milliseconds).
    static let downlinkEstimator = BandwidthEstimator.Configuration(probeDuration: .milliseconds(30))

    /// Shares `p`'s downlink estimate among its video slots (issue 12,
    /// "audio first"): `BandwidthAllocator` decides which slots pause; a
    /// resumed slot asks its publisher for a keyframe; the client hears of
    /// any change (`MediaEngineDelegate.engine(downlinkChanged:)`). Also tells
    /// the estimator what would be wanted, so that it probes while a slot is
    /// paused. Runs after the subscriber's transport feedback, at most every
    /// `allocationInterval`, once the estimate has settled (2 s of feedback:
    /// the initial 300 kbit/s guess must not pause anyone's video).
    func allocateDownlink(_ p: Participant, now: Instant) {
        guard let estimator = p.subscriber.bandwidth, estimator.isSettled(now: now),
              now >= p.subscriber.nextAllocation else { return }
        p.subscriber.nextAllocation = now + Self.allocationInterval
        let session = p.session
        let speaking = session.table.members[p.id].flatMap { session.speakers[$0.room] } ?? []
        var slots: [BandwidthAllocator.Slot] = []
        var publishers: [Int: Participant] = [:]
        // Per slot, the publisher's layer behind each of the allocator's layers.
        var layerIndices: [Int: [Int]] = [:]
        for index in p.subscriber.video.indices where p.subscriber.video[index].isFilled {
            guard case .publisher(let who)? = session.table.fill(of: p.id, kind: .video, index: index),
                  let publisher = session.participants[who], let top = publisher.video?.topLayer(now: now) else { continue }
            let simulcast = publisher.video?.isSimulcast ?? false
            var layers: [BandwidthAllocator.Layer] = []
            var indices: [Int] = []
            for i in 0...top {
                guard let at = publisher.video?.layers[i].lastArrival, now - at <= .seconds(1),
                      let rate = publisher.video?.layers[i].bitrate.bitsPerSecond(now: now), rate > 0 else { continue }
                // Costs rise with the layer (a layer ramping up is counted above the one below).
                let floor = simulcast ? Self.minimumLayerBitrate : Self.minimumVideoBitrate
                let measured = simulcast ? Int(Double(rate) * Self.layerMargin) : rate
                let cost = max(measured, floor, (layers.last?.bitrate ?? 0) + 1)
                let width = publisher.video?.layers[i].width ?? Self.defaultWidth >> (top - i)
                layers.append(.init(bitrate: cost, width: width))
                indices.append(i)
            }
            guard !layers.isEmpty else { continue }
            let priority: BandwidthAllocator.Priority = publisher.role.runsSession ? .pinned
                : speaking.contains(who) ? .activeSpeaker : .normal
            slots.append(.init(id: index, priority: priority, layers: layers,
                               renderedWidth: p.subscriber.video[index].renderedWidth))
            publishers[index] = publisher
            layerIndices[index] = indices
        }
        let audio = p.subscriber.audio.filter(\.isFilled).count * Self.audioStreamBitrate
        // The best estimate of the last 2 s: AIMD dips 10 % below the path at
        // every backoff, and jitter alone can cause one; only a shortfall that
        // lasts pauses video.
        let budget = p.subscriber.recentBudget.record(estimator.target, now: now)
        let allocation = p.subscriber.allocator.allocate(budget: budget, audio: audio, slots: slots, now: now)
        // Probing goes one step past what was chosen (a paused slot's lowest
        // layer, a layered slot's next layer) plus the allocator's headroom:
        // a probe that stops at the need can never lift a slot, and one that
        // aims at every top layer at once floods a narrow link (audio first).
        var wanted = audio
        for slot in slots {
            switch allocation.decisions[slot.id] {
            case .layer(let index)?: wanted += slot.layers[min(index + 1, slot.layers.count - 1)].bitrate
            case .paused?, nil: wanted += slot.layers[0].bitrate
            }
        }
        p.subscriber.bandwidth?.wanted = max(Int(Double(wanted) * Self.probeHeadroom), 1)
        var changed = false
        var requested = false
        // One slot at a time moves up or resumes, and only while the current
        // estimate (not just the best of the last 2 s) carries the
        // allocation: each costs a keyframe burst, and two at once overfill a
        // narrow link's queue, audio with it.
        var raising = p.subscriber.video.contains { $0.isRaising || $0.awaitsKeyframe }
        let current = estimator.target
        for (index, decision) in allocation.decisions.sorted(by: { $0.key < $1.key }) {
            if case .layer(let chosen) = decision, let layer = layerIndices[index]?[chosen] {
                let slot = p.subscriber.video[index]
                let up = slot.isPaused || (slot.layer.map { layer > $0 } ?? false) && slot.targetLayer != layer
                if up {
                    guard !raising, current >= allocation.allocated else { continue }
                    raising = true
                }
            }
            if case .layer(let chosen) = decision, let layer = layerIndices[index]?[chosen],
               p.subscriber.video[index].targetLayer != layer {
                // The slot moves at the layer's next keyframe: ask for one now.
                p.subscriber.video[index].targetLayer = layer
                if p.subscriber.video[index].layer != layer, !p.subscriber.video[index].isPaused {
                    publishers[index]?.requestKeyframe(now: now, layer: layer)
                    requested = true
                }
            }
            let pause = decision == .paused
            guard p.subscriber.video[index].isPaused != pause else { continue }
            p.subscriber.video[index].setPaused(pause)
            changed = true
            if pause {
                counters.videoSlotsPaused += 1
            } else {
                counters.videoSlotsResumed += 1
                publishers[index]?.requestKeyframe(now: now, layer: p.subscriber.video[index].targetLayer)
            }
        }
        // A slot whose publisher stopped sending is not decided: it resumes,
        // so that its next frames are not held back by an old decision.
        for index in p.subscriber.video.indices where p.subscriber.video[index].isPaused && allocation.decisions[index] == nil {
            p.subscriber.video[index].setPaused(false)
            changed = true
        }
        if changed || requested { timersChanged() }  // resumed slots asked their publishers for keyframes
        if changed || allocation.suggestMixedAudio != p.subscriber.suggestedMix {
            p.subscriber.suggestedMix = allocation.suggestMixedAudio
            let mids = p.plan.slots(.video).map(\.mid)
            let paused = p.subscriber.video.indices.filter { p.subscriber.video[$0].isPaused && $0 < mids.count }.map { mids[$0] }
            delegate?.engine(downlinkChanged: DownlinkState(pausedMids: paused, suggestMixedAudio: allocation.suggestMixedAudio),
                             participant: p.id, session: session.id)
        }
    }

    /// The client's rendered tile sizes (`render-size`): each named video
    /// slot's width caps its layer (`BandwidthAllocator.Slot.renderedWidth`;
    /// the allocator compares widths, so the height is not used). Mids that
    /// name no video slot of the client are ignored (a slot map may have
    /// changed on the way). The allocation runs at once.
    func setRenderSizes(_ sizes: [RenderSize], of p: Participant, now: Instant) {
        let mids = p.plan.slots(.video).map(\.mid)
        for size in sizes {
            guard let index = mids.firstIndex(of: size.mid), index < p.subscriber.video.count else { continue }
            p.subscriber.video[index].renderedWidth = size.width
        }
        p.subscriber.nextAllocation = .zero
        allocateDownlink(p, now: now)
    }

    /// Starts a probe the estimator asks for, and sends what is owed of the
    /// running one: RTX padding on the first video slot that negotiated RTX,
    /// each packet stamped with the subscriber's transport-wide number and
    /// the probe's cluster, at the probe's rate as far as calls allow (they
    /// come with the copies forwarded to `p` and with its feedback).
    func sendProbe(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        if p.subscriber.probe == nil, let cluster = p.subscriber.bandwidth?.probe(now: now) {
            p.subscriber.probe = (cluster, now, 0)
        }
        guard let probe = p.subscriber.probe else { return }
        guard let slotIndex = p.subscriber.video.firstIndex(where: { $0.rtx != nil }),
              let rtx = p.subscriber.video[slotIndex].rtx, let id = p.plan.transportWideID,
              let srtp = p.srtp, let destination = p.ice.selected else {
            p.subscriber.probe = nil
            return
        }
        let elapsed = max((now - probe.started).seconds, 0.001)
        var owed = min(Int(Double(probe.cluster.bitrate) * elapsed / 8), probe.cluster.bytes) - probe.sentBytes
        // At least the first packet at once; never more than the cluster.
        if probe.sentBytes == 0 { owed = max(owed, Self.probePacketBytes) }
        var sent = probe.sentBytes
        let timestamp = p.subscriber.video[slotIndex].lastSent?.timestamp ?? 0
        while owed > 0, sent < probe.cluster.bytes {
            let sequence = p.subscriber.video[slotIndex].nextRTXSequence()
            let size = Self.probePacketBytes + srtp.profile.rtpTagLength
            guard let transport = p.subscriber.bandwidth?.send(size: size, at: now, probeCluster: probe.cluster.id) else { break }
            var failed = false
            transmits.appendDatagram(to: destination, capacity: Self.probePacketBytes + SRTPContext.maximumTrailerLength) { out in
                Self.writePadding(into: out, payloadType: rtx.payloadType, sequence: sequence, timestamp: timestamp,
                                  ssrc: rtx.ssrc, transportWideID: id, transportSequence: transport)
                do { return try srtp.protectRTP(out, length: Self.probePacketBytes) } catch {
                    failed = true
                    return nil
                }
            }
            if failed { counters.srtpFailed += 1; break }
            counters.probePaddingSent += 1
            sent += size
            owed -= size
        }
        p.subscriber.probe = sent >= probe.cluster.bytes ? nil : (probe.cluster, probe.started, sent)
    }

    /// A padding-only RTP packet (RFC 3550 §5.1, P set, no payload) with a
    /// one-byte header extension holding the transport-wide number.
    static let probePacketBytes = 12 + 8 + 240

    static func writePadding(into out: UnsafeMutableRawBufferPointer, payloadType: UInt8, sequence: UInt16, timestamp: UInt32,
                             ssrc: UInt32, transportWideID: UInt8, transportSequence: UInt16) {
        out[0] = 0x80 | 0x20 | 0x10                 // V=2, P, X
        out[1] = payloadType & 0x7F
        out.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
        out.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
        (out[12], out[13], out[14], out[15]) = (0xBE, 0xDE, 0x00, 0x01)
        (out[16], out[17], out[18], out[19]) = (transportWideID << 4 | 1, UInt8(transportSequence >> 8),
                                                UInt8(truncatingIfNeeded: transportSequence), 0)
        for i in 20..<(probePacketBytes - 1) { out[i] = 0 }
        out[probePacketBytes - 1] = UInt8(probePacketBytes - 20)
    }
}
