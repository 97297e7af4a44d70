import Mixing
import RTP
import SRTP
import Wire

/// Identifies one room's mixer.
struct MixKey: Hashable, Sendable {
    var session: String
    var room: RoomID
}

/// One room's mixer and who feeds and hears it.
final class RoomMix {
    let mixer = RoomMixer()
    /// The source key the mix has in listeners' slots; unique per mixer, so a
    /// listener who changes rooms gets a rebased, continuous stream.
    let sourceKey: UInt32
    init(sourceKey: UInt32) { self.sourceKey = sourceKey }
    var contributors: Set<UInt32> = []
    var listeners: [ParticipantID: MixListener] = [:]
}

/// How one listener hears a room's mix.
struct MixListener: Equatable {
    /// The listener's own contribution, left out of what it hears (mix-minus);
    /// nil for a host listening in on another room, who hears the full mix.
    var own: UInt32?
    /// The audio slot the mix goes to.
    var slot: Int
}

extension MediaEngine {

    /// Brings each room's mixer in line with the routing table: a room has a
    /// mixer only while someone in it listens mixed (so a room without mixed
    /// listeners costs no decoding), every unmuted publisher in it
    /// contributes, and each mixed listener hears a mix-minus of itself.
    func syncMixers(session: String) {
        guard let table = sessions[session] else {
            for key in mixes.keys where key.session == session { mixes[key] = nil }
            return
        }
        var wanted: [RoomID: [ParticipantID: MixListener]] = [:]
        for (id, m) in table.members where m.mixedAudio && m.receives {
            guard let p = participants[id] else { continue }
            let own = m.publishes && !m.audioMuted && p.plan.audio != nil ? p.sourceKey : nil
            for (room, slot) in table.mixedSlots(of: id) {
                wanted[room, default: [:]][id] = MixListener(own: room == m.room ? own : nil, slot: slot)
            }
        }
        for key in mixes.keys where key.session == session && wanted[key.room] == nil { mixes[key] = nil }
        for (room, listeners) in wanted {
            let key = MixKey(session: session, room: room)
            let mix = mixes[key] ?? RoomMix(sourceKey: nextMixKey())
            mixes[key] = mix
            let contributors = Set(table.members.compactMap { id, m -> UInt32? in
                guard m.room == room, m.publishes, !m.audioMuted, let p = participants[id], p.plan.audio != nil else { return nil }
                return p.sourceKey
            })
            for gone in mix.contributors.subtracting(contributors) { mix.mixer.removeContributor(gone) }
            for new in contributors.subtracting(mix.contributors) {
                // The publisher's stream jitter is already known (RFC 3550
                // receive statistics): the new buffer starts at that delay.
                let jitter = bySourceKey[new].map { TimeSpan(nanoseconds: Int64($0.audioStats.jitter) * 1_000_000 / 48) } ?? .milliseconds(0)
                try? mix.mixer.addContributor(new, expectedJitter: jitter)
            }
            mix.contributors = contributors
            for (id, _) in mix.listeners where listeners[id] == nil { mix.mixer.removeListener(id) }
            for (id, listener) in listeners where mix.listeners[id].map({ $0.own != listener.own }) ?? true {
                try? mix.mixer.addListener(id, contributorKey: listener.own.flatMap { contributors.contains($0) ? $0 : nil })
            }
            mix.listeners = listeners
        }
    }

    /// Each room mixer's counters and its contributors' jitter buffer counters
    /// summed, for logs and metrics.
    public var mixerCounters: [(session: String, room: RoomID, mixer: MixerCounters, buffers: OpusJitterBuffer.Counters)] {
        mixes.map { ($0.key.session, $0.key.room, $0.value.mixer.counters, $0.value.mixer.bufferTotals) }
            .sorted { ($0.session, $0.room) < ($1.session, $1.room) }
    }

    /// Every 20 ms: one mixed Opus frame per mixed listener, on its mix's
    /// audio slot, through the slot's rewriter so the stream stays continuous.
    func tickMixers(now: Instant, transmits: inout TransmitQueue) {
        for mix in mixes.values {
            guard let due = mix.mixer.nextDeadline, due <= now else { continue }
            for frame in mix.mixer.tick(now: now) {
                // One frame per 960 ticks of the room clock: a continuous sequence per listener.
                let sequence = UInt16(truncatingIfNeeded: frame.timestamp / 960)
                guard let slot = mix.listeners[frame.listener]?.slot, let sub = participants[frame.listener],
                      let srtp = sub.srtp, let to = sub.ice.selected, slot < sub.audioSlots.count,
                      slot < sub.audioSlotPayloadTypes.count,
                      let out = sub.audioSlots[slot].rewrite(source: mix.sourceKey, sequence: sequence,
                                                             timestamp: frame.timestamp, isKeyframe: false,
                                                             payloadBytes: frame.payload.count, now: now) else { continue }
                let builder = RTPPacketBuilder(payloadType: sub.audioSlotPayloadTypes[slot],
                                               sequenceNumber: out.sequence, timestamp: out.timestamp,
                                               ssrc: sub.audioSlots[slot].ssrc)
                guard var packet = try? builder.build(payload: frame.payload) else { continue }
                packet.reserveCapacity(packet.count + SRTPContext.maximumTrailerLength)
                do { try srtp.protectRTP(&packet) } catch { counters.srtpFailed += 1; continue }
                transmits.append(packet, to: to)
                counters.mixedFramesSent += 1
            }
        }
    }
}
