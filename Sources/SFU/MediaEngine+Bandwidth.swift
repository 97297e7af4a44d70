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
    /// Probes aim this far above what the subscriber's streams need: above
    /// the allocator's 15 % headroom for resuming, since a probe reads at
    /// most its own rate (a probe at exactly the resume threshold, read a
    /// little under it, would never resume anything).
    static let probeHeadroom = 1.3
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
        var wanted = 0
        for index in p.subscriber.video.indices where p.subscriber.video[index].isFilled {
            guard case .publisher(let who)? = session.table.fill(of: p.id, kind: .video, index: index),
                  let publisher = session.participants[who], publisher.video != nil else { continue }
            let rate = publisher.video?.bitrate.bitsPerSecond(now: now) ?? 0
            guard rate > 0 else { continue }
            let cost = max(rate, Self.minimumVideoBitrate)
            let priority: BandwidthAllocator.Priority = publisher.role.runsSession ? .pinned
                : speaking.contains(who) ? .activeSpeaker : .normal
            slots.append(.init(id: index, priority: priority, layers: [.init(bitrate: cost, width: 640)],
                               renderedWidth: p.subscriber.video[index].renderedWidth))
            publishers[index] = publisher
            wanted += cost
        }
        let audio = p.subscriber.audio.filter(\.isFilled).count * Self.audioStreamBitrate
        // The screen share goes before every camera: after audio, its rate
        // comes off the budget, and its slot is never paused (a worksheet the group
        // cannot read is worse than a frozen face).
        var screen = 0
        if p.subscriber.screen.first?.isFilled == true,
           case .publisher(let who)? = session.table.fill(of: p.id, kind: .screen, index: 0) {
            screen = session.participants[who]?.screen?.bitrate.bitsPerSecond(now: now) ?? 0
        }
        // Probing goes past what is needed by the allocator's headroom and
        // more: a probe that stops at the need can never lift a paused slot.
        p.subscriber.bandwidth?.wanted = max(Int(Double(audio + screen + wanted) * Self.probeHeadroom), 1)
        // The best of the last 2 s of the estimate and of what the subscriber
        // got: AIMD dips 10 % below the path at every backoff, and jitter
        // alone can cause one (a lossy, jittery path that carried 1.3 Mbit/s
        // backed off to 0.98 and paused a camera; the additive climb back
        // takes longer than 2 s); what did arrive is no guess. Only a
        // shortfall that lasts pauses video; on a capped link the delivered
        // rate is the cap.
        let delivered = max(estimator.target, estimator.ackedBitrate ?? 0)
        let estimate = p.subscriber.recentBudget.record(delivered, now: now)
        // Audio first still: the share takes at most what audio leaves.
        let budget = estimate - min(screen, max(0, estimate - audio))
        let allocation = p.subscriber.allocator.allocate(budget: budget, audio: audio, slots: slots, now: now)
        var changed = false
        for (index, decision) in allocation.decisions {
            let pause = decision == .paused
            guard p.subscriber.video[index].isPaused != pause else { continue }
            p.subscriber.video[index].setPaused(pause)
            changed = true
            if pause {
                counters.videoSlotsPaused += 1
            } else {
                counters.videoSlotsResumed += 1
                publishers[index]?.requestKeyframe(now: now)
            }
        }
        // A slot whose publisher stopped sending is not decided: it resumes,
        // so that its next frames are not held back by an old decision.
        for index in p.subscriber.video.indices where p.subscriber.video[index].isPaused && allocation.decisions[index] == nil {
            p.subscriber.video[index].setPaused(false)
            changed = true
        }
        if changed { timersChanged() }  // resumed slots asked their publishers for keyframes
        if changed || allocation.suggestMixedAudio != p.subscriber.suggestedMix {
            p.subscriber.suggestedMix = allocation.suggestMixedAudio
            let mids = p.plan.slots(.video).map(\.mid)
            let paused = p.subscriber.video.indices.filter { p.subscriber.video[$0].isPaused && $0 < mids.count }.map { mids[$0] }
            delegate?.engine(downlinkChanged: DownlinkState(pausedMids: paused, suggestMixedAudio: allocation.suggestMixedAudio),
                             participant: p.id, session: session.id)
        }
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
        let size = Self.probePacketBytes + srtp.profile.rtpTagLength
        // The cluster's bytes, and never fewer than the packets its result
        // needs: a slow probe (a subscriber whose estimate fell to its
        // audio) of 1 000 bytes in 276-byte packets would be 4, never
        // measured, and the estimate could not climb back by probing.
        let total = max(probe.cluster.bytes, probe.cluster.minimumPackets * size)
        let elapsed = max((now - probe.started).seconds, 0.001)
        var owed = min(Int(Double(probe.cluster.bitrate) * elapsed / 8), total) - probe.sentBytes
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
            if failed { counters.srtpFailed += 1; break }
            counters.probePaddingSent += 1
            sent += size
            owed -= size
        }
        p.subscriber.probe = sent >= total ? nil : (probe.cluster, probe.started, sent)
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
