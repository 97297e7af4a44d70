import Wire

/// The round-trip time to one participant, from the report blocks it sends
/// about our slots (RFC 3550 §6.4.1: A − LSR − DLSR).
///
/// Two views of the same samples, for two different questions:
/// - `smoothed` (7/8 old + 1/8 new, as RFC 6298 smooths) is how long a
///   repair usually takes: NACK retries and keyframe retries wait that long.
/// - `minimum` (the least of the last eight samples) is the shortest a round
///   trip can be: a NACK that repeats a packet sooner than that after we
///   resent it cannot be the receiver's reaction to our resend, so it is a
///   duplicate (`RetransmissionGuard`). Using the smoothed value there would
///   suppress about half of the legitimate retries, which arrive one of the
///   receiver's own RTT estimates after its first NACK, and cost a frame
///   freeze each (measured in docs/LOSS.md).
/// A value type owned by a `Participant`; it never reads a clock.
struct RoundTripEstimate {
    /// The smoothed round trip, nil until measured.
    private(set) var smoothed: TimeSpan?
    private var recent = [TimeSpan](repeating: .milliseconds(0), count: 8)
    private var count = 0

    /// The least of the last eight samples, nil until measured.
    var minimum: TimeSpan? { count == 0 ? nil : recent[..<min(count, recent.count)].min() }

    /// Adds one sample.
    mutating func record(_ sample: TimeSpan) {
        smoothed = smoothed.map { TimeSpan(nanoseconds: ($0.nanoseconds * 7 + sample.nanoseconds) / 8) } ?? sample
        recent[count % recent.count] = sample
        count += 1
    }
}
