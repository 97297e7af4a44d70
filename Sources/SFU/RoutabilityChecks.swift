import STUN
import Wire

/// Return routability for one participant: before a new source address
/// carries media, it must answer a Binding request that we send it (an RFC
/// 7675 consent check, signed with the participant's own ICE password).
///
/// Without this, anyone holding a participant's ICE credentials (the
/// participant itself) could send one check with USE-CANDIDATE from a
/// spoofed address and have that participant's media stream to a victim.
/// With it, a spoofed check costs the victim at most one of our requests,
/// and requests are rate-limited per participant: at most one new address
/// is checked per `interval`, and at most `maxPending` wait (bounded state).
/// Checks are not retransmitted: a real client keeps sending its own checks
/// from the new address, and each one queues the address again.
///
/// Sans-IO, owned by an `IceLiteAgent`; runs on its session's loop.
struct RoutabilityChecks: Sendable {
    /// One address waiting to be checked, or checked and not yet answered.
    struct Pending: Sendable, Equatable {
        var address: StunAddress
        /// Whether a check from it carried USE-CANDIDATE (it becomes the media path once verified).
        var nominate: Bool
        /// Our request's transaction id, once sent.
        var transaction: StunTransactionID?
        var sentAt: Instant?
    }

    /// At most one new address checked per this interval.
    static let interval = TimeSpan.seconds(1)
    /// How long a sent check waits for its answer (no retransmission).
    static let answerTimeout = TimeSpan.seconds(2)
    /// Addresses waiting or in flight at once; more are ignored until one leaves.
    static let maxPending = 4

    private(set) var pending: [Pending] = []
    private var lastSent: Instant?

    /// Queues `address` for a check (or marks a queued one nominated).
    /// Returns false when the queue is full and `address` was ignored.
    mutating func want(_ address: StunAddress, nominate: Bool) -> Bool {
        if let i = pending.firstIndex(where: { $0.address == address }) {
            pending[i].nominate = pending[i].nominate || nominate
            return true
        }
        guard pending.count < Self.maxPending else { return false }
        pending.append(Pending(address: address, nominate: nominate))
        return true
    }

    /// The next address to send a check to at `now`, if the rate allows;
    /// marks it sent with `transaction`.
    mutating func nextToSend(now: Instant, transaction: () -> StunTransactionID) -> (StunAddress, StunTransactionID)? {
        if let last = lastSent, now - last < Self.interval { return nil }
        guard let i = pending.firstIndex(where: { $0.transaction == nil }) else { return nil }
        let id = transaction()
        pending[i].transaction = id
        pending[i].sentAt = now
        lastSent = now
        return (pending[i].address, id)
    }

    /// Takes the pending entry answered by `transaction` from `source`: the
    /// answer must come from the address the check went to (RFC 8445 §7.2.5.2.1).
    mutating func answered(_ transaction: StunTransactionID, from source: StunAddress) -> Pending? {
        guard let i = pending.firstIndex(where: { $0.transaction == transaction && $0.address == source }) else { return nil }
        return pending.remove(at: i)
    }

    /// Whether `transaction` is one of our checks in flight to `source`.
    func isInFlight(_ transaction: StunTransactionID, to source: StunAddress) -> Bool {
        pending.contains { $0.transaction == transaction && $0.address == source }
    }

    /// Forgets `address` (it was verified another way, or refused).
    mutating func forget(_ address: StunAddress) { pending.removeAll { $0.address == address } }

    /// Drops checks that went unanswered for `answerTimeout`; returns how many.
    mutating func expire(now: Instant) -> Int {
        let before = pending.count
        pending.removeAll { p in p.sentAt.map { now - $0 >= Self.answerTimeout } ?? false }
        return before - pending.count
    }

    /// When `nextToSend` or `expire` next has something to do.
    var nextDeadline: Instant? {
        var earliest: Instant?
        func consider(_ d: Instant) { if earliest == nil || d < earliest! { earliest = d } }
        for p in pending {
            if let sent = p.sentAt {
                consider(sent + Self.answerTimeout)
            } else {
                consider(lastSent.map { $0 + Self.interval } ?? .zero)
            }
        }
        return earliest
    }
}
