import Wire

/// Shares one subscriber's downlink estimate among the video slots it sees,
/// after reserving what its audio needs (issue 12, "audio first"): a sans-IO
/// decision the engine takes whenever the estimate, a slot's layers, a
/// tile's rendered size or the host's priorities change.
///
/// The rules, in order:
/// 1. Audio is reserved first. When even audio does not fit, every video
///    slot pauses and `suggestMixedAudio` tells the client one mixed stream
///    would carry the room better than N separate ones.
/// 2. Slots are served in priority order (screen share, the host's pinned
///    tile, the active speaker, everyone else; then by slot number). Each
///    gets its lowest layer while the budget lasts; those that don't fit pause.
/// 3. What is left raises slots one layer at a time, highest priority first,
///    never above the smallest layer that covers the tile's rendered size.
/// 4. Hysteresis: keeping what a slot has needs the plain budget; resuming a
///    paused slot or raising a layer needs the new total (audio and all video
///    so far included) times 1 + `upgradeMargin` to fit the budget and, for a
///    slot that went down, `upgradeHold` since then. So an estimate wobbling
///    around a threshold does not make tiles flap. A simulcast slot resumes
///    only if the budget also carries its keyframe (`keyframeDrain`); on a
///    path known to be narrow (`narrowPath`: a probe fell short of it), a
///    raise must carry the raised layer's keyframe the same way.
/// 5. A tile the client hides (rendered width 0) pauses without any hold:
///    shown again, it resumes as soon as it fits.
/// 6. Backoff: a slot that goes down again within `upgradeProbation` of going
///    up (the upgrade overfilled the link: an estimate a probe read a few
///    per cent high, a resumed slot's keyframe) waits twice as long before
///    the next upgrade, up to `maximumHold`; one that keeps an upgrade for
///    the probation starts again from `upgradeHold`. Each failed try costs
///    the subscriber a burst of loss, its audio included.
public struct BandwidthAllocator: Sendable {
    /// How important a slot is to this subscriber.
    public enum Priority: Int, Sendable, Comparable {
        case screenShare = 0
        case pinned = 1
        case activeSpeaker = 2
        case normal = 3

