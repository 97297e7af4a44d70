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
        for session in sessions.values {
            var current: [RoomID: [ParticipantID]] = [:]
            for (id, m) in session.table.members where m.publishes && !m.audioMuted {
                guard let voice = session.participants[id]?.audio?.lastVoice, now - voice < Self.speakingHold else { continue }
                current[m.room, default: []].append(id)
            }
            for room in Set(session.table.members.values.map(\.room)) {
                let now = (current[room] ?? []).sorted()
                guard now != session.speakers[room] ?? [] else { continue }
                session.speakers[room] = now.isEmpty ? nil : now
                delegate?.engine(message: .speaking(now), recipients: session.table.members(of: room), session: session.id)
            }
        }
        promoteLoudestSpeakers(now: now)
    }

    /// Loudest-N for rooms with more publishers than a subscriber's audio
    /// slots: 6 dB of hysteresis, so slots change only for a clearly louder voice.
    func promoteLoudestSpeakers(now: Instant) {
        for session in sessions.values {
            var loudness: [ParticipantID: Double] = [:]
            for (id, p) in session.participants {
                guard var audio = p.audio else { continue }
                // Silence decays a publisher's standing even when it sends nothing.
                if audio.lastVoice.map({ now - $0 > Self.speakingHold }) ?? true { audio.loudness *= 0.5 }
                p.audio = audio
                loudness[id] = audio.loudness
            }
            let before = session.table
            var updated = before
            let changed = updated.promoteLoudest(loudness: loudness, margin: 6)
            guard !changed.isEmpty else { continue }
            session.table = updated
            applySlotChanges(changed, in: session, from: before, now: now, except: nil)
        }
    }
}
