import RTP
import SRTP
import STUN
import Wire

extension MediaEngine {
    /// Whether a NACK to a publisher whose uplink loses this fraction goes
    /// twice. A lost NACK costs another round trip before the retry, and on
    /// a 40 ms path that is a frame freeze patients see (docs/LOSS.md); the
    /// second copy costs one small RTCP packet and nothing more at the
    /// publisher, which resends a packet at most once per round trip.
    /// (Retransmissions themselves go once: a packet is never sent to a
    /// subscriber twice within a round trip.) Only between 0.5 % and 15 %
    /// loss: below, NACKs are rarely lost; above, the loss is likely
    /// congestion, which more packets would feed.
    static func nacksTwice(loss: Double) -> Bool { (0.005...0.15).contains(loss) }

    /// A subscriber's generic NACK (RFC 4585 §6.2.1) for one of its video
    /// slots: each lost slot sequence number is mapped back through the
    /// slot's rewrite to the number the publisher gave it, found in the
    /// publisher's packet cache, and sent again as RTX (RFC 4588, the
    /// slot's own RTX SSRC and sequence numbers, the slot number as OSN)
    /// when the subscriber negotiated `rtx`, else on the slot's SSRC. A
    /// packet already resent to this slot within one round trip (the
    /// shortest measured, see `RoundTripEstimate`) is not sent again; numbers from before the slot's current source, or older
    /// than the cache, are counted as misses.
    func answerNack(_ nack: RTCPNack, from sub: Participant, now: Instant, transmits: inout TransmitQueue) {
        counters.nacksReceived += 1
        guard let (kind, index) = sub.subscriber.slot(withSSRC: nack.mediaSSRC), kind.isVideo,
              case .publisher(let who)? = sub.session.table.fill(of: sub.id, kind: kind, index: index),
              let publisher = sub.session.participants[who],
              let layer = kind == .screen ? 0 : sub.subscriber.video[index].layer,
              let layers = publisher[keyPath: Participant.videoStream(kind)]?.layers.count, layer < layers,
              publisher[keyPath: Participant.videoStream(kind)]?.layers[layer].cache != nil,
              let srtp = sub.srtp, let destination = sub.ice.selected else {
            counters.retransmissionMisses += nack.lostSequenceNumbers.count
            return
        }
        let roundTrip = sub.roundTrip.minimum
        let remap = publisher.localExtensionIDs != sub.localExtensionIDs
            ? (publisher.extensionIndexByID, sub.localExtensionIDs) : nil
        for slotSequence in nack.lostSequenceNumbers {
            guard let sourceSequence = sub.subscriber[kind][index].sourceSequence(forSlotSequence: slotSequence),
                  let original = publisher[keyPath: Participant.videoStream(kind)]?.layers[layer].cache?
                      .packet(sequence: sourceSequence, now: now),
                  let header = try? RTPHeader(parsing: original) else {
                counters.retransmissionMisses += 1
                continue
            }
            guard sub.subscriber[kind][index].resent.shouldResend(sequence: slotSequence, now: now, rtt: roundTrip) else {
                counters.retransmissionsSuppressed += 1
                continue
            }
            guard spendRepairAllowance(sub, bytes: original.count, now: now) else {
                counters.retransmissionsOverBudget += 1
                continue
            }
            let slot = sub.subscriber[kind][index]
            let timestamp = slot.slotTimestamp(forSourceTimestamp: header.timestamp)
            let rtxSequence: UInt16? = slot.rtx == nil ? nil : sub.subscriber[kind][index].nextRTXSequence()
            if resend(original, header: header, slot: slot, sequence: slotSequence, timestamp: timestamp,
                      rtxSequence: rtxSequence, remap: remap, srtp: srtp, to: destination,
                      stamp: (sub, publisher.plan.transportWideID ?? 0), now: now, transmits: &transmits) {
                counters.retransmissionsSent += 1
                noteSent(transmits.entries[transmits.count - 1].length, to: sub, now: now)
            } else {
                counters.srtpFailed += 1
            }
        }
    }

    /// The share of a subscriber's downlink estimate that retransmissions may use.
    static let repairShare = 0.25

    /// Whether `bytes` more of retransmissions fit `sub`'s allowance (always,
    /// without a settled downlink estimate); spends them if so.
    private func spendRepairAllowance(_ sub: Participant, bytes: Int, now: Instant) -> Bool {
        guard let estimator = sub.subscriber.bandwidth, estimator.isSettled(now: now) else { return true }
        let estimate = estimator.target
        let perSecond = Int(Double(estimate) * Self.repairShare / 8)
        let elapsed = sub.subscriber.repairRefilledAt.map { max(0, (now - $0).seconds) } ?? 1
        sub.subscriber.repairAllowance = min(perSecond, sub.subscriber.repairAllowance + Int(Double(perSecond) * elapsed))
        sub.subscriber.repairRefilledAt = now
        guard sub.subscriber.repairAllowance >= bytes else { return false }
        sub.subscriber.repairAllowance -= bytes
        return true
    }

    /// Writes one retransmission of `original` for `slot` into `transmits`:
    /// RTX with `rtxSequence` when given, else the packet again on the slot's
    /// SSRC with its slot `sequence`. False when encryption failed.
    private func resend(_ original: [UInt8], header: RTPHeader, slot: SubscribedSlot, sequence: UInt16, timestamp: UInt32,
                        rtxSequence: UInt16?, remap: (indexByID: [UInt8], subscriberIDs: [UInt8])?, srtp: SRTPContext,
                        to destination: StunAddress, stamp: (sub: Participant, originalID: UInt8), now: Instant,
                        transmits: inout TransmitQueue) -> Bool {
        var failed = false
        transmits.appendDatagram(to: destination, capacity: max(original.count, RTXPacket.length(of: header))
                                                        + SRTPContext.maximumTrailerLength
                                                        + ForwardedPacket.transportWideGrowth) { out in
            var length: Int
            if let rtx = slot.rtx, let rtxSequence {
                length = RTXPacket.write(original: original, header: header, into: out, ssrc: rtx.ssrc,
                                         sequence: rtxSequence, timestamp: timestamp, payloadType: rtx.payloadType,
                                         originalSequence: sequence)
                if let remap { ForwardedPacket.remapExtensions(of: original, header: header, in: out, length: length, remap) }
            } else {
                length = ForwardedPacket.write(original, header: header, into: out, ssrc: slot.ssrc, sequence: sequence,
                                               timestamp: timestamp, payloadType: slot.payloadType, remap: remap)
            }
            // Its VP8 picture id and TL0PICIDX as the first copy had them
            // (after a layer or source switch they are the slot's, not the
            // publisher's). An RTX payload starts with the 2-byte OSN.
            if let d = VP8Descriptor(original, payload: header.payloadRange), d.pictureIDOffset != nil || d.tl0Offset != nil {
                let ids = slot.retransmittedPicture(d)
                d.write(pictureID: ids.pictureID, tl0PicIdx: ids.tl0PicIdx, into: out,
                        payload: header.payloadRange.lowerBound + (slot.rtx != nil && rtxSequence != nil ? 2 : 0))
            }
            // A retransmission is on the transport like any copy: it gets the
            // subscriber's next transport-wide number (the header comes first
            // in an RTX packet as in the original, so the stamp lands alike).
            length = stampTransportWide(for: stamp.sub, out, length: length, original: original, header: header,
                                        originalID: stamp.originalID, now: now)
            do { return try srtp.protectRTP(out, length: length) } catch {
                failed = true
                return nil
            }
        }
        return !failed
    }
}