        public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }
    }

    /// One layer a publisher sends (a simulcast encoding, or the only one).
    public struct Layer: Sendable, Equatable {
        /// Its current send rate, bits per second.
        public var bitrate: Int
        /// Its frame width in pixels.
        public var width: Int
        /// The size of its last keyframe, bytes (0: not known).
        public var keyframeBytes: Int

        /// Creates a layer.
        public init(bitrate: Int, width: Int, keyframeBytes: Int = 0) {
            self.bitrate = bitrate
            self.width = width
            self.keyframeBytes = keyframeBytes
        }
    }

    /// What a video slot needs to be decided.
    public struct Slot: Sendable {
        /// The slot's number in the subscriber's slot map.
        public var id: Int
        public var priority: Priority
        /// The layers being received from its publisher, lowest first; empty
        /// when the publisher sends nothing (the slot is then left alone).
        public var layers: [Layer]
        /// The width the client renders the tile at, if it said (nil: no cap).
        /// Zero means not shown at all: the slot pauses.
        public var renderedWidth: Int?

        /// Creates a slot.
        public init(id: Int, priority: Priority = .normal, layers: [Layer], renderedWidth: Int? = nil) {
            self.id = id
            self.priority = priority
            self.layers = layers
            self.renderedWidth = renderedWidth
        }

        /// The highest layer worth sending: the smallest that covers the tile.
        var usefulTop: Int {
            guard let renderedWidth, !layers.isEmpty else { return layers.count - 1 }
            return layers.firstIndex { $0.width >= renderedWidth } ?? layers.count - 1
        }
    }

    /// The decision for one slot.
    public enum Decision: Sendable, Equatable {
        /// Forward this layer (index into the slot's layers).
        case layer(Int)
        /// Forward nothing: "video paused, poor connection".
        case paused
    }

    /// The whole decision.
    public struct Allocation: Sendable, Equatable {
        public var decisions: [Int: Decision]
        /// Audio alone exceeds the estimate.
        public var suggestMixedAudio: Bool
        /// Bits per second the decisions add up to, audio included.
        public var allocated: Int
    }

    /// Resuming or raising needs this much headroom over the new total.
    public var upgradeMargin = 0.15
    /// ...and, to resume a simulcast slot, room left over the new total to
    /// carry its lowest layer's keyframe, which the slot starts with, within
    /// this time: a burst the link's queue cannot hold is lost, audio with
    /// it (a 160x120 tile resumed on a 300 kbit/s link with 70 kbit/s to
    /// spare lost 23 % of a second's packets; the average rate fitted).
    /// Not for raises or single-layer slots: their keyframes (15-30 kB at
    /// 640 wide) would ask more room than the estimate's ceiling leaves on
    /// a clear link, and they would never come back.
    public var keyframeDrain = TimeSpan.milliseconds(250)
    /// A slot that went down stays down at least this long.
    public var upgradeHold = TimeSpan.seconds(2)
    /// A slot that goes down this soon after going up failed its upgrade.
    public var upgradeProbation = TimeSpan.seconds(10)
    /// The longest a slot that failed upgrades is held down: short enough
    /// that a link that came back is used within 10 s (issue 12).
    public var maximumHold = TimeSpan.seconds(8)

    private var current: [Int: Decision] = [:]
    /// Per slot: when it last went down, and how long it is held from then.
    private var lastDowngrade: [Int: (at: Instant, hold: TimeSpan)] = [:]
    /// Per slot: when it last went up.
    private var lastUpgrade: [Int: Instant] = [:]

    /// Creates an allocator with nothing decided.
    public init() {}

    /// Forgets every slot's hold and backoff: the link they were earned on
    /// is gone (a probe found it several times wider). Kept, a tile that
    /// failed to resume on a 300 kbit/s link stayed paused up to 8 s after
    /// the cap was lifted.
    public mutating func forgetHolds() {
        lastDowngrade = [:]
        lastUpgrade = [:]
    }

    /// Decides every slot for `budget` bits per second, with `audio` bits
    /// per second reserved first. `narrowPath`: the path fell short of a
    /// probe lately (the estimator's increase limit), so a raise's keyframe
    /// is checked like a resume's (a tile resumed and raised to 320 wide in
    /// one decision on a 300 kbit/s link, and the next feedback reported 16 %
    /// loss); elsewhere raises are not, since top-layer keyframes (15-30 kB)
    /// would never pass and a clear link's tiles would stay low.
    public mutating func allocate(budget: Int, audio: Int, slots: [Slot], now: Instant,
                                  narrowPath: Bool = false) -> Allocation {
        let ordered = slots.filter { !$0.layers.isEmpty }.sorted { ($0.priority, $0.id) < ($1.priority, $1.id) }
        var decisions: [Int: Decision] = [:]
        var remaining = budget - audio
        let suggestMix = remaining < 0

        func canUpgrade(_ slot: Slot) -> Bool {
            guard let down = lastDowngrade[slot.id] else { return true }
            return now - down.at >= down.hold
        }
        /// Whether `cost` more fits: plainly when the slot already had it;
        /// when it is new to the slot, with the margin over the new total
        /// and room for the new layer's keyframe (`keyframeDrain`).
        func fits(_ cost: Int, had: Bool, _ slot: Slot, keyframeBytes: Int) -> Bool {
            if had { return cost <= remaining }
            let total = budget - remaining + cost
            let spare = Double(budget - total) * keyframeDrain.seconds
            return canUpgrade(slot) && Double(total) * (1 + upgradeMargin) <= Double(budget)
                && Double(keyframeBytes * 8) <= spare
        }

        // Lowest layers, in priority order; what doesn't fit pauses.
        for slot in ordered {
            let previous = current[slot.id]
            let had = previous != nil && previous != .paused
            if slot.renderedWidth == 0 || suggestMix
                || !fits(slot.layers[0].bitrate, had: had, slot,
                         keyframeBytes: slot.layers.count > 1 ? slot.layers[0].keyframeBytes : 0) {
                decisions[slot.id] = .paused
                continue
            }
            decisions[slot.id] = .layer(0)
            remaining -= slot.layers[0].bitrate
        }
        // Then one layer at a time, highest priority first, while anything moves.
        var raised = true
        while raised {
            raised = false
            for slot in ordered {
                guard case .layer(let index) = decisions[slot.id], index < slot.usefulTop else { continue }
                let cost = slot.layers[index + 1].bitrate - slot.layers[index].bitrate
                var had = false
                if case .layer(let before) = current[slot.id], before > index { had = true }
                guard fits(cost, had: had, slot, keyframeBytes: narrowPath ? slot.layers[index + 1].keyframeBytes : 0)
                else { continue }
                decisions[slot.id] = .layer(index + 1)
                remaining -= cost
                raised = true
            }
        }

        for slot in ordered {
            let before = Self.rank(current[slot.id]), after = Self.rank(decisions[slot.id])
            if slot.renderedWidth == 0 {
                // Hidden by the client, not by the link: shown again, it
                // resumes as soon as it fits.
                lastDowngrade[slot.id] = nil
                lastUpgrade[slot.id] = nil
            } else if current[slot.id] != nil, after < before {
                // Down again soon after going up: the upgrade failed; wait longer next time.
                var hold = upgradeHold
                if let up = lastUpgrade[slot.id], now - up < upgradeProbation, let previous = lastDowngrade[slot.id] {
                    hold = min(previous.hold * 2, maximumHold)
                }
                lastDowngrade[slot.id] = (now, hold)
            } else if after > before {
                lastUpgrade[slot.id] = now
            } else if let up = lastUpgrade[slot.id], now - up >= upgradeProbation,
                      lastDowngrade[slot.id].map({ $0.at < up }) ?? true {
                // Kept for the probation: the next failure starts from the plain hold.
                lastUpgrade[slot.id] = nil
                lastDowngrade[slot.id] = nil
            }
        }
        current = decisions
        lastDowngrade = lastDowngrade.filter { decisions[$0.key] != nil }
        lastUpgrade = lastUpgrade.filter { decisions[$0.key] != nil }
        return Allocation(decisions: decisions, suggestMixedAudio: suggestMix, allocated: budget - remaining)
    }

    private static func rank(_ decision: Decision?) -> Int {
        switch decision {
        case .layer(let index)?: return index + 1
        case .paused?: return 0
        case nil: return 0
        }
    }
}
