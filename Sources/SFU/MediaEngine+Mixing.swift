import Mixing
import RTP
import SRTP
import Wire

/// One room's mixer and who feeds and hears it.
final class RoomMix {
    let mixer: RoomMixer
    init(speakers: Int) {
        var configuration = RoomMixer.Configuration()
        configuration.maximumSpeakers = speakers
        mixer = RoomMixer(configuration: configuration)
    }
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
    func syncMixers(_ session: Session) {
        timersChanged()  // mixers' frames
        let table = session.table
        var wanted: [RoomID: [ParticipantID: MixListener]] = [:]
        for (id, m) in table.members where m.mixedAudio && m.receives {
            guard let p = session.participants[id] else { continue }
            let own = m.publishes && !m.audioMuted && p.plan.audio != nil ? p.sourceKey : nil
            for (room, slot) in table.mixedSlots(of: id) {
                wanted[room, default: [:]][id] = MixListener(own: room == m.room ? own : nil, slot: slot)
            }
        }
        for room in session.mixes.keys where wanted[room] == nil { session.mixes[room] = nil }
        for (room, listeners) in wanted {
            let mix = session.mixes[room] ?? RoomMix(speakers: configuration.mixSpeakers)
            if session.mixes[room] == nil { session.mixes[room] = mix }
            var contributors: [UInt32: Participant] = [:]
            for (id, m) in table.members where m.room == room && m.publishes && !m.audioMuted {
                guard let p = session.participants[id], p.plan.audio != nil else { continue }
                contributors[p.sourceKey] = p
            }
            let keys = Set(contributors.keys)
            for gone in mix.contributors.subtracting(keys) { mix.mixer.removeContributor(gone) }
            for new in keys.subtracting(mix.contributors) {
                // The publisher's stream jitter is already known (RFC 3550
                // receive statistics): the new buffer starts at that delay.
                let jitter = contributors[new]?.audio.map { TimeSpan(nanoseconds: Int64($0.layers[0].stats.jitter) * 1_000_000 / 48) }
                try? mix.mixer.addContributor(new, expectedJitter: jitter ?? .milliseconds(0))
            }
            mix.contributors = keys
            for (id, _) in mix.listeners where listeners[id] == nil { mix.mixer.removeListener(id) }
            for (id, listener) in listeners where mix.listeners[id].map({ $0.own != listener.own }) ?? true {
                try? mix.mixer.addListener(id, contributorKey: listener.own.flatMap { keys.contains($0) ? $0 : nil })
            }
            mix.listeners = listeners
        }
    }

    /// Each room mixer's counters and its contributors' jitter buffer counters
    /// summed, for logs and metrics.
    public var mixerCounters: [(session: String, room: RoomID, mixer: MixerCounters, buffers: OpusJitterBuffer.Counters)] {
        sessions.values.flatMap { session in
            session.mixes.map { (session.id, $0.key, $0.value.mixer.counters, $0.value.mixer.bufferTotals) }
        }.sorted { ($0.session, $0.room) < ($1.session, $1.room) }
    }

    /// Every 20 ms: one mixed Opus frame per mixed listener, on its mix's
    /// audio slot, through the slot's rewriter so the stream stays continuous.
    func tickMixers(now: Instant, transmits: inout TransmitQueue) {
        for session in sessions.values {
            for mix in session.mixes.values {
                tick(mix, of: session, now: now, transmits: &transmits)
            }
        }
    }

    func tick(_ mix: RoomMix, of session: Session, now: Instant, transmits: inout TransmitQueue) {
        guard let due = mix.mixer.nextDeadline, due <= now else { return }
        let framesBefore = mix.mixer.counters.frames
        let started = configuration.cpuClock?()
        let frames = mix.mixer.tick(now: now)
        if let started, let clock = configuration.cpuClock { counters.mixerCPUNanoseconds += Int(clock() &- started) }
        counters.mixerFrames += mix.mixer.counters.frames - framesBefore
        for frame in frames {
            // One frame per 960 ticks of the room clock: a continuous sequence per listener.
            let sequence = UInt16(truncatingIfNeeded: frame.timestamp / 960)
            guard let slot = mix.listeners[frame.listener]?.slot, let sub = session.participants[frame.listener],
                  let srtp = sub.srtp, let to = sub.ice.selected, slot < sub.subscriber.audio.count,
                  let out = sub.subscriber.audio[slot].rewrite(sequence: sequence, timestamp: frame.timestamp,
                                                              isKeyframe: false, payloadBytes: frame.payload.count,
                                                              now: now) else { continue }
            var builder = RTPPacketBuilder(payloadType: sub.subscriber.audio[slot].payloadType,
                                           sequenceNumber: out.sequence, timestamp: out.timestamp,
                                           ssrc: sub.subscriber.audio[slot].ssrc)
            // Numbered like a forwarded copy, so that the listener's estimate
            // counts its mixed audio too (a 12-byte header and one 8-byte extension block).
            if let (id, number) = nextTransportWide(for: sub, unprotectedSize: 12 + ForwardedPacket.transportWideGrowth
                                                        + frame.payload.count, now: now) {
                builder.extensions = [RTPHeaderExtensionValue(id: id, data: [UInt8(number >> 8), UInt8(truncatingIfNeeded: number)])]
            }
            guard var packet = try? builder.build(payload: frame.payload) else { continue }
            packet.reserveCapacity(packet.count + SRTPContext.maximumTrailerLength)
            do { try srtp.protectRTP(&packet) } catch { counters.srtpFailed += 1; continue }
            transmits.append(packet, to: to)
            noteSent(packet.count, to: sub, now: now)
            counters.mixedFramesSent += 1
        }
    }
}
