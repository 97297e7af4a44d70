import Wire

/// Joins per client address per minute (issue 14): a token bucket per
/// address that holds `perMinute` joins and refills at `perMinute` a minute,
/// so a burst (a clinic behind one NAT starting its groups) passes and a
/// loop of joins from one address does not. Only joins whose token verified
/// reach it, so only token holders create entries; a bucket that has filled
/// up again is forgotten, so the table holds only addresses active in the
/// last minute. Sans-IO (time comes in); not thread-safe.
struct JoinRateLimiter: Sendable {
    /// Joins per address per minute; 0 turns the limit off.
    let perMinute: Int
    private var buckets: [String: Bucket] = [:]
    private var lastSweep = Instant.zero

    private struct Bucket: Sendable {
        var tokens: Double
        var at: Instant
    }

    /// A limiter of `perMinute` joins per address (0: no limit).
    init(perMinute: Int) { self.perMinute = perMinute }

    /// Whether `address` may join at `now`; counts the join if so.
    mutating func allow(_ address: String, now: Instant) -> Bool {
        guard perMinute > 0 else { return true }
        sweep(now: now)
        var bucket = refilled(buckets[address] ?? Bucket(tokens: Double(perMinute), at: now), now: now)
        guard bucket.tokens >= 1 else {
            buckets[address] = bucket
            return false
        }
        bucket.tokens -= 1
        buckets[address] = bucket
        return true
    }

    /// Addresses remembered (for leak checks).
    var count: Int { buckets.count }

    private func refilled(_ b: Bucket, now: Instant) -> Bucket {
        guard now > b.at else { return b }
        let gained = (now - b.at).seconds * Double(perMinute) / 60
        return Bucket(tokens: min(Double(perMinute), b.tokens + gained), at: now)
    }

    /// Forgets addresses whose bucket is full again, at most once a second.
    private mutating func sweep(now: Instant) {
        guard now - lastSweep >= .seconds(1) || now < lastSweep else { return }
        lastSweep = now
        buckets = buckets.filter { refilled($0.value, now: now).tokens < Double(perMinute) }
    }
}
