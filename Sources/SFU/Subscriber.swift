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
    /// Grows with each slot-map change, so clients can drop stale maps.
    var slotsVersion = 1
    /// The estimate of this participant's downlink, from its transport-wide
    /// feedback on the copies we send it, each stamped with a sequence number
    /// from here (nil unless its receive slots negotiated transport-cc).
    var bandwidth: BandwidthEstimator?
    /// Shares `bandwidth` among the video slots (`MediaEngine.allocateDownlink`).
    var allocator = BandwidthAllocator()
    /// When the allocation may next run.
    var nextAllocation: Instant = .zero
    /// The probe being sent, if any: RTX padding on a video slot's RTX SSRC.
    var probe: (cluster: ProbeCluster, started: Instant, sentBytes: Int)?
    /// Whether the client was last told that mixed audio would fit better.
    var suggestedMix = false

    /// The slots of `kind`.
    subscript(kind: TrackKind) -> [SubscribedSlot] {
        get { kind == .audio ? audio : video }
        // In place, so that a slot can be rewritten per packet without copying the array.
        _modify { if kind == .audio { yield &audio } else { yield &video } }
    }

    /// Which slot of ours a subscriber's feedback names by its SSRC.
    func slot(withSSRC ssrc: UInt32) -> (kind: TrackKind, index: Int)? {
        if let i = video.firstIndex(where: { $0.ssrc == ssrc }) { return (.video, i) }
        if let i = audio.firstIndex(where: { $0.ssrc == ssrc }) { return (.audio, i) }
        return nil
    }
}
