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
    /// How long a keyframe stays in a layer's measured rate (`BitrateMeter`: 1-1.5 s).
    static let keyframeWindow = TimeSpan.seconds(1)
    /// A layer's width before its first keyframe says: the top layer's,
    /// halved per layer below (the web client's 4/2/1 scaling).
    static let defaultWidth = 640
    /// Probes aim this far above what the subscriber's streams need: above
    /// the allocator's 15 % headroom for resuming, since a probe reads at
    /// most its own rate (a probe at exactly the resume threshold, read a
    /// little under it, would never resume anything).
    static let probeHeadroom = 1.3
    /// The estimate's ceiling over what all top layers take.
    static let estimateCeiling = 1.5
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
                guard publisher.video?.isSending(layer: i, now: now) == true,
                      var rate = publisher.video?.layers[i].bitrate.bitsPerSecond(now: now), rate > 0 else { continue }
                // A simulcast layer's rate without the keyframe in its window:
                // a switch asks for one, and counted in the cost it dropped the
                // slot it had just raised (back at the top 10 s after a lifted
                // cap instead of 5). The margin below stays for the overshoot.
                if simulcast, let keyframe = publisher.video?.layers[i].keyframeArrival, now - keyframe < Self.keyframeWindow,
                   let bytes = publisher.video?.layers[i].keyframeBytes {
                    rate = max(rate - bytes * 8, rate / 3)
                }
                // Costs rise with the layer (a layer ramping up is counted above the one below).
                let floor = simulcast ? Self.minimumLayerBitrate : Self.minimumVideoBitrate
                let measured = simulcast ? Int(Double(rate) * Self.layerMargin) : rate
                let cost = max(measured, floor, (layers.last?.bitrate ?? 0) + 1)
                let width = publisher.video.map { Self.width(of: $0, layer: i, top: top) } ?? Self.defaultWidth
                layers.append(.init(bitrate: cost, width: width, keyframeBytes: publisher.video?.layers[i].keyframeBytes ?? 0))
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
        // The screen share goes before every camera: after audio, its rate
        // comes off the budget, and its slot is never paused (a worksheet the group
        // cannot read is worse than a frozen face).
        var screen = 0
        if p.subscriber.screen.first?.isFilled == true,
           case .publisher(let who)? = session.table.fill(of: p.id, kind: .screen, index: 0) {
            screen = session.participants[who]?.screen?.layers[0].bitrate.bitsPerSecond(now: now) ?? 0
        }
        // The best of the last 2 s of the estimate and of what the subscriber
        // got: AIMD dips 10 % below the path at every backoff, and jitter
        // alone can cause one (a lossy, jittery path that carried 1.3 Mbit/s
        // backed off to 0.98 and paused a camera; the additive climb back
        // takes longer than 2 s); what did arrive is no guess. Only a
        // shortfall that lasts pauses video; on a capped link the delivered
        // rate is the cap.
        let delivered = max(estimator.target, estimator.ackedBitrate ?? 0)
        // A path that loses over a tenth is full now, and audio is being
        // lost with the video: no 2 s of grace, and the highs from before
        // it filled are forgotten (kept, they resumed a camera 3 s after a
        // cap paused it, and its keyframe cost audio).
        let estimate: Int
        if estimator.isLossy {
            p.subscriber.recentBudget.reset(to: delivered, now: now)
            estimate = delivered
        } else {
            estimate = p.subscriber.recentBudget.record(delivered, now: now)
        }
        // What is sent to the subscriber leaves at or a little over this (`Pacer`).
        p.subscriber.pacer.rate = Pacer.rate(estimate: estimate, narrowPath: estimator.increaseLimit != nil)
        // Audio first still: the share takes at most what audio leaves.
        let budget = estimate - min(screen, max(0, estimate - audio))
        if estimator.linkGrowths != p.subscriber.linkGrowths {
            p.subscriber.linkGrowths = estimator.linkGrowths
            p.subscriber.allocator.forgetHolds()
        }
        let allocation = p.subscriber.allocator.allocate(budget: budget, audio: audio, slots: slots, now: now,
                                                         narrowPath: estimator.increaseLimit != nil)
        // Probing goes one step past what was chosen (a paused slot's lowest
        // layer, a layered slot's next layer) plus the allocator's headroom
        // and more: a probe that stops at the need can never lift a slot, and
        // one that aims at every top layer at once floods a narrow link.
        var wanted = audio + screen
        for slot in slots {
            switch allocation.decisions[slot.id] {
            case .layer(let index)?: wanted += slot.layers[min(index + 1, slot.layers.count - 1)].bitrate
            case .paused?, nil: wanted += slot.layers[0].bitrate
            }
        }
        p.subscriber.bandwidth?.wanted = max(Int(Double(wanted) * Self.probeHeadroom), 1)
        // The estimate is never above what every slot's top layer would
        // take, with room (`BandwidthEstimator.ceiling`).
        let most = slots.reduce(audio + screen) { $0 + ($1.layers.last?.bitrate ?? 0) }
        p.subscriber.bandwidth?.ceiling = Int(Double(most) * Self.estimateCeiling)
        // A probe that found all of `wanted` carried goes on toward every
        // top layer: after a lifted cap, one probe chain finds the room for
        // all of them instead of one step per periodic probe.
        p.subscriber.bandwidth?.useful = Int(Double(most) * Self.probeHeadroom)
        var changed = false
        var requested = false
        // A simulcast slot moves up or resumes one at a time, and only while
        // the current estimate (not just the best of the last 2 s) carries
        // the allocation: each costs a keyframe burst, and two at once
        // overfill a narrow link's queue, audio with it. Single-layer slots
        // resume as the allocator says (its own hysteresis and backoff):
        // held back one by one, two paused slots came back 10.2 s after a
        // cap was lifted (test_downlink_cap_chromium's bound is 10 s).
        var raising = p.subscriber.video.contains { $0.isRaising || $0.awaitsKeyframe }
        let current = estimator.target
        for (index, chosenDecision) in allocation.decisions.sorted(by: { $0.key < $1.key }) {
            var decision = chosenDecision
            // A simulcast slot resumes at its lowest layer, whatever the
            // budget allows: a pause means the link fell short, and a probe
            // read through a shaper's burst can overstate what came back (a
            // 300 kbit/s link read 497, a tile resumed at 320 wide, the next
            // feedback read 24 % loss). Raises follow at later allocations.
            if case .layer(let chosen) = decision, chosen > 0, p.subscriber.video[index].isPaused,
               (layerIndices[index]?.count ?? 0) > 1 {
                decision = .layer(0)
            }
            if case .layer(let chosen) = decision, let indices = layerIndices[index], indices.count > 1 {
                let layer = indices[chosen]
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
            if setPaused(decision == .paused, slot: index, of: p, publisher: publishers[index],
                         layer: p.subscriber.video[index].targetLayer, now: now) {
                changed = true
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
            tellDownlink(p)
        }
    }

    /// Layer `i`'s width, from its keyframes, or before the first one the
    /// top layer's `defaultWidth` halved per layer below.
    static func width(of stream: PublishedStream, layer i: Int, top: Int) -> Int {
        stream.layers[i].width ?? defaultWidth >> (top - i)
    }

    /// Tells `p`'s client which of its video slots are paused and whether
    /// mixed audio is suggested (`MediaEngineDelegate.engine(downlinkChanged:)`).
    private func tellDownlink(_ p: Participant) {
        let mids = p.plan.slots(.video).map(\.mid)
        let paused = p.subscriber.video.indices.filter { p.subscriber.video[$0].isPaused && $0 < mids.count }.map { mids[$0] }
        delegate?.engine(downlinkChanged: DownlinkState(pausedMids: paused, suggestMixedAudio: p.subscriber.suggestedMix),
                         participant: p.id, session: p.session.id)
    }

    /// A subscriber without transport-cc has no estimate to share, but its
    /// tiles still say what is worth sending (issue 12, point 3b): each
    /// simulcast slot aims at the smallest layer that covers the tile the
    /// client renders (the highest the publisher sends when the client did
    /// not say, or no layer is wide enough), and a tile not shown (width 0)
    /// pauses. Runs when the client sends `tile-widths` and with its RTCP
    /// reports (layer widths are learnt at keyframes, a slot changes
    /// source), at most every `allocationInterval`. A subscriber with
    /// transport-cc is decided by `allocateDownlink`, widths included.
    func fitLayersToTiles(_ p: Participant, now: Instant) {
        guard p.subscriber.bandwidth == nil, now >= p.subscriber.nextAllocation else { return }
        p.subscriber.nextAllocation = now + Self.allocationInterval
        var changed = false
        var requested = false
        for index in p.subscriber.video.indices where p.subscriber.video[index].isFilled {
            guard case .publisher(let who)? = p.session.table.fill(of: p.id, kind: .video, index: index),
                  let publisher = p.session.participants[who], let stream = publisher.video,
                  let top = stream.topLayer(now: now) else { continue }
            let width = p.subscriber.video[index].renderedWidth
            var target = Int.max
            if let width, stream.isSimulcast {
                for i in 0..<top {
                    if stream.isSending(layer: i, now: now), Self.width(of: stream, layer: i, top: top) >= width {
                        target = i
                        break
                    }
                }
            }
            let pause = width == 0
            if p.subscriber.video[index].targetLayer != target {
                p.subscriber.video[index].targetLayer = target
                if !pause, !p.subscriber.video[index].isPaused, p.subscriber.video[index].layer != min(target, top) {
                    publisher.requestKeyframe(now: now, layer: min(target, top))
                    requested = true
                }
            }
            if setPaused(pause, slot: index, of: p, publisher: publisher, layer: stream.isSimulcast ? min(target, top) : nil,
                         now: now) {
                changed = true
            }
        }
        if changed || requested { timersChanged() }
        if changed { tellDownlink(p) }
    }

    /// Pauses or resumes `p`'s video slot `index`, counting it; a resumed
    /// slot asks `publisher` for a keyframe of `layer` (nil or past the
    /// last: every layer), where it starts. False when nothing changed.
    private func setPaused(_ pause: Bool, slot index: Int, of p: Participant, publisher: Participant?, layer: Int?,
                           now: Instant) -> Bool {
        guard p.subscriber.video[index].isPaused != pause else { return false }
        p.subscriber.video[index].setPaused(pause)
        if pause {
            counters.videoSlotsPaused += 1
        } else {
            counters.videoSlotsResumed += 1
            publisher?.requestKeyframe(now: now, layer: layer)
        }
        return true
    }

    /// Starts a probe the estimator asks for, and sends what is owed of the
    /// running one: RTX padding on the first video slot that negotiated RTX,
    /// each packet stamped with the subscriber's transport-wide number and
    /// the probe's cluster, at the probe's rate (`probeDeadline`: on `p`'s
    /// timer, and with the copies forwarded to it and its feedback). Probe
    /// bytes count against `p`'s pacer budget, and probes start only while
    /// the pacer holds nothing.
    func sendProbe(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        // Its timer moves with every packet, and goes when it ends.
        let wasProbing = p.subscriber.probe != nil
        defer { if wasProbing || p.subscriber.probe != nil { reschedule(p) } }
        // Probes start only while the pacer holds nothing: on top of a
        // keyframe still draining they overfill a narrow link's queue. One
        // running goes on when copies are held: its own bytes spent the
        // budget, so video waits behind it and the link sees the probe's
        // rate, not more. (Given up at the first held copy, a probe with
        // video flowing seldom finished: after a lifted cap two chained
        // probes were lost that way, the estimate climbed by its additive
        // increase alone, and tiles were not back at their top layer 10 s
        // later.)
        guard p.subscriber.probe != nil || p.subscriber.pacer.isEmpty else { return }
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
        let size = Self.probePacketBytes + srtp.profile.rtpTagLength
        // The cluster's bytes, and never fewer than the packets its result
        // needs: a slow probe (a subscriber whose estimate fell to its
        // audio) of 1 000 bytes in 276-byte packets would be 4, never
        // measured, and the estimate could not climb back by probing.
        let total = max(probe.cluster.bytes, probe.cluster.minimumPackets * size)
        var owed = min(Self.probeCredit(probe.cluster.bitrate, elapsed: now - probe.started), total) - probe.sentBytes
        // At least the first packet at once; never more than the cluster.
        if probe.sentBytes == 0 { owed = max(owed, size) }
        var sent = probe.sentBytes
        let timestamp = p.subscriber.video[slotIndex].lastSent?.timestamp ?? 0
        while owed > 0, sent < total {
            let sequence = p.subscriber.video[slotIndex].nextRTXSequence()
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
            if failed {
                counters.srtpFailed += 1
                sent = total  // given up: its timer must not stay due
                break
            }
            // Over the estimate by design, but paid for: video waits after it.
            noteSent(transmits.entries[transmits.count - 1].length, to: p, now: now)
            counters.probePaddingSent += 1
            sent += size
            owed -= size
        }
        p.subscriber.probe = sent >= total ? nil : (probe.cluster, probe.started, sent)
    }

    /// When the running probe's next packet is due, nil when none runs: its
    /// packets leave on `p`'s timer at the cluster's rate, not in bursts with
    /// the copies forwarded to `p` (a 613 kbit/s cluster left at 1342 kbit/s
    /// that way, and lost a fifth of a 300 kbit/s link's packets, audio with it).
    func probeDeadline(of p: Participant) -> Instant? {
        // `sendProbe` owes the next packet once the credit passes what was sent.
        guard let probe = p.subscriber.probe, probe.cluster.bitrate > 0 else { return nil }
        let bits = Int64(probe.sentBytes + 1) * 8_000_000_000
        let rate = Int64(probe.cluster.bitrate)
        return probe.started + TimeSpan(nanoseconds: (bits + rate - 1) / rate)
    }

    /// The bytes a probe at `bitrate` may have sent `elapsed` after it
    /// started (at least 1 ms's worth), in whole numbers, so that its timer
    /// (`probeDeadline`) and what it owes agree to the byte.
    static func probeCredit(_ bitrate: Int, elapsed: TimeSpan) -> Int {
        Int(max(elapsed.nanoseconds, 1_000_000) * Int64(bitrate) / 8_000_000_000)
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
