import Wire

/// Whether a published stream flows — packets seen in the last `window` —
/// for the audio-on and video-on minutes of the attendance records.
///
/// Sampled once a second from the receive statistics' packet count
/// (`MediaEngine.sampleFlows`), so the receive path does no extra work per
/// packet. A start is dated at the sample that first saw packets (at most
/// a second late); a stop at the last sample that saw packets, so a stopped
/// stream is not credited with the window that detecting the stop takes.
struct StreamFlow: Sendable {
    /// Packets seen within this span count as flowing.
    static let window = TimeSpan.seconds(2)
    private var lastCount: UInt64 = 0
    private var lastSeen: Instant?
    /// Whether the stream was flowing at the last sample.
    private(set) var flowing = false

    /// Samples the stream's packet count `received` at `now`; returns the new
    /// state and the time it is dated at when it changed, else nil.
    mutating func sample(received: UInt64, now: Instant) -> (flowing: Bool, at: Instant)? {
        if received != lastCount {
            lastCount = received
            lastSeen = now
        }
        let nowFlowing = lastSeen.map { now - $0 <= Self.window } ?? false
        guard nowFlowing != flowing else { return nil }
        flowing = nowFlowing
        return (nowFlowing, nowFlowing ? now : lastSeen ?? now)
    }
}
