import Wire

/// The recent packets of one published stream, kept so that a subscriber's
/// NACK (RFC 4585 §6.2.1) can be answered with a retransmission (RFC 4588)
/// without asking the publisher.
///
/// A fixed ring keyed by the publisher's 16-bit RTP sequence number: the
/// slot of sequence number `s` is `s & (capacity - 1)`. Each slot keeps its
/// full sequence number, so a lookup for a packet that a newer one has
/// replaced finds nothing rather than the wrong packet. Entries are bounded
/// by count (`capacity`) and by age (`maxAge`, measured from arrival here).
///
/// The bytes are the decrypted RTP packet as received (before any slot
/// rewrite), copied once into the slot's own array ("Store once, send by
/// index", STYLE.md). A slot's array reserves `slotBytes` (or the packet's
/// length when it is larger) the first time the slot is used, and
/// reallocates only for a packet longer than its capacity. So after the
/// first pass over the ring nothing is allocated per packet. Because each
/// slot is an exact-length `[UInt8]`, `packet(sequence:now:)` can lend it
/// out without copying, ready for `RTPHeader(parsing:)` and
/// `RTXPacket.write`.
///
/// Memory per published stream is about `capacity × max(slotBytes, largest
/// packet)`: with the defaults 512 × 1500 B ≈ 750 KiB once the ring has
/// been filled (a 150 packet/s video layer fills it in 3.4 s), plus 32 B of
/// bookkeeping per slot. `reservedBytes` reports the buffers in use.
///
/// A value type owned by its `PublishedStream`, used on the session's loop.
/// Never reads a clock: `now` comes from the caller.
public struct PacketCache {
    /// The default number of entries: about 3 s of a 1.5 Mbit/s video layer.
    public static let defaultCapacity = 512
    /// The default age after which a packet is no longer served: a NACK for
    /// an older packet arrives too late to help the subscriber's jitter buffer.
    public static let defaultMaxAge = TimeSpan.seconds(1)
    /// The default capacity reserved per slot: larger than any RTP packet a
    /// WebRTC sender makes for a 1500-byte MTU (libwebrtc aims at 1200).
    public static let defaultSlotBytes = 1_500

    /// What `insert` did with a packet.
    public enum InsertResult: Equatable, Sendable {
        /// The packet is stored.
        case stored
        /// The same sequence number is already stored (an RTX copy, or a
        /// duplicate from the network); the cache is unchanged.
        case duplicate
        /// The slot holds a newer packet that is still fresh, so this late
        /// packet (more than `capacity` behind) is not stored.
        case tooOld
    }

    /// One ring slot.
    private struct Slot {
        /// The stored packet; its capacity is kept from packet to packet.
        var bytes: [UInt8] = []
        /// The stored packet's full sequence number.
        var sequence: UInt16 = 0
        /// When the stored packet arrived.
        var arrival = Instant.zero
        /// False until a packet is stored (and after `removeAll`).
        var isFilled = false
    }

    /// Number of slots, a power of two.
    public let capacity: Int
    /// Packets older than this (since arrival) are not served.
    public let maxAge: TimeSpan
    /// Capacity reserved for a slot's array when a packet no larger than it
    /// is the first stored there.
    public let slotBytes: Int
    /// `capacity - 1`: a sequence number's slot is `sequence & mask`.
    private let mask: Int
    /// The ring, `capacity` slots.
    private var slots: [Slot]

    /// Lookups that found their packet.
    public private(set) var hits = 0
    /// Lookups that found nothing: never stored, replaced, or too old.
    public private(set) var misses = 0
    /// Inserts ignored because the sequence number was already stored.
    public private(set) var duplicates = 0
    /// Inserts refused because a newer packet held the slot.
    public private(set) var tooOld = 0

    /// Creates an empty cache. `capacity` must be a power of two between 1
    /// and 32768 (half the sequence space, so that serial order between two
    /// packets of one slot is defined); `slotBytes` at least 1.
    public init(capacity: Int = PacketCache.defaultCapacity, maxAge: TimeSpan = PacketCache.defaultMaxAge,
                slotBytes: Int = PacketCache.defaultSlotBytes) {
        precondition(capacity > 0 && capacity <= 32_768 && capacity & (capacity - 1) == 0,
                     "capacity must be a power of two in 1...32768")
        precondition(slotBytes > 0, "slotBytes must be positive")
        self.capacity = capacity
        self.maxAge = maxAge
        self.slotBytes = slotBytes
        mask = capacity - 1
        slots = [Slot](repeating: Slot(), count: capacity)
    }

