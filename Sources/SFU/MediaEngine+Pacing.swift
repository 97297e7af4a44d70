import RTP
import SRTP
import Wire

/// How one subscriber's copy of a forwarded packet is rewritten: decided
/// when it is forwarded, written then or, for a copy the pacer holds, into
/// the pacer's ring.
struct CopyPlan {
    var ssrc: UInt32
    var sequence: UInt16
    var timestamp: UInt32
    var payloadType: UInt8
    /// The slot's VP8 picture id and TL0PICIDX, when the packet has them.
    var pictureIDs: (pictureID: UInt16, tl0PicIdx: UInt8)?
    /// `ForwardedPacket.write`'s extension remapping, when ids differ.
    var remap: (indexByID: [UInt8], subscriberIDs: [UInt8])?
    /// The publisher's transport-wide extension id (0: none).
    var originalID: UInt8
}

/// The per-subscriber pacer's side of forwarding (`Pacer`): video copies
/// held while a subscriber's budget is spent, released by its timer.
extension MediaEngine {
    /// Writes the copy `copy` plans of `packet` into `out`; returns its RTP length.
    static func write(_ copy: CopyPlan, of packet: [UInt8], header: RTPHeader, descriptor: VP8Descriptor?,
                      into out: UnsafeMutableRawBufferPointer) -> Int {
        let length = ForwardedPacket.write(packet, header: header, into: out, ssrc: copy.ssrc, sequence: copy.sequence,
                                           timestamp: copy.timestamp, payloadType: copy.payloadType, remap: copy.remap)
        if let descriptor, let ids = copy.pictureIDs {
            descriptor.write(pictureID: ids.pictureID, tl0PicIdx: ids.tl0PicIdx, into: out, payload: header.payloadRange.lowerBound)
        }
        return length
    }

    /// Holds `sub`'s copy of a video packet in its pacer, in clear, with its
    /// transport-wide element in place but not yet numbered; counts it as
    /// dropped when the pacer cannot hold it.
    func hold(_ copy: CopyPlan, of packet: [UInt8], header: RTPHeader, descriptor: VP8Descriptor?, for sub: Participant,
              isScreen: Bool, now: Instant) {
        let wasEmpty = sub.subscriber.pacer.isEmpty
        let transportID = ForwardedPacket.canStampTransportWide(header) ? transportWideID(for: sub) : nil
        let held = sub.subscriber.pacer.hold(capacity: packet.count + ForwardedPacket.transportWideGrowth,
                                             isScreen: isScreen, now: now) { out in
            let length = Self.write(copy, of: packet, header: header, descriptor: descriptor, into: out)
            guard let transportID else { return (length, nil) }
            let stamped = ForwardedPacket.stampTransportWide(out, length: length, original: packet, header: header,
                                                             originalID: copy.originalID, id: transportID, sequence: 0)
            return (stamped.length, stamped.sequenceAt)
        }
        guard held else {
            counters.pacedCopiesDropped += 1
            return
        }
        counters.pacedCopiesHeld += 1
        if wasEmpty { reschedule(sub) }
    }

    /// Counts `bytes` sent to `sub` without its pacer (audio, mixed audio,
    /// retransmissions, a video copy within its budget) against its budget;
    /// a copy held behind them now leaves later.
    func noteSent(_ bytes: Int, to sub: Participant, now: Instant) {
        guard sub.subscriber.pacer.rate != nil else { return }
        sub.subscriber.pacer.noteSent(bytes, now: now)
        if !sub.subscriber.pacer.isEmpty { reschedule(sub) }
    }

    /// Sends what `p`'s pacer may release at `now`: each copy gets its
    /// transport-wide number and its encryption as it leaves. Without a
    /// transport (keys, a selected address) the held copies are dropped.
    func releasePaced(_ p: Participant, now: Instant, transmits: inout TransmitQueue) {
        guard !p.subscriber.pacer.isEmpty else { return }
        guard let srtp = p.srtp, let destination = p.ice.selected else {
            counters.pacedCopiesDropped += p.subscriber.pacer.count
            p.subscriber.pacer.removeAll()
            return
        }
        // Taken out while it releases (numbering a copy changes the
        // subscriber's estimator); its only reference, so nothing is copied.
        var pacer = p.subscriber.pacer
        p.subscriber.pacer = Pacer()
        defer { p.subscriber.pacer = pacer }
        var released = 0
        var screen = 0
        var bytes = 0
        var failed = 0
        while pacer.releaseFirst(now: now, { clear, held in
            if let at = held.sequenceAt,
               let (_, sequence) = nextTransportWide(for: p, unprotectedSize: held.length, now: now) {
                clear[at] = UInt8(sequence >> 8)
                clear[at + 1] = UInt8(truncatingIfNeeded: sequence)
            }
            var sent: Int?
            transmits.appendDatagram(to: destination, capacity: held.length + SRTPContext.maximumTrailerLength) { out in
                UnsafeMutableRawBufferPointer(rebasing: out[..<held.length]).copyMemory(from: UnsafeRawBufferPointer(clear))
                sent = try? srtp.protectRTP(out, length: held.length)
                return sent
            }
            guard let sent else {
                failed += 1
                return nil
            }
            released += 1
            bytes += sent
            if held.isScreen { screen += 1 }
            return sent
        }) {}
        counters.srtpFailed += failed
        counters.rtpForwarded += released
        counters.videoPacketsForwarded += released
        counters.videoBytesForwarded += bytes
        counters.screenPacketsForwarded += screen
    }
}
