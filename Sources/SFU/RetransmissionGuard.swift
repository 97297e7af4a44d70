import Wire

/// Remembers which packets the NACK responder of one subscriber slot resent
/// recently, so that the same packet is not resent to the same subscriber
/// twice within one round trip.
///
/// A receiver repeats its NACK (RFC 4585 §6.2.1) until the packet arrives,
/// and may list a number again in the next feedback packet before our
/// retransmission can have reached it. Resending then only doubles the
/// traffic into a link that is already losing packets. libwebrtc's sender
/// applies the same rule: a packet resent less than one RTT ago is skipped.
///
/// A fixed ring of `slotCount` (64) entries keyed by the slot sequence
/// number (`sequence & 63`). Two numbers 64 apart share an entry, so the
/// older one is forgotten early: at worst it is resent once more, never
/// withheld. One NACK packet covers at most 17 consecutive numbers per
/// FCI entry, so bursts up to 64 are tracked exactly. Allocates only in
/// `init`. A value type owned by its `SubscribedSlot`, used on the
/// session's loop; it never reads a clock.
public struct RetransmissionGuard: Sendable {
    /// Entries in the ring, a power of two.
    public static let slotCount = 64
    /// The round-trip time assumed while none has been measured.
    public static let defaultRTT = TimeSpan.milliseconds(100)

    /// One resent packet.
    private struct Entry {
        /// Its slot sequence number.
        var sequence: UInt16 = 0
        /// When it was resent.
        var sentAt = Instant.zero
        /// False until something is recorded here.
        var isUsed = false
    }

    /// The ring, indexed by `sequence & (slotCount - 1)`.
    private var entries: [Entry]

    /// Resends allowed by `shouldResend`.
    public private(set) var allowed = 0
    /// Resends refused because the same packet went out less than one RTT ago.
    public private(set) var suppressed = 0

    /// Creates a guard that has seen no resend.
    public init() {
        entries = [Entry](repeating: Entry(), count: Self.slotCount)
    }

    /// True when `sequence` (a slot sequence number) may be resent at `now`,
    /// and records the resend; false when it was resent less than `rtt`
    /// before `now`. `rtt` is the subscriber's round-trip time, nil when
    /// unknown (`defaultRTT`).
    public mutating func shouldResend(sequence: UInt16, now: Instant, rtt: TimeSpan?) -> Bool {
        let i = Int(sequence) & (Self.slotCount - 1)
        if entries[i].isUsed, entries[i].sequence == sequence, now - entries[i].sentAt < rtt ?? Self.defaultRTT {
            suppressed += 1
            return false
        }
        entries[i] = Entry(sequence: sequence, sentAt: now, isUsed: true)
        allowed += 1
        return true
    }

    /// Forgets every resend, for a slot that now carries another source.
    public mutating func removeAll() {
        for i in entries.indices { entries[i].isUsed = false }
    }
}
