import Wire

/// The engine's timers without a scan per batch.
///
/// Each participant's next deadline (DTLS retransmission, ICE check,
/// keyframe request, NACK) and each session's (its mixers' next frame, a
/// close countdown, a coalesced session view) sit in a `DeadlineHeap`. The
/// receive path reschedules the participants a datagram touched; a timeout
/// handles only the owners that are due, except on the engine's 100 ms
/// tick, which visits everyone (consent, reports) as before and rebuilds
/// both heaps. Anything else that may move a deadline (a join, a removal,
/// a command) calls `timersChanged()`: the heaps are rebuilt before the
/// next `nextDeadline`, so a change outside the receive path costs one
/// rebuild, never a missed timer. Runs on the engine's loop only.
extension MediaEngine {
    /// A deadline may have moved outside the receive path: rebuild before it is next read.
    func timersChanged() { timersStale = true }

    /// `p`'s earliest timer, its pacer's next release and its probe's next
    /// packet included. A keyframe
    /// request is due at once, NACK retries at their spacing; only once they
    /// can be sent (`sendRepairRequests`), or the deadline would stay in the
    /// past and the loop would spin on it.
    func deadline(of p: Participant) -> Instant? {
        Self.earlier(Self.earlier(Self.earlier(p.dtls?.nextDeadline, p.ice.nextDeadline), repairDeadline(of: p)),
                     Self.earlier(p.subscriber.pacer.nextRelease, probeDeadline(of: p)))
    }

    /// When `p`'s next keyframe request or NACK is due, once they can be
    /// sent: the only timers a video packet moves. Cheap, allocation-free
    /// (no local closure: that allocates in a debug build), so the receive
    /// path compares it before and after each video packet and reschedules
    /// only on a change.
    func repairDeadline(of p: Participant) -> Instant? {
        guard p.srtp != nil, p.ice.selected != nil else { return nil }
        return Self.earlier(p.video?.repairDeadline, p.screen?.repairDeadline)
    }

    /// `session`'s earliest timer: a mixer's next frame, the end of a close
    /// countdown (on time, not at the next tick), a coalesced session view.
    func deadline(of session: Session) -> Instant? {
        var earliest = Self.earlier(session.model.closingAt, session.viewDue)
        for m in session.mixes.values { earliest = Self.earlier(earliest, m.mixer.nextDeadline) }
        return earliest
    }

    /// The earlier of two optional instants.
    static func earlier(_ a: Instant?, _ b: Instant?) -> Instant? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    /// Records `p`'s current deadline (a member's only).
    func reschedule(_ p: Participant) {
        participantTimers.schedule(p, at: p.session.participants[p.id] === p ? deadline(of: p) : nil)
    }

    /// Records `session`'s current deadline (while it is on this engine).
    func reschedule(_ session: Session) {
        sessionTimers.schedule(session, at: sessions[session.id] === session ? deadline(of: session) : nil)
    }

    /// Rebuilds both heaps from every participant and session.
    func rescheduleAll() {
        timersStale = false
        participantTimers.removeAll()
        sessionTimers.removeAll()
        for session in sessions.values {
            sessionTimers.schedule(session, at: deadline(of: session))
            for p in session.participants.values { participantTimers.schedule(p, at: deadline(of: p)) }
        }
    }

    /// The earliest deadline found by asking every owner, as `nextDeadline`
    /// did before the heaps: tests compare the two after every step.
    var scannedDeadline: Instant? {
        var earliest = nextTick
        func consider(_ d: Instant?) { if let d, earliest == nil || d < earliest! { earliest = d } }
        for session in sessions.values {
            consider(deadline(of: session))
            for p in session.participants.values { consider(deadline(of: p)) }
        }
        return earliest
    }

    /// The participant timers due at `now`, between two engine ticks:
    /// DTLS retransmissions, ICE checks, keyframe requests and NACKs.
    func handleDueParticipants(now: Instant, transmits: inout TransmitQueue) {
        // Taken first, then handled: a timer still due after its handling
        // must not make this loop spin.
        dueParticipants.removeAll(keepingCapacity: true)
        while let p = participantTimers.popDue(now: now) { dueParticipants.append(p) }
        for p in dueParticipants where p.session.participants[p.id] === p {
            handleTimers(of: p, onTick: false, now: now, transmits: &transmits)
            reschedule(p)
        }
        dueParticipants.removeAll(keepingCapacity: true)
    }

    /// The session timers due at `now`, between two engine ticks: mixer
    /// frames (close countdowns and session views run on every timeout).
    func handleDueSessions(now: Instant, transmits: inout TransmitQueue) {
        var due: [Session] = []
        while let session = sessionTimers.popDue(now: now) { due.append(session) }
        for session in due where sessions[session.id] === session {
            for mix in session.mixes.values { tick(mix, of: session, now: now, transmits: &transmits) }
            reschedule(session)
        }
    }

    /// One participant's timers at `now`: DTLS, ICE, repair requests, and
    /// `onTick` (the engine tick, every 100 ms) consent expiry and reports.
    func handleTimers(of p: Participant, onTick: Bool, now: Instant, transmits: inout TransmitQueue) {
        if let dtls = p.dtls, let deadline = dtls.nextDeadline, deadline <= now {
            dtls.handleTimeout(now: now)
            drainDTLS(p, now: now, transmits: &transmits)
        }
        guard p.session.participants[p.id] === p else { return }
        if let d = p.ice.nextDeadline, d <= now {
            p.ice.handleTimeout(now: now)
            drainICE(p, now: now, transmits: &transmits)
        }
        if onTick && p.ice.consentExpired(now: now, timeout: configuration.consentTimeout, start: p.joinedAt) {
            remove(p.id, reason: .consentExpired, now: now)
            return
        }
        releasePaced(p, now: now, transmits: &transmits)
        if p.subscriber.probe != nil { sendProbe(p, now: now, transmits: &transmits) }
        sendRepairRequests(p, now: now, transmits: &transmits)
        if onTick && p.nextReport <= now {
            p.nextReport = now + .seconds(1)
            sendReports(p, now: now, transmits: &transmits)
        }
    }
}
