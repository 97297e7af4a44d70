import Wire

extension MediaEngine {
    /// RFC 6464 level (dB below overload) at or under which voice counts as speaking.
    static let speakingLevel: UInt8 = 50
    /// How long after the last voiced packet someone still counts as speaking.
    static let speakingHold = TimeSpan.milliseconds(600)

    /// At most every 300 ms, tells each room who is speaking, when that changed.
    func announceSpeakers(now: Instant) {
        guard now >= nextSpeakerCheck else { return }
        nextSpeakerCheck = now + .milliseconds(300)
        var current: [MixKey: [ParticipantID]] = [:]
        for (session, table) in sessions {
            for (id, m) in table.members where m.publishes && !m.audioMuted {
                guard let voice = participants[id]?.lastVoice, now - voice < Self.speakingHold else { continue }
                current[MixKey(session: session, room: m.room), default: []].append(id)
            }
            for room in Set(table.members.values.map(\.room)) {
                let key = MixKey(session: session, room: room)
                let now = (current[key] ?? []).sorted()
                guard now != speakers[key] ?? [] else { continue }
                speakers[key] = now.isEmpty ? nil : now
                delegate?.engine(message: .speaking(now), recipients: table.members(of: room), session: session)
            }
        }
        for key in speakers.keys where sessions[key.session] == nil { speakers[key] = nil }
        promoteLoudestSpeakers(now: now)
    }

    /// Loudest-N for rooms with more publishers than a subscriber's audio
    /// slots: 6 dB of hysteresis, so slots change only for a clearly louder voice.
    func promoteLoudestSpeakers(now: Instant) {
        for (session, table) in sessions {
            var loudness: [ParticipantID: Double] = [:]
            for id in table.members.keys {
                guard let p = participants[id] else { continue }
                // Silence decays a publisher's standing even when it sends nothing.
                if p.lastVoice.map({ now - $0 > Self.speakingHold }) ?? true { p.loudness *= 0.5 }
                loudness[id] = p.loudness
            }
            var updated = table
            let changed = updated.promoteLoudest(loudness: loudness, margin: 6)
            guard !changed.isEmpty else { continue }
            sessions[session] = updated
            applySlotChanges(changed, session: session, now: now, except: nil)
        }
    }
}
