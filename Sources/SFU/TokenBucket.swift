import Wire

/// A token bucket on the engine's clock: up to `capacity` at once, refilled
/// at `perSecond`. Bounds what one sender can make the server do (commands,
/// fan-out bytes) and how often a session's members are sent its view.
struct TokenBucket: Sendable {
    let capacity: Double
    let perSecond: Double
    private var tokens: Double
    private var updatedAt: Instant?

    /// A full bucket.
    init(capacity: Double, perSecond: Double) {
        self.capacity = capacity
        self.perSecond = perSecond
        self.tokens = capacity
    }

    /// Takes `cost` tokens if there are that many at `now`.
    mutating func take(_ cost: Double = 1, now: Instant) -> Bool {
        refill(now: now)
        guard tokens >= cost else { return false }
        tokens -= cost
        return true
    }

    /// When one token will be there, counted from the last `take` (nil
    /// before any: the bucket is full).
    var nextAvailable: Instant? {
        guard let updatedAt else { return nil }
        guard tokens < 1 else { return updatedAt }
        return updatedAt + TimeSpan(nanoseconds: Int64(((1 - tokens) / perSecond * 1e9).rounded(.up)))
    }

    private mutating func refill(now: Instant) {
        if let updatedAt, now > updatedAt {
            tokens = min(capacity, tokens + (now - updatedAt).seconds * perSecond)
        }
        if updatedAt.map({ now > $0 }) ?? true { updatedAt = now }
    }
}