    /// Bytes reserved by slot arrays (their capacity, not only the packets).
    public var reservedBytes: Int {
        var total = 0
        for i in slots.indices { total += slots[i].bytes.capacity }
        return total
    }

    /// Stores a copy of `packet`, the decrypted RTP packet whose sequence
    /// number is `sequence`, received at `now`.
    ///
    /// A packet already stored under the same sequence number and RTP
    /// timestamp is kept and this one ignored (`.duplicate`: a retransmission
    /// keeps the original's header). The same number with another timestamp
    /// is a publisher that restarted its numbering: it replaces the old
    /// packet. A late packet whose slot holds a
    /// newer, still fresh packet is ignored too (`.tooOld`): the newer one is
    /// the likelier to be asked for. Allocates only when the slot's capacity
    /// is less than `packet.count` (or an array lent by `packet(sequence:now:)`
    /// is still held, which makes the slot copy on write).
    @discardableResult
    public mutating func insert(_ packet: UnsafeRawBufferPointer, sequence: UInt16, now: Instant) -> InsertResult {
        let i = Int(sequence) & mask
        if slots[i].isFilled, isFresh(arrival: slots[i].arrival, now: now) {
            if slots[i].sequence == sequence {
                if Self.sameTimestamp(slots[i].bytes, packet) {
                    duplicates += 1
                    return .duplicate
                }
            } else if SerialNumber.isNewer(slots[i].sequence, than: sequence) {
                tooOld += 1
                return .tooOld
            }
        }
        let length = packet.count
        if slots[i].bytes.capacity < length {
            slots[i].bytes = []
            slots[i].bytes.reserveCapacity(Swift.max(length, slotBytes))
        } else {
            slots[i].bytes.removeAll(keepingCapacity: true)
        }
        slots[i].bytes.append(contentsOf: packet)
        slots[i].sequence = sequence
        slots[i].arrival = now
        slots[i].isFilled = true
        return .stored
    }

    /// Whether two RTP packets carry the same timestamp (bytes 4–7, RFC 3550 §5.1).
    private static func sameTimestamp(_ stored: [UInt8], _ packet: UnsafeRawBufferPointer) -> Bool {
        guard stored.count >= 8, packet.count >= 8 else { return true }
        return stored[4] == packet[4] && stored[5] == packet[5] && stored[6] == packet[6] && stored[7] == packet[7]
    }

    /// Stores a copy of `packet`; see `insert(_:sequence:now:)` for an
    /// unsafe buffer.
    @discardableResult
    public mutating func insert(_ packet: [UInt8], sequence: UInt16, now: Instant) -> InsertResult {
        packet.withUnsafeBytes { insert($0, sequence: sequence, now: now) }
    }

    /// The stored packet `sequence`, lent without copying (the array shares
    /// the slot's storage), or nil when that packet was never stored, a newer
    /// packet has replaced it, or it arrived more than `maxAge` before `now`.
    /// Let it go before the next `insert`: a slot whose array is still held
    /// copies on write.
    public mutating func packet(sequence: UInt16, now: Instant) -> [UInt8]? {
        guard let i = index(of: sequence, now: now) else {
            misses += 1
            return nil
        }
        hits += 1
        return slots[i].bytes
    }

    /// True when `sequence` is stored and fresh at `now`; counts nothing.
    public func contains(sequence: UInt16, now: Instant) -> Bool {
        index(of: sequence, now: now) != nil
    }

    /// Forgets every packet but keeps the slot buffers, for a publisher
    /// whose sequence numbers restarted (see `NackGenerator.Received.restarted`).
    public mutating func removeAll() {
        for i in slots.indices { slots[i].isFilled = false }
    }

    /// The slot holding `sequence` when it is stored and fresh at `now`.
    private func index(of sequence: UInt16, now: Instant) -> Int? {
        let i = Int(sequence) & mask
        let slot = slots[i]
        return slot.isFilled && slot.sequence == sequence && isFresh(arrival: slot.arrival, now: now) ? i : nil
    }

    /// A packet is served up to and including `maxAge` after its arrival.
    private func isFresh(arrival: Instant, now: Instant) -> Bool {
        now - arrival <= maxAge
    }
}
