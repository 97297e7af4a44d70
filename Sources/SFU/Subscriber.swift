import Congestion
import Wire

/// A participant's receive side (ARCHITECTURE.md, "The engine's shape"):
/// its receive slots of each kind and the version of its slot map. Runs on
/// the session's loop; owned by the `Participant`.
struct Subscriber {
    /// Audio receive slots, in offer order.
    var audio: [SubscribedSlot]
    /// Video receive slots, in offer order.
    var video: [SubscribedSlot]
    /// The screen-share slot (`a=content:slides`), if the offer has one:
    /// filled by whoever shares in the room, kept dark until a keyframe.
    var screen: [SubscribedSlot] = []
    /// Grows with each slot-map change, so clients can drop stale maps.
    var slotsVersion = 1
    /// The estimate of this participant's downlink, from its transport-wide
    /// feedback on the copies we send it, each stamped with a sequence number
    /// from here (nil unless its receive slots negotiated transport-cc).
    var bandwidth: BandwidthEstimator?
    /// Paces what is sent at a little over the allocation's estimate; holds
    /// nothing until the allocation first runs.
    var pacer = Pacer()
    /// Shares `bandwidth` among the video slots (`MediaEngine.allocateDownlink`).
    var allocator = BandwidthAllocator()
    /// The estimator's `linkGrowths` when the allocator last heard of them.
    var linkGrowths = 0
    /// When the allocation may next run.
    var nextAllocation: Instant = .zero
    /// The probe being sent, if any: RTX padding on a video slot's RTX SSRC.
    var probe: (cluster: ProbeCluster, started: Instant, sentBytes: Int)?
    /// Bytes of retransmissions the subscriber may still be sent: refilled
    /// at `MediaEngine.repairShare` of its estimate, up to one second's
    /// worth. On a link already short, answering every NACK in full sends
    /// more than the link carries and loses more (audio with it); a frame
    /// left unrepaired costs a keyframe request instead.
    var repairAllowance = 0
    var repairRefilledAt: Instant?
    /// Whether the client was last told that mixed audio would fit better.
    var suggestedMix = false
    /// The highest estimate of the last 2 s, what the allocation shares.
    var recentBudget = RecentMaximum(span: .seconds(2))

    /// The slots of `kind`.
    subscript(kind: TrackKind) -> [SubscribedSlot] {
        get {
            switch kind {
            case .audio: audio
            case .video: video
            case .screen: screen
            }
        }
        // In place, so that a slot can be rewritten per packet without copying the array.
        _modify {
            switch kind {
            case .audio: yield &audio
            case .video: yield &video
            case .screen: yield &screen
            }
        }
    }

    /// Each slot's SSRC by kind, for the answer.
    var slotSSRCs: [TrackKind: [UInt32]] { [.audio: audio.map(\.ssrc), .video: video.map(\.ssrc), .screen: screen.map(\.ssrc)] }

    /// Which slot of ours a subscriber's feedback names by its SSRC.
    func slot(withSSRC ssrc: UInt32) -> (kind: TrackKind, index: Int)? {
        if let i = video.firstIndex(where: { $0.ssrc == ssrc }) { return (.video, i) }
        if let i = screen.firstIndex(where: { $0.ssrc == ssrc }) { return (.screen, i) }
        if let i = audio.firstIndex(where: { $0.ssrc == ssrc }) { return (.audio, i) }
        return nil
    }
}

/// The largest value recorded within `span`, over a few samples (one per
/// allocation, every 250 ms at most): a fixed ring of 16.
struct RecentMaximum: Sendable {
    let span: TimeSpan
    private var samples: [(at: Instant, value: Int)] = []
    private var next = 0

    init(span: TimeSpan) { self.span = span }

    /// Records `value` at `now`; returns the largest within `span`.
    mutating func record(_ value: Int, now: Instant) -> Int {
        if samples.count < 16 { samples.append((now, value)) } else { samples[next] = (now, value) }
        next = (next + 1) % 16
        var best = value
        for sample in samples where now - sample.at <= span { best = max(best, sample.value) }
        return best
    }

    /// Forgets every sample but `value` at `now`: the ones before are stale.
    mutating func reset(to value: Int, now: Instant) {
        samples.removeAll(keepingCapacity: true)
        next = 0
        samples.append((now, value))
    }
}
